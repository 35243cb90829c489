// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QList>
#include <QObject>

namespace lhttp {

// Messages per second over the last minutes, one point per batch: what the chart draws.
class RateHistory : public QObject {
    Q_OBJECT
public:
    struct Point {
        qint64 timeMs = 0;
        double in = 0;        // messages received from clients
        double out = 0;       // messages sent to clients (deliveries and replies)
        double publishes = 0; // (message, channel) publishes
    };
    static constexpr qint64 DefaultSpanMs = 5 * 60 * 1000;

    explicit RateHistory(QObject *parent = nullptr);

    void append(const Point &point);
    void clear();
    const QList<Point> &points() const { return m_points; }
    qint64 spanMs() const { return m_spanMs; }
    void setSpanMs(qint64 spanMs) { m_spanMs = spanMs; }
    // The largest rate among the points kept, for the chart's scale.
    double peak() const;

Q_SIGNALS:
    void changed();

private:
    QList<Point> m_points;
    qint64 m_spanMs = DefaultSpanMs;
};

} // namespace lhttp

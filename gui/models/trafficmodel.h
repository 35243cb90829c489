// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "adminwire.h"

#include <QAbstractTableModel>

#include <deque>

namespace lhttp {

// A live, bounded log of sampled messages (the node samples at most a few hundred per batch,
// docs/ADMIN.md §4). New rows go at the bottom; past the capacity the oldest go. While paused
// the log holds still and counts what it did not show.
class TrafficModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Time,
        Direction,
        Connection,
        Channel,
        Command,
        Size,
        Receivers,
        Preview,
        ColumnCount
    };
    Q_ENUM(Column)
    enum Role { DirectionRole = Qt::UserRole + 1 };
    static constexpr int DefaultCapacity = 5000;

    explicit TrafficModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void append(const QList<Admin::Sample> &samples, quint64 notSampled);
    void clear();
    void setPaused(bool paused);
    bool isPaused() const { return m_paused; }
    void setCapacity(int capacity);
    int capacity() const { return m_capacity; }

    const Admin::Sample &sampleAt(int row) const { return m_rows[size_t(row)].sample; }
    // Whether a text filter matches the row: channel, command, preview or connection id.
    bool matches(int row, const QString &text) const;

    // Messages the node counted but did not sample, since the last clear().
    quint64 notSampled() const { return m_notSampled; }
    // Samples that arrived while paused, since the last clear().
    quint64 missedWhilePaused() const { return m_missed; }

Q_SIGNALS:
    void countsChanged();

private:
    struct Row {
        Admin::Sample sample;
        QString channel;
        QString command;
        QString preview;
    };
    void trimTo(int capacity);

    std::deque<Row> m_rows;
    int m_capacity = DefaultCapacity;
    bool m_paused = false;
    quint64 m_notSampled = 0;
    quint64 m_missed = 0;
};

} // namespace lhttp

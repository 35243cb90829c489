// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

namespace lhttp {

class RateHistory;

// Messages per second over the last minutes, painted directly: two lines (received from
// clients, sent to clients) over a time axis that ends now. A custom paint keeps the console
// free of QtCharts and costs one cheap repaint per batch.
class RateChart : public QWidget {
    Q_OBJECT
public:
    explicit RateChart(RateHistory *history, QWidget *parent = nullptr);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    RateHistory *m_history;
};

} // namespace lhttp

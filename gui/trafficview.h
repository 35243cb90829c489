// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace lhttp {

class TrafficModel;
class TrafficProxy;

// The live traffic log: pause, clear, filter by text and direction; follows new rows while
// scrolled to the bottom.
class TrafficView : public QWidget {
    Q_OBJECT
public:
    explicit TrafficView(TrafficModel *model, QWidget *parent = nullptr);

    QTableView *table() const { return m_table; }
    QPushButton *pauseButton() const { return m_pause; }

private:
    void updatePauseButton();
    void updateCounts();

    TrafficModel *m_model;
    TrafficProxy *m_proxy;
    QPushButton *m_pause;
    QPushButton *m_clear;
    QComboBox *m_direction;
    QLineEdit *m_filter;
    QLabel *m_counts;
    QTableView *m_table;
    bool m_follow = true;
};

} // namespace lhttp

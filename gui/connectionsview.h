// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace lhttp {

class ConnectionsModel;
class ConnectionsProxy;

// The connections table: sortable, filterable; disconnects the selected connections.
class ConnectionsView : public QWidget {
    Q_OBJECT
public:
    explicit ConnectionsView(ConnectionsModel *model, QWidget *parent = nullptr);

    QList<quint64> selectedIds() const;
    QTableView *table() const { return m_table; }
    QLineEdit *filterEdit() const { return m_filter; }
    QPushButton *disconnectButton() const { return m_disconnect; }
    ConnectionsProxy *proxy() const { return m_proxy; }

Q_SIGNALS:
    void closeRequested(const QList<quint64> &ids);

private:
    void updateCount();
    void requestClose();

    ConnectionsModel *m_model;
    ConnectionsProxy *m_proxy;
    QLineEdit *m_filter;
    QLabel *m_count;
    QPushButton *m_disconnect;
    QTableView *m_table;
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;

namespace lhttp {

class ChannelsModel;
class ConnectionsModel;
class ConnectionsProxy;
class PresenceModel;

// The channels table; selecting a channel lists its subscribers beside it and, for a presence
// channel, its members on every node (client, node, user, info) and their counts.
class ChannelsView : public QWidget {
    Q_OBJECT
public:
    ChannelsView(ChannelsModel *channels, ConnectionsModel *connections, QWidget *parent = nullptr);

    QTableView *table() const { return m_table; }
    QTableView *subscribersTable() const { return m_subscribers; }
    QByteArray selectedChannel() const;
    QString subscribersTitle() const;
    QTableView *presenceTable() const { return m_presenceTable; }
    QString presenceTitle() const;

private:
    void showSubscribers();
    void showPresence();

    ChannelsModel *m_model;
    QSortFilterProxyModel *m_proxy;
    ConnectionsProxy *m_members;
    QLineEdit *m_filter;
    QTableView *m_table;
    QLabel *m_membersTitle;
    QTableView *m_subscribers;
    PresenceModel *m_presence;
    QLabel *m_presenceTitle;
    QTableView *m_presenceTable;
    QByteArray m_gone; // the selected channel, gone from the node
};

} // namespace lhttp

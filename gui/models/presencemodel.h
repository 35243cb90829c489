// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "adminwire.h"

#include <QAbstractTableModel>
#include <QByteArray>
#include <QPointer>

namespace lhttp {

class ChannelsModel;

// The entries of one presence channel, as the channels model last got them from the node: the
// channel view's member list. Follows the channels model (its presence columns changing, rows
// going, resets) and redraws with one reset when the channel's entries changed: at most
// Admin::MaxPresenceMembers rows.
class PresenceModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Client, Node, User, Info, ColumnCount };
    Q_ENUM(Column)

    explicit PresenceModel(QObject *parent = nullptr);

    void setChannelsModel(ChannelsModel *channels);
    // The channel whose entries to show; a null or non-presence channel shows none.
    void setChannel(const QByteArray &channel);
    QByteArray channel() const { return m_channel; }
    bool isPresence() const { return m_presence; }
    // Entries on every node, and distinct users; rowCount() may be fewer (the node lists at
    // most Admin::MaxPresenceMembers).
    int total() const { return m_total; }
    int users() const { return m_users; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

Q_SIGNALS:
    // The counts or the entries changed (also when the channel did).
    void changed();

private:
    void refresh();

    QPointer<ChannelsModel> m_channels;
    QList<QMetaObject::Connection> m_connections;
    QByteArray m_channel;
    bool m_presence = false;
    int m_total = 0;
    int m_users = 0;
    QList<Admin::PresenceMember> m_members;
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "presencemodel.h"

#include "channelsmodel.h"

namespace lhttp {

PresenceModel::PresenceModel(QObject *parent)
    : QAbstractTableModel(parent) {}

void PresenceModel::setChannelsModel(ChannelsModel *channels) {
    for (const auto &c : std::as_const(m_connections))
        disconnect(c);
    m_connections.clear();
    m_channels = channels;
    if (channels) {
        const auto follow = [this] { refresh(); };
        m_connections = {
            connect(channels, &QAbstractItemModel::dataChanged, this,
                    [this](const QModelIndex &from, const QModelIndex &to) {
                        if (to.column() >= ChannelsModel::PresenceMembers &&
                            from.column() <= ChannelsModel::PresenceUsers)
                            refresh();
                    }),
            connect(channels, &QAbstractItemModel::rowsInserted, this, follow),
            connect(channels, &QAbstractItemModel::rowsRemoved, this, follow),
            connect(channels, &QAbstractItemModel::modelReset, this, follow),
        };
    }
    refresh();
}

void PresenceModel::setChannel(const QByteArray &channel) {
    m_channel = channel;
    refresh();
}

void PresenceModel::refresh() {
    const ChannelsModel::Presence p = m_channels && !m_channel.isNull()
                                          ? m_channels->presenceOf(m_channel)
                                          : ChannelsModel::Presence();
    if (p.presence == m_presence && p.total == m_total && p.users == m_users &&
        p.members == m_members)
        return;
    const bool rows = p.members != m_members;
    if (rows)
        beginResetModel();
    m_presence = p.presence;
    m_total = p.total;
    m_users = p.users;
    m_members = p.members;
    if (rows)
        endResetModel();
    Q_EMIT changed();
}

int PresenceModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_members.size());
}

int PresenceModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant PresenceModel::data(const QModelIndex &index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole)
        return {};
    const Admin::PresenceMember &m = m_members.at(index.row());
    switch (Column(index.column())) {
    case Client:
        return QString::fromUtf8(m.client);
    case Node:
        return QString::fromUtf8(m.node);
    case User:
        return QString::fromUtf8(m.user);
    case Info:
        return QString::fromUtf8(m.info);
    case ColumnCount:
        break;
    }
    return {};
}

QVariant PresenceModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case Client:
        return tr("Client");
    case Node:
        return tr("Node");
    case User:
        return tr("User");
    case Info:
        return tr("Info");
    case ColumnCount:
        break;
    }
    return {};
}

} // namespace lhttp

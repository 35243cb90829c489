// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "connectionsmodel.h"

#include "format.h"

#include <QSet>

namespace lhttp {

ConnectionsModel::ConnectionsModel(QObject *parent)
    : BatchedTableModel(parent) {}

int ConnectionsModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ConnectionsModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ConnectionsModel::data(const QModelIndex &index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &r = m_rows[size_t(index.row())];
    if (role == IdRole)
        return r.id;
    if (role == Qt::TextAlignmentRole) {
        return index.column() == Id || index.column() >= MessagesIn
                   ? QVariant(Qt::AlignRight | Qt::AlignVCenter)
                   : QVariant();
    }
    if (role == Qt::ToolTipRole && index.column() == Since)
        return Format::dateTime(r.since);
    if (role != Qt::DisplayRole && role != SortRole)
        return {};
    const bool sort = role == SortRole;
    switch (Column(index.column())) {
    case Id:
        return r.id;
    case Peer:
        return r.peer;
    case Origin:
        return r.origin;
    case Since:
        return sort ? QVariant(r.since) : QVariant(Format::timeOfDay(r.since));
    case Channels:
        return r.channelText;
    case MessagesIn:
        return r.stats.messagesIn;
    case BytesIn:
        return sort ? QVariant(r.stats.bytesIn) : QVariant(Format::bytes(r.stats.bytesIn));
    case MessagesOut:
        return r.stats.messagesOut;
    case BytesOut:
        return sort ? QVariant(r.stats.bytesOut) : QVariant(Format::bytes(r.stats.bytesOut));
    case ColumnCount:
        break;
    }
    return {};
}

QVariant ConnectionsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case Id:
        return tr("Id");
    case Peer:
        return tr("Remote address");
    case Origin:
        return tr("Origin");
    case Since:
        return tr("Connected since");
    case Channels:
        return tr("Channels");
    case MessagesIn:
        return tr("Msgs in");
    case BytesIn:
        return tr("Bytes in");
    case MessagesOut:
        return tr("Msgs out");
    case BytesOut:
        return tr("Bytes out");
    case ColumnCount:
        break;
    }
    return {};
}

bool ConnectionsModel::matches(int row, const QString &text) const {
    const Row &r = m_rows[size_t(row)];
    return QString::number(r.id) == text || r.peer.contains(text, Qt::CaseInsensitive) ||
           r.origin.contains(text, Qt::CaseInsensitive) ||
           r.channelText.contains(text, Qt::CaseInsensitive);
}

bool ConnectionsModel::lessThan(int left, int right, int column) const {
    const Row &a = m_rows[size_t(left)];
    const Row &b = m_rows[size_t(right)];
    switch (Column(column)) {
    case Id:
        return a.id < b.id;
    case Peer:
        return a.peer < b.peer;
    case Origin:
        return a.origin < b.origin;
    case Since:
        return a.since < b.since;
    case Channels:
        return a.channelText < b.channelText;
    case MessagesIn:
        return a.stats.messagesIn < b.stats.messagesIn;
    case BytesIn:
        return a.stats.bytesIn < b.stats.bytesIn;
    case MessagesOut:
        return a.stats.messagesOut < b.stats.messagesOut;
    case BytesOut:
        return a.stats.bytesOut < b.stats.bytesOut;
    case ColumnCount:
        break;
    }
    return false;
}

void ConnectionsModel::fill(Row &row, const Admin::Connection &c) {
    row.id = c.id;
    row.peer = c.peer;
    row.origin = c.origin;
    row.since = c.connectedAtMs;
    row.channels = c.channels;
    row.channelText = QString::fromUtf8(c.channels.join(' '));
    row.stats = c.stats;
}

void ConnectionsModel::reindex(int first) {
    // In place: the removed ids are gone from the index already, and rebuilding a 10,000-entry
    // hash per batch costs more than updating the rows that moved.
    for (size_t i = size_t(std::max(first, 0)); i < m_rows.size(); ++i)
        m_index[m_rows[i].id] = int(i);
}

void ConnectionsModel::removeIds(const QList<quint64> &ids) {
    QList<int> rows;
    for (quint64 id : ids) {
        const int row = m_index.value(id, -1);
        if (row >= 0) {
            rows.append(row);
            m_index.remove(id); // a repeated id is removed once
        }
    }
    removeStorageRows(m_rows, rows, [this](int first) { reindex(first); });
}

void ConnectionsModel::insertOrUpdate(const QList<Admin::Connection> &connections) {
    Span updated;
    QList<const Admin::Connection *> added;
    for (const Admin::Connection &c : connections) {
        const int row = m_index.value(c.id, -1);
        if (row < 0) {
            added.append(&c);
            continue;
        }
        fill(m_rows[size_t(row)], c);
        updated.add(row);
    }
    emitChanged(updated, 0, ColumnCount - 1);
    if (added.isEmpty())
        return;
    const int first = int(m_rows.size());
    beginInsertRows({}, first, first + int(added.size()) - 1);
    for (const Admin::Connection *c : std::as_const(added)) {
        Row row;
        fill(row, *c);
        m_index.insert(row.id, int(m_rows.size()));
        m_rows.push_back(std::move(row));
    }
    endInsertRows();
}

void ConnectionsModel::setSnapshot(const QList<Admin::Connection> &connections) {
    QSet<quint64> present;
    present.reserve(connections.size());
    for (const Admin::Connection &c : connections)
        present.insert(c.id);
    QList<quint64> gone;
    for (const Row &r : m_rows) {
        if (!present.contains(r.id))
            gone.append(r.id);
    }
    removeIds(gone);
    insertOrUpdate(connections);
}

void ConnectionsModel::applyBatch(const Admin::Batch &batch) {
    removeIds(batch.closed);
    insertOrUpdate(batch.opened);

    Span channels;
    for (const Admin::Subscription &s : batch.subscriptions) {
        const int row = m_index.value(s.id, -1);
        if (row < 0)
            continue;
        Row &r = m_rows[size_t(row)];
        const bool has = r.channels.contains(s.channel);
        if (s.subscribed == has)
            continue;
        if (s.subscribed)
            r.channels.append(s.channel);
        else
            r.channels.removeAll(s.channel);
        r.channelText = QString::fromUtf8(r.channels.join(' '));
        channels.add(row);
    }
    emitChanged(channels, Channels, Channels);

    Span stats;
    for (const Admin::ConnectionStats &s : batch.stats) {
        const int row = m_index.value(s.id, -1);
        if (row < 0)
            continue;
        m_rows[size_t(row)].stats = s.stats;
        stats.add(row);
    }
    emitChanged(stats, MessagesIn, BytesOut);
}

void ConnectionsModel::clear() {
    if (m_rows.empty())
        return;
    beginResetModel();
    m_rows.clear();
    m_index.clear();
    endResetModel();
}

} // namespace lhttp

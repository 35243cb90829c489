// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "channelsmodel.h"

#include "format.h"

#include <QSet>

#include <algorithm>
#include <numeric>

namespace lhttp {

ChannelsModel::ChannelsModel(QObject *parent)
    : BatchedTableModel(parent) {}

int ChannelsModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ChannelsModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ChannelsModel::data(const QModelIndex &index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &r = m_rows[size_t(index.row())];
    if (role == NameRole)
        return r.name;
    if (role == Qt::TextAlignmentRole)
        return index.column() == Name ? QVariant() : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    const bool historyColumn = index.column() >= HistorySize && index.column() <= LastOffset;
    const bool presenceColumn =
        index.column() >= PresenceMembers && index.column() <= PresenceUsers;
    if (role == Qt::ToolTipRole) {
        if (historyColumn && r.historySize > 0)
            return historyToolTip(r);
        if (presenceColumn && r.presence.presence)
            return presenceToolTip(r);
        return {};
    }
    if (role != Qt::DisplayRole && role != SortRole)
        return {};
    const bool sort = role == SortRole;
    // A plain channel has no history (no presence): a dash, sorted before every history
    // (presence) channel.
    if ((historyColumn && r.historySize == 0) || (presenceColumn && !r.presence.presence))
        return sort ? QVariant(-1) : QVariant(QStringLiteral("\u2014"));
    switch (Column(index.column())) {
    case Name:
        return r.display;
    case Subscribers:
        return r.subscribers;
    case MessagesPerSecond:
        return sort ? QVariant(r.rate) : QVariant(Format::rate(r.rate));
    case DeliveriesPerSecond:
        return sort ? QVariant(r.deliveryRate) : QVariant(Format::rate(r.deliveryRate));
    case Messages:
        return r.messages;
    case HistorySize:
        return r.historySize;
    case HistoryStored:
        return r.historyStored;
    case LastOffset:
        return sort ? QVariant(double(r.lastOffset)) : QVariant(r.lastOffset);
    case PresenceMembers:
        return r.presence.total;
    case PresenceUsers:
        return r.presence.users;
    case ColumnCount:
        break;
    }
    return {};
}

bool ChannelsModel::updatePresence(Row &row, const Admin::Channel &c) {
    Presence &p = row.presence;
    if (p.presence == c.presence && p.total == c.presenceTotal && p.users == c.presenceUsers &&
        p.members == c.presenceList)
        return false;
    p.presence = c.presence;
    p.total = c.presenceTotal;
    p.users = c.presenceUsers;
    p.members = c.presenceList;
    return true;
}

ChannelsModel::Presence ChannelsModel::presenceOf(const QByteArray &name) const {
    // Asked from a slot of rowsRemoved (PresenceModel follows them), the name → row index is
    // not rebuilt yet (removeStorageRows() reindexes after the last range): checked, and
    // looked up the slow way then.
    const int row = m_index.value(name, -1);
    if (row >= 0 && size_t(row) < m_rows.size() && m_rows[size_t(row)].name == name)
        return m_rows[size_t(row)].presence;
    const auto it =
        std::find_if(m_rows.cbegin(), m_rows.cend(), [&](const Row &r) { return r.name == name; });
    return it == m_rows.cend() ? Presence() : it->presence;
}

QString ChannelsModel::presenceToolTip(const Row &row) {
    return tr("Presence channel: %1 connections of %2 users, on every node.")
        .arg(row.presence.total)
        .arg(row.presence.users);
}

bool ChannelsModel::updateHistory(Row &row, const Admin::Channel &c) {
    if (row.historySize == c.historySize && row.historyStored == c.historyStored &&
        row.lastOffset == c.lastOffset && row.epoch == c.epoch)
        return false;
    row.historySize = c.historySize;
    row.historyStored = c.historyStored;
    row.lastOffset = c.lastOffset;
    row.epoch = c.epoch;
    return true;
}

QString ChannelsModel::historyToolTip(const Row &row) {
    return tr("History channel: keeps the last %1 messages, %2 held on this node.\n"
              "Newest offset %3 of epoch %4.")
        .arg(row.historySize)
        .arg(row.historyStored)
        .arg(row.lastOffset)
        .arg(row.epoch.isEmpty() ? tr("(none yet)") : QString::fromUtf8(row.epoch));
}

QVariant ChannelsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case Name:
        return tr("Channel");
    case Subscribers:
        return tr("Subscribers");
    case MessagesPerSecond:
        return tr("Msgs/s");
    case DeliveriesPerSecond:
        return tr("Deliveries/s");
    case Messages:
        return tr("Messages");
    case HistorySize:
        return tr("History");
    case HistoryStored:
        return tr("Held");
    case LastOffset:
        return tr("Last offset");
    case PresenceMembers:
        return tr("Members");
    case PresenceUsers:
        return tr("Users");
    case ColumnCount:
        break;
    }
    return {};
}

void ChannelsModel::reindex(int) {
    // A node has few channels: rebuilt whole.
    m_index.clear();
    m_index.reserve(qsizetype(m_rows.size()));
    for (size_t i = 0; i < m_rows.size(); ++i)
        m_index.insert(m_rows[i].name, int(i));
}

void ChannelsModel::addMissing(const QList<Admin::Channel> &channels) {
    QList<const Admin::Channel *> added;
    QSet<QByteArray> seen;
    for (const Admin::Channel &c : channels) {
        if (!m_index.contains(c.name) && !seen.contains(c.name)) {
            added.append(&c);
            seen.insert(c.name);
        }
    }
    if (added.isEmpty())
        return;
    const int first = int(m_rows.size());
    beginInsertRows({}, first, first + int(added.size()) - 1);
    for (const Admin::Channel *c : std::as_const(added)) {
        Row row;
        row.name = c->name;
        row.display = QString::fromUtf8(c->name);
        row.subscribers = c->subscribers;
        updateHistory(row, *c);
        updatePresence(row, *c);
        m_index.insert(row.name, int(m_rows.size()));
        m_rows.push_back(std::move(row));
    }
    endInsertRows();
}

void ChannelsModel::setSnapshot(const QList<Admin::Channel> &channels) {
    QSet<QByteArray> present;
    for (const Admin::Channel &c : channels)
        present.insert(c.name);
    QList<int> gone;
    for (size_t i = 0; i < m_rows.size(); ++i) {
        if (!present.contains(m_rows[i].name))
            gone.append(int(i));
    }
    removeStorageRows(m_rows, gone, [this](int first) { reindex(first); });
    addMissing(channels);
    Span changed;
    Span history;
    Span presence;
    for (const Admin::Channel &c : channels) {
        const int row = m_index.value(c.name);
        if (m_rows[size_t(row)].subscribers != c.subscribers) {
            m_rows[size_t(row)].subscribers = c.subscribers;
            changed.add(row);
        }
        if (updateHistory(m_rows[size_t(row)], c))
            history.add(row);
        if (updatePresence(m_rows[size_t(row)], c))
            presence.add(row);
    }
    emitChanged(changed, Subscribers, Subscribers);
    emitChanged(history, HistorySize, LastOffset);
    emitChanged(presence, PresenceMembers, PresenceUsers);
}

void ChannelsModel::applyBatch(const Admin::Batch &batch) {
    addMissing(batch.channels);

    const size_t slot = size_t(m_batches % RateWindow);
    ++m_batches;
    m_intervals[slot] = std::max(batch.intervalMs, 1);
    for (Row &r : m_rows) {
        r.publishes[slot] = 0;
        r.deliveries[slot] = 0;
    }
    Span subscribers;
    Span history;
    Span presence;
    for (const Admin::Channel &c : batch.channels) {
        const int row = m_index.value(c.name);
        Row &r = m_rows[size_t(row)];
        r.publishes[slot] = c.publishes;
        r.deliveries[slot] = c.deliveries;
        r.messages += c.publishes;
        if (r.subscribers != c.subscribers) {
            r.subscribers = c.subscribers;
            subscribers.add(row);
        }
        if (updateHistory(r, c))
            history.add(row);
        if (updatePresence(r, c))
            presence.add(row);
    }
    // Until the window has filled, average over the batches seen so far.
    const size_t filled = size_t(std::min<quint64>(m_batches, RateWindow));
    int windowMs = 0;
    for (size_t i = 0; i < filled; ++i)
        windowMs += m_intervals[i];
    Span rates;
    QList<int> idle;
    for (size_t i = 0; i < m_rows.size(); ++i) {
        Row &r = m_rows[i];
        const quint64 p = std::accumulate(r.publishes.begin(), r.publishes.end(), quint64(0));
        const quint64 d = std::accumulate(r.deliveries.begin(), r.deliveries.end(), quint64(0));
        const double rate = p * 1000.0 / windowMs;
        const double deliveryRate = d * 1000.0 / windowMs;
        if (rate != r.rate || deliveryRate != r.deliveryRate) {
            r.rate = rate;
            r.deliveryRate = deliveryRate;
            rates.add(int(i));
        }
        if (r.subscribers == 0 && p == 0)
            idle.append(int(i));
    }
    emitChanged(subscribers, Subscribers, Subscribers);
    emitChanged(rates, MessagesPerSecond, Messages);
    emitChanged(history, HistorySize, LastOffset);
    emitChanged(presence, PresenceMembers, PresenceUsers);
    removeStorageRows(m_rows, idle, [this](int first) { reindex(first); });
}

void ChannelsModel::clear() {
    beginResetModel();
    m_rows.clear();
    m_index.clear();
    m_intervals = {};
    m_batches = 0;
    endResetModel();
}

} // namespace lhttp

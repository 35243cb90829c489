// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "adminwire.h"
#include "batchedtablemodel.h"

#include <QHash>

#include <array>
#include <vector>

namespace lhttp {

// The node's channels: local subscribers, message rates and, for history channels, the history
// size, the messages held and the newest offset (its epoch in the tooltip); for presence
// channels the members (entries, cluster-wide) and distinct users, and the first
// Admin::MaxPresenceMembers entries (presenceOf(), shown by PresenceModel). A channel stays while
// it has subscribers or traffic in the rate window, so a publish to an empty channel shows up too.
class ChannelsModel : public BatchedTableModel {
    Q_OBJECT
public:
    enum Column {
        Name,
        Subscribers,
        MessagesPerSecond,
        DeliveriesPerSecond,
        Messages,
        HistorySize,
        HistoryStored,
        LastOffset,
        PresenceMembers,
        PresenceUsers,
        ColumnCount
    };
    Q_ENUM(Column)
    enum Role { SortRole = Qt::UserRole + 1, NameRole };
    // Rates are averaged over this many batches (one second at the default interval).
    static constexpr int RateWindow = 4;

    explicit ChannelsModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void setSnapshot(const QList<Admin::Channel> &channels);
    void applyBatch(const Admin::Batch &batch);
    void clear();

    QByteArray nameAt(int row) const { return m_rows[size_t(row)].name; }
    // A presence channel's counts and listed entries, as the node last described them.
    struct Presence {
        bool presence = false; // false: not a presence channel (or not in the table)
        int total = 0;
        int users = 0;
        QList<Admin::PresenceMember> members;
    };
    Presence presenceOf(const QByteArray &name) const;
    int rowOf(const QByteArray &name) const { return m_index.value(name, -1); }

private:
    struct Row {
        QByteArray name;
        QString display;
        int subscribers = 0;
        quint64 messages = 0; // seen since the console attached
        std::array<quint64, RateWindow> publishes{};
        std::array<quint64, RateWindow> deliveries{};
        double rate = 0;
        double deliveryRate = 0;
        int historySize = 0; // 0: a plain channel
        int historyStored = 0;
        quint64 lastOffset = 0;
        QByteArray epoch;
        Presence presence;
    };

    static bool updateHistory(Row &row, const Admin::Channel &channel);
    static bool updatePresence(Row &row, const Admin::Channel &channel);
    static QString historyToolTip(const Row &row);
    static QString presenceToolTip(const Row &row);

    void addMissing(const QList<Admin::Channel> &channels);
    void reindex(int first);

    std::vector<Row> m_rows;
    QHash<QByteArray, int> m_index;
    std::array<int, RateWindow> m_intervals{};
    quint64 m_batches = 0;
};

} // namespace lhttp

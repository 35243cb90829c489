// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "adminwire.h"
#include "batchedtablemodel.h"

#include <QHash>

#include <vector>

namespace lhttp {

// The node's connections, one row each, in the order they opened. Sorting and filtering are a
// proxy's job (ConnectionsProxy); this model only follows snapshots and batches.
class ConnectionsModel : public BatchedTableModel {
    Q_OBJECT
public:
    enum Column {
        Id,
        Peer,
        Origin,
        Since,
        Channels,
        MessagesIn,
        BytesIn,
        MessagesOut,
        BytesOut,
        ColumnCount
    };
    Q_ENUM(Column)
    enum Role {
        SortRole = Qt::UserRole + 1, // numbers as numbers, for sorting
        IdRole,
    };

    explicit ConnectionsModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void setSnapshot(const QList<Admin::Connection> &connections);
    void applyBatch(const Admin::Batch &batch);
    void clear();

    quint64 idAt(int row) const { return m_rows[size_t(row)].id; }
    int rowOf(quint64 id) const { return m_index.value(id, -1); }
    bool hasChannel(int row, const QByteArray &channel) const {
        return m_rows[size_t(row)].channels.contains(channel);
    }
    // What a text filter matches: id, address, origin and channels.
    bool matches(int row, const QString &text) const;
    // The order of SortRole (numbers as numbers, text as text), for ConnectionsProxy.
    bool lessThan(int left, int right, int column) const;

private:
    struct Row {
        quint64 id = 0;
        QString peer;
        QString origin;
        qint64 since = 0;
        QByteArrayList channels;
        QString channelText;
        Admin::Stats stats;
    };

    void removeIds(const QList<quint64> &ids);
    void insertOrUpdate(const QList<Admin::Connection> &connections);
    void reindex(int first);
    static void fill(Row &row, const Admin::Connection &c);

    std::vector<Row> m_rows;
    QHash<quint64, int> m_index;
};

} // namespace lhttp

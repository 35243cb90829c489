// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QSortFilterProxyModel>

namespace lhttp {

class ConnectionsModel;

// Sorts the connections by any column (numbers as numbers) and filters them by text (id,
// address, origin, channel) and, optionally, by one channel: the channel view's "subscribers of
// the selected channel" is this proxy with a channel set.
class ConnectionsProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit ConnectionsProxy(QObject *parent = nullptr);

    void setConnectionsModel(ConnectionsModel *model);
    void setText(const QString &text);
    QString text() const { return m_text; }
    // Only subscribers of `channel`; a null channel shows every connection, an empty one none.
    void setChannel(const QByteArray &channel);
    QByteArray channel() const { return m_channel; }

    quint64 idAt(int proxyRow) const;

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;
    bool lessThan(const QModelIndex &left, const QModelIndex &right) const override;

private:
    ConnectionsModel *m_model = nullptr;
    QString m_text;
    QByteArray m_channel;
};

} // namespace lhttp

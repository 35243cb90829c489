// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "nodesource.h"

#include <QSet>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>

namespace lhttp {

// A headless node's admin endpoint (docs/ADMIN.md), reached over a WebSocket with a token.
class RemoteSource : public NodeSource {
    Q_OBJECT
public:
    // A node that accepts the WebSocket but sends no snapshot within this time is not an
    // admin endpoint (lhttpd-qt without --admin-token serves every path as plain LHTTP).
    static constexpr int SnapshotTimeoutMs = 5000;
    // The node's messages are ours to trust (we chose to attach), but not without bound.
    static constexpr qsizetype MaxAdminMessageSize = 256 * 1024 * 1024;

    explicit RemoteSource(QObject *parent = nullptr);
    ~RemoteSource() override;

    // url: ws://host:port/admin. The token goes as `Authorization: Bearer`.
    void attach(const QUrl &url, const QByteArray &token);
    QString nodeName() const override;
    void stop() override;
    quint64 publish(const QByteArray &message) override;
    quint64 closeConnection(quint64 id) override;
    // Asks for a fresh snapshot (the endpoint answers with admin.snapshot).
    void requestSnapshot();

private:
    void onMessage(const QString &text);
    void onSnapshotPart(const QByteArray &body, int part, int parts, quint64 gap);
    void onSocketError();
    void onDisconnected();
    void fail(const QString &error);
    quint64 send(QByteArrayView command, const QList<QPair<QByteArray, QByteArray>> &headers,
                 const QByteArray &body = {}, bool answered = true);

    QWebSocket m_socket;
    QUrl m_url;
    QTimer m_snapshotTimeout;
    Admin::Snapshot m_assembling;
    int m_partsSeen = 0;
    QSet<quint64> m_pending; // requests not answered yet
};

} // namespace lhttp

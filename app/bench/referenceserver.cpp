// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "referenceserver.h"

#include <QUrlQuery>
#include <QWebSocket>

#include <algorithm>

namespace bench {

ReferenceServer::ReferenceServer(QObject *parent)
    : QObject(parent)
    , m_server(QStringLiteral("lhttp-bench-reference"), QWebSocketServer::NonSecureMode) {
    // As lhttpd-qt's listener: never let the pending queue hold connections back.
    m_server.setMaxPendingConnections(1 << 20);
    connect(&m_server, &QWebSocketServer::newConnection, this, &ReferenceServer::accept);
}

ReferenceServer::~ReferenceServer() {
    for (QWebSocket *s : findChildren<QWebSocket *>())
        s->disconnect(this);
}

bool ReferenceServer::listen(const QHostAddress &address, quint16 port) {
    return m_server.listen(address, port);
}

void ReferenceServer::accept() {
    while (QWebSocket *socket = m_server.nextPendingConnection()) {
        socket->setParent(this);
        const bool sendOnly =
            QUrlQuery(socket->requestUrl()).queryItemValue(QStringLiteral("bench")) == u"pub";
        if (!sendOnly)
            m_receivers.push_back(socket);
        connect(socket, &QWebSocket::textMessageReceived, this, [this](const QString &message) {
            for (QWebSocket *r : m_receivers)
                r->sendTextMessage(message);
        });
        connect(socket, &QWebSocket::binaryMessageReceived, this,
                [this](const QByteArray &message) {
                    for (QWebSocket *r : m_receivers)
                        r->sendBinaryMessage(message);
                });
        // Queued, as in lhttpd-qt: never shrink the list while a broadcast walks it.
        connect(
            socket, &QWebSocket::disconnected, this, [this, socket] { remove(socket); },
            Qt::QueuedConnection);
    }
}

void ReferenceServer::remove(QWebSocket *socket) {
    const auto it = std::find(m_receivers.begin(), m_receivers.end(), socket);
    if (it != m_receivers.end()) {
        *it = m_receivers.back();
        m_receivers.pop_back();
    }
    socket->disconnect(this);
    socket->deleteLater();
}

} // namespace bench

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "referenceserver.h"

#include <QUrlQuery>
#include <QWebSocket>

#include <algorithm>

namespace bench {

namespace {

void erase(std::vector<QWebSocket *> &list, QWebSocket *socket) {
    const auto it = std::find(list.begin(), list.end(), socket);
    if (it != list.end()) {
        *it = list.back();
        list.pop_back();
    }
}

} // namespace

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

std::vector<QWebSocket *> &ReferenceServer::receiversOf(const QString &message) {
    if (m_rooms.isEmpty())
        return m_receivers;
    // The room named by a `publish:` line of the head, if it has receivers.
    const qsizetype head = message.indexOf(QLatin1String("\r\n\r\n"));
    const qsizetype at = message.indexOf(QLatin1String("\npublish:"));
    if (at < 0 || (head >= 0 && at > head))
        return m_receivers;
    const qsizetype start = at + 9;
    const qsizetype end = message.indexOf(u'\r', start);
    const auto it = m_rooms.find(message.mid(start, (end < 0 ? message.size() : end) - start));
    return it == m_rooms.end() ? m_receivers : *it;
}

void ReferenceServer::accept() {
    while (QWebSocket *socket = m_server.nextPendingConnection()) {
        socket->setParent(this);
        const QUrlQuery query(socket->requestUrl());
        const bool sendOnly = query.queryItemValue(QStringLiteral("bench")) == u"pub";
        const QString room = query.queryItemValue(QStringLiteral("room"));
        if (!sendOnly)
            (room.isEmpty() ? m_receivers : m_rooms[room]).push_back(socket);
        connect(socket, &QWebSocket::textMessageReceived, this, [this](const QString &message) {
            for (QWebSocket *r : receiversOf(message))
                r->sendTextMessage(message);
        });
        connect(socket, &QWebSocket::binaryMessageReceived, this,
                [this](const QByteArray &message) {
                    for (QWebSocket *r : m_receivers)
                        r->sendBinaryMessage(message);
                });
        // Queued, as in lhttpd-qt: never shrink the list while a broadcast walks it.
        connect(
            socket, &QWebSocket::disconnected, this,
            [this, socket, room = sendOnly ? QString() : room] { remove(socket, room); },
            Qt::QueuedConnection);
    }
}

void ReferenceServer::remove(QWebSocket *socket, const QString &room) {
    if (room.isEmpty()) {
        erase(m_receivers, socket);
    } else if (const auto it = m_rooms.find(room); it != m_rooms.end()) {
        erase(*it, socket);
        if (it->empty())
            m_rooms.erase(it);
    }
    socket->disconnect(this);
    socket->deleteLater();
}

} // namespace bench

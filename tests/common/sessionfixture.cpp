// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "sessionfixture.h"

#include "rawwsclient.h"
#include "wsclient.h"

#include <QCoreApplication>
#include <QTcpSocket>
#include <QTest>
#include <QWebSocket>

using namespace lhttp;

SessionFixture::SessionFixture()
    : m_ws(QStringLiteral("sessionfixture"), QWebSocketServer::NonSecureMode) {
    clock.start();
    QObject::connect(&m_tcp, &QTcpServer::pendingConnectionAvailable, this, [this] {
        while (QTcpSocket *socket = m_tcp.nextPendingConnection()) {
            m_wires.insert(socket->peerPort(), socket);
            m_ws.handleConnection(socket);
        }
    });
    QObject::connect(&m_ws, &QWebSocketServer::newConnection, this, [this] {
        while (QWebSocket *ws = m_ws.nextPendingConnection()) {
            QPointer<QTcpSocket> wire = m_wires.take(ws->peerPort());
            adopt(ws, wire.data(), std::move(nextClaims));
        }
    });
}

SessionFixture::~SessionFixture() {
    const QList<Session *> all = sessions.all();
    for (Session *s : all) {
        QWebSocket *socket = s->socket();
        remove(s);
        delete socket; // now: no event loop may run after the fixture is gone
    }
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}

bool SessionFixture::listen() {
    return m_tcp.listen(QHostAddress::LocalHost, 0);
}

QUrl SessionFixture::url(const QString &pathAndQuery) const {
    return QUrl(QStringLiteral("ws://127.0.0.1:%1%2").arg(port()).arg(pathAndQuery));
}

Session *SessionFixture::adopt(QWebSocket *socket, QTcpSocket *wire,
                               std::unique_ptr<Claims> claims) {
    const quint64 id = m_nextId++;
    auto *session = new Session(context, id, socket, wire, std::move(claims));
    sessions.insert(session);
    ++counters.connectionsAccepted;
    // Queued, as the Server does it: never in the middle of a message or a fan-out. By id: a
    // test may have removed the session before the queued call runs.
    QObject::connect(
        socket, &QWebSocket::disconnected, &owner,
        [this, id] {
            if (Session *s = sessions.find(id))
                remove(s);
        },
        Qt::QueuedConnection);
    session->open();
    return session;
}

Session *SessionFixture::sessionFor(quint16 clientPort, int timeoutMs) const {
    Session *found = nullptr;
    (void)QTest::qWaitFor(
        [&] {
            for (Session *s : sessions) {
                if (s->peerPort() == clientPort)
                    found = s;
            }
            return found != nullptr;
        },
        timeoutMs);
    return found;
}

Session *SessionFixture::connect(WsClient &client, const QString &pathAndQuery) {
    if (!client.open(url(pathAndQuery)))
        return nullptr;
    return sessionFor(client.socket.localPort());
}

Session *SessionFixture::connect(RawWsClient &client, const QByteArray &path) {
    if (!client.open(port(), path))
        return nullptr;
    return sessionFor(client.socket.localPort());
}

void SessionFixture::remove(Session *session) {
    if (!sessions.find(session->id()))
        return;
    session->end();
    hub.removeSession(session);
    sessions.remove(session);
    removed.append(session->id());
    session->socket()->deleteLater();
    delete session;
}

QList<ServerFrame> takeServerFrames(QByteArray *data) {
    QList<ServerFrame> out;
    qsizetype pos = 0;
    while (data->size() - pos >= 2) {
        const quint8 b1 = quint8(data->at(pos + 1));
        quint64 len = b1 & 0x7f;
        qsizetype head = 2;
        if (len == 126) {
            if (data->size() - pos < 4)
                break;
            len = (quint64(quint8(data->at(pos + 2))) << 8) | quint8(data->at(pos + 3));
            head = 4;
        } else if (len == 127) {
            if (data->size() - pos < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; ++i)
                len = (len << 8) | quint8(data->at(pos + 2 + i));
            head = 10;
        }
        if (quint64(data->size() - pos - head) < len)
            break;
        out.append({data->at(pos) & 0x0f, data->mid(pos + head, qsizetype(len))});
        pos += head + qsizetype(len);
    }
    data->remove(0, pos);
    return out;
}

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "channelhub.h"
#include "counters.h"
#include "error.h"
#include "flusher.h"
#include "nodeevents.h"
#include "pipeline.h"
#include "serveroptions.h"
#include "session.h"
#include "sessiontable.h"
#include "token.h"

#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QTcpServer>
#include <QUrl>
#include <QWebSocketServer>

#include <memory>

class RawWsClient;
class WsClient;

// NodeEvents that records every call (the Server's signals, without a Server).
class RecordingEvents final : public lhttp::NodeEvents {
public:
    struct Subscription {
        quint64 session;
        QByteArray channel;
        bool subscribed;
    };
    void noteMessage(const lhttp::Session &session) override { messages.append(session.id()); }
    void noteSubscription(const lhttp::Session &session, const QByteArray &channel,
                          bool subscribed) override {
        subscriptions.append({session.id(), channel, subscribed});
    }
    void notePublished(const QByteArray &channel, qsizetype size, const lhttp::Session *) override {
        published.append({channel, size});
    }
    void noteError(const lhttp::Session *session, const lhttp::Error &error) override {
        errors.append({session ? session->id() : 0, error.code});
    }

    QList<quint64> messages;
    QList<Subscription> subscriptions;
    QList<QPair<QByteArray, qsizetype>> published;
    QList<QPair<quint64, int>> errors; // session id, code
};

// Real Sessions without a Server: what a node hands every session (its Context) owned here,
// and real WebSockets over loopback under them. Connections arrive the node's way — a
// QTcpServer whose sockets go to QWebSocketServer::handleConnection(), so each Session gets
// its TCP socket as its wire — or from elsewhere (a Listener's upgrade handler) through
// adopt(). A session whose socket disconnects is removed as the Server removes it: end(), out
// of the hub and the table, deleted.
class SessionFixture : public QObject {
    Q_OBJECT
public:
    SessionFixture();
    ~SessionFixture() override;

    bool listen();
    quint16 port() const { return m_tcp.serverPort(); }
    QUrl url(const QString &pathAndQuery = QStringLiteral("/")) const;

    // Wraps an upgraded WebSocket in a Session, registers it and opens it (Server::accept).
    lhttp::Session *adopt(QWebSocket *socket, QTcpSocket *wire,
                          std::unique_ptr<lhttp::Claims> claims = nullptr);
    // Connects the client to this fixture and returns the server side of that connection.
    lhttp::Session *connect(WsClient &client, const QString &pathAndQuery = QStringLiteral("/"));
    lhttp::Session *connect(RawWsClient &client, const QByteArray &path = "/");
    // The session whose peer is the client's local port, once it exists.
    lhttp::Session *sessionFor(quint16 clientPort, int timeoutMs = 5000) const;
    // What the Server does when a session's socket disconnected (Server::removeSession).
    void remove(lhttp::Session *session);
    bool isOpen(quint64 id) const { return sessions.find(id) != nullptr; }
    qint64 now() const { return clock.elapsed(); }

    // The Context's parts, in the order the Context needs them; tests set options and add
    // processors and filters before they connect.
    lhttp::ServerOptions options;
    lhttp::Counters counters;
    RecordingEvents events;
    lhttp::Pipeline pipeline{events};
    lhttp::PeerCounts peers;
    lhttp::SessionTable sessions{peers};
    lhttp::ChannelHub hub;
    QElapsedTimer clock;
    QObject owner; // the sessions' queued calls and socket connections
    lhttp::Flusher flusher;
    const lhttp::Session::Context context{options,  counters, pipeline, events,
                                          sessions, clock,    &owner,   flusher};
    // Claims for the next session the fixture's own server accepts.
    std::unique_ptr<lhttp::Claims> nextClaims;
    QList<quint64> removed; // ids, in the order their sessions were removed

private:
    QTcpServer m_tcp;
    QWebSocketServer m_ws;
    QHash<quint16, QPointer<QTcpSocket>> m_wires; // by peer port, until the upgrade
    quint64 m_nextId = 1;
};

// The frames a server sent, as a raw client reads them (server frames are unmasked).
struct ServerFrame {
    int opcode = 0;
    QByteArray payload;
    int closeCode() const {
        return opcode == 0x8 && payload.size() >= 2 ? (quint8(payload[0]) << 8) | quint8(payload[1])
                                                    : 0;
    }
};
// Takes the whole frames off the front of `data`; a partial frame stays there.
QList<ServerFrame> takeServerFrames(QByteArray *data);

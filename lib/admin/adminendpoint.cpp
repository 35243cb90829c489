// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "adminendpoint.h"

#include "message.h"
#include "runtimelog.h"
#include "server.h"
#include "session.h"

#include <QJsonDocument>
#include <QWebSocket>

#include <algorithm>

namespace lhttp {

namespace Admin {

namespace {
// Room for the admin.publish head around a message of the largest allowed size.
constexpr qsizetype AdminHeadAllowance = 4096;
} // namespace

Error publish(Server &server, const QByteArray &message, AdminFeed *feed) {
    Error error;
    const Message m = Message::parse(message, server.options().limits, &error);
    if (error)
        return error;
    QByteArrayList channels;
    for (QByteArrayView c : splitTokens(m.header("publish")))
        channels.append(c.toByteArray());
    if (feed)
        feed->setPublishContext(&m);
    error = server.publish(channels, m);
    if (feed)
        feed->setPublishContext(nullptr);
    return error;
}

Error closeConnection(Server &server, quint64 id, const QString &reason) {
    if (!server.closeSession(id, QWebSocketProtocol::CloseCodeNormal,
                             reason.isEmpty() ? QStringLiteral("closed by the administrator")
                                              : reason))
        return Error::make(Status::NotFound, "no connection " + QByteArray::number(id));
    qCInfo(lcServer) << "admin console closed connection" << id;
    return {};
}

} // namespace Admin

// ---------------------------------------------------------------------------------------------
// AdminEndpoint

AdminEndpoint::AdminEndpoint(Server *server, QObject *parent)
    : AdminEndpoint(server, Options(), parent) {}

AdminEndpoint::AdminEndpoint(Server *server, Options options, QObject *parent)
    : QObject(parent)
    , m_server(server)
    , m_options(options)
    , m_feed(new AdminFeed(server, options.feed, this)) {
    connect(server, &Server::adminConnected, this, &AdminEndpoint::attach);
    connect(m_feed, &AdminFeed::batchReady, this, &AdminEndpoint::broadcast);
}

AdminEndpoint::~AdminEndpoint() {
    for (Console &c : m_consoles) {
        c.socket->disconnect(this);
        c.socket->abort();
    }
}

AdminEndpoint::Console *AdminEndpoint::console(QWebSocket *socket) {
    for (Console &c : m_consoles) {
        if (c.socket == socket)
            return &c;
    }
    return nullptr;
}

void AdminEndpoint::attach(QWebSocket *socket) {
    socket->setParent(this);
    if (consoleCount() >= m_options.maxConsoles || !m_server) {
        qCWarning(lcServer) << "admin console from" << socket->peerAddress().toString()
                            << "refused:" << consoleCount() << "consoles attached";
        connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
        socket->close(Admin::CloseTooManyConsoles, QStringLiteral("too many admin consoles"));
        return;
    }
    qCInfo(lcServer) << "admin console attached from" << socket->peerAddress().toString();
    const qsizetype limit = m_server->options().limits.maxMessageSize + Admin::AdminHeadAllowance;
    socket->setMaxAllowedIncomingMessageSize(quint64(limit));
    socket->setMaxAllowedIncomingFrameSize(quint64(limit));
    connect(socket, &QWebSocket::textMessageReceived, this, [this, socket](const QString &text) {
        if (Console *c = console(socket))
            handle(*c, text.toUtf8());
    });
    connect(socket, &QWebSocket::binaryMessageReceived, this,
            [this, socket](const QByteArray &bytes) {
                if (Console *c = console(socket))
                    handle(*c, bytes);
            });
    connect(socket, &QWebSocket::disconnected, this, [this, socket] { detach(socket); });
    m_consoles.push_back({socket, 0});
    m_feed->setActive(true);
    sendSnapshot(m_consoles.back());
    Q_EMIT consoleCountChanged(consoleCount());
}

void AdminEndpoint::detach(QWebSocket *socket) {
    const auto it = std::find_if(m_consoles.begin(), m_consoles.end(),
                                 [socket](const Console &c) { return c.socket == socket; });
    if (it == m_consoles.end())
        return;
    qCInfo(lcServer) << "admin console detached";
    m_consoles.erase(it);
    socket->disconnect(this);
    socket->deleteLater();
    if (m_consoles.empty())
        m_feed->setActive(false);
    Q_EMIT consoleCountChanged(consoleCount());
}

void AdminEndpoint::broadcast(const Admin::Batch &batch) {
    QString text; // serialised once, shared by every console
    for (Console &c : m_consoles) {
        if (c.socket->bytesToWrite() > m_options.maxBacklogBytes) {
            ++c.missed;
            ++m_batchesSkipped;
            continue;
        }
        if (c.missed) {
            // The skipped batches' connection and subscription changes are lost to this
            // console; a new snapshot replaces its whole picture.
            sendSnapshot(c);
            c.missed = 0;
        }
        if (text.isNull())
            text = QString::fromUtf8(Admin::eventsMessage(batch, 0));
        c.socket->sendTextMessage(text);
        // Now, not when the event loop next turns: on a flooded node that may be seconds away.
        c.socket->flush();
    }
}

void AdminEndpoint::sendSnapshot(Console &console) {
    Admin::Snapshot snap = m_feed->snapshot();
    snap.gap = console.missed;
    const QList<QByteArray> messages = Admin::snapshotMessages(snap);
    for (const QByteArray &m : messages)
        console.socket->sendTextMessage(QString::fromUtf8(m));
}

void AdminEndpoint::handle(Console &console, const QByteArray &bytes) {
    if (!m_server)
        return;
    Limits limits = m_server->options().limits;
    limits.maxMessageSize += Admin::AdminHeadAllowance;
    Error error;
    const Message request = Message::parse(bytes, limits, &error);
    if (error) {
        reply(console, {}, error.code, error.reason);
        return;
    }
    const QByteArrayView command = request.command();
    const QByteArrayView id = request.header("request");
    if (command == Admin::PublishCommand) {
        error = Admin::publish(*m_server, request.body().toByteArray(), m_feed);
        reply(console, id, error ? error.code : Admin::StatusOk,
              error ? error.reason : QByteArray("published"));
    } else if (command == Admin::DisconnectCommand) {
        bool ok = false;
        const quint64 connection = request.header("connection").toULongLong(&ok);
        const QByteArrayView reason = request.header("reason");
        error = ok ? Admin::closeConnection(*m_server, connection, QString::fromUtf8(reason))
                   : Error::make(Status::BadRequest, "no connection id");
        reply(console, id, error ? error.code : Admin::StatusOk,
              error ? error.reason : QByteArray("closed"));
    } else if (command == Admin::SnapshotCommand) {
        sendSnapshot(console);
    } else {
        reply(console, id, Status::BadRequest, "unknown admin command " + command.toByteArray());
    }
}

void AdminEndpoint::reply(Console &console, QByteArrayView request, int code,
                          const QByteArray &reason) {
    Message m(Admin::ResultCommand.toByteArray());
    if (!request.isEmpty())
        m.addHeader("request", request.toByteArray());
    m.addHeader("code", QByteArray::number(code));
    m.addHeader("reason", reason);
    console.socket->sendTextMessage(QString::fromUtf8(m.toBytes()));
}

} // namespace lhttp

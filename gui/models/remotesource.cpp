// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "remotesource.h"

#include "message.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkRequest>
#include <QRegularExpression>

namespace lhttp {

namespace {

// QWebSocket reports a refused handshake only as text: "... Unhandled http status code: 401".
int handshakeStatus(const QString &error) {
    static const QRegularExpression re(QStringLiteral("status code: (\\d{3})"));
    const QRegularExpressionMatch m = re.match(error);
    return m.hasMatch() ? m.captured(1).toInt() : 0;
}

} // namespace

RemoteSource::RemoteSource(QObject *parent)
    : NodeSource(parent) {
    m_socket.setMaxAllowedIncomingMessageSize(quint64(MaxAdminMessageSize));
    m_snapshotTimeout.setSingleShot(true);
    m_snapshotTimeout.setInterval(SnapshotTimeoutMs);
    connect(&m_snapshotTimeout, &QTimer::timeout, this, [this] {
        fail(tr("%1 accepted the connection but sent no admin snapshot. Is it an lhttpd-qt "
                "started with --admin-token, and is this its admin path?")
                 .arg(nodeName()));
    });
    connect(&m_socket, &QWebSocket::connected, this, [this] { m_snapshotTimeout.start(); });
    connect(&m_socket, &QWebSocket::textMessageReceived, this, &RemoteSource::onMessage);
    // Qt 6.4 names the signal error(); errorOccurred() came in 6.5.
    connect(&m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            &RemoteSource::onSocketError);
    connect(&m_socket, &QWebSocket::disconnected, this, &RemoteSource::onDisconnected);
}

RemoteSource::~RemoteSource() {
    m_socket.disconnect(this);
    m_socket.abort();
}

void RemoteSource::attach(const QUrl &url, const QByteArray &token) {
    m_socket.abort();
    m_url = url;
    m_partsSeen = 0;
    m_pending.clear();
    setState(State::Starting);
    QNetworkRequest request(url);
    if (!token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + token);
    m_socket.open(request);
}

QString RemoteSource::nodeName() const {
    return m_url.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery);
}

void RemoteSource::stop() {
    m_snapshotTimeout.stop();
    if (state() == State::Stopped || state() == State::Failed)
        return;
    setState(State::Stopped);
    m_socket.close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("console detached"));
}

void RemoteSource::fail(const QString &error) {
    m_snapshotTimeout.stop();
    setState(State::Failed, error);
    m_socket.abort();
    const auto pending = m_pending;
    m_pending.clear();
    for (quint64 r : pending)
        Q_EMIT commandFinished(r, 0, error);
}

void RemoteSource::onSocketError() {
    if (state() == State::Stopped || state() == State::Failed)
        return;
    const QString why = m_socket.errorString();
    switch (handshakeStatus(why)) {
    case 401:
        fail(tr("%1 refused the admin token (HTTP 401 Unauthorized). Check the token the node "
                "was started with (--admin-token).")
                 .arg(nodeName()));
        return;
    case 404:
        fail(tr("%1 has no WebSocket endpoint at this path (HTTP 404).").arg(nodeName()));
        return;
    case 0:
        break;
    default:
        fail(tr("%1 refused the connection (HTTP %2).").arg(nodeName()).arg(handshakeStatus(why)));
        return;
    }
    fail(tr("Cannot attach to %1: %2").arg(nodeName(), why));
}

void RemoteSource::onDisconnected() {
    if (state() == State::Stopped || state() == State::Failed)
        return;
    const QString reason = m_socket.closeReason();
    if (m_socket.closeCode() == Admin::CloseTooManyConsoles)
        fail(tr("%1 has too many admin consoles attached; try again later.").arg(nodeName()));
    else if (!reason.isEmpty())
        fail(tr("%1 closed the admin connection: %2").arg(nodeName(), reason));
    else if (m_socket.error() != QAbstractSocket::UnknownSocketError)
        onSocketError();
    else
        fail(tr("%1 closed the admin connection.").arg(nodeName()));
}

void RemoteSource::onMessage(const QString &text) {
    Limits limits;
    limits.maxMessageSize = MaxAdminMessageSize;
    Error error;
    const Message m = Message::parse(text.toUtf8(), limits, &error);
    if (error)
        return; // not ours to answer: the endpoint only sends admin messages
    const QByteArrayView command = m.command();
    if (command == Admin::EventsCommand) {
        if (state() != State::Running)
            return; // before the first snapshot there is nothing to apply it to
        const QJsonDocument doc = QJsonDocument::fromJson(m.body().toByteArray());
        Q_EMIT batchReceived(Admin::batchFromJson(doc.object()));
    } else if (command == Admin::SnapshotCommand) {
        onSnapshotPart(m.body().toByteArray(), m.header("part").toInt(), m.header("parts").toInt(),
                       m.header("gap").toULongLong());
    } else if (command == Admin::ResultCommand) {
        const quint64 request = m.header("request").toULongLong();
        m_pending.remove(request);
        Q_EMIT commandFinished(request, m.header("code").toInt(),
                               QString::fromUtf8(m.header("reason")));
    }
}

void RemoteSource::onSnapshotPart(const QByteArray &body, int part, int parts, quint64 gap) {
    const QJsonObject o = QJsonDocument::fromJson(body).object();
    if (part <= 1) {
        m_assembling = Admin::snapshotFromJson(o);
        m_assembling.gap = gap;
        m_partsSeen = 1;
    } else if (part == m_partsSeen + 1) {
        const Admin::Snapshot rest = Admin::snapshotFromJson(o);
        m_assembling.connections += rest.connections;
        m_partsSeen = part;
    } else {
        return; // a part out of order cannot happen on one WebSocket; ignore it
    }
    if (m_partsSeen < parts)
        return;
    m_snapshotTimeout.stop();
    setState(State::Running);
    Q_EMIT snapshotReceived(m_assembling);
    m_assembling = {};
}

quint64 RemoteSource::send(QByteArrayView command,
                           const QList<QPair<QByteArray, QByteArray>> &headers,
                           const QByteArray &body, bool answered) {
    const quint64 request = nextRequest();
    if (state() != State::Running) {
        // Answered on the next turn of the event loop, as a real answer would be.
        QMetaObject::invokeMethod(
            this,
            [this, request] { Q_EMIT commandFinished(request, 0, tr("Not attached to a node.")); },
            Qt::QueuedConnection);
        return request;
    }
    Message m(command.toByteArray(), body);
    m.addHeader("request", QByteArray::number(request));
    for (const auto &h : headers)
        m.addHeader(h.first, h.second);
    if (answered)
        m_pending.insert(request);
    m_socket.sendTextMessage(QString::fromUtf8(m.toBytes()));
    return request;
}

quint64 RemoteSource::publish(const QByteArray &message) {
    return send(Admin::PublishCommand, {}, message);
}

quint64 RemoteSource::closeConnection(quint64 id) {
    return send(Admin::DisconnectCommand, {{"connection", QByteArray::number(id)}});
}

void RemoteSource::requestSnapshot() {
    if (state() == State::Running)
        send(Admin::SnapshotCommand, {}, {}, false);
}

} // namespace lhttp

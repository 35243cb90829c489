// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "client.h"

#include "channelname.h"
#include "frame.h"

#include <QRandomGenerator>
#include <QWebSocket>

#include <limits>

namespace lhttp {

namespace {

// The server already enforces its limits on what it forwards; a client that applied the
// default ones again would drop messages from a server configured with larger limits.
const Limits &receiveLimits() {
    static const Limits limits = [] {
        Limits l;
        l.maxMessageSize = std::numeric_limits<qsizetype>::max();
        l.maxHeaders = std::numeric_limits<int>::max();
        l.maxHeaderLineLength = std::numeric_limits<qsizetype>::max();
        return l;
    }();
    return limits;
}

// Keeps re-subscription messages well under the server's header line limit (8 KiB default).
constexpr qsizetype MaxChannelListBytes = 4000;
constexpr int CloseHandshakeTimeoutMs = 2000;

QByteArrayList tokens(QByteArrayView value) {
    QByteArrayList out;
    for (QByteArrayView t : splitTokens(value))
        out.append(t.toByteArray());
    return out;
}

} // namespace

Client::Client(QObject *parent)
    : QObject(parent) {
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &Client::connectNow);
    m_connectTimer.setSingleShot(true);
    connect(&m_connectTimer, &QTimer::timeout, this, [this] {
        if (!m_socket)
            return;
        m_timedOut = m_state == State::Connecting;
        m_socket->abort();
    });
}

Client::~Client() {
    // The socket is a child and goes with us; no signal of it may reach a half-destroyed
    // Client. QWebSocket still sends its close frame when destroyed connected.
    if (m_socket)
        disconnect(m_socket, nullptr, this, nullptr);
}

void Client::open(const QUrl &url) {
    open(QNetworkRequest(url));
}

void Client::open(const QNetworkRequest &request) {
    m_reconnectTimer.stop();
    m_connectTimer.stop();
    detachSocket(true);
    m_request = request;
    m_attempt = 0;
    connectNow();
}

void Client::close() {
    m_reconnectTimer.stop();
    switch (m_state) {
    case State::Disconnected:
    case State::Closing:
        return;
    case State::Reconnecting:
        setState(State::Disconnected);
        return;
    case State::Connecting:
        m_connectTimer.stop();
        detachSocket(false);
        setState(State::Disconnected);
        return;
    case State::Connected:
        // Stay attached until the socket is down, so that disconnected() means the connection
        // is really gone (QWebSocket may get there inside close() already); a socket that
        // cannot flush its close frame is cut off after a while.
        setState(State::Closing);
        m_connectTimer.start(CloseHandshakeTimeoutMs);
        m_socket->close(QWebSocketProtocol::CloseCodeNormal);
        return;
    }
}

void Client::setAutoReconnect(bool on) {
    m_autoReconnect = on;
    if (!on && m_state == State::Reconnecting) {
        m_reconnectTimer.stop();
        setState(State::Disconnected);
    }
}

void Client::setReconnectDelays(int minMs, int maxMs) {
    m_minDelayMs = qMax(1, minMs);
    m_maxDelayMs = qMax(m_minDelayMs, maxMs);
}

QSslConfiguration Client::sslConfiguration() const {
    return m_sslConfiguration.isNull() ? QSslConfiguration::defaultConfiguration()
                                       : m_sslConfiguration;
}

void Client::setSslConfiguration(const QSslConfiguration &configuration) {
    m_sslConfiguration = configuration;
}

void Client::connectNow() {
    detachSocket(false);
    m_timedOut = false;
    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
    if (!m_sslConfiguration.isNull())
        m_socket->setSslConfiguration(m_sslConfiguration);
    connect(m_socket, &QWebSocket::connected, this, &Client::onSocketConnected);
    connect(m_socket, &QWebSocket::stateChanged, this, [this](QAbstractSocket::SocketState s) {
        if (s == QAbstractSocket::UnconnectedState)
            onSocketGone();
    });
    connect(m_socket, &QWebSocket::textMessageReceived, this,
            [this](const QString &text) { onIncoming(text.toUtf8()); });
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, &Client::onIncoming);
    connect(m_socket, &QWebSocket::pong, this, &Client::pong);
    setState(State::Connecting);
    m_connectTimer.start(m_connectTimeoutMs);
    m_socket->open(m_request);
}

void Client::detachSocket(bool graceful) {
    QWebSocket *socket = m_socket;
    if (!socket)
        return;
    m_socket = nullptr;
    disconnect(socket, nullptr, this, nullptr);
    if (graceful && socket->state() == QAbstractSocket::ConnectedState) {
        // Let the close handshake finish on its own; the timer bounds it.
        connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
        QTimer::singleShot(CloseHandshakeTimeoutMs, socket, [socket] {
            socket->abort();
            socket->deleteLater();
        });
        socket->close(QWebSocketProtocol::CloseCodeNormal);
    } else {
        socket->abort();
        socket->deleteLater();
    }
}

void Client::onSocketConnected() {
    m_connectTimer.stop();
    m_connectedFor.start();
    m_errorString.clear();
    setState(State::Connected);
    resubscribe();
    // A slot may have closed or reopened already.
    if (m_state == State::Connected)
        Q_EMIT connected();
}

void Client::onSocketGone() {
    QWebSocket *socket = m_socket;
    const State was = m_state;
    m_connectTimer.stop();
    QString why;
    if (m_timedOut)
        why = QStringLiteral("connection timed out after %1 ms").arg(m_connectTimeoutMs);
    else if (socket->error() != QAbstractSocket::UnknownSocketError)
        why = socket->errorString();
    m_timedOut = false;
    // An int: codes 4000-4999 are outside the enum's range (loading them as it is undefined).
    const int code = int(socket->closeCode());
    const QString reason = socket->closeReason();
    // Deleted later: we are inside one of its signals.
    disconnect(socket, nullptr, this, nullptr);
    socket->deleteLater();
    m_socket = nullptr;

    if (was == State::Closing) {
        setState(State::Disconnected);
        Q_EMIT disconnected();
        return;
    }
    if (was == State::Connected) {
        if (why.isEmpty())
            why = QStringLiteral("connection closed by the server (%1%2)")
                      .arg(code)
                      .arg(reason.isEmpty() ? QString() : QStringLiteral(": ") + reason);
        if (m_connectedFor.elapsed() >= StableConnectionMs)
            m_attempt = 0;
    } else if (why.isEmpty()) {
        why = QStringLiteral("connection failed");
    }
    m_errorString = why;
    if (m_autoReconnect)
        scheduleReconnect();
    else
        setState(State::Disconnected);
    if (was == State::Connected)
        Q_EMIT disconnected();
    else
        Q_EMIT connectionFailed(m_errorString);
}

void Client::scheduleReconnect() {
    // Exponential backoff with "equal jitter": clients that lost the same server at the same
    // moment do not all come back at the same moment.
    qint64 ceiling = m_minDelayMs;
    for (int i = 0; i < m_attempt && ceiling < m_maxDelayMs; ++i)
        ceiling *= 2;
    ceiling = qMin<qint64>(ceiling, m_maxDelayMs);
    const qint64 floor = qMax<qint64>(m_minDelayMs, ceiling / 2);
    const int delay = int(floor + QRandomGenerator::global()->bounded(ceiling - floor + 1));
    ++m_attempt;
    setState(State::Reconnecting);
    m_reconnectTimer.start(delay);
    Q_EMIT reconnectScheduled(delay, m_attempt);
}

void Client::setState(State state) {
    if (m_state == state)
        return;
    m_state = state;
    Q_EMIT stateChanged(state);
}

void Client::onIncoming(const QByteArray &bytes) {
    Error error;
    const Message message = Message::parse(bytes, receiveLimits(), &error);
    if (error) {
        Q_EMIT invalidMessageReceived(bytes, error.reason);
        return;
    }
    if (message.command() == "error" && message.hasHeader("code") &&
        !message.hasHeader("publish")) {
        Q_EMIT errorReceived(message.header("code").toInt(),
                             message.header("reason").toByteArray());
        return;
    }
    Q_EMIT messageReceived(message);
}

bool Client::fail(const QString &why) {
    m_errorString = why;
    return false;
}

bool Client::sendBytes(const QByteArray &bytes) {
    if (m_state != State::Connected || !m_socket)
        return fail(QStringLiteral("not connected"));
    // Text frames whenever possible: what the original server and browsers expect. Bytes that
    // are not UTF-8 cannot be a text frame and go as binary (PROTOCOL.md §1).
    const Frame frame(bytes);
    if (frame.isText())
        m_socket->sendTextMessage(frame.text());
    else
        m_socket->sendBinaryMessage(bytes);
    return true;
}

bool Client::subscribe(const QByteArrayList &channels, const QByteArray &command) {
    if (channels.isEmpty())
        return fail(QStringLiteral("no channel to subscribe to"));
    for (const QByteArray &channel : channels) {
        if (!isValidChannel(channel, false, &m_errorString))
            return false;
    }
    QString why;
    const QByteArray bytes =
        buildMessage(command, {{QByteArrayLiteral("subscribe"), channels.join(' ')}}, {}, &why);
    if (bytes.isNull())
        return fail(why);
    remember(channels, command);
    if (m_state != State::Connected)
        return true; // sent on connect by resubscribe()
    return sendBytes(bytes);
}

bool Client::unsubscribe(const QByteArrayList &channels, const QByteArray &command) {
    if (channels.isEmpty())
        return fail(QStringLiteral("no channel to unsubscribe from"));
    for (const QByteArray &channel : channels) {
        if (!isValidChannel(channel, false, &m_errorString))
            return false;
    }
    QString why;
    const QByteArray bytes =
        buildMessage(command, {{QByteArrayLiteral("unsubscribe"), channels.join(' ')}}, {}, &why);
    if (bytes.isNull())
        return fail(why);
    forget(channels);
    if (m_state != State::Connected)
        return true; // nothing to undo on the server
    return sendBytes(bytes);
}

bool Client::publish(const QByteArrayList &channels, const QByteArray &command,
                     const HeaderPairs &headers, const QByteArray &body) {
    QString why;
    const QByteArray bytes = buildPublishMessage(channels, command, headers, body, &why);
    if (bytes.isNull())
        return fail(why);
    return sendBytes(bytes);
}

bool Client::send(const Message &message) {
    return sendRaw(message.toBytes());
}

bool Client::sendRaw(const QByteArray &bytes) {
    if (!sendBytes(bytes))
        return false;
    track(bytes);
    return true;
}

bool Client::ping(const QByteArray &payload) {
    if (m_state != State::Connected || !m_socket)
        return fail(QStringLiteral("not connected"));
    m_socket->ping(payload);
    return true;
}

void Client::track(const QByteArray &bytes) {
    // Same order as the server: subscribe before unsubscribe (PROTOCOL.md §3).
    Error error;
    const Message m = Message::parse(bytes, receiveLimits(), &error);
    if (error)
        return;
    QByteArrayList joined;
    for (const QByteArray &channel : tokens(m.header("subscribe"))) {
        if (isValidChannel(channel, false, nullptr))
            joined.append(channel);
    }
    remember(joined, m.command().toByteArray());
    forget(tokens(m.header("unsubscribe")));
}

void Client::remember(const QByteArrayList &channels, const QByteArray &command) {
    for (const QByteArray &channel : channels) {
        if (!m_channelCommand.contains(channel))
            m_channels.append(channel);
        m_channelCommand.insert(channel, command);
    }
}

void Client::forget(const QByteArrayList &channels) {
    for (const QByteArray &channel : channels) {
        if (m_channelCommand.remove(channel))
            m_channels.removeOne(channel);
    }
}

void Client::resubscribe() {
    // One message per command the channels were joined with, split so that no header line
    // comes near the server's limit.
    QByteArrayList commands;
    for (const QByteArray &channel : std::as_const(m_channels)) {
        const QByteArray &command = m_channelCommand[channel];
        if (!commands.contains(command))
            commands.append(command);
    }
    for (const QByteArray &command : std::as_const(commands)) {
        QByteArrayList batch;
        qsizetype size = 0;
        auto flush = [&] {
            if (batch.isEmpty())
                return;
            sendBytes("LHTTP/1.0 " + command + "\r\nsubscribe:" + batch.join(' ') + "\r\n\r\n");
            batch.clear();
            size = 0;
        };
        for (const QByteArray &channel : std::as_const(m_channels)) {
            if (m_channelCommand.value(channel) != command)
                continue;
            if (size + channel.size() + 1 > MaxChannelListBytes)
                flush();
            batch.append(channel);
            size += channel.size() + 1;
        }
        flush();
    }
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "client.h"

#include "channelname.h"
#include "frame.h"

#include <QRandomGenerator>
#include <QWebSocket>

#include <utility>

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

// The payload of the pings that follow history requests; never shown through pong().
const QByteArray InternalPing = QByteArrayLiteral("\x01lhttp-client:");

bool isWildcard(const QByteArray &channel) {
    for (const QByteArray &token : channel.split('.')) {
        if (token == "*" || token == ">")
            return true;
    }
    return false;
}

bool parseOffset(QByteArrayView text, quint64 *out) {
    if (text.isEmpty())
        return false;
    for (char c : text) {
        if (c < '0' || c > '9')
            return false;
    }
    bool ok = false;
    *out = text.toULongLong(&ok);
    return ok;
}

// `<offset> <epoch>` at fields[at], fields[at + 1].
bool parsePosition(const QVarLengthArray<QByteArrayView, 4> &fields, qsizetype at, Position *out) {
    if (fields.size() != at + 2 || !parseOffset(fields[at], &out->offset) ||
        !HistoryHeaders::isValidEpoch(fields[at + 1]))
        return false;
    out->epoch = fields[at + 1].toByteArray();
    return true;
}

bool parseCount(QByteArrayView text, int *out) {
    quint64 n = 0;
    if (!parseOffset(text, &n) || n > quint64(std::numeric_limits<int>::max()))
        return false;
    *out = int(n);
    return true;
}

} // namespace

// --- HistoryReply ---

namespace {
// The Client's side of a HistoryReply: fills it in and completes it.
class PendingHistory final : public HistoryReply {
public:
    PendingHistory(const QByteArray &channel, QObject *parent)
        : HistoryReply(channel, parent) {}
    void add(const Message &message) { m_messages.append(message); }
    void complete(const Position &position) {
        m_position = position;
        succeed();
    }
    using HistoryReply::fail;
};

PendingHistory *pending(HistoryReply *reply) {
    return static_cast<PendingHistory *>(reply);
}
} // namespace

HistoryReply::HistoryReply(const QByteArray &channel, QObject *parent)
    : QObject(parent)
    , m_channel(channel) {}

void HistoryReply::succeed() {
    m_errorCode = -1;
    finishLater();
}

void HistoryReply::fail(int code, const QString &why) {
    m_errorCode = code;
    m_errorString = why;
    m_messages.clear();
    finishLater();
}

void HistoryReply::finishLater() {
    if (m_finishing)
        return;
    m_finishing = true;
    // Always from the event loop: connecting after Client::history() returned is safe.
    QTimer::singleShot(0, this, [this] {
        m_finished = true;
        Q_EMIT finished();
        if (m_autoDelete)
            deleteLater();
    });
}

// --- Client ---

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
    connect(m_socket, &QWebSocket::pong, this, &Client::onPong);
    setState(State::Connecting);
    m_connectTimer.start(m_connectTimeoutMs);
    m_socket->open(m_request);
}

void Client::detachSocket(bool graceful) {
    QWebSocket *socket = m_socket;
    if (!socket)
        return;
    dropPending(QStringLiteral("connection closed"));
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
    dropPending(QStringLiteral("connection lost: ") + why);

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
        ++m_errorReplies;
        m_lastErrorCode = message.header("code").toInt();
        m_lastErrorReason = message.header("reason").toByteArray();
        Q_EMIT errorReceived(m_lastErrorCode, m_lastErrorReason);
        return;
    }
    if (!message.hasHeader("publish") && onReply(message))
        return;
    if (onHistoryMessage(message))
        return;
    Q_EMIT messageReceived(message);
}

bool Client::onReply(const Message &message) {
    const QByteArrayView recoverValue = message.header("recovered");
    const QByteArrayView readValue = message.header("history");
    const bool isRecover = !recoverValue.isNull();
    if (!isRecover && readValue.isNull())
        return false;
    // recovered:<channel> <true|false> <count> <offset> <epoch>
    // history:<channel> <count> <offset> <epoch>
    const auto fields = splitTokens(isRecover ? recoverValue : readValue);
    const qsizetype countAt = isRecover ? 2 : 1;
    int count = 0;
    Position top;
    if (fields.size() <= countAt || !parseCount(fields[countAt], &count) ||
        !parsePosition(fields, countAt + 1, &top) ||
        (isRecover && fields[1] != "true" && fields[1] != "false"))
        return false;
    const Pending::Kind kind = isRecover ? Pending::Kind::Recover : Pending::Kind::History;
    for (qsizetype i = 0; i < m_pending.size(); ++i) {
        Pending &p = m_pending[i];
        if (p.kind != kind || p.answered || p.channel != fields[0])
            continue;
        p.answered = true;
        p.complete = isRecover && fields[1] == "true";
        p.count = p.remaining = (isRecover && !p.complete) ? 0 : count;
        p.top = top;
        if (p.remaining == 0)
            finishPending(i);
        return true;
    }
    return false; // not ours (sent raw): an ordinary message
}

bool Client::onHistoryMessage(const Message &message) {
    // Deliveries on history channels carry `position:<channel> <offset> <epoch>` first.
    const Message::HeaderList &headers = message.headers();
    if (headers.isEmpty() || headers.first().name != "position")
        return false;
    const auto fields = splitTokens(headers.first().value);
    Position position;
    if (fields.isEmpty() || !parsePosition(fields, 1, &position))
        return false;
    const QByteArray channel = fields[0].toByteArray();
    quint64 replayDone = 0; // the pending whose last replayed message this is
    for (qsizetype i = 0; i < m_pending.size(); ++i) {
        Pending &p = m_pending[i];
        if (!p.answered || p.remaining <= 0 || p.channel != channel)
            continue;
        if (p.kind == Pending::Kind::History) {
            // A history read: for the reply, not for messageReceived().
            if (p.reply)
                pending(p.reply)->add(message);
            if (--p.remaining == 0)
                finishPending(i);
            return true;
        }
        if (--p.remaining == 0)
            replayDone = p.id;
        break;
    }
    bool deliver = true;
    if (m_recovering.contains(channel)) {
        // Recovery never doubles a message: not beyond the last one seen, same epoch.
        const auto it = m_positions.constFind(channel);
        deliver =
            it == m_positions.cend() || it->epoch != position.epoch || position.offset > it->offset;
    }
    notePosition(channel, position);
    if (deliver)
        Q_EMIT messageReceived(message);
    if (replayDone) {
        // A slot may have closed or reopened meanwhile (the pending is gone then).
        for (qsizetype i = 0; i < m_pending.size(); ++i) {
            if (m_pending.at(i).id == replayDone) {
                finishPending(i);
                break;
            }
        }
    }
    return true;
}

void Client::finishPending(qsizetype index) {
    const Pending p = m_pending.takeAt(index);
    notePosition(p.channel, p.top);
    if (p.kind == Pending::Kind::History) {
        if (p.reply) {
            pending(p.reply)->complete(p.top);
        }
        return;
    }
    Q_EMIT recovered(p.channel, p.complete, p.count);
}

void Client::onPong(quint64 elapsedMs, const QByteArray &payload) {
    if (!payload.startsWith(InternalPing)) {
        Q_EMIT pong(elapsedMs, payload);
        return;
    }
    const quint64 id = payload.mid(InternalPing.size()).toULongLong();
    qsizetype index = -1;
    for (qsizetype i = 0; i < m_pending.size(); ++i) {
        if (m_pending.at(i).id == id)
            index = i;
    }
    // Answered (the pending stays until its messages are in) or gone with a reconnect.
    if (index < 0 || m_pending.at(index).answered)
        return;
    // No reply header before the pong: the server refused the request, and its error reply,
    // the last one before the pong, says why; or it ignored the header (no history support).
    const Pending p = m_pending.takeAt(index);
    const bool refused = m_errorReplies > p.errorsAtSend;
    const QString why =
        refused ? QStringLiteral("server error %1: %2")
                      .arg(m_lastErrorCode)
                      .arg(QString::fromUtf8(m_lastErrorReason))
                : QStringLiteral("the server did not answer the %1 header (no history support)")
                      .arg(p.kind == Pending::Kind::History ? QStringLiteral("history")
                                                            : QStringLiteral("recover"));
    if (p.kind == Pending::Kind::History) {
        if (p.reply)
            pending(p.reply)->fail(refused ? m_lastErrorCode : 0, why);
        return;
    }
    m_errorString = why;
    // Nothing of a refused message is applied: join the channel without recovery.
    if (refused && m_recovering.contains(p.channel))
        sendBytes("LHTTP/1.0 " + p.command + "\r\nsubscribe:" + p.channel + "\r\n\r\n");
    Q_EMIT recovered(p.channel, false, 0);
}

void Client::trackPending(Pending pending) {
    pending.id = m_nextPendingId++;
    pending.errorsAtSend = m_errorReplies;
    const quint64 id = pending.id;
    m_pending.append(std::move(pending));
    m_socket->ping(InternalPing + QByteArray::number(id));
}

void Client::dropPending(const QString &why) {
    // Recoveries are sent again on the next connection; history reads fail.
    const QList<Pending> dropped = std::exchange(m_pending, {});
    for (const Pending &p : dropped) {
        if (p.kind == Pending::Kind::History && p.reply)
            pending(p.reply)->fail(0, why);
    }
}

void Client::notePosition(const QByteArray &channel, const Position &position) {
    if (!HistoryHeaders::isValidEpoch(position.epoch))
        return;
    const auto it = m_positions.find(channel);
    if (it == m_positions.end())
        m_positions.insert(channel, position);
    else if (it->epoch != position.epoch || position.offset > it->offset)
        *it = position;
}

void Client::setPosition(const QByteArray &channel, const Position &position) {
    if (HistoryHeaders::isValidEpoch(position.epoch))
        m_positions.insert(channel, position);
    else
        m_positions.remove(channel);
}

QByteArrayList Client::recoveringChannels() const {
    QByteArrayList out;
    for (const QByteArray &channel : m_channels) {
        if (m_recovering.contains(channel))
            out.append(channel);
    }
    return out;
}

void Client::sendRecover(const QByteArray &channel) {
    const QByteArray command = m_channelCommand.value(channel, QByteArrayLiteral("subscribe"));
    QByteArray recover = channel;
    if (const auto it = m_positions.constFind(channel); it != m_positions.cend())
        recover += ' ' + it->toText();
    if (!sendBytes("LHTTP/1.0 " + command + "\r\nsubscribe:" + channel + "\r\nrecover:" + recover +
                   "\r\n\r\n"))
        return;
    Pending p;
    p.kind = Pending::Kind::Recover;
    p.channel = channel;
    p.command = command;
    trackPending(std::move(p));
}

bool Client::subscribeWithRecovery(const QByteArrayList &channels, const QByteArray &command) {
    if (channels.isEmpty())
        return fail(QStringLiteral("no channel to subscribe to"));
    for (const QByteArray &channel : channels) {
        if (!isValidChannel(channel, false, &m_errorString))
            return false;
        if (isWildcard(channel))
            return fail(QStringLiteral("cannot recover wildcard channel '%1'")
                            .arg(QString::fromUtf8(channel)));
    }
    QString why;
    if (buildMessage(command, {{QByteArrayLiteral("subscribe"), channels.first()}}, {}, &why)
            .isNull())
        return fail(why);
    remember(channels, command);
    for (const QByteArray &channel : channels)
        m_recovering.insert(channel);
    if (m_state != State::Connected)
        return true; // sent on connect by resubscribe()
    for (const QByteArray &channel : channels)
        sendRecover(channel);
    return true;
}

HistoryReply *Client::history(const QByteArray &channel, int limit,
                              const std::optional<Position> &after, const QByteArray &command) {
    auto *reply = new PendingHistory(channel, this);
    QString why;
    if (!isValidChannel(channel, false, &why)) {
        reply->fail(0, why);
        return reply;
    }
    if (isWildcard(channel)) {
        reply->fail(0, QStringLiteral("cannot read the history of wildcard channel '%1'")
                           .arg(QString::fromUtf8(channel)));
        return reply;
    }
    if (limit < 1) {
        reply->fail(0, QStringLiteral("the limit must be at least 1"));
        return reply;
    }
    QByteArray value = channel + ' ' + QByteArray::number(limit);
    if (after) {
        if (!HistoryHeaders::isValidEpoch(after->epoch)) {
            reply->fail(0, QStringLiteral("an epoch is 1 to 32 letters and digits"));
            return reply;
        }
        value += ' ' + after->toText();
    }
    const QByteArray bytes =
        buildMessage(command, {{QByteArrayLiteral("history"), value}}, {}, &why);
    if (bytes.isNull()) {
        reply->fail(0, why);
        return reply;
    }
    if (!sendBytes(bytes)) {
        reply->fail(0, m_errorString);
        return reply;
    }
    Pending p;
    p.kind = Pending::Kind::History;
    p.channel = channel;
    p.command = command;
    p.reply = reply;
    trackPending(std::move(p));
    return reply;
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
        m_recovering.remove(channel);
    }
}

void Client::resubscribe() {
    // One message per command the channels were joined with, split so that no header line
    // comes near the server's limit.
    QByteArrayList commands;
    for (const QByteArray &channel : std::as_const(m_channels)) {
        if (m_recovering.contains(channel))
            continue;
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
            if (m_channelCommand.value(channel) != command || m_recovering.contains(channel))
                continue;
            if (size + channel.size() + 1 > MaxChannelListBytes)
                flush();
            batch.append(channel);
            size += channel.size() + 1;
        }
        flush();
    }
    // History channels one message each: a message carries one recover header.
    for (const QByteArray &channel : std::as_const(m_channels)) {
        if (m_recovering.contains(channel))
            sendRecover(channel);
    }
}

} // namespace lhttp

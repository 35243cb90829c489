// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "client.h"

#include "channelname.h"
#include "frame.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QWebSocket>

#include <algorithm>
#include <limits>
#include <utility>

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

// --- Replies ---

namespace {
// The Client's side of the replies: fills them in and completes them.
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

class PendingPresence final : public PresenceReply {
public:
    PendingPresence(const QByteArray &channel, QObject *parent)
        : PresenceReply(channel, parent) {}
    void complete(int total, QList<PresenceMember> members) {
        m_total = total;
        m_members = std::move(members);
        succeed();
    }
    using PresenceReply::fail;
};

class PendingPresenceStats final : public PresenceStatsReply {
public:
    PendingPresenceStats(const QByteArray &channel, const QByteArray &user, QObject *parent)
        : PresenceStatsReply(channel, user, parent) {}
    void complete(int connections, int users, int userConnections) {
        m_connections = connections;
        m_users = users;
        m_userConnections = userConnections;
        succeed();
    }
    using PresenceStatsReply::fail;
};

// A Reply's fail() for the Client: every reply it makes is one of the Pending* classes, each
// of which makes fail() public.
void failReply(Reply *reply, int code, const QString &why) {
    if (auto *h = qobject_cast<HistoryReply *>(reply))
        static_cast<PendingHistory *>(h)->fail(code, why);
    else if (auto *p = qobject_cast<PresenceReply *>(reply))
        static_cast<PendingPresence *>(p)->fail(code, why);
    else if (auto *st = qobject_cast<PresenceStatsReply *>(reply))
        static_cast<PendingPresenceStats *>(st)->fail(code, why);
}

// The JSON array of a presence reply's body; false when it is not one.
bool parseMembers(QByteArrayView body, QList<PresenceMember> *out) {
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(body.toByteArray(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isArray())
        return false;
    const QJsonArray array = doc.array();
    out->reserve(array.size());
    for (const QJsonValue &v : array) {
        if (!v.isObject())
            return false;
        const QJsonObject o = v.toObject();
        out->append({o.value(QLatin1String("client")).toString().toUtf8(),
                     o.value(QLatin1String("node")).toString().toUtf8(),
                     o.value(QLatin1String("user")).toString().toUtf8(),
                     o.value(QLatin1String("info")).toString().toUtf8()});
    }
    return true;
}

bool isPresenceChannelName(const QByteArray &channel, QString *why) {
    if (!isValidChannel(channel, false, why))
        return false;
    if (isWildcard(channel)) {
        *why = QStringLiteral("wildcard channel '%1' cannot be a presence channel")
                   .arg(QString::fromUtf8(channel));
        return false;
    }
    return true;
}
} // namespace

Reply::Reply(const QByteArray &channel, QObject *parent)
    : QObject(parent)
    , m_channel(channel) {}

void Reply::succeed() {
    m_errorCode = -1;
    finishLater();
}

void Reply::fail(int code, const QString &why) {
    m_errorCode = code;
    m_errorString = why;
    clearResult();
    finishLater();
}

void Reply::finishLater() {
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
    if (!message.hasHeader("publish") &&
        (onReply(message) || onPresenceReply(message) || onPresenceEvent(message)))
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

bool Client::onPresenceReply(const Message &message) {
    // presence:<channel> <total> <listed> + a JSON array; presence-stats:<channel>
    // <connections> <users>[ <user connections>]
    const QByteArrayView listValue = message.header("presence");
    const QByteArrayView statsValue = message.header("presence-stats");
    const bool isList = !listValue.isNull();
    if (!isList && statsValue.isNull())
        return false;
    const auto fields = splitTokens(isList ? listValue : statsValue);
    int a = 0, b = 0, c = -1;
    if (fields.size() < 3 || fields.size() > (isList ? 3 : 4) || !parseCount(fields[1], &a) ||
        !parseCount(fields[2], &b) || (fields.size() == 4 && !parseCount(fields[3], &c)))
        return false;
    QList<PresenceMember> members;
    if (isList && (!parseMembers(message.body(), &members) || members.size() != b))
        return false;
    const Pending::Kind kind = isList ? Pending::Kind::Presence : Pending::Kind::PresenceStats;
    for (qsizetype i = 0; i < m_pending.size(); ++i) {
        const Pending &p = m_pending.at(i);
        if (p.kind != kind || p.answered || p.channel != fields[0])
            continue;
        const Pending done = m_pending.takeAt(i);
        if (!done.reply)
            return true; // deleted by its owner meanwhile
        if (isList)
            static_cast<PendingPresence *>(done.reply.data())->complete(a, std::move(members));
        else
            static_cast<PendingPresenceStats *>(done.reply.data())->complete(a, b, c);
        return true;
    }
    return false; // not ours (sent raw): an ordinary message
}

bool Client::onPresenceEvent(const Message &message) {
    // LHTTP/1.0 presence, join:<channel> or leave:<channel>, client, node, [user], body = info.
    if (message.command() != "presence")
        return false;
    const QByteArrayView join = message.header("join");
    const QByteArrayView leave = message.header("leave");
    if (join.isNull() == leave.isNull())
        return false;
    const QByteArray channel = (join.isNull() ? leave : join).toByteArray();
    const PresenceMember member{message.header("client").toByteArray(),
                                message.header("node").toByteArray(),
                                message.header("user").toByteArray(), message.body().toByteArray()};
    if (join.isNull())
        Q_EMIT left(channel, member);
    else
        Q_EMIT joined(channel, member);
    return true;
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
                static_cast<PendingHistory *>(p.reply.data())->add(message);
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
        if (p.reply)
            static_cast<PendingHistory *>(p.reply.data())->complete(p.top);
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
    // the last one before the pong, says why; or it ignored the header (no history or presence
    // support).
    const Pending p = m_pending.takeAt(index);
    const bool refused = m_errorReplies > p.errorsAtSend;
    auto headerOf = [](Pending::Kind kind) {
        switch (kind) {
        case Pending::Kind::Recover:
            return "recover";
        case Pending::Kind::History:
            return "history";
        case Pending::Kind::Presence:
            return "presence";
        case Pending::Kind::PresenceStats:
            return "presence-stats";
        }
        return "";
    };
    const QString why =
        refused ? QStringLiteral("server error %1: %2")
                      .arg(m_lastErrorCode)
                      .arg(QString::fromUtf8(m_lastErrorReason))
                : QStringLiteral("the server did not answer the %1 header (no %2 support)")
                      .arg(QLatin1String(headerOf(p.kind)),
                           QLatin1String(p.kind == Pending::Kind::Presence ||
                                                 p.kind == Pending::Kind::PresenceStats
                                             ? "presence"
                                             : "history"));
    if (p.kind != Pending::Kind::Recover) {
        if (p.reply)
            failReply(p.reply, refused ? m_lastErrorCode : 0, why);
        return;
    }
    m_errorString = why;
    // Nothing of a refused message is applied: join the channel without recovery (with its
    // presence options, if any).
    if (refused && m_recovering.contains(p.channel)) {
        HeaderPairs headers{{QByteArrayLiteral("subscribe"), p.channel}};
        if (const auto it = m_presence.constFind(p.channel); it != m_presence.cend())
            headers += presenceHeaders({p.channel}, *it);
        QString ignored;
        const QByteArray bytes = buildMessage(p.command, headers, {}, &ignored);
        if (!bytes.isNull())
            sendBytes(bytes);
    }
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
    // Recoveries are sent again on the next connection; reads fail.
    const QList<Pending> dropped = std::exchange(m_pending, {});
    for (const Pending &p : dropped) {
        if (p.reply)
            failReply(p.reply, 0, why);
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
    HeaderPairs headers{{QByteArrayLiteral("subscribe"), channel},
                        {QByteArrayLiteral("recover"), recover}};
    if (const auto it = m_presence.constFind(channel); it != m_presence.cend())
        headers += presenceHeaders({channel}, *it);
    QString why;
    const QByteArray bytes = buildMessage(command, headers, {}, &why);
    if (bytes.isNull() || !sendBytes(bytes))
        return;
    Pending p;
    p.kind = Pending::Kind::Recover;
    p.channel = channel;
    p.command = command;
    trackPending(std::move(p));
}

HeaderPairs Client::presenceHeaders(const QByteArrayList &channels,
                                    const PresenceOptions &options) {
    HeaderPairs headers;
    if (!options.info.isEmpty())
        headers.append({QByteArrayLiteral("presence-info"), options.info});
    if (options.joinsSelf)
        headers.append({QByteArrayLiteral("joins-self"), channels.join(' ')});
    else if (options.joins)
        headers.append({QByteArrayLiteral("joins"), channels.join(' ')});
    return headers;
}

bool Client::subscribeWithPresence(const QByteArrayList &channels, const PresenceOptions &options,
                                   const QByteArray &command) {
    if (channels.isEmpty())
        return fail(QStringLiteral("no channel to subscribe to"));
    for (const QByteArray &channel : channels) {
        if (!isPresenceChannelName(channel, &m_errorString))
            return false;
    }
    QString why;
    const HeaderPairs headers = HeaderPairs{{QByteArrayLiteral("subscribe"), channels.join(' ')}} +
                                presenceHeaders(channels, options);
    const QByteArray bytes = buildMessage(command, headers, {}, &why);
    if (bytes.isNull())
        return fail(why);
    remember(channels, command);
    for (const QByteArray &channel : channels)
        m_presence.insert(channel, options);
    if (m_state != State::Connected)
        return true; // sent on connect by resubscribe()
    return sendBytes(bytes);
}

QByteArrayList Client::presenceChannels() const {
    QByteArrayList out;
    for (const QByteArray &channel : m_channels) {
        if (m_presence.contains(channel))
            out.append(channel);
    }
    return out;
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
    sendRead(Pending::Kind::History, reply, command, QByteArrayLiteral("history"), value);
    return reply;
}

void Client::sendRead(Pending::Kind kind, Reply *reply, const QByteArray &command,
                      const QByteArray &name, const QByteArray &value) {
    QString why;
    const QByteArray bytes = buildMessage(command, {{name, value}}, {}, &why);
    if (bytes.isNull()) {
        failReply(reply, 0, why);
        return;
    }
    if (!sendBytes(bytes)) {
        failReply(reply, 0, m_errorString);
        return;
    }
    Pending p;
    p.kind = kind;
    p.channel = reply->channel();
    p.command = command;
    p.reply = reply;
    trackPending(std::move(p));
}

PresenceReply *Client::presence(const QByteArray &channel, const QByteArray &command) {
    auto *reply = new PendingPresence(channel, this);
    QString why;
    if (!isPresenceChannelName(channel, &why))
        reply->fail(0, why);
    else
        sendRead(Pending::Kind::Presence, reply, command, QByteArrayLiteral("presence"), channel);
    return reply;
}

PresenceStatsReply *Client::presenceStats(const QByteArray &channel, const QByteArray &user,
                                          const QByteArray &command) {
    auto *reply = new PendingPresenceStats(channel, user, this);
    QString why;
    if (!isPresenceChannelName(channel, &why)) {
        reply->fail(0, why);
    } else if (user.contains(' ') || user.contains('\t')) {
        // The header's fields are separated by blanks: such a user cannot be asked for.
        reply->fail(0, QStringLiteral("a user id with blanks cannot be asked for"));
    } else {
        sendRead(Pending::Kind::PresenceStats, reply, command, QByteArrayLiteral("presence-stats"),
                 user.isEmpty() ? channel : channel + ' ' + user);
    }
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
        m_presence.remove(channel);
    }
}

void Client::resubscribe() {
    // One message per command the channels were joined with (and per presence options: a
    // message's presence-info is that of all its channels), split so that no header line comes
    // near the server's limit.
    struct Group {
        QByteArray command;
        std::optional<PresenceOptions> presence;
        QByteArrayList channels;
    };
    QList<Group> groups;
    for (const QByteArray &channel : std::as_const(m_channels)) {
        if (m_recovering.contains(channel))
            continue;
        const QByteArray &command = m_channelCommand[channel];
        const auto options = m_presence.constFind(channel);
        const std::optional<PresenceOptions> presence =
            options == m_presence.cend() ? std::nullopt : std::optional(*options);
        auto group = std::find_if(groups.begin(), groups.end(), [&](const Group &g) {
            return g.command == command && g.presence == presence;
        });
        if (group == groups.end())
            group = groups.insert(groups.end(), Group{command, presence, {}});
        group->channels.append(channel);
    }
    for (const Group &group : std::as_const(groups)) {
        QByteArrayList batch;
        qsizetype size = 0;
        auto flush = [&] {
            if (batch.isEmpty())
                return;
            HeaderPairs headers{{QByteArrayLiteral("subscribe"), batch.join(' ')}};
            if (group.presence)
                headers += presenceHeaders(batch, *group.presence);
            QString why;
            const QByteArray bytes = buildMessage(group.command, headers, {}, &why);
            if (!bytes.isNull())
                sendBytes(bytes);
            batch.clear();
            size = 0;
        };
        for (const QByteArray &channel : group.channels) {
            // joins/joins-self repeat the list: half the room each.
            const qsizetype max = group.presence ? MaxChannelListBytes / 2 : MaxChannelListBytes;
            if (size + channel.size() + 1 > max)
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

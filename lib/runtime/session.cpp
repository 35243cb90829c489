// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "session.h"

#include "frame.h"
#include "logging.h"
#include "processor.h"
#include "server.h"
#include "token.h"

#include <QTcpSocket>
#include <QWebSocket>

namespace lhttp {

Processor::~Processor() = default;
HeaderFilter::~HeaderFilter() = default;

Session::Session(Server *server, quint64 id, QWebSocket *socket)
    : m_server(server)
    , m_socket(socket)
    , m_id(id)
    , m_connectedAt(QDateTime::currentDateTimeUtc()) {}

Session::~Session() = default;

bool Session::admitByRate(qint64 now) {
    const ServerOptions &o = m_server->options();
    const double burst = o.effectiveRateBurst();
    if (m_tokensAt == 0)
        m_tokens = burst;
    else
        m_tokens =
            std::min(burst, m_tokens + double(now - m_tokensAt) * o.messagesPerSecond / 1000.0);
    m_tokensAt = now;
    if (m_tokens >= 1) {
        m_tokens -= 1;
        m_rejected = 0;
        return true;
    }
    ++m_server->m_counters.rateLimited;
    replyError(Error::make(Status::TooManyRequests, "rate limit of " +
                                                        QByteArray::number(o.messagesPerSecond) +
                                                        " messages per second exceeded"));
    if (++m_rejected >= o.abuseCloseAfter)
        close(QWebSocketProtocol::CloseCodePolicyViolated, QStringLiteral("rate limit exceeded"));
    return false;
}

void Session::handleIncoming(const QByteArray &bytes, bool text) {
    noteTraffic();
    ++m_stats.messagesIn;
    m_stats.bytesIn += quint64(bytes.size());
    ++m_server->m_counters.messagesIn;
    m_server->m_counters.bytesIn += quint64(bytes.size());
    if (m_closing)
        return;
    const qint64 now = m_server->now();
    m_lastSeen = now;
    m_pingSentAt = 0; // any frame proves the peer alive
    if (m_server->options().messagesPerSecond > 0 && !admitByRate(now))
        return;
    // Parsed in place: the session's one Message keeps its storage from message to message.
    if (const Error error = m_message.reset(bytes, m_server->options().limits)) {
        replyError(error);
        return;
    }
    m_validSeen = true;
    m_incomingText = text;
    m_dropped = false;
    m_server->runChain(*this);
    m_incomingText = false;
    m_parts.clear();
    m_message.clear();
}

void Session::send(const Frame &frame) {
    if (m_closing)
        return;
    noteTraffic();
    ++m_stats.messagesOut;
    m_stats.bytesOut += quint64(frame.size());
    m_server->countOut(frame.size());
    if (m_wire) {
        // The frame's bytes as they are: the same for every receiver, made once. Whole frames
        // only, so they never interleave with QWebSocket's own control frames; nothing after
        // the socket started closing (a close frame may be on its way).
        if (m_wire->state() == QAbstractSocket::ConnectedState)
            m_wire->write(frame.wire());
    } else if (frame.isText()) {
        m_socket->sendTextMessage(frame.text());
    } else {
        m_socket->sendBinaryMessage(frame.bytes());
    }
    // A reader that stopped reading must not grow our memory: past the cap it is closed, and
    // nobody else waits for it (sends only append to its own buffer).
    const qsizetype cap = m_server->options().maxOutgoingBytes;
    if (cap > 0 && unsentBytes() > cap) {
        // A burst fanned out in one event-loop pass piles up here before Qt writes any of it;
        // only what the kernel will not take either makes a slow consumer.
        m_socket->flush();
        if (unsentBytes() > cap)
            closeSlowConsumer();
    }
}

qint64 Session::unsentBytes() const {
    return m_wire ? m_wire->bytesToWrite() : m_socket->bytesToWrite();
}

bool Session::releaseBuffers() {
    // QIODevice::open() (QAbstractSocket does not override it) drops both ring buffers and
    // makes empty ones; the socket engine, its notifiers and the connection state stay. Only
    // when nothing is buffered either way, and never from inside the socket's own calls (the
    // server calls this from its ticker or a queued call). Not for TLS (m_releasable).
    QTcpSocket *w = m_wire;
    if (!m_releasable || m_closing || w->state() != QAbstractSocket::ConnectedState ||
        w->bytesAvailable() != 0 || w->bytesToWrite() != 0)
        return false;
    w->open(w->openMode());
    m_buffersUsed = false;
    ++m_server->m_counters.socketBuffersReleased;
    return true;
}

void Session::closeSlowConsumer() {
    ++m_server->m_counters.slowConsumers;
    qCInfo(lcSession) << "session" << m_id << "closed as a slow consumer with" << unsentBytes()
                      << "bytes unsent";
    close(CloseCode::SlowConsumer, QStringLiteral("slow consumer"));
}

QString Session::userId() const {
    return m_claims ? m_claims->subject : QString();
}

void Session::sendBytes(const QByteArray &bytes) {
    send(Frame(bytes));
}

void Session::reply(const Message &message) {
    sendBytes(message.toBytes());
}

void Session::reply(QByteArrayView body, QByteArrayView command,
                    const Message::HeaderList &headers) {
    sendBytes(Message::serialize(command.isNull() ? m_message.command() : command, headers, body));
}

void Session::replyError(const Error &error) {
    m_server->notifyError(this, error);
    sendBytes(Message::errorReply(error));
}

QHostAddress Session::peerAddress() const {
    return m_peerAddress;
}

quint16 Session::peerPort() const {
    return m_socket->peerPort();
}

QString Session::origin() const {
    return m_socket->origin();
}

QUrl Session::requestUrl() const {
    return m_socket->requestUrl();
}

void Session::close(QWebSocketProtocol::CloseCode code, const QString &reason) {
    if (m_closing)
        return;
    m_closing = true;
    m_closingSince = m_server->now();
    m_socket->close(code, reason);
}

QVariant Session::value(const QString &key, const QVariant &defaultValue) const {
    return m_values ? m_values->value(key, defaultValue) : defaultValue;
}

void Session::setValue(const QString &key, const QVariant &value) {
    if (!m_values)
        m_values = std::make_unique<QVariantHash>();
    m_values->insert(key, value);
}

void Session::removeValue(const QString &key) {
    if (m_values)
        m_values->remove(key);
}

Frame Session::messageFrame() const {
    const bool unchanged = !m_message.isModified();
    return Frame(m_message.toBytes(), unchanged && m_incomingText);
}

bool Session::isSubscribed(QByteArrayView channel) const {
    for (const Membership &m : m_memberships) {
        if (m.channel->name == channel)
            return true;
    }
    return false;
}

QList<QByteArray> Session::channels() const {
    QList<QByteArray> out;
    out.reserve(m_memberships.size());
    for (const Membership &m : m_memberships)
        out.append(m.channel->name);
    return out;
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "session.h"

#include "counters.h"
#include "nodeevents.h"
#include "runtimelog.h"
#include "serveroptions.h"
#include "sessiontable.h"
#include "token.h"

#include <QElapsedTimer>
#include <QSslSocket>
#include <QTcpSocket>
#include <QWebSocket>

namespace lhttp {

Session::Session(const Context &context, quint64 id, QWebSocket *socket, QTcpSocket *wire,
                 std::unique_ptr<Claims> claims)
    : m_context(context)
    , m_socket(socket)
    , m_wire(wire)
    , m_id(id)
    , m_connectedAt(QDateTime::currentDateTimeUtc())
    , m_peerAddress(socket->peerAddress())
    , m_claims(std::move(claims)) {
    m_connectedAtMs = m_lastSeen = now();
    m_releasable = wire && !qobject_cast<QSslSocket *>(wire);
    if (m_releasable) {
        // The handshake used both socket buffers. Released as soon as the 101 response has
        // left, so that the next handshakes reuse the freed chunks and the heap stays dense.
        noteTraffic();
        if (wire->bytesToWrite() == 0) {
            releaseBuffersSoon(context, id);
        } else {
            // By id, not `this`: the session may be gone before the response has left.
            auto watch = std::make_shared<QMetaObject::Connection>();
            *watch = QObject::connect(wire, &QIODevice::bytesWritten, context.owner,
                                      [&context, id, wire, watch] {
                                          if (wire->bytesToWrite() != 0)
                                              return;
                                          QObject::disconnect(*watch);
                                          releaseBuffersSoon(context, id);
                                      });
        }
    }
    const qsizetype hard = context.options.effectiveHardMessageLimit();
    socket->setMaxAllowedIncomingMessageSize(quint64(hard));
    socket->setMaxAllowedIncomingFrameSize(quint64(hard));
    // The owner as the connections' context: end() cuts them all at once.
    QObject::connect(socket, &QWebSocket::textMessageReceived, context.owner,
                     [this](const QString &text) { handleIncoming(text.toUtf8(), true); });
    QObject::connect(socket, &QWebSocket::binaryMessageReceived, context.owner,
                     [this](const QByteArray &bytes) { handleIncoming(bytes, false); });
    QObject::connect(socket, &QWebSocket::pong, context.owner, [this] { handlePong(); });
}

Session::~Session() = default;

qint64 Session::now() const {
    return m_context.clock.elapsed();
}

void Session::open() {
    qCDebug(lcSession) << "session" << m_id << "opened from" << m_peerAddress.toString() << "origin"
                       << origin();
    m_opened = m_context.pipeline.open(*this);
}

void Session::end() {
    if (m_ended)
        return;
    m_ended = true;
    m_closing = true;
    m_socket->disconnect(m_context.owner);
    m_context.pipeline.close(*this, m_opened);
    qCDebug(lcSession) << "session" << m_id << "closed";
}

void Session::tick(qint64 t) {
    const ServerOptions &o = m_context.options;
    if (m_buffersUsed && ++m_quietTicks >= 2) {
        m_quietTicks = 2;
        releaseBuffers();
    }
    if (m_closing) {
        if (t - m_closingSince > o.closeGraceMs)
            m_socket->abort(); // the peer never finished the close handshake
        return;
    }
    if (o.idleTimeoutMs > 0 && !m_validSeen && t - m_connectedAtMs > o.idleTimeoutMs) {
        ++m_context.counters.idleTimeouts;
        close(QWebSocketProtocol::CloseCodePolicyViolated,
              QStringLiteral("no valid LHTTP message"));
        return;
    }
    if (o.pingIntervalMs <= 0)
        return;
    if (m_pingSentAt) {
        if (t - m_pingSentAt > o.pongTimeoutMs) {
            ++m_context.counters.keepaliveTimeouts;
            close(CloseCode::KeepaliveTimeout, QStringLiteral("keepalive timeout"));
        }
    } else if (t - m_lastSeen >= o.pingIntervalMs) {
        // Pings follow each connection's own rhythm (its last sign of life), so they are
        // spread over the interval rather than sent to everybody at once.
        m_pingSentAt = t;
        m_socket->ping();
        noteTraffic();
    }
}

void Session::handlePong() {
    m_pingSentAt = 0;
    m_lastSeen = now();
    // The ping/pong exchange is over: an idle connection gives its buffers back at once, not
    // two ticks later.
    noteTraffic();
    releaseBuffersSoon(m_context, m_id);
}

bool Session::admitByRate(qint64 t) {
    const ServerOptions &o = m_context.options;
    const double burst = o.effectiveRateBurst();
    if (m_tokensAt == 0)
        m_tokens = burst;
    else
        m_tokens =
            std::min(burst, m_tokens + double(t - m_tokensAt) * o.messagesPerSecond / 1000.0);
    m_tokensAt = t;
    if (m_tokens >= 1) {
        m_tokens -= 1;
        m_rejected = 0;
        return true;
    }
    ++m_context.counters.rateLimited;
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
    Counters &counters = m_context.counters;
    ++counters.messagesIn;
    counters.bytesIn += quint64(bytes.size());
    if (m_closing)
        return;
    const qint64 t = now();
    m_lastSeen = t;
    m_pingSentAt = 0; // any frame proves the peer alive
    const ServerOptions &o = m_context.options;
    if (o.messagesPerSecond > 0 && !admitByRate(t))
        return;
    // Parsed in place: the session's one Message keeps its storage from message to message.
    if (const Error error = m_message.reset(bytes, o.limits)) {
        replyError(error);
        return;
    }
    m_validSeen = true;
    m_incomingText = text;
    m_dropped = false;
    m_context.pipeline.message(*this);
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
    Counters &counters = m_context.counters;
    ++counters.messagesOut;
    counters.bytesOut += quint64(frame.size());
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
    const qsizetype cap = m_context.options.maxOutgoingBytes;
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

void Session::releaseBuffersSoon(const Context &context, quint64 id) {
    // Queued: never from inside the socket's own read or write path.
    const SessionTable *sessions = &context.sessions;
    QMetaObject::invokeMethod(
        context.owner,
        [sessions, id] {
            if (Session *s = sessions->find(id))
                s->releaseBuffers();
        },
        Qt::QueuedConnection);
}

bool Session::releaseBuffers() {
    // QIODevice::open() (QAbstractSocket does not override it) drops both ring buffers and
    // makes empty ones; the socket engine, its notifiers and the connection state stay. Only
    // when nothing is buffered either way. Not for TLS (m_releasable).
    QTcpSocket *w = m_wire;
    if (!m_releasable || m_closing || w->state() != QAbstractSocket::ConnectedState ||
        w->bytesAvailable() != 0 || w->bytesToWrite() != 0)
        return false;
    w->open(w->openMode());
    m_buffersUsed = false;
    ++m_context.counters.socketBuffersReleased;
    return true;
}

void Session::closeSlowConsumer() {
    ++m_context.counters.slowConsumers;
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
    m_context.counters.countError(error.code);
    qCDebug(lcSession) << "session" << m_id << "error" << error.code << error.reason;
    m_context.events.noteError(this, error);
    sendBytes(Message::errorReply(error));
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
    m_closingSince = now();
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

} // namespace lhttp

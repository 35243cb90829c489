// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "session.h"

#include "counters.h"
#include "flusher.h"
#include "nodeevents.h"
#include "runtimelog.h"
#include "serveroptions.h"
#include "sessiontable.h"
#include "token.h"

#include <QElapsedTimer>
#include <QScopeGuard>
#include <QSslSocket>
#include <QTcpSocket>
#include <QWebSocket>

#include <sys/socket.h>
#include <sys/uio.h>

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
    m_plainWire = wire && !qobject_cast<QSslSocket *>(wire);
    if (m_plainWire) {
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
    dropQueue();
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
        writeQueued(); // the ping after what was sent before it
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
    if (m_messageBucket.take(1, o.messagesPerSecond, o.effectiveRateBurst(), t)) {
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
    const auto replyBeforePong = qScopeGuard([this] {
        // More of the peer's frames wait in this read (a ping, say): QWebSocket answers a
        // ping at once, so what this message produced for its sender goes out first.
        if (m_flushSlot >= 0 && m_wire && m_wire->bytesAvailable() > 0)
            writeQueued();
    });
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
    if (m_closing || (m_plainWire && !m_wire)) // the wire is gone: the session is on its way out
        return;
    noteTraffic();
    ++m_stats.messagesOut;
    m_stats.bytesOut += quint64(frame.size());
    Counters &counters = m_context.counters;
    ++counters.messagesOut;
    counters.bytesOut += quint64(frame.size());
    if (m_plainWire) {
        // The frame's bytes as they are: the same for every receiver, made once, queued until
        // the end of the pass and then written with the rest in one system call.
        const QByteArray &wire = frame.wire();
        if (m_queue.empty())
            m_flushSlot = m_context.flusher.schedule(this, m_wire);
        m_queue.push_back(wire);
        m_queuedBytes += wire.size();
    } else if (m_wire) {
        // TLS: the socket encrypts what it is given. Whole frames only, so they never
        // interleave with QWebSocket's own control frames; nothing after the socket started
        // closing (a close frame may be on its way).
        if (m_wire->state() == QAbstractSocket::ConnectedState)
            m_wire->write(frame.wire());
    } else if (frame.isText()) {
        m_socket->sendTextMessage(frame.text());
    } else {
        m_socket->sendBinaryMessage(frame.bytes());
    }
    // A reader that stopped reading must not grow our memory: past the cap it is closed, and
    // nobody else waits for it (sends only append to its own queue).
    const qsizetype cap = m_context.options.maxOutgoingBytes;
    if (cap > 0 && unsentBytes() > cap) {
        // A burst fanned out in one pass piles up here before anything is written; only what
        // the kernel will not take either makes a slow consumer.
        writeQueued();
        m_socket->flush();
        if (unsentBytes() > cap)
            closeSlowConsumer();
    }
}

void Session::dropQueue() {
    if (m_flushSlot >= 0)
        m_context.flusher.cancel(m_flushSlot);
    m_flushSlot = -1;
    m_queue.clear();
    m_queuedBytes = 0;
}

void Session::writeQueued() {
    if (m_queue.empty())
        return;
    std::vector<QByteArray> queue;
    queue.swap(m_queue);
    dropQueue();
    // Nothing after a close frame: once QWebSocket is closing (either side began), the
    // queued frames are dropped, as they would have been refused one by one before.
    if (!m_wire || m_wire->state() != QAbstractSocket::ConnectedState ||
        m_socket->state() != QAbstractSocket::ConnectedState)
        return;
    size_t next = 0;
    qsizetype offset = 0; // into queue[next], after a partial write
    if (m_wire->bytesToWrite() == 0) {
        // Straight to the kernel, all frames in one call (the socket is non-blocking; no
        // SIGPIPE: the peer may be gone).
        constexpr size_t MaxIov = 64;
        while (next < queue.size()) {
            iovec iov[MaxIov];
            size_t n = 0;
            qsizetype total = 0;
            for (size_t i = next; i < queue.size() && n < MaxIov; ++i, ++n) {
                iov[n].iov_base = const_cast<char *>(queue[i].constData());
                iov[n].iov_len = size_t(queue[i].size());
                total += queue[i].size();
            }
            msghdr msg = {};
            msg.msg_iov = iov;
            msg.msg_iovlen = n;
            const ssize_t written =
                ::sendmsg(int(m_wire->socketDescriptor()), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (written <= 0)
                break; // full (EAGAIN) or failing: the socket takes the rest and finds out
            qsizetype left = written;
            while (left > 0 && left >= queue[next].size()) {
                left -= queue[next].size();
                ++next;
            }
            offset = left;
            if (written < total)
                break; // the kernel's buffer is full: the socket holds the rest
        }
    }
    // Behind what the socket already holds (a control frame, an earlier remainder), or what
    // the kernel did not take: Qt writes it when the socket is writable, in order.
    for (size_t i = next; i < queue.size(); ++i) {
        const QByteArray &bytes = queue[i];
        if (i == next && offset > 0)
            m_wire->write(bytes.constData() + offset, bytes.size() - offset);
        else
            m_wire->write(bytes);
    }
}

qint64 Session::unsentBytes() const {
    if (m_wire)
        return m_queuedBytes + m_wire->bytesToWrite();
    return m_socket->bytesToWrite();
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
    // when nothing is buffered either way. Not for TLS (m_plainWire).
    QTcpSocket *w = m_wire;
    if (!w || !m_plainWire || m_closing || !m_queue.empty() ||
        w->state() != QAbstractSocket::ConnectedState || w->bytesAvailable() != 0 ||
        w->bytesToWrite() != 0)
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

bool Session::admitPresenceJoins(int joins) {
    const ServerOptions &o = m_context.options;
    return m_presenceBucket.take(joins, o.presenceRate, o.effectivePresenceBurst(),
                                 std::max<qint64>(1, m_context.clock.elapsed()));
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
    writeQueued(); // what was sent before the close goes out before the close frame
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

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "channelhub.h"
#include "frame.h"
#include "message.h"
#include "multipart.h"
#include "pipeline.h"

#include <QDateTime>
#include <QHostAddress>
#include <QPointer>
#include <QUrl>
#include <QVariant>
#include <QWebSocketProtocol>

#include <algorithm>
#include <memory>
#include <vector>

class QElapsedTimer;
class QObject;
class QTcpSocket;
class QWebSocket;

namespace lhttp {

class Flusher;
class NodeEvents;
class SessionTable;
struct Claims;
struct Counters;
struct ServerOptions;

// Close codes lhttp-qt uses beyond RFC 6455's (4000–4999 is the private-use range).
namespace CloseCode {
constexpr auto SlowConsumer = QWebSocketProtocol::CloseCode(4008);     // "slow consumer"
constexpr auto KeepaliveTimeout = QWebSocketProtocol::CloseCode(4001); // "no pong"
} // namespace CloseCode

// A rate limit: `rate` a second on average, `burst` at once; starts full. Eight bytes: a
// session holds two.
struct TokenBucket {
    float tokens = 0;
    quint32 at = 0; // the clock (ms) of the last take(), odd; 0: never (wraps after 49 days)
    bool take(double n, double rate, double burst, qint64 now) {
        const quint32 stamp = quint32(now) | 1;
        const double elapsed = double(quint32(stamp - at)); // modulo 2^32
        tokens = float(at == 0 ? burst : std::min(burst, tokens + elapsed * rate / 1000.0));
        at = stamp;
        if (tokens < n)
            return false;
        tokens -= float(n);
        return true;
    }
};

// One WebSocket connection speaking LHTTP (the original's WsHandler). Processors and filters
// see the message being handled through it and answer through it. Kept small: a busy node
// holds tens of thousands of these.
class Session {
public:
    struct Stats {
        quint64 messagesIn = 0;
        quint64 bytesIn = 0;
        quint64 messagesOut = 0;
        quint64 bytesOut = 0;
    };

    // What every session of a node shares, owned by the node and handed to each session once.
    struct Context {
        const ServerOptions &options;
        Counters &counters;
        Pipeline &pipeline;
        NodeEvents &events;
        const SessionTable &sessions;
        const QElapsedTimer &clock; // the node's monotonic clock (ms)
        QObject *owner;             // receives the session's queued calls
        Flusher &flusher;           // writes each session's queued frames once per pass
    };

    // Opens the session on an accepted WebSocket (`wire`: the TCP/TLS socket under it, or
    // null) with the claims of its connect token, if the node asks for one. It handles its
    // socket's messages and pongs itself; the owner handles `disconnected`.
    Session(const Context &context, quint64 id, QWebSocket *socket, QTcpSocket *wire,
            std::unique_ptr<Claims> claims);
    ~Session();
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    quint64 id() const { return m_id; }

    // Runs the pipeline's open for this session (after the owner registered it).
    void open();
    // Runs the pipeline's close, once; the session stops sending. The owner then takes it
    // out of the hub and deletes it.
    void end();
    // The ticker's visit: keepalive pings, pong and idle deadlines, the close grace, giving
    // idle buffers back. Counts what it closes for.
    void tick(qint64 now);

    // --- the message being handled (valid inside processors and filters) ---
    Message &message() { return m_message; }
    const Message &message() const { return m_message; }
    QByteArrayView command() const { return m_message.command(); }
    QByteArrayView header(QByteArrayView name) const { return m_message.header(name); }
    QByteArrayView body() const { return m_message.body(); }
    // The parts of a `multipart` message; empty otherwise.
    const QList<Part> &parts() const { return m_parts; }
    void setParts(QList<Part> parts) { m_parts = std::move(parts); }
    // The current message as it would go on the wire: the received frame itself when nothing
    // edited the message.
    Frame messageFrame() const;
    // Stops the rest of the chain for the current message (built-in headers included).
    void drop() { m_dropped = true; }
    bool isDropped() const { return m_dropped; }

    // --- answering ---
    // Sends an LHTTP message to this connection only.
    void reply(const Message &message);
    // The original's Send(body): a reply with `command` (default: the current command),
    // the given headers, and `body`.
    void reply(QByteArrayView body, QByteArrayView command = {},
               const Message::HeaderList &headers = {});
    void replyError(const Error &error);
    // Sends bytes that already are a whole LHTTP message.
    void sendBytes(const QByteArray &bytes);
    void send(const Frame &frame);

    // --- the connection ---
    QHostAddress peerAddress() const { return m_peerAddress; }
    quint16 peerPort() const;
    QString origin() const;
    QUrl requestUrl() const;
    QDateTime connectedAt() const { return m_connectedAt; }
    void close(QWebSocketProtocol::CloseCode code = QWebSocketProtocol::CloseCodeNormal,
               const QString &reason = {});
    bool isClosing() const { return m_closing; }
    QWebSocket *socket() const { return m_socket; }

    // Per-connection user data (the original had none; users asked for it).
    QVariant value(const QString &key, const QVariant &defaultValue = {}) const;
    void setValue(const QString &key, const QVariant &value);
    void removeValue(const QString &key);

    // The authenticated user (the token's `sub`); empty when the server needs no token.
    QString userId() const;
    const Claims *claims() const { return m_claims.get(); }

    const Stats &stats() const { return m_stats; }
    QList<QByteArray> channels() const { return m_memberships.names(); }
    int channelCount() const { return int(m_memberships.size()); }
    bool isSubscribed(QByteArrayView channel) const { return m_memberships.find(channel); }
    // The hub's record of this session's channels (ChannelHub changes it).
    ChannelHub::Memberships &memberships() { return m_memberships; }

    // Gives the socket's empty read and write buffers back to the heap (see m_plainWire).
    // Only from the event loop, never inside the socket's own calls.
    bool releaseBuffers();
    // Whether the connection may join `joins` presence channels now (--presence-rate); if so
    // they are counted.
    bool admitPresenceJoins(int joins);
    // Writes the frames queued in this pass with one system call (the Flusher calls it).
    void writeQueued();

private:
    void handleIncoming(const QByteArray &bytes, bool text);
    void handlePong();
    bool admitByRate(qint64 now);
    void closeSlowConsumer();
    void dropQueue();
    void noteTraffic() {
        m_buffersUsed = m_plainWire;
        m_quietTicks = 0;
    }
    // releaseBuffers() from the event loop, looked up by id: the session may be gone by then.
    static void releaseBuffersSoon(const Context &context, quint64 id);
    // Queued frames plus what the socket still holds.
    qint64 unsentBytes() const;
    qint64 now() const;

    const Context &m_context;
    QWebSocket *m_socket;
    // The TCP/TLS socket under m_socket, for ready-made frames; may be null. Guarded: QtWebSockets
    // deletes it (deleteLater) once it disconnects, which can run before the owner's queued
    // removal of this session — and a hand-off from another loop, or the Flusher, may reach the
    // session in between.
    QPointer<QTcpSocket> m_wire;
    quint64 m_id;
    QDateTime m_connectedAt;
    QHostAddress m_peerAddress; // kept: the socket forgets it once disconnected
    Message m_message;
    QList<Part> m_parts;
    ChannelHub::Memberships m_memberships;
    std::unique_ptr<QVariantHash> m_values;
    std::unique_ptr<Claims> m_claims;
    Stats m_stats;
    // Times in ms on the node's monotonic clock.
    qint64 m_connectedAtMs = 0;
    qint64 m_lastSeen = 0;        // last frame or pong from the peer
    qint64 m_pingSentAt = 0;      // 0 while no ping is outstanding
    qint64 m_closingSince = 0;    // when we started closing; aborted after closeGraceMs
    TokenBucket m_messageBucket;  // messages per second
    TokenBucket m_presenceBucket; // presence joins per second
    int m_rejected = 0;           // rate-limited messages in a row
    Pipeline::Opened m_opened;
    // Frames sent in this pass, written by writeQueued() (plain TCP wires only: a QSslSocket
    // must encrypt what it is given). The wire bytes are shared with every other receiver.
    std::vector<QByteArray> m_queue;
    qint64 m_queuedBytes = 0;
    int m_flushSlot = -1; // in the Flusher while m_queue is not empty
    // Idle memory: a QTcpSocket keeps its read (16 KiB) and write (32 KiB) ring-buffer chunks
    // once used, also when empty — most of an idle connection's memory. They are released
    // after the handshake and again once the connection has been quiet for two ticks.
    bool m_plainWire = false;    // a plain TCP wire (a QSslSocket has buffers of its own)
    bool m_buffersUsed = false;  // traffic since the buffers were last released
    quint8 m_quietTicks = 0;     // ticks since that traffic
    bool m_incomingText = false; // the message being handled came as a text frame (UTF-8)
    bool m_dropped = false;
    bool m_closing = false;
    bool m_ended = false;
    bool m_validSeen = false; // a valid LHTTP message arrived (idle timeout)
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "broker.h"
#include "messagelimits.h"

#include <QByteArray>
#include <QHostAddress>
#include <QString>
#include <QStringList>
#include <QThread>

#include <algorithm>

namespace lhttp {

// Every tunable of a Server in one place. docs/CONFIG.md lists each with its default, the
// lhttpd-qt flag and the config-file key.
struct ServerOptions {
    static constexpr quint16 DefaultPort = 8081;
    static constexpr int DefaultHandshakeTimeoutMs = 10'000;
    static constexpr int DefaultHttpIdleTimeoutMs = 30'000;
    static constexpr int DefaultMaxChannelsPerConnection = 128;
    static constexpr qsizetype DefaultMaxHttpHeadSize = 16 * 1024;
    static constexpr int DefaultUpstreamTimeoutMs = 5'000;
    static constexpr int DefaultMaxUpstreamInFlight = 1024;
    static constexpr int DefaultUpstreamConnections = 192;
    static constexpr qsizetype DefaultMaxOutgoingBytes = 1024 * 1024;
    static constexpr int DefaultPingIntervalMs = 25'000;
    static constexpr int DefaultPongTimeoutMs = 8'000;
    static constexpr int DefaultIdleTimeoutMs = 60'000;
    static constexpr int DefaultCloseGraceMs = 5'000;
    static constexpr int DefaultAbuseCloseAfter = 50;
    static constexpr int DefaultDrainWindowMs = 5'000;
    static constexpr qint64 DefaultHistoryMemory = 256 * 1024 * 1024;
    static constexpr int DefaultHistoryReadMax = 1000;
    static constexpr int DefaultPresenceInfoMax = 256;
    static constexpr int DefaultPresenceListMax = 1000;
    static constexpr int DefaultPresenceRate = 10;
    static constexpr int DefaultPresenceTimeoutMs = 5'000;

    // Event loops (threads) connections are spread over; each owns its connections. 1 runs the
    // whole node in the Server's thread; 0 means one per CPU core. The default is 1, or the
    // LHTTP_THREADS environment variable when set (how the test suite runs as a matrix).
    static int defaultThreads() {
        bool ok = false;
        const int n = qEnvironmentVariableIntValue("LHTTP_THREADS", &ok);
        return ok && n >= 0 ? n : 1;
    }
    int threads = defaultThreads();
    // The event dispatcher of the loops the Server starts (threads > 1): Epoll, lhttp's own
    // (a pass costs what is ready, not what is open), or Qt's. The Server's own thread keeps
    // whatever the application installed (lhttpd-qt's --event-loop sets both).
    enum class EventLoop { Epoll, Qt };
    EventLoop eventLoop = EventLoop::Epoll;

    QHostAddress address = QHostAddress::Any;
    quint16 port = DefaultPort;
    // A socket already bound and listening to take instead of binding address:port (systemd
    // socket activation, lhttpd-qt.socket); -1: none. The Server's first loop accepts on it.
    qintptr listenDescriptor = -1;
    // WebSocket path; empty accepts every path, as the original did.
    QString path;

    Limits limits;
    // Frames or messages above this close the connection (1009) instead of getting an error
    // reply; 0 means 16 × limits.maxMessageSize. Between the two limits a message is read and
    // answered with 413, so one oversized message costs a client nothing but that message.
    qsizetype hardMessageLimit = 0;
    int maxChannelsPerConnection = DefaultMaxChannelsPerConnection;
    // Let clients subscribe to `*` / `>` wildcard channels.
    bool allowWildcards = false;

    int handshakeTimeoutMs = DefaultHandshakeTimeoutMs;
    int httpIdleTimeoutMs = DefaultHttpIdleTimeoutMs;
    qsizetype maxHttpHeadSize = DefaultMaxHttpHeadSize;
    // Browser origins (scheme://host[:port], compared case-insensitively) allowed to open a
    // WebSocket; empty allows every origin. Requests without an Origin header (non-browser
    // clients) are not affected; sandboxed pages send `null`, which must be listed to pass.
    QStringList allowedOrigins;

    // Slow consumers: a connection with more than this many bytes waiting to be sent is
    // closed with CloseCodeSlowConsumer; 0 disables the check.
    qsizetype maxOutgoingBytes = DefaultMaxOutgoingBytes;
    // Keepalive: ping every connection this often; close it when no pong (or any frame)
    // arrives within pongTimeoutMs. 0 disables pings.
    int pingIntervalMs = DefaultPingIntervalMs;
    int pongTimeoutMs = DefaultPongTimeoutMs;
    // A connection that sends no valid LHTTP message this long after connecting is closed
    // (1008). 0 disables.
    int idleTimeoutMs = DefaultIdleTimeoutMs;
    // After the server closes a connection, the peer has this long to finish the close
    // handshake before the TCP connection is aborted.
    int closeGraceMs = DefaultCloseGraceMs;
    // Connection limits; 0 means unlimited.
    int maxConnections = 0;
    int maxConnectionsPerAddress = 0;
    // Token bucket per connection: messagesPerSecond sustained, rateBurst at once (0: twice
    // the rate). Excess messages get error 429; abuseCloseAfter of them in a row close the
    // connection (1008). messagesPerSecond 0 disables rate limiting.
    double messagesPerSecond = 0;
    int rateBurst = 0;
    int abuseCloseAfter = DefaultAbuseCloseAfter;
    // Connect tokens (HS256 JWT, see Token): when set, every WebSocket needs a valid token
    // (`?token=` or `Authorization: Bearer`) and may only use the channels it grants.
    QByteArray jwtSecret;
    // TLS for wss:// and https:// on the same port: PEM certificate (chain) and key files.
    QString tlsCertFile;
    QString tlsKeyFile;
    // Graceful drain: connections are closed (1001) spread over this window.
    int drainWindowMs = DefaultDrainWindowMs;

    // Admin endpoint: a WebSocket on `adminPath` for the admin console, enabled only when
    // adminToken is set; the token comes as `Authorization: Bearer <token>` or `?token=`.
    QString adminPath = QStringLiteral("/admin");
    QByteArray adminToken;

    // HTTP API (POST /publish): when set, requests need `Authorization: Bearer <key>`.
    QByteArray apiKey;

    // Upstream: URL prefixes a client may name in an `upstream` header; empty refuses all.
    QStringList upstreamAllow;
    int upstreamTimeoutMs = DefaultUpstreamTimeoutMs;
    int maxUpstreamInFlight = DefaultMaxUpstreamInFlight;
    // Parallel HTTP connections for upstream requests (to one backend or several).
    int upstreamConnections = DefaultUpstreamConnections;

    // History namespaces (PROTOCOL.md "History channels"): channels matching a pattern keep
    // their last messages; the first matching pattern applies. Fixed at start.
    QList<HistoryNamespace> history;
    // What the embedded history store may hold, node-wide (bytes; 0: no cap).
    qint64 historyMemory = DefaultHistoryMemory;
    // The most messages one `history` read may ask for.
    int historyReadMax = DefaultHistoryReadMax;

    // Presence namespaces (PROTOCOL.md "Presence channels"): channel patterns whose channels
    // know their subscribers, cluster-wide. Fixed at start.
    QByteArrayList presence;
    // Bytes of `presence-info` a subscriber may send (larger: 413).
    int presenceInfoMax = DefaultPresenceInfoMax;
    // Entries one `presence` read lists at most (the count says how many there are).
    int presenceListMax = DefaultPresenceListMax;
    // Presence joins per second per connection, on average; bursts: effectivePresenceBurst().
    int presenceRate = DefaultPresenceRate;
    // Clustered: a node not heard from for this long is dropped with its entries.
    int presenceTimeoutMs = DefaultPresenceTimeoutMs;
    // This node's name in presence entries and the cluster; empty: `<host name>:<port>`.
    // Unique per cluster (a node that starts with a known name replaces that node's entries).
    QByteArray nodeName;

    // Directory served at `/` for plain GET requests; empty serves the built-in web resources.
    QString staticDir;
    bool serveStatic = true;

    // Loops are bits of a 64-bit mask in the Router.
    static constexpr int MaxThreads = 64;
    int effectiveThreads() const {
        return std::clamp(threads > 0 ? threads : QThread::idealThreadCount(), 1, MaxThreads);
    }
    int effectiveRateBurst() const {
        return rateBurst > 0 ? rateBurst : std::max(1, int(messagesPerSecond * 2));
    }
    // Five seconds' worth of joins, and never fewer than a connection may hold channels: a
    // client re-joining all its rooms after a reconnect is one message that must not be refused.
    int effectivePresenceBurst() const {
        return std::max({1, presenceRate * 5, maxChannelsPerConnection});
    }
    qsizetype effectiveHardMessageLimit() const {
        return hardMessageLimit > 0 ? hardMessageLimit : 16 * limits.maxMessageSize;
    }
};

} // namespace lhttp

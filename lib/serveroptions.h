// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "limits.h"

#include <QByteArray>
#include <QHostAddress>
#include <QString>
#include <QStringList>

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

    QHostAddress address = QHostAddress::Any;
    quint16 port = DefaultPort;
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
    // Browser origins allowed to open a WebSocket; empty allows every origin, `null` included.
    QStringList allowedOrigins;

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

    // Directory served at `/` for plain GET requests; empty serves the built-in web resources.
    QString staticDir;
    bool serveStatic = true;

    qsizetype effectiveHardMessageLimit() const {
        return hardMessageLimit > 0 ? hardMessageLimit : 16 * limits.maxMessageSize;
    }
};

} // namespace lhttp

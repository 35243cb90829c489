// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QHash>

namespace lhttp {

// What a node counts, since it started (the /metrics counters and the admin console's totals).
// One instance per node; each part of the node adds to it through the reference it was given.
struct Counters {
    quint64 messagesIn = 0;
    quint64 bytesIn = 0;
    quint64 messagesOut = 0; // deliveries and replies, one per receiving connection
    quint64 bytesOut = 0;
    quint64 publishes = 0; // (message, channel) pairs published
    quint64 connectionsAccepted = 0;
    quint64 connectionsRefused = 0;       // at the handshake: limits, tokens, origins
    QHash<QByteArray, quint64> refusedBy; // the same, by reason (metrics label)
    quint64 slowConsumers = 0;
    quint64 keepaliveTimeouts = 0;
    quint64 idleTimeouts = 0;
    quint64 rateLimited = 0;
    quint64 socketBuffersReleased = 0; // idle connections' socket buffers given back
    QHash<int, quint64> errors;        // error replies and HTTP error statuses by code

    void countError(int code) { ++errors[code]; }
    void countRefused(const char *reason) {
        ++connectionsRefused;
        ++refusedBy[QByteArray(reason)];
    }
};

} // namespace lhttp

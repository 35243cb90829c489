// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QHash>

#include <array>
#include <atomic>

namespace lhttp {

// A counter one thread writes and any thread reads. A single writer needs no read-modify-write:
// relaxed loads and stores compile to plain moves, so counting costs what an add does, and
// another thread (the /metrics request on another event loop) still reads a whole value.
class Tally {
public:
    Tally() = default;
    Tally(const Tally &) = delete;
    Tally &operator=(const Tally &) = delete;

    void add(quint64 n) {
        m_value.store(m_value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    Tally &operator++() {
        add(1);
        return *this;
    }
    Tally &operator+=(quint64 n) {
        add(n);
        return *this;
    }
    quint64 value() const { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<quint64> m_value{0};
};

// What an event loop of a node counts, since it started. Each loop has its own, written only
// by that loop's thread; values() reads them from anywhere, and the node sums its loops' (the
// /metrics counters and the admin console's totals).
struct Counters {
    // Why WebSocket upgrades were refused: the `reason` label of
    // lhttp_connections_refused_total, named once here.
    static constexpr std::array<const char *, 11> RefusalReasons = {
        "admin_token", "draining", "handshake", "max_connections", "max_connections_per_address",
        "origin",      "path",     "token",     "version",         "tls",
        "other"};
    // Error replies and HTTP error answers are counted by status, 400-599.
    static constexpr int FirstErrorCode = 400;
    static constexpr int ErrorCodes = 200;

    Tally messagesIn;
    Tally bytesIn;
    Tally messagesOut; // deliveries and replies, one per receiving connection
    Tally bytesOut;
    Tally publishes; // (message, channel) pairs published
    Tally connectionsAccepted;
    Tally connectionsRefused; // at the handshake: limits, tokens, origins
    Tally slowConsumers;
    Tally keepaliveTimeouts;
    Tally idleTimeouts;
    Tally rateLimited;
    Tally socketBuffersReleased; // idle connections' socket buffers given back
    std::array<Tally, RefusalReasons.size()> refusedBy;
    std::array<Tally, ErrorCodes> errors;

    void countError(int code) {
        if (code >= FirstErrorCode && code < FirstErrorCode + ErrorCodes)
            ++errors[size_t(code - FirstErrorCode)];
    }
    // `reason` is one of RefusalReasons (others count as "other").
    void countRefused(const char *reason);

    // The counters as plain numbers, to read, add up and show.
    struct Values {
        quint64 messagesIn = 0;
        quint64 bytesIn = 0;
        quint64 messagesOut = 0;
        quint64 bytesOut = 0;
        quint64 publishes = 0;
        quint64 connectionsAccepted = 0;
        quint64 connectionsRefused = 0;
        QHash<QByteArray, quint64> refusedBy; // reasons that occurred
        quint64 slowConsumers = 0;
        quint64 keepaliveTimeouts = 0;
        quint64 idleTimeouts = 0;
        quint64 rateLimited = 0;
        quint64 socketBuffersReleased = 0;
        QHash<int, quint64> errors; // statuses that occurred

        Values &operator+=(const Values &other);
    };
    Values values() const;
};

} // namespace lhttp

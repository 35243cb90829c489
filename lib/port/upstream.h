// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "counters.h"
#include "processor.h"
#include "upstreamstats.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QUrl>

#include <array>
#include <atomic>
#include <vector>

class QNetworkAccessManager;
class QNetworkReply;

namespace lhttp {

class SessionTable;
struct ServerOptions;

// The `upstream:<METHOD> <URL>` header (PROTOCOL.md §3): forwards the message to an HTTP
// backend the operator allowed, asynchronously, bounded by a timeout and a cap on requests in
// flight. Failures reach the sender as `error` replies (403, 429, 502, 504). With
// `upstream-reply:true` the sender also gets the backend's status and body back as an
// `upstream-reply` message. The request outlives the connection safely: answers are matched
// to sessions by id, never by pointer.
class Upstream final : public QObject, public HeaderFilter {
    Q_OBJECT
public:
    using Stats = UpstreamStats;

    // `sessions` finds the sender of each answer by id (it may be gone by then).
    Upstream(const ServerOptions &options, const SessionTable &sessions);
    ~Upstream() override;

    void afterMessage(Session &session) override;

    // From any thread (a node's /metrics adds up every event loop's).
    int inFlight() const { return m_inFlightCount.load(std::memory_order_relaxed); }
    Stats stats() const;
    // Whether `url` starts with one of the allowed prefixes.
    bool isAllowed(const QUrl &url) const;

Q_SIGNALS:
    void idle(); // the last request in flight finished

private:
    // QNetworkAccessManager opens at most 6 connections per host and queues the rest, so
    // requests to one backend would wait on each other. Each lane is one manager; a new lane
    // opens when every lane has 6 requests out, up to the upstreamConnections option.
    static constexpr int ConnectionsPerLane = 6;
    struct Lane {
        QNetworkAccessManager *network;
        int inFlight;
    };
    Lane &pickLane();

    struct Pending {
        quint64 sessionId;
        int lane;
        QByteArray target; // the whole header value (method and URL), echoed in replies
        bool wantReply;
        QElapsedTimer started;
    };
    void finished(QNetworkReply *reply);
    void record(double seconds);

    const ServerOptions &m_options;
    const SessionTable &m_sessions;
    std::vector<Lane> m_lanes;
    QHash<QNetworkReply *, Pending> m_inFlight;
    // Written by this loop's thread only (Tally), read from any.
    struct Live {
        Tally requests;
        Tally refused;
        Tally failed;
        Tally timedOut;
        std::array<Tally, Stats::Buckets.size()> latencyBuckets;
        Tally latencyCount;
        std::atomic<double> latencySum{0};
    };
    Live m_stats;
    std::atomic<int> m_inFlightCount{0};
};

} // namespace lhttp

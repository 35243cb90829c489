// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "loadworker.h"
#include "measure.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <functional>

namespace bench {

// One fan-out run: S subscribers on one channel, P publishers sending M messages each.
struct LoadOptions {
    QUrl subscribeUrl = QUrl(QStringLiteral("ws://127.0.0.1:8081/"));
    // ws://… publishes LHTTP messages over WebSocket; http://…/publish POSTs them. Publishers
    // connect with `?bench=pub` added to a ws:// URL: the reference server does not send to
    // such send-only clients (lhttpd-qt ignores the query).
    QUrl publishUrl = QUrl(QStringLiteral("ws://127.0.0.1:8081/"));
    QByteArray channel = "bench";
    Protocol protocol = Protocol::Lhttp;
    int rooms = 0; // 0: one channel; else rooms of `channel.<n>` (LoadConfig::rooms)
    int subscribers = 100;
    int publishers = 1;
    int messages = 2000; // per publisher; 0: connect and subscribe only (the setup is measured)
    int payload = 64;
    double rate = 0; // messages/s over all publishers; 0: as fast as possible
    WriteCounter::Mode countWrites = WriteCounter::Mode::Auto;
    int threads = 2;
    int httpWindow = 32;
    int connectionsPerSource = 1000; // then the next 127.0.0.x source address
    int connectWindow = 64;          // handshakes in flight, all threads together
    int timeoutSeconds = 120;        // the measured phase, at most
    int stallSeconds = 15;           // give up when nothing arrives for this long
    // When set, the servers' CPU time (summed: a cluster run has two nodes and nats-server)
    // is reported too.
    QList<qint64> serverPids;
    // Shell commands run (and waited for) right before and right after the measured phase,
    // e.g. `callgrind_control -z $PID` / `callgrind_control -d $PID` to profile only it.
    QString onReady;
    QString onDone;
    bool verbose = false;
};

struct LoadResult {
    bool complete = false; // every delivery arrived, in order, with no error
    QString error;         // why the run could not be made at all
    QStringList problems;  // first errors seen
    LoadOptions options;
    quint64 expected = 0;
    quint64 delivered = 0;
    quint64 outOfOrder = 0;
    quint64 errors = 0;
    int closed = 0;
    double seconds = 0;        // start of publishing to the last delivery
    double publishSeconds = 0; // start to the last message written (HTTP: answered)
    double messagesPerSecond = 0;
    double p50Ms = 0, p99Ms = 0, maxMs = 0;
    double setupSeconds = 0;
    double clientCpuSeconds = 0;
    double clientCpuPercent = 0; // of one core, over the measured phase
    double serverCpuSeconds = -1;
    double serverNsPerDelivery = -1;
    double serverCpuPercent = -1; // of one core, over the measured phase
    qint64 writes = -1;           // the server's write system calls in the measured phase
    QString writesSource;         // WriteCounter::source()
    double writesPerDelivery = -1;
    qint64 otherWrites = -1; // perf: writes to descriptors that are not sockets (wake-ups)
    double otherWritesPerDelivery = -1;
    // Setup: from the first connection attempt to every subscriber open, and to every
    // subscriber known subscribed (it received a probe published after its subscribe; once
    // all are open, probe rounds go to the rooms that still have a subscriber without one,
    // each round 100 ms after the last one stopped arriving). With messages == 0 the server's CPU
    // and write calls are counted over that span.
    double connectSeconds = 0;
    double readySeconds = 0;
    double setupServerCpuSeconds = -1;
    qint64 setupWrites = -1;

    QString summary() const;
};

LoadResult runLoad(const LoadOptions &options);

// The highest paced rate a server sustains: doubling from `startRate` (messages/s per
// publisher) while a short paced run passes — every delivery, in order, no connection closed,
// p99 below `p99LimitMs` — then bisecting between the last pass and the first failure.
// Steps reuse the connections; after a step that lost messages or connections, `restart` is
// called (it restarts the server and puts its URLs and pids into the options) and the next
// step sets up anew. Without `restart` the search stops there.
struct RateSearchOptions {
    double startRate = 100;
    double maxRate = 100000;
    int bisections = 4;
    double stepSeconds = 3;
    double p99LimitMs = 50;
};

// The steps of a rate search: the rate to try next, given which steps passed.
class RatePlan {
public:
    explicit RatePlan(const RateSearchOptions &options)
        : m_options(options)
        , m_rate(options.startRate) {}
    double rate() const { return m_rate; }
    // Records the step at rate(); false when the search is over.
    bool record(bool pass);

private:
    RateSearchOptions m_options;
    double m_rate;
    double m_pass = 0; // highest rate that passed
    double m_fail = 0; // lowest rate that failed since
    int m_bisections = 0;
};

struct RateSearchResult {
    bool ok = false; // at least one step passed
    QString error;
    double ratePerPublisher = 0; // the highest that passed
    double deliveriesPerSecond = 0;
    LoadResult best; // the run at that rate
    QStringList steps;
    int setups = 0;

    QString summary() const;
};

using RestartServer = std::function<bool(LoadOptions &, QString *error)>;
RateSearchResult runRateSearch(const LoadOptions &options, const RateSearchOptions &search,
                               const RestartServer &restart = {});

// N idle WebSocket connections and the server's resident memory before and after. Batched
// (default): at most connectWindow handshakes in flight. Burst: after the warm-up, all N start
// their handshake at once, as a mass reconnect after a restart does.
struct IdleOptions {
    QUrl url = QUrl(QStringLiteral("ws://127.0.0.1:8081/"));
    int connections = 10000;
    int warmup = 50; // opened (and kept) before the baseline is read
    bool subscribe = false;
    QByteArray channel = "bench";
    int threads = 2;
    int connectionsPerSource = 1000;
    int connectWindow = 64;
    bool burst = false;
    int settleMs = 1500;  // after the warm-up, and from the last connection open to the reading
    qint64 serverPid = 0; // required
    bool verbose = false;
};

struct IdleResult {
    bool ok = false;
    QString error;
    int connections = 0;
    bool burst = false;
    int settleMs = 0;
    qint64 rssBaselineKiB = 0;
    qint64 rssOpenKiB = 0;  // right when the last connection opened
    qint64 rssAfterKiB = 0; // settleMs later: the figure
    double kibPerConnection = 0;
    double connectSeconds = 0;

    QString summary() const;
};

IdleResult runIdle(const IdleOptions &options);

} // namespace bench

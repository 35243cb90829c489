// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "loadrun.h"

#include "loadworker.h"
#include "measure.h"

#include <QCoreApplication>
#include <QProcess>
#include <QThread>
#include <QUrlQuery>

#include <algorithm>
#include <cstdio>
#include <functional>

namespace bench {

namespace {

constexpr int PollMs = 2;
constexpr int ProbeIntervalMs = 100;
constexpr int QuietMs = 300;

// The worker threads of one run. Workers are created here and deleted in their own thread
// as it finishes.
class WorkerPool {
public:
    WorkerPool(int threads, const LoadConfig &config) {
        for (int i = 0; i < threads; ++i) {
            auto *thread = new QThread;
            thread->setObjectName(QStringLiteral("load-%1").arg(i));
            auto *worker = new LoadWorker(config);
            worker->moveToThread(thread);
            QObject::connect(thread, &QThread::finished, worker, &QObject::deleteLater);
            thread->start();
            m_threads.append(thread);
            m_workers.append(worker);
        }
    }
    ~WorkerPool() {
        for (int i = 0; i < size(); ++i)
            call(i, [](LoadWorker &w) { w.closeAll(); });
        for (QThread *t : std::as_const(m_threads)) {
            t->quit();
            t->wait();
            delete t;
        }
    }
    WorkerPool(const WorkerPool &) = delete;
    WorkerPool &operator=(const WorkerPool &) = delete;

    int size() const { return int(m_workers.size()); }
    LoadWorker &worker(int i) { return *m_workers[i]; }

    void post(int i, std::function<void(LoadWorker &)> f) {
        LoadWorker *w = m_workers[i];
        QMetaObject::invokeMethod(
            w, [w, f] { f(*w); }, Qt::QueuedConnection);
    }
    void call(int i, std::function<void(LoadWorker &)> f) {
        LoadWorker *w = m_workers[i];
        QMetaObject::invokeMethod(
            w, [w, f] { f(*w); }, Qt::BlockingQueuedConnection);
    }
    template <typename T> T sum(std::atomic<T> WorkerCounters::*counter) {
        T total = 0;
        for (LoadWorker *w : std::as_const(m_workers))
            total += (w->counters().*counter).load(std::memory_order_relaxed);
        return total;
    }
    qint64 max(std::atomic<qint64> WorkerCounters::*counter) {
        qint64 m = 0;
        for (LoadWorker *w : std::as_const(m_workers))
            m = qMax(m, (w->counters().*counter).load(std::memory_order_relaxed));
        return m;
    }
    QStringList errors() {
        QStringList all;
        for (LoadWorker *w : std::as_const(m_workers))
            all += w->takeErrors();
        return all;
    }

private:
    QList<QThread *> m_threads;
    QList<LoadWorker *> m_workers;
};

// Polls `done` until it holds or `timeoutMs` passes; the calling thread keeps processing its
// events (QProcess, timers) meanwhile.
bool waitUntil(const std::function<bool()> &done, qint64 timeoutMs) {
    const qint64 deadline = nowNs() + timeoutMs * 1'000'000;
    while (!done()) {
        if (nowNs() > deadline)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, PollMs);
        QThread::msleep(PollMs);
    }
    return true;
}

// Source addresses for loopback targets: 127.0.0.2, .3, … a new one every `perSource`
// connections, so tens of thousands of connections never run out of ephemeral ports.
class SourcePlan {
public:
    SourcePlan(const QUrl &target, int perSource)
        : m_perSource(qMax(1, perSource)) {
        const QString host = target.host();
        m_loopback = host == u"localhost" || QHostAddress(host).isLoopback();
        m_loopback = m_loopback && QHostAddress(host).protocol() != QAbstractSocket::IPv6Protocol;
    }
    QHostAddress next() {
        if (!m_loopback)
            return {};
        const int n = m_count++ / m_perSource;
        return QHostAddress(QStringLiteral("127.0.0.%1").arg(2 + n % 253));
    }

private:
    int m_perSource;
    int m_count = 0;
    bool m_loopback = false;
};

QList<QList<LoadWorker::Endpoint>> spread(int count, int threads, SourcePlan &sources) {
    QList<QList<LoadWorker::Endpoint>> out(threads);
    for (int i = 0; i < count; ++i)
        out[i % threads].append(LoadWorker::Endpoint{i, sources.next()});
    return out;
}

// Opens `count` connections and waits for them; false (with `error`) when some fail.
bool openAll(WorkerPool &pool, int count, int already, QString *error,
             void (LoadWorker::*open)(const QList<LoadWorker::Endpoint> &), SourcePlan &sources) {
    const auto shares = spread(count, pool.size(), sources);
    for (int i = 0; i < pool.size(); ++i) {
        const auto share = shares[i];
        pool.post(i, [share, open](LoadWorker &w) { (w.*open)(share); });
    }
    const int target = already + count;
    const bool settled = waitUntil(
        [&] {
            return pool.sum(&WorkerCounters::opened) + pool.sum(&WorkerCounters::failed) >= target;
        },
        30'000 + qint64(count) * 20);
    const int failed = pool.sum(&WorkerCounters::failed);
    if (settled && failed == 0)
        return true;
    *error = QStringLiteral("%1 of %2 connections failed or timed out; first errors: %3")
                 .arg(settled ? failed : target - pool.sum(&WorkerCounters::opened))
                 .arg(target)
                 .arg(pool.errors().join(QStringLiteral("; ")));
    return false;
}

// Runs a --on-ready / --on-done hook through the shell; false if it failed.
bool runHook(const QString &command, QString *error) {
    if (command.isEmpty())
        return true;
    const int code = QProcess::execute(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command});
    if (code == 0)
        return true;
    *error = QStringLiteral("hook '%1' exited with %2").arg(command).arg(code);
    return false;
}

// CPU seconds of all the server processes together; -1 when there are none or one cannot be
// read.
double serversCpuSeconds(const QList<qint64> &pids) {
    if (pids.isEmpty())
        return -1;
    double total = 0;
    for (qint64 pid : pids) {
        const double s = processCpuSeconds(pid);
        if (s < 0)
            return -1;
        total += s;
    }
    return total;
}

QString ms(double v) {
    return QString::number(v, 'f', v < 10 ? 2 : 1) + QStringLiteral(" ms");
}

// The expected deliveries of a phase: each message reaches its room's members.
quint64 expectedDeliveries(const LoadConfig &config, int subscribers, int messages) {
    std::vector<quint64> members(size_t(config.roomCount()), 0);
    for (int i = 0; i < subscribers; ++i)
        ++members[size_t(config.roomOfSubscriber(i))];
    quint64 total = 0;
    for (int p = 0; p < config.publishers; ++p) {
        for (int k = 0; k < messages; ++k)
            total += members[size_t(config.roomOfMessage(p, k))];
    }
    return total;
}

// The connections of one run, set up once and driven through one or more measured phases.
class LoadSession {
public:
    explicit LoadSession(const LoadOptions &o)
        : m_options(o) {
        LoadConfig &c = m_config;
        c.subscribeUrl = o.subscribeUrl;
        c.publishUrl = o.publishUrl;
        if (!c.publishesOverHttp()) {
            QUrlQuery query(c.publishUrl);
            query.addQueryItem(QStringLiteral("bench"), QStringLiteral("pub"));
            c.publishUrl.setQuery(query);
        }
        c.channel = o.channel;
        c.protocol = o.protocol;
        c.rooms = o.rooms;
        c.payload = o.payload;
        c.publishers = o.publishers;
        c.httpWindow = qMax(1, o.httpWindow);
        m_threads = qBound(1, o.threads, 64);
        c.connectWindow = qMax(1, o.connectWindow / m_threads);
    }

    const LoadConfig &config() const { return m_config; }

    // Opens every connection and waits until each subscriber is subscribed; fills the setup
    // figures of `r` (and r.error on failure).
    bool setup(LoadResult &r) {
        const LoadOptions &o = m_options;
        const bool measured = o.messages == 0;
        WriteCounter writes;
        if (measured)
            writes.start(o.countWrites, o.serverPids);
        const double serverStart = serversCpuSeconds(o.serverPids);
        const qint64 setupStart = nowNs();
        m_pool = std::make_unique<WorkerPool>(m_threads, m_config);
        WorkerPool &pool = *m_pool;
        SourcePlan sources(o.subscribeUrl, o.connectionsPerSource);
        if (!openAll(pool, o.subscribers, 0, &r.error, &LoadWorker::openSubscribers, sources))
            return false;
        r.connectSeconds = double(nowNs() - setupStart) / 1e9;
        SourcePlan publisherSources(o.publishUrl, o.connectionsPerSource);
        for (int i = 0; i < o.subscribers; ++i) // publishers take the next source addresses
            publisherSources.next();
        if (!openAll(pool, o.publishers, o.subscribers, &r.error, &LoadWorker::openPublishers,
                     publisherSources))
            return false;

        // Every subscriber is known to be subscribed once a probe published after its
        // subscribe has reached it. A probe round goes to the rooms that still have a
        // subscriber without one, and only once the last round has stopped arriving (no new
        // subscriber ready for ProbeIntervalMs): a slow server is not buried in probes, and
        // the probes cost about one delivery per subscriber.
        int probe = 0;
        int readySeen = -1;
        qint64 readyChanged = 0;
        const bool ready = waitUntil(
            [&] {
                const int now = pool.sum(&WorkerCounters::ready);
                if (now >= o.subscribers)
                    return true;
                if (now != readySeen) {
                    readySeen = now;
                    readyChanged = nowNs();
                    if (probe > 0)
                        return false;
                }
                if (probe > 0 && nowNs() - readyChanged < qint64(ProbeIntervalMs) * 1'000'000)
                    return false;
                QList<int> rooms;
                for (int i = 0; i < pool.size(); ++i) {
                    pool.call(i, [&rooms](LoadWorker &w) { rooms += w.unreadyRooms(); });
                }
                std::sort(rooms.begin(), rooms.end());
                rooms.erase(std::unique(rooms.begin(), rooms.end()), rooms.end());
                pool.post(0, [n = ++probe, rooms](LoadWorker &w) { w.sendProbe(n, rooms); });
                readyChanged = nowNs();
                return false;
            },
            60'000 + qint64(o.subscribers) * 20);
        if (!ready) {
            r.error =
                QStringLiteral("only %1 of %2 subscribers received a probe message; errors: %3")
                    .arg(pool.sum(&WorkerCounters::ready))
                    .arg(o.subscribers)
                    .arg(pool.errors().join(QStringLiteral("; ")));
            return false;
        }
        r.readySeconds = double(nowNs() - setupStart) / 1e9;
        const double serverEnd = serversCpuSeconds(o.serverPids);
        if (serverStart >= 0 && serverEnd >= 0)
            r.setupServerCpuSeconds = serverEnd - serverStart;
        if (measured) {
            r.setupWrites = writes.stop();
            r.writesSource = writes.source();
        }
        // Then wait for setup traffic (the reference echoes subscribe messages, probes still
        // on their way) to die down.
        waitQuiet();
        r.setupSeconds = double(nowNs() - setupStart) / 1e9;
        if (pool.sum(&WorkerCounters::errors) > 0) {
            r.error =
                QStringLiteral("errors during setup: ") + pool.errors().join(QStringLiteral("; "));
            return false;
        }
        return true;
    }

    void waitQuiet() {
        WorkerPool &pool = *m_pool;
        quint64 seen = pool.sum(&WorkerCounters::nonData) + pool.sum(&WorkerCounters::delivered);
        qint64 quietSince = nowNs();
        waitUntil(
            [&] {
                const quint64 now =
                    pool.sum(&WorkerCounters::nonData) + pool.sum(&WorkerCounters::delivered);
                if (now != seen) {
                    seen = now;
                    quietSince = nowNs();
                }
                return nowNs() - quietSince > qint64(QuietMs) * 1'000'000;
            },
            60'000);
    }

    // One measured phase: `messages` per publisher at `rate` in all (0: as fast as possible).
    void phase(LoadResult &r, int messages, double rate) {
        const LoadOptions &o = m_options;
        WorkerPool &pool = *m_pool;
        if (!runHook(o.onReady, &r.error))
            return;
        r.expected = expectedDeliveries(m_config, o.subscribers, messages);
        const double perPublisher = rate > 0 ? rate / o.publishers : 0;
        for (int i = 0; i < pool.size(); ++i) {
            pool.call(i, [&](LoadWorker &w) {
                w.preparePhase(messages, perPublisher, r.expected / quint64(pool.size()));
            });
        }
        WriteCounter writes;
        writes.start(o.countWrites, o.serverPids);
        const int closedBefore = pool.sum(&WorkerCounters::closed);
        const double cpuStart = selfCpuSeconds();
        const double serverStart = serversCpuSeconds(o.serverPids);
        const qint64 t0 = nowNs();
        for (int i = 0; i < pool.size(); ++i)
            pool.post(i, [t0](LoadWorker &w) { w.start(t0); });
        quint64 progress = 0;
        qint64 progressAt = t0;
        waitUntil(
            [&] {
                const quint64 delivered = pool.sum(&WorkerCounters::delivered);
                const quint64 now = delivered + pool.sum(&WorkerCounters::published);
                if (now != progress) {
                    progress = now;
                    progressAt = nowNs();
                }
                if (delivered >= r.expected &&
                    pool.sum(&WorkerCounters::publishersDone) >= o.publishers)
                    return true;
                return nowNs() - progressAt > qint64(o.stallSeconds) * 1'000'000'000;
            },
            qint64(o.timeoutSeconds) * 1000);
        const qint64 tEnd = nowNs();
        const double cpuEnd = selfCpuSeconds();
        const double serverEnd = serversCpuSeconds(o.serverPids);
        r.writes = writes.stop();
        r.writesSource = writes.source();
        r.otherWrites = writes.otherWrites();
        QString hookError;
        if (!runHook(o.onDone, &hookError))
            r.problems.append(hookError);

        std::vector<qint64> latencies;
        latencies.reserve(size_t(r.expected));
        for (int i = 0; i < pool.size(); ++i) {
            pool.call(i, [&latencies](LoadWorker &w) {
                std::vector<qint64> mine = w.takeLatencies();
                latencies.insert(latencies.end(), mine.begin(), mine.end());
            });
        }
        r.delivered = pool.sum(&WorkerCounters::delivered);
        r.outOfOrder = pool.sum(&WorkerCounters::outOfOrder);
        r.errors = pool.sum(&WorkerCounters::errors);
        r.closed = pool.sum(&WorkerCounters::closed) - closedBefore;
        r.problems += pool.errors();
        const qint64 last = pool.max(&WorkerCounters::lastDeliveryNs);
        r.seconds = last > t0 ? double(last - t0) / 1e9 : double(tEnd - t0) / 1e9;
        const qint64 published = pool.max(&WorkerCounters::publishDoneNs);
        r.publishSeconds = published > t0 ? double(published - t0) / 1e9 : double(tEnd - t0) / 1e9;
        r.messagesPerSecond = r.seconds > 0 ? double(r.delivered) / r.seconds : 0;
        r.p50Ms = double(percentile(latencies, 50)) / 1e6;
        r.p99Ms = double(percentile(latencies, 99)) / 1e6;
        r.maxMs = double(percentile(latencies, 100)) / 1e6;
        const double wall = double(tEnd - t0) / 1e9;
        r.clientCpuSeconds = cpuEnd - cpuStart;
        r.clientCpuPercent = 100.0 * r.clientCpuSeconds / wall;
        if (serverStart >= 0 && serverEnd >= 0) {
            r.serverCpuSeconds = serverEnd - serverStart;
            r.serverCpuPercent = 100.0 * r.serverCpuSeconds / wall;
            if (r.delivered)
                r.serverNsPerDelivery = r.serverCpuSeconds * 1e9 / double(r.delivered);
        }
        if (r.writes >= 0 && r.delivered)
            r.writesPerDelivery = double(r.writes) / double(r.delivered);
        if (r.otherWrites >= 0 && r.delivered)
            r.otherWritesPerDelivery = double(r.otherWrites) / double(r.delivered);
        r.complete = r.delivered == r.expected && r.outOfOrder == 0 && r.errors == 0;
        if (r.delivered < r.expected)
            r.problems.prepend(QStringLiteral("%1 of %2 deliveries missing")
                                   .arg(r.expected - r.delivered)
                                   .arg(r.expected));
        if (r.delivered > r.expected)
            r.problems.prepend(
                QStringLiteral("%1 deliveries more than expected").arg(r.delivered - r.expected));
        if (r.outOfOrder)
            r.problems.prepend(
                QStringLiteral("%1 deliveries out of order or repeated").arg(r.outOfOrder));
        if (r.closed)
            r.problems.prepend(QStringLiteral("the server closed %1 connections").arg(r.closed));
    }

private:
    LoadOptions m_options;
    LoadConfig m_config;
    int m_threads = 1;
    std::unique_ptr<WorkerPool> m_pool;
};

} // namespace

LoadResult runLoad(const LoadOptions &options) {
    LoadResult r;
    r.options = options;
    const LoadOptions &o = options;
    if (o.subscribers < 1 || o.publishers < 1 || o.messages < 0) {
        r.error = QStringLiteral("need at least one subscriber and one publisher");
        return r;
    }
    if (o.payload < LoadWorker::MinPayload)
        r.problems.append(QStringLiteral("payload raised to %1 bytes (the stamp's size)")
                              .arg(LoadWorker::MinPayload));
    LoadSession session(o);
    if (!session.setup(r))
        return r;
    if (o.messages == 0) {
        r.complete = true;
        return r;
    }
    session.phase(r, o.messages, o.rate);
    return r;
}

RateSearchResult runRateSearch(const LoadOptions &options, const RateSearchOptions &search,
                               const RestartServer &restart) {
    RateSearchResult result;
    LoadOptions o = options;
    std::unique_ptr<LoadSession> session;
    RatePlan plan(search);
    while (true) {
        const double rate = plan.rate();
        if (!session) {
            if (result.setups > 0 && !restart) {
                result.error = QStringLiteral("a step broke the connections and there is no "
                                              "way to restart the server");
                break;
            }
            if (restart && !restart(o, &result.error))
                break;
            session = std::make_unique<LoadSession>(o);
            LoadResult setup;
            setup.options = o;
            ++result.setups;
            if (!session->setup(setup)) {
                result.error = setup.error;
                break;
            }
        }
        const int messages = qMax(20, int(std::lround(rate * search.stepSeconds)));
        LoadResult r;
        r.options = o;
        r.options.messages = messages;
        r.options.rate = rate * o.publishers;
        session->phase(r, messages, rate * o.publishers);
        const bool ok =
            r.error.isEmpty() && r.complete && r.closed == 0 && r.p99Ms < search.p99LimitMs;
        result.steps.append(
            QStringLiteral("%1 msg/s per publisher: %2 (%3 deliveries/s, p99 %4 ms, server "
                           "%5 ns/delivery%6)")
                .arg(rate, 0, 'f', 0)
                .arg(ok ? QStringLiteral("pass") : QStringLiteral("FAIL"))
                .arg(r.messagesPerSecond, 0, 'f', 0)
                .arg(r.p99Ms, 0, 'f', 1)
                .arg(r.serverNsPerDelivery, 0, 'f', 0)
                .arg(r.problems.isEmpty() ? QString() : QStringLiteral("; ") + r.problems.first()));
        if (!r.complete || r.closed > 0 || !r.error.isEmpty())
            session.reset(); // late deliveries or broken connections: start afresh
        else
            session->waitQuiet();
        if (ok) {
            result.ok = true;
            result.ratePerPublisher = rate;
            result.deliveriesPerSecond = double(r.expected) / (messages / rate);
            result.best = r;
        }
        if (!plan.record(ok))
            break;
    }
    return result;
}

bool RatePlan::record(bool pass) {
    (pass ? m_pass : m_fail) = m_rate;
    if (m_fail == 0) {
        if (m_rate * 2 > m_options.maxRate)
            return false;
        m_rate *= 2;
    } else if (m_pass == 0) {
        m_rate /= 2; // even the first step failed: look lower
        if (m_rate < 1 || m_rate < m_options.startRate / 64)
            return false;
    } else {
        if (m_bisections++ >= m_options.bisections)
            return false;
        m_rate = std::round((m_pass + m_fail) / 2);
        if (m_rate <= m_pass || m_rate >= m_fail)
            return false;
    }
    return true;
}

QString RateSearchResult::summary() const {
    QString s = QStringLiteral("rate search: ");
    if (!ok)
        s += QStringLiteral("no rate passed");
    else
        s += QStringLiteral("%1 msg/s per publisher sustained (%2 deliveries/s), %3 setups")
                 .arg(ratePerPublisher, 0, 'f', 0)
                 .arg(deliveriesPerSecond, 0, 'f', 0)
                 .arg(setups);
    if (!error.isEmpty())
        s += QStringLiteral("; error: ") + error;
    for (const QString &step : steps)
        s += QStringLiteral("\n  ") + step;
    return s;
}

QString LoadResult::summary() const {
    if (!error.isEmpty())
        return QStringLiteral("FAILED: ") + error;
    const LoadOptions &o = options;
    QString s;
    const QString layout = o.rooms > 0 ? QStringLiteral(" in %1 rooms").arg(o.rooms) : QString();
    const QString protocol = o.protocol == Protocol::Nats ? QStringLiteral(" (NATS)") : QString();
    if (o.messages == 0) {
        s += QStringLiteral("connect: %1 subscribers%2%3 open in %4 s, all subscribed in %5 s")
                 .arg(o.subscribers)
                 .arg(layout, protocol)
                 .arg(connectSeconds, 0, 'f', 2)
                 .arg(readySeconds, 0, 'f', 2);
        if (setupServerCpuSeconds >= 0)
            s += QStringLiteral("\nserver cpu: %1 s (%2 us per connection)")
                     .arg(setupServerCpuSeconds, 0, 'f', 2)
                     .arg(setupServerCpuSeconds * 1e6 / o.subscribers, 0, 'f', 0);
        s +=
            QStringLiteral("   write calls: %1 (%2 per connection, %3)")
                .arg(setupWrites)
                .arg(setupWrites >= 0 ? QString::number(double(setupWrites) / o.subscribers, 'f', 1)
                                      : QStringLiteral("n/a"),
                     writesSource);
        for (const QString &p : problems)
            s += QStringLiteral("\n  problem: ") + p;
        return s;
    }
    s += QStringLiteral("load: %1 subscribers%2 x %3 publishers x %4 messages of %5 bytes, %6, "
                        "publish via %7%8\n")
             .arg(o.subscribers)
             .arg(layout)
             .arg(o.publishers)
             .arg(o.messages)
             .arg(qMax(o.payload, int(LoadWorker::MinPayload)))
             .arg(o.rate > 0 ? QStringLiteral("%1 msg/s").arg(o.rate)
                             : QStringLiteral("as fast as possible"))
             .arg(o.publishUrl.scheme().startsWith(u"http") ? QStringLiteral("HTTP POST")
                                                            : QStringLiteral("WebSocket"),
                  protocol);
    s += QStringLiteral("delivered: %1 of %2 in %3 s = %4 msg/s%5\n")
             .arg(delivered)
             .arg(expected)
             .arg(seconds, 0, 'f', 3)
             .arg(messagesPerSecond, 0, 'f', 0)
             .arg(complete ? QString() : QStringLiteral("  INCOMPLETE"));
    s += QStringLiteral("publish time: %1 s   latency p50 %2  p99 %3  max %4%5\n")
             .arg(publishSeconds, 0, 'f', 3)
             .arg(ms(p50Ms), ms(p99Ms), ms(maxMs))
             .arg(o.rate > 0 ? QStringLiteral(" (from the scheduled send time)") : QString());
    s += QStringLiteral("client cpu: %1 s (%2% of one core, %3 threads)")
             .arg(clientCpuSeconds, 0, 'f', 2)
             .arg(clientCpuPercent, 0, 'f', 0)
             .arg(o.threads);
    if (serverCpuSeconds >= 0)
        s += QStringLiteral("   server cpu: %1 s (%2 ns per delivery, %3% of one core)")
                 .arg(serverCpuSeconds, 0, 'f', 2)
                 .arg(serverNsPerDelivery, 0, 'f', 0)
                 .arg(serverCpuPercent, 0, 'f', 1);
    if (!o.serverPids.isEmpty())
        s += QStringLiteral("\nserver write calls to sockets: %1 = %2 per delivery (%3); to "
                            "other descriptors (event-loop wake-ups): %4 per delivery")
                 .arg(writes)
                 .arg(writesPerDelivery >= 0 ? QString::number(writesPerDelivery, 'f', 3)
                                             : QStringLiteral("n/a"),
                      writesSource,
                      otherWritesPerDelivery >= 0 ? QString::number(otherWritesPerDelivery, 'f', 3)
                                                  : QStringLiteral("n/a"));
    s += QStringLiteral("\nsetup: %1 s").arg(setupSeconds, 0, 'f', 2);
    for (const QString &p : problems)
        s += QStringLiteral("\n  problem: ") + p;
    return s;
}

IdleResult runIdle(const IdleOptions &o) {
    IdleResult r;
    if (o.serverPid <= 0) {
        r.error = QStringLiteral("the server's process id is needed to read its memory");
        return r;
    }
    LoadConfig config;
    config.subscribeUrl = o.url;
    config.channel = o.channel;
    config.subscribe = o.subscribe;
    const int threads = qBound(1, o.threads, 64);
    config.connectWindow = qMax(1, o.connectWindow / threads);
    WorkerPool pool(threads, config);
    SourcePlan sources(o.url, o.connectionsPerSource);
    if (!openAll(pool, o.warmup, 0, &r.error, &LoadWorker::openSubscribers, sources))
        return r;
    QThread::msleep(ulong(o.settleMs));
    r.rssBaselineKiB = processRssKiB(o.serverPid);
    r.burst = o.burst;
    r.settleMs = o.settleMs;
    if (o.burst) {
        // Every connection of a thread's share starts its handshake in the same pass.
        const int share = (o.connections + threads - 1) / threads;
        for (int i = 0; i < pool.size(); ++i)
            pool.call(i, [share](LoadWorker &w) { w.setConnectWindow(share); });
    }
    const qint64 start = nowNs();
    if (!openAll(pool, o.connections, o.warmup, &r.error, &LoadWorker::openSubscribers, sources))
        return r;
    r.connectSeconds = double(nowNs() - start) / 1e9;
    r.rssOpenKiB = processRssKiB(o.serverPid);
    QThread::msleep(ulong(o.settleMs));
    r.rssAfterKiB = processRssKiB(o.serverPid);
    if (r.rssBaselineKiB < 0 || r.rssAfterKiB < 0) {
        r.error = QStringLiteral("cannot read /proc/%1/status").arg(o.serverPid);
        return r;
    }
    if (pool.sum(&WorkerCounters::closed) > 0) {
        r.error = QStringLiteral("the server closed idle connections: ") +
                  pool.errors().join(QStringLiteral("; "));
        return r;
    }
    r.connections = o.connections;
    r.kibPerConnection = double(r.rssAfterKiB - r.rssBaselineKiB) / double(o.connections);
    r.ok = true;
    return r;
}

QString IdleResult::summary() const {
    if (!ok)
        return QStringLiteral("FAILED: ") + error;
    return QStringLiteral("idle%1: %2 connections opened in %3 s; server RSS %4 -> %5 KiB "
                          "(%6 when open) = %7 KiB per connection %8 s later")
        .arg(burst ? QStringLiteral(" burst") : QString())
        .arg(connections)
        .arg(connectSeconds, 0, 'f', 2)
        .arg(rssBaselineKiB)
        .arg(rssAfterKiB)
        .arg(rssOpenKiB)
        .arg(kibPerConnection, 0, 'f', 2)
        .arg(settleMs / 1000.0, 0, 'f', 1);
}

} // namespace bench

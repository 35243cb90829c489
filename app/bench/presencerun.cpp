// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "presencerun.h"

#include "measure.h"
#include "serverprocess.h"
#include "wsconnection.h"

#include <QCoreApplication>
#include <QFile>
#include <QHostAddress>
#include <QMap>
#include <QMutex>
#include <QThread>
#include <QUrl>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace bench {

namespace {

constexpr QByteArrayView ErrorReply = "LHTTP/1.0 error\r\n";

bool waitUntil(const std::function<bool()> &done, qint64 timeoutMs) {
    const qint64 deadline = nowNs() + timeoutMs * 1'000'000;
    while (!done()) {
        if (nowNs() > deadline)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 2);
        QThread::msleep(1);
    }
    return true;
}

// rchar + wchar of /proc/PID/io: a nats-server's socket traffic, both directions (it does no
// other I/O for core NATS); -1 when unreadable.
qint64 ioBytes(qint64 pid) {
    QFile f(QStringLiteral("/proc/%1/io").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    qint64 sum = 0;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith("rchar:") || line.startsWith("wchar:"))
            sum += line.mid(6).trimmed().toLongLong();
    }
    return sum;
}

QByteArray roomName(int room) {
    return "room." + QByteArray::number(room);
}

// The clients of one thread: each connects, subscribes, pings; the pong marks it subscribed.
class Worker : public QObject, public WsConnection::Handler {
public:
    struct Client {
        QUrl url;
        QHostAddress source;
        QByteArray channel;
    };

    Worker(QByteArray info, int window)
        : m_info(std::move(info))
        , m_window(qMax(1, window)) {}

    std::atomic<int> opened{0};
    std::atomic<int> failed{0};
    std::atomic<int> ready{0};
    std::atomic<int> closed{0};
    std::atomic<int> errors{0};

    void add(const QList<Client> &clients) {
        m_pending += clients;
        openNext();
    }
    void closeAll() {
        for (auto &c : m_connections)
            c->abort();
        m_connections.clear();
    }
    QStringList takeProblems() {
        QMutexLocker lock(&m_lock);
        return std::exchange(m_problems, {});
    }

    void wsOpened(WsConnection *c) override {
        const QByteArray &channel = m_channels[size_t(c->index())];
        QByteArray message = "LHTTP/1.0 join\r\nsubscribe:" + channel + "\r\n";
        if (!m_info.isEmpty() && channel != "warm")
            message += "presence-info:" + m_info + "\r\n";
        message += "\r\n";
        QByteArray frames;
        c->appendFrame(frames, message);
        c->appendFrame(frames, "s", 0x9);
        c->write(frames);
        opened.fetch_add(1, std::memory_order_relaxed);
        --m_inFlight;
        openNext();
    }
    void wsFailed(WsConnection *, const QString &why) override {
        failed.fetch_add(1, std::memory_order_relaxed);
        note(QStringLiteral("connect: ") + why);
        --m_inFlight;
        openNext();
    }
    void wsMessage(WsConnection *, QByteArrayView message, qint64) override {
        if (message.startsWith(ErrorReply)) {
            errors.fetch_add(1, std::memory_order_relaxed);
            note(QString::fromUtf8(message.first(qMin<qsizetype>(message.size(), 160)))
                     .replace(QStringLiteral("\r\n"), QStringLiteral(" | ")));
        }
    }
    void wsClosed(WsConnection *) override {
        closed.fetch_add(1, std::memory_order_relaxed);
        note(QStringLiteral("the server closed a connection"));
    }
    void wsPong(WsConnection *, QByteArrayView) override {
        ready.fetch_add(1, std::memory_order_relaxed);
    }

private:
    void openNext() {
        while (m_inFlight < m_window && m_next < m_pending.size()) {
            const Client &c = m_pending[m_next++];
            const int index = int(m_connections.size());
            m_channels.push_back(c.channel);
            m_connections.push_back(std::make_unique<WsConnection>(this, 0, index));
            ++m_inFlight;
            m_connections.back()->open(c.url, c.source);
        }
    }
    void note(const QString &problem) {
        QMutexLocker lock(&m_lock);
        if (m_problems.size() < 5)
            m_problems.append(problem);
    }

    QByteArray m_info;
    int m_window;
    QList<Client> m_pending;
    qsizetype m_next = 0;
    int m_inFlight = 0;
    std::vector<std::unique_ptr<WsConnection>> m_connections;
    std::vector<QByteArray> m_channels;
    QMutex m_lock;
    QStringList m_problems;
};

class Pool {
public:
    Pool(int threads, const QByteArray &info, int window) {
        for (int i = 0; i < threads; ++i) {
            auto *thread = new QThread;
            auto *worker = new Worker(info, window / threads);
            worker->moveToThread(thread);
            QObject::connect(thread, &QThread::finished, worker, &QObject::deleteLater);
            thread->start();
            m_threads.append(thread);
            m_workers.append(worker);
        }
    }
    ~Pool() {
        for (Worker *w : std::as_const(m_workers))
            QMetaObject::invokeMethod(
                w, [w] { w->closeAll(); }, Qt::BlockingQueuedConnection);
        for (QThread *t : std::as_const(m_threads)) {
            t->quit();
            t->wait();
            delete t;
        }
    }
    Pool(const Pool &) = delete;
    Pool &operator=(const Pool &) = delete;

    void add(const QList<Worker::Client> &clients) {
        QList<QList<Worker::Client>> shares(m_workers.size());
        for (qsizetype i = 0; i < clients.size(); ++i)
            shares[i % m_workers.size()].append(clients[i]);
        for (qsizetype i = 0; i < m_workers.size(); ++i) {
            Worker *w = m_workers[i];
            const auto share = shares[i];
            QMetaObject::invokeMethod(
                w, [w, share] { w->add(share); }, Qt::QueuedConnection);
        }
    }
    int sum(std::atomic<int> Worker::*counter) const {
        int total = 0;
        for (Worker *w : m_workers)
            total += (w->*counter).load(std::memory_order_relaxed);
        return total;
    }
    QStringList problems() {
        QStringList all;
        for (Worker *w : std::as_const(m_workers))
            all += w->takeProblems();
        return all;
    }

private:
    QList<QThread *> m_threads;
    QList<Worker *> m_workers;
};

// The watcher (counts join/leave events) and the stats readers, on the main thread.
class Control : public WsConnection::Handler {
public:
    int joins = 0;
    int leaves = 0;
    int errors = 0;
    int pongs = 0;
    QStringList problems;
    // reader index -> channel -> connections
    QMap<int, QMap<QByteArray, qint64>> stats;
    int statReplies = 0;

    void wsOpened(WsConnection *) override { ++opened; }
    void wsFailed(WsConnection *, const QString &why) override {
        problems.append(QStringLiteral("control connection: ") + why);
        ++failed;
    }
    void wsMessage(WsConnection *c, QByteArrayView m, qint64) override {
        if (m.startsWith("LHTTP/1.0 presence\r\njoin:")) {
            ++joins;
        } else if (m.startsWith("LHTTP/1.0 presence\r\nleave:")) {
            ++leaves;
        } else if (m.startsWith(ErrorReply)) {
            ++errors;
            if (problems.size() < 5)
                problems.append(QString::fromUtf8(m.first(qMin<qsizetype>(m.size(), 160)))
                                    .replace(QStringLiteral("\r\n"), QStringLiteral(" | ")));
        } else {
            const qsizetype at = m.indexOf("\r\npresence-stats:");
            if (at < 0)
                return;
            const qsizetype start = at + 17;
            const qsizetype end = m.indexOf("\r\n", start);
            const QList<QByteArray> f =
                m.sliced(start, (end < 0 ? m.size() : end) - start).toByteArray().split(' ');
            if (f.size() >= 2) {
                stats[c->index()][f[0]] = f[1].toLongLong();
                ++statReplies;
            }
        }
    }
    void wsClosed(WsConnection *) override { problems.append(QStringLiteral("control closed")); }
    void wsPong(WsConnection *, QByteArrayView) override { ++pongs; }

    int opened = 0;
    int failed = 0;
};

struct Leg {
    bool ok = false;
    QString error;
    QString label;
    double pongSeconds = -1;  // first connection to the last pong
    double joinSeconds = -1;  // presence: to the watcher's N-th join event
    double statsSeconds = -1; // cluster: to presence-stats saying N + R on both nodes
    double kibPerClient = -1;
    double serverUsPerClient = -1;
    int joins = -1;
    qint64 statsTotal = -1; // summed over rooms, on node A (every node in a cluster)
    int errors = 0;
    int closed = 0;
    double natsBytes = -1;         // cluster: nats-server traffic while the clients joined
    double natsIdleBytesPerS = -1; // cluster: nats-server traffic over the settle, per second
};

QStringList presenceArgs(const PresenceOptions &o, int rooms) {
    QStringList a{QStringLiteral("--presence"), QString::fromUtf8(o.pattern)};
    // The watcher joins every room with one message: above the default burst (5 × 10).
    if (rooms > 40)
        a += {QStringLiteral("--presence-rate"), QString::number(rooms * 2)};
    return a;
}

Leg runLeg(const PresenceOptions &o, int rooms, bool presence) {
    Leg leg;
    const int nodes = o.cluster ? 2 : 1;
    ServerProcess nats;
    std::vector<std::unique_ptr<ServerProcess>> servers;
    QStringList base{QStringLiteral("--idle-timeout"), QStringLiteral("0"),
                     QStringLiteral("--ping-interval"), QStringLiteral("0")};
    base += o.lhttpdArgs;
    if (presence)
        base += presenceArgs(o, rooms);
    if (o.cluster) {
        if (!nats.start(ServerProcess::Kind::Nats, ServerProcess::findNatsServer(), &leg.error))
            return leg;
    }
    QList<qint64> pids;
    QList<QUrl> urls;
    for (int n = 0; n < nodes; ++n) {
        QStringList args = base;
        if (o.cluster)
            args += {QStringLiteral("--nats"), nats.natsUrl(), QStringLiteral("--node-name"),
                     n == 0 ? QStringLiteral("a") : QStringLiteral("b")};
        auto s = std::make_unique<ServerProcess>();
        if (!s->start(ServerProcess::Kind::Lhttpd, o.lhttpdPath, &leg.error, args))
            return leg;
        pids.append(s->pid());
        urls.append(QUrl(s->wsUrl()));
        servers.push_back(std::move(s));
    }

    // Watcher on node A (every room, with joins when presence is on), a reader per node.
    Control control;
    std::vector<std::unique_ptr<WsConnection>> readers;
    WsConnection watcher(&control, 0, -1);
    watcher.open(urls[0]);
    for (int n = 0; n < nodes; ++n) {
        readers.push_back(std::make_unique<WsConnection>(&control, 1, n));
        readers.back()->open(urls[n]);
    }
    if (!waitUntil([&] { return control.opened + control.failed == nodes + 1; }, 10'000) ||
        control.failed) {
        leg.error = QStringLiteral("control connections failed: ") + control.problems.join(u' ');
        return leg;
    }
    {
        QByteArray all;
        for (int r = 0; r < rooms; ++r)
            all += (r ? " " : "") + roomName(r);
        QByteArray m = "LHTTP/1.0 watch\r\nsubscribe:" + all + "\r\n";
        if (presence)
            m += "joins:" + all + "\r\n";
        m += "\r\n";
        QByteArray frames;
        watcher.appendFrame(frames, m);
        watcher.appendFrame(frames, "w", 0x9);
        watcher.write(frames);
        if (!waitUntil([&] { return control.pongs == 1; }, 10'000) || control.errors) {
            leg.error = QStringLiteral("watcher: ") + control.problems.join(u' ');
            return leg;
        }
    }
    // Sums presence-stats over the rooms on every node; the smallest node's sum.
    auto readStats = [&]() -> qint64 {
        control.stats.clear();
        control.statReplies = 0;
        for (auto &reader : readers) {
            QByteArray frames;
            for (int r = 0; r < rooms; ++r)
                reader->appendFrame(frames, "LHTTP/1.0 stats\r\npresence-stats:" + roomName(r) +
                                                "\r\n\r\n");
            reader->write(frames);
        }
        if (!waitUntil([&] { return control.statReplies >= rooms * nodes || control.errors; },
                       10'000))
            return -1;
        qint64 least = -1;
        for (int n = 0; n < nodes; ++n) {
            qint64 sum = 0;
            for (qint64 v : control.stats.value(n))
                sum += v;
            least = least < 0 ? sum : qMin(least, sum);
        }
        return least;
    };

    Pool pool(o.threads, presence ? o.info : QByteArray(), o.connectWindow);
    int source = 0;
    auto clientsFor = [&](int count, bool warm) {
        QList<Worker::Client> list;
        for (int i = 0; i < count; ++i) {
            Worker::Client c;
            c.url = urls[i % nodes];
            c.source = QHostAddress(
                QStringLiteral("127.0.0.%1").arg(2 + (source++ / o.connectionsPerSource) % 253));
            c.channel = warm ? QByteArray("warm") : roomName(i % rooms);
            list.append(c);
        }
        return list;
    };
    auto rssSum = [&] {
        qint64 sum = 0;
        for (qint64 pid : pids)
            sum += processRssKiB(pid);
        return sum;
    };
    auto cpuSum = [&] {
        double sum = 0;
        for (qint64 pid : pids)
            sum += processCpuSeconds(pid);
        return sum;
    };
    pool.add(clientsFor(o.warmup, true));
    if (!waitUntil([&] { return pool.sum(&Worker::ready) == o.warmup; }, 30'000)) {
        leg.error = QStringLiteral("warm-up: ") + pool.problems().join(QStringLiteral("; "));
        return leg;
    }
    QThread::msleep(ulong(o.settleMs));
    const qint64 rss0 = rssSum();
    const double cpu0 = cpuSum();

    const qint64 nats0 = o.cluster ? ioBytes(nats.pid()) : -1;
    const qint64 t0 = nowNs();
    pool.add(clientsFor(o.connections, false));
    const int target = o.warmup + o.connections;
    const qint64 timeoutMs = qint64(o.timeoutSeconds) * 1000;
    bool pongs = false, joined = !presence, counted = !(presence && o.cluster);
    qint64 lastStatsPoll = 0;
    waitUntil(
        [&] {
            const qint64 now = nowNs();
            if (!pongs && pool.sum(&Worker::ready) >= target) {
                pongs = true;
                leg.pongSeconds = double(now - t0) / 1e9;
            }
            if (!joined && control.joins >= o.connections) {
                joined = true;
                leg.joinSeconds = double(now - t0) / 1e9;
            }
            if (!counted && now - lastStatsPoll > 100'000'000) {
                // Cluster: both nodes' presence-stats, every 100 ms.
                if (readStats() == o.connections + rooms) {
                    counted = true;
                    leg.statsSeconds = double(nowNs() - t0) / 1e9;
                }
                lastStatsPoll = nowNs();
            }
            return (pongs && joined && counted) || pool.sum(&Worker::failed) > 0 ||
                   pool.sum(&Worker::closed) > 0;
        },
        timeoutMs);
    const double cpu1 = cpuSum();
    leg.errors = pool.sum(&Worker::errors) + control.errors;
    leg.closed = pool.sum(&Worker::closed);
    if (!pongs || !joined || !counted) {
        leg.error = QStringLiteral("not complete: %1 of %2 pongs, %3 joins seen; %4 %5")
                        .arg(pool.sum(&Worker::ready))
                        .arg(target)
                        .arg(control.joins)
                        .arg(pool.problems().join(QStringLiteral("; ")))
                        .arg(control.problems.join(QStringLiteral("; ")));
    }
    const double span = qMax(leg.pongSeconds, qMax(leg.joinSeconds, leg.statsSeconds));
    leg.serverUsPerClient = (cpu1 - cpu0) * 1e6 / o.connections;
    (void)span;
    const qint64 nats1 = o.cluster ? ioBytes(nats.pid()) : -1;
    const qint64 idle0 = nowNs();
    QThread::msleep(ulong(o.settleMs));
    const qint64 rss1 = rssSum();
    if (o.cluster && nats0 >= 0 && nats1 >= 0) {
        leg.natsBytes = double(nats1 - nats0);
        leg.natsIdleBytesPerS = double(ioBytes(nats.pid()) - nats1) * 1e9 / double(nowNs() - idle0);
    }
    leg.kibPerClient = double(rss1 - rss0) / o.connections;
    if (presence) {
        QCoreApplication::processEvents();
        leg.joins = control.joins;
        leg.statsTotal = readStats();
        if (leg.error.isEmpty() && leg.joins != o.connections)
            leg.error = QStringLiteral("the watcher got %1 join events, not %2")
                            .arg(leg.joins)
                            .arg(o.connections);
        if (leg.error.isEmpty() && leg.statsTotal != o.connections + rooms)
            leg.error = QStringLiteral("presence-stats say %1, not %2")
                            .arg(leg.statsTotal)
                            .arg(o.connections + rooms);
    }
    if (leg.error.isEmpty() && (leg.errors || leg.closed))
        leg.error = QStringLiteral("%1 error replies, %2 closed: %3")
                        .arg(leg.errors)
                        .arg(leg.closed)
                        .arg(pool.problems().join(QStringLiteral("; ")));
    leg.ok = leg.error.isEmpty();
    watcher.abort();
    for (auto &r : readers)
        r->abort();
    return leg;
}

QString fmt(double v, int decimals = 2) {
    return v < 0 ? QStringLiteral("-") : QString::number(v, 'f', decimals);
}

} // namespace

int runPresence(const PresenceOptions &o) {
    std::printf("# presence: %d clients, rooms %s, %d rounds, %s, lhttpd-qt %s %s\n", o.connections,
                qPrintable([&] {
                    QStringList r;
                    for (int v : o.rooms)
                        r.append(QString::number(v));
                    return r.join(u',');
                }()),
                o.rounds, o.cluster ? "2 nodes + nats-server" : "one node",
                qPrintable(o.lhttpdPath), qPrintable(o.lhttpdArgs.join(u' ')));
    // (rooms, variant) -> legs
    QMap<QPair<int, QString>, QList<Leg>> all;
    bool allOk = true;
    for (int round = 0; round < o.rounds; ++round) {
        for (int rooms : o.rooms) {
            QStringList order = o.variants;
            if (round % 2)
                std::reverse(order.begin(), order.end());
            for (const QString &variant : order) {
                Leg leg = runLeg(o, rooms, variant == u"presence");
                std::printf("round %d rooms %d %s: %s pongs %s s, joins %s s (%d), stats %s s "
                            "(total %lld), %s KiB/client, server %s us/client%s%s\n",
                            round + 1, rooms, qPrintable(variant), leg.ok ? "ok" : "FAILED",
                            qPrintable(fmt(leg.pongSeconds)), qPrintable(fmt(leg.joinSeconds)),
                            leg.joins, qPrintable(fmt(leg.statsSeconds)), leg.statsTotal,
                            qPrintable(fmt(leg.kibPerClient)),
                            qPrintable(fmt(leg.serverUsPerClient, 0)),
                            qPrintable(leg.natsBytes < 0
                                           ? QString()
                                           : QStringLiteral(", nats-server %1 bytes while joining, "
                                                            "%2 bytes/s idle")
                                                 .arg(leg.natsBytes, 0, 'f', 0)
                                                 .arg(leg.natsIdleBytesPerS, 0, 'f', 0)),
                            leg.ok ? "" : qPrintable(QStringLiteral(": ") + leg.error));
                std::fflush(stdout);
                allOk = allOk && leg.ok;
                all[{rooms, variant}].append(leg);
            }
        }
    }
    std::printf("\n| rooms | server | clients/s (to the last pong) | s to the last pong | s to "
                "the last join event | s until presence-stats = N on both nodes | KiB/client "
                "idle | server µs/client |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (auto it = all.begin(); it != all.end(); ++it) {
        QList<double> pong, join, stats, kib, us;
        for (const Leg &l : it.value()) {
            if (!l.ok)
                continue;
            pong.append(l.pongSeconds);
            join.append(l.joinSeconds);
            stats.append(l.statsSeconds);
            kib.append(l.kibPerClient);
            us.append(l.serverUsPerClient);
        }
        const double p = pong.isEmpty() ? -1 : median(pong);
        std::printf("| %d | %s | %s | %s | %s | %s | %s | %s |\n", it.key().first,
                    qPrintable(it.key().second),
                    qPrintable(p > 0 ? fmt(o.connections / p, 0) : QStringLiteral("-")),
                    qPrintable(fmt(p)), qPrintable(join.isEmpty() ? "-" : fmt(median(join))),
                    qPrintable(stats.isEmpty() ? "-" : fmt(median(stats))),
                    qPrintable(kib.isEmpty() ? "-" : fmt(median(kib))),
                    qPrintable(us.isEmpty() ? "-" : fmt(median(us), 0)));
    }
    // Presence minus plain, per round (the legs of a round ran back to back).
    for (int rooms : o.rooms) {
        const auto plain = all.value({rooms, QStringLiteral("plain")});
        const auto pres = all.value({rooms, QStringLiteral("presence")});
        QList<double> diff;
        for (qsizetype i = 0; i < qMin(plain.size(), pres.size()); ++i) {
            if (plain[i].ok && pres[i].ok)
                diff.append((pres[i].kibPerClient - plain[i].kibPerClient) * 1024.0);
        }
        if (!diff.isEmpty()) {
            QStringList each;
            for (double d : diff)
                each.append(QString::number(d, 'f', 0));
            std::printf("rooms %d: presence - plain = %.0f bytes per idle subscribed client "
                        "(median; rounds: %s)\n",
                        rooms, median(diff), qPrintable(each.join(QStringLiteral(", "))));
        }
    }
    return allOk ? 0 : 1;
}

} // namespace bench

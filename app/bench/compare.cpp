// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "compare.h"

#include "loadrun.h"
#include "measure.h"
#include "serverprocess.h"

#include <QDateTime>
#include <QFile>
#include <QHash>
#include <QSysInfo>
#include <QThread>

#include <cmath>
#include <cstdio>

namespace bench {

namespace {

using Kind = ServerProcess::Kind;

enum class Metric { Throughput, P99, IdleMemory };

struct Leg {
    Kind kind;
    bool http; // publishers POST to /publish
    QString label;
    QString program;        // lhttpd-qt binary (unused for the reference)
    bool cluster = false;   // two lhttpd-qt nodes joined through a nats-server
    bool subscribe = false; // idle: the connections also subscribe to a channel
};

enum class Shape { Compare, Cluster, IdleSubscribed };

struct Workload {
    QString key;
    QString title;
    Metric metric;
    int subscribers = 0;
    int messages = 0;
    double rate = 0;
    bool viaHttp = false; // compares POST /publish with the WebSocket path
    QString target;
    double targetRatio = 1; // >= for throughput, <= for latency and memory
    Shape shape = Shape::Compare;
    int httpWindow = 0; // POST requests in flight; 0: all of them
    bool burst = false; // idle: every handshake at once
};

// A figure of the summary: numerator ÷ denominator (none: the figure alone), checked against
// the workload's target when `checked`.
struct Ratio {
    QString numerator;
    QString denominator;
    bool checked;
};

const QString Reference = QStringLiteral("reference");
const QString Lhttpd = QStringLiteral("lhttpd-qt");
const QString LhttpdPost = QStringLiteral("lhttpd-qt POST");
const QString Cluster = QStringLiteral("lhttpd-qt cluster");
const QString Subscribed = QStringLiteral("lhttpd-qt subscribed");

QList<Workload> allWorkloads(int idleConnections) {
    const QString atLeast = QStringLiteral(">= 0.90");
    const QString idle = QStringLiteral("%1 connections").arg(idleConnections);
    return {
        {QStringLiteral("fanout100"), QStringLiteral("100 subscribers x 2,000 messages"),
         Metric::Throughput, 100, 2000, 0, false, atLeast, 0.90},
        {QStringLiteral("fanout1000"), QStringLiteral("1,000 subscribers x 200 messages"),
         Metric::Throughput, 1000, 200, 0, false, atLeast, 0.90},
        {QStringLiteral("stream10"), QStringLiteral("10 subscribers x 20,000 messages"),
         Metric::Throughput, 10, 20000, 0, false, atLeast, 0.90},
        {QStringLiteral("latency1000"),
         QStringLiteral("p99 latency, 1,000 subscribers, 100 messages/s"), Metric::P99, 1000, 300,
         100, false, QStringLiteral("<= 1.2"), 1.2},
        {QStringLiteral("idle"), QStringLiteral("RSS per idle connection (%1)").arg(idle),
         Metric::IdleMemory, idleConnections, 0, 0, false, QStringLiteral("<= 1.1 and <= 12 KiB"),
         1.1},
        // The WebSocket publisher sends its 10,000 messages without waiting for anything; the
        // POST publisher does the same (HTTP/1.1 pipelining, every request in flight).
        {QStringLiteral("http100"),
         QStringLiteral("10,000 messages via POST /publish to 100 subscribers"), Metric::Throughput,
         100, 10000, 0, true, QStringLiteral(">= 1.0 (POST vs WebSocket)"), 1.0},
        // A backend that keeps 32 requests in flight and waits for answers: round-trip bound.
        {QStringLiteral("http100w32"),
         QStringLiteral("10,000 messages via POST /publish to 100 subscribers, 32 requests in "
                        "flight"),
         Metric::Throughput, 100, 10000, 0, true, QStringLiteral("report it"), 0, Shape::Compare,
         32},
        {QStringLiteral("cluster100"),
         QStringLiteral("100 subscribers x 2,000 messages, publisher on node A, subscribers on "
                        "node B, through nats-server"),
         Metric::Throughput, 100, 2000, 0, false, QStringLiteral("report it"), 0, Shape::Cluster},
        // A mass reconnect: the same connections, every handshake in flight at once.
        {QStringLiteral("idleburst"),
         QStringLiteral("RSS per idle connection, all connecting at once (%1)").arg(idle),
         Metric::IdleMemory, idleConnections, 0, 0, false, QStringLiteral("report it"), 0,
         Shape::Compare, 0, true},
        {QStringLiteral("idlesub"),
         QStringLiteral("RSS per idle connection subscribed to a channel (%1)").arg(idle),
         Metric::IdleMemory, idleConnections, 0, 0, false, QStringLiteral("report it"), 0,
         Shape::IdleSubscribed},
    };
}

// The keys run by default: all but the cluster one when there is no nats-server.
QStringList defaultKeys() {
    QStringList keys;
    const bool nats = !ServerProcess::findNatsServer().isEmpty();
    for (const Workload &w : allWorkloads(0)) {
        if (w.shape != Shape::Cluster || nats)
            keys.append(w.key);
    }
    return keys;
}

QList<Leg> legsOf(const Workload &w, const CompareOptions &o) {
    if (w.shape == Shape::IdleSubscribed) {
        QList<Leg> legs{{Kind::Lhttpd, false, Subscribed, o.lhttpdPath, false, true}};
        if (!o.candidatePath.isEmpty())
            legs.append({Kind::Lhttpd, false, QStringLiteral("candidate subscribed"),
                         o.candidatePath, false, true});
        return legs;
    }
    QList<Leg> legs{{Kind::Reference, false, Reference, QString()},
                    {Kind::Lhttpd, false, Lhttpd, o.lhttpdPath}};
    if (!o.candidatePath.isEmpty())
        legs.append({Kind::Lhttpd, false, QStringLiteral("candidate"), o.candidatePath});
    if (w.viaHttp) {
        legs.append({Kind::Lhttpd, true, LhttpdPost, o.lhttpdPath});
        if (!o.candidatePath.isEmpty())
            legs.append({Kind::Lhttpd, true, QStringLiteral("candidate POST"), o.candidatePath});
    }
    if (w.shape == Shape::Cluster) {
        legs.append({Kind::Lhttpd, false, Cluster, o.lhttpdPath, true});
        if (!o.candidatePath.isEmpty())
            legs.append(
                {Kind::Lhttpd, false, QStringLiteral("candidate cluster"), o.candidatePath, true});
    }
    return legs;
}

QList<Ratio> ratiosOf(const Workload &w, const CompareOptions &o) {
    QStringList subjects{Lhttpd};
    if (!o.candidatePath.isEmpty())
        subjects.append(QStringLiteral("candidate"));
    QList<Ratio> out;
    for (const QString &s : subjects) {
        switch (w.shape) {
        case Shape::IdleSubscribed:
            out.append({s + QStringLiteral(" subscribed"), QString(), false});
            break;
        case Shape::Cluster:
            out.append({s + QStringLiteral(" cluster"), s, false});
            out.append({s + QStringLiteral(" cluster"), Reference, false});
            break;
        case Shape::Compare:
            if (w.viaHttp) {
                // Checked only where the workload has a target (not a "report it" one).
                out.append({s + QStringLiteral(" POST"), s, w.targetRatio > 0});
                out.append({s + QStringLiteral(" POST"), Reference, false});
            } else {
                out.append({s, Reference, w.targetRatio > 0});
            }
            break;
        }
    }
    return out;
}

QString unit(Metric m) {
    switch (m) {
    case Metric::Throughput:
        return QStringLiteral("msg/s");
    case Metric::P99:
        return QStringLiteral("ms p99");
    case Metric::IdleMemory:
        return QStringLiteral("KiB/conn");
    }
    return {};
}

QString number(double v, Metric m) {
    if (std::isnan(v))
        return QStringLiteral("n/a");
    switch (m) {
    case Metric::Throughput:
        return QString::number(v, 'f', 0);
    case Metric::P99:
        return QString::number(v, 'f', v < 10 ? 2 : 1);
    case Metric::IdleMemory:
        return QString::number(v, 'f', 2);
    }
    return {};
}

QString loadAverage() {
    QFile f(QStringLiteral("/proc/loadavg"));
    if (!f.open(QIODevice::ReadOnly))
        return QStringLiteral("?");
    return QString::fromLatin1(f.readAll()).section(u' ', 0, 2);
}

void out(const QString &line) {
    std::printf("%s\n", qPrintable(line));
    std::fflush(stdout);
}

// The server side of one leg: one process, or for a cluster leg a nats-server and two
// lhttpd-qt nodes joined through it (publishers on node A, subscribers on node B, so every
// message crosses NATS). Everything is stopped, by pid, when it goes out of scope.
class Deployment {
public:
    bool start(const Leg &leg, const QStringList &extraArgs, QString *error) {
        m_cluster = leg.cluster;
        if (!m_cluster)
            return m_a.start(leg.kind, leg.program, error, extraArgs);
        const QString nats = ServerProcess::findNatsServer();
        if (nats.isEmpty()) {
            *error = QStringLiteral("no nats-server (install it or set NATS_SERVER_BIN)");
            return false;
        }
        if (!m_nats.start(Kind::Nats, nats, error))
            return false;
        const QStringList join =
            extraArgs + QStringList{QStringLiteral("--nats"), m_nats.natsUrl()};
        return m_a.start(leg.kind, leg.program, error, join) &&
               m_b.start(leg.kind, leg.program, error, join);
    }
    QUrl subscribeUrl() const { return QUrl((m_cluster ? m_b : m_a).wsUrl()); }
    QUrl publishUrl(bool http) const { return QUrl(http ? m_a.publishHttpUrl() : m_a.wsUrl()); }
    qint64 pid() const { return m_a.pid(); }
    QList<qint64> pids() const {
        if (!m_cluster)
            return {m_a.pid()};
        return {m_a.pid(), m_b.pid(), m_nats.pid()};
    }
    void stop() {
        m_a.stop();
        m_b.stop();
        m_nats.stop();
    }

private:
    ServerProcess m_nats; // declared first: destroyed (stopped) after the nodes
    ServerProcess m_a;
    ServerProcess m_b;
    bool m_cluster = false;
};

// One measurement; NaN where the leg failed or the figure does not apply.
struct Sample {
    double metric = std::nan("");
    double messagesPerSecond = std::nan("");
    double p50Ms = std::nan("");
    double p99Ms = std::nan("");
    double serverNs = std::nan(""); // server CPU per delivery (all processes of a cluster)
    double clientCpu = std::nan("");
    QString line;
};

Sample runLeg(const Workload &w, const Leg &leg, const CompareOptions &o) {
    Sample s;
    Deployment server;
    QString error;
    QStringList extraArgs;
    if (w.metric == Metric::IdleMemory && leg.kind == Kind::Lhttpd) {
        // Idle means idle: no keepalive pings (a pong read would also drop the socket's read
        // buffer and flatter lhttpd-qt), and no idle timeout (opening 15,000 connections on a
        // busy machine can take longer than its minute). Neither keeps state per connection,
        // so switching them off changes nothing that is measured.
        extraArgs = {QStringLiteral("--idle-timeout"), QStringLiteral("0"),
                     QStringLiteral("--ping-interval"), QStringLiteral("0")};
    }
    if (!server.start(leg, extraArgs, &error)) {
        s.line = QStringLiteral("FAILED: ") + error;
        return s;
    }
    if (w.metric == Metric::IdleMemory) {
        IdleOptions io;
        io.url = server.subscribeUrl();
        io.connections = w.subscribers;
        io.subscribe = leg.subscribe;
        io.burst = w.burst;
        io.settleMs = o.idleSettleMs;
        io.threads = o.threads;
        io.serverPid = server.pid();
        const IdleResult r = runIdle(io);
        if (r.ok)
            s.metric = r.kibPerConnection;
        s.line = r.summary();
        server.stop();
        return s;
    }
    LoadOptions lo;
    lo.subscribeUrl = server.subscribeUrl();
    lo.publishUrl = server.publishUrl(leg.http);
    lo.subscribers = w.subscribers;
    lo.publishers = 1;
    lo.messages = qMax(1, int(std::lround(w.messages * o.scale)));
    lo.rate = w.rate;
    lo.threads = o.threads;
    const int window = o.httpWindow > 0 ? o.httpWindow : w.httpWindow;
    lo.httpWindow = window > 0 ? window : lo.messages;
    lo.serverPids = server.pids();
    const LoadResult r = runLoad(lo);
    server.stop();
    if (!r.error.isEmpty()) {
        s.line = QStringLiteral("FAILED: ") + r.error;
        return s;
    }
    if (r.complete) {
        s.messagesPerSecond = r.messagesPerSecond;
        s.p50Ms = r.p50Ms;
        s.p99Ms = r.p99Ms;
        s.serverNs = r.serverNsPerDelivery;
        s.clientCpu = r.clientCpuPercent;
        s.metric = w.metric == Metric::P99 ? r.p99Ms : r.messagesPerSecond;
    }
    s.line = QStringLiteral("%1 msg/s  pub %2 s  p50 %3 ms  p99 %4 ms  max %5 ms  server %6 "
                            "ns/delivery  client cpu %7%")
                 .arg(r.messagesPerSecond, 9, 'f', 0)
                 .arg(r.publishSeconds, 0, 'f', 3)
                 .arg(r.p50Ms, 0, 'f', 2)
                 .arg(r.p99Ms, 0, 'f', 2)
                 .arg(r.maxMs, 0, 'f', 1)
                 .arg(r.serverNsPerDelivery, 0, 'f', 0)
                 .arg(r.clientCpuPercent, 0, 'f', 0);
    if (!r.complete)
        s.line += QStringLiteral("  INCOMPLETE: ") + r.problems.join(QStringLiteral("; "));
    return s;
}

QList<Workload> selected(const CompareOptions &o, QString *error) {
    const QList<Workload> all = allWorkloads(o.idleConnections);
    QList<Workload> out;
    for (const QString &key : o.workloads.isEmpty() ? defaultKeys() : o.workloads) {
        auto it =
            std::find_if(all.begin(), all.end(), [&](const Workload &w) { return w.key == key; });
        if (it == all.end()) {
            *error = QStringLiteral("unknown workload '%1' (known: %2)")
                         .arg(key, workloadKeys().join(QStringLiteral(", ")));
            return {};
        }
        out.append(*it);
    }
    return out;
}

} // namespace

int runCompare(const CompareOptions &o) {
    QString error;
    const QList<Workload> workloads = selected(o, &error);
    if (!error.isEmpty()) {
        out(QStringLiteral("lhttp-bench: ") + error);
        return 2;
    }
    out(QStringLiteral("# lhttp-bench compare: %1 rounds, %2 load threads, lhttpd-qt = %3%4")
            .arg(o.rounds)
            .arg(o.threads)
            .arg(o.lhttpdPath, o.candidatePath.isEmpty()
                                   ? QString()
                                   : QStringLiteral(", candidate = ") + o.candidatePath));
    out(QStringLiteral("# %1, %2 CPUs, Qt %3, load average at start %4")
            .arg(QDateTime::currentDateTime().toString(Qt::ISODate))
            .arg(QThread::idealThreadCount())
            .arg(QString::fromLatin1(qVersion()), loadAverage()));

    // samples[workload][leg]: one per round
    QHash<QString, QHash<QString, QList<Sample>>> samples;
    for (int round = 1; round <= o.rounds; ++round) {
        for (const Workload &w : workloads) {
            QList<Leg> legs = legsOf(w, o);
            if (round % 2 == 0) // alternate the order so drift favours no one
                std::reverse(legs.begin(), legs.end());
            for (const Leg &leg : legs) {
                const Sample s = runLeg(w, leg, o);
                samples[w.key][leg.label].append(s);
                out(QStringLiteral("[round %1/%2] %3 %4 %5")
                        .arg(round)
                        .arg(o.rounds)
                        .arg(w.key, -11)
                        .arg(leg.label, -20)
                        .arg(s.line));
            }
        }
    }

    auto column = [](const QList<Sample> &list, double Sample::*field) {
        QList<double> v;
        for (const Sample &s : list)
            v.append(s.*field);
        return v;
    };
    out(QString());
    out(QStringLiteral("# medians of %1 rounds; load average at end %2")
            .arg(o.rounds)
            .arg(loadAverage()));
    out(QStringLiteral("| workload (64-byte payload) | unit | baseline | subject | ratio (paired) "
                       "| target | server ns/delivery, baseline / subject |"));
    out(QStringLiteral("| --- | --- | --- | --- | --- | --- | --- |"));
    bool allMet = true;
    for (const Workload &w : workloads) {
        for (const Ratio &ratio : ratiosOf(w, o)) {
            const QList<Sample> &b = samples[w.key][ratio.numerator];
            const QList<double> vb = column(b, &Sample::metric);
            const double mb = median(vb);
            if (ratio.denominator.isEmpty()) { // a figure on its own
                out(QStringLiteral("| %1 | %2 | | %3 %4 | | %5 | / %6 |")
                        .arg(w.title, unit(w.metric), ratio.numerator, number(mb, w.metric),
                             w.target)
                        .arg(median(column(b, &Sample::serverNs)), 0, 'f', 0));
                continue;
            }
            const QList<Sample> &a = samples[w.key][ratio.denominator];
            const QList<double> va = column(a, &Sample::metric);
            QList<double> paired;
            for (qsizetype i = 0; i < qMin(va.size(), vb.size()); ++i)
                paired.append(vb[i] / va[i]);
            const double ma = median(va), r = mb / ma;
            QString verdict = ratio.checked ? QString() : w.target;
            if (ratio.checked) {
                bool met = w.metric == Metric::Throughput ? r >= w.targetRatio : r <= w.targetRatio;
                if (w.metric == Metric::IdleMemory)
                    met = met && mb <= 12;
                allMet = allMet && met;
                verdict = w.target + (met ? QStringLiteral(" met") : QStringLiteral(" MISSED"));
            }
            out(QStringLiteral("| %1 | %2 | %3 %4 | %5 %6 | %7 (%8) | %9 | %10 / %11 |")
                    .arg(w.title, unit(w.metric), ratio.denominator, number(ma, w.metric),
                         ratio.numerator, number(mb, w.metric))
                    .arg(r, 0, 'f', 3)
                    .arg(median(paired), 0, 'f', 3)
                    .arg(verdict)
                    .arg(median(column(a, &Sample::serverNs)), 0, 'f', 0)
                    .arg(median(column(b, &Sample::serverNs)), 0, 'f', 0));
        }
    }

    out(QString());
    out(QStringLiteral("| workload | server | msg/s | p50 ms | p99 ms | server ns/delivery | "
                       "client cpu % |"));
    out(QStringLiteral("| --- | --- | --- | --- | --- | --- | --- |"));
    for (const Workload &w : workloads) {
        if (w.metric == Metric::IdleMemory)
            continue;
        for (const Leg &leg : legsOf(w, o)) {
            const QList<Sample> &list = samples[w.key][leg.label];
            out(QStringLiteral("| %1 | %2 | %3 | %4 | %5 | %6 | %7 |")
                    .arg(w.key, leg.label)
                    .arg(median(column(list, &Sample::messagesPerSecond)), 0, 'f', 0)
                    .arg(median(column(list, &Sample::p50Ms)), 0, 'f', 2)
                    .arg(median(column(list, &Sample::p99Ms)), 0, 'f', 2)
                    .arg(median(column(list, &Sample::serverNs)), 0, 'f', 0)
                    .arg(median(column(list, &Sample::clientCpu)), 0, 'f', 0));
        }
    }
    return allMet ? 0 : 1;
}

int runSmoke(const CompareOptions &o) {
    int failures = 0;
    auto check = [&](const QString &what, bool ok, const QString &summary) {
        out(QStringLiteral("== %1: %2\n%3")
                .arg(what, ok ? QStringLiteral("ok") : QStringLiteral("FAIL"), summary));
        failures += ok ? 0 : 1;
    };
    const Leg reference{Kind::Reference, false, Reference, QString()};
    const Leg lhttpdWs{Kind::Lhttpd, false, Lhttpd, o.lhttpdPath};
    const Leg lhttpdHttp{Kind::Lhttpd, true, LhttpdPost, o.lhttpdPath};
    const Leg lhttpdCluster{Kind::Lhttpd, false, Cluster, o.lhttpdPath, true};
    const Leg lhttpdSubscribed{Kind::Lhttpd, false, Subscribed, o.lhttpdPath, false, true};
    struct Case {
        Leg leg;
        int subscribers;
        int publishers;
        int messages;
    };
    QList<Case> cases = {
        {reference, 20, 2, 100},
        {lhttpdWs, 20, 2, 100},
        {lhttpdHttp, 10, 2, 50},
    };
    if (!ServerProcess::findNatsServer().isEmpty())
        cases.append({lhttpdCluster, 10, 2, 50});
    else
        out(QStringLiteral("== %1: skipped (no nats-server)").arg(Cluster));
    for (const Case &c : cases) {
        Deployment server;
        QString error;
        if (!server.start(c.leg, {}, &error)) {
            check(c.leg.label, false, error);
            continue;
        }
        LoadOptions lo;
        lo.subscribeUrl = server.subscribeUrl();
        lo.publishUrl = server.publishUrl(c.leg.http);
        lo.subscribers = c.subscribers;
        lo.publishers = c.publishers;
        lo.messages = c.messages;
        lo.threads = o.threads;
        lo.serverPids = server.pids();
        lo.timeoutSeconds = 30;
        lo.stallSeconds = 10;
        const LoadResult r = runLoad(lo);
        check(c.leg.label, r.error.isEmpty() && r.complete, r.summary());
        server.stop();
    }
    for (const Leg &leg : {reference, lhttpdWs, lhttpdSubscribed}) {
        Deployment server;
        QString error;
        if (!server.start(leg, {}, &error)) {
            check(leg.label + QStringLiteral(" idle"), false, error);
            continue;
        }
        IdleOptions io;
        io.url = server.subscribeUrl();
        io.connections = 50;
        io.subscribe = leg.subscribe;
        io.warmup = 5;
        io.settleMs = 200;
        io.threads = o.threads;
        io.serverPid = server.pid();
        const IdleResult r = runIdle(io);
        check(leg.label + QStringLiteral(" idle"), r.ok, r.summary());
        server.stop();
    }
    out(failures ? QStringLiteral("smoke: %1 FAILED").arg(failures)
                 : QStringLiteral("smoke: all ok"));
    return failures ? 1 : 0;
}

QStringList workloadKeys() {
    QStringList keys;
    for (const Workload &w : allWorkloads(0))
        keys.append(w.key);
    return keys;
}

} // namespace bench

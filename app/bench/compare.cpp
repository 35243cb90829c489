// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "compare.h"

#include "loadrun.h"
#include "measure.h"
#include "serverprocess.h"

#include <QDateTime>
#include <QFile>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSysInfo>
#include <QThread>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <sys/prctl.h>

namespace bench {

namespace {

using Kind = ServerProcess::Kind;

enum class Metric { Throughput, P99, IdleMemory, ConnectSeconds, MaxRate, CpuPercent };

// The chat-like workloads (issue 13): paced publishers, many small rooms, mass connects.
enum class Chat { None, Paced, Connect, MaxRate, IdleCpu };

struct Leg {
    Kind kind;
    bool http; // publishers POST to /publish
    QString label;
    QString program;        // lhttpd-qt binary (unused for the reference)
    bool cluster = false;   // two lhttpd-qt nodes joined through a nats-server
    bool subscribe = false; // idle: the connections also subscribe to a channel
    bool go = false;        // driven by the Go client instead of this tool's
    QStringList args = {};  // lhttpd-qt: flags after the harness's own (--lhttpd-args, variant)
};

enum class Shape { Compare, Cluster, IdleSubscribed, History, ClusterHistory };

struct Workload {
    QString key;
    QString title;
    Metric metric = Metric::Throughput;
    int subscribers = 0;
    int messages = 0;
    double rate = 0;
    bool viaHttp = false; // compares POST /publish with the WebSocket path
    QString target;
    double targetRatio = 1; // >= for throughput, <= for latency and memory
    Shape shape = Shape::Compare;
    int httpWindow = 0; // POST requests in flight; 0: all of them
    bool burst = false; // idle: every handshake at once
    Chat chat = Chat::None;
    int publishers = 1;
    int rooms = 0; // 0: one channel
};

// A figure of the summary: numerator ÷ denominator (none: the figure alone), checked against
// the workload's target when `checked`.
struct Ratio {
    QString numerator;
    QString denominator;
    bool checked;
};

// Leg labels: a server's name, an lhttpd-qt leg's suffix, the Go client's suffix.
const QString Reference = QStringLiteral("reference");
const QString Lhttpd = QStringLiteral("lhttpd-qt");
const QString Candidate = QStringLiteral("candidate");
const QString Nats = QStringLiteral("nats-server");
const QString PostSuffix = QStringLiteral(" POST");
const QString ClusterSuffix = QStringLiteral(" cluster");
const QString SubscribedSuffix = QStringLiteral(" subscribed");
const QString HistorySuffix = QStringLiteral(" history");
// The history leg's namespaces: every channel the workloads use ("room", "room.<n>").
const QStringList HistoryArgs = {QStringLiteral("--history"), QStringLiteral("room=1000"),
                                 QStringLiteral("--history"), QStringLiteral("room.>=1000")};
const QString GoSuffix = QStringLiteral(" (go client)");
// --clients
const QString OwnClient = QStringLiteral("lhttp-bench");
const QString GoClient = QStringLiteral("go");

// Descriptors a process holds besides its connections: listeners, event-loop wake-ups, perf
// pipes, the idle workloads' warm-up batch, logs.
constexpr int OpenFileMargin = 200;

QList<Workload> allWorkloads(int idleConnections, int chatConnections, int restConnections) {
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
        // Issue 14: the same fan-out with the channel in a history namespace (every message
        // numbered, stored and sent with its position) against a plain channel.
        {QStringLiteral("fanouthistory"),
         QStringLiteral("100 subscribers x 2,000 messages on a history channel (--history "
                        "room=1000) vs a plain one"),
         Metric::Throughput, 100, 2000, 0, false, QStringLiteral(">= 0.85 (history vs plain)"),
         0.85, Shape::History},
        {QStringLiteral("clusterhistory"),
         QStringLiteral("100 subscribers x 2,000 messages, publisher on node A, subscribers on "
                        "node B, on a history channel (JetStream) vs a plain one (core NATS)"),
         Metric::Throughput, 100, 2000, 0, false, QStringLiteral("report it"), 0,
         Shape::ClusterHistory},
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
        // Chat-like (issue 13). Paced publishers: every message carries its scheduled send
        // time, latency counts from it. Rooms of 10; message k of publisher p goes to room
        // (p + 20k) mod rooms, round-robin.
        {QStringLiteral("paced1000"),
         QStringLiteral("paced: 1,000 subscribers on one channel, 1 publisher x 100 msg/s, 10 s"),
         Metric::P99, 1000, 1000, 100, false, QStringLiteral("report it"), 0, Shape::Compare, 0,
         false, Chat::Paced},
        {QStringLiteral("rooms"),
         QStringLiteral("many rooms: %1 subscribers in rooms of 10, 20 publishers x 200 msg/s, "
                        "10 s")
             .arg(chatConnections),
         Metric::P99, chatConnections, 2000, 4000, false, QStringLiteral("report it"), 0,
         Shape::Compare, 0, false, Chat::Paced, 20, chatConnections / 10},
        {QStringLiteral("connect10k"),
         QStringLiteral("connect %1 clients and subscribe them (rooms of 10), 64 handshakes in "
                        "flight")
             .arg(chatConnections),
         Metric::ConnectSeconds, chatConnections, 0, 0, false, QStringLiteral("report it"), 0,
         Shape::Compare, 0, false, Chat::Connect, 1, chatConnections / 10},
        {QStringLiteral("maxrate"),
         QStringLiteral("highest paced rate per publisher with p99 < limit and nothing lost, "
                        "%1 subscribers in rooms of 10, 20 publishers")
             .arg(chatConnections),
         Metric::MaxRate, chatConnections, 0, 0, false, QStringLiteral("report it"), 0,
         Shape::Compare, 0, false, Chat::MaxRate, 20, chatConnections / 10},
        {QStringLiteral("idlecpu"),
         QStringLiteral("CPU at rest: %1 connections in rooms of 10 (each server's default "
                        "pings), 1 msg/s for 60 s")
             .arg(restConnections),
         Metric::CpuPercent, restConnections, 60, 1, false, QStringLiteral("report it"), 0,
         Shape::Compare, 0, false, Chat::IdleCpu, 1, qMax(1, restConnections / 10)},
    };
}

bool natsInstalled() {
    return !ServerProcess::findNatsServer().isEmpty();
}

// Whether the leg of server `server` (reference, lhttpd-qt, nats-server) labelled `label` runs
// the three-server workloads: --servers names servers, or single legs by their label.
bool wanted(const CompareOptions &o, const QString &server, const QString &label) {
    if (server == Nats && !natsInstalled())
        return false;
    return o.servers.isEmpty() || o.servers.contains(server) || o.servers.contains(label);
}

// Whether client `name` (lhttp-bench, go) runs the chat workloads (--clients).
bool clientWanted(const CompareOptions &o, const QString &name) {
    if (name == GoClient && o.goClient.isEmpty())
        return false;
    return o.clients.isEmpty() || o.clients.contains(name);
}

// The lhttpd-qt legs of every workload: lhttpd-qt itself, or one per --lhttpd-variant (the
// same binary with more flags), and the --candidate build.
struct Subject {
    QString label;
    QString program;
    QStringList args;
};

QList<Subject> subjectsOf(const CompareOptions &o) {
    QList<Subject> subjects;
    if (o.lhttpdVariants.isEmpty())
        subjects.append({Lhttpd, o.lhttpdPath, o.lhttpdArgs});
    for (const LhttpdVariant &v : o.lhttpdVariants)
        subjects.append({Lhttpd + u' ' + v.label, o.lhttpdPath, o.lhttpdArgs + v.args});
    if (!o.candidatePath.isEmpty())
        subjects.append({Candidate, o.candidatePath, o.lhttpdArgs});
    return subjects;
}

Leg lhttpdLeg(const Subject &s, const QString &suffix = {}, bool http = false, bool cluster = false,
              bool subscribe = false, bool go = false) {
    return {Kind::Lhttpd, http, s.label + suffix, s.program, cluster, subscribe, go, s.args};
}

// The workloads every server can run: plain fan-out over WebSocket, and the chat ones.
bool threeServers(const Workload &w) {
    return w.shape == Shape::Compare && !w.viaHttp && w.metric != Metric::IdleMemory;
}

// The keys run by default: all but the cluster one when there is no nats-server.
QStringList defaultKeys() {
    QStringList keys;
    const bool nats = natsInstalled();
    for (const Workload &w : allWorkloads(0, 0, 0)) {
        if ((w.shape != Shape::Cluster && w.shape != Shape::ClusterHistory) || nats)
            keys.append(w.key);
    }
    return keys;
}

QList<Leg> legsOf(const Workload &w, const CompareOptions &o) {
    const QList<Subject> subjects = subjectsOf(o);
    QList<Leg> legs;
    if (w.shape == Shape::IdleSubscribed) {
        for (const Subject &s : subjects)
            legs.append(lhttpdLeg(s, SubscribedSuffix, false, false, true));
        return legs;
    }
    if (w.shape == Shape::History || w.shape == Shape::ClusterHistory) {
        const bool cluster = w.shape == Shape::ClusterHistory;
        const QString suffix = cluster ? ClusterSuffix : QString();
        for (const Subject &s : subjects) {
            legs.append(lhttpdLeg(s, suffix, false, cluster));
            Leg history = lhttpdLeg(s, suffix + HistorySuffix, false, cluster);
            history.args += HistoryArgs;
            legs.append(history);
        }
        return legs;
    }
    if (threeServers(w)) {
        // This tool's client runs every one of them, the Go client the chat ones (paced,
        // connect, rate search, at rest).
        QList<bool> clients;
        if (clientWanted(o, OwnClient))
            clients.append(false);
        if (w.chat != Chat::None && clientWanted(o, GoClient))
            clients.append(true);
        for (const bool go : clients) {
            const QString suffix = go ? GoSuffix : QString();
            if (wanted(o, Reference, Reference + suffix))
                legs.append(
                    {Kind::Reference, false, Reference + suffix, QString(), false, false, go});
            for (const Subject &s : subjects) {
                if (wanted(o, Lhttpd, s.label + suffix))
                    legs.append(lhttpdLeg(s, suffix, false, false, false, go));
            }
            if (wanted(o, Nats, Nats + suffix))
                legs.append({Kind::NatsWebSocket, false, Nats + suffix,
                             ServerProcess::findNatsServer(), false, false, go});
        }
        return legs;
    }
    legs.append({Kind::Reference, false, Reference, QString()});
    for (const Subject &s : subjects)
        legs.append(lhttpdLeg(s));
    if (w.viaHttp) {
        for (const Subject &s : subjects)
            legs.append(lhttpdLeg(s, PostSuffix, true));
    }
    if (w.shape == Shape::Cluster) {
        for (const Subject &s : subjects)
            legs.append(lhttpdLeg(s, ClusterSuffix, false, true));
    }
    return legs;
}

// The ratios of the summary table; runCompare leaves out those with a leg that did not run
// (--servers, --clients).
QList<Ratio> ratiosOf(const Workload &w, const CompareOptions &o) {
    QList<Ratio> out;
    for (const Subject &subject : subjectsOf(o)) {
        const QString &s = subject.label;
        switch (w.shape) {
        case Shape::IdleSubscribed:
            out.append({s + SubscribedSuffix, QString(), false});
            break;
        case Shape::History:
            out.append({s + HistorySuffix, s, true});
            break;
        case Shape::ClusterHistory:
            out.append({s + ClusterSuffix + HistorySuffix, s + ClusterSuffix, false});
            break;
        case Shape::Cluster:
            out.append({s + ClusterSuffix, s, false});
            out.append({s + ClusterSuffix, Reference, false});
            break;
        case Shape::Compare:
            if (w.viaHttp) {
                // Checked only where the workload has a target (not a "report it" one).
                out.append({s + PostSuffix, s, w.targetRatio > 0});
                out.append({s + PostSuffix, Reference, false});
            } else {
                out.append({s, Reference, w.targetRatio > 0});
                if (threeServers(w))
                    out.append({s, Nats, false});
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
    case Metric::ConnectSeconds:
        return QStringLiteral("s to all subscribed");
    case Metric::MaxRate:
        return QStringLiteral("msg/s per publisher");
    case Metric::CpuPercent:
        return QStringLiteral("server % CPU");
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
    case Metric::ConnectSeconds:
    case Metric::CpuPercent:
        return QString::number(v, 'f', 2);
    case Metric::MaxRate:
        return QString::number(v, 'f', 0);
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
    // `moreArgs` follow the leg's own flags (lhttpd-qt legs only).
    bool start(const Leg &leg, QString *error, const QStringList &moreArgs = {}) {
        m_cluster = leg.cluster;
        const QStringList extraArgs =
            leg.kind == Kind::Lhttpd ? leg.args + moreArgs : QStringList();
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
        if (!m_a.start(leg.kind, leg.program, error, join) ||
            !m_b.start(leg.kind, leg.program, error, join))
            return false;
        // History legs: both nodes must have read the streams before the first publish.
        if (join.contains(QStringLiteral("--history")) &&
            !(m_a.waitHistoryReady(error) && m_b.waitHistoryReady(error)))
            return false;
        return true;
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
    double maxMs = std::nan("");
    double writesPerDelivery = std::nan("");
    double wakeupsPerDelivery = std::nan(""); // writes to non-socket descriptors
    double connectSeconds = std::nan("");     // connect: until every subscriber is subscribed
    double usPerConnection = std::nan("");    // connect: server CPU
    double writesPerConnection = std::nan("");
    double maxRate = std::nan(""); // maxrate: msg/s per publisher
    double maxRateDeliveries = std::nan("");
    double serverCpuPercent = std::nan("");
    QString writesSource;
    bool incomplete = false; // chat runs: figures of a run that lost messages or connections
    QString line;
};

double orNan(double v) {
    return v < 0 ? std::nan("") : v;
}

void fill(Sample &s, const LoadResult &r) {
    s.messagesPerSecond = r.messagesPerSecond;
    s.p50Ms = r.p50Ms;
    s.p99Ms = r.p99Ms;
    s.maxMs = r.maxMs;
    s.serverNs = orNan(r.serverNsPerDelivery);
    s.clientCpu = r.clientCpuPercent;
    s.writesPerDelivery = orNan(r.writesPerDelivery);
    s.wakeupsPerDelivery = orNan(r.otherWritesPerDelivery);
    s.serverCpuPercent = orNan(r.serverCpuPercent);
    s.writesSource = r.writesSource;
}

QString loadLine(const LoadResult &r) {
    QString line = QStringLiteral("%1 msg/s  pub %2 s  p50 %3 ms  p99 %4 ms  max %5 ms  server "
                                  "%6 ns/delivery (%7% cpu)  writes/delivery %8  client cpu %9%")
                       .arg(r.messagesPerSecond, 9, 'f', 0)
                       .arg(r.publishSeconds, 0, 'f', 3)
                       .arg(r.p50Ms, 0, 'f', 2)
                       .arg(r.p99Ms, 0, 'f', 2)
                       .arg(r.maxMs, 0, 'f', 1)
                       .arg(r.serverNsPerDelivery, 0, 'f', 0)
                       .arg(r.serverCpuPercent, 0, 'f', 1)
                       .arg(r.writesPerDelivery >= 0 ? QString::number(r.writesPerDelivery, 'f', 3)
                                                     : QStringLiteral("n/a"))
                       .arg(r.clientCpuPercent, 0, 'f', 0);
    if (!r.complete)
        line += QStringLiteral("  INCOMPLETE: ") + r.problems.join(QStringLiteral("; "));
    return line;
}

Protocol protocolOf(const Leg &leg) {
    return leg.kind == Kind::NatsWebSocket ? Protocol::Nats : Protocol::Lhttp;
}

// The Go client's run against a started server: it prints `RESULT {json}` as its last line.
Sample runGoLeg(const Workload &w, const Leg &leg, const CompareOptions &o,
                const Deployment &server) {
    Sample s;
    QStringList args{
        QStringLiteral("-mode"),
        w.chat == Chat::Connect ? QStringLiteral("connect") : QStringLiteral("paced"),
        QStringLiteral("-url"),
        server.subscribeUrl().toString(),
        QStringLiteral("-protocol"),
        protocolOf(leg) == Protocol::Nats ? QStringLiteral("nats") : QStringLiteral("lhttp"),
        QStringLiteral("-subscribers"),
        QString::number(w.subscribers),
        QStringLiteral("-rooms"),
        QString::number(w.rooms),
        QStringLiteral("-publishers"),
        QString::number(w.publishers),
        QStringLiteral("-rate"),
        QString::number(w.rate),
        QStringLiteral("-messages"),
        QString::number(qMax(1, int(std::lround(w.messages * o.scale)))),
        QStringLiteral("-server-pid"),
        QString::number(server.pid()),
        QStringLiteral("-count-writes"),
        o.countWrites == WriteCounter::Mode::Off ? QStringLiteral("off") : QStringLiteral("auto")};
    QProcess go;
    go.setProcessChannelMode(QProcess::SeparateChannels);
    go.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGTERM); });
    go.start(o.goClient, args);
    if (!go.waitForStarted(10'000)) {
        s.line = QStringLiteral("FAILED: cannot start %1: %2").arg(o.goClient, go.errorString());
        return s;
    }
    if (!go.waitForFinished(600'000)) {
        go.kill();
        go.waitForFinished(5000);
        s.line = QStringLiteral("FAILED: the Go client did not finish in 10 minutes");
        return s;
    }
    const QByteArray output = go.readAllStandardOutput();
    const qsizetype at = output.lastIndexOf("RESULT ");
    const QJsonObject j =
        at < 0 ? QJsonObject() : QJsonDocument::fromJson(output.mid(at + 7).trimmed()).object();
    if (j.isEmpty()) {
        s.line = QStringLiteral("FAILED: no result from the Go client (exit %1): %2")
                     .arg(go.exitCode())
                     .arg(QString::fromUtf8(go.readAllStandardError().right(500)));
        return s;
    }
    auto num = [&](const char *key) {
        const double v = j.value(QLatin1String(key)).toDouble(-1);
        return v < 0 ? std::nan("") : v;
    };
    const bool complete = j.value(QLatin1String("complete")).toBool();
    const QString problems = j.value(QLatin1String("problems")).toString();
    s.writesSource = j.value(QLatin1String("writes_source")).toString();
    if (w.chat == Chat::Connect) {
        if (complete) {
            s.connectSeconds = num("ready_s");
            s.usPerConnection = num("setup_server_cpu_s") * 1e6 / w.subscribers;
            s.writesPerConnection = num("setup_writes") / w.subscribers;
            s.metric = s.connectSeconds;
        }
        s.line = QStringLiteral("open %1 s  subscribed %2 s  server %3 us/connection  writes/"
                                "connection %4%5")
                     .arg(num("connect_s"), 0, 'f', 2)
                     .arg(num("ready_s"), 0, 'f', 2)
                     .arg(num("setup_server_cpu_s") * 1e6 / w.subscribers, 0, 'f', 0)
                     .arg(num("setup_writes") / w.subscribers, 0, 'f', 2)
                     .arg(complete ? QString() : QStringLiteral("  FAILED: ") + problems);
        return s;
    }
    // A chat run that lost messages or connections still shows its figures, marked.
    s.incomplete = !complete;
    if (num("delivered") > 0) {
        s.messagesPerSecond = num("deliveries_per_s");
        s.p50Ms = num("p50_ms");
        s.p99Ms = num("p99_ms");
        s.maxMs = num("max_ms");
        s.serverNs = num("server_ns_per_delivery");
        s.clientCpu = num("client_cpu_pct");
        s.writesPerDelivery = num("writes_per_delivery");
        s.wakeupsPerDelivery = num("other_writes_per_delivery");
        s.serverCpuPercent = num("server_cpu_pct");
        s.metric = w.chat == Chat::IdleCpu ? s.serverCpuPercent : s.p99Ms;
    }
    s.line = QStringLiteral("%1 msg/s  p50 %2 ms  p99 %3 ms  max %4 ms  server %5 ns/delivery  "
                            "writes/delivery %6  client cpu %7%%8")
                 .arg(num("deliveries_per_s"), 9, 'f', 0)
                 .arg(num("p50_ms"), 0, 'f', 2)
                 .arg(num("p99_ms"), 0, 'f', 2)
                 .arg(num("max_ms"), 0, 'f', 1)
                 .arg(num("server_ns_per_delivery"), 0, 'f', 0)
                 .arg(num("writes_per_delivery"), 0, 'f', 3)
                 .arg(num("client_cpu_pct"), 0, 'f', 0)
                 .arg(complete ? QString() : QStringLiteral("  INCOMPLETE: ") + problems);
    return s;
}

// The maxrate workload's search, the same for both clients: doubling from 100 msg/s per
// publisher up to --max-rate, then bisections.
RateSearchOptions searchOf(const CompareOptions &o) {
    RateSearchOptions search;
    search.startRate = 100;
    search.maxRate = o.maxRate;
    search.stepSeconds = o.stepSeconds;
    search.p99LimitMs = o.p99LimitMs;
    if (o.smokeSearch) { // 100, 200, 400 msg/s per publisher and no more
        search.maxRate = 400;
        search.bisections = 1;
    }
    return search;
}

Sample runChatLeg(const Workload &w, const Leg &leg, const CompareOptions &o) {
    Sample s;
    Deployment server;
    QString error;
    if (!server.start(leg, &error)) {
        s.line = QStringLiteral("FAILED: ") + error;
        return s;
    }
    if (leg.go && w.chat == Chat::MaxRate) {
        // The Go client runs one paced step per process: each step on a fresh server and
        // fresh connections.
        const RateSearchOptions search = searchOf(o);
        RatePlan plan(search);
        QStringList steps;
        bool first = true;
        while (true) {
            const double rate = plan.rate();
            if (!first) {
                server.stop();
                if (!server.start(leg, &error)) {
                    s.line = QStringLiteral("FAILED: ") + error;
                    return s;
                }
            }
            first = false;
            Workload step = w;
            step.chat = Chat::Paced;
            step.rate = rate * w.publishers;
            step.messages = qMax(20, int(std::lround(rate * o.stepSeconds)));
            CompareOptions unscaled = o;
            unscaled.scale = 1;
            const Sample r = runGoLeg(step, leg, unscaled, server);
            const bool ok = !r.incomplete && r.p99Ms < o.p99LimitMs;
            steps.append(QStringLiteral("%1 msg/s per publisher: %2 (%3)")
                             .arg(rate, 0, 'f', 0)
                             .arg(ok ? QStringLiteral("pass") : QStringLiteral("FAIL"), r.line));
            if (ok) {
                const double maxRate = rate;
                s = r;
                s.maxRate = maxRate;
                s.maxRateDeliveries = maxRate * w.publishers * (double(w.subscribers) / w.rooms);
                s.metric = maxRate;
            }
            if (!plan.record(ok))
                break;
        }
        server.stop();
        s.line = (std::isnan(s.maxRate) ? QStringLiteral("rate search: no rate passed")
                                        : QStringLiteral("rate search: %1 msg/s per publisher "
                                                         "sustained")
                                              .arg(s.maxRate, 0, 'f', 0)) +
                 QStringLiteral("\n      ") + steps.join(QStringLiteral("\n      "));
        return s;
    }
    if (leg.go)
        return runGoLeg(w, leg, o, server);
    LoadOptions lo;
    lo.subscribeUrl = server.subscribeUrl();
    lo.publishUrl = server.publishUrl(false);
    lo.protocol = protocolOf(leg);
    lo.channel = "room";
    lo.rooms = w.rooms;
    lo.subscribers = w.subscribers;
    lo.publishers = w.publishers;
    lo.messages = w.chat == Chat::Connect ? 0 : qMax(1, int(std::lround(w.messages * o.scale)));
    lo.rate = w.rate;
    lo.threads = o.threads;
    lo.serverPids = server.pids();
    lo.countWrites = o.countWrites;
    lo.stallSeconds = w.chat == Chat::MaxRate ? 5 : 15;
    if (w.chat == Chat::MaxRate) {
        const RateSearchOptions search = searchOf(o);
        lo.timeoutSeconds = int(o.stepSeconds * 4) + 20;
        int setups = 0;
        const RateSearchResult r =
            runRateSearch(lo, search, [&](LoadOptions &options, QString *why) {
                if (setups++ > 0) { // the first setup uses the server started above
                    server.stop();
                    if (!server.start(leg, why))
                        return false;
                    options.subscribeUrl = server.subscribeUrl();
                    options.publishUrl = server.publishUrl(false);
                    options.serverPids = server.pids();
                }
                return true;
            });
        server.stop();
        if (r.ok) {
            fill(s, r.best);
            s.maxRate = r.ratePerPublisher;
            s.maxRateDeliveries = r.deliveriesPerSecond;
            s.metric = r.ratePerPublisher;
        }
        s.line = r.summary().replace(u'\n', QStringLiteral("\n      "));
        return s;
    }
    const LoadResult r = runLoad(lo);
    server.stop();
    if (!r.error.isEmpty()) {
        s.line = QStringLiteral("FAILED: ") + r.error;
        return s;
    }
    if (w.chat == Chat::Connect) {
        s.writesSource = r.writesSource;
        if (r.complete) {
            s.connectSeconds = r.readySeconds;
            s.usPerConnection = r.setupServerCpuSeconds >= 0
                                    ? r.setupServerCpuSeconds * 1e6 / w.subscribers
                                    : std::nan("");
            s.writesPerConnection =
                r.setupWrites >= 0 ? double(r.setupWrites) / w.subscribers : std::nan("");
            s.metric = s.connectSeconds;
        }
        s.line = QStringLiteral("open %1 s  subscribed %2 s  server %3 us/connection  writes/"
                                "connection %4")
                     .arg(r.connectSeconds, 0, 'f', 2)
                     .arg(r.readySeconds, 0, 'f', 2)
                     .arg(s.usPerConnection, 0, 'f', 0)
                     .arg(s.writesPerConnection, 0, 'f', 2);
        return s;
    }
    // A chat run that lost messages or connections still shows its figures, marked.
    s.incomplete = !r.complete;
    if (r.delivered > 0) {
        fill(s, r);
        s.metric = w.chat == Chat::IdleCpu ? r.serverCpuPercent : r.p99Ms;
    }
    s.line = loadLine(r);
    return s;
}

Sample runLeg(const Workload &w, const Leg &leg, const CompareOptions &o) {
    if (w.chat != Chat::None)
        return runChatLeg(w, leg, o);
    Sample s;
    Deployment server;
    QString error;
    QStringList extraArgs;
    if (w.metric == Metric::IdleMemory) {
        // Idle means idle: no keepalive pings (a pong read would also drop the socket's read
        // buffer and flatter lhttpd-qt), and no idle timeout (opening 15,000 connections on a
        // busy machine can take longer than its minute). Neither keeps state per connection,
        // so switching them off changes nothing that is measured.
        extraArgs += {QStringLiteral("--idle-timeout"), QStringLiteral("0"),
                      QStringLiteral("--ping-interval"), QStringLiteral("0")};
    }
    if (!server.start(leg, &error, extraArgs)) {
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
    lo.protocol = protocolOf(leg);
    lo.subscribers = w.subscribers;
    lo.publishers = 1;
    lo.messages = qMax(1, int(std::lround(w.messages * o.scale)));
    lo.rate = w.rate;
    lo.threads = o.threads;
    const int window = o.httpWindow > 0 ? o.httpWindow : w.httpWindow;
    lo.httpWindow = window > 0 ? window : lo.messages;
    lo.serverPids = server.pids();
    lo.countWrites = o.countWrites;
    const LoadResult r = runLoad(lo);
    server.stop();
    if (!r.error.isEmpty()) {
        s.line = QStringLiteral("FAILED: ") + r.error;
        return s;
    }
    if (r.complete) {
        fill(s, r);
        s.metric = w.metric == Metric::P99 ? r.p99Ms : r.messagesPerSecond;
    }
    s.line = loadLine(r);
    return s;
}

QList<Workload> selected(const CompareOptions &o, QString *error) {
    const QList<Workload> all =
        allWorkloads(o.idleConnections, o.chatConnections, o.restConnections);
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

using Samples = QHash<QString, QHash<QString, QList<Sample>>>;

// Server ns per delivery in the summary: "-" where there were no deliveries (connect).
QString nsCell(double ns) {
    return std::isnan(ns) ? QStringLiteral("-") : QString::number(ns, 'f', 0);
}

QList<double> column(const QList<Sample> &list, double Sample::*field) {
    QList<double> v;
    for (const Sample &s : list)
        v.append(s.*field);
    return v;
}

// One table for the chat workloads: medians of every figure each of them has; "-" where a
// figure does not apply, "n/a" where it could not be measured.
void printChatTable(const QList<Workload> &workloads, const CompareOptions &o,
                    const Samples &samples) {
    bool any = false;
    for (const Workload &w : workloads)
        any = any || w.chat != Chat::None;
    if (!any)
        return;
    auto cell = [](double v, int decimals) {
        return std::isnan(v) ? QStringLiteral("n/a") : QString::number(v, 'f', decimals);
    };
    out(QString());
    out(QStringLiteral("# chat-like workloads (issue 13), medians; latency from the scheduled "
                       "send time; writes = the server's write/writev/sendmsg/sendto calls"));
    out(QStringLiteral("| workload | server (client) | deliveries/s | p50 ms | p99 ms | max ms | "
                       "server us/delivery | writes/delivery (+ wake-ups) | connect s | server "
                       "us/connection "
                       "| writes/connection | max msg/s per publisher (deliveries/s) | server "
                       "% CPU | client % CPU |"));
    out(QStringLiteral("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
                       "| --- | --- |"));
    const QString none = QStringLiteral("-");
    for (const Workload &w : workloads) {
        if (w.chat == Chat::None)
            continue;
        for (const Leg &leg : legsOf(w, o)) {
            const QList<Sample> &l = samples[w.key][leg.label];
            const bool connect = w.chat == Chat::Connect;
            const bool load = !connect;
            auto m = [&](double Sample::*f) { return median(column(l, f)); };
            QString label = leg.go ? leg.label : leg.label + QStringLiteral(" (lhttp-bench)");
            const auto incomplete =
                std::count_if(l.begin(), l.end(), [](const Sample &x) { return x.incomplete; });
            if (incomplete)
                label += QStringLiteral(" [%1 of %2 runs lost messages or connections]")
                             .arg(incomplete)
                             .arg(l.size());
            out(QStringLiteral("| %1 | %2 | %3 | %4 | %5 | %6 | %7 | %8 | %9 | %10 | %11 | %12 | "
                               "%13 | %14 |")
                    .arg(w.key, label)
                    .arg(load ? cell(m(&Sample::messagesPerSecond), 0) : none)
                    .arg(load ? cell(m(&Sample::p50Ms), 2) : none)
                    .arg(load ? cell(m(&Sample::p99Ms), 2) : none)
                    .arg(load ? cell(m(&Sample::maxMs), 1) : none)
                    .arg(load ? cell(m(&Sample::serverNs) / 1000, 2) : none)
                    .arg(load ? cell(m(&Sample::writesPerDelivery), 3) + QStringLiteral(" (+") +
                                    cell(m(&Sample::wakeupsPerDelivery), 3) + u')'
                              : none)
                    .arg(connect ? cell(m(&Sample::connectSeconds), 2) : none)
                    .arg(connect ? cell(m(&Sample::usPerConnection), 0) : none)
                    .arg(connect ? cell(m(&Sample::writesPerConnection), 2) : none)
                    .arg(w.chat == Chat::MaxRate
                             ? cell(m(&Sample::maxRate), 0) + QStringLiteral(" (") +
                                   cell(m(&Sample::maxRateDeliveries), 0) + u')'
                             : none)
                    .arg(load ? cell(m(&Sample::serverCpuPercent), 1) : none)
                    .arg(load ? cell(m(&Sample::clientCpu), 0) : none));
        }
    }
}

} // namespace

int runCompare(const CompareOptions &o) {
    QString error;
    const QList<Workload> workloads = selected(o, &error);
    if (!error.isEmpty()) {
        out(QStringLiteral("lhttp-bench: ") + error);
        return 2;
    }
    // Every process of a leg (this one, the Go client, the server) holds one descriptor per
    // connection; say so now rather than after an hour of rounds.
    const qint64 files = raiseOpenFileLimit();
    int connections = 0;
    for (const Workload &w : workloads)
        connections = qMax(connections, w.subscribers + w.publishers);
    if (files >= 0 && connections + OpenFileMargin > files) {
        out(QStringLiteral("lhttp-bench: %1 connections need about %2 open files per process; "
                           "the limit is %3 (raise `ulimit -n`, at most to `ulimit -Hn`)")
                .arg(connections)
                .arg(connections + OpenFileMargin)
                .arg(files));
        return 2;
    }
    out(QStringLiteral("# lhttp-bench compare: %1 rounds, %2 load threads, lhttpd-qt = %3%4")
            .arg(o.rounds)
            .arg(o.threads)
            .arg(o.lhttpdPath, o.candidatePath.isEmpty()
                                   ? QString()
                                   : QStringLiteral(", candidate = ") + o.candidatePath));
    QStringList legs;
    for (const Subject &s : subjectsOf(o))
        legs.append(QStringLiteral("%1 [%2]").arg(s.label, s.args.join(u' ')));
    out(QStringLiteral("# lhttpd-qt legs and their extra flags: ") +
        legs.join(QStringLiteral(", ")));
    out(QStringLiteral("# %1, %2 CPUs, Qt %3, load average at start %4")
            .arg(QDateTime::currentDateTime().toString(Qt::ISODate))
            .arg(QThread::idealThreadCount())
            .arg(QString::fromLatin1(qVersion()), loadAverage()));

    // samples[workload][leg]: one per round
    Samples samples;
    for (int round = 1; round <= o.rounds; ++round) {
        for (const Workload &w : workloads) {
            QList<Leg> legs = legsOf(w, o);
            // Rotate the order so drift favours no one (two legs: they alternate).
            if (!legs.isEmpty())
                std::rotate(legs.begin(), legs.begin() + (round - 1) % legs.size(), legs.end());
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
            const auto &ran = samples[w.key];
            if (!ran.contains(ratio.numerator) ||
                (!ratio.denominator.isEmpty() && !ran.contains(ratio.denominator)))
                continue; // a leg left out by --servers or --clients
            const QList<Sample> &b = samples[w.key][ratio.numerator];
            const QList<double> vb = column(b, &Sample::metric);
            const double mb = median(vb);
            if (ratio.denominator.isEmpty()) { // a figure on its own
                out(QStringLiteral("| %1 | %2 | | %3 %4 | | %5 | / %6 |")
                        .arg(w.title, unit(w.metric), ratio.numerator, number(mb, w.metric),
                             w.target)
                        .arg(nsCell(median(column(b, &Sample::serverNs)))));
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
                    .arg(nsCell(median(column(a, &Sample::serverNs))))
                    .arg(nsCell(median(column(b, &Sample::serverNs)))));
        }
    }

    const bool loads = std::any_of(workloads.begin(), workloads.end(), [](const Workload &w) {
        return w.metric != Metric::IdleMemory && w.chat == Chat::None;
    });
    if (loads) {
        out(QString());
        out(QStringLiteral("| workload | server | msg/s | p50 ms | p99 ms | server ns/delivery | "
                           "writes/delivery | client cpu % |"));
        out(QStringLiteral("| --- | --- | --- | --- | --- | --- | --- | --- |"));
    }
    for (const Workload &w : workloads) {
        if (w.metric == Metric::IdleMemory || w.chat != Chat::None)
            continue;
        for (const Leg &leg : legsOf(w, o)) {
            const QList<Sample> &list = samples[w.key][leg.label];
            out(QStringLiteral("| %1 | %2 | %3 | %4 | %5 | %6 | %7 | %8 |")
                    .arg(w.key, leg.label)
                    .arg(median(column(list, &Sample::messagesPerSecond)), 0, 'f', 0)
                    .arg(median(column(list, &Sample::p50Ms)), 0, 'f', 2)
                    .arg(median(column(list, &Sample::p99Ms)), 0, 'f', 2)
                    .arg(median(column(list, &Sample::serverNs)), 0, 'f', 0)
                    .arg(median(column(list, &Sample::writesPerDelivery)), 0, 'f', 3)
                    .arg(median(column(list, &Sample::clientCpu)), 0, 'f', 0));
        }
    }
    printChatTable(workloads, o, samples);
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
    const Subject lhttpd{Lhttpd, o.lhttpdPath, o.lhttpdArgs};
    const Leg lhttpdWs = lhttpdLeg(lhttpd);
    const Leg lhttpdHttp = lhttpdLeg(lhttpd, PostSuffix, true);
    const Leg lhttpdCluster = lhttpdLeg(lhttpd, ClusterSuffix, false, true);
    const Leg lhttpdSubscribed = lhttpdLeg(lhttpd, SubscribedSuffix, false, false, true);
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
        out(QStringLiteral("== %1: skipped (no nats-server)").arg(lhttpdCluster.label));
    for (const Case &c : cases) {
        Deployment server;
        QString error;
        if (!server.start(c.leg, &error)) {
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
        if (!server.start(leg, &error)) {
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

    // The chat-like modes at tiny sizes: paced publishers over rooms, connect-only, the rate
    // search, at rest, on every server (nats-server when installed; lhttpd-qt once per
    // --lhttpd-variant), with this tool's client and the Go one when given.
    if (!natsInstalled())
        out(QStringLiteral("== nats-server legs: skipped (no nats-server)"));
    Workload chatShape;
    chatShape.metric = Metric::P99;
    chatShape.chat = Chat::Paced;
    const QList<Leg> chatLegs = legsOf(chatShape, o);
    for (const Leg &leg : chatLegs) {
        for (const Chat chat : {Chat::Paced, Chat::Connect, Chat::MaxRate, Chat::IdleCpu}) {
            Workload w;
            w.chat = chat;
            w.subscribers = 40;
            w.rooms = 4;
            w.publishers = 2;
            w.messages = 20;
            w.rate = 200;
            w.key = chat == Chat::Paced     ? QStringLiteral("paced")
                    : chat == Chat::Connect ? QStringLiteral("connect")
                    : chat == Chat::MaxRate ? QStringLiteral("maxrate")
                                            : QStringLiteral("idlecpu");
            CompareOptions tiny = o;
            tiny.scale = 1;
            tiny.stepSeconds = 0.3;
            tiny.smokeSearch = true;
            const Sample s = runChatLeg(w, leg, tiny);
            const bool ok = !std::isnan(s.metric);
            check(QStringLiteral("%1 %2").arg(leg.label, w.key), ok, s.line);
        }
    }
    out(failures ? QStringLiteral("smoke: %1 FAILED").arg(failures)
                 : QStringLiteral("smoke: all ok"));
    return failures ? 1 : 0;
}

QStringList workloadKeys() {
    QStringList keys;
    for (const Workload &w : allWorkloads(0, 0, 0))
        keys.append(w.key);
    return keys;
}

} // namespace bench

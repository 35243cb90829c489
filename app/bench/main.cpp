// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// lhttp-bench: a load generator for lhttpd-qt, the QtWebSockets reference server it is
// measured against, and the harness that runs the two in alternation. See docs/BENCHMARKS.md.

#include "compare.h"
#include "loadrun.h"
#include "presencerun.h"
#include "recoverrun.h"
#include "referenceserver.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QThread>

#include <csignal>
#include <cstdio>
#include <cstdlib>

using namespace bench;

namespace {

struct Flag {
    const char *name;
    const char *valueName; // nullptr: a switch
    const char *help;
};

const Flag Flags[] = {
    {"url", "url", "load, idle: the server (default ws://127.0.0.1:8081/)."},
    {"subscribe-url", "url", "load: where subscribers connect (default: --url)."},
    {"publish-url", "url",
     "load: where publishers send; ws://… publishes over WebSocket, http://…/publish POSTs "
     "(default: --url)."},
    {"protocol", "name",
     "load: lhttp (lhttpd-qt, the reference) or nats (NATS protocol over WebSocket, for "
     "nats-server's WebSocket listener) (default lhttp)."},
    {"rooms", "n",
     "load, recover: spread the subscribers over N rooms <channel>.0 … <channel>.N-1 (subscriber i "
     "in "
     "room i mod N); publishers send round-robin over the rooms (default 0: one channel)."},
    {"subscribers", "n", "load: subscriber connections (default 100)."},
    {"publishers", "n", "load: publisher connections (default 1)."},
    {"messages", "n",
     "load: messages per publisher (default 2000); 0: only connect and subscribe, and report "
     "the time and the server's CPU and write calls for that."},
    {"payload", "bytes", "load: body bytes per message, at least 31 (default 64)."},
    {"rate", "msg/s",
     "load: total publish rate, paced (latency counts from each message's scheduled send "
     "time); 0 = as fast as possible (default 0)."},
    {"search", nullptr,
     "load: search the highest paced rate the server sustains (p99 under --p99-limit, nothing "
     "lost): doubling from --rate (per publisher: --rate / --publishers), then bisection."},
    {"step-seconds", "s", "load --search, compare: length of one search step (default 3)."},
    {"p99-limit", "ms",
     "load --search, compare: the p99 a sustained rate stays under (default 50)."},
    {"max-rate", "msg/s",
     "load --search, compare: the search's ceiling, msg/s per publisher; a rate that passes "
     "there ends the search (default 100000)."},
    {"count-writes", "how",
     "load, compare: count the server's write system calls in the measured phase: perf (perf "
     "stat on syscalls:sys_enter_{write,writev,sendmsg,sendto}), proc (/proc/PID/io syscw), "
     "auto (perf if it works, else proc) or off (default auto)."},
    {"channel", "name", "load, idle: the channel (default bench)."},
    {"threads", "n", "load threads, each with its own event loop (default: CPU count)."},
    {"http-window", "n",
     "load: POST requests in flight per HTTP publisher (default 32); compare: the same for the "
     "POST workloads (default: each workload's own, see BENCHMARKS.md)."},
    {"per-source", "n",
     "connections per 127.0.0.x source address for loopback targets (default 1000)."},
    {"connect-window", "n", "handshakes in flight (default 64)."},
    {"timeout", "s", "load: longest measured phase (default 120)."},
    {"stall", "s",
     "load: give up when nothing is delivered or published for this long (default 15; raise "
     "it under valgrind)."},
    {"server-pid", "pid",
     "load: report this process's CPU (a comma-separated list is summed, e.g. two cluster "
     "nodes and nats-server); idle: required (its RSS)."},
    {"on-ready", "command",
     "load: shell command run right before the measured phase (e.g. callgrind_control -z)."},
    {"on-done", "command", "load: shell command run right after the measured phase."},
    {"connections", "n", "idle: connections to open (default 10000); recover: clients (5000)."},
    {"idle-subscribe", nullptr, "idle: connections also subscribe to the channel."},
    {"burst", nullptr,
     "idle: after the warm-up, all connections start their handshake at once (a mass "
     "reconnect) instead of --connect-window at a time."},
    {"settle", "s",
     "idle, compare: seconds from the last connection open to the RSS reading, also waited "
     "after the warm-up (default 1.5)."},
    {"listen", "address", "reference: address to listen on (default 127.0.0.1)."},
    {"port", "port", "reference: port (default 8081)."},
    {"lhttpd", "path",
     "compare, smoke: lhttpd-qt binary (default $LHTTPD_BIN, else ../lhttpd/lhttpd-qt next "
     "to this tool)."},
    {"candidate", "path",
     "compare: a second lhttpd-qt build (e.g. with a proposed change) measured in the same "
     "rounds."},
    {"rounds", "n", "compare: alternating rounds (default 5)."},
    {"workloads", "list",
     "compare: comma-separated subset of the workloads (default: all; cluster100 only when "
     "nats-server is installed). See the list mode."},
    {"idle-connections", "n",
     "compare: connections for the idle memory workload (default "
     "10000)."},
    {"scale", "factor", "compare: multiply every message count (default 1)."},
    {"servers", "list",
     "compare: which servers run the workloads that all three can run: reference, lhttpd-qt, "
     "nats-server (default: all three; nats-server only when installed). A leg's label names "
     "that leg alone, e.g. 'lhttpd-qt (go client)' for the Go client's lhttpd-qt leg."},
    {"lhttpd-args", "args",
     "compare, smoke: extra flags for every lhttpd-qt leg, one string split like a shell "
     "command line (e.g. '--threads 2'); passed through unchecked."},
    {"lhttpd-variant", "label=flags",
     "compare, smoke: measure lhttpd-qt once per variant, as legs labelled 'lhttpd-qt LABEL' "
     "with FLAGS (split like a shell command line) after --lhttpd-args; repeatable, e.g. "
     "--lhttpd-variant 't1=--threads 1' --lhttpd-variant 't2=--threads 2' (default: one "
     "'lhttpd-qt' leg)."},
    {"clients", "list",
     "compare: which clients drive the three-server workloads: lhttp-bench, go (default: both; "
     "go with --go-client, in the chat workloads only)."},
    {"idlecpu-connections", "n",
     "compare: connections of the idlecpu workload, at rest in rooms of 10 (default 5000)."},
    {"go-client", "path",
     "compare, smoke: the Go client (app/bench/goclient, scripts/bench-chat.sh builds it); adds "
     "its "
     "legs to the chat workloads."},
    {"kill", "command",
     "recover: shell command that stops the node the clients are on (waited for)."},
    {"start", "command",
     "recover: shell command that starts it again and returns once it listens."},
    {"pid-file", "file", "recover: where --start writes the new node's PID (its peak RSS)."},
    {"before", "n", "recover: messages per room before the restart (default 5)."},
    {"during", "n", "recover: messages per room while the node is down (default 5)."},
    {"cluster", nullptr,
     "presence: two lhttpd-qt nodes joined through a nats-server (started here), clients on "
     "both."},
    {"presence-info", "text",
     "presence: the presence-info each client sends with its subscribe (default "
     "{\"name\":\"bench user\"}; empty: none)."},
    {"presence-pattern", "pattern", "presence: the --presence namespace (default room.>)."},
    {"variants", "list", "presence: plain, presence or both (default plain,presence)."},
    {"chat-connections", "n",
     "compare: subscriber connections of the rooms, connect and maxrate workloads (default "
     "10000; rooms of 10)."},
};

int fail(const QString &message) {
    std::fprintf(stderr, "lhttp-bench: %s\n", qPrintable(message));
    return 2;
}

QString defaultLhttpd() {
    const QString env = qEnvironmentVariable("LHTTPD_BIN");
    if (!env.isEmpty())
        return env;
    return QDir(QCoreApplication::applicationDirPath())
        .absoluteFilePath(QStringLiteral("../lhttpd/lhttpd-qt"));
}

} // namespace

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("lhttp-bench"));
    QCoreApplication::setApplicationVersion(QStringLiteral(LHTTP_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Load generator, reference server and comparison harness for lhttpd-qt.\n\n"
        "Modes:\n"
        "  load       S subscribers, P publishers x M messages against a running server\n"
        "  idle       N idle connections; the server's RSS growth per connection\n"
        "             (--burst: all handshakes at once)\n"
        "  reference  the floor: a QWebSocketServer that rebroadcasts every message\n"
        "  compare    the issue-8 and chat-like (issue 13) workloads against the reference,\n"
        "             lhttpd-qt and nats-server (and a two-node cluster through nats-server),\n"
        "             alternating, in rounds\n"
        "  smoke      a quick correctness run of every mode on every server (the test\n"
        "             suite runs it; nats-server legs when it is installed)\n"
        "  recover    N clients on history rooms, a node restart (--kill, --start), the time\n"
        "             until every client recovered what it missed and is live again\n"
        "  presence   N clients subscribe to presence rooms, lhttpd-qt with and without\n"
        "             --presence (or a two-node cluster): connect+subscribe rate, join\n"
        "             events, presence-stats, RSS per idle client\n"
        "  list       the compare workloads"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(
        QStringLiteral("mode"),
        QStringLiteral("load, idle, reference, compare, smoke, recover, presence, list"));
    for (const Flag &f : Flags) {
        const QString name = QString::fromLatin1(f.name);
        if (f.valueName)
            parser.addOption(QCommandLineOption(name, QString::fromLatin1(f.help),
                                                QString::fromLatin1(f.valueName)));
        else
            parser.addOption(QCommandLineOption(name, QString::fromLatin1(f.help)));
    }
    parser.process(app);
    // One descriptor per connection, in this process and in the servers and the Go client it
    // starts: take what the hard limit allows.
    raiseOpenFileLimit();
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1)
        return fail(QStringLiteral("give exactly one mode (see --help)"));
    const QString mode = positional.first();

    bool ok = true;
    auto number = [&](const char *name, double fallback, double min, double max) {
        const QString key = QString::fromLatin1(name);
        if (!parser.isSet(key))
            return fallback;
        bool good = false;
        const double v = parser.value(key).toDouble(&good);
        if (!good || v < min || v > max) {
            fail(QStringLiteral("--%1 must be a number from %2 to %3").arg(key).arg(min).arg(max));
            ok = false;
        }
        return v;
    };
    auto url = [&](const char *name, const QUrl &fallback) {
        const QString key = QString::fromLatin1(name);
        if (!parser.isSet(key))
            return fallback;
        const QUrl u(parser.value(key));
        if (!u.isValid() || u.host().isEmpty() || u.port() <= 0) {
            fail(QStringLiteral("--%1 needs a URL with host and port").arg(key));
            ok = false;
        }
        return u;
    };
    const int threads = int(number("threads", qMax(1, QThread::idealThreadCount()), 1, 64));
    const int perSource = int(number("per-source", 1000, 1, 60000));
    const int connectWindow = int(number("connect-window", 64, 1, 10000));
    const QUrl baseUrl = url("url", QUrl(QStringLiteral("ws://127.0.0.1:8081/")));
    const QByteArray channel = parser.isSet(QStringLiteral("channel"))
                                   ? parser.value(QStringLiteral("channel")).toUtf8()
                                   : QByteArray("bench");

    if (mode == u"load") {
        LoadOptions o;
        o.subscribeUrl = url("subscribe-url", baseUrl);
        o.publishUrl = url("publish-url", baseUrl);
        o.channel = channel;
        o.subscribers = int(number("subscribers", 100, 1, 1e6));
        o.publishers = int(number("publishers", 1, 1, 65535));
        o.messages = int(number("messages", 2000, 0, 1e9));
        o.rooms = int(number("rooms", 0, 0, 1e6));
        const QString protocol = parser.value(QStringLiteral("protocol"));
        if (protocol == u"nats")
            o.protocol = Protocol::Nats;
        else if (!protocol.isEmpty() && protocol != u"lhttp")
            return fail(QStringLiteral("--protocol is lhttp or nats"));
        if (!WriteCounter::parseMode(parser.isSet(QStringLiteral("count-writes"))
                                         ? parser.value(QStringLiteral("count-writes"))
                                         : QStringLiteral("auto"),
                                     &o.countWrites))
            return fail(QStringLiteral("--count-writes is auto, perf, proc or off"));
        o.payload = int(number("payload", 64, 0, 60000));
        o.rate = number("rate", 0, 0, 1e9);
        o.threads = threads;
        o.httpWindow = int(number("http-window", 32, 1, 100000));
        o.connectionsPerSource = perSource;
        o.connectWindow = connectWindow;
        o.timeoutSeconds = int(number("timeout", 120, 1, 86400));
        o.stallSeconds = int(number("stall", 15, 1, 86400));
        for (const QString &pid : parser.value(QStringLiteral("server-pid"))
                                      .split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool good = false;
            o.serverPids.append(pid.trimmed().toLongLong(&good));
            if (!good || o.serverPids.last() <= 0)
                return fail(QStringLiteral("--server-pid takes process ids, comma-separated"));
        }
        o.onReady = parser.value(QStringLiteral("on-ready"));
        o.onDone = parser.value(QStringLiteral("on-done"));
        RateSearchOptions search;
        search.stepSeconds = number("step-seconds", 3, 0.1, 3600);
        search.p99LimitMs = number("p99-limit", 50, 0.001, 1e6);
        search.maxRate = number("max-rate", 100000, 1, 1e9);
        if (!ok)
            return 2;
        if (parser.isSet(QStringLiteral("search"))) {
            if (o.rate > 0)
                search.startRate = o.rate / o.publishers;
            const RateSearchResult r = runRateSearch(o, search);
            std::printf("%s\n", qPrintable(r.summary()));
            return r.ok ? 0 : 1;
        }
        const LoadResult r = runLoad(o);
        std::printf("%s\n", qPrintable(r.summary()));
        return r.error.isEmpty() && r.complete ? 0 : 1;
    }
    if (mode == u"idle") {
        IdleOptions o;
        o.url = baseUrl;
        o.channel = channel;
        o.connections = int(number("connections", 10000, 1, 1e6));
        o.subscribe = parser.isSet(QStringLiteral("idle-subscribe"));
        o.threads = threads;
        o.connectionsPerSource = perSource;
        o.connectWindow = connectWindow;
        o.burst = parser.isSet(QStringLiteral("burst"));
        o.settleMs = int(number("settle", 1.5, 0, 3600) * 1000);
        o.serverPid = qint64(number("server-pid", 0, 0, 1e12));
        if (!ok)
            return 2;
        const IdleResult r = runIdle(o);
        std::printf("%s\n", qPrintable(r.summary()));
        return r.ok ? 0 : 1;
    }
    if (mode == u"reference") {
        const QString address = parser.isSet(QStringLiteral("listen"))
                                    ? parser.value(QStringLiteral("listen"))
                                    : QStringLiteral("127.0.0.1");
        const int port = int(number("port", 8081, 0, 65535));
        if (!ok)
            return 2;
        ReferenceServer server;
        if (!server.listen(QHostAddress(address), quint16(port)))
            return fail(QStringLiteral("cannot listen on %1 port %2: %3")
                            .arg(address)
                            .arg(port)
                            .arg(server.errorString()));
        // SIGTERM ends it at once (nothing to flush); _exit is async-signal-safe.
        std::signal(SIGTERM, [](int) { std::_Exit(0); });
        std::printf("reference server listening on %s port %u\n", qPrintable(address),
                    unsigned(server.port()));
        std::fflush(stdout);
        return app.exec();
    }
    if (mode == u"compare" || mode == u"smoke") {
        CompareOptions o;
        o.lhttpdPath = parser.isSet(QStringLiteral("lhttpd"))
                           ? parser.value(QStringLiteral("lhttpd"))
                           : defaultLhttpd();
        o.candidatePath = parser.value(QStringLiteral("candidate"));
        o.rounds = int(number("rounds", 5, 1, 1000));
        o.threads = threads;
        o.idleConnections = int(number("idle-connections", 10000, 1, 1e6));
        o.idleSettleMs = int(number("settle", 1.5, 0, 3600) * 1000);
        o.scale = number("scale", 1, 1e-6, 1e6);
        o.httpWindow = int(number("http-window", 0, 0, 1000000));
        o.stepSeconds = number("step-seconds", 3, 0.1, 3600);
        o.p99LimitMs = number("p99-limit", 50, 0.001, 1e6);
        o.maxRate = number("max-rate", 100000, 1, 1e9);
        o.chatConnections = int(number("chat-connections", 10000, 10, 1e6));
        o.restConnections = int(number("idlecpu-connections", 5000, 10, 1e6));
        o.lhttpdArgs = QProcess::splitCommand(parser.value(QStringLiteral("lhttpd-args")));
        for (const QString &v : parser.values(QStringLiteral("lhttpd-variant"))) {
            const qsizetype eq = v.indexOf(u'=');
            const QString label = v.left(eq).trimmed();
            if (eq <= 0 || label.isEmpty())
                return fail(QStringLiteral("--lhttpd-variant takes LABEL=FLAGS, e.g. "
                                           "'t2=--threads 2'"));
            o.lhttpdVariants.append({label, QProcess::splitCommand(v.mid(eq + 1))});
        }
        if (parser.isSet(QStringLiteral("clients"))) {
            o.clients =
                parser.value(QStringLiteral("clients")).split(QLatin1Char(','), Qt::SkipEmptyParts);
            for (const QString &c : o.clients) {
                if (c != u"lhttp-bench" && c != u"go")
                    return fail(QStringLiteral("--clients takes lhttp-bench and go"));
            }
            if (o.clients.contains(QStringLiteral("go")) &&
                parser.value(QStringLiteral("go-client")).isEmpty())
                return fail(QStringLiteral("--clients go needs --go-client"));
        }
        o.goClient = parser.value(QStringLiteral("go-client"));
        if (parser.isSet(QStringLiteral("servers")))
            o.servers =
                parser.value(QStringLiteral("servers")).split(QLatin1Char(','), Qt::SkipEmptyParts);
        if (!WriteCounter::parseMode(parser.isSet(QStringLiteral("count-writes"))
                                         ? parser.value(QStringLiteral("count-writes"))
                                         : QStringLiteral("auto"),
                                     &o.countWrites))
            return fail(QStringLiteral("--count-writes is auto, perf, proc or off"));
        if (parser.isSet(QStringLiteral("workloads")))
            o.workloads = parser.value(QStringLiteral("workloads"))
                              .split(QLatin1Char(','), Qt::SkipEmptyParts);
        if (!ok)
            return 2;
        if (!QFileInfo(o.lhttpdPath).isExecutable())
            return fail(QStringLiteral("no lhttpd-qt at %1 (use --lhttpd)").arg(o.lhttpdPath));
        if (!o.candidatePath.isEmpty() && !QFileInfo(o.candidatePath).isExecutable())
            return fail(QStringLiteral("no executable at %1 (--candidate)").arg(o.candidatePath));
        return mode == u"compare" ? runCompare(o) : runSmoke(o);
    }
    if (mode == u"recover") {
        RecoverOptions o;
        o.url = baseUrl;
        o.publishUrl = url("publish-url", baseUrl);
        o.channel = parser.isSet(QStringLiteral("channel")) ? channel : QByteArray("room");
        o.clients = int(number("connections", 5000, 1, 1e6));
        o.rooms = int(number("rooms", 500, 1, 1e6));
        o.before = int(number("before", 5, 1, 1e6));
        o.during = int(number("during", 5, 0, 1e6));
        o.killCommand = parser.value(QStringLiteral("kill"));
        o.startCommand = parser.value(QStringLiteral("start"));
        o.pidFile = parser.value(QStringLiteral("pid-file"));
        o.timeoutSeconds = int(number("timeout", 120, 1, 86400));
        if (!ok)
            return 2;
        if (o.killCommand.isEmpty() || o.startCommand.isEmpty())
            return fail(QStringLiteral("recover needs --kill and --start"));
        const RecoverResult r = runRecover(o);
        std::printf("%s\n", qPrintable(r.summary()));
        return r.ok ? 0 : 1;
    }
    if (mode == u"presence") {
        PresenceOptions o;
        o.lhttpdPath = parser.isSet(QStringLiteral("lhttpd"))
                           ? parser.value(QStringLiteral("lhttpd"))
                           : defaultLhttpd();
        o.lhttpdArgs = QProcess::splitCommand(parser.value(QStringLiteral("lhttpd-args")));
        o.connections = int(number("connections", 10000, 1, 1e6));
        o.rounds = int(number("rounds", 3, 1, 1000));
        o.threads = threads;
        o.connectionsPerSource = perSource;
        o.connectWindow = connectWindow;
        o.settleMs = int(number("settle", 3, 0, 3600) * 1000);
        o.timeoutSeconds = int(number("timeout", 120, 1, 86400));
        o.cluster = parser.isSet(QStringLiteral("cluster"));
        if (parser.isSet(QStringLiteral("rooms"))) {
            o.rooms.clear();
            for (const QString &r : parser.value(QStringLiteral("rooms"))
                                        .split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                bool good = false;
                o.rooms.append(r.toInt(&good));
                if (!good || o.rooms.last() < 1 || o.rooms.last() > 120)
                    return fail(QStringLiteral("presence: --rooms takes counts from 1 to 120, "
                                               "comma-separated"));
            }
        }
        if (parser.isSet(QStringLiteral("presence-info")))
            o.info = parser.value(QStringLiteral("presence-info")).toUtf8();
        if (parser.isSet(QStringLiteral("presence-pattern")))
            o.pattern = parser.value(QStringLiteral("presence-pattern")).toUtf8();
        if (parser.isSet(QStringLiteral("variants")))
            o.variants = parser.value(QStringLiteral("variants"))
                             .split(QLatin1Char(','), Qt::SkipEmptyParts);
        for (const QString &v : std::as_const(o.variants)) {
            if (v != u"plain" && v != u"presence")
                return fail(QStringLiteral("--variants takes plain and presence"));
        }
        if (!ok)
            return 2;
        if (!QFileInfo(o.lhttpdPath).isExecutable())
            return fail(QStringLiteral("no lhttpd-qt at %1 (use --lhttpd)").arg(o.lhttpdPath));
        return runPresence(o);
    }
    if (mode == u"list") {
        for (const QString &k : workloadKeys())
            std::printf("%s\n", qPrintable(k));
        return 0;
    }
    return fail(QStringLiteral("unknown mode '%1' (see --help)").arg(mode));
}

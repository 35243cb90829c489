// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// lhttp-soak: connect/subscribe/publish/disconnect churn against running lhttpd-qt nodes, then
// the leak checks. scripts/soak.sh starts the nodes and NATS (and restarts NATS during the
// run); docs/RELIABILITY.md says what the figures mean.
//
// Phases: warm-up churn; all clients leave and the nodes' gauges must reach zero, when the
// baseline RSS of each node is taken; the main churn; a cross-node delivery probe (the cluster
// healed after the NATS restarts); all clients leave again, and then every node must report
// zero connections, channels and subscriptions, NATS must hold zero subscriptions of the
// nodes, and each node's RSS must be within the tolerance of its baseline.
//
// Each of --clients slots runs clients one after another: connect to a node (round robin),
// subscribe to 1-3 of --channels channels, publish at random intervals to one of them, now and
// then unsubscribe or send a malformed message (which must be answered with error 400), and
// after a random lifetime leave: a clean close, unsubscribe-then-close, or a TCP abort without
// a close frame. Receivers check that each publisher's messages on a channel arrive in order
// and never twice (NATS restarts may lose some, never reorder them).

#include "message.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRandomGenerator>
#include <QTcpServer>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace {

constexpr int TickMs = 20;
constexpr int HttpTimeoutMs = 5'000;
constexpr int ProbeTimeoutMs = 30'000;
constexpr int CloseTimeoutMs = 10'000;

struct Options {
    QList<QUrl> nodes;
    QUrl natsMonitor;
    int clients = 300;
    int warmupSeconds = 30;
    int durationSeconds = 600;
    int channels = 40;
    int publishIntervalMs = 1'500;
    int minLifetimeMs = 1'000;
    int maxLifetimeMs = 10'000;
    int settleSeconds = 30;
    int progressSeconds = 10;
    double rssTolerance = 0.10;
    QString phaseFile;
};

struct Stats {
    quint64 connects = 0;
    quint64 connectFailures = 0;
    quint64 gracefulCloses = 0;
    quint64 unsubscribeCloses = 0;
    quint64 aborts = 0;
    quint64 serverCloses = 0; // closed by the server while we did not ask: a violation
    quint64 subscribes = 0;
    quint64 unsubscribes = 0;
    quint64 published = 0;
    quint64 received = 0;
    quint64 malformedSent = 0;
    quint64 expectedErrors = 0;
    quint64 abandonedErrors = 0;  // malformed, then a TCP abort before the reply could come
    quint64 unansweredErrors = 0; // malformed, then a clean close without the reply: a violation
    quint64 unexpectedErrors = 0;
    quint64 orderViolations = 0;
    std::map<int, quint64> errorCodes;
};

void say(const char *format, const QByteArray &text) {
    std::printf(format, text.constData());
    std::fflush(stdout);
}

void sleepMs(int ms) {
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

// Runs the event loop until `done` holds or `timeoutMs` passes; returns whether it holds.
bool waitFor(const std::function<bool()> &done, int timeoutMs, int pollMs = 100) {
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > timeoutMs)
            return false;
        sleepMs(pollMs);
    }
    return true;
}

QByteArray httpGet(QNetworkAccessManager &nam, const QUrl &url, bool *ok) {
    QNetworkRequest request(url);
    request.setTransferTimeout(HttpTimeoutMs);
    QNetworkReply *reply = nam.get(request);
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    loop.exec();
    *ok = reply->error() == QNetworkReply::NoError;
    const QByteArray body = reply->readAll();
    reply->deleteLater();
    return body;
}

// The samples of a Prometheus text exposition, by name with labels as written
// (`lhttp_channels`, `lhttp_broker_state{state="connected"}`).
QHash<QByteArray, double> parseMetrics(const QByteArray &text) {
    QHash<QByteArray, double> out;
    for (const QByteArray &line : text.split('\n')) {
        if (line.isEmpty() || line.startsWith('#'))
            continue;
        const qsizetype space = line.lastIndexOf(' ');
        if (space <= 0)
            continue;
        bool ok = false;
        const double v = line.mid(space + 1).trimmed().toDouble(&ok);
        if (ok)
            out.insert(line.left(space), v);
    }
    return out;
}

struct NodeSample {
    bool ok = false;
    double connections = -1;
    double channels = -1;
    double subscriptions = -1;
    double brokerSubscriptions = -1; // NATS subscriptions the node holds (one per channel)
    bool brokerConnected = false;
    double brokerDrops = 0;
    double rss = -1;

    // Nothing left: no sessions, no channels, no local or NATS subscriptions, back on NATS.
    bool isQuiet() const {
        return ok && connections == 0 && channels == 0 && subscriptions == 0 &&
               brokerSubscriptions == 0 && brokerConnected;
    }
};

QByteArray mib(double bytes) {
    return QByteArray::number(bytes / (1024.0 * 1024.0), 'f', 1) + " MiB";
}

class Soak {
public:
    explicit Soak(Options options)
        : m_o(std::move(options))
        , m_slots(size_t(m_o.clients)) {
        m_clock.start();
        m_ticker.setInterval(TickMs);
        QObject::connect(&m_ticker, &QTimer::timeout, [this] { tick(); });
        m_ticker.start();
        QByteArray pool;
        for (int i = 0; i < 2048; ++i)
            pool.append(char('a' + QRandomGenerator::global()->bounded(26)));
        m_bodyPool = pool;
    }

    int run();

private:
    struct Slot {
        std::unique_ptr<QWebSocket> socket;
        bool open = false;
        bool leaving = false; // we asked for the close
        quint64 id = 0;
        quint64 seq = 0;
        int node = 0;
        qint64 reconnectAt = 0;
        qint64 nextPublish = 0;
        qint64 leaveAt = 0;
        int pendingErrors = 0; // malformed messages sent, error replies not yet seen
        QList<QByteArray> channels;
        QHash<QByteArray, quint64> lastSeq; // "<sender> <channel>" -> last sequence number
    };

    qint64 now() const { return m_clock.elapsed(); }
    int rnd(int lo, int hi) { return lo + int(QRandomGenerator::global()->bounded(hi - lo + 1)); }
    QByteArray channel(int i) const { return "soak.c" + QByteArray::number(i); }
    void phase(const char *name);

    void tick();
    void connectSlot(Slot &s);
    void onMessage(Slot &s, const QString &text);
    void onGone(Slot &s);
    void publish(Slot &s);
    void leave(Slot &s);
    void send(Slot &s, const QByteArray &message) {
        s.socket->sendTextMessage(QString::fromLatin1(message));
    }
    int openCount() const;
    bool allClosed() const;
    void stopChurn();
    void churn(int seconds, const char *name, bool track);

    QList<NodeSample> sampleNodes();
    bool waitQuiet(QList<NodeSample> *samples);
    bool probe();
    struct NatsSample {
        bool ok = false;
        int connections = 0;
        int nodeSubscriptions = 0; // held by the nodes' connections (/connz)
        int total = -1;            // on the whole server, internal ones included (/subsz)
        int soakSubscriptions = 0; // on soak.* subjects (/subsz)
        QByteArray detail;
    };
    NatsSample sampleNats();
    bool checkNats(QByteArray *report);
    void printProgress(const char *name, qint64 elapsedMs, const QList<NodeSample> &nodes);

    Options m_o;
    std::vector<Slot> m_slots;
    std::vector<std::unique_ptr<QWebSocket>> m_graveyard;
    QElapsedTimer m_clock;
    QTimer m_ticker;
    QNetworkAccessManager m_nam;
    QByteArray m_bodyPool;
    bool m_churning = false;
    quint64 m_nextId = 1;
    Stats m_stats;
    QList<double> m_peakRss;
    int m_natsBaselineTotal = -1;
};

void Soak::phase(const char *name) {
    say("phase: %s\n", name);
    if (m_o.phaseFile.isEmpty())
        return;
    QFile f(m_o.phaseFile);
    if (f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        f.write(QByteArray(name) + '\n');
}

void Soak::tick() {
    m_graveyard.clear(); // sockets finished in an earlier event, no longer on any stack
    const qint64 t = now();
    for (Slot &s : m_slots) {
        if (!s.socket) {
            if (m_churning && t >= s.reconnectAt)
                connectSlot(s);
            continue;
        }
        if (!s.open || s.leaving)
            continue;
        if (m_churning && t >= s.leaveAt) {
            leave(s);
            continue;
        }
        if (t >= s.nextPublish)
            publish(s);
    }
}

void Soak::connectSlot(Slot &s) {
    s = Slot{};
    s.id = m_nextId++;
    s.node = int(s.id % quint64(m_o.nodes.size()));
    s.socket = std::make_unique<QWebSocket>();
    QWebSocket *ws = s.socket.get();
    QObject::connect(ws, &QWebSocket::connected, ws, [this, &s] {
        s.open = true;
        ++m_stats.connects;
        const int n = rnd(1, 3);
        QByteArray list;
        for (int i = 0; i < n; ++i) {
            const QByteArray c = channel(rnd(0, m_o.channels - 1));
            if (!s.channels.contains(c)) {
                s.channels.append(c);
                list += (list.isEmpty() ? "" : " ") + c;
            }
        }
        send(s, "LHTTP/1.0 soak\r\nsubscribe:" + list + "\r\n\r\n");
        m_stats.subscribes += quint64(s.channels.size());
        s.leaveAt = now() + rnd(m_o.minLifetimeMs, m_o.maxLifetimeMs);
        s.nextPublish = now() + rnd(0, m_o.publishIntervalMs);
    });
    QObject::connect(ws, &QWebSocket::textMessageReceived, ws,
                     [this, &s](const QString &text) { onMessage(s, text); });
    QObject::connect(ws, &QWebSocket::stateChanged, ws,
                     [this, &s](QAbstractSocket::SocketState state) {
                         if (state == QAbstractSocket::UnconnectedState)
                             onGone(s);
                     });
    ws->open(m_o.nodes[s.node]);
}

void Soak::onMessage(Slot &s, const QString &text) {
    ++m_stats.received;
    const QByteArray raw = text.toLatin1();
    lhttp::Error error;
    const lhttp::Message m = lhttp::Message::parse(raw, lhttp::Limits(), &error);
    if (error) {
        ++m_stats.unexpectedErrors;
        say("soak: unparsable message from the server: %s\n", raw.left(200));
        return;
    }
    if (m.command() == "error") {
        const int code = m.header("code").toInt();
        if (code == lhttp::Status::BadRequest && s.pendingErrors > 0) {
            --s.pendingErrors;
            ++m_stats.expectedErrors;
        } else {
            ++m_stats.unexpectedErrors;
            ++m_stats.errorCodes[code];
        }
        return;
    }
    const auto tag = lhttp::splitTokens(m.header("x-soak"));
    const QByteArrayView ch = m.header("publish");
    if (tag.size() != 2 || ch.isEmpty()) {
        ++m_stats.unexpectedErrors;
        return;
    }
    const quint64 seq = tag[1].toULongLong();
    quint64 &last = s.lastSeq[tag[0].toByteArray() + ' ' + ch.toByteArray()];
    if (seq <= last)
        ++m_stats.orderViolations;
    last = seq;
}

void Soak::onGone(Slot &s) {
    if (!s.socket)
        return;
    // The server answers messages in order, so a close handshake (ours or the server's) ends
    // after the error replies to what was sent before it.
    if (s.pendingErrors > 0) {
        m_stats.unansweredErrors += quint64(s.pendingErrors);
        say("soak: %s\n", "a connection closed with " + QByteArray::number(s.pendingErrors) +
                              " malformed messages unanswered");
    }
    if (!s.open)
        ++m_stats.connectFailures;
    else if (!s.leaving)
        ++m_stats.serverCloses;
    QWebSocket *ws = s.socket.get();
    if (s.open && !s.leaving)
        say("soak: the server closed a client: %s\n",
            QByteArray::number(int(ws->closeCode())) + ' ' + ws->closeReason().toUtf8());
    QObject::disconnect(ws, nullptr, nullptr, nullptr);
    m_graveyard.push_back(std::move(s.socket));
    s.open = false;
    s.reconnectAt = now() + rnd(0, 500);
}

void Soak::publish(Slot &s) {
    s.nextPublish = now() + rnd(m_o.publishIntervalMs / 2, m_o.publishIntervalMs * 3 / 2);
    const int roll = rnd(0, 99);
    if (roll < 2) {
        // Malformed (bare LF line ends): must be answered with error 400, connection kept.
        send(s, "LHTTP/1.0 soak\nsubscribe:x\n\n");
        ++s.pendingErrors;
        ++m_stats.malformedSent;
        return;
    }
    if (roll < 7 && s.channels.size() > 1) {
        const QByteArray c = s.channels.takeLast();
        send(s, "LHTTP/1.0 soak\r\nunsubscribe:" + c + "\r\n\r\n");
        ++m_stats.unsubscribes;
        return;
    }
    if (roll < 10) {
        const QByteArray c = channel(rnd(0, m_o.channels - 1));
        if (!s.channels.contains(c)) {
            s.channels.append(c);
            send(s, "LHTTP/1.0 soak\r\nsubscribe:" + c + "\r\n\r\n");
            ++m_stats.subscribes;
            return;
        }
    }
    // Publish to one of our channels or, one time in four, to any channel.
    const QByteArray c = roll < 35 || s.channels.isEmpty()
                             ? channel(rnd(0, m_o.channels - 1))
                             : s.channels[rnd(0, int(s.channels.size()) - 1)];
    const int size = rnd(16, 1024);
    const QByteArray body = m_bodyPool.mid(rnd(0, int(m_bodyPool.size()) - size), size);
    send(s, "LHTTP/1.0 soak\r\npublish:" + c + "\r\nx-soak:" + QByteArray::number(s.id) + ' ' +
                QByteArray::number(++s.seq) + "\r\n\r\n" + body);
    ++m_stats.published;
}

void Soak::leave(Slot &s) {
    s.leaving = true;
    const int roll = rnd(0, 3);
    if (roll == 0) {
        m_stats.abandonedErrors += quint64(std::exchange(s.pendingErrors, 0));
        s.socket->abort(); // TCP gone without a close frame; onGone runs from stateChanged
        ++m_stats.aborts;
        return;
    }
    if (roll == 1 && !s.channels.isEmpty()) {
        QByteArray list;
        for (const QByteArray &c : std::as_const(s.channels))
            list += (list.isEmpty() ? "" : " ") + c;
        send(s, "LHTTP/1.0 soak\r\nunsubscribe:" + list + "\r\n\r\n");
        m_stats.unsubscribes += quint64(s.channels.size());
        ++m_stats.unsubscribeCloses;
    } else {
        ++m_stats.gracefulCloses;
    }
    s.socket->close();
}

int Soak::openCount() const {
    return int(std::count_if(m_slots.begin(), m_slots.end(),
                             [](const Slot &s) { return s.socket && s.open; }));
}

bool Soak::allClosed() const {
    return std::none_of(m_slots.begin(), m_slots.end(),
                        [](const Slot &s) { return bool(s.socket); });
}

void Soak::stopChurn() {
    m_churning = false;
    for (Slot &s : m_slots) {
        if (s.socket && !s.leaving) {
            s.leaving = true;
            s.socket->close();
        }
    }
    if (!waitFor([this] { return allClosed(); }, CloseTimeoutMs)) {
        say("soak: %s clients did not close in time; aborting them\n",
            QByteArray::number(m_o.clients -
                               int(std::count_if(m_slots.begin(), m_slots.end(),
                                                 [](const Slot &s) { return !s.socket; }))));
        for (Slot &s : m_slots) {
            if (s.socket) {
                m_stats.abandonedErrors += quint64(std::exchange(s.pendingErrors, 0));
                s.socket->abort();
            }
        }
        waitFor([this] { return allClosed(); }, CloseTimeoutMs);
    }
}

QList<NodeSample> Soak::sampleNodes() {
    QList<NodeSample> out;
    for (const QUrl &ws : std::as_const(m_o.nodes)) {
        QUrl url = ws;
        url.setScheme(ws.scheme() == u"wss" ? QStringLiteral("https") : QStringLiteral("http"));
        url.setPath(QStringLiteral("/metrics"));
        url.setQuery(QString());
        NodeSample n;
        const QHash<QByteArray, double> m = parseMetrics(httpGet(m_nam, url, &n.ok));
        n.connections = m.value("lhttp_connections", -1);
        n.channels = m.value("lhttp_channels", -1);
        n.subscriptions = m.value("lhttp_subscriptions", -1);
        n.brokerSubscriptions = m.value("lhttp_broker_subscriptions", -1);
        n.brokerConnected = m.value("lhttp_broker_state{state=\"connected\"}") == 1 ||
                            m.value("lhttp_broker_state{state=\"embedded\"}") == 1;
        n.brokerDrops = m.value("lhttp_broker_drops_total");
        n.rss = m.value("lhttp_process_resident_memory_bytes", -1);
        n.ok = n.ok && n.connections >= 0 && n.channels >= 0 && n.subscriptions >= 0 &&
               n.brokerSubscriptions >= 0 && n.rss > 0;
        out.append(n);
    }
    return out;
}

bool Soak::waitQuiet(QList<NodeSample> *samples) {
    auto quiet = [&] {
        *samples = sampleNodes();
        return std::all_of(samples->begin(), samples->end(),
                           [](const NodeSample &n) { return n.isQuiet(); });
    };
    const bool ok = waitFor(quiet, m_o.settleSeconds * 1000, 250);
    // Let the nodes finish what the last closes started, then sample what is left.
    sleepMs(2'000);
    *samples = sampleNodes();
    return ok;
}

void Soak::printProgress(const char *name, qint64 elapsedMs, const QList<NodeSample> &nodes) {
    QByteArray line = QByteArray(name) + " t=" + QByteArray::number(elapsedMs / 1000) +
                      "s open=" + QByteArray::number(openCount()) +
                      " connects=" + QByteArray::number(m_stats.connects) +
                      " published=" + QByteArray::number(m_stats.published) +
                      " received=" + QByteArray::number(m_stats.received) +
                      " errors=" + QByteArray::number(m_stats.unexpectedErrors) +
                      " order=" + QByteArray::number(m_stats.orderViolations);
    for (qsizetype i = 0; i < nodes.size(); ++i) {
        const NodeSample &n = nodes[i];
        line += " | node" + QByteArray::number(i + 1) + ' ';
        if (!n.ok) {
            line += "metrics unavailable";
            continue;
        }
        line += "conns=" + QByteArray::number(n.connections) +
                " chans=" + QByteArray::number(n.channels) +
                " subs=" + QByteArray::number(n.subscriptions) +
                " nats-subs=" + QByteArray::number(n.brokerSubscriptions) +
                (n.brokerConnected ? "" : " NATS-DOWN") + " rss=" + mib(n.rss);
    }
    say("%s\n", line);
}

void Soak::churn(int seconds, const char *name, bool track) {
    m_churning = true;
    // Spread the first connections over two seconds.
    for (Slot &s : m_slots)
        s.reconnectAt = now() + rnd(0, 2'000);
    QElapsedTimer t;
    t.start();
    qint64 nextReport = m_o.progressSeconds * 1000;
    while (t.elapsed() < qint64(seconds) * 1000) {
        sleepMs(100);
        if (t.elapsed() >= nextReport) {
            nextReport += m_o.progressSeconds * 1000;
            const QList<NodeSample> nodes = sampleNodes();
            if (track) {
                for (qsizetype i = 0; i < nodes.size(); ++i)
                    m_peakRss[i] = std::max(m_peakRss[i], nodes[i].rss);
            }
            printProgress(name, t.elapsed(), nodes);
        }
    }
    stopChurn();
}

// A publish on each node must reach a subscriber on every node (itself included): after the
// NATS restarts the nodes are back in the cluster with their subscriptions.
bool Soak::probe() {
    bool allOk = true;
    for (int sub = 0; sub < m_o.nodes.size(); ++sub) {
        for (int pub = 0; pub < m_o.nodes.size(); ++pub) {
            const QByteArray ch =
                "soak.probe." + QByteArray::number(sub) + '.' + QByteArray::number(pub);
            QWebSocket subscriber;
            QWebSocket publisher;
            bool got = false;
            QObject::connect(&subscriber, &QWebSocket::textMessageReceived,
                             [&](const QString &text) { got = got || text.contains(u"probe"); });
            subscriber.open(m_o.nodes[sub]);
            publisher.open(m_o.nodes[pub]);
            const bool up = waitFor(
                [&] {
                    return subscriber.state() == QAbstractSocket::ConnectedState &&
                           publisher.state() == QAbstractSocket::ConnectedState;
                },
                HttpTimeoutMs, 20);
            QElapsedTimer t;
            t.start();
            if (up) {
                subscriber.sendTextMessage(
                    QString::fromLatin1("LHTTP/1.0 soak\r\nsubscribe:" + ch + "\r\n\r\n"));
                // No acknowledgement for a subscribe: publish until one arrives.
                waitFor(
                    [&] {
                        if (!got)
                            publisher.sendTextMessage(QString::fromLatin1(
                                "LHTTP/1.0 soak\r\npublish:" + ch + "\r\n\r\nprobe"));
                        return got;
                    },
                    ProbeTimeoutMs, 250);
            }
            say("probe: %s\n",
                "node" + QByteArray::number(pub + 1) + " -> node" + QByteArray::number(sub + 1) +
                    ": " +
                    (got ? "delivered after " + QByteArray::number(t.elapsed()) + " ms"
                         : QByteArray("NOT delivered")));
            allOk = allOk && got;
            subscriber.close();
            publisher.close();
            waitFor(
                [&] {
                    return subscriber.state() == QAbstractSocket::UnconnectedState &&
                           publisher.state() == QAbstractSocket::UnconnectedState;
                },
                CloseTimeoutMs, 20);
        }
    }
    return allOk;
}

// NATS's own view of the nodes. /connz: one connection per node, and the subscriptions each
// holds. /subsz: every subscription on the server, the server's internal ones included.
Soak::NatsSample Soak::sampleNats() {
    NatsSample n;
    QUrl url = m_o.natsMonitor;
    url.setPath(QStringLiteral("/connz"));
    url.setQuery(QStringLiteral("subs=1&limit=1024"));
    bool connzOk = false;
    const QJsonObject connz = QJsonDocument::fromJson(httpGet(m_nam, url, &connzOk)).object();
    url.setPath(QStringLiteral("/subsz"));
    url.setQuery(QStringLiteral("subs=1&limit=100000"));
    bool subszOk = false;
    const QJsonObject subsz = QJsonDocument::fromJson(httpGet(m_nam, url, &subszOk)).object();
    n.ok = connzOk && subszOk && !connz.isEmpty() && !subsz.isEmpty();
    if (!n.ok)
        return n;
    const QJsonArray connections = connz.value(QStringLiteral("connections")).toArray();
    n.connections = int(connections.size());
    for (const QJsonValue &c : connections) {
        const QJsonObject o = c.toObject();
        const int subs = o.value(QStringLiteral("num_subscriptions")).toInt();
        n.nodeSubscriptions += subs;
        n.detail += ' ' + o.value(QStringLiteral("name")).toString().toUtf8() + '=' +
                    QByteArray::number(subs);
        for (const QJsonValue &sub : o.value(QStringLiteral("subscriptions_list")).toArray())
            n.detail += ' ' + sub.toString().toUtf8();
    }
    n.total = subsz.value(QStringLiteral("num_subscriptions")).toInt(-1);
    for (const QJsonValue &sub : subsz.value(QStringLiteral("subscriptions_list")).toArray()) {
        if (sub.toObject().value(QStringLiteral("subject")).toString().startsWith(u"soak."))
            ++n.soakSubscriptions;
    }
    return n;
}

// After the run: exactly one connection per node, holding no subscriptions; no subscription
// on a soak channel left anywhere on the server; and no more subscriptions in all than at the
// baseline, when no client was connected (the server's internal $SYS ones).
bool Soak::checkNats(QByteArray *report) {
    NatsSample n;
    const bool ok = waitFor(
        [&] {
            n = sampleNats();
            return n.ok && n.connections == int(m_o.nodes.size()) && n.nodeSubscriptions == 0 &&
                   n.soakSubscriptions == 0 && n.total <= m_natsBaselineTotal;
        },
        10'000, 250);
    if (!n.ok) {
        *report = "NATS monitoring unavailable at " + m_o.natsMonitor.toString().toUtf8();
        return false;
    }
    *report = "NATS: " + QByteArray::number(n.connections) + " node connections holding " +
              QByteArray::number(n.nodeSubscriptions) + " subscriptions (" + n.detail.trimmed() +
              "); /subsz: " + QByteArray::number(n.total) + " subscriptions (baseline " +
              QByteArray::number(m_natsBaselineTotal) + "), " +
              QByteArray::number(n.soakSubscriptions) + " on soak channels" + (ok ? "" : "  LEAK");
    return ok;
}

int Soak::run() {
    QList<NodeSample> nodes;
    if (!waitFor(
            [&] {
                nodes = sampleNodes();
                return std::all_of(nodes.begin(), nodes.end(),
                                   [](const NodeSample &n) { return n.ok; });
            },
            10'000, 250)) {
        say("soak: %s\n", "cannot read /metrics of every node");
        return 2;
    }
    say("soak: %s\n", QByteArray::number(m_o.nodes.size()) + " nodes, " +
                          QByteArray::number(m_o.clients) + " client slots, " +
                          QByteArray::number(m_o.channels) + " channels, warm-up " +
                          QByteArray::number(m_o.warmupSeconds) + " s, churn " +
                          QByteArray::number(m_o.durationSeconds) + " s");
    printProgress("start", 0, nodes);

    phase("warmup");
    churn(m_o.warmupSeconds, "warmup", false);
    QList<NodeSample> baseline;
    const bool warmQuiet = waitQuiet(&baseline);
    printProgress("baseline", 0, baseline);
    if (!warmQuiet) {
        say("soak: %s\n", "FAIL: the nodes did not return to zero after the warm-up");
        return 1;
    }
    for (const NodeSample &n : std::as_const(baseline))
        m_peakRss.append(n.rss);
    if (!m_o.natsMonitor.isEmpty()) {
        const NatsSample n = sampleNats();
        m_natsBaselineTotal = n.total;
        say("baseline: %s\n", "NATS holds " + QByteArray::number(n.total) +
                                  " subscriptions with no client connected (" +
                                  QByteArray::number(n.nodeSubscriptions) + " of the nodes)");
        if (!n.ok || n.nodeSubscriptions != 0) {
            say("soak: %s\n", "FAIL: NATS is unavailable or holds subscriptions of the nodes "
                              "after the warm-up");
            return 1;
        }
    }

    phase("main");
    QElapsedTimer mainClock;
    mainClock.start();
    churn(m_o.durationSeconds, "churn", true);
    const qint64 churnMs = mainClock.elapsed();
    phase("probe");
    const bool probed = probe();

    phase("drain");
    QList<NodeSample> last;
    const bool quiet = waitQuiet(&last);
    printProgress("final", churnMs, last);
    QByteArray natsReport = "NATS: not checked (no --nats-monitor)";
    const bool natsOk = m_o.natsMonitor.isEmpty() || checkNats(&natsReport);

    // Figures.
    const Stats &s = m_stats;
    say("%s\n", "== soak figures");
    say("clients:       %s\n",
        QByteArray::number(s.connects) + " sessions (" + QByteArray::number(s.connectFailures) +
            " failed connects), left by close " + QByteArray::number(s.gracefulCloses) +
            ", unsubscribe+close " + QByteArray::number(s.unsubscribeCloses) + ", abort " +
            QByteArray::number(s.aborts) + ", closed by server " +
            QByteArray::number(s.serverCloses));
    say("messages:      %s\n", QByteArray::number(s.published) + " published, " +
                                   QByteArray::number(s.received) + " received, " +
                                   QByteArray::number(s.subscribes) + " subscribes, " +
                                   QByteArray::number(s.unsubscribes) + " unsubscribes");
    QByteArray codes;
    for (const auto &[code, count] : s.errorCodes)
        codes += ' ' + QByteArray::number(code) + 'x' + QByteArray::number(count);
    say("errors:        %s\n",
        QByteArray::number(s.malformedSent) + " malformed sent, " +
            QByteArray::number(s.expectedErrors) + " answered with 400 (" +
            QByteArray::number(s.abandonedErrors) + " abandoned by a TCP abort, " +
            QByteArray::number(s.unansweredErrors) + " unanswered before a close); " +
            QByteArray::number(s.unexpectedErrors) + " unexpected error replies" + codes + "; " +
            QByteArray::number(s.orderViolations) + " order/duplicate violations");
    bool ok = true;
    for (qsizetype i = 0; i < last.size(); ++i) {
        const NodeSample &b = baseline[i];
        const NodeSample &f = last[i];
        const double ratio = f.rss / b.rss;
        const bool rssOk = f.ok && ratio <= 1.0 + m_o.rssTolerance;
        const bool zero = f.isQuiet();
        say("%s\n", "node" + QByteArray::number(i + 1) + ": connections " +
                        QByteArray::number(f.connections) + ", channels " +
                        QByteArray::number(f.channels) + ", subscriptions " +
                        QByteArray::number(f.subscriptions) + ", NATS subscriptions " +
                        QByteArray::number(f.brokerSubscriptions) +
                        (f.brokerConnected ? "" : " (NATS not connected)") + ", NATS drops " +
                        QByteArray::number(f.brokerDrops) + "; RSS baseline " + mib(b.rss) +
                        ", peak " + mib(m_peakRss[i]) + ", final " + mib(f.rss) + " (" +
                        QByteArray::number((ratio - 1.0) * 100.0, 'f', 1) + "%)" +
                        (zero ? "" : "  LEAK") + (rssOk ? "" : "  RSS GROWTH"));
        ok = ok && rssOk && zero;
    }
    say("%s\n", natsReport);
    if (!quiet)
        say("soak: %s\n",
            "FAIL: the nodes did not return to zero connections/channels/subscriptions");
    if (!probed)
        say("soak: %s\n", "FAIL: a cross-node publish was not delivered after the churn");
    if (!natsOk)
        say("soak: %s\n", "FAIL: NATS still holds subscriptions of the nodes, or lost a node");
    if (s.serverCloses || s.unexpectedErrors || s.orderViolations)
        say("soak: %s\n", "FAIL: server closes, unexpected errors or order violations");
    const bool malformedOk =
        s.unansweredErrors == 0 && s.expectedErrors + s.abandonedErrors == s.malformedSent;
    if (!malformedOk)
        say("soak: %s\n", "FAIL: a malformed message was not answered with error 400");
    ok = ok && quiet && probed && natsOk && !s.serverCloses && !s.unexpectedErrors &&
         !s.orderViolations && malformedOk;
    phase("done");
    say("soak: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}

} // namespace

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("lhttp-soak"));
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Churn against lhttpd-qt nodes, then check that nothing leaked "
                       "(scripts/soak.sh runs it)."));
    parser.addHelpOption();
    const QCommandLineOption nodeOpt(QStringLiteral("node"),
                                     QStringLiteral("A node's WebSocket URL (repeat per node)."),
                                     QStringLiteral("url"));
    const QCommandLineOption natsOpt(
        QStringLiteral("nats-monitor"),
        QStringLiteral("nats-server monitoring URL (http://127.0.0.1:8222)."),
        QStringLiteral("url"));
    const QCommandLineOption clientsOpt(QStringLiteral("clients"),
                                        QStringLiteral("Concurrent client slots (300)."),
                                        QStringLiteral("n"), QStringLiteral("300"));
    const QCommandLineOption warmupOpt(QStringLiteral("warmup"),
                                       QStringLiteral("Warm-up churn, seconds (30)."),
                                       QStringLiteral("s"), QStringLiteral("30"));
    const QCommandLineOption durationOpt(QStringLiteral("duration"),
                                         QStringLiteral("Main churn, seconds (600)."),
                                         QStringLiteral("s"), QStringLiteral("600"));
    const QCommandLineOption channelsOpt(QStringLiteral("channels"),
                                         QStringLiteral("Channels to spread over (40)."),
                                         QStringLiteral("n"), QStringLiteral("40"));
    const QCommandLineOption intervalOpt(
        QStringLiteral("publish-interval"),
        QStringLiteral("Mean time between one client's messages, ms (1500)."), QStringLiteral("ms"),
        QStringLiteral("1500"));
    const QCommandLineOption lifetimeOpt(QStringLiteral("lifetime"),
                                         QStringLiteral("Client lifetime range, ms (1000-10000)."),
                                         QStringLiteral("min-max"), QStringLiteral("1000-10000"));
    const QCommandLineOption settleOpt(
        QStringLiteral("settle"),
        QStringLiteral("How long the nodes get to return to zero, seconds (30)."),
        QStringLiteral("s"), QStringLiteral("30"));
    const QCommandLineOption progressOpt(QStringLiteral("progress"),
                                         QStringLiteral("Seconds between progress lines (10)."),
                                         QStringLiteral("s"), QStringLiteral("10"));
    const QCommandLineOption toleranceOpt(
        QStringLiteral("rss-tolerance"),
        QStringLiteral("Allowed RSS growth over the baseline, fraction (0.10)."),
        QStringLiteral("f"), QStringLiteral("0.10"));
    const QCommandLineOption phaseOpt(
        QStringLiteral("phase-file"),
        QStringLiteral("Write the current phase (warmup, main, probe, drain, done) here."),
        QStringLiteral("file"));
    const QCommandLineOption portsOpt(
        QStringLiteral("free-ports"),
        QStringLiteral("Print this many free loopback TCP ports and exit."), QStringLiteral("n"));
    parser.addOptions({nodeOpt, natsOpt, clientsOpt, warmupOpt, durationOpt, channelsOpt,
                       intervalOpt, lifetimeOpt, settleOpt, progressOpt, toleranceOpt, phaseOpt,
                       portsOpt});
    parser.process(app);

    if (parser.isSet(portsOpt)) {
        // Held open together, so the ports are distinct.
        std::vector<std::unique_ptr<QTcpServer>> servers;
        for (int i = 0; i < std::clamp(parser.value(portsOpt).toInt(), 1, 32); ++i) {
            auto s = std::make_unique<QTcpServer>();
            if (!s->listen(QHostAddress::LocalHost, 0))
                return 2;
            std::printf("%u\n", unsigned(s->serverPort()));
            servers.push_back(std::move(s));
        }
        return 0;
    }

    Options o;
    bool ok = true;
    auto number = [&](const QCommandLineOption &opt, int lo, int hi) {
        bool good = false;
        const int v = parser.value(opt).toInt(&good);
        ok = ok && good && v >= lo && v <= hi;
        return v;
    };
    for (const QString &n : parser.values(nodeOpt)) {
        const QUrl url(n, QUrl::StrictMode);
        ok = ok && url.isValid() && (url.scheme() == u"ws" || url.scheme() == u"wss");
        o.nodes.append(url);
    }
    if (parser.isSet(natsOpt))
        o.natsMonitor = QUrl(parser.value(natsOpt), QUrl::StrictMode);
    o.clients = number(clientsOpt, 1, 5'000);
    o.warmupSeconds = number(warmupOpt, 1, 3'600);
    o.durationSeconds = number(durationOpt, 1, 86'400);
    o.channels = number(channelsOpt, 1, 10'000);
    o.publishIntervalMs = number(intervalOpt, 10, 600'000);
    o.settleSeconds = number(settleOpt, 1, 600);
    o.progressSeconds = number(progressOpt, 1, 3'600);
    const QStringList lifetime = parser.value(lifetimeOpt).split(u'-');
    ok = ok && lifetime.size() == 2;
    if (ok) {
        o.minLifetimeMs = lifetime[0].toInt();
        o.maxLifetimeMs = lifetime[1].toInt();
        ok = o.minLifetimeMs >= 10 && o.maxLifetimeMs >= o.minLifetimeMs;
    }
    bool toleranceOk = false;
    o.rssTolerance = parser.value(toleranceOpt).toDouble(&toleranceOk);
    ok = ok && toleranceOk && o.rssTolerance >= 0;
    o.phaseFile = parser.value(phaseOpt);
    if (!ok || o.nodes.isEmpty()) {
        std::fprintf(stderr, "lhttp-soak: bad or missing options (at least one --node)\n");
        return 2;
    }
    Soak soak(o);
    int result = 2;
    QTimer::singleShot(0, &app, [&] {
        result = soak.run();
        app.quit();
    });
    app.exec();
    return result;
}

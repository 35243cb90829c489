// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// The NATS cluster broker against real nats-server processes: lhttp nodes in this process
// and lhttpd-qt processes, joined through one NATS server or a two-member NATS cluster, with
// real QWebSocket clients. Reconnect waits are short so that faults heal quickly.

#include "lhttpdprocess.h"
#include "natsbroker.h"
#include "natsserver.h"
#include "server.h"
#include "wsclient.h"

#include <QDeadlineTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <nats/nats.h>

#include <memory>
#include <vector>

using namespace lhttp;

namespace {

constexpr int TestReconnectWaitMs = 100;
// How long a fault may take to heal in these tests (the issue asks for "a few seconds").
constexpr int HealMs = 5'000;

NatsOptions nodeOptions(const QStringList &servers, const QString &name) {
    NatsOptions o;
    o.servers = servers;
    o.name = name;
    o.reconnectWaitMs = TestReconnectWaitMs;
    return o;
}

// Qt 6.4's ~QWebSocket leaks a string when it has to close a live connection itself
// (LeakSanitizer), so clients made here are aborted first.
struct ClientCloser {
    void operator()(WsClient *c) const {
        c->socket.abort();
        delete c;
    }
};
using Client = std::unique_ptr<WsClient, ClientCloser>;

NatsBroker *brokerOf(const std::unique_ptr<Server> &s) {
    return qobject_cast<NatsBroker *>(s->broker());
}

QByteArray numbered(const QByteArray &channel, int i) {
    return "LHTTP/1.0 chat\r\npublish:" + channel + "\r\n\r\n" + QByteArray::number(i);
}

quint16 portOf(const QString &url) {
    return quint16(QUrl(url).port());
}

// One sample of a node's /metrics (`lhttp_<name>`, labels included), NaN when it is missing.
double metric(const QByteArray &metrics, const QByteArray &name) {
    const QByteArray prefix = "lhttp_" + name + ' ';
    for (const QByteArray &line : metrics.split('\n')) {
        if (line.startsWith(prefix))
            return line.mid(prefix.size()).trimmed().toDouble();
    }
    return qQNaN();
}

// A plain nats.c client, as an original Go lhttp node or a backend would use NATS.
class RawNats {
public:
    explicit RawNats(const QString &url) {
        natsConnection_ConnectTo(&m_nc, url.toUtf8().constData());
    }
    ~RawNats() {
        for (natsSubscription *s : m_subs)
            natsSubscription_Destroy(s);
        if (m_nc)
            natsConnection_Destroy(m_nc);
    }
    RawNats(const RawNats &) = delete;
    RawNats &operator=(const RawNats &) = delete;

    bool isConnected() const { return m_nc; }
    bool publish(const QByteArray &subject, const QByteArray &data) {
        return natsConnection_Publish(m_nc, subject.constData(), data.constData(),
                                      int(data.size())) == NATS_OK;
    }
    // A round trip: the server has everything published before.
    bool flush() { return natsConnection_FlushTimeout(m_nc, 5'000) == NATS_OK; }
    natsSubscription *subscribe(const QByteArray &subject) {
        natsSubscription *s = nullptr;
        if (natsConnection_SubscribeSync(&s, m_nc, subject.constData()) != NATS_OK)
            return nullptr;
        m_subs.push_back(s);
        flush();
        return s;
    }
    // Blocks this thread; nats.c receives on its own.
    QByteArray next(natsSubscription *s, int timeoutMs = 2'000) {
        natsMsg *m = nullptr;
        if (natsSubscription_NextMsg(&m, s, timeoutMs) != NATS_OK)
            return {};
        QByteArray data(natsMsg_GetData(m), natsMsg_GetDataLength(m));
        natsMsg_Destroy(m);
        return data;
    }

private:
    natsConnection *m_nc = nullptr;
    std::vector<natsSubscription *> m_subs;
};

} // namespace

class tst_Cluster : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();

    void daemonsThousandMessagesInOrder();
    void daemonRejectsBadNatsOptions();
    void stateAndStats();
    void subjectPrefixAndRawNats();
    void wildcardChannelsExactlyOnce();
    void fiveHundredClientsFiftySubscriptions();
    void handOffQueueDropsAreCounted();
    void natsDownAtStartThenUp();
    void natsRestartResubscribes();
    void healthAndMetricsFollowBroker();
    void strictModeAnswers503();
    void clusterFailover();
    void authenticationAndTls();

private:
    std::unique_ptr<Server> makeNode(const NatsOptions &nats, ServerOptions options = {});
    Client client(quint16 port);
    Client client(const std::unique_ptr<Server> &node) { return client(node->serverPort()); }
    // Publishes `probe` from `pub` every 100 ms until `sub` receives something: a new
    // subscription has reached every NATS server on the way. Clears what `sub` received.
    bool probeUntilReceived(WsClient &pub, WsClient &sub, const QByteArray &channel,
                            int timeoutMs = HealMs);
    static bool waitForSubscriptions(const NatsServer &nats, const QString &name, int count,
                                     int timeoutMs = HealMs);
};

void tst_Cluster::initTestCase() {
    QVERIFY2(QFileInfo(NatsServer::binary()).isExecutable(),
             "nats-server not found (Debian package nats-server, or set NATS_SERVER_BIN)");
}

std::unique_ptr<Server> tst_Cluster::makeNode(const NatsOptions &nats, ServerOptions options) {
    options.address = QHostAddress::LocalHost;
    options.port = 0;
    auto s = std::make_unique<Server>(options);
    s->setBroker(std::make_unique<NatsBroker>(nats));
    if (!s->listen())
        return nullptr;
    return s;
}

Client tst_Cluster::client(quint16 port) {
    Client c(new WsClient);
    if (!c->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port))))
        return nullptr;
    return c;
}

bool tst_Cluster::probeUntilReceived(WsClient &pub, WsClient &sub, const QByteArray &channel,
                                     int timeoutMs) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < timeoutMs) {
        pub.send("LHTTP/1.0 chat\r\npublish:" + channel + "\r\n\r\nprobe");
        if (sub.waitForMessages(1, 100)) {
            sub.staysQuiet(200); // probes still on their way
            sub.received.clear();
            sub.receivedBinary.clear();
            return true;
        }
    }
    return false;
}

bool tst_Cluster::waitForSubscriptions(const NatsServer &nats, const QString &name, int count,
                                       int timeoutMs) {
    int n = -1;
    if (QTest::qWaitFor(
            [&] {
                nats.subscriptionsOf(name, &n);
                return n == count;
            },
            timeoutMs))
        return true;
    qWarning() << name << "holds" << n << "NATS subscriptions, expected" << count;
    return false;
}

void tst_Cluster::daemonsThousandMessagesInOrder() {
    NatsServer nats;
    QVERIFY(nats.start());
    LhttpdProcess node1;
    LhttpdProcess node2;
    const QStringList common{QStringLiteral("--nats"), nats.url(),
                             QStringLiteral("--nats-reconnect-wait"), QStringLiteral("100")};
    QVERIFY(
        node1.start(common + QStringList{QStringLiteral("--nats-name"), QStringLiteral("node1")}));
    QVERIFY(
        node2.start(common + QStringList{QStringLiteral("--nats-name"), QStringLiteral("node2")}));
    {
        auto a = client(node1.port());
        auto b = client(node2.port());
        QVERIFY(a && b);
        a->send("LHTTP/1.0 chat\r\nsubscribe:seq\r\n\r\n");
        b->send("LHTTP/1.0 chat\r\nsubscribe:seq\r\n\r\n");
        QVERIFY(a->sync() && b->sync());
        QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), 1));
        QVERIFY(waitForSubscriptions(nats, QStringLiteral("node2"), 1));
        QCOMPARE(nats.subscriptionsOf(QStringLiteral("node1")), QStringList{"seq"});

        // B publishes on node 2 and is itself a subscriber there: the sender echo comes from
        // node 2's local delivery, and NATS must not echo it a second time.
        constexpr int Count = 1000;
        for (int i = 0; i < Count; ++i)
            b->send(numbered("seq", i));
        QVERIFY(a->waitForMessages(Count, 20'000));
        QVERIFY(b->waitForMessages(Count, 20'000));
        QVERIFY(a->staysQuiet(300));
        QCOMPARE(a->received.size(), Count);
        QCOMPARE(b->received.size(), Count);
        for (int i = 0; i < Count; ++i) {
            QCOMPARE(a->received.at(i), numbered("seq", i));
            QCOMPARE(b->received.at(i), numbered("seq", i));
        }
        // And the other way: A's own copy once, B's once.
        a->send(numbered("seq", Count));
        QVERIFY(a->waitForMessages(Count + 1) && b->waitForMessages(Count + 1));
        QVERIFY(a->staysQuiet(300) && b->staysQuiet(0));
        QCOMPARE(a->received.size(), Count + 1);
        QCOMPARE(b->received.size(), Count + 1);
        QCOMPARE(b->received.last(), numbered("seq", Count));
    }
    for (LhttpdProcess *p : {&node1, &node2}) {
        QVERIFY(p->stop(10'000));
        QCOMPARE(p->exitStatus(), QProcess::NormalExit);
        QCOMPARE(p->exitCode(), 0);
    }
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), -1));
}

void tst_Cluster::daemonRejectsBadNatsOptions() {
    const QList<QStringList> bad{
        {QStringLiteral("--nats"), QStringLiteral("http://127.0.0.1:4222")},
        {QStringLiteral("--nats"), QStringLiteral("127.0.0.1")},
        {QStringLiteral("--nats-prefix"), QStringLiteral("a..b")},
        {QStringLiteral("--nats-prefix"), QStringLiteral("lhttp.>")},
        {QStringLiteral("--nats-tls-ca"), QStringLiteral("/nonexistent/ca.pem")},
        {QStringLiteral("--nats-max-reconnect"), QStringLiteral("-2")},
        {QStringLiteral("--nats-queue-limit"), QStringLiteral("0")},
        {QStringLiteral("--nats-reconnect-wait"), QStringLiteral("fast")},
    };
    for (const QStringList &args : bad) {
        QProcess p;
        p.start(qEnvironmentVariable("LHTTPD_BIN"), args);
        QVERIFY(p.waitForFinished());
        QVERIFY2(p.exitCode() == 2, qPrintable(args.join(u' ')));
    }
    QProcess help;
    help.start(qEnvironmentVariable("LHTTPD_BIN"), {QStringLiteral("--help")});
    QVERIFY(help.waitForFinished());
    const QByteArray text = help.readAllStandardOutput();
    for (const char *flag : {"--nats ", "--nats-prefix", "--nats-strict", "--nats-tls-ca",
                             "--nats-queue-limit", "--nats-max-reconnect"})
        QVERIFY2(text.contains(flag), flag);
}

void tst_Cluster::stateAndStats() {
    NatsServer nats;
    QVERIFY(nats.start());
    auto node = makeNode(nodeOptions({nats.url()}, QStringLiteral("node1")));
    QVERIFY(node);
    NatsBroker *broker = brokerOf(node);
    QVERIFY(broker);
    QTRY_COMPARE(broker->state(), Broker::State::Connected);
    QCOMPARE(portOf(broker->serverUrl()), nats.port());
    QCOMPARE(broker->stats().serverUrl, broker->serverUrl());
    QVERIFY(broker->description().contains(nats.url()));

    auto c = client(node);
    QVERIFY(c);
    c->send("LHTTP/1.0 chat\r\nsubscribe:a b c\r\npublish:a\r\n\r\nx");
    QVERIFY(c->waitForMessages(1));
    QCOMPARE(broker->stats().subscriptions, 3);
    QCOMPARE(broker->stats().messagesOut, 1u);
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), 3));

    RawNats raw(nats.url());
    QVERIFY(raw.isConnected());
    raw.publish("b", "LHTTP/1.0 chat\r\n\r\nfrom NATS");
    raw.flush();
    QVERIFY(c->waitForMessages(2));
    QCOMPARE(c->received.last(), QByteArray("LHTTP/1.0 chat\r\n\r\nfrom NATS"));
    const Broker::Stats s = broker->stats();
    QCOMPARE(s.messagesIn, 1u);
    QCOMPARE(s.drops, 0u);
    QCOMPARE(broker->counters().publishFailures, 0u);

    // A NATS restart: Reconnecting, then Connected again, and the subscriptions come back.
    QSignalSpy states(broker, &Broker::stateChanged);
    nats.stop();
    QTRY_COMPARE(broker->state(), Broker::State::Reconnecting);
    QVERIFY(broker->stats().serverUrl.isEmpty());
    QVERIFY(nats.start());
    QTRY_COMPARE_WITH_TIMEOUT(broker->state(), Broker::State::Connected, HealMs);
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), 3));
    QCOMPARE(states.first().first().value<Broker::State>(), Broker::State::Reconnecting);
    QCOMPARE(states.last().first().value<Broker::State>(), Broker::State::Connected);
    QCOMPARE(c->received.size(), 2);
    QVERIFY(c->connected);
}

void tst_Cluster::subjectPrefixAndRawNats() {
    NatsServer nats;
    QVERIFY(nats.start());
    NatsOptions prefixed = nodeOptions({nats.url()}, QStringLiteral("prefixed"));
    prefixed.subjectPrefix = "lhttp";
    auto node1 = makeNode(prefixed);
    auto node2 = makeNode(nodeOptions({nats.url()}, QStringLiteral("plain")));
    QVERIFY(node1 && node2);
    auto c1 = client(node1);
    auto c2 = client(node2);
    QVERIFY(c1 && c2);
    c1->send("LHTTP/1.0 chat\r\nsubscribe:room\r\n\r\n");
    c2->send("LHTTP/1.0 chat\r\nsubscribe:room\r\n\r\n");
    QVERIFY(c1->sync() && c2->sync());
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("prefixed"), 1));
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("plain"), 1));
    QCOMPARE(nats.subscriptionsOf(QStringLiteral("prefixed")), QStringList{"lhttp.room"});
    QCOMPARE(nats.subscriptionsOf(QStringLiteral("plain")), QStringList{"room"});

    // What another NATS client (an original Go lhttp node) sees: the LHTTP message bytes on
    // subject = channel, no envelope.
    RawNats raw(nats.url());
    natsSubscription *plainRoom = raw.subscribe("room");
    natsSubscription *prefixedRoom = raw.subscribe("lhttp.room");
    QVERIFY(plainRoom && prefixedRoom);
    const QByteArray m1("LHTTP/1.0 chat\r\npublish:room\r\nx-a:1\r\n\r\nfrom node 1");
    c1->send(m1);
    QVERIFY(c1->waitForMessages(1));
    QCOMPARE(raw.next(prefixedRoom), m1);
    const QByteArray m2("LHTTP/1.0 chat\r\npublish:room\r\n\r\nfrom node 2");
    c2->send(m2);
    QVERIFY(c2->waitForMessages(1));
    QCOMPARE(raw.next(plainRoom), m2);
    // Different prefixes are different clusters.
    QVERIFY(c1->staysQuiet(200) && c2->staysQuiet(0));
    QCOMPARE(c1->received.size(), 1);
    QCOMPARE(c2->received.size(), 1);

    // And what a Go node publishes reaches the subscribers here.
    const QByteArray go("LHTTP/1.0 chat\r\npublish:room\r\n\r\nfrom go");
    raw.publish("room", go);
    raw.publish("lhttp.room", go + " prefixed");
    raw.flush();
    QVERIFY(c1->waitForMessages(2) && c2->waitForMessages(2));
    QCOMPARE(c1->received.last(), go + " prefixed");
    QCOMPARE(c2->received.last(), go);
    QVERIFY(c1->staysQuiet(200) && c2->staysQuiet(0));
}

void tst_Cluster::wildcardChannelsExactlyOnce() {
    NatsServer nats;
    QVERIFY(nats.start());
    ServerOptions options;
    options.allowWildcards = true;
    auto node1 = makeNode(nodeOptions({nats.url()}, QStringLiteral("node1")), options);
    auto node2 = makeNode(nodeOptions({nats.url()}, QStringLiteral("node2")), options);
    QVERIFY(node1 && node2);
    auto exact = client(node1);
    auto wild = client(node1);
    auto both = client(node1);
    auto localPub = client(node1);
    auto remotePub = client(node2);
    QVERIFY(exact && wild && both && localPub && remotePub);
    exact->send("LHTTP/1.0 chat\r\nsubscribe:w.a\r\n\r\n");
    wild->send("LHTTP/1.0 chat\r\nsubscribe:w.*\r\n\r\n");
    both->send("LHTTP/1.0 chat\r\nsubscribe:w.a w.>\r\n\r\n");
    QVERIFY(exact->sync() && wild->sync() && both->sync());
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), 3));

    // NATS hands node 1 one copy per matching subscription (w.a, w.*, w.>); each copy must
    // reach its own channel's subscribers only, exactly as a publish on node 1 itself does.
    localPub->send("LHTTP/1.0 chat\r\npublish:w.a\r\n\r\nlocal");
    QVERIFY(exact->waitForMessages(1) && wild->waitForMessages(1) && both->waitForMessages(2));
    remotePub->send("LHTTP/1.0 chat\r\npublish:w.a\r\n\r\nremote");
    QVERIFY(exact->waitForMessages(2) && wild->waitForMessages(2) && both->waitForMessages(4));
    remotePub->send("LHTTP/1.0 chat\r\npublish:w.b\r\n\r\nother");
    QVERIFY(wild->waitForMessages(3) && both->waitForMessages(5));
    QVERIFY(exact->staysQuiet(300) && wild->staysQuiet(0) && both->staysQuiet(0));
    QCOMPARE(exact->received.size(), 2);
    QCOMPARE(wild->received.size(), 3);
    QCOMPARE(both->received.size(), 5);
    QVERIFY(localPub->staysQuiet(0) && remotePub->staysQuiet(0));
}

void tst_Cluster::fiveHundredClientsFiftySubscriptions() {
    constexpr int Clients = 500;
    constexpr int Channels = 50;
    NatsServer nats;
    QVERIFY(nats.start());
    auto node1 = makeNode(nodeOptions({nats.url()}, QStringLiteral("node1")));
    auto node2 = makeNode(nodeOptions({nats.url()}, QStringLiteral("node2")));
    QVERIFY(node1 && node2);
    NatsBroker *broker = brokerOf(node1);
    QTRY_COMPARE(broker->state(), Broker::State::Connected);

    std::vector<Client> clients;
    const QUrl url(QStringLiteral("ws://127.0.0.1:%1/").arg(node1->serverPort()));
    for (int i = 0; i < Clients; ++i) {
        clients.push_back(Client(new WsClient));
        clients.back()->socket.open(url);
    }
    for (int i = 0; i < Clients; ++i) {
        WsClient &c = *clients[size_t(i)];
        QTRY_VERIFY(c.connected);
        c.send("LHTTP/1.0 chat\r\nsubscribe:load." + QByteArray::number(i % Channels) + "\r\n\r\n");
    }
    for (auto &c : clients)
        QVERIFY(c->sync());
    QCOMPARE(node1->subscriptionCount(), Clients);
    // The broker hears of the loops' changes in its own thread, posted (threads > 1): soon.
    QTRY_COMPARE(broker->subscriptionCount(), Channels);
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), Channels));
    QStringList subjects = nats.subscriptionsOf(QStringLiteral("node1"));
    subjects.removeDuplicates();
    QCOMPARE(subjects.size(), Channels);

    // A publish on node 2 reaches the ten subscribers of that channel on node 1, once each.
    auto pub = client(node2);
    QVERIFY(pub);
    pub->send("LHTTP/1.0 chat\r\npublish:load.7\r\n\r\nten");
    for (int i = 7; i < Clients; i += Channels)
        QVERIFY(clients[size_t(i)]->waitForMessages(1));
    QVERIFY(clients[7]->staysQuiet(200));
    int receivers = 0;
    for (auto &c : clients)
        receivers += int(c->received.size());
    QCOMPARE(receivers, Clients / Channels);

    for (int i = 0; i < Clients; ++i) {
        if (i % 2)
            clients[size_t(i)]->socket.close();
        else
            clients[size_t(i)]->socket.abort();
    }
    clients.clear();
    QTRY_COMPARE(node1->sessionCount(), 0);
    QTRY_COMPARE(broker->subscriptionCount(), 0);
    QCOMPARE(node1->channelCount(), 0);
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), 0));
}

void tst_Cluster::handOffQueueDropsAreCounted() {
    constexpr int Limit = 10;
    constexpr int Burst = 200;
    NatsServer nats;
    QVERIFY(nats.start());
    NatsOptions o = nodeOptions({nats.url()}, QStringLiteral("node1"));
    o.queueLimit = Limit;
    auto node = makeNode(o);
    QVERIFY(node);
    NatsBroker *broker = brokerOf(node);
    auto c = client(node);
    QVERIFY(c);
    c->send("LHTTP/1.0 chat\r\nsubscribe:burst\r\n\r\n");
    QVERIFY(c->sync());
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), 1));

    RawNats raw(nats.url());
    for (int i = 0; i < Burst; ++i)
        raw.publish("burst", numbered("burst", i));
    QVERIFY(raw.flush());
    // The Qt thread is busy elsewhere (no event loop) until nats.c's thread has received the
    // whole burst: it fills the hand-off queue and drops the newest messages beyond the limit.
    QDeadlineTimer received(HealMs);
    while (broker->stats().messagesIn < quint64(Burst) && !received.hasExpired())
        QThread::msleep(5);
    QVERIFY(c->waitForMessages(Limit));
    QVERIFY(c->staysQuiet(300));
    QCOMPARE(c->received.size(), Limit);
    for (int i = 0; i < Limit; ++i)
        QCOMPARE(c->received.at(i), numbered("burst", i));
    const Broker::Stats s = broker->stats();
    QCOMPARE(s.messagesIn, quint64(Burst));
    QCOMPARE(s.drops, quint64(Burst - Limit));
    QCOMPARE(broker->counters().queueHighWater, quint64(Limit));

    // The queue drains and delivery goes on.
    raw.publish("burst", numbered("burst", Burst));
    raw.flush();
    QVERIFY(c->waitForMessages(Limit + 1));
    QCOMPARE(c->received.last(), numbered("burst", Burst));
}

void tst_Cluster::natsDownAtStartThenUp() {
    NatsServer nats; // its port is known, nothing listens there yet
    auto node1 = makeNode(nodeOptions({nats.url()}, QStringLiteral("node1")));
    auto node2 = makeNode(nodeOptions({nats.url()}, QStringLiteral("node2")));
    QVERIFY(node1 && node2);
    NatsBroker *broker1 = brokerOf(node1);
    NatsBroker *broker2 = brokerOf(node2);
    auto a = client(node1);
    auto b = client(node2);
    auto pub = client(node2);
    QVERIFY(a && b && pub);
    // Connecting during the first attempt, Disconnected once it failed (retrying meanwhile).
    QTRY_COMPARE(broker1->state(), Broker::State::Disconnected);
    QTRY_COMPARE(broker2->state(), Broker::State::Disconnected);

    // Local pub/sub works meanwhile, and the publisher is not bothered with errors.
    a->send("LHTTP/1.0 chat\r\nsubscribe:late\r\n\r\n");
    b->send("LHTTP/1.0 chat\r\nsubscribe:late\r\n\r\n");
    QVERIFY(a->sync() && b->sync());
    pub->send("LHTTP/1.0 chat\r\npublish:late\r\n\r\nwhile down");
    QVERIFY(b->waitForMessages(1));
    QVERIFY(pub->staysQuiet(100));
    QCOMPARE(broker1->state(), Broker::State::Disconnected);

    // Deliberately down for a while (20 reconnect waits), not just the first attempt: the
    // nodes must keep retrying.
    QTest::qWait(2'000);
    QVERIFY(nats.start());
    QTRY_COMPARE_WITH_TIMEOUT(broker1->state(), Broker::State::Connected, HealMs);
    QTRY_COMPARE_WITH_TIMEOUT(broker2->state(), Broker::State::Connected, HealMs);
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), 1));
    QCOMPARE(nats.subscriptionsOf(QStringLiteral("node1")), QStringList{"late"});

    // The same WebSocket connections now get each other's publishes across the nodes.
    QVERIFY(probeUntilReceived(*pub, *a, "late"));
    b->received.clear();
    constexpr int Count = 100;
    for (int i = 0; i < Count; ++i)
        pub->send(numbered("late", i));
    QVERIFY(a->waitForMessages(Count) && b->waitForMessages(Count));
    QVERIFY(a->staysQuiet(200));
    QCOMPARE(a->received.size(), Count);
    for (int i = 0; i < Count; ++i)
        QCOMPARE(a->received.at(i), numbered("late", i));
    QVERIFY(a->connected && b->connected && pub->connected);
    QCOMPARE(node1->counters().connectionsAccepted, 1u);
    QCOMPARE(node2->counters().connectionsAccepted, 2u);
}

void tst_Cluster::natsRestartResubscribes() {
    NatsServer nats;
    QVERIFY(nats.start());
    auto node1 = makeNode(nodeOptions({nats.url()}, QStringLiteral("node1")));
    auto node2 = makeNode(nodeOptions({nats.url()}, QStringLiteral("node2")));
    QVERIFY(node1 && node2);
    NatsBroker *broker1 = brokerOf(node1);
    NatsBroker *broker2 = brokerOf(node2);
    auto a = client(node1);
    auto b = client(node2);
    auto pub = client(node2);
    QVERIFY(a && b && pub);
    a->send("LHTTP/1.0 chat\r\nsubscribe:r1 r2\r\n\r\n");
    b->send("LHTTP/1.0 chat\r\nsubscribe:r1\r\n\r\n");
    QVERIFY(a->sync() && b->sync());
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), 2));
    QVERIFY(probeUntilReceived(*pub, *a, "r1"));
    b->received.clear();

    // A crash (SIGKILL): no clean close from the server side.
    nats.kill();
    QTRY_COMPARE_WITH_TIMEOUT(broker1->state(), Broker::State::Reconnecting, HealMs);
    QTRY_COMPARE_WITH_TIMEOUT(broker2->state(), Broker::State::Reconnecting, HealMs);
    // Meanwhile the publisher's own node delivers, and the publisher hears of no error.
    pub->send("LHTTP/1.0 chat\r\npublish:r1\r\n\r\nwhile down");
    QVERIFY(b->waitForMessages(1));
    QVERIFY(pub->staysQuiet(100));
    QCOMPARE(b->received.size(), 1);

    // The same server comes back on the same port: both nodes reconnect and resubscribe by
    // themselves, exactly one NATS subscription per channel.
    QVERIFY(nats.start());
    QTRY_COMPARE_WITH_TIMEOUT(broker1->state(), Broker::State::Connected, HealMs);
    QTRY_COMPARE_WITH_TIMEOUT(broker2->state(), Broker::State::Connected, HealMs);
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), 2));
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node2"), 1));
    QStringList subjects = nats.subscriptionsOf(QStringLiteral("node1"));
    subjects.sort();
    QCOMPARE(subjects, (QStringList{"r1", "r2"}));
    QCOMPARE(broker1->subscriptionCount(), 2);

    QVERIFY(probeUntilReceived(*pub, *a, "r1"));
    b->received.clear();
    constexpr int Count = 100;
    for (int i = 0; i < Count; ++i)
        pub->send(numbered("r1", i));
    QVERIFY(a->waitForMessages(Count) && b->waitForMessages(Count));
    QVERIFY(a->staysQuiet(200) && b->staysQuiet(0));
    QCOMPARE(a->received.size(), Count);
    QCOMPARE(b->received.size(), Count);
    for (int i = 0; i < Count; ++i)
        QCOMPARE(a->received.at(i), numbered("r1", i));

    // The UNSUB goes out when the last local subscriber leaves with an unsubscribe header.
    a->send("LHTTP/1.0 chat\r\nunsubscribe:r2\r\n\r\n");
    QVERIFY(a->sync());
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("node1"), 1));
    QCOMPARE(nats.subscriptionsOf(QStringLiteral("node1")), QStringList{"r1"});
    QCOMPARE(broker1->subscriptionCount(), 1);

    // No client had to do anything.
    QVERIFY(a->connected && b->connected && pub->connected);
    QCOMPARE(node1->counters().connectionsAccepted, 1u);
    QCOMPARE(node2->counters().connectionsAccepted, 2u);
}

void tst_Cluster::healthAndMetricsFollowBroker() {
    constexpr int BufferBytes = 8 * 1024;
    constexpr int Published = 50;
    NatsServer nats; // not started yet
    NatsOptions o = nodeOptions({nats.url()}, QStringLiteral("health"));
    o.reconnectBufferBytes = BufferBytes;
    auto node = makeNode(o);
    QVERIFY(node);
    NatsBroker *broker = brokerOf(node);
    const QUrl healthz(QStringLiteral("http://127.0.0.1:%1/healthz").arg(node->serverPort()));
    const QUrl metricsUrl(QStringLiteral("http://127.0.0.1:%1/metrics").arg(node->serverPort()));
    const auto health = [&] { return QJsonDocument::fromJson(httpGet(healthz)).object(); };
    const auto brokerHealth = [&] { return health().value(u"broker").toObject(); };

    QTRY_COMPARE(broker->state(), Broker::State::Disconnected);
    QJsonObject h = health();
    QCOMPARE(h.value(u"status").toString(), QStringLiteral("degraded"));
    QCOMPARE(h.value(u"broker").toObject().value(u"state").toString(),
             QStringLiteral("disconnected"));
    QCOMPARE(h.value(u"broker").toObject().value(u"url").toString(), QString());
    QByteArray m = httpGet(metricsUrl);
    QCOMPARE(metric(m, "broker_state{state=\"disconnected\"}"), 1.0);
    QCOMPARE(metric(m, "broker_state{state=\"connected\"}"), 0.0);

    // While NATS is down: local delivery of everything, no error for the publisher, and what
    // nats.c holds for later is bounded by the reconnect buffer; the rest is counted.
    auto sub = client(node);
    auto pub = client(node);
    QVERIFY(sub && pub);
    sub->send("LHTTP/1.0 chat\r\nsubscribe:h\r\n\r\n");
    QVERIFY(sub->sync());
    const QByteArray body(1024, 'x');
    for (int i = 0; i < Published; ++i)
        pub->send("LHTTP/1.0 chat\r\npublish:h\r\n\r\n" + QByteArray::number(i) + body);
    QVERIFY(sub->waitForMessages(Published));
    QVERIFY(pub->staysQuiet(100));
    const Broker::Stats down = broker->stats();
    QVERIFY2(down.publishFailures > 0 && down.publishFailures < quint64(Published),
             QByteArray::number(down.publishFailures).constData());
    QCOMPARE(down.messagesOut + down.publishFailures, quint64(Published));
    QVERIFY(down.messagesOut * 1024 <= quint64(BufferBytes));
    QCOMPARE(broker->counters().rejected, 0u);
    m = httpGet(metricsUrl);
    QCOMPARE(metric(m, "broker_publish_failures_total"), double(down.publishFailures));
    // nats.c holds the channel's subscription and sends it once connected.
    QCOMPARE(metric(m, "broker_subscriptions"), 1.0);

    QVERIFY(nats.start());
    QTRY_COMPARE_WITH_TIMEOUT(broker->state(), Broker::State::Connected, HealMs);
    QTRY_COMPARE(brokerHealth().value(u"state").toString(), QStringLiteral("connected"));
    h = health();
    QCOMPARE(h.value(u"status").toString(), QStringLiteral("ok"));
    QCOMPARE(portOf(h.value(u"broker").toObject().value(u"url").toString()), nats.port());
    QCOMPARE(h.value(u"broker").toObject().value(u"subscriptions").toInt(), 1);
    m = httpGet(metricsUrl);
    QCOMPARE(metric(m, "broker_state{state=\"connected\"}"), 1.0);
    QCOMPARE(metric(m, "broker_state{state=\"disconnected\"}"), 0.0);
    QCOMPARE(metric(m, "broker_subscriptions"), 1.0);

    // A message from another NATS client shows in messages_in.
    RawNats raw(nats.url());
    QVERIFY(raw.isConnected());
    QVERIFY(waitForSubscriptions(nats, QStringLiteral("health"), 1));
    raw.publish("h", "LHTTP/1.0 chat\r\n\r\nin");
    raw.flush();
    QVERIFY(sub->waitForMessages(Published + 1));
    QCOMPARE(metric(httpGet(metricsUrl), "broker_messages_in_total"), 1.0);

    // NATS stops: Reconnecting, degraded.
    nats.stop();
    QTRY_COMPARE_WITH_TIMEOUT(broker->state(), Broker::State::Reconnecting, HealMs);
    QCOMPARE(health().value(u"status").toString(), QStringLiteral("degraded"));
    QCOMPARE(metric(httpGet(metricsUrl), "broker_state{state=\"reconnecting\"}"), 1.0);

    // A node still retrying an absent NATS shuts down at once.
    QElapsedTimer t;
    t.start();
    node.reset();
    QVERIFY2(t.elapsed() < 1'000, QByteArray::number(t.elapsed()).constData());
}

void tst_Cluster::strictModeAnswers503() {
    NatsServer nats;
    NatsOptions o = nodeOptions({nats.url()}, QStringLiteral("strict"));
    o.strict = true;
    auto node = makeNode(o);
    QVERIFY(node);
    NatsBroker *broker = brokerOf(node);
    auto sub = client(node);
    auto pub = client(node);
    QVERIFY(sub && pub);
    sub->send("LHTTP/1.0 chat\r\nsubscribe:s\r\n\r\n");
    QVERIFY(sub->sync());
    pub->send("LHTTP/1.0 chat\r\npublish:s\r\n\r\ndown");
    QVERIFY(sub->waitForMessages(1)); // local delivery still happens
    QVERIFY(pub->waitForMessages(1));
    QVERIFY(pub->received.first().startsWith("LHTTP/1.0 error\r\ncode:503\r\n"));
    QCOMPARE(broker->counters().rejected, 1u);
    // The same for an HTTP publish: 503 with the reason, the local subscriber has it.
    const QUrl publishUrl(QStringLiteral("http://127.0.0.1:%1/publish").arg(node->serverPort()));
    QByteArray answer;
    QCOMPARE(httpPost(publishUrl, "LHTTP/1.0 chat\r\npublish:s\r\n\r\nhttp down", &answer), 503);
    QVERIFY2(answer.contains("cluster unavailable"), answer.constData());
    QVERIFY(sub->waitForMessages(2));
    QCOMPARE(sub->received.last(), QByteArray("LHTTP/1.0 chat\r\npublish:s\r\n\r\nhttp down"));
    QCOMPARE(broker->counters().rejected, 2u);
    QCOMPARE(broker->stats().publishFailures, 2u);

    QVERIFY(nats.start());
    QTRY_COMPARE_WITH_TIMEOUT(broker->state(), Broker::State::Connected, HealMs);
    pub->send("LHTTP/1.0 chat\r\npublish:s\r\n\r\nup");
    QVERIFY(sub->waitForMessages(3));
    QVERIFY(pub->staysQuiet(200));
    QCOMPARE(pub->received.size(), 1);
    QCOMPARE(httpPost(publishUrl, "LHTTP/1.0 chat\r\npublish:s\r\n\r\nhttp up"), 200);
    QVERIFY(sub->waitForMessages(4));
    QCOMPARE(broker->stats().messagesOut, 2u);
    QCOMPARE(broker->counters().rejected, 2u);
}

void tst_Cluster::clusterFailover() {
    NatsServer natsA;
    NatsServer natsB;
    natsA.setRoutes({natsB.clusterUrl()});
    natsB.setRoutes({natsA.clusterUrl()});
    QVERIFY(natsA.start());
    QVERIFY(natsB.start());
    QTRY_VERIFY_WITH_TIMEOUT(natsA.routeCount() >= 1 && natsB.routeCount() >= 1, 10'000);

    // Node 1 knows both members and picks one; node 2 is on the other one only.
    auto node1 = makeNode(nodeOptions({natsA.url(), natsB.url()}, QStringLiteral("node1")));
    QVERIFY(node1);
    NatsBroker *broker1 = brokerOf(node1);
    QTRY_COMPARE(broker1->state(), Broker::State::Connected);
    const bool onA = portOf(broker1->serverUrl()) == natsA.port();
    NatsServer &first = onA ? natsA : natsB;
    NatsServer &second = onA ? natsB : natsA;
    QCOMPARE(portOf(broker1->serverUrl()), first.port());
    auto node2 = makeNode(nodeOptions({second.url()}, QStringLiteral("node2")));
    QVERIFY(node2);
    QTRY_COMPARE(brokerOf(node2)->state(), Broker::State::Connected);

    auto a = client(node1);
    auto pub = client(node2);
    QVERIFY(a && pub);
    a->send("LHTTP/1.0 chat\r\nsubscribe:fo other\r\n\r\n");
    QVERIFY(a->sync());
    QVERIFY(probeUntilReceived(*pub, *a, "fo")); // across the route

    QSignalSpy states(broker1, &Broker::stateChanged);
    QElapsedTimer healed;
    healed.start();
    first.kill();
    QVERIFY(probeUntilReceived(*pub, *a, "fo"));
    qInfo("delivery resumed %lld ms after the NATS member was killed", healed.elapsed());
    QVERIFY(healed.elapsed() < HealMs);
    QTRY_COMPARE(broker1->state(), Broker::State::Connected);
    QCOMPARE(portOf(broker1->serverUrl()), second.port());
    QVERIFY(!states.isEmpty());
    QCOMPARE(states.first().first().value<Broker::State>(), Broker::State::Reconnecting);

    // Exactly one NATS subscription per channel after the failover.
    QStringList subjects = second.subscriptionsOf(QStringLiteral("node1"));
    subjects.sort();
    QCOMPARE(subjects, (QStringList{"fo", "other"}));
    QCOMPARE(broker1->subscriptionCount(), 2);

    constexpr int Count = 200;
    for (int i = 0; i < Count; ++i)
        pub->send(numbered("fo", i));
    QVERIFY(a->waitForMessages(Count));
    QVERIFY(a->staysQuiet(200));
    QCOMPARE(a->received.size(), Count);
    for (int i = 0; i < Count; ++i)
        QCOMPARE(a->received.at(i), numbered("fo", i));
    QVERIFY(a->connected && pub->connected);
}

void tst_Cluster::authenticationAndTls() {
    // User and password.
    {
        NatsServer nats;
        QVERIFY(nats.start({QStringLiteral("--user"), QStringLiteral("lhttp"),
                            QStringLiteral("--pass"), QStringLiteral("s3cret")}));
        NatsOptions good = nodeOptions({nats.url()}, QStringLiteral("good"));
        good.user = QStringLiteral("lhttp");
        good.password = QStringLiteral("s3cret");
        NatsOptions bad = good;
        bad.name = QStringLiteral("bad");
        bad.password = QStringLiteral("wrong");
        auto goodNode = makeNode(good);
        auto badNode = makeNode(bad);
        QVERIFY(goodNode && badNode);
        QTRY_COMPARE(brokerOf(goodNode)->state(), Broker::State::Connected);
        QTRY_COMPARE(brokerOf(badNode)->state(), Broker::State::Disconnected);
        QTest::qWait(300); // deliberately: further attempts (every 100 ms) fail as well
        QCOMPARE(brokerOf(badNode)->state(), Broker::State::Disconnected);
        auto c = client(badNode); // still serves its own subscribers
        QVERIFY(c);
        c->send("LHTTP/1.0 chat\r\nsubscribe:x\r\npublish:x\r\n\r\nlocal");
        QVERIFY(c->waitForMessages(1));
    }
    // Token.
    {
        NatsServer nats;
        QVERIFY(nats.start({QStringLiteral("--auth"), QStringLiteral("t0ken")}));
        NatsOptions o = nodeOptions({nats.url()}, QStringLiteral("token"));
        o.token = QStringLiteral("t0ken");
        auto node = makeNode(o);
        QVERIFY(node);
        QTRY_COMPARE(brokerOf(node)->state(), Broker::State::Connected);
    }
    // TLS with a CA file (a self-signed certificate for 127.0.0.1 is its own CA).
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString cert = dir.filePath(QStringLiteral("cert.pem"));
        const QString key = dir.filePath(QStringLiteral("key.pem"));
        QProcess openssl;
        openssl.start(QStringLiteral("openssl"),
                      {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
                       QStringLiteral("rsa:2048"), QStringLiteral("-nodes"),
                       QStringLiteral("-keyout"), key, QStringLiteral("-out"), cert,
                       QStringLiteral("-days"), QStringLiteral("1"), QStringLiteral("-subj"),
                       QStringLiteral("/CN=127.0.0.1"), QStringLiteral("-addext"),
                       QStringLiteral("subjectAltName=IP:127.0.0.1")});
        if (!openssl.waitForFinished(30'000) || openssl.exitCode() != 0)
            QSKIP("openssl could not make a test certificate");
        NatsServer nats;
        QVERIFY(nats.start({QStringLiteral("--tls"), QStringLiteral("--tlscert"), cert,
                            QStringLiteral("--tlskey"), key}));
        NatsOptions o = nodeOptions({nats.url()}, QStringLiteral("tls"));
        o.tlsCaFile = cert;
        auto node = makeNode(o);
        QVERIFY(node);
        QTRY_COMPARE(brokerOf(node)->state(), Broker::State::Connected);
        auto c = client(node);
        QVERIFY(c);
        c->send("LHTTP/1.0 chat\r\nsubscribe:secure\r\n\r\n");
        QVERIFY(c->sync());
        QVERIFY(waitForSubscriptions(nats, QStringLiteral("tls"), 1));
        // Without the CA the server's certificate is not trusted.
        NatsOptions untrusted = nodeOptions({QStringLiteral("tls://127.0.0.1:%1").arg(nats.port())},
                                            QStringLiteral("untrusted"));
        auto other = makeNode(untrusted);
        QVERIFY(other);
        QTRY_COMPARE(brokerOf(other)->state(), Broker::State::Disconnected); // the attempt failed
        QTest::qWait(300); // deliberately: further attempts (every 100 ms) fail as well
        QVERIFY(brokerOf(other)->state() != Broker::State::Connected);
    }
}

QTEST_MAIN(tst_Cluster)
#include "tst_cluster.moc"

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// Clustered history: NatsBroker keeping history channels in JetStream streams, against real
// nats-server processes with JetStream (-js -sd <temporary directory>). The brokers are driven
// directly, their deliveries recorded by a LocalDelivery of the test's own.

#include "frame.h"
#include "message.h"
#include "natsbroker.h"
#include "natsserver.h"
#include "server.h"
#include "wsclient.h"

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <nats/nats.h>

#include <csignal>
#include <memory>

using namespace lhttp;

namespace {

constexpr int ReadyMs = 10'000;
constexpr int DeliverMs = 5'000;

struct Stored {
    QByteArray channel;
    quint64 offset = 0;
    QByteArray epoch;
    QByteArray payload;
    bool live = false;
};

// What a broker hands to its node.
class Recorder final : public LocalDelivery {
public:
    int deliver(const QByteArray &channel, const Frame &frame) override {
        plain.append({channel, frame.bytes()});
        return 1;
    }
    int deliverExact(const QByteArray &channel, const Frame &frame) override {
        plain.append({channel, frame.bytes()});
        return 1;
    }
    void deliverStored(const QByteArray &channel, quint64 offset, const QByteArray &epoch,
                       const Frame &frame, bool live) override {
        stored.append({channel, offset, epoch, frame.bytes(), live});
    }
    bool waitForStored(int count, int timeoutMs = DeliverMs) {
        return QTest::qWaitFor([&] { return stored.size() >= count; }, timeoutMs);
    }

    QList<QPair<QByteArray, QByteArray>> plain;
    QList<Stored> stored;
};

QByteArray numbered(const QByteArray &channel, int i) {
    return "LHTTP/1.0 chat\r\npublish:" + channel + "\r\n\r\n" + QByteArray::number(i);
}

// A broker with its recorder, as a node would hold it.
struct Node {
    std::unique_ptr<Recorder> recorder = std::make_unique<Recorder>();
    std::unique_ptr<NatsBroker> broker;

    bool waitReady(int timeoutMs = ReadyMs) const {
        return QTest::qWaitFor([&] { return broker->historyReady(); }, timeoutMs);
    }
    bool publish(const QByteArray &channel, const QByteArray &payload) const {
        return !broker->publish(channel, Frame(payload)).isError();
    }
};

// A plain nats.c client with a JetStream context: what an operator's tools see and do.
class RawJs {
public:
    explicit RawJs(const QString &url) {
        if (natsConnection_ConnectTo(&m_nc, url.toUtf8().constData()) == NATS_OK)
            natsConnection_JetStream(&m_js, m_nc, nullptr);
    }
    ~RawJs() {
        for (natsSubscription *s : m_subs)
            natsSubscription_Destroy(s);
        if (m_js)
            jsCtx_Destroy(m_js);
        if (m_nc)
            natsConnection_Destroy(m_nc);
    }
    RawJs(const RawJs &) = delete;
    RawJs &operator=(const RawJs &) = delete;

    bool isConnected() const { return m_js; }
    // Null when the stream does not exist; destroyed by the caller (StreamInfo does).
    jsStreamInfo *info(const QByteArray &stream) {
        jsStreamInfo *si = nullptr;
        jsErrCode err = jsErrCode(0);
        if (js_GetStreamInfo(&si, m_js, stream.constData(), nullptr, &err) != NATS_OK)
            return nullptr;
        return si;
    }
    bool deleteStream(const QByteArray &stream) {
        jsErrCode err = jsErrCode(0);
        return js_DeleteStream(m_js, stream.constData(), nullptr, &err) == NATS_OK;
    }
    natsSubscription *subscribe(const QByteArray &subject) {
        natsSubscription *s = nullptr;
        if (natsConnection_SubscribeSync(&s, m_nc, subject.constData()) != NATS_OK)
            return nullptr;
        m_subs.push_back(s);
        natsConnection_FlushTimeout(m_nc, 5'000);
        return s;
    }
    bool publish(const QByteArray &subject, const QByteArray &data) {
        return natsConnection_Publish(m_nc, subject.constData(), data.constData(),
                                      int(data.size())) == NATS_OK &&
               natsConnection_FlushTimeout(m_nc, 5'000) == NATS_OK;
    }
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
    jsCtx *m_js = nullptr;
    std::vector<natsSubscription *> m_subs;
};

struct StreamInfoDeleter {
    void operator()(jsStreamInfo *si) const { jsStreamInfo_Destroy(si); }
};
using StreamInfo = std::unique_ptr<jsStreamInfo, StreamInfoDeleter>;

} // namespace

class tst_JetStream : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();

    void twoBrokersShareOneStream();
    void laterBrokerCatchesUp();
    void limitsAppliedAndUpdated();
    void fullQueueReadsAgain();
    void noJetStreamNoFallback();
    void streamRecreatedNewEpoch();
    void serverRestartKeepsHistory();
    void destroyedWhileStreamsAreChecked();
    void serversRecoverAcrossNodes();

private:
    static NatsOptions options(const NatsServer &nats, const QString &name) {
        NatsOptions o;
        o.servers = {nats.url()};
        o.name = name;
        o.reconnectWaitMs = 100;
        o.historyCheckIntervalMs = 300;
        return o;
    }
    static Node node(const NatsOptions &o, const QList<HistoryNamespace> &history) {
        Node n;
        n.broker = std::make_unique<NatsBroker>(o);
        n.broker->attach(n.recorder.get());
        n.broker->setHistory(history);
        return n;
    }
    static bool startJs(NatsServer &nats, const QTemporaryDir &dir) {
        nats.setJetStream(dir.path());
        return nats.start();
    }
};

void tst_JetStream::initTestCase() {
    QVERIFY2(QFileInfo(NatsServer::binary()).isExecutable(),
             "nats-server not found (Debian package nats-server, or set NATS_SERVER_BIN)");
}

void tst_JetStream::twoBrokersShareOneStream() {
    QTemporaryDir dir;
    NatsServer nats;
    QVERIFY(startJs(nats, dir));
    // Room for the whole burst: a stream evicts beyond its per-channel limit as it stores,
    // and what is evicted before the consumers delivered it is not delivered (CLUSTER.md).
    const QList<HistoryNamespace> history{{"room.>", 100, 0}};
    Node a = node(options(nats, QStringLiteral("a")), history);
    Node b = node(options(nats, QStringLiteral("b")), history);
    QVERIFY(a.broker->keepsHistory());
    QVERIFY(a.waitReady());
    QVERIFY(b.waitReady());
    QVERIFY(a.broker->historyProblem().isEmpty());

    // The stream every node agrees on.
    const QByteArray stream = NatsBroker::historyStreamName("LHTTP_HISTORY", "room.>");
    QCOMPARE(stream, QByteArray("LHTTP_HISTORY_room_2E_3E"));
    RawJs raw(nats.url());
    QVERIFY(raw.isConnected());
    StreamInfo si(raw.info(stream));
    QVERIFY(si);
    QCOMPARE(si->Config->SubjectsLen, 1);
    QCOMPARE(QByteArray(si->Config->Subjects[0]), QByteArray("room.>"));
    QCOMPARE(si->Config->MaxMsgsPerSubject, NatsBroker::historyStreamLimit(100));
    QCOMPARE(si->Config->MaxAge, int64_t(0));
    QCOMPARE(si->Config->Storage, js_FileStorage);
    const QByteArray epoch = NatsBroker::streamEpoch(si->Created);
    QVERIFY(!epoch.isEmpty() && epoch.size() <= 32);

    // A core NATS subscriber (an original Go node) still gets history publishes.
    natsSubscription *core = raw.subscribe("room.1");
    QVERIFY(core);

    // Publishes through both, on two channels: every copy comes back to both brokers (the
    // publisher's own included) with the same offsets and epoch.
    constexpr int N = 20;
    for (int i = 0; i < N; ++i) {
        QVERIFY(a.publish("room.1", numbered("room.1", i)));
        QVERIFY(b.publish("room.2", numbered("room.2", i)));
    }
    QVERIFY(a.recorder->waitForStored(2 * N));
    QVERIFY(b.recorder->waitForStored(2 * N));
    QTest::qWait(200);
    QCOMPARE(a.recorder->stored.size(), 2 * N);
    QCOMPARE(b.recorder->stored.size(), 2 * N);
    int perChannel[2] = {0, 0};
    for (int i = 0; i < 2 * N; ++i) {
        const Stored &x = a.recorder->stored.at(i);
        const Stored &y = b.recorder->stored.at(i);
        QCOMPARE(x.channel, y.channel);
        QCOMPARE(x.offset, y.offset);
        QCOMPARE(x.epoch, epoch);
        QCOMPARE(y.epoch, epoch);
        QCOMPARE(x.payload, y.payload);
        QVERIFY(x.live && y.live);
        if (i > 0)
            QVERIFY(x.offset > a.recorder->stored.at(i - 1).offset);
        const int c = x.channel == "room.1" ? 0 : 1;
        QCOMPARE(x.payload, numbered(x.channel, perChannel[c]++)); // in publish order
    }
    QCOMPARE(a.recorder->stored.last().offset, quint64(2 * N));
    for (int i = 0; i < N; ++i)
        QCOMPARE(raw.next(core), numbered("room.1", i));
    QVERIFY(a.recorder->plain.isEmpty());

    // Plain channels: core NATS as always. History channels get no core subscription.
    a.broker->subscribe("plain");
    a.broker->subscribe("room.1");
    QCOMPARE(a.broker->subscriptionCount(), 1);
    QVERIFY(QTest::qWaitFor(
        [&] {
            b.publish("plain", "probe");
            QTest::qWait(50);
            return !a.recorder->plain.isEmpty();
        },
        DeliverMs));
    QCOMPARE(a.recorder->plain.first(), qMakePair(QByteArray("plain"), QByteArray("probe")));
    QCOMPARE(a.recorder->stored.size(), 2 * N);
    const Broker::Stats stats = a.broker->stats();
    QCOMPARE(stats.historyPublishFailures, quint64(0));
    QCOMPARE(stats.drops, quint64(0));
}

void tst_JetStream::laterBrokerCatchesUp() {
    QTemporaryDir dir;
    NatsServer nats;
    QVERIFY(startJs(nats, dir));
    const QList<HistoryNamespace> history{{"news", 100, 0}, {"chat.*", 100, 0}};
    Node a = node(options(nats, QStringLiteral("a")), history);
    QVERIFY(a.waitReady());
    for (int i = 0; i < 5; ++i)
        QVERIFY(a.publish("news", numbered("news", i)));
    QVERIFY(a.publish("chat.x", numbered("chat.x", 0)));
    QVERIFY(a.recorder->waitForStored(6));

    // A node that starts now reads what the streams hold as stored (not live), then is ready.
    Node c;
    c.broker = std::make_unique<NatsBroker>(options(nats, QStringLiteral("c")));
    c.broker->attach(c.recorder.get());
    QSignalSpy spy(c.broker.get(), &Broker::historyStateChanged);
    c.broker->setHistory(history);
    QVERIFY(!c.broker->historyReady());
    QVERIFY(!c.broker->historyProblem().isEmpty());
    QVERIFY(c.waitReady());
    QVERIFY(spy.size() >= 1);
    QCOMPARE(c.recorder->stored.size(), 6);
    for (const Stored &s : std::as_const(c.recorder->stored))
        QVERIFY(!s.live);
    // Each stream in its order (the two streams' consumers deliver independently).
    QList<Stored> news;
    QList<Stored> chat;
    for (const Stored &s : std::as_const(c.recorder->stored))
        (s.channel == "news" ? news : chat).append(s);
    QCOMPARE(news.size(), 5);
    QCOMPARE(chat.size(), 1);
    for (int i = 0; i < 5; ++i) {
        QCOMPARE(news.at(i).offset, quint64(i + 1));
        QCOMPARE(news.at(i).payload, numbered("news", i));
        QCOMPARE(news.at(i).epoch, a.broker->historyEpoch("news"));
    }
    QCOMPARE(chat.at(0).channel, QByteArray("chat.x"));
    // Two namespaces, two streams: offsets and epochs per stream.
    QCOMPARE(chat.at(0).offset, quint64(1));
    QCOMPARE(chat.at(0).epoch, a.broker->historyEpoch("chat.*"));
    QVERIFY(chat.at(0).epoch != news.at(0).epoch);
    QVERIFY(c.broker->historyProblem().isEmpty());

    // Then live.
    QVERIFY(a.publish("news", numbered("news", 5)));
    QVERIFY(c.recorder->waitForStored(7));
    QVERIFY(c.recorder->stored.at(6).live);
    QCOMPARE(c.recorder->stored.at(6).offset, quint64(6));
    QCOMPARE(c.recorder->stored.at(6).epoch, a.broker->historyEpoch("news"));
}

void tst_JetStream::limitsAppliedAndUpdated() {
    QTemporaryDir dir;
    NatsServer nats;
    QVERIFY(startJs(nats, dir));
    const QByteArray stream = NatsBroker::historyStreamName("LHTTP_HISTORY", "chat.*");
    RawJs raw(nats.url());
    {
        Node a = node(options(nats, QStringLiteral("a")), {{"chat.*", 3, 60'000}});
        QVERIFY(a.waitReady());
        for (int i = 0; i < 5; ++i) {
            QVERIFY(a.publish("chat.a", numbered("chat.a", i)));
            QVERIFY(a.recorder->waitForStored(i + 1));
        }
        QVERIFY(a.publish("chat.b", numbered("chat.b", 0)));
        QVERIFY(a.recorder->waitForStored(6));
        StreamInfo si(raw.info(stream));
        QVERIFY(si);
        QCOMPARE(si->Config->MaxMsgsPerSubject, NatsBroker::historyStreamLimit(3));
        QCOMPARE(si->Config->MaxAge, int64_t(60'000) * 1'000'000);
        QCOMPARE(si->State.Msgs, uint64_t(6)); // within the margin: each node keeps 3
        QCOMPARE(si->State.FirstSeq, uint64_t(1));
    }
    // A node with other limits updates the stream (same stream, same epoch).
    StreamInfo before(raw.info(stream));
    QVERIFY(before);
    NatsOptions o = options(nats, QStringLiteral("b"));
    Node b = node(o, {{"chat.*", 5, 0}});
    QVERIFY(b.waitReady());
    StreamInfo after(raw.info(stream));
    QVERIFY(after);
    QCOMPARE(after->Config->MaxMsgsPerSubject, NatsBroker::historyStreamLimit(5));
    QCOMPARE(after->Config->MaxAge, int64_t(0));
    QCOMPARE(after->Created, before->Created);
    // It read back what was kept, as stored.
    QCOMPARE(b.recorder->stored.size(), 6);
    QCOMPARE(b.recorder->stored.first().offset, quint64(1));

    // Memory storage and another stream prefix.
    NatsOptions m = options(nats, QStringLiteral("m"));
    m.historyMemoryStorage = true;
    m.historyStreamPrefix = "OTHER";
    Node mem = node(m, {{"mem.*", 2, 1'000}});
    QVERIFY(mem.waitReady());
    StreamInfo memInfo(raw.info(NatsBroker::historyStreamName("OTHER", "mem.*")));
    QVERIFY(memInfo);
    QCOMPARE(memInfo->Config->Storage, js_MemoryStorage);
    QCOMPARE(memInfo->Config->MaxAge, int64_t(1'000) * 1'000'000);
    // The TTL: gone from the stream after a second; a node that starts then has nothing to
    // read back and is ready at once.
    QVERIFY(mem.publish("mem.a", numbered("mem.a", 0)));
    QVERIFY(mem.recorder->waitForStored(1));
    QVERIFY(QTest::qWaitFor(
        [&] {
            StreamInfo i(raw.info(NatsBroker::historyStreamName("OTHER", "mem.*")));
            return i && i->State.Msgs == 0;
        },
        3'000));
    Node late = node(m, {{"mem.*", 2, 1'000}});
    QVERIFY(late.waitReady());
    QVERIFY(late.recorder->stored.isEmpty());

    // Another prefix for the same subjects: they overlap with LHTTP_HISTORY_chat_2E_2A, so
    // there is no second stream, and no history on that node.
    Node overlap = node(m, {{"chat.*", 2, 0}});
    QVERIFY(QTest::qWaitFor(
        [&] {
            return !overlap.broker->historyProblem().isEmpty() &&
                   overlap.broker->historyProblem().contains("overlap");
        },
        ReadyMs));
    QVERIFY(!overlap.broker->historyReady());
    QVERIFY(!StreamInfo(raw.info(NatsBroker::historyStreamName("OTHER", "chat.*"))));
}

void tst_JetStream::fullQueueReadsAgain() {
    constexpr int Burst = 300;
    QTemporaryDir dir;
    NatsServer nats;
    QVERIFY(startJs(nats, dir));
    const QList<HistoryNamespace> history{{"burst", 1'000, 0}};
    Node a = node(options(nats, QStringLiteral("a")), history);
    NatsOptions o = options(nats, QStringLiteral("c"));
    o.queueLimit = 10;
    Node c = node(o, history);
    QVERIFY(a.waitReady());
    QVERIFY(c.waitReady());
    for (int i = 0; i < Burst; ++i)
        QVERIFY(a.publish("burst", numbered("burst", i)));
    // The Qt thread (this one, for both brokers) does not drain meanwhile: c's hand-off queue
    // fills up after 10 messages. The rest is not lost but read from the stream again.
    QDeadlineTimer received(DeliverMs);
    while (c.broker->counters().historyRequeued == 0 && !received.hasExpired())
        QThread::msleep(5);
    QVERIFY(c.broker->counters().historyRequeued > 0);
    QVERIFY(c.recorder->waitForStored(Burst, 10'000));
    QVERIFY(a.recorder->waitForStored(Burst));
    QTest::qWait(200);
    if (c.recorder->stored.size() != Burst) {
        QByteArray offs;
        for (const Stored &s : std::as_const(c.recorder->stored))
            offs += QByteArray::number(s.offset) + (s.live ? "" : "s") + ' ';
        qWarning() << offs;
    }
    QCOMPARE(c.recorder->stored.size(), Burst);
    for (int i = 0; i < Burst; ++i) {
        const Stored &s = c.recorder->stored.at(i);
        QCOMPARE(s.offset, quint64(i + 1));
        QCOMPARE(s.payload, numbered("burst", i));
        QVERIFY(s.live);
    }
    qInfo() << "requeued" << c.broker->counters().historyRequeued << "subscribes"
            << c.broker->counters().historySubscribes;
    QVERIFY(c.broker->counters().historySubscribes > 1);
    QCOMPARE(c.broker->stats().drops, quint64(0));
}

void tst_JetStream::noJetStreamNoFallback() {
    NatsServer nats;
    QVERIFY(nats.start()); // no -js
    Node a = node(options(nats, QStringLiteral("a")), {{"room.>", 10, 0}});
    const QString expected = QStringLiteral("JetStream is not enabled on %1").arg(nats.url());
    QVERIFY(QTest::qWaitFor([&] { return a.broker->historyProblem() == expected; }, ReadyMs));
    QVERIFY(!a.broker->historyReady());
    QVERIFY(a.broker->keepsHistory());
    // A publish on a history channel is not delivered by core NATS instead: it is counted.
    a.publish("room.1", "x");
    QTest::qWait(300);
    QVERIFY(a.recorder->stored.isEmpty());
    QVERIFY(a.broker->stats().historyPublishFailures >= 1);
    // Plain channels work.
    Node b = node(options(nats, QStringLiteral("b")), {});
    a.broker->subscribe("plain");
    QVERIFY(QTest::qWaitFor(
        [&] {
            b.publish("plain", "probe");
            QTest::qWait(50);
            return !a.recorder->plain.isEmpty();
        },
        DeliverMs));
}

void tst_JetStream::streamRecreatedNewEpoch() {
    QTemporaryDir dir;
    NatsServer nats;
    QVERIFY(startJs(nats, dir));
    Node a = node(options(nats, QStringLiteral("a")), {{"room.>", 10, 0}});
    QVERIFY(a.waitReady());
    QVERIFY(a.publish("room.1", numbered("room.1", 0)));
    QVERIFY(a.publish("room.1", numbered("room.1", 1)));
    QVERIFY(a.recorder->waitForStored(2));
    const QByteArray oldEpoch = a.broker->historyEpoch("room.>");
    QCOMPARE(a.recorder->stored.at(1).epoch, oldEpoch);

    // An operator deletes the stream: the node notices, creates it again and follows the new
    // one, under a new epoch, from offset 1.
    const QByteArray stream = NatsBroker::historyStreamName("LHTTP_HISTORY", "room.>");
    RawJs raw(nats.url());
    QTest::qWait(20); // a later creation time, whatever the clock's resolution
    QVERIFY(raw.deleteStream(stream));
    QVERIFY(QTest::qWaitFor(
        [&] {
            const QByteArray e = a.broker->historyEpoch("room.>");
            return !e.isEmpty() && e != oldEpoch && a.broker->historyReady();
        },
        ReadyMs));
    const QByteArray newEpoch = a.broker->historyEpoch("room.>");
    StreamInfo si(raw.info(stream));
    QVERIFY(si);
    QCOMPARE(NatsBroker::streamEpoch(si->Created), newEpoch);
    QVERIFY(a.publish("room.1", numbered("room.1", 2)));
    QVERIFY(a.recorder->waitForStored(3));
    QCOMPARE(a.recorder->stored.at(2).epoch, newEpoch);
    QCOMPARE(a.recorder->stored.at(2).offset, quint64(1));
    QCOMPARE(a.recorder->stored.at(2).payload, numbered("room.1", 2));
}

void tst_JetStream::serverRestartKeepsHistory() {
    QTemporaryDir dir;
    NatsServer nats;
    QVERIFY(startJs(nats, dir));
    const QList<HistoryNamespace> history{{"room.>", 10, 0}};
    Node a = node(options(nats, QStringLiteral("a")), history);
    QVERIFY(a.waitReady());
    for (int i = 0; i < 3; ++i)
        QVERIFY(a.publish("room.1", numbered("room.1", i)));
    QVERIFY(a.recorder->waitForStored(3));
    const QByteArray epoch = a.broker->historyEpoch("room.>");

    nats.stop();
    QVERIFY(QTest::qWaitFor([&] { return a.broker->state() != Broker::State::Connected; }, 5'000));
    QVERIFY(nats.start());
    QVERIFY(
        QTest::qWaitFor([&] { return a.broker->state() == Broker::State::Connected; }, ReadyMs));
    QVERIFY(a.waitReady());
    QCOMPARE(a.broker->historyEpoch("room.>"), epoch);
    // Following goes on after the restart: the next message, same epoch, next offset, once.
    QVERIFY(QTest::qWaitFor([&] { return a.publish("room.1", numbered("room.1", 3)); }, 5'000));
    QVERIFY(a.recorder->waitForStored(4));
    QTest::qWait(300);
    QCOMPARE(a.recorder->stored.size(), 4);
    QCOMPARE(a.recorder->stored.at(3).offset, quint64(4));
    QCOMPARE(a.recorder->stored.at(3).epoch, epoch);
    QVERIFY(a.recorder->stored.at(3).live);

    // A node started now finds all four.
    Node c = node(options(nats, QStringLiteral("c")), history);
    QVERIFY(c.waitReady());
    QCOMPARE(c.recorder->stored.size(), 4);
    QCOMPARE(c.recorder->stored.at(3).epoch, epoch);
}

void tst_JetStream::destroyedWhileStreamsAreChecked() {
    QTemporaryDir dir;
    NatsServer nats;
    QVERIFY(startJs(nats, dir));
    Node a = node(options(nats, QStringLiteral("a")), {{"room.>", 10, 0}, {"news", 10, 0}});
    QVERIFY(a.waitReady());
    // A server that stops answering (SIGSTOP) while the node checks its streams (every 300 ms
    // here): the check's requests wait for answers that do not come. Destroying the broker
    // still takes no longer than closing the connection.
    QVERIFY(::kill(pid_t(nats.pid()), SIGSTOP) == 0);
    QTest::qWait(600);
    QElapsedTimer timer;
    timer.start();
    a.broker.reset();
    const qint64 took = timer.elapsed();
    QVERIFY(::kill(pid_t(nats.pid()), SIGCONT) == 0);
    QVERIFY2(took < 1'000, QByteArray::number(took).constData());
}

namespace {

QByteArray headerOf(const QByteArray &raw, QByteArrayView name) {
    Error error;
    return Message::parse(raw, Limits(), &error).header(name).toByteArray();
}

QByteArray bodyOf(const QByteArray &raw) {
    Error error;
    return Message::parse(raw, Limits(), &error).body().toByteArray();
}

// Qt 6.4's ~QWebSocket leaks when it closes a live connection itself: abort first.
struct ClientCloser {
    void operator()(WsClient *c) const {
        c->socket.abort();
        delete c;
    }
};
using Client = std::unique_ptr<WsClient, ClientCloser>;

} // namespace

// The whole node: two Servers joined through NATS with JetStream, WebSocket clients on both.
// Positions come from the stream, so a client recovers on another node than the one it left.
void tst_JetStream::serversRecoverAcrossNodes() {
    QTemporaryDir dir;
    NatsServer nats;
    QVERIFY(startJs(nats, dir));
    ServerOptions so;
    so.address = QHostAddress::LocalHost;
    so.port = 0;
    so.history = {{"room.*", 100, 0}};
    std::unique_ptr<Server> nodes[2];
    NatsBroker *brokers[2] = {};
    for (int i = 0; i < 2; ++i) {
        nodes[i] = std::make_unique<Server>(so);
        auto broker = std::make_unique<NatsBroker>(options(nats, QStringLiteral("n%1").arg(i)));
        brokers[i] = broker.get();
        nodes[i]->setBroker(std::move(broker));
        QVERIFY(nodes[i]->listen());
    }
    QVERIFY(QTest::qWaitFor(
        [&] { return brokers[0]->historyReady() && brokers[1]->historyReady(); }, ReadyMs));
    const QByteArray epoch = brokers[0]->historyEpoch("room.*");
    QCOMPARE(brokers[1]->historyEpoch("room.*"), epoch);
    const auto url = [&](int i) {
        return QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(nodes[i]->serverPort()));
    };
    const auto subscribe = [](const QByteArray &recover) {
        return lhttpMessage("chat", {{"subscribe", "room.1"}, {"recover", recover}});
    };

    Client sub(new WsClient);
    Client pub(new WsClient);
    QVERIFY(sub->open(url(1)));
    QVERIFY(pub->open(url(0)));
    sub->send(subscribe("room.1"));
    QVERIFY(sub->waitForMessages(1));
    QCOMPARE(headerOf(sub->received.at(0), "recovered"), "room.1 true 0 0 " + epoch);
    for (int i = 1; i <= 3; ++i)
        pub->send(lhttpMessage("chat", {{"publish", "room.1"}}, QByteArray::number(i)));
    QVERIFY(sub->waitForMessages(4));
    for (int i = 1; i <= 3; ++i) {
        QCOMPARE(headerOf(sub->received.at(i), "position"),
                 "room.1 " + QByteArray::number(i) + ' ' + epoch);
        QCOMPARE(bodyOf(sub->received.at(i)), QByteArray::number(i));
    }
    sub.reset();
    for (int i = 4; i <= 5; ++i)
        pub->send(lhttpMessage("chat", {{"publish", "room.1"}}, QByteArray::number(i)));
    QVERIFY(pub->sync());

    // Back on the publisher's node: what it missed, then live.
    Client back(new WsClient);
    QVERIFY(back->open(url(0)));
    back->send(subscribe("room.1 3 " + epoch));
    QVERIFY(back->waitForMessages(3));
    QCOMPARE(headerOf(back->received.at(0), "recovered"), "room.1 true 2 5 " + epoch);
    QCOMPARE(bodyOf(back->received.at(1)), QByteArray("4"));
    QCOMPARE(bodyOf(back->received.at(2)), QByteArray("5"));
    pub->send(lhttpMessage("chat", {{"publish", "room.1"}}, "6"));
    QVERIFY(back->waitForMessages(4));
    QCOMPARE(headerOf(back->received.at(3), "position"), "room.1 6 " + epoch);
    QVERIFY(back->staysQuiet(200));
}

QTEST_MAIN(tst_JetStream)
#include "tst_jetstream.moc"

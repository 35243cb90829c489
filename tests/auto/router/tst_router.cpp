// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// Router (lib/runtime/router.h) on its own, below the Server: real ChannelHubs, each in the
// thread of its own event loop with real Sessions over loopback WebSockets (SessionFixture),
// joined by one Router the way Server joins its Loops — loop 0 and the broker in the test's
// thread (the Server's), the other loops in QThreads on the epoll dispatcher. The broker is a
// recording one standing for the other nodes: it checks that the node holds one subscription
// per channel whatever loop its subscribers are on, and brings messages "from elsewhere".

#include "broker.h"
#include "channelhub.h"
#include "epolleventdispatcher.h"
#include "frame.h"
#include "router.h"
#include "sessionfixture.h"
#include "threadhandoff.h"
#include "wsclient.h"

#include <QMutex>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSemaphore>
#include <QSet>
#include <QTest>
#include <QThread>

#include <atomic>
#include <memory>
#include <vector>

using namespace lhttp;

namespace {

QByteArray message(const QByteArray &channel, const QByteArray &body) {
    return "LHTTP/1.0 chat\r\npublish:" + channel + "\r\n\r\n" + body;
}

// The other nodes, as far as this node can tell: what the Router asks of its broker, in order,
// and a way to bring messages in (what NATS hands a NatsBroker).
class RecordingBroker final : public Broker {
    Q_OBJECT
public:
    struct Call {
        bool subscribe;
        QByteArray channel;
    };
    struct Published {
        QByteArray channel;
        Frame frame;
    };

    void subscribe(const QByteArray &channel) override { record(true, channel); }
    void unsubscribe(const QByteArray &channel) override { record(false, channel); }
    Error publish(const QByteArray &channel, const Frame &frame) override {
        QMutexLocker lock(&m_mutex); // any loop's thread
        m_published.push_back({channel, frame});
        return {};
    }
    State state() const override { return State::Connected; }
    QString description() const override { return QStringLiteral("recording"); }

    // A message from another node, as NATS hands it over (-1: not attached).
    int bring(const QByteArray &channel, const Frame &frame) {
        return local() ? local()->deliver(channel, frame) : -1;
    }
    int bringExact(const QByteArray &channel, const Frame &frame) {
        return local() ? local()->deliverExact(channel, frame) : -1;
    }
    bool isAttached() const { return local() != nullptr; }

    std::vector<Published> published() const {
        QMutexLocker lock(&m_mutex);
        return m_published;
    }

    // The subscriptions the calls so far leave, when they make sense: per channel, subscribe
    // and unsubscribe alternate, starting with subscribe (one subscription per channel).
    bool holds(QSet<QByteArray> *held, QByteArray *why) const {
        held->clear();
        for (const Call &c : calls) {
            if (c.subscribe == held->contains(c.channel)) {
                *why =
                    (c.subscribe ? "second subscribe to " : "unsubscribe without subscribe to ") +
                    c.channel;
                return false;
            }
            c.subscribe ? void(held->insert(c.channel)) : void(held->remove(c.channel));
        }
        return true;
    }

    QList<Call> calls;        // in the broker's thread
    bool wrongThread = false; // a call came from another thread than the broker's

private:
    void record(bool subscribe, const QByteArray &channel) {
        if (QThread::currentThread() != thread())
            wrongThread = true;
        calls.append({subscribe, channel});
    }

    mutable QMutex m_mutex;
    std::vector<Published> m_published;
};

// One event loop of the node, as lib/server's Loop is one to the Router: its hub (a
// SessionFixture's, with real Sessions) reports to the Router, and it drains its inbox when the
// Router posts it an InboxEvent. Lives in the loop's thread; the fixture is made there too.
class TestLoop : public QObject {
public:
    TestLoop(Router &router, int index)
        : m_router(router)
        , m_index(index) {}

    std::unique_ptr<SessionFixture> fixture;
    quint16 port = 0;
    std::atomic<int> inboxEvents{0};

protected:
    void customEvent(QEvent *event) override {
        if (event->type() != Router::InboxEvent)
            return QObject::customEvent(event);
        ++inboxEvents;
        m_router.drainInbox(m_index);
    }

private:
    Router &m_router;
    int m_index;
};

// A client and its session on loop `loop`.
struct Peer {
    std::unique_ptr<WsClient> client;
    Session *session = nullptr;
    int loop = -1;
};

// A node's loops joined by a Router, as Server builds them. The broker is declared first: the
// Router, destroyed before it, detaches from it.
class Node {
public:
    // `loops` event loops; loop 0 in the test's thread unless `loop0Here` is false.
    explicit Node(int loops, bool loop0Here = true) {
        for (int i = 0; i < loops; ++i) {
            auto loop = std::make_unique<TestLoop>(router, i);
            std::unique_ptr<QThread> thread;
            if (i > 0 || !loop0Here) {
                thread = std::make_unique<QThread>();
                thread->setObjectName(QStringLiteral("test loop %1").arg(i));
                installEpollDispatcher(thread.get());
                loop->moveToThread(thread.get());
                thread->start();
            }
            TestLoop *l = loop.get();
            m_loops.push_back(std::move(loop));
            m_threads.push_back(std::move(thread));
            run(i, [l] {
                l->fixture = std::make_unique<SessionFixture>();
                if (l->fixture->listen())
                    l->port = l->fixture->port();
            });
            if (!l->port || router.addLoop(&l->fixture->hub, l) != i)
                return;
            run(i, [this, l, i] { l->fixture->hub.setRouter(&router, i); });
        }
        ok = true;
    }
    ~Node() {
        // Each fixture goes in its own thread (its sessions leave their channels on the way),
        // then the thread ends.
        QThread *here = QThread::currentThread();
        for (size_t i = 0; i < m_loops.size(); ++i) {
            TestLoop *l = m_loops[i].get();
            run(int(i), [l, here] {
                l->fixture.reset();
                l->moveToThread(here); // deleted here, after its thread ended
            });
            if (m_threads[i]) {
                m_threads[i]->quit();
                m_threads[i]->wait();
            }
        }
        QCoreApplication::sendPostedEvents();
    }

    int loopCount() const { return int(m_loops.size()); }
    TestLoop &loop(int i) { return *m_loops[size_t(i)]; }
    ChannelHub &hub(int i) { return loop(i).fixture->hub; }

    // Runs `work` in loop `i`'s thread and waits for it.
    template <typename F> void run(int i, F work) {
        TestLoop *l = m_loops[size_t(i)].get();
        if (l->thread() == QThread::currentThread())
            work();
        else
            invokeIn(l, work, Qt::BlockingQueuedConnection); // ordered for ThreadSanitizer too
    }

    // A client connected to loop `i`, with its session there.
    Peer connect(int i) {
        Peer p;
        p.client = std::make_unique<WsClient>();
        p.loop = i;
        if (!p.client->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(loop(i).port))))
            return p;
        const quint16 port = p.client->socket.localPort();
        run(i, [&] { p.session = loop(i).fixture->sessionFor(port); });
        return p;
    }
    bool subscribe(const Peer &p, const QByteArray &channel) {
        bool ok = false;
        run(p.loop, [&] { ok = hub(p.loop).subscribe(p.session, channel); });
        return ok;
    }
    bool unsubscribe(const Peer &p, const QByteArray &channel) {
        bool ok = false;
        run(p.loop, [&] { ok = hub(p.loop).unsubscribe(p.session, channel); });
        return ok;
    }
    // Router::publish from loop `i`'s thread, as that loop's Publisher calls it.
    void publish(int i, const QByteArray &channel, const Frame &frame) {
        run(i, [&] { router.publish(i, channel, frame); });
    }
    QList<int> inboxEvents() {
        QList<int> out;
        for (const auto &l : m_loops)
            out.append(l->inboxEvents.load());
        return out;
    }

    RecordingBroker broker;
    Router router;
    bool ok = false; // every loop is up

private:
    std::vector<std::unique_ptr<TestLoop>> m_loops;
    std::vector<std::unique_ptr<QThread>> m_threads;
};

// Calls the other loops posted to the broker's (this) thread run now.
void settle() {
    QCoreApplication::sendPostedEvents();
}

// Every client got exactly `expected[i]` (waits for them, then a short quiet period for all).
bool receivedExactly(const std::vector<Peer *> &peers, const QList<QByteArrayList> &expected,
                     QByteArray *why) {
    for (size_t i = 0; i < peers.size(); ++i) {
        if (!peers[i]->client->waitForMessages(int(expected[qsizetype(i)].size()))) {
            *why = "peer " + QByteArray::number(qulonglong(i)) + " on loop " +
                   QByteArray::number(peers[i]->loop) + " got " +
                   QByteArray::number(peers[i]->client->received.size()) + " of " +
                   QByteArray::number(expected[qsizetype(i)].size());
            return false;
        }
    }
    QTest::qWait(100);
    for (size_t i = 0; i < peers.size(); ++i) {
        if (peers[i]->client->received != expected[qsizetype(i)]) {
            *why = "peer " + QByteArray::number(qulonglong(i)) + " on loop " +
                   QByteArray::number(peers[i]->loop) + " got " +
                   peers[i]->client->received.join(" | ");
            return false;
        }
    }
    return true;
}

QByteArray callsText(const QList<RecordingBroker::Call> &calls) {
    QByteArrayList out;
    for (const auto &c : calls)
        out.append((c.subscribe ? "+" : "-") + c.channel);
    return out.join(' ');
}

} // namespace

class tst_Router : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();

    void oneBrokerSubscriptionPerNode();
    void brokerCallsKeepTheirOrder();
    void brokerCallsKeepTheirOrderShuffled();
    void laterBrokerGetsChannelsWithSubscribers();
    void publishReachesEveryLoopOnce_data();
    void publishReachesEveryLoopOnce();
    void handOffSharesTheFrame();
    void wildcardOnAnotherLoop();
    void brokerDeliveryReachesEveryLoop();
    void oneLoopTakesNoHandOff_data();
    void oneLoopTakesNoHandOff();
};

void tst_Router::init() {
    // A hub, session or socket used from a thread other than its loop's shows up as Qt's
    // cross-thread warnings.
    QTest::failOnWarning(QRegularExpression(QStringLiteral("thread")));
}

void tst_Router::oneBrokerSubscriptionPerNode() {
    Node node(4);
    QVERIFY(node.ok);
    node.router.setBroker(&node.broker);
    std::vector<Peer> peers;
    for (int i = 0; i < 8; ++i) {
        peers.push_back(node.connect(i % 4));
        QVERIFY(peers.back().session);
    }
    // Two subscribers on each loop, in a mixed order: the broker hears of the first only.
    const int order[] = {3, 7, 2, 6, 1, 5, 0, 4};
    for (int n = 0; n < 8; ++n) {
        QVERIFY(node.subscribe(peers[size_t(order[n])], "room"));
        settle();
        QCOMPARE(node.router.subscriberCount("room"), n + 1);
        QCOMPARE(callsText(node.broker.calls), QByteArray("+room"));
    }
    QVERIFY(!node.subscribe(peers[0], "room")); // idempotent
    QCOMPARE(node.router.subscriberCount("room"), 8);
    QVERIFY(node.subscribe(peers[4], "lobby")); // a second channel, on loop 0 only
    settle();
    QCOMPARE(callsText(node.broker.calls), QByteArray("+room +lobby"));
    QCOMPARE(node.router.channelCount(), 2);

    // They leave, by unsubscribing or by disconnecting (the fixture removes the session the way
    // the Loop does): the broker hears of the last one only.
    for (int n = 0; n < 7; ++n) {
        Peer &p = peers[size_t(order[n])];
        if (n % 2) {
            QVERIFY(node.unsubscribe(p, "room"));
        } else {
            p.client->socket.close();
            QTRY_COMPARE(node.router.subscriberCount("room"), 7 - n);
        }
        settle();
        QCOMPARE(node.router.subscriberCount("room"), 7 - n);
        QCOMPARE(callsText(node.broker.calls), QByteArray("+room +lobby"));
    }
    QVERIFY(node.unsubscribe(peers[4], "room"));
    settle();
    QCOMPARE(callsText(node.broker.calls), QByteArray("+room +lobby -room"));
    QCOMPARE(node.router.channelNames(), QByteArrayList{"lobby"});
    peers[4].client->socket.abort();
    QTRY_COMPARE(node.router.channelCount(), 0);
    settle();
    QCOMPARE(callsText(node.broker.calls), QByteArray("+room +lobby -room -lobby"));

    // A channel that emptied is subscribed again by its next first subscriber, on any loop.
    QVERIFY(node.subscribe(peers[5], "room"));
    QVERIFY(node.subscribe(peers[6], "room"));
    QVERIFY(node.unsubscribe(peers[5], "room"));
    QVERIFY(node.unsubscribe(peers[6], "room"));
    settle();
    QCOMPARE(callsText(node.broker.calls), QByteArray("+room +lobby -room -lobby +room -room"));
    QCOMPARE(node.router.channelCount(), 0);
    QVERIFY(!node.broker.wrongThread);
}

void tst_Router::brokerCallsKeepTheirOrder() {
    // Loop 0 runs in the broker's thread; the other loops post their broker calls there. A
    // channel that came and went on loop 1 and then comes to loop 0, before the broker's thread
    // ran what loop 1 posted, must leave the broker subscribed, once.
    Node node(2);
    QVERIFY(node.ok);
    node.router.setBroker(&node.broker);
    const Peer away = node.connect(1);
    const Peer here = node.connect(0);
    QVERIFY(away.session && here.session);
    QSet<QByteArray> held;
    QByteArray why;

    QVERIFY(node.subscribe(away, "room"));
    QVERIFY(node.unsubscribe(away, "room"));
    QVERIFY(node.subscribe(here, "room"));
    settle();
    QVERIFY2(node.broker.holds(&held, &why),
             (why + ": " + callsText(node.broker.calls)).constData());
    QCOMPARE(held, QSet<QByteArray>{"room"});

    // And the other way round: the last one leaves on loop 0 while loop 1's calls wait.
    QVERIFY(node.unsubscribe(here, "room"));
    QVERIFY(node.subscribe(away, "room"));
    QVERIFY(node.subscribe(here, "room"));
    QVERIFY(node.unsubscribe(away, "room"));
    QVERIFY(node.unsubscribe(here, "room"));
    settle();
    QVERIFY2(node.broker.holds(&held, &why),
             (why + ": " + callsText(node.broker.calls)).constData());
    QCOMPARE(held, QSet<QByteArray>{});
    QCOMPARE(node.router.channelCount(), 0);
}

void tst_Router::brokerCallsKeepTheirOrderShuffled() {
    // Subscribers come and go on three loops (one in the broker's thread) in a fixed random
    // order; the broker's thread runs the posted calls only now and then. Whenever it has,
    // the broker holds exactly the node's channels, each subscribed once.
    Node node(3);
    QVERIFY(node.ok);
    node.router.setBroker(&node.broker);
    std::vector<Peer> peers;
    for (int i = 0; i < 6; ++i) {
        peers.push_back(node.connect(i % 3));
        QVERIFY(peers.back().session);
    }
    const QByteArrayList channels{"a", "b", "c.*"};
    QRandomGenerator random(20240611);
    QSet<QByteArray> held;
    QByteArray why;
    for (int step = 0; step < 400; ++step) {
        const Peer &p = peers[random.bounded(quint32(peers.size()))];
        const QByteArray &channel = channels[random.bounded(channels.size())];
        if (random.bounded(2))
            node.subscribe(p, channel);
        else
            node.unsubscribe(p, channel);
        if (random.bounded(8))
            continue;
        settle();
        QVERIFY2(node.broker.holds(&held, &why), ("step " + QByteArray::number(step) + ": " + why +
                                                  ": " + callsText(node.broker.calls))
                                                     .constData());
        const QByteArrayList names = node.router.channelNames();
        QCOMPARE(held, QSet<QByteArray>(names.begin(), names.end()));
    }
    QVERIFY(!node.broker.wrongThread);
}

void tst_Router::laterBrokerGetsChannelsWithSubscribers() {
    Node node(4);
    QVERIFY(node.ok);
    std::vector<Peer> peers;
    for (int i = 0; i < 4; ++i) {
        peers.push_back(node.connect(i));
        QVERIFY(peers.back().session);
    }
    QVERIFY(node.subscribe(peers[1], "a"));
    QVERIFY(node.subscribe(peers[2], "b"));
    QVERIFY(node.subscribe(peers[3], "a"));
    QVERIFY(node.subscribe(peers[3], "c")); // comes and goes before the broker
    QVERIFY(node.unsubscribe(peers[3], "c"));
    QCOMPARE(node.router.channelCount(), 2);

    node.router.setBroker(&node.broker);
    QVERIFY(node.broker.isAttached());
    settle();
    QByteArrayList calls = callsText(node.broker.calls).split(' ');
    std::sort(calls.begin(), calls.end());
    QCOMPARE(calls, (QByteArrayList{"+a", "+b"}));

    // From now on as if it had been there all along.
    QVERIFY(node.subscribe(peers[0], "a"));
    QVERIFY(node.unsubscribe(peers[1], "a"));
    QVERIFY(node.unsubscribe(peers[3], "a"));
    settle();
    QCOMPARE(node.broker.calls.size(), 2);
    QVERIFY(node.unsubscribe(peers[0], "a"));
    settle();
    QCOMPARE(callsText(node.broker.calls.mid(2)), QByteArray("-a"));

    // Detached, it hears nothing more and brings nothing in; the next broker gets what is left.
    node.router.setBroker(nullptr);
    QVERIFY(!node.broker.isAttached());
    QVERIFY(node.subscribe(peers[1], "d"));
    QVERIFY(node.unsubscribe(peers[2], "b"));
    settle();
    QCOMPARE(node.broker.calls.size(), 3);
    QCOMPARE(node.broker.bring("d", Frame(message("d", "x"))), -1);
    RecordingBroker next;
    node.router.setBroker(&next);
    settle();
    QCOMPARE(callsText(next.calls), QByteArray("+d"));
    QVERIFY(node.unsubscribe(peers[1], "d"));
    settle();
    QCOMPARE(callsText(next.calls), QByteArray("+d -d"));
    QVERIFY(!next.wrongThread && !node.broker.wrongThread);
    node.router.setBroker(nullptr); // before `next` goes
}

void tst_Router::publishReachesEveryLoopOnce_data() {
    QTest::addColumn<int>("from");
    for (int i = 0; i < 4; ++i)
        QTest::addRow("from loop %d", i) << i;
}

void tst_Router::publishReachesEveryLoopOnce() {
    QFETCH(int, from);
    Node node(4);
    QVERIFY(node.ok);
    node.router.setBroker(&node.broker);
    // On every loop: two subscribers of the channel, one of another channel, one of none.
    std::vector<Peer> peers;
    QList<bool> subscribed;
    for (int i = 0; i < 4; ++i) {
        for (int k = 0; k < 4; ++k) {
            peers.push_back(node.connect(i));
            QVERIFY(peers.back().session);
            if (k < 2)
                QVERIFY(node.subscribe(peers.back(), "room"));
            else if (k == 2)
                QVERIFY(node.subscribe(peers.back(), "other"));
            subscribed.append(k < 2);
        }
    }
    settle();
    const QList<int> before = node.inboxEvents();
    const QByteArray bytes = message("room", "from " + QByteArray::number(from));
    const Frame frame(bytes, true);
    node.publish(from, "room", frame);

    std::vector<Peer *> all;
    QList<QByteArrayList> expected;
    for (size_t i = 0; i < peers.size(); ++i) {
        all.push_back(&peers[i]);
        expected.append(subscribed[qsizetype(i)] ? QByteArrayList{bytes} : QByteArrayList{});
    }
    QByteArray why;
    QVERIFY2(receivedExactly(all, expected, &why), why.constData());

    // One hand-off to each other loop (not one per subscriber), none to its own.
    const QList<int> after = node.inboxEvents();
    for (int i = 0; i < 4; ++i)
        QCOMPARE(after[i] - before[i], i == from ? 0 : 1);
    // The other nodes get it once, the same bytes (no copy) and the wire form the loops wrote
    // (built once, before the hand-off).
    const auto published = node.broker.published();
    QCOMPARE(published.size(), size_t(1));
    QCOMPARE(published[0].channel, QByteArray("room"));
    QVERIFY(published[0].frame.bytes().isSharedWith(bytes));
    QVERIFY(published[0].frame.wire().isSharedWith(frame.wire()));
}

void tst_Router::handOffSharesTheFrame() {
    Node node(3);
    QVERIFY(node.ok);
    const Peer sub = node.connect(2);
    QVERIFY(sub.session);
    QVERIFY(node.subscribe(sub, "room"));
    // Loop 2 is kept busy while loop 1 publishes: the hand-offs wait in its inbox.
    QSemaphore entered;
    QSemaphore gate;
    invokeIn(
        &node.loop(2),
        [&] {
            entered.release();
            gate.acquire();
        },
        Qt::QueuedConnection);
    // Let go on every way out, a failed check included: the Node ends its loops.
    auto release = qScopeGuard([&] { gate.release(); });
    QVERIFY(entered.tryAcquire(1, 5000));
    const int before = node.loop(2).inboxEvents;
    QByteArrayList sent;
    std::vector<Frame> frames;
    for (int k = 0; k < 4; ++k) {
        sent.append(message("room", QByteArray::number(k)));
        frames.emplace_back(sent.last(), true);
    }
    for (const Frame &f : frames)
        node.publish(1, "room", f);
    // Each waits as a copy that shares the frame's wire bytes, built once before the hand-off
    // (a frame built again or copied deeply would leave the publisher's alone).
    for (const Frame &f : frames)
        QVERIFY(!f.wire().isDetached());
    gate.release();
    release.dismiss();

    QVERIFY(sub.client->waitForMessages(4));
    QVERIFY(sub.client->staysQuiet(100));
    QCOMPARE(sub.client->received, sent);           // in order
    QCOMPARE(node.loop(2).inboxEvents - before, 1); // one posted event for the whole batch
    // Once written, nobody holds them any more.
    for (const Frame &f : frames)
        QTRY_VERIFY(f.wire().isDetached());
}

void tst_Router::wildcardOnAnotherLoop() {
    Node node(4);
    QVERIFY(node.ok);
    node.router.setBroker(&node.broker);
    Peer wild = node.connect(2);
    Peer exact = node.connect(3);
    Peer both = node.connect(1);
    Peer none = node.connect(0);
    QVERIFY(wild.session && exact.session && both.session && none.session);
    QVERIFY(node.subscribe(wild, "room.*"));
    QVERIFY(node.subscribe(exact, "room.a"));
    QVERIFY(node.subscribe(both, "room.a"));
    QVERIFY(node.subscribe(both, "room.*"));
    settle();
    QByteArrayList calls = callsText(node.broker.calls).split(' ');
    std::sort(calls.begin(), calls.end());
    QCOMPARE(calls, (QByteArrayList{"+room.*", "+room.a"}));

    const QByteArray a = message("room.a", "1");
    const QByteArray b = message("room.b", "2");
    const QByteArray lobby = message("lobby", "3");
    node.publish(0, "room.a", Frame(a, true));
    node.publish(0, "room.b", Frame(b, true));
    node.publish(0, "lobby", Frame(lobby, true));
    QByteArray why;
    // One copy per matching subscription: `both` gets room.a twice.
    QVERIFY2(receivedExactly({&wild, &exact, &both, &none}, {{a, b}, {a}, {a, a, b}, {}}, &why),
             why.constData());

    // Once the wildcard left loop 2, nothing is handed there any more.
    QVERIFY(node.unsubscribe(wild, "room.*"));
    const QList<int> before = node.inboxEvents();
    const QByteArray b2 = message("room.b", "4");
    node.publish(0, "room.b", Frame(b2, true));
    QVERIFY(both.client->waitForMessages(4));
    QVERIFY(wild.client->staysQuiet(100));
    QCOMPARE(both.client->received.last(), b2);
    const QList<int> after = node.inboxEvents();
    QCOMPARE(after[1] - before[1], 1);
    QCOMPARE(after[2] - before[2], 0);
    QCOMPARE(after[3] - before[3], 0);
    settle();
    QCOMPARE(node.broker.calls.size(), 2); // `both` still holds room.*
    QVERIFY(node.unsubscribe(both, "room.*"));
    settle();
    QCOMPARE(callsText(node.broker.calls.mid(2)), QByteArray("-room.*"));
}

void tst_Router::brokerDeliveryReachesEveryLoop() {
    Node node(4);
    QVERIFY(node.ok);
    node.router.setBroker(&node.broker);
    Peer s0 = node.connect(0);
    Peer s1 = node.connect(1);
    Peer s3 = node.connect(3);
    Peer wild = node.connect(2);
    Peer other = node.connect(1);
    QVERIFY(s0.session && s1.session && s3.session && wild.session && other.session);
    QVERIFY(node.subscribe(s0, "room.a"));
    QVERIFY(node.subscribe(s1, "room.a"));
    QVERIFY(node.subscribe(s3, "room.a"));
    QVERIFY(node.subscribe(wild, "room.*"));
    QVERIFY(node.subscribe(other, "room.b"));
    settle();

    // From another node: to every loop with subscribers, those in the broker's thread (loop 0)
    // at once, the others with one hand-off each.
    const QList<int> before = node.inboxEvents();
    const QByteArray m1 = message("room.a", "from elsewhere");
    QCOMPARE(node.broker.bring("room.a", Frame(m1, true)), 1);
    QByteArray why;
    QVERIFY2(receivedExactly({&s0, &s1, &s3, &wild, &other}, {{m1}, {m1}, {m1}, {m1}, {}}, &why),
             why.constData());
    const QList<int> after = node.inboxEvents();
    QCOMPARE(after[0] - before[0], 0);
    for (int i = 1; i < 4; ++i)
        QCOMPARE(after[i] - before[i], 1);

    // NATS hands a message over once per matching subscription, each copy for exactly its own
    // channel: the wildcard's copy goes to its subscribers only, the channel's to its own.
    const QByteArray m2 = message("room.a", "exact");
    QCOMPARE(node.broker.bringExact("room.*", Frame(m2, true)), 0);
    QCOMPARE(node.broker.bringExact("room.a", Frame(m2, true)), 1);
    QVERIFY2(receivedExactly({&s0, &s1, &s3, &wild, &other},
                             {{m1, m2}, {m1, m2}, {m1, m2}, {m1, m2}, {}}, &why),
             why.constData());
    QVERIFY(node.broker.published().empty()); // nothing goes back to where it came from
}

void tst_Router::oneLoopTakesNoHandOff_data() {
    QTest::addColumn<bool>("loopHere");
    QTest::newRow("loop in the broker's thread") << true;
    QTest::newRow("loop in a thread of its own") << false;
}

void tst_Router::oneLoopTakesNoHandOff() {
    QFETCH(bool, loopHere);
    Node node(1, loopHere);
    QVERIFY(node.ok);
    node.router.setBroker(&node.broker);
    Peer a = node.connect(0);
    Peer b = node.connect(0);
    QVERIFY(a.session && b.session);
    QVERIFY(node.subscribe(a, "room"));

    // A publish is delivered on its own loop at once, whatever thread that is.
    const QByteArray m1 = message("room", "1");
    node.publish(0, "room", Frame(m1, true));
    QVERIFY(a.client->waitForMessages(1));
    QCOMPARE(node.loop(0).inboxEvents.load(), 0);
    // From the broker: at once in the loop's own thread, else one hand-off.
    const QByteArray m2 = message("room", "2");
    QCOMPARE(node.broker.bring("room", Frame(m2, true)), loopHere ? 1 : 0);
    QByteArray why;
    QVERIFY2(receivedExactly({&a, &b}, {{m1, m2}, {}}, &why), why.constData());
    QCOMPARE(node.loop(0).inboxEvents.load(), loopHere ? 0 : 1);
    QCOMPARE(node.broker.published().size(), size_t(1));
}

QTEST_MAIN(tst_Router)
#include "tst_router.moc"

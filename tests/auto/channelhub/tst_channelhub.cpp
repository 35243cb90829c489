// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// ChannelHub (lib/runtime/channelhub.h) on its own, with real Sessions over loopback
// WebSockets (SessionFixture) and no Server: membership bookkeeping and its O(1) leave,
// fan-out to exact and wildcard channels, the broker seeing one subscription per channel,
// and the shared channel names.

#include "channelhub.h"
#include "frame.h"
#include "sessionfixture.h"
#include "wsclient.h"

#include <QRandomGenerator>
#include <QTest>

#include <algorithm>
#include <memory>
#include <vector>

using namespace lhttp;

namespace {

// N clients, each with its session on the fixture.
struct Peers {
    std::vector<std::unique_ptr<WsClient>> clients;
    QList<Session *> sessions;
};

bool connectPeers(SessionFixture &f, int n, Peers *peers) {
    for (int i = 0; i < n; ++i) {
        auto client = std::make_unique<WsClient>();
        Session *s = f.connect(*client);
        if (!s)
            return false;
        peers->clients.push_back(std::move(client));
        peers->sessions.append(s);
    }
    return true;
}

// The invariant O(1) leave rests on: every subscriber's membership records its true index in
// the channel's vector, and the vector holds exactly the expected sessions, once each.
bool positionsRight(const ChannelHub &hub, const QByteArray &name, QList<Session *> expected,
                    QByteArray *why) {
    const ChannelHub::Channel *c = hub.channel(name);
    if (!c) {
        *why = "channel " + name + " is gone";
        return expected.isEmpty();
    }
    QList<Session *> actual(c->subscribers.begin(), c->subscribers.end());
    for (size_t i = 0; i < c->subscribers.size(); ++i) {
        Session *s = c->subscribers[i];
        const qsizetype entry = s->memberships().entry(c);
        if (entry < 0) {
            *why = "subscriber " + QByteArray::number(s->id()) + " has no membership";
            return false;
        }
        if (s->memberships().indexAt(entry) != i) {
            *why = "subscriber " + QByteArray::number(s->id()) + " at " + QByteArray::number(i) +
                   " believes it is at " +
                   QByteArray::number(quint64(s->memberships().indexAt(entry)));
            return false;
        }
    }
    std::sort(actual.begin(), actual.end());
    std::sort(expected.begin(), expected.end());
    if (actual != expected) {
        *why = "subscribers differ from the expected set";
        return false;
    }
    return true;
}

QByteArray message(const QByteArray &channel, const QByteArray &body) {
    return "LHTTP/1.0 chat\r\npublish:" + channel + "\r\n\r\n" + body;
}

} // namespace

class tst_ChannelHub : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void subscribeIsIdempotent();
    void unsubscribeUnknownIsNoOp();
    void leaveKeepsOthersPositions_data();
    void leaveKeepsOthersPositions();
    void removeSessionLeavesEveryChannel();
    void disconnectedSessionLeavesItsChannels();
    void counts();
    void wildcardDelivery_data();
    void wildcardDelivery();
    void closingSessionsAreSkipped();
    void channelNameIsShared();
};

void tst_ChannelHub::subscribeIsIdempotent() {
    SessionFixture f;
    QVERIFY(f.listen());
    WsClient client;
    Session *s = f.connect(client);
    QVERIFY(s);
    QVERIFY(f.hub.subscribe(s, "room"));
    QVERIFY(!f.hub.subscribe(s, "room"));
    QVERIFY(!f.hub.subscribe(s, QByteArray("ro") + "om")); // equal name, another buffer
    QCOMPARE(f.hub.subscriptionCount(), 1);
    QCOMPARE(f.hub.channelCount(), 1);
    QCOMPARE(f.hub.channel("room")->subscribers.size(), size_t(1));
    QCOMPARE(s->channelCount(), 1);
    QVERIFY(s->isSubscribed("room"));
    QCOMPARE(s->channels(), QByteArrayList{"room"});

    // Subscribed once, so delivered once.
    QCOMPARE(f.hub.deliver("room", Frame(message("room", "once"))), 1);
    QVERIFY(client.waitForMessages(1));
    QVERIFY(client.staysQuiet(100));
    QCOMPARE(client.received, QByteArrayList{message("room", "once")});
}

void tst_ChannelHub::unsubscribeUnknownIsNoOp() {
    SessionFixture f;
    QVERIFY(f.listen());
    Peers p;
    QVERIFY(connectPeers(f, 2, &p));
    Session *a = p.sessions[0];
    Session *b = p.sessions[1];
    QVERIFY(!f.hub.unsubscribe(a, "nowhere")); // no such channel
    QVERIFY(f.hub.subscribe(b, "room"));
    QVERIFY(!f.hub.unsubscribe(a, "room")); // a channel, but not a's
    QCOMPARE(f.hub.subscriptionCount(), 1);
    QCOMPARE(f.hub.channel("room")->subscribers, std::vector<Session *>{b});
    QCOMPARE(b->channelCount(), 1);

    QVERIFY(f.hub.unsubscribe(b, "room"));
    QVERIFY(!f.hub.unsubscribe(b, "room")); // twice: the second is a no-op
    QCOMPARE(f.hub.subscriptionCount(), 0);
    QCOMPARE(f.hub.channelCount(), 0); // the empty channel is dropped
    QVERIFY(!f.hub.channel("room"));
    QVERIFY(!b->isSubscribed("room"));
    QCOMPARE(f.hub.deliver("room", Frame(message("room", "x"))), 0);
}

void tst_ChannelHub::leaveKeepsOthersPositions_data() {
    // The order in which sessions (by their index of subscription) leave "room", and how many
    // leave before the rest stay for good.
    QTest::addColumn<QList<int>>("leaveOrder");
    constexpr int N = 16;
    QList<int> front, back;
    for (int i = 0; i < N; ++i) {
        front.append(i);
        back.prepend(i);
    }
    QTest::newRow("front first") << front.first(10);
    QTest::newRow("back first") << back.first(10);
    QTest::newRow("middle") << QList<int>{7, 8, 6, 9, 5, 10};
    QTest::newRow("everybody, alternating ends")
        << QList<int>{0, 15, 1, 14, 2, 13, 3, 12, 4, 11, 5, 10, 6, 9, 7, 8};
    for (quint32 seed : {1u, 2u, 3u, 42u}) {
        QList<int> order = front;
        QRandomGenerator rng(seed);
        std::shuffle(order.begin(), order.end(), rng);
        QTest::addRow("random, seed %u", seed) << order.first(12);
    }
}

void tst_ChannelHub::leaveKeepsOthersPositions() {
    QFETCH(QList<int>, leaveOrder);
    constexpr int N = 16;
    SessionFixture f;
    QVERIFY(f.listen());
    Peers p;
    QVERIFY(connectPeers(f, N, &p));
    // Every other session is in another channel first, so that "room" is not always entry 0
    // of a session's memberships.
    for (int i = 0; i < N; ++i) {
        if (i % 2)
            QVERIFY(f.hub.subscribe(p.sessions[i], "other"));
        QVERIFY(f.hub.subscribe(p.sessions[i], "room"));
    }
    QList<Session *> remaining = p.sessions;
    QList<Session *> odd;
    for (int i = 1; i < N; i += 2)
        odd.append(p.sessions[i]);
    QByteArray why;
    QVERIFY2(positionsRight(f.hub, "room", remaining, &why), why.constData());

    // After each leave one delivery: a session gets exactly the deliveries made before it
    // left, once each, in order.
    QList<int> leftAfter(N, -1); // the delivery count when session i left
    int deliveries = 0;
    for (int i : leaveOrder) {
        QCOMPARE(f.hub.deliver("room", Frame(message("room", QByteArray::number(deliveries)))),
                 int(remaining.size()));
        ++deliveries;
        QVERIFY(f.hub.unsubscribe(p.sessions[i], "room"));
        remaining.removeOne(p.sessions[i]);
        leftAfter[i] = deliveries;
        QVERIFY2(
            positionsRight(f.hub, "room", remaining, &why),
            qPrintable(QStringLiteral("after %1 left: %2").arg(i).arg(QString::fromUtf8(why))));
        QVERIFY2(positionsRight(f.hub, "other", odd, &why),
                 why.constData()); // the other channel is untouched
    }
    QCOMPARE(f.hub.deliver("room", Frame(message("room", QByteArray::number(deliveries)))),
             int(remaining.size()));
    ++deliveries;
    QCOMPARE(f.hub.subscriptionCount(), qsizetype(remaining.size() + N / 2));

    for (int i = 0; i < N; ++i) {
        const int expected = leftAfter[i] < 0 ? deliveries : leftAfter[i];
        WsClient &c = *p.clients[size_t(i)];
        QVERIFY2(c.waitForMessages(expected), qPrintable(QStringLiteral("client %1").arg(i)));
    }
    for (int i = 0; i < N; ++i) {
        const int expected = leftAfter[i] < 0 ? deliveries : leftAfter[i];
        WsClient &c = *p.clients[size_t(i)];
        if (i == 0)
            QVERIFY(c.staysQuiet(100)); // nothing more on its way to anybody
        QCOMPARE(c.received.size(), expected);
        for (int d = 0; d < expected; ++d)
            QCOMPARE(c.received.at(d), message("room", QByteArray::number(d)));
    }
}

void tst_ChannelHub::removeSessionLeavesEveryChannel() {
    SessionFixture f;
    QVERIFY(f.listen());
    Peers p;
    QVERIFY(connectPeers(f, 3, &p));
    Session *a = p.sessions[0];
    Session *b = p.sessions[1];
    Session *c = p.sessions[2];
    for (const char *name : {"a1", "shared", "a2", "a3"})
        QVERIFY(f.hub.subscribe(a, name));
    QVERIFY(f.hub.subscribe(b, "shared"));
    QVERIFY(f.hub.subscribe(c, "shared"));
    QVERIFY(f.hub.subscribe(c, "c1"));
    QCOMPARE(f.hub.channelCount(), 5);
    QCOMPARE(f.hub.subscriptionCount(), 7);

    f.hub.removeSession(a);
    QCOMPARE(a->channelCount(), 0);
    QVERIFY(a->channels().isEmpty());
    QCOMPARE(f.hub.channelCount(), 2); // a's own channels are dropped, "shared" stays
    QCOMPARE(f.hub.subscriptionCount(), 3);
    QByteArrayList names = f.hub.channelNames();
    std::sort(names.begin(), names.end());
    QCOMPARE(names, (QByteArrayList{"c1", "shared"}));
    QByteArray why;
    QVERIFY2(positionsRight(f.hub, "shared", {b, c}, &why), why.constData());
    QCOMPARE(c->channels(), (QByteArrayList{"shared", "c1"}));

    f.hub.removeSession(a); // nothing left to leave
    QCOMPARE(f.hub.subscriptionCount(), 3);
    QCOMPARE(f.hub.deliver("shared", Frame(message("shared", "x"))), 2);
    QCOMPARE(f.hub.deliver("a1", Frame(message("a1", "x"))), 0);
}

void tst_ChannelHub::disconnectedSessionLeavesItsChannels() {
    // The owner's path (as the Server's): a disconnect takes the session out of the hub.
    SessionFixture f;
    QVERIFY(f.listen());
    Peers p;
    QVERIFY(connectPeers(f, 2, &p));
    const quint64 goneId = p.sessions[0]->id();
    QVERIFY(f.hub.subscribe(p.sessions[0], "mine"));
    QVERIFY(f.hub.subscribe(p.sessions[0], "ours"));
    QVERIFY(f.hub.subscribe(p.sessions[1], "ours"));
    p.clients[0]->socket.close();
    QTRY_VERIFY(!f.isOpen(goneId));
    QCOMPARE(f.hub.channelCount(), 1);
    QCOMPARE(f.hub.subscriptionCount(), 1);
    QCOMPARE(f.hub.channel("ours")->subscribers, std::vector<Session *>{p.sessions[1]});
}

void tst_ChannelHub::counts() {
    SessionFixture f;
    QVERIFY(f.listen());
    Peers p;
    QVERIFY(connectPeers(f, 3, &p));
    Session *a = p.sessions[0];
    Session *b = p.sessions[1];
    Session *c = p.sessions[2];
    auto names = [&f] {
        QByteArrayList n = f.hub.channelNames();
        std::sort(n.begin(), n.end());
        return n;
    };
    QCOMPARE(f.hub.channelCount(), 0);
    QCOMPARE(f.hub.subscriptionCount(), 0);
    QVERIFY(f.hub.channelNames().isEmpty());

    QVERIFY(f.hub.subscribe(a, "x"));
    QVERIFY(f.hub.subscribe(a, "y"));
    QVERIFY(f.hub.subscribe(b, "x"));
    QVERIFY(f.hub.subscribe(c, "z"));
    QVERIFY(f.hub.subscribe(c, "x"));
    QVERIFY(!f.hub.subscribe(c, "x"));
    QCOMPARE(f.hub.channelCount(), 3);
    QCOMPARE(f.hub.subscriptionCount(), 5);
    QCOMPARE(names(), (QByteArrayList{"x", "y", "z"}));
    QCOMPARE(f.hub.channel("x")->subscribers.size(), size_t(3));
    QCOMPARE(a->channelCount(), 2);
    QCOMPARE(c->channels(), (QByteArrayList{"z", "x"})); // in the order joined

    QVERIFY(f.hub.unsubscribe(a, "y"));
    QVERIFY(!f.hub.unsubscribe(a, "z"));
    QCOMPARE(f.hub.channelCount(), 2);
    QCOMPARE(f.hub.subscriptionCount(), 4);
    QCOMPARE(names(), (QByteArrayList{"x", "z"}));
    QVERIFY(!f.hub.channel("y"));

    f.hub.removeSession(c);
    QCOMPARE(f.hub.channelCount(), 1);
    QCOMPARE(f.hub.subscriptionCount(), 2);
    f.hub.removeSession(a);
    f.hub.removeSession(b);
    QCOMPARE(f.hub.channelCount(), 0);
    QCOMPARE(f.hub.subscriptionCount(), 0);
}

void tst_ChannelHub::wildcardDelivery_data() {
    // Sessions: A "a.*", B "a.>", C "a.b", D "a.b.c", E "x.y", F "a.*" and "a.b".
    QTest::addColumn<QByteArray>("channel");
    QTest::addColumn<bool>("exact");
    QTest::addColumn<QString>("expected"); // copies per session, "ABCDEF" order

    QTest::newRow("a.b: exact and both wildcards")
        << QByteArray("a.b") << false << QStringLiteral("111002");
    QTest::newRow("a.b.c: only the full wildcard")
        << QByteArray("a.b.c") << false << QStringLiteral("010100");
    QTest::newRow("a.z: wildcards only") << QByteArray("a.z") << false << QStringLiteral("110001");
    QTest::newRow("a: '>' needs a token after it")
        << QByteArray("a") << false << QStringLiteral("000000");
    QTest::newRow("x.y") << QByteArray("x.y") << false << QStringLiteral("000010");
    QTest::newRow("nobody") << QByteArray("b.c") << false << QStringLiteral("000000");
    QTest::newRow("exact a.*: its own subscribers")
        << QByteArray("a.*") << true << QStringLiteral("100001");
    QTest::newRow("exact a.>") << QByteArray("a.>") << true << QStringLiteral("010000");
    QTest::newRow("exact a.b: no wildcard subscribers")
        << QByteArray("a.b") << true << QStringLiteral("001001");
    QTest::newRow("exact a.b.c") << QByteArray("a.b.c") << true << QStringLiteral("000100");
    QTest::newRow("exact a.z: no such channel")
        << QByteArray("a.z") << true << QStringLiteral("000000");
}

void tst_ChannelHub::wildcardDelivery() {
    QFETCH(QByteArray, channel);
    QFETCH(bool, exact);
    QFETCH(QString, expected);
    SessionFixture f;
    QVERIFY(f.listen());
    Peers p;
    QVERIFY(connectPeers(f, 6, &p));
    const QList<QByteArrayList> subscriptions = {{"a.*"},   {"a.>"}, {"a.b"},
                                                 {"a.b.c"}, {"x.y"}, {"a.*", "a.b"}};
    for (int i = 0; i < 6; ++i) {
        for (const QByteArray &name : subscriptions[i])
            QVERIFY(f.hub.subscribe(p.sessions[i], name));
    }
    QCOMPARE(f.hub.channelCount(), 5); // F shares A's and C's
    QVERIFY(f.hub.channel("a.*")->wildcard);
    QVERIFY(f.hub.channel("a.>")->wildcard);
    QVERIFY(!f.hub.channel("a.b")->wildcard);

    const QByteArray bytes = message(channel, "w");
    const Frame frame(bytes);
    const int sent = exact ? f.hub.deliverExact(channel, frame) : f.hub.deliver(channel, frame);
    int total = 0;
    for (int i = 0; i < 6; ++i) {
        const int copies = expected.at(i).digitValue();
        total += copies;
        // What the session sent, and what its client got.
        QCOMPARE(p.sessions[i]->stats().messagesOut, quint64(copies));
        QVERIFY(p.clients[size_t(i)]->waitForMessages(copies));
    }
    QCOMPARE(sent, total);
    QVERIFY(p.clients[0]->staysQuiet(100));
    for (int i = 0; i < 6; ++i) {
        const int copies = expected.at(i).digitValue();
        QCOMPARE(p.clients[size_t(i)]->received, QByteArrayList(copies, bytes));
    }
}

void tst_ChannelHub::closingSessionsAreSkipped() {
    SessionFixture f;
    QVERIFY(f.listen());
    Peers p;
    QVERIFY(connectPeers(f, 3, &p));
    for (Session *s : p.sessions)
        QVERIFY(f.hub.subscribe(s, "room"));
    p.sessions[1]->close();
    QVERIFY(p.sessions[1]->isClosing());
    // Still a subscriber until its owner removes it, but nothing more is sent to it.
    QCOMPARE(f.hub.subscriptionCount(), 3);
    QCOMPARE(f.hub.deliver("room", Frame(message("room", "x"))), 2);
    QCOMPARE(p.sessions[1]->stats().messagesOut, 0u);
    QCOMPARE(p.sessions[0]->stats().messagesOut, 1u);
}

void tst_ChannelHub::channelNameIsShared() {
    SessionFixture f;
    QVERIFY(f.listen());
    Peers p;
    QVERIFY(connectPeers(f, 2, &p));
    QVERIFY(f.hub.subscribe(p.sessions[0], "room"));
    QVERIFY(f.hub.subscribe(p.sessions[1], "room"));
    const QByteArray &own = f.hub.channel("room")->name;

    // While subscribed: the hub's own copy, from any view of the name.
    const char text[] = "room";
    const QByteArray a = f.hub.channelName(QByteArrayView(text, 4));
    QCOMPARE(a, QByteArray("room"));
    QCOMPARE(a.constData(), own.constData());
    const QByteArray b = f.hub.channelName(QByteArray("room"));
    QCOMPARE(b.constData(), own.constData());
    QVERIFY(f.hub.subscribe(p.sessions[0], "hall"));
    const QByteArray h = f.hub.channelName("hall"); // another channel in between
    QCOMPARE(h.constData(), f.hub.channel("hall")->name.constData());
    QCOMPARE(f.hub.channelName("room").constData(), own.constData());

    // Delivery with the shared name (no lookup) and with an equal name of its own agree.
    QCOMPARE(f.hub.deliver(f.hub.channelName("room"), Frame(message("room", "1"))), 2);
    QCOMPARE(f.hub.deliver(QByteArray("ro") + "om", Frame(message("room", "2"))), 2);

    // Not subscribed: an equal, new name.
    const QByteArray n = f.hub.channelName("nobody");
    QCOMPARE(n, QByteArray("nobody"));
    QVERIFY(n.constData() != text);

    // The channel remembered last goes away: the next call must not use it.
    QCOMPARE(f.hub.channelName("hall").constData(), f.hub.channel("hall")->name.constData());
    QVERIFY(f.hub.unsubscribe(p.sessions[0], "hall"));
    const QByteArray after = f.hub.channelName("hall");
    QCOMPARE(after, QByteArray("hall"));
    QCOMPARE(f.hub.deliver(after, Frame(message("hall", "x"))), 0);
    QCOMPARE(f.hub.deliver(f.hub.channelName("room"), Frame(message("room", "3"))), 2);
    for (auto &c : p.clients) {
        QVERIFY(c->waitForMessages(3));
        QCOMPARE(c->received.last(), message("room", "3"));
    }
}

QTEST_MAIN(tst_ChannelHub)
#include "tst_channelhub.moc"

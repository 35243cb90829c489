// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// A node on four event loops under churn: an in-process Server with threads = 4 and real
// QWebSocket clients over loopback, whose connections the listener deals out to every loop in
// turn. Publishers send numbered messages to three channels for a few seconds while other
// clients subscribe, unsubscribe, subscribe again, disconnect (cleanly or abruptly) and
// reconnect — landing on another loop each time — over and over.
//
// Checked for every connection as its messages arrive: each publisher's messages on each
// channel in order and at most once, only channels it asked for; every message published while
// its subscription was certainly in place has arrived before it leaves. "Certainly in place"
// is what a client can observe (PROTOCOL.md §3: a connection's messages are handled in order,
// so the answer to a later probe means the subscription before it is done): from the first
// message a publisher sends after the subscriber saw its probe answered, up to the last one an
// always-subscribed observer had received when the subscriber decided to leave. Publishers get
// their own messages back exactly when subscribed. Afterwards the node's counts come back to
// the publishers' subscriptions, then to zero.

#include "server.h"
#include "wsclient.h"

#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QSet>
#include <QTest>
#include <QThread>

#include <algorithm>
#include <climits>
#include <deque>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

using namespace lhttp;

namespace {

constexpr int Loops = 4;
constexpr int Publishers = 4;
constexpr int ChannelCount = 3;
const QByteArrayList Channels{"s.0", "s.1", "s.2"};
const QByteArray Wildcard = "s.*";
constexpr int PerChannel = 400; // messages each publisher sends to each channel
constexpr int PerPublisher = PerChannel * ChannelCount;
constexpr int PublishMs = 5000; // the publishers' messages are spread over this long
constexpr int ExactChurners = 8;
constexpr int WildcardChurners = 2;
// A message certainly published reaches a subscriber within this (else: lost).
constexpr int DeliveryDeadlineMs = 5000;
constexpr int BudgetMs = 25000; // the whole run, publishing and churn
// Always answered with error 400, after everything the connection sent before it.
const QByteArray Probe = "LHTTP/1.0 probe\r\nsubscribe:..\r\n\r\n";

QByteArray dataMessage(int publisher, int channel, int seq) {
    return "LHTTP/1.0 m\r\npublish:" + Channels[channel] + "\r\n\r\n" +
           QByteArray::number(publisher) + ' ' + QByteArray::number(seq);
}

bool parseData(const QByteArray &m, int *publisher, int *channel, int *seq) {
    static const QByteArray head = "LHTTP/1.0 m\r\npublish:";
    if (!m.startsWith(head))
        return false;
    const qsizetype eol = m.indexOf("\r\n", head.size());
    *channel = int(Channels.indexOf(m.mid(head.size(), eol - head.size())));
    const QByteArrayList body = m.mid(m.indexOf("\r\n\r\n") + 4).split(' ');
    if (*channel < 0 || body.size() != 2)
        return false;
    bool ok1 = false;
    bool ok2 = false;
    *publisher = body[0].toInt(&ok1);
    *seq = body[1].toInt(&ok2);
    return ok1 && ok2 && *publisher >= 0 && *publisher < Publishers && *seq >= 0 &&
           *seq < PerChannel && m == dataMessage(*publisher, *channel, *seq);
}

QByteArray channelList(const QList<int> &channels) {
    QByteArrayList names;
    for (int c : channels)
        names.append(Channels[c]);
    return names.join(' ');
}

// One WebSocket connection of a test client, checked as its messages arrive.
struct Conn {
    QByteArray name;
    std::unique_ptr<WsClient> ws = std::make_unique<WsClient>();
    qsizetype read = 0; // of ws->received
    // Run at each probe's answer, in the order the probes were sent.
    std::deque<std::function<void()>> acks;
    // Per publisher and channel: the sequence numbers received, in arrival order.
    std::vector<int> seqs[Publishers][ChannelCount];
    bool asked[ChannelCount] = {}; // channels this connection ever subscribed to

    int last(int p, int c) const { return seqs[p][c].empty() ? -1 : seqs[p][c].back(); }
    void subscribe(const QList<int> &channels, bool wildcard, std::function<void()> done) {
        for (int c : channels)
            asked[c] = true;
        if (!channels.isEmpty())
            ws->send("LHTTP/1.0 m\r\nsubscribe:" + (wildcard ? Wildcard : channelList(channels)) +
                     "\r\n\r\n");
        ws->send(Probe);
        acks.push_back(std::move(done));
    }
    bool complete(int p, int c) const {
        const std::vector<int> &v = seqs[p][c];
        return int(v.size()) == PerChannel && v.front() == 0 && v.back() == PerChannel - 1;
    }
    // Takes what arrived since the last call; false (and `why`) on the first broken rule.
    bool consume(QByteArray *why) {
        while (read < ws->received.size()) {
            const QByteArray m = ws->received.at(read++);
            if (m.startsWith("LHTTP/1.0 error\r\n")) {
                if (!m.contains("\r\ncode:400\r\n") || acks.empty()) {
                    *why = name + " got an unexpected error: " + m;
                    return false;
                }
                auto done = std::move(acks.front());
                acks.pop_front();
                done();
                continue;
            }
            int p = 0;
            int c = 0;
            int seq = 0;
            if (!parseData(m, &p, &c, &seq)) {
                *why = name + " got a message it cannot read: " + m;
                return false;
            }
            if (!asked[c]) {
                *why = name + " got " + Channels[c] + ", which it never subscribed to";
                return false;
            }
            std::vector<int> &v = seqs[p][c];
            if (!v.empty() && seq <= v.back()) {
                *why = name + " got publisher " + QByteArray::number(p) + "'s " + Channels[c] +
                       " #" + QByteArray::number(seq) + " after #" + QByteArray::number(v.back()) +
                       (seq == v.back() ? " (twice)" : " (out of order)");
                return false;
            }
            v.push_back(seq);
        }
        return true;
    }
};

} // namespace

class tst_Threads : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void publishWhileSubscribersChurn();

private:
    struct Churner;
    QUrl url() const {
        return QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(server->serverPort()));
    }
    bool step(Churner &ch, qint64 now, QByteArray *why);
    void openConn(Churner &ch);
    void subscribe(Churner &ch, const QList<int> &channels);

    std::unique_ptr<Server> server;
    std::vector<std::unique_ptr<Conn>> retired; // closed connections: what arrives late is checked
    std::unique_ptr<Conn> observer;
    int sent[Publishers][ChannelCount] = {}; // each publisher's next sequence number per channel
    bool stopping = false;
    QRandomGenerator random{20240611};
    int connections = 0;
    int windows = 0;
    int checkedMessages = 0;
};

// A client that keeps changing its subscriptions and its connection.
struct tst_Threads::Churner {
    enum class State { Connecting, Idle, Subscribing, Subscribed, Draining, Done };
    enum class Leave { Unsubscribe, Close, Abort };
    QByteArray name;
    bool wildcard = false;
    std::unique_ptr<Conn> conn;
    State state = State::Connecting;
    qint64 until = 0; // Connecting, Draining: deadline; Subscribed: when to act next
    // Open windows: channel subscribed, acknowledged and not being left; from each publisher's
    // message `lo` on, everything must arrive.
    bool open[ChannelCount] = {};
    int lo[ChannelCount][Publishers] = {};
    // Draining: the channels being left, and up to where each publisher's messages must arrive
    // first (what the observer had when the decision was made).
    QList<int> leaving;
    int hi[ChannelCount][Publishers] = {};
    Leave leave = Leave::Unsubscribe;
    int cycles = 0;

    QList<int> openChannels() const {
        QList<int> out;
        for (int c = 0; c < ChannelCount; ++c) {
            if (open[c])
                out.append(c);
        }
        return out;
    }
};

void tst_Threads::openConn(Churner &ch) {
    if (ch.conn) {
        ch.conn->acks.clear();
        retired.push_back(std::move(ch.conn));
    }
    ch.conn = std::make_unique<Conn>();
    ch.conn->name = ch.name + " (connection " + QByteArray::number(++connections) + ")";
    ch.conn->ws->socket.open(url());
    ch.state = Churner::State::Connecting;
}

// Subscribes `ch` to `channels` (idempotent: channels it has already stay as they are); once
// the probe is answered, each new channel's window opens at what every publisher has sent.
void tst_Threads::subscribe(Churner &ch, const QList<int> &channels) {
    Churner *self = &ch;
    ch.conn->subscribe(channels, ch.wildcard, [this, self, channels] {
        for (int c : channels) {
            if (self->open[c]) // subscribed already: subscribe is idempotent
                continue;
            self->open[c] = true;
            ++windows;
            for (int p = 0; p < Publishers; ++p)
                self->lo[c][p] = sent[p][c];
        }
        self->state = Churner::State::Subscribed;
        self->until = 0; // set by the next step
    });
    ch.state = Churner::State::Subscribing;
}

bool tst_Threads::step(Churner &ch, qint64 now, QByteArray *why) {
    using State = Churner::State;
    Conn &conn = *ch.conn;
    switch (ch.state) {
    case State::Connecting:
        if (conn.ws->connected) {
            ch.state = State::Idle;
            ch.until = 0;
        }
        break;
    case State::Idle: {
        if (stopping)
            ch.state = State::Done;
        if (stopping || now < ch.until)
            break;
        QList<int> channels;
        if (ch.wildcard) {
            channels = {0, 1, 2};
        } else {
            const int mask = 1 + int(random.bounded(7)); // a non-empty subset
            for (int c = 0; c < ChannelCount; ++c) {
                if (mask & (1 << c))
                    channels.append(c);
            }
        }
        subscribe(ch, channels);
        break;
    }
    case State::Subscribing:
        break; // until the probe is answered
    case State::Subscribed: {
        if (ch.until == 0) {
            ch.until = now + 5 + random.bounded(60);
            break;
        }
        const bool observerDone = [&] {
            for (int p = 0; p < Publishers; ++p) {
                for (int c = 0; c < ChannelCount; ++c) {
                    if (observer->last(p, c) != PerChannel - 1)
                        return false;
                }
            }
            return true;
        }();
        // At the end, the last ones leave once everything was published and seen.
        if (stopping ? !observerDone : now < ch.until)
            break;
        const QList<int> subscribed = ch.openChannels();
        const int action = int(random.bounded(stopping ? 3 : 5));
        if (action == 4 || (action == 3 && !ch.wildcard && subscribed.size() < ChannelCount)) {
            // More: the channels it has again (idempotent) and maybe another one.
            QList<int> channels = subscribed;
            if (!ch.wildcard) {
                const int extra = int(random.bounded(ChannelCount));
                if (!channels.contains(extra))
                    channels.append(extra);
            }
            subscribe(ch, channels);
            break;
        }
        ch.leave = action == 1   ? Churner::Leave::Close
                   : action == 2 ? Churner::Leave::Abort
                                 : Churner::Leave::Unsubscribe;
        ch.leaving = subscribed;
        if (ch.leave == Churner::Leave::Unsubscribe && !ch.wildcard && subscribed.size() > 1 &&
            random.bounded(2))
            ch.leaving.removeAt(random.bounded(subscribed.size())); // some of them only
        for (int c : std::as_const(ch.leaving)) {
            for (int p = 0; p < Publishers; ++p)
                ch.hi[c][p] = observer->last(p, c);
        }
        ch.state = State::Draining;
        ch.until = now + DeliveryDeadlineMs;
        break;
    }
    case State::Draining: {
        for (int c : std::as_const(ch.leaving)) {
            for (int p = 0; p < Publishers; ++p) {
                const int lo = ch.lo[c][p];
                const int hi = ch.hi[c][p];
                if (hi < lo || conn.last(p, c) >= hi)
                    continue;
                if (now < ch.until)
                    return true; // not yet
                *why = conn.name + ": publisher " + QByteArray::number(p) + "'s " + Channels[c] +
                       " #" + QByteArray::number(lo) + "..#" + QByteArray::number(hi) +
                       " published while subscribed, received up to #" +
                       QByteArray::number(conn.last(p, c)) + " after " +
                       QByteArray::number(DeliveryDeadlineMs) + " ms";
                return false;
            }
        }
        // Everything up to `hi` is in; in order and once each (consume() saw to that), so
        // complete exactly when the count fits.
        for (int c : std::as_const(ch.leaving)) {
            for (int p = 0; p < Publishers; ++p) {
                const int lo = ch.lo[c][p];
                const int hi = ch.hi[c][p];
                if (hi < lo)
                    continue;
                const std::vector<int> &v = conn.seqs[p][c];
                const auto n = std::upper_bound(v.begin(), v.end(), hi) -
                               std::lower_bound(v.begin(), v.end(), lo);
                if (n != hi - lo + 1) {
                    *why = conn.name + ": lost " + QByteArray::number(qlonglong(hi - lo + 1 - n)) +
                           " of publisher " + QByteArray::number(p) + "'s " + Channels[c] + " #" +
                           QByteArray::number(lo) + "..#" + QByteArray::number(hi);
                    return false;
                }
                checkedMessages += hi - lo + 1;
            }
            ch.open[c] = false;
        }
        ++ch.cycles;
        switch (ch.leave) {
        case Churner::Leave::Unsubscribe:
            conn.ws->send("LHTTP/1.0 m\r\nunsubscribe:" +
                          (ch.wildcard ? Wildcard : channelList(ch.leaving)) + "\r\n\r\n");
            ch.state = ch.openChannels().isEmpty() ? State::Idle : State::Subscribed;
            ch.until = 0;
            break;
        case Churner::Leave::Close:
        case Churner::Leave::Abort:
            for (int c = 0; c < ChannelCount; ++c)
                ch.open[c] = false;
            if (ch.leave == Churner::Leave::Close)
                conn.ws->socket.close();
            else
                conn.ws->socket.abort();
            openConn(ch);
            ch.until = now + 5000;
            break;
        }
        break;
    }
    case State::Done:
        break;
    }
    if (ch.state == State::Connecting && now > ch.until && !ch.conn->ws->connected) {
        *why = ch.conn->name + " could not connect";
        return false;
    }
    return true;
}

void tst_Threads::publishWhileSubscribersChurn() {
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    o.threads = Loops;
    o.allowWildcards = true;
    server = std::make_unique<Server>(o);
    QVERIFY(server->listen());
    QCOMPARE(server->threadCount(), Loops);
    QElapsedTimer clock;
    clock.start();

    // The observer and the publishers, subscribed before anything is published: P0 and P1 to
    // every channel (each gets its own messages back), P2 to s.0 only, P3 to none.
    observer = std::make_unique<Conn>();
    observer->name = "observer";
    QVERIFY(observer->ws->open(url()));
    std::vector<std::unique_ptr<Conn>> publishers;
    const QList<QList<int>> publisherChannels{{0, 1, 2}, {0, 1, 2}, {0}, {}};
    int acked = 0;
    observer->subscribe({0, 1, 2}, false, [&] { ++acked; });
    for (int p = 0; p < Publishers; ++p) {
        auto conn = std::make_unique<Conn>();
        conn->name = "publisher " + QByteArray::number(p);
        QVERIFY(conn->ws->open(url()));
        conn->subscribe(publisherChannels[p], false, [&] { ++acked; });
        publishers.push_back(std::move(conn));
    }
    QByteArray why;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            bool ok = observer->consume(&why);
            for (auto &p : publishers)
                ok = ok && p->consume(&why);
            return !ok || acked == Publishers + 1;
        }(),
        5000);
    QVERIFY2(why.isEmpty(), why.constData());

    std::vector<std::unique_ptr<Churner>> churners;
    for (int i = 0; i < ExactChurners + WildcardChurners; ++i) {
        auto ch = std::make_unique<Churner>();
        ch->wildcard = i >= ExactChurners;
        ch->name = (ch->wildcard ? "wildcard churner " : "churner ") + QByteArray::number(i);
        openConn(*ch);
        ch->until = 5000;
        churners.push_back(std::move(ch));
    }
    QTRY_VERIFY_WITH_TIMEOUT(std::all_of(churners.begin(), churners.end(),
                                         [](const auto &ch) { return ch->conn->ws->connected; }),
                             5000);
    // The listener dealt the connections out to every loop.
    QTRY_COMPARE(server->sessionCount(), 1 + Publishers + int(churners.size()));
    QSet<QThread *> threads;
    server->visitSessions([&](const Session &) { threads.insert(QThread::currentThread()); });
    QCOMPARE(threads.size(), Loops);

    const qint64 start = clock.elapsed();
    int published = 0;
    while (why.isEmpty()) {
        const qint64 now = clock.elapsed();
        if (now > BudgetMs) {
            why = "not done within " + QByteArray::number(BudgetMs) + " ms";
            break;
        }
        // Each publisher sends its share due by now: message k to channel k % 3.
        const int due =
            int(std::min<qint64>(PerPublisher, (now - start) * PerPublisher / PublishMs));
        for (int p = 0; p < Publishers; ++p) {
            for (int k = sent[p][0] + sent[p][1] + sent[p][2]; k < due; ++k) {
                const int c = k % ChannelCount;
                publishers[size_t(p)]->ws->send(dataMessage(p, c, sent[p][c]++));
                ++published;
            }
        }
        stopping = published == Publishers * PerPublisher;

        bool ok = observer->consume(&why);
        for (auto &p : publishers)
            ok = ok && p->consume(&why);
        for (auto &r : retired)
            ok = ok && r->consume(&why);
        bool done = true;
        for (auto &ch : churners) {
            ok = ok && ch->conn->consume(&why) && step(*ch, now, &why);
            done = done && ch->state == Churner::State::Done;
        }
        if (!ok || done)
            break;
        QTest::qWait(1);
    }
    QVERIFY2(why.isEmpty(), why.constData());
    const qint64 ran = clock.elapsed() - start;

    // Everyone who was subscribed all along got everything, once, in order; publishers their
    // own messages exactly when subscribed.
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            if (!observer->consume(&why) || !publishers[0]->consume(&why) ||
                !publishers[1]->consume(&why) || !publishers[2]->consume(&why) ||
                !publishers[3]->consume(&why))
                return true;
            for (int p = 0; p < Publishers; ++p) {
                for (int c = 0; c < ChannelCount; ++c) {
                    if (!observer->complete(p, c) || !publishers[0]->complete(p, c) ||
                        !publishers[1]->complete(p, c) ||
                        (c == 0 && !publishers[2]->complete(p, c)))
                        return false;
                }
            }
            return true;
        }(),
        DeliveryDeadlineMs);
    QVERIFY2(why.isEmpty(), why.constData());
    QTest::qWait(100); // nothing more comes
    QVERIFY2(observer->consume(&why), why.constData());
    for (auto &p : publishers)
        QVERIFY2(p->consume(&why), why.constData());
    for (int p = 0; p < Publishers; ++p) {
        QVERIFY(publishers[2]->seqs[p][1].empty() && publishers[2]->seqs[p][2].empty());
        for (int c = 0; c < ChannelCount; ++c)
            QVERIFY(publishers[3]->seqs[p][c].empty());
    }
    QCOMPARE(publishers[3]->ws->received.size(), 1); // its probe's answer only
    for (auto &r : retired)
        QVERIFY2(r->consume(&why), why.constData());
    QCOMPARE(server->counters().publishes, quint64(Publishers * PerPublisher));

    // The churners have left: only the observer's and the publishers' subscriptions remain.
    QTRY_COMPARE(server->sessionCount(), 1 + Publishers + int(churners.size()));
    QTRY_COMPARE(server->subscriptionCount(), 3 + 3 + 3 + 1);
    QCOMPARE(server->channelCount(), ChannelCount);
    QCOMPARE(server->subscriberCount("s.0"), 4);
    QCOMPARE(server->subscriberCount("s.1"), 3);
    QCOMPARE(server->subscriberCount("s.2"), 3);
    QCOMPARE(server->subscriberCount(Wildcard), 0);

    // Then everybody goes, some cleanly, some not: the node's counts come back to zero.
    int i = 0;
    auto leave = [&i](Conn &c) { (i++ % 2) ? c.ws->socket.close() : c.ws->socket.abort(); };
    leave(*observer);
    for (auto &p : publishers)
        leave(*p);
    for (auto &ch : churners)
        leave(*ch->conn);
    QTRY_COMPARE(server->sessionCount(), 0);
    QCOMPARE(server->channelCount(), 0);
    QCOMPARE(server->subscriptionCount(), 0);
    QVERIFY(server->channelNames().isEmpty());

    int cycles = 0;
    int least = INT_MAX;
    for (const auto &ch : churners) {
        cycles += ch->cycles;
        least = std::min(least, ch->cycles);
    }
    qInfo("%d messages published in %lld ms; %d subscription windows (%d certainly-published "
          "deliveries checked), %d leaves, %d connections",
          published, qlonglong(ran), windows, checkedMessages, cycles, connections);
    // The churn happened (a weak bound: a slow machine runs fewer cycles).
    QVERIFY(least >= 3);
    server.reset();
}

QTEST_MAIN(tst_Threads)
#include "tst_threads.moc"

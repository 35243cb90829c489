// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// History channels on the embedded broker (PROTOCOL.md "History channels"): positions,
// recovery, history reads, their errors, age and memory limits — a real Server on a loopback
// port and real QWebSocket clients — and the acceptance run: a publisher, 50 recovering
// subscribers cut off at random moments from an lhttpd-qt process, every message once, in order.

#include "history.h"
#include "httpclient.h"
#include "lhttpdprocess.h"
#include "message.h"
#include "natsserver.h"
#include "server.h"
#include "token.h"
#include "wsclient.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <csignal>

#include <algorithm>
#include <memory>
#include <numeric>

using namespace lhttp;
using Headers = QList<QPair<QByteArray, QByteArray>>;

namespace {

QByteArray headerOf(const QByteArray &raw, QByteArrayView name) {
    Error error;
    const Message m = Message::parse(raw, Limits(), &error);
    return m.header(name).toByteArray();
}

QByteArray bodyOf(const QByteArray &raw) {
    Error error;
    const Message m = Message::parse(raw, Limits(), &error);
    return m.body().toByteArray();
}

QList<QByteArray> fields(const QByteArray &value) {
    return value.split(' ');
}

QByteArray publish(const QByteArray &channel, const QByteArray &body) {
    return lhttpMessage("chat", {{"publish", channel}}, body);
}

QByteArray subscribe(const QByteArray &channel, const QByteArray &recover = {}) {
    Headers h{{"subscribe", channel}};
    if (!recover.isNull())
        h.append({"recover", recover});
    return lhttpMessage("chat", h);
}

} // namespace

class tst_History : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void specs_data();
    void specs();
    void positionsOnDeliveries();
    void plainChannelsUnchanged();
    void recoverAfterPosition();
    void notRecoveredPastTheHistory();
    void notRecoveredFromAnotherEpoch();
    void historyRead();
    void errors_data();
    void errors();
    void tokenGrants();
    void ageLimit();
    void memoryCap();
    void publishWhileRecovering();
    void metricsAndHealth();
    void httpPublish();
    void recoveryUnderChurn();
    void clusterRecoveryUnderChurn();

private:
    std::unique_ptr<Server> start(const QList<HistoryNamespace> &history, qint64 memory = 0,
                                  QByteArray secret = {});
    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(m_port)); }
    quint16 m_port = 0;
};

std::unique_ptr<Server> tst_History::start(const QList<HistoryNamespace> &history, qint64 memory,
                                           QByteArray secret) {
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    o.history = history;
    o.historyMemory = memory;
    o.historyReadMax = 50;
    o.jwtSecret = std::move(secret);
    auto server = std::make_unique<Server>(o);
    if (!server->listen())
        return nullptr;
    m_port = server->serverPort();
    return server;
}

void tst_History::specs_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("canonical");
    QTest::newRow("size") << "room.*=100" << true << "room.*=100";
    QTest::newRow("minutes") << "room.*=100,10m" << true << "room.*=100,10m";
    QTest::newRow("seconds bare") << "a.>=5,90" << true << "a.>=5,90s";
    QTest::newRow("ms") << "a=1,1500ms" << true << "a=1,1500ms";
    QTest::newRow("days") << "a=1,2d" << true << "a=1,2d";
    QTest::newRow("no size") << "room.*=" << false << "";
    QTest::newRow("zero size") << "room.*=0" << false << "";
    QTest::newRow("negative") << "room.*=-1" << false << "";
    QTest::newRow("huge") << "room.*=1000001" << false << "";
    QTest::newRow("bad ttl") << "room.*=10,soon" << false << "";
    QTest::newRow("zero ttl") << "room.*=10,0s" << false << "";
    QTest::newRow("no pattern") << "=10" << false << "";
    QTest::newRow("bad pattern") << "room..x=10" << false << "";
    QTest::newRow("extra field") << "a=1,2s,3" << false << "";
}

void tst_History::specs() {
    QFETCH(QString, text);
    QFETCH(bool, valid);
    QFETCH(QString, canonical);
    const auto ns = parseHistorySpec(text);
    QCOMPARE(ns.has_value(), valid);
    if (valid)
        QCOMPARE(historySpecText(*ns), canonical);
}

void tst_History::positionsOnDeliveries() {
    const auto server = start({{"room.*", 100, 0}});
    QVERIFY(server);
    WsClient sub, pub;
    QVERIFY(sub.open(url()));
    QVERIFY(pub.open(url()));
    sub.send(subscribe("room.1"));
    QVERIFY(sub.sync());
    for (int i = 1; i <= 3; ++i)
        pub.send(publish("room.1", QByteArray::number(i)));
    QVERIFY(sub.waitForMessages(3));
    QByteArray epoch;
    for (int i = 0; i < 3; ++i) {
        const QByteArray &m = sub.received.at(i);
        // The position is the first header; the rest is the published message unchanged.
        QVERIFY2(m.startsWith("LHTTP/1.0 chat\r\nposition:room.1 "), m.constData());
        const QList<QByteArray> f = fields(headerOf(m, "position"));
        QCOMPARE(f.size(), 3);
        QCOMPARE(f[0], QByteArray("room.1"));
        QCOMPARE(f[1], QByteArray::number(i + 1));
        QVERIFY(HistoryHeaders::isValidEpoch(f[2]));
        if (i == 0)
            epoch = f[2];
        QCOMPARE(f[2], epoch);
        QCOMPARE(headerOf(m, "publish"), QByteArray("room.1"));
        QCOMPARE(bodyOf(m), QByteArray::number(i + 1));
        QCOMPARE(m.mid(m.indexOf("\r\n", 16) + 2),
                 publish("room.1", QByteArray::number(i + 1)).mid(16)); // after the start line
    }
    // Another channel of the namespace counts on its own, in its own stream.
    sub.send(subscribe("room.2"));
    QVERIFY(sub.sync());
    pub.send(publish("room.2", "x"));
    QVERIFY(sub.waitForMessages(4));
    const QList<QByteArray> f = fields(headerOf(sub.received.at(3), "position"));
    QCOMPARE(f[1], QByteArray("1"));
    QVERIFY(f[2] != epoch);
}

void tst_History::plainChannelsUnchanged() {
    const auto server = start({{"room.*", 100, 0}});
    QVERIFY(server);
    WsClient sub, pub;
    QVERIFY(sub.open(url()));
    QVERIFY(pub.open(url()));
    sub.send(subscribe("lobby"));
    QVERIFY(sub.sync());
    const QByteArray sent = publish("lobby", "hello");
    pub.send(sent);
    QVERIFY(sub.waitForMessages(1));
    QCOMPARE(sub.received.first(), sent); // byte for byte, no position
}

void tst_History::recoverAfterPosition() {
    const auto server = start({{"room.*", 100, 0}});
    QVERIFY(server);
    WsClient sub, pub;
    QVERIFY(sub.open(url()));
    QVERIFY(pub.open(url()));
    // No position yet: the reply says where the stream is, nothing follows.
    sub.send(subscribe("room.1", "room.1"));
    QVERIFY(sub.waitForMessages(1));
    QList<QByteArray> r = fields(headerOf(sub.received.first(), "recovered"));
    QCOMPARE(r.size(), 5);
    QCOMPARE(r[0], QByteArray("room.1"));
    QCOMPARE(r[1], QByteArray("true"));
    QCOMPARE(r[2], QByteArray("0"));
    QCOMPARE(r[3], QByteArray("0"));
    const QByteArray epoch = r[4];
    QVERIFY(sub.received.first().startsWith("LHTTP/1.0 chat\r\n")); // the request's command
    pub.send(publish("room.1", "1"));
    QVERIFY(sub.waitForMessages(2));
    sub.socket.abort();
    for (int i = 2; i <= 5; ++i)
        pub.send(publish("room.1", QByteArray::number(i)));
    QVERIFY(pub.sync());

    WsClient again;
    QVERIFY(again.open(url()));
    again.send(subscribe("room.1", "room.1 1 " + epoch));
    QVERIFY(again.waitForMessages(5));
    r = fields(headerOf(again.received.first(), "recovered"));
    QCOMPARE(r, (QList<QByteArray>{"room.1", "true", "4", "5", epoch}));
    for (int i = 1; i <= 4; ++i) {
        QCOMPARE(bodyOf(again.received.at(i)), QByteArray::number(i + 1));
        QCOMPARE(fields(headerOf(again.received.at(i), "position")).at(1),
                 QByteArray::number(i + 1));
    }
    // Live from here, once.
    pub.send(publish("room.1", "6"));
    QVERIFY(again.waitForMessages(6));
    QCOMPARE(bodyOf(again.received.at(5)), QByteArray("6"));
    QVERIFY(again.staysQuiet());
    // Recovering at the newest position: nothing missed.
    WsClient third;
    QVERIFY(third.open(url()));
    third.send(subscribe("room.1", "room.1 6 " + epoch));
    QVERIFY(third.waitForMessages(1));
    QCOMPARE(fields(headerOf(third.received.first(), "recovered")),
             (QList<QByteArray>{"room.1", "true", "0", "6", epoch}));
    QVERIFY(third.staysQuiet());
}

void tst_History::notRecoveredPastTheHistory() {
    const auto server = start({{"room.*", 3, 0}});
    QVERIFY(server);
    WsClient pub;
    QVERIFY(pub.open(url()));
    pub.send(subscribe("room.1", "room.1"));
    QVERIFY(pub.waitForMessages(1));
    const QByteArray epoch = fields(headerOf(pub.received.first(), "recovered")).at(4);
    for (int i = 1; i <= 6; ++i)
        pub.send(publish("room.1", QByteArray::number(i)));
    QVERIFY(pub.waitForMessages(7));
    // Offsets 4..6 are held: 3 is recoverable (nothing after it was dropped), 2 is not.
    WsClient ok, late;
    QVERIFY(ok.open(url()));
    QVERIFY(late.open(url()));
    ok.send(subscribe("room.1", "room.1 3 " + epoch));
    QVERIFY(ok.waitForMessages(4));
    QCOMPARE(fields(headerOf(ok.received.first(), "recovered")).mid(1, 2),
             (QList<QByteArray>{"true", "3"}));
    late.send(subscribe("room.1", "room.1 2 " + epoch));
    QVERIFY(late.waitForMessages(1));
    QCOMPARE(fields(headerOf(late.received.first(), "recovered")),
             (QList<QByteArray>{"room.1", "false", "0", "6", epoch}));
    QVERIFY(late.staysQuiet()); // nothing replayed: the client reloads
    // Still subscribed: live messages come.
    pub.send(publish("room.1", "7"));
    QVERIFY(late.waitForMessages(2));
    QCOMPARE(bodyOf(late.received.at(1)), QByteArray("7"));
}

void tst_History::notRecoveredFromAnotherEpoch() {
    const auto server = start({{"room.*", 10, 0}});
    QVERIFY(server);
    WsClient c;
    QVERIFY(c.open(url()));
    c.send(subscribe("room.1", "room.1 4 oldepoch1"));
    QVERIFY(c.waitForMessages(1));
    const QList<QByteArray> r = fields(headerOf(c.received.first(), "recovered"));
    QCOMPARE(r.mid(0, 4), (QList<QByteArray>{"room.1", "false", "0", "0"}));
    QVERIFY(r[4] != "oldepoch1");
}

void tst_History::historyRead() {
    const auto server = start({{"room.*", 10, 0}});
    QVERIFY(server);
    WsClient c;
    QVERIFY(c.open(url()));
    for (int i = 1; i <= 12; ++i)
        c.send(publish("room.1", QByteArray::number(i)));
    c.send(lhttpMessage("history", {{"history", "room.1 3"}}));
    QVERIFY(c.waitForMessages(4));
    const QList<QByteArray> h = fields(headerOf(c.received.first(), "history"));
    QCOMPARE(h.mid(0, 3), (QList<QByteArray>{"room.1", "3", "12"}));
    QVERIFY(c.received.first().startsWith("LHTTP/1.0 history\r\n"));
    const QByteArray epoch = h[3];
    for (int i = 0; i < 3; ++i)
        QCOMPARE(bodyOf(c.received.at(i + 1)), QByteArray::number(10 + i));
    // More than held: what is held (10 of the 12).
    c.received.clear();
    c.send(lhttpMessage("history", {{"history", "room.1 50"}}));
    QVERIFY(c.waitForMessages(11));
    QCOMPARE(fields(headerOf(c.received.first(), "history")).at(1), QByteArray("10"));
    QCOMPARE(bodyOf(c.received.at(1)), QByteArray("3"));
    // After a position, at most the limit, oldest first.
    c.received.clear();
    c.send(lhttpMessage("history", {{"history", "room.1 2 5 " + epoch}}));
    QVERIFY(c.waitForMessages(3));
    QCOMPARE(fields(headerOf(c.received.first(), "history")).at(1), QByteArray("2"));
    QCOMPARE(bodyOf(c.received.at(1)), QByteArray("6"));
    QCOMPARE(bodyOf(c.received.at(2)), QByteArray("7"));
    // A channel of the namespace never published to: empty, position 0.
    c.received.clear();
    c.send(lhttpMessage("history", {{"history", "room.9 5"}}));
    QVERIFY(c.waitForMessages(1));
    QCOMPARE(fields(headerOf(c.received.first(), "history")).mid(0, 3),
             (QList<QByteArray>{"room.9", "0", "0"}));
    QVERIFY(c.staysQuiet());
    // A read does not subscribe.
    c.received.clear();
    c.send(publish("room.1", "13"));
    QVERIFY(c.staysQuiet());
}

void tst_History::errors_data() {
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<int>("code");
    const auto sub = [](const QByteArray &ch, const QByteArray &rec) { return subscribe(ch, rec); };
    const auto read = [](const QByteArray &v) { return lhttpMessage("h", {{"history", v}}); };
    QTest::newRow("recover: no fields") << sub("room.1", "") << 400;
    QTest::newRow("recover: two fields") << sub("room.1", "room.1 5") << 400;
    QTest::newRow("recover: offset not a number") << sub("room.1", "room.1 x5 abc") << 400;
    QTest::newRow("recover: negative offset") << sub("room.1", "room.1 -1 abc") << 400;
    QTest::newRow("recover: offset over 2^64")
        << sub("room.1", "room.1 18446744073709551616 a") << 400;
    QTest::newRow("recover: bad epoch") << sub("room.1", "room.1 1 ab-c") << 400;
    QTest::newRow("recover: long epoch") << sub("room.1", "room.1 1 " + QByteArray(33, 'a')) << 400;
    QTest::newRow("recover: wildcard") << sub("room.1", "room.* 1 abc") << 400;
    QTest::newRow("recover: not subscribed") << sub("room.2", "room.1") << 400;
    QTest::newRow("recover: no history") << sub("lobby", "lobby") << 404;
    QTest::newRow("recover: ahead") << sub("room.1", "room.1 99 EPOCH") << 400;
    QTest::newRow("history: no limit") << read("room.1") << 400;
    QTest::newRow("history: zero") << read("room.1 0") << 400;
    QTest::newRow("history: negative") << read("room.1 -3") << 400;
    QTest::newRow("history: over the cap") << read("room.1 51") << 400;
    QTest::newRow("history: huge") << read("room.1 99999999999999999999999") << 400;
    QTest::newRow("history: plain channel") << read("lobby 5") << 404;
    QTest::newRow("history: bad channel") << read("room..1 5") << 400;
    QTest::newRow("history: other epoch") << read("room.1 5 0 other") << 410;
    QTest::newRow("history: ahead") << read("room.1 5 99 EPOCH") << 400;
    QTest::newRow("publish with a position")
        << lhttpMessage("chat", {{"position", "room.1 1 abc"}, {"publish", "room.1"}}) << 400;
}

void tst_History::errors() {
    QFETCH(QByteArray, message);
    QFETCH(int, code);
    const auto server = start({{"room.*", 10, 0}});
    QVERIFY(server);
    WsClient c, watcher;
    QVERIFY(c.open(url()));
    QVERIFY(watcher.open(url()));
    watcher.send(subscribe("room.1 room.2", "room.1"));
    QVERIFY(watcher.waitForMessages(1));
    const QByteArray epoch = fields(headerOf(watcher.received.first(), "recovered")).at(4);
    watcher.received.clear();
    c.send(publish("room.1", "before"));
    QVERIFY(watcher.waitForMessages(1));
    c.send(message.replace("EPOCH", epoch));
    QVERIFY(c.waitForMessages(1));
    const QByteArray reply = c.received.first();
    QCOMPARE(headerOf(reply, "code"), QByteArray::number(code));
    QVERIFY(!headerOf(reply, "reason").isEmpty());
    // Nothing of the message was applied: no subscription, no publish; the connection lives.
    QVERIFY(c.staysQuiet(100));
    QVERIFY(watcher.staysQuiet(100));
    c.send(publish("room.1", "after"));
    QVERIFY(watcher.waitForMessages(2));
    QCOMPARE(bodyOf(watcher.received.at(1)), QByteArray("after"));
    QCOMPARE(fields(headerOf(watcher.received.at(1), "position")).at(1), QByteArray("2"));
    QVERIFY(c.connected);
}

void tst_History::tokenGrants() {
    const QByteArray secret = "s3cret";
    const auto server = start({{"room.*", 10, 0}, {"dm.*", 10, 0}}, 0, secret);
    QVERIFY(server);
    const qint64 exp = QDateTime::currentSecsSinceEpoch() + 3600;
    const QByteArray token =
        Token::sign(QStringLiteral("alice"), {"room.*"}, {"room.*"}, exp, secret);
    WsClient c;
    QVERIFY(c.open(QUrl(url().toString() + QStringLiteral("?token=") + QLatin1String(token))));
    c.send(lhttpMessage("h", {{"history", "dm.bob 5"}}));
    QVERIFY(c.waitForMessages(1));
    QCOMPARE(headerOf(c.received.first(), "code"), QByteArray("403"));
    c.send(subscribe("dm.bob", "dm.bob"));
    QVERIFY(c.waitForMessages(2));
    QCOMPARE(headerOf(c.received.at(1), "code"), QByteArray("403"));
    c.send(lhttpMessage("h", {{"history", "room.1 5"}}));
    QVERIFY(c.waitForMessages(3));
    QCOMPARE(fields(headerOf(c.received.at(2), "history")).at(0), QByteArray("room.1"));
}

void tst_History::ageLimit() {
    const auto server = start({{"room.*", 10, 300}});
    QVERIFY(server);
    WsClient c;
    QVERIFY(c.open(url()));
    c.send(subscribe("room.1", "room.1"));
    QVERIFY(c.waitForMessages(1));
    const QByteArray epoch = fields(headerOf(c.received.first(), "recovered")).at(4);
    c.send(publish("room.1", "1"));
    c.send(publish("room.1", "2"));
    QVERIFY(c.waitForMessages(3));
    QTest::qWait(1300); // past the TTL and the once-a-second sweep
    c.send(lhttpMessage("h", {{"history", "room.1 10"}}));
    QVERIFY(c.waitForMessages(4));
    QCOMPARE(fields(headerOf(c.received.at(3), "history")).mid(0, 3),
             (QList<QByteArray>{"room.1", "0", "2"}));
    WsClient late;
    QVERIFY(late.open(url()));
    late.send(subscribe("room.1", "room.1 1 " + epoch));
    QVERIFY(late.waitForMessages(1));
    QCOMPARE(fields(headerOf(late.received.first(), "recovered")).at(1), QByteArray("false"));
    // The newest position is still good: nothing after it was lost.
    WsClient current;
    QVERIFY(current.open(url()));
    current.send(subscribe("room.1", "room.1 2 " + epoch));
    QVERIFY(current.waitForMessages(1));
    QCOMPARE(fields(headerOf(current.received.first(), "recovered")).at(1), QByteArray("true"));
}

void tst_History::memoryCap() {
    // Room for a few 1 KiB messages only: the oldest go first, across channels.
    const auto server = start({{"room.*", 1000, 0}}, 16 * 1024);
    QVERIFY(server);
    WsClient c;
    QVERIFY(c.open(url()));
    const QByteArray body(1024, 'x');
    for (int i = 1; i <= 20; ++i)
        c.send(publish(i % 2 ? "room.a" : "room.b", body));
    c.send(lhttpMessage("h", {{"history", "room.a 50"}}));
    QVERIFY(c.waitForMessages(1));
    const int heldA = fields(headerOf(c.received.first(), "history")).at(1).toInt();
    QVERIFY2(heldA > 0 && heldA < 10, QByteArray::number(heldA).constData());
    QVERIFY(c.waitForMessages(1 + heldA));
    c.received.clear();
    QTest::qWait(50);
    c.received.clear();
    c.send(lhttpMessage("h", {{"history", "room.b 50"}}));
    QVERIFY(c.waitForMessages(1));
    const int heldB = fields(headerOf(c.received.first(), "history")).at(1).toInt();
    QVERIFY(heldB > 0 && heldB < 10);
    // The newest survive: room.b's last one is message 20.
    QVERIFY(c.waitForMessages(1 + heldB));
    QCOMPARE(fields(headerOf(c.received.last(), "position")).at(1), QByteArray("10"));
    // Reads of ever new channels make streams (each fixes its epoch); they count against the
    // cap too: the store does not grow past it.
    c.received.clear();
    for (int i = 0; i < 2000; ++i)
        c.send(lhttpMessage("h", {{"history", "room.n" + QByteArray::number(i) + " 1"}}));
    QVERIFY(c.waitForMessages(2000, 20000));
    QNetworkAccessManager nam;
    const QByteArray metrics =
        httpRequest(nam, "GET", QUrl(QStringLiteral("http://127.0.0.1:%1/metrics").arg(m_port)))
            .body;
    const qsizetype at = metrics.indexOf("\nlhttp_history_bytes ");
    QVERIFY(at >= 0);
    const qint64 bytes = metrics.mid(at + 21, metrics.indexOf('\n', at + 1) - at - 21).toLongLong();
    QVERIFY2(bytes <= 16 * 1024, QByteArray::number(bytes).constData());
}

// A subscriber recovers while another connection publishes as fast as it can (with
// LHTTP_THREADS=4, from other event loops): replayed and live messages join without a gap or
// a duplicate.
void tst_History::publishWhileRecovering() {
    const auto server = start({{"room.*", 100000, 0}});
    QVERIFY(server);
    WsClient pub;
    QVERIFY(pub.open(url()));
    constexpr int Total = 3000;
    int sent = 0;
    QTimer pump;
    connect(&pump, &QTimer::timeout, this, [&] {
        for (int i = 0; i < 50 && sent < Total; ++i)
            pub.send(publish("room.1", QByteArray::number(++sent)));
    });
    pump.start(1);
    QList<std::shared_ptr<WsClient>> subs;
    QByteArray epoch;
    for (int round = 0; round < 20 && sent < Total; ++round) {
        auto c = std::make_shared<WsClient>();
        QVERIFY(c->open(url()));
        if (epoch.isEmpty()) {
            c->send(subscribe("room.1", "room.1"));
            QVERIFY(c->waitForMessages(1));
            epoch = fields(headerOf(c->received.first(), "recovered")).at(4);
        } else {
            c->send(subscribe("room.1", "room.1 0 " + epoch));
        }
        subs.append(c);
        QTest::qWait(20);
    }
    QTRY_COMPARE_WITH_TIMEOUT(sent, Total, 20000);
    for (const auto &c : subs) {
        // Every one of them has 1..Total once, in order, after its recovered reply.
        QTRY_VERIFY_WITH_TIMEOUT(!c->received.isEmpty() &&
                                     fields(headerOf(c->received.last(), "position")).value(1) ==
                                         QByteArray::number(Total),
                                 20000);
        quint64 expected = 0;
        bool replyFirst = true;
        for (const QByteArray &m : std::as_const(c->received)) {
            const QByteArray rec = headerOf(m, "recovered");
            if (!rec.isEmpty()) {
                QVERIFY(replyFirst);
                QCOMPARE(fields(rec).at(1), QByteArray("true"));
                expected = fields(rec).at(3).toULongLong() - fields(rec).at(2).toULongLong();
                continue;
            }
            replyFirst = false;
            const quint64 offset = fields(headerOf(m, "position")).at(1).toULongLong();
            QCOMPARE(offset, expected + 1);
            expected = offset;
        }
        QCOMPARE(expected, quint64(Total));
    }
}

void tst_History::metricsAndHealth() {
    const auto server = start({{"room.*", 2, 0}});
    QVERIFY(server);
    WsClient c;
    QVERIFY(c.open(url()));
    c.send(subscribe("room.1", "room.1"));
    QVERIFY(c.waitForMessages(1));
    const QByteArray epoch = fields(headerOf(c.received.first(), "recovered")).at(4);
    for (int i = 0; i < 4; ++i)
        c.send(publish("room.1", "m"));
    QVERIFY(c.waitForMessages(5));
    c.send(subscribe("room.1", "room.1 3 " + epoch)); // recovered: 1 message
    c.send(subscribe("room.1", "room.1 1 " + epoch)); // not recovered: 2 was dropped
    c.send(lhttpMessage("h", {{"history", "room.1 5"}}));
    QVERIFY(c.waitForMessages(5 + 2 + 1 + 3));
    QNetworkAccessManager nam;
    const HttpResult metrics =
        httpRequest(nam, "GET", QUrl(QStringLiteral("http://127.0.0.1:%1/metrics").arg(m_port)));
    QCOMPARE(metrics.status, 200);
    for (const char *line :
         {"lhttp_history_channels 1\n", "lhttp_history_messages 2\n",
          "lhttp_history_recoveries_total{outcome=\"recovered\"} 2\n",
          "lhttp_history_recoveries_total{outcome=\"not_recovered\"} 1\n",
          "lhttp_history_recovered_messages_total 1\n", "lhttp_history_reads_total 1\n",
          "lhttp_history_read_messages_total 2\n"})
        QVERIFY2(metrics.body.contains(line), line);
    const HttpResult health =
        httpRequest(nam, "GET", QUrl(QStringLiteral("http://127.0.0.1:%1/healthz").arg(m_port)));
    QVERIFY2(health.body.contains("\"history\":{"), health.body.constData());
    QVERIFY(health.body.contains("\"store\":\"embedded\""));
    QVERIFY(health.body.contains("\"status\":\"ok\""));
}

// POST /publish goes the same way: numbered and stored, and a position of its own refused.
void tst_History::httpPublish() {
    const auto server = start({{"room.*", 10, 0}});
    QVERIFY(server);
    WsClient sub;
    QVERIFY(sub.open(url()));
    sub.send(subscribe("room.1"));
    QVERIFY(sub.sync());
    QNetworkAccessManager nam;
    const QUrl publishUrl(QStringLiteral("http://127.0.0.1:%1/publish").arg(m_port));
    QCOMPARE(httpRequest(nam, "POST", publishUrl, publish("room.1", "over http")).status, 200);
    QVERIFY(sub.waitForMessages(1));
    QCOMPARE(fields(headerOf(sub.received.first(), "position")).at(1), QByteArray("1"));
    const HttpResult forged = httpRequest(
        nam, "POST", publishUrl,
        lhttpMessage("chat", {{"publish", "room.1"}, {"position", "room.1 99 abc"}}, "x"));
    QCOMPARE(forged.status, 400);
    QVERIFY(forged.body.contains("position"));
    QVERIFY(sub.staysQuiet());
    // A plain channel may carry any header, `position` included, as before.
    WsClient plain;
    QVERIFY(plain.open(url()));
    plain.send(subscribe("lobby"));
    QVERIFY(plain.sync());
    QCOMPARE(httpRequest(nam, "POST", publishUrl,
                         lhttpMessage("chat", {{"publish", "lobby"}, {"position", "x"}}, "y"))
                 .status,
             200);
    QVERIFY(plain.waitForMessages(1));
}

namespace {

// One subscriber of the acceptance run: reconnects after every cut, recovering from the last
// position it saw; checks every message it is given is the next one.
class Recovering : public QObject {
public:
    // Connects to urls[0] first, then to the next one after every cut (the other node).
    Recovering(QList<QUrl> urls, QByteArray channel)
        : m_urls(std::move(urls))
        , m_channel(std::move(channel)) {
        connect(&m_socket, &QWebSocket::connected, this, [this] { sendSubscribe(); });
        connect(&m_socket, &QWebSocket::textMessageReceived, this,
                [this](const QString &text) { receive(text.toUtf8()); });
        connect(&m_socket, &QWebSocket::disconnected, this, [this] {
            ++cuts;
            retry();
        });
        // A node that is down refuses the connection: no `disconnected`, an error.
        connect(&m_socket, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), this,
                [this] {
                    if (m_socket.state() == QAbstractSocket::UnconnectedState)
                        retry();
                });
    }
    void connectNow() {
        if (!m_clock.isValid() || m_replied)
            m_clock.start(); // from the first attempt after a cut to the recovered reply
        m_replied = false;
        m_socket.open(m_urls.at(m_next++ % m_urls.size()));
    }
    // Back after a moment, as a phone would (once, however many signals said it).
    void retry() {
        if (m_stopped || m_retrying)
            return;
        m_retrying = true;
        QTimer::singleShot(int(QRandomGenerator::global()->bounded(50, 400)), this, [this] {
            m_retrying = false;
            connectNow();
        });
    }
    void stop() {
        m_stopped = true;
        m_socket.abort();
    }
    void abort() { m_socket.abort(); }
    // Makes the server close the connection: a frame over its hard limit (1009).
    void makeServerClose() {
        if (m_socket.state() == QAbstractSocket::ConnectedState)
            m_socket.sendBinaryMessage(QByteArray(1100 * 1024, 'x'));
    }
    bool live() const { return m_socket.state() == QAbstractSocket::ConnectedState; }

    quint64 last() const { return m_last; }
    QList<int> bodies;
    int errors = 0;
    int notRecovered = 0;
    int cuts = 0;
    int unavailable = 0; // 503 answers (history still loading), asked again
    QList<qint64> recoveryMs;
    QStringList problems;

private:
    void sendSubscribe() {
        m_socket.sendTextMessage(QString::fromUtf8(subscribe(
            m_channel, m_epoch.isEmpty()
                           ? m_channel
                           : m_channel + ' ' + QByteArray::number(m_last) + ' ' + m_epoch)));
    }
    void receive(const QByteArray &m) {
        if (headerOf(m, "code") == "503") {
            // A restarted node still reading the cluster's history: nothing was applied, ask
            // again in a moment (as the SDKs do).
            ++unavailable;
            QTimer::singleShot(int(QRandomGenerator::global()->bounded(100, 300)), this, [this] {
                if (m_socket.state() == QAbstractSocket::ConnectedState)
                    sendSubscribe();
            });
            return;
        }
        const QByteArray rec = headerOf(m, "recovered");
        if (!rec.isEmpty()) {
            const QList<QByteArray> f = fields(rec);
            m_replied = true;
            recoveryMs.append(m_clock.elapsed());
            if (f.value(1) != "true") {
                ++notRecovered;
                problems << QStringLiteral("not recovered: ") + QString::fromUtf8(rec);
            }
            if (m_epoch.isEmpty()) {
                m_epoch = f.value(4);
                m_last = f.value(3).toULongLong();
            }
            return;
        }
        const QByteArray pos = headerOf(m, "position");
        if (pos.isEmpty()) {
            ++errors;
            if (problems.size() < 5)
                problems << QStringLiteral("unexpected: ") + QString::fromUtf8(m.left(120));
            return;
        }
        const quint64 offset = fields(pos).value(1).toULongLong();
        if (offset != m_last + 1 && problems.size() < 5)
            problems << QStringLiteral("offset %1 after %2").arg(offset).arg(m_last);
        m_last = offset;
        bodies.append(bodyOf(m).toInt());
    }

    QList<QUrl> m_urls;
    int m_next = 0;
    bool m_replied = true;
    bool m_retrying = false;
    QByteArray m_channel;
    QWebSocket m_socket;
    QByteArray m_epoch;
    quint64 m_last = 0;
    bool m_stopped = false;
    QElapsedTimer m_clock;
};

qint64 percentile(QList<qint64> v, double p) {
    if (v.isEmpty())
        return 0;
    std::sort(v.begin(), v.end());
    return v.at(std::min(v.size() - 1, qsizetype(p * double(v.size()))));
}

} // namespace

namespace {

struct ChurnFigures {
    int complete = 0;
    int cuts = 0;
    int notRecovered = 0;
    int errors = 0;
    qint64 sendMs = 0;
    QList<qint64> recoveryMs;
};

// 1 publisher sends `total` numbered messages at about 1,000/s to a history channel through
// `publishTo`; 50 recovering subscribers (connecting to `nodes` in turn) are cut every 400 ms
// at random (4 at a time, half by the client aborting, half by the server closing after an
// oversized frame; every fifth time half of them at once). `during(sent)` runs on every pump
// tick (a node killed and restarted). Returns once every subscriber has the last message.
ChurnFigures churn(const QList<QUrl> &nodes, const QUrl &publishTo, int total,
                   const std::function<void(int sent)> &during) {
    constexpr int Subscribers = 50;
    ChurnFigures out;
    std::vector<std::unique_ptr<Recovering>> subs;
    for (int i = 0; i < Subscribers; ++i) {
        QList<QUrl> order = nodes;
        std::rotate(order.begin(), order.begin() + (i % nodes.size()), order.end());
        subs.push_back(std::make_unique<Recovering>(order, "room.churn"));
        subs.back()->connectNow();
    }
    if (!QTest::qWaitFor(
            [&] {
                return std::all_of(subs.begin(), subs.end(),
                                   [](const auto &s) { return s->recoveryMs.size() == 1; });
            },
            15000)) {
        qWarning("subscribers did not all subscribe");
        return out;
    }
    WsClient pub;
    if (!pub.open(publishTo))
        return out;
    int sent = 0;
    QTimer pump;
    QObject::connect(&pump, &QTimer::timeout, [&] {
        for (int i = 0; i < 10 && sent < total; ++i)
            pub.send(publish("room.churn", QByteArray::number(++sent)));
        if (during)
            during(sent);
    });
    QElapsedTimer run;
    run.start();
    pump.start(10); // ~1,000 a second
    QTimer cutter;
    int cutRound = 0;
    QObject::connect(&cutter, &QTimer::timeout, [&] {
        ++cutRound;
        auto *random = QRandomGenerator::global();
        if (cutRound % 5 == 0) {
            for (int i = 0; i < Subscribers; i += 2)
                subs[size_t(i)]->abort();
            return;
        }
        for (int k = 0; k < 4; ++k) {
            Recovering &s = *subs[size_t(random->bounded(Subscribers))];
            if (random->bounded(2))
                s.abort();
            else
                s.makeServerClose();
        }
    });
    cutter.start(400);
    if (!QTest::qWaitFor([&] { return sent == total; }, 40000))
        qWarning("the publisher did not finish");
    cutter.stop();
    out.sendMs = run.elapsed();
    if (!QTest::qWaitFor(
            [&] {
                return std::all_of(subs.begin(), subs.end(), [&](const auto &s) {
                    return s->last() >= quint64(total) || s->notRecovered > 0;
                });
            },
            40000))
        qWarning("not every subscriber reached the last message");
    QList<int> expected(total);
    std::iota(expected.begin(), expected.end(), 1);
    for (const auto &s : subs) {
        s->stop();
        out.cuts += s->cuts;
        out.notRecovered += s->notRecovered;
        out.errors += s->errors;
        out.recoveryMs += s->recoveryMs.mid(1); // the first one is the initial subscribe
        if (s->bodies == expected)
            ++out.complete;
        else
            qWarning() << "subscriber got" << s->bodies.size() << "messages;" << s->problems;
    }
    return out;
}

QString describe(const char *what, int total, const ChurnFigures &f) {
    return QStringLiteral("%1: %2 messages in %3 ms; %4/50 subscribers complete (all %2, in "
                          "order, once); %5 cuts, %6 not recovered; recovery time p50 %7 ms, "
                          "p99 %8 ms")
        .arg(QLatin1String(what))
        .arg(total)
        .arg(f.sendMs)
        .arg(f.complete)
        .arg(f.cuts)
        .arg(f.notRecovered)
        .arg(percentile(f.recoveryMs, 0.5))
        .arg(percentile(f.recoveryMs, 0.99));
}

} // namespace

// The acceptance run on the embedded broker: 10,000 messages, 50 subscribers cut at
// random; each ends with all of them, in order, once.
void tst_History::recoveryUnderChurn() {
    LhttpdProcess node;
    QVERIFY(node.start({QStringLiteral("--history"), QStringLiteral("room.*=20000")}));
    constexpr int Total = 10'000;
    const ChurnFigures f = churn({node.wsUrl()}, node.wsUrl(), Total, {});
    qInfo().noquote() << describe("embedded churn", Total, f);
    QCOMPARE(f.complete, 50);
    QCOMPARE(f.notRecovered, 0);
    QCOMPARE(f.errors, 0);
    QVERIFY(f.cuts >= 50);
    QVERIFY(node.stop());
}

// The same with two lhttpd-qt nodes and a nats-server with JetStream: subscribers reconnect to
// the other node after every cut, and node B is killed (SIGKILL) after 3,000 messages and
// started again after 6,000; its subscribers recover on node A meanwhile.
void tst_History::clusterRecoveryUnderChurn() {
    QTemporaryDir store;
    NatsServer nats;
    nats.setJetStream(store.path());
    if (!nats.start())
        QSKIP("nats-server with JetStream could not be started");
    const QStringList args = {QStringLiteral("--nats"), nats.url(), QStringLiteral("--history"),
                              QStringLiteral("room.*=20000")};
    LhttpdProcess a, b;
    QVERIFY(a.start(args));
    QVERIFY(b.start(args));
    // Both have read the stream: history is served.
    QNetworkAccessManager nam;
    for (LhttpdProcess *n : {&a, &b}) {
        QTRY_VERIFY_WITH_TIMEOUT(httpRequest(nam, "GET", n->httpUrl(QStringLiteral("/healthz")))
                                     .body.contains("\"ready\":true"),
                                 15000);
    }
    constexpr int Total = 10'000;
    bool killed = false, restarted = false;
    QElapsedTimer down;
    const ChurnFigures f = churn({a.wsUrl(), b.wsUrl()}, a.wsUrl(), Total, [&](int sent) {
        if (!killed && sent >= 3000) {
            killed = true;
            b.sendSignal(SIGKILL);
            down.start();
        } else if (killed && !restarted && sent >= 6000) {
            restarted = true;
            b.waitForExit(5000);
            if (!b.start(args))
                qWarning("node B did not start again");
        }
    });
    qInfo().noquote() << describe("cluster churn (2 nodes, JetStream, node B killed and restarted)",
                                  Total, f);
    QVERIFY(killed && restarted);
    QCOMPARE(f.complete, 50);
    QCOMPARE(f.notRecovered, 0);
    QCOMPARE(f.errors, 0);
    QVERIFY(f.cuts >= 50);
    QVERIFY(a.stop());
    QVERIFY(b.stop());
}

QTEST_MAIN(tst_History)
#include "tst_history.moc"

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// lhttp::Client against a real in-process Server on loopback, and publishHttp() against a
// real lhttpd-qt process.

#include "adminkick.h"
#include "client.h"
#include "httppublisher.h"
#include "lhttpdprocess.h"
#include "ports.h"
#include "server.h"
#include "tlsnode.h"
#include "token.h"
#include "wsclient.h"

#include <QDateTime>

#include <QNetworkAccessManager>
#include <QSignalSpy>
#include <QSslSocket>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

#include <memory>

using namespace lhttp;

namespace {

using testports::freePort;
using testtls::makeCertificate;
using testtls::TlsNode;

QUrl wsUrl(quint16 port) {
    return QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port));
}

Message messageAt(const QSignalSpy &spy, int i) {
    return spy.at(i).at(0).value<Message>();
}

QByteArrayList headerList(const Message &m) {
    QByteArrayList out;
    for (const auto &h : m.headers())
        out.append(h.name.toByteArray() + ':' + h.value.toByteArray());
    return out;
}

} // namespace

class tst_Client : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();

    void publishAndSubscribe();
    void messageOutlivesSignal();
    void nonUtf8TravelsAsBinary();
    void errorRepliesGoToErrorSignal();
    void invalidInputIsRefusedLocally();
    void subscribeBeforeOpen();
    void unsubscribeAndSendTracksChannels();
    void reconnectResubscribes();
    void backoffGrowsWithJitterAndCloseStops();
    void noAutoReconnect();
    void gracefulClose();
    void stateProperty();

    void historyRecoverAfterKick();
    void historyNotRecoveredAfterOverflow();
    void historyRecoverRefused();
    void historyRead();
    void historyReadErrors();

    void presenceListAndStats();
    void presenceEvents();
    void presenceKeptOnReconnect();
    void presenceErrors();

    void publishHttpToLhttpd();
    void tlsTrust_data();
    void tlsTrust();

private:
    bool startServer(quint16 port = 0);
    bool connectClient(Client &c, quint16 port = 0);
    bool sync(Client &c);

    std::unique_ptr<Server> server;
    std::unique_ptr<QTemporaryDir> m_certificates; // made once, by tlsTrust_data()
};

bool tst_Client::startServer(quint16 port) {
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = port;
    server = std::make_unique<Server>(o);
    return server->listen();
}

void tst_Client::init() {
    QVERIFY(startServer());
}

void tst_Client::cleanup() {
    server.reset();
}

bool tst_Client::connectClient(Client &c, quint16 port) {
    c.open(wsUrl(port ? port : server->serverPort()));
    QSignalSpy spy(&c, &Client::connected);
    return c.isConnected() || spy.wait(5000);
}

// A ping round trip: everything sent before has been handled by the server.
bool tst_Client::sync(Client &c) {
    QSignalSpy pong(&c, &Client::pong);
    return c.ping("sync") && pong.wait(5000);
}

void tst_Client::publishAndSubscribe() {
    Client a, b;
    QVERIFY(connectClient(a));
    QVERIFY(connectClient(b));
    QSignalSpy received(&a, &Client::messageReceived);
    QSignalSpy errors(&a, &Client::errorReceived);
    QVERIFY(a.subscribe({"room", "other"}));
    QVERIFY(sync(a));
    QCOMPARE(server->subscriptionCount(), 2);

    // Header values with ':' and a body with a blank line survive; order is kept.
    QVERIFY(
        b.publish({"room"}, "chat", {{"k", "v:w"}, {"content-type", "json"}}, "hello\r\n\r\nbody"));
    QTRY_COMPARE(received.count(), 1);
    const Message m = messageAt(received, 0);
    QCOMPARE(m.command(), QByteArrayView("chat"));
    QCOMPARE(headerList(m), QByteArrayList({"publish:room", "k:v:w", "content-type:json"}));
    QCOMPARE(m.header("k"), QByteArrayView("v:w"));
    QCOMPARE(m.body(), QByteArrayView("hello\r\n\r\nbody"));
    QCOMPARE(m.toBytes(), QByteArray("LHTTP/1.0 chat\r\npublish:room\r\nk:v:w\r\n"
                                     "content-type:json\r\n\r\nhello\r\n\r\nbody"));

    // One copy per listed channel; the short overload; the sender gets nothing.
    QSignalSpy bReceived(&b, &Client::messageReceived);
    QVERIFY(b.publish({"room", "other"}, "chat", {}, "twice"));
    QVERIFY(b.publish("room", "note", "short"));
    QTRY_COMPARE(received.count(), 4);
    QCOMPARE(messageAt(received, 3).command(), QByteArrayView("note"));
    QCOMPARE(messageAt(received, 3).body(), QByteArrayView("short"));
    QVERIFY(sync(b));
    QCOMPARE(bReceived.count(), 0);
    QCOMPARE(errors.count(), 0);
}

void tst_Client::messageOutlivesSignal() {
    // The Message handed to a slot owns its bytes: keeping a copy past the signal, and past
    // the next messages, is safe (this test is meant to run under ASan too).
    Client a, b;
    QVERIFY(connectClient(a));
    QVERIFY(connectClient(b));
    QList<Message> kept;
    connect(&a, &Client::messageReceived, this, [&](const Message &m) { kept.append(m); });
    QVERIFY(a.subscribe({"keep"}));
    QVERIFY(sync(a));
    for (int i = 0; i < 20; ++i)
        QVERIFY(b.publish({"keep"}, "n", {{"i", QByteArray::number(i)}}, QByteArray(i * 10, 'x')));
    QTRY_COMPARE(kept.size(), 20);
    for (int i = 0; i < 20; ++i) {
        QCOMPARE(kept.at(i).header("i"), QByteArrayView(QByteArray::number(i)));
        QCOMPARE(kept.at(i).body().size(), i * 10);
    }
}

void tst_Client::nonUtf8TravelsAsBinary() {
    Client a, b;
    QVERIFY(connectClient(a));
    QVERIFY(connectClient(b));
    QSignalSpy received(&a, &Client::messageReceived);
    QVERIFY(a.subscribe({"bin"}));
    QVERIFY(sync(a));
    const QByteArray body("\xff\x00\xfe text \xc3\xa9", 11);
    QVERIFY(b.publish({"bin"}, "blob", {}, body));
    QTRY_COMPARE(received.count(), 1);
    QCOMPARE(messageAt(received, 0).body(), QByteArrayView(body));
}

void tst_Client::errorRepliesGoToErrorSignal() {
    Client a;
    QVERIFY(connectClient(a));
    QSignalSpy errors(&a, &Client::errorReceived);
    QSignalSpy received(&a, &Client::messageReceived);
    QSignalSpy invalid(&a, &Client::invalidMessageReceived);
    // A wildcard passes the client (servers may allow them) and is refused by this one.
    QVERIFY(a.subscribe({">"}));
    QVERIFY(errors.wait());
    QCOMPARE(errors.at(0).at(0).toInt(), 403);
    QVERIFY(!errors.at(0).at(1).toByteArray().isEmpty());
    QVERIFY(a.sendRaw("not lhttp at all"));
    QTRY_COMPARE(errors.count(), 2);
    QCOMPARE(errors.at(1).at(0).toInt(), 400);
    QVERIFY(errors.at(1).at(1).toByteArray().contains("LHTTP/1.0"));
    QVERIFY(sync(a));
    QCOMPARE(received.count(), 0);
    QCOMPARE(invalid.count(), 0);
    QVERIFY(a.isConnected());

    // A published message whose command is "error" is a message, not an error reply.
    Client b;
    QVERIFY(connectClient(b));
    QVERIFY(a.unsubscribe({">"}));
    QVERIFY(a.subscribe({"errs"}));
    QVERIFY(sync(a));
    QVERIFY(b.publish({"errs"}, "error", {{"code", "500"}}, "just a chat message"));
    QTRY_COMPARE(received.count(), 1);
    QCOMPARE(errors.count(), 2);
}

void tst_Client::invalidInputIsRefusedLocally() {
    Client a;
    QSignalSpy serverMessages(server.get(), &Server::messageReceived);
    // Not connected: publish fails, subscribe is remembered for later.
    QVERIFY(!a.publish({"room"}, "chat", {}, "x"));
    QCOMPARE(a.errorString(), QStringLiteral("not connected"));
    QVERIFY(!a.ping());
    QVERIFY(connectClient(a));

    auto refused = [&](bool ok, const char *what) {
        QVERIFY2(!ok, what);
        QVERIFY2(!a.errorString().isEmpty(), what);
    };
    refused(a.publish({"a b"}, "chat", {}, "x"), "space in channel");
    QVERIFY(a.errorString().contains(QStringLiteral("invalid channel")));
    refused(a.publish({""}, "chat", {}, "x"), "empty channel");
    refused(a.publish(QByteArrayList{}, "chat", {}, "x"), "no channel");
    refused(a.publish({"a..b"}, "chat", {}, "x"), "empty token");
    refused(a.publish({">"}, "chat", {}, "x"), "publish to a wildcard");
    refused(a.publish({"ok"}, "two words", {}, "x"), "space in command");
    refused(a.publish({"ok"}, "", {}, "x"), "empty command");
    refused(a.publish({"ok"}, "chat", {{"k", "v\r\ninjected:1"}}, "x"), "CRLF in value");
    refused(a.publish({"ok"}, "chat", {{"a:b", "v"}}, "x"), "colon in name");
    refused(a.publish({"ok"}, "chat", {{"", "v"}}, "x"), "empty name");
    refused(a.subscribe({"x y"}), "space in subscribe");
    refused(a.subscribe({}), "subscribe nothing");
    QVERIFY(a.channels().isEmpty());

    QString why;
    QCOMPARE(buildPublishMessage({"a", "b"}, "chat", {{"k", "v"}}, "body", &why),
             QByteArray("LHTTP/1.0 chat\r\npublish:a b\r\nk:v\r\n\r\nbody"));
    QVERIFY(sync(a));
    QCOMPARE(serverMessages.count(), 0); // nothing invalid went out
}

void tst_Client::subscribeBeforeOpen() {
    Client a;
    QSignalSpy received(&a, &Client::messageReceived);
    QVERIFY(a.subscribe({"early", "bird"}));
    QCOMPARE(a.channels(), QByteArrayList({"early", "bird"}));
    QVERIFY(connectClient(a));
    QVERIFY(sync(a));
    QCOMPARE(server->subscriptionCount(), 2);
    WsClient w;
    QVERIFY(w.open(wsUrl(server->serverPort())));
    w.send("LHTTP/1.0 chat\r\npublish:early\r\n\r\nfirst");
    QTRY_COMPARE(received.count(), 1);
    QCOMPARE(messageAt(received, 0).body(), QByteArrayView("first"));
}

void tst_Client::unsubscribeAndSendTracksChannels() {
    Client a;
    QVERIFY(connectClient(a));
    QVERIFY(a.subscribe({"one", "two", "three"}));
    QVERIFY(a.unsubscribe({"two"}));
    QCOMPARE(a.channels(), QByteArrayList({"one", "three"}));
    // Channels joined or left through raw messages are tracked as well.
    QVERIFY(a.sendRaw("LHTTP/1.0 chat\r\nsubscribe:four five\r\nunsubscribe:one\r\n\r\n"));
    Message m("chat");
    m.addHeader("unsubscribe", "five");
    QVERIFY(a.send(m));
    QCOMPARE(a.channels(), QByteArrayList({"three", "four"}));
    QVERIFY(sync(a));
    QCOMPARE(server->subscriptionCount(), 2);
}

void tst_Client::reconnectResubscribes() {
    const quint16 port = freePort();
    QVERIFY(startServer(port));
    Client a;
    a.setReconnectDelays(20, 200);
    QSignalSpy connectedSpy(&a, &Client::connected);
    QSignalSpy disconnectedSpy(&a, &Client::disconnected);
    QSignalSpy received(&a, &Client::messageReceived);
    QVERIFY(connectClient(a, port));
    QVERIFY(a.subscribe({"a", "b"}, "join"));
    QVERIFY(a.subscribe({"c"}));
    QVERIFY(a.unsubscribe({"c"}));
    QVERIFY(sync(a));
    QCOMPARE(server->subscriptionCount(), 2);

    // The server goes away: the client notices and keeps trying.
    server.reset();
    QTRY_COMPARE(disconnectedSpy.count(), 1);
    QTRY_COMPARE(a.state(), Client::State::Reconnecting);
    QSignalSpy failures(&a, &Client::connectionFailed);
    QTRY_VERIFY(failures.count() >= 2);

    // Back on the same port: the client reconnects and joins its channels again, with the
    // command it had used for them.
    QVERIFY(startServer(port));
    QSignalSpy commands(server.get(), &Server::messageReceived);
    QTRY_COMPARE_WITH_TIMEOUT(a.state(), Client::State::Connected, 5000);
    QCOMPARE(connectedSpy.count(), 2);
    QVERIFY(sync(a));
    QCOMPARE(server->subscriptionCount(), 2);
    QCOMPARE(commands.count(), 1);
    QCOMPARE(commands.at(0).at(1).toByteArray(), QByteArray("join"));

    WsClient w;
    QVERIFY(w.open(wsUrl(port)));
    w.send("LHTTP/1.0 chat\r\npublish:a\r\n\r\nto a");
    w.send("LHTTP/1.0 chat\r\npublish:b\r\n\r\nto b");
    w.send("LHTTP/1.0 chat\r\npublish:c\r\n\r\nnot for us");
    QTRY_COMPARE(received.count(), 2);
    QCOMPARE(messageAt(received, 0).body(), QByteArrayView("to a"));
    QCOMPARE(messageAt(received, 1).body(), QByteArrayView("to b"));
    QVERIFY(w.sync());
    QVERIFY(sync(a));
    QCOMPARE(received.count(), 2);
}

void tst_Client::backoffGrowsWithJitterAndCloseStops() {
    const quint16 port = freePort(); // nothing listens there
    Client a;
    const int minMs = 10, maxMs = 80;
    a.setReconnectDelays(minMs, maxMs);
    QCOMPARE(a.minReconnectDelay(), minMs);
    QCOMPARE(a.maxReconnectDelay(), maxMs);
    QSignalSpy scheduled(&a, &Client::reconnectScheduled);
    QSignalSpy failures(&a, &Client::connectionFailed);
    a.open(wsUrl(port));
    QTRY_VERIFY_WITH_TIMEOUT(scheduled.count() >= 7, 10000);
    for (int i = 0; i < 7; ++i) {
        const int delay = scheduled.at(i).at(0).toInt();
        QCOMPARE(scheduled.at(i).at(1).toInt(), i + 1);
        const int ceiling = qMin(maxMs, minMs << i);
        const int floor = qMax(minMs, ceiling / 2);
        QVERIFY2(delay >= floor && delay <= ceiling,
                 qPrintable(QStringLiteral("attempt %1: %2 ms not in [%3, %4]")
                                .arg(i + 1)
                                .arg(delay)
                                .arg(floor)
                                .arg(ceiling)));
    }
    QVERIFY(failures.count() >= 7);
    QVERIFY(a.errorString().contains(QStringLiteral("refused"), Qt::CaseInsensitive));

    a.close();
    QCOMPARE(a.state(), Client::State::Disconnected);
    const int before = int(scheduled.count());
    QTest::qWait(3 * maxMs);
    QCOMPARE(int(scheduled.count()), before);
    QCOMPARE(a.state(), Client::State::Disconnected);
}

void tst_Client::noAutoReconnect() {
    Client a;
    a.setAutoReconnect(false);
    QSignalSpy failures(&a, &Client::connectionFailed);
    QSignalSpy scheduled(&a, &Client::reconnectScheduled);
    a.open(wsUrl(freePort()));
    QVERIFY(failures.wait());
    QCOMPARE(a.state(), Client::State::Disconnected);
    QVERIFY(
        failures.at(0).at(0).toString().contains(QStringLiteral("refused"), Qt::CaseInsensitive));
    QCOMPARE(scheduled.count(), 0);

    // A drop after a connection is reported once and not retried either.
    QVERIFY(connectClient(a));
    QSignalSpy disconnectedSpy(&a, &Client::disconnected);
    server->close();
    QVERIFY(disconnectedSpy.wait());
    QCOMPARE(a.state(), Client::State::Disconnected);
    QTest::qWait(100);
    QCOMPARE(scheduled.count(), 0);
}

void tst_Client::gracefulClose() {
    Client a;
    QVERIFY(connectClient(a));
    QTRY_COMPARE(server->sessionCount(), 1);
    QSignalSpy disconnectedSpy(&a, &Client::disconnected);
    a.close();
    // QWebSocket may finish the close at once when the close frame could be written at once.
    QVERIFY(a.state() == Client::State::Closing || a.state() == Client::State::Disconnected);
    QTRY_COMPARE(disconnectedSpy.count(), 1);
    QCOMPARE(a.state(), Client::State::Disconnected);
    QTRY_COMPARE(server->sessionCount(), 0);
    // Reopening works and keeps the channels.
    QVERIFY(a.subscribe({"again"}));
    QVERIFY(connectClient(a));
    QVERIFY(sync(a));
    QCOMPARE(server->subscriptionCount(), 1);
    // open() on an open client abandons the old connection for a new one.
    QVERIFY(connectClient(a));
    QVERIFY(sync(a));
    QTRY_COMPARE(server->sessionCount(), 1);
    QCOMPARE(server->subscriptionCount(), 1);
}

void tst_Client::stateProperty() {
    Client a;
    const QMetaProperty p = a.metaObject()->property(a.metaObject()->indexOfProperty("state"));
    QVERIFY(p.isValid());
    QVERIFY(p.hasNotifySignal());
    QVERIFY(p.isEnumType());
    QCOMPARE(QByteArray(p.enumerator().valueToKey(int(Client::State::Reconnecting))),
             QByteArray("Reconnecting"));
    QSignalSpy states(&a, &Client::stateChanged);
    QVERIFY(connectClient(a));
    a.close();
    QTRY_COMPARE(a.property("state").value<Client::State>(), Client::State::Disconnected);
    QList<Client::State> seen;
    for (const auto &args : states)
        seen.append(args.at(0).value<Client::State>());
    QCOMPARE(seen, QList<Client::State>({Client::State::Connecting, Client::State::Connected,
                                         Client::State::Closing, Client::State::Disconnected}));
}

namespace {

const QByteArray AdminToken = "t0ken";

// An lhttpd-qt node with history channels `room.*` (SIZE messages) and an admin endpoint to
// kick clients with.
bool startHistoryNode(LhttpdProcess &node, int size, const QStringList &more = {}) {
    return node.start(QStringList{QStringLiteral("--history"),
                                  QStringLiteral("room.*=%1").arg(size),
                                  QStringLiteral("--admin-token"), QString::fromLatin1(AdminToken),
                                  QStringLiteral("--log-level"), QStringLiteral("warning")} +
                      more);
}

QByteArrayList bodies(const QSignalSpy &spy) {
    QByteArrayList out;
    for (const auto &args : spy)
        out.append(args.at(0).value<Message>().body().toByteArray());
    return out;
}

QByteArrayList bodies(const QList<Message> &messages) {
    QByteArrayList out;
    for (const Message &m : messages)
        out.append(m.body().toByteArray());
    return out;
}

// Waits for recovered() number `n` (from 1) and returns its arguments.
QVariantList waitForRecovered(QSignalSpy &spy, int n) {
    if (!QTest::qWaitFor([&] { return spy.count() >= n; }, 10000))
        return {};
    return spy.at(n - 1);
}

// The reply stays after finished(), for the test to look at and delete.
HistoryReply *kept(HistoryReply *reply) {
    reply->setAutoDelete(false);
    return reply;
}

// A finished reply (it stays: no auto-delete).
bool waitFinished(HistoryReply *reply) {
    reply->setAutoDelete(false);
    return QTest::qWaitFor([&] { return reply->isFinished(); }, 10000);
}

} // namespace

// The node closes the client's connection (an administrator's kick) while messages are
// published: after its reconnect the client recovers them, delivers them in order and once,
// and live messages follow without a gap or a double.
void tst_Client::historyRecoverAfterKick() {
    LhttpdProcess node;
    QVERIFY(startHistoryNode(node, 100));
    Client a;
    a.setReconnectDelays(600, 1000); // time to publish while it is away
    QSignalSpy received(&a, &Client::messageReceived);
    QSignalSpy recovered(&a, &Client::recovered);
    QSignalSpy connectedSpy(&a, &Client::connected);
    QSignalSpy disconnectedSpy(&a, &Client::disconnected);
    QSignalSpy pongs(&a, &Client::pong);
    QSignalSpy errors(&a, &Client::errorReceived);
    QVERIFY(a.subscribeWithRecovery({"room.1"}));
    QVERIFY(a.subscribe({"plain"}));
    QCOMPARE(a.recoveringChannels(), QByteArrayList({"room.1"}));
    QVERIFY(!a.hasPosition("room.1"));
    a.open(node.wsUrl());
    // First join: `recover:room.1` without a position tells the current one.
    QVariantList r = waitForRecovered(recovered, 1);
    QCOMPARE(r, QVariantList({QByteArray("room.1"), true, 0}));
    QVERIFY(a.hasPosition("room.1"));
    QCOMPARE(a.position("room.1").offset, 0u);
    const QByteArray epoch = a.position("room.1").epoch;
    QVERIFY(!epoch.isEmpty());

    WsClient w;
    QVERIFY(w.open(node.wsUrl()));
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\none");
    w.send("LHTTP/1.0 chat\r\npublish:plain\r\n\r\nplain one");
    QTRY_COMPARE(received.count(), 2);
    QCOMPARE(messageAt(received, 0).headers().first().name, QByteArrayView("position"));
    QCOMPARE(messageAt(received, 0).headers().first().value, QByteArrayView("room.1 1 " + epoch));
    QCOMPARE(a.position("room.1").offset, 1u);
    QVERIFY(!a.hasPosition("plain"));

    QCOMPARE(testadmin::kickSubscribers(node.wsUrl(QStringLiteral("/admin")), AdminToken, "room.1"),
             1);
    QTRY_COMPARE(disconnectedSpy.count(), 1);
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\ntwo");
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nthree");
    w.send("LHTTP/1.0 chat\r\npublish:plain\r\n\r\nplain lost");
    QVERIFY(w.sync());
    QCOMPARE(a.state(), Client::State::Reconnecting); // they were published while it was away

    r = waitForRecovered(recovered, 2);
    QCOMPARE(r, QVariantList({QByteArray("room.1"), true, 2}));
    QCOMPARE(connectedSpy.count(), 2);
    // recovered() comes after the replayed messages.
    QCOMPARE(bodies(received), QByteArrayList({"one", "plain one", "two", "three"}));
    QCOMPARE(a.position("room.1").offset, 3u);
    QCOMPARE(a.position("room.1").epoch, epoch);

    QVERIFY(sync(a)); // the plain channel is joined again too
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nfour");
    w.send("LHTTP/1.0 chat\r\npublish:plain\r\n\r\nplain two");
    QTRY_COMPARE(received.count(), 6);
    QVERIFY(sync(a));
    QCOMPARE(bodies(received),
             QByteArrayList({"one", "plain one", "two", "three", "four", "plain two"}));
    QCOMPARE(a.position("room.1").offset, 4u);
    // The client's own pings after recover messages never show as pong().
    for (const auto &args : pongs)
        QCOMPARE(args.at(1).toByteArray(), QByteArray("sync"));
    QCOMPARE(errors.count(), 0);
    QCOMPARE(recovered.count(), 2);

    // Unsubscribing ends the recovery of the channel.
    QVERIFY(a.unsubscribe({"room.1"}));
    QVERIFY(a.recoveringChannels().isEmpty());
}

// More than SIZE messages were published while the client was away: the history no longer
// holds the one after its position, so recovery is incomplete, and the client continues from
// the channel's position without replaying anything.
void tst_Client::historyNotRecoveredAfterOverflow() {
    LhttpdProcess node;
    QVERIFY(startHistoryNode(node, 3));
    Client a;
    a.setReconnectDelays(600, 1000);
    QSignalSpy received(&a, &Client::messageReceived);
    QSignalSpy recovered(&a, &Client::recovered);
    QSignalSpy disconnectedSpy(&a, &Client::disconnected);
    QVERIFY(a.subscribeWithRecovery({"room.1", "room.2"}));
    a.open(node.wsUrl());
    QVERIFY(!waitForRecovered(recovered, 2).isEmpty());
    WsClient w;
    QVERIFY(w.open(node.wsUrl()));
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nseen");
    QTRY_COMPARE(received.count(), 1);

    QCOMPARE(testadmin::kickSubscribers(node.wsUrl(QStringLiteral("/admin")), AdminToken, "room.1"),
             1);
    QTRY_COMPARE(disconnectedSpy.count(), 1);
    for (int i = 1; i <= 5; ++i)
        w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nlost " + QByteArray::number(i));
    w.send("LHTTP/1.0 chat\r\npublish:room.2\r\n\r\nkept");
    QVERIFY(w.sync());
    QCOMPARE(a.state(), Client::State::Reconnecting);

    QVERIFY(!waitForRecovered(recovered, 4).isEmpty());
    QCOMPARE(recovered.at(2), QVariantList({QByteArray("room.1"), false, 0}));
    QCOMPARE(recovered.at(3), QVariantList({QByteArray("room.2"), true, 1}));
    QCOMPARE(bodies(received), QByteArrayList({"seen", "kept"}));
    QCOMPARE(a.position("room.1").offset, 6u); // where the channel is now

    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nlive");
    QTRY_COMPARE(received.count(), 3);
    QCOMPARE(messageAt(received, 2).body(), QByteArrayView("live"));
    QCOMPARE(a.position("room.1").offset, 7u);

    // A restarted node is a new epoch: nothing can be recovered across it.
    const QByteArray oldEpoch = a.position("room.1").epoch;
    const quint16 port = node.port();
    QVERIFY(node.stop());
    QTRY_COMPARE(disconnectedSpy.count(), 2);
    QVERIFY(node.startAsGiven({QStringLiteral("--listen"), QStringLiteral("127.0.0.1"),
                               QStringLiteral("--port"), QString::number(port),
                               QStringLiteral("--history"), QStringLiteral("room.*=3")}));
    QVERIFY(!waitForRecovered(recovered, 6).isEmpty());
    QCOMPARE(recovered.at(4), QVariantList({QByteArray("room.1"), false, 0}));
    QCOMPARE(recovered.at(5), QVariantList({QByteArray("room.2"), false, 0}));
    QVERIFY(a.position("room.1").epoch != oldEpoch);
    QCOMPARE(a.position("room.1").offset, 0u);
}

// A recover the node refuses (a channel without history: 404) comes through errorReceived();
// the client joins the channel without recovery and reports it as not recovered.
void tst_Client::historyRecoverRefused() {
    LhttpdProcess node;
    QVERIFY(startHistoryNode(node, 10));
    Client a;
    QSignalSpy received(&a, &Client::messageReceived);
    QSignalSpy recovered(&a, &Client::recovered);
    QSignalSpy errors(&a, &Client::errorReceived);
    QVERIFY(!a.subscribeWithRecovery({"room.*"})); // wildcards cannot be recovered
    QVERIFY(a.errorString().contains(QStringLiteral("wildcard")));
    QVERIFY(connectClient(a, node.port()));
    QVERIFY(a.subscribeWithRecovery({"plain"}));
    QCOMPARE(waitForRecovered(recovered, 1), QVariantList({QByteArray("plain"), false, 0}));
    QCOMPARE(errors.count(), 1);
    QCOMPARE(errors.at(0).at(0).toInt(), 404);
    QVERIFY(a.errorString().contains(QStringLiteral("404")));
    QVERIFY(sync(a));
    WsClient w;
    QVERIFY(w.open(node.wsUrl()));
    w.send("LHTTP/1.0 chat\r\npublish:plain\r\n\r\nstill joined");
    QTRY_COMPARE(received.count(), 1);
}

// history(): the last N messages, or those after a position, without subscribing.
void tst_Client::historyRead() {
    LhttpdProcess node;
    QVERIFY(startHistoryNode(node, 100));
    WsClient w;
    QVERIFY(w.open(node.wsUrl()));
    for (int i = 1; i <= 5; ++i)
        w.send("LHTTP/1.0 chat\r\npublish:room.7\r\nk:v\r\n\r\nm" + QByteArray::number(i));
    QVERIFY(w.sync());

    Client a;
    QSignalSpy received(&a, &Client::messageReceived);
    QVERIFY(connectClient(a, node.port()));
    HistoryReply *last = a.history("room.7", 3);
    QCOMPARE(last->channel(), QByteArray("room.7"));
    QSignalSpy done(last, &HistoryReply::finished);
    QVERIFY(waitFinished(last));
    QCOMPARE(done.count(), 1);
    QVERIFY2(last->isSuccess(), qPrintable(last->errorString()));
    QCOMPARE(last->errorCode(), -1);
    QCOMPARE(bodies(last->messages()), QByteArrayList({"m3", "m4", "m5"}));
    const QByteArray epoch = last->position().epoch;
    QCOMPARE(last->position().offset, 5u);
    QCOMPARE(headerList(last->messages().first()),
             QByteArrayList({"position:room.7 3 " + epoch, "publish:room.7", "k:v"}));
    // The reply's position is remembered, a read does not subscribe.
    QCOMPARE(a.position("room.7").offset, 5u);
    QVERIFY(a.channels().isEmpty());
    delete last;

    HistoryReply *after = a.history("room.7", 10, Position{1, epoch});
    QVERIFY(waitFinished(after));
    QVERIFY(after->isSuccess());
    QCOMPARE(bodies(after->messages()), QByteArrayList({"m2", "m3", "m4", "m5"}));
    delete after;

    // Two reads at once are answered in order, each with its own messages.
    HistoryReply *one = kept(a.history("room.7", 1));
    HistoryReply *none = kept(a.history("room.8", 5));
    QVERIFY(waitFinished(one));
    QVERIFY(waitFinished(none));
    QCOMPARE(bodies(one->messages()), QByteArrayList({"m5"}));
    QVERIFY(none->isSuccess());
    QVERIFY(none->messages().isEmpty());
    QCOMPARE(none->position().offset, 0u);
    delete one;
    delete none;

    // Then subscribing with recovery from the read's position misses nothing.
    QSignalSpy recovered(&a, &Client::recovered);
    w.send("LHTTP/1.0 chat\r\npublish:room.7\r\n\r\nm6");
    QVERIFY(w.sync());
    QVERIFY(a.subscribeWithRecovery({"room.7"}));
    QCOMPARE(waitForRecovered(recovered, 1), QVariantList({QByteArray("room.7"), true, 1}));
    QCOMPARE(bodies(received), QByteArrayList({"m6"}));

    // An auto-deleting reply goes after finished().
    QPointer<HistoryReply> gone = a.history("room.7", 1);
    QTRY_VERIFY(gone.isNull());
}

void tst_Client::historyReadErrors() {
    LhttpdProcess node;
    QVERIFY(
        startHistoryNode(node, 100, {QStringLiteral("--history-read-max"), QStringLiteral("50")}));
    Client a;
    QSignalSpy errors(&a, &Client::errorReceived);
    QSignalSpy received(&a, &Client::messageReceived);

    // Not connected, and input refused before anything is sent: code 0, from the event loop.
    HistoryReply *offline = a.history("room.1", 5);
    QVERIFY(!offline->isFinished());
    QVERIFY(waitFinished(offline));
    QCOMPARE(offline->errorCode(), 0);
    QCOMPARE(offline->errorString(), QStringLiteral("not connected"));
    delete offline;
    QVERIFY(connectClient(a, node.port()));
    for (const auto &[channel, limit] :
         {qMakePair(QByteArray("room.*"), 5), qMakePair(QByteArray("a b"), 5),
          qMakePair(QByteArray("room.1"), 0)}) {
        HistoryReply *r = a.history(channel, limit);
        QVERIFY(waitFinished(r));
        QCOMPARE(r->errorCode(), 0);
        QVERIFY(!r->errorString().isEmpty());
        delete r;
    }
    QVERIFY(sync(a));
    QCOMPARE(errors.count(), 0);

    WsClient w;
    QVERIFY(w.open(node.wsUrl()));
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nm1");
    QVERIFY(w.sync());
    struct Case {
        QByteArray channel;
        int limit;
        std::optional<Position> after;
        int code;
    };
    const QList<Case> cases{
        {"plain", 5, std::nullopt, 404},                // not a history channel
        {"room.1", 51, std::nullopt, 400},              // over --history-read-max
        {"room.1", 5, Position{7, "nosuchepoch"}, 410}, // another epoch
    };
    for (const Case &c : cases) {
        HistoryReply *r = a.history(c.channel, c.limit, c.after);
        QVERIFY(waitFinished(r));
        QVERIFY(!r->isSuccess());
        QVERIFY2(r->errorCode() == c.code, qPrintable(r->errorString()));
        QVERIFY2(r->errorString().startsWith(QStringLiteral("server error %1: ").arg(c.code)),
                 qPrintable(r->errorString()));
        QVERIFY(r->messages().isEmpty());
        delete r;
    }
    QCOMPARE(errors.count(), 3); // error replies come through errorReceived() too
    // A failed read between good ones takes nothing from them.
    HistoryReply *good1 = kept(a.history("room.1", 5));
    HistoryReply *bad = kept(a.history("plain", 5));
    HistoryReply *good2 = kept(a.history("room.1", 1));
    QVERIFY(waitFinished(good1));
    QVERIFY(waitFinished(bad));
    QVERIFY(waitFinished(good2));
    QVERIFY(good1->isSuccess());
    QCOMPARE(bad->errorCode(), 404);
    QVERIFY(good2->isSuccess());
    QCOMPARE(bodies(good1->messages()), QByteArrayList({"m1"}));
    QCOMPARE(bodies(good2->messages()), QByteArrayList({"m1"}));
    delete good1;
    delete bad;
    delete good2;

    // A read in flight when the connection goes (open() abandons it) fails with code 0.
    HistoryReply *cut = a.history("room.1", 5);
    a.open(node.wsUrl());
    QVERIFY(waitFinished(cut));
    QCOMPARE(cut->errorCode(), 0);
    delete cut;
    QCOMPARE(received.count(), 0);
}

namespace {

const QByteArray TokenSecret = "presence-secret";
const QString NodeName = QStringLiteral("node-a");

// An lhttpd-qt node with presence channels `room.*` and `lobby`, history on `room.h` (a
// presence channel with history too), connect tokens, and an admin endpoint to kick with.
bool startPresenceNode(LhttpdProcess &node, const QStringList &more = {}) {
    return node.start(QStringList{QStringLiteral("--presence"), QStringLiteral("room.*"),
                                  QStringLiteral("--presence"), QStringLiteral("lobby"),
                                  QStringLiteral("--history"), QStringLiteral("room.h=100"),
                                  QStringLiteral("--node-name"), NodeName,
                                  QStringLiteral("--jwt-secret"), QString::fromLatin1(TokenSecret),
                                  QStringLiteral("--admin-token"), QString::fromLatin1(AdminToken),
                                  QStringLiteral("--log-level"), QStringLiteral("warning")} +
                      more);
}

// A connect token for `user` that may subscribe and publish to `channels`.
QUrl userUrl(const LhttpdProcess &node, const QString &user,
             const QByteArrayList &channels = {"room.*", "lobby", "plain"}) {
    const QByteArray token = Token::sign(user, channels, channels,
                                         QDateTime::currentSecsSinceEpoch() + 3600, TokenSecret);
    QUrl url = node.wsUrl();
    url.setQuery(QStringLiteral("token=") + QString::fromLatin1(token));
    return url;
}

bool connectTo(Client &c, const QUrl &url) {
    QSignalSpy spy(&c, &Client::connected);
    c.open(url);
    return c.isConnected() || spy.wait(5000);
}

template <typename R> R *finished(R *reply) {
    reply->setAutoDelete(false);
    return QTest::qWaitFor([&] { return reply->isFinished(); }, 10000) ? reply : nullptr;
}

PresenceMember memberAt(const QSignalSpy &spy, int i) {
    return spy.at(i).at(1).value<PresenceMember>();
}

// user:info of each member, sorted (a list comes in no particular order).
QByteArrayList usersAndInfo(const QList<PresenceMember> &members) {
    QByteArrayList out;
    for (const PresenceMember &m : members)
        out.append(m.user + ':' + m.info);
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

// presence() lists a channel's entries (one per connection, with its node, user and info),
// presenceStats() counts connections and distinct users; neither subscribes.
void tst_Client::presenceListAndStats() {
    LhttpdProcess node;
    QVERIFY(startPresenceNode(node));
    Client alice1, alice2, bob, reader;
    QVERIFY(alice1.subscribeWithPresence({"room.1"}, {"{\"name\":\"Alice\"}"}));
    QVERIFY(connectTo(alice1, userUrl(node, QStringLiteral("alice"))));
    QVERIFY(connectTo(alice2, userUrl(node, QStringLiteral("alice"))));
    QVERIFY(alice2.subscribeWithPresence({"room.1", "room.2"}, {"phone"}));
    QVERIFY(connectTo(bob, userUrl(node, QStringLiteral("bob"))));
    QVERIFY(bob.subscribeWithPresence({"room.1"}, {}));
    QCOMPARE(bob.presenceChannels(), QByteArrayList({"room.1"}));
    QVERIFY(connectTo(reader, userUrl(node, QStringLiteral("carol"))));
    QSignalSpy errors(&reader, &Client::errorReceived);
    for (Client *c : {&alice1, &alice2, &bob})
        QVERIFY(sync(*c));

    PresenceReply *list = finished(reader.presence("room.1"));
    QVERIFY(list);
    QVERIFY2(list->isSuccess(), qPrintable(list->errorString()));
    QCOMPARE(list->channel(), QByteArray("room.1"));
    QCOMPARE(list->total(), 3);
    QVERIFY(!list->isTruncated());
    QCOMPARE(usersAndInfo(list->members()),
             QByteArrayList({"alice:phone", "alice:{\"name\":\"Alice\"}", "bob:"}));
    QSet<QByteArray> clients;
    for (const PresenceMember &m : list->members()) {
        QCOMPARE(m.node, NodeName.toUtf8());
        bool isNumber = false;
        m.client.toULongLong(&isNumber);
        QVERIFY2(isNumber, m.client.constData());
        clients.insert(m.client);
    }
    QCOMPARE(clients.size(), 3);
    delete list;

    PresenceStatsReply *stats = finished(reader.presenceStats("room.1"));
    QVERIFY(stats && stats->isSuccess());
    QCOMPARE(stats->connections(), 3);
    QCOMPARE(stats->users(), 2);
    QCOMPARE(stats->userConnections(), -1);
    delete stats;
    stats = finished(reader.presenceStats("room.1", "alice"));
    QVERIFY(stats && stats->isSuccess());
    QCOMPARE(stats->user(), QByteArray("alice"));
    QCOMPARE(stats->connections(), 3);
    QCOMPARE(stats->users(), 2);
    QCOMPARE(stats->userConnections(), 2);
    delete stats;
    stats = finished(reader.presenceStats("room.1", "nobody"));
    QVERIFY(stats && stats->isSuccess());
    QCOMPARE(stats->userConnections(), 0);
    delete stats;

    // Another channel, an empty one; reads do not subscribe the reader.
    list = finished(reader.presence("room.2"));
    QVERIFY(list && list->isSuccess());
    QCOMPARE(usersAndInfo(list->members()), QByteArrayList({"alice:phone"}));
    delete list;
    list = finished(reader.presence("room.9"));
    QVERIFY(list && list->isSuccess());
    QCOMPARE(list->total(), 0);
    QVERIFY(list->members().isEmpty());
    delete list;
    QVERIFY(reader.channels().isEmpty());

    // Leaving, by unsubscribing or by disconnecting, removes the entry.
    QVERIFY(alice2.unsubscribe({"room.1"}));
    QVERIFY(alice2.presenceChannels() == QByteArrayList({"room.2"}));
    QVERIFY(sync(alice2));
    bob.close();
    QTRY_COMPARE(bob.state(), Client::State::Disconnected);
    QTRY_VERIFY([&] {
        std::unique_ptr<PresenceStatsReply> r(finished(reader.presenceStats("room.1")));
        return r && r->isSuccess() && r->connections() == 1 && r->users() == 1;
    }());
    QCOMPARE(errors.count(), 0);
}

// Join/leave events reach those who asked (joins), never as messages, in order with the
// channel's messages; the joiner's own join only with joins-self, its own leave never.
void tst_Client::presenceEvents() {
    LhttpdProcess node;
    QVERIFY(startPresenceNode(node));
    Client watcher, self, quiet, alice;
    QVERIFY(connectTo(watcher, userUrl(node, QStringLiteral("watcher"))));
    QVERIFY(connectTo(self, userUrl(node, QStringLiteral("self"))));
    QVERIFY(connectTo(quiet, userUrl(node, QStringLiteral("quiet"))));
    QVERIFY(connectTo(alice, userUrl(node, QStringLiteral("alice"))));
    QSignalSpy wJoined(&watcher, &Client::joined);
    QSignalSpy wLeft(&watcher, &Client::left);
    QSignalSpy wReceived(&watcher, &Client::messageReceived);
    QSignalSpy sJoined(&self, &Client::joined);
    QSignalSpy qJoined(&quiet, &Client::joined);
    QSignalSpy qReceived(&quiet, &Client::messageReceived);
    QSignalSpy aJoined(&alice, &Client::joined);
    QSignalSpy aLeft(&alice, &Client::left);
    // The order of events and messages as the watcher saw them.
    QByteArrayList seen;
    connect(&watcher, &Client::joined, this,
            [&](const QByteArray &ch, const PresenceMember &m) { seen.append("+" + ch + m.user); });
    connect(&watcher, &Client::left, this,
            [&](const QByteArray &ch, const PresenceMember &m) { seen.append("-" + ch + m.user); });
    connect(&watcher, &Client::messageReceived, this,
            [&](const Message &m) { seen.append(m.body().toByteArray()); });

    PresenceOptions joins;
    joins.joins = true;
    QVERIFY(watcher.subscribeWithPresence({"room.1"}, joins));
    PresenceOptions joinsSelf;
    joinsSelf.joinsSelf = true;
    joinsSelf.info = "me";
    QVERIFY(sync(watcher));
    QVERIFY(self.subscribeWithPresence({"room.1"}, joinsSelf));
    QTRY_COMPARE(wJoined.count(), 1);
    QVERIFY(quiet.subscribe({"room.1"})); // a member without events
    // The watcher saw the two others join, not itself; self saw its own join.
    QTRY_COMPARE(wJoined.count(), 2);
    QCOMPARE(memberAt(wJoined, 0).user, QByteArray("self"));
    QCOMPARE(memberAt(wJoined, 0).info, QByteArray("me"));
    QCOMPARE(memberAt(wJoined, 0).node, NodeName.toUtf8());
    QCOMPARE(memberAt(wJoined, 1).user, QByteArray("quiet"));
    QCOMPARE(memberAt(wJoined, 1).info, QByteArray());
    QTRY_COMPARE(sJoined.count(), 2);
    QCOMPARE(sJoined.at(0).at(0).toByteArray(), QByteArray("room.1"));
    QCOMPARE(memberAt(sJoined, 0), memberAt(wJoined, 0)); // its own join
    QCOMPARE(memberAt(sJoined, 1), memberAt(wJoined, 1));

    // A join reaches the watcher before what the joiner publishes after it, a leave after
    // what it published before.
    PresenceOptions info;
    info.info = "Alice";
    QVERIFY(alice.subscribeWithPresence({"room.1"}, info));
    QVERIFY(alice.publish("room.1", "chat", "hello"));
    QVERIFY(alice.publish("room.1", "chat", "bye"));
    QVERIFY(alice.unsubscribe({"room.1"}));
    QTRY_COMPARE(wLeft.count(), 1);
    QCOMPARE(seen, QByteArrayList({"+room.1self", "+room.1quiet", "+room.1alice", "hello", "bye",
                                   "-room.1alice"}));
    const PresenceMember a = memberAt(wJoined, 2);
    QCOMPARE(a.info, QByteArray("Alice"));
    QCOMPARE(memberAt(wLeft, 0), a); // the info is there on leave too
    QCOMPARE(wLeft.at(0).at(0).toByteArray(), QByteArray("room.1"));
    // Alice asked for no events: none, not even of her own.
    QVERIFY(sync(alice));
    QCOMPARE(aJoined.count() + aLeft.count(), 0);

    // Disconnecting is a leave; the quiet member got messages and no events.
    self.close();
    QTRY_COMPARE(wLeft.count(), 2);
    QCOMPARE(memberAt(wLeft, 1), memberAt(wJoined, 0));
    QVERIFY(sync(quiet));
    QCOMPARE(qJoined.count(), 0);
    QCOMPARE(qReceived.count(), 2);
    // Events are never messages.
    QCOMPARE(wReceived.count(), 2);
    QCOMPARE(sJoined.count(), 3); // alice's join; self never sees its own leave

    // The opt-in of a channel already joined changes with a later subscribeWithPresence().
    // The same user on a second connection is a second entry, and its join an event.
    Client watcher2;
    QVERIFY(connectTo(watcher2, userUrl(node, QStringLiteral("watcher"))));
    QSignalSpy w2Joined(&watcher2, &Client::joined);
    QVERIFY(watcher2.subscribe({"room.1"}));
    QTRY_COMPARE(wJoined.count(), 4);
    QCOMPARE(memberAt(wJoined, 3).user, QByteArray("watcher"));
    QVERIFY(watcher2.subscribeWithPresence({"room.1"}, joins));
    QVERIFY(sync(watcher2));
    QVERIFY(alice.subscribe({"room.1"}));
    QTRY_COMPARE(w2Joined.count(), 1);
    QCOMPARE(memberAt(w2Joined, 0).user, QByteArray("alice"));
}

// After a reconnect the client joins its presence channels again with the same info and
// opt-in; the others see its leave and its join again.
void tst_Client::presenceKeptOnReconnect() {
    LhttpdProcess node;
    QVERIFY(startPresenceNode(node));
    Client a, watcher;
    a.setReconnectDelays(300, 600);
    PresenceOptions options;
    options.joins = true;
    options.info = "kept";
    QVERIFY(a.subscribeWithPresence({"room.5", "lobby"}, options));
    QVERIFY(a.subscribeWithRecovery({"room.h"})); // recover message with the presence headers
    QVERIFY(a.subscribeWithPresence({"room.h"}, options));
    QVERIFY(a.subscribe({"plain"}));
    QSignalSpy recovered(&a, &Client::recovered);
    QSignalSpy aJoined(&a, &Client::joined);
    QSignalSpy connectedSpy(&a, &Client::connected);
    QVERIFY(connectTo(a, userUrl(node, QStringLiteral("alice"))));
    QVERIFY(connectTo(watcher, userUrl(node, QStringLiteral("watcher"))));
    QSignalSpy wJoined(&watcher, &Client::joined);
    QSignalSpy wLeft(&watcher, &Client::left);
    PresenceOptions joins;
    joins.joins = true;
    QVERIFY(watcher.subscribeWithPresence({"room.5"}, joins));
    QTRY_COMPARE(aJoined.count(), 1); // the watcher's join
    QVERIFY(!waitForRecovered(recovered, 1).isEmpty());

    QCOMPARE(testadmin::kickSubscribers(node.wsUrl(QStringLiteral("/admin")), AdminToken, "lobby"),
             1);
    QTRY_COMPARE(wLeft.count(), 1);
    QCOMPARE(memberAt(wLeft, 0).info, QByteArray("kept"));
    QTRY_COMPARE(connectedSpy.count(), 2);
    QTRY_COMPARE(wJoined.count(), 1);
    QCOMPARE(memberAt(wJoined, 0).user, QByteArray("alice"));
    QCOMPARE(memberAt(wJoined, 0).info, QByteArray("kept"));
    QVERIFY(!waitForRecovered(recovered, 2).isEmpty());

    Client reader;
    QVERIFY(connectTo(reader, userUrl(node, QStringLiteral("reader"))));
    for (const QByteArray channel : {"room.5", "lobby", "room.h"}) {
        std::unique_ptr<PresenceReply> list(finished(reader.presence(channel)));
        QVERIFY(list && list->isSuccess());
        QVERIFY2(usersAndInfo(list->members()).contains("alice:kept"), channel.constData());
    }
    // Its opt-in came back too: it sees the next join.
    Client bob;
    QVERIFY(connectTo(bob, userUrl(node, QStringLiteral("bob"))));
    QVERIFY(bob.subscribe({"lobby"}));
    QTRY_COMPARE(aJoined.count(), 2);
    QCOMPARE(aJoined.at(1).at(0).toByteArray(), QByteArray("lobby"));
    QCOMPARE(memberAt(aJoined, 1).user, QByteArray("bob"));
}

void tst_Client::presenceErrors() {
    LhttpdProcess node;
    QVERIFY(startPresenceNode(node, {QStringLiteral("--presence-info-max"), QStringLiteral("8"),
                                     QStringLiteral("--presence-rate"), QStringLiteral("1"),
                                     QStringLiteral("--max-channels"), QStringLiteral("5")}));
    Client a;
    QSignalSpy errors(&a, &Client::errorReceived);
    QSignalSpy received(&a, &Client::messageReceived);

    // Refused before anything is sent: code 0, from the event loop.
    std::unique_ptr<PresenceReply> offline(finished(a.presence("room.1")));
    QVERIFY(offline);
    QCOMPARE(offline->errorCode(), 0);
    QCOMPARE(offline->errorString(), QStringLiteral("not connected"));
    QVERIFY(!a.subscribeWithPresence({"room.*"}, {}));
    QVERIFY(a.errorString().contains(QStringLiteral("wildcard")));
    QVERIFY(!a.subscribeWithPresence({"room.1"}, {"bad\r\ninfo"}));
    QVERIFY(a.channels().isEmpty());
    QVERIFY(connectTo(a, userUrl(node, QStringLiteral("alice"), {"room.1", "room.2", "plain"})));
    for (const QByteArray channel : {"room.*", "a b", ""}) {
        std::unique_ptr<PresenceStatsReply> r(finished(a.presenceStats(channel)));
        QVERIFY(r);
        QCOMPARE(r->errorCode(), 0);
        QVERIFY(!r->errorString().isEmpty());
    }
    std::unique_ptr<PresenceStatsReply> blank(finished(a.presenceStats("room.1", "a b")));
    QCOMPARE(blank->errorCode(), 0);
    QVERIFY(sync(a));
    QCOMPARE(errors.count(), 0);

    // The server's refusals: the reply fails with the code, errorReceived() has it too.
    struct Case {
        QByteArray channel;
        int code;
        QByteArray reason; // the reason starts with this
    };
    const QList<Case> reads{
        {"plain", 404, "presence"},                                      // not presence
        {"room.3", 403, "token does not allow subscribing to 'room.3'"}, // not granted
    };
    for (const Case &c : reads) {
        std::unique_ptr<PresenceReply> r(finished(a.presence(c.channel)));
        QVERIFY(r && !r->isSuccess());
        QVERIFY2(r->errorCode() == c.code, qPrintable(r->errorString()));
        QVERIFY2(r->errorString().startsWith(QStringLiteral("server error %1: ").arg(c.code)),
                 qPrintable(r->errorString()));
        QVERIFY2(errors.last().at(1).toByteArray().startsWith(c.reason),
                 errors.last().at(1).toByteArray().constData());
        QVERIFY(r->members().isEmpty());
        std::unique_ptr<PresenceStatsReply> st(finished(a.presenceStats(c.channel, "alice")));
        QVERIFY(st && !st->isSuccess());
        QCOMPARE(st->errorCode(), c.code);
        QCOMPARE(st->userConnections(), -1);
    }
    QCOMPARE(errors.count(), 4);

    // Joining: events of a channel without presence (404; an info alone is ignored there),
    // info over --presence-info-max (413); nothing of the message is applied.
    PresenceOptions plainJoins;
    plainJoins.joins = true;
    QVERIFY(a.subscribeWithPresence({"plain"}, plainJoins));
    QTRY_COMPARE(errors.count(), 5);
    QCOMPARE(errors.last().at(0).toInt(), 404);
    QVERIFY2(errors.last().at(1).toByteArray().startsWith("joins"),
             errors.last().at(1).toByteArray().constData());
    QVERIFY(a.subscribeWithPresence({"room.2"}, {"123456789"}));
    QTRY_COMPARE(errors.count(), 6);
    QCOMPARE(errors.last().at(0).toInt(), 413);
    QVERIFY2(errors.last().at(1).toByteArray().startsWith("presence-info"),
             errors.last().at(1).toByteArray().constData());
    std::unique_ptr<PresenceStatsReply> none(finished(a.presenceStats("room.2")));
    QVERIFY(none && none->isSuccess());
    QCOMPARE(none->connections(), 0);

    // More joins than --presence-rate allows (1 a second, bursts of 5 = --max-channels): 429,
    // connection alive.
    for (int i = 0; i < 8; ++i) {
        a.subscribeWithPresence({"room.1"}, {"ok"});
        a.unsubscribe({"room.1"});
    }
    QVERIFY(sync(a));
    QVERIFY(errors.count() > 6);
    QCOMPARE(errors.last().at(0).toInt(), 429);
    QVERIFY(a.isConnected());
    QCOMPARE(received.count(), 0);
}

void tst_Client::publishHttpToLhttpd() {
    LhttpdProcess daemon;
    QVERIFY(daemon.start({QStringLiteral("--api-key"), QStringLiteral("s3cret"),
                          QStringLiteral("--max-message-size"), QStringLiteral("4096"),
                          QStringLiteral("--log-level"), QStringLiteral("warning")}));
    const quint16 port = daemon.port();

    WsClient sub;
    QVERIFY(sub.open(wsUrl(port)));
    sub.send("LHTTP/1.0 chat\r\nsubscribe:news\r\n\r\n");
    QVERIFY(sub.sync());

    QNetworkAccessManager nam;
    HttpPublishOptions options;
    options.url = QUrl(QStringLiteral("http://127.0.0.1:%1/publish").arg(port));
    options.apiKey = "s3cret";
    options.timeoutMs = 5000;

    // Success: 200, empty body, subscribers get the message byte for byte.
    HttpPublishReply *ok =
        publishHttp({"news"}, "chat", {{"k", "v:w"}}, "hello\r\n\r\nworld", options, &nam);
    QCOMPARE(ok->parent(), &nam);
    QSignalSpy okDone(ok, &HttpPublishReply::finished);
    QVERIFY(okDone.wait());
    QCOMPARE(okDone.at(0).at(0).toInt(), 200);
    QCOMPARE(okDone.at(0).at(1).toByteArray(), QByteArray());
    QVERIFY(sub.waitForMessages(1));
    QCOMPARE(sub.received.first(),
             QByteArray("LHTTP/1.0 chat\r\npublish:news\r\nk:v:w\r\n\r\nhello\r\n\r\nworld"));

    // The reply object: status, success, self-deletion after finished().
    {
        HttpPublishReply *r = publishHttp({"news"}, "chat", {}, "again", options);
        r->setAutoDelete(false);
        QSignalSpy done(r, &HttpPublishReply::finished);
        QVERIFY(done.wait());
        QVERIFY(r->isFinished());
        QVERIFY(r->isSuccess());
        QCOMPARE(r->httpStatus(), 200);
        QVERIFY(r->errorString().isEmpty());
        delete r;
        QVERIFY(sub.waitForMessages(2));
    }

    auto expectFailure = [&](HttpPublishReply *r, int status, const QString &needle) {
        r->setAutoDelete(false);
        QSignalSpy done(r, &HttpPublishReply::finished);
        QVERIFY(done.wait());
        QCOMPARE(r->httpStatus(), status);
        QVERIFY(!r->isSuccess());
        QVERIFY2(r->errorString().contains(needle, Qt::CaseInsensitive),
                 qPrintable(r->errorString()));
        if (status)
            QVERIFY(!r->body().isEmpty()); // the server names the reason
        delete r;
    };
    HttpPublishOptions wrongKey = options;
    wrongKey.apiKey = "wrong";
    expectFailure(publishHttp({"news"}, "chat", {}, "x", wrongKey, &nam), 401, "401");
    HttpPublishOptions noKey = options;
    noKey.apiKey.clear();
    expectFailure(publishHttp({"news"}, "chat", {}, "x", noKey, &nam), 401, "401");
    expectFailure(publishHttpMessage("LHTTP/1.0 chat\r\n\r\nno publish header", options, &nam), 400,
                  "400");
    expectFailure(publishHttp({"news"}, "chat", {}, QByteArray(5000, 'x'), options, &nam), 413,
                  "413");
    // Refused before any request, but still reported from the event loop.
    HttpPublishReply *bad = publishHttp({"a b"}, "chat", {}, "x", options, &nam);
    QVERIFY(!bad->isFinished());
    expectFailure(bad, 0, "invalid channel");
    HttpPublishOptions ftp = options;
    ftp.url = QUrl(QStringLiteral("ftp://127.0.0.1/publish"));
    expectFailure(publishHttp({"news"}, "chat", {}, "x", ftp, &nam), 0, "http");
    HttpPublishOptions nobody = options;
    nobody.url = QUrl(QStringLiteral("http://127.0.0.1:%1/publish").arg(freePort()));
    expectFailure(publishHttp({"news"}, "chat", {}, "x", nobody, &nam), 0, "refused");

    QVERIFY(sub.staysQuiet()); // none of the failures published anything
    QCOMPARE(sub.received.size(), 2);
}

void tst_Client::tlsTrust_data() {
    m_certificates = std::make_unique<QTemporaryDir>();
    QVERIFY(m_certificates->isValid());
    // The node's certificate, and another self-signed one that plays a CA that did not sign it.
    QVERIFY2(makeCertificate(*m_certificates, QStringLiteral("node")), "openssl must be installed");
    QVERIFY(makeCertificate(*m_certificates, QStringLiteral("other")));

    QTest::addColumn<QString>("trust"); // a makeCertificate() name, or empty
    QTest::addColumn<bool>("verify");
    QTest::addColumn<bool>("accepted");
    QTest::newRow("system CAs only") << QString() << true << false;
    QTest::newRow("the node's CA") << QStringLiteral("node") << true << true;
    QTest::newRow("no verification") << QString() << false << true;
    QTest::newRow("another CA") << QStringLiteral("other") << true << false;
}

// A node with a self-signed certificate: reached over wss:// and https:// once the client
// trusts its CA (added to the system's) or verifies nothing, and refused with a certificate
// error otherwise.
void tst_Client::tlsTrust() {
    QFETCH(QString, trust);
    QFETCH(bool, verify);
    QFETCH(bool, accepted);
    TlsNode node(*m_certificates, QStringLiteral("node"));
    QVERIFY(node.start());

    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    if (!trust.isEmpty()) {
        const auto ca =
            QSslCertificate::fromPath(m_certificates->filePath(trust + QStringLiteral(".pem")));
        QCOMPARE(ca.size(), 1);
        tls.setCaCertificates(QSslConfiguration::systemCaCertificates() + ca);
    }
    if (!verify)
        tls.setPeerVerifyMode(QSslSocket::VerifyNone);

    Client client;
    client.setAutoReconnect(false);
    client.setSslConfiguration(tls);
    QCOMPARE(client.sslConfiguration().caCertificates(), tls.caCertificates());
    QSignalSpy connected(&client, &Client::connected);
    QSignalSpy failed(&client, &Client::connectionFailed);
    client.open(QUrl(QStringLiteral("wss://127.0.0.1:%1/").arg(node.port)));
    QTRY_VERIFY_WITH_TIMEOUT(connected.count() + failed.count() == 1, 10000);
    if (accepted) {
        QVERIFY2(connected.count() == 1, qPrintable(client.errorString()));
        QVERIFY(client.publish("room", "chat", "over TLS"));
        QVERIFY(sync(client));
    } else {
        QCOMPARE(failed.count(), 1);
        QVERIFY2(client.errorString().contains(QStringLiteral("certificate"), Qt::CaseInsensitive),
                 qPrintable(client.errorString()));
    }

    HttpPublishOptions options;
    options.url = QUrl(QStringLiteral("https://127.0.0.1:%1/publish").arg(node.port));
    options.sslConfiguration = tls;
    HttpPublishReply *reply = publishHttp({"room"}, "chat", {}, "over https", options);
    reply->setAutoDelete(false);
    QSignalSpy done(reply, &HttpPublishReply::finished);
    QVERIFY(done.wait(10000));
    if (accepted) {
        QVERIFY2(reply->isSuccess(), qPrintable(reply->errorString()));
    } else {
        QCOMPARE(reply->httpStatus(), 0);
        QVERIFY2(reply->errorString().contains(QStringLiteral("certificate"), Qt::CaseInsensitive),
                 qPrintable(reply->errorString()));
    }
    delete reply;
}

QTEST_GUILESS_MAIN(tst_Client)
#include "tst_client.moc"

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// The admin endpoint on the wire (docs/ADMIN.md): a real Server on a loopback port, real
// QWebSocket clients and a console that speaks the admin protocol as any third-party console
// would, parsing LHTTP and JSON itself.

#include "adminendpoint.h"
#include "message.h"
#include "processor.h"
#include "server.h"
#include "session.h"
#include "stalledclient.h"
#include "wsclient.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpSocket>
#include <QTest>
#include <QThread>

#include <algorithm>
#include <memory>

using namespace lhttp;

namespace {

// (id, peer port) of every session, asked of the loop each lives in (threads > 1 too).
QList<QPair<quint64, quint16>> sessionsOf(const Server &server) {
    QList<QPair<quint64, quint16>> out;
    server.visitSessions([&](const Session &s) { out.append({s.id(), s.peerPort()}); });
    return out;
}

constexpr auto Token = "s3cret-admin-token";

// An admin console: records snapshots, batches and command results.
class Console : public QObject {
public:
    Console() {
        socket.setMaxAllowedIncomingMessageSize(256 << 20);
        connect(&socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            raw.append(text.toUtf8());
            Error error;
            Limits limits;
            limits.maxMessageSize = 256 << 20;
            const Message m = Message::parse(text.toUtf8(), limits, &error);
            QVERIFY2(!error, error.reason.constData());
            const QJsonObject body = QJsonDocument::fromJson(m.body().toByteArray()).object();
            if (m.command() == Admin::SnapshotCommand) {
                const int part = m.header("part").toInt();
                if (part == 1) {
                    pending = Admin::snapshotFromJson(body);
                    pending.gap = m.header("gap").toULongLong();
                } else {
                    pending.connections += Admin::snapshotFromJson(body).connections;
                }
                if (part == m.header("parts").toInt())
                    snapshots.append(pending);
            } else if (m.command() == Admin::EventsCommand) {
                batches.append(Admin::batchFromJson(body));
                batchBodies.append(body);
            } else if (m.command() == Admin::ResultCommand) {
                results.append({m.header("request").toByteArray(), m.header("code").toInt(),
                                m.header("reason").toByteArray()});
            }
        });
        connect(&socket, &QWebSocket::connected, this, [this] { connected = true; });
        connect(&socket, &QWebSocket::disconnected, this, [this] { connected = false; });
    }

    bool open(quint16 port, const QByteArray &token) {
        QNetworkRequest r(QUrl(QStringLiteral("ws://127.0.0.1:%1/admin").arg(port)));
        if (!token.isNull())
            r.setRawHeader("Authorization", "Bearer " + token);
        socket.open(r);
        return QTest::qWaitFor(
                   [&] { return connected || socket.state() == QAbstractSocket::UnconnectedState; },
                   5000) &&
               connected;
    }
    void send(const QByteArray &command, const QList<QPair<QByteArray, QByteArray>> &headers,
              const QByteArray &body = {}) {
        Message m(command, body);
        for (const auto &h : headers)
            m.addHeader(h.first, h.second);
        socket.sendTextMessage(QString::fromUtf8(m.toBytes()));
    }
    bool waitForResults(int n) {
        return QTest::qWaitFor([&] { return results.size() >= n; }, 5000);
    }
    // Waits until a batch satisfies `pred`.
    template <typename Pred> bool waitForBatch(Pred pred, int timeoutMs = 5000) {
        qsizetype seen = 0;
        return QTest::qWaitFor(
            [&] {
                for (; seen < batches.size(); ++seen) {
                    if (pred(batches[seen]))
                        return true;
                }
                return false;
            },
            timeoutMs);
    }

    struct Result {
        QByteArray request;
        int code;
        QByteArray reason;
    };
    QWebSocket socket;
    bool connected = false;
    QList<QByteArray> raw;
    Admin::Snapshot pending;
    QList<Admin::Snapshot> snapshots;
    QList<Admin::Batch> batches;
    QList<QJsonObject> batchBodies;
    QList<Result> results;
};

} // namespace

class tst_AdminEndpoint : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();

    void refusedWithoutTheToken_data();
    void refusedWithoutTheToken();
    void tokenInQuery();
    void snapshotOnAttach();
    void snapshotInParts();
    void eventsFollowTheNode();
    void jsonFieldNames();
    void publishCommand();
    void publishCommandErrors();
    void disconnectCommand();
    void floodIsSampledAndCounted();
    void feedRunsOnlyWithAConsole();
    void tooManyConsoles();
    void slowConsoleIsSkippedThenResynchronised();
    void slowConsumerCloseIsShown();
    void notableClosesOnly();
    void batchesKeepComingFromABusyNode();

private:
    void restart(const AdminEndpoint::Options &options, ServerOptions o = {});
    std::unique_ptr<WsClient> client();
    quint16 port() const { return server->serverPort(); }

    std::unique_ptr<Server> server;
    AdminEndpoint *endpoint = nullptr;
};

void tst_AdminEndpoint::restart(const AdminEndpoint::Options &options, ServerOptions o) {
    server.reset();
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    o.adminToken = Token;
    server = std::make_unique<Server>(o);
    endpoint = new AdminEndpoint(server.get(), options, server.get());
    QVERIFY(server->listen());
}

void tst_AdminEndpoint::init() {
    restart({});
}

void tst_AdminEndpoint::cleanup() {
    server.reset();
}

std::unique_ptr<WsClient> tst_AdminEndpoint::client() {
    auto c = std::make_unique<WsClient>();
    if (!c->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port()))))
        return nullptr;
    return c;
}

void tst_AdminEndpoint::refusedWithoutTheToken_data() {
    QTest::addColumn<QByteArray>("token");
    QTest::newRow("none") << QByteArray();
    QTest::newRow("wrong") << QByteArray("wrong");
    QTest::newRow("prefix") << QByteArray(Token).chopped(1);
}

void tst_AdminEndpoint::refusedWithoutTheToken() {
    QFETCH(QByteArray, token);
    Console console;
    QVERIFY(!console.open(port(), token));
    QVERIFY2(console.socket.errorString().contains(QLatin1String("401")),
             qPrintable(console.socket.errorString()));
    QCOMPARE(endpoint->consoleCount(), 0);
    QCOMPARE(server->sessionCount(), 0); // not taken for an LHTTP client either
}

void tst_AdminEndpoint::tokenInQuery() {
    QWebSocket socket;
    socket.open(QUrl(
        QStringLiteral("ws://127.0.0.1:%1/admin?token=%2").arg(port()).arg(QLatin1String(Token))));
    QVERIFY(QTest::qWaitFor([&] { return socket.state() == QAbstractSocket::ConnectedState; }));
    QTRY_COMPARE(endpoint->consoleCount(), 1);
}

void tst_AdminEndpoint::snapshotOnAttach() {
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    a->send("LHTTP/1.0 chat\r\nsubscribe:room lobby\r\n\r\n");
    b->send("LHTTP/1.0 chat\r\nsubscribe:room\r\n\r\n");
    QVERIFY(a->sync() && b->sync());

    Console console;
    QVERIFY(console.open(port(), Token));
    QTRY_COMPARE(console.snapshots.size(), 1);
    const Admin::Snapshot &s = console.snapshots.first();
    QCOMPARE(s.connections.size(), 2);
    QCOMPARE(s.totals.connections, 2);
    QCOMPARE(s.node.address, QStringLiteral("127.0.0.1:%1").arg(port()));
    QCOMPARE(s.node.brokerState, Broker::State::Embedded);
    const Admin::Connection &first = s.connections.first();
    QVERIFY(first.peer.startsWith(QLatin1String("127.0.0.1:")));
    QCOMPARE(first.channels, (QByteArrayList{"room", "lobby"}));
    QCOMPARE(first.stats.messagesIn, quint64(2)); // the subscribe and the sync probe
    QCOMPARE(s.channels.size(), 2);
    for (const Admin::Channel &c : s.channels)
        QCOMPARE(c.subscribers, c.name == "room" ? 2 : 1);
    QVERIFY(s.gap == 0);
    QCOMPARE(server->sessionCount(), 2); // the console is not a session
}

void tst_AdminEndpoint::snapshotInParts() {
    const int n = Admin::SnapshotPartSize + 20;
    // Opened in bursts of 50: one at a time costs a wait per handshake, all at once overflows
    // the listen backlog (SYN retransmits take a second or more).
    std::vector<std::unique_ptr<QWebSocket>> clients;
    while (int(clients.size()) < n) {
        for (int i = 0; i < 50 && int(clients.size()) < n; ++i) {
            clients.push_back(std::make_unique<QWebSocket>());
            clients.back()->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port())));
        }
        QTRY_COMPARE_WITH_TIMEOUT(server->sessionCount(), int(clients.size()), 10000);
    }
    Console console;
    QVERIFY(console.open(port(), Token));
    QTRY_COMPARE(console.snapshots.size(), 1);
    QCOMPARE(console.snapshots.first().connections.size(), n);
    int parts = 0;
    for (const QByteArray &m : std::as_const(console.raw))
        parts += m.startsWith("LHTTP/1.0 admin.snapshot\r\n") ? 1 : 0;
    QCOMPARE(parts, 2);
}

void tst_AdminEndpoint::eventsFollowTheNode() {
    Console console;
    QVERIFY(console.open(port(), Token));
    QTRY_COMPARE(console.snapshots.size(), 1);

    auto a = client();
    QVERIFY(a);
    const quint64 id = sessionsOf(*server).first().first;
    QVERIFY(console.waitForBatch(
        [&](const Admin::Batch &b) { return b.opened.size() == 1 && b.opened.first().id == id; }));
    a->send("LHTTP/1.0 chat\r\nsubscribe:room\r\npublish:room\r\n\r\nhello admin");
    QVERIFY(a->waitForMessages(1));
    QVERIFY(console.waitForBatch([&](const Admin::Batch &b) {
        bool subscribed = false, channel = false, in = false, out = false;
        for (const auto &s : b.subscriptions)
            subscribed |= s.id == id && s.channel == "room" && s.subscribed;
        for (const auto &c : b.channels)
            channel |=
                c.name == "room" && c.publishes == 1 && c.deliveries == 1 && c.subscribers == 1;
        for (const auto &s : b.samples) {
            in |= s.direction == Admin::Direction::In && s.connection == id &&
                  s.command == "chat" && s.channel == "room" && s.preview == "hello admin";
            out |= s.direction == Admin::Direction::Out && s.channel == "room" &&
                   s.receivers == 1 && s.command == "chat" && s.connection == id;
        }
        return subscribed && channel && in && out;
    }));
    // Per-connection counters arrive with the periodic stats pass.
    QVERIFY(console.waitForBatch([&](const Admin::Batch &b) {
        for (const auto &s : b.stats) {
            if (s.id == id && s.stats.messagesIn == 1 && s.stats.messagesOut == 1)
                return true;
        }
        return false;
    }));
    a.reset();
    QVERIFY(console.waitForBatch([&](const Admin::Batch &b) { return b.closed.contains(id); }));
    QCOMPARE(console.batches.last().totals.connections, 0);
    QCOMPARE(console.batches.last().totals.connectionsAccepted, quint64(1));
}

void tst_AdminEndpoint::jsonFieldNames() {
    // The names docs/ADMIN.md promises third-party consoles.
    Console console;
    QVERIFY(console.open(port(), Token));
    auto a = client();
    QVERIFY(a);
    a->send("LHTTP/1.0 chat\r\nsubscribe:room\r\npublish:room\r\n\r\nx");
    QVERIFY(a->waitForMessages(1));
    QTRY_VERIFY(!console.batchBodies.isEmpty() &&
                console.batchBodies.last().contains(QLatin1String("samples")));
    const QJsonObject b = console.batchBodies.last();
    for (const char *key : {"seq", "time", "interval", "totals", "broker", "channels", "samples"})
        QVERIFY2(b.contains(QLatin1String(key)), key);
    const QJsonObject totals = b.value(QLatin1String("totals")).toObject();
    for (const char *key : {"msgIn", "bytesIn", "msgOut", "bytesOut", "publishes", "errors",
                            "accepted", "connections", "channels", "subscriptions", "slow",
                            "keepalive", "idle", "rateLimited", "refused"})
        QVERIFY2(totals.contains(QLatin1String(key)), key);
    QCOMPARE(b.value(QLatin1String("broker")).toObject().value(QLatin1String("state")).toString(),
             QStringLiteral("embedded"));
}

void tst_AdminEndpoint::publishCommand() {
    auto sub = client();
    QVERIFY(sub);
    sub->send("LHTTP/1.0 chat\r\nsubscribe:news\r\n\r\n");
    QVERIFY(sub->sync());
    Console console;
    QVERIFY(console.open(port(), Token));
    console.send("admin.publish", {{"request", "7"}},
                 "LHTTP/1.0 notice\r\npublish:news\r\nfrom:ops\r\n\r\nmaintenance at noon");
    QVERIFY(console.waitForResults(1));
    QCOMPARE(console.results.first().request, QByteArray("7"));
    QCOMPARE(console.results.first().code, 200);
    QVERIFY(sub->waitForMessages(1));
    QCOMPARE(sub->received.first(),
             QByteArray("LHTTP/1.0 notice\r\npublish:news\r\nfrom:ops\r\n\r\nmaintenance at noon"));
    // The publish shows in the traffic samples with the message's command and body.
    QVERIFY(console.waitForBatch([](const Admin::Batch &b) {
        for (const auto &s : b.samples) {
            if (s.direction == Admin::Direction::Out && s.command == "notice" &&
                s.preview == "maintenance at noon" && s.connection == 0)
                return true;
        }
        return false;
    }));
}

void tst_AdminEndpoint::publishCommandErrors() {
    Console console;
    QVERIFY(console.open(port(), Token));
    console.send("admin.publish", {{"request", "1"}}, "LHTTP/1.0 x\r\n\r\nno channel");
    console.send("admin.publish", {{"request", "2"}}, "LHTTP/1.0 x\r\npublish:a..b\r\n\r\n");
    console.send("admin.publish", {{"request", "3"}}, "not lhttp");
    console.send("admin.reboot", {{"request", "4"}});
    console.socket.sendTextMessage(QStringLiteral("garbage"));
    QVERIFY(console.waitForResults(5));
    for (int i = 0; i < 4; ++i) {
        QCOMPARE(console.results[i].request, QByteArray::number(i + 1));
        QCOMPARE(console.results[i].code, 400);
    }
    QCOMPARE(console.results[4].code, 400);
    QVERIFY(console.connected); // errors never cost the console its connection
}

void tst_AdminEndpoint::disconnectCommand() {
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    QTRY_COMPARE(server->sessionCount(), 2);
    QList<quint64> ids;
    for (const auto &[id, port] : sessionsOf(*server))
        ids << id;
    std::sort(ids.begin(), ids.end());
    Console console;
    QVERIFY(console.open(port(), Token));
    console.send("admin.disconnect",
                 {{"request", "1"}, {"connection", QByteArray::number(ids[0])}});
    console.send("admin.disconnect", {{"request", "2"}, {"connection", "999999"}});
    QVERIFY(console.waitForResults(2));
    QCOMPARE(console.results[0].code, 200);
    QCOMPARE(console.results[1].code, 404);
    QVERIFY(a->waitForDisconnect());
    QCOMPARE(a->closeReason, QStringLiteral("closed by the administrator"));
    QVERIFY(b->connected);
    QVERIFY(console.waitForBatch([&](const Admin::Batch &x) { return x.closed.contains(ids[0]); }));
}

void tst_AdminEndpoint::floodIsSampledAndCounted() {
    AdminEndpoint::Options options;
    options.feed.maxSamples = 25;
    restart(options);
    Console console;
    QVERIFY(console.open(port(), Token));
    QTRY_COMPARE(console.snapshots.size(), 1);
    auto a = client();
    QVERIFY(a);
    a->send("LHTTP/1.0 chat\r\nsubscribe:flood\r\n\r\n");
    QVERIFY(a->sync());
    // Count from a batch boundary: the index after the first batch whose totals cover every
    // message received so far. Its offers (the subscribe, the sync probe and its error) are in
    // that batch or earlier ones, and the flood's are all in later ones.
    const auto boundary = [&](quint64 messagesIn) {
        qsizetype index = -1;
        const bool found = console.waitForBatch(
            [&](const Admin::Batch &b) { return b.totals.messagesIn >= messagesIn; });
        for (qsizetype i = 0; found && i < console.batches.size() && index < 0; ++i) {
            if (console.batches[i].totals.messagesIn >= messagesIn)
                index = i;
        }
        return index;
    };
    const qsizetype before = boundary(server->counters().messagesIn);
    QVERIFY(before >= 0);
    QCOMPARE(console.batches[before].totals.messagesIn, server->counters().messagesIn);

    const int n = 3000;
    for (int i = 0; i < n; ++i)
        a->send("LHTTP/1.0 chat\r\npublish:flood\r\n\r\nmessage " + QByteArray::number(i));
    QVERIFY(a->waitForMessages(n, 20000));
    QVERIFY(a->sync());
    const qsizetype after = boundary(server->counters().messagesIn);
    QVERIFY(after > before);

    // Every flood message is one In and one Out offer, and the closing sync probe one In and one
    // Error offer. Each batch keeps at most 25 samples and counts the rest, so nothing goes
    // unaccounted: samples + dropped is exactly what was offered. (Keepalive pings and other
    // control frames are not messages and are never offered.)
    quint64 published = 0;
    quint64 offered = 0;
    quint64 sampled = 0;
    for (qsizetype i = before + 1; i <= after; ++i) {
        const Admin::Batch &b = console.batches[i];
        QVERIFY(b.samples.size() <= 25);
        sampled += quint64(b.samples.size());
        offered += quint64(b.samples.size()) + b.samplesDropped;
        for (const auto &c : b.channels)
            published += c.name == "flood" ? c.publishes : 0;
        for (qsizetype j = 1; j < b.samples.size(); ++j)
            QVERIFY(b.samples[j - 1].timeMs <= b.samples[j].timeMs); // in time order
    }
    QCOMPARE(published, quint64(n));
    QCOMPARE(offered, quint64(2 * n + 2));
    QVERIFY(sampled <= quint64(25 * (after - before)));
}

void tst_AdminEndpoint::feedRunsOnlyWithAConsole() {
    QVERIFY(!endpoint->feed()->isActive());
    {
        Console console;
        QVERIFY(console.open(port(), Token));
        QTRY_VERIFY(endpoint->feed()->isActive());
        console.socket.close();
        QTRY_COMPARE(endpoint->consoleCount(), 0);
    }
    QVERIFY(!endpoint->feed()->isActive());
}

void tst_AdminEndpoint::tooManyConsoles() {
    AdminEndpoint::Options options;
    options.maxConsoles = 1;
    restart(options);
    Console first;
    QVERIFY(first.open(port(), Token));
    QTRY_COMPARE(endpoint->consoleCount(), 1);
    Console second;
    second.open(port(), Token);
    QTRY_VERIFY(!second.connected && second.socket.state() == QAbstractSocket::UnconnectedState);
    QCOMPARE(int(second.socket.closeCode()), int(Admin::CloseTooManyConsoles));
    QCOMPARE(second.socket.closeReason(), QStringLiteral("too many admin consoles"));
    QCOMPARE(endpoint->consoleCount(), 1);
    QVERIFY(first.connected);
}

void tst_AdminEndpoint::slowConsoleIsSkippedThenResynchronised() {
    // A console that stops reading: its batches pile up in the node's socket until the backlog
    // limit, then are skipped; once it reads again it gets a snapshot marked with the gap.
    AdminEndpoint::Options options;
    options.maxBacklogBytes = 16 * 1024;
    options.feed.maxSamples = 2000; // big batches fill the socket buffers quickly
    restart(options);
    QTcpSocket raw;
    raw.setReadBufferSize(1); // Qt stops draining the kernel buffer: the node sees a slow peer
    raw.connectToHost(QHostAddress::LocalHost, port());
    QVERIFY(raw.waitForConnected());
    raw.write("GET /admin HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer " +
              QByteArray(Token) + "\r\n\r\n");
    QTRY_COMPARE(endpoint->consoleCount(), 1);

    auto a = client();
    QVERIFY(a);
    a->send("LHTTP/1.0 chat\r\nsubscribe:flood\r\n\r\n");
    const QByteArray body(Admin::PreviewBytes, 'x');
    QElapsedTimer t;
    t.start();
    while (endpoint->batchesSkipped() < 3 && t.elapsed() < 30000) {
        for (int i = 0; i < 500; ++i)
            a->send("LHTTP/1.0 chat\r\npublish:flood\r\n\r\n" + body);
        QTest::qWait(20); // deliberately: the node serves the flood and its batch timer fires
        a->received.clear();
    }
    QVERIFY(endpoint->batchesSkipped() >= 3);

    // Read again, and look for a snapshot with a gap header in the server's (unmasked) frames.
    raw.setReadBufferSize(0);
    QByteArray stream;
    const QByteArray marker = "LHTTP/1.0 admin.snapshot\r\npart:1\r\nparts:1\r\ngap:";
    QVERIFY(QTest::qWaitFor(
        [&] {
            stream += raw.readAll();
            // Keep the tail only: the marker cannot span more than its own length.
            if (stream.contains(marker))
                return true;
            stream = stream.right(marker.size());
            return false;
        },
        20000));
}

void tst_AdminEndpoint::slowConsumerCloseIsShown() {
    // A subscriber that stops reading is closed by the node as a slow consumer (4008); the
    // console sees the close in the traffic log and the count in the totals.
    ServerOptions o;
    o.maxOutgoingBytes = 256 * 1024;
    o.closeGraceMs = 300;
    restart({}, o);
    Console console;
    QVERIFY(console.open(port(), Token));
    QTRY_COMPARE(console.snapshots.size(), 1);
    StalledClient stalled;
    QVERIFY(stalled.open(port(), "/"));
    stalled.sendText("LHTTP/1.0 c\r\nsubscribe:feed\r\n\r\n");
    QTRY_COMPARE(server->subscriptionCount(), 1);
    const quint64 id = sessionsOf(*server).first().first;
    stalled.stall();

    auto publisher = client();
    QVERIFY(publisher);
    const QByteArray payload(32 * 1024, 'p');
    for (int i = 0; i < 400 && server->counters().slowConsumers == 0; ++i) {
        publisher->send("LHTTP/1.0 c\r\npublish:feed\r\n\r\n" + payload);
        if (i % 20 == 19)
            QTest::qWait(10); // deliberately: lets the node write and notice the stalled reader
    }
    QTRY_COMPARE(server->counters().slowConsumers, 1u);
    QVERIFY(console.waitForBatch(
        [&](const Admin::Batch &b) {
            for (const Admin::Sample &s : b.samples) {
                if (s.direction == Admin::Direction::Close && s.connection == id &&
                    s.command == "4008" && s.preview == "slow consumer")
                    return b.closed.contains(id) && b.totals.slowConsumers == 1;
            }
            return false;
        },
        10000));
    QCOMPARE(QJsonDocument::fromJson(console.raw.last().mid(console.raw.last().indexOf("{")))
                 .object()
                 .value(QLatin1String("totals"))
                 .toObject()
                 .value(QLatin1String("slow"))
                 .toInt(),
             1);
}

void tst_AdminEndpoint::notableClosesOnly() {
    // A client's ordinary close is no news; one the node or the administrator made is.
    Console console;
    QVERIFY(console.open(port(), Token));
    QTRY_COMPARE(console.snapshots.size(), 1);
    auto quiet = client();
    auto closed = client();
    QVERIFY(quiet && closed);
    QTRY_COMPARE(server->sessionCount(), 2);
    quint64 quietId = 0, closedId = 0;
    for (const auto &[id, port] : sessionsOf(*server))
        (port == quiet->socket.localPort() ? quietId : closedId) = id;
    console.send("admin.disconnect",
                 {{"connection", QByteArray::number(closedId)}, {"reason", "maintenance"}});
    QVERIFY(closed->waitForDisconnect());
    quiet->socket.close();
    QVERIFY(quiet->waitForDisconnect());
    QVERIFY(
        console.waitForBatch([&](const Admin::Batch &b) { return b.closed.contains(quietId); }));
    QVERIFY(
        console.waitForBatch([&](const Admin::Batch &b) { return b.closed.contains(closedId); }));
    QList<Admin::Sample> closes;
    for (const Admin::Batch &b : std::as_const(console.batches)) {
        for (const Admin::Sample &s : b.samples) {
            if (s.direction == Admin::Direction::Close)
                closes.append(s);
        }
    }
    QCOMPARE(closes.size(), 1);
    QCOMPARE(closes.first().connection, closedId);
    QCOMPARE(closes.first().command, QByteArray("1000"));
    QCOMPARE(closes.first().preview, QByteArray("maintenance"));
}

void tst_AdminEndpoint::batchesKeepComingFromABusyNode() {
    // A flooded node handles thousands of messages in one event-loop turn, and the batch timer
    // only fires between turns. Here one turn lasts about 3 s (300 messages arriving together,
    // 10 ms of processing each); the batches must not stop for that long.
    struct Slow : Processor {
        void onMessage(Session &) override { QThread::msleep(10); }
    };
    server->registerProcessor("slow", std::make_shared<Slow>());
    Console console;
    QVERIFY(console.open(port(), Token));
    QTRY_COMPARE(console.snapshots.size(), 1);
    auto a = client();
    QVERIFY(a);
    QVERIFY(a->sync());
    const qsizetype before = console.batches.size();
    QElapsedTimer turn;
    turn.start();
    for (int i = 0; i < 300; ++i)
        a->send("LHTTP/1.0 slow\r\n\r\n");
    QVERIFY(a->sync(20000));
    const qint64 busyMs = turn.elapsed();
    QVERIFY(console.waitForBatch([&](const Admin::Batch &b) {
        return b.totals.messagesIn == server->counters().messagesIn;
    }));
    qint64 maxGap = 0;
    for (qsizetype i = before + 1; i < console.batches.size(); ++i)
        maxGap = std::max(maxGap, console.batches[i].timeMs - console.batches[i - 1].timeMs);
    QVERIFY2(busyMs >= 2500, "the node was not busy: nothing to measure");
    QVERIFY2(maxGap < 1500, qPrintable(QStringLiteral("batches %1 ms apart while the node was busy "
                                                      "for %2 ms")
                                           .arg(maxGap)
                                           .arg(busyMs)));
}

QTEST_MAIN(tst_AdminEndpoint)
#include "tst_adminendpoint.moc"

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// Session (lib/runtime/session.h) on its own, with real loopback WebSockets under it and the
// Context a node would hand it owned by the test (SessionFixture), no Server: the pipeline run
// per message, error replies, the rate limit, slow consumers, the ticker's deadlines (driven
// with explicit times), user data, and a balanced open/close.

#include "processor.h"
#include "rawwsclient.h"
#include "sessionfixture.h"
#include "token.h"
#include "wsclient.h"

#include <QSignalSpy>
#include <QTest>
#include <QWebSocket>

using namespace lhttp;

namespace {

// Filters and processors that write what they see to one shared log.
struct Trace {
    QStringList log;
};

class TraceFilter : public HeaderFilter {
public:
    TraceFilter(Trace *trace, QString name, bool pass = true)
        : m_trace(trace)
        , m_name(std::move(name))
        , m_pass(pass) {}
    void onOpen(Session &) override { m_trace->log << m_name + QStringLiteral(".open"); }
    bool beforeMessage(Session &s) override {
        m_trace->log << m_name + QStringLiteral(".before ") + QString::fromUtf8(s.command());
        return m_pass || s.header("pass") == "yes";
    }
    void afterMessage(Session &) override { m_trace->log << m_name + QStringLiteral(".after"); }
    void onClose(Session &) override { m_trace->log << m_name + QStringLiteral(".close"); }

private:
    Trace *m_trace;
    QString m_name;
    bool m_pass;
};

class TraceProcessor : public Processor {
public:
    TraceProcessor(Trace *trace, QString name)
        : m_trace(trace)
        , m_name(std::move(name)) {}
    void onOpen(Session &) override { m_trace->log << m_name + QStringLiteral(".open"); }
    void onMessage(Session &s) override {
        m_trace->log << m_name + QStringLiteral(".message ") + QString::fromUtf8(s.header("x")) +
                            u' ' + QString::fromUtf8(s.body());
        if (s.header("drop") == "yes")
            s.drop();
        if (s.header("reply") == "yes")
            s.reply("re:" + s.body().toByteArray());
    }
    void onClose(Session &) override { m_trace->log << m_name + QStringLiteral(".close"); }

private:
    Trace *m_trace;
    QString m_name;
};

// Answers every message with "ok" (so a client can count what got through).
class Ok : public Processor {
public:
    void onMessage(Session &s) override { s.reply("ok"); }
};

// Sends the message being handled back as it is (Session::messageFrame()), or edited.
class Echo : public Processor {
public:
    void onMessage(Session &s) override {
        if (s.header("edit") == "yes")
            s.message().addHeader("edited", "1");
        s.send(s.messageFrame());
    }
};

QByteArray msg(const QByteArray &command, const QByteArray &headers = {},
               const QByteArray &body = {}) {
    return "LHTTP/1.0 " + command + "\r\n" + headers + "\r\n" + body;
}

// Reads what the raw client has been sent until a close frame arrives; its code, or 0.
int readUntilClose(RawWsClient &client, QList<ServerFrame> *frames, int timeoutMs = 10'000) {
    QByteArray data;
    int code = 0;
    (void)QTest::qWaitFor(
        [&] {
            data += client.socket.readAll();
            for (const ServerFrame &frame : takeServerFrames(&data)) {
                if (frames)
                    frames->append(frame);
                if (frame.opcode == 0x8 && !code)
                    code = frame.closeCode();
            }
            return code != 0;
        },
        timeoutMs);
    return code;
}

} // namespace

class tst_Session : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sessionGetsItsWire();
    void pipelineOrder();
    void filterStopsAndProcessorDrops();
    void connectionFacts();
    void statsAndCounters();
    void messageFrame_data();
    void messageFrame();
    void parseErrorKeepsConnection_data();
    void parseErrorKeepsConnection();
    void overHardLimitCloses();
    void rateLimit();
    void rateLimitCountsRejectionsInARow();
    void slowConsumer();
    void idleTimeout();
    void keepaliveClosesSilentPeer();
    void keepaliveAnsweredByPong();
    void anyFrameAnswersAPing();
    void closeGraceAbortsPeerThatNeverCloses();
    void closeIsOnce();
    void values();
    void userIdFromClaims();
    void endRunsCloseOnce();
    void closeBalancedWithOpen();
};

void tst_Session::sessionGetsItsWire() {
    // The fixture hands each session its TCP socket, as the listener does: the session then
    // writes ready-made frames to it and gives its empty buffers back after the handshake
    // (which needs the wire).
    SessionFixture f;
    QVERIFY(f.listen());
    WsClient client;
    Session *s = f.connect(client);
    QVERIFY(s);
    QTRY_COMPARE(f.counters.values().socketBuffersReleased, 1u);
    QCOMPARE(f.counters.values().connectionsAccepted, 1u);
    QCOMPARE(f.sessions.count(), 1);
    QCOMPARE(f.peers.from(QHostAddress::LocalHost), 1);
}

void tst_Session::pipelineOrder() {
    Trace trace; // outlives the fixture: its sessions close into it
    SessionFixture f;
    f.pipeline.addFilter(std::make_shared<TraceFilter>(&trace, QStringLiteral("f1")));
    f.pipeline.addFilter(std::make_shared<TraceFilter>(&trace, QStringLiteral("f2")));
    f.pipeline.registerProcessor("chat", std::make_shared<TraceProcessor>(&trace, "chat"));
    QVERIFY(f.listen());
    WsClient client;
    Session *s = f.connect(client);
    QVERIFY(s);
    QCOMPARE(trace.log, (QStringList{"f1.open", "f2.open", "chat.open"}));
    trace.log.clear();

    client.send(msg("chat", "x:1\r\nreply:yes\r\n", "hello"));
    QVERIFY(client.waitForMessages(1));
    QCOMPARE(client.received.at(0), msg("chat", {}, "re:hello"));
    QCOMPARE(trace.log, (QStringList{"f1.before chat", "f2.before chat", "chat.message 1 hello",
                                     "f1.after", "f2.after"}));
    trace.log.clear();

    // A command without a processor still runs through the filters.
    client.send(msg("other", "x:2\r\n"));
    QTRY_COMPARE(trace.log.size(), 4);
    QCOMPARE(trace.log,
             (QStringList{"f1.before other", "f2.before other", "f1.after", "f2.after"}));
    QCOMPARE(f.events.messages, (QList<quint64>{s->id(), s->id()})); // before the pipeline

    // The message is only valid while it is handled.
    QVERIFY(s->command().isEmpty());
    QVERIFY(s->parts().isEmpty());
}

void tst_Session::filterStopsAndProcessorDrops() {
    Trace trace; // outlives the fixture: its sessions close into it
    SessionFixture f;
    f.pipeline.addFilter(std::make_shared<TraceFilter>(&trace, QStringLiteral("gate"), false));
    f.pipeline.addFilter(std::make_shared<TraceFilter>(&trace, QStringLiteral("f2")));
    f.pipeline.registerProcessor("chat", std::make_shared<TraceProcessor>(&trace, "chat"));
    QVERIFY(f.listen());
    WsClient client;
    QVERIFY(f.connect(client));
    trace.log.clear();

    // beforeMessage returning false: nothing after it runs.
    client.send(msg("chat", "x:1\r\n"));
    QTRY_COMPARE(trace.log.size(), 1);
    QVERIFY(client.staysQuiet(50));
    QCOMPARE(trace.log, QStringList{"gate.before chat"});
    trace.log.clear();

    // drop() in the processor: no afterMessage.
    client.send(msg("chat", "pass:yes\r\nx:2\r\ndrop:yes\r\n"));
    QTRY_COMPARE(trace.log.size(), 3);
    QVERIFY(client.staysQuiet(50));
    QCOMPARE(trace.log, (QStringList{"gate.before chat", "f2.before chat", "chat.message 2 "}));
    trace.log.clear();

    // The drop lasts for that message only.
    client.send(msg("chat", "pass:yes\r\nx:3\r\n"));
    QTRY_COMPARE(trace.log.size(), 5);
    QCOMPARE(trace.log.mid(3), (QStringList{"gate.after", "f2.after"}));
}

void tst_Session::connectionFacts() {
    SessionFixture f;
    QVERIFY(f.listen());
    WsClient client;
    const QDateTime before = QDateTime::currentDateTimeUtc();
    Session *s = f.connect(client, QStringLiteral("/chat/room?user=ann&x=1"));
    QVERIFY(s);
    QCOMPARE(s->peerAddress(), QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(s->peerPort(), client.socket.localPort());
    QCOMPARE(s->requestUrl().path(), QStringLiteral("/chat/room"));
    QCOMPARE(s->requestUrl().query(), QStringLiteral("user=ann&x=1"));
    QVERIFY(s->connectedAt() >= before.addMSecs(-1000));
    QVERIFY(s->connectedAt() <= QDateTime::currentDateTimeUtc());
    QVERIFY(s->origin().isEmpty()); // QWebSocket sends none unless given one
    QVERIFY(!s->isClosing());
    QVERIFY(s->socket());
    QCOMPARE(s->channelCount(), 0);
}

void tst_Session::statsAndCounters() {
    SessionFixture f;
    f.pipeline.registerProcessor("ok", std::make_shared<Ok>());
    QVERIFY(f.listen());
    WsClient a;
    WsClient b;
    Session *sa = f.connect(a);
    Session *sb = f.connect(b);
    QVERIFY(sa && sb);
    const QByteArray m = msg("ok", {}, "12345");
    a.send(m);
    a.send(m);
    b.send("garbage");
    QVERIFY(a.waitForMessages(2));
    QVERIFY(b.waitForMessages(1));
    const QByteArray reply = msg("ok", {}, "ok");
    QCOMPARE(sa->stats().messagesIn, 2u);
    QCOMPARE(sa->stats().bytesIn, quint64(2 * m.size()));
    QCOMPARE(sa->stats().messagesOut, 2u);
    QCOMPARE(sa->stats().bytesOut, quint64(2 * reply.size()));
    QCOMPARE(sb->stats().messagesIn, 1u); // invalid messages count as received
    QCOMPARE(sb->stats().bytesIn, 7u);
    QCOMPARE(sb->stats().messagesOut, 1u); // the error reply
    QCOMPARE(f.counters.values().messagesIn, 3u);
    QCOMPARE(f.counters.values().bytesIn, quint64(2 * m.size() + 7));
    QCOMPARE(f.counters.values().messagesOut, 3u);
    QCOMPARE(f.counters.values().bytesOut, sa->stats().bytesOut + sb->stats().bytesOut);
}

void tst_Session::messageFrame_data() {
    // What goes back when a processor sends the message being handled: the bytes received,
    // as a text frame when they are UTF-8 (known without a check when they came as text).
    QTest::addColumn<bool>("sendBinary");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<bool>("edit");
    QTest::addColumn<bool>("expectBinary");
    QTest::newRow("text in, text out") << false << QByteArray("caf\xc3\xa9") << false << false;
    QTest::newRow("binary UTF-8 in, text out") << true << QByteArray("plain") << false << false;
    QTest::newRow("binary non-UTF-8 in, binary out")
        << true << QByteArray("\xff\xfe") << false << true;
    QTest::newRow("edited text") << false << QByteArray("x") << true << false;
    QTest::newRow("edited non-UTF-8") << true << QByteArray("\xff") << true << true;
}

void tst_Session::messageFrame() {
    QFETCH(bool, sendBinary);
    QFETCH(QByteArray, body);
    QFETCH(bool, edit);
    QFETCH(bool, expectBinary);
    SessionFixture f;
    f.pipeline.registerProcessor("echo", std::make_shared<Echo>());
    QVERIFY(f.listen());
    WsClient client;
    QVERIFY(f.connect(client));
    const QByteArray m = msg("echo", edit ? "edit:yes\r\n" : "", body);
    if (sendBinary)
        client.sendBinary(m);
    else
        client.send(m);
    QVERIFY(client.waitForMessages(1));
    QCOMPARE(client.receivedBinary.at(0), expectBinary);
    if (edit) {
        QVERIFY(client.received.at(0).contains("edited:1\r\n"));
        QVERIFY(client.received.at(0).endsWith(body));
    } else {
        QCOMPARE(client.received.at(0), m); // byte for byte
    }
}

void tst_Session::parseErrorKeepsConnection_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("code");
    QTest::newRow("not LHTTP") << QByteArray("hello") << 400;
    QTest::newRow("empty") << QByteArray() << 400;
    QTest::newRow("wrong protocol") << QByteArray("HTTP/1.1 chat\r\n\r\n") << 400;
    QTest::newRow("no command") << QByteArray("LHTTP/1.0 \r\n\r\n") << 400;
    QTest::newRow("header without colon") << QByteArray("LHTTP/1.0 c\r\nbroken\r\n\r\n") << 400;
    // Between the message limit and the hard limit: read, answered, connection kept.
    QTest::newRow("over the message limit") << msg("c", {}, QByteArray(2000, 'x')) << 413;
}

void tst_Session::parseErrorKeepsConnection() {
    QFETCH(QByteArray, input);
    QFETCH(int, code);
    Trace trace; // outlives the fixture: its sessions close into it
    SessionFixture f;
    f.options.limits.maxMessageSize = 1024;
    f.pipeline.addFilter(std::make_shared<TraceFilter>(&trace, QStringLiteral("f")));
    f.pipeline.registerProcessor("ok", std::make_shared<Ok>());
    QVERIFY(f.listen());
    WsClient client;
    Session *s = f.connect(client);
    QVERIFY(s);
    trace.log.clear();

    client.send(input);
    QVERIFY(client.waitForMessages(1));
    const QByteArray reply = client.received.at(0);
    QVERIFY2(
        reply.startsWith("LHTTP/1.0 error\r\ncode:" + QByteArray::number(code) + "\r\nreason:"),
        reply.constData());
    QCOMPARE(f.counters.values().errors.value(code), 1u);
    QCOMPARE(f.events.errors, (QList<QPair<quint64, int>>{{s->id(), code}}));
    QVERIFY(trace.log.isEmpty()); // the pipeline never saw it
    QVERIFY(f.events.messages.isEmpty());

    // The connection stays and the next message is handled.
    client.send(msg("ok"));
    QVERIFY(client.waitForMessages(2));
    QCOMPARE(client.received.at(1), msg("ok", {}, "ok"));
    QVERIFY(client.connected);
    QVERIFY(f.isOpen(s->id()));
}

void tst_Session::overHardLimitCloses() {
    SessionFixture f;
    f.options.limits.maxMessageSize = 1024;
    f.options.hardMessageLimit = 4096;
    QVERIFY(f.listen());
    WsClient client;
    Session *s = f.connect(client);
    QVERIFY(s);
    const quint64 id = s->id();
    client.send(msg("c", {}, QByteArray(5000, 'x')));
    QVERIFY(client.waitForDisconnect());
    QCOMPARE(client.closeCode, QWebSocketProtocol::CloseCodeTooMuchData);
    QTRY_VERIFY(!f.isOpen(id));
}

void tst_Session::rateLimit() {
    Trace trace; // outlives the fixture: its sessions close into it
    SessionFixture f;
    f.options.messagesPerSecond = 0.01; // no refill within the test
    f.options.rateBurst = 2;
    f.options.abuseCloseAfter = 3;
    f.pipeline.registerProcessor("ok", std::make_shared<Ok>());
    f.pipeline.addFilter(std::make_shared<TraceFilter>(&trace, QStringLiteral("f")));
    QVERIFY(f.listen());
    WsClient client;
    WsClient other;
    Session *s = f.connect(client);
    QVERIFY(s);
    QVERIFY(f.connect(other));
    trace.log.clear();

    for (int i = 0; i < 5; ++i)
        client.send(msg("ok"));
    QVERIFY(client.waitForDisconnect());
    QCOMPARE(client.closeCode, QWebSocketProtocol::CloseCodePolicyViolated);
    // The burst got through, then three refusals in a row closed the connection.
    QCOMPARE(client.received.size(), 5);
    QCOMPARE(client.received.at(0), msg("ok", {}, "ok"));
    QCOMPARE(client.received.at(1), msg("ok", {}, "ok"));
    for (int i = 2; i < 5; ++i)
        QVERIFY2(client.received.at(i).startsWith("LHTTP/1.0 error\r\ncode:429\r\n"),
                 client.received.at(i).constData());
    QCOMPARE(f.counters.values().rateLimited, 3u);
    QCOMPARE(f.counters.values().errors.value(429), 3u);
    QCOMPARE(trace.log.count(QStringLiteral("f.before ok")), 2); // refused ones never ran
    // Every session has its own bucket.
    other.send(msg("ok"));
    QVERIFY(other.waitForMessages(1));
    QCOMPARE(other.received.at(0), msg("ok", {}, "ok"));
}

void tst_Session::rateLimitCountsRejectionsInARow() {
    // 20 messages per second, one at a time: a token every 50 ms. Two refusals in a row
    // close; an admitted message in between starts the count again.
    SessionFixture f;
    f.options.messagesPerSecond = 20;
    f.options.rateBurst = 1;
    f.options.abuseCloseAfter = 2;
    f.pipeline.registerProcessor("ok", std::make_shared<Ok>());
    QVERIFY(f.listen());
    WsClient client;
    Session *s = f.connect(client);
    QVERIFY(s);
    client.send(msg("ok"));
    client.send(msg("ok"));
    QVERIFY(client.waitForMessages(2));
    QVERIFY(client.received.at(1).contains("code:429"));
    QTest::qWait(200); // the bucket holds one again
    client.send(msg("ok"));
    client.send(msg("ok")); // refused, first in a row again: no close
    QVERIFY(client.waitForMessages(4));
    QCOMPARE(client.received.at(2), msg("ok", {}, "ok"));
    QVERIFY(client.received.at(3).contains("code:429"));
    QVERIFY(!s->isClosing());
    client.send(msg("ok")); // second in a row: closed
    QVERIFY(client.waitForDisconnect());
    QCOMPARE(client.closeCode, QWebSocketProtocol::CloseCodePolicyViolated);
    QCOMPARE(f.counters.values().rateLimited, 3u);
}

void tst_Session::slowConsumer() {
    SessionFixture f;
    f.options.maxOutgoingBytes = 64 * 1024;
    QVERIFY(f.listen());
    RawWsClient stalled;
    Session *s = f.connect(stalled);
    QVERIFY(s);
    stalled.stall();
    // Sent without running the event loop, as a fan-out does: the client reads nothing.
    const Frame frame(msg("feed", {}, QByteArray(16 * 1024, 'p')));
    int sent = 0;
    for (; sent < 10'000 && !s->isClosing(); ++sent)
        s->send(frame);
    QVERIFY2(s->isClosing(), "never closed as a slow consumer");
    QCOMPARE(f.counters.values().slowConsumers, 1u);
    // Closed once the kernel would take no more, well before the limit of the loop.
    QVERIFY(sent < 10'000);
    // Nothing more is sent once closing.
    const quint64 out = s->stats().messagesOut;
    s->send(frame);
    QCOMPARE(s->stats().messagesOut, out);
    QCOMPARE(f.counters.values().slowConsumers, 1u);

    // The client, reading again, finds every frame whole and then the close: 4008.
    stalled.socket.setReadBufferSize(0);
    QList<ServerFrame> frames;
    QCOMPARE(readUntilClose(stalled, &frames, 30'000), int(CloseCode::SlowConsumer));
    QCOMPARE(frames.size(), qsizetype(out + 1));
    for (qsizetype i = 0; i + 1 < frames.size(); ++i) {
        QCOMPARE(frames[i].opcode, 0x1);
        QCOMPARE(frames[i].payload.size(), frame.size());
    }
}

void tst_Session::idleTimeout() {
    SessionFixture f;
    f.options.idleTimeoutMs = 1000;
    f.options.pingIntervalMs = 0;
    f.pipeline.registerProcessor("ok", std::make_shared<Ok>());
    QVERIFY(f.listen());
    const qint64 start = f.now();
    WsClient silent;
    WsClient valid;
    WsClient invalid;
    Session *s1 = f.connect(silent);
    Session *s2 = f.connect(valid);
    Session *s3 = f.connect(invalid);
    QVERIFY(s1 && s2 && s3);
    valid.send(msg("ok"));
    invalid.send("not a message");
    QVERIFY(valid.waitForMessages(1));
    QVERIFY(invalid.waitForMessages(1));

    for (Session *s : {s1, s2, s3})
        s->tick(start + 1000); // not yet: at most 1000 ms since any of them connected
    for (Session *s : {s1, s2, s3})
        QVERIFY(!s->isClosing());
    QCOMPARE(f.counters.values().idleTimeouts, 0u);

    const qint64 later = f.now() + 1001;
    for (Session *s : {s1, s2, s3})
        s->tick(later);
    QVERIFY(s1->isClosing());
    QVERIFY(!s2->isClosing()); // a valid message arrived
    QVERIFY(s3->isClosing());  // an invalid one does not count
    QCOMPARE(f.counters.values().idleTimeouts, 2u);
    s1->tick(later + 10); // counted once
    QCOMPARE(f.counters.values().idleTimeouts, 2u);
    QVERIFY(silent.waitForDisconnect());
    QCOMPARE(silent.closeCode, QWebSocketProtocol::CloseCodePolicyViolated);
    QVERIFY(invalid.waitForDisconnect());
    QCOMPARE(invalid.closeCode, QWebSocketProtocol::CloseCodePolicyViolated);
    QVERIFY(valid.connected);
}

void tst_Session::keepaliveClosesSilentPeer() {
    SessionFixture f;
    f.options.pingIntervalMs = 1000;
    f.options.pongTimeoutMs = 500;
    f.options.idleTimeoutMs = 0;
    QVERIFY(f.listen());
    const qint64 start = f.now();
    RawWsClient raw; // never answers a ping
    Session *s = f.connect(raw);
    QVERIFY(s);

    s->tick(start + 999); // not yet due
    QTest::qWait(100);
    QCOMPARE(raw.socket.bytesAvailable(), 0);
    const qint64 pingAt = f.now() + 1000;
    s->tick(pingAt);
    QByteArray data;
    QList<ServerFrame> frames;
    QVERIFY(QTest::qWaitFor([&] {
        data += raw.socket.readAll();
        frames += takeServerFrames(&data);
        return !frames.isEmpty();
    }));
    QCOMPARE(frames.size(), 1);
    QCOMPARE(frames[0].opcode, 0x9); // ping
    s->tick(pingAt + 400);           // one ping at a time
    s->tick(pingAt + 500);           // the timeout is not over yet
    QVERIFY(!s->isClosing());
    QCOMPARE(f.counters.values().keepaliveTimeouts, 0u);

    s->tick(pingAt + 501);
    QVERIFY(s->isClosing());
    QCOMPARE(f.counters.values().keepaliveTimeouts, 1u);
    frames.clear();
    QCOMPARE(readUntilClose(raw, &frames), int(CloseCode::KeepaliveTimeout));
    QCOMPARE(frames.size(), 1); // no second ping before the close
}

void tst_Session::keepaliveAnsweredByPong() {
    SessionFixture f;
    f.options.pingIntervalMs = 1000;
    f.options.pongTimeoutMs = 500;
    f.options.idleTimeoutMs = 0;
    QVERIFY(f.listen());
    WsClient client; // QWebSocket answers pings by itself
    Session *s = f.connect(client);
    QVERIFY(s);
    QSignalSpy pongs(s->socket(), &QWebSocket::pong);
    const qint64 pingAt = f.now() + 1000;
    s->tick(pingAt);
    QVERIFY(pongs.wait());
    s->tick(pingAt + 501);
    QVERIFY(!s->isClosing());
    QCOMPARE(f.counters.values().keepaliveTimeouts, 0u);
    // The next ping follows the pong's time, not the first ping's.
    s->tick(f.now() + 1000);
    QVERIFY(pongs.wait());
    QCOMPARE(pongs.size(), 2);
}

void tst_Session::anyFrameAnswersAPing() {
    // A peer that sends a message instead of a pong is alive too.
    SessionFixture f;
    f.options.pingIntervalMs = 1000;
    f.options.pongTimeoutMs = 500;
    f.options.idleTimeoutMs = 0;
    f.pipeline.registerProcessor("ok", std::make_shared<Ok>());
    QVERIFY(f.listen());
    RawWsClient raw;
    Session *s = f.connect(raw);
    QVERIFY(s);
    const qint64 pingAt = f.now() + 1000;
    s->tick(pingAt);
    raw.sendText(msg("ok"));
    QTRY_COMPARE(s->stats().messagesIn, 1u);
    s->tick(pingAt + 501);
    QVERIFY(!s->isClosing());
    QCOMPARE(f.counters.values().keepaliveTimeouts, 0u);
}

void tst_Session::closeGraceAbortsPeerThatNeverCloses() {
    // A closed connection whose peer reads nothing cannot finish closing (the close frame
    // sits behind unsent bytes): after closeGraceMs the ticker aborts it, and the owner
    // removes the session.
    SessionFixture f;
    f.options.maxOutgoingBytes = 64 * 1024;
    f.options.closeGraceMs = 200;
    f.options.pingIntervalMs = 0;
    f.options.idleTimeoutMs = 0;
    QVERIFY(f.listen());
    RawWsClient stalled;
    Session *s = f.connect(stalled);
    QVERIFY(s);
    const quint64 id = s->id();
    stalled.stall();
    const Frame frame(msg("feed", {}, QByteArray(16 * 1024, 'p')));
    for (int i = 0; i < 10'000 && !s->isClosing(); ++i)
        s->send(frame);
    QVERIFY(s->isClosing());
    const qint64 closedAt = f.now();
    QTest::qWait(100);
    QVERIFY(f.isOpen(id));   // still closing: nothing can leave
    s->tick(closedAt + 150); // within the grace
    QTest::qWait(50);
    QVERIFY(f.isOpen(id));
    QCOMPARE(stalled.socket.state(), QAbstractSocket::ConnectedState);
    s->tick(closedAt + 1000); // past it: aborted
    QTRY_VERIFY(!f.isOpen(id));
    QCOMPARE(f.removed, QList<quint64>{id});
    stalled.socket.setReadBufferSize(0);
    QVERIFY(stalled.waitForDisconnected(5000));
}

void tst_Session::closeIsOnce() {
    // Read on a raw client: the close code is a private-use one (4008), outside the values of
    // QWebSocketProtocol::CloseCode, which WsClient would have to hold it in.
    SessionFixture f;
    QVERIFY(f.listen());
    RawWsClient raw;
    Session *s = f.connect(raw);
    QVERIFY(s);
    s->close(CloseCode::SlowConsumer, QStringLiteral("first"));
    s->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("second"));
    QVERIFY(s->isClosing());
    QList<ServerFrame> frames;
    QCOMPARE(readUntilClose(raw, &frames), int(CloseCode::SlowConsumer));
    QCOMPARE(frames.size(), 1);
    QCOMPARE(frames[0].payload.mid(2), QByteArray("first"));
    QTest::qWait(50);
    QByteArray rest = raw.socket.readAll();
    QVERIFY(takeServerFrames(&rest).isEmpty()); // no second close frame
}

void tst_Session::values() {
    SessionFixture f;
    QVERIFY(f.listen());
    WsClient a;
    WsClient b;
    Session *sa = f.connect(a);
    Session *sb = f.connect(b);
    QVERIFY(sa && sb);
    QVERIFY(!sa->value(QStringLiteral("k")).isValid());
    QCOMPARE(sa->value(QStringLiteral("k"), 7).toInt(), 7);
    sa->removeValue(QStringLiteral("k")); // nothing there: harmless

    sa->setValue(QStringLiteral("k"), QStringLiteral("v"));
    sa->setValue(QStringLiteral("n"), 42);
    sa->setValue(QStringLiteral("list"), QStringList{"x", "y"});
    QCOMPARE(sa->value(QStringLiteral("k")).toString(), QStringLiteral("v"));
    QCOMPARE(sa->value(QStringLiteral("k"), 7).toString(), QStringLiteral("v"));
    QCOMPARE(sa->value(QStringLiteral("n")).toInt(), 42);
    QCOMPARE(sa->value(QStringLiteral("list")).toStringList(), (QStringList{"x", "y"}));
    sa->setValue(QStringLiteral("n"), 43); // replaced
    QCOMPARE(sa->value(QStringLiteral("n")).toInt(), 43);
    sa->removeValue(QStringLiteral("k"));
    QVERIFY(!sa->value(QStringLiteral("k")).isValid());
    QCOMPARE(sa->value(QStringLiteral("n")).toInt(), 43);

    // Each session has its own.
    QVERIFY(!sb->value(QStringLiteral("n")).isValid());
    sb->setValue(QStringLiteral("n"), 1);
    QCOMPARE(sa->value(QStringLiteral("n")).toInt(), 43);
}

void tst_Session::userIdFromClaims() {
    SessionFixture f;
    QVERIFY(f.listen());
    WsClient anonymous;
    Session *s0 = f.connect(anonymous);
    QVERIFY(s0);
    QVERIFY(s0->userId().isEmpty());
    QVERIFY(!s0->claims());

    auto claims = std::make_unique<Claims>();
    claims->subject = QStringLiteral("alice");
    claims->subscribe = {"room.*"};
    f.nextClaims = std::move(claims);
    WsClient alice;
    Session *s1 = f.connect(alice);
    QVERIFY(s1);
    QCOMPARE(s1->userId(), QStringLiteral("alice"));
    QVERIFY(s1->claims());
    QVERIFY(s1->claims()->maySubscribe("room.1"));
    QVERIFY(!s1->claims()->mayPublish("room.1"));
}

void tst_Session::endRunsCloseOnce() {
    Trace trace; // outlives the fixture: its sessions close into it
    SessionFixture f;
    f.pipeline.addFilter(std::make_shared<TraceFilter>(&trace, QStringLiteral("f")));
    f.pipeline.registerProcessor("chat", std::make_shared<TraceProcessor>(&trace, "chat"));
    QVERIFY(f.listen());
    WsClient client;
    Session *s = f.connect(client);
    QVERIFY(s);
    QCOMPARE(trace.log, (QStringList{"f.open", "chat.open"}));
    trace.log.clear();

    s->end();
    QCOMPARE(trace.log, (QStringList{"chat.close", "f.close"}));
    QVERIFY(s->isClosing());
    s->end();
    QCOMPARE(trace.log.size(), 2);

    // Ended: nothing is handled or sent any more.
    client.send(msg("chat", "x:1\r\n"));
    QVERIFY(client.staysQuiet(100));
    QCOMPARE(trace.log.size(), 2);
    const quint64 out = s->stats().messagesOut;
    s->reply("late");
    QCOMPARE(s->stats().messagesOut, out);

    // The owner's removal ends it again: still one close.
    f.remove(s);
    QCOMPARE(trace.log, (QStringList{"chat.close", "f.close"}));
}

void tst_Session::closeBalancedWithOpen() {
    // What a session opened, it closes; what was registered after it opened, it does not.
    Trace trace; // outlives the fixture: its sessions close into it
    SessionFixture f;
    f.pipeline.addFilter(std::make_shared<TraceFilter>(&trace, QStringLiteral("f1")));
    f.pipeline.registerProcessor("p1", std::make_shared<TraceProcessor>(&trace, "p1"));
    QVERIFY(f.listen());
    WsClient early;
    Session *s1 = f.connect(early);
    QVERIFY(s1);
    const quint64 id1 = s1->id();
    f.pipeline.addFilter(std::make_shared<TraceFilter>(&trace, QStringLiteral("f2")));
    auto p2 = std::make_shared<TraceProcessor>(&trace, "p2");
    f.pipeline.registerProcessor("p2", p2);
    f.pipeline.registerProcessor("p2b", p2); // one processor, two commands: opened once
    WsClient late;
    Session *s2 = f.connect(late);
    QVERIFY(s2);
    const quint64 id2 = s2->id();
    QCOMPARE(trace.log,
             (QStringList{"f1.open", "p1.open", "f1.open", "f2.open", "p1.open", "p2.open"}));
    trace.log.clear();

    early.socket.close(); // the owner's path: disconnected → removed → end()
    QTRY_VERIFY(!f.isOpen(id1));
    QCOMPARE(trace.log, (QStringList{"p1.close", "f1.close"}));
    trace.log.clear();
    late.socket.close();
    QTRY_VERIFY(!f.isOpen(id2));
    QCOMPARE(trace.log, (QStringList{"p1.close", "p2.close", "f1.close", "f2.close"}));
    QCOMPARE(f.removed, (QList<quint64>{id1, id2}));
}

QTEST_MAIN(tst_Session)
#include "tst_session.moc"

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// A real Server on a loopback port and real QWebSocket clients.

#include "broker.h"
#include "processor.h"
#include "rawwsclient.h"
#include "server.h"
#include "session.h"
#include "wsclient.h"

#include <QMutex>
#include <QTcpSocket>
#include <QTest>

#include <memory>

using namespace lhttp;
using Headers = QList<QPair<QByteArray, QByteArray>>;

namespace {

// Records the order in which the chain runs, into a shared log. Processors and filters run in
// every event loop's thread at once when the server has several (LHTTP_THREADS): it locks.
struct Trace {
    void add(const QString &entry) {
        QMutexLocker lock(&mutex);
        entries << entry;
    }
    QStringList log() const {
        QMutexLocker lock(&mutex);
        return entries;
    }
    void clear() {
        QMutexLocker lock(&mutex);
        entries.clear();
    }
    mutable QMutex mutex;
    QStringList entries;
};

class TracingFilter : public HeaderFilter {
public:
    explicit TracingFilter(std::shared_ptr<Trace> t)
        : trace(std::move(t)) {}
    void onOpen(Session &) override { trace->add(QStringLiteral("filter.open")); }
    bool beforeMessage(Session &s) override {
        trace->add(QStringLiteral("filter.before:") + QString::number(s.parts().size()));
        return s.header("block").isNull();
    }
    void afterMessage(Session &s) override {
        // runs after the built-in headers: the subscription is already in place
        trace->add(QStringLiteral("filter.after:") + QString::number(s.channelCount()));
    }
    void onClose(Session &) override { trace->add(QStringLiteral("filter.close")); }
    std::shared_ptr<Trace> trace;
};

class ChatProcessor : public Processor {
public:
    explicit ChatProcessor(std::shared_ptr<Trace> t)
        : trace(std::move(t)) {}
    void onOpen(Session &s) override {
        trace->add(QStringLiteral("chat.open"));
        s.setValue(QStringLiteral("n"), 0);
    }
    void onMessage(Session &s) override {
        const int n = s.value(QStringLiteral("n")).toInt() + 1;
        s.setValue(QStringLiteral("n"), n);
        trace->add(QStringLiteral("chat.message:") + QString::number(s.channelCount()));
        if (!s.header("drop").isNull())
            s.drop();
        if (!s.header("rename").isNull()) {
            s.message().setCommand("renamed");
            s.message().addHeader("count", QByteArray::number(n));
        }
        if (!s.header("ask").isNull())
            s.reply("answer:" + s.body().toByteArray(), "reply");
    }
    void onClose(Session &) override { trace->add(QStringLiteral("chat.close")); }
    std::shared_ptr<Trace> trace;
};

} // namespace

class tst_Server : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();

    void publishReachesSubscriberByteForByte();
    void senderEcho();
    void copyPerListedChannel();
    void subscribeIsIdempotent();
    void unsubscribe();
    void publishWhileChannelsComeAndGo();
    void badInputGetsErrorAndConnectionSurvives_data();
    void badInputGetsErrorAndConnectionSurvives();
    void spacingInChannelLists();
    void invalidChannelChangesNothing();
    void channelLimit();
    void wildcardsWhenAllowed();
    void manySubscribers();
    void orderOfThousandMessages();
    void disconnectCleanup();
    void thousandConnectCycles();
    void processorAndFiltersOrder();
    void processorEditsWhatSubscribersGet();
    void processorDropAndFilterBlock();
    void lifecycleBalanced();
    void serverSidePublish();
    void binaryFramesAndNonUtf8();
    void frameLengthEncodings_data();
    void frameLengthEncodings();
    void deliveredAsOneUnmaskedFrame();
    void idleSocketBuffersReleased();
    void overHardLimitClosesWith1009();
    void plainHttpOnSamePort();
    void signalsReportActivity();

private:
    QUrl url() const {
        return QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(server->serverPort()));
    }
    std::unique_ptr<WsClient> client();
    void restart(const ServerOptions &options);

    std::unique_ptr<Server> server;
    std::shared_ptr<Trace> trace;
};

void tst_Server::restart(const ServerOptions &options) {
    server = std::make_unique<Server>(options);
    trace = std::make_shared<Trace>();
    server->registerProcessor("chat", std::make_shared<ChatProcessor>(trace));
    QVERIFY(server->listen());
}

void tst_Server::init() {
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    restart(o);
}

void tst_Server::cleanup() {
    server.reset();
}

std::unique_ptr<WsClient> tst_Server::client() {
    auto c = std::make_unique<WsClient>();
    if (!c->open(url()))
        return nullptr;
    return c;
}

void tst_Server::publishReachesSubscriberByteForByte() {
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    a->send("LHTTP/1.0 chat\r\nsubscribe:room\r\n\r\n");
    QVERIFY(a->sync());
    const QByteArray hello("LHTTP/1.0 chat\r\npublish:room\r\n\r\nhello");
    b->send(hello);
    QVERIFY(a->waitForMessages(1));
    QCOMPARE(a->received.first(), hello);
    QVERIFY(b->staysQuiet()); // B is not subscribed
    // Header order and unknown headers are forwarded as received.
    const QByteArray rich(
        "LHTTP/1.0 "
        "chat\r\nz:1\r\npublish:room\r\na:2\r\ncontent-type:json\r\n\r\n{\"x\":1}\r\n\r\ntail");
    b->send(rich);
    QVERIFY(a->waitForMessages(2));
    QCOMPARE(a->received.at(1), rich);
}

void tst_Server::senderEcho() {
    auto a = client();
    QVERIFY(a);
    const QByteArray self("LHTTP/1.0 chat\r\nsubscribe:room\r\npublish:room\r\n\r\nself");
    a->send(self);
    QVERIFY(a->waitForMessages(1));
    QCOMPARE(a->received.first(), self);
    QVERIFY(a->staysQuiet());
}

void tst_Server::copyPerListedChannel() {
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    a->send("LHTTP/1.0 chat\r\nsubscribe:a b\r\n\r\n");
    QVERIFY(a->sync());
    b->send("LHTTP/1.0 chat\r\npublish:a b\r\n\r\ntwice");
    QVERIFY(a->waitForMessages(2));
    QVERIFY(a->staysQuiet());
    QCOMPARE(a->received.at(0), a->received.at(1));
}

void tst_Server::subscribeIsIdempotent() {
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    a->send("LHTTP/1.0 chat\r\nsubscribe:room\r\n\r\n");
    a->send("LHTTP/1.0 chat\r\nsubscribe:room room\r\n\r\n");
    QVERIFY(a->sync());
    QCOMPARE(server->subscriptionCount(), 1);
    b->send("LHTTP/1.0 chat\r\npublish:room\r\n\r\nonce");
    QVERIFY(a->waitForMessages(1));
    QVERIFY(a->staysQuiet());
}

void tst_Server::unsubscribe() {
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    a->send("LHTTP/1.0 chat\r\nsubscribe:room other\r\n\r\n");
    a->send("LHTTP/1.0 chat\r\nunsubscribe:room\r\n\r\n");
    // Unknown channel: a no-op, no error, connection stays.
    a->send("LHTTP/1.0 chat\r\nunsubscribe:never-joined\r\n\r\n");
    QVERIFY(a->sync());
    QVERIFY(a->received.isEmpty());
    b->send("LHTTP/1.0 chat\r\npublish:room\r\n\r\ngone");
    b->send("LHTTP/1.0 chat\r\npublish:other\r\n\r\nstill");
    QVERIFY(a->waitForMessages(1));
    QVERIFY(a->received.first().endsWith("still"));
    QVERIFY(a->staysQuiet());
    QCOMPARE(server->channelCount(), 1);
}

void tst_Server::publishWhileChannelsComeAndGo() {
    // The hub remembers the channel published to last (ChannelHub::channelName), to skip a
    // lookup and a copy of the name: it must follow channels being dropped and made again.
    auto pub = client();
    auto sub = client();
    QVERIFY(pub && sub);
    pub->send("LHTTP/1.0 c\r\npublish:room\r\n\r\nnobody yet");
    QVERIFY(pub->sync());
    sub->send("LHTTP/1.0 c\r\nsubscribe:room\r\n\r\n");
    QVERIFY(sub->sync());
    pub->send("LHTTP/1.0 c\r\npublish:room\r\n\r\n1");
    pub->send("LHTTP/1.0 c\r\npublish:room\r\n\r\n2");
    QVERIFY(sub->waitForMessages(2));
    sub->send("LHTTP/1.0 c\r\nunsubscribe:room\r\n\r\n");
    QVERIFY(sub->sync());
    QCOMPARE(server->channelCount(), 0);
    pub->send("LHTTP/1.0 c\r\npublish:room\r\n\r\nlost");
    QVERIFY(pub->sync());
    sub->send("LHTTP/1.0 c\r\nsubscribe:room other\r\n\r\n");
    QVERIFY(sub->sync());
    pub->send("LHTTP/1.0 c\r\npublish:room\r\n\r\n3");
    pub->send("LHTTP/1.0 c\r\npublish:other\r\n\r\n4");
    pub->send("LHTTP/1.0 c\r\npublish:room other\r\n\r\n5");
    pub->send("LHTTP/1.0 c\r\npublish:roo\r\n\r\nprefix");
    pub->send("LHTTP/1.0 c\r\npublish:room\r\n\r\n6");
    QVERIFY(sub->waitForMessages(7));
    QVERIFY(sub->staysQuiet());
    QByteArrayList bodies;
    for (const QByteArray &m : std::as_const(sub->received))
        bodies.append(m.mid(m.indexOf("\r\n\r\n") + 4));
    QCOMPARE(bodies, (QByteArrayList{"1", "2", "3", "4", "5", "5", "6"}));
    QVERIFY(pub->received.isEmpty());
}

void tst_Server::badInputGetsErrorAndConnectionSurvives_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<bool>("binary");
    QTest::addColumn<int>("code");
    QTest::newRow("no CRLF") << QByteArray("LHTTP/1.0 chat") << false << 400;
    QTest::newRow("bare LF") << QByteArray("LHTTP/1.0 chat\nk:v\n\nx") << false << 400;
    QTest::newRow("hello") << QByteArray("hello") << false << 400;
    QTest::newRow("empty") << QByteArray("") << false << 400;
    QTest::newRow("70 KiB") << ("LHTTP/1.0 chat\r\npublish:room\r\n\r\n" +
                                QByteArray(70 * 1024, 'x'))
                            << false << 413;
    QTest::newRow("subscribe >") << QByteArray("LHTTP/1.0 chat\r\nsubscribe:>\r\n\r\n") << false
                                 << 403;
    QTest::newRow("subscribe a.*")
        << QByteArray("LHTTP/1.0 chat\r\nsubscribe:a.*\r\n\r\n") << false << 403;
    QTest::newRow("publish >") << QByteArray("LHTTP/1.0 chat\r\npublish:>\r\n\r\nx") << false
                               << 400;
    QTest::newRow("empty token") << QByteArray("LHTTP/1.0 chat\r\nsubscribe:a..b\r\n\r\n") << false
                                 << 400;
    QTest::newRow("last header no CRLF")
        << QByteArray("LHTTP/1.0 chat\r\nsubscribe:room") << false << 400;
    QTest::newRow("bad multipart offsets")
        << QByteArray("LHTTP/1.0 upload\r\nmultipart:0 99\r\n\r\nk:v\r\n\r\nb") << false << 400;
    QTest::newRow("multipart without blank line")
        << QByteArray("LHTTP/1.0 upload\r\nmultipart:0\r\n\r\nk:v") << false << 400;
    QTest::newRow("binary garbage") << QByteArray("\x00\xff\xfe garbage", 11) << true << 400;
    QTest::newRow("100 headers") << [] {
        QByteArray m("LHTTP/1.0 chat\r\n");
        for (int i = 0; i < 100; ++i)
            m += "h:" + QByteArray::number(i) + "\r\n";
        return m + "\r\n";
    }() << false << 400;
}

void tst_Server::badInputGetsErrorAndConnectionSurvives() {
    QFETCH(QByteArray, input);
    QFETCH(bool, binary);
    QFETCH(int, code);
    auto a = client();
    auto bystander = client();
    QVERIFY(a && bystander);
    bystander->send("LHTTP/1.0 chat\r\nsubscribe:room\r\n\r\n");
    QVERIFY(bystander->sync());

    if (binary)
        a->sendBinary(input);
    else
        a->send(input);
    QVERIFY(a->waitForMessages(1));
    const QByteArray reply = a->received.first();
    QVERIFY2(
        reply.startsWith("LHTTP/1.0 error\r\ncode:" + QByteArray::number(code) + "\r\nreason:"),
        reply.constData());
    QVERIFY(reply.endsWith("\r\n\r\n"));
    QVERIFY(reply.size() > 40);         // the reason says something
    QVERIFY(bystander->staysQuiet(50)); // nothing leaked to others

    // The same connection still works.
    a->received.clear();
    a->send("LHTTP/1.0 chat\r\nsubscribe:room\r\npublish:room\r\n\r\nalive");
    QVERIFY(a->waitForMessages(1));
    QVERIFY(a->received.first().endsWith("alive"));
    QVERIFY(bystander->waitForMessages(1));
    QVERIFY(a->connected);
}

void tst_Server::spacingInChannelLists() {
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    // Doubled and trailing spaces (which took the original off NATS) are just separators.
    a->send("LHTTP/1.0 x\r\nsubscribe:a  b \r\n\r\n");
    QVERIFY(a->sync());
    QVERIFY(a->received.isEmpty());
    QCOMPARE(server->channelCount(), 2);
    b->send("LHTTP/1.0 x\r\npublish: b\r\n\r\nto-b");
    QVERIFY(a->waitForMessages(1));
    QVERIFY(a->received.first().endsWith("to-b"));
}

void tst_Server::invalidChannelChangesNothing() {
    auto a = client();
    QVERIFY(a);
    a->send("LHTTP/1.0 x\r\nsubscribe:good >\r\npublish:good\r\n\r\nx");
    QVERIFY(a->waitForMessages(1));
    QVERIFY(a->received.first().contains("code:403"));
    QVERIFY(a->staysQuiet());
    QCOMPARE(server->channelCount(), 0);
}

void tst_Server::channelLimit() {
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    o.maxChannelsPerConnection = 3;
    restart(o);
    auto a = client();
    QVERIFY(a);
    a->send("LHTTP/1.0 x\r\nsubscribe:a b c\r\n\r\n");
    a->send("LHTTP/1.0 x\r\nsubscribe:a c\r\n\r\n"); // already joined: fine
    QVERIFY(a->sync());
    QVERIFY(a->received.isEmpty());
    a->send("LHTTP/1.0 x\r\nsubscribe:d\r\n\r\n");
    QVERIFY(a->waitForMessages(1));
    QVERIFY(a->received.first().contains("code:403"));
    QVERIFY(a->received.first().contains("channel limit"));
    QCOMPARE(server->channelCount(), 3);
}

void tst_Server::wildcardsWhenAllowed() {
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    o.allowWildcards = true;
    restart(o);
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    a->send("LHTTP/1.0 x\r\nsubscribe:news.*\r\n\r\n");
    QVERIFY(a->sync());
    b->send("LHTTP/1.0 x\r\npublish:news.sport\r\n\r\n1");
    b->send("LHTTP/1.0 x\r\npublish:news.sport.football\r\n\r\n2");
    b->send("LHTTP/1.0 x\r\npublish:weather\r\n\r\n3");
    QVERIFY(a->waitForMessages(1));
    QVERIFY(a->staysQuiet());
    QVERIFY(a->received.first().endsWith("\r\n\r\n1"));
}

void tst_Server::manySubscribers() {
    std::vector<std::unique_ptr<WsClient>> subs;
    for (int i = 0; i < 100; ++i) {
        subs.push_back(client());
        QVERIFY(subs.back());
        subs.back()->send("LHTTP/1.0 chat\r\nsubscribe:fan\r\n\r\n");
    }
    for (auto &s : subs)
        QVERIFY(s->sync());
    auto pub = client();
    QVERIFY(pub);
    for (int i = 0; i < 50; ++i)
        pub->send("LHTTP/1.0 chat\r\npublish:fan\r\n\r\n" + QByteArray::number(i));
    for (auto &s : subs) {
        QVERIFY(s->waitForMessages(50));
        QCOMPARE(s->received.size(), 50);
        for (int i = 0; i < 50; ++i)
            QVERIFY(s->received.at(i).endsWith("\r\n\r\n" + QByteArray::number(i)));
    }
    QCOMPARE(server->subscriptionCount(), 100);
}

void tst_Server::orderOfThousandMessages() {
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    a->send("LHTTP/1.0 chat\r\nsubscribe:seq\r\n\r\n");
    QVERIFY(a->sync());
    for (int i = 0; i < 1000; ++i)
        b->send("LHTTP/1.0 chat\r\npublish:seq\r\n\r\n" + QByteArray::number(i));
    QVERIFY(a->waitForMessages(1000, 20000));
    for (int i = 0; i < 1000; ++i)
        QCOMPARE(a->received.at(i),
                 "LHTTP/1.0 chat\r\npublish:seq\r\n\r\n" + QByteArray::number(i));
}

void tst_Server::disconnectCleanup() {
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    a->send("LHTTP/1.0 chat\r\nsubscribe:x y z\r\n\r\n");
    b->send("LHTTP/1.0 chat\r\nsubscribe:x\r\n\r\n");
    QVERIFY(a->sync() && b->sync());
    QCOMPARE(server->channelCount(), 3);
    QCOMPARE(server->subscriptionCount(), 4);
    a->socket.close();
    QTRY_COMPARE(server->sessionCount(), 1);
    QCOMPARE(server->channelCount(), 1);
    QCOMPARE(server->subscriptionCount(), 1);
    // An abrupt drop (no close frame) is cleaned up too.
    b->socket.abort();
    QTRY_COMPARE(server->sessionCount(), 0);
    QCOMPARE(server->channelCount(), 0);
    QCOMPARE(server->subscriptionCount(), 0);
}

void tst_Server::thousandConnectCycles() {
    // 1,000 connect/subscribe/disconnect cycles, 50 at a time; each subscribes to a shared
    // channel and one of its own.
    for (int round = 0; round < 20; ++round) {
        std::vector<std::unique_ptr<WsClient>> batch;
        for (int i = 0; i < 50; ++i) {
            auto c = std::make_unique<WsClient>();
            c->socket.open(url());
            batch.push_back(std::move(c));
        }
        for (int i = 0; i < 50; ++i) {
            auto &c = batch[size_t(i)];
            QTRY_VERIFY(c->connected);
            c->send("LHTTP/1.0 chat\r\nsubscribe:shared own." + QByteArray::number(round * 50 + i) +
                    "\r\n\r\n");
        }
        for (auto &c : batch)
            QVERIFY(c->sync());
        QCOMPARE(server->channelCount(), 51);
        for (int i = 0; i < 50; ++i) {
            if (i % 2)
                batch[size_t(i)]->socket.close();
            else
                batch[size_t(i)]->socket.abort();
        }
        batch.clear();
        QTRY_COMPARE(server->sessionCount(), 0);
    }
    QCOMPARE(server->counters().connectionsAccepted, 1000u);
    QCOMPARE(server->sessionCount(), 0);
    QCOMPARE(server->channelCount(), 0);
    QCOMPARE(server->subscriptionCount(), 0);
}

void tst_Server::processorAndFiltersOrder() {
    server->addHeaderFilter(std::make_shared<TracingFilter>(trace));
    auto a = client();
    QVERIFY(a);
    QTRY_VERIFY(trace->log().contains(QStringLiteral("filter.open")));
    trace->clear();
    a->send("LHTTP/1.0 chat\r\nmultipart:0\r\nsubscribe:r\r\n\r\n\r\nbody");
    QVERIFY(a->sync());
    // multipart parsed before user filters and the processor; the processor runs before
    // the built-in subscribe; user after-filters after it.
    QCOMPARE(trace->log(),
             (QStringList{QStringLiteral("filter.before:1"), QStringLiteral("chat.message:0"),
                          QStringLiteral("filter.after:1"),
                          // the sync probe: no processor for its command
                          QStringLiteral("filter.before:0")}));
}

void tst_Server::processorEditsWhatSubscribersGet() {
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    a->send("LHTTP/1.0 x\r\nsubscribe:room\r\n\r\n");
    QVERIFY(a->sync());
    b->send("LHTTP/1.0 chat\r\nrename:1\r\npublish:room\r\n\r\nbody");
    QVERIFY(a->waitForMessages(1));
    QCOMPARE(a->received.first(),
             QByteArray("LHTTP/1.0 renamed\r\nrename:1\r\npublish:room\r\ncount:1\r\n\r\nbody"));
    // The processor's reply goes to the sender only.
    b->send("LHTTP/1.0 chat\r\nask:1\r\n\r\nq");
    QVERIFY(b->waitForMessages(1));
    QCOMPARE(b->received.first(), QByteArray("LHTTP/1.0 reply\r\n\r\nanswer:q"));
    QVERIFY(a->staysQuiet(50));
}

void tst_Server::processorDropAndFilterBlock() {
    server->addHeaderFilter(std::make_shared<TracingFilter>(trace));
    auto a = client();
    QVERIFY(a);
    a->send("LHTTP/1.0 chat\r\ndrop:1\r\nsubscribe:room\r\n\r\n");
    a->send("LHTTP/1.0 chat\r\nblock:1\r\nsubscribe:room\r\n\r\n");
    QVERIFY(a->sync());
    QCOMPARE(server->channelCount(), 0);
    QVERIFY(!trace->log().contains(QStringLiteral("chat.message:0")) ||
            trace->log().count(QStringLiteral("chat.message:0")) == 1);
}

void tst_Server::lifecycleBalanced() {
    server->addHeaderFilter(std::make_shared<TracingFilter>(trace));
    {
        auto a = client();
        auto b = client();
        QVERIFY(a && b);
        // Open on connect, not on the first message.
        QTRY_COMPARE(trace->log().count(QStringLiteral("chat.open")), 2);
        a->send("LHTTP/1.0 other\r\n\r\n");
        QVERIFY(a->sync());
    }
    QTRY_COMPARE(server->sessionCount(), 0);
    QCOMPARE(trace->log().count(QStringLiteral("chat.close")), 2);
    QCOMPARE(trace->log().count(QStringLiteral("filter.open")), 2);
    QCOMPARE(trace->log().count(QStringLiteral("filter.close")), 2);
}

void tst_Server::serverSidePublish() {
    auto a = client();
    QVERIFY(a);
    a->send("LHTTP/1.0 x\r\nsubscribe:mike\r\n\r\n");
    QVERIFY(a->sync());
    Message::HeaderList headers;
    headers.append({"from", "backend"});
    QVERIFY(!server->publish({"mike"}, "yourCommand", headers, "hello mike!"));
    QVERIFY(a->waitForMessages(1));
    QCOMPARE(
        a->received.first(),
        QByteArray("LHTTP/1.0 yourCommand\r\nfrom:backend\r\npublish:mike\r\n\r\nhello mike!"));
    QCOMPARE(server->publish({"bad..name"}, Message("c")).code, 400);
    QCOMPARE(server->publish({}, Message("c")).code, 400);
}

void tst_Server::binaryFramesAndNonUtf8() {
    auto a = client();
    auto b = client();
    QVERIFY(a && b);
    a->send("LHTTP/1.0 x\r\nsubscribe:bin\r\n\r\n");
    QVERIFY(a->sync());
    // A binary frame holding valid UTF-8 is delivered as text (the server sends text).
    b->sendBinary("LHTTP/1.0 x\r\npublish:bin\r\n\r\nutf8 \xc3\xa9");
    // Bytes that are not UTF-8 cannot go in a text frame: delivered as binary, unchanged.
    const QByteArray raw("LHTTP/1.0 x\r\npublish:bin\r\n\r\n\xff\xfe\x00\x01", 32);
    b->sendBinary(raw);
    QVERIFY(a->waitForMessages(2));
    QCOMPARE(a->received.at(0), QByteArray("LHTTP/1.0 x\r\npublish:bin\r\n\r\nutf8 \xc3\xa9"));
    QCOMPARE(a->receivedBinary.at(0), false);
    QCOMPARE(a->received.at(1), raw);
    QCOMPARE(a->receivedBinary.at(1), true);
}

void tst_Server::frameLengthEncodings_data() {
    // Whole LHTTP message sizes around the three WebSocket length encodings (7-bit, 16-bit
    // and 64-bit, RFC 6455 §5.2), as text and as binary (not UTF-8).
    QTest::addColumn<int>("size");
    QTest::addColumn<bool>("binary");
    for (int size : {34, 125, 126, 127, 65535, 65536, 65537, 200000}) {
        QTest::addRow("%d text", size) << size << false;
        QTest::addRow("%d binary", size) << size << true;
    }
}

void tst_Server::frameLengthEncodings() {
    QFETCH(int, size);
    QFETCH(bool, binary);
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    o.limits.maxMessageSize = 256 * 1024;
    restart(o);
    auto a = client();
    auto a2 = client();
    auto b = client();
    QVERIFY(a && a2 && b);
    for (auto *c : {a.get(), a2.get()}) {
        c->socket.setMaxAllowedIncomingFrameSize(1 << 20);
        c->socket.setMaxAllowedIncomingMessageSize(1 << 20);
        c->send("LHTTP/1.0 chat\r\nsubscribe:len\r\n\r\n");
        QVERIFY(c->sync());
    }
    QByteArray message("LHTTP/1.0 chat\r\npublish:len\r\n\r\n");
    QVERIFY(message.size() < size);
    QByteArray body(size - message.size(), 'b');
    for (qsizetype i = 0; i < body.size(); ++i)
        body[i] = char('a' + i % 26);
    if (binary)
        body[body.size() / 2] = char(0xff); // not UTF-8: must go as a binary frame
    message += body;
    QCOMPARE(message.size(), size);
    // Twice: the second frame must start exactly where the first ended.
    b->sendBinary(message);
    b->sendBinary(message);
    for (auto *c : {a.get(), a2.get()}) {
        QVERIFY(c->waitForMessages(2));
        for (int i = 0; i < 2; ++i) {
            QCOMPARE(c->received.at(i).size(), message.size());
            QVERIFY(c->received.at(i) == message);
            QCOMPARE(c->receivedBinary.at(i), binary);
        }
    }
}

void tst_Server::deliveredAsOneUnmaskedFrame() {
    // What a strict peer sees on the wire: FIN set, text opcode, no mask, the shortest
    // length form, the payload byte for byte — and the same for every subscriber.
    auto b = client();
    QVERIFY(b);
    RawWsClient raw[2];
    for (RawWsClient &r : raw) {
        QVERIFY(r.open(server->serverPort()));
        r.sendText("LHTTP/1.0 chat\r\nsubscribe:wire\r\n\r\n");
    }
    QTRY_COMPARE(server->subscriptionCount(), 2);
    const QByteArray message("LHTTP/1.0 chat\r\npublish:wire\r\n\r\n" + QByteArray(300, 'w'));
    b->send(message);
    for (RawWsClient &r : raw) {
        QByteArray data;
        QTRY_VERIFY((data += r.socket.readAll()).size() >= 4 + message.size());
        QCOMPARE(quint8(data[0]), quint8(0x81));
        QCOMPARE(quint8(data[1]), quint8(126)); // unmasked, 16-bit length follows
        QCOMPARE((quint8(data[2]) << 8) | quint8(data[3]), int(message.size()));
        QCOMPARE(data.mid(4), message);
    }
}

void tst_Server::idleSocketBuffersReleased() {
    // Socket buffers are given back after the handshake and after two quiet ticks, and the
    // connection works on as before.
    auto a = client();
    QVERIFY(a);
    QTRY_COMPARE(server->counters().socketBuffersReleased, 1u);
    a->send("LHTTP/1.0 chat\r\nsubscribe:quiet\r\n\r\n");
    QVERIFY(a->sync());
    QTRY_COMPARE_WITH_TIMEOUT(server->counters().socketBuffersReleased, 2u, 10000);
    auto b = client();
    QVERIFY(b);
    for (int round = 0; round < 3; ++round) {
        const quint64 released = server->counters().socketBuffersReleased;
        const QByteArray m = "LHTTP/1.0 chat\r\npublish:quiet\r\n\r\n" + QByteArray::number(round) +
                             QByteArray(20000, 'q');
        b->send(m);
        QVERIFY(a->waitForMessages(round + 1));
        QCOMPARE(a->received.at(round), m);
        QTRY_VERIFY_WITH_TIMEOUT(server->counters().socketBuffersReleased >= released + 2, 10000);
    }
}

void tst_Server::overHardLimitClosesWith1009() {
    auto a = client();
    auto other = client();
    QVERIFY(a && other);
    a->send("LHTTP/1.0 x\r\n\r\n" +
            QByteArray(server->options().effectiveHardMessageLimit() + 10, 'x'));
    QVERIFY(a->waitForDisconnect());
    QCOMPARE(a->closeCode, QWebSocketProtocol::CloseCodeTooMuchData);
    QVERIFY(other->sync()); // others unaffected
}

void tst_Server::plainHttpOnSamePort() {
    QTcpSocket http;
    http.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(http.waitForConnected());
    http.write("GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    QTRY_VERIFY(http.bytesAvailable() > 0 && http.state() != QAbstractSocket::ConnectedState);
    const QByteArray response = http.readAll();
    QVERIFY2(response.startsWith("HTTP/1.1 404"), response.constData());
    // WebSocket on the same port is unaffected.
    auto a = client();
    QVERIFY(a);
}

void tst_Server::signalsReportActivity() {
    QList<quint64> opened;
    QList<QByteArray> subscribed;
    QList<QByteArray> published;
    QList<int> errors;
    connect(server.get(), &Server::sessionOpened, this, [&](quint64 id) { opened << id; });
    connect(server.get(), &Server::subscribed, this,
            [&](quint64, const QByteArray &c) { subscribed << c; });
    connect(server.get(), &Server::messagePublished, this,
            [&](const QByteArray &c, qsizetype, int n) {
                published << c + '/' + QByteArray::number(n);
            });
    connect(server.get(), &Server::errorReplied, this,
            [&](quint64, int code, const QByteArray &) { errors << code; });
    auto a = client();
    QVERIFY(a);
    a->send("LHTTP/1.0 x\r\nsubscribe:s1\r\npublish:s1\r\n\r\n");
    QVERIFY(a->waitForMessages(1));
    QVERIFY(a->sync());
    QCOMPARE(opened.size(), 1);
    QCOMPARE(subscribed, QList<QByteArray>{"s1"});
    QCOMPARE(published, QList<QByteArray>{"s1/1"});
    QCOMPARE(errors, QList<int>{400}); // the sync probe
}

QTEST_MAIN(tst_Server)
#include "tst_server.moc"

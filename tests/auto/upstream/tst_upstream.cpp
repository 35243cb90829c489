// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// The `upstream` header against a real HTTP backend (HttpRecorder) on loopback.

#include "httprecorder.h"
#include "server.h"
#include "upstream.h"
#include "wsclient.h"

#include <QElapsedTimer>
#include <QTest>

using namespace lhttp;

class tst_Upstream : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void forwardsAsDocumented();
    void getSendsNoBody();
    void readmeChatRecordExample();
    void refusals_data();
    void refusals();
    void failuresReachSenderOthersUnaffected();
    void upstreamReplyOptIn();
    void concurrentRequestsDoNotSerialise();
    void senderGoneBeforeAnswer();

private:
    void restart(ServerOptions o);
    std::unique_ptr<WsClient> client();
    std::unique_ptr<Server> server;
    std::unique_ptr<HttpRecorder> backend;
};

void tst_Upstream::restart(ServerOptions o) {
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    server = std::make_unique<Server>(o);
    QVERIFY(server->listen());
}

void tst_Upstream::init() {
    backend = std::make_unique<HttpRecorder>();
    QVERIFY(backend->isListening());
    ServerOptions o;
    o.upstreamAllow = {QStringLiteral("http://127.0.0.1:%1/").arg(backend->serverPort())};
    o.upstreamTimeoutMs = 1000;
    restart(o);
}

void tst_Upstream::cleanup() {
    server.reset();
    backend.reset();
}

std::unique_ptr<WsClient> tst_Upstream::client() {
    auto c = std::make_unique<WsClient>();
    if (!c->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(server->serverPort()))))
        return nullptr;
    return c;
}

void tst_Upstream::forwardsAsDocumented() {
    auto a = client();
    QVERIFY(a);
    const QString target =
        backend->url(QStringLiteral("/record")).toString() + QStringLiteral("?user=user_a&age=26");
    a->send("LHTTP/1.0 chat\r\nupstream:POST " + target.toUtf8() +
            "\r\ncontent-type:json\r\nx-trace:abc:def\r\nsubscribe:r\r\nconnection:close\r\n\r\n{"
            "\"m\":\"hi\"}\r\n\r\nend");
    QTRY_COMPARE(backend->requests.size(), 1);
    const HttpRecorder::Request &r = backend->requests.first();
    QCOMPARE(r.method, QByteArray("POST"));
    QCOMPARE(r.target, QByteArray("/record?user=user_a&age=26"));
    QCOMPARE(r.body, QByteArray("{\"m\":\"hi\"}\r\n\r\nend")); // the LHTTP body, whole
    QCOMPARE(r.header("content-type"), QByteArray("json"));
    QCOMPARE(r.header("x-trace"), QByteArray("abc:def"));
    QCOMPARE(r.header("X-Lhttp-Command"), QByteArray("chat"));
    QVERIFY(!r.header("X-Lhttp-Session").isEmpty());
    // Built-in and hop-by-hop headers stay home.
    QVERIFY(!r.hasHeader("subscribe"));
    QVERIFY(!r.hasHeader("upstream"));
    QVERIFY(r.header("connection").compare("close", Qt::CaseInsensitive) != 0);
    // Success is silent by default, as in the original.
    QVERIFY(a->staysQuiet(100));
}

void tst_Upstream::getSendsNoBody() {
    auto a = client();
    QVERIFY(a);
    a->send("LHTTP/1.0 chat\r\nupstream:GET " + backend->url(QStringLiteral("/q?x=1")).toEncoded() +
            "\r\n\r\nbody is ignored");
    QTRY_COMPARE(backend->requests.size(), 1);
    QCOMPARE(backend->requests.first().method, QByteArray("GET"));
    QVERIFY(backend->requests.first().body.isEmpty());
    // other methods pass through as given
    a->send("LHTTP/1.0 chat\r\nupstream:put " + backend->url(QStringLiteral("/p")).toEncoded() +
            "\r\n\r\nput-body");
    QTRY_COMPARE(backend->requests.size(), 2);
    QCOMPARE(backend->requests.at(1).method, QByteArray("PUT"));
    QCOMPARE(backend->requests.at(1).body, QByteArray("put-body"));
}

void tst_Upstream::readmeChatRecordExample() {
    auto jack = client();
    auto mike = client();
    QVERIFY(jack && mike);
    mike->send("LHTTP/1.0 chat\r\nsubscribe:channel_mike\r\n\r\n");
    QVERIFY(mike->sync());
    const QByteArray message = "LHTTP/1.0 chat\r\nupstream:POST " +
                               backend->url(QStringLiteral("/record")).toEncoded() +
                               "\r\npublish:channel_mike\r\n\r\nhello mike,I am jack";
    jack->send(message);
    QVERIFY(mike->waitForMessages(1));
    QCOMPARE(mike->received.first(), message);
    QTRY_COMPARE(backend->requests.size(), 1);
    QCOMPARE(backend->requests.first().body, QByteArray("hello mike,I am jack"));
    QCOMPARE(backend->requests.first().target, QByteArray("/record"));
}

void tst_Upstream::refusals_data() {
    QTest::addColumn<bool>("noAllowList");
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<int>("code");
    QTest::newRow("no allow-list") << true << QByteArray("POST http://127.0.0.1:1/x") << 403;
    QTest::newRow("not allowed host") << false << QByteArray("POST http://10.0.0.1/x") << 403;
    QTest::newRow("prefix trick") << false << QByteArray("POST http://127.0.0.1:1@evil/x") << 403;
    QTest::newRow("no URL") << false << QByteArray("POST") << 400;
    QTest::newRow("not http") << false << QByteArray("POST file:///etc/passwd") << 400;
    QTest::newRow("bad method") << false << QByteArray("P0ST http://127.0.0.1/") << 400;
}

void tst_Upstream::refusals() {
    QFETCH(bool, noAllowList);
    QFETCH(QByteArray, value);
    QFETCH(int, code);
    if (noAllowList)
        restart({});
    auto a = client();
    QVERIFY(a);
    a->send("LHTTP/1.0 chat\r\nupstream:" + value + "\r\n\r\nb");
    QVERIFY(a->waitForMessages(1));
    QVERIFY2(a->received.first().startsWith("LHTTP/1.0 error\r\ncode:" + QByteArray::number(code)),
             a->received.first().constData());
    QVERIFY(a->received.first().contains("upstream"));
    QVERIFY(backend->requests.isEmpty());
}

void tst_Upstream::failuresReachSenderOthersUnaffected() {
    auto a = client();
    auto other = client();
    QVERIFY(a && other);
    other->send("LHTTP/1.0 chat\r\nsubscribe:live\r\n\r\n");
    QVERIFY(other->sync());

    // A backend that never answers: 504 after the timeout, meanwhile everything flows.
    backend->neverAnswer = true;
    a->send("LHTTP/1.0 chat\r\nupstream:POST " + backend->url(QStringLiteral("/slow")).toEncoded() +
            "\r\n\r\nb");
    QTRY_COMPARE(backend->requests.size(), 1);
    for (int i = 0; i < 20; ++i)
        a->send("LHTTP/1.0 chat\r\npublish:live\r\n\r\n" + QByteArray::number(i));
    QVERIFY(other->waitForMessages(20, 500)); // well before the 1 s timeout
    QVERIFY(a->waitForMessages(1, 3000));
    QVERIFY2(a->received.first().startsWith("LHTTP/1.0 error\r\ncode:504"),
             a->received.first().constData());

    // Nothing listening on an allowed port: 502.
    QTcpServer closed;
    closed.listen(QHostAddress::LocalHost, 0);
    const quint16 deadPort = closed.serverPort();
    closed.close();
    ServerOptions o = server->options();
    o.upstreamAllow = {QStringLiteral("http://127.0.0.1:")};
    restart(o);
    auto b = client();
    QVERIFY(b);
    b->send("LHTTP/1.0 chat\r\nupstream:POST http://127.0.0.1:" + QByteArray::number(deadPort) +
            "/x\r\n\r\nb");
    QVERIFY(b->waitForMessages(1, 3000));
    QVERIFY2(b->received.first().startsWith("LHTTP/1.0 error\r\ncode:502"),
             b->received.first().constData());

    // A backend answering 500: 502 naming the status.
    backend->neverAnswer = false;
    backend->status = 500;
    b->received.clear();
    b->send("LHTTP/1.0 chat\r\nupstream:POST " + backend->url(QStringLiteral("/err")).toEncoded() +
            "\r\n\r\nb");
    QVERIFY(b->waitForMessages(1, 3000));
    QVERIFY(b->received.first().startsWith("LHTTP/1.0 error\r\ncode:502"));
    QVERIFY(b->received.first().contains("answered 500"));
    QVERIFY(b->connected);
    QCOMPARE(server->upstreamStats().failed, 2u);
}

void tst_Upstream::upstreamReplyOptIn() {
    auto a = client();
    QVERIFY(a);
    backend->responseBody = "{\"saved\":true}";
    backend->contentType = "application/json";
    const QByteArray target = "POST " + backend->url(QStringLiteral("/record")).toEncoded();
    a->send("LHTTP/1.0 chat\r\nupstream:" + target + "\r\nupstream-reply:true\r\n\r\nb");
    QVERIFY(a->waitForMessages(1));
    QCOMPARE(a->received.first(), "LHTTP/1.0 upstream-reply\r\nstatus:200\r\nupstream:" + target +
                                      "\r\ncontent-type:application/json\r\n\r\n{\"saved\":true}");
    // A non-2xx answer comes back the same way, with its status.
    backend->status = 404;
    backend->responseBody = "nope";
    a->send("LHTTP/1.0 chat\r\nupstream:" + target + "\r\nupstream-reply:true\r\n\r\nb");
    QVERIFY(a->waitForMessages(2));
    QVERIFY(a->received.at(1).startsWith("LHTTP/1.0 upstream-reply\r\nstatus:404\r\n"));
    QVERIFY(a->received.at(1).endsWith("\r\n\r\nnope"));
}

void tst_Upstream::concurrentRequestsDoNotSerialise() {
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 100; ++i) {
        clients.push_back(client());
        QVERIFY(clients.back());
    }
    const QByteArray msg = "LHTTP/1.0 chat\r\nupstream:POST " +
                           backend->url(QStringLiteral("/d")).toEncoded() +
                           "\r\nupstream-reply:true\r\n\r\nb";
    // One round with an instant backend measures this machine's overhead (it is shared and
    // noisy); the round with a 300 ms backend must cost about one delay more, not 100.
    auto round = [&](int delayMs) {
        backend->delayMs = delayMs;
        for (auto &c : clients)
            c->received.clear();
        QElapsedTimer t;
        t.start();
        for (auto &c : clients)
            c->send(msg);
        for (auto &c : clients) {
            if (!c->waitForMessages(1, 20000))
                return qint64(-1);
        }
        return t.elapsed();
    };
    const qint64 overhead = round(0);
    QVERIFY(overhead >= 0);
    const qint64 elapsed = round(300);
    QVERIFY(elapsed >= 0);
    qInfo("100 upstream requests: %lld ms with an instant backend, %lld ms with a 300 ms one",
          overhead, elapsed);
    for (auto &c : clients)
        QVERIFY2(c->received.first().contains("status:200"), c->received.first().constData());
    QCOMPARE(server->upstreamStats().requests, 200u);
    QCOMPARE(server->upstreamInFlight(), 0);
    // Serialised would add 30 s; a single QNetworkAccessManager (6 connections per host)
    // would add 17 x 300 ms.
    QVERIFY2(elapsed - overhead < 3 * 300, qPrintable(QString::number(elapsed - overhead)));
}

void tst_Upstream::senderGoneBeforeAnswer() {
    backend->delayMs = 200;
    {
        auto a = client();
        QVERIFY(a);
        a->send("LHTTP/1.0 chat\r\nupstream:POST " +
                backend->url(QStringLiteral("/x")).toEncoded() +
                "\r\nupstream-reply:true\r\n\r\nb");
        QTRY_COMPARE(backend->requests.size(), 1);
    }
    QTRY_COMPARE(server->sessionCount(), 0);
    QTRY_COMPARE(server->upstreamInFlight(), 0);
    auto b = client();
    QVERIFY(b && b->sync());
}

QTEST_MAIN(tst_Upstream)
#include "tst_upstream.moc"

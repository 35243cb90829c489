// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// The HTTP side of the port against a real Server: POST /publish, /healthz, /metrics,
// static files, keep-alive and bounded request heads.

#include "http.h"
#include "httpclient.h"
#include "server.h"
#include "wsclient.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

using namespace lhttp;

class tst_HttpApi : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void publishByteForByte();
    void publishErrors_data();
    void publishErrors();
    void publishApiKey();
    void publishTooLargeIsRefusedBeforeReading();
    void health();
    void metricsFormatAndCounts();
    void staticFiles();
    void keepAliveAndBadHeads();
    void requestHeadParsing_data();
    void requestHeadParsing();
    void responseSerialization();

private:
    QUrl http(const QString &path) const {
        return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(server->serverPort()).arg(path));
    }
    void restart(ServerOptions o);
    std::unique_ptr<WsClient> subscriber(const QByteArray &channels);
    std::unique_ptr<Server> server;
    QNetworkAccessManager nam;
};

void tst_HttpApi::restart(ServerOptions o) {
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    server = std::make_unique<Server>(o);
    QVERIFY(server->listen());
}

void tst_HttpApi::init() {
    restart({});
}

void tst_HttpApi::cleanup() {
    server.reset();
}

std::unique_ptr<WsClient> tst_HttpApi::subscriber(const QByteArray &channels) {
    auto c = std::make_unique<WsClient>();
    if (!c->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(server->serverPort()))))
        return nullptr;
    c->send("LHTTP/1.0 chat\r\nsubscribe:" + channels + "\r\n\r\n");
    if (!c->sync())
        return nullptr;
    return c;
}

void tst_HttpApi::publishByteForByte() {
    auto a = subscriber("channel_test other");
    QVERIFY(a);
    // The seed README's example, plus header order that a Go map would have scrambled.
    const QByteArray body(
        "LHTTP/1.0 chat\r\nz:1\r\npublish:channel_test\r\na:2\r\n\r\nhello channel_test guys!");
    const HttpResult r = httpRequest(nam, "POST", http(QStringLiteral("/publish")), body);
    QCOMPARE(r.status, 200);
    QVERIFY(r.body.isEmpty());
    QVERIFY(a->waitForMessages(1));
    QCOMPARE(a->received.first(), body);
    // Two channels: one copy each.
    const QByteArray two("LHTTP/1.0 chat\r\npublish:channel_test other\r\n\r\nx");
    QCOMPARE(httpRequest(nam, "POST", http(QStringLiteral("/publish")), two).status, 200);
    QVERIFY(a->waitForMessages(3));
    QVERIFY(a->staysQuiet());
}

void tst_HttpApi::publishErrors_data() {
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("reason");
    QTest::newRow("GET") << QByteArray("GET") << QByteArray() << 405 << QByteArray("use POST");
    QTest::newRow("PUT") << QByteArray("PUT") << QByteArray("LHTTP/1.0 c\r\npublish:x\r\n\r\n")
                         << 405 << QByteArray("use POST");
    QTest::newRow("not LHTTP") << QByteArray("POST") << QByteArray("hello") << 400
                               << QByteArray("not an LHTTP/1.0 message");
    QTest::newRow("bare LF") << QByteArray("POST") << QByteArray("LHTTP/1.0 c\npublish:x\n\nb")
                             << 400 << QByteArray("not terminated");
    QTest::newRow("no publish header")
        << QByteArray("POST") << QByteArray("LHTTP/1.0 c\r\nsubscribe:x\r\n\r\nb") << 400
        << QByteArray("no publish header");
    QTest::newRow("empty publish header")
        << QByteArray("POST") << QByteArray("LHTTP/1.0 c\r\npublish:  \r\n\r\nb") << 400
        << QByteArray("no publish header");
    QTest::newRow("bad channel") << QByteArray("POST")
                                 << QByteArray("LHTTP/1.0 c\r\npublish:a..b\r\n\r\nb") << 400
                                 << QByteArray("empty token");
    QTest::newRow("wildcard") << QByteArray("POST")
                              << QByteArray("LHTTP/1.0 c\r\npublish:>\r\n\r\nb") << 400
                              << QByteArray("wildcard");
}

void tst_HttpApi::publishErrors() {
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, body);
    QFETCH(int, status);
    QFETCH(QByteArray, reason);
    auto a = subscriber("x");
    QVERIFY(a);
    const HttpResult r = httpRequest(nam, method, http(QStringLiteral("/publish")), body);
    QCOMPARE(r.status, status);
    QVERIFY2(r.body.contains(reason), r.body.constData());
    if (status == 405)
        QCOMPARE(r.header("Allow"), QByteArray("POST"));
    QVERIFY(a->staysQuiet(50));
}

void tst_HttpApi::publishApiKey() {
    ServerOptions o;
    o.apiKey = "s3cret";
    restart(o);
    auto a = subscriber("k");
    QVERIFY(a);
    const QByteArray body("LHTTP/1.0 c\r\npublish:k\r\n\r\nb");
    const QUrl url = http(QStringLiteral("/publish"));
    HttpResult r = httpRequest(nam, "POST", url, body);
    QCOMPARE(r.status, 401);
    QVERIFY(r.body.contains("API key"));
    QCOMPARE(r.header("WWW-Authenticate"), QByteArray("Bearer"));
    r = httpRequest(nam, "POST", url, body, {{"Authorization", "Bearer wrong"}});
    QCOMPARE(r.status, 401);
    r = httpRequest(nam, "POST", url, body, {{"Authorization", "s3cret"}});
    QCOMPARE(r.status, 401);
    QVERIFY(a->staysQuiet(50));
    r = httpRequest(nam, "POST", url, body, {{"Authorization", "Bearer s3cret"}});
    QCOMPARE(r.status, 200);
    QVERIFY(a->waitForMessages(1));
}

void tst_HttpApi::publishTooLargeIsRefusedBeforeReading() {
    // A client that sends the whole 70 KiB body still reads the 413 (lingering close).
    const QByteArray big = "LHTTP/1.0 c\r\npublish:x\r\n\r\n" + QByteArray(70 * 1024, 'x');
    QTcpSocket full;
    full.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(full.waitForConnected());
    full.write("POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: " +
               QByteArray::number(big.size()) + "\r\n\r\n" + big);
    QTRY_VERIFY(full.bytesAvailable() > 0);
    const QByteArray answer = full.readAll();
    QVERIFY2(answer.startsWith("HTTP/1.1 413"), answer.constData());
    QVERIFY(answer.contains("exceeds the limit"));
    // A raw client announcing a huge body gets 413 at once, without sending it.
    QTcpSocket raw;
    raw.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(raw.waitForConnected());
    raw.write("POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n");
    QTRY_VERIFY(raw.bytesAvailable() > 0);
    QVERIFY(raw.readAll().startsWith("HTTP/1.1 413"));
}

void tst_HttpApi::health() {
    const HttpResult r = httpRequest(nam, "GET", http(QStringLiteral("/healthz")));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("Content-Type"), QByteArray("application/json"));
    const QJsonObject o = QJsonDocument::fromJson(r.body).object();
    QCOMPARE(o.value(QStringLiteral("status")).toString(), QStringLiteral("ok"));
    QCOMPARE(o.value(QStringLiteral("listening")).toBool(), true);
    QCOMPARE(o.value(QStringLiteral("broker")).toObject().value(QStringLiteral("state")).toString(),
             QStringLiteral("embedded"));
}

// Parses the Prometheus text format strictly enough to catch a malformed line; returns
// sample name+labels → value.
static QHash<QString, double> parsePrometheus(const QByteArray &text, QString *error) {
    QHash<QString, double> out;
    static const QRegularExpression sample(QStringLiteral(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)?\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$)"));
    static const QRegularExpression meta(QStringLiteral(
        R"(^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$)"));
    QSet<QString> typed;
    for (const QByteArray &l : text.split('\n')) {
        const QString line = QString::fromUtf8(l);
        if (line.isEmpty())
            continue;
        if (line.startsWith(u'#')) {
            if (!meta.match(line).hasMatch()) {
                *error = line;
                return {};
            }
            if (line.startsWith(QStringLiteral("# TYPE ")))
                typed.insert(line.section(u' ', 2, 2));
            continue;
        }
        const auto m = sample.match(line);
        if (!m.hasMatch()) {
            *error = line;
            return {};
        }
        QString family = m.captured(1);
        for (const char *suffix : {"_bucket", "_sum", "_count"}) {
            if (!typed.contains(family) && family.endsWith(QLatin1String(suffix)))
                family.chop(int(qstrlen(suffix)));
        }
        if (!typed.contains(family)) {
            *error = QStringLiteral("sample before its TYPE: ") + line;
            return {};
        }
        out.insert(m.captured(1) + m.captured(2), m.captured(5).toDouble());
    }
    return out;
}

void tst_HttpApi::metricsFormatAndCounts() {
    auto read = [&] {
        const HttpResult r = httpRequest(nam, "GET", http(QStringLiteral("/metrics")));
        [&] { QCOMPARE(r.status, 200); }();
        QString error;
        const auto m = parsePrometheus(r.body, &error);
        if (!error.isEmpty())
            qWarning() << "bad metrics line:" << error;
        return m;
    };
    const auto before = read();
    QVERIFY(!before.isEmpty());
    QVERIFY(before.value(QStringLiteral("lhttp_process_resident_memory_bytes")) > 1e6);
    QCOMPARE(before.value(QStringLiteral("lhttp_broker_state{state=\"embedded\"}")), 1.0);

    // Known workload: 3 subscribers on one channel, 10 publishes, 2 bad messages.
    std::vector<std::unique_ptr<WsClient>> subs;
    for (int i = 0; i < 3; ++i) {
        subs.push_back(subscriber("m"));
        QVERIFY(subs.back());
    }
    auto pub = subscriber("none");
    QVERIFY(pub);
    const auto mid = read();
    for (int i = 0; i < 10; ++i)
        pub->send("LHTTP/1.0 c\r\npublish:m\r\n\r\n0123456789");
    pub->send("junk");
    pub->send("LHTTP/1.0 c\r\nsubscribe:>\r\n\r\n");
    QVERIFY(pub->waitForMessages(2));
    for (auto &s : subs)
        QVERIFY(s->waitForMessages(10));
    const auto after = read();
    auto delta = [&](const char *name) {
        return after.value(QString::fromLatin1(name)) - mid.value(QString::fromLatin1(name));
    };
    QCOMPARE(after.value(QStringLiteral("lhttp_connections")), 4.0);
    QCOMPARE(after.value(QStringLiteral("lhttp_channels")), 2.0);
    QCOMPARE(after.value(QStringLiteral("lhttp_subscriptions")), 4.0);
    QCOMPARE(delta("lhttp_messages_received_total"), 12.0);
    QCOMPARE(delta("lhttp_publishes_total"), 10.0);
    QCOMPARE(delta("lhttp_messages_sent_total"), 32.0); // 30 deliveries + 2 error replies
    QCOMPARE(delta("lhttp_errors_total{code=\"400\"}"), 1.0);
    QCOMPARE(delta("lhttp_errors_total{code=\"403\"}"), 1.0);
    QCOMPARE(delta("lhttp_bytes_sent_total") >= 30 * 37, true);
    QVERIFY(after.contains(QStringLiteral("lhttp_upstream_duration_seconds_bucket{le=\"+Inf\"}")));
}

void tst_HttpApi::staticFiles() {
    QTemporaryDir dir;
    QFile index(dir.filePath(QStringLiteral("index.html")));
    QVERIFY(index.open(QIODevice::WriteOnly));
    index.write("<!doctype html><title>t</title>");
    index.close();
    QDir(dir.path()).mkdir(QStringLiteral("js"));
    QFile js(dir.filePath(QStringLiteral("js/app.js")));
    QVERIFY(js.open(QIODevice::WriteOnly));
    js.write("console.log(1)");
    js.close();
    ServerOptions o;
    o.staticDir = dir.path();
    restart(o);
    HttpResult r = httpRequest(nam, "GET", http(QStringLiteral("/")));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("Content-Type"), QByteArray("text/html; charset=utf-8"));
    QCOMPARE(r.body, QByteArray("<!doctype html><title>t</title>"));
    r = httpRequest(nam, "GET", http(QStringLiteral("/js/app.js")));
    QCOMPARE(r.status, 200);
    QVERIFY(r.header("Content-Type").startsWith("text/javascript"));
    QCOMPARE(httpRequest(nam, "GET", http(QStringLiteral("/missing.html"))).status, 404);
    QCOMPARE(httpRequest(nam, "POST", http(QStringLiteral("/")), "x").status, 405);
    // Escaping the directory is impossible, however the path is spelled.
    QTcpSocket raw;
    raw.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(raw.waitForConnected());
    raw.write("GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    QTRY_VERIFY(raw.state() != QAbstractSocket::ConnectedState);
    QVERIFY(raw.readAll().startsWith("HTTP/1.1 404"));
    // --no-static
    o.serveStatic = false;
    restart(o);
    QCOMPARE(httpRequest(nam, "GET", http(QStringLiteral("/"))).status, 404);
}

void tst_HttpApi::keepAliveAndBadHeads() {
    QTcpSocket raw;
    raw.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(raw.waitForConnected());
    // Two requests on one connection, the second pipelined right behind the first.
    raw.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    QTRY_VERIFY(raw.peek(1 << 16).count("HTTP/1.1 200") == 2);
    QCOMPARE(raw.state(), QAbstractSocket::ConnectedState);
    raw.readAll();
    raw.write("NONSENSE\r\n\r\n");
    QTRY_VERIFY(raw.state() != QAbstractSocket::ConnectedState);
    QVERIFY(raw.readAll().startsWith("HTTP/1.1 400"));

    QTcpSocket big;
    big.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(big.waitForConnected());
    big.write("GET / HTTP/1.1\r\nX: " + QByteArray(20000, 'a'));
    QTRY_VERIFY(big.bytesAvailable() > 0);
    QVERIFY(big.readAll().startsWith("HTTP/1.1 431"));

    // An incomplete head is dropped after the handshake timeout.
    ServerOptions o;
    o.handshakeTimeoutMs = 300;
    restart(o);
    QTcpSocket slow;
    slow.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(slow.waitForConnected());
    slow.write("GET / HTTP/1.1\r\n");
    QTRY_VERIFY_WITH_TIMEOUT(slow.state() == QAbstractSocket::UnconnectedState, 3000);
}

void tst_HttpApi::requestHeadParsing_data() {
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("path");
    QTest::newRow("plain") << QByteArray("/publish") << true << QStringLiteral("/publish");
    QTest::newRow("query") << QByteArray("/publish?x=1&y=2") << true << QStringLiteral("/publish");
    QTest::newRow("sub-delims") << QByteArray("/a:b@c!$&'()*+,;=") << true
                                << QStringLiteral("/a:b@c!$&'()*+,;=");
    QTest::newRow("percent-encoded")
        << QByteArray("/%70ublish") << true << QStringLiteral("/publish");
    QTest::newRow("encoded space") << QByteArray("/a%20b?q") << true << QStringLiteral("/a b");
    // A path whose first segment is empty (RFC 9112 §3.2.1), not an authority.
    QTest::newRow("authority-like") << QByteArray("//host/x") << true << QStringLiteral("//host/x");
    QTest::newRow("absolute-form")
        << QByteArray("http://host/publish?x=1") << true << QStringLiteral("/publish");
    QTest::newRow("bad percent") << QByteArray("/a%zz") << false << QString();
    QTest::newRow("not origin-form") << QByteArray("publish") << false << QString();
}

void tst_HttpApi::requestHeadParsing() {
    // The plain-target shortcut gives what QUrl gives, and a head is one allocation: the
    // fields are views into it.
    QFETCH(QByteArray, target);
    QFETCH(bool, valid);
    QFETCH(QString, path);
    const QByteArray head =
        "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length:  12 \r\nX-Empty:\r\n\r\nbody";
    HttpRequest r;
    QByteArray reason;
    const auto result = HttpRequest::parseHead(head, &r, &reason);
    if (!valid) {
        QCOMPARE(result, HttpRequest::HeadResult::Invalid);
        QCOMPARE(reason, QByteArray("malformed request target"));
        return;
    }
    QCOMPARE(result, HttpRequest::HeadResult::Complete);
    QCOMPARE(r.method, QByteArrayView("POST"));
    QCOMPARE(r.target, QByteArrayView(target));
    QCOMPARE(r.path(), path);
    QCOMPARE(r.path(), r.url().path());
    QCOMPARE(r.headLength, head.indexOf("\r\n\r\n") + 4);
    QCOMPARE(r.header("content-length"), QByteArrayView("12"));
    QVERIFY(r.header("x-empty").isEmpty());
    QVERIFY(r.header("absent").isNull());
    QVERIFY(r.method.data() >= head.constData() &&
            r.method.data() < head.constData() + head.size()); // shared, not copied
}

void tst_HttpApi::responseSerialization() {
    HttpResponse r;
    r.body = "ok\n";
    r.headers.append(qMakePair(QByteArray("Allow"), QByteArray("POST")));
    QCOMPARE(r.serialize(true, false),
             QByteArray("HTTP/1.1 200 OK\r\nServer: lhttp-qt/" LHTTP_VERSION
                        "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
                        "3\r\nAllow: POST\r\nConnection: keep-alive\r\n\r\nok\n"));
    HttpResponse empty;
    empty.status = 204;
    empty.body.clear();
    QCOMPARE(empty.serialize(false, true), // no Content-Length on a 204 (RFC 9110 §8.6)
             QByteArray("HTTP/1.1 204 No Content\r\nServer: lhttp-qt/" LHTTP_VERSION
                        "\r\nConnection: close\r\n\r\n"));
    HttpResponse head;
    head.body = QByteArray(1000, 'x');
    const QByteArray h = head.serialize(true, true);
    QVERIFY(h.endsWith("Content-Length: 1000\r\nConnection: keep-alive\r\n\r\n"));
}

QTEST_MAIN(tst_HttpApi)
#include "tst_httpapi.moc"

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// Listener (lib/port/listener.h) on its own: a loopback port with options, counters and a
// session table owned by the test (SessionFixture, whose adopt() turns upgrades into real
// Sessions for the connection limits) and handlers that record what reaches them. Requests are
// written by hand on a QTcpSocket so that every refusal's status, label and close is seen.

#include "http.h"
#include "listener.h"
#include "sessionfixture.h"
#include "token.h"
#include "wsclient.h"

#include <QDateTime>
#include <QNetworkRequest>
#include <QTcpSocket>
#include <QTest>
#include <QWebSocket>

#include <memory>
#include <vector>

using namespace lhttp;

namespace {

const QByteArray AdminToken = "admin-secret-token";
const QByteArray JwtSecret = "jwt-secret";

QByteArray upgradeRequest(const QByteArray &target, const QByteArray &extraHeaders = {}) {
    return "GET " + target +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
           extraHeaders + "\r\n";
}

struct Response {
    int status = 0;
    QByteArray head;
    QByteArray body;
    QByteArray header(const QByteArray &name) const {
        for (const QByteArray &line : head.split('\n')) {
            if (line.toLower().startsWith(name.toLower() + ": "))
                return line.mid(name.size() + 2).trimmed();
        }
        return {};
    }
};

// A hand-written HTTP client: what it writes is exactly what the listener reads.
class RawHttp {
public:
    bool open(quint16 port) {
        socket.connectToHost(QHostAddress::LocalHost, port);
        return QTest::qWaitFor([this] { return socket.state() == QAbstractSocket::ConnectedState; },
                               5000);
    }
    void send(const QByteArray &bytes) {
        socket.write(bytes);
        socket.flush();
    }
    // One response; `headOnly` when it answers a HEAD (a length but no body).
    bool read(Response *r, bool headOnly = false, int timeoutMs = 5000) {
        return QTest::qWaitFor(
            [&] {
                m_buffer += socket.readAll();
                const qsizetype end = m_buffer.indexOf("\r\n\r\n");
                if (end < 0)
                    return false;
                Response out;
                out.head = m_buffer.first(end + 2);
                out.status = out.head.mid(9, 3).toInt();
                const qsizetype length = headOnly ? 0 : out.header("content-length").toLongLong();
                if (m_buffer.size() < end + 4 + length)
                    return false;
                out.body = m_buffer.mid(end + 4, length);
                m_buffer.remove(0, end + 4 + length);
                *r = out;
                return true;
            },
            timeoutMs);
    }
    bool waitClosed(int timeoutMs = 5000) {
        return QTest::qWaitFor(
            [this] {
                m_buffer += socket.readAll();
                return socket.state() == QAbstractSocket::UnconnectedState;
            },
            timeoutMs);
    }
    QByteArray unread() const { return m_buffer; }

    QTcpSocket socket;

private:
    QByteArray m_buffer;
};

// What reached the handlers.
struct Seen {
    struct Upgrade {
        bool admin = false;
        bool hasClaims = false;
        QString subject;
        bool wireMatches = false;
        QString path;
    };
    QList<Upgrade> upgrades;
    QList<QByteArray> requests; // "METHOD target body"
};

} // namespace

class tst_Listener : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void refusals_data();
    void refusals();
    void upgradeReachesHandlerWithItsWire();
    void adminUpgrade();
    void adminPathWhenAPathIsSet();
    void originAllowed_data();
    void originAllowed();
    void drainingRefusesUpgradesOnly();
    void connectionLimits();
    void connectToken_data();
    void connectToken();
    void malformedHandshake_data();
    void malformedHandshake();
    void identicalContentLengths();
    void absoluteFormTarget();
    void bodyUpToTheLimit();
    void bodyInPieces();
    void pipelinedRequestsInOrder();
    void keepAliveOrClose_data();
    void keepAliveOrClose();
    void headRequest();
    void idleConnectionClosed();
    void halfSentRequestExpires();

private:
    void start();
    quint16 port() const { return listener->port(); }

    std::unique_ptr<SessionFixture> f;
    std::unique_ptr<Listener> listener;
    std::vector<std::unique_ptr<QWebSocket>> adminSockets;
    Seen seen;
};

void tst_Listener::init() {
    f = std::make_unique<SessionFixture>();
    f->options.address = QHostAddress::LocalHost;
    f->options.port = 0;
    seen = {};
}

void tst_Listener::cleanup() {
    adminSockets.clear();
    listener.reset();
    f.reset();
}

// After the test has set its options.
void tst_Listener::start() {
    listener = std::make_unique<Listener>(f->options, f->counters, f->peers);
    listener->setHttpHandler([this](const HttpRequest &request, HttpResponse &response) {
        const QByteArray what =
            request.method.toByteArray() + ' ' + request.target.toByteArray() + ' ' + request.body;
        seen.requests.append(what);
        QVERIFY(request.peer.isLoopback());
        response.body = "answer to " + what;
    });
    listener->setUpgradeHandler([this](Listener::Upgrade &&up) {
        Seen::Upgrade u;
        u.admin = up.admin;
        u.hasClaims = up.claims != nullptr;
        u.subject = up.claims ? up.claims->subject : QString();
        u.wireMatches = up.wire && up.wire->peerPort() == up.socket->peerPort() &&
                        up.wire->state() == QAbstractSocket::ConnectedState;
        u.path = up.socket->requestUrl().path();
        seen.upgrades.append(u);
        if (up.admin)
            adminSockets.emplace_back(up.socket);
        else
            f->adopt(up.socket, up.wire, std::move(up.claims));
    });
    QString error;
    QVERIFY2(listener->listen(&error), qPrintable(error));
    QVERIFY(listener->isListening());
    QVERIFY(listener->port() != 0);
}

void tst_Listener::refusals_data() {
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("reason"); // part of the body
    QTest::addColumn<QByteArray>("label");  // refusedBy, for refused upgrades

    const QByteArray pad(2000, 'a');
    QTest::newRow("431 head over the limit, no end in sight")
        << "GET / HTTP/1.1\r\nX-Pad: " + pad << 431 << QByteArray("request head larger than 1024")
        << QByteArray();
    QTest::newRow("431 complete head over the limit")
        << "GET / HTTP/1.1\r\nX-Pad: " + pad + "\r\n\r\n"
        << 431 << QByteArray("larger than") << QByteArray();
    QTest::newRow("431 upgrade head over the limit")
        << upgradeRequest("/ws", "X-Pad: " + pad + "\r\n") << 431 << QByteArray("larger than")
        << QByteArray();
    QTest::newRow("400 request line") << QByteArray("HELLO\r\n\r\n") << 400
                                      << QByteArray("malformed request line") << QByteArray();
    QTest::newRow("400 version") << QByteArray("GET / HTTP/2\r\n\r\n") << 400
                                 << QByteArray("unsupported HTTP version") << QByteArray();
    QTest::newRow("400 header line") << QByteArray("GET / HTTP/1.1\r\nbroken\r\n\r\n") << 400
                                     << QByteArray("malformed header line") << QByteArray();
    QTest::newRow("400 Content-Length not a number")
        << QByteArray("POST /p HTTP/1.1\r\nContent-Length: ten\r\n\r\n") << 400
        << QByteArray("invalid Content-Length") << QByteArray();
    QTest::newRow("400 Content-Length negative")
        << QByteArray("POST /p HTTP/1.1\r\nContent-Length: -1\r\n\r\n") << 400
        << QByteArray("invalid Content-Length") << QByteArray();
    // RFC 9112 §8.6: Content-Length = 1*DIGIT; §6.3: a message with an invalid one (several
    // that differ included) MUST be answered 400 and the connection closed. Taking one of two
    // lengths would read the rest of the body as the next request, where a proxy in front that
    // took the other sees something else (request smuggling). Identical repeated lengths are
    // accepted (identicalContentLengths).
    QTest::newRow("400 Content-Length with a sign")
        << QByteArray("POST /p HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello") << 400
        << QByteArray("Content-Length") << QByteArray();
    QTest::newRow("400 two different Content-Lengths")
        << QByteArray("POST /p HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 3\r\n\r\nhello")
        << 400 << QByteArray("Content-Length") << QByteArray();
    QTest::newRow("400 empty Content-Length")
        << QByteArray("POST /p HTTP/1.1\r\nContent-Length:\r\n\r\n") << 400
        << QByteArray("invalid Content-Length") << QByteArray();
    QTest::newRow("400 Content-Length list")
        << QByteArray("POST /p HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello") << 400
        << QByteArray("invalid Content-Length") << QByteArray();
    QTest::newRow("400 bare LF in a header value")
        << QByteArray("POST /p HTTP/1.1\r\nX: a\nContent-Length: 5\r\n\r\nhello") << 400
        << QByteArray("CR, LF or NUL in a header value") << QByteArray();
    QTest::newRow("411 chunked")
        << QByteArray(
               "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        << 411 << QByteArray("send Content-Length") << QByteArray();
    QTest::newRow("411 chunked with a length too")
        << QByteArray("POST /p HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
                      "\r\nhello")
        << 411 << QByteArray("chunked") << QByteArray();
    QTest::newRow("413 body over the message limit")
        << QByteArray("POST /p HTTP/1.1\r\nContent-Length: 4097\r\n\r\n") << 413
        << QByteArray("body of 4097 bytes exceeds the limit of 4096") << QByteArray();
    QTest::newRow("404 WebSocket on another path")
        << upgradeRequest("/other") << 404 << QByteArray("no WebSocket endpoint at /other")
        << QByteArray("path");
    QTest::newRow("404 WebSocket on a longer path")
        << upgradeRequest("/ws/x?y=1") << 404 << QByteArray("at /ws/x") << QByteArray("path");
    QTest::newRow("403 origin not allowed")
        << upgradeRequest("/ws", "Origin: https://evil.example\r\n") << 403
        << QByteArray("origin not allowed") << QByteArray("origin");
    QTest::newRow("403 opaque origin not listed")
        << upgradeRequest("/ws", "Origin: null\r\n") << 403 << QByteArray("origin not allowed")
        << QByteArray("origin");
    // "//x/ws" is the path "//x/ws", not "/ws" with an authority.
    QTest::newRow("404 WebSocket on //evil/ws")
        << upgradeRequest("//evil/ws") << 404 << QByteArray("no WebSocket endpoint at //evil/ws")
        << QByteArray("path");
    // A handshake QWebSocketServer would close unanswered (malformedHandshake has more).
    QTest::newRow("400 WebSocket handshake without a key")
        << QByteArray("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")
        << 400 << QByteArray("no Sec-WebSocket-Key header") << QByteArray("handshake");
    // Checked before the path: whatever its path, it is no handshake.
    QTest::newRow("426 WebSocket version 8 on another path")
        << QByteArray(upgradeRequest("/other").replace("Version: 13", "Version: 8")) << 426
        << QByteArray("this server speaks version 13") << QByteArray("handshake");
}

void tst_Listener::refusals() {
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    QFETCH(QByteArray, reason);
    QFETCH(QByteArray, label);
    f->options.maxHttpHeadSize = 1024;
    f->options.limits.maxMessageSize = 4096;
    f->options.path = QStringLiteral("/ws");
    f->options.allowedOrigins = {QStringLiteral("https://good.example")};
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send(request);
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(r.status, status);
    QVERIFY2(r.body.contains(reason), r.body.constData());
    QCOMPARE(r.header("connection"), QByteArray(status == 426 ? "Upgrade, close" : "close"));
    QVERIFY(c.waitClosed()); // and the listener closes
    QVERIFY(seen.requests.isEmpty());
    QVERIFY(seen.upgrades.isEmpty());
    QCOMPARE(f->counters.values().errors.value(status), 1u);
    if (label.isEmpty()) {
        QCOMPARE(f->counters.values().connectionsRefused, 0u);
        QVERIFY(f->counters.values().refusedBy.isEmpty());
    } else {
        QCOMPARE(f->counters.values().connectionsRefused, 1u);
        QCOMPARE(f->counters.values().refusedBy.value(label), 1u);
        QCOMPARE(f->counters.values().refusedBy.size(), 1);
    }
    QCOMPARE(listener->pendingCount(), 0);
}

void tst_Listener::upgradeReachesHandlerWithItsWire() {
    f->options.path = QStringLiteral("/ws");
    start();
    WsClient client;
    QVERIFY(client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws?x=1").arg(port()))));
    QTRY_COMPARE(seen.upgrades.size(), 1);
    const Seen::Upgrade &u = seen.upgrades.at(0);
    QVERIFY(!u.admin);
    QVERIFY(!u.hasClaims); // no connect token needed
    QVERIFY(u.wireMatches);
    QCOMPARE(u.path, QStringLiteral("/ws"));
    QCOMPARE(f->sessions.count(), 1);
    QCOMPARE(listener->pendingCount(), 0);
    QVERIFY(f->counters.values().refusedBy.isEmpty());
    // The session on that wire works: a message in, an error reply out.
    client.send("not lhttp");
    QVERIFY(client.waitForMessages(1));
    QVERIFY(client.received.at(0).contains("code:400"));
}

void tst_Listener::adminUpgrade() {
    f->options.adminToken = AdminToken;
    f->options.jwtSecret = JwtSecret; // the admin path needs no connect token
    start();
    // Wrong or missing tokens: 401, counted as admin_token refusals.
    const QList<QByteArray> wrong = {
        upgradeRequest("/admin"),
        upgradeRequest("/admin", "Authorization: Bearer nope\r\n"),
        upgradeRequest("/admin?token=nope"),
        upgradeRequest("/admin?token=" + AdminToken.left(AdminToken.size() - 1)),
        upgradeRequest("/admin", "Authorization: Bearer " + AdminToken + "x\r\n"),
    };
    for (const QByteArray &request : wrong) {
        RawHttp c;
        QVERIFY(c.open(port()));
        c.send(request);
        Response r;
        QVERIFY(c.read(&r));
        QCOMPARE(r.status, 401);
        QVERIFY(r.body.contains("admin token missing or wrong"));
        QVERIFY(c.waitClosed());
    }
    QCOMPARE(f->counters.values().refusedBy.value("admin_token"), quint64(wrong.size()));
    QVERIFY(seen.upgrades.isEmpty());

    // The right token, in the header and in the query: an admin upgrade, not a session.
    WsClient byHeader;
    QNetworkRequest request;
    request.setRawHeader("Authorization", "Bearer " + AdminToken);
    QVERIFY(
        byHeader.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/admin").arg(port())), 5000, request));
    WsClient byQuery;
    QVERIFY(byQuery.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/admin?token=%2")
                                  .arg(port())
                                  .arg(QString::fromLatin1(AdminToken)))));
    QTRY_COMPARE(seen.upgrades.size(), 2);
    for (const Seen::Upgrade &u : std::as_const(seen.upgrades)) {
        QVERIFY(u.admin);
        QVERIFY(!u.hasClaims);
        QCOMPARE(u.path, QStringLiteral("/admin"));
    }
    QCOMPARE(f->sessions.count(), 0);
    QCOMPARE(adminSockets.size(), size_t(2));
    QCOMPARE(f->counters.values().refusedBy.size(), 1); // nothing else refused
}

void tst_Listener::adminPathWhenAPathIsSet() {
    // docs/CONFIG.md: `path` limits *LHTTP* WebSocket upgrades to that path; docs/ADMIN.md:
    // with a token, the admin endpoint is at admin-path. The admin path is checked first, so a
    // node started with both `--path /ws` and `--admin-token` takes the console's upgrade to
    // /admin (it used to answer 404).
    f->options.path = QStringLiteral("/ws");
    f->options.adminToken = AdminToken;
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send(upgradeRequest("/admin", "Authorization: Bearer " + AdminToken + "\r\n"));
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(r.status, 101);
    QTRY_COMPARE(seen.upgrades.size(), 1);
    QVERIFY(seen.upgrades.at(0).admin);
    // Without the token it is still refused as an admin upgrade, not as a wrong path.
    RawHttp d;
    QVERIFY(d.open(port()));
    d.send(upgradeRequest("/admin"));
    QVERIFY(d.read(&r));
    QCOMPARE(r.status, 401);
    // And the path still limits LHTTP upgrades.
    RawHttp e;
    QVERIFY(e.open(port()));
    e.send(upgradeRequest("/other"));
    QVERIFY(e.read(&r));
    QCOMPARE(r.status, 404);
    QCOMPARE(f->counters.values().refusedBy.value("admin_token"), 1u);
    QCOMPARE(f->counters.values().refusedBy.value("path"), 1u);
}

void tst_Listener::originAllowed_data() {
    QTest::addColumn<QByteArray>("originHeader"); // the header line, or empty for none
    QTest::addColumn<bool>("allowed");
    QTest::newRow("listed") << QByteArray("Origin: https://good.example\r\n") << true;
    QTest::newRow("listed, other case") << QByteArray("Origin: HTTPS://Good.Example\r\n") << true;
    QTest::newRow("listed with port") << QByteArray("Origin: http://localhost:8080\r\n") << true;
    QTest::newRow("no Origin: not a browser") << QByteArray() << true;
    QTest::newRow("other port") << QByteArray("Origin: http://localhost:8081\r\n") << false;
    QTest::newRow("sub-domain") << QByteArray("Origin: https://x.good.example\r\n") << false;
    QTest::newRow("scheme differs") << QByteArray("Origin: http://good.example\r\n") << false;
}

void tst_Listener::originAllowed() {
    QFETCH(QByteArray, originHeader);
    QFETCH(bool, allowed);
    f->options.allowedOrigins = {QStringLiteral("https://good.example"),
                                 QStringLiteral("http://localhost:8080")};
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send(upgradeRequest("/", originHeader));
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(r.status, allowed ? 101 : 403);
    if (allowed)
        QTRY_COMPARE(seen.upgrades.size(), 1);
    else
        QCOMPARE(f->counters.values().refusedBy.value("origin"), 1u);
}

void tst_Listener::drainingRefusesUpgradesOnly() {
    start();
    listener->setDraining(true);
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send(upgradeRequest("/"));
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(r.status, 503);
    QVERIFY(r.body.contains("server is draining"));
    QVERIFY(c.waitClosed());
    QCOMPARE(f->counters.values().refusedBy.value("draining"), 1u);
    // Plain HTTP is still answered (a publisher's last requests, /healthz).
    RawHttp h;
    QVERIFY(h.open(port()));
    h.send("GET /healthz HTTP/1.1\r\n\r\n");
    QVERIFY(h.read(&r));
    QCOMPARE(r.status, 200);
    listener->setDraining(false);
    WsClient client;
    QVERIFY(client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port()))));
}

void tst_Listener::connectionLimits() {
    f->options.maxConnectionsPerAddress = 2;
    f->options.maxConnections = 3;
    start();
    const QUrl url(QStringLiteral("ws://127.0.0.1:%1/").arg(port()));
    WsClient a;
    WsClient b;
    QVERIFY(a.open(url));
    QVERIFY(b.open(url));
    QTRY_COMPARE(f->sessions.count(), 2);
    QCOMPARE(f->peers.from(QHostAddress::LocalHost), 2);

    // A third from the same address: 429, counted under its own label.
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send(upgradeRequest("/"));
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(r.status, 429);
    QVERIFY(r.body.contains("too many connections from this address"));
    QVERIFY(c.waitClosed());
    QCOMPARE(f->counters.values().refusedBy.value("max_connections_per_address"), 1u);

    // The node limit: with three sessions, the answer is 503 (checked before the per-address
    // limit, which is lifted here).
    f->options.maxConnectionsPerAddress = 0;
    WsClient third;
    QVERIFY(third.open(url));
    QTRY_COMPARE(f->sessions.count(), 3);
    RawHttp d;
    QVERIFY(d.open(port()));
    d.send(upgradeRequest("/"));
    QVERIFY(d.read(&r));
    QCOMPARE(r.status, 503);
    QVERIFY(r.body.contains("connection limit of this node reached"));
    QCOMPARE(f->counters.values().refusedBy.value("max_connections"), 1u);

    // A session gone frees its place.
    const quint64 id = f->sessionFor(a.socket.localPort())->id();
    a.socket.close();
    QTRY_VERIFY(!f->isOpen(id));
    WsClient again;
    QVERIFY(again.open(url));
    QTRY_COMPARE(f->sessions.count(), 3);
    QCOMPARE(f->counters.values().connectionsRefused, 2u);
}

void tst_Listener::connectToken_data() {
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<QByteArray>("headers");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("subject");
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    const QByteArray valid =
        Token::sign(QStringLiteral("alice"), {"room.*"}, {"room.*"}, now + 3600, JwtSecret);
    const QByteArray expired =
        Token::sign(QStringLiteral("bob"), {"room.*"}, {}, now - 3600, JwtSecret);
    const QByteArray otherSecret =
        Token::sign(QStringLiteral("eve"), {"room.*"}, {}, now + 3600, "not-the-secret");
    QTest::newRow("none") << QByteArray("/") << QByteArray() << 401 << QString();
    QTest::newRow("garbage") << QByteArray("/?token=garbage") << QByteArray() << 401 << QString();
    QTest::newRow("expired") << "/?token=" + expired << QByteArray() << 401 << QString();
    QTest::newRow("other secret") << "/?token=" + otherSecret << QByteArray() << 401 << QString();
    QTest::newRow("query") << "/?token=" + valid << QByteArray() << 101 << QStringLiteral("alice");
    QTest::newRow("bearer header") << QByteArray("/") << "Authorization: Bearer " + valid + "\r\n"
                                   << 101 << QStringLiteral("alice");
    QTest::newRow("header wins over a bad query")
        << QByteArray("/?token=garbage") << "Authorization: Bearer " + valid + "\r\n"
        << 101 << QStringLiteral("alice");
}

void tst_Listener::connectToken() {
    QFETCH(QByteArray, target);
    QFETCH(QByteArray, headers);
    QFETCH(int, status);
    QFETCH(QString, subject);
    f->options.jwtSecret = JwtSecret;
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send(upgradeRequest(target, headers));
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(r.status, status);
    if (status == 101) {
        QTRY_COMPARE(seen.upgrades.size(), 1);
        QVERIFY(seen.upgrades.at(0).hasClaims);
        QCOMPARE(seen.upgrades.at(0).subject, subject);
        Session *s = f->sessionFor(c.socket.localPort());
        QVERIFY(s);
        QCOMPARE(s->userId(), subject);
        QVERIFY(s->claims()->maySubscribe("room.1"));
        QVERIFY(f->counters.values().refusedBy.isEmpty());
    } else {
        QVERIFY(c.waitClosed());
        QVERIFY(seen.upgrades.isEmpty());
        QCOMPARE(f->counters.values().refusedBy.value("token"), 1u);
        QCOMPARE(f->counters.values().errors.value(401), 1u);
    }
}

void tst_Listener::malformedHandshake_data() {
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("reason");
    const QByteArray key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const QByteArray v13 = "Sec-WebSocket-Version: 13\r\n";
    const QByteArray host = "Host: 127.0.0.1\r\n";
    QTest::newRow("no Connection: Upgrade")
        << "GET / HTTP/1.1\r\n" + host + "Upgrade: websocket\r\n" + key + v13 + "\r\n"
        << 400 << QByteArray("no Connection header");
    QTest::newRow("no key") << "GET / HTTP/1.1\r\n" + host +
                                   "Upgrade: websocket\r\nConnection: Upgrade\r\n" + v13 + "\r\n"
                            << 400 << QByteArray("no Sec-WebSocket-Key header");
    QTest::newRow("invalid key")
        << "GET / HTTP/1.1\r\n" + host +
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: abc\r\n" + v13 +
               "\r\n"
        << 400 << QByteArray("Sec-WebSocket-Key is not 16 bytes in base64");
    QTest::newRow("no Host") << "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                                    key + v13 + "\r\n"
                             << 400 << QByteArray("no Host header");
    QTest::newRow("HTTP/1.0") << "GET / HTTP/1.0\r\n" + host +
                                     "Upgrade: websocket\r\nConnection: Upgrade\r\n" + key + v13 +
                                     "\r\n"
                              << 400 << QByteArray("must be HTTP/1.1");
    QTest::newRow("POST") << "POST / HTTP/1.1\r\n" + host +
                                 "Upgrade: websocket\r\nConnection: Upgrade\r\n" + key + v13 +
                                 "\r\n"
                          << 400 << QByteArray("must be a GET request");
    QTest::newRow("version 8") << "GET / HTTP/1.1\r\n" + host +
                                      "Upgrade: websocket\r\nConnection: Upgrade\r\n" + key +
                                      "Sec-WebSocket-Version: 8\r\n\r\n"
                               << 426 << QByteArray("this server speaks version 13");
}

void tst_Listener::malformedHandshake() {
    // RFC 6455 §4.2.2: a server that cannot accept a handshake answers with an HTTP error
    // (400), and §4.4 with 426 and the versions it speaks when the version is not 13.
    // QWebSocketServer closes these without a word, so the listener answers them before
    // handing the socket over, and counts them as "handshake" refusals.
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    QFETCH(QByteArray, reason);
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send(request);
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(r.status, status);
    QVERIFY2(r.body.contains(reason), r.body.constData());
    QCOMPARE(r.header("sec-websocket-version"), status == 426 ? QByteArray("13") : QByteArray());
    QVERIFY(c.waitClosed());
    QVERIFY(seen.upgrades.isEmpty());
    QVERIFY(seen.requests.isEmpty());
    QCOMPARE(f->counters.values().refusedBy.value("handshake"), 1u);
    QCOMPARE(f->counters.values().connectionsRefused, 1u);
    QCOMPARE(f->counters.values().errors.value(status), 1u);
    QCOMPARE(listener->pendingCount(), 0);
}

void tst_Listener::identicalContentLengths() {
    // RFC 9112 §6.3 item 5 lets a recipient accept repeated identical lengths; the listener
    // does (differing ones are refused: refusals).
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send("POST /p HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello"
           "GET /next HTTP/1.1\r\n\r\n");
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(r.status, 200);
    QVERIFY(c.read(&r));
    QCOMPARE(seen.requests, (QByteArrayList{"POST /p hello", "GET /next "}));
}

void tst_Listener::absoluteFormTarget() {
    // RFC 9112 §3.2.2: the absolute-form is accepted; the path comes from the URL, for
    // WebSocket upgrades as for HTTP requests.
    f->options.path = QStringLiteral("/ws");
    start();
    RawHttp h;
    QVERIFY(h.open(port()));
    h.send("GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    Response r;
    QVERIFY(h.read(&r));
    QCOMPARE(r.status, 200);
    QCOMPARE(seen.requests, QByteArrayList{"GET http://127.0.0.1/healthz "});
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send(upgradeRequest("http://127.0.0.1/ws"));
    QVERIFY(c.read(&r));
    QCOMPARE(r.status, 101);
    QTRY_COMPARE(seen.upgrades.size(), 1);
    QCOMPARE(seen.upgrades.at(0).path, QStringLiteral("/ws"));
}

void tst_Listener::bodyUpToTheLimit() {
    f->options.limits.maxMessageSize = 4096;
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    const QByteArray body(4096, 'b');
    c.send("POST /publish HTTP/1.1\r\nContent-Length: 4096\r\n\r\n" + body);
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(r.status, 200);
    QCOMPARE(seen.requests, QByteArrayList{"POST /publish " + body});
    QCOMPARE(r.body, "answer to POST /publish " + body);
}

void tst_Listener::bodyInPieces() {
    // A body still on its way is waited for (read only when whole), then answered once.
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send("POST /p HTTP/1.1\r\nContent-Le");
    QTest::qWait(50);
    c.send("ngth: 10\r\n\r\nhello");
    QTest::qWait(100);
    QVERIFY(seen.requests.isEmpty());
    c.send("world");
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(seen.requests, QByteArrayList{"POST /p helloworld"});
    QCOMPARE(r.body, QByteArray("answer to POST /p helloworld"));
}

void tst_Listener::pipelinedRequestsInOrder() {
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    QByteArray all;
    QByteArrayList expected;
    for (int i = 0; i < 300; ++i) { // more than one pass (256) of the listener
        const QByteArray body = QByteArray::number(i);
        if (i % 3 == 0) {
            all += "GET /get/" + body + " HTTP/1.1\r\n\r\n";
            expected.append("GET /get/" + body + ' ');
        } else {
            all += "POST /post HTTP/1.1\r\nContent-Length: " + QByteArray::number(body.size()) +
                   "\r\n\r\n" + body;
            expected.append("POST /post " + body);
        }
    }
    c.send(all); // one write: every request is there at once
    for (int i = 0; i < expected.size(); ++i) {
        Response r;
        QVERIFY2(c.read(&r), qPrintable(QStringLiteral("response %1").arg(i)));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, "answer to " + expected.at(i));
        QCOMPARE(r.header("connection"), QByteArray("keep-alive"));
    }
    QCOMPARE(seen.requests, expected);
    QCOMPARE(c.socket.state(), QAbstractSocket::ConnectedState);
}

void tst_Listener::keepAliveOrClose_data() {
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<bool>("keepAlive");
    QTest::newRow("1.1") << QByteArray("GET /a HTTP/1.1\r\n\r\n") << true;
    QTest::newRow("1.1 close") << QByteArray("GET /a HTTP/1.1\r\nConnection: close\r\n\r\n")
                               << false;
    QTest::newRow("1.0") << QByteArray("GET /a HTTP/1.0\r\n\r\n") << false;
    QTest::newRow("1.0 keep-alive")
        << QByteArray("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") << true;
}

void tst_Listener::keepAliveOrClose() {
    QFETCH(QByteArray, request);
    QFETCH(bool, keepAlive);
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    // The same request twice in one write: the second is answered only on a kept connection.
    c.send(request + request);
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("connection"), QByteArray(keepAlive ? "keep-alive" : "close"));
    if (keepAlive) {
        QVERIFY(c.read(&r));
        QCOMPARE(seen.requests.size(), 2);
        QTest::qWait(100);
        QCOMPARE(c.socket.state(), QAbstractSocket::ConnectedState);
        QCOMPARE(listener->pendingCount(), 1); // waiting for the next request
    } else {
        QVERIFY(c.waitClosed());
        QCOMPARE(seen.requests.size(), 1);
        QVERIFY(c.unread().isEmpty());
        QCOMPARE(listener->pendingCount(), 0);
    }
}

void tst_Listener::headRequest() {
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send("HEAD /file HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
    Response head;
    QVERIFY(c.read(&head, true));
    QCOMPARE(head.status, 200);
    QCOMPARE(head.header("content-length"),
             QByteArray::number(QByteArray("answer to HEAD /file ").size()));
    // No body: the next bytes are the next response.
    Response next;
    QVERIFY(c.read(&next));
    QCOMPARE(next.body, QByteArray("answer to GET /after "));
}

void tst_Listener::idleConnectionClosed() {
    f->options.httpIdleTimeoutMs = 300;
    start();
    RawHttp c;
    QVERIFY(c.open(port()));
    c.send("GET / HTTP/1.1\r\n\r\n");
    Response r;
    QVERIFY(c.read(&r));
    QCOMPARE(r.header("connection"), QByteArray("keep-alive"));
    QElapsedTimer t;
    t.start();
    QVERIFY(c.waitClosed(5000)); // on the sweep after the deadline (one timer, every second)
    QVERIFY2(t.elapsed() >= 250, qPrintable(QString::number(t.elapsed())));
    QCOMPARE(listener->pendingCount(), 0);
    QCOMPARE(seen.requests.size(), 1);
}

void tst_Listener::halfSentRequestExpires() {
    // A connection that never completes its head (or says nothing) is closed after the
    // handshake timeout, unanswered.
    f->options.handshakeTimeoutMs = 300;
    start();
    RawHttp silent;
    QVERIFY(silent.open(port()));
    RawHttp half;
    QVERIFY(half.open(port()));
    half.send("POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\nhello");
    QTRY_COMPARE(listener->pendingCount(), 2);
    QVERIFY(silent.waitClosed(5000));
    QVERIFY(half.waitClosed(5000));
    QVERIFY(half.unread().isEmpty());
    QVERIFY(seen.requests.isEmpty());
    QCOMPARE(listener->pendingCount(), 0);
}

QTEST_MAIN(tst_Listener)
#include "tst_listener.moc"

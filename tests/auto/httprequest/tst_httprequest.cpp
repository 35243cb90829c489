// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// HttpRequest and HttpResponse (lib/protocol/http.h) on their own: the request-head parser the
// listener peeks with (complete, incomplete, invalid), the header lookups, path(), the upgrade
// and keep-alive decisions, the one credential reader, and the response serialiser.

#include "http.h"

#include <QTest>

using namespace lhttp;

Q_DECLARE_METATYPE(HttpRequest::HeadResult)
Q_DECLARE_METATYPE(HttpRequest::TokenFrom)

namespace {

using Result = HttpRequest::HeadResult;

// headers are written "name=value|name=value" in the tables for brevity
QByteArray flatten(const HttpRequest &r) {
    QByteArrayList out;
    for (const auto &h : r.headers)
        out.append(h.first.toByteArray() + '=' + h.second.toByteArray());
    return out.join('|');
}

HttpRequest parsed(const QByteArray &head) {
    HttpRequest r;
    QByteArray reason;
    const Result result = HttpRequest::parseHead(head, &r, &reason);
    if (result != Result::Complete)
        qWarning("not a complete head (%s): %s", reason.constData(), head.constData());
    return r;
}

// A GET with the given target and extra header lines ("Name: value\r\n" each).
HttpRequest get(const QByteArray &target, const QByteArray &headers = {},
                const QByteArray &version = "HTTP/1.1") {
    return parsed("GET " + target + ' ' + version + "\r\nHost: 127.0.0.1\r\n" + headers + "\r\n");
}

// A response split into its status line, header lines and body.
struct Parsed {
    QByteArray statusLine;
    QList<QByteArray> headerLines;
    QByteArray body;
    QByteArray header(const QByteArray &name) const {
        for (const QByteArray &l : headerLines) {
            if (l.toLower().startsWith(name.toLower() + ": "))
                return l.mid(name.size() + 2);
        }
        return {};
    }
    int count(const QByteArray &name) const {
        int n = 0;
        for (const QByteArray &l : headerLines)
            n += l.toLower().startsWith(name.toLower() + ':');
        return n;
    }
};

Parsed split(const QByteArray &response) {
    Parsed p;
    const qsizetype end = response.indexOf("\r\n\r\n");
    if (end < 0)
        return p;
    QList<QByteArray> lines = response.first(end).split('\n');
    for (QByteArray &l : lines) {
        if (l.endsWith('\r'))
            l.chop(1);
    }
    p.statusLine = lines.takeFirst();
    p.headerLines = lines;
    p.body = response.sliced(end + 4);
    return p;
}

} // namespace

class tst_HttpRequest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parseComplete_data();
    void parseComplete();
    void parseIncompleteOrInvalid_data();
    void parseIncompleteOrInvalid();
    void parseGrowingHead();
    void parseViewCopiesOnlyTheHead();
    void controlCharactersInFieldValue_data();
    void controlCharactersInFieldValue();
    void header_data();
    void header();
    void path_data();
    void path();
    void pathStartingWithTwoSlashes();
    void absoluteFormTarget();
    void isWebSocketUpgrade_data();
    void isWebSocketUpgrade();
    void keepAlive_data();
    void keepAlive();
    void bearerToken_data();
    void bearerToken();
    void bearerSchemeIsCaseInsensitive();
    void serialize_data();
    void serialize();
    void serializeCustomHeaders();
    void serializeNoContent();
    void setError();
    void reasonPhrases_data();
    void reasonPhrases();
};

void tst_HttpRequest::parseComplete_data() {
    QTest::addColumn<QByteArray>("head");
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<QByteArray>("version");
    QTest::addColumn<QByteArray>("headers");
    QTest::addColumn<QByteArray>("rest"); // what follows the head

    auto row = [](const char *name, const QByteArray &head, const QByteArray &method,
                  const QByteArray &target, const QByteArray &version, const QByteArray &headers,
                  const QByteArray &rest = {}) {
        QTest::newRow(name) << head + rest << method << target << version << headers << rest;
    };
    row("no headers", "GET / HTTP/1.1\r\n\r\n", "GET", "/", "HTTP/1.1", "");
    row("HTTP/1.0", "GET /x HTTP/1.0\r\n\r\n", "GET", "/x", "HTTP/1.0", "");
    row("websocket upgrade",
        "GET /ws?token=abc HTTP/1.1\r\nHost: h:8081\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\n\r\n",
        "GET", "/ws?token=abc", "HTTP/1.1", "Host=h:8081|Upgrade=websocket|Connection=Upgrade");
    row("any method token", "PURGE /cache HTTP/1.1\r\n\r\n", "PURGE", "/cache", "HTTP/1.1", "");
    // The body and the next pipelined request are not part of the head.
    row("body follows", "POST /publish HTTP/1.1\r\nContent-Length: 5\r\n\r\n", "POST", "/publish",
        "HTTP/1.1", "Content-Length=5", "hello");
    row("next request follows", "GET /a HTTP/1.1\r\n\r\n", "GET", "/a", "HTTP/1.1", "",
        "GET /b HTTP/1.1\r\n\r\n");
    row("blank lines in the body", "POST / HTTP/1.1\r\n\r\n", "POST", "/", "HTTP/1.1", "",
        "\r\n\r\nx: y\r\n\r\n");
    // Field values lose the optional whitespace around them (RFC 9110 §5.5), nothing inside.
    row("value whitespace", "GET / HTTP/1.1\r\nA:x\r\nB:   y z  \r\nC:\t t\t\r\n\r\n", "GET", "/",
        "HTTP/1.1", "A=x|B=y z|C=t");
    row("empty value", "GET / HTTP/1.1\r\nX-Empty:\r\nY:   \r\n\r\n", "GET", "/", "HTTP/1.1",
        "X-Empty=|Y=");
    row("colons in the value", "GET / HTTP/1.1\r\nHost: [::1]:8081\r\n\r\n", "GET", "/", "HTTP/1.1",
        "Host=[::1]:8081");
    row("order and duplicates kept", "GET / HTTP/1.1\r\nB: 1\r\nA: 2\r\nB: 3\r\n\r\n", "GET", "/",
        "HTTP/1.1", "B=1|A=2|B=3");
    row("name case kept", "GET / HTTP/1.1\r\nX-MiXeD: v\r\n\r\n", "GET", "/", "HTTP/1.1",
        "X-MiXeD=v");
    row("percent-encoded target", "GET /a%20b?q=%2F HTTP/1.1\r\n\r\n", "GET", "/a%20b?q=%2F",
        "HTTP/1.1", "");
    row("many headers",
        "GET / HTTP/1.1\r\na:1\r\nb:2\r\nc:3\r\nd:4\r\ne:5\r\nf:6\r\ng:7\r\nh:8\r\ni:9\r\n\r\n",
        "GET", "/", "HTTP/1.1", "a=1|b=2|c=3|d=4|e=5|f=6|g=7|h=8|i=9");
}

void tst_HttpRequest::parseComplete() {
    QFETCH(QByteArray, head);
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, target);
    QFETCH(QByteArray, version);
    QFETCH(QByteArray, headers);
    QFETCH(QByteArray, rest);

    HttpRequest r;
    QByteArray reason;
    QCOMPARE(HttpRequest::parseHead(head, &r, &reason), Result::Complete);
    QCOMPARE(r.method.toByteArray(), method);
    QCOMPARE(r.target.toByteArray(), target);
    QCOMPARE(r.version.toByteArray(), version);
    QCOMPARE(flatten(r), headers);
    QCOMPARE(r.headLength, head.size() - rest.size());
    // The views point into the request's own copy of the head: one buffer for all of them.
    const char *begin = r.head.constData();
    const char *end = begin + r.head.size();
    QVERIFY(r.method.data() >= begin && r.method.data() < end);
    QVERIFY(r.target.data() >= begin && r.target.data() < end);
    for (const auto &h : r.headers)
        QVERIFY(h.first.data() >= begin && h.first.data() < end);
    QVERIFY(r.body.isEmpty()); // the listener reads bodies, not the parser
}

void tst_HttpRequest::parseIncompleteOrInvalid_data() {
    QTest::addColumn<QByteArray>("head");
    QTest::addColumn<Result>("result");
    QTest::addColumn<QByteArray>("reason");

    auto incomplete = [](const char *name, const QByteArray &head) {
        QTest::newRow(name) << head << Result::Incomplete << QByteArray();
    };
    incomplete("empty", "");
    incomplete("request line without its end", "GET / HTTP/1.1");
    incomplete("request line only", "GET / HTTP/1.1\r\n");
    incomplete("header without its end", "GET / HTTP/1.1\r\nHost: a");
    incomplete("header line, no blank line", "GET / HTTP/1.1\r\nHost: a\r\n");
    incomplete("blank line half there", "GET / HTTP/1.1\r\nHost: a\r\n\r");
    // Only CRLF ends a line: a head in bare LFs never completes (the listener answers 431
    // once it reaches the head limit).
    incomplete("bare LF line ends", "GET / HTTP/1.1\n\n");
    incomplete("bare LF blank line", "GET / HTTP/1.1\r\nHost: a\r\n\n");

    auto invalid = [](const char *name, const QByteArray &head, const QByteArray &reason) {
        QTest::newRow(name) << head << Result::Invalid << reason;
    };
    const QByteArray line = "malformed request line";
    invalid("one word", "GET\r\n\r\n", line);
    invalid("two words", "GET /\r\n\r\n", line);
    invalid("four words", "GET / HTTP/1.1 x\r\n\r\n", line);
    invalid("space in the target", "GET /a b HTTP/1.1\r\n\r\n", line);
    invalid("double space", "GET  / HTTP/1.1\r\n\r\n", line);
    invalid("leading space", " GET / HTTP/1.1\r\n\r\n", line);
    invalid("trailing space", "GET / HTTP/1.1 \r\n\r\n", line);
    invalid("empty request line", "\r\n\r\n", line);
    // A bare LF is part of the line, so the next "line" makes it a request line of 4 words.
    invalid("bare LF inside the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", line);
    // Invalid as soon as the request line is there: no need to wait for the rest.
    invalid("bad request line, head incomplete", "HELLO\r\nHost: a", line);

    const QByteArray version = "unsupported HTTP version";
    invalid("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", version);
    invalid("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", version);
    invalid("lower-case version", "GET / http/1.1\r\n\r\n", version);
    invalid("not HTTP", "GET / LHTTP/1.0\r\n\r\n", version);

    const QByteArray target = "malformed request target";
    invalid("asterisk-form", "OPTIONS * HTTP/1.1\r\n\r\n", target);
    invalid("authority-form", "CONNECT example.com:443 HTTP/1.1\r\n\r\n", target);
    invalid("relative", "GET index.html HTTP/1.1\r\n\r\n", target);
    invalid("bad percent-encoding", "GET /a%zz HTTP/1.1\r\n\r\n", target);

    const QByteArray header = "malformed header line";
    invalid("missing colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", header);
    invalid("empty name", "GET / HTTP/1.1\r\n: v\r\n\r\n", header);
    invalid("space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", header);
    invalid("space in the name", "GET / HTTP/1.1\r\nX Y: a\r\n\r\n", header);
    // obs-fold (RFC 9112 §5.2): a server may reject it with 400, and does.
    invalid("folded continuation line", "GET / HTTP/1.1\r\nX: a\r\n  b\r\n\r\n", header);
    invalid("folded continuation with colon", "GET / HTTP/1.1\r\nX: a\r\n b: c\r\n\r\n", header);
    invalid("bad header line, head incomplete", "GET / HTTP/1.1\r\nnocolon\r\n", header);
}

void tst_HttpRequest::parseIncompleteOrInvalid() {
    QFETCH(QByteArray, head);
    QFETCH(Result, result);
    QFETCH(QByteArray, reason);
    HttpRequest r;
    QByteArray why;
    QCOMPARE(HttpRequest::parseHead(head, &r, &why), result);
    QCOMPARE(why, reason);
}

void tst_HttpRequest::parseGrowingHead() {
    // The listener peeks the same request again as more bytes arrive: every prefix of a valid
    // head is Incomplete, never Invalid, and the whole of it is Complete.
    const QByteArray head = "POST /publish?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8081\r\n"
                            "Authorization: Bearer t0k\r\nContent-Length: 3\r\n\r\n";
    for (qsizetype n = 0; n < head.size(); ++n) {
        HttpRequest r;
        QByteArray reason;
        const Result result = HttpRequest::parseHead(head.first(n), &r, &reason);
        QVERIFY2(
            result == Result::Incomplete,
            qPrintable(
                QStringLiteral("prefix of %1 bytes: %2").arg(n).arg(QString::fromUtf8(reason))));
    }
    HttpRequest r;
    QByteArray reason;
    QCOMPARE(HttpRequest::parseHead(head + "abc", &r, &reason), Result::Complete);
    QCOMPARE(r.headLength, head.size());
    QCOMPARE(r.header("content-length").toByteArray(), QByteArray("3"));
}

void tst_HttpRequest::parseViewCopiesOnlyTheHead() {
    // The view overload copies the head only, not what follows it; the QByteArray overload
    // shares the buffer it is given.
    const QByteArray head = "GET /v HTTP/1.1\r\nA: b\r\n\r\n";
    const QByteArray whole = head + QByteArray(100'000, 'x');
    HttpRequest fromView;
    QByteArray reason;
    QCOMPARE(HttpRequest::parseHead(QByteArrayView(whole), &fromView, &reason), Result::Complete);
    QCOMPARE(fromView.head, head);
    QCOMPARE(fromView.headLength, head.size());
    QCOMPARE(fromView.header("a").toByteArray(), QByteArray("b"));

    HttpRequest shared;
    QCOMPARE(HttpRequest::parseHead(whole, &shared, &reason), Result::Complete);
    QCOMPARE(shared.head.constData(), whole.constData());
    QCOMPARE(shared.headLength, head.size());

    // A request reused for the next head starts again: no headers left from the last one.
    QCOMPARE(HttpRequest::parseHead(QByteArray("GET /w HTTP/1.1\r\n\r\n"), &shared, &reason),
             Result::Complete);
    QVERIFY(shared.headers.isEmpty());
    QCOMPARE(shared.target.toByteArray(), QByteArray("/w"));
}

void tst_HttpRequest::controlCharactersInFieldValue_data() {
    QTest::addColumn<QByteArray>("value");
    QTest::newRow("bare LF") << QByteArray("a\nb");
    QTest::newRow("bare CR") << QByteArray("a\rb");
    QTest::newRow("NUL") << QByteArray("a\0b", 3);
}

void tst_HttpRequest::controlCharactersInFieldValue() {
    // RFC 9110 §5.5: "a recipient of CR, LF, or NUL within a field value MUST either reject
    // the message or replace each of those characters with SP". parseHead keeps them in the
    // value: a bare LF in particular is where a front proxy that ends lines at LF and this
    // parser would read different headers. Reported, not changed here.
    QFETCH(QByteArray, value);
    HttpRequest r;
    QByteArray reason;
    const QByteArray head = "GET / HTTP/1.1\r\nX-Test: " + value + "\r\nHost: h\r\n\r\n";
    const Result result = HttpRequest::parseHead(head, &r, &reason);
    const bool rejected = result == Result::Invalid;
    const bool replaced = result == Result::Complete && r.header("x-test") == "a b";
    QEXPECT_FAIL("", "CR, LF and NUL are kept in field values (reported)", Continue);
    QVERIFY(rejected || replaced);
}

void tst_HttpRequest::header_data() {
    QTest::addColumn<QByteArray>("headers"); // header lines
    QTest::addColumn<QByteArray>("name");
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<bool>("found");

    QTest::newRow("exact case") << QByteArray("Upgrade: websocket\r\n") << QByteArray("Upgrade")
                                << QByteArray("websocket") << true;
    QTest::newRow("lower-case lookup") << QByteArray("Upgrade: websocket\r\n")
                                       << QByteArray("upgrade") << QByteArray("websocket") << true;
    QTest::newRow("upper-case header") << QByteArray("CONTENT-LENGTH: 7\r\n")
                                       << QByteArray("content-length") << QByteArray("7") << true;
    QTest::newRow("last wins") << QByteArray("X-A: first\r\nx-a: second\r\nX-B: other\r\n")
                               << QByteArray("X-A") << QByteArray("second") << true;
    QTest::newRow("empty value found")
        << QByteArray("X-E:\r\n") << QByteArray("x-e") << QByteArray("") << true;
    QTest::newRow("absent") << QByteArray("X-A: 1\r\n") << QByteArray("x-b") << QByteArray()
                            << false;
    QTest::newRow("prefix is not a match")
        << QByteArray("Content-Length: 1\r\n") << QByteArray("content") << QByteArray() << false;
    QTest::newRow("longer name is not a match")
        << QByteArray("Host: h\r\n") << QByteArray("hostname") << QByteArray() << false;
}

void tst_HttpRequest::header() {
    QFETCH(QByteArray, headers);
    QFETCH(QByteArray, name);
    QFETCH(QByteArray, value);
    QFETCH(bool, found);
    const HttpRequest r = parsed("GET / HTTP/1.1\r\n" + headers + "\r\n");
    const QByteArrayView v = r.header(name);
    QCOMPARE(!v.isNull(), found);
    QCOMPARE(v.toByteArray(), value);
}

void tst_HttpRequest::path_data() {
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<QString>("path");
    QTest::newRow("root") << QByteArray("/") << QStringLiteral("/");
    QTest::newRow("plain") << QByteArray("/publish") << QStringLiteral("/publish");
    QTest::newRow("query") << QByteArray("/ws?token=abc&x=1") << QStringLiteral("/ws");
    QTest::newRow("empty query") << QByteArray("/ws?") << QStringLiteral("/ws");
    QTest::newRow("query on root") << QByteArray("/?a=b") << QStringLiteral("/");
    QTest::newRow("query with slashes") << QByteArray("/ws?next=/a/b") << QStringLiteral("/ws");
    QTest::newRow("trailing slash kept") << QByteArray("/admin/") << QStringLiteral("/admin/");
    QTest::newRow("sub-delims and colon")
        << QByteArray("/a:b@c;d=e,f!$&'()*+") << QStringLiteral("/a:b@c;d=e,f!$&'()*+");
    QTest::newRow("percent-encoded space")
        << QByteArray("/a%20b?q=1") << QStringLiteral("/a b"); // through QUrl: decoded
    QTest::newRow("percent-encoded in the query only")
        << QByteArray("/ws?token=a%2Bb") << QStringLiteral("/ws");
    QTest::newRow("dot segments stay") << QByteArray("/a/../b") << QStringLiteral("/a/../b");
    // path() is decoded: a caller that maps it to files must look at the decoded segments
    // (HttpApi::staticFile refuses ".." after decoding).
    QTest::newRow("encoded dots decoded") << QByteArray("/a/%2e%2e/b") << QStringLiteral("/a/../b");
}

void tst_HttpRequest::path() {
    QFETCH(QByteArray, target);
    QFETCH(QString, path);
    const HttpRequest r = get(target);
    QCOMPARE(r.path(), path);
    // The short-cut for plain targets must agree with QUrl, which the others go through.
    QCOMPARE(r.path(), r.url().path());
}

void tst_HttpRequest::pathStartingWithTwoSlashes() {
    // "//evil/ws" is an origin-form target (RFC 9112 §3.2.1: absolute-path, whose first
    // segment may be empty) with the path "//evil/ws". path() hands it to QUrl, which reads
    // "//evil" as an authority and answers "/ws": the listener's WebSocket path check (and
    // HttpApi's routing) then take "//anything/ws" for "/ws". Reported, not changed here.
    const HttpRequest r = get("//evil/ws?x=1");
    QCOMPARE(r.target.toByteArray(), QByteArray("//evil/ws?x=1")); // parseHead accepts it
    QEXPECT_FAIL("", "a leading \"//\" is read as an authority (reported)", Continue);
    QCOMPARE(r.path(), QStringLiteral("//evil/ws"));
}

void tst_HttpRequest::absoluteFormTarget() {
    // RFC 9112 §3.2.2: "a server MUST accept the absolute-form in requests" (clients send it
    // to proxies only, so this matters little in practice). parseHead refuses it as a
    // malformed target: a client talking to the node through a forward proxy that passes the
    // absolute-form on gets 400. Reported, not changed here.
    HttpRequest r;
    QByteArray reason;
    const Result result =
        HttpRequest::parseHead(QByteArray("GET http://example.com/ws?x=1 HTTP/1.1\r\n"
                                          "Host: example.com\r\n\r\n"),
                               &r, &reason);
    QEXPECT_FAIL("", "the absolute-form is refused (reported)", Abort);
    QCOMPARE(result, Result::Complete);
    QCOMPARE(r.path(), QStringLiteral("/ws"));
}

void tst_HttpRequest::isWebSocketUpgrade_data() {
    QTest::addColumn<QByteArray>("headers");
    QTest::addColumn<bool>("upgrade");
    const QByteArray conn = "Connection: Upgrade\r\n";
    QTest::newRow("canonical") << "Upgrade: websocket\r\n" + conn << true;
    QTest::newRow("mixed case") << "Upgrade: WebSocket\r\n" + conn << true;
    QTest::newRow("in a list") << "Upgrade: h2c, websocket\r\n" + conn << true;
    QTest::newRow("list, spaces") << "Upgrade:  foo ,  websocket  , bar\r\n" + conn << true;
    QTest::newRow("connection list") << QByteArray("Upgrade: websocket\r\n"
                                                   "Connection: keep-alive, Upgrade\r\n")
                                     << true;
    QTest::newRow("last Upgrade header counts")
        << "Upgrade: h2c\r\nUpgrade: websocket\r\n" + conn << true;
    QTest::newRow("no Upgrade header") << conn << false;
    QTest::newRow("plain request") << QByteArray() << false;
    QTest::newRow("other protocol") << "Upgrade: h2c\r\n" + conn << false;
    QTest::newRow("token prefix") << "Upgrade: websockets\r\n" + conn << false;
    QTest::newRow("token with version") << "Upgrade: websocket/13\r\n" + conn << false;
    QTest::newRow("empty") << "Upgrade:\r\n" + conn << false;
    QTest::newRow("empty list items") << "Upgrade: ,,\r\n" + conn << false;
    QTest::newRow("only the Upgrade header is looked at")
        << QByteArray("Connection: websocket\r\n") << false;
}

void tst_HttpRequest::isWebSocketUpgrade() {
    QFETCH(QByteArray, headers);
    QFETCH(bool, upgrade);
    QCOMPARE(get("/ws", headers).isWebSocketUpgrade(), upgrade);
}

void tst_HttpRequest::keepAlive_data() {
    QTest::addColumn<QByteArray>("version");
    QTest::addColumn<QByteArray>("connection"); // null: no Connection header
    QTest::addColumn<bool>("keepAlive");
    const QByteArray v11 = "HTTP/1.1";
    const QByteArray v10 = "HTTP/1.0";
    QTest::newRow("1.1 default") << v11 << QByteArray() << true;
    QTest::newRow("1.1 close") << v11 << QByteArray("close") << false;
    QTest::newRow("1.1 Close") << v11 << QByteArray("Close") << false;
    QTest::newRow("1.1 list with close") << v11 << QByteArray("keep-alive, close") << false;
    QTest::newRow("1.1 keep-alive") << v11 << QByteArray("keep-alive") << true;
    QTest::newRow("1.1 upgrade") << v11 << QByteArray("Upgrade") << true;
    QTest::newRow("1.1 closed (not a token)") << v11 << QByteArray("closed") << true;
    QTest::newRow("1.0 default") << v10 << QByteArray() << false;
    QTest::newRow("1.0 keep-alive") << v10 << QByteArray("keep-alive") << true;
    QTest::newRow("1.0 Keep-Alive") << v10 << QByteArray("Keep-Alive") << true;
    QTest::newRow("1.0 list") << v10 << QByteArray("TE, keep-alive") << true;
    QTest::newRow("1.0 close") << v10 << QByteArray("close") << false;
}

void tst_HttpRequest::keepAlive() {
    QFETCH(QByteArray, version);
    QFETCH(QByteArray, connection);
    QFETCH(bool, keepAlive);
    const QByteArray headers =
        connection.isNull() ? QByteArray() : "Connection: " + connection + "\r\n";
    QCOMPARE(get("/", headers, version).keepAlive(), keepAlive);
}

void tst_HttpRequest::bearerToken_data() {
    using From = HttpRequest::TokenFrom;
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<QByteArray>("authorization"); // null: no Authorization header
    QTest::addColumn<From>("from");
    QTest::addColumn<QByteArray>("token");

    QTest::newRow("header") << QByteArray("/") << QByteArray("Bearer abc.def.ghi") << From::Header
                            << QByteArray("abc.def.ghi");
    QTest::newRow("header, extra spaces")
        << QByteArray("/") << QByteArray("Bearer    abc  ") << From::Header << QByteArray("abc");
    QTest::newRow("header, with HeaderOrQuery")
        << QByteArray("/") << QByteArray("Bearer abc") << From::HeaderOrQuery << QByteArray("abc");
    QTest::newRow("header wins over query")
        << QByteArray("/ws?token=fromquery") << QByteArray("Bearer fromheader")
        << From::HeaderOrQuery << QByteArray("fromheader");
    QTest::newRow("query ignored with Header")
        << QByteArray("/ws?token=fromquery") << QByteArray() << From::Header << QByteArray();
    QTest::newRow("query") << QByteArray("/ws?token=abc") << QByteArray() << From::HeaderOrQuery
                           << QByteArray("abc");
    QTest::newRow("query among others") << QByteArray("/ws?a=1&token=abc&b=2") << QByteArray()
                                        << From::HeaderOrQuery << QByteArray("abc");
    QTest::newRow("query percent-decoded") << QByteArray("/ws?token=a%2Bb%3Dc%20d") << QByteArray()
                                           << From::HeaderOrQuery << QByteArray("a+b=c d");
    QTest::newRow("query UTF-8 decoded") << QByteArray("/ws?token=%C3%A9") << QByteArray()
                                         << From::HeaderOrQuery << QByteArray("\xc3\xa9");
    QTest::newRow("query plus kept")
        << QByteArray("/ws?token=a+b") << QByteArray() << From::HeaderOrQuery << QByteArray("a+b");
    QTest::newRow("other scheme falls back to query")
        << QByteArray("/ws?token=q") << QByteArray("Basic dXNlcjpwYXNz") << From::HeaderOrQuery
        << QByteArray("q");
    QTest::newRow("other scheme, Header only")
        << QByteArray("/") << QByteArray("Basic dXNlcjpwYXNz") << From::Header << QByteArray();
    QTest::newRow("Bearer without a token")
        << QByteArray("/") << QByteArray("Bearer") << From::Header << QByteArray();
    QTest::newRow("Bearer without a token, query")
        << QByteArray("/ws?token=q") << QByteArray("Bearer   ") << From::HeaderOrQuery
        << QByteArray("q");
    QTest::newRow("no token anywhere")
        << QByteArray("/ws?x=1") << QByteArray() << From::HeaderOrQuery << QByteArray();
    QTest::newRow("empty query token")
        << QByteArray("/ws?token=") << QByteArray() << From::HeaderOrQuery << QByteArray();
    QTest::newRow("tokenx is another parameter")
        << QByteArray("/ws?tokenx=abc") << QByteArray() << From::HeaderOrQuery << QByteArray();
}

void tst_HttpRequest::bearerToken() {
    QFETCH(QByteArray, target);
    QFETCH(QByteArray, authorization);
    QFETCH(HttpRequest::TokenFrom, from);
    QFETCH(QByteArray, token);
    const QByteArray headers =
        authorization.isNull() ? QByteArray() : "Authorization: " + authorization + "\r\n";
    QCOMPARE(get(target, headers).bearerToken(from), token);
}

void tst_HttpRequest::bearerSchemeIsCaseInsensitive() {
    // RFC 9110 §11.1: the authentication scheme is a case-insensitive token, so
    // "bearer abc" is the same credential as "Bearer abc". bearerToken() only knows the
    // capitalised form: a client library that writes "bearer" is refused (401) although its
    // token is valid. Reported, not changed here.
    const HttpRequest r = get("/ws", "Authorization: bearer abc\r\n");
    QEXPECT_FAIL("", "the scheme is matched case-sensitively (reported)", Continue);
    QCOMPARE(r.bearerToken(HttpRequest::TokenFrom::Header), QByteArray("abc"));
}

void tst_HttpRequest::serialize_data() {
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<bool>("keepAlive");
    QTest::addColumn<bool>("headOnly");
    QTest::addColumn<QByteArray>("statusLine");

    QTest::newRow("200 keep-alive")
        << 200 << QByteArray("hello") << true << false << QByteArray("HTTP/1.1 200 OK");
    QTest::newRow("200 close") << 200 << QByteArray("hello") << false << false
                               << QByteArray("HTTP/1.1 200 OK");
    QTest::newRow("200 empty body")
        << 200 << QByteArray() << true << false << QByteArray("HTTP/1.1 200 OK");
    QTest::newRow("HEAD keeps the length, drops the body")
        << 200 << QByteArray(1234, 'b') << true << true << QByteArray("HTTP/1.1 200 OK");
    QTest::newRow("404") << 404 << QByteArray("no resource at /x\n") << false << false
                         << QByteArray("HTTP/1.1 404 Not Found");
    QTest::newRow("431") << 431 << QByteArray("too large\n") << false << false
                         << QByteArray("HTTP/1.1 431 Request Header Fields Too Large");
    QTest::newRow("unknown status")
        << 299 << QByteArray("x") << true << false << QByteArray("HTTP/1.1 299 Status");
    QTest::newRow("large body") << 200 << QByteArray(1'000'000, 'L') << true << false
                                << QByteArray("HTTP/1.1 200 OK");
}

void tst_HttpRequest::serialize() {
    QFETCH(int, status);
    QFETCH(QByteArray, body);
    QFETCH(bool, keepAlive);
    QFETCH(bool, headOnly);
    QFETCH(QByteArray, statusLine);
    HttpResponse response;
    response.status = status;
    response.contentType = "application/json";
    response.body = body;
    const QByteArray out = response.serialize(keepAlive, headOnly);
    const Parsed p = split(out);
    QCOMPARE(p.statusLine, statusLine);
    QCOMPARE(p.header("Server"), QByteArray("lhttp-qt/" LHTTP_VERSION));
    QCOMPARE(p.header("Content-Type"), QByteArray("application/json"));
    QCOMPARE(p.header("Content-Length"), QByteArray::number(body.size()));
    QCOMPARE(p.header("Connection"), QByteArray(keepAlive ? "keep-alive" : "close"));
    QCOMPARE(p.count("Content-Length"), 1);
    QCOMPARE(p.count("Connection"), 1);
    QCOMPARE(p.headerLines.size(), 4);
    QCOMPARE(p.body, headOnly ? QByteArray() : body);
    // Every line ends in CRLF, and the head parses back as a response would.
    QVERIFY(!out.first(out.indexOf("\r\n\r\n")).contains("\n\n"));
    QCOMPARE(out.count("\r\n") - (headOnly ? 0 : body.count("\r\n")), qsizetype(6));
}

void tst_HttpRequest::serializeCustomHeaders() {
    HttpResponse response;
    response.headers.append(qMakePair(QByteArray("Allow"), QByteArray("GET, HEAD")));
    response.headers.append(qMakePair(QByteArray("Cache-Control"), QByteArray("no-cache")));
    response.body = "x";
    const QByteArray out = response.serialize(true, false);
    QCOMPARE(out, QByteArray("HTTP/1.1 200 OK\r\n"
                             "Server: lhttp-qt/" LHTTP_VERSION "\r\n"
                             "Content-Type: text/plain; charset=utf-8\r\n"
                             "Content-Length: 1\r\n"
                             "Allow: GET, HEAD\r\n"
                             "Cache-Control: no-cache\r\n"
                             "Connection: keep-alive\r\n"
                             "\r\n"
                             "x"));
}

void tst_HttpRequest::serializeNoContent() {
    HttpResponse response;
    response.status = 204;
    const Parsed p = split(response.serialize(true, false));
    QCOMPARE(p.statusLine, QByteArray("HTTP/1.1 204 No Content"));
    QCOMPARE(p.count("Content-Type"), 0); // no content, no type
    QVERIFY(p.body.isEmpty());
    // RFC 9110 §8.6: "A server MUST NOT send a Content-Length header field in any response
    // with a status code of 1xx or 204". serialize() always writes one. Latent: nothing in
    // the node answers 204 today. Reported, not changed here.
    QEXPECT_FAIL("", "a 204 response carries Content-Length: 0 (reported)", Continue);
    QCOMPARE(p.count("Content-Length"), 0);
}

void tst_HttpRequest::setError() {
    HttpResponse response;
    response.contentType = "application/json";
    response.body = "{\"ok\":true}";
    response.headers.append(qMakePair(QByteArray("Allow"), QByteArray("POST")));
    response.setError(413, "body too large");
    QCOMPARE(response.status, 413);
    QCOMPARE(response.contentType, QByteArray("text/plain; charset=utf-8"));
    QCOMPARE(response.body, QByteArray("body too large\n"));
    QCOMPARE(response.headers.size(), 1); // headers set before stay (405 needs its Allow)
    const Parsed p = split(response.serialize(false, false));
    QCOMPARE(p.statusLine, QByteArray("HTTP/1.1 413 Payload Too Large"));
    QCOMPARE(p.header("Content-Length"), QByteArray("15"));
    QCOMPARE(p.header("Connection"), QByteArray("close"));
    QCOMPARE(p.body, QByteArray("body too large\n"));
}

void tst_HttpRequest::reasonPhrases_data() {
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("reason");
    const QList<QPair<int, QByteArray>> table = {
        {200, "OK"},
        {204, "No Content"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {408, "Request Timeout"},
        {411, "Length Required"},
        {413, "Payload Too Large"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {418, "Status"},
    };
    for (const auto &[status, reason] : table)
        QTest::addRow("%d", status) << status << reason;
}

void tst_HttpRequest::reasonPhrases() {
    QFETCH(int, status);
    QFETCH(QByteArray, reason);
    QCOMPARE(QByteArray(HttpResponse::reasonPhrase(status)), reason);
    HttpResponse response;
    response.setError(status, "r");
    QVERIFY(response.serialize(false, false)
                .startsWith("HTTP/1.1 " + QByteArray::number(status) + ' ' + reason + "\r\n"));
}

QTEST_APPLESS_MAIN(tst_HttpRequest)
#include "tst_httprequest.moc"

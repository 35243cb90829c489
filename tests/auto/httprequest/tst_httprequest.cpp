// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// HttpRequest and HttpResponse (lib/protocol/http.h) on their own: the request-head parser the
// listener peeks with (complete, incomplete, invalid), the header lookups, path(), the upgrade
// and keep-alive decisions, the one credential reader, and the response serialiser.

#include "http.h"

#include <QTest>

#include <limits>

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
    void absoluteFormTarget_data();
    void absoluteFormTarget();
    void isWebSocketUpgrade_data();
    void isWebSocketUpgrade();
    void keepAlive_data();
    void keepAlive();
    void contentLength_data();
    void contentLength();
    void checkWebSocketHandshake_data();
    void checkWebSocketHandshake();
    void bearerToken_data();
    void bearerToken();
    void bearerSchemeIsCaseInsensitive();
    void serialize_data();
    void serialize();
    void serializeCustomHeaders();
    void serializeNoContent_data();
    void serializeNoContent();
    void serializeUpgradeRequired();
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
    // The method is a token (RFC 9110 §9.1).
    invalid("method with a separator", "GE(T / HTTP/1.1\r\n\r\n", line);
    invalid("method with a NUL", QByteArray("GE\0T / HTTP/1.1\r\n\r\n", 19), line);

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
    // The absolute-form is accepted for http and https URLs with a host (absoluteFormTarget).
    invalid("absolute-form, other scheme", "GET ftp://h/ws HTTP/1.1\r\n\r\n", target);
    invalid("absolute-form, ws scheme", "GET ws://h/ws HTTP/1.1\r\n\r\n", target);
    invalid("absolute-form without a host", "GET http:/ws HTTP/1.1\r\n\r\n", target);
    invalid("absolute-form, empty host", "GET http:///ws HTTP/1.1\r\n\r\n", target);
    invalid("absolute-form with user info", "GET http://u:p@h/ws HTTP/1.1\r\n\r\n", target);
    invalid("absolute-form, bad port", "GET http://h:x/ws HTTP/1.1\r\n\r\n", target);
    invalid("absolute-form, bad percent-encoding", "GET http://h/%zz HTTP/1.1\r\n\r\n", target);

    const QByteArray header = "malformed header line";
    invalid("missing colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", header);
    invalid("empty name", "GET / HTTP/1.1\r\n: v\r\n\r\n", header);
    invalid("space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", header);
    invalid("space in the name", "GET / HTTP/1.1\r\nX Y: a\r\n\r\n", header);
    // obs-fold (RFC 9112 §5.2): a server may reject it with 400, and does.
    invalid("folded continuation line", "GET / HTTP/1.1\r\nX: a\r\n  b\r\n\r\n", header);
    invalid("folded continuation with colon", "GET / HTTP/1.1\r\nX: a\r\n b: c\r\n\r\n", header);
    invalid("bad header line, head incomplete", "GET / HTTP/1.1\r\nnocolon\r\n", header);
    // Field names are tokens (RFC 9110 §5.1).
    invalid("separator in the name", "GET / HTTP/1.1\r\nX(Y): a\r\n\r\n", header);
    invalid("tab before the colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", header);
    invalid("bare LF in the name", "GET / HTTP/1.1\r\nX\nY: a\r\n\r\n", header);
    invalid("NUL in the name", QByteArray("GET / HTTP/1.1\r\nX\0Y: a\r\n\r\n", 26), header);
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
    QTest::newRow("CR before the line end") << QByteArray("a\r");
    QTest::newRow("LF first") << QByteArray("\nHost: other");
    QTest::newRow("NUL at the end") << QByteArray("a\0", 2);
}

void tst_HttpRequest::controlCharactersInFieldValue() {
    // RFC 9110 §5.5: "a recipient of CR, LF, or NUL within a field value MUST either reject
    // the message or replace each of those characters with SP". parseHead rejects it: a bare
    // LF in particular is where a front proxy that ends lines at LF and this parser would read
    // different headers.
    QFETCH(QByteArray, value);
    HttpRequest r;
    QByteArray reason;
    const QByteArray head = "GET / HTTP/1.1\r\nX-Test: " + value + "\r\nHost: h\r\n\r\n";
    QCOMPARE(HttpRequest::parseHead(head, &r, &reason), Result::Invalid);
    QCOMPARE(reason, QByteArray("CR, LF or NUL in a header value"));
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
    // RFC 9112 §3.2.1: a path whose first segment is empty, not an authority.
    QTest::newRow("two slashes") << QByteArray("//evil/ws?x=1") << QStringLiteral("//evil/ws");
    QTest::newRow("two slashes only") << QByteArray("//") << QStringLiteral("//");
    QTest::newRow("three slashes") << QByteArray("///ws") << QStringLiteral("///ws");
    QTest::newRow("two slashes, what QUrl calls a bad port")
        << QByteArray("//evil:x/ws") << QStringLiteral("//evil:x/ws");
    QTest::newRow("two slashes, percent-encoded")
        << QByteArray("//a%20b/ws?t=%2B") << QStringLiteral("//a b/ws");
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
    // segment may be empty) with the path "//evil/ws". QUrl alone reads "//evil" as an
    // authority and answers "/ws": the listener's WebSocket path check (and HttpApi's routing)
    // would take "//anything/ws" for "/ws".
    const HttpRequest r = get("//evil/ws?token=a%2Bb");
    QCOMPARE(r.target.toByteArray(), QByteArray("//evil/ws?token=a%2Bb")); // parseHead accepts it
    QCOMPARE(r.path(), QStringLiteral("//evil/ws"));
    QVERIFY(r.url().host().isEmpty());
    QCOMPARE(r.url().path(), QStringLiteral("//evil/ws"));
    QCOMPARE(r.url().query(), QStringLiteral("token=a%2Bb"));
    QCOMPARE(r.bearerToken(HttpRequest::TokenFrom::HeaderOrQuery), QByteArray("a+b"));
}

void tst_HttpRequest::absoluteFormTarget_data() {
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("host");
    QTest::newRow("http") << QByteArray("http://example.com/ws?x=1") << QStringLiteral("/ws")
                          << QStringLiteral("example.com");
    QTest::newRow("https with port") << QByteArray("https://example.com:8443/a/b")
                                     << QStringLiteral("/a/b") << QStringLiteral("example.com");
    QTest::newRow("scheme and host in capitals")
        << QByteArray("HTTP://Example.COM/ws") << QStringLiteral("/ws")
        << QStringLiteral("example.com");
    QTest::newRow("no path is /") << QByteArray("http://example.com") << QStringLiteral("/")
                                  << QStringLiteral("example.com");
    QTest::newRow("query, no path") << QByteArray("http://example.com?token=t")
                                    << QStringLiteral("/") << QStringLiteral("example.com");
    QTest::newRow("percent-encoded path")
        << QByteArray("http://h/a%20b") << QStringLiteral("/a b") << QStringLiteral("h");
    QTest::newRow("two slashes after the host")
        << QByteArray("http://h//evil/ws") << QStringLiteral("//evil/ws") << QStringLiteral("h");
    QTest::newRow("IPv6 host") << QByteArray("http://[::1]:8081/ws") << QStringLiteral("/ws")
                               << QStringLiteral("::1");
}

void tst_HttpRequest::absoluteFormTarget() {
    // RFC 9112 §3.2.2: "a server MUST accept the absolute-form in requests" (clients send it
    // to proxies, some of which pass it on). The path comes from the URL; Host is not read.
    QFETCH(QByteArray, target);
    QFETCH(QString, path);
    QFETCH(QString, host);
    HttpRequest r;
    QByteArray reason;
    const Result result = HttpRequest::parseHead(
        "GET " + target + " HTTP/1.1\r\nHost: other.example\r\n\r\n", &r, &reason);
    QCOMPARE(result, Result::Complete);
    QCOMPARE(r.target.toByteArray(), target);
    QCOMPARE(r.path(), path);
    QVERIFY(r.url().isValid());
    QCOMPARE(r.url().host(), host);
    if (target.contains("token="))
        QCOMPARE(r.bearerToken(HttpRequest::TokenFrom::HeaderOrQuery), QByteArray("t"));
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

void tst_HttpRequest::contentLength_data() {
    QTest::addColumn<QByteArray>("headers");
    QTest::addColumn<qint64>("length");
    const qint64 invalid = -1;
    QTest::newRow("none") << QByteArray() << qint64(0);
    QTest::newRow("digits") << QByteArray("Content-Length: 5\r\n") << qint64(5);
    QTest::newRow("zero") << QByteArray("Content-Length: 0\r\n") << qint64(0);
    QTest::newRow("leading zeros") << QByteArray("Content-Length: 007\r\n") << qint64(7);
    QTest::newRow("name in any case") << QByteArray("content-LENGTH: 4\r\n") << qint64(4);
    QTest::newRow("too large saturates")
        << QByteArray("Content-Length: 99999999999999999999999\r\n")
        << std::numeric_limits<qint64>::max();
    // RFC 9112 §6.3 item 5: identical values may be accepted; the node does.
    QTest::newRow("identical duplicates")
        << QByteArray("Content-Length: 5\r\nX: y\r\ncontent-length: 5\r\n") << qint64(5);
    QTest::newRow("same number, other spelling")
        << QByteArray("Content-Length: 5\r\nContent-Length: 05\r\n") << qint64(5);
    // Everything else is an unrecoverable framing error (400).
    QTest::newRow("two that differ")
        << QByteArray("Content-Length: 5\r\nContent-Length: 3\r\n") << invalid;
    QTest::newRow("three, the last differs")
        << QByteArray("Content-Length: 5\r\nContent-Length: 5\r\nContent-Length: 6\r\n") << invalid;
    QTest::newRow("plus sign") << QByteArray("Content-Length: +5\r\n") << invalid;
    QTest::newRow("minus sign") << QByteArray("Content-Length: -1\r\n") << invalid;
    QTest::newRow("empty") << QByteArray("Content-Length:\r\n") << invalid;
    QTest::newRow("list") << QByteArray("Content-Length: 5, 5\r\n") << invalid;
    QTest::newRow("space inside") << QByteArray("Content-Length: 5 5\r\n") << invalid;
    QTest::newRow("hex") << QByteArray("Content-Length: 0x5\r\n") << invalid;
    QTest::newRow("decimal point") << QByteArray("Content-Length: 5.0\r\n") << invalid;
    QTest::newRow("word") << QByteArray("Content-Length: ten\r\n") << invalid;
    QTest::newRow("valid then invalid")
        << QByteArray("Content-Length: 5\r\nContent-Length: x\r\n") << invalid;
}

void tst_HttpRequest::contentLength() {
    QFETCH(QByteArray, headers);
    QFETCH(qint64, length);
    QCOMPARE(parsed("POST /publish HTTP/1.1\r\n" + headers + "\r\n").contentLength(), length);
}

void tst_HttpRequest::checkWebSocketHandshake_data() {
    QTest::addColumn<QByteArray>("head");
    QTest::addColumn<int>("status"); // 0: a valid handshake
    QTest::addColumn<QByteArray>("reason");

    const QByteArray host = "Host: 127.0.0.1:8081\r\n";
    const QByteArray upgrade = "Upgrade: websocket\r\n";
    const QByteArray connection = "Connection: Upgrade\r\n";
    const QByteArray key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const QByteArray v13 = "Sec-WebSocket-Version: 13\r\n";
    auto head = [](const QByteArray &headers, const QByteArray &requestLine = "GET /ws HTTP/1.1") {
        return requestLine + "\r\n" + headers + "\r\n";
    };
    const QByteArray all = host + upgrade + connection + key + v13;
    QTest::newRow("valid") << head(all) << 0 << QByteArray();
    QTest::newRow("valid, other case and order")
        << head("sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "connection: keep-alive, upgrade\r\nupgrade: WebSocket\r\nhost: h\r\n")
        << 0 << QByteArray();
    QTest::newRow("valid, a browser's")
        << head("Host: example.com\r\nUser-Agent: Mozilla/5.0\r\nOrigin: https://example.com\r\n" +
                upgrade + "Connection: keep-alive, Upgrade\r\n" + key + v13 +
                "Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Protocol: a, b\r\n")
        << 0 << QByteArray();
    QTest::newRow("valid, absolute-form")
        << head(all, "GET http://127.0.0.1:8081/ws?token=x HTTP/1.1") << 0 << QByteArray();
    QTest::newRow("valid, IPv6 host")
        << head("Host: [::1]:8081\r\n" + upgrade + connection + key + v13) << 0 << QByteArray();

    const QByteArray line = "X-Pad: ";
    QTest::newRow("valid, longest line")
        << head(all + line + QByteArray(8190 - line.size(), 'p') + "\r\n") << 0 << QByteArray();
    QTest::newRow("431 line too long")
        << head(all + line + QByteArray(8191 - line.size(), 'p') + "\r\n") << 431
        << QByteArray("at most 8190 bytes");
    QTest::newRow("431 request line too long")
        << head(all, "GET /" + QByteArray(8190, 'p') + " HTTP/1.1") << 431
        << QByteArray("at most 8190 bytes");
    QByteArray many = all;
    for (int i = 0; i < 95; ++i)
        many += "X-" + QByteArray::number(i) + ": v\r\n";
    QTest::newRow("valid, 100 header lines") << head(many) << 0 << QByteArray();
    QTest::newRow("431 101 header lines")
        << head(many + "X-Last: v\r\n") << 431 << QByteArray("at most 100 header lines");

    QTest::newRow("400 POST") << head(all, "POST /ws HTTP/1.1") << 400
                              << QByteArray("must be a GET request");
    QTest::newRow("400 get") << head(all, "get /ws HTTP/1.1") << 400
                             << QByteArray("must be a GET request");
    QTest::newRow("400 HTTP/1.0") << head(all, "GET /ws HTTP/1.0") << 400
                                  << QByteArray("must be HTTP/1.1");
    QTest::newRow("400 Upgrade list")
        << head(host + "Upgrade: websocket, h2c\r\n" + connection + key + v13) << 400
        << QByteArray("Upgrade must be websocket alone");
    QTest::newRow("400 two Upgrade headers")
        << head(host + "Upgrade: h2c\r\n" + upgrade + connection + key + v13) << 400
        << QByteArray("more than one Upgrade header");
    QTest::newRow("400 no Connection")
        << head(host + upgrade + key + v13) << 400 << QByteArray("no Connection header");
    QTest::newRow("400 Connection without Upgrade")
        << head(host + upgrade + "Connection: keep-alive\r\n" + key + v13) << 400
        << QByteArray("Connection must list Upgrade");
    QTest::newRow("400 two Connection headers")
        << head(host + upgrade + "Connection: keep-alive\r\n" + connection + key + v13) << 400
        << QByteArray("more than one Connection header");
    QTest::newRow("400 no version") << head(host + upgrade + connection + key) << 400
                                    << QByteArray("no Sec-WebSocket-Version header");
    QTest::newRow("426 version 8")
        << head(host + upgrade + connection + key + "Sec-WebSocket-Version: 8\r\n") << 426
        << QByteArray("WebSocket version 8 is not supported");
    QTest::newRow("valid, a version list with 13")
        << head(host + upgrade + connection + key + "Sec-WebSocket-Version: 8, 13\r\n") << 0
        << QByteArray();
    QTest::newRow("426 version list without 13")
        << head(host + upgrade + connection + key + "Sec-WebSocket-Version: 8, 7\r\n") << 426
        << QByteArray("WebSocket version 8, 7 is not supported");
    QTest::newRow("426 version 13 and more")
        << head(host + upgrade + connection + key + "Sec-WebSocket-Version: 130\r\n") << 426
        << QByteArray("this server speaks version 13");
    QTest::newRow("400 empty version")
        << head(host + upgrade + connection + key + "Sec-WebSocket-Version:\r\n") << 400
        << QByteArray("empty Sec-WebSocket-Version header");
    QTest::newRow("400 no key") << head(host + upgrade + connection + v13) << 400
                                << QByteArray("no Sec-WebSocket-Key header");
    const QByteArray notKey = "Sec-WebSocket-Key is not 16 bytes in base64";
    QTest::newRow("400 short key")
        << head(host + upgrade + connection + "Sec-WebSocket-Key: abc=\r\n" + v13) << 400 << notKey;
    QTest::newRow("400 key not base64")
        << head(host + upgrade + connection + "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n" +
                v13)
        << 400 << notKey;
    QTest::newRow("400 key of 17 bytes")
        << head(host + upgrade + connection + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZWU=\r\n" +
                v13)
        << 400 << notKey;
    QTest::newRow("400 empty key")
        << head(host + upgrade + connection + "Sec-WebSocket-Key:\r\n" + v13) << 400 << notKey;
    QTest::newRow("400 two keys") << head(host + upgrade + connection + key + key + v13) << 400
                                  << QByteArray("more than one Sec-WebSocket-Key header");
    QTest::newRow("400 no Host") << head(upgrade + connection + key + v13) << 400
                                 << QByteArray("no Host header");
    QTest::newRow("400 two Hosts") << head(host + host + upgrade + connection + key + v13) << 400
                                   << QByteArray("more than one Host header");
    QTest::newRow("400 empty Host") << head("Host:\r\n" + upgrade + connection + key + v13) << 400
                                    << QByteArray("invalid Host header");
    QTest::newRow("400 Host with user info")
        << head("Host: user@h\r\n" + upgrade + connection + key + v13) << 400
        << QByteArray("invalid Host header");
}

void tst_HttpRequest::checkWebSocketHandshake() {
    QFETCH(QByteArray, head);
    QFETCH(int, status);
    QFETCH(QByteArray, reason);
    HttpRequest r;
    QByteArray why;
    QCOMPARE(HttpRequest::parseHead(head, &r, &why), Result::Complete);
    QVERIFY(r.isWebSocketUpgrade());
    HttpResponse refusal;
    QCOMPARE(r.checkWebSocketHandshake(&refusal), status == 0);
    if (status == 0)
        return;
    QCOMPARE(refusal.status, status);
    QVERIFY2(refusal.body.contains(reason), refusal.body.constData());
    const Parsed p = split(refusal.serialize(false, false));
    if (status == 426) { // RFC 6455 §4.4, RFC 9110 §15.5.22
        QCOMPARE(p.header("Sec-WebSocket-Version"), QByteArray("13"));
        QCOMPARE(p.header("Upgrade"), QByteArray("websocket"));
    } else {
        QCOMPARE(p.count("Sec-WebSocket-Version"), 0);
        QCOMPARE(p.count("Upgrade"), 0);
    }
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
    QTest::newRow("lower-case scheme")
        << QByteArray("/") << QByteArray("bearer abc") << From::Header << QByteArray("abc");
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
    // "bearer abc" is the same credential as "Bearer abc".
    for (const QByteArray scheme : {"bearer", "BEARER", "bEaReR"}) {
        const HttpRequest r = get("/ws?token=q", "Authorization: " + scheme + " abc\r\n");
        QCOMPARE(r.bearerToken(HttpRequest::TokenFrom::Header), QByteArray("abc"));
        QCOMPARE(r.bearerToken(HttpRequest::TokenFrom::HeaderOrQuery), QByteArray("abc"));
    }
    // The scheme is a whole token: another one that starts the same is not it.
    const HttpRequest glued = get("/ws", "Authorization: Bearerabc\r\n");
    QCOMPARE(glued.bearerToken(HttpRequest::TokenFrom::Header), QByteArray());
    const HttpRequest longer = get("/ws", "Authorization: Bearer2 abc\r\n");
    QCOMPARE(longer.bearerToken(HttpRequest::TokenFrom::Header), QByteArray());
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

void tst_HttpRequest::serializeNoContent_data() {
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("statusLine");
    QTest::newRow("204") << 204 << QByteArray("HTTP/1.1 204 No Content");
    QTest::newRow("304") << 304 << QByteArray("HTTP/1.1 304 Not Modified");
    QTest::newRow("100") << 100 << QByteArray("HTTP/1.1 100 Status");
    QTest::newRow("101") << 101 << QByteArray("HTTP/1.1 101 Switching Protocols");
}

void tst_HttpRequest::serializeNoContent() {
    // RFC 9110 §8.6: "A server MUST NOT send a Content-Length header field in any response
    // with a status code of 1xx or 204"; on a 304 it may only repeat the 200's, which the node
    // does not know. None of them has content (§6.4.1), even if a body was set by mistake.
    QFETCH(int, status);
    QFETCH(QByteArray, statusLine);
    HttpResponse response;
    response.status = status;
    for (const QByteArray &body : {QByteArray(), QByteArray("stray")}) {
        response.body = body;
        const QByteArray out = response.serialize(true, false);
        const Parsed p = split(out);
        QCOMPARE(p.statusLine, statusLine);
        QCOMPARE(p.count("Content-Type"), 0); // no content, no type
        QCOMPARE(p.count("Content-Length"), 0);
        QVERIFY(p.body.isEmpty());
        QCOMPARE(p.header("Connection"), QByteArray("keep-alive"));
        QVERIFY(out.endsWith("\r\n\r\n"));
    }
}

void tst_HttpRequest::serializeUpgradeRequired() {
    // RFC 9110 §15.5.22: a 426 names the protocol in Upgrade, and §7.8: whoever sends Upgrade
    // lists it in Connection too.
    HttpResponse response;
    response.setError(426, "version 13 only");
    response.headers.append(qMakePair(QByteArray("Sec-WebSocket-Version"), QByteArray("13")));
    response.headers.append(qMakePair(QByteArray("Upgrade"), QByteArray("websocket")));
    const Parsed p = split(response.serialize(false, false));
    QCOMPARE(p.statusLine, QByteArray("HTTP/1.1 426 Upgrade Required"));
    QCOMPARE(p.header("Upgrade"), QByteArray("websocket"));
    QCOMPARE(p.header("Connection"), QByteArray("Upgrade, close"));
    QCOMPARE(p.header("Content-Length"), QByteArray("16"));
    QCOMPARE(p.body, QByteArray("version 13 only\n"));
    QCOMPARE(split(response.serialize(true, false)).header("Connection"),
             QByteArray("Upgrade, keep-alive"));
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
        {101, "Switching Protocols"},
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
        {426, "Upgrade Required"},
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

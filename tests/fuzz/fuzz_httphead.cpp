// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// libFuzzer target for HttpRequest::parseHead, which reads the request line and headers of
// every connection to the port (WebSocket upgrades and the HTTP API), and for what the listener
// decides from them. Checked besides "no crash, no sanitizer report": a complete head has a
// token method, an origin-form target (a "//" path kept whole) or an http(s) absolute-form one,
// HTTP/1.0 or 1.1, token header names and no CR, LF or NUL in a value; a refusal has a reason;
// bytes after the blank line change nothing; contentLength() agrees with a plain reading of
// RFC 9112 §6.3; a WebSocket handshake is accepted only with what QWebSocketServer needs, and
// refused with 400, 426 (and the version header) or 431.

#include "fuzzcheck.h"
#include "http.h"

#include <algorithm>
#include <limits>

using lhttp::HttpRequest;
using lhttp::HttpResponse;
using Result = lhttp::HttpRequest::HeadResult;

namespace {

bool isTchar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           QByteArrayView("!#$%&'*+-.^_`|~").contains(c);
}

bool isToken(QByteArrayView v) {
    return !v.isEmpty() && std::all_of(v.begin(), v.end(), isTchar);
}

bool isDigits(QByteArrayView v) {
    return !v.isEmpty() &&
           std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// RFC 9112 §6.3 read another way: every Content-Length is digits and they name one number
// (compared saturated at the largest qint64, as contentLength() does).
qint64 expectedContentLength(const HttpRequest &r) {
    constexpr qint64 max = std::numeric_limits<qint64>::max();
    qint64 length = 0;
    bool seen = false;
    for (const auto &[name, value] : r.headers) {
        if (name.toByteArray().toLower() != "content-length")
            continue;
        if (!isDigits(value))
            return -1;
        bool ok = false;
        const qulonglong n = value.toULongLong(&ok, 10);
        const qint64 saturated = ok && n <= qulonglong(max) ? qint64(n) : max;
        if (seen && saturated != length)
            return -1;
        seen = true;
        length = saturated;
    }
    return length;
}

void checkParsed(const HttpRequest &r) {
    FUZZ_CHECK(isToken(r.method));
    FUZZ_CHECK(!r.target.isEmpty() && !r.target.contains(' '));
    FUZZ_CHECK(r.version == "HTTP/1.1" || r.version == "HTTP/1.0");
    const QString path = r.path();
    FUZZ_CHECK(path.startsWith(u'/'));
    if (r.target.startsWith('/')) {
        // The origin-form: the plain-target shortcut agrees with QUrl, and a leading "//" is
        // part of the path, never an authority.
        FUZZ_CHECK(path == r.url().path());
        FUZZ_CHECK(r.url().host().isEmpty());
        if (r.target.startsWith("//"))
            FUZZ_CHECK(path.startsWith(QStringLiteral("//")));
        else
            FUZZ_CHECK(r.url().isValid());
    } else {
        const QUrl url = r.url(); // the absolute-form
        FUZZ_CHECK(url.isValid() && !url.host().isEmpty());
        FUZZ_CHECK(url.scheme() == u"http" || url.scheme() == u"https");
        FUZZ_CHECK(path == (url.path().isEmpty() ? QStringLiteral("/") : url.path()));
    }
    for (const auto &[name, value] : r.headers) {
        FUZZ_CHECK(isToken(name));
        FUZZ_CHECK(!value.contains('\r') && !value.contains('\n') && !value.contains('\0'));
    }
    // Lookups are case-insensitive and the last header of a name wins.
    for (const auto &[name, value] : r.headers) {
        QByteArrayView last;
        for (const auto &[otherName, otherValue] : r.headers) {
            if (otherName.compare(name, Qt::CaseInsensitive) == 0)
                last = otherValue;
        }
        FUZZ_CHECK(r.header(name.toByteArray().toUpper()) == last &&
                   r.header(name.toByteArray().toLower()) == last);
    }
    FUZZ_CHECK(r.contentLength() == expectedContentLength(r));
    (void)r.keepAlive();
    (void)r.header("host");
    (void)r.bearerToken(HttpRequest::TokenFrom::HeaderOrQuery);

    if (!r.isWebSocketUpgrade())
        return;
    HttpResponse refusal;
    if (r.checkWebSocketHandshake(&refusal)) {
        // What QWebSocketServer refuses unanswered is never handed to it.
        FUZZ_CHECK(r.method == "GET" && r.version == "HTTP/1.1" && r.headers.size() <= 100);
        FUZZ_CHECK(r.header("upgrade").compare("websocket", Qt::CaseInsensitive) == 0);
        FUZZ_CHECK(r.header("sec-websocket-version").contains("13"));
        FUZZ_CHECK(r.header("sec-websocket-key").size() == 24);
        FUZZ_CHECK(!r.header("host").isEmpty());
        return;
    }
    FUZZ_CHECK(refusal.status == 400 || refusal.status == 426 || refusal.status == 431);
    FUZZ_CHECK(refusal.body.size() > 1);
    const bool namesVersion =
        std::any_of(refusal.headers.begin(), refusal.headers.end(), [](const auto &h) {
            return h.first == "Sec-WebSocket-Version" && h.second == "13";
        });
    FUZZ_CHECK(namesVersion == (refusal.status == 426));
    const QByteArray answer = refusal.serialize(false, false);
    FUZZ_CHECK(answer.endsWith(refusal.body));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const QByteArrayView in = fuzz::input(data, size);
    HttpRequest request;
    QByteArray reason;
    const Result result = HttpRequest::parseHead(in, &request, &reason);
    if (result == Result::Invalid)
        FUZZ_CHECK(!reason.isEmpty());
    if (result != Result::Complete)
        return 0;
    checkParsed(request);
    FUZZ_CHECK(request.headLength == in.indexOf("\r\n\r\n") + 4); // the first blank line

    // What follows the blank line (a body, a pipelined request) is not part of the head.
    const QByteArray longer = in.toByteArray() + "X-After: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    HttpRequest again;
    QByteArray againReason;
    FUZZ_CHECK(HttpRequest::parseHead(longer, &again, &againReason) == Result::Complete);
    FUZZ_CHECK(again.method == request.method && again.target == request.target);
    FUZZ_CHECK(again.headers == request.headers);
    return 0;
}

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// libFuzzer target for HttpRequest::parseHead, which reads the request line and headers of
// every connection to the port (WebSocket upgrades and the HTTP API). Checked besides "no
// crash, no sanitizer report": a complete head has a method, an origin-form target that is a
// valid URL, HTTP/1.0 or 1.1 and header names without spaces; a refusal has a reason; bytes
// after the blank line change nothing; the header lookups run on whatever was parsed.

#include "fuzzcheck.h"
#include "http.h"

using lhttp::HttpRequest;
using Result = lhttp::HttpRequest::HeadResult;

namespace {

void checkParsed(const HttpRequest &r) {
    FUZZ_CHECK(!r.method.isEmpty() && !r.method.contains(' '));
    FUZZ_CHECK(r.target.startsWith('/') && !r.target.contains(' '));
    FUZZ_CHECK(r.url().isValid());
    FUZZ_CHECK(r.path() == r.url().path()); // the plain-target shortcut agrees with QUrl
    FUZZ_CHECK(r.version == "HTTP/1.1" || r.version == "HTTP/1.0");
    for (const auto &[name, value] : r.headers) {
        FUZZ_CHECK(!name.isEmpty() && !name.contains(' ') && !name.contains(':'));
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
    (void)r.isWebSocketUpgrade();
    (void)r.keepAlive();
    (void)r.header("host");
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

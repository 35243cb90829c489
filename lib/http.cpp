// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "http.h"

namespace lhttp {

namespace {

QByteArrayView trimmed(QByteArrayView v) {
    return v.trimmed();
}

bool containsToken(QByteArrayView list, QByteArrayView token) {
    qsizetype start = 0;
    while (start <= list.size()) {
        qsizetype comma = list.indexOf(',', start);
        if (comma < 0)
            comma = list.size();
        if (trimmed(list.sliced(start, comma - start)).compare(token, Qt::CaseInsensitive) == 0)
            return true;
        start = comma + 1;
    }
    return false;
}

} // namespace

QByteArray HttpRequest::header(QByteArrayView name) const {
    for (auto it = headers.crbegin(); it != headers.crend(); ++it) {
        if (QByteArrayView(it->first).compare(name, Qt::CaseInsensitive) == 0)
            return it->second;
    }
    return {};
}

bool HttpRequest::isWebSocketUpgrade() const {
    return containsToken(header("upgrade"), "websocket");
}

bool HttpRequest::keepAlive() const {
    const QByteArray connection = header("connection");
    if (version == "HTTP/1.0")
        return containsToken(connection, "keep-alive");
    return !containsToken(connection, "close");
}

HttpRequest::HeadResult HttpRequest::parseHead(QByteArrayView head, HttpRequest *out,
                                               QByteArray *reason) {
    auto invalid = [&](const char *why) {
        *reason = why;
        return HeadResult::Invalid;
    };
    const qsizetype lineEnd = head.indexOf("\r\n");
    if (lineEnd < 0)
        return HeadResult::Incomplete;
    const QByteArrayView line = head.first(lineEnd);
    const qsizetype sp1 = line.indexOf(' ');
    const qsizetype sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 <= sp1 + 1 || line.indexOf(' ', sp2 + 1) >= 0)
        return invalid("malformed request line");
    out->method = line.first(sp1).toByteArray();
    out->target = line.sliced(sp1 + 1, sp2 - sp1 - 1).toByteArray();
    out->version = line.sliced(sp2 + 1).toByteArray();
    if (out->version != "HTTP/1.1" && out->version != "HTTP/1.0")
        return invalid("unsupported HTTP version");
    out->url = QUrl(QString::fromLatin1(out->target), QUrl::StrictMode);
    if (!out->url.isValid() || !out->target.startsWith('/'))
        return invalid("malformed request target");
    qsizetype pos = lineEnd + 2;
    while (pos < head.size()) {
        const qsizetype eol = head.indexOf("\r\n", pos);
        if (eol < 0)
            return HeadResult::Incomplete;
        if (eol == pos)
            return HeadResult::Complete;
        const QByteArrayView h = head.sliced(pos, eol - pos);
        const qsizetype colon = h.indexOf(':');
        if (colon <= 0 || h.first(colon).contains(' '))
            return invalid("malformed header line");
        out->headers.append(
            {h.first(colon).toByteArray(), trimmed(h.sliced(colon + 1)).toByteArray()});
        pos = eol + 2;
    }
    return HeadResult::Incomplete;
}

void HttpResponse::setError(int code, const QByteArray &reason) {
    status = code;
    contentType = "text/plain; charset=utf-8";
    body = reason + '\n';
}

QByteArray HttpResponse::reasonPhrase(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

QByteArray HttpResponse::serialize(bool keepAlive, bool headOnly) const {
    QByteArray out;
    out.reserve(160 + body.size());
    out += "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) + "\r\n";
    out += "Server: lhttp-qt/" LHTTP_VERSION "\r\n";
    if (!body.isEmpty() || status != 204)
        out += "Content-Type: " + contentType + "\r\n";
    out += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    for (const auto &h : headers)
        out += h.first + ": " + h.second + "\r\n";
    out += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    if (!headOnly)
        out += body;
    return out;
}

} // namespace lhttp

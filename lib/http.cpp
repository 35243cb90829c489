// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "http.h"

#include <cstring>

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

QByteArrayView HttpRequest::header(QByteArrayView name) const {
    for (auto it = headers.crbegin(); it != headers.crend(); ++it) {
        if (it->first.compare(name, Qt::CaseInsensitive) == 0)
            return it->second;
    }
    return {};
}

bool HttpRequest::isWebSocketUpgrade() const {
    return containsToken(header("upgrade"), "websocket");
}

bool HttpRequest::keepAlive() const {
    const QByteArrayView connection = header("connection");
    if (version == "HTTP/1.0")
        return containsToken(connection, "keep-alive");
    return !containsToken(connection, "close");
}

HttpRequest::HeadResult HttpRequest::parseHead(QByteArrayView head, HttpRequest *out,
                                               QByteArray *reason) {
    const qsizetype end = head.indexOf("\r\n\r\n");
    return parseHead(end < 0 ? head.toByteArray() : head.first(end + 4).toByteArray(), out, reason);
}

HttpRequest::HeadResult HttpRequest::parseHead(const QByteArray &head, HttpRequest *out,
                                               QByteArray *reason) {
    auto invalid = [&](const char *why) {
        *reason = why;
        return HeadResult::Invalid;
    };
    out->head = head;
    const char *const data = out->head.constData();
    const qsizetype size = out->head.size();
    // The end of the line starting at `from` (the index of its "\r\n"), or -1.
    auto lineEnd = [data, size](qsizetype from) -> qsizetype {
        while (from < size) {
            const void *nl = std::memchr(data + from, '\n', size_t(size - from));
            if (!nl)
                return -1;
            const qsizetype at = static_cast<const char *>(nl) - data;
            if (at > 0 && data[at - 1] == '\r')
                return at - 1;
            from = at + 1; // a bare LF is part of the line, as before
        }
        return -1;
    };
    const qsizetype firstEnd = lineEnd(0);
    if (firstEnd < 0)
        return HeadResult::Incomplete;
    const QByteArrayView line(data, firstEnd);
    const qsizetype sp1 = line.indexOf(' ');
    const qsizetype sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 <= sp1 + 1 || line.indexOf(' ', sp2 + 1) >= 0)
        return invalid("malformed request line");
    out->method = line.first(sp1);
    out->target = line.sliced(sp1 + 1, sp2 - sp1 - 1);
    out->version = line.sliced(sp2 + 1);
    if (out->version != "HTTP/1.1" && out->version != "HTTP/1.0")
        return invalid("unsupported HTTP version");
    out->url = QUrl(QString::fromLatin1(out->target), QUrl::StrictMode);
    if (!out->url.isValid() || !out->target.startsWith('/'))
        return invalid("malformed request target");
    out->headers.clear();
    qsizetype pos = firstEnd + 2;
    while (pos < size) {
        const qsizetype eol = lineEnd(pos);
        if (eol < 0)
            return HeadResult::Incomplete;
        if (eol == pos)
            return HeadResult::Complete;
        const QByteArrayView h(data + pos, eol - pos);
        const qsizetype colon = h.indexOf(':');
        if (colon <= 0 || h.first(colon).contains(' '))
            return invalid("malformed header line");
        if (out->headers.isEmpty())
            out->headers.reserve(8);
        out->headers.append({h.first(colon), trimmed(h.sliced(colon + 1))});
        pos = eol + 2;
    }
    return HeadResult::Incomplete;
}

void HttpResponse::setError(int code, const QByteArray &reason) {
    status = code;
    contentType = "text/plain; charset=utf-8";
    body = reason + '\n';
}

const char *HttpResponse::reasonPhrase(int status) {
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
    out.reserve(160 + contentType.size() + (headOnly ? 0 : body.size()));
    out.append("HTTP/1.1 ").append(QByteArray::number(status)).append(' ');
    out.append(reasonPhrase(status)).append("\r\nServer: lhttp-qt/" LHTTP_VERSION "\r\n");
    if (!body.isEmpty() || status != 204)
        out.append("Content-Type: ").append(contentType).append("\r\n");
    out.append("Content-Length: ").append(QByteArray::number(body.size())).append("\r\n");
    for (const auto &h : headers)
        out.append(h.first).append(": ").append(h.second).append("\r\n");
    out.append(keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
    if (!headOnly)
        out.append(body);
    return out;
}

} // namespace lhttp

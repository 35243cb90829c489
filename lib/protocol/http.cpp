// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "http.h"

#include <QUrlQuery>

#include <array>
#include <cstring>
#include <string_view>

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

// Only unreserved and sub-delim characters, '/', ':', '@', '?' and no '%', and not starting
// with "//" (which QUrl reads as an authority): QUrl (strict mode) accepts every such target
// and gives its path unchanged, so no QUrl is needed for it.
bool isPlainTarget(QByteArrayView target) {
    if (target.startsWith("//"))
        return false;
    static constexpr auto table = [] {
        std::array<bool, 256> t{};
        for (char c = 'a'; c <= 'z'; ++c)
            t[uchar(c)] = true;
        for (char c = 'A'; c <= 'Z'; ++c)
            t[uchar(c)] = true;
        for (char c = '0'; c <= '9'; ++c)
            t[uchar(c)] = true;
        for (char c : std::string_view("-._~!$&'()*+,;=:@/?"))
            t[uchar(c)] = true;
        return t;
    }();
    for (char c : target) {
        if (!table[uchar(c)])
            return false;
    }
    return true;
}

// `n` (not negative) in decimal, written backwards into the end of `buffer`.
QByteArrayView decimal(qint64 n, char (&buffer)[24]) {
    char *end = buffer + sizeof buffer;
    char *p = end;
    do {
        *--p = char('0' + n % 10);
        n /= 10;
    } while (n > 0);
    return QByteArrayView(p, end - p);
}

} // namespace

QUrl HttpRequest::url() const {
    return QUrl(QString::fromLatin1(target), QUrl::StrictMode);
}

QString HttpRequest::path() const {
    if (!isPlainTarget(target))
        return url().path();
    const qsizetype query = target.indexOf('?');
    return QString::fromLatin1(query < 0 ? target : target.first(query));
}

QByteArrayView HttpRequest::header(QByteArrayView name) const {
    for (auto it = headers.crbegin(); it != headers.crend(); ++it) {
        if (it->first.size() == name.size() && it->first.compare(name, Qt::CaseInsensitive) == 0)
            return it->second;
    }
    return {};
}

QByteArray HttpRequest::bearerToken(TokenFrom from) const {
    if (const QByteArrayView auth = header("authorization"); auth.startsWith("Bearer "))
        return auth.sliced(7).trimmed().toByteArray();
    if (from == TokenFrom::Header || !target.contains('?'))
        return {};
    return QUrlQuery(url()).queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded).toUtf8();
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
    if (!out->target.startsWith('/') || (!isPlainTarget(out->target) && !out->url().isValid()))
        return invalid("malformed request target");
    out->headers.clear();
    qsizetype pos = firstEnd + 2;
    while (pos < size) {
        const qsizetype eol = lineEnd(pos);
        if (eol < 0)
            return HeadResult::Incomplete;
        if (eol == pos) {
            out->headLength = pos + 2;
            return HeadResult::Complete;
        }
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
    // Sized once and filled with memcpy: this runs for every POST /publish.
    char statusDigits[24];
    const QByteArrayView statusText = decimal(status, statusDigits);
    char lengthDigits[24];
    const QByteArrayView lengthText = decimal(body.size(), lengthDigits);
    const QByteArrayView reason(reasonPhrase(status));
    const bool withType = !body.isEmpty() || status != 204;
    const QByteArrayView connection = keepAlive ? QByteArrayView("Connection: keep-alive\r\n\r\n")
                                                : QByteArrayView("Connection: close\r\n\r\n");
    constexpr QByteArrayView server("\r\nServer: lhttp-qt/" LHTTP_VERSION "\r\n");
    qsizetype size = 9 + statusText.size() + 1 + reason.size() + server.size() +
                     (withType ? 14 + contentType.size() + 2 : 0) + 16 + lengthText.size() + 2 +
                     connection.size() + (headOnly ? 0 : body.size());
    for (const auto &h : headers)
        size += h.first.size() + 2 + h.second.size() + 2;
    QByteArray out(size, Qt::Uninitialized);
    char *p = out.data();
    auto put = [&p](QByteArrayView v) {
        if (v.isEmpty())
            return; // memcpy must not see the null pointer of an empty view
        std::memcpy(p, v.data(), size_t(v.size()));
        p += v.size();
    };
    put("HTTP/1.1 ");
    put(statusText);
    put(" ");
    put(reason);
    put(server);
    if (withType) {
        put("Content-Type: ");
        put(contentType);
        put("\r\n");
    }
    put("Content-Length: ");
    put(lengthText);
    put("\r\n");
    for (const auto &h : headers) {
        put(h.first);
        put(": ");
        put(h.second);
        put("\r\n");
    }
    put(connection);
    if (!headOnly)
        put(body);
    Q_ASSERT(p == out.constData() + out.size());
    return out;
}

} // namespace lhttp

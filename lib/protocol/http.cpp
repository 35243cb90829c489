// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "http.h"

#include <QUrlQuery>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
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

// Letters, digits and `extra`.
constexpr std::array<bool, 256> charTable(std::string_view extra) {
    std::array<bool, 256> t{};
    for (char c = 'a'; c <= 'z'; ++c)
        t[uchar(c)] = true;
    for (char c = 'A'; c <= 'Z'; ++c)
        t[uchar(c)] = true;
    for (char c = '0'; c <= '9'; ++c)
        t[uchar(c)] = true;
    for (char c : extra)
        t[uchar(c)] = true;
    return t;
}

// RFC 9110 §5.6.2: what methods and field names are made of.
bool isToken(QByteArrayView v) {
    static constexpr auto tchar = charTable("!#$%&'*+-.^_`|~");
    for (char c : v) {
        if (!tchar[uchar(c)])
            return false;
    }
    return !v.isEmpty();
}

bool equalsIgnoringCase(QByteArrayView a, QByteArrayView b) {
    return a.size() == b.size() && a.compare(b, Qt::CaseInsensitive) == 0;
}

// An origin-form target of only unreserved and sub-delim characters, '/', ':', '@', '?' and no
// '%', not starting with "//": QUrl (strict mode) accepts every such target and gives its path
// unchanged, so no QUrl is needed for it.
bool isPlainTarget(QByteArrayView target) {
    if (!target.startsWith('/') || target.startsWith("//"))
        return false;
    static constexpr auto table = charTable("-._~!$&'()*+,;=:@/?");
    for (char c : target) {
        if (!table[uchar(c)])
            return false;
    }
    return true;
}

// Put before an origin-form target starting with "//": alone, QUrl reads "//x" as an authority,
// where a request means a path whose first segment is empty (RFC 9112 §3.2.1).
constexpr char PlaceholderOrigin[] = "http://h";

// The target as QUrl parses it (after PlaceholderOrigin for a "//" path).
QUrl parseTarget(QByteArrayView target) {
    QString text = QString::fromLatin1(target);
    if (target.startsWith("//"))
        text.prepend(QLatin1String(PlaceholderOrigin));
    return QUrl(text, QUrl::StrictMode);
}

// The origin-form (an absolute path and a query), or the absolute-form that RFC 9112 §3.2.2
// requires a server to accept: an http or https URL with a host and no user info (RFC 9110
// §4.2.4). Not the authority-form (CONNECT) or the asterisk-form (OPTIONS *).
bool isValidTarget(QByteArrayView target) {
    if (target.startsWith('/'))
        return isPlainTarget(target) || parseTarget(target).isValid();
    const QUrl url = parseTarget(target);
    return url.isValid() && (url.scheme() == u"http" || url.scheme() == u"https") &&
           !url.host().isEmpty() && !url.authority().contains(u'@');
}

// 16 bytes in base64 (RFC 6455 §4.1): 24 characters, the last two '='.
bool isValidWebSocketKey(QByteArrayView key) {
    if (key.size() != 24)
        return false;
    const auto decoded =
        QByteArray::fromBase64Encoding(key.toByteArray(), QByteArray::AbortOnBase64DecodingErrors);
    return decoded && decoded.decoded.size() == 16;
}

// What QtWebSockets accepts in a handshake (QWebSocketPrivate::MAX_HEADERLINES, and its
// MAX_HEADERLINE_LENGTH of 8 KiB with the CRLF); beyond it, it closes the connection unanswered.
constexpr qsizetype MaxHandshakeHeaders = 100;
constexpr qsizetype MaxHandshakeLine = 8 * 1024 - 2;

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
    QUrl url = parseTarget(target);
    if (target.startsWith("//")) {
        url.setScheme(QString());
        url.setAuthority(QString());
    }
    return url;
}

QString HttpRequest::path() const {
    if (isPlainTarget(target)) {
        const qsizetype query = target.indexOf('?');
        return QString::fromLatin1(query < 0 ? target : target.first(query));
    }
    const QString path = parseTarget(target).path();
    return path.isEmpty() ? QStringLiteral("/") : path; // "http://host" is "http://host/"
}

QByteArrayView HttpRequest::header(QByteArrayView name) const {
    for (auto it = headers.crbegin(); it != headers.crend(); ++it) {
        if (it->first.size() == name.size() && it->first.compare(name, Qt::CaseInsensitive) == 0)
            return it->second;
    }
    return {};
}

QByteArray HttpRequest::bearerToken(TokenFrom from) const {
    constexpr QByteArrayView scheme("Bearer ");
    if (const QByteArrayView auth = header("authorization");
        auth.size() > scheme.size() && equalsIgnoringCase(auth.first(scheme.size()), scheme)) {
        return auth.sliced(scheme.size()).trimmed().toByteArray();
    }
    if (from == TokenFrom::Header || !target.contains('?'))
        return {};
    return QUrlQuery(parseTarget(target))
        .queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded)
        .toUtf8();
}

bool HttpRequest::isWebSocketUpgrade() const {
    return containsToken(header("upgrade"), "websocket");
}

bool HttpRequest::checkWebSocketHandshake(HttpResponse *refusal) const {
    auto refuse = [refusal](int status, const QByteArray &reason) {
        refusal->setError(status, reason);
        return false;
    };
    if (method != "GET")
        return refuse(400, "a WebSocket handshake must be a GET request");
    if (version != "HTTP/1.1")
        return refuse(400, "a WebSocket handshake must be HTTP/1.1");
    if (headers.size() > MaxHandshakeHeaders) {
        return refuse(431, "a WebSocket handshake may have at most " +
                               QByteArray::number(MaxHandshakeHeaders) + " header lines");
    }
    // Every line ends at its first LF (parseHead refuses one anywhere else).
    auto lineLength = [this](QByteArrayView start) {
        const qsizetype from = start.data() - head.constData();
        return head.indexOf('\n', from) - 1 - from;
    };
    bool longLine = lineLength(method) > MaxHandshakeLine;
    for (const auto &h : headers)
        longLine = longLine || lineLength(h.first) > MaxHandshakeLine;
    if (longLine) {
        return refuse(431, "a line of a WebSocket handshake may have at most " +
                               QByteArray::number(MaxHandshakeLine) + " bytes");
    }
    // Each of these once: of several, QtWebSockets reads the first and header() the last.
    QByteArray why;
    auto single = [this, &why](const char *name) {
        QByteArrayView value;
        int count = 0;
        for (const auto &h : headers) {
            if (equalsIgnoringCase(h.first, name)) {
                value = h.second;
                ++count;
            }
        }
        if (count != 1)
            why = (count == 0 ? "no " : "more than one ") + QByteArray(name) + " header";
        return value;
    };
    const QByteArrayView upgrade = single("Upgrade");
    if (!why.isEmpty() || !equalsIgnoringCase(upgrade, "websocket"))
        return refuse(400, why.isEmpty() ? "Upgrade must be websocket alone" : why);
    const QByteArrayView connection = single("Connection");
    if (!why.isEmpty() || !containsToken(connection, "upgrade"))
        return refuse(400, why.isEmpty() ? "Connection must list Upgrade" : why);
    const QByteArrayView wsVersion = single("Sec-WebSocket-Version");
    if (!why.isEmpty() || wsVersion.isEmpty())
        return refuse(400, why.isEmpty() ? "empty Sec-WebSocket-Version header" : why);
    // RFC 6455 has one version here; QtWebSockets takes a list, and so does this check.
    if (!containsToken(wsVersion, "13")) {
        // RFC 6455 §4.4 names the versions spoken, RFC 9110 §15.5.22 the protocol (Upgrade).
        refusal->headers.append(qMakePair(QByteArray("Sec-WebSocket-Version"), QByteArray("13")));
        refusal->headers.append(qMakePair(QByteArray("Upgrade"), QByteArray("websocket")));
        return refuse(426, "WebSocket version " + wsVersion.toByteArray() +
                               " is not supported; this server speaks version 13");
    }
    const QByteArrayView key = single("Sec-WebSocket-Key");
    if (!why.isEmpty() || !isValidWebSocketKey(key))
        return refuse(400, why.isEmpty() ? "Sec-WebSocket-Key is not 16 bytes in base64" : why);
    const QByteArrayView host = single("Host");
    QUrl authority; // read as QtWebSockets reads it
    authority.setAuthority(QString::fromLatin1(host));
    if (!why.isEmpty() || authority.host().isEmpty() || !authority.userName().isNull())
        return refuse(400, why.isEmpty() ? "invalid Host header" : why);
    return true;
}

bool HttpRequest::keepAlive() const {
    const QByteArrayView connection = header("connection");
    if (version == "HTTP/1.0")
        return containsToken(connection, "keep-alive");
    return !containsToken(connection, "close");
}

qint64 HttpRequest::contentLength() const {
    constexpr qint64 max = std::numeric_limits<qint64>::max();
    qint64 length = 0;
    bool seen = false;
    for (const auto &[name, value] : headers) {
        if (!equalsIgnoringCase(name, "content-length"))
            continue;
        if (value.isEmpty())
            return -1;
        qint64 n = 0;
        for (char c : value) {
            if (c < '0' || c > '9')
                return -1;
            const int digit = c - '0';
            n = n > (max - digit) / 10 ? max : n * 10 + digit;
        }
        if (seen && n != length)
            return -1;
        seen = true;
        length = n;
    }
    return length;
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
    if (!isToken(out->method))
        return invalid("malformed request line");
    if (out->version != "HTTP/1.1" && out->version != "HTTP/1.0")
        return invalid("unsupported HTTP version");
    if (!isValidTarget(out->target))
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
        if (colon <= 0 || !isToken(h.first(colon)))
            return invalid("malformed header line");
        // RFC 9110 §5.5: refused, not replaced by spaces; a bare LF in particular is where a
        // proxy in front that ends lines at LF would read other headers than this parser.
        const QByteArrayView value = h.sliced(colon + 1);
        if (std::any_of(value.begin(), value.end(),
                        [](char c) { return c == '\r' || c == '\n' || c == '\0'; })) {
            return invalid("CR, LF or NUL in a header value");
        }
        if (out->headers.isEmpty())
            out->headers.reserve(8);
        out->headers.append({h.first(colon), trimmed(value)});
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
    case 101:
        return "Switching Protocols";
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
    case 426:
        return "Upgrade Required";
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
    const bool bodiless = status < 200 || status == 204 || status == 304;
    const bool sendBody = !bodiless && !headOnly;
    const bool offersUpgrade = std::any_of(headers.begin(), headers.end(), [](const auto &h) {
        return equalsIgnoringCase(h.first, "upgrade");
    });
    const QByteArrayView connection =
        offersUpgrade ? (keepAlive ? QByteArrayView("Connection: Upgrade, keep-alive\r\n\r\n")
                                   : QByteArrayView("Connection: Upgrade, close\r\n\r\n"))
        : keepAlive   ? QByteArrayView("Connection: keep-alive\r\n\r\n")
                      : QByteArrayView("Connection: close\r\n\r\n");
    constexpr QByteArrayView server("\r\nServer: lhttp-qt/" LHTTP_VERSION "\r\n");
    qsizetype size = 9 + statusText.size() + 1 + reason.size() + server.size() +
                     (bodiless ? 0 : 14 + contentType.size() + 2 + 16 + lengthText.size() + 2) +
                     connection.size() + (sendBody ? body.size() : 0);
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
    if (!bodiless) {
        put("Content-Type: ");
        put(contentType);
        put("\r\nContent-Length: ");
        put(lengthText);
        put("\r\n");
    }
    for (const auto &h : headers) {
        put(h.first);
        put(": ");
        put(h.second);
        put("\r\n");
    }
    put(connection);
    if (sendBody)
        put(body);
    Q_ASSERT(p == out.constData() + out.size());
    return out;
}

} // namespace lhttp

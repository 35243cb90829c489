// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QPair>
#include <QUrl>

namespace lhttp {

struct HttpResponse;

// A plain HTTP/1.x request as the listener hands it to Server::handleHttp: complete, with
// its body (bounded by the message limit before a byte of it is read).
struct HttpRequest {
    // The request line and headers as received; method, target, version and the headers are
    // views into it (valid while this request, or a copy of it, lives): one allocation per
    // request, not two per header.
    QByteArray head;
    QByteArrayView method;
    QByteArrayView target;
    QByteArrayView version;
    QList<QPair<QByteArrayView, QByteArrayView>> headers;
    qsizetype headLength = 0; // bytes up to and including the blank line
    QByteArray body;
    QHostAddress peer;

    // The target as a URL, parsed on demand (parseHead has checked it). The origin-form
    // (`/path?query`, RFC 9112 §3.2.1) gives a relative URL of the path and query; the
    // absolute-form (`http://host/path`, §3.2.2) that URL. A path starting with "//" stays the
    // path (QUrl alone reads "//x" as an authority): path() and query() are right, but QUrl
    // calls such a relative URL invalid.
    QUrl url() const;
    // The target's path, percent-decoded as QUrl::path() gives it, "/" for an absolute-form
    // target without one; without building a QUrl for a plain target.
    QString path() const;
    // Case-insensitive; the last header of that name (null if there is none).
    QByteArrayView header(QByteArrayView name) const;
    // The request asks for a WebSocket (`Upgrade` lists `websocket`): whether it is a valid
    // handshake is checkWebSocketHandshake()'s question.
    bool isWebSocketUpgrade() const;
    // Checked before a WebSocket upgrade is handed to QWebSocketServer, which closes a handshake
    // it cannot accept without a word: true for a valid opening handshake (RFC 6455 §4.2.1,
    // within QtWebSockets' header limits), else false with the answer in `refusal`: 400 and the
    // reason, 426 with `Sec-WebSocket-Version: 13` for another version (§4.4), 431 over the
    // limits.
    bool checkWebSocketHandshake(HttpResponse *refusal) const;
    bool keepAlive() const;
    // The body length the head announces (RFC 9112 §6.3): 0 without Content-Length, -1 when it is
    // invalid — a value that is not 1*DIGIT (a sign, a list, empty), or several fields that
    // differ; several identical ones are accepted. Saturates at the largest qint64.
    qint64 contentLength() const;
    // The credential the request carries, read in this one place for connect tokens, the admin
    // token and the API key: `Authorization: Bearer <token>` (the scheme in any case, RFC 9110
    // §11.1), else (with HeaderOrQuery) the
    // percent-decoded `token` query parameter, which browsers need: they cannot set headers
    // on a WebSocket. Empty when there is none.
    enum class TokenFrom { Header, HeaderOrQuery };
    QByteArray bearerToken(TokenFrom from) const;

    enum class HeadResult { Complete, Incomplete, Invalid };
    // Parses the request line and headers at the start of `head`, up to the blank line;
    // what follows it (a body, the next request) is not looked at. Method and field names must
    // be tokens; CR, LF or NUL in a field value makes the head invalid (RFC 9110 §5.5).
    static HeadResult parseHead(QByteArrayView head, HttpRequest *out, QByteArray *reason);
    // The same without copying `head`: it is shared.
    static HeadResult parseHead(const QByteArray &head, HttpRequest *out, QByteArray *reason);
};

struct HttpResponse {
    int status = 200;
    QByteArray contentType = "text/plain; charset=utf-8";
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;

    void setError(int status, const QByteArray &reason);
    // A 1xx, 204 or 304 response has neither Content-Length nor a body (RFC 9110 §8.6, §6.4.1).
    // An Upgrade header (which a 426 must carry) is named in Connection as well (§7.8).
    QByteArray serialize(bool keepAlive, bool headOnly) const;
    static const char *reasonPhrase(int status);
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QPair>
#include <QUrl>

namespace lhttp {

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

    // The target as a URL, parsed on demand (parseHead has checked that it is a valid one).
    QUrl url() const;
    // The target's path, as QUrl::path() gives it; without building a QUrl for a plain target.
    QString path() const;
    // Case-insensitive; the last header of that name (null if there is none).
    QByteArrayView header(QByteArrayView name) const;
    bool isWebSocketUpgrade() const;
    bool keepAlive() const;
    // The credential the request carries, read in this one place for connect tokens, the admin
    // token and the API key: `Authorization: Bearer <token>`, else (with HeaderOrQuery) the
    // percent-decoded `token` query parameter, which browsers need: they cannot set headers
    // on a WebSocket. Empty when there is none.
    enum class TokenFrom { Header, HeaderOrQuery };
    QByteArray bearerToken(TokenFrom from) const;

    enum class HeadResult { Complete, Incomplete, Invalid };
    // Parses the request line and headers at the start of `head`, up to the blank line;
    // what follows it (a body, the next request) is not looked at.
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
    QByteArray serialize(bool keepAlive, bool headOnly) const;
    static const char *reasonPhrase(int status);
};

} // namespace lhttp

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
    QByteArray method;
    QByteArray target;
    QUrl url;
    QByteArray version;
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
    QHostAddress peer;

    // Case-insensitive; the last header of that name.
    QByteArray header(QByteArrayView name) const;
    bool isWebSocketUpgrade() const;
    bool keepAlive() const;

    enum class HeadResult { Complete, Incomplete, Invalid };
    // Parses the request line and headers of `head` (which ends with the blank line).
    static HeadResult parseHead(QByteArrayView head, HttpRequest *out, QByteArray *reason);
};

struct HttpResponse {
    int status = 200;
    QByteArray contentType = "text/plain; charset=utf-8";
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;

    void setError(int status, const QByteArray &reason);
    QByteArray serialize(bool keepAlive, bool headOnly) const;
    static QByteArray reasonPhrase(int status);
};

} // namespace lhttp

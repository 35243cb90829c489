// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "httpclient.h"

#include <QEventLoop>
#include <QNetworkReply>
#include <QTimer>

QByteArray HttpResult::header(const QByteArray &name) const {
    for (const auto &h : headers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    }
    return {};
}

HttpResult httpRequest(QNetworkAccessManager &nam, const QByteArray &method, const QUrl &url,
                       const QByteArray &body, const QList<QPair<QByteArray, QByteArray>> &headers,
                       int timeoutMs) {
    QNetworkRequest request(url);
    for (const auto &h : headers)
        request.setRawHeader(h.first, h.second);
    if (!body.isEmpty() && !request.hasRawHeader("Content-Type"))
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArray("text/plain"));
    QNetworkReply *reply = nam.sendCustomRequest(request, method, body);
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    loop.exec();
    HttpResult r;
    if (reply->isFinished()) {
        r.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        r.body = reply->readAll();
        r.headers = reply->rawHeaderPairs();
    }
    reply->deleteLater();
    return r;
}

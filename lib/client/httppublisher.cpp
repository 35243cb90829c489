// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "httppublisher.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>

namespace lhttp {

HttpPublishReply::HttpPublishReply(QObject *parent)
    : QObject(parent) {}

HttpPublishReply::~HttpPublishReply() {
    if (m_reply) {
        disconnect(m_reply, nullptr, this, nullptr);
        m_reply->abort();
        m_reply->deleteLater();
    }
}

void HttpPublishReply::start(const QByteArray &message, const HttpPublishOptions &options,
                             QNetworkAccessManager *nam) {
    const QString scheme = options.url.scheme();
    if (!options.url.isValid() || (scheme != u"http" && scheme != u"https")) {
        failLater(QStringLiteral("not an http(s) URL: %1").arg(options.url.toString()));
        return;
    }
    if (!nam) {
        m_ownNam = new QNetworkAccessManager(this);
        nam = m_ownNam;
    }
    QNetworkRequest request(options.url);
    // What the original's tools.Publish sent; the server does not look at it.
    request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("text/plain"));
    // A redirect would turn the POST into a GET somewhere else: report it instead.
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                         QNetworkRequest::ManualRedirectPolicy);
    if (!options.apiKey.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + options.apiKey);
    if (options.timeoutMs > 0)
        request.setTransferTimeout(options.timeoutMs);
    if (!options.sslConfiguration.isNull())
        request.setSslConfiguration(options.sslConfiguration);
    m_timeoutMs = options.timeoutMs;
    m_reply = nam->post(request, message);
    connect(m_reply, &QNetworkReply::finished, this, &HttpPublishReply::onReplyFinished);
}

void HttpPublishReply::failLater(const QString &error) {
    QTimer::singleShot(0, this, [this, error] { finish(0, {}, error); });
}

void HttpPublishReply::abort() {
    m_aborted = true;
    if (m_reply)
        m_reply->abort(); // finished() follows synchronously
}

void HttpPublishReply::onReplyFinished() {
    QNetworkReply *reply = m_reply;
    m_reply = nullptr;
    reply->deleteLater();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QByteArray body = reply->readAll();
    QString error;
    if (status == 0) {
        if (m_aborted)
            error = QStringLiteral("aborted");
        else if (reply->error() == QNetworkReply::OperationCanceledError)
            error = QStringLiteral("timed out after %1 ms").arg(m_timeoutMs);
        else
            error = reply->errorString();
    } else if (status < 200 || status >= 300) {
        const QString reason = QString::fromUtf8(body).trimmed();
        error = QStringLiteral("HTTP %1").arg(status) +
                (reason.isEmpty() ? QString() : QStringLiteral(": ") + reason);
    }
    finish(status, body, error);
}

void HttpPublishReply::finish(int status, const QByteArray &body, const QString &error) {
    if (m_finished)
        return;
    m_finished = true;
    m_status = status;
    m_body = body;
    m_errorString = error;
    Q_EMIT finished(status, body);
    if (m_autoDelete)
        deleteLater();
}

HttpPublishReply *publishHttpMessage(const QByteArray &message, const HttpPublishOptions &options,
                                     QNetworkAccessManager *nam) {
    auto *reply = new HttpPublishReply(nam);
    reply->start(message, options, nam);
    return reply;
}

HttpPublishReply *publishHttp(const QByteArrayList &channels, const QByteArray &command,
                              const HeaderPairs &headers, const QByteArray &body,
                              const HttpPublishOptions &options, QNetworkAccessManager *nam) {
    QString error;
    const QByteArray message = buildPublishMessage(channels, command, headers, body, &error);
    if (message.isNull()) {
        auto *reply = new HttpPublishReply(nam);
        reply->failLater(error);
        return reply;
    }
    return publishHttpMessage(message, options, nam);
}

} // namespace lhttp

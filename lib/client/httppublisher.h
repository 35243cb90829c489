// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "client.h"

#include <QByteArray>
#include <QObject>
#include <QPointer>
#include <QSslConfiguration>
#include <QString>
#include <QUrl>

class QNetworkAccessManager;
class QNetworkReply;

namespace lhttp {

struct HttpPublishOptions {
    static constexpr int DefaultTimeoutMs = 10'000;
    static QUrl defaultUrl() { return QUrl(QStringLiteral("http://127.0.0.1:8081/publish")); }

    QUrl url = defaultUrl();
    // Sent as `Authorization: Bearer <apiKey>` when not empty (lhttpd-qt --api-key).
    QByteArray apiKey;
    // The whole request, connect to last byte of the answer; 0 waits forever.
    int timeoutMs = DefaultTimeoutMs;
    // TLS for https:// URLs (a private CA, or no verification), as in
    // QNetworkRequest::setSslConfiguration(); null: QSslConfiguration::defaultConfiguration().
    // A shared QNetworkAccessManager may reuse a connection that it opened to the same host
    // with other settings.
    QSslConfiguration sslConfiguration;
};

// The outcome of one publishHttp() call. finished() is emitted exactly once, always from the
// event loop (never inside publishHttp itself), so connecting right after the call is safe.
// The reply deletes itself after finished() unless setAutoDelete(false).
class HttpPublishReply : public QObject {
    Q_OBJECT
public:
    ~HttpPublishReply() override;

    bool isFinished() const { return m_finished; }
    // The HTTP status, or 0 when there was none: invalid input, connection refused, timeout.
    int httpStatus() const { return m_status; }
    // The response body: empty on success; the server's plain-text reason otherwise.
    QByteArray body() const { return m_body; }
    bool isSuccess() const { return m_status >= 200 && m_status < 300; }
    // A readable reason for a failure: the server's reason, a transport error or an input error.
    QString errorString() const { return m_errorString; }

    bool autoDelete() const { return m_autoDelete; }
    void setAutoDelete(bool on) { m_autoDelete = on; }
    // Gives up; finished() reports status 0 with "aborted".
    void abort();

Q_SIGNALS:
    void finished(int httpStatus, const QByteArray &body);

private:
    friend HttpPublishReply *publishHttpMessage(const QByteArray &, const HttpPublishOptions &,
                                                QNetworkAccessManager *);
    friend HttpPublishReply *publishHttp(const QByteArrayList &, const QByteArray &,
                                         const HeaderPairs &, const QByteArray &,
                                         const HttpPublishOptions &, QNetworkAccessManager *);
    explicit HttpPublishReply(QObject *parent);
    void start(const QByteArray &message, const HttpPublishOptions &options,
               QNetworkAccessManager *nam);
    // Finishes from the event loop, for failures found before any request was made.
    void failLater(const QString &error);
    void onReplyFinished();
    void finish(int status, const QByteArray &body, const QString &error);

    QPointer<QNetworkReply> m_reply;
    QNetworkAccessManager *m_ownNam = nullptr;
    int m_status = 0;
    QByteArray m_body;
    QString m_errorString;
    int m_timeoutMs = 0;
    bool m_finished = false;
    bool m_aborted = false;
    bool m_autoDelete = true;
};

// The original's tools.Publish(channelIDs, command, headers, body): builds
// `LHTTP/1.0 <command>\r\npublish:<channels>\r\n<headers>\r\n\r\n<body>` and POSTs it to
// options.url (PROTOCOL.md §4), asynchronously. Use an application-wide `nam` when publishing
// often; with nullptr the reply makes its own. The reply is a child of `nam` when one is given.
HttpPublishReply *publishHttp(const QByteArrayList &channels, const QByteArray &command,
                              const HeaderPairs &headers, const QByteArray &body,
                              const HttpPublishOptions &options = {},
                              QNetworkAccessManager *nam = nullptr);
// POSTs an already built LHTTP message as it is (it needs its own `publish` header).
HttpPublishReply *publishHttpMessage(const QByteArray &message,
                                     const HttpPublishOptions &options = {},
                                     QNetworkAccessManager *nam = nullptr);

} // namespace lhttp

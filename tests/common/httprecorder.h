// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QTcpServer>
#include <QUrl>

// A real HTTP/1.1 backend for upstream tests: records every request and answers with a
// configurable status, body and delay, or never answers at all.
class HttpRecorder : public QTcpServer {
    Q_OBJECT
public:
    struct Request {
        QByteArray method;
        QByteArray target; // path and query as sent
        QList<QPair<QByteArray, QByteArray>> headers;
        QByteArray body;
        QByteArray header(const QByteArray &name) const;
        bool hasHeader(const QByteArray &name) const;
    };

    explicit HttpRecorder(QObject *parent = nullptr);
    QUrl url(const QString &path = QStringLiteral("/")) const;

    int status = 200;
    QByteArray responseBody = "ok";
    QByteArray contentType = "text/plain";
    int delayMs = 0;
    bool neverAnswer = false;
    QList<Request> requests;

Q_SIGNALS:
    void received();

private:
    void onReadyRead(QTcpSocket *socket);
    void readOne(QTcpSocket *socket);
};

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "httprecorder.h"

#include <QPointer>
#include <QTcpSocket>
#include <QTimer>

QByteArray HttpRecorder::Request::header(const QByteArray &name) const {
    for (const auto &h : headers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    }
    return {};
}

bool HttpRecorder::Request::hasHeader(const QByteArray &name) const {
    for (const auto &h : headers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return true;
    }
    return false;
}

HttpRecorder::HttpRecorder(QObject *parent)
    : QTcpServer(parent) {
    // QNetworkAccessManager lanes open up to 100 connections at once here; with Qt's default
    // backlog of 50 the kernel dropped SYNs and they came back after its 1 s retransmission
    // timeout (TcpExtListenOverflows), which made upstream requests time out at random.
    setListenBacklogSize(1024);
    listen(QHostAddress::LocalHost, 0);
    connect(this, &QTcpServer::newConnection, this, [this] {
        while (QTcpSocket *s = nextPendingConnection()) {
            connect(s, &QTcpSocket::readyRead, this, [this, s] { onReadyRead(s); });
            connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
        }
    });
}

QUrl HttpRecorder::url(const QString &path) const {
    return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(serverPort()).arg(path));
}

void HttpRecorder::onReadyRead(QTcpSocket *s) {
    qint64 before = -1;
    while (s->bytesAvailable() > 0 && s->bytesAvailable() != before) {
        before = s->bytesAvailable();
        readOne(s);
    }
}

void HttpRecorder::readOne(QTcpSocket *s) {
    const QByteArray data = s->peek(s->bytesAvailable());
    const qsizetype end = data.indexOf("\r\n\r\n");
    if (end < 0)
        return;
    Request r;
    const QList<QByteArray> lines = data.left(end).split('\n');
    const QList<QByteArray> start = lines.first().trimmed().split(' ');
    r.method = start.value(0);
    r.target = start.value(1);
    qsizetype length = 0;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            continue;
        r.headers.append({line.left(colon), line.mid(colon + 1).trimmed()});
        if (line.left(colon).compare("content-length", Qt::CaseInsensitive) == 0)
            length = line.mid(colon + 1).trimmed().toLongLong();
    }
    if (data.size() < end + 4 + length)
        return;
    s->read(end + 4);
    r.body = s->read(length);
    requests.append(r);
    Q_EMIT received();
    if (neverAnswer)
        return;
    const QByteArray response = "HTTP/1.1 " + QByteArray::number(status) +
                                " X\r\nContent-Type: " + contentType +
                                "\r\nContent-Length: " + QByteArray::number(responseBody.size()) +
                                "\r\n\r\n" + responseBody;
    QPointer<QTcpSocket> guard(s);
    QTimer::singleShot(delayMs, this, [guard, response] {
        if (guard)
            guard->write(response);
    });
}

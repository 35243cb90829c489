// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "wsclient.h"

#include <QSignalSpy>
#include <QTest>

WsClient::WsClient(QObject *parent)
    : QObject(parent) {
    connect(&socket, &QWebSocket::textMessageReceived, this, [this](const QString &t) {
        received.append(t.toUtf8());
        receivedBinary.append(false);
    });
    connect(&socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &b) {
        received.append(b);
        receivedBinary.append(true);
    });
    connect(&socket, &QWebSocket::connected, this, [this] { connected = true; });
    connect(&socket, &QWebSocket::disconnected, this, [this] {
        connected = false;
        closeCode = socket.closeCode();
        closeReason = socket.closeReason();
    });
}

WsClient::~WsClient() {
    // `socket` is destroyed last of the members and closes a live connection on the way,
    // emitting disconnected(): the slot above would then write into members already gone.
    disconnect(&socket, nullptr, this, nullptr);
}

bool WsClient::open(const QUrl &url, int timeoutMs, const QNetworkRequest &request) {
    QNetworkRequest r = request;
    r.setUrl(url);
    socket.open(r);
    QElapsedTimer t;
    t.start();
    while (!connected && t.elapsed() < timeoutMs) {
        if (socket.state() == QAbstractSocket::UnconnectedState && t.elapsed() > 50 &&
            socket.error() != QAbstractSocket::UnknownSocketError)
            return false;
        QTest::qWait(5);
    }
    return connected;
}

bool WsClient::waitForMessages(int count, int timeoutMs) {
    QElapsedTimer t;
    t.start();
    while (received.size() < count && t.elapsed() < timeoutMs)
        QTest::qWait(2);
    return received.size() >= count;
}

bool WsClient::staysQuiet(int ms) {
    const qsizetype before = received.size();
    QTest::qWait(ms);
    return received.size() == before;
}

bool WsClient::waitForDisconnect(int timeoutMs) {
    QElapsedTimer t;
    t.start();
    while (connected && t.elapsed() < timeoutMs)
        QTest::qWait(5);
    return !connected;
}

bool WsClient::sync(int timeoutMs) {
    const qsizetype before = received.size();
    send("LHTTP/1.0 sync-probe\r\nsubscribe:..\r\n\r\n"); // always answered with error 400
    if (!waitForMessages(int(before) + 1, timeoutMs))
        return false;
    if (!received.last().contains("code:400"))
        return false;
    received.removeLast();
    receivedBinary.removeLast();
    return true;
}

QByteArray lhttpMessage(const QByteArray &command,
                        const QList<QPair<QByteArray, QByteArray>> &headers,
                        const QByteArray &body) {
    QByteArray out = "LHTTP/1.0 " + command + "\r\n";
    for (const auto &h : headers)
        out += h.first + ':' + h.second + "\r\n";
    return out + "\r\n" + body;
}

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QUrl>
#include <QWebSocket>

// A real QWebSocket client for tests: records every message it receives (text frames as
// UTF-8 bytes) and the close code it got.
class WsClient : public QObject {
    Q_OBJECT
public:
    explicit WsClient(QObject *parent = nullptr);
    ~WsClient() override;

    bool open(const QUrl &url, int timeoutMs = 5000,
              const QNetworkRequest &request = QNetworkRequest());
    void send(const QByteArray &lhttp) { socket.sendTextMessage(QString::fromUtf8(lhttp)); }
    void sendBinary(const QByteArray &bytes) { socket.sendBinaryMessage(bytes); }
    // Sends and waits until `count` more messages than before have arrived.
    bool waitForMessages(int count, int timeoutMs = 5000);
    // True if nothing more arrives within `ms`.
    bool staysQuiet(int ms = 200);
    bool waitForDisconnect(int timeoutMs = 5000);
    // Sends a message that makes the server reply (an unknown-header-free ping through the
    // error path) and waits for it, proving everything sent earlier was processed.
    bool sync(int timeoutMs = 5000);

    QWebSocket socket;
    QList<QByteArray> received;
    QList<bool> receivedBinary;
    bool connected = false;
    QWebSocketProtocol::CloseCode closeCode = QWebSocketProtocol::CloseCodeNormal;
    QString closeReason;
};

QByteArray lhttpMessage(const QByteArray &command,
                        const QList<QPair<QByteArray, QByteArray>> &headers,
                        const QByteArray &body = {});

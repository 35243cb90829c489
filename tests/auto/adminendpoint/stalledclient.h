// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QTcpSocket>
#include <QTest>

// A WebSocket client on a bare QTcpSocket that can stop reading: QWebSocket always drains its
// socket. Frames it sends are masked with the all-zero key, which RFC 6455 allows.
class StalledClient {
public:
    bool open(quint16 port, const QByteArray &path, const QByteArray &token = {}) {
        socket.connectToHost(QHostAddress::LocalHost, port);
        if (!socket.waitForConnected(5000))
            return false;
        QByteArray request =
            "GET " + path +
            " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n";
        if (!token.isEmpty())
            request += "Authorization: Bearer " + token + "\r\n";
        socket.write(request + "\r\n");
        QByteArray head;
        const bool ok = QTest::qWaitFor(
            [&] {
                // Byte by byte: nothing after the head is consumed.
                while (socket.bytesAvailable() > 0 && !head.endsWith("\r\n\r\n"))
                    head += socket.read(1);
                return head.endsWith("\r\n\r\n");
            },
            5000);
        return ok && head.startsWith("HTTP/1.1 101");
    }
    void sendText(const QByteArray &payload) {
        Q_ASSERT(payload.size() < 126);
        QByteArray frame;
        frame.append(char(0x81));                  // FIN, text
        frame.append(char(0x80 | payload.size())); // masked, short length
        frame.append(4, '\0');                     // masking key 0: the payload as is
        socket.write(frame + payload);
        socket.flush();
    }
    // Qt stops draining the kernel buffer: the node's writes to us back up.
    void stall() { socket.setReadBufferSize(1); }

    QTcpSocket socket;
};

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QTcpSocket>

// A WebSocket client on a bare QTcpSocket, for misbehaving peers: it can stop reading
// (a stalled reader) and never answers pings, which QWebSocket always does by itself.
class RawWsClient {
public:
    bool open(quint16 port, const QByteArray &path = "/", int timeoutMs = 5000);
    void sendText(const QByteArray &payload);
    // Stop reading: the kernel buffers fill and the server's writes back up.
    void stall() { socket.setReadBufferSize(1024); }
    bool waitForDisconnected(int timeoutMs);
    // Close code of the first close frame received, or 0.
    int closeCode();

    QTcpSocket socket;
    QByteArray handshakeResponse;
};

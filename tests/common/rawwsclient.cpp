// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "rawwsclient.h"

#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QTest>

bool RawWsClient::open(quint16 port, const QByteArray &path, int timeoutMs) {
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(timeoutMs))
        return false;
    socket.write("GET " + path +
                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n");
    QElapsedTimer t;
    t.start();
    while (!handshakeResponse.contains("\r\n\r\n") && t.elapsed() < timeoutMs) {
        QTest::qWait(5);
        handshakeResponse += socket.read(1); // byte by byte: frames may follow the head
        while (socket.bytesAvailable() && !handshakeResponse.contains("\r\n\r\n"))
            handshakeResponse += socket.read(1);
    }
    return handshakeResponse.startsWith("HTTP/1.1 101");
}

void RawWsClient::sendText(const QByteArray &payload) {
    QByteArray frame;
    frame.append(char(0x81)); // FIN + text
    const quint64 n = quint64(payload.size());
    if (n < 126) {
        frame.append(char(0x80 | n));
    } else if (n < 65536) {
        frame.append(char(0x80 | 126));
        frame.append(char(n >> 8)).append(char(n & 0xff));
    } else {
        frame.append(char(0x80 | 127));
        for (int i = 7; i >= 0; --i)
            frame.append(char((n >> (8 * i)) & 0xff));
    }
    const quint32 mask = QRandomGenerator::global()->generate();
    const char m[4] = {char(mask >> 24), char(mask >> 16), char(mask >> 8), char(mask)};
    frame.append(m, 4);
    for (qsizetype i = 0; i < payload.size(); ++i)
        frame.append(char(payload[i] ^ m[i % 4]));
    socket.write(frame);
    socket.flush();
}

bool RawWsClient::waitForDisconnected(int timeoutMs) {
    QElapsedTimer t;
    t.start();
    while (socket.state() != QAbstractSocket::UnconnectedState && t.elapsed() < timeoutMs)
        QTest::qWait(10);
    return socket.state() == QAbstractSocket::UnconnectedState;
}

int RawWsClient::closeCode() {
    // Walk the frames received so far (server frames are unmasked) to the first close.
    const QByteArray data = socket.readAll();
    qsizetype pos = 0;
    while (pos + 2 <= data.size()) {
        const int opcode = data[pos] & 0x0f;
        quint64 len = quint8(data[pos + 1]) & 0x7f;
        qsizetype head = 2;
        if (len == 126) {
            len = (quint64(quint8(data[pos + 2])) << 8) | quint8(data[pos + 3]);
            head = 4;
        } else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; ++i)
                len = (len << 8) | quint8(data[pos + 2 + i]);
            head = 10;
        }
        if (opcode == 0x8 && len >= 2 && pos + head + 2 <= data.size())
            return (quint8(data[pos + head]) << 8) | quint8(data[pos + head + 1]);
        pos += head + qsizetype(len);
    }
    return 0;
}

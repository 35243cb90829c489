// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QObject>
#include <QTcpSocket>
#include <QUrl>

namespace bench {

// Makes the next close() or abort() of `socket` reset the connection instead of closing it.
void resetOnClose(QAbstractSocket &socket);

// A minimal client WebSocket (RFC 6455) on a plain QTcpSocket: the opening handshake, masked
// outgoing frames, unmasked incoming frames with fragments reassembled, ping answered, close
// noticed. It exists because QWebSocket cannot bind a local address (the load spreads its
// connections over 127.0.0.x source addresses), and because the load generator must cost
// less than the server it measures: messages reach the handler as views into the read
// buffer, with no QString and no signal per message.
class WsConnection : public QObject {
    Q_OBJECT
public:
    class Handler {
    public:
        virtual ~Handler();
        virtual void wsOpened(WsConnection *connection) = 0;
        // The connection failed before the handshake completed.
        virtual void wsFailed(WsConnection *connection, const QString &why) = 0;
        // One whole message (text or binary); `now` is when its last bytes were read (nowNs()).
        virtual void wsMessage(WsConnection *connection, QByteArrayView message, qint64 now) = 0;
        // The open connection was closed by the peer or broke.
        virtual void wsClosed(WsConnection *connection) = 0;
        // A pong arrived (the answer to a ping sent with appendFrame(…, 0x9)).
        virtual void wsPong(WsConnection *connection, QByteArrayView payload) {
            Q_UNUSED(connection);
            Q_UNUSED(payload);
        }
    };

    // `tag` and `index` are the handler's: which role and which slot the connection fills.
    WsConnection(Handler *handler, int tag, int index, QObject *parent = nullptr);

    // Connects to `url` (ws://host:port/path?query), from `source` when it is not null.
    void open(const QUrl &url, const QHostAddress &source = {});
    bool isOpen() const { return m_state == State::Open; }
    int tag() const { return m_tag; }
    int index() const { return m_index; }

    // Sends one text message as a single masked frame.
    void sendText(QByteArrayView payload);
    // Appends one masked frame (text opcode unless given) to `out`, for batched writes.
    void appendFrame(QByteArray &out, QByteArrayView payload, quint8 opcode = 0x1) const;
    // Writes bytes already framed with appendFrame().
    void write(const QByteArray &frames) {
        if (m_socket.isOpen())
            m_socket.write(frames);
    }
    qint64 bytesToWrite() const { return m_socket.bytesToWrite(); }
    QTcpSocket &socket() { return m_socket; }
    // Drops the connection at once (RST: no TIME_WAIT left behind on either side).
    void abort();

private:
    enum class State { Idle, Connecting, Handshaking, Open, Closed };

    void sendHandshake();
    void readIncoming();
    // Returns the number of bytes of m_in consumed by the handshake response, 0 if it is
    // incomplete, -1 if it was refused.
    qsizetype readHandshake();
    void fail(const QString &why);

    Handler *m_handler;
    QTcpSocket m_socket;
    QUrl m_url;
    QByteArray m_in;       // bytes read but not yet consumed
    QByteArray m_fragment; // a fragmented message being reassembled
    QByteArray m_key;      // Sec-WebSocket-Key
    quint32 m_mask;
    int m_tag;
    int m_index;
    State m_state = State::Idle;
    bool m_fragmenting = false;
};

} // namespace bench

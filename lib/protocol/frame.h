// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>

namespace lhttp {

// One outgoing LHTTP message, built once per publish and handed to every receiver.
//
// A server sends it as one unmasked WebSocket frame (RFC 6455 §5.2) whose bytes — header and
// payload — are made once, on first use, and then written as they are to every subscriber's
// socket: no per-subscriber UTF-8 encoding, copy or header (what QWebSocket::sendTextMessage
// would do for each receiver). Bytes that are not UTF-8 cannot travel in a text frame
// (RFC 6455 §5.6) and go as a binary frame.
class Frame {
public:
    // knownText: the bytes are already known to be UTF-8 (they came in as a text frame).
    // offset: the message's offset in a history channel's stream (0: not a history message).
    explicit Frame(QByteArray bytes, bool knownText = false, quint64 offset = 0)
        : m_bytes(std::move(bytes))
        , m_offset(offset)
        , m_utf8(knownText ? 1 : -1) {}
    // A presence join or leave event (PROTOCOL.md "Presence channels"): it goes to the
    // channel's subscribers that asked for events, and only to the channel itself (no wildcard
    // subscription). `session` is the id of the connection that joined or left when it is one
    // of this node's (its own event is not echoed to it unless it asked), else 0.
    static Frame presenceEvent(QByteArray bytes, quint64 session) {
        Frame f(std::move(bytes), false, session);
        f.m_event = true;
        return f;
    }

    const QByteArray &bytes() const { return m_bytes; }
    qsizetype size() const { return m_bytes.size(); }
    quint64 offset() const { return m_event ? 0 : m_offset; }
    bool isPresenceEvent() const { return m_event; }
    quint64 eventSession() const { return m_event ? m_offset : 0; }
    // The UTF-8 check runs once per frame, on first use.
    bool isText() const {
        if (m_utf8 < 0)
            m_utf8 = m_bytes.isValidUtf8() ? 1 : 0;
        return m_utf8 == 1;
    }
    // The text form, for senders that must go through QWebSocket (clients mask their frames).
    // Only meaningful when isText().
    QString text() const { return QString::fromUtf8(m_bytes); }
    // The whole unmasked frame: FIN, text or binary opcode, length, payload.
    const QByteArray &wire() const {
        if (m_wire.isNull())
            buildWire();
        return m_wire;
    }

private:
    void buildWire() const;

    QByteArray m_bytes;
    mutable QByteArray m_wire;
    quint64 m_offset;           // a presence event's: the session's id
    mutable signed char m_utf8; // -1 unknown, 0 no, 1 yes
    bool m_event = false;
};

} // namespace lhttp

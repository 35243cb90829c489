// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>

namespace lhttp {

// One outgoing LHTTP message, built once per publish and handed to every receiver.
//
// QWebSocket sends text frames from a QString, so the text form is made once (or taken from
// the received text frame) and the same implicitly shared string goes to every subscriber.
// Bytes that are not UTF-8 cannot travel in a text frame (RFC 6455 §5.6) and go as binary.
class Frame {
public:
    explicit Frame(QByteArray bytes, QString text = {})
        : m_bytes(std::move(bytes))
        , m_text(std::move(text))
        , m_utf8(m_text.isNull() ? -1 : 1) {}

    const QByteArray &bytes() const { return m_bytes; }
    qsizetype size() const { return m_bytes.size(); }
    // Inline: asked once per subscriber. The UTF-8 check runs once per frame, on first use.
    bool isText() const {
        if (m_utf8 < 0)
            decode();
        return m_utf8 == 1;
    }
    // Only meaningful when isText().
    const QString &text() const {
        if (m_utf8 < 0)
            decode();
        return m_text;
    }

private:
    void decode() const;

    QByteArray m_bytes;
    mutable QString m_text;
    mutable signed char m_utf8; // -1 unknown, 0 no, 1 yes
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "error.h"
#include "messagelimits.h"

#include <QByteArray>
#include <QByteArrayList>
#include <QByteArrayView>
#include <QVarLengthArray>

namespace lhttp {

// One LHTTP/1.0 message: command, ordered headers and body (PROTOCOL.md §2).
//
// A parsed message keeps the received bytes and refers into them: parsing copies neither the
// body nor the header text. Edits (setCommand, setHeader, ...) keep their new text in side
// buffers; toBytes() returns the received bytes untouched while nothing was edited, so a
// forwarded message costs no serialisation at all.
class Message {
public:
    struct Header {
        QByteArrayView name;
        QByteArrayView value;
    };
    // Four inline: most messages have one to three headers, and every session embeds one
    // Message (kept small per connection); more spill to the heap, kept across reset().
    using HeaderList = QVarLengthArray<Header, 4>;

    static constexpr QByteArrayView Protocol = "LHTTP/1.0";

    Message() = default;
    explicit Message(QByteArray command, QByteArray body = {});

    // Parses `raw`. On failure returns an empty message and sets *error (code 400 or 413).
    static Message parse(const QByteArray &raw, const Limits &limits, Error *error);
    // The same in place: replaces this message with `raw` parsed, reusing its storage (a
    // session parses every message it receives into one Message). On failure the message is
    // left empty (invalid) and the error is returned.
    Error reset(const QByteArray &raw, const Limits &limits);
    // Back to an empty, invalid message; drops the reference to the received bytes.
    void clear();

    bool isValid() const { return !m_command.isNull(); }

    QByteArrayView command() const { return m_command; }
    const HeaderList &headers() const { return m_headers; }
    // The value of the last header called `name` (names are case-sensitive); a null view when
    // there is none.
    QByteArrayView header(QByteArrayView name) const;
    bool hasHeader(QByteArrayView name) const;
    QByteArrayView body() const { return m_body; }

    void setCommand(const QByteArray &command);
    // Replaces the value of the last header called `name`, or appends one.
    void setHeader(const QByteArray &name, const QByteArray &value);
    // Appends a header even if one of that name exists.
    void addHeader(const QByteArray &name, const QByteArray &value);
    // Removes every header called `name`; returns how many were removed.
    int removeHeader(QByteArrayView name);
    void setBody(const QByteArray &body);

    bool isModified() const { return m_modified; }
    // The wire form: the received bytes when unmodified, otherwise a fresh serialisation.
    QByteArray toBytes() const;
    static QByteArray serialize(QByteArrayView command, const HeaderList &headers,
                                QByteArrayView body);

    // Builds `LHTTP/1.0 error\r\ncode:<code>\r\nreason:<reason>\r\n\r\n`.
    static QByteArray errorReply(const Error &error);

    // Splits a header block (`name:value\r\n` lines) into `out`. Used for the message head and
    // for multipart part heads. Returns a null Error on success.
    static Error parseHeaderLines(QByteArrayView block, const Limits &limits, HeaderList *out);

private:
    QByteArrayView keep(const QByteArray &bytes);
    static Error parseHeaderLine(QByteArrayView line, const Limits &limits, HeaderList *out);

    QByteArray m_raw;       // received bytes, or null for a built message
    QByteArrayList m_owned; // text introduced by edits; views point into these buffers
    QByteArrayView m_command;
    HeaderList m_headers;
    QByteArrayView m_body;
    bool m_modified = false;
};

// Splits a white-space separated header value (channel lists, multipart offsets) into
// tokens, ignoring empty ones.
QVarLengthArray<QByteArrayView, 4> splitTokens(QByteArrayView value);

} // namespace lhttp

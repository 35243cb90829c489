// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "client.h"
#include "message.h"

#include <QByteArray>
#include <QString>

// How lhttp-cli shows what it receives (documented in `lhttp-cli --help`).
class Printer {
public:
    enum class Format {
        Pretty, // command, indented headers, body lines behind "| "; for people
        Line,   // the exact message on one line, with \r \n \t \\ \xNN escapes; for scripts
        Body,   // the body alone, then a newline unless it ends with one
        Json,   // one JSON object per line: {"command","headers":[[n,v]...],"body"}
    };

    static bool parseFormat(const QString &name, Format *format);
    static QString formatName(Format format);

    Format format = Format::Pretty;
    bool color = false;    // ANSI colours on stdout
    bool colorErr = false; // and on stderr

    QByteArray message(const lhttp::Message &message) const;
    // An `LHTTP/1.0 error` reply. In Body format errors are shown as in Pretty (they go to
    // stderr there: see errorsToStderr()).
    QByteArray error(int code, const QByteArray &reason) const;
    bool errorsToStderr() const { return format == Format::Body; }
    QByteArray invalid(const QByteArray &raw, const QByteArray &reason) const;
    // One presence entry: CLIENT NODE USER INFO separated by tabs, or a JSON object.
    QByteArray member(const lhttp::PresenceMember &member) const;
    // `connections N users M[ user-connections K]` (K < 0: no user asked), or a JSON object.
    QByteArray presenceStats(int connections, int users, int userConnections) const;
    // A join/leave event as the message it came in (PROTOCOL.md "Events"), to print with
    // message().
    static lhttp::Message presenceEvent(bool join, const QByteArray &channel,
                                        const lhttp::PresenceMember &member);
    // Status lines for people ("-- connected to ..."), on stderr.
    QByteArray status(const QString &text) const;
    QByteArray problem(const QString &text) const;
};

// Shows arbitrary bytes as printable UTF-8: \\, \t, control bytes and bytes that are not
// UTF-8 as \xNN; \r and \n as \r / \n unless keepNewlines (then \n stays a line break).
QByteArray escapeBytes(QByteArrayView bytes, bool keepNewlines = false);
// The inverse for what users type: \r \n \t \\ \0 \xNN. Returns a null QByteArray and sets
// *error for a malformed escape.
QByteArray unescapeBytes(QByteArrayView text, QString *error);

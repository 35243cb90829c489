// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QByteArrayList>
#include <QList>
#include <QPair>
#include <QString>

namespace lhttp {

// Header name/value pairs in the order they go on the wire (owning, unlike Message views).
using HeaderPairs = QList<QPair<QByteArray, QByteArray>>;

// Builds `LHTTP/1.0 <command>\r\n<headers>\r\n<body>` after checking that every part fits the
// syntax of PROTOCOL.md §2: a command or header name with a space, ':' or a control byte, or a
// header value with CR/LF, would change the meaning of the message instead of failing, so such
// input is refused here. On failure returns a null QByteArray and sets *error.
QByteArray buildMessage(const QByteArray &command, const HeaderPairs &headers,
                        const QByteArray &body, QString *error);
// The same with a leading `publish:<channels>` header, as the original's tools.Publish wrote
// it. Channels must be concrete channel ids (no wildcards, PROTOCOL.md §3).
QByteArray buildPublishMessage(const QByteArrayList &channels, const QByteArray &command,
                               const HeaderPairs &headers, const QByteArray &body, QString *error);
// Whether `channel` could be subscribed to (wildcards included: the server decides whether it
// allows them). Sets *error when not.
bool isValidChannel(const QByteArray &channel, bool forPublish, QString *error);

// Header lines as a person types them (`name: value`, one per line, as in the admin console's
// publish panel) into pairs: names and values trimmed, blank lines and lines without a name
// skipped. Lines named `skip` are left out (the console's channel field says where it goes).
HeaderPairs parseHeaderLines(const QByteArray &text, QByteArrayView skip = {});

} // namespace lhttp

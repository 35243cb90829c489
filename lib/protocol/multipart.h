// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "message.h"

#include <QList>

namespace lhttp {

// The parts of a message with a `multipart:<o1> <o2> ...` header (PROTOCOL.md §3): each
// offset starts a part, which runs to the next offset or to the end of the body; every part is
// `headers CRLF CRLF body`. Views point into the message's body, so a Part lives no longer
// than the Message it came from.
struct Part {
    Message::HeaderList headers;
    QByteArrayView body;

    QByteArrayView header(QByteArrayView name) const;
};

class Multipart {
public:
    static constexpr int MaxParts = 256;

    // Parses the parts of `body` at the offsets listed in `offsetsValue`. Offsets must be
    // decimal, ascending, within the body; each part needs its blank line. On failure returns
    // an empty list and sets *error (400).
    static QList<Part> parse(QByteArrayView offsetsValue, QByteArrayView body, const Limits &limits,
                             Error *error);
};

} // namespace lhttp

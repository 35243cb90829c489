// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "error.h"

#include <QByteArray>
#include <QByteArrayView>

namespace lhttp {

// Where a message sits in a history channel's stream (PROTOCOL.md "History channels"): its
// offset and the epoch of the stream. Offset 0 is "before the first message".
struct Position {
    quint64 offset = 0;
    QByteArray epoch;

    // `<offset> <epoch>`, as the wire writes it after the channel.
    QByteArray toText() const;
};

// The values of the history headers, parsed. Every parser refuses with a 400 Error that says
// what is wrong; none of them allocates for a malformed value beyond the error text.
namespace HistoryHeaders {

constexpr int MaxEpochLength = 32;

// `recover:<channel>` or `recover:<channel> <offset> <epoch>`.
struct Recover {
    QByteArrayView channel;
    bool hasPosition = false;
    Position from;
};
Error parseRecover(QByteArrayView value, Recover *out);

// `history:<channel> <limit>` or `history:<channel> <limit> <offset> <epoch>`. `maxLimit`
// bounds the limit (over it: 400).
struct Read {
    QByteArrayView channel;
    int limit = 0;
    bool hasPosition = false;
    Position after;
};
Error parseRead(QByteArrayView value, int maxLimit, Read *out);

// An epoch token: 1 to MaxEpochLength letters and digits.
bool isValidEpoch(QByteArrayView epoch);

// Whether the header block of an LHTTP message (its bytes, start line included) has a header
// named `name`. Scans the header lines only, never the body.
bool hasHeader(QByteArrayView message, QByteArrayView name);

// `message` with `position:<channel> <offset> <epoch>` inserted as its first header, right
// after the start line. `message` must be a valid LHTTP message (it has a start line).
QByteArray withPosition(const QByteArray &message, QByteArrayView channel,
                        const Position &position);

} // namespace HistoryHeaders

} // namespace lhttp

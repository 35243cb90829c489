// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "position.h"

#include "channelname.h"

#include <QVarLengthArray>

namespace lhttp {

QByteArray Position::toText() const {
    return QByteArray::number(offset) + ' ' + epoch;
}

namespace HistoryHeaders {

namespace {

using Fields = QVarLengthArray<QByteArrayView, 4>;

// Space- or tab-separated fields; at most 5 are kept (more is an error for every caller).
Fields split(QByteArrayView value) {
    Fields out;
    qsizetype i = 0;
    while (i < value.size() && out.size() < 5) {
        while (i < value.size() && (value[i] == ' ' || value[i] == '\t'))
            ++i;
        const qsizetype start = i;
        while (i < value.size() && value[i] != ' ' && value[i] != '\t')
            ++i;
        if (i > start)
            out.append(value.sliced(start, i - start));
    }
    return out;
}

bool parseUnsigned(QByteArrayView text, quint64 *out) {
    if (text.isEmpty() || text.size() > 20)
        return false;
    quint64 n = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return false;
        const quint64 digit = quint64(c - '0');
        if (n > (~quint64(0) - digit) / 10)
            return false; // over 2^64 - 1
        n = n * 10 + digit;
    }
    *out = n;
    return true;
}

Error bad(QByteArrayView header, const QByteArray &what) {
    return Error::make(Status::BadRequest, header.toByteArray() + ": " + what);
}

Error parsePosition(QByteArrayView header, QByteArrayView offset, QByteArrayView epoch,
                    Position *out) {
    if (!parseUnsigned(offset, &out->offset))
        return bad(header, "offset is not a decimal number from 0 to 18446744073709551615");
    if (!isValidEpoch(epoch))
        return bad(header, "epoch must be 1 to " + QByteArray::number(MaxEpochLength) +
                               " letters and digits");
    out->epoch = epoch.toByteArray();
    return {};
}

} // namespace

bool isValidEpoch(QByteArrayView epoch) {
    if (epoch.isEmpty() || epoch.size() > MaxEpochLength)
        return false;
    for (char c : epoch) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

Error parseRecover(QByteArrayView value, Recover *out) {
    const Fields f = split(value);
    if (f.size() != 1 && f.size() != 3)
        return bad("recover", "expected '<channel>' or '<channel> <offset> <epoch>'");
    if (ChannelName::isWildcard(f[0]))
        return bad("recover", "a wildcard channel has no history to recover");
    out->channel = f[0];
    out->hasPosition = f.size() == 3;
    if (out->hasPosition)
        return parsePosition("recover", f[1], f[2], &out->from);
    return {};
}

Error parseRead(QByteArrayView value, int maxLimit, Read *out) {
    const Fields f = split(value);
    if (f.size() != 2 && f.size() != 4)
        return bad("history",
                   "expected '<channel> <limit>' or '<channel> <limit> <offset> <epoch>'");
    if (ChannelName::isWildcard(f[0]))
        return bad("history", "a wildcard channel has no history to read");
    out->channel = f[0];
    quint64 limit = 0;
    if (!parseUnsigned(f[1], &limit) || limit == 0 || limit > quint64(maxLimit))
        return bad("history", "limit must be a number from 1 to " + QByteArray::number(maxLimit));
    out->limit = int(limit);
    out->hasPosition = f.size() == 4;
    if (out->hasPosition)
        return parsePosition("history", f[2], f[3], &out->after);
    return {};
}

bool hasHeader(QByteArrayView message, QByteArrayView name) {
    qsizetype line = message.indexOf("\r\n");
    while (line >= 0) {
        line += 2;
        const qsizetype end = message.indexOf("\r\n", line);
        const QByteArrayView text =
            end < 0 ? message.sliced(line) : message.sliced(line, end - line);
        if (text.isEmpty())
            return false; // the blank line: the body follows
        if (text.size() > name.size() && text.startsWith(name) && text[name.size()] == ':')
            return true;
        line = end;
    }
    return false;
}

QByteArray withPosition(const QByteArray &message, QByteArrayView channel,
                        const Position &position) {
    const qsizetype startLine = message.indexOf("\r\n");
    Q_ASSERT(startLine >= 0);
    const QByteArray offset = QByteArray::number(position.offset);
    QByteArray out;
    out.reserve(message.size() + 13 + channel.size() + offset.size() + position.epoch.size());
    out.append(message.constData(), startLine + 2);
    out.append("position:");
    out.append(channel);
    out.append(' ');
    out.append(offset);
    out.append(' ');
    out.append(position.epoch);
    out.append("\r\n");
    out.append(message.constData() + startLine + 2, message.size() - startLine - 2);
    return out;
}

} // namespace HistoryHeaders

} // namespace lhttp

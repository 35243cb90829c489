// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "channelname.h"

#include <QByteArray>

namespace lhttp {

namespace {

template <typename F> void forEachToken(QByteArrayView s, F &&f) {
    qsizetype start = 0;
    while (true) {
        const qsizetype dot = s.indexOf('.', start);
        const qsizetype end = dot < 0 ? s.size() : dot;
        if (!f(s.sliced(start, end - start), dot < 0))
            return;
        if (dot < 0)
            return;
        start = dot + 1;
    }
}

} // namespace

bool ChannelName::isWildcard(QByteArrayView channel) {
    bool wild = false;
    forEachToken(channel, [&](QByteArrayView t, bool) {
        wild = t == "*" || t == ">";
        return !wild;
    });
    return wild;
}

Error ChannelName::validate(QByteArrayView channel, Use use, bool allowWildcards, int maxLength) {
    if (!channel.isEmpty() && channel[0] == '$' && channel.startsWith(ReservedPrefix))
        return Error::make(Status::Forbidden, "channel names starting with '" +
                                                  QByteArray(ReservedPrefix) +
                                                  "' are reserved for the cluster");
    // Fast path, once per publish: a concrete id (visible ASCII, no wildcard characters, no
    // empty token) is valid for every use. Anything else takes the detailed checks below,
    // which also word the error.
    if (!channel.isEmpty() && channel.size() <= maxLength) {
        bool tokenEmpty = true;
        bool plain = true;
        for (char c : channel) {
            const auto u = static_cast<unsigned char>(c);
            if (u <= 0x20 || u == 0x7f || c == '*' || c == '>' || (c == '.' && tokenEmpty)) {
                plain = false;
                break;
            }
            tokenEmpty = c == '.';
        }
        if (plain && !tokenEmpty)
            return {};
    }
    const auto quoted = [&] { return QByteArray("'" + channel.toByteArray() + "'"); };
    if (channel.isEmpty())
        return Error::make(Status::BadRequest, "empty channel id");
    if (channel.size() > maxLength)
        return Error::make(Status::BadRequest,
                           "channel id longer than " + QByteArray::number(maxLength) + " bytes");
    for (char c : channel) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f)
            return Error::make(Status::BadRequest,
                               "channel id " + quoted() + " contains white space or control bytes");
    }
    Error result;
    bool wildcard = false;
    forEachToken(channel, [&](QByteArrayView t, bool last) {
        if (t.isEmpty()) {
            result = Error::make(Status::BadRequest,
                                 "channel id " + quoted() + " has an empty token (stray '.')");
            return false;
        }
        if (t == "*" || (t == ">" && last)) {
            wildcard = true;
            return true;
        }
        if (t.contains('*') || t.contains('>')) {
            result = Error::make(Status::BadRequest,
                                 "channel id " + quoted() +
                                     ": '*' must be a whole token and '>' the whole last token");
            return false;
        }
        return true;
    });
    if (result)
        return result;
    if (wildcard) {
        if (use == Use::Publish)
            return Error::make(Status::BadRequest,
                               "cannot publish to the wildcard channel " + quoted());
        if (!allowWildcards)
            return Error::make(Status::Forbidden,
                               "wildcard channel " + quoted() + " is not allowed on this server");
    }
    return {};
}

bool ChannelName::matches(QByteArrayView pattern, QByteArrayView subject) {
    qsizetype p = 0;
    qsizetype s = 0;
    while (true) {
        const qsizetype pDot = pattern.indexOf('.', p);
        const QByteArrayView pt = pattern.sliced(p, (pDot < 0 ? pattern.size() : pDot) - p);
        if (pt == ">")
            return s < subject.size(); // '>' needs at least one more token, of any kind
        if (s >= subject.size())
            return false;
        const qsizetype sDot = subject.indexOf('.', s);
        const QByteArrayView st = subject.sliced(s, (sDot < 0 ? subject.size() : sDot) - s);
        // `*` stands for one token: a literal or a `*`, never the `>` of any number of them.
        if (st == ">" || (pt != "*" && pt != st))
            return false;
        if (pDot < 0 || sDot < 0)
            return pDot < 0 && sDot < 0;
        p = pDot + 1;
        s = sDot + 1;
    }
}

} // namespace lhttp

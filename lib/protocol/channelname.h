// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "error.h"

#include <QByteArrayView>

namespace lhttp {

// Channel ids are NATS subjects (PROTOCOL.md §3): dot-separated non-empty tokens of visible
// ASCII, no white space. `*` (one token) and `>` (the rest, last token only) are wildcards.
class ChannelName {
public:
    enum class Use { Subscribe, Publish };
    // Names under it are the cluster's own subjects (presence): no client may use them (403).
    static constexpr const char *ReservedPrefix = "$LHTTP.";

    static bool isWildcard(QByteArrayView channel);

    // A null Error when `channel` may be used; otherwise 400 (malformed) or 403 (wildcard not
    // allowed, or a reserved name). Publishing to a wildcard is always 400: a subject to publish to
    // is concrete.
    static Error validate(QByteArrayView channel, Use use, bool allowWildcards, int maxLength);

    // Whether `pattern` (which may hold wildcards) matches `subject`. A subject with wildcards
    // (a subscription, or a token grant's check of one) matches only when the pattern covers
    // every channel it names: `room.*` covers `room.*` but not `room.>`; `room.>` covers both.
    static bool matches(QByteArrayView pattern, QByteArrayView subject);
};

} // namespace lhttp

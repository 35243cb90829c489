// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// libFuzzer target for ChannelName (PROTOCOL.md §3: channel ids are NATS subjects). The input
// is `pattern '\n' subject`; both are validated with every combination of use, wildcard
// permission and length limit, and matches(pattern, subject) runs on them whatever they are.
// Checked besides "no crash, no sanitizer report":
// - validate's verdicts agree with each other: 403 only for a wildcard subscription where
//   wildcards are not allowed; a publishable name is a subscribable concrete name and back;
//   a shorter length limit never accepts more;
// - a refusal's error reply is itself a valid LHTTP message (reasons quote the channel) for
//   names that can reach validate() from a header value, that is without control bytes;
// - for a valid pattern and a valid concrete subject, matches() agrees with a plain
//   token-by-token reference matcher; a concrete name matches itself and only itself;
//   patterns made from a subject by replacing tokens with `*` or the tail with `>` match it.

#include "channelname.h"
#include "fuzzcheck.h"
#include "message.h"

#include <QList>

#include <algorithm>

using lhttp::ChannelName;
using lhttp::Error;
using Use = lhttp::ChannelName::Use;

namespace {

constexpr int SmallLength = 8;
constexpr int LargeLength = 1 << 20;

QList<QByteArrayView> tokensOf(QByteArrayView s) {
    QList<QByteArrayView> out;
    qsizetype start = 0;
    while (true) {
        const qsizetype dot = s.indexOf('.', start);
        if (dot < 0) {
            out.append(s.sliced(start));
            return out;
        }
        out.append(s.sliced(start, dot - start));
        start = dot + 1;
    }
}

// NATS subject matching, spelled out: `*` is one token, `>` one or more trailing tokens.
bool referenceMatches(QByteArrayView pattern, QByteArrayView subject) {
    const QList<QByteArrayView> p = tokensOf(pattern);
    const QList<QByteArrayView> s = tokensOf(subject);
    for (qsizetype i = 0; i < p.size(); ++i) {
        if (p[i] == ">")
            return s.size() > i;
        if (i >= s.size() || (p[i] != "*" && p[i] != s[i]))
            return false;
    }
    return p.size() == s.size();
}

QByteArray join(const QList<QByteArrayView> &tokens) {
    QByteArray out;
    for (qsizetype i = 0; i < tokens.size(); ++i) {
        if (i)
            out.append('.');
        out.append(tokens[i]);
    }
    return out;
}

bool hasControlBytes(QByteArrayView v) {
    return std::any_of(v.begin(), v.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

void checkErrorReply(const Error &e) {
    const QByteArray reply = lhttp::Message::errorReply(e);
    lhttp::Limits roomy;
    roomy.maxMessageSize = std::max(reply.size(), roomy.maxMessageSize);
    roomy.maxHeaderLineLength = std::max(reply.size(), roomy.maxHeaderLineLength);
    Error replyError;
    const lhttp::Message m = lhttp::Message::parse(reply, roomy, &replyError);
    FUZZ_CHECK(!replyError && m.command() == "error");
    FUZZ_CHECK(m.header("code") == QByteArray::number(e.code));
}

struct Verdicts {
    Error publish;
    Error subscribe;         // wildcards not allowed
    Error subscribeWildcard; // wildcards allowed
};

Verdicts validateAll(QByteArrayView name, int maxLength) {
    Verdicts v{ChannelName::validate(name, Use::Publish, false, maxLength),
               ChannelName::validate(name, Use::Subscribe, false, maxLength),
               ChannelName::validate(name, Use::Subscribe, true, maxLength)};
    const Error publishAllowed = ChannelName::validate(name, Use::Publish, true, maxLength);
    // Publishing ignores the wildcard permission: publishing to a wildcard is always 400.
    FUZZ_CHECK(publishAllowed.code == v.publish.code);
    FUZZ_CHECK(publishAllowed.reason == v.publish.reason);
    for (const Error *e : {&v.publish, &v.subscribe, &v.subscribeWildcard}) {
        FUZZ_CHECK(!*e || e->code == lhttp::Status::BadRequest ||
                   e->code == lhttp::Status::Forbidden);
        FUZZ_CHECK(!*e || !e->reason.isEmpty());
        // Server-side, channel ids come from header values, which hold no control bytes.
        if (*e && !hasControlBytes(name))
            checkErrorReply(*e);
    }
    // Names under the cluster's reserved prefix are refused for every use (403), first.
    if (name.startsWith(ChannelName::ReservedPrefix)) {
        for (const Error *e : {&v.publish, &v.subscribe, &v.subscribeWildcard})
            FUZZ_CHECK(e->code == lhttp::Status::Forbidden && e->reason.contains("reserved"));
        return v;
    }
    FUZZ_CHECK(v.publish.code != lhttp::Status::Forbidden);
    FUZZ_CHECK(v.subscribeWildcard.code != lhttp::Status::Forbidden);
    const bool wildcard = ChannelName::isWildcard(name);
    // Publishable <=> a valid concrete name.
    FUZZ_CHECK(!v.publish == (!v.subscribeWildcard && !wildcard));
    // Without the permission: the same verdict, but valid wildcards become 403.
    if (v.subscribeWildcard)
        FUZZ_CHECK(v.subscribe.code == v.subscribeWildcard.code);
    else if (wildcard)
        FUZZ_CHECK(v.subscribe.code == lhttp::Status::Forbidden);
    else
        FUZZ_CHECK(!v.subscribe);
    if (!v.subscribeWildcard) {
        FUZZ_CHECK(!name.isEmpty() && name.size() <= maxLength);
        for (QByteArrayView t : tokensOf(name)) {
            FUZZ_CHECK(!t.isEmpty());
            FUZZ_CHECK(t == "*" || t == ">" || (!t.contains('*') && !t.contains('>')));
        }
        FUZZ_CHECK(!name.contains('>') || name.endsWith(">"));
        FUZZ_CHECK(std::none_of(name.begin(), name.end(), [](char c) {
            return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
        }));
    }
    return v;
}

void checkName(QByteArrayView name) {
    const Verdicts small = validateAll(name, SmallLength);
    const Verdicts large = validateAll(name, LargeLength);
    const Verdicts standard = validateAll(name, lhttp::Limits::DefaultMaxChannelLength);
    // A shorter limit never accepts more, and only length makes a difference.
    for (const auto &[a, b] : {std::pair{&small, &standard}, std::pair{&standard, &large}}) {
        FUZZ_CHECK(a->publish || !b->publish);
        FUZZ_CHECK(a->subscribe || !b->subscribe);
        FUZZ_CHECK(a->subscribeWildcard || !b->subscribeWildcard);
    }
    if (name.size() <= SmallLength)
        FUZZ_CHECK(small.subscribeWildcard.code == large.subscribeWildcard.code);

    // A valid concrete name matches itself; also through the list in a `subscribe` header.
    if (!large.publish) {
        FUZZ_CHECK(ChannelName::matches(name, name));
        const auto tokens = lhttp::splitTokens(name);
        FUZZ_CHECK(tokens.size() == 1 && tokens[0] == name);
    }
}

void checkMatches(QByteArrayView pattern, QByteArrayView subject, QByteArrayView in) {
    const bool result = ChannelName::matches(pattern, subject); // must not crash on anything
    const bool validPattern = !ChannelName::validate(pattern, Use::Subscribe, true, LargeLength);
    const bool concretePattern = !ChannelName::validate(pattern, Use::Publish, true, LargeLength);
    const bool validSubject = !ChannelName::validate(subject, Use::Publish, true, LargeLength);
    if (!validSubject)
        return;
    if (validPattern)
        FUZZ_CHECK(result == referenceMatches(pattern, subject));
    if (concretePattern)
        FUZZ_CHECK(result == (pattern == subject));

    // Patterns built from the subject.
    const QList<QByteArrayView> tokens = tokensOf(subject);
    const qsizetype k = in.isEmpty() ? 0 : qsizetype(uchar(in.back())) % tokens.size();
    QList<QByteArrayView> star = tokens;
    star[k] = "*";
    FUZZ_CHECK(ChannelName::matches(join(star), subject));
    QList<QByteArrayView> tail = tokens.first(k);
    tail.append(">");
    FUZZ_CHECK(ChannelName::matches(join(tail), subject));
    FUZZ_CHECK(!ChannelName::matches(subject.toByteArray() + ".>", subject));
    FUZZ_CHECK(!ChannelName::matches(subject.toByteArray() + ".*", subject));
    FUZZ_CHECK(!ChannelName::matches(join(tokens.first(k)) + (k ? ".*" : "*") + ".x.y", subject) ||
               tokens.size() == k + 3);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const QByteArrayView in = fuzz::input(data, size);
    const auto [pattern, subject] = fuzz::splitLine(in);
    checkName(in);
    checkName(pattern);
    checkName(subject);
    (void)ChannelName::isWildcard(in);
    checkMatches(pattern, subject, in);
    checkMatches(subject, pattern, in);
    (void)ChannelName::matches(in, in);
    return 0;
}

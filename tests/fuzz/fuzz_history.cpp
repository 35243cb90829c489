// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// libFuzzer target for the history headers (PROTOCOL.md "History channels"): the values of
// `recover` and `history` (HistoryHeaders::parseRecover / parseRead), the header scan that
// refuses a client-set `position`, and the position insertion. Each input is used as an LHTTP
// message (its recover/history headers, as the server reads them) and raw (the whole input as
// a header value).
// Checked besides "no crash, no sanitizer report": a refusal is a 400 whose reason names the
// header and whose error reply is a valid message; an accepted value has a channel without
// wildcards or white space, an epoch of 1..32 letters and digits, a limit within 1..max, and
// prints back (channel, offset, epoch) to a value that parses to the same; inserting a position
// keeps the message parseable with that position as its first header and the rest unchanged.

#include "channelname.h"
#include "fuzzcheck.h"
#include "message.h"
#include "position.h"

using lhttp::Error;
using lhttp::Limits;
using lhttp::Message;
namespace H = lhttp::HistoryHeaders;

namespace {

constexpr int MaxLimit = 1000;

void checkError(const Error &e, QByteArrayView header) {
    FUZZ_CHECK(e.code == lhttp::Status::BadRequest);
    FUZZ_CHECK(e.reason.startsWith(header.toByteArray() + ": "));
    const QByteArray reply = Message::errorReply(e);
    Limits roomy;
    roomy.maxMessageSize = std::max(reply.size(), roomy.maxMessageSize);
    roomy.maxHeaderLineLength = std::max(reply.size(), roomy.maxHeaderLineLength);
    Error replyError;
    const Message m = Message::parse(reply, roomy, &replyError);
    FUZZ_CHECK(!replyError && m.header("code") == "400");
}

void checkChannel(QByteArrayView channel) {
    FUZZ_CHECK(!channel.isEmpty());
    FUZZ_CHECK(!lhttp::ChannelName::isWildcard(channel));
    for (char c : channel)
        FUZZ_CHECK(c != ' ' && c != '\t');
}

void checkPosition(const lhttp::Position &p) {
    FUZZ_CHECK(H::isValidEpoch(p.epoch));
    FUZZ_CHECK(p.epoch.size() <= H::MaxEpochLength);
}

void recover(QByteArrayView value) {
    H::Recover r;
    if (const Error e = H::parseRecover(value, &r)) {
        checkError(e, "recover");
        return;
    }
    checkChannel(r.channel);
    if (!r.hasPosition)
        return;
    checkPosition(r.from);
    // Printed back the way a client writes it, it reads the same.
    const QByteArray again = r.channel.toByteArray() + ' ' + r.from.toText();
    H::Recover r2;
    FUZZ_CHECK(!H::parseRecover(again, &r2));
    FUZZ_CHECK(r2.channel == r.channel && r2.hasPosition && r2.from.offset == r.from.offset &&
               r2.from.epoch == r.from.epoch);
}

void read(QByteArrayView value) {
    H::Read r;
    if (const Error e = H::parseRead(value, MaxLimit, &r)) {
        checkError(e, "history");
        return;
    }
    checkChannel(r.channel);
    FUZZ_CHECK(r.limit >= 1 && r.limit <= MaxLimit);
    if (r.hasPosition)
        checkPosition(r.after);
}

void insertPosition(const QByteArray &raw, const Message &m) {
    const lhttp::Position p{18446744073709551615ULL, "abc123"};
    const QByteArray with = H::withPosition(raw, "room.1", p);
    Limits roomy;
    roomy.maxMessageSize = with.size() + 1;
    roomy.maxHeaders = int(m.headers().size()) + 1;
    Error error;
    const Message again = Message::parse(with, roomy, &error);
    FUZZ_CHECK(!error);
    FUZZ_CHECK(again.command() == m.command());
    FUZZ_CHECK(!again.headers().isEmpty() && again.headers().first().name == "position");
    FUZZ_CHECK(again.headers().first().value == "room.1 18446744073709551615 abc123");
    FUZZ_CHECK(again.body() == m.body());
    FUZZ_CHECK(again.headers().size() == m.headers().size() + 1);
    FUZZ_CHECK(H::hasHeader(with, "position"));
    FUZZ_CHECK(H::hasHeader(raw, "position") == m.hasHeader("position"));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const QByteArrayView in = fuzz::input(data, size);
    const QByteArray raw = QByteArray::fromRawData(in.data(), in.size());
    Error error;
    const Message m = Message::parse(raw, Limits(), &error);
    if (!error) {
        if (m.hasHeader("recover"))
            recover(m.header("recover"));
        if (m.hasHeader("history"))
            read(m.header("history"));
        insertPosition(raw, m);
    }
    recover(in);
    read(in);
    H::hasHeader(in, "position");
    return 0;
}

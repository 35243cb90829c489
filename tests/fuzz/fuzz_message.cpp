// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// libFuzzer target for Message::parse (PROTOCOL.md §2), with the default limits and with tiny
// ones. Besides "no crash, no sanitizer report" it checks, for every input:
// - a parsed message is well formed (non-empty command and header names, no CR/LF in values,
//   trimmed values, at most maxHeaders headers, views inside the received bytes);
// - round trip: an unmodified message's toBytes() is the input byte for byte, and its
//   canonical serialisation re-parses to the same command, headers (in order) and body;
// - edits (setCommand, setHeader, addHeader, removeHeader, setBody) serialise to a message
//   that re-parses to exactly the edited content;
// - limits are monotonic: what parses under the tiny limits parses the same under the
//   defaults;
// - a refusal is 400 or 413 with a reason, and its error reply is itself a valid message.

#include "fuzzcheck.h"
#include "message.h"

#include <QList>

#include <algorithm>

using lhttp::Error;
using lhttp::Limits;
using lhttp::Message;

namespace {

Limits tinyLimits() {
    Limits l;
    l.maxMessageSize = 256;
    l.maxHeaders = 4;
    l.maxHeaderLineLength = 32;
    l.maxChannelLength = 16;
    return l;
}

// Room for a re-serialised message: a blank line may be added, and edits add a header.
Limits roomyLimits(qsizetype size) {
    Limits l;
    l.maxMessageSize = std::max(size, Limits::DefaultMaxMessageSize);
    l.maxHeaders = 1 << 20;
    l.maxHeaderLineLength = std::max(size, Limits::DefaultMaxHeaderLineLength);
    return l;
}

bool isBlank(char c) {
    return c == ' ' || c == '\t';
}

bool sameHeaders(const Message::HeaderList &a, const Message::HeaderList &b) {
    if (a.size() != b.size())
        return false;
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (a[i].name != b[i].name || a[i].value != b[i].value)
            return false;
    }
    return true;
}

bool sameContent(const Message &a, const Message &b) {
    return a.command() == b.command() && a.body() == b.body() &&
           sameHeaders(a.headers(), b.headers());
}

void checkWellFormed(const Message &m, QByteArrayView raw, const Limits &limits) {
    FUZZ_CHECK(m.isValid());
    FUZZ_CHECK(!m.isModified());
    FUZZ_CHECK(!m.command().isEmpty());
    FUZZ_CHECK(fuzz::isWithin(m.command(), raw));
    FUZZ_CHECK(fuzz::isWithin(m.body(), raw));
    FUZZ_CHECK(m.headers().size() <= limits.maxHeaders);
    for (const Message::Header &h : m.headers()) {
        FUZZ_CHECK(!h.name.isEmpty());
        FUZZ_CHECK(!h.name.contains(':'));
        FUZZ_CHECK(fuzz::isWithin(h.name, raw));
        FUZZ_CHECK(fuzz::isWithin(h.value, raw));
        FUZZ_CHECK(!h.value.contains('\r') && !h.value.contains('\n'));
        FUZZ_CHECK(h.value.isEmpty() || (!isBlank(h.value.front()) && !isBlank(h.value.back())));
        FUZZ_CHECK(m.hasHeader(h.name));
        // The last header of a name wins.
        QByteArrayView last;
        for (const Message::Header &o : m.headers()) {
            if (o.name == h.name)
                last = o.value;
        }
        FUZZ_CHECK(m.header(h.name) == last);
        for (QByteArrayView t : lhttp::splitTokens(h.value)) {
            FUZZ_CHECK(!t.isEmpty());
            FUZZ_CHECK(!t.contains(' ') && !t.contains('\t'));
            FUZZ_CHECK(fuzz::isWithin(t, h.value));
        }
    }
}

void checkError(const Error &e) {
    FUZZ_CHECK(e.code == lhttp::Status::BadRequest || e.code == lhttp::Status::PayloadTooLarge);
    FUZZ_CHECK(!e.reason.isEmpty());
    const QByteArray reply = Message::errorReply(e);
    Error replyError;
    const Message m = Message::parse(reply, roomyLimits(reply.size()), &replyError);
    FUZZ_CHECK(!replyError && m.command() == "error");
    FUZZ_CHECK(m.header("code") == QByteArray::number(e.code));
}

// Bytes of `in` that may stand in a command or header name (visible ASCII, no ':').
QByteArray nameFrom(QByteArrayView in, const char *fallback) {
    QByteArray out;
    for (char c : in) {
        const auto u = static_cast<unsigned char>(c);
        if (u > 0x20 && u != 0x7f && c != ':')
            out.append(c);
        if (out.size() == 16)
            break;
    }
    return out.isEmpty() ? QByteArray(fallback) : out;
}

// Bytes of `in` that may stand in a header value (no control bytes), trimmed.
QByteArray valueFrom(QByteArrayView in) {
    QByteArray out;
    for (char c : in) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 0x20 && u != 0x7f) || c == '\t')
            out.append(c);
        if (out.size() == 64)
            break;
    }
    return out.trimmed();
}

Message reparse(const QByteArray &bytes) {
    Error e;
    Message m = Message::parse(bytes, roomyLimits(bytes.size()), &e);
    FUZZ_CHECK(!e);
    FUZZ_CHECK(m.isValid());
    return m;
}

void checkRoundTrip(const Message &m, QByteArrayView raw) {
    // Unmodified: the received bytes themselves.
    FUZZ_CHECK(m.toBytes() == raw);

    // The canonical form (`name:value`, CRLF, blank line) carries the same content and is a
    // fixed point.
    const QByteArray canonical = Message::serialize(m.command(), m.headers(), m.body());
    const Message c = reparse(canonical);
    FUZZ_CHECK(sameContent(m, c));
    FUZZ_CHECK(c.toBytes() == canonical);
    FUZZ_CHECK(Message::serialize(c.command(), c.headers(), c.body()) == canonical);

    // Edits, with names and values taken from the input.
    const auto [first, rest] = fuzz::splitLine(raw.sliced(std::min<qsizetype>(raw.size(), 10)));
    const QByteArray command = nameFrom(first, "edited");
    const QByteArray name = m.headers().isEmpty() || (raw.size() & 1)
                                ? nameFrom(rest, "x-fuzz")
                                : m.headers()[raw.size() % m.headers().size()].name.toByteArray();
    const QByteArray value = valueFrom(rest);
    const QByteArray body = rest.toByteArray();

    Message edited = m;
    edited.setCommand(command);
    edited.setHeader(name, value);
    edited.setBody(body);
    FUZZ_CHECK(edited.isModified());
    // The copy shares the received bytes; editing it leaves the original alone.
    FUZZ_CHECK(!m.isModified() && m.toBytes() == raw);

    Message::HeaderList expected = m.headers();
    auto last = std::find_if(expected.rbegin(), expected.rend(),
                             [&](const Message::Header &h) { return h.name == name; });
    if (last != expected.rend())
        last->value = value;
    else
        expected.append(Message::Header{name, value});
    const QByteArray editedBytes = edited.toBytes();
    const Message e = reparse(editedBytes);
    FUZZ_CHECK(e.command() == command);
    FUZZ_CHECK(e.body() == body);
    FUZZ_CHECK(e.header(name) == value);
    FUZZ_CHECK(sameHeaders(e.headers(), expected));
    FUZZ_CHECK(sameHeaders(edited.headers(), expected));

    edited.addHeader(name, "added");
    FUZZ_CHECK(reparse(edited.toBytes()).header(name) == "added");
    const qsizetype named = std::count_if(expected.begin(), expected.end(),
                                          [&](const Message::Header &h) { return h.name == name; });
    FUZZ_CHECK(edited.removeHeader(name) == named + 1);
    const Message removed = reparse(edited.toBytes());
    FUZZ_CHECK(!removed.hasHeader(name));
    FUZZ_CHECK(removed.headers().size() == expected.size() - named);
    FUZZ_CHECK(removed.body() == body);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const QByteArrayView in = fuzz::input(data, size);
    // No copy: the message refers to libFuzzer's exactly sized buffer.
    const QByteArray raw = QByteArray::fromRawData(in.data(), in.size());

    static const Limits defaults;
    static const Limits tiny = tinyLimits();

    Error error;
    const Message m = Message::parse(raw, defaults, &error);
    if (error) {
        checkError(error);
        FUZZ_CHECK(!m.isValid());
    } else {
        checkWellFormed(m, in, defaults);
        checkRoundTrip(m, in);
    }

    Error tinyError;
    const Message t = Message::parse(raw, tiny, &tinyError);
    if (tinyError) {
        checkError(tinyError);
        FUZZ_CHECK(!t.isValid());
    } else {
        checkWellFormed(t, in, tiny);
        FUZZ_CHECK(!error && sameContent(t, m));
    }
    return 0;
}

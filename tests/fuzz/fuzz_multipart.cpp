// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// libFuzzer target for Multipart::parse (PROTOCOL.md §3, multipart). Each input is used twice:
// - as an LHTTP message: when it parses and has a `multipart` header, its parts are parsed
//   from that header and the message body, as the server does;
// - raw: the text before the first '\n' is the offsets header value, the rest the body.
// Checked besides "no crash, no sanitizer report": one part per offset; each part lies inside
// the body and ends where the next offset (or the body) ends; part headers are well formed and
// within the limits; what parses under tiny limits parses the same under the defaults; a
// refusal is a 400 whose error reply is itself a valid message (when the offsets could have
// come from a header value).

#include "fuzzcheck.h"
#include "multipart.h"

#include <algorithm>

using lhttp::Error;
using lhttp::Limits;
using lhttp::Message;
using lhttp::Multipart;
using lhttp::Part;

namespace {

Limits tinyLimits() {
    Limits l;
    l.maxMessageSize = 256;
    l.maxHeaders = 2;
    l.maxHeaderLineLength = 16;
    return l;
}

bool hasControlBytes(QByteArrayView v) {
    return std::any_of(v.begin(), v.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

void checkError(const Error &e, QByteArrayView offsetsValue) {
    FUZZ_CHECK(e.code == lhttp::Status::BadRequest);
    FUZZ_CHECK(e.reason.startsWith("multipart: "));
    // Server-side the offsets are a header value, which holds no control bytes.
    if (hasControlBytes(offsetsValue))
        return;
    // The reason goes back to the client in an error reply, which must stay a valid message.
    const QByteArray reply = Message::errorReply(e);
    Limits roomy;
    roomy.maxMessageSize = std::max(reply.size(), roomy.maxMessageSize);
    roomy.maxHeaderLineLength = std::max(reply.size(), roomy.maxHeaderLineLength);
    Error replyError;
    const Message m = Message::parse(reply, roomy, &replyError);
    FUZZ_CHECK(!replyError && m.command() == "error");
    FUZZ_CHECK(m.header("code") == "400");
}

bool sameParts(const QList<Part> &a, const QList<Part> &b) {
    if (a.size() != b.size())
        return false;
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (a[i].body != b[i].body || a[i].headers.size() != b[i].headers.size())
            return false;
        for (qsizetype j = 0; j < a[i].headers.size(); ++j) {
            if (a[i].headers[j].name != b[i].headers[j].name ||
                a[i].headers[j].value != b[i].headers[j].value)
                return false;
        }
    }
    return true;
}

void checkParts(const QList<Part> &parts, QByteArrayView offsetsValue, QByteArrayView body,
                const Limits &limits) {
    const auto tokens = lhttp::splitTokens(offsetsValue);
    FUZZ_CHECK(!tokens.isEmpty());
    FUZZ_CHECK(parts.size() == tokens.size());
    FUZZ_CHECK(parts.size() <= Multipart::MaxParts);
    qsizetype previous = -1;
    for (qsizetype i = 0; i < parts.size(); ++i) {
        bool ok = false;
        const qsizetype start = qsizetype(tokens[i].toLongLong(&ok));
        FUZZ_CHECK(ok && start > previous && start <= body.size());
        previous = start;
        const qsizetype end =
            i + 1 < tokens.size() ? qsizetype(tokens[i + 1].toLongLong()) : body.size();
        const Part &p = parts[i];
        FUZZ_CHECK(fuzz::isWithin(p.body, body));
        // A part's body runs to the start of the next part (or the end of the body).
        FUZZ_CHECK(p.body.data() + p.body.size() == body.data() + end);
        FUZZ_CHECK(p.body.data() >= body.data() + start);
        FUZZ_CHECK(p.headers.size() <= limits.maxHeaders);
        for (const Message::Header &h : p.headers) {
            FUZZ_CHECK(!h.name.isEmpty() && !h.name.contains(':'));
            FUZZ_CHECK(fuzz::isWithin(h.name, body.sliced(start, end - start)));
            FUZZ_CHECK(fuzz::isWithin(h.value, body.sliced(start, end - start)));
            FUZZ_CHECK(!h.value.contains('\r') && !h.value.contains('\n'));
            FUZZ_CHECK(h.name.size() + 1 + h.value.size() <= limits.maxHeaderLineLength);
            QByteArrayView last;
            for (const Message::Header &o : p.headers) {
                if (o.name == h.name)
                    last = o.value;
            }
            FUZZ_CHECK(p.header(h.name) == last);
        }
    }
}

void parseBoth(QByteArrayView offsetsValue, QByteArrayView body) {
    static const Limits defaults;
    static const Limits tiny = tinyLimits();
    Error error;
    const QList<Part> parts = Multipart::parse(offsetsValue, body, defaults, &error);
    if (error) {
        checkError(error, offsetsValue);
        FUZZ_CHECK(parts.isEmpty());
    } else {
        checkParts(parts, offsetsValue, body, defaults);
    }
    Error tinyError;
    const QList<Part> tinyParts = Multipart::parse(offsetsValue, body, tiny, &tinyError);
    if (tinyError) {
        checkError(tinyError, offsetsValue);
        FUZZ_CHECK(tinyParts.isEmpty());
    } else {
        checkParts(tinyParts, offsetsValue, body, tiny);
        FUZZ_CHECK(!error && sameParts(parts, tinyParts));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const QByteArrayView in = fuzz::input(data, size);

    // As the server sees it: a message with a multipart header.
    Error error;
    const Message m =
        Message::parse(QByteArray::fromRawData(in.data(), in.size()), Limits(), &error);
    if (!error && m.hasHeader("multipart"))
        parseBoth(m.header("multipart"), m.body());

    // Raw: offsets and body straight from the input.
    const auto [offsets, body] = fuzz::splitLine(in);
    parseBoth(offsets, body);
    return 0;
}

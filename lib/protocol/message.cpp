// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "message.h"

#include <cstring>

namespace lhttp {

namespace {

constexpr QByteArrayView Crlf = "\r\n";

bool isBlank(char c) {
    return c == ' ' || c == '\t';
}

QByteArrayView trimmed(QByteArrayView v) {
    while (!v.isEmpty() && isBlank(v.front()))
        v = v.sliced(1);
    while (!v.isEmpty() && isBlank(v.back()))
        v.chop(1);
    return v;
}

// A command or header name: visible ASCII, no ':' in names. Control bytes (including a lone
// CR or LF) are what turn a bare-LF message into an error instead of a garbled header.
bool isTokenChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
}

bool hasControlChars(QByteArrayView v) {
    for (char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f)
            return true;
    }
    return false;
}

// The index of the first CRLF at or after `from`, or -1. memchr finds each CR: far cheaper
// than a substring search for the short lines of an LHTTP head.
qsizetype findCrlf(QByteArrayView v, qsizetype from) {
    const char *const begin = v.data();
    const char *const end = begin + v.size();
    const char *p = begin + from;
    while (p < end) {
        p = static_cast<const char *>(std::memchr(p, '\r', size_t(end - p)));
        if (!p || p + 1 >= end)
            return -1;
        if (p[1] == '\n')
            return p - begin;
        ++p;
    }
    return -1;
}

bool sameBytes(QByteArrayView a, QByteArrayView b) {
    return a.size() == b.size() &&
           (a.isEmpty() || std::memcmp(a.data(), b.data(), size_t(a.size())) == 0);
}

} // namespace

// One `name:value` line (without its CRLF).
Error Message::parseHeaderLine(QByteArrayView line, const Limits &limits, HeaderList *out) {
    if (line.size() > limits.maxHeaderLineLength)
        return Error::make(Status::PayloadTooLarge,
                           "header line longer than " +
                               QByteArray::number(limits.maxHeaderLineLength) + " bytes");
    if (out->size() >= limits.maxHeaders)
        return Error::make(Status::BadRequest,
                           "more than " + QByteArray::number(limits.maxHeaders) + " headers");
    const qsizetype colon = line.indexOf(':');
    if (colon < 0)
        return Error::make(Status::BadRequest, "header line without ':'");
    const QByteArrayView name = line.first(colon);
    if (name.isEmpty())
        return Error::make(Status::BadRequest, "empty header name");
    for (char c : name) {
        if (!isTokenChar(c))
            return Error::make(Status::BadRequest,
                               "invalid character in header name (bare LF line ends?)");
    }
    const QByteArrayView value = trimmed(line.sliced(colon + 1));
    if (hasControlChars(value))
        return Error::make(Status::BadRequest,
                           "control character in header value (bare LF line ends?)");
    out->append(Header{name, value});
    return {};
}

Message::Message(QByteArray command, QByteArray body) {
    m_command = keep(command);
    m_body = keep(body);
    m_modified = true;
}

QByteArrayView Message::keep(const QByteArray &bytes) {
    // An empty view must still be non-null where the protocol needs "present but empty".
    if (bytes.isEmpty())
        return QByteArrayView("", 0);
    m_owned.append(bytes);
    return QByteArrayView(m_owned.constLast());
}

Error Message::parseHeaderLines(QByteArrayView block, const Limits &limits, HeaderList *out) {
    qsizetype pos = 0;
    while (pos < block.size()) {
        const qsizetype eol = findCrlf(block, pos);
        if (eol < 0)
            return Error::make(Status::BadRequest, "header line not terminated by CRLF");
        if (Error e = parseHeaderLine(block.sliced(pos, eol - pos), limits, out))
            return e;
        pos = eol + Crlf.size();
    }
    return {};
}

Message Message::parse(const QByteArray &raw, const Limits &limits, Error *error) {
    Message m;
    *error = m.reset(raw, limits);
    return m;
}

Error Message::reset(const QByteArray &raw, const Limits &limits) {
    if (&raw == &m_raw) { // clear() would drop the bytes being parsed
        const QByteArray keepAlive = raw;
        return reset(keepAlive, limits);
    }
    clear();
    if (raw.size() > limits.maxMessageSize)
        return Error::make(Status::PayloadTooLarge, "message of " + QByteArray::number(raw.size()) +
                                                        " bytes exceeds the limit of " +
                                                        QByteArray::number(limits.maxMessageSize));
    m_raw = raw; // the views below point into it
    const QByteArrayView all(m_raw);
    auto fail = [this](QByteArray reason, int code = Status::BadRequest) {
        clear();
        return Error::make(code, std::move(reason));
    };
    if (!all.startsWith(Protocol) || all.size() <= Protocol.size() || all[Protocol.size()] != ' ')
        return fail("not an LHTTP/1.0 message: the first line must be "
                    "'LHTTP/1.0 <command>' followed by CRLF");
    const qsizetype startEol = findCrlf(all, Protocol.size() + 1);
    if (startEol < 0)
        return fail("start line not terminated by CRLF");
    const QByteArrayView command = all.sliced(Protocol.size() + 1, startEol - Protocol.size() - 1);
    if (command.isEmpty())
        return fail("empty command");
    for (char c : command) {
        if (!isTokenChar(c))
            return fail("invalid character in command (bare LF line ends or extra spaces?)");
    }

    // Head: header lines from after the start line up to the blank line, or to the end of the
    // message when it ends right after a header line's CRLF. One pass: each CRLF is found
    // once (memchr), and the line it ends is parsed where it lies.
    qsizetype pos = startEol + Crlf.size();
    qsizetype bodyStart = all.size();
    while (pos < all.size()) {
        const qsizetype eol = findCrlf(all, pos);
        if (eol < 0)
            return fail("header line not terminated by CRLF");
        if (eol == pos) { // the blank line
            bodyStart = pos + Crlf.size();
            break;
        }
        if (Error e = parseHeaderLine(all.sliced(pos, eol - pos), limits, &m_headers))
            return fail(std::move(e.reason), e.code);
        pos = eol + Crlf.size();
    }
    m_command = command;
    m_body = all.sliced(bodyStart);
    return {};
}

void Message::clear() {
    m_raw.clear();
    m_owned.clear();
    m_command = {};
    m_headers.clear();
    m_body = {};
    m_modified = false;
}

QByteArrayView Message::header(QByteArrayView name) const {
    for (auto it = m_headers.crbegin(); it != m_headers.crend(); ++it) {
        if (sameBytes(it->name, name))
            return it->value;
    }
    return {};
}

bool Message::hasHeader(QByteArrayView name) const {
    for (const Header &h : m_headers) {
        if (sameBytes(h.name, name))
            return true;
    }
    return false;
}

void Message::setCommand(const QByteArray &command) {
    m_command = keep(command);
    m_modified = true;
}

void Message::setHeader(const QByteArray &name, const QByteArray &value) {
    for (auto it = m_headers.rbegin(); it != m_headers.rend(); ++it) {
        if (it->name == name) {
            it->value = keep(value);
            m_modified = true;
            return;
        }
    }
    addHeader(name, value);
}

void Message::addHeader(const QByteArray &name, const QByteArray &value) {
    m_headers.append(Header{keep(name), keep(value)});
    m_modified = true;
}

int Message::removeHeader(QByteArrayView name) {
    const qsizetype before = m_headers.size();
    m_headers.removeIf([name](const Header &h) { return h.name == name; });
    const int removed = int(before - m_headers.size());
    if (removed)
        m_modified = true;
    return removed;
}

void Message::setBody(const QByteArray &body) {
    m_body = keep(body);
    m_modified = true;
}

QByteArray Message::serialize(QByteArrayView command, const HeaderList &headers,
                              QByteArrayView body) {
    qsizetype size = Protocol.size() + 1 + command.size() + 4 + body.size();
    for (const Header &h : headers)
        size += h.name.size() + h.value.size() + 3;
    QByteArray out;
    out.reserve(size);
    out.append(Protocol).append(' ').append(command).append(Crlf);
    for (const Header &h : headers)
        out.append(h.name).append(':').append(h.value).append(Crlf);
    out.append(Crlf).append(body);
    return out;
}

QByteArray Message::toBytes() const {
    if (!m_modified && !m_raw.isNull())
        return m_raw;
    return serialize(m_command, m_headers, m_body);
}

QByteArray Message::errorReply(const Error &error) {
    QByteArray reason = error.reason;
    // A reason must never break the header syntax.
    reason.replace('\r', ' ').replace('\n', ' ');
    return "LHTTP/1.0 error\r\ncode:" + QByteArray::number(error.code) + "\r\nreason:" + reason +
           "\r\n\r\n";
}

QVarLengthArray<QByteArrayView, 4> splitTokens(QByteArrayView value) {
    QVarLengthArray<QByteArrayView, 4> out;
    if (value.isEmpty())
        return out;
    qsizetype i = 0;
    const qsizetype n = value.size();
    while (i < n) {
        while (i < n && isBlank(value[i]))
            ++i;
        const qsizetype start = i;
        while (i < n && !isBlank(value[i]))
            ++i;
        if (i > start)
            out.append(value.sliced(start, i - start));
    }
    return out;
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "printer.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringDecoder>

namespace {

constexpr char Reset[] = "\033[0m";
constexpr char Bold[] = "\033[1m";
constexpr char Dim[] = "\033[2m";
constexpr char Cyan[] = "\033[36m";
constexpr char BoldRed[] = "\033[1;31m";
constexpr char Yellow[] = "\033[33m";

// Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0.
int utf8Length(const unsigned char *p, qsizetype n) {
    const unsigned char c = p[0];
    int len = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (int i = 2; i < len; ++i) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return len;
}

int hexValue(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool isUtf8(QByteArrayView bytes) {
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    const QString s = decoder(bytes);
    return !decoder.hasError();
}

} // namespace

QByteArray escapeBytes(QByteArrayView bytes, bool keepNewlines) {
    static const char Hex[] = "0123456789abcdef";
    QByteArray out;
    out.reserve(bytes.size());
    const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
    const qsizetype n = bytes.size();
    for (qsizetype i = 0; i < n;) {
        const unsigned char c = p[i];
        if (c >= 0x80) {
            if (const int len = utf8Length(p + i, n - i)) {
                out.append(reinterpret_cast<const char *>(p + i), len);
                i += len;
                continue;
            }
        }
        ++i;
        switch (c) {
        case '\\':
            out += "\\\\";
            continue;
        case '\r':
            out += "\\r";
            continue;
        case '\n':
            out += keepNewlines ? "\n" : "\\n";
            continue;
        case '\t':
            out += "\\t";
            continue;
        default:
            break;
        }
        if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            out += Hex[c >> 4];
            out += Hex[c & 0xf];
        } else {
            out += char(c);
        }
    }
    return out;
}

QByteArray unescapeBytes(QByteArrayView text, QString *error) {
    QByteArray out;
    out.reserve(text.size());
    for (qsizetype i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c != '\\') {
            out += c;
            continue;
        }
        if (++i >= text.size()) {
            *error = QStringLiteral("a lone '\\' at the end (write \\\\ for a backslash)");
            return {};
        }
        switch (text[i]) {
        case 'r':
            out += '\r';
            break;
        case 'n':
            out += '\n';
            break;
        case 't':
            out += '\t';
            break;
        case '0':
            out += '\0';
            break;
        case '\\':
            out += '\\';
            break;
        case 'x': {
            const int h = i + 1 < text.size() ? hexValue(text[i + 1]) : -1;
            const int l = i + 2 < text.size() ? hexValue(text[i + 2]) : -1;
            if (h < 0 || l < 0) {
                *error = QStringLiteral("\\x needs two hex digits");
                return {};
            }
            out += char(h * 16 + l);
            i += 2;
            break;
        }
        default:
            *error = QStringLiteral("unknown escape '\\%1' (use \\r \\n \\t \\0 \\\\ \\xNN)")
                         .arg(QLatin1Char(text[i]));
            return {};
        }
    }
    return out;
}

bool Printer::parseFormat(const QString &name, Format *format) {
    for (Format f : {Format::Pretty, Format::Line, Format::Body, Format::Json}) {
        if (formatName(f) == name) {
            *format = f;
            return true;
        }
    }
    return false;
}

QString Printer::formatName(Format format) {
    switch (format) {
    case Format::Pretty:
        return QStringLiteral("pretty");
    case Format::Line:
        return QStringLiteral("line");
    case Format::Body:
        return QStringLiteral("body");
    case Format::Json:
        return QStringLiteral("json");
    }
    return {};
}

QByteArray Printer::message(const lhttp::Message &m) const {
    auto paint = [this](const char *code, const QByteArray &text) {
        return color ? code + text + Reset : text;
    };
    switch (format) {
    case Format::Line:
        return escapeBytes(m.toBytes()) + '\n';
    case Format::Body: {
        QByteArray out = m.body().toByteArray();
        if (!out.endsWith('\n'))
            out += '\n';
        return out;
    }
    case Format::Json: {
        QJsonArray headers;
        for (const auto &h : m.headers())
            headers.append(QJsonArray{QString::fromUtf8(h.name), QString::fromUtf8(h.value)});
        QJsonObject o{{QStringLiteral("command"), QString::fromUtf8(m.command())},
                      {QStringLiteral("headers"), headers}};
        // JSON strings are text: a body that is not UTF-8 travels as base64 instead.
        if (isUtf8(m.body()))
            o.insert(QStringLiteral("body"), QString::fromUtf8(m.body()));
        else
            o.insert(QStringLiteral("bodyBase64"),
                     QString::fromLatin1(m.body().toByteArray().toBase64()));
        return QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n';
    }
    case Format::Pretty:
        break;
    }
    QByteArray out = paint(Bold, "<< ") + paint(Cyan, escapeBytes(m.command())) + '\n';
    for (const auto &h : m.headers())
        out += "   " + paint(Dim, escapeBytes(h.name) + ':') + ' ' + escapeBytes(h.value) + '\n';
    if (!m.body().isEmpty()) {
        for (const QByteArray &line : m.body().toByteArray().split('\n'))
            out += "   " + paint(Dim, "|") + ' ' + escapeBytes(line) + '\n';
    }
    return out;
}

QByteArray Printer::error(int code, const QByteArray &reason) const {
    switch (format) {
    case Format::Line:
        return escapeBytes(lhttp::Message::errorReply(lhttp::Error::make(code, reason))) + '\n';
    case Format::Json: {
        const QJsonObject e{{QStringLiteral("code"), code},
                            {QStringLiteral("reason"), QString::fromUtf8(reason)}};
        return QJsonDocument(QJsonObject{{QStringLiteral("error"), e}})
                   .toJson(QJsonDocument::Compact) +
               '\n';
    }
    case Format::Body:
    case Format::Pretty:
        break;
    }
    const QByteArray text = "!! error " + QByteArray::number(code) + ": " + escapeBytes(reason);
    return (color ? BoldRed + text + Reset : text) + '\n';
}

QByteArray Printer::invalid(const QByteArray &raw, const QByteArray &reason) const {
    const QByteArray text = "?? not an LHTTP message (" + reason + "): " + escapeBytes(raw);
    return (color ? Yellow + text + Reset : text) + '\n';
}

QByteArray Printer::status(const QString &text) const {
    const QByteArray t = "-- " + text.toUtf8();
    return (colorErr ? Dim + t + Reset : t) + '\n';
}

QByteArray Printer::problem(const QString &text) const {
    const QByteArray t = "lhttp-cli: " + text.toUtf8();
    return (colorErr ? BoldRed + t + Reset : t) + '\n';
}

QByteArray Printer::member(const lhttp::PresenceMember &m) const {
    if (format == Format::Json) {
        const QJsonObject o{{QStringLiteral("client"), QString::fromUtf8(m.client)},
                            {QStringLiteral("node"), QString::fromUtf8(m.node)},
                            {QStringLiteral("user"), QString::fromUtf8(m.user)},
                            {QStringLiteral("info"), QString::fromUtf8(m.info)}};
        return QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n';
    }
    return escapeBytes(m.client) + '\t' + escapeBytes(m.node) + '\t' +
           (m.user.isEmpty() ? QByteArray("-") : escapeBytes(m.user)) + '\t' + escapeBytes(m.info) +
           '\n';
}

QByteArray Printer::presenceStats(int connections, int users, int userConnections) const {
    if (format == Format::Json) {
        QJsonObject o{{QStringLiteral("connections"), connections},
                      {QStringLiteral("users"), users}};
        if (userConnections >= 0)
            o.insert(QStringLiteral("userConnections"), userConnections);
        return QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n';
    }
    QByteArray out =
        "connections " + QByteArray::number(connections) + " users " + QByteArray::number(users);
    if (userConnections >= 0)
        out += " user-connections " + QByteArray::number(userConnections);
    return out + '\n';
}

lhttp::Message Printer::presenceEvent(bool join, const QByteArray &channel,
                                      const lhttp::PresenceMember &m) {
    QByteArray bytes = "LHTTP/1.0 presence\r\n" + QByteArray(join ? "join:" : "leave:") + channel +
                       "\r\nclient:" + m.client + "\r\nnode:" + m.node + "\r\n";
    if (!m.user.isEmpty())
        bytes += "user:" + m.user + "\r\n";
    bytes += "\r\n" + m.info;
    lhttp::Error error;
    lhttp::Limits limits;
    limits.maxMessageSize = bytes.size();
    return lhttp::Message::parse(bytes, limits, &error);
}

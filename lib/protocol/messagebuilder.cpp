// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "messagebuilder.h"

#include "channelname.h"

#include <limits>

namespace lhttp {

namespace {

bool isTokenChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
}

QString quoted(const QByteArray &bytes) {
    return QLatin1Char('\'') + QString::fromUtf8(bytes) + QLatin1Char('\'');
}

} // namespace

bool isValidChannel(const QByteArray &channel, bool forPublish, QString *error) {
    // Wildcards and length are the server's policy; only what no server accepts is refused.
    const Error e = ChannelName::validate(
        channel, forPublish ? ChannelName::Use::Publish : ChannelName::Use::Subscribe, true,
        std::numeric_limits<int>::max());
    if (e && error)
        *error = QStringLiteral("invalid channel: ") + QString::fromUtf8(e.reason);
    return !e;
}

QByteArray buildMessage(const QByteArray &command, const HeaderPairs &headers,
                        const QByteArray &body, QString *error) {
    auto fail = [error](const QString &why) {
        if (error)
            *error = why;
        return QByteArray();
    };
    if (command.isEmpty())
        return fail(QStringLiteral("empty command"));
    for (char c : command) {
        if (!isTokenChar(c))
            return fail(QStringLiteral("command %1 contains white space or control bytes")
                            .arg(quoted(command)));
    }
    QByteArray out = "LHTTP/1.0 " + command + "\r\n";
    for (const auto &[name, value] : headers) {
        if (name.isEmpty())
            return fail(QStringLiteral("empty header name"));
        for (char c : name) {
            if (!isTokenChar(c) || c == ':')
                return fail(QStringLiteral("header name %1 contains ':', white space or "
                                           "control bytes")
                                .arg(quoted(name)));
        }
        for (char c : value) {
            const auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7f)
                return fail(QStringLiteral("value of header %1 contains control bytes (CR or LF?)")
                                .arg(quoted(name)));
        }
        out += name + ':' + value + "\r\n";
    }
    return out + "\r\n" + body;
}

QByteArray buildPublishMessage(const QByteArrayList &channels, const QByteArray &command,
                               const HeaderPairs &headers, const QByteArray &body, QString *error) {
    if (channels.isEmpty()) {
        if (error)
            *error = QStringLiteral("no channel to publish to");
        return {};
    }
    for (const QByteArray &channel : channels) {
        if (!isValidChannel(channel, true, error))
            return {};
    }
    HeaderPairs all;
    all.reserve(headers.size() + 1);
    all.append(qMakePair(QByteArrayLiteral("publish"), channels.join(' ')));
    all.append(headers);
    return buildMessage(command, all, body, error);
}

HeaderPairs parseHeaderLines(const QByteArray &text, QByteArrayView skip) {
    HeaderPairs out;
    for (const QByteArray &line : text.split('\n')) {
        const QByteArray l = line.trimmed();
        const qsizetype colon = l.indexOf(':');
        if (colon <= 0)
            continue;
        const QByteArray name = l.left(colon).trimmed();
        if (!skip.isEmpty() && name == skip)
            continue;
        out.append(qMakePair(name, l.mid(colon + 1).trimmed()));
    }
    return out;
}

} // namespace lhttp

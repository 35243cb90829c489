// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "token.h"

#include "channelname.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageAuthenticationCode>

#include <algorithm>

namespace lhttp {

namespace {

constexpr auto Base64Url = QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals;

bool patternMatches(const QByteArrayList &patterns, QByteArrayView channel) {
    for (const QByteArray &p : patterns) {
        if (ChannelName::matches(p, channel))
            return true;
    }
    return false;
}

bool decodePart(QByteArrayView part, QJsonObject *out) {
    for (char c : part) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok)
            return false;
    }
    const auto decoded = QByteArray::fromBase64Encoding(
        part.toByteArray(), Base64Url | QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded)
        return false;
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(*decoded, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return false;
    *out = doc.object();
    return true;
}

bool readPatterns(const QJsonObject &payload, const QString &name, QByteArrayList *out) {
    const QJsonValue v = payload.value(name);
    if (v.isUndefined())
        return true;
    if (!v.isArray())
        return false;
    for (const QJsonValue &item : v.toArray()) {
        if (!item.isString())
            return false;
        out->append(item.toString().toUtf8());
    }
    return true;
}

QByteArray hmac(QByteArrayView data, QByteArrayView secret) {
    return QMessageAuthenticationCode::hash(data.toByteArray(), secret.toByteArray(),
                                            QCryptographicHash::Sha256);
}

} // namespace

bool constantTimeEquals(QByteArrayView a, QByteArrayView b) {
    // The length is not secret; the bytes are compared without an early exit.
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

bool Claims::maySubscribe(QByteArrayView channel) const {
    return patternMatches(subscribe, channel);
}

bool Claims::mayPublish(QByteArrayView channel) const {
    return patternMatches(publish, channel);
}

Error Token::verify(QByteArrayView token, QByteArrayView secret, qint64 now, Claims *claims) {
    auto fail = [](const char *why) {
        return Error::make(Status::Unauthorized, QByteArray("invalid token: ") + why);
    };
    if (token.isEmpty())
        return Error::make(Status::Unauthorized, "token required");
    if (token.size() > MaxTokenSize)
        return fail("too long");
    const qsizetype dot1 = token.indexOf('.');
    const qsizetype dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot1 <= 0 || dot2 <= dot1 + 1 || token.indexOf('.', dot2 + 1) >= 0)
        return fail("not a JWT (header.payload.signature)");
    QJsonObject header;
    if (!decodePart(token.first(dot1), &header))
        return fail("malformed header");
    if (header.value(QStringLiteral("alg")).toString() != u"HS256")
        return fail("algorithm must be HS256");
    const QJsonValue typ = header.value(QStringLiteral("typ"));
    if (!typ.isUndefined() &&
        typ.toString().compare(QStringLiteral("JWT"), Qt::CaseInsensitive) != 0)
        return fail("type must be JWT");
    const QByteArrayView signature = token.sliced(dot2 + 1);
    if (!QByteArray::fromBase64Encoding(signature.toByteArray(),
                                        Base64Url | QByteArray::AbortOnBase64DecodingErrors))
        return fail("malformed signature");
    // Compared as text with the one canonical base64url spelling of the HMAC, not as decoded
    // bytes: the decoder ignores the unused low bits of the last character (and takes '='
    // padding), so other spellings of the same signature would pass and a valid token could be
    // altered without the secret (found by tests/fuzz/fuzz_token).
    if (!constantTimeEquals(signature, hmac(token.first(dot2), secret).toBase64(Base64Url)))
        return fail("bad signature");
    QJsonObject payload;
    if (!decodePart(token.sliced(dot1 + 1, dot2 - dot1 - 1), &payload))
        return fail("malformed payload");
    Claims c;
    const QJsonValue sub = payload.value(QStringLiteral("sub"));
    if (!sub.isString() || sub.toString().isEmpty())
        return fail("no subject (sub)");
    c.subject = sub.toString();
    // It becomes a header value (presence events' `user`): a line end there would end it.
    if (std::any_of(c.subject.cbegin(), c.subject.cend(),
                    [](QChar ch) { return ch.unicode() < 0x20 || ch.unicode() == 0x7f; }))
        return fail("subject (sub) contains control characters");
    // NumericDate seconds; beyond ±1e15 s (31 million years) a double does not convert to
    // qint64 safely (undefined behaviour past 2^63, found by tests/fuzz/fuzz_token).
    auto seconds = [](const QJsonValue &v, qint64 *out) {
        const double d = v.toDouble();
        if (!(d > -1e15 && d < 1e15))
            return false;
        *out = qint64(d);
        return true;
    };
    const QJsonValue exp = payload.value(QStringLiteral("exp"));
    if (!exp.isUndefined()) {
        if (!exp.isDouble())
            return fail("exp is not a number");
        if (!seconds(exp, &c.expiresAt))
            return fail("exp out of range");
        if (now > c.expiresAt + LeewaySeconds)
            return fail("expired");
    }
    const QJsonValue nbf = payload.value(QStringLiteral("nbf"));
    qint64 notBefore = 0;
    if (!nbf.isUndefined() &&
        (!nbf.isDouble() || !seconds(nbf, &notBefore) || now + LeewaySeconds < notBefore))
        return fail("not valid yet (nbf)");
    QByteArrayList both;
    if (!readPatterns(payload, QStringLiteral("channels"), &both) ||
        !readPatterns(payload, QStringLiteral("subscribe"), &c.subscribe) ||
        !readPatterns(payload, QStringLiteral("publish"), &c.publish))
        return fail("channel grants must be arrays of strings");
    c.subscribe += both;
    c.publish += both;
    *claims = std::move(c);
    return {};
}

QByteArray Token::signRaw(const QByteArray &headerJson, const QByteArray &payloadJson,
                          QByteArrayView secret) {
    const QByteArray signingInput =
        headerJson.toBase64(Base64Url) + '.' + payloadJson.toBase64(Base64Url);
    return signingInput + '.' + hmac(signingInput, secret).toBase64(Base64Url);
}

QByteArray Token::sign(const QString &subject, const QByteArrayList &subscribe,
                       const QByteArrayList &publish, qint64 expiresAt, QByteArrayView secret) {
    auto array = [](const QByteArrayList &list) {
        QJsonArray a;
        for (const QByteArray &s : list)
            a.append(QString::fromUtf8(s));
        return a;
    };
    QJsonObject payload{{QStringLiteral("sub"), subject}};
    if (expiresAt > 0)
        payload.insert(QStringLiteral("exp"), double(expiresAt));
    if (subscribe == publish) {
        payload.insert(QStringLiteral("channels"), array(subscribe));
    } else {
        payload.insert(QStringLiteral("subscribe"), array(subscribe));
        payload.insert(QStringLiteral("publish"), array(publish));
    }
    return signRaw(R"({"alg":"HS256","typ":"JWT"})",
                   QJsonDocument(payload).toJson(QJsonDocument::Compact), secret);
}

} // namespace lhttp

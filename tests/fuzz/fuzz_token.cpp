// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// libFuzzer target for Token (HS256 connect tokens), with a fixed secret and a fixed "now".
// Each input is used three ways:
// 1. as a token: verify() must not crash, and whatever it accepts has a subject and has not
//    expired (libFuzzer cannot forge the HMAC, so this mostly covers the framing and the
//    header);
// 2. as `header JSON '\n' payload JSON`, signed with the secret (signRaw), so that the claim
//    parsing behind the signature check is fuzzed too: an accepted token says alg HS256 in
//    its header and a different secret or a later "now" past `exp` refuses it;
// 3. as `sub '\n' subscribe patterns '\n' publish patterns '\n' exp`, given to sign(): the
//    token verifies with exactly those claims, and changing any single byte of it makes
//    verify() fail (every byte of the signature, a sample of the rest), as do the other
//    base64url spellings of the same signature bytes (unused bits set, '=' padding).
//    The grants are checked against the channels of the other list: only channel names the
//    server lets through validation (ChannelName::validate runs before the permission
//    check) are probed; for a concrete channel a grant allows exactly what NATS matching
//    says; a grant that allows a wildcard subscription allows every concrete channel that
//    subscription can receive.

#include "channelname.h"
#include "fuzzcheck.h"
#include "message.h"
#include "token.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QList>

#include <algorithm>

using lhttp::ChannelName;
using lhttp::Claims;
using lhttp::Error;
using lhttp::Token;
using Use = lhttp::ChannelName::Use;

namespace {

constexpr QByteArrayView Secret = "lhttp-fuzz-secret";
constexpr qint64 Now = 1'700'000'000; // 2023-11-14

void checkAccepted(const Claims &c, qint64 now) {
    FUZZ_CHECK(!c.subject.isEmpty());
    FUZZ_CHECK(c.expiresAt == 0 || now - Token::LeewaySeconds <= c.expiresAt);
}

void checkRefused(const Error &e) {
    FUZZ_CHECK(e.code == lhttp::Status::Unauthorized);
    FUZZ_CHECK(!e.reason.isEmpty());
}

void asToken(QByteArrayView in) {
    Claims c;
    const Error e = Token::verify(in, Secret, Now, &c);
    if (e)
        checkRefused(e);
    else
        checkAccepted(c, Now);
}

void asSignedJson(QByteArrayView in) {
    const auto [header, payload] = fuzz::splitLine(in);
    const QByteArray token = Token::signRaw(header.toByteArray(), payload.toByteArray(), Secret);
    Claims c;
    const Error e = Token::verify(token, Secret, Now, &c);
    if (e) {
        checkRefused(e);
        return;
    }
    checkAccepted(c, Now);
    const QJsonObject h = QJsonDocument::fromJson(header.toByteArray()).object();
    FUZZ_CHECK(h.value(QStringLiteral("alg")).toString() == u"HS256");
    Claims other;
    FUZZ_CHECK(Token::verify(token, "another secret", Now, &other));
    if (c.expiresAt > 0 && c.expiresAt < (Q_INT64_C(1) << 53))
        FUZZ_CHECK(Token::verify(token, Secret, c.expiresAt + Token::LeewaySeconds + 1, &other));
}

QByteArrayList patterns(QByteArrayView line) {
    QByteArrayList out;
    for (QByteArrayView t : lhttp::splitTokens(line))
        out.append(t.toByteArray());
    return out;
}

// What survives the trip through JSON strings: the UTF-8 of the text.
QByteArrayList asUtf8(const QByteArrayList &list) {
    QByteArrayList out;
    for (const QByteArray &s : list)
        out.append(QString::fromUtf8(s).toUtf8());
    return out;
}

bool isValidSubscription(QByteArrayView channel) {
    return !ChannelName::validate(channel, Use::Subscribe, true, 1 << 20);
}

// One concrete channel a wildcard subscription receives: each `*` and `>` replaced by tokens
// taken from `fill` (or "x").
QByteArray instantiate(QByteArrayView pattern, QByteArrayView fill) {
    QByteArray token;
    for (char ch : fill) {
        if (ch != '.' && ch != '*' && ch != '>' && static_cast<unsigned char>(ch) > 0x20 &&
            ch != 0x7f)
            token.append(ch);
        if (token.size() == 8)
            break;
    }
    if (token.isEmpty())
        token = "x";
    QByteArray out;
    for (QByteArrayView t : QByteArrayView(pattern).toByteArray().split('.')) {
        if (!out.isEmpty())
            out.append('.');
        out.append(t == "*" ? token : t == ">" ? token + ".y" : t.toByteArray());
    }
    return out;
}

// What one grant allows, probed with `channel` (as the server would see it).
void checkGrant(const QByteArray &grant, QByteArrayView channel, QByteArrayView fill) {
    if (!isValidSubscription(grant) || !isValidSubscription(channel))
        return;
    Claims one;
    one.subscribe = {grant};
    one.publish = {grant};
    const bool allowed = one.maySubscribe(channel);
    FUZZ_CHECK(allowed == one.mayPublish(channel));
    if (!ChannelName::isWildcard(channel)) {
        FUZZ_CHECK(allowed == ChannelName::matches(grant, channel));
    } else if (allowed) {
        const QByteArray concrete = instantiate(channel, fill);
        FUZZ_CHECK(ChannelName::matches(channel, concrete));
        FUZZ_CHECK(one.maySubscribe(concrete));
    }
    FUZZ_CHECK(one.maySubscribe(grant)); // a grant covers itself
}

void asClaims(QByteArrayView in) {
    auto [subjectLine, rest1] = fuzz::splitLine(in);
    auto [subscribeLine, rest2] = fuzz::splitLine(rest1);
    auto [publishLine, rest3] = fuzz::splitLine(rest2);
    const QString subject = QString::fromUtf8(subjectLine);
    const QByteArrayList subscribe = patterns(subscribeLine);
    const QByteArrayList publish = patterns(publishLine);
    bool ok = false;
    qint64 exp = fuzz::splitLine(rest3).first.toLongLong(&ok);
    if (!ok || exp < 0)
        exp = 0;
    // Keep exp where a double holds it exactly (a NumericDate from sign()).
    exp %= Q_INT64_C(1) << 53;

    const QByteArray token = Token::sign(subject, subscribe, publish, exp, Secret);
    Claims c;
    const Error e = Token::verify(token, Secret, Now, &c);
    const bool expired = exp > 0 && exp < Now - Token::LeewaySeconds;
    // A subject becomes a header value (presence events): control characters are refused.
    const bool controls = std::any_of(subject.cbegin(), subject.cend(), [](QChar ch) {
        return ch.unicode() < 0x20 || ch.unicode() == 0x7f;
    });
    if (subject.isEmpty() || expired || controls) {
        FUZZ_CHECK(e);
        checkRefused(e);
        return;
    }
    FUZZ_CHECK(!e);
    FUZZ_CHECK(c.subject == subject);
    FUZZ_CHECK(c.expiresAt == exp);
    FUZZ_CHECK(c.subscribe == asUtf8(subscribe));
    FUZZ_CHECK(c.publish == asUtf8(publish));
    for (const QByteArray &p : c.subscribe)
        FUZZ_CHECK(!isValidSubscription(p) || c.maySubscribe(p));
    for (const QByteArray &p : c.publish)
        FUZZ_CHECK(!isValidSubscription(p) || c.mayPublish(p));
    // Each list's first few patterns against the other's (bounded: lists can be long).
    const auto firstFew = [](const QByteArrayList &l) {
        return l.first(std::min<qsizetype>(l.size(), 16));
    };
    for (const QByteArray &g : firstFew(c.subscribe)) {
        for (const QByteArray &ch : firstFew(c.publish)) {
            checkGrant(g, ch, subjectLine);
            checkGrant(ch, g, subjectLine);
        }
    }

    // A change to any single byte of a valid token is refused. Every byte of the signature
    // and both dots are tried (encodings of the same signature bytes must not pass either);
    // in the signed part, where the HMAC covers the text, a sample of positions.
    const qsizetype sigStart = token.lastIndexOf('.') + 1;
    const qsizetype dot1 = token.indexOf('.');
    QList<qsizetype> positions{dot1, sigStart - 1};
    for (qsizetype i = sigStart; i < token.size(); ++i)
        positions.append(i);
    for (qsizetype k = 0; k < 16 && k < in.size(); ++k)
        positions.append(qsizetype(uchar(in[k]) * 257 + k * 31) % sigStart);
    for (qsizetype i : positions) {
        QByteArray tampered = token;
        const auto mask = char(1 + uchar(in.isEmpty() ? 0 : in[i % in.size()]) % 255);
        tampered[i] = char(tampered[i] ^ mask);
        Claims t;
        const Error te = Token::verify(tampered, Secret, Now, &t);
        if (!te)
            std::fprintf(stderr, "tampered token accepted: byte %lld of %s changed: %s\n",
                         static_cast<long long>(i), token.constData(), tampered.constData());
        FUZZ_CHECK(te);
    }

    // Other spellings of the very same signature bytes, which a decode-then-compare verifier
    // accepts (the first crash this target found): 32 bytes are 42 base64url characters and
    // 4 bits, so the last character has two unused low bits; and '=' padding. The canonical
    // spelling leaves the unused bits zero.
    constexpr QByteArrayView Alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    FUZZ_CHECK(token.size() - sigStart == 43);
    const qsizetype last = Alphabet.indexOf(token.back());
    FUZZ_CHECK(last >= 0 && last % 4 == 0);
    QByteArrayList respelled{token + '=', token + "=="};
    for (qsizetype bits = 1; bits < 4; ++bits) {
        respelled.append(token);
        respelled.back().back() = Alphabet[last | bits];
    }
    for (const QByteArray &r : respelled) {
        Claims t;
        FUZZ_CHECK(Token::verify(r, Secret, Now, &t));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const QByteArrayView in = fuzz::input(data, size);
    asToken(in);
    asSignedJson(in);
    asClaims(in);
    return 0;
}

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// The HS256 connect-token verifier (lib/token.h) on its own: a published test vector, every
// refusal reason, the leeway, and the channel grants with NATS wildcards.

#include "token.h"

#include <QTest>

using namespace lhttp;

namespace {

const QByteArray Secret = "test-secret";
constexpr qint64 Now = 1'800'000'000;

QByteArray flipLastSignatureChar(QByteArray token) {
    char &c = token[token.size() - 1];
    c = c == 'A' ? 'B' : 'A';
    return token;
}

} // namespace

class tst_Token : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void publishedVector();
    void roundTrip();
    void refusals_data();
    void refusals();
    void leeway();
    void grants_data();
    void grants();
    void separateGrants();
    void constantTimeEquals_data();
    void constantTimeEquals();
};

// The example token of jwt.io / RFC 7519 tooling, signed with "your-256-bit-secret": an
// independent check of our base64url and HMAC-SHA256.
void tst_Token::publishedVector() {
    const QByteArray token =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    Claims claims;
    const Error e = Token::verify(token, "your-256-bit-secret", Now, &claims);
    QVERIFY2(!e, e.reason.constData());
    QCOMPARE(claims.subject, QStringLiteral("1234567890"));
    QCOMPARE(claims.expiresAt, 0);
    QVERIFY(!claims.maySubscribe("anything")); // no grants, nothing allowed
    QVERIFY(Token::verify(token, "another-secret", Now, &claims));
}

void tst_Token::roundTrip() {
    const QByteArray token =
        Token::sign(QStringLiteral("alice"), {"room.*"}, {"room.*"}, Now + 3600, Secret);
    QCOMPARE(token.count('.'), 2);
    QVERIFY(!token.contains('=')); // base64url without padding
    Claims claims;
    const Error e = Token::verify(token, Secret, Now, &claims);
    QVERIFY2(!e, e.reason.constData());
    QCOMPARE(claims.subject, QStringLiteral("alice"));
    QCOMPARE(claims.expiresAt, Now + 3600);
    QCOMPARE(claims.subscribe, QByteArrayList{"room.*"});
    QCOMPARE(claims.publish, QByteArrayList{"room.*"});
}

void tst_Token::refusals_data() {
    QTest::addColumn<QByteArray>("token");
    QTest::addColumn<QByteArray>("reason");
    const QByteArray hs256 = R"({"alg":"HS256","typ":"JWT"})";
    const QByteArray alice = R"({"sub":"alice","channels":["a"]})";
    const QByteArray good = Token::signRaw(hs256, alice, Secret);

    QTest::newRow("missing") << QByteArray() << QByteArray("token required");
    QTest::newRow("not a jwt") << QByteArray("abc") << QByteArray("not a JWT");
    QTest::newRow("four parts") << good + ".x" << QByteArray("not a JWT");
    QTest::newRow("empty payload") << QByteArray("a..b") << QByteArray("not a JWT");
    QTest::newRow("too long") << QByteArray(Token::MaxTokenSize + 1, 'a') << QByteArray("too long");
    QTest::newRow("bad base64 header")
        << QByteArray("e30+." + good.split('.')[1] + '.' + good.split('.')[2])
        << QByteArray("malformed header");
    QTest::newRow("header not json")
        << QByteArray("bm90IGpzb24." + good.split('.')[1] + '.' + good.split('.')[2])
        << QByteArray("malformed header");
    QTest::newRow("wrong signature") << flipLastSignatureChar(good) << QByteArray("bad signature");
    // Other spellings of the right signature bytes (found by tests/fuzz/fuzz_token): 32 bytes
    // leave the last of 43 base64url characters two unused low bits, which the decoder
    // ignores; and '=' padding. Only the canonical text is accepted.
    const QByteArrayView alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int bits = 1; bits <= 3; ++bits) {
        QByteArray t = good;
        t[t.size() - 1] = alphabet[alphabet.indexOf(t.back()) | bits];
        QTest::addRow("signature unused bits %d", bits) << t << QByteArray("bad signature");
    }
    QTest::newRow("signature padded") << good + '=' << QByteArray("bad signature");
    QTest::newRow("other secret") << Token::signRaw(hs256, alice, "other")
                                  << QByteArray("bad signature");
    // `none` with an empty signature, and `none` signed anyway: both refused on the algorithm.
    const QByteArray none = R"({"alg":"none","typ":"JWT"})";
    QTest::newRow("alg none") << QByteArray(none.toBase64(QByteArray::Base64UrlEncoding |
                                                          QByteArray::OmitTrailingEquals) +
                                            '.' + good.split('.')[1] + ".")
                              << QByteArray("algorithm must be HS256");
    QTest::newRow("alg none signed")
        << Token::signRaw(none, alice, Secret) << QByteArray("algorithm must be HS256");
    QTest::newRow("alg HS512") << Token::signRaw(R"({"alg":"HS512"})", alice, Secret)
                               << QByteArray("algorithm must be HS256");
    QTest::newRow("alg lower case") << Token::signRaw(R"({"alg":"hs256"})", alice, Secret)
                                    << QByteArray("algorithm must be HS256");
    QTest::newRow("typ other") << Token::signRaw(R"({"alg":"HS256","typ":"JOSE+X"})", alice, Secret)
                               << QByteArray("type must be JWT");
    QTest::newRow("expired") << Token::signRaw(hs256,
                                               R"({"sub":"alice","exp":)" +
                                                   QByteArray::number(Now - 3600) + "}",
                                               Secret)
                             << QByteArray("expired");
    QTest::newRow("exp string") << Token::signRaw(hs256, R"({"sub":"alice","exp":"soon"})", Secret)
                                << QByteArray("exp is not a number");
    // Past 2^63 a double does not convert to qint64 (undefined behaviour; found by fuzzing).
    QTest::newRow("exp huge") << Token::signRaw(hs256, R"({"sub":"alice","exp":1.7e91})", Secret)
                              << QByteArray("exp out of range");
    QTest::newRow("exp hugely negative")
        << Token::signRaw(hs256, R"({"sub":"alice","exp":-1e300})", Secret)
        << QByteArray("exp out of range");
    QTest::newRow("nbf huge") << Token::signRaw(hs256, R"({"sub":"alice","nbf":1e300})", Secret)
                              << QByteArray("not valid yet (nbf)");
    QTest::newRow("not yet valid")
        << Token::signRaw(hs256, R"({"sub":"alice","nbf":)" + QByteArray::number(Now + 3600) + "}",
                          Secret)
        << QByteArray("not valid yet");
    QTest::newRow("no sub") << Token::signRaw(hs256, R"({"channels":["a"]})", Secret)
                            << QByteArray("no subject");
    QTest::newRow("empty sub") << Token::signRaw(hs256, R"({"sub":""})", Secret)
                               << QByteArray("no subject");
    QTest::newRow("numeric sub") << Token::signRaw(hs256, R"({"sub":42})", Secret)
                                 << QByteArray("no subject");
    QTest::newRow("payload array")
        << Token::signRaw(hs256, "[1,2]", Secret) << QByteArray("malformed payload");
    QTest::newRow("grants not array")
        << Token::signRaw(hs256, R"({"sub":"a","channels":"room"})", Secret)
        << QByteArray("channel grants must be arrays of strings");
    QTest::newRow("grant not string")
        << Token::signRaw(hs256, R"({"sub":"a","publish":[1]})", Secret)
        << QByteArray("channel grants must be arrays of strings");
}

void tst_Token::refusals() {
    QFETCH(QByteArray, token);
    QFETCH(QByteArray, reason);
    Claims claims;
    claims.subject = QStringLiteral("untouched");
    const Error e = Token::verify(token, Secret, Now, &claims);
    QVERIFY(e);
    QCOMPARE(e.code, 401);
    QVERIFY2(e.reason.contains(reason), e.reason.constData());
    QCOMPARE(claims.subject, QStringLiteral("untouched")); // nothing filled on refusal
}

void tst_Token::leeway() {
    const QByteArray hs256 = R"({"alg":"HS256"})";
    auto withExp = [&](qint64 exp) {
        return Token::signRaw(hs256, R"({"sub":"a","exp":)" + QByteArray::number(exp) + "}",
                              Secret);
    };
    Claims c;
    QVERIFY(!Token::verify(withExp(Now - Token::LeewaySeconds), Secret, Now, &c));
    QVERIFY(Token::verify(withExp(Now - Token::LeewaySeconds - 1), Secret, Now, &c));
    auto withNbf = [&](qint64 nbf) {
        return Token::signRaw(hs256, R"({"sub":"a","nbf":)" + QByteArray::number(nbf) + "}",
                              Secret);
    };
    QVERIFY(!Token::verify(withNbf(Now + Token::LeewaySeconds), Secret, Now, &c));
    QVERIFY(Token::verify(withNbf(Now + Token::LeewaySeconds + 1), Secret, Now, &c));
}

void tst_Token::grants_data() {
    QTest::addColumn<QByteArray>("pattern");
    QTest::addColumn<QByteArray>("channel");
    QTest::addColumn<bool>("allowed");
    QTest::newRow("exact") << QByteArray("room") << QByteArray("room") << true;
    QTest::newRow("exact other") << QByteArray("room") << QByteArray("rooms") << false;
    QTest::newRow("star one token") << QByteArray("room.*") << QByteArray("room.a") << true;
    QTest::newRow("star not two") << QByteArray("room.*") << QByteArray("room.a.b") << false;
    QTest::newRow("star not zero") << QByteArray("room.*") << QByteArray("room") << false;
    QTest::newRow("tail") << QByteArray("room.>") << QByteArray("room.a.b") << true;
    QTest::newRow("tail not zero") << QByteArray("room.>") << QByteArray("room") << false;
    QTest::newRow("everything") << QByteArray(">") << QByteArray("x.y.z") << true;
    QTest::newRow("middle star") << QByteArray("a.*.c") << QByteArray("a.b.c") << true;
    QTest::newRow("middle star miss") << QByteArray("a.*.c") << QByteArray("a.b.d") << false;
    // A wildcard channel itself (when the server allows wildcard subscriptions) is granted
    // only by the same pattern, never widened by a narrower one.
    QTest::newRow("same wildcard") << QByteArray("room.*") << QByteArray("room.*") << true;
    QTest::newRow("wider wildcard") << QByteArray("room.*") << QByteArray("room.>") << false;
    QTest::newRow("tail covers star") << QByteArray("room.>") << QByteArray("room.*") << true;
    QTest::newRow("all covers tail") << QByteArray(">") << QByteArray("room.>") << true;
    QTest::newRow("literal not star") << QByteArray("a.b") << QByteArray("a.*") << false;
    QTest::newRow("star not star first") << QByteArray("a.*") << QByteArray("*.b") << false;
}

void tst_Token::grants() {
    QFETCH(QByteArray, pattern);
    QFETCH(QByteArray, channel);
    QFETCH(bool, allowed);
    Claims c;
    const Error e = Token::verify(Token::sign(QStringLiteral("u"), {pattern}, {pattern}, 0, Secret),
                                  Secret, Now, &c);
    QVERIFY(!e);
    QCOMPARE(c.maySubscribe(channel), allowed);
    QCOMPARE(c.mayPublish(channel), allowed);
}

void tst_Token::separateGrants() {
    Claims c;
    const QByteArray token = Token::sign(QStringLiteral("reader"), {"news.>"}, {"chat"}, 0, Secret);
    QVERIFY(!Token::verify(token, Secret, Now, &c));
    QVERIFY(c.maySubscribe("news.eu"));
    QVERIFY(!c.mayPublish("news.eu"));
    QVERIFY(c.mayPublish("chat"));
    QVERIFY(!c.maySubscribe("chat"));
    // `channels` adds to both lists.
    QVERIFY(
        !Token::verify(Token::signRaw(R"({"alg":"HS256"})",
                                      R"({"sub":"m","channels":["x"],"publish":["y"]})", Secret),
                       Secret, Now, &c));
    QVERIFY(c.maySubscribe("x") && c.mayPublish("x") && c.mayPublish("y"));
    QVERIFY(!c.maySubscribe("y"));
}

void tst_Token::constantTimeEquals_data() {
    QTest::addColumn<QByteArray>("a");
    QTest::addColumn<QByteArray>("b");
    QTest::addColumn<bool>("equal");
    QTest::newRow("same") << QByteArray("secret") << QByteArray("secret") << true;
    QTest::newRow("empty") << QByteArray() << QByteArray("") << true;
    QTest::newRow("first byte") << QByteArray("secret") << QByteArray("Secret") << false;
    QTest::newRow("last byte") << QByteArray("secret") << QByteArray("secreT") << false;
    QTest::newRow("prefix") << QByteArray("secret") << QByteArray("secre") << false;
    QTest::newRow("embedded nul") << QByteArray("a\0b", 3) << QByteArray("a\0c", 3) << false;
}

void tst_Token::constantTimeEquals() {
    QFETCH(QByteArray, a);
    QFETCH(QByteArray, b);
    QFETCH(bool, equal);
    QCOMPARE(lhttp::constantTimeEquals(a, b), equal);
}

QTEST_GUILESS_MAIN(tst_Token)
#include "tst_token.moc"

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "message.h"

#include <QTest>

using namespace lhttp;

class tst_Message : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parseValid_data();
    void parseValid();
    void parseInvalid_data();
    void parseInvalid();
    void duplicateHeaderLastWins();
    void unmodifiedRoundTripIsSameBuffer();
    void editsSerialise();
    void removeHeader();
    void builtMessage();
    void errorReply();
    void limits_data();
    void limits();
    void splitTokens_data();
    void splitTokens();
    void resetReusesOneMessage();
};

// headers are written "name=value;name=value" in the tables for brevity
static QByteArray flatten(const Message &m) {
    QByteArrayList out;
    for (const auto &h : m.headers())
        out.append(h.name.toByteArray() + '=' + h.value.toByteArray());
    return out.join(';');
}

void tst_Message::parseValid_data() {
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<QByteArray>("command");
    QTest::addColumn<QByteArray>("headers");
    QTest::addColumn<QByteArray>("body");

    QTest::newRow("readme chat")
        << QByteArray(
               "LHTTP/1.0 chat\r\ncontent-type:json\r\npublish:channel_jack\r\n\r\n{to:jack}")
        << QByteArray("chat") << QByteArray("content-type=json;publish=channel_jack")
        << QByteArray("{to:jack}");
    QTest::newRow("start line only")
        << QByteArray("LHTTP/1.0 chat\r\n") << QByteArray("chat") << QByteArray() << QByteArray();
    QTest::newRow("blank line, no body") << QByteArray("LHTTP/1.0 chat\r\n\r\n")
                                         << QByteArray("chat") << QByteArray() << QByteArray();
    QTest::newRow("headers, no blank line")
        << QByteArray("LHTTP/1.0 chat\r\nk:v\r\n") << QByteArray("chat") << QByteArray("k=v")
        << QByteArray();
    QTest::newRow("body without headers") << QByteArray("LHTTP/1.0 c\r\n\r\nhello")
                                          << QByteArray("c") << QByteArray() << QByteArray("hello");
    QTest::newRow("spaces around value trimmed")
        << QByteArray("LHTTP/1.0 c\r\nk: \tv w \r\n\r\n") << QByteArray("c") << QByteArray("k=v w")
        << QByteArray();
    QTest::newRow("value with colons")
        << QByteArray("LHTTP/1.0 c\r\nupstream:POST http://h:1/x\r\n\r\n") << QByteArray("c")
        << QByteArray("upstream=POST http://h:1/x") << QByteArray();
    QTest::newRow("empty value") << QByteArray("LHTTP/1.0 c\r\nk:\r\n\r\n") << QByteArray("c")
                                 << QByteArray("k=") << QByteArray();
    QTest::newRow("body keeps blank lines")
        << QByteArray("LHTTP/1.0 c\r\nk:v\r\n\r\na\r\n\r\nb\r\n") << QByteArray("c")
        << QByteArray("k=v") << QByteArray("a\r\n\r\nb\r\n");
    QTest::newRow("body looks like headers")
        << QByteArray("LHTTP/1.0 c\r\n\r\nx:y\r\n\r\n") << QByteArray("c") << QByteArray()
        << QByteArray("x:y\r\n\r\n");
    QTest::newRow("binary body") << QByteArray("LHTTP/1.0 c\r\n\r\n\x00\x01\xff", 18)
                                 << QByteArray("c") << QByteArray()
                                 << QByteArray("\x00\x01\xff", 3);
    QTest::newRow("order kept") << QByteArray("LHTTP/1.0 c\r\nz:1\r\na:2\r\nm:3\r\n\r\n")
                                << QByteArray("c") << QByteArray("z=1;a=2;m=3") << QByteArray();
    QTest::newRow("case kept") << QByteArray("LHTTP/1.0 Chat\r\nPublish:x\r\n\r\n")
                               << QByteArray("Chat") << QByteArray("Publish=x") << QByteArray();
    QTest::newRow("more headers than kept inline")
        << QByteArray("LHTTP/1.0 c\r\na:1\r\nb:2\r\nc:3\r\nd:4\r\ne:5\r\nf:6\r\n\r\nx")
        << QByteArray("c") << QByteArray("a=1;b=2;c=3;d=4;e=5;f=6") << QByteArray("x");
    QTest::newRow("CRs without LF in body")
        << QByteArray("LHTTP/1.0 c\r\nk:v\r\n\r\n\r\r\rx\r") << QByteArray("c") << QByteArray("k=v")
        << QByteArray("\r\r\rx\r");
    QTest::newRow("utf-8 value") << QByteArray("LHTTP/1.0 c\r\nnick:\xe5\xbc\xa0\r\n\r\n")
                                 << QByteArray("c") << QByteArray("nick=\xe5\xbc\xa0")
                                 << QByteArray();
}

void tst_Message::parseValid() {
    QFETCH(QByteArray, raw);
    QFETCH(QByteArray, command);
    QFETCH(QByteArray, headers);
    QFETCH(QByteArray, body);
    Error e;
    const Message m = Message::parse(raw, Limits{}, &e);
    QVERIFY2(!e, e.reason.constData());
    QVERIFY(m.isValid());
    QCOMPARE(m.command().toByteArray(), command);
    QCOMPARE(flatten(m), headers);
    QCOMPARE(m.body().toByteArray(), body);
    QCOMPARE(m.toBytes(), raw);
}

void tst_Message::parseInvalid_data() {
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<int>("code");
    QTest::addColumn<QByteArray>("reasonContains");

    QTest::newRow("empty") << QByteArray() << 400 << QByteArray("not an LHTTP/1.0 message");
    QTest::newRow("hello") << QByteArray("hello") << 400 << QByteArray("not an LHTTP/1.0 message");
    QTest::newRow("lower-case protocol")
        << QByteArray("lhttp/1.0 chat\r\n\r\n") << 400 << QByteArray("not an LHTTP");
    QTest::newRow("LHTTP/1.1") << QByteArray("LHTTP/1.1 chat\r\n\r\n") << 400
                               << QByteArray("not an LHTTP");
    QTest::newRow("no space") << QByteArray("LHTTP/1.0chat\r\n\r\n") << 400
                              << QByteArray("not an LHTTP");
    QTest::newRow("no CRLF after start line")
        << QByteArray("LHTTP/1.0 chat") << 400 << QByteArray("start line not terminated");
    QTest::newRow("bare LF everywhere")
        << QByteArray("LHTTP/1.0 chat\nk:v\n\nx") << 400 << QByteArray("start line not terminated");
    QTest::newRow("bare LF in headers")
        << QByteArray("LHTTP/1.0 chat\r\nk:v\n\nx") << 400 << QByteArray("not terminated by CRLF");
    QTest::newRow("last header without CRLF")
        << QByteArray("LHTTP/1.0 chat\r\nk:v") << 400 << QByteArray("not terminated by CRLF");
    QTest::newRow("empty command")
        << QByteArray("LHTTP/1.0 \r\n\r\n") << 400 << QByteArray("empty command");
    QTest::newRow("two spaces") << QByteArray("LHTTP/1.0  chat\r\n\r\n") << 400
                                << QByteArray("invalid character in command");
    QTest::newRow("command with space")
        << QByteArray("LHTTP/1.0 a b\r\n\r\n") << 400 << QByteArray("invalid character in command");
    QTest::newRow("header without colon")
        << QByteArray("LHTTP/1.0 c\r\nnocolon\r\n\r\n") << 400 << QByteArray("without ':'");
    QTest::newRow("empty header name")
        << QByteArray("LHTTP/1.0 c\r\n:v\r\n\r\n") << 400 << QByteArray("empty header name");
    QTest::newRow("space in header name")
        << QByteArray("LHTTP/1.0 c\r\nk k:v\r\n\r\n") << 400 << QByteArray("header name");
    QTest::newRow("lone CR in command") << QByteArray("LHTTP/1.0 a\rb\r\n\r\n") << 400
                                        << QByteArray("invalid character in command");
    QTest::newRow("CR as the last byte")
        << QByteArray("LHTTP/1.0 c\r\nk:v\r") << 400 << QByteArray("not terminated by CRLF");
    QTest::newRow("CR CR LF") << QByteArray("LHTTP/1.0 c\r\nk:v\r\r\n\r\n") << 400
                              << QByteArray("control character");
    QTest::newRow("lone CR in value")
        << QByteArray("LHTTP/1.0 c\r\nk:a\rb\r\n\r\n") << 400 << QByteArray("control character");
}

void tst_Message::parseInvalid() {
    QFETCH(QByteArray, raw);
    QFETCH(int, code);
    QFETCH(QByteArray, reasonContains);
    Error e;
    const Message m = Message::parse(raw, Limits{}, &e);
    QVERIFY(!m.isValid());
    QCOMPARE(e.code, code);
    QVERIFY2(e.reason.contains(reasonContains), e.reason.constData());
}

void tst_Message::duplicateHeaderLastWins() {
    Error e;
    const Message m = Message::parse("LHTTP/1.0 c\r\nk:1\r\nk:2\r\n\r\n", Limits{}, &e);
    QCOMPARE(m.header("k").toByteArray(), QByteArray("2"));
    QCOMPARE(m.headers().size(), 2);
    QVERIFY(m.header("K").isNull()); // names are case-sensitive
    QVERIFY(m.header("missing").isNull());
    QVERIFY(!m.header("k").isNull());
}

void tst_Message::unmodifiedRoundTripIsSameBuffer() {
    const QByteArray raw("LHTTP/1.0 chat\r\npublish:room\r\n\r\nhello");
    Error e;
    const Message m = Message::parse(raw, Limits{}, &e);
    QVERIFY(!m.isModified());
    // No copy and no serialisation: the very same buffer goes back out.
    QCOMPARE(m.toBytes().constData(), raw.constData());
    QCOMPARE(m.body().data(), raw.constData() + raw.size() - 5);
}

void tst_Message::editsSerialise() {
    Error e;
    Message m = Message::parse("LHTTP/1.0 chat\r\na:1\r\nb:2\r\n\r\nbody", Limits{}, &e);
    m.setCommand("news");
    m.setHeader("a", "changed");
    m.addHeader("c", "3");
    QVERIFY(m.isModified());
    QCOMPARE(m.toBytes(), QByteArray("LHTTP/1.0 news\r\na:changed\r\nb:2\r\nc:3\r\n\r\nbody"));
    const Message copy = m; // views stay valid in copies
    m.setBody("other");
    QCOMPARE(copy.toBytes(), QByteArray("LHTTP/1.0 news\r\na:changed\r\nb:2\r\nc:3\r\n\r\nbody"));
    QCOMPARE(m.toBytes(), QByteArray("LHTTP/1.0 news\r\na:changed\r\nb:2\r\nc:3\r\n\r\nother"));
    // A serialised message parses back to the same thing.
    const Message again = Message::parse(m.toBytes(), Limits{}, &e);
    QVERIFY(!e);
    QCOMPARE(again.toBytes(), m.toBytes());
}

void tst_Message::removeHeader() {
    Error e;
    Message m = Message::parse("LHTTP/1.0 c\r\nx:1\r\ny:2\r\nx:3\r\n\r\n", Limits{}, &e);
    QCOMPARE(m.removeHeader("x"), 2);
    QCOMPARE(m.removeHeader("x"), 0);
    QCOMPARE(m.toBytes(), QByteArray("LHTTP/1.0 c\r\ny:2\r\n\r\n"));
}

void tst_Message::builtMessage() {
    Message m("chat", "hi");
    m.addHeader("publish", "room");
    QCOMPARE(m.toBytes(), QByteArray("LHTTP/1.0 chat\r\npublish:room\r\n\r\nhi"));
    Message empty("ping");
    QCOMPARE(empty.toBytes(), QByteArray("LHTTP/1.0 ping\r\n\r\n"));
}

void tst_Message::errorReply() {
    QCOMPARE(Message::errorReply(Error::make(400, "bad\r\nthing")),
             QByteArray("LHTTP/1.0 error\r\ncode:400\r\nreason:bad  thing\r\n\r\n"));
    Error e;
    const Message m =
        Message::parse(Message::errorReply(Error::make(413, "too big")), Limits{}, &e);
    QCOMPARE(m.command().toByteArray(), QByteArray("error"));
    QCOMPARE(m.header("code").toByteArray(), QByteArray("413"));
}

void tst_Message::limits_data() {
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<int>("code");
    Limits l;
    QTest::newRow("at message limit")
        << ("LHTTP/1.0 c\r\n\r\n" + QByteArray(l.maxMessageSize - 15, 'x')) << 0;
    QTest::newRow("one over message limit")
        << ("LHTTP/1.0 c\r\n\r\n" + QByteArray(l.maxMessageSize - 14, 'x')) << 413;
    QTest::newRow("70 KiB") << ("LHTTP/1.0 c\r\n\r\n" + QByteArray(70 * 1024, 'x')) << 413;
    QByteArray many("LHTTP/1.0 c\r\n");
    for (int i = 0; i < l.maxHeaders; ++i)
        many += "h" + QByteArray::number(i) + ":v\r\n";
    QTest::newRow("64 headers") << many + "\r\n" << 0;
    QTest::newRow("65 headers") << many + "x:y\r\n\r\n" << 400;
    QTest::newRow("long header line")
        << ("LHTTP/1.0 c\r\nk:" + QByteArray(l.maxHeaderLineLength, 'v') + "\r\n\r\n") << 413;
    QTest::newRow("header line at limit")
        << ("LHTTP/1.0 c\r\nk:" + QByteArray(l.maxHeaderLineLength - 2, 'v') + "\r\n\r\n") << 0;
}

void tst_Message::limits() {
    QFETCH(QByteArray, raw);
    QFETCH(int, code);
    Error e;
    Message::parse(raw, Limits{}, &e);
    QCOMPARE(e.code, code);
}

void tst_Message::splitTokens_data() {
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<QByteArrayList>("tokens");
    QTest::newRow("one") << QByteArray("a") << QByteArrayList{"a"};
    QTest::newRow("three") << QByteArray("a b c") << QByteArrayList{"a", "b", "c"};
    QTest::newRow("double and trailing space") << QByteArray("a  b ") << QByteArrayList{"a", "b"};
    QTest::newRow("tabs") << QByteArray("\ta\t b") << QByteArrayList{"a", "b"};
    QTest::newRow("empty") << QByteArray("") << QByteArrayList{};
    QTest::newRow("blank") << QByteArray("   ") << QByteArrayList{};
}

void tst_Message::splitTokens() {
    QFETCH(QByteArray, value);
    QFETCH(QByteArrayList, tokens);
    QByteArrayList got;
    for (QByteArrayView t : lhttp::splitTokens(value))
        got.append(t.toByteArray());
    QCOMPARE(got, tokens);
}

void tst_Message::resetReusesOneMessage() {
    // A session parses every message into one Message (Message::reset): nothing of the
    // previous message may survive, a failure leaves it invalid, and it recovers.
    Message m;
    const QByteArray big("LHTTP/1.0 big\r\na:1\r\nb:2\r\nc:3\r\nd:4\r\ne:5\r\n\r\nbody");
    QVERIFY(!m.reset(big, Limits{}));
    QCOMPARE(m.headers().size(), 5);
    QCOMPARE(m.header("e").toByteArray(), QByteArray("5"));
    m.setHeader("a", "edited");
    QVERIFY(m.isModified());

    const QByteArray small("LHTTP/1.0 small\r\npublish:x\r\n\r\nhi");
    QVERIFY(!m.reset(small, Limits{}));
    QVERIFY(!m.isModified());
    QCOMPARE(m.command().toByteArray(), QByteArray("small"));
    QCOMPARE(flatten(m), QByteArray("publish=x"));
    QVERIFY(m.header("e").isNull());
    QCOMPARE(m.body().toByteArray(), QByteArray("hi"));
    QCOMPARE(m.toBytes().constData(), small.constData());

    const Error e = m.reset("LHTTP/1.0 c\r\nnocolon\r\n\r\n", Limits{});
    QCOMPARE(e.code, 400);
    QVERIFY(!m.isValid());
    QVERIFY(m.headers().isEmpty());
    QVERIFY(m.body().isNull());

    QVERIFY(!m.reset(big, Limits{}));
    QCOMPARE(m.command().toByteArray(), QByteArray("big"));
    QCOMPARE(m.header("a").toByteArray(), QByteArray("1"));
    // Parsing bytes that share its own buffer is safe.
    const QByteArray own = m.toBytes();
    QVERIFY(!m.reset(own, Limits{}));
    QCOMPARE(m.headers().size(), 5);

    m.clear();
    QVERIFY(!m.isValid());
    QVERIFY(m.headers().isEmpty());
}

QTEST_APPLESS_MAIN(tst_Message)
#include "tst_message.moc"

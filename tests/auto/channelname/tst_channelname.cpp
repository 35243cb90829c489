// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "channelname.h"

#include <QTest>

using namespace lhttp;
using Use = ChannelName::Use;

class tst_ChannelName : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void validate_data();
    void validate();
    void matches_data();
    void matches();
};

void tst_ChannelName::validate_data() {
    QTest::addColumn<QByteArray>("channel");
    QTest::addColumn<bool>("publish");
    QTest::addColumn<bool>("allowWildcards");
    QTest::addColumn<int>("code");

    QTest::newRow("plain") << QByteArray("room") << false << false << 0;
    QTest::newRow("dotted") << QByteArray("chat.room.1") << false << false << 0;
    QTest::newRow("underscore dash") << QByteArray("channel_jack-2") << true << false << 0;
    QTest::newRow("utf-8") << QByteArray("\xe8\x81\x8a\xe5\xa4\xa9") << true << false << 0;
    QTest::newRow("empty") << QByteArray("") << false << false << 400;
    QTest::newRow("leading dot") << QByteArray(".a") << false << false << 400;
    QTest::newRow("trailing dot") << QByteArray("a.") << false << false << 400;
    QTest::newRow("double dot") << QByteArray("a..b") << false << false << 400;
    QTest::newRow("space") << QByteArray("a b") << false << false << 400;
    QTest::newRow("tab") << QByteArray("a\tb") << false << false << 400;
    QTest::newRow("newline") << QByteArray("a\nb") << false << false << 400;
    QTest::newRow("NUL") << QByteArray("a\0b", 3) << false << false << 400;
    QTest::newRow("too long") << QByteArray(256, 'a') << false << false << 400;
    QTest::newRow("max length") << QByteArray(255, 'a') << false << false << 0;
    QTest::newRow("> refused") << QByteArray(">") << false << false << 403;
    QTest::newRow("* refused") << QByteArray("a.*") << false << false << 403;
    QTest::newRow("> allowed") << QByteArray(">") << false << true << 0;
    QTest::newRow("a.*.c allowed") << QByteArray("a.*.c") << false << true << 0;
    QTest::newRow("> not last") << QByteArray("a.>.c") << false << true << 400;
    QTest::newRow("partial *") << QByteArray("a*") << false << true << 400;
    QTest::newRow("partial >") << QByteArray("a.b>") << false << true << 400;
    QTest::newRow("publish to wildcard") << QByteArray("a.*") << true << true << 400;
    QTest::newRow("publish to >") << QByteArray(">") << true << false << 400;
}

void tst_ChannelName::validate() {
    QFETCH(QByteArray, channel);
    QFETCH(bool, publish);
    QFETCH(bool, allowWildcards);
    QFETCH(int, code);
    const Error e = ChannelName::validate(channel, publish ? Use::Publish : Use::Subscribe,
                                          allowWildcards, 255);
    QCOMPARE(e.code, code);
    if (code)
        QVERIFY(!e.reason.isEmpty());
}

void tst_ChannelName::matches_data() {
    QTest::addColumn<QByteArray>("pattern");
    QTest::addColumn<QByteArray>("subject");
    QTest::addColumn<bool>("match");
    QTest::newRow("exact") << QByteArray("a.b") << QByteArray("a.b") << true;
    QTest::newRow("different") << QByteArray("a.b") << QByteArray("a.c") << false;
    QTest::newRow("* one token") << QByteArray("a.*") << QByteArray("a.b") << true;
    QTest::newRow("* not two") << QByteArray("a.*") << QByteArray("a.b.c") << false;
    QTest::newRow("* not zero") << QByteArray("a.*") << QByteArray("a") << false;
    QTest::newRow("* middle") << QByteArray("a.*.c") << QByteArray("a.x.c") << true;
    QTest::newRow("> rest") << QByteArray("a.>") << QByteArray("a.b.c") << true;
    QTest::newRow("> needs one") << QByteArray("a.>") << QByteArray("a") << false;
    QTest::newRow("> all") << QByteArray(">") << QByteArray("room") << true;
    QTest::newRow("longer pattern") << QByteArray("a.b.c") << QByteArray("a.b") << false;
    QTest::newRow("prefix is not match") << QByteArray("ab") << QByteArray("abc") << false;
    // Subjects with wildcards: the pattern must cover every channel they name.
    QTest::newRow("* covers *") << QByteArray("a.*") << QByteArray("a.*") << true;
    QTest::newRow("* not >") << QByteArray("a.*") << QByteArray("a.>") << false;
    QTest::newRow("> covers *") << QByteArray("a.>") << QByteArray("a.*.c") << true;
    QTest::newRow("> covers >") << QByteArray("a.>") << QByteArray("a.>") << true;
    QTest::newRow("literal not *") << QByteArray("a.b") << QByteArray("a.*") << false;
}

void tst_ChannelName::matches() {
    QFETCH(QByteArray, pattern);
    QFETCH(QByteArray, subject);
    QFETCH(bool, match);
    QCOMPARE(ChannelName::matches(pattern, subject), match);
}

QTEST_APPLESS_MAIN(tst_ChannelName)
#include "tst_channelname.moc"

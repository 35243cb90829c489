// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "multipart.h"

#include <QTest>

using namespace lhttp;

class tst_Multipart : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void valid_data();
    void valid();
    void invalid_data();
    void invalid();
    void readmeUploadExample();
};

// parts written as "k=v,k2=v2|body" joined by " ; "
static QByteArray flatten(const QList<Part> &parts) {
    QByteArrayList out;
    for (const Part &p : parts) {
        QByteArrayList hs;
        for (const auto &h : p.headers)
            hs.append(h.name.toByteArray() + '=' + h.value.toByteArray());
        out.append(hs.join(',') + '|' + p.body.toByteArray());
    }
    return out.join(" ; ");
}

void tst_Multipart::valid_data() {
    QTest::addColumn<QByteArray>("offsets");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArray>("parts");
    QTest::newRow("protocol example")
        << QByteArray("0 14") << QByteArray("k1:v1\r\n\r\nbody1k2:v2\r\n\r\nbody2")
        << QByteArray("k1=v1|body1 ; k2=v2|body2");
    QTest::newRow("single part") << QByteArray("0") << QByteArray("a:b\r\n\r\nx")
                                 << QByteArray("a=b|x");
    QTest::newRow("bytes before first offset skipped")
        << QByteArray("3") << QByteArray("xyzk:v\r\n\r\nb") << QByteArray("k=v|b");
    QTest::newRow("part without headers")
        << QByteArray("0") << QByteArray("\r\nonly body") << QByteArray("|only body");
    QTest::newRow("empty part body")
        << QByteArray("0 7") << QByteArray("a:1\r\n\r\nb:2\r\n\r\n") << QByteArray("a=1| ; b=2|");
    QTest::newRow("extra spaces in offsets")
        << QByteArray(" 0   14 ") << QByteArray("k1:v1\r\n\r\nbody1k2:v2\r\n\r\nbody2")
        << QByteArray("k1=v1|body1 ; k2=v2|body2");
    QTest::newRow("part body with blank line")
        << QByteArray("0") << QByteArray("a:1\r\n\r\nx\r\n\r\ny") << QByteArray("a=1|x\r\n\r\ny");
}

void tst_Multipart::valid() {
    QFETCH(QByteArray, offsets);
    QFETCH(QByteArray, body);
    QFETCH(QByteArray, parts);
    Error e;
    const QList<Part> got = Multipart::parse(offsets, body, Limits{}, &e);
    QVERIFY2(!e, e.reason.constData());
    QCOMPARE(flatten(got), parts);
}

void tst_Multipart::invalid_data() {
    QTest::addColumn<QByteArray>("offsets");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArray>("reasonContains");
    const QByteArray body("k1:v1\r\n\r\nbody1k2:v2\r\n\r\nbody2");
    QTest::newRow("no offsets") << QByteArray("  ") << body << QByteArray("no offsets");
    QTest::newRow("not a number") << QByteArray("0 x") << body << QByteArray("not a decimal");
    QTest::newRow("negative") << QByteArray("-1") << body << QByteArray("not a decimal");
    QTest::newRow("beyond body") << QByteArray("0 999") << body << QByteArray("beyond the body");
    QTest::newRow("huge") << QByteArray("0 99999999999999999999999") << body
                          << QByteArray("beyond the body");
    QTest::newRow("decreasing") << QByteArray("14 0") << body << QByteArray("ascending");
    QTest::newRow("repeated") << QByteArray("0 0") << body << QByteArray("ascending");
    QTest::newRow("no blank line")
        << QByteArray("0") << QByteArray("k:v\r\nbody") << QByteArray("no blank line");
    QTest::newRow("bad part header")
        << QByteArray("0") << QByteArray("novalue\r\n\r\nb") << QByteArray("part 0");
    QByteArray many;
    for (int i = 0; i <= Multipart::MaxParts; ++i)
        many += QByteArray::number(i) + ' ';
    QTest::newRow("too many parts") << many << QByteArray(1000, 'x') << QByteArray("more than");
}

void tst_Multipart::invalid() {
    QFETCH(QByteArray, offsets);
    QFETCH(QByteArray, body);
    QFETCH(QByteArray, reasonContains);
    Error e;
    const QList<Part> got = Multipart::parse(offsets, body, Limits{}, &e);
    QVERIFY(got.isEmpty());
    QCOMPARE(e.code, 400);
    QVERIFY2(e.reason.contains(reasonContains), e.reason.constData());
}

void tst_Multipart::readmeUploadExample() {
    // The seed README's upload message, with the first part's real length (55, not 56).
    const QByteArray first("content-type:text/json\r\n\r\n{filename:file.txt,fileLen:5}");
    const QByteArray second("content-type:text/plain\r\n\r\nhello");
    QCOMPARE(first.size(), 55);
    const QByteArray raw = "LHTTP/1.0 upload\r\nmultipart:0 " + QByteArray::number(first.size()) +
                           "\r\n\r\n" + first + second;
    Error e;
    const Message m = Message::parse(raw, Limits{}, &e);
    QVERIFY(!e);
    const QList<Part> parts = Multipart::parse(m.header("multipart"), m.body(), Limits{}, &e);
    QVERIFY(!e);
    QCOMPARE(parts.size(), 2);
    QCOMPARE(parts[0].header("content-type").toByteArray(), QByteArray("text/json"));
    QCOMPARE(parts[0].body.toByteArray(), QByteArray("{filename:file.txt,fileLen:5}"));
    QCOMPARE(parts[1].header("content-type").toByteArray(), QByteArray("text/plain"));
    QCOMPARE(parts[1].body.toByteArray(), QByteArray("hello"));

    // The README's own offset (56) is one byte late: still well-formed, but the second
    // part's header name loses its first letter. Offsets are taken as given.
    const QList<Part> late = Multipart::parse("0 56", m.body(), Limits{}, &e);
    QVERIFY(!e);
    QVERIFY(!late[1].header("ontent-type").isNull());
}

QTEST_APPLESS_MAIN(tst_Multipart)
#include "tst_multipart.moc"

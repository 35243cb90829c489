// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// Frame (lib/protocol/frame.h) on its own: the wire bytes a server writes for every receiver
// (RFC 6455 §5.2 header: FIN, opcode, no mask, the shortest length form), the text/binary
// decision (§5.6: a text frame must carry UTF-8), and that the bytes are made once and shared.

#include "frame.h"

#include <QTest>

#include <initializer_list>

using namespace lhttp;

namespace {

// The payload length the header announces, read as a strict peer would; -1 when the header is
// incomplete or the length form is not the shortest (RFC 6455 §5.2: "the minimal number of
// bytes MUST be used").
struct Header {
    bool fin = false;
    int rsv = 0;
    int opcode = -1;
    bool masked = false;
    qint64 length = -1;
    int headerSize = 0;
};

Header readHeader(const QByteArray &wire) {
    Header h;
    if (wire.size() < 2)
        return h;
    const quint8 b0 = quint8(wire[0]);
    const quint8 b1 = quint8(wire[1]);
    h.fin = b0 & 0x80;
    h.rsv = (b0 >> 4) & 0x7;
    h.opcode = b0 & 0x0f;
    h.masked = b1 & 0x80;
    const int len7 = b1 & 0x7f;
    if (len7 < 126) {
        h.length = len7;
        h.headerSize = 2;
    } else if (len7 == 126 && wire.size() >= 4) {
        h.length = (quint8(wire[2]) << 8) | quint8(wire[3]);
        h.headerSize = 4;
        if (h.length < 126)
            h.length = -1;
    } else if (len7 == 127 && wire.size() >= 10) {
        quint64 n = 0;
        for (int i = 2; i < 10; ++i)
            n = (n << 8) | quint8(wire[i]);
        h.headerSize = 10;
        // The most significant bit must be 0, and the 64-bit form only above 65535.
        h.length = (n >> 63) || n <= 0xffff ? -1 : qint64(n);
    }
    return h;
}

QByteArray bytesOf(std::initializer_list<int> values) {
    QByteArray b;
    for (int v : values)
        b.append(char(v));
    return b;
}

QByteArray payloadOf(qsizetype size, char fill) {
    QByteArray b(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        b[i] = char(fill + i % 23);
    return b;
}

} // namespace

class tst_Frame : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void lengthForms_data();
    void lengthForms();
    void textOrBinary_data();
    void textOrBinary();
    void knownTextSkipsTheCheck();
    void textForm();
    void wireMadeOnceAndShared();
    void copiesBeforeFirstUseAgree();
};

void tst_Frame::lengthForms_data() {
    QTest::addColumn<int>("size");
    QTest::addColumn<bool>("binary");
    QTest::addColumn<QByteArray>("header"); // the exact header bytes expected
    auto row = [](int size, bool binary, QByteArray header) {
        QTest::addRow("%d %s", size, binary ? "binary" : "text") << size << binary << header;
    };
    for (bool binary : {false, true}) {
        const int op = binary ? 0x82 : 0x81;
        if (!binary) // an empty payload is valid UTF-8: always a text frame
            row(0, binary, bytesOf({op, 0}));
        row(1, binary, bytesOf({op, 1}));
        row(125, binary, bytesOf({op, 125}));
        row(126, binary, bytesOf({op, 126, 0, 126}));
        row(127, binary, bytesOf({op, 126, 0, 127}));
        row(256, binary, bytesOf({op, 126, 1, 0}));
        row(65535, binary, bytesOf({op, 126, 0xff, 0xff}));
        row(65536, binary, bytesOf({op, 127, 0, 0, 0, 0, 0, 1, 0, 0}));
        row(65537, binary, bytesOf({op, 127, 0, 0, 0, 0, 0, 1, 0, 1}));
        row(1 << 24, binary, bytesOf({op, 127, 0, 0, 0, 0, 1, 0, 0, 0}));
    }
}

void tst_Frame::lengthForms() {
    QFETCH(int, size);
    QFETCH(bool, binary);
    QFETCH(QByteArray, header);
    QByteArray payload = payloadOf(size, 'a');
    if (binary)
        payload[size / 2] = char(0xff); // never valid in UTF-8
    const Frame frame(payload);
    const QByteArray &wire = frame.wire();

    QCOMPARE(wire.size(), header.size() + size);
    QCOMPARE(wire.first(header.size()).toHex(' '), header.toHex(' '));
    QCOMPARE(wire.sliced(header.size()), payload);
    // The same bytes as a strict peer reads them.
    const Header h = readHeader(wire);
    QVERIFY(h.fin);
    QCOMPARE(h.rsv, 0); // no extension negotiated
    QCOMPARE(h.opcode, binary ? 0x2 : 0x1);
    QVERIFY(!h.masked); // a server never masks (§5.1)
    QCOMPARE(h.length, qint64(size));
    QCOMPARE(h.headerSize, header.size());
    QCOMPARE(frame.size(), qsizetype(size));
    QCOMPARE(frame.bytes(), payload);
}

void tst_Frame::textOrBinary_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<bool>("text");
    QTest::newRow("empty") << QByteArray() << true;
    QTest::newRow("ascii message") << QByteArray("LHTTP/1.0 chat\r\npublish:a\r\n\r\nhi") << true;
    QTest::newRow("NUL is UTF-8") << QByteArray("a\0b", 3) << true;
    QTest::newRow("2-byte é") << QByteArray("caf\xc3\xa9") << true;
    QTest::newRow("3-byte €") << QByteArray("\xe2\x82\xac") << true;
    QTest::newRow("4-byte emoji") << QByteArray("\xf0\x9f\x98\x80") << true;
    QTest::newRow("U+10FFFF, the last code point") << QByteArray("\xf4\x8f\xbf\xbf") << true;
    QTest::newRow("noncharacter U+FFFE is UTF-8") << QByteArray("\xef\xbf\xbe") << true;
    QTest::newRow("0xff") << QByteArray("ab\xff") << false;
    QTest::newRow("lone continuation byte") << QByteArray("a\x80") << false;
    QTest::newRow("truncated 2-byte at the end") << QByteArray("caf\xc3") << false;
    QTest::newRow("truncated 3-byte in the middle") << QByteArray("\xe2\x82z") << false;
    QTest::newRow("overlong /") << QByteArray("\xc0\xaf") << false;
    QTest::newRow("overlong NUL, 3 bytes") << QByteArray("\xe0\x80\x80") << false;
    QTest::newRow("UTF-16 surrogate D800") << QByteArray("\xed\xa0\x80") << false;
    QTest::newRow("above U+10FFFF") << QByteArray("\xf4\x90\x80\x80") << false;
    QTest::newRow("5-byte form") << QByteArray("\xf8\x88\x80\x80\x80") << false;
    QTest::newRow("Latin-1 é") << QByteArray("caf\xe9") << false;
}

void tst_Frame::textOrBinary() {
    QFETCH(QByteArray, bytes);
    QFETCH(bool, text);
    const Frame frame(bytes);
    QCOMPARE(frame.isText(), text);
    QCOMPARE(frame.isText(), text); // asked again: the answer is kept
    QCOMPARE(quint8(frame.wire().at(0)), quint8(text ? 0x81 : 0x82));
}

void tst_Frame::knownTextSkipsTheCheck() {
    // knownText is the caller's promise (the bytes came in as a text frame, which QWebSocket
    // has already validated): the frame takes it without looking, so even bytes that are not
    // UTF-8 go as text. The visible proof that the check is skipped.
    const QByteArray notUtf8("ab\xff");
    QVERIFY(!Frame(notUtf8).isText());
    const Frame trusted(notUtf8, true);
    QVERIFY(trusted.isText());
    QCOMPARE(quint8(trusted.wire().at(0)), quint8(0x81));
    // And without the promise, valid UTF-8 still goes as text.
    QVERIFY(Frame(QByteArray("plain"), false).isText());
}

void tst_Frame::textForm() {
    const QByteArray bytes("LHTTP/1.0 c\r\n\r\ncaf\xc3\xa9 \xf0\x9f\x98\x80");
    const Frame frame(bytes);
    QVERIFY(frame.isText());
    QCOMPARE(frame.text(), QString::fromUtf8(bytes));
    QCOMPARE(frame.text().toUtf8(), bytes);
}

void tst_Frame::wireMadeOnceAndShared() {
    const QByteArray payload = payloadOf(70'000, 'k');
    const Frame frame(payload);
    // The payload is kept as given (implicitly shared, not copied).
    QCOMPARE(frame.bytes().constData(), payload.constData());

    const QByteArray &first = frame.wire();
    const char *data = first.constData();
    QCOMPARE(frame.wire().constData(), data); // repeated calls: no rebuild
    QCOMPARE(&frame.wire(), &first);

    // Copies made after first use share the same bytes: N receivers, one buffer.
    const Frame copy = frame;
    QCOMPARE(copy.wire().constData(), data);
    QList<Frame> receivers(50, frame);
    for (const Frame &f : receivers)
        QCOMPARE(f.wire().constData(), data);
    // What a socket's write() takes is a reference to those bytes, not a copy.
    const QByteArray written = receivers.last().wire();
    QCOMPARE(written.constData(), data);
    QVERIFY(!written.isDetached());
}

void tst_Frame::copiesBeforeFirstUseAgree() {
    // A copy taken before wire() was ever called builds its own bytes; they must be identical,
    // and each is then reused by that copy.
    const QByteArray payload = payloadOf(300, 'q');
    const Frame a(payload);
    const Frame b = a;
    const QByteArray &wa = a.wire();
    const QByteArray &wb = b.wire();
    QCOMPARE(wa, wb);
    QCOMPARE(a.wire().constData(), wa.constData());
    QCOMPARE(b.wire().constData(), wb.constData());
}

QTEST_APPLESS_MAIN(tst_Frame)
#include "tst_frame.moc"

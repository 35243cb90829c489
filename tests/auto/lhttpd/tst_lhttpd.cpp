// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// The lhttpd-qt executable itself: flags, config file, pub/sub, the echo example and a clean
// shutdown on SIGTERM.

#include "wsclient.h"

#include <QProcess>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

namespace {

quint16 freePort() {
    QTcpServer s;
    s.listen(QHostAddress::LocalHost, 0);
    return s.serverPort();
}

QString binary() {
    return qEnvironmentVariable("LHTTPD_BIN");
}

} // namespace

class tst_Lhttpd : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void versionAndHelp();
    void badArguments_data();
    void badArguments();
    void serveStopOnSigterm();
    void configFile();

private:
    bool start(QProcess &p, const QStringList &args, quint16 port);
};

void tst_Lhttpd::initTestCase() {
    QVERIFY2(QFileInfo(binary()).isExecutable(), "LHTTPD_BIN must point at lhttpd-qt");
}

bool tst_Lhttpd::start(QProcess &p, const QStringList &args, quint16 port) {
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(binary(), args);
    if (!p.waitForStarted())
        return false;
    // Ready when the port accepts connections.
    for (int i = 0; i < 200; ++i) {
        QTcpSocket probe;
        probe.connectToHost(QHostAddress::LocalHost, port);
        if (probe.waitForConnected(50))
            return true;
        if (p.state() != QProcess::Running)
            return false;
        QTest::qWait(25);
    }
    return false;
}

void tst_Lhttpd::versionAndHelp() {
    QProcess p;
    p.start(binary(), {QStringLiteral("--version")});
    QVERIFY(p.waitForFinished());
    QCOMPARE(p.exitCode(), 0);
    QVERIFY(p.readAllStandardOutput().contains(LHTTP_VERSION));
    p.start(binary(), {QStringLiteral("--help")});
    QVERIFY(p.waitForFinished());
    QCOMPARE(p.exitCode(), 0);
    const QByteArray help = p.readAllStandardOutput();
    for (const char *flag :
         {"--port", "--listen", "--path", "--config", "--log-level", "--max-message-size"})
        QVERIFY2(help.contains(flag), flag);
}

void tst_Lhttpd::badArguments_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("bad port") << QStringList{QStringLiteral("--port"), QStringLiteral("99999")}
                              << QByteArray("invalid value");
    QTest::newRow("bad level") << QStringList{QStringLiteral("--log-level"), QStringLiteral("loud")}
                               << QByteArray("invalid value");
    QTest::newRow("missing config")
        << QStringList{QStringLiteral("--config"), QStringLiteral("/nonexistent.ini")}
        << QByteArray("cannot read config");
    QTest::newRow("stray argument")
        << QStringList{QStringLiteral("extra")} << QByteArray("unexpected argument");
}

void tst_Lhttpd::badArguments() {
    QFETCH(QStringList, args);
    QFETCH(QByteArray, message);
    QProcess p;
    p.start(binary(), args);
    QVERIFY(p.waitForFinished());
    QCOMPARE(p.exitCode(), 2);
    QVERIFY2(p.readAllStandardError().contains(message), message.constData());
}

void tst_Lhttpd::serveStopOnSigterm() {
    const quint16 port = freePort();
    QProcess p;
    QVERIFY(start(p,
                  {QStringLiteral("--listen"), QStringLiteral("127.0.0.1"),
                   QStringLiteral("--port"), QString::number(port)},
                  port));
    const QUrl url(QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    WsClient a, b;
    QVERIFY(a.open(url));
    QVERIFY(b.open(url));
    a.send("LHTTP/1.0 chat\r\nsubscribe:room\r\n\r\n");
    QVERIFY(a.sync());
    b.send("LHTTP/1.0 chat\r\npublish:room\r\n\r\nhello");
    QVERIFY(a.waitForMessages(1));
    QCOMPARE(a.received.first(), QByteArray("LHTTP/1.0 chat\r\npublish:room\r\n\r\nhello"));
    // The echo example processor.
    b.send("LHTTP/1.0 echo\r\n\r\nhi");
    QVERIFY(b.waitForMessages(1));
    QCOMPARE(b.received.first(), QByteArray("LHTTP/1.0 echo\r\necho-count:1\r\n\r\nhi"));

    // The upload example with the seed README's message (first part is 55 bytes, not 56).
    const QByteArray first("content-type:text/json\r\n\r\n{filename:file.txt,fileLen:5}");
    b.send("LHTTP/1.0 upload\r\nmultipart:0 " + QByteArray::number(first.size()) + "\r\n\r\n" + first
           + "content-type:text/plain\r\n\r\nhello");
    QVERIFY(b.waitForMessages(2));
    QCOMPARE(b.received.at(1), QByteArray("LHTTP/1.0 upload\r\nparts:2\r\n\r\n"
                                          "0 29 content-type=text/json\n1 5 content-type=text/plain\n"));

    ::kill(pid_t(p.processId()), SIGTERM);
    QVERIFY(a.waitForDisconnect());
    QVERIFY(b.waitForDisconnect());
    QCOMPARE(a.closeCode, QWebSocketProtocol::CloseCodeGoingAway);
    QVERIFY(p.waitForFinished(5000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 0);
}

void tst_Lhttpd::configFile() {
    const quint16 port = freePort();
    QTemporaryDir dir;
    const QString ini = dir.filePath(QStringLiteral("lhttpd.ini"));
    QFile f(ini);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("[server]\nlisten=127.0.0.1\nport=" + QByteArray::number(port) +
            "\nmax-message-size=100\nallow-wildcards=true\n");
    f.close();
    QProcess p;
    QVERIFY(start(p, {QStringLiteral("--config"), ini}, port));
    WsClient a;
    QVERIFY(a.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port))));
    a.send("LHTTP/1.0 chat\r\nsubscribe:>\r\n\r\n"); // wildcards allowed by the file
    QVERIFY(a.sync());
    QVERIFY(a.received.isEmpty());
    a.send("LHTTP/1.0 chat\r\n\r\n" + QByteArray(200, 'x')); // limit from the file
    QVERIFY(a.waitForMessages(1));
    QVERIFY(a.received.first().contains("code:413"));
    p.terminate();
    QVERIFY(p.waitForFinished(5000));
    QCOMPARE(p.exitCode(), 0);
}

QTEST_MAIN(tst_Lhttpd)
#include "tst_lhttpd.moc"

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// The lhttpd-qt executable itself: flags, config file, pub/sub, the echo example and a clean
// shutdown on SIGTERM.

#include "lhttpdprocess.h"
#include "wsclient.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

namespace {

QString binary() {
    return qEnvironmentVariable("LHTTPD_BIN");
}

} // namespace

class tst_Lhttpd : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void versionAndHelp();
    void everyFlagDocumented();
    void badArguments_data();
    void badArguments();
    void serveStopOnSigterm();
    void configFile();
    void tokenCommand();
    void drainOnSigterm();
    void reloadOnSighup();
};

void tst_Lhttpd::initTestCase() {
    QVERIFY2(QFileInfo(binary()).isExecutable(), "LHTTPD_BIN must point at lhttpd-qt");
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

// docs/CONFIG.md names every option --help prints (as `name` in a table row).
void tst_Lhttpd::everyFlagDocumented() {
    QProcess p;
    p.start(binary(), {QStringLiteral("--help")});
    QVERIFY(p.waitForFinished());
    const QString help = QString::fromUtf8(p.readAllStandardOutput());
    QFile doc(QStringLiteral(QT_TESTCASE_SOURCEDIR "/../docs/CONFIG.md"));
    QVERIFY2(doc.open(QIODevice::ReadOnly), qPrintable(doc.fileName()));
    const QString text = QString::fromUtf8(doc.readAll());
    static const QRegularExpression flag(QStringLiteral("^\\s+--([a-z][a-z0-9-]*)"),
                                         QRegularExpression::MultilineOption);
    int checked = 0;
    QStringList missing;
    for (auto it = flag.globalMatch(help); it.hasNext();) {
        const QString name = it.next().captured(1);
        if (name == u"help" || name == u"help-all" || name == u"version")
            continue;
        ++checked;
        if (!text.contains(QLatin1Char('`') + name) && !text.contains(QStringLiteral("`--") + name))
            missing << name;
    }
    QVERIFY(checked > 30);
    QVERIFY2(missing.isEmpty(),
             qPrintable(QStringLiteral("not in docs/CONFIG.md: ") + missing.join(u", ")));
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
    LhttpdProcess p;
    QVERIFY(p.start());
    const quint16 port = p.port();
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
    b.send("LHTTP/1.0 upload\r\nmultipart:0 " + QByteArray::number(first.size()) + "\r\n\r\n" +
           first + "content-type:text/plain\r\n\r\nhello");
    QVERIFY(b.waitForMessages(2));
    QCOMPARE(b.received.at(1),
             QByteArray("LHTTP/1.0 upload\r\nparts:2\r\n\r\n"
                        "0 29 content-type=text/json\n1 5 content-type=text/plain\n"));

    p.sendSignal(SIGTERM);
    QVERIFY(a.waitForDisconnect());
    QVERIFY(b.waitForDisconnect());
    QCOMPARE(a.closeCode, QWebSocketProtocol::CloseCodeGoingAway);
    QVERIFY(p.waitForExit(5000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 0);
}

void tst_Lhttpd::configFile() {
    LhttpdProcess p;
    const quint16 port = p.port();
    QTemporaryDir dir;
    const QString ini = dir.filePath(QStringLiteral("lhttpd.ini"));
    QFile f(ini);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("[server]\nlisten=127.0.0.1\nport=" + QByteArray::number(port) +
            "\nmax-message-size=100\nallow-wildcards=true\n");
    f.close();
    QVERIFY(p.startAsGiven({QStringLiteral("--config"), ini}));
    WsClient a;
    QVERIFY(a.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port))));
    a.send("LHTTP/1.0 chat\r\nsubscribe:>\r\n\r\n"); // wildcards allowed by the file
    QVERIFY(a.sync());
    QVERIFY(a.received.isEmpty());
    a.send("LHTTP/1.0 chat\r\n\r\n" + QByteArray(200, 'x')); // limit from the file
    QVERIFY(a.waitForMessages(1));
    QVERIFY(a.received.first().contains("code:413"));
    QVERIFY(p.stop(5000));
    QCOMPARE(p.exitCode(), 0);
}

namespace {

QByteArray mint(const QStringList &args) {
    QProcess p;
    p.start(binary(), QStringList{QStringLiteral("token")} + args);
    if (!p.waitForFinished() || p.exitCode() != 0)
        return {};
    return p.readAllStandardOutput().trimmed();
}

QUrl withToken(quint16 port, const QByteArray &token) {
    return QUrl(QStringLiteral("ws://127.0.0.1:%1/?token=%2").arg(port).arg(QLatin1String(token)));
}

void writeFile(const QString &path, const QByteArray &content) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(content);
}

} // namespace

void tst_Lhttpd::tokenCommand() {
    const QByteArray token =
        mint({QStringLiteral("--sub"), QStringLiteral("alice"), QStringLiteral("--channels"),
              QStringLiteral("room.*"), QStringLiteral("--secret"), QStringLiteral("s3cret")});
    QCOMPARE(token.count('.'), 2);
    const QList<QByteArray> parts = token.split('.');
    const QByteArray payload = QByteArray::fromBase64(parts.at(1), QByteArray::Base64UrlEncoding);
    QVERIFY2(payload.contains("\"sub\":\"alice\""), payload.constData());
    QVERIFY2(payload.contains("\"room.*\""), payload.constData());
    QVERIFY2(payload.contains("\"exp\":"), payload.constData());
    // A missing user id or secret is a usage error, not a token.
    QProcess p;
    p.start(binary(), {QStringLiteral("token"), QStringLiteral("--secret"), QStringLiteral("x")});
    QVERIFY(p.waitForFinished());
    QCOMPARE(p.exitCode(), 2);
    QVERIFY(!p.readAllStandardError().isEmpty());
    p.start(binary(), {QStringLiteral("token"), QStringLiteral("--sub"), QStringLiteral("a")});
    QVERIFY(p.waitForFinished());
    QCOMPARE(p.exitCode(), 2);
}

// SIGTERM with 200 clients: every one gets 1001 "going away", the closes are spread over the
// drain window rather than sent at one instant, and the process exits 0.
void tst_Lhttpd::drainOnSigterm() {
    const int windowMs = 1500;
    LhttpdProcess p;
    QVERIFY(p.start({QStringLiteral("--drain-window"), QString::number(windowMs)}));
    const QUrl url = p.wsUrl();
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 200; ++i) {
        clients.push_back(std::make_unique<WsClient>());
        QVERIFY(clients.back()->open(url));
    }
    QElapsedTimer clock;
    std::vector<qint64> closedAt(clients.size(), -1);
    for (size_t i = 0; i < clients.size(); ++i)
        connect(&clients[i]->socket, &QWebSocket::disconnected, this,
                [&, i] { closedAt[i] = clock.elapsed(); });
    clock.start();
    p.sendSignal(SIGTERM);
    // Event loop running while waiting (not waitForFinished), so each close is timed as it comes.
    QTRY_VERIFY_WITH_TIMEOUT(
        std::all_of(closedAt.begin(), closedAt.end(), [](qint64 t) { return t >= 0; }),
        windowMs + 10000);
    QTRY_VERIFY_WITH_TIMEOUT(!p.isRunning(), 10000);
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 0);
    for (const auto &c : clients) {
        QCOMPARE(c->closeCode, QWebSocketProtocol::CloseCodeGoingAway);
        QVERIFY2(!c->closeReason.isEmpty(), "the going-away close carries a reason");
    }
    const auto [first, last] = std::minmax_element(closedAt.begin(), closedAt.end());
    qInfo("200 closes between %lld and %lld ms after SIGTERM (window %d ms)", *first, *last,
          windowMs);
    QVERIFY2(*last - *first >= windowMs / 3, "closes are spread over the window");
    QVERIFY(*last <= windowMs + 3000);
}

// SIGHUP re-reads the config file: a new secret and new limits apply to new connections and
// new messages, while the connections already open stay open.
void tst_Lhttpd::reloadOnSighup() {
    LhttpdProcess p;
    const quint16 port = p.port();
    QTemporaryDir dir;
    const QString ini = dir.filePath(QStringLiteral("lhttpd.ini"));
    const QByteArray head = "[server]\nlisten=127.0.0.1\nport=" + QByteArray::number(port) + "\n";
    writeFile(ini, head + "jwt-secret=first\nmax-message-size=1000\n");
    QVERIFY(p.startAsGiven({QStringLiteral("--config"), ini}));
    auto tokenFor = [](const char *secret) {
        return mint({QStringLiteral("--sub"), QStringLiteral("u"), QStringLiteral("--channels"),
                     QStringLiteral(">"), QStringLiteral("--secret"), QLatin1String(secret)});
    };
    const QByteArray first = tokenFor("first");
    const QByteArray second = tokenFor("second");
    QVERIFY(!first.isEmpty() && !second.isEmpty());

    WsClient old;
    QVERIFY(old.open(withToken(port, first)));
    WsClient refused;
    QVERIFY(!refused.open(withToken(port, second), 3000));

    writeFile(ini, head + "jwt-secret=second\nmax-message-size=100\n");
    p.sendSignal(SIGHUP);
    // The new secret takes over for new connections...
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            WsClient probe;
            return probe.open(withToken(port, second), 2000);
        }(),
        10000);
    WsClient stale;
    QVERIFY(!stale.open(withToken(port, first), 3000));
    // ...the old connection is still there, under the new message limit.
    QVERIFY(old.connected);
    old.send("LHTTP/1.0 chat\r\n\r\n" + QByteArray(200, 'x'));
    QVERIFY(old.waitForMessages(1));
    QVERIFY2(old.received.first().contains("code:413"), old.received.first().constData());

    // A broken file is refused and the running configuration kept.
    writeFile(ini, head + "max-message-size=banana\n");
    p.sendSignal(SIGHUP);
    QTest::qWait(300);
    QVERIFY(p.isRunning());
    WsClient after;
    QVERIFY(after.open(withToken(port, second)));
    QVERIFY(p.output().contains("reload failed"));
    p.sendSignal(SIGTERM);
    QVERIFY(p.waitForExit(10000));
    QCOMPARE(p.exitCode(), 0);
}

QTEST_MAIN(tst_Lhttpd)
#include "tst_lhttpd.moc"

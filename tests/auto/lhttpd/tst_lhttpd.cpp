// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// The lhttpd-qt executable itself: flags, config file, pub/sub, the echo example and a clean
// shutdown on SIGTERM.

#include "httprecorder.h"
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

struct Finished {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

// Runs lhttpd-qt to its end (for --help, --print-config and refused arguments).
Finished run(const QStringList &args) {
    QProcess p;
    p.start(binary(), args);
    Finished f;
    if (!p.waitForFinished())
        return f;
    f.exitCode = p.exitCode();
    f.out = p.readAllStandardOutput();
    f.err = p.readAllStandardError();
    return f;
}

void writeFile(const QString &path, const QByteArray &content) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(content);
}

// The option's active (uncommented) line in --print-config's output, or an empty array.
QByteArray activeLine(const QByteArray &config, const QByteArray &key) {
    for (const QByteArray &line : config.split('\n')) {
        if (line.startsWith(key + " ="))
            return line;
    }
    return {};
}

} // namespace

class tst_Lhttpd : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void versionAndHelp();
    void everyFlagDocumented();
    void helpDefaultsAreDocumented();
    void printedConfigReadsBack();
    void badArguments_data();
    void badArguments();
    void serveStopOnSigterm();
    void configFile();
    void tokenCommand();
    void drainOnSigterm();
    void reloadOnSighup();
    void repeatedUpstreamAllowAddsUp();
    void repeatedAllowedOriginsAddUp();
    void listsAddUp_data();
    void listsAddUp();
    void duplicateKeyInConfigFile();
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

// Each option's default in --help (computed from DaemonConfig) is the one docs/CONFIG.md gives
// in the option's table row.
void tst_Lhttpd::helpDefaultsAreDocumented() {
    const Finished help = run({QStringLiteral("--help")});
    QCOMPARE(help.exitCode, 0);
    // Option name -> its description, wrapped lines joined.
    QHash<QString, QString> descriptions;
    QString current;
    static const QRegularExpression optionLine(
        QStringLiteral("^\\s+(?:-\\w, )?--([a-z][a-z0-9-]*)(?: <[^>]*>)?\\s+(.*)$"));
    for (const QString &line : QString::fromUtf8(help.out).split(QLatin1Char('\n'))) {
        const QRegularExpressionMatch m = optionLine.match(line);
        if (m.hasMatch()) {
            current = m.captured(1);
            descriptions[current] = m.captured(2);
        } else if (!current.isEmpty() && line.startsWith(u' ')) {
            descriptions[current] += u' ' + line.trimmed();
        }
    }
    QFile doc(QStringLiteral(QT_TESTCASE_SOURCEDIR "/../docs/CONFIG.md"));
    QVERIFY2(doc.open(QIODevice::ReadOnly), qPrintable(doc.fileName()));
    const QStringList rows = QString::fromUtf8(doc.readAll()).split(QLatin1Char('\n'));
    // Help wraps at spaces (and may at hyphens); the comparison ignores white space.
    auto squeezed = [](QString s) { return s.remove(QRegularExpression(QStringLiteral("\\s"))); };
    static const QRegularExpression defaultIn(QStringLiteral("\\(default: (.+)\\)\\.$"));
    int checked = 0;
    QStringList wrong;
    for (auto it = descriptions.cbegin(); it != descriptions.cend(); ++it) {
        const QString &name = it.key();
        if (QStringList{QStringLiteral("help"), QStringLiteral("help-all"),
                        QStringLiteral("version"), QStringLiteral("config"),
                        QStringLiteral("print-config")}
                .contains(name))
            continue;
        const QString given = defaultIn.match(it.value()).captured(1);
        if (given.isEmpty()) {
            wrong << name + QStringLiteral(": no default in --help");
            continue;
        }
        const QString key = QLatin1Char('`') + name + QLatin1Char('`');
        const auto row = std::find_if(rows.cbegin(), rows.cend(), [&](const QString &r) {
            return r.startsWith(u'|') && r.section(u'|', 1, 1).contains(key);
        });
        if (row == rows.cend() || !squeezed(row->section(u'|', 2, 2)).contains(squeezed(given)))
            wrong << name + QStringLiteral(": --help says ") + given;
        ++checked;
    }
    QVERIFY(checked > 30);
    QVERIFY2(wrong.isEmpty(), qPrintable(QStringLiteral("docs/CONFIG.md disagrees: ") +
                                         wrong.join(QStringLiteral("; "))));
}

// --print-config with no other arguments is the sample config: every option commented out at
// its default. Read back it gives the defaults again, also with every line uncommented, and a
// line uncommented and changed takes effect.
void tst_Lhttpd::printedConfigReadsBack() {
    const Finished sample = run({QStringLiteral("--print-config")});
    QCOMPARE(sample.exitCode, 0);
    QVERIFY(sample.out.contains("\n[server]\n"));
    static const QRegularExpression activeOption(QStringLiteral("^[a-z]"),
                                                 QRegularExpression::MultilineOption);
    QVERIFY2(!QString::fromUtf8(sample.out).contains(activeOption),
             "no option is active in the sample");
    QTemporaryDir dir;
    const QString ini = dir.filePath(QStringLiteral("lhttpd.conf"));
    auto printedFrom = [&](const QByteArray &file) {
        writeFile(ini, file);
        const Finished f = run({QStringLiteral("--config"), ini, QStringLiteral("--print-config")});
        return f.exitCode == 0 ? f.out : f.err;
    };
    QCOMPARE(printedFrom(sample.out), sample.out);

    QString all = QString::fromUtf8(sample.out);
    all.replace(
        QRegularExpression(QStringLiteral("^;(?=[a-z])"), QRegularExpression::MultilineOption),
        QString());
    QVERIFY(all.contains(QStringLiteral("\nport = ")));
    QCOMPARE(printedFrom(all.toUtf8()), sample.out);

    LhttpdProcess lhttpd;
    const quint16 port = lhttpd.port();
    QString changed = QString::fromUtf8(sample.out);
    auto set = [&](const QString &key, const QString &value) {
        const QRegularExpression line(QStringLiteral("^;%1 =.*$").arg(key),
                                      QRegularExpression::MultilineOption);
        QVERIFY2(changed.contains(line), qPrintable(key));
        changed.replace(line, key + QStringLiteral(" = ") + value);
    };
    set(QStringLiteral("listen"), QStringLiteral("127.0.0.1"));
    set(QStringLiteral("port"), QString::number(port));
    set(QStringLiteral("max-message-size"), QStringLiteral("100"));
    const QByteArray printed = printedFrom(changed.toUtf8());
    QCOMPARE(activeLine(printed, "max-message-size"), QByteArray("max-message-size = 100"));
    QCOMPARE(activeLine(printed, "port"), "port = " + QByteArray::number(port));
    QVERIFY(lhttpd.startAsGiven({QStringLiteral("--config"), ini}));
    WsClient a;
    QVERIFY(a.open(lhttpd.wsUrl()));
    a.send("LHTTP/1.0 chat\r\n\r\n" + QByteArray(200, 'x'));
    QVERIFY(a.waitForMessages(1));
    QVERIFY2(a.received.first().contains("code:413"), a.received.first().constData());
    QVERIFY(lhttpd.stop());
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
    // An option with one value given twice is a mistake: neither value is the obvious one.
    QTest::newRow("repeated port") << QStringList{QStringLiteral("--port"), QStringLiteral("1"),
                                                  QStringLiteral("--port"), QStringLiteral("2")}
                                   << QByteArray("--port given 2 times (1, 2)");
    QTest::newRow("repeated switch")
        << QStringList{QStringLiteral("--no-static"), QStringLiteral("--no-static")}
        << QByteArray("--no-static given 2 times");
    QTest::newRow("repeated config")
        << QStringList{QStringLiteral("--config"), QStringLiteral("a.ini"),
                       QStringLiteral("--config"), QStringLiteral("b.ini")}
        << QByteArray("--config given 2 times");
}

void tst_Lhttpd::badArguments() {
    QFETCH(QStringList, args);
    QFETCH(QByteArray, message);
    QProcess p;
    p.start(binary(), args);
    QVERIFY(p.waitForFinished());
    QCOMPARE(p.exitCode(), 2);
    const QByteArray error = p.readAllStandardError();
    QVERIFY2(error.contains(message), error.constData());
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

// Regression: `--upstream-allow A --upstream-allow B` kept only B, and upstream to A was
// refused (403). Both prefixes (and a comma-separated pair) are now called.
void tst_Lhttpd::repeatedUpstreamAllowAddsUp() {
    HttpRecorder backend;
    QVERIFY(backend.isListening());
    auto prefix = [&](const char *path) { return backend.url(QLatin1String(path)).toString(); };
    LhttpdProcess lhttpd;
    QVERIFY(
        lhttpd.start({QStringLiteral("--upstream-allow"), prefix("/a/"),
                      QStringLiteral("--upstream-allow"), prefix("/b/") + u',' + prefix("/c/")}));
    WsClient a;
    QVERIFY(a.open(lhttpd.wsUrl()));
    for (const char *path : {"/a/hook", "/b/hook", "/c/hook", "/d/hook"})
        a.send("LHTTP/1.0 chat\r\nupstream:POST " + prefix(path).toUtf8() +
               "\r\nupstream-reply:true\r\n\r\nhi");
    QVERIFY(a.waitForMessages(4));
    int replies = 0;
    QList<QByteArray> refused;
    for (const QByteArray &m : std::as_const(a.received)) {
        if (m.startsWith("LHTTP/1.0 upstream-reply\r\n") && m.contains("status:200"))
            ++replies;
        else if (m.contains("code:403"))
            refused << m;
    }
    QCOMPARE(replies, 3);
    QCOMPARE(refused.size(), 1); // /d/hook: the backend saw the other three
    QList<QByteArray> targets;
    for (const HttpRecorder::Request &r : std::as_const(backend.requests))
        targets << r.target;
    std::sort(targets.begin(), targets.end());
    QCOMPARE(targets, (QList<QByteArray>{"/a/hook", "/b/hook", "/c/hook"}));
    QVERIFY(lhttpd.stop());
}

// Regression: repeated --allowed-origins kept only the last origin.
void tst_Lhttpd::repeatedAllowedOriginsAddUp() {
    LhttpdProcess lhttpd;
    QVERIFY(lhttpd.start({QStringLiteral("--allowed-origins"), QStringLiteral("https://a.example"),
                          QStringLiteral("--allowed-origins"),
                          QStringLiteral("https://b.example,https://c.example")}));
    auto opensFrom = [&](const QByteArray &origin) {
        QNetworkRequest request;
        request.setRawHeader("Origin", origin);
        WsClient c;
        return c.open(lhttpd.wsUrl(), 3000, request);
    };
    QVERIFY(opensFrom("https://a.example"));
    QVERIFY(opensFrom("https://b.example"));
    QVERIFY(opensFrom("https://c.example"));
    QVERIFY(!opensFrom("https://d.example"));
    QVERIFY(lhttpd.stop());
}

// Every list option adds up when given again, on the command line and in the config file (where
// QSettings kept one of the lines); a later layer still replaces an earlier one's list.
void tst_Lhttpd::listsAddUp_data() {
    QTest::addColumn<QByteArray>("file"); // [server] lines; none when empty
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("nats flags") << QByteArray()
                                << QStringList{QStringLiteral("--nats"),
                                               QStringLiteral("nats://n1:4222"),
                                               QStringLiteral("--nats"),
                                               QStringLiteral("tls://n2:4222,nats://n3:4222")}
                                << QByteArray("nats = \"nats://n1:4222, tls://n2:4222, "
                                              "nats://n3:4222\"");
    QTest::newRow("upstream-allow keys")
        << QByteArray("upstream-allow = http://a/\nport = 1\nupstream-allow = \"http://b/, "
                      "http://c/\"\n")
        << QStringList() << QByteArray("upstream-allow = \"http://a/, http://b/, http://c/\"");
    QTest::newRow("allowed-origins keys")
        << QByteArray("allowed-origins = https://a\nallowed-origins = https://b\n") << QStringList()
        << QByteArray("allowed-origins = \"https://a, https://b\"");
    QTest::newRow("nats keys") << QByteArray("nats = nats://n1:4222\nnats = nats://n2:4222\n")
                               << QStringList()
                               << QByteArray("nats = \"nats://n1:4222, nats://n2:4222\"");
    // History namespaces hold commas (SIZE,TTL): the list is ';'-separated, and printed so.
    QTest::newRow("history flags")
        << QByteArray()
        << QStringList{QStringLiteral("--history"), QStringLiteral("a.b=5,30s"),
                       QStringLiteral("--history"), QStringLiteral("c=7")}
        << QByteArray("history = \"a.b=5,30s; c=7\"");
    QTest::newRow("history keys") << QByteArray(
                                         "history = \"room.*=100,10m; dm.>=50\"\nhistory = x=1\n")
                                  << QStringList()
                                  << QByteArray("history = \"room.*=100,10m; dm.>=50; x=1\"");
    QTest::newRow("presence flags")
        << QByteArray()
        << QStringList{QStringLiteral("--presence"), QStringLiteral("room.*"),
                       QStringLiteral("--presence"), QStringLiteral("lobby; dm.>")}
        << QByteArray("presence = \"room.*; lobby; dm.>\"");
    QTest::newRow("presence keys")
        << QByteArray("presence = \"room.*; lobby\"\npresence = dm.>\n") << QStringList()
        << QByteArray("presence = \"room.*; lobby; dm.>\"");
    QTest::newRow("flags replace the file's list")
        << QByteArray("upstream-allow = http://a/\nupstream-allow = http://b/\n")
        << QStringList{QStringLiteral("--upstream-allow"), QStringLiteral("http://z/")}
        << QByteArray("upstream-allow = http://z/");
}

void tst_Lhttpd::listsAddUp() {
    QFETCH(QByteArray, file);
    QFETCH(QStringList, args);
    QFETCH(QByteArray, expected);
    QTemporaryDir dir;
    if (!file.isEmpty()) {
        const QString ini = dir.filePath(QStringLiteral("lhttpd.conf"));
        writeFile(ini, "[server]\n" + file);
        args << QStringLiteral("--config") << ini;
    }
    const Finished f = run(args << QStringLiteral("--print-config"));
    QVERIFY2(f.exitCode == 0, f.err.constData());
    QCOMPARE(activeLine(f.out, expected.left(expected.indexOf(" ="))), expected);
}

// A key that takes one value, given twice in [server], is refused with both lines named.
void tst_Lhttpd::duplicateKeyInConfigFile() {
    QTemporaryDir dir;
    const QString ini = dir.filePath(QStringLiteral("lhttpd.conf"));
    writeFile(ini, "[server]\nport = 8100\nlisten = 127.0.0.1\n; a comment\nport = 8200\n");
    const Finished f = run({QStringLiteral("--config"), ini});
    QCOMPARE(f.exitCode, 2);
    const QByteArray expected =
        ini.toUtf8() + ":5: key 'port' given again (first on line 2); only list keys may repeat";
    QVERIFY2(f.err.contains(expected), f.err.constData());
}

QTEST_MAIN(tst_Lhttpd)
#include "tst_lhttpd.moc"

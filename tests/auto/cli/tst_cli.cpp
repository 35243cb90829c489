// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// The lhttp-cli executable against a real in-process Server on loopback: the one-shot sub and
// pub modes, the shell driven through a pipe on stdin and on a pseudo-terminal (line editing
// and history), output formats and exit statuses.

#include "adminkick.h"
#include "lhttpdprocess.h"
#include "multipart.h"
#include "ports.h"
#include "processor.h"
#include "server.h"
#include "session.h"
#include "tlsnode.h"
#include "token.h"
#include "wsclient.h"

#include <QDateTime>

#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <cerrno>
#include <csignal>
#include <memory>
#include <vector>

#include <fcntl.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace lhttp;

namespace {

using testports::freePort;

QString binary() {
    return qEnvironmentVariable("LHTTP_CLI_BIN");
}

// Answers `upload` messages with what it saw in the parts, to check the shell's offsets.
class UploadProcessor : public Processor {
public:
    void onMessage(Session &s) override {
        QByteArray out = "parts:" + QByteArray::number(s.parts().size());
        for (const Part &p : s.parts()) {
            out += " [";
            for (const auto &h : p.headers)
                out += h.name.toByteArray() + '=' + h.value.toByteArray() + ' ';
            out += p.body.toByteArray() + ']';
        }
        s.reply(out, "upload-result");
    }
};

// One lhttp-cli run. The test's event loop keeps running while it waits, so the in-process
// server keeps serving.
class Cli {
public:
    // With `outputReader`, stdout goes into that process's stdin, as in `lhttp-cli ... | reader`.
    explicit Cli(const QStringList &args, const QStringList &env = {},
                 QProcess *outputReader = nullptr) {
        QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
        e.insert(QStringLiteral("LHTTP_CLI_HISTORY"), QString());
        e.remove(QStringLiteral("LHTTP_API_KEY"));
        for (const QString &kv : env)
            e.insert(kv.section(QLatin1Char('='), 0, 0), kv.section(QLatin1Char('='), 1));
        process.setProcessEnvironment(e);
        QObject::connect(&process, &QProcess::readyReadStandardOutput,
                         [this] { out += process.readAllStandardOutput(); });
        QObject::connect(&process, &QProcess::readyReadStandardError,
                         [this] { err += process.readAllStandardError(); });
        if (outputReader)
            process.setStandardOutputProcess(outputReader);
        process.start(binary(), args);
    }
    ~Cli() {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(2000);
        }
    }
    bool finished(int timeoutMs = 10000) {
        QElapsedTimer t;
        t.start();
        while (process.state() != QProcess::NotRunning && t.elapsed() < timeoutMs)
            QTest::qWait(10);
        out += process.readAllStandardOutput();
        err += process.readAllStandardError();
        return process.state() == QProcess::NotRunning;
    }
    bool errContains(const QByteArray &needle, int count = 1, int timeoutMs = 10000) {
        QElapsedTimer t;
        t.start();
        while (err.count(needle) < count && t.elapsed() < timeoutMs)
            QTest::qWait(10);
        return err.count(needle) >= count;
    }
    bool outContains(const QByteArray &needle, int timeoutMs = 10000) {
        QElapsedTimer t;
        t.start();
        while (!out.contains(needle) && t.elapsed() < timeoutMs)
            QTest::qWait(10);
        return out.contains(needle);
    }
    void signal(int sig) { ::kill(pid_t(process.processId()), sig); }
    int exitCode() const {
        return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    }
    QString diagnostics() const {
        return QStringLiteral("exit %1\nstdout: %2\nstderr: %3")
            .arg(exitCode())
            .arg(QString::fromUtf8(out), QString::fromUtf8(err));
    }

    QProcess process;
    QByteArray out;
    QByteArray err;
};

// lhttp-cli with stdin, stdout and stderr on a pseudo-terminal, as a person runs it: the shell
// uses its line editor there. Everything it writes is collected in `out` (the terminal's
// echo included).
class PtyCli {
public:
    PtyCli(const QStringList &args, const QStringList &env) {
        // Everything execve needs is built before fork(): the child may only exec.
        std::vector<QByteArray> argStore{QFile::encodeName(binary())};
        for (const QString &a : args)
            argStore.push_back(a.toLocal8Bit());
        QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
        e.remove(QStringLiteral("LHTTP_API_KEY"));
        e.remove(QStringLiteral("NO_COLOR"));
        e.insert(QStringLiteral("TERM"), QStringLiteral("xterm"));
        for (const QString &kv : env)
            e.insert(kv.section(QLatin1Char('='), 0, 0), kv.section(QLatin1Char('='), 1));
        std::vector<QByteArray> envStore;
        for (const QString &kv : e.toStringList())
            envStore.push_back(kv.toLocal8Bit());
        std::vector<char *> argv, envp;
        for (QByteArray &a : argStore)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        for (QByteArray &v : envStore)
            envp.push_back(v.data());
        envp.push_back(nullptr);
        struct winsize size = {};
        size.ws_row = 40;
        size.ws_col = 200; // no line wrapping in what we read back
        m_pid = ::forkpty(&m_master, nullptr, nullptr, &size);
        if (m_pid == 0) {
            ::execve(argv[0], argv.data(), envp.data());
            ::_exit(127);
        }
        if (m_master >= 0)
            ::fcntl(m_master, F_SETFL, ::fcntl(m_master, F_GETFL) | O_NONBLOCK);
    }
    ~PtyCli() {
        if (m_pid > 0 && !m_exited) {
            ::kill(m_pid, SIGKILL);
            ::waitpid(m_pid, nullptr, 0);
        }
        if (m_master >= 0)
            ::close(m_master);
    }
    bool started() const { return m_pid > 0 && m_master >= 0; }

    void type(const QByteArray &keys) {
        qsizetype done = 0;
        while (done < keys.size()) {
            const ssize_t n =
                ::write(m_master, keys.constData() + done, size_t(keys.size() - done));
            if (n > 0)
                done += n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                return;
            else
                QTest::qWait(5);
        }
    }
    // Waits until `needle` occurs `count` times in the output.
    bool waitFor(const QByteArray &needle, int count = 1, int timeoutMs = 10000) {
        return waitUntil([&] { return out.count(needle) >= count; }, timeoutMs);
    }
    // Waits until `needle` occurs after the first `anchor`.
    bool waitForAfter(const QByteArray &needle, const QByteArray &anchor, int timeoutMs = 10000) {
        return waitUntil(
            [&] {
                const qsizetype at = out.indexOf(anchor);
                return at >= 0 && out.indexOf(needle, at + anchor.size()) >= 0;
            },
            timeoutMs);
    }
    template <typename Condition> bool waitUntil(Condition done, int timeoutMs) {
        QElapsedTimer t;
        t.start();
        for (;;) {
            drain();
            if (done())
                return true;
            if (t.elapsed() > timeoutMs || m_exited)
                return false;
            QTest::qWait(10);
        }
    }
    bool finished(int timeoutMs = 10000) {
        QElapsedTimer t;
        t.start();
        while (!m_exited && t.elapsed() < timeoutMs) {
            drain();
            int status = 0;
            if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_exited = true;
                m_exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            } else {
                QTest::qWait(10);
            }
        }
        drain();
        return m_exited;
    }
    int exitCode() const { return m_exitCode; }
    QString diagnostics() const {
        return QStringLiteral("exit %1\nterminal: %2").arg(m_exitCode).arg(QString::fromUtf8(out));
    }

    QByteArray out;

private:
    void drain() {
        char buf[4096];
        ssize_t n;
        // EIO once the child is gone and the terminal has no writer left.
        while ((n = ::read(m_master, buf, sizeof buf)) > 0)
            out.append(buf, n);
    }

    pid_t m_pid = -1;
    int m_master = -1;
    bool m_exited = false;
    int m_exitCode = -1;
};

} // namespace

#define CHECK_EXIT(cli, code)                                                                      \
    do {                                                                                           \
        QVERIFY2((cli).finished(), qPrintable((cli).diagnostics()));                               \
        QVERIFY2((cli).exitCode() == (code), qPrintable((cli).diagnostics()));                     \
    } while (false)

class tst_Cli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void helpAndVersion();
    void usageErrors_data();
    void usageErrors();

    void subPrintsCountMessages();
    void subFormats_data();
    void subFormats();
    void subStopsOnSignal_data();
    void subStopsOnSignal();
    void subEndsWhenOutputReaderLeaves();
    void subErrorReply();
    void subConnectionRefused();
    void subReconnectsAndSubscribesAgain();
    void subNoReconnect();

    void subRecoverAcrossKick();
    void subRecoverNotRecovered();
    void historyPrintsLastMessages();
    void historyErrors();
    void presenceListsEntries();
    void presenceErrors();
    void subJoinsPrintsEvents();

    void pubOverWebSocket();
    void pubFromStdinWithEscapes();
    void pubErrorReply();
    void pubConnectionRefused();
    void pubHttp();
    void tlsTrust_data();
    void tlsTrust();

    void shellThroughPipe();
    void shellEndOfInputWaitsForReplies();
    void shellProblemsKeepItRunning();
    void shellShortForms();
    void shellConnectionRefused();
    void shellRecoverAndHistory();
    void shellPresence();
    void shellLineEditingOnTerminal();
    void shellCommandOutputOnTerminal();

private:
    void restart(const ServerOptions &options);
    QString url() const { return QStringLiteral("ws://127.0.0.1:%1/").arg(server->serverPort()); }
    std::unique_ptr<WsClient> subscriber(const QByteArray &channels);

    std::unique_ptr<Server> server;
    std::unique_ptr<QTemporaryDir> m_certificates; // made once, by tlsTrust_data()
};

void tst_Cli::initTestCase() {
    QVERIFY2(QFileInfo(binary()).isExecutable(), "LHTTP_CLI_BIN must point at lhttp-cli");
}

void tst_Cli::restart(const ServerOptions &options) {
    server.reset();
    server = std::make_unique<Server>(options);
    server->registerProcessor("upload", std::make_shared<UploadProcessor>());
    QVERIFY(server->listen());
}

void tst_Cli::init() {
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    restart(o);
}

void tst_Cli::cleanup() {
    server.reset();
}

std::unique_ptr<WsClient> tst_Cli::subscriber(const QByteArray &channels) {
    auto w = std::make_unique<WsClient>();
    if (!w->open(QUrl(url())))
        return nullptr;
    w->send("LHTTP/1.0 chat\r\nsubscribe:" + channels + "\r\n\r\n");
    if (!w->sync())
        return nullptr;
    return w;
}

void tst_Cli::helpAndVersion() {
    Cli help({QStringLiteral("--help")});
    CHECK_EXIT(help, 0);
    for (const char *needle : {"sub [options] URL CHANNEL",
                               "pub [options] URL CHANNEL TEXT",
                               "--count",
                               "--http",
                               "--api-key",
                               "--format",
                               "pretty",
                               "line",
                               "body",
                               "json",
                               "Exit status",
                               "multipart",
                               "upstream",
                               "send",
                               "history [options] URL CHANNEL",
                               "--recover",
                               "--positions",
                               "--limit",
                               "--after",
                               "not recovered",
                               "presence [options] URL CHANNEL",
                               "presence --stats [--user USER] URL CHANNEL",
                               "connections N users M",
                               "--joins",
                               "--joins-self",
                               "--info TEXT",
                               "presence-stats, stats CHANNEL [USER]",
                               "joins CHANNEL..."})
        QVERIFY2(help.out.contains(needle), needle);
    Cli version({QStringLiteral("--version")});
    CHECK_EXIT(version, 0);
    QVERIFY(version.out.contains(LHTTP_VERSION));
}

void tst_Cli::usageErrors_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QByteArray>("message");
    const QString u = QStringLiteral("ws://127.0.0.1:9/");
    auto row = [](const char *name, QStringList args, QByteArray message) {
        QTest::newRow(name) << args << message;
    };
    row("unknown option", {QStringLiteral("--frobnicate")}, "frobnicate");
    row("typo for a mode", {QStringLiteral("sbu")}, "unknown mode or URL");
    row("sub without channel", {QStringLiteral("sub"), u}, "at least one channel");
    row("sub without anything", {QStringLiteral("sub")}, "at least one channel");
    row("pub without text", {QStringLiteral("pub"), u, QStringLiteral("room")}, "needs a URL");
    row("invalid channel", {QStringLiteral("sub"), u, QStringLiteral("a..b")}, "empty token");
    row("publish to wildcard", {QStringLiteral("pub"), u, QStringLiteral(">"), QStringLiteral("x")},
        "wildcard");
    row("count zero",
        {QStringLiteral("sub"), u, QStringLiteral("room"), QStringLiteral("--count"),
         QStringLiteral("0")},
        "--count");
    row("count not a number",
        {QStringLiteral("sub"), u, QStringLiteral("room"), QStringLiteral("-n"),
         QStringLiteral("many")},
        "--count");
    row("count for pub",
        {QStringLiteral("pub"), u, QStringLiteral("room"), QStringLiteral("x"),
         QStringLiteral("--count"), QStringLiteral("2")},
        "only applies to sub");
    row("unknown format", {QStringLiteral("--format"), QStringLiteral("xml"), u}, "unknown format");
    row("header without colon",
        {QStringLiteral("pub"), u, QStringLiteral("room"), QStringLiteral("x"),
         QStringLiteral("-H"), QStringLiteral("novalue")},
        "NAME:VALUE");
    row("header with CRLF",
        {QStringLiteral("pub"), u, QStringLiteral("room"), QStringLiteral("x"),
         QStringLiteral("-e"), QStringLiteral("-H"), QStringLiteral("k:a\\r\\nb:c")},
        "control bytes");
    row("api key without http",
        {QStringLiteral("pub"), u, QStringLiteral("room"), QStringLiteral("x"),
         QStringLiteral("--api-key"), QStringLiteral("k")},
        "--http");
    row("bad scheme", {QStringLiteral("sub"), QStringLiteral("ftp://x/"), QStringLiteral("room")},
        "scheme");
    row("command with space",
        {QStringLiteral("pub"), u, QStringLiteral("room"), QStringLiteral("x"),
         QStringLiteral("-c"), QStringLiteral("two words")},
        "command");
    row("cacert without TLS",
        {QStringLiteral("sub"), u, QStringLiteral("room"), QStringLiteral("--cacert"),
         QStringLiteral("/etc/hostname")},
        "--cacert only applies to wss:// and https://");
    row("insecure without TLS", {QStringLiteral("-k"), u}, "--insecure only applies");
    row("cacert unreadable",
        {QStringLiteral("pub"), QStringLiteral("wss://127.0.0.1:9/"), QStringLiteral("room"),
         QStringLiteral("x"), QStringLiteral("--cacert"), QStringLiteral("/nonexistent/ca.pem")},
        "cannot read --cacert file '/nonexistent/ca.pem'");
    row("cacert without a certificate",
        {QStringLiteral("pub"), QStringLiteral("https://127.0.0.1:9/"), QStringLiteral("room"),
         QStringLiteral("x"), QStringLiteral("--http"), QStringLiteral("--cacert"),
         QStringLiteral("/dev/null")},
        "no PEM certificate in --cacert file");
    row("recover for pub",
        {QStringLiteral("pub"), u, QStringLiteral("room"), QStringLiteral("x"),
         QStringLiteral("--recover")},
        "--recover only applies to sub");
    row("recover a wildcard",
        {QStringLiteral("sub"), u, QStringLiteral("room.*"), QStringLiteral("--recover")},
        "--recover needs concrete channels");
    row("limit for sub",
        {QStringLiteral("sub"), u, QStringLiteral("room"), QStringLiteral("--limit"),
         QStringLiteral("5")},
        "--limit only applies to history");
    row("history without channel", {QStringLiteral("history"), u}, "history needs a URL");
    row("history of two channels", {QStringLiteral("history"), u, QStringLiteral("a b")},
        "history reads one channel");
    row("history limit zero",
        {QStringLiteral("history"), u, QStringLiteral("room"), QStringLiteral("-l"),
         QStringLiteral("0")},
        "--limit needs a number");
    row("history after without epoch",
        {QStringLiteral("history"), u, QStringLiteral("room"), QStringLiteral("--after"),
         QStringLiteral("17")},
        "--after needs OFFSET:EPOCH");
    row("history after bad epoch",
        {QStringLiteral("history"), u, QStringLiteral("room"), QStringLiteral("--after"),
         QStringLiteral("17:a-b")},
        "--after needs OFFSET:EPOCH");
    row("positions for pub",
        {QStringLiteral("pub"), u, QStringLiteral("room"), QStringLiteral("x"),
         QStringLiteral("--positions")},
        "--positions only applies to sub and history");
    row("presence without channel", {QStringLiteral("presence"), u}, "presence needs a URL");
    row("presence of two channels", {QStringLiteral("presence"), u, QStringLiteral("a b")},
        "presence reads one channel");
    row("presence of a wildcard", {QStringLiteral("presence"), u, QStringLiteral("room.*")},
        "presence needs concrete channels");
    row("stats for sub",
        {QStringLiteral("sub"), u, QStringLiteral("room"), QStringLiteral("--stats")},
        "--stats only applies to presence");
    row("user without stats",
        {QStringLiteral("presence"), u, QStringLiteral("room"), QStringLiteral("--user"),
         QStringLiteral("alice")},
        "--user only applies with --stats");
    row("user with a blank",
        {QStringLiteral("presence"), u, QStringLiteral("room"), QStringLiteral("--stats"),
         QStringLiteral("--user"), QStringLiteral("a b")},
        "--user needs a user id without blanks");
    row("joins for pub",
        {QStringLiteral("pub"), u, QStringLiteral("room"), QStringLiteral("x"),
         QStringLiteral("--joins")},
        "--joins only applies to sub");
    row("info for presence",
        {QStringLiteral("presence"), u, QStringLiteral("room"), QStringLiteral("--info"),
         QStringLiteral("x")},
        "--info only applies to sub");
    row("joins of a wildcard",
        {QStringLiteral("sub"), u, QStringLiteral("room.>"), QStringLiteral("--joins-self")},
        "--joins-self needs concrete channels");
    row("info with a line break",
        {QStringLiteral("sub"), u, QStringLiteral("room"), QStringLiteral("--info"),
         QStringLiteral("a\nb")},
        "--info: ");
    row("bad escape",
        {QStringLiteral("pub"), u, QStringLiteral("room"), QStringLiteral("a\\q"),
         QStringLiteral("--escapes")},
        "unknown escape");
}

void tst_Cli::usageErrors() {
    QFETCH(QStringList, args);
    QFETCH(QByteArray, message);
    Cli cli(args);
    CHECK_EXIT(cli, 2);
    QVERIFY2(cli.err.contains(message), qPrintable(cli.diagnostics()));
    QVERIFY(cli.err.contains("lhttp-cli --help"));
    QVERIFY(cli.out.isEmpty());
}

void tst_Cli::subPrintsCountMessages() {
    Cli cli({QStringLiteral("sub"), url(), QStringLiteral("room news"), QStringLiteral("extra"),
             QStringLiteral("--count"), QStringLiteral("3"), QStringLiteral("--format"),
             QStringLiteral("line")});
    QVERIFY2(cli.errContains("subscribed to room news extra"), qPrintable(cli.diagnostics()));
    QCOMPARE(server->subscriptionCount(), 3);
    WsClient w;
    QVERIFY(w.open(QUrl(url())));
    w.send("LHTTP/1.0 chat\r\npublish:room\r\nk:v:w\r\n\r\nfirst\r\n\r\nline");
    w.send("LHTTP/1.0 note\r\npublish:news\r\n\r\n");
    w.send("LHTTP/1.0 chat\r\npublish:extra\r\n\r\nthird");
    w.send("LHTTP/1.0 chat\r\npublish:room\r\n\r\nnot printed: --count reached");
    CHECK_EXIT(cli, 0);
    QCOMPARE(cli.out,
             QByteArray("LHTTP/1.0 chat\\r\\npublish:room\\r\\nk:v:w\\r\\n\\r\\nfirst\\r\\n"
                        "\\r\\nline\n"
                        "LHTTP/1.0 note\\r\\npublish:news\\r\\n\\r\\n\n"
                        "LHTTP/1.0 chat\\r\\npublish:extra\\r\\n\\r\\nthird\n"));
}

void tst_Cli::subFormats_data() {
    QTest::addColumn<QString>("format");
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<QByteArray>("expected");
    const QByteArray m = "LHTTP/1.0 chat\r\npublish:room\r\nk:v:w\r\n\r\nhello\nw\x01rld";
    QTest::newRow("pretty") << QStringLiteral("pretty") << m
                            << QByteArray("<< chat\n   publish: room\n   k: v:w\n   | hello\n"
                                          "   | w\\x01rld\n");
    QTest::newRow("line") << QStringLiteral("line") << m
                          << QByteArray("LHTTP/1.0 chat\\r\\npublish:room\\r\\nk:v:w\\r\\n\\r\\n"
                                        "hello\\nw\\x01rld\n");
    QTest::newRow("body") << QStringLiteral("body") << m << QByteArray("hello\nw\x01rld\n");
    QTest::newRow("json") << QStringLiteral("json") << m
                          << QByteArray("{\"body\":\"hello\\nw\\u0001rld\",\"command\":\"chat\","
                                        "\"headers\":[[\"publish\",\"room\"],[\"k\",\"v:w\"]]}\n");
    QTest::newRow("json binary") << QStringLiteral("json")
                                 << QByteArray("LHTTP/1.0 b\r\npublish:room\r\n\r\n\xff\xfe")
                                 << QByteArray("{\"bodyBase64\":\"//4=\",\"command\":\"b\","
                                               "\"headers\":[[\"publish\",\"room\"]]}\n");
    QTest::newRow("pretty non-utf8 and utf8")
        << QStringLiteral("pretty")
        << QByteArray("LHTTP/1.0 b\r\npublish:room\r\n\r\n\xff caf\xc3\xa9\r")
        << QByteArray("<< b\n   publish: room\n   | \\xff caf\xc3\xa9\\r\n");
}

void tst_Cli::subFormats() {
    QFETCH(QString, format);
    QFETCH(QByteArray, message);
    QFETCH(QByteArray, expected);
    Cli cli({QStringLiteral("sub"), url(), QStringLiteral("room"), QStringLiteral("-n"),
             QStringLiteral("1"), QStringLiteral("-f"), format});
    QVERIFY2(cli.errContains("subscribed to room"), qPrintable(cli.diagnostics()));
    WsClient w;
    QVERIFY(w.open(QUrl(url())));
    w.sendBinary(message);
    CHECK_EXIT(cli, 0);
    QCOMPARE(cli.out, expected);
}

void tst_Cli::subStopsOnSignal_data() {
    QTest::addColumn<int>("sig");
    QTest::newRow("SIGTERM") << int(SIGTERM);
    QTest::newRow("SIGINT") << int(SIGINT);
    // The terminal went away.
    QTest::newRow("SIGHUP") << int(SIGHUP);
}

void tst_Cli::subStopsOnSignal() {
    QFETCH(int, sig);
    Cli cli({QStringLiteral("sub"), url(), QStringLiteral("room")});
    QVERIFY2(cli.errContains("subscribed to room"), qPrintable(cli.diagnostics()));
    QTRY_COMPARE(server->sessionCount(), 1);
    cli.signal(sig);
    CHECK_EXIT(cli, 0);
    // It said goodbye: the session is gone, closed by the client.
    QTRY_COMPARE(server->sessionCount(), 0);
}

// `lhttp-cli sub ... | head -n 1` ends like any Unix filter once head has exited, by SIGPIPE,
// instead of writing into the pipe without a reader (EPIPE, as Qt Network ignores SIGPIPE) and
// waiting for messages forever.
void tst_Cli::subEndsWhenOutputReaderLeaves() {
    QProcess head;
    Cli cli({QStringLiteral("sub"), url(), QStringLiteral("room"), QStringLiteral("-f"),
             QStringLiteral("body")},
            {}, &head);
    head.start(QStringLiteral("head"), {QStringLiteral("-n"), QStringLiteral("1")});
    QVERIFY(head.waitForStarted());
    QVERIFY2(cli.errContains("subscribed to room"), qPrintable(cli.diagnostics()));
    WsClient w;
    QVERIFY(w.open(QUrl(url())));
    w.send("LHTTP/1.0 chat\r\npublish:room\r\n\r\nfirst");
    QTRY_VERIFY_WITH_TIMEOUT(head.state() == QProcess::NotRunning, 10000);
    QCOMPARE(head.readAllStandardOutput(), QByteArray("first\n"));
    // The next message goes into a pipe without a reader.
    w.send("LHTTP/1.0 chat\r\npublish:room\r\n\r\nnobody reads this");
    QVERIFY2(cli.finished(), qPrintable(cli.diagnostics()));
    QVERIFY2(cli.process.exitStatus() == QProcess::CrashExit, qPrintable(cli.diagnostics()));
    // It said goodbye first.
    QTRY_COMPARE(server->sessionCount(), 1); // the publisher's
}

void tst_Cli::subErrorReply() {
    Cli cli({QStringLiteral("sub"), url(), QStringLiteral(">")});
    CHECK_EXIT(cli, 1);
    QVERIFY2(cli.err.contains("server error 403"), qPrintable(cli.diagnostics()));
}

void tst_Cli::subConnectionRefused() {
    Cli cli({QStringLiteral("sub"), QStringLiteral("ws://127.0.0.1:%1/").arg(freePort()),
             QStringLiteral("room")});
    CHECK_EXIT(cli, 1);
    QVERIFY2(cli.err.contains("cannot connect to ws://127.0.0.1:"), qPrintable(cli.diagnostics()));
    QVERIFY(cli.err.contains("refused"));
}

void tst_Cli::subReconnectsAndSubscribesAgain() {
    const quint16 port = freePort();
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = port;
    restart(o);
    Cli cli({QStringLiteral("sub"), url(), QStringLiteral("room"), QStringLiteral("-n"),
             QStringLiteral("1"), QStringLiteral("-f"), QStringLiteral("body")});
    QVERIFY2(cli.errContains("subscribed to room"), qPrintable(cli.diagnostics()));
    server.reset();
    QVERIFY2(cli.errContains("connection lost"), qPrintable(cli.diagnostics()));
    QVERIFY2(cli.errContains("reconnecting in"), qPrintable(cli.diagnostics()));
    restart(o);
    QVERIFY2(cli.errContains("subscribed to room", 2), qPrintable(cli.diagnostics()));
    QVERIFY(cli.err.contains("reconnected to"));
    WsClient w;
    QVERIFY(w.open(QUrl(url())));
    w.send("LHTTP/1.0 chat\r\npublish:room\r\n\r\nafter the restart");
    CHECK_EXIT(cli, 0);
    QCOMPARE(cli.out, QByteArray("after the restart\n"));
}

void tst_Cli::subNoReconnect() {
    Cli cli(
        {QStringLiteral("sub"), url(), QStringLiteral("room"), QStringLiteral("--no-reconnect")});
    QVERIFY2(cli.errContains("subscribed to room"), qPrintable(cli.diagnostics()));
    server->close();
    CHECK_EXIT(cli, 1);
    QVERIFY(cli.err.contains("connection lost"));
}

namespace {

const QByteArray AdminToken = "t0ken";

bool startHistoryNode(LhttpdProcess &node, int size) {
    return node.start({QStringLiteral("--history"), QStringLiteral("room.*=%1").arg(size),
                       QStringLiteral("--admin-token"), QString::fromLatin1(AdminToken),
                       QStringLiteral("--log-level"), QStringLiteral("warning")});
}

} // namespace

// sub --recover -f body prints every message once, those published while it was kicked off
// included, in order.
void tst_Cli::subRecoverAcrossKick() {
    LhttpdProcess node;
    QVERIFY(startHistoryNode(node, 100));
    const QString ws = node.wsUrl().toString();
    Cli cli({QStringLiteral("sub"), QStringLiteral("--recover"), ws, QStringLiteral("room.1"),
             QStringLiteral("-f"), QStringLiteral("body"), QStringLiteral("-n"),
             QStringLiteral("4")});
    QVERIFY2(cli.errContains("subscribed to room.1"), qPrintable(cli.diagnostics()));
    WsClient w;
    QVERIFY(w.open(node.wsUrl()));
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\none");
    QVERIFY2(cli.outContains("one\n"), qPrintable(cli.diagnostics()));

    QCOMPARE(testadmin::kickSubscribers(node.wsUrl(QStringLiteral("/admin")), AdminToken, "room.1"),
             1);
    QVERIFY2(cli.errContains("connection lost"), qPrintable(cli.diagnostics()));
    // While it waits for its reconnect (at least 500 ms).
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\ntwo");
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nthree");
    QVERIFY(w.sync());
    QVERIFY2(cli.errContains("subscribed to room.1", 2), qPrintable(cli.diagnostics()));
    QVERIFY2(cli.err.contains("-- recovered room.1: 2 messages"), qPrintable(cli.diagnostics()));
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nfour");
    CHECK_EXIT(cli, 0);
    QCOMPARE(cli.out, QByteArray("one\ntwo\nthree\nfour\n"));
    QVERIFY2(!cli.err.contains("not recovered"), qPrintable(cli.diagnostics()));
}

// More messages than the history keeps were published while sub was away: it says so on
// stderr and goes on with the live messages; --positions shows where each message is.
void tst_Cli::subRecoverNotRecovered() {
    LhttpdProcess node;
    QVERIFY(startHistoryNode(node, 2));
    const QString ws = node.wsUrl().toString();
    Cli cli({QStringLiteral("sub"), QStringLiteral("--recover"), ws, QStringLiteral("room.1"),
             QStringLiteral("-f"), QStringLiteral("body"), QStringLiteral("-n"),
             QStringLiteral("2"), QStringLiteral("--positions")});
    QVERIFY2(cli.errContains("subscribed to room.1"), qPrintable(cli.diagnostics()));
    WsClient w;
    QVERIFY(w.open(node.wsUrl()));
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nseen");
    QVERIFY2(cli.outContains("seen\n"), qPrintable(cli.diagnostics()));
    QCOMPARE(testadmin::kickSubscribers(node.wsUrl(QStringLiteral("/admin")), AdminToken, "room.1"),
             1);
    QVERIFY2(cli.errContains("connection lost"), qPrintable(cli.diagnostics()));
    for (int i = 0; i < 3; ++i)
        w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nlost");
    QVERIFY(w.sync());
    QVERIFY2(cli.errContains("lhttp-cli: not recovered: room.1 lost messages while disconnected; "
                             "continuing at 4 "),
             qPrintable(cli.diagnostics()));
    QVERIFY2(cli.errContains("subscribed to room.1", 2), qPrintable(cli.diagnostics()));
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nlive");
    CHECK_EXIT(cli, 0);
    const QByteArrayList lines = cli.out.split('\n');
    QCOMPARE(lines.size(), 5);
    QVERIFY2(lines.at(0).startsWith("room.1 1 "), qPrintable(cli.diagnostics()));
    QCOMPARE(lines.at(1), QByteArray("seen"));
    QCOMPARE(lines.at(2), "room.1 5 " + lines.at(0).mid(9));
    QCOMPARE(lines.at(3), QByteArray("live"));
}

void tst_Cli::historyPrintsLastMessages() {
    LhttpdProcess node;
    QVERIFY(startHistoryNode(node, 100));
    const QString ws = node.wsUrl().toString();
    WsClient w;
    QVERIFY(w.open(node.wsUrl()));
    for (int i = 1; i <= 5; ++i)
        w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nm" + QByteArray::number(i));
    QVERIFY(w.sync());

    Cli last({QStringLiteral("history"), ws, QStringLiteral("room.1"), QStringLiteral("--limit"),
              QStringLiteral("3"), QStringLiteral("-f"), QStringLiteral("body")});
    CHECK_EXIT(last, 0);
    QCOMPARE(last.out, QByteArray("m3\nm4\nm5\n"));
    QVERIFY2(last.err.contains("-- history room.1: 3 messages, position 5 "),
             qPrintable(last.diagnostics()));

    // --positions: each message's, then the channel's, which --after takes.
    Cli positions({QStringLiteral("history"), ws, QStringLiteral("room.1"), QStringLiteral("-l"),
                   QStringLiteral("1"), QStringLiteral("-f"), QStringLiteral("body"),
                   QStringLiteral("--positions")});
    CHECK_EXIT(positions, 0);
    const QByteArrayList lines = positions.out.split('\n');
    QCOMPARE(lines.size(), 4);
    const QByteArray epoch = lines.at(0).mid(QByteArray("room.1 5 ").size());
    QCOMPARE(lines.at(0), "room.1 5 " + epoch);
    QCOMPARE(lines.at(1), QByteArray("m5"));
    QCOMPARE(lines.at(2), "room.1 5 " + epoch);

    Cli after({QStringLiteral("history"), ws, QStringLiteral("room.1"), QStringLiteral("--after"),
               QStringLiteral("2:") + QString::fromLatin1(epoch), QStringLiteral("-f"),
               QStringLiteral("line")});
    CHECK_EXIT(after, 0);
    QCOMPARE(after.out, "LHTTP/1.0 chat\\r\\nposition:room.1 3 " + epoch +
                            "\\r\\npublish:room.1\\r\\n\\r\\nm3\n"
                            "LHTTP/1.0 chat\\r\\nposition:room.1 4 " +
                            epoch +
                            "\\r\\npublish:room.1\\r\\n\\r\\nm4\n"
                            "LHTTP/1.0 chat\\r\\nposition:room.1 5 " +
                            epoch + "\\r\\npublish:room.1\\r\\n\\r\\nm5\n");

    Cli empty({QStringLiteral("history"), ws, QStringLiteral("room.2")});
    CHECK_EXIT(empty, 0);
    QVERIFY(empty.out.isEmpty());
    QVERIFY2(empty.err.contains("-- history room.2: 0 messages, position 0 "),
             qPrintable(empty.diagnostics()));
}

void tst_Cli::historyErrors() {
    LhttpdProcess node;
    QVERIFY(startHistoryNode(node, 100));
    const QString ws = node.wsUrl().toString();
    Cli plain({QStringLiteral("history"), ws, QStringLiteral("plain")});
    CHECK_EXIT(plain, 1);
    QVERIFY2(plain.err.contains("lhttp-cli: server error 404: "), qPrintable(plain.diagnostics()));
    Cli tooMany({QStringLiteral("history"), ws, QStringLiteral("room.1"), QStringLiteral("-l"),
                 QStringLiteral("5000")});
    CHECK_EXIT(tooMany, 1);
    QVERIFY2(tooMany.err.contains("lhttp-cli: server error 400: "),
             qPrintable(tooMany.diagnostics()));
    Cli gone({QStringLiteral("history"), ws, QStringLiteral("room.1"), QStringLiteral("--after"),
              QStringLiteral("3 otherepoch")});
    CHECK_EXIT(gone, 1);
    QVERIFY2(gone.err.contains("lhttp-cli: server error 410: "), qPrintable(gone.diagnostics()));
    // sub --recover of a channel without history is an error reply like any other.
    Cli sub({QStringLiteral("sub"), QStringLiteral("--recover"), ws, QStringLiteral("plain")});
    CHECK_EXIT(sub, 1);
    QVERIFY2(sub.err.contains("server error 404"), qPrintable(sub.diagnostics()));
    Cli refused({QStringLiteral("history"), QStringLiteral("ws://127.0.0.1:%1/").arg(freePort()),
                 QStringLiteral("room.1")});
    CHECK_EXIT(refused, 1);
    QVERIFY2(refused.err.contains("cannot connect"), qPrintable(refused.diagnostics()));
}

namespace {

const QByteArray TokenSecret = "cli-presence-secret";

// A node with presence channels `room.*`, connect tokens and the node name `cli-node`.
bool startPresenceNode(LhttpdProcess &node) {
    return node.start({QStringLiteral("--presence"), QStringLiteral("room.*"),
                       QStringLiteral("--node-name"), QStringLiteral("cli-node"),
                       QStringLiteral("--jwt-secret"), QString::fromLatin1(TokenSecret),
                       QStringLiteral("--log-level"), QStringLiteral("warning")});
}

// The node's URL with a connect token for `user`, allowed `room.1`, `room.2` and `plain`.
QUrl userUrl(const LhttpdProcess &node, const QString &user) {
    const QByteArrayList channels{"room.1", "room.2", "plain"};
    QUrl url = node.wsUrl();
    url.setQuery(
        QStringLiteral("token=") +
        QString::fromLatin1(Token::sign(user, channels, channels,
                                        QDateTime::currentSecsSinceEpoch() + 3600, TokenSecret)));
    return url;
}

QByteArrayList sortedLines(const QByteArray &text) {
    QByteArrayList lines = text.split('\n');
    if (lines.last().isEmpty())
        lines.removeLast();
    std::sort(lines.begin(), lines.end());
    return lines;
}

} // namespace

// presence lists the entries, one per line (CLIENT NODE USER INFO), or as JSON; --stats counts.
void tst_Cli::presenceListsEntries() {
    LhttpdProcess node;
    QVERIFY(startPresenceNode(node));
    WsClient alice1, alice2, bob;
    QVERIFY(alice1.open(userUrl(node, QStringLiteral("alice"))));
    QVERIFY(alice2.open(userUrl(node, QStringLiteral("alice"))));
    QVERIFY(bob.open(userUrl(node, QStringLiteral("bob"))));
    alice1.send("LHTTP/1.0 chat\r\nsubscribe:room.1\r\npresence-info:{\"n\":\"A\tB\"}\r\n\r\n");
    alice2.send("LHTTP/1.0 chat\r\nsubscribe:room.1 room.2\r\npresence-info:phone\r\n\r\n");
    bob.send("LHTTP/1.0 chat\r\nsubscribe:room.1\r\n\r\n");
    for (WsClient *w : {&alice1, &alice2, &bob})
        QVERIFY(w->sync());
    const QString ws = userUrl(node, QStringLiteral("cli")).toString();

    Cli list({QStringLiteral("presence"), ws, QStringLiteral("room.1")});
    CHECK_EXIT(list, 0);
    const QByteArrayList lines = sortedLines(list.out);
    QCOMPARE(lines.size(), 3);
    QByteArrayList rest; // without the client ids
    for (const QByteArray &line : lines) {
        const QByteArrayList fields = line.split('\t');
        QCOMPARE(fields.size(), 4);
        bool number = false;
        fields.at(0).toULongLong(&number);
        QVERIFY2(number, line.constData());
        rest.append(fields.mid(1).join('\t'));
    }
    std::sort(rest.begin(), rest.end());
    QCOMPARE(rest, QByteArrayList({"cli-node\talice\tphone", "cli-node\talice\t{\"n\":\"A\\tB\"}",
                                   "cli-node\tbob\t"}));
    QVERIFY2(list.err.contains("-- presence room.1: 3 entries"), qPrintable(list.diagnostics()));

    Cli json({QStringLiteral("presence"), ws, QStringLiteral("room.2"), QStringLiteral("-f"),
              QStringLiteral("json"), QStringLiteral("-q")});
    CHECK_EXIT(json, 0);
    QVERIFY2(json.out.startsWith("{\"client\":\""), qPrintable(json.diagnostics()));
    QVERIFY2(json.out.endsWith("\",\"info\":\"phone\",\"node\":\"cli-node\",\"user\":\"alice\"}\n"),
             qPrintable(json.diagnostics()));
    QVERIFY(json.err.isEmpty());

    Cli empty({QStringLiteral("presence"), ws, QStringLiteral("room.9")});
    Cli stats(
        {QStringLiteral("presence"), QStringLiteral("--stats"), ws, QStringLiteral("room.1")});
    CHECK_EXIT(stats, 0);
    QCOMPARE(stats.out, QByteArray("connections 3 users 2\n"));
    Cli user({QStringLiteral("presence"), QStringLiteral("--stats"), QStringLiteral("--user"),
              QStringLiteral("alice"), ws, QStringLiteral("room.1")});
    CHECK_EXIT(user, 0);
    QCOMPARE(user.out, QByteArray("connections 3 users 2 user-connections 2\n"));
    Cli userJson({QStringLiteral("presence"), QStringLiteral("--stats"), QStringLiteral("--user"),
                  QStringLiteral("bob"), ws, QStringLiteral("room.2"), QStringLiteral("-f"),
                  QStringLiteral("json")});
    CHECK_EXIT(userJson, 0);
    QCOMPARE(userJson.out, QByteArray("{\"connections\":1,\"userConnections\":0,\"users\":1}\n"));
    // room.9 is not granted to the token: 403.
    CHECK_EXIT(empty, 1);
    QVERIFY2(empty.err.contains("lhttp-cli: server error 403: token does not allow subscribing to "
                                "'room.9'"),
             qPrintable(empty.diagnostics()));
}

void tst_Cli::presenceErrors() {
    LhttpdProcess node;
    QVERIFY(startPresenceNode(node));
    const QString ws = userUrl(node, QStringLiteral("cli")).toString();
    Cli plain({QStringLiteral("presence"), ws, QStringLiteral("plain")});
    CHECK_EXIT(plain, 1);
    QVERIFY2(plain.err.contains("lhttp-cli: server error 404: presence"),
             qPrintable(plain.diagnostics()));
    Cli stats({QStringLiteral("presence"), QStringLiteral("--stats"), ws, QStringLiteral("plain")});
    CHECK_EXIT(stats, 1);
    QVERIFY2(stats.err.contains("lhttp-cli: server error 404: "), qPrintable(stats.diagnostics()));
    Cli sub({QStringLiteral("sub"), QStringLiteral("--joins"), ws, QStringLiteral("plain")});
    CHECK_EXIT(sub, 1);
    QVERIFY2(sub.err.contains("server error 404"), qPrintable(sub.diagnostics()));
    Cli noToken({QStringLiteral("presence"), node.wsUrl().toString(), QStringLiteral("room.1")});
    CHECK_EXIT(noToken, 1);
    QVERIFY2(noToken.err.contains("cannot connect"), qPrintable(noToken.diagnostics()));
    Cli refused({QStringLiteral("presence"), QStringLiteral("ws://127.0.0.1:%1/").arg(freePort()),
                 QStringLiteral("room.1")});
    CHECK_EXIT(refused, 1);
    QVERIFY2(refused.err.contains("cannot connect"), qPrintable(refused.diagnostics()));
}

// sub --joins prints the others' joins and leaves as the messages they are, and counts them;
// --joins-self also its own join.
void tst_Cli::subJoinsPrintsEvents() {
    LhttpdProcess node;
    QVERIFY(startPresenceNode(node));
    const QString ws = userUrl(node, QStringLiteral("cli")).toString();
    Cli cli({QStringLiteral("sub"), QStringLiteral("--joins"), QStringLiteral("--info"),
             QStringLiteral("watching"), ws, QStringLiteral("room.1"), QStringLiteral("-f"),
             QStringLiteral("json"), QStringLiteral("-n"), QStringLiteral("3")});
    QVERIFY2(cli.errContains("subscribed to room.1"), qPrintable(cli.diagnostics()));
    WsClient alice;
    QVERIFY(alice.open(userUrl(node, QStringLiteral("alice"))));
    alice.send("LHTTP/1.0 chat\r\nsubscribe:room.1\r\npresence-info:hi\r\n\r\n");
    alice.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nhello");
    alice.send("LHTTP/1.0 chat\r\nunsubscribe:room.1\r\n\r\n");
    CHECK_EXIT(cli, 0);
    const QByteArrayList lines = cli.out.split('\n');
    QCOMPARE(lines.size(), 4);
    QVERIFY2(lines.at(0).startsWith(
                 R"({"body":"hi","command":"presence","headers":[["join","room.1"],["client",")"),
             qPrintable(cli.diagnostics()));
    QVERIFY2(lines.at(0).endsWith(R"("],["node","cli-node"],["user","alice"]]})"),
             qPrintable(cli.diagnostics()));
    QCOMPARE(lines.at(1),
             QByteArray(R"({"body":"hello","command":"chat","headers":[["publish","room.1"]]})"));
    QCOMPARE(lines.at(2), QByteArray(lines.at(0)).replace(R"(["join")", R"(["leave")"));

    // The others see the CLI's info; --joins-self prints its own join (and no leave ever).
    WsClient bob;
    QVERIFY(bob.open(userUrl(node, QStringLiteral("bob"))));
    bob.send("LHTTP/1.0 chat\r\nsubscribe:room.2\r\njoins:room.2\r\n\r\n");
    QVERIFY(bob.sync());
    const int before = int(bob.received.size());
    Cli self({QStringLiteral("sub"), QStringLiteral("--joins-self"), QStringLiteral("--info"),
              QStringLiteral("me\tmyself"), ws, QStringLiteral("room.2"), QStringLiteral("-f"),
              QStringLiteral("line"), QStringLiteral("-n"), QStringLiteral("1")});
    CHECK_EXIT(self, 0);
    QVERIFY2(
        QRegularExpression(
            QStringLiteral(
                R"(^LHTTP/1.0 presence\\r\\njoin:room.2\\r\\nclient:\d+\\r\\nnode:cli-node\\r\\nuser:cli\\r\\n\\r\\nme\\tmyself\n$)"))
            .match(QString::fromUtf8(self.out))
            .hasMatch(),
        qPrintable(self.diagnostics()));
    QTRY_VERIFY(bob.received.size() >= before + 2); // its join and its leave
    QVERIFY(bob.received.at(before).startsWith("LHTTP/1.0 presence\r\njoin:room.2\r\n"));
    QVERIFY(bob.received.at(before).endsWith("\r\nuser:cli\r\n\r\nme\tmyself"));
    QVERIFY(bob.received.at(before + 1).startsWith("LHTTP/1.0 presence\r\nleave:room.2\r\n"));
}

void tst_Cli::pubOverWebSocket() {
    auto w = subscriber("room other");
    QVERIFY(w);
    Cli cli({QStringLiteral("pub"), url(), QStringLiteral("room other"), QStringLiteral("hello"),
             QStringLiteral("-H"), QStringLiteral("k: v:w"), QStringLiteral("--header"),
             QStringLiteral("content-type:json"), QStringLiteral("-c"), QStringLiteral("note")});
    CHECK_EXIT(cli, 0);
    QVERIFY(cli.out.isEmpty());
    QVERIFY(w->waitForMessages(2));
    const QByteArray expected =
        "LHTTP/1.0 note\r\npublish:room other\r\nk:v:w\r\ncontent-type:json\r\n\r\nhello";
    QCOMPARE(w->received.at(0), expected);
    QCOMPARE(w->received.at(1), expected);
    // The default command is chat.
    Cli plain({QStringLiteral("pub"), url(), QStringLiteral("room"), QStringLiteral("x")});
    CHECK_EXIT(plain, 0);
    QVERIFY(w->waitForMessages(3));
    QCOMPARE(w->received.at(2), QByteArray("LHTTP/1.0 chat\r\npublish:room\r\n\r\nx"));
}

void tst_Cli::pubFromStdinWithEscapes() {
    auto w = subscriber("room");
    QVERIFY(w);
    Cli escaped({QStringLiteral("pub"), url(), QStringLiteral("room"),
                 QStringLiteral("a\\r\\n\\r\\nb\\x21"), QStringLiteral("-e")});
    CHECK_EXIT(escaped, 0);
    QVERIFY(w->waitForMessages(1));
    QCOMPARE(w->received.at(0), QByteArray("LHTTP/1.0 chat\r\npublish:room\r\n\r\na\r\n\r\nb!"));

    Cli fromStdin({QStringLiteral("pub"), url(), QStringLiteral("room"), QStringLiteral("-")});
    QVERIFY(fromStdin.process.waitForStarted());
    const QByteArray data("binary \xff\x00 and\nlines\n", 20);
    fromStdin.process.write(data);
    fromStdin.process.closeWriteChannel();
    CHECK_EXIT(fromStdin, 0);
    QVERIFY(w->waitForMessages(2));
    QCOMPARE(w->received.at(1), "LHTTP/1.0 chat\r\npublish:room\r\n\r\n" + data);
    QVERIFY(w->receivedBinary.at(1));
}

void tst_Cli::pubErrorReply() {
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    o.limits.maxMessageSize = 100;
    restart(o);
    Cli cli({QStringLiteral("pub"), url(), QStringLiteral("room"), QString(200, QLatin1Char('x'))});
    CHECK_EXIT(cli, 1);
    QVERIFY2(cli.err.contains("server error 413"), qPrintable(cli.diagnostics()));
}

void tst_Cli::pubConnectionRefused() {
    const QString dead = QStringLiteral("ws://127.0.0.1:%1/").arg(freePort());
    Cli cli({QStringLiteral("pub"), dead, QStringLiteral("room"), QStringLiteral("x")});
    CHECK_EXIT(cli, 1);
    QVERIFY2(cli.err.contains("cannot connect"), qPrintable(cli.diagnostics()));
    Cli http({QStringLiteral("pub"), dead, QStringLiteral("room"), QStringLiteral("x"),
              QStringLiteral("--http")});
    CHECK_EXIT(http, 1);
    QVERIFY2(http.err.contains("refused"), qPrintable(http.diagnostics()));
}

void tst_Cli::pubHttp() {
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    o.apiKey = "s3cret";
    restart(o);
    auto w = subscriber("room");
    QVERIFY(w);
    const QStringList base{QStringLiteral("pub"),    url(),
                           QStringLiteral("room"),   QStringLiteral("over http"),
                           QStringLiteral("--http"), QStringLiteral("-H"),
                           QStringLiteral("k:v")};

    Cli ok(base + QStringList{QStringLiteral("--api-key"), QStringLiteral("s3cret")});
    CHECK_EXIT(ok, 0);
    QVERIFY(ok.out.isEmpty());
    QVERIFY(w->waitForMessages(1));
    QCOMPARE(w->received.at(0),
             QByteArray("LHTTP/1.0 chat\r\npublish:room\r\nk:v\r\n\r\nover http"));

    Cli fromEnv(base, {QStringLiteral("LHTTP_API_KEY=s3cret")});
    CHECK_EXIT(fromEnv, 0);
    QVERIFY(w->waitForMessages(2));

    // An http:// URL with a path is the endpoint itself.
    Cli explicitPath({QStringLiteral("pub"),
                      QStringLiteral("http://127.0.0.1:%1/publish").arg(server->serverPort()),
                      QStringLiteral("room"), QStringLiteral("x"), QStringLiteral("--http"),
                      QStringLiteral("--api-key"), QStringLiteral("s3cret")});
    CHECK_EXIT(explicitPath, 0);
    QVERIFY(w->waitForMessages(3));

    Cli wrong(base + QStringList{QStringLiteral("--api-key"), QStringLiteral("nope")});
    CHECK_EXIT(wrong, 1);
    QVERIFY2(wrong.err.contains("HTTP 401"), qPrintable(wrong.diagnostics()));
    Cli missing(base);
    CHECK_EXIT(missing, 1);
    QVERIFY2(missing.err.contains("HTTP 401"), qPrintable(missing.diagnostics()));
    QVERIFY(w->staysQuiet());
    QCOMPARE(w->received.size(), 3);
}

void tst_Cli::tlsTrust_data() {
    m_certificates = std::make_unique<QTemporaryDir>();
    QVERIFY(m_certificates->isValid());
    // The node's certificate, and another self-signed one that plays a CA that did not sign it.
    QVERIFY2(testtls::makeCertificate(*m_certificates, QStringLiteral("node")),
             "openssl must be installed");
    QVERIFY(testtls::makeCertificate(*m_certificates, QStringLiteral("other")));

    QTest::addColumn<QStringList>("options");
    QTest::addColumn<bool>("accepted");
    const QString node = m_certificates->filePath(QStringLiteral("node.pem"));
    const QString other = m_certificates->filePath(QStringLiteral("other.pem"));
    QTest::newRow("system CAs only") << QStringList() << false;
    QTest::newRow("--cacert the node's CA")
        << QStringList{QStringLiteral("--cacert"), node} << true;
    QTest::newRow("-k") << QStringList{QStringLiteral("-k")} << true;
    QTest::newRow("--insecure") << QStringList{QStringLiteral("--insecure")} << true;
    QTest::newRow("--cacert another CA") << QStringList{QStringLiteral("--cacert"), other} << false;
}

// An lhttpd-qt node with a self-signed certificate, reached by every mode that connects: sub,
// pub over the WebSocket and over HTTP, and the shell. With --cacert of its CA or -k they
// work; otherwise each ends with status 1 and the certificate error.
void tst_Cli::tlsTrust() {
    QFETCH(QStringList, options);
    QFETCH(bool, accepted);
    testtls::TlsNode node(*m_certificates, QStringLiteral("node"));
    QVERIFY(node.start());
    const QString wss = QStringLiteral("wss://127.0.0.1:%1/").arg(node.port);
    auto expectRefused = [](Cli &cli) {
        CHECK_EXIT(cli, 1);
        QVERIFY2(cli.err.contains("certificate"), qPrintable(cli.diagnostics()));
    };

    Cli sub(QStringList{QStringLiteral("sub"), wss, QStringLiteral("room"), QStringLiteral("-n"),
                        QStringLiteral("2"), QStringLiteral("-f"), QStringLiteral("body")} +
            options);
    Cli shell(QStringList{wss} + options);
    if (accepted) {
        QVERIFY2(sub.errContains("subscribed to room"), qPrintable(sub.diagnostics()));
        QVERIFY2(shell.errContains("connected to"), qPrintable(shell.diagnostics()));
        shell.process.write("status\n");
        shell.process.closeWriteChannel();
        CHECK_EXIT(shell, 0);
        QVERIFY2(shell.out.contains("-- Connected wss://"), qPrintable(shell.diagnostics()));
    } else {
        expectRefused(sub);
        expectRefused(shell);
    }

    Cli pub(QStringList{QStringLiteral("pub"), wss, QStringLiteral("room"),
                        QStringLiteral("over wss")} +
            options);
    if (accepted) {
        CHECK_EXIT(pub, 0);
        QVERIFY2(sub.outContains("over wss\n"), qPrintable(sub.diagnostics()));
    } else {
        expectRefused(pub);
    }
    Cli http(QStringList{QStringLiteral("pub"), wss, QStringLiteral("room"),
                         QStringLiteral("over https"), QStringLiteral("--http")} +
             options);
    if (accepted) {
        CHECK_EXIT(http, 0);
        CHECK_EXIT(sub, 0);
        QCOMPARE(sub.out, QByteArray("over wss\nover https\n"));
    } else {
        expectRefused(http);
    }
}

void tst_Cli::shellThroughPipe() {
    Cli cli({url(), QStringLiteral("--no-edit")});
    QVERIFY2(cli.errContains("connected to"), qPrintable(cli.diagnostics()));
    auto w = subscriber("room");
    QVERIFY(w);
    cli.process.write("format line\n"
                      "subscribe room other\n"
                      "# a comment\n"
                      "\n"
                      "publish room hello\\tworld\n"
                      "send LHTTP/1.0 raw\\r\\npublish:other\\r\\n\\r\\nraw body\n"
                      "send LHTTP/1.0 no-crlf\n"
                      "upstream GET http://127.0.0.1:9/\n"
                      "command upload\n"
                      "multipart k1:v1|body1 ; k2:v2,k3:v\\x2c3|body2 ; |no headers\n"
                      "command chat\n"
                      "header extra:1\n"
                      "publish other with header\n"
                      "unsubscribe other\n"
                      "publish other not received\n"
                      "status\n"
                      "quit\n"
                      "publish room after quit: ignored\n");
    CHECK_EXIT(cli, 0);
    const QByteArray &out = cli.out;
    // Every message the shell published reached the outside subscriber too.
    QVERIFY(w->waitForMessages(1));
    QCOMPARE(w->received.at(0), QByteArray("LHTTP/1.0 chat\r\npublish:room\r\n\r\nhello\tworld"));

    // Replies arrive after the command that caused them, so all are in the line format.
    for (const char *needle :
         {"hello\\tworld", "raw body", "code:400", "code:403",
          "parts:3 [k1=v1 body1] [k2=v2 k3=v,3 body2] [no headers]",
          "LHTTP/1.0 chat\\r\\npublish:other\\r\\nextra:1\\r\\n\\r\\nwith header\n",
          "-- channels: room\n", "-- command: chat\n", "-- header extra:1\n"})
        QVERIFY2(out.contains(needle), qPrintable(QStringLiteral("missing: %1\n%2")
                                                      .arg(QLatin1String(needle))
                                                      .arg(cli.diagnostics())));
    QVERIFY(!out.contains("not received"));
    QVERIFY(!out.contains("after quit"));
}

void tst_Cli::shellEndOfInputWaitsForReplies() {
    Cli cli({url()});
    QVERIFY2(cli.errContains("connected to"), qPrintable(cli.diagnostics()));
    // No quit: end of input ends the shell, after the replies to what was sent arrived.
    cli.process.write("subscribe room\npublish room last words");
    cli.process.closeWriteChannel();
    CHECK_EXIT(cli, 0);
    QCOMPARE(cli.out, QByteArray("<< chat\n   publish: room\n   | last words\n"));
    QTRY_COMPARE(server->sessionCount(), 0);
}

void tst_Cli::shellProblemsKeepItRunning() {
    Cli cli({url()});
    QVERIFY2(cli.errContains("connected to"), qPrintable(cli.diagnostics()));
    cli.process.write("frobnicate\n"
                      "publish room bad\\q\n"
                      "subscribe a..b\n"
                      "publish\n"
                      "multipart no-bar\n"
                      "header novalue\n"
                      "format xml\n"
                      "command two words\n"
                      "help\n");
    QVERIFY(cli.outContains("unsubscribe CHANNEL"));
    cli.process.write("ping\n");
    QVERIFY2(cli.errContains("pong after"), qPrintable(cli.diagnostics()));
    cli.process.write("quit\n");
    CHECK_EXIT(cli, 0);
    for (const char *needle :
         {"unknown command 'frobnicate'", "unknown escape", "empty token", "usage: publish",
          "needs HEADERS|BODY", "usage: header", "unknown format", "command"})
        QVERIFY2(cli.err.contains(needle), qPrintable(cli.diagnostics()));
}

// `sub` and `pub` are the one-shot modes' names; the shell takes them too, as it takes `?` and
// `exit`, and its help lists them beside the long names.
void tst_Cli::shellShortForms() {
    Cli cli({url(), QStringLiteral("--format"), QStringLiteral("body")});
    QVERIFY2(cli.errContains("connected to"), qPrintable(cli.diagnostics()));
    cli.process.write("sub room\n"
                      "pub room short forms\n");
    QVERIFY2(cli.outContains("short forms\n"), qPrintable(cli.diagnostics()));
    cli.process.write("?\n");
    QVERIFY2(cli.outContains("quit, exit"), qPrintable(cli.diagnostics()));
    for (const char *line : {"  subscribe, sub CHANNEL...", "  publish, pub CHANNEL TEXT",
                             "  unsubscribe CHANNEL...", "  help, ?"})
        QVERIFY2(cli.out.contains(line), qPrintable(cli.diagnostics()));
    // A short form without its arguments gets the usage of the command it stands for.
    cli.process.write("pub\n");
    QVERIFY2(cli.errContains("usage: publish CHANNEL TEXT"), qPrintable(cli.diagnostics()));
    cli.process.write("exit\n");
    CHECK_EXIT(cli, 0);
    QVERIFY2(!cli.err.contains("unknown command"), qPrintable(cli.diagnostics()));
}

void tst_Cli::shellConnectionRefused() {
    Cli cli({QStringLiteral("127.0.0.1:%1").arg(freePort())});
    CHECK_EXIT(cli, 1);
    QVERIFY2(cli.err.contains("cannot connect"), qPrintable(cli.diagnostics()));
}

// The shell's recover and history commands against a node with history channels.
void tst_Cli::shellRecoverAndHistory() {
    LhttpdProcess node;
    QVERIFY(startHistoryNode(node, 100));
    WsClient w;
    QVERIFY(w.open(node.wsUrl()));
    for (int i = 1; i <= 3; ++i)
        w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nm" + QByteArray::number(i));
    QVERIFY(w.sync());
    Cli cli({node.wsUrl().toString(), QStringLiteral("-f"), QStringLiteral("body")});
    QVERIFY2(cli.errContains("connected to"), qPrintable(cli.diagnostics()));
    cli.process.write("history room.1 2\n");
    QVERIFY2(cli.errContains("-- history room.1: 2 messages, position 3 "),
             qPrintable(cli.diagnostics()));
    QCOMPARE(cli.out, QByteArray("m2\nm3\n"));
    cli.process.write("recover room.1\n");
    cli.process.write("status\n");
    QVERIFY2(cli.outContains("-- recovering room.1 at 3 "), qPrintable(cli.diagnostics()));
    w.send("LHTTP/1.0 chat\r\npublish:room.1\r\n\r\nlive");
    QVERIFY2(cli.outContains("live\n"), qPrintable(cli.diagnostics()));
    cli.process.write("history plain\n"
                      "history room.1 x\n"
                      "history\n"
                      "recover room.*\n");
    QVERIFY2(cli.errContains("!! error 404: "), qPrintable(cli.diagnostics()));
    QVERIFY2(cli.errContains("usage: history CHANNEL [LIMIT [OFFSET EPOCH]]", 2),
             qPrintable(cli.diagnostics()));
    QVERIFY2(cli.errContains("wildcard"), qPrintable(cli.diagnostics()));
    cli.process.write("quit\n");
    CHECK_EXIT(cli, 0);
}

// The shell's joins, info, presence and presence-stats commands.
void tst_Cli::shellPresence() {
    LhttpdProcess node;
    QVERIFY(startPresenceNode(node));
    Cli cli({userUrl(node, QStringLiteral("cli")).toString(), QStringLiteral("-f"),
             QStringLiteral("line")});
    QVERIFY2(cli.errContains("connected to"), qPrintable(cli.diagnostics()));
    cli.process.write("info\n"
                      "info at\\tdesk\n"
                      "joins room.1\n"
                      "status\n");
    QVERIFY2(cli.outContains("-- presence room.1 with join/leave events, info at\\tdesk\n"),
             qPrintable(cli.diagnostics()));
    QVERIFY(cli.out.startsWith("-- info: \n"));
    WsClient alice;
    QVERIFY(alice.open(userUrl(node, QStringLiteral("alice"))));
    alice.send("LHTTP/1.0 chat\r\nsubscribe:room.1\r\n\r\n");
    QVERIFY2(cli.outContains("LHTTP/1.0 presence\\r\\njoin:room.1\\r\\nclient:"),
             qPrintable(cli.diagnostics()));
    QVERIFY(cli.out.contains("\\r\\nnode:cli-node\\r\\nuser:alice\\r\\n\\r\\n\n"));
    cli.out.clear();
    cli.process.write("presence room.1\n");
    QVERIFY2(cli.errContains("-- presence room.1: 2 entries"), qPrintable(cli.diagnostics()));
    QCOMPARE(sortedLines(cli.out).size(), 2);
    QVERIFY2(cli.out.contains("\tcli-node\tcli\tat\\tdesk\n"), qPrintable(cli.diagnostics()));
    QVERIFY2(cli.out.contains("\tcli-node\talice\t\n"), qPrintable(cli.diagnostics()));
    cli.process.write("stats room.1 alice\n"
                      "presence-stats room.1\n");
    QVERIFY2(cli.outContains("connections 2 users 2 user-connections 1\nconnections 2 users 2\n"),
             qPrintable(cli.diagnostics()));
    cli.process.write("presence plain\n"
                      "presence\n"
                      "presence a b\n"
                      "stats room.*\n"
                      "joins room.>\n"
                      "info bad\\r\n");
    QVERIFY2(cli.outContains("LHTTP/1.0 error\\r\\ncode:404\\r\\n"), qPrintable(cli.diagnostics()));
    QVERIFY2(cli.errContains("usage: presence CHANNEL", 2), qPrintable(cli.diagnostics()));
    QVERIFY2(cli.errContains("wildcard", 2), qPrintable(cli.diagnostics()));
    QVERIFY2(cli.errContains("control bytes"), qPrintable(cli.diagnostics()));
    cli.process.write("quit\n");
    CHECK_EXIT(cli, 0);

    // Reads at the end of a script are answered before the shell leaves (end of input).
    Cli script({userUrl(node, QStringLiteral("cli")).toString()});
    script.process.write("joins room.2\n"
                         "presence-stats room.2 cli\n"
                         "presence room.2\n");
    script.process.closeWriteChannel();
    CHECK_EXIT(script, 0);
    QVERIFY2(script.out.startsWith("connections 1 users 1 user-connections 1\n"),
             qPrintable(script.diagnostics()));
    QVERIFY2(script.out.endsWith("\tcli-node\tcli\t\n"), qPrintable(script.diagnostics()));
    QVERIFY2(script.err.contains("-- presence room.2: 1 entries"),
             qPrintable(script.diagnostics()));
}

void tst_Cli::shellLineEditingOnTerminal() {
    Cli version({QStringLiteral("--version")});
    CHECK_EXIT(version, 0);
    if (!version.out.contains("libedit"))
        QSKIP("lhttp-cli was built without libedit (Debian libedit-dev): no line editor to test");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString history = dir.filePath(QStringLiteral("history"));
    PtyCli cli({url(), QStringLiteral("--no-color")},
               {QStringLiteral("LHTTP_CLI_HISTORY=") + history});
    QVERIFY(cli.started());
    QVERIFY2(cli.waitFor("lhttp> "), qPrintable(cli.diagnostics()));
    cli.type("subscribe room\r");
    cli.type("ping\r");
    QVERIFY2(cli.waitFor("pong after"), qPrintable(cli.diagnostics()));

    // Editing: three times Left moves the cursor back behind the 'h', where 'e' goes in.
    cli.type("publish room hllo\x1b[D\x1b[D\x1b[De\r");
    QVERIFY2(cli.waitFor("   | hello\r\n"), qPrintable(cli.diagnostics()));
    // History: Up brings the last line back.
    cli.type("\x1b[A\r");
    QVERIFY2(cli.waitFor("   | hello\r\n", 2), qPrintable(cli.diagnostics()));

    // A message that arrives while a line is half typed is printed, and the half-typed line is
    // drawn again below it and can be finished.
    cli.type("publish room wor");
    QVERIFY2(cli.waitFor("publish room wor"), qPrintable(cli.diagnostics()));
    WsClient outside;
    QVERIFY(outside.open(QUrl(url())));
    outside.send("LHTTP/1.0 chat\r\npublish:room\r\n\r\nfrom outside");
    QVERIFY2(cli.waitFor("   | from outside\r\n"), qPrintable(cli.diagnostics()));
    QVERIFY2(cli.waitForAfter("lhttp> publish room wor", "from outside"),
             qPrintable(cli.diagnostics()));
    cli.type("ld\r");
    QVERIFY2(cli.waitFor("   | world\r\n"), qPrintable(cli.diagnostics()));

    // Ctrl-D on an empty line leaves; the history is saved for the next session.
    cli.type("\x04");
    QVERIFY2(cli.finished(), qPrintable(cli.diagnostics()));
    QVERIFY2(cli.exitCode() == 0, qPrintable(cli.diagnostics()));
    QTRY_COMPARE(server->sessionCount(), 1); // the outside publisher's
    QFile file(history);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray saved = file.readAll().replace("\\040", " "); // libedit's encoding
    for (const char *line : {"subscribe room\n", "publish room hello\n", "publish room world\n"})
        QVERIFY2(saved.contains(line), saved.constData());
}

// What a command prints (help, status, a complaint) comes out while libedit has finished the
// line and not yet drawn the next prompt. It must not redraw the finished line then: the screen
// showed "lhttp> statuslhttp> help", the typed line glued to the next prompt.
void tst_Cli::shellCommandOutputOnTerminal() {
    Cli version({QStringLiteral("--version")});
    CHECK_EXIT(version, 0);
    if (!version.out.contains("libedit"))
        QSKIP("lhttp-cli was built without libedit (Debian libedit-dev): no line editor to test");
    PtyCli cli({url(), QStringLiteral("--no-color")}, {QStringLiteral("LHTTP_CLI_HISTORY=")});
    QVERIFY(cli.started());
    QVERIFY2(cli.waitFor("lhttp> "), qPrintable(cli.diagnostics()));
    cli.type("status\r");
    QVERIFY2(cli.waitFor("-- format: pretty\r\n"), qPrintable(cli.diagnostics()));
    cli.type("help\r");
    QVERIFY2(cli.waitFor("# are ignored.\r\n"), qPrintable(cli.diagnostics()));
    cli.type("frobnicate\r");
    QVERIFY2(cli.waitFor("unknown command 'frobnicate'"), qPrintable(cli.diagnostics()));
    cli.type("ping\r");
    QVERIFY2(cli.waitFor("pong after"), qPrintable(cli.diagnostics()));
    cli.type("\x04");
    QVERIFY2(cli.finished(), qPrintable(cli.diagnostics()));
    QVERIFY2(cli.exitCode() == 0, qPrintable(cli.diagnostics()));

    for (const char *typed : {"status", "help", "frobnicate"}) {
        // Echoed once, as typed, and never again in front of a prompt.
        const QByteArray line = QByteArray("lhttp> ") + typed;
        QVERIFY2(cli.out.count(line) == 1, qPrintable(cli.diagnostics()));
        QVERIFY2(!cli.out.contains(typed + QByteArray("lhttp> ")), qPrintable(cli.diagnostics()));
    }
    // The next prompt starts the line after the output.
    QVERIFY2(cli.out.contains("-- format: pretty\r\nlhttp> help\r\n"),
             qPrintable(cli.diagnostics()));
    QVERIFY2(cli.out.contains("# are ignored.\r\nlhttp> frobnicate\r\n"),
             qPrintable(cli.diagnostics()));
}

QTEST_GUILESS_MAIN(tst_Cli)
#include "tst_cli.moc"

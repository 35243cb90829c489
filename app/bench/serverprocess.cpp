// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "serverprocess.h"

#include <QCoreApplication>
#include <QFile>
#include <QFileInfo>
#include <QNetworkProxy>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>

#include <csignal>
#include <cstdio>
#include <sys/prctl.h>

namespace bench {

namespace {

constexpr int StartTimeoutMs = 10'000;
constexpr int StopTimeoutMs = 10'000;
// The end of a failed server's log that is shown.
constexpr qint64 LogTailBytes = 16 * 1024;

} // namespace

ServerProcess::~ServerProcess() {
    stop();
}

QString ServerProcess::name(Kind kind) {
    switch (kind) {
    case Kind::Reference:
        return QStringLiteral("reference");
    case Kind::Lhttpd:
        return QStringLiteral("lhttpd-qt");
    case Kind::Nats:
    case Kind::NatsWebSocket:
        return QStringLiteral("nats-server");
    }
    return {};
}

QString ServerProcess::findNatsServer() {
    const QString env = qEnvironmentVariable("NATS_SERVER_BIN");
    if (!env.isEmpty())
        return QFileInfo(env).isExecutable() ? env : QString();
    QString path = QStandardPaths::findExecutable(QStringLiteral("nats-server"));
    if (path.isEmpty())
        path = QStandardPaths::findExecutable(
            QStringLiteral("nats-server"),
            {QStringLiteral("/usr/sbin"), QStringLiteral("/usr/local/sbin")});
    return path;
}

QString ServerProcess::natsUrl() const {
    return QStringLiteral("nats://127.0.0.1:%1")
        .arg(m_kind == Kind::NatsWebSocket ? m_natsPort : m_port);
}

quint16 ServerProcess::freePort() {
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort();
}

QString ServerProcess::wsUrl() const {
    return QStringLiteral("ws://127.0.0.1:%1/").arg(m_port);
}

QString ServerProcess::publishHttpUrl() const {
    return QStringLiteral("http://127.0.0.1:%1/publish").arg(m_port);
}

bool ServerProcess::start(Kind kind, const QString &program, QString *error,
                          const QStringList &extraArgs) {
    stop();
    m_kind = kind;
    m_port = freePort();
    // Its log (and nats-server's config file) go into a directory of its own.
    m_dir = std::make_unique<QTemporaryDir>();
    if (!m_dir->isValid()) {
        *error = QStringLiteral("cannot make a temporary directory: ") + m_dir->errorString();
        return false;
    }
    const QString port = QString::number(m_port);
    QStringList args;
    QString path = program;
    if (kind == Kind::Reference) {
        path = QCoreApplication::applicationFilePath();
        args = {QStringLiteral("reference"), QStringLiteral("--listen"),
                QStringLiteral("127.0.0.1"), QStringLiteral("--port"), port};
    } else if (kind == Kind::Nats) {
        // JetStream on (its store in the temporary directory) for the history legs; core NATS
        // traffic does not touch it.
        args = {QStringLiteral("-a"),
                QStringLiteral("127.0.0.1"),
                QStringLiteral("-p"),
                port,
                QStringLiteral("-js"),
                QStringLiteral("-sd"),
                m_dir->filePath(QStringLiteral("js"))};
    } else if (kind == Kind::NatsWebSocket) {
        // The WebSocket listener needs a config file. Pings every 25 s as lhttpd-qt's default
        // (nats-server's own default is 2 minutes), so idle connections cost alike.
        m_natsPort = freePort();
        const QString config = m_dir->filePath(QStringLiteral("nats.conf"));
        QFile f(config);
        if (!f.open(QIODevice::WriteOnly)) {
            *error = QStringLiteral("cannot write a nats-server config file");
            return false;
        }
        f.write(QStringLiteral("listen: \"127.0.0.1:%1\"\nping_interval: \"25s\"\n"
                               "websocket {\n  host: \"127.0.0.1\"\n  port: %2\n"
                               "  no_tls: true\n}\n")
                    .arg(m_natsPort)
                    .arg(m_port)
                    .toUtf8());
        f.close();
        args = {QStringLiteral("-c"), config};
    } else {
        // A short drain: with 15,000 idle connections the default one (5 s window plus 5 s
        // close grace) outlasted StopTimeoutMs and the harness killed the server.
        args = {QStringLiteral("--listen"),       QStringLiteral("127.0.0.1"),
                QStringLiteral("--port"),         port,
                QStringLiteral("--log-level"),    QStringLiteral("warning"),
                QStringLiteral("--drain-window"), QStringLiteral("1000"),
                QStringLiteral("--close-grace"),  QStringLiteral("2000")};
    }
    args += extraArgs;
    // Its log goes to a file, shown only if the server fails. Not a pipe: nobody drains a
    // pipe while the harness waits for the Go client, and a server that logs more than the
    // pipe holds (64 KiB) would stall in write(2).
    m_process.setStandardOutputFile(QProcess::nullDevice());
    m_process.setStandardErrorFile(m_dir->filePath(QStringLiteral("server.log")));
    // If lhttp-bench itself is killed, its servers go too (no orphan holding ports and CPU).
    m_process.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGTERM); });
    m_process.setProcessChannelMode(QProcess::SeparateChannels);
    m_process.start(path, args);
    if (!m_process.waitForStarted(StartTimeoutMs)) {
        *error = QStringLiteral("cannot start %1: %2").arg(path, m_process.errorString());
        return false;
    }
    // Ready when the port accepts connections.
    for (int waited = 0; waited < StartTimeoutMs; waited += 20) {
        QTcpSocket probe;
        probe.setProxy(QNetworkProxy::NoProxy);
        probe.connectToHost(QHostAddress::LocalHost, m_port);
        if (probe.waitForConnected(200)) {
            probe.abort();
            return true;
        }
        if (m_process.state() != QProcess::Running)
            break;
        QThread::msleep(20);
    }
    *error = QStringLiteral("%1 did not start listening on port %2").arg(name(kind), port);
    stop();
    *error += QStringLiteral("; its output: ") + QString::fromUtf8(logTail());
    return false;
}

bool ServerProcess::waitHistoryReady(QString *error) {
    for (int waited = 0; waited < StartTimeoutMs; waited += 50) {
        QTcpSocket http;
        http.setProxy(QNetworkProxy::NoProxy);
        http.connectToHost(QHostAddress::LocalHost, m_port);
        if (http.waitForConnected(200)) {
            http.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            QByteArray answer;
            while (http.waitForReadyRead(500))
                answer += http.readAll();
            if (answer.contains("\"ready\":true"))
                return true;
        }
        QThread::msleep(50);
    }
    *error = QStringLiteral("lhttpd-qt on port %1: history not ready; its output: %2")
                 .arg(m_port)
                 .arg(QString::fromUtf8(logTail()));
    return false;
}

QByteArray ServerProcess::logTail() const {
    if (!m_dir)
        return {};
    QFile f(m_dir->filePath(QStringLiteral("server.log")));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    if (f.size() > LogTailBytes)
        f.seek(f.size() - LogTailBytes);
    return f.readAll();
}

void ServerProcess::warnLogged() const {
    // lhttpd-qt runs at --log-level warning (lines "<time> <W|C|F> <category>: ...") and the
    // floor logs nothing: such lines mean something went wrong, and their writes are in the
    // figures. Read in full: a warning per connection is a few MB at most.
    QFile f(m_dir->filePath(QStringLiteral("server.log")));
    if (!f.open(QIODevice::ReadOnly))
        return;
    qint64 count = 0;
    QByteArray first;
    while (!f.atEnd()) {
        const QByteArray line = f.readLine().trimmed();
        const QList<QByteArray> words = line.split(' ');
        const bool warning =
            m_kind == Kind::Reference
                ? !line.isEmpty()
                : words.size() > 2 && (words[1] == "W" || words[1] == "C" || words[1] == "F");
        if (warning && count++ == 0)
            first = line;
    }
    if (count > 0)
        std::fprintf(stderr, "lhttp-bench: %s logged %lld warnings; the first: %s\n",
                     qPrintable(name(m_kind)), count, first.constData());
}

void ServerProcess::stop() {
    if (m_process.state() == QProcess::NotRunning)
        return;
    const qint64 pid = m_process.processId();
    if (pid > 0)
        ::kill(pid_t(pid), SIGTERM);
    if (!m_process.waitForFinished(StopTimeoutMs)) {
        m_process.kill(); // SIGKILL to this child, by its pid
        m_process.waitForFinished(StopTimeoutMs);
    }
    const QByteArray log = logTail();
    // nats-server answers SIGTERM with exit code 1; only a crash of it is news.
    const bool nats = m_kind == Kind::Nats || m_kind == Kind::NatsWebSocket;
    const bool failed =
        nats ? m_process.exitStatus() == QProcess::CrashExit
             : (m_process.exitStatus() == QProcess::CrashExit || m_process.exitCode() != 0);
    if (failed) {
        std::fprintf(stderr, "lhttp-bench: server exited abnormally (code %d); its output:\n%s\n",
                     m_process.exitCode(), log.constData());
    } else if (!nats) {
        warnLogged();
    }
}

} // namespace bench

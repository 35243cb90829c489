// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "lhttpdprocess.h"

#include "ports.h"

#include <QDebug>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTest>

#include <csignal>

namespace {

// Attempts on a fresh port when the one picked was taken before lhttpd-qt could bind it.
constexpr int PortAttempts = 3;
// What lhttpd-qt prints (and exits 1) when it cannot bind.
constexpr char PortTakenMessage[] = "cannot listen on port";
// The most of the output shown with a failure: its end, where the reason is.
constexpr qsizetype ShownOutputBytes = 16 * 1024;

} // namespace

LhttpdProcess::LhttpdProcess()
    : m_port(testports::freePort()) {
    m_process.setProcessChannelMode(QProcess::MergedChannels);
    // Read as it comes, so that a chatty process never blocks on a full pipe.
    QObject::connect(&m_process, &QProcess::readyRead, &m_process,
                     [this] { m_output += m_process.readAll(); });
}

LhttpdProcess::~LhttpdProcess() {
    if (isRunning())
        stop();
    if (QTest::currentTestFailed())
        showOutput("the test failed");
}

QString LhttpdProcess::binary() {
    return qEnvironmentVariable("LHTTPD_BIN");
}

void LhttpdProcess::setEnvironment(const QProcessEnvironment &environment) {
    m_process.setProcessEnvironment(environment);
}

bool LhttpdProcess::start(const QStringList &args) {
    for (int attempt = 1;; ++attempt) {
        const QStringList listen{QStringLiteral("--listen"), QStringLiteral("127.0.0.1"),
                                 QStringLiteral("--port"), QString::number(m_port)};
        const QString failure = run(listen + args);
        if (failure.isEmpty())
            return true;
        if (attempt == PortAttempts || !m_output.contains(PortTakenMessage)) {
            showOutput(qPrintable(failure));
            return false;
        }
        qInfo("lhttpd-qt: port %u was taken meanwhile, trying another", unsigned(m_port));
        m_port = testports::freePort();
    }
}

bool LhttpdProcess::startAsGiven(const QStringList &args) {
    const QString failure = run(args);
    if (failure.isEmpty())
        return true;
    showOutput(qPrintable(failure));
    return false;
}

QString LhttpdProcess::run(const QStringList &given) {
    if (isRunning())
        stop();
    // The test matrix: LHTTP_THREADS runs every node on that many event loops, unless the test
    // says otherwise.
    QStringList args = given;
    const QString threads = qEnvironmentVariable("LHTTP_THREADS");
    if (!threads.isEmpty() && !args.contains(QStringLiteral("--threads")) &&
        !args.contains(QStringLiteral("--config")))
        args << QStringLiteral("--threads") << threads;
    m_output.clear();
    m_outputShown = false;
    const QString bin = binary();
    if (!QFileInfo(bin).isExecutable())
        return QStringLiteral("LHTTPD_BIN (%1) must point at the lhttpd-qt executable").arg(bin);
    if (m_niceness > 0)
        m_process.start(QStringLiteral("nice"),
                        QStringList{QStringLiteral("-n"), QString::number(m_niceness), bin} + args);
    else
        m_process.start(bin, args);
    if (!m_process.waitForStarted())
        return QStringLiteral("cannot run %1: %2").arg(bin, m_process.errorString());
    if (testports::waitForPort(m_port, &m_process, StartTimeoutMs))
        return {};
    m_output += m_process.readAll();
    if (!isRunning())
        return QStringLiteral("it exited with code %1 before listening").arg(m_process.exitCode());
    stop();
    return QStringLiteral("it did not listen within %1 ms").arg(StartTimeoutMs);
}

bool LhttpdProcess::stop(int timeoutMs) {
    if (!isRunning())
        return true;
    sendSignal(SIGTERM);
    if (waitForExit(timeoutMs))
        return true;
    qWarning("lhttpd-qt (pid %lld) still running %d ms after SIGTERM: killed", pid(), timeoutMs);
    m_process.kill();
    m_process.waitForFinished(StopTimeoutMs);
    return false;
}

void LhttpdProcess::sendSignal(int signal) {
    if (isRunning())
        ::kill(pid_t(pid()), signal);
}

bool LhttpdProcess::waitForExit(int timeoutMs) {
    // With the event loop running: QProcess notices the exit there, and the test's clients
    // of this process keep answering it meanwhile.
    return QTest::qWaitFor([this] { return !isRunning(); }, timeoutMs);
}

QByteArray LhttpdProcess::output() {
    m_output += m_process.readAll();
    return m_output;
}

QUrl LhttpdProcess::wsUrl(const QString &path) const {
    return QUrl(QStringLiteral("ws://127.0.0.1:%1%2").arg(m_port).arg(path));
}

QUrl LhttpdProcess::httpUrl(const QString &path) const {
    return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_port).arg(path));
}

void LhttpdProcess::showOutput(const char *why) {
    if (m_outputShown)
        return;
    m_outputShown = true;
    const QByteArray all = output();
    const QByteArray shown = all.right(ShownOutputBytes);
    qWarning().noquote().nospace()
        << "lhttpd-qt on port " << m_port << ": " << why << "; its output"
        << (shown.size() < all.size() ? " (the end)" : "") << ":\n"
        << (shown.isEmpty() ? QByteArray("(none)") : shown);
}

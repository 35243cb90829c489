// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QUrl>

// An lhttpd-qt process ($LHTTPD_BIN) on a loopback port, for tests that need the real
// executable. The port is picked when the object is made, so a test can write it into a
// config file before start(). start() returns once the port accepts connections; the
// process's output (stdout and stderr together) is kept, shown when start() fails and, when
// the test failed, when the object goes. The destructor stops a process still running.
//
//     LhttpdProcess lhttpd;
//     QVERIFY(lhttpd.start({QStringLiteral("--admin-token"), token}));
//     WsClient c;
//     QVERIFY(c.open(lhttpd.wsUrl()));
//     QVERIFY(lhttpd.stop());
//     QCOMPARE(lhttpd.exitCode(), 0);
class LhttpdProcess {
public:
    // How long start() waits for the port, and stop() for the exit after SIGTERM.
    static constexpr int StartTimeoutMs = 15'000;
    static constexpr int StopTimeoutMs = 10'000;

    LhttpdProcess();
    ~LhttpdProcess();
    LhttpdProcess(const LhttpdProcess &) = delete;
    LhttpdProcess &operator=(const LhttpdProcess &) = delete;

    // Runs `lhttpd-qt --listen 127.0.0.1 --port <port()> <args>` and waits until the port
    // accepts connections. Should the port have been taken meanwhile (another test picked it
    // too), it tries again on a new one. False, with the reason and the output logged, when
    // the process exits or does not listen within StartTimeoutMs.
    bool start(const QStringList &args = {});
    // Runs `lhttpd-qt <args>` as given: the arguments (a config file) make it listen on port().
    bool startAsGiven(const QStringList &args);

    // SIGTERM, then up to `timeoutMs` for the exit with the event loop running (clients in
    // this process answer the close handshake meanwhile), then SIGKILL. True when it exited on
    // its own within the bound; exitCode() and exitStatus() say how.
    bool stop(int timeoutMs = StopTimeoutMs);
    // Sends `signal` (SIGTERM to drain, SIGHUP to reload, ...) and returns at once.
    void sendSignal(int signal);
    // Waits, with the event loop running, until the process has exited.
    bool waitForExit(int timeoutMs = StopTimeoutMs);

    // Runs it under `nice -n niceness` (when > 0) from the next start on.
    void setNiceness(int niceness) { m_niceness = niceness; }
    // Its environment from the next start on (the test's own by default).
    void setEnvironment(const QProcessEnvironment &environment);

    bool isRunning() const { return m_process.state() != QProcess::NotRunning; }
    qint64 pid() const { return m_process.processId(); }
    int exitCode() const { return m_process.exitCode(); }
    QProcess::ExitStatus exitStatus() const { return m_process.exitStatus(); }
    // Everything it wrote so far, stdout and stderr merged.
    QByteArray output();

    quint16 port() const { return m_port; }
    // ws://127.0.0.1:<port><path> and http://127.0.0.1:<port><path>.
    QUrl wsUrl(const QString &path = QStringLiteral("/")) const;
    QUrl httpUrl(const QString &path = QStringLiteral("/")) const;

    // $LHTTPD_BIN (CTest sets it).
    static QString binary();

private:
    // Starts it and waits for the port; empty on success, else what went wrong.
    QString run(const QStringList &args);
    void showOutput(const char *why);

    QProcess m_process;
    QByteArray m_output;
    quint16 m_port;
    int m_niceness = 0;
    bool m_outputShown = false;
};

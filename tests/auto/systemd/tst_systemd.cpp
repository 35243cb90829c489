// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// lhttpd-qt under systemd, without systemd as PID 1 (docs/DEPLOY.md): the `Type=notify`
// protocol read from a fake NOTIFY_SOCKET the test binds — READY=1 once the port listens, a
// WATCHDOG=1 from the event loop at half of WATCHDOG_USEC, RELOADING=1 and READY=1 around a
// SIGHUP, STOPPING=1 on SIGTERM —, socket activation through systemd-socket-activate (the
// port is bound by it and handed over), journal-style log lines when stderr is the journal's
// stream, and the refusals (two sockets handed over).

#include "lhttpdprocess.h"
#include "ports.h"
#include "wsclient.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QStandardPaths>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <cstring>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using testports::freePort;
using testports::waitForPort;

namespace {

// A datagram socket bound to a path, read as systemd reads NOTIFY_SOCKET.
class NotifySocket {
public:
    explicit NotifySocket(const QString &path)
        : m_path(path.toLocal8Bit()) {
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un addr = {};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, m_path.constData(), sizeof addr.sun_path - 1);
        m_bound =
            m_fd >= 0 && ::bind(m_fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) == 0;
    }
    ~NotifySocket() {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    bool isBound() const { return m_bound; }
    QByteArray path() const { return m_path; }
    // Every datagram received so far, in order.
    QList<QByteArray> &read() {
        char buffer[4096];
        for (;;) {
            const ssize_t n = ::recv(m_fd, buffer, sizeof buffer, 0);
            if (n < 0)
                break;
            m_received.append(QByteArray(buffer, qsizetype(n)));
        }
        return m_received;
    }
    // Waits (event loop running) for a datagram containing `what`; its index, or -1.
    int waitFor(const QByteArray &what, int from = 0, int timeoutMs = 10'000) {
        QElapsedTimer t;
        t.start();
        do {
            const QList<QByteArray> &all = read();
            for (int i = from; i < all.size(); ++i) {
                if (all[i].split('\n').contains(what) || all[i].contains(what))
                    return i;
            }
            QTest::qWait(10);
        } while (t.elapsed() < timeoutMs);
        return -1;
    }
    int count(const QByteArray &what) {
        int n = 0;
        for (const QByteArray &d : read())
            n += d.split('\n').contains(what) ? 1 : 0;
        return n;
    }

private:
    QByteArray m_path;
    int m_fd = -1;
    bool m_bound = false;
    QList<QByteArray> m_received;
};

QString socketActivate() {
    return QStandardPaths::findExecutable(QStringLiteral("systemd-socket-activate"));
}

} // namespace

class tst_Systemd : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void notifyReadyWatchdogReloadStop();
    void noNotifySocketNoMessages();
    void socketActivation();
    void socketActivationRefusesTwoSockets();
    void journalLogLines();
};

void tst_Systemd::notifyReadyWatchdogReloadStop() {
    QTemporaryDir dir;
    NotifySocket notify(dir.path() + QStringLiteral("/notify"));
    QVERIFY(notify.isBound());
    LhttpdProcess lhttpd;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("NOTIFY_SOCKET"), QString::fromLocal8Bit(notify.path()));
    env.insert(QStringLiteral("WATCHDOG_USEC"), QStringLiteral("200000")); // 0.2 s
    lhttpd.setEnvironment(env);
    QVERIFY(lhttpd.start());
    const int ready = notify.waitFor("READY=1");
    QVERIFY(ready >= 0);
    // Not before the port listens: the status names it.
    QVERIFY2(notify.read()[ready].contains("STATUS=listening on port " +
                                           QByteArray::number(lhttpd.port())),
             notify.read()[ready].constData());
    // The watchdog at half the interval (0.1 s): about 10 in a second.
    QTest::qWait(1000);
    const int pings = notify.count("WATCHDOG=1");
    QVERIFY2(pings >= 5 && pings <= 15, qPrintable(QString::number(pings)));

    lhttpd.sendSignal(SIGHUP);
    const int reloading = notify.waitFor("RELOADING=1", ready + 1);
    QVERIFY(reloading > ready);
    QVERIFY(notify.waitFor("READY=1", reloading + 1) > reloading);

    lhttpd.sendSignal(SIGTERM);
    const int stopping = notify.waitFor("STOPPING=1", reloading + 1);
    QVERIFY(stopping > reloading);
    QVERIFY(notify.read()[stopping].contains("STATUS=draining 0 connections"));
    QVERIFY(lhttpd.waitForExit());
    QCOMPARE(lhttpd.exitCode(), 0);
}

void tst_Systemd::noNotifySocketNoMessages() {
    // Started by hand (no NOTIFY_SOCKET): nothing is sent anywhere, the node works.
    QTemporaryDir dir;
    NotifySocket notify(dir.path() + QStringLiteral("/notify"));
    LhttpdProcess lhttpd;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("NOTIFY_SOCKET"));
    env.insert(QStringLiteral("WATCHDOG_USEC"), QStringLiteral("200000"));
    lhttpd.setEnvironment(env);
    QVERIFY(lhttpd.start());
    WsClient c;
    QVERIFY(c.open(lhttpd.wsUrl()));
    QVERIFY(c.sync());
    QTest::qWait(300);
    QVERIFY(notify.read().isEmpty());
    QVERIFY(lhttpd.stop());
}

void tst_Systemd::socketActivation() {
    if (socketActivate().isEmpty())
        QSKIP("systemd-socket-activate is not installed (Debian: systemd)");
    // systemd-socket-activate binds the port, then runs lhttpd-qt with it as LISTEN_FDS on the
    // first connection — the way lhttpd-qt.socket does for a port below 1024.
    const quint16 port = freePort();
    QProcess activator;
    activator.setProcessChannelMode(QProcess::MergedChannels);
    activator.start(socketActivate(),
                    {QStringLiteral("-l"), QStringLiteral("127.0.0.1:%1").arg(port),
                     LhttpdProcess::binary(), QStringLiteral("--port"), QStringLiteral("1")});
    QVERIFY(activator.waitForStarted());
    QVERIFY(waitForPort(port, &activator));
    WsClient a, b;
    const QUrl url(QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    QVERIFY(a.open(url, 15'000));
    QVERIFY(b.open(url));
    a.send("LHTTP/1.0 chat\r\nsubscribe:room\r\n\r\n");
    QVERIFY(a.sync());
    b.send("LHTTP/1.0 chat\r\npublish:room\r\n\r\nactivated");
    QVERIFY(a.waitForMessages(1));
    QVERIFY(a.received[0].endsWith("activated"));
    // The port on the command line (1, privileged) was never bound: the socket passed was used.
    ::kill(pid_t(activator.processId()), SIGTERM); // lhttpd-qt replaced the activator's image
    QVERIFY(activator.waitForFinished(15'000));
    QCOMPARE(activator.exitCode(), 0);
    QVERIFY(activator.readAll().contains("listening on"));
}

void tst_Systemd::socketActivationRefusesTwoSockets() {
    if (socketActivate().isEmpty())
        QSKIP("systemd-socket-activate is not installed (Debian: systemd)");
    const quint16 port1 = freePort();
    const quint16 port2 = freePort();
    QProcess activator;
    activator.setProcessChannelMode(QProcess::MergedChannels);
    activator.start(socketActivate(),
                    {QStringLiteral("-l"), QStringLiteral("127.0.0.1:%1").arg(port1),
                     QStringLiteral("-l"), QStringLiteral("127.0.0.1:%1").arg(port2),
                     LhttpdProcess::binary()});
    QVERIFY(activator.waitForStarted());
    QVERIFY(waitForPort(port1, &activator));
    QTcpSocket poke;
    poke.connectToHost(QHostAddress::LocalHost, port1);
    QVERIFY(activator.waitForFinished(15'000));
    QCOMPARE(activator.exitCode(), 1);
    QVERIFY(activator.readAll().contains("socket activation passed 2 sockets"));
}

void tst_Systemd::journalLogLines() {
    // JOURNAL_STREAM naming stderr's own device and inode, as systemd sets it when
    // StandardError=journal: no time stamp, a <N> priority prefix. Here stderr is a pipe the
    // test reads; its identity is asked of a process with the same stderr (stat -L).
    QProcess lhttpd;
    lhttpd.setProcessChannelMode(QProcess::MergedChannels);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    // A shell finds its stderr's device:inode and starts lhttpd-qt with them.
    const quint16 port = freePort();
    env.insert(QStringLiteral("LHTTPD"), LhttpdProcess::binary());
    env.insert(QStringLiteral("PORT"), QString::number(port));
    lhttpd.setProcessEnvironment(env);
    lhttpd.start(QStringLiteral("/bin/sh"),
                 {QStringLiteral("-c"),
                  QStringLiteral("JOURNAL_STREAM=$(stat -L -c '%d:%i' /proc/self/fd/2) exec "
                                 "\"$LHTTPD\" --listen 127.0.0.1 --port \"$PORT\"")});
    QVERIFY(lhttpd.waitForStarted());
    QVERIFY(waitForPort(port, &lhttpd));
    ::kill(pid_t(lhttpd.processId()), SIGTERM);
    QVERIFY(lhttpd.waitForFinished(15'000));
    const QByteArray out = lhttpd.readAll();
    QVERIFY2(out.contains("\n<6>lhttp.server: listening on") || out.startsWith("<6>"),
             out.constData());
    QVERIFY(!out.contains(" I lhttp.server:")); // not the time-stamped form
}

QTEST_MAIN(tst_Systemd)
#include "tst_systemd.moc"

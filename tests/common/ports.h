#pragma once
// Helpers for tests that start processes listening on loopback ports.

#include <QHostAddress>
#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

namespace testports {

// A loopback port that was free a moment ago.
inline quint16 freePort() {
    QTcpServer s;
    s.listen(QHostAddress::LocalHost, 0);
    return s.serverPort();
}

// Waits (up to ~15 s) until something accepts connections on 127.0.0.1:port; false at once if
// the process, when given, has stopped running.
inline bool waitForPort(quint16 port, const QProcess *process = nullptr) {
    for (int i = 0; i < 200; ++i) {
        QTcpSocket probe;
        probe.connectToHost(QHostAddress::LocalHost, port);
        if (probe.waitForConnected(50))
            return true;
        if (process && process->state() != QProcess::Running)
            return false;
        QTest::qWait(25);
    }
    return false;
}

} // namespace testports

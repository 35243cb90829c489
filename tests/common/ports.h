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

// Waits up to `timeoutMs` until something accepts connections on 127.0.0.1:port; false as soon
// as the process, when given, has stopped running. The event loop runs between probes.
inline bool waitForPort(quint16 port, const QProcess *process = nullptr, int timeoutMs = 15'000) {
    return QTest::qWaitFor(
               [&] {
                   if (process && process->state() != QProcess::Running)
                       return true;
                   QTcpSocket probe;
                   probe.connectToHost(QHostAddress::LocalHost, port);
                   return probe.waitForConnected(50);
               },
               timeoutMs) &&
           (!process || process->state() == QProcess::Running);
}

} // namespace testports

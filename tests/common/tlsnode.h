#pragma once
// Helpers for tests of TLS clients: a self-signed certificate made at test time, and an
// lhttpd-qt node (LHTTPD_BIN) that serves wss:// and https:// with it.

#include "ports.h"

#include <QProcess>
#include <QString>
#include <QTemporaryDir>

#include <csignal>

namespace testtls {

// Makes a certificate for 127.0.0.1 that is its own CA, and its key: `name`.pem and `name`.key
// in `dir`. Two calls make two unrelated CAs.
inline bool makeCertificate(const QTemporaryDir &dir, const QString &name) {
    QProcess openssl;
    openssl.start(QStringLiteral("openssl"),
                  {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
                   QStringLiteral("rsa:2048"), QStringLiteral("-nodes"), QStringLiteral("-days"),
                   QStringLiteral("1"), QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1"),
                   QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1"),
                   QStringLiteral("-keyout"), dir.filePath(name + QStringLiteral(".key")),
                   QStringLiteral("-out"), dir.filePath(name + QStringLiteral(".pem"))});
    return openssl.waitForFinished(30'000) && openssl.exitStatus() == QProcess::NormalExit &&
           openssl.exitCode() == 0;
}

// An lhttpd-qt process on 127.0.0.1 with the certificate `name` from makeCertificate(); stopped
// with SIGTERM when destroyed.
class TlsNode {
public:
    TlsNode(const QTemporaryDir &dir, const QString &name)
        : port(testports::freePort()) {
        process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        process.start(qEnvironmentVariable("LHTTPD_BIN"),
                      {QStringLiteral("--listen"), QStringLiteral("127.0.0.1"),
                       QStringLiteral("--port"), QString::number(port),
                       QStringLiteral("--tls-cert"), dir.filePath(name + QStringLiteral(".pem")),
                       QStringLiteral("--tls-key"), dir.filePath(name + QStringLiteral(".key")),
                       QStringLiteral("--log-level"), QStringLiteral("warning")});
    }
    ~TlsNode() {
        if (process.state() == QProcess::NotRunning)
            return;
        ::kill(pid_t(process.processId()), SIGTERM);
        if (!process.waitForFinished(5000))
            process.kill();
    }
    // Waits until the node accepts connections.
    bool start() { return process.waitForStarted() && testports::waitForPort(port, &process); }

    QProcess process;
    const quint16 port;
};

} // namespace testtls

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

#include <memory>

namespace bench {

// A server under test, run as a child process on 127.0.0.1 and a free port: this tool's own
// `reference` mode, lhttpd-qt, a nats-server for cluster runs, or a nats-server with its
// WebSocket listener (the third server of the chat comparisons: wsUrl() is the WebSocket
// port, natsUrl() the client port). Stopped (SIGTERM, then SIGKILL) by its pid.
class ServerProcess {
public:
    enum class Kind { Reference, Lhttpd, Nats, NatsWebSocket };

    ServerProcess() = default;
    ~ServerProcess();
    ServerProcess(const ServerProcess &) = delete;
    ServerProcess &operator=(const ServerProcess &) = delete;

    // `program` is lhttpd-qt's or nats-server's path, ignored for the reference. `extraArgs`
    // go after the ones that place it on 127.0.0.1 and its port (lhttpd-qt: e.g. --nats).
    bool start(Kind kind, const QString &program, QString *error,
               const QStringList &extraArgs = {});
    void stop();

    qint64 pid() const { return m_process.processId(); }
    quint16 port() const { return m_port; }
    QString wsUrl() const;
    // lhttpd-qt with --history and --nats: waits until its /healthz says the history is read
    // (history.ready); false, with *error, after StartTimeoutMs.
    bool waitHistoryReady(QString *error);
    QString publishHttpUrl() const;
    QString natsUrl() const;

    static QString name(Kind kind);
    static quint16 freePort();
    // nats-server from $NATS_SERVER_BIN, the PATH or /usr/sbin; empty when there is none.
    static QString findNatsServer();

private:
    QByteArray logTail() const; // the end of its stderr
    void warnLogged() const;    // says on stderr how many warnings it logged, if any

    QProcess m_process;
    Kind m_kind = Kind::Reference;
    quint16 m_port = 0;
    quint16 m_natsPort = 0;               // NatsWebSocket: the NATS client port
    std::unique_ptr<QTemporaryDir> m_dir; // its log; NatsWebSocket: its generated config file
};

} // namespace bench

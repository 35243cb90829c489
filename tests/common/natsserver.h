// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QJsonObject>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <memory>

// GET `url` (loopback HTTP: nats-server monitoring, a node's /healthz and /metrics); the body,
// or a null QByteArray on failure or timeout.
QByteArray httpGet(const QUrl &url, int timeoutMs = 3'000);
// POST `body` to `url`; the HTTP status (0 on a network failure or timeout).
int httpPost(const QUrl &url, const QByteArray &body, QByteArray *answer = nullptr,
             int timeoutMs = 3'000);

// A real nats-server (Debian's /usr/sbin/nats-server, or $NATS_SERVER_BIN) on loopback ports
// picked at random, for cluster tests. The ports are chosen when the object is made, so
// url() is known before the server runs (a node can be pointed at a NATS that comes later),
// and they stay the same across stop()/start(): a restart is the same server coming back.
// Its log is discarded unless LHTTP_TEST_NATS_LOG is set.
class NatsServer {
public:
    NatsServer();
    ~NatsServer();
    NatsServer(const NatsServer &) = delete;
    NatsServer &operator=(const NatsServer &) = delete;

    // Starts and waits until both the client and the monitoring port answer. `extraArgs` go
    // to nats-server as they are (--user, --tls, …); with routes set (setRoutes) the server
    // joins a cluster on clusterPort().
    bool start(const QStringList &extraArgs = {}, int timeoutMs = 10'000);
    // SIGTERM, then SIGKILL if it lingers.
    void stop();
    // SIGKILL: the server dies as in a crash, without closing client connections cleanly.
    void kill();
    bool isRunning() const;
    // The server's process id (0 when not running), for SIGSTOP/SIGCONT.
    qint64 pid() const { return m_process ? m_process->processId() : 0; }

    quint16 port() const { return m_port; }
    quint16 monitorPort() const { return m_monitorPort; }
    // Allocated on first use.
    quint16 clusterPort();
    QString url() const;
    QString clusterUrl();
    // Cluster routes to other members (their clusterUrl()); takes effect on the next start.
    void setRoutes(const QStringList &routes) { m_routes = routes; }
    // JetStream (-js) with its store in `storeDir` (-sd); an empty one turns it off. Takes
    // effect on the next start; a restart with the same directory keeps the streams.
    void setJetStream(const QString &storeDir) { m_jetStreamDir = storeDir; }

    // GET http://127.0.0.1:<monitorPort><pathAndQuery> as JSON; empty on failure.
    QJsonObject monitor(const QString &pathAndQuery, int timeoutMs = 3'000) const;
    // Subjects subscribed by the client connection named `clientName` (from /connz?subs=1),
    // one entry per subscription; -1 in *count when no connection has that name.
    QStringList subscriptionsOf(const QString &clientName, int *count = nullptr) const;
    // Routes this server has to other cluster members (from /routez).
    int routeCount() const;

    static QString binary();

private:
    std::unique_ptr<QProcess> m_process;
    quint16 m_port;
    quint16 m_monitorPort;
    quint16 m_clusterPort = 0;
    QStringList m_routes;
    QString m_jetStreamDir;
};

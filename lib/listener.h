// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "serveroptions.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QTcpServer>
#include <QTimer>
#include <QWebSocketServer>

#include <memory>

class QTcpSocket;

namespace lhttp {

class Server;
struct HttpRequest;

// The front door of the one port: reads each connection's request head without consuming it
// (QTcpSocket::peek), hands WebSocket upgrades to QWebSocketServer::handleConnection() and
// answers plain HTTP requests through Server::handleHttp(). Bodies are bounded before they
// are read; idle and half-sent requests expire on one shared timer.
class Listener : public QObject {
    Q_OBJECT
public:
    Listener(Server *server, const ServerOptions &options);
    ~Listener() override;

    bool listen(QString *error);
    bool isListening() const { return m_tcp && m_tcp->isListening(); }
    quint16 port() const { return m_tcp ? m_tcp->serverPort() : 0; }
    void close();
    int pendingCount() const { return int(m_pending.size()); }

Q_SIGNALS:
    void webSocketConnected(QWebSocket *socket);

private:
    void acceptTcp();
    void inspect(QTcpSocket *socket);
    void handOver(QTcpSocket *socket);
    void answer(QTcpSocket *socket, const HttpRequest &request, qsizetype consumed);
    // Answers with an HTTP error and closes. `upgradeRefusal` names why a WebSocket upgrade
    // was refused (metrics label); null for plain HTTP requests.
    void refuse(QTcpSocket *socket, int status, const QByteArray &reason,
                const char *upgradeRefusal = nullptr);
    void forget(QTcpSocket *socket);
    void sweep();
    bool originAllowed(const QByteArray &origin) const;
    bool isAdminPath(const QString &path) const;
    bool adminAuthorized(const HttpRequest &request) const;
    // Why a WebSocket upgrade must be refused (limits, token), as an HTTP status and reason.
    bool admitWebSocket(QTcpSocket *socket, const HttpRequest &request);

    Server *m_server;
    const ServerOptions &m_options;
    std::unique_ptr<QTcpServer> m_tcp; // a QSslServer when TLS is configured
    QWebSocketServer m_ws;
    QTimer m_sweep;
    QElapsedTimer m_clock;
    QHash<QTcpSocket *, qint64> m_pending; // socket → deadline (ms on m_clock)
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "serveroptions.h"

#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QObject>
#include <QPointer>
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
    // `wire` is the TCP (or TLS) socket under `socket`: a server may write ready-made frames
    // to it (see Frame::wire()). Null if it could not be matched.
    void webSocketConnected(QWebSocket *socket, QTcpSocket *wire);

private:
    void acceptTcp();
    // Answers the requests waiting on `socket` (a bounded number per event-loop pass).
    void inspect(QTcpSocket *socket);
    // Reads and answers one request; true if the connection stays open with more to read.
    bool answerNext(QTcpSocket *socket);
    void handOver(QTcpSocket *socket);
    bool answer(QTcpSocket *socket, const HttpRequest &request);
    // Answers with an HTTP error and closes. `upgradeRefusal` names why a WebSocket upgrade
    // was refused (metrics label); null for plain HTTP requests.
    void refuse(QTcpSocket *socket, int status, const QByteArray &reason,
                const char *upgradeRefusal = nullptr);
    void forget(QTcpSocket *socket);
    void sweep();
    bool originAllowed(QByteArrayView origin) const;
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
    // Sockets handed to QWebSocketServer, until their QWebSocket comes out, by peer address
    // and port: QWebSocket does not tell which socket it wraps, and while a socket is open no
    // other connection to this port can have the same peer address and port.
    struct Upgrading {
        QPointer<QTcpSocket> socket;
        qint64 deadline; // ms on m_clock; forgotten after it (the handshake failed)
    };
    QHash<std::pair<QHostAddress, quint16>, Upgrading> m_upgrading;
};

} // namespace lhttp

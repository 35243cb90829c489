// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "serveroptions.h"
#include "token.h"

#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTcpServer>
#include <QTimer>
#include <QWebSocketServer>

#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>

class QSocketNotifier;
class QTcpSocket;

namespace lhttp {

class GatedTcpServer;
class HandingSslServer;
class PeerCounts;
struct Counters;
struct HttpRequest;
struct HttpResponse;

// The front door of the one port: reads each connection's request head without consuming it
// (QTcpSocket::peek), admits or refuses WebSocket upgrades (path, origin, limits, connect
// token — verified here, once per connection) and hands them to
// QWebSocketServer::handleConnection(), and answers plain HTTP requests through its HTTP
// handler. Bodies are bounded before they are read; idle and half-sent requests expire on one
// shared timer.
class Listener : public QObject {
    Q_OBJECT
public:
    // A WebSocket that completed its handshake.
    struct Upgrade {
        QWebSocket *socket = nullptr; // the receiver owns it
        // The TCP (or TLS) socket under `socket`: a server may write ready-made frames to it
        // (see Frame::wire()). Null if it could not be matched.
        QTcpSocket *wire = nullptr;
        // What the connect token granted; null when the node needs no token.
        std::unique_ptr<Claims> claims;
        // On the admin path, with the admin token (not a session: the admin endpoint's).
        bool admin = false;
    };
    using UpgradeHandler = std::function<void(Upgrade &&)>;
    using HttpHandler = std::function<void(const HttpRequest &, HttpResponse &)>;

    // `peers` answers the connection limits; refusals are counted in `counters`.
    Listener(const ServerOptions &options, Counters &counters, const PeerCounts &peers);
    ~Listener() override;

    void setUpgradeHandler(UpgradeHandler handler) { m_onUpgrade = std::move(handler); }
    void setHttpHandler(HttpHandler handler) { m_onHttp = std::move(handler); }
    // Called whenever a handed-over socket has bytes to read, before QWebSocket reads them
    // (the node writes what it queued for the connection first: Flusher).
    void setBeforeRead(std::function<void(QTcpSocket *)> hook) { m_beforeRead = std::move(hook); }

    // Prepares to take connections (the TLS configuration, the socket servers) without
    // listening: what each event loop's listener does; listen() also binds the port.
    bool setUp(QString *error);
    bool listen(QString *error);
    // With a dispatcher, the connections this listener accepts are given to it (a node spreads
    // them over its event loops) instead of being taken here; take() is where they arrive, in
    // the thread of the listener that takes them.
    void setDispatcher(std::function<void(qintptr)> dispatch) { m_dispatch = std::move(dispatch); }
    void take(qintptr descriptor);
    // Admin console upgrades arriving here are handed to `admin` (another loop's listener, in
    // its thread: the AdminEndpoint's), socket and all, before their handshake.
    void setAdminListener(Listener *admin) { m_adminListener = admin; }
    bool isListening() const { return m_tcp && m_tcp->isListening(); }
    quint16 port() const { return m_tcp ? m_tcp->serverPort() : 0; }
    void close();
    // Upgrades still on their way in are refused (503) from now on.
    void setDraining(bool draining) { m_draining = draining; }
    // Connections not yet handed over or answered: silent ones (no socket yet) included.
    int pendingCount() const { return int(m_pending.size() + m_waiting.size()); }

private:
    void accepted(qintptr descriptor);
    // TLS: the server-side handshake on an accepted descriptor, then acceptSocket().
    void startTls(qintptr descriptor);
    // A connection's socket, made in this loop: its request is read and answered here.
    void acceptSocket(QTcpSocket *socket);
    // Answers the requests waiting on `socket` (a bounded number per event-loop pass).
    void inspect(QTcpSocket *socket);
    // Reads and answers one request; true if the connection stays open with more to read.
    bool answerNext(QTcpSocket *socket);
    void handOver(QTcpSocket *socket, std::unique_ptr<Claims> claims, bool admin);
    void passToAdmin(QTcpSocket *socket);
    bool answer(QTcpSocket *socket, const HttpRequest &request);
    // Answers with an HTTP error and closes. `upgradeRefusal` names why a WebSocket upgrade
    // was refused (metrics label); null for plain HTTP requests.
    void refuse(QTcpSocket *socket, int status, const QByteArray &reason,
                const char *upgradeRefusal = nullptr);
    void refuse(QTcpSocket *socket, const HttpResponse &response, const char *upgradeRefusal);
    void forget(QTcpSocket *socket);
    void sweep();
    // Handshake slots (plain TCP only): a burst of connections is taken in as batches, so that
    // each batch reuses the heap the previous one gave back (docs/BENCHMARKS.md, burst).
    void waitForRequest(qintptr descriptor);
    void admitReady();
    void scheduleAdmit();
    void releaseSlot(QTcpSocket *socket);
    void handshakeDone(QTcpSocket *wire);
    bool originAllowed(QByteArrayView origin) const;
    bool isAdminPath(const QString &path) const;
    bool adminAuthorized(const HttpRequest &request) const;
    // Refuses the upgrade (limits, token) with an HTTP status, or returns true and the claims
    // the connect token grants (null when the node needs none).
    bool admitWebSocket(QTcpSocket *socket, const HttpRequest &request,
                        std::unique_ptr<Claims> *claims);

    const ServerOptions &m_options;
    Counters &m_counters;
    const PeerCounts &m_peers;
    std::function<void(qintptr)> m_dispatch;
    Listener *m_adminListener = nullptr;
    UpgradeHandler m_onUpgrade;
    HttpHandler m_onHttp;
    std::function<void(QTcpSocket *)> m_beforeRead;
    bool m_draining = false;
    std::unique_ptr<QTcpServer> m_tcp; // a QSslServer when TLS is configured
    GatedTcpServer *m_gated = nullptr; // m_tcp when it is plain TCP
    HandingSslServer *m_tls = nullptr; // m_tcp when it is TLS
    // Accepted descriptors that have sent nothing yet: no QTcpSocket, no buffers, one notifier.
    struct Waiting {
        QSocketNotifier *notifier;
        qint64 deadline;    // ms on m_clock (handshake timeout) while it sends nothing
        quint64 serial;     // a descriptor number can be reused once closed
        bool ready = false; // it sent something: waits for a slot, never expires
    };
    std::unordered_map<qintptr, Waiting> m_waiting;
    std::deque<std::pair<qintptr, quint64>> m_ready; // readable, in arrival order
    quint64 m_serial = 0;
    QSet<QTcpSocket *> m_slots; // sockets holding a handshake slot
    QObject m_slotContext;      // receiver of the slot holders' signals
    bool m_admitQueued = false;
    QWebSocketServer m_ws;
    QTimer m_sweep;
    QElapsedTimer m_clock;
    QHash<QTcpSocket *, qint64> m_pending; // socket → deadline (ms on m_clock)
    // Sockets handed to QWebSocketServer, until their QWebSocket comes out, by peer address
    // and port: QWebSocket does not tell which socket it wraps, and while a socket is open no
    // other connection to this port can have the same peer address and port.
    struct Upgrading {
        QPointer<QTcpSocket> socket;
        qint64 deadline;                // ms on m_clock; forgotten after it (the handshake failed)
        std::shared_ptr<Claims> claims; // shared: QHash values must be copyable
        bool admin = false;
    };
    QHash<std::pair<QHostAddress, quint16>, Upgrading> m_upgrading;
};

} // namespace lhttp

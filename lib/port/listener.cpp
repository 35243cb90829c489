// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "listener.h"

#include "counters.h"
#include "http.h"
#include "portlog.h"
#include "sessiontable.h"
#include "threadhandoff.h"

#include <QDateTime>
#include <QFile>
#include <QScopeGuard>
#include <QSocketNotifier>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>
#include <QTcpSocket>
#include <QWebSocket>

#include <algorithm>

#include <unistd.h>

namespace lhttp {

namespace {
// Pipelined HTTP requests answered in one event-loop pass before the rest wait for the next.
constexpr int MaxPipelinedPerPass = 256;
// Most request heads fit in this; a longer one is peeked again, up to maxHttpHeadSize.
constexpr qint64 FirstPeek = 2048;
constexpr int ListenBacklog = 4096;
// Connections between their first request bytes and the 101 response having left (or the
// first answer): a burst is handshaked this many at a time.
constexpr qsizetype HandshakeSlots = 64;
} // namespace

// A QTcpServer (or QSslServer) that hands accepted descriptors to a callback instead of making
// sockets of them. The Listener makes the socket (and, for TLS, does the handshake) itself,
// later and maybe in another event loop: never through the server's pending-connection queue,
// whose nextPendingConnection() warns on every call in a loop whose server does not listen.
template <typename Base> class HandingServer : public Base {
public:
    explicit HandingServer(std::function<void(qintptr)> accepted)
        : m_accepted(std::move(accepted)) {}

protected:
    void incomingConnection(qintptr descriptor) override { m_accepted(descriptor); }

private:
    std::function<void(qintptr)> m_accepted;
};

class GatedTcpServer : public HandingServer<QTcpServer> {
    using HandingServer::HandingServer;
};
class HandingSslServer : public HandingServer<QSslServer> {
    using HandingServer::HandingServer;
};

Listener::Listener(const ServerOptions &options, Counters &counters, const PeerCounts &peers)
    : m_options(options)
    , m_counters(counters)
    , m_peers(peers)
    , m_ws(QStringLiteral("lhttp-qt/" LHTTP_VERSION), QWebSocketServer::NonSecureMode) {
    m_ws.setHandshakeTimeout(m_options.handshakeTimeoutMs);
    m_ws.setMaxPendingConnections(1 << 20);
    connect(&m_ws, &QWebSocketServer::newConnection, this, [this] {
        while (QWebSocket *ws = m_ws.nextPendingConnection()) {
            const Upgrading u = m_upgrading.take({ws->peerAddress(), ws->peerPort()});
            if (QTcpSocket *tcp = u.socket.data()) {
                // QWebSocketServer stays connected to every socket it upgraded, for their whole
                // life, and its slot looks the socket up with sender(): a walk over all of the
                // server's senders, so a mass disconnect of N clients cost O(N^2) (10,000 at
                // once: ~2.5 s of CPU, 30% of a t2 profile) and every handshake O(N). The
                // socket deletes itself instead, as that slot would.
                QObject::disconnect(tcp, &QAbstractSocket::disconnected, &m_ws, nullptr);
                connect(tcp, &QAbstractSocket::disconnected, tcp, &QObject::deleteLater);
            }
            Upgrade up;
            up.socket = ws;
            up.wire = u.socket.data();
            if (up.wire && up.wire->state() != QAbstractSocket::ConnectedState)
                up.wire = nullptr;
            if (u.claims)
                up.claims = std::make_unique<Claims>(std::move(*u.claims));
            up.admin = u.admin;
            if (!u.socket && !m_options.jwtSecret.isEmpty() && !up.admin) {
                // Its entry expired (a handshake slower than the timeout): the claims went with
                // it, so the connection cannot be let in.
                ws->close(QWebSocketProtocol::CloseCodePolicyViolated,
                          QStringLiteral("handshake took too long"));
                ws->deleteLater();
                continue;
            }
            if (m_onUpgrade) {
                m_onUpgrade(std::move(up));
            } else {
                ws->close(QWebSocketProtocol::CloseCodeGoingAway);
                ws->deleteLater();
            }
            if (u.socket)
                handshakeDone(u.socket.data());
        }
    });
    m_clock.start();
    m_sweep.setInterval(1000);
    connect(&m_sweep, &QTimer::timeout, this, &Listener::sweep);
}

Listener::~Listener() {
    close();
}

void Listener::accepted(qintptr descriptor) {
    if (m_dispatch)
        m_dispatch(descriptor);
    else
        take(descriptor);
}

void Listener::take(qintptr descriptor) {
    if (m_gated)
        waitForRequest(descriptor);
    else if (m_tls)
        startTls(descriptor);
    else
        ::close(int(descriptor)); // not set up (a failed setUp() was reported)
}

bool Listener::setUp(QString *error) {
    if (m_tcp)
        return true;
    if (m_options.tlsCertFile.isEmpty() != m_options.tlsKeyFile.isEmpty()) {
        *error = QStringLiteral("TLS needs both a certificate and a key file");
        return false;
    }
    if (m_options.tlsCertFile.isEmpty()) {
        auto gated =
            std::make_unique<GatedTcpServer>([this](qintptr descriptor) { accepted(descriptor); });
        m_gated = gated.get();
        m_tcp = std::move(gated);
    } else {
        QFile certFile(m_options.tlsCertFile);
        QFile keyFile(m_options.tlsKeyFile);
        if (!certFile.open(QIODevice::ReadOnly) || !keyFile.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("cannot read TLS certificate or key file");
            return false;
        }
        const QList<QSslCertificate> chain =
            QSslCertificate::fromData(certFile.readAll(), QSsl::Pem);
        const QByteArray keyPem = keyFile.readAll();
        QSslKey key(keyPem, QSsl::Rsa, QSsl::Pem);
        if (key.isNull())
            key = QSslKey(keyPem, QSsl::Ec, QSsl::Pem);
        if (chain.isEmpty() || key.isNull()) {
            *error = QStringLiteral("no PEM certificate or no RSA/EC PEM key in the TLS files");
            return false;
        }
        QSslConfiguration config = QSslConfiguration::defaultConfiguration();
        config.setLocalCertificateChain(chain);
        config.setPrivateKey(key);
        config.setPeerVerifyMode(QSslSocket::VerifyNone);
        auto ssl = std::make_unique<HandingSslServer>(
            [this](qintptr descriptor) { accepted(descriptor); });
        m_tls = ssl.get();
        ssl->setSslConfiguration(config);
        m_tcp = std::move(ssl);
    }
    // Qt's default accept backlog of 50 overflowed when a few hundred clients connected at
    // once: the kernel dropped their SYNs and they retried 1, 3, 7 s later. The kernel caps
    // this at net.core.somaxconn (4096 on Debian 12).
    m_tcp->setListenBacklogSize(ListenBacklog);
    m_sweep.start();
    return true;
}

bool Listener::listen(QString *error) {
    if (!setUp(error))
        return false;
    if (m_options.listenDescriptor >= 0) { // bound and listening already (socket activation)
        if (!m_tcp->setSocketDescriptor(m_options.listenDescriptor)) {
            *error = QStringLiteral("cannot use the listening socket passed (descriptor %1): %2")
                         .arg(m_options.listenDescriptor)
                         .arg(m_tcp->errorString());
            return false;
        }
        return true;
    }
    if (!m_tcp->listen(m_options.address, m_options.port)) {
        *error = m_tcp->errorString();
        return false;
    }
    return true;
}

void Listener::close() {
    if (m_tcp)
        m_tcp->close();
    m_sweep.stop();
    const auto pending = m_pending.keys();
    for (QTcpSocket *s : pending) {
        forget(s);
        s->abort();
        s->deleteLater();
    }
    m_upgrading.clear();
    for (auto &[descriptor, w] : m_waiting) {
        delete w.notifier;
        ::close(int(descriptor));
    }
    m_waiting.clear();
    m_ready.clear();
    for (QTcpSocket *s : std::as_const(m_slots))
        s->disconnect(&m_slotContext);
    m_slots.clear();
}

void Listener::waitForRequest(qintptr descriptor) {
    // Nothing is read (and no buffer allocated) until the peer has sent something and a slot
    // is free; a connection that sends nothing never takes a slot.
    auto *notifier = new QSocketNotifier(descriptor, QSocketNotifier::Read, this);
    const quint64 serial = ++m_serial;
    m_waiting[descriptor] = {notifier, m_clock.elapsed() + m_options.handshakeTimeoutMs, serial};
    connect(notifier, &QSocketNotifier::activated, this, [this, descriptor, serial] {
        const auto it = m_waiting.find(descriptor);
        if (it == m_waiting.end() || it->second.serial != serial)
            return;
        it->second.notifier->setEnabled(false);
        it->second.ready = true;
        m_ready.emplace_back(descriptor, serial);
        admitReady();
    });
}

void Listener::admitReady() {
    while (m_slots.size() < HandshakeSlots && !m_ready.empty()) {
        const auto [descriptor, serial] = m_ready.front();
        m_ready.pop_front();
        const auto it = m_waiting.find(descriptor);
        if (it == m_waiting.end() || it->second.serial != serial)
            continue;
        // The socket's own notifier replaces ours (disabled since it fired; later: this may
        // run inside its signal).
        it->second.notifier->deleteLater();
        m_waiting.erase(it);
        auto *socket = new QTcpSocket(this);
        if (!socket->setSocketDescriptor(descriptor)) {
            qCDebug(lcHttp) << "accepted connection unusable:" << socket->errorString();
            delete socket;
            ::close(int(descriptor));
            continue;
        }
        acceptSocket(socket);
    }
}

void Listener::scheduleAdmit() {
    // Queued: after the server's queued buffer release of the connection that finished, so
    // the next one reuses that memory.
    if (m_admitQueued || m_ready.empty())
        return;
    m_admitQueued = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_admitQueued = false;
            admitReady();
        },
        Qt::QueuedConnection);
}

void Listener::releaseSlot(QTcpSocket *socket) {
    if (!m_slots.remove(socket))
        return;
    socket->disconnect(&m_slotContext);
    scheduleAdmit();
}

void Listener::handshakeDone(QTcpSocket *wire) {
    if (!m_slots.contains(wire))
        return;
    if (wire->state() != QAbstractSocket::ConnectedState || wire->bytesToWrite() == 0) {
        releaseSlot(wire);
        return;
    }
    // The slot is held until the 101 response has left and the server gave the buffers back.
    connect(wire, &QIODevice::bytesWritten, &m_slotContext, [this, wire] {
        if (wire->bytesToWrite() == 0)
            releaseSlot(wire);
    });
}

void Listener::startTls(qintptr descriptor) {
    auto *socket = new QSslSocket(this);
    socket->setSslConfiguration(m_tls->sslConfiguration());
    if (!socket->setSocketDescriptor(descriptor)) {
        qCDebug(lcHttp) << "accepted connection unusable:" << socket->errorString();
        delete socket;
        ::close(int(descriptor));
        return;
    }
    // The handshake has the handshake timeout (the sweep) and ends in acceptSocket().
    m_pending.insert(socket, m_clock.elapsed() + m_options.handshakeTimeoutMs);
    connect(socket, &QSslSocket::encrypted, this, [this, socket] {
        forget(socket);
        acceptSocket(socket);
    });
    connect(socket, &QAbstractSocket::errorOccurred, this, [socket] {
        qCDebug(lcHttp) << "TLS handshake failed from" << socket->peerAddress()
                        << socket->errorString();
    });
    connect(socket, &QTcpSocket::disconnected, this, [this, socket] {
        forget(socket);
        socket->deleteLater();
    });
    socket->startServerEncryption();
}

void Listener::acceptSocket(QTcpSocket *socket) {
    if (m_gated) {
        m_slots.insert(socket);
        connect(socket, &QObject::destroyed, &m_slotContext, [this, socket] {
            m_slots.remove(socket);
            scheduleAdmit();
        });
        connect(socket, &QAbstractSocket::disconnected, &m_slotContext,
                [this, socket] { releaseSlot(socket); });
    }
    m_pending.insert(socket, m_clock.elapsed() + m_options.handshakeTimeoutMs);
    // Bounded: a request head plus the largest body we accept, never more.
    socket->setReadBufferSize(m_options.maxHttpHeadSize + m_options.limits.maxMessageSize);
    connect(socket, &QTcpSocket::readyRead, this, [this, socket] { inspect(socket); });
    connect(socket, &QTcpSocket::disconnected, this, [this, socket] {
        forget(socket);
        socket->deleteLater();
    });
    if (socket->bytesAvailable())
        inspect(socket);
}

void Listener::forget(QTcpSocket *socket) {
    m_pending.remove(socket);
    socket->disconnect(this);
}

void Listener::refuse(QTcpSocket *socket, int status, const QByteArray &reason,
                      const char *upgradeRefusal) {
    HttpResponse response;
    response.setError(status, reason);
    refuse(socket, response, upgradeRefusal);
}

void Listener::refuse(QTcpSocket *socket, const HttpResponse &response,
                      const char *upgradeRefusal) {
    m_counters.countError(response.status);
    if (upgradeRefusal)
        m_counters.countRefused(upgradeRefusal);
    socket->write(response.serialize(false, false));
    forget(socket);
    connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    socket->disconnectFromHost();
}

bool Listener::originAllowed(QByteArrayView origin) const {
    // Browsers always send Origin; a client without one is not a browser page, which the
    // allow-list cannot protect anyway (connect tokens do). Opaque origins arrive as "null".
    if (m_options.allowedOrigins.isEmpty() || origin.isEmpty())
        return true;
    return m_options.allowedOrigins.contains(QString::fromLatin1(origin), Qt::CaseInsensitive);
}

bool Listener::isAdminPath(const QString &path) const {
    return !m_options.adminToken.isEmpty() && path == m_options.adminPath;
}

bool Listener::adminAuthorized(const HttpRequest &request) const {
    return constantTimeEquals(request.bearerToken(HttpRequest::TokenFrom::HeaderOrQuery),
                              m_options.adminToken);
}

bool Listener::admitWebSocket(QTcpSocket *socket, const HttpRequest &request,
                              std::unique_ptr<Claims> *claims) {
    const ServerOptions &o = m_options;
    if (m_draining) {
        refuse(socket, 503, "server is draining", "draining");
        return false;
    }
    if (o.maxConnections > 0 && m_peers.total() >= o.maxConnections) {
        refuse(socket, 503, "connection limit of this node reached", "max_connections");
        return false;
    }
    if (o.maxConnectionsPerAddress > 0 &&
        m_peers.from(socket->peerAddress()) >= o.maxConnectionsPerAddress) {
        refuse(socket, 429, "too many connections from this address",
               "max_connections_per_address");
        return false;
    }
    if (!o.jwtSecret.isEmpty()) {
        auto granted = std::make_unique<Claims>();
        const Error e =
            Token::verify(request.bearerToken(HttpRequest::TokenFrom::HeaderOrQuery), o.jwtSecret,
                          QDateTime::currentSecsSinceEpoch(), granted.get());
        if (e) {
            refuse(socket, e.code, e.reason, "token");
            return false;
        }
        *claims = std::move(granted);
    }
    return true;
}

void Listener::inspect(QTcpSocket *socket) {
    // A connection still ours after its first read (answered and kept alive, or its head
    // incomplete: a slow sender waits without a slot) gives its slot up. One handed over keeps
    // it until handshakeDone(), one refused until it is disconnected.
    const auto slot = qScopeGuard([this, socket] {
        if (m_pending.contains(socket))
            releaseSlot(socket);
    });
    // Requests already received (pipelined) are answered in this pass, up to a bound: the
    // deliveries of a run of POST /publish requests then leave in one write per subscriber,
    // as a burst of WebSocket publishes does, and other connections still get their turn.
    for (int answered = 0; answered < MaxPipelinedPerPass; ++answered) {
        if (!answerNext(socket))
            return;
    }
    QMetaObject::invokeMethod(
        this,
        [this, socket] {
            if (m_pending.contains(socket))
                inspect(socket);
        },
        Qt::QueuedConnection);
}

bool Listener::answerNext(QTcpSocket *socket) {
    using Result = HttpRequest::HeadResult;
    const qint64 available = socket->bytesAvailable();
    const qint64 maxHead = m_options.maxHttpHeadSize;
    HttpRequest request;
    QByteArray reason;
    QByteArray peeked = socket->peek(std::min({available, FirstPeek, maxHead}));
    Result result = HttpRequest::parseHead(peeked, &request, &reason);
    if (result == Result::Incomplete && available > peeked.size() && peeked.size() < maxHead) {
        peeked = socket->peek(maxHead);
        result = HttpRequest::parseHead(peeked, &request, &reason);
    }
    if (result == Result::Incomplete) {
        if (peeked.size() >= maxHead)
            refuse(socket, 431,
                   "request head larger than " + QByteArray::number(maxHead) + " bytes");
        return false;
    }
    if (result == Result::Invalid) {
        refuse(socket, 400, reason.isEmpty() ? QByteArray("malformed request") : reason);
        return false;
    }
    const qsizetype headLength = request.headLength;
    if (request.isWebSocketUpgrade()) {
        // QWebSocketServer would close a handshake it cannot accept without an answer.
        if (HttpResponse refusal; !request.checkWebSocketHandshake(&refusal)) {
            refuse(socket, refusal, "handshake");
            return false;
        }
        const QString path = request.path();
        // Before the path check: `path` limits the LHTTP endpoint, not the admin one.
        if (isAdminPath(path)) {
            if (!adminAuthorized(request)) {
                refuse(socket, 401, "admin token missing or wrong", "admin_token");
                return false;
            }
            if (m_adminListener && m_adminListener != this)
                passToAdmin(socket);
            else
                handOver(socket, nullptr, true);
            return false;
        }
        if (!m_options.path.isEmpty() && path != m_options.path) {
            refuse(socket, 404, "no WebSocket endpoint at " + path.toUtf8(), "path");
            return false;
        }
        if (!originAllowed(request.header("origin"))) {
            refuse(socket, 403, "origin not allowed", "origin");
            return false;
        }
        std::unique_ptr<Claims> claims;
        if (admitWebSocket(socket, request, &claims))
            handOver(socket, std::move(claims), false);
        return false;
    }
    if (!request.header("transfer-encoding").isEmpty()) {
        refuse(socket, 411, "chunked requests are not supported; send Content-Length");
        return false;
    }
    // RFC 9112 §6.3: a sign, a list or two lengths that differ would let a proxy in front and
    // this listener see different requests.
    const qint64 length = request.contentLength();
    if (length < 0) {
        refuse(socket, 400, "invalid Content-Length");
        return false;
    }
    if (length > m_options.limits.maxMessageSize) {
        refuse(socket, 413,
               "body of " + QByteArray::number(length) + " bytes exceeds the limit of " +
                   QByteArray::number(m_options.limits.maxMessageSize));
        return false;
    }
    if (socket->bytesAvailable() < headLength + length)
        return false; // the rest is on its way; the read buffer is sized to hold it
    socket->skip(headLength);
    request.body = socket->read(length);
    request.peer = socket->peerAddress();
    return answer(socket, request);
}

void Listener::passToAdmin(QTcpSocket *socket) {
    // The request head stays in the socket's buffer (only peeked at): the admin listener's
    // QWebSocketServer reads it there. A socket can only be pushed from its own thread, and
    // only without a parent (the QTcpServer that made it).
    forget(socket);
    releaseSlot(socket);
    socket->setParent(nullptr);
    socket->moveToThread(m_adminListener->thread());
    Listener *admin = m_adminListener;
    QPointer<QTcpSocket> guard(socket);
    // invokeIn: the hand-off annotated for ThreadSanitizer (the queued call crosses threads
    // inside Qt, which it does not see).
    invokeIn(
        admin,
        [admin, guard] {
            if (!guard)
                return;
            // Owned like the admin listener's own sockets (by its QTcpServer).
            guard->setParent(admin->m_tcp.get());
            admin->handOver(guard.data(), nullptr, true);
        },
        Qt::QueuedConnection);
}

void Listener::handOver(QTcpSocket *socket, std::unique_ptr<Claims> claims, bool admin) {
    forget(socket);
    socket->setReadBufferSize(0);
    if (m_beforeRead) {
        // Connected ahead of QWebSocketServer and QWebSocket, so it runs before they read.
        connect(socket, &QIODevice::readyRead, this, [this, socket] { m_beforeRead(socket); });
    }
    m_upgrading.insert({socket->peerAddress(), socket->peerPort()},
                       {socket, m_clock.elapsed() + m_options.handshakeTimeoutMs + 1000,
                        std::shared_ptr<Claims>(std::move(claims)), admin});
    m_ws.handleConnection(socket);
}

bool Listener::answer(QTcpSocket *socket, const HttpRequest &request) {
    HttpResponse response;
    if (m_onHttp)
        m_onHttp(request, response);
    else
        response.setError(404, "no HTTP service on this port");
    const bool keepAlive = request.keepAlive();
    socket->write(response.serialize(keepAlive, request.method == "HEAD"));
    if (!keepAlive) {
        forget(socket);
        connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        socket->disconnectFromHost();
        return false;
    }
    m_pending.insert(socket, m_clock.elapsed() + m_options.httpIdleTimeoutMs);
    return socket->bytesAvailable() > 0;
}

void Listener::sweep() {
    const qint64 now = m_clock.elapsed();
    QList<QTcpSocket *> expired;
    for (auto it = m_pending.cbegin(); it != m_pending.cend(); ++it) {
        if (it.value() <= now)
            expired.append(it.key());
    }
    for (QTcpSocket *s : expired) {
        qCDebug(lcHttp) << "closing idle or incomplete HTTP connection from" << s->peerAddress();
        forget(s);
        s->abort();
        s->deleteLater();
    }
    for (auto it = m_upgrading.begin(); it != m_upgrading.end();) {
        if (!it->socket || it->deadline <= now) {
            if (it->socket)
                releaseSlot(it->socket.data());
            it = m_upgrading.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = m_waiting.begin(); it != m_waiting.end();) {
        if (it->second.ready || it->second.deadline > now) {
            ++it;
            continue;
        }
        // Connected and silent for the whole handshake timeout.
        delete it->second.notifier;
        ::close(int(it->first));
        it = m_waiting.erase(it);
    }
}

} // namespace lhttp

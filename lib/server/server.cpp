// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "server.h"

#include "broker.h"
#include "builtinfilters.h"
#include "channelname.h"
#include "frame.h"
#include "http.h"
#include "httpapi.h"
#include "listener.h"
#include "logging.h"
#include "processor.h"
#include "session.h"
#include "token.h"
#include "upstream.h"

#include <QDateTime>
#include <QMetaMethod>
#include <QScopeGuard>
#include <QSslSocket>
#include <QTcpSocket>
#include <QUrlQuery>
#include <QWebSocket>

#include <memory>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace lhttp {

namespace {
constexpr int DrainStepMs = 20;
// Socket buffers released (48 KiB each at most) that make it worth trimming the heap.
constexpr quint64 ReleasesBeforeTrim = 64;

// The connect token of a WebSocket request: `Authorization: Bearer <t>` or `?token=<t>`.
QByteArray requestToken(const QNetworkRequest &request, const QUrl &url) {
    const QByteArray auth = request.rawHeader("Authorization");
    if (auth.startsWith("Bearer "))
        return auth.mid(7).trimmed();
    return QUrlQuery(url).queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded).toUtf8();
}
} // namespace

QByteArray Server::connectToken(const QNetworkRequest &request, const QUrl &url) {
    return requestToken(request, url);
}

Server::Server(ServerOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options)) {
    setBroker(std::make_unique<LocalBroker>());
    m_filters.push_back(std::make_shared<MultipartFilter>());
    m_filters.push_back(std::make_shared<PubSubFilter>());
    auto upstream = std::make_shared<Upstream>(this);
    m_upstream = upstream.get();
    m_filters.push_back(std::move(upstream));
    m_clock.start();
    connect(&m_ticker, &QTimer::timeout, this, &Server::tick);
    connect(&m_drainTimer, &QTimer::timeout, this, &Server::drainStep);
    connect(m_upstream, &Upstream::idle, this, &Server::checkDrained);
}

Server::~Server() {
    m_listener.reset();
    const auto all = m_sessions.values();
    for (Session *s : all)
        removeSession(s);
    m_hub.setBroker(nullptr);
}

bool Server::listen() {
    m_listener = std::make_unique<Listener>(this, m_options);
    connect(m_listener.get(), &Listener::webSocketConnected, this, &Server::addSession);
    if (!m_listener->listen(&m_errorString)) {
        qCWarning(lcServer) << "cannot listen on" << m_options.address << m_options.port << ":"
                            << m_errorString;
        m_listener.reset();
        return false;
    }
    qCInfo(lcServer) << "listening on" << m_options.address.toString() << "port" << serverPort()
                     << (m_options.tlsCertFile.isEmpty() ? "" : "(TLS)")
                     << "broker:" << m_broker->description();
    restartTicker();
    return true;
}

bool Server::isListening() const {
    return m_listener && m_listener->isListening();
}

quint16 Server::serverPort() const {
    return m_listener ? m_listener->port() : 0;
}

void Server::close(QWebSocketProtocol::CloseCode code, const QString &reason) {
    if (m_listener)
        m_listener->close();
    const auto all = m_sessions.values();
    for (Session *s : all)
        s->close(code, reason);
}

void Server::reload(const ServerOptions &options) {
    const ServerOptions old = m_options;
    m_options = options;
    m_options.address = old.address;
    m_options.port = old.port;
    m_options.path = old.path;
    m_options.tlsCertFile = old.tlsCertFile;
    m_options.tlsKeyFile = old.tlsKeyFile;
    restartTicker();
    qCInfo(lcServer) << "options reloaded";
}

void Server::restartTicker() {
    // Fine enough for the shortest deadline, never busier than 20 Hz.
    int interval = 1000;
    for (int ms : {m_options.pingIntervalMs, m_options.pongTimeoutMs, m_options.idleTimeoutMs,
                   m_options.closeGraceMs}) {
        if (ms > 0)
            interval = std::min(interval, ms / 4);
    }
    m_ticker.start(std::max(50, interval));
}

void Server::tick() {
    const auto trim = qScopeGuard([this] {
        // Buffers freed in the middle of the heap stay resident until reused; after a burst
        // (everybody pinged or sent to at once) hand them back. Walks the heap: not per tick.
        if (m_counters.socketBuffersReleased - m_releasedAtTrim < ReleasesBeforeTrim)
            return;
        m_releasedAtTrim = m_counters.socketBuffersReleased;
#ifdef __GLIBC__
        malloc_trim(0);
#endif
    });
    const qint64 t = now();
    const ServerOptions &o = m_options;
    for (Session *s : std::as_const(m_sessions)) {
        if (s->m_buffersUsed && ++s->m_quietTicks >= 2) {
            s->m_quietTicks = 2;
            s->releaseBuffers();
        }
        if (s->m_closing) {
            if (t - s->m_closingSince > o.closeGraceMs)
                s->m_socket->abort(); // the peer never finished the close handshake
            continue;
        }
        if (o.idleTimeoutMs > 0 && !s->m_validSeen && t - s->m_connectedAtMs > o.idleTimeoutMs) {
            ++m_counters.idleTimeouts;
            s->close(QWebSocketProtocol::CloseCodePolicyViolated,
                     QStringLiteral("no valid LHTTP message"));
            continue;
        }
        if (o.pingIntervalMs <= 0)
            continue;
        if (s->m_pingSentAt) {
            if (t - s->m_pingSentAt > o.pongTimeoutMs) {
                ++m_counters.keepaliveTimeouts;
                s->close(CloseCode::KeepaliveTimeout, QStringLiteral("keepalive timeout"));
            }
        } else if (t - s->m_lastSeen >= o.pingIntervalMs) {
            // Pings follow each connection's own rhythm (its last sign of life), so they are
            // spread over the interval rather than sent to everybody at once.
            s->m_pingSentAt = t;
            s->m_socket->ping();
            s->noteTraffic();
        }
    }
}

void Server::drain(int windowMs) {
    if (m_draining)
        return;
    m_draining = true;
    if (m_listener)
        m_listener->close();
    m_drainQueue = m_sessions.keys();
    const int steps = std::max(1, windowMs / DrainStepMs);
    m_drainBatch = std::max(1, int((m_drainQueue.size() + steps - 1) / steps));
    m_drainDeadline = now() + windowMs + m_options.upstreamTimeoutMs + m_options.closeGraceMs;
    qCInfo(lcServer) << "draining" << m_drainQueue.size() << "connections over" << windowMs << "ms,"
                     << m_upstream->inFlight() << "upstream requests in flight";
    m_drainTimer.start(DrainStepMs);
    drainStep();
}

void Server::drainStep() {
    for (int i = 0; i < m_drainBatch && !m_drainQueue.isEmpty(); ++i) {
        if (Session *s = m_sessions.value(m_drainQueue.takeFirst()))
            s->close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("server draining"));
    }
    if (m_drainQueue.isEmpty() && now() > m_drainDeadline) {
        qCWarning(lcServer) << "drain deadline passed with" << m_sessions.size()
                            << "connections and" << m_upstream->inFlight()
                            << "upstream requests left";
        m_drainTimer.stop();
        Q_EMIT drained();
        return;
    }
    checkDrained();
}

void Server::checkDrained() {
    if (!m_draining || !m_drainQueue.isEmpty() || !m_sessions.isEmpty() || m_upstream->inFlight())
        return;
    if (!m_drainTimer.isActive())
        return; // already reported
    m_drainTimer.stop();
    qCInfo(lcServer) << "drained";
    Q_EMIT drained();
}

void Server::registerProcessor(const QByteArray &command, std::shared_ptr<Processor> processor) {
    if (std::find(m_processorOrder.begin(), m_processorOrder.end(), processor) ==
        m_processorOrder.end())
        m_processorOrder.push_back(processor);
    m_processors.insert(command, std::move(processor));
}

Processor *Server::processor(QByteArrayView command) const {
    // fromRawData: a lookup key without copying the command.
    const auto it = m_processors.constFind(QByteArray::fromRawData(command.data(), command.size()));
    return it == m_processors.cend() ? nullptr : it->get();
}

void Server::addHeaderFilter(std::shared_ptr<HeaderFilter> filter) {
    m_filters.push_back(std::move(filter));
}

void Server::setBroker(std::unique_ptr<Broker> broker) {
    m_hub.setBroker(nullptr);
    m_broker = std::move(broker);
    m_broker->setParent(nullptr);
    m_hub.setBroker(m_broker.get());
}

void Server::addSession(QWebSocket *socket, QTcpSocket *wire) {
    if (!m_options.adminToken.isEmpty() && socket->requestUrl().path() == m_options.adminPath) {
        // The listener checked the admin token before the handshake. Not a session: the
        // admin endpoint (if one is attached) owns the socket from here on.
        if (isSignalConnected(QMetaMethod::fromSignal(&Server::adminConnected))) {
            Q_EMIT adminConnected(socket);
        } else {
            socket->close(QWebSocketProtocol::CloseCodeGoingAway,
                          QStringLiteral("no admin endpoint on this node"));
            socket->deleteLater();
        }
        return;
    }
    std::unique_ptr<Claims> claims;
    if (!m_options.jwtSecret.isEmpty()) {
        // Checked at the handshake already; verified again here to keep the claims.
        claims = std::make_unique<Claims>();
        const Error e =
            Token::verify(requestToken(socket->request(), socket->requestUrl()),
                          m_options.jwtSecret, QDateTime::currentSecsSinceEpoch(), claims.get());
        if (e) {
            countRefused("token");
            socket->close(QWebSocketProtocol::CloseCodePolicyViolated, QString::fromUtf8(e.reason));
            socket->deleteLater();
            return;
        }
    }
    const quint64 id = m_nextId++;
    auto *session = new Session(this, id, socket);
    session->m_wire = wire;
    session->m_releasable = wire && !qobject_cast<QSslSocket *>(wire);
    if (session->m_releasable) {
        // The handshake used both socket buffers. Released as soon as the 101 response has
        // left, so that the next handshakes reuse the freed chunks and the heap stays dense.
        session->noteTraffic();
        if (wire->bytesToWrite() == 0) {
            releaseBuffersSoon(id);
        } else {
            auto watch = std::make_shared<QMetaObject::Connection>();
            *watch = connect(wire, &QIODevice::bytesWritten, this, [this, wire, watch, id] {
                if (wire->bytesToWrite() != 0)
                    return;
                QObject::disconnect(*watch);
                releaseBuffersSoon(id);
            });
        }
    }
    session->m_claims = std::move(claims);
    session->m_connectedAtMs = session->m_lastSeen = now();
    session->m_peerAddress = socket->peerAddress();
    ++m_perAddress[session->m_peerAddress];
    m_sessions.insert(id, session);
    ++m_counters.connectionsAccepted;
    const qsizetype hard = m_options.effectiveHardMessageLimit();
    socket->setMaxAllowedIncomingMessageSize(quint64(hard));
    socket->setMaxAllowedIncomingFrameSize(quint64(hard));
    connect(socket, &QWebSocket::textMessageReceived, this,
            [session](const QString &text) { session->handleIncoming(text.toUtf8(), true); });
    connect(socket, &QWebSocket::binaryMessageReceived, this,
            [session](const QByteArray &bytes) { session->handleIncoming(bytes, false); });
    connect(socket, &QWebSocket::pong, this, [this, session, id] {
        session->m_pingSentAt = 0;
        session->m_lastSeen = now();
        // The ping/pong exchange is over: an idle connection gives its buffers back at once,
        // not two ticks later.
        session->noteTraffic();
        releaseBuffersSoon(id);
    });
    // Queued: a disconnect noticed while a message is being handled (or inside a fan-out)
    // is acted on once that work is done.
    connect(
        socket, &QWebSocket::disconnected, this, [this, session] { removeSession(session); },
        Qt::QueuedConnection);

    qCDebug(lcSession) << "session" << id << "opened from" << socket->peerAddress().toString()
                       << "origin" << socket->origin();
    for (const auto &f : m_filters) {
        f->onOpen(*session);
        ++session->m_openedFilters;
    }
    for (const auto &p : m_processorOrder) {
        p->onOpen(*session);
        ++session->m_openedProcessors;
    }
    Q_EMIT sessionOpened(id);
}

void Server::releaseBuffersSoon(quint64 id) {
    // Queued: never from inside the socket's own read or write path. By id: the session may
    // be gone by then.
    QMetaObject::invokeMethod(
        this,
        [this, id] {
            if (Session *s = m_sessions.value(id))
                s->releaseBuffers();
        },
        Qt::QueuedConnection);
}

void Server::removeSession(Session *session) {
    if (session->m_removed)
        return;
    session->m_removed = true;
    session->m_closing = true;
    QWebSocket *socket = session->m_socket;
    socket->disconnect(this);
    for (int i = 0; i < session->m_openedProcessors; ++i)
        m_processorOrder[size_t(i)]->onClose(*session);
    for (int i = 0; i < session->m_openedFilters; ++i)
        m_filters[size_t(i)]->onClose(*session);
    const bool watchSubs = m_watchSubscriptions;
    const QList<QByteArray> channels = watchSubs ? session->channels() : QList<QByteArray>();
    m_hub.removeSession(session);
    m_sessions.remove(session->id());
    if (auto it = m_perAddress.find(session->m_peerAddress); it != m_perAddress.end() && --*it <= 0)
        m_perAddress.erase(it);
    for (const QByteArray &c : channels)
        Q_EMIT unsubscribed(session->id(), c);
    qCDebug(lcSession) << "session" << session->id() << "closed";
    Q_EMIT sessionClosed(session->id());
    socket->deleteLater();
    delete session;
    checkDrained();
}

void Server::runChain(Session &session) {
    if (m_watchMessages)
        Q_EMIT messageReceived(session.id(), session.command().toByteArray(),
                               session.message().toBytes().size());
    for (const auto &f : m_filters) {
        if (!f->beforeMessage(session))
            return;
    }
    if (Processor *p = processor(session.command()))
        p->onMessage(session);
    for (const auto &f : m_filters) {
        if (session.isDropped() || session.isClosing())
            return;
        f->afterMessage(session);
    }
}

Error Server::publish(const QByteArrayList &channels, const Message &message) {
    if (channels.isEmpty())
        return Error::make(Status::BadRequest, "no channel to publish to");
    for (const QByteArray &c : channels) {
        if (Error e = ChannelName::validate(c, ChannelName::Use::Publish, false,
                                            m_options.limits.maxChannelLength))
            return e;
    }
    Message m = message;
    if (!m.hasHeader("publish"))
        m.addHeader("publish", channels.join(' '));
    const Frame frame(m.toBytes());
    Error remote;
    for (const QByteArray &c : channels) {
        if (Error e = m_hub.publish(c, frame); e && !remote)
            remote = std::move(e);
        notifyPublished(c, frame.size());
    }
    return remote;
}

Error Server::publish(const QByteArrayList &channels, const QByteArray &command,
                      const Message::HeaderList &headers, const QByteArray &body) {
    Message m(command, body);
    for (const Message::Header &h : headers)
        m.addHeader(h.name.toByteArray(), h.value.toByteArray());
    return publish(channels, m);
}

void Server::notifySubscribed(Session &session, const QByteArray &channel, bool isSubscribe) {
    if (!m_watchSubscriptions)
        return;
    if (isSubscribe)
        Q_EMIT subscribed(session.id(), channel);
    else
        Q_EMIT unsubscribed(session.id(), channel);
}

void Server::notifyPublished(const QByteArray &channel, qsizetype size) {
    ++m_counters.publishes;
    if (!m_watchPublishes)
        return;
    const ChannelHub::Channel *c = m_hub.channel(channel);
    Q_EMIT messagePublished(channel, size, c ? int(c->subscribers.size()) : 0);
}

void Server::notifyError(Session *session, const Error &error) {
    countError(error.code);
    qCDebug(lcSession) << "session" << (session ? session->id() : 0) << "error" << error.code
                       << error.reason;
    if (m_watchErrors)
        Q_EMIT errorReplied(session ? session->id() : 0, error.code, error.reason);
}

void Server::handleHttp(const HttpRequest &request, HttpResponse &response) {
    HttpApi::handle(*this, request, response);
}

// Both notifications may run with a QObject-internal mutex held, so neither may call
// isSignalConnected() directly: a connect switches its flag on at once (no event is missed),
// a disconnect recomputes the flags from the event loop.
void Server::connectNotify(const QMetaMethod &signal) {
    if (signal == QMetaMethod::fromSignal(&Server::messageReceived))
        m_watchMessages = true;
    else if (signal == QMetaMethod::fromSignal(&Server::messagePublished))
        m_watchPublishes = true;
    else if (signal == QMetaMethod::fromSignal(&Server::subscribed) ||
             signal == QMetaMethod::fromSignal(&Server::unsubscribed))
        m_watchSubscriptions = true;
    else if (signal == QMetaMethod::fromSignal(&Server::errorReplied))
        m_watchErrors = true;
}

void Server::disconnectNotify(const QMetaMethod &) {
    QMetaObject::invokeMethod(this, &Server::updateWatchers, Qt::QueuedConnection);
}

void Server::updateWatchers() {
    m_watchMessages = isSignalConnected(QMetaMethod::fromSignal(&Server::messageReceived));
    m_watchPublishes = isSignalConnected(QMetaMethod::fromSignal(&Server::messagePublished));
    m_watchSubscriptions = isSignalConnected(QMetaMethod::fromSignal(&Server::subscribed)) ||
                           isSignalConnected(QMetaMethod::fromSignal(&Server::unsubscribed));
    m_watchErrors = isSignalConnected(QMetaMethod::fromSignal(&Server::errorReplied));
}

} // namespace lhttp

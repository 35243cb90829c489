// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "server.h"

#include "broker.h"
#include "builtinfilters.h"
#include "frame.h"
#include "http.h"
#include "httpapi.h"
#include "listener.h"
#include "processor.h"
#include "runtimelog.h"
#include "token.h"
#include "upstream.h"

#include <QMetaMethod>
#include <QScopeGuard>
#include <QTcpSocket>
#include <QWebSocket>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace lhttp {

namespace {
constexpr int DrainStepMs = 20;
// Socket buffers released (48 KiB each at most) that make it worth trimming the heap.
constexpr quint64 ReleasesBeforeTrim = 64;
} // namespace

Server::Server(ServerOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_pipeline(*this)
    , m_publisher(m_hub, m_options, m_counters, *this)
    , m_context{m_options, m_counters, m_pipeline, *this, m_sessions, m_clock, this, m_flusher}
    , m_upstream(std::make_shared<Upstream>(m_options, m_sessions)) {
    setBroker(std::make_unique<LocalBroker>());
    m_pipeline.addFilter(std::make_shared<MultipartFilter>(m_options));
    NodeEvents &events = *this;
    m_pipeline.addFilter(std::make_shared<PubSubFilter>(m_options, m_hub, m_publisher, events));
    m_pipeline.addFilter(m_upstream);
    m_clock.start();
    connect(&m_ticker, &QTimer::timeout, this, &Server::tick);
    connect(&m_drainTimer, &QTimer::timeout, this, &Server::drainStep);
    connect(m_upstream.get(), &Upstream::idle, this, &Server::checkDrained);
}

Server::~Server() {
    m_listener.reset();
    const auto all = m_sessions.all();
    for (Session *s : all)
        removeSession(s);
    m_hub.setBroker(nullptr);
}

bool Server::listen() {
    m_listener = std::make_unique<Listener>(m_options, m_counters, m_sessions);
    m_httpApi = std::make_unique<HttpApi>(HttpApi::Node{
        m_options, m_counters, m_publisher, m_sessions, m_hub, *m_upstream, *m_listener});
    m_listener->setHttpHandler([this](const HttpRequest &request, HttpResponse &response) {
        m_httpApi->handle(request, response);
    });
    m_listener->setBeforeRead([this](QTcpSocket *wire) { m_flusher.writeBeforeRead(wire); });
    m_listener->setUpgradeHandler([this](Listener::Upgrade &&up) {
        if (up.admin)
            acceptAdmin(up.socket);
        else
            accept(up.socket, up.wire, std::move(up.claims));
    });
    if (!m_listener->listen(&m_errorString)) {
        qCWarning(lcServer) << "cannot listen on" << m_options.address << m_options.port << ":"
                            << m_errorString;
        m_listener.reset();
        m_httpApi.reset();
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
    const auto all = m_sessions.all();
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
    for (Session *s : m_sessions)
        s->tick(t);
}

void Server::drain(int windowMs) {
    if (m_draining)
        return;
    m_draining = true;
    if (m_listener) {
        m_listener->setDraining(true);
        m_listener->close();
    }
    m_drainQueue = m_sessions.ids();
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
        if (Session *s = m_sessions.find(m_drainQueue.takeFirst()))
            s->close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("server draining"));
    }
    if (m_drainQueue.isEmpty() && now() > m_drainDeadline) {
        qCWarning(lcServer) << "drain deadline passed with" << m_sessions.count()
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
    m_pipeline.registerProcessor(command, std::move(processor));
}

void Server::addHeaderFilter(std::shared_ptr<HeaderFilter> filter) {
    m_pipeline.addFilter(std::move(filter));
}

void Server::setBroker(std::unique_ptr<Broker> broker) {
    m_hub.setBroker(nullptr);
    m_broker = std::move(broker);
    m_broker->setParent(nullptr);
    m_hub.setBroker(m_broker.get());
}

void Server::acceptAdmin(QWebSocket *socket) {
    // The listener checked the admin token before the handshake. Not a session: the admin
    // endpoint (if one is attached) owns the socket from here on.
    if (isSignalConnected(QMetaMethod::fromSignal(&Server::adminConnected))) {
        Q_EMIT adminConnected(socket);
    } else {
        socket->close(QWebSocketProtocol::CloseCodeGoingAway,
                      QStringLiteral("no admin endpoint on this node"));
        socket->deleteLater();
    }
}

void Server::accept(QWebSocket *socket, QTcpSocket *wire, std::unique_ptr<Claims> claims) {
    const quint64 id = m_nextId++;
    auto *session = new Session(m_context, id, socket, wire, std::move(claims));
    m_sessions.insert(session);
    ++m_counters.connectionsAccepted;
    // Queued: a disconnect noticed while a message is being handled (or inside a fan-out)
    // is acted on once that work is done.
    connect(
        socket, &QWebSocket::disconnected, this, [this, session] { removeSession(session); },
        Qt::QueuedConnection);
    session->open();
    Q_EMIT sessionOpened(id);
}

void Server::removeSession(Session *session) {
    if (!m_sessions.find(session->id()))
        return;
    session->end();
    const QList<QByteArray> channels =
        m_watchSubscriptions ? session->channels() : QList<QByteArray>();
    m_hub.removeSession(session);
    m_sessions.remove(session);
    for (const QByteArray &c : channels)
        Q_EMIT unsubscribed(session->id(), c);
    Q_EMIT sessionClosed(session->id());
    session->socket()->deleteLater();
    delete session;
    checkDrained();
}

Error Server::publish(const QByteArrayList &channels, const Message &message) {
    Message m = message;
    if (!m.hasHeader("publish"))
        m.addHeader("publish", channels.join(' '));
    Publisher::Channels list;
    for (const QByteArray &c : channels)
        list.append(c);
    return m_publisher.publish(list, Frame(m.toBytes()));
}

Error Server::publish(const QByteArrayList &channels, const QByteArray &command,
                      const Message::HeaderList &headers, const QByteArray &body) {
    Message m(command, body);
    for (const Message::Header &h : headers)
        m.addHeader(h.name.toByteArray(), h.value.toByteArray());
    return publish(channels, m);
}

void Server::noteMessage(const Session &session) {
    if (m_watchMessages)
        Q_EMIT messageReceived(session.id(), session.command().toByteArray(),
                               session.message().toBytes().size());
}

void Server::noteSubscription(const Session &session, const QByteArray &channel, bool isSubscribe) {
    if (!m_watchSubscriptions)
        return;
    if (isSubscribe)
        Q_EMIT subscribed(session.id(), channel);
    else
        Q_EMIT unsubscribed(session.id(), channel);
}

void Server::notePublished(const QByteArray &channel, qsizetype size) {
    if (!m_watchPublishes)
        return;
    const ChannelHub::Channel *c = m_hub.channel(channel);
    Q_EMIT messagePublished(channel, size, c ? int(c->subscribers.size()) : 0);
}

void Server::noteError(const Session *session, const Error &error) {
    if (m_watchErrors)
        Q_EMIT errorReplied(session ? session->id() : 0, error.code, error.reason);
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

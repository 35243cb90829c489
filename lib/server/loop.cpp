// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "loop.h"

#include "builtinfilters.h"
#include "http.h"
#include "httpapi.h"
#include "listener.h"
#include "nodeevents.h"
#include "router.h"
#include "runtimelog.h"
#include "threadhandoff.h"
#include "token.h"
#include "upstream.h"

#include <QElapsedTimer>
#include <QScopeGuard>
#include <QTcpSocket>
#include <QWebSocket>

// glibc's heap is trimmed after bursts, except under AddressSanitizer or ThreadSanitizer: their
// allocators replace malloc, so glibc's heap is never used and never initialised, and
// malloc_trim() initialises it lazily, which is not thread-safe. Several loops trimming at
// once for the first time aborted the process (glibc's "a->attached_threads > 0" assertion at
// thread exit, or a crash inside malloc_trim).
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define LHTTP_TRIM_HEAP 1
#include <malloc.h>
#endif

namespace lhttp {

namespace {
constexpr int DrainStepMs = 20;
// Socket buffers released (48 KiB each at most) that make it worth trimming the heap.
constexpr quint64 ReleasesBeforeTrim = 64;
} // namespace

Loop::Loop(const Node &node, ServerOptions options)
    : m_node(node)
    , m_options(std::move(options))
    , m_index(node.router.addLoop(&m_hub, this))
    , m_sessions(node.peers)
    , m_pipeline(node.events)
    , m_publisher(m_hub, node.router, m_index, m_options, m_counters, node.events)
    , m_context{m_options,  m_counters,   m_pipeline, node.events,
                m_sessions, m_node.clock, this,       m_flusher}
    , m_upstream(std::make_shared<Upstream>(m_options, m_sessions)) {
    m_hub.setRouter(&node.router, m_index);
    m_pipeline.addFilter(std::make_shared<MultipartFilter>(m_options));
    m_pipeline.addFilter(std::make_shared<PubSubFilter>(m_options, m_hub, m_publisher, node.router,
                                                        m_index, node.events));
    m_pipeline.addFilter(m_upstream);
    connect(&m_ticker, &QTimer::timeout, this, &Loop::tick);
    connect(&m_drainTimer, &QTimer::timeout, this, &Loop::drainStep);
    connect(m_upstream.get(), &Upstream::idle, this, &Loop::checkDrained);
}

Loop::~Loop() {
    shutDown();
}

bool Loop::start(bool accepting, QString *error) {
    m_listener = std::make_unique<Listener>(m_options, m_counters, m_node.peers);
    m_httpApi =
        std::make_unique<HttpApi>(HttpApi::Node{m_options, m_counters, m_publisher, m_node.status});
    m_listener->setHttpHandler([this](const HttpRequest &request, HttpResponse &response) {
        m_httpApi->handle(request, response);
    });
    m_listener->setBeforeRead([this](QTcpSocket *wire) { m_flusher.writeBeforeRead(wire); });
    m_listener->setUpgradeHandler([this](Listener::Upgrade &&up) {
        if (up.admin)
            m_node.adminConnected(up.socket);
        else
            accept(up.socket, up.wire, std::move(up.claims));
    });
    const bool ok = accepting ? m_listener->listen(error) : m_listener->setUp(error);
    if (!ok) {
        m_listener.reset();
        m_httpApi.reset();
        return false;
    }
    restartTicker();
    return true;
}

void Loop::take(qintptr descriptor) {
    if (m_listener)
        m_listener->take(descriptor);
}

void Loop::customEvent(QEvent *event) {
    tsanAcquire(this); // Router::hand() posted it (threadhandoff.h)
    if (event->type() == Router::InboxEvent)
        m_node.router.drainInbox(m_index);
    else
        QObject::customEvent(event);
}

void Loop::close(QWebSocketProtocol::CloseCode code, const QString &reason) {
    if (m_listener)
        m_listener->close();
    const auto all = m_sessions.all();
    for (Session *s : all)
        s->close(code, reason);
}

void Loop::shutDown() {
    m_ticker.stop();
    m_drainTimer.stop();
    m_listener.reset();
    const auto all = m_sessions.all();
    for (Session *s : all)
        removeSession(s);
    m_flusher.flush();
}

void Loop::reload(const ServerOptions &options) {
    m_options = options;
    restartTicker();
}

void Loop::registerProcessor(const QByteArray &command, std::shared_ptr<Processor> processor) {
    m_pipeline.registerProcessor(command, std::move(processor));
}

void Loop::addFilter(std::shared_ptr<HeaderFilter> filter) {
    m_pipeline.addFilter(std::move(filter));
}

void Loop::restartTicker() {
    // Fine enough for the shortest deadline, never busier than 20 Hz.
    int interval = 1000;
    for (int ms : {m_options.pingIntervalMs, m_options.pongTimeoutMs, m_options.idleTimeoutMs,
                   m_options.closeGraceMs}) {
        if (ms > 0)
            interval = std::min(interval, ms / 4);
    }
    m_ticker.start(std::max(50, interval));
}

void Loop::tick() {
    const auto trim = qScopeGuard([this] {
        // Buffers freed in the middle of the heap stay resident until reused; after a burst
        // (everybody pinged or sent to at once) hand them back. Walks the heap: not per tick.
        const quint64 released = m_counters.socketBuffersReleased.value();
        if (released - m_releasedAtTrim < ReleasesBeforeTrim)
            return;
        m_releasedAtTrim = released;
#ifdef LHTTP_TRIM_HEAP
        malloc_trim(0);
#endif
    });
    const qint64 t = m_node.clock.elapsed();
    for (Session *s : m_sessions)
        s->tick(t);
    if (m_index == 0 && t - m_historyExpiredAt >= 1000) {
        m_historyExpiredAt = t;
        m_node.router.expireHistory();
    }
}

void Loop::accept(QWebSocket *socket, QTcpSocket *wire, std::unique_ptr<Claims> claims) {
    const quint64 id = m_node.nextId();
    auto *session = new Session(m_context, id, socket, wire, std::move(claims));
    m_sessions.insert(session);
    ++m_counters.connectionsAccepted;
    // Queued: a disconnect noticed while a message is being handled (or inside a fan-out)
    // is acted on once that work is done.
    connect(
        socket, &QWebSocket::disconnected, this, [this, session] { removeSession(session); },
        Qt::QueuedConnection);
    session->open();
    m_node.sessionChanged(*session, true);
}

void Loop::removeSession(Session *session) {
    if (!m_sessions.find(session->id()))
        return;
    session->end();
    const QList<QByteArray> channels = session->channels();
    m_hub.removeSession(session);
    m_sessions.remove(session);
    for (const QByteArray &c : channels)
        m_node.events.noteSubscription(*session, c, false);
    m_node.sessionChanged(*session, false);
    session->socket()->deleteLater();
    delete session;
    checkDrained();
}

void Loop::drain(int windowMs) {
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
    m_drainTimer.start(DrainStepMs);
    drainStep();
}

void Loop::drainStep() {
    for (int i = 0; i < m_drainBatch && !m_drainQueue.isEmpty(); ++i) {
        if (Session *s = m_sessions.find(m_drainQueue.takeFirst()))
            s->close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("server draining"));
    }
    if (m_drainQueue.isEmpty())
        m_drainTimer.stop();
    checkDrained();
}

void Loop::checkDrained() {
    if (!m_draining || !m_drainQueue.isEmpty() || !m_sessions.isEmpty() || m_upstream->inFlight())
        return;
    m_draining = false; // reported once
    m_node.drainedHere();
}

} // namespace lhttp

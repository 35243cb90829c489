// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "server.h"

#include "broker.h"
#include "epolleventdispatcher.h"
#include "frame.h"
#include "httpapi.h"
#include "listener.h"
#include "loop.h"
#include "processor.h"
#include "runtimelog.h"
#include "threadhandoff.h"
#include "upstream.h"

#include <QHostInfo>
#include <QMetaMethod>
#include <QSemaphore>
#include <QThread>
#include <QWebSocket>

#include <unistd.h>

namespace lhttp {

namespace {
thread_local const Session *t_signalSession = nullptr;

// The session the signal being emitted in this thread is about (Server::signalSession()).
struct SignalSession {
    explicit SignalSession(const Session *session)
        : previous(std::exchange(t_signalSession, session)) {}
    ~SignalSession() { t_signalSession = previous; }
    const Session *previous;
};
} // namespace

const Session *Server::signalSession() {
    return t_signalSession;
}

// A loop with a thread of its own: the Loop is made, run and destroyed in that thread.
class LoopThread : public QThread {
public:
    LoopThread(const Loop::Node &node, ServerOptions options)
        : m_node(node)
        , m_options(std::move(options)) {}

    // Starts the thread and returns its loop, once made.
    Loop *startLoop() {
        start();
        m_ready.acquire();
        return m_loop.load(std::memory_order_acquire);
    }

protected:
    void run() override {
        Loop loop(m_node, m_options);
        // The semaphore orders this too, but inside libQt6Core, where ThreadSanitizer does not
        // see it; the atomic says it where it can.
        m_loop.store(&loop, std::memory_order_release);
        m_ready.release();
        exec();
        loop.shutDown();
    }

private:
    Loop::Node m_node;
    ServerOptions m_options;
    QSemaphore m_ready;
    std::atomic<Loop *> m_loop{nullptr};
};

// What /healthz and /metrics of any loop show: the whole node.
class Server::Status final : public NodeStatus {
public:
    explicit Status(const Server &server)
        : m_server(server) {}
    bool isListening() const override { return m_server.isListening(); }
    int connectionCount() const override { return m_server.sessionCount(); }
    int channelCount() const override { return m_server.channelCount(); }
    qsizetype subscriptionCount() const override { return m_server.subscriptionCount(); }
    Counters::Values counters() const override { return m_server.counters(); }
    UpstreamStats upstreamStats() const override { return m_server.upstreamStats(); }
    int upstreamInFlight() const override { return m_server.upstreamInFlight(); }
    const Broker *broker() const override { return m_server.broker(); }
    const Router &router() const override { return m_server.m_router; }

private:
    const Server &m_server;
};

Server::Server(ServerOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_status(std::make_unique<Status>(*this)) {
    m_clock.start();
    m_router.configureHistory(m_options.history, m_options.historyMemory);
    m_router.configurePresence(m_options.presence, m_options.nodeName, m_options.presenceTimeoutMs);
    const Loop::Node node{
        m_router,
        m_peers,
        *this,
        *m_status,
        m_clock,
        [this](const Session &session, bool open) {
            const SignalSession about(&session);
            open ? Q_EMIT sessionOpened(session.id()) : Q_EMIT sessionClosed(session.id());
        },
        [this](QWebSocket *socket) { acceptAdmin(socket); },
        [this] {
            invokeIn(
                this, [this] { loopDrained(); }, Qt::QueuedConnection);
        },
        [this] { return m_nextId.fetch_add(1, std::memory_order_relaxed); },
    };
    m_loop0 = std::make_unique<Loop>(node, m_options);
    m_loops.push_back(m_loop0.get());
    for (int i = 1; i < m_options.effectiveThreads(); ++i) {
        auto *thread = new LoopThread(node, m_options);
        thread->setObjectName(QStringLiteral("lhttp loop %1").arg(i));
        if (m_options.eventLoop == ServerOptions::EventLoop::Epoll)
            installEpollDispatcher(thread);
        m_threads.push_back(thread);
        m_loops.push_back(thread->startLoop());
    }
    setBroker(std::make_unique<LocalBroker>());
    if (!m_options.presence.isEmpty()) {
        // A silent node is noticed within a quarter of a second of its timeout.
        connect(&m_presenceTicker, &QTimer::timeout, this, [this] { m_router.presenceTick(); });
        m_presenceTicker.start(PresenceStore::CheckIntervalMs);
    }
    m_drainDeadline.setSingleShot(true);
    connect(&m_drainDeadline, &QTimer::timeout, this, [this] {
        qCWarning(lcServer) << "drain deadline passed with" << sessionCount() << "connections and"
                            << upstreamInFlight() << "upstream requests left";
        m_draining = false;
        Q_EMIT drained();
    });
}

Server::~Server() {
    // Nothing more from other nodes, then every loop closes its sessions in its own thread.
    m_router.setBroker(nullptr);
    m_listening = false;
    for (LoopThread *t : m_threads) {
        t->quit();
        t->wait();
        delete t;
    }
    m_loop0->shutDown();
}

void Server::forEachLoop(const std::function<void(Loop &)> &work, bool wait) const {
    for (Loop *loop : m_loops) {
        if (loop->thread() == QThread::currentThread())
            work(*loop);
        else
            invokeIn(
                loop, [loop, work] { work(*loop); },
                wait ? Qt::BlockingQueuedConnection : Qt::QueuedConnection);
    }
}

bool Server::listen() {
    const bool spread = m_loops.size() > 1;
    for (Loop *loop : m_loops) {
        bool ok = false;
        QString error;
        const bool accepting = loop == m_loop0.get();
        if (accepting) {
            ok = loop->start(true, &error);
        } else {
            // Admin consoles are handed to loop 0, where the AdminEndpoint lives.
            Listener *admin = m_loop0->listener();
            invokeIn(
                loop,
                [loop, admin, &ok, &error] {
                    ok = loop->start(false, &error);
                    if (ok)
                        loop->listener()->setAdminListener(admin);
                },
                Qt::BlockingQueuedConnection);
        }
        if (!ok) {
            m_errorString = error;
            qCWarning(lcServer) << "cannot listen on" << m_options.address << m_options.port << ":"
                                << m_errorString;
            return false;
        }
    }
    Listener *listener = m_loop0->listener();
    if (spread)
        listener->setDispatcher([this](qintptr descriptor) { dispatch(descriptor); });
    m_port = listener->port();
    if (m_options.nodeName.isEmpty()) // known now, also when the port was 0 (any free one)
        m_router.presence().setNodeName(QHostInfo::localHostName().toUtf8() + ':' +
                                        QByteArray::number(m_port));
    m_listening = true;
    qCInfo(lcServer) << "listening on" << m_options.address.toString() << "port" << m_port
                     << (m_options.tlsCertFile.isEmpty() ? "" : "(TLS)") << "with" << m_loops.size()
                     << (m_loops.size() == 1 ? "event loop," : "event loops,")
                     << "broker:" << m_broker->description();
    return true;
}

void Server::dispatch(qintptr descriptor) {
    // Round-robin: connections arrive at random and live long, so each loop gets its share.
    Loop *loop = m_loops[size_t(m_nextLoop++ % m_loops.size())];
    if (loop == m_loop0.get())
        loop->take(descriptor);
    else
        invokeIn(
            loop, [loop, descriptor] { loop->take(descriptor); }, Qt::QueuedConnection);
}

void Server::close(QWebSocketProtocol::CloseCode code, const QString &reason) {
    m_listening = false;
    forEachLoop([code, reason](Loop &loop) { loop.close(code, reason); }, false);
}

void Server::reload(const ServerOptions &options) {
    const ServerOptions old = m_options;
    m_options = options;
    m_options.address = old.address;
    m_options.port = old.port;
    m_options.path = old.path;
    m_options.tlsCertFile = old.tlsCertFile;
    m_options.tlsKeyFile = old.tlsKeyFile;
    m_options.threads = old.threads;
    m_options.eventLoop = old.eventLoop;
    m_options.presence = old.presence; // the Router's, fixed at start
    m_options.nodeName = old.nodeName;
    m_options.presenceTimeoutMs = old.presenceTimeoutMs;
    const ServerOptions next = m_options;
    forEachLoop([next](Loop &loop) { loop.reload(next); }, false);
    qCInfo(lcServer) << "options reloaded";
}

void Server::drain(int windowMs) {
    if (m_draining)
        return;
    m_draining = true;
    m_listening = false;
    m_loopsDrained = 0;
    qCInfo(lcServer) << "draining" << sessionCount() << "connections over" << windowMs << "ms,"
                     << upstreamInFlight() << "upstream requests in flight";
    m_drainDeadline.start(windowMs + m_options.upstreamTimeoutMs + m_options.closeGraceMs);
    forEachLoop([windowMs](Loop &loop) { loop.drain(windowMs); }, false);
}

void Server::loopDrained() {
    if (!m_draining || ++m_loopsDrained < int(m_loops.size()))
        return;
    m_draining = false;
    m_drainDeadline.stop();
    qCInfo(lcServer) << "drained";
    Q_EMIT drained();
}

void Server::registerProcessor(const QByteArray &command, std::shared_ptr<Processor> processor) {
    forEachLoop([&](Loop &loop) { loop.registerProcessor(command, processor); });
}

Processor *Server::processor(QByteArrayView command) const {
    return m_loop0->pipeline().processor(command);
}

void Server::addHeaderFilter(std::shared_ptr<HeaderFilter> filter) {
    forEachLoop([&](Loop &loop) { loop.addFilter(filter); });
}

void Server::setBroker(std::unique_ptr<Broker> broker) {
    m_router.setBroker(nullptr);
    // Another loop may be inside the old broker's publish() (Router::publish): once each loop
    // has run one more call, none is, and the old broker can go.
    if (m_broker && m_loops.size() > 1)
        forEachLoop([](Loop &) {});
    m_broker = std::move(broker);
    m_broker->setParent(nullptr);
    if (!m_options.history.isEmpty())
        m_broker->setHistory(m_options.history);
    if (!m_options.presence.isEmpty()) {
        m_broker->setPresence(true);
        connect(m_broker.get(), &Broker::presenceConnected, this,
                [this] { m_router.presenceReconnected(); });
    }
    m_router.setBroker(m_broker.get());
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

Error Server::publish(const QByteArrayList &channels, const Message &message) {
    Message m = message;
    if (!m.hasHeader("publish"))
        m.addHeader("publish", channels.join(' '));
    Publisher::Channels list;
    for (const QByteArray &c : channels)
        list.append(c);
    return m_loop0->publisher().publish(list, Frame(m.toBytes()));
}

Error Server::publish(const QByteArrayList &channels, const QByteArray &command,
                      const Message::HeaderList &headers, const QByteArray &body) {
    Message m(command, body);
    for (const Message::Header &h : headers)
        m.addHeader(h.name.toByteArray(), h.value.toByteArray());
    return publish(channels, m);
}

qsizetype Server::subscriptionCount() const {
    qsizetype n = 0;
    for (const Loop *loop : m_loops)
        n += loop->subscriptionCount();
    return n;
}

Counters::Values Server::counters() const {
    Counters::Values sum;
    for (const Loop *loop : m_loops)
        sum += loop->counters().values();
    return sum;
}

UpstreamStats Server::upstreamStats() const {
    UpstreamStats sum;
    for (const Loop *loop : m_loops)
        sum += loop->upstream()->stats();
    return sum;
}

int Server::upstreamInFlight() const {
    int n = 0;
    for (const Loop *loop : m_loops)
        n += loop->upstream()->inFlight();
    return n;
}

void Server::visitSessions(const std::function<void(const Session &)> &visit) const {
    forEachLoop([&visit](Loop &loop) {
        for (const Session *s : loop.sessions())
            visit(*s);
    });
}

void Server::visitSessionsLater(std::function<void(const Session &)> visit,
                                std::function<void()> done) const {
    auto left = std::make_shared<std::atomic<int>>(int(m_loops.size()));
    auto *self = const_cast<Server *>(this);
    for (Loop *loop : m_loops) {
        invokeIn(
            loop,
            [loop, self, visit, done, left] {
                for (const Session *s : loop->sessions())
                    visit(*s);
                if (left->fetch_sub(1) == 1)
                    invokeIn(self, done, Qt::QueuedConnection);
            },
            Qt::QueuedConnection);
    }
}

bool Server::closeSession(quint64 id, QWebSocketProtocol::CloseCode code, const QString &reason) {
    std::atomic<bool> found{false};
    forEachLoop([&](Loop &loop) {
        if (Session *s = loop.sessions().find(id)) {
            s->close(code, reason);
            found = true;
        }
    });
    return found;
}

ChannelHub &Server::hub() {
    return m_loop0->hub();
}

const ChannelHub &Server::hub() const {
    return m_loop0->hub();
}

Upstream *Server::upstream() const {
    return m_loop0->upstream();
}

Session *Server::session(quint64 id) const {
    return m_loop0->sessions().find(id);
}

QList<Session *> Server::sessions() const {
    return m_loop0->sessions().all();
}

void Server::noteMessage(const Session &session) {
    if (m_watchMessages.load(std::memory_order_relaxed))
        Q_EMIT messageReceived(session.id(), session.command().toByteArray(),
                               session.message().toBytes().size());
}

void Server::noteSubscription(const Session &session, const QByteArray &channel, bool isSubscribe) {
    if (!m_watchSubscriptions.load(std::memory_order_relaxed))
        return;
    if (isSubscribe)
        Q_EMIT subscribed(session.id(), channel);
    else
        Q_EMIT unsubscribed(session.id(), channel);
}

void Server::notePublished(const QByteArray &channel, qsizetype size, const Session *from) {
    if (!m_watchPublishes.load(std::memory_order_relaxed))
        return;
    const SignalSession about(from);
    Q_EMIT messagePublished(channel, size, m_router.subscriberCount(channel));
}

void Server::noteError(const Session *session, const Error &error) {
    if (!m_watchErrors.load(std::memory_order_relaxed))
        return;
    const SignalSession about(session);
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

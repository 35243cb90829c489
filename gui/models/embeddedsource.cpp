// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "embeddedsource.h"

#include "adminendpoint.h"
#include "server.h"

#if __has_include("natsbroker.h")
#include "natsbroker.h"
#define LHTTP_HAVE_NATS 1
#else
#define LHTTP_HAVE_NATS 0
#endif

#include <QTimer>

#include <memory>

namespace lhttp {

namespace {
// After Server::close() the close frames need a moment to leave before the sockets go.
constexpr int StopGraceMs = 300;
} // namespace

// The node itself, living on EmbeddedSource's thread. Every slot runs there.
class EmbeddedNode : public QObject {
    Q_OBJECT
public:
    ~EmbeddedNode() override { shutdown(); }

    void start(const ServerOptions &options, const QString &natsUrl) {
        shutdown();
        auto server = std::make_unique<Server>(options);
        if (!natsUrl.isEmpty()) {
#if LHTTP_HAVE_NATS
            NatsOptions nats;
            nats.servers = QStringList{natsUrl};
            server->setBroker(std::make_unique<NatsBroker>(nats));
#else
            Q_EMIT failed(tr("NATS is not available in this build; leave the NATS URL empty "
                             "to run with the embedded broker."));
            return;
#endif
        }
        if (!server->listen()) {
            Q_EMIT failed(
                tr("Cannot listen on port %1: %2").arg(options.port).arg(server->errorString()));
            return;
        }
        m_server = std::move(server);
        m_feed = std::make_unique<AdminFeed>(m_server.get());
        connect(m_feed.get(), &AdminFeed::batchReady, this, &EmbeddedNode::batchReady);
        m_feed->setActive(true);
        Q_EMIT started(m_server->serverPort(), m_feed->snapshot());
    }

    void stop() {
        if (!m_server)
            return;
        m_feed.reset();
        m_server->close(QWebSocketProtocol::CloseCodeGoingAway,
                        QStringLiteral("the admin console stopped the node"));
        const quint64 generation = ++m_generation;
        QTimer::singleShot(StopGraceMs, this, [this, generation] {
            if (generation != m_generation)
                return; // started again meanwhile
            shutdown();
            Q_EMIT stopped();
        });
    }

    void shutdown() {
        ++m_generation;
        m_feed.reset(); // before the server: it watches the server
        m_server.reset();
    }

    void publish(quint64 request, const QByteArray &message) {
        if (!m_server) {
            Q_EMIT commandFinished(request, 0, tr("The node is not running."));
            return;
        }
        const Error e = Admin::publish(*m_server, message, m_feed.get());
        Q_EMIT commandFinished(request, e ? e.code : Admin::StatusOk,
                               e ? QString::fromUtf8(e.reason) : tr("published"));
    }

    void closeConnection(quint64 request, quint64 id) {
        if (!m_server) {
            Q_EMIT commandFinished(request, 0, tr("The node is not running."));
            return;
        }
        const Error e = Admin::closeConnection(*m_server, id);
        Q_EMIT commandFinished(request, e ? e.code : Admin::StatusOk,
                               e ? QString::fromUtf8(e.reason) : tr("closed"));
    }

Q_SIGNALS:
    void started(quint16 port, const lhttp::Admin::Snapshot &snapshot);
    void failed(const QString &error);
    void stopped();
    void batchReady(const lhttp::Admin::Batch &batch);
    void commandFinished(quint64 request, int code, const QString &reason);

private:
    std::unique_ptr<Server> m_server;
    std::unique_ptr<AdminFeed> m_feed;
    quint64 m_generation = 0;
};

EmbeddedSource::EmbeddedSource(QObject *parent)
    : NodeSource(parent)
    , m_node(new EmbeddedNode) {
    qRegisterMetaType<lhttp::Admin::Snapshot>();
    qRegisterMetaType<lhttp::Admin::Batch>();
    m_thread.setObjectName(QStringLiteral("embedded node"));
    m_node->moveToThread(&m_thread);
    connect(m_node, &EmbeddedNode::started, this,
            [this](quint16 port, const Admin::Snapshot &snapshot) {
                m_port = port;
                setState(State::Running);
                Q_EMIT snapshotReceived(snapshot);
            });
    connect(m_node, &EmbeddedNode::failed, this,
            [this](const QString &error) { setState(State::Failed, error); });
    connect(m_node, &EmbeddedNode::stopped, this, [this] { setState(State::Stopped); });
    connect(m_node, &EmbeddedNode::batchReady, this, [this](const Admin::Batch &batch) {
        if (state() == State::Running)
            Q_EMIT batchReceived(batch);
    });
    connect(m_node, &EmbeddedNode::commandFinished, this, &NodeSource::commandFinished);
}

EmbeddedSource::~EmbeddedSource() {
    if (m_thread.isRunning()) {
        // The server's sockets and timers belong to the node's thread: they go there.
        QMetaObject::invokeMethod(m_node, &EmbeddedNode::shutdown, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }
    delete m_node;
}

bool EmbeddedSource::natsAvailable() {
    return LHTTP_HAVE_NATS;
}

void EmbeddedSource::start(const ServerOptions &options, const QString &natsUrl) {
    if (!m_thread.isRunning())
        m_thread.start();
    m_port = 0;
    setState(State::Starting);
    QMetaObject::invokeMethod(m_node,
                              [node = m_node, options, natsUrl] { node->start(options, natsUrl); });
}

QString EmbeddedSource::nodeName() const {
    return tr("embedded node on port %1").arg(m_port);
}

void EmbeddedSource::stop() {
    if (state() == State::Stopped)
        return;
    if (state() != State::Running) {
        setState(State::Stopped);
        return;
    }
    QMetaObject::invokeMethod(m_node, &EmbeddedNode::stop);
}

quint64 EmbeddedSource::publish(const QByteArray &message) {
    const quint64 request = nextRequest();
    QMetaObject::invokeMethod(
        m_node, [node = m_node, request, message] { node->publish(request, message); });
    return request;
}

quint64 EmbeddedSource::closeConnection(quint64 id) {
    const quint64 request = nextRequest();
    QMetaObject::invokeMethod(m_node,
                              [node = m_node, request, id] { node->closeConnection(request, id); });
    return request;
}

} // namespace lhttp

#include "embeddedsource.moc"

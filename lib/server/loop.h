// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "channelhub.h"
#include "counters.h"
#include "flusher.h"
#include "pipeline.h"
#include "publisher.h"
#include "serveroptions.h"
#include "session.h"
#include "sessiontable.h"

#include <QObject>
#include <QTimer>
#include <QWebSocketProtocol>

#include <functional>
#include <memory>

class QElapsedTimer;
class QTcpSocket;
class QWebSocket;

namespace lhttp {

class HttpApi;
class Listener;
class NodeEvents;
class NodeStatus;
class Router;
class Upstream;
struct Claims;

// One event loop of a node (Server, threads > 1 gives several): it owns its sessions and their
// sockets, its channel hub, pipeline, publish path, flusher, upstream forwarder, listener half
// and HTTP API, its counters and its ticker, and everything in it runs in its thread. What
// crosses between loops goes through the Router (frames) or queued calls (commands from the
// Server); a Loop never waits for another thread.
class Loop : public QObject {
    Q_OBJECT
public:
    // What the Server gives every loop: shared, thread-safe parts of the node.
    struct Node {
        Router &router;
        PeerCounts &peers;
        NodeEvents &events;
        const NodeStatus &status;
        const QElapsedTimer &clock;
        // A session opened or closed here (the Server's signals and drain bookkeeping).
        std::function<void(const Session &session, bool open)> sessionChanged;
        // An admin console's WebSocket (accepted by the admin loop's listener).
        std::function<void(QWebSocket *socket)> adminConnected;
        // This loop has no sessions left and no upstream request in flight while draining.
        std::function<void()> drainedHere;
        // Ids for new sessions, unique in the node.
        std::function<quint64()> nextId;
    };

    Loop(const Node &node, ServerOptions options);
    ~Loop() override;

    int index() const { return m_index; }

    // --- in the loop's thread (the Server calls these there) ---
    // Sets up the listener half; `accept` also binds the port (the accepting loop).
    bool start(bool accepting, QString *error);
    Listener *listener() const { return m_listener.get(); }
    // Connections accepted by the accepting loop arrive here.
    void take(qintptr descriptor);
    void close(QWebSocketProtocol::CloseCode code, const QString &reason);
    // Stops accepting, closes the sessions with 1001 spread over the window.
    void drain(int windowMs);
    void reload(const ServerOptions &options);
    void registerProcessor(const QByteArray &command, std::shared_ptr<Processor> processor);
    void addFilter(std::shared_ptr<HeaderFilter> filter);
    // Closes every session and the listener (before the loop goes away).
    void shutDown();

    SessionTable &sessions() { return m_sessions; }
    ChannelHub &hub() { return m_hub; }
    const Pipeline &pipeline() const { return m_pipeline; }
    Publisher &publisher() { return m_publisher; }
    Upstream *upstream() const { return m_upstream.get(); }
    const ServerOptions &options() const { return m_options; }
    // From any thread.
    const Counters &counters() const { return m_counters; }
    int sessionCount() const { return m_sessions.count(); }
    qsizetype subscriptionCount() const { return m_hub.subscriptionCount(); }

protected:
    void customEvent(QEvent *event) override;

private:
    void accept(QWebSocket *socket, QTcpSocket *wire, std::unique_ptr<Claims> claims);
    void removeSession(Session *session);
    void tick();
    void restartTicker();
    void drainStep();
    void checkDrained();

    Node m_node;
    ServerOptions m_options; // this loop's copy: reload() replaces it in this thread
    int m_index;
    Counters m_counters;
    SessionTable m_sessions;
    ChannelHub m_hub;
    Pipeline m_pipeline;
    Publisher m_publisher;
    Flusher m_flusher;
    const Session::Context m_context;
    std::shared_ptr<Upstream> m_upstream; // also in the pipeline, as a filter
    std::unique_ptr<Listener> m_listener;
    std::unique_ptr<HttpApi> m_httpApi;
    quint64 m_releasedAtTrim = 0; // socketBuffersReleased at the last heap trim
    qint64 m_historyExpiredAt = 0;
    // One timer for every connection's keepalive, idle and close deadlines (no per-session
    // timers: a busy node has tens of thousands of sessions).
    QTimer m_ticker;
    QTimer m_drainTimer;
    QList<quint64> m_drainQueue;
    int m_drainBatch = 1;
    bool m_draining = false;
};

} // namespace lhttp

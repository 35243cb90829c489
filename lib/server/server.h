// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "channelhub.h"
#include "counters.h"
#include "error.h"
#include "message.h"
#include "nodeevents.h"
#include "router.h"
#include "serveroptions.h"
#include "session.h"
#include "sessiontable.h"
#include "upstreamstats.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <QWebSocketProtocol>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

class QThread;
class QWebSocket;

namespace lhttp {

class Broker;
class HeaderFilter;
class Loop;
class LoopThread;
class Processor;
class Upstream;

// An LHTTP node: listens on one port for WebSocket connections and plain HTTP requests, runs
// them on options().threads event loops (Loop: each owns its sessions, sockets, channel hub and
// pipeline), fans published messages out across the loops and the broker (Router), and turns
// what happens into Qt signals for whoever watches.
//
// Threads: the Server and loop 0 live in the thread that made the Server; with threads > 1 the
// other loops run in threads of their own. The Server's own methods are called from its thread.
// Its signals are emitted from the loop a session lives in (so a receiver in the Server's
// thread gets them queued); processors and header filters run in every loop at once and must
// be thread-safe when threads > 1. With threads = 1 (the default) everything is one thread, as
// with any QObject.
class Server : public QObject, private NodeEvents {
    Q_OBJECT
public:
    explicit Server(ServerOptions options = {}, QObject *parent = nullptr);
    ~Server() override;

    const ServerOptions &options() const { return m_options; }
    int threadCount() const { return int(m_loops.size()); }

    bool listen();
    bool isListening() const { return m_listening.load(std::memory_order_relaxed); }
    quint16 serverPort() const { return m_port; }
    QString errorString() const { return m_errorString; }
    // Stops accepting and closes every session with `code`.
    void close(QWebSocketProtocol::CloseCode code = QWebSocketProtocol::CloseCodeGoingAway,
               const QString &reason = QStringLiteral("server shutting down"));
    // Graceful drain: stops accepting, closes the sessions with 1001 spread over `windowMs`
    // (so clients do not all reconnect elsewhere at once), lets upstream requests in flight
    // finish, then emits drained(). Bounded: drained() comes at the latest after the window,
    // the upstream timeout and the close grace.
    void drain(int windowMs);
    bool isDraining() const { return m_draining; }
    // Applies the options that can change while running (secrets, limits, timeouts,
    // allow-lists); the address, port, path, TLS files, threads and event loop stay.
    void reload(const ServerOptions &options);
    // Milliseconds on the server's monotonic clock.
    qint64 now() const { return m_clock.elapsed(); }
    int connectionsFrom(const QHostAddress &address) const { return m_peers.from(address); }

    // The original's Regist(command, processor). Replaces an earlier one for that command.
    void registerProcessor(const QByteArray &command, std::shared_ptr<Processor> processor);
    Processor *processor(QByteArrayView command) const;
    // The original's RegistHeadFilter: appended after the built-in filters.
    void addHeaderFilter(std::shared_ptr<HeaderFilter> filter);

    // Replaces the broker (the embedded one by default). The server takes ownership.
    void setBroker(std::unique_ptr<Broker> broker);
    Broker *broker() const { return m_broker.get(); }

    // Server-side publish (the original's tools.Publish): sends `message` to every listed
    // channel. A `publish` header naming the channels is added when the message has none,
    // so subscribers see what a WebSocket publisher would have sent.
    Error publish(const QByteArrayList &channels, const Message &message);
    Error publish(const QByteArrayList &channels, const QByteArray &command,
                  const Message::HeaderList &headers, const QByteArray &body);

    // The whole node, all loops together.
    int sessionCount() const { return m_peers.total(); }
    int channelCount() const { return m_router.channelCount(); }
    QList<QByteArray> channelNames() const { return m_router.channelNames(); }
    // Subscribers of `channel` on all loops.
    int subscriberCount(const QByteArray &channel) const {
        return m_router.subscriberCount(channel);
    }
    qsizetype subscriptionCount() const;
    // History (PROTOCOL.md "History channels"): `channel`'s namespace size, messages held on
    // this node and newest position; `exists` false when it is not a history channel or
    // nothing was published or recovered on it yet. From any thread.
    HistoryStore::ChannelInfo historyInfo(const QByteArray &channel) const {
        return m_router.history().info(channel);
    }
    // Presence channels (PROTOCOL.md "Presence channels"): entries, stats, counters.
    const PresenceStore &presence() const { return m_router.presence(); }
    Counters::Values counters() const;
    // Upstream requests of all loops: statistics and those still in flight.
    UpstreamStats upstreamStats() const;
    int upstreamInFlight() const;
    // Calls `visit` for every session, in the thread of the loop it lives in, one call at a
    // time (the Server's thread waits for each loop).
    void visitSessions(const std::function<void(const Session &)> &visit) const;
    // Closes session `id` wherever it lives; false when there is none.
    bool closeSession(quint64 id, QWebSocketProtocol::CloseCode code, const QString &reason);
    // Like visitSessions(), without waiting: `visit` runs in each loop's thread when it gets
    // there, `done` in the Server's thread after the last one.
    void visitSessionsLater(std::function<void(const Session &)> visit,
                            std::function<void()> done) const;
    // Inside a slot connected directly to one of the signals about a session (sessionOpened,
    // sessionClosed, subscribed, unsubscribed, messageReceived, errorReplied) or to
    // messagePublished (the publisher): that session, in the loop thread it lives in; null for
    // publishes and errors of the HTTP API and Server::publish().
    static const Session *signalSession();

    // Loop 0, the one in the Server's thread: with threads = 1 the whole node. For tests and
    // single-threaded embedders.
    ChannelHub &hub();
    const ChannelHub &hub() const;
    Upstream *upstream() const;
    Session *session(quint64 id) const;
    QList<Session *> sessions() const;

Q_SIGNALS:
    void sessionOpened(quint64 id);
    void sessionClosed(quint64 id);
    void subscribed(quint64 id, const QByteArray &channel);
    void unsubscribed(quint64 id, const QByteArray &channel);
    void messageReceived(quint64 id, const QByteArray &command, qsizetype size);
    // One signal per (publish, channel), not per delivery.
    void messagePublished(const QByteArray &channel, qsizetype size, int localReceivers);
    // id is 0 for errors on the HTTP API.
    void errorReplied(quint64 id, int code, const QByteArray &reason);
    // A WebSocket that passed the admin token check on options().adminPath. The receiver
    // takes ownership; with no receiver connected the socket is closed.
    void adminConnected(QWebSocket *socket);
    void drained();

protected:
    void connectNotify(const QMetaMethod &signal) override;
    void disconnectNotify(const QMetaMethod &signal) override;

private:
    class Status;

    // NodeEvents: the runtime's news, as signals when someone listens (any loop's thread).
    void noteMessage(const Session &session) override;
    void noteSubscription(const Session &session, const QByteArray &channel,
                          bool subscribed) override;
    void notePublished(const QByteArray &channel, qsizetype size, const Session *from) override;
    void noteError(const Session *session, const Error &error) override;

    void acceptAdmin(QWebSocket *socket);
    void dispatch(qintptr descriptor);
    void loopDrained();
    void updateWatchers();
    // Runs `work(loop)` in each loop's thread: at once for loop 0, waiting for the others.
    void forEachLoop(const std::function<void(Loop &)> &work, bool wait = true) const;

    ServerOptions m_options;
    QElapsedTimer m_clock;
    PeerCounts m_peers;
    Router m_router;
    std::unique_ptr<Broker> m_broker;
    std::unique_ptr<Status> m_status;
    std::unique_ptr<Loop> m_loop0;
    std::vector<LoopThread *> m_threads; // loops 1..n-1
    std::vector<Loop *> m_loops;         // all, by index
    std::atomic<quint64> m_nextId{1};
    quint64 m_nextLoop = 0; // round-robin for accepted connections
    std::atomic<bool> m_listening{false};
    quint16 m_port = 0;
    QString m_errorString;
    bool m_draining = false;
    int m_loopsDrained = 0;
    QTimer m_drainDeadline;
    QTimer m_presenceTicker; // clustered presence: heartbeats and silent nodes
    std::atomic<bool> m_watchMessages{false};
    std::atomic<bool> m_watchPublishes{false};
    std::atomic<bool> m_watchSubscriptions{false};
    std::atomic<bool> m_watchErrors{false};
};

} // namespace lhttp

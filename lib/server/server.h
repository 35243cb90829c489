// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "channelhub.h"
#include "counters.h"
#include "error.h"
#include "flusher.h"
#include "message.h"
#include "nodeevents.h"
#include "pipeline.h"
#include "publisher.h"
#include "serveroptions.h"
#include "session.h"
#include "sessiontable.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <QWebSocketProtocol>

#include <memory>

class QWebSocket;

namespace lhttp {

class Broker;
class HeaderFilter;
class HttpApi;
class Listener;
class Processor;
class Upstream;

// An LHTTP node: listens on one port for WebSocket connections and plain HTTP requests, owns
// the sessions, runs each message through the pipeline, and fans published messages out
// through the ChannelHub and the Broker. It puts the parts together (runtime, port, broker)
// and turns what happens into Qt signals for whoever watches.
class Server : public QObject, private NodeEvents {
    Q_OBJECT
public:
    using Counters = lhttp::Counters;

    explicit Server(ServerOptions options = {}, QObject *parent = nullptr);
    ~Server() override;

    const ServerOptions &options() const { return m_options; }

    bool listen();
    bool isListening() const;
    quint16 serverPort() const;
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
    // allow-lists); the address, port, path and TLS files stay as they were.
    void reload(const ServerOptions &options);
    // Milliseconds on the server's monotonic clock.
    qint64 now() const { return m_clock.elapsed(); }
    int connectionsFrom(const QHostAddress &address) const {
        return m_sessions.connectionsFrom(address);
    }

    // The original's Regist(command, processor). Replaces an earlier one for that command.
    void registerProcessor(const QByteArray &command, std::shared_ptr<Processor> processor);
    Processor *processor(QByteArrayView command) const { return m_pipeline.processor(command); }
    // The original's RegistHeadFilter: appended after the built-in filters.
    void addHeaderFilter(std::shared_ptr<HeaderFilter> filter);

    // Replaces the broker (the embedded one by default). The server takes ownership.
    void setBroker(std::unique_ptr<Broker> broker);
    Broker *broker() const { return m_broker.get(); }
    // The built-in `upstream` filter (requests in flight, statistics).
    Upstream *upstream() const { return m_upstream.get(); }
    ChannelHub &hub() { return m_hub; }
    const ChannelHub &hub() const { return m_hub; }

    // Server-side publish (the original's tools.Publish): sends `message` to every listed
    // channel. A `publish` header naming the channels is added when the message has none,
    // so subscribers see what a WebSocket publisher would have sent.
    Error publish(const QByteArrayList &channels, const Message &message);
    Error publish(const QByteArrayList &channels, const QByteArray &command,
                  const Message::HeaderList &headers, const QByteArray &body);

    int sessionCount() const { return m_sessions.count(); }
    Session *session(quint64 id) const { return m_sessions.find(id); }
    QList<Session *> sessions() const { return m_sessions.all(); }
    const Counters &counters() const { return m_counters; }

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
    // NodeEvents: the runtime's news, as signals when someone listens.
    void noteMessage(const Session &session) override;
    void noteSubscription(const Session &session, const QByteArray &channel,
                          bool subscribed) override;
    void notePublished(const QByteArray &channel, qsizetype size) override;
    void noteError(const Session *session, const Error &error) override;

    void accept(QWebSocket *socket, QTcpSocket *wire, std::unique_ptr<Claims> claims);
    void acceptAdmin(QWebSocket *socket);
    void removeSession(Session *session);
    void updateWatchers();
    void tick();
    void restartTicker();
    void drainStep();
    void checkDrained();

    ServerOptions m_options;
    Counters m_counters;
    QElapsedTimer m_clock;
    SessionTable m_sessions;
    ChannelHub m_hub;
    std::unique_ptr<Broker> m_broker;
    Pipeline m_pipeline;
    Publisher m_publisher;
    Flusher m_flusher;
    const Session::Context m_context;
    std::shared_ptr<Upstream> m_upstream; // also in the pipeline, as a filter
    std::unique_ptr<Listener> m_listener;
    std::unique_ptr<HttpApi> m_httpApi;
    quint64 m_releasedAtTrim = 0; // m_counters.socketBuffersReleased at the last heap trim
    // One timer for every connection's keepalive, idle and close deadlines (no per-session
    // timers: a busy node has tens of thousands of sessions).
    QTimer m_ticker;
    QTimer m_drainTimer;
    QList<quint64> m_drainQueue;
    qint64 m_drainDeadline = 0;
    int m_drainBatch = 1;
    bool m_draining = false;
    QString m_errorString;
    quint64 m_nextId = 1;
    bool m_watchMessages = false;
    bool m_watchPublishes = false;
    bool m_watchSubscriptions = false;
    bool m_watchErrors = false;
};

} // namespace lhttp

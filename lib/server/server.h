// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "channelhub.h"
#include "error.h"
#include "message.h"
#include "serveroptions.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QTimer>
#include <QWebSocketProtocol>

#include <memory>
#include <vector>

class QNetworkRequest;
class QTcpSocket;
class QWebSocket;

namespace lhttp {

class Broker;
class HeaderFilter;
class Listener;
class Processor;
class Session;
class Upstream;
struct HttpRequest;
struct HttpResponse;

// The LHTTP server: listens on one port for WebSocket connections and plain HTTP requests,
// owns the sessions, runs each message through the filter chain and its processor, and
// fans published messages out through the ChannelHub and the Broker.
class Server : public QObject {
    Q_OBJECT
public:
    struct Counters {
        quint64 messagesIn = 0;
        quint64 bytesIn = 0;
        quint64 messagesOut = 0; // deliveries and replies, one per receiving connection
        quint64 bytesOut = 0;
        quint64 publishes = 0; // (message, channel) pairs published
        quint64 connectionsAccepted = 0;
        quint64 connectionsRefused = 0;       // at the handshake: limits, tokens, origins
        QHash<QByteArray, quint64> refusedBy; // the same, by reason (metrics label)
        quint64 slowConsumers = 0;
        quint64 keepaliveTimeouts = 0;
        quint64 idleTimeouts = 0;
        quint64 rateLimited = 0;
        quint64 socketBuffersReleased = 0; // idle connections' socket buffers given back
        QHash<int, quint64> errors;        // error replies and HTTP error statuses by code
    };

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
    int connectionsFrom(const QHostAddress &address) const { return m_perAddress.value(address); }
    // The connect token a WebSocket request carries (`Authorization: Bearer` or `?token=`).
    static QByteArray connectToken(const QNetworkRequest &request, const QUrl &url);

    // The original's Regist(command, processor). Replaces an earlier one for that command.
    void registerProcessor(const QByteArray &command, std::shared_ptr<Processor> processor);
    Processor *processor(QByteArrayView command) const;
    // The original's RegistHeadFilter: appended after the built-in filters.
    void addHeaderFilter(std::shared_ptr<HeaderFilter> filter);

    // Replaces the broker (the embedded one by default). The server takes ownership.
    void setBroker(std::unique_ptr<Broker> broker);
    Broker *broker() const { return m_broker.get(); }
    // The built-in `upstream` filter (requests in flight, statistics).
    Upstream *upstream() const { return m_upstream; }
    ChannelHub &hub() { return m_hub; }
    const ChannelHub &hub() const { return m_hub; }

    // Server-side publish (the original's tools.Publish): sends `message` to every listed
    // channel. A `publish` header naming the channels is added when the message has none,
    // so subscribers see what a WebSocket publisher would have sent.
    Error publish(const QByteArrayList &channels, const Message &message);
    Error publish(const QByteArrayList &channels, const QByteArray &command,
                  const Message::HeaderList &headers, const QByteArray &body);

    int sessionCount() const { return int(m_sessions.size()); }
    Session *session(quint64 id) const { return m_sessions.value(id); }
    QList<Session *> sessions() const { return m_sessions.values(); }
    const Counters &counters() const { return m_counters; }

    // --- used by the built-in filters, the listener and the HTTP API ---
    void countError(int code) { ++m_counters.errors[code]; }
    void countRefused(const char *reason) {
        ++m_counters.connectionsRefused;
        ++m_counters.refusedBy[QByteArray(reason)];
    }
    void countOut(qsizetype bytes) {
        ++m_counters.messagesOut;
        m_counters.bytesOut += quint64(bytes);
    }
    void notifySubscribed(Session &session, const QByteArray &channel, bool subscribed);
    void notifyPublished(const QByteArray &channel, qsizetype size);
    void notifyError(Session *session, const Error &error);
    void handleHttp(const HttpRequest &request, HttpResponse &response);

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
    friend class Session;

    void addSession(QWebSocket *socket, QTcpSocket *wire);
    void removeSession(Session *session);
    void releaseBuffersSoon(quint64 id);
    void runChain(Session &session);
    void updateWatchers();
    void tick();
    void restartTicker();
    void drainStep();
    void checkDrained();

    ServerOptions m_options;
    std::unique_ptr<Listener> m_listener;
    Upstream *m_upstream = nullptr; // owned by m_filters
    ChannelHub m_hub;
    std::unique_ptr<Broker> m_broker;
    QHash<quint64, Session *> m_sessions;
    QHash<QByteArray, std::shared_ptr<Processor>> m_processors;
    std::vector<std::shared_ptr<Processor>> m_processorOrder;
    std::vector<std::shared_ptr<HeaderFilter>> m_filters;
    Counters m_counters;
    quint64 m_releasedAtTrim = 0; // m_counters.socketBuffersReleased at the last heap trim
    QHash<QHostAddress, int> m_perAddress;
    QElapsedTimer m_clock;
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

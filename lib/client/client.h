// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "message.h"
#include "messagebuilder.h"
#include "position.h"

#include <QByteArray>
#include <QByteArrayList>
#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QMetaType>
#include <QNetworkRequest>
#include <QObject>
#include <QPair>
#include <QPointer>
#include <QSet>
#include <QSslConfiguration>
#include <QString>
#include <QTimer>
#include <QUrl>

#include <optional>

class QWebSocket;

namespace lhttp {

class Client;

// The answer to one read the Client sent (history(), presence(), presenceStats()): success or
// why not. finished() is emitted exactly once, always from the event loop; the reply is a child
// of the Client and deletes itself after finished() unless setAutoDelete(false).
class Reply : public QObject {
    Q_OBJECT
public:
    QByteArray channel() const { return m_channel; }
    bool isFinished() const { return m_finished; }
    bool isSuccess() const { return m_finished && m_errorCode < 0; }
    // The server's `error` code (e.g. 400, 403, 404, 410, 429, 503); 0 when there was no answer
    // (not connected, connection lost, input refused before sending, a server that ignored the
    // request's header); -1 on success.
    int errorCode() const { return m_errorCode; }
    QString errorString() const { return m_errorString; }

    bool autoDelete() const { return m_autoDelete; }
    void setAutoDelete(bool on) { m_autoDelete = on; }

Q_SIGNALS:
    void finished();

protected:
    // Made and completed by the Client only (subclasses in client.cpp).
    Reply(const QByteArray &channel, QObject *parent);
    void succeed();
    // Also clears what a subclass collected (clearResult()).
    void fail(int code, const QString &why);
    virtual void clearResult() {}

private:
    void finishLater();

    QByteArray m_channel;
    int m_errorCode = -1;
    QString m_errorString;
    bool m_finished = false;
    bool m_finishing = false;
    bool m_autoDelete = true;
};

// The answer to Client::history(): the messages of a history channel, oldest first, and the
// channel's position (PROTOCOL.md "History read").
class HistoryReply : public Reply {
    Q_OBJECT
public:
    // Oldest first, each with its `position` header.
    QList<Message> messages() const { return m_messages; }
    // The channel's position when the server answered (the newest message's, or the one the
    // next message will follow).
    Position position() const { return m_position; }

protected:
    HistoryReply(const QByteArray &channel, QObject *parent)
        : Reply(channel, parent) {}
    void clearResult() override { m_messages.clear(); }

    QList<Message> m_messages;
    Position m_position;
};

// One entry of a presence channel (PROTOCOL.md "Presence channels"): a connection subscribed to
// the channel. `node` + `client` is unique in the cluster while the connection lives.
struct PresenceMember {
    QByteArray client; // the connection's id on its node
    QByteArray node;   // the node's name
    QByteArray user;   // the connect token's `sub`; empty without tokens
    QByteArray info;   // what the connection sent in `presence-info` (may be empty)

    bool operator==(const PresenceMember &o) const {
        return client == o.client && node == o.node && user == o.user && info == o.info;
    }
    bool operator!=(const PresenceMember &o) const { return !(*this == o); }
};

// The answer to Client::presence(): the channel's entries, in no particular order. The server
// lists at most its --presence-list-max of them; total() counts them all.
class PresenceReply : public Reply {
    Q_OBJECT
public:
    QList<PresenceMember> members() const { return m_members; }
    int total() const { return m_total; }
    // Whether the server listed fewer entries than the channel has (its list cap).
    bool isTruncated() const { return m_members.size() < m_total; }

protected:
    PresenceReply(const QByteArray &channel, QObject *parent)
        : Reply(channel, parent) {}
    void clearResult() override {
        m_members.clear();
        m_total = 0;
    }

    QList<PresenceMember> m_members;
    int m_total = 0;
};

// The answer to Client::presenceStats(): how many entries the channel has, from how many users.
class PresenceStatsReply : public Reply {
    Q_OBJECT
public:
    int connections() const { return m_connections; }
    // Distinct user ids; connections without one count one user each.
    int users() const { return m_users; }
    // The asked user's entries; -1 when no user was asked for.
    int userConnections() const { return m_userConnections; }
    QByteArray user() const { return m_user; }

protected:
    PresenceStatsReply(const QByteArray &channel, const QByteArray &user, QObject *parent)
        : Reply(channel, parent)
        , m_user(user) {}
    void clearResult() override {
        m_connections = 0;
        m_users = 0;
        m_userConnections = -1;
    }

    int m_connections = 0;
    int m_users = 0;
    int m_userConnections = -1;
    QByteArray m_user;
};

// How to join presence channels (Client::subscribeWithPresence()).
struct PresenceOptions {
    // Sent as `presence-info`: this connection's info in the channels' entries (at most the
    // server's --presence-info-max bytes, 256 by default; no control bytes; leading and trailing
    // blanks do not survive the header).
    QByteArray info;
    // Receive the channels' join/leave events (`joins`): joined() and left().
    bool joins = false;
    // ... and also this connection's own join (`joins-self`). Implies joins.
    bool joinsSelf = false;

    bool operator==(const PresenceOptions &o) const {
        return info == o.info && joins == o.joins && joinsSelf == o.joinsSelf;
    }
    bool operator!=(const PresenceOptions &o) const { return !(*this == o); }
};

// An LHTTP client for C++/Qt applications, over one QWebSocket.
//
// Messages arrive as lhttp::Message values: a received Message keeps its own (implicitly
// shared) copy of the bytes its views point into, so it can be copied, queued and kept after
// the signal returns. `LHTTP/1.0 error` replies from the server come through errorReceived()
// instead of messageReceived().
//
// The client remembers which channels it subscribed to (through subscribe(), or a `subscribe`
// header in anything it sent) and, when the connection drops, reconnects with exponential
// backoff and jitter and subscribes to them again. Channels the server refused stay in the
// set until unsubscribed: the client cannot tell which message an error answers.
//
// History channels (PROTOCOL.md "History channels"): the client remembers the position of the
// last message it got on each channel (position()). Channels joined with
// subscribeWithRecovery() are joined again after a reconnect with `recover:<channel> <offset>
// <epoch>`: the server replays what was missed, messageReceived() delivers it in order as if
// it had arrived live, never twice, and recovered() says whether anything was lost.
//
// Presence channels (PROTOCOL.md "Presence channels"): subscribeWithPresence() joins them with
// this connection's info and, when asked, their join/leave events, which come through joined()
// and left() (never through messageReceived()); again so after every reconnect. presence() and
// presenceStats() read who is there without subscribing.
class Client : public QObject {
    Q_OBJECT
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
    Q_PROPERTY(QUrl url READ url)
    Q_PROPERTY(bool autoReconnect READ autoReconnect WRITE setAutoReconnect)
    Q_PROPERTY(int minReconnectDelay READ minReconnectDelay)
    Q_PROPERTY(int maxReconnectDelay READ maxReconnectDelay)
    Q_PROPERTY(QByteArrayList channels READ channels)
public:
    enum class State {
        Disconnected, // not connected and not trying to (initially, after close())
        Connecting,   // WebSocket handshake in progress
        Connected,    // ready: sends go out
        Closing,      // close() was called; the close frame is on its way
        Reconnecting, // the connection failed or dropped; waiting for the next attempt
    };
    Q_ENUM(State)

    static constexpr int DefaultMinReconnectDelayMs = 500;
    static constexpr int DefaultMaxReconnectDelayMs = 30'000;
    static constexpr int DefaultConnectTimeoutMs = 10'000;
    // A connection that lived this long resets the backoff; a server that accepts and then
    // drops every connection at once is retried with growing delays instead of in a loop.
    static constexpr int StableConnectionMs = 5'000;

    explicit Client(QObject *parent = nullptr);
    ~Client() override;

    // Connects (and keeps reconnecting, unless autoReconnect is off). A request carries extra
    // handshake headers (Authorization, Origin). Abandons any current connection.
    void open(const QUrl &url);
    void open(const QNetworkRequest &request);
    // Closes gracefully and stops reconnecting; the subscribed channels are kept for the next
    // open().
    void close();

    State state() const { return m_state; }
    bool isConnected() const { return m_state == State::Connected; }
    QUrl url() const { return m_request.url(); }
    // Why the last connection attempt, connection or local call failed.
    QString errorString() const { return m_errorString; }

    bool autoReconnect() const { return m_autoReconnect; }
    void setAutoReconnect(bool on);
    int minReconnectDelay() const { return m_minDelayMs; }
    int maxReconnectDelay() const { return m_maxDelayMs; }
    // Attempt n (from 0) waits a random time in [max(min, d/2), d] with d = min(max, min·2^n).
    void setReconnectDelays(int minMs, int maxMs);
    void setConnectTimeout(int ms) { m_connectTimeoutMs = ms; }

    // TLS for wss:// URLs, as QWebSocket::setSslConfiguration(): whom to trust and what to
    // verify, e.g. a private CA (setCaCertificates(QSslConfiguration::systemCaCertificates() +
    // mine)) or no verification (setPeerVerifyMode(QSslSocket::VerifyNone)). Used from the next
    // connection attempt on; a null configuration means QSslConfiguration::defaultConfiguration().
    QSslConfiguration sslConfiguration() const;
    void setSslConfiguration(const QSslConfiguration &configuration);

    // The channels that are subscribed again after a reconnect, in subscription order.
    QByteArrayList channels() const { return m_channels; }

    // Sends `LHTTP/1.0 <command>\r\nsubscribe:<channels>\r\n\r\n` and remembers the channels.
    // While not connected the channels are only remembered and go out on connect. Returns
    // false (and sends nothing) when a channel name is invalid.
    bool subscribe(const QByteArrayList &channels,
                   const QByteArray &command = QByteArrayLiteral("subscribe"));
    // Forgets the channels and, when connected, sends an `unsubscribe` message.
    bool unsubscribe(const QByteArrayList &channels,
                     const QByteArray &command = QByteArrayLiteral("unsubscribe"));
    // Joins history channels (concrete names, no wildcards) with recovery: one message per
    // channel, `subscribe:<channel>` and `recover:<channel> <offset> <epoch>` from the known
    // position (position(), setPosition()), or `recover:<channel>` without one; again after
    // every reconnect. Each answer ends in recovered(). A delivery on such a channel whose
    // offset is not beyond the last one seen in the same epoch is dropped. When the server
    // refuses the recover header (an error reply, e.g. 404 for a channel without history) the
    // client joins the channel without it and reports recovered(channel, false, 0).
    bool subscribeWithRecovery(const QByteArrayList &channels,
                               const QByteArray &command = QByteArrayLiteral("subscribe"));
    // The channels joined with subscribeWithRecovery(), in subscription order.
    QByteArrayList recoveringChannels() const;
    // The position of the last message received on `channel` (deliveries, recovered and
    // history replies); an empty epoch when none is known.
    Position position(const QByteArray &channel) const { return m_positions.value(channel); }
    bool hasPosition(const QByteArray &channel) const { return m_positions.contains(channel); }
    // Resume from a position kept elsewhere (e.g. saved before the application restarted):
    // the next subscribeWithRecovery() or reconnect recovers from it. An invalid epoch
    // forgets the channel's position.
    void setPosition(const QByteArray &channel, const Position &position);
    // Reads a history channel without subscribing: the last `limit` messages, or up to
    // `limit` messages after `after`. Never null; invalid input and not being connected fail
    // the reply (from the event loop). An error reply to the read also comes through
    // errorReceived().
    HistoryReply *history(const QByteArray &channel, int limit,
                          const std::optional<Position> &after = std::nullopt,
                          const QByteArray &command = QByteArrayLiteral("history"));
    // Joins presence channels (concrete names, no wildcards) with `presence-info`, `joins` or
    // `joins-self` as `options` says, in one message; again so after every reconnect (one message
    // per command and options). Channels joined before take the new options (the server changes
    // the opt-in; whether it updates the info of a channel already joined is up to it). A
    // refusal (404 not a presence channel, 413 info too long, 429 too many joins, 403) comes
    // through errorReceived(); nothing of the message is applied then, but the channels stay
    // remembered as with subscribe(). Returns false (and sends nothing) for invalid input.
    bool subscribeWithPresence(const QByteArrayList &channels, const PresenceOptions &options,
                               const QByteArray &command = QByteArrayLiteral("subscribe"));
    // The channels joined with subscribeWithPresence(), in subscription order, and their options.
    QByteArrayList presenceChannels() const;
    PresenceOptions presenceOptions(const QByteArray &channel) const {
        return m_presence.value(channel);
    }
    // Reads a presence channel's entries without subscribing (`presence:<channel>`). Never null;
    // invalid input and not being connected fail the reply (from the event loop). An error reply
    // to the read also comes through errorReceived().
    PresenceReply *presence(const QByteArray &channel,
                            const QByteArray &command = QByteArrayLiteral("presence"));
    // Counts a presence channel's entries and distinct users, and with `user` that user's
    // entries (`presence-stats:<channel> [<user>]`). As presence() otherwise.
    PresenceStatsReply *presenceStats(const QByteArray &channel, const QByteArray &user = {},
                                      const QByteArray &command = QByteArrayLiteral("presence"));
    // Publishes like the original SDKs: `publish:<channels>` first, then `headers`, then the
    // body. Returns false when not connected or when the input is invalid (errorString()).
    bool publish(const QByteArrayList &channels, const QByteArray &command,
                 const HeaderPairs &headers = {}, const QByteArray &body = {});
    bool publish(const QByteArray &channel, const QByteArray &command,
                 const QByteArray &body = {}) {
        return publish(QByteArrayList{channel}, command, {}, body);
    }
    bool send(const Message &message);
    // Sends bytes as they are, even if they are not valid LHTTP (for tools and tests).
    bool sendRaw(const QByteArray &bytes);
    // A WebSocket ping. The server answers pings in order with the messages before it, so
    // pong() also means every earlier message has been handled and any error reply to it has
    // already arrived (replies that wait for an upstream request excepted).
    bool ping(const QByteArray &payload = {});

Q_SIGNALS:
    void stateChanged(lhttp::Client::State state);
    void connected();
    // The connection was lost or closed (after connected()). A reconnect may follow.
    void disconnected();
    // A connection attempt failed (refused, handshake rejected, timed out).
    void connectionFailed(const QString &errorString);
    // Emitted before waiting `delayMs` for attempt number `attempt` (from 1).
    void reconnectScheduled(int delayMs, int attempt);
    void messageReceived(const lhttp::Message &message);
    // An `LHTTP/1.0 error` reply (a `code` header and no `publish` header).
    void errorReceived(int code, const QByteArray &reason);
    // Something that is not an LHTTP message arrived.
    void invalidMessageReceived(const QByteArray &bytes, const QByteArray &reason);
    void pong(quint64 elapsedMs, const QByteArray &payload);
    // The answer to a recover (subscribeWithRecovery(), reconnects), after the `count`
    // replayed messages went through messageReceived(). complete: nothing was missed; false:
    // messages were lost (another epoch, or older than the history holds; or the server
    // refused the recover header): reload the channel from elsewhere, the client continues
    // from position(channel).
    void recovered(const QByteArray &channel, bool complete, int count);
    // Join/leave events (`LHTTP/1.0 presence` with `join`/`leave`) of the presence channels
    // joined with joins (or joinsSelf, which adds this connection's own join). `member.info` is
    // the joiner's info, also on leave.
    void joined(const QByteArray &channel, const lhttp::PresenceMember &member);
    void left(const QByteArray &channel, const lhttp::PresenceMember &member);

private:
    // A message answered by a reply header (`recovered`, `history`, `presence`,
    // `presence-stats`) and then `count` messages (recover and history), or by an error reply;
    // a ping sent right after it tells which when no reply header came.
    struct Pending {
        enum class Kind { Recover, History, Presence, PresenceStats } kind = Kind::Recover;
        QByteArray channel;
        QByteArray command;
        quint64 id = 0;
        quint64 errorsAtSend = 0;
        bool answered = false;
        int remaining = 0;
        bool complete = false;
        int count = 0;
        Position top;
        QPointer<Reply> reply;
    };
    void sendRecover(const QByteArray &channel);
    void trackPending(Pending pending);
    void onPong(quint64 elapsedMs, const QByteArray &payload);
    bool onReply(const Message &message);
    bool onPresenceReply(const Message &message);
    bool onPresenceEvent(const Message &message);
    bool onHistoryMessage(const Message &message);
    // Sends a read with one `name:value` header and tracks its reply; fails the reply otherwise.
    void sendRead(Pending::Kind kind, Reply *reply, const QByteArray &command,
                  const QByteArray &name, const QByteArray &value);
    // The `presence-info`/`joins`/`joins-self` headers for joining `channels` with `options`.
    static HeaderPairs presenceHeaders(const QByteArrayList &channels,
                                       const PresenceOptions &options);
    void finishPending(qsizetype index);
    void dropPending(const QString &why);
    void notePosition(const QByteArray &channel, const Position &position);

private:
    void connectNow();
    void detachSocket(bool graceful);
    void onSocketConnected();
    void onSocketGone();
    void onIncoming(const QByteArray &bytes);
    void scheduleReconnect();
    void setState(State state);
    bool sendBytes(const QByteArray &bytes);
    void track(const QByteArray &bytes);
    void remember(const QByteArrayList &channels, const QByteArray &command);
    void forget(const QByteArrayList &channels);
    void resubscribe();
    bool fail(const QString &why);

    QWebSocket *m_socket = nullptr;
    QNetworkRequest m_request;
    State m_state = State::Disconnected;
    QString m_errorString;
    bool m_autoReconnect = true;
    int m_minDelayMs = DefaultMinReconnectDelayMs;
    int m_maxDelayMs = DefaultMaxReconnectDelayMs;
    int m_connectTimeoutMs = DefaultConnectTimeoutMs;
    QSslConfiguration m_sslConfiguration; // null: Qt's default
    int m_attempt = 0;
    bool m_timedOut = false;
    QTimer m_reconnectTimer;
    QTimer m_connectTimer; // bounds one handshake, and the close handshake
    QElapsedTimer m_connectedFor;
    QByteArrayList m_channels;
    QHash<QByteArray, QByteArray> m_channelCommand; // the command each channel was joined with
    QSet<QByteArray> m_recovering;                  // joined with subscribeWithRecovery()
    QHash<QByteArray, PresenceOptions> m_presence;  // joined with subscribeWithPresence()
    QHash<QByteArray, Position> m_positions;
    QList<Pending> m_pending; // in the order sent
    quint64 m_nextPendingId = 1;
    quint64 m_errorReplies = 0; // error replies received, to tell which one answers a request
    int m_lastErrorCode = 0;
    QByteArray m_lastErrorReason;
};

} // namespace lhttp

Q_DECLARE_METATYPE(lhttp::Message)
Q_DECLARE_METATYPE(lhttp::Position)
Q_DECLARE_METATYPE(lhttp::PresenceMember)

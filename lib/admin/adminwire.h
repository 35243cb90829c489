// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "broker.h"

#include <QByteArray>
#include <QByteArrayList>
#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QWebSocketProtocol>

namespace lhttp {

// The admin protocol (docs/ADMIN.md): names, defaults and the value types that both ends use.
// The server aggregates what happens on the node into snapshots and batches (AdminFeed); the
// admin endpoint sends them to consoles as LHTTP messages with JSON bodies; the console decodes
// them back into the same types, and so does the embedded console, without the JSON.
namespace Admin {

inline constexpr QByteArrayView SnapshotCommand = "admin.snapshot";
inline constexpr QByteArrayView EventsCommand = "admin.events";
inline constexpr QByteArrayView PublishCommand = "admin.publish";
inline constexpr QByteArrayView DisconnectCommand = "admin.disconnect";
inline constexpr QByteArrayView ResultCommand = "admin.result";

// One batch per interval: a console redraws at most this often whatever the traffic.
constexpr int DefaultBatchIntervalMs = 250;
// Traffic samples per batch; the rest of the window's messages are only counted.
constexpr int DefaultMaxSamplesPerBatch = 200;
// Per-connection counters change with every message; sending the changed ones every fourth
// batch (once a second) keeps a 10,000-connection node's batches small.
constexpr int DefaultStatsEveryBatches = 4;
// A sample keeps this much of the body; a console wants to recognise a message, not store it.
constexpr qsizetype PreviewBytes = 96;
// A console whose socket holds more unsent bytes than this is skipped until it catches up,
// then resynchronised with a fresh snapshot: a slow console costs the node bounded memory.
constexpr qsizetype DefaultMaxBacklogBytes = 4 * 1024 * 1024;
// Connections per admin.snapshot part, so no single message grows with the node.
constexpr int SnapshotPartSize = 1000;
// Close samples per batch; more (a drain, a mass disconnect) are counted in `dropped`.
constexpr int MaxClosesPerBatch = 100;
// Attached consoles at once; more are refused with CloseTooManyConsoles.
constexpr int DefaultMaxConsoles = 8;
// Close code for a console over the limit: 4013, the private-use twin of RFC 6455's 1013 "try
// again later". Not 1013 itself: QWebSocket (Qt 6.4) treats codes 1012-2999 as invalid and
// answers them with a 1002 protocol error, so a Qt console would never see why.
constexpr auto CloseTooManyConsoles = QWebSocketProtocol::CloseCode(4013);
// The `code` of a successful admin.result; failures carry the error's HTTP-like status.
constexpr int StatusOk = 200;
// A presence channel's description lists at most this many of its entries (and counts them
// all): a channel of 10,000 members costs a batch a few KiB, not a megabyte.
constexpr int MaxPresenceMembers = 100;

// One entry of a presence channel (PROTOCOL.md "Presence channels"): a connection subscribed
// to it, on this node or another one of the cluster.
struct PresenceMember {
    QByteArray client; // the connection's id on its node
    QByteArray node;   // the node's name
    QByteArray user;   // the connect token's `sub`; empty without tokens
    QByteArray info;   // what the connection sent in `presence-info`

    bool operator==(const PresenceMember &o) const {
        return client == o.client && node == o.node && user == o.user && info == o.info;
    }
    bool operator!=(const PresenceMember &o) const { return !(*this == o); }
};

// A connection's counters, absolute values since it opened.
struct Stats {
    quint64 messagesIn = 0;
    quint64 bytesIn = 0;
    quint64 messagesOut = 0;
    quint64 bytesOut = 0;

    bool operator==(const Stats &o) const {
        return messagesIn == o.messagesIn && bytesIn == o.bytesIn && messagesOut == o.messagesOut &&
               bytesOut == o.bytesOut;
    }
    bool operator!=(const Stats &o) const { return !(*this == o); }
};

// What a console knows about one connection.
struct Connection {
    quint64 id = 0;
    QString peer; // address:port
    QString origin;
    qint64 connectedAtMs = 0; // milliseconds since the epoch, UTC
    QByteArrayList channels;
    Stats stats;
};

// Per-connection counters; absolute values since the connection opened.
struct ConnectionStats {
    quint64 id = 0;
    Stats stats;
};

struct Subscription {
    quint64 id = 0;
    QByteArray channel;
    bool subscribed = true; // false: the connection left the channel
};

// One channel's state and its activity during one batch interval.
struct Channel {
    QByteArray name;
    int subscribers = 0;    // local subscribers now
    quint64 publishes = 0;  // messages published to it in the interval
    quint64 bytes = 0;      // their size
    quint64 deliveries = 0; // copies sent to local subscribers in the interval
    // History channels (PROTOCOL.md "History channels"); all 0/empty for a plain channel.
    int historySize = 0;    // the namespace's history size; 0: not a history channel
    int historyStored = 0;  // messages this node holds now
    quint64 lastOffset = 0; // the newest message's offset
    QByteArray epoch = {};  // the channel stream's epoch

    // Presence channels (PROTOCOL.md "Presence channels"), cluster-wide; all 0/empty for a
    // channel without presence.
    bool presence = false;
    int presenceTotal = 0;                   // entries: connections subscribed, all nodes
    int presenceUsers = 0;                   // distinct users among them
    QList<PresenceMember> presenceList = {}; // the first MaxPresenceMembers entries, sorted

    bool isHistory() const { return historySize > 0; }
    bool sameHistory(const Channel &o) const {
        return historySize == o.historySize && historyStored == o.historyStored &&
               lastOffset == o.lastOffset && epoch == o.epoch;
    }
    bool isPresence() const { return presence; }
    bool samePresence(const Channel &o) const {
        return presence == o.presence && presenceTotal == o.presenceTotal &&
               presenceUsers == o.presenceUsers && presenceList == o.presenceList;
    }
};

enum class Direction { In, Out, Error, Close };

// One sampled message. In: received from `connection`. Out: published to `channel` and sent
// to `receivers` local subscribers (`connection` is the publisher, 0 for HTTP and console
// publishes). Error: an error reply to `connection`; the preview holds the reason.
// Close: `connection` ended with a notable close (one the node made, such as a slow consumer's
// 4008, or any with a code other than 1000/1001/1005 or with a reason); `command` holds the
// close code and the preview the reason. Closes are not sampled: every one is reported, up to
// MaxClosesPerBatch per batch.
struct Sample {
    qint64 timeMs = 0;
    Direction direction = Direction::In;
    quint64 connection = 0;
    QByteArray channel;
    QByteArray command;
    qsizetype size = 0;
    int receivers = 0;
    QByteArray preview;
};

// Node-wide counters, absolute (Server::Counters plus gauges). A console derives rates from
// two of these, so a skipped batch costs it resolution, never correctness.
struct Totals {
    quint64 messagesIn = 0;
    quint64 bytesIn = 0;
    quint64 messagesOut = 0;
    quint64 bytesOut = 0;
    quint64 publishes = 0;
    quint64 errors = 0;
    quint64 connectionsAccepted = 0;
    int connections = 0;
    int channels = 0;
    qsizetype subscriptions = 0;
    // Why connections ended or never started (Server::Counters): closed as slow consumers
    // (4008), for a missing pong (4001), for sending nothing valid (idle), messages refused by
    // the rate limit (429), WebSocket upgrades refused at the handshake.
    quint64 slowConsumers = 0;
    quint64 keepaliveTimeouts = 0;
    quint64 idleTimeouts = 0;
    quint64 rateLimited = 0;
    quint64 connectionsRefused = 0;
};

struct NodeInfo {
    QString address; // host:port the node listens on
    QString version;
    qint64 startedAtMs = 0;
    Broker::State brokerState = Broker::State::Embedded;
    QString broker;    // Broker::description()
    QString brokerUrl; // the bus server connected to, if any
};

// The whole state of a node at one moment.
struct Snapshot {
    qint64 timeMs = 0;
    quint64 gap = 0; // batches this console missed before this resynchronising snapshot
    NodeInfo node;
    Totals totals;
    QList<Connection> connections;
    QList<Channel> channels; // subscribers, history and presence; the activity fields are 0
};

// What changed during one interval. Applying it to the state of the previous batch (or of a
// snapshot taken at any time since) gives the state now: opened, closed and subscription
// changes are idempotent.
struct Batch {
    quint64 seq = 0;
    qint64 timeMs = 0;
    int intervalMs = 0;
    QList<Connection> opened;
    QList<quint64> closed;
    QList<Subscription> subscriptions; // net change per (connection, channel)
    QList<ConnectionStats> stats;      // connections whose counters changed; not every batch
    // Channels with activity, subscriber, history or presence changes.
    QList<Channel> channels;
    QList<Sample> samples;      // in time order
    quint64 samplesDropped = 0; // messages of the interval that were not sampled
    Totals totals;
    Broker::State brokerState = Broker::State::Embedded;
    QString brokerUrl;
};

QString directionName(Direction direction);

// The JSON bodies of admin.snapshot and admin.events (docs/ADMIN.md §3).
QJsonObject toJson(const Snapshot &snapshot);
QJsonObject toJson(const Batch &batch);
Snapshot snapshotFromJson(const QJsonObject &object);
Batch batchFromJson(const QJsonObject &object);
// Splits a snapshot into admin.snapshot messages of at most SnapshotPartSize connections.
QList<QByteArray> snapshotMessages(const Snapshot &snapshot);
QByteArray eventsMessage(const Batch &batch, quint64 gap);

// The first bytes of a body, as samples show it (PreviewBytes, valid UTF-8 kept whole).
QByteArray preview(QByteArrayView body);

} // namespace Admin

} // namespace lhttp

Q_DECLARE_METATYPE(lhttp::Admin::Snapshot)
Q_DECLARE_METATYPE(lhttp::Admin::Batch)

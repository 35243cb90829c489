// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QByteArrayList>
#include <QHash>
#include <QList>
#include <QMutex>

#include <atomic>
#include <functional>
#include <vector>

namespace lhttp {

// One connection in a presence channel (PROTOCOL.md "Presence channels").
struct PresenceEntry {
    QByteArray client; // the connection's id on its node, decimal
    QByteArray node;   // the node's name
    QByteArray user;   // the connect token's `sub`; empty without tokens
    QByteArray info;   // what the client sent in `presence-info`
};

struct PresenceList {
    int total = 0; // entries in the channel; `entries` holds at most the cap asked for
    QList<PresenceEntry> entries;
};

struct PresenceStats {
    int connections = 0;
    int users = 0;           // distinct user ids; each entry without one counts one
    int userConnections = 0; // the entries of the user asked for
};

// Who is subscribed to which presence channel, on this node and — clustered — on every other
// node: a node's own entries change with its sessions, the others' come as messages from them.
// Thread-safe (one mutex); the channel patterns and names are set before any traffic.
//
// Cluster messages (docs/CLUSTER.md "Presence"), one NATS subject shared by all nodes, each
// message a header line `<kind> <instance> <seq> <node>` and then, for D and S, records:
//   D  the sender's joins (`+ <channel> <client> <user length> <info length>`, a line, then the
//      user and info bytes and a line end) and leaves (`- <channel> <client>`), numbered 1, 2 …
//      per sender instance (a process; a restart is a new instance);
//   S  the sender's whole state as `+` records, as of delta <seq>;
//   H  a heartbeat, every second, carrying the sender's last delta number;
//   R  "send your S": the line after the header names the instance asked, or `*` for all.
// A receiver applies deltas in order; a gap (a lost message), an instance it does not know in
// full, or a heartbeat ahead of what it has makes it ask that node for its S. A node not heard
// from for `timeout` ms is dropped with its entries; a new instance with the name of one known
// replaces it at once.
class PresenceStore {
public:
    struct Event {
        QByteArray channel;
        bool join = true;
        quint64 session = 0; // the session's id when it is this node's, else 0
        PresenceEntry entry;
    };
    using Events = std::vector<Event>;
    struct Counters {
        std::atomic<quint64> joins{0};       // this node's sessions
        std::atomic<quint64> leaves{0};      // this node's sessions
        std::atomic<quint64> remoteJoins{0}; // learned from other nodes
        std::atomic<quint64> remoteLeaves{0};
        std::atomic<quint64> reads{0};
        std::atomic<quint64> rateLimited{0};
        std::atomic<quint64> nodeTimeouts{0};
        std::atomic<quint64> nodeRestarts{0};
        std::atomic<quint64> syncRequests{0}; // R messages this node sent
        std::atomic<quint64> snapshots{0};    // S messages this node applied
        std::atomic<quint64> malformed{0};    // cluster messages that could not be read
        std::atomic<quint64> eventsSent{0};   // join/leave events written to watchers
    };
    struct Size {
        int channels = 0;
        int entries = 0;
        int localEntries = 0;
        int nodes = 1; // this one and every other node heard from
    };

    // How often tick() should run; heartbeats go every HeartbeatIntervalMs of them.
    static constexpr int CheckIntervalMs = 250;
    static constexpr int HeartbeatIntervalMs = 1000;

    PresenceStore();

    // The presence namespaces (channel patterns, NATS wildcards) and this node's name.
    void configure(const QByteArrayList &patterns, const QByteArray &nodeName);
    bool isEnabled() const { return !m_patterns.isEmpty(); }
    bool covers(QByteArrayView channel) const;
    const QByteArrayList &patterns() const { return m_patterns; }
    QByteArray nodeName() const;
    // Before traffic (the Server knows its port once it listens).
    void setNodeName(const QByteArray &name);

    // This node's sessions. join() is false when the session already was an entry.
    bool join(const QByteArray &channel, quint64 session, const QByteArray &user,
              const QByteArray &info, Event *event);
    bool leave(const QByteArray &channel, quint64 session, Event *event);

    PresenceList list(const QByteArray &channel, int max) const;
    PresenceStats stats(const QByteArray &channel, QByteArrayView user = {}) const;
    QList<QByteArray> channels() const;
    Size size() const;
    Counters &counters() { return m_counters; }
    const Counters &counters() const { return m_counters; }

    // Clustered: `send` publishes a cluster message (called with the store's lock held, so
    // messages leave in the order they were numbered); null: not clustered (other nodes'
    // entries are dropped, with events). `timeoutMs`: when a silent node is dropped.
    void setCluster(std::function<void(const QByteArray &)> send, qint64 timeoutMs, qint64 now,
                    Events *events);
    bool isClustered() const { return m_clustered.load(std::memory_order_acquire); }
    // Whether joins or leaves wait to be sent (cheap; from any thread).
    bool hasOutgoing() const { return m_outgoing.load(std::memory_order_acquire); }
    // Sends what waits, as one D message.
    void flush();
    // (Re)joined the cluster: sends this node's S and asks every node for theirs.
    void announce();
    // Every CheckIntervalMs: other nodes silent for too long dropped, and every
    // HeartbeatIntervalMs this node's heartbeat.
    void tick(qint64 now, Events *events);
    // A cluster message (this node's own ones come back too and are ignored).
    void receive(QByteArrayView message, qint64 now, Events *events);

private:
    struct Member {
        quint64 session;
        QByteArray user;
        QByteArray info;
    };
    struct Room {
        QHash<quint64, Member> members; // key: node id << 40 | session
        QHash<QByteArray, int> users;   // entries per user id (not for empty ones)
        int anonymous = 0;
    };
    struct Node {
        QByteArray name;
        quint32 id = 0;
        quint64 seq = 0;
        bool synced = false; // has its S (or has followed it from its first delta)
        qint64 heardAt = 0;
        qint64 askedAt = -1; // the last R sent to it
    };
    static constexpr int SessionBits = 40;
    static quint64 key(quint32 node, quint64 session) {
        return (quint64(node) << SessionBits) | session;
    }

    // Caller holds m_mutex.
    bool add(const QByteArray &channel, quint32 node, quint64 session, const QByteArray &user,
             const QByteArray &info, Event *event);
    bool remove(const QByteArray &channel, quint32 node, quint64 session, Event *event);
    void dropNode(const QByteArray &instance, Events *events);
    void replaceNode(Node &node, QHash<QByteArray, QHash<quint64, Member>> snapshot,
                     Events *events);
    void ask(Node &node, const QByteArray &instance, qint64 now);
    static QByteArray newInstance();
    void flushLocked();
    QByteArray headerLine(char kind) const;
    QByteArray snapshotMessage() const;
    const QByteArray &nameOf(quint32 node) const;
    Event makeEvent(const QByteArray &channel, bool join, quint32 node, const Member &m) const;

    QByteArrayList m_patterns;
    mutable QMutex m_mutex;
    QByteArray m_nodeName;
    QByteArray m_instance;
    QHash<QByteArray, Room> m_rooms;
    int m_localEntries = 0;
    int m_entries = 0;
    QHash<QByteArray, Node> m_nodes; // other nodes, by instance
    QHash<quint32, QByteArray> m_nodeInstances;
    quint32 m_nextNodeId = 1; // 0 is this node
    std::function<void(const QByteArray &)> m_send;
    std::atomic<bool> m_clustered{false};
    qint64 m_timeoutMs = 5000;
    quint64 m_seq = 0; // this node's last delta sent
    qint64 m_heartbeatAt = -1;
    QByteArray m_outbox; // records not sent yet
    std::atomic<bool> m_outgoing{false};
    Counters m_counters;
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QMutex>

#include <atomic>

namespace lhttp {

class Session;

// How many connections the whole node holds, in all and per peer address: what the connection
// limits are checked against. Thread-safe (every event loop adds and removes its own); touched
// once per connect and disconnect.
class PeerCounts {
public:
    void add(const QHostAddress &address);
    void remove(const QHostAddress &address);
    int total() const { return m_total.load(std::memory_order_relaxed); }
    int from(const QHostAddress &address) const;

private:
    mutable QMutex m_mutex;
    QHash<QHostAddress, int> m_perAddress;
    std::atomic<int> m_total{0};
};

// The open sessions of one event loop, by id. Owned by the loop; the upstream forwarder finds
// the sender of an answer by id (never by pointer: the sender may be gone). Each session is
// also counted in the node's PeerCounts.
class SessionTable {
public:
    explicit SessionTable(PeerCounts &peers)
        : m_peers(peers) {}

    void insert(Session *session);
    void remove(Session *session);
    Session *find(quint64 id) const { return m_sessions.value(id); }
    // From the loop's thread; count() from any.
    int count() const { return m_count.load(std::memory_order_relaxed); }
    bool isEmpty() const { return m_sessions.isEmpty(); }
    QList<Session *> all() const { return m_sessions.values(); }
    QList<quint64> ids() const { return m_sessions.keys(); }
    const PeerCounts &peers() const { return m_peers; }

    using const_iterator = QHash<quint64, Session *>::const_iterator;
    const_iterator begin() const { return m_sessions.cbegin(); }
    const_iterator end() const { return m_sessions.cend(); }

private:
    PeerCounts &m_peers;
    QHash<quint64, Session *> m_sessions;
    std::atomic<int> m_count{0};
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "error.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QVarLengthArray>

#include <atomic>
#include <vector>

namespace lhttp {

class Frame;
class Router;
class Session;

// Channel → the subscribers on one event loop. The fan-out is a plain loop over a vector of
// sessions; each session remembers its position in every channel it joined (its Memberships),
// so leaving is O(1) in the channel's size and O(channels) in the session's.
//
// Each subscribe and unsubscribe is reported to the node's Router (when the hub has one),
// which keeps the broker subscription and hands other loops' publishes here.
class ChannelHub final {
public:
    struct Channel {
        QByteArray name;
        std::vector<Session *> subscribers;
        bool wildcard = false;
        // History channels: sessions that recovered up to an offset, whose live copies up to
        // it are skipped (they were replayed). Emptied as later messages reach them.
        std::vector<std::pair<Session *, quint64>> floors;
        // Presence channels: subscribers that asked for join/leave events (and whether for
        // their own join too).
        bool presence = false;
        std::vector<std::pair<Session *, bool>> watchers;
    };
    // How a session joins a presence channel (PROTOCOL.md "Presence channels").
    struct PresenceJoin {
        QByteArray info;
        bool watch = false; // gets join/leave events
        bool self = false;  // and its own join
    };

    // A session's side of its subscriptions: for each channel, the session's index in the
    // channel's subscriber vector. Each Session holds one; only the hub changes it.
    class Memberships {
    public:
        qsizetype size() const { return m_list.size(); }
        bool isEmpty() const { return m_list.isEmpty(); }
        Channel *find(QByteArrayView name) const;
        QList<QByteArray> names() const;

        void add(Channel *channel, size_t index) { m_list.append({channel, index}); }
        // The index of `channel`'s entry in this list; -1 when there is none.
        qsizetype entry(const Channel *channel) const;
        size_t indexAt(qsizetype entry) const { return m_list[entry].index; }
        void setIndexAt(qsizetype entry, size_t index) { m_list[entry].index = index; }
        void removeAt(qsizetype entry) { m_list.remove(entry); }
        Channel *last() const { return m_list.back().channel; }

    private:
        struct Entry {
            Channel *channel;
            size_t index;
        };
        QVarLengthArray<Entry, 2> m_list;
    };

    ChannelHub();
    ~ChannelHub();
    ChannelHub(const ChannelHub &) = delete;
    ChannelHub &operator=(const ChannelHub &) = delete;

    // The router this hub reports to, as loop `loop` (before the first subscriber).
    void setRouter(Router *router, int loop) {
        m_router = router;
        m_loop = loop;
    }

    // False when the session already was a subscriber (subscribe is idempotent). On a presence
    // channel the session becomes an entry (`join`: its info and whether it watches events).
    bool subscribe(Session *session, const QByteArray &channel, const PresenceJoin *join = nullptr);
    // A subscriber of presence channel `channel` asks for its events (again); false when it is
    // not a subscriber of such a channel.
    bool watch(Session *session, QByteArrayView channel, bool self);
    // False when the session was not a subscriber (a no-op, never an error).
    bool unsubscribe(Session *session, QByteArrayView channel);
    // Leaves every channel.
    void removeSession(Session *session);
    // History: `session`, a subscriber of `channel`, skips messages with an offset up to
    // `offset` from now on (Router::recover()).
    void setFloor(Session *session, const QByteArray &channel, quint64 offset);

    // Sends `frame` to every subscriber here of `channel` and of the wildcard channels that
    // match it. Returns the number of sessions it went to.
    int deliver(const QByteArray &channel, const Frame &frame);
    // Sends `frame` to the subscribers of exactly `channel` (a wildcard channel's own copy).
    int deliverExact(const QByteArray &channel, const Frame &frame);

    // `channel` as a QByteArray for publish(): the hub's own copy of the name (shared, no
    // allocation) while the channel has subscribers here, else a new one. The channel found
    // is remembered, so the deliver() that follows needs no second lookup.
    QByteArray channelName(QByteArrayView channel) const;

    int channelCount() const { return int(m_channels.size()); }
    // From any thread.
    qsizetype subscriptionCount() const { return m_subscriptions.load(std::memory_order_relaxed); }
    QList<QByteArray> channelNames() const;
    const Channel *channel(const QByteArray &name) const;

private:
    void detach(Session *session, Channel *channel);
    void dropIfEmpty(Channel *channel);
    int sendTo(Channel *channel, const Frame &frame);
    int sendAboveFloors(Channel *channel, const Frame &frame);
    int sendEvent(Channel *channel, const Frame &frame);
    static void setWatch(Channel *channel, Session *session, bool self);
    Channel *find(QByteArrayView name) const;

    QHash<QByteArray, Channel *> m_channels;
    std::vector<Channel *> m_wildcards;
    Router *m_router = nullptr;
    int m_loop = 0;
    // The channel channelName() last found: the next channelName() compares with it before
    // hashing, and deliver() recognises its name by the shared buffer (same data pointer and
    // size) without a lookup. Reset when that channel is deleted.
    mutable Channel *m_recent = nullptr;
    std::atomic<qsizetype> m_subscriptions{0}; // written by the hub's thread only
    int m_delivering = 0;
};

} // namespace lhttp

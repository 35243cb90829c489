// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "broker.h"
#include "error.h"
#include "frame.h"
#include "history.h"
#include "position.h"
#include "presence.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QEvent>
#include <QHash>
#include <QMutex>
#include <QObject>

#include <atomic>
#include <memory>
#include <vector>

namespace lhttp {

class ChannelHub;
class Session;

// A node's event loops and its broker, joined: which loop has subscribers of which channel,
// and the way a published frame reaches them.
//
// Each event loop (Server::Options::threads) owns its sessions and its ChannelHub. A publish
// is delivered on the publisher's own loop at once (its order with the publisher's other
// messages and the sender's own copy stay as on one loop), handed to every other loop with
// subscribers of the channel — one hand-off per message and loop, never per subscriber: the
// frame's bytes are built before and shared —, and given to the broker for the other nodes.
// What the broker brings from other nodes is handed to the loops the same way. The broker
// holds one subscription per channel per node, made when the channel's first subscriber on
// any loop arrives and dropped after its last one on every loop leaves.
//
// Hand-offs go through each loop's inbox: a mutex-guarded queue drained by one posted event per
// batch, in that loop's thread, in the order they were handed. With one loop nothing is handed
// off and no lock is taken on the publish path.
class Router final : public LocalDelivery {
public:
    Router();
    ~Router() override;
    Router(const Router &) = delete;
    Router &operator=(const Router &) = delete;

    // Adds a loop (before any traffic): its hub, and the object in its thread that drains its
    // inbox. Returns the loop's index.
    int addLoop(ChannelHub *hub, QObject *inboxOwner);
    int loopCount() const { return int(m_loops.size()); }

    // The broker (not owned; null detaches). Channels that already have subscribers are
    // subscribed on it. Called from the broker's thread; later calls into the broker are made
    // in that thread.
    void setBroker(Broker *broker);
    Broker *broker() const { return m_broker.load(std::memory_order_acquire); }

    // Loop `loop`'s hub has a new subscriber of `channel` (`first`: its first one on that
    // loop), or lost one (`last`: its last one there). Called from that loop's thread.
    void subscriberAdded(int loop, const QByteArray &channel, bool first);
    void subscriberRemoved(int loop, const QByteArray &channel, bool last);

    // From loop `loop`'s thread: delivers `frame` there at once, hands it to the other loops
    // with subscribers, and to the broker. The Error is the broker's (other nodes only).
    Error publish(int loop, const QByteArray &channel, const Frame &frame);

    // LocalDelivery: what the broker brings, to every loop with subscribers (those in the
    // caller's thread at once, the others through their inboxes). Returns the subscribers
    // reached at once.
    int deliver(const QByteArray &channel, const Frame &frame) override;
    int deliverExact(const QByteArray &channel, const Frame &frame) override;
    // A clustered history message (the broker keeps history): stored here, and delivered
    // like deliver() when `live` and new.
    void deliverStored(const QByteArray &channel, quint64 offset, const QByteArray &epoch,
                       const Frame &frame, bool live) override;

    // History channels (PROTOCOL.md "History channels"). configureHistory() before traffic;
    // a publish to a channel of a namespace is numbered and stored (embedded) or handed to
    // the broker that keeps history (clustered), and delivered with its position.
    void configureHistory(const QList<HistoryNamespace> &namespaces, qint64 memoryCap);
    // The namespace of `channel`; null for a plain channel (also when history is off).
    const HistoryNamespace *historyNamespace(QByteArrayView channel) const {
        return m_history.isEnabled() ? m_history.namespaceOf(channel) : nullptr;
    }
    const HistoryStore &history() const { return m_history; }
    struct HistoryAnswer {
        Error error;
        bool recovered = false;
        Position top;
        std::vector<Frame> frames;
    };
    // From loop `loop`'s thread, for `session`, just subscribed there to `channel`: the
    // messages after `from` (null: none, just the position) and whether none was lost. Live
    // messages already on their way to the session and replayed here are not delivered again.
    HistoryAnswer recover(int loop, Session *session, const QByteArray &channel,
                          const HistoryNamespace &ns, const Position *from);
    // The last `limit` messages of `channel`, or those after `after`.
    HistoryAnswer read(const QByteArray &channel, const HistoryNamespace &ns, int limit,
                       const Position *after);
    // 503 while clustered history cannot be served (the broker's store is not ready); checked
    // before a recover or history request changes anything.
    Error historyServable();
    // Drops messages past their age; the Server calls it about once a second.
    void expireHistory();
    struct HistoryCounters {
        std::atomic<quint64> recovered{0};
        std::atomic<quint64> notRecovered{0};
        std::atomic<quint64> recoveredMessages{0};
        std::atomic<quint64> reads{0};
        std::atomic<quint64> readMessages{0};
        std::atomic<quint64> unavailable{0};
    };
    const HistoryCounters &historyCounters() const { return m_historyCounters; }

    // Presence channels (PROTOCOL.md "Presence channels"). configurePresence() before traffic.
    void configurePresence(const QByteArrayList &patterns, const QByteArray &nodeName,
                           qint64 timeoutMs);
    bool isPresenceChannel(QByteArrayView channel) const {
        return m_presence.isEnabled() && m_presence.covers(channel);
    }
    PresenceStore &presence() { return m_presence; }
    const PresenceStore &presence() const { return m_presence; }
    // From the session's loop thread: `session` joined presence channel `channel` there (the
    // hub has subscribed it), or left it (ChannelHub calls this). Watchers get the event.
    void presenceJoined(const Session &session, const QByteArray &channel, const QByteArray &info);
    void presenceLeft(const Session &session, const QByteArray &channel);
    // About once a second (the Server): heartbeats and silent nodes (clustered).
    void presenceTick();
    // LocalDelivery: a cluster presence message, in order with the broker's deliveries.
    void deliverPresence(const QByteArray &message) override;
    // The broker (re)connected: this node's entries are sent again and others' asked for.
    void presenceReconnected();

    // Node-wide: channels with a subscriber on some loop, and their subscribers in all.
    int channelCount() const;
    int subscriberCount(const QByteArray &channel) const;
    QList<QByteArray> channelNames() const;

    // Drains loop `loop`'s inbox: its owner calls this when it receives an InboxEvent.
    void drainInbox(int loop);
    static const QEvent::Type InboxEvent;

private:
    struct Interest {
        quint64 loops = 0; // bit i: loop i has subscribers
        int subscribers = 0;
    };
    struct Handed {
        QByteArray channel;
        Frame frame;
        bool exact; // deliverExact(): a wildcard subscription's own copy
    };
    struct Loop {
        ChannelHub *hub;
        QObject *owner;
        QMutex mutex; // guards inbox and posted
        std::vector<Handed> inbox;
        bool posted = false;
    };

    // The loops with subscribers for `channel`: its own interest and (not for `exact`) every
    // wildcard channel's that matches it. Caller holds m_mutex.
    quint64 loopsFor(const QByteArray &channel, bool exact) const;
    int handOut(const QByteArray &channel, const Frame &frame, bool exact, int skipLoop);
    Error publishHistory(int loop, const QByteArray &channel, const HistoryNamespace &ns,
                         const Frame &frame);
    // Clustered: the broker's store must be ready; sets the namespace's epoch. Caller holds
    // the history mutex.
    Error historyAvailable(const HistoryNamespace &ns);
    void hand(int loop, const QByteArray &channel, const Frame &frame, bool exact);
    void sendPresenceEvents(const PresenceStore::Events &events);
    // A join or leave made on this node: its event to the watchers, the change to the cluster.
    void announcePresence(PresenceStore::Event event);
    // Clustered: the presence joins and leaves made on a loop go to the broker, in one message
    // per batch, from the broker's thread — or at once before a publish that follows them.
    void schedulePresenceFlush();
    // The broker's presence transport, when it has one (setBroker).
    void attachPresence(Broker *broker);
    void brokerSubscribe(const QByteArray &channel, bool subscribe);
    // A history channel of a broker that keeps history: it follows whole namespaces, no
    // subscription per channel.
    bool followedByBroker(const QByteArray &channel) const {
        return m_history.isClustered() && m_history.namespaceOf(channel);
    }

    std::vector<std::unique_ptr<Loop>> m_loops;
    mutable QMutex m_mutex; // guards m_interest, m_wildcards and the broker's calls below
    QHash<QByteArray, Interest> m_interest;
    QHash<QByteArray, quint64> m_wildcards;  // wildcard channels → loops with subscribers
    std::atomic<Broker *> m_broker{nullptr}; // set by the Server's thread, read by every loop
    // Subscription calls posted to the broker's thread and not run yet (one counter per
    // broker attached). While there are some, a change made in the broker's own thread queues
    // behind them instead of calling at once, so the broker gets the calls in the order the
    // channels changed.
    std::shared_ptr<std::atomic<int>> m_brokerCallsPosted;
    HistoryStore m_history;
    PresenceStore m_presence;
    std::atomic<bool> m_presenceFlushPosted{false};
    qint64 m_presenceTimeoutMs = 5000;
    HistoryCounters m_historyCounters;
    QElapsedTimer m_clock; // the history's timestamps
};

} // namespace lhttp

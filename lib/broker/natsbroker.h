// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "broker.h"
#include "natsoptions.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QHash>
#include <QMutex>
#include <QString>
#include <QTimer>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

// nats.c's handles, declared as nats.h does so that users of this header need not include it.
typedef struct __natsConnection natsConnection;
typedef struct __natsSubscription natsSubscription;
typedef struct __jsCtx jsCtx;

namespace lhttp {

struct NatsBridge;

// The cluster broker: channels are NATS subjects, payloads the LHTTP message bytes
// (PROTOCOL.md §6), so lhttp nodes — this one's and the original Go ones — on the same NATS
// deliver each other's publishes.
//
// Threading: subscribe/unsubscribe run in the broker's (Qt) thread; publish() in any of the
// node's event loops (nats.c's publish is thread-safe; what it shares with the broker's thread
// is under a mutex). nats.c delivers messages and connection events on its own threads; they go
// into a bounded, mutex-guarded queue and one posted event per batch wakes the broker's thread,
// which drains the queue into the node (LocalDelivery: the Router). A full queue drops the
// newest message, counts it and logs (at most once a second).
//
// One NATS subscription per channel per node (the Router calls subscribe() for a channel's
// first subscriber on any event loop and unsubscribe() after its last). A node never gets its
// own publishes back (no-echo): it delivers them to its own subscribers itself, and publish()
// hands the bytes to NATS for the others.
//
// Faults: the connection is made on a helper thread and retried in the background, so a
// missing NATS neither blocks nor stops the node; subscriptions asked for meanwhile are made
// once it connects. nats.c reconnects and resubscribes on its own after a restart or a
// failover to another cluster member.
//
// Clustered history (setHistory): each history namespace is one JetStream stream (see
// historyStreamName), created or updated by every node when it connects, that keeps the last
// `size` messages per channel for at most the TTL. A publish on a history channel goes to
// JetStream (asynchronously: acknowledgements that do not come count as history publish
// failures); one ordered push consumer per namespace and node reads the stream back into the
// node, its own messages included, through the same hand-off queue, and hands them to
// LocalDelivery::deliverStored with the stream sequence as offset and an epoch derived from
// the stream's creation time. JetStream API calls block (request/reply), so they run on a
// helper thread, one run at a time: at every (re)connect, every historyCheckIntervalMs and
// whenever a subscription or publish reports trouble. Without JetStream there is no fallback:
// historyReady() stays false and historyProblem() says why. A history message that finds the
// hand-off queue full is not lost: the broker subscribes again after the last one it delivered.
//
// nats.c's process-wide state is left to process exit on purpose: nats_Close() in nats.c
// 3.4.1 frees OpenSSL state that OpenSSL's own exit handler frees again (a crash at exit).
class NatsBroker final : public Broker {
    Q_OBJECT
public:
    struct Counters {
        quint64 publishFailures = 0; // publishes nats.c refused (closed, buffer full, too big)
        quint64 rejected = 0;        // strict mode: publishes answered with 503
        quint64 queueHighWater = 0;  // most messages ever waiting in the hand-off queue
        // History messages the full hand-off queue refused; read again from the stream.
        quint64 historyRequeued = 0;
        // History subscriptions made (first ones, and again after reconnects, stream changes
        // and queue overflows).
        quint64 historySubscribes = 0;
    };

    explicit NatsBroker(NatsOptions options, QObject *parent = nullptr);
    ~NatsBroker() override;

    void subscribe(const QByteArray &channel) override;
    void unsubscribe(const QByteArray &channel) override;
    Error publish(const QByteArray &channel, const Frame &frame) override;

    State state() const override { return m_state.load(std::memory_order_relaxed); }
    QString description() const override;
    Stats stats() const override;
    Counters counters() const;

    void setHistory(const QList<HistoryNamespace> &namespaces) override;
    bool keepsHistory() const override { return !m_historyPatterns.empty(); }
    // Both may be read from any thread.
    bool historyReady() const override { return m_historyReady.load(std::memory_order_acquire); }
    QString historyProblem() const override;
    // The JetStream stream of a history namespace: `streamPrefix` + '_' + the pattern with every
    // character other than a letter, digit or '-' written as '_' and two hex digits
    // (`room.*` → `LHTTP_HISTORY_room_2E_2A`): the same on every node, different per pattern.
    // The per-channel message limit of a history stream for namespace size `size`: the size
    // plus a margin (the size again, at least 1,000), so that a burst on one channel cannot push
    // its newest messages out before the nodes delivered them; each node keeps `size`.
    static qint64 historyStreamLimit(int size);
    static QByteArray historyStreamName(const QByteArray &streamPrefix, const QByteArray &pattern);
    // The epoch of the stream namespace `pattern`'s deliveries come from (the one given to
    // deliverStored); empty before it was first read. Any thread.
    QByteArray historyEpoch(const QByteArray &pattern) const override;
    // The epoch of a stream created at `createdNs` (nanoseconds since 1970, as JetStream
    // reports it): base 36, at most 13 letters and digits.
    static QByteArray streamEpoch(qint64 createdNs);

    // Presence: the nodes' presence messages travel on the subject `$LHTTP.presence` (after
    // the subject prefix), one NATS subscription per node.
    static constexpr const char *PresenceChannel = "$LHTTP.presence";
    void setPresence(bool enabled) override;
    bool carriesPresence() const override { return m_presence; }
    void publishPresence(const QByteArray &message) override;

    const NatsOptions &options() const { return m_options; }
    // The URL of the NATS server currently connected to; empty when not connected.
    QString serverUrl() const { return m_serverUrl; }
    // Channels with a NATS subscription: one per channel with local subscribers, held by
    // nats.c and (re)sent to the server whenever it (re)connects. Zero only while no
    // connection object exists (first attempt under way, or a closed one being replaced).
    int subscriptionCount() const { return m_liveSubscriptions.load(std::memory_order_relaxed); }

protected:
    void customEvent(QEvent *event) override;

private:
    void startConnecting();
    void drain();
    void adoptConnection(natsConnection *connection, int status);
    void refreshState();
    void giveUpOrRestart(const QString &reason);
    void restartConnection();
    void createSubscription(const QByteArray &channel, natsSubscription **slot);
    void destroySubscription(natsSubscription *sub);
    void noteProblem(const QString &what);
    void logDrops();
    struct HistoryJob;
    void requestHistoryJob(bool resubscribeAll);
    void startHistoryJob();
    void finishHistoryJob(bool restart);
    void stopHistory(); // joins the worker and destroys the history subscriptions
    void updateHistoryState();
    bool isHistoryChannel(QByteArrayView channel) const;
    void adoptHistoryGenerations(); // caller holds the bridge's mutex

    // One history namespace, in the Qt thread. `sub` belongs to the history worker while a
    // job runs.
    struct HistoryState {
        HistoryNamespace ns;
        QByteArray stream;
        QByteArray subject; // NUL-terminated
        natsSubscription *sub = nullptr;
        QByteArray subEpoch;    // the epoch of the stream `sub` reads
        bool following = false; // a subscription reads the stream (after the last job)
        QString problem;
        bool resubscribe = true;
        // Adopted from the bridge (NatsHistoryShared) when the generation changes.
        quint32 generation = 0;
        QByteArray epoch;
        quint64 lastDelivered = 0;
        quint64 catchUpTarget = 0;
        bool catchingUp = false;
    };

    NatsOptions m_options;
    NatsBridge *m_bridge;
    std::thread m_connector;
    natsConnection *m_connection = nullptr;
    // channel → its NATS subscription; null while waiting for a connection.
    QHash<QByteArray, natsSubscription *> m_subscriptions;
    bool m_presence = false;
    std::atomic<int> m_liveSubscriptions{0};
    int m_wildcardChannels = 0;
    QByteArray m_subject; // reused for every subscription: prefix + channel, NUL-terminated
    QByteArray m_prefixDot;
    std::atomic<State> m_state{State::Connecting}; // read by every event loop (/healthz)
    bool m_everConnected = false;
    bool m_connectFailed = false; // no connection object: bad options, or nats.c gave up
    bool m_unreachable = false;   // not connected since the last attempt failed
    bool m_closeHandled = false;  // the closed m_connection was dealt with
    QString m_lastConnectError;   // why the first attempt failed, when nats.c said
    int m_restartDelayMs = 0;     // grows while closed connections follow each other
    // publish() runs in every event loop's thread: this guards what it shares with the
    // broker's thread (the connection pointer, which only the broker's thread changes), the
    // counters and the problem log; stats() reads them from any thread.
    mutable QMutex m_mutex;
    QString m_serverUrl;
    quint64 m_messagesOut = 0;
    Counters m_counters;
    mutable std::atomic<quint64> m_natsDroppedSeen{0};
    quint64 m_seenDisconnects = 0;
    quint64 m_natsDropped = 0; // nats.c's drops on subscriptions already gone
    quint64 m_dropsLogged = 0;
    QElapsedTimer m_lastDropLog;
    QTimer m_dropLogTimer;
    QTimer m_restartTimer;
    std::vector<HistoryState> m_history;
    std::vector<QByteArray> m_historyPatterns; // read by publish() in any thread; set once
    mutable QMutex m_epochMutex;               // guards m_historyEpochs (historyEpoch())
    std::vector<QByteArray> m_historyEpochs;   // per namespace, the adopted epoch
    jsCtx *m_js = nullptr;                     // guarded by m_mutex for publish()
    std::thread m_historyWorker;
    std::shared_ptr<HistoryJob> m_historyJob; // the running one
    bool m_historyJobAgain = false;
    QTimer m_historyCheckTimer;
    std::atomic<bool> m_historyReady{false};
    QString m_historyProblem;                   // m_mutex
    quint64 m_historyPublishFailures = 0;       // refused by nats.c at once (m_mutex)
    quint64 m_historyPublishFailuresLogged = 0; // of the bridge's (asynchronous) ones
    quint64 m_problems = 0;
    quint64 m_problemsLogged = 0;
    QElapsedTimer m_lastProblemLog;
};

} // namespace lhttp

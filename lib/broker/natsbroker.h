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
#include <thread>

// nats.c's handles, declared as nats.h does so that users of this header need not include it.
typedef struct __natsConnection natsConnection;
typedef struct __natsSubscription natsSubscription;

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
// nats.c's process-wide state is left to process exit on purpose: nats_Close() in nats.c
// 3.4.1 frees OpenSSL state that OpenSSL's own exit handler frees again (a crash at exit).
class NatsBroker final : public Broker {
    Q_OBJECT
public:
    struct Counters {
        quint64 publishFailures = 0; // publishes nats.c refused (closed, buffer full, too big)
        quint64 rejected = 0;        // strict mode: publishes answered with 503
        quint64 queueHighWater = 0;  // most messages ever waiting in the hand-off queue
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

    NatsOptions m_options;
    NatsBridge *m_bridge;
    std::thread m_connector;
    natsConnection *m_connection = nullptr;
    // channel → its NATS subscription; null while waiting for a connection.
    QHash<QByteArray, natsSubscription *> m_subscriptions;
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
    quint64 m_problems = 0;
    quint64 m_problemsLogged = 0;
    QElapsedTimer m_lastProblemLog;
};

} // namespace lhttp

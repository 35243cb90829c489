// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "adminwire.h"

#include <QHash>
#include <QList>
#include <QMutex>
#include <QObject>
#include <QPair>
#include <QPointer>
#include <QRandomGenerator>
#include <QSet>
#include <QTimer>

#include <atomic>
#include <memory>

namespace lhttp {

class Message;
class Server;
class Session;

// Watches a Server and turns what happens on it into one Admin::Batch per interval: connection
// opened/closed deltas, net subscription changes, per-channel counters, changed connection
// counters and a uniform random sample (reservoir) of at most maxSamples messages, with a
// count of the rest. Costs nothing while inactive: it is then disconnected from the server's
// signals, which the server only builds when someone listens.
//
// Threads: what happens is noted in the thread it happens in (the server's signals are
// connected directly, the tap runs in the pipeline of every event loop), into the current
// window under a mutex; batches and snapshots are made in the feed's thread, which asks the
// loops for their sessions (Server::visitSessions) without holding that mutex.
class AdminFeed : public QObject {
    Q_OBJECT
public:
    struct Options {
        int intervalMs = Admin::DefaultBatchIntervalMs;
        int maxSamples = Admin::DefaultMaxSamplesPerBatch;
        int statsEvery = Admin::DefaultStatsEveryBatches;
    };

    explicit AdminFeed(Server *server, QObject *parent = nullptr);
    AdminFeed(Server *server, Options options, QObject *parent = nullptr);
    ~AdminFeed() override;

    const Options &options() const { return m_options; }
    void setActive(bool active);
    bool isActive() const { return m_active.load(std::memory_order_relaxed); }
    Admin::Snapshot snapshot() const;

    // Lets Out samples of a server-side publish made in the feed's thread show the message (the
    // console's, or Server::publish() callers'); nullptr when the publish is done.
    void setPublishContext(const Message *message) { m_publishContext = message; }

Q_SIGNALS:
    void batchReady(const lhttp::Admin::Batch &batch);

private:
    class Tap;
    struct ChannelWindow {
        quint64 publishes = 0;
        quint64 bytes = 0;
        quint64 deliveries = 0;
    };
    struct PendingSample {
        quint64 order;
        Admin::Sample sample;
    };

    void onSessionOpened(quint64 id);
    void onSessionClosed(quint64 id);
    void onSubscription(quint64 id, const QByteArray &channel, bool subscribed);
    void onPublished(const QByteArray &channel, qsizetype size, int receivers);
    void onError(quint64 id, int code, const QByteArray &reason);
    void onIncoming(const Session &session);
    void onClosing(const Session &session);
    template <typename Make> void offer(Make &&make);
    void flush();
    void reset();
    static QSet<quint64> closed(const Admin::Batch &batch);
    void collectStats(Admin::Batch &batch, const QSet<quint64> &gone);
    Admin::Totals totals() const;
    Admin::Channel channelNow(const QByteArray &name) const;
    void recheckHistory(Admin::Batch &batch, const QSet<QByteArray> &reported);

    QPointer<Server> m_server;
    Options m_options;
    std::shared_ptr<Tap> m_tap;
    QTimer m_timer;
    QList<QMetaObject::Connection> m_connections;
    std::atomic<bool> m_active{false};

    // The current window, noted from every event loop's thread.
    QMutex m_mutex;
    QList<Admin::Connection> m_opened; // described when they opened
    QSet<quint64> m_openedSet;
    QList<quint64> m_closed;
    QHash<QPair<quint64, QByteArray>, bool> m_subscriptions;
    QHash<QByteArray, ChannelWindow> m_channels;
    QList<PendingSample> m_samples;
    QList<PendingSample> m_closes;
    quint64 m_closesDropped = 0;
    quint64 m_order = 0; // time order of samples and closes within the window
    quint64 m_offered = 0;
    QRandomGenerator m_random;
    const Message *m_publishContext = nullptr; // the feed's thread's own publish
    quint64 m_incomingCount = 0;
    // onIncoming() checks the clock every this many messages, and flushes a batch once half an
    // interval overdue (the timer did not get to fire: see onIncoming()).
    static constexpr quint64 OverdueCheckEvery = 64;

    // The feed's thread's.
    quint64 m_seq = 0;
    std::atomic<qint64> m_lastFlushMs{0}; // also read by onIncoming()
    QHash<quint64, Admin::Stats> m_reportedStats;
    // History and presence channels with subscribers, as batches last described them:
    // rechecked with the per-connection counters, since age and the memory cap change a
    // history, and other nodes' connections a presence, without traffic here.
    QHash<QByteArray, Admin::Channel> m_reportedHistory;
    // A round of per-connection counters asked of every loop (collectStats()).
    struct StatsRound {
        QMutex mutex;
        QHash<quint64, Admin::Stats> stats;
        std::atomic<bool> done{false};
    };
    std::shared_ptr<StatsRound> m_statsRound;
};

} // namespace lhttp

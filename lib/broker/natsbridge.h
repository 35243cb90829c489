// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

// The hand-off between nats.c's threads and the Qt thread of a NatsBroker (private to it).

#include "brokerlog.h"
#include "threadhandoff.h"

#include <QByteArray>
#include <QCoreApplication>
#include <QEvent>
#include <QMutex>
#include <QObject>
#include <QString>

#include <nats/nats.h>

#include <atomic>
#include <deque>
#include <vector>

namespace lhttp {

// The event that wakes the Qt thread: a plain QEvent, one allocation, read by nobody but Qt.
inline const QEvent::Type DrainEvent = QEvent::Type(QEvent::registerEventType());

// ThreadSanitizer cannot see the locking inside Qt's event queue (Debian's Qt is not built
// with it), so a posted event, allocated on a nats.c thread and freed on the Qt thread, looks
// like a race: tsanRelease() and tsanAcquire() (threadhandoff.h) tell it about the hand-over.

inline QString lastNatsError(natsStatus status) {
    natsStatus last = NATS_OK;
    const char *text = nats_GetLastError(&last);
    if (!text || !*text)
        return QString::fromUtf8(natsStatus_GetText(status));
    QString error = QString::fromUtf8(text);
    // nats.c puts where it failed first, "(jsm.c:1033): ": not for an operator's eyes.
    if (error.startsWith(u'(')) {
        const qsizetype end = error.indexOf(QLatin1String("): "));
        if (end > 0 && error.left(end).contains(u':'))
            error = error.mid(end + 3);
    }
    return error;
}

// A message from NATS on its way to the Qt thread.
struct NatsIncoming {
    QByteArray channel; // the subject, prefix removed
    QByteArray pattern; // the wildcard channel it matched; empty for an exact subscription
    QByteArray payload;
    // A message of a history stream: its namespace (index in Broker::setHistory's list), the
    // generation of the subscription it came through, its stream sequence and how many more
    // the consumer had to deliver after it. -1: a core NATS message.
    int history = -1;
    quint32 generation = 0;
    quint64 sequence = 0;
    quint64 pending = 0;
};

// What the history worker (natsbroker.cpp) and the Qt thread share about one namespace's
// stream, under NatsBridge::mutex. The worker sets a new generation whenever it subscribes
// anew; messages of older generations are dropped from then on (the new subscription starts
// after the last message the Qt thread delivered, so they come again).
struct NatsHistoryShared {
    quint32 generation = 0;
    QByteArray epoch;           // of the stream the current generation reads
    quint64 catchUpTarget = 0;  // the stream's last sequence when it was first followed
    bool catchUpNeeded = false; // the stream held messages then
    quint64 lastDelivered = 0;  // written by the Qt thread after each batch
    bool overflowed = false;    // a message was dropped (queue full): resubscribe
};

// The closure of one history subscription (owned by nats.c's completion callback).
struct NatsHistorySub {
    struct NatsBridge *bridge;
    int ns;
    quint32 generation;
};

// What nats.c's threads share with the broker. It is reference-counted because nats.c may
// still call back after the broker is gone: the broker holds one reference, the connection
// one (dropped by the closed callback, which nats.c calls last and exactly once) and every
// subscription one (dropped by its completion callback, after its last message callback).
struct NatsBridge {
    std::atomic<int> refs{1};

    QMutex mutex;
    // Everything below is guarded by mutex.
    QObject *receiver = nullptr; // the broker; null once it is being destroyed
    std::deque<NatsIncoming> queue;
    qsizetype queuedBytes = 0;
    bool wakePending = false;
    bool stateDirty = false;
    bool connectDone = false;
    natsConnection *handover = nullptr; // made by the connector thread, not yet adopted
    int connectStatus = NATS_OK;
    QString connectError;
    quint64 received = 0;
    quint64 dropped = 0;
    quint64 highWater = 0;
    quint64 disconnects = 0;
    // History: one entry per namespace (sized by setHistory before any subscription exists).
    std::vector<NatsHistoryShared> history;
    bool historyJobDone = false;           // the history worker finished a run
    bool historyCheckWanted = false;       // something suggests a stream changed
    bool historyResubscribeWanted = false; // a history subscription reported an error
    quint64 historyDropped = 0;            // history messages the full queue refused (read again)
    quint64 historyPublishFailures = 0;
    QString historyPublishError; // the last one, for the log

    // Set once before any nats.c thread can run, read-only afterwards.
    int queueLimit = 0;
    qsizetype queueBytes = 0;
    qsizetype prefixLength = 0; // prefix plus its dot
    std::atomic<bool> slowConsumer{false};

    void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
    void release() {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
            delete this;
    }

    // One posted event per batch: only the first event after a drain posts one. Caller holds
    // the mutex, which also keeps the broker alive while the event is posted (its destructor
    // takes the mutex first; Qt deletes events still queued for a deleted object).
    void wakeLocked() {
        if (wakePending || !receiver)
            return;
        wakePending = true;
        auto *event = new QEvent(DrainEvent);
        tsanRelease(this); // acquired by customEvent() and ~NatsBroker, before Qt frees it
        QCoreApplication::postEvent(receiver, event);
    }

    void push(NatsIncoming &&in) {
        const qsizetype size = in.channel.size() + in.pattern.size() + in.payload.size();
        QMutexLocker lock(&mutex);
        NatsHistoryShared *h = nullptr;
        if (in.history >= 0) {
            h = &history[size_t(in.history)];
            if (in.generation != h->generation || h->overflowed)
                return; // a replaced subscription, or one being replaced: read again later
        }
        ++received;
        if (qsizetype(queue.size()) >= queueLimit || queuedBytes + size > queueBytes) {
            if (h) {
                // Never lost: the stream keeps it. The broker subscribes again after the last
                // message it delivered once it has drained the queue.
                ++historyDropped;
                h->overflowed = true;
            } else {
                ++dropped; // the newest goes: what is queued is older and already paid for
            }
        } else {
            queue.push_back(std::move(in));
            queuedBytes += size;
            highWater = std::max<quint64>(highWater, queue.size());
        }
        wakeLocked();
    }

    void markStateDirty() {
        QMutexLocker lock(&mutex);
        stateDirty = true;
        wakeLocked();
    }

    // --- nats.c callbacks (nats.c threads) ---

    static void onMessage(natsConnection *, natsSubscription *sub, natsMsg *msg, void *closure) {
        auto *b = static_cast<NatsBridge *>(closure);
        const char *subject = natsMsg_GetSubject(msg);
        const qsizetype length = qsizetype(qstrlen(subject));
        if (length <= b->prefixLength) { // not one of ours; cannot happen with a valid prefix
            natsMsg_Destroy(msg);
            return;
        }
        const QByteArrayView channel(subject + b->prefixLength, length - b->prefixLength);
        const char *subscribed = natsSubscription_GetSubject(sub);
        const QByteArrayView pattern = !subscribed || qstrcmp(subscribed, subject) == 0
                                           ? QByteArrayView()
                                           : QByteArrayView(subscribed + b->prefixLength);
        // The names of the previous message on this nats.c thread, shared with it: a burst on
        // one channel then allocates nothing for them (the result only depends on the part
        // after the prefix, so brokers with other prefixes of the same length may share it).
        struct LastNames {
            qsizetype prefixLength = -1;
            QByteArray channel;
            QByteArray pattern;
        };
        static thread_local LastNames last;
        if (last.prefixLength != b->prefixLength || QByteArrayView(last.channel) != channel) {
            last.prefixLength = b->prefixLength;
            last.channel = channel.toByteArray();
        }
        if (QByteArrayView(last.pattern) != pattern)
            last.pattern = pattern.toByteArray();
        NatsIncoming in;
        in.channel = last.channel;
        in.pattern = last.pattern;
        in.payload = QByteArray(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
        natsMsg_Destroy(msg);
        b->push(std::move(in));
    }

    // A message of a history stream (an ordered JetStream consumer).
    static void onHistoryMessage(natsConnection *, natsSubscription *, natsMsg *msg,
                                 void *closure) {
        auto *hs = static_cast<NatsHistorySub *>(closure);
        NatsBridge *b = hs->bridge;
        const char *subject = natsMsg_GetSubject(msg);
        const qsizetype length = qsizetype(qstrlen(subject));
        jsMsgMetaData *meta = nullptr;
        if (length <= b->prefixLength || natsMsg_GetMetaData(&meta, msg) != NATS_OK) {
            natsMsg_Destroy(msg);
            return;
        }
        NatsIncoming in;
        in.channel = QByteArray(subject + b->prefixLength, length - b->prefixLength);
        in.payload = QByteArray(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
        in.history = hs->ns;
        in.generation = hs->generation;
        in.sequence = meta->Sequence.Stream;
        in.pending = meta->NumPending;
        jsMsgMetaData_Destroy(meta);
        natsMsg_Destroy(msg);
        b->push(std::move(in));
    }

    static void onHistorySubscriptionComplete(void *closure) {
        auto *hs = static_cast<NatsHistorySub *>(closure);
        NatsBridge *b = hs->bridge;
        delete hs;
        b->release();
    }

    // An asynchronous history publish that JetStream refused or did not acknowledge in time.
    static void onHistoryPublishError(jsCtx *, jsPubAckErr *pae, void *closure) {
        auto *b = static_cast<NatsBridge *>(closure);
        QMutexLocker lock(&b->mutex);
        ++b->historyPublishFailures;
        b->historyPublishError =
            QString::fromUtf8(pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
        // No stream answered: it may have been deleted. Look.
        if (pae->Err == NATS_NO_RESPONDERS || pae->ErrCode == JSStreamNotFoundErr)
            b->historyCheckWanted = true;
        b->stateDirty = true;
        b->wakeLocked();
    }

    static void onConnected(natsConnection *, void *closure) {
        static_cast<NatsBridge *>(closure)->markStateDirty();
    }

    static void onDisconnected(natsConnection *, void *closure) {
        auto *b = static_cast<NatsBridge *>(closure);
        QMutexLocker lock(&b->mutex);
        ++b->disconnects;
        b->stateDirty = true;
        b->wakeLocked();
    }

    static void onClosed(natsConnection *, void *closure) {
        auto *b = static_cast<NatsBridge *>(closure);
        b->markStateDirty();
        b->release(); // the connection's reference: nothing more comes from it
    }

    static void onSubscriptionComplete(void *closure) {
        static_cast<NatsBridge *>(closure)->release();
    }

    static void onError(natsConnection *, natsSubscription *sub, natsStatus status, void *closure) {
        auto *b = static_cast<NatsBridge *>(closure);
        const char *subject = sub ? natsSubscription_GetSubject(sub) : nullptr;
        if (status == NATS_SLOW_CONSUMER) {
            b->slowConsumer = true;
        } else if (subject && qstrncmp(subject, "_INBOX.", 7) == 0) {
            // A history subscription (JetStream delivers to an inbox) in trouble: missed
            // heartbeats, a consumer nats.c could not recreate. Check the streams and follow
            // them anew from the last message delivered.
            QMutexLocker lock(&b->mutex);
            b->historyResubscribeWanted = true;
            b->wakeLocked();
        }
        // nats.c reports each of these once per episode, not per message.
        qCWarning(lcBroker).nospace()
            << "NATS: " << natsStatus_GetText(status) << (subject ? " on subject " : "")
            << (subject ? subject : "");
    }
};

} // namespace lhttp

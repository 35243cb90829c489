// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "broker.h"
#include "frame.h"
#include "position.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QMutex>

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace lhttp {

// A history namespace as the --history option writes it: `PATTERN=SIZE[,TTL]`, PATTERN a channel
// id that may use the * and > wildcards, SIZE 1 to 1,000,000 messages, TTL a number with a unit
// (ms, s, m, h, d; seconds without one). Nothing for a malformed text.
std::optional<HistoryNamespace> parseHistorySpec(const QString &text);
QString historySpecText(const HistoryNamespace &ns);

// The node's store of history channels (PROTOCOL.md "History channels"): per channel, the last
// messages of its namespace's size and age, each with its offset, and the stream's epoch.
//
// Embedded, the store numbers the messages itself (append(): 1, 2, 3 … per channel, no gaps;
// an epoch per channel stream, new for every process and for a stream dropped and made again).
// Clustered, the broker's store (JetStream) numbers them and this one keeps the copy this node
// serves recoveries and reads from (appendStored()).
//
// One mutex guards everything (mutex()); callers hold it across an append and the deliveries
// that follow it, and across a recovery read and the session's switch-over, so that no
// message is both replayed and delivered live, or neither (Router).
//
// Memory: what is stored counts against a node-wide cap; over it, the oldest messages of the
// namespace whose oldest message is the oldest go first, then channel entries that hold no
// message. A removed message is gone for recoveries: a position before it is not recovered.
class HistoryStore {
public:
    struct Stats {
        int namespaces = 0;
        int channels = 0;
        quint64 messages = 0;
        quint64 bytes = 0;
        quint64 evicted = 0; // removed by the memory cap (not by size or age)
        quint64 expired = 0; // removed by age
    };
    struct ChannelInfo {
        bool exists = false;
        int size = 0;   // the namespace's history size
        int stored = 0; // messages held now
        Position top;   // the newest message's position
    };
    enum class Outcome { Recovered, NotRecovered, Ahead };

    HistoryStore();
    ~HistoryStore();
    HistoryStore(const HistoryStore &) = delete;
    HistoryStore &operator=(const HistoryStore &) = delete;

    // Before any traffic.
    void configure(const QList<HistoryNamespace> &namespaces, qint64 memoryCap);
    // Whether the broker numbers the messages (appendStored()); set when a broker is attached.
    void setClustered(bool clustered) { m_clustered.store(clustered, std::memory_order_release); }
    bool isEnabled() const { return !m_namespaces.empty(); }
    bool isClustered() const { return m_clustered.load(std::memory_order_acquire); }
    // The namespace `channel` belongs to (the first pattern that matches); null for none.
    // Needs no lock (the namespaces do not change after configure()).
    const HistoryNamespace *namespaceOf(QByteArrayView channel) const;

    QMutex &mutex() { return m_mutex; }

    // The rest needs mutex() held. `now` is milliseconds on a monotonic clock.

    // Embedded: numbers `published` (a message without position) as the channel's next offset
    // and stores it. Returns the frame to deliver: the message with its position header.
    Frame append(const QByteArray &channel, const HistoryNamespace &ns, const Frame &published,
                 qint64 now);
    // Clustered: stores the broker's message `offset` of stream `epoch`. A different epoch
    // from the one held restarts the channel's stream. `live` false: read back at start-up.
    // Returns the frame to deliver, or a null frame when the message is not new (an offset
    // not above the newest one held).
    Frame appendStored(const QByteArray &channel, const HistoryNamespace &ns, quint64 offset,
                       const QByteArray &epoch, const Frame &published, bool live, qint64 now);
    // The clustered epoch of namespace `ns` when no message of a channel is held yet.
    void setNamespaceEpoch(const QByteArray &pattern, const QByteArray &epoch);

    // The messages after `from` (all of them, oldest first, into *out) and the channel's
    // position after them (*top): Recovered when nothing after `from` was removed, NotRecovered
    // (nothing in *out) for another epoch or a removed message, Ahead when `from` is beyond
    // the newest message of the same epoch. Creates the channel's stream (empty) if needed, so
    // that its epoch holds from now on.
    Outcome since(const QByteArray &channel, const HistoryNamespace &ns, const Position &from,
                  std::vector<Frame> *out, Position *top, qint64 now);
    // The last `limit` messages (oldest first) and the current position.
    void last(const QByteArray &channel, const HistoryNamespace &ns, int limit,
              std::vector<Frame> *out, Position *top, qint64 now);
    // The current position (creates the stream, as since()).
    Position top(const QByteArray &channel, const HistoryNamespace &ns, qint64 now);

    // Drops messages older than their namespace's TTL; call about once a second.
    void expire(qint64 now);

    Stats stats() const;
    ChannelInfo info(const QByteArray &channel) const;

private:
    struct Stored {
        quint64 offset;
        qint64 at;
        Frame frame;
    };
    struct Namespace;
    struct Stream {
        QByteArray name;
        QByteArray epoch;
        quint64 top = 0;   // the newest offset given or seen
        quint64 floor = 0; // every offset up to this one may have been removed
        std::deque<Stored> messages;
        Namespace *ns = nullptr;
    };
    struct Namespace {
        HistoryNamespace config;
        QByteArray epoch; // clustered: the broker's stream epoch
        // Every stored message of the namespace, oldest first: for age and memory removal.
        std::deque<std::pair<Stream *, quint64>> order;
    };

    Stream *stream(const QByteArray &channel, const HistoryNamespace &ns);
    Namespace *namespaceFor(const HistoryNamespace &ns);
    void store(Stream *s, quint64 offset, const Frame &frame, qint64 now);
    void trimToSize(Stream *s);
    void removeFront(Stream *s);
    // Removes the oldest messages, then empty streams (never `keep`), until under the cap.
    void enforceCap(const Stream *keep);
    void expire(Namespace &n, qint64 now);
    // The stream holding namespace `n`'s oldest message (its order list's first live entry),
    // after dropping the entries of messages already gone; null when it holds none.
    Stream *oldestLive(Namespace &n);
    QByteArray newEpoch();
    static qint64 cost(const Frame &frame);
    static qint64 cost(const Stream &s);

    mutable QMutex m_mutex;
    std::vector<std::unique_ptr<Namespace>> m_namespaces;
    QHash<QByteArray, Stream *> m_streams;
    qint64 m_memoryCap = 0;
    std::atomic<bool> m_clustered{false};
    QByteArray m_epochPrefix;
    quint64 m_streamsMade = 0;
    qint64 m_bytes = 0;
    quint64 m_messages = 0;
    quint64 m_evicted = 0;
    quint64 m_expired = 0;
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "history.h"

#include "channelname.h"
#include "messagelimits.h"

#include <QRandomGenerator>

#include <algorithm>

namespace lhttp {

namespace {
// What a stored message costs besides its bytes: its deque slot, the order entry and the
// frame's wire copy header (the wire copy itself is counted as a second copy of the bytes).
constexpr qint64 PerMessage = 96;
constexpr qint64 PerStream = 160;
} // namespace

std::optional<HistoryNamespace> parseHistorySpec(const QString &text) {
    const qsizetype eq = text.lastIndexOf(QLatin1Char('='));
    if (eq <= 0)
        return std::nullopt;
    HistoryNamespace ns;
    ns.pattern = text.left(eq).trimmed().toUtf8();
    if (ChannelName::validate(ns.pattern, ChannelName::Use::Subscribe, true,
                              Limits::DefaultMaxChannelLength))
        return std::nullopt;
    const QStringList parts = text.mid(eq + 1).split(QLatin1Char(','));
    if (parts.size() > 2)
        return std::nullopt;
    bool ok = false;
    const int size = parts[0].trimmed().toInt(&ok);
    if (!ok || size < 1 || size > 1'000'000)
        return std::nullopt;
    ns.size = size;
    if (parts.size() == 2) {
        QString ttl = parts[1].trimmed();
        qint64 unit = 1000;
        static const std::pair<const char *, qint64> units[] = {
            {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
        for (const auto &[suffix, ms] : units) {
            if (ttl.endsWith(QLatin1String(suffix))) {
                ttl.chop(qsizetype(qstrlen(suffix)));
                unit = ms;
                break;
            }
        }
        const qint64 n = ttl.toLongLong(&ok);
        if (!ok || n < 1 || n > 365LL * 86'400'000 / unit)
            return std::nullopt;
        ns.ttlMs = n * unit;
    }
    return ns;
}

QString historySpecText(const HistoryNamespace &ns) {
    QString text = QString::fromUtf8(ns.pattern) + QLatin1Char('=') + QString::number(ns.size);
    if (ns.ttlMs <= 0)
        return text;
    static const std::pair<const char *, qint64> units[] = {
        {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}};
    for (const auto &[suffix, ms] : units) {
        if (ns.ttlMs % ms == 0)
            return text + QLatin1Char(',') + QString::number(ns.ttlMs / ms) + QLatin1String(suffix);
    }
    return text + QLatin1Char(',') + QString::number(ns.ttlMs) + QLatin1String("ms");
}

HistoryStore::HistoryStore() {
    // The epoch of an embedded stream: new in every process, then one more per stream made.
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    QRandomGenerator *random = QRandomGenerator::system();
    for (int i = 0; i < 10; ++i)
        m_epochPrefix.append(digits[random->bounded(36)]);
}

HistoryStore::~HistoryStore() {
    qDeleteAll(m_streams);
}

void HistoryStore::configure(const QList<HistoryNamespace> &namespaces, qint64 memoryCap) {
    QMutexLocker lock(&m_mutex);
    m_namespaces.clear();
    for (const HistoryNamespace &ns : namespaces) {
        auto n = std::make_unique<Namespace>();
        n->config = ns;
        m_namespaces.push_back(std::move(n));
    }
    m_memoryCap = memoryCap;
}

const HistoryNamespace *HistoryStore::namespaceOf(QByteArrayView channel) const {
    for (const auto &n : m_namespaces) {
        if (n->config.pattern == channel || ChannelName::matches(n->config.pattern, channel))
            return &n->config;
    }
    return nullptr;
}

HistoryStore::Namespace *HistoryStore::namespaceFor(const HistoryNamespace &ns) {
    for (const auto &n : m_namespaces) {
        if (&n->config == &ns)
            return n.get();
    }
    Q_UNREACHABLE();
    return nullptr;
}

QByteArray HistoryStore::newEpoch() {
    return m_epochPrefix + QByteArray::number(++m_streamsMade, 36);
}

qint64 HistoryStore::cost(const Frame &frame) {
    return 2 * frame.size() + PerMessage;
}

qint64 HistoryStore::cost(const Stream &s) {
    return PerStream + 2 * s.name.size();
}

HistoryStore::Stream *HistoryStore::stream(const QByteArray &channel, const HistoryNamespace &ns) {
    Stream *&slot = m_streams[channel];
    if (!slot) {
        slot = new Stream;
        slot->name = channel;
        slot->ns = namespaceFor(ns);
        slot->epoch = isClustered() ? slot->ns->epoch : newEpoch();
        m_bytes += cost(*slot);
        // Streams made by reads and recoveries of channels nobody publishes to count too: a
        // client naming ever new channels cannot grow the store past its cap.
        Stream *made = slot;
        enforceCap(made);
        return made;
    }
    return slot;
}

void HistoryStore::removeFront(Stream *s) {
    const Stored &front = s->messages.front();
    s->floor = front.offset;
    m_bytes -= cost(front.frame);
    --m_messages;
    s->messages.pop_front();
}

void HistoryStore::store(Stream *s, quint64 offset, const Frame &frame, qint64 now) {
    s->top = offset;
    s->messages.push_back({offset, now, frame});
    s->ns->order.push_back({s, offset});
    m_bytes += cost(frame);
    ++m_messages;
    trimToSize(s);
    expire(*s->ns, now);
    enforceCap(s);
}

void HistoryStore::trimToSize(Stream *s) {
    while (s->messages.size() > size_t(s->ns->config.size))
        removeFront(s);
}

Frame HistoryStore::append(const QByteArray &channel, const HistoryNamespace &ns,
                           const Frame &published, qint64 now) {
    Stream *s = stream(channel, ns);
    const Position at{s->top + 1, s->epoch};
    Frame frame(HistoryHeaders::withPosition(published.bytes(), channel, at), published.isText(),
                at.offset);
    store(s, at.offset, frame, now);
    return frame;
}

Frame HistoryStore::appendStored(const QByteArray &channel, const HistoryNamespace &ns,
                                 quint64 offset, const QByteArray &epoch, const Frame &published,
                                 bool live, qint64 now) {
    const bool known = m_streams.contains(channel);
    Stream *s = stream(channel, ns);
    if (s->epoch != epoch) {
        // The cluster's stream was made again: what this node held of the old one is gone.
        while (!s->messages.empty())
            removeFront(s);
        s->epoch = epoch;
        s->top = 0;
        s->floor = 0;
    } else if (offset <= s->top) {
        return Frame(QByteArray());
    }
    if (!known && !live && offset > 1) {
        // The first message this node reads back of the channel: earlier ones of the channel
        // may have been removed from the cluster's stream before it started (its offsets have
        // gaps, so nothing tells), and a position before this one is not recoverable here.
        s->floor = offset - 1;
    }
    const Position at{offset, epoch};
    Frame frame(HistoryHeaders::withPosition(published.bytes(), channel, at), published.isText(),
                offset);
    store(s, offset, frame, now);
    return frame;
}

void HistoryStore::setNamespaceEpoch(const QByteArray &pattern, const QByteArray &epoch) {
    for (const auto &n : m_namespaces) {
        if (n->config.pattern == pattern)
            n->epoch = epoch;
    }
}

HistoryStore::Outcome HistoryStore::since(const QByteArray &channel, const HistoryNamespace &ns,
                                          const Position &from, std::vector<Frame> *out,
                                          Position *top, qint64 now) {
    Stream *s = stream(channel, ns);
    expire(*s->ns, now);
    *top = {s->top, s->epoch};
    if (from.epoch != s->epoch)
        return Outcome::NotRecovered;
    if (from.offset > s->top)
        return Outcome::Ahead;
    if (from.offset < s->floor)
        return Outcome::NotRecovered;
    // Offsets grow along the deque: the first one after `from`, by binary search.
    const auto first =
        std::upper_bound(s->messages.begin(), s->messages.end(), from.offset,
                         [](quint64 offset, const Stored &m) { return offset < m.offset; });
    for (auto it = first; it != s->messages.end(); ++it)
        out->push_back(it->frame);
    return Outcome::Recovered;
}

void HistoryStore::last(const QByteArray &channel, const HistoryNamespace &ns, int limit,
                        std::vector<Frame> *out, Position *top, qint64 now) {
    Stream *s = stream(channel, ns);
    expire(*s->ns, now);
    *top = {s->top, s->epoch};
    const size_t n = std::min(size_t(limit), s->messages.size());
    for (auto it = s->messages.end() - qsizetype(n); it != s->messages.end(); ++it)
        out->push_back(it->frame);
}

Position HistoryStore::top(const QByteArray &channel, const HistoryNamespace &ns, qint64 now) {
    Stream *s = stream(channel, ns);
    expire(*s->ns, now);
    return {s->top, s->epoch};
}

HistoryStore::Stream *HistoryStore::oldestLive(Namespace &n) {
    // The order list may name messages already gone (removed by size, age or memory, or by a
    // new epoch): those are dropped; a live one is the oldest of its stream.
    while (!n.order.empty()) {
        const auto [s, offset] = n.order.front();
        if (!s->messages.empty() && s->messages.front().offset == offset)
            return s;
        n.order.pop_front();
    }
    return nullptr;
}

void HistoryStore::expire(Namespace &n, qint64 now) {
    // Also without a TTL: finding the oldest live entry drops the stale ones before it, which
    // keeps the order list as long as what is held.
    const qint64 ttl = n.config.ttlMs;
    while (Stream *s = oldestLive(n)) {
        if (ttl <= 0 || now - s->messages.front().at < ttl)
            return;
        removeFront(s);
        ++m_expired;
        n.order.pop_front();
    }
}

void HistoryStore::expire(qint64 now) {
    for (const auto &n : m_namespaces)
        expire(*n, now);
}

void HistoryStore::enforceCap(const Stream *keep) {
    if (m_memoryCap <= 0)
        return;
    while (m_bytes > m_memoryCap && m_messages > 0) {
        // The namespace whose oldest live message is the oldest.
        Namespace *oldest = nullptr;
        qint64 oldestAt = 0;
        for (const auto &n : m_namespaces) {
            const Stream *s = oldestLive(*n);
            if (!s)
                continue;
            const qint64 at = s->messages.front().at;
            if (!oldest || at < oldestAt) {
                oldest = n.get();
                oldestAt = at;
            }
        }
        if (!oldest)
            break;
        removeFront(oldest->order.front().first);
        oldest->order.pop_front();
        ++m_evicted;
    }
    if (m_bytes <= m_memoryCap)
        return;
    // Only empty channel entries left to give back (many channels, each with its epoch). The
    // order lists' entries for them are all stale: dropped first, so none points at a
    // deleted stream.
    for (const auto &n : m_namespaces) {
        auto &order = n->order;
        order.erase(std::remove_if(order.begin(), order.end(),
                                   [](const std::pair<Stream *, quint64> &e) {
                                       return e.first->messages.empty() ||
                                              e.first->messages.front().offset > e.second;
                                   }),
                    order.end());
    }
    for (auto it = m_streams.begin(); it != m_streams.end() && m_bytes > m_memoryCap;) {
        Stream *s = it.value();
        if (!s->messages.empty() || s == keep) {
            ++it;
            continue;
        }
        m_bytes -= cost(*s);
        delete s;
        it = m_streams.erase(it);
    }
}

HistoryStore::Stats HistoryStore::stats() const {
    QMutexLocker lock(&m_mutex);
    Stats st;
    st.namespaces = int(m_namespaces.size());
    st.channels = int(m_streams.size());
    st.messages = m_messages;
    st.bytes = quint64(std::max<qint64>(0, m_bytes));
    st.evicted = m_evicted;
    st.expired = m_expired;
    return st;
}

HistoryStore::ChannelInfo HistoryStore::info(const QByteArray &channel) const {
    QMutexLocker lock(&m_mutex);
    ChannelInfo ci;
    if (const HistoryNamespace *ns = namespaceOf(channel))
        ci.size = ns->size;
    const Stream *s = m_streams.value(channel);
    if (!s)
        return ci;
    ci.exists = true;
    ci.stored = int(s->messages.size());
    ci.top = {s->top, s->epoch};
    return ci;
}

} // namespace lhttp

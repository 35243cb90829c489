// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "router.h"

#include "channelhub.h"
#include "channelname.h"
#include "session.h"
#include "threadhandoff.h"

#include <QCoreApplication>
#include <QEvent>
#include <QPointer>
#include <QThread>

namespace lhttp {

namespace {
// Loops are bits of a quint64.
constexpr int MaxLoops = 64;

bool inThreadOf(const QObject *object) {
    return object->thread() == QThread::currentThread();
}
} // namespace

const QEvent::Type Router::InboxEvent = QEvent::Type(QEvent::registerEventType());

Router::Router() {
    m_clock.start();
}

Router::~Router() {
    if (Broker *broker = m_broker.load(std::memory_order_relaxed))
        broker->attach(nullptr);
}

int Router::addLoop(ChannelHub *hub, QObject *inboxOwner) {
    Q_ASSERT(m_loops.size() < size_t(MaxLoops));
    auto loop = std::make_unique<Loop>();
    loop->hub = hub;
    loop->owner = inboxOwner;
    m_loops.push_back(std::move(loop));
    return int(m_loops.size() - 1);
}

void Router::setBroker(Broker *broker) {
    {
        // Every loop reads m_broker (publish(), and brokerSubscribe() under m_mutex) while this
        // thread changes it: atomic, and changed under m_mutex, so a loop's first subscriber
        // arriving meanwhile is subscribed either by the loop (it saw the new broker) or below
        // (it did not), never by both.
        QMutexLocker lock(&m_mutex);
        if (Broker *old = m_broker.load(std::memory_order_relaxed))
            old->attach(nullptr);
        m_broker.store(broker, std::memory_order_release);
        m_brokerCallsPosted.reset();
        m_history.setClustered(m_history.isEnabled() && broker && broker->keepsHistory());
        if (broker) {
            m_brokerCallsPosted = std::make_shared<std::atomic<int>>(0);
            broker->attach(this);
            for (auto it = m_interest.cbegin(); it != m_interest.cend(); ++it) {
                if (!followedByBroker(it.key()))
                    broker->subscribe(it.key());
            }
        }
    }
    attachPresence(broker); // its events go out through m_mutex
}

void Router::attachPresence(Broker *broker) {
    if (!m_presence.isEnabled())
        return;
    std::function<void(const QByteArray &)> send;
    if (broker && broker->carriesPresence())
        send = [broker](const QByteArray &message) { broker->publishPresence(message); };
    PresenceStore::Events events;
    m_presence.setCluster(std::move(send), m_presenceTimeoutMs, m_clock.elapsed(), &events);
    sendPresenceEvents(events);
    if (m_presence.hasOutgoing())
        schedulePresenceFlush();
}

void Router::brokerSubscribe(const QByteArray &channel, bool subscribe) {
    // Caller holds m_mutex: calls posted to the broker's thread keep the order of the changes,
    // and a change in the broker's own thread calls at once only when none of them is still on
    // its way — else a channel that came and went on loop 1 and then came to loop 0 would be
    // subscribed by loop 0 first and then unsubscribed by loop 1's late calls.
    Broker *const to = m_broker.load(std::memory_order_relaxed);
    if (!to || followedByBroker(channel))
        return;
    if (inThreadOf(to) && m_brokerCallsPosted->load() == 0) {
        subscribe ? to->subscribe(channel) : to->unsubscribe(channel);
        return;
    }
    m_brokerCallsPosted->fetch_add(1);
    QPointer<Broker> broker = to;
    invokeIn(
        to,
        [broker, posted = m_brokerCallsPosted, channel, subscribe] {
            posted->fetch_sub(1);
            if (broker)
                subscribe ? broker->subscribe(channel) : broker->unsubscribe(channel);
        },
        Qt::QueuedConnection);
}

void Router::subscriberAdded(int loop, const QByteArray &channel, bool first) {
    QMutexLocker lock(&m_mutex);
    Interest &in = m_interest[channel];
    const bool firstOnNode = in.subscribers == 0;
    ++in.subscribers;
    if (first) {
        in.loops |= quint64(1) << loop;
        if (ChannelName::isWildcard(channel))
            m_wildcards[channel] |= quint64(1) << loop;
    }
    if (firstOnNode)
        brokerSubscribe(channel, true);
}

void Router::subscriberRemoved(int loop, const QByteArray &channel, bool last) {
    QMutexLocker lock(&m_mutex);
    const auto it = m_interest.find(channel);
    if (it == m_interest.end())
        return;
    if (last) {
        it->loops &= ~(quint64(1) << loop);
        if (const auto w = m_wildcards.find(channel); w != m_wildcards.end()) {
            *w &= ~(quint64(1) << loop);
            if (!*w)
                m_wildcards.erase(w);
        }
    }
    if (--it->subscribers > 0)
        return;
    m_interest.erase(it);
    brokerSubscribe(channel, false);
}

quint64 Router::loopsFor(const QByteArray &channel, bool exact) const {
    quint64 loops = m_interest.value(channel).loops;
    if (!exact) {
        for (auto it = m_wildcards.cbegin(); it != m_wildcards.cend(); ++it) {
            if (ChannelName::matches(it.key(), channel))
                loops |= it.value();
        }
    }
    return loops;
}

void Router::hand(int loop, const QByteArray &channel, const Frame &frame, bool exact) {
    Loop &l = *m_loops[size_t(loop)];
    QMutexLocker lock(&l.mutex);
    l.inbox.push_back({channel, frame, exact});
    if (l.posted)
        return;
    // One posted event per batch: the loop drains everything handed to it meanwhile.
    l.posted = true;
    auto *event = new QEvent(InboxEvent);
    tsanRelease(l.owner); // the owner reads the event before it takes the mutex (Loop)
    QCoreApplication::postEvent(l.owner, event);
}

int Router::handOut(const QByteArray &channel, const Frame &frame, bool exact, int skipLoop) {
    quint64 loops;
    {
        QMutexLocker lock(&m_mutex);
        loops = loopsFor(channel, exact);
    }
    if (skipLoop >= 0)
        loops &= ~(quint64(1) << skipLoop);
    if (!loops)
        return 0;
    // Built here, once, before any other thread sees the frame: its bytes and wire form are
    // shared from now on, never written again.
    frame.wire();
    int reached = 0;
    for (int i = 0; loops; ++i, loops >>= 1) {
        if (!(loops & 1))
            continue;
        Loop &l = *m_loops[size_t(i)];
        if (inThreadOf(l.owner))
            reached += exact ? l.hub->deliverExact(channel, frame) : l.hub->deliver(channel, frame);
        else
            hand(i, channel, frame, exact);
    }
    return reached;
}

Error Router::publish(int loop, const QByteArray &channel, const Frame &frame) {
    // Joins and leaves made before this publish reach the other nodes before it.
    if (m_presence.hasOutgoing())
        m_presence.flush();
    if (m_history.isEnabled()) {
        if (const HistoryNamespace *ns = m_history.namespaceOf(channel))
            return publishHistory(loop, channel, *ns, frame);
    }
    m_loops[size_t(loop)]->hub->deliver(channel, frame);
    if (m_loops.size() > 1)
        handOut(channel, frame, false, loop);
    Broker *const broker = m_broker.load(std::memory_order_acquire);
    return broker ? broker->publish(channel, frame) : Error();
}

void Router::configurePresence(const QByteArrayList &patterns, const QByteArray &nodeName,
                               qint64 timeoutMs) {
    m_presence.configure(patterns, nodeName);
    m_presenceTimeoutMs = timeoutMs;
}

void Router::presenceJoined(const Session &session, const QByteArray &channel,
                            const QByteArray &info) {
    PresenceStore::Event event;
    if (m_presence.join(channel, session.id(), session.userId().toUtf8(), info, &event))
        announcePresence(std::move(event));
}

void Router::presenceLeft(const Session &session, const QByteArray &channel) {
    PresenceStore::Event event;
    if (m_presence.leave(channel, session.id(), &event))
        announcePresence(std::move(event));
}

void Router::announcePresence(PresenceStore::Event event) {
    sendPresenceEvents({std::move(event)});
    if (m_presence.hasOutgoing())
        schedulePresenceFlush();
}

void Router::sendPresenceEvents(const PresenceStore::Events &events) {
    for (const PresenceStore::Event &e : events) {
        const PresenceEntry &p = e.entry;
        QByteArray bytes;
        bytes.reserve(64 + e.channel.size() + p.client.size() + p.node.size() + p.user.size() +
                      p.info.size());
        bytes.append("LHTTP/1.0 presence\r\n").append(e.join ? "join:" : "leave:");
        bytes.append(e.channel).append("\r\nclient:").append(p.client);
        bytes.append("\r\nnode:").append(p.node).append("\r\n");
        if (!p.user.isEmpty())
            bytes.append("user:").append(p.user).append("\r\n");
        bytes.append("\r\n").append(p.info);
        // To every loop with subscribers of exactly this channel; each sends it to its watchers.
        handOut(e.channel, Frame::presenceEvent(std::move(bytes), e.session), true, -1);
    }
}

void Router::schedulePresenceFlush() {
    Broker *const broker = m_broker.load(std::memory_order_acquire);
    if (!broker || m_presenceFlushPosted.exchange(true))
        return;
    // One message for every join and leave made until the broker's thread gets to it.
    QPointer<Broker> guard = broker;
    invokeIn(
        broker,
        [this, guard] {
            m_presenceFlushPosted.store(false);
            if (guard)
                m_presence.flush();
        },
        Qt::QueuedConnection);
}

void Router::presenceTick() {
    if (!m_presence.isClustered())
        return;
    PresenceStore::Events events;
    m_presence.tick(m_clock.elapsed(), &events);
    sendPresenceEvents(events);
}

void Router::deliverPresence(const QByteArray &message) {
    PresenceStore::Events events;
    m_presence.receive(message, m_clock.elapsed(), &events);
    sendPresenceEvents(events);
}

void Router::presenceReconnected() {
    m_presence.announce();
}

int Router::deliver(const QByteArray &channel, const Frame &frame) {
    if (m_loops.size() == 1 && inThreadOf(m_loops.front()->owner))
        return m_loops.front()->hub->deliver(channel, frame);
    return handOut(channel, frame, false, -1);
}

int Router::deliverExact(const QByteArray &channel, const Frame &frame) {
    if (m_loops.size() == 1 && inThreadOf(m_loops.front()->owner))
        return m_loops.front()->hub->deliverExact(channel, frame);
    return handOut(channel, frame, true, -1);
}

Error Router::publishHistory(int loop, const QByteArray &channel, const HistoryNamespace &ns,
                             const Frame &frame) {
    Broker *const broker = m_broker.load(std::memory_order_acquire);
    if (m_history.isClustered()) {
        // The broker's store numbers it; every copy, this node's own included, comes back
        // through deliverStored().
        return broker ? broker->publish(channel, frame)
                      : Error::make(Status::ServiceUnavailable, "history unavailable: no broker");
    }
    {
        // Numbered, stored and handed to every loop under one lock: each loop sees a
        // channel's offsets in order, and a recovery (recover()) sees a message either in the
        // store or on its way to the session, never neither.
        QMutexLocker lock(&m_history.mutex());
        const Frame positioned = m_history.append(channel, ns, frame, m_clock.elapsed());
        m_loops[size_t(loop)]->hub->deliver(channel, positioned);
        if (m_loops.size() > 1)
            handOut(channel, positioned, false, loop);
    }
    return broker ? broker->publish(channel, frame) : Error();
}

void Router::deliverStored(const QByteArray &channel, quint64 offset, const QByteArray &epoch,
                           const Frame &frame, bool live) {
    const HistoryNamespace *ns = historyNamespace(channel);
    if (!ns)
        return;
    QMutexLocker lock(&m_history.mutex());
    const Frame positioned =
        m_history.appendStored(channel, *ns, offset, epoch, frame, live, m_clock.elapsed());
    if (live && !positioned.bytes().isNull())
        deliver(channel, positioned);
}

void Router::configureHistory(const QList<HistoryNamespace> &namespaces, qint64 memoryCap) {
    m_history.configure(namespaces, memoryCap);
    const Broker *broker = m_broker.load(std::memory_order_acquire);
    m_history.setClustered(m_history.isEnabled() && broker && broker->keepsHistory());
}

Error Router::historyServable() {
    if (!m_history.isClustered())
        return {};
    const Broker *broker = m_broker.load(std::memory_order_acquire);
    if (broker && broker->historyReady())
        return {};
    ++m_historyCounters.unavailable;
    const QString why = broker ? broker->historyProblem() : QStringLiteral("no broker");
    return Error::make(Status::ServiceUnavailable,
                       "history unavailable" +
                           (why.isEmpty() ? QByteArray() : ": " + why.toUtf8()));
}

Error Router::historyAvailable(const HistoryNamespace &ns) {
    if (!m_history.isClustered())
        return {};
    if (Error e = historyServable())
        return e;
    const Broker *broker = m_broker.load(std::memory_order_acquire);
    m_history.setNamespaceEpoch(ns.pattern, broker->historyEpoch(ns.pattern));
    return {};
}

Router::HistoryAnswer Router::recover(int loop, Session *session, const QByteArray &channel,
                                      const HistoryNamespace &ns, const Position *from) {
    HistoryAnswer answer;
    QMutexLocker lock(&m_history.mutex());
    if ((answer.error = historyAvailable(ns)))
        return answer;
    const qint64 now = m_clock.elapsed();
    if (!from) {
        answer.top = m_history.top(channel, ns, now);
        answer.recovered = true;
    } else {
        switch (m_history.since(channel, ns, *from, &answer.frames, &answer.top, now)) {
        case HistoryStore::Outcome::Recovered:
            answer.recovered = true;
            break;
        case HistoryStore::Outcome::NotRecovered:
            break;
        case HistoryStore::Outcome::Ahead:
            if (!m_history.isClustered()) {
                answer.error =
                    Error::make(Status::BadRequest, "recover: position " + from->toText() +
                                                        " is ahead of the channel's stream (at " +
                                                        answer.top.toText() + ")");
                return answer;
            }
            // Another node delivered messages this one has not read from the cluster's
            // stream yet: nothing to replay, and those up to `from` are not delivered again.
            answer.recovered = true;
            answer.top = *from;
            break;
        }
    }
    // Live copies of what was replayed (or was before the position), already handed to this
    // loop, are skipped for this session.
    m_loops[size_t(loop)]->hub->setFloor(session, channel, answer.top.offset);
    (answer.recovered ? m_historyCounters.recovered : m_historyCounters.notRecovered)++;
    m_historyCounters.recoveredMessages += answer.frames.size();
    return answer;
}

Router::HistoryAnswer Router::read(const QByteArray &channel, const HistoryNamespace &ns, int limit,
                                   const Position *after) {
    HistoryAnswer answer;
    QMutexLocker lock(&m_history.mutex());
    if ((answer.error = historyAvailable(ns)))
        return answer;
    const qint64 now = m_clock.elapsed();
    if (!after) {
        m_history.last(channel, ns, limit, &answer.frames, &answer.top, now);
    } else {
        const HistoryStore::Outcome outcome =
            m_history.since(channel, ns, *after, &answer.frames, &answer.top, now);
        if (outcome == HistoryStore::Outcome::NotRecovered) {
            answer.error = Error::make(Status::Gone, "history: position " + after->toText() +
                                                         " is no longer in the history");
            return answer;
        }
        if (outcome == HistoryStore::Outcome::Ahead && !m_history.isClustered()) {
            answer.error =
                Error::make(Status::BadRequest, "history: position " + after->toText() +
                                                    " is ahead of the channel's stream (at " +
                                                    answer.top.toText() + ")");
            return answer;
        }
        if (answer.frames.size() > size_t(limit))
            answer.frames.erase(answer.frames.begin() + limit,
                                answer.frames.end()); // the first `limit`
    }
    ++m_historyCounters.reads;
    m_historyCounters.readMessages += answer.frames.size();
    return answer;
}

void Router::expireHistory() {
    if (!m_history.isEnabled())
        return;
    QMutexLocker lock(&m_history.mutex());
    m_history.expire(m_clock.elapsed());
}

void Router::drainInbox(int loop) {
    Loop &l = *m_loops[size_t(loop)];
    std::vector<Handed> batch;
    {
        QMutexLocker lock(&l.mutex);
        batch.swap(l.inbox);
        l.posted = false;
    }
    for (const Handed &h : batch) {
        if (h.exact)
            l.hub->deliverExact(h.channel, h.frame);
        else
            l.hub->deliver(h.channel, h.frame);
    }
}

int Router::channelCount() const {
    QMutexLocker lock(&m_mutex);
    return int(m_interest.size());
}

QList<QByteArray> Router::channelNames() const {
    QMutexLocker lock(&m_mutex);
    return m_interest.keys();
}

int Router::subscriberCount(const QByteArray &channel) const {
    QMutexLocker lock(&m_mutex);
    return m_interest.value(channel).subscribers;
}

} // namespace lhttp

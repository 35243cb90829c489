// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "router.h"

#include "channelhub.h"
#include "channelname.h"
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

Router::Router() = default;

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
    // Every loop reads m_broker (publish(), and brokerSubscribe() under m_mutex) while this
    // thread changes it: atomic, and changed under m_mutex, so a loop's first subscriber
    // arriving meanwhile is subscribed either by the loop (it saw the new broker) or below (it
    // did not), never by both.
    QMutexLocker lock(&m_mutex);
    if (Broker *old = m_broker.load(std::memory_order_relaxed))
        old->attach(nullptr);
    m_broker.store(broker, std::memory_order_release);
    m_brokerCallsPosted.reset();
    if (!broker)
        return;
    m_brokerCallsPosted = std::make_shared<std::atomic<int>>(0);
    broker->attach(this);
    for (auto it = m_interest.cbegin(); it != m_interest.cend(); ++it)
        broker->subscribe(it.key());
}

void Router::brokerSubscribe(const QByteArray &channel, bool subscribe) {
    // Caller holds m_mutex: calls posted to the broker's thread keep the order of the changes,
    // and a change in the broker's own thread calls at once only when none of them is still on
    // its way — else a channel that came and went on loop 1 and then came to loop 0 would be
    // subscribed by loop 0 first and then unsubscribed by loop 1's late calls.
    Broker *const to = m_broker.load(std::memory_order_relaxed);
    if (!to)
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
    m_loops[size_t(loop)]->hub->deliver(channel, frame);
    if (m_loops.size() > 1)
        handOut(channel, frame, false, loop);
    Broker *const broker = m_broker.load(std::memory_order_acquire);
    return broker ? broker->publish(channel, frame) : Error();
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

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "timerqueue.h"

#include <QCoreApplication>
#include <QObject>
#include <QTimerEvent>

#include <ctime>

namespace lhttp {

namespace {

constexpr qint64 NsPerMs = 1'000'000;
constexpr qint64 NsPerSecond = 1'000'000'000;
// Qt's boundaries for Qt::CoarseTimer: at or below 20 ms a 5% error is under a millisecond
// (so it is precise), at or above 20 s it is over a second (so it is very coarse).
constexpr qint64 PreciseUpToMs = 20;
constexpr qint64 VeryCoarseFromMs = 20'000;

// Moves a coarse timer's due time by at most 5% of its interval to the roundest time in that
// window: a whole second of the monotonic clock if there is one, else a multiple of 500 ms,
// 250 ms, ... down to whole milliseconds. Timers of similar intervals then land on the same
// instants and the thread wakes up once for all of them. (Our own rule of the same spirit as
// Qt's; only the 5% bound is Qt's promise.)
qint64 alignCoarse(qint64 due, qint64 intervalMs) {
    const qint64 slack = intervalMs * NsPerMs / 20;
    static constexpr qint64 grainsMs[] = {1000, 500, 250, 200, 100, 50, 25, 10, 5, 2, 1};
    for (const qint64 grainMs : grainsMs) {
        const qint64 grain = grainMs * NsPerMs;
        const qint64 below = due - due % grain;
        const qint64 above = below == due ? due : below + grain;
        const bool belowFirst = due - below <= above - due;
        const qint64 nearer = belowFirst ? below : above;
        const qint64 farther = belowFirst ? above : below;
        if (qAbs(nearer - due) <= slack)
            return nearer;
        if (qAbs(farther - due) <= slack)
            return farther;
    }
    return due;
}

} // namespace

TimerQueue::~TimerQueue() {
    for (const auto &entry : m_byId)
        delete entry.second;
}

qint64 TimerQueue::now() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * NsPerSecond + ts.tv_nsec;
}

void TimerQueue::add(int id, qint64 intervalMs, Qt::TimerType type, QObject *object, qint64 now) {
    if (type == Qt::CoarseTimer) {
        if (intervalMs >= VeryCoarseFromMs)
            type = Qt::VeryCoarseTimer;
        else if (intervalMs <= PreciseUpToMs)
            type = Qt::PreciseTimer;
    }
    auto *timer = new Timer;
    timer->id = id;
    timer->type = type;
    timer->interval = type == Qt::VeryCoarseTimer ? (intervalMs + 500) / 1000 : intervalMs;
    timer->object = object;
    timer->serial = ++m_serial;
    arm(timer, now);

    if (Timer *&previous = m_byId[id]) {
        // Qt never reuses a live id; a stale entry would be a bug of the caller.
        qWarning("EpollEventDispatcher: timer id %d registered twice", id);
        erase(previous);
        unlinkFromObject(previous);
        delete previous;
    }
    m_byId[id] = timer;
    Timer *&first = m_byObject[object];
    timer->nextOfObject = first;
    if (first)
        first->prevOfObject = timer;
    first = timer;
    push(timer);
}

void TimerQueue::arm(Timer *timer, qint64 now) const {
    switch (timer->type) {
    case Qt::PreciseTimer:
        timer->due = now + timer->interval * NsPerMs;
        break;
    case Qt::CoarseTimer:
        timer->due = alignCoarse(now + timer->interval * NsPerMs, timer->interval);
        break;
    case Qt::VeryCoarseTimer: {
        // On the second nearest to now, plus the interval.
        const qint64 second = now / NsPerSecond + (now % NsPerSecond > NsPerSecond / 2 ? 1 : 0);
        timer->due = (second + timer->interval) * NsPerSecond;
        break;
    }
    }
}

void TimerQueue::rearm(Timer *timer, qint64 now) const {
    if (timer->type == Qt::VeryCoarseTimer) {
        timer->due += timer->interval * NsPerSecond;
        if (timer->due / NsPerSecond <= now / NsPerSecond)
            timer->due = (now / NsPerSecond + timer->interval) * NsPerSecond;
        return;
    }
    const qint64 interval = timer->interval * NsPerMs;
    timer->due += interval;
    if (timer->due < now)
        timer->due = now + interval; // skip the missed periods
    if (timer->type == Qt::CoarseTimer)
        timer->due = alignCoarse(timer->due, timer->interval);
}

bool TimerQueue::remove(int id) {
    const auto it = m_byId.find(id);
    if (it == m_byId.end())
        return false;
    Timer *timer = it->second;
    m_byId.erase(it);
    erase(timer);
    unlinkFromObject(timer);
    delete timer;
    return true;
}

bool TimerQueue::removeAll(QObject *object) {
    const auto it = m_byObject.find(object);
    if (it == m_byObject.end())
        return false;
    Timer *timer = it->second;
    m_byObject.erase(it);
    while (timer) {
        Timer *next = timer->nextOfObject;
        m_byId.erase(timer->id);
        erase(timer);
        delete timer;
        timer = next;
    }
    return true;
}

void TimerQueue::unlinkFromObject(Timer *timer) {
    if (timer->prevOfObject) {
        timer->prevOfObject->nextOfObject = timer->nextOfObject;
    } else {
        const auto it = m_byObject.find(timer->object);
        if (timer->nextOfObject)
            it->second = timer->nextOfObject;
        else
            m_byObject.erase(it);
    }
    if (timer->nextOfObject)
        timer->nextOfObject->prevOfObject = timer->prevOfObject;
    timer->prevOfObject = timer->nextOfObject = nullptr;
}

QList<QAbstractEventDispatcher::TimerInfo> TimerQueue::timersOf(QObject *object) const {
    QList<QAbstractEventDispatcher::TimerInfo> timers;
    const auto it = m_byObject.find(object);
    for (const Timer *t = it == m_byObject.end() ? nullptr : it->second; t; t = t->nextOfObject) {
        const qint64 ms = t->type == Qt::VeryCoarseTimer ? t->interval * 1000 : t->interval;
        timers.append({t->id, int(ms), t->type});
    }
    return timers;
}

int TimerQueue::remainingMs(int id, qint64 now) const {
    const auto it = m_byId.find(id);
    if (it == m_byId.end())
        return -1;
    const qint64 left = it->second->due - now;
    return left <= 0 ? 0 : int((left + NsPerMs - 1) / NsPerMs);
}

qint64 TimerQueue::waitNs(qint64 now) const {
    if (m_heap.empty())
        return -1;
    return qMax<qint64>(0, m_heap.front()->due - now);
}

int TimerQueue::activate(qint64 now) {
    const quint64 pass = ++m_pass;
    m_lastPassTime = now;
    int fired = 0;
    while (!m_heap.empty()) {
        Timer *timer = m_heap.front();
        // Stop at the first timer not yet due, or at one this pass fired already: timers
        // re-armed in this pass sort after every timer that was due before them.
        if (timer->due > now || timer->firedPass == pass)
            break;
        erase(timer);
        timer->firedPass = pass;
        rearm(timer, now);
        if (timer->interval > 0)
            ++fired;

        const int id = timer->id;
        const quint64 serial = timer->serial;
        QTimerEvent event(id);
        QCoreApplication::sendEvent(timer->object, &event);

        // The handler may have killed the timer (and a new one may have its id) or deleted
        // its object: look it up again.
        const auto it = m_byId.find(id);
        if (it == m_byId.end() || it->second->serial != serial)
            continue;
        timer = it->second;
        // Nested passes ran inside the handler: Qt's dispatchers keep re-arming a timer that
        // is busy in its own handler, so it does not fire for periods that went by meanwhile.
        if (m_pass != pass && timer->due <= m_lastPassTime)
            rearm(timer, m_lastPassTime);
        push(timer);
    }
    return fired;
}

bool TimerQueue::before(const Timer *a, const Timer *b) const {
    return a->due < b->due || (a->due == b->due && a->sequence < b->sequence);
}

void TimerQueue::place(int index, Timer *timer) {
    m_heap[size_t(index)] = timer;
    timer->heapIndex = index;
}

void TimerQueue::push(Timer *timer) {
    timer->sequence = ++m_sequence;
    m_heap.push_back(timer);
    timer->heapIndex = int(m_heap.size()) - 1;
    siftUp(timer->heapIndex);
}

void TimerQueue::erase(Timer *timer) {
    const int index = timer->heapIndex;
    if (index < 0)
        return; // being delivered
    timer->heapIndex = -1;
    Timer *last = m_heap.back();
    m_heap.pop_back();
    if (last == timer)
        return;
    place(index, last);
    siftUp(index);
    siftDown(last->heapIndex);
}

void TimerQueue::siftUp(int index) {
    Timer *timer = m_heap[size_t(index)];
    while (index > 0) {
        const int parent = (index - 1) / 2;
        if (!before(timer, m_heap[size_t(parent)]))
            break;
        place(index, m_heap[size_t(parent)]);
        index = parent;
    }
    place(index, timer);
}

void TimerQueue::siftDown(int index) {
    const int size = int(m_heap.size());
    Timer *timer = m_heap[size_t(index)];
    for (;;) {
        int child = 2 * index + 1;
        if (child >= size)
            break;
        if (child + 1 < size && before(m_heap[size_t(child + 1)], m_heap[size_t(child)]))
            ++child;
        if (!before(m_heap[size_t(child)], timer))
            break;
        place(index, m_heap[size_t(child)]);
        index = child;
    }
    place(index, timer);
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QAbstractEventDispatcher>
#include <QList>

#include <unordered_map>
#include <vector>

class QObject;

namespace lhttp {

// The timers of one event dispatcher (EpollEventDispatcher), with the semantics of Qt's own
// dispatchers on Unix:
//
// - Qt::PreciseTimer fires no earlier than its due time, to the nanosecond of
//   CLOCK_MONOTONIC (the clock QElapsedTimer and QDeadlineTimer read).
// - Qt::CoarseTimer may move by up to 5% of its interval, towards a round fraction of the
//   second, so that a thread's timers wake it up together; at 20 ms and below it is precise,
//   at 20 s and above very coarse (as Qt does).
// - Qt::VeryCoarseTimer keeps whole seconds: its interval is rounded to the nearest second and
//   it fires on a second boundary of the monotonic clock.
// - A repeating timer's next due time is its previous due time plus the interval (no drift);
//   when that is already past, the missed periods are skipped and it is due one interval from
//   now.
// - A timer fires at most once per pass (activate()), and never inside its own QTimerEvent:
//   while its handler runs (a nested event loop in it, say) it is out of the queue.
// - Zero-interval timers are due on every pass; like Qt, activate() does not count them, so a
//   loop with one idle timer still reports "nothing processed" to QCoreApplication.
//
// A binary min-heap on (due time, insertion sequence) gives the next timer in O(1) and
// (re)arming or removing one in O(log n); the sequence keeps timers with the same due time in
// the order they were armed. Timers are found by id through a hash and by object through a
// list threaded through the timers of each object, so deleting an object costs its own timers.
class TimerQueue {
public:
    TimerQueue() = default;
    TimerQueue(const TimerQueue &) = delete;
    TimerQueue &operator=(const TimerQueue &) = delete;
    ~TimerQueue();

    // CLOCK_MONOTONIC in nanoseconds.
    static qint64 now();

    void add(int id, qint64 intervalMs, Qt::TimerType type, QObject *object, qint64 now);
    bool remove(int id);
    bool removeAll(QObject *object);
    QList<QAbstractEventDispatcher::TimerInfo> timersOf(QObject *object) const;
    // Milliseconds until the timer is due, rounded up; 0 when overdue, -1 for an unknown id.
    int remainingMs(int id, qint64 now) const;
    // Nanoseconds until the next timer is due (0 when one is), -1 when none is armed.
    qint64 waitNs(qint64 now) const;
    // Sends a QTimerEvent to every timer due at `now`, each at most once, re-arming each
    // before its event is sent (so its handler may kill or restart it, or delete its object).
    // Returns how many timers with a non-zero interval fired.
    int activate(qint64 now);

    bool isEmpty() const { return m_byId.empty(); }
    int count() const { return int(m_byId.size()); }

private:
    struct Timer {
        int id = 0;
        Qt::TimerType type = Qt::CoarseTimer;
        qint64 interval = 0; // milliseconds; whole seconds for Qt::VeryCoarseTimer
        QObject *object = nullptr;
        qint64 due = 0; // CLOCK_MONOTONIC nanoseconds
        quint64 sequence = 0;
        quint64 serial = 0;    // tells a timer from a later one that reuses its id
        quint64 firedPass = 0; // the activate() pass that last fired it
        int heapIndex = -1;    // -1 while its QTimerEvent is being delivered
        Timer *prevOfObject = nullptr;
        Timer *nextOfObject = nullptr;
    };

    void arm(Timer *timer, qint64 now) const;
    void rearm(Timer *timer, qint64 now) const;
    void push(Timer *timer);
    void erase(Timer *timer);
    void unlinkFromObject(Timer *timer);
    bool before(const Timer *a, const Timer *b) const;
    void siftUp(int index);
    void siftDown(int index);
    void place(int index, Timer *timer);

    std::vector<Timer *> m_heap;
    std::unordered_map<int, Timer *> m_byId;
    std::unordered_map<QObject *, Timer *> m_byObject; // the first timer of each object
    quint64 m_sequence = 0;
    quint64 m_serial = 0;
    quint64 m_pass = 0;
    qint64 m_lastPassTime = 0;
};

} // namespace lhttp

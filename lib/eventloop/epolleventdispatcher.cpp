// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "epolleventdispatcher.h"

#include "timerqueue.h"

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QThread>

#ifdef Q_OS_LINUX

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace lhttp {

namespace {

constexpr qint64 NsPerMs = 1'000'000;
constexpr qint64 NsPerSecond = 1'000'000'000;
// The eventfd's tag in the epoll set; sockets carry their descriptor.
constexpr quint64 WakeUpTag = ~quint64(0);
// Events one epoll_wait() may return; the buffer starts small and doubles up to this when a
// pass fills it (the rest stay ready for the next pass: level-triggered).
constexpr size_t FirstEventBuffer = 64;
constexpr size_t MaxEventBuffer = 4096;

// What activates each kind of notifier: as QEventDispatcherUNIX maps poll()'s revents.
constexpr quint32 Activates[3] = {
    EPOLLIN | EPOLLHUP | EPOLLERR,  // QSocketNotifier::Read
    EPOLLOUT | EPOLLHUP | EPOLLERR, // QSocketNotifier::Write
    EPOLLPRI | EPOLLHUP | EPOLLERR, // QSocketNotifier::Exception
};
constexpr quint32 Interest[3] = {EPOLLIN, EPOLLOUT, EPOLLPRI};

const char *typeName(int type) {
    switch (type) {
    case QSocketNotifier::Read:
        return "Read";
    case QSocketNotifier::Write:
        return "Write";
    default:
        return "Exception";
    }
}

timespec toTimespec(qint64 ns) {
    timespec ts;
    ts.tv_sec = time_t(ns / NsPerSecond);
    ts.tv_nsec = long(ns % NsPerSecond);
    return ts;
}

} // namespace

struct EpollEventDispatcher::Private {
    struct Slot {
        QSocketNotifier *notifier = nullptr;
        quint64 serial = 0;   // this registration (0: the slot is empty)
        bool pending = false; // queued in `pending` for activation
    };
    struct Socket {
        Slot slots[3];           // by QSocketNotifier::Type
        quint32 events = 0;      // the interest registered in epoll; 0 when not in the set
        bool unpollable = false; // epoll refused it (a regular file): always ready, as poll() says
    };
    // A notifier to activate, named by descriptor, type and registration so that a notifier
    // disabled, deleted or re-registered (for this descriptor or another) since is skipped,
    // and so is a new socket that reuses the descriptor.
    struct Pending {
        int fd;
        int type;
        quint64 serial;
    };

    int wait(bool includeNotifiers, qint64 timeoutNs);
    int epollWait(qint64 timeoutNs);
    void queue(int fd, quint32 events);
    int activateSocketNotifiers();
    void drainWakeUp();
    void updateInterest(int fd);

    int epoll = -1;
    int wakeFd = -1;
    bool haveEpollPwait2 = true;
    std::atomic<bool> wakePending{false};
    std::atomic<bool> interrupted{false};
    TimerQueue timers;
    std::vector<Socket> sockets; // by descriptor
    std::vector<int> unpollable;
    // One queue for nested passes too, as Qt's pending list is: a nested pass activates what
    // the outer pass had queued, and the outer pass then does not activate it again.
    std::vector<Pending> pending;
    size_t pendingHead = 0;
    std::vector<epoll_event> events = std::vector<epoll_event>(FirstEventBuffer);
    quint64 serial = 0;
    int watched = 0;
    Counters counters;
};

EpollEventDispatcher::EpollEventDispatcher(QObject *parent)
    : QAbstractEventDispatcher(parent)
    , d(std::make_unique<Private>()) {
    d->epoll = epoll_create1(EPOLL_CLOEXEC);
    d->wakeFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->epoll < 0 || d->wakeFd < 0) {
        qErrnoWarning("EpollEventDispatcher: cannot create the epoll set or the eventfd");
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = WakeUpTag;
    if (epoll_ctl(d->epoll, EPOLL_CTL_ADD, d->wakeFd, &ev) < 0) {
        qErrnoWarning("EpollEventDispatcher: cannot watch the eventfd");
        close(d->wakeFd);
        d->wakeFd = -1;
    }
}

EpollEventDispatcher::~EpollEventDispatcher() {
    if (d->epoll >= 0)
        close(d->epoll);
    if (d->wakeFd >= 0)
        close(d->wakeFd);
}

bool EpollEventDispatcher::isValid() const {
    return d->epoll >= 0 && d->wakeFd >= 0;
}

EpollEventDispatcher::Counters EpollEventDispatcher::counters() const {
    return d->counters;
}

int EpollEventDispatcher::watchedSockets() const {
    return d->watched;
}

// The structure of QEventDispatcherUNIX::processEvents(): posted events, then one wait, then
// the ready socket notifiers, then the due timers.
bool EpollEventDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags) {
    d->interrupted.store(false, std::memory_order_relaxed);
    ++d->counters.passes;
    Q_EMIT awake();
    QCoreApplication::sendPostedEvents();

    const bool includeTimers = !(flags & QEventLoop::X11ExcludeTimers);
    const bool includeNotifiers = !(flags & QEventLoop::ExcludeSocketNotifiers);
    // Qt asks its thread data whether events were posted meanwhile; every postEvent() (and a
    // sendPostedEvents() that left some behind) calls wakeUp(), so the flag says the same.
    const bool canWait = (flags & QEventLoop::WaitForMoreEvents) &&
                         !d->interrupted.load(std::memory_order_relaxed) &&
                         !d->wakePending.load(std::memory_order_acquire);
    if (canWait)
        Q_EMIT aboutToBlock();
    if (d->interrupted.load(std::memory_order_relaxed))
        return false;

    qint64 timeoutNs = canWait ? -1 : 0;
    if (canWait && includeTimers)
        timeoutNs = d->timers.waitNs(TimerQueue::now());
    if (includeNotifiers && !d->unpollable.empty())
        timeoutNs = 0;

    int processed = d->wait(includeNotifiers, timeoutNs);
    if (includeNotifiers)
        processed += d->activateSocketNotifiers();
    if (includeTimers) {
        const int fired = d->timers.activate(TimerQueue::now());
        d->counters.timerActivations += quint64(fired);
        processed += fired;
    }
    return processed > 0;
}

// Waits for the eventfd and, unless excluded, the sockets; queues the ready notifiers.
// Returns 1 when woken by wakeUp().
int EpollEventDispatcher::Private::wait(bool includeNotifiers, qint64 timeoutNs) {
    if (epoll < 0 || wakeFd < 0)
        return 0;
    ++counters.waits;
    if (!includeNotifiers) {
        // The sockets stay in the epoll set; ready ones would end the wait at once, so wait
        // for the eventfd alone. Their readiness is level-triggered and keeps.
        pollfd pfd{wakeFd, POLLIN, 0};
        timespec ts = toTimespec(qMax<qint64>(timeoutNs, 0));
        const int n = ppoll(&pfd, 1, timeoutNs < 0 ? nullptr : &ts, nullptr);
        if (n < 0 && errno != EINTR)
            qErrnoWarning("EpollEventDispatcher: ppoll");
        if (n > 0 && (pfd.revents & POLLIN)) {
            drainWakeUp();
            return 1;
        }
        return 0;
    }

    const int n = epollWait(timeoutNs);
    if (n < 0) {
        if (errno != EINTR)
            qErrnoWarning("EpollEventDispatcher: epoll_wait");
        return 0;
    }
    int woken = 0;
    for (int i = 0; i < n; ++i) {
        const epoll_event &ev = events[size_t(i)];
        if (ev.data.u64 == WakeUpTag) {
            drainWakeUp();
            woken = 1;
            continue;
        }
        ++counters.readyEvents;
        queue(int(ev.data.u64), ev.events);
    }
    for (const int fd : unpollable)
        queue(fd, EPOLLIN | EPOLLOUT);
    if (size_t(n) == events.size() && events.size() < MaxEventBuffer)
        events.resize(events.size() * 2);
    return woken;
}

int EpollEventDispatcher::Private::epollWait(qint64 timeoutNs) {
    const int max = int(events.size());
    if (haveEpollPwait2) {
        // Nanoseconds: a precise timer wakes us when it is due, not up to 1 ms later.
        const timespec ts = toTimespec(qMax<qint64>(timeoutNs, 0));
        const int n =
            epoll_pwait2(epoll, events.data(), max, timeoutNs < 0 ? nullptr : &ts, nullptr);
        if (n >= 0 || (errno != ENOSYS && errno != EPERM))
            return n;
        haveEpollPwait2 = false; // kernel before 5.11, or a seccomp filter
    }
    // Milliseconds rounded up: never wake before a timer is due, never spin on a 0 timeout
    // while one is less than a millisecond away.
    int ms = -1;
    if (timeoutNs >= 0)
        ms = int(qMin<qint64>((timeoutNs + NsPerMs - 1) / NsPerMs, INT_MAX));
    return epoll_wait(epoll, events.data(), max, ms);
}

void EpollEventDispatcher::Private::queue(int fd, quint32 ready) {
    if (fd < 0 || size_t(fd) >= sockets.size())
        return;
    Socket &socket = sockets[size_t(fd)];
    for (int type = 0; type < 3; ++type) {
        Slot &slot = socket.slots[type];
        if (slot.notifier && !slot.pending && (ready & Activates[type])) {
            slot.pending = true;
            pending.push_back({fd, type, slot.serial});
        }
    }
}

int EpollEventDispatcher::Private::activateSocketNotifiers() {
    int activated = 0;
    QEvent event(QEvent::SockAct);
    // A notifier's handler may run a nested pass, which drains (and empties) this queue.
    while (pendingHead < pending.size()) {
        const Pending next = pending[pendingHead++];
        Slot &slot = sockets[size_t(next.fd)].slots[next.type];
        if (slot.serial != next.serial)
            continue; // disabled, deleted or re-registered since it was queued
        slot.pending = false;
        QSocketNotifier *notifier = slot.notifier;
        ++activated;
        ++counters.notifierActivations;
        QCoreApplication::sendEvent(notifier, &event);
    }
    pending.clear();
    pendingHead = 0;
    return activated;
}

void EpollEventDispatcher::Private::drainWakeUp() {
    eventfd_t value;
    while (eventfd_read(wakeFd, &value) < 0 && errno == EINTR) {
    }
    // After the read, not before: a wakeUp() in between sees the flag still set and does not
    // write, but its event was posted before it and the next pass sends posted events first.
    wakePending.store(false, std::memory_order_release);
    ++counters.wakeUps;
}

// Brings the descriptor's epoll registration in line with its enabled notifiers. Descriptors
// closed without their notifiers being disabled leave the epoll set by themselves (the kernel
// drops a closed file), and their number may come back as a new socket: so a registration
// that is gone (ENOENT) is added again, one that exists (EEXIST) modified, and a closed
// descriptor (EBADF) is forgotten.
void EpollEventDispatcher::Private::updateInterest(int fd) {
    Socket &socket = sockets[size_t(fd)];
    const bool wasWatched = socket.events || socket.unpollable;
    quint32 want = 0;
    for (int type = 0; type < 3; ++type) {
        if (socket.slots[type].notifier)
            want |= Interest[type];
    }

    if (socket.unpollable) {
        if (!want) {
            socket.unpollable = false;
            unpollable.erase(std::find(unpollable.begin(), unpollable.end(), fd));
        }
    } else if (!want) {
        if (socket.events && epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr) < 0 && errno != ENOENT &&
            errno != EBADF)
            qErrnoWarning("EpollEventDispatcher: epoll_ctl(DEL, %d)", fd);
        socket.events = 0;
    } else {
        epoll_event ev{};
        ev.events = want;
        ev.data.u64 = quint64(fd);
        int op = socket.events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        int rc = epoll_ctl(epoll, op, fd, &ev);
        if (rc < 0 && ((op == EPOLL_CTL_MOD && errno == ENOENT) ||
                       (op == EPOLL_CTL_ADD && errno == EEXIST))) {
            op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
            rc = epoll_ctl(epoll, op, fd, &ev);
        }
        if (rc == 0) {
            socket.events = want;
        } else if (errno == EPERM) {
            socket.events = 0;
            socket.unpollable = true;
            unpollable.push_back(fd);
        } else {
            // EBADF: closed before it was enabled. poll() would say POLLNVAL and Qt would
            // disable the notifier at its next pass; it simply never fires here.
            qWarning("EpollEventDispatcher: cannot watch socket %d: %s", fd, strerror(errno));
            socket.events = 0;
        }
    }
    watched += int(bool(socket.events || socket.unpollable)) - int(wasWatched);
}

void EpollEventDispatcher::registerSocketNotifier(QSocketNotifier *notifier) {
    Q_ASSERT(notifier);
    const qintptr fd = notifier->socket();
    const int type = int(notifier->type());
    if (Q_UNLIKELY(fd < 0 || fd > INT_MAX || type < 0 || type > 2))
        return;
    if (Q_UNLIKELY(notifier->thread() != thread() || thread() != QThread::currentThread())) {
        qWarning("QSocketNotifier: socket notifiers cannot be enabled from another thread");
        return;
    }
    if (size_t(fd) >= d->sockets.size())
        d->sockets.resize(qMax(size_t(fd) + 1, d->sockets.size() * 2));
    Private::Slot &slot = d->sockets[size_t(fd)].slots[type];
    if (slot.notifier && slot.notifier != notifier)
        qWarning("EpollEventDispatcher: multiple socket notifiers for socket %d and type %s",
                 int(fd), typeName(type));
    slot.notifier = notifier;
    slot.serial = ++d->serial;
    slot.pending = false;
    // updateInterest() always tells epoll, even when the interest looks unchanged: the
    // descriptor may be a new socket reusing the number of one closed while its notifier was
    // enabled, which epoll has never seen.
    d->updateInterest(int(fd));
}

void EpollEventDispatcher::unregisterSocketNotifier(QSocketNotifier *notifier) {
    Q_ASSERT(notifier);
    const qintptr fd = notifier->socket();
    const int type = int(notifier->type());
    if (Q_UNLIKELY(fd < 0 || size_t(fd) >= d->sockets.size() || type < 0 || type > 2))
        return;
    if (Q_UNLIKELY(notifier->thread() != thread() || thread() != QThread::currentThread())) {
        qWarning("QSocketNotifier: socket notifier (fd %d) cannot be disabled from another "
                 "thread",
                 int(fd));
        return;
    }
    Private::Slot &slot = d->sockets[size_t(fd)].slots[type];
    if (slot.notifier != notifier) {
        if (slot.notifier)
            qWarning("EpollEventDispatcher: multiple socket notifiers for socket %d and type %s",
                     int(fd), typeName(type));
        return;
    }
    slot = Private::Slot{};
    d->updateInterest(int(fd));
}

void EpollEventDispatcher::registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                                         QObject *object) {
    if (Q_UNLIKELY(timerId < 1 || interval < 0 || !object)) {
        qWarning("EpollEventDispatcher::registerTimer: invalid arguments");
        return;
    }
    if (Q_UNLIKELY(object->thread() != thread() || thread() != QThread::currentThread())) {
        qWarning("EpollEventDispatcher::registerTimer: timers cannot be started from another "
                 "thread");
        return;
    }
    d->timers.add(timerId, interval, timerType, object, TimerQueue::now());
}

bool EpollEventDispatcher::unregisterTimer(int timerId) {
    if (Q_UNLIKELY(timerId < 1))
        return false;
    if (Q_UNLIKELY(thread() != QThread::currentThread())) {
        qWarning("EpollEventDispatcher::unregisterTimer: timers cannot be stopped from another "
                 "thread");
        return false;
    }
    return d->timers.remove(timerId);
}

bool EpollEventDispatcher::unregisterTimers(QObject *object) {
    if (Q_UNLIKELY(!object))
        return false;
    if (Q_UNLIKELY(thread() != QThread::currentThread())) {
        qWarning("EpollEventDispatcher::unregisterTimers: timers cannot be stopped from another "
                 "thread");
        return false;
    }
    return d->timers.removeAll(object);
}

QList<QAbstractEventDispatcher::TimerInfo>
EpollEventDispatcher::registeredTimers(QObject *object) const {
    if (!object)
        return {};
    return d->timers.timersOf(object);
}

int EpollEventDispatcher::remainingTime(int timerId) {
    if (timerId < 1)
        return -1;
    return d->timers.remainingMs(timerId, TimerQueue::now());
}

void EpollEventDispatcher::wakeUp() {
    // One write per burst: the first caller sets the flag, the pass that reads the eventfd
    // clears it.
    if (d->wakePending.load(std::memory_order_relaxed) ||
        d->wakePending.exchange(true, std::memory_order_acq_rel))
        return;
    while (eventfd_write(d->wakeFd, 1) < 0 && errno == EINTR) {
    }
}

void EpollEventDispatcher::interrupt() {
    d->interrupted.store(true, std::memory_order_relaxed);
    wakeUp();
}

bool installEpollDispatcher() {
    if (QCoreApplication::instance() || QCoreApplication::eventDispatcher()) {
        qWarning("installEpollDispatcher: too late, the main thread has an event dispatcher");
        return false;
    }
    auto *dispatcher = new EpollEventDispatcher;
    if (dispatcher->isValid())
        QCoreApplication::setEventDispatcher(dispatcher);
    if (QCoreApplication::eventDispatcher() != dispatcher) {
        delete dispatcher;
        return false;
    }
    return true;
}

bool installEpollDispatcher(QThread *thread) {
    if (!thread || thread->isRunning() || thread->eventDispatcher()) {
        qWarning("installEpollDispatcher: the thread is running or has an event dispatcher");
        return false;
    }
    auto *dispatcher = new EpollEventDispatcher;
    if (dispatcher->isValid())
        thread->setEventDispatcher(dispatcher);
    if (thread->eventDispatcher() != dispatcher) {
        delete dispatcher;
        return false;
    }
    return true;
}

} // namespace lhttp

#else // not Linux: only the installers, which say no.

namespace lhttp {
bool installEpollDispatcher() {
    return false;
}
bool installEpollDispatcher(QThread *) {
    return false;
}
} // namespace lhttp

#endif

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QAbstractEventDispatcher>
#include <QtGlobal>

#include <memory>

class QThread;

namespace lhttp {

// An event dispatcher whose pass costs what is ready, not what is open (Linux only).
//
// Qt 6.4's dispatchers on Linux (glib's and QEventDispatcherUNIX) hand every socket notifier
// to poll() on every pass of the event loop; with thousands of connections that is most of
// the node's time. Here each socket is registered once in an epoll set (level-triggered),
// enabling and disabling a notifier changes that registration, and a pass looks only at the
// sockets epoll reports ready. Timers live in a min-heap; wakeUp() writes an eventfd.
//
// The semantics are those of QEventDispatcherUNIX: a pass sends posted events, waits (unless
// told not to, or interrupted), activates ready socket notifiers (QEvent::SockAct) and then
// due timers, and says whether anything was processed; awake() and aboutToBlock() are
// emitted where Qt emits them; QEventLoop::ExcludeSocketNotifiers leaves ready sockets for a
// later pass and X11ExcludeTimers leaves the timers. TimerQueue (timerqueue.h) lists the timer
// rules.
//
// Install it before the thread's event loop exists: installEpollDispatcher() below.
class EpollEventDispatcher : public QAbstractEventDispatcher {
    Q_OBJECT
public:
    // What the dispatcher did since it was made (read from its own thread).
    struct Counters {
        quint64 passes = 0;              // processEvents() calls
        quint64 waits = 0;               // epoll_wait() (ppoll() when sockets are excluded)
        quint64 readyEvents = 0;         // socket events epoll reported
        quint64 notifierActivations = 0; // QEvent::SockAct sent
        quint64 timerActivations = 0;    // QTimerEvent sent (non-zero intervals)
        quint64 wakeUps = 0;             // passes woken by wakeUp()
    };

    explicit EpollEventDispatcher(QObject *parent = nullptr);
    ~EpollEventDispatcher() override;

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;

    void registerSocketNotifier(QSocketNotifier *notifier) override;
    void unregisterSocketNotifier(QSocketNotifier *notifier) override;

    using QAbstractEventDispatcher::registerTimer;
    void registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                       QObject *object) override;
    bool unregisterTimer(int timerId) override;
    bool unregisterTimers(QObject *object) override;
    QList<TimerInfo> registeredTimers(QObject *object) const override;
    int remainingTime(int timerId) override;

    // Thread-safe. A burst of calls before the loop wakes up costs one eventfd write.
    void wakeUp() override;
    // Thread-safe. The pass in progress returns without waiting (or stops waiting).
    void interrupt() override;

    // False when the epoll set or the eventfd could not be made (out of descriptors): the
    // dispatcher then never waits and never reports a socket.
    bool isValid() const;
    Counters counters() const;
    // Sockets with at least one enabled notifier.
    int watchedSockets() const;

private:
    struct Private;
    const std::unique_ptr<Private> d;
};

// Makes an EpollEventDispatcher the main thread's dispatcher. Call it before the
// QCoreApplication (or QGuiApplication) is constructed; the application takes ownership.
// False (and nothing changed) when an application or a main-thread dispatcher exists already,
// or off Linux. GUI applications should keep Qt's dispatcher: their platform plugin delivers
// window-system events from a dispatcher of its own.
bool installEpollDispatcher();
// The same for a QThread that has not been started. The thread deletes the dispatcher when it
// finishes (a thread never started leaks it, as with QThread::setEventDispatcher()).
bool installEpollDispatcher(QThread *thread);

} // namespace lhttp

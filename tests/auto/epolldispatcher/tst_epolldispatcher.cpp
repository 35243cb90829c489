// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// EpollEventDispatcher (lib/eventloop) on its own. The main thread always runs on it (main()
// below installs it); some cases also run it, or Qt's own dispatcher for comparison, in a
// QThread. Real sockets: socketpair(2) and TCP over loopback.

#include "epolleventdispatcher.h"

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QPointer>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSocketNotifier>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryFile>
#include <QTest>
#include <QThread>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <QSet>

#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace lhttp;

namespace {

EpollEventDispatcher *epoll() {
    return qobject_cast<EpollEventDispatcher *>(QAbstractEventDispatcher::instance());
}

// Two connected, non-blocking stream sockets; closed on destruction.
class SocketPair {
public:
    enum Kind { Unix, Tcp };
    explicit SocketPair(Kind kind = Unix) {
        if (kind == Unix) {
            int fds[2];
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0) {
                local = fds[0];
                peer = fds[1];
            }
            return;
        }
        const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (listener < 0 || bind(listener, reinterpret_cast<sockaddr *>(&address), length) < 0 ||
            listen(listener, 1) < 0 ||
            getsockname(listener, reinterpret_cast<sockaddr *>(&address), &length) < 0) {
            if (listener >= 0)
                close(listener);
            return;
        }
        peer = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (peer >= 0 && connect(peer, reinterpret_cast<sockaddr *>(&address), length) == 0)
            local = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        close(listener);
    }
    SocketPair(const SocketPair &) = delete;
    SocketPair &operator=(const SocketPair &) = delete;
    SocketPair(SocketPair &&other) noexcept
        : local(std::exchange(other.local, -1))
        , peer(std::exchange(other.peer, -1)) {}
    ~SocketPair() { closeBoth(); }

    bool isValid() const { return local >= 0 && peer >= 0; }
    void closeBoth() {
        if (local >= 0)
            close(local);
        if (peer >= 0)
            close(peer);
        local = peer = -1;
    }
    // Makes `local` readable.
    bool send(const char *bytes = "x") const { return writeTo(peer, bytes); }
    static bool writeTo(int fd, const char *bytes) {
        return ::write(fd, bytes, strlen(bytes)) == ssize_t(strlen(bytes));
    }
    // Reads whatever `local` has.
    static qint64 drain(int fd) {
        char buffer[4096];
        qint64 total = 0;
        for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
            total += n;
        return total;
    }

    int local = -1;
    int peer = -1;
};

// Records when its timers fire (elapsed nanoseconds of `clock`), and can kill them or run
// a handler.
class TimerProbe : public QObject {
public:
    QElapsedTimer clock;
    QList<qint64> firedAt;
    QList<int> firedIds;
    bool singleShot = false;
    std::function<void(TimerProbe *, int)> onFire;
    static inline int fires = 0; // over every probe, for deleted ones

protected:
    void timerEvent(QTimerEvent *event) override {
        ++fires;
        firedAt.append(clock.nsecsElapsed());
        firedIds.append(event->timerId());
        if (singleShot)
            killTimer(event->timerId());
        if (onFire)
            onFire(this, event->timerId());
    }
};

// Runs a nested event loop until `done` or `timeoutMs`; true if done. Unlike QTest::qWaitFor,
// which polls with 10 ms sleeps in between, this blocks in the dispatcher, so timer precision
// shows.
bool runUntil(const std::function<bool()> &done, int timeoutMs = 5000) {
    QElapsedTimer clock;
    clock.start();
    QEventLoop loop;
    QTimer poll;
    poll.setTimerType(Qt::PreciseTimer);
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (done() || clock.hasExpired(timeoutMs))
            loop.quit();
    });
    poll.start(1);
    if (!done())
        loop.exec();
    return done();
}

// Per-pass cost with `idle` idle sockets and one active one, on the calling thread's
// dispatcher: `passes` times, make the active socket readable and run one pass.
struct PassCost {
    double nsPerPass = 0;
    double readyPerPass = 0; // socket events epoll reported (ours only)
    int activations = 0;
    bool ok = false;
};

PassCost measurePasses(int idle, int passes) {
    PassCost cost;
    std::vector<SocketPair> pairs;
    pairs.reserve(size_t(idle) + 1);
    std::vector<std::unique_ptr<QSocketNotifier>> notifiers;
    int activations = 0;
    for (int i = 0; i <= idle; ++i) {
        pairs.emplace_back();
        if (!pairs.back().isValid())
            return cost;
        const int fd = pairs.back().local;
        notifiers.push_back(std::make_unique<QSocketNotifier>(fd, QSocketNotifier::Read));
        QObject::connect(notifiers.back().get(), &QSocketNotifier::activated, [&activations, fd] {
            ++activations;
            SocketPair::drain(fd);
        });
    }
    QAbstractEventDispatcher *dispatcher = QAbstractEventDispatcher::instance();
    auto *ours = qobject_cast<EpollEventDispatcher *>(dispatcher);
    const SocketPair &active = pairs[size_t(idle) / 2];
    for (int i = 0; i < 10; ++i) // settle: let both loops see every notifier once
        dispatcher->processEvents(QEventLoop::AllEvents);
    const quint64 readyBefore = ours ? ours->counters().readyEvents : 0;
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < passes; ++i) {
        active.send();
        const int before = activations;
        while (activations == before && !clock.hasExpired(30'000))
            dispatcher->processEvents(QEventLoop::AllEvents);
    }
    cost.nsPerPass = double(clock.nsecsElapsed()) / passes;
    if (ours)
        cost.readyPerPass = double(ours->counters().readyEvents - readyBefore) / passes;
    cost.activations = activations;
    cost.ok = activations == passes;
    return cost;
}

// Raises the soft descriptor limit to the hard one (the many-sockets cases need 10,000).
void raiseDescriptorLimit() {
    rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

rlim_t descriptorLimit() {
    rlimit limit;
    return getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 0;
}

// CPU time a thread has used, from /proc/self/task/TID/schedstat (first field, ns).
qint64 threadCpuNs(pid_t tid) {
    QFile file(QStringLiteral("/proc/self/task/%1/schedstat").arg(tid));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    return file.readAll().split(' ').value(0).toLongLong();
}

} // namespace

class tst_EpollDispatcher : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();

    // timers
    void timerAccuracy_data();
    void timerAccuracy();
    void zeroTimerEveryPass();
    void repeatingTimerDoesNotDrift();
    void missedPeriodsAreSkipped();
    void killTimerInsideTimerEvent();
    void killOtherTimerDueInSamePass();
    void restartTimerInsideTimerEvent();
    void registeredTimers_data();
    void registeredTimers();
    void objectDeletedWithActiveTimers();
    void manyTimersInOrder();
    void timerNotReenteredFromNestedLoop();

    // socket notifiers
    void notifierTypes_data();
    void notifierTypes();
    void changedDuringActivation_data();
    void changedDuringActivation();
    void deletedInOwnActivation();
    void nestedPassActivatesOnce();
    void descriptorClosedWhileRegistered();
    void descriptorReusedWhileStaleNotifierEnabled();
    void regularFileIsAlwaysReady();
    void idleSocketsDoNotCostPerPass();

    // the loop
    void processEventsFlags();
    void awakeAndAboutToBlock();
    void wakeUpFromManyThreads();
    void interruptEndsWait();
    void exitFromAnotherThread();
    void nestedEventLoopInSlot();
    void threadWithTimerAndTcpSocket();
    void webSocketEcho();
    void installRefusesLateCalls();

    // figures for the report; skipped unless LHTTP_EPOLL_MEASURE=1
    void idleConnectionsCpu();
};

void tst_EpollDispatcher::initTestCase() {
    QVERIFY(epoll());
    QVERIFY(epoll()->isValid());
    raiseDescriptorLimit();
}

// ---------------------------------------------------------------------------------- timers

void tst_EpollDispatcher::timerAccuracy_data() {
    QTest::addColumn<Qt::TimerType>("type");
    QTest::addColumn<int>("interval");
    // How early and how late (beyond the interval) Qt allows the timer to fire; the measured
    // lateness also gets scheduling noise on a shared machine.
    QTest::addColumn<int>("earlyMs");
    QTest::addColumn<int>("lateMs");

    QTest::newRow("precise 1 ms") << Qt::PreciseTimer << 1 << 0 << 0;
    QTest::newRow("precise 15 ms") << Qt::PreciseTimer << 15 << 0 << 0;
    QTest::newRow("precise 50 ms") << Qt::PreciseTimer << 50 << 0 << 0;
    QTest::newRow("precise 333 ms") << Qt::PreciseTimer << 333 << 0 << 0;
    QTest::newRow("coarse 19 ms (precise)") << Qt::CoarseTimer << 19 << 0 << 0;
    QTest::newRow("coarse 25 ms") << Qt::CoarseTimer << 25 << 2 << 2;
    QTest::newRow("coarse 100 ms") << Qt::CoarseTimer << 100 << 5 << 5;
    QTest::newRow("coarse 1000 ms") << Qt::CoarseTimer << 1000 << 50 << 50;
    QTest::newRow("very coarse 1000 ms") << Qt::VeryCoarseTimer << 1000 << 500 << 500;
    QTest::newRow("very coarse 1400 ms") << Qt::VeryCoarseTimer << 1400 << 900 << 100;
}

void tst_EpollDispatcher::timerAccuracy() {
    QFETCH(Qt::TimerType, type);
    QFETCH(int, interval);
    QFETCH(int, earlyMs);
    QFETCH(int, lateMs);
    constexpr int NoiseMs = 50; // a busy 2-core machine
    constexpr int Repeats = 3;

    QList<double> lateness;
    for (int i = 0; i < Repeats; ++i) {
        TimerProbe probe;
        probe.singleShot = true;
        probe.clock.start();
        probe.startTimer(interval, type);
        QVERIFY(runUntil([&] { return !probe.firedAt.isEmpty(); }, interval + 3000));
        const qint64 firedNs = probe.firedAt.first();
        QVERIFY2(firedNs >= (qint64(interval) - earlyMs) * 1'000'000,
                 qPrintable(QStringLiteral("fired after %1 ms").arg(firedNs / 1e6)));
        QVERIFY2(firedNs <= (qint64(interval) + lateMs + NoiseMs) * 1'000'000,
                 qPrintable(QStringLiteral("fired after %1 ms").arg(firedNs / 1e6)));
        lateness.append(firedNs / 1e6 - interval);
    }
    qInfo("%s: fired %.3f / %.3f / %.3f ms after the interval", QTest::currentDataTag(),
          lateness[0], lateness[1], lateness[2]);
}

// Zero-interval timers are due on every pass, never make a pass wait, and (as in Qt) do not
// count as "processed", so QCoreApplication::processEvents(flags, ms) does not spin on them.
void tst_EpollDispatcher::zeroTimerEveryPass() {
    auto *dispatcher = epoll();
    TimerProbe probe;
    probe.clock.start();
    const int id = probe.startTimer(0);
    for (int i = 0; i < 5; ++i)
        dispatcher->processEvents(QEventLoop::AllEvents);
    probe.firedAt.clear();
    int processed = 0;
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < 100; ++i)
        processed += dispatcher->processEvents(QEventLoop::WaitForMoreEvents) ? 1 : 0;
    QCOMPARE(probe.firedAt.size(), 100);
    QVERIFY2(clock.elapsed() < 2000, "a pass with a zero timer waited");
    QVERIFY2(processed <= 5, qPrintable(QString::number(processed)));
    probe.killTimer(id);
}

// Each next due time is the previous one plus the interval: a late pass does not push the
// next fire back. Passes are run by hand, 5 ms after each period.
void tst_EpollDispatcher::repeatingTimerDoesNotDrift() {
    constexpr int Interval = 20;
    constexpr int LateMs = 5;
    TimerProbe probe;
    probe.clock.start();
    const int id = probe.startTimer(Interval, Qt::PreciseTimer);
    int checked = 0;
    for (int k = 1; k <= 10; ++k) {
        const qint64 periodEnd = qint64(k) * Interval * 1'000'000;
        while (probe.clock.nsecsElapsed() < periodEnd + LateMs * 1'000'000)
            QThread::usleep(200);
        const qint64 lateNs = probe.clock.nsecsElapsed() - periodEnd;
        epoll()->processEvents(QEventLoop::AllEvents);
        QCOMPARE(probe.firedAt.size(), k);
        QVERIFY(probe.firedAt.last() >= periodEnd);
        if (lateNs >= (Interval - 2) * 1'000'000)
            break; // overslept a whole period on a busy machine: it skips it, as it should
        const int remaining = epoll()->remainingTime(id);
        const int atMost = Interval - int(lateNs / 1'000'000) + 1;
        QVERIFY2(remaining <= atMost,
                 qPrintable(QStringLiteral("fire %1, %2 ms late: next in %3 ms")
                                .arg(k)
                                .arg(lateNs / 1e6)
                                .arg(remaining)));
        ++checked;
    }
    probe.killTimer(id);
    QVERIFY(checked >= 3);
}

// A handler that blocks for five periods gets one late fire, then the period again: the
// missed periods are skipped, not fired in a burst.
void tst_EpollDispatcher::missedPeriodsAreSkipped() {
    constexpr int Interval = 20;
    TimerProbe probe;
    probe.clock.start();
    probe.onFire = [](TimerProbe *p, int) {
        if (p->firedAt.size() == 1)
            QThread::msleep(5 * Interval + 10);
    };
    const int id = probe.startTimer(Interval, Qt::PreciseTimer);
    QVERIFY(runUntil([&] { return probe.firedAt.size() >= 4; }, 5000));
    probe.killTimer(id);
    const qint64 gap = probe.firedAt[2] - probe.firedAt[1];
    QVERIFY2(gap >= (Interval - 1) * 1'000'000,
             qPrintable(QStringLiteral("fires 2 and 3 %1 ms apart").arg(gap / 1e6)));
}

void tst_EpollDispatcher::killTimerInsideTimerEvent() {
    TimerProbe probe;
    probe.clock.start();
    probe.onFire = [](TimerProbe *p, int id) { p->killTimer(id); };
    probe.startTimer(5, Qt::PreciseTimer);
    probe.startTimer(0);
    QVERIFY(runUntil([&] { return probe.firedAt.size() >= 2; }, 2000));
    QTest::qWait(60);
    QCOMPARE(probe.firedAt.size(), 2);
    QVERIFY(epoll()->registeredTimers(&probe).isEmpty());
}

// Two timers due in one pass; whichever fires first kills the other, which must not fire.
void tst_EpollDispatcher::killOtherTimerDueInSamePass() {
    TimerProbe a;
    TimerProbe b;
    a.clock.start();
    b.clock.start();
    a.singleShot = true;
    b.singleShot = true;
    const int idA = a.startTimer(5, Qt::PreciseTimer);
    const int idB = b.startTimer(5, Qt::PreciseTimer);
    a.onFire = [&](TimerProbe *, int) { b.killTimer(idB); };
    b.onFire = [&](TimerProbe *, int) { a.killTimer(idA); };
    QThread::msleep(20); // both are due
    epoll()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(a.firedAt.size() + b.firedAt.size(), 1);
    QTest::qWait(30);
    QCOMPARE(a.firedAt.size() + b.firedAt.size(), 1);
    QVERIFY(epoll()->registeredTimers(&a).isEmpty());
    QVERIFY(epoll()->registeredTimers(&b).isEmpty());
}

// Killing a timer and starting another in its handler (Qt hands the freed id out again): the
// new timer fires on its own schedule, the old one never again.
void tst_EpollDispatcher::restartTimerInsideTimerEvent() {
    TimerProbe probe;
    probe.clock.start();
    int first = 0;
    int second = 0;
    probe.onFire = [&](TimerProbe *p, int id) {
        if (id == first && second == 0) {
            p->killTimer(id);
            second = p->startTimer(30, Qt::PreciseTimer);
        }
    };
    first = probe.startTimer(10, Qt::PreciseTimer);
    QVERIFY(runUntil([&] { return probe.firedAt.size() >= 3; }, 2000));
    probe.killTimer(second);
    qInfo("first id %d, second id %d; fired at %.3f, %.3f, %.3f ms", first, second,
          probe.firedAt[0] / 1e6, probe.firedAt[1] / 1e6, probe.firedAt[2] / 1e6);
    // The first timer once; then the second, started at (or after) the first fire, every 30 ms.
    QVERIFY(probe.firedAt[1] - probe.firedAt[0] >= 30'000'000);
    QVERIFY(probe.firedAt[2] - probe.firedAt[0] >= 60'000'000);
}

void tst_EpollDispatcher::registeredTimers_data() {
    QTest::addColumn<Qt::TimerType>("type");
    QTest::addColumn<int>("interval");
    QTest::addColumn<Qt::TimerType>("expectedType");
    QTest::addColumn<int>("expectedInterval");
    QTest::addColumn<int>("maxRemaining");

    QTest::newRow("precise") << Qt::PreciseTimer << 50 << Qt::PreciseTimer << 50 << 50;
    QTest::newRow("precise 0") << Qt::PreciseTimer << 0 << Qt::PreciseTimer << 0 << 0;
    QTest::newRow("coarse") << Qt::CoarseTimer << 100 << Qt::CoarseTimer << 100 << 105;
    QTest::newRow("coarse 10 is precise") << Qt::CoarseTimer << 10 << Qt::PreciseTimer << 10 << 10;
    QTest::newRow("coarse 30 s is very coarse")
        << Qt::CoarseTimer << 30'000 << Qt::VeryCoarseTimer << 30'000 << 30'500;
    QTest::newRow("very coarse") << Qt::VeryCoarseTimer << 2000 << Qt::VeryCoarseTimer << 2000
                                 << 2500;
    QTest::newRow("very coarse, whole seconds")
        << Qt::VeryCoarseTimer << 2400 << Qt::VeryCoarseTimer << 2000 << 2500;
}

void tst_EpollDispatcher::registeredTimers() {
    QFETCH(Qt::TimerType, type);
    QFETCH(int, interval);
    QFETCH(Qt::TimerType, expectedType);
    QFETCH(int, expectedInterval);
    QFETCH(int, maxRemaining);

    QObject object;
    const int id = object.startTimer(interval, type);
    QVERIFY(id > 0);
    const auto timers = epoll()->registeredTimers(&object);
    QCOMPARE(timers.size(), 1);
    QCOMPARE(timers[0].timerId, id);
    QCOMPARE(timers[0].timerType, expectedType);
    QCOMPARE(timers[0].interval, expectedInterval);
    const int remaining = epoll()->remainingTime(id);
    QVERIFY2(remaining >= 0 && remaining <= maxRemaining, qPrintable(QString::number(remaining)));
    object.killTimer(id);
    QVERIFY(epoll()->registeredTimers(&object).isEmpty());
    QCOMPARE(epoll()->remainingTime(id), -1);
}

// Deletes itself in its first QTimerEvent, with more of its timers due in the same pass.
class SelfDeletingProbe : public TimerProbe {
protected:
    void timerEvent(QTimerEvent *) override {
        ++fires;
        delete this;
    }
};

// Objects deleted in the middle of a pass — by another timer's handler, by their own, or
// with deleteLater() — get no QTimerEvent after that (ASan checks the "never touched").
void tst_EpollDispatcher::objectDeletedWithActiveTimers() {
    TimerProbe::fires = 0;
    auto *victim = new TimerProbe;
    auto *suicidal = new SelfDeletingProbe;
    auto *later = new TimerProbe;
    QPointer<TimerProbe> laterAlive = later;
    TimerProbe killer;
    killer.onFire = [&](TimerProbe *p, int id) {
        p->killTimer(id);
        delete victim;
    };
    later->onFire = [](TimerProbe *p, int) { p->deleteLater(); };
    killer.startTimer(1, Qt::PreciseTimer); // due first
    for (int i = 0; i < 3; ++i) {
        victim->startTimer(2, Qt::PreciseTimer);
        suicidal->startTimer(2, Qt::PreciseTimer);
        later->startTimer(2, Qt::PreciseTimer);
    }
    QThread::msleep(10); // all of them due
    epoll()->processEvents(QEventLoop::AllEvents);
    // killer once, suicidal once (then gone), later three times (deleteLater is deferred)
    QCOMPARE(TimerProbe::fires, 1 + 1 + 3);
    QTRY_VERIFY(laterAlive.isNull());
    QTest::qWait(20);
    QCOMPARE(TimerProbe::fires, 5);
}

// 10,000 timers: each fires once, never early, in the order of its due time.
void tst_EpollDispatcher::manyTimersInOrder() {
    constexpr int Count = 10'000;
    TimerProbe probe;
    probe.singleShot = true;
    probe.clock.start();
    // Each timer's due time lies between these two: the clock read just before and just after
    // its startTimer().
    QHash<int, std::pair<qint64, qint64>> due;
    QSet<int> killed;
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < Count; ++i) {
        const qint64 interval = qint64((quint64(i) * 7919) % 300) * 1'000'000;
        const qint64 before = probe.clock.nsecsElapsed();
        const int id = probe.startTimer(int(interval / 1'000'000), Qt::PreciseTimer);
        due.insert(id, {before + interval, probe.clock.nsecsElapsed() + interval});
        if (i % 7 == 0)
            killed.insert(id);
    }
    const double registerMs = clock.nsecsElapsed() / 1e6;
    for (const int id : std::as_const(killed)) { // never fire
        probe.killTimer(id);
        due.remove(id);
    }
    QVERIFY(runUntil([&] { return probe.firedIds.size() >= due.size(); }, 10'000));
    QTest::qWait(20);
    QCOMPARE(probe.firedIds.size(), due.size());
    QCOMPARE(QSet<int>(probe.firedIds.cbegin(), probe.firedIds.cend()).size(), due.size());
    qint64 latestEarliest = 0; // of the timers fired so far, the latest "due no earlier than"
    for (int i = 0; i < probe.firedIds.size(); ++i) {
        const int id = probe.firedIds[i];
        QVERIFY(!killed.contains(id));
        const auto [earliest, latest] = due.value(id);
        QVERIFY2(probe.firedAt[i] >= earliest, "fired early");
        // A timer fired after another cannot have been due before it.
        QVERIFY2(latest >= latestEarliest,
                 qPrintable(QStringLiteral("timer %1 out of order").arg(i)));
        latestEarliest = qMax(latestEarliest, earliest);
    }
    qInfo("%d timers registered in %.1f ms, all fired in order", Count, registerMs);
}

// A repeating timer whose handler runs a nested event loop is not fired again inside it (as
// Qt), and afterwards does not make up for the periods it spent there.
void tst_EpollDispatcher::timerNotReenteredFromNestedLoop() {
    TimerProbe probe;
    probe.clock.start();
    int firesDuringNested = -1;
    probe.onFire = [&](TimerProbe *p, int) {
        if (p->firedAt.size() != 1)
            return;
        QEventLoop nested;
        QTimer::singleShot(100, Qt::PreciseTimer, &nested, &QEventLoop::quit);
        nested.exec();
        firesDuringNested = int(p->firedAt.size()) - 1;
    };
    const int id = probe.startTimer(10, Qt::PreciseTimer);
    QVERIFY(runUntil([&] { return probe.firedAt.size() >= 3; }, 3000));
    probe.killTimer(id);
    QCOMPARE(firesDuringNested, 0);
    // No burst after the nested loop (10 ms, less the second fire's lateness).
    const qint64 gap = probe.firedAt[2] - probe.firedAt[1];
    QVERIFY2(gap >= 5'000'000, qPrintable(QStringLiteral("%1 ms").arg(gap / 1e6)));
}

// ------------------------------------------------------------------------- socket notifiers

void tst_EpollDispatcher::notifierTypes_data() {
    QTest::addColumn<QSocketNotifier::Type>("type");
    QTest::newRow("read") << QSocketNotifier::Read;
    QTest::newRow("write") << QSocketNotifier::Write;
    QTest::newRow("exception (TCP urgent data)") << QSocketNotifier::Exception;
}

void tst_EpollDispatcher::notifierTypes() {
    QFETCH(QSocketNotifier::Type, type);
    SocketPair pair(SocketPair::Tcp);
    QVERIFY(pair.isValid());
    QSocketNotifier notifier(pair.local, type);
    QSignalSpy spy(&notifier, &QSocketNotifier::activated);
    connect(&notifier, &QSocketNotifier::activated, this,
            [&](QSocketDescriptor fd, QSocketNotifier::Type activated) {
                QCOMPARE(int(fd), pair.local);
                QCOMPARE(activated, type);
                if (type == QSocketNotifier::Read) {
                    SocketPair::drain(fd);
                } else if (type == QSocketNotifier::Exception) {
                    char urgent;
                    QCOMPARE(recv(fd, &urgent, 1, MSG_OOB), 1);
                    QCOMPARE(urgent, '!');
                } else {
                    notifier.setEnabled(false);
                }
            });
    for (int i = 0; i < 3; ++i)
        epoll()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(spy.size(), type == QSocketNotifier::Write ? 1 : 0);
    if (type == QSocketNotifier::Read)
        QVERIFY(pair.send("hello"));
    if (type == QSocketNotifier::Exception)
        QCOMPARE(::send(pair.peer, "!", 1, MSG_OOB), ssize_t(1));
    QTRY_COMPARE(spy.size(), 1);
    // handled: level-triggered, but nothing is left
    for (int i = 0; i < 5; ++i)
        epoll()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(spy.size(), 1);
}

// Four sockets are ready in one pass; the first notifier activated changes the three others.
// None of them may be activated later in that pass, whatever the change.
void tst_EpollDispatcher::changedDuringActivation_data() {
    QTest::addColumn<QString>("change");
    QTest::newRow("disabled") << QStringLiteral("disable");
    QTest::newRow("deleted") << QStringLiteral("delete");
    QTest::newRow("disabled and enabled again") << QStringLiteral("toggle");
    QTest::newRow("moved to another ready socket") << QStringLiteral("setSocket");
    QTest::newRow("socket closed, number reused by a ready one") << QStringLiteral("reuse");
}

void tst_EpollDispatcher::changedDuringActivation() {
    QFETCH(QString, change);
    constexpr int Count = 4;
    std::vector<SocketPair> pairs(Count);
    std::vector<SocketPair> spares;
    std::vector<std::unique_ptr<QSocketNotifier>> notifiers(Count);
    std::vector<std::unique_ptr<QSocketNotifier>> replacements;
    int activations = 0;
    int first = -1;
    QList<int> activated;
    for (int i = 0; i < Count; ++i) {
        QVERIFY(pairs[size_t(i)].isValid());
        notifiers[size_t(i)] =
            std::make_unique<QSocketNotifier>(pairs[size_t(i)].local, QSocketNotifier::Read);
        connect(notifiers[size_t(i)].get(), &QSocketNotifier::activated, this,
                [&, i](QSocketDescriptor fd) {
                    ++activations;
                    activated.append(i);
                    SocketPair::drain(fd);
                    if (first >= 0)
                        return;
                    first = i;
                    for (int j = 0; j < Count; ++j) {
                        if (j == i)
                            continue;
                        QSocketNotifier *other = notifiers[size_t(j)].get();
                        if (change == QLatin1String("disable")) {
                            other->setEnabled(false);
                        } else if (change == QLatin1String("delete")) {
                            notifiers[size_t(j)].reset();
                        } else if (change == QLatin1String("toggle")) {
                            other->setEnabled(false);
                            other->setEnabled(true);
                        } else if (change == QLatin1String("setSocket")) {
                            spares.emplace_back();
                            spares.back().send();
                            other->setSocket(spares.back().local);
                            other->setEnabled(true);
                        } else if (change == QLatin1String("reuse")) {
                            const int oldFd = pairs[size_t(j)].local;
                            notifiers[size_t(j)].reset();
                            pairs[size_t(j)].closeBoth();
                            spares.emplace_back();
                            spares.back().send();
                            if (spares.back().local != oldFd && spares.back().peer != oldFd)
                                qWarning("descriptor %d not reused", oldFd);
                            const int fd = spares.back().local == oldFd ? spares.back().local
                                                                        : spares.back().peer;
                            if (fd == spares.back().peer)
                                SocketPair::writeTo(spares.back().local, "y");
                            replacements.push_back(
                                std::make_unique<QSocketNotifier>(fd, QSocketNotifier::Read));
                            connect(replacements.back().get(), &QSocketNotifier::activated, this,
                                    [&](QSocketDescriptor d) {
                                        ++activations;
                                        SocketPair::drain(d);
                                    });
                        }
                    }
                });
    }
    for (int i = 0; i < 3; ++i)
        epoll()->processEvents(QEventLoop::AllEvents); // nothing to read yet
    QCOMPARE(activations, 0);
    for (const SocketPair &pair : pairs)
        QVERIFY(pair.send());
    epoll()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(activations, 1);
    // The next pass sees them again where they are still enabled and ready.
    epoll()->processEvents(QEventLoop::AllEvents);
    const int expectedLater =
        change == QLatin1String("disable") || change == QLatin1String("delete") ? 0 : Count - 1;
    QCOMPARE(activations, 1 + expectedLater);
}

// A notifier deleted by its own handler; the other ready one in the pass still fires.
void tst_EpollDispatcher::deletedInOwnActivation() {
    SocketPair a;
    SocketPair b;
    int activations = 0;
    for (const SocketPair *pair : {&a, &b}) {
        auto *notifier = new QSocketNotifier(pair->local, QSocketNotifier::Read);
        connect(notifier, &QSocketNotifier::activated, this, [&activations, notifier] {
            ++activations;
            delete notifier;
        });
        QVERIFY(pair->send());
    }
    epoll()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(activations, 2);
    epoll()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(epoll()->watchedSockets(), 0);
}

// A handler runs a nested pass: the notifiers the outer pass had queued are activated once,
// by whichever pass gets to them first.
void tst_EpollDispatcher::nestedPassActivatesOnce() {
    constexpr int Count = 5;
    std::vector<SocketPair> pairs(Count);
    std::vector<std::unique_ptr<QSocketNotifier>> notifiers;
    QList<int> activations(Count, 0);
    bool nested = false;
    for (int i = 0; i < Count; ++i) {
        notifiers.push_back(
            std::make_unique<QSocketNotifier>(pairs[size_t(i)].local, QSocketNotifier::Read));
        connect(notifiers.back().get(), &QSocketNotifier::activated, this,
                [&, i](QSocketDescriptor fd) {
                    ++activations[i];
                    SocketPair::drain(fd);
                    if (!nested) {
                        nested = true;
                        epoll()->processEvents(QEventLoop::AllEvents);
                    }
                });
        QVERIFY(pairs[size_t(i)].send());
    }
    epoll()->processEvents(QEventLoop::AllEvents);
    epoll()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(activations, QList<int>(Count, 1));
}

// The descriptor is closed while its notifier is enabled: epoll forgets it silently. The loop
// must neither spin nor stop; disabling the notifier later is harmless (EBADF), and the number,
// reused for a new socket, works.
void tst_EpollDispatcher::descriptorClosedWhileRegistered() {
    auto pair = std::make_unique<SocketPair>();
    const int fd = pair->local;
    QSocketNotifier stale(fd, QSocketNotifier::Read);
    QVERIFY(pair->send());
    pair->closeBoth();
    const auto before = epoll()->counters();
    QElapsedTimer clock;
    clock.start();
    QEventLoop loop;
    QTimer::singleShot(100, Qt::PreciseTimer, &loop, &QEventLoop::quit);
    loop.exec();
    const quint64 passes = epoll()->counters().passes - before.passes;
    QVERIFY2(passes < 20, qPrintable(QStringLiteral("%1 passes in 100 ms").arg(passes)));
    QVERIFY(clock.elapsed() < 1000);
    stale.setEnabled(false);

    SocketPair reused;
    QCOMPARE(reused.local, fd);
    QSocketNotifier fresh(reused.local, QSocketNotifier::Read);
    QSignalSpy spy(&fresh, &QSocketNotifier::activated);
    connect(&fresh, &QSocketNotifier::activated, this,
            [](QSocketDescriptor d) { SocketPair::drain(d); });
    QVERIFY(reused.send());
    QTRY_COMPARE(spy.size(), 1);
}

// The number comes back as a new socket while the old notifier (Read) is still enabled; a new
// notifier of another type on it must be registered with epoll all the same.
void tst_EpollDispatcher::descriptorReusedWhileStaleNotifierEnabled() {
    auto pair = std::make_unique<SocketPair>();
    const int fd = pair->local;
    auto stale = std::make_unique<QSocketNotifier>(fd, QSocketNotifier::Read);
    pair->closeBoth();
    epoll()->processEvents(QEventLoop::AllEvents);
    SocketPair reused;
    QCOMPARE(reused.local, fd);
    QSocketNotifier writable(fd, QSocketNotifier::Write);
    QSignalSpy spy(&writable, &QSocketNotifier::activated);
    QTRY_VERIFY(spy.size() >= 1);
    writable.setEnabled(false);
    stale.reset();
    QCOMPARE(epoll()->watchedSockets(), 0);
}

// epoll refuses regular files; poll() says they are always ready, and so do we.
void tst_EpollDispatcher::regularFileIsAlwaysReady() {
    QTemporaryFile file;
    QVERIFY(file.open());
    QSocketNotifier notifier(file.handle(), QSocketNotifier::Read);
    QSignalSpy spy(&notifier, &QSocketNotifier::activated);
    epoll()->processEvents(QEventLoop::AllEvents);
    epoll()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(spy.size(), 2);
    notifier.setEnabled(false);
    epoll()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(spy.size(), 2);
}

// The point of it all: a pass with one ready socket costs the same with 10 or 5,000 idle
// ones. Qt's dispatcher (in a thread of its own) is measured too, for the figures.
void tst_EpollDispatcher::idleSocketsDoNotCostPerPass() {
    constexpr int Few = 10;
    constexpr int Many = 5000;
    constexpr int Passes = 2000;
    if (descriptorLimit() < rlim_t(2 * Many + 200))
        QSKIP("needs 10,200 descriptors");

    auto measureIn = [](bool ours, int idle, int passes) {
        PassCost cost;
        std::unique_ptr<QThread> thread(
            QThread::create([&cost, idle, passes] { cost = measurePasses(idle, passes); }));
        if (ours && !installEpollDispatcher(thread.get()))
            return cost;
        thread->start();
        thread->wait();
        return cost;
    };
    const PassCost few = measureIn(true, Few, Passes);
    const PassCost many = measureIn(true, Many, Passes);
    const PassCost qtFew = measureIn(false, Few, Passes / 4);
    const PassCost qtMany = measureIn(false, Many, Passes / 4);
    QVERIFY(few.ok && many.ok && qtFew.ok && qtMany.ok);
    qInfo("one ready socket per pass, %d vs %d idle:", Few, Many);
    qInfo("  epoll: %.1f vs %.1f us per pass, %.2f vs %.2f ready events per pass",
          few.nsPerPass / 1e3, many.nsPerPass / 1e3, few.readyPerPass, many.readyPerPass);
    qInfo("  Qt's:  %.1f vs %.1f us per pass", qtFew.nsPerPass / 1e3, qtMany.nsPerPass / 1e3);
    QVERIFY(many.readyPerPass < 1.5);
    QVERIFY2(many.nsPerPass < 4 * few.nsPerPass + 20'000, "a pass costs what is open");
}

// ---------------------------------------------------------------------------------- the loop

void tst_EpollDispatcher::processEventsFlags() {
    auto *dispatcher = epoll();
    SocketPair pair;
    QSocketNotifier notifier(pair.local, QSocketNotifier::Read);
    QSignalSpy spy(&notifier, &QSocketNotifier::activated);
    connect(&notifier, &QSocketNotifier::activated, this,
            [](QSocketDescriptor fd) { SocketPair::drain(fd); });
    QVERIFY(pair.send());

    // ExcludeSocketNotifiers defers the ready socket, without spinning on it while waiting.
    dispatcher->processEvents(QEventLoop::ExcludeSocketNotifiers);
    QCOMPARE(spy.size(), 0);
    TimerProbe probe;
    probe.singleShot = true;
    probe.clock.start();
    probe.startTimer(50, Qt::PreciseTimer);
    QElapsedTimer clock;
    clock.start();
    int passes = 0;
    while (probe.firedAt.isEmpty() && !clock.hasExpired(2000)) {
        dispatcher->processEvents(QEventLoop::ExcludeSocketNotifiers |
                                  QEventLoop::WaitForMoreEvents);
        ++passes;
    }
    QVERIFY(!probe.firedAt.isEmpty());
    QVERIFY2(passes < 10, qPrintable(QStringLiteral("%1 passes: spinning").arg(passes)));
    QCOMPARE(spy.size(), 0);
    QVERIFY(dispatcher->processEvents(QEventLoop::AllEvents));
    QCOMPARE(spy.size(), 1);

    // X11ExcludeTimers leaves due timers for a later pass.
    const int id = probe.startTimer(0);
    probe.firedAt.clear();
    dispatcher->processEvents(QEventLoop::X11ExcludeTimers);
    QCOMPARE(probe.firedAt.size(), 0);
    dispatcher->processEvents(QEventLoop::AllEvents);
    QCOMPARE(probe.firedAt.size(), 1);
    QVERIFY(epoll()->registeredTimers(&probe).isEmpty()); // it was single-shot
    Q_UNUSED(id);
}

void tst_EpollDispatcher::awakeAndAboutToBlock() {
    auto *dispatcher = epoll();
    QSignalSpy awake(dispatcher, &QAbstractEventDispatcher::awake);
    QSignalSpy aboutToBlock(dispatcher, &QAbstractEventDispatcher::aboutToBlock);
    dispatcher->processEvents(QEventLoop::AllEvents);
    QCOMPARE(awake.size(), 1);
    QCOMPARE(aboutToBlock.size(), 0); // does not wait
    TimerProbe probe;
    probe.singleShot = true;
    probe.startTimer(10, Qt::PreciseTimer);
    dispatcher->processEvents(QEventLoop::WaitForMoreEvents);
    QCOMPARE(awake.size(), 2);
    QCOMPARE(aboutToBlock.size(), 1);
    // Posted events pending: Qt does not block, and does not say it will.
    QCoreApplication::postEvent(&probe, new QEvent(QEvent::User));
    QCoreApplication::postEvent(&probe, new QEvent(QEvent::User));
    dispatcher->processEvents(QEventLoop::WaitForMoreEvents);
    QCOMPARE(aboutToBlock.size(), 1);
}

// Eight threads post 160,000 events while the loop waits: every one arrives, and bursts cost
// far fewer eventfd wake-ups than events.
void tst_EpollDispatcher::wakeUpFromManyThreads() {
    constexpr int Threads = 8;
    constexpr int PerThread = 20'000;
    class Counter : public QObject {
    public:
        std::atomic<int> received{0};
        bool event(QEvent *e) override {
            if (e->type() != QEvent::User)
                return QObject::event(e);
            ++received;
            return true;
        }
    } counter;
    const auto before = epoll()->counters();
    std::vector<std::thread> posters;
    for (int t = 0; t < Threads; ++t) {
        posters.emplace_back([&counter] {
            for (int i = 0; i < PerThread; ++i) {
                QCoreApplication::postEvent(&counter, new QEvent(QEvent::User));
                if (i % 1000 == 0)
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
        });
    }
    const bool all = runUntil([&] { return counter.received == Threads * PerThread; }, 60'000);
    for (std::thread &t : posters)
        t.join();
    QVERIFY2(all, qPrintable(QString::number(counter.received)));
    const auto after = epoll()->counters();
    qInfo("%d events from %d threads: %llu passes, %llu eventfd wake-ups", Threads * PerThread,
          Threads, after.passes - before.passes, after.wakeUps - before.wakeUps);
}

void tst_EpollDispatcher::interruptEndsWait() {
    auto *dispatcher = epoll();
    QObject keeper;
    keeper.startTimer(10'000); // something to wait for, far away
    std::thread interrupter([dispatcher] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        dispatcher->interrupt();
    });
    QElapsedTimer clock;
    clock.start();
    while (clock.elapsed() < 90) // anything pending returns early; wait for the interrupt
        dispatcher->processEvents(QEventLoop::WaitForMoreEvents);
    const qint64 waited = clock.elapsed();
    interrupter.join();
    QVERIFY2(waited < 2000, qPrintable(QString::number(waited)));

    // interrupt() before the pass: it does not wait either.
    dispatcher->interrupt();
    clock.restart();
    dispatcher->processEvents(QEventLoop::WaitForMoreEvents);
    QVERIFY(clock.elapsed() < 1000);
}

void tst_EpollDispatcher::exitFromAnotherThread() {
    QEventLoop loop;
    std::thread quitter([&loop] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        loop.exit(7);
    });
    QElapsedTimer clock;
    clock.start();
    const int code = loop.exec();
    quitter.join();
    QCOMPARE(code, 7);
    QVERIFY(clock.elapsed() < 2000);
}

// exec() inside a slot: sockets and timers keep working in the nested loop, and the outer one
// carries on afterwards.
void tst_EpollDispatcher::nestedEventLoopInSlot() {
    SocketPair pair;
    QSocketNotifier notifier(pair.local, QSocketNotifier::Read);
    int reads = 0;
    connect(&notifier, &QSocketNotifier::activated, this, [&](QSocketDescriptor fd) {
        ++reads;
        SocketPair::drain(fd);
    });
    int nestedTicks = 0;
    bool nestedDone = false;
    QTimer outer;
    outer.setSingleShot(true);
    connect(&outer, &QTimer::timeout, this, [&] {
        QEventLoop nested;
        QTimer tick;
        connect(&tick, &QTimer::timeout, this, [&] {
            ++nestedTicks;
            pair.send();
            if (nestedTicks == 5)
                nested.quit();
        });
        tick.start(5);
        nested.exec();
        nestedDone = true;
    });
    outer.start(1);
    QTRY_VERIFY(nestedDone);
    QCOMPARE(nestedTicks, 5);
    QTRY_COMPARE(reads, 5);
    pair.send();
    QTRY_COMPARE(reads, 6);
}

// A QThread given our dispatcher before start(): a QTimer and a QTcpSocket live there and
// talk to a QTcpServer on the main thread.
void tst_EpollDispatcher::threadWithTimerAndTcpSocket() {
    QTcpServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost));
    connect(&server, &QTcpServer::newConnection, this, [&] {
        QTcpSocket *peer = server.nextPendingConnection();
        connect(peer, &QTcpSocket::readyRead, peer, [peer] { peer->write(peer->readAll()); });
        connect(peer, &QTcpSocket::disconnected, peer, &QObject::deleteLater);
    });

    QThread thread;
    QVERIFY(installEpollDispatcher(&thread));
    QVERIFY(qobject_cast<EpollEventDispatcher *>(thread.eventDispatcher()));
    auto *worker = new QObject;
    worker->moveToThread(&thread);
    connect(&thread, &QThread::finished, worker, &QObject::deleteLater);
    std::atomic<bool> onOurs{false};
    std::atomic<int> ticks{0};
    std::atomic<bool> echoed{false};
    const quint16 port = server.serverPort();
    // A running timer moved from this thread's dispatcher to the other's: Qt asks the first
    // for registeredTimers(), unregisters them and registers them again over there.
    std::atomic<int> movedTicks{0};
    auto *moved = new QTimer;
    connect(moved, &QTimer::timeout, moved, [&movedTicks] { ++movedTicks; });
    moved->start(10);
    moved->moveToThread(&thread);
    connect(&thread, &QThread::finished, moved, &QObject::deleteLater);
    // Posted before start(): it waits in the thread's queue, and starting the thread orders it
    // before the call also for ThreadSanitizer, which cannot see the locking of Qt's queue.
    QMetaObject::invokeMethod(worker, [&, worker, port] {
        onOurs =
            qobject_cast<EpollEventDispatcher *>(QAbstractEventDispatcher::instance()) != nullptr;
        auto *timer = new QTimer(worker);
        QObject::connect(timer, &QTimer::timeout, worker, [&] { ++ticks; });
        timer->start(10);
        auto *socket = new QTcpSocket(worker);
        auto received = std::make_shared<QByteArray>();
        QObject::connect(socket, &QTcpSocket::connected, worker,
                         [socket] { socket->write("ping from a thread"); });
        QObject::connect(socket, &QTcpSocket::readyRead, worker, [&, socket, received] {
            received->append(socket->readAll());
            if (*received == "ping from a thread")
                echoed = true;
        });
        socket->connectToHost(QHostAddress::LocalHost, port);
    });
    thread.start();
    QTRY_VERIFY(echoed.load());
    QTRY_VERIFY(ticks.load() >= 5);
    QTRY_VERIFY(movedTicks.load() >= 5);
    QVERIFY(onOurs.load());
    thread.quit();
    QVERIFY(thread.wait(5000));
}

// QWebSocketServer and QWebSocket, both on this dispatcher: text in order, a large binary
// message, and the close handshake.
void tst_EpollDispatcher::webSocketEcho() {
    constexpr int Messages = 200;
    QWebSocketServer server(QStringLiteral("echo"), QWebSocketServer::NonSecureMode);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QPointer<QWebSocket> serverSide;
    connect(&server, &QWebSocketServer::newConnection, this, [&] {
        QWebSocket *peer = server.nextPendingConnection();
        serverSide = peer;
        connect(peer, &QWebSocket::textMessageReceived, peer,
                [peer](const QString &text) { peer->sendTextMessage(text); });
        connect(peer, &QWebSocket::binaryMessageReceived, peer,
                [peer](const QByteArray &bytes) { peer->sendBinaryMessage(bytes); });
        connect(peer, &QWebSocket::disconnected, peer, &QObject::deleteLater);
    });

    QWebSocket client;
    QStringList texts;
    QByteArray binary;
    connect(&client, &QWebSocket::textMessageReceived, this,
            [&](const QString &text) { texts.append(text); });
    connect(&client, &QWebSocket::binaryMessageReceived, this,
            [&](const QByteArray &bytes) { binary = bytes; });
    QSignalSpy connected(&client, &QWebSocket::connected);
    QSignalSpy disconnected(&client, &QWebSocket::disconnected);
    client.open(server.serverUrl());
    QTRY_COMPARE(connected.size(), 1);
    for (int i = 0; i < Messages; ++i)
        client.sendTextMessage(QStringLiteral("message %1").arg(i));
    QByteArray big(256 * 1024, '\0');
    for (int i = 0; i < big.size(); ++i)
        big[i] = char(i * 31);
    client.sendBinaryMessage(big);
    QTRY_COMPARE(texts.size(), Messages);
    for (int i = 0; i < Messages; ++i)
        QCOMPARE(texts[i], QStringLiteral("message %1").arg(i));
    QTRY_COMPARE(binary.size(), big.size());
    QCOMPARE(binary, big);
    client.close();
    QTRY_COMPARE(disconnected.size(), 1);
    QTRY_VERIFY(serverSide.isNull());
}

void tst_EpollDispatcher::installRefusesLateCalls() {
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("too late")));
    QVERIFY(!installEpollDispatcher());
    QThread thread;
    QVERIFY(installEpollDispatcher(&thread));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("has an event")));
    QVERIFY(!installEpollDispatcher(&thread));
    // A thread deletes its dispatcher when it finishes; one never started would leak it.
    thread.start();
    thread.quit();
    QVERIFY(thread.wait(5000));
}

// 5,000 idle loopback connections (QTcpSocket, read notifiers enabled) in one thread with a
// 20 Hz ticker (as the Server's), one 16-byte message a second to one of them: the thread's
// CPU time over LHTTP_EPOLL_MEASURE seconds, on Qt's dispatcher and on ours.
void tst_EpollDispatcher::idleConnectionsCpu() {
    const int seconds = qEnvironmentVariableIntValue("LHTTP_EPOLL_MEASURE");
    if (seconds <= 0)
        QSKIP("set LHTTP_EPOLL_MEASURE=<seconds> for the figures");
    constexpr int Connections = 5000;
    if (descriptorLimit() < rlim_t(2 * Connections + 200))
        QSKIP("needs 10,200 descriptors");

    for (const bool ours : {false, true}) {
        std::vector<SocketPair> pairs;
        pairs.reserve(Connections);
        for (int i = 0; i < Connections; ++i) {
            pairs.emplace_back(SocketPair::Tcp);
            QVERIFY(pairs.back().isValid());
        }
        QThread thread;
        if (ours)
            QVERIFY(installEpollDispatcher(&thread));
        auto *holder = new QObject;
        holder->moveToThread(&thread);
        connect(&thread, &QThread::finished, holder, &QObject::deleteLater);
        std::atomic<pid_t> tid{0};
        std::atomic<int> received{0};
        std::atomic<int> ticks{0};
        // Posted before start(), as in threadWithTimerAndTcpSocket().
        QMetaObject::invokeMethod(holder, [&, holder] {
            tid = gettid();
            for (const SocketPair &pair : pairs) {
                auto *socket = new QTcpSocket(holder);
                socket->setSocketDescriptor(pair.local);
                QObject::connect(socket, &QTcpSocket::readyRead, holder,
                                 [&, socket] { received += int(socket->readAll().size()); });
            }
            auto *ticker = new QTimer(holder);
            QObject::connect(ticker, &QTimer::timeout, holder, [&] { ++ticks; });
            ticker->start(50);
        });
        thread.start();
        QTRY_VERIFY(ticks.load() > 0);
        QTest::qWait(500);
        const qint64 cpuBefore = threadCpuNs(tid);
        QElapsedTimer clock;
        clock.start();
        for (int s = 0; s < seconds; ++s) {
            const SocketPair &pair =
                pairs[size_t(QRandomGenerator::global()->bounded(Connections))];
            QCOMPARE(::write(pair.peer, "0123456789abcdef", 16), ssize_t(16));
            QTest::qWait(1000);
        }
        const qint64 cpuNs = threadCpuNs(tid) - cpuBefore;
        const double wallS = clock.nsecsElapsed() / 1e9;
        QCOMPARE(received.load(), 16 * seconds);
        qInfo("%s: %d idle connections, 20 Hz ticker, 1 msg/s: loop thread %.1f ms CPU in %.1f s "
              "= %.2f%% of a core",
              ours ? "epoll" : "Qt's ", Connections, cpuNs / 1e6, wallS,
              100.0 * cpuNs / 1e9 / wallS);
        thread.quit();
        QVERIFY(thread.wait(10'000));
        for (SocketPair &pair : pairs)
            pair.local = -1; // the QTcpSockets closed them
    }
}

int main(int argc, char *argv[]) {
    // LHTTP_EVENT_LOOP=epoll may have installed it already (common/eventloopswitch.cpp).
    if (!qobject_cast<EpollEventDispatcher *>(QAbstractEventDispatcher::instance()) &&
        !installEpollDispatcher())
        return 2;
    QCoreApplication app(argc, argv);
    tst_EpollDispatcher test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_epolldispatcher.moc"

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

// Hand-offs between threads through Qt's event queue, visible to ThreadSanitizer (private).
//
// A posted event or a queued call orders what the posting thread did before it with what the
// receiving thread does when it runs, through locks and atomics inside libQt6Core (the posted
// event list's QMutex, QSemaphore for blocking calls). Debian's Qt is not built with
// ThreadSanitizer, so those are invisible to it: TSan sees only the memory accesses on both
// sides and reports the hand-off as a race (Qt's inline QMutex in lhttp's own code is
// annotated, qtsan_impl.h; the out-of-line locking in libQt6Core is not). These helpers tell
// TSan about the ordering Qt gives (__tsan_release before the hand-off, __tsan_acquire where it
// arrives); in other builds they are no-ops and invokeIn() is QMetaObject::invokeMethod().

#include <QMetaObject>
#include <QObject>

#include <type_traits>
#include <utility>

#if defined(__SANITIZE_THREAD__)
#define LHTTP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LHTTP_TSAN 1
#endif
#endif
#ifdef LHTTP_TSAN
extern "C" void __tsan_acquire(void *addr);
extern "C" void __tsan_release(void *addr);
#endif

namespace lhttp {

inline void tsanRelease([[maybe_unused]] const void *addr) {
#ifdef LHTTP_TSAN
    __tsan_release(const_cast<void *>(addr));
#endif
}
inline void tsanAcquire([[maybe_unused]] const void *addr) {
#ifdef LHTTP_TSAN
    __tsan_acquire(const_cast<void *>(addr));
#endif
}

#ifdef LHTTP_TSAN
// The functor Qt keeps for a queued call, synchronised on its own address (reading a member
// before the acquire would itself be a race): released each time it is built, its last move
// being into Qt's slot object, so its construction is covered; acquired before it runs and
// before it is destroyed (in whichever thread Qt drops it); released after it ran, also on
// `done` for a caller that waits.
template <typename Work> class TsanHandOff {
public:
    TsanHandOff(Work work, const void *done)
        : m_work(std::move(work))
        , m_done(done) {
        tsanRelease(this);
    }
    TsanHandOff(TsanHandOff &&other) noexcept
        : m_work(std::move(other.m_work))
        , m_done(other.m_done) {
        tsanRelease(this);
    }
    TsanHandOff(const TsanHandOff &) = delete;
    TsanHandOff &operator=(const TsanHandOff &) = delete;
    ~TsanHandOff() { tsanAcquire(this); }
    void operator()() {
        tsanAcquire(this);
        m_work();
        if (m_done) // before the release on this: no member is read after it
            tsanRelease(m_done);
        tsanRelease(this);
    }

private:
    Work m_work;
    const void *m_done;
};
#endif

// Runs `work` in `context`'s thread: QMetaObject::invokeMethod(context, work, type), for
// Qt::QueuedConnection and Qt::BlockingQueuedConnection from another thread. Under TSan,
// everything the caller did before happens before `work`, and (blocking) `work` before what
// the caller does after.
template <typename Work> void invokeIn(QObject *context, Work &&work, Qt::ConnectionType type) {
#ifdef LHTTP_TSAN
    // Only a blocking call's caller waits for `work`: the others must not look ordered after it.
    char done = 0;
    const bool blocking = type == Qt::BlockingQueuedConnection;
    QMetaObject::invokeMethod(
        context,
        TsanHandOff<std::decay_t<Work>>(std::forward<Work>(work), blocking ? &done : nullptr),
        type);
    if (blocking)
        tsanAcquire(&done);
#else
    QMetaObject::invokeMethod(context, std::forward<Work>(work), type);
#endif
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QList>
#include <QMap>
#include <QString>
#include <QtGlobal>

#include <memory>

#include <vector>

namespace bench {

// Monotonic nanoseconds (CLOCK_MONOTONIC): one time base for every thread of this process,
// so a stamp written by a publisher thread can be subtracted on a subscriber thread.
qint64 nowNs();

// Raises this process's soft limit on open files to its hard limit (the servers and the Go
// client it starts inherit it) and returns the soft limit now; -1 when it cannot be read.
// Each process of a run holds one descriptor per connection: 10,000 subscribers need more
// than the usual 1,024, and no run can pass the hard limit (`ulimit -Hn`).
qint64 raiseOpenFileLimit();

// CPU seconds (user + system) used by this process so far, all threads (getrusage).
double selfCpuSeconds();

// CPU seconds used so far by every thread of process `pid`, from /proc/PID/task/*/schedstat
// (nanosecond resolution); -1 when it cannot be read.
double processCpuSeconds(qint64 pid);

// VmRSS of process `pid` in KiB from /proc/PID/status; -1 when it cannot be read.
qint64 processRssKiB(qint64 pid);

// The p-th percentile (0..100) of `values`, nearest-rank; reorders `values`. 0 when empty.
qint64 percentile(std::vector<qint64> &values, double p);

// Median of `values` (mean of the two middle ones for an even count); NaN when empty.
double median(QList<double> values);

// Counts the server's write system calls over a phase, to tell how many messages leave per
// call. `perf`: `perf stat` on the tracepoints syscalls:sys_enter_{write,writev,sendmsg,
// sendto} of the given processes (all their threads), write and writev on sockets only
// (tracepoint filters leave out the descriptors that are not sockets when counting starts:
// eventfd wake-ups of the event loop, pipes, logs; those are counted apart, otherWrites());
// `proc`: the `syscw` field of /proc/PID/io, which counts every write and writev, whatever
// the descriptor, and no sendmsg/sendto; `auto`: perf when it works here, else proc.
class WriteCounter {
public:
    enum class Mode { Auto, Perf, Proc, Off };
    static bool parseMode(const QString &text, Mode *mode);

    WriteCounter();
    ~WriteCounter();
    WriteCounter(const WriteCounter &) = delete;
    WriteCounter &operator=(const WriteCounter &) = delete;

    void start(Mode mode, const QList<qint64> &pids);
    // The calls counted since start(); -1 when they could not be counted.
    qint64 stop();
    // What counted them: "perf", "proc" or "n/a".
    QString source() const { return m_source; }
    // perf: write/writev calls on descriptors that are not sockets (event-loop wake-ups); -1
    // when not counted.
    qint64 otherWrites() const { return m_otherWrites; }
    // perf: the count per system call (write, writev, sendmsg, sendto).
    QMap<QString, qint64> perCall() const { return m_perCall; }

    static bool perfWorks();

private:
    struct Perf;
    std::unique_ptr<Perf> m_perf;
    QList<qint64> m_pids;
    qint64 m_procStart = -1;
    qint64 m_otherWrites = -1;
    QString m_source = QStringLiteral("n/a");
    QMap<QString, qint64> m_perCall;
};

} // namespace bench

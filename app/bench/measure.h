// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QList>
#include <QtGlobal>

#include <vector>

namespace bench {

// Monotonic nanoseconds (CLOCK_MONOTONIC): one time base for every thread of this process,
// so a stamp written by a publisher thread can be subtracted on a subscriber thread.
qint64 nowNs();

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

} // namespace bench

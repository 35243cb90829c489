// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "measure.h"

#include <QDir>
#include <QFile>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <sys/resource.h>

namespace bench {

qint64 nowNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double selfCpuSeconds() {
    rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    auto seconds = [](const timeval &tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
    return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

double processCpuSeconds(qint64 pid) {
    const QString taskDir = QStringLiteral("/proc/%1/task").arg(pid);
    const QStringList tasks = QDir(taskDir).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    if (tasks.isEmpty())
        return -1;
    qint64 ns = 0;
    for (const QString &task : tasks) {
        QFile f(taskDir + u'/' + task + QStringLiteral("/schedstat"));
        if (!f.open(QIODevice::ReadOnly))
            continue; // the thread ended meanwhile
        // First field: time spent on the CPU, in nanoseconds.
        const QByteArray line = f.readAll();
        ns += line.left(line.indexOf(' ')).toLongLong();
    }
    return double(ns) / 1e9;
}

qint64 processRssKiB(qint64 pid) {
    QFile f(QStringLiteral("/proc/%1/status").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    // readAll(): /proc files report size 0, so atEnd() cannot be trusted.
    const QByteArrayList lines = f.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("VmRSS:")) // "VmRSS:	    1234 kB"
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

qint64 percentile(std::vector<qint64> &values, double p) {
    if (values.empty())
        return 0;
    const double rank = std::ceil(p / 100.0 * double(values.size()));
    const size_t index = size_t(std::clamp(rank, 1.0, double(values.size()))) - 1;
    std::nth_element(values.begin(), values.begin() + qsizetype(index), values.end());
    return values[index];
}

double median(QList<double> values) {
    values.removeIf([](double v) { return std::isnan(v); });
    if (values.isEmpty())
        return std::numeric_limits<double>::quiet_NaN();
    std::sort(values.begin(), values.end());
    const qsizetype n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

} // namespace bench

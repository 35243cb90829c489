// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "measure.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QThread>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <ctime>
#include <limits>
#include <sys/prctl.h>
#include <sys/resource.h>

namespace bench {

qint64 nowNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

qint64 raiseOpenFileLimit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return -1;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<qint64>::max()
                                           : qint64(limit.rlim_cur);
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

namespace {

constexpr const char *PerfEvents = "syscalls:sys_enter_write,syscalls:sys_enter_writev,"
                                   "syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto";

// The descriptors of `pids` that are not sockets right now (eventfds, pipes, files): their
// writes are event-loop wake-ups and logs, counted apart from the socket writes.
QList<int> nonSocketFds(const QList<qint64> &pids) {
    QList<int> fds;
    for (qint64 pid : pids) {
        const QString dir = QStringLiteral("/proc/%1/fd").arg(pid);
        for (const QString &name : QDir(dir).entryList(QDir::Files | QDir::System)) {
            const QString target = QFile::symLinkTarget(dir + u'/' + name);
            const int fd = name.toInt();
            if (!target.contains(QLatin1String("socket:")) && !fds.contains(fd))
                fds.append(fd);
        }
    }
    return fds;
}
// perf stat prints nothing once it is attached; this is how long it is given to attach.
constexpr int PerfAttachMs = 300;

QString perfPath() {
    return QStandardPaths::findExecutable(QStringLiteral("perf"));
}

// The `syscw` field of /proc/PID/io (write system calls of all threads); -1 if unreadable.
qint64 procWrites(qint64 pid) {
    QFile f(QStringLiteral("/proc/%1/io").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith("syscw:"))
            return line.mid(6).trimmed().toLongLong();
    }
    return -1;
}

qint64 procWrites(const QList<qint64> &pids) {
    qint64 total = 0;
    for (qint64 pid : pids) {
        const qint64 n = procWrites(pid);
        if (n < 0)
            return -1;
        total += n;
    }
    return total;
}

} // namespace

struct WriteCounter::Perf {
    QTemporaryDir dir;
    QProcess process;
    QList<QPair<QString, bool>> events; // the system call, and whether not on a socket
};

WriteCounter::WriteCounter() = default;

WriteCounter::~WriteCounter() {
    stop();
}

bool WriteCounter::parseMode(const QString &text, Mode *mode) {
    static const QMap<QString, Mode> Modes{{QStringLiteral("auto"), Mode::Auto},
                                           {QStringLiteral("perf"), Mode::Perf},
                                           {QStringLiteral("proc"), Mode::Proc},
                                           {QStringLiteral("off"), Mode::Off}};
    const auto it = Modes.find(text);
    if (it == Modes.end())
        return false;
    *mode = *it;
    return true;
}

bool WriteCounter::perfWorks() {
    static const bool works = [] {
        const QString perf = perfPath();
        if (perf.isEmpty())
            return false;
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(perf, {QStringLiteral("stat"), QStringLiteral("-x,"), QStringLiteral("-e"),
                       QString::fromLatin1(PerfEvents), QStringLiteral("-o"),
                       QStringLiteral("/dev/null"), QStringLiteral("true")});
        return p.waitForFinished(10'000) && p.exitStatus() == QProcess::NormalExit &&
               p.exitCode() == 0;
    }();
    return works;
}

void WriteCounter::start(Mode mode, const QList<qint64> &pids) {
    stop();
    m_pids = pids;
    m_source = QStringLiteral("n/a");
    m_perCall.clear();
    m_otherWrites = -1;
    if (mode == Mode::Off || pids.isEmpty())
        return;
    if (mode == Mode::Perf || (mode == Mode::Auto && perfWorks())) {
        m_perf = std::make_unique<Perf>();
        QStringList list;
        for (qint64 pid : pids)
            list.append(QString::number(pid));
        // write and writev twice: on sockets, and on the other descriptors (tracepoint
        // filters on the fd argument). The order of the events is the order of the output.
        QStringList socketOnly, otherOnly;
        for (int fd : nonSocketFds(pids)) {
            socketOnly.append(QStringLiteral("fd != %1").arg(fd));
            otherOnly.append(QStringLiteral("fd == %1").arg(fd));
        }
        QStringList args{QStringLiteral("stat"), QStringLiteral("-x,")};
        m_perf->events.clear();
        for (const char *call : {"write", "writev"}) {
            args +=
                {QStringLiteral("-e"), QStringLiteral("syscalls:sys_enter_") + QLatin1String(call)};
            m_perf->events.append({QString::fromLatin1(call), false});
            if (otherOnly.isEmpty())
                continue;
            args += {QStringLiteral("--filter"),
                     socketOnly.join(QStringLiteral(" && ")),
                     QStringLiteral("-e"),
                     QStringLiteral("syscalls:sys_enter_") + QLatin1String(call),
                     QStringLiteral("--filter"),
                     otherOnly.join(QStringLiteral(" || "))};
            m_perf->events.append(
                {QString::fromLatin1(call) + QStringLiteral(" (not a socket)"), true});
        }
        for (const char *call : {"sendmsg", "sendto"}) {
            args +=
                {QStringLiteral("-e"), QStringLiteral("syscalls:sys_enter_") + QLatin1String(call)};
            m_perf->events.append({QString::fromLatin1(call), false});
        }
        args += {QStringLiteral("-o"), m_perf->dir.filePath(QStringLiteral("perf.csv")),
                 QStringLiteral("-p"), list.join(u',')};
        m_perf->process.setProcessChannelMode(QProcess::MergedChannels);
        m_perf->process.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGTERM); });
        m_perf->process.start(perfPath(), args);
        if (m_perf->process.waitForStarted(5000)) {
            QThread::msleep(PerfAttachMs);
            if (m_perf->process.state() == QProcess::Running) {
                m_source = QStringLiteral("perf");
                return;
            }
        }
        m_perf.reset();
        if (mode == Mode::Perf)
            return;
    }
    m_procStart = procWrites(pids);
    if (m_procStart >= 0)
        m_source = QStringLiteral("proc");
}

qint64 WriteCounter::stop() {
    if (m_perf) {
        std::unique_ptr<Perf> perf = std::move(m_perf);
        const qint64 pid = perf->process.processId();
        if (pid > 0)
            ::kill(pid_t(pid), SIGINT);
        if (!perf->process.waitForFinished(10'000)) {
            perf->process.kill();
            perf->process.waitForFinished(5000);
            return -1;
        }
        QFile f(perf->dir.filePath(QStringLiteral("perf.csv")));
        if (!f.open(QIODevice::ReadOnly))
            return -1;
        // CSV lines: count,unit,event,run time,percentage,... in the order of the events.
        qint64 total = 0;
        qsizetype index = 0;
        m_otherWrites = 0;
        for (const QByteArray &line : f.readAll().split('\n')) {
            const QList<QByteArray> fields = line.split(',');
            if (line.startsWith('#') || fields.size() < 3 || !fields[2].contains("sys_enter_") ||
                index >= perf->events.size())
                continue;
            const qint64 n = fields[0].toLongLong(); // "<not counted>" reads as 0
            const auto &event = perf->events[index++];
            m_perCall[event.first] = n;
            (event.second ? m_otherWrites : total) += n;
        }
        return index > 0 ? total : -1;
    }
    if (m_procStart >= 0) {
        const qint64 end = procWrites(m_pids);
        const qint64 start = std::exchange(m_procStart, -1);
        return end >= 0 ? end - start : -1;
    }
    return -1;
}

} // namespace bench

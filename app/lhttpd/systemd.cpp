// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "systemd.h"

#include <QByteArray>

#include <systemd/sd-daemon.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace {

void notify(const QByteArray &state) {
    sd_notify(0, state.constData());
}

} // namespace

Systemd::Systemd(QObject *parent)
    : QObject(parent) {
    connect(&m_watchdog, &QTimer::timeout, this, [] { notify("WATCHDOG=1"); });
}

int Systemd::listenDescriptor(QString *error) {
    const int n = sd_listen_fds(1);
    if (n == 0)
        return -1;
    if (n < 0) {
        *error = QStringLiteral("socket activation: %1").arg(QString::fromLocal8Bit(strerror(-n)));
        return -2;
    }
    if (n > 1) {
        *error = QStringLiteral("socket activation passed %1 sockets; lhttpd-qt listens on one "
                                "(one ListenStream= in the .socket unit)")
                     .arg(n);
        return -2;
    }
    const int fd = SD_LISTEN_FDS_START;
    if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
        *error = QStringLiteral("socket activation: the socket passed is not a listening TCP "
                                "socket (ListenStream= with an address or port)");
        return -2;
    }
    return fd;
}

bool Systemd::loggingToJournal() {
    // JOURNAL_STREAM is "<device>:<inode>" of the journal's stream; a child whose stderr was
    // redirected elsewhere inherits the variable, so compare with stderr itself.
    const QByteArray stream = qgetenv("JOURNAL_STREAM");
    const qsizetype colon = stream.indexOf(':');
    struct stat st = {};
    if (colon <= 0 || fstat(STDERR_FILENO, &st) != 0)
        return false;
    bool okDevice = false, okInode = false;
    const qulonglong device = stream.left(colon).toULongLong(&okDevice);
    const qulonglong inode = stream.mid(colon + 1).toULongLong(&okInode);
    return okDevice && okInode && device == qulonglong(st.st_dev) && inode == qulonglong(st.st_ino);
}

void Systemd::ready(const QString &status) {
    notify("READY=1\nSTATUS=" + status.toUtf8());
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        m_watchdog.start(int(std::max<uint64_t>(usec / 2000, 1)));
}

void Systemd::reloading() {
    notify("RELOADING=1");
}

void Systemd::stopping(const QString &status) {
    // The watchdog goes on while connections drain: the event loop still runs.
    notify("STOPPING=1\nSTATUS=" + status.toUtf8());
}

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QObject>
#include <QString>
#include <QTimer>

// lhttpd-qt under systemd (docs/DEPLOY.md): readiness, reload and stop notifications and the
// watchdog for `Type=notify` units (sd_notify(3)), a listening socket handed over by socket
// activation (sd_listen_fds(3)), and log lines the journal takes as they are. Everything is
// a no-op when the process was not started that way (no NOTIFY_SOCKET, LISTEN_FDS or
// JOURNAL_STREAM in the environment).
class Systemd : public QObject {
    Q_OBJECT
public:
    explicit Systemd(QObject *parent = nullptr);

    // The socket systemd passed (LISTEN_FDS) for the node to listen on: -1 when none was
    // passed; -2, with *error set, when what was passed cannot be used (more than one, or not
    // a listening TCP socket). Takes the variables out of the environment.
    static int listenDescriptor(QString *error);
    // Whether stderr goes to the journal (JOURNAL_STREAM names it): log lines then carry a
    // syslog priority prefix (<6>, <4> …) and no time stamp, which the journal adds itself.
    static bool loggingToJournal();

    // READY=1 with a status line; and, when the unit has WatchdogSec=, from now on a
    // WATCHDOG=1 from the event loop every half of it — a loop that hangs stops them, and
    // systemd restarts the service.
    void ready(const QString &status);
    void reloading();
    // STOPPING=1 (draining); the watchdog goes on while the loop runs.
    void stopping(const QString &status);
    bool watchdogRunning() const { return m_watchdog.isActive(); }

private:
    QTimer m_watchdog;
};

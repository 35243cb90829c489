// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "signalwatcher.h"

#include <QSocketNotifier>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// [0]: written by the handler; [1]: read by the notifier.
int g_fds[2] = {-1, -1};

constexpr int Watched[] = {SIGINT, SIGTERM, SIGHUP};

void onSignal(int sig) {
    // The handler may interrupt code between a failed call and its look at errno.
    const int savedErrno = errno;
    const auto c = static_cast<unsigned char>(sig);
    [[maybe_unused]] const auto n = ::write(g_fds[0], &c, 1);
    errno = savedErrno;
}

} // namespace

SignalWatcher::SignalWatcher(QObject *parent)
    : QObject(parent) {
    Q_ASSERT_X(g_fds[0] < 0, "SignalWatcher", "one per process");
    // Non-blocking on the writer's side: a handler must never wait, even if signals pile up
    // faster than the event loop reads them (extra bytes are then lost, not the process).
    // Close-on-exec: children started with QProcess do not inherit the pipe.
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g_fds) != 0) {
        g_fds[0] = g_fds[1] = -1;
        return;
    }
    const int flags = ::fcntl(g_fds[0], F_GETFL);
    ::fcntl(g_fds[0], F_SETFL, flags | O_NONBLOCK);
    m_notifier = new QSocketNotifier(g_fds[1], QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &SignalWatcher::readSignal);
    struct sigaction sa = {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : Watched)
        sigaction(sig, &sa, nullptr);
}

SignalWatcher::~SignalWatcher() {
    if (g_fds[0] < 0)
        return;
    // Default actions first: no handler may write to a closed descriptor.
    for (int sig : Watched)
        std::signal(sig, SIG_DFL);
    ::close(g_fds[0]);
    ::close(g_fds[1]);
    g_fds[0] = g_fds[1] = -1;
}

void SignalWatcher::readSignal() {
    unsigned char c = 0;
    if (::read(g_fds[1], &c, 1) == 1)
        Q_EMIT received(c);
}

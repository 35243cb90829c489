// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "termsignals.h"

#include <QSocketNotifier>

#include <csignal>
#include <sys/socket.h>
#include <unistd.h>

namespace {
int g_fds[2] = {-1, -1};

void onSignal(int sig) {
    const auto c = static_cast<unsigned char>(sig);
    [[maybe_unused]] const auto n = ::write(g_fds[0], &c, 1);
}

constexpr int Handled[] = {SIGINT, SIGTERM, SIGHUP};
} // namespace

TermSignals::TermSignals(QObject *parent)
    : QObject(parent) {
    // SIGPIPE keeps its default on purpose: `lhttp-cli sub ... | head -1` ends like any other
    // Unix filter when head exits. Qt writes to sockets with MSG_NOSIGNAL, so only stdout can
    // raise it.
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_fds) != 0)
        return;
    m_notifier = new QSocketNotifier(g_fds[1], QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &TermSignals::readSignal);
    struct sigaction sa = {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : Handled)
        sigaction(sig, &sa, nullptr);
}

TermSignals::~TermSignals() {
    for (int sig : Handled)
        std::signal(sig, SIG_DFL);
    if (g_fds[0] >= 0) {
        ::close(g_fds[0]);
        ::close(g_fds[1]);
        g_fds[0] = g_fds[1] = -1;
    }
}

void TermSignals::readSignal() {
    unsigned char c = 0;
    if (::read(g_fds[1], &c, 1) == 1)
        Q_EMIT received(c);
}

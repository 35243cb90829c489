// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// LHTTP_EVENT_LOOP=epoll runs a test executable's main thread on lhttp's EpollEventDispatcher
// instead of Qt's. Linked into every QTest executable but the GUI ones (tests/CMakeLists.txt);
// a static object's constructor runs before main(), so the dispatcher is in place before
// QTEST_MAIN constructs the application, which then adopts it (QTest does not make its own).
// Threads the test starts keep Qt's dispatcher unless they install ours themselves.

#include "epolleventdispatcher.h"

#include <QAbstractEventDispatcher>
#include <QPointer>
#include <QtGlobal>

#include <cstdio>
#include <cstdlib>

namespace {

struct EventLoopSwitch {
    EventLoopSwitch() {
        const QByteArray wanted = qgetenv("LHTTP_EVENT_LOOP");
        if (wanted.isEmpty() || wanted == "qt")
            return;
        if (wanted != "epoll") {
            std::fprintf(stderr, "LHTTP_EVENT_LOOP=%s: unknown (epoll or qt)\n",
                         wanted.constData());
            std::exit(2);
        }
        if (!lhttp::installEpollDispatcher()) {
            std::fprintf(stderr, "LHTTP_EVENT_LOOP=epoll: could not install the dispatcher\n");
            std::exit(2);
        }
        dispatcher = QAbstractEventDispatcher::instance();
        std::fprintf(stderr,
                     "LHTTP_EVENT_LOOP=epoll: the main thread runs on EpollEventDispatcher\n");
    }
    // The application owns the dispatcher once it exists; a test without one (QTEST_APPLESS_MAIN)
    // leaves it to us.
    ~EventLoopSwitch() { delete dispatcher.data(); }

    QPointer<QAbstractEventDispatcher> dispatcher;
};

const EventLoopSwitch eventLoopSwitch;

} // namespace

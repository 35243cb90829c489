// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QObject>

class QSocketNotifier;

// Turns SIGINT, SIGTERM and SIGHUP into Qt signals through a self-pipe, so shutdown runs in
// the event loop, not in a signal handler.
class SignalWatcher : public QObject {
    Q_OBJECT
public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;

Q_SIGNALS:
    void terminate(int signal);
    void reload();

private:
    void readSignal();
    QSocketNotifier *m_notifier = nullptr;
};

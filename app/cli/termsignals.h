// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QObject>

class QSocketNotifier;

// SIGINT, SIGTERM and SIGHUP as a Qt signal, through a self-pipe, so that lhttp-cli closes its
// connection and restores the terminal from the event loop instead of dying mid-write.
class TermSignals : public QObject {
    Q_OBJECT
public:
    explicit TermSignals(QObject *parent = nullptr);
    ~TermSignals() override;

Q_SIGNALS:
    void received(int signal);

private:
    void readSignal();
    QSocketNotifier *m_notifier = nullptr;
};

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QObject>

class QSocketNotifier;

// SIGINT, SIGTERM and SIGHUP as a Qt signal, through a self-pipe: the handler only writes the
// signal number to a socket, and received() is emitted from the event loop, where the program
// may drain, reload or restore the terminal (almost nothing is async-signal-safe inside a
// handler). What each signal means is the program's choice. SIGPIPE is not watched: Qt Network
// ignores it at its first socket write anyway, and each program's main() says how it lives
// with that.
//
// One per process: a handler has no object to write to, only the one pipe.
class SignalWatcher : public QObject {
    Q_OBJECT
public:
    explicit SignalWatcher(QObject *parent = nullptr);
    // Gives the signals their default action back.
    ~SignalWatcher() override;

    // False when the self-pipe could not be made; the signals then keep their default action.
    bool isValid() const { return m_notifier != nullptr; }

Q_SIGNALS:
    void received(int signal);

private:
    void readSignal();
    QSocketNotifier *m_notifier = nullptr;
};

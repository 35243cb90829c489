// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>
#include <QUrl>

// The mass reconnect of issue 14: N clients on history channels (rooms), a node restart, and
// the time until every one of them has recovered what it missed and is live again.
//
// 1. `clients` connections to `url`, each subscribed with `recover` to room (i mod rooms) of
//    channel `channel` (channel.<n>); a publisher on `publishUrl` sends `before` messages to
//    every room and waits until every client has them.
// 2. `killCommand` runs (sh -c, waited for): it stops the node the clients are on. They notice
//    and retry connecting every 100–300 ms from then on.
// 3. The publisher sends `during` more messages to every room (a node that is up:
//    `publishUrl` should then name another node of the cluster).
// 4. `startCommand` runs (waited for; it returns once the node listens). From its return the
//    clock runs until every client has its `recovered` reply and every message of its room,
//    in order, once.
struct RecoverOptions {
    QUrl url;
    QUrl publishUrl;
    QByteArray channel = "room";
    int clients = 5000;
    int rooms = 500;
    int before = 5;
    int during = 5;
    QString killCommand;
    QString startCommand;
    // A file the start command writes the new node's PID into: its peak RSS is reported.
    QString pidFile;
    int timeoutSeconds = 120;
};

struct RecoverResult {
    bool ok = false;
    QString error;
    int clients = 0;
    int live = 0;         // recovered and holding every message at the end
    int recovered = 0;    // `recovered … true` replies after the restart
    int notRecovered = 0; // `… false`
    int gaps = 0;         // clients that saw a message twice
    int retried = 0;      // requests asked again after an error reply (503 while loading)
    double allLiveSeconds = 0;
    double p50Seconds = 0;
    double p99Seconds = 0;
    qint64 peakRssKiB = 0; // the restarted node's VmHWM
    QString summary() const;
};

RecoverResult runRecover(const RecoverOptions &options);

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>

namespace bench {

// The cost of presence on the server (issue 15; docs/BENCHMARKS.md, "Presence"): lhttpd-qt
// started in turn without presence ("plain") and with `--presence PATTERN` ("presence"), a
// fresh process per leg; N clients connect (`connectWindow` handshakes in flight, spread over
// 127.0.0.x source addresses) and each subscribes to room `room.<i mod R>` (with
// `presence-info` when presence is on), then sends a WebSocket ping: its pong, which the
// server sends after handling the subscribe, marks the client subscribed. Per leg:
//  - seconds from the first connection to the last pong, clients/s, the server's CPU µs per
//    client over that span;
//  - presence: one watcher connection subscribed to every room with `joins:` counts the join
//    events (exactly N expected) and the time until the last one; `presence-stats` of every
//    room, summed, must say N + R (the watcher is a member of each room);
//  - the server's RSS growth per client, `settleMs` after the last one was confirmed, over a
//    baseline taken after a warm-up batch (subscribed to a plain channel) and a settle.
// With `cluster`: two nodes (`--nats`, a nats-server started here), clients alternate between
// them, the watcher is on node A, and the time until `presence-stats` on both nodes sums to
// N + R is reported (presence legs only).
struct PresenceOptions {
    QString lhttpdPath;
    QStringList lhttpdArgs;
    int connections = 10000;
    QList<int> rooms{1, 100};
    int rounds = 3;
    int threads = 2; // client threads
    int connectionsPerSource = 1000;
    int connectWindow = 64;
    int warmup = 50;
    int settleMs = 3000;
    QByteArray pattern = "room.>";
    QByteArray info = R"({"name":"bench user"})";
    bool cluster = false;
    QStringList variants{QStringLiteral("plain"), QStringLiteral("presence")};
    int timeoutSeconds = 120;
};

int runPresence(const PresenceOptions &options);

} // namespace bench

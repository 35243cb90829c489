// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringList>

namespace bench {

struct CompareOptions {
    QString lhttpdPath;
    QString candidatePath; // a second lhttpd-qt build measured in the same run (optional)
    int rounds = 5;
    QStringList workloads; // keys; empty: all
    int threads = 2;
    int idleConnections = 10000;
    int idleSettleMs = 1500; // idle workloads: from the last open to the RSS reading
    double scale = 1.0;      // multiplies message counts (quick trial runs)
    int httpWindow = 0;      // POST requests in flight for the POST workloads; 0: each one's own
    bool verbose = false;
};

// The workloads of issue 8, each run against the reference server and against lhttpd-qt
// (fresh processes per leg), the legs in alternating order round after round. Prints every
// round and a table of medians and ratios. Returns the process exit code.
int runCompare(const CompareOptions &options);

// A few hundred messages through the reference, lhttpd-qt over WebSocket and over
// POST /publish, and a few idle connections; fails unless every delivery arrived in order.
int runSmoke(const CompareOptions &options);

QStringList workloadKeys();

} // namespace bench

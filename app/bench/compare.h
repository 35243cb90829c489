// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "measure.h"

#include <QString>
#include <QStringList>

namespace bench {

// lhttpd-qt with more flags, measured as its own legs labelled "lhttpd-qt <label>"
// (--lhttpd-variant LABEL=FLAGS), e.g. "t1" with --threads 1 beside "t2" with --threads 2.
struct LhttpdVariant {
    QString label;
    QStringList args;
};

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
    QStringList servers;     // reference, lhttpd-qt, nats-server or leg labels; empty: all (nats if
                             // installed)
    QStringList clients;     // lhttp-bench, go: who drives the three-server workloads; empty: both
    QStringList lhttpdArgs;  // appended to every lhttpd-qt leg's command line
    QList<LhttpdVariant> lhttpdVariants; // empty: one plain lhttpd-qt leg
    QString goClient;                    // the Go client's binary: its legs join the chat workloads
    int chatConnections = 10000; // subscribers of the rooms, connect10k and maxrate workloads
    int restConnections = 5000;  // connections of the idlecpu workload
    double stepSeconds = 3;      // maxrate: one search step
    double p99LimitMs = 50;      // maxrate: the p99 a sustained rate stays under
    double maxRate = 100000;     // maxrate: msg/s per publisher the search goes no higher than
    WriteCounter::Mode countWrites = WriteCounter::Mode::Auto;
    bool smokeSearch = false; // the rate search in its smoke size
    bool verbose = false;
};

// The workloads of issue 8 and the chat-like ones of issue 13, each run against the reference
// server, lhttpd-qt and (where it fits) nats-server over WebSocket, with this tool's client and
// (--go-client) a Go one; fresh processes per leg, the legs in rotating order round after
// round. Prints every round and tables of medians and ratios. Returns the process exit code.
// Every lhttpd-qt leg is repeated per --lhttpd-variant.
int runCompare(const CompareOptions &options);

// A few hundred messages through the reference, lhttpd-qt over WebSocket and over
// POST /publish, a few idle connections, and the chat modes at tiny sizes on every server
// and client (lhttpd-qt per variant); fails unless every delivery arrived in order.
int runSmoke(const CompareOptions &options);

QStringList workloadKeys();

} // namespace bench

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace lhttp {

// How a node joins the cluster. docs/CLUSTER.md explains each option and docs/CONFIG.md lists
// the lhttpd-qt flag and config key for it.
struct NatsOptions {
    static constexpr int DefaultReconnectWaitMs = 2'000;
    // Negative: retry forever. A node is a server, not a client that can give up: a finite
    // limit leaves it serving local pub/sub only until it is restarted.
    static constexpr int DefaultMaxReconnect = -1;
    // nats.c's own default: what a node publishes while NATS is away is held up to this
    // and sent once it is back, so a restart or a failover loses nothing.
    static constexpr int DefaultReconnectBufferBytes = 8 * 1024 * 1024;
    // Per NATS subscription, inside nats.c (its defaults).
    static constexpr int DefaultPendingMsgs = 65'536;
    static constexpr int DefaultPendingBytes = 64 * 1024 * 1024;
    // The hand-off queue from nats.c's threads to the Qt thread, over all channels.
    static constexpr int DefaultQueueLimit = 65'536;
    static constexpr qsizetype DefaultQueueBytes = 64 * 1024 * 1024;

    // NATS server URLs (nats://host:port, tls://host:port). Empty: no cluster.
    QStringList servers;
    // Prepended to every channel, with a dot: `lhttp` makes channel `room` subject
    // `lhttp.room`. Empty by default so that original Go lhttp nodes on the same NATS see the
    // same channels.
    QByteArray subjectPrefix;
    // The connection name shown by the NATS server's monitoring; empty: "lhttpd-qt <host>".
    QString name;
    QString user;
    QString password;
    QString token;
    // A NATS credentials file (user JWT and NKey seed).
    QString credentialsFile;
    // TLS: any of these turns TLS on. The CA verifies the server; cert and key identify the
    // node to a server that asks for client certificates.
    QString tlsCaFile;
    QString tlsCertFile;
    QString tlsKeyFile;
    int reconnectWaitMs = DefaultReconnectWaitMs;
    int maxReconnect = DefaultMaxReconnect;
    int reconnectBufferBytes = DefaultReconnectBufferBytes;
    int pendingMsgs = DefaultPendingMsgs;
    int pendingBytes = DefaultPendingBytes;
    int queueLimit = DefaultQueueLimit;
    qsizetype queueBytes = DefaultQueueBytes;
    // Publishes while NATS is unreachable get error 503 (local delivery still happens).
    bool strict = false;

    // Clustered history (Broker::setHistory, docs/CLUSTER.md "JetStream"): one JetStream
    // stream per history namespace, named <historyStreamPrefix>_<pattern, escaped>. Every node
    // of a cluster must use the same prefix (and the same subject prefix) to share the streams.
    static constexpr const char *DefaultHistoryStreamPrefix = "LHTTP_HISTORY";
    static constexpr int DefaultHistoryReplicas = 1;
    static constexpr int DefaultHistoryCheckIntervalMs = 10'000;
    static constexpr int DefaultHistoryPublishTimeoutMs = 5'000;
    // Letters, digits, '_' and '-' only (a JetStream stream name).
    QByteArray historyStreamPrefix = DefaultHistoryStreamPrefix;
    // Streams kept in the servers' memory instead of files: faster, lost when a server restarts
    // (the epoch then changes). Applies to streams this node creates; an existing stream's
    // storage cannot be changed (reported as a history problem).
    bool historyMemoryStorage = false;
    // Copies of each stream in a clustered JetStream (1 – 5; 1 on a single server).
    int historyReplicas = DefaultHistoryReplicas;
    // How often the node checks that every stream still exists with its limits and epoch (a
    // stream deleted or recreated by an operator); also done on every (re)connect.
    int historyCheckIntervalMs = DefaultHistoryCheckIntervalMs;
    // How long a history publish waits for JetStream's acknowledgement before it is counted as
    // a failure (Broker::Stats::historyPublishFailures); publishing itself never waits.
    int historyPublishTimeoutMs = DefaultHistoryPublishTimeoutMs;

    bool isEnabled() const { return !servers.isEmpty(); }
    bool usesTls() const {
        if (!tlsCaFile.isEmpty() || !tlsCertFile.isEmpty() || !tlsKeyFile.isEmpty())
            return true;
        for (const QString &s : servers) {
            if (s.startsWith(u"tls://", Qt::CaseInsensitive))
                return true;
        }
        return false;
    }
};

} // namespace lhttp

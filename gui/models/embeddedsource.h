// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "nodesource.h"
#include "serveroptions.h"

#include <QThread>

namespace lhttp {

class EmbeddedNode;

// A node running inside the console, for development and demos. The Server lives on a thread of
// its own so that a busy node never stalls the GUI; what crosses over is one snapshot and one
// Admin::Batch per interval, made by the same AdminFeed that serves remote consoles.
class EmbeddedSource : public NodeSource {
    Q_OBJECT
public:
    explicit EmbeddedSource(QObject *parent = nullptr);
    ~EmbeddedSource() override;

    // Whether this build can join a NATS cluster (lhttp::NatsBroker).
    static bool natsAvailable();

    // Starts a node; a non-empty natsUrl makes it join that NATS server's cluster.
    void start(const ServerOptions &options, const QString &natsUrl = {});
    quint16 port() const { return m_port; }
    QString nodeName() const override;
    void stop() override;
    quint64 publish(const QByteArray &message) override;
    quint64 closeConnection(quint64 id) override;

private:
    QThread m_thread;
    EmbeddedNode *m_node;
    quint16 m_port = 0;
};

} // namespace lhttp

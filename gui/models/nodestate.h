// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "adminwire.h"
#include "nodesource.h"

#include <QObject>
#include <QPointer>

namespace lhttp {

class ChannelsModel;
class ConnectionsModel;
class PublishHistoryModel;
class RateHistory;
class TrafficModel;

// The console's picture of one node: feeds one source's snapshots and batches into the models,
// works out the rates, and carries the user's commands to the source. GUI-free, so the tests
// can drive it with a real server and check every model.
class NodeState : public QObject {
    Q_OBJECT
public:
    explicit NodeState(QObject *parent = nullptr);
    ~NodeState() override;

    // Not owned. Switching sources clears every model but the publish history.
    void setSource(NodeSource *source);
    NodeSource *source() const { return m_source; }

    ConnectionsModel *connections() const { return m_connections; }
    ChannelsModel *channels() const { return m_channels; }
    TrafficModel *traffic() const { return m_traffic; }
    RateHistory *rates() const { return m_rates; }
    PublishHistoryModel *publishHistory() const { return m_history; }

    const Admin::NodeInfo &node() const { return m_node; }
    const Admin::Totals &totals() const { return m_totals; }
    Broker::State brokerState() const { return m_brokerState; }
    QString brokerUrl() const { return m_brokerUrl; }
    double messagesInPerSecond() const { return m_inRate; }
    double messagesOutPerSecond() const { return m_outRate; }
    // Batches the node could not send this console (its link was too slow), in total.
    quint64 gaps() const { return m_gaps; }
    quint64 batches() const { return m_batches; }

    // Publishes a message built from the parts; `headers` holds name:value lines. Returns the
    // request number (0 when there is no source, nothing to publish to, or the parts do not
    // make a valid message: a header value with a control byte, say).
    quint64 publish(const QByteArray &channels, const QByteArray &command,
                    const QByteArray &headers, const QByteArray &body);
    quint64 closeConnection(quint64 id);

    // `LHTTP/1.0 command`, the headers (a `publish` header first), a blank line, the body.
    static QByteArray buildMessage(const QByteArray &channels, const QByteArray &command,
                                   const QByteArray &headers, const QByteArray &body);

Q_SIGNALS:
    // After every snapshot and batch: a cue for the status bar, not for the models.
    void updated();
    void commandFinished(quint64 request, int code, const QString &reason);

private:
    void onSnapshot(const Admin::Snapshot &snapshot);
    void onBatch(const Admin::Batch &batch);
    void onCommandFinished(quint64 request, int code, const QString &reason);
    void clear();

    QPointer<NodeSource> m_source;
    QList<QMetaObject::Connection> m_sourceConnections;
    ConnectionsModel *m_connections;
    ChannelsModel *m_channels;
    TrafficModel *m_traffic;
    RateHistory *m_rates;
    PublishHistoryModel *m_history;

    Admin::NodeInfo m_node;
    Admin::Totals m_totals;
    qint64 m_totalsTimeMs = 0;
    Broker::State m_brokerState = Broker::State::Embedded;
    QString m_brokerUrl;
    double m_inRate = 0;
    double m_outRate = 0;
    quint64 m_gaps = 0;
    quint64 m_batches = 0;
};

} // namespace lhttp

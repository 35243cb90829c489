// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "nodestate.h"

#include "channelsmodel.h"
#include "connectionsmodel.h"
#include "messagebuilder.h"
#include "publishhistorymodel.h"
#include "ratehistory.h"
#include "trafficmodel.h"

#include <QDateTime>

namespace lhttp {

NodeState::NodeState(QObject *parent)
    : QObject(parent)
    , m_connections(new ConnectionsModel(this))
    , m_channels(new ChannelsModel(this))
    , m_traffic(new TrafficModel(this))
    , m_rates(new RateHistory(this))
    , m_history(new PublishHistoryModel(this)) {}

NodeState::~NodeState() = default;

void NodeState::setSource(NodeSource *source) {
    for (const auto &c : std::as_const(m_sourceConnections))
        disconnect(c);
    m_sourceConnections.clear();
    // Answers to the old source's requests will not come.
    for (int row = 0; row < m_history->rowCount(); ++row) {
        const PublishHistoryModel::Entry &e = m_history->entryAt(row);
        if (e.code < 0)
            m_history->setResult(e.request, 0, tr("detached before the node answered"));
    }
    m_source = source;
    clear();
    if (!source)
        return;
    m_sourceConnections = {
        connect(source, &NodeSource::snapshotReceived, this, &NodeState::onSnapshot),
        connect(source, &NodeSource::batchReceived, this, &NodeState::onBatch),
        connect(source, &NodeSource::commandFinished, this, &NodeState::onCommandFinished),
    };
}

void NodeState::clear() {
    m_connections->clear();
    m_channels->clear();
    m_traffic->clear();
    m_rates->clear();
    m_node = {};
    m_totals = {};
    m_totalsTimeMs = 0;
    m_brokerState = Broker::State::Embedded;
    m_brokerUrl.clear();
    m_inRate = m_outRate = 0;
    m_gaps = 0;
    m_batches = 0;
    Q_EMIT updated();
}

void NodeState::onSnapshot(const Admin::Snapshot &snapshot) {
    m_node = snapshot.node;
    m_brokerState = snapshot.node.brokerState;
    m_brokerUrl = snapshot.node.brokerUrl;
    m_totals = snapshot.totals;
    m_totalsTimeMs = snapshot.timeMs;
    m_gaps += snapshot.gap;
    m_connections->setSnapshot(snapshot.connections);
    m_channels->setSnapshot(snapshot.channels);
    Q_EMIT updated();
}

void NodeState::onBatch(const Admin::Batch &batch) {
    ++m_batches;
    m_connections->applyBatch(batch);
    m_channels->applyBatch(batch);
    m_traffic->append(batch.samples, batch.samplesDropped);

    // Rates from absolute counters: a skipped batch widens the step, it does not skew the rate.
    const qint64 elapsedMs = batch.timeMs - m_totalsTimeMs;
    if (m_totalsTimeMs > 0 && elapsedMs > 0) {
        const auto perSecond = [elapsedMs](quint64 now, quint64 before) {
            return now >= before ? double(now - before) * 1000.0 / double(elapsedMs) : 0.0;
        };
        m_inRate = perSecond(batch.totals.messagesIn, m_totals.messagesIn);
        m_outRate = perSecond(batch.totals.messagesOut, m_totals.messagesOut);
        m_rates->append({batch.timeMs, m_inRate, m_outRate,
                         perSecond(batch.totals.publishes, m_totals.publishes)});
    }
    m_totals = batch.totals;
    m_totalsTimeMs = batch.timeMs;
    m_brokerState = batch.brokerState;
    m_brokerUrl = batch.brokerUrl;
    Q_EMIT updated();
}

void NodeState::onCommandFinished(quint64 request, int code, const QString &reason) {
    m_history->setResult(request, code, reason);
    Q_EMIT commandFinished(request, code, reason);
}

QByteArray NodeState::buildMessage(const QByteArray &channels, const QByteArray &command,
                                   const QByteArray &headers, const QByteArray &body) {
    // Lenient about what a person types (spaces, blank lines, a stray `publish` line); the
    // builder still refuses what would change the message's meaning (a null result).
    const QByteArrayList list = channels.simplified().split(' ');
    return buildPublishMessage(list, command.trimmed(), parseHeaderLines(headers, "publish"), body,
                               nullptr);
}

quint64 NodeState::publish(const QByteArray &channels, const QByteArray &command,
                           const QByteArray &headers, const QByteArray &body) {
    if (!m_source || channels.simplified().isEmpty() || command.trimmed().isEmpty())
        return 0;
    const QByteArray message = buildMessage(channels, command, headers, body);
    if (message.isNull())
        return 0;
    const quint64 request = m_source->publish(message);
    PublishHistoryModel::Entry e;
    e.timeMs = QDateTime::currentMSecsSinceEpoch();
    e.request = request;
    e.channels = channels.simplified();
    e.command = command.trimmed();
    e.headers = headers;
    e.body = body;
    e.size = message.size();
    m_history->add(e);
    return request;
}

quint64 NodeState::closeConnection(quint64 id) {
    return m_source ? m_source->closeConnection(id) : 0;
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "error.h"

#include <QList>
#include <QObject>
#include <QString>

namespace lhttp {

class Frame;

// This node's side of a broker: where it hands what it carries. The ChannelHub implements it;
// a broker never sees a session.
class LocalDelivery {
public:
    virtual ~LocalDelivery();
    // Sends `frame` to the local subscribers of `channel` and of every wildcard channel that
    // matches it. Returns the number of sessions it went to.
    virtual int deliver(const QByteArray &channel, const Frame &frame) = 0;
    // Sends `frame` to the subscribers of exactly `channel`, which may be a wildcard channel:
    // NATS hands a message over once per matching subscription, each copy for its own channel.
    virtual int deliverExact(const QByteArray &channel, const Frame &frame) = 0;
    // A message of a history channel as a broker that keeps history (Broker::keepsHistory())
    // numbered it: `offset` in the stream of `epoch`. Every copy of such a message comes this
    // way, this node's own publishes included, in the stream's order per channel; `frame` is
    // the message as published (no position header). `live` is false for what the broker reads
    // back from the stream when it starts following it (messages published before then: they
    // are stored, never delivered). Called in the broker's thread.
    virtual void deliverStored(const QByteArray &channel, quint64 offset, const QByteArray &epoch,
                               const Frame &frame, bool live) {
        Q_UNUSED(channel)
        Q_UNUSED(offset)
        Q_UNUSED(epoch)
        Q_UNUSED(frame)
        Q_UNUSED(live)
    }
    // A presence message of another node (Broker::carriesPresence()), in order with the
    // deliveries made before and after it. Called in the broker's thread.
    virtual void deliverPresence(const QByteArray &message) { Q_UNUSED(message) }
};

// One history namespace (--history PATTERN=SIZE[,TTL], CONFIG.md): the channels matching
// `pattern` (NATS wildcard syntax) keep their last `size` messages for at most `ttlMs`
// (0: no age limit).
struct HistoryNamespace {
    QByteArray pattern;
    int size = 0;
    qint64 ttlMs = 0;
    friend bool operator==(const HistoryNamespace &a, const HistoryNamespace &b) {
        return a.pattern == b.pattern && a.size == b.size && a.ttlMs == b.ttlMs;
    }
};

// Carries published messages between the channels of this node and, for a clustered broker,
// the other nodes. The hub calls subscribe() when a channel gets its first local subscriber
// and unsubscribe() when it loses its last one, so a broker keeps one subscription per
// channel, not one per connection. Everything here runs in the hub's (Qt) thread.
class Broker : public QObject {
    Q_OBJECT
public:
    enum class State { Embedded, Connecting, Connected, Reconnecting, Disconnected };
    Q_ENUM(State)

    using QObject::QObject;
    ~Broker() override;

    // Where deliveries go; not owned. Null detaches.
    void attach(LocalDelivery *local) { m_local = local; }

    virtual void subscribe(const QByteArray &channel) = 0;
    virtual void unsubscribe(const QByteArray &channel) = 0;
    // Sends `frame` to every other node (this node's subscribers have it already: the node
    // delivers its own publishes itself). Called from any of the node's event loops, so an
    // implementation must be thread-safe here; the rest runs in the broker's thread.
    virtual Error publish(const QByteArray &channel, const Frame &frame) = 0;

    virtual State state() const = 0;
    virtual QString description() const = 0;

    // Clustered history. A broker that keeps history itself (NatsBroker with JetStream) stores
    // every message of a history channel: the node then does not deliver its own publishes on
    // such channels itself but hands them to publish() only, and every copy, its own included,
    // comes back through LocalDelivery::deliverStored() with its position. subscribe() is not
    // called for history channels (the broker follows whole namespaces). Set once, before the
    // first publish, in the broker's thread.
    virtual void setHistory(const QList<HistoryNamespace> &namespaces) { Q_UNUSED(namespaces) }
    virtual bool keepsHistory() const { return false; }
    // Whether stored history can be served: the streams exist and this node has read what they
    // held when it started (all earlier messages were handed to deliverStored()). While false,
    // history reads and recoveries are answered with 503 and `historyProblem()` says why.
    virtual bool historyReady() const { return false; }
    virtual QString historyProblem() const { return {}; }
    // The epoch of namespace `pattern`'s stream (empty while unknown). From any thread.
    virtual QByteArray historyEpoch(const QByteArray &pattern) const {
        Q_UNUSED(pattern)
        return {};
    }

    // Presence (PROTOCOL.md "Presence channels"): a clustered broker carries the nodes'
    // presence messages on a subject of its own (PresenceStore explains them), handing other
    // nodes' ones to LocalDelivery::deliverPresence() in order with the channels' messages.
    // setPresence() once, in the broker's thread, before traffic; publishPresence() from any
    // thread. presenceConnected() is emitted whenever the broker (re)connected.
    virtual void setPresence(bool enabled) { Q_UNUSED(enabled) }
    virtual bool carriesPresence() const { return false; }
    virtual void publishPresence(const QByteArray &message) { Q_UNUSED(message) }

    // What the admin console and /metrics show of the broker.
    struct Stats {
        quint64 messagesIn = 0;      // received from other nodes
        quint64 messagesOut = 0;     // sent to other nodes
        quint64 drops = 0;           // received but dropped (hand-off queue full)
        quint64 publishFailures = 0; // publishes not sent to other nodes (bus refused or down)
        int subscriptions = 0;       // subscriptions held on the remote bus
        QString serverUrl;           // the bus server currently connected to, if any
        quint64 historyPublishFailures = 0; // history messages the store did not take
    };
    virtual Stats stats() const { return {}; }

Q_SIGNALS:
    void stateChanged(lhttp::Broker::State state);
    // historyReady() or historyProblem() changed.
    void historyStateChanged();
    void presenceConnected();

protected:
    LocalDelivery *local() const { return m_local; }

private:
    LocalDelivery *m_local = nullptr;
};

// The default, in-process broker: one node, no others to send to.
class LocalBroker final : public Broker {
    Q_OBJECT
public:
    using Broker::Broker;

    void subscribe(const QByteArray &) override {}
    void unsubscribe(const QByteArray &) override {}
    Error publish(const QByteArray &, const Frame &) override { return {}; }
    State state() const override { return State::Embedded; }
    QString description() const override { return QStringLiteral("embedded"); }
};

} // namespace lhttp

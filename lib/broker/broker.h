// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "error.h"

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

    // What the admin console and /metrics show of the broker.
    struct Stats {
        quint64 messagesIn = 0;      // received from other nodes
        quint64 messagesOut = 0;     // sent to other nodes
        quint64 drops = 0;           // received but dropped (hand-off queue full)
        quint64 publishFailures = 0; // publishes not sent to other nodes (bus refused or down)
        int subscriptions = 0;       // subscriptions held on the remote bus
        QString serverUrl;           // the bus server currently connected to, if any
    };
    virtual Stats stats() const { return {}; }

Q_SIGNALS:
    void stateChanged(lhttp::Broker::State state);

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

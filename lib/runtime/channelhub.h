// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "error.h"

#include <QByteArray>
#include <QHash>
#include <QList>

#include <memory>
#include <vector>

namespace lhttp {

class Broker;
class Frame;
class Session;

// Channel → local subscribers. The fan-out is a plain loop over a vector of sessions; each
// session remembers its position in every channel it joined, so leaving is O(1) in the
// channel's size and O(channels) in the session's.
class ChannelHub {
public:
    struct Channel {
        QByteArray name;
        std::vector<Session *> subscribers;
        bool wildcard = false;
    };

    ChannelHub();
    ~ChannelHub();
    ChannelHub(const ChannelHub &) = delete;
    ChannelHub &operator=(const ChannelHub &) = delete;

    // The broker is not owned. Channels that already have subscribers are subscribed on it.
    void setBroker(Broker *broker);
    Broker *broker() const { return m_broker; }

    // False when the session already was a subscriber (subscribe is idempotent).
    bool subscribe(Session *session, const QByteArray &channel);
    // False when the session was not a subscriber (a no-op, never an error).
    bool unsubscribe(Session *session, QByteArrayView channel);
    // Leaves every channel.
    void removeSession(Session *session);

    // Hands `frame` to the broker, which delivers it here and to other nodes.
    Error publish(const QByteArray &channel, const Frame &frame);
    // Sends `frame` to every local subscriber of `channel` (and of matching wildcard
    // channels). Returns the number of sessions it was sent to.
    int deliver(const QByteArray &channel, const Frame &frame);

    // `channel` as a QByteArray for publish(): the hub's own copy of the name (shared, no
    // allocation) while the channel has subscribers here, else a new one. The channel found
    // is remembered, so the deliver() that follows needs no second lookup.
    QByteArray channelName(QByteArrayView channel) const;

    int channelCount() const { return int(m_channels.size()); }
    qsizetype subscriptionCount() const { return m_subscriptions; }
    QList<QByteArray> channelNames() const;
    const Channel *channel(const QByteArray &name) const;

private:
    void detach(Session *session, Channel *channel);
    void dropIfEmpty(Channel *channel);
    int sendTo(Channel *channel, const Frame &frame);
    Channel *find(QByteArrayView name) const;

    QHash<QByteArray, Channel *> m_channels;
    std::vector<Channel *> m_wildcards;
    Broker *m_broker = nullptr;
    // The channel channelName() last found: the next channelName() compares with it before
    // hashing, and deliver() recognises its name by the shared buffer (same data pointer and
    // size) without a lookup. Reset when that channel is deleted.
    mutable Channel *m_recent = nullptr;
    qsizetype m_subscriptions = 0;
    int m_delivering = 0;
};

} // namespace lhttp

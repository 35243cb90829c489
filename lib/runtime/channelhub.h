// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "broker.h"
#include "error.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QVarLengthArray>

#include <vector>

namespace lhttp {

class Frame;
class Session;

// Channel → local subscribers. The fan-out is a plain loop over a vector of sessions; each
// session remembers its position in every channel it joined (its Memberships), so leaving is
// O(1) in the channel's size and O(channels) in the session's.
//
// The hub is this node's end of the broker: publish() hands a frame to the broker, which
// delivers it back here (LocalDelivery) and to the other nodes.
class ChannelHub final : public LocalDelivery {
public:
    struct Channel {
        QByteArray name;
        std::vector<Session *> subscribers;
        bool wildcard = false;
    };

    // A session's side of its subscriptions: for each channel, the session's index in the
    // channel's subscriber vector. Each Session holds one; only the hub changes it.
    class Memberships {
    public:
        qsizetype size() const { return m_list.size(); }
        bool isEmpty() const { return m_list.isEmpty(); }
        Channel *find(QByteArrayView name) const;
        QList<QByteArray> names() const;

        void add(Channel *channel, size_t index) { m_list.append({channel, index}); }
        // The index of `channel`'s entry in this list; -1 when there is none.
        qsizetype entry(const Channel *channel) const;
        size_t indexAt(qsizetype entry) const { return m_list[entry].index; }
        void setIndexAt(qsizetype entry, size_t index) { m_list[entry].index = index; }
        void removeAt(qsizetype entry) { m_list.remove(entry); }
        Channel *last() const { return m_list.back().channel; }

    private:
        struct Entry {
            Channel *channel;
            size_t index;
        };
        QVarLengthArray<Entry, 2> m_list;
    };

    ChannelHub();
    ~ChannelHub() override;
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

    // Hands `frame` to the broker, which delivers it here and to other nodes. The Error is
    // the broker's, for the other nodes only.
    Error publish(const QByteArray &channel, const Frame &frame);
    // LocalDelivery: what the broker hands back.
    int deliver(const QByteArray &channel, const Frame &frame) override;
    int deliverExact(const QByteArray &channel, const Frame &frame) override;

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

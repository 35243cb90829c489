// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "channelhub.h"

#include "channelname.h"
#include "frame.h"
#include "router.h"
#include "session.h"

#include <algorithm>
#include <cstring>

namespace lhttp {

ChannelHub::ChannelHub() = default;

ChannelHub::~ChannelHub() {
    qDeleteAll(m_channels);
}

ChannelHub::Channel *ChannelHub::Memberships::find(QByteArrayView name) const {
    for (const Entry &e : m_list) {
        if (e.channel->name == name)
            return e.channel;
    }
    return nullptr;
}

QList<QByteArray> ChannelHub::Memberships::names() const {
    QList<QByteArray> out;
    out.reserve(m_list.size());
    for (const Entry &e : m_list)
        out.append(e.channel->name);
    return out;
}

qsizetype ChannelHub::Memberships::entry(const Channel *channel) const {
    for (qsizetype i = 0; i < m_list.size(); ++i) {
        if (m_list[i].channel == channel)
            return i;
    }
    return -1;
}

bool ChannelHub::subscribe(Session *session, const QByteArray &name, const PresenceJoin *join) {
    if (session->memberships().find(name))
        return false;
    Channel *&slot = m_channels[name];
    const bool created = !slot;
    if (created) {
        slot = new Channel{name, {}, ChannelName::isWildcard(name), {}, false, {}};
        if (slot->wildcard)
            m_wildcards.push_back(slot);
        else
            slot->presence = m_router && m_router->isPresenceChannel(name);
    }
    Channel *channel = slot;
    session->memberships().add(channel, channel->subscribers.size());
    channel->subscribers.push_back(session);
    m_subscriptions.store(m_subscriptions.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
    if (m_router)
        m_router->subscriberAdded(m_loop, name, created);
    if (channel->presence) {
        if (join && join->watch)
            setWatch(channel, session, join->self);
        m_router->presenceJoined(*session, channel->name, join ? join->info : QByteArray());
    }
    return true;
}

void ChannelHub::setWatch(Channel *channel, Session *session, bool self) {
    for (auto &w : channel->watchers) {
        if (w.first == session) {
            w.second = self;
            return;
        }
    }
    channel->watchers.emplace_back(session, self);
}

bool ChannelHub::watch(Session *session, QByteArrayView name, bool self) {
    Channel *channel = session->memberships().find(name);
    if (!channel || !channel->presence)
        return false;
    setWatch(channel, session, self);
    return true;
}

void ChannelHub::detach(Session *session, Channel *channel) {
    Memberships &mine = session->memberships();
    const qsizetype entry = mine.entry(channel);
    if (entry < 0)
        return;
    // The last subscriber takes the leaver's place in the vector.
    const size_t index = mine.indexAt(entry);
    auto &subs = channel->subscribers;
    Session *moved = subs.back();
    subs[index] = moved;
    subs.pop_back();
    if (moved != session) {
        Memberships &theirs = moved->memberships();
        theirs.setIndexAt(theirs.entry(channel), index);
    }
    mine.removeAt(entry);
    if (!channel->floors.empty()) {
        auto &f = channel->floors;
        f.erase(std::remove_if(f.begin(), f.end(),
                               [session](const auto &e) { return e.first == session; }),
                f.end());
    }
    if (!channel->watchers.empty()) {
        auto &w = channel->watchers;
        w.erase(std::remove_if(w.begin(), w.end(),
                               [session](const auto &e) { return e.first == session; }),
                w.end());
    }
    m_subscriptions.store(m_subscriptions.load(std::memory_order_relaxed) - 1,
                          std::memory_order_relaxed);
    if (m_router)
        m_router->subscriberRemoved(m_loop, channel->name, subs.empty());
    if (channel->presence) // its leave, to the channel's watchers (this one is not one any more)
        m_router->presenceLeft(*session, channel->name);
}

void ChannelHub::dropIfEmpty(Channel *channel) {
    if (!channel->subscribers.empty())
        return;
    if (channel->wildcard)
        m_wildcards.erase(std::find(m_wildcards.begin(), m_wildcards.end(), channel));
    if (m_recent == channel)
        m_recent = nullptr;
    m_channels.remove(channel->name);
    delete channel;
}

bool ChannelHub::unsubscribe(Session *session, QByteArrayView name) {
    Channel *channel = session->memberships().find(name);
    if (!channel)
        return false;
    Q_ASSERT_X(!m_delivering, "ChannelHub", "unsubscribe during a fan-out");
    detach(session, channel);
    dropIfEmpty(channel);
    return true;
}

void ChannelHub::removeSession(Session *session) {
    // Sending never removes a session synchronously (disconnects arrive through the event
    // loop), so the vector a fan-out walks is never reordered under it.
    Q_ASSERT_X(!m_delivering, "ChannelHub", "session removed during a fan-out");
    while (!session->memberships().isEmpty()) {
        Channel *channel = session->memberships().last();
        detach(session, channel);
        dropIfEmpty(channel);
    }
}

void ChannelHub::setFloor(Session *session, const QByteArray &name, quint64 offset) {
    Channel *channel = session->memberships().find(name);
    if (!channel)
        return;
    for (auto &e : channel->floors) {
        if (e.first == session) {
            e.second = offset;
            return;
        }
    }
    channel->floors.emplace_back(session, offset);
}

int ChannelHub::sendAboveFloors(Channel *channel, const Frame &frame) {
    auto &floors = channel->floors;
    int sent = 0;
    for (Session *s : channel->subscribers) {
        if (s->isClosing())
            continue;
        const auto f =
            std::find_if(floors.begin(), floors.end(), [s](const auto &e) { return e.first == s; });
        if (f != floors.end()) {
            if (frame.offset() <= f->second)
                continue; // replayed by its recovery already
            // Offsets only grow from here: this session needs no floor any more.
            *f = floors.back();
            floors.pop_back();
        }
        s->send(frame);
        ++sent;
    }
    return sent;
}

int ChannelHub::sendEvent(Channel *channel, const Frame &frame) {
    const quint64 about = frame.eventSession();
    int sent = 0;
    for (const auto &[s, self] : channel->watchers) {
        if (s->isClosing() || (!self && about != 0 && s->id() == about))
            continue;
        s->send(frame);
        ++sent;
    }
    if (sent && m_router)
        m_router->presence().counters().eventsSent.fetch_add(quint64(sent),
                                                             std::memory_order_relaxed);
    return sent;
}

int ChannelHub::sendTo(Channel *channel, const Frame &frame) {
    if (frame.isPresenceEvent())
        return channel->wildcard ? 0 : sendEvent(channel, frame);
    if (!channel->floors.empty() && frame.offset() != 0)
        return sendAboveFloors(channel, frame);
    int sent = 0;
    for (Session *s : channel->subscribers) {
        if (s->isClosing())
            continue;
        s->send(frame);
        ++sent;
    }
    return sent;
}

ChannelHub::Channel *ChannelHub::find(QByteArrayView name) const {
    // fromRawData: a lookup key without copying the name.
    return m_channels.value(QByteArray::fromRawData(name.data(), name.size()));
}

QByteArray ChannelHub::channelName(QByteArrayView channel) const {
    // A publisher usually sends to the same channel again: compare with the last one found
    // before hashing.
    const bool same =
        m_recent && m_recent->name.size() == channel.size() &&
        std::memcmp(m_recent->name.constData(), channel.data(), size_t(channel.size())) == 0;
    if (!same)
        m_recent = find(channel);
    return m_recent ? m_recent->name : channel.toByteArray();
}

int ChannelHub::deliver(const QByteArray &name, const Frame &frame) {
    ++m_delivering;
    int sent = 0;
    Channel *c = m_recent;
    if (!c || c->name.constData() != name.constData() || c->name.size() != name.size())
        c = m_channels.value(name);
    if (c && !c->wildcard)
        sent += sendTo(c, frame);
    for (Channel *w : m_wildcards) {
        if (ChannelName::matches(w->name, name))
            sent += sendTo(w, frame);
    }
    --m_delivering;
    return sent;
}

int ChannelHub::deliverExact(const QByteArray &name, const Frame &frame) {
    Channel *c = m_channels.value(name);
    if (!c)
        return 0;
    ++m_delivering;
    const int sent = sendTo(c, frame);
    --m_delivering;
    return sent;
}

QList<QByteArray> ChannelHub::channelNames() const {
    return m_channels.keys();
}

const ChannelHub::Channel *ChannelHub::channel(const QByteArray &name) const {
    return m_channels.value(name);
}

} // namespace lhttp

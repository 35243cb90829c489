// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "sessiontable.h"

#include "session.h"

namespace lhttp {

void PeerCounts::add(const QHostAddress &address) {
    QMutexLocker lock(&m_mutex);
    ++m_perAddress[address];
    m_total.fetch_add(1, std::memory_order_relaxed);
}

void PeerCounts::remove(const QHostAddress &address) {
    QMutexLocker lock(&m_mutex);
    if (auto it = m_perAddress.find(address); it != m_perAddress.end() && --*it <= 0)
        m_perAddress.erase(it);
    m_total.fetch_sub(1, std::memory_order_relaxed);
}

int PeerCounts::from(const QHostAddress &address) const {
    QMutexLocker lock(&m_mutex);
    return m_perAddress.value(address);
}

void SessionTable::insert(Session *session) {
    m_sessions.insert(session->id(), session);
    m_count.store(int(m_sessions.size()), std::memory_order_relaxed);
    m_peers.add(session->peerAddress());
}

void SessionTable::remove(Session *session) {
    if (!m_sessions.remove(session->id()))
        return;
    m_count.store(int(m_sessions.size()), std::memory_order_relaxed);
    m_peers.remove(session->peerAddress());
}

} // namespace lhttp

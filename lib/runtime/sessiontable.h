// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QHash>
#include <QHostAddress>
#include <QList>

namespace lhttp {

class Session;

// The open sessions of a node, by id, and how many come from each address (the
// per-address connection limit). Owned by the Server; the listener asks it before a handshake,
// the upstream forwarder finds the sender of an answer by id (never by pointer: the sender may
// be gone).
class SessionTable {
public:
    void insert(Session *session);
    void remove(Session *session);
    Session *find(quint64 id) const { return m_sessions.value(id); }
    int count() const { return int(m_sessions.size()); }
    bool isEmpty() const { return m_sessions.isEmpty(); }
    int connectionsFrom(const QHostAddress &address) const { return m_perAddress.value(address); }
    QList<Session *> all() const { return m_sessions.values(); }
    QList<quint64> ids() const { return m_sessions.keys(); }

    using const_iterator = QHash<quint64, Session *>::const_iterator;
    const_iterator begin() const { return m_sessions.cbegin(); }
    const_iterator end() const { return m_sessions.cend(); }

private:
    QHash<quint64, Session *> m_sessions;
    QHash<QHostAddress, int> m_perAddress;
};

} // namespace lhttp

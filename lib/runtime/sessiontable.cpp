// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "sessiontable.h"

#include "session.h"

namespace lhttp {

void SessionTable::insert(Session *session) {
    m_sessions.insert(session->id(), session);
    ++m_perAddress[session->peerAddress()];
}

void SessionTable::remove(Session *session) {
    if (!m_sessions.remove(session->id()))
        return;
    if (auto it = m_perAddress.find(session->peerAddress()); it != m_perAddress.end() && --*it <= 0)
        m_perAddress.erase(it);
}

} // namespace lhttp

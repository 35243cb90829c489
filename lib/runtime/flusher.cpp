// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "flusher.h"

#include "session.h"

#include <QCoreApplication>
#include <QEvent>

namespace lhttp {

namespace {
const QEvent::Type FlushEvent = QEvent::Type(QEvent::registerEventType());
} // namespace

int Flusher::schedule(Session *session, const QObject *wire) {
    if (!m_posted) {
        // Posted events are handled at the start of the next pass, after everything this
        // pass's sockets and timers produced.
        m_posted = true;
        QCoreApplication::postEvent(this, new QEvent(FlushEvent));
    }
    m_dirty.push_back({session, wire});
    m_byWire.insert(wire, session);
    return int(m_dirty.size() - 1);
}

void Flusher::cancel(int slot) {
    Dirty &d = m_dirty[size_t(slot)];
    d.session = nullptr;
    m_byWire.remove(d.wire);
}

void Flusher::writeBeforeRead(const QObject *wire) {
    if (m_byWire.isEmpty())
        return;
    if (Session *s = m_byWire.value(wire))
        s->writeQueued(); // cancels its slot
}

void Flusher::flush() {
    m_posted = false;
    // A session's writeQueued() never schedules again (it writes or hands bytes to its
    // socket), so the list does not grow while it is walked; cancelled slots are null.
    for (size_t i = 0; i < m_dirty.size(); ++i) {
        if (Session *s = m_dirty[i].session)
            s->writeQueued();
    }
    m_dirty.clear();
    m_byWire.clear();
}

void Flusher::customEvent(QEvent *event) {
    if (event->type() == FlushEvent && m_posted)
        flush();
}

} // namespace lhttp

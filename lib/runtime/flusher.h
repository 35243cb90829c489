// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QHash>
#include <QObject>

#include <vector>

namespace lhttp {

class Session;

// One write per connection per pass of the event loop, however many messages the pass
// produced for it. Sessions queue the frames they send (shared bytes, no copy) and schedule
// themselves here on the first one; a posted event, handled once the pass's other work is
// done, has each of them write its queue with one system call. Without it every delivery
// cost a write, and Qt's buffered sockets toggled their write notifier for each burst.
//
// Order on the wire: QWebSocket writes its own frames (a pong, a close reply) when it reads
// the peer's, straight into the socket. So a connection about to be read first writes what
// it has queued (writeBeforeRead(), hooked to the socket ahead of QWebSocket): a pong still
// follows every message sent before it, as clients rely on (Client::ping()).
class Flusher : public QObject {
public:
    using QObject::QObject;

    // The session has its first queued frame of this pass; `wire` is its socket. Returns
    // its slot, for cancel().
    int schedule(Session *session, const QObject *wire);
    // The session goes away (or wrote its queue itself) before the flush.
    void cancel(int slot);
    // Writes every scheduled session's queue now.
    void flush();
    // `wire` is about to be read: its session writes its queue first.
    void writeBeforeRead(const QObject *wire);

protected:
    void customEvent(QEvent *event) override;

private:
    struct Dirty {
        Session *session; // null once cancelled
        const QObject *wire;
    };
    std::vector<Dirty> m_dirty;
    QHash<const QObject *, Session *> m_byWire;
    bool m_posted = false;
};

} // namespace lhttp

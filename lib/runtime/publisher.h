// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "error.h"

#include <QByteArrayView>
#include <QVarLengthArray>

namespace lhttp {

class ChannelHub;
class Frame;
class NodeEvents;
class Router;
class Session;
struct Counters;
struct ServerOptions;

// The one way a message reaches channels, whoever sends it: a client's `publish` header, the
// server-side API (Server::publish), POST /publish and the admin console all come here.
class Publisher {
public:
    using Channels = QVarLengthArray<QByteArrayView, 4>;

    // For event loop `loop` of the node: `hub` is that loop's, `router` the node's.
    Publisher(ChannelHub &hub, Router &router, int loop, const ServerOptions &options,
              Counters &counters, NodeEvents &events);

    // Checks every channel first (nothing is published when one is not a valid channel to
    // publish to: 400), then hands the same frame to the router for each channel in order —
    // one copy per listed channel, as PROTOCOL.md §3 says —, counts and notifies. A broker error
    // (the message reached this node's subscribers, not the others) is returned after every
    // channel has been served; the first one wins.
    Error publish(const Channels &channels, const Frame &frame, const Session *from = nullptr);
    // What publish() checks before anything is sent: every channel valid to publish to (400),
    // no client-set `position` header (`carriesPosition`) on a history channel (400), and no
    // `join` or `leave` header (`carriesPresence`) on a presence channel (400).
    Error check(const Channels &channels, bool carriesPosition, bool carriesPresence) const;

private:
    ChannelHub &m_hub;
    Router &m_router;
    int m_loop;
    const ServerOptions &m_options;
    Counters &m_counters;
    NodeEvents &m_events;
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "processor.h"

namespace lhttp {

class ChannelHub;
class NodeEvents;
class Publisher;
class Router;
struct ServerOptions;

// `multipart`: parses the parts before the processor runs, so it can read them.
class MultipartFilter final : public HeaderFilter {
public:
    explicit MultipartFilter(const ServerOptions &options)
        : m_options(options) {}
    bool beforeMessage(Session &session) override;

private:
    const ServerOptions &m_options;
};

// `subscribe` (with `recover`), `history`, `publish`, `unsubscribe`, applied in that order
// after the processor. Every listed channel of all the headers is checked first (names, token
// grants, the channel limit, history namespaces), so a message with one bad channel changes
// nothing and gets one error reply.
class PubSubFilter final : public HeaderFilter {
public:
    PubSubFilter(const ServerOptions &options, ChannelHub &hub, Publisher &publisher,
                 Router &router, int loop, NodeEvents &events)
        : m_options(options)
        , m_hub(hub)
        , m_publisher(publisher)
        , m_router(router)
        , m_loop(loop)
        , m_events(events) {}
    void afterMessage(Session &session) override;

private:
    const ServerOptions &m_options;
    ChannelHub &m_hub;
    Publisher &m_publisher;
    Router &m_router;
    int m_loop;
    NodeEvents &m_events;
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "processor.h"

namespace lhttp {

class ChannelHub;
class NodeEvents;
class Publisher;
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

// `subscribe`, `publish`, `unsubscribe`, applied in that order after the processor. Every
// listed channel of all three headers is checked first (names, token grants, the channel
// limit), so a message with one bad channel changes nothing and gets one error reply.
class PubSubFilter final : public HeaderFilter {
public:
    PubSubFilter(const ServerOptions &options, ChannelHub &hub, Publisher &publisher,
                 NodeEvents &events)
        : m_options(options)
        , m_hub(hub)
        , m_publisher(publisher)
        , m_events(events) {}
    void afterMessage(Session &session) override;

private:
    const ServerOptions &m_options;
    ChannelHub &m_hub;
    Publisher &m_publisher;
    NodeEvents &m_events;
};

} // namespace lhttp

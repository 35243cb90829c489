// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "publisher.h"

#include "channelhub.h"
#include "channelname.h"
#include "counters.h"
#include "frame.h"
#include "nodeevents.h"
#include "position.h"
#include "router.h"
#include "serveroptions.h"

namespace lhttp {

Publisher::Publisher(ChannelHub &hub, Router &router, int loop, const ServerOptions &options,
                     Counters &counters, NodeEvents &events)
    : m_hub(hub)
    , m_router(router)
    , m_loop(loop)
    , m_options(options)
    , m_counters(counters)
    , m_events(events) {}

Error Publisher::check(const Channels &channels, bool carriesPosition, bool carriesPresence) const {
    if (channels.isEmpty())
        return Error::make(Status::BadRequest, "no channel to publish to");
    for (QByteArrayView c : channels) {
        if (Error e = ChannelName::validate(c, ChannelName::Use::Publish, false,
                                            m_options.limits.maxChannelLength))
            return e;
        if (carriesPosition && m_router.historyNamespace(c))
            return Error::make(Status::BadRequest,
                               "position is set by the server: a publish to history channel '" +
                                   c.toByteArray() + "' may not carry one");
        if (carriesPresence && m_router.isPresenceChannel(c))
            return Error::make(Status::BadRequest,
                               "join and leave are set by the server: a publish to presence "
                               "channel '" +
                                   c.toByteArray() + "' may not carry them");
    }
    return {};
}

Error Publisher::publish(const Channels &channels, const Frame &frame, const Session *from) {
    // The position scan only when some namespace could apply.
    const bool carriesPosition =
        m_router.history().isEnabled() && HistoryHeaders::hasHeader(frame.bytes(), "position");
    const bool carriesPresence =
        m_router.presence().isEnabled() && (HistoryHeaders::hasHeader(frame.bytes(), "join") ||
                                            HistoryHeaders::hasHeader(frame.bytes(), "leave"));
    if (Error e = check(channels, carriesPosition, carriesPresence))
        return e;
    Error remote;
    for (QByteArrayView c : channels) {
        const QByteArray channel = m_hub.channelName(c); // no allocation when subscribed here
        if (Error e = m_router.publish(m_loop, channel, frame); e && !remote)
            remote = std::move(e);
        ++m_counters.publishes;
        m_events.notePublished(channel, frame.size(), from);
    }
    return remote;
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "publisher.h"

#include "channelhub.h"
#include "channelname.h"
#include "counters.h"
#include "frame.h"
#include "nodeevents.h"
#include "serveroptions.h"

namespace lhttp {

Publisher::Publisher(ChannelHub &hub, const ServerOptions &options, Counters &counters,
                     NodeEvents &events)
    : m_hub(hub)
    , m_options(options)
    , m_counters(counters)
    , m_events(events) {}

Error Publisher::publish(const Channels &channels, const Frame &frame) {
    if (channels.isEmpty())
        return Error::make(Status::BadRequest, "no channel to publish to");
    for (QByteArrayView c : channels) {
        if (Error e = ChannelName::validate(c, ChannelName::Use::Publish, false,
                                            m_options.limits.maxChannelLength))
            return e;
    }
    Error remote;
    for (QByteArrayView c : channels) {
        const QByteArray channel = m_hub.channelName(c); // no allocation when subscribed here
        if (Error e = m_hub.publish(channel, frame); e && !remote)
            remote = std::move(e);
        ++m_counters.publishes;
        m_events.notePublished(channel, frame.size());
    }
    return remote;
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "builtinfilters.h"

#include "channelhub.h"
#include "channelname.h"
#include "frame.h"
#include "nodeevents.h"
#include "publisher.h"
#include "serveroptions.h"
#include "session.h"
#include "token.h"

#include <algorithm>

namespace lhttp {

namespace {

constexpr QByteArrayView SubscribeHeader = "subscribe";
constexpr QByteArrayView PublishHeader = "publish";
constexpr QByteArrayView UnsubscribeHeader = "unsubscribe";
constexpr QByteArrayView MultipartHeader = "multipart";

using ChannelList = QVarLengthArray<QByteArrayView, 4>;

Error validateAll(const ChannelList &channels, ChannelName::Use use, bool allowWildcards,
                  int maxLength) {
    for (QByteArrayView c : channels) {
        if (Error e = ChannelName::validate(c, use, allowWildcards, maxLength))
            return e;
    }
    return {};
}

} // namespace

bool MultipartFilter::beforeMessage(Session &session) {
    const QByteArrayView offsets = session.header(MultipartHeader);
    if (offsets.isNull())
        return true;
    Error error;
    QList<Part> parts = Multipart::parse(offsets, session.body(), m_options.limits, &error);
    if (error) {
        session.replyError(error);
        return false;
    }
    session.setParts(std::move(parts));
    return true;
}

void PubSubFilter::afterMessage(Session &session) {
    const Message &message = session.message();
    const ChannelList subscribe = splitTokens(message.header(SubscribeHeader));
    const ChannelList publish = splitTokens(message.header(PublishHeader));
    const ChannelList unsubscribe = splitTokens(message.header(UnsubscribeHeader));
    if (subscribe.isEmpty() && publish.isEmpty() && unsubscribe.isEmpty())
        return;

    const ServerOptions &options = m_options;
    const int maxLength = options.limits.maxChannelLength;
    Error error =
        validateAll(subscribe, ChannelName::Use::Subscribe, options.allowWildcards, maxLength);
    if (!error)
        error = validateAll(publish, ChannelName::Use::Publish, false, maxLength);
    if (!error) // leaving needs no permission: unsubscribing from `>` is always fine
        error = validateAll(unsubscribe, ChannelName::Use::Subscribe, true, maxLength);
    if (const Claims *claims = session.claims(); claims && !error) {
        for (QByteArrayView c : subscribe) {
            if (!claims->maySubscribe(c)) {
                error = Error::make(Status::Forbidden, "token does not allow subscribing to '" +
                                                           c.toByteArray() + "'");
                break;
            }
        }
        for (QByteArrayView c : publish) {
            if (!error && !claims->mayPublish(c))
                error = Error::make(Status::Forbidden,
                                    "token does not allow publishing to '" + c.toByteArray() + "'");
        }
    }
    if (!error && !subscribe.isEmpty()) {
        int joining = 0;
        for (qsizetype i = 0; i < subscribe.size(); ++i) {
            const QByteArrayView c = subscribe[i];
            const bool repeated =
                std::find(subscribe.begin(), subscribe.begin() + i, c) != subscribe.begin() + i;
            joining += (repeated || session.isSubscribed(c)) ? 0 : 1;
        }
        if (session.channelCount() + joining > options.maxChannelsPerConnection)
            error = Error::make(Status::Forbidden,
                                "channel limit of " +
                                    QByteArray::number(options.maxChannelsPerConnection) +
                                    " per connection reached");
    }
    if (error) {
        session.replyError(error);
        session.drop();
        return;
    }

    for (QByteArrayView c : subscribe) {
        const QByteArray channel = c.toByteArray();
        if (m_hub.subscribe(&session, channel))
            m_events.noteSubscription(session, channel, true);
    }
    if (!publish.isEmpty()) {
        // One serialisation (none at all when the message is forwarded unchanged) shared by
        // every channel and every subscriber.
        if (Error remote = m_publisher.publish(publish, session.messageFrame(), &session))
            session.replyError(remote);
    }
    for (QByteArrayView c : unsubscribe) {
        const QByteArray channel = c.toByteArray();
        if (m_hub.unsubscribe(&session, channel))
            m_events.noteSubscription(session, channel, false);
    }
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "builtinfilters.h"

#include "channelhub.h"
#include "channelname.h"
#include "frame.h"
#include "nodeevents.h"
#include "position.h"
#include "publisher.h"
#include "router.h"
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
constexpr QByteArrayView RecoverHeader = "recover";
constexpr QByteArrayView HistoryHeader = "history";
constexpr QByteArrayView PositionHeader = "position";

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
    const QByteArrayView recoverValue = message.header(RecoverHeader);
    const QByteArrayView historyValue = message.header(HistoryHeader);
    if (subscribe.isEmpty() && publish.isEmpty() && unsubscribe.isEmpty() &&
        recoverValue.isNull() && historyValue.isNull())
        return;

    const ServerOptions &options = m_options;
    const int maxLength = options.limits.maxChannelLength;
    Error error =
        validateAll(subscribe, ChannelName::Use::Subscribe, options.allowWildcards, maxLength);
    if (!error)
        error = publish.isEmpty() ? Error()
                                  : m_publisher.check(publish, message.hasHeader(PositionHeader));
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
    // History: the recover and history headers name channels of a history namespace that the
    // connection may subscribe to; a publish to one may not carry its own position.
    HistoryHeaders::Recover recover;
    HistoryHeaders::Read read;
    const HistoryNamespace *recoverNs = nullptr;
    const HistoryNamespace *readNs = nullptr;
    const auto historyChannel = [&](QByteArrayView header, QByteArrayView c,
                                    const HistoryNamespace **ns) {
        if (Error e = ChannelName::validate(c, ChannelName::Use::Subscribe, false, maxLength))
            return e;
        if (!(*ns = m_router.historyNamespace(c)))
            return Error::make(Status::NotFound, header.toByteArray() + ": channel '" +
                                                     c.toByteArray() + "' keeps no history");
        if (Error e = m_router.historyServable())
            return e;
        if (const Claims *claims = session.claims(); claims && !claims->maySubscribe(c))
            return Error::make(Status::Forbidden,
                               "token does not allow subscribing to '" + c.toByteArray() + "'");
        return Error();
    };
    if (!error && !recoverValue.isNull()) {
        error = HistoryHeaders::parseRecover(recoverValue, &recover);
        if (!error &&
            std::find(subscribe.begin(), subscribe.end(), recover.channel) == subscribe.end())
            error = Error::make(Status::BadRequest,
                                "recover: channel '" + recover.channel.toByteArray() +
                                    "' is not in this message's subscribe header");
        if (!error)
            error = historyChannel(RecoverHeader, recover.channel, &recoverNs);
    }
    if (!error && !historyValue.isNull()) {
        error = HistoryHeaders::parseRead(historyValue, options.historyReadMax, &read);
        if (!error)
            error = historyChannel(HistoryHeader, read.channel, &readNs);
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
    const auto answer = [&](QByteArrayView header, const QByteArray &value,
                            const Router::HistoryAnswer &a) {
        if (a.error) {
            session.replyError(a.error);
            return;
        }
        session.reply({}, {}, {{header, value}});
        for (const Frame &f : a.frames)
            session.send(f);
    };
    if (recoverNs) {
        const QByteArray channel = recover.channel.toByteArray();
        const Router::HistoryAnswer a = m_router.recover(
            m_loop, &session, channel, *recoverNs, recover.hasPosition ? &recover.from : nullptr);
        answer("recovered",
               channel + (a.recovered ? " true " : " false ") +
                   QByteArray::number(a.frames.size()) + ' ' + a.top.toText(),
               a);
    }
    if (readNs) {
        const QByteArray channel = read.channel.toByteArray();
        const Router::HistoryAnswer a =
            m_router.read(channel, *readNs, read.limit, read.hasPosition ? &read.after : nullptr);
        answer(HistoryHeader,
               channel + ' ' + QByteArray::number(a.frames.size()) + ' ' + a.top.toText(), a);
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

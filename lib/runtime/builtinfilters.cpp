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

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

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
constexpr QByteArrayView PresenceHeader = "presence";
constexpr QByteArrayView PresenceStatsHeader = "presence-stats";
constexpr QByteArrayView PresenceInfoHeader = "presence-info";
constexpr QByteArrayView JoinsHeader = "joins";
constexpr QByteArrayView JoinsSelfHeader = "joins-self";

using ChannelList = QVarLengthArray<QByteArrayView, 4>;

bool contains(const ChannelList &list, QByteArrayView c) {
    return std::find(list.begin(), list.end(), c) != list.end();
}

Error validateAll(const ChannelList &channels, ChannelName::Use use, bool allowWildcards,
                  int maxLength) {
    for (QByteArrayView c : channels) {
        if (Error e = ChannelName::validate(c, use, allowWildcards, maxLength))
            return e;
    }
    return {};
}

// A presence read's body: a JSON array of entries.
QByteArray presenceJson(const PresenceList &list) {
    QJsonArray out;
    for (const PresenceEntry &e : list.entries) {
        out.append(QJsonObject{{QStringLiteral("client"), QString::fromLatin1(e.client)},
                               {QStringLiteral("node"), QString::fromUtf8(e.node)},
                               {QStringLiteral("user"), QString::fromUtf8(e.user)},
                               {QStringLiteral("info"), QString::fromUtf8(e.info)}});
    }
    return QJsonDocument(out).toJson(QJsonDocument::Compact);
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
    const QByteArrayView presenceValue = message.header(PresenceHeader);
    const QByteArrayView statsValue = message.header(PresenceStatsHeader);
    const ChannelList joins = splitTokens(message.header(JoinsHeader));
    const ChannelList joinsSelf = splitTokens(message.header(JoinsSelfHeader));
    if (subscribe.isEmpty() && publish.isEmpty() && unsubscribe.isEmpty() &&
        recoverValue.isNull() && historyValue.isNull() && presenceValue.isNull() &&
        statsValue.isNull() && joins.isEmpty() && joinsSelf.isEmpty())
        return;

    const ServerOptions &options = m_options;
    const int maxLength = options.limits.maxChannelLength;
    Error error =
        validateAll(subscribe, ChannelName::Use::Subscribe, options.allowWildcards, maxLength);
    if (!error)
        error = publish.isEmpty()
                    ? Error()
                    : m_publisher.check(publish, message.hasHeader(PositionHeader),
                                        message.hasHeader("join") || message.hasHeader("leave"));
    if (!error) // leaving needs no permission: unsubscribing from `>` is always fine
        error = validateAll(unsubscribe, ChannelName::Use::Subscribe, true, maxLength);
    // The token's grant to subscribe to `c`, which reads of a channel need too.
    const auto subscribeGrant = [&session](QByteArrayView c) {
        const Claims *claims = session.claims();
        if (claims && !claims->maySubscribe(c))
            return Error::make(Status::Forbidden,
                               "token does not allow subscribing to '" + c.toByteArray() + "'");
        return Error();
    };
    if (const Claims *claims = session.claims(); claims && !error) {
        for (QByteArrayView c : subscribe) {
            if ((error = subscribeGrant(c)))
                break;
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
        return subscribeGrant(c);
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
    // Presence: reads and event opt-ins name presence channels; joining is rate-limited.
    const QByteArrayView info = message.header(PresenceInfoHeader);
    QByteArrayView presenceChannel;
    QByteArrayView statsChannel;
    QByteArrayView statsUser;
    const auto presenceRead = [&](QByteArrayView header, QByteArrayView c) {
        if (ChannelName::isWildcard(c))
            return Error::make(Status::BadRequest, header.toByteArray() + ": channel '" +
                                                       c.toByteArray() + "' is a wildcard");
        if (Error e = ChannelName::validate(c, ChannelName::Use::Subscribe, true, maxLength))
            return Error::make(e.code, header.toByteArray() + ": " + e.reason);
        if (!m_router.isPresenceChannel(c))
            return Error::make(Status::NotFound, header.toByteArray() + ": channel '" +
                                                     c.toByteArray() + "' has no presence");
        return subscribeGrant(c);
    };
    if (!error && !presenceValue.isNull()) {
        presenceChannel = presenceValue.trimmed();
        error = presenceRead(PresenceHeader, presenceChannel);
    }
    if (!error && !statsValue.isNull()) {
        const QByteArrayView v = statsValue.trimmed();
        const auto blank =
            std::find_if(v.begin(), v.end(), [](char c) { return c == ' ' || c == '\t'; });
        const qsizetype space = blank == v.end() ? -1 : blank - v.begin();
        statsChannel = space < 0 ? v : v.first(space);
        statsUser = space < 0 ? QByteArrayView() : v.sliced(space + 1).trimmed();
        error = presenceRead(PresenceStatsHeader, statsChannel);
    }
    for (const ChannelList *list : {&joins, &joinsSelf}) {
        const QByteArrayView header = list == &joins ? JoinsHeader : JoinsSelfHeader;
        for (QByteArrayView c : *list) {
            if (error)
                break;
            error = presenceRead(header, c);
            if (!error && !contains(subscribe, c) && !session.isSubscribed(c))
                error =
                    Error::make(Status::BadRequest, header.toByteArray() + ": not subscribed to '" +
                                                        c.toByteArray() + "'");
        }
    }
    int presenceJoins = 0;
    if (!error && m_router.presence().isEnabled()) {
        if (info.size() > options.presenceInfoMax)
            error = Error::make(Status::PayloadTooLarge,
                                "presence-info: longer than " +
                                    QByteArray::number(options.presenceInfoMax) + " bytes");
        for (qsizetype i = 0; i < subscribe.size(); ++i) {
            const QByteArrayView c = subscribe[i];
            if (m_router.isPresenceChannel(c) && !session.isSubscribed(c) &&
                std::find(subscribe.begin(), subscribe.begin() + i, c) == subscribe.begin() + i)
                ++presenceJoins;
        }
        // Last: a refused message takes none of the connection's joins.
        if (!error && presenceJoins > 0 && !session.admitPresenceJoins(presenceJoins)) {
            m_router.presence().counters().rateLimited.fetch_add(1, std::memory_order_relaxed);
            error = Error::make(Status::TooManyRequests,
                                "presence: more than " + QByteArray::number(options.presenceRate) +
                                    " joins per second");
        }
    }
    if (error) {
        session.replyError(error);
        session.drop();
        return;
    }

    for (QByteArrayView c : subscribe) {
        const QByteArray channel = c.toByteArray();
        ChannelHub::PresenceJoin join;
        const bool presence = presenceJoins > 0 && m_router.isPresenceChannel(c);
        if (presence) {
            join.info = info.toByteArray();
            join.self = contains(joinsSelf, c);
            join.watch = join.self || contains(joins, c);
        }
        if (m_hub.subscribe(&session, channel, presence ? &join : nullptr))
            m_events.noteSubscription(session, channel, true);
    }
    for (QByteArrayView c : joins)
        m_hub.watch(&session, c, contains(joinsSelf, c));
    for (QByteArrayView c : joinsSelf)
        m_hub.watch(&session, c, true);
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
    if (!presenceChannel.isNull()) {
        const QByteArray channel = presenceChannel.toByteArray();
        const PresenceList list = m_router.presence().list(channel, options.presenceListMax);
        m_router.presence().counters().reads.fetch_add(1, std::memory_order_relaxed);
        session.reply(presenceJson(list), {},
                      {{PresenceHeader, channel + ' ' + QByteArray::number(list.total) + ' ' +
                                            QByteArray::number(list.entries.size())}});
    }
    if (!statsChannel.isNull()) {
        const QByteArray channel = statsChannel.toByteArray();
        const PresenceStats stats = m_router.presence().stats(channel, statsUser);
        m_router.presence().counters().reads.fetch_add(1, std::memory_order_relaxed);
        QByteArray value = channel + ' ' + QByteArray::number(stats.connections) + ' ' +
                           QByteArray::number(stats.users);
        if (!statsUser.isEmpty())
            value += ' ' + QByteArray::number(stats.userConnections);
        session.reply({}, {}, {{PresenceStatsHeader, value}});
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

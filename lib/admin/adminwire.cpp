// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "adminwire.h"

#include "message.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>

namespace lhttp {

namespace Admin {

namespace {

struct BrokerStateName {
    Broker::State state;
    const char *name;
};
constexpr BrokerStateName BrokerStateNames[] = {
    {Broker::State::Embedded, "embedded"},         {Broker::State::Connecting, "connecting"},
    {Broker::State::Connected, "connected"},       {Broker::State::Reconnecting, "reconnecting"},
    {Broker::State::Disconnected, "disconnected"},
};

QString brokerStateName(Broker::State state) {
    for (const auto &n : BrokerStateNames) {
        if (n.state == state)
            return QString::fromLatin1(n.name);
    }
    return QStringLiteral("embedded");
}

Broker::State brokerStateFromName(const QString &name) {
    for (const auto &n : BrokerStateNames) {
        if (name == QLatin1String(n.name))
            return n.state;
    }
    return Broker::State::Embedded;
}

QString str(const QByteArray &bytes) {
    return QString::fromUtf8(bytes);
}

QByteArray bytes(const QJsonValue &value) {
    return value.toString().toUtf8();
}

quint64 u64(const QJsonValue &value) {
    const double d = value.toDouble();
    return d > 0 ? quint64(d) : 0;
}

QJsonArray statsArray(const Stats &s) {
    return QJsonArray{double(s.messagesIn), double(s.bytesIn), double(s.messagesOut),
                      double(s.bytesOut)};
}

Stats statsFromArray(const QJsonArray &a, qsizetype first) {
    Stats s;
    s.messagesIn = u64(a.at(first));
    s.bytesIn = u64(a.at(first + 1));
    s.messagesOut = u64(a.at(first + 2));
    s.bytesOut = u64(a.at(first + 3));
    return s;
}

QJsonArray channelNames(const QByteArrayList &channels) {
    QJsonArray out;
    for (const QByteArray &c : channels)
        out.append(str(c));
    return out;
}

QJsonObject toJson(const Connection &c) {
    return QJsonObject{{QStringLiteral("id"), double(c.id)},
                       {QStringLiteral("peer"), c.peer},
                       {QStringLiteral("origin"), c.origin},
                       {QStringLiteral("since"), double(c.connectedAtMs)},
                       {QStringLiteral("channels"), channelNames(c.channels)},
                       {QStringLiteral("stats"), statsArray(c.stats)}};
}

Connection connectionFromJson(const QJsonObject &o) {
    Connection c;
    c.id = u64(o.value(QLatin1String("id")));
    c.peer = o.value(QLatin1String("peer")).toString();
    c.origin = o.value(QLatin1String("origin")).toString();
    c.connectedAtMs = qint64(o.value(QLatin1String("since")).toDouble());
    const QJsonArray channels = o.value(QLatin1String("channels")).toArray();
    for (const QJsonValue &v : channels)
        c.channels.append(bytes(v));
    c.stats = statsFromArray(o.value(QLatin1String("stats")).toArray(), 0);
    return c;
}

QJsonObject toJson(const Channel &c, bool activity) {
    QJsonObject o{{QStringLiteral("name"), str(c.name)}, {QStringLiteral("subs"), c.subscribers}};
    if (activity) {
        o.insert(QStringLiteral("pub"), double(c.publishes));
        o.insert(QStringLiteral("bytes"), double(c.bytes));
        o.insert(QStringLiteral("deliv"), double(c.deliveries));
    }
    // Only history channels carry it: plain ones stay as compact as before, and a console that
    // does not know the key ignores it.
    if (c.isHistory())
        o.insert(QStringLiteral("hist"),
                 QJsonObject{{QStringLiteral("size"), c.historySize},
                             {QStringLiteral("stored"), c.historyStored},
                             {QStringLiteral("offset"), double(c.lastOffset)},
                             {QStringLiteral("epoch"), str(c.epoch)}});
    // Likewise presence channels: entries as [client, node, user, info] arrays, the compact
    // form for up to MaxPresenceMembers of them.
    if (c.isPresence()) {
        QJsonArray members;
        for (const PresenceMember &m : c.presenceList)
            members.append(QJsonArray{str(m.client), str(m.node), str(m.user), str(m.info)});
        o.insert(QStringLiteral("pres"), QJsonObject{{QStringLiteral("total"), c.presenceTotal},
                                                     {QStringLiteral("users"), c.presenceUsers},
                                                     {QStringLiteral("members"), members}});
    }
    return o;
}

Channel channelFromJson(const QJsonObject &o) {
    Channel c;
    c.name = bytes(o.value(QLatin1String("name")));
    c.subscribers = o.value(QLatin1String("subs")).toInt();
    c.publishes = u64(o.value(QLatin1String("pub")));
    c.bytes = u64(o.value(QLatin1String("bytes")));
    c.deliveries = u64(o.value(QLatin1String("deliv")));
    // Missing (a plain channel, or a node from before history channels): all 0.
    const QJsonObject h = o.value(QLatin1String("hist")).toObject();
    c.historySize = std::max(0, h.value(QLatin1String("size")).toInt());
    if (c.historySize > 0) {
        c.historyStored = std::max(0, h.value(QLatin1String("stored")).toInt());
        c.lastOffset = u64(h.value(QLatin1String("offset")));
        c.epoch = bytes(h.value(QLatin1String("epoch")));
    }
    // Missing (no presence, or a node from before presence channels): not a presence channel.
    const QJsonValue pres = o.value(QLatin1String("pres"));
    if (pres.isObject()) {
        const QJsonObject p = pres.toObject();
        c.presence = true;
        c.presenceTotal = std::max(0, p.value(QLatin1String("total")).toInt());
        c.presenceUsers = std::max(0, p.value(QLatin1String("users")).toInt());
        const QJsonArray members = p.value(QLatin1String("members")).toArray();
        c.presenceList.reserve(std::min<qsizetype>(members.size(), MaxPresenceMembers));
        for (const QJsonValue &v : members) {
            if (c.presenceList.size() >= MaxPresenceMembers)
                break;
            const QJsonArray a = v.toArray();
            c.presenceList.append({bytes(a.at(0)), bytes(a.at(1)), bytes(a.at(2)), bytes(a.at(3))});
        }
    }
    return c;
}

QJsonObject toJson(const Totals &t) {
    return QJsonObject{{QStringLiteral("msgIn"), double(t.messagesIn)},
                       {QStringLiteral("bytesIn"), double(t.bytesIn)},
                       {QStringLiteral("msgOut"), double(t.messagesOut)},
                       {QStringLiteral("bytesOut"), double(t.bytesOut)},
                       {QStringLiteral("publishes"), double(t.publishes)},
                       {QStringLiteral("errors"), double(t.errors)},
                       {QStringLiteral("accepted"), double(t.connectionsAccepted)},
                       {QStringLiteral("connections"), t.connections},
                       {QStringLiteral("channels"), t.channels},
                       {QStringLiteral("subscriptions"), double(t.subscriptions)},
                       {QStringLiteral("slow"), double(t.slowConsumers)},
                       {QStringLiteral("keepalive"), double(t.keepaliveTimeouts)},
                       {QStringLiteral("idle"), double(t.idleTimeouts)},
                       {QStringLiteral("rateLimited"), double(t.rateLimited)},
                       {QStringLiteral("refused"), double(t.connectionsRefused)}};
}

Totals totalsFromJson(const QJsonObject &o) {
    Totals t;
    t.messagesIn = u64(o.value(QLatin1String("msgIn")));
    t.bytesIn = u64(o.value(QLatin1String("bytesIn")));
    t.messagesOut = u64(o.value(QLatin1String("msgOut")));
    t.bytesOut = u64(o.value(QLatin1String("bytesOut")));
    t.publishes = u64(o.value(QLatin1String("publishes")));
    t.errors = u64(o.value(QLatin1String("errors")));
    t.connectionsAccepted = u64(o.value(QLatin1String("accepted")));
    t.connections = o.value(QLatin1String("connections")).toInt();
    t.channels = o.value(QLatin1String("channels")).toInt();
    t.subscriptions = qsizetype(o.value(QLatin1String("subscriptions")).toDouble());
    t.slowConsumers = u64(o.value(QLatin1String("slow")));
    t.keepaliveTimeouts = u64(o.value(QLatin1String("keepalive")));
    t.idleTimeouts = u64(o.value(QLatin1String("idle")));
    t.rateLimited = u64(o.value(QLatin1String("rateLimited")));
    t.connectionsRefused = u64(o.value(QLatin1String("refused")));
    return t;
}

Direction directionFromName(const QString &name) {
    if (name == u"out")
        return Direction::Out;
    if (name == u"error")
        return Direction::Error;
    if (name == u"close")
        return Direction::Close;
    return Direction::In;
}

QJsonObject toJson(const Sample &s) {
    QJsonObject o{{QStringLiteral("t"), double(s.timeMs)},
                  {QStringLiteral("dir"), directionName(s.direction)},
                  {QStringLiteral("conn"), double(s.connection)},
                  {QStringLiteral("size"), double(s.size)}};
    if (!s.channel.isEmpty())
        o.insert(QStringLiteral("ch"), str(s.channel));
    if (!s.command.isEmpty())
        o.insert(QStringLiteral("cmd"), str(s.command));
    if (s.direction == Direction::Out)
        o.insert(QStringLiteral("recv"), s.receivers);
    if (!s.preview.isEmpty())
        o.insert(QStringLiteral("preview"), str(s.preview));
    return o;
}

Sample sampleFromJson(const QJsonObject &o) {
    Sample s;
    s.timeMs = qint64(o.value(QLatin1String("t")).toDouble());
    s.direction = directionFromName(o.value(QLatin1String("dir")).toString());
    s.connection = u64(o.value(QLatin1String("conn")));
    s.channel = bytes(o.value(QLatin1String("ch")));
    s.command = bytes(o.value(QLatin1String("cmd")));
    s.size = qsizetype(o.value(QLatin1String("size")).toDouble());
    s.receivers = o.value(QLatin1String("recv")).toInt();
    s.preview = bytes(o.value(QLatin1String("preview")));
    return s;
}

QJsonObject toJson(const NodeInfo &n) {
    return QJsonObject{{QStringLiteral("address"), n.address},
                       {QStringLiteral("version"), n.version},
                       {QStringLiteral("broker"), n.broker},
                       {QStringLiteral("brokerState"), brokerStateName(n.brokerState)},
                       {QStringLiteral("brokerUrl"), n.brokerUrl}};
}

NodeInfo nodeFromJson(const QJsonObject &o) {
    NodeInfo n;
    n.address = o.value(QLatin1String("address")).toString();
    n.version = o.value(QLatin1String("version")).toString();
    n.broker = o.value(QLatin1String("broker")).toString();
    n.brokerState = brokerStateFromName(o.value(QLatin1String("brokerState")).toString());
    n.brokerUrl = o.value(QLatin1String("brokerUrl")).toString();
    return n;
}

QByteArray compact(const QJsonObject &o) {
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

// Decodes at most PreviewBytes of a body without cutting a UTF-8 sequence in half.

} // namespace

QByteArray preview(QByteArrayView body) {
    if (body.size() <= PreviewBytes)
        return body.toByteArray();
    qsizetype end = PreviewBytes;
    // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
    while (end > 0 && (uchar(body[end]) & 0xC0) == 0x80)
        --end;
    return body.first(end).toByteArray();
}

QString directionName(Direction direction) {
    switch (direction) {
    case Direction::In:
        return QStringLiteral("in");
    case Direction::Out:
        return QStringLiteral("out");
    case Direction::Error:
        return QStringLiteral("error");
    case Direction::Close:
        return QStringLiteral("close");
    }
    return QStringLiteral("in");
}

QJsonObject toJson(const Snapshot &snapshot) {
    QJsonArray connections;
    for (const Connection &c : snapshot.connections)
        connections.append(toJson(c));
    QJsonArray channels;
    for (const Channel &c : snapshot.channels)
        channels.append(toJson(c, false));
    return QJsonObject{{QStringLiteral("time"), double(snapshot.timeMs)},
                       {QStringLiteral("node"), toJson(snapshot.node)},
                       {QStringLiteral("totals"), toJson(snapshot.totals)},
                       {QStringLiteral("connections"), connections},
                       {QStringLiteral("channels"), channels}};
}

Snapshot snapshotFromJson(const QJsonObject &o) {
    Snapshot s;
    s.timeMs = qint64(o.value(QLatin1String("time")).toDouble());
    s.node = nodeFromJson(o.value(QLatin1String("node")).toObject());
    s.totals = totalsFromJson(o.value(QLatin1String("totals")).toObject());
    const QJsonArray connections = o.value(QLatin1String("connections")).toArray();
    s.connections.reserve(connections.size());
    for (const QJsonValue &v : connections)
        s.connections.append(connectionFromJson(v.toObject()));
    const QJsonArray channels = o.value(QLatin1String("channels")).toArray();
    s.channels.reserve(channels.size());
    for (const QJsonValue &v : channels)
        s.channels.append(channelFromJson(v.toObject()));
    return s;
}

QJsonObject toJson(const Batch &b) {
    QJsonObject o{{QStringLiteral("seq"), double(b.seq)},
                  {QStringLiteral("time"), double(b.timeMs)},
                  {QStringLiteral("interval"), b.intervalMs},
                  {QStringLiteral("totals"), toJson(b.totals)},
                  {QStringLiteral("broker"),
                   QJsonObject{{QStringLiteral("state"), brokerStateName(b.brokerState)},
                               {QStringLiteral("url"), b.brokerUrl}}}};
    // Empty lists are left out: most batches of a quiet node are just totals.
    if (!b.opened.isEmpty()) {
        QJsonArray a;
        for (const Connection &c : b.opened)
            a.append(toJson(c));
        o.insert(QStringLiteral("opened"), a);
    }
    if (!b.closed.isEmpty()) {
        QJsonArray a;
        for (quint64 id : b.closed)
            a.append(double(id));
        o.insert(QStringLiteral("closed"), a);
    }
    if (!b.subscriptions.isEmpty()) {
        QJsonArray a;
        for (const Subscription &s : b.subscriptions)
            a.append(QJsonArray{double(s.id), str(s.channel), s.subscribed ? 1 : 0});
        o.insert(QStringLiteral("subs"), a);
    }
    if (!b.stats.isEmpty()) {
        QJsonArray a;
        for (const ConnectionStats &s : b.stats) {
            QJsonArray row = statsArray(s.stats);
            row.prepend(double(s.id));
            a.append(row);
        }
        o.insert(QStringLiteral("stats"), a);
    }
    if (!b.channels.isEmpty()) {
        QJsonArray a;
        for (const Channel &c : b.channels)
            a.append(toJson(c, true));
        o.insert(QStringLiteral("channels"), a);
    }
    if (!b.samples.isEmpty()) {
        QJsonArray a;
        for (const Sample &s : b.samples)
            a.append(toJson(s));
        o.insert(QStringLiteral("samples"), a);
    }
    if (b.samplesDropped)
        o.insert(QStringLiteral("dropped"), double(b.samplesDropped));
    return o;
}

Batch batchFromJson(const QJsonObject &o) {
    Batch b;
    b.seq = u64(o.value(QLatin1String("seq")));
    b.timeMs = qint64(o.value(QLatin1String("time")).toDouble());
    b.intervalMs = o.value(QLatin1String("interval")).toInt();
    b.totals = totalsFromJson(o.value(QLatin1String("totals")).toObject());
    const QJsonObject broker = o.value(QLatin1String("broker")).toObject();
    b.brokerState = brokerStateFromName(broker.value(QLatin1String("state")).toString());
    b.brokerUrl = broker.value(QLatin1String("url")).toString();
    const QJsonArray opened = o.value(QLatin1String("opened")).toArray();
    for (const QJsonValue &v : opened)
        b.opened.append(connectionFromJson(v.toObject()));
    const QJsonArray closed = o.value(QLatin1String("closed")).toArray();
    for (const QJsonValue &v : closed)
        b.closed.append(u64(v));
    const QJsonArray subs = o.value(QLatin1String("subs")).toArray();
    for (const QJsonValue &v : subs) {
        const QJsonArray a = v.toArray();
        b.subscriptions.append({u64(a.at(0)), bytes(a.at(1)), a.at(2).toInt() != 0});
    }
    const QJsonArray stats = o.value(QLatin1String("stats")).toArray();
    b.stats.reserve(stats.size());
    for (const QJsonValue &v : stats) {
        const QJsonArray a = v.toArray();
        b.stats.append({u64(a.at(0)), statsFromArray(a, 1)});
    }
    const QJsonArray channels = o.value(QLatin1String("channels")).toArray();
    for (const QJsonValue &v : channels)
        b.channels.append(channelFromJson(v.toObject()));
    const QJsonArray samples = o.value(QLatin1String("samples")).toArray();
    b.samples.reserve(samples.size());
    for (const QJsonValue &v : samples)
        b.samples.append(sampleFromJson(v.toObject()));
    b.samplesDropped = u64(o.value(QLatin1String("dropped")));
    return b;
}

QList<QByteArray> snapshotMessages(const Snapshot &snapshot) {
    const qsizetype total = snapshot.connections.size();
    const qsizetype parts =
        std::max<qsizetype>(1, (total + SnapshotPartSize - 1) / SnapshotPartSize);
    QList<QByteArray> out;
    for (qsizetype part = 0; part < parts; ++part) {
        QJsonObject body;
        if (part == 0) {
            Snapshot head = snapshot;
            head.connections = snapshot.connections.mid(0, SnapshotPartSize);
            body = toJson(head);
        } else {
            QJsonArray connections;
            const auto chunk = snapshot.connections.mid(part * SnapshotPartSize, SnapshotPartSize);
            for (const Connection &c : chunk)
                connections.append(toJson(c));
            body.insert(QStringLiteral("connections"), connections);
        }
        Message m(SnapshotCommand.toByteArray(), compact(body));
        m.addHeader("part", QByteArray::number(part + 1));
        m.addHeader("parts", QByteArray::number(parts));
        if (part == 0 && snapshot.gap)
            m.addHeader("gap", QByteArray::number(snapshot.gap));
        out.append(m.toBytes());
    }
    return out;
}

QByteArray eventsMessage(const Batch &batch, quint64 gap) {
    Message m(EventsCommand.toByteArray(), compact(toJson(batch)));
    m.addHeader("seq", QByteArray::number(batch.seq));
    if (gap)
        m.addHeader("gap", QByteArray::number(gap));
    return m.toBytes();
}

} // namespace Admin

} // namespace lhttp

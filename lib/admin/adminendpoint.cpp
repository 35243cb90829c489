// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "adminendpoint.h"

#include "channelhub.h"
#include "message.h"
#include "processor.h"
#include "runtimelog.h"
#include "server.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QWebSocket>

#include <algorithm>

namespace lhttp {

namespace Admin {

namespace {

// Room for the admin.publish head around a message of the largest allowed size.
constexpr qsizetype AdminHeadAllowance = 4096;

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

QJsonArray statsArray(const Session::Stats &s) {
    return QJsonArray{double(s.messagesIn), double(s.bytesIn), double(s.messagesOut),
                      double(s.bytesOut)};
}

Session::Stats statsFromArray(const QJsonArray &a, qsizetype first) {
    Session::Stats s;
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
    return o;
}

Channel channelFromJson(const QJsonObject &o) {
    Channel c;
    c.name = bytes(o.value(QLatin1String("name")));
    c.subscribers = o.value(QLatin1String("subs")).toInt();
    c.publishes = u64(o.value(QLatin1String("pub")));
    c.bytes = u64(o.value(QLatin1String("bytes")));
    c.deliveries = u64(o.value(QLatin1String("deliv")));
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
QByteArray preview(QByteArrayView body) {
    if (body.size() <= PreviewBytes)
        return body.toByteArray();
    qsizetype end = PreviewBytes;
    // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
    while (end > 0 && (uchar(body[end]) & 0xC0) == 0x80)
        --end;
    return body.first(end).toByteArray();
}

} // namespace

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

Error publish(Server &server, const QByteArray &message, AdminFeed *feed) {
    Error error;
    const Message m = Message::parse(message, server.options().limits, &error);
    if (error)
        return error;
    QByteArrayList channels;
    for (QByteArrayView c : splitTokens(m.header("publish")))
        channels.append(c.toByteArray());
    if (feed)
        feed->setPublishContext(&m);
    error = server.publish(channels, m);
    if (feed)
        feed->setPublishContext(nullptr);
    return error;
}

Error closeConnection(Server &server, quint64 id, const QString &reason) {
    Session *session = server.session(id);
    if (!session)
        return Error::make(Status::NotFound, "no connection " + QByteArray::number(id));
    qCInfo(lcServer) << "admin console closes connection" << id;
    session->close(QWebSocketProtocol::CloseCodeNormal,
                   reason.isEmpty() ? QStringLiteral("closed by the administrator") : reason);
    return {};
}

} // namespace Admin

// ---------------------------------------------------------------------------------------------
// AdminFeed

// Sees each message before the processor and the built-in headers, for In samples. Owned by the
// server's filter chain, which may outlive the feed: the feed clears `feed` when it goes.
class AdminFeed::Tap final : public HeaderFilter {
public:
    bool beforeMessage(Session &session) override {
        if (feed && feed->m_active)
            feed->onIncoming(session);
        return true;
    }
    void onClose(Session &session) override {
        if (feed && feed->m_active)
            feed->onClosing(session);
    }
    AdminFeed *feed = nullptr;
};

namespace {

Admin::Connection describe(const Session &s) {
    Admin::Connection c;
    c.id = s.id();
    const QHostAddress address = s.peerAddress();
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
                             ? QLatin1Char('[') + address.toString() + QLatin1Char(']')
                             : address.toString();
    c.peer = host + QLatin1Char(':') + QString::number(s.peerPort());
    c.origin = s.origin();
    c.connectedAtMs = s.connectedAt().toMSecsSinceEpoch();
    c.channels = s.channels();
    c.stats = s.stats();
    return c;
}

bool operator!=(const Session::Stats &a, const Session::Stats &b) {
    return a.messagesIn != b.messagesIn || a.messagesOut != b.messagesOut ||
           a.bytesIn != b.bytesIn || a.bytesOut != b.bytesOut;
}

} // namespace

AdminFeed::AdminFeed(Server *server, QObject *parent)
    : AdminFeed(server, Options(), parent) {}

AdminFeed::AdminFeed(Server *server, Options options, QObject *parent)
    : QObject(parent)
    , m_server(server)
    , m_options(options)
    , m_tap(std::make_shared<Tap>())
    , m_random(QRandomGenerator::global()->generate()) {
    m_tap->feed = this;
    server->addHeaderFilter(m_tap);
    m_timer.setInterval(m_options.intervalMs);
    // Coarse timers may fire up to 5% late, which is fine here and cheaper on a busy node.
    m_timer.setTimerType(Qt::CoarseTimer);
    connect(&m_timer, &QTimer::timeout, this, &AdminFeed::flush);
}

AdminFeed::~AdminFeed() {
    m_tap->feed = nullptr;
    setActive(false);
}

void AdminFeed::setActive(bool active) {
    if (active == m_active)
        return;
    m_active = active;
    reset();
    m_reportedStats.clear();
    if (!active) {
        for (const auto &c : std::as_const(m_connections))
            disconnect(c);
        m_connections.clear();
        m_timer.stop();
        return;
    }
    if (!m_server)
        return;
    Server *s = m_server;
    m_connections = {
        connect(s, &Server::sessionOpened, this, &AdminFeed::onSessionOpened),
        connect(s, &Server::sessionClosed, this, &AdminFeed::onSessionClosed),
        connect(s, &Server::subscribed, this,
                [this](quint64 id, const QByteArray &c) { onSubscription(id, c, true); }),
        connect(s, &Server::unsubscribed, this,
                [this](quint64 id, const QByteArray &c) { onSubscription(id, c, false); }),
        connect(s, &Server::messagePublished, this, &AdminFeed::onPublished),
        connect(s, &Server::errorReplied, this, &AdminFeed::onError),
    };
    m_lastFlushMs = QDateTime::currentMSecsSinceEpoch();
    m_timer.start();
}

void AdminFeed::reset() {
    m_opened.clear();
    m_openedSet.clear();
    m_closed.clear();
    m_subscriptions.clear();
    m_channels.clear();
    m_samples.clear();
    m_closes.clear();
    m_closesDropped = 0;
    m_order = 0;
    m_offered = 0;
}

template <typename Make> void AdminFeed::offer(Make &&make) {
    // Reservoir sampling: after n offers each one is kept with probability maxSamples / n, so
    // the log shows the interval's traffic as it was, not only its first messages.
    const quint64 n = ++m_offered;
    const quint64 order = ++m_order;
    const int max = m_options.maxSamples;
    if (max <= 0)
        return;
    if (m_samples.size() < max) {
        m_samples.append({order, make()});
        return;
    }
    const quint64 slot = m_random.generate64() % n;
    if (slot < quint64(max))
        m_samples[qsizetype(slot)] = {order, make()};
}

void AdminFeed::onSessionOpened(quint64 id) {
    m_opened.append(id);
    m_openedSet.insert(id);
}

void AdminFeed::onSessionClosed(quint64 id) {
    // Always reported, even when it opened in this window: a snapshot sent meanwhile may
    // already list it.
    m_openedSet.remove(id);
    m_closed.append(id);
    m_reportedStats.remove(id);
}

void AdminFeed::onSubscription(quint64 id, const QByteArray &channel, bool subscribed) {
    m_subscriptions.insert({id, channel}, subscribed);
    m_channels[channel]; // marks the channel changed
}

void AdminFeed::onPublished(const QByteArray &channel, qsizetype size, int receivers) {
    ChannelWindow &w = m_channels[channel];
    ++w.publishes;
    w.bytes += quint64(size);
    w.deliveries += quint64(receivers);
    offer([&] {
        Admin::Sample s;
        s.timeMs = QDateTime::currentMSecsSinceEpoch();
        s.direction = Admin::Direction::Out;
        s.channel = channel;
        s.size = size;
        s.receivers = receivers;
        // The message being published: the console's or a server-side caller's, else the
        // one being handled (a Session's message is only valid while it is handled).
        if (m_publishContext) {
            s.command = m_publishContext->command().toByteArray();
            s.preview = Admin::preview(m_publishContext->body());
        } else if (const Session *from = m_server ? m_server->session(m_incoming) : nullptr;
                   from && from->message().isValid()) {
            s.connection = from->id();
            s.command = from->command().toByteArray();
            s.preview = Admin::preview(from->body());
        }
        return s;
    });
}

void AdminFeed::onError(quint64 id, int code, const QByteArray &reason) {
    offer([&] {
        Admin::Sample s;
        s.timeMs = QDateTime::currentMSecsSinceEpoch();
        s.direction = Admin::Direction::Error;
        s.connection = id;
        s.command = QByteArray::number(code);
        s.preview = Admin::preview(reason);
        return s;
    });
}

void AdminFeed::onIncoming(const Session &session) {
    // A node saturated by a flood handles thousands of messages per event-loop turn, and the
    // interval timer only fires between turns: batches would come seconds apart, just when the
    // console needs them. So the messages themselves look at the clock (every 64th, cheaply) and
    // flush an overdue batch, between two messages, where the node's state is consistent.
    if ((++m_incomingCount & (OverdueCheckEvery - 1)) == 0 && m_server &&
        QDateTime::currentMSecsSinceEpoch() - m_lastFlushMs >= m_options.intervalMs * 3 / 2) {
        flush();
        m_timer.start(); // the next timed batch one interval from now
    }
    m_incoming = session.id();
    offer([&] {
        const Message &m = session.message();
        Admin::Sample s;
        s.timeMs = QDateTime::currentMSecsSinceEpoch();
        s.direction = Admin::Direction::In;
        s.connection = session.id();
        s.command = m.command().toByteArray();
        s.size = m.toBytes().size();
        s.preview = Admin::preview(m.body());
        // What the message does to channels, in the log's one channel column.
        if (const QByteArrayView p = m.header("publish"); !p.isNull())
            s.channel = p.toByteArray();
        else if (const QByteArrayView sub = m.header("subscribe"); !sub.isNull())
            s.channel = '+' + sub.toByteArray();
        else if (const QByteArrayView unsub = m.header("unsubscribe"); !unsub.isNull())
            s.channel = '-' + unsub.toByteArray();
        return s;
    });
}

void AdminFeed::onClosing(const Session &session) {
    // The socket knows the close code and reason: the one it sent when the node closed it, or
    // the peer's. A peer that vanished without a close frame shows as 1000.
    const QWebSocket *socket = session.socket();
    if (!socket)
        return;
    const int code = int(socket->closeCode());
    const QString reason = socket->closeReason();
    const bool notable = (code != QWebSocketProtocol::CloseCodeNormal &&
                          code != QWebSocketProtocol::CloseCodeGoingAway &&
                          code != QWebSocketProtocol::CloseCodeMissingStatusCode) ||
                         !reason.isEmpty();
    if (!notable)
        return;
    if (m_closes.size() >= Admin::MaxClosesPerBatch) {
        ++m_closesDropped;
        return;
    }
    Admin::Sample s;
    s.timeMs = QDateTime::currentMSecsSinceEpoch();
    s.direction = Admin::Direction::Close;
    s.connection = session.id();
    s.command = QByteArray::number(code);
    s.preview = Admin::preview(reason.toUtf8());
    m_closes.append({++m_order, s});
}

Admin::Totals AdminFeed::totals() const {
    Admin::Totals t;
    if (!m_server)
        return t;
    const Server::Counters &c = m_server->counters();
    t.messagesIn = c.messagesIn;
    t.bytesIn = c.bytesIn;
    t.messagesOut = c.messagesOut;
    t.bytesOut = c.bytesOut;
    t.publishes = c.publishes;
    for (quint64 n : c.errors)
        t.errors += n;
    t.connectionsAccepted = c.connectionsAccepted;
    t.connections = m_server->sessionCount();
    t.channels = m_server->hub().channelCount();
    t.subscriptions = m_server->hub().subscriptionCount();
    t.slowConsumers = c.slowConsumers;
    t.keepaliveTimeouts = c.keepaliveTimeouts;
    t.idleTimeouts = c.idleTimeouts;
    t.rateLimited = c.rateLimited;
    t.connectionsRefused = c.connectionsRefused;
    return t;
}

void AdminFeed::flush() {
    if (!m_server)
        return;
    Server &server = *m_server;
    Admin::Batch b;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    b.seq = ++m_seq;
    b.timeMs = now;
    b.intervalMs = int(now - m_lastFlushMs);
    m_lastFlushMs = now;

    for (quint64 id : std::as_const(m_opened)) {
        if (!m_openedSet.contains(id))
            continue;
        if (const Session *s = server.session(id)) {
            b.opened.append(describe(*s));
            m_reportedStats.insert(id, s->stats());
        }
    }
    b.closed = m_closed;
    const QSet<quint64> closed(m_closed.cbegin(), m_closed.cend());
    for (auto it = m_subscriptions.cbegin(); it != m_subscriptions.cend(); ++it) {
        if (!closed.contains(it.key().first))
            b.subscriptions.append({it.key().first, it.key().second, it.value()});
    }
    if (m_options.statsEvery > 0 && b.seq % quint64(m_options.statsEvery) == 0) {
        const auto sessions = server.sessions();
        for (const Session *s : sessions) {
            auto it = m_reportedStats.find(s->id());
            if (it != m_reportedStats.end() && !(it.value() != s->stats()))
                continue;
            b.stats.append({s->id(), s->stats()});
            m_reportedStats.insert(s->id(), s->stats());
        }
    }
    b.channels.reserve(m_channels.size());
    for (auto it = m_channels.cbegin(); it != m_channels.cend(); ++it) {
        const ChannelHub::Channel *c = server.hub().channel(it.key());
        b.channels.append({it.key(), c ? int(c->subscribers.size()) : 0, it->publishes, it->bytes,
                           it->deliveries});
    }
    b.samplesDropped = m_offered - quint64(m_samples.size()) + m_closesDropped;
    m_samples += m_closes; // every notable close, with the sampled messages
    std::sort(m_samples.begin(), m_samples.end(),
              [](const PendingSample &a, const PendingSample &b) { return a.order < b.order; });
    b.samples.reserve(m_samples.size());
    for (PendingSample &s : m_samples)
        b.samples.append(std::move(s.sample));
    b.totals = totals();
    if (Broker *broker = server.broker()) {
        b.brokerState = broker->state();
        b.brokerUrl = broker->stats().serverUrl;
    }
    reset();
    Q_EMIT batchReady(b);
}

Admin::Snapshot AdminFeed::snapshot() const {
    Admin::Snapshot snap;
    snap.timeMs = QDateTime::currentMSecsSinceEpoch();
    if (!m_server)
        return snap;
    const Server &server = *m_server;
    const QHostAddress address = server.options().address;
    QString host = address == QHostAddress::Any ? QStringLiteral("0.0.0.0") : address.toString();
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        host = QLatin1Char('[') + host + QLatin1Char(']');
    snap.node.address = host + QLatin1Char(':') + QString::number(server.serverPort());
    snap.node.version = QStringLiteral(LHTTP_VERSION);
    if (const Broker *broker = server.broker()) {
        snap.node.brokerState = broker->state();
        snap.node.broker = broker->description();
        snap.node.brokerUrl = broker->stats().serverUrl;
    }
    snap.totals = totals();
    const auto sessions = server.sessions();
    snap.connections.reserve(sessions.size());
    for (const Session *s : sessions)
        snap.connections.append(describe(*s));
    std::sort(snap.connections.begin(), snap.connections.end(),
              [](const Admin::Connection &a, const Admin::Connection &b) { return a.id < b.id; });
    const QList<QByteArray> names = server.hub().channelNames();
    snap.channels.reserve(names.size());
    for (const QByteArray &name : names) {
        const ChannelHub::Channel *c = server.hub().channel(name);
        snap.channels.append({name, c ? int(c->subscribers.size()) : 0, 0, 0, 0});
    }
    return snap;
}

// ---------------------------------------------------------------------------------------------
// AdminEndpoint

AdminEndpoint::AdminEndpoint(Server *server, QObject *parent)
    : AdminEndpoint(server, Options(), parent) {}

AdminEndpoint::AdminEndpoint(Server *server, Options options, QObject *parent)
    : QObject(parent)
    , m_server(server)
    , m_options(options)
    , m_feed(new AdminFeed(server, options.feed, this)) {
    connect(server, &Server::adminConnected, this, &AdminEndpoint::attach);
    connect(m_feed, &AdminFeed::batchReady, this, &AdminEndpoint::broadcast);
}

AdminEndpoint::~AdminEndpoint() {
    for (Console &c : m_consoles) {
        c.socket->disconnect(this);
        c.socket->abort();
    }
}

AdminEndpoint::Console *AdminEndpoint::console(QWebSocket *socket) {
    for (Console &c : m_consoles) {
        if (c.socket == socket)
            return &c;
    }
    return nullptr;
}

void AdminEndpoint::attach(QWebSocket *socket) {
    socket->setParent(this);
    if (consoleCount() >= m_options.maxConsoles || !m_server) {
        qCWarning(lcServer) << "admin console from" << socket->peerAddress().toString()
                            << "refused:" << consoleCount() << "consoles attached";
        connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
        socket->close(Admin::CloseTooManyConsoles, QStringLiteral("too many admin consoles"));
        return;
    }
    qCInfo(lcServer) << "admin console attached from" << socket->peerAddress().toString();
    const qsizetype limit = m_server->options().limits.maxMessageSize + Admin::AdminHeadAllowance;
    socket->setMaxAllowedIncomingMessageSize(quint64(limit));
    socket->setMaxAllowedIncomingFrameSize(quint64(limit));
    connect(socket, &QWebSocket::textMessageReceived, this, [this, socket](const QString &text) {
        if (Console *c = console(socket))
            handle(*c, text.toUtf8());
    });
    connect(socket, &QWebSocket::binaryMessageReceived, this,
            [this, socket](const QByteArray &bytes) {
                if (Console *c = console(socket))
                    handle(*c, bytes);
            });
    connect(socket, &QWebSocket::disconnected, this, [this, socket] { detach(socket); });
    m_consoles.push_back({socket, 0});
    m_feed->setActive(true);
    sendSnapshot(m_consoles.back());
    Q_EMIT consoleCountChanged(consoleCount());
}

void AdminEndpoint::detach(QWebSocket *socket) {
    const auto it = std::find_if(m_consoles.begin(), m_consoles.end(),
                                 [socket](const Console &c) { return c.socket == socket; });
    if (it == m_consoles.end())
        return;
    qCInfo(lcServer) << "admin console detached";
    m_consoles.erase(it);
    socket->disconnect(this);
    socket->deleteLater();
    if (m_consoles.empty())
        m_feed->setActive(false);
    Q_EMIT consoleCountChanged(consoleCount());
}

void AdminEndpoint::broadcast(const Admin::Batch &batch) {
    QString text; // serialised once, shared by every console
    for (Console &c : m_consoles) {
        if (c.socket->bytesToWrite() > m_options.maxBacklogBytes) {
            ++c.missed;
            ++m_batchesSkipped;
            continue;
        }
        if (c.missed) {
            // The skipped batches' connection and subscription changes are lost to this
            // console; a new snapshot replaces its whole picture.
            sendSnapshot(c);
            c.missed = 0;
        }
        if (text.isNull())
            text = QString::fromUtf8(Admin::eventsMessage(batch, 0));
        c.socket->sendTextMessage(text);
        // Now, not when the event loop next turns: on a flooded node that may be seconds away.
        c.socket->flush();
    }
}

void AdminEndpoint::sendSnapshot(Console &console) {
    Admin::Snapshot snap = m_feed->snapshot();
    snap.gap = console.missed;
    const QList<QByteArray> messages = Admin::snapshotMessages(snap);
    for (const QByteArray &m : messages)
        console.socket->sendTextMessage(QString::fromUtf8(m));
}

void AdminEndpoint::handle(Console &console, const QByteArray &bytes) {
    if (!m_server)
        return;
    Limits limits = m_server->options().limits;
    limits.maxMessageSize += Admin::AdminHeadAllowance;
    Error error;
    const Message request = Message::parse(bytes, limits, &error);
    if (error) {
        reply(console, {}, error.code, error.reason);
        return;
    }
    const QByteArrayView command = request.command();
    const QByteArrayView id = request.header("request");
    if (command == Admin::PublishCommand) {
        error = Admin::publish(*m_server, request.body().toByteArray(), m_feed);
        reply(console, id, error ? error.code : Admin::StatusOk,
              error ? error.reason : QByteArray("published"));
    } else if (command == Admin::DisconnectCommand) {
        bool ok = false;
        const quint64 connection = request.header("connection").toULongLong(&ok);
        const QByteArrayView reason = request.header("reason");
        error = ok ? Admin::closeConnection(*m_server, connection, QString::fromUtf8(reason))
                   : Error::make(Status::BadRequest, "no connection id");
        reply(console, id, error ? error.code : Admin::StatusOk,
              error ? error.reason : QByteArray("closed"));
    } else if (command == Admin::SnapshotCommand) {
        sendSnapshot(console);
    } else {
        reply(console, id, Status::BadRequest, "unknown admin command " + command.toByteArray());
    }
}

void AdminEndpoint::reply(Console &console, QByteArrayView request, int code,
                          const QByteArray &reason) {
    Message m(Admin::ResultCommand.toByteArray());
    if (!request.isEmpty())
        m.addHeader("request", request.toByteArray());
    m.addHeader("code", QByteArray::number(code));
    m.addHeader("reason", reason);
    console.socket->sendTextMessage(QString::fromUtf8(m.toBytes()));
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "adminfeed.h"

#include "channelhub.h"
#include "message.h"
#include "processor.h"
#include "server.h"
#include "session.h"

#include <QDateTime>
#include <QWebSocket>

#include <algorithm>

namespace lhttp {

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

Admin::Stats statsOf(const Session &s) {
    const Session::Stats &st = s.stats();
    return {st.messagesIn, st.bytesIn, st.messagesOut, st.bytesOut};
}

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
    c.stats = statsOf(s);
    return c;
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
            m_reportedStats.insert(id, statsOf(*s));
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
            const Admin::Stats now = statsOf(*s);
            if (it != m_reportedStats.end() && it.value() == now)
                continue;
            b.stats.append({s->id(), now});
            m_reportedStats.insert(s->id(), now);
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

} // namespace lhttp

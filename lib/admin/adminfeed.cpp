// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "adminfeed.h"

#include "channelhub.h"
#include "message.h"
#include "processor.h"
#include "server.h"
#include "session.h"

#include <QDateTime>
#include <QThread>
#include <QWebSocket>

#include <algorithm>

namespace lhttp {

// ---------------------------------------------------------------------------------------------
// AdminFeed

// Sees each message before the processor and the built-in headers, for In samples, in every
// event loop's thread. Owned by the server's filter chains, which may outlive the feed: the
// feed clears `feed` when it goes (a tap already inside a call finishes it under the mutex the
// feed's destructor also takes).
class AdminFeed::Tap final : public HeaderFilter {
public:
    bool beforeMessage(Session &session) override {
        if (AdminFeed *f = active())
            f->onIncoming(session);
        return true;
    }
    void onClose(Session &session) override {
        if (AdminFeed *f = active())
            f->onClosing(session);
    }
    AdminFeed *active() const {
        AdminFeed *f = feed.load(std::memory_order_acquire);
        return f && f->m_active.load(std::memory_order_relaxed) ? f : nullptr;
    }
    std::atomic<AdminFeed *> feed{nullptr};
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

// Decimal connection ids in numeric order: 4 before 12.
bool clientBefore(const Admin::PresenceMember &a, const Admin::PresenceMember &b) {
    if (a.node != b.node)
        return a.node < b.node;
    if (a.client.size() != b.client.size())
        return a.client.size() < b.client.size();
    return a.client < b.client;
}

// A presence channel's counts and its first Admin::MaxPresenceMembers entries, sorted.
void describePresence(const PresenceStore &presence, Admin::Channel &c) {
    if (!presence.covers(c.name))
        return;
    c.presence = true;
    const PresenceList list = presence.list(c.name, Admin::MaxPresenceMembers);
    c.presenceTotal = list.total;
    c.presenceUsers = presence.stats(c.name).users;
    c.presenceList.reserve(list.entries.size());
    for (const PresenceEntry &e : list.entries)
        c.presenceList.append({e.client, e.node, e.user, e.info});
    // The store lists in no particular order; a console compares and shows them sorted.
    std::sort(c.presenceList.begin(), c.presenceList.end(), clientBefore);
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
    QMutexLocker lock(&m_mutex); // a tap that saw the feed before finishes first
}

void AdminFeed::setActive(bool active) {
    if (active == m_active)
        return;
    m_active = active;
    {
        QMutexLocker lock(&m_mutex);
        reset();
    }
    m_reportedStats.clear();
    m_reportedHistory.clear();
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
    // Direct: noted in the event loop where it happens, while the session is there to read.
    constexpr auto direct = Qt::DirectConnection;
    m_connections = {
        connect(s, &Server::sessionOpened, this, &AdminFeed::onSessionOpened, direct),
        connect(s, &Server::sessionClosed, this, &AdminFeed::onSessionClosed, direct),
        connect(
            s, &Server::subscribed, this,
            [this](quint64 id, const QByteArray &c) { onSubscription(id, c, true); }, direct),
        connect(
            s, &Server::unsubscribed, this,
            [this](quint64 id, const QByteArray &c) { onSubscription(id, c, false); }, direct),
        connect(s, &Server::messagePublished, this, &AdminFeed::onPublished, direct),
        connect(s, &Server::errorReplied, this, &AdminFeed::onError, direct),
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
    // the log shows the interval's traffic as it was, not only its first messages. The caller
    // holds m_mutex.
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
    // Described here, in the loop it opened in, while it is there to read.
    const Session *s = Server::signalSession();
    Admin::Connection described = s ? describe(*s) : Admin::Connection{id, {}, {}, 0, {}, {}};
    QMutexLocker lock(&m_mutex);
    m_opened.append(std::move(described));
    m_openedSet.insert(id);
}

void AdminFeed::onSessionClosed(quint64 id) {
    // Always reported, even when it opened in this window: a snapshot sent meanwhile may
    // already list it.
    QMutexLocker lock(&m_mutex);
    m_openedSet.remove(id);
    m_closed.append(id);
}

void AdminFeed::onSubscription(quint64 id, const QByteArray &channel, bool subscribed) {
    QMutexLocker lock(&m_mutex);
    m_subscriptions.insert({id, channel}, subscribed);
    m_channels[channel]; // marks the channel changed
}

void AdminFeed::onPublished(const QByteArray &channel, qsizetype size, int receivers) {
    // In the thread that publishes: the message being handled there is still valid.
    const Message *context = thread() == QThread::currentThread() ? m_publishContext : nullptr;
    const Session *from = Server::signalSession();
    QMutexLocker lock(&m_mutex);
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
        if (context) {
            s.command = context->command().toByteArray();
            s.preview = Admin::preview(context->body());
        } else if (from && from->message().isValid()) {
            s.connection = from->id();
            s.command = from->command().toByteArray();
            s.preview = Admin::preview(from->body());
        }
        return s;
    });
}

void AdminFeed::onError(quint64 id, int code, const QByteArray &reason) {
    QMutexLocker lock(&m_mutex);
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
    // Only in the feed's own thread: other loops are not where batches are made.
    if (thread() == QThread::currentThread() &&
        (++m_incomingCount & (OverdueCheckEvery - 1)) == 0 && m_server &&
        QDateTime::currentMSecsSinceEpoch() - m_lastFlushMs >= m_options.intervalMs * 3 / 2) {
        flush();
        m_timer.start(); // the next timed batch one interval from now
    }
    QMutexLocker lock(&m_mutex);
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
    QMutexLocker lock(&m_mutex);
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
    const Counters::Values c = m_server->counters();
    t.messagesIn = c.messagesIn;
    t.bytesIn = c.bytesIn;
    t.messagesOut = c.messagesOut;
    t.bytesOut = c.bytesOut;
    t.publishes = c.publishes;
    for (quint64 n : c.errors)
        t.errors += n;
    t.connectionsAccepted = c.connectionsAccepted;
    t.connections = m_server->sessionCount();
    t.channels = m_server->channelCount();
    t.subscriptions = m_server->subscriptionCount();
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

    // The window, taken out under the mutex.
    QList<Admin::Connection> opened;
    QSet<quint64> openedSet;
    QHash<QPair<quint64, QByteArray>, bool> subscriptions;
    QHash<QByteArray, ChannelWindow> channels;
    QList<PendingSample> samples;
    {
        QMutexLocker lock(&m_mutex);
        opened.swap(m_opened);
        openedSet.swap(m_openedSet);
        b.closed.swap(m_closed);
        subscriptions.swap(m_subscriptions);
        channels.swap(m_channels);
        b.samplesDropped = m_offered - quint64(m_samples.size()) + m_closesDropped;
        samples = std::move(m_samples);
        samples += m_closes; // every notable close, with the sampled messages
        reset();
    }
    for (quint64 id : std::as_const(b.closed))
        m_reportedStats.remove(id);
    for (const Admin::Connection &c : std::as_const(opened)) {
        if (!openedSet.contains(c.id))
            continue;
        b.opened.append(c);
        m_reportedStats.insert(c.id, c.stats);
    }
    if (m_options.statsEvery > 0 && b.seq % quint64(m_options.statsEvery) == 0)
        collectStats(b, closed(b));
    const QSet<quint64> gone = closed(b);
    for (auto it = subscriptions.cbegin(); it != subscriptions.cend(); ++it) {
        if (!gone.contains(it.key().first))
            b.subscriptions.append({it.key().first, it.key().second, it.value()});
    }
    b.channels.reserve(channels.size());
    QSet<QByteArray> reported;
    for (auto it = channels.cbegin(); it != channels.cend(); ++it) {
        Admin::Channel c = channelNow(it.key());
        c.publishes = it->publishes;
        c.bytes = it->bytes;
        c.deliveries = it->deliveries;
        if (c.isHistory() || c.isPresence()) {
            reported.insert(c.name);
            if (c.subscribers > 0)
                m_reportedHistory.insert(c.name, c);
            else
                m_reportedHistory.remove(c.name);
        }
        b.channels.append(std::move(c));
    }
    if (m_options.statsEvery > 0 && b.seq % quint64(m_options.statsEvery) == 0)
        recheckHistory(b, reported);
    std::sort(samples.begin(), samples.end(),
              [](const PendingSample &x, const PendingSample &y) { return x.order < y.order; });
    b.samples.reserve(samples.size());
    for (PendingSample &s : samples)
        b.samples.append(std::move(s.sample));
    b.totals = totals();
    if (Broker *broker = server.broker()) {
        b.brokerState = broker->state();
        b.brokerUrl = broker->stats().serverUrl;
    }
    Q_EMIT batchReady(b);
}

Admin::Channel AdminFeed::channelNow(const QByteArray &name) const {
    Admin::Channel c;
    c.name = name;
    if (!m_server)
        return c;
    c.subscribers = m_server->subscriberCount(name);
    const HistoryStore::ChannelInfo h = m_server->historyInfo(name);
    if (h.size > 0) {
        c.historySize = h.size;
        c.historyStored = h.stored;
        c.lastOffset = h.top.offset;
        c.epoch = h.top.epoch;
    }
    describePresence(m_server->presence(), c);
    return c;
}

void AdminFeed::recheckHistory(Admin::Batch &batch, const QSet<QByteArray> &reported) {
    // Messages leave a history by age or by the memory cap, and other nodes' connections join
    // and leave presence channels, with no traffic here to report it: the history and presence
    // channels a console shows (those with subscribers; the others leave its table once idle)
    // are looked at again about once a second, and sent when they changed.
    for (auto it = m_reportedHistory.begin(); it != m_reportedHistory.end();) {
        if (reported.contains(it.key())) {
            ++it;
            continue;
        }
        const Admin::Channel now = channelNow(it.key());
        if (now.subscribers == 0 || (!now.isHistory() && !now.isPresence())) {
            it = m_reportedHistory.erase(it); // reported by the subscription change
            continue;
        }
        if (!now.sameHistory(*it) || !now.samePresence(*it)) {
            batch.channels.append(now);
            *it = now;
        }
        ++it;
    }
}

QSet<quint64> AdminFeed::closed(const Admin::Batch &batch) {
    return QSet<quint64>(batch.closed.cbegin(), batch.closed.cend());
}

void AdminFeed::collectStats(Admin::Batch &batch, const QSet<quint64> &gone) {
    // Per-connection counters of every loop, without waiting for any: each loop notes its
    // sessions' counters when it gets to it, and the batch after carries what changed. A loop
    // busy with a flood delays its own figures, never the batches.
    if (m_statsRound && m_statsRound->done) {
        for (auto it = m_statsRound->stats.cbegin(); it != m_statsRound->stats.cend(); ++it) {
            if (gone.contains(it.key()))
                continue; // closed meanwhile
            const auto seen = m_reportedStats.constFind(it.key());
            if (seen != m_reportedStats.cend() && *seen == it.value())
                continue;
            batch.stats.append({it.key(), it.value()});
            m_reportedStats.insert(it.key(), it.value());
        }
        m_statsRound.reset();
    }
    if (m_statsRound || !m_server)
        return; // the last round is still on its way
    auto round = std::make_shared<StatsRound>();
    m_statsRound = round;
    m_server->visitSessionsLater(
        [round](const Session &s) {
            QMutexLocker lock(&round->mutex);
            round->stats.insert(s.id(), statsOf(s));
        },
        [round] { round->done = true; });
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
    snap.connections.reserve(server.sessionCount());
    server.visitSessions([&](const Session &s) { snap.connections.append(describe(s)); });
    std::sort(snap.connections.begin(), snap.connections.end(),
              [](const Admin::Connection &a, const Admin::Connection &b) { return a.id < b.id; });
    const QList<QByteArray> names = server.channelNames();
    snap.channels.reserve(names.size());
    for (const QByteArray &name : names)
        snap.channels.append(channelNow(name));
    return snap;
}

} // namespace lhttp

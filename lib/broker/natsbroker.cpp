// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "natsbroker.h"

#include "natsbridge.h"

#include "channelname.h"
#include "frame.h"

#include <QSysInfo>
#include <QThread>

#include <vector>

namespace lhttp {

namespace {

// Messages handed to the hub per turn of the event loop: a burst from NATS must not starve
// the WebSocket traffic of this node.
constexpr int MaxDrainBatch = 1024;
// The most one kind of warning is logged (drops, refused publishes).
constexpr int ProblemLogIntervalMs = 1'000;
// nats.c pings every 2 minutes; a half-open TCP connection to a dead NATS host would go
// unnoticed that long. 20 s × 2 missed pongs finds it within a minute.
constexpr int PingIntervalMs = 20'000;
constexpr int MaxPingsOut = 2;
// Time between two connections when nats.c closed one for good (see giveUpOrRestart): at
// least this, doubling while it keeps happening (a refused password), up to the maximum.
constexpr int MinRestartDelayMs = 1'000;
constexpr int MaxRestartDelayMs = 30'000;

} // namespace

NatsBroker::NatsBroker(NatsOptions options, QObject *parent)
    : Broker(parent)
    , m_options(std::move(options))
    , m_bridge(new NatsBridge) {
    if (!m_options.subjectPrefix.isEmpty())
        m_prefixDot = m_options.subjectPrefix + '.';
    m_bridge->receiver = this;
    m_bridge->queueLimit = std::max(1, m_options.queueLimit);
    m_bridge->queueBytes = std::max<qsizetype>(1, m_options.queueBytes);
    m_bridge->prefixLength = m_prefixDot.size();
    m_dropLogTimer.setSingleShot(true);
    connect(&m_dropLogTimer, &QTimer::timeout, this, &NatsBroker::logDrops);
    m_restartTimer.setSingleShot(true);
    connect(&m_restartTimer, &QTimer::timeout, this, &NatsBroker::restartConnection);
    startConnecting();
}

NatsBroker::~NatsBroker() {
    {
        QMutexLocker lock(&m_bridge->mutex);
        m_bridge->receiver = nullptr;
    }
    tsanAcquire(m_bridge); // ~QObject frees the events still queued for us
    // Only waits when the first connect attempt is still under way (a NATS host that does
    // not answer): the connector thread owns nothing we could free before it returns.
    if (m_connector.joinable())
        m_connector.join();
    natsConnection *connection = m_connection;
    {
        QMutexLocker lock(&m_bridge->mutex);
        if (!connection)
            connection = m_bridge->handover;
        m_bridge->handover = nullptr;
    }
    // Closing first flushes what was published and drops every subscription on the server
    // at once, instead of one UNSUB per channel.
    if (connection)
        natsConnection_Close(connection);
    for (natsSubscription *sub : std::as_const(m_subscriptions)) {
        if (sub)
            natsSubscription_Destroy(sub);
    }
    if (connection)
        natsConnection_Destroy(connection);
    m_bridge->release();
}

void NatsBroker::startConnecting() {
    if (m_connector.joinable())
        m_connector.join();
    natsOptions *opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    QString failed;
    const auto check = [&](natsStatus status, const char *what) {
        if (status != NATS_OK && failed.isEmpty())
            failed = QStringLiteral("%1: %2").arg(QLatin1String(what), lastNatsError(status));
    };
    check(s, "nats options");
    if (!opts) {
        m_connectFailed = true;
        refreshState();
        return;
    }

    std::vector<QByteArray> urls;
    std::vector<const char *> urlPointers;
    for (const QString &u : std::as_const(m_options.servers))
        urls.push_back(u.trimmed().toUtf8());
    for (const QByteArray &u : urls)
        urlPointers.push_back(u.constData());
    check(natsOptions_SetServers(opts, urlPointers.data(), int(urlPointers.size())), "servers");

    const QString name = m_options.name.isEmpty()
                             ? QStringLiteral("lhttpd-qt %1").arg(QSysInfo::machineHostName())
                             : m_options.name;
    check(natsOptions_SetName(opts, name.toUtf8().constData()), "name");
    // Local subscribers get a node's own publishes from publish(); NATS must not echo them.
    check(natsOptions_SetNoEcho(opts, true), "no-echo");
    // One shared delivery thread instead of nats.c's default of one thread per subscription:
    // a node may hold tens of thousands of channels.
    check(natsOptions_UseGlobalMessageDelivery(opts, true), "global delivery");
    check(natsOptions_SetRetryOnFailedConnect(opts, true, &NatsBridge::onConnected, m_bridge),
          "retry on failed connect");
    check(natsOptions_SetMaxReconnect(opts, m_options.maxReconnect), "max reconnect");
    check(natsOptions_SetReconnectWait(opts, m_options.reconnectWaitMs), "reconnect wait");
    check(natsOptions_SetReconnectBufSize(opts, m_options.reconnectBufferBytes),
          "reconnect buffer");
    check(natsOptions_SetMaxPendingMsgs(opts, m_options.pendingMsgs), "pending messages");
    check(natsOptions_SetPingInterval(opts, PingIntervalMs), "ping interval");
    check(natsOptions_SetMaxPingsOut(opts, MaxPingsOut), "max pings out");
    check(natsOptions_SetDisconnectedCB(opts, &NatsBridge::onDisconnected, m_bridge), "callbacks");
    check(natsOptions_SetReconnectedCB(opts, &NatsBridge::onConnected, m_bridge), "callbacks");
    check(natsOptions_SetClosedCB(opts, &NatsBridge::onClosed, m_bridge), "callbacks");
    check(natsOptions_SetErrorHandler(opts, &NatsBridge::onError, m_bridge), "callbacks");
    if (!m_options.user.isEmpty() || !m_options.password.isEmpty())
        check(natsOptions_SetUserInfo(opts, m_options.user.toUtf8().constData(),
                                      m_options.password.toUtf8().constData()),
              "user/password");
    if (!m_options.token.isEmpty())
        check(natsOptions_SetToken(opts, m_options.token.toUtf8().constData()), "token");
    if (!m_options.credentialsFile.isEmpty())
        check(natsOptions_SetUserCredentialsFromFiles(
                  opts, m_options.credentialsFile.toLocal8Bit().constData(), nullptr),
              "credentials file");
    if (m_options.usesTls()) {
        check(natsOptions_SetSecure(opts, true), "tls");
        if (!m_options.tlsCaFile.isEmpty())
            check(natsOptions_LoadCATrustedCertificates(
                      opts, m_options.tlsCaFile.toLocal8Bit().constData()),
                  "tls ca file");
        if (!m_options.tlsCertFile.isEmpty() || !m_options.tlsKeyFile.isEmpty())
            check(natsOptions_LoadCertificatesChain(opts,
                                                    m_options.tlsCertFile.toLocal8Bit().constData(),
                                                    m_options.tlsKeyFile.toLocal8Bit().constData()),
                  "tls certificate/key");
    }
    if (!failed.isEmpty()) {
        qCCritical(lcBroker).noquote() << "NATS not started:" << failed;
        natsOptions_Destroy(opts);
        m_connectFailed = true;
        refreshState();
        return;
    }

    // The first attempt runs on a helper thread: natsConnection_Connect tries every server
    // once before it goes asynchronous, which takes the connect timeout per unanswering host
    // (and a DNS lookup each) — too long for the Qt thread. The connection's callbacks hold
    // a reference to the bridge until the closed callback.
    m_bridge->retain();
    NatsBridge *bridge = m_bridge;
    m_connector = std::thread([bridge, opts] {
        natsConnection *connection = nullptr;
        const natsStatus status = natsConnection_Connect(&connection, opts);
        QString error;
        if (!connection) {
            error = lastNatsError(status);
        } else if (status == NATS_NOT_YET_CONNECTED) {
            // Why the first attempt failed (a refused user, an untrusted certificate); empty
            // when nothing answered. nats.c's closed callback later only says "no server".
            const char *why = nullptr;
            if (natsConnection_GetLastError(connection, &why) != NATS_OK && why && *why)
                error = QString::fromUtf8(why);
        }
        natsOptions_Destroy(opts);
        {
            QMutexLocker lock(&bridge->mutex);
            bridge->handover = connection;
            bridge->connectStatus = status;
            bridge->connectError = error;
            bridge->connectDone = true;
            bridge->wakeLocked();
        }
        if (!connection)
            bridge->release(); // no connection, so no closed callback either
        nats_ReleaseThreadMemory();
    });
}

void NatsBroker::adoptConnection(natsConnection *connection, int status) {
    if (m_connector.joinable())
        m_connector.join(); // it has finished: it handed the connection over
    QString error;
    {
        QMutexLocker lock(&m_bridge->mutex);
        error = m_bridge->connectError;
    }
    if (!connection) {
        m_connectFailed = true;
        m_unreachable = true;
        refreshState();
        giveUpOrRestart(error);
        return;
    }
    {
        QMutexLocker lock(&m_mutex);
        m_connection = connection;
    }
    if (status == NATS_NOT_YET_CONNECTED) {
        m_unreachable = true;
        if (!error.isEmpty())
            m_lastConnectError = error;
        const QString why = error.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(error);
        qCWarning(lcBroker).noquote()
            << "NATS not reachable at" << m_options.servers.join(u',') + why
            << "— serving this node's subscribers only and retrying every"
            << m_options.reconnectWaitMs << "ms";
    }
    // Channels that got subscribers while the connector ran.
    for (auto it = m_subscriptions.begin(); it != m_subscriptions.end(); ++it) {
        if (!it.value())
            createSubscription(it.key(), &it.value());
    }
    refreshState();
}

void NatsBroker::giveUpOrRestart(const QString &reason) {
    const QString servers = m_options.servers.join(u',');
    if (m_options.maxReconnect >= 0) {
        qCCritical(lcBroker).noquote()
            << "NATS gave up on" << servers << "after" << m_options.maxReconnect
            << "reconnect attempts (" + reason + "); serving this node's subscribers only";
        return;
    }
    // nats.c closes for good on some errors even when told to retry for ever (a refused
    // user or token, an untrusted certificate): the operator may fix the server side, so
    // start over rather than stay cut off until a restart.
    const int delay = m_restartDelayMs =
        m_restartDelayMs
            ? std::min(m_restartDelayMs * 2, std::max(MaxRestartDelayMs, m_options.reconnectWaitMs))
            : std::max(m_options.reconnectWaitMs, MinRestartDelayMs);
    qCWarning(lcBroker).noquote() << "NATS connection to" << servers << "closed (" + reason + ");"
                                  << "serving this node's subscribers only, trying again in"
                                  << delay << "ms";
    m_restartTimer.start(delay);
}

void NatsBroker::restartConnection() {
    natsConnection *old = nullptr;
    {
        QMutexLocker lock(&m_mutex);
        old = std::exchange(m_connection, nullptr);
    }
    if (old)
        natsConnection_Destroy(old); // closed already; its subscriptions are gone
    m_connectFailed = false;
    m_closeHandled = false;
    startConnecting();
    refreshState();
}

void NatsBroker::customEvent(QEvent *event) {
    tsanAcquire(m_bridge); // before reading an event a nats.c thread made
    if (event->type() == DrainEvent)
        drain();
    else
        Broker::customEvent(event);
}

void NatsBroker::drain() {
    std::vector<NatsIncoming> batch;
    bool adopt = false;
    bool stateDirty = false;
    natsConnection *connection = nullptr;
    int connectStatus = NATS_OK;
    {
        QMutexLocker lock(&m_bridge->mutex);
        const size_t n = std::min<size_t>(m_bridge->queue.size(), MaxDrainBatch);
        batch.reserve(n);
        for (size_t i = 0; i < n; ++i) {
            NatsIncoming &in = m_bridge->queue.front();
            m_bridge->queuedBytes -= in.channel.size() + in.pattern.size() + in.payload.size();
            batch.push_back(std::move(in));
            m_bridge->queue.pop_front();
        }
        if (m_bridge->connectDone) {
            adopt = true;
            m_bridge->connectDone = false;
            connection = std::exchange(m_bridge->handover, nullptr);
            connectStatus = m_bridge->connectStatus;
        }
        stateDirty = std::exchange(m_bridge->stateDirty, false);
        if (m_bridge->queue.empty())
            m_bridge->wakePending = false;
        else // more than one batch waiting: go on after the event loop had its turn
            QCoreApplication::postEvent(this, new QEvent(DrainEvent));
    }
    if (adopt)
        adoptConnection(connection, connectStatus);
    if (stateDirty)
        refreshState();

    LocalDelivery *to = local();
    for (NatsIncoming &in : batch) {
        if (!to)
            break;
        const Frame frame(std::move(in.payload));
        if (!in.pattern.isEmpty()) {
            // NATS sends a message once per matching subscription of this connection: one
            // copy for `a.b`, another for `a.*`. Each copy goes to its own channel only.
            to->deliverExact(in.pattern, frame);
        } else if (m_wildcardChannels > 0) {
            to->deliverExact(in.channel, frame);
        } else {
            to->deliver(in.channel, frame);
        }
    }
    logDrops();
}

void NatsBroker::refreshState() {
    State next = State::Connecting;
    bool closed = false;
    quint64 disconnects = 0;
    {
        QMutexLocker lock(&m_bridge->mutex);
        disconnects = m_bridge->disconnects;
    }
    if (!m_connection) {
        // Before the first attempt returned: Connecting. After a failed one (or while a closed
        // connection is being replaced): Disconnected, retrying in the background.
        next = m_connectFailed || m_unreachable ? State::Disconnected : State::Connecting;
    } else {
        switch (natsConnection_Status(m_connection)) {
        case NATS_CONN_STATUS_CONNECTED:
        case NATS_CONN_STATUS_DRAINING_SUBS:
        case NATS_CONN_STATUS_DRAINING_PUBS:
            next = State::Connected;
            break;
        case NATS_CONN_STATUS_CLOSED:
            next = State::Disconnected;
            closed = true;
            break;
        default:
            // nats.c retries the first connection the way it reconnects; a node that never
            // reached NATS is reported as Disconnected, one that lost it as Reconnecting.
            next = m_everConnected ? State::Reconnecting
                   : m_unreachable ? State::Disconnected
                                   : State::Connecting;
            break;
        }
    }

    if (closed && !m_closeHandled) {
        // Once per connection: nats.c closed it for good, and every subscription with it.
        m_closeHandled = true;
        m_unreachable = true;
        const char *why = nullptr;
        natsConnection_GetLastError(m_connection, &why);
        QString reason = why && *why ? QString::fromUtf8(why) : QStringLiteral("closed");
        if (!m_lastConnectError.isEmpty() && m_lastConnectError != reason)
            reason += QStringLiteral("; first error: ") + m_lastConnectError;
        for (auto it = m_subscriptions.begin(); it != m_subscriptions.end(); ++it) {
            if (it.value())
                destroySubscription(std::exchange(it.value(), nullptr));
        }
        giveUpOrRestart(reason);
    }

    QString url;
    if (next == State::Connected) {
        char buffer[512] = {};
        if (natsConnection_GetConnectedUrl(m_connection, buffer, sizeof buffer) == NATS_OK)
            url = QString::fromUtf8(buffer);
    }
    // A disconnect and reconnect between two looks (a quick failover) still shows as one.
    const bool blipped =
        next == State::Connected && m_state == State::Connected && disconnects != m_seenDisconnects;
    m_seenDisconnects = disconnects;
    if (next == m_state && !blipped && url == m_serverUrl)
        return;

    const State previous = m_state;
    {
        QMutexLocker lock(&m_mutex);
        m_serverUrl = url;
    }
    switch (next) {
    case State::Connected:
        if (m_everConnected)
            qCInfo(lcBroker).noquote() << "NATS reconnected to" << url;
        else
            qCInfo(lcBroker).noquote() << "NATS connected to" << url;
        m_everConnected = true;
        m_unreachable = false;
        m_restartDelayMs = 0;
        m_lastConnectError.clear();
        break;
    case State::Reconnecting:
        qCWarning(lcBroker) << "NATS connection lost; reconnecting, publishes reach this node's"
                            << "subscribers only until it is back";
        break;
    default:
        break;
    }
    if (blipped && previous == State::Connected) {
        m_state = State::Reconnecting;
        Q_EMIT stateChanged(m_state);
    }
    if (next != m_state) {
        m_state = next;
        Q_EMIT stateChanged(m_state);
    }
    if (next == State::Connected) {
        for (auto it = m_subscriptions.begin(); it != m_subscriptions.end(); ++it) {
            if (!it.value())
                createSubscription(it.key(), &it.value());
        }
    }
}

void NatsBroker::createSubscription(const QByteArray &channel, natsSubscription **slot) {
    // Made once the connector hands a connection over, or a closed one is replaced.
    if (!m_connection || natsConnection_IsClosed(m_connection))
        return;
    m_subject.truncate(0);
    m_subject.append(m_prefixDot).append(channel);
    natsSubscription *sub = nullptr;
    // On a connection that is still connecting or reconnecting nats.c records the
    // subscription and sends it once connected, and it re-sends all of them after every
    // reconnect: nothing to redo here but for a closed connection.
    const natsStatus s = natsConnection_Subscribe(&sub, m_connection, m_subject.constData(),
                                                  &NatsBridge::onMessage, m_bridge);
    if (s != NATS_OK) {
        noteProblem(QStringLiteral("cannot subscribe to %1: %2")
                        .arg(QString::fromUtf8(m_subject), lastNatsError(s)));
        return;
    }
    m_bridge->retain();
    if (natsSubscription_SetOnCompleteCB(sub, &NatsBridge::onSubscriptionComplete, m_bridge) !=
        NATS_OK)
        m_bridge->release(); // closed already (the connection just closed): no callback comes
    natsSubscription_SetPendingLimits(sub, m_options.pendingMsgs, m_options.pendingBytes);
    *slot = sub;
    ++m_liveSubscriptions;
}

void NatsBroker::destroySubscription(natsSubscription *sub) {
    if (m_bridge->slowConsumer) {
        int64_t dropped = 0;
        if (natsSubscription_GetDropped(sub, &dropped) == NATS_OK)
            m_natsDropped += quint64(dropped);
    }
    natsSubscription_Unsubscribe(sub); // the UNSUB; fails harmlessly on a closed connection
    natsSubscription_Destroy(sub);
    --m_liveSubscriptions;
}

void NatsBroker::subscribe(const QByteArray &channel) {
    auto it = m_subscriptions.find(channel);
    if (it != m_subscriptions.end())
        return;
    it = m_subscriptions.insert(channel, nullptr);
    if (ChannelName::isWildcard(channel))
        ++m_wildcardChannels;
    createSubscription(channel, &it.value());
}

void NatsBroker::unsubscribe(const QByteArray &channel) {
    const auto it = m_subscriptions.find(channel);
    if (it == m_subscriptions.end())
        return;
    natsSubscription *sub = it.value();
    m_subscriptions.erase(it);
    if (ChannelName::isWildcard(channel))
        --m_wildcardChannels;
    if (sub)
        destroySubscription(sub);
}

Error NatsBroker::publish(const QByteArray &channel, const Frame &frame) {
    // Any event loop's thread may publish: the subject is built in a buffer of the thread's
    // own, what the broker's thread changes (the connection, the counters) under m_mutex.
    thread_local QByteArray subject;
    subject.truncate(0);
    subject.append(m_prefixDot).append(channel);
    const Error unavailable =
        Error::make(Status::ServiceUnavailable,
                    "cluster unavailable (NATS not connected): delivered on this node only");
    QString problem;
    Error result;
    {
        QMutexLocker lock(&m_mutex);
        if (m_options.strict &&
            (!m_connection || natsConnection_Status(m_connection) != NATS_CONN_STATUS_CONNECTED)) {
            ++m_counters.rejected;
            return unavailable;
        }
        if (!m_connection) { // the first connect attempt is still running
            ++m_counters.publishFailures;
            problem = QStringLiteral("publish to '%1' before NATS was set up: not sent to other "
                                     "nodes")
                          .arg(QString::fromUtf8(channel));
        } else {
            // Buffered by nats.c and written by its flusher thread; while reconnecting it goes
            // to the reconnect buffer and is sent once NATS is back.
            const natsStatus s = natsConnection_Publish(
                m_connection, subject.constData(), frame.bytes().constData(), int(frame.size()));
            if (s == NATS_OK) {
                ++m_messagesOut;
                return {};
            }
            ++m_counters.publishFailures;
            problem = QStringLiteral("publish to '%1' not sent to other nodes: %2")
                          .arg(QString::fromUtf8(channel), lastNatsError(s));
            if (m_options.strict) {
                ++m_counters.rejected;
                result = unavailable;
            }
        }
    }
    noteProblem(problem);
    return result;
}

QString NatsBroker::description() const {
    QString d = QStringLiteral("nats ") + m_options.servers.join(u',');
    if (!m_options.subjectPrefix.isEmpty())
        d += QStringLiteral(" (subject prefix %1)").arg(QString::fromUtf8(m_prefixDot));
    return d;
}

Broker::Stats NatsBroker::stats() const {
    Stats s;
    {
        QMutexLocker lock(&m_bridge->mutex);
        s.messagesIn = m_bridge->received;
        s.drops = m_bridge->dropped;
    }
    {
        QMutexLocker lock(&m_mutex);
        s.messagesOut = m_messagesOut;
        s.publishFailures = m_counters.publishFailures + m_counters.rejected;
        s.serverUrl = m_serverUrl;
    }
    s.subscriptions = m_liveSubscriptions.load(std::memory_order_relaxed);
    // nats.c's own drops (a subscription over its pending limits) only after it reported a
    // slow consumer; summing over every subscription is not worth it otherwise. The
    // subscriptions are the broker thread's: other threads get the sum it last made.
    if (m_bridge->slowConsumer) {
        if (thread() == QThread::currentThread()) {
            quint64 natsDropped = m_natsDropped;
            for (natsSubscription *sub : m_subscriptions) {
                int64_t n = 0;
                if (sub && natsSubscription_GetDropped(sub, &n) == NATS_OK)
                    natsDropped += quint64(n);
            }
            m_natsDroppedSeen.store(natsDropped, std::memory_order_relaxed);
        }
        s.drops += m_natsDroppedSeen.load(std::memory_order_relaxed);
    }
    return s;
}

NatsBroker::Counters NatsBroker::counters() const {
    Counters c;
    {
        QMutexLocker lock(&m_mutex);
        c = m_counters;
    }
    QMutexLocker lock(&m_bridge->mutex);
    c.queueHighWater = m_bridge->highWater;
    return c;
}

void NatsBroker::noteProblem(const QString &what) {
    if (what.isEmpty())
        return;
    QMutexLocker lock(&m_mutex);
    ++m_problems;
    if (m_lastProblemLog.isValid() && m_lastProblemLog.elapsed() < ProblemLogIntervalMs)
        return;
    const quint64 more = m_problems - m_problemsLogged - 1;
    qCWarning(lcBroker).noquote() << "NATS:" << what
                                  << (more ? QStringLiteral("(and %1 more)").arg(more) : QString());
    m_problemsLogged = m_problems;
    m_lastProblemLog.restart();
}

void NatsBroker::logDrops() {
    quint64 dropped = 0;
    {
        QMutexLocker lock(&m_bridge->mutex);
        dropped = m_bridge->dropped;
    }
    if (dropped == m_dropsLogged)
        return;
    if (m_lastDropLog.isValid() && m_lastDropLog.elapsed() < ProblemLogIntervalMs) {
        if (!m_dropLogTimer.isActive())
            m_dropLogTimer.start(int(ProblemLogIntervalMs - m_lastDropLog.elapsed()));
        return;
    }
    qCWarning(lcBroker) << "NATS hand-off queue full (limit" << m_options.queueLimit << "messages,"
                        << m_options.queueBytes << "bytes): dropped" << dropped - m_dropsLogged
                        << "incoming messages," << dropped << "in total";
    m_dropsLogged = dropped;
    m_lastDropLog.restart();
}

} // namespace lhttp

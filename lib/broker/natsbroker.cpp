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
// A history stream keeps this many messages per channel beyond the namespace's size (or the size
// again, when larger): see fillConfig().
constexpr int HistoryStreamMargin = 1000;
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
// How long a JetStream API request (stream info, create, subscribe) may take, on the history
// worker thread.
constexpr int JetStreamApiWaitMs = 5'000;

bool jetStreamMissing(natsStatus s, jsErrCode jerr) {
    return s == NATS_NO_RESPONDERS || jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr;
}

} // namespace

// One run of the history worker: makes sure every namespace's stream exists with its limits,
// reads its epoch and (re)subscribes where needed. Runs on its own thread; the broker reads
// the items back after joining it.
struct NatsBroker::HistoryJob {
    struct Item {
        int index = 0;
        QByteArray stream;
        QByteArray subject;
        HistoryNamespace ns;
        natsSubscription *sub = nullptr; // in: the current one; out: the one to keep
        QByteArray subEpoch;
        bool resubscribe = false;
        // Out.
        QString problem;
        bool subscribed = false;
        bool subscribeFailed = false;
        QByteArray epoch;     // of the stream as read now; empty when it could not be read
        quint64 firstSeq = 0; // its first message now
        quint64 msgs = 0;     // how many it holds now
    };
    std::vector<Item> items;
    jsCtx *js = nullptr;
    NatsBridge *bridge = nullptr;
    QString server;
    bool memoryStorage = false;
    int replicas = 1;
    int pendingMsgs = 0;
    int pendingBytes = 0;
    QStringList infos;
    QStringList warnings;

    void run();
    void fillConfig(jsStreamConfig &cfg, const Item &it, const char **subjects) const;
};

void NatsBroker::HistoryJob::fillConfig(jsStreamConfig &cfg, const Item &it,
                                        const char **subjects) const {
    jsStreamConfig_Init(&cfg);
    cfg.Name = it.stream.constData();
    subjects[0] = it.subject.constData();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    // Room beyond the history size: a burst of more than `size` messages on one channel must
    // not push its newest out of the stream before every node's consumer delivered them
    // live. Each node keeps `size` of them (HistoryStore).
    cfg.MaxMsgsPerSubject = historyStreamLimit(it.ns.size);
    cfg.MaxAge = it.ns.ttlMs * 1'000'000; // nanoseconds; 0: no limit
    cfg.Storage = memoryStorage ? js_MemoryStorage : js_FileStorage;
    cfg.Replicas = std::max(1, replicas);
}

void NatsBroker::HistoryJob::run() {
    QString missing; // JetStream is not there: the same answer for every namespace
    for (Item &it : items) {
        if (!missing.isEmpty()) {
            it.problem = missing;
            continue;
        }
        const QString streamName = QString::fromUtf8(it.stream);
        const char *subjects[1] = {nullptr};
        jsStreamConfig cfg;
        fillConfig(cfg, it, subjects);
        jsStreamInfo *si = nullptr;
        jsErrCode jerr = jsErrCode(0);
        natsStatus s = js_GetStreamInfo(&si, js, cfg.Name, nullptr, &jerr);
        if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
            jerr = jsErrCode(0);
            s = js_AddStream(&si, js, &cfg, nullptr, &jerr);
            if (s == NATS_OK && si && si->Created != 0) { // 0: another node made it first
                infos << QStringLiteral("created history stream %1 for %2")
                             .arg(streamName, QString::fromUtf8(it.subject));
            } else if (jerr == JSStreamNameExistErr) { // another node was first
                jerr = jsErrCode(0);
                s = js_GetStreamInfo(&si, js, cfg.Name, nullptr, &jerr);
            }
        } else if (s == NATS_OK && si && si->Config) {
            const jsStreamConfig *have = si->Config;
            const bool sameSubjects = have->SubjectsLen == 1 && have->Subjects &&
                                      qstrcmp(have->Subjects[0], cfg.Subjects[0]) == 0;
            if (have->Storage != cfg.Storage) {
                warnings << QStringLiteral("history stream %1 keeps its %2 storage (a stream's "
                                           "storage cannot be changed)")
                                .arg(streamName, have->Storage == js_MemoryStorage
                                                     ? QStringLiteral("memory")
                                                     : QStringLiteral("file"));
                cfg.Storage = have->Storage;
            }
            if (!sameSubjects || have->MaxMsgsPerSubject != cfg.MaxMsgsPerSubject ||
                have->MaxAge != cfg.MaxAge || have->Replicas != cfg.Replicas) {
                jsStreamInfo *updated = nullptr;
                jerr = jsErrCode(0);
                const natsStatus u = js_UpdateStream(&updated, js, &cfg, nullptr, &jerr);
                if (u == NATS_OK && updated) {
                    infos << QStringLiteral("history stream %1 updated: %2 messages per channel "
                                            "(was %3), max age %4 ms (was %5)")
                                 .arg(streamName)
                                 .arg(cfg.MaxMsgsPerSubject)
                                 .arg(have->MaxMsgsPerSubject)
                                 .arg(cfg.MaxAge / 1'000'000)
                                 .arg(have->MaxAge / 1'000'000);
                    jsStreamInfo_Destroy(si);
                    si = updated;
                } else {
                    it.problem = QStringLiteral("history stream %1 exists with other limits and "
                                                "cannot be updated: %2")
                                     .arg(streamName, lastNatsError(u));
                    jsStreamInfo_Destroy(updated);
                    jsStreamInfo_Destroy(si);
                    continue;
                }
            }
        }
        if (s != NATS_OK || !si) {
            if (jetStreamMissing(s, jerr)) {
                missing = it.problem = QStringLiteral("JetStream is not enabled on %1").arg(server);
            } else {
                it.problem = QStringLiteral("history stream %1 unavailable on %2: %3")
                                 .arg(streamName, server, lastNatsError(s));
            }
            jsStreamInfo_Destroy(si);
            continue;
        }
        if (si->Created == 0) {
            // Two nodes creating the stream at once: the one whose request the server found
            // already done gets an answer without a creation time. Ask again.
            jsStreamInfo_Destroy(si);
            si = nullptr;
            s = js_GetStreamInfo(&si, js, cfg.Name, nullptr, &jerr);
            if (s != NATS_OK || !si || si->Created == 0) {
                it.problem =
                    QStringLiteral("history stream %1 unavailable on %2: %3")
                        .arg(streamName, server,
                             s == NATS_OK ? QStringLiteral("no creation time") : lastNatsError(s));
                jsStreamInfo_Destroy(si);
                continue;
            }
        }
        const QByteArray epoch = NatsBroker::streamEpoch(si->Created);
        const quint64 lastSeq = si->State.LastSeq;
        const bool empty = si->State.Msgs == 0;
        it.epoch = epoch;
        it.firstSeq = si->State.FirstSeq;
        it.msgs = si->State.Msgs;
        jsStreamInfo_Destroy(si);
        if (it.sub && !it.resubscribe && it.subEpoch == epoch)
            continue; // following it already

        // Subscribe (again): after the last message the node delivered when it is the same
        // stream, from the start otherwise. From here on the old subscription's messages are
        // dropped (their generation is old).
        quint64 start = 1;
        quint32 generation = 0;
        {
            QMutexLocker lock(&bridge->mutex);
            NatsHistoryShared &h = bridge->history[size_t(it.index)];
            if (h.epoch == epoch) {
                start = h.lastDelivered + 1;
            } else {
                h.epoch = epoch;
                h.catchUpTarget = lastSeq;
                h.catchUpNeeded = !empty;
                h.lastDelivered = 0;
            }
            generation = ++h.generation;
            h.overflowed = false;
        }
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = cfg.Name;
        so.Ordered = true;
        if (start > 1) {
            so.Config.DeliverPolicy = js_DeliverByStartSequence;
            so.Config.OptStartSeq = start;
        } else {
            so.Config.DeliverPolicy = js_DeliverAll;
        }
        auto *closure = new NatsHistorySub{bridge, it.index, generation};
        bridge->retain();
        natsSubscription *sub = nullptr;
        jerr = jsErrCode(0);
        s = js_Subscribe(&sub, js, cfg.Subjects[0], &NatsBridge::onHistoryMessage, closure, nullptr,
                         &so, &jerr);
        if (s != NATS_OK) {
            delete closure;
            bridge->release();
            it.problem = QStringLiteral("cannot follow history stream %1: %2")
                             .arg(streamName, lastNatsError(s));
            it.subscribeFailed = true;
            sub = nullptr;
        } else {
            if (natsSubscription_SetOnCompleteCB(sub, &NatsBridge::onHistorySubscriptionComplete,
                                                 closure) != NATS_OK) {
                bridge->release(); // closed already: no callback comes
                delete closure;
            }
            natsSubscription_SetPendingLimits(sub, pendingMsgs, pendingBytes);
            it.subscribed = true;
        }
        // Its consumer is deleted with it (a request: this is why it is done here).
        if (it.sub)
            natsSubscription_Destroy(it.sub);
        it.sub = sub;
        it.subEpoch = sub ? epoch : QByteArray();
    }
}

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
    connect(&m_historyCheckTimer, &QTimer::timeout, this, [this] {
        if (m_state == State::Connected)
            requestHistoryJob(false);
    });
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
    // at once, instead of one UNSUB per channel. It also ends the history worker's requests.
    if (connection)
        natsConnection_Close(connection);
    stopHistory();
    for (natsSubscription *sub : std::as_const(m_subscriptions)) {
        if (sub)
            natsSubscription_Destroy(sub);
    }
    if (m_js)
        jsCtx_Destroy(m_js);
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
    // The JetStream context of the connection (no request yet): history publishes and the
    // history worker use it.
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = JetStreamApiWaitMs;
    jo.PublishAsync.ErrHandler = &NatsBridge::onHistoryPublishError;
    jo.PublishAsync.ErrHandlerClosure = m_bridge;
    jsCtx *js = nullptr;
    if (natsConnection_JetStream(&js, connection, &jo) != NATS_OK)
        js = nullptr;
    {
        QMutexLocker lock(&m_mutex);
        m_connection = connection;
        m_js = js;
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
    stopHistory(); // the closed connection's history subscriptions
    updateHistoryState();
    natsConnection *old = nullptr;
    jsCtx *js = nullptr;
    {
        QMutexLocker lock(&m_mutex);
        old = std::exchange(m_connection, nullptr);
        js = std::exchange(m_js, nullptr);
    }
    if (js)
        jsCtx_Destroy(js);
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
    bool historyJobDone = false;
    bool historyCheck = false;
    bool historyOverflow = false;
    bool historyResubscribe = false;
    QString historyPublishProblem;
    natsConnection *connection = nullptr;
    int connectStatus = NATS_OK;
    {
        QMutexLocker lock(&m_bridge->mutex);
        // Generations made since the last batch apply to the messages taken now.
        adoptHistoryGenerations();
        for (size_t i = 0; i < m_bridge->history.size(); ++i) {
            if (m_bridge->history[i].overflowed && !m_history[i].resubscribe) {
                m_history[i].resubscribe = true;
                historyOverflow = true;
            }
        }
        historyJobDone = std::exchange(m_bridge->historyJobDone, false);
        if (m_bridge->historyPublishFailures != m_historyPublishFailuresLogged) {
            historyPublishProblem =
                QStringLiteral("%1 history publishes not stored (JetStream: %2)")
                    .arg(m_bridge->historyPublishFailures - m_historyPublishFailuresLogged)
                    .arg(m_bridge->historyPublishError);
            m_historyPublishFailuresLogged = m_bridge->historyPublishFailures;
        }
        historyCheck = std::exchange(m_bridge->historyCheckWanted, false);
        historyResubscribe = std::exchange(m_bridge->historyResubscribeWanted, false);
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
    if (historyJobDone && m_historyJob)
        finishHistoryJob(true);
    noteProblem(historyPublishProblem);

    LocalDelivery *to = local();
    bool historyDelivered = false;
    for (NatsIncoming &in : batch) {
        if (!to)
            break;
        if (in.history >= 0) {
            // In the stream's order; a copy read again after a resubscription is skipped.
            HistoryState &h = m_history[size_t(in.history)];
            if (in.generation != h.generation || in.sequence <= h.lastDelivered)
                continue;
            h.lastDelivered = in.sequence;
            historyDelivered = true;
            bool live = true;
            if (h.catchingUp) {
                live = in.sequence > h.catchUpTarget;
                if (in.sequence >= h.catchUpTarget || in.pending == 0)
                    h.catchingUp = false;
            }
            to->deliverStored(in.channel, in.sequence, h.epoch, Frame(std::move(in.payload)), live);
            continue;
        }
        if (!in.pattern.isEmpty() && isHistoryChannel(in.channel))
            continue; // a wildcard subscription's copy: the stored one comes with its position
        if (in.channel == PresenceChannel) {
            // The cluster's own: never to a (wildcard) channel's subscribers.
            if (in.pattern.isEmpty() && m_presence)
                to->deliverPresence(in.payload);
            continue;
        }
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
    if (historyDelivered) {
        QMutexLocker lock(&m_bridge->mutex);
        for (size_t i = 0; i < m_history.size(); ++i) {
            // Only for the generation the worker knows: after a new epoch it starts afresh.
            if (m_bridge->history[i].generation == m_history[i].generation)
                m_bridge->history[i].lastDelivered = m_history[i].lastDelivered;
        }
    }
    if (!m_history.empty()) {
        updateHistoryState();
        if (historyOverflow || historyCheck || historyResubscribe)
            requestHistoryJob(historyResubscribe);
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
        // The streams may have changed meanwhile (a restart, an operator); the consumers of
        // a restarted server are gone. Follow each from where this node left off.
        if (!m_history.empty())
            requestHistoryJob(true);
        // Other nodes may have dropped this one meanwhile, and it them.
        if (m_presence)
            Q_EMIT presenceConnected();
    }
}

void NatsBroker::setPresence(bool enabled) {
    if (enabled == m_presence)
        return;
    m_presence = enabled;
    enabled ? subscribe(PresenceChannel) : unsubscribe(PresenceChannel);
}

void NatsBroker::publishPresence(const QByteArray &message) {
    thread_local QByteArray subject;
    subject.truncate(0);
    subject.append(m_prefixDot).append(PresenceChannel);
    QString problem;
    {
        QMutexLocker lock(&m_mutex);
        // While reconnecting nats.c buffers it; a message lost otherwise is found missing by
        // the others (a gap in the numbering, or the heartbeat), who ask for this node's state.
        const natsStatus s = m_connection
                                 ? natsConnection_Publish(m_connection, subject.constData(),
                                                          message.constData(), int(message.size()))
                                 : NATS_CONNECTION_CLOSED;
        if (s != NATS_OK && m_connection)
            problem =
                QStringLiteral("presence update not sent to other nodes: %1").arg(lastNatsError(s));
    }
    noteProblem(problem);
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
    if (isHistoryChannel(channel))
        return; // its namespace's stream brings its messages
    auto it = m_subscriptions.find(channel);
    if (it != m_subscriptions.end())
        return;
    it = m_subscriptions.insert(channel, nullptr);
    if (ChannelName::isWildcard(channel))
        ++m_wildcardChannels;
    createSubscription(channel, &it.value());
}

void NatsBroker::unsubscribe(const QByteArray &channel) {
    if (isHistoryChannel(channel))
        return;
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
    if (isHistoryChannel(channel)) {
        // Stored by JetStream, which hands it back to every node, this one included. The
        // acknowledgement comes later (NatsBridge::onHistoryPublishError counts refusals).
        {
            QMutexLocker lock(&m_mutex);
            if (m_options.strict && (!m_connection || natsConnection_Status(m_connection) !=
                                                          NATS_CONN_STATUS_CONNECTED)) {
                ++m_counters.rejected;
                return Error::make(Status::ServiceUnavailable,
                                   "history unavailable (NATS not connected): not published");
            }
            natsStatus s = NATS_CONNECTION_CLOSED;
            if (m_js) {
                jsPubOptions po;
                jsPubOptions_Init(&po);
                po.MaxWait = std::max(1, m_options.historyPublishTimeoutMs);
                s = js_PublishAsync(m_js, subject.constData(), frame.bytes().constData(),
                                    int(frame.size()), &po);
            }
            if (s == NATS_OK) {
                ++m_messagesOut;
                return {};
            }
            ++m_historyPublishFailures;
            problem = QStringLiteral("history publish to '%1' not stored: %2")
                          .arg(QString::fromUtf8(channel),
                               m_js ? lastNatsError(s) : QStringLiteral("NATS not set up yet"));
        }
        noteProblem(problem);
        return Error::make(Status::ServiceUnavailable,
                           "history unavailable (JetStream did not take the message): not "
                           "published");
    }
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
        s.historyPublishFailures += m_bridge->historyPublishFailures;
    }
    {
        QMutexLocker lock(&m_mutex);
        s.messagesOut = m_messagesOut;
        s.publishFailures = m_counters.publishFailures + m_counters.rejected;
        s.serverUrl = m_serverUrl;
        s.historyPublishFailures += m_historyPublishFailures;
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
    c.historyRequeued = m_bridge->historyDropped;
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

// --- history ---

QByteArray NatsBroker::historyStreamName(const QByteArray &streamPrefix,
                                         const QByteArray &pattern) {
    static const char hex[] = "0123456789ABCDEF";
    QByteArray name = streamPrefix + '_';
    for (const char c : pattern) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-') {
            name += c;
        } else {
            const auto u = uchar(c);
            name += '_';
            name += hex[u >> 4];
            name += hex[u & 0xF];
        }
    }
    return name;
}

QByteArray NatsBroker::streamEpoch(qint64 createdNs) {
    return QByteArray::number(quint64(createdNs), 36);
}

QByteArray NatsBroker::historyEpoch(const QByteArray &pattern) const {
    QMutexLocker lock(&m_epochMutex);
    for (size_t i = 0; i < m_historyPatterns.size() && i < m_historyEpochs.size(); ++i) {
        if (m_historyPatterns[i] == pattern)
            return m_historyEpochs[i];
    }
    return {};
}

QString NatsBroker::historyProblem() const {
    QMutexLocker lock(&m_mutex);
    return m_historyProblem;
}

qint64 NatsBroker::historyStreamLimit(int size) {
    return qint64(size) + std::max(size, HistoryStreamMargin);
}

bool NatsBroker::isHistoryChannel(QByteArrayView channel) const {
    for (const QByteArray &pattern : m_historyPatterns) {
        if (ChannelName::matches(pattern, channel))
            return true;
    }
    return false;
}

void NatsBroker::setHistory(const QList<HistoryNamespace> &namespaces) {
    if (!m_history.empty()) {
        qCWarning(lcBroker) << "NATS: history namespaces are set once; ignoring a change";
        return;
    }
    if (namespaces.isEmpty())
        return;
    for (const HistoryNamespace &ns : namespaces) {
        HistoryState st;
        st.ns = ns;
        st.stream = historyStreamName(m_options.historyStreamPrefix, ns.pattern);
        st.subject = m_prefixDot + ns.pattern;
        m_history.push_back(std::move(st));
        m_historyPatterns.push_back(ns.pattern);
    }
    {
        QMutexLocker lock(&m_epochMutex);
        m_historyEpochs.resize(m_history.size());
    }
    {
        QMutexLocker lock(&m_bridge->mutex);
        m_bridge->history.resize(m_history.size());
    }
    m_historyCheckTimer.start(std::max(100, m_options.historyCheckIntervalMs));
    updateHistoryState();
    if (m_state == State::Connected)
        requestHistoryJob(true);
}

void NatsBroker::requestHistoryJob(bool resubscribeAll) {
    if (resubscribeAll) {
        for (HistoryState &h : m_history)
            h.resubscribe = true;
    }
    startHistoryJob();
}

void NatsBroker::startHistoryJob() {
    if (m_historyJob) { // one at a time; the next one starts when it is done
        m_historyJobAgain = true;
        return;
    }
    if (m_history.empty() || !m_js || m_state != State::Connected)
        return; // done once connected
    auto job = std::make_shared<HistoryJob>();
    job->js = m_js;
    job->bridge = m_bridge;
    job->server = m_serverUrl;
    job->memoryStorage = m_options.historyMemoryStorage;
    job->replicas = m_options.historyReplicas;
    job->pendingMsgs = m_options.pendingMsgs;
    job->pendingBytes = m_options.pendingBytes;
    for (size_t i = 0; i < m_history.size(); ++i) {
        HistoryState &h = m_history[i];
        HistoryJob::Item it;
        it.index = int(i);
        it.stream = h.stream;
        it.subject = h.subject;
        it.ns = h.ns;
        it.sub = std::exchange(h.sub, nullptr); // the worker's until it is done
        it.subEpoch = h.subEpoch;
        it.resubscribe = std::exchange(h.resubscribe, false);
        job->items.push_back(std::move(it));
    }
    m_historyJob = job;
    if (m_historyWorker.joinable())
        m_historyWorker.join();
    NatsBridge *bridge = m_bridge;
    bridge->retain();
    m_historyWorker = std::thread([job, bridge] {
        job->run();
        {
            QMutexLocker lock(&bridge->mutex);
            bridge->historyJobDone = true;
            bridge->wakeLocked();
        }
        bridge->release();
        nats_ReleaseThreadMemory();
    });
}

void NatsBroker::finishHistoryJob(bool restart) {
    if (!m_historyJob)
        return;
    if (m_historyWorker.joinable())
        m_historyWorker.join();
    const std::shared_ptr<HistoryJob> job = std::move(m_historyJob);
    for (HistoryJob::Item &it : job->items) {
        HistoryState &h = m_history[size_t(it.index)];
        h.sub = it.sub;
        h.following = it.sub != nullptr;
        h.subEpoch = it.subEpoch;
        h.problem = it.problem;
        if (it.subscribeFailed || !it.sub)
            h.resubscribe = true;
        if (it.subscribed) {
            QMutexLocker lock(&m_mutex);
            ++m_counters.historySubscribes;
        }
    }
    for (const QString &line : std::as_const(job->infos))
        qCInfo(lcBroker).noquote() << "NATS:" << line;
    for (const QString &line : std::as_const(job->warnings))
        qCWarning(lcBroker).noquote() << "NATS:" << line;
    {
        QMutexLocker lock(&m_bridge->mutex);
        adoptHistoryGenerations();
    }
    for (const HistoryJob::Item &it : job->items) {
        // Catching up waits for the stream's last message when the node started following
        // it; if that and all before it expired meanwhile (TTL, limits), nothing more comes.
        HistoryState &h = m_history[size_t(it.index)];
        if (h.catchingUp && !it.epoch.isEmpty() && it.epoch == h.epoch &&
            (it.msgs == 0 || it.firstSeq > h.catchUpTarget))
            h.catchingUp = false;
    }
    if (!restart)
        return; // stopping: the caller says what follows
    updateHistoryState();
    if (std::exchange(m_historyJobAgain, false))
        startHistoryJob();
}

void NatsBroker::stopHistory() {
    finishHistoryJob(false);
    m_historyJobAgain = false;
    for (HistoryState &h : m_history) {
        if (h.sub)
            natsSubscription_Destroy(std::exchange(h.sub, nullptr));
        h.following = false;
        h.subEpoch.clear();
        h.resubscribe = true;
    }
    QMutexLocker lock(&m_bridge->mutex);
    m_bridge->historyJobDone = false;
}

void NatsBroker::adoptHistoryGenerations() {
    for (size_t i = 0; i < m_history.size(); ++i) {
        const NatsHistoryShared &shared = m_bridge->history[i];
        HistoryState &h = m_history[i];
        if (shared.generation == h.generation)
            continue;
        h.generation = shared.generation;
        if (shared.epoch != h.epoch) {
            // A stream this node had not followed yet (its first, or a recreated one): what
            // it holds up to its last sequence now is read back as stored, not live.
            h.epoch = shared.epoch;
            {
                QMutexLocker lock(&m_epochMutex); // after the bridge's mutex, never before
                m_historyEpochs[i] = h.epoch;
            }
            h.lastDelivered = 0;
            h.catchUpTarget = shared.catchUpTarget;
            h.catchingUp = shared.catchUpNeeded;
        }
    }
}

void NatsBroker::updateHistoryState() {
    if (m_history.empty())
        return;
    QStringList problems;
    bool ready = true;
    bool catchingUp = false;
    bool unread = false;
    for (const HistoryState &h : m_history) {
        if (!h.problem.isEmpty()) {
            if (!problems.contains(h.problem))
                problems << h.problem;
            ready = false;
        } else if (!h.following || h.generation == 0) {
            ready = false;
            unread = true;
        } else if (h.catchingUp) {
            ready = false;
            catchingUp = true;
        }
    }
    QString problem = problems.join(QStringLiteral("; "));
    if (problem.isEmpty() && !ready) {
        if (m_state != State::Connected)
            problem = QStringLiteral("NATS not connected");
        else if (unread)
            problem = QStringLiteral("history streams not read yet");
        else if (catchingUp)
            problem = QStringLiteral("reading the history streams");
    }
    const bool wasReady = m_historyReady.load(std::memory_order_relaxed);
    QString previous;
    {
        QMutexLocker lock(&m_mutex);
        previous = std::exchange(m_historyProblem, problem);
    }
    if (ready == wasReady && problem == previous)
        return;
    m_historyReady.store(ready, std::memory_order_release);
    // Real problems once each, not the passing states of a (re)connect.
    if (!problems.isEmpty() && problem != previous)
        qCWarning(lcBroker).noquote() << "NATS: history unavailable:" << problem;
    else if (ready && !wasReady)
        qCInfo(lcBroker).noquote()
            << "NATS: history ready (" << m_history.size() << "JetStream stream(s))";
    Q_EMIT historyStateChanged();
}

} // namespace lhttp

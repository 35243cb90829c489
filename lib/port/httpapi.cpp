// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "httpapi.h"

#include "broker.h"
#include "counters.h"
#include "frame.h"
#include "http.h"
#include "message.h"
#include "publisher.h"
#include "router.h"
#include "serveroptions.h"
#include "token.h"
#include "upstream.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMetaEnum>

#include <unistd.h>

namespace lhttp {

namespace {

constexpr qint64 MaxStaticFileSize = 16 * 1024 * 1024;

qint64 residentBytes() {
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (!statm.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = statm.readAll().split(' ');
    return fields.size() > 1 ? fields[1].toLongLong() * sysconf(_SC_PAGESIZE) : 0;
}

QByteArray brokerStateName(Broker::State s) {
    return QByteArray(QMetaEnum::fromType<Broker::State>().valueToKey(int(s))).toLower();
}

// Prometheus text exposition format 0.0.4.
class MetricsWriter {
public:
    void family(const char *name, const char *type, const char *help) {
        m_out += QByteArray("# HELP lhttp_") + name + ' ' + help + "\n# TYPE lhttp_" + name + ' ' +
                 type + '\n';
    }
    void sample(const char *name, double value, const QByteArray &labels = {}) {
        m_out += QByteArray("lhttp_") + name;
        if (!labels.isEmpty())
            m_out += '{' + labels + '}';
        m_out += ' ' + QByteArray::number(value, 'g', 17) + '\n';
    }
    void single(const char *name, const char *type, const char *help, double value) {
        family(name, type, help);
        sample(name, value);
    }
    QByteArray take() { return std::move(m_out); }

private:
    QByteArray m_out;
};

} // namespace

void HttpApi::handle(const HttpRequest &request, HttpResponse &response) {
    const QString path = request.path();
    if (path == u"/publish")
        publish(request, response);
    else if (path == u"/healthz" && (request.method == "GET" || request.method == "HEAD"))
        health(response);
    else if (path == u"/metrics" && (request.method == "GET" || request.method == "HEAD"))
        metrics(response);
    else
        staticFile(request, response);
    if (response.status >= 400)
        m_node.counters.countError(response.status);
}

void HttpApi::publish(const HttpRequest &request, HttpResponse &response) {
    if (request.method != "POST") {
        response.setError(Status::MethodNotAllowed, "use POST for /publish");
        response.headers.append(qMakePair(QByteArray("Allow"), QByteArray("POST")));
        return;
    }
    const ServerOptions &options = m_node.options;
    if (!options.apiKey.isEmpty() &&
        !constantTimeEquals(request.bearerToken(HttpRequest::TokenFrom::Header), options.apiKey)) {
        response.setError(Status::Unauthorized,
                          "missing or wrong API key (Authorization: Bearer <key>)");
        response.headers.append(qMakePair(QByteArray("WWW-Authenticate"), QByteArray("Bearer")));
        return;
    }
    Error error;
    const Message message = Message::parse(request.body, options.limits, &error);
    if (error) {
        response.setError(error.code, "body is not a valid LHTTP message: " + error.reason);
        return;
    }
    const auto channels = splitTokens(message.header("publish"));
    if (channels.isEmpty()) {
        response.setError(Status::BadRequest, "the LHTTP message has no publish header");
        return;
    }
    // Subscribers receive the body byte for byte.
    if (Error e = m_node.publisher.publish(channels, Frame(request.body))) {
        response.setError(e.code, e.reason);
        return;
    }
    response.status = 200;
    response.body.clear();
}

NodeStatus::~NodeStatus() = default;

void HttpApi::health(HttpResponse &response) {
    const NodeStatus &node = m_node.status;
    const Broker *broker = node.broker();
    const bool listening = node.isListening();
    const Broker::State state = broker->state();
    const bool brokerOk = state == Broker::State::Embedded || state == Broker::State::Connected;
    const HistoryStore &history = node.router().history();
    // Clustered history that cannot be served (JetStream missing, streams not read yet) is a
    // degraded node: recoveries and reads get 503 meanwhile.
    const bool historyOk = !history.isEnabled() || !history.isClustered() || broker->historyReady();
    QJsonObject o{
        {QStringLiteral("status"),
         brokerOk && historyOk ? QStringLiteral("ok") : QStringLiteral("degraded")},
        {QStringLiteral("listening"), listening},
        {QStringLiteral("version"), QStringLiteral(LHTTP_VERSION)},
        {QStringLiteral("connections"), node.connectionCount()},
        {QStringLiteral("channels"), node.channelCount()},
        {QStringLiteral("broker"),
         QJsonObject{{QStringLiteral("kind"), broker->description()},
                     {QStringLiteral("state"), QString::fromLatin1(brokerStateName(state))},
                     {QStringLiteral("url"), broker->stats().serverUrl},
                     {QStringLiteral("subscriptions"), broker->stats().subscriptions}}},
    };
    if (history.isEnabled()) {
        const HistoryStore::Stats hs = history.stats();
        QJsonObject h{
            {QStringLiteral("store"),
             history.isClustered() ? QStringLiteral("jetstream") : QStringLiteral("embedded")},
            {QStringLiteral("ready"), historyOk},
            {QStringLiteral("namespaces"), hs.namespaces},
            {QStringLiteral("channels"), hs.channels},
            {QStringLiteral("messages"), double(hs.messages)},
            {QStringLiteral("bytes"), double(hs.bytes)},
        };
        if (!historyOk)
            h.insert(QStringLiteral("problem"), broker->historyProblem());
        o.insert(QStringLiteral("history"), h);
    }
    if (const PresenceStore &presence = node.router().presence(); presence.isEnabled()) {
        const PresenceStore::Size ps = presence.size();
        o.insert(QStringLiteral("presence"),
                 QJsonObject{{QStringLiteral("node"), QString::fromUtf8(presence.nodeName())},
                             {QStringLiteral("clustered"), presence.isClustered()},
                             {QStringLiteral("nodes"), ps.nodes},
                             {QStringLiteral("channels"), ps.channels},
                             {QStringLiteral("entries"), ps.entries}});
    }
    response.status = listening ? 200 : 503;
    response.contentType = "application/json";
    response.body = QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n';
}

void HttpApi::metrics(HttpResponse &response) {
    const NodeStatus &node = m_node.status;
    const Counters::Values c = node.counters();
    MetricsWriter w;
    w.single("connections", "gauge", "Open WebSocket connections.", node.connectionCount());
    w.single("connections_accepted_total", "counter", "WebSocket connections accepted.",
             double(c.connectionsAccepted));
    w.single("channels", "gauge", "Channels with at least one local subscriber.",
             node.channelCount());
    w.single("subscriptions", "gauge", "Local (connection, channel) subscriptions.",
             double(node.subscriptionCount()));
    w.single("messages_received_total", "counter", "LHTTP messages received from clients.",
             double(c.messagesIn));
    w.single("bytes_received_total", "counter", "Bytes of LHTTP messages received.",
             double(c.bytesIn));
    w.single("messages_sent_total", "counter",
             "Messages sent to clients (one per receiving connection).", double(c.messagesOut));
    w.single("bytes_sent_total", "counter", "Bytes of messages sent to clients.",
             double(c.bytesOut));
    w.single("publishes_total", "counter", "Publishes, one per (message, channel).",
             double(c.publishes));
    w.family("connections_refused_total", "counter",
             "WebSocket upgrades refused, by reason (limits, tokens, origins, draining).");
    QByteArrayList reasons = c.refusedBy.keys();
    std::sort(reasons.begin(), reasons.end());
    for (const QByteArray &r : reasons)
        w.sample("connections_refused_total", double(c.refusedBy.value(r)), "reason=\"" + r + '"');
    w.single("slow_consumers_total", "counter",
             "Connections closed because their unsent bytes passed max-outgoing-bytes.",
             double(c.slowConsumers));
    w.single("socket_buffers_released_total", "counter",
             "Times an idle connection's empty socket buffers were given back to the heap.",
             double(c.socketBuffersReleased));
    w.single("keepalive_timeouts_total", "counter",
             "Connections closed for not answering a ping in time.", double(c.keepaliveTimeouts));
    w.single("idle_timeouts_total", "counter",
             "Connections closed for sending no valid message after connecting.",
             double(c.idleTimeouts));
    w.single("rate_limited_total", "counter", "Messages refused with 429 by the rate limit.",
             double(c.rateLimited));
    // The limits in force (they change on SIGHUP), so alerts can compare against them.
    const ServerOptions &o = m_node.options;
    w.family("limit", "gauge", "Configured limits (0: no limit).");
    const std::pair<const char *, double> limits[] = {
        {"max_connections", o.maxConnections},
        {"max_connections_per_address", o.maxConnectionsPerAddress},
        {"max_channels_per_connection", o.maxChannelsPerConnection},
        {"max_message_size", double(o.limits.maxMessageSize)},
        {"max_outgoing_bytes", double(o.maxOutgoingBytes)},
        {"messages_per_second", o.messagesPerSecond},
        {"rate_burst", o.messagesPerSecond > 0 ? o.effectiveRateBurst() : 0},
    };
    for (const auto &[name, value] : limits)
        w.sample("limit", value, QByteArray("name=\"") + name + '"');
    w.family("errors_total", "counter",
             "Error replies and HTTP error answers, by HTTP-like status code.");
    QList<int> codes = c.errors.keys();
    std::sort(codes.begin(), codes.end());
    for (int code : codes)
        w.sample("errors_total", double(c.errors.value(code)),
                 "code=\"" + QByteArray::number(code) + '"');

    {
        const Upstream::Stats s = node.upstreamStats();
        w.single("upstream_requests_total", "counter", "Upstream requests sent.",
                 double(s.requests));
        w.single("upstream_in_flight", "gauge", "Upstream requests awaiting an answer.",
                 node.upstreamInFlight());
        w.family("upstream_failures_total", "counter", "Upstream requests that did not succeed.");
        w.sample("upstream_failures_total", double(s.refused), "reason=\"refused\"");
        w.sample("upstream_failures_total", double(s.failed), "reason=\"error\"");
        w.sample("upstream_failures_total", double(s.timedOut), "reason=\"timeout\"");
        w.family("upstream_duration_seconds", "histogram", "Upstream request latency.");
        for (size_t i = 0; i < Upstream::Stats::Buckets.size(); ++i)
            w.sample("upstream_duration_seconds_bucket", double(s.latencyBuckets[i]),
                     "le=\"" + QByteArray::number(Upstream::Stats::Buckets[i]) + '"');
        w.sample("upstream_duration_seconds_bucket", double(s.latencyCount), "le=\"+Inf\"");
        w.sample("upstream_duration_seconds_sum", s.latencySum);
        w.sample("upstream_duration_seconds_count", double(s.latencyCount));
    }

    const Broker *broker = node.broker();
    w.family("broker_state", "gauge", "1 for the broker's current state.");
    const QMetaEnum states = QMetaEnum::fromType<Broker::State>();
    for (int i = 0; i < states.keyCount(); ++i)
        w.sample("broker_state", states.value(i) == int(broker->state()) ? 1 : 0,
                 "state=\"" + QByteArray(states.key(i)).toLower() + '"');
    const Broker::Stats bs = broker->stats();
    w.single("broker_messages_in_total", "counter", "Messages received from other nodes.",
             double(bs.messagesIn));
    w.single("broker_messages_out_total", "counter", "Messages sent to other nodes.",
             double(bs.messagesOut));
    w.single("broker_drops_total", "counter",
             "Messages from other nodes dropped because the hand-off queue was full.",
             double(bs.drops));
    w.single("broker_publish_failures_total", "counter",
             "Publishes not sent to other nodes (bus refused them or was unavailable).",
             double(bs.publishFailures));
    w.single("broker_subscriptions", "gauge", "Subscriptions held on the bus (one per channel).",
             bs.subscriptions);
    w.single("broker_history_publish_failures_total", "counter",
             "History messages the cluster's store (JetStream) did not take.",
             double(bs.historyPublishFailures));
    const Router &router = node.router();
    if (router.history().isEnabled()) {
        const HistoryStore::Stats hs = router.history().stats();
        const Router::HistoryCounters &hc = router.historyCounters();
        w.single("history_channels", "gauge", "History channels this node holds a stream of.",
                 hs.channels);
        w.single("history_messages", "gauge", "Messages held by this node's history store.",
                 double(hs.messages));
        w.single("history_bytes", "gauge", "Bytes held by this node's history store.",
                 double(hs.bytes));
        w.single("history_evicted_total", "counter",
                 "History messages removed by the memory cap (history-memory).",
                 double(hs.evicted));
        w.single("history_expired_total", "counter", "History messages removed by their TTL.",
                 double(hs.expired));
        w.family("history_recoveries_total", "counter", "Recoveries (recover headers) by outcome.");
        w.sample("history_recoveries_total", double(hc.recovered.load()), "outcome=\"recovered\"");
        w.sample("history_recoveries_total", double(hc.notRecovered.load()),
                 "outcome=\"not_recovered\"");
        w.single("history_recovered_messages_total", "counter", "Messages replayed by recoveries.",
                 double(hc.recoveredMessages.load()));
        w.single("history_reads_total", "counter", "History reads answered.",
                 double(hc.reads.load()));
        w.single("history_read_messages_total", "counter", "Messages sent by history reads.",
                 double(hc.readMessages.load()));
        w.single("history_unavailable_total", "counter",
                 "Recoveries and reads answered 503 (clustered history not ready).",
                 double(hc.unavailable.load()));
    }
    if (const PresenceStore &presence = router.presence(); presence.isEnabled()) {
        const PresenceStore::Size ps = presence.size();
        const PresenceStore::Counters &pc = presence.counters();
        w.single("presence_channels", "gauge", "Presence channels with entries.",
                 double(ps.channels));
        w.single("presence_entries", "gauge", "Presence entries, of every node.",
                 double(ps.entries));
        w.single("presence_local_entries", "gauge", "Presence entries of this node's connections.",
                 double(ps.localEntries));
        w.single("presence_nodes", "gauge", "Nodes whose presence entries this node holds.",
                 double(ps.nodes));
        w.family("presence_joins_total", "counter", "Presence joins by origin.");
        w.sample("presence_joins_total", double(pc.joins.load()), "origin=\"local\"");
        w.sample("presence_joins_total", double(pc.remoteJoins.load()), "origin=\"remote\"");
        w.family("presence_leaves_total", "counter", "Presence leaves by origin.");
        w.sample("presence_leaves_total", double(pc.leaves.load()), "origin=\"local\"");
        w.sample("presence_leaves_total", double(pc.remoteLeaves.load()), "origin=\"remote\"");
        w.single("presence_events_total", "counter", "Join/leave events written to watchers.",
                 double(pc.eventsSent.load()));
        w.single("presence_reads_total", "counter", "Presence and presence-stats reads answered.",
                 double(pc.reads.load()));
        w.single("presence_rate_limited_total", "counter",
                 "Messages refused for joining presence channels too fast.",
                 double(pc.rateLimited.load()));
        w.single("presence_node_timeouts_total", "counter", "Other nodes dropped for silence.",
                 double(pc.nodeTimeouts.load()));
        w.single("presence_node_restarts_total", "counter",
                 "Other nodes replaced by a restart under the same name.",
                 double(pc.nodeRestarts.load()));
        w.single("presence_sync_requests_total", "counter", "Node state requests sent.",
                 double(pc.syncRequests.load()));
        w.single("presence_snapshots_total", "counter", "Node states applied.",
                 double(pc.snapshots.load()));
        w.single("presence_malformed_total", "counter", "Presence messages that could not be read.",
                 double(pc.malformed.load()));
    }
    w.single("process_resident_memory_bytes", "gauge", "Resident set size of the process.",
             double(residentBytes()));

    response.status = 200;
    response.contentType = "text/plain; version=0.0.4; charset=utf-8";
    response.body = w.take();
}

QByteArray HttpApi::contentType(const QString &fileName) {
    const QString ext = QFileInfo(fileName).suffix().toLower();
    if (ext == u"html" || ext == u"htm")
        return "text/html; charset=utf-8";
    if (ext == u"js" || ext == u"mjs")
        return "text/javascript; charset=utf-8";
    if (ext == u"css")
        return "text/css; charset=utf-8";
    if (ext == u"json")
        return "application/json";
    if (ext == u"svg")
        return "image/svg+xml";
    if (ext == u"png")
        return "image/png";
    if (ext == u"ico")
        return "image/x-icon";
    if (ext == u"txt")
        return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

void HttpApi::staticFile(const HttpRequest &request, HttpResponse &response) {
    const ServerOptions &o = m_node.options;
    const QString path = request.path();
    if (!o.serveStatic) {
        response.setError(Status::NotFound, "no resource at " + path.toUtf8());
        return;
    }
    if (request.method != "GET" && request.method != "HEAD") {
        response.setError(Status::MethodNotAllowed, "static files answer GET and HEAD only");
        response.headers.append(qMakePair(QByteArray("Allow"), QByteArray("GET, HEAD")));
        return;
    }
    QString relative = path;
    if (relative.endsWith(u'/'))
        relative += QStringLiteral("index.html");
    const QStringList segments = relative.split(u'/', Qt::SkipEmptyParts);
    if (segments.contains(QStringLiteral("..")) || relative.contains(QChar(0))) {
        response.setError(Status::NotFound, "no resource at " + path.toUtf8());
        return;
    }
    const QString root = o.staticDir.isEmpty() ? QStringLiteral(":/web") : o.staticDir;
    QFile file(root + u'/' + segments.join(u'/'));
    if (!QFileInfo(file.fileName()).isFile() || !file.open(QIODevice::ReadOnly)) {
        response.setError(Status::NotFound, "no resource at " + path.toUtf8());
        return;
    }
    if (file.size() > MaxStaticFileSize) {
        response.setError(Status::PayloadTooLarge, "file too large to serve");
        return;
    }
    response.status = 200;
    response.contentType = contentType(file.fileName());
    response.headers.append(qMakePair(QByteArray("Cache-Control"), QByteArray("no-cache")));
    response.body = file.readAll();
}

} // namespace lhttp

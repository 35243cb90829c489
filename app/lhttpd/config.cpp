// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "config.h"

#include "channelname.h"
#include "history.h"

#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QLocale>
#include <QSettings>
#include <QUrl>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <type_traits>
#include <variant>
#include <vector>

namespace {

// An option's value between its text and its field of DaemonConfig.
using Value = std::variant<bool, qlonglong, double, QString, QStringList, QHostAddress>;

// How an option's text is read and checked.
enum class Kind {
    Switch,    // a flag without value; in the file true/false, yes/no, on/off or 1/0
    Integer,   // a whole number within the entry's range
    Real,      // a number within the entry's range
    Text,      // trimmed
    Password,  // taken as given: a password may begin or end with a space
    File,      // a readable file, or empty for none
    Directory, // a directory, or empty for none
    List,      // comma-separated; an option given again adds to the list
    Address,   // an IP address, `any` (or empty) or `localhost`
    Word,      // one of the entry's words
};

// A further rule for Text and List (each item) values, and what to tell a user it wants.
struct Rule {
    bool (*accepts)(const QString &) = nullptr;
    const char *wants = nullptr;
};

struct Type {
    Kind kind;
    qlonglong min = 0;
    qlonglong max = 0;
    // Printed as the default when the default is empty or 0 ("none", "unlimited"): the
    // bare value would say nothing there.
    const char *unset = nullptr;
    const char *words = nullptr; // Word: the accepted values, space-separated
    Rule rule = {};
    char separator = ','; // List: between items
};

Type switchType() {
    return {Kind::Switch};
}
Type integer(qlonglong min, qlonglong max, const char *unset = nullptr) {
    return {Kind::Integer, min, max, unset};
}
Type real(qlonglong min, qlonglong max, const char *unset) {
    return {Kind::Real, min, max, unset};
}
Type text(const char *unset, Rule rule = {}) {
    return {Kind::Text, 0, 0, unset, nullptr, rule};
}
Type password() {
    return {Kind::Password, 0, 0, "none"};
}
Type file() {
    return {Kind::File, 0, 0, "none"};
}
Type directory(const char *unset) {
    return {Kind::Directory, 0, 0, unset};
}
Type list(const char *unset, Rule rule = {}) {
    return {Kind::List, 0, 0, unset, nullptr, rule};
}
// A list whose items contain commas: separated by semicolons instead.
Type semicolonList(const char *unset, Rule rule) {
    return {Kind::List, 0, 0, unset, nullptr, rule, ';'};
}
Type address() {
    return {Kind::Address};
}
Type words(const char *words) {
    return {Kind::Word, 0, 0, nullptr, words};
}

// Reads and writes an option's field. Most are one field, named once through field().
struct Access {
    std::function<Value(const DaemonConfig &)> get;
    std::function<void(DaemonConfig &, const Value &)> set;
};

template <typename T> Value toValue(const T &v) {
    if constexpr (std::is_same_v<T, QByteArray>)
        return QString::fromUtf8(v);
    else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
        return qlonglong(v);
    else
        return v;
}

template <typename T> void fromValue(const Value &v, T *field) {
    if constexpr (std::is_same_v<T, QByteArray>)
        *field = std::get<QString>(v).toUtf8();
    else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
        *field = T(std::get<qlonglong>(v)); // the entry's range fits the field
    else
        *field = std::get<T>(v);
}

// `ref` is [](auto &c) -> auto & { return c.<the field>; }, called with a const DaemonConfig
// to read and a mutable one to write.
template <typename Ref> Access field(Ref ref) {
    return {[ref](const DaemonConfig &c) { return toValue(ref(c)); },
            [ref](DaemonConfig &c, const Value &v) { fromValue(v, &ref(c)); }};
}

struct Option {
    const char *key;       // the --flag and the key in [server]
    const char *valueName; // shown in --help; none for switches
    const char *help;      // one sentence; the default is added from DaemonConfig
    Type type;
    Access access;
};

bool isPath(const QString &v) {
    return v.startsWith(QLatin1Char('/'));
}

bool isNatsUrl(const QString &v) {
    const QUrl url(v, QUrl::StrictMode);
    return url.isValid() && !url.host().isEmpty() &&
           (url.scheme() == u"nats" || url.scheme() == u"tls");
}

bool isSubjectPrefix(const QString &v) {
    return v.isEmpty() ||
           !lhttp::ChannelName::validate(v.toUtf8(), lhttp::ChannelName::Use::Publish, false,
                                         lhttp::Limits::DefaultMaxChannelLength);
}

bool isStreamPrefix(const QString &v) {
    return !v.isEmpty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [](QChar c) {
        return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z') || (c >= u'0' && c <= u'9') ||
               c == u'-' || c == u'_';
    });
}

bool isChannelPattern(const QString &v) {
    return !lhttp::ChannelName::validate(v.toUtf8(), lhttp::ChannelName::Use::Subscribe, true,
                                         lhttp::Limits::DefaultMaxChannelLength);
}

bool isNodeName(const QString &v) {
    return v.size() <= 255 && std::all_of(v.begin(), v.end(), [](QChar c) {
               return c.unicode() > 0x20 && c.unicode() < 0x7f;
           });
}

bool isHistorySpec(const QString &v) {
    return lhttp::parseHistorySpec(v).has_value();
}

// Every option, in --help's and the config file's order.
const std::vector<Option> &options() {
    static const std::vector<Option> table = {
        {"listen", "address", "Address to listen on", address(),
         field([](auto &c) -> auto & { return c.server.address; })},
        {"port", "port", "Port for WebSocket and HTTP", integer(0, 65535),
         field([](auto &c) -> auto & { return c.server.port; })},
        {"path", "path", "Only accept WebSocket upgrades on this path", text("any path"),
         field([](auto &c) -> auto & { return c.server.path; })},
        {"threads", "count",
         "Event loops (threads) connections are spread over; 0 is one per CPU core",
         integer(0, lhttp::ServerOptions::MaxThreads, "one per CPU core"),
         field([](auto &c) -> auto & { return c.server.threads; })},
        {"event-loop",
         "kind",
         "Event dispatcher: epoll (lhttp's own: a pass costs what is ready, not what is open) or "
         "qt (Qt's own, which polls every connection on every pass)",
         words("epoll qt"),
         {[](const DaemonConfig &c) -> Value {
              return c.server.eventLoop == lhttp::ServerOptions::EventLoop::Qt
                         ? QStringLiteral("qt")
                         : QStringLiteral("epoll");
          },
          [](DaemonConfig &c, const Value &v) {
              c.server.eventLoop = std::get<QString>(v) == u"qt"
                                       ? lhttp::ServerOptions::EventLoop::Qt
                                       : lhttp::ServerOptions::EventLoop::Epoll;
          }}},
        {"max-message-size", "bytes", "Largest LHTTP message accepted", integer(64, 64LL << 20),
         field([](auto &c) -> auto & { return c.server.limits.maxMessageSize; })},
        {"max-headers", "count", "Most header lines in one message", integer(1, 10000),
         field([](auto &c) -> auto & { return c.server.limits.maxHeaders; })},
        {"max-header-line", "bytes", "Longest header line", integer(16, 1 << 20),
         field([](auto &c) -> auto & { return c.server.limits.maxHeaderLineLength; })},
        {"max-channel-length", "bytes", "Longest channel id", integer(1, 4096),
         field([](auto &c) -> auto & { return c.server.limits.maxChannelLength; })},
        {"hard-message-limit", "bytes", "Messages above this close the connection with 1009",
         integer(0, 1LL << 30, "16 x max-message-size"),
         field([](auto &c) -> auto & { return c.server.hardMessageLimit; })},
        {"max-channels", "count", "Most channels one connection may join", integer(1, 1 << 20),
         field([](auto &c) -> auto & { return c.server.maxChannelsPerConnection; })},
        {"allow-wildcards", nullptr, "Let clients subscribe to * and > wildcards", switchType(),
         field([](auto &c) -> auto & { return c.server.allowWildcards; })},
        {"handshake-timeout", "ms", "Time to send a complete request head", integer(100, 3'600'000),
         field([](auto &c) -> auto & { return c.server.handshakeTimeoutMs; })},
        {"http-idle-timeout", "ms", "Keep-alive HTTP connections idle longer are closed",
         integer(100, 3'600'000),
         field([](auto &c) -> auto & { return c.server.httpIdleTimeoutMs; })},
        {"allowed-origins", "list", "Browser origins allowed to open a WebSocket", list("all"),
         field([](auto &c) -> auto & { return c.server.allowedOrigins; })},
        {"api-key", "key", "Require 'Authorization: Bearer <key>' on POST /publish", text("none"),
         field([](auto &c) -> auto & { return c.server.apiKey; })},
        {"admin-token", "token",
         "Enable the admin endpoint for lhttp-admin (docs/ADMIN.md); consoles must send this token",
         text("off"), field([](auto &c) -> auto & { return c.server.adminToken; })},
        {"admin-path", "path", "WebSocket path of the admin endpoint",
         text(nullptr, {isPath, "a path starting with /"}),
         field([](auto &c) -> auto & { return c.server.adminPath; })},
        {"upstream-allow", "list", "URL prefixes upstream may call (* allows any)", list("none"),
         field([](auto &c) -> auto & { return c.server.upstreamAllow; })},
        {"upstream-timeout", "ms", "Upstream request timeout", integer(1, 600'000),
         field([](auto &c) -> auto & { return c.server.upstreamTimeoutMs; })},
        {"max-upstream-in-flight", "count", "Most upstream requests at once", integer(1, 1 << 20),
         field([](auto &c) -> auto & { return c.server.maxUpstreamInFlight; })},
        {"upstream-connections", "count", "Parallel upstream HTTP connections", integer(6, 65536),
         field([](auto &c) -> auto & { return c.server.upstreamConnections; })},
        {"static-dir", "dir", "Serve this directory at /", directory("the built-in chat demo"),
         field([](auto &c) -> auto & { return c.server.staticDir; })},
        // The only option that is the negation of its field: serving the demo is the default.
        {"no-static",
         nullptr,
         "Do not serve any page at /",
         switchType(),
         {[](const DaemonConfig &c) -> Value { return !c.server.serveStatic; },
          [](DaemonConfig &c, const Value &v) { c.server.serveStatic = !std::get<bool>(v); }}},
        {"nats", "urls", "Join a cluster through these NATS servers (nats:// or tls:// URLs)",
         list("none, the embedded broker", {isNatsUrl, "nats:// or tls:// URLs"}),
         field([](auto &c) -> auto & { return c.nats.servers; })},
        {"nats-prefix", "subject",
         "Prefix every channel's NATS subject with '<subject>.'; none keeps original lhttp's "
         "subjects",
         text("none", {isSubjectPrefix, "a channel name usable as a NATS subject"}),
         field([](auto &c) -> auto & { return c.nats.subjectPrefix; })},
        {"nats-name", "name", "Connection name shown by NATS monitoring", text("lhttpd-qt <host>"),
         field([](auto &c) -> auto & { return c.nats.name; })},
        {"nats-user", "user", "NATS user name", text("none"),
         field([](auto &c) -> auto & { return c.nats.user; })},
        {"nats-password", "password", "NATS password; prefer the config file", password(),
         field([](auto &c) -> auto & { return c.nats.password; })},
        {"nats-token", "token", "NATS authentication token", text("none"),
         field([](auto &c) -> auto & { return c.nats.token; })},
        {"nats-credentials", "file", "NATS credentials file, user JWT and NKey seed", file(),
         field([](auto &c) -> auto & { return c.nats.credentialsFile; })},
        {"nats-tls-ca", "file", "CA certificates (PEM) to verify NATS servers; turns TLS on",
         file(), field([](auto &c) -> auto & { return c.nats.tlsCaFile; })},
        {"nats-tls-cert", "file", "Client certificate (PEM) for NATS TLS; needs nats-tls-key",
         file(), field([](auto &c) -> auto & { return c.nats.tlsCertFile; })},
        {"nats-tls-key", "file", "Client private key (PEM) for NATS TLS; needs nats-tls-cert",
         file(), field([](auto &c) -> auto & { return c.nats.tlsKeyFile; })},
        {"nats-reconnect-wait", "ms", "Wait between reconnect attempts to one server",
         integer(10, 3'600'000), field([](auto &c) -> auto & { return c.nats.reconnectWaitMs; })},
        {"nats-max-reconnect", "count", "Reconnect attempts before giving up, -1 for ever",
         integer(-1, 1'000'000'000), field([](auto &c) -> auto & { return c.nats.maxReconnect; })},
        {"nats-reconnect-buffer", "bytes",
         "Publishes held while NATS is away, sent when it is back", integer(0, 1 << 30),
         field([](auto &c) -> auto & { return c.nats.reconnectBufferBytes; })},
        {"nats-pending-msgs", "count", "Messages nats.c holds per subscription before dropping",
         integer(1, 1 << 30), field([](auto &c) -> auto & { return c.nats.pendingMsgs; })},
        {"nats-pending-bytes", "bytes", "Bytes nats.c holds per subscription before dropping",
         integer(1024, 1 << 30), field([](auto &c) -> auto & { return c.nats.pendingBytes; })},
        {"nats-queue-limit", "count", "Messages waiting for the server thread before drops",
         integer(1, 1 << 24), field([](auto &c) -> auto & { return c.nats.queueLimit; })},
        {"nats-queue-bytes", "bytes", "Bytes waiting for the server thread before drops",
         integer(1024, 1LL << 34), field([](auto &c) -> auto & { return c.nats.queueBytes; })},
        {"nats-strict", nullptr,
         "Answer publishes with error 503 while NATS is down; local delivery still happens",
         switchType(), field([](auto &c) -> auto & { return c.nats.strict; })},
        {"history",
         "spec",
         "History namespace PATTERN=SIZE[,TTL]: channels matching PATTERN keep their last SIZE "
         "messages for at most TTL (e.g. room.*=100,10m; TTL in ms, s, m, h or d)",
         semicolonList("none", {isHistorySpec, "PATTERN=SIZE[,TTL], e.g. room.*=100,10m"}),
         {[](const DaemonConfig &c) -> Value {
              QStringList items;
              for (const lhttp::HistoryNamespace &ns : c.server.history)
                  items.append(lhttp::historySpecText(ns));
              return items;
          },
          [](DaemonConfig &c, const Value &v) {
              c.server.history.clear();
              for (const QString &item : std::get<QStringList>(v))
                  c.server.history.append(*lhttp::parseHistorySpec(item));
          }}},
        {"history-memory", "bytes", "Most bytes the embedded history store holds, 0 unlimited",
         integer(0, 1LL << 40, "unlimited"),
         field([](auto &c) -> auto & { return c.server.historyMemory; })},
        {"history-read-max", "count", "Most messages one history read may ask for",
         integer(1, 1'000'000), field([](auto &c) -> auto & { return c.server.historyReadMax; })},
        {"history-storage",
         "kind",
         "Clustered history (with --nats): JetStream storage of the history streams",
         words("file memory"),
         {[](const DaemonConfig &c) -> Value {
              return c.nats.historyMemoryStorage ? QStringLiteral("memory")
                                                 : QStringLiteral("file");
          },
          [](DaemonConfig &c, const Value &v) {
              c.nats.historyMemoryStorage = std::get<QString>(v) == u"memory";
          }}},
        {"history-stream-prefix", "name",
         "Clustered history: JetStream stream names start with this (one stream per namespace)",
         text(nullptr, {isStreamPrefix, "letters, digits, - and _"}),
         field([](auto &c) -> auto & { return c.nats.historyStreamPrefix; })},
        {"history-replicas", "count", "Clustered history: JetStream replicas of each stream",
         integer(1, 5), field([](auto &c) -> auto & { return c.nats.historyReplicas; })},
        {"presence",
         "pattern",
         "Presence namespace: channels matching PATTERN know their subscribers, cluster-wide, "
         "and send join/leave events to those who ask",
         semicolonList("none", {isChannelPattern, "a channel id, * and > wildcards allowed"}),
         {[](const DaemonConfig &c) -> Value {
              QStringList items;
              for (const QByteArray &p : c.server.presence)
                  items.append(QString::fromUtf8(p));
              return items;
          },
          [](DaemonConfig &c, const Value &v) {
              c.server.presence.clear();
              for (const QString &item : std::get<QStringList>(v))
                  c.server.presence.append(item.toUtf8());
          }}},
        {"presence-info-max", "bytes", "Most bytes of presence-info a subscriber may send",
         integer(0, 65'536), field([](auto &c) -> auto & { return c.server.presenceInfoMax; })},
        {"presence-list-max", "count", "Most entries one presence read lists",
         integer(1, 1'000'000), field([](auto &c) -> auto & { return c.server.presenceListMax; })},
        {"presence-rate", "count",
         "Presence joins per second per connection on average (bursts of 5 times that, at least "
         "max-channels)",
         integer(1, 1'000'000), field([](auto &c) -> auto & { return c.server.presenceRate; })},
        {"presence-timeout", "ms",
         "Clustered presence: drop a node not heard from for this long, with its entries",
         integer(2'000, 600'000),
         field([](auto &c) -> auto & { return c.server.presenceTimeoutMs; })},
        {"node-name", "name", "This node's name in presence entries, unique in the cluster",
         text("<host name>:<port>", {isNodeName, "visible ASCII, no spaces, at most 255 bytes"}),
         field([](auto &c) -> auto & { return c.server.nodeName; })},
        {"max-outgoing-bytes", "bytes",
         "Close a connection as a slow consumer past this many unsent bytes, 0 off",
         integer(0, 1LL << 34), field([](auto &c) -> auto & { return c.server.maxOutgoingBytes; })},
        {"ping-interval", "ms", "Ping each connection this often, 0 off", integer(0, 3'600'000),
         field([](auto &c) -> auto & { return c.server.pingIntervalMs; })},
        {"pong-timeout", "ms", "Close a connection with no pong this long after a ping",
         integer(10, 3'600'000), field([](auto &c) -> auto & { return c.server.pongTimeoutMs; })},
        {"idle-timeout", "ms",
         "Close a connection that sends no valid message this long after connecting, 0 off",
         integer(0, 86'400'000), field([](auto &c) -> auto & { return c.server.idleTimeoutMs; })},
        {"close-grace", "ms", "Abort a closing connection after this long", integer(10, 600'000),
         field([](auto &c) -> auto & { return c.server.closeGraceMs; })},
        {"max-connections", "count", "Most WebSocket connections on this node, 0 unlimited",
         integer(0, 10'000'000, "unlimited"),
         field([](auto &c) -> auto & { return c.server.maxConnections; })},
        {"max-connections-per-address", "count",
         "Most WebSocket connections from one address, 0 unlimited",
         integer(0, 10'000'000, "unlimited"),
         field([](auto &c) -> auto & { return c.server.maxConnectionsPerAddress; })},
        {"messages-per-second", "rate",
         "Messages per second per connection before error 429, 0 off", real(0, 10'000'000, "off"),
         field([](auto &c) -> auto & { return c.server.messagesPerSecond; })},
        {"rate-burst", "count", "Messages a connection may send at once",
         integer(0, 10'000'000, "2 x messages-per-second"),
         field([](auto &c) -> auto & { return c.server.rateBurst; })},
        {"abuse-close-after", "count", "Close (1008) after this many 429s in a row",
         integer(1, 10'000'000), field([](auto &c) -> auto & { return c.server.abuseCloseAfter; })},
        {"jwt-secret", "secret", "Require HS256 connect tokens signed with this secret",
         text("none, connections are open"),
         field([](auto &c) -> auto & { return c.server.jwtSecret; })},
        {"tls-cert", "file", "PEM certificate (chain) for wss:// and https://", file(),
         field([](auto &c) -> auto & { return c.server.tlsCertFile; })},
        {"tls-key", "file", "PEM private key for tls-cert", file(),
         field([](auto &c) -> auto & { return c.server.tlsKeyFile; })},
        {"drain-window", "ms", "On SIGTERM, close connections spread over this window",
         integer(0, 3'600'000), field([](auto &c) -> auto & { return c.server.drainWindowMs; })},
        {"log-level", "level", "Log level", words("debug info warning error"),
         field([](auto &c) -> auto & { return c.logLevel; })},
    };
    return table;
}

QString keyOf(const Option &o) {
    return QString::fromLatin1(o.key);
}

QStringList wordsOf(const Type &t) {
    return QString::fromLatin1(t.words).split(QLatin1Char(' '));
}

// "a, b or c"
QString oneOf(const QStringList &words) {
    return words.size() < 2
               ? words.join(QString())
               : words.mid(0, words.size() - 1).join(u", ") + QStringLiteral(" or ") + words.last();
}

// `separator`: between a list's items, as the option reads them back.
QString toText(const Value &value, char separator = ',') {
    return std::visit(
        [separator](const auto &v) -> QString {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>)
                return v ? QStringLiteral("true") : QStringLiteral("false");
            else if constexpr (std::is_same_v<T, qlonglong>)
                return QString::number(v);
            else if constexpr (std::is_same_v<T, double>)
                return QString::number(v, 'g', QLocale::FloatingPointShortest);
            else if constexpr (std::is_same_v<T, QString>)
                return v;
            else if constexpr (std::is_same_v<T, QStringList>)
                return v.join(QString(QLatin1Char(separator)) + u' ');
            else
                return v == QHostAddress::Any ? QStringLiteral("any") : v.toString();
        },
        value);
}

bool isUnset(const Value &value) {
    return std::visit(
        [](const auto &v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, qlonglong> || std::is_same_v<T, double>)
                return v == 0;
            else if constexpr (std::is_same_v<T, QString> || std::is_same_v<T, QStringList>)
                return v.isEmpty();
            else
                return false;
        },
        value);
}

const DaemonConfig &defaults() {
    static const DaemonConfig d;
    return d;
}

QString defaultText(const Option &o) {
    const Value v = o.access.get(defaults());
    if (o.type.unset && isUnset(v))
        return QString::fromLatin1(o.type.unset);
    return toText(v);
}

// What a value of this option must be, for the error message.
QString wants(const Type &t) {
    switch (t.kind) {
    case Kind::Switch:
        return QStringLiteral("true or false");
    case Kind::Integer:
        return QStringLiteral("an integer from %1 to %2").arg(t.min).arg(t.max);
    case Kind::Real:
        return QStringLiteral("a number from %1 to %2").arg(t.min).arg(t.max);
    case Kind::File:
        return QStringLiteral("a readable file");
    case Kind::Directory:
        return QStringLiteral("a directory");
    case Kind::Address:
        return QStringLiteral("an IP address, any or localhost");
    case Kind::Word:
        return oneOf(wordsOf(t));
    case Kind::Text:
    case Kind::Password:
    case Kind::List:
        break;
    }
    return QString::fromLatin1(t.rule.wants);
}

// The help sentence, what the kind adds to it, and the default: for --help and the file.
QString describe(const Option &o) {
    QString s = QString::fromLatin1(o.help);
    if (o.type.kind == Kind::List)
        s += o.type.separator == ',' ? QStringLiteral(", comma-separated; repeat to add more")
                                     : QStringLiteral(", ';'-separated; repeat to add more");
    else if (o.type.kind == Kind::Word || o.type.kind == Kind::Address)
        s += QStringLiteral(": ") + wants(o.type);
    return s + QStringLiteral(" (default: %1).").arg(defaultText(o));
}

std::optional<bool> toBool(const QString &v) {
    const QString s = v.toLower();
    if (s.isEmpty() || s == u"1" || s == u"true" || s == u"yes" || s == u"on")
        return true;
    if (s == u"0" || s == u"false" || s == u"no" || s == u"off")
        return false;
    return std::nullopt;
}

// One value of a non-list option.
std::optional<Value> parse(const Type &t, const QString &given) {
    const QString v = t.kind == Kind::Password ? given : given.trimmed();
    bool ok = true;
    switch (t.kind) {
    case Kind::Switch:
        if (const std::optional<bool> b = toBool(v))
            return *b;
        return std::nullopt;
    case Kind::Integer: {
        const qlonglong n = v.toLongLong(&ok);
        if (ok && n >= t.min && n <= t.max)
            return n;
        return std::nullopt;
    }
    case Kind::Real: {
        const double d = v.toDouble(&ok);
        if (ok && d >= double(t.min) && d <= double(t.max))
            return d;
        return std::nullopt;
    }
    case Kind::Text:
    case Kind::Password:
        if (t.rule.accepts && !t.rule.accepts(v))
            return std::nullopt;
        return v;
    case Kind::File:
        if (v.isEmpty() || (QFileInfo(v).isFile() && QFileInfo(v).isReadable()))
            return v;
        return std::nullopt;
    case Kind::Directory:
        if (v.isEmpty() || QFileInfo(v).isDir())
            return v;
        return std::nullopt;
    case Kind::Address: {
        if (v.isEmpty() || v == u"any")
            return QHostAddress(QHostAddress::Any);
        if (v == u"localhost")
            return QHostAddress(QHostAddress::LocalHost);
        QHostAddress a;
        if (a.setAddress(v))
            return a;
        return std::nullopt;
    }
    case Kind::Word:
        if (wordsOf(t).contains(v.toLower()))
            return v.toLower();
        return std::nullopt;
    case Kind::List:
        break; // read() splits lists
    }
    return std::nullopt;
}

// One text given for the option (a list's: some of its items) as its value.
bool read(const Option &o, const QString &text, Value *value, QString *error) {
    auto invalid = [&](const QString &bad) {
        *error = QStringLiteral("invalid value '%1' for %2: expected %3")
                     .arg(bad, keyOf(o), wants(o.type));
        return false;
    };
    if (o.type.kind == Kind::List) {
        QStringList items;
        for (const QString &item : text.split(QLatin1Char(o.type.separator))) {
            const QString trimmed = item.trimmed();
            if (trimmed.isEmpty())
                continue;
            if (o.type.rule.accepts && !o.type.rule.accepts(trimmed))
                return invalid(trimmed);
            items.append(trimmed);
        }
        *value = items;
        return true;
    }
    std::optional<Value> parsed = parse(o.type, text);
    if (!parsed)
        return invalid(text);
    *value = std::move(*parsed);
    return true;
}

// A list option given again: its items add up.
void addItems(Value *list, const Value &more) {
    std::get<QStringList>(*list) += std::get<QStringList>(more);
}

const Option *find(const QString &key) {
    for (const Option &o : options()) {
        if (key == QLatin1String(o.key))
            return &o;
    }
    return nullptr;
}

struct IniEntry {
    QString key;
    QString value;
    int line;
};

// The value after `=`: up to a `;` comment, trimmed, with quotes removed (`\` escapes the
// next character inside them). Empty optional for an unterminated quote.
std::optional<QString> iniValue(QStringView raw) {
    QString out;
    bool quoted = false;
    qsizetype trimTo = 0; // unquoted trailing blanks are not part of the value
    for (qsizetype i = 0; i < raw.size(); ++i) {
        const QChar ch = raw[i];
        if (quoted) {
            if (ch == u'\\' && i + 1 < raw.size())
                out += raw[++i];
            else if (ch == u'"')
                quoted = false;
            else
                out += ch;
            trimTo = out.size();
            continue;
        }
        if (ch == u';')
            break;
        if (ch == u'"') {
            quoted = true;
        } else if (!ch.isSpace() || !out.isEmpty()) {
            out += ch;
            if (!ch.isSpace())
                trimTo = out.size();
        }
    }
    if (quoted)
        return std::nullopt;
    out.truncate(trimTo);
    return out;
}

// The [server] section of an INI file, in the file's order. QSettings is not used because
// it keeps only the last of a key given twice, and a repeated key must add up (lists) or be
// refused (everything else). The grammar is QSettings' for what lhttpd-qt uses: [section]
// lines, `key = value`, `;` comments and quoted values; a line starting with `#` is a
// comment too.
bool readServerSection(const QString &file, QList<IniEntry> *entries, QString *error) {
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read config file %1").arg(file);
        return false;
    }
    QString text = QString::fromUtf8(f.readAll());
    if (text.startsWith(QChar(0xfeff)))
        text.remove(0, 1);
    const QStringList lines = text.split(QLatin1Char('\n'));
    bool inServer = false;
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const int number = int(i + 1);
        const QString line = lines.at(i).trimmed();
        if (line.isEmpty() || line.startsWith(u';') || line.startsWith(u'#'))
            continue;
        if (line.startsWith(u'[')) {
            if (!line.endsWith(u']')) {
                *error = QStringLiteral("%1:%2: expected [section]").arg(file).arg(number);
                return false;
            }
            inServer = line.mid(1, line.size() - 2).trimmed() == u"server";
            continue;
        }
        if (!inServer)
            continue;
        const qsizetype eq = line.indexOf(u'=');
        if (eq <= 0) {
            *error = QStringLiteral("%1:%2: expected key = value").arg(file).arg(number);
            return false;
        }
        const std::optional<QString> value = iniValue(QStringView(line).mid(eq + 1));
        if (!value) {
            *error = QStringLiteral("%1:%2: unterminated quote").arg(file).arg(number);
            return false;
        }
        entries->append({line.left(eq).trimmed(), *value, number});
    }
    return true;
}

// A value as the config file writes it: quoted when it holds what the reader would cut or
// split at (lists always have their commas).
QString iniText(const Value &value, char separator) {
    const QString t = toText(value, separator);
    static const QString special = QStringLiteral(";,\"\\#");
    const bool quote = t != t.trimmed() || std::any_of(t.cbegin(), t.cend(), [](QChar ch) {
                           return special.contains(ch);
                       });
    if (!quote)
        return t;
    QString out = QStringLiteral("\"");
    for (const QChar ch : t) {
        if (ch == u'"' || ch == u'\\')
            out += u'\\';
        out += ch;
    }
    return out + u'"';
}

// `text` as `; ` comment lines of at most 100 columns.
QString commentLines(const QString &text) {
    QString out;
    QString line;
    for (const QString &word : text.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
        if (!line.isEmpty() && line.size() + 1 + word.size() > 98) {
            out += QStringLiteral("; ") + line + u'\n';
            line.clear();
        }
        line += (line.isEmpty() ? QString() : QStringLiteral(" ")) + word;
    }
    return out + QStringLiteral("; ") + line + u'\n';
}

} // namespace

ConfigLoader::ConfigLoader() {
    m_parser.setApplicationDescription(QStringLiteral(
        "lhttpd-qt: LHTTP/1.0 pub/sub server over WebSocket, with the HTTP API on the same port."));
    m_parser.addHelpOption();
    m_parser.addVersionOption();
    m_parser.addOption(QCommandLineOption(QStringLiteral("config"),
                                          QStringLiteral("INI config file (keys in [server])."),
                                          QStringLiteral("file")));
    m_parser.addOption(QCommandLineOption(
        QStringLiteral("print-config"),
        QStringLiteral("Print the configuration (defaults, the config file and these flags) as a "
                       "config file, options at their default commented out, and exit.")));
    for (const Option &o : options()) {
        if (o.type.kind == Kind::Switch)
            m_parser.addOption(QCommandLineOption(keyOf(o), describe(o)));
        else
            m_parser.addOption(
                QCommandLineOption(keyOf(o), describe(o), QString::fromLatin1(o.valueName)));
    }
}

QString ConfigLoader::toIni(const DaemonConfig &config) {
    QString out = QStringLiteral(
        "; lhttpd-qt configuration (man lhttpd-qt; docs/CONFIG.md in the sources). Flags on the\n"
        "; command line win over this file. Options at their default are commented out: remove\n"
        "; the ';' to change one.\n"
        "; A list option given twice adds up; any other option may be given once.\n"
        "[server]\n");
    for (const Option &o : options()) {
        const Value v = o.access.get(config);
        const QString value = iniText(v, o.type.separator);
        out += u'\n' + commentLines(describe(o));
        if (v == o.access.get(defaults()))
            out += u';';
        out +=
            keyOf(o) + QStringLiteral(" =") + (value.isEmpty() ? QString() : u' ' + value) + u'\n';
    }
    return out;
}

// Each layer sets the options it names, replacing what an earlier layer set: flags win over
// the file, also for lists.
bool ConfigLoader::applyFile(const QString &file, DaemonConfig *config, QString *error) {
    QList<IniEntry> entries;
    if (!readServerSection(file, &entries, error))
        return false;
    struct Given {
        Value value;
        int line = 0;
    };
    QHash<const Option *, Given> given;
    for (const IniEntry &e : std::as_const(entries)) {
        const Option *o = find(e.key);
        if (!o) {
            *error = QStringLiteral("%1:%2: unknown option '%3'").arg(file).arg(e.line).arg(e.key);
            return false;
        }
        Value value;
        if (!read(*o, e.value, &value, error)) {
            *error = QStringLiteral("%1:%2: %3").arg(file).arg(e.line).arg(*error);
            return false;
        }
        const auto earlier = given.find(o);
        if (earlier == given.end()) {
            given.insert(o, {value, e.line});
        } else if (o->type.kind == Kind::List) {
            addItems(&earlier->value, value);
        } else {
            *error = QStringLiteral("%1:%2: key '%3' given again (first on line %4); only list "
                                    "keys may repeat")
                         .arg(file)
                         .arg(e.line)
                         .arg(e.key)
                         .arg(earlier->line);
            return false;
        }
    }
    for (auto it = given.cbegin(); it != given.cend(); ++it)
        it.key()->access.set(*config, it->value);
    return true;
}

bool ConfigLoader::applyFlags(DaemonConfig *config, QString *error) {
    const QStringList given = m_parser.optionNames();
    for (const Option &o : options()) {
        const QString key = keyOf(o);
        const qsizetype times = given.count(key);
        if (times == 0)
            continue;
        // values() rather than value(), which is only the last of a repeated option.
        const QStringList texts = o.type.kind == Kind::Switch ? QStringList{QStringLiteral("true")}
                                                              : m_parser.values(key);
        if (times > 1 && o.type.kind != Kind::List) {
            *error = QStringLiteral("--%1 given %2 times%3; only list options may repeat")
                         .arg(key)
                         .arg(times)
                         .arg(o.type.kind == Kind::Switch
                                  ? QString()
                                  : QStringLiteral(" (%1)").arg(texts.join(u", ")));
            return false;
        }
        Value value;
        for (qsizetype i = 0; i < texts.size(); ++i) {
            Value one;
            if (!read(o, texts.at(i), &one, error))
                return false;
            if (i == 0)
                value = std::move(one);
            else
                addItems(&value, one);
        }
        o.access.set(*config, value);
    }
    return true;
}

bool ConfigLoader::load(const QStringList &arguments, DaemonConfig *config, QString *error) {
    m_parser.process(arguments);
    if (!m_parser.positionalArguments().isEmpty()) {
        *error =
            QStringLiteral("unexpected argument '%1'").arg(m_parser.positionalArguments().first());
        return false;
    }
    const QStringList files = m_parser.values(QStringLiteral("config"));
    if (files.size() > 1) {
        *error = QStringLiteral("--config given %1 times (%2); give one file")
                     .arg(files.size())
                     .arg(files.join(u", "));
        return false;
    }
    config->configFile = files.value(0);
    if (!config->configFile.isEmpty() && !applyFile(config->configFile, config, error))
        return false;
    if (!applyFlags(config, error))
        return false;
    if (m_parser.isSet(QStringLiteral("print-config"))) {
        std::fputs(toIni(*config).toUtf8().constData(), stdout);
        std::exit(EXIT_SUCCESS);
    }
    return true;
}

bool ConfigLoader::reload(DaemonConfig *config, QString *error) {
    DaemonConfig fresh;
    fresh.configFile = config->configFile;
    if (!fresh.configFile.isEmpty() && !applyFile(fresh.configFile, &fresh, error))
        return false;
    if (!applyFlags(&fresh, error))
        return false;
    *config = fresh;
    return true;
}

lhttp::ServerOptions::EventLoop ConfigLoader::eventLoopOf(int argc, char **argv) {
    using EventLoop = lhttp::ServerOptions::EventLoop;
    QString value;
    QString configFile;
    for (int i = 1; i < argc; ++i) {
        const QString arg = QString::fromLocal8Bit(argv[i]);
        const auto take = [&](const char *name, QString *into) {
            const QString flag = QStringLiteral("--") + QLatin1String(name);
            if (arg == flag && i + 1 < argc)
                *into = QString::fromLocal8Bit(argv[++i]);
            else if (arg.startsWith(flag + QLatin1Char('=')))
                *into = arg.mid(flag.size() + 1);
        };
        take("event-loop", &value);
        take("config", &configFile);
    }
    if (value.isEmpty() && !configFile.isEmpty())
        value = QSettings(configFile, QSettings::IniFormat)
                    .value(QStringLiteral("server/event-loop"))
                    .toString();
    return value.trimmed().toLower() == u"qt" ? EventLoop::Qt : EventLoop::Epoll;
}

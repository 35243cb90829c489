// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "config.h"

#include "channelname.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QSettings>
#include <QUrl>

namespace {

struct OptionSpec {
    const char *key; // flag name and config-file key
    const char *valueName;
    const char *help;
};

// One table: the flag, the config key and the help text are the same thing, named once.
const OptionSpec Specs[] = {
    {"listen", "address", "Address to listen on (default: any)."},
    {"port", "port", "Port for WebSocket and HTTP (default: 8081)."},
    {"path", "path", "Only accept WebSocket upgrades on this path (default: any path)."},
    {"max-message-size", "bytes", "Largest LHTTP message accepted (default: 65536)."},
    {"max-headers", "count", "Most header lines in one message (default: 64)."},
    {"max-header-line", "bytes", "Longest header line (default: 8192)."},
    {"max-channel-length", "bytes", "Longest channel id (default: 255)."},
    {"hard-message-limit", "bytes",
     "Messages above this close the connection with 1009 (default: 16 x max-message-size)."},
    {"max-channels", "count", "Most channels one connection may join (default: 128)."},
    {"allow-wildcards", "bool", "Let clients subscribe to * and > wildcards (default: false)."},
    {"handshake-timeout", "ms", "Time to send a complete request head (default: 10000)."},
    {"http-idle-timeout", "ms",
     "Keep-alive HTTP connections idle longer are closed (default: 30000)."},
    {"allowed-origins", "list", "Comma-separated browser origins allowed (default: all)."},
    {"api-key", "key", "Require 'Authorization: Bearer <key>' on POST /publish."},
    {"admin-token", "token",
     "Enable the admin endpoint for lhttp-admin (docs/ADMIN.md); consoles must send this token."},
    {"admin-path", "path", "WebSocket path of the admin endpoint (default: /admin)."},
    {"upstream-allow", "list", "Comma-separated URL prefixes upstream may call (default: none)."},
    {"upstream-timeout", "ms", "Upstream request timeout (default: 5000)."},
    {"max-upstream-in-flight", "count", "Most upstream requests at once (default: 1024)."},
    {"upstream-connections", "count", "Parallel upstream HTTP connections (default: 192)."},
    {"static-dir", "dir", "Serve this directory at / (default: the built-in chat demo)."},
    {"no-static", "bool", "Do not serve any page at / (default: false)."},
    {"nats", "urls",
     "Join a cluster through these NATS servers, comma-separated nats:// or tls:// URLs "
     "(default: none, the embedded broker)."},
    {"nats-prefix", "subject",
     "Prefix every channel's NATS subject with '<subject>.' (default: none, as original lhttp)."},
    {"nats-name", "name", "Connection name shown by NATS monitoring (default: lhttpd-qt <host>)."},
    {"nats-user", "user", "NATS user name (default: none)."},
    {"nats-password", "password", "NATS password; prefer the config file (default: none)."},
    {"nats-token", "token", "NATS authentication token (default: none)."},
    {"nats-credentials", "file", "NATS credentials file, user JWT and NKey seed (default: none)."},
    {"nats-tls-ca", "file", "CA certificates (PEM) to verify NATS servers; turns TLS on."},
    {"nats-tls-cert", "file", "Client certificate (PEM) for NATS TLS; needs nats-tls-key."},
    {"nats-tls-key", "file", "Client private key (PEM) for NATS TLS; needs nats-tls-cert."},
    {"nats-reconnect-wait", "ms", "Wait between reconnect attempts to one server (default: 2000)."},
    {"nats-max-reconnect", "count",
     "Reconnect attempts before giving up, -1 for ever (default: -1)."},
    {"nats-reconnect-buffer", "bytes",
     "Publishes held while NATS is away, sent when it is back (default: 8388608)."},
    {"nats-pending-msgs", "count",
     "Messages nats.c holds per subscription before dropping (default: 65536)."},
    {"nats-pending-bytes", "bytes",
     "Bytes nats.c holds per subscription before dropping (default: 67108864)."},
    {"nats-queue-limit", "count",
     "Messages waiting for the server thread before drops (default: 65536)."},
    {"nats-queue-bytes", "bytes",
     "Bytes waiting for the server thread before drops (default: 67108864)."},
    {"nats-strict", "bool",
     "Answer publishes with error 503 while NATS is down; local delivery still happens "
     "(default: false)."},
    {"max-outgoing-bytes", "bytes",
     "Close a connection as a slow consumer past this many unsent bytes, 0 off (default: "
     "1048576)."},
    {"ping-interval", "ms", "Ping each connection this often, 0 off (default: 25000)."},
    {"pong-timeout", "ms",
     "Close a connection with no pong this long after a ping (default: 8000)."},
    {"idle-timeout", "ms",
     "Close a connection that sends no valid message this long after connecting, 0 off "
     "(default: 60000)."},
    {"close-grace", "ms", "Abort a closing connection after this long (default: 5000)."},
    {"max-connections", "count",
     "Most WebSocket connections on this node, 0 unlimited (default: 0)."},
    {"max-connections-per-address", "count",
     "Most WebSocket connections from one address, 0 unlimited (default: 0)."},
    {"messages-per-second", "rate",
     "Messages per second per connection before error 429, 0 unlimited (default: 0)."},
    {"rate-burst", "count", "Messages a connection may send at once (default: 2 x the rate)."},
    {"abuse-close-after", "count", "Close (1008) after this many 429s in a row (default: 50)."},
    {"jwt-secret", "secret",
     "Require HS256 connect tokens signed with this secret (default: none, open)."},
    {"tls-cert", "file", "PEM certificate (chain) for wss:// and https:// (default: none)."},
    {"tls-key", "file", "PEM private key for --tls-cert (default: none)."},
    {"drain-window", "ms",
     "On SIGTERM, close connections spread over this window (default: 5000)."},
    {"log-level", "level", "debug, info, warning or error (default: info)."},
};

bool toBool(const QString &v, bool *ok) {
    const QString s = v.trimmed().toLower();
    *ok = true;
    if (s.isEmpty() || s == u"1" || s == u"true" || s == u"yes" || s == u"on")
        return true;
    if (s == u"0" || s == u"false" || s == u"no" || s == u"off")
        return false;
    *ok = false;
    return false;
}

QStringList toList(const QString &v) {
    QStringList out;
    for (const QString &s : v.split(QLatin1Char(','), Qt::SkipEmptyParts))
        out.append(s.trimmed());
    return out;
}

// The nats-* keys (docs/CLUSTER.md). False with *error left empty means "invalid value".
bool applyNats(const QString &key, const QString &value, lhttp::NatsOptions *o, QString *error) {
    bool ok = true;
    auto number = [&](qlonglong min, qlonglong max) {
        const qlonglong n = value.trimmed().toLongLong(&ok);
        ok = ok && n >= min && n <= max;
        return n;
    };
    auto file = [&](QString *target) {
        *target = value.trimmed();
        return target->isEmpty() || QFileInfo(*target).isReadable();
    };
    if (key == u"nats") {
        o->servers = toList(value);
        for (const QString &s : std::as_const(o->servers)) {
            const QUrl url(s, QUrl::StrictMode);
            ok = ok && url.isValid() && !url.host().isEmpty() &&
                 (url.scheme() == u"nats" || url.scheme() == u"tls");
        }
    } else if (key == u"nats-prefix") {
        o->subjectPrefix = value.trimmed().toUtf8();
        ok = o->subjectPrefix.isEmpty() ||
             !lhttp::ChannelName::validate(o->subjectPrefix, lhttp::ChannelName::Use::Publish,
                                           false, lhttp::Limits::DefaultMaxChannelLength);
    } else if (key == u"nats-name") {
        o->name = value.trimmed();
    } else if (key == u"nats-user") {
        o->user = value.trimmed();
    } else if (key == u"nats-password") {
        o->password = value;
    } else if (key == u"nats-token") {
        o->token = value.trimmed();
    } else if (key == u"nats-credentials") {
        ok = file(&o->credentialsFile);
    } else if (key == u"nats-tls-ca") {
        ok = file(&o->tlsCaFile);
    } else if (key == u"nats-tls-cert") {
        ok = file(&o->tlsCertFile);
    } else if (key == u"nats-tls-key") {
        ok = file(&o->tlsKeyFile);
    } else if (key == u"nats-reconnect-wait") {
        o->reconnectWaitMs = int(number(10, 3'600'000));
    } else if (key == u"nats-max-reconnect") {
        o->maxReconnect = int(number(-1, 1'000'000'000));
    } else if (key == u"nats-reconnect-buffer") {
        o->reconnectBufferBytes = int(number(0, 1 << 30));
    } else if (key == u"nats-pending-msgs") {
        o->pendingMsgs = int(number(1, 1 << 30));
    } else if (key == u"nats-pending-bytes") {
        o->pendingBytes = int(number(1024, 1 << 30));
    } else if (key == u"nats-queue-limit") {
        o->queueLimit = int(number(1, 1 << 24));
    } else if (key == u"nats-queue-bytes") {
        o->queueBytes = number(1024, 1LL << 34);
    } else if (key == u"nats-strict") {
        o->strict = toBool(value, &ok);
    } else {
        *error = QStringLiteral("unknown option '%1'").arg(key);
        return false;
    }
    return ok;
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
    for (const OptionSpec &s : Specs) {
        const QString key = QString::fromLatin1(s.key);
        m_keys.append(key);
        if (QByteArrayView(s.valueName) == "bool")
            m_parser.addOption(QCommandLineOption(key, QString::fromLatin1(s.help)));
        else
            m_parser.addOption(QCommandLineOption(key, QString::fromLatin1(s.help),
                                                  QString::fromLatin1(s.valueName)));
    }
}

bool ConfigLoader::apply(const QString &key, const QString &value, DaemonConfig *c,
                         QString *error) {
    lhttp::ServerOptions &o = c->server;
    bool ok = true;
    auto number = [&](qlonglong min, qlonglong max) {
        const qlonglong n = value.trimmed().toLongLong(&ok);
        ok = ok && n >= min && n <= max;
        return n;
    };
    if (key == u"listen") {
        const QString v = value.trimmed();
        if (v == u"any" || v.isEmpty())
            o.address = QHostAddress::Any;
        else if (v == u"localhost")
            o.address = QHostAddress::LocalHost;
        else
            ok = o.address.setAddress(v);
    } else if (key == u"port") {
        o.port = quint16(number(0, 65535));
    } else if (key == u"path") {
        o.path = value.trimmed();
    } else if (key == u"max-message-size") {
        o.limits.maxMessageSize = number(64, 64LL << 20);
    } else if (key == u"max-headers") {
        o.limits.maxHeaders = int(number(1, 10000));
    } else if (key == u"max-header-line") {
        o.limits.maxHeaderLineLength = number(16, 1 << 20);
    } else if (key == u"max-channel-length") {
        o.limits.maxChannelLength = int(number(1, 4096));
    } else if (key == u"hard-message-limit") {
        o.hardMessageLimit = number(0, 1LL << 30);
    } else if (key == u"max-channels") {
        o.maxChannelsPerConnection = int(number(1, 1 << 20));
    } else if (key == u"allow-wildcards") {
        o.allowWildcards = toBool(value, &ok);
    } else if (key == u"handshake-timeout") {
        o.handshakeTimeoutMs = int(number(100, 3'600'000));
    } else if (key == u"http-idle-timeout") {
        o.httpIdleTimeoutMs = int(number(100, 3'600'000));
    } else if (key == u"allowed-origins") {
        o.allowedOrigins = toList(value);
    } else if (key == u"api-key") {
        o.apiKey = value.trimmed().toUtf8();
    } else if (key == u"admin-token") {
        o.adminToken = value.trimmed().toUtf8();
    } else if (key == u"admin-path") {
        o.adminPath = value.trimmed();
        ok = o.adminPath.startsWith(QLatin1Char('/'));
    } else if (key == u"upstream-allow") {
        o.upstreamAllow = toList(value);
    } else if (key == u"upstream-timeout") {
        o.upstreamTimeoutMs = int(number(1, 600'000));
    } else if (key == u"max-upstream-in-flight") {
        o.maxUpstreamInFlight = int(number(1, 1 << 20));
    } else if (key == u"upstream-connections") {
        o.upstreamConnections = int(number(6, 65536));
    } else if (key == u"static-dir") {
        o.staticDir = value.trimmed();
        ok = o.staticDir.isEmpty() || QFileInfo(o.staticDir).isDir();
    } else if (key == u"no-static") {
        o.serveStatic = !toBool(value, &ok);
    } else if (key.startsWith(u"nats")) {
        ok = applyNats(key, value, &c->nats, error);
        if (!ok && !error->isEmpty())
            return false;
    } else if (key == u"max-outgoing-bytes") {
        o.maxOutgoingBytes = number(0, 1LL << 34);
    } else if (key == u"ping-interval") {
        o.pingIntervalMs = int(number(0, 3'600'000));
    } else if (key == u"pong-timeout") {
        o.pongTimeoutMs = int(number(10, 3'600'000));
    } else if (key == u"idle-timeout") {
        o.idleTimeoutMs = int(number(0, 86'400'000));
    } else if (key == u"close-grace") {
        o.closeGraceMs = int(number(10, 600'000));
    } else if (key == u"max-connections") {
        o.maxConnections = int(number(0, 10'000'000));
    } else if (key == u"max-connections-per-address") {
        o.maxConnectionsPerAddress = int(number(0, 10'000'000));
    } else if (key == u"messages-per-second") {
        o.messagesPerSecond = value.trimmed().toDouble(&ok);
        ok = ok && o.messagesPerSecond >= 0 && o.messagesPerSecond <= 1e7;
    } else if (key == u"rate-burst") {
        o.rateBurst = int(number(0, 10'000'000));
    } else if (key == u"abuse-close-after") {
        o.abuseCloseAfter = int(number(1, 10'000'000));
    } else if (key == u"jwt-secret") {
        o.jwtSecret = value.trimmed().toUtf8();
    } else if (key == u"tls-cert") {
        o.tlsCertFile = value.trimmed();
        ok = QFileInfo(o.tlsCertFile).isReadable();
    } else if (key == u"tls-key") {
        o.tlsKeyFile = value.trimmed();
        ok = QFileInfo(o.tlsKeyFile).isReadable();
    } else if (key == u"drain-window") {
        o.drainWindowMs = int(number(0, 3'600'000));
    } else if (key == u"log-level") {
        c->logLevel = value.trimmed().toLower();
        ok = QStringList{QStringLiteral("debug"), QStringLiteral("info"), QStringLiteral("warning"),
                         QStringLiteral("error")}
                 .contains(c->logLevel);
    } else {
        *error = QStringLiteral("unknown option '%1'").arg(key);
        return false;
    }
    if (!ok)
        *error = QStringLiteral("invalid value '%1' for %2").arg(value, key);
    return ok;
}

bool ConfigLoader::applyFile(const QString &file, DaemonConfig *config, QString *error) {
    if (!QFileInfo(file).isReadable()) {
        *error = QStringLiteral("cannot read config file %1").arg(file);
        return false;
    }
    QSettings settings(file, QSettings::IniFormat);
    if (settings.status() != QSettings::NoError) {
        *error = QStringLiteral("config file %1 is not valid INI").arg(file);
        return false;
    }
    settings.beginGroup(QStringLiteral("server"));
    const QStringList keys = settings.childKeys();
    for (const QString &key : keys) {
        // QSettings splits a value with commas into a list; lists are comma-joined again.
        const QVariant v = settings.value(key);
        const QString value = v.metaType().id() == QMetaType::QStringList
                                  ? v.toStringList().join(QLatin1Char(','))
                                  : v.toString();
        if (!apply(key, value, config, error)) {
            *error = QStringLiteral("%1: %2").arg(file, *error);
            return false;
        }
    }
    return true;
}

bool ConfigLoader::applyFlags(DaemonConfig *config, QString *error) {
    for (const QString &key : std::as_const(m_keys)) {
        if (!m_parser.isSet(key))
            continue;
        const QString value = m_parser.value(key);
        if (!apply(key, value, config, error))
            return false;
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
    config->configFile = m_parser.value(QStringLiteral("config"));
    if (!config->configFile.isEmpty() && !applyFile(config->configFile, config, error))
        return false;
    return applyFlags(config, error);
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

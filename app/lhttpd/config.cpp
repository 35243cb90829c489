// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "config.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QSettings>

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
    {"upstream-allow", "list", "Comma-separated URL prefixes upstream may call (default: none)."},
    {"upstream-timeout", "ms", "Upstream request timeout (default: 5000)."},
    {"max-upstream-in-flight", "count", "Most upstream requests at once (default: 1024)."},
    {"upstream-connections", "count", "Parallel upstream HTTP connections (default: 192)."},
    {"static-dir", "dir", "Serve this directory at / (default: the built-in chat demo)."},
    {"no-static", "bool", "Do not serve any page at / (default: false)."},
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

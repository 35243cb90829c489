// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "tokencommand.h"

#include "token.h"

#include <QCommandLineParser>
#include <QDateTime>
#include <QFileInfo>
#include <QSettings>

#include <cstdio>

int runTokenCommand(const QStringList &arguments) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Mint a connect token (HS256 JWT) for lhttpd-qt --jwt-secret. Channel patterns use "
        "NATS wildcards: * one token, > the rest."));
    parser.addHelpOption();
    const QCommandLineOption sub(QStringLiteral("sub"), QStringLiteral("User id (required)."),
                                 QStringLiteral("id"));
    const QCommandLineOption channels(
        QStringLiteral("channels"),
        QStringLiteral("Comma-separated patterns to subscribe and publish."),
        QStringLiteral("patterns"));
    const QCommandLineOption subscribe(
        QStringLiteral("subscribe"), QStringLiteral("Comma-separated patterns to subscribe only."),
        QStringLiteral("patterns"));
    const QCommandLineOption publish(QStringLiteral("publish"),
                                     QStringLiteral("Comma-separated patterns to publish only."),
                                     QStringLiteral("patterns"));
    const QCommandLineOption ttl(
        QStringLiteral("ttl"), QStringLiteral("Seconds until it expires, 0 never (default 3600)."),
        QStringLiteral("seconds"), QStringLiteral("3600"));
    const QCommandLineOption secret(QStringLiteral("secret"), QStringLiteral("The signing secret."),
                                    QStringLiteral("secret"));
    const QCommandLineOption config(
        QStringLiteral("config"),
        QStringLiteral("Take the secret from this INI file's jwt-secret."), QStringLiteral("file"));
    parser.addOptions({sub, channels, subscribe, publish, ttl, secret, config});
    QStringList args = arguments;
    args.removeAt(1); // "token"
    parser.process(args);

    auto fail = [](const char *message) {
        std::fprintf(stderr, "lhttpd-qt token: %s\n", message);
        return 2;
    };
    if (!parser.isSet(sub) || parser.value(sub).isEmpty())
        return fail("--sub is required");
    QByteArray key = parser.value(secret).toUtf8();
    if (key.isEmpty() && parser.isSet(config)) {
        if (!QFileInfo(parser.value(config)).isReadable())
            return fail("cannot read the config file");
        QSettings ini(parser.value(config), QSettings::IniFormat);
        key = ini.value(QStringLiteral("server/jwt-secret")).toString().toUtf8();
    }
    if (key.isEmpty())
        return fail("no secret: give --secret or --config with a jwt-secret");
    bool ok = false;
    const qint64 seconds = parser.value(ttl).toLongLong(&ok);
    if (!ok || seconds < 0)
        return fail("--ttl must be a number of seconds");
    auto list = [&](const QCommandLineOption &o) {
        QByteArrayList out;
        for (const QString &p : parser.value(o).split(QLatin1Char(','), Qt::SkipEmptyParts))
            out.append(p.trimmed().toUtf8());
        return out;
    };
    QByteArrayList subs = list(subscribe) + list(channels);
    QByteArrayList pubs = list(publish) + list(channels);
    if (subs.isEmpty() && pubs.isEmpty())
        return fail("grant something: --channels, --subscribe or --publish");
    const qint64 exp = seconds ? QDateTime::currentSecsSinceEpoch() + seconds : 0;
    const QByteArray token = lhttp::Token::sign(parser.value(sub), subs, pubs, exp, key);
    std::printf("%s\n", token.constData());
    return 0;
}

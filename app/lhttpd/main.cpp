// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// lhttpd-qt: the headless LHTTP server. Thin on purpose: options in, Server out.

#include "config.h"
#include "echoprocessor.h"
#include "server.h"
#include "signalwatcher.h"
#include "uploadprocessor.h"

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QTimer>

#include <cstdio>

namespace {

void applyLogLevel(const QString &level) {
    QString rules = QStringLiteral("lhttp.*.debug=false\n");
    if (level == u"debug")
        rules = QStringLiteral("lhttp.*.debug=true\n");
    else if (level == u"warning")
        rules += QStringLiteral("lhttp.*.info=false\n");
    else if (level == u"error")
        rules += QStringLiteral("lhttp.*.info=false\nlhttp.*.warning=false\n");
    QLoggingCategory::setFilterRules(rules);
}

} // namespace

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("lhttpd-qt"));
    QCoreApplication::setApplicationVersion(QStringLiteral(LHTTP_VERSION));
    qSetMessagePattern(QStringLiteral("%{time yyyy-MM-ddThh:mm:ss.zzz} %{if-debug}D%{endif}"
                                      "%{if-info}I%{endif}%{if-warning}W%{endif}%{if-critical}E"
                                      "%{endif}%{if-fatal}F%{endif} %{category}: %{message}"));

    ConfigLoader loader;
    DaemonConfig config;
    QString error;
    if (!loader.load(QCoreApplication::arguments(), &config, &error)) {
        std::fprintf(stderr, "lhttpd-qt: %s\n", qPrintable(error));
        return 2;
    }
    applyLogLevel(config.logLevel);

    lhttp::Server server(config.server);
    // The example processor: `LHTTP/1.0 echo\r\n\r\nhi` is answered with `hi`.
    server.registerProcessor("echo", std::make_shared<EchoProcessor>());
    // The multipart example: `upload` messages are answered with the parts they carried.
    server.registerProcessor("upload", std::make_shared<UploadProcessor>());
    if (!server.listen()) {
        std::fprintf(stderr, "lhttpd-qt: cannot listen on port %u: %s\n",
                     unsigned(config.server.port), qPrintable(server.errorString()));
        return 1;
    }

    SignalWatcher watcher;
    QObject::connect(&watcher, &SignalWatcher::terminate, &app, [&](int sig) {
        qInfo("signal %d: closing %d connections", sig, server.sessionCount());
        server.close(QWebSocketProtocol::CloseCodeGoingAway,
                     QStringLiteral("server shutting down"));
        // Give close frames a moment to leave, then stop.
        QTimer::singleShot(server.sessionCount() ? 500 : 0, &app, &QCoreApplication::quit);
    });
    QObject::connect(&watcher, &SignalWatcher::reload, &app, [&] {
        DaemonConfig fresh = config;
        QString why;
        if (!loader.reload(&fresh, &why)) {
            qWarning("reload failed, keeping the running configuration: %s", qPrintable(why));
            return;
        }
        applyLogLevel(fresh.logLevel);
        config = fresh;
        qInfo("configuration reloaded (log level %s)", qPrintable(config.logLevel));
    });
    return app.exec();
}

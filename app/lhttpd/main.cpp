// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// lhttpd-qt: the headless LHTTP server. Thin on purpose: options in, Server out.

#include "adminendpoint.h"
#include "config.h"
#include "echoprocessor.h"
#include "epolleventdispatcher.h"
#include "natsbroker.h"
#include "server.h"
#include "signalwatcher.h"
#include "systemd.h"
#include "tokencommand.h"
#include "uploadprocessor.h"

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QScopeGuard>
#include <QTimer>

#include <csignal>
#include <cstdio>

#include <malloc.h>

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
    // Blocks of 1 MiB and more (nats.c's 8 MiB reconnect buffer, large socket buffers) always
    // come from mmap and go back to the system when freed. glibc's default threshold moves up
    // after the first such free, and the next ones then stay in the heap: the RSS of a node
    // would step up at every NATS outage (docs/RELIABILITY.md, "Soak").
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    // lhttp's epoll dispatcher unless told otherwise: with Qt's, every event-loop pass polls
    // every connection (docs/ARCHITECTURE.md). Before the application, which would make Qt's.
    if (ConfigLoader::eventLoopOf(argc, argv) == lhttp::ServerOptions::EventLoop::Epoll &&
        !lhttp::installEpollDispatcher())
        std::fprintf(stderr, "lhttpd-qt: epoll unavailable, running on Qt's event loop\n");
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("lhttpd-qt"));
    QCoreApplication::setApplicationVersion(QStringLiteral(LHTTP_VERSION));
    qSetMessagePattern(QStringLiteral("%{time yyyy-MM-ddThh:mm:ss.zzz} %{if-debug}D%{endif}"
                                      "%{if-info}I%{endif}%{if-warning}W%{endif}%{if-critical}E"
                                      "%{endif}%{if-fatal}F%{endif} %{category}: %{message}"));
    if (Systemd::loggingToJournal()) // the journal stamps lines and reads levels as <N>
        qSetMessagePattern(QStringLiteral("%{if-debug}<7>%{endif}%{if-info}<6>%{endif}"
                                          "%{if-warning}<4>%{endif}%{if-critical}<3>%{endif}"
                                          "%{if-fatal}<2>%{endif}%{category}: %{message}"));

    if (QCoreApplication::arguments().value(1) == u"token")
        return runTokenCommand(QCoreApplication::arguments());

    ConfigLoader loader;
    DaemonConfig config;
    QString error;
    if (!loader.load(QCoreApplication::arguments(), &config, &error)) {
        std::fprintf(stderr, "lhttpd-qt: %s\n", qPrintable(error));
        return 2;
    }
    applyLogLevel(config.logLevel);
    // Socket activation: the port systemd listens on for the node (lhttpd-qt.socket).
    const int inherited = Systemd::listenDescriptor(&error);
    if (inherited == -2) {
        std::fprintf(stderr, "lhttpd-qt: %s\n", qPrintable(error));
        return 1;
    }
    config.server.listenDescriptor = inherited;
    Systemd systemd;

    lhttp::Server server(config.server);
    if (config.nats.isEnabled()) {
        auto broker = std::make_unique<lhttp::NatsBroker>(config.nats);
        // Bad options (unreadable TLS or credentials files) show at once; an unreachable NATS
        // does not: the node serves its own subscribers and keeps trying.
        if (broker->state() == lhttp::Broker::State::Disconnected) {
            std::fprintf(stderr, "lhttpd-qt: cannot set up NATS (see the log above)\n");
            return 1;
        }
        server.setBroker(std::move(broker));
    }
    // The example processor: `LHTTP/1.0 echo\r\n\r\nhi` is answered with `hi`.
    server.registerProcessor("echo", std::make_shared<EchoProcessor>());
    // The multipart example: `upload` messages are answered with the parts they carried.
    server.registerProcessor("upload", std::make_shared<UploadProcessor>());
    // The admin endpoint for lhttp-admin, only with a token (docs/ADMIN.md). Declared after the
    // server so that it goes first.
    std::unique_ptr<lhttp::AdminEndpoint> admin;
    if (!config.server.adminToken.isEmpty())
        admin = std::make_unique<lhttp::AdminEndpoint>(&server);
    if (!server.listen()) {
        std::fprintf(stderr, "lhttpd-qt: cannot listen on port %u: %s\n",
                     unsigned(config.server.port), qPrintable(server.errorString()));
        return 1;
    }

    // A peer or a log reader that goes away must fail a write with EPIPE, not end the node. Qt
    // Network ignores SIGPIPE itself, but only at its first socket write; before that, nats.c's
    // TLS connections write through OpenSSL's socket BIO (plain write()), and stderr may be a
    // pipe to a log reader that exits.
    std::signal(SIGPIPE, SIG_IGN);
    SignalWatcher watcher;
    auto reload = [&] {
        systemd.reloading();
        const auto readyAgain =
            qScopeGuard([&] { systemd.ready(QStringLiteral("configuration reloaded")); });
        DaemonConfig fresh = config;
        QString why;
        if (!loader.reload(&fresh, &why)) {
            qWarning("reload failed, keeping the running configuration: %s", qPrintable(why));
            return;
        }
        applyLogLevel(fresh.logLevel);
        if (fresh.server.history != config.server.history ||
            fresh.server.historyMemory != config.server.historyMemory)
            qWarning("history namespaces and history-memory changed in the file: they take a "
                     "restart, the running ones stay");
        if (fresh.server.presence != config.server.presence ||
            fresh.server.nodeName != config.server.nodeName ||
            fresh.server.presenceTimeoutMs != config.server.presenceTimeoutMs)
            qWarning("presence namespaces, node-name and presence-timeout changed in the file: "
                     "they take a restart, the running ones stay");
        server.reload(fresh.server);
        config = fresh;
        qInfo("configuration reloaded (log level %s)", qPrintable(config.logLevel));
    };
    // SIGHUP reloads the configuration; SIGINT and SIGTERM drain, and a second one stops now.
    QObject::connect(&watcher, &SignalWatcher::received, &app, [&](int sig) {
        if (sig == SIGHUP) {
            reload();
            return;
        }
        if (server.isDraining()) {
            qInfo("signal %d again: stopping now", sig);
            server.close(QWebSocketProtocol::CloseCodeGoingAway,
                         QStringLiteral("server shutting down"));
            QTimer::singleShot(200, &app, &QCoreApplication::quit);
            return;
        }
        qInfo("signal %d: draining %d connections over %d ms", sig, server.sessionCount(),
              config.server.drainWindowMs);
        systemd.stopping(QStringLiteral("draining %1 connections").arg(server.sessionCount()));
        server.drain(config.server.drainWindowMs);
    });
    // Once every connection is closed and no upstream request is in flight, give the last
    // close frames a moment to leave, then exit 0.
    QObject::connect(&server, &lhttp::Server::drained, &app,
                     [&] { QTimer::singleShot(100, &app, &QCoreApplication::quit); });
    systemd.ready(QStringLiteral("listening on port %1, %2 event loops")
                      .arg(server.serverPort())
                      .arg(config.server.effectiveThreads()));
    return app.exec();
}

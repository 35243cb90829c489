// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// lhttp-cli: the command-line LHTTP client. An interactive shell like the original
// lhttpClient, and one-shot `sub` / `pub` / `history` / `presence` modes for scripts.
// `lhttp-cli --help` documents the output formats and exit statuses.

#include "lineinput.h"
#include "options.h"
#include "runners.h"
#include "signalwatcher.h"

#include <QCoreApplication>
#include <QTimer>

#include <csignal>
#include <cstdio>
#include <memory>

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("lhttp-cli"));
    QCoreApplication::setApplicationVersion(QStringLiteral(LHTTP_VERSION));

    CliOptions options;
    QString error;
    switch (parseArguments(QCoreApplication::arguments(), &options, &error)) {
    case ParseResult::Help:
        std::fputs(qPrintable(helpText()), stdout);
        return 0;
    case ParseResult::Version:
        std::printf("lhttp-cli %s (line editing: %s)\n", LHTTP_VERSION,
                    LineInput::editorAvailable() ? "libedit" : "none");
        return 0;
    case ParseResult::UsageError:
        std::fprintf(stderr, "lhttp-cli: %s\nTry 'lhttp-cli --help'.\n", qPrintable(error));
        return 2;
    case ParseResult::Run:
        break;
    }

    std::unique_ptr<Runner> runner;
    switch (options.mode) {
    case CliOptions::Mode::Sub:
        runner = std::make_unique<SubRunner>(options);
        break;
    case CliOptions::Mode::Pub:
        runner = std::make_unique<PubRunner>(options);
        break;
    case CliOptions::Mode::History:
        runner = std::make_unique<HistoryRunner>(options);
        break;
    case CliOptions::Mode::Presence:
        runner = std::make_unique<PresenceRunner>(options);
        break;
    case CliOptions::Mode::Interactive:
        runner = std::make_unique<ShellRunner>(options);
        break;
    }
    // SIGINT, SIGTERM and SIGHUP (the terminal went away) close the connection and restore
    // the terminal from the event loop instead of ending the process mid-write.
    SignalWatcher signals;
    QObject::connect(&signals, &SignalWatcher::received, runner.get(), &Runner::interrupt);
    // Started from the event loop: a runner may finish at once, and exit() needs a loop.
    QTimer::singleShot(0, runner.get(), &Runner::start);
    const int status = app.exec();
    if (runner->readerGone()) {
        // `lhttp-cli sub ... | head -n 1` ends like any other Unix filter once head has exited:
        // by SIGPIPE (status 141 in the shell), after the connection was closed politely and
        // the terminal restored. Qt Network had set SIGPIPE to be ignored.
        runner.reset();
        std::signal(SIGPIPE, SIG_DFL);
        std::raise(SIGPIPE);
    }
    return status;
}

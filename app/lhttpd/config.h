// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "natsbroker.h"
#include "serveroptions.h"

#include <QCommandLineParser>
#include <QString>
#include <QStringList>

// Everything lhttpd-qt can be told, from three layers: built-in defaults, then the INI config
// file (--config FILE, keys in [server]), then command-line flags. docs/CONFIG.md lists each.
struct DaemonConfig {
    // lhttpd-qt uses every core unless told otherwise (the library's default is one loop).
    DaemonConfig() { server.threads = 0; }

    lhttp::ServerOptions server;
    lhttp::NatsOptions nats; // cluster broker; off unless servers are given
    QString logLevel = QStringLiteral("info");
    QString configFile;
};

// Reads DaemonConfig from the options table in config.cpp: each option's flag, config-file
// key, help, default and accepted values come from its one entry there.
class ConfigLoader {
public:
    ConfigLoader();
    // Parses arguments (and the config file they name). On failure returns false and sets
    // *error; --help, --version and --print-config print and exit.
    bool load(const QStringList &arguments, DaemonConfig *config, QString *error);
    // Re-reads the config file (for SIGHUP); flags given on the command line still win.
    bool reload(DaemonConfig *config, QString *error);

    // `config` as a complete config file: every option with its help and default, commented
    // out where it has the default value. Read back with --config it gives `config` again;
    // toIni(DaemonConfig()) is the sample config to ship.
    static QString toIni(const DaemonConfig &config);

    // The event-loop option, read from the raw arguments (and the config file they name)
    // before QCoreApplication exists: the main thread's dispatcher must be chosen before the
    // application makes Qt's. An invalid value gives the default; load() reports it.
    static lhttp::ServerOptions::EventLoop eventLoopOf(int argc, char **argv);

private:
    bool applyFile(const QString &file, DaemonConfig *config, QString *error);
    bool applyFlags(DaemonConfig *config, QString *error);

    QCommandLineParser m_parser;
};

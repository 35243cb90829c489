// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "client.h"
#include "printer.h"

#include <QByteArray>
#include <QSslConfiguration>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <optional>

// Everything lhttp-cli was asked to do, checked: a CliOptions that parsed is runnable.
struct CliOptions {
    enum class Mode { Interactive, Sub, Pub, History, Presence };
    static constexpr int DefaultTimeoutMs = 10'000;
    static constexpr int DefaultHistoryLimit = 100;

    Mode mode = Mode::Interactive;
    QUrl url;     // ws:// or wss://
    QUrl httpUrl; // pub --http: where to POST
    QByteArrayList channels;
    QByteArray command = QByteArrayLiteral("chat");
    lhttp::HeaderPairs headers;
    QByteArray body;    // pub
    QByteArray message; // pub: the whole LHTTP message, built and checked
    bool http = false;
    QByteArray apiKey;
    int count = 0;                        // sub: 0 = until interrupted
    bool recover = false;                 // sub --recover
    bool positions = false;               // sub, history: print each message's position line
    int limit = DefaultHistoryLimit;      // history
    std::optional<lhttp::Position> after; // history --after
    lhttp::PresenceOptions presence;      // sub --joins, --joins-self, --info
    bool withPresence = false;            // sub: one of them was given
    bool stats = false;                   // presence --stats
    QByteArray user;                      // presence --stats --user
    Printer printer;
    int timeoutMs = DefaultTimeoutMs;
    bool reconnect = true;
    bool quiet = false;
    bool lineEditor = true;
    QString historyFile;
    // wss:// and https://: whom to trust (--cacert, --insecure); null: the system's CAs.
    QSslConfiguration tls;
};

enum class ParseResult { Run, Help, Version, UsageError };

// Parses argv (without argv[0]'s special meaning: arguments.first() is skipped). On
// UsageError *error says why. Reads stdin for `pub URL CH -`.
ParseResult parseArguments(const QStringList &arguments, CliOptions *options, QString *error);
QString helpText();

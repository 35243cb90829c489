// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

// An example processor to copy: it answers every `echo` message with its own body, like the
// original README's ChatProcessor. Register yours the same way in main.cpp:
//
//     server.registerProcessor("echo", std::make_shared<EchoProcessor>());
//
// A processor runs before the built-in headers, so it may also edit the message
// (session.message().setHeader(...)) or stop it (session.drop()) before it is published.

#include "processor.h"
#include "session.h"

class EchoProcessor final : public lhttp::Processor {
public:
    void onMessage(lhttp::Session &session) override {
        // Reply with the same command and body; headers are only those we set.
        lhttp::Message reply(session.command().toByteArray(), session.body().toByteArray());
        // Per-connection state lives in the session's user data, made on first use: a
        // connection that never says `echo` keeps none (a node holds tens of thousands).
        const int echoed = session.value(QStringLiteral("echoed"), 0).toInt() + 1;
        session.setValue(QStringLiteral("echoed"), echoed);
        reply.addHeader("echo-count", QByteArray::number(echoed));
        session.reply(reply);
    }
};

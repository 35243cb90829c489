// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once
// Kicks clients off an lhttpd-qt node through its admin endpoint (lhttpd-qt --admin-token,
// docs/ADMIN.md): what a test needs to make a client lose its connection while the node, and
// the history it keeps, stay up.

#include "wsclient.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkRequest>
#include <QTest>

namespace testadmin {

// The JSON body of the first received message whose command is `command`, or an empty
// document. Looks at received messages from `from` on.
inline QJsonDocument bodyOf(const WsClient &console, const QByteArray &command, qsizetype from) {
    for (qsizetype i = from; i < console.received.size(); ++i) {
        const QByteArray &m = console.received.at(i);
        if (!m.startsWith("LHTTP/1.0 " + command + "\r\n"))
            continue;
        const qsizetype blank = m.indexOf("\r\n\r\n");
        return blank < 0 ? QJsonDocument() : QJsonDocument::fromJson(m.mid(blank + 4));
    }
    return {};
}

// Closes (admin.disconnect, close code 1000) every connection of the node at `adminUrl` that
// is subscribed to `channel`. Returns how many were closed, or -1 when the endpoint could not
// be reached or refused a command.
inline int kickSubscribers(const QUrl &adminUrl, const QByteArray &token,
                           const QByteArray &channel) {
    WsClient console;
    QNetworkRequest request;
    request.setRawHeader("Authorization", "Bearer " + token);
    if (!console.open(adminUrl, 5000, request))
        return -1;
    // A snapshot arrives on attach, events after it.
    QJsonDocument snapshot;
    if (!QTest::qWaitFor(
            [&] { return !(snapshot = bodyOf(console, "admin.snapshot", 0)).isNull(); }, 5000))
        return -1;
    int kicked = 0;
    const QJsonArray connections = snapshot.object().value(QStringLiteral("connections")).toArray();
    for (const QJsonValue &c : connections) {
        const QJsonObject o = c.toObject();
        if (!o.value(QStringLiteral("channels")).toArray().contains(QString::fromUtf8(channel)))
            continue;
        const qsizetype from = console.received.size();
        const QByteArray id = QByteArray::number(o.value(QStringLiteral("id")).toInteger());
        console.send("LHTTP/1.0 admin.disconnect\r\nrequest:" + id + "\r\nconnection:" + id +
                     "\r\nreason:kicked by the test\r\n\r\n");
        const auto answered = [&] {
            for (qsizetype i = from; i < console.received.size(); ++i) {
                if (console.received.at(i).startsWith("LHTTP/1.0 admin.result\r\n"))
                    return console.received.at(i).contains("\r\ncode:200\r\n") ? 1 : 0;
            }
            return -1;
        };
        if (!QTest::qWaitFor([&] { return answered() >= 0; }, 5000) || answered() != 1)
            return -1;
        ++kicked;
    }
    return kicked;
}

} // namespace testadmin

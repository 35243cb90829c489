// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "adminfeed.h"
#include "adminwire.h"
#include "error.h"

#include <QObject>
#include <QPointer>

#include <vector>

class QWebSocket;

namespace lhttp {

class Server;

namespace Admin {

// The commands, shared by the endpoint and an in-process console. `message` is a whole LHTTP
// message whose `publish` header names the channels, as for POST /publish; `feed`, if given,
// labels the Out samples with it.
Error publish(Server &server, const QByteArray &message, AdminFeed *feed = nullptr);
Error closeConnection(Server &server, quint64 id, const QString &reason = {});

} // namespace Admin

// The admin endpoint: takes the WebSockets the server accepted on options().adminPath (token
// already checked), sends each console a snapshot and then the feed's batches as admin.events,
// and carries out admin.publish and admin.disconnect. The feed runs only while a console is
// attached.
class AdminEndpoint : public QObject {
    Q_OBJECT
public:
    struct Options {
        AdminFeed::Options feed;
        qsizetype maxBacklogBytes = Admin::DefaultMaxBacklogBytes;
        int maxConsoles = Admin::DefaultMaxConsoles;
    };

    explicit AdminEndpoint(Server *server, QObject *parent = nullptr);
    AdminEndpoint(Server *server, Options options, QObject *parent = nullptr);
    ~AdminEndpoint() override;

    int consoleCount() const { return int(m_consoles.size()); }
    // Batches not sent to some console because its backlog was over the limit.
    quint64 batchesSkipped() const { return m_batchesSkipped; }
    AdminFeed *feed() const { return m_feed; }

    // Takes ownership of an authenticated admin WebSocket (Server::adminConnected).
    void attach(QWebSocket *socket);

Q_SIGNALS:
    void consoleCountChanged(int count);

private:
    struct Console {
        QWebSocket *socket = nullptr;
        quint64 missed = 0; // batches skipped since the last one sent
    };

    Console *console(QWebSocket *socket);
    void detach(QWebSocket *socket);
    void broadcast(const Admin::Batch &batch);
    void sendSnapshot(Console &console);
    void handle(Console &console, const QByteArray &bytes);
    void reply(Console &console, QByteArrayView request, int code, const QByteArray &reason);

    QPointer<Server> m_server;
    Options m_options;
    AdminFeed *m_feed;
    std::vector<Console> m_consoles;
    quint64 m_batchesSkipped = 0;
};

} // namespace lhttp

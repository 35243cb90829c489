// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QHash>
#include <QHostAddress>
#include <QObject>
#include <QString>
#include <QWebSocketServer>

#include <vector>

class QWebSocket;

namespace bench {

// The floor: the least a QtWebSockets-based pub/sub server can do. Every message received
// is sent to every connected receiver, as it came (a text message as text, through the same
// QString). No parsing, no channels, no bookkeeping besides the list of receivers.
//
// The one concession to a fair comparison: a client that connects with `bench=pub` in the
// query of its URL is send-only, as publishers are in the lhttpd-qt load (they subscribe to
// nothing, so lhttpd-qt sends them nothing). Without it every publisher would also receive
// every message, work that lhttpd-qt does not do.
//
// Rooms, for the many-rooms workloads: a client that connects with `room=NAME` in its query
// receives only what is sent to that room, and a text message whose head has a
// `publish:NAME` line for a room that has receivers goes to that room alone (one search of
// the text per message, one hash lookup). Everything else goes to the clients without a room,
// as before; while no client has a room, messages are not even searched.
class ReferenceServer : public QObject {
    Q_OBJECT
public:
    explicit ReferenceServer(QObject *parent = nullptr);
    ~ReferenceServer() override;

    bool listen(const QHostAddress &address, quint16 port);
    quint16 port() const { return m_server.serverPort(); }
    QString errorString() const { return m_server.errorString(); }

private:
    void accept();
    void remove(QWebSocket *socket, const QString &room);
    std::vector<QWebSocket *> &receiversOf(const QString &message);

    QWebSocketServer m_server;
    std::vector<QWebSocket *> m_receivers;             // clients without a room
    QHash<QString, std::vector<QWebSocket *>> m_rooms; // room name -> its receivers
};

} // namespace bench

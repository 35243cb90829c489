// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QHostAddress>
#include <QObject>
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
    void remove(QWebSocket *socket);

    QWebSocketServer m_server;
    std::vector<QWebSocket *> m_receivers;
};

} // namespace bench

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QObject>
#include <QTcpSocket>
#include <QUrl>

namespace bench {

// A keep-alive HTTP/1.1 client connection that POSTs to one URL (lhttpd-qt's /publish) and
// may pipeline: requests are written back to back and responses, which come in order, are
// handed to the handler one by one.
class HttpConnection : public QObject {
    Q_OBJECT
public:
    class Handler {
    public:
        virtual ~Handler();
        virtual void httpOpened(HttpConnection *connection) = 0;
        virtual void httpFailed(HttpConnection *connection, const QString &why) = 0;
        virtual void httpResponse(HttpConnection *connection, int status, QByteArrayView body,
                                  qint64 now) = 0;
        // The server closed the connection (or it broke) after it was open.
        virtual void httpClosed(HttpConnection *connection) = 0;
    };

    HttpConnection(Handler *handler, int index, QObject *parent = nullptr);

    void open(const QUrl &url, const QHostAddress &source = {});
    bool isOpen() const { return m_open; }
    int index() const { return m_index; }

    // Appends one POST request with `body` to `out`, for batched (pipelined) writes.
    void appendPost(QByteArray &out, QByteArrayView body) const;
    void write(const QByteArray &requests) { m_socket.write(requests); }
    void abort();

private:
    void readIncoming();
    void fail(const QString &why);

    Handler *m_handler;
    QTcpSocket m_socket;
    QByteArray m_head; // request line and headers up to "Content-Length: "
    QByteArray m_in;
    int m_index;
    bool m_open = false;
    bool m_closed = false;
};

} // namespace bench

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "httpconnection.h"

#include "measure.h"
#include "wsconnection.h"

#include <QNetworkProxy>

namespace bench {

namespace {

constexpr qsizetype MaxResponseHead = 16 * 1024;

// Content-Length of a response head (names are case-insensitive); 0 when absent.
qsizetype contentLength(QByteArrayView head) {
    qsizetype pos = 0;
    while ((pos = head.indexOf("\r\n", pos)) >= 0) {
        pos += 2;
        constexpr QByteArrayView Name = "content-length:";
        if (head.size() - pos > Name.size() &&
            head.sliced(pos, Name.size()).compare(Name, Qt::CaseInsensitive) == 0) {
            const qsizetype end = head.indexOf("\r\n", pos);
            return head.sliced(pos + Name.size(), (end < 0 ? head.size() : end) - pos - Name.size())
                .trimmed()
                .toLongLong();
        }
    }
    return 0;
}

} // namespace

HttpConnection::Handler::~Handler() = default;

HttpConnection::HttpConnection(Handler *handler, int index, QObject *parent)
    : QObject(parent)
    , m_handler(handler)
    , m_socket(this)
    , m_index(index) {
    connect(&m_socket, &QTcpSocket::connected, this, [this] {
        m_socket.setSocketOption(QAbstractSocket::LowDelayOption, 1);
        m_open = true;
        m_handler->httpOpened(this);
    });
    connect(&m_socket, &QTcpSocket::readyRead, this, &HttpConnection::readIncoming);
    auto broken = [this] {
        if (m_closed)
            return;
        if (m_open) {
            m_open = false;
            m_closed = true;
            m_handler->httpClosed(this);
        } else {
            fail(m_socket.errorString());
        }
    };
    connect(&m_socket, &QTcpSocket::errorOccurred, this, broken);
    connect(&m_socket, &QTcpSocket::disconnected, this, broken);
}

void HttpConnection::open(const QUrl &url, const QHostAddress &source) {
    QByteArray target = url.path(QUrl::FullyEncoded).toUtf8();
    if (target.isEmpty())
        target = "/";
    if (url.hasQuery())
        target += '?' + url.query(QUrl::FullyEncoded).toUtf8();
    m_head = "POST " + target + " HTTP/1.1\r\nHost: " + url.host().toUtf8() + ':' +
             QByteArray::number(url.port(80)) +
             "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ";
    if (!source.isNull() && !m_socket.bind(source, 0)) {
        fail(QStringLiteral("cannot bind %1: %2").arg(source.toString(), m_socket.errorString()));
        return;
    }
    // No proxy: resolving the system proxy (libproxy) per connection costs more than the
    // whole handshake and serialises connecting on one thread.
    m_socket.setProxy(QNetworkProxy::NoProxy);
    m_socket.connectToHost(url.host(), quint16(url.port(80)));
}

void HttpConnection::appendPost(QByteArray &out, QByteArrayView body) const {
    out.append(m_head).append(QByteArray::number(body.size())).append("\r\n\r\n").append(body);
}

void HttpConnection::readIncoming() {
    const qint64 now = nowNs();
    m_in.append(m_socket.readAll());
    qsizetype pos = 0;
    while (!m_closed) {
        const qsizetype end = m_in.indexOf("\r\n\r\n", pos);
        if (end < 0) {
            if (m_in.size() - pos > MaxResponseHead)
                fail(QStringLiteral("HTTP response head too large"));
            break;
        }
        const QByteArrayView head = QByteArrayView(m_in).sliced(pos, end + 2 - pos);
        const qsizetype length = contentLength(head);
        if (m_in.size() < end + 4 + length)
            break;
        // "HTTP/1.1 200 OK": the status is the second token.
        const qsizetype space = head.indexOf(' ');
        const int status = space < 0 ? 0 : head.sliced(space + 1, 3).toInt();
        const QByteArrayView body = QByteArrayView(m_in).sliced(end + 4, length);
        pos = end + 4 + length;
        m_handler->httpResponse(this, status, body, now);
    }
    if (pos >= m_in.size())
        m_in.resize(0);
    else if (pos > 0)
        m_in.remove(0, pos);
}

void HttpConnection::abort() {
    m_closed = true;
    m_open = false;
    resetOnClose(m_socket);
    m_socket.abort();
}

void HttpConnection::fail(const QString &why) {
    m_closed = true;
    m_open = false;
    m_socket.abort();
    m_handler->httpFailed(this, why);
}

} // namespace bench

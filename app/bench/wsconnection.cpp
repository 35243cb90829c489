// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "wsconnection.h"

#include "measure.h"

#include <QCryptographicHash>
#include <QNetworkProxy>
#include <QRandomGenerator>

#include <sys/socket.h>

namespace bench {

namespace {

constexpr QByteArrayView AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr qsizetype MaxHandshakeResponse = 16 * 1024;

enum Opcode : quint8 {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

// The value of header `name` (given in lower case) in an HTTP response head; null if absent.
QByteArray headerValue(QByteArrayView head, QByteArrayView name) {
    qsizetype pos = head.indexOf("\r\n");
    while (pos >= 0 && pos + 2 < head.size()) {
        const qsizetype start = pos + 2;
        const qsizetype end = head.indexOf("\r\n", start);
        const QByteArrayView line = head.sliced(start, (end < 0 ? head.size() : end) - start);
        const qsizetype colon = line.indexOf(':');
        if (colon > 0 && line.first(colon).trimmed().toByteArray().toLower() == name)
            return line.sliced(colon + 1).trimmed().toByteArray();
        pos = end;
    }
    return {};
}

} // namespace

void resetOnClose(QAbstractSocket &socket) {
    // SO_LINGER {on, 0}: close() sends RST instead of FIN, so rounds of thousands of
    // connections leave no TIME_WAIT entries to exhaust the source ports.
    const qintptr fd = socket.socketDescriptor();
    if (fd < 0)
        return;
    const linger l{1, 0};
    ::setsockopt(int(fd), SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

WsConnection::Handler::~Handler() = default;

WsConnection::WsConnection(Handler *handler, int tag, int index, QObject *parent)
    : QObject(parent)
    , m_handler(handler)
    , m_socket(this)
    , m_mask(QRandomGenerator::global()->generate() | 1u) // never 0: a real mask is applied
    , m_tag(tag)
    , m_index(index) {
    connect(&m_socket, &QTcpSocket::connected, this, &WsConnection::sendHandshake);
    connect(&m_socket, &QTcpSocket::readyRead, this, &WsConnection::readIncoming);
    connect(&m_socket, &QTcpSocket::errorOccurred, this, [this] {
        if (m_state == State::Open) {
            m_state = State::Closed;
            m_handler->wsClosed(this);
        } else if (m_state != State::Closed) {
            fail(m_socket.errorString());
        }
    });
    connect(&m_socket, &QTcpSocket::disconnected, this, [this] {
        if (m_state == State::Open) {
            m_state = State::Closed;
            m_handler->wsClosed(this);
        } else if (m_state != State::Closed) {
            fail(QStringLiteral("disconnected during the handshake"));
        }
    });
}

void WsConnection::open(const QUrl &url, const QHostAddress &source) {
    m_url = url;
    m_state = State::Connecting;
    if (!source.isNull() && !m_socket.bind(source, 0)) {
        fail(QStringLiteral("cannot bind %1: %2").arg(source.toString(), m_socket.errorString()));
        return;
    }
    // No proxy: resolving the system proxy (libproxy) per connection costs more than the
    // whole handshake and serialises connecting on one thread.
    m_socket.setProxy(QNetworkProxy::NoProxy);
    m_socket.connectToHost(url.host(), quint16(url.port(80)));
}

void WsConnection::sendHandshake() {
    m_socket.setSocketOption(QAbstractSocket::LowDelayOption, 1);
    QByteArray nonce(16, Qt::Uninitialized);
    QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(nonce.data()), 4);
    m_key = nonce.toBase64();
    QByteArray target = m_url.path(QUrl::FullyEncoded).toUtf8();
    if (target.isEmpty())
        target = "/";
    if (m_url.hasQuery())
        target += '?' + m_url.query(QUrl::FullyEncoded).toUtf8();
    const QByteArray request = "GET " + target + " HTTP/1.1\r\nHost: " + m_url.host().toUtf8() +
                               ':' + QByteArray::number(m_url.port(80)) +
                               "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Key: " +
                               m_key + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    m_state = State::Handshaking;
    m_socket.write(request);
}

qsizetype WsConnection::readHandshake() {
    const qsizetype end = m_in.indexOf("\r\n\r\n");
    if (end < 0) {
        if (m_in.size() > MaxHandshakeResponse) {
            fail(QStringLiteral("handshake response too large"));
            return -1;
        }
        return 0;
    }
    const QByteArrayView head = QByteArrayView(m_in).first(end + 2);
    if (!head.startsWith("HTTP/1.1 101")) {
        fail(QStringLiteral("handshake refused: %1")
                 .arg(QString::fromUtf8(head.first(qMax(0, head.indexOf("\r\n"))))));
        return -1;
    }
    const QByteArray expected =
        QCryptographicHash::hash(m_key + AcceptGuid.toByteArray(), QCryptographicHash::Sha1)
            .toBase64();
    if (headerValue(head, "sec-websocket-accept") != expected) {
        fail(QStringLiteral("handshake response has a wrong Sec-WebSocket-Accept"));
        return -1;
    }
    m_state = State::Open;
    m_handler->wsOpened(this);
    return end + 4;
}

void WsConnection::readIncoming() {
    const qint64 now = nowNs();
    const qint64 available = m_socket.bytesAvailable();
    if (available <= 0)
        return;
    // Read into the kept buffer: no allocation per read once it has grown.
    const qsizetype old = m_in.size();
    m_in.resize(old + available);
    const qint64 got = m_socket.read(m_in.data() + old, available);
    m_in.resize(old + qMax<qint64>(got, 0));

    qsizetype pos = 0;
    if (m_state == State::Handshaking) {
        const qsizetype used = readHandshake();
        if (used <= 0)
            return;
        pos = used;
    }
    const auto *data = reinterpret_cast<const uchar *>(m_in.constData());
    const qsizetype size = m_in.size();
    while (m_state == State::Open && size - pos >= 2) {
        const bool fin = data[pos] & 0x80;
        const quint8 opcode = data[pos] & 0x0f;
        const bool masked = data[pos + 1] & 0x80;
        quint64 length = data[pos + 1] & 0x7f;
        qsizetype header = 2;
        if (length == 126) {
            if (size - pos < 4)
                break;
            length = (quint64(data[pos + 2]) << 8) | data[pos + 3];
            header = 4;
        } else if (length == 127) {
            if (size - pos < 10)
                break;
            length = 0;
            for (int i = 0; i < 8; ++i)
                length = (length << 8) | data[pos + 2 + i];
            header = 10;
        }
        if (masked)
            header += 4;
        if (quint64(size - pos - header) < length)
            break;
        QByteArrayView payload(m_in.constData() + pos + header, qsizetype(length));
        QByteArray unmasked;
        if (masked) { // servers must not mask; tolerated all the same
            unmasked = payload.toByteArray();
            const uchar *key = data + pos + header - 4;
            for (qsizetype i = 0; i < unmasked.size(); ++i)
                unmasked[i] = char(unmasked[i] ^ key[i & 3]);
            payload = unmasked;
        }
        pos += header + qsizetype(length);
        switch (opcode) {
        case Text:
        case Binary:
            if (fin) {
                m_handler->wsMessage(this, payload, now);
            } else {
                m_fragment = payload.toByteArray();
                m_fragmenting = true;
            }
            break;
        case Continuation:
            if (!m_fragmenting)
                break;
            m_fragment.append(payload);
            if (fin) {
                m_fragmenting = false;
                m_handler->wsMessage(this, m_fragment, now);
                m_fragment.clear();
            }
            break;
        case Ping: {
            if (!m_socket.isOpen())
                break;
            QByteArray pong;
            appendFrame(pong, payload, Pong);
            m_socket.write(pong);
            break;
        }
        case Pong:
            m_handler->wsPong(this, payload);
            break;
        case Close: {
            QByteArray close;
            appendFrame(close, payload.first(qMin<qsizetype>(2, payload.size())), Close);
            m_socket.write(close);
            m_state = State::Closed;
            m_socket.disconnectFromHost();
            m_handler->wsClosed(this);
            break;
        }
        default:
            break;
        }
    }
    if (pos >= m_in.size())
        m_in.resize(0); // keeps the allocation
    else if (pos > 0)
        m_in.remove(0, pos);
}

void WsConnection::appendFrame(QByteArray &out, QByteArrayView payload, quint8 opcode) const {
    const quint64 n = quint64(payload.size());
    char head[14];
    int h = 0;
    head[h++] = char(0x80 | opcode);
    if (n < 126) {
        head[h++] = char(0x80 | n);
    } else if (n <= 0xffff) {
        head[h++] = char(0x80 | 126);
        head[h++] = char(n >> 8);
        head[h++] = char(n);
    } else {
        head[h++] = char(0x80 | 127);
        for (int i = 7; i >= 0; --i)
            head[h++] = char(n >> (8 * i));
    }
    const char key[4] = {char(m_mask >> 24), char(m_mask >> 16), char(m_mask >> 8), char(m_mask)};
    for (char k : key)
        head[h++] = k;
    out.append(head, h);
    const qsizetype start = out.size();
    out.append(payload);
    char *p = out.data() + start;
    for (qsizetype i = 0; i < payload.size(); ++i)
        p[i] = char(p[i] ^ key[i & 3]);
}

void WsConnection::sendText(QByteArrayView payload) {
    if (!m_socket.isOpen())
        return; // closed by the peer meanwhile
    QByteArray frame;
    frame.reserve(payload.size() + 14);
    appendFrame(frame, payload);
    m_socket.write(frame);
}

void WsConnection::abort() {
    m_state = State::Closed;
    resetOnClose(m_socket);
    m_socket.abort();
}

void WsConnection::fail(const QString &why) {
    m_state = State::Closed;
    m_socket.abort();
    m_handler->wsFailed(this, why);
}

} // namespace bench

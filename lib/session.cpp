// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "session.h"

#include "frame.h"
#include "logging.h"
#include "processor.h"
#include "server.h"

#include <QWebSocket>

namespace lhttp {

Processor::~Processor() = default;
HeaderFilter::~HeaderFilter() = default;

Session::Session(Server *server, quint64 id, QWebSocket *socket)
    : m_server(server)
    , m_socket(socket)
    , m_id(id)
    , m_connectedAt(QDateTime::currentDateTimeUtc()) {}

Session::~Session() = default;

void Session::handleIncoming(const QByteArray &bytes, const QString *text) {
    ++m_stats.messagesIn;
    m_stats.bytesIn += quint64(bytes.size());
    ++m_server->m_counters.messagesIn;
    m_server->m_counters.bytesIn += quint64(bytes.size());
    if (m_closing)
        return;
    Error error;
    m_message = Message::parse(bytes, m_server->options().limits, &error);
    if (error) {
        replyError(error);
        m_message = Message();
        return;
    }
    m_incomingText = text;
    m_dropped = false;
    m_server->runChain(*this);
    m_incomingText = nullptr;
    m_parts.clear();
    m_message = Message();
}

void Session::send(const Frame &frame) {
    if (m_closing)
        return;
    ++m_stats.messagesOut;
    m_stats.bytesOut += quint64(frame.size());
    m_server->countOut(frame.size());
    if (frame.isText())
        m_socket->sendTextMessage(frame.text());
    else
        m_socket->sendBinaryMessage(frame.bytes());
}

void Session::sendBytes(const QByteArray &bytes) {
    send(Frame(bytes));
}

void Session::reply(const Message &message) {
    sendBytes(message.toBytes());
}

void Session::reply(QByteArrayView body, QByteArrayView command,
                    const Message::HeaderList &headers) {
    sendBytes(Message::serialize(command.isNull() ? m_message.command() : command, headers, body));
}

void Session::replyError(const Error &error) {
    m_server->notifyError(this, error);
    sendBytes(Message::errorReply(error));
}

QHostAddress Session::peerAddress() const {
    return m_socket->peerAddress();
}

quint16 Session::peerPort() const {
    return m_socket->peerPort();
}

QString Session::origin() const {
    return m_socket->origin();
}

QUrl Session::requestUrl() const {
    return m_socket->requestUrl();
}

void Session::close(QWebSocketProtocol::CloseCode code, const QString &reason) {
    if (m_closing)
        return;
    m_closing = true;
    m_socket->close(code, reason);
}

QVariant Session::value(const QString &key, const QVariant &defaultValue) const {
    return m_values ? m_values->value(key, defaultValue) : defaultValue;
}

void Session::setValue(const QString &key, const QVariant &value) {
    if (!m_values)
        m_values = std::make_unique<QVariantHash>();
    m_values->insert(key, value);
}

void Session::removeValue(const QString &key) {
    if (m_values)
        m_values->remove(key);
}

Frame Session::messageFrame() const {
    const bool unchanged = !m_message.isModified();
    return Frame(m_message.toBytes(), unchanged && m_incomingText ? *m_incomingText : QString());
}

bool Session::isSubscribed(QByteArrayView channel) const {
    for (const Membership &m : m_memberships) {
        if (m.channel->name == channel)
            return true;
    }
    return false;
}

QList<QByteArray> Session::channels() const {
    QList<QByteArray> out;
    out.reserve(m_memberships.size());
    for (const Membership &m : m_memberships)
        out.append(m.channel->name);
    return out;
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "server.h"

#include "broker.h"
#include "builtinfilters.h"
#include "channelname.h"
#include "frame.h"
#include "http.h"
#include "httpapi.h"
#include "listener.h"
#include "logging.h"
#include "processor.h"
#include "session.h"
#include "upstream.h"

#include <QMetaMethod>
#include <QWebSocket>

namespace lhttp {

Server::Server(ServerOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options)) {
    setBroker(std::make_unique<LocalBroker>());
    m_filters.push_back(std::make_shared<MultipartFilter>());
    m_filters.push_back(std::make_shared<PubSubFilter>());
    auto upstream = std::make_shared<Upstream>(this);
    m_upstream = upstream.get();
    m_filters.push_back(std::move(upstream));
}

Server::~Server() {
    m_listener.reset();
    const auto all = m_sessions.values();
    for (Session *s : all)
        removeSession(s);
    m_hub.setBroker(nullptr);
}

bool Server::listen() {
    m_listener = std::make_unique<Listener>(this, m_options);
    connect(m_listener.get(), &Listener::webSocketConnected, this, &Server::addSession);
    if (!m_listener->listen(&m_errorString)) {
        qCWarning(lcServer) << "cannot listen on" << m_options.address << m_options.port << ":"
                            << m_errorString;
        m_listener.reset();
        return false;
    }
    qCInfo(lcServer) << "listening on" << m_options.address.toString() << "port" << serverPort()
                     << "broker:" << m_broker->description();
    return true;
}

bool Server::isListening() const {
    return m_listener && m_listener->isListening();
}

quint16 Server::serverPort() const {
    return m_listener ? m_listener->port() : 0;
}

void Server::close(QWebSocketProtocol::CloseCode code, const QString &reason) {
    if (m_listener)
        m_listener->close();
    const auto all = m_sessions.values();
    for (Session *s : all)
        s->close(code, reason);
}

void Server::registerProcessor(const QByteArray &command, std::shared_ptr<Processor> processor) {
    if (std::find(m_processorOrder.begin(), m_processorOrder.end(), processor) ==
        m_processorOrder.end())
        m_processorOrder.push_back(processor);
    m_processors.insert(command, std::move(processor));
}

Processor *Server::processor(QByteArrayView command) const {
    // fromRawData: a lookup key without copying the command.
    const auto it = m_processors.constFind(QByteArray::fromRawData(command.data(), command.size()));
    return it == m_processors.cend() ? nullptr : it->get();
}

void Server::addHeaderFilter(std::shared_ptr<HeaderFilter> filter) {
    m_filters.push_back(std::move(filter));
}

void Server::setBroker(std::unique_ptr<Broker> broker) {
    m_hub.setBroker(nullptr);
    m_broker = std::move(broker);
    m_broker->setParent(nullptr);
    m_hub.setBroker(m_broker.get());
}

void Server::addSession(QWebSocket *socket) {
    const quint64 id = m_nextId++;
    auto *session = new Session(this, id, socket);
    m_sessions.insert(id, session);
    ++m_counters.connectionsAccepted;
    const qsizetype hard = m_options.effectiveHardMessageLimit();
    socket->setMaxAllowedIncomingMessageSize(quint64(hard));
    socket->setMaxAllowedIncomingFrameSize(quint64(hard));
    connect(socket, &QWebSocket::textMessageReceived, this,
            [session](const QString &text) { session->handleIncoming(text.toUtf8(), &text); });
    connect(socket, &QWebSocket::binaryMessageReceived, this,
            [session](const QByteArray &bytes) { session->handleIncoming(bytes, nullptr); });
    // Queued: a disconnect noticed while a message is being handled (or inside a fan-out)
    // is acted on once that work is done.
    connect(
        socket, &QWebSocket::disconnected, this, [this, session] { removeSession(session); },
        Qt::QueuedConnection);

    qCDebug(lcSession) << "session" << id << "opened from" << socket->peerAddress().toString()
                       << "origin" << socket->origin();
    for (const auto &f : m_filters) {
        f->onOpen(*session);
        ++session->m_openedFilters;
    }
    for (const auto &p : m_processorOrder) {
        p->onOpen(*session);
        ++session->m_openedProcessors;
    }
    Q_EMIT sessionOpened(id);
}

void Server::removeSession(Session *session) {
    if (session->m_removed)
        return;
    session->m_removed = true;
    session->m_closing = true;
    QWebSocket *socket = session->m_socket;
    socket->disconnect(this);
    for (int i = 0; i < session->m_openedProcessors; ++i)
        m_processorOrder[size_t(i)]->onClose(*session);
    for (int i = 0; i < session->m_openedFilters; ++i)
        m_filters[size_t(i)]->onClose(*session);
    const bool watchSubs = m_watchSubscriptions;
    const QList<QByteArray> channels = watchSubs ? session->channels() : QList<QByteArray>();
    m_hub.removeSession(session);
    m_sessions.remove(session->id());
    for (const QByteArray &c : channels)
        Q_EMIT unsubscribed(session->id(), c);
    qCDebug(lcSession) << "session" << session->id() << "closed";
    Q_EMIT sessionClosed(session->id());
    socket->deleteLater();
    delete session;
}

void Server::runChain(Session &session) {
    if (m_watchMessages)
        Q_EMIT messageReceived(session.id(), session.command().toByteArray(),
                               session.message().toBytes().size());
    for (const auto &f : m_filters) {
        if (!f->beforeMessage(session))
            return;
    }
    if (Processor *p = processor(session.command()))
        p->onMessage(session);
    for (const auto &f : m_filters) {
        if (session.isDropped() || session.isClosing())
            return;
        f->afterMessage(session);
    }
}

Error Server::publish(const QByteArrayList &channels, const Message &message) {
    if (channels.isEmpty())
        return Error::make(Status::BadRequest, "no channel to publish to");
    for (const QByteArray &c : channels) {
        if (Error e = ChannelName::validate(c, ChannelName::Use::Publish, false,
                                            m_options.limits.maxChannelLength))
            return e;
    }
    Message m = message;
    if (!m.hasHeader("publish"))
        m.addHeader("publish", channels.join(' '));
    const Frame frame(m.toBytes());
    Error remote;
    for (const QByteArray &c : channels) {
        if (Error e = m_hub.publish(c, frame); e && !remote)
            remote = std::move(e);
        notifyPublished(c, frame.size());
    }
    return remote;
}

Error Server::publish(const QByteArrayList &channels, const QByteArray &command,
                      const Message::HeaderList &headers, const QByteArray &body) {
    Message m(command, body);
    for (const Message::Header &h : headers)
        m.addHeader(h.name.toByteArray(), h.value.toByteArray());
    return publish(channels, m);
}

void Server::notifySubscribed(Session &session, const QByteArray &channel, bool isSubscribe) {
    if (!m_watchSubscriptions)
        return;
    if (isSubscribe)
        Q_EMIT subscribed(session.id(), channel);
    else
        Q_EMIT unsubscribed(session.id(), channel);
}

void Server::notifyPublished(const QByteArray &channel, qsizetype size) {
    ++m_counters.publishes;
    if (!m_watchPublishes)
        return;
    const ChannelHub::Channel *c = m_hub.channel(channel);
    Q_EMIT messagePublished(channel, size, c ? int(c->subscribers.size()) : 0);
}

void Server::notifyError(Session *session, const Error &error) {
    countError(error.code);
    qCDebug(lcSession) << "session" << (session ? session->id() : 0) << "error" << error.code
                       << error.reason;
    if (m_watchErrors)
        Q_EMIT errorReplied(session ? session->id() : 0, error.code, error.reason);
}

void Server::handleHttp(const HttpRequest &request, HttpResponse &response) {
    HttpApi::handle(*this, request, response);
}

void Server::connectNotify(const QMetaMethod &) {
    updateWatchers();
}

void Server::disconnectNotify(const QMetaMethod &) {
    updateWatchers();
}

void Server::updateWatchers() {
    m_watchMessages = isSignalConnected(QMetaMethod::fromSignal(&Server::messageReceived));
    m_watchPublishes = isSignalConnected(QMetaMethod::fromSignal(&Server::messagePublished));
    m_watchSubscriptions = isSignalConnected(QMetaMethod::fromSignal(&Server::subscribed)) ||
                           isSignalConnected(QMetaMethod::fromSignal(&Server::unsubscribed));
    m_watchErrors = isSignalConnected(QMetaMethod::fromSignal(&Server::errorReplied));
}

} // namespace lhttp

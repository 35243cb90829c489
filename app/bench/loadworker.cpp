// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "loadworker.h"

#include "measure.h"

#include <QTimer>

#include <cmath>

namespace bench {

namespace {

// Fast mode keeps the socket's own buffer short so a stamp is taken close to the moment the
// bytes can actually leave; batches amortise the write call.
constexpr qint64 LowWater = 32 * 1024;
constexpr int Batch = 32;
constexpr int MaxErrorsKept = 8;

constexpr QByteArrayView BlankLine = "\r\n\r\n";
constexpr QByteArrayView ErrorReply = "LHTTP/1.0 error";

void putHex(char *out, quint64 value, int digits) {
    static const char Digits[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i) {
        out[i] = Digits[value & 0xf];
        value >>= 4;
    }
}

bool getHex(const char *in, int digits, quint64 *value) {
    quint64 v = 0;
    for (int i = 0; i < digits; ++i) {
        const char c = in[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return false;
        v = (v << 4) | quint64(d);
    }
    *value = v;
    return true;
}

void raiseTo(std::atomic<qint64> &target, qint64 value) {
    qint64 seen = target.load(std::memory_order_relaxed);
    while (value > seen && !target.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
}

} // namespace

LoadWorker::LoadWorker(const LoadConfig &config, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_subscribeMessage("LHTTP/1.0 bench\r\nsubscribe:" + config.channel + "\r\n\r\n")
    , m_head(messageHead(config.channel)) {}

LoadWorker::~LoadWorker() {
    closeAll();
}

QByteArray LoadWorker::messageHead(const QByteArray &channel) {
    return "LHTTP/1.0 bench\r\npublish:" + channel + "\r\n\r\n";
}

void LoadWorker::stamp(char *body, int payload, qint64 sentNs, int publisher, quint32 sequence) {
    // T<16 hex: send time>-<4 hex: publisher>-<8 hex: sequence>, then '.' up to `payload`.
    body[0] = 'T';
    putHex(body + 1, quint64(sentNs), 16);
    body[17] = '-';
    putHex(body + 18, quint64(publisher), 4);
    body[22] = '-';
    putHex(body + 23, sequence, 8);
    for (int i = MinPayload; i < payload; ++i)
        body[i] = '.';
}

void LoadWorker::openSubscribers(const QList<Endpoint> &endpoints) {
    for (const Endpoint &e : endpoints) {
        Subscriber s;
        s.nextSequence.assign(size_t(qMax(1, m_config.publishers)), 0);
        m_subscribers.push_back(std::move(s));
        m_pending.append(Pending{SubscriberRole, int(m_subscribers.size() - 1), e.source});
    }
    openNext();
}

void LoadWorker::openPublishers(const QList<Endpoint> &endpoints) {
    const int payload = qMax(m_config.payload, MinPayload);
    for (const Endpoint &e : endpoints) {
        Publisher p;
        p.id = e.id;
        p.message = m_head + QByteArray(payload, '.');
        m_publishers.push_back(std::move(p));
        m_pending.append(Pending{PublisherRole, int(m_publishers.size() - 1), e.source});
    }
    openNext();
}

void LoadWorker::openNext() {
    while (m_inFlight < m_config.connectWindow && m_nextPending < m_pending.size()) {
        const Pending p = m_pending[m_nextPending++];
        ++m_inFlight;
        if (p.role == SubscriberRole) {
            auto &c = m_subscribers[size_t(p.index)].connection;
            c = std::make_unique<WsConnection>(this, SubscriberRole, p.index);
            c->open(m_config.subscribeUrl, p.source);
            continue;
        }
        Publisher &pub = m_publishers[size_t(p.index)];
        if (m_config.publishesOverHttp()) {
            pub.http = std::make_unique<HttpConnection>(this, p.index);
            pub.http->open(m_config.publishUrl, p.source);
        } else {
            pub.ws = std::make_unique<WsConnection>(this, PublisherRole, p.index);
            // Fast mode: refill whenever the socket has handed bytes to the kernel.
            connect(&pub.ws->socket(), &QTcpSocket::bytesWritten, this,
                    [this, i = p.index] { pump(m_publishers[size_t(i)]); });
            pub.ws->open(m_config.publishUrl, p.source);
        }
    }
    if (m_nextPending == m_pending.size() && m_inFlight == 0) {
        m_pending.clear();
        m_nextPending = 0;
    }
}

void LoadWorker::connectionSettled() {
    --m_inFlight;
    openNext();
}

void LoadWorker::noteError(const QString &error) {
    QMutexLocker lock(&m_errorsLock);
    if (m_errors.size() < MaxErrorsKept)
        m_errors.append(error);
}

QStringList LoadWorker::takeErrors() {
    QMutexLocker lock(&m_errorsLock);
    return std::exchange(m_errors, {});
}

void LoadWorker::wsOpened(WsConnection *connection) {
    if (connection->tag() == SubscriberRole && m_config.subscribe)
        connection->sendText(m_subscribeMessage);
    m_counters.opened.fetch_add(1, std::memory_order_relaxed);
    connectionSettled();
}

void LoadWorker::wsFailed(WsConnection *, const QString &why) {
    m_counters.failed.fetch_add(1, std::memory_order_relaxed);
    noteError(QStringLiteral("connect: ") + why);
    connectionSettled();
}

void LoadWorker::wsClosed(WsConnection *) {
    m_counters.closed.fetch_add(1, std::memory_order_relaxed);
    noteError(QStringLiteral("the server closed a connection"));
}

void LoadWorker::wsMessage(WsConnection *connection, QByteArrayView message, qint64 now) {
    if (message.startsWith(ErrorReply)) {
        m_counters.errors.fetch_add(1, std::memory_order_relaxed);
        noteError(QStringLiteral("error reply: ") +
                  QString::fromUtf8(message.first(qMin<qsizetype>(message.size(), 200)))
                      .replace(QStringLiteral("\r\n"), QStringLiteral(" | ")));
        return;
    }
    if (connection->tag() != SubscriberRole) {
        m_counters.nonData.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    Subscriber &s = m_subscribers[size_t(connection->index())];
    const qsizetype blank = message.indexOf(BlankLine);
    const QByteArrayView body = blank < 0 ? QByteArrayView() : message.sliced(blank + 4);
    quint64 sent, publisher, sequence;
    if (body.size() >= MinPayload && body[0] == 'T' && getHex(body.data() + 1, 16, &sent) &&
        getHex(body.data() + 18, 4, &publisher) && getHex(body.data() + 23, 8, &sequence) &&
        publisher < s.nextSequence.size()) {
        m_latencies.push_back(now - qint64(sent));
        quint32 &next = s.nextSequence[publisher];
        if (sequence != next)
            m_counters.outOfOrder.fetch_add(1, std::memory_order_relaxed);
        next = quint32(sequence) + 1;
        m_counters.delivered.fetch_add(1, std::memory_order_relaxed);
        m_counters.lastDeliveryNs.store(now, std::memory_order_relaxed);
        return;
    }
    if (body.startsWith("P") && !s.ready) {
        s.ready = true;
        m_counters.ready.fetch_add(1, std::memory_order_relaxed);
    }
    m_counters.nonData.fetch_add(1, std::memory_order_relaxed);
}

void LoadWorker::httpOpened(HttpConnection *) {
    m_counters.opened.fetch_add(1, std::memory_order_relaxed);
    connectionSettled();
}

void LoadWorker::httpFailed(HttpConnection *, const QString &why) {
    m_counters.failed.fetch_add(1, std::memory_order_relaxed);
    noteError(QStringLiteral("connect: ") + why);
    connectionSettled();
}

void LoadWorker::httpClosed(HttpConnection *) {
    m_counters.closed.fetch_add(1, std::memory_order_relaxed);
    noteError(QStringLiteral("the server closed an HTTP connection"));
}

void LoadWorker::httpResponse(HttpConnection *connection, int status, QByteArrayView body, qint64) {
    Publisher &p = m_publishers[size_t(connection->index())];
    if (status != 200) {
        m_counters.errors.fetch_add(1, std::memory_order_relaxed);
        noteError(QStringLiteral("HTTP %1: %2").arg(status).arg(QString::fromUtf8(body)));
    }
    // Responses come in request order: the probes were all sent before the first message.
    if (p.probesInFlight > 0) {
        --p.probesInFlight;
        return;
    }
    ++p.answered;
    pump(p);
}

void LoadWorker::sendProbe(int n) {
    if (m_publishers.empty())
        return;
    Publisher &p = m_publishers.front();
    const QByteArray probe = m_head + 'P' + QByteArray::number(n);
    if (p.http) {
        QByteArray request;
        p.http->appendPost(request, probe);
        p.http->write(request);
        ++p.probesInFlight;
    } else if (p.ws) {
        p.ws->sendText(probe);
    }
}

void LoadWorker::start(qint64 t0) {
    m_t0 = t0;
    m_latencies.reserve(m_subscribers.size() * size_t(m_config.messages) *
                        size_t(qMax(1, m_config.publishers)));
    for (size_t i = 0; i < m_publishers.size(); ++i) {
        Publisher &p = m_publishers[i];
        if (m_config.ratePerPublisher <= 0) {
            pump(p);
            continue;
        }
        p.timer = new QTimer(this);
        p.timer->setTimerType(Qt::PreciseTimer);
        p.timer->setInterval(int(std::clamp(500.0 / m_config.ratePerPublisher, 1.0, 10.0)));
        connect(p.timer, &QTimer::timeout, this, [this, i] { tick(m_publishers[i]); });
        tick(p);
        p.timer->start();
    }
}

void LoadWorker::sendBatch(Publisher &p, int count) {
    const int payload = qMax(m_config.payload, MinPayload);
    char *body = p.message.data() + m_head.size();
    m_batch.resize(0);
    const qint64 now = nowNs();
    for (int i = 0; i < count; ++i) {
        stamp(body, payload, now, p.id, quint32(p.sent++));
        if (p.http)
            p.http->appendPost(m_batch, p.message);
        else
            p.ws->appendFrame(m_batch, p.message);
    }
    if (p.http)
        p.http->write(m_batch);
    else
        p.ws->write(m_batch);
    m_counters.published.fetch_add(quint64(count), std::memory_order_relaxed);
}

void LoadWorker::pump(Publisher &p) {
    if (m_t0 == 0)
        return; // not started yet (bytesWritten of the handshake)
    if (m_config.ratePerPublisher <= 0) {
        if (p.http) {
            const int room = m_config.httpWindow - (p.sent - p.answered);
            if (room > 0 && p.sent < m_config.messages)
                sendBatch(p, qMin(room, m_config.messages - p.sent));
        } else if (p.ws) {
            while (p.sent < m_config.messages && p.ws->bytesToWrite() < LowWater)
                sendBatch(p, qMin(Batch, m_config.messages - p.sent));
        }
    }
    checkDone(p);
}

void LoadWorker::tick(Publisher &p) {
    const double elapsed = double(nowNs() - m_t0) / 1e9;
    const int due = qMin(m_config.messages, int(elapsed * m_config.ratePerPublisher) + 1);
    if (due > p.sent)
        sendBatch(p, due - p.sent);
    if (p.sent >= m_config.messages && p.timer)
        p.timer->stop();
    checkDone(p);
}

void LoadWorker::checkDone(Publisher &p) {
    if (p.done || p.sent < m_config.messages)
        return;
    if (p.http ? p.answered < m_config.messages : (p.ws && p.ws->bytesToWrite() > 0))
        return;
    p.done = true;
    raiseTo(m_counters.publishDoneNs, nowNs());
    m_counters.publishersDone.fetch_add(1, std::memory_order_relaxed);
}

void LoadWorker::closeAll() {
    for (Subscriber &s : m_subscribers) {
        if (s.connection)
            s.connection->abort();
    }
    for (Publisher &p : m_publishers) {
        if (p.ws)
            p.ws->abort();
        if (p.http)
            p.http->abort();
        delete p.timer;
        p.timer = nullptr;
    }
    m_subscribers.clear();
    m_publishers.clear();
    m_pending.clear();
    m_nextPending = 0;
    m_inFlight = 0;
}

} // namespace bench

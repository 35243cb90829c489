// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "loadworker.h"

#include "measure.h"

#include <QTimer>

#include <cmath>
#include <limits>

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
    , m_config(config) {
    for (int room = 0; room < m_config.roomCount(); ++room) {
        const QByteArray name = m_config.roomName(room);
        m_heads.append(m_config.protocol == Protocol::Nats ? "PUB " + name + ' '
                                                           : messageHead(name));
    }
}

LoadWorker::~LoadWorker() {
    closeAll();
}

QByteArray LoadWorker::messageHead(const QByteArray &channel) {
    return "LHTTP/1.0 bench\r\npublish:" + channel + "\r\n\r\n";
}

QByteArray LoadWorker::natsHead(const QByteArray &subject, int bytes) {
    return "PUB " + subject + ' ' + QByteArray::number(bytes) + "\r\n";
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
        s.room = m_config.roomOfSubscriber(e.id);
        m_subscribers.push_back(std::move(s));
        m_pending.append(Pending{SubscriberRole, int(m_subscribers.size() - 1), e.source});
    }
    openNext();
}

void LoadWorker::openPublishers(const QList<Endpoint> &endpoints) {
    for (const Endpoint &e : endpoints) {
        Publisher p;
        p.id = e.id;
        p.roomSequence.assign(size_t(m_config.roomCount()), 0);
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
            Subscriber &sub = m_subscribers[size_t(p.index)];
            sub.connection = std::make_unique<WsConnection>(this, SubscriberRole, p.index);
            QUrl url = m_config.subscribeUrl;
            if (m_config.rooms > 0) // the reference floor's rooms; the others ignore it
                url.setQuery(QStringLiteral("room=") +
                             QString::fromLatin1(m_config.roomName(sub.room)));
            sub.connection->open(url, p.source);
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
    const bool subscriber = connection->tag() == SubscriberRole;
    const QByteArray room =
        subscriber ? m_config.roomName(m_subscribers[size_t(connection->index())].room) : "";
    if (m_config.protocol == Protocol::Nats) {
        QByteArray hello = R"(CONNECT {"verbose":false,"pedantic":false})"
                           "\r\n";
        if (subscriber && m_config.subscribe)
            hello += "SUB " + room + " 1\r\n";
        connection->sendText(hello);
    } else if (subscriber && m_config.subscribe) {
        connection->sendText("LHTTP/1.0 bench\r\nsubscribe:" + room + "\r\n\r\n");
    } else if (!subscriber) {
        // A valid message, so that a publisher that waits for its phase is not closed by
        // lhttpd-qt's idle timeout (a message with no header does nothing).
        connection->sendText("LHTTP/1.0 bench\r\n\r\n");
    }
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
    const bool subscriber = connection->tag() == SubscriberRole;
    if (m_config.protocol == Protocol::Nats) {
        if (subscriber) {
            Subscriber &s = m_subscribers[size_t(connection->index())];
            readNats(connection, s.natsIn, message, &s, now);
        } else {
            readNats(connection, m_publishers[size_t(connection->index())].natsIn, message, nullptr,
                     now);
        }
        return;
    }
    if (message.startsWith(ErrorReply)) {
        m_counters.errors.fetch_add(1, std::memory_order_relaxed);
        noteError(QStringLiteral("error reply: ") +
                  QString::fromUtf8(message.first(qMin<qsizetype>(message.size(), 200)))
                      .replace(QStringLiteral("\r\n"), QStringLiteral(" | ")));
        return;
    }
    if (!subscriber) {
        m_counters.nonData.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const qsizetype blank = message.indexOf(BlankLine);
    deliver(m_subscribers[size_t(connection->index())],
            blank < 0 ? QByteArrayView() : message.sliced(blank + 4), now);
}

void LoadWorker::deliver(Subscriber &s, QByteArrayView body, qint64 now) {
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

void LoadWorker::readNats(WsConnection *connection, QByteArray &pending, QByteArrayView bytes,
                          Subscriber *s, qint64 now) {
    // A WebSocket message may hold several protocol lines, and a line or a payload may go on
    // in the next message: parse the concatenation, keep the unfinished rest.
    QByteArrayView in = bytes;
    if (!pending.isEmpty()) {
        pending.append(bytes);
        in = pending;
    }
    qsizetype pos = 0;
    while (pos < in.size()) {
        const qsizetype eol = in.indexOf("\r\n", pos);
        if (eol < 0)
            break;
        const QByteArrayView line = in.sliced(pos, eol - pos);
        if (line.startsWith("MSG ")) {
            // MSG <subject> <sid> [reply-to] <#bytes>
            const qsizetype space = line.lastIndexOf(' ');
            bool good = false;
            const qsizetype n = line.sliced(space + 1).toLongLong(&good);
            if (!good || n < 0) {
                noteError(QStringLiteral("bad NATS line: ") + QString::fromUtf8(line));
                m_counters.errors.fetch_add(1, std::memory_order_relaxed);
                pos = in.size();
                break;
            }
            if (in.size() - (eol + 2) < n + 2)
                break; // the payload is not all here yet
            const QByteArrayView payload = in.sliced(eol + 2, n);
            pos = eol + 2 + n + 2;
            if (s)
                deliver(*s, payload, now);
            continue;
        }
        pos = eol + 2;
        if (line == "PING") {
            connection->sendText("PONG\r\n");
        } else if (line.startsWith("-ERR")) {
            m_counters.errors.fetch_add(1, std::memory_order_relaxed);
            noteError(QStringLiteral("NATS: ") + QString::fromUtf8(line));
        }
        // INFO, PONG, +OK: nothing to do.
    }
    if (in.data() == pending.data()) {
        pending.remove(0, pos);
    } else if (pos < in.size()) {
        pending = in.sliced(pos).toByteArray();
    }
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

void LoadWorker::compose(Publisher &p, int room, qint64 stampNs) {
    const int payload = qMax(m_config.payload, MinPayload);
    const QByteArray &head = m_heads[room];
    const bool nats = m_config.protocol == Protocol::Nats;
    m_message.resize(0);
    m_message.append(head);
    if (nats)
        m_message.append(QByteArray::number(payload)).append("\r\n");
    const qsizetype at = m_message.size();
    m_message.resize(at + payload);
    stamp(m_message.data() + at, payload, stampNs, p.id, p.roomSequence[size_t(room)]++);
    if (nats)
        m_message.append("\r\n");
}

QList<int> LoadWorker::unreadyRooms() const {
    std::vector<bool> unready(size_t(m_config.roomCount()), false);
    for (const Subscriber &s : m_subscribers) {
        if (!s.ready)
            unready[size_t(s.room)] = true;
    }
    QList<int> rooms;
    for (int room = 0; room < m_config.roomCount(); ++room) {
        if (unready[size_t(room)])
            rooms.append(room);
    }
    return rooms;
}

void LoadWorker::sendProbe(int n, const QList<int> &rooms) {
    if (m_publishers.empty())
        return;
    Publisher &p = m_publishers.front();
    const QByteArray body = 'P' + QByteArray::number(n);
    QByteArray all;
    for (int room : rooms) {
        const QByteArray probe =
            m_config.protocol == Protocol::Nats
                ? natsHead(m_config.roomName(room), int(body.size())) + body + "\r\n"
                : m_heads[room] + body;
        if (p.http) {
            p.http->appendPost(all, probe);
            ++p.probesInFlight;
        } else if (p.ws) {
            p.ws->appendFrame(all, probe);
        }
    }
    if (p.http)
        p.http->write(all);
    else if (p.ws)
        p.ws->write(all);
}

void LoadWorker::preparePhase(int messages, double ratePerPublisher, quint64 expectedDeliveries) {
    m_messages = messages;
    m_rate = ratePerPublisher;
    m_expected = expectedDeliveries;
    m_t0 = 0;
    for (Publisher &p : m_publishers) {
        p.sent = 0;
        p.answered = 0;
        p.done = false;
    }
    m_latencies.clear();
    // This worker's share of the deliveries, with room for an uneven split.
    m_latencies.reserve(size_t(double(expectedDeliveries) * 0.6) + 1024);
    m_counters.delivered.store(0);
    m_counters.outOfOrder.store(0);
    m_counters.errors.store(0);
    m_counters.published.store(0);
    m_counters.publishersDone.store(0);
    m_counters.lastDeliveryNs.store(0);
    m_counters.publishDoneNs.store(0);
}

void LoadWorker::start(qint64 t0) {
    m_t0 = t0;
    if (m_rate <= 0) {
        for (Publisher &p : m_publishers)
            pump(p);
        return;
    }
    if (!m_timer) {
        // One single-shot timer for all of this worker's publishers, set for the next message
        // due (Qt timers count whole milliseconds: a message leaves up to ~1 ms after its
        // scheduled time, and that shows in the latency).
        m_timer = new QTimer(this);
        m_timer->setTimerType(Qt::PreciseTimer);
        m_timer->setSingleShot(true);
        connect(m_timer, &QTimer::timeout, this, &LoadWorker::tick);
    }
    tick();
}

void LoadWorker::sendBatch(Publisher &p, int count, bool paced) {
    m_batch.resize(0);
    const qint64 now = nowNs();
    for (int i = 0; i < count; ++i) {
        const int k = p.sent++;
        compose(p, m_config.roomOfMessage(p.id, k), paced ? dueNs(p, k) : now);
        if (p.http)
            p.http->appendPost(m_batch, m_message);
        else
            p.ws->appendFrame(m_batch, m_message);
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
    if (m_rate <= 0) {
        if (p.http) {
            const int room = m_config.httpWindow - (p.sent - p.answered);
            if (room > 0 && p.sent < m_messages)
                sendBatch(p, qMin(room, m_messages - p.sent), false);
        } else if (p.ws) {
            while (p.sent < m_messages && p.ws->bytesToWrite() < LowWater)
                sendBatch(p, qMin(Batch, m_messages - p.sent), false);
        }
    }
    checkDone(p);
}

qint64 LoadWorker::dueNs(const Publisher &p, int k) const {
    // Message k of publisher p is due at t0 + (k + p / P) / rate: the publishers' sends are
    // spread over each interval instead of all falling on the same instant.
    return m_t0 + qint64((double(k) + double(p.id) / qMax(1, m_config.publishers)) * 1e9 / m_rate);
}

void LoadWorker::tick() {
    const qint64 now = nowNs();
    qint64 next = std::numeric_limits<qint64>::max();
    for (Publisher &p : m_publishers) {
        int due = p.sent;
        while (due < m_messages && dueNs(p, due) <= now)
            ++due;
        if (due > p.sent)
            sendBatch(p, due - p.sent, true);
        checkDone(p);
        if (p.sent < m_messages)
            next = qMin(next, dueNs(p, p.sent));
    }
    if (next != std::numeric_limits<qint64>::max())
        m_timer->start(int(qMax<qint64>(0, (next - nowNs() + 999'999) / 1'000'000)));
}

void LoadWorker::checkDone(Publisher &p) {
    if (p.done || p.sent < m_messages)
        return;
    if (p.http ? p.answered < m_messages : (p.ws && p.ws->bytesToWrite() > 0))
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
    }
    delete m_timer;
    m_timer = nullptr;
    m_subscribers.clear();
    m_publishers.clear();
    m_pending.clear();
    m_nextPending = 0;
    m_inFlight = 0;
}

} // namespace bench

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "httpconnection.h"
#include "wsconnection.h"

#include <QByteArray>
#include <QHostAddress>
#include <QMutex>
#include <QObject>
#include <QUrl>

#include <atomic>
#include <memory>
#include <vector>

class QTimer;

namespace bench {

// What the clients speak: LHTTP (lhttpd-qt and the reference floor) or the NATS client
// protocol inside WebSocket messages (nats-server's WebSocket listener).
enum class Protocol { Lhttp, Nats };

// What the load sends, fixed for one run.
struct LoadConfig {
    QUrl subscribeUrl; // ws://
    QUrl publishUrl;   // ws:// (an LHTTP publish message) or http:// (POST /publish)
    QByteArray channel = "bench";
    Protocol protocol = Protocol::Lhttp;
    // 0: every subscriber on `channel`. Otherwise subscriber i joins room `channel.<i % rooms>`
    // (its URL also carries `?room=<name>` for the reference floor), and message k of
    // publisher p goes to room (p + k * publishers) % rooms: round-robin, every room the same
    // share, each publisher's messages to one room numbered in order.
    int rooms = 0;
    int payload = 64;            // body bytes of each message
    int messages = 0;            // per publisher
    double ratePerPublisher = 0; // messages/s; 0: as fast as the connection takes them
    int publishers = 0;          // in the whole run (subscribers check order per publisher)
    int httpWindow = 32;         // requests in flight per HTTP publisher (fast mode)
    int connectWindow = 32;      // handshakes in flight per worker
    bool subscribe = true;       // subscribers send `subscribe` once open (idle runs may not)

    bool publishesOverHttp() const { return publishUrl.scheme().startsWith(u"http"); }
    int roomCount() const { return qMax(1, rooms); }
    QByteArray roomName(int room) const {
        return rooms > 0 ? channel + '.' + QByteArray::number(room) : channel;
    }
    int roomOfSubscriber(int subscriber) const { return rooms > 0 ? subscriber % rooms : 0; }
    int roomOfMessage(int publisher, int k) const {
        return rooms > 0 ? int((qint64(publisher) + qint64(k) * qMax(1, publishers)) % rooms) : 0;
    }
};

// Counters a worker thread updates and the controlling thread reads while the run goes on.
struct alignas(64) WorkerCounters {
    std::atomic<int> opened{0};
    std::atomic<int> failed{0};
    std::atomic<int> closed{0}; // open connections the server closed
    std::atomic<int> ready{0};  // subscribers that have received a probe
    std::atomic<int> publishersDone{0};
    std::atomic<quint64> delivered{0};
    std::atomic<quint64> nonData{0}; // messages that are not data (subscribe echoes, probes)
    std::atomic<quint64> errors{0};  // error replies, HTTP statuses other than 200
    std::atomic<quint64> outOfOrder{0};
    std::atomic<quint64> published{0};
    std::atomic<qint64> lastDeliveryNs{0};
    std::atomic<qint64> publishDoneNs{0};
};

// One thread's share of the connections: subscribers that count and time what they receive,
// publishers that stamp and send. Lives in its own QThread; every method but the
// constructor, counters() and the take*() calls made once the run is over runs there
// (called through QMetaObject::invokeMethod).
class LoadWorker : public QObject, public WsConnection::Handler, public HttpConnection::Handler {
    Q_OBJECT
public:
    struct Endpoint {
        int id;              // subscriber or publisher number in the whole run
        QHostAddress source; // null: let the system choose
    };

    explicit LoadWorker(const LoadConfig &config, QObject *parent = nullptr);
    ~LoadWorker() override;

    WorkerCounters &counters() { return m_counters; }

    void openSubscribers(const QList<Endpoint> &endpoints);
    // Handshakes in flight from now on (idle --burst widens it after the warm-up).
    void setConnectWindow(int window) { m_config.connectWindow = qMax(1, window); }
    void openPublishers(const QList<Endpoint> &endpoints);
    // Publishes probe number `n` to `rooms` through this worker's first publisher.
    void sendProbe(int n, const QList<int> &rooms);
    // The rooms where one of this worker's subscribers has not received a probe yet.
    QList<int> unreadyRooms() const;
    // Makes ready for a measured phase of `messages` per publisher at `ratePerPublisher`
    // (0: as fast as possible): the phase counters are zeroed. Called (blocking) before
    // start(), so the controlling thread never reads the last phase's counters.
    void preparePhase(int messages, double ratePerPublisher, quint64 expectedDeliveries);
    // Starts every publisher; rates are counted from `t0` (nowNs()). Paced messages carry
    // their scheduled send time, not the moment they were written: a client that falls
    // behind shows as latency (no coordinated omission).
    void start(qint64 t0);
    void closeAll();

    std::vector<qint64> takeLatencies() { return std::move(m_latencies); }
    QStringList takeErrors();

    // The message a publisher sends: LHTTP head plus a body stamped by stamp().
    static QByteArray messageHead(const QByteArray &channel);
    // The same in NATS: `PUB <subject> <bytes>\r\n` (the body and `\r\n` follow).
    static QByteArray natsHead(const QByteArray &subject, int bytes);
    // Writes the body of a data message: 'T', send time, publisher, sequence, padding.
    static void stamp(char *body, int payload, qint64 sentNs, int publisher, quint32 sequence);
    static constexpr int MinPayload = 31;

    void wsOpened(WsConnection *connection) override;
    void wsFailed(WsConnection *connection, const QString &why) override;
    void wsMessage(WsConnection *connection, QByteArrayView message, qint64 now) override;
    void wsClosed(WsConnection *connection) override;
    void httpOpened(HttpConnection *connection) override;
    void httpFailed(HttpConnection *connection, const QString &why) override;
    void httpResponse(HttpConnection *connection, int status, QByteArrayView body,
                      qint64 now) override;
    void httpClosed(HttpConnection *connection) override;

private:
    enum Role { SubscriberRole, PublisherRole };
    struct Subscriber {
        std::unique_ptr<WsConnection> connection;
        std::vector<quint32> nextSequence; // per publisher (to this subscriber's room)
        QByteArray natsIn;                 // NATS: protocol bytes not parsed yet
        int room = 0;
        bool ready = false;
    };
    struct Publisher {
        int id = 0;
        std::unique_ptr<WsConnection> ws;
        std::unique_ptr<HttpConnection> http;
        QByteArray natsIn;                 // NATS: protocol bytes not parsed yet
        std::vector<quint32> roomSequence; // next sequence number per room
        int sent = 0;
        int answered = 0; // HTTP responses to data messages
        int probesInFlight = 0;
        bool done = false;
    };
    struct Pending {
        Role role;
        int index;
        QHostAddress source;
    };

    void openNext();
    void connectionSettled();
    void noteError(const QString &error);
    void pump(Publisher &p);
    void tick();
    qint64 dueNs(const Publisher &p, int k) const;
    void sendBatch(Publisher &p, int count, bool paced);
    void checkDone(Publisher &p);
    // One message's text (head, stamped body, NATS tail) into m_message.
    void compose(Publisher &p, int room, qint64 stampNs);
    // A data or probe body reached a subscriber.
    void deliver(Subscriber &s, QByteArrayView body, qint64 now);
    // NATS: parses protocol lines from `bytes` (after what `pending` holds), answers PING,
    // hands each MSG payload to deliver() when `s` is a subscriber.
    void readNats(WsConnection *connection, QByteArray &pending, QByteArrayView bytes,
                  Subscriber *s, qint64 now);

    LoadConfig m_config;
    WorkerCounters m_counters;
    std::vector<Subscriber> m_subscribers;
    std::vector<Publisher> m_publishers;
    QList<Pending> m_pending;
    qsizetype m_nextPending = 0;
    int m_inFlight = 0;
    QList<QByteArray> m_heads; // per room: the LHTTP head, or NATS `PUB room ` (length follows)
    QByteArray m_message;
    QByteArray m_batch;
    QTimer *m_timer = nullptr; // paced phases: one ticker for all of this worker's publishers
    int m_messages = 0;        // per publisher, this phase
    double m_rate = 0;         // per publisher, this phase; 0: as fast as possible
    quint64 m_expected = 0;    // deliveries this phase, all workers (to size m_latencies)
    std::vector<qint64> m_latencies;
    qint64 m_t0 = 0;
    QMutex m_errorsLock;
    QStringList m_errors; // the first few, for the report
};

} // namespace bench

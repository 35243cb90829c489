// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "message.h"
#include "messagebuilder.h"

#include <QByteArray>
#include <QByteArrayList>
#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QMetaType>
#include <QNetworkRequest>
#include <QObject>
#include <QPair>
#include <QSslConfiguration>
#include <QString>
#include <QTimer>
#include <QUrl>

class QWebSocket;

namespace lhttp {

// An LHTTP client for C++/Qt applications, over one QWebSocket.
//
// Messages arrive as lhttp::Message values: a received Message keeps its own (implicitly
// shared) copy of the bytes its views point into, so it can be copied, queued and kept after
// the signal returns. `LHTTP/1.0 error` replies from the server come through errorReceived()
// instead of messageReceived().
//
// The client remembers which channels it subscribed to (through subscribe(), or a `subscribe`
// header in anything it sent) and, when the connection drops, reconnects with exponential
// backoff and jitter and subscribes to them again. Channels the server refused stay in the
// set until unsubscribed: the client cannot tell which message an error answers.
class Client : public QObject {
    Q_OBJECT
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
    Q_PROPERTY(QUrl url READ url)
    Q_PROPERTY(bool autoReconnect READ autoReconnect WRITE setAutoReconnect)
    Q_PROPERTY(int minReconnectDelay READ minReconnectDelay)
    Q_PROPERTY(int maxReconnectDelay READ maxReconnectDelay)
    Q_PROPERTY(QByteArrayList channels READ channels)
public:
    enum class State {
        Disconnected, // not connected and not trying to (initially, after close())
        Connecting,   // WebSocket handshake in progress
        Connected,    // ready: sends go out
        Closing,      // close() was called; the close frame is on its way
        Reconnecting, // the connection failed or dropped; waiting for the next attempt
    };
    Q_ENUM(State)

    static constexpr int DefaultMinReconnectDelayMs = 500;
    static constexpr int DefaultMaxReconnectDelayMs = 30'000;
    static constexpr int DefaultConnectTimeoutMs = 10'000;
    // A connection that lived this long resets the backoff; a server that accepts and then
    // drops every connection at once is retried with growing delays instead of in a loop.
    static constexpr int StableConnectionMs = 5'000;

    explicit Client(QObject *parent = nullptr);
    ~Client() override;

    // Connects (and keeps reconnecting, unless autoReconnect is off). A request carries extra
    // handshake headers (Authorization, Origin). Abandons any current connection.
    void open(const QUrl &url);
    void open(const QNetworkRequest &request);
    // Closes gracefully and stops reconnecting; the subscribed channels are kept for the next
    // open().
    void close();

    State state() const { return m_state; }
    bool isConnected() const { return m_state == State::Connected; }
    QUrl url() const { return m_request.url(); }
    // Why the last connection attempt, connection or local call failed.
    QString errorString() const { return m_errorString; }

    bool autoReconnect() const { return m_autoReconnect; }
    void setAutoReconnect(bool on);
    int minReconnectDelay() const { return m_minDelayMs; }
    int maxReconnectDelay() const { return m_maxDelayMs; }
    // Attempt n (from 0) waits a random time in [max(min, d/2), d] with d = min(max, min·2^n).
    void setReconnectDelays(int minMs, int maxMs);
    void setConnectTimeout(int ms) { m_connectTimeoutMs = ms; }

    // TLS for wss:// URLs, as QWebSocket::setSslConfiguration(): whom to trust and what to
    // verify, e.g. a private CA (setCaCertificates(QSslConfiguration::systemCaCertificates() +
    // mine)) or no verification (setPeerVerifyMode(QSslSocket::VerifyNone)). Used from the next
    // connection attempt on; a null configuration means QSslConfiguration::defaultConfiguration().
    QSslConfiguration sslConfiguration() const;
    void setSslConfiguration(const QSslConfiguration &configuration);

    // The channels that are subscribed again after a reconnect, in subscription order.
    QByteArrayList channels() const { return m_channels; }

    // Sends `LHTTP/1.0 <command>\r\nsubscribe:<channels>\r\n\r\n` and remembers the channels.
    // While not connected the channels are only remembered and go out on connect. Returns
    // false (and sends nothing) when a channel name is invalid.
    bool subscribe(const QByteArrayList &channels,
                   const QByteArray &command = QByteArrayLiteral("subscribe"));
    // Forgets the channels and, when connected, sends an `unsubscribe` message.
    bool unsubscribe(const QByteArrayList &channels,
                     const QByteArray &command = QByteArrayLiteral("unsubscribe"));
    // Publishes like the original SDKs: `publish:<channels>` first, then `headers`, then the
    // body. Returns false when not connected or when the input is invalid (errorString()).
    bool publish(const QByteArrayList &channels, const QByteArray &command,
                 const HeaderPairs &headers = {}, const QByteArray &body = {});
    bool publish(const QByteArray &channel, const QByteArray &command,
                 const QByteArray &body = {}) {
        return publish(QByteArrayList{channel}, command, {}, body);
    }
    bool send(const Message &message);
    // Sends bytes as they are, even if they are not valid LHTTP (for tools and tests).
    bool sendRaw(const QByteArray &bytes);
    // A WebSocket ping. The server answers pings in order with the messages before it, so
    // pong() also means every earlier message has been handled and any error reply to it has
    // already arrived (replies that wait for an upstream request excepted).
    bool ping(const QByteArray &payload = {});

Q_SIGNALS:
    void stateChanged(lhttp::Client::State state);
    void connected();
    // The connection was lost or closed (after connected()). A reconnect may follow.
    void disconnected();
    // A connection attempt failed (refused, handshake rejected, timed out).
    void connectionFailed(const QString &errorString);
    // Emitted before waiting `delayMs` for attempt number `attempt` (from 1).
    void reconnectScheduled(int delayMs, int attempt);
    void messageReceived(const lhttp::Message &message);
    // An `LHTTP/1.0 error` reply (a `code` header and no `publish` header).
    void errorReceived(int code, const QByteArray &reason);
    // Something that is not an LHTTP message arrived.
    void invalidMessageReceived(const QByteArray &bytes, const QByteArray &reason);
    void pong(quint64 elapsedMs, const QByteArray &payload);

private:
    void connectNow();
    void detachSocket(bool graceful);
    void onSocketConnected();
    void onSocketGone();
    void onIncoming(const QByteArray &bytes);
    void scheduleReconnect();
    void setState(State state);
    bool sendBytes(const QByteArray &bytes);
    void track(const QByteArray &bytes);
    void remember(const QByteArrayList &channels, const QByteArray &command);
    void forget(const QByteArrayList &channels);
    void resubscribe();
    bool fail(const QString &why);

    QWebSocket *m_socket = nullptr;
    QNetworkRequest m_request;
    State m_state = State::Disconnected;
    QString m_errorString;
    bool m_autoReconnect = true;
    int m_minDelayMs = DefaultMinReconnectDelayMs;
    int m_maxDelayMs = DefaultMaxReconnectDelayMs;
    int m_connectTimeoutMs = DefaultConnectTimeoutMs;
    QSslConfiguration m_sslConfiguration; // null: Qt's default
    int m_attempt = 0;
    bool m_timedOut = false;
    QTimer m_reconnectTimer;
    QTimer m_connectTimer; // bounds one handshake, and the close handshake
    QElapsedTimer m_connectedFor;
    QByteArrayList m_channels;
    QHash<QByteArray, QByteArray> m_channelCommand; // the command each channel was joined with
};

} // namespace lhttp

Q_DECLARE_METATYPE(lhttp::Message)

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "recoverrun.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <memory>
#include <vector>

namespace {

// The value of header `name` in an LHTTP message (the headers only); empty when absent.
QByteArray headerValue(const QByteArray &m, QByteArrayView name) {
    qsizetype line = m.indexOf("\r\n");
    while (line >= 0) {
        line += 2;
        const qsizetype end = m.indexOf("\r\n", line);
        const QByteArrayView text =
            end < 0 ? QByteArrayView(m).sliced(line) : QByteArrayView(m).sliced(line, end - line);
        if (text.isEmpty())
            return {};
        if (text.startsWith(name) && text.size() > name.size() && text[name.size()] == ':')
            return text.sliced(name.size() + 1).toByteArray();
        line = end;
    }
    return {};
}

class Client : public QObject {
public:
    Client(const QUrl &url, QByteArray room)
        : m_url(url)
        , m_room(std::move(room)) {
        m_socket.setParent(this);
        connect(&m_socket, &QWebSocket::connected, this, [this] { sendSubscribe(); });
        connect(&m_socket, &QWebSocket::textMessageReceived, this,
                [this](const QString &text) { receive(text.toUtf8()); });
        connect(&m_socket, &QWebSocket::disconnected, this, [this] {
            m_replied = false;
            if (m_retrying)
                QTimer::singleShot(int(QRandomGenerator::global()->bounded(100, 300)), this,
                                   [this] { open(); });
        });
    }
    void open() { m_socket.open(m_url); }
    void setRetrying(bool on) { m_retrying = on; }
    void close() {
        m_retrying = false;
        m_socket.abort();
    }

    quint64 received = 0; // messages of the room, counted once each
    bool replied() const { return m_replied; }
    int repliesTrue = 0;
    int repliesFalse = 0;
    int retriedRequests = 0; // error replies (503: history not read yet) answered by asking again
    bool gap = false;
    qint64 liveAt = -1; // ms on the run's clock when it had everything after the restart
    const QElapsedTimer *clock = nullptr;
    quint64 expected = 0;

private:
    void sendSubscribe() {
        const QByteArray recover =
            m_epoch.isEmpty() ? m_room : m_room + ' ' + QByteArray::number(m_last) + ' ' + m_epoch;
        m_socket.sendTextMessage(QString::fromUtf8("LHTTP/1.0 chat\r\nsubscribe:" + m_room +
                                                   "\r\nrecover:" + recover + "\r\n\r\n"));
    }
    void receive(const QByteArray &m) {
        const QByteArray rec = headerValue(m, "recovered");
        if (!rec.isEmpty()) {
            const QList<QByteArray> f = rec.split(' ');
            m_replied = true;
            (f.value(1) == "true" ? repliesTrue : repliesFalse)++;
            if (m_epoch.isEmpty() || f.value(1) != "true") {
                m_epoch = f.value(4);
                m_last = f.value(3).toULongLong();
            }
            check();
            return;
        }
        if (m.startsWith("LHTTP/1.0 error\r\n")) {
            // 503 while the node reads the cluster's history: nothing was applied, ask again.
            ++retriedRequests;
            QTimer::singleShot(int(QRandomGenerator::global()->bounded(100, 300)), this, [this] {
                if (m_socket.state() == QAbstractSocket::ConnectedState)
                    sendSubscribe();
            });
            return;
        }
        const QByteArray pos = headerValue(m, "position");
        if (pos.isEmpty())
            return;
        const quint64 offset = pos.split(' ').value(1).toULongLong();
        if (offset <= m_last) {
            gap = true; // a duplicate
            return;
        }
        m_last = offset;
        ++received;
        check();
    }
    void check() {
        if (liveAt < 0 && m_replied && expected > 0 && received >= expected && clock)
            liveAt = clock->elapsed();
    }

    QUrl m_url;
    QByteArray m_room;
    QWebSocket m_socket;
    QByteArray m_epoch;
    quint64 m_last = 0;
    bool m_replied = false;
    bool m_retrying = false;
};

bool waitFor(const std::function<bool()> &done, int timeoutMs) {
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > timeoutMs)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    }
    return true;
}

bool runCommand(const QString &command, QString *error) {
    QProcess p;
    p.setProcessChannelMode(QProcess::ForwardedChannels);
    p.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command});
    if (!p.waitForFinished(120'000) || p.exitStatus() != QProcess::NormalExit ||
        p.exitCode() != 0) {
        *error = QStringLiteral("'%1' failed (exit %2)").arg(command).arg(p.exitCode());
        return false;
    }
    return true;
}

qint64 peakRss(const QString &pidFile) {
    QFile f(pidFile);
    if (pidFile.isEmpty() || !f.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray pid = f.readAll().trimmed();
    QFile status(QStringLiteral("/proc/%1/status").arg(QString::fromLatin1(pid)));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    }
    return 0;
}

} // namespace

RecoverResult runRecover(const RecoverOptions &o) {
    RecoverResult r;
    r.clients = o.clients;
    QElapsedTimer clock;
    clock.start();
    std::vector<std::unique_ptr<Client>> clients;
    clients.reserve(size_t(o.clients));
    for (int i = 0; i < o.clients; ++i) {
        clients.push_back(
            std::make_unique<Client>(o.url, o.channel + '.' + QByteArray::number(i % o.rooms)));
        clients.back()->clock = &clock;
    }
    // Connected in windows of 64 handshakes, as a steady population would be.
    for (int i = 0; i < o.clients; i += 64) {
        for (int k = i; k < std::min(o.clients, i + 64); ++k)
            clients[size_t(k)]->open();
        if (!waitFor(
                [&] {
                    return std::all_of(clients.begin() + i,
                                       clients.begin() + std::min(o.clients, i + 64),
                                       [](const auto &c) { return c->replied(); });
                },
                30'000)) {
            r.error = QStringLiteral("clients %1.. did not subscribe").arg(i);
            return r;
        }
    }
    QWebSocket publisher;
    auto publishRound = [&](int count, QString *error) {
        if (publisher.state() != QAbstractSocket::ConnectedState) {
            publisher.open(o.publishUrl);
            if (!waitFor([&] { return publisher.state() == QAbstractSocket::ConnectedState; },
                         10'000)) {
                *error =
                    QStringLiteral("publisher cannot connect to %1").arg(o.publishUrl.toString());
                return false;
            }
        }
        for (int m = 0; m < count; ++m) {
            for (int room = 0; room < o.rooms; ++room) {
                const QByteArray ch = o.channel + '.' + QByteArray::number(room);
                publisher.sendTextMessage(QString::fromUtf8("LHTTP/1.0 chat\r\npublish:" + ch +
                                                            "\r\n\r\nm" + QByteArray::number(m)));
            }
        }
        publisher.flush();
        return true;
    };
    for (auto &c : clients)
        c->expected = quint64(o.before);
    if (!publishRound(o.before, &r.error))
        return r;
    if (!waitFor(
            [&] {
                return std::all_of(clients.begin(), clients.end(),
                                   [&](const auto &c) { return c->received >= quint64(o.before); });
            },
            60'000)) {
        r.error = QStringLiteral("not every client got the first messages");
        return r;
    }
    for (auto &c : clients) {
        c->setRetrying(true);
        c->liveAt = -1;
        c->repliesTrue = c->repliesFalse = 0;
        c->expected = quint64(o.before + o.during);
    }
    if (!runCommand(o.killCommand, &r.error))
        return r;
    if (o.during > 0 && !publishRound(o.during, &r.error))
        return r;
    QCoreApplication::processEvents();
    if (!runCommand(o.startCommand, &r.error))
        return r;
    const qint64 started = clock.elapsed();
    waitFor(
        [&] {
            return std::all_of(clients.begin(), clients.end(),
                               [](const auto &c) { return c->liveAt >= 0; });
        },
        o.timeoutSeconds * 1000);
    QList<double> times;
    for (const auto &c : clients) {
        if (c->liveAt >= 0) {
            ++r.live;
            times.append(double(std::max<qint64>(0, c->liveAt - started)) / 1000.0);
        }
        r.recovered += c->repliesTrue;
        r.notRecovered += c->repliesFalse;
        r.gaps += c->gap ? 1 : 0;
        r.retried += c->retriedRequests;
    }
    std::sort(times.begin(), times.end());
    if (!times.isEmpty()) {
        r.allLiveSeconds = times.last();
        r.p50Seconds = times.at(times.size() / 2);
        r.p99Seconds = times.at(std::min(times.size() - 1, qsizetype(times.size() * 0.99)));
    }
    r.peakRssKiB = peakRss(o.pidFile);
    for (auto &c : clients)
        c->close();
    r.ok = r.live == r.clients && r.gaps == 0;
    return r;
}

QString RecoverResult::summary() const {
    if (!error.isEmpty())
        return QStringLiteral("recover: error: %1").arg(error);
    return QStringLiteral("recover: %1 clients, %2 live with every message after the restart; "
                          "recovered %3, not recovered %4, with a gap or duplicate %5, asked "
                          "again after an error %6; all live %7 s after the node was back (p50 "
                          "%8 s, p99 %9 s); restarted node's peak RSS %10 MiB")
        .arg(clients)
        .arg(live)
        .arg(recovered)
        .arg(notRecovered)
        .arg(gaps)
        .arg(retried)
        .arg(allLiveSeconds, 0, 'f', 2)
        .arg(p50Seconds, 0, 'f', 2)
        .arg(p99Seconds, 0, 'f', 2)
        .arg(double(peakRssKiB) / 1024.0, 0, 'f', 1);
}

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// admin-loadgen: the load for tst_adminload, in a process of its own so that it does not share
// the console's event loop. N subscriber connections spread over C channels, then one
// publisher that keeps its socket full (publishes as fast as the node takes them) for D seconds,
// or, given RATE, publishes RATE messages per second (each one reaches CLIENTS / CHANNELS
// subscribers) as long as the node takes them.
//
//   admin-loadgen ws://127.0.0.1:PORT/ CLIENTS CHANNELS SECONDS [RATE]
//
// Prints "ready" once every client is subscribed, a line of rates per second, and a summary.

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <memory>
#include <vector>

namespace {

// Keep this much queued in the publisher's socket: enough to never leave the node idle, little
// enough that the publisher follows the node's pace instead of buffering without bound.
constexpr qint64 PublisherHighWater = 256 * 1024;
// Connections opened per event-loop turn while ramping up (a burst of 1,000 SYNs at once can
// overflow the listen backlog).
constexpr int ConnectBurst = 50;

} // namespace

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() != 5 && args.size() != 6) {
        std::fprintf(stderr, "usage: admin-loadgen URL CLIENTS CHANNELS SECONDS [RATE]\n");
        return 2;
    }
    const QUrl url(args[1]);
    const int clients = args[2].toInt();
    const int channels = std::max(1, args[3].toInt());
    const int seconds = args[4].toInt();
    const qint64 rate = args.size() > 5 ? std::max(0, args[5].toInt()) : 0; // 0: full speed

    std::vector<std::unique_ptr<QWebSocket>> subscribers;
    quint64 delivered = 0;
    int subscribed = 0;
    QWebSocket publisher;
    quint64 published = 0;
    bool publishing = false;
    QElapsedTimer publishClock; // since publishing started, for RATE
    quint64 forgiven = 0;       // publishes RATE asked for that the node could not take

    QTimer pump; // the publisher's loop: fill the socket up to the high-water mark
    pump.setInterval(1);
    pump.setTimerType(Qt::PreciseTimer);
    QObject::connect(&pump, &QTimer::timeout, [&] {
        // With a rate, publish what is due by now (no catching up on more than 100 ms).
        quint64 due = std::numeric_limits<quint64>::max();
        if (rate > 0) {
            due = quint64(publishClock.elapsed() * rate / 1000) - forgiven;
            const quint64 slack = quint64(std::max<qint64>(1, rate / 10));
            if (due > published + slack) { // the node fell behind: do not make it up later
                forgiven += due - published - slack;
                due = published + slack;
            }
        }
        while (published < due && publisher.bytesToWrite() < PublisherHighWater) {
            const QByteArray channel = "load." + QByteArray::number(published % quint64(channels));
            // A chat-like body of about 64 bytes, different every time (the console's log shows
            // it).
            const QByteArray body = R"({"from":"loadgen","seq":)" + QByteArray::number(published) +
                                    R"(,"text":"hello, channel )" + channel + "\"}";
            publisher.sendTextMessage(
                QString::fromLatin1("LHTTP/1.0 chat\r\npublish:" + channel + "\r\n\r\n" + body));
            ++published;
        }
    });
    auto startPublishing = [&] {
        std::printf("ready\n");
        std::fflush(stdout);
        publishing = true;
        publishClock.start();
        pump.start();
        QTimer::singleShot(seconds * 1000, &app, [&] {
            pump.stop();
            publishing = false;
            std::printf("done published=%llu delivered=%llu\n", qulonglong(published),
                        qulonglong(delivered));
            std::fflush(stdout);
            QCoreApplication::quit();
        });
    };
    QObject::connect(&publisher, &QWebSocket::connected, [&] {
        if (subscribed == clients)
            startPublishing();
    });

    int opened = 0;
    QTimer ramp;
    ramp.setInterval(5);
    QObject::connect(&ramp, &QTimer::timeout, [&] {
        for (int i = 0; i < ConnectBurst && opened < clients; ++i, ++opened) {
            auto s = std::make_unique<QWebSocket>();
            QWebSocket *raw = s.get();
            const QByteArray channel = "load." + QByteArray::number(opened % channels);
            QObject::connect(raw, &QWebSocket::connected, [&, raw, channel] {
                raw->sendTextMessage(
                    QString::fromLatin1("LHTTP/1.0 chat\r\nsubscribe:" + channel + "\r\n\r\n"));
                if (++subscribed == clients) {
                    if (publisher.state() == QAbstractSocket::ConnectedState)
                        startPublishing();
                }
            });
            QObject::connect(raw, &QWebSocket::textMessageReceived,
                             [&](const QString &) { ++delivered; });
            raw->open(url);
            subscribers.push_back(std::move(s));
        }
        if (opened == clients) {
            ramp.stop();
            publisher.open(url);
        }
    });
    ramp.start();

    QElapsedTimer clock;
    clock.start();
    quint64 lastPublished = 0, lastDelivered = 0;
    QTimer report;
    report.setInterval(1000);
    QObject::connect(&report, &QTimer::timeout, [&] {
        if (!publishing)
            return;
        std::printf("rate published/s=%llu delivered/s=%llu\n",
                    qulonglong(published - lastPublished), qulonglong(delivered - lastDelivered));
        std::fflush(stdout);
        lastPublished = published;
        lastDelivered = delivered;
    });
    report.start();
    return app.exec();
}

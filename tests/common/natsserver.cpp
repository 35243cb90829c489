// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "natsserver.h"

#include "ports.h"

#include <QEventLoop>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QStandardPaths>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>

namespace {

constexpr int StopTimeoutMs = 5'000;

bool portAnswers(quint16 port) {
    QTcpSocket probe;
    probe.connectToHost(QHostAddress::LocalHost, port);
    return probe.waitForConnected(100);
}

} // namespace

NatsServer::NatsServer()
    : m_port(testports::freePort())
    , m_monitorPort(testports::freePort()) {
    while (m_monitorPort == m_port)
        m_monitorPort = testports::freePort();
}

NatsServer::~NatsServer() {
    stop();
}

QString NatsServer::binary() {
    const QString env = qEnvironmentVariable("NATS_SERVER_BIN");
    if (!env.isEmpty())
        return env;
    // Debian installs it in /usr/sbin, which is not on every user's PATH.
    QString found = QStandardPaths::findExecutable(QStringLiteral("nats-server"));
    if (found.isEmpty())
        found = QStandardPaths::findExecutable(
            QStringLiteral("nats-server"),
            {QStringLiteral("/usr/sbin"), QStringLiteral("/usr/local/sbin")});
    return found;
}

quint16 NatsServer::clusterPort() {
    while (!m_clusterPort || m_clusterPort == m_port || m_clusterPort == m_monitorPort)
        m_clusterPort = testports::freePort();
    return m_clusterPort;
}

QString NatsServer::url() const {
    return QStringLiteral("nats://127.0.0.1:%1").arg(m_port);
}

QString NatsServer::clusterUrl() {
    return QStringLiteral("nats://127.0.0.1:%1").arg(clusterPort());
}

bool NatsServer::isRunning() const {
    return m_process && m_process->state() == QProcess::Running;
}

bool NatsServer::start(const QStringList &extraArgs, int timeoutMs) {
    stop();
    QStringList args{QStringLiteral("-a"), QStringLiteral("127.0.0.1"),
                     QStringLiteral("-p"), QString::number(m_port),
                     QStringLiteral("-m"), QString::number(m_monitorPort)};
    if (!m_routes.isEmpty()) {
        args << QStringLiteral("-cluster") << clusterUrl() << QStringLiteral("-routes")
             << m_routes.join(QLatin1Char(','));
    }
    if (!m_jetStreamDir.isEmpty())
        args << QStringLiteral("-js") << QStringLiteral("-sd") << m_jetStreamDir;
    args << extraArgs;
    m_process = std::make_unique<QProcess>();
    if (qEnvironmentVariableIsSet("LHTTP_TEST_NATS_LOG"))
        m_process->setProcessChannelMode(QProcess::ForwardedChannels);
    else {
        m_process->setStandardOutputFile(QProcess::nullDevice());
        m_process->setStandardErrorFile(QProcess::nullDevice());
    }
    m_process->start(binary(), args);
    if (!m_process->waitForStarted())
        return false;
    const bool settled = QTest::qWaitFor(
        [this] {
            return !isRunning() ||
                   (portAnswers(m_port) && !monitor(QStringLiteral("/varz"), 1'000).isEmpty());
        },
        timeoutMs);
    return settled && isRunning();
}

void NatsServer::stop() {
    if (!m_process)
        return;
    if (m_process->state() != QProcess::NotRunning) {
        m_process->terminate();
        if (!m_process->waitForFinished(StopTimeoutMs)) {
            m_process->kill();
            m_process->waitForFinished(StopTimeoutMs);
        }
    }
    m_process.reset();
}

void NatsServer::kill() {
    if (!m_process)
        return;
    if (m_process->state() != QProcess::NotRunning) {
        m_process->kill();
        m_process->waitForFinished(StopTimeoutMs);
    }
    m_process.reset();
}

namespace {

// Waits for `reply` up to `timeoutMs`; false on a timeout.
bool waitForReply(QNetworkReply *reply, int timeoutMs) {
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    QObject::connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    timer.start(timeoutMs);
    if (!reply->isFinished())
        loop.exec();
    return reply->isFinished();
}

} // namespace

QByteArray httpGet(const QUrl &url, int timeoutMs) {
    QNetworkAccessManager manager;
    QNetworkReply *reply = manager.get(QNetworkRequest(url));
    QByteArray body;
    if (waitForReply(reply, timeoutMs) && reply->error() == QNetworkReply::NoError) {
        body = reply->readAll();
        if (body.isNull())
            body = QByteArray("");
    }
    reply->abort();
    delete reply;
    return body;
}

int httpPost(const QUrl &url, const QByteArray &body, QByteArray *answer, int timeoutMs) {
    QNetworkAccessManager manager;
    QNetworkRequest request(url);
    request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArray("application/octet-stream"));
    QNetworkReply *reply = manager.post(request, body);
    int status = 0;
    if (waitForReply(reply, timeoutMs)) {
        status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (answer)
            *answer = reply->readAll();
    }
    reply->abort();
    delete reply;
    return status;
}

QJsonObject NatsServer::monitor(const QString &pathAndQuery, int timeoutMs) const {
    const QByteArray body =
        httpGet(QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_monitorPort).arg(pathAndQuery)),
                timeoutMs);
    return QJsonDocument::fromJson(body).object();
}

QStringList NatsServer::subscriptionsOf(const QString &clientName, int *count) const {
    QStringList subjects;
    int found = -1;
    const QJsonObject connz = monitor(QStringLiteral("/connz?subs=1&limit=4096"));
    const QJsonArray connections = connz.value(QStringLiteral("connections")).toArray();
    for (const QJsonValue &v : connections) {
        const QJsonObject c = v.toObject();
        if (c.value(QStringLiteral("name")).toString() != clientName)
            continue;
        found = 0;
        for (const QJsonValue &s : c.value(QStringLiteral("subscriptions_list")).toArray())
            subjects.append(s.toString());
        found = int(subjects.size());
    }
    if (count)
        *count = found;
    return subjects;
}

int NatsServer::routeCount() const {
    return monitor(QStringLiteral("/routez")).value(QStringLiteral("num_routes")).toInt();
}

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "upstream.h"

#include "portlog.h"
#include "serveroptions.h"
#include "session.h"
#include "sessiontable.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>

namespace lhttp {

namespace {

constexpr QByteArrayView UpstreamHeader = "upstream";
constexpr QByteArrayView ReplyHeader = "upstream-reply";

// Headers that steer lhttp itself or a single HTTP hop; never forwarded to the backend.
bool isForwardable(QByteArrayView name) {
    static const QByteArrayView skip[] = {
        "subscribe",
        "publish",
        "unsubscribe",
        "upstream",
        "upstream-reply",
        "multipart",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    };
    for (QByteArrayView s : skip) {
        if (name.compare(s, Qt::CaseInsensitive) == 0)
            return false;
    }
    return true;
}

bool isTrue(QByteArrayView v) {
    return v.compare("true", Qt::CaseInsensitive) == 0 || v == "1" ||
           v.compare("yes", Qt::CaseInsensitive) == 0;
}

} // namespace

Upstream::Upstream(const ServerOptions &options, const SessionTable &sessions)
    : m_options(options)
    , m_sessions(sessions) {}

Upstream::~Upstream() {
    // No answers are handled while the server goes away.
    for (Lane &lane : m_lanes)
        lane.network->disconnect(this);
    for (QNetworkReply *r : m_inFlight.keys())
        r->abort();
}

Upstream::Lane &Upstream::pickLane() {
    Lane *best = nullptr;
    for (Lane &lane : m_lanes) {
        if (!best || lane.inFlight < best->inFlight)
            best = &lane;
    }
    const int maxLanes = std::max(1, m_options.upstreamConnections / ConnectionsPerLane);
    if (best && (best->inFlight < ConnectionsPerLane || int(m_lanes.size()) >= maxLanes))
        return *best;
    auto *network = new QNetworkAccessManager(this);
    network->setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy);
    connect(network, &QNetworkAccessManager::finished, this, &Upstream::finished);
    m_lanes.push_back(Lane{network, 0});
    return m_lanes.back();
}

bool Upstream::isAllowed(const QUrl &url) const {
    const QString s = url.toString(QUrl::FullyEncoded);
    for (const QString &prefix : m_options.upstreamAllow) {
        if (prefix == u"*" || s.startsWith(prefix))
            return true;
    }
    return false;
}

void Upstream::afterMessage(Session &session) {
    const QByteArrayView value = session.header(UpstreamHeader);
    if (value.isNull())
        return;
    const ServerOptions &options = m_options;
    auto refuse = [&](int code, const QByteArray &reason) {
        ++m_stats.refused;
        session.replyError(Error::make(code, "upstream: " + reason));
    };
    const qsizetype space = value.indexOf(' ');
    const QByteArray method = (space < 0 ? value : value.first(space)).toByteArray().toUpper();
    const QByteArray target =
        (space < 0 ? QByteArrayView() : value.sliced(space + 1)).trimmed().toByteArray();
    const QUrl url(QString::fromUtf8(target), QUrl::StrictMode);
    if (method.isEmpty() || target.isEmpty() || !url.isValid() ||
        (url.scheme() != u"http" && url.scheme() != u"https") || url.host().isEmpty()) {
        refuse(Status::BadRequest, "expected '<METHOD> <http(s) URL>'");
        return;
    }
    for (char c : method) {
        if (c < 'A' || c > 'Z') {
            refuse(Status::BadRequest, "invalid method");
            return;
        }
    }
    if (options.upstreamAllow.isEmpty()) {
        refuse(Status::Forbidden, "disabled on this server (no upstream allow-list)");
        return;
    }
    if (!isAllowed(url)) {
        refuse(Status::Forbidden, "URL not in the allow-list");
        return;
    }
    if (inFlight() >= options.maxUpstreamInFlight) {
        refuse(Status::TooManyRequests, "too many requests in flight");
        return;
    }

    QNetworkRequest request(url);
    request.setTransferTimeout(options.upstreamTimeoutMs);
    request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    request.setHeader(QNetworkRequest::UserAgentHeader, QByteArray("lhttp-qt/" LHTTP_VERSION));
    for (const Message::Header &h : session.message().headers()) {
        if (isForwardable(h.name))
            request.setRawHeader(h.name.toByteArray(), h.value.toByteArray());
    }
    request.setRawHeader("X-Lhttp-Command", session.command().toByteArray());
    request.setRawHeader("X-Lhttp-Session", QByteArray::number(session.id()));
    const QByteArray body =
        method == "GET" || method == "HEAD" ? QByteArray() : session.body().toByteArray();
    Lane &lane = pickLane();
    ++lane.inFlight;
    QNetworkReply *reply = lane.network->sendCustomRequest(request, method, body);
    Pending p{session.id(),
              int(&lane - m_lanes.data()),
              value.toByteArray(),
              isTrue(session.header(ReplyHeader)),
              {}};
    p.started.start();
    m_inFlight.insert(reply, p);
    m_inFlightCount.store(int(m_inFlight.size()), std::memory_order_relaxed);
    ++m_stats.requests;
    qCDebug(lcUpstream) << "session" << session.id() << method << url.toDisplayString();
}

Upstream::Stats Upstream::stats() const {
    Stats s;
    s.requests = m_stats.requests.value();
    s.refused = m_stats.refused.value();
    s.failed = m_stats.failed.value();
    s.timedOut = m_stats.timedOut.value();
    for (size_t i = 0; i < Stats::Buckets.size(); ++i)
        s.latencyBuckets[i] = m_stats.latencyBuckets[i].value();
    s.latencyCount = m_stats.latencyCount.value();
    s.latencySum = m_stats.latencySum.load(std::memory_order_relaxed);
    return s;
}

UpstreamStats &UpstreamStats::operator+=(const UpstreamStats &o) {
    requests += o.requests;
    refused += o.refused;
    failed += o.failed;
    timedOut += o.timedOut;
    for (size_t i = 0; i < Buckets.size(); ++i)
        latencyBuckets[i] += o.latencyBuckets[i];
    latencyCount += o.latencyCount;
    latencySum += o.latencySum;
    return *this;
}

void Upstream::record(double seconds) {
    ++m_stats.latencyCount;
    m_stats.latencySum.store(m_stats.latencySum.load(std::memory_order_relaxed) + seconds,
                             std::memory_order_relaxed);
    for (size_t i = 0; i < Stats::Buckets.size(); ++i) {
        if (seconds <= Stats::Buckets[i])
            ++m_stats.latencyBuckets[i];
    }
}

void Upstream::finished(QNetworkReply *reply) {
    reply->deleteLater();
    const auto it = m_inFlight.find(reply);
    if (it == m_inFlight.end())
        return;
    const Pending p = *it;
    m_inFlight.erase(it);
    m_inFlightCount.store(int(m_inFlight.size()), std::memory_order_relaxed);
    --m_lanes[size_t(p.lane)].inFlight;
    record(double(p.started.nsecsElapsed()) / 1e9);

    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QNetworkReply::NetworkError err = reply->error();
    const qsizetype limit = m_options.limits.maxMessageSize;
    Session *session = m_sessions.find(p.sessionId);
    Error error;
    if (err == QNetworkReply::OperationCanceledError || err == QNetworkReply::TimeoutError) {
        ++m_stats.timedOut;
        error = Error::make(Status::GatewayTimeout,
                            "upstream: no answer from " + p.target + " within " +
                                QByteArray::number(m_options.upstreamTimeoutMs) + " ms");
    } else if (status == 0) {
        ++m_stats.failed;
        error = Error::make(Status::BadGateway,
                            "upstream: " + p.target + ": " + reply->errorString().toUtf8());
    } else if ((status < 200 || status > 299) && !p.wantReply) {
        ++m_stats.failed;
        error = Error::make(Status::BadGateway,
                            "upstream: " + p.target + " answered " + QByteArray::number(status));
    } else if (status < 200 || status > 299) {
        ++m_stats.failed;
    }
    if (session && !session->isClosing()) {
        if (error) {
            session->replyError(error);
        } else if (p.wantReply) {
            const QByteArray body = reply->read(limit + 1);
            Message answer("upstream-reply", body.size() > limit ? QByteArray() : body);
            answer.addHeader("status", QByteArray::number(status));
            answer.addHeader("upstream", p.target);
            const QByteArray type = reply->header(QNetworkRequest::ContentTypeHeader).toByteArray();
            if (!type.isEmpty())
                answer.addHeader("content-type", type);
            if (body.size() > limit)
                answer.addHeader("truncated", "true");
            session->reply(answer);
        }
    }
    if (m_inFlight.isEmpty())
        Q_EMIT idle();
}

} // namespace lhttp

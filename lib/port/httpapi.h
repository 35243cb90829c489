// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "counters.h"
#include "upstream.h"

#include <QByteArray>
#include <QString>

namespace lhttp {

class Broker;
class Publisher;
struct HttpRequest;
struct HttpResponse;
struct ServerOptions;

// What /healthz and /metrics show of the whole node, all its event loops together: the node
// implements it, any loop's HTTP API reads it from its own thread.
class Router;

class NodeStatus {
public:
    virtual ~NodeStatus();
    virtual bool isListening() const = 0;
    virtual int connectionCount() const = 0;
    virtual int channelCount() const = 0;
    virtual qsizetype subscriptionCount() const = 0;
    virtual Counters::Values counters() const = 0;
    virtual Upstream::Stats upstreamStats() const = 0;
    virtual int upstreamInFlight() const = 0;
    virtual const Broker *broker() const = 0;
    virtual const Router &router() const = 0;
};

// The plain-HTTP side of the port: POST /publish, GET /healthz, GET /metrics and static files
// at `/`. Holds no state of its own; every request is answered from the node it was given.
class HttpApi {
public:
    // What the HTTP side of one event loop reads and drives: that loop's options, counters
    // and publish path, and the node's status.
    struct Node {
        const ServerOptions &options;
        Counters &counters;
        Publisher &publisher;
        const NodeStatus &status;
    };

    explicit HttpApi(const Node &node)
        : m_node(node) {}

    void handle(const HttpRequest &request, HttpResponse &response);

    static QByteArray contentType(const QString &fileName);

private:
    void publish(const HttpRequest &request, HttpResponse &response);
    void health(HttpResponse &response);
    void metrics(HttpResponse &response);
    void staticFile(const HttpRequest &request, HttpResponse &response);

    Node m_node;
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>

namespace lhttp {

class ChannelHub;
class Listener;
class Publisher;
class SessionTable;
class Upstream;
struct Counters;
struct HttpRequest;
struct HttpResponse;
struct ServerOptions;

// The plain-HTTP side of the port: POST /publish, GET /healthz, GET /metrics and static files
// at `/`. Holds no state of its own; every request is answered from the node it was given.
class HttpApi {
public:
    // What the HTTP side reads and drives, all owned by the node.
    struct Node {
        const ServerOptions &options;
        Counters &counters;
        Publisher &publisher;
        const SessionTable &sessions;
        const ChannelHub &hub; // channel counts, and the broker
        const Upstream &upstream;
        const Listener &listener;
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

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>

namespace lhttp {

class Server;
struct HttpRequest;
struct HttpResponse;

// The plain-HTTP side of the port: POST /publish, GET /healthz, GET /metrics and static files
// at `/`. Stateless; every request is answered from the Server it is given.
class HttpApi {
public:
    static void handle(Server &server, const HttpRequest &request, HttpResponse &response);

    static void publish(Server &server, const HttpRequest &request, HttpResponse &response);
    static void health(Server &server, HttpResponse &response);
    static void metrics(Server &server, HttpResponse &response);
    static void staticFile(Server &server, const HttpRequest &request, HttpResponse &response);

    static QByteArray contentType(const QString &fileName);
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>

namespace lhttp {

class Session;
struct Error;

// What the runtime tells the node about as it happens: the Server implements it and turns
// each into a Qt signal for whoever watches (the admin console), only when someone does.
// Called on the hot path, so implementations return at once when nobody listens.
class NodeEvents {
public:
    virtual ~NodeEvents();
    // A valid LHTTP message arrived, before the pipeline runs.
    virtual void noteMessage(const Session &session) = 0;
    virtual void noteSubscription(const Session &session, const QByteArray &channel,
                                  bool subscribed) = 0;
    // One per (message, channel) published, not per delivery; `from` is the session whose
    // message it is (null for the HTTP API and server-side publishes).
    virtual void notePublished(const QByteArray &channel, qsizetype size, const Session *from) = 0;
    // An error reply; `session` is null for errors answered over HTTP.
    virtual void noteError(const Session *session, const Error &error) = 0;
};

} // namespace lhttp

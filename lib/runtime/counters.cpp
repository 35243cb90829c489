// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "counters.h"

#include <cstring>

namespace lhttp {

void Counters::countRefused(const char *reason) {
    ++connectionsRefused;
    size_t i = 0;
    while (i + 1 < RefusalReasons.size() && std::strcmp(RefusalReasons[i], reason) != 0)
        ++i;
    ++refusedBy[i];
}

Counters::Values Counters::values() const {
    Values v;
    v.messagesIn = messagesIn.value();
    v.bytesIn = bytesIn.value();
    v.messagesOut = messagesOut.value();
    v.bytesOut = bytesOut.value();
    v.publishes = publishes.value();
    v.connectionsAccepted = connectionsAccepted.value();
    v.connectionsRefused = connectionsRefused.value();
    v.slowConsumers = slowConsumers.value();
    v.keepaliveTimeouts = keepaliveTimeouts.value();
    v.idleTimeouts = idleTimeouts.value();
    v.rateLimited = rateLimited.value();
    v.socketBuffersReleased = socketBuffersReleased.value();
    for (size_t i = 0; i < refusedBy.size(); ++i) {
        if (const quint64 n = refusedBy[i].value())
            v.refusedBy.insert(QByteArray(RefusalReasons[i]), n);
    }
    for (size_t i = 0; i < errors.size(); ++i) {
        if (const quint64 n = errors[i].value())
            v.errors.insert(FirstErrorCode + int(i), n);
    }
    return v;
}

Counters::Values &Counters::Values::operator+=(const Values &o) {
    messagesIn += o.messagesIn;
    bytesIn += o.bytesIn;
    messagesOut += o.messagesOut;
    bytesOut += o.bytesOut;
    publishes += o.publishes;
    connectionsAccepted += o.connectionsAccepted;
    connectionsRefused += o.connectionsRefused;
    slowConsumers += o.slowConsumers;
    keepaliveTimeouts += o.keepaliveTimeouts;
    idleTimeouts += o.idleTimeouts;
    rateLimited += o.rateLimited;
    socketBuffersReleased += o.socketBuffersReleased;
    for (auto it = o.refusedBy.cbegin(); it != o.refusedBy.cend(); ++it)
        refusedBy[it.key()] += it.value();
    for (auto it = o.errors.cbegin(); it != o.errors.cend(); ++it)
        errors[it.key()] += it.value();
    return *this;
}

} // namespace lhttp

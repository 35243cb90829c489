// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "broker.h"

#include "channelhub.h"

namespace lhttp {

Broker::~Broker() = default;

Error LocalBroker::publish(const QByteArray &channel, const Frame &frame) {
    hub()->deliver(channel, frame);
    return {};
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "broker.h"

#include "frame.h"

namespace lhttp {

LocalDelivery::~LocalDelivery() = default;
Broker::~Broker() = default;

Error LocalBroker::publish(const QByteArray &channel, const Frame &frame) {
    if (LocalDelivery *l = local())
        l->deliver(channel, frame);
    return {};
}

} // namespace lhttp

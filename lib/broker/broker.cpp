// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "broker.h"

namespace lhttp {

LocalDelivery::~LocalDelivery() = default;
Broker::~Broker() = default;

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "brokerlog.h"

namespace lhttp {
Q_LOGGING_CATEGORY(lcBroker, "lhttp.broker", QtInfoMsg)
} // namespace lhttp

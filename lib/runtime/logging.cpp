// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "logging.h"

namespace lhttp {
Q_LOGGING_CATEGORY(lcServer, "lhttp.server", QtInfoMsg)
Q_LOGGING_CATEGORY(lcSession, "lhttp.session", QtInfoMsg)
Q_LOGGING_CATEGORY(lcHttp, "lhttp.http", QtInfoMsg)
Q_LOGGING_CATEGORY(lcUpstream, "lhttp.upstream", QtInfoMsg)
Q_LOGGING_CATEGORY(lcBroker, "lhttp.broker", QtInfoMsg)
} // namespace lhttp

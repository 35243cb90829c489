// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "runtimelog.h"

namespace lhttp {
Q_LOGGING_CATEGORY(lcServer, "lhttp.server", QtInfoMsg)
Q_LOGGING_CATEGORY(lcSession, "lhttp.session", QtInfoMsg)
} // namespace lhttp

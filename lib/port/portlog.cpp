// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "portlog.h"

namespace lhttp {
Q_LOGGING_CATEGORY(lcHttp, "lhttp.http", QtInfoMsg)
Q_LOGGING_CATEGORY(lcUpstream, "lhttp.upstream", QtInfoMsg)
} // namespace lhttp

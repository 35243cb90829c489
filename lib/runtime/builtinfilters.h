// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "processor.h"

namespace lhttp {

// `multipart`: parses the parts before the processor runs, so it can read them.
class MultipartFilter final : public HeaderFilter {
public:
    bool beforeMessage(Session &session) override;
};

// `subscribe`, `publish`, `unsubscribe`, applied in that order after the processor. Every
// listed channel of all three headers is validated first, so a message with one bad channel
// changes nothing and gets one error reply.
class PubSubFilter final : public HeaderFilter {
public:
    void afterMessage(Session &session) override;
};

} // namespace lhttp

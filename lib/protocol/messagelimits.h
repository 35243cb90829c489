// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtGlobal>

namespace lhttp {

// Every bound on what a peer can make the server hold, named once. Defaults are documented in
// docs/CONFIG.md; each is settable through ServerOptions and lhttpd-qt's flags.
struct Limits {
    static constexpr qsizetype DefaultMaxMessageSize = 64 * 1024;
    static constexpr int DefaultMaxHeaders = 64;
    static constexpr qsizetype DefaultMaxHeaderLineLength = 8 * 1024;
    static constexpr int DefaultMaxChannelLength = 255;

    qsizetype maxMessageSize = DefaultMaxMessageSize;           // whole LHTTP message, bytes
    int maxHeaders = DefaultMaxHeaders;                         // header lines per message
    qsizetype maxHeaderLineLength = DefaultMaxHeaderLineLength; // one header line, bytes
    int maxChannelLength = DefaultMaxChannelLength;             // one channel id, bytes
};

} // namespace lhttp

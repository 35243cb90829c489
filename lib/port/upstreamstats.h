// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtGlobal>

#include <array>

namespace lhttp {

// What the `upstream` header's forwarding did (lhttp_upstream_* metrics): counts and a latency
// histogram, added up over a node's event loops.
struct UpstreamStats {
    quint64 requests = 0;
    quint64 refused = 0; // not allowed, malformed, or over the in-flight cap
    quint64 failed = 0;  // connection errors and non-2xx answers
    quint64 timedOut = 0;
    static constexpr std::array<double, 9> Buckets = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,  1.0,   2.5};
    std::array<quint64, Buckets.size()> latencyBuckets = {};
    quint64 latencyCount = 0;
    double latencySum = 0;

    UpstreamStats &operator+=(const UpstreamStats &other);
};

} // namespace lhttp

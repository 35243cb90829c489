// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>

namespace lhttp {

// What went wrong with a peer's input, as an HTTP-like status and a human-readable reason.
// It becomes the `code` and `reason` headers of an `error` reply (PROTOCOL.md §7).
struct Error {
    int code = 0;
    QByteArray reason;

    bool isError() const { return code != 0; }
    explicit operator bool() const { return isError(); }
    static Error make(int code, QByteArray reason) { return Error{code, std::move(reason)}; }
};

namespace Status {
constexpr int BadRequest = 400;
constexpr int Unauthorized = 401;
constexpr int Forbidden = 403;
constexpr int NotFound = 404;
constexpr int MethodNotAllowed = 405;
constexpr int Gone = 410;
constexpr int PayloadTooLarge = 413;
constexpr int TooManyRequests = 429;
constexpr int InternalError = 500;
constexpr int BadGateway = 502;
constexpr int ServiceUnavailable = 503;
constexpr int GatewayTimeout = 504;
} // namespace Status

} // namespace lhttp

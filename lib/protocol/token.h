// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "error.h"

#include <QByteArray>
#include <QByteArrayList>
#include <QString>

namespace lhttp {

// Compares secrets without leaking, through timing, where they differ.
bool constantTimeEquals(QByteArrayView a, QByteArrayView b);

// What a verified connect token grants.
struct Claims {
    QString subject;          // `sub`: the user id processors see (Session::userId)
    qint64 expiresAt = 0;     // `exp`, seconds since the epoch; 0 when absent
    QByteArrayList subscribe; // channel patterns the user may subscribe to
    QByteArrayList publish;   // channel patterns the user may publish to

    bool maySubscribe(QByteArrayView channel) const;
    bool mayPublish(QByteArrayView channel) const;
};

// Connect tokens are JWTs (RFC 7519) signed with HMAC-SHA256 (HS256) and a shared secret.
//
// Only HS256 is accepted: `alg` must be exactly "HS256", so `none` and algorithm confusion are
// refused before the signature is looked at. The signature is compared in constant time.
// Claims: `sub` (required, string), `exp` and `nbf` (optional, NumericDate, checked with
// 30 s of leeway), and channel grants as arrays of patterns with NATS wildcards:
// `channels` (subscribe and publish), `subscribe`, `publish`. A token without grants may not
// subscribe or publish anything.
//
// Why our own verifier: Debian's libjwt would add OpenSSL and jansson for the one algorithm we
// need, and its 1.x API leaves rejecting `alg: none` to the caller.
class Token {
public:
    static constexpr qsizetype MaxTokenSize = 8 * 1024;
    static constexpr qint64 LeewaySeconds = 30;

    // A null Error and *claims filled when `token` is valid at `now` (seconds since the
    // epoch); otherwise 401 with a reason that names what failed.
    static Error verify(QByteArrayView token, QByteArrayView secret, qint64 now, Claims *claims);

    // Makes a token (for `lhttpd-qt token` and tests).
    static QByteArray sign(const QString &subject, const QByteArrayList &subscribe,
                           const QByteArrayList &publish, qint64 expiresAt, QByteArrayView secret);
    // Signs an arbitrary header and payload (tests use it to build hostile tokens).
    static QByteArray signRaw(const QByteArray &headerJson, const QByteArray &payloadJson,
                              QByteArrayView secret);
};

} // namespace lhttp

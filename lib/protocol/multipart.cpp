// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "multipart.h"

namespace lhttp {

QByteArrayView Part::header(QByteArrayView name) const {
    for (auto it = headers.crbegin(); it != headers.crend(); ++it) {
        if (it->name == name)
            return it->value;
    }
    return {};
}

QList<Part> Multipart::parse(QByteArrayView offsetsValue, QByteArrayView body, const Limits &limits,
                             Error *error) {
    auto fail = [&](QByteArray reason) {
        *error = Error::make(Status::BadRequest, "multipart: " + reason);
        return QList<Part>();
    };
    const auto tokens = splitTokens(offsetsValue);
    if (tokens.isEmpty())
        return fail("no offsets");
    if (tokens.size() > MaxParts)
        return fail("more than " + QByteArray::number(MaxParts) + " parts");

    QVarLengthArray<qsizetype, 8> offsets;
    for (QByteArrayView t : tokens) {
        for (char c : t) {
            if (c < '0' || c > '9')
                return fail("offset '" + t.toByteArray() + "' is not a decimal number");
        }
        bool ok = false;
        const qlonglong v = t.toLongLong(&ok);
        if (!ok || v > body.size())
            return fail("offset " + t.toByteArray() + " is beyond the body of " +
                        QByteArray::number(body.size()) + " bytes");
        if (!offsets.isEmpty() && v <= offsets.back())
            return fail("offsets must be strictly ascending");
        offsets.append(qsizetype(v));
    }

    QList<Part> parts;
    parts.reserve(offsets.size());
    for (qsizetype i = 0; i < offsets.size(); ++i) {
        const qsizetype start = offsets[i];
        const qsizetype end = i + 1 < offsets.size() ? offsets[i + 1] : body.size();
        const QByteArrayView chunk = body.sliced(start, end - start);
        Part part;
        qsizetype headEnd = -1;
        qsizetype bodyStart = -1;
        if (chunk.startsWith("\r\n")) {
            headEnd = 0;
            bodyStart = 2;
        } else {
            const qsizetype blank = chunk.indexOf("\r\n\r\n");
            if (blank >= 0) {
                headEnd = blank + 2;
                bodyStart = blank + 4;
            }
        }
        if (headEnd < 0)
            return fail("part " + QByteArray::number(i) + " at offset " +
                        QByteArray::number(start) + " has no blank line after its headers");
        if (Error e = Message::parseHeaderLines(chunk.first(headEnd), limits, &part.headers))
            return fail("part " + QByteArray::number(i) + ": " + e.reason);
        part.body = chunk.sliced(bodyStart);
        parts.append(std::move(part));
    }
    *error = {};
    return parts;
}

} // namespace lhttp

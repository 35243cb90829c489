// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

// Helpers shared by the libFuzzer targets in this directory.

#include <QByteArrayView>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

// An invariant of the code under test. A violation aborts, which libFuzzer reports as a crash
// and saves the input (crash-<sha1>) for replay: `./fuzz_<target> crash-<sha1>`.
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)

namespace fuzz {

// The input as a view of libFuzzer's own buffer, which is allocated at exactly `size`
// bytes: an over-read by even one byte is an AddressSanitizer report.
inline QByteArrayView input(const uint8_t *data, size_t size) {
    return QByteArrayView(reinterpret_cast<const char *>(data), qsizetype(size));
}

// Multi-field inputs (and their corpus files) separate fields with '\n': returns the text
// before the first '\n' and the rest after it (empty when there is no '\n').
inline std::pair<QByteArrayView, QByteArrayView> splitLine(QByteArrayView in) {
    const qsizetype nl = in.indexOf('\n');
    if (nl < 0)
        return {in, in.last(0)};
    return {in.first(nl), in.sliced(nl + 1)};
}

// Whether `part` lies inside `whole` (an empty part anywhere in or at the end of it).
inline bool isWithin(QByteArrayView part, QByteArrayView whole) {
    if (part.isEmpty())
        return true;
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

} // namespace fuzz

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>

namespace lhttp::Format {

// 1536 → "1.5 KiB", in the user's locale.
QString bytes(quint64 bytes);
// A rate with one decimal below 10 and none above: "0.5", "12", "48,210".
QString rate(double perSecond);
// Milliseconds since the epoch as local time: "14:03:07" today, "2024-05-01 14:03" before.
QString timeOfDay(qint64 ms);
QString timeWithMilliseconds(qint64 ms);
QString dateTime(qint64 ms);
// A body preview fit for one table cell: line breaks and control characters made visible.
QString preview(const QByteArray &bytes);

} // namespace lhttp::Format

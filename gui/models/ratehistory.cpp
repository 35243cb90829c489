// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "ratehistory.h"

#include <algorithm>

namespace lhttp {

RateHistory::RateHistory(QObject *parent)
    : QObject(parent) {}

void RateHistory::append(const Point &point) {
    m_points.append(point);
    const qint64 oldest = point.timeMs - m_spanMs;
    const auto keep = std::find_if(m_points.cbegin(), m_points.cend(),
                                   [oldest](const Point &p) { return p.timeMs >= oldest; });
    m_points.erase(m_points.cbegin(), keep);
    Q_EMIT changed();
}

void RateHistory::clear() {
    m_points.clear();
    Q_EMIT changed();
}

double RateHistory::peak() const {
    double peak = 0;
    for (const Point &p : m_points)
        peak = std::max({peak, p.in, p.out, p.publishes});
    return peak;
}

} // namespace lhttp

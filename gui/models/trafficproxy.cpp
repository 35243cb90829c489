// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "trafficproxy.h"

#include "trafficmodel.h"

namespace lhttp {

TrafficProxy::TrafficProxy(QObject *parent)
    : QSortFilterProxyModel(parent) {}

void TrafficProxy::setTrafficModel(TrafficModel *model) {
    m_model = model;
    setSourceModel(model);
}

void TrafficProxy::setText(const QString &text) {
    if (text == m_text)
        return;
    m_text = text;
    invalidateRowsFilter();
}

void TrafficProxy::setDirection(int direction) {
    if (direction == m_direction)
        return;
    m_direction = direction;
    invalidateRowsFilter();
}

bool TrafficProxy::filterAcceptsRow(int sourceRow, const QModelIndex &) const {
    if (!m_model)
        return true;
    if (m_direction >= 0 && int(m_model->sampleAt(sourceRow).direction) != m_direction)
        return false;
    return m_text.isEmpty() || m_model->matches(sourceRow, m_text);
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "nodesource.h"

namespace lhttp {

NodeSource::~NodeSource() = default;

void NodeSource::setState(State state, const QString &error) {
    m_error = error;
    if (state == m_state)
        return;
    m_state = state;
    Q_EMIT stateChanged(state);
}

} // namespace lhttp

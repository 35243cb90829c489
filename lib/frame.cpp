// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "frame.h"

#include <QStringDecoder>

namespace lhttp {

void Frame::decode() const {
    if (m_utf8 >= 0)
        return;
    if (!m_text.isNull() || m_bytes.isEmpty()) {
        m_utf8 = 1;
        return;
    }
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    m_text = decoder(m_bytes);
    m_utf8 = decoder.hasError() ? 0 : 1;
    if (!m_utf8)
        m_text.clear();
}

} // namespace lhttp

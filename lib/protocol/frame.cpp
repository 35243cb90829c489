// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "frame.h"

#include <QtEndian>

namespace lhttp {

void Frame::buildWire() const {
    const quint64 n = quint64(m_bytes.size());
    char header[10];
    int h = 2;
    header[0] = char(0x80 | (isText() ? 0x1 : 0x2)); // FIN + opcode
    if (n < 126) {
        header[1] = char(n);
    } else if (n <= 0xffff) {
        header[1] = char(126);
        qToBigEndian(quint16(n), header + 2);
        h = 4;
    } else {
        header[1] = char(127);
        qToBigEndian(n, header + 2);
        h = 10;
    }
    QByteArray wire;
    wire.reserve(h + m_bytes.size());
    wire.append(header, h);
    wire.append(m_bytes);
    m_wire = std::move(wire);
}

} // namespace lhttp

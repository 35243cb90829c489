// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "trafficmodel.h"

#include "format.h"

namespace lhttp {

TrafficModel::TrafficModel(QObject *parent)
    : QAbstractTableModel(parent) {}

int TrafficModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_rows.size());
}

int TrafficModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TrafficModel::data(const QModelIndex &index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &r = m_rows[size_t(index.row())];
    const Admin::Sample &s = r.sample;
    if (role == DirectionRole)
        return int(s.direction);
    if (role == Qt::TextAlignmentRole) {
        switch (index.column()) {
        case Connection:
        case Size:
        case Receivers:
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return {};
        }
    }
    if (role == Qt::ToolTipRole && index.column() == Preview)
        return r.preview;
    if (role == Qt::ToolTipRole && index.column() == Command) {
        if (s.direction == Admin::Direction::Close)
            return tr("WebSocket close code %1").arg(r.command);
        if (s.direction == Admin::Direction::Error)
            return tr("Error status %1").arg(r.command);
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (Column(index.column())) {
    case Time:
        return Format::timeWithMilliseconds(s.timeMs);
    case Direction:
        switch (s.direction) {
        case Admin::Direction::In:
            return tr("in");
        case Admin::Direction::Out:
            return tr("out");
        case Admin::Direction::Error:
            return tr("error");
        case Admin::Direction::Close:
            return tr("close");
        }
        return {};
    case Connection:
        return s.connection ? QVariant(s.connection) : QVariant();
    case Channel:
        return r.channel;
    case Command:
        return r.command;
    case Size:
        return s.direction == Admin::Direction::In || s.direction == Admin::Direction::Out
                   ? QVariant(qlonglong(s.size))
                   : QVariant();
    case Receivers:
        return s.direction == Admin::Direction::Out ? QVariant(s.receivers) : QVariant();
    case Preview:
        return r.preview;
    case ColumnCount:
        break;
    }
    return {};
}

QVariant TrafficModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case Time:
        return tr("Time");
    case Direction:
        return tr("Direction");
    case Connection:
        return tr("Connection");
    case Channel:
        return tr("Channel");
    case Command:
        return tr("Command");
    case Size:
        return tr("Size");
    case Receivers:
        return tr("Receivers");
    case Preview:
        return tr("Body preview");
    case ColumnCount:
        break;
    }
    return {};
}

bool TrafficModel::matches(int row, const QString &text) const {
    const Row &r = m_rows[size_t(row)];
    return r.channel.contains(text, Qt::CaseInsensitive) ||
           r.command.contains(text, Qt::CaseInsensitive) ||
           r.preview.contains(text, Qt::CaseInsensitive) ||
           (r.sample.connection && QString::number(r.sample.connection) == text);
}

void TrafficModel::append(const QList<Admin::Sample> &samples, quint64 notSampled) {
    m_notSampled += notSampled;
    if (m_paused) {
        m_missed += quint64(samples.size());
        Q_EMIT countsChanged();
        return;
    }
    if (samples.isEmpty()) {
        if (notSampled)
            Q_EMIT countsChanged();
        return;
    }
    // Only the newest `capacity` samples can stay; the older ones are never shown.
    const qsizetype skip = std::max<qsizetype>(0, samples.size() - m_capacity);
    const int incoming = int(samples.size() - skip);
    trimTo(m_capacity - incoming);
    const int first = int(m_rows.size());
    beginInsertRows({}, first, first + incoming - 1);
    for (qsizetype i = skip; i < samples.size(); ++i) {
        const Admin::Sample &s = samples[i];
        m_rows.push_back({s, QString::fromUtf8(s.channel), QString::fromUtf8(s.command),
                          Format::preview(s.preview)});
    }
    endInsertRows();
    Q_EMIT countsChanged();
}

void TrafficModel::trimTo(int capacity) {
    const int excess = int(m_rows.size()) - std::max(capacity, 0);
    if (excess <= 0)
        return;
    beginRemoveRows({}, 0, excess - 1);
    m_rows.erase(m_rows.begin(), m_rows.begin() + excess);
    endRemoveRows();
}

void TrafficModel::clear() {
    beginResetModel();
    m_rows.clear();
    m_notSampled = 0;
    m_missed = 0;
    endResetModel();
    Q_EMIT countsChanged();
}

void TrafficModel::setPaused(bool paused) {
    m_paused = paused;
}

void TrafficModel::setCapacity(int capacity) {
    m_capacity = std::max(capacity, 1);
    trimTo(m_capacity);
}

} // namespace lhttp

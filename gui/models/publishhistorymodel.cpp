// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "publishhistorymodel.h"

#include "format.h"

namespace lhttp {

PublishHistoryModel::PublishHistoryModel(QObject *parent)
    : QAbstractTableModel(parent) {}

int PublishHistoryModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_entries.size());
}

int PublishHistoryModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant PublishHistoryModel::data(const QModelIndex &index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Entry &e = m_entries[size_t(index.row())];
    if (role == Qt::ToolTipRole)
        return Format::preview(e.body.left(1024));
    if (role != Qt::DisplayRole)
        return {};
    switch (Column(index.column())) {
    case Time:
        return Format::timeOfDay(e.timeMs);
    case Channels:
        return QString::fromUtf8(e.channels);
    case Command:
        return QString::fromUtf8(e.command);
    case Size:
        return Format::bytes(quint64(e.size));
    case Result:
        if (e.code < 0)
            return tr("sending…");
        if (e.code == 200)
            return tr("ok");
        return e.code ? tr("%1 %2").arg(e.code).arg(e.reason) : e.reason;
    case ColumnCount:
        break;
    }
    return {};
}

QVariant PublishHistoryModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (Column(section)) {
    case Time:
        return tr("Time");
    case Channels:
        return tr("Channels");
    case Command:
        return tr("Command");
    case Size:
        return tr("Size");
    case Result:
        return tr("Result");
    case ColumnCount:
        break;
    }
    return {};
}

void PublishHistoryModel::add(const Entry &entry) {
    if (int(m_entries.size()) >= Capacity) {
        const int last = int(m_entries.size()) - 1;
        beginRemoveRows({}, Capacity - 1, last);
        m_entries.erase(m_entries.begin() + (Capacity - 1), m_entries.end());
        endRemoveRows();
    }
    beginInsertRows({}, 0, 0);
    m_entries.push_front(entry);
    endInsertRows();
}

bool PublishHistoryModel::setResult(quint64 request, int code, const QString &reason) {
    for (size_t i = 0; i < m_entries.size(); ++i) {
        if (m_entries[i].request != request)
            continue;
        m_entries[i].code = code;
        m_entries[i].reason = reason;
        Q_EMIT dataChanged(index(int(i), Result), index(int(i), Result));
        return true;
    }
    return false;
}

void PublishHistoryModel::clear() {
    beginResetModel();
    m_entries.clear();
    endResetModel();
}

} // namespace lhttp

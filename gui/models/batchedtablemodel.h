// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QAbstractTableModel>
#include <QList>

#include <algorithm>
#include <functional>

namespace lhttp {

// A table model changed in batches: each batch costs the views a bounded number of signals
// however many rows it touches (one insert at the end, a few removals or one reset, one
// dataChanged span per column group), never one signal per event.
class BatchedTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    // Above this many separate row ranges removed in one batch a single reset is cheaper for
    // the views (a QSortFilterProxyModel re-maps all its rows per removal signal).
    static constexpr int MaxRemovalRanges = 32;

    using QAbstractTableModel::QAbstractTableModel;

protected:
    // Removes `rows` (any order, no duplicates) from `storage`, announcing contiguous ranges
    // from the bottom up, or one reset when there are too many. `reindex(first)` updates
    // whatever maps keys to rows once the storage is final: rows before `first` did not move.
    template <typename Storage>
    void removeStorageRows(Storage &storage, QList<int> rows,
                           const std::function<void(int first)> &reindex) {
        if (rows.isEmpty())
            return;
        std::sort(rows.begin(), rows.end(), std::greater<int>());
        QList<std::pair<int, int>> ranges; // (first, last), bottom-up
        for (int r : std::as_const(rows)) {
            if (!ranges.isEmpty() && ranges.last().first == r + 1)
                ranges.last().first = r;
            else
                ranges.append({r, r});
        }
        if (ranges.size() > MaxRemovalRanges) {
            beginResetModel();
            for (const auto &range : std::as_const(ranges))
                storage.erase(storage.begin() + range.first, storage.begin() + range.second + 1);
            reindex(rows.last());
            endResetModel();
            return;
        }
        for (const auto &range : std::as_const(ranges)) {
            beginRemoveRows({}, range.first, range.second);
            storage.erase(storage.begin() + range.first, storage.begin() + range.second + 1);
            endRemoveRows();
        }
        reindex(rows.last());
    }

    // Tracks the span of rows a batch changed, for one dataChanged per column group.
    struct Span {
        int first = -1;
        int last = -1;
        void add(int row) {
            first = first < 0 ? row : std::min(first, row);
            last = std::max(last, row);
        }
        bool isEmpty() const { return first < 0; }
    };
    void emitChanged(const Span &span, int firstColumn, int lastColumn) {
        if (!span.isEmpty())
            Q_EMIT dataChanged(index(span.first, firstColumn), index(span.last, lastColumn));
    }
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QSortFilterProxyModel>

namespace lhttp {

class TrafficModel;

// Filters the traffic log by text (channel, command, preview, connection id) and direction,
// keeping the log's order.
class TrafficProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit TrafficProxy(QObject *parent = nullptr);

    void setTrafficModel(TrafficModel *model);
    void setText(const QString &text);
    // An Admin::Direction as int, or -1 for every direction.
    void setDirection(int direction);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    TrafficModel *m_model = nullptr;
    QString m_text;
    int m_direction = -1;
};

} // namespace lhttp

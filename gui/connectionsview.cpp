// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "connectionsview.h"

#include "connectionsmodel.h"
#include "connectionsproxy.h"
#include "tableviews.h"

#include <QAction>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIcon>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

namespace lhttp {

ConnectionsView::ConnectionsView(ConnectionsModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_proxy(new ConnectionsProxy(this))
    , m_filter(new QLineEdit(this))
    , m_count(new QLabel(this))
    , m_disconnect(new QPushButton(QIcon(QStringLiteral(":/admin/icons/disconnect.svg")),
                                   tr("Disconnect"), this))
    , m_table(new QTableView(this)) {
    m_proxy->setConnectionsModel(model);
    m_filter->setPlaceholderText(tr("Filter by id, address, origin or channel"));
    m_filter->setClearButtonEnabled(true);
    m_disconnect->setObjectName(QStringLiteral("disconnectButton"));
    m_disconnect->setToolTip(tr("Close the selected connections (Del)"));
    m_disconnect->setEnabled(false);

    m_table->setObjectName(QStringLiteral("connectionsTable"));
    m_table->setModel(m_proxy);
    setUpLiveTable(m_table);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(ConnectionsModel::Id, Qt::AscendingOrder);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    const int em = fontMetrics().horizontalAdvance(QLatin1Char('M'));
    const int widths[] = {5, 12, 14, 8, 14, 6, 7, 6, 7};
    for (int c = 0; c < ConnectionsModel::ColumnCount; ++c)
        m_table->setColumnWidth(c, widths[c] * em);

    auto *close = new QAction(m_disconnect->icon(), tr("Disconnect"), m_table);
    close->setShortcut(QKeySequence::Delete);
    close->setShortcutContext(Qt::WidgetShortcut);
    m_table->addAction(close);
    m_table->setContextMenuPolicy(Qt::ActionsContextMenu);
    connect(close, &QAction::triggered, this, &ConnectionsView::requestClose);
    connect(m_disconnect, &QPushButton::clicked, this, &ConnectionsView::requestClose);
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { m_disconnect->setEnabled(m_table->selectionModel()->hasSelection()); });
    connect(m_filter, &QLineEdit::textChanged, m_proxy,
            [this](const QString &t) { m_proxy->setText(t.trimmed()); });
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(m_proxy, signal, this, &ConnectionsView::updateCount);
    connect(m_proxy, &QAbstractItemModel::modelReset, this, &ConnectionsView::updateCount);
    connect(m_proxy, &QAbstractItemModel::layoutChanged, this, &ConnectionsView::updateCount);

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_filter, 1);
    bar->addWidget(m_count);
    bar->addWidget(m_disconnect);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(m_table);
    updateCount();
}

QList<quint64> ConnectionsView::selectedIds() const {
    QList<quint64> ids;
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    for (const QModelIndex &i : rows)
        ids.append(i.data(ConnectionsModel::IdRole).toULongLong());
    return ids;
}

void ConnectionsView::updateCount() {
    const QLocale l;
    const int shown = m_proxy->rowCount();
    const int all = m_model->rowCount();
    m_count->setText(shown == all
                         ? tr("Connections: %1").arg(l.toString(all))
                         : tr("Connections: %1 of %2").arg(l.toString(shown), l.toString(all)));
}

void ConnectionsView::requestClose() {
    const QList<quint64> ids = selectedIds();
    if (!ids.isEmpty())
        Q_EMIT closeRequested(ids);
}

} // namespace lhttp

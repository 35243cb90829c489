// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "channelsview.h"

#include "channelsmodel.h"
#include "connectionsmodel.h"
#include "connectionsproxy.h"
#include "presencemodel.h"
#include "tableviews.h"

#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include <functional>

namespace lhttp {

namespace {

// A channel goes from the table once it has neither subscribers nor traffic. If it was the
// selected one, the selection goes with it: a single-selection QTableView would otherwise
// select the next row by itself, and the operator would be shown another channel's subscribers
// without having asked for it.
class ChannelsTable : public QTableView {
public:
    using QTableView::QTableView;
    std::function<void(const QModelIndex &)> selectedRowRemoved;

protected:
    void rowsAboutToBeRemoved(const QModelIndex &parent, int start, int end) override {
        const QModelIndex current = currentIndex();
        if (!parent.isValid() && current.isValid() && current.row() >= start &&
            current.row() <= end && selectionModel()->isRowSelected(current.row(), parent)) {
            if (selectedRowRemoved)
                selectedRowRemoved(current);
            selectionModel()->clear();
        }
        QTableView::rowsAboutToBeRemoved(parent, start, end);
    }
};

} // namespace

ChannelsView::ChannelsView(ChannelsModel *channels, ConnectionsModel *connections, QWidget *parent)
    : QWidget(parent)
    , m_model(channels)
    , m_proxy(new QSortFilterProxyModel(this))
    , m_members(new ConnectionsProxy(this))
    , m_filter(new QLineEdit(this))
    , m_table(new ChannelsTable(this))
    , m_membersTitle(new QLabel(this))
    , m_subscribers(new QTableView(this))
    , m_presence(new PresenceModel(this))
    , m_presenceTitle(new QLabel(this))
    , m_presenceTable(new QTableView(this)) {
    m_proxy->setSourceModel(channels);
    m_proxy->setSortRole(ChannelsModel::SortRole);
    m_proxy->setFilterKeyColumn(ChannelsModel::Name);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_filter->setPlaceholderText(tr("Filter channels"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, m_proxy,
            [this](const QString &t) { m_proxy->setFilterFixedString(t.trimmed()); });

    m_table->setObjectName(QStringLiteral("channelsTable"));
    m_table->setModel(m_proxy);
    setUpLiveTable(m_table);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(ChannelsModel::Name, Qt::AscendingOrder);
    const int em = fontMetrics().horizontalAdvance(QLatin1Char('M'));
    m_table->setColumnWidth(ChannelsModel::Name, 16 * em);
    for (int c = ChannelsModel::Subscribers; c < ChannelsModel::ColumnCount; ++c)
        m_table->setColumnWidth(c, 7 * em);

    // The subscribers: the connections model, filtered to one channel.
    m_members->setConnectionsModel(connections);
    m_members->setChannel(QByteArray(""));
    m_subscribers->setObjectName(QStringLiteral("subscribersTable"));
    m_subscribers->setModel(m_members);
    setUpLiveTable(m_subscribers);
    m_subscribers->setSortingEnabled(true);
    m_subscribers->sortByColumn(ConnectionsModel::Id, Qt::AscendingOrder);
    for (int c : {ConnectionsModel::Origin, ConnectionsModel::Channels, ConnectionsModel::BytesIn,
                  ConnectionsModel::BytesOut})
        m_subscribers->hideColumn(c);
    m_subscribers->setColumnWidth(ConnectionsModel::Id, 5 * em);
    m_subscribers->setColumnWidth(ConnectionsModel::Peer, 12 * em);

    // A presence channel's members, on every node.
    m_presence->setChannelsModel(channels);
    m_presenceTable->setObjectName(QStringLiteral("presenceTable"));
    m_presenceTable->setModel(m_presence);
    setUpLiveTable(m_presenceTable);
    m_presenceTable->setColumnWidth(PresenceModel::Client, 5 * em);
    m_presenceTable->setColumnWidth(PresenceModel::Node, 10 * em);
    m_presenceTable->setColumnWidth(PresenceModel::User, 8 * em);
    m_presenceTitle->setWordWrap(true);
    connect(m_presence, &PresenceModel::changed, this, &ChannelsView::showPresence);

    static_cast<ChannelsTable *>(m_table)->selectedRowRemoved = [this](const QModelIndex &row) {
        m_gone =
            row.siblingAtColumn(ChannelsModel::Name).data(ChannelsModel::NameRole).toByteArray();
    };
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &ChannelsView::showSubscribers);
    connect(m_proxy, &QAbstractItemModel::modelReset, this, &ChannelsView::showSubscribers);
    connect(m_proxy, &QAbstractItemModel::rowsRemoved, this, &ChannelsView::showSubscribers);

    auto *left = new QWidget(this);
    auto *leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(m_filter);
    leftLayout->addWidget(m_table);
    auto *right = new QWidget(this);
    auto *rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(m_membersTitle);
    rightLayout->addWidget(m_subscribers, 3);
    rightLayout->addWidget(m_presenceTitle);
    rightLayout->addWidget(m_presenceTable, 2);
    auto *split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(left);
    split->addWidget(right);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(split);
    showSubscribers();
}

QString ChannelsView::presenceTitle() const {
    return m_presenceTitle->text();
}

void ChannelsView::showPresence() {
    const bool shown = m_presence->isPresence();
    m_presenceTitle->setVisible(shown);
    m_presenceTable->setVisible(shown);
    if (!shown) {
        m_presenceTitle->clear();
        return;
    }
    const QString channel = QString::fromUtf8(m_presence->channel());
    if (m_presence->rowCount() < m_presence->total())
        m_presenceTitle->setText(tr("Members of %1 on every node: %2 connections of %3 users "
                                    "(the first %4 listed)")
                                     .arg(channel)
                                     .arg(m_presence->total())
                                     .arg(m_presence->users())
                                     .arg(m_presence->rowCount()));
    else
        m_presenceTitle->setText(tr("Members of %1 on every node: %2 connections of %3 users")
                                     .arg(channel)
                                     .arg(m_presence->total())
                                     .arg(m_presence->users()));
}

QByteArray ChannelsView::selectedChannel() const {
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    return rows.isEmpty() ? QByteArray() : rows.first().data(ChannelsModel::NameRole).toByteArray();
}

QString ChannelsView::subscribersTitle() const {
    return m_membersTitle->text();
}

void ChannelsView::showSubscribers() {
    const QByteArray channel = selectedChannel();
    m_members->setChannel(channel.isNull() ? QByteArray("") : channel);
    m_presence->setChannel(channel);
    showPresence();
    if (!channel.isNull())
        m_gone.clear();
    if (!channel.isNull())
        m_membersTitle->setText(tr("Subscribers of %1").arg(QString::fromUtf8(channel)));
    else if (!m_gone.isNull())
        m_membersTitle->setText(tr("%1 has no subscribers and no traffic any more. Select a "
                                   "channel to see its subscribers.")
                                    .arg(QString::fromUtf8(m_gone)));
    else
        m_membersTitle->setText(tr("Select a channel to see its subscribers."));
}

} // namespace lhttp

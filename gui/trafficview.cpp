// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "trafficview.h"

#include "adminwire.h"
#include "tableviews.h"
#include "trafficmodel.h"
#include "trafficproxy.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIcon>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QScrollBar>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QVBoxLayout>

namespace lhttp {

namespace {

// Colours the direction column so in, out and errors tell apart at a glance.
class DirectionDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

protected:
    void initStyleOption(QStyleOptionViewItem *option, const QModelIndex &index) const override {
        QStyledItemDelegate::initStyleOption(option, index);
        switch (Admin::Direction(index.data(TrafficModel::DirectionRole).toInt())) {
        case Admin::Direction::In:
            option->palette.setColor(QPalette::Text, QColor(0x15, 0x65, 0xc0));
            break;
        case Admin::Direction::Out:
            option->palette.setColor(QPalette::Text, QColor(0x2e, 0x7d, 0x32));
            break;
        case Admin::Direction::Error:
            option->palette.setColor(QPalette::Text, QColor(0xc6, 0x28, 0x28));
            break;
        case Admin::Direction::Close:
            option->palette.setColor(QPalette::Text, QColor(0x8e, 0x24, 0xaa));
            break;
        }
    }
};

} // namespace

TrafficView::TrafficView(TrafficModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_proxy(new TrafficProxy(this))
    , m_pause(new QPushButton(this))
    , m_clear(new QPushButton(QIcon(QStringLiteral(":/admin/icons/clear.svg")), tr("Clear"), this))
    , m_direction(new QComboBox(this))
    , m_filter(new QLineEdit(this))
    , m_counts(new QLabel(this))
    , m_table(new QTableView(this)) {
    m_proxy->setTrafficModel(model);
    m_pause->setObjectName(QStringLiteral("pauseButton"));
    m_pause->setCheckable(true);
    m_direction->addItem(tr("All directions"), -1);
    m_direction->addItem(tr("In"), int(Admin::Direction::In));
    m_direction->addItem(tr("Out"), int(Admin::Direction::Out));
    m_direction->addItem(tr("Errors"), int(Admin::Direction::Error));
    m_direction->addItem(tr("Closes"), int(Admin::Direction::Close));
    m_direction->setToolTip(tr("Closes: connections the node closed (slow consumer, keepalive, "
                               "idle, limits, administrator) or that closed with an error"));
    m_filter->setPlaceholderText(tr("Filter by channel, command, body or connection id"));
    m_filter->setClearButtonEnabled(true);

    m_table->setObjectName(QStringLiteral("trafficTable"));
    m_table->setModel(m_proxy);
    setUpLiveTable(m_table);
    m_table->setItemDelegateForColumn(TrafficModel::Direction, new DirectionDelegate(m_table));
    const int em = fontMetrics().horizontalAdvance(QLatin1Char('M'));
    const int widths[] = {9, 6, 7, 10, 7, 5, 6};
    for (int c = 0; c < TrafficModel::Preview; ++c)
        m_table->setColumnWidth(c, widths[c] * em);

    connect(m_pause, &QPushButton::toggled, this, [this](bool paused) {
        m_model->setPaused(paused);
        updatePauseButton();
    });
    connect(m_clear, &QPushButton::clicked, m_model, &TrafficModel::clear);
    connect(m_direction, &QComboBox::currentIndexChanged, this,
            [this] { m_proxy->setDirection(m_direction->currentData().toInt()); });
    connect(m_filter, &QLineEdit::textChanged, this,
            [this](const QString &t) { m_proxy->setText(t.trimmed()); });
    connect(m_model, &TrafficModel::countsChanged, this, &TrafficView::updateCounts);
    // Follow the log while the user is at its bottom; leave the view alone once they scroll up.
    QScrollBar *bar = m_table->verticalScrollBar();
    connect(bar, &QScrollBar::valueChanged, this,
            [this, bar](int value) { m_follow = value >= bar->maximum(); });
    connect(m_proxy, &QAbstractItemModel::rowsInserted, this, [this, bar] {
        if (m_follow)
            bar->setValue(bar->maximum());
    });

    auto *controls = new QHBoxLayout;
    controls->addWidget(m_pause);
    controls->addWidget(m_clear);
    controls->addWidget(m_direction);
    controls->addWidget(m_filter, 1);
    controls->addWidget(m_counts);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(m_table);
    updatePauseButton();
    updateCounts();
}

void TrafficView::updatePauseButton() {
    const bool paused = m_pause->isChecked();
    m_pause->setText(paused ? tr("Resume") : tr("Pause"));
    m_pause->setIcon(QIcon(paused ? QStringLiteral(":/admin/icons/resume.svg")
                                  : QStringLiteral(":/admin/icons/pause.svg")));
}

void TrafficView::updateCounts() {
    const QLocale l;
    QString text = tr("Sampled: %1 · not sampled: %2")
                       .arg(l.toString(m_model->rowCount()), l.toString(m_model->notSampled()));
    if (m_model->isPaused())
        text += tr(" · missed while paused: %1").arg(l.toString(m_model->missedWhilePaused()));
    m_counts->setText(text);
}

} // namespace lhttp

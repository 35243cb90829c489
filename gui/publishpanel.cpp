// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "publishpanel.h"

#include "nodestate.h"
#include "publishhistorymodel.h"
#include "tableviews.h"

#include <QFormLayout>
#include <QHeaderView>
#include <QIcon>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QShortcut>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace lhttp {

PublishPanel::PublishPanel(NodeState *state, QWidget *parent)
    : QWidget(parent)
    , m_state(state)
    , m_channels(new QLineEdit(this))
    , m_command(new QLineEdit(QStringLiteral("chat"), this))
    , m_headers(new QPlainTextEdit(this))
    , m_body(new QPlainTextEdit(this))
    , m_send(new QPushButton(QIcon(QStringLiteral(":/admin/icons/send.svg")), tr("Publish"), this))
    , m_result(new QLabel(this))
    , m_history(new QTableView(this)) {
    m_channels->setObjectName(QStringLiteral("channelsEdit"));
    m_channels->setPlaceholderText(tr("room1 room2"));
    m_channels->setToolTip(tr("Channels to publish to, separated by spaces"));
    m_command->setObjectName(QStringLiteral("commandEdit"));
    m_headers->setObjectName(QStringLiteral("headersEdit"));
    m_headers->setPlaceholderText(tr("name:value, one per line"));
    m_headers->setTabChangesFocus(true);
    m_headers->setFixedHeight(fontMetrics().height() * 4 + 10);
    m_body->setObjectName(QStringLiteral("bodyEdit"));
    m_body->setPlaceholderText(tr("Message body"));
    m_body->setTabChangesFocus(true);
    m_send->setObjectName(QStringLiteral("sendButton"));
    m_send->setToolTip(tr("Publish the message (Ctrl+Return)"));
    m_result->setWordWrap(true);
    m_result->setObjectName(QStringLiteral("publishResult"));

    m_history->setObjectName(QStringLiteral("historyTable"));
    m_history->setModel(state->publishHistory());
    setUpLiveTable(m_history);
    m_history->setSelectionMode(QAbstractItemView::SingleSelection);
    m_history->setToolTip(tr("Double-click a message to publish it again"));
    const int em = fontMetrics().horizontalAdvance(QLatin1Char('M'));
    // Never narrower than the column's title (it was clipped to "omman" with 5 em).
    const auto setWidth = [this](int column, int width) {
        m_history->setColumnWidth(
            column, std::max(width, m_history->horizontalHeader()->sectionSizeHint(column)));
    };
    setWidth(PublishHistoryModel::Time, 5 * em);
    setWidth(PublishHistoryModel::Channels, 7 * em);
    setWidth(PublishHistoryModel::Command, 5 * em);
    setWidth(PublishHistoryModel::Size, 4 * em);

    connect(m_send, &QPushButton::clicked, this, &PublishPanel::send);
    auto *shortcut = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), this);
    shortcut->setContext(Qt::WidgetWithChildrenShortcut);
    connect(shortcut, &QShortcut::activated, this, &PublishPanel::send);
    connect(m_channels, &QLineEdit::returnPressed, this, &PublishPanel::send);
    connect(m_history, &QTableView::doubleClicked, this,
            [this](const QModelIndex &index) { load(index.row()); });
    connect(state, &NodeState::commandFinished, this,
            [this](quint64 request, int code, const QString &reason) {
                if (request != m_lastRequest)
                    return;
                m_result->setText(code == 200 ? tr("Published.")
                                              : tr("Not published: %1").arg(reason));
            });

    auto *form = new QFormLayout;
    form->addRow(tr("Channels:"), m_channels);
    form->addRow(tr("Command:"), m_command);
    form->addRow(tr("Headers:"), m_headers);
    form->addRow(tr("Body:"), m_body);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form, 2);
    layout->addWidget(m_send);
    layout->addWidget(m_result);
    layout->addWidget(new QLabel(tr("Sent messages:"), this));
    layout->addWidget(m_history, 3);
}

QString PublishPanel::resultText() const {
    return m_result->text();
}

void PublishPanel::send() {
    const QByteArray channels = m_channels->text().toUtf8().simplified();
    const QByteArray command = m_command->text().toUtf8().trimmed();
    if (channels.isEmpty() || command.isEmpty()) {
        m_result->setText(tr("Give at least one channel and a command."));
        return;
    }
    if (!m_state->source() || m_state->source()->state() != NodeSource::State::Running) {
        m_result->setText(tr("Start or attach to a node first."));
        return;
    }
    m_lastRequest = m_state->publish(channels, command, m_headers->toPlainText().toUtf8(),
                                     m_body->toPlainText().toUtf8());
    m_result->setText(tr("Sending…"));
}

void PublishPanel::load(int row) {
    const PublishHistoryModel::Entry &e = m_state->publishHistory()->entryAt(row);
    m_channels->setText(QString::fromUtf8(e.channels));
    m_command->setText(QString::fromUtf8(e.command));
    m_headers->setPlainText(QString::fromUtf8(e.headers));
    m_body->setPlainText(QString::fromUtf8(e.body));
}

} // namespace lhttp

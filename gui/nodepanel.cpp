// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "nodepanel.h"

#include "embeddedsource.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QIcon>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTabWidget>
#include <QUrl>
#include <QVBoxLayout>

namespace lhttp {

namespace {
constexpr auto DefaultAttachUrl = "ws://127.0.0.1:8081/admin";
constexpr int MaxMessageKiBLimit = 64 * 1024; // lhttpd-qt's own bound: 64 MiB
} // namespace

NodePanel::NodePanel(QWidget *parent)
    : QWidget(parent)
    , m_tabs(new QTabWidget(this))
    , m_state(new QLabel(this))
    , m_error(new QLabel(this))
    , m_nodeInfo(new QLabel(this)) {
    m_tabs->addTab(embeddedPage(), QIcon(QStringLiteral(":/admin/icons/node.svg")), tr("Embedded"));
    m_tabs->addTab(attachPage(), QIcon(QStringLiteral(":/admin/icons/attach.svg")), tr("Attach"));

    m_error->setObjectName(QStringLiteral("errorLabel"));
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setStyleSheet(
        QStringLiteral("QLabel { color: #b71c1c; background: #ffebee; border: 1px solid #ef9a9a;"
                       " border-radius: 3px; padding: 6px; }"));
    m_error->hide();
    m_state->setWordWrap(true);
    m_nodeInfo->setWordWrap(true);
    m_nodeInfo->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_tabs);
    layout->addWidget(m_state);
    layout->addWidget(m_error);
    layout->addWidget(m_nodeInfo);
    layout->addStretch(1);
    showState(NodeSource::State::Stopped, {}, {});
}

QWidget *NodePanel::embeddedPage() {
    auto *page = new QWidget;
    m_listen = new QComboBox(page);
    m_listen->addItem(tr("This computer only (127.0.0.1)"), QStringLiteral("127.0.0.1"));
    m_listen->addItem(tr("All interfaces"), QStringLiteral("any"));
    m_port = new QSpinBox(page);
    m_port->setRange(0, 65535);
    m_port->setValue(ServerOptions::DefaultPort);
    m_port->setToolTip(tr("0 picks a free port."));
    m_maxMessageKiB = new QSpinBox(page);
    m_maxMessageKiB->setRange(1, MaxMessageKiBLimit);
    m_maxMessageKiB->setValue(int(Limits::DefaultMaxMessageSize / 1024));
    m_maxMessageKiB->setSuffix(tr(" KiB"));
    m_maxChannels = new QSpinBox(page);
    m_maxChannels->setRange(1, 1 << 20);
    m_maxChannels->setValue(ServerOptions::DefaultMaxChannelsPerConnection);
    m_wildcards = new QCheckBox(tr("Allow * and > subscriptions"), page);
    m_nats = new QLineEdit(page);
    m_nats->setPlaceholderText(tr("nats://127.0.0.1:4222 (optional)"));
    if (!EmbeddedSource::natsAvailable()) {
        m_nats->setEnabled(false);
        m_nats->setPlaceholderText(tr("not available in this build"));
        m_nats->setToolTip(tr("This build of lhttp-admin has no NATS support."));
    }
    m_start = new QPushButton(page);
    m_start->setObjectName(QStringLiteral("startButton"));
    connect(m_start, &QPushButton::clicked, this, [this] {
        if (m_running)
            Q_EMIT stopRequested();
        else
            Q_EMIT startEmbeddedRequested();
    });

    auto *form = new QFormLayout(page);
    form->addRow(tr("Listen on:"), m_listen);
    form->addRow(tr("Port:"), m_port);
    form->addRow(tr("Max message size:"), m_maxMessageKiB);
    form->addRow(tr("Channels per connection:"), m_maxChannels);
    form->addRow(QString(), m_wildcards);
    form->addRow(tr("NATS URL:"), m_nats);
    form->addRow(m_start);
    return page;
}

QWidget *NodePanel::attachPage() {
    auto *page = new QWidget;
    m_url = new QLineEdit(QString::fromLatin1(DefaultAttachUrl), page);
    m_url->setObjectName(QStringLiteral("urlEdit"));
    m_url->setToolTip(tr("The node's admin endpoint: ws://host:port/admin"));
    m_token = new QLineEdit(page);
    m_token->setObjectName(QStringLiteral("tokenEdit"));
    m_token->setEchoMode(QLineEdit::Password);
    m_token->setPlaceholderText(tr("the node's --admin-token"));
    m_attach = new QPushButton(page);
    m_attach->setObjectName(QStringLiteral("attachButton"));
    connect(m_attach, &QPushButton::clicked, this, [this] {
        if (m_running)
            Q_EMIT stopRequested();
        else
            Q_EMIT attachRequested();
    });
    connect(m_token, &QLineEdit::returnPressed, m_attach, &QPushButton::click);

    auto *form = new QFormLayout(page);
    form->addRow(tr("Admin URL:"), m_url);
    form->addRow(tr("Token:"), m_token);
    form->addRow(m_attach);
    return page;
}

NodePanel::Mode NodePanel::mode() const {
    return m_tabs->currentIndex() == 0 ? Mode::Embedded : Mode::Attach;
}

void NodePanel::setMode(Mode mode) {
    m_tabs->setCurrentIndex(mode == Mode::Embedded ? 0 : 1);
}

ServerOptions NodePanel::embeddedOptions() const {
    ServerOptions o;
    o.address = m_listen->currentData().toString() == u"any"
                    ? QHostAddress(QHostAddress::Any)
                    : QHostAddress(QHostAddress::LocalHost);
    o.port = quint16(m_port->value());
    o.limits.maxMessageSize = qsizetype(m_maxMessageKiB->value()) * 1024;
    o.maxChannelsPerConnection = m_maxChannels->value();
    o.allowWildcards = m_wildcards->isChecked();
    return o;
}

QString NodePanel::natsUrl() const {
    return m_nats->text().trimmed();
}

QUrl NodePanel::attachUrl() const {
    return QUrl::fromUserInput(m_url->text().trimmed());
}

QByteArray NodePanel::token() const {
    return m_token->text().trimmed().toUtf8();
}

void NodePanel::setAttachUrl(const QUrl &url) {
    m_url->setText(url.toString());
}

void NodePanel::setToken(const QByteArray &token) {
    m_token->setText(QString::fromUtf8(token));
}

void NodePanel::setPort(quint16 port) {
    m_port->setValue(port);
}

void NodePanel::showState(NodeSource::State state, const QString &nodeName, const QString &error) {
    m_running = state == NodeSource::State::Running || state == NodeSource::State::Starting;
    const bool embedded = mode() == Mode::Embedded;
    m_tabs->setTabEnabled(embedded ? 1 : 0, !m_running);
    for (QWidget *w : {static_cast<QWidget *>(m_listen), static_cast<QWidget *>(m_port),
                       static_cast<QWidget *>(m_maxMessageKiB),
                       static_cast<QWidget *>(m_maxChannels), static_cast<QWidget *>(m_wildcards),
                       static_cast<QWidget *>(m_url), static_cast<QWidget *>(m_token)})
        w->setEnabled(!m_running);
    m_nats->setEnabled(!m_running && EmbeddedSource::natsAvailable());

    m_start->setText(m_running && embedded ? tr("Stop node") : tr("Start node"));
    m_start->setIcon(QIcon(m_running && embedded ? QStringLiteral(":/admin/icons/stop.svg")
                                                 : QStringLiteral(":/admin/icons/start.svg")));
    m_attach->setText(m_running && !embedded ? tr("Detach") : tr("Attach"));
    m_attach->setIcon(QIcon(m_running && !embedded ? QStringLiteral(":/admin/icons/detach.svg")
                                                   : QStringLiteral(":/admin/icons/attach.svg")));

    switch (state) {
    case NodeSource::State::Stopped:
        m_state->setText(tr("No node."));
        break;
    case NodeSource::State::Starting:
        m_state->setText(embedded ? tr("Starting…") : tr("Attaching to %1…").arg(nodeName));
        break;
    case NodeSource::State::Running:
        m_state->setText(embedded ? tr("Running: %1.").arg(nodeName)
                                  : tr("Attached to %1.").arg(nodeName));
        break;
    case NodeSource::State::Failed:
        m_state->setText(tr("Failed."));
        break;
    }
    m_error->setText(error);
    m_error->setVisible(!error.isEmpty());
    if (state != NodeSource::State::Running)
        m_nodeInfo->clear();
}

void NodePanel::showNode(const QString &address, const QString &version, const QString &broker) {
    m_nodeInfo->setText(tr("Node %1 · lhttp-qt %2 · broker: %3").arg(address, version, broker));
}

QString NodePanel::errorText() const {
    return m_error->isVisible() ? m_error->text() : QString();
}

void NodePanel::loadSettings() {
    QSettings s;
    s.beginGroup(QStringLiteral("node"));
    setMode(s.value(QStringLiteral("mode")).toString() == u"attach" ? Mode::Attach
                                                                    : Mode::Embedded);
    m_url->setText(
        s.value(QStringLiteral("url"), QString::fromLatin1(DefaultAttachUrl)).toString());
    m_port->setValue(s.value(QStringLiteral("port"), ServerOptions::DefaultPort).toInt());
    m_listen->setCurrentIndex(s.value(QStringLiteral("listenAll")).toBool() ? 1 : 0);
    m_maxMessageKiB->setValue(
        s.value(QStringLiteral("maxMessageKiB"), m_maxMessageKiB->value()).toInt());
    m_maxChannels->setValue(s.value(QStringLiteral("maxChannels"), m_maxChannels->value()).toInt());
    m_wildcards->setChecked(s.value(QStringLiteral("wildcards")).toBool());
    m_nats->setText(s.value(QStringLiteral("nats")).toString());
}

void NodePanel::saveSettings() const {
    // The token is not kept: it is a credential, and settings files are not secret.
    QSettings s;
    s.beginGroup(QStringLiteral("node"));
    s.setValue(QStringLiteral("mode"),
               mode() == Mode::Attach ? QStringLiteral("attach") : QStringLiteral("embedded"));
    s.setValue(QStringLiteral("url"), m_url->text().trimmed());
    s.setValue(QStringLiteral("port"), m_port->value());
    s.setValue(QStringLiteral("listenAll"), m_listen->currentIndex() == 1);
    s.setValue(QStringLiteral("maxMessageKiB"), m_maxMessageKiB->value());
    s.setValue(QStringLiteral("maxChannels"), m_maxChannels->value());
    s.setValue(QStringLiteral("wildcards"), m_wildcards->isChecked());
    s.setValue(QStringLiteral("nats"), m_nats->text().trimmed());
}

} // namespace lhttp

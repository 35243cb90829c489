// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "mainwindow.h"

#include "channelsview.h"
#include "connectionsview.h"
#include "embeddedsource.h"
#include "format.h"
#include "nodepanel.h"
#include "nodestate.h"
#include "publishpanel.h"
#include "ratechart.h"
#include "remotesource.h"
#include "trafficview.h"

#include <QCloseEvent>
#include <QDockWidget>
#include <QIcon>
#include <QLabel>
#include <QLocale>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>

// Resources live in a static library: their registration must be pulled in by hand.
static void initAdminResources() {
    Q_INIT_RESOURCE(admin);
}

namespace lhttp {

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_state(new NodeState(this)) {
    initAdminResources();
    setWindowIcon(QIcon(QStringLiteral(":/admin/icons/lhttp-admin.svg")));
    setWindowTitle(tr("lhttp admin console"));
    setObjectName(QStringLiteral("mainWindow"));

    m_chart = new RateChart(m_state->rates(), this);
    m_connections = new ConnectionsView(m_state->connections(), this);
    m_channels = new ChannelsView(m_state->channels(), m_state->connections(), this);
    m_traffic = new TrafficView(m_state->traffic(), this);
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("viewTabs"));
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(m_connections, QIcon(QStringLiteral(":/admin/icons/connections.svg")),
                   tr("Connections"));
    m_tabs->addTab(m_channels, QIcon(QStringLiteral(":/admin/icons/channels.svg")), tr("Channels"));
    m_tabs->addTab(m_traffic, QIcon(QStringLiteral(":/admin/icons/traffic.svg")), tr("Traffic"));
    auto *centre = new QSplitter(Qt::Vertical, this);
    centre->addWidget(m_chart);
    centre->addWidget(m_tabs);
    centre->setStretchFactor(0, 0);
    centre->setStretchFactor(1, 1);
    centre->setChildrenCollapsible(false);
    setCentralWidget(centre);

    m_nodePanel = new NodePanel(this);
    auto *nodeDock = new QDockWidget(tr("Node"), this);
    nodeDock->setObjectName(QStringLiteral("nodeDock"));
    nodeDock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    nodeDock->setWidget(m_nodePanel);
    addDockWidget(Qt::LeftDockWidgetArea, nodeDock);

    m_publish = new PublishPanel(m_state, this);
    auto *publishDock = new QDockWidget(tr("Publish"), this);
    publishDock->setObjectName(QStringLiteral("publishDock"));
    publishDock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    publishDock->setWidget(m_publish);
    addDockWidget(Qt::RightDockWidgetArea, publishDock);

    m_nodeLabel = new QLabel(this);
    m_brokerLabel = new QLabel(this);
    m_countsLabel = new QLabel(this);
    m_gapLabel = new QLabel(this);
    m_gapLabel->setStyleSheet(QStringLiteral("color: #b71c1c"));
    m_closesLabel = new QLabel(this);
    m_closesLabel->setObjectName(QStringLiteral("closesLabel"));
    m_closesLabel->setStyleSheet(QStringLiteral("color: #8e24aa"));
    m_closesLabel->setToolTip(
        tr("Connections the node closed or refused since it started; the traffic log lists "
           "each close (direction \"Closes\")"));
    statusBar()->addWidget(m_nodeLabel);
    statusBar()->addWidget(m_brokerLabel);
    statusBar()->addPermanentWidget(m_gapLabel);
    statusBar()->addPermanentWidget(m_closesLabel);
    statusBar()->addPermanentWidget(m_countsLabel);

    connect(m_nodePanel, &NodePanel::startEmbeddedRequested, this,
            qOverload<>(&MainWindow::startEmbedded));
    connect(m_nodePanel, &NodePanel::attachRequested, this,
            [this] { attach(m_nodePanel->attachUrl(), m_nodePanel->token()); });
    connect(m_nodePanel, &NodePanel::stopRequested, this, &MainWindow::stopNode);
    connect(m_connections, &ConnectionsView::closeRequested, this,
            [this](const QList<quint64> &ids) {
                for (quint64 id : ids)
                    m_state->closeConnection(id);
            });
    connect(m_state, &NodeState::updated, this, &MainWindow::updateStatus);

    restoreSettings();
    showSourceState();
    updateStatus();
}

MainWindow::~MainWindow() {
    // The models outlive the source: detach them before it goes.
    m_state->setSource(nullptr);
    m_source.reset();
}

void MainWindow::startEmbedded() {
    startEmbedded(m_nodePanel->embeddedOptions(), m_nodePanel->natsUrl());
}

void MainWindow::startEmbedded(const ServerOptions &options, const QString &natsUrl) {
    m_nodePanel->setMode(NodePanel::Mode::Embedded);
    auto source = std::make_unique<EmbeddedSource>();
    EmbeddedSource *embedded = source.get();
    setSource(std::move(source));
    embedded->start(options, natsUrl);
}

void MainWindow::attach(const QUrl &url, const QByteArray &token) {
    m_nodePanel->setMode(NodePanel::Mode::Attach);
    m_nodePanel->setAttachUrl(url);
    auto source = std::make_unique<RemoteSource>();
    RemoteSource *remote = source.get();
    setSource(std::move(source));
    remote->attach(url, token);
}

void MainWindow::stopNode() {
    if (m_source)
        m_source->stop();
}

void MainWindow::showTab(Tab tab) {
    m_tabs->setCurrentIndex(int(tab));
}

void MainWindow::setSource(std::unique_ptr<NodeSource> source) {
    m_state->setSource(nullptr);
    m_source = std::move(source);
    m_state->setSource(m_source.get());
    if (m_source)
        connect(m_source.get(), &NodeSource::stateChanged, this, &MainWindow::showSourceState);
    showSourceState();
}

void MainWindow::showSourceState() {
    const NodeSource::State state = m_source ? m_source->state() : NodeSource::State::Stopped;
    m_nodePanel->showState(state, m_source ? m_source->nodeName() : QString(),
                           m_source ? m_source->errorString() : QString());
    setWindowTitle(state == NodeSource::State::Running
                       ? tr("%1 — lhttp admin console").arg(m_source->nodeName())
                       : tr("lhttp admin console"));
    updateStatus();
}

QString MainWindow::statusText() const {
    QStringList parts;
    for (const QLabel *l : {m_nodeLabel, m_brokerLabel, m_gapLabel, m_closesLabel, m_countsLabel}) {
        if (!l->text().isEmpty())
            parts << l->text();
    }
    return parts.join(QStringLiteral(" | "));
}

void MainWindow::updateStatus() {
    const bool running = m_source && m_source->state() == NodeSource::State::Running;
    if (!running) {
        m_nodeLabel->setText(tr("No node"));
        m_brokerLabel->clear();
        m_countsLabel->clear();
        m_gapLabel->clear();
        m_closesLabel->clear();
        return;
    }
    const Admin::NodeInfo &node = m_state->node();
    const bool embedded = qobject_cast<EmbeddedSource *>(m_source.get()) != nullptr;
    m_nodeLabel->setText(embedded ? tr("Embedded node %1").arg(node.address)
                                  : tr("Node %1 (%2)").arg(m_source->nodeName(), node.address));
    const QString url = m_state->brokerUrl();
    switch (m_state->brokerState()) {
    case Broker::State::Embedded:
        m_brokerLabel->setText(tr("Broker: embedded"));
        break;
    case Broker::State::Connecting:
        m_brokerLabel->setText(tr("Broker: NATS connecting"));
        break;
    case Broker::State::Connected:
        m_brokerLabel->setText(url.isEmpty() ? tr("Broker: NATS connected")
                                             : tr("Broker: NATS connected (%1)").arg(url));
        break;
    case Broker::State::Reconnecting:
        m_brokerLabel->setText(tr("Broker: NATS reconnecting"));
        break;
    case Broker::State::Disconnected:
        m_brokerLabel->setText(tr("Broker: NATS disconnected"));
        break;
    }
    m_nodePanel->showNode(node.address, node.version, node.broker);
    const Admin::Totals &t = m_state->totals();
    const QLocale l;
    m_countsLabel->setText(
        tr("%1 connections · %2 channels · %3 subscriptions · in %4/s · out %5/s")
            .arg(l.toString(t.connections), l.toString(t.channels),
                 l.toString(qint64(t.subscriptions)), Format::rate(m_state->messagesInPerSecond()),
                 Format::rate(m_state->messagesOutPerSecond())));
    m_gapLabel->setText(m_state->gaps()
                            ? tr("%1 updates missed (slow link)").arg(l.toString(m_state->gaps()))
                            : QString());
    // What the node's protections did since it started; only the counters that moved.
    QStringList closes;
    const auto add = [&](quint64 n, const QString &text) {
        if (n)
            closes << text.arg(l.toString(n));
    };
    add(t.slowConsumers, tr("slow consumers closed: %1"));
    add(t.keepaliveTimeouts, tr("keepalive timeouts: %1"));
    add(t.idleTimeouts, tr("idle timeouts: %1"));
    add(t.rateLimited, tr("rate-limited messages: %1"));
    add(t.connectionsRefused, tr("refused at handshake: %1"));
    m_closesLabel->setText(closes.join(QStringLiteral(" · ")));
}

void MainWindow::restoreSettings() {
    QSettings s;
    if (!restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray()))
        resize(1400, 860);
    if (!restoreState(s.value(QStringLiteral("window/state")).toByteArray())) {
        // First start: narrow side panels, the room to the tables.
        const int em = fontMetrics().horizontalAdvance(QLatin1Char('M'));
        resizeDocks({findChild<QDockWidget *>(QStringLiteral("nodeDock")),
                     findChild<QDockWidget *>(QStringLiteral("publishDock"))},
                    {20 * em, 22 * em}, Qt::Horizontal);
    }
    m_tabs->setCurrentIndex(s.value(QStringLiteral("window/tab"), 0).toInt());
    m_nodePanel->loadSettings();
}

void MainWindow::saveSettings() const {
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    s.setValue(QStringLiteral("window/tab"), m_tabs->currentIndex());
    m_nodePanel->saveSettings();
}

void MainWindow::closeEvent(QCloseEvent *event) {
    saveSettings();
    event->accept();
}

} // namespace lhttp

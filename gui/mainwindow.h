// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "nodesource.h"
#include "serveroptions.h"

#include <QMainWindow>

#include <memory>

class QLabel;
class QTabWidget;

namespace lhttp {

class ChannelsView;
class ConnectionsView;
class NodePanel;
class NodeState;
class PublishPanel;
class RateChart;
class TrafficView;

// The admin console: a node panel (embedded or attach) on the left, the rate chart over the
// connections / channels / traffic tabs in the middle, the publish panel on the right, and the
// node's state in the status bar. The same views whatever the source.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum class Tab { Connections, Channels, Traffic };
    Q_ENUM(Tab)

    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // Starts a node inside the console with the node panel's settings, or with these.
    void startEmbedded();
    void startEmbedded(const ServerOptions &options, const QString &natsUrl = {});
    // Attaches to a headless node's admin endpoint.
    void attach(const QUrl &url, const QByteArray &token);
    void stopNode();
    void showTab(Tab tab);

    NodeState *state() const { return m_state; }
    NodeSource *source() const { return m_source.get(); }
    NodePanel *nodePanel() const { return m_nodePanel; }
    ConnectionsView *connectionsView() const { return m_connections; }
    ChannelsView *channelsView() const { return m_channels; }
    TrafficView *trafficView() const { return m_traffic; }
    PublishPanel *publishPanel() const { return m_publish; }
    RateChart *rateChart() const { return m_chart; }
    // The status bar's text, for tests and scripts.
    QString statusText() const;

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void setSource(std::unique_ptr<NodeSource> source);
    void showSourceState();
    void updateStatus();
    void restoreSettings();
    void saveSettings() const;

    NodeState *m_state;
    std::unique_ptr<NodeSource> m_source;
    NodePanel *m_nodePanel;
    RateChart *m_chart;
    QTabWidget *m_tabs;
    ConnectionsView *m_connections;
    ChannelsView *m_channels;
    TrafficView *m_traffic;
    PublishPanel *m_publish;
    QLabel *m_nodeLabel;
    QLabel *m_brokerLabel;
    QLabel *m_countsLabel;
    QLabel *m_gapLabel;
    QLabel *m_closesLabel;
};

} // namespace lhttp

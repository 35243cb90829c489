// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "nodesource.h"
#include "serveroptions.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTabWidget;

namespace lhttp {

// Where the console gets its node: start one inside the console (Embedded) or attach to a
// headless one (Attach). Shows the source's state and, in red, why it failed.
class NodePanel : public QWidget {
    Q_OBJECT
public:
    enum class Mode { Embedded, Attach };
    Q_ENUM(Mode)

    explicit NodePanel(QWidget *parent = nullptr);

    Mode mode() const;
    void setMode(Mode mode);
    ServerOptions embeddedOptions() const;
    QString natsUrl() const;
    QUrl attachUrl() const;
    QByteArray token() const;
    void setAttachUrl(const QUrl &url);
    void setToken(const QByteArray &token);
    void setPort(quint16 port);

    // Follows the source: buttons, state text, and the error message when it failed.
    void showState(NodeSource::State state, const QString &nodeName, const QString &error);
    void showNode(const QString &address, const QString &version, const QString &broker);
    QString errorText() const;

    void loadSettings();
    void saveSettings() const;

    // For tests and scripts.
    QPushButton *startButton() const { return m_start; }
    QPushButton *attachButton() const { return m_attach; }
    QLineEdit *urlEdit() const { return m_url; }
    QLineEdit *tokenEdit() const { return m_token; }
    QLabel *errorLabel() const { return m_error; }

Q_SIGNALS:
    void startEmbeddedRequested();
    void attachRequested();
    void stopRequested();

private:
    QWidget *embeddedPage();
    QWidget *attachPage();

    QTabWidget *m_tabs;
    QComboBox *m_listen;
    QSpinBox *m_port;
    QSpinBox *m_maxMessageKiB;
    QSpinBox *m_maxChannels;
    QCheckBox *m_wildcards;
    QLineEdit *m_nats;
    QPushButton *m_start;
    QLineEdit *m_url;
    QLineEdit *m_token;
    QPushButton *m_attach;
    QLabel *m_state;
    QLabel *m_error;
    QLabel *m_nodeInfo;
    bool m_running = false;
};

} // namespace lhttp

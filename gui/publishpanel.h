// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QTableView;

namespace lhttp {

class NodeState;

// Publishes a message by hand: channels, command, headers, body; keeps a history of what was
// sent and what the node answered. A history row double-clicked fills the form again.
class PublishPanel : public QWidget {
    Q_OBJECT
public:
    explicit PublishPanel(NodeState *state, QWidget *parent = nullptr);

    QLineEdit *channelsEdit() const { return m_channels; }
    QLineEdit *commandEdit() const { return m_command; }
    QPlainTextEdit *headersEdit() const { return m_headers; }
    QPlainTextEdit *bodyEdit() const { return m_body; }
    QPushButton *sendButton() const { return m_send; }
    QTableView *historyTable() const { return m_history; }
    QString resultText() const;

private:
    void send();
    void load(int row);

    NodeState *m_state;
    QLineEdit *m_channels;
    QLineEdit *m_command;
    QPlainTextEdit *m_headers;
    QPlainTextEdit *m_body;
    QPushButton *m_send;
    QLabel *m_result;
    QTableView *m_history;
    quint64 m_lastRequest = 0;
};

} // namespace lhttp

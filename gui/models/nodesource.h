// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "adminwire.h"

#include <QObject>
#include <QString>

namespace lhttp {

// Where the console's picture of a node comes from: a node running inside the console
// (EmbeddedSource) or a headless node's admin endpoint (RemoteSource). Either way the models
// get one snapshot, then one batch per interval (docs/ADMIN.md), never a signal per message.
class NodeSource : public QObject {
    Q_OBJECT
public:
    enum class State { Stopped, Starting, Running, Failed };
    Q_ENUM(State)

    using QObject::QObject;
    ~NodeSource() override;

    State state() const { return m_state; }
    // Why the source failed or stopped, for the user; empty when it did not.
    QString errorString() const { return m_error; }
    // The node as the user would name it: "embedded on port 8081", "ws://host:8081/admin".
    virtual QString nodeName() const = 0;
    virtual void stop() = 0;

    // Publishes `message`, a whole LHTTP message whose `publish` header names the channels.
    // Returns a request number; the outcome comes as commandFinished with that number.
    virtual quint64 publish(const QByteArray &message) = 0;
    // Closes a connection of the node.
    virtual quint64 closeConnection(quint64 id) = 0;

Q_SIGNALS:
    void stateChanged(lhttp::NodeSource::State state);
    void snapshotReceived(const lhttp::Admin::Snapshot &snapshot);
    void batchReceived(const lhttp::Admin::Batch &batch);
    // code is 200 on success, else the node's error status (or 0 when it never answered).
    void commandFinished(quint64 request, int code, const QString &reason);

protected:
    void setState(State state, const QString &error = {});
    quint64 nextRequest() { return ++m_lastRequest; }

private:
    State m_state = State::Stopped;
    QString m_error;
    quint64 m_lastRequest = 0;
};

} // namespace lhttp

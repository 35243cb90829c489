// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QAbstractTableModel>
#include <QByteArray>

#include <deque>

namespace lhttp {

// Messages published from the console, newest first, with the node's answer.
class PublishHistoryModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Time, Channels, Command, Size, Result, ColumnCount };
    Q_ENUM(Column)
    static constexpr int Capacity = 200;

    struct Entry {
        qint64 timeMs = 0;
        quint64 request = 0;
        QByteArray channels;
        QByteArray command;
        QByteArray headers; // name:value lines
        QByteArray body;
        qsizetype size = 0;
        int code = -1; // -1 while waiting for the node
        QString reason;
    };

    explicit PublishHistoryModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void add(const Entry &entry);
    // Records the node's answer to `request`; false if no entry has that request.
    bool setResult(quint64 request, int code, const QString &reason);
    const Entry &entryAt(int row) const { return m_entries[size_t(row)]; }
    void clear();

private:
    std::deque<Entry> m_entries;
};

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QList>
#include <QNetworkAccessManager>
#include <QPair>
#include <QUrl>

// Synchronous HTTP for tests, over QNetworkAccessManager (a real client on loopback).
struct HttpResult {
    int status = 0;
    QByteArray body;
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray header(const QByteArray &name) const;
};

HttpResult httpRequest(QNetworkAccessManager &nam, const QByteArray &method, const QUrl &url,
                       const QByteArray &body = {},
                       const QList<QPair<QByteArray, QByteArray>> &headers = {},
                       int timeoutMs = 10000);

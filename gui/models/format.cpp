// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "format.h"

#include <QDateTime>
#include <QLocale>

namespace lhttp::Format {

QString bytes(quint64 bytes) {
    return QLocale().formattedDataSize(qint64(bytes), 1, QLocale::DataSizeIecFormat);
}

QString rate(double perSecond) {
    return QLocale().toString(perSecond, 'f', perSecond < 10 && perSecond > 0 ? 1 : 0);
}

QString timeOfDay(qint64 ms) {
    const QDateTime t = QDateTime::fromMSecsSinceEpoch(ms);
    if (t.date() == QDate::currentDate())
        return t.toString(QStringLiteral("HH:mm:ss"));
    return t.toString(QStringLiteral("yyyy-MM-dd HH:mm"));
}

QString timeWithMilliseconds(qint64 ms) {
    return QDateTime::fromMSecsSinceEpoch(ms).toString(QStringLiteral("HH:mm:ss.zzz"));
}

QString dateTime(qint64 ms) {
    return QLocale().toString(QDateTime::fromMSecsSinceEpoch(ms), QLocale::LongFormat);
}

QString preview(const QByteArray &bytes) {
    QString text = QString::fromUtf8(bytes);
    for (QChar &c : text) {
        if (c == u'\n' || c == u'\r')
            c = QChar(0x21B5); // ↵
        else if (c == u'\t')
            c = QChar(0x2192); // →
        else if (c.category() == QChar::Other_Control)
            c = QChar(0x00B7); // ·
    }
    return text;
}

} // namespace lhttp::Format

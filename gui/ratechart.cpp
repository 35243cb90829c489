// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "ratechart.h"

#include "format.h"
#include "ratehistory.h"

#include <QLocale>
#include <QPainter>
#include <QPainterPath>

#include <cmath>

namespace lhttp {

namespace {

constexpr int GridLines = 4;
constexpr int Padding = 8;
const QColor InColor(0x15, 0x65, 0xc0);
const QColor OutColor(0x2e, 0x7d, 0x32);

// The smallest "nice" number (1, 2 or 5 times a power of ten) at or above `value`, so the
// axis reads 0, 250, 500, … rather than 0, 237, 474, ….
double niceCeiling(double value) {
    if (value <= 0)
        return 1;
    const double magnitude = std::pow(10.0, std::floor(std::log10(value)));
    for (double step : {1.0, 2.0, 2.5, 5.0, 10.0}) {
        if (step * magnitude >= value)
            return step * magnitude;
    }
    return 10 * magnitude;
}

} // namespace

RateChart::RateChart(RateHistory *history, QWidget *parent)
    : QWidget(parent)
    , m_history(history) {
    setObjectName(QStringLiteral("rateChart"));
    setAttribute(Qt::WA_OpaquePaintEvent);
    connect(history, &RateHistory::changed, this, qOverload<>(&QWidget::update));
}

QSize RateChart::sizeHint() const {
    return {600, 170};
}

QSize RateChart::minimumSizeHint() const {
    return {200, 90};
}

void RateChart::paintEvent(QPaintEvent *) {
    QPainter p(this);
    p.fillRect(rect(), palette().base());
    p.setRenderHint(QPainter::Antialiasing);
    const QFontMetrics fm = fontMetrics();
    const QLocale locale;
    const QList<RateHistory::Point> &points = m_history->points();

    const double top = niceCeiling(m_history->peak() * 1.1);
    const QString widest = locale.toString(qint64(top));
    const QRectF plot(Padding + fm.horizontalAdvance(widest) + 6, Padding + fm.height() + 4,
                      width() - 2 * Padding - fm.horizontalAdvance(widest) - 6,
                      height() - 2 * Padding - 2 * fm.height() - 8);
    if (plot.width() < 20 || plot.height() < 20)
        return;

    // Grid and value axis.
    p.setPen(QPen(palette().mid().color(), 0));
    for (int i = 0; i <= GridLines; ++i) {
        const double y = plot.bottom() - plot.height() * i / GridLines;
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
        const QString label = locale.toString(qint64(top * i / GridLines));
        p.setPen(palette().text().color());
        p.drawText(QRectF(Padding, y - fm.height() / 2.0, plot.left() - Padding - 6, fm.height()),
                   Qt::AlignRight | Qt::AlignVCenter, label);
        p.setPen(QPen(palette().mid().color(), 0));
    }

    // Time axis: the span ends at the newest point, a label per minute.
    const qint64 span = m_history->spanMs();
    const qint64 now = points.isEmpty() ? 0 : points.last().timeMs;
    const int minutes = int(span / 60000);
    p.setPen(palette().text().color());
    for (int m = 0; m <= minutes; ++m) {
        const double x = plot.right() - plot.width() * m * 60000.0 / double(span);
        const QString label = m == 0 ? tr("now") : tr("−%1 min").arg(m);
        const int w = fm.horizontalAdvance(label);
        p.drawText(QPointF(std::clamp(x - w / 2.0, plot.left(), plot.right() - w),
                           plot.bottom() + fm.ascent() + 4),
                   label);
    }

    // The two series.
    const auto line = [&](auto value, const QColor &color) {
        QPainterPath path;
        bool started = false;
        for (const RateHistory::Point &pt : points) {
            const double x = plot.right() - plot.width() * double(now - pt.timeMs) / double(span);
            const double y = plot.bottom() - plot.height() * std::min(value(pt) / top, 1.0);
            if (started)
                path.lineTo(x, y);
            else
                path.moveTo(x, y);
            started = true;
        }
        p.setPen(QPen(color, 1.6));
        p.drawPath(path);
    };
    p.save();
    p.setClipRect(plot.adjusted(-1, -1, 1, 1));
    line([](const RateHistory::Point &pt) { return pt.in; }, InColor);
    line([](const RateHistory::Point &pt) { return pt.out; }, OutColor);
    p.restore();

    // Legend with the latest values.
    const double in = points.isEmpty() ? 0 : points.last().in;
    const double out = points.isEmpty() ? 0 : points.last().out;
    const QString title = tr("Messages per second");
    p.setPen(palette().text().color());
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    p.drawText(QPointF(plot.left(), Padding + fm.ascent()), title);
    p.setFont(font());
    double x = plot.left() + QFontMetrics(bold).horizontalAdvance(title) + 16;
    for (const auto &[label, color] :
         {std::pair{tr("received %1/s").arg(Format::rate(in)), InColor},
          std::pair{tr("sent %1/s").arg(Format::rate(out)), OutColor}}) {
        p.fillRect(QRectF(x, Padding + fm.ascent() - 8, 14, 4), color);
        p.drawText(QPointF(x + 18, Padding + fm.ascent()), label);
        x += 18 + fm.horizontalAdvance(label) + 16;
    }
}

} // namespace lhttp

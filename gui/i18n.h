// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QLocale>

class QCoreApplication;

namespace lhttp {

// Installs the console's translation (built into the binary from translations/lhttp_*.ts) and
// Qt's own for `locale`, and makes it the default locale for numbers and dates. Returns false
// when there is no console translation for it (English is then what shows).
bool installTranslations(QCoreApplication *app, const QLocale &locale);

} // namespace lhttp

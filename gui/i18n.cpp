// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "i18n.h"

#include <QCoreApplication>
#include <QLibraryInfo>
#include <QTranslator>

namespace lhttp {

bool installTranslations(QCoreApplication *app, const QLocale &locale) {
    QLocale::setDefault(locale);
    // Parented to the application: translators must live as long as it does.
    auto *qt = new QTranslator(app);
    if (qt->load(locale, QStringLiteral("qtbase"), QStringLiteral("_"),
                 QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
        QCoreApplication::installTranslator(qt);
    else
        delete qt;
    auto *own = new QTranslator(app);
    // qt_add_translations puts the .qm files under :/i18n.
    if (own->load(locale, QStringLiteral("lhttp"), QStringLiteral("_"), QStringLiteral(":/i18n"))) {
        QCoreApplication::installTranslator(own);
        return true;
    }
    delete own;
    return false;
}

} // namespace lhttp

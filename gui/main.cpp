// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// lhttp-admin: the desktop admin console. Thin on purpose: options in, MainWindow out.

#include "i18n.h"
#include "mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>
#include <QUrl>

#include <cstdio>

namespace {

constexpr int DefaultScreenshotDelayMs = 5000;

// The --lang value, looked for before the parser exists: its help text is translated too.
QString requestedLanguage(const QStringList &args) {
    for (qsizetype i = 1; i < args.size(); ++i) {
        if (args[i] == u"--lang" && i + 1 < args.size())
            return args[i + 1];
        if (args[i].startsWith(u"--lang="))
            return args[i].mid(7);
    }
    return {};
}

QSize parseSize(const QString &text) {
    const QStringList wh = text.split(QLatin1Char('x'));
    return wh.size() == 2 ? QSize(wh[0].toInt(), wh[1].toInt()) : QSize();
}

} // namespace

int main(int argc, char *argv[]) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("lhttp-qt"));
    QApplication::setApplicationName(QStringLiteral("lhttp-admin"));
    QApplication::setApplicationVersion(QStringLiteral(LHTTP_VERSION));

    const QString language = requestedLanguage(QCoreApplication::arguments());
    lhttp::installTranslations(&app, language.isEmpty() ? QLocale::system() : QLocale(language));

    QCommandLineParser parser;
    parser.setApplicationDescription(QCoreApplication::translate(
        "lhttp-admin", "lhttp-admin: watch and operate an lhttp-qt node, inside the "
                       "console (--embedded) or attached to a headless lhttpd-qt "
                       "(--attach)."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption lang(
        QStringLiteral("lang"),
        QCoreApplication::translate("lhttp-admin",
                                    "Use this language (zh_CN, en) instead of the system's."),
        QStringLiteral("locale"));
    const QCommandLineOption embedded(
        QStringLiteral("embedded"),
        QCoreApplication::translate("lhttp-admin", "Start a node inside the console at once."));
    const QCommandLineOption port(
        QStringLiteral("port"),
        QCoreApplication::translate("lhttp-admin", "Port of the embedded node (default: 8081)."),
        QStringLiteral("port"));
    const QCommandLineOption attach(
        QStringLiteral("attach"),
        QCoreApplication::translate(
            "lhttp-admin", "Attach at once to this admin endpoint (ws://host:port/admin)."),
        QStringLiteral("url"));
    const QCommandLineOption token(
        QStringLiteral("token"),
        QCoreApplication::translate("lhttp-admin", "Admin token for --attach (default: the "
                                                   "LHTTP_ADMIN_TOKEN environment variable)."),
        QStringLiteral("token"));
    const QCommandLineOption tab(
        QStringLiteral("tab"),
        QCoreApplication::translate("lhttp-admin",
                                    "Show this tab: connections, channels or traffic."),
        QStringLiteral("name"));
    const QCommandLineOption size(
        QStringLiteral("size"),
        QCoreApplication::translate("lhttp-admin", "Window size, e.g. 1400x860."),
        QStringLiteral("WxH"));
    const QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        QCoreApplication::translate("lhttp-admin", "Save a picture of the window to this PNG file "
                                                   "after --screenshot-delay, then quit."),
        QStringLiteral("file"));
    const QCommandLineOption screenshotDelay(
        QStringLiteral("screenshot-delay"),
        QCoreApplication::translate("lhttp-admin",
                                    "Milliseconds to wait before --screenshot (default: 5000)."),
        QStringLiteral("ms"));
    parser.addOptions(
        {lang, embedded, port, attach, token, tab, size, screenshot, screenshotDelay});
    parser.process(app);

    {
        lhttp::MainWindow window;
        if (parser.isSet(size) && parseSize(parser.value(size)).isValid())
            window.resize(parseSize(parser.value(size)));
        if (parser.isSet(tab)) {
            const QString t = parser.value(tab).toLower();
            window.showTab(t == u"traffic"    ? lhttp::MainWindow::Tab::Traffic
                           : t == u"channels" ? lhttp::MainWindow::Tab::Channels
                                              : lhttp::MainWindow::Tab::Connections);
        }
        window.show();

        if (parser.isSet(attach)) {
            const QByteArray key =
                parser.isSet(token) ? parser.value(token).toUtf8() : qgetenv("LHTTP_ADMIN_TOKEN");
            window.attach(QUrl(parser.value(attach)), key);
        } else if (parser.isSet(embedded)) {
            lhttp::ServerOptions options;
            options.address = QHostAddress::LocalHost;
            if (parser.isSet(port))
                options.port = quint16(parser.value(port).toUInt());
            window.startEmbedded(options);
        }

        if (parser.isSet(screenshot)) {
            const QString file = parser.value(screenshot);
            const int delay = parser.isSet(screenshotDelay) ? parser.value(screenshotDelay).toInt()
                                                            : DefaultScreenshotDelayMs;
            QTimer::singleShot(delay, &window, [&window, file] {
                if (!window.grab().save(file)) {
                    std::fprintf(stderr, "lhttp-admin: cannot write %s\n", qPrintable(file));
                    QCoreApplication::exit(1);
                    return;
                }
                std::printf("lhttp-admin: saved %s (%s)\n", qPrintable(file),
                            qPrintable(window.statusText()));
                QCoreApplication::quit();
            });
        }
        return app.exec();
    }
}

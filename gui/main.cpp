// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// lhttp-admin: the desktop admin console. Thin on purpose: options in, MainWindow out.

#include "i18n.h"
#include "mainwindow.h"

#include <QApplication>
#include <QByteArrayView>
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

// --help or --version among the arguments (before "--"). Looked for before any application
// object exists: QApplication aborts where there is no display, and these two need none.
// (--help-all lists QApplication's own options too, so it still needs one.)
bool asksForHelpOrVersion(int argc, char *argv[]) {
    for (int i = 1; i < argc; ++i) {
        const QByteArrayView arg(argv[i]);
        if (arg == "--")
            return false;
        if (arg == "-h" || arg == "--help" || arg == "-v" || arg == "--version")
            return true;
    }
    return false;
}

// The name, version and language every run has, with or without a window.
void setUpApplication(QCoreApplication &app) {
    QCoreApplication::setOrganizationName(QStringLiteral("lhttp-qt"));
    QCoreApplication::setApplicationName(QStringLiteral("lhttp-admin"));
    QCoreApplication::setApplicationVersion(QStringLiteral(LHTTP_VERSION));
    // Wayland's app id and X11's class hint: the shell matches the window to the desktop entry.
    QGuiApplication::setDesktopFileName(QStringLiteral(LHTTP_ADMIN_APP_ID));
    const QString language = requestedLanguage(QCoreApplication::arguments());
    lhttp::installTranslations(&app, language.isEmpty() ? QLocale::system() : QLocale(language));
}

// The options. Made once the translations are installed: the help text is translated too.
struct CommandLine {
    CommandLine();

    QCommandLineParser parser;
    QCommandLineOption help;
    QCommandLineOption version;
    QCommandLineOption lang;
    QCommandLineOption embedded;
    QCommandLineOption port;
    QCommandLineOption attach;
    QCommandLineOption token;
    QCommandLineOption tab;
    QCommandLineOption size;
    QCommandLineOption screenshot;
    QCommandLineOption screenshotDelay;
};

CommandLine::CommandLine()
    : help(parser.addHelpOption())
    , version(parser.addVersionOption())
    , lang(QStringLiteral("lang"),
           QCoreApplication::translate("lhttp-admin",
                                       "Use this language (zh_CN, en) instead of the system's."),
           QStringLiteral("locale"))
    , embedded(
          QStringLiteral("embedded"),
          QCoreApplication::translate("lhttp-admin", "Start a node inside the console at once."))
    , port(QStringLiteral("port"),
           QCoreApplication::translate("lhttp-admin", "Port of the embedded node (default: 8081)."),
           QStringLiteral("port"))
    , attach(QStringLiteral("attach"),
             QCoreApplication::translate(
                 "lhttp-admin", "Attach at once to this admin endpoint (ws://host:port/admin)."),
             QStringLiteral("url"))
    , token(QStringLiteral("token"),
            QCoreApplication::translate("lhttp-admin", "Admin token for --attach (default: the "
                                                       "LHTTP_ADMIN_TOKEN environment variable)."),
            QStringLiteral("token"))
    , tab(QStringLiteral("tab"),
          QCoreApplication::translate("lhttp-admin",
                                      "Show this tab: connections, channels or traffic."),
          QStringLiteral("name"))
    , size(QStringLiteral("size"),
           QCoreApplication::translate("lhttp-admin", "Window size, e.g. 1400x860."),
           QStringLiteral("WxH"))
    , screenshot(QStringLiteral("screenshot"),
                 QCoreApplication::translate("lhttp-admin",
                                             "Save a picture of the window to this PNG file "
                                             "after --screenshot-delay, then quit."),
                 QStringLiteral("file"))
    , screenshotDelay(
          QStringLiteral("screenshot-delay"),
          QCoreApplication::translate("lhttp-admin",
                                      "Milliseconds to wait before --screenshot (default: 5000)."),
          QStringLiteral("ms")) {
    parser.setApplicationDescription(QCoreApplication::translate(
        "lhttp-admin", "lhttp-admin: watch and operate an lhttp-qt node, inside the "
                       "console (--embedded) or attached to a headless lhttpd-qt "
                       "(--attach)."));
    parser.addOptions(
        {lang, embedded, port, attach, token, tab, size, screenshot, screenshotDelay});
}

} // namespace

int main(int argc, char *argv[]) {
    if (asksForHelpOrVersion(argc, argv)) {
        // Answered without a window, so without a display. In the order process() has.
        QCoreApplication app(argc, argv);
        setUpApplication(app);
        CommandLine cl;
        if (cl.parser.parse(QCoreApplication::arguments())) {
            if (cl.parser.isSet(cl.version))
                cl.parser.showVersion();
            if (cl.parser.isSet(cl.help))
                cl.parser.showHelp(0);
        }
        // Anything else goes the usual way: --help as the value of --token, an unknown option
        // (perhaps one of those QApplication takes, such as -style).
    }
    QApplication app(argc, argv);
    setUpApplication(app);
    CommandLine cl;
    cl.parser.process(app);
    const QCommandLineParser &parser = cl.parser;

    {
        lhttp::MainWindow window;
        if (parser.isSet(cl.size) && parseSize(parser.value(cl.size)).isValid())
            window.resize(parseSize(parser.value(cl.size)));
        if (parser.isSet(cl.tab)) {
            const QString t = parser.value(cl.tab).toLower();
            window.showTab(t == u"traffic"    ? lhttp::MainWindow::Tab::Traffic
                           : t == u"channels" ? lhttp::MainWindow::Tab::Channels
                                              : lhttp::MainWindow::Tab::Connections);
        }
        window.show();

        if (parser.isSet(cl.attach)) {
            const QByteArray key = parser.isSet(cl.token) ? parser.value(cl.token).toUtf8()
                                                          : qgetenv("LHTTP_ADMIN_TOKEN");
            window.attach(QUrl(parser.value(cl.attach)), key);
        } else if (parser.isSet(cl.embedded)) {
            lhttp::ServerOptions options;
            options.address = QHostAddress::LocalHost;
            if (parser.isSet(cl.port))
                options.port = quint16(parser.value(cl.port).toUInt());
            window.startEmbedded(options);
        }

        if (parser.isSet(cl.screenshot)) {
            const QString file = parser.value(cl.screenshot);
            const int delay = parser.isSet(cl.screenshotDelay)
                                  ? parser.value(cl.screenshotDelay).toInt()
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

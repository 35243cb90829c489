// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// The lhttp-admin executable itself (LHTTP_ADMIN_BIN): --help and --version answer where there
// is no display at all (no DISPLAY, no WAYLAND_DISPLAY, no QT_QPA_PLATFORM), as on a server or
// in a packaging script, instead of aborting in QApplication.

#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

namespace {

QString binary() {
    return qEnvironmentVariable("LHTTP_ADMIN_BIN");
}

QProcessEnvironment withoutDisplay() {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
        env.remove(QLatin1String(name));
    env.insert(QStringLiteral("LC_ALL"), QStringLiteral("C.UTF-8")); // English unless --lang
    return env;
}

struct Run {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

Run run(const QStringList &args, const QProcessEnvironment &env = withoutDisplay()) {
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(binary(), args);
    Run r;
    if (!p.waitForFinished(30'000)) {
        p.kill();
        p.waitForFinished();
        r.err = "did not finish within 30 s";
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err += p.readAllStandardError();
    return r;
}

} // namespace

class tst_LhttpAdmin : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void helpWithoutDisplay_data();
    void helpWithoutDisplay();
    void versionWithoutDisplay_data();
    void versionWithoutDisplay();
    void translatedHelpWithoutDisplay();
    void helpAsOptionValueStartsTheConsole();
};

void tst_LhttpAdmin::initTestCase() {
    QVERIFY2(QFileInfo(binary()).isExecutable(), "LHTTP_ADMIN_BIN must point at lhttp-admin");
}

void tst_LhttpAdmin::helpWithoutDisplay_data() {
    QTest::addColumn<QString>("flag");
    QTest::newRow("--help") << QStringLiteral("--help");
    QTest::newRow("-h") << QStringLiteral("-h");
}

void tst_LhttpAdmin::helpWithoutDisplay() {
    QFETCH(QString, flag);
    const Run r = run({flag});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY2(r.out.contains("Usage: "), r.out.constData());
    QVERIFY2(r.out.contains("lhttp-admin: watch and operate an lhttp-qt node"), r.out.constData());
    for (const char *option : {"--embedded", "--attach <url>", "--token <token>", "--lang <locale>",
                               "--screenshot <file>", "--version"})
        QVERIFY2(r.out.contains(option), option);
}

void tst_LhttpAdmin::versionWithoutDisplay_data() {
    QTest::addColumn<QString>("flag");
    QTest::newRow("--version") << QStringLiteral("--version");
    QTest::newRow("-v") << QStringLiteral("-v");
}

void tst_LhttpAdmin::versionWithoutDisplay() {
    QFETCH(QString, flag);
    const Run r = run({flag});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.out.trimmed(), QByteArray("lhttp-admin " LHTTP_VERSION));
}

// The help text is translated, display or not.
void tst_LhttpAdmin::translatedHelpWithoutDisplay() {
    const Run r =
        run({QStringLiteral("--lang"), QStringLiteral("zh_CN"), QStringLiteral("--help")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY2(r.out.contains("lhttp-admin：监视和操作 lhttp-qt 节点"), r.out.constData());
}

// "--help" as the value of --token is no request for help: the console starts as usual (on the
// offscreen platform here), saves its picture and quits.
void tst_LhttpAdmin::helpAsOptionValueStartsTheConsole() {
    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("console.png"));
    QProcessEnvironment env = withoutDisplay();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    const Run r =
        run({QStringLiteral("--attach"), QStringLiteral("ws://127.0.0.1:1/admin"),
             QStringLiteral("--token"), QStringLiteral("--help"), QStringLiteral("--screenshot"),
             png, QStringLiteral("--screenshot-delay"), QStringLiteral("0")},
            env);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY2(!r.out.contains("Usage: "), r.out.constData());
    QVERIFY2(r.out.contains("lhttp-admin: saved "), r.out.constData());
    QVERIFY(QFileInfo(png).size() > 0);
}

QTEST_GUILESS_MAIN(tst_LhttpAdmin)
#include "tst_lhttpadmin.moc"

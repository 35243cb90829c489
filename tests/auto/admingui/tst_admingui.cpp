// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// The console's widgets driven with QTest input, against real nodes: an embedded one, and a
// separately started lhttpd-qt process (LHTTPD_BIN) for attach with the right and a wrong token.

#include "../adminendpoint/stalledclient.h"
#include "channelsmodel.h"
#include "channelsview.h"
#include "connectionsmodel.h"
#include "connectionsproxy.h"
#include "connectionsview.h"
#include "embeddedsource.h"
#include "i18n.h"
#include "lhttpdprocess.h"
#include "mainwindow.h"
#include "nodepanel.h"
#include "nodestate.h"
#include "presencemodel.h"
#include "publishhistorymodel.h"
#include "publishpanel.h"
#include "remotesource.h"
#include "server.h"
#include "trafficmodel.h"
#include "trafficview.h"
#include "wsclient.h"

#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTranslator>

#include <memory>

using namespace lhttp;

namespace {

constexpr auto Token = "gui-test-token";

// Clicks the middle of a table row, as a user would.
void clickRow(QTableView *table, int row, Qt::KeyboardModifiers modifiers = {}) {
    const QModelIndex index = table->model()->index(row, 1);
    table->scrollTo(index);
    const QRect rect = table->visualRect(index);
    QTest::mouseClick(table->viewport(), Qt::LeftButton, modifiers, rect.center());
}

} // namespace

class tst_AdminGui : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void connectedClientAppears();
    void publishFromPanelReachesSubscriber();
    void disconnectFromViewClosesClient();
    void channelSelectionShowsSubscribers();
    void trafficPauseAndClear();
    void slowConsumerShowsInConsole();
    void attachToLhttpd();
    void presenceChannelListsMembers();
    void attachWithWrongTokenIsRefusedVisibly();
    void attachToWrongPathIsRefusedVisibly();
    void settingsRememberTheNode();
    void chineseTranslation();

private:
    void startEmbedded();
    QUrl nodeUrl() const {
        return QUrl(QStringLiteral("ws://127.0.0.1:%1/")
                        .arg(static_cast<EmbeddedSource *>(window->source())->port()));
    }
    // lhttpd-qt with the admin endpoint on (Token).
    static bool startLhttpd(LhttpdProcess &lhttpd);

    QTemporaryDir settingsDir;
    std::unique_ptr<MainWindow> window;
};

void tst_AdminGui::initTestCase() {
    // Keep the user's settings out of it.
    QVERIFY(settingsDir.isValid());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir.path());
    QCoreApplication::setOrganizationName(QStringLiteral("lhttp-qt-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_admingui"));
}

void tst_AdminGui::init() {
    window = std::make_unique<MainWindow>();
    window->resize(1200, 800);
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
}

void tst_AdminGui::cleanup() {
    window.reset();
}

void tst_AdminGui::startEmbedded() {
    // Through the panel, as a user: port 0 picks a free one.
    NodePanel *panel = window->nodePanel();
    panel->setMode(NodePanel::Mode::Embedded);
    panel->setPort(0);
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    QTRY_VERIFY(window->source() && window->source()->state() == NodeSource::State::Running);
    QCOMPARE(panel->startButton()->text(), QStringLiteral("Stop node"));
}

void tst_AdminGui::connectedClientAppears() {
    startEmbedded();
    window->showTab(MainWindow::Tab::Connections);
    QTableView *table = window->connectionsView()->table();
    QCOMPARE(table->model()->rowCount(), 0);
    WsClient client;
    QVERIFY(client.open(nodeUrl()));
    QTRY_COMPARE(table->model()->rowCount(), 1);
    const QString peer = table->model()->index(0, ConnectionsModel::Peer).data().toString();
    QCOMPARE(peer, QStringLiteral("127.0.0.1:%1").arg(client.socket.localPort()));
    QTRY_VERIFY(window->statusText().contains(QLatin1String("1 connections")));
    // Typing in the filter hides it, clearing shows it again.
    QTest::keyClicks(window->connectionsView()->filterEdit(), QStringLiteral("nomatch"));
    QCOMPARE(table->model()->rowCount(), 0);
    window->connectionsView()->filterEdit()->clear();
    QCOMPARE(table->model()->rowCount(), 1);
}

void tst_AdminGui::publishFromPanelReachesSubscriber() {
    startEmbedded();
    WsClient subscriber;
    QVERIFY(subscriber.open(nodeUrl()));
    subscriber.send("LHTTP/1.0 chat\r\nsubscribe:news\r\n\r\n");
    QVERIFY(subscriber.sync());

    PublishPanel *panel = window->publishPanel();
    QTest::keyClicks(panel->channelsEdit(), QStringLiteral("news"));
    panel->commandEdit()->clear();
    QTest::keyClicks(panel->commandEdit(), QStringLiteral("notice"));
    QTest::keyClicks(panel->headersEdit(), QStringLiteral("from:ops"));
    QTest::keyClicks(panel->bodyEdit(), QStringLiteral("hello from the console"));
    QTest::mouseClick(panel->sendButton(), Qt::LeftButton);
    QVERIFY(subscriber.waitForMessages(1));
    QCOMPARE(
        subscriber.received.first(),
        QByteArray("LHTTP/1.0 notice\r\npublish:news\r\nfrom:ops\r\n\r\nhello from the console"));
    QTRY_COMPARE(panel->resultText(), QStringLiteral("Published."));
    QAbstractItemModel *history = panel->historyTable()->model();
    QCOMPARE(history->rowCount(), 1);
    QTRY_COMPARE(history->index(0, PublishHistoryModel::Result).data().toString(), u"ok");

    // Double-clicking the history fills the form; Ctrl+Return sends it again.
    panel->bodyEdit()->clear();
    const QModelIndex first = history->index(0, PublishHistoryModel::Command);
    // A real double-click is press, release, then a double-click event; QTest::mouseDClick on
    // a widget sends only the last, which an item view ignores unless the row was pressed.
    const QPoint at = panel->historyTable()->visualRect(first).center();
    QTest::mouseClick(panel->historyTable()->viewport(), Qt::LeftButton, {}, at);
    QTest::mouseDClick(panel->historyTable()->viewport(), Qt::LeftButton, {}, at);
    QCOMPARE(panel->bodyEdit()->toPlainText(), QStringLiteral("hello from the console"));
    panel->bodyEdit()->setFocus();
    QTest::keyClick(panel->bodyEdit(), Qt::Key_Return, Qt::ControlModifier);
    QVERIFY(subscriber.waitForMessages(2));
    QCOMPARE(history->rowCount(), 2);
}

void tst_AdminGui::disconnectFromViewClosesClient() {
    startEmbedded();
    window->showTab(MainWindow::Tab::Connections);
    WsClient stays, goes;
    QVERIFY(stays.open(nodeUrl()));
    QVERIFY(goes.open(nodeUrl()));
    QTableView *table = window->connectionsView()->table();
    QTRY_COMPARE(table->model()->rowCount(), 2);
    // Find the row of `goes` by its address, click it, press Disconnect.
    const QString peer = QStringLiteral("127.0.0.1:%1").arg(goes.socket.localPort());
    int row = -1;
    for (int r = 0; r < table->model()->rowCount(); ++r) {
        if (table->model()->index(r, ConnectionsModel::Peer).data().toString() == peer)
            row = r;
    }
    QVERIFY(row >= 0);
    QPushButton *disconnect = window->connectionsView()->disconnectButton();
    QVERIFY(!disconnect->isEnabled());
    clickRow(table, row);
    QVERIFY(disconnect->isEnabled());
    QTest::mouseClick(disconnect, Qt::LeftButton);
    QVERIFY(goes.waitForDisconnect());
    QCOMPARE(goes.closeReason, QStringLiteral("closed by the administrator"));
    QTRY_COMPARE(table->model()->rowCount(), 1);
    QVERIFY(stays.connected);
    // The Delete key on a selected row does the same.
    clickRow(table, 0);
    QTest::keyClick(table, Qt::Key_Delete);
    QVERIFY(stays.waitForDisconnect());
}

void tst_AdminGui::channelSelectionShowsSubscribers() {
    startEmbedded();
    window->showTab(MainWindow::Tab::Channels);
    WsClient a, b;
    QVERIFY(a.open(nodeUrl()));
    QVERIFY(b.open(nodeUrl()));
    a.send("LHTTP/1.0 chat\r\nsubscribe:alpha beta\r\n\r\n");
    b.send("LHTTP/1.0 chat\r\nsubscribe:beta\r\n\r\n");
    QVERIFY(a.sync() && b.sync());
    ChannelsView *view = window->channelsView();
    QTRY_COMPARE(view->table()->model()->rowCount(), 2);
    QCOMPARE(view->subscribersTable()->model()->rowCount(), 0);
    // Sorted by name: alpha, beta.
    clickRow(view->table(), 1);
    QCOMPARE(view->selectedChannel(), QByteArray("beta"));
    QCOMPARE(view->subscribersTable()->model()->rowCount(), 2);
    clickRow(view->table(), 0);
    QCOMPARE(view->subscribersTable()->model()->rowCount(), 1);
    // Leaving the channel updates the list while it is shown.
    a.send("LHTTP/1.0 chat\r\nunsubscribe:alpha\r\n\r\n");
    QTRY_COMPARE(view->table()->model()->rowCount(), 1);
    // The selection went with the channel rather than jumping to another one.
    QCOMPARE(view->subscribersTable()->model()->rowCount(), 0);
    QVERIFY(view->selectedChannel().isNull());
    QVERIFY2(view->subscribersTitle().contains(QLatin1String("alpha")),
             qPrintable(view->subscribersTitle()));
    clickRow(view->table(), 0);
    QCOMPARE(view->selectedChannel(), QByteArray("beta"));
    QCOMPARE(view->subscribersTable()->model()->rowCount(), 2);
}

void tst_AdminGui::trafficPauseAndClear() {
    startEmbedded();
    window->showTab(MainWindow::Tab::Traffic);
    WsClient a;
    QVERIFY(a.open(nodeUrl()));
    a.send("LHTTP/1.0 chat\r\nsubscribe:t\r\npublish:t\r\n\r\nfirst");
    QVERIFY(a.waitForMessages(1));
    QTableView *table = window->trafficView()->table();
    QTRY_VERIFY(table->model()->rowCount() >= 2); // in and out
    QPushButton *pause = window->trafficView()->pauseButton();
    QTest::mouseClick(pause, Qt::LeftButton);
    QCOMPARE(pause->text(), QStringLiteral("Resume"));
    const int rows = table->model()->rowCount();
    a.send("LHTTP/1.0 chat\r\npublish:t\r\n\r\nsecond");
    QVERIFY(a.waitForMessages(2));
    // Two batches arrive meanwhile, the first of them with "second", and the paused log shows
    // none of it.
    const quint64 batches = window->state()->batches();
    QTRY_VERIFY(window->state()->batches() >= batches + 2);
    QCOMPARE(table->model()->rowCount(), rows);
    QTest::mouseClick(pause, Qt::LeftButton);
    const auto clear = window->trafficView()->findChildren<QPushButton *>();
    for (QPushButton *b : clear) {
        if (b->text() == u"Clear")
            QTest::mouseClick(b, Qt::LeftButton);
    }
    QCOMPARE(table->model()->rowCount(), 0);
    a.send("LHTTP/1.0 chat\r\npublish:t\r\n\r\nthird");
    QTRY_VERIFY(table->model()->rowCount() >= 2);
}

void tst_AdminGui::slowConsumerShowsInConsole() {
    // A subscriber that stops reading is closed by the node (4008); the operator sees it in the
    // status bar and, with its close code and reason, in the traffic log.
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    o.maxOutgoingBytes = 256 * 1024;
    o.closeGraceMs = 300;
    window->startEmbedded(o);
    QTRY_VERIFY(window->source() && window->source()->state() == NodeSource::State::Running);
    window->showTab(MainWindow::Tab::Traffic);
    const quint16 port = static_cast<EmbeddedSource *>(window->source())->port();
    StalledClient stalled;
    QVERIFY(stalled.open(port, "/"));
    stalled.sendText("LHTTP/1.0 c\r\nsubscribe:feed\r\n\r\n");
    QTRY_COMPARE(window->state()->totals().subscriptions, 1);
    stalled.stall();
    WsClient publisher;
    QVERIFY(publisher.open(nodeUrl()));
    const QByteArray payload(32 * 1024, 'p');
    for (int i = 0; i < 600 && window->state()->totals().slowConsumers == 0; ++i) {
        publisher.send("LHTTP/1.0 c\r\npublish:feed\r\n\r\n" + payload);
        if (i % 20 == 19)
            QTest::qWait(20); // deliberately: lets the node write and notice the stalled reader
    }
    QTRY_VERIFY2(window->statusText().contains(QLatin1String("slow consumers closed: 1")),
                 qPrintable(window->statusText()));

    // Only the closes, from the direction filter.
    auto *direction = window->trafficView()->findChild<QComboBox *>();
    QVERIFY(direction);
    direction->setCurrentIndex(direction->findText(QStringLiteral("Closes")));
    QTableView *table = window->trafficView()->table();
    QTRY_COMPARE(table->model()->rowCount(), 1);
    const QAbstractItemModel *m = table->model();
    QCOMPARE(m->index(0, TrafficModel::Direction).data().toString(), u"close");
    QCOMPARE(m->index(0, TrafficModel::Command).data().toString(), u"4008");
    QCOMPARE(m->index(0, TrafficModel::Preview).data().toString(), u"slow consumer");
}

bool tst_AdminGui::startLhttpd(LhttpdProcess &lhttpd) {
    return lhttpd.start({QStringLiteral("--admin-token"), QString::fromLatin1(Token),
                         QStringLiteral("--log-level"), QStringLiteral("warning")});
}

void tst_AdminGui::attachToLhttpd() {
    LhttpdProcess lhttpd;
    QVERIFY(startLhttpd(lhttpd));
    const quint16 port = lhttpd.port();
    WsClient before;
    QVERIFY(before.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port))));
    before.send("LHTTP/1.0 chat\r\nsubscribe:lobby\r\n\r\n");
    QVERIFY(before.sync());

    NodePanel *panel = window->nodePanel();
    panel->setMode(NodePanel::Mode::Attach);
    panel->urlEdit()->clear();
    QTest::keyClicks(panel->urlEdit(), QStringLiteral("ws://127.0.0.1:%1/admin").arg(port));
    QTest::keyClicks(panel->tokenEdit(), QString::fromLatin1(Token));
    QTest::mouseClick(panel->attachButton(), Qt::LeftButton);
    QTRY_VERIFY(window->source() && window->source()->state() == NodeSource::State::Running);
    QCOMPARE(panel->attachButton()->text(), QStringLiteral("Detach"));
    QVERIFY(panel->errorText().isEmpty());

    // What the node has and what happens on it shows up.
    QTableView *table = window->connectionsView()->table();
    QTRY_COMPARE(table->model()->rowCount(), 1);
    WsClient after;
    QVERIFY(after.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port))));
    QTRY_COMPARE(table->model()->rowCount(), 2);
    QTRY_VERIFY(window->state()->channels()->rowOf("lobby") >= 0);
    QTRY_VERIFY(window->statusText().contains(QLatin1String("Broker: embedded")));

    // Commands travel over the admin endpoint too.
    window->publishPanel()->channelsEdit()->setText(QStringLiteral("lobby"));
    QTest::mouseClick(window->publishPanel()->sendButton(), Qt::LeftButton);
    QVERIFY(before.waitForMessages(1));
    const QString peer = QStringLiteral("127.0.0.1:%1").arg(after.socket.localPort());
    for (int r = 0; r < table->model()->rowCount(); ++r) {
        if (table->model()->index(r, ConnectionsModel::Peer).data().toString() == peer)
            clickRow(table, r);
    }
    QTest::mouseClick(window->connectionsView()->disconnectButton(), Qt::LeftButton);
    QVERIFY(after.waitForDisconnect());
    QTRY_COMPARE(table->model()->rowCount(), 1);

    QTest::mouseClick(panel->attachButton(), Qt::LeftButton); // detach
    QTRY_COMPARE(window->source()->state(), NodeSource::State::Stopped);
    QCOMPARE(panel->attachButton()->text(), QStringLiteral("Attach"));
    QVERIFY(lhttpd.stop());
}

// A presence channel of an lhttpd-qt node: the channels table counts its members and users,
// selecting it lists them (client, node, user, info) and follows a join and a leave.
void tst_AdminGui::presenceChannelListsMembers() {
    LhttpdProcess lhttpd;
    QVERIFY(lhttpd.start({QStringLiteral("--admin-token"), QString::fromLatin1(Token),
                          QStringLiteral("--presence"), QStringLiteral("room.*"),
                          QStringLiteral("--node-name"), QStringLiteral("gui-node"),
                          QStringLiteral("--log-level"), QStringLiteral("warning")}));
    const QUrl url(QStringLiteral("ws://127.0.0.1:%1/").arg(lhttpd.port()));
    WsClient a, b;
    QVERIFY(a.open(url));
    QVERIFY(b.open(url));
    a.send("LHTTP/1.0 chat\r\nsubscribe:room.1 plain\r\npresence-info:{\"name\":\"Ann\"}\r\n\r\n");
    b.send("LHTTP/1.0 chat\r\nsubscribe:room.1\r\n\r\n");
    QVERIFY(a.sync() && b.sync());

    NodePanel *panel = window->nodePanel();
    panel->setMode(NodePanel::Mode::Attach);
    panel->urlEdit()->clear();
    QTest::keyClicks(panel->urlEdit(),
                     QStringLiteral("ws://127.0.0.1:%1/admin").arg(lhttpd.port()));
    QTest::keyClicks(panel->tokenEdit(), QString::fromLatin1(Token));
    QTest::mouseClick(panel->attachButton(), Qt::LeftButton);
    QTRY_VERIFY(window->source() && window->source()->state() == NodeSource::State::Running);
    window->showTab(MainWindow::Tab::Channels);
    ChannelsView *view = window->channelsView();
    QTRY_COMPARE(view->table()->model()->rowCount(), 2);
    ChannelsModel *channels = window->state()->channels();
    const auto cell = [&](const QByteArray &channel, int column) {
        return channels->data(channels->index(channels->rowOf(channel), column));
    };
    QCOMPARE(cell("room.1", ChannelsModel::PresenceMembers).toInt(), 2);
    QCOMPARE(cell("room.1", ChannelsModel::PresenceUsers).toInt(), 2);
    QCOMPARE(cell("plain", ChannelsModel::PresenceMembers).toString(), QStringLiteral("\u2014"));

    // Sorted by name: plain, room.1. A plain channel has no member list.
    clickRow(view->table(), 0);
    QCOMPARE(view->selectedChannel(), QByteArray("plain"));
    QVERIFY(view->presenceTable()->isHidden());
    clickRow(view->table(), 1);
    QCOMPARE(view->selectedChannel(), QByteArray("room.1"));
    QVERIFY(!view->presenceTable()->isHidden());
    QAbstractItemModel *members = view->presenceTable()->model();
    QCOMPARE(members->rowCount(), 2);
    QVERIFY2(view->presenceTitle().contains(QLatin1String("2 connections of 2 users")),
             qPrintable(view->presenceTitle()));
    QStringList infos;
    for (int r = 0; r < members->rowCount(); ++r) {
        QCOMPARE(members->index(r, PresenceModel::Node).data().toString(),
                 QStringLiteral("gui-node"));
        QCOMPARE(members->index(r, PresenceModel::User).data().toString(), QString());
        infos.append(members->index(r, PresenceModel::Info).data().toString());
    }
    infos.sort();
    QCOMPARE(infos, QStringList({QString(), QStringLiteral("{\"name\":\"Ann\"}")}));

    // A join and a leave show while the channel is selected.
    WsClient c;
    QVERIFY(c.open(url));
    c.send("LHTTP/1.0 chat\r\nsubscribe:room.1\r\npresence-info:third\r\n\r\n");
    QTRY_COMPARE(members->rowCount(), 3);
    QTRY_VERIFY2(view->presenceTitle().contains(QLatin1String("3 connections of 3 users")),
                 qPrintable(view->presenceTitle()));
    b.send("LHTTP/1.0 chat\r\nunsubscribe:room.1\r\n\r\n");
    QTRY_COMPARE(members->rowCount(), 2);
    QCOMPARE(cell("room.1", ChannelsModel::PresenceMembers).toInt(), 2);
    QTest::mouseClick(panel->attachButton(), Qt::LeftButton); // detach
    QTRY_COMPARE(window->source()->state(), NodeSource::State::Stopped);
    QVERIFY(lhttpd.stop());
}

void tst_AdminGui::attachWithWrongTokenIsRefusedVisibly() {
    LhttpdProcess lhttpd;
    QVERIFY(startLhttpd(lhttpd));
    const quint16 port = lhttpd.port();
    NodePanel *panel = window->nodePanel();
    panel->setMode(NodePanel::Mode::Attach);
    panel->urlEdit()->clear();
    QTest::keyClicks(panel->urlEdit(), QStringLiteral("ws://127.0.0.1:%1/admin").arg(port));
    QTest::keyClicks(panel->tokenEdit(), QStringLiteral("not-the-token"));
    QTest::keyClick(panel->tokenEdit(), Qt::Key_Return);
    QTRY_COMPARE(window->source()->state(), NodeSource::State::Failed);
    QLabel *error = panel->errorLabel();
    QVERIFY(error->isVisible());
    QVERIFY2(error->text().contains(QLatin1String("refused the admin token")),
             qPrintable(error->text()));
    QVERIFY(error->text().contains(QLatin1String("401")));
    QCOMPARE(window->connectionsView()->table()->model()->rowCount(), 0);
    QCOMPARE(panel->attachButton()->text(), QStringLiteral("Attach")); // can try again
    QVERIFY(lhttpd.stop());
}

void tst_AdminGui::attachToWrongPathIsRefusedVisibly() {
    // An LHTTP endpoint that is not the admin one accepts the WebSocket but sends no snapshot.
    ServerOptions o;
    o.address = QHostAddress::LocalHost;
    o.port = 0;
    Server node(o);
    QVERIFY(node.listen());
    const quint16 port = node.serverPort();
    window->attach(QUrl(QStringLiteral("ws://127.0.0.1:%1/not-admin").arg(port)), Token);
    QTRY_COMPARE_WITH_TIMEOUT(window->source()->state(), NodeSource::State::Failed,
                              RemoteSource::SnapshotTimeoutMs + 2000);
    QVERIFY(window->nodePanel()->errorLabel()->isVisible());
    QVERIFY(window->nodePanel()->errorText().contains(QLatin1String("no admin snapshot")));
}

void tst_AdminGui::settingsRememberTheNode() {
    window->nodePanel()->setMode(NodePanel::Mode::Attach);
    window->nodePanel()->setAttachUrl(QUrl(QStringLiteral("ws://127.0.0.1:9999/admin")));
    window->resize(1111, 777);
    window->close(); // saves
    window = std::make_unique<MainWindow>();
    QCOMPARE(window->nodePanel()->mode(), NodePanel::Mode::Attach);
    QCOMPARE(window->nodePanel()->attachUrl(), QUrl(QStringLiteral("ws://127.0.0.1:9999/admin")));
    QCOMPARE(window->size(), QSize(1111, 777));
    QSettings s;
    QVERIFY(
        !s.allKeys().join(QLatin1Char(' ')).contains(QLatin1String("token"), Qt::CaseInsensitive));
}

void tst_AdminGui::chineseTranslation() {
    const auto before = qApp->findChildren<QTranslator *>();
    QVERIFY(installTranslations(qApp, QLocale(QStringLiteral("zh_CN"))));
    window = std::make_unique<MainWindow>();
    const auto tabs = window->findChild<QTabWidget *>(QStringLiteral("viewTabs"));
    QVERIFY(tabs);
    QCOMPARE(tabs->tabText(0), QStringLiteral("连接"));
    QCOMPARE(window->connectionsView()->table()->model()->headerData(1, Qt::Horizontal).toString(),
             QStringLiteral("远程地址"));
    QCOMPARE(window->nodePanel()->startButton()->text(), QStringLiteral("启动节点"));
    window.reset();
    for (QTranslator *t : qApp->findChildren<QTranslator *>()) {
        if (!before.contains(t)) {
            QCoreApplication::removeTranslator(t);
            delete t;
        }
    }
    QLocale::setDefault(QLocale::c());
}

QTEST_MAIN(tst_AdminGui)
#include "tst_admingui.moc"

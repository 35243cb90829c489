// An lhttp-qt node inside an application: a processor of its own, started on a port, and
// (with --self-test) checked end to end by an lhttp::Client in the same process.

#include <lhttp/client.h>
#include <lhttp/processor.h>
#include <lhttp/server.h>
#include <lhttp/session.h>

#include <QCoreApplication>
#include <QTimer>

#include <cstdio>

namespace {

// `LHTTP/1.0 shout` is answered with its body in upper case.
class ShoutProcessor : public lhttp::Processor {
public:
    void onMessage(lhttp::Session &session) override {
        session.reply(session.body().toByteArray().toUpper());
    }
};

} // namespace

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    const bool selfTest = app.arguments().contains(QStringLiteral("--self-test"));

    lhttp::ServerOptions options;
    options.address = QHostAddress::LocalHost;
    options.port = selfTest ? 0 : 8081; // the self-test takes any free port
    lhttp::Server server(options);
    server.registerProcessor("shout", std::make_shared<ShoutProcessor>());
    if (!server.listen()) {
        std::fprintf(stderr, "cannot listen: %s\n", qPrintable(server.errorString()));
        return 1;
    }
    std::printf("listening on port %u\n", unsigned(server.serverPort()));
    if (!selfTest)
        return app.exec();

    // Subscribes, publishes to itself, asks the processor: both answers prove the node runs.
    lhttp::Client client;
    int answers = 0;
    QObject::connect(&client, &lhttp::Client::connected, &app, [&] {
        client.subscribe({"room"});
        client.publish("room", "chat", "hello");
        client.send(lhttp::Message("shout", "quiet"));
    });
    QObject::connect(&client, &lhttp::Client::messageReceived, &app, [&](const lhttp::Message &m) {
        const bool expected = (m.command() == "chat" && m.body() == "hello") ||
                              (m.command() == "shout" && m.body() == "QUIET");
        std::printf("received %s: %s\n", m.command().toByteArray().constData(),
                    m.body().toByteArray().constData());
        if (expected && ++answers == 2)
            app.exit(0);
    });
    client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(server.serverPort())));
    QTimer::singleShot(10'000, &app, [&] {
        std::fprintf(stderr, "self-test timed out with %d of 2 answers\n", answers);
        app.exit(1);
    });
    return app.exec();
}

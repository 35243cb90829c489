// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "runners.h"

#include "httppublisher.h"

#include <QCoreApplication>
#include <QMetaEnum>

#include <cerrno>

using lhttp::Client;

namespace {

constexpr int CloseWaitMs = 3000;
constexpr int QuitBarrierMs = 2000;
const QByteArray QuitProbe = QByteArrayLiteral("quit");
const QByteArray PingProbe = QByteArrayLiteral("ping");

QString channelList(const QByteArrayList &channels) {
    return QString::fromUtf8(channels.join(' '));
}

// The first white-space separated word of `line`, and the rest without its leading blanks.
QByteArray takeWord(QByteArray *line) {
    QByteArray &l = *line;
    qsizetype i = 0;
    while (i < l.size() && (l[i] == ' ' || l[i] == '\t'))
        ++i;
    qsizetype end = i;
    while (end < l.size() && l[end] != ' ' && l[end] != '\t')
        ++end;
    const QByteArray word = l.mid(i, end - i);
    while (end < l.size() && (l[end] == ' ' || l[end] == '\t'))
        ++end;
    l = l.mid(end);
    return word;
}

} // namespace

Runner::Runner(const CliOptions &options, QObject *parent)
    : QObject(parent)
    , m_options(options) {
    m_client.setConnectTimeout(options.timeoutMs);
    m_client.setSslConfiguration(options.tls);
}

void Runner::finish(int status) {
    if (m_finishing)
        return;
    m_finishing = true;
    m_status = status;
    auto done = [this] { QCoreApplication::exit(m_status); };
    if (m_client.state() == Client::State::Connected) {
        // Leave with a close handshake, as a well-behaved client does; bounded.
        connect(&m_client, &Client::disconnected, this, done);
        QTimer::singleShot(CloseWaitMs, this, done);
        m_client.close();
    } else {
        m_client.close();
        QTimer::singleShot(0, this, done);
    }
}

bool Runner::write(FILE *stream, const QByteArray &text) {
    const size_t written = std::fwrite(text.constData(), 1, size_t(text.size()), stream);
    // Pipes are block-buffered: a script reading our output must see each message at once.
    return std::fflush(stream) == 0 && written == size_t(text.size());
}

void Runner::print(FILE *stream, const QByteArray &text) {
    if (m_readerGone)
        return;
    errno = 0;
    if (write(stream, text) || errno != EPIPE)
        return;
    // Qt Network ignores SIGPIPE for its own sockets (it writes to them with plain write()),
    // so a pipe without a reader fails the write with EPIPE instead of ending the process.
    // Without this the runner would go on waiting for messages that nobody reads.
    m_readerGone = true;
    finish(0);
}

void Runner::say(const QString &text) {
    if (!m_options.quiet)
        print(stderr, m_options.printer.status(text));
}

void Runner::complain(const QString &text) {
    print(stderr, m_options.printer.problem(text));
}

void Runner::failWithoutConnection(const QString &url, const QString &awaiting) {
    connect(&m_client, &Client::connectionFailed, this, [this, url](const QString &why) {
        complain(QStringLiteral("cannot connect to %1: %2").arg(url, why));
        finish(1);
    });
    connect(&m_client, &Client::disconnected, this, [this, awaiting] {
        if (m_finishing)
            return;
        complain(
            QStringLiteral("connection lost before %1: %2").arg(awaiting, m_client.errorString()));
        finish(1);
    });
}

void Runner::openOneShot(const std::function<void()> &ask, const QString &awaiting) {
    m_client.setAutoReconnect(false);
    m_deadline.setSingleShot(true);
    connect(&m_deadline, &QTimer::timeout, this, [this] {
        complain(QStringLiteral("no answer from the server within %1 ms").arg(m_options.timeoutMs));
        finish(1);
    });
    connect(&m_client, &Client::connected, this, ask);
    failWithoutConnection(m_options.url.toString(), awaiting);
    m_deadline.start(m_options.timeoutMs);
    m_client.open(m_options.url);
}

bool Runner::succeeded(const lhttp::Reply &reply) {
    if (m_finishing)
        return false;
    if (!reply.isSuccess()) {
        complain(reply.errorString());
        finish(1);
        return false;
    }
    return true;
}

void Runner::followConnection(const QString &url) {
    connect(&m_client, &Client::connectionFailed, this, [this, url](const QString &why) {
        if (m_finishing)
            return;
        if (!m_everConnected) {
            complain(QStringLiteral("cannot connect to %1: %2").arg(url, why));
            finish(1);
        } else {
            say(QStringLiteral("reconnect failed: %1").arg(why));
        }
    });
    connect(&m_client, &Client::disconnected, this, [this] {
        if (m_finishing || m_quitting)
            return;
        if (m_client.state() == Client::State::Reconnecting) {
            say(QStringLiteral("connection lost: %1").arg(m_client.errorString()));
        } else {
            complain(QStringLiteral("connection lost: %1").arg(m_client.errorString()));
            finish(1);
        }
    });
    connect(&m_client, &Client::reconnectScheduled, this, [this](int delay, int attempt) {
        say(QStringLiteral("reconnecting in %1 ms (attempt %2)").arg(delay).arg(attempt));
    });
    connect(&m_client, &Client::invalidMessageReceived, this,
            [this](const QByteArray &raw, const QByteArray &reason) {
                print(stderr, m_options.printer.invalid(raw, reason));
            });
}

void Runner::printMessage(const lhttp::Message &m) {
    // Deliveries on history channels carry `position:<channel> <offset> <epoch>` first.
    if (m_options.positions && !m.headers().isEmpty() && m.headers().first().name == "position")
        print(stdout, m.headers().first().value.toByteArray() + '\n');
    print(stdout, m_options.printer.message(m));
}

void Runner::followRecovery() {
    connect(&m_client, &Client::recovered, this,
            [this](const QByteArray &channel, bool complete, int count) {
                if (m_finishing)
                    return;
                const lhttp::Position at = m_client.position(channel);
                if (!complete)
                    complain(QStringLiteral("not recovered: %1 lost messages while "
                                            "disconnected; continuing at %2")
                                 .arg(QString::fromUtf8(channel), QString::fromUtf8(at.toText())));
                else if (count > 0)
                    say(QStringLiteral("recovered %1: %2 messages")
                            .arg(QString::fromUtf8(channel))
                            .arg(count));
            });
}

void Runner::followPresence(const std::function<void()> &printed) {
    auto event = [this, printed](bool join, const QByteArray &channel,
                                 const lhttp::PresenceMember &member) {
        if (m_finishing)
            return;
        print(stdout, m_options.printer.message(Printer::presenceEvent(join, channel, member)));
        if (printed)
            printed();
    };
    connect(&m_client, &Client::joined, this,
            [event](const QByteArray &channel, const lhttp::PresenceMember &member) {
                event(true, channel, member);
            });
    connect(&m_client, &Client::left, this,
            [event](const QByteArray &channel, const lhttp::PresenceMember &member) {
                event(false, channel, member);
            });
}

// --- sub ---

void SubRunner::start() {
    const QString url = m_options.url.toString();
    // Remembered now, sent by the client on every (re)connect; a channel joined with recovery
    // carries its presence options in its recover message.
    if (m_options.withPresence)
        m_client.subscribeWithPresence(m_options.channels, m_options.presence);
    if (m_options.recover)
        m_client.subscribeWithRecovery(m_options.channels);
    else if (!m_options.withPresence)
        m_client.subscribe(m_options.channels);
    followRecovery();
    followPresence([this] {
        if (m_options.count > 0 && ++m_received >= m_options.count)
            finish(0);
    });
    m_client.setAutoReconnect(false); // a first connection that fails is an error, not a wait
    connect(&m_client, &Client::connected, this, [this, url] {
        if (!m_everConnected) {
            m_everConnected = true;
            m_client.setAutoReconnect(m_options.reconnect);
        } else {
            say(QStringLiteral("reconnected to %1").arg(url));
        }
        // The pong comes after the server handled the subscription (or refused it).
        m_client.ping();
    });
    connect(&m_client, &Client::pong, this, [this] {
        if (!m_finishing)
            say(QStringLiteral("subscribed to %1").arg(channelList(m_client.channels())));
    });
    connect(&m_client, &Client::messageReceived, this, [this](const lhttp::Message &m) {
        if (m_finishing)
            return; // exactly --count messages
        printMessage(m);
        if (m_options.count > 0 && ++m_received >= m_options.count)
            finish(0);
    });
    connect(&m_client, &Client::errorReceived, this, [this](int code, const QByteArray &reason) {
        if (m_finishing)
            return;
        complain(QStringLiteral("server error %1: %2").arg(code).arg(QString::fromUtf8(reason)));
        finish(1);
    });
    followConnection(url);
    m_client.open(m_options.url);
}

// --- history ---

void HistoryRunner::start() {
    const QByteArray channel = m_options.channels.first();
    // The reply reports an error reply to the read; nothing else is sent.
    openOneShot(
        [this, channel] {
            lhttp::HistoryReply *reply =
                m_client.history(channel, m_options.limit, m_options.after);
            connect(reply, &lhttp::Reply::finished, this, [this, reply, channel] {
                if (!succeeded(*reply))
                    return;
                for (const lhttp::Message &m : reply->messages())
                    printMessage(m);
                const QByteArray at = reply->position().toText();
                if (m_options.positions)
                    print(stdout, channel + ' ' + at + '\n');
                say(QStringLiteral("history %1: %2 messages, position %3")
                        .arg(QString::fromUtf8(channel))
                        .arg(reply->messages().size())
                        .arg(QString::fromUtf8(at)));
                finish(0);
            });
        },
        QStringLiteral("the server answered"));
}

// --- presence ---

void PresenceRunner::start() {
    // The reply reports an error reply to the read; nothing else is sent.
    openOneShot([this] { read(); }, QStringLiteral("the server answered"));
}

void PresenceRunner::read() {
    const QByteArray channel = m_options.channels.first();
    const QString name = QString::fromUtf8(channel);
    if (m_options.stats) {
        lhttp::PresenceStatsReply *reply = m_client.presenceStats(channel, m_options.user);
        connect(reply, &lhttp::Reply::finished, this, [this, reply] {
            if (!succeeded(*reply))
                return;
            print(stdout, m_options.printer.presenceStats(reply->connections(), reply->users(),
                                                          reply->userConnections()));
            finish(0);
        });
        return;
    }
    lhttp::PresenceReply *reply = m_client.presence(channel);
    connect(reply, &lhttp::Reply::finished, this, [this, reply, name] {
        if (!succeeded(*reply))
            return;
        QByteArray out;
        for (const lhttp::PresenceMember &m : reply->members())
            out += m_options.printer.member(m);
        print(stdout, out);
        if (reply->isTruncated())
            say(QStringLiteral("presence %1: listed %2 of %3 entries")
                    .arg(name)
                    .arg(reply->members().size())
                    .arg(reply->total()));
        else
            say(QStringLiteral("presence %1: %2 entries").arg(name).arg(reply->total()));
        finish(0);
    });
}

// --- pub ---

void PubRunner::start() {
    if (m_options.http) {
        startHttp();
        return;
    }
    connect(&m_client, &Client::pong, this, [this] { finish(0); });
    connect(&m_client, &Client::errorReceived, this, [this](int code, const QByteArray &reason) {
        if (m_finishing)
            return;
        complain(QStringLiteral("server error %1: %2").arg(code).arg(QString::fromUtf8(reason)));
        finish(1);
    });
    openOneShot(
        [this] {
            m_sent = m_client.sendRaw(m_options.message);
            // The server answers the ping after the message: a pong without an error reply
            // before it means the message was accepted.
            if (!m_sent || !m_client.ping()) {
                complain(m_client.errorString());
                finish(1);
            }
        },
        QStringLiteral("the server confirmed the message"));
}

void PubRunner::startHttp() {
    lhttp::HttpPublishOptions options;
    options.url = m_options.httpUrl;
    options.apiKey = m_options.apiKey;
    options.timeoutMs = m_options.timeoutMs;
    options.sslConfiguration = m_options.tls;
    auto *reply = lhttp::publishHttpMessage(m_options.message, options);
    reply->setParent(this);
    connect(reply, &lhttp::HttpPublishReply::finished, this, [this, reply] {
        if (reply->isSuccess()) {
            finish(0);
            return;
        }
        complain(QStringLiteral("publish to %1 failed: %2")
                     .arg(m_options.httpUrl.toString(), reply->errorString()));
        finish(1);
    });
}

// --- shell ---

ShellRunner::ShellRunner(const CliOptions &options, QObject *parent)
    : Runner(options, parent)
    , m_input(options.lineEditor, QByteArrayLiteral("lhttp> "), options.historyFile) {}

bool ShellRunner::write(FILE *stream, const QByteArray &text) {
    return m_input.write(stream, text);
}

void ShellRunner::start() {
    const QString url = m_options.url.toString();
    connect(&m_input, &LineInput::lineRead, this, &ShellRunner::execute);
    connect(&m_input, &LineInput::endOfInput, this, &ShellRunner::quit);
    m_client.setAutoReconnect(false);
    connect(&m_client, &Client::connected, this, [this, url] {
        if (!m_everConnected) {
            m_everConnected = true;
            m_client.setAutoReconnect(m_options.reconnect);
            say(QStringLiteral("connected to %1; type 'help' for the commands").arg(url));
            m_input.start();
        } else if (m_client.channels().isEmpty()) {
            say(QStringLiteral("reconnected to %1").arg(url));
        } else {
            say(QStringLiteral("reconnected to %1; joined again: %2")
                    .arg(url, channelList(m_client.channels())));
        }
    });
    followConnection(url);
    connect(&m_client, &Client::messageReceived, this,
            [this](const lhttp::Message &m) { print(stdout, m_options.printer.message(m)); });
    followRecovery();
    followPresence();
    connect(&m_client, &Client::errorReceived, this, [this](int code, const QByteArray &reason) {
        const Printer &p = m_options.printer;
        print(p.errorsToStderr() ? stderr : stdout, p.error(code, reason));
    });
    connect(&m_client, &Client::pong, this, [this](quint64 elapsed, const QByteArray &payload) {
        // Replies to reads (history, presence) finish from the event loop: they were
        // completed before this pong arrived, and are printed before leaving.
        if (m_quitting && payload == QuitProbe)
            QTimer::singleShot(0, this, [this] { finish(0); });
        else if (payload == PingProbe)
            say(QStringLiteral("pong after %1 ms").arg(elapsed));
    });
    m_client.open(m_options.url);
}

void ShellRunner::quit() {
    if (m_quitting)
        return;
    m_quitting = true;
    m_input.stop();
    // Replies to what was sent last (a publish to a channel we are on, an error) are still on
    // their way: the pong to this ping comes after them.
    if (m_client.ping(QuitProbe))
        QTimer::singleShot(QuitBarrierMs, this, [this] { finish(0); });
    else
        finish(0);
}

const QList<ShellRunner::Command> &ShellRunner::commands() {
    static const QList<Command> table{
        {"subscribe",
         {"sub"},
         "CHANNEL...",
         "join channels (joined again after a reconnect)",
         &ShellRunner::runSubscribe},
        {"unsubscribe", {}, "CHANNEL...", "leave channels", &ShellRunner::runUnsubscribe},
        {"recover",
         {},
         "CHANNEL...",
         "join history channels with recovery: after a reconnect, what was\n"
         "published meanwhile is replayed (sub --recover)",
         &ShellRunner::runRecover},
        {"history",
         {},
         "CHANNEL [LIMIT [OFFSET EPOCH]]",
         "print the last LIMIT (default 100) messages of a history channel,\n"
         "or those after a position",
         &ShellRunner::runHistory},
        {"joins",
         {},
         "CHANNEL...",
         "join presence channels with the info set by info, and print\n"
         "their join and leave events (sub --joins)",
         &ShellRunner::runJoins},
        {"info",
         {},
         "[TEXT|-]",
         "show, set or (-) clear this connection's presence info for joins",
         &ShellRunner::runInfo},
        {"presence",
         {},
         "CHANNEL",
         "list the entries of a presence channel: CLIENT NODE USER INFO",
         &ShellRunner::runPresence},
        {"presence-stats",
         {"stats"},
         "CHANNEL [USER]",
         "count a presence channel's connections and users (and USER's)",
         &ShellRunner::runPresenceStats},
        {"publish",
         {"pub"},
         "CHANNEL TEXT",
         "publish TEXT to CHANNEL with the current command and headers",
         &ShellRunner::runPublish},
        {"send",
         {},
         "RAW",
         "send RAW as it is, e.g. send LHTTP/1.0 chat\\r\\npublish:room\\r\\n\\r\\nhi",
         &ShellRunner::runSend},
        {"upstream",
         {},
         "METHOD URL [BODY]",
         "send a message with an upstream:METHOD URL header",
         &ShellRunner::runUpstream},
        {"multipart",
         {},
         "PART[;PART...]",
         "send a multipart message; each PART is HEADERS|BODY with\n"
         "HEADERS a comma-separated list of name:value, e.g.\n"
         "multipart k1:v1|body1 ; k2:v2,k3:v3|body2\n"
         "(offsets are computed; \\x2c \\x3b \\x7c for , ; | inside)",
         &ShellRunner::runMultipart},
        {"command",
         {},
         "[NAME]",
         "show or set the command of publish/upstream/multipart",
         &ShellRunner::runCommand},
        {"header",
         {},
         "[NAME:VALUE|-NAME]",
         "list, add or remove extra headers for publish/upstream/multipart",
         &ShellRunner::runHeader},
        {"format",
         {},
         "[FORMAT]",
         "show or set the output format (pretty, line, body, json)",
         &ShellRunner::runFormat},
        {"ping", {}, "", "round trip to the server", &ShellRunner::runPing},
        {"status",
         {},
         "",
         "connection state, channels, command and headers",
         &ShellRunner::runStatus},
        {"help", {"?"}, "", "this list", &ShellRunner::runHelp},
        {"quit", {"exit"}, "", "leave (also at end of input / Ctrl-D)", &ShellRunner::runQuit},
    };
    return table;
}

QString ShellRunner::helpText() {
    // "NAME, ALIAS ARGUMENTS" on the left, the help aligned after the widest of them.
    auto usage = [](const Command &c) {
        QByteArray left = c.name;
        for (const QByteArray &alias : c.aliases)
            left += ", " + alias;
        if (*c.arguments)
            left += QByteArray(" ") + c.arguments;
        return left;
    };
    qsizetype width = 0;
    for (const Command &c : commands())
        width = qMax(width, usage(c).size());
    const QByteArray indent(2 + width + 2, ' ');
    QByteArray out;
    for (const Command &c : commands())
        out += "  " + usage(c).leftJustified(width + 2) +
               QByteArray(c.help).replace("\n", "\n" + indent) + '\n';
    out += "  TEXT, RAW, BODY and header values read \\r \\n \\t \\0 \\\\ \\xNN escapes. Lines "
           "starting with\n  # are ignored.\n";
    return QString::fromUtf8(out);
}

void ShellRunner::execute(const QByteArray &input) {
    if (m_quitting)
        return;
    QByteArray rest = input;
    const QByteArray word = takeWord(&rest);
    if (word.isEmpty() || word.startsWith('#'))
        return;
    for (const Command &c : commands()) {
        if (word != c.name && !c.aliases.contains(word))
            continue;
        if (!(this->*c.run)(rest))
            complain(QStringLiteral("usage: %1 %2")
                         .arg(QLatin1String(c.name), QLatin1String(c.arguments))
                         .trimmed());
        return;
    }
    complain(QStringLiteral("unknown command '%1' (type help)").arg(QString::fromUtf8(word)));
}

bool ShellRunner::unescape(const QByteArray &text, QByteArray *out) {
    QString why;
    *out = unescapeBytes(text, &why);
    if (out->isNull())
        complain(why);
    return !out->isNull();
}

void ShellRunner::sendBuilt(const QByteArray &bytes, const QString &why) {
    if (bytes.isNull())
        complain(why);
    else if (!m_client.sendRaw(bytes))
        complain(m_client.errorString());
}

bool ShellRunner::runHelp(QByteArray) {
    print(stdout, helpText().toUtf8());
    return true;
}

bool ShellRunner::runQuit(QByteArray) {
    quit();
    return true;
}

bool ShellRunner::runSubscribe(QByteArray arguments) {
    if (arguments.trimmed().isEmpty())
        return false;
    if (!m_client.subscribe(arguments.simplified().split(' ')))
        complain(m_client.errorString());
    else if (!m_client.isConnected())
        say(QStringLiteral("not connected: sent when the connection is back"));
    return true;
}

bool ShellRunner::runUnsubscribe(QByteArray arguments) {
    if (arguments.trimmed().isEmpty())
        return false;
    if (!m_client.unsubscribe(arguments.simplified().split(' ')))
        complain(m_client.errorString());
    else if (!m_client.isConnected())
        say(QStringLiteral("not connected: sent when the connection is back"));
    return true;
}

bool ShellRunner::runRecover(QByteArray arguments) {
    if (arguments.trimmed().isEmpty())
        return false;
    if (!m_client.subscribeWithRecovery(arguments.simplified().split(' ')))
        complain(m_client.errorString());
    else if (!m_client.isConnected())
        say(QStringLiteral("not connected: sent when the connection is back"));
    return true;
}

bool ShellRunner::runHistory(QByteArray arguments) {
    const QByteArrayList words = arguments.simplified().split(' ');
    if (words.first().isEmpty() || words.size() == 3 || words.size() > 4)
        return false;
    bool ok = true;
    const int limit = words.size() > 1 ? words.at(1).toInt(&ok) : CliOptions::DefaultHistoryLimit;
    std::optional<lhttp::Position> after;
    if (words.size() == 4) {
        after = lhttp::Position{0, words.at(3)};
        after->offset = words.at(2).toULongLong(ok ? &ok : nullptr);
    }
    if (!ok)
        return false;
    const QByteArray channel = words.first();
    lhttp::HistoryReply *reply = m_client.history(channel, limit, after);
    connect(reply, &lhttp::HistoryReply::finished, this, [this, reply, channel] {
        if (reply->isSuccess()) {
            for (const lhttp::Message &m : reply->messages())
                print(stdout, m_options.printer.message(m));
            say(QStringLiteral("history %1: %2 messages, position %3")
                    .arg(QString::fromUtf8(channel))
                    .arg(reply->messages().size())
                    .arg(QString::fromUtf8(reply->position().toText())));
        } else if (reply->errorCode() == 0) {
            // An error reply from the server was printed as such already.
            complain(reply->errorString());
        }
    });
    return true;
}

bool ShellRunner::runJoins(QByteArray arguments) {
    if (arguments.trimmed().isEmpty())
        return false;
    lhttp::PresenceOptions options = m_options.presence;
    options.joins = true;
    if (!m_client.subscribeWithPresence(arguments.simplified().split(' '), options))
        complain(m_client.errorString());
    else if (!m_client.isConnected())
        say(QStringLiteral("not connected: sent when the connection is back"));
    return true;
}

bool ShellRunner::runInfo(QByteArray arguments) {
    const QByteArray text = arguments.trimmed();
    QByteArray info;
    if (text.isEmpty()) {
        print(stdout, "-- info: " + escapeBytes(m_options.presence.info) + '\n');
        return true;
    }
    if (text != "-" && !unescape(text, &info))
        return true;
    QString why;
    if (lhttp::buildMessage("x", {{QByteArrayLiteral("presence-info"), info}}, {}, &why).isNull())
        complain(why);
    else
        m_options.presence.info = info;
    return true;
}

bool ShellRunner::runPresence(QByteArray arguments) {
    const QByteArrayList words = arguments.simplified().split(' ');
    if (words.first().isEmpty() || words.size() != 1)
        return false;
    const QByteArray channel = words.first();
    lhttp::PresenceReply *reply = m_client.presence(channel);
    connect(reply, &lhttp::Reply::finished, this, [this, reply, channel] {
        if (reply->isSuccess()) {
            QByteArray out;
            for (const lhttp::PresenceMember &m : reply->members())
                out += m_options.printer.member(m);
            print(stdout, out);
            say(QStringLiteral("presence %1: %2 entries%3")
                    .arg(QString::fromUtf8(channel))
                    .arg(reply->total())
                    .arg(reply->isTruncated()
                             ? QStringLiteral(", %1 listed").arg(reply->members().size())
                             : QString()));
        } else if (reply->errorCode() == 0) {
            // An error reply from the server was printed as such already.
            complain(reply->errorString());
        }
    });
    return true;
}

bool ShellRunner::runPresenceStats(QByteArray arguments) {
    const QByteArrayList words = arguments.simplified().split(' ');
    if (words.first().isEmpty() || words.size() > 2)
        return false;
    lhttp::PresenceStatsReply *reply = m_client.presenceStats(words.first(), words.value(1));
    connect(reply, &lhttp::Reply::finished, this, [this, reply] {
        if (reply->isSuccess())
            print(stdout, m_options.printer.presenceStats(reply->connections(), reply->users(),
                                                          reply->userConnections()));
        else if (reply->errorCode() == 0)
            complain(reply->errorString());
    });
    return true;
}

bool ShellRunner::runPublish(QByteArray arguments) {
    const QByteArray channel = takeWord(&arguments);
    QByteArray body;
    if (channel.isEmpty())
        return false;
    if (unescape(arguments, &body) &&
        !m_client.publish({channel}, m_options.command, m_options.headers, body))
        complain(m_client.errorString());
    return true;
}

bool ShellRunner::runSend(QByteArray arguments) {
    QByteArray raw;
    if (arguments.isEmpty())
        return false;
    if (unescape(arguments, &raw) && !m_client.sendRaw(raw))
        complain(m_client.errorString());
    return true;
}

bool ShellRunner::runUpstream(QByteArray arguments) {
    const QByteArray method = takeWord(&arguments);
    const QByteArray url = takeWord(&arguments);
    QByteArray body;
    if (method.isEmpty() || url.isEmpty())
        return false;
    if (!unescape(arguments, &body))
        return true;
    lhttp::HeaderPairs headers{{QByteArrayLiteral("upstream"), method + ' ' + url}};
    headers += m_options.headers;
    QString why;
    sendBuilt(lhttp::buildMessage(m_options.command, headers, body, &why), why);
    return true;
}

bool ShellRunner::runMultipart(QByteArray arguments) {
    QByteArray body, offsets;
    QString why;
    if (arguments.trimmed().isEmpty())
        return false;
    if (!buildMultipart(arguments, &body, &offsets, &why)) {
        complain(why);
        return true;
    }
    lhttp::HeaderPairs headers{{QByteArrayLiteral("multipart"), offsets}};
    headers += m_options.headers;
    sendBuilt(lhttp::buildMessage(m_options.command, headers, body, &why), why);
    return true;
}

bool ShellRunner::runCommand(QByteArray arguments) {
    const QByteArray name = arguments.trimmed();
    QString why;
    if (name.isEmpty())
        print(stdout, "-- command: " + m_options.command + '\n');
    else if (lhttp::buildMessage(name, {}, {}, &why).isNull())
        complain(why);
    else
        m_options.command = name;
    return true;
}

bool ShellRunner::runHeader(QByteArray arguments) {
    const QByteArray arg = arguments.trimmed();
    if (arg.isEmpty()) {
        QByteArray out;
        for (const auto &[name, value] : std::as_const(m_options.headers))
            out += "-- header " + name + ':' + escapeBytes(value) + '\n';
        print(stdout, out.isEmpty() ? QByteArray("-- no extra headers\n") : out);
        return true;
    }
    if (arg.startsWith('-')) {
        const QByteArray name = arg.mid(1);
        m_options.headers.removeIf([&](const auto &h) { return h.first == name; });
        return true;
    }
    const qsizetype colon = arg.indexOf(':');
    QByteArray value;
    if (colon <= 0)
        return false;
    if (!unescape(arg.mid(colon + 1).trimmed(), &value))
        return true;
    const lhttp::HeaderPairs one{{arg.left(colon).trimmed(), value}};
    QString why;
    if (lhttp::buildMessage("x", one, {}, &why).isNull())
        complain(why);
    else
        m_options.headers += one;
    return true;
}

bool ShellRunner::runFormat(QByteArray arguments) {
    const QString name = QString::fromUtf8(arguments.trimmed());
    Printer::Format f;
    if (name.isEmpty())
        print(stdout,
              "-- format: " + Printer::formatName(m_options.printer.format).toUtf8() + '\n');
    else if (Printer::parseFormat(name, &f))
        m_options.printer.format = f;
    else
        complain(QStringLiteral("unknown format '%1' (pretty, line, body or json)").arg(name));
    return true;
}

bool ShellRunner::runPing(QByteArray) {
    if (!m_client.ping(PingProbe))
        complain(m_client.errorString());
    return true;
}

bool ShellRunner::runStatus(QByteArray) {
    const char *state = QMetaEnum::fromType<Client::State>().valueToKey(int(m_client.state()));
    QByteArray out = "-- " + QByteArray(state) + ' ' + m_options.url.toEncoded() + '\n';
    out += "-- channels: " + m_client.channels().join(' ') + '\n';
    for (const QByteArray &channel : m_client.recoveringChannels()) {
        out += "-- recovering " + channel + " at " +
               (m_client.hasPosition(channel) ? m_client.position(channel).toText()
                                              : QByteArray("no position yet")) +
               '\n';
    }
    for (const QByteArray &channel : m_client.presenceChannels()) {
        const lhttp::PresenceOptions o = m_client.presenceOptions(channel);
        out += "-- presence " + channel;
        if (o.joins || o.joinsSelf)
            out += o.joinsSelf ? " with join/leave events, own join included"
                               : " with join/leave events";
        if (!o.info.isEmpty())
            out += ", info " + escapeBytes(o.info);
        out += '\n';
    }
    out += "-- command: " + m_options.command + '\n';
    for (const auto &[name, value] : std::as_const(m_options.headers))
        out += "-- header " + name + ':' + escapeBytes(value) + '\n';
    if (!m_options.presence.info.isEmpty())
        out += "-- info: " + escapeBytes(m_options.presence.info) + '\n';
    out += "-- format: " + Printer::formatName(m_options.printer.format).toUtf8() + '\n';
    print(stdout, out);
    return true;
}

bool buildMultipart(QByteArrayView spec, QByteArray *body, QByteArray *offsets, QString *error) {
    body->clear();
    QByteArrayList starts;
    int index = 0;
    for (const QByteArray &rawPart : spec.toByteArray().split(';')) {
        ++index;
        const QByteArray part = rawPart.trimmed();
        const qsizetype bar = part.indexOf('|');
        if (bar < 0) {
            *error = QStringLiteral("part %1 needs HEADERS|BODY (HEADERS may be empty)").arg(index);
            return false;
        }
        QByteArray chunk;
        for (const QByteArray &rawHeader : part.left(bar).split(',')) {
            const QByteArray header = rawHeader.trimmed();
            if (header.isEmpty())
                continue;
            const qsizetype colon = header.indexOf(':');
            if (colon <= 0) {
                *error = QStringLiteral("part %1: header '%2' needs name:value")
                             .arg(index)
                             .arg(QString::fromUtf8(header));
                return false;
            }
            const QByteArray value = unescapeBytes(header.mid(colon + 1).trimmed(), error);
            if (value.isNull())
                return false;
            // Same rules as message headers; checked by building a throw-away message.
            const lhttp::HeaderPairs one{{header.left(colon).trimmed(), value}};
            if (lhttp::buildMessage("x", one, {}, error).isNull())
                return false;
            chunk += one.first().first + ':' + one.first().second + "\r\n";
        }
        const QByteArray partBody = unescapeBytes(part.mid(bar + 1), error);
        if (partBody.isNull())
            return false;
        chunk += "\r\n" + partBody;
        starts.append(QByteArray::number(body->size()));
        body->append(chunk);
    }
    *offsets = starts.join(' ');
    return true;
}

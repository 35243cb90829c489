// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "options.h"

#include "runners.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QSslCertificate>
#include <QSslSocket>

#include <unistd.h>

namespace {

QByteArrayList splitChannels(const QString &arg) {
    return arg.toUtf8().simplified().split(' ');
}

// Accepts ws://, wss://, http:// and https:// (mapped to the WebSocket scheme on the same
// port) and host:port without a scheme.
bool parseUrl(const QString &text, CliOptions *o, QString *error) {
    QString s = text;
    if (!s.contains(QLatin1String("://")))
        s.prepend(QLatin1String("ws://"));
    QUrl url(s, QUrl::StrictMode);
    const QString scheme = url.scheme().toLower();
    if (!url.isValid() || url.host().isEmpty()) {
        *error = QStringLiteral("invalid URL '%1'").arg(text);
        return false;
    }
    const bool http = scheme == u"http" || scheme == u"https";
    if (!http && scheme != u"ws" && scheme != u"wss") {
        *error = QStringLiteral("unsupported URL scheme '%1' (use ws://, wss://, http:// or "
                                "https://)")
                     .arg(scheme);
        return false;
    }
    QUrl ws = url;
    QUrl post = url;
    if (http)
        ws.setScheme(scheme == u"https" ? QStringLiteral("wss") : QStringLiteral("ws"));
    else
        post.setScheme(scheme == u"wss" ? QStringLiteral("https") : QStringLiteral("http"));
    if (ws.path().isEmpty())
        ws.setPath(QStringLiteral("/"));
    // A WebSocket URL names the server; an http URL with a path names the endpoint itself.
    if (!http || post.path().isEmpty() || post.path() == u"/")
        post.setPath(QStringLiteral("/publish"));
    post.setQuery(QString());
    o->url = ws;
    o->httpUrl = post;
    return true;
}

bool parseHeader(const QString &arg, bool escapes, lhttp::HeaderPairs *out, QString *error) {
    const QByteArray bytes = arg.toUtf8();
    const qsizetype colon = bytes.indexOf(':');
    if (colon <= 0) {
        *error = QStringLiteral("--header needs NAME:VALUE, got '%1'").arg(arg);
        return false;
    }
    QByteArray value = bytes.mid(colon + 1).trimmed();
    if (escapes) {
        value = unescapeBytes(value, error);
        if (value.isNull())
            return false;
    }
    out->append(qMakePair(bytes.left(colon).trimmed(), value));
    return true;
}

// --cacert adds to the system's CAs, as curl's does; --insecure verifies neither the chain nor
// the host name.
bool tlsConfiguration(const QString &caFile, bool insecure, QSslConfiguration *tls,
                      QString *error) {
    *tls = QSslConfiguration::defaultConfiguration();
    if (!caFile.isEmpty()) {
        QFile file(caFile);
        if (!file.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("cannot read --cacert file '%1': %2")
                         .arg(caFile, file.errorString());
            return false;
        }
        const QList<QSslCertificate> cas = QSslCertificate::fromData(file.readAll(), QSsl::Pem);
        if (cas.isEmpty()) {
            *error = QStringLiteral("no PEM certificate in --cacert file '%1'").arg(caFile);
            return false;
        }
        // The system's list spelled out: a configuration whose CAs were set by hand no longer
        // loads the system's on demand.
        tls->setCaCertificates(QSslConfiguration::systemCaCertificates() + cas);
    }
    if (insecure)
        tls->setPeerVerifyMode(QSslSocket::VerifyNone);
    return true;
}

} // namespace

ParseResult parseArguments(const QStringList &arguments, CliOptions *o, QString *error) {
    QCommandLineParser p;
    p.setSingleDashWordOptionMode(QCommandLineParser::ParseAsCompactedShortOptions);
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")}, {});
    const QCommandLineOption version({QStringLiteral("V"), QStringLiteral("version")}, {});
    const QCommandLineOption command({QStringLiteral("c"), QStringLiteral("command")}, {},
                                     QStringLiteral("name"));
    const QCommandLineOption header({QStringLiteral("H"), QStringLiteral("header")}, {},
                                    QStringLiteral("name:value"));
    const QCommandLineOption escapes({QStringLiteral("e"), QStringLiteral("escapes")}, {});
    const QCommandLineOption http(QStringLiteral("http"), {});
    const QCommandLineOption apiKey(QStringLiteral("api-key"), {}, QStringLiteral("key"));
    const QCommandLineOption count({QStringLiteral("n"), QStringLiteral("count")}, {},
                                   QStringLiteral("n"));
    const QCommandLineOption format({QStringLiteral("f"), QStringLiteral("format")}, {},
                                    QStringLiteral("format"));
    const QCommandLineOption timeout({QStringLiteral("t"), QStringLiteral("timeout")}, {},
                                     QStringLiteral("ms"));
    const QCommandLineOption noReconnect(QStringLiteral("no-reconnect"), {});
    const QCommandLineOption noColor(QStringLiteral("no-color"), {});
    const QCommandLineOption noEdit(QStringLiteral("no-edit"), {});
    const QCommandLineOption quiet({QStringLiteral("q"), QStringLiteral("quiet")}, {});
    const QCommandLineOption cacert(QStringLiteral("cacert"), {}, QStringLiteral("file"));
    const QCommandLineOption insecure({QStringLiteral("k"), QStringLiteral("insecure")}, {});
    const QCommandLineOption recover(QStringLiteral("recover"), {});
    const QCommandLineOption positions(QStringLiteral("positions"), {});
    const QCommandLineOption limit({QStringLiteral("l"), QStringLiteral("limit")}, {},
                                   QStringLiteral("n"));
    const QCommandLineOption after(QStringLiteral("after"), {}, QStringLiteral("position"));
    const QCommandLineOption joins(QStringLiteral("joins"), {});
    const QCommandLineOption joinsSelf(QStringLiteral("joins-self"), {});
    const QCommandLineOption info(QStringLiteral("info"), {}, QStringLiteral("text"));
    const QCommandLineOption stats(QStringLiteral("stats"), {});
    const QCommandLineOption user(QStringLiteral("user"), {}, QStringLiteral("user"));
    p.addOptions({help,      version,  command, header,      escapes, http,   apiKey,
                  count,     format,   timeout, noReconnect, noColor, noEdit, quiet,
                  cacert,    insecure, recover, positions,   limit,   after,  joins,
                  joinsSelf, info,     stats,   user});
    if (!p.parse(arguments)) {
        *error = p.errorText();
        return ParseResult::UsageError;
    }
    if (p.isSet(help))
        return ParseResult::Help;
    if (p.isSet(version))
        return ParseResult::Version;

    auto usage = [error](const QString &why) {
        *error = why;
        return ParseResult::UsageError;
    };

    QStringList args = p.positionalArguments();
    const QString modeWord = args.value(0);
    if (modeWord == u"sub" || modeWord == u"subscribe") {
        o->mode = CliOptions::Mode::Sub;
        args.removeFirst();
        if (args.size() < 2)
            return usage(QStringLiteral("sub needs a URL and at least one channel"));
    } else if (modeWord == u"history") {
        o->mode = CliOptions::Mode::History;
        args.removeFirst();
        if (args.size() != 2)
            return usage(QStringLiteral("history needs a URL and one channel"));
    } else if (modeWord == u"presence") {
        o->mode = CliOptions::Mode::Presence;
        args.removeFirst();
        if (args.size() != 2)
            return usage(QStringLiteral("presence needs a URL and one channel"));
    } else if (modeWord == u"pub" || modeWord == u"publish") {
        o->mode = CliOptions::Mode::Pub;
        args.removeFirst();
        if (args.size() != 3)
            return usage(QStringLiteral("pub needs a URL, a channel and a text (use - to read "
                                        "the text from stdin)"));
    } else {
        o->mode = CliOptions::Mode::Interactive;
        if (modeWord == u"shell")
            args.removeFirst();
        // `lhttp-cli sbu ...` is a typo, not a host called sbu.
        if (!args.isEmpty() && !args.first().contains(QLatin1Char(':')))
            return usage(QStringLiteral("unknown mode or URL '%1' (modes: sub, pub, history, "
                                        "presence; a URL "
                                        "looks like ws://HOST:PORT/)")
                             .arg(args.first()));
        if (args.size() > 1)
            return usage(QStringLiteral("unexpected argument '%1'").arg(args.at(1)));
    }
    const bool sub = o->mode == CliOptions::Mode::Sub;
    const bool pub = o->mode == CliOptions::Mode::Pub;
    const bool shell = o->mode == CliOptions::Mode::Interactive;
    const bool history = o->mode == CliOptions::Mode::History;
    const bool presence = o->mode == CliOptions::Mode::Presence;

    // Options that mean nothing in the chosen mode are refused rather than silently ignored.
    struct Applies {
        const QCommandLineOption &option;
        bool ok;
        const char *where;
    };
    for (const Applies &a :
         {Applies{count, sub, "sub"}, Applies{http, pub, "pub"}, Applies{apiKey, pub, "pub --http"},
          Applies{header, pub, "pub"}, Applies{escapes, pub, "pub"},
          Applies{command, pub || shell, "pub and the shell"},
          Applies{format, !pub, "sub, history, presence and the shell"},
          Applies{noReconnect, sub || shell, "sub and the shell"},
          Applies{noEdit, shell, "the shell"}, Applies{recover, sub, "sub"},
          Applies{positions, sub || history, "sub and history"}, Applies{limit, history, "history"},
          Applies{after, history, "history"}, Applies{joins, sub, "sub"},
          Applies{joinsSelf, sub, "sub"}, Applies{info, sub, "sub"},
          Applies{stats, presence, "presence"}, Applies{user, presence, "presence --stats"}}) {
        if (p.isSet(a.option) && !a.ok)
            return usage(QStringLiteral("--%1 only applies to %2")
                             .arg(a.option.names().constLast(), QLatin1String(a.where)));
    }
    if (p.isSet(apiKey) && !p.isSet(http))
        return usage(QStringLiteral("--api-key only applies with --http"));
    if (p.isSet(user) && !p.isSet(stats))
        return usage(QStringLiteral("--user only applies with --stats"));

    const QString url = args.isEmpty() ? QStringLiteral("ws://127.0.0.1:8081/") : args.takeFirst();
    if (!parseUrl(url, o, error))
        return ParseResult::UsageError;

    if (p.isSet(cacert) || p.isSet(insecure)) {
        if (o->url.scheme() != u"wss")
            return usage(
                QStringLiteral("--%1 only applies to wss:// and https:// URLs")
                    .arg(p.isSet(cacert) ? QStringLiteral("cacert") : QStringLiteral("insecure")));
        if (!tlsConfiguration(p.isSet(cacert) ? p.value(cacert) : QString(), p.isSet(insecure),
                              &o->tls, error))
            return ParseResult::UsageError;
    }
    if (p.isSet(command)) {
        o->command = p.value(command).toUtf8();
        QString why;
        if (lhttp::buildMessage(o->command, {}, {}, &why).isNull())
            return usage(why);
    }
    if (p.isSet(format)) {
        Printer::Format f;
        if (!Printer::parseFormat(p.value(format), &f))
            return usage(QStringLiteral("unknown format '%1' (pretty, line, body or json)")
                             .arg(p.value(format)));
        o->printer.format = f;
    }
    if (p.isSet(count)) {
        bool ok = false;
        o->count = p.value(count).toInt(&ok);
        if (!ok || o->count < 1)
            return usage(QStringLiteral("--count needs a number of at least 1"));
    }
    if (p.isSet(timeout)) {
        bool ok = false;
        o->timeoutMs = p.value(timeout).toInt(&ok);
        if (!ok || o->timeoutMs < 1)
            return usage(QStringLiteral("--timeout needs a number of milliseconds"));
    }
    if (p.isSet(limit)) {
        bool ok = false;
        o->limit = p.value(limit).toInt(&ok);
        if (!ok || o->limit < 1)
            return usage(QStringLiteral("--limit needs a number of at least 1"));
    }
    if (p.isSet(after)) {
        // OFFSET:EPOCH or "OFFSET EPOCH", as a position line prints it.
        const QByteArrayList fields =
            p.value(after).toUtf8().replace(':', ' ').simplified().split(' ');
        lhttp::Position position;
        bool ok = fields.size() == 2 && !fields.at(0).isEmpty() && fields.at(0).at(0) >= '0' &&
                  fields.at(0).at(0) <= '9';
        if (ok)
            position.offset = fields.at(0).toULongLong(&ok);
        if (!ok || !lhttp::HistoryHeaders::isValidEpoch(fields.value(1)))
            return usage(QStringLiteral("--after needs OFFSET:EPOCH (a number, then 1 to 32 "
                                        "letters and digits), got '%1'")
                             .arg(p.value(after)));
        position.epoch = fields.at(1);
        o->after = position;
    }
    if (p.isSet(user)) {
        o->user = p.value(user).toUtf8();
        if (o->user.isEmpty() || o->user.contains(' ') || o->user.contains('\t'))
            return usage(QStringLiteral("--user needs a user id without blanks"));
    }
    o->stats = p.isSet(stats);
    o->presence.joins = p.isSet(joins);
    o->presence.joinsSelf = p.isSet(joinsSelf);
    o->presence.info = p.value(info).toUtf8();
    o->withPresence = p.isSet(joins) || p.isSet(joinsSelf) || p.isSet(info);
    const QString presenceOption = p.isSet(joinsSelf) ? QStringLiteral("--joins-self")
                                   : p.isSet(joins)   ? QStringLiteral("--joins")
                                                      : QStringLiteral("--info");
    if (o->withPresence) {
        QString why;
        if (lhttp::buildMessage("x", {{QByteArrayLiteral("presence-info"), o->presence.info}}, {},
                                &why)
                .isNull())
            return usage(QStringLiteral("--info: %1").arg(why));
    }
    o->recover = p.isSet(recover);
    o->positions = p.isSet(positions);
    o->reconnect = !p.isSet(noReconnect);
    o->quiet = p.isSet(quiet);
    o->lineEditor = !p.isSet(noEdit);
    o->http = p.isSet(http);
    o->apiKey = p.isSet(apiKey) ? p.value(apiKey).toUtf8() : qgetenv("LHTTP_API_KEY");
    const bool colorAllowed = !p.isSet(noColor) && qEnvironmentVariableIsEmpty("NO_COLOR");
    o->printer.color = colorAllowed && ::isatty(STDOUT_FILENO);
    o->printer.colorErr = colorAllowed && ::isatty(STDERR_FILENO);
    o->historyFile = qEnvironmentVariableIsSet("LHTTP_CLI_HISTORY")
                         ? qEnvironmentVariable("LHTTP_CLI_HISTORY")
                         : QDir::home().filePath(QStringLiteral(".lhttp_cli_history"));

    if (sub || history || presence) {
        for (const QString &arg : std::as_const(args)) {
            for (const QByteArray &channel : splitChannels(arg)) {
                if (!lhttp::isValidChannel(channel, false, error))
                    return ParseResult::UsageError;
                // recover, history and presence name concrete channels (PROTOCOL.md).
                if ((history || presence || o->recover || o->withPresence) &&
                    (channel.split('.').contains("*") || channel.split('.').contains(">")))
                    return usage(QStringLiteral("%1 needs concrete channels, not the wildcard "
                                                "'%2'")
                                     .arg(history      ? QStringLiteral("history")
                                          : presence   ? QStringLiteral("presence")
                                          : o->recover ? QStringLiteral("--recover")
                                                       : presenceOption,
                                          QString::fromUtf8(channel)));
                o->channels.append(channel);
            }
        }
        if (history && o->channels.size() != 1)
            return usage(QStringLiteral("history reads one channel"));
        if (presence && o->channels.size() != 1)
            return usage(QStringLiteral("presence reads one channel"));
    }
    if (pub) {
        o->channels = splitChannels(args.at(0));
        const bool esc = p.isSet(escapes);
        for (const QString &h : p.values(header)) {
            if (!parseHeader(h, esc, &o->headers, error))
                return ParseResult::UsageError;
        }
        if (args.at(1) == u"-") {
            QFile in;
            if (!in.open(stdin, QIODevice::ReadOnly))
                return usage(QStringLiteral("cannot read stdin"));
            o->body = in.readAll();
        } else {
            o->body = args.at(1).toUtf8();
            if (esc) {
                o->body = unescapeBytes(o->body, error);
                if (o->body.isNull())
                    return ParseResult::UsageError;
            }
        }
        o->message =
            lhttp::buildPublishMessage(o->channels, o->command, o->headers, o->body, error);
        if (o->message.isNull())
            return ParseResult::UsageError;
    }
    return ParseResult::Run;
}

QString helpText() {
    return QStringLiteral(R"(Usage:
  lhttp-cli [options] [URL]                 interactive shell (default URL ws://127.0.0.1:8081/)
  lhttp-cli sub [options] URL CHANNEL...    print the messages published to the channels
  lhttp-cli pub [options] URL CHANNEL TEXT  publish TEXT (- reads it from stdin)
  lhttp-cli history [options] URL CHANNEL   print the last messages of a history channel
  lhttp-cli presence [options] URL CHANNEL  list who is in a presence channel
  lhttp-cli presence --stats [--user USER] URL CHANNEL
                                            count them: connections N users M

LHTTP/1.0 command-line client for lhttpd-qt and the original lhttp server.
URL is ws://HOST:PORT/PATH (wss:// for TLS); http(s):// and a bare HOST:PORT are accepted
too. CHANNEL may hold several channel ids separated by spaces.

Options:
  -c, --command NAME    command of the messages published (pub, shell; default: chat)
  -H, --header K:V      add a header to the published message (pub; repeatable)
  -e, --escapes         read \r \n \t \0 \\ \xNN escapes in TEXT and header values (pub)
      --http            publish with POST /publish instead of a WebSocket (pub)
      --api-key KEY     send 'Authorization: Bearer KEY' with --http (default: $LHTTP_API_KEY)
  -n, --count N         exit after N messages (sub; default: run until interrupted)
      --recover         join the channels (history channels) with recovery: after every
                        reconnect the server replays what was published meanwhile, each
                        message printed once (sub)
      --positions       print each message's position, CHANNEL OFFSET EPOCH, on a line of
                        its own before it (sub, history)
      --joins           join presence channels and print their join and leave events
                        (sub; joined again with them after a reconnect)
      --joins-self      the same, and also this connection's own join (sub)
      --info TEXT       this connection's presence info in the channels, shown to the
                        others in their lists and events (sub; at most the server's
                        --presence-info-max bytes, 256 by default)
      --stats           count the channel's entries instead of listing them (presence)
      --user USER       with --stats, also count USER's connections (presence)
  -l, --limit N         read at most N messages (history; default: 100)
      --after POSITION  read the messages after OFFSET:EPOCH (history; default: the last ones)
  -f, --format FORMAT   how received messages are printed: pretty, line, body or json
                        (sub, history, presence, shell; default: pretty)
  -t, --timeout MS      connect timeout, and for pub the time to get the server's answer
                        (default: 10000)
      --no-reconnect    exit with status 1 when the connection drops instead of
                        reconnecting with backoff and subscribing again (sub, shell)
      --no-color        no ANSI colours (also when NO_COLOR is set, or output is no terminal)
      --no-edit         no line editing/history in the shell (plain line input)
      --cacert FILE     trust the CA certificates (PEM) in FILE for wss:// and https://, in
                        addition to the system's: a private CA, or a self-signed certificate
  -k, --insecure        do not verify the server's TLS certificate at all (testing only)
  -q, --quiet           no status lines on stderr
  -h, --help            this help
  -V, --version         the version

Output:
  Received messages go to stdout, one per arrival, flushed at once. Status lines ("-- ...")
  and problems ("lhttp-cli: ...") go to stderr. Formats:
    pretty  << COMMAND
               name: value          one line per header, in the received order
               | body line          one line per body line
            error replies:  !! error CODE: REASON
    line    the exact message on one line, escaped: \r \n \t \\ and \xNN for control
            bytes and bytes that are not UTF-8; e.g.
            LHTTP/1.0 chat\r\npublish:room\r\n\r\nhello
    body    the body alone, followed by a newline unless it ends with one; error replies
            go to stderr in the pretty form
    json    one object per line: {"command":"chat","headers":[["publish","room"]],
            "body":"hello"} ("bodyBase64" instead of "body" when the body is not UTF-8);
            error replies: {"error":{"code":400,"reason":"..."}}
  sub prints "-- subscribed to CHANNEL..." on stderr once the server has the subscription.
  pub prints nothing on success.
  History channels: sub --recover prints "-- recovered CHANNEL: N messages" after a
  reconnect that replayed messages, and when messages were lost (the history no longer
  holds them, or the server restarted) "lhttp-cli: not recovered: CHANNEL lost messages
  while disconnected; continuing at OFFSET EPOCH" and keeps running (the exit status is not
  affected). history prints the messages oldest first, then "-- history CHANNEL: N
  messages, position OFFSET EPOCH" on stderr; with --positions that position is also the
  last line of stdout, CHANNEL OFFSET EPOCH, to pass to --after next time.
  Presence channels: presence prints one line per entry, CLIENT NODE USER INFO separated by
  tabs ("-" for no user; tabs, newlines and control bytes in INFO escaped as above), then
  "-- presence CHANNEL: N entries" on stderr ("listed L of N" when the server lists fewer
  than there are); json prints {"client","node","user","info"} objects, one per line.
  presence --stats prints "connections N users M", and with --user
  "connections N users M user-connections K" (json: {"connections":N,"users":M,
  "userConnections":K}). sub --joins prints each join and leave event as the message it
  is, LHTTP/1.0 presence with a join:CHANNEL or leave:CHANNEL header, client, node and user
  headers, and the joiner's info as the body; --count counts them as messages.

Exit status:
  0  success: pub was accepted (WebSocket: the server answered a ping sent after the
     message without an error reply; --http: a 2xx status); sub got --count messages or
     was stopped by SIGINT/SIGTERM; history and presence printed what the server returned;
     the shell ended with quit or end of input
  1  runtime failure, explained on stderr: connection refused or lost, an error reply from
     the server (for sub, pub, history and presence; e.g. 404 for a channel without
     history or presence, 403 for one the token does not allow), an HTTP status other than
     2xx, a timeout
  2  usage error: unknown option, missing or invalid argument, invalid channel or header
  When whoever reads the output goes away (lhttp-cli sub ... | head -n 1), lhttp-cli closes
  the connection and ends by SIGPIPE, as other Unix filters do (status 141 in the shell).

Interactive shell:
)") + ShellRunner::helpText() +
           QStringLiteral(R"(
Environment:
  LHTTP_API_KEY       default for --api-key
  LHTTP_CLI_HISTORY   shell history file (default: ~/.lhttp_cli_history; empty: none)
  NO_COLOR            disables colours
)");
}

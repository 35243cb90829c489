// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include "client.h"
#include "lineinput.h"
#include "options.h"

#include <QObject>
#include <QTimer>

#include <functional>

// What every mode shares: the options, one Client, and a way out that closes the connection
// gracefully (bounded) before the event loop ends with the exit status.
class Runner : public QObject {
    Q_OBJECT
public:
    explicit Runner(const CliOptions &options, QObject *parent = nullptr);
    virtual void start() = 0;
    // SIGINT/SIGTERM/SIGHUP.
    virtual void interrupt() { finish(0); }
    // Whoever read stdout or stderr has gone (`lhttp-cli sub ... | head -n 1`): the runner
    // closed the connection and main() ends the process as a Unix filter ends, by SIGPIPE.
    bool readerGone() const { return m_readerGone; }

protected:
    void finish(int status);
    void say(const QString &text);      // status line on stderr, unless --quiet
    void complain(const QString &text); // problem on stderr
    void print(FILE *stream, const QByteArray &text);
    // Writes and flushes; false when the stream failed (errno says why).
    virtual bool write(FILE *stream, const QByteArray &text);
    // The connection's life as the long-running modes (sub, shell) report it: a first
    // connection that fails or a loss without reconnecting ends with status 1; reconnects,
    // their failures and invalid messages are told on stderr.
    void followConnection(const QString &url);
    // The one-shot modes (pub, history): a connection that fails, or is lost before the
    // answer (`awaiting` names it), ends with status 1.
    void failWithoutConnection(const QString &url, const QString &awaiting);
    // A one-shot mode's connection (pub, history, presence): no reconnects, `ask` once
    // connected, an answer within --timeout or status 1, and failWithoutConnection().
    void openOneShot(const std::function<void()> &ask, const QString &awaiting);
    // A read's reply (history, presence): true when it succeeded; otherwise, unless the runner
    // is finishing already, tells why and ends with status 1.
    bool succeeded(const lhttp::Reply &reply);
    // A received message, after its position line with --positions.
    void printMessage(const lhttp::Message &message);
    // Tells the outcome of recoveries (sub --recover, the shell's recover) on stderr.
    void followRecovery();
    // Prints join/leave events (sub --joins, the shell's joins) as the messages they are;
    // `printed` runs after each.
    void followPresence(const std::function<void()> &printed = {});

    CliOptions m_options;
    lhttp::Client m_client;
    bool m_finishing = false;
    bool m_quitting = false; // the shell's quit is under way: a disconnect is expected
    bool m_everConnected = false;
    QTimer m_deadline; // openOneShot()'s

private:
    int m_status = 0;
    bool m_readerGone = false;
};

// lhttp-cli sub URL CHANNEL...
class SubRunner : public Runner {
    Q_OBJECT
public:
    using Runner::Runner;
    void start() override;

private:
    int m_received = 0;
};

// lhttp-cli history URL CHANNEL.
class HistoryRunner : public Runner {
    Q_OBJECT
public:
    using Runner::Runner;
    void start() override;
};

// lhttp-cli presence [--stats [--user USER]] URL CHANNEL.
class PresenceRunner : public Runner {
    Q_OBJECT
public:
    using Runner::Runner;
    void start() override;

private:
    void read();
};

// lhttp-cli pub URL CHANNEL TEXT, over the WebSocket or with --http.
class PubRunner : public Runner {
    Q_OBJECT
public:
    using Runner::Runner;
    void start() override;

private:
    void startHttp();
    QTimer m_deadline;
    bool m_sent = false;
};

// The interactive shell.
class ShellRunner : public Runner {
    Q_OBJECT
public:
    // One command of the shell. The table of them is what the shell runs and what `help`
    // (and `lhttp-cli --help`) lists, so the two cannot disagree.
    struct Command {
        const char *name;
        QByteArrayList aliases; // other words for it, e.g. sub
        const char *arguments;  // synopsis, e.g. "CHANNEL TEXT"
        const char *help;       // '\n' starts a continuation line
        // Runs the command with the rest of the line; false means the arguments do not fit
        // the synopsis, and the shell prints it as the usage.
        bool (ShellRunner::*run)(QByteArray arguments);
    };
    static const QList<Command> &commands();
    // The list of commands as `help` prints it.
    static QString helpText();

    explicit ShellRunner(const CliOptions &options, QObject *parent = nullptr);
    void start() override;
    void interrupt() override { quit(); }

private:
    void execute(const QByteArray &line);
    void quit();
    bool write(FILE *stream, const QByteArray &text) override;

    bool runHelp(QByteArray arguments);
    bool runQuit(QByteArray arguments);
    bool runSubscribe(QByteArray arguments);
    bool runUnsubscribe(QByteArray arguments);
    bool runRecover(QByteArray arguments);
    bool runHistory(QByteArray arguments);
    bool runJoins(QByteArray arguments);
    bool runInfo(QByteArray arguments);
    bool runPresence(QByteArray arguments);
    bool runPresenceStats(QByteArray arguments);
    bool runPublish(QByteArray arguments);
    bool runSend(QByteArray arguments);
    bool runUpstream(QByteArray arguments);
    bool runMultipart(QByteArray arguments);
    bool runCommand(QByteArray arguments);
    bool runHeader(QByteArray arguments);
    bool runFormat(QByteArray arguments);
    bool runPing(QByteArray arguments);
    bool runStatus(QByteArray arguments);

    // Reads the escapes in `text`; complains and returns false when one is malformed.
    bool unescape(const QByteArray &text, QByteArray *out);
    // Sends a message built by buildMessage() (null when it refused, with `why`).
    void sendBuilt(const QByteArray &bytes, const QString &why);

    LineInput m_input;
};

// Builds the body of a multipart message from `spec` (PART;PART..., PART = HEADERS|BODY,
// HEADERS = name:value,...) and the matching `multipart` offsets header value.
bool buildMultipart(QByteArrayView spec, QByteArray *body, QByteArray *offsets, QString *error);

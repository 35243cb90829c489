// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "lineinput.h"

#include <QFile>
#include <QSocketNotifier>

#include <cerrno>
#include <cstdlib>
#include <unistd.h>

#ifdef LHTTP_CLI_LIBEDIT
#include <editline/readline.h>
#endif

namespace {
// libedit's callback interface takes a plain function; there is one stdin, so one instance.
LineInput *g_editing = nullptr;
constexpr int HistorySize = 1000;
} // namespace

LineInput::LineInput(bool allowEditor, const QByteArray &prompt, const QString &historyFile,
                     QObject *parent)
    : QObject(parent)
    , m_prompt(prompt)
    , m_historyFile(historyFile)
    , m_allowEditor(allowEditor) {}

LineInput::~LineInput() {
    stop();
}

bool LineInput::editorAvailable() {
#ifdef LHTTP_CLI_LIBEDIT
    return true;
#else
    return false;
#endif
}

void LineInput::start() {
    if (m_notifier)
        return;
    m_notifier = new QSocketNotifier(STDIN_FILENO, QSocketNotifier::Read, this);
#ifdef LHTTP_CLI_LIBEDIT
    if (m_allowEditor && !g_editing && ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO)) {
        g_editing = this;
        m_editing = true;
        // Ctrl-C and Ctrl-\ stay ordinary signals, handled by the application's self-pipe.
        rl_catch_signals = 0;
        using_history();
        stifle_history(HistorySize);
        if (!m_historyFile.isEmpty())
            read_history(QFile::encodeName(m_historyFile).constData());
        rl_callback_handler_install(m_prompt.constData(), &LineInput::editorLine);
        connect(m_notifier, &QSocketNotifier::activated, this, &LineInput::readEdited);
        return;
    }
#endif
    connect(m_notifier, &QSocketNotifier::activated, this, &LineInput::readPlain);
}

void LineInput::stop() {
    if (m_notifier) {
        m_notifier->setEnabled(false);
        m_notifier->deleteLater();
        m_notifier = nullptr;
    }
#ifdef LHTTP_CLI_LIBEDIT
    if (m_editing) {
        // Gives the terminal its settings back.
        rl_callback_handler_remove();
        if (!m_historyFile.isEmpty())
            write_history(QFile::encodeName(m_historyFile).constData());
        std::fputs("\n", stdout);
        std::fflush(stdout);
        g_editing = nullptr;
        m_editing = false;
    }
#endif
}

bool LineInput::write(FILE *stream, const QByteArray &text) {
#ifdef LHTTP_CLI_LIBEDIT
    if (m_editing && !m_betweenLines) {
        // Clear the prompt line, print, and let libedit draw the prompt and the half-typed
        // line again below what was printed. Not for what a command prints (help, status):
        // then the cursor is already on a fresh line, and a redraw would show the finished
        // line once more, glued to the next prompt ("lhttp> statuslhttp> ").
        std::fputs("\r\033[K", stdout);
        std::fflush(stdout);
        const size_t written = std::fwrite(text.constData(), 1, size_t(text.size()), stream);
        const bool ok = std::fflush(stream) == 0 && written == size_t(text.size());
        const int error = errno;
        rl_forced_update_display();
        errno = error;
        return ok;
    }
#endif
    const size_t written = std::fwrite(text.constData(), 1, size_t(text.size()), stream);
    // Pipes are block-buffered: a script reading our output must see each message at once.
    return std::fflush(stream) == 0 && written == size_t(text.size());
}

void LineInput::readPlain() {
    char buf[64 * 1024];
    // The notifier said readable: one read() returns without blocking.
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        if (m_notifier)
            m_notifier->setEnabled(false);
        emitLines(true);
        if (!m_ended) {
            m_ended = true;
            Q_EMIT endOfInput();
        }
        return;
    }
    m_buffer.append(buf, n);
    emitLines(false);
}

void LineInput::emitLines(bool atEnd) {
    qsizetype eol;
    while ((eol = m_buffer.indexOf('\n')) >= 0) {
        QByteArray line = m_buffer.left(eol);
        m_buffer.remove(0, eol + 1);
        if (line.endsWith('\r'))
            line.chop(1);
        Q_EMIT lineRead(line);
        if (!m_notifier && !atEnd)
            return; // stopped by a slot: leave the rest unread
    }
    if (atEnd && !m_buffer.isEmpty()) {
        const QByteArray last = m_buffer;
        m_buffer.clear();
        Q_EMIT lineRead(last);
    }
}

void LineInput::readEdited() {
#ifdef LHTTP_CLI_LIBEDIT
    rl_callback_read_char();
#endif
}

void LineInput::editorLine(char *line) {
#ifdef LHTTP_CLI_LIBEDIT
    LineInput *self = g_editing;
    if (!self)
        return;
    if (!line) { // Ctrl-D on an empty line
        if (!self->m_ended) {
            self->m_ended = true;
            Q_EMIT self->endOfInput();
        }
        return;
    }
    const QByteArray text(line);
    std::free(line);
    if (!text.trimmed().isEmpty())
        add_history(text.constData());
    self->m_betweenLines = true;
    Q_EMIT self->lineRead(text);
    self->m_betweenLines = false;
    // libedit leaves editing mode after each line (the terminal goes back to cooked mode);
    // installing the handler again starts the next line, unless a slot stopped the input.
    if (g_editing == self)
        rl_callback_handler_install(self->m_prompt.constData(), &LineInput::editorLine);
#else
    Q_UNUSED(line);
#endif
}

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QObject>

#include <cstdio>

class QSocketNotifier;

// Reads lines from stdin without blocking the event loop: a QSocketNotifier on fd 0 wakes it
// only when input is there. On a terminal, and when built with libedit (BSD licence, Debian
// libedit-dev), lines get editing and history through libedit's callback interface; elsewhere
// (pipes, files) lines are split by hand. Output printed while the user is typing goes through
// write(), which moves the half-typed line out of the way and redraws it.
class LineInput : public QObject {
    Q_OBJECT
public:
    // `historyFile` is used with the line editor only; empty keeps no history on disk.
    LineInput(bool allowEditor, const QByteArray &prompt, const QString &historyFile,
              QObject *parent = nullptr);
    ~LineInput() override;

    static bool editorAvailable();
    bool isEditing() const { return m_editing; }

    void start();
    void stop();
    // False when the stream failed (errno says why).
    bool write(FILE *stream, const QByteArray &text);

Q_SIGNALS:
    void lineRead(const QByteArray &line);
    void endOfInput();

private:
    void readPlain();
    void readEdited();
    void emitLines(bool atEnd);
    static void editorLine(char *line);

    QSocketNotifier *m_notifier = nullptr;
    QByteArray m_prompt;
    QString m_historyFile;
    QByteArray m_buffer;
    bool m_allowEditor = false;
    bool m_editing = false;
    // Inside lineRead() of an edited line: libedit has finished that line and draws the next
    // prompt only after the slots return.
    bool m_betweenLines = false;
    bool m_ended = false;
};

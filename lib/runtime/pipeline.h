// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QHash>

#include <memory>
#include <vector>

namespace lhttp {

class HeaderFilter;
class NodeEvents;
class Processor;
class Session;

// The filter/processor chain every message of every session runs through (PROTOCOL.md §3,
// processor.h): filters' beforeMessage, the command's processor, filters' afterMessage. The
// built-in headers are filters at the front of the chain; users' filters follow in the order
// they were added. Open and close are balanced per session: each filter and processor that saw
// a session open sees it close, even when more were registered in between.
class Pipeline {
public:
    explicit Pipeline(NodeEvents &events);
    ~Pipeline();
    Pipeline(const Pipeline &) = delete;
    Pipeline &operator=(const Pipeline &) = delete;

    // The original's Regist(command, processor). Replaces an earlier one for that command.
    void registerProcessor(const QByteArray &command, std::shared_ptr<Processor> processor);
    Processor *processor(QByteArrayView command) const;
    // The original's RegistHeadFilter: appended to the chain.
    void addFilter(std::shared_ptr<HeaderFilter> filter);

    // How far a session got through open(): close() undoes exactly that.
    struct Opened {
        int filters = 0;
        int processors = 0;
    };
    Opened open(Session &session);
    // Runs the chain for the message the session is handling.
    void message(Session &session);
    void close(Session &session, const Opened &opened);

private:
    NodeEvents &m_events;
    QHash<QByteArray, std::shared_ptr<Processor>> m_processors;
    std::vector<std::shared_ptr<Processor>> m_processorOrder;
    std::vector<std::shared_ptr<HeaderFilter>> m_filters;
};

} // namespace lhttp

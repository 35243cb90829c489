// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "pipeline.h"

#include "nodeevents.h"
#include "processor.h"
#include "session.h"

#include <algorithm>

namespace lhttp {

Processor::~Processor() = default;
HeaderFilter::~HeaderFilter() = default;
NodeEvents::~NodeEvents() = default;

Pipeline::Pipeline(NodeEvents &events)
    : m_events(events) {}

Pipeline::~Pipeline() = default;

void Pipeline::registerProcessor(const QByteArray &command, std::shared_ptr<Processor> processor) {
    if (std::find(m_processorOrder.begin(), m_processorOrder.end(), processor) ==
        m_processorOrder.end())
        m_processorOrder.push_back(processor);
    m_processors.insert(command, std::move(processor));
}

Processor *Pipeline::processor(QByteArrayView command) const {
    // fromRawData: a lookup key without copying the command.
    const auto it = m_processors.constFind(QByteArray::fromRawData(command.data(), command.size()));
    return it == m_processors.cend() ? nullptr : it->get();
}

void Pipeline::addFilter(std::shared_ptr<HeaderFilter> filter) {
    m_filters.push_back(std::move(filter));
}

Pipeline::Opened Pipeline::open(Session &session) {
    Opened opened;
    for (const auto &f : m_filters) {
        f->onOpen(session);
        ++opened.filters;
    }
    for (const auto &p : m_processorOrder) {
        p->onOpen(session);
        ++opened.processors;
    }
    return opened;
}

void Pipeline::message(Session &session) {
    m_events.noteMessage(session);
    for (const auto &f : m_filters) {
        if (!f->beforeMessage(session))
            return;
    }
    if (Processor *p = processor(session.command()))
        p->onMessage(session);
    for (const auto &f : m_filters) {
        if (session.isDropped() || session.isClosing())
            return;
        f->afterMessage(session);
    }
}

void Pipeline::close(Session &session, const Opened &opened) {
    for (int i = 0; i < opened.processors; ++i)
        m_processorOrder[size_t(i)]->onClose(session);
    for (int i = 0; i < opened.filters; ++i)
        m_filters[size_t(i)]->onClose(session);
}

} // namespace lhttp

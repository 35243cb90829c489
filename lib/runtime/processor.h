// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

namespace lhttp {

class Session;

// Handles messages whose command it was registered for (the original's `Regist`). A
// processor may reply, edit the current message (Session::message()) or drop it before the
// built-in headers run. The lifecycle is balanced: every processor registered when a
// connection opens gets onOpen then, and exactly one onClose when it ends.
class Processor {
public:
    virtual ~Processor();
    virtual void onOpen(Session &) {}
    virtual void onMessage(Session &) {}
    virtual void onClose(Session &) {}
};

// Hooks every message, whatever its command (the original's `RegistHeadFilter`). The built-in
// headers multipart, subscribe, publish, unsubscribe and upstream are filters too; they come
// first in the chain, user filters after them in the order they were added.
//
// Per message: beforeMessage of each filter (a false return stops the message: no processor,
// no built-in headers), then the processor, then afterMessage of each filter until one drops
// the message.
class HeaderFilter {
public:
    virtual ~HeaderFilter();
    virtual void onOpen(Session &) {}
    virtual bool beforeMessage(Session &) { return true; }
    virtual void afterMessage(Session &) {}
    virtual void onClose(Session &) {}
};

} // namespace lhttp

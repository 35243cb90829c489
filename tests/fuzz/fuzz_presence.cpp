// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// libFuzzer target for the cluster's presence messages (PresenceStore::receive, docs/CLUSTER.md
// "Presence"): whatever another node — or anyone who can publish on the NATS subject — sends.
// The input is cut at 0x01 bytes into messages, received one after the other (each a little
// later), with a tick now and then so that silent nodes time out.
// Checked besides "no crash, no sanitizer report": the store stays consistent (every channel's
// list, stats and the totals agree; events name a channel and say join or leave for an entry
// with a client id), its own replies (state requests and snapshots) are well formed (another
// store reads them without counting one as malformed), and leaving the cluster drops every
// other node's entry.

#include "fuzzcheck.h"
#include "presence.h"

#include <climits>

using lhttp::PresenceStore;

namespace {

void checkConsistent(const PresenceStore &store) {
    const PresenceStore::Size size = store.size();
    int entries = 0;
    for (const QByteArray &channel : store.channels()) {
        const lhttp::PresenceList list = store.list(channel, INT_MAX);
        const lhttp::PresenceStats stats = store.stats(channel);
        FUZZ_CHECK(list.total > 0 && list.total == list.entries.size());
        FUZZ_CHECK(stats.connections == list.total);
        FUZZ_CHECK(stats.users >= 1 && stats.users <= stats.connections);
        for (const lhttp::PresenceEntry &e : list.entries)
            FUZZ_CHECK(!e.client.isEmpty() && !e.node.isEmpty());
        entries += list.total;
    }
    FUZZ_CHECK(entries == size.entries);
    FUZZ_CHECK(size.channels == store.channels().size());
}

void checkEvents(const PresenceStore::Events &events) {
    for (const PresenceStore::Event &e : events) {
        FUZZ_CHECK(!e.channel.isEmpty() && !e.entry.client.isEmpty());
        FUZZ_CHECK(e.session == 0); // another node's entry: never one of this node's sessions
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const QByteArrayView in = fuzz::input(data, size);
    PresenceStore store, reader;
    store.configure({"room.>"}, "fuzz");
    reader.configure({"room.>"}, "reader");
    QByteArrayList sent;
    PresenceStore::Events events;
    store.setCluster([&](const QByteArray &m) { sent.append(m); }, 5000, 0, &events);
    reader.setCluster([](const QByteArray &) {}, 5000, 0, &events);
    store.join("room.local", 1, "me", "info", nullptr);
    qint64 now = 0;
    qsizetype start = 0;
    for (qsizetype i = 0; i <= in.size(); ++i) {
        if (i < in.size() && in[i] != '\x01')
            continue;
        events.clear();
        store.receive(in.sliced(start, i - start), now, &events);
        checkEvents(events);
        now += 700;
        if ((i & 3) == 0) {
            events.clear();
            store.tick(now, &events);
            checkEvents(events);
        }
        start = i + 1;
    }
    checkConsistent(store);
    FUZZ_CHECK(store.stats("room.local").connections == 1);
    store.flush();
    store.announce(); // a snapshot of what it holds, and a request
    PresenceStore::Events readerEvents;
    for (const QByteArray &m : sent)
        reader.receive(m, now, &readerEvents);
    FUZZ_CHECK(reader.counters().malformed.load() == 0);
    FUZZ_CHECK(reader.stats("room.local").connections == 1);
    checkConsistent(reader);
    events.clear();
    store.setCluster(nullptr, 5000, now, &events);
    checkEvents(events);
    checkConsistent(store);
    FUZZ_CHECK(store.size().entries == store.size().localEntries);
    return 0;
}

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#include "presence.h"

#include "channelname.h"

#include <QRandomGenerator>

#include <optional>

namespace lhttp {

namespace {

constexpr qint64 AskIntervalMs = 1000;       // one R per silent or gapped node per second
constexpr qsizetype MaxRecordBytes = 65'536; // user + info of one remote record
constexpr int MaxRemoteChannelLength = 1024;

bool isToken(QByteArrayView v, qsizetype max) {
    if (v.isEmpty() || v.size() > max)
        return false;
    for (char c : v) {
        if (c <= ' ' || c == 0x7f)
            return false;
    }
    return true;
}

std::optional<quint64> decimal(QByteArrayView v, quint64 max) {
    if (v.isEmpty() || v.size() > 20)
        return std::nullopt;
    quint64 n = 0;
    for (char c : v) {
        if (c < '0' || c > '9')
            return std::nullopt;
        const quint64 d = quint64(c - '0');
        if (n > (max - d) / 10)
            return std::nullopt;
        n = n * 10 + d;
    }
    return n;
}

// Reads a cluster message: the header line, then records. Nothing is trusted.
class Reader {
public:
    explicit Reader(QByteArrayView data)
        : m_data(data) {}

    // The next line, without its '\n'; nullopt at the end or without a line end.
    std::optional<QByteArrayView> line() {
        const qsizetype end = m_data.indexOf('\n', m_pos);
        if (end < 0)
            return std::nullopt;
        const QByteArrayView l = m_data.sliced(m_pos, end - m_pos);
        m_pos = end + 1;
        return l;
    }
    std::optional<QByteArrayView> bytes(qsizetype n) {
        if (n < 0 || m_data.size() - m_pos < n)
            return std::nullopt;
        const QByteArrayView b = m_data.sliced(m_pos, n);
        m_pos += n;
        return b;
    }
    bool atEnd() const { return m_pos >= m_data.size(); }

private:
    QByteArrayView m_data;
    qsizetype m_pos = 0;
};

QList<QByteArrayView> fields(QByteArrayView line) {
    QList<QByteArrayView> out;
    qsizetype start = 0;
    for (qsizetype i = 0; i <= line.size(); ++i) {
        if (i == line.size() || line[i] == ' ') {
            out.append(line.sliced(start, i - start));
            start = i + 1;
        }
    }
    return out;
}

struct Record {
    bool join = true;
    QByteArray channel;
    quint64 session = 0;
    QByteArray user;
    QByteArray info;
};

// The records after the header line; false if any is malformed.
bool readRecords(Reader &in, std::vector<Record> *out) {
    constexpr quint64 MaxSession = (quint64(1) << 40) - 1;
    while (!in.atEnd()) {
        const auto l = in.line();
        if (!l)
            return false;
        const QList<QByteArrayView> f = fields(*l);
        if (f.isEmpty() || f[0].size() != 1)
            return false;
        Record r;
        r.join = f[0] == "+";
        if ((r.join && f.size() != 5) || (!r.join && (f[0] != "-" || f.size() != 3)))
            return false;
        if (ChannelName::validate(f[1], ChannelName::Use::Publish, false, MaxRemoteChannelLength))
            return false;
        const auto session = decimal(f[2], MaxSession);
        if (!session || *session == 0)
            return false;
        r.channel = f[1].toByteArray();
        r.session = *session;
        if (r.join) {
            const auto userLength = decimal(f[3], MaxRecordBytes);
            const auto infoLength = decimal(f[4], MaxRecordBytes);
            if (!userLength || !infoLength)
                return false;
            const auto user = in.bytes(qsizetype(*userLength));
            const auto info = in.bytes(qsizetype(*infoLength));
            const auto end = in.line();
            if (!user || !info || !end || !end->isEmpty())
                return false;
            r.user = user->toByteArray();
            r.info = info->toByteArray();
        }
        out->push_back(std::move(r));
    }
    return true;
}

void appendJoin(QByteArray &out, const QByteArray &channel, quint64 session, const QByteArray &user,
                const QByteArray &info) {
    out.append("+ ").append(channel).append(' ').append(QByteArray::number(session));
    out.append(' ').append(QByteArray::number(user.size()));
    out.append(' ').append(QByteArray::number(info.size())).append('\n');
    out.append(user).append(info).append('\n');
}

void appendLeave(QByteArray &out, const QByteArray &channel, quint64 session) {
    out.append("- ").append(channel).append(' ').append(QByteArray::number(session)).append('\n');
}

} // namespace

PresenceStore::PresenceStore()
    : m_instance(newInstance()) {}

QByteArray PresenceStore::newInstance() {
    return QByteArray::number(QRandomGenerator::system()->generate64(), 16);
}

void PresenceStore::configure(const QByteArrayList &patterns, const QByteArray &nodeName) {
    m_patterns = patterns;
    m_nodeName = nodeName;
}

QByteArray PresenceStore::nodeName() const {
    QMutexLocker lock(&m_mutex);
    return m_nodeName;
}

void PresenceStore::setNodeName(const QByteArray &name) {
    QMutexLocker lock(&m_mutex);
    m_nodeName = name;
}

bool PresenceStore::covers(QByteArrayView channel) const {
    for (const QByteArray &p : m_patterns) {
        if (ChannelName::matches(p, channel))
            return true;
    }
    return false;
}

const QByteArray &PresenceStore::nameOf(quint32 node) const {
    if (node == 0)
        return m_nodeName;
    static const QByteArray unknown;
    const auto it = m_nodeInstances.find(node);
    if (it == m_nodeInstances.end())
        return unknown;
    const auto n = m_nodes.find(*it);
    return n == m_nodes.end() ? unknown : n->name;
}

PresenceStore::Event PresenceStore::makeEvent(const QByteArray &channel, bool join, quint32 node,
                                              const Member &m) const {
    return Event{channel, join, node == 0 ? m.session : 0,
                 PresenceEntry{QByteArray::number(m.session), nameOf(node), m.user, m.info}};
}

bool PresenceStore::add(const QByteArray &channel, quint32 node, quint64 session,
                        const QByteArray &user, const QByteArray &info, Event *event) {
    Room &room = m_rooms[channel];
    const quint64 k = key(node, session);
    if (room.members.contains(k))
        return false;
    const Member &m = *room.members.insert(k, Member{session, user, info});
    if (user.isEmpty())
        ++room.anonymous;
    else
        ++room.users[user];
    ++m_entries;
    if (node == 0)
        ++m_localEntries;
    if (event)
        *event = makeEvent(channel, true, node, m);
    return true;
}

bool PresenceStore::remove(const QByteArray &channel, quint32 node, quint64 session, Event *event) {
    const auto r = m_rooms.find(channel);
    if (r == m_rooms.end())
        return false;
    const auto it = r->members.find(key(node, session));
    if (it == r->members.end())
        return false;
    if (event)
        *event = makeEvent(channel, false, node, *it);
    if (it->user.isEmpty()) {
        --r->anonymous;
    } else if (const auto u = r->users.find(it->user); u != r->users.end() && --*u == 0) {
        r->users.erase(u);
    }
    r->members.erase(it);
    --m_entries;
    if (node == 0)
        --m_localEntries;
    if (r->members.isEmpty())
        m_rooms.erase(r);
    return true;
}

bool PresenceStore::join(const QByteArray &channel, quint64 session, const QByteArray &user,
                         const QByteArray &info, Event *event) {
    QMutexLocker lock(&m_mutex);
    if (!add(channel, 0, session, user, info, event))
        return false;
    m_counters.joins.fetch_add(1, std::memory_order_relaxed);
    if (m_clustered.load(std::memory_order_relaxed)) {
        appendJoin(m_outbox, channel, session, user, info);
        m_outgoing.store(true, std::memory_order_release);
    }
    return true;
}

bool PresenceStore::leave(const QByteArray &channel, quint64 session, Event *event) {
    QMutexLocker lock(&m_mutex);
    if (!remove(channel, 0, session, event))
        return false;
    m_counters.leaves.fetch_add(1, std::memory_order_relaxed);
    if (m_clustered.load(std::memory_order_relaxed)) {
        appendLeave(m_outbox, channel, session);
        m_outgoing.store(true, std::memory_order_release);
    }
    return true;
}

PresenceList PresenceStore::list(const QByteArray &channel, int max) const {
    QMutexLocker lock(&m_mutex);
    PresenceList out;
    const auto r = m_rooms.find(channel);
    if (r == m_rooms.end())
        return out;
    out.total = int(r->members.size());
    out.entries.reserve(std::min(out.total, std::max(max, 0)));
    for (auto it = r->members.cbegin(); it != r->members.cend() && out.entries.size() < max; ++it) {
        const quint32 node = quint32(it.key() >> SessionBits);
        out.entries.append({QByteArray::number(it->session), nameOf(node), it->user, it->info});
    }
    return out;
}

PresenceStats PresenceStore::stats(const QByteArray &channel, QByteArrayView user) const {
    QMutexLocker lock(&m_mutex);
    PresenceStats out;
    const auto r = m_rooms.find(channel);
    if (r == m_rooms.end())
        return out;
    out.connections = int(r->members.size());
    out.users = int(r->users.size()) + r->anonymous;
    if (!user.isEmpty())
        out.userConnections = r->users.value(QByteArray::fromRawData(user.data(), user.size()));
    return out;
}

QList<QByteArray> PresenceStore::channels() const {
    QMutexLocker lock(&m_mutex);
    return m_rooms.keys();
}

PresenceStore::Size PresenceStore::size() const {
    QMutexLocker lock(&m_mutex);
    return Size{int(m_rooms.size()), m_entries, m_localEntries, int(m_nodes.size()) + 1};
}

void PresenceStore::setCluster(std::function<void(const QByteArray &)> send, qint64 timeoutMs,
                               qint64 now, Events *events) {
    Q_UNUSED(now)
    QMutexLocker lock(&m_mutex);
    m_send = std::move(send);
    m_timeoutMs = timeoutMs;
    m_clustered.store(bool(m_send), std::memory_order_release);
    m_outbox.clear();
    // Numbering starts again: as a new instance, whose name replaces the old one's on others.
    m_seq = 0;
    m_instance = newInstance();
    // A node's state is the sum of its deltas from the first: entries made before it joined the
    // cluster go into the first one.
    for (auto r = m_rooms.cbegin(); m_send && r != m_rooms.cend(); ++r) {
        for (auto it = r->members.cbegin(); it != r->members.cend(); ++it) {
            if ((it.key() >> SessionBits) == 0)
                appendJoin(m_outbox, r.key(), it->session, it->user, it->info);
        }
    }
    m_outgoing.store(!m_outbox.isEmpty(), std::memory_order_release);
    if (!m_send) {
        const QByteArrayList instances = m_nodes.keys();
        for (const QByteArray &i : instances)
            dropNode(i, events);
    }
}

QByteArray PresenceStore::headerLine(char kind) const {
    QByteArray out;
    out.append(kind).append(' ').append(m_instance).append(' ');
    out.append(QByteArray::number(m_seq)).append(' ').append(m_nodeName).append('\n');
    return out;
}

QByteArray PresenceStore::snapshotMessage() const {
    QByteArray out = headerLine('S');
    for (auto r = m_rooms.cbegin(); r != m_rooms.cend(); ++r) {
        for (auto it = r->members.cbegin(); it != r->members.cend(); ++it) {
            if ((it.key() >> SessionBits) == 0)
                appendJoin(out, r.key(), it->session, it->user, it->info);
        }
    }
    return out;
}

void PresenceStore::flush() {
    QMutexLocker lock(&m_mutex);
    flushLocked();
}

void PresenceStore::flushLocked() {
    if (m_outbox.isEmpty() || !m_send)
        return;
    ++m_seq;
    m_send(headerLine('D') + m_outbox);
    m_outbox.clear();
    m_outgoing.store(false, std::memory_order_release);
}

void PresenceStore::announce() {
    QMutexLocker lock(&m_mutex);
    if (!m_send)
        return;
    flushLocked();
    m_send(snapshotMessage());
    m_send(headerLine('R') + "*\n");
    m_counters.syncRequests.fetch_add(1, std::memory_order_relaxed);
}

void PresenceStore::tick(qint64 now, Events *events) {
    QMutexLocker lock(&m_mutex);
    if (!m_send)
        return;
    flushLocked();
    if (m_heartbeatAt < 0 || now - m_heartbeatAt >= HeartbeatIntervalMs - CheckIntervalMs / 2) {
        m_heartbeatAt = now;
        m_send(headerLine('H'));
    }
    QByteArrayList silent;
    for (auto it = m_nodes.cbegin(); it != m_nodes.cend(); ++it) {
        if (now - it->heardAt > m_timeoutMs)
            silent.append(it.key());
    }
    for (const QByteArray &i : silent) {
        dropNode(i, events);
        m_counters.nodeTimeouts.fetch_add(1, std::memory_order_relaxed);
    }
}

void PresenceStore::dropNode(const QByteArray &instance, Events *events) {
    const auto n = m_nodes.find(instance);
    if (n == m_nodes.end())
        return;
    // An empty snapshot: a leave for each of its entries.
    replaceNode(*n, {}, events);
    m_nodeInstances.remove(n->id);
    m_nodes.erase(n);
}

void PresenceStore::replaceNode(Node &node, QHash<QByteArray, QHash<quint64, Member>> snapshot,
                                Events *events) {
    // Leaves for what the snapshot lacks, joins for what is new to this node's copy.
    std::vector<std::pair<QByteArray, quint64>> gone;
    for (auto r = m_rooms.cbegin(); r != m_rooms.cend(); ++r) {
        const auto s = snapshot.constFind(r.key());
        for (auto it = r->members.cbegin(); it != r->members.cend(); ++it) {
            if (quint32(it.key() >> SessionBits) != node.id)
                continue;
            if (s == snapshot.cend() || !s->contains(it->session))
                gone.emplace_back(r.key(), it->session);
        }
    }
    for (const auto &[channel, session] : gone) {
        Event e;
        if (remove(channel, node.id, session, events ? &e : nullptr)) {
            m_counters.remoteLeaves.fetch_add(1, std::memory_order_relaxed);
            if (events)
                events->push_back(std::move(e));
        }
    }
    for (auto s = snapshot.begin(); s != snapshot.end(); ++s) {
        for (const Member &m : std::as_const(*s)) {
            Event e;
            if (add(s.key(), node.id, m.session, m.user, m.info, events ? &e : nullptr)) {
                m_counters.remoteJoins.fetch_add(1, std::memory_order_relaxed);
                if (events)
                    events->push_back(std::move(e));
            }
        }
    }
}

void PresenceStore::ask(Node &node, const QByteArray &instance, qint64 now) {
    if (!m_send || (node.askedAt >= 0 && now - node.askedAt < AskIntervalMs))
        return;
    node.askedAt = now;
    m_send(headerLine('R') + instance + '\n');
    m_counters.syncRequests.fetch_add(1, std::memory_order_relaxed);
}

void PresenceStore::receive(QByteArrayView message, qint64 now, Events *events) {
    Reader in(message);
    const auto head = in.line();
    const QList<QByteArrayView> f = head ? fields(*head) : QList<QByteArrayView>();
    const auto seq = f.size() == 4 ? decimal(f[2], ~quint64(0)) : std::nullopt;
    if (!seq || f[0].size() != 1 || !QByteArrayView("DSHR").contains(f[0][0]) ||
        !isToken(f[1], 32) || !isToken(f[3], 255)) {
        m_counters.malformed.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const char kind = f[0][0];
    const QByteArray instance = f[1].toByteArray();
    std::vector<Record> records;
    QByteArray target;
    bool ok = true;
    if (kind == 'D' || kind == 'S') {
        ok = readRecords(in, &records);
    } else if (kind == 'R') {
        const auto t = in.line();
        ok = t && isToken(*t, 32) && in.atEnd();
        if (ok)
            target = t->toByteArray();
    } else {
        ok = in.atEnd();
    }

    QMutexLocker lock(&m_mutex);
    if (!m_send || instance == m_instance) // this node's own come back from NATS
        return;
    auto n = m_nodes.find(instance);
    if (!ok) {
        m_counters.malformed.fetch_add(1, std::memory_order_relaxed);
        if (n != m_nodes.end()) { // a known node's: its whole state replaces what it was
            n->synced = false;
            ask(*n, instance, now);
        }
        return;
    }
    if (n == m_nodes.end()) {
        // A node new to this one. Another instance of the same name is that node before a
        // restart: its entries go now, not after the timeout.
        QByteArrayList old;
        for (auto it = m_nodes.cbegin(); it != m_nodes.cend(); ++it) {
            if (it->name == f[3])
                old.append(it.key());
        }
        for (const QByteArray &i : old) {
            dropNode(i, events);
            m_counters.nodeRestarts.fetch_add(1, std::memory_order_relaxed);
        }
        Node fresh;
        fresh.name = f[3].toByteArray();
        fresh.id = m_nextNodeId++;
        m_nodeInstances.insert(fresh.id, instance);
        n = m_nodes.insert(instance, fresh);
    }
    Node &node = *n;
    node.heardAt = now;
    switch (kind) {
    case 'S': {
        QHash<QByteArray, QHash<quint64, Member>> snapshot;
        for (Record &r : records) {
            if (r.join)
                snapshot[r.channel].insert(r.session,
                                           Member{r.session, std::move(r.user), std::move(r.info)});
        }
        replaceNode(node, std::move(snapshot), events);
        node.seq = *seq;
        node.synced = true;
        m_counters.snapshots.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    case 'D':
        if (!node.synced && node.seq == 0 && *seq == 1)
            node.synced = true; // followed from its very first delta
        if (node.synced && *seq <= node.seq)
            return; // seen already
        if (!node.synced || *seq != node.seq + 1) {
            node.synced = false; // a delta was lost: its S replaces everything
            ask(node, instance, now);
            return;
        }
        node.seq = *seq;
        for (const Record &r : records) {
            Event e;
            const bool changed = r.join ? add(r.channel, node.id, r.session, r.user, r.info, &e)
                                        : remove(r.channel, node.id, r.session, &e);
            if (!changed)
                continue;
            (r.join ? m_counters.remoteJoins : m_counters.remoteLeaves)
                .fetch_add(1, std::memory_order_relaxed);
            if (events)
                events->push_back(std::move(e));
        }
        return;
    case 'H':
        if (!node.synced || *seq != node.seq) {
            node.synced = false;
            ask(node, instance, now);
        }
        return;
    case 'R':
        if (target == "*" || target == m_instance) {
            flushLocked(); // the S that answers follows every delta sent so far
            m_send(snapshotMessage());
        }
        return;
    default:
        return;
    }
}

} // namespace lhttp

// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
//
// lhttp-presence-mech: measures the NATS mechanisms issue 15 could build cluster-wide presence
// on (docs/BENCHMARKS.md, "Presence" / "NATS mechanism"), against a real nats-server -js that
// it starts on 127.0.0.1 for every run. Plain C++ and nats.c; independent of lib/ and of
// lhttpd-qt: every "node" is one NATS connection (with its threads) in this process.
//
//   delta    every node keeps a replica of all nodes' entries; joins are published as
//            batched deltas on one core-NATS subject, every node heartbeats every second and
//            drops a node silent for --timeout; a new node asks for snapshots.
//   delta1   the same, one message per join (no batching): propagation only.
//   kv       JetStream KV bucket (memory storage, TTL): one key per entry, a watcher per
//            node, entries re-put every TTL/2 to stay alive, a presence read is a watch of
//            the room's keys.
//   scatter  no replica: a presence read is a request answered by every other node with its
//            entries of the room; joins still have to be broadcast (one event per join).
//
// Bytes on the wire are the nats-server's socket reads + writes over the phase
// (/proc/PID/io rchar + wchar: with memory storage it does no other I/O), which counts the
// NATS protocol (subjects, reply inboxes, JetStream acks and headers), not only payloads.
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int64_t nowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

double msSince(int64_t t0) {
    return double(nowNs() - t0) / 1e6;
}

void sleepMs(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

[[noreturn]] void die(const std::string &what) {
    std::fprintf(stderr, "lhttp-presence-mech: %s\n", what.c_str());
    std::exit(1);
}

void check(natsStatus s, const char *what) {
    if (s != NATS_OK)
        die(std::string(what) + ": " + natsStatus_GetText(s) + " " + nats_GetLastError(nullptr));
}

double percentile(std::vector<double> v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    size_t i = size_t(p * double(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

double median(std::vector<double> v) {
    return percentile(std::move(v), 0.5);
}

// ---------------------------------------------------------------------------------------------
// nats-server

struct ProcIo {
    uint64_t rchar = 0;
    uint64_t wchar = 0;
    uint64_t cpuTicks = 0; // utime + stime
    int64_t at = 0;
};

ProcIo readProcIo(pid_t pid) {
    ProcIo r;
    r.at = nowNs();
    std::ifstream io("/proc/" + std::to_string(pid) + "/io");
    std::string key;
    uint64_t v = 0;
    while (io >> key >> v) {
        if (key == "rchar:")
            r.rchar = v;
        else if (key == "wchar:")
            r.wchar = v;
    }
    std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(st, line);
    const auto close = line.rfind(')');
    if (close != std::string::npos) {
        std::istringstream rest(line.substr(close + 2));
        std::string f;
        // Fields after the name: state(3) ... utime(14) stime(15).
        for (int i = 3; i <= 15 && rest >> f; ++i) {
            if (i == 14 || i == 15)
                r.cpuTicks += std::stoull(f);
        }
    }
    return r;
}

struct IoDelta {
    double bytes = 0;   // server reads + writes
    double seconds = 0; // wall
    double cpuPct = 0;  // server CPU, % of one core
};

IoDelta ioDelta(const ProcIo &a, const ProcIo &b) {
    IoDelta d;
    d.bytes = double((b.rchar - a.rchar) + (b.wchar - a.wchar));
    d.seconds = double(b.at - a.at) / 1e9;
    const double ticks = double(sysconf(_SC_CLK_TCK));
    if (d.seconds > 0)
        d.cpuPct = 100.0 * double(b.cpuTicks - a.cpuTicks) / ticks / d.seconds;
    return d;
}

int freePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
        die("bind");
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

class NatsServer {
public:
    explicit NatsServer(const std::string &bin) {
        char tmpl[] = "/tmp/lhttp-presmech.XXXXXX";
        if (!mkdtemp(tmpl))
            die("mkdtemp");
        m_dir = tmpl;
        m_port = freePort();
        const std::string port = std::to_string(m_port);
        const std::string sd = m_dir + "/js";
        const std::string log = m_dir + "/nats.log";
        m_pid = fork();
        if (m_pid < 0)
            die("fork");
        if (m_pid == 0) {
            int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            execlp(bin.c_str(), bin.c_str(), "-a", "127.0.0.1", "-p", port.c_str(), "-js", "-sd",
                   sd.c_str(), static_cast<char *>(nullptr));
            _exit(127);
        }
        // Ready when a connection succeeds.
        for (int i = 0; i < 100; ++i) {
            natsConnection *nc = nullptr;
            if (natsConnection_ConnectTo(&nc, url().c_str()) == NATS_OK) {
                natsConnection_Destroy(nc);
                return;
            }
            sleepMs(50);
        }
        die("nats-server did not start; see " + log);
    }
    ~NatsServer() {
        if (m_pid > 0) {
            kill(m_pid, SIGTERM);
            for (int i = 0; i < 100; ++i) {
                if (waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
                    m_pid = -1;
                    break;
                }
                sleepMs(50);
            }
            if (m_pid > 0) {
                kill(m_pid, SIGKILL);
                waitpid(m_pid, nullptr, 0);
            }
        }
        const std::string cmd = "rm -rf '" + m_dir + "'";
        if (std::system(cmd.c_str()) != 0)
            std::fprintf(stderr, "could not remove %s\n", m_dir.c_str());
    }
    NatsServer(const NatsServer &) = delete;
    NatsServer &operator=(const NatsServer &) = delete;

    std::string url() const { return "nats://127.0.0.1:" + std::to_string(m_port); }
    pid_t pid() const { return m_pid; }
    ProcIo io() const { return readProcIo(m_pid); }

private:
    std::string m_dir;
    int m_port = 0;
    pid_t m_pid = -1;
};

natsConnection *connect(const std::string &url, const std::string &name, bool sendAsap = false) {
    natsOptions *o = nullptr;
    check(natsOptions_Create(&o), "options");
    natsOptions_SetURL(o, url.c_str());
    natsOptions_SetName(o, name.c_str());
    natsOptions_SetNoEcho(o, true); // as lhttpd-qt's NatsBroker
    natsOptions_SetMaxPendingMsgs(o, 1'000'000);
    // nats.c otherwise buffers what a non-callback thread publishes until its flusher runs
    // (~1 ms): the scatter-gather reads are measured both ways (--send-asap).
    natsOptions_SetSendAsap(o, sendAsap);
    natsConnection *nc = nullptr;
    check(natsConnection_Connect(&nc, o), "connect");
    natsOptions_Destroy(o);
    return nc;
}

struct ClientCounts {
    uint64_t inMsgs = 0, inBytes = 0, outMsgs = 0, outBytes = 0;
};

ClientCounts clientCounts(natsConnection *nc) {
    ClientCounts c;
    natsStatistics *s = nullptr;
    natsStatistics_Create(&s);
    natsConnection_GetStats(nc, s);
    uint64_t rec = 0;
    natsStatistics_GetCounts(s, &c.inMsgs, &c.inBytes, &c.outMsgs, &c.outBytes, &rec);
    natsStatistics_Destroy(s);
    return c;
}

// ---------------------------------------------------------------------------------------------
// The workload: E entries in R rooms over N nodes.

struct Entry {
    std::string channel;
    uint32_t client = 0;
    std::string user;
    std::string info;
};

struct Config {
    int entries = 10'000;
    int rooms = 1;
    int nodes = 2;
    int batchBytes = 16 * 1024;
    int heartbeatMs = 1000;
    int checkMs = 250; // delta: how often silent nodes are looked for (lhttpd-qt: 250 ms)
    int timeoutMs = 5000;
    int idleSeconds = 5;
    int kvTtlMs = 5000;
    int listMax = 1000;
    int reads = 1000;  // local reads (delta)
    int kvReads = 30;  // watch-based reads (kv)
    int sgReads = 200; // scatter-gather reads
    int sgTimeoutMs = 1000;
    bool dead = true;
    bool sendAsap = false; // scatter: publish without nats.c's flusher delay
    std::string natsServer = "nats-server";
};

std::vector<Entry> makeEntries(const Config &c) {
    std::vector<Entry> v;
    v.reserve(size_t(c.entries));
    for (int i = 0; i < c.entries; ++i) {
        Entry e;
        e.channel = "room." + std::to_string(i % c.rooms);
        e.client = uint32_t(1000 + i);
        e.user = "user" + std::to_string(i / 2); // two connections per user
        e.info = "{\"name\":\"User " + std::to_string(i / 2) + "\"}";
        v.push_back(std::move(e));
    }
    return v;
}

// Entry i is in room i mod R; a room's k-th member is on node k mod N, so every room (not
// only the first) has members on every node.
int ownerOf(int i, int rooms, int nodes) {
    return (i / rooms) % nodes;
}

std::string nodeName(int n) {
    return "n" + std::to_string(n);
}

// "J room.3 1017 user8 {"name":"User 8"}\n"
void appendLine(std::string &out, char op, const Entry &e) {
    out += op;
    out += ' ';
    out += e.channel;
    out += ' ';
    out += std::to_string(e.client);
    out += ' ';
    out += e.user;
    out += ' ';
    out += e.info;
    out += '\n';
}

// What every mechanism reports for one run; -1 = not measured.
using Result = std::map<std::string, double>;

// The steady state over `seconds`: messages the nodes published and were delivered, and the
// server's bytes on the wire and CPU, per second.
template <typename Node>
void measureIdle(const std::vector<std::unique_ptr<Node>> &nodes, const NatsServer &server,
                 int seconds, Result &r) {
    std::vector<ClientCounts> before;
    for (auto &node : nodes)
        before.push_back(clientCounts(node->nc));
    const ProcIo idle0 = server.io();
    sleepMs(seconds * 1000);
    const ProcIo idle1 = server.io();
    double pubMsgs = 0, delivered = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
        const ClientCounts a = clientCounts(nodes[i]->nc);
        pubMsgs += double(a.outMsgs - before[i].outMsgs);
        delivered += double(a.inMsgs - before[i].inMsgs);
    }
    const IoDelta idle = ioDelta(idle0, idle1);
    r["idle_pub_msgs_s"] = pubMsgs / idle.seconds;
    r["idle_deliv_msgs_s"] = delivered / idle.seconds;
    r["idle_bytes_s"] = idle.bytes / idle.seconds;
    r["idle_server_cpu_pct"] = idle.cpuPct;
}

// The replica of one node: channel -> (node << 32 | client) -> user + info.
struct Replica {
    struct Val {
        std::string user;
        std::string info;
    };
    std::mutex m;
    std::unordered_map<std::string, std::unordered_map<uint64_t, Val>> rooms;
    size_t remote = 0; // entries of other nodes

    static uint64_t key(int node, uint32_t client) { return (uint64_t(node) << 32) | client; }

    // Applies a delta/snapshot body: lines "J|L channel client user info". Returns entries added.
    size_t apply(int node, const char *data, int len, bool counted) {
        size_t added = 0;
        const char *p = data;
        const char *end = data + len;
        std::lock_guard<std::mutex> lock(m);
        while (p < end) {
            const char *nl = static_cast<const char *>(memchr(p, '\n', size_t(end - p)));
            if (!nl)
                nl = end;
            const std::string line(p, nl);
            p = nl + 1;
            if (line.size() < 3 || (line[0] != 'J' && line[0] != 'L'))
                continue;
            const size_t a = line.find(' ', 2);
            const size_t b = line.find(' ', a + 1);
            const size_t c = line.find(' ', b + 1);
            if (a == std::string::npos || b == std::string::npos || c == std::string::npos)
                continue;
            const std::string channel = line.substr(2, a - 2);
            const uint32_t client = uint32_t(std::stoul(line.substr(a + 1, b - a - 1)));
            auto &room = rooms[channel];
            if (line[0] == 'J') {
                auto [it, fresh] = room.try_emplace(
                    key(node, client), Val{line.substr(b + 1, c - b - 1), line.substr(c + 1)});
                (void)it;
                if (fresh) {
                    ++added;
                    if (counted)
                        ++remote;
                }
            } else if (room.erase(key(node, client)) && counted) {
                --remote;
            }
        }
        return added;
    }

    void addLocal(int node, const Entry &e) {
        std::lock_guard<std::mutex> lock(m);
        rooms[e.channel].try_emplace(key(node, e.client), Val{e.user, e.info});
    }

    size_t dropNode(int node) {
        std::lock_guard<std::mutex> lock(m);
        size_t n = 0;
        for (auto &[ch, room] : rooms) {
            for (auto it = room.begin(); it != room.end();) {
                if (int(it->first >> 32) == node) {
                    it = room.erase(it);
                    ++n;
                } else {
                    ++it;
                }
            }
        }
        remote -= n;
        return n;
    }

    // A presence read as lhttpd-qt answers it: the JSON list (at most listMax) and the total.
    std::pair<size_t, std::string> read(const std::string &channel, int listMax) {
        std::lock_guard<std::mutex> lock(m);
        std::string json = "[";
        auto it = rooms.find(channel);
        if (it == rooms.end())
            return {0, "[]"};
        int listed = 0;
        for (const auto &[k, v] : it->second) {
            if (listed == listMax)
                break;
            if (listed++)
                json += ',';
            json += "{\"client\":\"" + std::to_string(uint32_t(k)) + "\",\"node\":\"n" +
                    std::to_string(k >> 32) + "\",\"user\":\"" + v.user + "\",\"info\":\"";
            for (char ch : v.info) {
                if (ch == '"' || ch == '\\')
                    json += '\\';
                json += ch;
            }
            json += "\"}";
        }
        json += ']';
        return {it->second.size(), json};
    }

    // presence-stats: connections and distinct users.
    std::pair<size_t, size_t> stats(const std::string &channel) {
        std::lock_guard<std::mutex> lock(m);
        auto it = rooms.find(channel);
        if (it == rooms.end())
            return {0, 0};
        std::unordered_set<std::string> users;
        for (const auto &[k, v] : it->second)
            users.insert(v.user);
        return {it->second.size(), users.size()};
    }
};

// Waits until pred() or the deadline; returns ms waited or -1.
double waitFor(const std::function<bool()> &pred, int64_t t0, int timeoutMs) {
    while (!pred()) {
        if (msSince(t0) > timeoutMs)
            return -1;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return msSince(t0);
}

// ---------------------------------------------------------------------------------------------
// 1. Deltas + heartbeats (+ snapshots on request)

const char *const DeltaSubject = "$LHTTP.presence.delta";
const char *const HeartbeatSubject = "$LHTTP.presence.hb";
const char *const SnapshotSubject = "$LHTTP.presence.snap";

struct DeltaNode {
    int id = 0;
    const Config *cfg = nullptr;
    natsConnection *nc = nullptr;
    std::vector<natsSubscription *> subs;
    Replica rep;
    std::vector<const Entry *> own;
    std::mutex hbMutex;
    std::map<int, int64_t> lastSeen; // node -> ns
    std::map<int, int64_t> droppedAt;
    std::thread hbThread;
    std::atomic<bool> stop{false};
    uint64_t hbSeq = 0;

    static void onDelta(natsConnection *, natsSubscription *, natsMsg *msg, void *closure) {
        auto *self = static_cast<DeltaNode *>(closure);
        const char *d = natsMsg_GetData(msg);
        const int len = natsMsg_GetDataLength(msg);
        // "D <node>\n" then lines.
        const char *nl = static_cast<const char *>(memchr(d, '\n', size_t(len)));
        if (len > 2 && d[0] == 'D' && nl) {
            const int node = std::atoi(d + 2);
            if (node != self->id)
                self->rep.apply(node, nl + 1, int(len - (nl + 1 - d)), true);
        }
        natsMsg_Destroy(msg);
    }

    static void onHeartbeat(natsConnection *, natsSubscription *, natsMsg *msg, void *closure) {
        auto *self = static_cast<DeltaNode *>(closure);
        const char *d = natsMsg_GetData(msg);
        const int node = std::atoi(d + 2);
        {
            std::lock_guard<std::mutex> lock(self->hbMutex);
            self->lastSeen[node] = nowNs();
        }
        natsMsg_Destroy(msg);
    }

    // A snapshot request: reply with every own entry, in chunks, the last one "E".
    static void onSnapshot(natsConnection *nc, natsSubscription *, natsMsg *msg, void *closure) {
        auto *self = static_cast<DeltaNode *>(closure);
        const std::string reply = natsMsg_GetReply(msg) ? natsMsg_GetReply(msg) : "";
        natsMsg_Destroy(msg);
        if (reply.empty())
            return;
        const std::string head = "S " + std::to_string(self->id) + "\n";
        std::string body = head;
        for (const Entry *e : self->own) {
            appendLine(body, 'J', *e);
            if (int(body.size()) >= 60 * 1024) {
                natsConnection_Publish(nc, reply.c_str(), body.data(), int(body.size()));
                body = head;
            }
        }
        body += "E\n";
        natsConnection_Publish(nc, reply.c_str(), body.data(), int(body.size()));
        natsConnection_Flush(nc);
    }

    void start(const std::string &url) {
        nc = connect(url, nodeName(id));
        natsSubscription *s = nullptr;
        check(natsConnection_Subscribe(&s, nc, DeltaSubject, onDelta, this), "sub delta");
        subs.push_back(s);
        check(natsConnection_Subscribe(&s, nc, HeartbeatSubject, onHeartbeat, this), "sub hb");
        subs.push_back(s);
        check(natsConnection_Subscribe(&s, nc, SnapshotSubject, onSnapshot, this), "sub snap");
        subs.push_back(s);
        check(natsConnection_Flush(nc), "flush");
        hbThread = std::thread([this] { heartbeatLoop(); });
    }

    // Heartbeat every heartbeatMs; on the same tick, drop nodes silent for timeoutMs.
    void heartbeatLoop() {
        // As lhttpd-qt's PresenceStore::tick: every checkMs, a heartbeat when about heartbeatMs
        // passed since the last one, and nodes silent for timeoutMs dropped.
        int64_t next = nowNs();
        int64_t lastHeartbeat = -1;
        const int64_t check = int64_t(cfg->checkMs) * 1000000;
        while (!stop) {
            const int64_t now = nowNs();
            if (lastHeartbeat < 0 ||
                now - lastHeartbeat >= int64_t(cfg->heartbeatMs) * 1000000 - check / 2) {
                lastHeartbeat = now;
                const std::string hb = "H " + std::to_string(id) + " " + std::to_string(hbSeq++) +
                                       " " + std::to_string(own.size());
                natsConnection_Publish(nc, HeartbeatSubject, hb.data(), int(hb.size()));
            }
            std::vector<int> dead;
            {
                std::lock_guard<std::mutex> lock(hbMutex);
                for (auto &[node, seen] : lastSeen) {
                    if (!droppedAt.count(node) && now - seen > int64_t(cfg->timeoutMs) * 1000000)
                        dead.push_back(node);
                }
            }
            for (int node : dead) {
                rep.dropNode(node);
                std::lock_guard<std::mutex> lock(hbMutex);
                droppedAt[node] = nowNs();
            }
            next += check;
            while (!stop && nowNs() < next)
                sleepMs(5);
        }
    }

    // "Kill": stops heartbeating and closes the connection without a word.
    void kill() {
        stop = true;
        if (hbThread.joinable())
            hbThread.join();
        for (auto *s : subs)
            natsSubscription_Destroy(s);
        subs.clear();
        if (nc) {
            natsConnection_Destroy(nc);
            nc = nullptr;
        }
    }

    ~DeltaNode() { kill(); }

    // Publishes own joins as deltas of at most batchBytes (batchBytes 0: one per join).
    void publishJoins(int batchBytes) {
        const std::string head = "D " + std::to_string(id) + "\n";
        std::string body = head;
        for (const Entry *e : own) {
            appendLine(body, 'J', *e);
            if (int(body.size()) >= batchBytes) {
                natsConnection_Publish(nc, DeltaSubject, body.data(), int(body.size()));
                body = head;
            }
        }
        if (body.size() > head.size())
            natsConnection_Publish(nc, DeltaSubject, body.data(), int(body.size()));
        natsConnection_Flush(nc);
    }
};

Result runDelta(const Config &c, const std::vector<Entry> &entries, bool batched) {
    Result r;
    NatsServer server(c.natsServer);
    std::vector<std::unique_ptr<DeltaNode>> nodes;
    for (int n = 0; n < c.nodes; ++n) {
        auto node = std::make_unique<DeltaNode>();
        node->id = n;
        node->cfg = &c;
        for (int i = 0; i < c.entries; ++i) {
            if (ownerOf(i, c.rooms, c.nodes) == n)
                node->own.push_back(&entries[size_t(i)]);
        }
        node->start(server.url());
        nodes.push_back(std::move(node));
    }
    sleepMs(1500); // every node heard every other's heartbeat

    // Propagation: every node publishes its joins at once; done when every node's replica
    // holds every other node's entries.
    const ProcIo io0 = server.io();
    const int64_t t0 = nowNs();
    std::vector<std::thread> pubs;
    for (auto &node : nodes) {
        DeltaNode *p = node.get();
        pubs.emplace_back([p, &c, batched, &entries] {
            for (const Entry *e : p->own)
                p->rep.addLocal(p->id, *e);
            p->publishJoins(batched ? c.batchBytes : 0);
            (void)entries;
        });
    }
    auto allVisible = [&] {
        for (auto &node : nodes) {
            std::lock_guard<std::mutex> lock(node->rep.m);
            if (node->rep.remote != size_t(c.entries) - node->own.size())
                return false;
        }
        return true;
    };
    const double prop = waitFor(allVisible, t0, 60'000);
    for (auto &t : pubs)
        t.join();
    sleepMs(50);
    const ProcIo io1 = server.io();
    r["propagate_ms"] = prop;
    r["propagate_bytes"] = ioDelta(io0, io1).bytes;
    uint64_t msgs = 0;
    for (auto &node : nodes)
        msgs += clientCounts(node->nc).outMsgs;
    r["propagate_msgs"] = double(msgs); // published (joins + a few heartbeats)
    if (!batched)
        return r;

    // Idle: heartbeats only.
    sleepMs(1000);
    measureIdle(nodes, server, c.idleSeconds, r);

    // Reads on node 1 (a remote node for two thirds of the room): list and stats.
    std::vector<double> lat, statLat;
    size_t total = 0;
    for (int i = 0; i < c.reads; ++i) {
        const int64_t t = nowNs();
        auto [n, json] = nodes[1]->rep.read("room.0", c.listMax);
        lat.push_back(double(nowNs() - t) / 1e3);
        total = n;
        const int64_t t2 = nowNs();
        auto st = nodes[1]->rep.stats("room.0");
        statLat.push_back(double(nowNs() - t2) / 1e3);
        (void)st;
    }
    r["read_room_total"] = double(total);
    r["read_p50_us"] = percentile(lat, 0.5);
    r["read_p99_us"] = percentile(lat, 0.99);
    r["stats_p50_us"] = percentile(statLat, 0.5);

    // Snapshot: a new node asks; every node answers with its entries.
    {
        DeltaNode fresh;
        fresh.id = c.nodes;
        fresh.cfg = &c;
        fresh.nc = connect(server.url(), "fresh");
        natsInbox *inbox = nullptr;
        natsInbox_Create(&inbox);
        natsSubscription *sub = nullptr;
        check(natsConnection_SubscribeSync(&sub, fresh.nc, inbox), "sub inbox");
        natsConnection_Flush(fresh.nc);
        const ProcIo s0 = server.io();
        const int64_t ts = nowNs();
        check(natsConnection_PublishRequest(fresh.nc, SnapshotSubject, inbox, "", 0), "snap req");
        int ends = 0;
        while (ends < c.nodes) {
            natsMsg *m = nullptr;
            if (natsSubscription_NextMsg(&m, sub, 5000) != NATS_OK)
                break;
            const char *d = natsMsg_GetData(m);
            const int len = natsMsg_GetDataLength(m);
            const char *nl = static_cast<const char *>(memchr(d, '\n', size_t(len)));
            if (nl) {
                const int node = std::atoi(d + 2);
                fresh.rep.apply(node, nl + 1, int(len - (nl + 1 - d)), true);
                if (len >= 2 && d[len - 2] == 'E')
                    ++ends;
            }
            natsMsg_Destroy(m);
        }
        r["snapshot_ms"] = fresh.rep.remote == size_t(c.entries) ? msSince(ts) : -1;
        r["snapshot_bytes"] = ioDelta(s0, server.io()).bytes;
        natsSubscription_Destroy(sub);
        natsInbox_Destroy(inbox);
    }

    // A dead node: node last is killed; the others drop its entries after the timeout.
    if (c.dead) {
        DeltaNode &victim = *nodes.back();
        const int vid = victim.id;
        const int64_t tk = nowNs();
        victim.kill();
        auto dropped = [&] {
            for (size_t i = 0; i + 1 < nodes.size(); ++i) {
                std::lock_guard<std::mutex> lock(nodes[i]->hbMutex);
                if (!nodes[i]->droppedAt.count(vid))
                    return false;
            }
            return true;
        };
        r["dead_detect_ms"] = waitFor(dropped, tk, 20'000);
    }
    return r;
}

// ---------------------------------------------------------------------------------------------
// 2. JetStream KV with TTL

const char *const Bucket = "presence";

std::string kvKey(const Entry &e, int node) {
    return e.channel + "." + nodeName(node) + "." + std::to_string(e.client);
}

std::string kvValue(const Entry &e) {
    return e.user + " " + e.info;
}

int nodeOfKey(const char *key) {
    // <channel tokens>.n<node>.<client>
    std::string k(key);
    const size_t last = k.rfind('.');
    const size_t prev = k.rfind('.', last - 1);
    return std::atoi(k.c_str() + prev + 2);
}

struct KvNode {
    int id = 0;
    natsConnection *nc = nullptr;
    jsCtx *js = nullptr;
    kvStore *kv = nullptr;
    kvWatcher *watcher = nullptr;
    std::thread watchThread;
    std::atomic<bool> stop{false};
    std::atomic<bool> initDone{false};
    std::vector<const Entry *> own;
    std::mutex m;
    std::unordered_set<std::string> remoteKeys;
    std::atomic<uint64_t> remotePuts{0};
    std::atomic<uint64_t> deletes{0};

    void start(const std::string &url) {
        nc = connect(url, nodeName(id));
        jsOptions o;
        jsOptions_Init(&o);
        o.PublishAsync.MaxPending = 4096;
        check(natsConnection_JetStream(&js, nc, &o), "jetstream");
        check(js_KeyValue(&kv, js, Bucket), "bind kv");
        kvWatchOptions wo;
        kvWatchOptions_Init(&wo);
        check(kvStore_WatchAll(&watcher, kv, &wo), "watch");
        watchThread = std::thread([this] { watchLoop(); });
        while (!initDone)
            sleepMs(1);
    }

    void watchLoop() {
        while (!stop) {
            kvEntry *e = nullptr;
            const natsStatus s = kvWatcher_Next(&e, watcher, 100);
            if (s == NATS_TIMEOUT)
                continue;
            if (s != NATS_OK)
                break;
            if (!e) {
                initDone = true;
                continue;
            }
            const char *key = kvEntry_Key(e);
            if (nodeOfKey(key) != id) {
                if (kvEntry_Operation(e) == kvOp_Put) {
                    std::lock_guard<std::mutex> lock(m);
                    remoteKeys.insert(key);
                    ++remotePuts;
                } else {
                    std::lock_guard<std::mutex> lock(m);
                    remoteKeys.erase(key);
                    ++deletes;
                }
            }
            kvEntry_Destroy(e);
        }
    }

    void putAllSync() {
        for (const Entry *e : own) {
            const std::string k = kvKey(*e, id), v = kvValue(*e);
            check(kvStore_Put(nullptr, kv, k.c_str(), v.data(), int(v.size())), "kv put");
        }
    }

    // What a refresh would use: async publishes to the bucket's subjects, then wait for acks.
    void putAllAsync() {
        for (const Entry *e : own) {
            const std::string subj = std::string("$KV.") + Bucket + "." + kvKey(*e, id);
            const std::string v = kvValue(*e);
            check(js_PublishAsync(js, subj.c_str(), v.data(), int(v.size()), nullptr),
                  "publish async");
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = 30'000;
        check(js_PublishAsyncComplete(js, &po), "publish async complete");
    }

    void kill() {
        stop = true;
        if (watcher)
            kvWatcher_Stop(watcher);
        if (watchThread.joinable())
            watchThread.join();
        if (watcher)
            kvWatcher_Destroy(watcher);
        watcher = nullptr;
        if (kv)
            kvStore_Destroy(kv);
        kv = nullptr;
        if (js)
            jsCtx_Destroy(js);
        js = nullptr;
        if (nc)
            natsConnection_Destroy(nc);
        nc = nullptr;
    }
    ~KvNode() { kill(); }
};

Result runKv(const Config &c, const std::vector<Entry> &entries) {
    Result r;
    NatsServer server(c.natsServer);
    {
        natsConnection *nc = connect(server.url(), "admin");
        jsCtx *js = nullptr;
        check(natsConnection_JetStream(&js, nc, nullptr), "jetstream");
        kvConfig kc;
        kvConfig_Init(&kc);
        kc.Bucket = Bucket;
        kc.History = 1;
        kc.TTL = int64_t(c.kvTtlMs) * 1'000'000; // nats.c passes it on as MaxAge, in ns
        kc.StorageType = js_MemoryStorage;
        kvStore *kv = nullptr;
        natsStatus s = NATS_ERR;
        for (int i = 0; i < 50 && s != NATS_OK; ++i) {
            s = js_CreateKeyValue(&kv, js, &kc);
            if (s != NATS_OK)
                sleepMs(100);
        }
        check(s, "create kv");
        kvStatus *st = nullptr;
        if (kvStore_Status(&st, kv) == NATS_OK) {
            r["kv_ttl_ms"] = double(kvStatus_TTL(st)) / 1e6;
            kvStatus_Destroy(st);
        }
        kvStore_Destroy(kv);
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
    }
    std::vector<std::unique_ptr<KvNode>> nodes;
    for (int n = 0; n < c.nodes; ++n) {
        auto node = std::make_unique<KvNode>();
        node->id = n;
        for (int i = 0; i < c.entries; ++i) {
            if (ownerOf(i, c.rooms, c.nodes) == n)
                node->own.push_back(&entries[size_t(i)]);
        }
        node->start(server.url());
        nodes.push_back(std::move(node));
    }
    auto allVisible = [&] {
        for (auto &node : nodes) {
            std::lock_guard<std::mutex> lock(node->m);
            if (node->remoteKeys.size() != size_t(c.entries) - node->own.size())
                return false;
        }
        return true;
    };

    // (a) kvStore_Put, one round trip each, every node at once.
    {
        const ProcIo io0 = server.io();
        const int64_t t0 = nowNs();
        std::vector<std::thread> t;
        for (auto &node : nodes)
            t.emplace_back([p = node.get()] { p->putAllSync(); });
        for (auto &th : t)
            th.join();
        r["put_sync_done_ms"] = msSince(t0);
        r["propagate_ms"] = waitFor(allVisible, t0, 120'000);
        sleepMs(50);
        r["propagate_bytes"] = ioDelta(io0, server.io()).bytes;
    }
    // (b) the same again as async publishes (a refresh): time until every watcher saw every
    // other node's new revision.
    {
        std::vector<uint64_t> base;
        for (auto &node : nodes)
            base.push_back(node->remotePuts);
        const ProcIo io0 = server.io();
        const int64_t t0 = nowNs();
        std::vector<std::thread> t;
        for (auto &node : nodes)
            t.emplace_back([p = node.get()] { p->putAllAsync(); });
        for (auto &th : t)
            th.join();
        r["put_async_done_ms"] = msSince(t0);
        auto allAgain = [&] {
            for (size_t i = 0; i < nodes.size(); ++i) {
                if (nodes[i]->remotePuts - base[i] < size_t(c.entries) - nodes[i]->own.size())
                    return false;
            }
            return true;
        };
        r["propagate_async_ms"] = waitFor(allAgain, t0, 120'000);
        sleepMs(50);
        r["propagate_async_bytes"] = ioDelta(io0, server.io()).bytes;
    }

    // Idle: every node re-puts its entries every TTL/2 so that none expires.
    std::atomic<bool> stopRefresh{false};
    std::vector<std::thread> refreshers;
    auto refreshLoop = [&](KvNode *p, int64_t first) {
        int64_t next = first;
        while (!stopRefresh && !p->stop) {
            while (!stopRefresh && nowNs() < next)
                sleepMs(5);
            if (stopRefresh)
                break;
            p->putAllAsync();
            next += int64_t(c.kvTtlMs / 2) * 1'000'000;
        }
    };
    const int64_t tr = nowNs();
    for (size_t i = 0; i < nodes.size(); ++i) {
        // Spread the nodes' refreshes over the period.
        const int64_t first =
            tr + int64_t(i) * int64_t(c.kvTtlMs / 2) * 1'000'000 / int64_t(nodes.size());
        refreshers.emplace_back(refreshLoop, nodes[i].get(), first);
    }
    sleepMs(500);
    measureIdle(nodes, server, c.idleSeconds, r);

    // Reads: the room's entries through a watch with a subject filter (initial values only).
    {
        std::vector<double> lat;
        size_t got = 0;
        for (int i = 0; i < c.kvReads; ++i) {
            const int64_t t = nowNs();
            kvWatcher *w = nullptr;
            kvWatchOptions wo;
            kvWatchOptions_Init(&wo);
            wo.IgnoreDeletes = true;
            check(kvStore_Watch(&w, nodes[0]->kv, "room.0.>", &wo), "watch room");
            got = 0;
            for (;;) {
                kvEntry *e = nullptr;
                if (kvWatcher_Next(&e, w, 10'000) != NATS_OK || !e)
                    break;
                ++got;
                kvEntry_Destroy(e);
            }
            kvWatcher_Destroy(w);
            lat.push_back(double(nowNs() - t) / 1e3);
        }
        r["read_room_total"] = double(got);
        r["read_p50_us"] = percentile(lat, 0.5);
        r["read_p99_us"] = percentile(lat, 0.99);
        // kvStore_Keys lists the whole bucket (no filter in nats.c 3.4.1).
        const int64_t t = nowNs();
        kvKeysList keys{};
        kvWatchOptions wo;
        kvWatchOptions_Init(&wo);
        wo.Timeout = 30'000;
        const natsStatus ks = kvStore_Keys(&keys, nodes[0]->kv, &wo);
        r["keys_all_ms"] = msSince(t);
        r["keys_all_status"] = double(ks); // 0: NATS_OK
        if (ks == NATS_OK) {
            r["keys_all_count"] = keys.Count;
            kvKeysList_Destroy(&keys);
        } else {
            std::fprintf(stderr, "kvStore_Keys: %s %s\n", natsStatus_GetText(ks),
                         nats_GetLastError(nullptr));
        }
    }

    // A dead node: it stops refreshing and goes away; its keys expire after the TTL. The
    // others' watchers are not told (nats-server 2.9 expires by MaxAge silently), so a node
    // has to look: here kvStore_Get of the victim's last-put key every 100 ms.
    if (c.dead) {
        KvNode &victim = *nodes.back();
        const uint64_t deletesBefore = nodes[0]->deletes;
        const int64_t tk = nowNs();
        victim.stop = true;
        refreshers.back().join();
        refreshers.pop_back();
        victim.kill();
        const std::string probe = kvKey(*victim.own.back(), victim.id);
        const std::string probeFirst = kvKey(*victim.own.front(), victim.id);
        auto gone = [&] {
            kvEntry *e = nullptr;
            const natsStatus s1 = kvStore_Get(&e, nodes[0]->kv, probe.c_str());
            if (e)
                kvEntry_Destroy(e);
            e = nullptr;
            const natsStatus s2 = kvStore_Get(&e, nodes[0]->kv, probeFirst.c_str());
            if (e)
                kvEntry_Destroy(e);
            sleepMs(100);
            return s1 == NATS_NOT_FOUND && s2 == NATS_NOT_FOUND;
        };
        r["dead_detect_ms"] = waitFor(gone, tk, 30'000);
        sleepMs(300);
        r["dead_watch_deletes"] = double(nodes[0]->deletes - deletesBefore);
    }
    stopRefresh = true;
    for (auto &t : refreshers)
        t.join();
    return r;
}

// ---------------------------------------------------------------------------------------------
// 3. Scatter-gather: no replica; a read asks every other node.

const char *const QuerySubject = "$LHTTP.presence.q";

struct SgNode {
    int id = 0;
    const Config *cfg = nullptr;
    natsConnection *nc = nullptr;
    std::vector<natsSubscription *> subs;
    Replica local; // own entries only
    std::atomic<uint64_t> events{0};

    static void onQuery(natsConnection *nc, natsSubscription *, natsMsg *msg, void *closure) {
        auto *self = static_cast<SgNode *>(closure);
        const std::string channel(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg)));
        const char *reply = natsMsg_GetReply(msg);
        if (reply) {
            // "R <node> <total>\n" then up to listMax lines.
            std::string body;
            {
                std::lock_guard<std::mutex> lock(self->local.m);
                auto it = self->local.rooms.find(channel);
                const size_t total = it == self->local.rooms.end() ? 0 : it->second.size();
                body = "R " + std::to_string(self->id) + " " + std::to_string(total) + "\n";
                if (total) {
                    int listed = 0;
                    for (const auto &[k, v] : it->second) {
                        if (listed++ == self->cfg->listMax)
                            break;
                        body += "J " + channel + " " + std::to_string(uint32_t(k)) + " " + v.user +
                                " " + v.info + "\n";
                    }
                }
            }
            natsConnection_Publish(nc, reply, body.data(), int(body.size()));
        }
        natsMsg_Destroy(msg);
    }

    static void onEvent(natsConnection *, natsSubscription *, natsMsg *msg, void *closure) {
        ++static_cast<SgNode *>(closure)->events;
        natsMsg_Destroy(msg);
    }

    void start(const std::string &url) {
        nc = connect(url, nodeName(id), cfg->sendAsap);
        natsSubscription *s = nullptr;
        check(natsConnection_Subscribe(&s, nc, QuerySubject, onQuery, this), "sub query");
        subs.push_back(s);
        check(natsConnection_Subscribe(&s, nc, "$LHTTP.presence.ev.>", onEvent, this), "sub ev");
        subs.push_back(s);
        check(natsConnection_Flush(nc), "flush");
    }
    void kill() {
        for (auto *s : subs)
            natsSubscription_Destroy(s);
        subs.clear();
        if (nc)
            natsConnection_Destroy(nc);
        nc = nullptr;
    }
    ~SgNode() { kill(); }
};

Result runScatter(const Config &c, const std::vector<Entry> &entries) {
    Result r;
    NatsServer server(c.natsServer);
    std::vector<std::unique_ptr<SgNode>> nodes;
    std::vector<std::vector<const Entry *>> own(size_t(c.nodes));
    for (int i = 0; i < c.entries; ++i)
        own[size_t(ownerOf(i, c.rooms, c.nodes))].push_back(&entries[size_t(i)]);
    for (int n = 0; n < c.nodes; ++n) {
        auto node = std::make_unique<SgNode>();
        node->id = n;
        node->cfg = &c;
        node->start(server.url());
        nodes.push_back(std::move(node));
    }
    // Joins: each is one event on its room's subject (what watchers on other nodes need).
    {
        const ProcIo io0 = server.io();
        const int64_t t0 = nowNs();
        std::vector<std::thread> t;
        for (int n = 0; n < c.nodes; ++n) {
            t.emplace_back([&, n] {
                SgNode *p = nodes[size_t(n)].get();
                std::string body;
                for (const Entry *e : own[size_t(n)]) {
                    p->local.addLocal(n, *e);
                    body = "D " + std::to_string(n) + "\n";
                    appendLine(body, 'J', *e);
                    const std::string subj = "$LHTTP.presence.ev." + e->channel;
                    natsConnection_Publish(p->nc, subj.c_str(), body.data(), int(body.size()));
                }
                natsConnection_Flush(p->nc);
            });
        }
        auto all = [&] {
            for (int n = 0; n < c.nodes; ++n) {
                if (nodes[size_t(n)]->events != size_t(c.entries) - own[size_t(n)].size())
                    return false;
            }
            return true;
        };
        r["propagate_ms"] = waitFor(all, t0, 60'000);
        for (auto &th : t)
            th.join();
        sleepMs(50);
        r["propagate_bytes"] = ioDelta(io0, server.io()).bytes;
    }
    // Reads from node 0: its own entries locally, the rest from N-1 replies.
    int noResponders = 0;
    auto read = [&](const std::string &channel, int expectReplies, size_t *total) {
        natsInbox *inbox = nullptr;
        natsInbox_Create(&inbox);
        natsSubscription *sub = nullptr;
        check(natsConnection_SubscribeSync(&sub, nodes[0]->nc, inbox), "inbox");
        const int64_t t = nowNs();
        check(natsConnection_PublishRequest(nodes[0]->nc, QuerySubject, inbox, channel.data(),
                                            int(channel.size())),
              "request");
        auto [n, json] = nodes[0]->local.read(channel, c.listMax);
        size_t sum = n;
        int replies = 0;
        while (replies < expectReplies) {
            const int64_t left = int64_t(c.sgTimeoutMs) - int64_t(msSince(t));
            natsMsg *m = nullptr;
            if (left <= 0)
                break;
            const natsStatus st = natsSubscription_NextMsg(&m, sub, left);
            if (st == NATS_NO_RESPONDERS)
                ++noResponders;
            if (st != NATS_OK)
                break;
            const char *d = natsMsg_GetData(m);
            if (natsMsg_GetDataLength(m) < 2 || d[0] != 'R') {
                // nats-server's "no responders" status (503): nobody else subscribed.
                natsMsg_Destroy(m);
                ++noResponders;
                break;
            }
            const char *sp = strchr(d + 2, ' ');
            if (sp)
                sum += size_t(std::atoll(sp + 1));
            ++replies;
            natsMsg_Destroy(m);
        }
        const double us = double(nowNs() - t) / 1e3;
        natsSubscription_Destroy(sub);
        natsInbox_Destroy(inbox);
        if (total)
            *total = sum;
        return us;
    };
    {
        std::vector<double> lat;
        size_t total = 0;
        const ProcIo io0 = server.io();
        for (int i = 0; i < c.sgReads; ++i)
            lat.push_back(read("room.0", c.nodes - 1, &total));
        r["read_bytes"] = ioDelta(io0, server.io()).bytes / c.sgReads;
        r["read_room_total"] = double(total);
        r["read_p50_us"] = percentile(lat, 0.5);
        r["read_p99_us"] = percentile(lat, 0.99);
    }
    if (c.dead) {
        // One node dead: a read that expects N-1 answers waits for the gather timeout.
        nodes.back()->kill();
        std::vector<double> lat;
        for (int i = 0; i < 3; ++i)
            lat.push_back(read("room.0", c.nodes - 1, nullptr));
        r["read_dead_p50_us"] = percentile(lat, 0.5);
        r["read_dead_no_responders"] = noResponders;
    }
    return r;
}

// ---------------------------------------------------------------------------------------------

std::vector<int> intList(const std::string &s) {
    std::vector<int> v;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        v.push_back(std::stoi(item));
    return v;
}

std::vector<std::string> strList(const std::string &s) {
    std::vector<std::string> v;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        v.push_back(item);
    return v;
}

void usage() {
    std::printf("usage: lhttp-presence-mech [options]\n"
                "  --mechanisms LIST   delta,delta1,kv,scatter (default all)\n"
                "  --entries N         presence entries (10000)\n"
                "  --rooms LIST        rooms the entries are spread over (1,100)\n"
                "  --nodes LIST        simulated nodes (2,3)\n"
                "  --runs N            runs of each configuration; medians are printed (3)\n"
                "  --idle-seconds S    idle window for the steady-state cost (5)\n"
                "  --timeout-ms MS     delta: a node silent this long is dropped (5000)\n"
                "  --kv-ttl-ms MS      kv: bucket TTL; entries re-put every TTL/2 (5000)\n"
                "  --batch-bytes N     delta: batch size (16384)\n"
                "  --check-ms MS       delta: silent nodes looked for every MS (250)\n"
                "  --no-dead           skip the dead-node measurements\n"
                "  --send-asap         scatter: nats.c SendAsap (no flusher delay) on every node\n"
                "  --nats-server PATH  nats-server binary (nats-server on PATH)\n");
}

} // namespace

int main(int argc, char **argv) {
    Config c;
    std::vector<std::string> mechs{"delta", "delta1", "kv", "scatter"};
    std::vector<int> rooms{1, 100}, nodeCounts{2, 3};
    int runs = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--mechanisms")
            mechs = strList(next());
        else if (a == "--entries")
            c.entries = std::stoi(next());
        else if (a == "--rooms")
            rooms = intList(next());
        else if (a == "--nodes")
            nodeCounts = intList(next());
        else if (a == "--runs")
            runs = std::stoi(next());
        else if (a == "--idle-seconds")
            c.idleSeconds = std::stoi(next());
        else if (a == "--timeout-ms")
            c.timeoutMs = std::stoi(next());
        else if (a == "--kv-ttl-ms")
            c.kvTtlMs = std::stoi(next());
        else if (a == "--batch-bytes")
            c.batchBytes = std::stoi(next());
        else if (a == "--check-ms")
            c.checkMs = std::stoi(next());
        else if (a == "--send-asap")
            c.sendAsap = true;
        else if (a == "--no-dead")
            c.dead = false;
        else if (a == "--nats-server")
            c.natsServer = next();
        else {
            usage();
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    nats_Open(-1);

    std::printf("# lhttp-presence-mech: %d entries, runs %d, idle %d s, delta timeout %d ms, "
                "heartbeat %d ms, check %d ms, kv TTL %d ms (re-put every %d ms), batch %d B, "
                "scatter send-asap %s\n",
                c.entries, runs, c.idleSeconds, c.timeoutMs, c.heartbeatMs, c.checkMs, c.kvTtlMs,
                c.kvTtlMs / 2, c.batchBytes, c.sendAsap ? "on" : "off");
    // mechanism, rooms, nodes -> metric -> values
    std::map<std::tuple<std::string, int, int>, std::map<std::string, std::vector<double>>> all;
    for (int run = 0; run < runs; ++run) {
        for (int nr : rooms) {
            for (int nn : nodeCounts) {
                Config rc = c;
                rc.rooms = nr;
                rc.nodes = nn;
                const auto entries = makeEntries(rc);
                for (const auto &m : mechs) {
                    Result res;
                    if (m == "delta")
                        res = runDelta(rc, entries, true);
                    else if (m == "delta1")
                        res = runDelta(rc, entries, false);
                    else if (m == "kv")
                        res = runKv(rc, entries);
                    else if (m == "scatter")
                        res = runScatter(rc, entries);
                    else
                        die("unknown mechanism " + m);
                    std::printf("run %d %s rooms=%d nodes=%d:", run + 1, m.c_str(), nr, nn);
                    for (const auto &[k, v] : res) {
                        std::printf(" %s=%.6g", k.c_str(), v);
                        all[{m, nr, nn}][k].push_back(v);
                    }
                    std::printf("\n");
                    std::fflush(stdout);
                }
            }
        }
    }
    std::printf("\n# medians of %d runs (all values: min..max)\n", runs);
    for (const auto &[key, metrics] : all) {
        const auto &[m, nr, nn] = key;
        std::printf("%s rooms=%d nodes=%d\n", m.c_str(), nr, nn);
        for (const auto &[k, v] : metrics) {
            std::printf("  %-24s %14.6g   (%g .. %g)\n", k.c_str(), median(v),
                        *std::min_element(v.begin(), v.end()),
                        *std::max_element(v.begin(), v.end()));
        }
    }
    nats_Close();
    return 0;
}

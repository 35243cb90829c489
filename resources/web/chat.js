// chat.js — the lhttp-qt chat demo.  SPDX-License-Identifier: MIT
//
// Everything goes through the SDK (lhttp.js). A chat message is an LHTTP message with the
// command `chat`, the text as body and who/when in headers:
//
//   LHTTP/1.0 chat\r\n
//   publish:chatroom\r\n
//   nick:alice\r\n
//   client:k3j9x2\r\n                 random id of this tab, to recognise our own messages
//   sent-at:2024-05-01T12:00:00.000Z\r\n
//   \r\n
//   hello everyone
//
// Joining subscribes and announces in one message (`subscribe` and `publish` headers plus
// `event:join`); the server runs subscribe before publish, so the announcement comes back to
// us too. The page shows its own messages from the server's echo, like the original demo.
// Messages from the original demo (plain text, no nick header) show as "anonymous".
//
// History (a server run with --history for the room, e.g. --history '>=100'): joining first
// reads the room's last HISTORY_LIMIT messages, then subscribes with `recover` from the position
// of that read, so nothing published in between is lost or shown twice. After a reconnect the
// SDK recovers what was missed; when that is incomplete (too much missed, server restarted) the
// page reloads the recent history and says so. Without history the room works as before.
//
// Presence (a server run with --presence for the room, e.g. --presence '>'): the page subscribes
// with its name as presence info ({"name": nick, "tab": clientId}) and `joins`, reads who is
// there (presence()) once subscribed, then follows join and leave events; the list beside the
// conversation shows one row per name, with a count when the name is there on several
// connections (tabs). A `presenceStats()` probe sent with the history read tells whether the
// room has presence: without it (404) there is no list and the room works as before.
(function () {
    "use strict";

    var $ = function (id) { return document.getElementById(id); };
    var clientId = Math.random().toString(36).slice(2, 10);
    var HISTORY_LIMIT = 50;
    var state = { nick: "", room: "", joined: false, joins: 0, history: false, cut: false,
                  presence: false, probe: null, members: new Map(), listed: false, membersMore: 0 };

    // Same host and port as the page: new Lhttp() with no URL means ws(s)://location.host/.
    var client = new Lhttp();

    function setStatus(kind, text) {
        $("status").dataset.state = kind;
        $("status-text").textContent = text;
    }

    function setBanner(text) {
        $("banner").textContent = text || "";
        $("banner").hidden = !text;
    }

    client.on_open = function () {
        setStatus("online", "connected");
        setBanner("");
        if (client.connectCount > 1 && state.joined) system("Reconnected — back in #" + state.room + ".");
        // The SDK has joined the room again (with our info and joins); what changed meanwhile
        // is read afresh.
        if (client.connectCount > 1 && state.joined && state.presence) loadMembers(state.joins);
    };

    client.on_close = function (c) {
        if (c.willReconnect) setStatus("reconnecting", "reconnecting…");
        else setStatus("offline", "offline");
        if (c.willReconnect && state.joined) setBanner("Connection lost — reconnecting…");
        if (c.wasOpen && state.joined) {
            state.cut = true;
            system("Connection lost, reconnecting…");
        }
        $("members").classList.add("stale"); // no events while the socket is down
    };

    // After a reconnect the SDK resubscribes the room with `recover`; the missed messages have
    // gone through on_message by now.
    client.on_recovery = function (c) {
        var r = c.recovery;
        if (!state.joined || r.channel !== state.room) return;
        var cut = state.cut;
        state.cut = false;
        if (r.recovered) {
            if (cut) system(r.count ? "Caught up: " + r.count + " missed message" + (r.count === 1 ? "" : "s") + "."
                                    : "Nothing missed.");
            return;
        }
        system("Some messages could not be recovered — reloading the recent ones…", "warning");
        loadHistory(state.joins, true);
    };

    client.on_error = function (c) {
        if (c.error && c.error.type === "reply")
            system("Server: " + (c.error.code || "") + " " + c.error.reason, "error");
    };

    client.on_message = function (c) { show(c, false); };

    // Join and leave events of the room (presence): one per connection.
    client.on("join", function (e) { memberEvent(e, true); });
    client.on("leave", function (e) { memberEvent(e, false); });

    // A received chat message (live, recovered, or from a history read: joins and leaves of
    // the past are not shown again).
    function show(c, past) {
        if (c.getCommand() !== "chat") return;
        var room = c.getHeader("publish");
        if (state.joined && room && room.split(/\s+/).indexOf(state.room) < 0) return;
        var nick = c.getHeader("nick") || "anonymous";
        var own = c.getHeader("client") === clientId;
        var event = c.getHeader("event");
        if (event === "join" || event === "leave") {
            if (past) return;
            return system(event === "join" ? (own ? "You" : nick) + " joined #" + state.room + "." : nick + " left.");
        }
        if (c.getBody() === "") return;
        addMessage(nick, c.getBody(), parseTime(c.getHeader("sent-at")), own);
        return true;
    }

    // Reads the room's recent messages. On join (reload false) it then subscribes: with
    // `recover` from the read's position when the room keeps history, plainly when not (404).
    // A reload (recovery incomplete) replaces what the list shows.
    function loadHistory(joinNo, reload) {
        var room = state.room;
        var current = function () { return state.joined && state.joins === joinNo; };
        client.history(room, HISTORY_LIMIT).then(function (past) {
            if (!current()) return;
            state.history = true;
            if (reload) $("messages").textContent = "";
            var shown = past.filter(function (c) { return show(c, true); }).length;
            if (reload) system("Some messages could not be recovered: reloaded the last " + shown + ".", "warning");
            else if (shown) system("Earlier messages in #" + room + " above.");
            if (!reload) subscribeRoom(joinNo, true);
        }, function (e) {
            if (!current()) return;
            if (reload) return system("Could not reload the history: " + e.message, "error");
            state.history = false;
            if (e.code !== 404) system("Could not load earlier messages: " + (e.reason || e.message), "error");
            // 404: the room keeps no history (server without --history for it).
            subscribeRoom(joinNo, false);
        });
    }

    // Subscribes and announces in one message, with `recover` from the history read's position
    // when the room keeps history; with our name as presence info and join/leave events when
    // it has presence (the probe's answer), then reads who is there. The list is that read,
    // changed by the events that come after it (one that came before is already in it).
    function subscribeRoom(joinNo, recover) {
        var room = state.room;
        var announce = headers({ publish: room, event: "join" });
        state.probe.then(function (presence) {
            if (!state.joined || state.joins !== joinNo) return;
            state.presence = presence;
            var options = presence ? { info: { name: state.nick, tab: clientId }, joins: true } : null;
            if (recover) client.recover(room, "chat", null, announce, "", options);
            else client.subscribe(room, "chat", announce, "", options);
            if (presence) loadMembers(joinNo);
        });
    }

    // Whether the room has presence: presence-stats answers, or 404 (no --presence for it).
    function probePresence(room) {
        return client.presenceStats(room).then(function () { return true; }, function (e) {
            if (e.code !== 404) system("Could not tell who is here: " + (e.reason || e.message), "error");
            return false;
        });
    }

    function loadMembers(joinNo) {
        var room = state.room;
        client.presence(room).then(function (r) {
            if (!state.joined || state.joins !== joinNo) return;
            state.members = new Map();
            r.entries.forEach(function (e) { state.members.set(e.node + " " + e.client, e); });
            state.membersMore = r.total - r.listed;
            state.listed = true;
            $("members").classList.remove("stale");
            renderMembers();
        }, function (e) {
            if (!state.joined || state.joins !== joinNo) return;
            system("Could not read who is here: " + (e.reason || e.message), "error");
        });
    }

    function memberEvent(e, joined) {
        if (!state.joined || !state.presence || e.channel !== state.room) return;
        var key = e.node + " " + e.client;
        if (joined) state.members.set(key, e);
        else state.members.delete(key);
        if (state.listed) renderMembers(); // before the first read: the read will hold it
    }

    // {name, own} from an entry's info (the JSON this page sends; other clients may send
    // anything, or nothing).
    function memberInfo(entry) {
        var info = null;
        try {
            info = JSON.parse(entry.info);
        } catch (err) { /* not JSON */ }
        var name = info && typeof info === "object" && typeof info.name === "string" ? cleanNick(info.name) : "";
        return { name: name || entry.user || "anonymous", own: !!info && info.tab === clientId };
    }

    // One row per person: per user id when there are tokens, else per name (the demo has no
    // accounts: the same name in two tabs is one person, with a count of 2).
    function renderMembers() {
        var groups = new Map();
        state.members.forEach(function (entry) {
            var m = memberInfo(entry);
            var key = entry.user ? "user " + entry.user : "name " + m.name;
            var g = groups.get(key);
            if (!g) groups.set(key, g = { name: m.name, own: false, count: 0 });
            g.own = g.own || m.own;
            g.count++;
        });
        var rows = Array.from(groups.values()).sort(function (a, b) {
            if (a.own !== b.own) return a.own ? -1 : 1;
            return a.name.localeCompare(b.name);
        });
        var list = $("member-list");
        list.textContent = "";
        rows.forEach(function (g) {
            var li = document.createElement("li");
            li.className = "member" + (g.own ? " own" : "");
            li.dataset.name = g.name;
            li.dataset.count = g.count;
            var avatar = document.createElement("span");
            avatar.className = "avatar";
            avatar.textContent = Array.from(g.name)[0].toUpperCase();
            avatar.style.setProperty("--hue", hue(g.name));
            avatar.setAttribute("aria-hidden", "true");
            var name = document.createElement("span");
            name.className = "name";
            name.textContent = g.name;
            li.append(avatar, name);
            if (g.own) {
                var you = document.createElement("span");
                you.className = "you";
                you.textContent = "you";
                li.append(you);
            }
            if (g.count > 1) {
                var count = document.createElement("span");
                count.className = "tabs";
                count.textContent = "×" + g.count;
                count.title = g.count + " connections";
                li.append(count);
            }
            list.append(li);
        });
        var more = state.membersMore > 0 ? " +" + state.membersMore : "";
        $("member-count").textContent = rows.length + more;
        $("members").hidden = false;
    }

    function clearMembers() {
        state.presence = false;
        state.members = new Map();
        state.membersMore = 0;
        state.listed = false;
        $("member-list").textContent = "";
        $("members").hidden = true;
        $("members").classList.remove("stale");
    }

    function parseTime(value) {
        var t = value ? new Date(value) : null;
        return t && !isNaN(t.getTime()) ? t : new Date();
    }

    function hue(text) {
        var h = 0;
        for (var i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
        return h % 360;
    }

    function atBottom(list) {
        return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    }

    function append(li) {
        var list = $("messages");
        var stick = atBottom(list);
        list.appendChild(li);
        if (stick) list.scrollTop = list.scrollHeight;
    }

    function addMessage(nick, text, time, own) {
        var li = document.createElement("li");
        li.className = "msg " + (own ? "own" : "other");
        var avatar = document.createElement("span");
        avatar.className = "avatar";
        avatar.textContent = Array.from(nick)[0].toUpperCase();
        avatar.style.setProperty("--hue", hue(nick));
        avatar.setAttribute("aria-hidden", "true");
        var bubble = document.createElement("div");
        bubble.className = "bubble";
        var meta = document.createElement("div");
        meta.className = "meta";
        var who = document.createElement("span");
        who.className = "nick";
        who.textContent = nick;
        who.style.setProperty("--hue", hue(nick));
        var when = document.createElement("time");
        when.dateTime = time.toISOString();
        when.textContent = time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        meta.append(who, when);
        var body = document.createElement("div");
        body.className = "text";
        body.textContent = text;
        bubble.append(meta, body);
        li.append(avatar, bubble);
        append(li);
    }

    function system(text, kind) {
        var li = document.createElement("li");
        li.className = "system" + (kind ? " " + kind : "");
        li.textContent = text;
        append(li);
    }

    // A room name becomes the channel id: dot-separated words of letters, digits, - and _.
    function channelFor(room) {
        return room.trim().toLowerCase()
            .replace(/[^a-z0-9_.-]+/g, "-")
            .split(".").filter(Boolean).join(".")
            .replace(/^-+|-+$/g, "");
    }

    function cleanNick(nick) {
        return nick.replace(/[\u0000-\u001f\u007f]+/g, " ").trim().slice(0, 32);
    }

    function headers(extra) {
        var h = { nick: state.nick, client: clientId, "sent-at": new Date().toISOString() };
        for (var k in extra) h[k] = extra[k];
        return h;
    }

    function join(nick, room) {
        state.nick = nick;
        state.room = room;
        state.joined = true;
        $("messages").textContent = "";
        $("room-name").textContent = room;
        $("room-title").hidden = false;
        $("join-view").hidden = true;
        $("chat-view").hidden = false;
        document.title = "#" + room + " · lhttp chat";
        try {
            localStorage.setItem("lhttp-chat-nick", nick);
        } catch (e) { /* private mode */ }
        if (location.hash.slice(1) !== room) history.replaceState(null, "", "#" + room);
        // Recent messages first, then subscribe and announce in one message.
        state.joins++;
        state.cut = false;
        clearMembers();
        state.probe = probePresence(room);
        loadHistory(state.joins, false);
        $("message").focus();
    }

    function leave() {
        if (!state.joined) return;
        // The server publishes before it unsubscribes: the others see us leave.
        client.unsubscribe(state.room, "chat", headers({ publish: state.room, event: "leave" }), "");
        state.joined = false;
        clearMembers();
        setBanner("");
        $("room-title").hidden = true;
        $("chat-view").hidden = true;
        $("join-view").hidden = false;
        document.title = "lhttp chat";
        $("room").focus();
    }

    function sendCurrent() {
        var box = $("message");
        var text = box.value.replace(/\s+$/, "");
        if (!text.trim() || !state.joined) return;
        client.publish(state.room, "chat", headers({}), text);
        box.value = "";
        autosize();
    }

    function autosize() {
        var box = $("message");
        box.style.height = "auto";
        box.style.height = Math.min(box.scrollHeight, 160) + "px";
    }

    $("join-form").addEventListener("submit", function (e) {
        e.preventDefault();
        var nick = cleanNick($("nick").value);
        var room = channelFor($("room").value);
        if (!nick) return $("nick").focus();
        if (!room) return $("room").focus();
        $("room").value = room;
        join(nick, room);
    });

    $("composer").addEventListener("submit", function (e) {
        e.preventDefault();
        sendCurrent();
    });

    $("message").addEventListener("keydown", function (e) {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            sendCurrent();
        }
    });
    $("message").addEventListener("input", autosize);
    $("leave").addEventListener("click", leave);
    window.addEventListener("pagehide", function () {
        if (state.joined && client.isOpen()) leave();
    });

    // Prefill: nickname from last time, room from the URL (#room) or the original's default.
    try {
        $("nick").value = localStorage.getItem("lhttp-chat-nick") || "";
    } catch (e) { /* private mode */ }
    $("room").value = channelFor(decodeURIComponent(location.hash.slice(1))) || "chatroom";
    if ($("nick").value) $("room").focus();

    // For tests and the console.
    window.lhttpChat = { client: client, state: state, clientId: clientId };
})();

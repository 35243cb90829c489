/*
 * lhttp.js — browser SDK for LHTTP/1.0 (lhttp-qt).  SPDX-License-Identifier: MIT
 *
 * Keeps the API of the original lhttp JavaScript SDK (new Lhttp(url), on_open/on_message/
 * on_close/on_error, a context with getCommand/getHeader/getBody/setCommand/addHeader/send/
 * publish/subscribe) so existing pages keep working, and fixes its bugs: getHeader(name)
 * returns that header's value, header values may contain ':', bodies may contain blank lines,
 * and headers no longer pile up from one send to the next. Adds unsubscribe, upstream,
 * multipart, automatic reconnection with backoff that re-subscribes, and error replies.
 * History channels (PROTOCOL.md §3 "History channels"): remembers each channel's position,
 * resumes with `recover` after a reconnect (no gap, no duplicate), and reads the past with
 * history().
 * Presence channels (PROTOCOL.md §3 "Presence channels"): subscribes with presence info and
 * join/leave opt-ins (and again after a reconnect), reads who is there with presence() and
 * presenceStats(), and hands join/leave events to on_join/on_leave (or on("join"/"leave")).
 *
 * Usable as
 *   - a classic script:  <script src="/lhttp.js"></script>  -> global `Lhttp`
 *   - an ES module:      import Lhttp from "/lhttp.mjs"     (also a named export `Lhttp`)
 *   - CommonJS / AMD:    require("./lhttp.js")
 * See docs/BROWSER.md for the full API.
 */
(function (root, factory) {
    "use strict";
    /* global define, module */
    if (typeof define === "function" && define.amd) {
        define([], factory);
    } else if (typeof module === "object" && module && module.exports) {
        module.exports = factory();
    } else if (!(root.Lhttp && root.Lhttp.sdk === "lhttp-qt")) {
        // Loaded twice (a classic <script> and lhttp.mjs): keep the first, so that there is
        // one Lhttp class on the page.
        root.Lhttp = factory();
    }
})(typeof globalThis !== "undefined" ? globalThis : typeof self !== "undefined" ? self : this,
function () {
    "use strict";

    var PROTOCOL = "LHTTP/1.0";
    var CRLF = "\r\n";
    var HEADER_PUBLISH = "publish";
    var HEADER_SUBSCRIBE = "subscribe";
    var HEADER_UNSUBSCRIBE = "unsubscribe";
    var HEADER_UPSTREAM = "upstream";
    var HEADER_MULTIPART = "multipart";
    var HEADER_POSITION = "position";
    var HEADER_RECOVER = "recover";
    var HEADER_RECOVERED = "recovered";
    var HEADER_HISTORY = "history";
    var HEADER_PRESENCE = "presence";             // a presence read, its reply; the events' command
    var HEADER_PRESENCE_STATS = "presence-stats";
    var HEADER_PRESENCE_INFO = "presence-info";
    var HEADER_JOINS = "joins";
    var HEADER_JOINS_SELF = "joins-self";
    var HEADER_JOIN = "join";
    var HEADER_LEAVE = "leave";
    var RECOVER_RETRIES = 5; // a recover answered 503 is asked again this many times
    // The events on(name, fn) accepts: the callbacks on_<name>.
    var EVENTS = ["open", "message", "close", "error", "recovery", "join", "leave"];

    // ---------------------------------------------------------------- errors and checks

    /** Thrown for malformed LHTTP text (incoming) and invalid arguments (outgoing). */
    class LhttpError extends Error {
        constructor(message) {
            super(message);
            this.name = "LhttpError";
        }
    }

    function fail(message) {
        throw new LhttpError("lhttp: " + message);
    }

    // A command or header name: visible characters only (no space, no control character).
    function isToken(s) {
        if (typeof s !== "string" || s.length === 0) return false;
        for (var i = 0; i < s.length; i++) {
            var c = s.charCodeAt(i);
            if (c <= 0x20 || c === 0x7f) return false;
        }
        return true;
    }

    function hasControlChars(s) {
        for (var i = 0; i < s.length; i++) {
            var c = s.charCodeAt(i);
            if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
        }
        return false;
    }

    function trimBlanks(s) {
        return s.replace(/^[ \t]+|[ \t]+$/g, "");
    }

    function checkCommand(command) {
        if (!isToken(command)) fail("invalid command " + JSON.stringify(command) +
                                    " (non-empty, no spaces or control characters)");
        return command;
    }

    function checkHeader(name, value) {
        if (!isToken(name) || name.indexOf(":") >= 0)
            fail("invalid header name " + JSON.stringify(name));
        value = value === undefined || value === null ? "" : String(value);
        if (hasControlChars(value))
            fail("header " + name + ": value must not contain CR, LF or control characters");
        return value;
    }

    // Headers given as a plain object, a Map, an array of [name, value] pairs, or a Message.
    function headerPairs(headers) {
        if (headers === undefined || headers === null) return [];
        if (headers instanceof Message) return headers.getHeaders();
        if (typeof Map !== "undefined" && headers instanceof Map) return Array.from(headers.entries());
        if (Array.isArray(headers)) {
            return headers.map(function (h) {
                if (!Array.isArray(h) || h.length !== 2) fail("headers array must hold [name, value] pairs");
                return [h[0], h[1]];
            });
        }
        if (typeof headers === "object") {
            return Object.keys(headers).map(function (k) { return [k, headers[k]]; });
        }
        fail("headers must be an object, a Map or an array of [name, value] pairs");
    }

    // A channel list: "a b c", ["a", "b"], or a single name. Returns the tokens.
    function channelList(channel) {
        var tokens = [];
        (Array.isArray(channel) ? channel : [channel]).forEach(function (c) {
            if (c === undefined || c === null) return;
            String(c).split(/[ \t\r\n]+/).forEach(function (t) { if (t) tokens.push(t); });
        });
        if (tokens.length === 0) fail("no channel given");
        return tokens;
    }

    // ---------------------------------------------------------------- positions (history channels)

    // Offsets are decimal uint64s, kept as strings (exact beyond 2^53) and compared as such.
    var OFFSET_RE = /^[0-9]{1,20}$/;
    var EPOCH_RE = /^[A-Za-z0-9]{1,32}$/;

    function compareOffsets(a, b) {
        a = a.replace(/^0+(?=.)/, "");
        b = b.replace(/^0+(?=.)/, "");
        if (a.length !== b.length) return a.length < b.length ? -1 : 1;
        return a < b ? -1 : a > b ? 1 : 0;
    }

    function fields(value) {
        return String(value).split(/[ \t]+/).filter(Boolean);
    }

    // {offset, epoch} from an object ({offset, epoch}, offset a number, string or BigInt) or a
    // string "<offset> <epoch>"; null when `p` is null/undefined. Throws on anything else.
    function toPosition(p) {
        if (p === undefined || p === null) return null;
        var offset, epoch;
        if (typeof p === "string") {
            var f = fields(p);
            if (f.length !== 2) fail("position must be '<offset> <epoch>'");
            offset = f[0];
            epoch = f[1];
        } else if (typeof p === "object") {
            offset = p.offset === undefined || p.offset === null ? "" : String(p.offset);
            epoch = p.epoch === undefined || p.epoch === null ? "" : String(p.epoch);
        } else {
            fail("position must be {offset, epoch} or '<offset> <epoch>'");
        }
        if (!OFFSET_RE.test(offset)) fail("position: offset must be a decimal number");
        if (!EPOCH_RE.test(epoch)) fail("position: epoch must be 1 to 32 letters and digits");
        return { offset: offset, epoch: epoch };
    }

    // `position:<channel> <offset> <epoch>`, the first header of a delivery on a history channel.
    function deliveryPosition(message) {
        var h = message.headers[0];
        if (!h || h[0] !== HEADER_POSITION) return null;
        var f = fields(h[1]);
        if (f.length !== 3 || !OFFSET_RE.test(f[1]) || !EPOCH_RE.test(f[2])) return null;
        return { channel: f[0], offset: f[1], epoch: f[2] };
    }

    // ---------------------------------------------------------------- presence channels

    var COUNT_RE = /^[0-9]{1,15}$/;

    // A presence-info value: a string as it is, anything else as JSON; null for none.
    function presenceInfo(info) {
        if (info === undefined || info === null) return null;
        if (typeof info === "string") return info;
        var json = JSON.stringify(info);
        if (typeof json !== "string") fail("presence info must be a string or a JSON value");
        return json;
    }

    // The channels a `joins`/`joinsSelf` option names: true means the ones being subscribed.
    function joinChannels(option, subscribing) {
        if (option === undefined || option === null || option === false) return [];
        if (option === true) return subscribing.slice();
        return channelList(option);
    }

    // The presence headers of a subscribe, from its options {info, joins, joinsSelf}; a channel
    // in both flag lists gets `joins-self` only (it implies `joins`).
    function presenceOptionHeaders(options, subscribing) {
        if (options === undefined || options === null) return [];
        if (typeof options !== "object") fail("subscribe options must be an object {info, joins, joinsSelf}");
        var out = [];
        var info = presenceInfo(options.info);
        if (info !== null) out.push([HEADER_PRESENCE_INFO, info]);
        var self = joinChannels(options.joinsSelf, subscribing);
        var joins = joinChannels(options.joins, subscribing).filter(function (c) { return self.indexOf(c) < 0; });
        if (joins.length) out.push([HEADER_JOINS, joins.join(" ")]);
        if (self.length) out.push([HEADER_JOINS_SELF, self.join(" ")]);
        return out;
    }

    // The headers that re-join `channels` (which share one info) as they were joined.
    function presenceStateHeaders(states, channels) {
        var out = [];
        var info = states.length && states[0] ? states[0].info : null;
        if (info !== null && info !== "") out.push([HEADER_PRESENCE_INFO, info]);
        var joins = channels.filter(function (c, i) { return states[i] && states[i].joins === HEADER_JOINS; });
        var self = channels.filter(function (c, i) { return states[i] && states[i].joins === HEADER_JOINS_SELF; });
        if (joins.length) out.push([HEADER_JOINS, joins.join(" ")]);
        if (self.length) out.push([HEADER_JOINS_SELF, self.join(" ")]);
        return out;
    }

    // A join/leave event: `LHTTP/1.0 presence` with a `join` or `leave` header, from the server
    // (no `publish` header). {type, channel, client, node, user, info}, else null.
    function presenceEvent(message) {
        if (message.command !== HEADER_PRESENCE || message.hasHeader(HEADER_PUBLISH)) return null;
        var type = message.hasHeader(HEADER_JOIN) ? HEADER_JOIN : message.hasHeader(HEADER_LEAVE) ? HEADER_LEAVE : null;
        if (!type) return null;
        return {
            type: type,
            channel: message.getHeader(type),
            client: message.getHeader("client") || "",
            node: message.getHeader("node") || "",
            user: message.getHeader("user") || "",
            info: message.body,
        };
    }

    // The body of a `presence:<channel> <total> <listed>` reply: a JSON array of entries.
    function presenceEntries(body) {
        var list;
        try {
            list = JSON.parse(body === "" ? "[]" : body);
        } catch (e) {
            fail("presence: the reply's body is not JSON (" + e.message + ")");
        }
        if (!Array.isArray(list)) fail("presence: the reply's body is not a JSON array");
        return list.map(function (e) {
            e = e && typeof e === "object" ? e : {};
            var str = function (v) { return v === undefined || v === null ? "" : String(v); };
            return { client: str(e.client), node: str(e.node), user: str(e.user), info: str(e.info) };
        });
    }

    // ---------------------------------------------------------------- UTF-8 (multipart offsets)

    var encoder = typeof TextEncoder !== "undefined" ? new TextEncoder() : null;
    var decoder = typeof TextDecoder !== "undefined" ? new TextDecoder("utf-8") : null;

    function utf8Length(s) {
        return encoder ? encoder.encode(s).length : unescape(encodeURIComponent(s)).length;
    }

    function indexOfBytes(bytes, pattern, from) {
        outer: for (var i = from || 0; i <= bytes.length - pattern.length; i++) {
            for (var j = 0; j < pattern.length; j++) {
                if (bytes[i + j] !== pattern[j]) continue outer;
            }
            return i;
        }
        return -1;
    }

    // ---------------------------------------------------------------- Message

    /**
     * One LHTTP message: command, ordered headers (duplicates allowed; lookups take the last),
     * body. `new Message(command, headers, body)` builds one; Message.parse(text) decodes one.
     */
    class Message {
        constructor(command, headers, body) {
            this.command = command === undefined || command === null ? "" : String(command);
            this.headers = headerPairs(headers).map(function (h) { return [String(h[0]), h[1] === undefined || h[1] === null ? "" : String(h[1])]; });
            this.body = body === undefined || body === null ? "" : String(body);
        }

        /** The value of the last header called `name` (case-sensitive), or null. */
        getHeader(name) {
            for (var i = this.headers.length - 1; i >= 0; i--) {
                if (this.headers[i][0] === name) return this.headers[i][1];
            }
            return null;
        }

        hasHeader(name) {
            return this.getHeader(name) !== null;
        }

        /** A copy of all headers in received order, as [name, value] pairs. */
        getHeaders() {
            return this.headers.map(function (h) { return [h[0], h[1]]; });
        }

        /** Replaces the last header called `name`, or appends one. */
        setHeader(name, value) {
            value = checkHeader(name, value);
            for (var i = this.headers.length - 1; i >= 0; i--) {
                if (this.headers[i][0] === name) { this.headers[i][1] = value; return this; }
            }
            this.headers.push([name, value]);
            return this;
        }

        /** The wire form: `LHTTP/1.0 command CRLF (name:value CRLF)* CRLF body`. */
        encode() {
            checkCommand(this.command);
            var out = PROTOCOL + " " + this.command + CRLF;
            for (var i = 0; i < this.headers.length; i++) {
                var value = checkHeader(this.headers[i][0], this.headers[i][1]);
                out += this.headers[i][0] + ":" + value + CRLF;
            }
            return out + CRLF + this.body;
        }

        toString() {
            return this.encode();
        }

        /**
         * The parts of a multipart message (`multipart:<o1> <o2> ...`, UTF-8 byte offsets into
         * the body), as Message objects with an empty command. [] when there is no multipart
         * header. Throws LhttpError on bad offsets or a part without a blank line.
         */
        getMultipart() {
            var spec = this.getHeader(HEADER_MULTIPART);
            if (spec === null) return [];
            var tokens = spec.split(/[ \t]+/).filter(Boolean);
            if (tokens.length === 0) fail("multipart: no offsets");
            if (!encoder || !decoder) fail("multipart needs TextEncoder/TextDecoder");
            var bytes = encoder.encode(this.body);
            var offsets = tokens.map(function (t) {
                if (!/^[0-9]+$/.test(t)) fail("multipart: offset '" + t + "' is not a decimal number");
                var v = Number(t);
                if (v > bytes.length) fail("multipart: offset " + t + " is beyond the body");
                return v;
            });
            for (var k = 1; k < offsets.length; k++) {
                if (offsets[k] <= offsets[k - 1]) fail("multipart: offsets must be strictly ascending");
            }
            var blank = [13, 10, 13, 10];
            return offsets.map(function (start, i) {
                var end = i + 1 < offsets.length ? offsets[i + 1] : bytes.length;
                var chunk = bytes.subarray(start, end);
                var head, bodyStart;
                if (chunk[0] === 13 && chunk[1] === 10) {
                    head = "";
                    bodyStart = 2;
                } else {
                    var at = indexOfBytes(chunk, blank, 0);
                    if (at < 0) fail("multipart: part " + i + " has no blank line after its headers");
                    head = decoder.decode(chunk.subarray(0, at + 2));
                    bodyStart = at + 4;
                }
                var part = new Message("", null, decoder.decode(chunk.subarray(bodyStart)));
                part.headers = parseHeaderLines(head);
                return part;
            });
        }

        /** Decodes LHTTP text (PROTOCOL.md §2). Throws LhttpError when it is not LHTTP/1.0. */
        static parse(text) {
            if (typeof text !== "string") fail("message must be text");
            if (text.slice(0, PROTOCOL.length + 1) !== PROTOCOL + " ")
                fail("not an LHTTP/1.0 message");
            var startEol = text.indexOf(CRLF);
            if (startEol < 0) fail("start line not terminated by CRLF");
            var command = text.slice(PROTOCOL.length + 1, startEol);
            if (!isToken(command)) fail("invalid command in start line");
            var headStart = startEol + 2;
            var headEnd = text.length;
            var bodyStart = text.length;
            if (text.substr(headStart, 2) === CRLF) {
                headEnd = headStart;
                bodyStart = headStart + 2;
            } else {
                var blank = text.indexOf(CRLF + CRLF, headStart);
                if (blank >= 0) {
                    headEnd = blank + 2;
                    bodyStart = blank + 4;
                }
            }
            var m = new Message(command, null, text.slice(bodyStart));
            m.headers = parseHeaderLines(text.slice(headStart, headEnd));
            return m;
        }
    }

    // `name:value CRLF` lines; the first ':' splits; blanks around the value are trimmed.
    function parseHeaderLines(block) {
        var headers = [];
        var pos = 0;
        while (pos < block.length) {
            var eol = block.indexOf(CRLF, pos);
            if (eol < 0) fail("header line not terminated by CRLF");
            var line = block.slice(pos, eol);
            var colon = line.indexOf(":");
            if (colon <= 0) fail("header line without a name and ':'");
            var name = line.slice(0, colon);
            if (!isToken(name)) fail("invalid header name " + JSON.stringify(name));
            headers.push([name, trimBlanks(line.slice(colon + 1))]);
            pos = eol + 2;
        }
        return headers;
    }

    /** Builds a multipart body and its `multipart` header value from parts. */
    function buildMultipart(preamble, parts) {
        var body = preamble;
        var offset = utf8Length(preamble);
        var offsets = [];
        parts.forEach(function (p) {
            var text = "";
            p.headers.forEach(function (h) { text += h[0] + ":" + h[1] + CRLF; });
            text += CRLF + p.body;
            offsets.push(offset);
            offset += utf8Length(text);
            body += text;
        });
        return { body: body, offsets: offsets.join(" ") };
    }

    // ---------------------------------------------------------------- Context

    /**
     * What the callbacks receive. Reading methods describe the received message (empty for
     * on_open/on_close); writing methods build the next outgoing message, which is reset after
     * every send, so nothing carries over to the following message.
     */
    class Context {
        constructor(client, message) {
            this.client = client;
            this.req = message || new Message("", null, "");
            this.error = null;      // on_error: {type: "reply"|"socket"|"parse", code, reason}
            this._reset();
        }

        _reset() {
            this._command = "";
            this._headers = [];
            this._parts = [];
        }

        /** The client's current WebSocket (the original's `context.conn`). */
        get conn() { return this.client.conn; }

        // -- reading the received message
        getCommand() { return this.req.command; }
        getHeader(name) { return this.req.getHeader(name); }
        getHeaders() { return this.req.getHeaders(); }
        getBody() { return this.req.body; }
        getMessage() { return this.req; }
        getMultipart() { return this.req.getMultipart(); }
        /** `{channel, offset, epoch}` of a delivery on a history channel, else null. */
        getPosition() { return deliveryPosition(this.req); }

        // -- building the next outgoing message
        setCommand(command) {
            this._command = checkCommand(String(command));
            return this;
        }

        /** Sets a header of the next message (a header of the same name is replaced). */
        addHeader(name, value) {
            name = String(name);
            value = checkHeader(name, value);
            for (var i = 0; i < this._headers.length; i++) {
                if (this._headers[i][0] === name) { this._headers[i][1] = value; return this; }
            }
            this._headers.push([name, value]);
            return this;
        }

        /** Adds a multipart part (headers, body) to the next message. */
        appendPart(headers, body) {
            var part = new Message("", null, body);
            headerPairs(headers).forEach(function (h) { part.setHeader(String(h[0]), h[1]); });
            this._parts.push(part);
            return this;
        }

        /**
         * Sends the message built so far with `body`. Its command is the one set with
         * setCommand, else the received message's. Returns the encoded text. Throws
         * LhttpError when there is no command or the client is closed for good.
         */
        send(body) {
            return this._send(body, "");
        }

        // `sending(m)`, if given, sees the message once it went or was queued (subscribe
        // remembers it).
        _send(body, fallbackCommand, sending) {
            try {
                var command = this._command || this.req.command || fallbackCommand;
                if (!command) fail("no command: call setCommand() first or pass one");
                var m = new Message(command, null, body);
                m.headers = this._headers.slice();
                if (this._parts.length) {
                    var built = buildMultipart(m.body, this._parts);
                    m.body = built.body;
                    m.setHeader(HEADER_MULTIPART, built.offsets);
                }
                var text = m.encode();
                this.client._transmit(text, this.client._recoverExpectation(m));
                if (sending) sending(m);
                return text;
            } finally {
                this._reset();
            }
        }

        _withHeader(name, value, command, headers, body, sending) {
            try {
                var extra = headerPairs(headers);
                if (command !== undefined && command !== null && command !== "") this.setCommand(command);
                this.addHeader(name, value);
                for (var i = 0; i < extra.length; i++) this.addHeader(String(extra[i][0]), extra[i][1]);
            } catch (e) {
                this._reset(); // nothing of a failed call carries over to the next message
                throw e;
            }
            return this._send(body, name, sending);
        }

        /** Publishes `body` to channel(s) ("a b", or ["a", "b"]). */
        publish(channel, command, headers, body) {
            try {
                var channels = channelList(channel);
            } catch (e) { this._reset(); throw e; }
            return this._withHeader(HEADER_PUBLISH, channels.join(" "), command, headers, body);
        }

        /**
         * Subscribes to channel(s); the client re-subscribes them after a reconnect.
         * `options` (presence channels): {info, joins, joinsSelf} — `info` (a string, or any
         * other value sent as JSON) becomes `presence-info`; `joins`/`joinsSelf` (true: the
         * channels subscribed here; or a channel list) become `joins`/`joins-self`, so that
         * on_join/on_leave get the channels' join and leave events (joinsSelf: also our own
         * join). A reconnect sends them again.
         */
        subscribe(channel, command, headers, body, options) {
            try {
                var channels = channelList(channel);
                var extra = presenceOptionHeaders(options, channels).concat(headerPairs(headers));
            } catch (e) { this._reset(); throw e; }
            var client = this.client;
            return this._withHeader(HEADER_SUBSCRIBE, channels.join(" "), command, extra, body, function (m) {
                client._remember(channels, m.command, m);
            });
        }

        /** Unsubscribes from channel(s). */
        unsubscribe(channel, command, headers, body) {
            try {
                var channels = channelList(channel);
            } catch (e) { this._reset(); throw e; }
            var text = this._withHeader(HEADER_UNSUBSCRIBE, channels.join(" "), command, headers, body);
            this.client._forget(channels);
            return text;
        }

        /**
         * Subscribes to one history channel with `recover:<channel> [<offset> <epoch>]`: the
         * server replays what was published after `position` ({offset, epoch} or
         * "<offset> <epoch>"; omitted: the client's last known position of the channel, if
         * any, else it just reports the current one). See on_recovery. `options` as for
         * subscribe (presence channels).
         */
        recover(channel, command, position, headers, body, options) {
            try {
                var channels = channelList(channel);
                if (channels.length !== 1) fail("recover: exactly one channel");
                var pos = toPosition(position) || this.client.position(channels[0]);
                var extra = [[HEADER_RECOVER, channels[0] + (pos ? " " + pos.offset + " " + pos.epoch : "")]]
                    .concat(presenceOptionHeaders(options, channels), headerPairs(headers));
            } catch (e) { this._reset(); throw e; }
            return this.subscribe(channels, command, extra, body);
        }

        /** Asks the server to forward the message to an HTTP backend (`upstream:METHOD URL`). */
        upstream(method, url, command, headers, body) {
            method = String(method || "").toUpperCase();
            if (!isToken(method)) { this._reset(); fail("upstream: invalid HTTP method"); }
            if (!url || /[\s]/.test(String(url))) { this._reset(); fail("upstream: invalid URL"); }
            return this._withHeader(HEADER_UPSTREAM, method + " " + url, command, headers, body);
        }

        // -- on_close details
        getCloseCode() { return this.closeEvent ? this.closeEvent.code : null; }
        getCloseReason() { return this.closeEvent ? this.closeEvent.reason : ""; }
    }

    // ---------------------------------------------------------------- Lhttp (the client)

    function defaultUrl() {
        var loc = typeof location !== "undefined" ? location : null;
        if (!loc || !/^https?:$/.test(loc.protocol)) return "ws://localhost:8081/";
        return (loc.protocol === "https:" ? "wss://" : "ws://") + loc.host + "/";
    }

    function resolveUrl(url) {
        if (!url) return defaultUrl();
        url = String(url);
        if (/^wss?:\/\//i.test(url)) return url;
        // A path or an http(s) URL: same host, WebSocket scheme.
        var base = typeof location !== "undefined" && /^https?:$/.test(location.protocol) ? location.href : "http://localhost:8081/";
        var u = new URL(url, base);
        u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
        return u.href;
    }

    function noop() {}

    /**
     * new Lhttp(url, options)
     *   url      ws:// or wss:// URL; a path or nothing means the page's own host and port.
     *   options  { reconnect: true, reconnectDelay: 500, maxReconnectDelay: 10000,
     *              queueLimit: 256, historyTimeout: 10000, presenceTimeout: 10000,
     *              protocols: undefined,
     *              WebSocket: globalThis.WebSocket }
     */
    class Lhttp {
        constructor(url, options) {
            options = options || {};
            this.url = resolveUrl(url);
            this.options = {
                reconnect: options.reconnect !== false,
                reconnectDelay: options.reconnectDelay > 0 ? options.reconnectDelay : 500,
                maxReconnectDelay: options.maxReconnectDelay > 0 ? options.maxReconnectDelay : 10000,
                queueLimit: options.queueLimit >= 0 ? options.queueLimit : 256,
                historyTimeout: options.historyTimeout >= 0 ? options.historyTimeout : 10000,
                presenceTimeout: options.presenceTimeout >= 0 ? options.presenceTimeout : 10000,
                protocols: options.protocols,
                WebSocket: options.WebSocket || (typeof WebSocket !== "undefined" ? WebSocket : null),
            };
            if (!this.options.WebSocket) fail("no WebSocket implementation available");

            // The original SDK's callbacks; replace them.
            this.on_open = noop;
            this.on_message = noop;
            this.on_close = noop;
            this.on_error = noop;
            // History channels: after each `recovered` reply and the messages it announced.
            this.on_recovery = noop;
            // Presence channels: join and leave events of channels subscribed with joins.
            this.on_join = noop;
            this.on_leave = noop;

            this.conn = null;            // the current WebSocket
            this.connectCount = 0;       // successful opens so far (> 1 after a reconnect)
            this._channels = new Map();  // channel -> command used to subscribe
            this._queue = [];            // {text, expect} sent while not connected
            this._positions = new Map(); // history channel -> {offset, epoch} last handed over
            this._expect = [];           // recover/history requests sent, awaiting their reply
            this._replay = null;         // the messages announced by the last reply, being read
            this._presence = new Map();  // presence channel -> {info, joins: "" | "joins" | "joins-self"}
            this._listeners = new Map(); // event name -> [fn] added with on()
            this._attempt = 0;
            this._timer = null;
            this._closed = false;

            // Like the original: a context bound to the client for sending at any time.
            this.context = new Context(this, null);
            this._connect();
        }

        // -- shortcuts on the client itself (each builds a fresh message)
        send(command, headers, body) {
            var c = new Context(this, null);
            if (command) c.setCommand(command);
            headerPairs(headers).forEach(function (h) { c.addHeader(String(h[0]), h[1]); });
            return c.send(body);
        }
        publish(channel, command, headers, body) { return new Context(this, null).publish(channel, command, headers, body); }
        unsubscribe(channel, command, headers, body) { return new Context(this, null).unsubscribe(channel, command, headers, body); }
        upstream(method, url, command, headers, body) { return new Context(this, null).upstream(method, url, command, headers, body); }
        subscribe(channel, command, headers, body, options) { return new Context(this, null).subscribe(channel, command, headers, body, options); }
        recover(channel, command, position, headers, body, options) { return new Context(this, null).recover(channel, command, position, headers, body, options); }

        /**
         * Adds a listener for an event, besides the on_<event> callback: "open", "message",
         * "close", "error", "recovery" (each called with a context, as the callback) or
         * "join", "leave" (called with {type, channel, client, node, user, info}). Returns a
         * function that removes it.
         */
        on(event, fn) {
            if (EVENTS.indexOf(event) < 0) fail("on: unknown event " + JSON.stringify(event) + " (" + EVENTS.join(", ") + ")");
            if (typeof fn !== "function") fail("on: the listener must be a function");
            if (!this._listeners.has(event)) this._listeners.set(event, []);
            this._listeners.get(event).push(fn);
            var self = this;
            return function () { self.off(event, fn); };
        }

        /** Removes a listener added with on(). */
        off(event, fn) {
            var list = this._listeners.get(event);
            if (!list) return;
            var i = list.indexOf(fn);
            if (i >= 0) list.splice(i, 1);
        }

        /**
         * The last position ({offset, epoch}; offset a decimal string) seen on a history
         * channel — from deliveries, recoveries and history reads — or null.
         */
        position(channel) {
            var p = this._positions.get(String(channel));
            return p ? { offset: p.offset, epoch: p.epoch } : null;
        }

        /**
         * Reads up to `limit` messages of a history channel: the last ones, or those after
         * `position` ({offset, epoch} or "<offset> <epoch>"). Resolves with an array of
         * contexts (like on_message's), oldest first, with `.channel` and `.position` (the
         * channel's current position). Rejects with an LhttpError (`code`, `reason` for an
         * error reply), when the connection closes first, or after options.historyTimeout ms.
         */
        history(channel, limit, position) {
            var self = this;
            return new Promise(function (resolve, reject) {
                var channels = channelList(channel);
                if (channels.length !== 1) fail("history: exactly one channel");
                var n = Number(limit);
                if (!(n >= 1) || Math.floor(n) !== n) fail("history: limit must be a positive integer");
                var pos = toPosition(position);
                var value = channels[0] + " " + n + (pos ? " " + pos.offset + " " + pos.epoch : "");
                self._request(HEADER_HISTORY, channels[0], value, self.options.historyTimeout, resolve, reject);
            });
        }

        /**
         * Reads who is subscribed to a presence channel (it does not subscribe). Resolves with
         * {channel, total, listed, entries: [{client, node, user, info}]}: `entries` holds
         * `listed` of the `total` entries (the server lists at most --presence-list-max), one
         * per connection; `info` is the string the connection subscribed with (JSON.parse it
         * if you sent an object), `user` its token's `sub` or "". Rejects with an LhttpError
         * (`code`, `reason` for an error reply: 404 not a presence channel, 403 not allowed,
         * 400 malformed), when the connection closes first, or after options.presenceTimeout ms.
         */
        presence(channel) {
            var self = this;
            return new Promise(function (resolve, reject) {
                var channels = channelList(channel);
                if (channels.length !== 1) fail("presence: exactly one channel");
                self._request(HEADER_PRESENCE, channels[0], channels[0], self.options.presenceTimeout, resolve, reject);
            });
        }

        /**
         * Counts a presence channel's entries. Resolves with {channel, connections, users}
         * (`users`: distinct user ids; connections without one count one each) and, when `user`
         * is given, `userConnections` (that user's entries). Rejects like presence().
         */
        presenceStats(channel, user) {
            var self = this;
            return new Promise(function (resolve, reject) {
                var channels = channelList(channel);
                if (channels.length !== 1) fail("presenceStats: exactly one channel");
                var value = channels[0];
                if (user !== undefined && user !== null) {
                    user = String(user);
                    if (!user || /[\s]/.test(user)) fail("presenceStats: the user must be non-empty, without spaces");
                    value += " " + user;
                }
                self._request(HEADER_PRESENCE_STATS, channels[0], value, self.options.presenceTimeout, resolve, reject);
            });
        }

        // Sends `LHTTP/1.0 <kind>\r\n<kind>:<value>` and awaits its reply (history, presence,
        // presence-stats), which settles the promise, or the timeout (0: none).
        _request(kind, channel, value, timeout, resolve, reject) {
            var self = this;
            var entry = { kind: kind, channel: channel, ws: null, resolve: resolve, reject: reject, timer: null };
            if (timeout > 0) {
                entry.timer = setTimeout(function () {
                    entry.timer = null;
                    self._settle(entry, new LhttpError("lhttp: " + kind + ": no reply within " + timeout + " ms"));
                }, timeout);
            }
            try {
                self._transmit(new Message(kind, [[kind, value]], "").encode(), entry);
            } catch (e) {
                self._settle(entry, e);
            }
        }

        /** Channels currently subscribed (re-subscribed after a reconnect). */
        channels() { return Array.from(this._channels.keys()); }

        isOpen() { return !!this.conn && this.conn.readyState === 1; }

        /** Closes the connection for good: no reconnection, queued messages are dropped. */
        close(code, reason) {
            this._closed = true;
            var self = this;
            this._queue.forEach(function (q) { if (q.expect) self._settle(q.expect, new LhttpError("lhttp: client closed")); });
            this._queue = [];
            if (this._timer) { clearTimeout(this._timer); this._timer = null; }
            if (this.conn && this.conn.readyState < 2) this.conn.close(code || 1000, reason || "");
        }

        // -- internals
        _connect() {
            var self = this;
            var ws;
            try {
                ws = this.options.protocols === undefined
                    ? new this.options.WebSocket(this.url)
                    : new this.options.WebSocket(this.url, this.options.protocols);
            } catch (e) {
                this._error({ type: "socket", code: null, reason: String(e && e.message || e) });
                this._scheduleReconnect();
                return;
            }
            ws.binaryType = "arraybuffer";
            this.conn = ws;
            var opened = false;
            ws.onopen = function () {
                if (self.conn !== ws) return;
                opened = true;
                self._attempt = 0;
                self.connectCount++;
                if (self.connectCount > 1) self._resubscribe();
                var queued = self._queue;
                self._queue = [];
                queued.forEach(function (q) { self._sent(ws, q.text, q.expect); });
                self._call("on_open", new Context(self, null));
            };
            ws.onmessage = function (evt) { if (self.conn === ws) self._receive(evt.data); };
            ws.onerror = function () {
                if (self.conn === ws) self._error({ type: "socket", code: null, reason: "WebSocket error" });
            };
            ws.onclose = function (evt) {
                if (self.conn !== ws) return;
                self._lost(ws);
                var c = new Context(self, null);
                c.closeEvent = { code: evt.code, reason: evt.reason, wasClean: evt.wasClean };
                c.wasOpen = opened;
                c.willReconnect = !self._closed && self.options.reconnect;
                self._call("on_close", c);
                self._scheduleReconnect();
            };
        }

        _scheduleReconnect() {
            if (this._closed || !this.options.reconnect || this._timer) return;
            var base = Math.min(this.options.maxReconnectDelay,
                                this.options.reconnectDelay * Math.pow(2, this._attempt));
            var delay = Math.round(base * (0.8 + 0.4 * Math.random()));
            this._attempt++;
            var self = this;
            this.reconnectDelay = delay;
            this._timer = setTimeout(function () { self._timer = null; if (!self._closed) self._connect(); }, delay);
        }

        _resubscribe() {
            // One subscribe message per command the channels were subscribed with (and per
            // presence info: it applies to the whole message), with their `joins`/`joins-self`
            // as before; a history channel whose position is known gets one of its own,
            // resuming with `recover`.
            var self = this;
            var groups = new Map();
            var recovering = [];
            this._channels.forEach(function (command, channel) {
                var p = self._positions.get(channel);
                if (p) {
                    recovering.push([channel, command, p]);
                    return;
                }
                var state = self._presence.get(channel);
                var key = command + "\n" + (state && state.info || "");
                if (!groups.has(key)) groups.set(key, { command: command, channels: [], states: [] });
                var g = groups.get(key);
                g.channels.push(channel);
                g.states.push(state);
            });
            var ws = this.conn;
            groups.forEach(function (g) {
                var headers = [[HEADER_SUBSCRIBE, g.channels.join(" ")]].concat(presenceStateHeaders(g.states, g.channels));
                ws.send(new Message(g.command, headers, "").encode());
            });
            recovering.forEach(function (r) {
                var m = new Message(r[1], [[HEADER_SUBSCRIBE, r[0]], [HEADER_RECOVER, r[0] + " " + r[2].offset + " " + r[2].epoch]]
                    .concat(self._presenceHeaders(r[0])), "");
                self._sent(ws, m.encode(), self._recoverExpectation(m));
            });
        }

        // The presence headers that join `channel` again as it was joined.
        _presenceHeaders(channel) {
            var state = this._presence.get(channel);
            return state ? presenceStateHeaders([state], [channel]) : [];
        }

        // Channels subscribed by `m` (sent or queued): their command, and for presence channels
        // the message's `presence-info` (channels new to the connection: info is set when a
        // channel is joined) and `joins`/`joins-self` opt-ins (which also change those of
        // channels subscribed before).
        _remember(channels, command, m) {
            var self = this;
            var info = m ? m.getHeader(HEADER_PRESENCE_INFO) : null;
            channels.forEach(function (c) {
                if (!self._channels.has(c) && info !== null && info !== "") self._presence.set(c, { info: info, joins: "" });
                self._channels.set(c, command);
            });
            if (!m) return;
            [HEADER_JOINS, HEADER_JOINS_SELF].forEach(function (name) {
                var value = m.getHeader(name);
                if (value === null) return;
                fields(value).forEach(function (c) {
                    if (!self._channels.has(c)) return;
                    var state = self._presence.get(c) || { info: "", joins: "" };
                    state.joins = name;
                    self._presence.set(c, state);
                });
            });
        }

        _forget(channels) {
            var self = this;
            channels.forEach(function (c) {
                self._channels.delete(c);
                self._presence.delete(c);
            });
        }

        // `expect`: a recover/history request whose reply is awaited (replies come in order).
        _transmit(text, expect) {
            if (this._closed) fail("client closed");
            if (this.isOpen()) {
                this._sent(this.conn, text, expect);
                return;
            }
            if (this._queue.length >= this.options.queueLimit) fail("not connected and the send queue is full");
            this._queue.push({ text: text, expect: expect || null });
        }

        _sent(ws, text, expect) {
            ws.send(text);
            if (!expect) return;
            expect.ws = ws;
            this._expect.push(expect);
        }

        // An outgoing subscribe with a `recover` header: its reply is awaited; a position in it
        // is where the application resumes, so the replay is not taken for duplicates.
        _recoverExpectation(m) {
            var value = m.getHeader(HEADER_RECOVER);
            if (value === null || m.getHeader(HEADER_SUBSCRIBE) === null) return null;
            var f = fields(value);
            if (f.length === 0) return null;
            if (f.length === 3 && OFFSET_RE.test(f[1]) && EPOCH_RE.test(f[2]))
                this._positions.set(f[0], { offset: f[1], epoch: f[2] });
            var presence = m.hasHeader(HEADER_PRESENCE_INFO) || m.hasHeader(HEADER_JOINS) || m.hasHeader(HEADER_JOINS_SELF);
            return { kind: HEADER_RECOVER, channel: f[0], command: m.command, ws: null, presence: presence };
        }

        // Resolves or rejects a history()/presence()/presenceStats() request once (a late reply
        // after a timeout is read and dropped).
        _settle(entry, error, result) {
            if (entry.done) return;
            entry.done = true;
            if (entry.timer) { clearTimeout(entry.timer); entry.timer = null; }
            if (!entry.resolve) return;
            if (error) entry.reject(error);
            else entry.resolve(result);
        }

        // The socket closed: what was awaited on it will not come.
        _lost(ws) {
            var self = this;
            if (this._replay && this._replay.entry) this._settle(this._replay.entry, new LhttpError("lhttp: connection closed during the history reply"));
            this._replay = null;
            this._expect = this._expect.filter(function (e) {
                if (e.ws !== ws) return true;
                self._settle(e, new LhttpError("lhttp: connection closed before the " + e.kind + " reply"));
                return false;
            });
        }

        // Takes the awaited request that a `kind` reply for `channel` answers; requests before it
        // got no reply of their own (refused in a way not recognised as theirs).
        _takeExpected(kind, channel) {
            for (var i = 0; i < this._expect.length; i++) {
                var e = this._expect[i];
                if (e.kind !== kind || e.channel !== channel) continue;
                var skipped = this._expect.splice(0, i + 1);
                for (var k = 0; k < i; k++) this._settle(skipped[k], new LhttpError("lhttp: " + skipped[k].kind + ": no reply"));
                return e;
            }
            return null;
        }

        // Whether an error reply answers the oldest awaited request: history, recover and
        // presence errors name their header or the channel (PROTOCOL.md, History channels and
        // Presence channels: Errors). A reason naming another header is another message's.
        _errorAnswers(entry, reason, code) {
            // 429 for presence is a subscribe's (too many joins); a read is never refused so.
            if (code === 429 && (entry.kind === HEADER_PRESENCE || entry.kind === HEADER_PRESENCE_STATS)) return false;
            var named = /^([a-z][a-z-]*):/.exec(reason);
            if (named) {
                var own = [entry.kind];
                if (entry.kind === HEADER_PRESENCE || entry.kind === HEADER_PRESENCE_STATS) own = [HEADER_PRESENCE, HEADER_PRESENCE_STATS];
                // A recover message may carry presence headers too: their refusals are its answer.
                if (entry.kind === HEADER_RECOVER && entry.presence) own = own.concat([HEADER_PRESENCE, HEADER_PRESENCE_INFO, HEADER_JOINS, HEADER_JOINS_SELF]);
                return own.indexOf(named[1]) >= 0;
            }
            if (entry.kind === HEADER_HISTORY || entry.kind === HEADER_RECOVER) {
                if (reason.indexOf("history unavailable") === 0) return true;
                if (entry.kind === HEADER_RECOVER && reason.indexOf("channel limit") === 0) return true;
            }
            return reason.indexOf("'" + entry.channel + "'") >= 0;
        }

        _retryRecover(entry, attempt) {
            var self = this;
            var ws = this.conn;
            var base = Math.min(this.options.maxReconnectDelay, this.options.reconnectDelay * Math.pow(2, attempt - 1));
            setTimeout(function () {
                // Closed meanwhile: the reconnect recovers the channel (or close() ended it all).
                if (self.conn !== ws || !self.isOpen() || !self._channels.has(entry.channel)) return;
                var p = self._positions.get(entry.channel);
                var m = new Message(entry.command, [[HEADER_SUBSCRIBE, entry.channel],
                    [HEADER_RECOVER, entry.channel + (p ? " " + p.offset + " " + p.epoch : "")]]
                    .concat(self._presenceHeaders(entry.channel)), "");
                var again = self._recoverExpectation(m);
                again.attempt = attempt;
                self._sent(ws, m.encode(), again);
            }, Math.round(base * (0.8 + 0.4 * Math.random())));
        }

        // Remembers a delivery's position; false for a copy already handed over (same epoch,
        // offset not beyond the last one).
        _advance(m) {
            var p = deliveryPosition(m);
            if (!p) return true;
            var last = this._positions.get(p.channel);
            if (last && last.epoch === p.epoch && compareOffsets(p.offset, last.offset) <= 0) return false;
            this._positions.set(p.channel, { offset: p.offset, epoch: p.epoch });
            return true;
        }

        // A history read's position: the newest message read, else the channel's current one;
        // never backwards within an epoch.
        _advanceTo(channel, p) {
            var last = this._positions.get(channel);
            if (last && last.epoch === p.epoch && compareOffsets(p.offset, last.offset) <= 0) return;
            this._positions.set(channel, { offset: p.offset, epoch: p.epoch });
        }

        // `recovered:<channel> <true|false> <count> <offset> <epoch>`,
        // `history:<channel> <count> <offset> <epoch>`, `presence:<channel> <total> <listed>` or
        // `presence-stats:<channel> <connections> <users>[ <user connections>]` (a reply: no
        // `publish` header).
        _reply(m) {
            if (m.hasHeader(HEADER_PUBLISH)) return false;
            var value = m.getHeader(HEADER_RECOVERED);
            var f;
            if (value === null && (m.hasHeader(HEADER_PRESENCE) || m.hasHeader(HEADER_PRESENCE_STATS))) return this._presenceReply(m);
            if (value !== null) {
                f = fields(value);
                if (f.length !== 5 || (f[1] !== "true" && f[1] !== "false") || !/^[0-9]{1,9}$/.test(f[2]) ||
                    !OFFSET_RE.test(f[3]) || !EPOCH_RE.test(f[4])) return false;
                this._takeExpected(HEADER_RECOVER, f[0]);
                var info = { channel: f[0], recovered: f[1] === "true", count: Number(f[2]), offset: f[3], epoch: f[4] };
                if (!info.recovered) this._positions.set(info.channel, { offset: info.offset, epoch: info.epoch });
                this._replay = { kind: HEADER_RECOVER, remaining: info.count, info: info, message: m, entry: null };
            } else if ((value = m.getHeader(HEADER_HISTORY)) !== null) {
                f = fields(value);
                if (f.length !== 4 || !/^[0-9]{1,9}$/.test(f[1]) || !OFFSET_RE.test(f[2]) || !EPOCH_RE.test(f[3])) return false;
                var read = this._takeExpected(HEADER_HISTORY, f[0]);
                var top = { offset: f[2], epoch: f[3] };
                if (read) {
                    this._replay = { kind: HEADER_HISTORY, remaining: Number(f[1]), channel: f[0], top: top, items: [], entry: read };
                } else {
                    // Not ours (sent by hand): the reply and its messages go to on_message as they are.
                    this._call("on_message", new Context(this, m));
                    this._replay = { kind: "pass", remaining: Number(f[1]) };
                }
            } else {
                return false;
            }
            if (this._replay.remaining === 0) this._replayDone();
            return true;
        }

        // A presence or presence-stats reply: settles the presence()/presenceStats() call it
        // answers; one sent by hand goes to on_message as it is.
        _presenceReply(m) {
            var kind = m.hasHeader(HEADER_PRESENCE) ? HEADER_PRESENCE : HEADER_PRESENCE_STATS;
            var f = fields(m.getHeader(kind));
            var counts = f.slice(1);
            var ok = counts.every(function (n) { return COUNT_RE.test(n); }) &&
                (kind === HEADER_PRESENCE ? counts.length === 2 : counts.length === 2 || counts.length === 3);
            if (!ok) return false;
            var entry = this._takeExpected(kind, f[0]);
            if (!entry) {
                this._call("on_message", new Context(this, m));
                return true;
            }
            if (kind === HEADER_PRESENCE_STATS) {
                var stats = { channel: f[0], connections: Number(f[1]), users: Number(f[2]) };
                if (f.length === 4) stats.userConnections = Number(f[3]);
                this._settle(entry, null, stats);
                return true;
            }
            var entries;
            try {
                entries = presenceEntries(m.body);
            } catch (e) {
                this._settle(entry, e);
                return true;
            }
            this._settle(entry, null, { channel: f[0], total: Number(f[1]), listed: Number(f[2]), entries: entries });
            return true;
        }

        // One of the messages a reply announced.
        _replayed(m) {
            var r = this._replay;
            r.remaining--;
            if (r.kind === HEADER_HISTORY) {
                if (m) r.items.push(new Context(this, m));
            } else if (m && (r.kind === "pass" || this._advance(m))) {
                var c = new Context(this, m);
                if (r.kind === HEADER_RECOVER) c.replayed = true;
                this._call("on_message", c);
            }
            if (this._replay === r && r.remaining <= 0) this._replayDone();
        }

        _replayDone() {
            var r = this._replay;
            this._replay = null;
            if (r.kind === HEADER_RECOVER) {
                this._positions.set(r.info.channel, { offset: r.info.offset, epoch: r.info.epoch });
                var c = new Context(this, r.message);
                c.recovery = r.info;
                this._call("on_recovery", c);
            } else if (r.kind === HEADER_HISTORY) {
                var newest = r.items.length ? deliveryPosition(r.items[r.items.length - 1].req) : null;
                this._advanceTo(r.channel, newest && newest.channel === r.channel ? newest : r.top);
                r.items.channel = r.channel;
                r.items.position = { offset: r.top.offset, epoch: r.top.epoch };
                this._settle(r.entry, null, r.items);
            }
        }

        // An error reply to an awaited request: the history() call rejects; a refused recover
        // subscribes plainly and reports an incomplete recovery.
        _requestError(m, code) {
            var entry = this._expect[0];
            var reason = m.getHeader("reason") || "";
            if (!entry || !this._errorAnswers(entry, reason, code)) return false;
            this._expect.shift();
            var error = { type: "reply", code: code, reason: reason };
            if (entry.resolve) {
                var e = new LhttpError("lhttp: " + entry.kind + ": " + (code || "") + " " + reason);
                e.code = code;
                e.reason = reason;
                this._settle(entry, e);
                return true;
            }
            // 503: the server cannot serve history yet (clustered, its store not loaded); 429:
            // more presence joins than it allows. It applied nothing: ask again, with backoff,
            // a few times.
            var attempt = (entry.attempt || 0) + 1;
            if ((code === 503 || code === 429) && attempt <= RECOVER_RETRIES && this._channels.has(entry.channel) && this.isOpen()) {
                this._retryRecover(entry, attempt);
                return true;
            }
            // Nothing of a refused message is applied, except for a position ahead of the
            // stream: subscribing again (idempotent) without recover keeps the channel either
            // way — with its presence headers, unless they were what was refused. 403 would be
            // refused again.
            this._positions.delete(entry.channel);
            if (code !== 403 && this._channels.has(entry.channel) && this.isOpen()) {
                var presenceRefused = /^(presence|presence-info|joins|joins-self):/.test(reason);
                var again = [[HEADER_SUBSCRIBE, entry.channel]].concat(presenceRefused ? [] : this._presenceHeaders(entry.channel));
                this.conn.send(new Message(entry.command, again, "").encode());
            }
            var c = new Context(this, m);
            c.error = error;
            c.recovery = { channel: entry.channel, recovered: false, count: 0, offset: null, epoch: null, error: error };
            this._call("on_recovery", c);
            return true;
        }

        _receive(data) {
            var text = typeof data === "string" ? data
                : decoder ? decoder.decode(data instanceof ArrayBuffer ? new Uint8Array(data) : data) : String(data);
            var m;
            try {
                m = Message.parse(text);
            } catch (e) {
                if (this._replay) this._replayed(null);
                var pc = new Context(this, null);
                pc.raw = text;
                pc.error = { type: "parse", code: null, reason: e.message };
                this._call("on_error", pc);
                return;
            }
            if (this._replay) return this._replayed(m);
            var c = new Context(this, m);
            if (Lhttp.isErrorReply(m)) {
                var code = parseInt(m.getHeader("code"), 10);
                if (this._requestError(m, isNaN(code) ? null : code)) return;
                c.error = { type: "reply", code: isNaN(code) ? null : code, reason: m.getHeader("reason") || "" };
                this._call("on_error", c);
                return;
            }
            var event = presenceEvent(m);
            if (event) {
                this._call("on_" + event.type, event);
                return;
            }
            if (this._reply(m)) return;
            if (!this._advance(m)) return; // a copy already handed over (history channels)
            this._call("on_message", c);
        }

        _error(error) {
            var c = new Context(this, null);
            c.error = error;
            this._call("on_error", c);
        }

        // Calls the on_<event> callback, then the listeners added with on().
        _call(name, arg) {
            var listeners = this._listeners.get(name.slice(3));
            var fns = [this[name]].concat(listeners ? listeners.slice() : []);
            for (var i = 0; i < fns.length; i++) {
                if (typeof fns[i] !== "function") continue;
                try {
                    fns[i].call(this, arg);
                } catch (e) {
                    // A throwing callback must not break the connection's event handling.
                    setTimeout(function () { throw e; }, 0);
                }
            }
        }

        /**
         * True for a server error reply: `LHTTP/1.0 error` with a `code` header and no
         * `publish` header (a message that users publish with command `error` is not one).
         */
        static isErrorReply(message) {
            return message.command === "error" && message.hasHeader("code") && !message.hasHeader(HEADER_PUBLISH);
        }
    }

    Lhttp.Message = Message;
    Lhttp.Context = Context;
    Lhttp.LhttpError = LhttpError;
    Lhttp.Lhttp = Lhttp;
    Lhttp.PROTOCOL = PROTOCOL;
    Lhttp.version = "1.2.0"; // 1.1: history channels (recover, on_recovery, history, position);
                             // 1.2: presence channels (subscribe options, presence, presenceStats,
                             // on_join/on_leave), on()/off()
    Lhttp.sdk = "lhttp-qt";
    return Lhttp;
});

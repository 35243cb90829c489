/*
 * lhttp.js — browser SDK for LHTTP/1.0 (lhttp-qt).  SPDX-License-Identifier: MIT
 *
 * Keeps the API of the original lhttp JavaScript SDK (new Lhttp(url), on_open/on_message/
 * on_close/on_error, a context with getCommand/getHeader/getBody/setCommand/addHeader/send/
 * publish/subscribe) so existing pages keep working, and fixes its bugs: getHeader(name)
 * returns that header's value, header values may contain ':', bodies may contain blank lines,
 * and headers no longer pile up from one send to the next. Adds unsubscribe, upstream,
 * multipart, automatic reconnection with backoff that re-subscribes, and error replies.
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

        _send(body, fallbackCommand) {
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
                this.client._transmit(text);
                return text;
            } finally {
                this._reset();
            }
        }

        _withHeader(name, value, command, headers, body) {
            try {
                var extra = headerPairs(headers);
                if (command !== undefined && command !== null && command !== "") this.setCommand(command);
                this.addHeader(name, value);
                for (var i = 0; i < extra.length; i++) this.addHeader(String(extra[i][0]), extra[i][1]);
            } catch (e) {
                this._reset(); // nothing of a failed call carries over to the next message
                throw e;
            }
            return this._send(body, name);
        }

        /** Publishes `body` to channel(s) ("a b", or ["a", "b"]). */
        publish(channel, command, headers, body) {
            try {
                var channels = channelList(channel);
            } catch (e) { this._reset(); throw e; }
            return this._withHeader(HEADER_PUBLISH, channels.join(" "), command, headers, body);
        }

        /** Subscribes to channel(s); the client re-subscribes them after a reconnect. */
        subscribe(channel, command, headers, body) {
            try {
                var channels = channelList(channel);
            } catch (e) { this._reset(); throw e; }
            var resolved = command || this._command || this.req.command || HEADER_SUBSCRIBE;
            var text = this._withHeader(HEADER_SUBSCRIBE, channels.join(" "), command, headers, body);
            this.client._remember(channels, resolved);
            return text;
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
     *              queueLimit: 256, protocols: undefined, WebSocket: globalThis.WebSocket }
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
                protocols: options.protocols,
                WebSocket: options.WebSocket || (typeof WebSocket !== "undefined" ? WebSocket : null),
            };
            if (!this.options.WebSocket) fail("no WebSocket implementation available");

            // The original SDK's callbacks; replace them.
            this.on_open = noop;
            this.on_message = noop;
            this.on_close = noop;
            this.on_error = noop;

            this.conn = null;            // the current WebSocket
            this.connectCount = 0;       // successful opens so far (> 1 after a reconnect)
            this._channels = new Map();  // channel -> command used to subscribe
            this._queue = [];            // text sent while not connected
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
        subscribe(channel, command, headers, body) { return new Context(this, null).subscribe(channel, command, headers, body); }
        unsubscribe(channel, command, headers, body) { return new Context(this, null).unsubscribe(channel, command, headers, body); }
        upstream(method, url, command, headers, body) { return new Context(this, null).upstream(method, url, command, headers, body); }

        /** Channels currently subscribed (re-subscribed after a reconnect). */
        channels() { return Array.from(this._channels.keys()); }

        isOpen() { return !!this.conn && this.conn.readyState === 1; }

        /** Closes the connection for good: no reconnection, queued messages are dropped. */
        close(code, reason) {
            this._closed = true;
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
                queued.forEach(function (text) { ws.send(text); });
                self._call("on_open", new Context(self, null));
            };
            ws.onmessage = function (evt) { if (self.conn === ws) self._receive(evt.data); };
            ws.onerror = function () {
                if (self.conn === ws) self._error({ type: "socket", code: null, reason: "WebSocket error" });
            };
            ws.onclose = function (evt) {
                if (self.conn !== ws) return;
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
            // One subscribe message per command the channels were subscribed with.
            var byCommand = new Map();
            this._channels.forEach(function (command, channel) {
                if (!byCommand.has(command)) byCommand.set(command, []);
                byCommand.get(command).push(channel);
            });
            var ws = this.conn;
            byCommand.forEach(function (channels, command) {
                ws.send(new Message(command, [[HEADER_SUBSCRIBE, channels.join(" ")]], "").encode());
            });
        }

        _remember(channels, command) {
            var self = this;
            channels.forEach(function (c) { self._channels.set(c, command); });
        }

        _forget(channels) {
            var self = this;
            channels.forEach(function (c) { self._channels.delete(c); });
        }

        _transmit(text) {
            if (this._closed) fail("client closed");
            if (this.isOpen()) {
                this.conn.send(text);
                return;
            }
            if (this._queue.length >= this.options.queueLimit) fail("not connected and the send queue is full");
            this._queue.push(text);
        }

        _receive(data) {
            var text = typeof data === "string" ? data
                : decoder ? decoder.decode(data instanceof ArrayBuffer ? new Uint8Array(data) : data) : String(data);
            var m;
            try {
                m = Message.parse(text);
            } catch (e) {
                var pc = new Context(this, null);
                pc.raw = text;
                pc.error = { type: "parse", code: null, reason: e.message };
                this._call("on_error", pc);
                return;
            }
            var c = new Context(this, m);
            if (Lhttp.isErrorReply(m)) {
                var code = parseInt(m.getHeader("code"), 10);
                c.error = { type: "reply", code: isNaN(code) ? null : code, reason: m.getHeader("reason") || "" };
                this._call("on_error", c);
                return;
            }
            this._call("on_message", c);
        }

        _error(error) {
            var c = new Context(this, null);
            c.error = error;
            this._call("on_error", c);
        }

        _call(name, context) {
            var fn = this[name];
            if (typeof fn !== "function") return;
            try {
                fn.call(this, context);
            } catch (e) {
                // A throwing callback must not break the connection's event handling.
                setTimeout(function () { throw e; }, 0);
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
    Lhttp.version = "1.0.0";
    Lhttp.sdk = "lhttp-qt";
    return Lhttp;
});

// Helpers for sdk.test.js: every callback of a client is logged in client.log, and the
// contexts are kept so a test can call their methods afterwards.
"use strict";

window.clients = {};

window.snapshot = function (c) {
    return {
        command: c.getCommand(),
        headers: c.getHeaders(),
        body: c.getBody(),
        error: c.error,
    };
};

window.record = function (name, client) {
    var log = { opens: 0, messages: [], closes: [], errors: [], joins: [], leaves: [] };
    client.log = log;
    client.on_open = function () { log.opens++; };
    client.on_message = function (c) {
        if (c.getCommand() === "sync") return window.synced(c.getBody());
        log.messages.push(c);
    };
    client.on_close = function (c) {
        log.closes.push({ code: c.getCloseCode(), wasOpen: c.wasOpen, willReconnect: c.willReconnect });
    };
    client.on_error = function (c) { log.errors.push(c); };
    client.on_join = function (e) { log.joins.push(e); };
    client.on_leave = function (e) { log.leaves.push(e); };
    window.clients[name] = client;
    return client;
};

// new Lhttp() without a URL connects back to the page's host and port.
window.openClient = function (name, url, options) {
    return window.record(name, new Lhttp(url, options));
};

// The messages a client received, as plain data.
window.received = function (name, command) {
    return window.clients[name].log.messages
        .filter(function (c) { return !command || c.getCommand() === command; })
        .map(window.snapshot);
};

window.errorsOf = function (name) {
    return window.clients[name].log.errors.map(window.snapshot);
};

// Resolves once everything the client sent before has been processed by the server: the
// server handles one connection's messages in order, and this message comes back to us
// (subscribe runs before publish). Sent with plain headers so that the client does not
// count the channel among its subscriptions.
var pendingSyncs = {};
var syncCounter = 0;
window.sync = function (name) {
    var token = name + "-" + (++syncCounter);
    var channel = "sync." + name;
    return new Promise(function (resolve) {
        pendingSyncs[token] = resolve;
        window.clients[name].send("sync", [["subscribe", channel], ["publish", channel]], token);
    });
};
window.synced = function (token) {
    var resolve = pendingSyncs[token];
    delete pendingSyncs[token];
    if (resolve) resolve(token);
};

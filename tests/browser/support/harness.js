// Test support: starts lhttpd-qt on a free loopback port and headless Chromium (Debian's
// /usr/bin/chromium through playwright-core, no browser download), and stops them again.
'use strict';

const { spawn } = require('node:child_process');
const { after } = require('node:test');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..', '..');
const WEB_DIR = path.join(REPO, 'resources', 'web');
const PAGES_DIR = path.join(__dirname, '..', 'pages');

// Flags from the issue; playwright adds a fresh temporary --user-data-dir of its own.
const CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-quic',
];

function lhttpdBinary() {
    const bin = process.env.LHTTPD_BIN;
    if (!bin) {
        throw new Error('LHTTPD_BIN is not set. Point it at the lhttpd-qt binary, e.g.\n' +
            '  LHTTPD_BIN=$PWD/build/default/app/lhttpd/lhttpd-qt npm test --prefix tests/browser\n' +
            '(ctest sets it for the "browser" test).');
    }
    try {
        fs.accessSync(bin, fs.constants.X_OK);
    } catch {
        throw new Error(`LHTTPD_BIN=${bin} is not an executable file: build the lhttpd-qt target first.`);
    }
    return bin;
}

const NO_PLAYWRIGHT = 'playwright-core is not installed: run `npm ci --no-audit --no-fund` in tests/browser.';

function loadPlaywright() {
    try {
        return require('playwright-core');
    } catch {
        throw new Error(NO_PLAYWRIGHT);
    }
}

function chromiumBinary() {
    const bin = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
    if (!fs.existsSync(bin))
        throw new Error(`${bin} not found: install Debian's browser with \`apt-get install chromium\` (or set CHROMIUM_BIN).`);
    return bin;
}

/** What the browser tests lack (playwright-core, Chromium), as messages; empty when nothing. */
function missingForBrowser() {
    const missing = [];
    try {
        require.resolve('playwright-core');
    } catch {
        missing.push(NO_PLAYWRIGHT);
    }
    try {
        chromiumBinary();
    } catch (e) {
        missing.push(e.message);
    }
    return missing;
}

async function launchBrowser() {
    const missing = missingForBrowser();
    if (missing.length)
        throw new Error(missing.join('\n'));
    const { chromium } = loadPlaywright();
    return chromium.launch({
        executablePath: chromiumBinary(),
        headless: true,
        args: CHROMIUM_ARGS,
        timeout: 30000,
    });
}

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

function canConnect(port) {
    return new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const running = new Set();
process.on('exit', () => {
    for (const child of running) {
        try { child.kill('SIGKILL'); } catch { /* already gone */ }
    }
});
// A server a failed hook left behind (it threw before handing it to its `after`) must not keep
// node, and so CTest, waiting until the timeout instead of reporting the failure: the children
// do not hold the event loop open (see Lhttpd), and what still runs when the file's tests are
// done is stopped here, or killed on exit.
const servers = new Set();
after(async () => {
    await Promise.allSettled([...servers].map((s) => s.stop()));
});

/**
 * A running lhttpd-qt. `extraArgs` are passed after --listen/--port; `port` reuses a port
 * (restart on the same port).
 */
class Lhttpd {
    constructor(child, port, args) {
        this.child = child;
        this.port = port;
        this.args = args;
        this.output = '';
        this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
            running.delete(child);
            resolve({ code, signal });
        }));
        const keep = (d) => { this.output = (this.output + d.toString()).slice(-20000); };
        child.stdout.on('data', keep);
        child.stderr.on('data', keep);
        // Waiting for the server is always waiting for something else too (a timer, a page, a
        // request), so the child alone need not keep node running.
        child.unref();
        child.stdout.unref();
        child.stderr.unref();
    }

    get httpUrl() { return `http://127.0.0.1:${this.port}`; }
    get wsUrl() { return `ws://127.0.0.1:${this.port}/`; }

    static async start(extraArgs = [], { port } = {}) {
        const bin = lhttpdBinary();
        let lastError;
        for (let attempt = 0; attempt < 5; attempt++) {
            const p = port || await freePort();
            const args = ['--listen', '127.0.0.1', '--port', String(p), '--log-level', 'warning', ...extraArgs];
            const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
            running.add(child);
            const server = new Lhttpd(child, p, extraArgs);
            servers.add(server);
            server.exited.then(() => servers.delete(server));
            let gone = null;
            server.exited.then((r) => { gone = r; });
            const deadline = Date.now() + 10000;
            while (Date.now() < deadline && !gone) {
                if (await canConnect(p)) return server;
                await sleep(50);
            }
            if (!gone) await server.stop();
            lastError = new Error(`lhttpd-qt did not start on port ${p} (${gone ? `exit ${gone.code}` : 'timeout'}):\n${server.output}`);
            if (!port) continue;
            // Same port requested (restart): the old socket may linger for a moment.
            await sleep(200);
        }
        throw lastError;
    }

    async stop() {
        if (this.child.exitCode !== null || this.child.signalCode !== null) return;
        this.child.kill('SIGTERM');
        const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
        await this.exited;
        clearTimeout(timer);
    }
}

/**
 * A TCP proxy on a free loopback port in front of `targetPort`, to cut a page's connection for
 * real: cut(ms) destroys every proxied connection (both sides) and refuses new ones for `ms`.
 */
class TcpProxy {
    constructor(server, targetPort) {
        this.server = server;
        this.targetPort = targetPort;
        this.sockets = new Set();
        this.refusing = false;
        this.accepted = 0;
        this.refused = 0;
    }

    static async start(targetPort) {
        const proxy = new TcpProxy(null, targetPort);
        proxy.server = net.createServer((client) => proxy._accept(client));
        await new Promise((resolve, reject) => {
            proxy.server.once('error', reject);
            proxy.server.listen(0, '127.0.0.1', resolve);
        });
        proxy.port = proxy.server.address().port;
        return proxy;
    }

    get httpUrl() { return `http://127.0.0.1:${this.port}`; }

    _accept(client) {
        if (this.refusing) {
            this.refused++;
            client.resetAndDestroy();
            return;
        }
        this.accepted++;
        const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
        const pair = [client, upstream];
        const done = () => pair.forEach((s) => { s.destroy(); this.sockets.delete(s); });
        for (const s of pair) {
            this.sockets.add(s);
            s.on('error', done);
            s.on('close', done);
        }
        client.pipe(upstream);
        upstream.pipe(client);
    }

    /** Drops every connection now and refuses new ones for `ms`; resolves when they are let in again. */
    async cut(ms) {
        this.refusing = true;
        for (const s of [...this.sockets]) s.destroy();
        await sleep(ms);
        this.refusing = false;
    }

    async close() {
        for (const s of [...this.sockets]) s.destroy();
        await new Promise((resolve) => this.server.close(() => resolve()));
    }
}

/** A temporary --static-dir with the SDK from resources/web and the test pages. */
function makeStaticDir() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhttp-browser-'));
    for (const f of ['lhttp.js', 'lhttp.mjs'])
        fs.copyFileSync(path.join(WEB_DIR, f), path.join(dir, f));
    for (const f of fs.readdirSync(PAGES_DIR))
        fs.copyFileSync(path.join(PAGES_DIR, f), path.join(dir, f));
    return dir;
}

/** Polls `fn` until it returns a truthy value. */
async function waitFor(fn, { timeout = 5000, interval = 25, what = 'condition' } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(interval);
    }
}

module.exports = { REPO, WEB_DIR, Lhttpd, TcpProxy, launchBrowser, makeStaticDir, waitFor, sleep, freePort };

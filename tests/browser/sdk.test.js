// The browser SDK (resources/web/lhttp.js) in headless Chromium against a real lhttpd-qt.
// lhttpd-qt serves a temporary --static-dir holding the SDK and pages/sdk.html, so the page and
// its WebSocket share one origin, as with the built-in demo.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const { Lhttpd, TcpProxy, launchBrowser, makeStaticDir, waitFor, sleep } = require('./support/harness');

let browser;
before(async () => { browser = await launchBrowser(); }, { timeout: 60000 });
after(async () => { if (browser) await browser.close(); });

describe('lhttp.js SDK in Chromium', { timeout: 90000 }, () => {
    let server, staticDir, backend, page;
    const upstreamRequests = [];

    before(async () => {
        // An HTTP backend for the upstream header.
        backend = http.createServer((req, res) => {
            let body = '';
            req.setEncoding('utf8');
            req.on('data', (d) => { body += d; });
            req.on('end', () => {
                upstreamRequests.push({ method: req.method, url: req.url, headers: req.headers, body });
                res.writeHead(200, { 'Content-Type': 'text/plain' });
                res.end(`stored:${body.length}`);
            });
        });
        await new Promise((r) => backend.listen(0, '127.0.0.1', r));
        const backendUrl = `http://127.0.0.1:${backend.address().port}/`;

        staticDir = makeStaticDir();
        server = await Lhttpd.start(['--static-dir', staticDir, '--upstream-allow', backendUrl]);
        server.backendUrl = backendUrl;
        // One page for the whole suite; every test makes fresh clients on it.
        page = await browser.newPage();
        page.pageErrors = [];
        page.on('pageerror', (e) => page.pageErrors.push(e));
        await page.goto(`${server.httpUrl}/sdk.html`);
        await page.waitForFunction(() => window.moduleLoaded === true);
    });

    after(async () => {
        if (page) await page.close();
        if (server) await server.stop();
        if (backend) backend.close();
        if (staticDir) fs.rmSync(staticDir, { recursive: true, force: true });
    });

    // The suite's page with fresh connected clients (by default a and b); the clients of the
    // previous test are closed.
    async function openPage(names = ['a', 'b']) {
        await page.evaluate((list) => {
            Object.values(window.clients).forEach((c) => c.close());
            window.clients = {};
            list.forEach((n) => window.openClient(n));
        }, names);
        await page.waitForFunction((list) => list.every((n) => window.clients[n].log.opens === 1), names);
        return page;
    }

    const received = (page, name, command) => page.evaluate(([n, c]) => window.received(n, c), [name, command]);
    const errorsOf = (page, name) => page.evaluate((n) => window.errorsOf(n), name);
    async function waitReceived(page, name, count, command) {
        await page.waitForFunction(([n, k, c]) => window.received(n, c).length >= k, [name, count, command],
            { timeout: 5000 });
        return received(page, name, command);
    }

    it('loads as a classic script and as an ES module', async () => {
        await openPage([]);
        const r = await page.evaluate(() => ({
            global: typeof Lhttp,
            // One class on the page although lhttp.js ran twice (classic, then as a module).
            same: window.moduleExports.DefaultLhttp === window.classicLhttp &&
                window.moduleExports.Lhttp === window.classicLhttp && Lhttp === window.classicLhttp,
            message: window.moduleExports.Message === Lhttp.Message,
            context: window.moduleExports.Context === Lhttp.Context,
            error: window.moduleExports.LhttpError === Lhttp.LhttpError,
            url: new Lhttp(undefined, { reconnect: false }).url,
        }));
        assert.deepEqual(r, { global: 'function', same: true, message: true, context: true, error: true,
            url: `ws://127.0.0.1:${server.port}/` });
    });

    it('works as an ES module alone', async () => {
        const other = await browser.newPage();
        await other.goto(`${server.httpUrl}/module.html`);
        await other.waitForFunction(() => window.moduleResult);
        assert.deepEqual(await other.evaluate(() => window.moduleResult),
            { command: 'chat', via: 'es:module', body: 'from a module', isMessage: true });
        await other.close();
    });

    it('keeps the original SDK usage working (context.subscribe in on_open, client.context.publish)', async () => {
        await openPage([]);
        // The original chat demo's code, nearly verbatim.
        await page.evaluate((url) => {
            window.got = [];
            const lhttp_client = new Lhttp(url);
            lhttp_client.on_message = function (context) {
                if (context.getBody() != '') window.got.push(context.getBody());
            };
            lhttp_client.on_open = function (context) {
                window.openConnState = context.conn === lhttp_client.conn && context.conn.readyState;
                context.subscribe('chatroom', 'chat', null, '');
                lhttp_client.context.publish('chatroom', 'chat', null, 'hello from the 2016 demo');
            };
        }, server.wsUrl);
        await page.waitForFunction(() => window.got.length === 1);
        assert.deepEqual(await page.evaluate(() => window.got), ['hello from the 2016 demo']);
        assert.equal(await page.evaluate(() => window.openConnState), 1); // context.conn: the open socket
    });

    it('publishes and receives header values with ":" and bodies with blank lines', async () => {
        await openPage();
        const body = 'first paragraph\r\n\r\nsecond: paragraph\r\n\r\n\r\nLHTTP/1.0 not-a-start-line\r\n';
        await page.evaluate(() => {
            clients.a.subscribe('sdk.pub', 'chat');
            clients.b.subscribe('sdk.pub', 'chat');
        });
        await page.evaluate(() => sync('a'));
        const sent = await page.evaluate((b) => {
            // Ordered headers given as an array of pairs; values with ':' and padding.
            return clients.b.publish('sdk.pub', 'chat', [
                ['url', 'http://example.com:8080/a?b=c:d'],
                ['time', '12:34:56'],
                ['padded', '  spaced value  '],
                ['empty', ''],
            ], b);
        }, body);
        assert.equal(sent, 'LHTTP/1.0 chat\r\npublish:sdk.pub\r\nurl:http://example.com:8080/a?b=c:d\r\n' +
            'time:12:34:56\r\npadded:  spaced value  \r\nempty:\r\n\r\n' + body);

        for (const name of ['a', 'b']) { // b gets its own message back: it is subscribed
            const [m] = await waitReceived(page, name, 1);
            assert.equal(m.command, 'chat');
            assert.deepEqual(m.headers, [['publish', 'sdk.pub'], ['url', 'http://example.com:8080/a?b=c:d'],
                ['time', '12:34:56'], ['padded', 'spaced value'], ['empty', '']]);
            assert.equal(m.body, body);
        }
        const lookups = await page.evaluate(() => {
            const c = clients.a.log.messages[0];
            return [c.getHeader('url'), c.getHeader('time'), c.getHeader('padded'), c.getHeader('empty'),
                c.getHeader('missing'), c.getHeader('URL'), c.getMessage().hasHeader('publish')];
        });
        assert.deepEqual(lookups, ['http://example.com:8080/a?b=c:d', '12:34:56', 'spaced value', '', null, null, true]);
        assert.deepEqual(page.pageErrors, []);
    });

    it('builds each message afresh: headers and command do not pile up across sends', async () => {
        await openPage();
        await page.evaluate(() => clients.b.subscribe('sdk.fresh sdk.other', 'watch'));
        await page.evaluate(() => sync('b'));
        await page.evaluate(() => {
            const ctx = clients.a.context; // the original SDK's long-lived context
            ctx.addHeader('x-one', 'first').addHeader('x-one', 'replaced:value');
            ctx.setCommand('cmd1');
            ctx.publish('sdk.fresh', undefined, { 'x-two': '2' }, 'one');
            ctx.publish('sdk.fresh', 'cmd2', null, 'two');
            ctx.subscribe('sdk.mine', 'sub');
            ctx.publish(['sdk.fresh', 'sdk.other'], 'cmd3', new Map([['x-three', '3']]), 'three');
        });
        const got = await waitReceived(page, 'b', 4);
        assert.deepEqual(got.map((m) => [m.command, m.headers, m.body]), [
            ['cmd1', [['x-one', 'replaced:value'], ['publish', 'sdk.fresh'], ['x-two', '2']], 'one'],
            ['cmd2', [['publish', 'sdk.fresh']], 'two'],
            ['cmd3', [['publish', 'sdk.fresh sdk.other'], ['x-three', '3']], 'three'],
            ['cmd3', [['publish', 'sdk.fresh sdk.other'], ['x-three', '3']], 'three'], // one copy per channel
        ]);
        assert.deepEqual(await page.evaluate(() => clients.a.channels()), ['sdk.mine']);
    });

    it('replies from on_message with the received command and only the headers it sets', async () => {
        await openPage();
        await page.evaluate(() => {
            clients.a.subscribe('sdk.ask.a', 'chat');
            clients.b.subscribe('sdk.ask.b', 'chat');
        });
        await page.evaluate(() => Promise.all([sync('a'), sync('b')]));
        await page.evaluate(() => {
            // b answers every question on the channel named in reply-to.
            clients.b.on_message = function (c) {
                clients.b.log.messages.push(c);
                if (c.getCommand() !== 'question') return;
                c.addHeader('answer-to', c.getHeader('id'));
                c.publish(c.getHeader('reply-to'), undefined, null, 'answer: ' + c.getBody());
            };
            clients.a.publish('sdk.ask.b', 'question', { id: 'q1', 'reply-to': 'sdk.ask.a' }, '6 x 7?');
        });
        const [answer] = await waitReceived(page, 'a', 1, 'question');
        assert.deepEqual(answer, { command: 'question', headers: [['answer-to', 'q1'], ['publish', 'sdk.ask.a']],
            body: 'answer: 6 x 7?', error: null });
    });

    it('sends with setCommand/addHeader/send and gets processor replies', async () => {
        await openPage(['a']);
        const r = await page.evaluate(() => {
            const ctx = clients.a.context;
            const text = ctx.setCommand('echo').addHeader('note', 'a:b').send('ping\r\n\r\npong');
            let noCommand = null;
            try { ctx.send('no command'); } catch (e) { noCommand = e.name + ': ' + e.message; }
            let badHeader = null;
            try { ctx.addHeader('bad:name', 'v'); } catch (e) { badHeader = e.name; }
            let badValue = null;
            try { ctx.addHeader('name', 'line\r\nbreak'); } catch (e) { badValue = e.name; }
            let badCommand = null;
            try { ctx.setCommand('two words'); } catch (e) { badCommand = e.name; }
            clients.a.send('echo', { n: '2' }, 'second');
            return { text, noCommand, badHeader, badValue, badCommand };
        });
        assert.equal(r.text, 'LHTTP/1.0 echo\r\nnote:a:b\r\n\r\nping\r\n\r\npong');
        assert.match(r.noCommand, /^LhttpError: .*no command/);
        assert.deepEqual([r.badHeader, r.badValue, r.badCommand], ['LhttpError', 'LhttpError', 'LhttpError']);
        const replies = await waitReceived(page, 'a', 2, 'echo');
        assert.deepEqual(replies.map((m) => [m.body, m.headers]), [
            ['ping\r\n\r\npong', [['echo-count', '1']]],
            ['second', [['echo-count', '2']]],
        ]);
    });

    it('unsubscribes', async () => {
        await openPage();
        await page.evaluate(() => {
            clients.a.subscribe('sdk.unsub', 'chat');
            clients.b.subscribe(['sdk.unsub'], 'chat');
        });
        // a's subscription is in place before b publishes: two connections, maybe two of the
        // server's event loops, are not ordered with each other.
        await page.evaluate(() => sync('a'));
        await page.evaluate(() => clients.b.publish('sdk.unsub', 'chat', null, 'before'));
        await waitReceived(page, 'b', 1);
        await page.evaluate(() => {
            clients.b.unsubscribe('sdk.unsub', 'chat');
            clients.b.unsubscribe('sdk.never-joined', 'chat'); // a no-op, no error
            clients.b.publish('sdk.unsub', 'chat', null, 'after');
        });
        const a = await waitReceived(page, 'a', 2);
        assert.deepEqual(a.map((m) => m.body), ['before', 'after']);
        await sleep(200);
        assert.deepEqual((await received(page, 'b')).map((m) => m.body), ['before']);
        assert.deepEqual(await page.evaluate(() => clients.b.channels()), []);
        assert.deepEqual(await errorsOf(page, 'b'), []);
    });

    it('reports error replies to on_error, not on_message', async () => {
        await openPage();
        await page.evaluate(() => {
            clients.a.subscribe('sdk..empty-token', 'chat'); // 400
            clients.a.subscribe('>', 'chat');                // 403: wildcards are refused
            clients.a.send('broken', [['x', 'v']], '');
            clients.a.conn.send('LHTTP/1.1 chat\r\n\r\n');   // 400: not LHTTP/1.0
            // A message that users publish with the command "error" is an ordinary message.
            clients.b.subscribe('sdk.err', 'chat');
            clients.b.publish('sdk.err', 'error', { code: '999' }, 'not a server error');
        });
        const errors = await page.waitForFunction(() => window.errorsOf('a').length >= 3 && window.errorsOf('a'))
            .then((h) => h.jsonValue());
        assert.deepEqual(errors.map((e) => [e.command, e.error.type, e.error.code]),
            [['error', 'reply', 400], ['error', 'reply', 403], ['error', 'reply', 400]]);
        for (const e of errors) {
            assert.ok(e.error.reason.length > 0);
            assert.deepEqual(e.headers.map((h) => h[0]), ['code', 'reason']);
        }
        const codeHeader = await page.evaluate(() => clients.a.log.errors[0].getHeader('code'));
        assert.equal(codeHeader, '400');
        const [userError] = await waitReceived(page, 'b', 1, 'error');
        assert.equal(userError.body, 'not a server error');
        assert.deepEqual(await received(page, 'a'), []);
        assert.deepEqual(await errorsOf(page, 'b'), []);
    });

    it('forwards to an allowed HTTP backend with upstream, and reports refused ones', async () => {
        await openPage(['a']);
        const before = upstreamRequests.length;
        await page.evaluate((url) => {
            clients.a.upstream('post', url + 'record?room=x', 'chat',
                { 'upstream-reply': 'true', 'x-trace': 'id:1' }, 'saved\r\n\r\nbody');
            clients.a.upstream('GET', 'http://192.0.2.1/not-allowed', 'chat', null, '');
        }, server.backendUrl);
        const [reply] = await waitReceived(page, 'a', 1, 'upstream-reply');
        assert.equal(reply.body, 'stored:13');
        assert.equal(reply.headers.find((h) => h[0] === 'status')[1], '200');
        const req = upstreamRequests[before];
        assert.equal(req.method, 'POST');
        assert.equal(req.url, '/record?room=x');
        assert.equal(req.body, 'saved\r\n\r\nbody');
        assert.equal(req.headers['x-trace'], 'id:1');
        const errors = await page.waitForFunction(() => window.errorsOf('a').length >= 1 && window.errorsOf('a'))
            .then((h) => h.jsonValue());
        assert.equal(errors[0].error.code, 403);
        assert.match(errors[0].error.reason, /allow/);
    });

    it('sends and reads multipart messages (byte offsets over UTF-8)', async () => {
        await openPage();
        await page.evaluate(() => {
            clients.b.subscribe('sdk.upload', 'files'); // not 'upload': lhttpd-qt has a processor for it
            return sync('b');
        });
        const parts = await page.evaluate(() => {
            const ctx = clients.a.context;
            ctx.appendPart({ 'content-type': 'text/json' }, '{"filename":"ünï.txt"}')
               .appendPart(null, 'no headers')
               .appendPart([['content-type', 'text/plain'], ['note', 'a:b']], 'héllo\r\n\r\nwörld');
            const text = ctx.publish('sdk.upload', 'files', null, '');
            return { text, pending: ctx._parts.length };
        });
        assert.equal(parts.pending, 0);
        assert.match(parts.text, /\r\nmultipart:0 \d+ \d+\r\n/);
        const [m] = await waitReceived(page, 'b', 1, 'files');
        assert.deepEqual(await errorsOf(page, 'a'), []); // the server's multipart parser agreed
        assert.ok(m.body.startsWith('content-type:text/json\r\n\r\n{"filename"'), JSON.stringify(m));
        const got = await page.evaluate(() => clients.b.log.messages[0].getMultipart()
            .map((p) => [p.getHeaders(), p.body]));
        assert.deepEqual(got, [
            [[['content-type', 'text/json']], '{"filename":"ünï.txt"}'],
            [[], 'no headers'],
            [[['content-type', 'text/plain'], ['note', 'a:b']], 'héllo\r\n\r\nwörld'],
        ]);
    });

    it('queues while connecting and validates channels', async () => {
        await openPage([]);
        const r = await page.evaluate(() => {
            const c = window.openClient('early');
            const state = c.conn.readyState; // 0: still connecting
            c.subscribe('sdk.early', 'chat');
            c.publish('sdk.early', 'chat', null, 'queued before open');
            let empty = null;
            try { c.publish('  ', 'chat', null, 'x'); } catch (e) { empty = e.message; }
            return { state, empty };
        });
        assert.equal(r.state, 0);
        assert.match(r.empty, /no channel/);
        const [m] = await waitReceived(page, 'early', 1);
        assert.equal(m.body, 'queued before open');
    });

    it('closes for good with close()', async () => {
        await openPage(['a']);
        const r = await page.evaluate(async () => {
            clients.a.close();
            await new Promise((res) => setTimeout(res, 300));
            let thrown = null;
            try { clients.a.publish('x', 'chat', null, 'y'); } catch (e) { thrown = e.message; }
            return { closes: clients.a.log.closes, open: clients.a.isOpen(), thrown };
        });
        assert.deepEqual(r.closes, [{ code: 1000, wasOpen: true, willReconnect: false }]);
        assert.equal(r.open, false);
        assert.match(r.thrown, /closed/);
    });
});

describe('lhttp.js reconnects', { timeout: 60000 }, () => {
    let server, staticDir;

    before(async () => {
        staticDir = makeStaticDir();
        server = await Lhttpd.start(['--static-dir', staticDir]);
    });

    after(async () => {
        if (server) await server.stop();
        if (staticDir) fs.rmSync(staticDir, { recursive: true, force: true });
    });

    it('reconnects with backoff after a server restart and re-subscribes its channels', async () => {
        const page = await browser.newPage();
        await page.goto(`${server.httpUrl}/sdk.html`);
        await page.evaluate(() => {
            const c = window.openClient('r', undefined, { reconnectDelay: 100, maxReconnectDelay: 400 });
            c.subscribe('sdk.re.one sdk.re.two', 'chat');
            c.subscribe('sdk.re.three', 'other');
            c.unsubscribe('sdk.re.two', 'chat');
        });
        await page.waitForFunction(() => clients.r.log.opens === 1);

        const port = server.port;
        await server.stop();
        await page.waitForFunction(() => clients.r.log.closes.length >= 1);
        // Sent while the server is down: queued, delivered after the reconnect.
        await page.evaluate(() => clients.r.publish('sdk.re.one', 'chat', null, 'sent while offline'));
        await sleep(300); // let a reconnect attempt or two fail
        server = await Lhttpd.start(['--static-dir', staticDir], { port });
        await page.waitForFunction(() => clients.r.log.opens === 2, null, { timeout: 10000 });
        await page.evaluate(() => sync('r'));

        const closes = await page.evaluate(() => clients.r.log.closes);
        assert.equal(closes[0].wasOpen, true);
        assert.equal(closes[0].willReconnect, true);
        assert.deepEqual(await page.evaluate(() => clients.r.channels().sort()), ['sdk.re.one', 'sdk.re.three']);

        // A publisher that is not the page: the HTTP API.
        for (const ch of ['sdk.re.one', 'sdk.re.two', 'sdk.re.three']) {
            const res = await fetch(`${server.httpUrl}/publish`, {
                method: 'POST', body: `LHTTP/1.0 news\r\npublish:${ch}\r\n\r\nafter restart on ${ch}`,
            });
            assert.equal(res.status, 200);
        }
        const got = await waitReceived(page, 'r', 3);
        assert.deepEqual(got.map((m) => m.body).sort(),
            ['after restart on sdk.re.one', 'after restart on sdk.re.three', 'sent while offline']);
        await sleep(200);
        assert.equal((await received(page, 'r')).length, 3); // nothing from sdk.re.two
        await page.evaluate(() => clients.r.close());
        await page.close();
    });

    async function waitReceived(page, name, count) {
        await page.waitForFunction(([n, k]) => window.received(n).length >= k, [name, count], { timeout: 5000 });
        return page.evaluate((n) => window.received(n), name);
    }
    const received = (page, name) => page.evaluate((n) => window.received(n), name);
});

describe('lhttp.js on history channels', { timeout: 90000 }, () => {
    let server, staticDir, proxy, page;
    const HISTORY = ['--history', 'sdk.h.*=5', '--history-read-max', '100'];

    before(async () => {
        staticDir = makeStaticDir();
        server = await Lhttpd.start(['--static-dir', staticDir, ...HISTORY]);
        proxy = await TcpProxy.start(server.port);
        page = await browser.newPage();
        await page.goto(`${server.httpUrl}/sdk.html`);
    });

    after(async () => {
        if (page) await page.close();
        if (proxy) await proxy.close();
        if (server) await server.stop();
        if (staticDir) fs.rmSync(staticDir, { recursive: true, force: true });
    });

    async function post(channel, body) {
        const res = await fetch(`${server.httpUrl}/publish`, {
            method: 'POST', body: `LHTTP/1.0 news\r\npublish:${channel}\r\n\r\n${body}`,
        });
        assert.equal(res.status, 200);
    }

    // A client whose on_recovery is logged too.
    const openHistoryClient = (name, url, options) => page.evaluate(([n, u, o]) => {
        const c = window.openClient(n, u, o);
        c.log.recoveries = [];
        c.on_recovery = (ctx) => c.log.recoveries.push(ctx.recovery);
    }, [name, url, options]);
    const bodies = (name) => page.evaluate((n) => window.received(n).map((m) => m.body), name);
    // Error replies and unparsable messages (the refused reconnects of a cut are socket errors).
    const errorsOf = (name) => page.evaluate((n) => window.errorsOf(n).filter((e) => e.error.type !== 'socket'), name);

    it('reads history, and rejects what the server refuses', async () => {
        for (let i = 1; i <= 7; i++) await post('sdk.h.read', `m${i}`);
        await openHistoryClient('h');
        const r = await page.evaluate(async () => {
            const last = await clients.h.history('sdk.h.read', 3);
            const all = await clients.h.history('sdk.h.read', 100);
            const after = await clients.h.history('sdk.h.read', 2, last[0].getPosition());
            const refusals = [];
            for (const args of [['sdk.plain', 3], ['sdk.h.read', 101], ['sdk.h.read', 2, { offset: 1, epoch: 'old' }]]) {
                try { await clients.h.history(...args); refusals.push('resolved'); } catch (e) { refusals.push([e.name, e.code]); }
            }
            return {
                last: last.map((c) => c.getBody()), lastPos: last.position, channel: last.channel,
                offsets: last.map((c) => c.getPosition().offset),
                all: all.map((c) => c.getBody()),
                after: after.map((c) => c.getBody()),
                known: clients.h.position('sdk.h.read'),
                refusals,
            };
        });
        assert.deepEqual(r.last, ['m5', 'm6', 'm7']);
        assert.deepEqual(r.offsets, ['5', '6', '7']);
        assert.equal(r.channel, 'sdk.h.read');
        assert.equal(r.lastPos.offset, '7');
        assert.match(r.lastPos.epoch, /^[A-Za-z0-9]{1,32}$/);
        assert.deepEqual(r.all, ['m3', 'm4', 'm5', 'm6', 'm7']); // the channel keeps 5
        assert.deepEqual(r.after, ['m6', 'm7']);
        assert.deepEqual(r.known, r.lastPos);
        assert.deepEqual(r.refusals, [['LhttpError', 404], ['LhttpError', 400], ['LhttpError', 410]]);
        assert.deepEqual(await bodies('h'), []); // read, not delivered
        assert.deepEqual(await errorsOf('h'), []);
    });

    it('recovers what was missed while the connection was cut, exactly once', async () => {
        const wsUrl = `ws://127.0.0.1:${proxy.port}/`;
        await openHistoryClient('r', wsUrl, { reconnectDelay: 200, maxReconnectDelay: 400 });
        await page.evaluate(() => {
            clients.r.recover('sdk.h.cut', 'news'); // no position yet: the server tells it
            clients.r.subscribe('sdk.plain.cut', 'news');
        });
        await page.waitForFunction(() => clients.r.log.recoveries.length === 1);
        const first = await page.evaluate(() => clients.r.log.recoveries[0]);
        assert.equal(first.recovered, true);
        assert.equal(first.count, 0);
        await post('sdk.h.cut', 'before');
        await page.waitForFunction(() => window.received('r').length === 1);

        const cut = proxy.cut(1500);
        await page.waitForFunction(() => clients.r.log.closes.length === 1);
        for (const b of ['missed 1', 'missed 2', 'missed 3']) await post('sdk.h.cut', b);
        await post('sdk.plain.cut', 'plain while away (lost: no history)');
        await cut;
        await page.waitForFunction(() => clients.r.log.recoveries.length === 2, null, { timeout: 10000 });
        await post('sdk.h.cut', 'after');
        await post('sdk.plain.cut', 'plain after');
        await page.waitForFunction(() => window.received('r').length >= 6);
        await sleep(200);
        assert.deepEqual(await bodies('r'), ['before', 'missed 1', 'missed 2', 'missed 3', 'after', 'plain after']);
        const r = await page.evaluate(() => ({
            recovery: clients.r.log.recoveries[1],
            replayed: clients.r.log.messages.map((c) => !!c.replayed),
            position: clients.r.position('sdk.h.cut'),
            plain: clients.r.position('sdk.plain.cut'),
        }));
        assert.deepEqual(r.recovery, { channel: 'sdk.h.cut', recovered: true, count: 3, offset: '4', epoch: first.epoch });
        assert.deepEqual(r.replayed, [false, true, true, true, false, false]);
        assert.deepEqual(r.position, { offset: '5', epoch: first.epoch });
        assert.equal(r.plain, null);
        assert.deepEqual(await errorsOf('r'), []);
    });

    it('reports an incomplete recovery after a server restart (new epoch)', async () => {
        await openHistoryClient('s', undefined, { reconnectDelay: 100, maxReconnectDelay: 400 });
        await page.evaluate(() => clients.s.recover('sdk.h.restart', 'news'));
        await page.waitForFunction(() => clients.s.log.recoveries.length === 1);
        await post('sdk.h.restart', 'one');
        await page.waitForFunction(() => window.received('s').length === 1);
        const before = await page.evaluate(() => clients.s.position('sdk.h.restart'));

        const port = server.port;
        await server.stop();
        server = await Lhttpd.start(['--static-dir', staticDir, ...HISTORY], { port });
        await page.waitForFunction(() => clients.s.log.recoveries.length === 2, null, { timeout: 10000 });
        const r = await page.evaluate(() => clients.s.log.recoveries[1]);
        assert.equal(r.recovered, false);
        assert.equal(r.count, 0);
        assert.notEqual(r.epoch, before.epoch);
        await post('sdk.h.restart', 'two');
        await page.waitForFunction(() => window.received('s').length === 2);
        assert.deepEqual(await bodies('s'), ['one', 'two']);
        assert.equal(await page.evaluate(() => clients.s.position('sdk.h.restart').epoch), r.epoch);
        await page.evaluate(() => clients.s.close());
    });
});

// A connect token (PROTOCOL.md §7): an HS256 JWT.
function mintToken(secret, claims) {
    const crypto = require('node:crypto');
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}`;
    return `${head}.${crypto.createHmac('sha256', secret).update(head).digest('base64url')}`;
}

describe('lhttp.js on presence channels', { timeout: 90000 }, () => {
    let server, staticDir, proxy, page;
    const PRESENCE = ['--presence', 'sdk.p.*'];

    before(async () => {
        staticDir = makeStaticDir();
        server = await Lhttpd.start(['--static-dir', staticDir, ...PRESENCE]);
        proxy = await TcpProxy.start(server.port);
        page = await browser.newPage();
        page.pageErrors = [];
        page.on('pageerror', (e) => page.pageErrors.push(e));
        await page.goto(`${server.httpUrl}/sdk.html`);
    });

    after(async () => {
        if (page) await page.close();
        if (proxy) await proxy.close();
        if (server) await server.stop();
        if (staticDir) fs.rmSync(staticDir, { recursive: true, force: true });
    });

    // Fresh clients on the suite's page (the previous test's are closed).
    async function open(names, url, options) {
        await page.evaluate(([list, u, o]) => {
            Object.values(window.clients).forEach((c) => c.close());
            window.clients = {};
            list.forEach((n) => window.openClient(n, u, o));
        }, [names, url, options]);
        await page.waitForFunction((list) => list.every((n) => window.clients[n].log.opens === 1), names);
    }
    const logOf = (name, what) => page.evaluate(([n, w]) => window.clients[n].log[w], [name, what]);
    const waitLog = (name, what, count, timeout = 5000) => page.waitForFunction(
        ([n, w, k]) => window.clients[n].log[w].length >= k, [name, what, count], { timeout });
    const errorsOf = (name) => page.evaluate((n) => window.errorsOf(n).filter((e) => e.error.type !== 'socket'), name);
    // Polls presence() until it lists `count` entries (other connections' joins are not ordered
    // with this one's read).
    async function presenceWith(name, channel, count) {
        let last;
        await waitFor(async () => {
            last = await page.evaluate(([n, ch]) => clients[n].presence(ch), [name, channel]);
            return last.total === count;
        }, { what: `${count} entries in ${channel}` });
        return last;
    }

    it('reads the entries and counts of a channel; a read does not subscribe', async () => {
        await open(['a', 'b', 'reader']);
        await page.evaluate(() => {
            clients.a.subscribe('sdk.p.room', 'chat', null, '', { info: { name: 'Ann', lang: 'en' } });
            clients.b.subscribe('sdk.p.room sdk.p.other', 'chat', null, '', { info: 'plain: info' });
            return Promise.all([sync('a'), sync('b')]);
        });
        const list = await presenceWith('reader', 'sdk.p.room', 2);
        assert.equal(list.channel, 'sdk.p.room');
        assert.equal(list.listed, 2);
        const infos = list.entries.map((e) => e.info).sort();
        assert.deepEqual(infos, ['plain: info', '{"name":"Ann","lang":"en"}']);
        for (const e of list.entries) {
            assert.match(e.client, /^[0-9]+$/);
            assert.ok(e.node.length > 0, 'node name');
            assert.equal(e.user, ''); // no tokens
        }
        assert.notEqual(list.entries[0].client, list.entries[1].client);
        const r = await page.evaluate(async () => ({
            stats: await clients.reader.presenceStats('sdk.p.room'),
            user: await clients.reader.presenceStats('sdk.p.room', 'nobody'),
            other: await clients.reader.presence('sdk.p.other'),
            empty: await clients.reader.presence('sdk.p.empty'),
            emptyStats: await clients.reader.presenceStats('sdk.p.empty'),
        }));
        assert.deepEqual(r.stats, { channel: 'sdk.p.room', connections: 2, users: 2 });
        assert.deepEqual(r.user, { channel: 'sdk.p.room', connections: 2, users: 2, userConnections: 0 });
        assert.deepEqual(r.other.entries.map((e) => e.info), ['plain: info']);
        assert.deepEqual(r.empty, { channel: 'sdk.p.empty', total: 0, listed: 0, entries: [] });
        assert.deepEqual(r.emptyStats, { channel: 'sdk.p.empty', connections: 0, users: 0 });
        // The reader read, it did not join.
        assert.equal((await presenceWith('a', 'sdk.p.room', 2)).total, 2);
        assert.deepEqual(await page.evaluate(() => clients.reader.channels()), []);
        for (const n of ['a', 'b', 'reader']) assert.deepEqual(await errorsOf(n), []);
    });

    it('sends join and leave events to who asked, not to on_message, and not my own unless joinsSelf', async () => {
        await open(['w', 'self', 'quiet', 'b']);
        await page.evaluate(() => {
            clients.w.subscribe('sdk.p.ev', 'chat', null, '', { info: { name: 'W' }, joins: true });
            clients.self.subscribe('sdk.p.ev', 'chat', null, '', { info: { name: 'S' }, joinsSelf: true });
            clients.quiet.subscribe('sdk.p.ev', 'chat', null, '', { info: { name: 'Q' } });
            return Promise.all([sync('w'), sync('self'), sync('quiet')]);
        });
        // self gets its own join; w may or may not see self's and quiet's (other connections).
        await waitLog('self', 'joins', 1);
        const own = (await logOf('self', 'joins')).filter((e) => e.info === '{"name":"S"}');
        assert.equal(own.length, 1);
        await page.evaluate(() => { clients.b.subscribe('sdk.p.ev', 'chat', null, '', { info: { name: 'B' } }); return sync('b'); });
        await page.waitForFunction(() => ['w', 'self'].every((n) =>
            clients[n].log.joins.some((e) => e.info === '{"name":"B"}')));
        const list = await presenceWith('w', 'sdk.p.ev', 4);
        const bEntry = list.entries.find((e) => e.info === '{"name":"B"}');
        const bJoin = (await logOf('w', 'joins')).find((e) => e.info === '{"name":"B"}');
        assert.deepEqual(bJoin, { type: 'join', channel: 'sdk.p.ev', client: bEntry.client, node: bEntry.node, user: '', info: '{"name":"B"}' });
        const wEntry = list.entries.find((e) => e.info === '{"name":"W"}');
        assert.ok(!(await logOf('w', 'joins')).some((e) => e.client === wEntry.client && e.node === wEntry.node), 'no own join without joinsSelf');

        // b leaves by unsubscribing; then quiet's connection closes: both are leaves.
        await page.evaluate(() => clients.b.unsubscribe('sdk.p.ev', 'chat'));
        await page.waitForFunction(() => clients.w.log.leaves.some((e) => e.info === '{"name":"B"}'));
        await page.evaluate(() => clients.quiet.close());
        await page.waitForFunction(() => clients.w.log.leaves.some((e) => e.info === '{"name":"Q"}'));
        const leaves = await logOf('w', 'leaves');
        assert.deepEqual(leaves.find((e) => e.info === '{"name":"B"}'),
            { type: 'leave', channel: 'sdk.p.ev', client: bEntry.client, node: bEntry.node, user: '', info: '{"name":"B"}' });
        assert.equal((await presenceWith('w', 'sdk.p.ev', 2)).total, 2);
        // Never my own leave, even with joinsSelf (the others' it gets).
        await page.waitForFunction(() => ['{"name":"B"}', '{"name":"Q"}'].every((i) =>
            clients.self.log.leaves.some((e) => e.info === i)));
        await page.evaluate(() => { clients.self.unsubscribe('sdk.p.ev', 'chat'); return sync('self'); });
        await page.waitForFunction(() => clients.w.log.leaves.some((e) => e.info === '{"name":"S"}'));
        assert.ok(!(await logOf('self', 'leaves')).some((e) => e.info === '{"name":"S"}'));
        // on("join") listeners get them too; nothing reached on_message; quiet and b got no events.
        assert.deepEqual(await page.evaluate(() => window.received('w')), []);
        assert.deepEqual(await page.evaluate(() => window.received('self')), []);
        assert.deepEqual(await logOf('quiet', 'joins'), []);
        assert.deepEqual(await logOf('b', 'joins'), []);
        assert.deepEqual(await logOf('b', 'leaves'), []);
        // A user's message with the command `presence` is an ordinary message.
        await page.evaluate(() => { clients.b.subscribe('sdk.plain.ev', 'chat'); return sync('b'); });
        await page.evaluate(() => clients.w.publish('sdk.plain.ev', 'presence', { join: 'sdk.plain.ev' }, 'not an event'));
        await page.waitForFunction(() => window.received('b').length === 1);
        assert.deepEqual(await logOf('b', 'joins'), []);
        for (const n of ['w', 'self', 'b']) assert.deepEqual(await errorsOf(n), []);
    });

    it('rejects reads of channels without presence; refuses oversized info and bad opt-ins, connection alive', async () => {
        await open(['a']);
        const refusals = await page.evaluate(async () => {
            const out = [];
            for (const [fn, args] of [['presence', ['sdk.plain']], ['presenceStats', ['sdk.plain']],
                ['presence', ['sdk..p']], ['presence', ['sdk.p.*']], ['presenceStats', ['sdk.p.>', 'u']]]) {
                try { await clients.a[fn](...args); out.push('resolved'); } catch (e) { out.push([fn, e.name, e.code, e.reason]); }
            }
            return out;
        });
        assert.deepEqual(refusals.slice(0, 3).map((r) => r.slice(0, 3)), [
            ['presence', 'LhttpError', 404], ['presenceStats', 'LhttpError', 404], ['presence', 'LhttpError', 400]]);
        assert.match(refusals[0][3], /^presence/);
        assert.match(refusals[0][3], /'sdk\.plain'/);
        // Wildcards: 400, a refusal that names the channel.
        for (const r of refusals.slice(3)) {
            assert.equal(r[1], 'LhttpError');
            assert.equal(r[2], 400, JSON.stringify(r));
            assert.match(r[3], /'sdk\.p\.[*>]'/);
        }

        await page.evaluate(() => {
            clients.a.subscribe('sdk.p.big', 'chat', null, '', { info: 'x'.repeat(300) }); // over 256
            clients.a.subscribe('sdk.plain.j', 'chat', null, '', { joins: true });        // no presence there
            clients.a.subscribe('sdk.p.j', 'chat', null, '', { joins: 'sdk.p.elsewhere' }); // not subscribed
            return sync('a');
        });
        const errors = await errorsOf('a');
        assert.deepEqual(errors.map((e) => e.error.code), [413, 404, 400]);
        assert.match(errors[0].error.reason, /^presence-info/);
        assert.match(errors[1].error.reason, /^joins/);
        assert.match(errors[2].error.reason, /^joins/);
        // Nothing of a refused message is applied; the connection still works.
        const r = await page.evaluate(async () => ({
            big: (await clients.a.presence('sdk.p.big')).total,
            j: (await clients.a.presence('sdk.p.j')).total,
            open: clients.a.isOpen(),
        }));
        assert.deepEqual(r, { big: 0, j: 0, open: true });
        assert.deepEqual(await page.evaluate(() => window.received('a')), []);

        // join and leave headers are the server's: a publish carrying one is refused.
        await page.evaluate(() => {
            clients.a.publish('sdk.p.j', 'presence', { join: 'sdk.p.j', client: '1', node: 'forged' }, '');
            return sync('a');
        });
        const forged = (await errorsOf('a')).slice(3);
        assert.deepEqual(forged.map((e) => e.error.code), [400]);
    });

    it('delivers a join before what the joiner publishes, and its leave after', async () => {
        await open(['w', 'p']);
        await page.evaluate(() => {
            window.order = [];
            clients.w.on('join', (e) => { if (e.info === 'P') window.order.push('join'); });
            clients.w.on('leave', (e) => { if (e.info === 'P') window.order.push('leave'); });
            clients.w.on('message', (c) => { if (c.getCommand() === 'chat') window.order.push(c.getBody()); });
            clients.w.subscribe('sdk.p.order', 'chat', null, '', { joins: true });
            return sync('w');
        });
        await page.evaluate(() => {
            // One message each: subscribe runs before publish, publish before unsubscribe.
            clients.p.subscribe('sdk.p.order', 'chat', { publish: 'sdk.p.order' }, 'hello', { info: 'P' });
            clients.p.publish('sdk.p.order', 'chat', null, 'middle');
            clients.p.unsubscribe('sdk.p.order', 'chat', { publish: 'sdk.p.order' }, 'bye');
        });
        await page.waitForFunction(() => window.order.length >= 5);
        assert.deepEqual(await page.evaluate(() => window.order), ['join', 'hello', 'middle', 'bye', 'leave']);
    });

    it('refuses a flood of subscribe/unsubscribe toggles with 429 and bounds the events', async () => {
        await open(['w', 'f']);
        await page.evaluate(() => {
            clients.w.subscribe('sdk.p.flood', 'chat', null, '', { joins: true });
            return sync('w');
        });
        const started = Date.now();
        await page.evaluate(() => {
            for (let i = 0; i < 300; i++) {
                clients.f.subscribe('sdk.p.flood', 'chat', null, '', { info: 'f' + i });
                clients.f.unsubscribe('sdk.p.flood', 'chat');
            }
            return sync('f');
        });
        const seconds = (Date.now() - started) / 1000;
        const refused = (await errorsOf('f')).map((e) => [e.error.code, e.error.reason]);
        // The last events reach w (another connection) a moment later.
        await page.waitForFunction((k) => clients.w.log.joins.length + k >= 300 &&
            clients.w.log.leaves.length >= clients.w.log.joins.length, refused.length);
        await sleep(100); // nothing more comes
        const joins = (await logOf('w', 'joins')).length;
        const leaves = (await logOf('w', 'leaves')).length;
        assert.ok(refused.length > 0, 'some joins refused');
        for (const [code, reason] of refused) {
            assert.equal(code, 429);
            assert.match(reason, /^presence: /);
        }
        assert.equal(joins + refused.length, 300);
        assert.equal(leaves, joins); // a leave follows each join that was let in
        // A burst of --max-channels (128 by default; 5 x --presence-rate is less), then
        // --presence-rate (10 a second by default).
        assert.ok(joins <= 128 + Math.ceil(10 * (seconds + 0.5)), `${joins} joins in ${seconds} s`);
        assert.equal(await page.evaluate(() => clients.f.isOpen()), true);
    });

    it('joins again with the same info and opt-ins after a reconnect', async () => {
        const wsUrl = `ws://127.0.0.1:${proxy.port}/`;
        await open(['w']);
        await page.evaluate((u) => {
            window.openClient('r', u, { reconnectDelay: 200, maxReconnectDelay: 400 });
            clients.w.subscribe('sdk.p.re', 'chat', null, '', { info: { name: 'W' }, joins: true });
        }, wsUrl);
        await page.waitForFunction(() => clients.r.log.opens === 1);
        await page.evaluate(() => {
            clients.r.subscribe('sdk.p.re', 'chat', null, '', { info: { name: 'R' }, joins: true });
            return Promise.all([sync('w'), sync('r')]);
        });
        await page.waitForFunction(() => clients.w.log.joins.filter((e) => e.info === '{"name":"R"}').length === 1);
        const before = (await logOf('w', 'joins')).find((e) => e.info === '{"name":"R"}');

        const cut = proxy.cut(1000);
        await page.waitForFunction(() => clients.w.log.leaves.some((e) => e.info === '{"name":"R"}'));
        await cut;
        await page.waitForFunction(() => clients.r.log.opens === 2, null, { timeout: 10000 });
        await page.waitForFunction(() => clients.w.log.joins.filter((e) => e.info === '{"name":"R"}').length === 2);
        const joins = (await logOf('w', 'joins')).filter((e) => e.info === '{"name":"R"}');
        assert.notEqual(joins[1].client, before.client); // a new connection
        const leave = (await logOf('w', 'leaves')).find((e) => e.info === '{"name":"R"}');
        assert.equal(leave.client, before.client);
        // r asked for joins before the cut: it still gets them.
        await page.evaluate(() => {
            window.openClient('late');
            clients.late.subscribe('sdk.p.re', 'chat', null, '', { info: { name: 'L' } });
        });
        await page.waitForFunction(() => clients.r.log.joins.some((e) => e.info === '{"name":"L"}'));
        const list = await presenceWith('w', 'sdk.p.re', 3);
        assert.deepEqual(list.entries.map((e) => e.info).sort(), ['{"name":"L"}', '{"name":"R"}', '{"name":"W"}']);
        assert.deepEqual(await errorsOf('r'), []);
    });
});

describe('lhttp.js presence with connect tokens', { timeout: 60000 }, () => {
    let server, staticDir, page;
    const SECRET = 'browser-test-secret';

    before(async () => {
        staticDir = makeStaticDir();
        server = await Lhttpd.start(['--static-dir', staticDir, '--presence', 'sdk.t.*', '--jwt-secret', SECRET]);
        page = await browser.newPage();
        await page.goto(`${server.httpUrl}/sdk.html`);
    });

    after(async () => {
        if (page) await page.close();
        if (server) await server.stop();
        if (staticDir) fs.rmSync(staticDir, { recursive: true, force: true });
    });

    it('lists the token\'s user, counts users and their connections, refuses channels not granted (403)', async () => {
        const url = (sub) => `ws://127.0.0.1:${server.port}/?token=${mintToken(SECRET, { sub, channels: ['sdk.t.room', 'sync.*'] })}`;
        await page.evaluate(([a1, a2, b]) => {
            for (const [n, u] of [['a1', a1], ['a2', a2], ['b', b]]) {
                window.openClient(n, u);
                clients[n].subscribe('sdk.t.room', 'chat', null, '', { info: { tab: n } });
            }
        }, [url('alice'), url('alice'), url('bob')]);
        await page.waitForFunction(() => ['a1', 'a2', 'b'].every((n) => clients[n].log.opens === 1));
        let stats;
        await waitFor(async () => {
            stats = await page.evaluate(() => clients.b.presenceStats('sdk.t.room', 'alice'));
            return stats.connections === 3;
        }, { what: '3 connections' });
        assert.deepEqual(stats, { channel: 'sdk.t.room', connections: 3, users: 2, userConnections: 2 });
        const r = await page.evaluate(async () => {
            const list = await clients.b.presence('sdk.t.room');
            let refused = null;
            try { await clients.b.presence('sdk.t.secret'); } catch (e) { refused = [e.code, e.reason]; }
            let refusedStats = null;
            try { await clients.b.presenceStats('sdk.t.secret'); } catch (e) { refusedStats = e.code; }
            return { users: list.entries.map((e) => [e.user, e.info]).sort(), refused, refusedStats };
        });
        assert.deepEqual(r.users, [['alice', '{"tab":"a1"}'], ['alice', '{"tab":"a2"}'], ['bob', '{"tab":"b"}']]);
        assert.equal(r.refused[0], 403);
        assert.equal(r.refused[1], "token does not allow subscribing to 'sdk.t.secret'");
        assert.equal(r.refusedStats, 403);
        // A join event carries the token's user.
        await page.evaluate((u) => {
            clients.b.subscribe('sdk.t.room', 'chat', null, '', { joins: true }); // opts in, already subscribed
            return sync('b').then(() => {
                window.openClient('a3', u);
                clients.a3.subscribe('sdk.t.room', 'chat', null, '', { info: 'third' });
            });
        }, url('alice'));
        await page.waitForFunction(() => clients.b.log.joins.some((e) => e.info === 'third'));
        const join = (await page.evaluate(() => clients.b.log.joins)).find((e) => e.info === 'third');
        assert.equal(join.user, 'alice');
        await page.evaluate(() => Object.values(clients).forEach((c) => c.close()));
    });
});

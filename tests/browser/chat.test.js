// The chat demo (resources/web/index.html), served by lhttpd-qt itself from its built-in
// resources, in headless Chromium: two users chat both ways, a backend posts through
// POST /publish, and the run saves a screenshot of the conversation. The screenshot goes to
// $LHTTP_SCREENSHOT (CTest points it into the build directory; 0 skips it), by default to
// <tmpdir>/lhttp-chat-demo.png, never into the source tree unless asked:
// LHTTP_SCREENSHOT=$PWD/docs/chat-demo.png regenerates the committed one (docs/BROWSER.md).
// The server runs with presence for every room (--presence '>'): the pages list who is in the
// room, and see others come, leave and close their page.
// The second suite runs the demo on history rooms (--history) and cuts one page's connection
// for real, through a TCP proxy: it recovers every missed message exactly once, in order, and
// (lobby has presence, tiny has not) the member list is right again after the reconnect.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Lhttpd, TcpProxy, launchBrowser, sleep } = require('./support/harness');

const VIEWPORT = { width: 1000, height: 700 };
const ROOM = 'lobby';

// The member list as shown: "name" per row, "(you)" for our own, "×N" for N connections.
function members(page) {
    return page.$$eval('#member-list .member', (items) => items.map((li) =>
        li.querySelector('.name').textContent + (li.classList.contains('own') ? ' (you)' : '') +
        (li.querySelector('.tabs') ? ' ' + li.querySelector('.tabs').textContent : '')));
}

async function waitForMembers(page, expected, timeout = 10000) {
    try {
        await page.waitForFunction((want) => {
            const got = [...document.querySelectorAll('#member-list .member')].map((li) =>
                li.querySelector('.name').textContent + (li.classList.contains('own') ? ' (you)' : '') +
                (li.querySelector('.tabs') ? ' ' + li.querySelector('.tabs').textContent : ''));
            return JSON.stringify(got) === JSON.stringify(want);
        }, expected, { timeout });
    } catch (e) {
        assert.deepEqual(await members(page), expected); // says what was shown instead
        throw e;
    }
}

describe('chat demo served by lhttpd-qt', { timeout: 120000 }, () => {
    let server, browser;
    const users = {};

    before(async () => {
        // Both in parallel, and both kept even when the other fails, so that `after` stops them.
        const started = await Promise.allSettled([Lhttpd.start(['--presence', '>']), launchBrowser()]);
        [server, browser] = started.map((r) => r.value);
        const failed = started.find((r) => r.status === 'rejected');
        if (failed)
            throw failed.reason;
    });

    after(async () => {
        await Promise.allSettled([browser && browser.close(), server && server.stop()]);
    });

    // Each user gets a browser context of their own (own storage, like two browsers).
    async function openUser(nick) {
        const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1,
            colorScheme: 'light', locale: 'en-GB', timezoneId: 'UTC' });
        const page = await context.newPage();
        const problems = [];
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
        page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
        page.problems = problems;
        users[nick] = page;
        await page.goto(`${server.httpUrl}/`);
        return page;
    }

    async function join(page, nick) {
        await page.waitForSelector('#status[data-state="online"]');
        await page.fill('#nick', nick);
        await page.fill('#room', ROOM);
        await page.click('#join');
        // Our own join announcement comes back once the subscription is in place.
        await page.locator('.system', { hasText: `You joined #${ROOM}` }).waitFor();
    }

    // Enters the text line by line (Shift+Enter between lines) and sends it with Enter.
    async function say(page, text) {
        const box = page.locator('#message');
        await box.focus();
        const lines = text.split('\n');
        for (let i = 0; i < lines.length; i++) {
            if (i > 0) await page.keyboard.press('Shift+Enter');
            if (lines[i]) await page.keyboard.insertText(lines[i]);
        }
        await page.keyboard.press('Enter');
        assert.equal(await box.inputValue(), ''); // sent and cleared
    }

    // The conversation as shown: [nick, text, own] per message bubble.
    function shown(page) {
        return page.$$eval('#messages .msg', (items) => items.map((li) => [
            li.querySelector('.nick').textContent,
            li.querySelector('.text').textContent,
            li.classList.contains('own'),
        ]));
    }

    async function waitForCount(page, n) {
        await page.waitForFunction((k) => document.querySelectorAll('#messages .msg').length >= k, n);
    }

    it('serves the page, the SDK and the stylesheet from the one port', async () => {
        const page = await openUser('alice');
        assert.equal(await page.title(), 'lhttp chat');
        const url = await page.evaluate(() => window.lhttpChat.client.url);
        assert.equal(url, `ws://127.0.0.1:${server.port}/`);
        for (const file of ['/lhttp.js', '/lhttp.mjs', '/chat.js', '/chat.css']) {
            const res = await fetch(server.httpUrl + file);
            assert.equal(res.status, 200, file);
        }
    });

    it('lets two users join a room and chat both ways', async (t) => {
        const alice = users.alice;
        const bob = await openUser('bob');
        await join(alice, 'alice');
        await join(bob, 'bob');
        await alice.locator('.system', { hasText: `bob joined #${ROOM}` }).waitFor();
        // Each sees both in the member list, itself first.
        await waitForMembers(alice, ['alice (you)', 'bob']);
        await waitForMembers(bob, ['bob (you)', 'alice']);
        assert.equal(await alice.locator('#member-count').textContent(), '2');

        await say(alice, 'Hi bob! The demo runs on the same port as the WebSocket.');
        await waitForCount(bob, 1);
        await say(bob, 'Hey alice :)\n\nBlank lines and colons: both survive now.');
        await waitForCount(alice, 2);

        // A backend posts into the room over HTTP, with a nick header of its own.
        const res = await fetch(`${server.httpUrl}/publish`, {
            method: 'POST',
            body: `LHTTP/1.0 chat\r\npublish:${ROOM}\r\nnick:build-bot\r\n\r\nBuild #42 passed: 6/6 tests green.`,
        });
        assert.equal(res.status, 200);
        await waitForCount(alice, 3);
        await say(alice, 'Nice, even the build bot can join in over POST /publish.');
        await waitForCount(bob, 4);
        await waitForCount(alice, 4);

        const texts = [
            ['alice', 'Hi bob! The demo runs on the same port as the WebSocket.'],
            ['bob', 'Hey alice :)\n\nBlank lines and colons: both survive now.'],
            ['build-bot', 'Build #42 passed: 6/6 tests green.'],
            ['alice', 'Nice, even the build bot can join in over POST /publish.'],
        ];
        assert.deepEqual(await shown(alice), texts.map(([n, t]) => [n, t, n === 'alice']));
        assert.deepEqual(await shown(bob), texts.map(([n, t]) => [n, t, n === 'bob']));

        // Each message shows a time, hh:mm.
        const times = await bob.$$eval('#messages .msg time', (els) => els.map((e) => e.textContent));
        assert.equal(times.length, 4);
        for (const t of times) assert.match(t, /^\d{1,2}:\d{2}/);
        assert.equal(await alice.locator('#room-name').textContent(), ROOM);
        assert.equal(await alice.locator('#status').getAttribute('data-state'), 'online');

        const target = process.env.LHTTP_SCREENSHOT || path.join(os.tmpdir(), 'lhttp-chat-demo.png');
        if (target !== '0') {
            fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
            await alice.screenshot({ path: target });
            const size = fs.statSync(target).size;
            assert.ok(size > 10000 && size < 1000000, `screenshot size ${size}`);
            t.diagnostic(`screenshot: ${path.resolve(target)}`);
        }
    });

    it('shows when a user leaves, and stops delivering to them', async () => {
        const { alice, bob } = users;
        await bob.click('#leave');
        await alice.locator('.system', { hasText: 'bob left.' }).waitFor();
        await waitForMembers(alice, ['alice (you)']);
        assert.equal(await bob.locator('#join-view').isVisible(), true);
        await say(alice, 'still there?');
        await waitForCount(alice, 5);
        await bob.waitForTimeout(200);
        assert.equal(await bob.locator('#chat-view').isVisible(), false);
        // Nothing after the leave reached bob: still the four messages from before.
        assert.equal(await bob.locator('#messages .msg').count(), 4);
        const bobLog = await bob.evaluate(() => window.lhttpChat.client.channels());
        assert.deepEqual(bobLog, []);
        for (const page of [alice, bob]) assert.deepEqual(page.problems, []);
    });

    it('keeps the member list live: pages that join, a second tab, pages that close', async () => {
        const { alice } = users;
        const carol = await openUser('carol');
        await join(carol, 'carol');
        await waitForMembers(carol, ['carol (you)', 'alice']);
        await waitForMembers(alice, ['alice (you)', 'carol']);
        // carol again in another browser context: one row, two connections.
        const carol2 = await openUser('carol2');
        await join(carol2, 'carol');
        await waitForMembers(alice, ['alice (you)', 'carol ×2']);
        await waitForMembers(carol2, ['carol (you) ×2', 'alice']);
        // Closing a page: it may send its leave on pagehide; if not, the server sees it go.
        await carol2.context().close();
        await waitForMembers(alice, ['alice (you)', 'carol']);
        await carol.context().close();
        await waitForMembers(alice, ['alice (you)']);
        assert.equal(await alice.locator('#member-count').textContent(), '1');
        assert.deepEqual(alice.problems, []);
    });
});

describe('chat demo on history rooms: recent messages, cut connections', { timeout: 120000 }, () => {
    let server, browser, proxy;
    let alice, bob; // alice's page goes through the proxy: her connection is the one cut
    const problems = [];

    before(async () => {
        const started = await Promise.allSettled([
            Lhttpd.start(['--history', 'lobby=1000', '--history', 'tiny=6', '--presence', 'lobby']), launchBrowser()]);
        [server, browser] = started.map((r) => r.value);
        const failed = started.find((r) => r.status === 'rejected');
        if (failed)
            throw failed.reason;
        proxy = await TcpProxy.start(server.port);
    });

    after(async () => {
        await Promise.allSettled([browser && browser.close(), server && server.stop(), proxy && proxy.close()]);
    });

    async function open(url) {
        const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-GB', timezoneId: 'UTC' });
        const page = await context.newPage();
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        // Chromium logs each refused reconnect attempt during a cut; anything else is a problem.
        page.on('console', (m) => {
            if (m.type() === 'error' && !/^WebSocket connection to '.*' failed: /.test(m.text()))
                problems.push(`console: ${m.text()}`);
        });
        await page.goto(`${url}/`);
        await page.waitForSelector('#status[data-state="online"]');
        return page;
    }

    async function join(page, nick, room) {
        if (await page.locator('#chat-view').isVisible()) await page.click('#leave');
        await page.fill('#nick', nick);
        await page.fill('#room', room);
        await page.click('#join');
        await page.locator('.system', { hasText: `You joined #${room}` }).waitFor();
    }

    async function say(page, text) {
        await page.fill('#message', text);
        await page.press('#message', 'Enter');
    }

    const texts = (page) => page.$$eval('#messages .msg .text', (els) => els.map((e) => e.textContent));
    const systemLines = (page) => page.$$eval('#messages .system', (els) => els.map((e) => e.textContent));

    async function waitForTexts(page, last, timeout = 15000) {
        await page.waitForFunction((t) => {
            const all = [...document.querySelectorAll('#messages .msg .text')].map((e) => e.textContent);
            return all.includes(t);
        }, last, { timeout });
        await sleep(300); // a duplicate would come right after
        return texts(page);
    }

    const numbered = (prefix, from, to) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix} ${from + i}`);

    it('shows the room\'s recent messages on joining', async () => {
        for (const text of ['earlier 1', 'earlier 2', 'earlier 3']) {
            const res = await fetch(`${server.httpUrl}/publish`, {
                method: 'POST', body: `LHTTP/1.0 chat\r\npublish:lobby\r\nnick:build-bot\r\n\r\n${text}`,
            });
            assert.equal(res.status, 200);
        }
        [alice, bob] = await Promise.all([open(proxy.httpUrl), open(server.httpUrl)]);
        await join(bob, 'bob', 'lobby');
        await join(alice, 'alice', 'lobby');
        assert.deepEqual(await texts(alice), ['earlier 1', 'earlier 2', 'earlier 3']);
        assert.deepEqual(await texts(bob), ['earlier 1', 'earlier 2', 'earlier 3']);
        assert.ok((await systemLines(alice)).includes('Earlier messages in #lobby above.'));
        await bob.locator('.system', { hasText: 'alice joined #lobby' }).waitFor();
        await waitForMembers(alice, ['alice (you)', 'bob']);
        await waitForMembers(bob, ['bob (you)', 'alice']);
    });

    it('recovers every message missed during a 3 s cut exactly once, in order', async () => {
        for (const line of numbered('line', 1, 5)) await say(bob, line);
        await waitForTexts(alice, 'line 5');

        let cutOver = false;
        const cut = proxy.cut(3000).then(() => { cutOver = true; });
        await alice.waitForSelector('#status[data-state="reconnecting"]');
        assert.equal(await alice.locator('#banner').isVisible(), true);
        assert.match(await alice.locator('#banner').textContent(), /reconnecting/);
        // bob sees her go: the server saw her connection close.
        await waitForMembers(bob, ['bob (you)'], 2000);
        // bob keeps talking while alice is away: 15 lines over about 2 s.
        let sentWhileCut = 0;
        for (const line of numbered('line', 6, 20)) {
            await say(bob, line);
            if (!cutOver) sentWhileCut++;
            await sleep(130);
        }
        await cut;
        // ... and right on while she comes back.
        for (const line of numbered('line', 21, 25)) {
            await say(bob, line);
            await sleep(100);
        }
        const expected = ['earlier 1', 'earlier 2', 'earlier 3', ...numbered('line', 1, 25)];
        assert.deepEqual(await waitForTexts(bob, 'line 25'), expected);
        assert.deepEqual(await waitForTexts(alice, 'line 25'), expected);
        await alice.waitForSelector('#status[data-state="online"]');
        assert.equal(await alice.locator('#banner').isVisible(), false);
        // alice joined again (with her info) and read the list afresh; bob saw her old
        // connection leave and the new one join.
        await alice.waitForSelector('#members:not(.stale)');
        await waitForMembers(alice, ['alice (you)', 'bob']);
        await waitForMembers(bob, ['bob (you)', 'alice']);
        const lines = await systemLines(alice);
        assert.ok(lines.includes('Connection lost, reconnecting…'), lines.join(' | '));
        // What bob sent while the proxy refused her came in the recovery (and maybe more, sent
        // before she was back).
        const caughtUp = lines.map((l) => /^Caught up: (\d+) missed messages?\.$/.exec(l)).find(Boolean);
        assert.ok(sentWhileCut >= 1, 'lines sent during the cut');
        assert.ok(caughtUp && Number(caughtUp[1]) >= sentWhileCut && Number(caughtUp[1]) <= 20,
            `${sentWhileCut} sent during the cut; ${lines.join(' | ')}`);
        assert.ok(proxy.refused >= 1, 'a reconnect attempt was refused during the cut');
        assert.ok(await alice.evaluate(() => window.lhttpChat.client.connectCount) >= 2);
        assert.ok(lines.every((l) => !/could not/i.test(l)), lines.join(' | '));
    });

    it('reloads the recent history and says so when recovery is incomplete', async () => {
        // tiny keeps 6 messages: 12 missed lines are more than it holds.
        await join(bob, 'bob', 'tiny');
        await join(alice, 'alice', 'tiny');
        // No presence for tiny: no member list, and no complaint about it.
        assert.equal(await alice.locator('#members').isVisible(), false);
        assert.equal(await bob.locator('#members').isVisible(), false);
        await say(bob, 'tiny 0');
        await waitForTexts(alice, 'tiny 0');

        const cut = proxy.cut(3000);
        await alice.waitForSelector('#status[data-state="reconnecting"]');
        for (const line of numbered('tiny', 1, 12)) await say(bob, line);
        await waitForTexts(bob, 'tiny 12');
        await cut;
        await alice.locator('.system', { hasText: 'could not be recovered: reloaded the last 6.' })
            .waitFor({ timeout: 15000 });
        await say(bob, 'tiny 13');
        assert.deepEqual(await waitForTexts(alice, 'tiny 13'), numbered('tiny', 7, 13));
        const lines = await systemLines(alice);
        assert.deepEqual(lines, ['Some messages could not be recovered: reloaded the last 6.']);
        assert.equal(await alice.locator('#banner').isVisible(), false);
        assert.deepEqual(problems, []);
    });
});

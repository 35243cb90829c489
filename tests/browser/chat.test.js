// The chat demo (resources/web/index.html), served by lhttpd-qt itself from its built-in
// resources, in headless Chromium: two users chat both ways, a backend posts through
// POST /publish, and the run saves a screenshot of the conversation. The screenshot goes to
// $LHTTP_SCREENSHOT (CTest points it into the build directory; 0 skips it), by default to
// <tmpdir>/lhttp-chat-demo.png, never into the source tree unless asked:
// LHTTP_SCREENSHOT=$PWD/docs/chat-demo.png regenerates the committed one (docs/BROWSER.md).
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Lhttpd, launchBrowser } = require('./support/harness');

const VIEWPORT = { width: 1000, height: 700 };
const ROOM = 'lobby';

describe('chat demo served by lhttpd-qt', { timeout: 120000 }, () => {
    let server, browser;
    const users = {};

    before(async () => {
        // Both in parallel, and both kept even when the other fails, so that `after` stops them.
        const started = await Promise.allSettled([Lhttpd.start(), launchBrowser()]);
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
});

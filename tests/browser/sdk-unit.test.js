// lhttp.js without a browser: the parser and encoder against PROTOCOL.md §2, and the client's
// queueing, reconnection and error routing over a fake WebSocket.
'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { WEB_DIR } = require('./support/harness');

const Lhttp = require(path.join(WEB_DIR, 'lhttp.js'));
const { Message, LhttpError } = Lhttp;

describe('Message.parse / encode', { timeout: 30000 }, () => {
    it('splits each header at the first colon and trims blanks around the value', () => {
        const m = Message.parse('LHTTP/1.0 chat\r\nurl:http://h:8080/p?a=b:c\r\ntime: 12:00 \r\nt:\tx\t\r\n\r\nbody');
        assert.equal(m.command, 'chat');
        assert.deepEqual(m.headers, [['url', 'http://h:8080/p?a=b:c'], ['time', '12:00'], ['t', 'x']]);
        assert.equal(m.getHeader('url'), 'http://h:8080/p?a=b:c');
        assert.equal(m.body, 'body');
    });

    it('keeps everything after the first blank line as the body', () => {
        const body = 'a\r\n\r\nb\r\n\r\n\r\nLHTTP/1.0 x\r\nk:v\r\n\r\n';
        assert.equal(Message.parse('LHTTP/1.0 c\r\nh:v\r\n\r\n' + body).body, body);
        assert.equal(Message.parse('LHTTP/1.0 c\r\n\r\n' + body).body, body);
    });

    it('accepts messages that end after the start line or a header line', () => {
        assert.deepEqual(Message.parse('LHTTP/1.0 chat\r\n'), new Message('chat', null, ''));
        const m = Message.parse('LHTTP/1.0 chat\r\npublish:room\r\n');
        assert.deepEqual([m.headers, m.body], [[['publish', 'room']], '']);
    });

    it('keeps header order and duplicates; the last one wins for lookups', () => {
        const m = Message.parse('LHTTP/1.0 c\r\nb:1\r\na:2\r\nb:3\r\n\r\n');
        assert.deepEqual(m.getHeaders(), [['b', '1'], ['a', '2'], ['b', '3']]);
        assert.equal(m.getHeader('b'), '3');
        assert.equal(m.getHeader('B'), null); // names are case-sensitive
        assert.equal(m.getHeader('missing'), null);
    });

    it('rejects what is not LHTTP/1.0', () => {
        for (const bad of ['', 'LHTTP/1.1 c\r\n\r\n', 'lhttp/1.0 c\r\n\r\n', 'LHTTP/1.0 c', 'LHTTP/1.0 \r\n\r\n',
            'LHTTP/1.0 c\nh:v\n\n', 'LHTTP/1.0 c\r\nno-colon\r\n\r\n', 'LHTTP/1.0 c\r\nh:v', 'LHTTP/1.0 c\r\n:v\r\n\r\n']) {
            assert.throws(() => Message.parse(bad), LhttpError, JSON.stringify(bad));
        }
    });

    it('encodes name:value with CRLF, one blank line, then the body', () => {
        const m = new Message('chat', [['publish', 'a b'], ['k', 'x:y']], 'p1\r\n\r\np2');
        assert.equal(m.encode(), 'LHTTP/1.0 chat\r\npublish:a b\r\nk:x:y\r\n\r\np1\r\n\r\np2');
        assert.deepEqual(Message.parse(m.encode()), m);
        assert.throws(() => new Message('two words').encode(), LhttpError);
        assert.throws(() => new Message('c', { 'a:b': 'v' }).encode(), LhttpError);
        assert.throws(() => new Message('c', { a: 'v\r\nx:y' }).encode(), LhttpError);
    });

    it('reads multipart parts at UTF-8 byte offsets (the PROTOCOL.md example)', () => {
        const m = Message.parse('LHTTP/1.0 upload\r\nmultipart:0 14\r\n\r\nk1:v1\r\n\r\nbody1k2:v2\r\n\r\nbody2');
        assert.deepEqual(m.getMultipart().map((p) => [p.headers, p.body]),
            [[[['k1', 'v1']], 'body1'], [[['k2', 'v2']], 'body2']]);
        const u = new Message('u', { multipart: '2 9' }, 'xx\r\né€\r\nb');
        assert.deepEqual(u.getMultipart().map((p) => [p.headers, p.body]), [[[], 'é€'], [[], 'b']]);
        assert.deepEqual(new Message('u', null, 'x').getMultipart(), []);
        for (const bad of ['', '5 1', '1 1', '99', 'x']) {
            assert.throws(() => new Message('u', { multipart: bad }, 'k:v\r\n\r\nb').getMultipart(), LhttpError, bad);
        }
        assert.throws(() => new Message('u', { multipart: '0' }, 'no blank line').getMultipart(), LhttpError);
    });
});

// A WebSocket stand-in: records sends; the test drives open/message/close.
class FakeSocket {
    constructor(url) {
        this.url = url;
        this.readyState = 0;
        this.sent = [];
        FakeSocket.all.push(this);
    }
    send(text) {
        if (this.readyState !== 1) throw new Error('not open');
        this.sent.push(text);
    }
    close(code) { this.readyState = 3; this.onclose({ code: code || 1000, reason: '', wasClean: true }); }
    open() { this.readyState = 1; this.onopen({}); }
    receive(data) { this.onmessage({ data }); }
    drop() { this.readyState = 3; this.onclose({ code: 1006, reason: '', wasClean: false }); }
}
FakeSocket.all = [];

const tick = (ms) => new Promise((r) => setTimeout(r, ms));

function client(options = {}) {
    FakeSocket.all = [];
    const c = new Lhttp('ws://127.0.0.1:1/', { WebSocket: FakeSocket, reconnectDelay: 5, ...options });
    c.log = { opens: 0, messages: [], closes: [], errors: [] };
    c.on_open = () => c.log.opens++;
    c.on_message = (ctx) => c.log.messages.push(ctx);
    c.on_close = (ctx) => c.log.closes.push(ctx);
    c.on_error = (ctx) => c.log.errors.push(ctx);
    return c;
}

describe('Lhttp client (fake WebSocket)', { timeout: 30000 }, () => {
    it('queues until open, then re-subscribes after a reconnect', async () => {
        const c = client();
        c.subscribe('a b', 'chat');
        c.subscribe(['c'], 'other', { x: '1' }, 'hi');
        c.unsubscribe('b', 'chat');
        c.publish('a', 'chat', null, 'queued');
        const first = FakeSocket.all[0];
        assert.deepEqual(first.sent, []);
        first.open();
        assert.deepEqual(first.sent, [
            'LHTTP/1.0 chat\r\nsubscribe:a b\r\n\r\n',
            'LHTTP/1.0 other\r\nsubscribe:c\r\nx:1\r\n\r\nhi',
            'LHTTP/1.0 chat\r\nunsubscribe:b\r\n\r\n',
            'LHTTP/1.0 chat\r\npublish:a\r\n\r\nqueued',
        ]);
        assert.deepEqual(c.channels(), ['a', 'c']);

        first.drop();
        assert.equal(c.log.closes[0].willReconnect, true);
        assert.equal(c.log.closes[0].wasOpen, true);
        c.publish('a', 'chat', null, 'while down');
        await tick(30);
        const second = FakeSocket.all[1];
        assert.ok(second, 'reconnected');
        second.open();
        assert.deepEqual(second.sent, [
            'LHTTP/1.0 chat\r\nsubscribe:a\r\n\r\n',
            'LHTTP/1.0 other\r\nsubscribe:c\r\n\r\n',
            'LHTTP/1.0 chat\r\npublish:a\r\n\r\nwhile down',
        ]);
        assert.equal(c.log.opens, 2);
        assert.equal(c.connectCount, 2);
        c.close();
    });

    it('backs off exponentially up to the maximum, and stops after close()', async () => {
        const c = client({ reconnectDelay: 10, maxReconnectDelay: 40 });
        const delays = [];
        for (let i = 0; i < 5; i++) {
            FakeSocket.all[FakeSocket.all.length - 1].drop();
            delays.push(c.reconnectDelay);
            await tick(c.reconnectDelay + 20);
        }
        const bases = [10, 20, 40, 40, 40];
        delays.forEach((d, i) => assert.ok(d >= bases[i] * 0.8 - 1 && d <= bases[i] * 1.2 + 1, `${d} vs ${bases[i]}`));
        const count = FakeSocket.all.length;
        c.close();
        await tick(80);
        assert.equal(FakeSocket.all.length, count);
        assert.throws(() => c.publish('a', 'chat', null, 'x'), /closed/);
    });

    it('routes server error replies and unparsable messages to on_error', () => {
        const c = client({ reconnect: false });
        const ws = FakeSocket.all[0];
        ws.open();
        ws.receive('LHTTP/1.0 error\r\ncode:403\r\nreason:wildcards: not allowed\r\n\r\n');
        ws.receive('LHTTP/1.0 error\r\npublish:room\r\ncode:1\r\n\r\nuser message with command error');
        ws.receive('garbage');
        ws.receive(new TextEncoder().encode('LHTTP/1.0 bin\r\n\r\nbinary frame é').buffer);
        assert.deepEqual(c.log.errors.map((e) => e.error), [
            { type: 'reply', code: 403, reason: 'wildcards: not allowed' },
            { type: 'parse', code: null, reason: 'lhttp: not an LHTTP/1.0 message' },
        ]);
        assert.equal(c.log.errors[0].getHeader('reason'), 'wildcards: not allowed');
        assert.equal(c.log.errors[1].raw, 'garbage');
        assert.deepEqual(c.log.messages.map((m) => [m.getCommand(), m.getBody()]),
            [['error', 'user message with command error'], ['bin', 'binary frame é']]);
    });

    it('replies from a received context with its command and fresh headers', () => {
        const c = client({ reconnect: false });
        const ws = FakeSocket.all[0];
        ws.open();
        ws.receive('LHTTP/1.0 ask\r\nid:7\r\n\r\nq');
        const ctx = c.log.messages[0];
        ctx.addHeader('re', ctx.getHeader('id'));
        ctx.send('a1');
        ctx.send('a2');
        ctx.setCommand('other');
        ctx.upstream('post', 'http://backend/x', undefined, null, 'up');
        assert.deepEqual(ws.sent, [
            'LHTTP/1.0 ask\r\nre:7\r\n\r\na1',
            'LHTTP/1.0 ask\r\n\r\na2',
            'LHTTP/1.0 other\r\nupstream:POST http://backend/x\r\n\r\nup',
        ]);
        assert.throws(() => ctx.upstream('POST', 'http://a b/'), LhttpError);
        assert.throws(() => ctx.publish('', 'c'), /no channel/);
        ctx.addHeader('left', 'over');
        assert.throws(() => ctx.publish('ch', 'c', { 'bad name': 'v' }), LhttpError);
        ctx.send('after errors'); // nothing left over from the failed calls
        assert.equal(ws.sent[3], 'LHTTP/1.0 ask\r\n\r\nafter errors');
    });

    it('bounds the queue while disconnected', () => {
        const c = client({ reconnect: false, queueLimit: 2 });
        c.send('a');
        c.send('b');
        assert.throws(() => c.send('c'), /queue is full/);
        c.close();
    });
});

// History channels (PROTOCOL.md, "History channels: position, recover, history").
const deliver = (ch, offset, epoch, body) =>
    `LHTTP/1.0 chat\r\nposition:${ch} ${offset} ${epoch}\r\npublish:${ch}\r\n\r\n${body}`;

function historyClient(options = {}) {
    const c = client(options);
    c.log.recoveries = [];
    c.on_recovery = (ctx) => c.log.recoveries.push({ ...ctx.recovery, delivered: c.log.messages.length });
    return c;
}

describe('Lhttp client: history channels (fake WebSocket)', { timeout: 30000 }, () => {
    it('remembers positions, drops copies already handed over, resumes with recover after a reconnect', async () => {
        const c = historyClient();
        c.subscribe('room', 'chat');
        c.subscribe('plain other', 'chat');
        const first = FakeSocket.all[0];
        first.open();
        first.receive(deliver('room', 1, 'e1', 'one'));
        first.receive(deliver('room', 2, 'e1', 'two'));
        first.receive(deliver('room', 2, 'e1', 'two again'));  // same position: dropped
        first.receive(deliver('room', 1, 'e1', 'older'));      // older: dropped
        first.receive('LHTTP/1.0 chat\r\npublish:plain\r\n\r\nplain');
        assert.deepEqual(c.position('room'), { offset: '2', epoch: 'e1' });
        assert.equal(c.position('plain'), null);
        assert.deepEqual(c.log.messages[0].getPosition(), { channel: 'room', offset: '1', epoch: 'e1' });
        assert.equal(c.log.messages[2].getPosition(), null);

        first.drop();
        await tick(30);
        const second = FakeSocket.all[1];
        second.open();
        // Plain channels as before (one message per command), then one per history channel.
        assert.deepEqual(second.sent, [
            'LHTTP/1.0 chat\r\nsubscribe:plain other\r\n\r\n',
            'LHTTP/1.0 chat\r\nsubscribe:room\r\nrecover:room 2 e1\r\n\r\n',
        ]);
        second.receive('LHTTP/1.0 chat\r\nrecovered:room true 2 4 e1\r\n\r\n');
        assert.deepEqual(c.log.recoveries, []); // not before the replayed messages
        second.receive(deliver('room', 3, 'e1', 'three'));
        second.receive(deliver('room', 4, 'e1', 'four'));
        second.receive(deliver('room', 4, 'e1', 'four again')); // belt and braces
        second.receive(deliver('room', 5, 'e1', 'five'));
        assert.deepEqual(c.log.messages.map((m) => m.getBody()), ['one', 'two', 'plain', 'three', 'four', 'five']);
        assert.deepEqual(c.log.messages.map((m) => !!m.replayed), [false, false, false, true, true, false]);
        assert.deepEqual(c.log.recoveries, [
            { channel: 'room', recovered: true, count: 2, offset: '4', epoch: 'e1', delivered: 5 },
        ]);
        assert.deepEqual(c.position('room'), { offset: '5', epoch: 'e1' });
        assert.deepEqual(c.log.errors, []);

        // Incomplete: another epoch; the application reloads, the client continues from there.
        second.drop();
        await tick(30);
        const third = FakeSocket.all[2];
        third.open();
        assert.equal(third.sent[1], 'LHTTP/1.0 chat\r\nsubscribe:room\r\nrecover:room 5 e1\r\n\r\n');
        third.receive('LHTTP/1.0 chat\r\nrecovered:room false 0 7 e2\r\n\r\n');
        third.receive(deliver('room', 8, 'e2', 'eight'));
        assert.deepEqual(c.log.recoveries[1], { channel: 'room', recovered: false, count: 0, offset: '7', epoch: 'e2', delivered: 6 });
        assert.equal(c.log.messages[6].getBody(), 'eight');
        assert.deepEqual(c.position('room'), { offset: '8', epoch: 'e2' });
        c.close();
    });

    it('compares offsets beyond 2^53 exactly', () => {
        const c = historyClient({ reconnect: false });
        FakeSocket.all[0].open();
        FakeSocket.all[0].receive(deliver('big', '9007199254740993', 'e', 'a'));
        FakeSocket.all[0].receive(deliver('big', '9007199254740992', 'e', 'dropped'));
        FakeSocket.all[0].receive(deliver('big', '18446744073709551615', 'e', 'b'));
        assert.deepEqual(c.log.messages.map((m) => m.getBody()), ['a', 'b']);
        assert.deepEqual(c.position('big'), { offset: '18446744073709551615', epoch: 'e' });
    });

    it('subscribes with recover on request, with or without a position', () => {
        const c = historyClient({ reconnect: false });
        const ws = FakeSocket.all[0];
        ws.open();
        c.recover('a', 'chat');
        c.recover('b', 'chat', { offset: 5, epoch: 'x1' }, { publish: 'b', event: 'join' }, '');
        c.recover(['c'], undefined, '7 x2');
        assert.deepEqual(ws.sent, [
            'LHTTP/1.0 chat\r\nsubscribe:a\r\nrecover:a\r\n\r\n',
            'LHTTP/1.0 chat\r\nsubscribe:b\r\nrecover:b 5 x1\r\npublish:b\r\nevent:join\r\n\r\n',
            'LHTTP/1.0 subscribe\r\nsubscribe:c\r\nrecover:c 7 x2\r\n\r\n',
        ]);
        // An explicit position is where the application resumes: the replay is not dropped.
        assert.deepEqual(c.position('b'), { offset: '5', epoch: 'x1' });
        ws.receive('LHTTP/1.0 chat\r\nrecovered:a true 0 3 x1\r\n\r\n');
        ws.receive('LHTTP/1.0 chat\r\nrecovered:b true 1 6 x1\r\n\r\n');
        ws.receive(deliver('b', 6, 'x1', 'six'));
        assert.deepEqual(c.log.recoveries.map((r) => [r.channel, r.count, r.offset]), [['a', 0, '3'], ['b', 1, '6']]);
        assert.deepEqual(c.position('a'), { offset: '3', epoch: 'x1' });
        // Known position: used when none is given.
        c.unsubscribe('a', 'chat');
        c.recover('a', 'chat');
        assert.equal(ws.sent[4], 'LHTTP/1.0 chat\r\nsubscribe:a\r\nrecover:a 3 x1\r\n\r\n');
        assert.deepEqual(c.channels(), ['b', 'c', 'a']);
        assert.throws(() => c.recover('a b', 'chat'), /exactly one channel/);
        assert.throws(() => c.recover('a', 'chat', { offset: -1, epoch: 'x' }), LhttpError);
        assert.throws(() => c.recover('a', 'chat', { offset: 1, epoch: 'no spaces!' }), LhttpError);
        assert.equal(ws.sent.length, 5);
    });

    it('reports a refused recover as incomplete and subscribes without it', () => {
        const c = historyClient({ reconnect: false });
        const ws = FakeSocket.all[0];
        ws.open();
        c.recover('plain', 'chat', '4 e');
        ws.receive("LHTTP/1.0 error\r\ncode:404\r\nreason:recover: channel 'plain' keeps no history\r\n\r\n");
        assert.equal(ws.sent[1], 'LHTTP/1.0 chat\r\nsubscribe:plain\r\n\r\n');
        assert.deepEqual(c.log.recoveries, [{ channel: 'plain', recovered: false, count: 0, offset: null, epoch: null,
            error: { type: 'reply', code: 404, reason: "recover: channel 'plain' keeps no history" }, delivered: 0 }]);
        assert.equal(c.position('plain'), null);
        assert.deepEqual(c.log.errors, []);
    });

    it('asks again when history is unavailable (503), then gives up and subscribes plainly', async () => {
        const c = historyClient({ reconnect: false, reconnectDelay: 5, maxReconnectDelay: 10 });
        const ws = FakeSocket.all[0];
        ws.open();
        c.recover('room', 'chat', '4 e');
        const unavailable = 'LHTTP/1.0 error\r\ncode:503\r\nreason:history unavailable: not loaded yet\r\n\r\n';
        ws.receive(unavailable);
        await tick(30);
        assert.deepEqual(ws.sent, ['LHTTP/1.0 chat\r\nsubscribe:room\r\nrecover:room 4 e\r\n\r\n',
            'LHTTP/1.0 chat\r\nsubscribe:room\r\nrecover:room 4 e\r\n\r\n']);
        ws.receive('LHTTP/1.0 chat\r\nrecovered:room true 1 5 e\r\n\r\n');
        ws.receive(deliver('room', 5, 'e', 'five'));
        assert.deepEqual(c.log.recoveries.map((r) => [r.recovered, r.count]), [[true, 1]]);
        assert.deepEqual(c.log.messages.map((m) => m.getBody()), ['five']);

        c.recover('other', 'chat');
        for (let i = 0; i < 6; i++) {
            ws.receive(unavailable);
            await tick(30);
        }
        assert.equal(ws.sent.filter((t) => t.includes('recover:other')).length, 6); // the first and 5 more
        assert.equal(ws.sent[ws.sent.length - 1], 'LHTTP/1.0 chat\r\nsubscribe:other\r\n\r\n');
        assert.deepEqual(c.log.recoveries[1].error, { type: 'reply', code: 503, reason: 'history unavailable: not loaded yet' });
        assert.deepEqual(c.log.errors, []);
    });

    it('reads history: resolves with the messages, not handed to on_message; errors reject', async () => {
        const c = historyClient({ reconnect: false });
        const ws = FakeSocket.all[0];
        const pending = c.history('room', 2); // queued until open
        ws.open();
        const afterPos = c.history('room', 10, { offset: 1, epoch: 'e' });
        const refused = c.history('room', 5, '99 old');
        const plain = c.history('plain', 5);
        assert.deepEqual(ws.sent, [
            'LHTTP/1.0 history\r\nhistory:room 2\r\n\r\n',
            'LHTTP/1.0 history\r\nhistory:room 10 1 e\r\n\r\n',
            'LHTTP/1.0 history\r\nhistory:room 5 99 old\r\n\r\n',
            'LHTTP/1.0 history\r\nhistory:plain 5\r\n\r\n',
        ]);
        ws.receive(deliver('room', 2, 'e', 'live two'));
        ws.receive('LHTTP/1.0 history\r\nhistory:room 2 3 e\r\n\r\n');
        ws.receive(deliver('room', 2, 'e', 'two'));
        ws.receive(deliver('room', 3, 'e', 'three'));
        ws.receive("LHTTP/1.0 error\r\ncode:403\r\nreason:token does not allow publishing to 'x'\r\n\r\n"); // not ours
        ws.receive('LHTTP/1.0 history\r\nhistory:room 2 3 e\r\n\r\n');
        ws.receive(deliver('room', 2, 'e', 'two'));
        ws.receive(deliver('room', 3, 'e', 'three'));
        ws.receive('LHTTP/1.0 error\r\ncode:410\r\nreason:history: position 99 old is no longer in the history\r\n\r\n');
        ws.receive("LHTTP/1.0 error\r\ncode:404\r\nreason:history: channel 'plain' keeps no history\r\n\r\n");
        ws.receive(deliver('room', 3, 'e', 'live three')); // already read: dropped
        ws.receive(deliver('room', 4, 'e', 'live four'));

        const got = await pending;
        assert.deepEqual(got.map((m) => [m.getBody(), m.getPosition().offset]), [['two', '2'], ['three', '3']]);
        assert.equal(got.channel, 'room');
        assert.deepEqual(got.position, { offset: '3', epoch: 'e' });
        assert.deepEqual((await afterPos).map((m) => m.getBody()), ['two', 'three']);
        await assert.rejects(refused, (e) => e instanceof LhttpError && e.code === 410 && /no longer/.test(e.reason));
        await assert.rejects(plain, (e) => e.code === 404);
        assert.deepEqual(c.log.messages.map((m) => m.getBody()), ['live two', 'live four']);
        assert.deepEqual(c.log.errors.map((e) => e.error.code), [403]);
        await assert.rejects(c.history('room', 0), /limit/);
        await assert.rejects(c.history('a b', 1), /exactly one channel/);
    });

    it('rejects history reads when the connection closes or no reply comes', async () => {
        const c = historyClient({ reconnectDelay: 1000, historyTimeout: 50 });
        const ws = FakeSocket.all[0];
        ws.open();
        const lost = c.history('room', 1);
        ws.drop();
        await assert.rejects(lost, /connection closed before the history reply/);
        const late = c.history('room', 1); // queued: reconnecting
        await assert.rejects(late, /no reply within 50 ms/);
        const queued = c.history('room', 1);
        c.close();
        await assert.rejects(queued, /closed/);
    });
});

// Presence channels (PROTOCOL.md, "Presence channels: who is here, join and leave events").
const joinEvent = (type, ch, client, node, user, info) =>
    `LHTTP/1.0 presence\r\n${type}:${ch}\r\nclient:${client}\r\nnode:${node}\r\n` +
    (user ? `user:${user}\r\n` : '') + `\r\n${info}`;

function presenceClient(options = {}) {
    const c = historyClient(options);
    c.log.joins = [];
    c.log.leaves = [];
    c.on_join = (e) => c.log.joins.push(e);
    c.on_leave = (e) => c.log.leaves.push(e);
    return c;
}

describe('Lhttp client: presence channels (fake WebSocket)', { timeout: 30000 }, () => {
    it('subscribes with presence info and join opt-ins from the options', () => {
        const c = presenceClient({ reconnect: false });
        const ws = FakeSocket.all[0];
        ws.open();
        c.subscribe('room.1', 'chat', null, '', { info: { name: 'Zoë', tags: ['a:b'] }, joins: true });
        c.subscribe('room.2 room.3', 'chat', { x: '1' }, 'hi', { info: 'plain text', joinsSelf: true });
        c.subscribe(['room.4', 'room.5'], 'chat', null, '', { joins: 'room.4', joinsSelf: ['room.5', 'room.4'] });
        c.subscribe('room.6', 'chat', null, '', { info: 42, joins: false });
        c.subscribe('room.7', 'chat', null, '', {});
        c.context.subscribe('room.8', 'chat', null, '', { joins: true }); // on a context too
        assert.deepEqual(ws.sent, [
            'LHTTP/1.0 chat\r\nsubscribe:room.1\r\npresence-info:{"name":"Zoë","tags":["a:b"]}\r\njoins:room.1\r\n\r\n',
            'LHTTP/1.0 chat\r\nsubscribe:room.2 room.3\r\npresence-info:plain text\r\njoins-self:room.2 room.3\r\nx:1\r\n\r\nhi',
            'LHTTP/1.0 chat\r\nsubscribe:room.4 room.5\r\njoins-self:room.5 room.4\r\n\r\n', // joins-self implies joins
            'LHTTP/1.0 chat\r\nsubscribe:room.6\r\npresence-info:42\r\n\r\n',
            'LHTTP/1.0 chat\r\nsubscribe:room.7\r\n\r\n',
            'LHTTP/1.0 chat\r\nsubscribe:room.8\r\njoins:room.8\r\n\r\n',
        ]);
        // Invalid options throw and send nothing; nothing carries over to the next message.
        assert.throws(() => c.subscribe('room.9', 'chat', null, '', 'joins'), /options must be an object/);
        assert.throws(() => c.subscribe('room.9', 'chat', null, '', { info: 'two\r\nlines' }), LhttpError);
        assert.throws(() => c.subscribe('room.9', 'chat', null, '', { info: () => 1 }), /presence info/);
        assert.throws(() => c.context.subscribe('room.9', 'chat', null, '', { joins: '' }), /no channel/);
        c.context.setCommand('next').send('x');
        assert.equal(ws.sent.length, 7);
        assert.equal(ws.sent[6], 'LHTTP/1.0 next\r\n\r\nx');
        assert.ok(!c.channels().includes('room.9'));
    });

    it('subscribes again with the same info and opt-ins after a reconnect; unsubscribe forgets them', async () => {
        const c = presenceClient();
        c.subscribe('p.a p.b', 'chat', null, '', { info: { name: 'A' }, joins: 'p.a' });
        c.subscribe('plain', 'chat');
        c.subscribe('p.c', 'chat', null, '', { info: { name: 'A' }, joinsSelf: true });
        c.subscribe('p.d', 'other', null, '', { info: 'd', joins: true });
        c.subscribe('p.e', 'chat', null, '', { info: 'e' });
        // Headers added by hand count too; a later opt-in changes an earlier one.
        c.subscribe('p.f', 'chat', [['presence-info', 'f'], ['joins', 'p.f p.b']]);
        c.subscribe('p.gone', 'chat', null, '', { info: 'g', joins: true });
        c.unsubscribe('p.gone', 'chat');
        const first = FakeSocket.all[0];
        first.open();
        assert.equal(first.sent.length, 8);
        first.drop();
        await tick(30);
        const second = FakeSocket.all[1];
        second.open();
        assert.deepEqual(second.sent, [
            'LHTTP/1.0 chat\r\nsubscribe:p.a p.b p.c\r\npresence-info:{"name":"A"}\r\njoins:p.a p.b\r\njoins-self:p.c\r\n\r\n',
            'LHTTP/1.0 chat\r\nsubscribe:plain\r\n\r\n',
            'LHTTP/1.0 other\r\nsubscribe:p.d\r\npresence-info:d\r\njoins:p.d\r\n\r\n',
            'LHTTP/1.0 chat\r\nsubscribe:p.e\r\npresence-info:e\r\n\r\n',
            'LHTTP/1.0 chat\r\nsubscribe:p.f\r\npresence-info:f\r\njoins:p.f\r\n\r\n',
        ]);
        assert.deepEqual(c.channels(), ['p.a', 'p.b', 'plain', 'p.c', 'p.d', 'p.e', 'p.f']);
        c.close();
    });

    it('recovers a history channel that has presence with its info and opt-ins', async () => {
        const c = presenceClient();
        c.recover('room', 'chat', '4 e1', { publish: 'room', event: 'join' }, '', { info: { name: 'A' }, joins: true });
        const first = FakeSocket.all[0];
        first.open();
        assert.deepEqual(first.sent, [
            'LHTTP/1.0 chat\r\nsubscribe:room\r\nrecover:room 4 e1\r\npresence-info:{"name":"A"}\r\njoins:room\r\n' +
            'publish:room\r\nevent:join\r\n\r\n',
        ]);
        first.receive('LHTTP/1.0 chat\r\nrecovered:room true 0 4 e1\r\n\r\n');
        first.drop();
        await tick(30);
        const second = FakeSocket.all[1];
        second.open();
        assert.deepEqual(second.sent, [
            'LHTTP/1.0 chat\r\nsubscribe:room\r\nrecover:room 4 e1\r\npresence-info:{"name":"A"}\r\njoins:room\r\n\r\n']);
        // Refused for its presence info: reported as an incomplete recovery, subscribed without it.
        second.receive('LHTTP/1.0 error\r\ncode:413\r\nreason:presence-info: longer than 256 bytes\r\n\r\n');
        assert.equal(second.sent[1], 'LHTTP/1.0 chat\r\nsubscribe:room\r\n\r\n');
        assert.deepEqual(c.log.recoveries[1].error, { type: 'reply', code: 413, reason: 'presence-info: longer than 256 bytes' });
        assert.deepEqual(c.log.errors, []);
        // Too many joins (429): asked again later, as for 503.
        c.recover('room.3', 'chat', '2 e1', null, '', { joins: true });
        second.receive('LHTTP/1.0 error\r\ncode:429\r\nreason:presence: more than 10 joins per second\r\n\r\n');
        await tick(30);
        assert.deepEqual(second.sent.slice(2), ['LHTTP/1.0 chat\r\nsubscribe:room.3\r\nrecover:room.3 2 e1\r\njoins:room.3\r\n\r\n',
            'LHTTP/1.0 chat\r\nsubscribe:room.3\r\nrecover:room.3 2 e1\r\njoins:room.3\r\n\r\n']);
        second.receive('LHTTP/1.0 chat\r\nrecovered:room.3 true 0 2 e1\r\n\r\n');
        assert.equal(c.log.recoveries.length, 3);
        assert.equal(c.log.recoveries[2].recovered, true);
        second.sent.splice(2, 2);
        // Refused because of history (no presence problem): subscribed again with presence.
        c.recover('room.2', 'chat', '1 e1', null, '', { info: 'i', joinsSelf: true });
        second.receive("LHTTP/1.0 error\r\ncode:404\r\nreason:recover: channel 'room.2' keeps no history\r\n\r\n");
        assert.equal(second.sent[3], 'LHTTP/1.0 chat\r\nsubscribe:room.2\r\npresence-info:i\r\njoins-self:room.2\r\n\r\n');
        c.close();
    });

    it('reads presence lists and stats; error replies reject with code and reason', async () => {
        const c = presenceClient({ reconnect: false });
        const ws = FakeSocket.all[0];
        const list = c.presence('room'); // queued until open
        ws.open();
        const stats = c.presenceStats('room');
        const userStats = c.presenceStats(['room'], 'alice');
        const missing = c.presence('plain');
        const forbidden = c.presenceStats('secret');
        const empty = c.presence('empty');
        assert.deepEqual(ws.sent, [
            'LHTTP/1.0 presence\r\npresence:room\r\n\r\n',
            'LHTTP/1.0 presence-stats\r\npresence-stats:room\r\n\r\n',
            'LHTTP/1.0 presence-stats\r\npresence-stats:room alice\r\n\r\n',
            'LHTTP/1.0 presence\r\npresence:plain\r\n\r\n',
            'LHTTP/1.0 presence-stats\r\npresence-stats:secret\r\n\r\n',
            'LHTTP/1.0 presence\r\npresence:empty\r\n\r\n',
        ]);
        const entries = [
            { client: '17', node: 'h1:8081', user: 'alice', info: '{"name":"Alice"}' },
            { client: '3', node: 'h2:8081', user: '', info: '' },
        ];
        ws.receive(`LHTTP/1.0 presence\r\npresence:room 5 2\r\n\r\n${JSON.stringify(entries)}`);
        // An error reply of another message (a subscribe's presence-info) is not the read's.
        ws.receive('LHTTP/1.0 error\r\ncode:413\r\nreason:presence-info: longer than 256 bytes\r\n\r\n');
        ws.receive('LHTTP/1.0 error\r\ncode:429\r\nreason:presence: more than 10 joins per second\r\n\r\n');
        ws.receive('LHTTP/1.0 presence-stats\r\npresence-stats:room 5 4\r\n\r\n');
        ws.receive('LHTTP/1.0 presence-stats\r\npresence-stats:room 5 4 2\r\n\r\n');
        ws.receive("LHTTP/1.0 error\r\ncode:404\r\nreason:presence: channel 'plain' has no presence\r\n\r\n");
        ws.receive("LHTTP/1.0 error\r\ncode:403\r\nreason:token does not allow subscribing to 'secret'\r\n\r\n");
        ws.receive('LHTTP/1.0 presence\r\npresence:empty 0 0\r\n\r\n[]');

        assert.deepEqual(await list, { channel: 'room', total: 5, listed: 2, entries });
        assert.deepEqual(await stats, { channel: 'room', connections: 5, users: 4 });
        assert.deepEqual(await userStats, { channel: 'room', connections: 5, users: 4, userConnections: 2 });
        await assert.rejects(missing, (e) => e instanceof LhttpError && e.code === 404 &&
            e.reason === "presence: channel 'plain' has no presence" && /^lhttp: presence: 404 /.test(e.message));
        await assert.rejects(forbidden, (e) => e.code === 403 && /subscribing to 'secret'/.test(e.reason));
        assert.deepEqual(await empty, { channel: 'empty', total: 0, listed: 0, entries: [] });
        assert.deepEqual(c.log.errors.map((e) => e.error.code), [413, 429]);
        assert.deepEqual(c.log.messages, []);

        // A reply with a body that is not a JSON array rejects the read.
        const broken = c.presence('room');
        ws.receive('LHTTP/1.0 presence\r\npresence:room 1 1\r\n\r\n{"client":"1"}');
        await assert.rejects(broken, /not a JSON array/);
        // A read sent by hand: its reply goes to on_message as it is.
        c.send('presence', { presence: 'room' });
        ws.receive('LHTTP/1.0 presence\r\npresence:room 0 0\r\n\r\n[]');
        assert.deepEqual(c.log.messages.map((m) => m.getHeader('presence')), ['room 0 0']);
        await assert.rejects(c.presence('a b'), /exactly one channel/);
        await assert.rejects(c.presenceStats('room', 'two words'), /user/);
    });

    it('rejects presence reads when the connection closes or no reply comes', async () => {
        const c = presenceClient({ reconnectDelay: 1000, presenceTimeout: 50 });
        const ws = FakeSocket.all[0];
        ws.open();
        const lost = c.presenceStats('room');
        ws.drop();
        await assert.rejects(lost, /connection closed before the presence-stats reply/);
        await assert.rejects(c.presence('room'), /presence: no reply within 50 ms/);
        const queued = c.presence('room');
        c.close();
        await assert.rejects(queued, /closed/);
    });

    it('hands join and leave events to on_join/on_leave and on() listeners, never to on_message', () => {
        const c = presenceClient({ reconnect: false });
        const ws = FakeSocket.all[0];
        ws.open();
        const seen = [];
        const offJoin = c.on('join', (e) => seen.push(['join', e.client]));
        c.on('leave', (e) => seen.push(['leave', e.client]));
        const messages = [];
        c.on('message', (ctx) => messages.push(ctx.getBody()));
        ws.receive(joinEvent('join', 'room', '17', 'h1:8081', 'alice', '{"name":"Alice"}'));
        ws.receive(joinEvent('leave', 'room', '3', 'h2:8081', '', ''));
        // Published by a user with the command `presence`: an ordinary message.
        ws.receive('LHTTP/1.0 presence\r\npublish:other\r\njoin:other\r\n\r\nuser data');
        offJoin();
        ws.receive(joinEvent('join', 'room', '18', 'h1:8081', '', 'multi\r\n\r\nline'));
        assert.deepEqual(c.log.joins, [
            { type: 'join', channel: 'room', client: '17', node: 'h1:8081', user: 'alice', info: '{"name":"Alice"}' },
            { type: 'join', channel: 'room', client: '18', node: 'h1:8081', user: '', info: 'multi\r\n\r\nline' },
        ]);
        assert.deepEqual(c.log.leaves, [{ type: 'leave', channel: 'room', client: '3', node: 'h2:8081', user: '', info: '' }]);
        assert.deepEqual(seen, [['join', '17'], ['leave', '3']]);
        assert.deepEqual(c.log.messages.map((m) => m.getBody()), ['user data']);
        assert.deepEqual(messages, ['user data']);
        assert.throws(() => c.on('joined', () => {}), /unknown event/);
        assert.throws(() => c.on('join', 'not a function'), LhttpError);
    });
});

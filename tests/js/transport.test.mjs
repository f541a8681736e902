// Unit tests of the transport (moodle-block/amd/src/transport.js) with a fake WebSocket and fake timers.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createTransport, backoffDelay, withPageToken} from '../../moodle-block/amd/src/transport.js';
import {closePolicy} from '../../moodle-block/amd/src/protocol.js';

/** A manual clock: timers fire only when the test advances time. */
const makeClock = () => {
    let now = 1_000_000;
    let seq = 0;
    const pending = new Map();
    return {
        now: () => now,
        timers: {
            setTimeout: (fn, ms) => {
                const id = ++seq;
                pending.set(id, {at: now + Math.max(0, ms), fn});
                return id;
            },
            clearTimeout: (id) => pending.delete(id),
        },
        async advance(ms) {
            const end = now + ms;
            for (;;) {
                let next = null;
                for (const [id, t] of pending) {
                    if (t.at <= end && (!next || t.at < next[1].at)) {
                        next = [id, t];
                    }
                }
                if (!next) {
                    break;
                }
                pending.delete(next[0]);
                now = next[1].at;
                next[1].fn();
                await flush();
            }
            now = end;
            await flush();
        },
        nextDelay() {
            let min = null;
            for (const t of pending.values()) {
                min = min === null ? t.at - now : Math.min(min, t.at - now);
            }
            return min;
        },
    };
};

const flush = async() => {
    for (let i = 0; i < 10; i++) {
        await Promise.resolve();
    }
};

/** Fake WebSocket class recording every instance. */
const makeWS = () => {
    const sockets = [];
    class FakeWS {
        constructor(url) {
            this.url = url;
            this.sent = [];
            this.closed = false;
            sockets.push(this);
        }
        send(data) {
            if (this.closed) {
                throw new Error('closed');
            }
            const frame = JSON.parse(data);
            this.sent.push(frame);
            if (frame.type === 'ping' && !this.deaf) {
                // A live server answers; `deaf` simulates a half-open connection.
                queueMicrotask(() => this.receive({type: 'pong', n: frame.n}));
            }
        }
        close(code) {
            this.closed = true;
            this.closeCode = code;
        }
        // Test helpers.
        open() {
            this.onopen && this.onopen();
        }
        receive(frame) {
            this.onmessage && this.onmessage({data: JSON.stringify(frame)});
        }
        serverClose(code) {
            this.closed = true;
            this.onclose && this.onclose({code});
        }
        frames(type) {
            return this.sent.filter((f) => f.type === type);
        }
    }
    return {FakeWS, sockets};
};

const welcomeFrame = (cursor, extra) => Object.assign({type: 'welcome', v: 1, user: {id: 9}, online: [], windows: [],
    cursor, token_exp: 1000 + 300, server_time: 1000, limits: {}}, extra || {});

const setup = (overrides) => {
    const clock = makeClock();
    const {FakeWS, sockets} = makeWS();
    let tokens = 0;
    const statuses = [];
    const frames = [];
    const failures = [];
    const t = createTransport(Object.assign({
        getToken: () => Promise.resolve({token: `tok${++tokens}`, exp: 1300, wsurl: 'ws://dock/ws'}),
        WebSocket: FakeWS,
        timers: clock.timers,
        now: clock.now,
        random: () => 0.5,
        net: null,
        isOnline: () => true,
    }, overrides || {}));
    t.on('status', (s) => statuses.push(s));
    t.on('frame', (f) => frames.push(f));
    t.on('sendfailed', (f) => failures.push(f));
    return {t, clock, sockets, statuses, frames, failures, tokenCount: () => tokens};
};

const connect = async(env, cursor) => {
    await flush();
    const ws = env.sockets[env.sockets.length - 1];
    ws.open();
    ws.receive(welcomeFrame(cursor));
    return ws;
};

test('hello carries the token; the first hello has no since, reconnects send since = highest id seen', async() => {
    const env = setup();
    env.t.start();
    await flush();
    const ws1 = env.sockets[0];
    assert.equal(ws1.url, 'ws://dock/ws');
    ws1.open();
    assert.deepEqual(ws1.sent[0], {type: 'hello', v: 1, token: 'tok1'});
    ws1.receive(welcomeFrame(40));
    assert.equal(env.t.cursor, 40);
    ws1.receive({type: 'message', message: {id: 41, from: 7, to: 9, text: 'a', time: 1}, sender: {id: 7}});
    ws1.receive({type: 'ack', cid: 'c-x', id: 42, time: 1, to: 7, dup: false});
    ws1.serverClose(1006);
    const delay = env.clock.nextDelay();
    assert.ok(delay >= 500 && delay <= 1000, `first retry after 0.5-1 s (${delay})`);
    await env.clock.advance(delay);
    const ws2 = env.sockets[1];
    ws2.open();
    assert.deepEqual(ws2.sent[0], {type: 'hello', v: 1, token: 'tok2', since: 42}, 'a fresh token and since');
    // The welcome of a resume must not move the cursor past what missed delivers.
    ws2.receive(welcomeFrame(50));
    assert.equal(env.t.cursor, 42);
    ws2.receive({type: 'missed', messages: [{id: 45}, {id: 50}], cursor: 50, done: true, truncated: false});
    assert.equal(env.t.cursor, 50);
});

test('a welcome whose cursor is below ours (the database started over) resets the cursor and says so first', async() => {
    const env = setup();
    const events = [];
    env.t.on('reset', (r) => events.push(['reset', r.cursor]));
    env.t.on('frame', (f) => events.push([f.type]));
    env.t.start();
    const ws1 = await connect(env, 40);
    ws1.receive({type: 'message', message: {id: 41, from: 7, to: 9, text: 'a', time: 1}, sender: {id: 7}});
    env.t.sendMessage(7, 'queued', 'c-q');
    ws1.serverClose(1012);
    await env.clock.advance(5000);
    const ws2 = env.sockets[1];
    ws2.open();
    assert.equal(ws2.sent[0].since, 41);
    events.length = 0;
    ws2.receive(welcomeFrame(3));
    assert.deepEqual(events, [['reset', 3], ['welcome']], 'reset, then the welcome');
    assert.equal(env.t.cursor, 3);
    assert.deepEqual(ws2.frames('send').map((f) => f.cid), ['c-q'], 'the queued send goes to the new server');
    ws2.receive({type: 'ack', cid: 'c-q', id: 4, time: 1, to: 7, dup: false});
    assert.equal(env.t.cursor, 4);
    assert.deepEqual(env.t.pending, []);
});

test('a tab that takes over the socket of another (resumeFrom) resumes from its cursor at its first hello', async() => {
    const env = setup({resumeFrom: 21});
    env.t.start();
    await flush();
    env.sockets[0].open();
    assert.deepEqual(env.sockets[0].sent[0], {type: 'hello', v: 1, token: 'tok1', since: 21});
    env.sockets[0].receive(welcomeFrame(30));
    assert.equal(env.t.cursor, 21, 'the missed frames move it on, not the welcome');
    const reset = setup({resumeFrom: 21});
    const resets = [];
    reset.t.on('reset', (r) => resets.push(r.cursor));
    reset.t.start();
    await connect(reset, 4);
    assert.deepEqual(resets, [4], 'a server that started over is noticed as on a reconnect');
});

test('a resume after a first session with no messages still sends since = 0', async() => {
    const env = setup();
    env.t.start();
    const ws1 = await connect(env, 0);
    ws1.serverClose(1012);
    await env.clock.advance(5000);
    env.sockets[1].open();
    assert.equal(env.sockets[1].sent[0].since, 0);
});

test('backoff grows exponentially with jitter, is capped, and resets after a welcome', async() => {
    assert.equal(backoffDelay(0, 1000, 30000, () => 0), 500);
    assert.equal(backoffDelay(0, 1000, 30000, () => 1), 1000);
    assert.equal(backoffDelay(3, 1000, 30000, () => 1), 8000);
    assert.equal(backoffDelay(10, 1000, 30000, () => 1), 30000);
    assert.equal(backoffDelay(10, 1000, 30000, () => 0), 15000);

    const env = setup();
    env.t.start();
    const delays = [];
    for (let i = 0; i < 6; i++) {
        await flush();
        env.sockets[env.sockets.length - 1].serverClose(1006);
        delays.push(env.clock.nextDelay());
        await env.clock.advance(delays[delays.length - 1]);
    }
    assert.deepEqual(delays, [750, 1500, 3000, 6000, 12000, 22500]);
    const last = env.statuses.filter((s) => s.state === 'waiting').pop();
    assert.equal(last.delayMs, 22500);
    await connect(env, 0);
    env.sockets[env.sockets.length - 1].serverClose(1006);
    assert.equal(env.clock.nextDelay(), 750, 'reset after a successful welcome');
});

test('unacked sends are queued while offline and sent again with the same cid after reconnect', async() => {
    const env = setup();
    env.t.start();
    const ws1 = await connect(env, 10);
    const cid = env.t.sendMessage(7, 'hello', 'c-1');
    assert.equal(cid, 'c-1');
    assert.deepEqual(ws1.frames('send'), [{type: 'send', to: 7, cid: 'c-1', text: 'hello'}]);
    // The ack is lost with the connection.
    ws1.serverClose(1006);
    env.t.sendMessage(7, 'second', 'c-2');
    assert.deepEqual(env.t.pending, ['c-1', 'c-2']);
    await env.clock.advance(env.clock.nextDelay());
    const ws2 = await connect(env, 10);
    assert.deepEqual(ws2.frames('send').map((f) => f.cid), ['c-1', 'c-2'], 'same cids, same order');
    ws2.receive({type: 'ack', cid: 'c-1', id: 11, time: 1, to: 7, dup: true});
    ws2.receive({type: 'ack', cid: 'c-2', id: 12, time: 1, to: 7, dup: false});
    assert.deepEqual(env.t.pending, []);
    ws2.serverClose(1006);
    await env.clock.advance(env.clock.nextDelay());
    const ws3 = await connect(env, 12);
    assert.equal(ws3.frames('send').length, 0, 'acked messages are never sent again');
});

test('a retryable error resends the same cid later; a final one gives up and reports', async() => {
    const env = setup();
    env.t.start();
    const ws = await connect(env, 0);
    env.t.sendMessage(7, 'a', 'c-r');
    env.t.sendMessage(7, 'b', 'c-f');
    ws.receive({type: 'error', code: 'internal', message: 'db down', ref: 'c-r'});
    ws.receive({type: 'error', code: 'blocked', message: 'blocked', ref: 'c-f'});
    assert.deepEqual(env.failures.map((f) => [f.cid, f.code, f.final]), [['c-r', 'internal', false], ['c-f', 'blocked', true]]);
    assert.deepEqual(env.t.pending, ['c-r']);
    await env.clock.advance(2000);
    assert.deepEqual(ws.frames('send').map((f) => f.cid), ['c-r', 'c-f', 'c-r']);
});

test('close-code policy (PROTOCOL §7)', async() => {
    assert.equal(closePolicy(4003).action, 'stop');
    assert.equal(closePolicy(4004).action, 'stop');
    assert.equal(closePolicy(4001).action, 'refetch-token');
    assert.equal(closePolicy(4008).minDelayMs, 30000);
    assert.deepEqual([closePolicy(1012).minDelayMs, closePolicy(1012).maxDelayMs], [1000, 5000]);

    // 4003 / 4004: stop, no reconnect.
    for (const code of [4003, 4004]) {
        const env = setup();
        env.t.start();
        const ws = await connect(env, 0);
        ws.serverClose(code);
        assert.equal(env.clock.nextDelay(), null, `no timer after ${code}`);
        assert.deepEqual(env.statuses[env.statuses.length - 1], {state: 'stopped', code, fatal: true});
        await env.clock.advance(120000);
        assert.equal(env.sockets.length, 1);
    }

    // 1012: reconnect after 1-5 s with a fresh token.
    {
        const env = setup();
        env.t.start();
        (await connect(env, 0)).serverClose(1012);
        const d = env.clock.nextDelay();
        assert.ok(d >= 1000 && d <= 5000, `1012 delay ${d}`);
        await env.clock.advance(d);
        assert.equal(env.tokenCount(), 2);
    }

    // 4008: at least 30 s.
    {
        const env = setup();
        env.t.start();
        (await connect(env, 0)).serverClose(4008);
        assert.ok(env.clock.nextDelay() >= 30000);
    }

    // 4002: fresh token, reconnect at once.
    {
        const env = setup();
        env.t.start();
        (await connect(env, 0)).serverClose(4002);
        assert.equal(env.clock.nextDelay(), 0);
        await env.clock.advance(0);
        assert.equal(env.sockets.length, 2);
        assert.equal(env.tokenCount(), 2);
    }

    // 4001 (the secret was regenerated; the daemon may not have it yet): a fresh token at once, then
    // fresh tokens with backoff for as long as Moodle gives them; connected again once one is accepted.
    {
        const env = setup();
        env.t.start();
        await flush();
        env.sockets[0].open();
        env.sockets[0].serverClose(4001);
        await env.clock.advance(0);
        assert.equal(env.sockets.length, 2);
        env.sockets[1].open();
        assert.equal(env.sockets[1].sent[0].token, 'tok2');
        const delays = [];
        for (let i = 1; i <= 4; i++) {
            env.sockets[i].serverClose(4001);
            assert.equal(env.statuses[env.statuses.length - 1].state, 'waiting', `retrying after 4001 #${i + 1}`);
            delays.push(env.clock.nextDelay());
            await env.clock.advance(delays[delays.length - 1]);
            await flush();
            env.sockets[i + 1].open();
            assert.equal(env.sockets[i + 1].sent[0].token, `tok${i + 2}`, 'a fresh token each time');
        }
        assert.ok(delays.every((d, i) => i === 0 || d > delays[i - 1]), `backoff grows: ${delays}`);
        env.sockets[5].receive(welcomeFrame(0));
        assert.equal(env.statuses[env.statuses.length - 1].state, 'connected');
    }

    // 4001, then Moodle refuses a token: stop.
    {
        let refuse = false;
        let n = 0;
        const env = setup({getToken: () => (refuse ? Promise.reject(new Error('not logged in'))
            : Promise.resolve({token: `tok${++n}`, exp: 1300, wsurl: 'ws://dock/ws'}))});
        env.t.start();
        await flush();
        env.sockets[0].open();
        refuse = true;
        env.sockets[0].serverClose(4001);
        await env.clock.advance(0);
        assert.deepEqual(env.statuses[env.statuses.length - 1], {state: 'stopped', code: 4001, fatal: true});
        await env.clock.advance(120000);
        assert.equal(env.sockets.length, 1);
    }

    // A token fetch that fails without a 4001 (network, Moodle down) is retried with backoff.
    {
        let fail = true;
        const env = setup({getToken: () => (fail ? Promise.reject(new Error('network'))
            : Promise.resolve({token: 'tok', exp: 1300, wsurl: 'ws://dock/ws'}))});
        env.t.start();
        await flush();
        assert.equal(env.statuses[env.statuses.length - 1].state, 'waiting');
        fail = false;
        await env.clock.advance(env.clock.nextDelay());
        assert.equal(env.sockets.length, 1);
    }
});

test('the token is refreshed over the socket before it expires', async() => {
    const env = setup();
    env.t.start();
    const ws = await connect(env, 0); // token_exp - server_time = 300 s
    await env.clock.advance(239000);
    assert.equal(ws.frames('token').length, 0);
    await env.clock.advance(1000);
    assert.deepEqual(ws.frames('token'), [{type: 'token', token: 'tok2'}]);
    ws.receive({type: 'token_ok', exp: 1000 + 240 + 300});
    await env.clock.advance(240000);
    assert.equal(ws.frames('token').length, 2, 'and again before the new expiry');
});

test('no welcome in time: drop the socket and reconnect', async() => {
    const env = setup();
    env.t.start();
    await flush();
    env.sockets[0].open();
    await env.clock.advance(15000);
    assert.equal(env.sockets[0].closed, true);
    await env.clock.advance(env.clock.nextDelay());
    assert.equal(env.sockets.length, 2);
});

test('token fetch failure retries with backoff', async() => {
    let fail = true;
    const env = setup({getToken: () => (fail ? Promise.reject(new Error('offline')) : Promise.resolve({token: 't', exp: 1, wsurl: 'ws://x'}))});
    env.t.start();
    await flush();
    assert.equal(env.sockets.length, 0);
    assert.equal(env.statuses[env.statuses.length - 1].state, 'waiting');
    fail = false;
    await env.clock.advance(env.clock.nextDelay());
    assert.equal(env.sockets.length, 1);
});

test('offline and online events: wait while offline, reconnect at once when back', async() => {
    let online = true;
    const listeners = {};
    const net = {addEventListener: (t, fn) => {
        listeners[t] = fn;
    }, removeEventListener: () => {}};
    const env = setup({net, isOnline: () => online});
    env.t.start();
    const ws = await connect(env, 5);
    online = false;
    listeners.offline();
    assert.equal(ws.closed, true);
    assert.equal(env.statuses[env.statuses.length - 1].state, 'offline');
    assert.equal(env.clock.nextDelay(), null);
    online = true;
    listeners.online();
    await flush();
    assert.equal(env.sockets.length, 2);
    env.sockets[1].open();
    assert.equal(env.sockets[1].sent[0].since, 5);
});

test('control frames while disconnected: the latest per key is sent after the welcome', async() => {
    const env = setup();
    env.t.start();
    await flush();
    assert.equal(env.t.send({type: 'window', with: 7, state: 'open'}, 'window:7'), false);
    env.t.send({type: 'window', with: 7, state: 'minimised'}, 'window:7');
    env.t.send({type: 'typing', to: 7});
    const ws = await connect(env, 0);
    assert.deepEqual(ws.sent.slice(1), [{type: 'window', with: 7, state: 'minimised'}]);
});

test('a stale socket of an earlier attempt cannot disturb the current one', async() => {
    const env = setup();
    env.t.start();
    const ws1 = await connect(env, 0);
    ws1.serverClose(1006);
    await env.clock.advance(env.clock.nextDelay());
    const ws2 = await connect(env, 0);
    ws1.receive({type: 'message', message: {id: 999}});
    ws1.serverClose(1006);
    assert.equal(env.t.cursor, 0);
    assert.equal(env.t.connected, true);
    assert.equal(ws2.closed, false);
});

test('a half-open connection (no answers to pings) is dropped and reconnected', async() => {
    const env = setup();
    env.t.start();
    const ws = await connect(env, 3);
    ws.deaf = true;
    await env.clock.advance(25000 * 3);
    assert.equal(ws.closed, true);
    assert.ok(ws.frames('ping').length >= 1);
    await env.clock.advance(env.clock.nextDelay());
    env.sockets[1].open();
    assert.equal(env.sockets[1].sent[0].since, 3);
});

test('stop closes with 1000 and never reconnects', async() => {
    const env = setup();
    env.t.start();
    const ws = await connect(env, 0);
    env.t.stop();
    assert.equal(ws.closeCode, 1000);
    await env.clock.advance(120000);
    assert.equal(env.sockets.length, 1);
});

/** A transport whose getToken is withPageToken(fetch, page, elapsed): fetched tokens are tok1, tok2, ... */
const setupWithPage = (page, elapsedMs) => {
    let fetched = 0;
    const fetchToken = () => Promise.resolve({token: `tok${++fetched}`, exp: 1300, wsurl: 'ws://dock/ws'});
    const env = setup({getToken: withPageToken(fetchToken, page, () => elapsedMs), wsurl: 'ws://page/ws'});
    env.fetched = () => fetched;
    return env;
};

const helloToken = (ws) => ws.frames('hello')[0].token;

test('the page token is used for the first connection, without a fetch; refreshes fetch', async() => {
    const env = setupWithPage({token: 'pagetok', exp: 1300, now: 1000}, 800);
    env.t.start();
    const ws = await connect(env, 0);
    assert.equal(ws.url, 'ws://page/ws', 'the page token has no wsurl: the configured one is used');
    assert.equal(helloToken(ws), 'pagetok');
    assert.equal(env.fetched(), 0, 'no web service call before connecting');
    await env.clock.advance(240000);
    assert.deepEqual(ws.frames('token'), [{type: 'token', token: 'tok1'}], 'the refresh over the socket fetches');
    assert.equal(env.fetched(), 1);
});

test('a page token with 30 s or less left (by the page clock plus the time since navigation) is not used', async() => {
    // 300 s lifetime, but 271 s since the navigation started: 29 s left.
    const env = setupWithPage({token: 'pagetok', exp: 1300, now: 1000}, 271000);
    env.t.start();
    const ws = await connect(env, 0);
    assert.equal(helloToken(ws), 'tok1');
    assert.equal(env.fetched(), 1);

    // Already expired by the page's own clock.
    const env2 = setupWithPage({token: 'pagetok', exp: 1020, now: 1000}, 10);
    env2.t.start();
    assert.equal(helloToken(await connect(env2, 0)), 'tok1');

    // 31 s left: still used.
    const env3 = setupWithPage({token: 'pagetok', exp: 1300, now: 1000}, 269000);
    env3.t.start();
    assert.equal(helloToken(await connect(env3, 0)), 'pagetok');
    assert.equal(env3.fetched(), 0);
});

test('no page token (or a malformed one): the first connection fetches, as before', async() => {
    for (const page of [null, {token: '', exp: 1300, now: 1000}, {token: 'pagetok', exp: '1300', now: 1000},
        {token: 'pagetok', exp: 1300}]) {
        const env = setupWithPage(page, 0);
        env.t.start();
        assert.equal(helloToken(await connect(env, 0)), 'tok1', JSON.stringify(page));
        assert.equal(env.fetched(), 1);
    }
});

test('a refused (4001) or expired (4002) page token: the reconnect fetches a fresh one', async() => {
    for (const code of [4001, 4002]) {
        const env = setupWithPage({token: 'pagetok', exp: 1300, now: 1000}, 500);
        env.t.start();
        await flush();
        const ws1 = env.sockets[0];
        ws1.open();
        assert.equal(helloToken(ws1), 'pagetok');
        ws1.serverClose(code);
        await env.clock.advance(0);
        const ws2 = env.sockets[1];
        assert.ok(ws2, `reconnected after ${code}`);
        ws2.open();
        assert.equal(helloToken(ws2), 'tok1', `fresh token after ${code}`);
        assert.equal(env.fetched(), 1);
    }
});

test('any later connection fetches, even while the page token would still be valid', async() => {
    const env = setupWithPage({token: 'pagetok', exp: 1300, now: 1000}, 0);
    env.t.start();
    const ws1 = await connect(env, 0);
    assert.equal(helloToken(ws1), 'pagetok');
    ws1.serverClose(1006);
    await env.clock.advance(1000);
    const ws2 = env.sockets[1];
    ws2.open();
    assert.equal(helloToken(ws2), 'tok1');
});

test('activity: a page that hides as it goes, followed by an active one, tells nothing', async() => {
    const env = setup();
    env.t.start();
    await flush();
    const ws = env.sockets[0];
    ws.open();
    ws.receive(welcomeFrame(1));
    await env.clock.advance(5000);
    // The tab navigates: the leaving page says hidden, the next one is active 600 ms later.
    env.t.setActivity('hidden');
    await env.clock.advance(600);
    env.t.setActivity('active');
    await env.clock.advance(5000);
    assert.deepEqual(ws.frames('activity'), [], 'no away, no online');
    // A real hide is told, two seconds after it began.
    env.t.setActivity('hidden');
    await env.clock.advance(1900);
    assert.deepEqual(ws.frames('activity'), []);
    await env.clock.advance(100);
    assert.deepEqual(ws.frames('activity'), [{type: 'activity', state: 'hidden'}]);
    // Coming back is told at once.
    await env.clock.advance(1000);
    env.t.setActivity('active');
    assert.deepEqual(ws.frames('activity').map((f) => f.state), ['hidden', 'active']);
});

test('activity: in every hello, then sent when it changes, at most once a second', async() => {
    const env = setup();
    env.t.setActivity('hidden');
    env.t.start();
    await flush();
    const ws = env.sockets[0];
    ws.open();
    assert.equal(ws.sent[0].state, 'hidden', 'the hello says the tab is hidden');
    ws.receive(welcomeFrame(1));
    assert.deepEqual(ws.frames('activity'), [], 'nothing new to say');
    env.t.setActivity('active');
    assert.deepEqual(ws.frames('activity'), [{type: 'activity', state: 'active'}]);
    env.t.setActivity('hidden');
    env.t.setActivity('idle');
    assert.equal(ws.frames('activity').length, 1, 'not twice within a second');
    await env.clock.advance(1000);
    assert.equal(ws.frames('activity').length, 1, 'not active for less than two seconds: not told yet');
    await env.clock.advance(1000);
    assert.deepEqual(ws.frames('activity').map((f) => f.state), ['active', 'idle'], 'the latest state, once');
    env.t.setActivity('active');
    env.t.setActivity('idle');
    await env.clock.advance(2000);
    assert.equal(ws.frames('activity').length, 2, 'back to what the server knows: nothing sent');
    // A reconnect says the state in its hello.
    ws.serverClose(1006);
    await env.clock.advance(env.clock.nextDelay());
    await flush();
    const ws2 = env.sockets[1];
    ws2.open();
    assert.equal(ws2.sent[0].state, 'idle');
});

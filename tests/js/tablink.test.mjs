// Unit tests of the socket shared by the tabs of a user (moodle-block/amd/src/tablink.js, issue 15 item 5),
// with a fake BroadcastChannel, fake Web Locks and a fake transport for the leader's socket: one leader, frames
// passed on, acks to the sending tab, a joining tab's welcome, the take-over with resume, the fallback check.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createSharedTransport, canShareSocket, ROLES} from '../../moodle-block/amd/src/tablink.js';

// The fake channel delivers on timers: let every message in flight (and those it causes) arrive.
const settle = async() => {
    for (let i = 0; i < 20; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
    }
};

/** One browser: BroadcastChannel and navigator.locks shared by the views made from it. */
const browser = () => {
    const channels = [];
    const held = new Map();
    const waiting = new Map();
    class FakeChannel {
        constructor(name) {
            this.name = name;
            this.onmessage = null;
            channels.push(this);
        }
        postMessage(data) {
            const copy = structuredClone(data);
            channels.filter((c) => c !== this && c.name === this.name).forEach((c) => setTimeout(() => c.onmessage && c.onmessage({data: copy}), 0));
        }
        close() {
            channels.splice(channels.indexOf(this), 1);
        }
    }
    const grant = (name, cb) => {
        held.set(name, true);
        return Promise.resolve(cb({name})).then(() => {
            held.delete(name);
            const next = (waiting.get(name) || []).shift();
            if (next) {
                next();
            }
        });
    };
    const locks = {
        request(name, opts, cb) {
            const fn = typeof opts === 'function' ? opts : cb;
            const options = typeof opts === 'function' ? {} : opts;
            if (!held.has(name)) {
                return grant(name, fn);
            }
            if (options.ifAvailable) {
                return Promise.resolve(fn(null));
            }
            return new Promise((resolve) => {
                (waiting.get(name) || waiting.set(name, []).get(name)).push(() => resolve(grant(name, fn)));
            });
        },
    };
    return {view: () => ({BroadcastChannel: FakeChannel, navigator: {locks}})};
};

/** A fake of the leader's transport, recording what it was asked. */
const fakeSockets = () => {
    const made = [];
    const factory = (options) => {
        const listeners = {};
        const t = {
            options,
            started: false,
            stopped: false,
            connected: false,
            cursor: options.resumeFrom || 0,
            status: {state: 'idle'},
            sent: [],
            messages: [],
            pending: [],
            on(type, fn) {
                (listeners[type] = listeners[type] || []).push(fn);
            },
            emit(type, payload) {
                // As the real transport: the cursor follows the messages and acks received.
                const id = type === 'frame' && (payload.type === 'ack' ? payload.id : payload.message && payload.message.id);
                if (id > t.cursor) {
                    t.cursor = id;
                }
                (listeners[type] || []).forEach((fn) => fn(payload));
            },
            start() {
                t.started = true;
            },
            stop() {
                t.stopped = true;
            },
            reconnectNow() {},
            send(frame) {
                t.sent.push(frame);
                return t.connected;
            },
            sendMessage(to, text, cid) {
                t.messages.push({to, text, cid});
                return cid;
            },
            activities: [],
            setActivity(state) {
                t.activities.push(state);
            },
            /** The server's welcome on this socket. */
            welcome(cursor) {
                t.connected = true;
                t.cursor = cursor;
                t.status = {state: 'connected'};
                t.emit('status', t.status);
                t.emit('frame', {type: 'welcome', cursor, online: [], windows: []});
            },
        };
        made.push(t);
        return t;
    };
    return {factory, made};
};

const tab = (b, sockets, id, welcome) => {
    const frames = [];
    const failed = [];
    let n = 0;
    const t = createSharedTransport({view: b.view(), userid: 9, transport: {getToken: () => Promise.resolve({token: 'x'})},
        createTransport: sockets.factory, tabId: () => id});
    t.on('frame', (f) => frames.push(f));
    t.on('sendfailed', (f) => failed.push(f));
    t.setWelcomeSource(() => (welcome ? Object.assign({n: ++n}, welcome) : null));
    t.start();
    return {t, frames, failed};
};

test('the first tab owns the socket; the others send through it and get every frame, acks only in the sending tab', async() => {
    const b = browser();
    const sockets = fakeSockets();
    const a = tab(b, sockets, 'a', {type: 'welcome', cursor: 5, online: [], windows: []});
    await settle();
    assert.equal(a.t.role, ROLES.LEADER);
    assert.equal(sockets.made.length, 1);
    sockets.made[0].welcome(5);
    const f = tab(b, sockets, 'f');
    const g = tab(b, sockets, 'g');
    await settle();
    assert.equal(f.t.role, ROLES.FOLLOWER);
    assert.equal(g.t.role, ROLES.FOLLOWER);
    assert.equal(sockets.made.length, 1, 'one socket for three tabs');
    assert.equal(f.frames[0].type, 'welcome', 'a joining tab gets the leader\'s welcome');
    assert.equal(f.t.connected, true);
    f.t.sendMessage(7, 'hi', 'c-1');
    assert.ok(f.t.send({type: 'history', with: 7, limit: 30}));
    await settle();
    assert.deepEqual(sockets.made[0].messages, [{to: 7, text: 'hi', cid: 'c-1'}]);
    assert.deepEqual(sockets.made[0].sent, [{type: 'history', with: 7, limit: 30}]);
    assert.deepEqual(f.t.pending, ['c-1']);
    const socket = sockets.made[0];
    socket.emit('frame', {type: 'ack', cid: 'c-1', id: 6, conv: 1, time: 1, to: 7, dup: false});
    socket.emit('frame', {type: 'message', message: {id: 6, from: 9, to: 7, cid: 'c-1', text: 'hi'}});
    await settle();
    const types = (x) => x.frames.map((fr) => fr.type);
    assert.deepEqual(types(f), ['welcome', 'ack', 'message']);
    assert.deepEqual(types(g), ['welcome', 'message'], 'no ack in a tab that did not send it');
    assert.deepEqual(types(a), ['welcome', 'message']);
    assert.deepEqual(f.t.pending, []);
    assert.equal(f.t.cursor, 6);
});

test('a refused send reaches the tab that sent it; its queued frames go after the welcome', async() => {
    const b = browser();
    const sockets = fakeSockets();
    tab(b, sockets, 'a');
    await settle();
    const f = tab(b, sockets, 'f');
    const g = tab(b, sockets, 'g');
    await settle();
    assert.equal(f.t.connected, false, 'the leader is not connected yet');
    assert.equal(f.t.send({type: 'window', with: 7, state: 'open'}, 'window:7'), false);
    f.t.sendMessage(7, 'hello', 'c-2');
    await settle();
    sockets.made[0].welcome(10);
    await settle();
    assert.ok(sockets.made[0].sent.some((fr) => fr.type === 'window'), 'the queued window frame after the welcome');
    assert.ok(sockets.made[0].messages.filter((m) => m.cid === 'c-2').length >= 1);
    sockets.made[0].emit('sendfailed', {cid: 'c-2', to: 7, code: 'blocked', final: true});
    sockets.made[0].emit('frame', {type: 'error', code: 'blocked', ref: 'c-2'});
    await settle();
    assert.deepEqual(f.failed, [{cid: 'c-2', to: 7, code: 'blocked', final: true}]);
    assert.deepEqual(g.failed, []);
    assert.ok(f.frames.some((fr) => fr.type === 'error'));
    assert.ok(!g.frames.some((fr) => fr.type === 'error'));
    assert.deepEqual(f.t.pending, []);
});

test('when the leader\'s tab goes, a waiting tab takes the socket, resumes from its cursor and sends again what was not acked', async() => {
    const b = browser();
    const sockets = fakeSockets();
    const a = tab(b, sockets, 'a', {type: 'welcome', cursor: 20, online: [], windows: []});
    await settle();
    sockets.made[0].welcome(20);
    const f = tab(b, sockets, 'f');
    await settle();
    sockets.made[0].emit('frame', {type: 'message', message: {id: 21, from: 7, to: 9, text: 'x'}});
    f.t.sendMessage(7, 'not acked yet', 'c-3');
    await settle();
    a.t.stop();
    await settle();
    assert.equal(f.t.role, ROLES.LEADER);
    assert.equal(sockets.made.length, 2);
    const next = sockets.made[1];
    assert.equal(next.options.resumeFrom, 21, 'hello with since = the cursor it had');
    assert.equal(next.started, true);
    assert.deepEqual(next.messages, [{to: 7, text: 'not acked yet', cid: 'c-3'}], 'the same cid: stored once');
    next.emit('frame', {type: 'ack', cid: 'c-3', id: 22, conv: 1, time: 1, to: 7, dup: false});
    assert.equal(f.frames.at(-1).type, 'ack', 'its own ack, in its own tab');
});

test('a socket per tab without BroadcastChannel or Web Locks', () => {
    assert.equal(canShareSocket(null), false);
    assert.equal(canShareSocket({navigator: {locks: {request() {}}}}), false);
    assert.equal(canShareSocket({BroadcastChannel: function() {}, navigator: {}}), false);
    assert.equal(canShareSocket(browser().view()), true);
});

test('a message sent again by a page that loads (kept in localStorage by another tab) is acked in the tab that sent it first', async() => {
    const b = browser();
    const sockets = fakeSockets();
    tab(b, sockets, 'a', {type: 'welcome', cursor: 1, online: [], windows: []});
    await settle();
    sockets.made[0].welcome(1);
    const f = tab(b, sockets, 'f');
    const g = tab(b, sockets, 'g');
    await settle();
    f.t.sendMessage(7, 'first', 'c-9');
    await settle();
    g.t.sendMessage(7, 'first', 'c-9');
    await settle();
    sockets.made[0].emit('frame', {type: 'ack', cid: 'c-9', id: 2, conv: 1, time: 1, to: 7, dup: false});
    sockets.made[0].emit('frame', {type: 'message', message: {id: 2, from: 9, to: 7, cid: 'c-9', text: 'first'}});
    await settle();
    assert.ok(f.frames.some((fr) => fr.type === 'ack'), 'the first sender hears the ack');
    assert.ok(!g.frames.some((fr) => fr.type === 'ack'));
    assert.deepEqual(g.t.pending, [], 'the other tab knows it is stored from the message itself');
    assert.deepEqual(f.t.pending, []);
});

test('presence: the leader reports the browser\'s activity, active while one tab is, away only when all are idle or hidden', async() => {
    const b = browser();
    const sockets = fakeSockets();
    const a = tab(b, sockets, 'a', {type: 'welcome', cursor: 5, online: [], windows: []});
    await settle();
    sockets.made[0].welcome(5);
    const f = tab(b, sockets, 'f');
    const g = tab(b, sockets, 'g');
    await settle();
    const socket = sockets.made[0];
    const last = () => socket.activities[socket.activities.length - 1];
    assert.equal(last(), 'active', 'every tab starts active');
    a.t.setActivity('hidden');
    f.t.setActivity('hidden');
    await settle();
    assert.equal(last(), 'active', 'g is still active');
    g.t.setActivity('idle');
    await settle();
    assert.equal(last(), 'idle', 'no tab active: idle (away)');
    g.t.setActivity('hidden');
    await settle();
    assert.equal(last(), 'hidden');
    f.t.setActivity('active');
    await settle();
    assert.equal(last(), 'active', 'input in a follower tab brings the user back');
    // The leader goes: the new one hears every tab again and reports what they say.
    f.t.setActivity('hidden');
    await settle();
    a.t.stop();
    await settle();
    const next = sockets.made[sockets.made.length - 1];
    assert.notEqual(next, socket, 'a new leader has its socket');
    assert.equal(next.activities[next.activities.length - 1], 'hidden', 'f and g are hidden');
});

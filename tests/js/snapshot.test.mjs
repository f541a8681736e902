// Unit tests of the previous page's snapshot (moodle-block/amd/src/snapshot.js, issue 15 item 3): what it
// keeps, that it is refused for another user, site or schema, that the state draws it before the welcome,
// and that the controller reconciles it (histories replaced in place, a reset drops it, a logout too).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createController} from '../../moodle-block/amd/src/dock.js';
import {initialState, reduce, conv} from '../../moodle-block/amd/src/state.js';
import {takeSnapshot, checkSnapshot, snapshotKey, SNAPSHOT_MESSAGES, SNAPSHOT_VERSION} from '../../moodle-block/amd/src/snapshot.js';

const ME = 9;
const SITE = 'https://moodle.example.edu';
const ana = {id: 7, fullname: 'Ana Lima', avatar: 'a'};

const memoryStorage = () => {
    const data = new Map();
    return {
        getItem: (k) => (data.has(k) ? data.get(k) : null),
        setItem: (k, v) => data.set(k, String(v)),
        removeItem: (k) => data.delete(k),
        key: (i) => Array.from(data.keys())[i] ?? null,
        get length() {
            return data.size;
        },
    };
};

const fakeTransport = () => {
    const listeners = {};
    return {
        connected: true,
        cursor: 0,
        sent: [],
        on(type, fn) {
            (listeners[type] = listeners[type] || []).push(fn);
        },
        emit(type, payload) {
            (listeners[type] || []).forEach((fn) => fn(payload));
        },
        send(frame) {
            if (!this.connected) {
                return false;
            }
            this.sent.push(frame);
            return true;
        },
        sendMessage: (to, text, cid) => cid,
        start() {},
        stop() {},
    };
};

const fakeRenderer = () => ({
    states: [],
    render(state) {
        this.states.push(state);
    },
    whenIdle: () => Promise.resolve(),
    isShowingLatest: () => true,
});

// Timers the test fires by hand (the snapshot's debounce).
const manualTimers = () => {
    const due = [];
    return {
        setTimeout: (fn) => due.push(fn),
        clearTimeout: () => {},
        setInterval: () => 1,
        clearInterval: () => {},
        fire: () => due.splice(0).forEach((fn) => fn()),
    };
};

const messages = (n, from = ana.id) => Array.from({length: n}, (_, i) => ({id: i + 1, conv: 311, from: i % 2 ? ME : from,
    to: i % 2 ? from : ME, text: 'm' + (i + 1), time: 1_763_772_000 + i, cid: ''}));

const welcome = (cursor, windows) => ({type: 'welcome', v: 1, user: {id: ME, fullname: 'Me', avatar: 'm'},
    online: [Object.assign({status: 'online'}, ana)], windows: windows || [{with: ana, state: 'open', unread: 1,
        read: {mine: 40, theirs: 39}, last: 41}], cursor, token_exp: 0, server_time: 0, limits: {text_max_chars: 500}});

/** A tab that saw a welcome, a 41-message history with Ana and one page of the Chats list. */
const shownState = () => {
    let s = initialState(ME);
    s = reduce(s, {type: 'welcome', frame: welcome(41)});
    s = reduce(s, {type: 'history', frame: {type: 'history', with: ana, messages: messages(41), more: false, read: {mine: 40, theirs: 39}}});
    s = reduce(s, {type: 'conversations', frame: {type: 'conversations', offset: 0, total: 1, more: false, items: [{conv: 311,
        type: 'individual', with: ana, name: 'Ana Lima', members: 2, last: messages(41)[40], unread: 1, favourite: false,
        muted: false, online: true}]}});
    return s;
};

test('a snapshot keeps the lists, the windows with their newest messages, the counts and the cursor', () => {
    const snap = JSON.parse(JSON.stringify(takeSnapshot(shownState(), {site: SITE, cursor: 41, savedAt: 5})));
    assert.equal(snap.v, SNAPSHOT_VERSION);
    assert.equal(snap.user, ME);
    assert.equal(snap.cursor, 41);
    assert.deepEqual(snap.windows, [{peer: ana.id, state: 'open'}]);
    assert.equal(snap.convs[ana.id].messages.length, SNAPSHOT_MESSAGES);
    assert.equal(snap.convs[ana.id].messages.at(-1).id, 41, 'the newest');
    assert.equal(snap.convs[ana.id].more, true, 'older ones exist beyond what was kept');
    assert.equal(snap.convs[ana.id].unread, 1);
    assert.deepEqual(snap.online.map((p) => p.id), [ana.id]);
    assert.equal(snap.panel.items.length, 1);
    assert.equal(takeSnapshot(initialState(ME), {site: SITE, cursor: 0}), null, 'nothing before a welcome');
});

test('a snapshot of another user, another site or another schema is never taken', () => {
    const snap = JSON.parse(JSON.stringify(takeSnapshot(shownState(), {site: SITE, cursor: 41})));
    assert.ok(checkSnapshot(snap, {userid: ME, site: SITE}));
    assert.equal(checkSnapshot(snap, {userid: 8, site: SITE}), null);
    assert.equal(checkSnapshot(snap, {userid: ME, site: 'https://other.example.edu'}), null);
    assert.equal(checkSnapshot(Object.assign({}, snap, {v: SNAPSHOT_VERSION + 1}), {userid: ME, site: SITE}), null);
    assert.equal(checkSnapshot(Object.assign({}, snap, {windows: 'x'}), {userid: ME, site: SITE}), null);
    assert.equal(checkSnapshot(null, {userid: ME, site: SITE}), null);
});

test('the state draws a snapshot before the welcome, marked restored; the welcome reconciles it', () => {
    const snap = checkSnapshot(JSON.parse(JSON.stringify(takeSnapshot(shownState(), {site: SITE, cursor: 41}))), {userid: ME, site: SITE});
    const drawn = reduce(initialState(ME), {type: 'restore', snapshot: snap});
    assert.equal(drawn.restored, true);
    assert.equal(drawn.welcomed, false);
    assert.deepEqual(drawn.windows, [{peer: ana.id, state: 'open'}]);
    assert.equal(conv(drawn, ana.id).messages.length, SNAPSHOT_MESSAGES);
    assert.equal(conv(drawn, ana.id).stale, true);
    assert.equal(conv(drawn, ana.id).unread, 1);
    assert.equal(drawn.people[ana.id].fullname, 'Ana Lima');
    assert.equal(drawn.panel.items.length, 1);
    assert.equal(drawn.limits.text_max_chars, 500);
    const welcomed = reduce(drawn, {type: 'welcome', frame: welcome(41)});
    assert.equal(welcomed.restored, false);
    assert.equal(welcomed.welcomed, true);
    // The history after the welcome replaces the window's messages (here one is gone meanwhile).
    const fresh = messages(41).filter((m) => m.id !== 30).slice(-SNAPSHOT_MESSAGES);
    const after = reduce(welcomed, {type: 'history', reset: true, frame: {type: 'history', with: ana, messages: fresh, more: true,
        read: {mine: 40, theirs: 39}}});
    assert.deepEqual(conv(after, ana.id).messages.map((m) => m.id), fresh.map((m) => m.id));
    assert.equal(conv(after, ana.id).stale, false);
    assert.equal(conv(after, ana.id).unread, 1);
});

/**
 * A controller over a session storage: `page()` is one page load of the tab.
 *
 * @param {object} session
 * @returns {object}
 */
const page = (session) => {
    const transport = fakeTransport();
    const renderer = fakeRenderer();
    const timers = manualTimers();
    const c = createController({transport, renderer, userid: ME, session, site: SITE, now: () => 1_763_772_000_000, timers});
    c.start();
    return {c, transport, renderer, timers};
};

const firstPage = (session) => {
    const p = page(session);
    p.transport.cursor = 41;
    p.transport.emit('frame', welcome(41));
    p.transport.emit('frame', {type: 'history', with: ana, messages: messages(41), more: false, read: {mine: 40, theirs: 39}});
    p.timers.fire();
    return p;
};

test('the next page of the tab draws the saved dock at its first render, before any frame', async() => {
    const session = memoryStorage();
    firstPage(session);
    assert.ok(session.getItem(snapshotKey(ME)), 'saved after the debounce');
    const next = page(session);
    const first = next.renderer.states[0];
    assert.equal(first.restored, true);
    assert.deepEqual(first.windows, [{peer: ana.id, state: 'open'}]);
    assert.equal(conv(first, ana.id).messages.length, SNAPSHOT_MESSAGES);
    await Promise.resolve();
    assert.deepEqual(next.transport.sent, [], 'no read marker from the snapshot (its ids may name nothing after a reset)');
    // The welcome: the window's history is fetched again quietly (no loading line) and replaces it.
    next.transport.emit('frame', welcome(41));
    assert.ok(next.transport.sent.some((f) => f.type === 'history' && f.with === ana.id));
    assert.equal(conv(next.c.state, ana.id).loading, false, 'no loading line over the messages shown');
    assert.equal(conv(next.c.state, ana.id).messages.length, SNAPSHOT_MESSAGES, 'still shown while the history comes');
});

test('a welcome whose cursor is below the snapshot\'s drops it: the server\'s messages started over', () => {
    const session = memoryStorage();
    firstPage(session);
    const next = page(session);
    next.transport.emit('frame', welcome(3, [{with: ana, state: 'open', unread: 0, read: {mine: 0, theirs: 0}, last: 3}]));
    assert.equal(conv(next.c.state, ana.id).messages.length, 0, 'the snapshot\'s messages name other ones now');
    assert.ok(next.transport.sent.some((f) => f.type === 'history' && f.with === ana.id));
    assert.equal(session.getItem(snapshotKey(ME)), null);
});

test('a logout (4004) forgets the snapshot for good; another user\'s snapshot is removed at load', () => {
    const session = memoryStorage();
    session.setItem(snapshotKey(8), JSON.stringify({v: SNAPSHOT_VERSION, user: 8}));
    const p = firstPage(session);
    assert.equal(session.getItem(snapshotKey(8)), null, 'never left for another user of the tab');
    assert.ok(session.getItem(snapshotKey(ME)));
    p.transport.emit('status', {state: 'stopped', code: 4004, fatal: true});
    assert.equal(session.getItem(snapshotKey(ME)), null);
    p.c.saveSnapshot();
    p.timers.fire();
    assert.equal(session.getItem(snapshotKey(ME)), null, 'nothing saved after it');
    assert.equal(page(session).renderer.states[0].restored, false);
});

test('the welcome a tab with the socket gives a tab that joins it is its current state', () => {
    const session = memoryStorage();
    const p = firstPage(session);
    p.transport.emit('frame', {type: 'message', message: {id: 42, conv: 311, from: ana.id, to: ME, text: 'new', time: 1_763_772_100, cid: ''},
        sender: ana});
    p.transport.cursor = 42;
    const w = p.c.welcomeFrame();
    assert.equal(w.type, 'welcome');
    assert.equal(w.cursor, 42);
    assert.deepEqual(w.online.map((x) => x.id), [ana.id]);
    assert.deepEqual(w.windows.map((x) => [x.with.id, x.state, x.unread, x.last]), [[ana.id, 'open', 2, 42]]);
    assert.deepEqual(w.windows[0].read, {mine: 40, theirs: 39});
    assert.equal(w.limits.text_max_chars, 500);
    assert.equal(page(memoryStorage()).c.welcomeFrame(), null, 'nothing before a welcome');
});

// Unit tests of the dock controller (moodle-block/amd/src/dock.js) with a fake transport, renderer and
// tab channel: history on welcome, window frames, read markers, and instant tab sync.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createController} from '../../moodle-block/amd/src/dock.js';
import {conv, conversationView} from '../../moodle-block/amd/src/state.js';

const ME = 9;
const ana = {id: 7, fullname: 'Ana Lima', avatar: 'a'};

const flush = async() => {
    for (let i = 0; i < 10; i++) {
        await Promise.resolve();
    }
};

const fakeTransport = () => {
    const listeners = {};
    return {
        connected: true,
        sent: [],
        messages: [],
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
        sendMessage(to, text, cid) {
            this.messages.push({to, text, cid});
            return cid;
        },
        start() {},
        stop() {},
        reconnectNow() {},
    };
};

const fakeRenderer = () => ({
    renders: 0,
    showing: true,
    render() {
        this.renders++;
    },
    whenIdle() {
        return Promise.resolve();
    },
    focusWindow() {},
    isShowingLatest() {
        return this.showing;
    },
});

/** Channels of several tabs of one user: a post reaches every other tab. */
const channelHub = () => {
    const members = [];
    return () => {
        const me = {handlers: []};
        members.push(me);
        return {
            post: (data) => members.filter((m) => m !== me).forEach((m) => m.handlers.forEach((fn) => fn(structuredClone(data)))),
            onMessage: (fn) => me.handlers.push(fn),
            close: () => {},
        };
    };
};

const noTimers = {setInterval: () => 1, clearInterval: () => {}};

const memoryStorage = () => {
    const data = new Map();
    return {
        getItem: (k) => (data.has(k) ? data.get(k) : null),
        setItem: (k, v) => data.set(k, String(v)),
        removeItem: (k) => data.delete(k),
    };
};

const tab = (channel, storage) => {
    const transport = fakeTransport();
    const renderer = fakeRenderer();
    const c = createController({transport, renderer, userid: ME, channel, storage, now: () => 1_763_772_000_000, timers: noTimers});
    c.start();
    return {c, transport, renderer};
};

const welcome = (windows) => ({type: 'welcome', v: 1, user: {id: ME, fullname: 'Me', avatar: 'm'},
    online: [Object.assign({status: 'online'}, ana)], windows: windows || [], cursor: 10, token_exp: 0, server_time: 0, limits: {}});

test('windows restored by the welcome load their history once', async() => {
    const {transport} = tab(null);
    transport.emit('frame', welcome([{with: ana, state: 'open', unread: 0, read: {mine: 0, theirs: 0}, last: 3}]));
    transport.emit('frame', {type: 'window', with: ana, state: 'open'});
    assert.deepEqual(transport.sent.filter((f) => f.type === 'history'), [{type: 'history', with: 7, limit: 30}]);
});

test('opening a window sends the window frame and asks for history; closing sends closed', async() => {
    const {c, transport} = tab(null);
    transport.emit('frame', welcome());
    c.onIntent({type: 'open', peer: 7});
    assert.deepEqual(c.state.windows, [{peer: 7, state: 'open'}]);
    // (The block's panel asks for the conversations list at the welcome: panel.test.mjs.)
    assert.deepEqual(transport.sent.filter((f) => f.type !== 'conversations'),
        [{type: 'window', with: 7, state: 'open'}, {type: 'history', with: 7, limit: 30}]);
    transport.emit('frame', {type: 'history', with: ana, messages: [{id: 3, from: 7, to: ME, text: 'x', time: 1}], more: true, read: {mine: 0, theirs: 0}});
    c.onIntent({type: 'loadolder', peer: 7});
    assert.deepEqual(transport.sent.at(-1), {type: 'history', with: 7, before: 3, limit: 30});
    c.onIntent({type: 'close', peer: 7});
    assert.deepEqual(transport.sent.at(-1), {type: 'window', with: 7, state: 'closed'});
    assert.deepEqual(c.state.windows, []);
});

test('a message in an open, visible window is marked read up to its id', async() => {
    const {c, transport} = tab(null);
    transport.emit('frame', welcome([{with: ana, state: 'open', unread: 0, read: {mine: 0, theirs: 0}, last: 0}]));
    transport.emit('frame', {type: 'history', with: ana, messages: [], more: false, read: {mine: 0, theirs: 0}});
    transport.emit('frame', {type: 'message', message: {id: 11, from: 7, to: ME, text: 'hi', time: 1}, sender: ana});
    await flush();
    assert.deepEqual(transport.sent.filter((f) => f.type === 'read'), [{type: 'read', with: 7, upto: 11}]);
    transport.emit('frame', {type: 'read', reader: ME, with: 7, upto: 11});
    assert.equal(conv(c.state, 7).unread, 0);
});

test('nothing is marked read while the window is minimised or not showing', async() => {
    const {transport, renderer} = tab(null);
    renderer.showing = false;
    transport.emit('frame', welcome());
    transport.emit('frame', {type: 'message', message: {id: 11, from: 7, to: ME, text: 'hi', time: 1}, sender: ana});
    await flush();
    assert.equal(transport.sent.filter((f) => f.type === 'read').length, 0);
});

test('sending: pending at once, through the transport queue with a cid, typing throttled', async() => {
    const {c, transport} = tab(null);
    transport.emit('frame', welcome());
    c.onIntent({type: 'send', peer: 7, text: 'hello'});
    assert.equal(transport.messages.length, 1);
    const {cid} = transport.messages[0];
    assert.match(cid, /^[a-z0-9_-]{1,64}$/);
    assert.equal(conversationView(c.state, 7, 0).items[0].pending, true);
    c.onIntent({type: 'typing', peer: 7});
    c.onIntent({type: 'typing', peer: 7});
    assert.equal(transport.sent.filter((f) => f.type === 'typing').length, 1);
});

test('a too long message fails locally and is never sent', async() => {
    const {c, transport} = tab(null);
    transport.emit('frame', Object.assign(welcome(), {limits: {text_max_chars: 5}}));
    c.onIntent({type: 'send', peer: 7, text: '😀😀😀😀😀😀'});
    assert.equal(transport.messages.length, 0);
    assert.equal(conversationView(c.state, 7, 0).items[0].failed, 'text_too_long');
});

test('tab sync: a message typed in one tab shows at once in the other, then once when the server echoes it', async() => {
    const hub = channelHub();
    const t1 = tab(hub());
    const t2 = tab(hub());
    [t1, t2].forEach((t) => t.transport.emit('frame', welcome()));
    t1.c.onIntent({type: 'open', peer: 7});
    assert.deepEqual(t2.c.state.windows, [{peer: 7, state: 'open'}], 'window opened in the other tab');
    t1.c.onIntent({type: 'send', peer: 7, text: 'from tab 1'});
    const {cid} = t1.transport.messages[0];
    assert.equal(t2.transport.messages.length, 0, 'only the typing tab sends');
    assert.deepEqual(conversationView(t2.c.state, 7, 0).items.map((i) => [i.text, i.pending]), [['from tab 1', true]]);
    // The server: ack to tab 1, message to both.
    t1.transport.emit('frame', {type: 'ack', cid, id: 20, time: 5, to: 7, dup: false});
    const echo = {type: 'message', message: {id: 20, from: ME, to: 7, text: 'from tab 1', time: 5, cid}, sender: {id: ME}};
    t1.transport.emit('frame', echo);
    t2.transport.emit('frame', echo);
    for (const t of [t1, t2]) {
        const items = conversationView(t.c.state, 7, 0).items;
        assert.deepEqual(items.map((i) => [i.text, i.pending, i.id]), [['from tab 1', false, 20]]);
    }
    // A failure in tab 1 shows in tab 2 too.
    t1.c.onIntent({type: 'send', peer: 7, text: 'nope'});
    const cid2 = t1.transport.messages[1].cid;
    t1.transport.emit('sendfailed', {cid: cid2, to: 7, code: 'blocked', final: true});
    assert.equal(conversationView(t2.c.state, 7, 0).items.at(-1).failed, 'blocked');
});

test('a truncated resume refetches the history of the open windows', async() => {
    const {c, transport} = tab(null);
    transport.emit('frame', welcome([{with: ana, state: 'open', unread: 0, read: {}, last: 1}]));
    transport.emit('frame', {type: 'history', with: ana, messages: [{id: 1, from: 7, to: ME, text: 'old', time: 1}], more: false, read: {}});
    transport.emit('frame', {type: 'missed', messages: [{id: 5000, from: 7, to: ME, text: 'new', time: 2}], cursor: 5000, done: true, truncated: true});
    const last = transport.sent.filter((f) => f.type === 'history').at(-1);
    assert.deepEqual(last, {type: 'history', with: 7, limit: 30});
    transport.emit('frame', {type: 'history', with: ana, messages: [{id: 4999, from: 7, to: ME, text: 'x', time: 2}, {id: 5000, from: 7, to: ME, text: 'new', time: 2}], more: true, read: {}});
    assert.deepEqual(conv(c.state, 7).messages.map((m) => m.id), [4999, 5000]);
});

test('unsent messages survive a page load and are sent again with the same cid; acked ones are forgotten', async() => {
    const storage = memoryStorage();
    const page1 = tab(null, storage);
    page1.transport.emit('frame', welcome());
    page1.c.onIntent({type: 'send', peer: 7, text: 'one'});
    page1.c.onIntent({type: 'send', peer: 7, text: 'two'});
    const [m1, m2] = page1.transport.messages;
    page1.transport.emit('frame', {type: 'ack', cid: m1.cid, id: 30, time: 1, to: 7, dup: false});
    // The page goes away before 'two' is acknowledged.
    const page2 = tab(null, storage);
    assert.deepEqual(page2.transport.messages, [{to: 7, text: 'two', cid: m2.cid}]);
    assert.deepEqual(conversationView(page2.c.state, 7, 0).items.map((i) => [i.text, i.pending]), [['two', true]]);
    page2.transport.emit('frame', welcome());
    page2.transport.emit('frame', {type: 'message', message: {id: 31, from: ME, to: 7, text: 'two', time: 2, cid: m2.cid}, sender: {id: ME}});
    const page3 = tab(null, storage);
    assert.deepEqual(page3.transport.messages, [], 'nothing left to send');
});

test('drafts are kept per conversation in the session storage until sent or emptied', () => {
    const session = memoryStorage();
    const make = () => createController({transport: fakeTransport(), renderer: fakeRenderer(), userid: ME, session});
    const c1 = make();
    c1.onIntent({type: 'draft', peer: 7, text: 'half a thought'});
    c1.onIntent({type: 'draft', peer: 8, text: 'for Bruno'});
    // Another page of the same tab.
    const c2 = make();
    assert.equal(c2.draft(7), 'half a thought');
    assert.equal(c2.draft(8), 'for Bruno');
    assert.equal(c2.draft(10), '');
    c2.onIntent({type: 'send', peer: 7, text: 'half a thought'});
    c2.onIntent({type: 'draft', peer: 8, text: '   '});
    assert.equal(make().draft(7), '');
    assert.equal(make().draft(8), '');
    assert.equal(session.getItem('block_dockchat_drafts_' + ME), null, 'nothing left behind');
});

test('a database that started over: the state is dropped, the histories fetched again, the read marker sent again', async() => {
    const transport = fakeTransport();
    const renderer = fakeRenderer();
    const c = createController({transport, renderer, userid: ME});
    const welcome = (cursor) => ({type: 'welcome', v: 1, user: {id: ME, fullname: 'Me'}, online: [],
        windows: [{with: ana, state: 'open', unread: 0, read: {mine: 0, theirs: 0}, last: 0}], cursor, limits: {}});
    transport.emit('frame', welcome(50));
    transport.emit('frame', {type: 'history', with: ana, messages: [{id: 50, from: 7, to: ME, text: 'old', time: 1}], more: false, read: {mine: 0, theirs: 0}});
    await flush();
    assert.deepEqual(transport.sent.filter((f) => f.type === 'read').map((f) => f.upto), [50]);
    transport.sent.length = 0;
    transport.emit('reset', {cursor: 2});
    transport.emit('frame', welcome(2));
    assert.deepEqual(conv(c.state, 7).messages, []);
    assert.deepEqual(transport.sent.filter((f) => f.type === 'history').map((f) => f.with), [7], 'history fetched again');
    transport.emit('frame', {type: 'history', with: ana, messages: [{id: 2, from: 7, to: ME, text: 'new', time: 2}], more: false, read: {mine: 0, theirs: 0}});
    await flush();
    assert.deepEqual(conv(c.state, 7).messages.map((m) => m.text), ['new']);
    assert.deepEqual(transport.sent.filter((f) => f.type === 'read').map((f) => f.upto), [2], 'a lower id is read again');
});

test('a group window: no window frame, history/send/read/typing by conv, kept by the tab across a page load', async() => {
    const session = memoryStorage();
    const make = () => {
        const transport = fakeTransport();
        const renderer = fakeRenderer();
        const c = createController({transport, renderer, userid: ME, session, now: () => 1_763_772_000_000, timers: noTimers});
        c.start();
        return {c, transport};
    };
    const {c, transport} = make();
    transport.emit('frame', welcome());
    transport.emit('frame', {type: 'conversations', offset: 0, total: 1, more: false, items: [{conv: 31, type: 'group', with: null,
        name: 'PSY101 Study group', members: 4, last: null, unread: 0, favourite: false, muted: false, online: false}]});
    c.onIntent({type: 'open', peer: 'c31'});
    assert.deepEqual(c.state.windows, [{peer: 'c31', state: 'open'}]);
    assert.deepEqual(transport.sent.filter((f) => f.type !== 'conversations'), [{type: 'history', conv: 31, limit: 30}],
        'the window frame is onto users only');
    transport.emit('frame', {type: 'history', with: null, conv: 31, messages: [], more: false, read: {mine: 0, theirs: 0}});
    assert.equal(conv(c.state, 'c31').loaded, true);
    c.onIntent({type: 'send', peer: 'c31', text: 'hi all'});
    assert.equal(transport.messages.at(-1).to, 'c31', 'the transport sends by key (protocol.js makes it conv)');
    c.onIntent({type: 'typing', peer: 'c31'});
    assert.deepEqual(transport.sent.at(-1), {type: 'typing', conv: 31});
    transport.emit('frame', {type: 'message', message: {id: 12, conv: 31, from: 7, to: 0, text: 'hey', time: 1, cid: ''}, sender: ana});
    await flush();
    assert.deepEqual(transport.sent.filter((f) => f.type === 'read'), [{type: 'read', conv: 31, upto: 12}]);
    transport.emit('frame', {type: 'typing', from: 7, conv: 31});
    assert.deepEqual(conversationView(c.state, 'c31', 1_763_772_000_000).typers, [7]);
    // The next page of this tab: the group window comes back with its name, before the list does.
    const next = make();
    next.transport.emit('frame', welcome());
    assert.deepEqual(next.c.state.windows, [{peer: 'c31', state: 'open'}]);
    assert.equal(next.c.state.groups.c31.name, 'PSY101 Study group');
    assert.deepEqual(next.transport.sent.filter((f) => f.type === 'history'), [{type: 'history', conv: 31, limit: 30}]);
    next.c.onIntent({type: 'close', peer: 'c31'});
    assert.equal(session.getItem('block_dockchat_groups_' + ME), null);
});

test('can_send: from the welcome\'s window, then the history; a refused send sets it in every tab', async() => {
    const hub = channelHub();
    const t1 = tab(hub());
    const t2 = tab(hub());
    const win = (canSend) => ({with: ana, state: 'open', unread: 0, read: {mine: 0, theirs: 0}, last: 0, can_send: canSend});
    t1.transport.emit('frame', welcome([win({ok: false, code: 'blocked'})]));
    t2.transport.emit('frame', welcome([win({ok: true})]));
    assert.deepEqual(conv(t1.c.state, 7).canSend, {ok: false, code: 'blocked'});
    assert.deepEqual(conv(t2.c.state, 7).canSend, {ok: true});
    // Unblocked since: the history asked for after the welcome says so.
    t1.transport.emit('frame', {type: 'history', with: ana, messages: [], more: false, read: {}, can_send: {ok: true}});
    assert.deepEqual(conv(t1.c.state, 7).canSend, {ok: true});
    // An older daemon's history (no field): ok.
    t2.transport.emit('frame', {type: 'history', with: ana, messages: [], more: false, read: {}});
    assert.deepEqual(conv(t2.c.state, 7).canSend, {ok: true});
    // Blocked again while the window is open: the first refused send tells both tabs.
    t1.c.onIntent({type: 'send', peer: 7, text: 'hello?'});
    const {cid} = t1.transport.messages[0];
    t1.transport.emit('sendfailed', {cid, to: 7, code: 'not_contactable', final: true});
    for (const t of [t1, t2]) {
        assert.deepEqual(conv(t.c.state, 7).canSend, {ok: false, code: 'not_contactable'});
    }
    // A passing refusal says nothing of the conversation.
    t2.c.onIntent({type: 'send', peer: 8, text: 'hi'});
    t2.transport.emit('sendfailed', {cid: t2.transport.messages[0].cid, to: 8, code: 'rate_limited', final: false});
    assert.deepEqual(conv(t2.c.state, 8).canSend, {ok: true});
});

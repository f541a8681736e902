// Unit tests of the pure chat state (moodle-block/amd/src/state.js).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {STRING_KEYS} from '../../moodle-block/amd/src/strings.js';
import {initialState, reduce, conv, conversationView, unreadUpto, TYPING_MS, orderWindows, parseCanSend, CAN_SEND_CODES, cannotSendKey} from '../../moodle-block/amd/src/state.js';

const ME = 9;
const ana = {id: 7, fullname: 'Ana Lima', avatar: 'a.png'};
const bruno = {id: 8, fullname: 'bruno Costa', avatar: 'b.png'};
const zoe = {id: 10, fullname: 'Zoë Adams', avatar: 'z.png'};
const msg = (id, from, to, text, extra) => Object.assign({id, from, to, text: text || `m${id}`, time: 1763772000 + id}, extra || {});

const welcome = (extra) => reduce(initialState(ME), {type: 'welcome', frame: Object.assign({
    type: 'welcome', v: 1, user: {id: ME, fullname: 'Me', avatar: 'me.png'},
    online: [zoe, bruno, ana].map((p) => Object.assign({status: 'online'}, p)),
    windows: [], cursor: 0, token_exp: 2000, server_time: 1700, limits: {text_max_chars: 4000},
}, extra || {})});

test('welcome: online course-mates sorted by name (case-insensitive), windows and unread restored', () => {
    const s = welcome({windows: [{with: ana, state: 'minimised', unread: 3, read: {mine: 40, theirs: 39}, last: 43}]});
    assert.deepEqual(s.online.map((p) => p.id), [7, 8, 10]);
    assert.equal(s.me, ME);
    assert.deepEqual(s.windows, [{peer: 7, state: 'minimised'}]);
    assert.equal(conv(s, 7).unread, 3);
    assert.equal(conv(s, 7).readTheirs, 39);
    assert.equal(conv(s, 7).highlight, true);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.online) && Object.isFrozen(s.convs[7]));
});

test('reduce never mutates the previous state', () => {
    const s1 = welcome();
    const snapshot = JSON.stringify(s1);
    const s2 = reduce(s1, {type: 'message', message: msg(1, 7, ME), sender: ana});
    assert.notEqual(s1, s2);
    assert.equal(JSON.stringify(s1), snapshot);
    assert.equal(reduce(s2, {type: 'nothing'}), s2, 'unknown actions return the same state');
});

test('presence: joins keep the order, leaves remove', () => {
    let s = welcome();
    s = reduce(s, {type: 'presence', user: {id: 11, fullname: 'Carla Dias', avatar: 'c'}, status: 'online'});
    assert.deepEqual(s.online.map((p) => p.fullname), ['Ana Lima', 'bruno Costa', 'Carla Dias', 'Zoë Adams']);
    s = reduce(s, {type: 'presence', user: bruno, status: 'offline'});
    assert.deepEqual(s.online.map((p) => p.id), [7, 11, 10]);
    const again = reduce(s, {type: 'presence', user: {id: 11, fullname: 'Carla Dias', avatar: 'c'}, status: 'online'});
    assert.equal(again.online.length, 3, 'a second tab coming online does not duplicate');
});

test('messages are deduplicated by server id and kept in id order', () => {
    let s = welcome();
    s = reduce(s, {type: 'message', message: msg(5, 7, ME), sender: ana});
    s = reduce(s, {type: 'missed', messages: [msg(3, 7, ME), msg(4, ME, 7), msg(5, 7, ME)]});
    s = reduce(s, {type: 'message', message: msg(4, ME, 7), sender: {id: ME}});
    s = reduce(s, {type: 'history', frame: {with: ana, messages: [msg(1, 7, ME), msg(2, ME, 7), msg(3, 7, ME)], more: false, read: {mine: 0, theirs: 0}}});
    assert.deepEqual(conv(s, 7).messages.map((m) => m.id), [1, 2, 3, 4, 5]);
});

test('unread counts: new messages from the peer count, mine and duplicates do not, read resets', () => {
    let s = welcome();
    s = reduce(s, {type: 'message', message: msg(1, 7, ME), sender: ana});
    s = reduce(s, {type: 'message', message: msg(1, 7, ME), sender: ana});
    s = reduce(s, {type: 'message', message: msg(2, ME, 7)});
    s = reduce(s, {type: 'message', message: msg(3, 7, ME), sender: ana});
    assert.equal(conv(s, 7).unread, 2);
    assert.equal(unreadUpto(s, 7), 3);
    s = reduce(s, {type: 'read', frame: {reader: ME, with: 7, upto: 1}});
    assert.equal(conv(s, 7).unread, 1);
    s = reduce(s, {type: 'read', frame: {reader: ME, with: 7, upto: 3}});
    assert.equal(conv(s, 7).unread, 0);
    assert.equal(unreadUpto(s, 7), 0);
    const same = reduce(s, {type: 'read', frame: {reader: ME, with: 7, upto: 2}});
    assert.equal(same, s, 'a read marker never goes back');
});

test('a message from someone without a window opens a minimised, highlighted one', () => {
    let s = welcome();
    s = reduce(s, {type: 'message', message: msg(1, 8, ME), sender: bruno});
    assert.deepEqual(s.windows, [{peer: 8, state: 'minimised'}]);
    assert.equal(conv(s, 8).highlight, true);
    s = reduce(s, {type: 'window', peer: 8, state: 'open'});
    assert.equal(conv(s, 8).highlight, false);
});

test('pending by cid becomes acked; the echoed message is not duplicated', () => {
    let s = welcome();
    s = reduce(s, {type: 'pending', peer: 7, cid: 'c-1', text: 'hello', time: 1});
    s = reduce(s, {type: 'pending', peer: 7, cid: 'c-1', text: 'hello', time: 1});
    assert.equal(conv(s, 7).pending.length, 1, 'the same cid from another tab is merged');
    let v = conversationView(s, 7, 0);
    assert.equal(v.items.length, 1);
    assert.equal(v.items[0].pending, true);
    assert.equal(v.items[0].key, 'c:c-1');
    s = reduce(s, {type: 'ack', ack: {cid: 'c-1', id: 50, time: 100, to: 7, dup: false}});
    assert.equal(conv(s, 7).pending.length, 0);
    assert.deepEqual(conv(s, 7).messages.map((m) => m.id), [50]);
    s = reduce(s, {type: 'message', message: msg(50, ME, 7, 'hello', {cid: 'c-1'})});
    v = conversationView(s, 7, 0);
    assert.equal(v.items.length, 1);
    assert.equal(v.items[0].key, 'c:c-1', 'the key stays the same from pending to acked (no flicker)');
    assert.equal(v.items[0].pending, false);
});

test('the message frame can arrive before the ack (other tab, or reordering)', () => {
    let s = welcome();
    s = reduce(s, {type: 'pending', peer: 7, cid: 'c-2', text: 'x', time: 1});
    s = reduce(s, {type: 'message', message: msg(60, ME, 7, 'x', {cid: 'c-2'})});
    assert.equal(conv(s, 7).pending.length, 0);
    s = reduce(s, {type: 'ack', ack: {cid: 'c-2', id: 60, time: 1, to: 7, dup: true}});
    assert.equal(conv(s, 7).messages.length, 1);
});

test('pending messages are shown after all confirmed ones, in the order typed', () => {
    let s = welcome();
    s = reduce(s, {type: 'pending', peer: 7, cid: 'c-a', text: 'first', time: 1});
    s = reduce(s, {type: 'pending', peer: 7, cid: 'c-b', text: 'second', time: 2});
    s = reduce(s, {type: 'message', message: msg(70, 7, ME, 'theirs'), sender: ana});
    assert.deepEqual(conversationView(s, 7, 0).items.map((i) => i.text), ['theirs', 'first', 'second']);
});

test('send failures: final ones are marked failed, retryable ones stay pending', () => {
    let s = welcome();
    s = reduce(s, {type: 'pending', peer: 7, cid: 'c-f', text: 'x', time: 1});
    s = reduce(s, {type: 'sendfailed', peer: 7, cid: 'c-f', code: 'internal', final: false});
    assert.equal(conversationView(s, 7, 0).items[0].pending, true);
    s = reduce(s, {type: 'sendfailed', peer: 7, cid: 'c-f', code: 'blocked', final: true});
    const item = conversationView(s, 7, 0).items[0];
    assert.equal(item.failed, 'blocked');
    assert.equal(item.pending, false);
    s = reduce(s, {type: 'discard', peer: 7, cid: 'c-f'});
    assert.equal(conv(s, 7).pending.length, 0);
});

test("'Seen' shows when the peer read my last message, and only if it is the last", () => {
    let s = welcome();
    s = reduce(s, {type: 'message', message: msg(1, 7, ME), sender: ana});
    s = reduce(s, {type: 'message', message: msg(2, ME, 7)});
    assert.equal(conversationView(s, 7, 0).seen, false);
    s = reduce(s, {type: 'read', frame: {reader: 7, with: ME, upto: 2}});
    assert.equal(conversationView(s, 7, 0).seen, true);
    s = reduce(s, {type: 'message', message: msg(3, 7, ME), sender: ana});
    assert.equal(conversationView(s, 7, 0).seen, false);
});

test('typing shows for a while, expires on tick, and stops when their message arrives', () => {
    let s = welcome();
    s = reduce(s, {type: 'typing', from: 7, now: 1000});
    assert.equal(conversationView(s, 7, 1000 + TYPING_MS - 1).typing, true);
    assert.equal(conversationView(s, 7, 1000 + TYPING_MS).typing, false);
    s = reduce(s, {type: 'tick', now: 1000 + TYPING_MS});
    assert.equal(conv(s, 7).typingUntil, 0);
    s = reduce(s, {type: 'typing', from: 7, now: 2000});
    s = reduce(s, {type: 'message', message: msg(1, 7, ME), sender: ana});
    assert.equal(conversationView(s, 7, 2001).typing, false);
});

test('windows: chosen ones go first, others last, minimise keeps the place, close removes, raise moves first', () => {
    let s = welcome();
    s = reduce(s, {type: 'window', peer: 7, state: 'open', raise: true});
    s = reduce(s, {type: 'window', peer: 8, state: 'open', raise: true});
    s = reduce(s, {type: 'window', peer: 10, state: 'open', raise: true});
    assert.deepEqual(s.windows.map((w) => w.peer), [10, 8, 7]);
    // A window that appears by itself (an incoming conversation) never pushes the chosen ones aside.
    s = reduce(s, {type: 'window', peer: 11, state: 'minimised'});
    assert.deepEqual(s.windows.map((w) => w.peer), [10, 8, 7, 11]);
    s = reduce(s, {type: 'window', peer: 11, state: 'closed'});
    s = reduce(s, {type: 'window', peer: 8, state: 'minimised'});
    assert.deepEqual(s.windows, [{peer: 10, state: 'open'}, {peer: 8, state: 'minimised'}, {peer: 7, state: 'open'}]);
    s = reduce(s, {type: 'window', peer: 7, state: 'open', raise: true});
    assert.deepEqual(s.windows.map((w) => w.peer), [7, 10, 8]);
    s = reduce(s, {type: 'window', peer: 10, state: 'closed'});
    assert.deepEqual(s.windows.map((w) => w.peer), [7, 8]);
    assert.equal(reduce(s, {type: 'window', peer: 10, state: 'closed'}), s);
});

test('tab sync: a welcome after reconnect replaces the windows with the server list', () => {
    let s = welcome({windows: [{with: ana, state: 'open', unread: 0, read: {mine: 0, theirs: 0}, last: 0}]});
    s = reduce(s, {type: 'window', peer: 8, state: 'open', person: bruno});
    s = reduce(s, {type: 'welcome', frame: {user: {id: ME}, online: [], windows: [{with: bruno, state: 'minimised', unread: 0, read: {}, last: 0}], cursor: 0}});
    assert.deepEqual(s.windows, [{peer: 8, state: 'minimised'}]);
});

test('history: older pages merge at the top, more follows the server, unread is exact once all is loaded', () => {
    let s = welcome({windows: [{with: ana, state: 'open', unread: 2, read: {mine: 30, theirs: 0}, last: 32}]});
    s = reduce(s, {type: 'historyLoading', peer: 7});
    assert.equal(conv(s, 7).loading, true);
    s = reduce(s, {type: 'history', frame: {with: ana, messages: [msg(31, 7, ME), msg(32, 7, ME)], more: true, read: {mine: 30, theirs: 0}}});
    assert.equal(conv(s, 7).unread, 2);
    assert.equal(conv(s, 7).more, true);
    assert.equal(conv(s, 7).loading, false);
    s = reduce(s, {type: 'history', frame: {with: ana, messages: [msg(29, ME, 7), msg(30, 7, ME)], more: false, read: {mine: 30, theirs: 0}}});
    assert.deepEqual(conv(s, 7).messages.map((m) => m.id), [29, 30, 31, 32]);
    assert.equal(conv(s, 7).more, false);
    assert.equal(conv(s, 7).unread, 2);
});

test('history with reset (after a truncated resume) replaces what was held', () => {
    let s = welcome();
    s = reduce(s, {type: 'message', message: msg(1, 7, ME), sender: ana});
    s = reduce(s, {type: 'history', reset: true, frame: {with: ana, messages: [msg(5000, 7, ME)], more: true, read: {mine: 0, theirs: 0}}});
    assert.deepEqual(conv(s, 7).messages.map((m) => m.id), [5000]);
});

test('window order: the browser\'s saved order wins over the server\'s (oldest first); an older choice from another tab does not move windows', () => {
    const listed = [{peer: 7, state: 'open'}, {peer: 8, state: 'open'}, {peer: 10, state: 'open'}];
    assert.deepEqual(orderWindows(listed, [8, 7, 10]).map((w) => w.peer), [8, 7, 10]);
    assert.deepEqual(orderWindows(listed, []).map((w) => w.peer), [10, 8, 7], 'unknown: newest opened first');
    assert.deepEqual(orderWindows(listed, [7]).map((w) => w.peer), [7, 10, 8]);
    let s = reduce(welcome(), {type: 'window', peer: 7, state: 'open', raise: true, at: 100});
    s = reduce(s, {type: 'window', peer: 8, state: 'open', raise: true, at: 200});
    assert.equal(reduce(s, {type: 'window', peer: 7, state: 'open', raise: true, at: 150}), s);
    assert.deepEqual(reduce(s, {type: 'window', peer: 7, state: 'open', raise: true, at: 250}).windows.map((w) => w.peer), [7, 8]);
});

test('reset: the messages, read markers and counts of the old database go; sends not acked stay', () => {
    let s = welcome({windows: [{with: ana, state: 'open', unread: 1, read: {mine: 40, theirs: 39}, last: 43}]});
    s = reduce(s, {type: 'history', frame: {with: ana, messages: [msg(40, 7, ME), msg(43, 7, ME)], more: false, read: {mine: 40, theirs: 39}}});
    s = reduce(s, {type: 'pending', peer: 7, cid: 'c-q', text: 'queued', time: 1});
    s = reduce(s, {type: 'reset'});
    const c = conv(s, 7);
    assert.deepEqual(c.messages, []);
    assert.deepEqual([c.readMine, c.readTheirs, c.unread, c.last, c.loaded], [0, 0, 0, 0, false]);
    assert.deepEqual(c.pending.map((p) => p.cid), ['c-q']);
    // The new database's ids (the same numbers as old ones) are new messages now, and the ack matches.
    s = reduce(s, {type: 'message', message: msg(3, 7, ME, 'after'), sender: ana});
    s = reduce(s, {type: 'ack', ack: {cid: 'c-q', id: 4, time: 2, to: 7}});
    assert.deepEqual(conv(s, 7).messages.map((m) => m.id), [3, 4]);
    assert.deepEqual(conv(s, 7).pending, []);
    assert.equal(conv(s, 7).unread, 1);
});

test('can_send: absent or malformed is ok (older daemons), a refusal keeps its code, an unknown code is unknown', () => {
    assert.deepEqual(parseCanSend(undefined), {ok: true});
    assert.deepEqual(parseCanSend(null), {ok: true});
    assert.deepEqual(parseCanSend({ok: true}), {ok: true});
    assert.deepEqual(parseCanSend({ok: 'no'}), {ok: true});
    for (const code of CAN_SEND_CODES) {
        assert.deepEqual(parseCanSend({ok: false, code}), {ok: false, code});
    }
    assert.deepEqual(parseCanSend({ok: false, code: 'weird'}), {ok: false, code: 'unknown'});
    assert.deepEqual(parseCanSend({ok: false}), {ok: false, code: 'unknown'});
    assert.deepEqual(conv(initialState(ME), 7).canSend, {ok: true}, 'a conversation not heard of can send');
});

test('can_send: the newest of the welcome\'s window and the history frame wins, per conversation', () => {
    const win = (canSend) => Object.assign({with: ana, state: 'open', unread: 0, read: {mine: 0, theirs: 0}, last: 0},
        canSend === undefined ? {} : {can_send: canSend});
    let s = welcome({windows: [win({ok: false, code: 'blocked'}), Object.assign(win({ok: true}), {with: bruno})]});
    assert.deepEqual(conv(s, 7).canSend, {ok: false, code: 'blocked'});
    assert.deepEqual(conv(s, 8).canSend, {ok: true});
    // The history that follows says the same: nothing changes (the same object).
    const same = reduce(s, {type: 'history', frame: {type: 'history', with: ana, messages: [], more: false,
        read: {mine: 0, theirs: 0}, can_send: {ok: false, code: 'blocked'}}});
    assert.equal(conv(same, 7).canSend, conv(s, 7).canSend);
    // Unblocked: a later history says ok.
    s = reduce(s, {type: 'history', frame: {type: 'history', with: ana, messages: [msg(1, 7, ME)], more: false,
        read: {mine: 0, theirs: 0}, can_send: {ok: true}}});
    assert.deepEqual(conv(s, 7).canSend, {ok: true});
    // A later history refuses again, with another reason; a welcome after reconnect says ok again.
    s = reduce(s, {type: 'history', frame: {type: 'history', with: ana, messages: [], more: false,
        read: {mine: 0, theirs: 0}, can_send: {ok: false, code: 'not_contactable'}}});
    assert.deepEqual(conv(s, 7).canSend, {ok: false, code: 'not_contactable'});
    assert.equal(conv(s, 7).messages.length, 1, 'the rest of the conversation stays');
    s = reduce(s, {type: 'welcome', frame: {type: 'welcome', v: 1, user: {id: ME, fullname: 'Me', avatar: 'me.png'},
        online: [], windows: [win()], limits: {}}});
    assert.deepEqual(conv(s, 7).canSend, {ok: true}, 'a welcome without the field (older daemon): ok');
    // A group's history (no welcome window for groups).
    s = reduce(s, {type: 'history', frame: {type: 'history', with: null, conv: 311, messages: [], more: false,
        read: {mine: 0, theirs: 0}, can_send: {ok: false, code: 'not_member'}}});
    assert.deepEqual(conv(s, 'c311').canSend, {ok: false, code: 'not_member'});
    assert.deepEqual(conv(s, 7).canSend, {ok: true});
});

test('can_send: a send refused for good with one of its codes sets it; passing or other refusals do not', () => {
    let s = welcome({windows: [{with: ana, state: 'open', unread: 0, read: {mine: 0, theirs: 0}, last: 0, can_send: {ok: true}}]});
    s = reduce(s, {type: 'pending', peer: 7, cid: 'c-1', text: 'hi', time: 1});
    s = reduce(s, {type: 'sendfailed', peer: 7, cid: 'c-1', code: 'rate_limited', final: false});
    assert.deepEqual(conv(s, 7).canSend, {ok: true});
    s = reduce(s, {type: 'sendfailed', peer: 7, cid: 'c-1', code: 'text_too_long', final: true});
    assert.deepEqual(conv(s, 7).canSend, {ok: true}, 'too long says nothing of the conversation');
    s = reduce(s, {type: 'pending', peer: 7, cid: 'c-2', text: 'hi', time: 1});
    s = reduce(s, {type: 'sendfailed', peer: 7, cid: 'c-2', code: 'contacts_only', final: true});
    assert.deepEqual(conv(s, 7).canSend, {ok: false, code: 'contacts_only'});
    assert.equal(conversationView(s, 7, 0).items.find((i) => i.cid === 'c-2').failed, 'contacts_only');
    // Told by another tab, whose pending message this tab never had: still learnt.
    s = reduce(s, {type: 'sendfailed', peer: 8, cid: 'c-other', code: 'blocked', final: true});
    assert.deepEqual(conv(s, 8).canSend, {ok: false, code: 'blocked'});
    s = reduce(s, {type: 'sendfailed', peer: 'c311', cid: 'c-g', code: 'conversation_disabled', final: true});
    assert.deepEqual(conv(s, 'c311').canSend, {ok: false, code: 'conversation_disabled'});
    // The next history says ok: the composer comes back.
    s = reduce(s, {type: 'history', frame: {type: 'history', with: ana, messages: [], more: false,
        read: {mine: 0, theirs: 0}, can_send: {ok: true}}});
    assert.deepEqual(conv(s, 7).canSend, {ok: true});
});

test('can_send: the window\'s notice is the code\'s error string, in every language; none while it can send', () => {
    let s = welcome({windows: [{with: ana, state: 'open', unread: 0, read: {mine: 0, theirs: 0}, last: 0, can_send: {ok: false, code: 'blocked'}}]});
    assert.equal(cannotSendKey(s, 7), 'error:blocked');
    assert.equal(cannotSendKey(s, 8), '');
    s = reduce(s, {type: 'history', frame: {type: 'history', with: ana, messages: [], more: false, read: {}, can_send: {ok: false, code: 'odd'}}});
    assert.equal(cannotSendKey(s, 7), 'error:unknown');
    for (const key of CAN_SEND_CODES.map((code) => 'error:' + code).concat(['error:unknown'])) {
        assert.ok(STRING_KEYS.includes(key), `STRING_KEYS has ${key}`);
        for (const lang of ['en', 'de', 'es', 'fr', 'pt']) {
            const file = new URL(`../../lang/${lang}/block_dockchat.php`, import.meta.url);
            assert.ok(readFileSync(file, 'utf8').includes(`$string['${key}'] = '`), `${lang} has ${key}`);
        }
    }
});

test('window actions: history flags, the action frames and delete for me (PROTOCOL §4.1)', () => {
    let s = welcome();
    s = reduce(s, {type: 'history', frame: {type: 'history', with: ana, more: false, read: {mine: 0, theirs: 0},
        messages: [msg(1, 7, ME), msg(2, ME, 7), msg(3, 7, ME), msg(4, ME, 7)], can_send: {ok: true},
        flags: {conv: 31, muted: false, starred: true, blocked: false}}});
    assert.deepEqual(conv(s, 7).flags, {conv: 31, muted: false, starred: true, blocked: false});
    assert.equal(conv(s, 7).unread, 2);
    const same = reduce(s, {type: 'flags', peer: 7, changes: {starred: true}});
    assert.equal(same, s, 'an unchanged flag keeps the state');
    s = reduce(s, {type: 'flags', peer: 7, changes: {muted: true}});
    assert.equal(conv(s, 7).flags.muted, true);
    assert.equal(cannotSendKey(s, 7), '');
    s = reduce(s, {type: 'flags', peer: 7, changes: {blocked: true}});
    assert.equal(cannotSendKey(s, 7), 'youhaveblockeduser', 'as the drawer: no messages to someone I blocked');
    s = reduce(s, {type: 'flags', peer: 7, changes: {blocked: false}});
    assert.equal(cannotSendKey(s, 7), '');
    // Delete for me: one message, then everything up to an id; the unread count follows.
    s = reduce(s, {type: 'deleted', peer: 7, ids: [3], upto: 0});
    assert.deepEqual(conv(s, 7).messages.map((m) => m.id), [1, 2, 4]);
    assert.equal(conv(s, 7).unread, 1);
    assert.equal(reduce(s, {type: 'deleted', peer: 7, ids: [3], upto: 0}), s, 'deleting again changes nothing');
    s = reduce(s, {type: 'deleted', peer: 7, ids: [], upto: 2});
    assert.deepEqual(conv(s, 7).messages.map((m) => m.id), [4]);
    assert.equal(conv(s, 7).unread, 0);
});

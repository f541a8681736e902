// Unit tests of group conversations in the pure chat state (state.js), the frames that address them
// (protocol.js) and the Chats list's group rows (panel.js).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
    initialState, reduce, conv, conversationView, unreadUpto, typingText, groupKey, isGroupKey, groupConv, parseKey,
    groupInfo, groupOnlineCount, peerOf, TYPING_MS,
} from '../../moodle-block/amd/src/state.js';
import * as Protocol from '../../moodle-block/amd/src/protocol.js';
import {conversationModel, reducePanel, initialPanel} from '../../moodle-block/amd/src/panel.js';
import {makeStr} from '../../moodle-block/amd/src/strings.js';

const ME = 9;
const CONV = 31;
const G = 'c31';
const ana = {id: 7, fullname: 'Ana Lima', avatar: 'a.png'};
const bruno = {id: 8, fullname: 'Bruno Costa', avatar: 'b.png'};
const carla = {id: 11, fullname: 'Carla Dias', avatar: 'c.png'};
const gmsg = (id, from, text) => ({id, conv: CONV, from, to: 0, text: text || `g${id}`, time: 1763772000 + id, cid: ''});

const welcome = (extra) => reduce(initialState(ME), Object.assign({type: 'welcome', frame: {
    type: 'welcome', v: 1, user: {id: ME, fullname: 'Me', avatar: 'me.png'},
    online: [ana, bruno].map((p) => Object.assign({status: 'online'}, p)),
    windows: [{with: carla, state: 'open', unread: 0, read: {mine: 0, theirs: 0}, last: 0}],
    cursor: 0, token_exp: 2000, server_time: 1700, limits: {},
}}, extra || {}));

const listed = {type: 'conversations', frame: {offset: 0, total: 1, more: false, items: [
    {conv: CONV, type: 'group', with: null, name: 'PSY101 Study group', members: 4, last: null, unread: 0,
        favourite: false, muted: false, online: false},
]}};

test('group keys: c + the conversation id, told apart from user ids', () => {
    assert.equal(groupKey(CONV), G);
    assert.equal(isGroupKey(G), true);
    assert.equal(isGroupKey(31), false);
    assert.equal(isGroupKey('c0'), false);
    assert.equal(isGroupKey('31'), false);
    assert.equal(groupConv(G), CONV);
    assert.equal(groupConv(7), 0);
    assert.equal(parseKey('c31'), G);
    assert.equal(parseKey('7'), 7);
    assert.equal(parseKey('x'), 0);
    assert.equal(parseKey(null), 0);
    assert.equal(peerOf(welcome(), gmsg(1, 7)), G, 'to 0: the group');
    assert.equal(peerOf(welcome(), {id: 2, conv: 5, from: ME, to: 7}), 7, 'a pair by the other user');
});

test('frames name a group by conv and a user as before', () => {
    assert.deepEqual(Protocol.send(G, 'c-1', 'hi'), {type: 'send', conv: CONV, cid: 'c-1', text: 'hi'});
    assert.deepEqual(Protocol.send(7, 'c-1', 'hi'), {type: 'send', to: 7, cid: 'c-1', text: 'hi'});
    assert.deepEqual(Protocol.history(G, 40, 30), {type: 'history', conv: CONV, before: 40, limit: 30});
    assert.deepEqual(Protocol.history(7), {type: 'history', with: 7});
    assert.deepEqual(Protocol.read(G, 44), {type: 'read', conv: CONV, upto: 44});
    assert.deepEqual(Protocol.read(7, 44), {type: 'read', with: 7, upto: 44});
    assert.deepEqual(Protocol.typing(G), {type: 'typing', conv: CONV});
    assert.deepEqual(Protocol.typing(7), {type: 'typing', to: 7});
});

test('a group window opens beside 1:1 windows with the name and member count of the list', () => {
    let s = reduce(welcome(), listed);
    assert.deepEqual(groupInfo(s, G), {conv: CONV, image: '', name: 'PSY101 Study group', members: 4});
    s = reduce(s, {type: 'window', peer: G, state: 'open', raise: true, at: 1});
    assert.deepEqual(s.windows.map((w) => w.peer), [G, 11]);
    s = reduce(s, {type: 'window', peer: 11, state: 'minimised'});
    assert.deepEqual(s.windows, [{peer: G, state: 'open'}, {peer: 11, state: 'minimised'}]);
    s = reduce(s, {type: 'window', peer: G, state: 'closed'});
    assert.deepEqual(s.windows, [{peer: 11, state: 'minimised'}]);
});

test('a welcome keeps the group windows of the tab (shown, or kept across the page load)', () => {
    // After a page load: the tab's saved group windows come back, with their names until the list is here.
    let s = welcome({groups: [{conv: CONV, name: 'PSY101 Study group', members: 4, state: 'minimised'}], order: [G, 11]});
    assert.deepEqual(s.windows, [{peer: G, state: 'minimised'}, {peer: 11, state: 'open'}]);
    assert.equal(groupInfo(s, G).name, 'PSY101 Study group');
    // A reconnect: the server's list replaces the 1:1 windows; the group window stays.
    s = reduce(s, {type: 'welcome', frame: {user: {id: ME}, online: [], windows: [], cursor: 0}});
    assert.deepEqual(s.windows, [{peer: G, state: 'minimised'}]);
});

test('group messages: by conv, unread from any other member, a minimised window for a new one', () => {
    let s = reduce(welcome(), listed);
    s = reduce(s, {type: 'message', message: gmsg(40, 7, 'hello'), sender: ana});
    assert.deepEqual(conv(s, G).messages.map((m) => m.id), [40]);
    assert.equal(conv(s, 7).messages.length, 0, 'not the 1:1 conversation with the sender');
    assert.equal(conv(s, G).unread, 1);
    assert.deepEqual(s.windows.find((w) => w.peer === G), {peer: G, state: 'minimised'});
    assert.equal(conv(s, G).highlight, true);
    s = reduce(s, {type: 'message', message: gmsg(41, 8), sender: bruno});
    s = reduce(s, {type: 'message', message: gmsg(42, ME)});
    assert.equal(conv(s, G).unread, 2, 'mine does not count');
    assert.equal(unreadUpto(s, G), 41);
    // The list's row follows too.
    assert.equal(s.panel.items[0].unread, 2);
    assert.equal(s.panel.items[0].last.id, 42);
    // I read it (in any tab; the server clamps upto to the newest message): the counts clear.
    s = reduce(s, {type: 'read', frame: {reader: ME, conv: CONV, upto: 42}});
    assert.equal(conv(s, G).unread, 0);
    assert.equal(unreadUpto(s, G), 0);
    assert.equal(s.panel.items[0].unread, 0);
});

test('a group send: pending by cid, acked with to 0 and conv', () => {
    let s = reduce(welcome(), {type: 'pending', peer: G, cid: 'c-1', text: 'hi all', time: 1});
    assert.equal(conv(s, G).pending.length, 1);
    s = reduce(s, {type: 'ack', ack: {cid: 'c-1', id: 50, conv: CONV, time: 2, to: 0, dup: false}});
    assert.equal(conv(s, G).pending.length, 0);
    assert.deepEqual(conv(s, G).messages.map((m) => [m.id, m.from, m.to, m.conv]), [[50, ME, 0, CONV]]);
    // The echo is the same message.
    s = reduce(s, {type: 'message', message: Object.assign(gmsg(50, ME, 'hi all'), {cid: 'c-1'})});
    assert.equal(conv(s, G).messages.length, 1);
});

test('group history: with null and conv; unread exact when all is loaded', () => {
    let s = reduce(welcome(), {type: 'historyLoading', peer: G});
    assert.equal(conv(s, G).loading, true);
    s = reduce(s, {type: 'history', frame: {type: 'history', with: null, conv: CONV, more: false,
        messages: [gmsg(40, 7), gmsg(41, ME), gmsg(42, 8)], read: {mine: 40, theirs: 41},
        people: [carla]}});
    const c = conv(s, G);
    assert.equal(c.loaded, true);
    assert.equal(c.loading, false);
    assert.deepEqual(c.messages.map((m) => m.id), [40, 41, 42]);
    assert.equal(c.unread, 1, 'Bruno\'s 42 is after my read marker');
    assert.equal(c.readTheirs, 41);
    assert.equal(s.people[11].fullname, 'Carla Dias', 'senders the history names are known');
});

test('group members: from the history frame; online = members ∩ online course-mates (me too), live', () => {
    let s = reduce(welcome(), listed);
    assert.equal(groupOnlineCount(s, G), -1, 'members unknown before the history');
    assert.equal(groupInfo(s, G).members, 4, 'the list\'s count meanwhile');
    const frame = {type: 'history', with: null, conv: CONV, more: false, messages: [], read: {mine: 0, theirs: 0},
        people: [], members: [7, ME, 11, 12, 13]};
    s = reduce(s, {type: 'history', frame});
    assert.equal(groupInfo(s, G).members, 5, 'the history\'s member list is fresher');
    assert.equal(groupOnlineCount(s, G), -1, 'not connected: presence unknown');
    s = reduce(s, {type: 'connection', status: {state: 'connected'}});
    assert.equal(groupOnlineCount(s, G), 2, 'Ana and me (Bruno is online but not a member)');
    s = reduce(s, {type: 'presence', user: carla, status: 'online'});
    assert.equal(groupOnlineCount(s, G), 3);
    s = reduce(s, {type: 'presence', user: ana, status: 'offline'});
    assert.equal(groupOnlineCount(s, G), 2);
    assert.equal(reduce(s, {type: 'history', frame}).groupMembers, s.groupMembers, 'the same list changes nothing');
    const str = makeStr({membercountmany: '{$a} members', membersonline: '{$a->members}, {$a->online}',
        onlinemembersmany: '{$a} online', onlinemembersone: '{$a} online'});
    assert.equal(str('membersonline', {members: str('membercountmany', 5), online: str('onlinemembersmany', 2)}),
        '5 members, 2 online');
});

test('Seen by N: distinct readers whose upto reaches my last message, only under my last message', () => {
    let s = reduce(welcome(), {type: 'message', message: gmsg(40, 7), sender: ana});
    s = reduce(s, {type: 'message', message: gmsg(41, ME)});
    let v = conversationView(s, G, 0);
    assert.equal(v.seen, false);
    assert.deepEqual(v.seenBy, []);
    s = reduce(s, {type: 'read', frame: {reader: 7, conv: CONV, upto: 41}});
    s = reduce(s, {type: 'read', frame: {reader: 7, conv: CONV, upto: 41}});
    s = reduce(s, {type: 'read', frame: {reader: 8, conv: CONV, upto: 40}});
    v = conversationView(s, G, 0);
    assert.equal(v.seen, true);
    assert.deepEqual(v.seenBy, [7], 'Bruno read only up to 40; Ana counts once');
    s = reduce(s, {type: 'read', frame: {reader: 8, conv: CONV, upto: 41}});
    assert.deepEqual(conversationView(s, G, 0).seenBy, [7, 8]);
    const older = reduce(s, {type: 'read', frame: {reader: 8, conv: CONV, upto: 30}});
    assert.equal(older, s, 'an older read changes nothing');
    // A new message of mine: nobody has seen that one yet.
    s = reduce(s, {type: 'message', message: gmsg(42, ME)});
    v = conversationView(s, G, 0);
    assert.equal(v.seen, false);
    assert.deepEqual(v.seenBy, []);
    // Someone else's message last: no Seen.
    s = reduce(s, {type: 'read', frame: {reader: 7, conv: CONV, upto: 42}});
    s = reduce(s, {type: 'message', message: gmsg(43, 8), sender: bruno});
    assert.equal(conversationView(s, G, 0).seen, false);
});

test('typing in a group: who, the latest named first, each expires on its own, a message stops it', () => {
    const str = makeStr({
        typing: '{$a} is typing…',
        typingothersone: '{$a->name} and {$a->count} other are typing…',
        typingothersmany: '{$a->name} and {$a->count} others are typing…',
    });
    let s = reduce(welcome(), {type: 'typing', from: 7, conv: CONV, now: 1000});
    let v = conversationView(s, G, 1000);
    assert.equal(v.typing, true);
    assert.equal(conversationView(s, 7, 1000).typing, false, 'not the 1:1 conversation with Ana');
    assert.equal(typingText(str, s, v.typers), 'Ana Lima is typing…');
    s = reduce(s, {type: 'typing', from: 8, conv: CONV, now: 2000});
    v = conversationView(s, G, 2000);
    assert.equal(typingText(str, s, v.typers), 'Bruno Costa and 1 other are typing…');
    s = reduce(s, {type: 'typing', from: 11, conv: CONV, now: 2500});
    s = reduce(s, {type: 'presence', user: carla, status: 'online'});
    v = conversationView(s, G, 2500);
    assert.equal(typingText(str, s, v.typers), 'Carla Dias and 2 others are typing…');
    // Ana's stops first.
    s = reduce(s, {type: 'tick', now: 1000 + TYPING_MS});
    assert.deepEqual(Object.keys(conv(s, G).typers).map(Number).sort((a, b) => a - b), [8, 11]);
    // Bruno writes: he is no longer typing.
    s = reduce(s, {type: 'message', message: gmsg(40, 8), sender: bruno});
    assert.deepEqual(conversationView(s, G, 2600).typers, [11]);
    s = reduce(s, {type: 'tick', now: 2500 + TYPING_MS});
    assert.equal(conversationView(s, G, 2500 + TYPING_MS).typing, false);
    assert.equal(typingText(str, s, []), '');
});

test('the Chats list: a group row opens its dock window; a read with conv clears its count', () => {
    const row = {conv: CONV, type: 'group', with: null, name: 'PSY101 Study group', members: 4, last: null, unread: 2,
        favourite: false, muted: false, online: false};
    const m = conversationModel(row, ME);
    assert.equal(m.window, G);
    assert.equal(m.group, true);
    assert.equal(m.individual, false);
    assert.equal(m.members, 4);
    assert.equal(conversationModel({conv: 3, type: 'self', with: {id: ME, fullname: 'Me'}, name: 'Me', unread: 0}, ME).window, '');
    assert.equal(conversationModel({conv: 5, type: 'individual', with: ana, name: ana.fullname, unread: 0}, ME).window, '7');
    let p = reducePanel(initialPanel(), {type: 'conversations', frame: {offset: 0, total: 1, items: [row]}}, {me: ME});
    p = reducePanel(p, {type: 'read', frame: {reader: ME, conv: CONV, upto: 40}}, {me: ME});
    assert.equal(p.items[0].unread, 0);
});

test('makeStr fills {$a->name} from an object, as get_string does', () => {
    const str = makeStr({k: '{$a->name} and {$a->count}', one: 'Seen by {$a}'});
    assert.equal(str('k', {name: 'Ana', count: 2}), 'Ana and 2');
    assert.equal(str('one', 3), 'Seen by 3');
});

test('a group\'s picture and live members: from the roster and history; `members` changes the count without a history', () => {
    const PIC = 'https://m.example/pluginfile.php/12/group/icon/4/f1?rev=7';
    let s = welcome();
    s = reduce(s, {type: 'roster', frame: {type: 'roster', courses: [{id: 2, name: 'Psychology', groups: [
        {conv: CONV, name: 'PSY101 Study group', image: PIC, members: 4, online: 2},
    ]}]}});
    assert.deepEqual(groupInfo(s, G), {conv: CONV, image: PIC, name: 'PSY101 Study group', members: 4});
    s = reduce(s, {type: 'history', frame: {type: 'history', with: null, conv: CONV, messages: [], more: false,
        read: {mine: 0, theirs: 0}, people: [], members: [ME, 7, 8, 11], image: PIC + '0'}});
    assert.equal(groupInfo(s, G).image, PIC + '0', 'the newest picture wins');
    // Moodle removed Bruno: the count follows at once.
    s = reduce(s, {type: 'groupMembers', conv: CONV, members: [ME, 7, 11]});
    assert.equal(groupInfo(s, G).members, 3);
    assert.deepEqual(s.groupMembers[G], [ME, 7, 11]);
});

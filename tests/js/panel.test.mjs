// Unit tests of the block panel's pure state (moodle-block/amd/src/panel.js) through the chat reducer
// (state.js keeps it as state.panel), and of its controller with a fake transport and fake timers.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {initialState, reduce} from '../../moodle-block/amd/src/state.js';
import {
    createPanelController, searchTerm, selectedTab, unreadTotal, previewText, timeAgo, conversationModel,
    needsRefetch, roleName, SEARCH_DEBOUNCE_MS, SEARCH_RETRY_MS, PAGE_SIZE, MEMBERS_PAGE, TAB_PEOPLE,
} from '../../moodle-block/amd/src/panel.js';

const ME = 9;
const ana = {id: 7, fullname: 'Ana Lima', avatar: 'a'};
const bruno = {id: 8, fullname: 'Bruno Barros', avatar: 'b'};

const msg = (id, conv, from, to, time, text) => ({id, conv, from, to, time, text: text || 'm' + id, cid: ''});
const individual = (conv, person, last, extra) => Object.assign({
    conv, type: 'individual', with: person, name: person.fullname, members: 2, last, unread: 0,
    favourite: false, muted: false, online: false,
}, extra || {});
const page = (items, offset, total, more) => ({type: 'conversations', items, offset: offset || 0, total: total ?? items.length, more: !!more});

const withList = (items, total, more) => reduce(initialState(ME), {type: 'conversations', frame: page(items, 0, total, more)});
const convs = (state) => state.panel.items.map((c) => c.conv);

test('the list keeps the server order: starred first, then newest activity, empty conversations last', () => {
    const group = {conv: 40, type: 'group', with: null, name: 'Study group', members: 5, last: msg(90, 40, 8, 0, 300), unread: 2,
        favourite: false, muted: true, online: false};
    const s = withList([
        individual(10, ana, msg(50, 10, 7, ME, 100)),
        individual(11, bruno, null),
        group,
        individual(12, {id: 5, fullname: 'Cleo', avatar: ''}, msg(60, 12, ME, 5, 200), {favourite: true}),
    ]);
    assert.deepEqual(convs(s), [12, 40, 10, 11]);
    assert.equal(s.panel.loaded, true);
    // The people listed are known by name (a window opened from the list shows who it is).
    assert.equal(s.people[7].fullname, 'Ana Lima');
    assert.equal(unreadTotal(s.panel), 0, 'a muted conversation does not count in the tab');
});

test('a live message moves its conversation to the top of the non-starred ones and counts it unread', () => {
    let s = withList([
        individual(12, {id: 5, fullname: 'Cleo', avatar: ''}, msg(60, 12, ME, 5, 200), {favourite: true}),
        individual(11, bruno, msg(55, 11, 8, ME, 150), {unread: 1}),
        individual(10, ana, msg(50, 10, 7, ME, 100)),
    ]);
    s = reduce(s, {type: 'message', message: msg(70, 10, 7, ME, 400, 'new from Ana'), sender: ana});
    assert.deepEqual(convs(s), [12, 10, 11], 'the starred one stays first');
    const c = s.panel.items[1];
    assert.equal(c.last.text, 'new from Ana');
    assert.equal(c.unread, 1);
    assert.equal(c.online, true, 'who just wrote is online');
    // My own message moves it too, without counting.
    s = reduce(s, {type: 'message', message: msg(71, 11, ME, 8, 401, 'mine'), sender: {id: ME, fullname: 'Me'}});
    assert.deepEqual(convs(s), [12, 11, 10]);
    assert.equal(s.panel.items[1].unread, 1);
    // A message the list already has (resume, another tab) changes nothing.
    const again = reduce(s, {type: 'message', message: msg(70, 10, 7, ME, 400), sender: ana});
    assert.equal(again.panel, s.panel);
    assert.equal(unreadTotal(s.panel), 2);
});

test('a message of a conversation not listed asks for the first page again; a read clears the count', () => {
    let s = withList([individual(10, ana, msg(50, 10, 7, ME, 100), {unread: 2})]);
    assert.equal(needsRefetch(s.panel, msg(80, 99, 8, ME, 500)), true);
    assert.equal(needsRefetch(s.panel, msg(80, 10, 7, ME, 500)), false);
    assert.equal(needsRefetch(initialState(ME).panel, msg(80, 99, 8, ME, 500)), false, 'not before the list is loaded');
    // A read of an older message keeps the count; reading up to the last clears it.
    const partial = reduce(s, {type: 'read', frame: {reader: ME, with: 7, upto: 49}});
    assert.equal(partial.panel.items[0].unread, 2);
    s = reduce(s, {type: 'read', frame: {reader: ME, with: 7, upto: 50}});
    assert.equal(s.panel.items[0].unread, 0);
    // Their reading of my messages is not my unread count.
    const theirs = reduce(withList([individual(10, ana, msg(50, 10, 7, ME, 100), {unread: 2})]), {type: 'read', frame: {reader: 7, with: ME, upto: 50}});
    assert.equal(theirs.panel.items[0].unread, 2);
    // Presence moves the online dot.
    s = reduce(s, {type: 'presence', user: ana, status: 'online'});
    assert.equal(s.panel.items[0].online, true);
    s = reduce(s, {type: 'presence', user: ana, status: 'offline'});
    assert.equal(s.panel.items[0].online, false);
});

test('pages: later pages append without duplicates; a refetched first page keeps the later pages', () => {
    const list = Array.from({length: 25}, (_, i) => individual(100 - i, {id: 200 + i, fullname: 'P' + i, avatar: ''}, msg(1000 - i, 100 - i, 200 + i, ME, 5000 - i)));
    let s = reduce(initialState(ME), {type: 'conversations', frame: page(list.slice(0, 20), 0, 25, true)});
    assert.equal(s.panel.more, true);
    // The list moved meanwhile: the second page repeats one of the first.
    s = reduce(s, {type: 'conversations', frame: page(list.slice(19), 20, 25, false)});
    assert.equal(s.panel.items.length, 25);
    assert.equal(new Set(convs(s)).size, 25);
    assert.equal(s.panel.more, false);
    // A new conversation on top: the first page again; the older ones stay below it.
    const fresh = individual(500, bruno, msg(2000, 500, 8, ME, 9000), {unread: 1});
    s = reduce(s, {type: 'conversations', frame: page([fresh].concat(list.slice(0, 19)), 0, 26, true)});
    assert.equal(s.panel.items.length, 26);
    assert.equal(convs(s)[0], 500);
    assert.equal(s.panel.more, false, 'everything is listed');
});

test('the tab: Chats while loading and with conversations, Online without; the user\'s choice wins', () => {
    const s0 = initialState(ME);
    assert.equal(selectedTab(s0.panel), 'chats');
    assert.equal(selectedTab(withList([]).panel), 'online');
    // Settled by the first list: a first conversation later does not switch the tab under the user.
    const later = reduce(withList([]), {type: 'conversations', frame: page([individual(10, ana, msg(50, 10, 7, ME, 100))], 0, 1)});
    assert.equal(selectedTab(later.panel), 'online');
    assert.equal(selectedTab(withList([individual(10, ana, null)]).panel), 'chats');
    const chosen = reduce(withList([individual(10, ana, null)]), {type: 'panelTab', tab: 'online'});
    assert.equal(selectedTab(chosen.panel), 'online');
    assert.equal(reduce(chosen, {type: 'panelTab', tab: 'nonsense'}), chosen);
});

test('search terms: trimmed, 2 to 100 characters, at most 3 words', () => {
    assert.equal(searchTerm(' a '), '');
    assert.equal(searchTerm('é'), '');
    assert.equal(searchTerm('  an  '), 'an');
    assert.equal(searchTerm('ana   de  la  lima'), 'ana de la');
    assert.equal(Array.from(searchTerm('ü'.repeat(150))).length, 100);
});

test('people answers: only the answer for what is typed now is shown; a shorter text clears them', () => {
    let s = reduce(initialState(ME), {type: 'search', text: 'an'});
    s = reduce(s, {type: 'search', text: 'ana'});
    const old = reduce(s, {type: 'people', frame: {type: 'people', query: 'an', items: [ana, bruno]}});
    assert.equal(old.panel.results, null, 'an answer to an older text is dropped');
    s = reduce(s, {type: 'people', frame: {type: 'people', query: 'ana', items: [Object.assign({online: true}, ana)]}});
    assert.deepEqual(s.panel.results, [{id: 7, fullname: 'Ana Lima', avatar: 'a', online: true, status: 'online'}]);
    assert.equal(s.people[7].fullname, 'Ana Lima');
    s = reduce(s, {type: 'searchLimited'});
    assert.equal(s.panel.results.length, 1, 'rate limited: the last results stay');
    s = reduce(s, {type: 'search', text: 'a'});
    assert.equal(s.panel.results, null);
    assert.equal(s.panel.query, '');
});

test('display model: preview on one line, own messages marked, groups get an initial and no window', () => {
    assert.equal(previewText('  hello\n\n  there\t you '), 'hello there you');
    assert.equal(Array.from(previewText('x'.repeat(300))).length, 120);
    const mine = conversationModel(individual(10, ana, msg(50, 10, ME, 7, 100, 'see\nyou')), ME);
    assert.equal(mine.peer, 7);
    assert.equal(mine.mine, true);
    assert.equal(mine.preview, 'see you');
    const group = conversationModel({conv: 40, type: 'group', with: null, name: 'ästhetik group', last: null, unread: 0}, ME);
    assert.equal(group.peer, 0);
    assert.equal(group.group, true);
    assert.equal(group.initial, 'Ä');
    assert.equal(group.time, 0);
    const self = conversationModel({conv: 41, type: 'self', with: {id: ME, fullname: 'Me', avatar: 'm'}, name: 'Me', last: null, unread: 0}, ME);
    assert.equal(self.peer, 0, 'the personal space opens in Moodle, not as a window onto oneself');
});

test('times: now, minutes, today, yesterday, this week, older', () => {
    const now = new Date(2026, 2, 12, 15, 0, 0).getTime();
    const at = (d) => Math.floor(d.getTime() / 1000);
    assert.deepEqual(timeAgo(at(new Date(2026, 2, 12, 14, 59, 30)), now), {unit: 'now', value: 0});
    assert.deepEqual(timeAgo(at(new Date(2026, 2, 12, 14, 35)), now), {unit: 'minutes', value: 25});
    assert.equal(timeAgo(at(new Date(2026, 2, 12, 1, 0)), now).unit, 'today');
    assert.equal(timeAgo(at(new Date(2026, 2, 11, 23, 0)), now).unit, 'yesterday');
    assert.equal(timeAgo(at(new Date(2026, 2, 8, 9, 0)), now).unit, 'week');
    assert.equal(timeAgo(at(new Date(2026, 1, 20, 9, 0)), now).unit, 'date');
});

/** A controller over a real reducer, a fake transport and hand-run timers. */
const harness = () => {
    let state = initialState(ME);
    const sent = [];
    const transport = {connected: true, send(frame) {
        if (!this.connected) {
            return false;
        }
        sent.push(frame);
        return true;
    }};
    let clock = 0;
    let timers = [];
    const fakeTimers = {
        setTimeout: (fn, ms) => {
            const t = {fn, at: clock + ms};
            timers.push(t);
            return t;
        },
        clearTimeout: (t) => {
            timers = timers.filter((x) => x !== t);
        },
    };
    const advance = (ms) => {
        clock += ms;
        const due = timers.filter((t) => t.at <= clock);
        timers = timers.filter((t) => t.at > clock);
        due.forEach((t) => t.fn());
    };
    const store = new Map();
    const storage = {getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k)};
    const dispatch = (action) => {
        state = reduce(state, action);
    };
    const panel = createPanelController({transport, dispatch, getState: () => state, userid: ME, storage, timers: fakeTimers});
    const frame = (f) => {
        if (f.type === 'message') {
            dispatch({type: 'message', message: f.message, sender: f.sender});
        } else if (f.type === 'presence') {
            // As the dock controller dispatches it.
            dispatch({type: 'presence', user: f.user, status: f.status});
        } else {
            dispatch({type: f.type, frame: f});
        }
        panel.onFrame(f);
    };
    return {panel, sent, advance, frame, storage, get state() {
        return state;
    }};
};

test('controller: the welcome asks for the first page; More and a new conversation ask again, one at a time', () => {
    const h = harness();
    h.frame({type: 'welcome', user: {id: ME}});
    assert.deepEqual(h.sent, [{type: 'conversations', offset: 0, limit: PAGE_SIZE}]);
    h.frame(page([individual(10, ana, msg(50, 10, 7, ME, 100))], 0, 30, true));
    h.panel.onIntent({type: 'loadmore'});
    h.panel.onIntent({type: 'loadmore'});
    assert.deepEqual(h.sent.slice(1), [{type: 'conversations', offset: 1, limit: PAGE_SIZE}], 'one page at a time');
    // A message of an unknown conversation while a page is on its way: the first page once it is answered.
    h.frame({type: 'message', message: msg(90, 77, 8, ME, 200), sender: bruno});
    assert.equal(h.sent.length, 2);
    h.frame(page([], 1, 30, false));
    assert.deepEqual(h.sent.at(-1), {type: 'conversations', offset: 0, limit: PAGE_SIZE});
});

test('controller: searches are debounced, never sent under 2 characters, retried after rate_limited', () => {
    const h = harness();
    h.panel.onIntent({type: 'search', text: 'a'});
    h.advance(1000);
    assert.deepEqual(h.sent, [], 'nothing for one character');
    h.panel.onIntent({type: 'search', text: 'an'});
    h.advance(100);
    h.panel.onIntent({type: 'search', text: 'ana'});
    h.advance(SEARCH_DEBOUNCE_MS - 1);
    assert.deepEqual(h.sent, []);
    h.advance(1);
    assert.deepEqual(h.sent, [{type: 'people', query: 'ana'}], 'one search, for the last text');
    h.frame({type: 'people', query: 'ana', items: [ana]});
    h.panel.onIntent({type: 'search', text: 'ana l'});
    h.advance(SEARCH_DEBOUNCE_MS);
    h.frame({type: 'error', code: 'rate_limited', ref: 'people', message: ''});
    assert.equal(h.state.panel.rateLimited, true);
    assert.deepEqual(h.state.panel.results.map((p) => p.id), [7], 'the last results stay');
    h.advance(SEARCH_RETRY_MS);
    assert.deepEqual(h.sent.at(-1), {type: 'people', query: 'ana l'}, 'asked again after a moment');
    // Escape (an empty text) cancels a search on its way.
    h.panel.onIntent({type: 'search', text: 'bru'});
    h.panel.onIntent({type: 'search', text: ''});
    h.advance(1000);
    assert.equal(h.sent.filter((f) => f.query === 'bru').length, 0);
    assert.equal(h.state.panel.results, null);
});

test('controller: the chosen tab is remembered and restored at the next welcome', () => {
    const h = harness();
    h.panel.onIntent({type: 'panelTab', tab: 'online'});
    assert.equal(h.storage.getItem('block_dockchat_tab_' + ME), 'online');
    const next = harness();
    next.storage.setItem('block_dockchat_tab_' + ME, 'online');
    next.frame({type: 'welcome', user: {id: ME}});
    assert.equal(selectedTab(next.state.panel), 'online');
});

test('People tab: the roster when the tab is shown, each unfolded course\'s first page, More, folding, presence', () => {
    const h = harness();
    h.frame({type: 'welcome', user: {id: ME}});
    assert.equal(h.sent.some((f) => f.type === 'roster'), false, 'not asked for while the tab is not shown');
    h.panel.onIntent({type: 'panelTab', tab: TAB_PEOPLE});
    assert.equal(selectedTab(h.state.panel), TAB_PEOPLE);
    assert.deepEqual(h.sent.at(-1), {type: 'roster'});
    h.frame({type: 'roster', courses: [{id: 2, name: 'Algebra', groups: []}, {id: 3, name: 'Biology', groups: []}]});
    assert.deepEqual(h.sent.slice(-2), [
        {type: 'course_members', course: 2, offset: 0, limit: MEMBERS_PAGE},
        {type: 'course_members', course: 3, offset: 0, limit: MEMBERS_PAGE},
    ]);
    const teacher = {id: 3, fullname: 'Tereza Silva', avatar: 't', online: false, role: {name: '', shortname: 'editingteacher'}};
    h.frame({type: 'course_members', course: 2, offset: 0, total: 3, more: true,
        items: [teacher, Object.assign({online: true, role: null}, ana)]});
    const m = h.state.panel.members[2];
    assert.deepEqual(m.items.map((p) => p.id), [3, 7]);
    assert.equal(m.more, true);
    assert.equal(h.state.people[3].fullname, 'Tereza Silva', 'the people listed are known to the windows');
    // More: the next offset, once.
    h.panel.onIntent({type: 'moreMembers', course: 2});
    h.panel.onIntent({type: 'moreMembers', course: 2});
    assert.deepEqual(h.sent.filter((f) => f.type === 'course_members' && f.offset === 2),
        [{type: 'course_members', course: 2, offset: 2, limit: MEMBERS_PAGE}]);
    // A later page appends, without the people already listed.
    h.frame({type: 'course_members', course: 2, offset: 2, total: 3, more: false,
        items: [Object.assign({online: false, role: null}, bruno), Object.assign({online: true, role: null}, ana)]});
    assert.deepEqual(h.state.panel.members[2].items.map((p) => p.id), [3, 7, 8]);
    // Presence changes a listed person in place.
    h.frame({type: 'presence', user: ana, status: 'offline'});
    assert.equal(h.state.panel.members[2].items.find((p) => p.id === 7).online, false);
    // Folding keeps the people; unfolding a course never loaded asks for it.
    h.panel.onIntent({type: 'courseFold', course: 2});
    assert.equal(h.state.panel.folded[2], true);
    assert.equal(h.state.panel.members[2].items.length, 3);
    const before = h.sent.length;
    h.panel.onIntent({type: 'courseFold', course: 2});
    assert.equal(h.sent.length, before, 'loaded already');
});

test('role names as Moodle shows them: the course\'s or the role\'s name, else the standard default, else the shortname', () => {
    const str = (k) => ({'role:editingteacher': 'Teacher', 'role:teacher': 'Non-editing teacher'}[k] || '[[' + k + ']]');
    assert.equal(roleName(null, str), '');
    assert.equal(roleName({name: 'Professora', shortname: 'editingteacher'}, str), 'Professora');
    assert.equal(roleName({name: '', shortname: 'editingteacher'}, str), 'Teacher');
    assert.equal(roleName({name: ' ', shortname: 'teacher'}, str), 'Non-editing teacher');
    assert.equal(roleName({name: '', shortname: 'tutor'}, str), 'tutor');
});

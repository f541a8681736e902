// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

/**
 * The chat state: pure and immutable. `reduce(state, action)` returns a new state and never mutates.
 *
 * Holds who is online, the docked windows, each conversation's messages (deduplicated by server id,
 * pending ones by cid, in id order), unread counts, typing, read markers ('Seen') and the connection
 * state. No DOM, no I/O: unit-tested in node.
 *
 * @module     block_dockchat/state
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

import {initialPanel, reducePanel, panelPeople} from './panel.js';

/** How long a 'typing' frame shows the indicator (the server forwards at most one per 2 s). */
export const TYPING_MS = 5000;

const freeze = (o) => Object.freeze(o);

/**
 * @param {number} [me] my user id when known before the welcome
 * @returns {object}
 */
export const initialState = (me) => freeze({
    me: me || 0,
    user: null,
    connection: freeze({state: 'idle'}),
    online: freeze([]),
    people: freeze({}),
    windows: freeze([]),
    convs: freeze({}),
    limits: freeze({text_max_chars: 4000, history_max: 100}),
    welcomed: false,
    // When the window order last changed by a user's choice (ms), to settle tabs that raced.
    orderAt: 0,
    // The block's panel: conversations list, people search, tab (./panel.js).
    panel: initialPanel(),
});

const emptyConv = freeze({
    messages: freeze([]),
    pending: freeze([]),
    readMine: 0,
    readTheirs: 0,
    unread: 0,
    last: 0,
    more: true,
    loaded: false,
    loading: false,
    typingUntil: 0,
    highlight: false,
});

/**
 * @param {object} state
 * @param {number} peer
 * @returns {object} the conversation with that peer (an empty one if none)
 */
export const conv = (state, peer) => state.convs[peer] || emptyConv;

const withConv = (state, peer, changes) => {
    const next = freeze(Object.assign({}, conv(state, peer), changes));
    return freeze(Object.assign({}, state, {convs: freeze(Object.assign({}, state.convs, {[peer]: next}))}));
};

const withPeople = (state, persons) => {
    const list = persons.filter((p) => p && p.id);
    if (!list.length) {
        return state;
    }
    const people = Object.assign({}, state.people);
    list.forEach((p) => {
        people[p.id] = freeze(Object.assign({}, people[p.id] || {}, {id: p.id, fullname: p.fullname, avatar: p.avatar}));
    });
    return freeze(Object.assign({}, state, {people: freeze(people)}));
};

const byName = (a, b) => {
    const c = String(a.fullname || '').localeCompare(String(b.fullname || ''), undefined, {sensitivity: 'base'});
    return c !== 0 ? c : a.id - b.id;
};

/**
 * The peer of a message from my point of view.
 *
 * @param {object} state
 * @param {object} m message
 * @returns {number}
 */
export const peerOf = (state, m) => (m.from === state.me ? m.to : m.from);

/**
 * Merge messages into a sorted, deduplicated list (by server id); returns the same array when nothing
 * was added.
 *
 * @param {object[]} list sorted by id
 * @param {object[]} incoming
 * @returns {object[]}
 */
export const mergeMessages = (list, incoming) => {
    const seen = new Set(list.map((m) => m.id));
    const add = incoming.filter((m) => m && typeof m.id === 'number' && !seen.has(m.id) && seen.add(m.id));
    if (!add.length) {
        return list;
    }
    const merged = list.concat(add.map((m) => freeze(Object.assign({}, m))));
    merged.sort((a, b) => a.id - b.id);
    return freeze(merged);
};

const countUnread = (c, peer) => c.messages.filter((m) => m.from === peer && m.id > c.readMine).length;

/**
 * Add messages of any conversations (live, missed, acked); pending entries with the same cid go away;
 * unread counts grow for messages from the peer beyond my read marker; a window appears (minimised and
 * highlighted) for a peer who writes while no window is open.
 *
 * @param {object} state
 * @param {object[]} messages
 * @param {boolean} live whether these are new arrivals (highlight, typing reset)
 * @returns {object}
 */
const addMessages = (state, messages, live) => {
    const groups = {};
    messages.forEach((m) => {
        if (!m || typeof m.id !== 'number') {
            return;
        }
        const peer = peerOf(state, m);
        (groups[peer] = groups[peer] || []).push(m);
    });
    let next = state;
    Object.keys(groups).forEach((key) => {
        const peer = Number(key);
        const c = conv(next, peer);
        const msgs = mergeMessages(c.messages, groups[key]);
        if (msgs === c.messages) {
            return;
        }
        const known = new Set(c.messages.map((m) => m.id));
        const fresh = groups[key].filter((m) => !known.has(m.id));
        const cids = new Set(fresh.filter((m) => m.from === next.me && m.cid).map((m) => m.cid));
        const pending = cids.size ? freeze(c.pending.filter((p) => !cids.has(p.cid))) : c.pending;
        const incoming = fresh.filter((m) => m.from === peer && m.id > c.readMine).length;
        const last = Math.max(c.last, msgs.length ? msgs[msgs.length - 1].id : 0);
        const win = next.windows.find((w) => w.peer === peer);
        const changes = {messages: msgs, pending, last, unread: c.unread + incoming};
        if (live && incoming) {
            changes.typingUntil = 0;
            changes.highlight = !win || win.state !== 'open';
        }
        next = withConv(next, peer, changes);
        if (live && incoming && !win) {
            next = setWindow(next, peer, 'minimised');
        }
    });
    return next;
};

/**
 * Open, minimise or close a window.
 *
 * The windows are kept most recently used first (the first is the right-most). A window the user
 * asked for (`raise`) goes first; one that appears by itself (an incoming conversation, a window opened
 * elsewhere) goes last, so it never pushes aside the windows in use.
 *
 * @param {object} state
 * @param {number} peer
 * @param {string} winState 'open' | 'minimised' | 'closed'
 * @param {boolean} [raise] the user's choice: move (or add) it first
 * @param {number} [at] when the user chose it (ms): an older choice from another tab does not move windows
 * @returns {object}
 */
const setWindow = (state, peer, winState, raise, at) => {
    const existing = state.windows.find((w) => w.peer === peer);
    const stale = raise && at !== undefined && at < state.orderAt;
    let windows;
    if (winState === 'closed') {
        if (!existing) {
            return state;
        }
        windows = state.windows.filter((w) => w.peer !== peer);
    } else if (existing) {
        const moved = raise && !stale && state.windows[0] !== existing;
        if (existing.state === winState && !moved) {
            return state;
        }
        const entry = existing.state === winState ? existing : freeze({peer, state: winState});
        const others = state.windows.filter((w) => w !== existing);
        windows = moved ? [entry].concat(others) : state.windows.map((w) => (w === existing ? entry : w));
    } else {
        const entry = freeze({peer, state: winState});
        if (raise && !stale) {
            windows = [entry].concat(state.windows);
        } else if (raise) {
            // Chosen in another tab just before a newer choice here: right behind it.
            windows = state.windows.slice(0, 1).concat([entry], state.windows.slice(1));
        } else {
            windows = state.windows.concat([entry]);
        }
    }
    const changes = {windows: freeze(windows)};
    if (raise && !stale && at !== undefined) {
        changes.orderAt = at;
    }
    let next = freeze(Object.assign({}, state, changes));
    if (winState === 'open' && conv(next, peer).highlight) {
        next = withConv(next, peer, {highlight: false});
    }
    return next;
};

/**
 * The server's windows (oldest opened first) in the order this browser last showed them: the peers of
 * `order` (most recently used first), then any others, newest opened first.
 *
 * @param {object[]} windows {peer, state}, oldest opened first
 * @param {number[]} [order] peers, most recently used first
 * @returns {object[]}
 */
export const orderWindows = (windows, order) => {
    const rank = new Map((order || []).map((peer, i) => [peer, i]));
    const known = windows.filter((w) => rank.has(w.peer)).sort((a, b) => rank.get(a.peer) - rank.get(b.peer));
    const unknown = windows.filter((w) => !rank.has(w.peer)).reverse();
    return known.concat(unknown);
};

/**
 * The reducer of the chat (windows, conversations with peers, presence).
 *
 * @param {object} state
 * @param {object} action {type, ...}
 * @returns {object} the next state (the same object when nothing changed)
 */
const reduceChat = (state, action) => {
    switch (action.type) {
        case 'connection':
            return freeze(Object.assign({}, state, {connection: freeze(Object.assign({}, action.status))}));

        case 'welcome': {
            const f = action.frame;
            let next = freeze(Object.assign({}, state, {
                me: f.user ? f.user.id : state.me,
                user: f.user ? freeze(Object.assign({}, f.user)) : state.user,
                online: freeze((f.online || []).map((p) => freeze(Object.assign({}, p))).sort(byName)),
                limits: freeze(Object.assign({}, state.limits, f.limits || {})),
                welcomed: true,
            }));
            next = withPeople(next, [f.user].concat(f.online || [], (f.windows || []).map((w) => w.with)));
            const serverWindows = (f.windows || []).filter((w) => w && w.with && w.with.id);
            // The server's list is the truth: what another tab closed stays closed. Its order (oldest
            // opened first) gives way to the order this browser last showed (`action.order`).
            const listed = serverWindows.map((w) => freeze({peer: w.with.id, state: w.state === 'open' ? 'open' : 'minimised'}));
            next = freeze(Object.assign({}, next, {
                windows: freeze(orderWindows(listed, action.order)),
                orderAt: Math.max(next.orderAt, action.orderAt || 0),
            }));
            serverWindows.forEach((w) => {
                const c = conv(next, w.with.id);
                const read = w.read || {};
                next = withConv(next, w.with.id, {
                    unread: typeof w.unread === 'number' ? w.unread : c.unread,
                    readMine: Math.max(c.readMine, read.mine || 0),
                    readTheirs: Math.max(c.readTheirs, read.theirs || 0),
                    last: Math.max(c.last, w.last || 0),
                    highlight: w.state !== 'open' && (w.unread || 0) > 0,
                });
            });
            return next;
        }

        case 'reset': {
            // The server's database started over (the next welcome says what it holds now): the
            // messages, read markers and counts held here name messages that no longer exist, or other
            // ones. Only what is still being sent stays: it goes to the server again after the welcome.
            const convs = {};
            Object.keys(state.convs).forEach((key) => {
                const c = state.convs[key];
                if (c.pending.length) {
                    convs[key] = freeze(Object.assign({}, emptyConv, {pending: c.pending}));
                }
            });
            return freeze(Object.assign({}, state, {convs: freeze(convs)}));
        }

        case 'presence': {
            const user = action.user;
            if (!user || !user.id) {
                return state;
            }
            const others = state.online.filter((p) => p.id !== user.id);
            const online = action.status === 'online'
                ? others.concat([freeze(Object.assign({}, user, {status: 'online'}))]).sort(byName)
                : others;
            return withPeople(freeze(Object.assign({}, state, {online: freeze(online)})), [user]);
        }

        case 'message': {
            let next = action.sender ? withPeople(state, [action.sender]) : state;
            return addMessages(next, [action.message], true);
        }

        case 'missed':
            return addMessages(state, action.messages || [], true);

        case 'ack': {
            const a = action.ack;
            const c = conv(state, a.to);
            const p = c.pending.find((x) => x.cid === a.cid);
            if (!p) {
                return state;
            }
            const message = {id: a.id, from: state.me, to: a.to, text: p.text, time: a.time, cid: a.cid};
            return addMessages(state, [message], false);
        }

        case 'pending': {
            // A message typed in this tab or another tab of mine, not yet acknowledged.
            const c = conv(state, action.peer);
            if (c.pending.some((p) => p.cid === action.cid) || c.messages.some((m) => m.cid === action.cid && m.from === state.me)) {
                return state;
            }
            const entry = freeze({cid: action.cid, text: action.text, time: action.time, failed: null});
            return withConv(state, action.peer, {pending: freeze(c.pending.concat([entry]))});
        }

        case 'sendfailed': {
            const c = conv(state, action.peer);
            if (!c.pending.some((p) => p.cid === action.cid)) {
                return state;
            }
            const pending = c.pending.map((p) => (p.cid === action.cid
                ? freeze(Object.assign({}, p, {failed: action.code, final: !!action.final})) : p));
            return withConv(state, action.peer, {pending: freeze(pending)});
        }

        case 'resend': {
            // Sent again now after a passing refusal: 'Sending…' until acked or refused again.
            const c = conv(state, action.peer);
            if (!c.pending.some((p) => p.cid === action.cid && p.failed)) {
                return state;
            }
            const pending = c.pending.map((p) => (p.cid === action.cid ? freeze(Object.assign({}, p, {failed: null, final: false})) : p));
            return withConv(state, action.peer, {pending: freeze(pending)});
        }

        case 'discard': {
            const c = conv(state, action.peer);
            return withConv(state, action.peer, {pending: freeze(c.pending.filter((p) => p.cid !== action.cid))});
        }

        case 'historyLoading':
            return withConv(state, action.peer, {loading: true});

        case 'history': {
            const f = action.frame;
            if (!f.with || !f.with.id) {
                return state;
            }
            const peer = f.with.id;
            let next = withPeople(state, [f.with]);
            const c = conv(next, peer);
            if (action.reset) {
                next = withConv(next, peer, {messages: freeze([]), loaded: false});
            }
            next = addMessages(next, f.messages || [], false);
            const c2 = conv(next, peer);
            const read = f.read || {};
            const readMine = Math.max(c2.readMine, read.mine || 0);
            const counted = countUnread(Object.assign({}, c2, {readMine}), peer);
            next = withConv(next, peer, {
                loaded: true,
                loading: false,
                more: !!f.more,
                readMine,
                readTheirs: Math.max(c2.readTheirs, read.theirs || 0),
                // With the whole conversation loaded the count is exact; otherwise keep the server's count.
                unread: f.more ? Math.max(c.unread, counted) : counted,
            });
            return next;
        }

        case 'read': {
            const f = action.frame;
            if (f.reader === state.me) {
                const peer = f.with;
                const c = conv(state, peer);
                if (f.upto <= c.readMine) {
                    return state;
                }
                const updated = Object.assign({}, c, {readMine: f.upto});
                return withConv(state, peer, {readMine: f.upto, unread: countUnread(updated, peer), highlight: false});
            }
            // The other user read my messages.
            const peer = f.reader;
            const c = conv(state, peer);
            if (f.upto <= c.readTheirs) {
                return state;
            }
            return withConv(state, peer, {readTheirs: f.upto});
        }

        case 'typing': {
            return withConv(state, action.from, {typingUntil: action.now + TYPING_MS});
        }

        case 'tick': {
            // Expire typing indicators.
            let next = state;
            Object.keys(state.convs).forEach((key) => {
                const c = state.convs[key];
                if (c.typingUntil && c.typingUntil <= action.now) {
                    next = withConv(next, Number(key), {typingUntil: 0});
                }
            });
            return next;
        }

        case 'window': {
            // From the server (another tab, or a send) or a local action; `person` when known.
            let next = action.person ? withPeople(state, [action.person]) : state;
            return setWindow(next, action.peer, action.state, !!action.raise, action.at);
        }

        default:
            return state;
    }
};

/**
 * The reducer: the chat's, then the block panel's (./panel.js), which also names the people it lists.
 *
 * @param {object} state
 * @param {object} action {type, ...}
 * @returns {object} the next state (the same object when nothing changed)
 */
export const reduce = (state, action) => {
    let next = reduceChat(state, action);
    const before = next.panel || initialPanel();
    const panel = reducePanel(before, action, next);
    if (panel !== next.panel) {
        next = withPeople(freeze(Object.assign({}, next, {panel})), panelPeople(action));
    }
    return next;
};

/**
 * Display model of one conversation: day-grouped items with what the renderer needs.
 *
 * @param {object} state
 * @param {number} peer
 * @param {number} nowMs
 * @returns {{items: object[], seen: boolean, typing: boolean, lastOwnKey: string|null}}
 */
export const conversationView = (state, peer, nowMs) => {
    const c = conv(state, peer);
    const items = c.messages.map((m) => ({
        key: m.from === state.me && m.cid ? 'c:' + m.cid : 'm:' + m.id,
        id: m.id,
        mine: m.from === state.me,
        text: m.text,
        time: m.time,
        pending: false,
        failed: null,
    })).concat(c.pending.map((p) => ({
        key: 'c:' + p.cid,
        id: 0,
        cid: p.cid,
        mine: true,
        text: p.text,
        time: p.time,
        pending: !p.failed || !p.final,
        failed: p.failed,
        final: !!p.final,
    })));
    const last = items.length ? items[items.length - 1] : null;
    const lastOwn = c.messages.filter((m) => m.from === state.me).pop();
    // 'Seen' belongs under a delivered message, never under one still sending or refused.
    const seen = !!(last && last.mine && !last.pending && !last.failed && lastOwn && c.readTheirs >= lastOwn.id);
    return {
        items,
        seen,
        seenKey: seen ? last.key : null,
        typing: c.typingUntil > nowMs,
    };
};

/**
 * Newest message id from the peer that I have not marked read, or 0.
 *
 * @param {object} state
 * @param {number} peer
 * @returns {number}
 */
export const unreadUpto = (state, peer) => {
    const c = conv(state, peer);
    const theirs = c.messages.filter((m) => m.from === peer);
    const newest = theirs.length ? theirs[theirs.length - 1].id : 0;
    return newest > c.readMine ? newest : 0;
};

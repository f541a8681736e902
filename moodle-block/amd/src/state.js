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
 * Windows and conversations are named by a key: the other user's id (a number) for a conversation
 * of two, 'c' + Moodle's conversation id (a string, `groupKey`) for a group conversation.
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
 * The codes of a `send` refused for good that also say the conversation cannot take messages now
 * (PROTOCOL CanSend): the composer is disabled with the reason until the server says otherwise.
 */
export const CAN_SEND_CODES = Object.freeze(['blocked', 'contacts_only', 'not_contactable', 'no_permission',
    'messaging_disabled', 'not_member', 'conversation_disabled']);

const CAN_SEND_OK = Object.freeze({ok: true});

/**
 * A CanSend from a frame: an absent or malformed field is `{ok: true}` (older daemons never send it;
 * a send is still checked on its own), an unknown code is kept as 'unknown' (`error:unknown`).
 *
 * @param {*} value the frame's `can_send`
 * @returns {{ok: boolean, code?: string}}
 */
export const parseCanSend = (value) => {
    if (!value || typeof value !== 'object' || value.ok !== false) {
        return CAN_SEND_OK;
    }
    return freeze({ok: false, code: CAN_SEND_CODES.includes(value.code) ? value.code : 'unknown'});
};

const sameCanSend = (a, b) => a.ok === b.ok && a.code === b.code;

/**
 * The key of a group conversation's window.
 *
 * @param {number} convid Moodle's conversation id
 * @returns {string} 'c' + the id
 */
export const groupKey = (convid) => 'c' + convid;

/**
 * Whether a window key names a group conversation.
 *
 * @param {number|string} key
 * @returns {boolean}
 */
export const isGroupKey = (key) => typeof key === 'string' && /^c[1-9][0-9]*$/.test(key);

/**
 * Moodle's conversation id of a group key (0 for a user's id).
 *
 * @param {number|string} key
 * @returns {number}
 */
export const groupConv = (key) => (isGroupKey(key) ? Number(key.slice(1)) : 0);

/**
 * A window key from text (an object key, a data attribute): a group key as it is, else a user id.
 *
 * @param {string|number|null} text
 * @returns {number|string} 0 when it names nothing
 */
export const parseKey = (text) => {
    if (isGroupKey(text)) {
        return text;
    }
    const n = Number(text);
    return Number.isInteger(n) && n > 0 ? n : 0;
};

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
    // Drawn from the previous page's snapshot (./snapshot.js) and not reconciled with a welcome yet.
    restored: false,
    // When the window order last changed by a user's choice (ms), to settle tabs that raced.
    orderAt: 0,
    // Group conversations by key: {conv, name, members} (from the Chats list, or kept by the tab).
    groups: freeze({}),
    // A group's member ids by key, as its newest history frame listed them (who of them is online).
    groupMembers: freeze({}),
    // The block's panel: conversations list, people search, tab (./panel.js).
    panel: initialPanel(),
    // The background alerts (./alerts.js): the user's preferences, and whether this browser lets the
    // page notify ('granted', 'denied', 'default': not asked yet).
    alerts: freeze({sound: false, desktop: false, permission: 'default'}),
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
    // From the previous page's snapshot: shown, and replaced by the history fetched after the welcome.
    stale: false,
    typingUntil: 0,
    highlight: false,
    // Groups only: who is typing (user id -> until, ms) and how far each other member has read
    // (user id -> message id).
    typers: freeze({}),
    readers: freeze({}),
    // Whether a send would be accepted now (PROTOCOL CanSend): {ok: true} or {ok: false, code}.
    canSend: CAN_SEND_OK,
    // The window menu's state (PROTOCOL §4.1, `history` flags and the action frames): Moodle's
    // conversation id (0 while none), my mute and star of it, and whether I blocked the other user.
    flags: freeze({conv: 0, muted: false, starred: false, blocked: false}),
});

/**
 * @param {object} state
 * @param {number|string} peer a window key (a user id, or a group key)
 * @returns {object} the conversation with that peer (an empty one if none)
 */
export const conv = (state, peer) => state.convs[peer] || emptyConv;

const withConv = (state, peer, changes) => {
    const next = freeze(Object.assign({}, conv(state, peer), changes));
    return freeze(Object.assign({}, state, {convs: freeze(Object.assign({}, state.convs, {[peer]: next}))}));
};

const withFlags = (state, peer, changes) => {
    const before = conv(state, peer).flags;
    const flags = Object.assign({}, before, changes);
    if (Object.keys(flags).every((k) => flags[k] === before[k])) {
        return state;
    }
    return withConv(state, peer, {flags: freeze(flags)});
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

/**
 * Remember when offline people were last seen (PROTOCOL §5.2): `people[id].lastSeen`, Unix seconds.
 *
 * @param {object} state
 * @param {Array<[number, number]>} pairs [user id, last_seen]
 * @returns {object}
 */
const withLastSeen = (state, pairs) => {
    const list = pairs.filter(([id, t]) => id && typeof t === 'number' && t > 0
        && !(state.people[id] && state.people[id].lastSeen === t));
    if (!list.length) {
        return state;
    }
    const people = Object.assign({}, state.people);
    list.forEach(([id, t]) => {
        people[id] = freeze(Object.assign({id}, people[id] || {}, {lastSeen: t}));
    });
    return freeze(Object.assign({}, state, {people: freeze(people)}));
};

/**
 * The `last_seen` values an action carries.
 *
 * @param {object} action
 * @returns {Array<[number, number]>}
 */
const lastSeenIn = (action) => {
    const f = action.frame || {};
    switch (action.type) {
        case 'presence':
            return action.user && action.status === 'offline' ? [[action.user.id, action.lastSeen]] : [];
        case 'welcome':
            return (f.windows || []).filter((w) => w && w.with).map((w) => [w.with.id, w.last_seen]);
        case 'conversations':
            return (f.items || []).filter((c) => c && c.type === 'individual' && c.with).map((c) => [c.with.id, c.last_seen]);
        case 'people':
            return (f.items || []).filter((x) => x && x.id).map((x) => [x.id, x.last_seen]);
        default:
            return [];
    }
};

/**
 * A person's presence as the dock shows it: 'online' or 'away' (an online course-mate), else 'offline' with when
 * they were last seen (0: unknown).
 *
 * @param {object} state
 * @param {number} id
 * @returns {{status: string, lastSeen: number}}
 */
export const presenceOf = (state, id) => {
    const on = state.online.find((p) => p.id === id);
    if (on) {
        return {status: on.status === 'away' ? 'away' : 'online', lastSeen: 0};
    }
    const p = state.people[id];
    return {status: 'offline', lastSeen: p && p.lastSeen ? p.lastSeen : 0};
};

const byName = (a, b) => {
    const c = String(a.fullname || '').localeCompare(String(b.fullname || ''), undefined, {sensitivity: 'base'});
    return c !== 0 ? c : a.id - b.id;
};

/**
 * The window key of a message from my point of view: the other user, or the group (`to` is 0 in a
 * group conversation).
 *
 * @param {object} state
 * @param {object} m message
 * @returns {number|string}
 */
export const peerOf = (state, m) => {
    if (m.to === 0 && typeof m.conv === 'number' && m.conv > 0) {
        return groupKey(m.conv);
    }
    return m.from === state.me ? m.to : m.from;
};

/**
 * Whether a message of a conversation is someone else's (the peer's, or another member's in a group).
 *
 * @param {object} state
 * @param {number|string} key
 * @param {object} m
 * @returns {boolean}
 */
const isTheirs = (state, key, m) => (isGroupKey(key) ? m.from !== state.me : m.from === key);

/**
 * A group's name and member count, as the Chats list (or this tab) knows them.
 *
 * @param {object} state
 * @param {string} key a group key
 * @returns {{conv: number, image: string, name: string, members: number}}
 */
export const groupInfo = (state, key) => {
    const convid = groupConv(key);
    const known = state.groups[key];
    const listed = state.panel ? state.panel.items.find((c) => c.conv === convid && c.type === 'group') : null;
    const ids = state.groupMembers[key];
    return {
        conv: convid,
        // The group's own picture (Moodle's group icon, or the theme's default), '' while unknown.
        image: (known && known.image) || '',
        name: (listed && listed.name) || (known && known.name) || '',
        // The member list of the newest history is fresher than the Chats list's count.
        members: (ids && ids.length) || (listed && listed.members) || (known && known.members) || 0,
    };
};

/**
 * How many of a group's members are online now (me included while connected), or -1 when unknown
 * (its history has not listed the members yet, or the dock is not connected: presence is unknown).
 *
 * @param {object} state
 * @param {string} key a group key
 * @returns {number}
 */
export const groupOnlineCount = (state, key) => {
    const ids = state.groupMembers[key];
    if (!ids || state.connection.state !== 'connected') {
        return -1;
    }
    const online = new Set(state.online.map((p) => p.id));
    online.add(state.me);
    return ids.filter((id) => online.has(id)).length;
};

const withGroupMembers = (state, key, ids) => {
    const list = ids.filter((id) => typeof id === 'number' && id > 0);
    const had = state.groupMembers[key];
    if (had && had.length === list.length && had.every((id, i) => id === list[i])) {
        return state;
    }
    const groupMembers = Object.assign({}, state.groupMembers, {[key]: freeze(list)});
    return freeze(Object.assign({}, state, {groupMembers: freeze(groupMembers)}));
};

const withGroups = (state, list) => {
    const changed = list.filter((g) => {
        const had = state.groups[groupKey(g.conv)];
        return !had || had.name !== g.name || had.members !== g.members || (!!g.image && had.image !== g.image);
    });
    if (!changed.length) {
        return state;
    }
    const groups = Object.assign({}, state.groups);
    changed.forEach((g) => {
        const had = state.groups[groupKey(g.conv)];
        groups[groupKey(g.conv)] = freeze({conv: g.conv, name: String(g.name || ''), members: Number(g.members) || 0,
            image: String(g.image || (had && had.image) || '')});
    });
    return freeze(Object.assign({}, state, {groups: freeze(groups)}));
};

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

const countUnread = (state, c, peer) => c.messages.filter((m) => isTheirs(state, peer, m) && m.id > c.readMine).length;

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
        const peer = parseKey(key);
        const c = conv(next, peer);
        const msgs = mergeMessages(c.messages, groups[key]);
        if (msgs === c.messages) {
            return;
        }
        const known = new Set(c.messages.map((m) => m.id));
        const fresh = groups[key].filter((m) => !known.has(m.id));
        const cids = new Set(fresh.filter((m) => m.from === next.me && m.cid).map((m) => m.cid));
        const pending = cids.size ? freeze(c.pending.filter((p) => !cids.has(p.cid))) : c.pending;
        const incoming = fresh.filter((m) => isTheirs(next, peer, m) && m.id > c.readMine).length;
        const last = Math.max(c.last, msgs.length ? msgs[msgs.length - 1].id : 0);
        const win = next.windows.find((w) => w.peer === peer);
        const changes = {messages: msgs, pending, last, unread: c.unread + incoming};
        if (live && incoming) {
            changes.typingUntil = 0;
            changes.highlight = !win || win.state !== 'open';
            if (isGroupKey(peer)) {
                // Whoever wrote has stopped typing.
                const typers = Object.assign({}, c.typers);
                fresh.forEach((m) => delete typers[m.from]);
                changes.typers = freeze(typers);
            }
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
 * @param {number|string} peer a window key (a user id, or a group key)
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
 * @param {Array<number|string>} [order] window keys, most recently used first
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
                restored: false,
            }));
            next = withPeople(next, [f.user].concat(f.online || [], (f.windows || []).map((w) => w.with)));
            const serverWindows = (f.windows || []).filter((w) => w && w.with && w.with.id);
            // The server's list is the truth: what another tab closed stays closed. Its order (oldest
            // opened first) gives way to the order this browser last showed (`action.order`).
            const listed = serverWindows.map((w) => freeze({peer: w.with.id, state: w.state === 'open' ? 'open' : 'minimised'}));
            // Group windows are this tab's own (the server keeps windows onto users only): those shown
            // stay, and after a page load those the tab kept (`action.groups`) come back.
            const groupWins = state.windows.filter((w) => isGroupKey(w.peer));
            (action.groups || []).forEach((g) => {
                const key = g && typeof g.conv === 'number' ? groupKey(g.conv) : '';
                if (key && !groupWins.some((w) => w.peer === key)) {
                    groupWins.push(freeze({peer: key, state: g.state === 'open' ? 'open' : 'minimised'}));
                }
            });
            next = withGroups(next, (action.groups || []).filter((g) => g && typeof g.conv === 'number' && g.name));
            listed.push(...groupWins);
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
                    canSend: sameCanSend(c.canSend, parseCanSend(w.can_send)) ? c.canSend : parseCanSend(w.can_send),
                });
            });
            return next;
        }

        case 'restore': {
            // The previous page's snapshot (./snapshot.js checkSnapshot), before the first welcome: drawn
            // at once, then reconciled (the welcome's lists, the histories refetched for stale windows).
            const snap = action.snapshot;
            if (!snap || state.welcomed) {
                return state;
            }
            let next = freeze(Object.assign({}, state, {
                user: snap.self ? freeze(Object.assign({}, snap.self)) : state.user,
                online: freeze(snap.online.map((p) => freeze(Object.assign({}, p, {status: p.status || 'online'}))).sort(byName)),
                limits: freeze(Object.assign({}, state.limits, snap.limits)),
                orderAt: Math.max(state.orderAt, snap.orderAt || 0),
                restored: true,
            }));
            next = withPeople(next, [snap.self].concat(snap.online, snap.people));
            next = withGroups(next, snap.groups);
            const seen = new Set();
            const windows = snap.windows.filter((w) => !seen.has(w.peer) && seen.add(w.peer))
                .map((w) => freeze({peer: w.peer, state: w.state}));
            next = freeze(Object.assign({}, next, {windows: freeze(windows)}));
            Object.keys(snap.convs).forEach((key) => {
                const peer = parseKey(key);
                const c = snap.convs[key];
                if (!peer) {
                    return;
                }
                const messages = mergeMessages([], c.messages);
                const number = (v) => (typeof v === 'number' && v > 0 ? v : 0);
                next = withConv(next, peer, {
                    messages,
                    readMine: number(c.readMine),
                    readTheirs: number(c.readTheirs),
                    unread: number(c.unread),
                    last: Math.max(number(c.last), messages.length ? messages[messages.length - 1].id : 0),
                    more: c.more !== false,
                    loaded: !!c.loaded,
                    stale: true,
                    highlight: number(c.unread) > 0 && !windows.some((w) => w.peer === peer && w.state === 'open'),
                    canSend: parseCanSend(c.canSend),
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
            const here = action.status === 'online' || action.status === 'away';
            const online = here
                ? others.concat([freeze(Object.assign({}, user, {status: action.status}))]).sort(byName)
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
            const key = a.to === 0 && a.conv ? groupKey(a.conv) : a.to;
            const c = conv(state, key);
            const p = c.pending.find((x) => x.cid === a.cid);
            if (!p) {
                return state;
            }
            const message = {id: a.id, conv: a.conv, from: state.me, to: a.to, text: p.text, time: a.time, cid: a.cid};
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
            // A final refusal for one of CanSend's codes: the conversation cannot take messages now.
            const blocked = action.final && CAN_SEND_CODES.includes(action.code) && action.peer
                && !sameCanSend(c.canSend, {ok: false, code: action.code});
            const next = blocked ? withConv(state, action.peer, {canSend: freeze({ok: false, code: action.code})}) : state;
            if (!c.pending.some((p) => p.cid === action.cid)) {
                return next;
            }
            const pending = c.pending.map((p) => (p.cid === action.cid
                ? freeze(Object.assign({}, p, {failed: action.code, final: !!action.final})) : p));
            return withConv(next, action.peer, {pending: freeze(pending)});
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
            // A quiet refresh (a window drawn from the snapshot) shows no loading line: its messages are there.
            return action.quiet ? state : withConv(state, action.peer, {loading: true});

        case 'history': {
            const f = action.frame;
            const peer = f.with && f.with.id ? f.with.id : (typeof f.conv === 'number' ? groupKey(f.conv) : 0);
            if (!peer) {
                return state;
            }
            // A group's history names its senders (`people`, online or not) and lists its `members`.
            let next = withPeople(state, [f.with].concat(Array.isArray(f.people) ? f.people : []));
            if (isGroupKey(peer) && Array.isArray(f.members)) {
                next = withGroupMembers(next, peer, f.members);
            }
            if (isGroupKey(peer) && typeof f.image === 'string' && f.image) {
                const g = groupInfo(next, peer);
                next = withGroups(next, [{conv: f.conv, name: g.name, members: g.members, image: f.image}]);
            }
            const c = conv(next, peer);
            if (action.reset) {
                next = withConv(next, peer, {messages: freeze([]), loaded: false});
            }
            next = addMessages(next, f.messages || [], false);
            const c2 = conv(next, peer);
            const read = f.read || {};
            const readMine = Math.max(c2.readMine, read.mine || 0);
            const counted = countUnread(next, Object.assign({}, c2, {readMine}), peer);
            next = withConv(next, peer, {
                loaded: true,
                loading: false,
                stale: false,
                more: !!f.more,
                readMine,
                readTheirs: Math.max(c2.readTheirs, read.theirs || 0),
                // With the whole conversation loaded the count is exact; otherwise keep the server's count.
                unread: f.more ? Math.max(c.unread, counted) : counted,
                // Whether a send would be accepted now: the newest frame says (absent: yes).
                canSend: sameCanSend(c2.canSend, parseCanSend(f.can_send)) ? c2.canSend : parseCanSend(f.can_send),
            });
            if (f.flags && typeof f.flags === 'object') {
                next = withFlags(next, peer, {conv: Number(f.flags.conv) || 0, muted: !!f.flags.muted,
                    starred: !!f.flags.starred, blocked: !!f.flags.blocked});
            }
            return next;
        }

        case 'cannotSend':
            // The server no longer lets me see this person (a block without a conversation between us).
            return withConv(state, action.peer, {canSend: freeze({ok: false, code: action.code})});

        case 'flags':
            // An action's answer (block, mute, star) from the server, in every tab.
            return action.peer ? withFlags(state, action.peer, action.changes) : state;

        case 'deleted': {
            // Deleted for me (PROTOCOL §4.1): these messages, or every one up to `upto`, leave the window.
            const c = conv(state, action.peer);
            const ids = new Set(action.ids || []);
            const upto = action.upto || 0;
            const messages = c.messages.filter((m) => !ids.has(m.id) && !(upto && m.id <= upto));
            if (messages.length === c.messages.length) {
                return state;
            }
            const next = withConv(state, action.peer, {messages: freeze(messages)});
            return withConv(next, action.peer, {unread: countUnread(next, conv(next, action.peer), action.peer)});
        }

        case 'read': {
            const f = action.frame;
            const group = typeof f.conv === 'number' ? groupKey(f.conv) : 0;
            if (f.reader === state.me) {
                const peer = group || f.with;
                const c = conv(state, peer);
                if (f.upto <= c.readMine) {
                    return state;
                }
                const updated = Object.assign({}, c, {readMine: f.upto});
                return withConv(state, peer, {readMine: f.upto, unread: countUnread(state, updated, peer), highlight: false});
            }
            if (group) {
                // Another member read the group up to there: who has seen my messages.
                const c = conv(state, group);
                if (f.upto <= (c.readers[f.reader] || 0)) {
                    return state;
                }
                return withConv(state, group, {
                    readers: freeze(Object.assign({}, c.readers, {[f.reader]: f.upto})),
                    readTheirs: Math.max(c.readTheirs, f.upto),
                });
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
            if (typeof action.conv === 'number') {
                const key = groupKey(action.conv);
                const c = conv(state, key);
                const until = action.now + TYPING_MS;
                return withConv(state, key, {
                    typers: freeze(Object.assign({}, c.typers, {[action.from]: until})),
                    typingUntil: Math.max(c.typingUntil, until),
                });
            }
            return withConv(state, action.from, {typingUntil: action.now + TYPING_MS});
        }

        case 'tick': {
            // Expire typing indicators.
            let next = state;
            Object.keys(state.convs).forEach((key) => {
                const c = state.convs[key];
                const typers = Object.keys(c.typers).filter((id) => c.typers[id] > action.now);
                if (typers.length !== Object.keys(c.typers).length) {
                    const still = {};
                    typers.forEach((id) => {
                        still[id] = c.typers[id];
                    });
                    next = withConv(next, parseKey(key), {typers: freeze(still)});
                }
                if (c.typingUntil && c.typingUntil <= action.now) {
                    next = withConv(next, parseKey(key), {typingUntil: 0});
                }
            });
            return next;
        }

        case 'window': {
            // From the server (another tab, or a send) or a local action; `person` (or, for a group,
            // `group`: {conv, name, members}) when known.
            let next = action.person ? withPeople(state, [action.person]) : state;
            if (action.group && typeof action.group.conv === 'number' && action.group.name) {
                next = withGroups(next, [action.group]);
            }
            return setWindow(next, action.peer, action.state, !!action.raise, action.at);
        }

        case 'alertPrefs': {
            // The preferences (from the page, a toggle, another tab) and this browser's permission.
            const changes = {};
            ['sound', 'desktop'].forEach((name) => {
                if (typeof action[name] === 'boolean' && action[name] !== state.alerts[name]) {
                    changes[name] = action[name];
                }
            });
            if (typeof action.permission === 'string' && action.permission !== state.alerts.permission) {
                changes.permission = action.permission;
            }
            return Object.keys(changes).length
                ? freeze(Object.assign({}, state, {alerts: freeze(Object.assign({}, state.alerts, changes))})) : state;
        }

        case 'groupMembers':
            // A group's members changed in Moodle (`members`): its window's count follows at once.
            return withGroupMembers(state, groupKey(action.conv), action.members);

        case 'roster': {
            // The People tab names the user's groups too (a group opened from there shows its name).
            const courses = (action.frame && action.frame.courses) || [];
            const groups = [];
            courses.forEach((c) => (c && c.groups || []).forEach((g) => {
                if (g && typeof g.conv === 'number' && g.name) {
                    groups.push({conv: g.conv, name: g.name, members: g.members, image: g.image});
                }
            }));
            return withGroups(state, groups);
        }

        case 'conversations': {
            // The Chats list names the groups (their windows show the name and member count).
            const items = (action.frame && action.frame.items) || [];
            return withGroups(state, items.filter((c) => c && c.type === 'group' && typeof c.conv === 'number')
                .map((c) => ({conv: c.conv, name: c.name, members: c.members, image: c.image})));
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
    return withLastSeen(next, lastSeenIn(action));
};

/**
 * Display model of one conversation: day-grouped items with what the renderer needs.
 *
 * @param {object} state
 * @param {number|string} peer a window key (a user id, or a group key)
 * @param {number} nowMs
 * @returns {{items: object[], seen: boolean, typing: boolean, lastOwnKey: string|null}}
 */
export const conversationView = (state, peer, nowMs) => {
    const c = conv(state, peer);
    const items = c.messages.map((m) => ({
        key: m.from === state.me && m.cid ? 'c:' + m.cid : 'm:' + m.id,
        id: m.id,
        from: m.from,
        mine: m.from === state.me,
        text: m.text,
        time: m.time,
        pending: false,
        failed: null,
    })).concat(c.pending.map((p) => ({
        key: 'c:' + p.cid,
        id: 0,
        from: state.me,
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
    const delivered = !!(last && last.mine && !last.pending && !last.failed && lastOwn);
    const seen = delivered && c.readTheirs >= lastOwn.id;
    // In a group: who has read my last message (as far as this page saw their `read` frames), and
    // who is typing, by name.
    const seenBy = delivered && isGroupKey(peer)
        ? Object.keys(c.readers).filter((id) => c.readers[id] >= lastOwn.id).map(Number).sort((a, b) => a - b) : [];
    const typers = Object.keys(c.typers).filter((id) => c.typers[id] > nowMs).map(Number)
        .sort((a, b) => c.typers[b] - c.typers[a] || a - b);
    return {
        items,
        seen,
        seenKey: seen ? last.key : null,
        seenBy,
        typing: isGroupKey(peer) ? typers.length > 0 : c.typingUntil > nowMs,
        typers,
    };
};

/**
 * Why a conversation cannot take messages now, as the key of its lang string (`error:<code>`), or ''
 * while it can: the window shows it where the composer is and disables the composer.
 *
 * @param {object} state
 * @param {number|string} peer a window key (a user id, or a group key)
 * @returns {string}
 */
export const cannotSendKey = (state, peer) => {
    const c = conv(state, peer).canSend;
    if (c && c.ok === false) {
        return 'error:' + (c.code || 'unknown');
    }
    // As Moodle's drawer: a user I blocked gets no messages from me until I unblock them.
    return conv(state, peer).flags.blocked ? 'youhaveblockeduser' : '';
};

/**
 * Who is typing in a group, in words: "Ana is typing…", "Ana and 2 others are typing…" (the one
 * who typed last is named).
 *
 * @param {function(string, *=): string} str the string getter
 * @param {object} state
 * @param {number[]} typers user ids, the latest first
 * @returns {string}
 */
export const typingText = (str, state, typers) => {
    if (!typers.length) {
        return '';
    }
    const name = (state.people[typers[0]] || {}).fullname || '';
    const others = typers.length - 1;
    if (!others) {
        return str('typing', name);
    }
    return str(others === 1 ? 'typingothersone' : 'typingothersmany', {name, count: others});
};

/**
 * Newest message id from the peer that I have not marked read, or 0.
 *
 * @param {object} state
 * @param {number|string} peer a window key (a user id, or a group key)
 * @returns {number}
 */
export const unreadUpto = (state, peer) => {
    const c = conv(state, peer);
    const theirs = c.messages.filter((m) => isTheirs(state, peer, m));
    const newest = theirs.length ? theirs[theirs.length - 1].id : 0;
    return newest > c.readMine ? newest : 0;
};

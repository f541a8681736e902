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
 * The block's panel: the "Chats" list (the user's Moodle conversations, PROTOCOL §5 `conversations`), the
 * people search (`people`), the "People" tab (the user's courses with their groups and people, `roster`
 * and `course_members`) and which tab is shown.
 *
 * Two parts, no DOM: `reducePanel`, the pure state of the panel (kept in the chat state as `state.panel`
 * by ./state.js), with the selectors the view needs; and `createPanelController`, which turns the user's
 * panel intents into frames (a debounced search, pages of the list, refetches) and the server's answers
 * into actions.
 *
 * @module     block_dockchat/panel
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

import * as Protocol from './protocol.js';

/** Conversations asked for per page. */
export const PAGE_SIZE = 20;
/** Quiet time after the last keystroke before a search is sent. */
export const SEARCH_DEBOUNCE_MS = 300;
/** Wait after `rate_limited` before the search is sent again. */
export const SEARCH_RETRY_MS = 1500;
/** Wait before a failed page of conversations is asked for again. */
export const LIST_RETRY_MS = 3000;
/** Shortest and longest search the server takes (characters, after trimming), and its words. */
export const QUERY_MIN = 2;
export const QUERY_MAX = 100;
export const QUERY_WORDS = 3;
/** The panel's tabs. */
export const TAB_CHATS = 'chats';
export const TAB_ONLINE = 'online';
export const TAB_PEOPLE = 'people';
/** People asked for per page of a course. */
export const MEMBERS_PAGE = 50;

const TABS = [TAB_CHATS, TAB_ONLINE, TAB_PEOPLE];

const freeze = (o) => Object.freeze(o);

/**
 * @returns {object} the panel before anything is known
 */
export const initialPanel = () => freeze({
    // The tab shown: the user's choice (remembered per browser), else settled by the first list; null
    // before either.
    tab: null,
    items: freeze([]),
    loaded: false,
    loading: false,
    failed: false,
    total: 0,
    more: false,
    // The search box: what is typed (normalised), and the answer for `resultsFor` (null: none shown).
    query: '',
    results: null,
    resultsFor: '',
    searching: false,
    rateLimited: false,
    // The People tab: the courses (null until the first `roster`), each course's people by course id
    // ({items, total, more, loading}), and the courses the user folded.
    courses: null,
    members: freeze({}),
    folded: freeze({}),
});

/**
 * A page of a course's people merged into what is shown: the first page replaces, later pages are
 * appended without the people already listed (presence moved them between pages).
 *
 * @param {object} panel
 * @param {object} f `course_members`
 * @returns {object}
 */
const mergeMembers = (panel, f) => {
    if (typeof f.course !== 'number') {
        return panel;
    }
    const page = (f.items || []).filter((x) => x && x.id).map((x) => freeze({
        id: x.id, fullname: String(x.fullname || ''), avatar: String(x.avatar || ''), online: !!x.online,
        role: x.role && typeof x.role === 'object'
            ? freeze({name: String(x.role.name || ''), shortname: String(x.role.shortname || '')}) : null,
    }));
    const had = panel.members[f.course];
    const first = (Number(f.offset) || 0) === 0 || !had;
    const items = first ? page : had.items.concat(page.filter((x) => !had.items.some((p) => p.id === x.id)));
    const entry = freeze({items: freeze(items), total: Number(f.total) || 0, more: !!f.more, loading: false});
    return freeze(Object.assign({}, panel, {members: freeze(Object.assign({}, panel.members, {[f.course]: entry}))}));
};

/**
 * People of the People tab in the order the server gives (teachers, online, offline), after a
 * presence change: an online state changes, the order stays until the next page.
 *
 * @param {object} panel
 * @param {number} user
 * @param {boolean} online
 * @returns {object}
 */
const memberPresence = (panel, user, online) => {
    let changed = false;
    const members = {};
    Object.keys(panel.members).forEach((k) => {
        const m = panel.members[k];
        if (!m.items.some((p) => p.id === user && p.online !== online)) {
            members[k] = m;
            return;
        }
        changed = true;
        members[k] = freeze(Object.assign({}, m, {
            items: freeze(m.items.map((p) => (p.id === user ? freeze(Object.assign({}, p, {online})) : p))),
        }));
    });
    return changed ? freeze(Object.assign({}, panel, {members: freeze(members)})) : panel;
};

/**
 * What is sent for a search box text: trimmed, runs of white space as one space, at most 3 words and
 * 100 characters (PROTOCOL §4 `people`); '' when shorter than 2 characters (nothing is sent).
 *
 * @param {string} text
 * @returns {string}
 */
export const searchTerm = (text) => {
    const words = String(text || '').trim().split(/\s+/u).filter(Boolean).slice(0, QUERY_WORDS);
    const term = Array.from(words.join(' ')).slice(0, QUERY_MAX).join('').trim();
    return Array.from(term).length >= QUERY_MIN ? term : '';
};

/**
 * Order of the list, as the server sends it: starred first, then newest activity (last message time,
 * then id), conversations without messages last.
 *
 * @param {object} a conversation
 * @param {object} b conversation
 * @returns {number}
 */
export const compareConversations = (a, b) => {
    if (!!a.favourite !== !!b.favourite) {
        return a.favourite ? -1 : 1;
    }
    if (!a.last || !b.last) {
        return (a.last ? 0 : 1) - (b.last ? 0 : 1) || b.conv - a.conv;
    }
    return (b.last.time - a.last.time) || (b.last.id - a.last.id);
};

/**
 * A conversation from the server, in the shape the panel keeps.
 *
 * @param {object} c Conversation (PROTOCOL §5)
 * @returns {object|null}
 */
const fromServer = (c) => {
    if (!c || typeof c.conv !== 'number') {
        return null;
    }
    const type = c.type === 'group' || c.type === 'self' ? c.type : 'individual';
    return freeze({
        conv: c.conv,
        type,
        with: c.with && c.with.id ? freeze({id: c.with.id, fullname: c.with.fullname || '', avatar: c.with.avatar || ''}) : null,
        name: String(c.name || (c.with && c.with.fullname) || ''),
        members: Number(c.members) || 0,
        last: c.last && typeof c.last.id === 'number' ? freeze(Object.assign({}, c.last)) : null,
        unread: Math.max(0, Number(c.unread) || 0),
        favourite: !!c.favourite,
        muted: !!c.muted,
        online: !!c.online,
        // Individual: 'online', 'away' or 'offline' (PROTOCOL §5.2; an older server sends only `online`).
        status: c.status || (c.online ? 'online' : 'offline'),
    });
};

const withPanel = (panel, changes) => freeze(Object.assign({}, panel, changes));
const sorted = (items) => freeze(items.slice().sort(compareConversations));

/**
 * Merge a page of conversations into the list. The first page replaces what it lists and keeps the
 * later pages already loaded (a refetch after a new conversation); other pages are appended, without
 * the conversations already listed (the list moved meanwhile).
 *
 * @param {object} panel
 * @param {object} frame `conversations`
 * @returns {object}
 */
const mergePage = (panel, frame) => {
    const page = (frame.items || []).map(fromServer).filter(Boolean);
    const ids = new Set(page.map((c) => c.conv));
    const kept = panel.items.filter((c) => !ids.has(c.conv));
    const total = Math.max(Number(frame.total) || 0, 0);
    let items;
    let more = !!frame.more;
    if ((Number(frame.offset) || 0) === 0) {
        // What the first page no longer holds was loaded as a later page: it stays, after it.
        const later = panel.loaded ? kept.slice(0, Math.max(0, total - page.length)) : [];
        items = page.concat(later);
        if (later.length) {
            more = items.length < total;
        }
    } else {
        items = kept.concat(page);
    }
    return withPanel(panel, {items: sorted(items), loaded: true, loading: false, failed: false, total, more});
};

/**
 * A live message: its conversation takes it as the last message (moving up to where its new time puts
 * it: the top of the non-starred ones), and counts it unread when it is someone else's. A message the
 * list already covers (resume, another tab) changes nothing.
 *
 * @param {object} panel
 * @param {object} message
 * @param {number} me
 * @param {object} [sender] Person
 * @returns {object}
 */
const applyMessage = (panel, message, me, sender) => {
    if (!message || typeof message.conv !== 'number') {
        return panel;
    }
    const item = panel.items.find((c) => c.conv === message.conv);
    if (!item || (item.last && message.id <= item.last.id)) {
        return panel;
    }
    const mine = message.from === me;
    const changes = {
        last: freeze(Object.assign({}, message)),
        unread: mine ? item.unread : item.unread + 1,
    };
    if (item.type === 'individual' && !mine && sender && sender.id === message.from && !item.online) {
        changes.online = true;
        changes.status = 'online';
    }
    const next = freeze(Object.assign({}, item, changes));
    return withPanel(panel, {items: sorted(panel.items.map((c) => (c === item ? next : c)))});
};

/**
 * Whether a live message belongs to a conversation the list does not hold yet (a new conversation, or
 * one further down than the pages loaded): then the first page is fetched again.
 *
 * @param {object} panel
 * @param {object} message
 * @returns {boolean}
 */
export const needsRefetch = (panel, message) => !!(panel.loaded && message && typeof message.conv === 'number'
    && !panel.items.some((c) => c.conv === message.conv));

/**
 * The people an action of the panel names (the chat state keeps their names and pictures, so a window
 * opened from the list or a search shows who it is at once).
 *
 * @param {object} action
 * @returns {object[]} Person[]
 */
export const panelPeople = (action) => {
    const f = action.frame || {};
    if (action.type === 'conversations') {
        return (f.items || []).map((c) => c && c.type === 'individual' && c.with).filter((x) => x && x.id);
    }
    if (action.type === 'people' || action.type === 'courseMembers') {
        return (f.items || []).filter((x) => x && x.id);
    }
    return [];
};

/**
 * The panel's reducer. It sees every action of the chat state (./state.js) after the chat's own
 * reducer, with the resulting chat state.
 *
 * @param {object} panel
 * @param {object} action
 * @param {object} state the chat state (for `me`)
 * @returns {object} the next panel (the same object when nothing changed)
 */
export const reducePanel = (panel, action, state) => {
    const p = panel || initialPanel();
    switch (action.type) {
        case 'panelTab':
            return TABS.includes(action.tab) ? (p.tab === action.tab ? p : withPanel(p, {tab: action.tab})) : p;

        case 'restore': {
            // The previous page's list (./snapshot.js), shown until the welcome's first page replaces it.
            const saved = action.snapshot && action.snapshot.panel;
            if (!saved || p.loaded) {
                return p;
            }
            const items = saved.items.map(fromServer).filter(Boolean);
            return withPanel(p, {
                tab: TABS.includes(saved.tab) ? saved.tab : p.tab,
                items: sorted(items),
                loaded: !!saved.loaded,
                total: Math.max(Number(saved.total) || 0, items.length),
                more: !!saved.more,
            });
        }

        case 'conversationsLoading':
            return p.loading ? p : withPanel(p, {loading: true, failed: false});

        case 'conversationsFailed':
            return withPanel(p, {loading: false, failed: true});

        case 'conversations': {
            if (!action.frame) {
                return p;
            }
            const next = mergePage(p, action.frame);
            // The default tab is settled by the first list: it does not change under the user later.
            return p.loaded || p.tab ? next : withPanel(next, {tab: next.items.length ? TAB_CHATS : TAB_ONLINE});
        }

        case 'message':
            return applyMessage(p, action.message, state.me, action.sender);

        case 'read': {
            const f = action.frame || {};
            if (f.reader !== state.me) {
                return p;
            }
            let changed = false;
            const items = p.items.map((c) => {
                const mine = typeof f.conv === 'number'
                    ? c.conv === f.conv : c.type === 'individual' && !!c.with && c.with.id === f.with;
                if (!mine || !c.unread) {
                    return c;
                }
                if (c.last && f.upto < c.last.id) {
                    return c;
                }
                changed = true;
                return freeze(Object.assign({}, c, {unread: 0}));
            });
            return changed ? withPanel(p, {items: freeze(items)}) : p;
        }

        case 'roster': {
            const courses = ((action.frame && action.frame.courses) || []).filter((c) => c && typeof c.id === 'number')
                .map((c) => freeze({
                    id: c.id,
                    name: String(c.name || ''),
                    groups: freeze((c.groups || []).filter((g) => g && typeof g.conv === 'number').map((g) => freeze({
                        conv: g.conv, name: String(g.name || ''), image: String(g.image || ''),
                        members: Number(g.members) || 0, online: Number(g.online) || 0,
                    }))),
                }));
            return withPanel(p, {courses: freeze(courses)});
        }

        case 'courseMembersLoading': {
            const had = p.members[action.course];
            const entry = freeze(Object.assign({items: freeze([]), total: 0, more: false}, had || {}, {loading: true}));
            return withPanel(p, {members: freeze(Object.assign({}, p.members, {[action.course]: entry}))});
        }

        case 'courseMembers':
            return mergeMembers(p, action.frame || {});

        case 'courseFold': {
            const folded = Object.assign({}, p.folded);
            if (folded[action.course]) {
                delete folded[action.course];
            } else {
                folded[action.course] = true;
            }
            return withPanel(p, {folded: freeze(folded)});
        }

        case 'presence': {
            const user = action.user;
            if (!user || !user.id) {
                return p;
            }
            const status = action.status === 'away' || action.status === 'online' ? action.status : 'offline';
            const online = status !== 'offline';
            const base = memberPresence(p, user.id, online);
            let changed = false;
            const items = base.items.map((c) => {
                if (c.type !== 'individual' || !c.with || c.with.id !== user.id || c.status === status) {
                    return c;
                }
                changed = true;
                return freeze(Object.assign({}, c, {online, status}));
            });
            const listed = base.results && base.results.some((x) => x.id === user.id && x.status !== status);
            const results = listed
                ? freeze(base.results.map((x) => (x.id === user.id ? freeze(Object.assign({}, x, {online, status})) : x)))
                : base.results;
            return changed || listed ? withPanel(base, changed ? {items: freeze(items), results} : {results}) : base;
        }

        case 'search': {
            const query = searchTerm(action.text);
            if (!query) {
                return p.query === '' && p.results === null && !p.searching
                    ? p : withPanel(p, {query: '', results: null, resultsFor: '', searching: false, rateLimited: false});
            }
            return p.query === query ? p : withPanel(p, {query});
        }

        case 'searchSent':
            return action.query === p.query ? withPanel(p, {searching: true}) : p;

        case 'searchLimited':
            // Too many searches: the last results stay, the search is sent again in a moment.
            return withPanel(p, {rateLimited: true});

        case 'people': {
            const f = action.frame || {};
            if (typeof f.query !== 'string' || f.query !== p.query) {
                // An answer to an older text: the newest one's answer is on its way.
                return p;
            }
            const results = freeze((f.items || []).filter((x) => x && x.id).map((x) => freeze({
                id: x.id, fullname: String(x.fullname || ''), avatar: String(x.avatar || ''), online: !!x.online,
                status: x.status || (x.online ? 'online' : 'offline'),
            })));
            return withPanel(p, {results, resultsFor: f.query, searching: false, rateLimited: false});
        }

        default:
            return p;
    }
};

/**
 * The tab shown: the user's choice, else Chats when the first list had conversations (and while it
 * is loading), Online when it had none.
 *
 * @param {object} panel
 * @returns {string} TAB_CHATS or TAB_ONLINE
 */
export const selectedTab = (panel) => panel.tab || TAB_CHATS;

/**
 * A course contact's role as Moodle names it (`role_get_name`): the name the server sends (the course's
 * rename, else the role's name), else the localised default of a standard role, else its shortname.
 *
 * @param {object|null} role {name, shortname}
 * @param {function(string, *=): string} str
 * @returns {string} '' for someone without a role
 */
export const roleName = (role, str) => {
    if (!role) {
        return '';
    }
    if (role.name.trim()) {
        return role.name.trim();
    }
    const key = ROLE_STRINGS[role.shortname];
    return key ? str(key) : role.shortname;
};

/** Moodle's standard roles, whose empty names are shown as Moodle's localised defaults (their string keys). */
const ROLE_STRINGS = Object.freeze({
    manager: 'role:manager', coursecreator: 'role:coursecreator', editingteacher: 'role:editingteacher',
    teacher: 'role:teacher', student: 'role:student', guest: 'role:guest', user: 'role:user', frontpage: 'role:frontpage',
});

/**
 * Unread messages over the conversations listed.
 *
 * @param {object} panel
 * @returns {number}
 */
export const unreadTotal = (panel) => panel.items.reduce((sum, c) => sum + (c.muted ? 0 : c.unread), 0);

/**
 * A message text as one line of plain text for the list (white space runs as one space; the list cuts
 * it with an ellipsis).
 *
 * @param {string} text
 * @param {number} [max] characters kept (the rest could never show)
 * @returns {string}
 */
export const previewText = (text, max = 120) => {
    const line = String(text || '').replace(/\s+/gu, ' ').trim();
    const chars = Array.from(line);
    return chars.length > max ? chars.slice(0, max - 1).join('') + '…' : line;
};

/**
 * How long ago a time was, in the unit the list shows: 'now' (under a minute), 'minutes' (under an
 * hour), 'today' (a clock time), 'yesterday', 'week' (a weekday, within 6 days) or 'date'.
 *
 * @param {number} seconds Unix time
 * @param {number} nowMs
 * @returns {{unit: string, value: number}} value: minutes ago for 'minutes'
 */
export const timeAgo = (seconds, nowMs) => {
    const ago = Math.floor(nowMs / 1000) - seconds;
    if (ago < 60) {
        return {unit: 'now', value: 0};
    }
    if (ago < 3600) {
        return {unit: 'minutes', value: Math.floor(ago / 60)};
    }
    const then = new Date(seconds * 1000);
    const today = new Date(nowMs);
    const midnight = new Date(today.getFullYear(), today.getMonth(), today.getDate()).getTime();
    if (then.getTime() >= midnight) {
        return {unit: 'today', value: 0};
    }
    const days = Math.ceil((midnight - then.getTime()) / 86400000);
    if (days <= 1) {
        return {unit: 'yesterday', value: 1};
    }
    return days <= 6 ? {unit: 'week', value: days} : {unit: 'date', value: days};
};

/**
 * Display model of one listed conversation.
 *
 * @param {object} c conversation of the panel
 * @param {number} me my user id
 * @returns {object} {conv, type, peer (0 unless a window onto a user can open), window (the dock
 *   window's key: a user id, 'c' + conv for a group, '' for the personal space), name, initial, avatar,
 *   preview, mine, time, unread, favourite, muted, online, individual, group, members}
 */
export const conversationModel = (c, me) => {
    const individual = c.type === 'individual' && !!c.with && c.with.id !== me;
    const group = c.type === 'group';
    const name = c.name || (c.with ? c.with.fullname : '');
    return {
        conv: c.conv,
        type: c.type,
        peer: individual ? c.with.id : 0,
        window: individual ? String(c.with.id) : (group ? 'c' + c.conv : ''),
        individual,
        group,
        members: c.members,
        name,
        initial: Array.from(name.trim())[0] ? Array.from(name.trim())[0].toLocaleUpperCase() : '#',
        avatar: c.type !== 'group' && c.with ? c.with.avatar : '',
        preview: c.last ? previewText(c.last.text) : '',
        mine: !!(c.last && c.last.from === me),
        time: c.last ? c.last.time : 0,
        unread: c.unread,
        favourite: c.favourite,
        muted: c.muted,
        online: individual && c.online,
        away: individual && c.status === 'away',
    };
};

/**
 * The panel's controller: sends `conversations` and `people` frames and feeds their answers to the
 * chat state. The dock controller (./dock.js) hands it every server frame and the panel's intents.
 *
 * @param {object} deps
 * @param {object} deps.transport has send(frame, key?) -> boolean
 * @param {function(object)} deps.dispatch dispatches an action to the chat state
 * @param {function(): object} deps.getState the current chat state
 * @param {number} [deps.userid]
 * @param {Storage} [deps.storage] remembers the chosen tab
 * @param {object} [deps.timers] {setTimeout, clearTimeout}
 * @returns {{onFrame: function(object), onIntent: function(object): boolean}}
 */
export const createPanelController = (deps) => {
    const {transport, dispatch, getState} = deps;
    const timers = deps.timers && deps.timers.setTimeout ? deps.timers : {
        setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
        clearTimeout: (id) => globalThis.clearTimeout(id),
    };
    const storage = deps.storage || null;
    const tabKey = 'block_dockchat_tab_' + (deps.userid || 0);
    let searchTimer = null;
    let listTimer = null;
    /** Offset of the page asked for and not answered yet (-1: none). */
    let pageInFlight = -1;
    let refetchAgain = false;
    let lastSent = '';

    const panel = () => getState().panel;

    const requestPage = (offset) => {
        if (pageInFlight !== -1) {
            if (offset === 0) {
                refetchAgain = true;
            }
            return;
        }
        if (transport.send(Protocol.conversations(offset, PAGE_SIZE))) {
            pageInFlight = offset;
            dispatch({type: 'conversationsLoading'});
        }
    };

    const sendSearch = () => {
        searchTimer = null;
        const query = panel().query;
        if (!query) {
            return;
        }
        if (transport.send(Protocol.people(query))) {
            lastSent = query;
            dispatch({type: 'searchSent', query});
        }
    };

    const scheduleSearch = (ms) => {
        if (searchTimer !== null) {
            timers.clearTimeout(searchTimer);
        }
        searchTimer = timers.setTimeout(sendSearch, ms);
    };

    /** Courses whose next page was asked for and not answered yet. */
    const membersInFlight = new Set();

    const requestMembers = (course, offset) => {
        if (membersInFlight.has(course)) {
            return;
        }
        if (transport.send(Protocol.courseMembers(course, offset, MEMBERS_PAGE))) {
            membersInFlight.add(course);
            dispatch({type: 'courseMembersLoading', course});
        }
    };

    /** The People tab is shown: its courses (again: enrolments and groups change), then their people. */
    const requestRoster = () => {
        if (selectedTab(panel()) === TAB_PEOPLE) {
            transport.send(Protocol.roster());
        }
    };

    const restoreTab = () => {
        try {
            const tab = storage && storage.getItem(tabKey);
            if (TABS.includes(tab)) {
                dispatch({type: 'panelTab', tab});
            }
        } catch (e) {
            // Privacy mode: the default tab.
        }
    };

    return {
        /**
         * A server frame, after the dock controller dispatched its own actions for it. A message of a
         * conversation the list lacks brings the first page again.
         *
         * @param {object} frame
         */
        onFrame(frame) {
            switch (frame.type) {
                case 'welcome':
                    pageInFlight = -1;
                    refetchAgain = false;
                    restoreTab();
                    membersInFlight.clear();
                    requestPage(0);
                    requestRoster();
                    if (panel().query && panel().resultsFor !== panel().query) {
                        scheduleSearch(0);
                    }
                    break;
                case 'conversations': {
                    const again = refetchAgain;
                    pageInFlight = -1;
                    refetchAgain = false;
                    dispatch({type: 'conversations', frame});
                    if (again) {
                        requestPage(0);
                    }
                    break;
                }
                case 'people':
                    dispatch({type: 'people', frame});
                    break;
                case 'roster':
                    dispatch({type: 'roster', frame});
                    // Every unfolded course's first page (the order of its people is the server's).
                    (panel().courses || []).forEach((c) => {
                        if (!panel().folded[c.id]) {
                            requestMembers(c.id, 0);
                        }
                    });
                    break;
                case 'course_members':
                    membersInFlight.delete(frame.course);
                    dispatch({type: 'courseMembers', frame});
                    break;
                case 'members':
                    // A group's members changed in Moodle: its window's count follows.
                    if (typeof frame.conv === 'number' && Array.isArray(frame.members)) {
                        dispatch({type: 'groupMembers', conv: frame.conv, members: frame.members});
                    }
                    break;
                case 'message':
                    if (needsRefetch(panel(), frame.message)) {
                        requestPage(0);
                    }
                    break;
                case 'mute':
                case 'star':
                case 'deleted':
                case 'block':
                    // A window action (PROTOCOL §4.1) changed the list's items (star order, mute, last
                    // message): the first page again.
                    requestPage(0);
                    break;
                case 'error':
                    if (frame.ref === 'course_members') {
                        // unknown_course (no longer one of the user's) or internal: the next roster decides.
                        membersInFlight.clear();
                    }
                    if (frame.ref === 'conversations') {
                        pageInFlight = -1;
                        dispatch({type: 'conversationsFailed'});
                        if (listTimer === null) {
                            listTimer = timers.setTimeout(() => {
                                listTimer = null;
                                requestPage(panel().loaded ? panel().items.length : 0);
                            }, LIST_RETRY_MS);
                        }
                    } else if (frame.ref === 'people') {
                        // rate_limited (or internal): keep what is shown, ask again in a moment.
                        if (frame.code === 'rate_limited') {
                            dispatch({type: 'searchLimited'});
                        }
                        if (panel().query && lastSent === panel().query) {
                            scheduleSearch(SEARCH_RETRY_MS);
                        }
                    }
                    break;
                default:
                    break;
            }
        },

        /**
         * A panel intent from the view; false for intents that are not the panel's.
         *
         * @param {object} intent
         * @returns {boolean}
         */
        onIntent(intent) {
            switch (intent.type) {
                case 'panelTab':
                    dispatch({type: 'panelTab', tab: intent.tab});
                    try {
                        if (storage) {
                            storage.setItem(tabKey, intent.tab);
                        }
                    } catch (e) {
                        // Privacy mode: the choice lasts as long as the page.
                    }
                    requestRoster();
                    return true;
                case 'courseFold': {
                    dispatch({type: 'courseFold', course: intent.course});
                    const m = panel().members[intent.course];
                    if (!panel().folded[intent.course] && !m) {
                        requestMembers(intent.course, 0);
                    }
                    return true;
                }
                case 'moreMembers': {
                    const m = panel().members[intent.course];
                    if (m && m.more && !m.loading) {
                        requestMembers(intent.course, m.items.length);
                    }
                    return true;
                }
                case 'search': {
                    const before = panel().query;
                    dispatch({type: 'search', text: intent.text});
                    const query = panel().query;
                    if (!query) {
                        if (searchTimer !== null) {
                            timers.clearTimeout(searchTimer);
                            searchTimer = null;
                        }
                    } else if (query !== before || panel().rateLimited) {
                        scheduleSearch(SEARCH_DEBOUNCE_MS);
                    }
                    return true;
                }
                case 'loadmore': {
                    const p = panel();
                    if (p.loaded && p.more && !p.loading) {
                        requestPage(p.items.length);
                    }
                    return true;
                }
                default:
                    return false;
            }
        },
    };
};

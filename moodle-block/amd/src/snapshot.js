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
 * The dock as the previous page of this tab left it (issue 15 item 3), kept in sessionStorage so the next
 * page draws the list and the windows at once, marked as connecting, before the socket's welcome.
 *
 * `takeSnapshot` picks from the chat state what is drawn (the lists, the windows with their newest
 * messages, the counts, the cursor); `checkSnapshot` accepts a saved one only for this schema, this user
 * and this site; `createSnapshotStore` saves it (debounced, and at once when the page goes away) and drops
 * it on a logout or another user. The state takes it with the `restore` action (./state.js); the
 * welcome and the histories then reconcile it (./dock.js).
 *
 * @module     block_dockchat/snapshot
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

/** Schema of the saved snapshot: a page of another version ignores it. */
export const SNAPSHOT_VERSION = 1;
/** Messages kept per window (the newest; the history the welcome brings has as many). */
export const SNAPSHOT_MESSAGES = 30;
/** Conversations of the Chats list kept. */
export const SNAPSHOT_LIST = 40;
/** Quiet time after a change before the snapshot is written. */
export const SNAPSHOT_DEBOUNCE_MS = 400;

const PREFIX = 'block_dockchat_snapshot_';

/**
 * The sessionStorage key of a user's snapshot.
 *
 * @param {number} userid
 * @returns {string}
 */
export const snapshotKey = (userid) => PREFIX + (userid || 0);

const isPerson = (p) => !!p && typeof p.id === 'number' && p.id > 0;
const person = (p) => ({id: p.id, fullname: String(p.fullname || ''), avatar: String(p.avatar || '')});
const isMessage = (m) => !!m && typeof m.id === 'number' && m.id > 0 && typeof m.text === 'string';
const message = (m) => ({id: m.id, conv: m.conv, from: m.from, to: m.to, text: m.text, time: m.time, cid: m.cid || ''});

/**
 * What of the state a snapshot keeps; null while there is nothing the server confirmed (before the first
 * welcome, the previous snapshot stays).
 *
 * @param {object} state the chat state (./state.js)
 * @param {{site: string, cursor: number, savedAt: number}} meta the site, the transport's cursor, the time
 * @returns {object|null} plain JSON
 */
export const takeSnapshot = (state, meta) => {
    if (!state.welcomed || !state.me) {
        return null;
    }
    const convs = {};
    const people = {};
    const addPerson = (p) => {
        if (isPerson(p)) {
            people[p.id] = person(p);
        }
    };
    state.windows.forEach((w) => {
        const c = state.convs[w.peer];
        addPerson(state.people[w.peer]);
        if (!c) {
            return;
        }
        const messages = c.messages.slice(-SNAPSHOT_MESSAGES);
        messages.forEach((m) => addPerson(state.people[m.from]));
        convs[w.peer] = {
            messages: messages.map(message),
            readMine: c.readMine, readTheirs: c.readTheirs, unread: c.unread, last: c.last,
            more: c.more || c.messages.length > messages.length,
            loaded: c.loaded,
            canSend: c.canSend,
        };
    });
    const panel = state.panel;
    const items = panel.items.slice(0, SNAPSHOT_LIST);
    return {
        v: SNAPSHOT_VERSION,
        user: state.me,
        site: meta.site,
        cursor: meta.cursor || 0,
        savedAt: meta.savedAt || 0,
        self: isPerson(state.user) ? person(state.user) : null,
        online: state.online.filter(isPerson).map(person),
        people: Object.keys(people).map((id) => people[id]),
        windows: state.windows.map((w) => ({peer: w.peer, state: w.state})),
        groups: Object.keys(state.groups).map((k) => state.groups[k]),
        convs,
        limits: state.limits,
        orderAt: state.orderAt,
        panel: {
            tab: panel.tab,
            items,
            loaded: panel.loaded,
            total: panel.total,
            more: panel.more || panel.items.length > items.length,
        },
    };
};

/**
 * A saved snapshot if it is one of this schema, user and site, else null (never another user's).
 *
 * @param {*} saved parsed JSON
 * @param {{userid: number, site: string}} expect
 * @returns {object|null}
 */
export const checkSnapshot = (saved, expect) => {
    if (!saved || typeof saved !== 'object' || saved.v !== SNAPSHOT_VERSION) {
        return null;
    }
    if (!expect.userid || saved.user !== expect.userid || saved.site !== expect.site) {
        return null;
    }
    if (!Array.isArray(saved.windows) || !Array.isArray(saved.online) || !saved.convs || typeof saved.convs !== 'object'
            || !saved.panel || !Array.isArray(saved.panel.items)) {
        return null;
    }
    return {
        cursor: typeof saved.cursor === 'number' ? saved.cursor : 0,
        self: isPerson(saved.self) ? person(saved.self) : null,
        online: saved.online.filter(isPerson).map(person),
        people: (Array.isArray(saved.people) ? saved.people : []).filter(isPerson).map(person),
        windows: saved.windows.filter((w) => w && (w.state === 'open' || w.state === 'minimised')
            && ((typeof w.peer === 'number' && w.peer > 0) || (typeof w.peer === 'string' && /^c[1-9][0-9]*$/.test(w.peer)))),
        groups: (Array.isArray(saved.groups) ? saved.groups : []).filter((g) => g && typeof g.conv === 'number' && g.name),
        convs: Object.keys(saved.convs).reduce((out, key) => {
            const c = saved.convs[key];
            if (c && typeof c === 'object' && Array.isArray(c.messages)) {
                out[key] = Object.assign({}, c, {messages: c.messages.filter(isMessage).map(message)});
            }
            return out;
        }, {}),
        limits: saved.limits && typeof saved.limits === 'object' ? saved.limits : {},
        orderAt: Number(saved.orderAt) || 0,
        panel: saved.panel,
    };
};

/**
 * Where the snapshot of one user lives in this tab.
 *
 * @param {object} deps
 * @param {Storage|null} deps.session sessionStorage
 * @param {number} deps.userid the page's user (Moodle's config says who it is)
 * @param {string} deps.site the site (origin and socket URL): a snapshot of another site is not shown
 * @param {function(): (object|null)} deps.take builds the snapshot to save (takeSnapshot of the current state)
 * @param {object} [deps.timers] {setTimeout, clearTimeout}
 * @returns {{load: function(): (object|null), schedule: function(), flush: function(), drop: function(boolean=)}}
 */
export const createSnapshotStore = (deps) => {
    const session = deps.session || null;
    const key = snapshotKey(deps.userid);
    const timers = deps.timers && deps.timers.setTimeout ? deps.timers : {
        setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
        clearTimeout: (id) => globalThis.clearTimeout(id),
    };
    let timer = null;
    let dropped = false;

    const write = () => {
        timer = null;
        if (!session || dropped) {
            return;
        }
        const snap = deps.take();
        if (!snap) {
            return;
        }
        try {
            session.setItem(key, JSON.stringify(snap));
        } catch (e) {
            // Quota or privacy mode: the next page waits for the welcome, as without a snapshot.
        }
    };

    return {
        /**
         * This user's snapshot (checked); the snapshots of other users in this tab are removed.
         *
         * @returns {object|null}
         */
        load() {
            if (!session) {
                return null;
            }
            try {
                for (let i = session.length - 1; i >= 0; i--) {
                    const k = session.key(i);
                    if (k && k.startsWith(PREFIX) && k !== key) {
                        session.removeItem(k);
                    }
                }
                const snap = checkSnapshot(JSON.parse(session.getItem(key) || 'null'), {userid: deps.userid, site: deps.site});
                if (!snap) {
                    session.removeItem(key);
                }
                return snap;
            } catch (e) {
                return null;
            }
        },
        /** Save after the quiet time (a burst of changes writes once). */
        schedule() {
            if (timer === null && !dropped && session) {
                timer = timers.setTimeout(write, SNAPSHOT_DEBOUNCE_MS);
            }
        },
        /** Save now (the page is going away). */
        flush() {
            if (timer !== null) {
                timers.clearTimeout(timer);
            }
            write();
        },
        /**
         * Forget the saved snapshot: the server's messages started over (a new one is saved from the
         * welcome's state), or, for good on this page, the Moodle session ended.
         *
         * @param {boolean} [forGood] save nothing more from this page
         */
        drop(forGood) {
            if (timer !== null) {
                timers.clearTimeout(timer);
                timer = null;
            }
            dropped = dropped || !!forGood;
            try {
                if (session) {
                    session.removeItem(key);
                }
            } catch (e) {
                // Nothing to forget.
            }
        },
    };
};

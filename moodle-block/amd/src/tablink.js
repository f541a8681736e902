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
 * One socket for all the tabs of a user in this browser (issue 15 item 5): the tabs elect a leader with a Web
 * Lock; the leader owns the WebSocket (./transport.js: token refresh, reconnects, the send queue) and the others
 * talk to the server through it over a BroadcastChannel. It has the transport's interface, so the dock
 * controller (./dock.js) does not know which role its tab has.
 *
 * - The leader passes on every frame the server sends to every tab, except an `ack` (and the `error` of a
 *   refused send), which goes to the tab that sent the message: the server answers those to the sending socket
 *   (PROTOCOL §4), and the sending tab is the one that must hear it. A tab that joins asks the leader, which
 *   answers with a welcome built from its own state (./dock.js `welcomeFrame`): the current online list,
 *   windows and counts, the cursor; the joining tab then asks for its histories and the Chats list with the
 *   usual frames, whose answers reach every tab (harmless: each merges what it holds, by id).
 * - A tab that is not the leader keeps its unacknowledged messages and sends them to the leader again after
 *   every welcome (the same cid: stored once); its queued window and read frames likewise.
 * - When the leader's tab goes (closed, navigated away), the lock passes to a waiting tab, which opens the
 *   socket and resumes from the cursor it had (PROTOCOL §5.1): nothing is lost, and what comes twice is
 *   dropped by id.
 * - Each tab tells the leader its activity (./activity.js); the leader reports the browser's, combined (active
 *   if one tab is), on its socket (PROTOCOL §5.2). A tab that goes says so; after a change of leader every tab
 *   tells the new one again.
 * - Without BroadcastChannel or Web Locks (`canShareSocket`), or if the lock cannot be asked for, each tab has
 *   its own socket, as before.
 *
 * @module     block_dockchat/tablink
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

import {createTransport, STATES} from './transport.js';
import {combineActivity} from './activity.js';
import {ACTIVITY} from './protocol.js';

/** The roles a tab can have. */
export const ROLES = Object.freeze({JOINING: 'joining', LEADER: 'leader', FOLLOWER: 'follower', SOLO: 'solo'});

/**
 * Whether this browser can share one socket between tabs.
 *
 * @param {Window|null} view
 * @returns {boolean}
 */
export const canShareSocket = (view) => !!(view && typeof view.BroadcastChannel === 'function' && view.navigator
    && view.navigator.locks && typeof view.navigator.locks.request === 'function');

/**
 * The name of the lock and channel of a user's tabs (both are per origin already).
 *
 * @param {number} userid
 * @returns {string}
 */
export const linkName = (userid) => 'block_dockchat_socket_' + (userid || 0);

/**
 * Create a transport shared by the tabs of one user.
 *
 * @param {object} options
 * @param {Window} options.view the window (BroadcastChannel, navigator.locks)
 * @param {number} options.userid
 * @param {object} options.transport the options of createTransport (getToken, wsurl, ...) for the leader's socket
 * @param {function(object): object} [options.createTransport] (tests) makes the leader's transport
 * @param {function(): string} [options.tabId] (tests) this tab's id
 * @returns {object} the interface of createTransport, with `role` and `setWelcomeSource(fn)`
 */
export const createSharedTransport = (options) => {
    const view = options.view;
    const make = options.createTransport || createTransport;
    const tabId = options.tabId ? options.tabId() : 't' + Math.random().toString(36).slice(2) + Date.now().toString(36);
    const name = linkName(options.userid);
    const listeners = {};
    let channel = null;
    let role = ROLES.JOINING;
    let real = null;
    let started = false;
    let stopped = false;
    let releaseLock = null;
    let welcomeSource = null;
    // What a tab that is not the leader knows of the leader's socket.
    let status = Object.freeze({state: STATES.IDLE});
    let synced = false; // A welcome (the server's, passed on, or the leader's) was received.
    let connected = false;
    let cursor = 0;
    /** @type {Map<string, {to: (number|string), text: string, cid: string}>} sends not acknowledged yet */
    const outbox = new Map();
    /** @type {Map<string, object>} latest control frame per key, sent after the next welcome */
    const controls = new Map();
    // The leader's: which tab sent each message not acknowledged yet.
    /** @type {Map<string, string>} */
    const owners = new Map();
    // This tab's activity, and (the leader's) every other tab's.
    let myActivity = ACTIVITY.ACTIVE;
    /** @type {Map<string, string>} */
    const activities = new Map();
    const reportActivity = () => {
        if (real && real.setActivity) {
            real.setActivity(combineActivity([myActivity].concat(Array.from(activities.values()))));
        }
    };

    const emit = (type, payload) => {
        (listeners[type] || []).slice().forEach((fn) => fn(payload));
    };
    const post = (data) => {
        if (!channel) {
            return;
        }
        try {
            channel.postMessage(Object.assign({from: tabId}, data));
        } catch (e) {
            // The channel is closed (the page is going away).
        }
    };
    const setStatus = (next) => {
        status = Object.freeze(Object.assign({}, next));
        emit('status', status);
    };

    // ---- The leader: its socket's events, to this tab and to the others. ------------------------

    /**
     * Give an event of the socket to the tab it belongs to: '' for every tab, else a tab id.
     *
     * @param {string} type
     * @param {object} payload
     * @param {string} owner
     */
    const deliver = (type, payload, owner) => {
        if (!owner || owner === tabId) {
            emit(type, payload);
        }
        if (owner !== tabId && role === ROLES.LEADER) {
            post({kind: 'event', type, payload, to: owner || '', cursor: real.cursor});
        }
    };

    /**
     * Remember which tab sent a message; the first stays (a page that loads sends again the messages kept
     * in localStorage by another tab: the ack is for the tab that shows it as its own).
     *
     * @param {string} cid
     * @param {string} tab
     */
    const own = (cid, tab) => {
        if (!owners.has(cid)) {
            owners.set(cid, tab);
        }
    };

    const onSocketEvent = (type, payload) => {
        if (type === 'frame') {
            const frame = payload;
            if (frame.type === 'pong' || frame.type === 'token_ok') {
                // The leader's own business.
                emit('frame', frame);
                return;
            }
            let owner = '';
            if (frame.type === 'ack') {
                owner = owners.get(frame.cid) || '';
                owners.delete(frame.cid);
            } else if (frame.type === 'error' && typeof frame.ref === 'string' && owners.has(frame.ref)) {
                owner = owners.get(frame.ref);
                if (!real.pending.includes(frame.ref)) {
                    owners.delete(frame.ref);
                }
            }
            deliver('frame', frame, owner);
            return;
        }
        if (type === 'sendfailed') {
            deliver(type, payload, owners.get(payload.cid) || '');
            return;
        }
        deliver(type, payload, '');
    };

    const becomeLeader = (solo) => {
        if (stopped || real) {
            return;
        }
        role = solo ? ROLES.SOLO : ROLES.LEADER;
        if (solo && channel) {
            channel.close();
            channel = null;
        }
        // A tab that had the socket through another resumes where that one was (PROTOCOL §5.1).
        real = make(Object.assign({}, options.transport, synced ? {resumeFrom: cursor} : {}));
        ['frame', 'status', 'sendfailed', 'reset'].forEach((type) => real.on(type, (payload) => onSocketEvent(type, payload)));
        outbox.forEach((entry) => {
            own(entry.cid, tabId);
            real.sendMessage(entry.to, entry.text, entry.cid);
        });
        outbox.clear();
        controls.forEach((frame, key) => real.send(frame, key));
        controls.clear();
        // The other tabs tell this one their activity again when they hear it leads.
        activities.clear();
        reportActivity();
        post({kind: 'leader'});
        real.start();
    };

    const onLeaderMessage = (msg) => {
        switch (msg.kind) {
            case 'join':
                // Built now: every frame passed on after this answer is newer than what it holds.
                post({kind: 'hello', to: msg.from, status: real.status, cursor: real.cursor,
                    welcome: real.connected && welcomeSource ? welcomeSource() : null});
                break;
            case 'send':
                own(msg.cid, msg.from);
                real.sendMessage(msg.to, msg.text, msg.cid);
                break;
            case 'frame':
                if (msg.frame && msg.frame.type === 'send' && typeof msg.frame.cid === 'string') {
                    own(msg.frame.cid, msg.from);
                }
                real.send(msg.frame, msg.key || undefined);
                break;
            case 'reconnect':
                real.reconnectNow();
                break;
            case 'activity':
                if (msg.state) {
                    activities.set(msg.from, msg.state);
                } else {
                    activities.delete(msg.from);
                }
                reportActivity();
                break;
            default:
                break;
        }
    };

    // ---- A tab that is not the leader: the leader's events. -------------------------------------

    const onLeaderFrame = (frame) => {
        if (frame.type === 'welcome') {
            synced = true;
            connected = status.state === STATES.CONNECTED;
            emit('frame', frame);
            controls.forEach((f, key) => post({kind: 'frame', frame: f, key}));
            controls.clear();
            outbox.forEach((entry) => post({kind: 'send', to: entry.to, text: entry.text, cid: entry.cid}));
            return;
        }
        if (!synced) {
            // Older than the welcome this tab is waiting for, which covers it.
            return;
        }
        if (frame.type === 'ack') {
            outbox.delete(frame.cid);
        } else if (frame.type === 'message' && frame.message && frame.message.from === options.userid && frame.message.cid) {
            // Stored (its ack went to the tab that sent it first): nothing to send again.
            outbox.delete(frame.message.cid);
        }
        emit('frame', frame);
    };

    const onFollowerMessage = (msg) => {
        if (msg.to && msg.to !== tabId) {
            return;
        }
        if (typeof msg.cursor === 'number') {
            cursor = msg.cursor;
        }
        switch (msg.kind) {
            case 'hello':
                if (msg.status) {
                    setStatus(msg.status);
                }
                if (msg.welcome) {
                    onLeaderFrame(msg.welcome);
                }
                break;
            case 'leader':
                // The tab that had the socket went; the new leader's welcome follows.
                connected = false;
                post({kind: 'activity', state: myActivity});
                break;
            case 'event':
                if (msg.type === 'status') {
                    connected = synced && msg.payload.state === STATES.CONNECTED;
                    setStatus(msg.payload);
                } else if (msg.type === 'frame') {
                    onLeaderFrame(msg.payload);
                } else if (msg.type === 'sendfailed') {
                    if (msg.payload.final) {
                        outbox.delete(msg.payload.cid);
                    }
                    emit('sendfailed', msg.payload);
                } else if (msg.type === 'reset' && synced) {
                    emit('reset', msg.payload);
                }
                break;
            default:
                break;
        }
    };

    const onMessage = (msg) => {
        if (!msg || typeof msg !== 'object' || msg.from === tabId || stopped) {
            return;
        }
        if (role === ROLES.LEADER) {
            onLeaderMessage(msg);
        } else if (role === ROLES.FOLLOWER || role === ROLES.JOINING) {
            onFollowerMessage(msg);
        }
    };

    const becomeFollower = () => {
        if (stopped || real) {
            return;
        }
        role = ROLES.FOLLOWER;
        setStatus({state: STATES.CONNECTING});
        post({kind: 'join'});
        post({kind: 'activity', state: myActivity});
    };

    const holdLock = () => new Promise((resolve) => {
        releaseLock = resolve;
    });

    return {
        /**
         * Subscribe to 'frame', 'status', 'sendfailed' or 'reset' (as createTransport's).
         *
         * @param {string} type
         * @param {function} fn
         * @returns {function} unsubscribe
         */
        on(type, fn) {
            (listeners[type] = listeners[type] || []).push(fn);
            return () => {
                listeners[type] = (listeners[type] || []).filter((f) => f !== fn);
            };
        },
        /**
         * What the leader answers a tab that joins: a welcome built from its current state.
         *
         * @param {function(): (object|null)} fn
         */
        setWelcomeSource(fn) {
            welcomeSource = fn;
        },
        start() {
            if (started) {
                return;
            }
            started = true;
            try {
                channel = new view.BroadcastChannel(name);
                channel.onmessage = (event) => onMessage(event.data);
            } catch (e) {
                becomeLeader(true);
                return;
            }
            const locks = view.navigator.locks;
            Promise.resolve().then(() => locks.request(name, {ifAvailable: true}, (lock) => {
                if (lock) {
                    becomeLeader(false);
                    return holdLock();
                }
                // Another tab has the socket: use it, and take it over when that tab goes.
                becomeFollower();
                locks.request(name, () => {
                    becomeLeader(false);
                    return holdLock();
                }).catch(() => {
                    // Never granted (the page is going away).
                });
                return undefined;
            })).catch(() => {
                // No lock for this page (a sandboxed frame, a policy): a socket of its own.
                becomeLeader(true);
            });
        },
        stop() {
            if (!real) {
                // This tab no longer counts for the browser's activity.
                post({kind: 'activity', state: null});
            }
            stopped = true;
            if (real) {
                real.stop();
            } else {
                setStatus({state: STATES.STOPPED, code: 1000});
            }
            if (releaseLock) {
                releaseLock();
                releaseLock = null;
            }
            if (channel) {
                channel.close();
                channel = null;
            }
        },
        reconnectNow() {
            if (real) {
                real.reconnectNow();
            } else {
                post({kind: 'reconnect'});
            }
        },
        /**
         * Queue a chat message (as createTransport's): the leader sends it; retried with the same cid until
         * acknowledged or refused, also across a change of leader.
         *
         * @param {number|string} to
         * @param {string} text
         * @param {string} [cid]
         * @returns {string} the cid
         */
        sendMessage(to, text, cid) {
            const id = cid || 'c' + Math.random().toString(36).slice(2) + Date.now().toString(36);
            if (real) {
                own(id, tabId);
                return real.sendMessage(to, text, id);
            }
            if (!outbox.has(id)) {
                outbox.set(id, {to, text, cid: id});
                post({kind: 'send', to, text, cid: id});
            }
            return id;
        },
        /**
         * Send a frame now (through the leader); if not connected and a key is given, keep the latest frame of
         * that key and send it after the next welcome.
         *
         * @param {object} frame
         * @param {string} [key]
         * @returns {boolean} whether it was sent now
         */
        send(frame, key) {
            if (real) {
                if (frame && frame.type === 'send' && typeof frame.cid === 'string') {
                    own(frame.cid, tabId);
                }
                return real.send(frame, key);
            }
            if (connected) {
                post({kind: 'frame', frame, key: key || ''});
                return true;
            }
            if (key) {
                controls.set(key, frame);
            }
            return false;
        },
        /**
         * Report this tab's activity (PROTOCOL §5.2); the leader sends the browser's, combined.
         *
         * @param {string} state 'active', 'idle' or 'hidden'
         */
        setActivity(state) {
            myActivity = state;
            if (real) {
                reportActivity();
            } else if (role === ROLES.FOLLOWER) {
                post({kind: 'activity', state});
            }
        },
        /** @returns {string} this tab's role: 'joining', 'leader', 'follower' or 'solo' */
        get role() {
            return role;
        },
        /** @returns {number} the highest message id received */
        get cursor() {
            return real ? real.cursor : cursor;
        },
        /** @returns {object} the last status */
        get status() {
            return real ? real.status : status;
        },
        /** @returns {boolean} whether frames reach the server now */
        get connected() {
            return real ? real.connected : connected;
        },
        /** @returns {string[]} cids waiting for an ack */
        get pending() {
            return real ? real.pending : Array.from(outbox.keys());
        },
    };
};

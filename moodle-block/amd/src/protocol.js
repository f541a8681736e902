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
 * Wire protocol v1 of dockchat (docs/PROTOCOL.md): frame builders, error and close codes.
 *
 * Pure data, no I/O: the only place where the client knows the JSON shapes it sends.
 *
 * @module     block_dockchat/protocol
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

/** Protocol version sent in `hello`. */
export const VERSION = 1;

/** Window states (PROTOCOL §4 `window`). */
export const WINDOW_OPEN = 'open';
export const WINDOW_MINIMISED = 'minimised';
export const WINDOW_CLOSED = 'closed';

/** Error codes with a user-facing string (`error:<code>` in the lang file). */
export const USER_ERRORS = [
    'blocked', 'contacts_only', 'conversation_disabled', 'internal', 'messaging_disabled', 'no_permission',
    'not_contactable', 'not_member', 'rate_limited', 'text_too_long', 'unknown_user',
];

/** Send errors after which the very same send may simply be retried later. */
export const RETRYABLE_SEND_ERRORS = ['internal', 'rate_limited'];

/** Close codes of PROTOCOL §7. */
export const CLOSE = Object.freeze({
    NORMAL: 1000,
    ABNORMAL: 1006,
    TOO_BIG: 1009,
    RESTART: 1012,
    TOKEN_REFUSED: 4001,
    TOKEN_EXPIRED: 4002,
    ACCOUNT_UNAVAILABLE: 4003,
    SESSION_ENDED: 4004,
    AUTH_TIMEOUT: 4005,
    ABUSIVE: 4008,
    TOO_SLOW: 4009,
    TOO_MANY: 4029,
});

/**
 * What the client does after the socket closed with a code (PROTOCOL §7).
 *
 * @param {number} code WebSocket close code
 * @returns {{action: string, freshToken: boolean, minDelayMs: number, maxDelayMs: number, immediate: boolean}}
 *   action is 'reconnect', 'refetch-token' (a fresh token, retried with backoff for as long as Moodle
 *   gives one: the daemon may not have the new secret yet; stop when Moodle refuses a token) or 'stop';
 *   immediate: the first attempt goes at once (later ones back off). The transport fetches a fresh
 *   token for every connection attempt anyway.
 */
export const closePolicy = (code) => {
    switch (code) {
        case CLOSE.RESTART:
            return {action: 'reconnect', freshToken: true, minDelayMs: 1000, maxDelayMs: 5000};
        case CLOSE.TOKEN_REFUSED:
            return {action: 'refetch-token', freshToken: true, minDelayMs: 0, maxDelayMs: 0, immediate: true};
        case CLOSE.TOKEN_EXPIRED:
            return {action: 'reconnect', freshToken: true, minDelayMs: 0, maxDelayMs: 0, immediate: true};
        case CLOSE.ACCOUNT_UNAVAILABLE:
        case CLOSE.SESSION_ENDED:
            return {action: 'stop', freshToken: false, minDelayMs: 0, maxDelayMs: 0};
        case CLOSE.ABUSIVE:
            return {action: 'reconnect', freshToken: false, minDelayMs: 30000, maxDelayMs: 0};
        default:
            // 1000, 1006, 1009, 4005, 4009, 4029 and anything unknown: reconnect with backoff.
            return {action: 'reconnect', freshToken: false, minDelayMs: 0, maxDelayMs: 0};
    }
};

let cidCounter = 0;

/**
 * A new client message id: `c-` + time + counter + randomness (1-64 chars of [a-z0-9_-]: base 36 is lower case).
 *
 * @param {function(): number} [random] source of randomness in [0, 1)
 * @param {function(): number} [now] clock in ms
 * @returns {string}
 */
export const newCid = (random = Math.random, now = Date.now) => {
    cidCounter = (cidCounter + 1) % 1679616;
    const rnd = Math.floor(random() * 2176782336).toString(36);
    return `c-${now().toString(36)}-${cidCounter.toString(36)}-${rnd}`;
};

/** A browser's activity as an `activity` frame reports it (PROTOCOL §5.2). */
export const ACTIVITY = Object.freeze({ACTIVE: 'active', IDLE: 'idle', HIDDEN: 'hidden'});
export const activity = (state) => ({type: 'activity', state});

/**
 * @param {string} token
 * @param {number} [since] highest message id already received (given on every reconnect, even 0)
 * @param {string} [state] the browser's activity (PROTOCOL §5.2), sent unless 'active' (the default)
 * @returns {object}
 */
export const hello = (token, since, state) => {
    const frame = {type: 'hello', v: VERSION, token};
    if (typeof since === 'number' && since >= 0) {
        frame.since = since;
    }
    if (state && state !== ACTIVITY.ACTIVE) {
        frame.state = state;
    }
    return frame;
};


export const refreshToken = (token) => ({type: 'token', token});

/**
 * How a frame names its conversation (PROTOCOL §4): a user id as `to`/`with`, a group's window key
 * ('c' + Moodle's conversation id, see ./state.js `groupKey`) as `conv`.
 *
 * @param {string} field 'to' or 'with', for a user id
 * @param {number|string} key
 * @returns {object}
 */
const address = (field, key) => (typeof key === 'string' && /^c[1-9][0-9]*$/.test(key)
    ? {conv: Number(key.slice(1))} : {[field]: key});

export const send = (to, cid, text) => Object.assign({type: 'send'}, address('to', to), {cid, text});
export const history = (withId, before, limit) => {
    const frame = Object.assign({type: 'history'}, address('with', withId));
    if (before) {
        frame.before = before;
    }
    if (limit) {
        frame.limit = limit;
    }
    return frame;
};
export const read = (withId, upto) => Object.assign({type: 'read'}, address('with', withId), {upto});
export const typing = (to) => Object.assign({type: 'typing'}, address('to', to));
export const windowState = (withId, state) => ({type: 'window', with: withId, state});
export const ping = (n) => ({type: 'ping', n});
/* Window actions (PROTOCOL §4.1). */
export const block = (user, on) => ({type: 'block', user, block: !!on});
export const mute = (key, on) => Object.assign({type: 'mute'}, address('with', key), {mute: !!on});
export const star = (key) => Object.assign({type: 'star'}, address('with', key));
export const deleteMessage = (id) => ({type: 'delete', id});
export const deleteConversation = (key) => Object.assign({type: 'delete_conversation'}, address('with', key));
export const conversations = (offset, limit) => ({type: 'conversations', offset, limit});
export const people = (query) => ({type: 'people', query});
export const roster = () => ({type: 'roster'});
export const courseMembers = (course, offset, limit) => ({type: 'course_members', course, offset, limit});

/**
 * Parse a server frame; null when it is not a JSON object with a string `type`.
 *
 * @param {string} data
 * @returns {object|null}
 */
export const parse = (data) => {
    if (typeof data !== 'string') {
        return null;
    }
    try {
        const frame = JSON.parse(data);
        if (frame && typeof frame === 'object' && !Array.isArray(frame) && typeof frame.type === 'string') {
            return frame;
        }
    } catch (e) {
        return null;
    }
    return null;
};

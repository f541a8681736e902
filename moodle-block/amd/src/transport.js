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
 * The WebSocket to dockchatd: authentication, token refresh, reconnect and resume, send queue.
 *
 * Owns the socket and nothing else: it never touches the DOM or the chat state. Everything it learns is
 * published as events ('frame', 'status', 'sendfailed', 'reset'). Its environment (WebSocket class, timers, clock,
 * randomness, online/offline events) is injected so unit tests can drive it with fakes.
 *
 * - Every connection attempt fetches a fresh token with the injected `getToken()` (on a Moodle page the first
 *   one is the token that came with the page: see `withPageToken`).
 * - After a `welcome`, later connections send `hello` with `since` = the highest message id received,
 *   so the server replays exactly what was missed (PROTOCOL §5.1).
 * - The token is refreshed over the open socket before it expires (`token` frame).
 * - Close codes follow PROTOCOL §7; other reconnects use exponential backoff with jitter. A token the
 *   daemon refused (4001: an admin regenerated the secret, and the daemon may not have the new one yet)
 *   is fetched afresh and tried again with backoff; only when Moodle itself refuses a token (the token
 *   fetch fails after a 4001) does the transport stop.
 * - `sendMessage` queues; unacked sends are sent again with the same `cid` after a reconnect, so the
 *   server stores each message once (a duplicate `cid` is acked with `dup: true`).
 *
 * @module     block_dockchat/transport
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

import * as Protocol from './protocol.js';

/** Connection states published in 'status' events. */
export const STATES = Object.freeze({
    IDLE: 'idle',
    CONNECTING: 'connecting',
    CONNECTED: 'connected',
    WAITING: 'waiting',
    OFFLINE: 'offline',
    STOPPED: 'stopped',
});

const DEFAULTS = {
    backoffBaseMs: 1000,
    backoffMaxMs: 30000,
    welcomeTimeoutMs: 15000,
    // Least time between two `activity` frames.
    activityGapMs: 1000,
    // How long the browser stays not active before the server is told (PROTOCOL §5.2): a page
    // that is navigated away from says `hidden` as it goes, and the next page comes back active
    // within this, so a navigation never shows the user away to others.
    awayDelayMs: 2000,
    pingIntervalMs: 25000,
    tokenRetryMs: 10000,
    sendRetryMs: 2000,
};

/**
 * Exponential backoff with jitter: a delay in [d/2, d] where d = min(max, base * 2^attempt).
 *
 * @param {number} attempt 0 for the first retry
 * @param {number} baseMs
 * @param {number} maxMs
 * @param {function(): number} random
 * @returns {number} milliseconds
 */
export const backoffDelay = (attempt, baseMs, maxMs, random) => {
    const ceiling = Math.min(maxMs, baseMs * Math.pow(2, Math.min(attempt, 20)));
    return Math.round(ceiling / 2 + random() * ceiling / 2);
};

/** A page token is used only while it has more than this left (the socket must open and say hello). */
export const PAGE_TOKEN_MIN_VALIDITY_MS = 30000;

/**
 * A `getToken` whose first answer is the token that came with the page (issue 15), when it is still valid.
 *
 * The page gives the token, its expiry and its own clock (`now`, Unix seconds when the page was rendered).
 * The token's age is judged against that clock plus the time since the navigation started (`elapsedMs`,
 * by default `performance.now()`, which starts before the server rendered the page, so the estimate errs
 * on the safe side), never against the browser's clock, which may be wrong. A token with 30 s or less left,
 * or no page token, means a fetch, as does every later call: reconnects (also after a 4001 or 4002) and
 * refreshes always get a fresh token from `getToken`.
 *
 * @param {function(): Promise<{token: string, exp: number, wsurl: string}>} getToken fetches a fresh token
 * @param {{token: string, exp: number, now: number}|null} page what came with the page
 * @param {function(): number} [elapsedMs] ms since the navigation started
 * @returns {function(): Promise<{token: string, exp: number}>}
 */
export const withPageToken = (getToken, page, elapsedMs) => {
    const elapsed = elapsedMs || (() => (globalThis.performance && globalThis.performance.now
        ? globalThis.performance.now() : 0));
    let first = page && typeof page.token === 'string' && page.token !== ''
        && typeof page.exp === 'number' && typeof page.now === 'number' ? page : null;
    return () => {
        const candidate = first;
        first = null;
        if (candidate && (candidate.exp - candidate.now) * 1000 - elapsed() > PAGE_TOKEN_MIN_VALIDITY_MS) {
            return Promise.resolve({token: candidate.token, exp: candidate.exp});
        }
        return getToken();
    };
};

/**
 * Create a transport.
 *
 * @param {object} options
 * @param {function(): Promise<{token: string, exp: number, wsurl: string}>} options.getToken
 * @param {string} [options.wsurl] used when the token answer has no wsurl
 * @param {function} [options.WebSocket] WebSocket class (default: the browser's)
 * @param {{setTimeout: function, clearTimeout: function}} [options.timers]
 * @param {function(): number} [options.now] clock in ms
 * @param {function(): number} [options.random]
 * @param {object} [options.net] object with addEventListener for 'online'/'offline' and `navigator`-like onLine
 * @param {number} [options.resumeFrom] the highest message id this page has already received (a tab that takes
 *   over the socket of a tab that closed, ./tablink.js): the first hello resumes from it (`since`)
 * @returns {object}
 */
export const createTransport = (options) => {
    const opts = Object.assign({}, DEFAULTS, options);
    const WS = opts.WebSocket || globalThis.WebSocket;
    const timers = opts.timers || {
        setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
        clearTimeout: (id) => globalThis.clearTimeout(id),
    };
    const now = opts.now || (() => Date.now());
    const random = opts.random || Math.random;
    const net = opts.net || (typeof window !== 'undefined' ? window : null);
    const isOnline = () => {
        if (opts.isOnline) {
            return opts.isOnline();
        }
        return typeof navigator === 'undefined' || navigator.onLine !== false;
    };

    const listeners = {};
    let ws = null;
    let generation = 0;
    let authed = false;
    let stopped = true;
    let attempt = 0;
    let tokenRefused = false; // The daemon refused the last token (4001) and none was accepted since.
    const resumeFrom = typeof opts.resumeFrom === 'number' && opts.resumeFrom >= 0 ? opts.resumeFrom : null;
    // True once a welcome was received (or the page had one through another tab): hellos carry `since`.
    let resumed = resumeFrom !== null;
    let cursor = resumeFrom || 0;
    let serverOffsetMs = 0;
    let status = {state: STATES.IDLE};
    const timer = {retry: null, welcome: null, refresh: null, ping: null, activity: null};
    // The browser's activity (PROTOCOL §5.2): what this page says, and what the server was last told.
    let activity = Protocol.ACTIVITY.ACTIVE;
    let toldActivity = Protocol.ACTIVITY.ACTIVE;
    let lastActivityAt = -Infinity;
    // When the activity last left `active`.
    let leftActiveAt = -Infinity;
    let lastRx = 0;
    /** @type {Map<string, {to: number, text: string, cid: string, inflight: boolean, retryTimer: *}>} */
    const outbox = new Map();
    /** @type {Map<string, object>} latest control frame per key, flushed after the next welcome */
    const controls = new Map();

    const emit = (type, payload) => {
        (listeners[type] || []).slice().forEach((fn) => fn(payload));
    };
    const clear = (name) => {
        if (timer[name] !== null) {
            timers.clearTimeout(timer[name]);
            timer[name] = null;
        }
    };
    const setStatus = (next) => {
        status = Object.freeze(Object.assign({}, next));
        emit('status', status);
    };
    const raw = (frame) => {
        if (!ws || !authed) {
            return false;
        }
        try {
            ws.send(JSON.stringify(frame));
            return true;
        } catch (e) {
            return false;
        }
    };
    /** Tell the server the activity if it changed, at most once a second (a tab switch flickers); not active
     * only once it has lasted `awayDelayMs` (a navigation hides the page it leaves). */
    const flushActivity = () => {
        if (timer.activity !== null || activity === toldActivity || !authed) {
            return;
        }
        let wait = lastActivityAt + opts.activityGapMs - now();
        if (toldActivity === Protocol.ACTIVITY.ACTIVE && activity !== Protocol.ACTIVITY.ACTIVE) {
            wait = Math.max(wait, leftActiveAt + opts.awayDelayMs - now());
        }
        if (wait > 0) {
            timer.activity = timers.setTimeout(() => {
                timer.activity = null;
                flushActivity();
            }, wait);
            return;
        }
        if (raw(Protocol.activity(activity))) {
            toldActivity = activity;
            lastActivityAt = now();
        }
    };

    const transmit = (entry) => {
        if (raw(Protocol.send(entry.to, entry.cid, entry.text))) {
            entry.inflight = true;
        }
    };

    const scheduleRefresh = (expSeconds) => {
        clear('refresh');
        if (!expSeconds) {
            return;
        }
        const remaining = expSeconds * 1000 - (now() + serverOffsetMs);
        const lead = Math.min(60000, remaining * 0.2);
        const delay = Math.max(1000, remaining - lead);
        timer.refresh = timers.setTimeout(refresh, delay);
    };

    const refresh = () => {
        timer.refresh = null;
        const gen = generation;
        Promise.resolve().then(() => opts.getToken()).then((answer) => {
            if (gen !== generation || !authed) {
                return;
            }
            raw(Protocol.refreshToken(answer.token));
        }).catch(() => {
            if (gen === generation && authed) {
                timer.refresh = timers.setTimeout(refresh, opts.tokenRetryMs);
            }
        });
    };

    const schedulePing = () => {
        clear('ping');
        timer.ping = timers.setTimeout(() => {
            timer.ping = null;
            if (!ws || !authed) {
                return;
            }
            if (now() - lastRx > 2 * opts.pingIntervalMs) {
                // Half-open connection (laptop sleep, lost Wi-Fi): drop it and reconnect.
                dropSocket(Protocol.CLOSE.ABNORMAL);
                return;
            }
            raw(Protocol.ping(now()));
            schedulePing();
        }, opts.pingIntervalMs);
    };

    const bumpCursor = (id) => {
        if (typeof id === 'number' && id > cursor) {
            cursor = id;
        }
    };

    const onFrame = (frame) => {
        lastRx = now();
        switch (frame.type) {
            case 'welcome': {
                authed = true;
                attempt = 0;
                tokenRefused = false;
                clear('welcome');
                const serverCursor = typeof frame.cursor === 'number' ? frame.cursor : 0;
                // The server's newest message is older than one this page has received: its database
                // was reset (the demo's is temporary) or restored from a backup. The ids this page holds
                // name other messages now (or none): start over from the server's state.
                const reset = resumed && serverCursor < cursor;
                if (!resumed || reset) {
                    cursor = reset ? serverCursor : Math.max(cursor, serverCursor);
                }
                resumed = true;
                if (reset) {
                    emit('reset', {cursor: serverCursor});
                }
                if (typeof frame.server_time === 'number') {
                    serverOffsetMs = frame.server_time * 1000 - now();
                }
                scheduleRefresh(frame.token_exp);
                schedulePing();
                setStatus({state: STATES.CONNECTED});
                emit('frame', frame);
                controls.forEach((control) => raw(control));
                controls.clear();
                outbox.forEach((entry) => transmit(entry));
                flushActivity();
                return;
            }
            case 'missed':
                (frame.messages || []).forEach((m) => bumpCursor(m.id));
                bumpCursor(frame.cursor);
                break;
            case 'message':
                if (frame.message) {
                    bumpCursor(frame.message.id);
                }
                break;
            case 'ack': {
                bumpCursor(frame.id);
                const entry = outbox.get(frame.cid);
                if (entry) {
                    if (entry.retryTimer) {
                        timers.clearTimeout(entry.retryTimer);
                    }
                    outbox.delete(frame.cid);
                }
                break;
            }
            case 'token_ok':
                scheduleRefresh(frame.exp);
                break;
            case 'error': {
                if (frame.ref === 'token') {
                    clear('refresh');
                    timer.refresh = timers.setTimeout(refresh, opts.tokenRetryMs);
                    break;
                }
                const entry = frame.ref ? outbox.get(frame.ref) : null;
                if (entry) {
                    entry.inflight = false;
                    if (Protocol.RETRYABLE_SEND_ERRORS.includes(frame.code)) {
                        entry.retryTimer = timers.setTimeout(() => {
                            entry.retryTimer = null;
                            if (outbox.has(entry.cid)) {
                                transmit(entry);
                            }
                        }, opts.sendRetryMs);
                        emit('sendfailed', {cid: entry.cid, to: entry.to, code: frame.code, final: false});
                    } else {
                        outbox.delete(entry.cid);
                        emit('sendfailed', {cid: entry.cid, to: entry.to, code: frame.code, final: true});
                    }
                }
                break;
            }
            default:
                break;
        }
        emit('frame', frame);
    };

    const scheduleRetry = (delay, extra) => {
        clear('retry');
        setStatus(Object.assign({state: STATES.WAITING, retryAt: now() + delay, delayMs: delay}, extra || {}));
        timer.retry = timers.setTimeout(() => {
            timer.retry = null;
            connect();
        }, delay);
    };

    const onClosed = (code) => {
        authed = false;
        ws = null;
        clear('welcome');
        clear('refresh');
        clear('ping');
        outbox.forEach((entry) => {
            entry.inflight = false;
        });
        if (stopped) {
            setStatus({state: STATES.STOPPED, code});
            return;
        }
        if (!isOnline()) {
            setStatus({state: STATES.OFFLINE, code});
            return;
        }
        const policy = Protocol.closePolicy(code);
        if (policy.action === 'stop') {
            stopped = true;
            setStatus({state: STATES.STOPPED, code, fatal: true});
            return;
        }
        if (policy.action === 'refetch-token') {
            tokenRefused = true;
        }
        let delay;
        if (policy.immediate && attempt === 0) {
            delay = 0;
        } else if (policy.maxDelayMs > 0) {
            delay = Math.round(policy.minDelayMs + random() * (policy.maxDelayMs - policy.minDelayMs));
        } else {
            delay = Math.max(policy.minDelayMs, backoffDelay(attempt, opts.backoffBaseMs, opts.backoffMaxMs, random));
        }
        attempt++;
        scheduleRetry(delay, {code});
    };

    const dropSocket = (code) => {
        const old = ws;
        generation++;
        if (old) {
            try {
                old.close();
            } catch (e) {
                // Already closing.
            }
        }
        onClosed(code);
    };

    const connect = () => {
        if (stopped) {
            return;
        }
        clear('retry');
        const gen = ++generation;
        setStatus({state: STATES.CONNECTING});
        Promise.resolve().then(() => opts.getToken()).then((answer) => {
            if (gen !== generation || stopped) {
                return;
            }
            const url = (answer && answer.wsurl) || opts.wsurl;
            let socket;
            try {
                socket = new WS(url);
            } catch (e) {
                onClosed(Protocol.CLOSE.ABNORMAL);
                return;
            }
            ws = socket;
            socket.onopen = () => {
                if (gen !== generation) {
                    return;
                }
                lastRx = now();
                socket.send(JSON.stringify(Protocol.hello(answer.token, resumed ? cursor : undefined, activity)));
                toldActivity = activity;
                timer.welcome = timers.setTimeout(() => {
                    timer.welcome = null;
                    if (gen === generation) {
                        dropSocket(Protocol.CLOSE.AUTH_TIMEOUT);
                    }
                }, opts.welcomeTimeoutMs);
            };
            socket.onmessage = (event) => {
                if (gen !== generation) {
                    return;
                }
                const frame = Protocol.parse(event.data);
                if (frame) {
                    onFrame(frame);
                }
            };
            socket.onclose = (event) => {
                if (gen !== generation) {
                    return;
                }
                generation++;
                onClosed(event && event.code ? event.code : Protocol.CLOSE.ABNORMAL);
            };
            socket.onerror = () => {
                // A close event always follows.
            };
        }).catch(() => {
            if (gen !== generation || stopped) {
                return;
            }
            generation++;
            if (tokenRefused && isOnline()) {
                // The daemon refused our token and now Moodle refuses to give one: nothing a retry can
                // change (logged out, no longer allowed to chat).
                stopped = true;
                setStatus({state: STATES.STOPPED, code: Protocol.CLOSE.TOKEN_REFUSED, fatal: true});
                return;
            }
            // No token (network down, Moodle session problem): try again with backoff.
            onClosed(Protocol.CLOSE.ABNORMAL);
        });
    };

    const onOnline = () => {
        if (stopped) {
            return;
        }
        if (!ws && (status.state === STATES.OFFLINE || status.state === STATES.WAITING)) {
            attempt = 0;
            connect();
        }
    };
    const onOffline = () => {
        if (!stopped && ws) {
            dropSocket(Protocol.CLOSE.ABNORMAL);
        }
    };

    const api = {
        /**
         * Subscribe to 'frame', 'status', 'sendfailed' or 'reset' (the server's messages start over: its
         * database was reset; emitted before the `welcome` frame that shows it).
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
        start() {
            if (!stopped) {
                return;
            }
            stopped = false;
            tokenRefused = false;
            attempt = 0;
            if (net && net.addEventListener) {
                net.addEventListener('online', onOnline);
                net.addEventListener('offline', onOffline);
            }
            connect();
        },
        stop() {
            stopped = true;
            Object.keys(timer).forEach(clear);
            if (net && net.removeEventListener) {
                net.removeEventListener('online', onOnline);
                net.removeEventListener('offline', onOffline);
            }
            const old = ws;
            generation++;
            ws = null;
            authed = false;
            if (old) {
                try {
                    old.close(Protocol.CLOSE.NORMAL);
                } catch (e) {
                    // Ignore.
                }
            }
            setStatus({state: STATES.STOPPED, code: Protocol.CLOSE.NORMAL});
        },
        /** Reconnect now (e.g. the user clicked 'retry'), resetting the backoff. */
        reconnectNow() {
            if (stopped) {
                stopped = false;
                tokenRefused = false;
            }
            if (!ws) {
                attempt = 0;
                connect();
            }
        },
        /**
         * Queue a chat message; sent now if connected, else after the next welcome; retried with the
         * same cid until acked or refused.
         *
         * @param {number} to
         * @param {string} text
         * @param {string} [cid]
         * @returns {string} the cid
         */
        sendMessage(to, text, cid) {
            const id = cid || Protocol.newCid(random, now);
            if (!outbox.has(id)) {
                const entry = {to, text, cid: id, inflight: false, retryTimer: null};
                outbox.set(id, entry);
                transmit(entry);
            }
            return id;
        },
        /**
         * Send a frame now; if not connected and a key is given, keep the latest frame of that key and
         * send it after the next welcome (window state, read markers).
         *
         * @param {object} frame
         * @param {string} [key]
         * @returns {boolean} whether it was sent now
         */
        send(frame, key) {
            if (raw(frame)) {
                return true;
            }
            if (key) {
                controls.set(key, frame);
            }
            return false;
        },
        /**
         * Report the browser's activity ('active', 'idle' or 'hidden', PROTOCOL §5.2): sent when it changes, at
         * most once a second, leaving 'active' only once it has lasted `awayDelayMs`, and in every hello.
         *
         * @param {string} state
         */
        setActivity(state) {
            if (activity === Protocol.ACTIVITY.ACTIVE && state !== Protocol.ACTIVITY.ACTIVE) {
                leftActiveAt = now();
            }
            activity = state;
            flushActivity();
        },
        /** @returns {number} the highest message id received */
        get cursor() {
            return cursor;
        },
        /** @returns {object} the last status */
        get status() {
            return status;
        },
        /** @returns {boolean} whether the socket is authenticated */
        get connected() {
            return authed;
        },
        /** @returns {string[]} cids waiting for an ack */
        get pending() {
            return Array.from(outbox.keys());
        },
    };
    return api;
};

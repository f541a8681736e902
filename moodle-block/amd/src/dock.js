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
 * The dock controller: wires the transport, the state and the renderer.
 *
 * Windows are named by key (./state.js): a user id, or 'c' + a group's conversation id; the frames of a
 * group conversation name it by `conv` (./protocol.js builds them from the key).
 *
 * Server frames and user intents become state actions; each new state is handed to the renderer.
 * It also keeps the tabs of one user in step: the server sends window, message and read frames to every
 * tab, and a BroadcastChannel (or localStorage events) shares what only this tab knows yet (a message
 * still being sent, a window just opened) instantly.
 *
 * @module     block_dockchat/dock
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

import * as Protocol from './protocol.js';
import {createTransport} from './transport.js';
import {canShareSocket, createSharedTransport} from './tablink.js';
import {createActivityMonitor} from './activity.js';
import {createRenderer} from './renderer.js';
import {initialState, reduce, conv, unreadUpto, peerOf, groupInfo, groupConv, isGroupKey, parseKey} from './state.js';
import {createPanelController} from './panel.js';
import {createSnapshotStore, takeSnapshot} from './snapshot.js';
import {ALERT_PREFS, createAlerts} from './alerts.js';

const HISTORY_PAGE = 30;
const TYPING_THROTTLE_MS = 2000;

/**
 * A tab-sync channel: BroadcastChannel when available, else localStorage 'storage' events.
 *
 * @param {string} name
 * @param {Window} view
 * @returns {{post: function(object), onMessage: function(function(object)), close: function()}}
 */
export const createTabChannel = (name, view) => {
    const handlers = [];
    const deliver = (data) => handlers.forEach((fn) => fn(data));
    if (view && typeof view.BroadcastChannel === 'function') {
        const bc = new view.BroadcastChannel(name);
        bc.onmessage = (event) => deliver(event.data);
        return {
            post: (data) => bc.postMessage(data),
            onMessage: (fn) => handlers.push(fn),
            close: () => bc.close(),
        };
    }
    let storage = null;
    try {
        storage = view && view.localStorage;
    } catch (e) {
        storage = null;
    }
    const onStorage = (event) => {
        if (event.key === name && event.newValue) {
            try {
                deliver(JSON.parse(event.newValue).data);
            } catch (e) {
                // Not ours.
            }
        }
    };
    if (view && storage) {
        view.addEventListener('storage', onStorage);
    }
    return {
        post: (data) => {
            if (storage) {
                try {
                    storage.setItem(name, JSON.stringify({data, nonce: Math.random()}));
                    storage.removeItem(name);
                } catch (e) {
                    // Quota or privacy mode: the server still syncs the tabs.
                }
            }
        },
        onMessage: (fn) => handlers.push(fn),
        close: () => view && view.removeEventListener('storage', onStorage),
    };
};

/**
 * Create the dock controller around an existing transport and renderer (unit tests inject fakes).
 *
 * @param {object} deps
 * @param {object} deps.transport from createTransport
 * @param {object} deps.renderer from createRenderer (needs render, whenIdle, focusWindow, isShowingLatest;
 *   setFront, leaveFront, focusPerson and announceArrival when it has them)
 * @param {number} [deps.userid]
 * @param {object} [deps.channel] tab channel (createTabChannel)
 * @param {function(): number} [deps.now]
 * @param {object} [deps.timers] {setInterval, clearInterval}
 * @param {Storage} [deps.storage] keeps unsent messages across page loads (localStorage)
 * @param {Storage} [deps.session] keeps the composers' drafts and the group windows across the page
 *   loads of this tab (sessionStorage)
 * @param {string} [deps.site] the site (the page's origin): with `session`, the dock is saved as it is shown
 *   (./snapshot.js) and the next page of this tab draws it at once, before the welcome
 * @param {object} [deps.alerts] background alerts (./alerts.js createAlerts): told of every state and of
 *   each new message from someone else
 * @param {object} [deps.prefs] the alert preferences the page came with: {sound, desktop} (booleans)
 * @param {function(string, boolean): Promise} [deps.savePref] stores a preference for the user ('sound',
 *   'desktop'): Moodle's user preferences, the demo's localStorage
 * @param {function(number, boolean): Promise} [deps.setStar] stars (true) or unstars a Moodle conversation
 *     through Moodle's favourites web service (PROTOCOL §4.1); the server is then asked to relay it
 * @param {function(Error)} [deps.onError] a preference or a star could not be saved
 * @returns {object}
 */
export const createController = (deps) => {
    const {transport, renderer} = deps;
    const now = deps.now || (() => Date.now());
    const timers = deps.timers || {
        setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
        clearInterval: (id) => globalThis.clearInterval(id),
    };
    const channel = deps.channel || null;
    let state = initialState(deps.userid);
    const resetRequested = new Set();
    const historyRequested = new Set();
    const readSent = {};
    const typingSent = {};
    let ticker = null;
    const storage = deps.storage || null;
    const outboxKey = 'block_dockchat_outbox_' + (deps.userid || 0);
    const orderKey = 'block_dockchat_order_' + (deps.userid || 0);
    const session = deps.session || null;
    const alerts = deps.alerts || null;
    const draftsKey = 'block_dockchat_drafts_' + (deps.userid || 0);
    const groupsKey = 'block_dockchat_groups_' + (deps.userid || 0);
    // The previous page's dock (issue 15): drawn before the welcome, saved as it changes.
    const snapshots = session && deps.site ? createSnapshotStore({session, userid: deps.userid, site: deps.site,
        timers: deps.timers, take: () => takeSnapshot(state, {site: deps.site, cursor: transport.cursor, savedAt: now()})}) : null;
    /** The cursor of the snapshot drawn, until the welcome says whether it still names the same messages. */
    let restoredCursor = null;

    // Group windows are this tab's (the server's `window` frames are onto users only): they follow the
    // user from page to page in this tab, with the group's name for the title until the list is back.
    const loadGroupWindows = () => {
        try {
            const saved = JSON.parse((session && session.getItem(groupsKey)) || '[]');
            return Array.isArray(saved) ? saved.filter((g) => g && typeof g.conv === 'number' && g.conv > 0) : [];
        } catch (e) {
            return [];
        }
    };
    const groupWindows = (s) => s.windows.filter((w) => isGroupKey(w.peer))
        .map((w) => Object.assign(groupInfo(s, w.peer), {state: w.state}));
    const saveGroupWindows = () => {
        if (!session) {
            return;
        }
        const list = groupWindows(state);
        try {
            if (list.length) {
                session.setItem(groupsKey, JSON.stringify(list));
            } else {
                session.removeItem(groupsKey);
            }
        } catch (e) {
            // Quota or privacy mode: the group windows last as long as the page.
        }
    };

    // What is typed but not sent stays with its conversation while the user moves from page to page
    // (this tab only, as the browser's own form restore would), until it is sent or cleared.
    const loadDrafts = () => {
        try {
            const saved = JSON.parse((session && session.getItem(draftsKey)) || '{}');
            return saved && typeof saved === 'object' && !Array.isArray(saved) ? saved : {};
        } catch (e) {
            return {};
        }
    };
    const saveDraft = (peer, text) => {
        if (!session || !peer) {
            return;
        }
        const drafts = loadDrafts();
        const keep = typeof text === 'string' && text.trim() !== '';
        if ((drafts[peer] || '') === (keep ? text : '')) {
            return;
        }
        if (keep) {
            drafts[peer] = text;
        } else {
            delete drafts[peer];
        }
        try {
            if (Object.keys(drafts).length) {
                session.setItem(draftsKey, JSON.stringify(drafts));
            } else {
                session.removeItem(draftsKey);
            }
        } catch (e) {
            // Quota or privacy mode: the draft lasts as long as the page.
        }
    };

    // The order of the windows (most recently used first) is shared by the tabs of this browser and
    // survives page loads: the server lists windows in the order they were first opened.
    const loadOrder = () => {
        try {
            const saved = JSON.parse((storage && storage.getItem(orderKey)) || 'null');
            if (saved && Array.isArray(saved.peers)) {
                return {peers: saved.peers.filter((p) => typeof p === 'number' || isGroupKey(p)), at: Number(saved.at) || 0};
            }
        } catch (e) {
            // Unreadable: start from the server's order.
        }
        return {peers: [], at: 0};
    };
    const saveOrder = () => {
        if (!storage) {
            return;
        }
        try {
            storage.setItem(orderKey, JSON.stringify({peers: state.windows.map((w) => w.peer), at: state.orderAt}));
        } catch (e) {
            // Quota or privacy mode: the order lasts as long as the page.
        }
    };
    const sameOrder = (a, b) => a.length === b.length && a.every((w, i) => w.peer === b[i].peer);

    // Messages typed but not acknowledged survive a page load (the dock follows the user across pages):
    // they are sent again with the same cid, which the server stores at most once.
    const loadOutbox = () => {
        try {
            const list = JSON.parse((storage && storage.getItem(outboxKey)) || '[]');
            return Array.isArray(list) ? list.filter((e) => e && e.cid && e.peer && typeof e.text === 'string') : [];
        } catch (e) {
            return [];
        }
    };
    const saveOutbox = (list) => {
        if (!storage) {
            return;
        }
        try {
            if (list.length) {
                storage.setItem(outboxKey, JSON.stringify(list));
            } else {
                storage.removeItem(outboxKey);
            }
        } catch (e) {
            // Quota or privacy mode: the message is still sent from this page.
        }
    };
    const remember = (entry) => saveOutbox(loadOutbox().filter((e) => e.cid !== entry.cid).concat([entry]));
    const forget = (cid) => {
        const list = loadOutbox();
        if (list.some((e) => e.cid === cid)) {
            saveOutbox(list.filter((e) => e.cid !== cid));
        }
    };

    const needsTicker = () => state.connection.state === 'waiting'
        || Object.keys(state.convs).some((k) => state.convs[k].typingUntil > 0);

    const updateTicker = () => {
        if (needsTicker() && ticker === null) {
            ticker = timers.setInterval(() => {
                const next = reduce(state, {type: 'tick', now: now()});
                state = next;
                renderer.render(state, now());
                if (!needsTicker()) {
                    timers.clearInterval(ticker);
                    ticker = null;
                }
            }, 1000);
        }
    };

    const markRead = (onlyPeer) => {
        if (state.restored && !state.welcomed) {
            // Drawn from the snapshot: the ids may name nothing on the server any more (a reset).
            return;
        }
        state.windows.forEach((w) => {
            if (w.state !== 'open' || (onlyPeer && w.peer !== onlyPeer)) {
                return;
            }
            const upto = unreadUpto(state, w.peer);
            if (upto && (readSent[w.peer] || 0) < upto && renderer.isShowingLatest(w.peer)) {
                if (transport.send(Protocol.read(w.peer, upto), 'read:' + w.peer)) {
                    readSent[w.peer] = upto;
                }
            }
        });
    };

    const dispatch = (action) => {
        const next = reduce(state, action);
        if (next === state) {
            return;
        }
        const before = state;
        state = next;
        // The snapshot's windows are what this tab showed last: they never overwrite what the tabs share.
        const restoring = action.type === 'restore';
        if (!restoring && !sameOrder(before.windows, next.windows)) {
            saveOrder();
        }
        if (!restoring && (before.windows !== next.windows || before.groups !== next.groups)) {
            const was = JSON.stringify(groupWindows(before));
            if (was !== JSON.stringify(groupWindows(next))) {
                saveGroupWindows();
            }
        }
        renderer.render(state, now());
        if (alerts) {
            alerts.update(state);
        }
        updateTicker();
        renderer.whenIdle().then(() => markRead());
        if (snapshots && state.welcomed) {
            snapshots.schedule();
        }
    };

    // The block's panel (conversations list, people search) sends and answers its own frames.
    const panel = createPanelController({transport, dispatch, getState: () => state, userid: deps.userid, storage,
        timers: deps.timers});

    /**
     * Ask for the newest page of a conversation.
     *
     * @param {number|string} peer a window key
     * @param {boolean} reset the answer replaces the messages held (a resume that was cut short, a window
     *   drawn from the snapshot)
     * @param {boolean} [quiet] no loading line (the messages are shown already)
     */
    /** Windows that asked for their history again after a `can_send` hint (PROTOCOL §4.1). */
    const canSendAsked = new Set();

    const requestHistory = (peer, reset, quiet) => {
        if (historyRequested.has(peer)) {
            return;
        }
        if (transport.send(Protocol.history(peer, undefined, HISTORY_PAGE))) {
            historyRequested.add(peer);
            if (reset) {
                resetRequested.add(peer);
            }
            dispatch({type: 'historyLoading', peer, quiet: !!quiet});
        }
    };

    const ensureHistory = (peer) => {
        const c = conv(state, peer);
        if (c.stale) {
            // Drawn from the snapshot: the server's page replaces it in place (the same messages keep their nodes).
            requestHistory(peer, true, true);
        } else if (!c.loaded) {
            requestHistory(peer, false);
        }
    };

    const post = (data) => {
        if (channel) {
            try {
                channel.post(data);
            } catch (e) {
                // The server keeps tabs in sync anyway.
            }
        }
    };

    const setWindow = (peer, winState, raise) => {
        const at = raise ? Math.max(now(), state.orderAt + 1) : undefined;
        if (isGroupKey(peer)) {
            // This tab's own (kept in sessionStorage): no `window` frame, which is onto users only.
            dispatch({type: 'window', peer, state: winState, raise, at, group: groupInfo(state, peer)});
            if (winState !== 'closed') {
                ensureHistory(peer);
            }
            return;
        }
        dispatch({type: 'window', peer, state: winState, raise, at, person: state.people[peer]});
        transport.send(Protocol.windowState(peer, winState), 'window:' + peer);
        post({kind: 'window', peer, state: winState, raise: !!raise, at, person: state.people[peer] || null});
        if (winState !== 'closed') {
            ensureHistory(peer);
        }
    };

    const sendText = (peer, text, cid) => {
        const id = cid || Protocol.newCid();
        const time = Math.floor(now() / 1000);
        dispatch({type: 'pending', peer, cid: id, text, time});
        post({kind: 'pending', peer, cid: id, text, time});
        const max = state.limits.text_max_chars || 4000;
        if (Array.from(text).length > max) {
            dispatch({type: 'sendfailed', peer, cid: id, code: 'text_too_long', final: true});
            return;
        }
        remember({peer, cid: id, text, time});
        transport.sendMessage(peer, text, id);
    };

    /** The window key of an action's answer: the other user of an individual conversation, else the group's. */
    const actionPeer = (frame) => (typeof frame.with === 'number' ? frame.with
        : (typeof frame.conv === 'number' ? parseKey('c' + frame.conv) : 0));

    /** Star or unstar through Moodle, then ask the server to relay the favourite to every tab. */
    const setStar = (peer, on) => {
        const convId = isGroupKey(peer) ? groupConv(peer) : conv(state, peer).flags.conv;
        if (!convId || !deps.setStar) {
            return;
        }
        Promise.resolve().then(() => deps.setStar(convId, on)).then(() => {
            transport.send(Protocol.star(peer));
        }).catch((e) => {
            if (deps.onError) {
                deps.onError(e);
            }
        });
    };

    const onFrame = (frame) => {
        switch (frame.type) {
            case 'welcome': {
                historyRequested.clear();
                resetRequested.clear();
                if (restoredCursor !== null) {
                    const serverCursor = typeof frame.cursor === 'number' ? frame.cursor : 0;
                    if (serverCursor < restoredCursor || (frame.user && frame.user.id !== state.me)) {
                        // The server's messages started over since the snapshot (as the transport's reset
                        // on a reconnect): what it showed names other messages now, or none.
                        dispatch({type: 'reset'});
                        snapshots.drop();
                    }
                    restoredCursor = null;
                }
                const order = loadOrder();
                dispatch({type: 'welcome', frame, order: order.peers, orderAt: order.at, groups: loadGroupWindows()});
                // Windows come back after a page load: fetch what they show.
                state.windows.forEach((w) => ensureHistory(w.peer));
                break;
            }
            case 'missed':
                dispatch({type: 'missed', messages: frame.messages || []});
                if (frame.done && frame.truncated) {
                    state.windows.forEach((w) => requestHistory(w.peer, true));
                }
                break;
            case 'presence':
                dispatch({type: 'presence', user: frame.user, status: frame.status, lastSeen: frame.last_seen});
                break;
            case 'message': {
                if (frame.message && frame.message.cid && frame.message.from === state.me) {
                    forget(frame.message.cid);
                }
                const m = frame.message;
                const peer = m ? peerOf(state, m) : 0;
                const known = conv(state, peer).messages;
                dispatch({type: 'message', message: m, sender: frame.sender});
                const theirs = m && (isGroupKey(peer) ? m.from !== state.me : m.from === peer);
                const fresh = theirs && conv(state, peer).messages !== known;
                if (fresh && renderer.announceArrival) {
                    // New to this page (not a resume's repeat): screen readers hear of it once.
                    renderer.whenIdle().then(() => renderer.announceArrival(peer, m.id));
                }
                if (fresh && alerts) {
                    alerts.arrived(peer, m, frame.sender);
                }
                break;
            }
            case 'ack':
                forget(frame.cid);
                dispatch({type: 'ack', ack: frame});
                break;
            case 'history': {
                const peer = frame.with && frame.with.id ? frame.with.id : parseKey('c' + frame.conv);
                historyRequested.delete(peer);
                canSendAsked.delete(peer);
                const reset = resetRequested.delete(peer);
                dispatch({type: 'history', frame, reset});
                break;
            }
            case 'read':
                dispatch({type: 'read', frame});
                break;
            case 'typing':
                dispatch({type: 'typing', from: frame.from, conv: typeof frame.conv === 'number' ? frame.conv : undefined, now: now()});
                break;
            case 'window': {
                const peer = frame.with && frame.with.id;
                if (peer) {
                    dispatch({type: 'window', peer, state: frame.state, person: frame.with});
                    if (frame.state !== 'closed') {
                        ensureHistory(peer);
                    }
                }
                break;
            }
            case 'block':
                // I blocked or unblocked someone (here or in another tab).
                if (typeof frame.user === 'number') {
                    dispatch({type: 'flags', peer: frame.user, changes: {blocked: !!frame.blocked}});
                }
                break;
            case 'mute':
            case 'star': {
                const peer = actionPeer(frame);
                const changes = frame.type === 'mute' ? {muted: !!frame.muted} : {starred: !!frame.starred};
                if (peer) {
                    dispatch({type: 'flags', peer, changes: Object.assign({conv: frame.conv}, changes)});
                }
                break;
            }
            case 'deleted': {
                const peer = actionPeer(frame);
                if (peer) {
                    dispatch({type: 'deleted', peer, ids: Array.isArray(frame.ids) ? frame.ids : [], upto: frame.upto || 0});
                }
                break;
            }
            case 'can_send':
                // Someone blocked or unblocked me: my window onto them asks again (its history says).
                if (typeof frame.with === 'number' && state.windows.some((w) => w.peer === frame.with)) {
                    canSendAsked.add(frame.with);
                    requestHistory(frame.with, false, true);
                }
                break;
            case 'error':
                if (frame.ref === 'history' && frame.code === 'unknown_user') {
                    // Asked again after a block without a conversation between us: they are a stranger to
                    // me now (PROTOCOL §4.1), so the window cannot take messages.
                    canSendAsked.forEach((peer) => dispatch({type: 'cannotSend', peer, code: 'unknown_user'}));
                }
                if (frame.ref === 'history') {
                    canSendAsked.clear();
                    historyRequested.clear();
                    Object.keys(state.convs).forEach((k) => {
                        if (state.convs[k].loading) {
                            const key = parseKey(k);
                            const address = isGroupKey(key) ? {with: null, conv: groupConv(key)} : {with: {id: key}};
                            dispatch({type: 'history', frame: Object.assign(address, {messages: [], more: conv(state, key).more})});
                        }
                    });
                }
                break;
            default:
                break;
        }
        panel.onFrame(frame);
    };

    /**
     * Change an alert preference here, in the other tabs and for the user (a failed save puts it back).
     *
     * @param {string} name 'sound' or 'desktop'
     * @param {boolean} value
     */
    const changePref = (name, value) => {
        const before = state.alerts[name];
        if (before === value) {
            return;
        }
        dispatch({type: 'alertPrefs', [name]: value});
        post({kind: 'alertPrefs', [name]: value});
        if (!deps.savePref) {
            return;
        }
        Promise.resolve().then(() => deps.savePref(name, value)).catch((e) => {
            if (state.alerts[name] === value) {
                dispatch({type: 'alertPrefs', [name]: before});
                post({kind: 'alertPrefs', [name]: before});
            }
            if (deps.onError) {
                deps.onError(e);
            }
        });
    };

    const onAlertPref = (name, value) => {
        if (!ALERT_PREFS.includes(name)) {
            return;
        }
        if (name === 'desktop' && value && alerts) {
            // Asked for now, in the user's click: browsers ignore (or block) a request made later or on load.
            alerts.requestPermission().then((permission) => {
                dispatch({type: 'alertPrefs', permission});
                if (permission === 'granted') {
                    changePref('desktop', true);
                }
            });
            return;
        }
        if (name === 'sound' && value && alerts) {
            // The click lets the page's audio start (browsers keep it silent until a gesture).
            alerts.unlockSound();
        }
        changePref(name, value);
    };

    const onIntent = (intent) => {
        if (panel.onIntent(intent)) {
            return;
        }
        const peer = intent.peer;
        switch (intent.type) {
            case 'open':
            case 'restore':
                // Chosen from the list or the '+N' menu: the right-most place. A title click restores
                // the window where it is. On a phone the user's choice is the one conversation shown
                // full-screen (windows that open by themselves stay chat heads).
                if (renderer.setFront) {
                    renderer.setFront(peer);
                }
                setWindow(peer, 'open', intent.type === 'open');
                if (intent.focus) {
                    renderer.whenIdle().then(() => renderer.focusWindow(peer));
                }
                break;
            case 'minimise':
                if (renderer.leaveFront) {
                    renderer.leaveFront(peer);
                }
                setWindow(peer, 'minimised', false);
                if (intent.focus) {
                    renderer.whenIdle().then(() => renderer.focusWindow(peer));
                }
                break;
            case 'close':
                if (renderer.leaveFront) {
                    renderer.leaveFront(peer);
                }
                setWindow(peer, 'closed', false);
                if (renderer.focusPerson) {
                    renderer.whenIdle().then(() => renderer.focusPerson(peer));
                }
                break;
            case 'send':
                saveDraft(peer, '');
                sendText(peer, intent.text);
                break;
            case 'draft':
                saveDraft(peer, intent.text);
                break;
            case 'retry': {
                // Only passing refusals (internal, rate_limited) offer Retry: the transport still holds
                // the message and retries it by itself; this sends it now, with the same cid (stored once).
                const p = conv(state, peer).pending.find((x) => x.cid === intent.cid);
                if (p && p.failed && !p.final) {
                    dispatch({type: 'resend', peer, cid: p.cid});
                    transport.send(Protocol.send(peer, p.cid, p.text));
                }
                break;
            }
            case 'dismiss':
                // A final refusal: the message goes away, in every tab.
                forget(intent.cid);
                dispatch({type: 'discard', peer, cid: intent.cid});
                post({kind: 'discard', peer, cid: intent.cid});
                break;
            case 'typing': {
                const t = now();
                if (!typingSent[peer] || t - typingSent[peer] >= TYPING_THROTTLE_MS) {
                    if (transport.send(Protocol.typing(peer))) {
                        typingSent[peer] = t;
                    }
                }
                break;
            }
            case 'loadolder': {
                const c = conv(state, peer);
                if (c.loaded && c.more && !c.loading && c.messages.length
                        && transport.send(Protocol.history(peer, c.messages[0].id, HISTORY_PAGE))) {
                    historyRequested.add(peer);
                    dispatch({type: 'historyLoading', peer});
                }
                break;
            }
            case 'seen':
                markRead(peer);
                break;
            case 'reconnect':
                transport.reconnectNow();
                break;
            case 'alertPref':
                onAlertPref(intent.name, !!intent.value);
                break;
            case 'block':
                if (!isGroupKey(peer)) {
                    transport.send(Protocol.block(peer, intent.block));
                }
                break;
            case 'mute':
                transport.send(Protocol.mute(peer, intent.mute));
                break;
            case 'star':
                setStar(peer, !!intent.star);
                break;
            case 'deletemessage':
                transport.send(Protocol.deleteMessage(intent.id));
                break;
            case 'deleteconversation':
                transport.send(Protocol.deleteConversation(peer));
                break;
            default:
                break;
        }
    };

    transport.on('reset', () => {
        // The server's database started over: forget what this page knew of it (the welcome that
        // follows lists the windows and the histories are fetched again); sends not acked yet stay.
        historyRequested.clear();
        resetRequested.clear();
        Object.keys(readSent).forEach((k) => delete readSent[k]);
        dispatch({type: 'reset'});
        if (snapshots) {
            snapshots.drop();
        }
    });
    transport.on('frame', onFrame);
    transport.on('status', (status) => {
        if (status.fatal && snapshots) {
            // Logged out (4004), account gone (4003), no token any more: nothing of it is shown again.
            snapshots.drop(true);
        }
        dispatch({type: 'connection', status});
    });
    transport.on('sendfailed', (f) => {
        if (f.final) {
            forget(f.cid);
        }
        dispatch({type: 'sendfailed', peer: f.to, cid: f.cid, code: f.code, final: f.final});
        post({kind: 'sendfailed', peer: f.to, cid: f.cid, code: f.code, final: f.final});
    });
    if (channel) {
        channel.onMessage((data) => {
            if (!data || typeof data !== 'object') {
                return;
            }
            if (data.kind === 'pending') {
                dispatch({type: 'pending', peer: data.peer, cid: data.cid, text: data.text, time: data.time});
            } else if (data.kind === 'discard') {
                dispatch({type: 'discard', peer: data.peer, cid: data.cid});
            } else if (data.kind === 'sendfailed') {
                dispatch({type: 'sendfailed', peer: data.peer, cid: data.cid, code: data.code, final: data.final});
            } else if (data.kind === 'alertPrefs') {
                // Changed in another tab (it saves it for the user).
                dispatch({type: 'alertPrefs', sound: data.sound, desktop: data.desktop});
            } else if (data.kind === 'window') {
                dispatch({type: 'window', peer: data.peer, state: data.state, person: data.person || undefined,
                    raise: !!data.raise, at: typeof data.at === 'number' ? data.at : undefined});
                if (data.state !== 'closed') {
                    ensureHistory(data.peer);
                }
            }
        });
    }

    return {
        onIntent,
        start() {
            const prefs = deps.prefs || {};
            dispatch({type: 'alertPrefs', sound: prefs.sound === true, desktop: prefs.desktop === true,
                permission: alerts ? alerts.permission() : undefined});
            const snap = snapshots ? snapshots.load() : null;
            if (snap) {
                restoredCursor = snap.cursor;
                dispatch({type: 'restore', snapshot: snap});
            }
            loadOutbox().forEach((e) => {
                dispatch({type: 'pending', peer: e.peer, cid: e.cid, text: e.text, time: e.time});
                transport.sendMessage(e.peer, e.text, e.cid);
            });
            renderer.render(state, now());
            transport.start();
        },
        stop() {
            transport.stop();
            if (ticker !== null) {
                timers.clearInterval(ticker);
                ticker = null;
            }
            if (channel) {
                channel.close();
            }
        },
        /**
         * A welcome as the server would send it now, from this tab's state: what the tab with the socket
         * answers a tab that joins it (./tablink.js). Null before the first welcome.
         *
         * @returns {object|null}
         */
        welcomeFrame() {
            if (!state.welcomed) {
                return null;
            }
            const windows = state.windows.filter((w) => !isGroupKey(w.peer) && state.people[w.peer]).map((w) => {
                const c = conv(state, w.peer);
                return {with: state.people[w.peer], state: w.state, unread: c.unread, read: {mine: c.readMine, theirs: c.readTheirs},
                    last: c.last, can_send: c.canSend};
            });
            return {type: 'welcome', v: Protocol.VERSION, user: state.user, online: state.online, windows,
                cursor: transport.cursor, token_exp: 0, server_time: Math.floor(now() / 1000), limits: state.limits};
        },
        /** Read this browser's notification permission again (it may change in the browser's settings). */
        refreshPermission() {
            if (alerts) {
                dispatch({type: 'alertPrefs', permission: alerts.permission()});
            }
        },
        /** Save the snapshot now (the page is going away). */
        saveSnapshot() {
            if (snapshots) {
                snapshots.flush();
            }
        },
        /**
         * The unsent text of a conversation (the renderer puts it back into a new window's composer).
         *
         * @param {number|string} peer a window key
         * @returns {string}
         */
        draft(peer) {
            const text = loadDrafts()[peer];
            return typeof text === 'string' ? text : '';
        },
        /** @returns {object} the current state (for tests and debugging) */
        get state() {
            return state;
        },
    };
};

/**
 * Build and start the whole client.
 *
 * @param {object} config
 * @param {function(): Promise<{token: string, exp: number, wsurl: string}>} config.getToken
 * @param {function(string, object): Promise<string>} config.renderTemplate
 * @param {function(string, *=): string} config.str
 * @param {number} config.userid
 * @param {string} [config.wsurl]
 * @param {string} [config.lang]
 * @param {Element|null} [config.blockRoot]
 * @param {string} [config.launcher] where the list opens from without the block: 'navbar', 'floating' or 'off'
 * @param {Element|null} [config.navLauncher] the navbar's launcher button, with launcher 'navbar'
 * @param {function(Error)} [config.onError]
 * @param {object} [config.prefs] the user's alert preferences: {sound, desktop} (booleans)
 * @param {function(string, boolean): Promise} [config.savePref] stores an alert preference for the user
 * @returns {object} the controller
 */
export const startDock = (config) => {
    const view = typeof window !== 'undefined' ? window : null;
    // One socket for all the tabs of the user where the browser allows it, else one per tab.
    const socketOptions = {getToken: config.getToken, wsurl: config.wsurl};
    const transport = canShareSocket(view)
        ? createSharedTransport({view, userid: config.userid, transport: socketOptions})
        : createTransport(socketOptions);
    let controller = null;
    const renderer = createRenderer({
        renderTemplate: config.renderTemplate,
        str: config.str,
        lang: config.lang,
        blockRoot: config.blockRoot || null,
        launcher: config.launcher,
        navLauncher: config.navLauncher || null,
        onError: config.onError,
        onIntent: (intent) => controller && controller.onIntent(intent),
        loadDraft: (peer) => (controller ? controller.draft(peer) : ''),
    });
    const channel = view ? createTabChannel('block_dockchat_sync_' + config.userid, view) : null;
    let storage = null;
    try {
        storage = view ? view.localStorage : null;
    } catch (e) {
        storage = null;
    }
    let session = null;
    try {
        session = view ? view.sessionStorage : null;
    } catch (e) {
        session = null;
    }
    const site = view && view.location ? view.location.origin : '';
    const alerts = view ? createAlerts({view, str: config.str, userid: config.userid, storage,
        onOpen: (peer) => controller && controller.onIntent({type: 'open', peer, focus: true})}) : null;
    controller = createController({transport, renderer, userid: config.userid, channel, storage, session, site,
        alerts, prefs: config.prefs, savePref: config.savePref, setStar: config.setStar, onError: config.onError});
    controller.renderer = renderer;
    controller.transport = transport;
    if (transport.setWelcomeSource) {
        transport.setWelcomeSource(() => controller.welcomeFrame());
    }
    if (view && view.document && transport.setActivity) {
        // Presence: this tab's activity, known before the first hello (PROTOCOL §5.2).
        const monitor = createActivityMonitor({view, onChange: (state) => transport.setActivity(state)});
        transport.setActivity(monitor.state);
        controller.activity = monitor;
        // A tab that goes no longer keeps its browser active.
        view.addEventListener('pagehide', () => transport.setActivity(Protocol.ACTIVITY.HIDDEN));
    }
    if (view) {
        // The next page of this tab draws the dock from what this one showed last.
        view.addEventListener('pagehide', () => controller.saveSnapshot());
        view.document.addEventListener('visibilitychange', () => {
            if (view.document.visibilityState === 'hidden') {
                controller.saveSnapshot();
            } else {
                controller.refreshPermission();
            }
        });
    }
    controller.start();
    return controller;
};

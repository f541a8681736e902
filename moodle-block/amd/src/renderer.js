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
 * The only module that writes to the DOM.
 *
 * Elements are created from Mustache templates through the injected `renderTemplate(name, context)`
 * (core/templates in Moodle, the `mustache` package on the demo page), then patched in place: each render compares
 * the new state with what is on the page and changes only that (classes, counts, inserted messages), so
 * focus, scroll position and text being typed survive. Message text is always set as text nodes (links
 * built by ./linkify.js with textContent); user data never goes through innerHTML.
 *
 * User actions are reported to the controller as intents through `onIntent`; the renderer never changes
 * state itself. Windows are named by their key (./state.js): a user id, or 'c' + a group's conversation
 * id (`data-peerid`, `data-window`).
 *
 * @module     block_dockchat/renderer
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

import {cannotSendKey, conversationView, conv, groupInfo, groupOnlineCount, isGroupKey, parseKey, presenceOf, typingText}
    from './state.js';
import {renderInto} from './linkify.js';
import {countStr, presenceText} from './strings.js';
import {createPanelView} from './panelview.js';
import {unreadTotal} from './panel.js';

/**
 * The templates of the dock's first render (the lists, a window, its messages and its chat head, which every
 * render lays out): they come with the page (./pagetemplates.js), or an entry point may fetch them all at once
 * before the dock starts, instead of one after the other as the render meets them.
 */
export const FIRST_RENDER_TEMPLATES = Object.freeze(['dock', 'window', 'message', 'day', 'online_user', 'conversation', 'head']);

const WINDOW_WIDTH = 300;
const WINDOW_GAP = 10;
const CHIP_WIDTH = 64;
/** The round launcher at the bottom right (phones, and larger screens with the floating launcher). */
const LAUNCHER_SIZE = 56;
/** Where the list opens from on larger screens without the block (the block's setting launcher). */
const LAUNCHER_MODES = Object.freeze(['navbar', 'floating', 'off']);
/** Distance of the dock from the screen's edges. */
const EDGE = 16;
const MOBILE_MAX = 576;
/** Phones: one conversation at a time full-screen, the others as chat heads, the list behind a launcher. */
const PHONE_QUERY = '(max-width: ' + MOBILE_MAX + 'px)';
/** Chat heads shown at most (the last place goes to a '+N' head when there are more). */
const HEADS_SHOWN = 4;
/** A press on a chat head this long offers to close it (touch screens without a context menu). */
const LONG_PRESS_MS = 550;
const GROUP_GAP_SECONDS = 300;
const NEAR_EDGE_PX = 48;

/**
 * Local calendar day of a Unix time, as a sortable key.
 *
 * @param {number} seconds
 * @returns {string}
 */
const dayKey = (seconds) => {
    const d = new Date(seconds * 1000);
    return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');
};

/**
 * Create a renderer.
 *
 * @param {object} options
 * @param {function(string, object): Promise<string>} options.renderTemplate template name (without
 *   component) and context to HTML
 * @param {function(string, *=): string} options.str lang string getter
 * @param {function(object)} options.onIntent receives {type, peer, ...} user intents (peer: a window key)
 * @param {Element|null} [options.blockRoot] the block's `[data-region="block_dockchat-online"]`
 * @param {string} [options.launcher] where the list opens from on larger screens: 'navbar' (the page's
 *   `[data-region="block_dockchat-navlauncher"]` button; the round button when the page has none), 'floating'
 *   (the round button at the bottom right) or 'off' (the block's list only; the default)
 * @param {Element|null} [options.navLauncher] the navbar's launcher button (block_dockchat/navlauncher)
 * @param {Document} [options.doc]
 * @param {string} [options.lang] BCP 47 language for times and dates
 * @param {function(Error)} [options.onError]
 * @param {function((number|string)): string} [options.loadDraft] the unsent text of a conversation, put back into
 *   its composer when its window is created
 * @returns {object}
 */
export const createRenderer = (options) => {
    const doc = options.doc || document;
    const view = doc.defaultView || globalThis;
    const {renderTemplate, str, onIntent} = options;
    const onError = options.onError || ((e) => view.console && view.console.error(e));
    const lang = (options.lang || 'en').replace('_', '-');
    let blockRoot = options.blockRoot || null;
    const launcherMode = LAUNCHER_MODES.includes(options.launcher) ? options.launcher : 'off';
    const navLauncher = launcherMode === 'navbar' ? options.navLauncher || null : null;
    /** Larger screens: the round launcher shows (chosen, or the navbar's stand-in on a theme without one). */
    const floatingLauncher = () => launcherMode === 'floating' || (launcherMode === 'navbar' && !navLauncher);

    let timeFormat;
    let dateFormat;
    try {
        timeFormat = new Intl.DateTimeFormat(lang, {hour: 'numeric', minute: '2-digit'});
        dateFormat = new Intl.DateTimeFormat(lang, {weekday: 'short', day: 'numeric', month: 'short', year: 'numeric'});
    } catch (e) {
        timeFormat = new Intl.DateTimeFormat('en', {hour: 'numeric', minute: '2-digit'});
        dateFormat = new Intl.DateTimeFormat('en', {weekday: 'short', day: 'numeric', month: 'short', year: 'numeric'});
    }

    let dock = null;
    let lastState = null;
    let lastNow = 0;
    /** Whether a connection attempt has failed since the last time the chat was connected. */
    let failedOnce = false;
    let latest = null;
    let running = false;
    let idle = Promise.resolve();
    let idleResolve = null;
    /** @type {Map<number, {el: Element, items: Map<string, Element>, conv: object, me: number, rendered: boolean}>} */
    const windows = new Map();
    /** @type {Map<number, Element>} */
    const onlineEls = new Map();
    let overflowOpen = false;
    // Phones (PHONE_QUERY): the conversation shown full-screen (a window key, only ever one the user chose
    // in this tab: nothing takes the screen by itself), whether the list's sheet is open, and whether the
    // expanded list of every chat head is. The chosen one is let go only by the user's own minimise, close
    // or back here: the server echoes every window frame to this tab too, so an older frame arriving after
    // a newer choice must not undo it.
    let front = null;
    let sheetOpen = false;
    let headsOpen = false;
    /** @type {Map<(number|string), {el: Element, sig: string}>} the chat heads, by window key */
    const heads = new Map();
    /** Where the block's list goes back to when the sheet closes. */
    let listPlace = null;
    /** The list the dock made for the sheet on a page without the block. */
    let ownList = null;
    /** A launcher outside the dock was pressed before the dock's first render. */
    let openPending = false;
    let headsMenuSig = '';
    /** A history entry stands for the full-screen view (the phone's back button closes it). */
    let historyHeld = false;
    /** The next popstate is this client's own history.back() (a view closed from its own buttons). */
    let ownPop = false;
    /** The page's parts made inert under a full-screen view (the keyboard stays in the view). */
    let inerted = [];
    /** A long press just opened the heads' list: the click that ends it opens nothing. */
    let swallowClick = false;
    /** The window whose actions menu is open (a window key), or null. */
    let menuPeer = null;
    /** The action a window asks to confirm: {peer, kind: 'block'|'delete'}, or null. */
    let confirming = null;
    const phoneMedia = typeof view.matchMedia === 'function' ? view.matchMedia(PHONE_QUERY) : null;
    const isPhone = () => (phoneMedia ? phoneMedia.matches
        : (view.innerWidth || doc.documentElement.clientWidth || 1024) <= MOBILE_MAX);
    /** @type {Map<number, number>} the newest message announced per peer */
    const announced = new Map();
    // The block's search, tabs and Chats list (./panelview.js).
    const panelView = createPanelView({doc, renderTemplate, str, onIntent, lang});

    const toElement = (html) => {
        const tpl = doc.createElement('template');
        tpl.innerHTML = String(html).trim();
        return tpl.content.firstElementChild;
    };
    const region = (root, name) => (root ? root.querySelector('[data-region="' + name + '"]') : null);
    const setHidden = (el, hidden) => {
        if (el && el.hidden !== hidden) {
            el.hidden = hidden;
        }
    };
    const setText = (el, text) => {
        if (el && el.textContent !== text) {
            el.textContent = text;
        }
    };
    const setAttr = (el, name, value) => {
        if (el && el.getAttribute(name) !== value) {
            el.setAttribute(name, value);
        }
    };
    const toggleClass = (el, name, on) => {
        if (el && el.classList.contains(name) !== !!on) {
            el.classList.toggle(name, !!on);
        }
    };

    const timeLabel = (seconds) => timeFormat.format(new Date(seconds * 1000));
    const dayLabel = (seconds, nowMs) => {
        const key = dayKey(seconds);
        const today = dayKey(Math.floor(nowMs / 1000));
        const yesterday = dayKey(Math.floor(nowMs / 1000) - 86400);
        if (key === today) {
            return str('today');
        }
        if (key === yesterday) {
            return str('yesterday');
        }
        return dateFormat.format(new Date(seconds * 1000));
    };

    // ---- Events: delegated listeners report intents. -------------------------------------------

    const peerOfEvent = (target) => {
        const win = target.closest('[data-region="window"]');
        return win ? parseKey(win.getAttribute('data-peerid')) : 0;
    };

    const onClick = (event) => {
        const actionEl = event.target.closest('[data-action]');
        if (!actionEl && menuPeer !== null && !event.target.closest('[data-region="menu"]')) {
            closeMenu(false);
        }
        if (!actionEl) {
            if (overflowOpen && !event.target.closest('[data-region="overflow"]')) {
                overflowOpen = false;
                layout();
            }
            return;
        }
        const action = actionEl.getAttribute('data-action');
        const peer = parseKey(actionEl.getAttribute('data-window')) || Number(actionEl.getAttribute('data-userid'))
            || peerOfEvent(actionEl);
        if (swallowClick) {
            swallowClick = false;
            if (action === 'raise') {
                event.preventDefault();
                return;
            }
        }
        if (menuPeer !== null && action !== 'toggle-menu' && !action.startsWith('menu-')) {
            closeMenu(false);
        }
        switch (action) {
            case 'toggle-menu':
                event.preventDefault();
                if (menuPeer === peer) {
                    closeMenu(true);
                } else {
                    openMenu(peer);
                }
                break;
            case 'menu-block':
            case 'menu-mute':
            case 'menu-star':
            case 'menu-delete':
                event.preventDefault();
                closeMenu(false);
                menuAction(peer, action.slice('menu-'.length));
                break;
            case 'confirm-yes':
                event.preventDefault();
                if (confirming && confirming.peer === peer) {
                    const kind = confirming.kind;
                    confirming = null;
                    onIntent(kind === 'block' ? {type: 'block', peer, block: true} : {type: 'deleteconversation', peer});
                    patchConfirm(peer);
                    focusMenuButton(peer);
                }
                break;
            case 'confirm-no':
                event.preventDefault();
                confirming = null;
                patchConfirm(peer);
                focusMenuButton(peer);
                break;
            case 'delete-message': {
                event.preventDefault();
                const id = Number(actionEl.getAttribute('data-messageid'));
                if (id > 0) {
                    onIntent({type: 'deletemessage', peer, id});
                }
                break;
            }
            case 'open-chat':
                event.preventDefault();
                onIntent({type: 'open', peer, focus: true});
                break;
            case 'toggle':
                event.preventDefault();
                if (actionEl.getAttribute('aria-expanded') === 'true' && event.target.closest('[data-region="unread"]')) {
                    // The unread badge of an open window leads to the unread messages; it does not minimise.
                    scrollToLatest(peer);
                    break;
                }
                onIntent({type: actionEl.getAttribute('aria-expanded') === 'true' ? 'minimise' : 'restore', peer, focus: true});
                break;
            case 'scroll-latest':
                event.preventDefault();
                scrollToLatest(peer);
                break;
            case 'minimise':
                event.preventDefault();
                // On a phone the conversation leaves the screen: the focus goes to its chat head.
                onIntent({type: 'minimise', peer, focus: isPhone()});
                break;
            case 'back':
                // Phone: from the full-screen conversation back to the list; the conversation stays, as a
                // chat head (the server's window state is not changed by looking at the list).
                event.preventDefault();
                front = null;
                openSheet();
                break;
            case 'toggle-sheet':
                event.preventDefault();
                if (sheetOpen) {
                    closeSheet(true);
                } else {
                    openSheet();
                }
                break;
            case 'close-sheet':
                event.preventDefault();
                closeSheet(true);
                break;
            case 'toggle-heads':
                event.preventDefault();
                toggleHeadsMenu(!headsOpen);
                break;
            case 'close-head':
                event.preventDefault();
                onIntent({type: 'close', peer});
                break;
            case 'close':
                event.preventDefault();
                onIntent({type: 'close', peer});
                break;
            case 'send':
                event.preventDefault();
                submit(peer);
                break;
            case 'retry':
                event.preventDefault();
                onIntent({type: 'retry', peer, cid: (actionEl.closest('[data-cid]') || actionEl).getAttribute('data-cid')});
                break;
            case 'dismiss':
                event.preventDefault();
                onIntent({type: 'dismiss', peer, cid: (actionEl.closest('[data-cid]') || actionEl).getAttribute('data-cid')});
                break;
            case 'reconnect':
                event.preventDefault();
                onIntent({type: 'reconnect'});
                break;
            case 'toggle-overflow':
                event.preventDefault();
                overflowOpen = !overflowOpen;
                layout();
                break;
            case 'raise':
                event.preventDefault();
                overflowOpen = false;
                headsOpen = false;
                onIntent({type: 'open', peer, focus: true});
                break;
            default:
                break;
        }
    };

    /**
     * Show (or hide) a window's "new messages" pill with its count.
     *
     * @param {object} w the window
     */
    const patchPill = (w) => {
        const pill = region(w.el, 'newpill');
        setHidden(pill, !w.arrived);
        if (w.arrived) {
            setText(region(pill, 'newpill-text'), countStr(str, 'newmessages', w.arrived));
        }
    };

    /**
     * Scroll a window's log to its newest message (the pill, the title's badge).
     *
     * @param {number|string} peer a window key
     */
    const scrollToLatest = (peer) => {
        const w = windows.get(peer);
        const list = w && region(w.el, 'messages');
        if (!list) {
            return;
        }
        list.scrollTop = list.scrollHeight;
        w.arrived = 0;
        patchPill(w);
        onIntent({type: 'seen', peer});
    };

    /**
     * The composer's length against the server's limit (welcome.limits.text_max_chars): nothing far
     * from it, the characters left near it, how many too many over it. Nothing is ever cut: a
     * `maxlength` would silently drop the end of a pasted text.
     *
     * @param {object} w the window
     * @param {boolean} [refused] a send was just refused for the length: say why
     * @returns {boolean} whether the text fits
     */
    const patchLimit = (w, refused) => {
        const input = region(w.el, 'input');
        const box = region(w.el, 'limit');
        if (!input || !box) {
            return true;
        }
        const max = (lastState && lastState.limits.text_max_chars) || 4000;
        // Counted as the server counts: Unicode characters, trailing white space trimmed.
        const length = Array.from(input.value.replace(/\s+$/u, '')).length;
        const left = max - length;
        const near = left <= Math.max(20, Math.round(max / 10));
        const error = region(box, 'limit-error');
        setHidden(box, !near);
        toggleClass(box, 'is-over', left < 0);
        setAttr(input, 'aria-invalid', left < 0 ? 'true' : 'false');
        if (near) {
            setText(region(box, 'counter'), left < 0 ? countStr(str, 'charsover', -left) : countStr(str, 'charsleft', left));
        }
        if (left >= 0 || refused) {
            setHidden(error, left >= 0);
        }
        return left >= 0;
    };

    /**
     * Whether the conversation can take messages now (PROTOCOL CanSend, from the newest history or
     * welcome, or a send refused for good): if not, the reason where the composer is, the text box read
     * only (what is typed stays, focus too) and the send button disabled; back when the server says ok.
     *
     * @param {object} w the window
     * @param {string} key the reason's lang string (./state.js cannotSendKey), '' while it can
     */
    const patchCanSend = (w, key) => {
        const blocked = !!key;
        const reason = blocked ? str(key) : '';
        if (w.cannotSend === blocked && w.cannotSendReason === reason) {
            return;
        }
        w.cannotSend = blocked;
        w.cannotSendReason = reason;
        setText(region(w.el, 'cansend'), reason);
        toggleClass(region(w.el, 'composer'), 'is-disabled', blocked);
        const input = region(w.el, 'input');
        if (input) {
            input.readOnly = blocked;
            if (blocked) {
                setAttr(input, 'aria-disabled', 'true');
            } else {
                input.removeAttribute('aria-disabled');
            }
        }
        const send = w.el.querySelector('[data-action="send"]');
        if (send) {
            send.disabled = blocked;
        }
    };

    const submit = (peer) => {
        const w = windows.get(peer);
        const input = w && region(w.el, 'input');
        if (!input) {
            return;
        }
        if (w.cannotSend) {
            // The conversation cannot take messages now (the notice says why): the text stays.
            return;
        }
        const text = input.value.replace(/\s+$/u, '');
        if (!text.trim()) {
            return;
        }
        if (!patchLimit(w, true)) {
            // Too long: kept as it is, for the user to shorten or split.
            input.focus();
            return;
        }
        input.value = '';
        autoGrow(input);
        patchLimit(w);
        onIntent({type: 'send', peer, text});
        input.focus();
    };

    // ---- The conversation actions menu (PROTOCOL §4.1). -------------------------------------

    const menuItems = (peer) => {
        const w = windows.get(peer);
        const menu = w && region(w.el, 'menu');
        return menu ? Array.from(menu.querySelectorAll('[role="menuitem"]')).filter((b) => !b.closest('[hidden]')) : [];
    };

    const focusMenuButton = (peer) => {
        const w = windows.get(peer);
        const button = w && w.el.querySelector('[data-action="toggle-menu"]');
        if (button) {
            button.focus();
        }
    };

    const patchMenu = (peer) => {
        const w = windows.get(peer);
        if (!w) {
            return;
        }
        const open = menuPeer === peer;
        setHidden(region(w.el, 'menu'), !open);
        setAttr(w.el.querySelector('[data-action="toggle-menu"]'), 'aria-expanded', open ? 'true' : 'false');
    };

    const openMenu = (peer) => {
        const before = menuPeer;
        menuPeer = peer;
        if (before !== null && before !== peer) {
            patchMenu(before);
        }
        patchMenu(peer);
        const items = menuItems(peer);
        if (items.length) {
            items[0].focus();
        }
    };

    const closeMenu = (refocus) => {
        const peer = menuPeer;
        menuPeer = null;
        if (peer !== null) {
            patchMenu(peer);
            if (refocus) {
                focusMenuButton(peer);
            }
        }
    };

    /** Arrow keys, Home/End, Escape and Tab inside an open menu; returns whether the key was taken. */
    const menuKey = (event) => {
        const items = menuItems(menuPeer);
        const at = items.indexOf(event.target);
        const move = (i) => {
            event.preventDefault();
            items[(i + items.length) % items.length].focus();
            return true;
        };
        switch (event.key) {
            case 'ArrowDown':
                return move(at + 1);
            case 'ArrowUp':
                return move(at - 1);
            case 'Home':
                return move(0);
            case 'End':
                return move(items.length - 1);
            case 'Escape':
                event.preventDefault();
                closeMenu(true);
                return true;
            case 'Tab':
                closeMenu(false);
                return false;
            default:
                return false;
        }
    };

    const menuAction = (peer, what) => {
        const f = conv(lastState || {convs: {}}, peer).flags;
        switch (what) {
            case 'block':
                if (f.blocked) {
                    onIntent({type: 'block', peer, block: false});
                    focusMenuButton(peer);
                } else {
                    confirming = {peer, kind: 'block'};
                    patchConfirm(peer);
                }
                break;
            case 'mute':
                onIntent({type: 'mute', peer, mute: !f.muted});
                focusMenuButton(peer);
                break;
            case 'star':
                onIntent({type: 'star', peer, star: !f.starred});
                focusMenuButton(peer);
                break;
            case 'delete':
                confirming = {peer, kind: 'delete'};
                patchConfirm(peer);
                break;
            default:
                break;
        }
    };

    /** Shows (and focuses) or hides the window's question before a block or a deletion. */
    const patchConfirm = (peer) => {
        const w = windows.get(peer);
        const box = w && region(w.el, 'confirm');
        if (!box) {
            return;
        }
        const asking = confirming && confirming.peer === peer ? confirming.kind : '';
        const wasHidden = box.hidden;
        setHidden(box, !asking);
        if (!asking) {
            return;
        }
        const name = lastState ? (windowSubject(lastState, peer) || {}).fullname || '' : '';
        setText(region(box, 'confirm-text'), asking === 'block' ? str('blockuserconfirm', name) : str('deleteallconfirm'));
        const yes = region(box, 'confirm-yes');
        setText(yes, asking === 'block' ? str('blockuserconfirmbutton') : str('delete'));
        if (wasHidden && yes) {
            yes.focus();
        }
    };

    /** The menu's labels follow the conversation's state (block/unblock, mute/unmute, star/unstar). */
    const patchMenuLabels = (w, c) => {
        const f = c.flags;
        setText(w.el.querySelector('[data-action="menu-block"]'), str(f.blocked ? 'unblockuser' : 'blockuser'));
        setText(w.el.querySelector('[data-action="menu-mute"]'), str(f.muted ? 'unmuteconversation' : 'muteconversation'));
        setText(w.el.querySelector('[data-action="menu-star"]'), str(f.starred ? 'removefromfavourites' : 'addtofavourites'));
        // Mute, star and delete need Moodle's conversation: none before the first message.
        ['menu-mute', 'menu-star', 'menu-delete'].forEach((a) => {
            const li = w.el.querySelector('[data-action="' + a + '"]');
            setHidden(li && li.parentNode, !f.conv);
        });
        toggleClass(w.el, 'is-muted', f.muted);
        toggleClass(w.el, 'is-starred', f.starred);
    };

    const autoGrow = (input) => {
        input.style.height = 'auto';
        input.style.height = Math.min(input.scrollHeight, 120) + 'px';
    };

    const onKeydown = (event) => {
        const target = event.target;
        if (menuPeer !== null && target.closest && target.closest('[data-region="menu"]')) {
            if (menuKey(event)) {
                return;
            }
        }
        if (event.key === 'Escape' && confirming && peerOfEvent(target) === confirming.peer) {
            event.preventDefault();
            const peer = confirming.peer;
            confirming = null;
            patchConfirm(peer);
            focusMenuButton(peer);
            return;
        }
        if (event.key === 'Escape') {
            const peer = peerOfEvent(target);
            if (event.defaultPrevented) {
                // Taken already (the search box clears what is typed first).
                return;
            }
            if (peer) {
                event.preventDefault();
                onIntent({type: 'minimise', peer, focus: true});
            } else if (sheetOpen && target.closest && target.closest('[data-region="sheet"]')) {
                event.preventDefault();
                closeSheet(true);
            } else if (headsOpen) {
                event.preventDefault();
                toggleHeadsMenu(false);
            } else if (overflowOpen) {
                overflowOpen = false;
                layout();
            }
            return;
        }
        if ((event.key === 'Delete' || event.key === 'Backspace') && target.matches
                && target.matches('.block_dockchat-head[data-action="raise"]')) {
            // A chat head closes from the keyboard as a long press offers it on a touch screen.
            event.preventDefault();
            onIntent({type: 'close', peer: parseKey(target.getAttribute('data-window'))});
            return;
        }
        if (target.matches && target.matches('[data-region="input"]') && event.key === 'Enter'
                && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            submit(peerOfEvent(target));
        }
    };

    const onInput = (event) => {
        const target = event.target;
        if (target.matches && target.matches('[data-region="input"]')) {
            const peer = peerOfEvent(target);
            autoGrow(target);
            if (windows.has(peer)) {
                patchLimit(windows.get(peer));
            }
            onIntent({type: 'draft', peer, text: target.value});
            if (target.value.trim()) {
                onIntent({type: 'typing', peer});
            }
        }
    };

    const onSubmit = (event) => {
        if (event.target.matches('[data-region="composer"]')) {
            event.preventDefault();
            submit(peerOfEvent(event.target));
        }
    };

    const onFocusIn = (event) => {
        const peer = peerOfEvent(event.target);
        if (peer) {
            onIntent({type: 'seen', peer});
        }
    };

    const onScroll = (event) => {
        const list = event.target;
        if (!list.matches || !list.matches('[data-region="messages"]')) {
            return;
        }
        const peer = peerOfEvent(list);
        if (list.scrollTop < NEAR_EDGE_PX) {
            onIntent({type: 'loadolder', peer});
        }
        if (list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_EDGE_PX) {
            const w = windows.get(peer);
            if (w && w.arrived) {
                w.arrived = 0;
                patchPill(w);
            }
            onIntent({type: 'seen', peer});
        }
    };

    /**
     * A listener that handles each event once: the block's list is bound too, and on a phone it moves into
     * the dock's sheet, where its events reach both.
     *
     * @param {function(Event)} fn
     * @returns {function(Event)}
     */
    const once = (fn) => {
        const seen = new WeakSet();
        return (event) => {
            if (!seen.has(event)) {
                seen.add(event);
                fn(event);
            }
        };
    };
    const listeners = {click: once(onClick), keydown: once(onKeydown), input: once(onInput), submit: once(onSubmit),
        focusin: once(onFocusIn), scroll: once(onScroll)};

    const bind = (root) => {
        root.addEventListener('click', listeners.click);
        root.addEventListener('keydown', listeners.keydown);
        root.addEventListener('input', listeners.input);
        root.addEventListener('submit', listeners.submit);
        root.addEventListener('focusin', listeners.focusin);
        root.addEventListener('scroll', listeners.scroll, true);
    };

    // ---- Block: online course-mates. ------------------------------------------------------------

    const renderBlock = async(state) => {
        if (!blockRoot) {
            return;
        }
        const list = region(blockRoot, 'list');
        const wanted = state.online;
        const missing = wanted.filter((p) => !onlineEls.has(p.id));
        const created = await Promise.all(missing.map((p) => renderTemplate('online_user', {
            id: p.id, fullname: p.fullname, avatar: p.avatar,
        })));
        missing.forEach((p, i) => onlineEls.set(p.id, toElement(created[i])));
        const ids = new Set(wanted.map((p) => p.id));
        onlineEls.forEach((el, id) => {
            if (!ids.has(id)) {
                el.remove();
                onlineEls.delete(id);
            }
        });
        if (list) {
            let cursor = list.firstElementChild;
            wanted.forEach((p) => {
                const el = onlineEls.get(p.id);
                if (el === cursor) {
                    cursor = cursor.nextElementSibling;
                } else {
                    list.insertBefore(el, cursor);
                }
                const c = conv(state, p.id);
                const badge = region(el, 'unread');
                setHidden(badge, !c.unread);
                setText(badge, c.unread ? String(c.unread) : '');
                if (badge) {
                    setAttr(badge, 'aria-label', countStr(str, 'unreadcount', c.unread));
                }
                // Away is a colour and words: the dot's tooltip, and the button's name.
                const away = p.status === 'away';
                toggleClass(el, 'is-away', away);
                setAttr(el.querySelector('.block_dockchat-presence'), 'title', str(away ? 'away' : 'online'));
                // The button's name is its aria-label, not its content: the count goes into it.
                const button = el.querySelector('[data-action="open-chat"]');
                const name = str('openchatwith', p.fullname) + (away ? ', ' + str('away') : '');
                setAttr(button, 'aria-label', c.unread ? name + ', ' + countStr(str, 'unreadcount', c.unread) : name);
            });
        }
        const down = isDown(state);
        // Offline, the list is what was known when the connection went: dimmed, with a grey dot and no
        // count, since nobody's presence is known.
        toggleClass(blockRoot, 'is-stale', down);
        const count = region(blockRoot, 'count');
        // Drawn from the previous page's snapshot, the list keeps its count: nothing moves at the welcome.
        const known = state.welcomed || state.restored;
        setText(count, known && !down ? str('onlinecount', wanted.length) : '');
        setHidden(region(blockRoot, 'empty'), !known || down || wanted.length > 0);
        const status = region(blockRoot, 'status');
        const connected = state.welcomed && state.connection.state === 'connected';
        const text = down ? offlineText(state) : connectionText(state, lastNow);
        setText(status, connected ? '' : text);
        setHidden(status, !text || connected);
        await panelView.render(blockRoot, state, lastNow);
    };

    /**
     * Whether the chat is down: not connected after having been, or after the first attempt failed.
     *
     * @param {object} state
     * @returns {boolean}
     */
    const isDown = (state) => {
        const c = state.connection;
        if (c.state === 'connected') {
            failedOnce = false;
            return false;
        }
        if (c.state === 'waiting' || c.state === 'offline' || c.state === 'stopped') {
            failedOnce = true;
        }
        return c.state !== 'idle' && (state.welcomed || failedOnce);
    };

    /**
     * The block's status line while the chat is down.
     *
     * @param {object} state
     * @returns {string}
     */
    const offlineText = (state) => {
        const c = state.connection;
        if (c.state === 'stopped') {
            return c.code === 4004 ? str('sessionended') : str('disconnected');
        }
        return str('offlinereconnecting');
    };

    // ---- Connection banner. ---------------------------------------------------------------------

    /**
     * Whether what is shown comes from the previous page's snapshot and waits for the welcome.
     *
     * @param {object} state
     * @returns {boolean}
     */
    const restoring = (state) => !!state.restored && !state.welcomed;

    const connectionText = (state, nowMs) => {
        const c = state.connection;
        switch (c.state) {
            case 'connected':
                return str('connected');
            case 'waiting':
                if (!state.welcomed && !c.code) {
                    return str('connecting');
                }
                return str('connectionlost', Math.max(0, Math.ceil(((c.retryAt || nowMs) - nowMs) / 1000)));
            case 'offline':
                return str('disconnected');
            case 'stopped':
                return c.code === 4004 ? str('sessionended') : str('disconnected');
            default:
                return str('connecting');
        }
    };

    const renderBanner = (state, nowMs) => {
        const banner = region(dock, 'banner');
        const c = state.connection;
        // Windows drawn from the snapshot say "Connecting…" in their title bars: the banner comes only if
        // connecting fails (a banner for the few ms until the welcome would flash at every page load).
        const show = c.state !== 'connected' && c.state !== 'idle' && (state.welcomed || state.windows.length > 0)
            && !(restoring(state) && c.state === 'connecting');
        setHidden(banner, !show);
        toggleClass(banner, 'is-error', c.state === 'stopped' || c.state === 'offline');
        if (show) {
            setText(region(banner, 'banner-text'), connectionText(state, nowMs));
        }
        const retry = banner && banner.querySelector('[data-action="reconnect"]');
        setHidden(retry, !(c.state === 'waiting' || (c.state === 'stopped' && c.code !== 4004 && c.code !== 4003)));
    };

    // ---- Windows. -------------------------------------------------------------------------------

    /**
     * Who or what a window is onto: the peer, or the group (its name and, when known, its picture).
     *
     * @param {object} state
     * @param {number|string} peer a window key
     * @returns {{fullname: string, avatar: string, group: boolean, members: number}}
     */
    const windowSubject = (state, peer) => {
        if (isGroupKey(peer)) {
            const g = groupInfo(state, peer);
            return {fullname: g.name, avatar: g.image, group: true, members: g.members};
        }
        const person = state.people[peer] || {fullname: '', avatar: ''};
        return {fullname: person.fullname || '', avatar: person.avatar || '', group: false, members: 0};
    };

    const initialOf = (name) => {
        const first = Array.from(String(name || '').trim())[0];
        return first ? first.toLocaleUpperCase() : '#';
    };

    const createWindow = async(state, peer) => {
        const subject = windowSubject(state, peer);
        const html = await renderTemplate('window', {
            id: peer,
            fullname: subject.fullname,
            avatar: subject.avatar,
            group: subject.group,
            initial: initialOf(subject.fullname),
        });
        const el = toElement(html);
        // A draft typed on an earlier page (or before the window was closed) comes back.
        const draft = options.loadDraft ? options.loadDraft(peer) : '';
        const input = region(el, 'input');
        if (draft && input) {
            input.value = draft;
        }
        return {el, items: new Map(), conv: null, me: 0, people: null, rendered: false, grow: !!draft,
            // Messages that arrived while the user was reading older ones (the "new messages" pill).
            arrived: 0,
            // The conversation cannot take messages now (patchCanSend), and the reason shown.
            cannotSend: false, cannotSendReason: ''};
    };

    const messageContext = (item, state, peer) => {
        const group = isGroupKey(peer);
        const author = state.people[group ? item.from : peer] || {};
        return {
            key: item.key,
            id: item.id,
            mine: item.mine,
            // A screen reader hears who wrote each message of the log, mine and theirs alike.
            sender: str('messagesender', item.mine ? str('you') : (author.fullname || '')),
            // In a group the others' messages show who wrote them (the name may come later: patched).
            author: group && !item.mine ? (author.fullname || '\u00a0') : '',
            authoravatar: group && !item.mine ? (author.avatar || '') : '',
            datetime: new Date(item.time * 1000).toISOString(),
            timelabel: timeLabel(item.time),
        };
    };

    /**
     * In a group: the author of a message as now known (a name learnt after the message was drawn).
     *
     * @param {Element} el the message
     * @param {object} item
     * @param {object} state
     */
    const patchAuthor = (el, item, state) => {
        const person = state.people[item.from];
        if (!person) {
            return;
        }
        setText(region(el, 'author-name'), person.fullname || '');
        setText(region(el, 'sender'), str('messagesender', person.fullname || ''));
        const img = region(el, 'author-avatar');
        if (img && person.avatar && img.getAttribute('src') !== person.avatar) {
            img.setAttribute('src', person.avatar);
        }
    };

    const desiredItems = (state, peer, nowMs) => {
        const v = conversationView(state, peer, nowMs);
        const out = [];
        let lastDay = null;
        v.items.forEach((item) => {
            const day = dayKey(item.time);
            if (day !== lastDay) {
                out.push({kind: 'day', key: 'd:' + day, time: item.time});
                lastDay = day;
            }
            out.push(Object.assign({kind: 'msg'}, item));
        });
        return {items: out, seen: v.seen, seenBy: v.seenBy, typing: v.typing, typers: v.typers};
    };

    const patchMessage = (el, item) => {
        toggleClass(el, 'is-pending', item.pending && !item.failed);
        toggleClass(el, 'is-failed', !!item.failed);
        const stateEl = region(el, 'state');
        let label = '';
        if (item.failed) {
            // Why it failed: a final refusal (blocked, not contactable...) or a passing one (retried).
            const key = 'error:' + item.failed;
            const text = str(key);
            label = text.startsWith('[[') ? str('error:unknown') : text;
        } else if (item.pending) {
            label = str('sending');
        }
        setText(stateEl, label);
        setHidden(stateEl, !label);
        // Retrying can never help a final refusal: it can only be dismissed. A passing one can be sent again now.
        setHidden(el.querySelector('[data-action="retry"]'), !(item.failed && !item.final));
        setHidden(el.querySelector('[data-action="dismiss"]'), !(item.failed && item.final));
        // Only a stored message can be deleted (for me).
        const del = el.querySelector('[data-action="delete-message"]');
        const stored = !item.pending && !item.failed && typeof item.id === 'number' && item.id > 0;
        setHidden(del, !stored);
        setAttr(del, 'data-messageid', stored ? String(item.id) : '');
    };

    const patchItems = async(w, state, peer, nowMs, force) => {
        const c = conv(state, peer);
        const list = region(w.el, 'messages');
        const itemsEl = region(w.el, 'items');
        const desired = desiredItems(state, peer, nowMs);
        const group = isGroupKey(peer);
        if (w.conv !== c || force || (group && w.people !== state.people)) {
            const missing = desired.items.filter((it) => !w.items.has(it.key));
            const html = await Promise.all(missing.map((it) => (it.kind === 'day'
                ? renderTemplate('day', {key: it.key, label: dayLabel(it.time, nowMs)})
                : renderTemplate('message', messageContext(it, state, peer)))));
            // Measure before changing anything, to keep the reading position.
            const wasAtBottom = !w.rendered || list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_EDGE_PX;
            const anchor = itemsEl.querySelector('[data-region="message"]');
            const anchorTop = anchor ? anchor.offsetTop : 0;
            const oldScrollTop = list.scrollTop;
            const lastBefore = itemsEl.lastElementChild;
            setHidden(region(w.el, 'loading'), !c.loading);
            setHidden(region(w.el, 'empty'), !(c.loaded && desired.items.length === 0));
            missing.forEach((it, i) => {
                const el = toElement(html[i]);
                if (it.kind === 'msg') {
                    renderInto(doc, region(el, 'text'), it.text);
                    if (it.cid) {
                        el.setAttribute('data-cid', it.cid);
                    }
                }
                w.items.set(it.key, el);
            });
            const keys = new Set(desired.items.map((it) => it.key));
            w.items.forEach((el, key) => {
                if (!keys.has(key)) {
                    el.remove();
                    w.items.delete(key);
                }
            });
            let cursor = itemsEl.firstElementChild;
            let addedOwnAtEnd = false;
            desired.items.forEach((it, i) => {
                const el = w.items.get(it.key);
                if (el === cursor) {
                    cursor = cursor.nextElementSibling;
                } else {
                    itemsEl.insertBefore(el, cursor);
                    if (it.kind === 'msg' && it.mine && i === desired.items.length - 1) {
                        addedOwnAtEnd = true;
                    }
                }
                if (it.kind === 'msg') {
                    patchMessage(el, it);
                    if (group && !it.mine) {
                        patchAuthor(el, it, state);
                    }
                    // A row of messages: one writer (in a group, the same member), without long pauses.
                    const next = desired.items[i + 1];
                    const groupEnd = !next || next.kind !== 'msg' || next.mine !== it.mine || next.from !== it.from
                        || next.time - it.time > GROUP_GAP_SECONDS;
                    toggleClass(el, 'is-groupend', groupEnd);
                    const prev = desired.items[i - 1];
                    const groupStart = !prev || prev.kind !== 'msg' || prev.mine !== it.mine || prev.from !== it.from
                        || it.time - prev.time > GROUP_GAP_SECONDS;
                    toggleClass(el, 'is-groupstart', groupStart);
                }
            });
            w.conv = c;
            w.people = state.people;
            // Theirs that came after what was the end of the log: new arrivals.
            let arrivals = 0;
            if (w.rendered && lastBefore && lastBefore.isConnected) {
                for (let el = lastBefore.nextElementSibling; el; el = el.nextElementSibling) {
                    if (el.matches('.block_dockchat-msg-theirs')) {
                        arrivals++;
                    }
                }
            }
            // Scroll: stick to the bottom, or keep the reading position when older messages came in
            // (and say so when new ones came in below it).
            if (wasAtBottom || addedOwnAtEnd) {
                list.scrollTop = list.scrollHeight;
                w.arrived = 0;
            } else {
                w.arrived += arrivals;
                if (anchor && anchor.isConnected && anchor.offsetTop !== anchorTop) {
                    list.scrollTop = oldScrollTop + (anchor.offsetTop - anchorTop);
                }
            }
            patchPill(w);
            w.rendered = true;
        }
        // Seen and typing.
        const seen = region(w.el, 'seen');
        const wasHidden = seen ? seen.hidden : true;
        setHidden(seen, !desired.seen);
        if (group && seen) {
            // "Seen by N" counts the members whose reads this page saw; their names on hover and focus.
            const readers = desired.seenBy.map((id) => (state.people[id] || {}).fullname || '').filter(Boolean);
            setText(region(seen, 'seen-text'), desired.seenBy.length
                ? countStr(str, 'seenby', desired.seenBy.length) : str('seen'));
            const names = readers.length ? str('seenbynames', readers.join(', ')) : '';
            setText(region(seen, 'seen-names'), names);
            if (names) {
                setAttr(seen, 'title', names);
                setAttr(seen, 'tabindex', '0');
            } else {
                seen.removeAttribute('title');
                seen.removeAttribute('tabindex');
            }
        }
        const typing = region(w.el, 'typing');
        const typingWasHidden = typing ? typing.hidden : true;
        setHidden(typing, !desired.typing);
        if (desired.typing) {
            const person = state.people[peer];
            setText(region(typing, 'typing-text'), group ? typingText(str, state, desired.typers)
                : str('typing', person ? person.fullname : ''));
        }
        if ((wasHidden && desired.seen) || (typingWasHidden && desired.typing)) {
            if (list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_EDGE_PX + 60) {
                list.scrollTop = list.scrollHeight;
            }
        }
        setHidden(region(w.el, 'loading'), !(c.loading));
        setHidden(region(w.el, 'empty'), !(c.loaded && desired.items.length === 0));
    };

    const patchWindow = async(w, state, entry, nowMs) => {
        const peer = entry.peer;
        const c = conv(state, peer);
        const el = w.el;
        const minimised = entry.state !== 'open';
        // Presence is only known while connected (a group has none).
        const group = isGroupKey(peer);
        const presence = !group && state.connection.state === 'connected' ? presenceOf(state, peer) : null;
        const online = !!presence && presence.status !== 'offline';
        toggleClass(el, 'is-minimised', minimised);
        toggleClass(el, 'is-highlight', minimised && c.highlight);
        toggleClass(el, 'is-online', online);
        toggleClass(el, 'is-away', !!presence && presence.status === 'away');
        const toggle = el.querySelector('[data-action="toggle"]');
        setAttr(toggle, 'aria-expanded', minimised ? 'false' : 'true');
        const person = state.people[peer];
        if (group) {
            const subject = windowSubject(state, peer);
            const initial = region(el, 'initial');
            if (subject.avatar && initial) {
                // The group's picture over its initial (set as a style: no markup from the URL).
                const bg = 'url(' + JSON.stringify(subject.avatar) + ')';
                if (initial.style.backgroundImage !== bg) {
                    initial.style.backgroundImage = bg;
                }
                toggleClass(initial, 'has-picture', true);
            }
            if (subject.fullname) {
                setText(region(el, 'name'), subject.fullname);
                setText(initial, subject.avatar ? '' : initialOf(subject.fullname));
            }
            // Instead of presence: how many members the group has, and how many of them are online.
            const members = subject.members ? countStr(str, 'membercount', subject.members) : '';
            const onlineCount = members ? groupOnlineCount(state, peer) : -1;
            setText(region(el, 'presence-text'), onlineCount < 0 ? members
                : str('membersonline', {members, online: countStr(str, 'onlinemembers', onlineCount)}));
        } else {
            if (person) {
                setText(region(el, 'name'), person.fullname);
                const img = region(el, 'avatar');
                if (img && person.avatar && img.getAttribute('src') !== person.avatar) {
                    img.setAttribute('src', person.avatar);
                }
            }
            setText(region(el, 'presence-text'), presence ? presenceText(str, presence, nowMs)
                : str(restoring(state) ? 'connecting' : 'offline'));
        }
        const badge = region(el, 'unread');
        setHidden(badge, !c.unread);
        setText(badge, c.unread ? String(c.unread) : '');
        setAttr(badge, 'aria-label', countStr(str, 'unreadcount', c.unread));
        const min = el.querySelector('[data-action="minimise"]');
        setAttr(min, 'aria-label', minimised ? str('restore') : str('minimise'));
        setAttr(min, 'title', minimised ? str('restore') : str('minimise'));
        setHidden(region(el, 'body'), minimised);
        patchCanSend(w, cannotSendKey(state, peer));
        patchMenuLabels(w, c);
        const input = region(el, 'input');
        if (w.grow) {
            patchLimit(w);
        }
        if (w.grow && input && input.scrollHeight > 0) {
            // A restored draft of several lines: as tall as it is, once it can be measured.
            w.grow = false;
            autoGrow(input);
        }
        const restored = w.minimised === true && !minimised;
        w.minimised = minimised;
        if (!minimised || w.rendered) {
            await patchItems(w, state, peer, nowMs, false);
        }
        if (restored) {
            // A hidden list loses its scroll position: show the newest messages again.
            const list = region(el, 'messages');
            list.scrollTop = list.scrollHeight;
            w.arrived = 0;
            patchPill(w);
        }
    };

    const renderWindows = async(state, nowMs) => {
        const container = region(dock, 'windows');
        const missing = state.windows.filter((w) => !windows.has(w.peer));
        const created = await Promise.all(missing.map((w) => createWindow(state, w.peer)));
        missing.forEach((w, i) => windows.set(w.peer, created[i]));
        const wanted = new Set(state.windows.map((w) => w.peer));
        windows.forEach((w, peer) => {
            if (!wanted.has(peer)) {
                w.el.remove();
                windows.delete(peer);
            }
        });
        let cursor = container.firstElementChild;
        state.windows.forEach((entry) => {
            const w = windows.get(entry.peer);
            if (w.el === cursor) {
                cursor = cursor.nextElementSibling;
            } else {
                container.insertBefore(w.el, cursor);
            }
        });
        await Promise.all(state.windows.map((entry) => patchWindow(windows.get(entry.peer), state, entry, nowMs)));
    };

    // ---- Overflow: the windows that do not fit hide behind a '+N' chip. --------------------------

    /**
     * Where the windows may go so that they never cover the block's list: beside the list when it is on
     * screen and there is room for a window on that side; otherwise (a narrow screen, the list across
     * the page) the list keeps room below it as tall as the dock, so every row can be scrolled clear.
     *
     * @param {number} width the screen's width
     * @returns {{right: number, left: number, reserve: boolean}} the dock's distance from the right and
     *   left edges, and whether the list needs room below it instead
     */
    const keepOut = (width) => {
        const band = {right: EDGE, left: EDGE};
        // The list in the launcher's panel (moved there while it is open) is not on the page: no room kept for it.
        const rect = blockRoot && blockRoot.isConnected && blockRoot.getClientRects().length && !(dock && dock.contains(blockRoot))
            ? blockRoot.getBoundingClientRect() : null;
        if (rect && rect.width > 0) {
            const height = view.innerHeight || doc.documentElement.clientHeight || 768;
            const onScreen = rect.bottom > 0 && rect.top < height && rect.right > 0 && rect.left < width;
            const roomLeft = rect.left - WINDOW_GAP - EDGE;
            const roomRight = width - rect.right - WINDOW_GAP - EDGE;
            const onRight = rect.left + rect.width / 2 >= width / 2;
            if (roomLeft < WINDOW_WIDTH && roomRight < WINDOW_WIDTH) {
                band.reserve = true;
            } else if (onScreen && onRight && roomLeft >= WINDOW_WIDTH) {
                band.right = width - rect.left + WINDOW_GAP;
            } else if (onScreen && roomRight >= WINDOW_WIDTH) {
                band.left = rect.right + WINDOW_GAP;
            }
        }
        return band;
    };

    /**
     * Give the list room below it as tall as the dock (when the windows cannot go beside it).
     *
     * @param {boolean} on
     */
    const reserveRoom = (on) => {
        if (blockRoot) {
            const value = on ? Math.ceil(dock.getBoundingClientRect().height) + 'px' : '';
            if (blockRoot.style.getPropertyValue('--block-dockchat-reserve') !== value) {
                blockRoot.style.setProperty('--block-dockchat-reserve', value);
            }
        }
    };

    // ---- Phones: a launcher, one conversation full-screen, the others as chat heads. -------------

    /**
     * Open the list full-screen (the launcher, a conversation's back button): the block's list moves into
     * the sheet while it is open (or the dock's own list, on a page without the block). On larger screens
     * the same sheet is a panel beside the launcher that opened it (the navbar's, or the round one).
     */
    const openSheet = () => {
        if (!dock) {
            return;
        }
        const body = region(dock, 'sheet-body');
        if (blockRoot && blockRoot.parentNode !== body) {
            listPlace = doc.createComment('block_dockchat list');
            blockRoot.parentNode.insertBefore(listPlace, blockRoot);
            body.appendChild(blockRoot);
        }
        sheetOpen = true;
        headsOpen = false;
        layout();
        const sheet = region(dock, 'sheet');
        sheet.scrollTop = 0;
        sheet.focus();
    };

    /**
     * Close the list's sheet: the block's list goes back to its place on the page.
     *
     * @param {boolean} refocus give the focus back to the launcher
     */
    const closeSheet = (refocus) => {
        if (!sheetOpen) {
            return;
        }
        sheetOpen = false;
        if (listPlace && blockRoot && listPlace.parentNode) {
            listPlace.parentNode.insertBefore(blockRoot, listPlace);
        }
        if (listPlace) {
            listPlace.remove();
            listPlace = null;
        }
        layout();
        if (refocus) {
            focusLauncher();
        }
    };

    const focusLauncher = () => {
        const launcher = dock && region(dock, 'launcher');
        if (launcher && !launcher.hidden) {
            launcher.focus();
        } else if (navLauncher && navLauncher.isConnected) {
            navLauncher.focus();
        }
    };

    /**
     * The user's unread count for the launchers: the Chats list's once it is known (the previous page's
     * snapshot, then the server's), else the windows'.
     *
     * @param {object} state
     * @returns {number}
     */
    const launcherUnread = (state) => (state.panel && state.panel.loaded ? unreadTotal(state.panel)
        : state.windows.reduce((sum, entry) => sum + conv(state, entry.peer).unread, 0));

    /**
     * A launcher's badge, name (with the unread count, for screen readers) and state.
     *
     * @param {Element|null} button
     * @param {string} badgeRegion
     * @param {number} total
     */
    const paintLauncher = (button, badgeRegion, total) => {
        if (!button) {
            return;
        }
        const badge = region(button, badgeRegion);
        setHidden(badge, !total);
        setText(badge, total ? String(total) : '');
        setAttr(button, 'aria-expanded', sheetOpen ? 'true' : 'false');
        setAttr(button, 'aria-label', total ? str('chats') + ', ' + countStr(str, 'unreadcount', total) : str('chats'));
        toggleClass(button, 'has-unread', total > 0);
    };

    /**
     * Larger screens: the round launcher (when chosen) and the list's panel, opened from it or from the
     * navbar's launcher; the panel is not modal (the page stays in reach).
     *
     * @param {object} state
     */
    const layoutLaunchers = (state) => {
        const launcher = region(dock, 'launcher');
        const floating = floatingLauncher();
        setHidden(launcher, !floating);
        toggleClass(dock, 'has-launcher', floating);
        paintLauncher(floating ? launcher : null, 'launcher-unread', launcherUnread(state));
        const sheet = region(dock, 'sheet');
        setHidden(sheet, !sheetOpen);
        setAttr(sheet, 'aria-modal', 'false');
        // Opened from the navbar: the panel hangs below its button.
        const fromNav = sheetOpen && !floating && navLauncher && navLauncher.isConnected;
        toggleClass(dock, 'is-panel-top', !!fromNav);
        if (fromNav) {
            const rect = navLauncher.getBoundingClientRect();
            const top = Math.max(EDGE, Math.round(rect.bottom + 8)) + 'px';
            if (dock.style.getPropertyValue('--block-dockchat-panel-top') !== top) {
                dock.style.setProperty('--block-dockchat-panel-top', top);
            }
        }
    };

    /** A press outside the larger screens' panel (and its launchers) closes it, as a menu does. */
    const onPressOutside = (event) => {
        if (!sheetOpen || isPhone() || !dock) {
            return;
        }
        const target = event.target;
        const sheet = region(dock, 'sheet');
        const launcher = region(dock, 'launcher');
        if ((sheet && sheet.contains(target)) || (launcher && launcher.contains(target))
                || (navLauncher && navLauncher.contains(target))
                || (target.closest && target.closest('[data-action="show-list"]'))) {
            return;
        }
        closeSheet(false);
    };

    /**
     * Show or hide the expanded list of every chat head (each with its close button).
     *
     * @param {boolean} open
     */
    const toggleHeadsMenu = (open) => {
        const menu = dock && region(dock, 'heads-menu');
        if (!menu) {
            return;
        }
        const hadFocus = menu.contains(doc.activeElement);
        headsOpen = open;
        layout();
        if (open) {
            const first = menu.querySelector('button');
            if (first) {
                first.focus();
            }
        } else if (hadFocus) {
            // The list closes under the focus: back to the '+N' head, else the launcher.
            const more = dock.querySelector('[data-action="toggle-heads"]');
            if (more && !more.hidden && !region(dock, 'heads').hidden) {
                more.focus();
            } else {
                focusLauncher();
            }
        }
    };

    /**
     * On a page without the block, the dock makes the list its sheet shows (the block's own template): on a
     * phone, and on larger screens with a launcher.
     */
    const ensureOwnList = async() => {
        if (blockRoot || ownList || (!isPhone() && launcherMode === 'off')) {
            return;
        }
        const el = toElement(await renderTemplate('block', {uniqid: 'dock', messageurl: ''}));
        if (blockRoot) {
            return;
        }
        region(dock, 'sheet-body').appendChild(el);
        ownList = el;
        blockRoot = el;
        bind(el);
    };

    /**
     * Create, drop and patch the chat heads: one per window (laid out by layoutPhone on a phone).
     *
     * @param {object} state
     */
    const renderHeads = async(state) => {
        const list = region(dock, 'heads-list');
        const missing = state.windows.filter((w) => !heads.has(w.peer));
        const html = await Promise.all(missing.map((w) => {
            const subject = windowSubject(state, w.peer);
            return renderTemplate('head', {id: w.peer, fullname: subject.fullname, avatar: subject.avatar,
                initial: initialOf(subject.fullname)});
        }));
        missing.forEach((w, i) => {
            const el = toElement(html[i]);
            const img = region(el, 'head-avatar');
            if (img) {
                // No picture to show: the initial stays.
                img.addEventListener('error', () => el.classList.remove('has-picture'));
                el.classList.add('has-picture');
            }
            bindLongPress(el.querySelector('[data-action="raise"]'));
            heads.set(w.peer, {el, sig: ''});
        });
        const wanted = new Set(state.windows.map((w) => w.peer));
        heads.forEach((h, peer) => {
            if (!wanted.has(peer)) {
                h.el.remove();
                heads.delete(peer);
            }
        });
        let cursor = list.firstElementChild;
        state.windows.forEach((entry) => {
            const h = heads.get(entry.peer);
            if (h.el === cursor) {
                cursor = cursor.nextElementSibling;
            } else {
                list.insertBefore(h.el, cursor);
            }
            const c = conv(state, entry.peer);
            const subject = windowSubject(state, entry.peer);
            const presence = !subject.group && state.connection.state === 'connected' ? presenceOf(state, entry.peer) : null;
            const online = !!presence && presence.status !== 'offline';
            const away = !!presence && presence.status === 'away';
            // Named after the conversation (the list's rows say "Chat with…"): its place, among the
            // minimised conversations, says what it is.
            const name = subject.fullname + (away ? ', ' + str('away') : '');
            const sig = [subject.fullname, subject.avatar, c.unread, c.highlight, online, away].join('|');
            if (h.sig === sig) {
                return;
            }
            h.sig = sig;
            const button = h.el.querySelector('[data-action="raise"]');
            setAttr(button, 'aria-label', c.unread ? name + ', ' + countStr(str, 'unreadcount', c.unread) : name);
            setAttr(button, 'title', subject.fullname);
            setText(region(h.el, 'head-initial'), initialOf(subject.fullname));
            const img = region(h.el, 'head-avatar');
            if (img && subject.avatar && img.getAttribute('src') !== subject.avatar) {
                img.setAttribute('src', subject.avatar);
                h.el.classList.add('has-picture');
            }
            const badge = region(h.el, 'head-unread');
            setHidden(badge, !c.unread);
            setText(badge, c.unread ? String(c.unread) : '');
            toggleClass(h.el, 'is-highlight', !!c.unread);
            toggleClass(h.el, 'is-online', online);
            toggleClass(h.el, 'is-away', away);
        });
    };

    /**
     * A long press on a chat head opens the list of every head, where each can be closed (the context
     * menu a long press brings on Android does the same).
     *
     * @param {Element|null} button
     */
    const bindLongPress = (button) => {
        if (!button) {
            return;
        }
        let timer = null;
        const cancel = () => {
            if (timer !== null) {
                view.clearTimeout(timer);
                timer = null;
            }
        };
        button.addEventListener('pointerdown', () => {
            cancel();
            timer = view.setTimeout(() => {
                timer = null;
                swallowClick = true;
                // Only the click that ends this press (if any) is swallowed.
                view.setTimeout(() => {
                    swallowClick = false;
                }, LONG_PRESS_MS);
                toggleHeadsMenu(true);
            }, LONG_PRESS_MS);
        });
        ['pointerup', 'pointercancel', 'pointerleave'].forEach((type) => button.addEventListener(type, cancel));
        button.addEventListener('contextmenu', (event) => {
            event.preventDefault();
            cancel();
            if (!headsOpen) {
                toggleHeadsMenu(true);
            }
        });
    };

    /**
     * The expanded list of every chat head: open it, or close it with its own button.
     *
     * @param {object} state
     * @param {object[]} entries the windows shown as heads
     */
    const fillHeadsMenu = (state, entries) => {
        const menu = region(dock, 'heads-menu');
        const sig = entries.map((e) => e.peer + ':' + windowSubject(state, e.peer).fullname + ':'
            + conv(state, e.peer).unread).join('|');
        if (sig === headsMenuSig && menu.firstChild) {
            return;
        }
        headsMenuSig = sig;
        const focused = menu.contains(doc.activeElement) ? doc.activeElement : null;
        const refocus = focused ? [focused.getAttribute('data-action'), focused.getAttribute('data-window')] : null;
        while (menu.firstChild) {
            menu.removeChild(menu.firstChild);
        }
        entries.forEach((entry) => {
            const subject = windowSubject(state, entry.peer);
            const c = conv(state, entry.peer);
            const li = doc.createElement('li');
            li.className = 'block_dockchat-headmenu-item';
            const open = doc.createElement('button');
            open.type = 'button';
            open.className = 'block_dockchat-headmenu-open';
            open.setAttribute('data-action', 'raise');
            open.setAttribute('data-window', String(entry.peer));
            const name = doc.createElement('span');
            name.dir = 'auto';
            name.textContent = subject.fullname;
            open.appendChild(name);
            if (c.unread) {
                const badge = doc.createElement('span');
                badge.className = 'block_dockchat-badge';
                badge.textContent = String(c.unread);
                badge.setAttribute('aria-label', countStr(str, 'unreadcount', c.unread));
                open.appendChild(badge);
            }
            const close = doc.createElement('button');
            close.type = 'button';
            close.className = 'block_dockchat-iconbtn block_dockchat-headmenu-close';
            close.setAttribute('data-action', 'close-head');
            close.setAttribute('data-window', String(entry.peer));
            close.setAttribute('aria-label', str('closechatwith', subject.fullname));
            close.setAttribute('title', str('close'));
            close.textContent = '\u00d7';
            li.appendChild(open);
            li.appendChild(close);
            menu.appendChild(li);
        });
        if (refocus) {
            const again = menu.querySelector('[data-action="' + refocus[0] + '"][data-window="' + refocus[1] + '"]')
                || menu.querySelector('button');
            if (again) {
                again.focus();
            }
        }
    };

    /**
     * The phone's layout: the conversation chosen last full-screen (only one the user chose, never one that
     * came by itself or was open on the last page), the others as chat heads above the launcher.
     *
     * @param {object} state
     */
    const layoutPhone = (state) => {
        const entries = state.windows.filter((entry) => windows.has(entry.peer));
        const frontEntry = front === null ? null : entries.find((entry) => entry.peer === front);
        // Minimised or closed in another tab, it leaves the screen (and comes back only as it left).
        const shown = frontEntry && frontEntry.state === 'open' ? front : null;
        entries.forEach((entry) => {
            const el = windows.get(entry.peer).el;
            setHidden(el, entry.peer !== shown);
            toggleClass(el, 'is-front', entry.peer === shown);
        });
        if (shown !== null && sheetOpen) {
            // A conversation chosen from the list takes its place (its back button returns to it).
            closeSheet(false);
            return;
        }
        const overflow = region(dock, 'overflow');
        setHidden(overflow, true);
        overflowOpen = false;
        // Heads: most recently used nearest the launcher; past the cap, a '+N' head.
        const headEntries = entries.filter((entry) => entry.peer !== shown && heads.has(entry.peer));
        const cut = headEntries.length > HEADS_SHOWN ? HEADS_SHOWN - 1 : headEntries.length;
        headEntries.forEach((entry, i) => setHidden(heads.get(entry.peer).el, i >= cut));
        if (shown !== null && heads.has(shown)) {
            setHidden(heads.get(shown).el, true);
        }
        const rest = headEntries.slice(cut);
        const more = dock.querySelector('[data-action="toggle-heads"]');
        setHidden(more, rest.length === 0);
        setText(region(more, 'heads-more'), '+' + rest.length);
        setAttr(more, 'aria-label', countStr(str, 'moreconversations', rest.length));
        setAttr(more, 'aria-expanded', headsOpen ? 'true' : 'false');
        const restUnread = rest.reduce((sum, entry) => sum + conv(state, entry.peer).unread, 0);
        const moreBadge = region(more, 'heads-more-unread');
        setHidden(moreBadge, !restUnread);
        setText(moreBadge, restUnread ? String(restUnread) : '');
        toggleClass(more, 'is-highlight', restUnread > 0);
        const covered = shown !== null || sheetOpen;
        if (!headEntries.length) {
            headsOpen = false;
        }
        setHidden(region(dock, 'heads'), covered || headEntries.length === 0);
        const menu = region(dock, 'heads-menu');
        setHidden(menu, !headsOpen || covered);
        if (headsOpen && !covered) {
            fillHeadsMenu(state, headEntries);
        } else {
            headsMenuSig = '';
        }
        // The launcher: always there (under a full-screen view), with every unread message of the user.
        const launcher = region(dock, 'launcher');
        setHidden(launcher, covered);
        toggleClass(dock, 'has-launcher', false);
        toggleClass(dock, 'is-panel-top', false);
        paintLauncher(launcher, 'launcher-unread', launcherUnread(state));
        setHidden(region(dock, 'sheet'), !sheetOpen);
        setAttr(region(dock, 'sheet'), 'aria-modal', 'true');
        // The page under a full-screen view does not scroll.
        toggleClass(doc.documentElement, 'block_dockchat-locked', covered);
        holdPage(covered);
        holdHistory(covered);
        reserveRoom(false);
    };

    /**
     * A full-screen view is a place the phone's back button leaves: one history entry while one is open
     * (the list or a conversation), dropped again when it closes from its own buttons.
     *
     * @param {boolean} covered whether a full-screen view is open
     */
    const holdHistory = (covered) => {
        const history = view.history;
        if (!history || typeof history.pushState !== 'function') {
            return;
        }
        try {
            if (covered && !historyHeld) {
                history.pushState(Object.assign({}, history.state, {blockDockchatView: true}), '');
                historyHeld = true;
            } else if (!covered && historyHeld) {
                historyHeld = false;
                // Only this client's own entry is taken back, never the page's.
                if (history.state && history.state.blockDockchatView) {
                    ownPop = true;
                    history.back();
                }
            }
        } catch (e) {
            // No history here (a sandboxed frame): Escape and the view's buttons still close it.
        }
    };

    /**
     * Under a full-screen view the page is out of reach, as under a modal dialog: the keyboard and screen
     * readers stay in the view (everything of the page body but the dock is inert meanwhile).
     *
     * @param {boolean} covered whether a full-screen view is open
     */
    const holdPage = (covered) => {
        if (covered && !inerted.length) {
            inerted = Array.from(doc.body.children).filter((el) => el !== dock && !el.inert
                && el.tagName !== 'SCRIPT' && el.tagName !== 'TEMPLATE');
            inerted.forEach((el) => {
                el.inert = true;
            });
        } else if (!covered && inerted.length) {
            inerted.forEach((el) => {
                el.inert = false;
            });
            inerted = [];
        }
    };

    /** The phone's back button: the full-screen view closes (the conversation stays, as a chat head). */
    const onPopState = () => {
        if (ownPop) {
            ownPop = false;
            return;
        }
        if (!historyHeld) {
            return;
        }
        historyHeld = false;
        const shownFront = front !== null && windows.has(front) && windows.get(front).el.classList.contains('is-front')
            ? front : null;
        front = null;
        if (sheetOpen) {
            closeSheet(true);
        } else {
            layout();
            if (shownFront !== null) {
                const head = heads.get(shownFront);
                const button = head && head.el.querySelector('[data-action="raise"]');
                if (button && !head.el.hidden) {
                    button.focus();
                } else {
                    focusLauncher();
                }
            }
        }
    };

    /**
     * Back to the larger screens' layout (rotating a tablet): the phone's parts go; its choices stay.
     *
     * @param {boolean} wasPhone whether the last layout was the phone's (its full-screen list closes)
     */
    const leavePhone = (wasPhone) => {
        if (sheetOpen && wasPhone) {
            closeSheet(false);
        }
        headsOpen = false;
        setHidden(region(dock, 'heads'), true);
        windows.forEach((w) => toggleClass(w.el, 'is-front', false));
        toggleClass(doc.documentElement, 'block_dockchat-locked', false);
        holdPage(false);
        holdHistory(false);
    };

    const layout = () => {
        if (!dock || !lastState) {
            return;
        }
        const state = lastState;
        const width = view.innerWidth || doc.documentElement.clientWidth || 1024;
        const phone = isPhone();
        const wasPhone = dock.classList.contains('is-mobile');
        toggleClass(dock, 'is-mobile', phone);
        paintLauncher(navLauncher, 'navlauncher-unread', launcherUnread(state));
        if (phone) {
            layoutPhone(state);
            return;
        }
        leavePhone(wasPhone);
        layoutLaunchers(state);
        const band = keepOut(width);
        if (floatingLauncher() && band.right < EDGE + LAUNCHER_SIZE + WINDOW_GAP) {
            // The windows keep clear of the round launcher in the corner.
            band.right = EDGE + LAUNCHER_SIZE + WINDOW_GAP;
        }
        const right = band.right + 'px';
        const left = band.left + 'px';
        if (dock.style.getPropertyValue('--block-dockchat-right') !== right) {
            dock.style.setProperty('--block-dockchat-right', right);
        }
        if (dock.style.getPropertyValue('--block-dockchat-left') !== left) {
            dock.style.setProperty('--block-dockchat-left', left);
        }
        const room = width - band.right - band.left;
        // Which windows show: the one chosen last (the first), then those in use (with keyboard focus
        // or a draft: hiding them would drop the focus to the page and hide the draft), then the others
        // from right to left while they fit. The rest wait behind the '+N' chip.
        const entries = state.windows.filter((entry) => windows.has(entry.peer));
        const inUse = (entry) => {
            const el = windows.get(entry.peer).el;
            const input = region(el, 'input');
            return el.contains(doc.activeElement) || !!(input && input.value.trim());
        };
        // A minimised window is as wide as its title bar: measure each (shown for the measure, in
        // the same task, so nothing flickers).
        const widths = new Map();
        entries.forEach((entry) => {
            const el = windows.get(entry.peer).el;
            if (entry.state === 'open') {
                widths.set(entry.peer, WINDOW_WIDTH);
                return;
            }
            const wasHidden = el.hidden;
            el.hidden = false;
            widths.set(entry.peer, Math.min(WINDOW_WIDTH, Math.ceil(el.getBoundingClientRect().width) || WINDOW_WIDTH));
            el.hidden = wasHidden;
        });
        const widthOf = (entry) => widths.get(entry.peer);
        const total = entries.reduce((sum, entry) => sum + widthOf(entry) + WINDOW_GAP, -WINDOW_GAP);
        const shown = new Set();
        if (total <= room) {
            entries.forEach((entry) => shown.add(entry.peer));
        } else {
            const budget = room - CHIP_WIDTH;
            let used = -WINDOW_GAP;
            const take = (entry) => {
                const cost = widthOf(entry) + WINDOW_GAP;
                if (!shown.has(entry.peer) && (shown.size === 0 || used + cost <= budget)) {
                    shown.add(entry.peer);
                    used += cost;
                }
            };
            const ranked = entries.slice(0, 1).concat(entries.slice(1).filter(inUse), entries.slice(1));
            ranked.forEach(take);
        }
        const hidden = [];
        entries.forEach((entry) => {
            const hide = !shown.has(entry.peer);
            setHidden(windows.get(entry.peer).el, hide);
            if (hide) {
                hidden.push(entry.peer);
            }
        });
        const overflow = region(dock, 'overflow');
        setHidden(overflow, hidden.length === 0);
        if (!hidden.length) {
            overflowOpen = false;
        }
        setText(region(overflow, 'overflow-count'), '+' + hidden.length);
        const chip = overflow.querySelector('[data-action="toggle-overflow"]');
        setAttr(chip, 'aria-expanded', overflowOpen ? 'true' : 'false');
        setAttr(chip, 'aria-label', countStr(str, 'moreconversations', hidden.length));
        const unread = hidden.reduce((sum, peer) => sum + conv(state, peer).unread, 0);
        toggleClass(overflow, 'is-highlight', unread > 0);
        const chipBadge = region(overflow, 'overflow-unread');
        setHidden(chipBadge, !unread);
        setText(chipBadge, unread ? String(unread) : '');
        setAttr(chipBadge, 'aria-label', countStr(str, 'unreadcount', unread));
        const menu = region(overflow, 'overflow-menu');
        setHidden(menu, !overflowOpen);
        if (overflowOpen) {
            while (menu.firstChild) {
                menu.removeChild(menu.firstChild);
            }
            hidden.forEach((peer) => {
                const person = windowSubject(state, peer);
                const c = conv(state, peer);
                const li = doc.createElement('li');
                const button = doc.createElement('button');
                button.type = 'button';
                button.className = 'block_dockchat-overflow-item';
                button.setAttribute('data-action', 'raise');
                button.setAttribute('data-window', String(peer));
                const name = doc.createElement('span');
                name.dir = 'auto';
                name.textContent = person.fullname;
                button.appendChild(name);
                if (c.unread) {
                    const badge = doc.createElement('span');
                    badge.className = 'block_dockchat-badge';
                    badge.textContent = String(c.unread);
                    badge.setAttribute('aria-label', countStr(str, 'unreadcount', c.unread));
                    button.appendChild(badge);
                }
                li.appendChild(button);
                menu.appendChild(li);
            });
            // Keep the menu on screen: it opens above the chip, and slides sideways if it would cross an edge.
            menu.style.removeProperty('--block-dockchat-shift');
            const r = menu.getBoundingClientRect();
            let shift = 0;
            if (r.left < EDGE / 2) {
                shift = EDGE / 2 - r.left;
            } else if (r.right > width - EDGE / 2) {
                shift = width - EDGE / 2 - r.right;
            }
            if (shift) {
                menu.style.setProperty('--block-dockchat-shift', Math.round(shift) + 'px');
            }
        }
        reserveRoom(band.reserve);
    };

    // ---- The render loop: one render at a time, always of the newest state. ----------------------

    const ensureDock = async() => {
        if (dock) {
            return;
        }
        const el = toElement(await renderTemplate('dock', {}));
        doc.body.appendChild(el);
        bind(el);
        dock = el;
        view.addEventListener('resize', layout);
        view.addEventListener('popstate', onPopState);
        doc.addEventListener('pointerdown', onPressOutside, true);
        if (phoneMedia) {
            // Rotating across the breakpoint: the same windows, chosen conversation and heads, laid out anew.
            const onChange = () => {
                layout();
                if (lastState) {
                    // The list of a page without the block, once it turns into a phone.
                    render(lastState, lastNow);
                }
            };
            if (typeof phoneMedia.addEventListener === 'function') {
                phoneMedia.addEventListener('change', onChange);
            } else if (typeof phoneMedia.addListener === 'function') {
                phoneMedia.addListener(onChange);
            }
        }
        if (view.visualViewport) {
            // The on-screen keyboard shrinks what can be seen: the full-screen conversation keeps its
            // composer above it.
            const fit = () => {
                el.style.setProperty('--block-dockchat-vh', Math.round(view.visualViewport.height) + 'px');
            };
            view.visualViewport.addEventListener('resize', fit);
            fit();
        }
        // A long press on a chat head, or a tap elsewhere, closes the heads' list.
        doc.addEventListener('click', (event) => {
            // A target no longer on the page was in the list itself, redrawn by the click (a head closed).
            if (headsOpen && event.target.isConnected
                    && !(event.target.closest && event.target.closest('[data-region="heads"]'))) {
                toggleHeadsMenu(false);
            }
        });
        // The list moves with the page: the windows follow it (once per frame).
        let scrollQueued = false;
        view.addEventListener('scroll', () => {
            if (!scrollQueued) {
                scrollQueued = true;
                view.requestAnimationFrame(() => {
                    scrollQueued = false;
                    layout();
                });
            }
        }, {passive: true, capture: true});
        // A click anywhere else closes the '+N' menu.
        doc.addEventListener('click', (event) => {
            if (overflowOpen && !(event.target.closest && event.target.closest('[data-region="overflow"]'))) {
                overflowOpen = false;
                layout();
            }
        });
        // Messages that arrived while the page was in the background are read when it comes back.
        doc.addEventListener('visibilitychange', () => {
            if (doc.visibilityState === 'visible') {
                onIntent({type: 'seen', peer: 0});
            }
        });
    };

    const renderOnce = async(state, nowMs) => {
        await ensureDock();
        lastState = state;
        lastNow = nowMs;
        toggleClass(dock, 'is-connecting', restoring(state));
        setAttr(dock, 'aria-busy', restoring(state) ? 'true' : 'false');
        await ensureOwnList();
        await renderBlock(state);
        renderBanner(state, nowMs);
        await renderWindows(state, nowMs);
        await renderHeads(state);
        layout();
        if (openPending) {
            openPending = false;
            openSheet();
        }
    };

    const loop = async() => {
        running = true;
        while (latest) {
            const {state, nowMs} = latest;
            latest = null;
            try {
                await renderOnce(state, nowMs);
            } catch (e) {
                onError(e);
            }
        }
        running = false;
        if (idleResolve) {
            idleResolve();
            idleResolve = null;
        }
    };

    if (blockRoot) {
        bind(blockRoot);
    }

    /**
     * Open the list from a launcher outside the dock (the navbar's, a second block's pointer); pressed before
     * the dock's first render, it opens with that render.
     */
    const openFromOutside = () => {
        if (dock && lastState) {
            openSheet();
        } else {
            openPending = true;
        }
    };
    const toggleFromOutside = (event) => {
        event.preventDefault();
        if (sheetOpen) {
            closeSheet(true);
        } else {
            openFromOutside();
        }
    };
    if (navLauncher) {
        navLauncher.addEventListener('click', toggleFromOutside);
        navLauncher.addEventListener('keydown', (event) => {
            if (event.key === 'Escape' && sheetOpen) {
                event.preventDefault();
                closeSheet(true);
            }
        });
    }

    /**
     * A second block's region: a line that says the list is elsewhere and a button that opens it.
     *
     * @param {Element} el
     */
    const pointTo = (el) => {
        el.setAttribute('data-region', 'block_dockchat-pointer');
        const note = doc.createElement('p');
        note.className = 'block_dockchat-pointer';
        note.textContent = str('listelsewhere') + ' ';
        const button = doc.createElement('button');
        button.type = 'button';
        button.className = 'btn btn-link p-0 block_dockchat-pointer-action';
        button.setAttribute('data-action', 'show-list');
        button.setAttribute('aria-haspopup', 'dialog');
        button.textContent = str('showchatlist');
        button.addEventListener('click', (event) => {
            event.preventDefault();
            if (!sheetOpen) {
                openFromOutside();
            }
        });
        note.appendChild(button);
        el.replaceChildren(note);
    };

    /**
     * Schedule a render of this state (coalesced with later ones).
     *
     * @param {object} state
     * @param {number} nowMs
     */
    const render = (state, nowMs) => {
        latest = {state, nowMs};
        if (!running) {
            idle = new Promise((resolve) => {
                idleResolve = resolve;
            });
            loop();
        }
    };

    return {
        render,
        /**
         * The user chose a conversation (from a list, a chat head, the '+N' menu): on a phone it is the one
         * shown full-screen, in place of the list or of the one shown before (which stays, as a chat head).
         * Only this ever puts a conversation full-screen.
         *
         * @param {number|string} peer a window key
         */
        setFront(peer) {
            front = peer;
            headsOpen = false;
            if (sheetOpen && dock && !isPhone()) {
                // Larger screens: the chosen conversation opens in its window, the list's panel gives way.
                closeSheet(false);
            }
            layout();
        },
        /**
         * The user minimised or closed a conversation in this tab: if it was the one on a phone's screen,
         * it leaves it (it comes back only when chosen again).
         *
         * @param {number|string} peer a window key
         */
        leaveFront(peer) {
            if (front === peer) {
                front = null;
            }
        },
        /** @returns {Promise} resolved when no render is in progress */
        whenIdle() {
            return running ? idle : Promise.resolve();
        },
        /**
         * Attach the block's online list (when the block is rendered after the dock started).
         *
         * @param {Element} el
         */
        setBlockRoot(el) {
            if (el && el !== blockRoot) {
                if (ownList) {
                    // The block came: its list replaces the one the dock made.
                    closeSheet(false);
                    ownList.remove();
                    ownList = null;
                }
                blockRoot = el;
                onlineEls.clear();
                bind(el);
            }
        },
        /**
         * The blocks' lists on the page: one is the dock's list (the one attached, else the first), every other
         * (a second block instance: a course block beside the site-wide one) shows where the list is and a
         * button that opens it, instead of a second list that would never connect.
         *
         * @param {Element[]} els `[data-region="block_dockchat-online"]` elements
         */
        attachLists(els) {
            const list = blockRoot && blockRoot !== ownList ? blockRoot : els[0];
            if (list) {
                this.setBlockRoot(list);
            }
            els.filter((el) => el !== list && el.isConnected).forEach(pointTo);
        },
        /**
         * Move keyboard focus into a window (its input when open, its title button when minimised).
         *
         * @param {number|string} peer a window key
         */
        focusWindow(peer) {
            const w = windows.get(peer);
            if (!w) {
                return;
            }
            if (dock && isPhone() && !w.el.classList.contains('is-front')) {
                // Not on the screen: its chat head (or the launcher, when it hides behind the '+N' head).
                const head = heads.get(peer);
                const button = head && !head.el.hidden && head.el.querySelector('[data-action="raise"]');
                if (button && !region(dock, 'heads').hidden) {
                    button.focus();
                } else {
                    focusLauncher();
                }
                return;
            }
            const target = w.el.classList.contains('is-minimised')
                ? w.el.querySelector('[data-action="toggle"]') : region(w.el, 'input');
            if (target) {
                target.focus();
            }
        },
        /**
         * After a window closed: focus the person in the list shown, the Chats list or the online list
         * (keyboard users keep their place).
         *
         * @param {number|string} peer a window key
         */
        focusPerson(peer) {
            if (dock && isPhone() && !sheetOpen) {
                // Closed from the heads' list: the focus stays in it; from the screen: back to the launcher.
                const menu = region(dock, 'heads-menu');
                const next = headsOpen && !menu.hidden && menu.querySelector('button');
                if (next) {
                    next.focus();
                } else {
                    focusLauncher();
                }
                return;
            }
            if (panelView.focusPeer(peer)) {
                return;
            }
            const el = onlineEls.get(peer);
            const button = el && el.querySelector('[data-action="open-chat"]');
            if (button && button.isConnected) {
                button.focus();
            }
        },
        /**
         * Announce a message that arrived in a window whose log cannot be heard (minimised, behind the
         * '+N' chip, or not there): once per message, in the dock's polite live region. A shown, open
         * window's log (role=log) announces it by itself.
         *
         * @param {number|string} peer a window key
         * @param {number} id the message id
         */
        announceArrival(peer, id) {
            const w = windows.get(peer);
            if (!dock || (announced.get(peer) || 0) >= id) {
                return;
            }
            announced.set(peer, id);
            if (w && !w.el.hidden && !w.el.classList.contains('is-minimised')) {
                return;
            }
            const live = region(dock, 'announce');
            const subject = lastState ? windowSubject(lastState, peer) : {fullname: '', group: false};
            const text = str(subject.group ? 'newmessagein' : 'newmessagefrom', subject.fullname);
            // Emptied first: the same words again (a second message) are a change, so they are read again.
            live.textContent = '';
            view.setTimeout(() => {
                live.textContent = text;
            }, 50);
        },
        /**
         * Whether the peer's window shows its newest message right now (open, visible, scrolled down).
         *
         * @param {number|string} peer a window key
         * @returns {boolean}
         */
        isShowingLatest(peer) {
            const w = windows.get(peer);
            if (!w || w.el.hidden || w.el.classList.contains('is-minimised')) {
                return false;
            }
            if (doc.visibilityState && doc.visibilityState !== 'visible') {
                return false;
            }
            const list = region(w.el, 'messages');
            return !!list && list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_EDGE_PX + 40;
        },
    };
};

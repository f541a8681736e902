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
 * Background alerts (issue 12): the unread count in the page's title while the tab is hidden, a short
 * sound and a desktop notification for a new message from someone else, each sound and notification a
 * user preference (`block_dockchat_sound`, `block_dockchat_desktop`). Muted conversations never alert.
 *
 * The pure part (`alertUnread`, `isMutedKey`, `titleWithCount`, `alertDecision`) is unit-tested in node;
 * `createAlerts` holds the browser's side: the document's title (never the page's elements), an
 * AudioContext (the sound is synthesised: no file), the Notification API, and the claim that lets only
 * one tab of the user's alert for a message.
 *
 * @module     block_dockchat/alerts
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

import {groupKey, isGroupKey} from './state.js';
import {previewText} from './panel.js';

/** The preferences, as the client names them (Moodle's are 'block_dockchat_' + the name). */
export const ALERT_PREFS = Object.freeze(['sound', 'desktop']);
/** At most one sound in this time (a burst of messages chimes once). */
export const SOUND_GAP_MS = 4000;
/** How long a hidden tab leaves a shown tab to claim a message first (that tab's user sees it). */
export const CLAIM_DELAY_MS = 150;
/** How long a message of a conversation the list does not hold yet waits for the list (is it muted?). */
export const MUTED_WAIT_MS = 3000;
/** How many claimed message ids the tabs remember. */
const CLAIMS_KEPT = 50;

/**
 * The key of a listed conversation's window: the other user's id, a group key, null for the personal space.
 *
 * @param {object} c a conversation of the panel
 * @returns {number|string|null}
 */
const itemKey = (c) => {
    if (c.type === 'group') {
        return groupKey(c.conv);
    }
    return c.type === 'individual' && c.with ? c.with.id : null;
};

/**
 * Whether a conversation is muted, as far as the Chats list says (PROTOCOL §5 Conversation `muted`).
 *
 * @param {object} state the chat state
 * @param {number|string} key a window key
 * @param {number} [convid] Moodle's conversation id, when the message names it
 * @returns {boolean|null} null: the list does not hold the conversation (yet)
 */
export const isMutedKey = (state, key, convid) => {
    const items = state.panel ? state.panel.items : [];
    const item = items.find((c) => (typeof convid === 'number' && convid > 0 && c.conv === convid) || itemKey(c) === key);
    return item ? !!item.muted : null;
};

/**
 * The unread messages the title counts: those of the Chats list, without muted conversations, and of
 * the conversations the page holds that the list does not (yet).
 *
 * @param {object} state the chat state
 * @returns {number}
 */
export const alertUnread = (state) => {
    const listed = new Set();
    let total = 0;
    (state.panel ? state.panel.items : []).forEach((c) => {
        const key = itemKey(c);
        if (key !== null) {
            listed.add(String(key));
        }
        if (!c.muted) {
            total += c.unread;
        }
    });
    Object.keys(state.convs).forEach((key) => {
        if (!listed.has(key)) {
            total += state.convs[key].unread || 0;
        }
    });
    return total;
};

/**
 * The page's title with the unread count in front, or as it is when there is none.
 *
 * @param {string} base the page's own title
 * @param {number} count
 * @returns {string}
 */
export const titleWithCount = (base, count) => (count > 0 ? '(' + count + ') ' + base : base);

/**
 * What a new message from someone else calls for.
 *
 * @param {object} prefs {sound, desktop}
 * @param {object} facts {hidden: the tab is hidden, open: its conversation's window is open here,
 *   muted, permission: Notification.permission}
 * @returns {{sound: boolean, desktop: boolean}}
 */
export const alertDecision = (prefs, facts) => {
    if (facts.muted) {
        return {sound: false, desktop: false};
    }
    return {
        // Heard when it would not be seen: the tab is hidden, or its window minimised or closed.
        sound: !!prefs.sound && (facts.hidden || !facts.open),
        desktop: !!prefs.desktop && facts.hidden && facts.permission === 'granted',
    };
};

/**
 * The browser's side of the alerts.
 *
 * @param {object} deps
 * @param {Window} deps.view
 * @param {function(string, *=): string} deps.str
 * @param {number} deps.userid
 * @param {Storage} [deps.storage] localStorage: the tabs claim messages there
 * @param {function(): number} [deps.now]
 * @param {function((number|string))} [deps.onOpen] a notification was clicked: open this conversation
 * @returns {object}
 */
export const createAlerts = (deps) => {
    const view = deps.view;
    const doc = view.document;
    const str = deps.str;
    const now = deps.now || (() => Date.now());
    const storage = deps.storage || null;
    const claimKey = 'block_dockchat_alerted_' + (deps.userid || 0);
    let state = null;
    let prefs = {sound: false, desktop: false};
    /** The title as the page set it, and the one written here (null: the page's title is shown). */
    let baseTitle = null;
    let writtenTitle = null;
    let audio = null;
    let lastSoundAt = -Infinity;
    /** Messages waiting for the list to say whether their conversation is muted. */
    let waiting = [];

    const hidden = () => doc.visibilityState === 'hidden' || doc.hidden === true;
    const Notify = () => (typeof view.Notification === 'function' ? view.Notification : null);

    const applyTitle = () => {
        const count = state && hidden() ? alertUnread(state) : 0;
        if (count > 0) {
            if (writtenTitle === null || doc.title !== writtenTitle) {
                // First time, or the page changed its title meanwhile: that is the title to come back to.
                baseTitle = doc.title;
            }
            writtenTitle = titleWithCount(baseTitle, count);
            if (doc.title !== writtenTitle) {
                doc.title = writtenTitle;
            }
        } else if (writtenTitle !== null) {
            if (doc.title === writtenTitle) {
                doc.title = baseTitle;
            }
            writtenTitle = null;
            baseTitle = null;
        }
    };

    /**
     * The AudioContext, made on first need. Browsers let it sound only after a user's gesture on the
     * page: `unlockSound` (the toggle's click, any click or key while the sound is on) starts it.
     *
     * @returns {AudioContext|null}
     */
    const audioContext = () => {
        if (!audio) {
            const Ctor = view.AudioContext || view.webkitAudioContext;
            if (typeof Ctor !== 'function') {
                return null;
            }
            try {
                audio = new Ctor();
            } catch (e) {
                return null;
            }
        }
        return audio;
    };

    const unlockSound = () => {
        const ctx = audioContext();
        if (ctx && ctx.state === 'suspended' && typeof ctx.resume === 'function') {
            ctx.resume().catch(() => {
                // Not allowed yet: the next gesture tries again.
            });
        }
    };

    /** Two short soft tones, rising (about a third of a second). */
    const chime = () => {
        const ctx = audioContext();
        if (!ctx) {
            return false;
        }
        unlockSound();
        const start = ctx.currentTime + 0.01;
        [[660, 0], [990, 0.13]].forEach(([hz, at]) => {
            const osc = ctx.createOscillator();
            const gain = ctx.createGain();
            osc.type = 'sine';
            osc.frequency.value = hz;
            gain.gain.setValueAtTime(0.0001, start + at);
            gain.gain.exponentialRampToValueAtTime(0.18, start + at + 0.02);
            gain.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.2);
            osc.connect(gain);
            gain.connect(ctx.destination);
            osc.start(start + at);
            osc.stop(start + at + 0.22);
        });
        return true;
    };

    /**
     * Claim a message for this tab: the user's tabs each get it, one alerts.
     *
     * @param {number} id the message id
     * @returns {boolean} false when another tab claimed it already
     */
    const claim = (id) => {
        if (!storage) {
            return true;
        }
        try {
            const list = JSON.parse(storage.getItem(claimKey) || '[]');
            const ids = Array.isArray(list) ? list : [];
            if (ids.includes(id)) {
                return false;
            }
            storage.setItem(claimKey, JSON.stringify(ids.concat([id]).slice(-CLAIMS_KEPT)));
        } catch (e) {
            // Quota or privacy mode: this tab alerts.
        }
        return true;
    };

    const subjectOf = (key, sender) => {
        if (isGroupKey(key)) {
            const listed = state.panel.items.find((c) => groupKey(c.conv) === key);
            const group = (listed && listed.name) || (state.groups[key] && state.groups[key].name) || '';
            return str('notificationin', {name: (sender && sender.fullname) || '', group});
        }
        return (sender && sender.fullname) || (state.people[key] && state.people[key].fullname) || str('newmessage');
    };

    const notify = (key, message, sender) => {
        const Ctor = Notify();
        if (!Ctor) {
            return;
        }
        try {
            const n = new Ctor(subjectOf(key, sender), {
                body: previewText(message.text, 140),
                // One per conversation: the next message replaces it.
                tag: 'block_dockchat_' + key,
                icon: sender && sender.avatar ? sender.avatar : undefined,
                lang: doc.documentElement ? doc.documentElement.lang : undefined,
            });
            n.onclick = () => {
                try {
                    view.focus();
                } catch (e) {
                    // Some browsers refuse: the conversation still opens.
                }
                if (deps.onOpen) {
                    deps.onOpen(key);
                }
                n.close();
            };
        } catch (e) {
            // Not allowed here (some mobile browsers only notify through a service worker).
        }
    };

    const decideNow = (entry, muted) => {
        const open = state.windows.some((w) => w.peer === entry.key && w.state === 'open');
        const permission = Notify() ? Notify().permission : 'denied';
        if (!hidden() && open) {
            // Seen here: no tab alerts for it.
            claim(entry.message.id);
            return;
        }
        const decision = alertDecision(prefs, {hidden: hidden(), open, muted, permission});
        if (!decision.sound && !decision.desktop) {
            return;
        }
        const go = () => {
            if (!claim(entry.message.id)) {
                return;
            }
            if (decision.sound && now() - lastSoundAt >= SOUND_GAP_MS && chime()) {
                lastSoundAt = now();
            }
            if (decision.desktop && hidden()) {
                notify(entry.key, entry.message, entry.sender);
            }
        };
        if (hidden()) {
            view.setTimeout(go, CLAIM_DELAY_MS);
        } else {
            go();
        }
    };

    const settleWaiting = (force) => {
        const still = [];
        waiting.forEach((entry) => {
            const muted = isMutedKey(state, entry.key, entry.message.conv);
            if (muted !== null || force || now() - entry.at >= MUTED_WAIT_MS) {
                decideNow(entry, muted === true);
            } else {
                still.push(entry);
            }
        });
        waiting = still;
    };

    doc.addEventListener('visibilitychange', applyTitle);
    // The sound may only start after a gesture on the page: the first one while it is on unlocks it.
    const onGesture = () => {
        if (prefs.sound) {
            unlockSound();
        }
    };
    doc.addEventListener('pointerdown', onGesture, true);
    doc.addEventListener('keydown', onGesture, true);

    return {
        /**
         * A new state of the chat: the title follows the unread count; waiting messages see the list.
         *
         * @param {object} next
         */
        update(next) {
            const listChanged = !state || !next.panel || state.panel !== next.panel;
            state = next;
            if (next.alerts) {
                prefs = next.alerts;
            }
            applyTitle();
            if (waiting.length && listChanged) {
                settleWaiting(false);
            }
        },
        /**
         * A message new to this page (not a resume's repeat).
         *
         * @param {number|string} key its window key
         * @param {object} message
         * @param {object} [sender] Person
         */
        arrived(key, message, sender) {
            if (!state || !message || message.from === state.me) {
                return;
            }
            const entry = {key, message, sender, at: now()};
            const muted = isMutedKey(state, key, message.conv);
            if (muted !== null) {
                decideNow(entry, muted);
                return;
            }
            // A conversation the list does not hold (new, or further down than its pages): the list's
            // first page is asked for again (./panel.js), which says whether it is muted.
            waiting.push(entry);
            view.setTimeout(() => settleWaiting(false), MUTED_WAIT_MS);
        },
        /** @returns {string} 'granted', 'denied' or 'default' ('denied' without the API) */
        permission() {
            const Ctor = Notify();
            return Ctor ? Ctor.permission : 'denied';
        },
        /**
         * Ask for the permission to notify. Call it from the user's click (never on load).
         *
         * @returns {Promise<string>} the permission
         */
        requestPermission() {
            const Ctor = Notify();
            if (!Ctor) {
                return Promise.resolve('denied');
            }
            if (Ctor.permission !== 'default') {
                return Promise.resolve(Ctor.permission);
            }
            try {
                // Older browsers take a callback instead of returning a promise.
                return new Promise((resolve) => {
                    const asked = Ctor.requestPermission(resolve);
                    if (asked && typeof asked.then === 'function') {
                        asked.then(resolve, () => resolve(Ctor.permission));
                    }
                });
            } catch (e) {
                return Promise.resolve(Ctor.permission);
            }
        },
        unlockSound,
        stop() {
            doc.removeEventListener('visibilitychange', applyTitle);
            doc.removeEventListener('pointerdown', onGesture, true);
            doc.removeEventListener('keydown', onGesture, true);
            writtenTitle = null;
        },
    };
};

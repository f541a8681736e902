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
 * This tab's activity for presence (PROTOCOL §5.2): 'hidden' while the document is hidden, 'idle' after 5 minutes
 * without pointer, key or touch input, else 'active'. The dock reports changes through its transport (./tablink.js
 * combines the tabs of a browser: the user is away only when every tab is idle or hidden).
 *
 * Input only records a time; one timer, armed for the moment the tab would turn idle, looks again then. Becoming
 * visible counts as input (the user just switched to the tab).
 *
 * @module     block_dockchat/activity
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

import {ACTIVITY} from './protocol.js';

/** No input for this long makes a tab idle. */
export const IDLE_MS = 5 * 60 * 1000;

/** The events that count as input (passive listeners: they record a time and nothing else). */
export const INPUT_EVENTS = Object.freeze(['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'focus']);

/**
 * The activity of several tabs together: active if one is, else idle if one is, else hidden.
 *
 * @param {Iterable<string>} states
 * @returns {string}
 */
export const combineActivity = (states) => {
    let idle = false;
    for (const s of states) {
        if (s === ACTIVITY.ACTIVE) {
            return ACTIVITY.ACTIVE;
        }
        idle = idle || s === ACTIVITY.IDLE;
    }
    return idle ? ACTIVITY.IDLE : ACTIVITY.HIDDEN;
};

/**
 * Watch a tab's activity.
 *
 * @param {object} deps
 * @param {Window} deps.view the window (its document and events)
 * @param {function(string)} deps.onChange told each new state
 * @param {number} [deps.idleMs]
 * @param {{setTimeout: function, clearTimeout: function}} [deps.timers]
 * @param {function(): number} [deps.now] clock in ms
 * @returns {{state: string, stop: function}}
 */
export const createActivityMonitor = (deps) => {
    const view = deps.view;
    const doc = view.document;
    const idleMs = deps.idleMs || IDLE_MS;
    const timers = deps.timers || view;
    const now = deps.now || (() => Date.now());
    let lastInput = now();
    let timer = null;
    const compute = () => {
        if (doc.visibilityState === 'hidden') {
            return ACTIVITY.HIDDEN;
        }
        return now() - lastInput >= idleMs ? ACTIVITY.IDLE : ACTIVITY.ACTIVE;
    };
    let state = compute();
    const look = () => {
        timer = null;
        const next = compute();
        if (next === ACTIVITY.ACTIVE) {
            timer = timers.setTimeout(look, Math.max(1000, lastInput + idleMs - now()));
        }
        if (next !== state) {
            state = next;
            deps.onChange(state);
        }
    };
    const onInput = () => {
        lastInput = now();
        if (state !== ACTIVITY.ACTIVE && doc.visibilityState !== 'hidden') {
            if (timer !== null) {
                timers.clearTimeout(timer);
            }
            look();
        }
    };
    const onVisibility = () => {
        if (doc.visibilityState !== 'hidden') {
            lastInput = now();
        }
        if (timer !== null) {
            timers.clearTimeout(timer);
        }
        look();
    };
    const options = {passive: true, capture: true};
    INPUT_EVENTS.forEach((type) => view.addEventListener(type, onInput, options));
    doc.addEventListener('visibilitychange', onVisibility);
    if (state === ACTIVITY.ACTIVE) {
        timer = timers.setTimeout(look, idleMs);
    }
    return {
        get state() {
            return state;
        },
        stop() {
            INPUT_EVENTS.forEach((type) => view.removeEventListener(type, onInput, options));
            doc.removeEventListener('visibilitychange', onVisibility);
            if (timer !== null) {
                timers.clearTimeout(timer);
                timer = null;
            }
        },
    };
};

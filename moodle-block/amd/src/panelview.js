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
 * The DOM of the block's panel (part of the renderer, ./renderer.js, which calls it on every render):
 * the people search, the tabs, the Chats list and the People tab (courses from template
 * block_dockchat/roster_course) of template block_dockchat/block.
 *
 * Items come from templates block_dockchat/conversation and block_dockchat/person_result (user data
 * escaped by Mustache) and are replaced only when what they show changed, so focus and scroll stay.
 * Opening a chat uses the renderer's own `data-action="open-chat"`; the panel's intents (tab, search,
 * more) go to the controller through `onIntent`.
 *
 * @module     block_dockchat/panelview
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

import {selectedTab, unreadTotal, conversationModel, timeAgo, roleName, TAB_CHATS, TAB_ONLINE, TAB_PEOPLE} from './panel.js';
import {countStr, presenceText} from './strings.js';
import {presenceOf} from './state.js';

/** Distance from the end of the list at which the next page is asked for. */
const NEAR_END_PX = 48;
/** How often the times of the list are brought up to date. */
const TIME_REFRESH_MS = 60000;

/**
 * Create the panel's view.
 *
 * @param {object} options
 * @param {Document} options.doc
 * @param {function(string, object): Promise<string>} options.renderTemplate
 * @param {function(string, *=): string} options.str
 * @param {function(object)} options.onIntent
 * @param {string} [options.lang] BCP 47
 * @returns {{render: function(Element, object, number): Promise, focusPeer: function(number): boolean}}
 */
export const createPanelView = (options) => {
    const {doc, renderTemplate, str, onIntent} = options;
    const view = doc.defaultView || globalThis;
    const lang = (options.lang || 'en').replace('_', '-');
    const formats = (() => {
        const make = (l) => ({
            clock: new Intl.DateTimeFormat(l, {hour: 'numeric', minute: '2-digit'}),
            weekday: new Intl.DateTimeFormat(l, {weekday: 'short'}),
            day: new Intl.DateTimeFormat(l, {day: 'numeric', month: 'short'}),
            full: new Intl.DateTimeFormat(l, {dateStyle: 'full', timeStyle: 'short'}),
            relative: typeof Intl.RelativeTimeFormat === 'function'
                ? new Intl.RelativeTimeFormat(l, {numeric: 'auto', style: 'short'}) : null,
        });
        try {
            return make(lang);
        } catch (e) {
            return make('en');
        }
    })();

    let root = null;
    /** @type {Map<number, {el: Element, sig: string}>} conversation id -> item */
    const convEls = new Map();
    /** @type {Map<number, Element>} person id -> result */
    let personEls = new Map();
    /** @type {Map<number, {el: Element, sig: string}>} course id -> section */
    const courseEls = new Map();
    let shownResults = null;
    let timeTimer = null;
    /** Whether the alerts' settings menu is open. */
    let settingsOpen = false;
    let documentBound = false;
    let lastState = null;

    const region = (name) => root.querySelector('[data-region="' + name + '"]');
    const toElement = (html) => {
        const tpl = doc.createElement('template');
        tpl.innerHTML = String(html).trim();
        return tpl.content.firstElementChild;
    };
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

    /**
     * The time of a last message as the list shows it.
     *
     * @param {number} seconds
     * @param {number} nowMs
     * @returns {string}
     */
    const timeText = (seconds, nowMs) => {
        const when = new Date(seconds * 1000);
        const ago = timeAgo(seconds, nowMs);
        switch (ago.unit) {
            case 'now':
                return formats.relative ? formats.relative.format(0, 'second') : formats.clock.format(when);
            case 'minutes':
                return formats.relative ? formats.relative.format(-ago.value, 'minute') : formats.clock.format(when);
            case 'today':
                return formats.clock.format(when);
            case 'yesterday':
                return str('yesterday');
            case 'week':
                return formats.weekday.format(when);
            default:
                return formats.day.format(when);
        }
    };

    const tabs = () => Array.from(root.querySelectorAll('[data-action="panel-tab"]'));

    // ---- Events. -------------------------------------------------------------------------------

    const onClick = (event) => {
        const el = event.target.closest('[data-action]');
        if (!el || !root.contains(el)) {
            return;
        }
        const action = el.getAttribute('data-action');
        if (action === 'panel-tab') {
            event.preventDefault();
            onIntent({type: 'panelTab', tab: el.getAttribute('data-tab')});
        } else if (action === 'toggle-course') {
            event.preventDefault();
            onIntent({type: 'courseFold', course: Number(el.getAttribute('data-course'))});
        } else if (action === 'more-members') {
            event.preventDefault();
            onIntent({type: 'moreMembers', course: Number(el.getAttribute('data-course'))});
        } else if (action === 'load-more') {
            event.preventDefault();
            onIntent({type: 'loadmore'});
        } else if (action === 'toggle-settings') {
            event.preventDefault();
            showSettings(!settingsOpen, !settingsOpen);
        }
    };

    /**
     * Open or close the alerts' settings menu.
     *
     * @param {boolean} open
     * @param {boolean} [focusIn] move the focus to its first toggle (opened from the gear)
     */
    const showSettings = (open, focusIn) => {
        settingsOpen = open;
        renderSettings();
        const menu = region('settings-menu');
        if (open && focusIn && menu) {
            const first = menu.querySelector('input');
            if (first) {
                first.focus();
            }
        }
    };

    const onChange = (event) => {
        const input = event.target;
        if (!input.matches || !input.matches('[data-action="alert-pref"]')) {
            return;
        }
        // The box shows the preference as the state holds it: it changes when the state does (a
        // notification permission the browser refuses leaves it off).
        const wanted = input.checked;
        input.checked = !wanted;
        onIntent({type: 'alertPref', name: input.getAttribute('data-pref'), value: wanted});
    };

    const onDocumentClick = (event) => {
        if (settingsOpen && root && !(event.target.closest && event.target.closest('[data-region="settings"]'))) {
            showSettings(false);
        }
    };

    const results = () => Array.from(root.querySelectorAll('[data-region="search-list"] [data-action="open-chat"]'));

    const clearSearch = (input) => {
        input.value = '';
        onIntent({type: 'search', text: ''});
        input.focus();
    };

    const onKeydown = (event) => {
        const target = event.target;
        if (!target.closest) {
            return;
        }
        // Tabs (ARIA tabs pattern): arrows, Home and End move to a tab and select it.
        if (target.matches('[data-action="panel-tab"]')) {
            const all = tabs();
            const i = all.indexOf(target);
            let next = -1;
            if (event.key === 'ArrowRight' || event.key === 'ArrowDown') {
                next = (i + 1) % all.length;
            } else if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') {
                next = (i - 1 + all.length) % all.length;
            } else if (event.key === 'Home') {
                next = 0;
            } else if (event.key === 'End') {
                next = all.length - 1;
            }
            if (next >= 0) {
                event.preventDefault();
                onIntent({type: 'panelTab', tab: all[next].getAttribute('data-tab')});
                all[next].focus();
            }
            return;
        }
        if (event.key === 'Escape' && settingsOpen && target.closest('[data-region="settings"]')) {
            event.preventDefault();
            event.stopPropagation();
            showSettings(false);
            const gear = root.querySelector('[data-action="toggle-settings"]');
            if (gear) {
                gear.focus();
            }
            return;
        }
        const input = region('search-input');
        if (target === input) {
            if (event.key === 'Escape' && input.value !== '') {
                event.preventDefault();
                event.stopPropagation();
                clearSearch(input);
            } else if (event.key === 'Enter' && !event.isComposing) {
                // Enter opens the first person found for what is typed.
                event.preventDefault();
                const first = results()[0];
                if (first && !region('search-results').hidden) {
                    first.click();
                }
            } else if (event.key === 'ArrowDown') {
                const first = results()[0];
                if (first && !region('search-results').hidden) {
                    event.preventDefault();
                    first.focus();
                }
            }
            return;
        }
        if (target.closest('[data-region="search-list"]')) {
            const all = results();
            const i = all.indexOf(target.closest('[data-action="open-chat"]'));
            if (event.key === 'ArrowDown' && i >= 0 && i < all.length - 1) {
                event.preventDefault();
                all[i + 1].focus();
            } else if (event.key === 'ArrowUp' && i >= 0) {
                event.preventDefault();
                (i === 0 ? input : all[i - 1]).focus();
            } else if (event.key === 'Escape') {
                event.preventDefault();
                event.stopPropagation();
                clearSearch(input);
            }
        }
    };

    const onInput = (event) => {
        if (event.target.matches && event.target.matches('[data-region="search-input"]')) {
            onIntent({type: 'search', text: event.target.value});
        }
    };

    const onScroll = (event) => {
        const list = event.target;
        if (list.matches && list.matches('[data-region="conversations"]')
                && list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_END_PX) {
            onIntent({type: 'loadmore'});
        }
    };

    const attach = (el) => {
        root = el;
        convEls.clear();
        courseEls.clear();
        personEls = new Map();
        shownResults = null;
        el.addEventListener('click', onClick);
        el.addEventListener('keydown', onKeydown);
        el.addEventListener('input', onInput);
        el.addEventListener('change', onChange);
        el.addEventListener('scroll', onScroll, true);
        if (!documentBound) {
            // A click elsewhere closes the settings menu.
            documentBound = true;
            doc.addEventListener('click', onDocumentClick);
        }
        if (timeTimer === null) {
            timeTimer = view.setInterval(() => refreshTimes(Date.now()), TIME_REFRESH_MS);
        }
    };

    const refreshTimes = (nowMs) => {
        if (!root) {
            return;
        }
        root.querySelectorAll('[data-region="conversations"] [data-region="time"]').forEach((el) => {
            setText(el, timeText(Number(el.getAttribute('data-time')), nowMs));
        });
    };

    // ---- Render. -------------------------------------------------------------------------------

    const renderTabs = (state) => {
        const panel = state.panel;
        const selected = selectedTab(panel);
        tabs().forEach((tab) => {
            const on = tab.getAttribute('data-tab') === selected;
            setAttr(tab, 'aria-selected', on ? 'true' : 'false');
            setAttr(tab, 'tabindex', on ? '0' : '-1');
        });
        setHidden(region('chats-panel'), selected !== TAB_CHATS);
        setHidden(region('online-panel'), selected !== TAB_ONLINE);
        setHidden(region('people-panel'), selected !== TAB_PEOPLE);
        const unread = unreadTotal(panel);
        const badge = region('chats-unread');
        setHidden(badge, !unread);
        setText(badge, unread ? String(unread) : '');
        setAttr(badge, 'aria-label', countStr(str, 'unreadcount', unread));
        // The Online tab says how many are online when that is known (the renderer writes the count).
        const count = region('count');
        setHidden(region('online-label'), !!(count && count.textContent.trim()));
    };

    /**
     * The alerts' settings: the gear's state, the toggles as the preferences are, and why desktop
     * notifications do not show in this browser (not allowed yet, or blocked).
     */
    const renderSettings = () => {
        const gear = root && root.querySelector('[data-action="toggle-settings"]');
        if (!gear) {
            return;
        }
        setAttr(gear, 'aria-expanded', settingsOpen ? 'true' : 'false');
        setHidden(region('settings-menu'), !settingsOpen);
        const alerts = lastState && lastState.alerts;
        if (!alerts) {
            return;
        }
        const sound = root.querySelector('[data-action="alert-pref"][data-pref="sound"]');
        const desktop = root.querySelector('[data-action="alert-pref"][data-pref="desktop"]');
        if (sound && sound.checked !== alerts.sound) {
            sound.checked = alerts.sound;
        }
        const notifying = alerts.desktop && alerts.permission === 'granted';
        if (desktop && desktop.checked !== notifying) {
            desktop.checked = notifying;
        }
        let hint = '';
        if (alerts.permission === 'denied') {
            hint = str('desktopblocked');
        } else if (alerts.desktop && alerts.permission !== 'granted') {
            // On for the user (chosen on another device), not allowed in this browser yet.
            hint = str('desktopallow');
        }
        const hintEl = region('desktop-hint');
        setText(hintEl, hint);
        setHidden(hintEl, !hint);
    };

    const messageUrl = (conv) => {
        const base = root.getAttribute('data-messageurl') || '/message/index.php';
        return base + (base.indexOf('?') >= 0 ? '&' : '?') + 'convid=' + encodeURIComponent(String(conv));
    };

    const renderConversations = async(state, nowMs) => {
        const panel = state.panel;
        const list = region('conversations');
        const models = panel.items.map((c) => {
            const m = conversationModel(c, state.me);
            const presence = m.individual ? presenceOf(state, m.peer) : null;
            return Object.assign(m, {
                // The list's own status (it follows presence frames), with when an offline person was last seen.
                presencetext: presence ? presenceText(str, {status: c.status || 'offline', lastSeen: presence.lastSeen}, nowMs) : '',
                url: messageUrl(m.conv),
                timetext: m.time ? timeText(m.time, nowMs) : '',
                timetitle: m.time ? formats.full.format(new Date(m.time * 1000)) : '',
                unreadlabel: m.unread ? countStr(str, 'unreadcount', m.unread) : '',
            });
        });
        const sigs = models.map((m) => JSON.stringify(m));
        const stale = models.filter((m, i) => !convEls.has(m.conv) || convEls.get(m.conv).sig !== sigs[i]);
        const html = await Promise.all(stale.map((m) => renderTemplate('conversation', m)));
        const active = doc.activeElement;
        stale.forEach((m, i) => {
            const el = toElement(html[i]);
            const old = convEls.get(m.conv);
            const refocus = old && active && old.el.contains(active);
            if (old) {
                old.el.replaceWith(el);
            }
            convEls.set(m.conv, {el, sig: JSON.stringify(m)});
            if (refocus) {
                const link = el.querySelector('a');
                if (link) {
                    link.focus();
                }
            }
        });
        const wanted = new Set(models.map((m) => m.conv));
        convEls.forEach((entry, id) => {
            if (!wanted.has(id)) {
                entry.el.remove();
                convEls.delete(id);
            }
        });
        let cursor = list.firstElementChild;
        models.forEach((m) => {
            const el = convEls.get(m.conv).el;
            if (el === cursor) {
                cursor = cursor.nextElementSibling;
            } else {
                list.insertBefore(el, cursor);
            }
        });
        setHidden(region('chats-loading'), panel.loaded || !state.welcomed);
        setHidden(region('chats-empty'), !panel.loaded || panel.items.length > 0);
        setHidden(root.querySelector('[data-action="load-more"]'), !(panel.loaded && panel.more));
    };

    /**
     * The People tab: one section per course (folded or not), its groups and its people, each
     * section redrawn only when what it shows changed.
     *
     * @param {object} state
     */
    const renderPeople = async(state) => {
        const panel = state.panel;
        const list = region('roster');
        if (!list) {
            return;
        }
        const models = (panel.courses || []).map((c) => {
            const m = panel.members[c.id];
            const expanded = !panel.folded[c.id];
            return {
                id: c.id,
                name: c.name,
                expanded,
                hasgroups: c.groups.length > 0,
                groups: c.groups.map((g) => ({
                    conv: g.conv,
                    name: g.name,
                    image: g.image,
                    memberstext: str('membersonline', {
                        members: countStr(str, 'membercount', g.members),
                        online: countStr(str, 'onlinemembers', g.online),
                    }),
                })),
                people: m ? m.items.map((p) => ({
                    id: p.id, fullname: p.fullname, avatar: p.avatar, onlineclass: p.online ? ' is-online' : '',
                    statustext: str(p.online ? 'online' : 'offline'), rolename: roleName(p.role, str),
                })) : [],
                loading: expanded && (!m || (m.loading && m.items.length === 0)),
                more: expanded && !!m && m.more && !m.loading,
                empty: expanded && !!m && !m.loading && m.items.length === 0 && c.groups.length === 0,
            };
        });
        const sigs = models.map((m) => JSON.stringify(m));
        const stale = models.filter((m, i) => !courseEls.has(m.id) || courseEls.get(m.id).sig !== sigs[i]);
        const html = await Promise.all(stale.map((m) => renderTemplate('roster_course', m)));
        const active = doc.activeElement;
        stale.forEach((m, i) => {
            const el = toElement(html[i]);
            const old = courseEls.get(m.id);
            // The focused control comes back in the new section (a fold, a page, a presence change).
            let refocus = null;
            if (old && active && old.el.contains(active)) {
                refocus = [active.getAttribute('data-action'), active.getAttribute('data-userid'), active.getAttribute('data-window')];
            }
            if (old) {
                old.el.replaceWith(el);
            }
            courseEls.set(m.id, {el, sig: JSON.stringify(m)});
            if (refocus) {
                const sel = '[data-action="' + refocus[0] + '"]' + (refocus[1] ? '[data-userid="' + refocus[1] + '"]' : '')
                    + (refocus[2] ? '[data-window="' + refocus[2] + '"]' : '');
                const again = el.querySelector(sel) || el.querySelector('[data-action="toggle-course"]');
                if (again) {
                    again.focus();
                }
            }
        });
        const wanted = new Set(models.map((m) => m.id));
        courseEls.forEach((entry, id) => {
            if (!wanted.has(id)) {
                entry.el.remove();
                courseEls.delete(id);
            }
        });
        let cursor = list.firstElementChild;
        models.forEach((m) => {
            const el = courseEls.get(m.id).el;
            if (el === cursor) {
                cursor = cursor.nextElementSibling;
            } else {
                list.insertBefore(el, cursor);
            }
        });
        setHidden(region('people-loading'), panel.courses !== null || !state.welcomed);
        setHidden(region('people-empty'), panel.courses === null || panel.courses.length > 0);
    };

    const renderSearch = async(state) => {
        const panel = state.panel;
        const input = region('search-input');
        if (!panel.query && input.value.trim().length >= 2) {
            // Cleared elsewhere (Escape in another part): the box follows.
            input.value = '';
        }
        const box = region('search-results');
        const status = region('search-status');
        const current = panel.results !== null && panel.resultsFor === panel.query;
        const people = panel.query && panel.results ? panel.results : [];
        if (people !== shownResults) {
            const list = region('search-list');
            const html = await Promise.all(people.map((p) => {
                const seen = presenceOf(state, p.id).lastSeen;
                const presencetext = presenceText(str, {status: p.status, lastSeen: seen}, Date.now());
                return renderTemplate('person_result', Object.assign({}, p, {
                    away: p.status === 'away',
                    presencetext,
                    lastseen: p.status === 'offline' && seen ? presencetext : '',
                }));
            }));
            const active = doc.activeElement;
            const focusedId = active && list.contains(active) ? Number(active.getAttribute('data-userid')) : 0;
            const next = new Map();
            people.forEach((p, i) => next.set(p.id, toElement(html[i])));
            list.replaceChildren(...next.values());
            personEls = next;
            shownResults = people;
            if (focusedId) {
                const again = personEls.get(focusedId);
                const button = again && again.querySelector('[data-action="open-chat"]');
                (button || input).focus();
            }
        }
        setHidden(box, !panel.query || people.length === 0);
        let text = '';
        if (panel.query && current && people.length === 0) {
            text = str('nobodyfound');
        } else if (panel.query && !current && panel.searching) {
            text = str('searching');
        }
        setText(status, text);
        setHidden(status, text === '');
    };

    return {
        /**
         * Focus the conversation with a person (or a group) in the Chats list, when that list is shown.
         *
         * @param {number|string} peer a window key: a user id, or 'c' + a group's conversation id
         * @returns {boolean} whether it did
         */
        focusPeer(peer) {
            const panelEl = root && region('chats-panel');
            const key = String(peer).replace(/[^c0-9]/g, '');
            const link = panelEl && !panelEl.hidden && key
                ? panelEl.querySelector('[data-action="open-chat"][data-window="' + key + '"]') : null;
            if (link) {
                link.focus();
            }
            return !!link;
        },
        /**
         * Draw the panel of this state into the block.
         *
         * @param {Element|null} blockRoot the block's `[data-region="block_dockchat-online"]`
         * @param {object} state the chat state
         * @param {number} nowMs
         * @returns {Promise}
         */
        async render(blockRoot, state, nowMs) {
            if (!blockRoot || !state.panel || !blockRoot.querySelector('[data-region="conversations"]')) {
                return;
            }
            if (blockRoot !== root) {
                attach(blockRoot);
            }
            lastState = state;
            renderTabs(state);
            renderSettings();
            await renderConversations(state, nowMs);
            await renderPeople(state);
            await renderSearch(state);
        },
    };
};

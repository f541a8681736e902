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
 * Moodle entry point of the dock chat: `js_call_amd('block_dockchat/main', 'init', [config])`.
 *
 * The only module that imports Moodle's AMD modules. It adapts them to the client's injected
 * interfaces: tokens from the page (the first one) and from the external function `block_dockchat_get_token`
 * (core/ajax: reconnects, refreshes), strings from
 * core/str, templates from the page (./pagetemplates.js) or core/templates, the alert preferences saved as Moodle user preferences
 * (core/ajax: core_user_update_user_preferences); everything else is the shared client (./dock.js).
 *
 * @module     block_dockchat/main
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

import Ajax from 'core/ajax';
import * as Str from 'core/str';
import Templates from 'core/templates';
import Mustache from 'core/mustache';
import Notification from 'core/notification';
import {startDock} from './dock.js';
import {withPageToken} from './transport.js';
import {STRING_KEYS, makeStr} from './strings.js';
import {FIRST_RENDER_TEMPLATES} from './renderer.js';
import {readPageTemplates, makePageRenderer} from './pagetemplates.js';

const COMPONENT = 'block_dockchat';
let controller = null;

/**
 * Strings from core/str (from the page's M.str when they came with it).
 *
 * @param {Array<{key: string, component: string, param: *}>} requests
 * @returns {Promise<string[]>}
 */
const getStrings = (requests) => Promise.resolve(typeof Str.getStrings === 'function' ? Str.getStrings(requests)
    : Str.get_strings(requests));

/**
 * Load the client's strings in one request.
 *
 * @returns {Promise<object>} key -> string
 */
const loadStrings = () => {
    const requests = STRING_KEYS.map((key) => ({key, component: COMPONENT}));
    return getStrings(requests).then((values) => {
        const map = {};
        STRING_KEYS.forEach((key, i) => {
            map[key] = values[i];
        });
        return map;
    });
};

/**
 * A fresh token for the logged-in user.
 *
 * Fetched with nosessionupdate: refreshing the token every few minutes must not keep an idle
 * Moodle session alive (a forgotten tab would otherwise never reach sessiontimeout, and dockchatd
 * closes the chat when the session ends).
 *
 * @returns {Promise<{token: string, exp: number, wsurl: string}>}
 */
const getToken = () => Promise.resolve(
    Ajax.call([{methodname: 'block_dockchat_get_token', args: {}}], true, true, true)[0]
);

/**
 * Store an alert preference for the user, in Moodle's user preferences (declared by the block's lib.php
 * block_dockchat_user_preferences): every device of the user gets it with its next page.
 *
 * @param {string} name 'sound' or 'desktop'
 * @param {boolean} value
 * @returns {Promise}
 */
const savePref = (name, value) => Promise.resolve(Ajax.call([{
    methodname: 'core_user_update_user_preferences',
    args: {preferences: [{type: COMPONENT + '_' + name, value: value ? '1' : '0'}]},
}])[0]);

/**
 * Star or unstar a conversation through Moodle's own web service (core_favourites writes it; dockchatd
 * only relays it, PROTOCOL §4.1).
 *
 * @param {number} conversationid Moodle's conversation id
 * @param {boolean} on star (true) or unstar
 * @returns {Promise}
 */
const setStar = (conversationid, on) => Promise.resolve(Ajax.call([{
    methodname: on ? 'core_message_set_favourite_conversations' : 'core_message_unset_favourite_conversations',
    args: {userid: 0, conversations: [conversationid]},
}])[0]);

/**
 * Render a template through core/templates.
 *
 * @param {string} fullname component/name
 * @param {object} context
 * @returns {Promise<string>}
 */
const renderWithCore = (fullname, context) => Templates.renderForPromise(fullname, context).then(({html}) => html);

/**
 * Start the dock (once per page: a module-level guard; a second call or a second block instance opens no
 * second socket and no second dock).
 *
 * @param {object} config {wsurl, userid, blockregion, lang, prefs, launcher, token?, tokenexp?, now?}: prefs the
 *     user's alert preferences ({sound, desktop}); launcher where the list opens from without the block
 *     ('navbar', 'floating', 'off'); token, tokenexp and now (Unix seconds, the page's clock) are the first
 *     token, minted with the page
 */
export const init = (config) => {
    const cfg = config || {};
    // Every block instance's list on the page (a course block beside the site-wide one gives two).
    const findLists = () => Array.from(document.querySelectorAll('[data-region="block_dockchat-online"]'));
    if (controller) {
        // Called again on this page: one dock, one socket; a block rendered since is attached (or points
        // to the list, when it is a second one).
        if (controller.renderer && findLists().length) {
            controller.renderer.attachLists(findLists());
        }
        return;
    }
    controller = {};
    // The first render may draw the previous page's dock at once (issue 15): its templates came with the page
    // (dock::templates_html) and are rendered here from there; any not in the page is asked for now from
    // core/templates, all together (it batches them), not one by one as the render meets them.
    const sources = readPageTemplates(document);
    const render = makePageRenderer({mustache: Mustache, getStrings, sources, fallback: renderWithCore});
    const renderTemplate = (name, context) => render(COMPONENT + '/' + name, context);
    if (typeof Templates.prefetchTemplates === 'function') {
        try {
            // Without the block, the launcher's panel shows the dock's own list (the block's template).
            const names = findLists().length || (cfg.launcher || 'off') === 'off' ? FIRST_RENDER_TEMPLATES
                : FIRST_RENDER_TEMPLATES.concat(['block']);
            const missing = names.map((name) => COMPONENT + '/' + name).filter((name) => !sources.has(name));
            if (missing.length) {
                Templates.prefetchTemplates(missing);
            }
        } catch (e) {
            // Only an optimisation: the render fetches what it lacks.
        }
    }
    loadStrings().then((strings) => {
        controller = startDock({
            getToken: withPageToken(getToken, cfg.token ? {token: cfg.token, exp: Number(cfg.tokenexp),
                now: Number(cfg.now)} : null),
            renderTemplate,
            str: makeStr(strings),
            userid: Number(cfg.userid),
            wsurl: cfg.wsurl,
            lang: cfg.lang || document.documentElement.lang || 'en',
            // Looked up now, so a block rendered by a later init call on this page is found too.
            blockRoot: findLists()[0] || null,
            launcher: cfg.launcher || 'off',
            navLauncher: document.querySelector('[data-region="block_dockchat-navlauncher"]'),
            onError: Notification.exception,
            prefs: cfg.prefs || {},
            savePref,
            setStar,
        });
        // A second block instance shows where the list is instead of a list that never connects.
        controller.renderer.attachLists(findLists());
        return controller;
    }).catch(Notification.exception);
};

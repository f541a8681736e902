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
 * The lang strings the client uses at run time (templates ask for theirs through `{{#str}}`).
 *
 * @module     block_dockchat/strings
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

/** Keys of block_dockchat strings used from JS. */
export const STRING_KEYS = [
    'charsleftmany', 'charsleftone', 'charsovermany', 'charsoverone', 'close', 'closechatwith', 'connected', 'connecting', 'connectionlost', 'disconnected',
    'error:blocked', 'error:contacts_only', 'error:conversation_disabled', 'error:internal', 'error:messaging_disabled',
    'error:no_permission', 'error:not_contactable', 'error:not_member', 'error:rate_limited', 'error:text_too_long', 'error:unknown',
    'error:unknown_user', 'loadingolder', 'messagelist', 'messagesender', 'minimise', 'moreconversationsmany',
    'moreconversationsone', 'newmessage', 'newmessagefrom', 'newmessagesmany', 'newmessagesone', 'nobodyonline', 'offline',
    'offlinereconnecting', 'online', 'onlinecount', 'openchatwith', 'reconnectnow',
    'restore', 'retry', 'seen', 'send', 'sending', 'sessionended', 'today', 'toolongtosend', 'typeamessage', 'typing',
    'unreadcountmany', 'unreadcountone', 'yesterday', 'you',
    // Group conversations.
    'membercountmany', 'membercountone', 'membersonline', 'newmessagein', 'onlinemembersmany', 'onlinemembersone', 'seenbymany', 'seenbynames', 'seenbyone', 'typingothersmany',
    'typingothersone',
    // The block's panel (./panelview.js).
    'nobodyfound', 'searching',
    // Phones: the launcher's name.
    'chats',
    // Background alerts (./alerts.js, the panel's settings).
    'desktopallow', 'desktopblocked', 'notificationin',
    // A second block on the page points to the list (./renderer.js).
    'listelsewhere', 'showchatlist',
    // Window actions (the conversation actions menu, delete for me).
    'addtofavourites', 'blockuser', 'blockuserconfirm', 'blockuserconfirmbutton', 'cancel', 'conversationactions', 'delete',
    'deleteallconfirm', 'deleteconversation', 'deleteforme', 'muteconversation', 'removefromfavourites', 'unblockuser',
    'unmuteconversation', 'youhaveblockeduser',
    // Presence: away, and when an offline person was last seen.
    'away', 'lastseendaysmany', 'lastseendaysone', 'lastseenhoursmany', 'lastseenhoursone', 'lastseenjustnow',
    'lastseenminutesmany', 'lastseenminutesone',
    // The People tab: Moodle's default names of the standard roles.
    'role:coursecreator', 'role:editingteacher', 'role:frontpage', 'role:guest', 'role:manager', 'role:student', 'role:teacher',
    'role:user',
];

/**
 * A synchronous string getter over a key -> string map, with Moodle's `{$a}` (and, for an object,
 * `{$a->name}`) substitution.
 *
 * @param {object} map
 * @returns {function(string, *=): string}
 */
export const makeStr = (map) => (key, a) => {
    const text = map[key] !== undefined ? String(map[key]) : '[[' + key + ']]';
    if (a === undefined || a === null) {
        return text;
    }
    if (typeof a === 'object') {
        // As get_string: `{$a->name}` from the object's properties.
        return text.replace(/\{\$a->(\w+)\}/g, (whole, name) => (a[name] !== undefined ? String(a[name]) : whole));
    }
    return text.replace(/\{\$a\}/g, String(a));
};

/**
 * A count in words, from the key's pair of strings for one (`<key>one`) and for any other number
 * (`<key>many`): Moodle has no plural rules, so this is the usual one/many split.
 *
 * @param {function(string, *=): string} str the string getter
 * @param {string} key the pair's common prefix, e.g. 'unreadcount'
 * @param {number} n
 * @returns {string}
 */
export const countStr = (str, key, n) => str(key + (n === 1 ? 'one' : 'many'), n);

/**
 * "Last seen 5 minutes ago" for someone offline (PROTOCOL §5.2 `last_seen`): minutes under an hour, hours under
 * a day, then days.
 *
 * @param {function(string, *=): string} str the string getter
 * @param {number} lastSeen Unix seconds
 * @param {number} nowMs the clock, ms
 * @returns {string}
 */
export const lastSeenText = (str, lastSeen, nowMs) => {
    const secs = Math.floor(nowMs / 1000) - lastSeen;
    if (secs < 60) {
        return str('lastseenjustnow');
    }
    if (secs < 3600) {
        return countStr(str, 'lastseenminutes', Math.floor(secs / 60));
    }
    if (secs < 86400) {
        return countStr(str, 'lastseenhours', Math.floor(secs / 3600));
    }
    return countStr(str, 'lastseendays', Math.floor(secs / 86400));
};

/**
 * A person's presence in words: "Online", "Away", "Last seen …", or "Offline" when that is not known.
 *
 * @param {function(string, *=): string} str the string getter
 * @param {{status: string, lastSeen: number}} presence as state.js presenceOf gives it
 * @param {number} nowMs the clock, ms
 * @returns {string}
 */
export const presenceText = (str, presence, nowMs) => {
    if (presence.status === 'online' || presence.status === 'away') {
        return str(presence.status);
    }
    return presence.lastSeen ? lastSeenText(str, presence.lastSeen, nowMs) : str('offline');
};

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
 * Find http(s) links in plain message text, safely.
 *
 * `tokenize` is pure: it splits text into text and link tokens. Only absolute http:// and https://
 * URLs (and www. hosts, linked as https) become links; `javascript:`, `data:` and anything else stay
 * text. The renderer builds the nodes from the tokens with textContent, never innerHTML.
 *
 * @module     block_dockchat/linkify
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"']+/gi;
const TRAILING = /[.,;:!?)\]}'"»]+$/;

/**
 * A safe href for a candidate link, or null.
 *
 * @param {string} candidate
 * @returns {string|null}
 */
export const safeHref = (candidate) => {
    let href = String(candidate);
    if (/^www\./i.test(href)) {
        href = 'https://' + href;
    }
    if (!/^https?:\/\/[^\s/?#]+/i.test(href)) {
        return null;
    }
    try {
        if (typeof URL === 'function') {
            const url = new URL(href);
            if (url.protocol !== 'http:' && url.protocol !== 'https:') {
                return null;
            }
            return url.href;
        }
    } catch (e) {
        return null;
    }
    return href;
};

/**
 * Split text into tokens.
 *
 * @param {string} text
 * @returns {Array<{type: 'text'|'link', value: string, href?: string}>}
 */
export const tokenize = (text) => {
    const tokens = [];
    const source = String(text === undefined || text === null ? '' : text);
    let last = 0;
    source.replace(URL_RE, (match, offset) => {
        let candidate = match;
        // Keep a closing bracket that has its opening one inside the URL (Wikipedia style links).
        const trail = candidate.match(TRAILING);
        if (trail) {
            let cut = trail[0];
            if (cut.startsWith(')') && candidate.includes('(')) {
                cut = cut.slice(1);
            }
            candidate = candidate.slice(0, candidate.length - cut.length);
        }
        const href = safeHref(candidate);
        if (!href) {
            return match;
        }
        if (offset > last) {
            tokens.push({type: 'text', value: source.slice(last, offset)});
        }
        tokens.push({type: 'link', value: candidate, href});
        last = offset + candidate.length;
        return match;
    });
    if (last < source.length) {
        tokens.push({type: 'text', value: source.slice(last)});
    }
    return tokens;
};

/**
 * Fill an element with the text, links made clickable: text nodes and anchors built with textContent.
 *
 * @param {Document} doc
 * @param {Element} element
 * @param {string} text
 */
export const renderInto = (doc, element, text) => {
    while (element.firstChild) {
        element.removeChild(element.firstChild);
    }
    tokenize(text).forEach((token) => {
        if (token.type === 'link') {
            const a = doc.createElement('a');
            a.setAttribute('href', token.href);
            a.setAttribute('target', '_blank');
            a.setAttribute('rel', 'noopener noreferrer nofollow');
            a.textContent = token.value;
            element.appendChild(a);
        } else {
            element.appendChild(doc.createTextNode(token.value));
        }
    });
};

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
 * A tiny Mustache renderer for hosts without core/templates (the dockchatd demo page).
 *
 * Supports what the block's templates use: `{{x}}` (HTML-escaped), `{{{x}}}` and `{{& x}}` (raw),
 * dotted names, `{{#section}}` (lists, objects, truthy values), `{{^inverted}}`, comments `{{! }}`,
 * and Moodle's string helper `{{#str}}key, component{{/str}}` / `{{#str}}key, component, param{{/str}}`
 * (the param is rendered as a template first, so `{{fullname}}` works; the result is escaped).
 *
 * @module     block_dockchat/mustache
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

const ESCAPES = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '/': '&#x2F;', '`': '&#x60;', '=': '&#x3D;'};

/**
 * HTML-escape a value.
 *
 * @param {*} value
 * @returns {string}
 */
export const escapeHtml = (value) => String(value === undefined || value === null ? '' : value)
    .replace(/[&<>"'`=/]/g, (c) => ESCAPES[c]);

const TAG_RE = /\{\{(\{?)\s*([#^/!&]?)\s*([\s\S]*?)\s*\}?\}\}/g;

/**
 * Parse a template into a tree.
 *
 * @param {string} template
 * @returns {object[]}
 */
const parse = (template) => {
    const root = {children: []};
    const stack = [root];
    let last = 0;
    let match;
    TAG_RE.lastIndex = 0;
    while ((match = TAG_RE.exec(template)) !== null) {
        const [whole, triple, sigil, name] = match;
        const top = stack[stack.length - 1];
        if (match.index > last) {
            top.children.push({type: 'text', value: template.slice(last, match.index)});
        }
        last = match.index + whole.length;
        if (sigil === '!') {
            continue;
        }
        if (sigil === '#' || sigil === '^') {
            const node = {type: sigil === '#' ? 'section' : 'inverted', name, children: [], start: last};
            top.children.push(node);
            stack.push(node);
        } else if (sigil === '/') {
            const open = stack.pop();
            if (!open || open.name !== name || stack.length === 0) {
                throw new Error('Unbalanced section: ' + name);
            }
            open.source = template.slice(open.start, match.index);
        } else {
            top.children.push({type: triple || sigil === '&' ? 'raw' : 'var', name});
        }
    }
    if (stack.length !== 1) {
        throw new Error('Unclosed section: ' + stack[stack.length - 1].name);
    }
    if (last < template.length) {
        root.children.push({type: 'text', value: template.slice(last)});
    }
    return root.children;
};

const lookup = (contexts, name) => {
    if (name === '.') {
        return contexts[contexts.length - 1];
    }
    const parts = name.split('.');
    for (let i = contexts.length - 1; i >= 0; i--) {
        const ctx = contexts[i];
        if (ctx !== null && typeof ctx === 'object' && parts[0] in ctx) {
            let value = ctx;
            for (const part of parts) {
                value = value === null || value === undefined ? undefined : value[part];
            }
            return value;
        }
    }
    return undefined;
};

const renderNodes = (nodes, contexts, helpers) => nodes.map((node) => {
    switch (node.type) {
        case 'text':
            return node.value;
        case 'var':
            return escapeHtml(lookup(contexts, node.name));
        case 'raw': {
            const v = lookup(contexts, node.name);
            return v === undefined || v === null ? '' : String(v);
        }
        case 'section': {
            if (helpers[node.name]) {
                return helpers[node.name](node.source, contexts);
            }
            const v = lookup(contexts, node.name);
            if (Array.isArray(v)) {
                return v.map((item) => renderNodes(node.children, contexts.concat([item]), helpers)).join('');
            }
            if (!v) {
                return '';
            }
            return renderNodes(node.children, typeof v === 'object' ? contexts.concat([v]) : contexts, helpers);
        }
        case 'inverted': {
            const v = lookup(contexts, node.name);
            return !v || (Array.isArray(v) && v.length === 0) ? renderNodes(node.children, contexts, helpers) : '';
        }
        default:
            return '';
    }
}).join('');

/**
 * Replace Moodle's `{$a}` and `{$a->name}` placeholders.
 *
 * @param {string} text
 * @param {*} a
 * @returns {string}
 */
export const formatString = (text, a) => {
    if (a === undefined || a === null) {
        return text;
    }
    return String(text).replace(/\{\$a(?:->(\w+))?\}/g, (m, prop) => {
        if (prop) {
            return a && typeof a === 'object' && prop in a ? String(a[prop]) : m;
        }
        return typeof a === 'object' ? m : String(a);
    });
};

/**
 * Render a template.
 *
 * @param {string} template
 * @param {object} context
 * @param {object} [strings] key -> string map (for `{{#str}}`); keys of other components are looked up
 *   as `component/key` then `key`
 * @returns {string}
 */
export const render = (template, context, strings) => {
    const map = strings || {};
    const helpers = {
        str: (source, contexts) => {
            const parts = source.split(',');
            const key = (parts.shift() || '').trim();
            const component = (parts.shift() || '').trim();
            const paramSource = parts.join(',').trim();
            const param = paramSource ? renderNodes(parse(paramSource), contexts, helpers) : undefined;
            const raw = map[component + '/' + key] !== undefined ? map[component + '/' + key]
                : (map[key] !== undefined ? map[key] : '[[' + key + ']]');
            // The param is already escaped; escape the string itself and then substitute.
            return formatString(escapeHtml(raw), param);
        },
    };
    return renderNodes(parse(template), [context || {}], helpers);
};

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
 * The templates that come with the page (issue 15 item 2): the dock's first-render templates, written into the
 * page by the block (dock::templates_html, a `<script type="application/json">` data element) and rendered here,
 * so a cold cache makes no template request before the dock is drawn.
 *
 * core/templates has no public way to take a template source (its cache belongs to its internal loader), and each
 * of its renders also waits for the theme's icon system (on a cold cache its icon map and icon template are fetched
 * too). These templates use no icon, partial or JavaScript: they are rendered with Moodle's own Mustache
 * (core/mustache, as core/templates has set it up: its escaping) with core/templates' `{{#str}}` and
 * `{{#cleanstr}}` semantics; their strings are asked for from core/str, which finds them in the page's M.str.
 * Any template not in the page goes to core/templates as before.
 *
 * @module     block_dockchat/pagetemplates
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

/** The data-region of the element (dock::TEMPLATES_REGION). */
export const TEMPLATES_REGION = 'block_dockchat-templates';

/**
 * The template sources the page carries, by full name ("block_dockchat/window").
 *
 * @param {Document} doc
 * @returns {Map<string, string>} empty when the page carries none or the element cannot be read
 */
export const readPageTemplates = (doc) => {
    const sources = new Map();
    const el = doc && doc.querySelector(`script[type="application/json"][data-region="${TEMPLATES_REGION}"]`);
    if (!el) {
        return sources;
    }
    try {
        // The script element's text (read only: this module writes nothing to the DOM).
        const data = JSON.parse(el.text || '{}');
        Object.entries((data && data.templates) || {}).forEach(([name, source]) => {
            if (typeof source === 'string') {
                sources.set(name, source);
            }
        });
    } catch (e) {
        // A broken element only costs the requests it would have saved.
        sources.clear();
    }
    return sources;
};

/**
 * The param of a `{{#str}}`: rendered against the context; a JSON object when it looks like one (as core/templates).
 *
 * @param {string} param
 * @returns {string|object}
 */
const parseParam = (param) => {
    if (/^{\s*"/m.test(param)) {
        try {
            const parsed = JSON.parse(param);
            if (parsed && typeof parsed === 'object') {
                return parsed;
            }
        } catch (e) {
            // Not JSON: the text is the param.
        }
    }
    return param;
};

/**
 * A renderTemplate(name, context) for the client that renders the page's templates itself and hands any other to
 * `fallback`.
 *
 * @param {object} options
 * @param {object} options.mustache Moodle's core/mustache
 * @param {function(Array<{key: string, component: string, param: *}>): Promise<string[]>} options.getStrings core/str
 * @param {Map<string, string>} options.sources full name -> source (readPageTemplates)
 * @param {function(string, object): Promise<string>} options.fallback renders a full name through core/templates
 * @returns {function(string, object): Promise<string>} takes the full name ("block_dockchat/window")
 */
export const makePageRenderer = ({mustache, getStrings, sources, fallback}) => {
    let uniq = 0;
    // The placeholders carry a random mark, so text in the context (a message that reads "[[_s0]]") is never
    // taken for one.
    const mark = Math.random().toString(36).slice(2, 10);
    return async(name, context) => {
        const source = sources.get(name);
        if (source === undefined) {
            return fallback(name, context);
        }
        const required = [];
        // Each {{#str}} leaves a placeholder and its string is asked for afterwards, as in core/templates; a
        // {{#cleanstr}} is the same string, HTML-escaped.
        const helper = (kind) => () => (sectionText, render) => {
            const parts = sectionText.split(',');
            const key = (parts.shift() || '').trim();
            const component = (parts.shift() || '').trim();
            let param = parts.join(',').trim();
            if (param !== '') {
                param = render(param);
            }
            required.push({key, component, param: parseParam(param)});
            return `[[_${kind}${mark}_${required.length - 1}]]`;
        };
        const view = Object.assign({}, context, {str: helper('s'), cleanstr: helper('c')});
        if (view.uniqid === undefined) {
            view.uniqid = 'dcp' + (uniq++);
        }
        const html = mustache.render(source, view).trim();
        if (!required.length) {
            return html;
        }
        const strings = await getStrings(required);
        return html.replace(new RegExp(`\\[\\[_([sc])${mark}_(\\d+)\\]\\]`, 'g'), (placeholder, kind, index) => {
            const text = strings[Number(index)];
            if (text === undefined || text === null) {
                return '';
            }
            return kind === 'c' ? mustache.escape(String(text)) : String(text);
        });
    };
};

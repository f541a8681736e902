// The demo page's stand-in for Moodle's core/templates: the block's Mustache templates rendered by the
// `mustache` package (the library Moodle ships as core/mustache; vendored by `npm run build:demo` into
// ./vendor/, demo only: Moodle pages render through core/templates), with the helpers the templates
// use added as lambdas the way core/templates adds them:
// - `{{#str}}key, component[, param]{{/str}}`: the param is rendered against the context first (so
//   `{{fullname}}` is HTML-escaped), then substituted for `{$a}` (or `{$a->name}` with a JSON object
//   param) in the string; the string itself is inserted as it is, like Moodle does (lang strings are
//   the site's, never user data) and never rendered again as a template;
// - `{{#cleanstr}}...{{/cleanstr}}`: the same, the whole result HTML-escaped.
// The templates use no partials and no other helper (pix, quote, js, userdate, shortentext): a test
// (tests/js/demo-templates.test.mjs) fails if one starts to, so the demo never silently drops it.
import Mustache from './vendor/mustache.mjs';

/**
 * Replace Moodle's `{$a}` and `{$a->name}` placeholders, as get_string does.
 *
 * @param {string} text
 * @param {*} a a string (for `{$a}`) or an object (for `{$a->name}`)
 * @returns {string}
 */
const substitute = (text, a) => {
    if (a === undefined || a === null || a === '') {
        return text;
    }
    return text.replace(/\{\$a(?:->(\w+))?\}/g, (placeholder, prop) => {
        if (prop) {
            return typeof a === 'object' && prop in a ? String(a[prop]) : placeholder;
        }
        return typeof a === 'object' ? placeholder : String(a);
    });
};

/**
 * The `{{#str}}` lambda over a key -> string map.
 *
 * @param {object} strings block_dockchat's strings by key; other components' as `component/key`
 * @returns {function(string, function(string): string): string}
 */
const stringHelper = (strings) => (sectionText, render) => {
    const parts = sectionText.split(',');
    const key = (parts.shift() || '').trim();
    const component = (parts.shift() || '').trim();
    let param = parts.join(',').trim();
    if (param !== '') {
        param = render(param);
    }
    if (/^{\s*"/m.test(param)) {
        try {
            const parsed = JSON.parse(param);
            if (parsed && typeof parsed === 'object') {
                param = parsed;
            }
        } catch (e) {
            // Not JSON: the rendered text is the param, as in Moodle.
        }
    }
    const text = strings[`${component}/${key}`] ?? strings[key];
    return text === undefined ? `[[${key}]]` : substitute(String(text), param);
};

/**
 * Render a template like core/templates renders it for the block.
 *
 * @param {string} template the template's source
 * @param {object} context
 * @param {object} strings key -> string map for `{{#str}}`
 * @returns {string} the HTML, trimmed as core/templates trims it
 */
export const render = (template, context, strings) => {
    const str = stringHelper(strings || {});
    const view = Object.assign({}, context, {
        str: () => str,
        cleanstr: () => (sectionText, renderText) => Mustache.escape(str(sectionText, renderText)),
    });
    return Mustache.render(template, view).trim();
};

// Client conventions of CONTRACTS §5: no Moodle imports outside main.js, relative imports with .js,
// only the renderer writes to the DOM, and every string the client uses exists in the English lang file.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readdirSync, readFileSync} from 'node:fs';
import {join, dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import {STRING_KEYS, countStr, makeStr} from '../../moodle-block/amd/src/strings.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const srcDir = join(root, 'moodle-block', 'amd', 'src');
const sources = readdirSync(srcDir).filter((f) => f.endsWith('.js'));
const read = (f) => readFileSync(join(srcDir, f), 'utf8');
/** Source without comments. */
const code = (f) => read(f).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
const langFile = readFileSync(join(root, 'lang', 'en', 'block_dockchat.php'), 'utf8');
const langKeys = new Set([...langFile.matchAll(/\$string\['([^']+)'\]/g)].map((m) => m[1]));
/** lang/en as a key -> string map (single-quoted PHP strings). */
const langMap = Object.fromEntries([...langFile.matchAll(/\$string\['([^']+)'\] = '((?:[^'\\]|\\.)*)';/g)]
    .map((m) => [m[1], m[2].replace(/\\(.)/g, '$1')]));

test('core modules import nothing from Moodle and use relative imports with .js', () => {
    for (const file of sources) {
        const imports = [...read(file).matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
        for (const spec of imports) {
            if (file === 'main.js' && spec.startsWith('core/')) {
                continue;
            }
            assert.match(spec, /^\.\/[\w-]+\.js$/, `${file} imports ${spec}`);
        }
    }
});

test('only renderer.js (with panelview.js, its block panel, and linkify.renderInto, called by it) touch the DOM', () => {
    const domApi = /\b(innerHTML|outerHTML|insertAdjacentHTML|appendChild|insertBefore|createElement|textContent|document\.write)\b/;
    for (const file of sources) {
        if (file === 'renderer.js' || file === 'panelview.js' || file === 'linkify.js') {
            continue;
        }
        assert.doesNotMatch(code(file), domApi, `${file} must not write to the DOM`);
    }
    assert.doesNotMatch(code('linkify.js'), /innerHTML/);
});

test('every string the client asks for exists in lang/en, and the list is complete', () => {
    for (const key of STRING_KEYS) {
        assert.ok(langKeys.has(key), `lang/en/block_dockchat.php lacks '${key}'`);
    }
    const used = new Set();
    for (const file of sources) {
        for (const m of read(file).matchAll(/\bstr\('([\w:]+)'/g)) {
            used.add(m[1]);
        }
    }
    for (const key of used) {
        assert.ok(STRING_KEYS.includes(key), `strings.js STRING_KEYS lacks '${key}' used in the client`);
    }
    for (const code of ['blocked', 'contacts_only', 'internal', 'messaging_disabled', 'no_permission', 'not_contactable', 'rate_limited', 'text_too_long', 'unknown_user']) {
        assert.ok(STRING_KEYS.includes('error:' + code));
    }
});

test('templates use only existing strings', () => {
    const dir = join(root, 'moodle-block', 'templates');
    for (const file of readdirSync(dir)) {
        for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/\{\{#str\}\}\s*([\w:]+)\s*,\s*(\w+)/g)) {
            assert.equal(m[2], 'block_dockchat', `${file}: ${m[1]}`);
            assert.ok(langKeys.has(m[1]), `${file} uses missing string ${m[1]}`);
        }
    }
});

test('counts in words have a string for one and one for many, and the client picks by the number', () => {
    const pairs = new Set();
    for (const file of sources) {
        for (const m of read(file).matchAll(/\bcountStr\(str, '([\w:]+)'/g)) {
            pairs.add(m[1]);
        }
    }
    assert.ok(pairs.has('unreadcount') && pairs.has('moreconversations'), [...pairs].join());
    for (const key of pairs) {
        for (const form of ['one', 'many']) {
            assert.ok(STRING_KEYS.includes(key + form), `STRING_KEYS lacks '${key}${form}'`);
            assert.ok(langKeys.has(key + form), `lang/en lacks '${key}${form}'`);
        }
    }
    const str = makeStr(langMap);
    assert.equal(countStr(str, 'unreadcount', 1), '1 unread message');
    assert.equal(countStr(str, 'unreadcount', 2), '2 unread messages');
    assert.equal(countStr(str, 'moreconversations', 1), '1 more conversation');
    assert.equal(countStr(str, 'moreconversations', 5), '5 more conversations');
    assert.equal(countStr(str, 'newmessages', 1), '1 new message');
    // No string of lang/en is a count written only in the plural.
    for (const [key, text] of Object.entries(langMap)) {
        assert.ok(!/^\{\$a\} .*s$/.test(text) || key.endsWith('many') || key === 'onlinecount', `${key}: '${text}' needs a one/many pair`);
    }
});

test('the strings the block sends with every page (dock::STRING_KEYS) are exactly the client\'s STRING_KEYS', () => {
    const php = readFileSync(join(root, 'moodle-block', 'classes', 'local', 'dock.php'), 'utf8');
    const list = php.match(/public const STRING_KEYS = \[([\s\S]*?)\];/);
    assert.ok(list, 'dock.php declares STRING_KEYS');
    const keys = [...list[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
    assert.deepEqual(keys, STRING_KEYS, 'update dock::STRING_KEYS with amd/src/strings.js');
    assert.match(php, /strings_for_js\(self::STRING_KEYS, 'block_dockchat'\)/);
});

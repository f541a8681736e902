// The demo page renders the block's templates through the `mustache` package (src/demo/assets/templates.js,
// the package vendored into src/demo/assets/vendor/) exactly as the hand-written engine it replaced did,
// with core/templates' `{{#str}}` semantics; and nothing of the package reaches the block (amd/, the zip).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {join, dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import {render} from '../../src/demo/assets/templates.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const templatesDir = join(root, 'moodle-block', 'templates');
const names = readdirSync(templatesDir).filter((f) => f.endsWith('.mustache')).map((f) => f.slice(0, -'.mustache'.length)).sort();
const source = (name) => readFileSync(join(templatesDir, `${name}.mustache`), 'utf8');
const exampleContext = (name) => {
    const m = source(name).match(/Example context \(json\):\s*(\{[\s\S]*?\n\s*\})\s*\n\}\}/);
    assert.ok(m, `${name} has an example context`);
    return JSON.parse(m[1]);
};
// The strings as the demo serves them at /lang/en.json (key -> string).
const strings = {};
for (const m of readFileSync(join(root, 'lang', 'en', 'block_dockchat.php'), 'utf8')
    .matchAll(/\$string\['([^']+)'\] = '((?:[^'\\]|\\.)*)';/g)) {
    strings[m[1]] = m[2].replace(/\\'/g, "'");
}

test('every template renders as captured (example and hostile contexts)', () => {
    // tests/js/fixtures/templates-rendered.json: first captured from the removed amd/src/mustache.js (the
    // package rendered every case byte-identical), trimmed as the client trims it, for each template's
    // example context, the same with every string value set to markup and quotes, and a few variants.
    // A template change shows here: look at the diff, then refresh the fixture with
    // DOCKCHAT_UPDATE_TEMPLATE_FIXTURES=1 npm run --silent test:unit
    const file = join(root, 'tests', 'js', 'fixtures', 'templates-rendered.json');
    const cases = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual([...new Set(cases.map((c) => c.template))].sort(), names, 'a captured case for every template');
    if (process.env.DOCKCHAT_UPDATE_TEMPLATE_FIXTURES === '1') {
        const fresh = cases.map((c) => ({...c, html: render(source(c.template), c.context, strings)}));
        writeFileSync(file, JSON.stringify(fresh, null, 2) + '\n');
        return;
    }
    for (const {template, label, context, html} of cases) {
        assert.equal(render(source(template), context, strings), html, `${template} (${label})`);
        // Whatever the template: no markup from a context value gets through unescaped.
        assert.doesNotMatch(render(source(template), context, strings), /<img src=x|onerror=alert/i, `${template} (${label}) escapes`);
    }
});

test('every template has a doc block and renders its example context with existing strings', () => {
    assert.ok(names.length >= 6);
    for (const name of names) {
        assert.match(source(name), new RegExp(`@template block_dockchat/${name}\\b`), `${name} has a doc block`);
        const html = render(source(name), exampleContext(name), strings);
        assert.doesNotMatch(html, /\[\[[\w:]+\]\]/, `${name}: every {{#str}} key exists in the lang file`);
        assert.ok(html.startsWith('<'), `${name} renders HTML`);
    }
});

test('the templates use no partial and no helper the demo lacks (it would vanish silently there)', () => {
    const helpers = new Set(['str', 'cleanstr']);
    for (const name of names) {
        const text = source(name);
        assert.doesNotMatch(text, /\{\{\s*[>=<$]/, `${name}: no partials, blocks or delimiter changes`);
        const variables = new Set(Object.keys(exampleContext(name)));
        for (const m of text.matchAll(/\{\{\s*[#^]\s*([\w.]+)\s*\}\}/g)) {
            assert.ok(helpers.has(m[1]) || variables.has(m[1].split('.')[0]),
                `${name}: {{#${m[1]}}} is neither a documented context variable nor a helper the demo provides`);
        }
    }
});

test('{{#str}} as core/templates: param rendered and escaped, string inserted as is and never rendered again', () => {
    const map = {chat: 'Chat with {$a}', markup: 'A <b>bold</b> {{fullname}}', obj: '{$a->n} of {$a->m}'};
    assert.equal(render('{{#str}}chat, block_dockchat, {{fullname}}{{/str}}', {fullname: '<i>"A"</i>'}, map),
        'Chat with &lt;i&gt;&quot;A&quot;&lt;&#x2F;i&gt;');
    assert.equal(render('{{#str}}markup, block_dockchat{{/str}}', {fullname: 'X'}, map), 'A <b>bold</b> {{fullname}}');
    assert.equal(render('{{#cleanstr}}markup, block_dockchat{{/cleanstr}}', {}, map),
        'A &lt;b&gt;bold&lt;&#x2F;b&gt; {{fullname}}');
    assert.equal(render('{{#str}}obj, block_dockchat, {"n": 2, "m": 3}{{/str}}', {}, map), '2 of 3');
    assert.equal(render('{{#str}}chat, core, x{{/str}}', {}, {...map, 'core/chat': 'Core {$a}'}), 'Core x');
    assert.equal(render('{{#str}}nope, block_dockchat{{/str}}', {}, map), '[[nope]]');
    assert.equal(render('{{#items}}{{#str}}chat, block_dockchat, {{.}}{{/str}};{{/items}}', {items: ['a', 'b']}, map),
        'Chat with a;Chat with b;', 'the param sees the section\'s context');
});

test('the vendored package is the pinned one, byte for byte, and stays out of the block', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const version = pkg.devDependencies.mustache;
    assert.match(version, /^\d+\.\d+\.\d+$/, 'mustache pinned to an exact version');
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    assert.equal(lock.packages['node_modules/mustache'].version, version);
    const installed = JSON.parse(readFileSync(join(root, 'node_modules', 'mustache', 'package.json'), 'utf8'));
    assert.equal(installed.version, version, 'node_modules is current: npm ci');
    const vendor = join(root, 'src', 'demo', 'assets', 'vendor');
    for (const [copy, original] of [['mustache.mjs', 'mustache.mjs'], ['mustache-LICENSE.txt', 'LICENSE']]) {
        assert.ok(readFileSync(join(vendor, copy)).equals(readFileSync(join(root, 'node_modules', 'mustache', original))),
            `src/demo/assets/vendor/${copy} is stale: run npm run build:demo and commit`);
    }
    const amd = join(root, 'moodle-block', 'amd');
    for (const dir of ['src', 'build']) {
        for (const file of readdirSync(join(amd, dir))) {
            assert.doesNotMatch(file, /mustache/i, `amd/${dir}/${file}: Moodle pages render through core/templates`);
            if (dir === 'src') {
                // Moodle's own core/mustache (what core/templates renders with) is the only engine the block uses.
                assert.doesNotMatch(readFileSync(join(amd, dir, file), 'utf8'), /from\s+['"](?!core\/mustache['"])[^'"]*mustache/,
                    `amd/src/${file} imports no Mustache engine but Moodle's core/mustache`);
            }
        }
    }
});

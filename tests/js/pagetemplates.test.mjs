// The templates that come with the page (issue 15 item 2, amd/src/pagetemplates.js): rendered by the block itself
// with Moodle's Mustache and core/templates' {{#str}} / {{#cleanstr}} semantics, byte for byte as the captured
// renders (tests/js/fixtures/templates-rendered.json); read from the page's data element; anything else goes to
// core/templates. And the lists of first-render templates agree: the client's, the block's (dock.php) and the demo's.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync, readdirSync} from 'node:fs';
import {join, dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import Mustache from 'mustache';
import {makePageRenderer, readPageTemplates, TEMPLATES_REGION} from '../../moodle-block/amd/src/pagetemplates.js';
import {FIRST_RENDER_TEMPLATES} from '../../moodle-block/amd/src/renderer.js';
import {makeStr} from '../../moodle-block/amd/src/strings.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const templatesDir = join(root, 'moodle-block', 'templates');
const names = readdirSync(templatesDir).filter((f) => f.endsWith('.mustache')).map((f) => f.slice(0, -'.mustache'.length));
const source = (name) => readFileSync(join(templatesDir, `${name}.mustache`), 'utf8');
const strings = {};
for (const m of readFileSync(join(root, 'lang', 'en', 'block_dockchat.php'), 'utf8')
    .matchAll(/\$string\['([^']+)'\] = '((?:[^'\\]|\\.)*)';/g)) {
    strings[m[1]] = m[2].replace(/\\'/g, "'");
}
// As core/str's getStrings over M.str: get_string's {$a} / {$a->name} substitution; '' is no param.
const str = makeStr(strings);
const getStrings = (requests) => Promise.resolve(requests.map((r) => str(r.key, r.param === '' ? undefined : r.param)));
const sources = new Map(names.map((n) => [`block_dockchat/${n}`, source(n)]));

test('every template renders from the page exactly as captured (example and hostile contexts)', async() => {
    const render = makePageRenderer({mustache: Mustache, getStrings, sources, fallback: () => assert.fail('no fallback')});
    const cases = JSON.parse(readFileSync(join(root, 'tests', 'js', 'fixtures', 'templates-rendered.json'), 'utf8'));
    assert.ok(cases.length > names.length);
    for (const {template, label, context, html} of cases) {
        assert.equal(await render(`block_dockchat/${template}`, context), html, `${template} (${label})`);
    }
});

test('strings: one request for a template\'s strings, params rendered and escaped, cleanstr escaped, no placeholder from the context', async() => {
    const asked = [];
    const map = {chat: 'Chat with {$a}', markup: 'A <b>bold</b>', obj: '{$a->n} of {$a->m}'};
    const s = makeStr(map);
    const render = makePageRenderer({mustache: Mustache, sources: new Map([
        ['c/a', '{{#str}}chat, c, {{name}}{{/str}}|{{#cleanstr}}markup, c{{/cleanstr}}|{{#str}}markup, c{{/str}}|{{text}}'],
        ['c/b', '{{#str}}obj, c, {"n": {{n}}, "m": 3}{{/str}}'],
        ['c/u', '{{uniqid}}'],
    ]), getStrings: (requests) => {
        asked.push(requests);
        return Promise.resolve(requests.map((r) => s(r.key, r.param === '' ? undefined : r.param)));
    }, fallback: () => assert.fail('no fallback')});
    assert.equal(await render('c/a', {name: '<i>"x"</i>', text: '[[_s0]] [[_c1]]'}),
        'Chat with &lt;i&gt;&quot;x&quot;&lt;&#x2F;i&gt;|A &lt;b&gt;bold&lt;&#x2F;b&gt;|A <b>bold</b>|[[_s0]] [[_c1]]');
    assert.equal(asked.length, 1, 'the strings of one render in one call');
    assert.deepEqual(asked[0].map((r) => r.key), ['chat', 'markup', 'markup']);
    assert.equal(await render('c/b', {n: 2}), '2 of 3', 'a JSON param is an object, as in core/templates');
    assert.equal(await render('c/u', {uniqid: 'dock'}), 'dock', 'a uniqid given is kept');
    assert.notEqual(await render('c/u', {}), await render('c/u', {}), 'otherwise each render gets its own');
});

test('a template the page does not carry goes to core/templates', async() => {
    const fallen = [];
    const render = makePageRenderer({mustache: Mustache, getStrings, sources: new Map([['block_dockchat/day', '<p>{{label}}</p>']]),
        fallback: (name, context) => {
            fallen.push(name);
            return Promise.resolve(`<core>${context.x}</core>`);
        }});
    assert.equal(await render('block_dockchat/day', {label: 'Today'}), '<p>Today</p>');
    assert.equal(await render('block_dockchat/head', {x: 1}), '<core>1</core>');
    assert.deepEqual(fallen, ['block_dockchat/head']);
});

test('the page\'s element: read with JSON.parse, broken or absent gives none', () => {
    const doc = (text) => ({querySelector: (selector) => {
        assert.equal(selector, `script[type="application/json"][data-region="${TEMPLATES_REGION}"]`);
        return text === null ? null : {text};
    }});
    // As dock::templates_html writes it (JSON_HEX_TAG): a "</script>" in a template is \u003C/script\u003E.
    const read = readPageTemplates(doc('{"templates":{"block_dockchat/x":"\\u003C/script\\u003E{{a}}","bad":3}}'));
    assert.deepEqual([...read.entries()], [['block_dockchat/x', '</script>{{a}}']]);
    assert.equal(readPageTemplates(doc('{"templates": {')).size, 0);
    assert.equal(readPageTemplates(doc(null)).size, 0);
    assert.equal(readPageTemplates(null).size, 0);
});

test('the first-render templates: the block sends the client\'s list (dock.php), the demo page carries them too', () => {
    const php = readFileSync(join(root, 'moodle-block', 'classes', 'local', 'dock.php'), 'utf8');
    const list = php.match(/public const FIRST_RENDER_TEMPLATES = \[([^\]]*)\];/);
    assert.ok(list, 'dock.php declares FIRST_RENDER_TEMPLATES');
    assert.deepEqual([...list[1].matchAll(/'([^']+)'/g)].map((m) => m[1]), [...FIRST_RENDER_TEMPLATES],
        'update dock::FIRST_RENDER_TEMPLATES with amd/src/renderer.js');
    assert.match(php, /const TEMPLATES_REGION = 'block_dockchat-templates'/);
    const rust = readFileSync(join(root, 'src', 'demo', 'mod.rs'), 'utf8');
    const demo = rust.match(/const PAGE_TEMPLATES: &\[&str\] = &\[([^\]]*)\];/);
    assert.ok(demo, 'src/demo/mod.rs declares PAGE_TEMPLATES');
    const carried = [...demo[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    for (const name of FIRST_RENDER_TEMPLATES) {
        assert.ok(carried.includes(name), `the demo page carries ${name}`);
    }
});

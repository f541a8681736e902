// Unit tests of the tiny Mustache renderer used by the demo page (moodle-block/amd/src/mustache.js).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync, readdirSync} from 'node:fs';
import {render, escapeHtml, formatString} from '../../moodle-block/amd/src/mustache.js';

test('{{x}} escapes HTML, {{{x}}} and {{& x}} do not', () => {
    const ctx = {x: '<img src=x onerror=alert(1)> & "q" \'s\''};
    assert.equal(render('{{x}}', ctx), '&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt; &amp; &quot;q&quot; &#39;s&#39;');
    assert.equal(render('{{{x}}}', ctx), ctx.x);
    assert.equal(render('{{& x}}', ctx), ctx.x);
    assert.equal(render('<a title="{{x}}">', {x: '" onmouseover="alert(1)'}), '<a title="&quot; onmouseover&#x3D;&quot;alert(1)">');
});

test('missing values render empty; numbers and zero render', () => {
    assert.equal(render('[{{nope}}][{{n}}][{{z}}]', {n: 42, z: 0}), '[][42][0]');
});

test('sections: lists, objects, booleans; inverted sections; dotted names; comments', () => {
    const tpl = '{{! a comment\nover lines }}{{#list}}<{{name}}>{{/list}}{{^list}}none{{/list}}'
        + '{{#obj}}{{a}}{{/obj}}{{#flag}}yes{{/flag}}{{^flag}}no{{/flag}}{{obj.a}}';
    assert.equal(render(tpl, {list: [{name: 'a'}, {name: '<b>'}], obj: {a: 1}, flag: true}),
        '<a><&lt;b&gt;>1yes1');
    assert.equal(render('{{#list}}x{{/list}}{{^list}}empty{{/list}}', {list: []}), 'empty');
    assert.equal(render('{{#items}}{{.}},{{/items}}', {items: ['a', '<'] }), 'a,&lt;,');
    assert.equal(render('{{#outer}}{{#inner}}{{v}}{{top}}{{/inner}}{{/outer}}', {top: 'T', outer: {inner: {v: 'V'}}}), 'VT');
});

test('unbalanced templates throw', () => {
    assert.throws(() => render('{{#a}}x', {}));
    assert.throws(() => render('{{#a}}x{{/b}}', {}));
});

test('{{#str}} uses the strings map, with an escaped param rendered from the context', () => {
    const strings = {send: 'Send', openchatwith: 'Chat with {$a}', quote: 'Say "{$a}"'};
    assert.equal(render('{{#str}}send, block_dockchat{{/str}}', {}, strings), 'Send');
    assert.equal(render('{{#str}}openchatwith, block_dockchat, {{fullname}}{{/str}}', {fullname: '<Ana> "Lima"'}, strings),
        'Chat with &lt;Ana&gt; &quot;Lima&quot;');
    assert.equal(render('<b title="{{#str}}quote, block_dockchat, x{{/str}}">', {}, strings), '<b title="Say &quot;x&quot;">',
        'the string itself is escaped too, so it is safe in attributes');
    assert.equal(render('{{#str}}missing, block_dockchat{{/str}}', {}, strings), '[[missing]]');
});

test('formatString and escapeHtml', () => {
    assert.equal(formatString('{$a} online', 3), '3 online');
    assert.equal(formatString('{$a->name} is {$a->age}', {name: 'A', age: 2}), 'A is 2');
    assert.equal(formatString('no param {$a}', undefined), 'no param {$a}');
    assert.equal(escapeHtml(null), '');
    assert.equal(escapeHtml('`=/'), '&#x60;&#x3D;&#x2F;');
});

test("every template of the block renders with its documented example context", () => {
    const dir = new URL('../../moodle-block/templates/', import.meta.url);
    const names = readdirSync(dir).filter((f) => f.endsWith('.mustache'));
    assert.ok(names.length >= 6);
    const lang = readFileSync(new URL('../../lang/en/block_dockchat.php', import.meta.url), 'utf8');
    const strings = {};
    for (const m of lang.matchAll(/\$string\['([^']+)'\] = '((?:[^'\\]|\\.)*)';/g)) {
        strings[m[1]] = m[2].replace(/\\'/g, "'");
    }
    for (const name of names) {
        const source = readFileSync(new URL(name, dir), 'utf8');
        assert.match(source, new RegExp(`@template block_dockchat/${name.replace('.mustache', '')}\\b`), `${name} has a doc block`);
        const example = source.match(/Example context \(json\):\s*(\{[\s\S]*?\n\s*\})\s*\n\}\}/);
        assert.ok(example, `${name} has an example context`);
        const html = render(source, JSON.parse(example[1]), strings);
        assert.doesNotMatch(html, /\[\[[\w:]+\]\]/, `${name}: every {{#str}} key exists in the lang file`);
        assert.ok(html.trim().startsWith('<'), `${name} renders HTML`);
    }
});

// Unit tests of link detection (moodle-block/amd/src/linkify.js): only http(s) becomes a link.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {tokenize, safeHref} from '../../moodle-block/amd/src/linkify.js';

const links = (text) => tokenize(text).filter((t) => t.type === 'link').map((t) => t.href);

test('plain text stays one text token; empty text gives none', () => {
    assert.deepEqual(tokenize('hello <b>world</b>'), [{type: 'text', value: 'hello <b>world</b>'}]);
    assert.deepEqual(tokenize(''), []);
    assert.deepEqual(tokenize(null), []);
});

test('http and https links are found, with the surrounding text kept exactly', () => {
    const tokens = tokenize('see https://example.org/a?b=1#c, and http://x.test/y.');
    assert.deepEqual(tokens, [
        {type: 'text', value: 'see '},
        {type: 'link', value: 'https://example.org/a?b=1#c', href: 'https://example.org/a?b=1#c'},
        {type: 'text', value: ', and '},
        {type: 'link', value: 'http://x.test/y', href: 'http://x.test/y'},
        {type: 'text', value: '.'},
    ]);
    assert.equal(tokens.map((t) => t.value).join(''), 'see https://example.org/a?b=1#c, and http://x.test/y.');
});

test('www. links become https; wikipedia-style brackets are kept', () => {
    assert.deepEqual(links('go to www.moodle.org!'), ['https://www.moodle.org/']);
    assert.deepEqual(links('(https://en.wikipedia.org/wiki/Memory_(disambiguation))'),
        ['https://en.wikipedia.org/wiki/Memory_(disambiguation)']);
    assert.deepEqual(links('(see https://example.org/x)'), ['https://example.org/x']);
});

test('javascript:, data:, vbscript: and other schemes never become links', () => {
    for (const text of [
        'javascript:alert(1)',
        'JaVaScRiPt:alert(document.cookie)',
        'click javascript://https://example.org/%0aalert(1)',
        'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
        'vbscript:msgbox(1)',
        'file:///etc/passwd',
        'ftp://example.org/x',
        '<a href="javascript:alert(1)">x</a>',
    ]) {
        for (const t of tokenize(text)) {
            if (t.type === 'link') {
                assert.match(t.href, /^https?:\/\//, `${text} gave ${t.href}`);
                assert.doesNotMatch(t.href, /^javascript:|^data:|^vbscript:/i);
            }
        }
    }
    assert.deepEqual(links('javascript:alert(1)'), []);
    assert.equal(safeHref('javascript:alert(1)'), null);
    assert.equal(safeHref('https://'), null);
});

test('quotes and angle brackets end a link (no attribute breaking)', () => {
    assert.deepEqual(links('https://example.org/"onmouseover="alert(1)'), ['https://example.org/']);
    assert.deepEqual(links('https://example.org/<script>'), ['https://example.org/']);
});

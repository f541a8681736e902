// The committed AMD build (moodle-block/amd/build) is current and loads as Moodle's RequireJS would.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import vm from 'node:vm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const srcDir = join(root, 'moodle-block', 'amd', 'src');
const buildDir = join(root, 'moodle-block', 'amd', 'build');

test('every source module has a committed build identical to a fresh build', () => {
    const sources = readdirSync(srcDir).filter((f) => f.endsWith('.js')).map((f) => f.replace(/\.js$/, '')).sort();
    const built = readdirSync(buildDir).filter((f) => f.endsWith('.min.js')).map((f) => f.replace(/\.min\.js$/, '')).sort();
    assert.deepEqual(built, sources, 'amd/build has exactly one module per amd/src file');
    const tmp = mkdtempSync(join(tmpdir(), 'dockchat-amd-'));
    try {
        execFileSync(process.execPath, [join(root, 'moodle-block', 'amd', 'build.mjs'), tmp], {stdio: 'pipe', timeout: 60000});
        for (const name of sources) {
            for (const ext of ['.min.js', '.min.js.map']) {
                const same = readFileSync(join(buildDir, name + ext), 'utf8') === readFileSync(join(tmp, name + ext), 'utf8');
                assert.ok(same, `${name}${ext} is stale: run npm run build:amd and commit`);
            }
        }
    } finally {
        rmSync(tmp, {recursive: true, force: true});
    }
});

test('the built modules are named AMD modules that load and work through a define() loader', async() => {
    const factories = new Map();
    const define = (name, deps, factory) => factories.set(name, {deps, factory});
    define.amd = true;
    for (const file of readdirSync(buildDir).filter((f) => f.endsWith('.min.js'))) {
        const code = readFileSync(join(buildDir, file), 'utf8');
        assert.match(code, new RegExp(`^define\\("block_dockchat/${file.replace('.min.js', '')}"`));
        assert.match(code, /sourceMappingURL=[\w]+\.min\.js\.map\s*$/);
        vm.runInNewContext(code, {define});
    }
    const calls = [];
    const fakes = {
        'core/ajax': {call: (reqs) => {
            calls.push(reqs);
            return [Promise.resolve({token: 't', exp: 1, wsurl: 'ws://x'})];
        }},
        'core/str': {__esModule: true, getStrings: (reqs) => Promise.resolve(reqs.map((r) => r.key))},
        'core/templates': {__esModule: true, default: {renderForPromise: () => Promise.resolve({html: '<div></div>', js: ''})}},
        'core/mustache': {render: () => '<div></div>', escape: (t) => t},
        'core/notification': {exception: () => {}},
    };
    const cache = new Map();
    const load = (name) => {
        if (fakes[name]) {
            return fakes[name];
        }
        if (cache.has(name)) {
            return cache.get(name);
        }
        const entry = factories.get(name);
        assert.ok(entry, `module ${name} is defined`);
        const exports = {};
        cache.set(name, exports);
        entry.factory(...entry.deps.map((d) => (d === 'exports' ? exports : load(d))));
        return exports;
    };
    const main = load('block_dockchat/main');
    assert.equal(typeof main.init, 'function');
    const state = load('block_dockchat/state');
    const s = state.reduce(state.initialState(1), {type: 'presence', user: {id: 2, fullname: 'B'}, status: 'online'});
    assert.equal(s.online.length, 1);
    for (const name of factories.keys()) {
        for (const dep of factories.get(name).deps) {
            assert.ok(dep === 'exports' || dep.startsWith('core/') || factories.has(dep), `${name} depends on ${dep}`);
        }
    }
});

// A fixture Moodle page for measurements (issue 15): a course page as Moodle's Boost theme sends it, on the
// demo's origin (routed by the browser context, so the daemon takes its socket's Origin), running the block's
// built AMD modules (moodle-block/amd/build) the way Moodle does: the block's content rendered on the
// server, the page token in the init config, the modules loaded by an injected script (as RequireJS does),
// then `require(['block_dockchat/main'])`.
// Moodle's own modules are stand-ins over the demo: core/ajax gets tokens from /demo/token, core/str takes the
// strings the page sent (M.str: dock::STRING_KEYS and the carried templates' strings, as strings_for_js puts them
// in a Moodle page) and reads any other from /lang, core/templates reads /templates, both keeping what they fetch
// in localStorage, as Moodle's do with its JS caches on; core/mustache is the mustache package. The page carries
// the first-render templates as dock::templates_html writes them (`pagetemplates=0`: not, as before issue 15
// item 2).
// Other web service calls (core_user_update_user_preferences) go to /moodle-fixture/service.php, which the
// fixture answers as Moodle would: it stores the user preferences the block declares, and the next page's
// init config carries them (dock::js_config 'prefs').
//
// The page's layout comes from its query: `blocks=0|1|2` (block instances on the page: 0 a page without the
// block, 2 a course block beside the site-wide one; 1 by default), `launcher=navbar|floating|off` (the setting
// block_dockchat/launcher; with navbar the navbar gets block_dockchat/navlauncher as
// block_dockchat_render_navbar_output renders it; absent: no launcher in the config, as before the setting) and
// `inits=2` (main.init called twice on the page, as by two callers), `others=N` (N other AMD inits queued, each
// `busy` ms of synchronous work, default 17) with `dock=last` (the dock's init queued after them).
//
// Routing disables the browser's HTTP cache in that context (Playwright), so "warm" here means Moodle's
// localStorage caches of strings and templates filled; `coldCaches(page)` empties them.
import {readFileSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {root, T} from './harness.mjs';
import {render} from '../../src/demo/assets/templates.js';
import {STRING_KEYS} from '../../moodle-block/amd/src/strings.js';
import {FIRST_RENDER_TEMPLATES} from '../../moodle-block/amd/src/renderer.js';

/** A template's source as Moodle's loader sends it (mustache_template_source_loader: comments stripped). */
const stripComments = (source) => source.replace(/\{\{![\s\S]*?\}\}/g, '');

/** The keys of a template's {{#str}} and {{#cleanstr}} (the strings dock::templates_html adds to M.str). */
const templateStringKeys = (source) => [...source.matchAll(/\{\{#(?:str|cleanstr)\}\}\s*([\w:.-]+)/g)].map((m) => m[1]);

/** A minimal AMD loader: define() keeps factories, require() runs them with their dependencies. */
const LOADER = `(function() {
    var defs = {}, done = {};
    var load = function(name) {
        if (Object.prototype.hasOwnProperty.call(done, name)) { return done[name]; }
        var d = defs[name];
        if (!d) { throw new Error('no AMD module ' + name); }
        var exports = {};
        done[name] = exports;
        var result = d.factory.apply(null, d.deps.map(function(dep) { return dep === 'exports' ? exports : load(dep); }));
        if (result !== undefined) { done[name] = result; }
        return done[name];
    };
    window.define = function(name, deps, factory) { defs[name] = {deps: deps, factory: factory}; };
    // RequireJS runs each require's callback in a task of its own (its nextTick: setTimeout 4 ms); FIXTURE_TICK
    // (pages with other inits) does the same, otherwise the callbacks run as microtasks.
    window.require = function(names, cb) {
        var run = function() { cb.apply(null, names.map(load)); };
        if (window.FIXTURE_TICK) { setTimeout(run, 4); } else { Promise.resolve().then(run); }
    };
})();`;

/** Moodle's modules the block uses, over the demo. */
const STANDINS = `
define('core/localstorage', [], function() {
    return {get: function(k) { return localStorage.getItem('fixture_' + k); }, set: function(k, v) { localStorage.setItem('fixture_' + k, v); }};
});
define('core/ajax', [], function() {
    return {call: function(requests) {
        return requests.map(function(request) {
            if (request.methodname !== 'block_dockchat_get_token') {
                return fetch('/moodle-fixture/service.php', {method: 'POST', headers: {'Content-Type': 'application/json'},
                    body: JSON.stringify(request)}).then(function(r) {
                    if (!r.ok) { throw new Error('web service ' + request.methodname + ': HTTP ' + r.status); }
                    return r.json();
                });
            }
            return fetch('/demo/token', {method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({user: window.FIXTURE.user})}).then(function(r) { return r.json(); });
        });
    }};
});
define('core/str', ['core/localstorage'], function(store) {
    var all = null;
    var strings = function() {
        if (!all) {
            var saved = store.get('strings_en');
            all = saved ? Promise.resolve(JSON.parse(saved)) : fetch('/lang/en.json').then(function(r) { return r.json(); })
                .then(function(map) { store.set('strings_en', JSON.stringify(map)); return map; });
        }
        return all;
    };
    window.fixtureStrings = strings;
    // As M.util.get_string: {$a}, or {$a->name} from an object.
    var substitute = function(text, a) {
        if (a === undefined || a === null || a === '') { return text; }
        return String(text).replace(/\\{\\$a(?:->(\\w+))?\\}/g, function(whole, name) {
            if (name) { return typeof a === 'object' && name in a ? String(a[name]) : whole; }
            return typeof a === 'object' ? whole : String(a);
        });
    };
    // As Moodle's core/str: the strings the page sent (M.str, from strings_for_js) without a request; the others
    // from its cache, else fetched (one request for all of them).
    var inPage = function(r) { return window.M && M.str[r.component || 'core'] && r.key in M.str[r.component || 'core']; };
    var getStrings = function(requests) {
        if (requests.every(inPage)) {
            return Promise.resolve(requests.map(function(r) { return substitute(M.str[r.component || 'core'][r.key], r.param); }));
        }
        return strings().then(function(map) { return requests.map(function(r) {
            return substitute(inPage(r) ? M.str[r.component || 'core'][r.key] : map[r.key], r.param);
        }); });
    };
    return {getStrings: getStrings, get_strings: getStrings};
});
define('core/mustache', [], function() {
    return window.Mustache;
});
define('fixture/other', [], function() {
    // Another plugin's or core's AMD init on the page: synchronous work of the given length.
    return {init: function(ms) { var end = performance.now() + ms; while (performance.now() < end) { /* busy */ } }};
});
define('core/templates', ['core/localstorage'], function(store) {
    var renderer = Promise.resolve(window.fixtureTemplates);
    var asked = {};
    var source = function(name) {
        if (!asked[name]) {
            var saved = store.get('template_' + name);
            asked[name] = saved !== null ? Promise.resolve(saved) : fetch('/templates/' + name + '.mustache')
                .then(function(r) { return r.text(); }).then(function(text) { store.set('template_' + name, text); return text; });
        }
        return asked[name];
    };
    return {prefetchTemplates: function(names) {
        names.forEach(function(name) { source(name.replace(/^block_dockchat\\//, '')); });
    }, renderForPromise: function(name, context) {
        var short = name.replace(/^block_dockchat\\//, '');
        return Promise.all([renderer, source(short), window.fixtureStrings()]).then(function(r) {
            return {html: r[0].render(r[1], context, r[2]), js: ''};
        });
    }};
});
define('core/notification', [], function() {
    return {exception: function(e) { console.error(e); }};
});
`;

/**
 * Route the fixture page into a browser context.
 *
 * @param {object} ctx playwright BrowserContext (its HTTP cache is off from now on)
 * @param {string} base the demo's URL
 * @param {number} userid the user the page is for
 * @param {object} [moodle] the user's Moodle side: `preferences` (name -> value, as set_user_preference stores
 *   them: '1'/'0'), updated by the web service calls; `calls` collects those calls ({methodname, args})
 * @returns {Promise<string>} the fixture page's URL
 */
export const installMoodleFixture = async(ctx, base, userid, moodle = {preferences: {}, calls: []}) => {
    const build = join(root, 'moodle-block', 'amd', 'build');
    const amd = readdirSync(build).filter((f) => f.endsWith('.min.js')).sort()
        .map((f) => readFileSync(join(build, f), 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '')).join('\n');
    // Mustache and the demo's {{#str}} rendering, as a classic script in the bundle (Moodle's core/templates and
    // core/mustache come in its one cached requirejs response too).
    const mustache = readFileSync(join(root, 'node_modules', 'mustache', 'mustache.js'), 'utf8');
    const templatesJs = readFileSync(join(root, 'src', 'demo', 'assets', 'templates.js'), 'utf8')
        .replace(/^import Mustache from .*$/m, '').replace(/^export const render/m, 'const render');
    const renderer = `${mustache}\n(function(Mustache) {\n${templatesJs}\nwindow.fixtureTemplates = {render: render};\n})(window.Mustache);`;
    const strings = await (await fetch(base + '/lang/en.json', {signal: AbortSignal.timeout(T)})).json();
    const blockTemplate = await (await fetch(base + '/templates/block.mustache', {signal: AbortSignal.timeout(T)})).text();
    const navTemplate = await (await fetch(base + '/templates/navlauncher.mustache', {signal: AbortSignal.timeout(T)})).text();
    const templateSources = {};
    for (const name of [...FIRST_RENDER_TEMPLATES, 'block']) {
        templateSources[name] = stripComments(await (await fetch(`${base}/templates/${name}.mustache`, {signal: AbortSignal.timeout(T)})).text());
    }
    const blockHtml = (uniqid) => render(blockTemplate, {uniqid, messageurl: base + '/message/index.php'}, strings);
    const blockSection = (uniqid) => `<section class="block block_dockchat card"><div class="card-body"><h5 class="card-title">Dock chat</h5>
<div class="card-text content">${blockHtml(uniqid)}</div></div></section>`;
    await ctx.route('**/moodle-fixture/**', async(route) => {
        const url = new URL(route.request().url());
        if (url.pathname === '/moodle-fixture/service.php') {
            // As Moodle's core_user_update_user_preferences: only the preferences the block declares (lib.php).
            const request = JSON.parse(route.request().postData() || '{}');
            moodle.calls.push(request);
            const declared = ['block_dockchat_sound', 'block_dockchat_desktop'];
            const prefs = (request.args && request.args.preferences) || [];
            if (request.methodname !== 'core_user_update_user_preferences'
                    || !prefs.every((p) => declared.includes(p.type) && (p.value === '1' || p.value === '0'))) {
                await route.fulfill({status: 400, contentType: 'application/json', body: '{"error": "not allowed"}'});
                return;
            }
            prefs.forEach((p) => {
                moodle.preferences[p.type] = p.value;
            });
            await route.fulfill({status: 200, contentType: 'application/json', body: '{"saved": [], "warnings": []}'});
            return;
        }
        if (url.pathname === '/moodle-fixture/requirejs.php') {
            await route.fulfill({status: 200, contentType: 'application/javascript',
                headers: {'cache-control': 'public, max-age=31536000, immutable'}, body: renderer + '\n' + LOADER + '\n' + STANDINS + '\n' + amd});
            return;
        }
        // The course page, as PHP renders it: a fresh page token each time (issue 15 item 1).
        const answer = await (await fetch(base + '/demo/token', {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({user: userid}), signal: AbortSignal.timeout(T)})).json();
        const pref = (name) => moodle.preferences['block_dockchat_' + name] === '1';
        const blocks = url.searchParams.has('blocks') ? Number(url.searchParams.get('blocks')) : 1;
        const launcher = url.searchParams.get('launcher');
        const inits = Number(url.searchParams.get('inits')) || 1;
        const config = {wsurl: answer.wsurl, userid, blockregion: blocks > 0, lang: 'en', token: answer.token,
            tokenexp: answer.exp, now: Math.floor(Date.now() / 1000), prefs: {sound: pref('sound'), desktop: pref('desktop')}};
        if (launcher) {
            config.launcher = launcher;
        }
        const navbar = launcher === 'navbar' ? `<div class="navbar-user">${render(navTemplate, {}, strings)}</div>` : '';
        // The site-wide instance in the drawer, a course instance in the page's content region.
        const drawerBlock = blocks > 0 ? blockSection('fixture') : '';
        const contentBlock = blocks > 1 ? `<section class="block-region" data-blockregion="content">${blockSection('fixture2')}</section>` : '';
        const initCalls = Array.from({length: inits}, () => `amd.init(${JSON.stringify(config)});`).join(' ');
        // Moodle's other queued AMD inits (`others=N`, each `busy` ms of work), after the dock's as the header hook
        // queues it, or before it (`dock=last`: as when the block or the footer hook queues it).
        const others = Number(url.searchParams.get('others')) || 0;
        const busy = Number(url.searchParams.get('busy')) || 17;
        const dockRequire = `require(['block_dockchat/main'], function(amd) { window.fixtureDockInit = performance.now(); ${initCalls} });`;
        const otherRequires = Array.from({length: others}, () => `require(['fixture/other'], function(o) { o.init(${busy}); });`);
        const requires = (url.searchParams.get('dock') === 'last' ? [...otherRequires, dockRequire] : [dockRequire, ...otherRequires])
            .join('\n        ');
        // As dock::templates_html: the first-render templates in a JSON data element (the block's own too when a
        // launcher shows the list on a page without the block), their strings added to M.str; `pagetemplates=0`
        // gives the page as before issue 15 item 2 (no element: the client asks core/templates for them).
        const carried = url.searchParams.get('pagetemplates') === '0' ? []
            : FIRST_RENDER_TEMPLATES.concat(blocks === 0 && launcher && launcher !== 'off' ? ['block'] : []);
        const templatesElement = carried.length ? `<script type="application/json" data-region="block_dockchat-templates">${
            JSON.stringify({templates: Object.fromEntries(carried.map((n) => [`block_dockchat/${n}`, templateSources[n]]))})
                .replace(/</g, '\\u003C').replace(/>/g, '\\u003E').replace(/&/g, '\\u0026')}</script>` : '';
        const pageKeys = new Set([...STRING_KEYS, ...carried.flatMap((n) => templateStringKeys(templateSources[n]))]);
        const mstr = {block_dockchat: Object.fromEntries([...pageKeys].filter((k) => k in strings).map((k) => [k, strings[k]]))};
        const html = `<!DOCTYPE html>
<html lang="en" dir="ltr"><head><meta charset="utf-8"><title>Course: Introduction to Psychology</title>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="/demo/demo.css"><link rel="stylesheet" href="/styles.css"></head>
<body id="page-course-view-topics" class="format-topics path-course chrome dir-ltr lang-en">
<nav class="navbar"><a class="navbar-brand" href="#">Mount Orange University</a>${navbar}</nav>
<div id="page" class="page"><div id="page-content" class="main"><div id="region-main">
<h1>Introduction to Psychology</h1>
${contentBlock}
${'<section class="course-section"><h2>Week</h2><ul class="activities"><li>Forum</li><li>Page</li><li>Quiz</li></ul></section>'.repeat(6)}
</div></div>
<aside id="block-region-side-pre" class="drawer block-region" data-blockregion="side-pre">
${drawerBlock}</aside></div>
${templatesElement}
<script>window.FIXTURE = ${JSON.stringify({user: userid})}; window.FIXTURE_TICK = ${others > 0}; window.M = {str: ${JSON.stringify(mstr).replace(/</g, '\\u003C')}};</script>
<script>
(function() {
    // As RequireJS loads Moodle's modules: an injected script, which does not hold back DOMContentLoaded.
    var s = document.createElement('script');
    s.src = '/moodle-fixture/requirejs.php';
    s.onload = function() {
        ${requires}
    };
    document.body.appendChild(s);
})();
</script>
</body></html>`;
        await route.fulfill({status: 200, contentType: 'text/html; charset=utf-8', headers: {'cache-control': 'no-cache'}, body: html});
    });
    return `${base}/moodle-fixture/course.php?id=2`;
};

/**
 * Empty the fixture's caches of strings and templates (Moodle's after a cache purge).
 *
 * @param {object} page
 * @returns {Promise}
 */
export const coldCaches = (page) => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('fixture_'))
    .forEach((k) => localStorage.removeItem(k)));

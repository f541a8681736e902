// Measurement (not a test): how soon after DOMContentLoaded the dock's list and the open window's history are
// on the page of `dockchatd demo` (issue 15), over N navigations in one tab, headless Chromium; prints the
// figures docs/PERFORMANCE.md reports.
//
//   CARGO_TARGET_DIR=... node tests/browser/measure-first-paint.mjs [navigations]
//
// Runs, each over the same navigations of one tab (a user with an open window of 10 messages, 1 course-mate
// online):
// - warm:      the browser's cache as the earlier navigations left it (the demo serves everything with
//              `Cache-Control: no-cache` and no validators, so every asset is fetched again anyway);
// - cold:      the browser's cache and code caches emptied before each navigation (CDP);
// - no snapshot: warm, but the previous page's snapshot removed before each navigation: the dock waits for
//              the welcome and the history, as before issue 15 item 3.
// - cold, templates not in the page: cold, with `pagetemplates=0` (the page without the first-render templates,
//              as before issue 15 item 2: the client fetches them).
// The same on a fixture Moodle page (./moodle-fixture.mjs: the block's AMD build, a page token, the strings and
// templates the block sends with the page, Moodle's JS caches of strings and templates in localStorage; "cold"
// empties those).
// Each run also counts the requests made before the history was drawn (Resource Timing), templates apart.
// Then the fixture with 8 other AMD inits of 17 ms queued after the dock's (as the header hook queues it) and
// before it (as when the block or the footer hook queues it).
// Then: presence frames a course-mate's socket receives about the user during 10 navigations (and the offline
// grace after them), and the WebSockets 5 tabs of one user open.
import {chromium} from 'playwright-core';
import {setup, demoUsers, T, DESKTOP} from './harness.mjs';
import {installMoodleFixture, coldCaches} from './moodle-fixture.mjs';

const NAVIGATIONS = Number(process.argv[2]) || 20;

// Installed before every page's scripts: when the first list row and the first message of a window appear.
const observe = () => {
    // The "no snapshot" run: the previous page's snapshot is removed before the page's scripts run.
    if (localStorage.getItem('dockchat-measure-nosnapshot') === '1') {
        Object.keys(sessionStorage).filter((k) => k.startsWith('block_dockchat_snapshot_')).forEach((k) => sessionStorage.removeItem(k));
    }
    window.dockchatFirst = {};
    const seen = (name) => {
        if (!(name in window.dockchatFirst)) {
            window.dockchatFirst[name] = performance.now();
        }
    };
    new MutationObserver(() => {
        if (document.querySelector('.block_dockchat-conv, .block_dockchat-user')) {
            seen('list');
        }
        if (document.querySelector('[data-region="window"] [data-region="message"]')) {
            seen('history');
        }
    }).observe(document, {subtree: true, childList: true});
    // When the socket's welcome arrives (the page's own socket: one tab).
    const Native = window.WebSocket;
    const Watched = function(...args) {
        const ws = new Native(...args);
        ws.addEventListener('message', (e) => {
            if (typeof e.data === 'string' && /"type":"welcome"/.test(e.data.slice(0, 40))) {
                seen('welcomed');
            }
        });
        return ws;
    };
    Watched.prototype = Native.prototype;
    Object.assign(Watched, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
    window.WebSocket = Watched;
};

const median = (xs) => {
    const s = xs.slice().sort((a, b) => a - b);
    return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const pct = (xs, p) => {
    const s = xs.slice().sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
};
const fmt = (xs) => `median ${median(xs).toFixed(1)} ms, p90 ${pct(xs, 0.9).toFixed(1)}, min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}`;

const env = setup('dockchatd-demo-measure.log');
await env.start();
try {
    const u = await demoUsers(env.base());
    const me = u.byId(5);
    const mate = u.mates(me)[0];
    const url = `${env.base()}/?user=${me.id}`;

    // The course-mate: a raw socket that counts the presence frames about the user.
    const others = await env.browser().newContext();
    const watcher = await others.newPage();
    await watcher.goto(env.base() + '/demo/users', {timeout: T});
    await watcher.evaluate(async([mateId, meId]) => {
        const r = await fetch('/demo/token', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({user: mateId})});
        const {token, wsurl} = await r.json();
        window.presenceFrames = [];
        window.sock = new WebSocket(wsurl);
        await new Promise((resolve) => {
            window.sock.onmessage = (e) => {
                const f = JSON.parse(e.data);
                if (f.type === 'welcome') {
                    resolve();
                } else if (f.type === 'presence' && f.user.id === meId) {
                    window.presenceFrames.push(f.status);
                }
            };
            window.sock.onopen = () => window.sock.send(JSON.stringify({type: 'hello', v: 1, token}));
        });
    }, [mate.id, me.id]);

    const ctx = await env.browser().newContext(DESKTOP);
    await ctx.addInitScript(observe);
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await page.goto(url, {timeout: T});
    await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
    await page.evaluate(() => window.dockchat.state.windows.forEach((w) => window.dockchat.onIntent({type: 'close', peer: w.peer})));
    await page.evaluate((id) => window.dockchat.onIntent({type: 'open', peer: id}), mate.id);
    for (let i = 1; i <= 10; i++) {
        await watcher.evaluate(([to, n]) => window.sock.send(JSON.stringify({type: 'send', to, cid: 'm' + n + Math.random().toString(36).slice(2),
            text: 'measure ' + n})), [me.id, i]);
    }
    await page.waitForFunction(() => document.querySelectorAll('[data-region="window"] [data-region="message"]').length >= 10, null, {timeout: T});
    await page.waitForTimeout(1000);

    const run = async(name, before, target = page, address = url) => {
        const list = [];
        const history = [];
        const welcomed = [];
        // Requests the page made before the window's history was drawn (Resource Timing: fetches, scripts,
        // styles; the page itself and the socket not counted), and which of them asked for templates.
        const requests = [];
        const templateRequests = [];
        let lastUrls = [];
        // The fixture page: when the dock's init was called.
        const inits = [];
        for (let i = 0; i < NAVIGATIONS; i++) {
            if (before) {
                await before();
            }
            await target.goto(address, {timeout: T});
            await target.waitForFunction(() => window.dockchatFirst.list && window.dockchatFirst.history && window.dockchatFirst.welcomed,
                null, {timeout: T});
            const t = await target.evaluate(() => {
                const nav = performance.getEntriesByType('navigation')[0];
                const dcl = nav.domContentLoadedEventStart;
                const early = performance.getEntriesByType('resource').filter((e) => e.startTime < window.dockchatFirst.history)
                    .map((e) => new URL(e.name).pathname);
                return {dcl, list: window.dockchatFirst.list - dcl, history: window.dockchatFirst.history - dcl,
                    welcomed: window.dockchatFirst.welcomed - dcl, early,
                    init: window.fixtureDockInit === undefined ? null : window.fixtureDockInit - dcl};
            });
            list.push(t.list);
            history.push(t.history);
            welcomed.push(t.welcomed);
            requests.push(t.early.length);
            templateRequests.push(t.early.filter((p) => p.startsWith('/templates/')).length);
            lastUrls = t.early;
            if (t.init !== null) {
                inits.push(t.init);
            }
            await target.waitForTimeout(300);
        }
        console.log(`${name} (${NAVIGATIONS} navigations), after DOMContentLoaded:`);
        console.log(`  list drawn     ${fmt(list)}`);
        console.log(`  history drawn  ${fmt(history)}`);
        console.log(`  welcome        ${fmt(welcomed)}`);
        console.log(`  requests before the history was drawn: median ${median(requests)} (min ${Math.min(...requests)}, max ${
            Math.max(...requests)}), of them templates: median ${median(templateRequests)} (max ${Math.max(...templateRequests)})`);
        console.log(`    last navigation: ${lastUrls.join(' ')}`);
        if (inits.length) {
            console.log(`  dock's init called ${fmt(inits)}`);
        }
        return {list, history, welcomed};
    };

    await run('warm');
    await run('cold', async() => {
        await cdp.send('Network.clearBrowserCache');
    });
    // The same page without the templates in it (as before issue 15 item 2: the client fetches them).
    await run('cold, templates not in the page (before issue 15 item 2)', async() => {
        await cdp.send('Network.clearBrowserCache');
    }, page, url + '&pagetemplates=0');
    await page.evaluate(() => localStorage.setItem('dockchat-measure-nosnapshot', '1'));
    await run('no snapshot (as before issue 15 item 3), warm');
    await page.evaluate(() => localStorage.removeItem('dockchat-measure-nosnapshot'));

    // The fixture Moodle page (./moodle-fixture.mjs), in a browser of its own: a page the test fulfils has no
    // server address, and Chromium's Local Network Access checks would refuse its socket to 127.0.0.1.
    const fixtureBrowser = await chromium.launch({executablePath: '/usr/bin/chromium', timeout: 30000,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-features=LocalNetworkAccessChecks']});
    const moodleCtx = await fixtureBrowser.newContext(DESKTOP);
    await moodleCtx.addInitScript(observe);
    const fixtureUrl = await installMoodleFixture(moodleCtx, env.base(), me.id);
    const moodle = await moodleCtx.newPage();
    moodle.on('pageerror', (e) => console.log('fixture page error: ' + e.message));
    await moodle.goto(fixtureUrl, {timeout: T});
    await moodle.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
    await moodle.waitForTimeout(1000);
    await run('fixture Moodle page, warm (strings and templates in localStorage)', null, moodle, fixtureUrl);
    await run('fixture Moodle page, cold (those caches emptied)', () => coldCaches(moodle), moodle, fixtureUrl);
    await run('fixture Moodle page, cold, templates not in the page (before issue 15 item 2)', () => coldCaches(moodle), moodle,
        fixtureUrl + '&pagetemplates=0');
    // Moodle's other queued inits (8 of 17 ms each, about the 136 ms the issue measured): the dock's init queued
    // first (the header hook) or after them (the block or the footer hook).
    await run('fixture Moodle page, warm, 8 other inits queued after the dock\'s (header hook)', null, moodle,
        fixtureUrl + '&others=8&busy=17');
    await run('fixture Moodle page, warm, 8 other inits queued before the dock\'s (block or footer hook)', null, moodle,
        fixtureUrl + '&others=8&busy=17&dock=last');
    await moodle.evaluate(() => localStorage.setItem('dockchat-measure-nosnapshot', '1'));
    await run('fixture Moodle page, no snapshot, warm', null, moodle, fixtureUrl);
    await fixtureBrowser.close();

    // Presence: 10 navigations, then the offline grace (10 s) and a margin.
    await watcher.evaluate(() => {
        window.presenceFrames.length = 0;
    });
    for (let i = 0; i < 10; i++) {
        await page.goto(url, {timeout: T});
        await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        await page.waitForTimeout(200);
    }
    await page.waitForTimeout(12000);
    const frames = await watcher.evaluate(() => window.presenceFrames.slice());
    console.log(`presence frames about the user received by a course-mate during 10 navigations (+12 s): ${frames.length} ${JSON.stringify(frames)}`);

    // Five tabs of the user in one browser context.
    const tabsCtx = await env.browser().newContext(DESKTOP);
    let sockets = 0;
    tabsCtx.on('page', (p) => p.on('websocket', (ws) => {
        if (/\/ws$/.test(new URL(ws.url()).pathname)) {
            sockets++;
        }
    }));
    const tabs = [];
    for (let i = 0; i < 5; i++) {
        const tab = await tabsCtx.newPage();
        await tab.goto(url, {timeout: T});
        await tab.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        tabs.push(tab);
    }
    await tabs[0].waitForTimeout(1000);
    const roles = await Promise.all(tabs.map((t) => t.evaluate(() => window.dockchat.transport.role)));
    console.log(`5 tabs of one user: ${sockets} WebSocket(s); roles ${roles.join(', ')}`);
    await tabsCtx.close();
    await ctx.close();
    await others.close();
} finally {
    await env.stop();
}

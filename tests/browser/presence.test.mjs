// Presence with away and last seen (issue 12 item 4, PROTOCOL §5.2), in a real browser against `dockchatd demo`
// (harness.mjs): a course-mate whose page is hidden shows as away to the others (an amber ring, and the words in
// the accessible name and the window header), input brings them back online, and once they are gone their window
// says when they were last seen. Each user has a browser context of their own (their own socket).
import {test, before, after} from 'node:test';
import {setup, demoUsers, openAs, winSel, closeAll, shot, assert, T, DESKTOP} from './harness.mjs';

const env = setup('dockchatd-presence.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

/** Make a page hidden or visible, as the browser does when its tab is switched away from or back to. */
const setVisibility = (page, state) => page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => s});
    Object.defineProperty(document, 'hidden', {configurable: true, get: () => s === 'hidden'});
    document.dispatchEvent(new Event('visibilitychange'));
}, state);

test('desktop: a hidden page shows away to the others, input brings online, an offline window says last seen', {timeout: 180000}, async() => {
    const {byId, mates} = await demoUsers(env.base());
    const viewer = byId(5);
    const peer = mates(viewer)[0];
    assert.ok(peer, 'the viewer has a course-mate');
    const errors = [];
    const mine = await env.browser().newContext(DESKTOP);
    const theirs = await env.browser().newContext(DESKTOP);
    try {
        const page = await openAs(mine, env.base(), viewer, errors);
        const other = await openAs(theirs, env.base(), peer, errors);
        const entry = page.locator(`[data-region="online-user"][data-userid="${peer.id}"]`);
        await entry.waitFor({timeout: T});
        assert.equal(await entry.evaluate((el) => el.classList.contains('is-away')), false);
        // A window onto the peer: its header says their presence in words.
        await entry.locator('[data-action="open-chat"]').click({timeout: T});
        const win = page.locator(winSel(peer));
        const said = win.locator('[data-region="presence-text"]');
        await said.filter({hasText: /^\s*Online\s*$/}).waitFor({timeout: T});

        // The peer switches to another tab: away, as a colour and as words.
        await setVisibility(other, 'hidden');
        await page.waitForFunction((sel) => document.querySelector(sel).classList.contains('is-away'),
            `[data-region="online-user"][data-userid="${peer.id}"]`, {timeout: T});
        const name = await entry.locator('[data-action="open-chat"]').getAttribute('aria-label');
        assert.match(name, /, Away$/, 'the accessible name says away');
        assert.equal(await entry.locator('.block_dockchat-presence').getAttribute('title'), 'Away');
        await said.filter({hasText: /^\s*Away\s*$/}).waitFor({timeout: T});
        assert.ok(await win.evaluate((el) => el.classList.contains('is-away')));
        const ring = await entry.locator('.block_dockchat-presence').evaluate((el) => getComputedStyle(el).boxShadow);
        assert.notEqual(ring, 'none', 'away is drawn as a ring, not by colour alone');
        await shot(page, 'presence-away.png');

        // Back to the tab, and input: online again.
        await setVisibility(other, 'visible');
        await other.mouse.move(200, 200);
        await other.mouse.move(220, 240);
        await page.waitForFunction((sel) => !document.querySelector(sel).classList.contains('is-away'),
            `[data-region="online-user"][data-userid="${peer.id}"]`, {timeout: T});
        await said.filter({hasText: /^\s*Online\s*$/}).waitFor({timeout: T});

        // The peer leaves: after the offline grace period (10 s in the demo) the window says when they were last
        // seen, and the online list no longer lists them.
        await other.close();
        await said.filter({hasText: /^\s*Last seen just now\s*$/}).waitFor({timeout: 25000});
        await entry.waitFor({state: 'detached', timeout: T});
        assert.equal(await win.evaluate((el) => el.classList.contains('is-online')), false);
        await shot(page, 'presence-last-seen.png');
        await closeAll(page);
        assert.deepEqual(errors, []);
    } finally {
        await mine.close();
        await theirs.close();
    }
});

test('desktop: with two tabs sharing one socket, the user is away only when both are hidden', {timeout: 120000}, async() => {
    const {byId, mates} = await demoUsers(env.base());
    const viewer = byId(5);
    const peer = mates(viewer)[0];
    const errors = [];
    const mine = await env.browser().newContext(DESKTOP);
    const theirs = await env.browser().newContext(DESKTOP);
    try {
        const page = await openAs(mine, env.base(), viewer, errors);
        const first = await openAs(theirs, env.base(), peer, errors);
        const second = await openAs(theirs, env.base(), peer, errors);
        const roles = await Promise.all([first, second].map((p) => p.evaluate(() => window.dockchat.transport.role)));
        assert.deepEqual(roles.slice().sort(), ['follower', 'leader'], 'one socket for both tabs');
        const sel = `[data-region="online-user"][data-userid="${peer.id}"]`;
        await page.locator(sel).waitFor({timeout: T});
        const away = () => page.evaluate((s) => document.querySelector(s).classList.contains('is-away'), sel);
        // The follower tab hidden: the leader's is still visible and used, so online.
        const follower = roles[0] === 'follower' ? first : second;
        const leader = follower === first ? second : first;
        await setVisibility(follower, 'hidden');
        await page.waitForTimeout(2500);
        assert.equal(await away(), false, 'one tab visible: online');
        // Both hidden: away.
        await setVisibility(leader, 'hidden');
        await page.waitForFunction((s) => document.querySelector(s).classList.contains('is-away'), sel, {timeout: T});
        // The follower comes back: its activity goes through the leader's socket, online again.
        await setVisibility(follower, 'visible');
        await page.waitForFunction((s) => !document.querySelector(s).classList.contains('is-away'), sel, {timeout: T});
        assert.deepEqual(errors, []);
    } finally {
        await mine.close();
        await theirs.close();
    }
});

test('desktop: ten page navigations, in one tab and in the follower of two, show the user neither away nor offline', {timeout: 180000}, async() => {
    const {byId, mates} = await demoUsers(env.base());
    const viewer = byId(5);
    const peer = mates(viewer)[0];
    const errors = [];
    const mine = await env.browser().newContext(DESKTOP);
    const theirs = await env.browser().newContext(DESKTOP);
    try {
        const page = await openAs(mine, env.base(), viewer, errors);
        // A socket of the viewer's own records every presence frame it receives.
        const watcher = await mine.newPage();
        await watcher.goto(env.base() + '/demo/users', {timeout: T});
        await watcher.evaluate(async(id) => {
            window.presenceFrames = [];
            const r = await fetch('/demo/token', {method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({user: id})});
            const {token, wsurl} = await r.json();
            const ws = new WebSocket(wsurl);
            window.watch = ws;
            await new Promise((resolve, reject) => {
                ws.onmessage = (e) => {
                    const f = JSON.parse(e.data);
                    if (f.type === 'welcome') {
                        resolve();
                    } else if (f.type === 'presence') {
                        window.presenceFrames.push(f);
                    }
                };
                ws.onerror = () => reject(new Error('watcher socket'));
                ws.onopen = () => ws.send(JSON.stringify({type: 'hello', v: 1, token}));
            });
        }, viewer.id);
        const sel = `[data-region="online-user"][data-userid="${peer.id}"]`;
        const first = await openAs(theirs, env.base(), peer, errors);
        await page.locator(sel).waitFor({timeout: T});
        // The peer's arrival is announced before the count starts; from here on nothing about
        // the peer may come.
        await page.waitForTimeout(3000);
        await watcher.evaluate(() => {
            window.presenceFrames.length = 0;
        });
        const about = () => watcher.evaluate((id) => window.presenceFrames.filter((f) => f.user.id === id), peer.id);
        for (let i = 0; i < 10; i++) {
            await first.goto(`${env.base()}/?user=${peer.id}`, {timeout: T});
            await first.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        }
        // Past the offline grace (the demo's: 10 s) and the away delay.
        await page.waitForTimeout(11000);
        assert.deepEqual(await about(), [], 'one tab navigating: no presence frame about the user');
        assert.equal(await page.locator(sel).evaluate((el) => el.classList.contains('is-away')), false);

        // Two tabs: the follower navigates while the leader's tab is in the background.
        const second = await openAs(theirs, env.base(), peer, errors);
        const roles = await Promise.all([first, second].map((p) => p.evaluate(() => window.dockchat.transport.role)));
        const follower = roles[0] === 'follower' ? first : second;
        const leader = follower === first ? second : first;
        await setVisibility(leader, 'hidden');
        await page.waitForTimeout(3000);
        await watcher.evaluate(() => {
            window.presenceFrames.length = 0;
        });
        for (let i = 0; i < 10; i++) {
            await follower.goto(`${env.base()}/?user=${peer.id}`, {timeout: T});
            await follower.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        }
        await page.waitForTimeout(4000);
        const frames = await about();
        assert.deepEqual(frames.map((f) => f.status), [], 'the follower navigating: no presence frame about the user');
        // A real hide of the last visible tab (the follower's new page) still makes the user away.
        await setVisibility(follower, 'hidden');
        await page.waitForFunction((s) => document.querySelector(s).classList.contains('is-away'), sel, {timeout: T});
        assert.deepEqual(errors, []);
    } finally {
        await mine.close();
        await theirs.close();
    }
});

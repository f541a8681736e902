// The dock ready at first paint (issue 15 item 3), in headless Chromium against `dockchatd demo`: after a
// page load the list and the open window's messages are drawn from the previous page's snapshot before the
// socket's welcome (held back by the test), marked as connecting; the welcome and the history then
// reconcile them in place (the same nodes, nothing moves). A snapshot is never shown to another user.
import {test, before, after} from 'node:test';
import {setup, demoUsers, presence, chooseTab, closeAll, winSel, shot, assert, T, DESKTOP, PHONE} from './harness.mjs';

const env = setup('dockchatd-demo-snapshot.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

/**
 * Route a page's WebSockets so the test can hold back what the server sends (the welcome included).
 *
 * @param {object} page
 * @returns {Promise<{hold: function(): void, release: function(): void, held: function(): number}>}
 */
const holdServer = async(page) => {
    let holding = false;
    const queue = [];
    const sockets = [];
    await page.routeWebSocket(/\/ws/, (ws) => {
        const server = ws.connectToServer();
        sockets.push(ws);
        server.onMessage((data) => {
            if (holding) {
                queue.push([ws, data]);
            } else {
                ws.send(data);
            }
        });
    });
    return {
        hold: () => {
            holding = true;
        },
        release: () => {
            holding = false;
            queue.splice(0).forEach(([ws, data]) => ws.send(data));
        },
        held: () => queue.length,
    };
};

/** Where the list rows, the window and its messages are, keyed by what they show. */
const geometry = (page, peerId) => page.evaluate((peer) => {
    const rect = (el) => {
        const r = el.getBoundingClientRect();
        return [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)];
    };
    const out = {};
    document.querySelectorAll('.block_dockchat-user, .block_dockchat-conv').forEach((el, i) => {
        out['row' + i + ':' + el.textContent.replace(/\s+/g, ' ').trim().slice(0, 40)] = rect(el);
    });
    const win = document.querySelector(`[data-region="window"][data-peerid="${peer}"]`);
    if (win) {
        out.window = rect(win);
        win.querySelectorAll('[data-region="message"]').forEach((el) => {
            out['msg:' + el.textContent.replace(/\s+/g, ' ').trim().slice(0, 60)] = rect(el);
        });
    }
    return out;
}, peerId);

/** Mark the nodes drawn now (a JS property, invisible to the page): a node torn down loses it. */
const markNodes = (page) => page.evaluate(() => {
    const nodes = document.querySelectorAll('.block_dockchat-user, .block_dockchat-conv, [data-region="window"], [data-region="message"]');
    nodes.forEach((el) => {
        el.dockchatTestMark = true;
    });
    return nodes.length;
});
const unmarked = (page) => page.evaluate(() => Array.from(document.querySelectorAll(
    '.block_dockchat-user, .block_dockchat-conv, [data-region="window"], [data-region="message"]'))
    .filter((el) => !el.dockchatTestMark).map((el) => el.className));

for (const [size, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    test(`${size}: after a page load the list and the window's history are drawn before the welcome, then reconciled in place`, {timeout: 120000}, async() => {
        const u = await demoUsers(env.base());
        const me = u.byId(5);
        const mate = u.mates(me)[size === 'desktop' ? 0 : 1];
        const errors = [];
        const others = await env.browser().newContext();
        const ctx = await env.browser().newContext(options);
        try {
            const online = await presence(others, env.base(), [mate]);
            const page = await ctx.newPage();
            page.on('pageerror', (e) => errors.push(e.message));
            const route = await holdServer(page);
            await page.goto(`${env.base()}/?user=${me.id}`, {timeout: T});
            await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
            await chooseTab(page, 'online');
            await closeAll(page);
            await page.evaluate((id) => window.dockchat.onIntent({type: 'open', peer: id, focus: true}), mate.id);
            for (let i = 1; i <= 3; i++) {
                await online.send(mate, me, `snapshot ${size} ${i}`);
            }
            const win = page.locator(winSel(mate));
            await win.locator('.block_dockchat-msg-theirs').filter({hasText: `snapshot ${size} 3`}).waitFor({state: 'attached', timeout: T});
            await page.locator('.block_dockchat-conv').first().waitFor({state: 'attached', timeout: T});
            await page.waitForTimeout(700);

            // The next page: the server's frames are held back, so nothing of the dock can come from it.
            route.hold();
            await page.reload({waitUntil: 'domcontentloaded', timeout: T});
            await win.locator('.block_dockchat-msg-theirs').filter({hasText: `snapshot ${size} 3`}).waitFor({state: 'attached', timeout: T});
            await page.locator(`.block_dockchat-user[data-userid="${mate.id}"]`).waitFor({state: 'attached', timeout: T});
            await page.locator('.block_dockchat-conv').first().waitFor({state: 'attached', timeout: T});
            const early = await page.evaluate(() => ({welcomed: window.dockchat.state.welcomed, restored: window.dockchat.state.restored,
                busy: document.querySelector('[data-region="block_dockchat-dock"]').getAttribute('aria-busy')}));
            assert.deepEqual(early, {welcomed: false, restored: true, busy: 'true'}, 'drawn before the welcome, marked busy');
            assert.equal(await win.locator('[data-region="presence-text"]').textContent(), 'Connecting…');
            assert.ok(await page.locator('[data-region="banner"]').isHidden(), 'no banner flashes while connecting');
            assert.ok(await page.locator('[data-region="block_dockchat-online"] [data-region="count"]').filter({hasText: /\d/}).count() === 1,
                'the online count is there already');
            for (let i = 1; i <= 3; i++) {
                await win.locator('.block_dockchat-msg-theirs').filter({hasText: `snapshot ${size} ${i}`}).waitFor({state: 'attached', timeout: T});
            }
            await page.waitForTimeout(300);
            const marked = await markNodes(page);
            const drawn = await geometry(page, mate.id);
            await shot(page, `${size}-snapshot-connecting.png`);

            // The welcome and the history come: the same nodes, in the same places.
            route.release();
            await page.waitForFunction((id) => {
                const s = window.dockchat.state;
                return s.welcomed && s.connection.state === 'connected' && s.convs[id] && !s.convs[id].stale;
            }, mate.id, {timeout: T});
            await page.waitForFunction(() => !document.querySelector('[data-region="block_dockchat-dock"]').classList.contains('is-connecting'), null, {timeout: T});
            await page.waitForTimeout(500);
            assert.equal(await win.locator('[data-region="presence-text"]').textContent(), 'Online');
            assert.deepEqual(await unmarked(page), [], 'no node was torn down and drawn again');
            assert.ok(marked > 5, `marked ${marked} nodes`);
            assert.deepEqual(await geometry(page, mate.id), drawn, 'nothing moved at the reconcile');
            await shot(page, `${size}-snapshot-reconciled.png`);
            await closeAll(page);
            await online.close();
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
            await others.close().catch(() => {});
        }
    });
}

test('a snapshot is never shown to another user of the same tab, and is kept per user', {timeout: 90000}, async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(5);
    const mate = u.mates(me)[0];
    const other = u.users.find((x) => x.id !== me.id && x.id !== mate.id);
    const errors = [];
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const page = await ctx.newPage();
        page.on('pageerror', (e) => errors.push(e.message));
        const route = await holdServer(page);
        await page.goto(`${env.base()}/?user=${me.id}`, {timeout: T});
        await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        await closeAll(page);
        await page.evaluate((id) => window.dockchat.onIntent({type: 'open', peer: id, focus: true}), mate.id);
        await page.locator(winSel(mate)).waitFor({timeout: T});
        await page.waitForTimeout(700);
        assert.ok(await page.evaluate((id) => !!sessionStorage.getItem('block_dockchat_snapshot_' + id), me.id), 'saved');

        // The same tab as someone else, the server held back: nothing of the first user is drawn.
        route.hold();
        await page.goto(`${env.base()}/?user=${other.id}`, {waitUntil: 'domcontentloaded', timeout: T});
        await page.waitForFunction(() => window.dockchat && window.dockchat.state, null, {timeout: T});
        await page.waitForTimeout(500);
        const seen = await page.evaluate((id) => ({
            restored: window.dockchat.state.restored,
            windows: document.querySelectorAll('[data-region="window"]').length,
            rows: document.querySelectorAll('.block_dockchat-conv, .block_dockchat-user').length,
            firstUsersSnapshot: sessionStorage.getItem('block_dockchat_snapshot_' + id),
        }), me.id);
        assert.deepEqual(seen, {restored: false, windows: 0, rows: 0, firstUsersSnapshot: null});
        route.release();
        await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
    }
});

// The dock's offline state, plurals, text direction and touch targets (issue 14, items 10, 16-18), in
// headless Chromium against `dockchatd demo`. Screenshots of the states go to artifacts/.
import {test, before, after} from 'node:test';
import {setup, demoUsers, openAs, presence, closeAll, winSel, shot, assert, T, DESKTOP, PHONE} from './harness.mjs';

const env = setup('dockchatd-demo-states.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

/** Amara (a student of two courses) and her course-mates. */
const cast = async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(5);
    return {me, mates: u.mates(me), u};
};

const GREY = 'rgb(173, 181, 189)';

/**
 * A page whose WebSocket to dockchatd the test can cut, as if the daemon were down: while `up()` is false
 * every new connection is closed at once (1011), and `down()` closes the live ones as a dying daemon would.
 *
 * @param {object} ctx
 * @returns {Promise<{page: object, down: function(): Promise, up: function(): void}>}
 */
const cuttable = async(ctx) => {
    const page = await ctx.newPage();
    let alive = true;
    const live = [];
    await page.routeWebSocket(/\/ws/, (ws) => {
        if (!alive) {
            ws.close({code: 1011, reason: 'daemon down (test)'});
            return;
        }
        ws.connectToServer();
        live.push(ws);
    });
    return {
        page,
        down: async() => {
            alive = false;
            await Promise.all(live.splice(0).map((s) => s.close({code: 1011, reason: 'daemon down (test)'})));
        },
        up: () => {
            alive = true;
        },
    };
};

/** What the block's header and status show. */
const blockState = (page) => page.locator('[data-region="block_dockchat-online"]').evaluate((root) => {
    const shown = (el) => !!el && !el.hidden && el.textContent.trim() !== '';
    const region = (name) => root.querySelector(`[data-region="${name}"]`);
    return {
        count: shown(region('count')) ? region('count').textContent.trim() : '',
        empty: shown(region('empty')),
        status: shown(region('status')) ? region('status').textContent.trim() : '',
        dot: getComputedStyle(root.querySelector('.block_dockchat-dot')).backgroundColor,
    };
});

for (const [size, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    test(`${size}: while dockchatd is down the list says the chat is offline, no online count, grey dot`, {timeout: 90000}, async() => {
        const {me, mates} = await cast();
        const errors = [];
        const others = await env.browser().newContext();
        const ctx = await env.browser().newContext(options);
        try {
            const online = await presence(others, env.base(), mates.slice(0, 2));
            const {page, down, up} = await cuttable(ctx);
            page.on('pageerror', (e) => errors.push(e.message));
            await page.goto(`${env.base()}/?user=${me.id}`, {timeout: T});
            await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
            const before = await blockState(page);
            assert.match(before.count, /^\d+ online$/);
            assert.notEqual(before.dot, GREY, 'green dot while connected');

            await down();
            await page.locator('[data-region="block_dockchat-online"] [data-region="status"]')
                .filter({hasText: 'Chat is offline — reconnecting'}).waitFor({timeout: T});
            const off = await blockState(page);
            assert.equal(off.status, 'Chat is offline — reconnecting');
            assert.equal(off.count, '', 'no online count while offline');
            assert.equal(off.empty, false, 'no "none of your course-mates is online" while offline');
            assert.equal(off.dot, GREY, 'grey dot while offline');
            // The Online tab keeps its name, without a count.
            assert.equal(await page.locator('.block_dockchat-online').evaluate((el) => /\d\s*online\b/i.test(
                el.querySelector('[role="tablist"]').textContent)), false);
            await shot(page, `${size}-list-offline.png`);

            // Back up: the count and the green dot return.
            up();
            await page.locator('[data-region="banner"] [data-action="reconnect"]').click({timeout: T}).catch(() => {});
            await page.locator('.block_dockchat-count').filter({hasText: /\d online/}).waitFor({timeout: T});
            const back = await blockState(page);
            assert.equal(back.status, '');
            assert.notEqual(back.dot, GREY);
            await online.close();
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
            await others.close().catch(() => {});
        }
    });
}

test('desktop: dockchatd down from the page load: offline, no count, grey dot', {timeout: 90000}, async() => {
    const {me} = await cast();
    const errors = [];
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const {page, down} = await cuttable(ctx);
        await down();
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${env.base()}/?user=${me.id}`, {timeout: T});
        await page.locator('[data-region="block_dockchat-online"] [data-region="status"]')
            .filter({hasText: 'Chat is offline — reconnecting'}).waitFor({timeout: T});
        const off = await blockState(page);
        assert.equal(off.count, '');
        assert.equal(off.empty, false);
        assert.equal(off.dot, GREY);
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
    }
});

test('desktop: counts of one are in the singular ("1 unread message", "1 more conversation")', {timeout: 90000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const cast4 = mates.slice(0, 5);
        // cast4[0..3] get windows, cast4[4] writes without one.
        const online = await presence(others, env.base(), cast4);
        const page = await openAs(ctx, env.base(), me, errors);
        await closeAll(page);
        await page.waitForFunction((k) => document.querySelectorAll('.block_dockchat-user').length >= k, cast4.length, {timeout: T});
        // One message from a course-mate with no window: the list's badge.
        const writer = cast4[4];
        await online.send(writer, me, 'one for you');
        const badge = page.locator(`.block_dockchat-user[data-userid="${writer.id}"] [data-region="unread"]`);
        await badge.filter({hasText: '1'}).waitFor({timeout: T});
        assert.equal(await badge.getAttribute('aria-label'), '1 unread message');
        await online.send(writer, me, 'and another');
        await badge.filter({hasText: '2'}).waitFor({timeout: T});
        assert.equal(await badge.getAttribute('aria-label'), '2 unread messages');

        // Open windows until one is behind the '+N' chip.
        const chip = page.locator('[data-action="toggle-overflow"]');
        for (const m of cast4.slice(0, 4)) {
            await page.locator(`.block_dockchat-user[data-userid="${m.id}"] button`).click();
            await page.locator(`${winSel(m)} [data-region="input"]`).waitFor({state: 'visible', timeout: T});
            await page.waitForTimeout(200);
            if (await chip.isVisible()) {
                break;
            }
        }
        await chip.waitFor({state: 'visible', timeout: T});
        const hidden = await page.locator('[data-region="window"][hidden]').count();
        assert.equal(hidden, 1, 'one window behind the chip');
        assert.equal(await chip.getAttribute('aria-label'), '1 more conversation');
        await shot(page, 'desktop-singular-counts.png');
        // The names in the '+N' menu take their own direction too (item 18).
        await chip.click();
        const item = page.locator('[data-region="overflow-menu"] .block_dockchat-overflow-item span').first();
        await item.waitFor({timeout: T});
        assert.equal(await item.getAttribute('dir'), 'auto');
        await closeAll(page);
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

for (const [size, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    test(`${size}: Arabic or Hebrew messages lay out right to left, names take their own direction`, {timeout: 90000}, async() => {
        const {me, mates} = await cast();
        const errors = [];
        const others = await env.browser().newContext();
        const ctx = await env.browser().newContext(options);
        try {
            const peer = mates[2];
            const online = await presence(others, env.base(), [peer]);
            const page = await openAs(ctx, env.base(), me, errors);
            await closeAll(page);
            await page.locator(`.block_dockchat-user[data-userid="${peer.id}"] button`).click();
            const w = page.locator(winSel(peer));
            await w.locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
            // The conversation keeps its history between tests: a tag tells this run's messages apart.
            const tag = ` ${size}${Date.now() % 100000}`;
            await online.send(peer, me, 'مرحبا، هل رأيت الواجب؟' + tag);
            await online.send(peer, me, 'שלום, ראית את המטלה?' + tag);
            await online.send(peer, me, 'Hello, did you see the assignment?' + tag);
            const text = (t) => w.locator('[data-region="text"]').filter({hasText: t}).filter({hasText: tag});
            await text('Hello, did you see').waitFor({timeout: T});
            const direction = (loc) => loc.evaluate((el) => getComputedStyle(el).direction);
            assert.equal(await direction(text('مرحبا')), 'rtl', 'Arabic right to left');
            assert.equal(await direction(text('שלום')), 'rtl', 'Hebrew right to left');
            assert.equal(await direction(text('Hello')), 'ltr', 'English left to right');
            // Names in the list, the window's title and its empty state follow their own script.
            for (const sel of [`.block_dockchat-user[data-userid="${peer.id}"] .block_dockchat-user-name`,
                `${winSel(peer)} [data-region="name"]`, `${winSel(peer)} [data-region="empty"] strong`]) {
                assert.equal(await page.locator(sel).getAttribute('dir'), 'auto', sel);
            }
            await shot(page, `${size}-rtl-messages.png`);
            await closeAll(page);
            await online.close();
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
            await others.close().catch(() => {});
        }
    });
}

test('phone (touch): minimise, close and send are at least 44×44 px; a mouse keeps the compact 32 px', {timeout: 90000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const peer = mates[3];
    for (const [options, touch] of [[PHONE, true], [DESKTOP, false]]) {
        const ctx = await env.browser().newContext(options);
        try {
            const page = await openAs(ctx, env.base(), me, errors);
            assert.equal(await page.evaluate(() => matchMedia('(pointer: coarse)').matches), touch, 'the context has the pointer it says');
            await closeAll(page);
            await page.evaluate((id) => window.dockchat.onIntent({type: 'open', peer: id}), peer.id);
            const w = page.locator(winSel(peer));
            await w.locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
            for (const sel of ['[data-action="minimise"]', '[data-action="close"]', '[data-action="send"]']) {
                const box = await w.locator(sel).boundingBox();
                if (touch) {
                    assert.ok(box.width >= 44 && box.height >= 44, `${sel} is ${box.width}×${box.height} on a touch screen`);
                } else if (sel !== '[data-action="send"]') {
                    assert.equal(box.width, 32, `${sel} with a mouse`);
                }
            }
            if (touch) {
                await shot(page, 'phone-touch-targets.png');
            }
            await closeAll(page);
        } finally {
            await ctx.close().catch(() => {});
        }
    }
    assert.deepEqual(errors, []);
});

// The dock's window manager and failure states (issue 14), in headless Chromium against `dockchatd demo`,
// at desktop (1366×768) and phone (390×844) sizes. Screenshots of the states go to artifacts/.
import {test, before, after} from 'node:test';
import {setup, demoUsers, openAs, chooseTab, presence, closeAll, winSel, isUncovered, shot, assert, T, DESKTOP, PHONE} from './harness.mjs';

const env = setup('dockchatd-demo-wm.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

/** Amara (a student of two courses: 8 course-mates) and her course-mates. */
const cast = async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(5);
    const mates = u.mates(me);
    assert.ok(mates.length >= 8, 'Amara has 8 course-mates');
    return {me, mates, u};
};

/**
 * A page of `me` whose chat socket runs through the test (`fromPage(frame, ws)` may answer a frame
 * itself and return true; `toPage(frame)` may rewrite what dockchatd sends), with the window onto
 * `peer` opened from the Online list.
 *
 * @param {object} ctx browser context
 * @param {object} me demo user
 * @param {object} peer demo user
 * @param {string[]} errors collects page errors
 * @param {{fromPage: (function(object, object): boolean)|undefined, toPage: (function(object): object)|undefined}} hooks
 * @returns {Promise<object>} the page
 */
const pageThroughTest = async(ctx, me, peer, errors, {fromPage, toPage}) => {
    const page = await ctx.newPage();
    await page.routeWebSocket(/\/ws/, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage((data) => {
            if (!fromPage || !fromPage(JSON.parse(data), ws)) {
                server.send(data);
            }
        });
        server.onMessage((data) => ws.send(toPage ? JSON.stringify(toPage(JSON.parse(data))) : data));
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${env.base()}/?user=${me.id}`, {timeout: T});
    await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
    await chooseTab(page, 'online');
    await closeAll(page);
    await page.locator(`.block_dockchat-user[data-userid="${peer.id}"] button`).click();
    return page;
};

const rows = (page) => page.locator('.block_dockchat-user');
const waitOnline = (page, n) => page.waitForFunction((k) => document.querySelectorAll('.block_dockchat-user').length >= k, n, {timeout: T});

for (const [size, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    test(`${size}: an open window never covers the block's list`, {timeout: 90000}, async() => {
        const {me, mates} = await cast();
        const errors = [];
        const others = await env.browser().newContext();
        const ctx = await env.browser().newContext(options);
        try {
            const online = await presence(others, env.base(), mates.slice(0, 7));
            const page = await openAs(ctx, env.base(), me, errors);
            await closeAll(page);
            await waitOnline(page, 7);
            const last = rows(page).last();
            await last.locator('button').click();
            await page.locator('[data-region="window"] [data-region="input"]').first().waitFor({state: 'visible', timeout: T});
            if (size === 'phone') {
                // A phone shows the conversation full-screen (issue 14 item 6): its back button leads to the
                // list, full-screen too, where no chat head covers a row.
                await page.locator('[data-region="window"]:visible [data-action="back"]').click();
                await page.locator('[data-region="sheet"]').waitFor({state: 'visible', timeout: T});
            }
            await page.waitForTimeout(300);
            const count = await rows(page).count();
            for (let i = 0; i < count; i++) {
                const row = rows(page).nth(i).locator('button');
                // Bring the row to the upper part of the screen, below the page's sticky bar, as a user
                // scrolling to it would.
                await row.evaluate((el) => {
                    window.scrollBy(0, el.getBoundingClientRect().top - 100);
                });
                await page.waitForTimeout(50);
                if (!(await isUncovered(row))) {
                    await shot(page, `${size}-covered-row-${i + 1}.png`);
                }
                assert.ok(await isUncovered(row), `${size}: row ${i + 1} of ${count} can be clicked with a window open`);
            }
            await shot(page, `${size}-window-beside-list.png`);
            await online.close();
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
            await others.close().catch(() => {});
        }
    });
}

for (const [size, options, open] of [['desktop', DESKTOP, 3], ['phone', PHONE, 1]]) {
    test(`${size}: a new conversation never hides the window being typed in`, {timeout: 90000}, async() => {
        const {me, mates} = await cast();
        const errors = [];
        const others = await env.browser().newContext();
        const ctx = await env.browser().newContext(options);
        try {
            const online = await presence(others, env.base(), mates.slice(0, 7));
            const page = await openAs(ctx, env.base(), me, errors);
            await closeAll(page);
            await waitOnline(page, 7);
            const chosen = mates.slice(0, open);
            for (const m of chosen) {
                await page.locator(`.block_dockchat-user[data-userid="${m.id}"] button`).click();
                await page.locator(`${winSel(m)} [data-region="input"]`).waitFor({state: 'visible', timeout: T});
            }
            // The user writes in the window opened first (the left-most one on a desktop).
            const typing = chosen[0];
            const input = page.locator(`${winSel(typing)} [data-region="input"]`);
            await input.click();
            await input.pressSequentially('half a thought', {delay: 10});
            const newcomer = mates[6];
            await online.send(newcomer, me, 'Hi! Quick question about the quiz');
            await page.locator(winSel(newcomer)).waitFor({state: 'attached', timeout: T});
            await page.waitForTimeout(300);
            assert.ok(await input.isVisible(), `${size}: the window being typed in stays visible`);
            assert.equal(await input.inputValue(), 'half a thought', 'the draft is intact');
            assert.equal(await page.evaluate((sel) => document.activeElement === document.querySelector(sel),
                `${winSel(typing)} [data-region="input"]`), true, `${size}: the focus stays in the input`);
            for (const m of chosen) {
                assert.ok(await page.locator(winSel(m)).isVisible(), `${size}: ${m.fullname}'s window stays visible`);
            }
            assert.equal(await page.locator(winSel(newcomer)).isVisible(), false, 'the newcomer does not take a place');
            if (size === 'phone') {
                // A phone shows one conversation, full-screen: the newcomer waits as a chat head with its
                // unread count, under it (issue 14 item 6; tests/browser/phone.test.mjs).
                const head = page.locator(`[data-region="head"][data-window="${newcomer.id}"]`);
                await head.waitFor({state: 'attached', timeout: T});
                assert.match(await head.locator('[data-region="head-unread"]').textContent(), /^[1-9]\d*$/);
                await shot(page, `${size}-newcomer-as-head.png`);
                await online.close();
                assert.deepEqual(errors, []);
                return;
            }
            // The newcomer waits behind the '+N' chip, whose badge counts its unread message.
            const chip = page.locator('[data-region="overflow"]');
            await chip.waitFor({state: 'visible', timeout: T});
            assert.match(await chip.locator('[data-region="overflow-unread"]').textContent(), /^[1-9]\d*$/);
            assert.ok(await chip.locator('[data-region="overflow-unread"]').isVisible(), 'the chip shows an unread badge');
            await shot(page, `${size}-newcomer-behind-chip.png`);
            await online.close();
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
            await others.close().catch(() => {});
        }
    });
}

/** Peers of the visible windows, right-most first. */
const order = (page) => page.locator('[data-region="window"]:not([hidden])').evaluateAll((els) => els
    .map((el) => ({id: Number(el.dataset.peerid), x: el.getBoundingClientRect().right}))
    .sort((a, b) => b.x - a.x).map((w) => w.id));

test('desktop: the windows keep their order in every tab and after a reload (most recently used right-most)', {timeout: 90000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const online = await presence(others, env.base(), mates.slice(0, 7));
        const page = await openAs(ctx, env.base(), me, errors);
        await closeAll(page);
        await waitOnline(page, 7);
        const [a, b, c] = mates;
        for (const m of [a, b, c]) {
            await page.locator(`.block_dockchat-user[data-userid="${m.id}"] button`).click();
            await page.locator(`${winSel(m)} [data-region="input"]`).waitFor({state: 'visible', timeout: T});
        }
        const expected = [c.id, b.id, a.id];
        assert.deepEqual(await order(page), expected, 'the last opened is right-most');
        const second = await openAs(ctx, env.base(), me, errors);
        await second.locator(winSel(a)).waitFor({timeout: T});
        await second.waitForTimeout(300);
        assert.deepEqual(await order(second), expected, 'a second tab shows the same order');
        await page.reload({timeout: T});
        await page.locator(winSel(a)).waitFor({timeout: T});
        await page.waitForTimeout(300);
        assert.deepEqual(await order(page), expected, 'a reload keeps the order');
        // Choosing the left-most from the list makes it the right-most, in both tabs and after a reload.
        await page.locator(`.block_dockchat-user[data-userid="${a.id}"] button`).click();
        const raised = [a.id, c.id, b.id];
        await page.waitForFunction((want) => {
            const ids = [...document.querySelectorAll('[data-region="window"]:not([hidden])')]
                .sort((x, y) => y.getBoundingClientRect().right - x.getBoundingClientRect().right).map((el) => Number(el.dataset.peerid));
            return ids.join() === want.join();
        }, raised, {timeout: T});
        await second.waitForFunction((want) => {
            const ids = [...document.querySelectorAll('[data-region="window"]:not([hidden])')]
                .sort((x, y) => y.getBoundingClientRect().right - x.getBoundingClientRect().right).map((el) => Number(el.dataset.peerid));
            return ids.join() === want.join();
        }, raised, {timeout: T}).catch(() => {});
        assert.deepEqual(await order(second), raised, 'the other tab follows');
        await second.reload({timeout: T});
        await second.locator(winSel(a)).waitFor({timeout: T});
        await second.waitForTimeout(300);
        assert.deepEqual(await order(second), raised, 'and keeps it after a reload');
        await shot(second, 'desktop-window-order.png');
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

test('desktop: the "+N" menu stays on screen', {timeout: 90000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const online = await presence(others, env.base(), mates.slice(0, 7));
        const page = await openAs(ctx, env.base(), me, errors);
        await closeAll(page);
        await waitOnline(page, 7);
        for (const m of mates.slice(0, 6)) {
            await page.locator(`.block_dockchat-user[data-userid="${m.id}"] button`).click();
            await page.locator(`${winSel(m)} [data-region="input"]`).waitFor({state: 'visible', timeout: T});
        }
        await page.locator('[data-region="overflow"]:not([hidden]) [data-action="toggle-overflow"]').click();
        const menu = page.locator('[data-region="overflow-menu"]:not([hidden])');
        await menu.locator('[data-action="raise"]').first().waitFor({timeout: T});
        const box = await menu.boundingBox();
        assert.ok(box.x >= 0 && box.x + box.width <= 1366, `the menu is on screen (${JSON.stringify(box)})`);
        for (const item of await menu.locator('[data-action="raise"]').all()) {
            assert.ok(await isUncovered(item), 'each entry can be clicked');
        }
        await shot(page, 'desktop-overflow-menu-on-screen.png');
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

test('desktop: minimised windows take only their title bar\'s width', {timeout: 90000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const online = await presence(others, env.base(), mates.slice(0, 7));
        const page = await openAs(ctx, env.base(), me, errors);
        await closeAll(page);
        await waitOnline(page, 7);
        const four = mates.slice(0, 4);
        for (const m of four) {
            await page.locator(`.block_dockchat-user[data-userid="${m.id}"] button`).click();
            await page.locator(`${winSel(m)} [data-region="input"]`).waitFor({state: 'visible', timeout: T});
        }
        for (const m of four) {
            const w = page.locator(winSel(m));
            if (!(await w.isVisible())) {
                await page.locator(`.block_dockchat-user[data-userid="${m.id}"] button`).click();
                await w.locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
            }
            await w.locator('[data-action="minimise"]').click();
            await page.waitForFunction((sel) => document.querySelector(sel).classList.contains('is-minimised'), winSel(m), {timeout: T});
        }
        await page.waitForTimeout(300);
        for (const m of four) {
            const w = page.locator(winSel(m));
            assert.ok(await w.isVisible(), `${m.fullname}'s minimised window is shown: four title bars fit`);
            const width = (await w.boundingBox()).width;
            const header = await w.locator('header').evaluate((el) => el.scrollWidth);
            assert.ok(width < 300 && width >= header - 1, `a minimised window is as wide as its title bar (${width}, header ${header})`);
        }
        assert.equal(await page.locator('[data-region="overflow"]').isVisible(), false, 'no "+N" chip');
        await shot(page, 'desktop-minimised-title-bars.png');
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

test('desktop: a final refusal offers only Dismiss, a passing one Retry, and "Seen" is never drawn under them', {timeout: 90000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const peer = mates[1];
        const online = await presence(others, env.base(), [peer]);
        // Between the page and dockchatd: sends whose text starts with 'REFUSE <code>' are answered with
        // that error, as dockchatd answers a refused send (ref = the cid), until `allow` is set.
        let allow = false;
        const page = await pageThroughTest(ctx, me, peer, errors, {
            fromPage: (f, ws) => {
                const m = f.type === 'send' && /^REFUSE (\w+)/.exec(f.text);
                if (m && !allow) {
                    ws.send(JSON.stringify({type: 'error', code: m[1], message: 'refused by the test', ref: f.cid}));
                    return true;
                }
                return false;
            },
        });
        const w = page.locator(winSel(peer));
        const input = w.locator('[data-region="input"]');
        await input.waitFor({state: 'visible', timeout: T});
        await input.fill('Did you get the slides?');
        await input.press('Enter');
        await online.read(peer, me);
        const seen = w.locator('[data-region="seen"]');
        await seen.waitFor({state: 'visible', timeout: T});

        // One reason per actual rule (issue 14 item 9): contacts only is not 'no shared course'.
        for (const [code, reason] of [['blocked', 'You cannot message this person.'],
            ['not_contactable', 'You can message your course-mates and contacts; this person is neither.'],
            ['contacts_only', 'This person only accepts messages from their contacts.'],
            ['no_permission', 'You do not have permission to send messages.'], ['text_too_long', 'The message is too long.']]) {
            await input.fill(`REFUSE ${code} hello`);
            await input.press('Enter');
            const bubble = w.locator('.block_dockchat-msg.is-failed').filter({hasText: `REFUSE ${code}`});
            await bubble.locator('[data-region="state"]').filter({hasText: /\S/}).waitFor({timeout: T});
            if (reason) {
                assert.equal(await bubble.locator('[data-region="state"]').textContent(), reason);
            }
            assert.equal(await bubble.locator('[data-action="retry"]').isVisible(), false, `${code}: no Retry`);
            assert.ok(await bubble.locator('[data-action="dismiss"]').isVisible(), `${code}: Dismiss`);
            assert.equal(await seen.isVisible(), false, `${code}: no 'Seen' under a refused message`);
            if (code === 'blocked') {
                await shot(page, 'desktop-final-refusal.png');
            }
            await bubble.locator('[data-action="dismiss"]').click();
            await bubble.waitFor({state: 'detached', timeout: T});
            if (code !== 'text_too_long') {
                // Such a refusal also says, where the composer is, that this conversation takes no
                // messages now (issue 12 item 3); the next page's history (here: allowed) lifts it.
                assert.equal(await w.locator('[data-region="cansend"]').textContent(), reason);
                assert.equal(await input.getAttribute('aria-disabled'), 'true');
                await page.reload({timeout: T});
                await w.waitFor({timeout: T});
                const toggle = w.locator('[data-action="toggle"]');
                if ((await toggle.getAttribute('aria-expanded')) === 'false') {
                    await toggle.click();
                }
                await page.waitForFunction((sel) => {
                    const el = document.querySelector(sel + ' [data-region="input"]');
                    return el && !el.readOnly;
                }, winSel(peer), {timeout: T});
            }
        }
        await seen.waitFor({state: 'visible', timeout: T});

        // A passing refusal: the reason and Retry; Retry sends it (once).
        await input.fill('REFUSE rate_limited wait for it');
        await input.press('Enter');
        const bubble = w.locator('.block_dockchat-msg').filter({hasText: 'REFUSE rate_limited'});
        const retry = bubble.locator('[data-action="retry"]');
        await retry.waitFor({state: 'visible', timeout: T});
        assert.equal(await bubble.locator('[data-region="state"]').textContent(), 'You are sending messages too quickly.');
        assert.equal(await bubble.locator('[data-action="dismiss"]').isVisible(), false);
        await shot(page, 'desktop-passing-refusal.png');
        allow = true;
        await retry.click({timeout: T});
        await page.waitForFunction((sel) => {
            const el = [...document.querySelectorAll(sel)].find((e) => e.textContent.includes('REFUSE rate_limited'));
            return el && !el.classList.contains('is-failed') && !el.classList.contains('is-pending');
        }, `${winSel(peer)} .block_dockchat-msg`, {timeout: T});
        assert.equal(await bubble.count(), 1, 'delivered once');
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

test('desktop: a window says "can\'t message" before the user types, and takes messages again when allowed (issue 12 item 3)', {timeout: 90000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const peer = mates[2];
        const online = await presence(others, env.base(), [peer]);
        // Between the page and dockchatd: history frames say what the test wants of CanSend (the
        // daemon's own answer is covered by its tests), as a block or a changed preference would.
        let canSend = {ok: false, code: 'contacts_only'};
        const page = await pageThroughTest(ctx, me, peer, errors, {
            toPage: (f) => (f.type === 'history' ? {...f, can_send: canSend} : f),
        });
        const w = page.locator(winSel(peer));
        const notice = w.locator('[data-region="cansend"]');
        await notice.filter({hasText: /\S/}).waitFor({timeout: T});
        assert.equal(await notice.textContent(), 'This person only accepts messages from their contacts.');
        assert.equal(await notice.getAttribute('role'), 'status');
        const input = w.locator('[data-region="input"]');
        assert.equal(await input.getAttribute('aria-disabled'), 'true');
        assert.ok(await input.evaluate((el) => el.readOnly), 'the composer takes no text');
        await shot(page, 'desktop-cannot-message.png');
        // Allowed again (the next page's welcome and history say so): the composer comes back and a
        // message goes out.
        canSend = {ok: true};
        await page.reload({timeout: T});
        await w.waitFor({timeout: T});
        const toggle = w.locator('[data-action="toggle"]');
        if ((await toggle.getAttribute('aria-expanded')) === 'false') {
            await toggle.click();
        }
        await page.waitForFunction((sel) => {
            const el = document.querySelector(sel + ' [data-region="input"]');
            return el && !el.readOnly && el.getAttribute('aria-disabled') !== 'true';
        }, winSel(peer), {timeout: T});
        assert.equal(await notice.textContent(), '');
        await input.fill('Now I can write');
        await input.press('Enter');
        await w.locator('[data-region="message"]').filter({hasText: 'Now I can write'}).first().waitFor({timeout: T});
        assert.deepEqual(errors, []);
        await online.close();
    } finally {
        await ctx.close();
        await others.close();
    }
});

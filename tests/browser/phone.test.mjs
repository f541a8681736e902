// The dock on a phone (issue 14 item 6), in headless Chromium against `dockchatd demo` at 390×844 with touch:
// a launcher instead of a list buried below the course, one conversation full-screen with a back button,
// the others as chat heads, and nothing that opens by itself on page load; a group conversation full-screen
// with its name, member count and senders' names. Screenshots go to artifacts/.
import {test, before, after} from 'node:test';
import {setup, demoUsers, openAs, chooseTab, presence, closeAll, winSel, shot, assert, T, DESKTOP, PHONE} from './harness.mjs';

const env = setup('dockchatd-demo-phone.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

/** Amara (a student of two courses: 8 course-mates) and her course-mates. */
const cast = async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(5);
    const mates = u.mates(me);
    assert.ok(mates.length >= 8, 'Amara has 8 course-mates');
    return {me, mates};
};

const launcher = (page) => page.locator('[data-region="launcher"]');
const sheet = (page) => page.locator('[data-region="sheet"]');
const head = (page, peer) => page.locator(`[data-region="head"][data-window="${peer.id}"]`);
const shownWindows = (page) => page.locator('[data-region="window"]:visible');
/** The row of a course-mate in the Online list (in the sheet while it is open). */
const row = (page, peer) => page.locator(`.block_dockchat-user[data-userid="${peer.id}"] button`);
const activeIs = (page, selector) => page.evaluate((s) => {
    const el = document.querySelector(s);
    return !!el && (document.activeElement === el || el.contains(document.activeElement));
}, selector);
const scrollLocked = (page) => page.evaluate(() => getComputedStyle(document.documentElement).overflow === 'hidden'
    || getComputedStyle(document.body).overflow === 'hidden');
/** Whether a box covers the whole 390×844 screen. */
const fullScreen = (box) => !!box && box.x === 0 && box.y === 0 && box.width === 390 && box.height === 844;

test('phone: windows left open come back as chat heads after a reload, nothing opens by itself; a desktop still shows them', {timeout: 120000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const [a, b] = mates;
    const ctx = await env.browser().newContext(PHONE);
    try {
        const page = await openAs(ctx, env.base(), me, errors);
        await closeAll(page);
        // Two conversations left open (as on the last page, or in a desktop tab).
        for (const m of [a, b]) {
            await page.evaluate((id) => window.dockchat.onIntent({type: 'open', peer: id}), m.id);
            await page.locator(`${winSel(m)} [data-region="input"]`).waitFor({state: 'visible', timeout: T});
        }
        // Kept by the server: a second tab's welcome lists them (then this one reloads).
        const second = await openAs(ctx, env.base(), me, errors, {tab: null});
        await second.waitForFunction(() => window.dockchat.state.windows.length === 2, null, {timeout: T});
        await second.close();
        await page.reload({timeout: T});
        await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        await head(page, a).waitFor({state: 'visible', timeout: T});
        await head(page, b).waitFor({state: 'visible', timeout: T});
        await page.waitForTimeout(500);
        assert.equal(await shownWindows(page).count(), 0, 'no conversation takes the screen on page load');
        assert.equal(await scrollLocked(page), false, 'the page scrolls');
        const states = await page.evaluate(() => window.dockchat.state.windows.map((w) => w.state));
        assert.deepEqual(states, ['open', 'open'], 'the server still has them open (its protocol is unchanged)');
        // The launcher: round, 56 px, bottom right, above the page, with the heads stacked above it.
        const box = await launcher(page).boundingBox();
        assert.ok(box && box.width === 56 && box.height === 56, `the launcher is 56×56 (${box && box.width}×${box && box.height})`);
        assert.ok(box.x + box.width <= 390 - 12 && box.y + box.height <= 844 - 12 && box.x > 300 && box.y > 700,
            `the launcher is at the bottom right (${box.x},${box.y})`);
        assert.equal(await launcher(page).evaluate((el) => {
            const r = el.getBoundingClientRect();
            return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === el
                || el.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
        }), true, 'nothing covers the launcher');
        for (const m of [a, b]) {
            const h = await head(page, m).locator('button').boundingBox();
            assert.ok(h.width >= 44 && h.height >= 44, `a chat head is at least 44×44 (${h.width}×${h.height})`);
            assert.ok(h.y + h.height <= box.y && h.x + h.width > 330, 'the heads are at the right edge, above the launcher');
            assert.match(await head(page, m).locator('button').getAttribute('aria-label'), new RegExp(m.fullname));
        }
        await shot(page, 'phone-heads-after-reload.png');
        // Scrolled to the bottom of the course page, the launcher is still there.
        await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
        await page.waitForTimeout(200);
        assert.ok(await launcher(page).isVisible(), 'the launcher is reachable anywhere on the page');

        // The same user on a desktop sees them as windows, as before.
        const desk = await env.browser().newContext(DESKTOP);
        try {
            const wide = await openAs(desk, env.base(), me, errors);
            await wide.locator(`${winSel(a)} [data-region="input"]`).waitFor({state: 'visible', timeout: T});
            await wide.locator(`${winSel(b)} [data-region="input"]`).waitFor({state: 'visible', timeout: T});
            for (const sel of ['[data-region="launcher"]', '[data-region="heads"]', '[data-region="sheet"]', '[data-action="back"]']) {
                assert.equal(await wide.locator(sel).first().isVisible(), false, `no ${sel} on a desktop`);
            }
        } finally {
            await desk.close().catch(() => {});
        }
        await closeAll(page);
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
    }
});

test('phone: the launcher opens the list full-screen; one conversation full-screen with back; another keeps it as a head', {timeout: 120000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const [a, b] = mates;
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(PHONE);
    try {
        const online = await presence(others, env.base(), [a, b]);
        const page = await openAs(ctx, env.base(), me, errors);
        await closeAll(page);
        assert.match(await launcher(page).getAttribute('aria-label'), /^Chats/);
        await launcher(page).tap();
        await sheet(page).waitFor({state: 'visible', timeout: T});
        assert.ok(fullScreen(await sheet(page).boundingBox()), 'the list is full-screen');
        assert.equal(await sheet(page).locator('[data-region="block_dockchat-online"]').count(), 1, 'the list is in the sheet');
        assert.equal(await activeIs(page, '[data-region="sheet"]'), true, 'the focus moves into the sheet');
        assert.equal(await scrollLocked(page), true, 'the page under it does not scroll');
        assert.equal(await page.evaluate(() => !!document.querySelector('#page-content').closest('[inert]')), true,
            'the page under it is out of the keyboard\'s reach');
        await page.keyboard.press('Tab');
        await page.keyboard.press('Tab');
        assert.equal(await activeIs(page, '[data-region="sheet"]'), true, 'Tab stays in the sheet');
        const close = sheet(page).locator('[data-action="close-sheet"]');
        const cbox = await close.boundingBox();
        assert.ok(cbox.width >= 44 && cbox.height >= 44, `the close button is 44×44 (${cbox.width}×${cbox.height})`);
        await chooseTab(page, 'online');
        await row(page, a).waitFor({timeout: T});
        await shot(page, 'phone-list-sheet.png');
        // Escape closes it, the focus goes back to the launcher.
        await page.keyboard.press('Escape');
        await sheet(page).waitFor({state: 'hidden', timeout: T});
        assert.equal(await activeIs(page, '[data-region="launcher"]'), true, 'the focus is back on the launcher');
        assert.equal(await scrollLocked(page), false);
        assert.equal(await page.evaluate(() => !!document.querySelector('#page-content').closest('[inert]')), false);
        assert.equal(await page.locator('#demo-blockcontent [data-region="block_dockchat-online"]').count(), 1,
            'the list is back in the block');
        // So does the phone's back button (the view holds one history entry), and the page stays.
        const url = page.url();
        await launcher(page).tap();
        await sheet(page).waitFor({state: 'visible', timeout: T});
        await page.evaluate(() => history.back());
        await sheet(page).waitFor({state: 'hidden', timeout: T});
        assert.equal(page.url(), url, 'back closed the list, not the page');
        assert.equal(await activeIs(page, '[data-region="launcher"]'), true);

        // A conversation from the list: full-screen, composer at the bottom, back and minimise buttons.
        await launcher(page).tap();
        await row(page, a).tap();
        const wa = page.locator(winSel(a));
        await wa.locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
        await sheet(page).waitFor({state: 'hidden', timeout: T});
        assert.ok(fullScreen(await wa.boundingBox()), `the conversation is full-screen (${JSON.stringify(await wa.boundingBox())})`);
        const composer = await wa.locator('[data-region="composer"]').boundingBox();
        assert.ok(composer.y + composer.height >= 844 - 4, 'the composer is at the bottom');
        for (const sel of ['[data-action="back"]', '[data-action="minimise"]', '[data-action="close"]']) {
            const bb = await wa.locator(sel).boundingBox();
            assert.ok(bb && bb.width >= 44 && bb.height >= 44, `${sel} is 44×44`);
        }
        assert.equal(await launcher(page).isVisible(), false, 'nothing of the dock over the conversation');
        assert.equal(await scrollLocked(page), true);
        await online.send(a, me, 'Hello from the phone test');
        await wa.locator('[data-region="text"]').filter({hasText: 'Hello from the phone test'}).last().waitFor({timeout: T});
        await shot(page, 'phone-conversation-fullscreen.png');

        // Back: the list again; the conversation is kept as a chat head.
        await wa.locator('[data-action="back"]').tap();
        await sheet(page).waitFor({state: 'visible', timeout: T});
        assert.equal(await wa.isVisible(), false);
        // Another conversation replaces the full-screen view; the first one is not lost.
        await row(page, b).tap();
        const wb = page.locator(winSel(b));
        await wb.locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
        assert.equal(await wa.isVisible(), false, 'one conversation at a time');
        assert.ok(fullScreen(await wb.boundingBox()));
        await wb.locator('[data-action="minimise"]').tap();
        await head(page, b).waitFor({state: 'visible', timeout: T});
        await head(page, a).waitFor({state: 'visible', timeout: T});
        assert.equal(await shownWindows(page).count(), 0);
        assert.equal(await activeIs(page, `[data-region="head"][data-window="${b.id}"]`), true, 'the focus goes to its head');
        await shot(page, 'phone-chat-heads.png');
        // A head opens its conversation full-screen; closing it gives the focus to the launcher.
        await head(page, a).locator('button').tap();
        await wa.locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
        assert.ok(fullScreen(await wa.boundingBox()));
        await wa.locator('[data-action="close"]').tap();
        await wa.waitFor({state: 'detached', timeout: T});
        await launcher(page).waitFor({state: 'visible', timeout: T});
        assert.equal(await activeIs(page, '[data-region="launcher"]'), true, 'the focus is back on the launcher');
        assert.ok(await head(page, b).isVisible(), 'the other conversation is still a head');
        // The phone's back button takes a full-screen conversation off the screen: a chat head again.
        await head(page, b).locator('button').tap();
        await wb.locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
        await page.evaluate(() => history.back());
        await wb.waitFor({state: 'hidden', timeout: T});
        await head(page, b).waitFor({state: 'visible', timeout: T});
        assert.equal(page.url(), url, 'back closed the conversation, not the page');
        assert.equal(await activeIs(page, `[data-region="head"][data-window="${b.id}"]`), true, 'the focus is on its head');
        await closeAll(page);
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

test('phone: a message from someone new adds a chat head with a badge and is announced; it never takes the screen', {timeout: 120000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const [a, , , newcomer] = mates;
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(PHONE);
    try {
        const online = await presence(others, env.base(), [a, newcomer]);
        const page = await openAs(ctx, env.base(), me, errors);
        await closeAll(page);
        await launcher(page).tap();
        await row(page, a).tap();
        const input = page.locator(`${winSel(a)} [data-region="input"]`);
        await input.waitFor({state: 'visible', timeout: T});
        await input.tap();
        await input.pressSequentially('half a thought', {delay: 10});
        await online.send(newcomer, me, 'Hi! Quick question about the quiz');
        await page.locator(winSel(newcomer)).waitFor({state: 'attached', timeout: T});
        await head(page, newcomer).waitFor({state: 'attached', timeout: T});
        await page.waitForTimeout(400);
        assert.ok(await input.isVisible(), 'the conversation being typed in stays on the screen');
        assert.equal(await page.locator(winSel(newcomer)).isVisible(), false, 'the newcomer does not take the screen');
        assert.equal(await input.inputValue(), 'half a thought', 'the draft is intact');
        assert.equal(await activeIs(page, `${winSel(a)} [data-region="input"]`), true, 'the focus stays in the input');
        // Screen readers hear of it (the dock's polite live region, visually hidden).
        await page.locator('[data-region="announce"]').filter({hasText: `New message from ${newcomer.fullname}`})
            .waitFor({state: 'attached', timeout: T});
        // Out of the conversation: the newcomer's head, with its badge; the launcher counts it too.
        await page.locator(`${winSel(a)} [data-action="minimise"]`).tap();
        const badge = head(page, newcomer).locator('[data-region="head-unread"]');
        await badge.waitFor({state: 'visible', timeout: T});
        assert.match(await badge.textContent(), /^[1-9]\d*$/);
        assert.match(await head(page, newcomer).locator('button').getAttribute('aria-label'), /unread message/);
        await page.waitForFunction(() => /unread message/.test(document.querySelector('[data-region="launcher"]').getAttribute('aria-label')),
            null, {timeout: T});
        assert.ok(await launcher(page).locator('[data-region="launcher-unread"]').isVisible(), 'the launcher shows the count');
        await shot(page, 'phone-newcomer-head.png');
        // Its head opens it full-screen (a minimised window, opened by the user's choice).
        await head(page, newcomer).locator('button').tap();
        await page.locator(`${winSel(newcomer)} [data-region="text"]`).filter({hasText: 'Quick question about the quiz'}).last()
            .waitFor({timeout: T});
        assert.ok(fullScreen(await page.locator(winSel(newcomer)).boundingBox()), 'the chosen head is full-screen');
        await closeAll(page);
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

test('phone: at most 4 heads, then a "+N" head whose list closes any of them; Delete closes a focused head', {timeout: 120000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const five = mates.slice(0, 5);
    const ctx = await env.browser().newContext(PHONE);
    try {
        const page = await openAs(ctx, env.base(), me, errors);
        await closeAll(page);
        for (const m of five) {
            await page.evaluate((id) => window.dockchat.onIntent({type: 'minimise', peer: id}), m.id);
            await page.locator(winSel(m)).waitFor({state: 'attached', timeout: T});
        }
        const more = page.locator('[data-action="toggle-heads"]');
        await more.waitFor({state: 'visible', timeout: T});
        assert.equal(await page.locator('[data-region="head"]:visible').count(), 3, 'three heads and the "+N" head');
        assert.equal(await more.locator('[data-region="heads-more"]').textContent(), '+2');
        assert.equal(await more.getAttribute('aria-label'), '2 more conversations');
        await more.tap();
        const menu = page.locator('[data-region="heads-menu"]');
        await menu.waitFor({state: 'visible', timeout: T});
        assert.equal(await menu.locator('[data-action="raise"]').count(), 5, 'the list shows every head');
        await shot(page, 'phone-heads-list.png');
        const victim = five[4];
        await menu.locator(`[data-action="close-head"][data-window="${victim.id}"]`).tap();
        await page.locator(winSel(victim)).waitFor({state: 'detached', timeout: T});
        await page.waitForFunction(() => document.querySelector('[data-region="heads-menu"]').contains(document.activeElement),
            null, {timeout: T});
        assert.equal(await menu.locator('[data-action="raise"]').count(), 4, 'the list stays open, the focus in it');
        await page.keyboard.press('Escape');
        await menu.waitFor({state: 'hidden', timeout: T});
        assert.equal(await activeIs(page, '[data-region="launcher"]'), true, 'then the focus goes to the launcher');
        await page.waitForFunction(() => document.querySelectorAll('[data-region="head"]:not([hidden])').length === 4, null, {timeout: T});
        assert.equal(await more.isVisible(), false, 'four heads fit: no "+N"');
        // From the keyboard: Delete on a focused head closes it.
        const last = five[0];
        await head(page, last).locator('button').focus();
        await page.keyboard.press('Delete');
        await page.locator(winSel(last)).waitFor({state: 'detached', timeout: T});
        assert.equal(await page.locator('[data-region="head"]:visible').count(), 3);
        // A long press on a head opens the same list (with every head's close button); the press's own
        // click opens nothing.
        const pressed = head(page, five[1]).locator('button');
        await pressed.dispatchEvent('pointerdown');
        await menu.waitFor({state: 'visible', timeout: T});
        await pressed.dispatchEvent('pointerup');
        await pressed.dispatchEvent('click');
        await page.waitForTimeout(300);
        assert.equal(await shownWindows(page).count(), 0, 'the long press opened no conversation');
        assert.equal(await menu.locator('[data-action="close-head"]').count(), 3);
        await closeAll(page);
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
    }
});

test('phone: rotating to a wide screen and back keeps the windows and the conversation on the screen', {timeout: 120000}, async() => {
    const {me, mates} = await cast();
    const errors = [];
    const [a, b] = mates;
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(PHONE);
    try {
        const online = await presence(others, env.base(), [a]);
        const page = await openAs(ctx, env.base(), me, errors);
        await closeAll(page);
        await page.evaluate((id) => window.dockchat.onIntent({type: 'minimise', peer: id}), b.id);
        await launcher(page).tap();
        await row(page, a).tap();
        await page.locator(`${winSel(a)} [data-region="input"]`).waitFor({state: 'visible', timeout: T});
        await page.setViewportSize({width: 1024, height: 700});
        await launcher(page).waitFor({state: 'hidden', timeout: T});
        await page.locator(`${winSel(b)}`).waitFor({state: 'visible', timeout: T});
        const box = await page.locator(winSel(a)).boundingBox();
        assert.ok(box.width === 300, `a docked window on a wide screen (${box.width})`);
        assert.equal(await scrollLocked(page), false);
        await page.setViewportSize({width: 390, height: 844});
        await page.waitForFunction((sel) => {
            const r = document.querySelector(sel).getBoundingClientRect();
            return r.width === 390 && r.height === 844;
        }, winSel(a), {timeout: T});
        assert.equal(await page.locator(winSel(b)).isVisible(), false);
        await closeAll(page);
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

test('phone: a group conversation opens full-screen with its name, member count and the senders\' names', {timeout: 120000}, async() => {
    const u = await demoUsers(env.base());
    // Amara, Lucas and Sofia are members of the demo's "PSY101 Study group" (src/demo/mod.rs).
    const [me, lucas, sofia] = [u.byId(5), u.byId(6), u.byId(7)];
    const group = 'PSY101 Study group';
    const errors = [];
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(PHONE);
    try {
        const online = await presence(others, env.base(), [lucas, sofia]);
        const page = await openAs(ctx, env.base(), me, errors, {tab: null});
        await closeAll(page);
        await launcher(page).tap();
        await sheet(page).waitFor({state: 'visible', timeout: T});
        await chooseTab(page, 'chats');
        const grow = sheet(page).locator('[data-region="conversation"]').filter({hasText: group});
        await grow.waitFor({timeout: T});
        const conv = Number(await grow.getAttribute('data-conv'));
        assert.ok(conv > 0);
        await grow.locator('[data-action="open-chat"]').tap();
        const win = page.locator(`[data-region="window"][data-peerid="c${conv}"]`);
        await win.locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
        await sheet(page).waitFor({state: 'hidden', timeout: T});
        assert.ok(fullScreen(await win.boundingBox()), `the group is full-screen (${JSON.stringify(await win.boundingBox())})`);
        assert.equal((await win.locator('[data-region="name"]').textContent()).trim(), group);
        await win.locator('[data-region="presence-text"]').filter({hasText: /^\s*4 members, 3 online\s*$/}).waitFor({timeout: T});
        for (const sel of ['[data-action="back"]', '[data-action="minimise"]', '[data-action="close"]']) {
            const bb = await win.locator(sel).boundingBox();
            assert.ok(bb && bb.width >= 44 && bb.height >= 44, `${sel} is 44×44`);
        }
        // Each member's message shows who wrote it.
        await online.sendConv(lucas, conv, 'Phone check from Lucas');
        await online.sendConv(sofia, conv, 'And from Sofia');
        for (const [text, name] of [['Phone check from Lucas', 'Lucas Ferreira'], ['And from Sofia', 'Sofia Rossi']]) {
            const msg = win.locator('.block_dockchat-msg-theirs').filter({hasText: text});
            await msg.waitFor({timeout: T});
            await msg.locator('[data-region="author-name"]').filter({hasText: name}).waitFor({timeout: T});
            assert.ok(await msg.locator('[data-region="author"]').isVisible(), `${name} shows above the message`);
        }
        const composer = await win.locator('[data-region="composer"]').boundingBox();
        assert.ok(composer.y + composer.height >= 844 - 4, 'the composer is at the bottom');
        await shot(page, 'phone-group-fullscreen.png');
        // Back: the group is kept as a chat head.
        await win.locator('[data-action="back"]').tap();
        await sheet(page).waitFor({state: 'visible', timeout: T});
        assert.equal(await win.isVisible(), false);
        await closeAll(page);
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

// Where the dock lives (issue 12 item 7), in headless Chromium against `dockchatd demo` and the fixture Moodle
// page: a launcher on a page without the block (the navbar icon of block_dockchat_render_navbar_output, or the
// round button), its badge with the user's unread count (filled by the client: from the socket, and from the
// previous page's snapshot before any socket), opening the dock's list (a panel on a desktop, the full-screen
// list on a phone), from the keyboard too; and two block instances on one page give one socket and one dock.
import {test, before, after} from 'node:test';
import {chromium} from 'playwright-core';
import {setup, demoUsers, presence, winSel, shot, assert, T, DESKTOP, PHONE} from './harness.mjs';
import {installMoodleFixture} from './moodle-fixture.mjs';

const env = setup('dockchatd-demo-launcher.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());
// The fixture Moodle page, in a browser of its own: a page the test fulfils has no server address, and
// Chromium's Local Network Access checks would refuse its socket to 127.0.0.1 (as measure-first-paint.mjs).
let fixtureBrowser = null;
const fixtureContext = async() => {
    if (!fixtureBrowser) {
        fixtureBrowser = await chromium.launch({executablePath: '/usr/bin/chromium', timeout: 30000,
            args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                '--disable-features=LocalNetworkAccessChecks']});
    }
    return fixtureBrowser.newContext(DESKTOP);
};
after(() => fixtureBrowser && fixtureBrowser.close());

const navLauncher = (page) => page.locator('[data-region="block_dockchat-navlauncher"]');
const navBadge = (page) => page.locator('[data-region="navlauncher-unread"]');
const roundLauncher = (page) => page.locator('[data-region="launcher"]');
const panel = (page) => page.locator('[data-region="sheet"]');
const panelRow = (page, peer) => page.locator(`[data-region="sheet"] [data-region="conversation"] [data-window="${peer.id}"]`);
const activeInside = (page, selector) => page.evaluate((s) => {
    const el = document.querySelector(s);
    return !!el && !!document.activeElement && (el === document.activeElement || el.contains(document.activeElement));
}, selector);

/**
 * Open the demo page as a user, with the site's launcher setting and without the block, and wait for the
 * welcome (there is no block's count to wait for).
 *
 * @param {object} ctx
 * @param {object} user
 * @param {string[]} errors
 * @param {string} launcher 'navbar', 'floating' or 'off'
 * @returns {Promise<object>} the page
 */
const openWithout = async(ctx, user, errors, launcher) => {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`${user.fullname}: ${e.message}`));
    await page.goto(`${env.base()}/?user=${user.id}&block=0&launcher=${launcher}`, {timeout: T});
    await page.waitForFunction(() => window.dockchat && window.dockchat.state.welcomed, null, {timeout: T});
    return page;
};

/** The unread count the Chats list holds (what the launchers show). */
const unreadInState = (page) => page.evaluate(() => window.dockchat.state.panel.items
    .reduce((sum, c) => sum + (c.muted ? 0 : c.unread), 0));

test('navbar launcher on a page without the block: unread badge, opens the list as a panel, keyboard, a chosen chat opens', {timeout: 120000}, async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(5);
    const [ana, bruno] = u.mates(me);
    const errors = [];
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const page = await openWithout(ctx, me, errors, 'navbar');
        assert.equal(await page.locator('[data-region="block_dockchat-online"]:not([data-region="sheet"] *)').count(), 0,
            'no block on the page');
        assert.equal(await navLauncher(page).isVisible(), true, 'the navbar has the launcher');
        assert.equal(await roundLauncher(page).isVisible(), false, 'no round button beside the navbar icon');
        assert.equal(await navLauncher(page).evaluate((el) => el.tagName), 'BUTTON', 'a real button');
        // Messages arrive while the list is closed: the badge counts them.
        const mates = await presence(ctx, env.base(), [ana, bruno]);
        await mates.send(ana, me, 'launcher one');
        await mates.send(ana, me, 'launcher two');
        await mates.send(bruno, me, 'launcher three');
        await page.waitForFunction(() => window.dockchat.state.panel.items.reduce((s, c) => s + c.unread, 0) >= 3, null, {timeout: T});
        const total = await unreadInState(page);
        await navBadge(page).filter({hasText: String(total)}).waitFor({state: 'visible', timeout: T});
        assert.equal(await navLauncher(page).getAttribute('aria-label'), `Chats, ${total} unread messages`,
            'the button names the unread count');
        assert.equal(await navLauncher(page).getAttribute('aria-expanded'), 'false');
        await shot(page, 'launcher-navbar-badge.png');

        // A click opens the list: a panel hanging below the navbar's button, not modal, with the conversations.
        await navLauncher(page).click();
        await panel(page).waitFor({state: 'visible', timeout: T});
        await panelRow(page, ana).waitFor({state: 'visible', timeout: T});
        assert.equal(await navLauncher(page).getAttribute('aria-expanded'), 'true');
        assert.equal(await panel(page).getAttribute('aria-modal'), 'false', 'the panel is not modal on a desktop');
        const button = await navLauncher(page).boundingBox();
        const box = await panel(page).boundingBox();
        assert.ok(box.y >= button.y + button.height && box.y < button.y + button.height + 40,
            `the panel hangs below the navbar button (${box.y} vs ${button.y + button.height})`);
        assert.ok(box.x + box.width <= 1366 && box.width >= 300, `the panel is on the screen (${box.x}, ${box.width})`);
        assert.equal(await activeInside(page, '[data-region="sheet"]'), true, 'the focus moves into the panel');
        await shot(page, 'launcher-navbar-panel.png');

        // Escape closes it and gives the focus back to the button; Enter on the button opens it again.
        await page.keyboard.press('Escape');
        await panel(page).waitFor({state: 'hidden', timeout: T});
        assert.equal(await activeInside(page, '[data-region="block_dockchat-navlauncher"]'), true, 'the focus is back on the button');
        assert.equal(await navLauncher(page).getAttribute('aria-expanded'), 'false');
        await page.keyboard.press('Enter');
        await panel(page).waitFor({state: 'visible', timeout: T});
        // A press elsewhere on the page closes it, as a menu.
        await page.mouse.click(300, 400);
        await panel(page).waitFor({state: 'hidden', timeout: T});

        // A conversation chosen in the panel opens its window; the panel gives way.
        await navLauncher(page).click();
        await panelRow(page, ana).click();
        await page.locator(`${winSel(ana)} [data-region="input"]`).waitFor({state: 'visible', timeout: T});
        await panel(page).waitFor({state: 'hidden', timeout: T});
        assert.equal(await activeInside(page, winSel(ana)), true, 'the focus is in the window');
        // Read there: the badge drops Ana's messages.
        await page.waitForFunction(([id]) => {
            const c = window.dockchat.state.panel.items.find((i) => i.type === 'individual' && i.with && i.with.id === id);
            return c && c.unread === 0;
        }, [ana.id], {timeout: T});
        const left = await unreadInState(page);
        assert.ok(left < total, 'reading lowers the count');
        await page.waitForFunction((n) => {
            const b = document.querySelector('[data-region="navlauncher-unread"]');
            return n ? !b.hidden && b.textContent === String(n) : b.hidden;
        }, left, {timeout: T});
        await mates.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

test('the badge comes from the previous page at first paint, before any socket', {timeout: 90000}, async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(6);
    const [ana] = u.mates(me);
    const errors = [];
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const page = await openWithout(ctx, me, errors, 'navbar');
        const mates = await presence(ctx, env.base(), [ana]);
        await mates.send(ana, me, 'before the navigation');
        await mates.send(ana, me, 'and another');
        await page.waitForFunction(() => window.dockchat.state.panel.items.reduce((s, c) => s + c.unread, 0) >= 2, null, {timeout: T});
        const total = await unreadInState(page);
        await mates.close();
        // The next page's socket never opens (the daemon is out of reach): only the snapshot can fill the badge.
        await ctx.routeWebSocket(/./, () => {});
        await page.reload({timeout: T});
        await navBadge(page).filter({hasText: String(total)}).waitFor({state: 'visible', timeout: T});
        assert.equal(await page.evaluate(() => window.dockchat.state.welcomed), false, 'no welcome on this page');
        assert.equal(await navLauncher(page).getAttribute('aria-label'), `Chats, ${total} unread messages`);
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

test('floating launcher: a round button at the bottom right, the list above it, the windows beside it', {timeout: 90000}, async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(7);
    const [ana] = u.mates(me);
    const errors = [];
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const page = await openWithout(ctx, me, errors, 'floating');
        assert.equal(await navLauncher(page).count(), 0, 'no navbar icon');
        await roundLauncher(page).waitFor({state: 'visible', timeout: T});
        const button = await roundLauncher(page).boundingBox();
        assert.ok(button.width === 56 && button.height === 56, `56×56 (${button.width}×${button.height})`);
        assert.ok(button.x + button.width <= 1366 - 12 && button.y + button.height <= 768 - 12 && button.x > 1200 && button.y > 650,
            `at the bottom right (${button.x},${button.y})`);
        const mates = await presence(ctx, env.base(), [ana]);
        await mates.send(ana, me, 'to the round button');
        await page.locator('[data-region="launcher-unread"]').filter({hasText: /^\d+$/}).waitFor({state: 'visible', timeout: T});
        const total = await unreadInState(page);
        assert.equal(await page.locator('[data-region="launcher-unread"]').textContent(), String(total));
        assert.equal(await roundLauncher(page).getAttribute('aria-label'), countLabel(total));
        await mates.close();
        // Keyboard: Tab reaches it like any button; Enter opens the list above it.
        await roundLauncher(page).focus();
        await page.keyboard.press('Enter');
        await panel(page).waitFor({state: 'visible', timeout: T});
        await panelRow(page, ana).waitFor({state: 'visible', timeout: T});
        const box = await panel(page).boundingBox();
        assert.ok(box.y + box.height <= button.y, 'the panel is above the button');
        assert.equal(await roundLauncher(page).getAttribute('aria-expanded'), 'true');
        await shot(page, 'launcher-floating-panel.png');
        // The chosen conversation's window opens beside the button, never under it.
        await panelRow(page, ana).click();
        const win = page.locator(winSel(ana));
        await win.locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
        const w = await win.boundingBox();
        assert.ok(w.x + w.width <= button.x, `the window keeps clear of the button (${w.x + w.width} <= ${button.x})`);
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

/** The launchers' name with a count, as the client says it in English. */
const countLabel = (n) => (n === 1 ? 'Chats, 1 unread message' : `Chats, ${n} unread messages`);

test('phone: the navbar launcher opens the full-screen list', {timeout: 90000}, async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(8);
    const errors = [];
    const ctx = await env.browser().newContext(PHONE);
    try {
        const page = await openWithout(ctx, me, errors, 'navbar');
        await navLauncher(page).waitFor({state: 'visible', timeout: T});
        await navLauncher(page).tap();
        await panel(page).waitFor({state: 'visible', timeout: T});
        const box = await panel(page).boundingBox();
        assert.ok(box.x === 0 && box.y === 0 && box.width === 390 && box.height === 844, 'the list takes the screen');
        assert.equal(await panel(page).getAttribute('aria-modal'), 'true');
        await page.locator('[data-region="sheet"] [data-region="block_dockchat-online"]').waitFor({state: 'visible', timeout: T});
        await page.locator('[data-region="sheet"] [data-action="close-sheet"]').tap();
        await panel(page).waitFor({state: 'hidden', timeout: T});
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

test('Moodle page with two block instances and two init calls: one socket, one dock, the second block points to the list', {timeout: 90000}, async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(5);
    const errors = [];
    const ctx = await fixtureContext();
    try {
        const url = await installMoodleFixture(ctx, env.base(), me.id);
        const page = await ctx.newPage();
        page.on('pageerror', (e) => errors.push(e.message));
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        const sockets = [];
        page.on('websocket', (ws) => sockets.push(ws.url()));
        await page.goto(`${url}&blocks=2&inits=2&launcher=navbar`, {timeout: T});
        assert.equal(await page.locator('[data-region="block_dockchat-navlauncher"]').count(), 1);
        // The first block on the page (the course's, in the content) is the list, and connects.
        await page.locator('#block_dockchat-online-fixture2 [data-region="count"]').filter({hasText: /\d/}).waitFor({timeout: T});
        // The other (the site-wide one, in the drawer) shows where the list is, never a second "Connecting…".
        const second = page.locator('#block_dockchat-online-fixture');
        await second.locator('[data-action="show-list"]').waitFor({state: 'visible', timeout: T});
        assert.equal(await second.textContent(), 'Your chats are in the other chat block on this page. Show the chat list');
        assert.doesNotMatch(await page.locator('#page').textContent(), /Connecting/);
        await page.waitForTimeout(500);
        assert.equal(sockets.length, 1, `one socket (${sockets.join(', ')})`);
        assert.equal(await page.locator('[data-region="block_dockchat-dock"]').count(), 1, 'one dock');
        // Its button opens the list (the first block's, moved into the panel while it is open).
        await second.locator('[data-action="show-list"]').click();
        await panel(page).waitFor({state: 'visible', timeout: T});
        assert.equal(await page.locator('[data-region="sheet"] #block_dockchat-online-fixture2').count(), 1);
        await page.keyboard.press('Escape');
        await panel(page).waitFor({state: 'hidden', timeout: T});
        assert.equal(await page.locator('#region-main #block_dockchat-online-fixture2').count(), 1,
            'the list goes back into its block');
        await shot(page, 'launcher-two-blocks.png');
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

test('Moodle page without the block: the navbar launcher opens the dock\'s own list', {timeout: 90000}, async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(6);
    const errors = [];
    const ctx = await fixtureContext();
    try {
        const url = await installMoodleFixture(ctx, env.base(), me.id);
        const page = await ctx.newPage();
        page.on('pageerror', (e) => errors.push(e.message));
        const sockets = [];
        page.on('websocket', (ws) => sockets.push(ws.url()));
        await page.goto(`${url}&blocks=0&launcher=navbar`, {timeout: T});
        assert.equal(await page.locator('.block_dockchat').count(), 0, 'no block on the page');
        await navLauncher(page).click();
        await panel(page).waitFor({state: 'visible', timeout: T});
        await page.locator('[data-region="sheet"] [data-region="count"]').filter({hasText: /\d/}).waitFor({timeout: T});
        assert.equal(sockets.length, 1);
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

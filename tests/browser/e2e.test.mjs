// End-to-end test of the dock chat in headless Chromium against a real dockchatd in demo mode.
//
// Starts `dockchatd demo` through the shared harness (./harness.mjs: built with cargo, which embeds the client),
// reads its `dockchat demo: open http://...` line, then drives two browser contexts as two demo users.
// DOCKCHAT_E2E_URL=http://... runs against an already running demo instead (development only).
// Screenshots go to artifacts/ (look at them).
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {T, closeAll, openAs, setup, shot} from './harness.mjs';

const demo = setup('dockchatd-demo.log');
before(() => demo.start(), {timeout: 25 * 60 * 1000});
after(() => demo.stop());

/** Two students who share a course, and everyone. */
const pickUsers = async() => {
    const users = await (await fetch(demo.base() + '/demo/users', {signal: AbortSignal.timeout(T)})).json();
    assert.ok(users.length >= 2, 'the demo has users');
    const students = users.filter((u) => u.role === 'student');
    for (const a of students) {
        for (const b of students) {
            if (a.id !== b.id && a.courses.some((c) => b.courses.some((d) => d.id === c.id))) {
                return {a, b, users};
            }
        }
    }
    throw new Error('no two students share a course');
};

const open = (context, user, errors) => openAs(context, demo.base(), user, errors);

const win = (page, peer) => page.locator(`[data-region="window"][data-peerid="${peer.id}"]`);
const bubbles = (page, peer) => win(page, peer).locator('[data-region="message"] [data-region="text"]');

const waitText = async(page, peer, text) => {
    await bubbles(page, peer).filter({hasText: text}).first().waitFor({timeout: T});
};


test('the demo asks who you are and keeps the answer per tab', {timeout: 60000}, async() => {
    const {a} = await pickUsers();
    const ctx = await demo.browser().newContext({viewport: {width: 1280, height: 800}});
    try {
        const page = await ctx.newPage();
        const scripts = [];
        page.on('response', (r) => {
            if (r.request().resourceType() === 'script') {
                scripts.push(`${new URL(r.url()).pathname} ${r.status()}`);
            }
        });
        await page.goto(demo.base() + '/', {timeout: T});
        await page.locator('#demo-picker:not([hidden]) .picker-user').first().waitFor({timeout: T});
        await shot(page, 'desktop-picker.png');
        await page.locator(`.picker-user[data-userid="${a.id}"]`).click();
        await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        assert.equal(await page.locator('#demo-username').textContent(), a.fullname);
        // The block's templates were rendered by the vendored mustache package, with {{#str}} strings.
        assert.ok(scripts.includes('/demo/vendor/mustache.mjs 200'), `scripts loaded: ${scripts.join(', ')}`);
        assert.ok(!scripts.some((s) => /mustache\.js/.test(s)), `no hand-written engine: ${scripts.join(', ')}`);
        const online = page.locator('#block_dockchat-online-demo');
        assert.equal(await online.locator('[data-region="list"]').getAttribute('aria-label'), 'Online course-mates');
        assert.equal(await online.locator('[data-region="empty"]').textContent(), 'None of your course-mates is online right now.');
        await page.reload({timeout: T});
        await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        assert.equal(await page.locator('#demo-username').textContent(), a.fullname, 'a reload keeps the identity');
        assert.equal(await page.locator('#demo-picker').isHidden(), true);
    } finally {
        await ctx.close();
    }
});

test('two users chat in docked windows', {timeout: 240000}, async() => {
    const {a, b, users} = await pickUsers();
    const errors = [];
    const ctxA = await demo.browser().newContext({viewport: {width: 1280, height: 800}});
    const ctxB = await demo.browser().newContext({viewport: {width: 1280, height: 800}});
    try {
        const pageA = await open(ctxA, a, errors);
        const pageB = await open(ctxB, b, errors);

        // Both see each other online.
        await pageA.locator(`.block_dockchat-user[data-userid="${b.id}"]`).waitFor({timeout: T});
        await pageB.locator(`.block_dockchat-user[data-userid="${a.id}"]`).waitFor({timeout: T});
        const names = await pageA.locator('.block_dockchat-user-name').allTextContents();
        assert.deepEqual(names, [...names].sort((x, y) => x.localeCompare(y, undefined, {sensitivity: 'base'})),
            'the online list is sorted by name');

        // A opens a window and writes; Enter sends. (Labels: {{#str}} with the name as its param.)
        assert.equal(await pageA.locator(`.block_dockchat-user[data-userid="${b.id}"] button`).getAttribute('aria-label'),
            `Chat with ${b.fullname}`);
        await pageA.locator(`.block_dockchat-user[data-userid="${b.id}"] button`).click();
        await win(pageA, b).waitFor({timeout: T});
        assert.equal(await win(pageA, b).locator('[data-action="close"]').getAttribute('aria-label'), `Close chat with ${b.fullname}`);
        const inputA = win(pageA, b).locator('[data-region="input"]');
        await inputA.waitFor({timeout: T});
        assert.equal(await pageA.evaluate(() => document.activeElement.getAttribute('data-region')), 'input',
            'opening a window focuses its input');
        await inputA.fill(`Hi ${b.fullname}, did you read chapter 1?`);
        await inputA.press('Enter');
        await waitText(pageA, b, 'did you read chapter 1?');

        // B gets a window (minimised, highlighted, with an unread badge) and opens it.
        await win(pageB, a).waitFor({timeout: T});
        await win(pageB, a).locator('[data-region="unread"]').filter({hasText: /^[1-9]/}).waitFor({timeout: T});
        await shot(pageB, 'desktop-new-message-minimised.png');
        const toggleB = win(pageB, a).locator('[data-action="toggle"]');
        if ((await toggleB.getAttribute('aria-expanded')) === 'false') {
            await toggleB.click();
        }
        await waitText(pageB, a, 'did you read chapter 1?');

        // B types: A sees the typing indicator; B answers with a link.
        const inputB = win(pageB, a).locator('[data-region="input"]');
        await inputB.click();
        await inputB.pressSequentially('Yes! Notes here', {delay: 20});
        await win(pageA, b).locator('[data-region="typing"]').waitFor({state: 'visible', timeout: T});
        await shot(pageA, 'desktop-typing.png');
        await inputB.fill('Yes! Notes here: https://example.org/psy101/notes.');
        await inputB.press('Enter');
        await waitText(pageA, b, 'Notes here');
        const link = win(pageA, b).locator('[data-region="text"] a').first();
        assert.equal(await link.getAttribute('href'), 'https://example.org/psy101/notes');
        assert.match(await link.getAttribute('rel'), /noopener/);
        assert.equal(await link.getAttribute('target'), '_blank');

        // A answers; B's window is open, so A sees 'Seen'.
        await inputA.fill('Great, thanks!');
        await inputA.press('Enter');
        await waitText(pageB, a, 'Great, thanks!');
        await win(pageA, b).locator('[data-region="seen"]').waitFor({state: 'visible', timeout: T});

        // Shift+Enter is a newline, not a send.
        await inputA.fill('line one');
        await inputA.press('Shift+Enter');
        await inputA.pressSequentially('line two');
        await inputA.press('Enter');
        await waitText(pageB, a, 'line two');
        const multi = await bubbles(pageB, a).filter({hasText: 'line two'}).first().evaluate((el) => el.textContent);
        assert.equal(multi, 'line one\nline two');

        // Offline: the banner says so; what B sends meanwhile arrives once after reconnecting (resume).
        await ctxA.setOffline(true);
        await pageA.locator('[data-region="banner"]:not([hidden])').waitFor({timeout: T});
        await shot(pageA, 'desktop-offline-banner.png');
        await inputB.fill('Sent while you were offline');
        await inputB.press('Enter');
        await waitText(pageB, a, 'Sent while you were offline');
        await ctxA.setOffline(false);
        await waitText(pageA, b, 'Sent while you were offline');
        await pageA.locator('[data-region="banner"]').waitFor({state: 'hidden', timeout: T});
        assert.equal(await bubbles(pageA, b).filter({hasText: 'Sent while you were offline'}).count(), 1);

        // HTML is text, never markup: no image element, no dialog.
        const evil = '<img src=x onerror=alert(1)>';
        await inputA.fill(evil);
        await inputA.press('Enter');
        await bubbles(pageB, a).filter({hasText: '<img'}).first().waitFor({timeout: T});
        const evilText = await bubbles(pageB, a).filter({hasText: '<img'}).first().evaluate((el) => el.textContent);
        assert.equal(evilText, evil);
        assert.equal(await win(pageB, a).locator('img[src="x"]').count(), 0);
        assert.equal(await win(pageA, b).locator('[data-region="items"] img').count(), 0);
        await pageB.waitForTimeout(500);
        await shot(pageA, 'desktop-chat-a.png');
        await shot(pageB, 'desktop-chat-b.png');

        // A second tab of A shows the same conversation, and what it sends shows in the first tab.
        const countA = await bubbles(pageA, b).count();
        const pageA2 = await open(ctxA, a, errors);
        await win(pageA2, b).waitFor({timeout: T});
        await pageA2.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length >= n,
            [`[data-region="window"][data-peerid="${b.id}"] [data-region="message"]`, countA], {timeout: T});
        assert.deepEqual(await bubbles(pageA2, b).allTextContents(), await bubbles(pageA, b).allTextContents());
        const inputA2 = win(pageA2, b).locator('[data-region="input"]');
        if (!(await inputA2.isVisible())) {
            await win(pageA2, b).locator('[data-action="toggle"]').click();
        }
        await inputA2.fill('Sent from my second tab');
        await inputA2.press('Enter');
        await waitText(pageA, b, 'Sent from my second tab');
        await waitText(pageB, a, 'Sent from my second tab');
        // Window state follows across tabs: minimised in one, minimised in the other.
        await win(pageA2, b).locator('[data-action="minimise"]').click();
        await pageA.waitForFunction((sel) => document.querySelector(sel).classList.contains('is-minimised'),
            `[data-region="window"][data-peerid="${b.id}"]`, {timeout: T});
        await win(pageA, b).locator('[data-action="toggle"]').click();
        await pageA2.waitForFunction((sel) => !document.querySelector(sel).classList.contains('is-minimised'),
            `[data-region="window"][data-peerid="${b.id}"]`, {timeout: T});
        await pageA2.close();

        // A reload keeps the window and its history.
        const before = await bubbles(pageA, b).allTextContents();
        await pageA.reload({timeout: T});
        await win(pageA, b).waitFor({timeout: T});
        await pageA.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length >= n,
            [`[data-region="window"][data-peerid="${b.id}"] [data-region="message"]`, before.length], {timeout: T});
        assert.deepEqual(await bubbles(pageA, b).allTextContents(), before);
        // Each message exactly once.
        assert.equal(new Set(before).size, before.length);

        // Esc minimises; the title restores.
        await win(pageA, b).locator('[data-region="input"]').focus();
        await pageA.keyboard.press('Escape');
        await pageA.waitForFunction((sel) => document.querySelector(sel).classList.contains('is-minimised'),
            `[data-region="window"][data-peerid="${b.id}"]`, {timeout: T});
        // A message while minimised: the window is highlighted with a badge; restoring shows the newest.
        await inputB.fill('Are you still there?');
        await inputB.press('Enter');
        await win(pageA, b).locator('[data-region="unread"]').filter({hasText: /^[1-9]/}).waitFor({timeout: T});
        await pageA.waitForFunction((sel) => document.querySelector(sel).classList.contains('is-highlight'),
            `[data-region="window"][data-peerid="${b.id}"]`, {timeout: T});
        await win(pageA, b).locator('[data-action="toggle"]').click();
        await win(pageA, b).locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
        await waitText(pageA, b, 'Are you still there?');
        const gap = await win(pageA, b).locator('[data-region="messages"]').evaluate((l) => l.scrollHeight - l.scrollTop - l.clientHeight);
        assert.ok(gap < 50, `a restored window shows the newest message (${gap}px from the bottom)`);
        await win(pageA, b).locator('[data-region="unread"]').waitFor({state: 'hidden', timeout: T});

        // Several windows: those that do not fit go behind a '+N' chip.
        const mates = users.filter((u) => u.id !== a.id && u.id !== b.id
            && u.courses.some((c) => a.courses.some((d) => d.id === c.id)));
        const ctxWide = await demo.browser().newContext({viewport: {width: 1280, height: 800}});
        const extra = [];
        for (const u of mates.slice(0, 4)) {
            extra.push(await open(ctxWide, u, errors));
        }
        await pageA.waitForFunction((n) => document.querySelectorAll('.block_dockchat-user').length >= n, 1 + extra.length, {timeout: T});
        for (const id of await pageA.locator('.block_dockchat-user').evaluateAll((els) => els.map((e) => e.dataset.userid))) {
            await pageA.locator(`.block_dockchat-user[data-userid="${id}"] button`).click();
        }
        const opened = await pageA.locator('[data-region="window"]').count();
        if (opened * 310 + 24 > 1280) {
            await pageA.locator('[data-region="overflow"]:not([hidden])').waitFor({timeout: T});
            await pageA.locator('[data-action="toggle-overflow"]').click();
            await pageA.locator('[data-region="overflow-menu"]:not([hidden]) [data-action="raise"]').first().waitFor({timeout: T});
            await shot(pageA, 'desktop-overflow-menu.png');
            await pageA.keyboard.press('Escape');
            await pageA.locator('[data-region="overflow-menu"]').waitFor({state: 'hidden', timeout: T});
        }
        await shot(pageA, 'desktop-overflow.png');
        await ctxWide.close();

        // Phone: the window comes back as a chat head (nothing opens by itself on page load); its head
        // opens it full-screen (issue 14 item 6).
        const ctxM = await demo.browser().newContext({viewport: {width: 390, height: 844}, isMobile: true, hasTouch: true});
        const pageM = await open(ctxM, b, errors);
        const headM = pageM.locator(`[data-region="head"][data-window="${a.id}"] button`);
        await headM.waitFor({timeout: T});
        assert.equal(await win(pageM, a).isVisible(), false, 'not full-screen by itself');
        await headM.tap();
        await win(pageM, a).waitFor({timeout: T});
        await waitText(pageM, a, 'Sent from my second tab');
        const box = await win(pageM, a).boundingBox();
        assert.ok(box && box.width >= 380, `the mobile window is full width (${box && box.width})`);
        await pageM.waitForTimeout(300);
        await shot(pageM, 'mobile-chat.png');
        await ctxM.close();

        // Older messages load on scroll up, keeping the reading position.
        // (B's window went behind the '+N' chip above: clicking B in the list brings it back to the front.)
        await pageA.locator(`.block_dockchat-user[data-userid="${b.id}"] button`).click();
        await win(pageA, b).locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
        for (let i = 1; i <= 36; i++) {
            await inputA.fill(`bulk message ${i}`);
            await inputA.press('Enter');
            if (i % 10 === 0) {
                await waitText(pageA, b, `bulk message ${i}`);
            }
        }
        await waitText(pageB, a, 'bulk message 36');
        await pageB.reload({timeout: T});
        await waitText(pageB, a, 'bulk message 36');
        const firstPage = await bubbles(pageB, a).count();
        assert.ok(firstPage >= 30 && firstPage < 42, `one history page after a reload (${firstPage})`);
        const firstText = await bubbles(pageB, a).first().textContent();
        await win(pageB, a).locator('[data-region="messages"]').evaluate((el) => {
            el.scrollTop = 0;
            el.dispatchEvent(new Event('scroll'));
        });
        await pageB.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length > n,
            [`[data-region="window"][data-peerid="${a.id}"] [data-region="message"]`, firstPage], {timeout: T});
        const kept = await win(pageB, a).locator('[data-region="messages"]').evaluate((list, text) => {
            const el = Array.from(list.querySelectorAll('[data-region="text"]')).find((e) => e.textContent === text);
            const l = list.getBoundingClientRect();
            const r = el.getBoundingClientRect();
            return {top: r.top - l.top, scrollTop: list.scrollTop, height: l.height};
        }, firstText);
        assert.ok(kept.scrollTop > 0 && kept.top >= -40 && kept.top <= kept.height,
            `the message that was on top stays in view after older ones load (${JSON.stringify(kept)})`);
        await shot(pageB, 'desktop-history-loaded.png');

        // Closing a window: gone in this tab, and still gone after a reload.
        await win(pageB, a).locator('[data-action="close"]').click();
        await win(pageB, a).waitFor({state: 'detached', timeout: T});
        assert.equal(await pageB.evaluate(() => document.activeElement && document.activeElement.getAttribute('data-action')), 'open-chat',
            'focus goes back to the person in the list');
        await pageB.waitForTimeout(300);
        await pageB.reload({timeout: T});
        await pageB.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        await pageB.waitForTimeout(1000);
        assert.equal(await win(pageB, a).count(), 0, 'a closed window stays closed');

        assert.deepEqual(errors, [], 'no page errors and no dialogs');
    } finally {
        await ctxA.close().catch(() => {});
        await ctxB.close().catch(() => {});
    }
});

test('a message sent from Moodle\'s drawer appears in the open dock', {timeout: 120000}, async() => {
    const {a, b} = await pickUsers();
    const errors = [];
    const ctxA = await demo.browser().newContext({viewport: {width: 1280, height: 800}});
    try {
        const pageA = await open(ctxA, a, errors);
        // The demo keeps windows between tests: start from none, so B's comes first, not behind "+N".
        await closeAll(pageA);
        // B writes from Moodle's drawer (the demo stores it as Moodle's send path does): A's dock,
        // already open, shows it within a second or so, as text, once.
        const text = `From the drawer ${Date.now()} <b>not bold</b>`;
        const sent = Date.now();
        const r = await fetch(demo.base() + '/demo/drawer', {
            method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({from: b.id, to: a.id, text}),
            signal: AbortSignal.timeout(T),
        });
        assert.equal(r.status, 200, await r.text());
        await win(pageA, b).waitFor({timeout: T});
        const toggle = win(pageA, b).locator('[data-action="toggle"]');
        if ((await toggle.getAttribute('aria-expanded')) === 'false') {
            await toggle.click();
        }
        await waitText(pageA, b, 'From the drawer');
        assert.ok(Date.now() - sent < 5000, `arrived after ${Date.now() - sent} ms`);
        const bubble = bubbles(pageA, b).filter({hasText: 'From the drawer'});
        assert.equal(await bubble.count(), 1, 'shown once');
        assert.equal(await bubble.first().evaluate((el) => el.textContent), text, 'as text, never markup');
        assert.equal(await win(pageA, b).locator('[data-region="text"] b').count(), 0);
        // After a reload it is in the history.
        await pageA.reload({timeout: T});
        await win(pageA, b).waitFor({timeout: T});
        const toggle2 = win(pageA, b).locator('[data-action="toggle"]');
        if ((await toggle2.getAttribute('aria-expanded')) === 'false') {
            await toggle2.click();
        }
        await waitText(pageA, b, 'From the drawer');
        assert.equal(await bubbles(pageA, b).filter({hasText: text}).count(), 1);
        assert.deepEqual(errors, []);
    } finally {
        await ctxA.close();
    }
});

test('the demo opened as localhost connects too (issue 14 item 13)', {timeout: 60000}, async() => {
    const {a} = await pickUsers();
    const errors = [];
    const base = demo.base().replace('//127.0.0.1:', '//localhost:');
    assert.notEqual(base, demo.base(), `the demo listens on 127.0.0.1: ${demo.base()}`);
    const ctx = await demo.browser().newContext({viewport: {width: 1280, height: 800}});
    try {
        const page = await openAs(ctx, base, a, errors);
        assert.match(await page.locator('.block_dockchat-count').textContent(), /\d/);
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

test('the demo speaks the language chosen in its user menu (issue 14 item 21)', {timeout: 60000}, async() => {
    const {a} = await pickUsers();
    const errors = [];
    const ctx = await demo.browser().newContext({viewport: {width: 1280, height: 800}});
    const listLabel = (page) => page.locator('[data-region="block_dockchat-online"] [data-region="list"]').getAttribute('aria-label');
    try {
        const page = await openAs(ctx, demo.base(), a, errors);
        assert.equal(await listLabel(page), 'Online course-mates');
        await page.locator('#demo-lang').selectOption('pt');
        await page.waitForURL(/lang=pt/, {timeout: T});
        await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        assert.equal(await page.evaluate(() => document.documentElement.lang), 'pt');
        assert.equal(await listLabel(page), 'Colegas de disciplina online', 'the Portuguese strings');
        // The choice stays for the tab; English comes back when chosen.
        await page.goto(`${demo.base()}/?user=${a.id}`, {timeout: T});
        await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        assert.equal(await page.locator('#demo-lang').inputValue(), 'pt');
        await page.locator('#demo-lang').selectOption('en');
        await page.waitForURL(/lang=en/, {timeout: T});
        await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
        assert.equal(await listLabel(page), 'Online course-mates');
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

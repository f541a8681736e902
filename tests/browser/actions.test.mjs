// Window actions (PROTOCOL §4.1) in a real browser against `dockchatd demo` (harness.mjs): the window's
// actions menu from the keyboard; Delete for me hides a message in the user's other tab and keeps it for
// the other person; mute and star (through the demo's Moodle favourites service) follow in the other tab;
// a block asks first, disables the blocker's composer and tells the blocked person's open window before
// they type; unblock undoes it; Delete conversation asks first and empties it for me only.
import {test, before, after} from 'node:test';
import {setup, demoUsers, openAs, winSel, shot, assert, T, DESKTOP} from './harness.mjs';

const env = setup('dockchatd-actions.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

/** Store a message as Moodle's message drawer does; returns its id. */
const drawer = async(from, to, text) => {
    const r = await fetch(env.base() + '/demo/drawer', {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({from: from.id, to: to.id, text}),
        signal: AbortSignal.timeout(T),
    });
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()).id;
};

/** Open the window onto `peer` from the Chats list and wait for its history. */
const openWindow = async(page, peer, text) => {
    await page.locator('[data-region="conversation"]').filter({hasText: peer.fullname}).locator('a').click();
    await page.locator(`${winSel(peer)} [data-region="text"]`).filter({hasText: text}).waitFor({timeout: T});
};

const texts = (page, peer) => page.locator(`${winSel(peer)} [data-region="text"]`).allTextContents();

const waitTexts = (page, peer, wanted) => page.waitForFunction(([sel, list]) => {
    const shown = [...document.querySelectorAll(sel + ' [data-region="text"]')].map((el) => el.textContent);
    return JSON.stringify(shown) === JSON.stringify(list);
}, [winSel(peer), wanted], {timeout: T});

/** Choose a menu item of the window onto `peer` by its label, from the keyboard. */
const chooseFromMenu = async(page, peer, label) => {
    const button = page.locator(`${winSel(peer)} [data-action="toggle-menu"]`);
    await button.focus();
    await page.keyboard.press('Enter');
    const menu = page.locator(`${winSel(peer)} [data-region="menu"]`);
    await menu.waitFor({state: 'visible', timeout: T});
    for (let i = 0; i < 6; i++) {
        const focused = await page.evaluate(() => document.activeElement && document.activeElement.textContent.trim());
        if (focused === label) {
            await page.keyboard.press('Enter');
            return;
        }
        await page.keyboard.press('ArrowDown');
    }
    assert.fail(`no menu item ${label}`);
};

const menuLabels = (page, peer) => page.locator(`${winSel(peer)} [data-region="menu"] [role="menuitem"]`).allTextContents();

const waitCanSend = (page, peer, text) => page.locator(`${winSel(peer)} [data-region="cansend"]`)
    .filter({hasText: text === '' ? /^$/ : text}).waitFor({state: text === '' ? 'attached' : 'visible', timeout: T});

test('desktop: every window action, in both tabs of the user and for the other person', {timeout: 180000}, async() => {
    const {byId} = await demoUsers(env.base());
    const me = byId(7);
    const peer = byId(9);
    const errors = [];
    const mine = await env.browser().newContext(DESKTOP);
    const theirs = await env.browser().newContext(DESKTOP);
    try {
        await drawer(peer, me, 'Hello Sofia');
        await drawer(me, peer, 'oops, wrong chat');
        await drawer(me, peer, 'See you tomorrow');
        const tab1 = await openAs(mine, env.base(), me, errors, {tab: null});
        const tab2 = await openAs(mine, env.base(), me, errors, {tab: null});
        const other = await openAs(theirs, env.base(), peer, errors, {tab: null});
        await openWindow(tab1, peer, 'See you tomorrow');
        await tab2.locator(`${winSel(peer)} [data-region="text"]`).filter({hasText: 'See you tomorrow'}).waitFor({timeout: T});
        await openWindow(other, me, 'See you tomorrow');

        // The menu from the keyboard: Enter opens it on its first item, Escape closes it back to its button.
        const toggle = tab1.locator(`${winSel(peer)} [data-action="toggle-menu"]`);
        assert.equal(await toggle.getAttribute('aria-haspopup'), 'menu');
        await toggle.focus();
        await tab1.keyboard.press('Enter');
        assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
        assert.deepEqual(await menuLabels(tab1, peer), ['Block user', 'Mute', 'Star conversation', 'Delete conversation']);
        assert.equal(await tab1.evaluate(() => document.activeElement.textContent.trim()), 'Block user');
        await tab1.keyboard.press('ArrowUp');
        assert.equal(await tab1.evaluate(() => document.activeElement.textContent.trim()), 'Delete conversation');
        await tab1.keyboard.press('Escape');
        assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
        assert.equal(await tab1.locator(`${winSel(peer)} [data-region="menu"]`).isHidden(), true);
        assert.equal(await tab1.evaluate(() => document.activeElement.getAttribute('data-action')), 'toggle-menu');
        assert.equal(await tab1.locator(winSel(peer)).isVisible(), true, 'Escape in the menu does not minimise the window');

        // Delete for me: gone in both tabs, kept for the other person.
        const oops = tab1.locator(`${winSel(peer)} [data-region="message"]`).filter({hasText: 'oops, wrong chat'});
        await oops.hover();
        await oops.locator('[data-action="delete-message"]').click();
        await waitTexts(tab1, peer, ['Hello Sofia', 'See you tomorrow']);
        await waitTexts(tab2, peer, ['Hello Sofia', 'See you tomorrow']);
        assert.deepEqual(await texts(other, me), ['Hello Sofia', 'oops, wrong chat', 'See you tomorrow']);
        await other.reload();
        await openWindow(other, me, 'oops, wrong chat');
        await shot(tab1, 'desktop-actions-deleted.png');

        // Mute and star: the other tab follows (its window and its menu).
        await chooseFromMenu(tab1, peer, 'Mute');
        await tab2.locator(`${winSel(peer)}.is-muted`).waitFor({state: 'attached', timeout: T});
        await chooseFromMenu(tab1, peer, 'Star conversation');
        await tab2.locator(`${winSel(peer)}.is-starred`).waitFor({state: 'attached', timeout: T});
        assert.deepEqual(await menuLabels(tab2, peer), ['Block user', 'Unmute', 'Unstar conversation', 'Delete conversation']);
        // The Chats list of the other tab follows: the star and the muted icon on the conversation.
        const row = tab2.locator('[data-region="conversation"]').filter({hasText: peer.fullname});
        await row.locator('.block_dockchat-conv-icon.is-muted').waitFor({timeout: T});
        await row.locator('.block_dockchat-conv-icon.is-star').waitFor({timeout: T});
        await chooseFromMenu(tab2, peer, 'Unmute');
        await tab1.waitForFunction((sel) => !document.querySelector(sel).classList.contains('is-muted'), winSel(peer), {timeout: T});
        await tab1.locator('[data-region="conversation"]').filter({hasText: peer.fullname})
            .locator('.block_dockchat-conv-icon.is-muted').waitFor({state: 'detached', timeout: T});

        // Block: asked first; the blocker's composer says so; the blocked person's open window says so before typing.
        await chooseFromMenu(tab1, peer, 'Block user');
        const confirm = tab1.locator(`${winSel(peer)} [data-region="confirm"]`);
        await confirm.waitFor({state: 'visible', timeout: T});
        assert.equal(await confirm.locator('[data-region="confirm-text"]').textContent(), `Are you sure you want to block ${peer.fullname}?`);
        assert.equal(await tab1.evaluate(() => document.activeElement.textContent.trim()), 'Block');
        await tab1.keyboard.press('Enter');
        await waitCanSend(tab2, peer, 'You have blocked this user.');
        await waitCanSend(tab1, peer, 'You have blocked this user.');
        await waitCanSend(other, me, 'You cannot message this person.');
        assert.equal(await other.locator(`${winSel(me)} [data-action="send"]`).isDisabled(), true);
        assert.equal(await other.locator(`${winSel(me)} [data-region="input"]`).getAttribute('aria-disabled'), 'true');
        assert.deepEqual(await menuLabels(tab2, peer), ['Unblock user', 'Mute', 'Unstar conversation', 'Delete conversation']);
        await shot(other, 'desktop-actions-blocked.png');
        await chooseFromMenu(tab2, peer, 'Unblock user');
        await waitCanSend(other, me, '');
        await waitCanSend(tab1, peer, '');
        assert.equal(await other.locator(`${winSel(me)} [data-action="send"]`).isDisabled(), false);

        // Delete conversation: asked first (Cancel keeps it), then empty for me only.
        await chooseFromMenu(tab1, peer, 'Delete conversation');
        await confirm.waitFor({state: 'visible', timeout: T});
        await confirm.locator('[data-action="confirm-no"]').click();
        assert.equal(await confirm.isHidden(), true);
        assert.equal((await texts(tab1, peer)).length, 2);
        await chooseFromMenu(tab1, peer, 'Delete conversation');
        await confirm.locator('[data-action="confirm-yes"]').click();
        await waitTexts(tab1, peer, []);
        await waitTexts(tab2, peer, []);
        await other.reload();
        await openWindow(other, me, 'See you tomorrow');
        assert.deepEqual(await texts(other, me), ['Hello Sofia', 'oops, wrong chat', 'See you tomorrow']);
        assert.deepEqual(errors, []);
    } finally {
        await mine.close().catch(() => {});
        await theirs.close().catch(() => {});
    }
});

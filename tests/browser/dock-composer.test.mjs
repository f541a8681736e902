// The composer and the message log (issue 14, items 7, 15, 19, 20), in headless Chromium against
// `dockchatd demo`, at desktop (1366×768) and phone (390×844) sizes: drafts kept across page loads, who
// wrote each message for screen readers, the "new messages" pill and the length limit. Screenshots of the
// states go to artifacts/.
import {test, before, after} from 'node:test';
import {setup, demoUsers, openAs, presence, closeAll, winSel, isUncovered, shot, assert, T, DESKTOP, PHONE} from './harness.mjs';

const env = setup('dockchatd-demo-composer.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

const SIZES = [['desktop', DESKTOP], ['phone', PHONE]];

/** Amara (a student of two courses) and her course-mates. */
const cast = async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(5);
    return {me, mates: u.mates(me), u};
};

/**
 * Open (or bring back) the window onto `peer` from the block's list and wait for its composer.
 *
 * @param {object} page
 * @param {object} peer
 * @returns {Promise<object>} the composer's locator
 */
const openChat = async(page, peer) => {
    const input = page.locator(`${winSel(peer)} [data-region="input"]`);
    if (!(await input.isVisible())) {
        const row = page.locator(`.block_dockchat-user[data-userid="${peer.id}"] button`);
        await row.scrollIntoViewIfNeeded({timeout: T});
        if (await isUncovered(row)) {
            await row.click({timeout: T});
        } else {
            // A phone's full-screen window covers the list: choose the person as the list would.
            // (The tap takes the focus from where it was, as a tap on the list does.)
            await page.evaluate((id) => {
                document.activeElement.blur();
                window.dockchat.onIntent({type: 'open', peer: id, focus: true});
            }, peer.id);
        }
    }
    await input.waitFor({state: 'visible', timeout: T});
    return input;
};

const waitOnline = (page, peer) => page.locator(`.block_dockchat-user[data-userid="${peer.id}"] button`).waitFor({timeout: T});

for (const [size, options] of SIZES) {
    test(`${size}: a draft survives page loads, per conversation, until it is sent`, {timeout: 90000}, async() => {
        const {me, mates} = await cast();
        const [ana, ben] = mates;
        const errors = [];
        const others = await env.browser().newContext();
        const ctx = await env.browser().newContext(options);
        try {
            const online = await presence(others, env.base(), [ana, ben]);
            const page = await openAs(ctx, env.base(), me, errors);
            await closeAll(page);
            await waitOnline(page, ana);
            await (await openChat(page, ana)).fill(`half a thought for Ana (${size})`);
            await waitOnline(page, ben);
            await (await openChat(page, ben)).fill(`and one for Ben (${size})`);

            // Another page of the course (a navigation in the same tab).
            await page.reload({timeout: T});
            await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
            await waitOnline(page, ben);
            let input = await openChat(page, ben);
            await page.waitForFunction((sel) => document.querySelector(sel).value !== '', `${winSel(ben)} [data-region="input"]`,
                {timeout: 5000}).catch(() => {});
            assert.equal(await input.inputValue(), `and one for Ben (${size})`, `${size}: Ben's draft is back`);
            await shot(page, `${size}-draft-restored.png`);
            input = await openChat(page, ana);
            assert.equal(await input.inputValue(), `half a thought for Ana (${size})`, `${size}: Ana's draft is back`);

            // Sent: gone, also after the next page load; the other conversation's draft stays.
            await input.press('Enter');
            await page.locator(`${winSel(ana)} .block_dockchat-msg-mine`).filter({hasText: `half a thought for Ana (${size})`})
                .waitFor({timeout: T});
            assert.equal(await input.inputValue(), '');
            await page.locator(`${winSel(ana)} .block_dockchat-msg-mine.is-pending`).waitFor({state: 'detached', timeout: T});
            await page.reload({timeout: T});
            await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
            await waitOnline(page, ana);
            input = await openChat(page, ana);
            await page.waitForTimeout(300);
            assert.equal(await input.inputValue(), '', `${size}: a sent draft does not come back`);
            input = await openChat(page, ben);
            assert.equal(await input.inputValue(), `and one for Ben (${size})`, `${size}: the other draft is still there`);

            // Cleared by hand: gone too.
            await input.fill('');
            await page.reload({timeout: T});
            await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
            await waitOnline(page, ben);
            input = await openChat(page, ben);
            await page.waitForTimeout(300);
            assert.equal(await input.inputValue(), '');
            await closeAll(page);
            await online.close();
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
            await others.close().catch(() => {});
        }
    });
}

for (const [size, options] of SIZES) {
    test(`${size}: screen readers hear who wrote each message, arrivals in minimised windows once, and the unread count of the list`, {timeout: 90000}, async() => {
        const {me, mates} = await cast();
        // Others at each size: the demo keeps their unread counts between tests.
        const [ana, ben] = mates.slice(size === 'desktop' ? 2 : 4);
        const errors = [];
        const others = await env.browser().newContext();
        const ctx = await env.browser().newContext(options);
        try {
            const online = await presence(others, env.base(), [ana, ben]);
            const page = await openAs(ctx, env.base(), me, errors);
            await closeAll(page);
            await waitOnline(page, ana);
            // Count what the dock's live region says (each non-empty text it is given).
            await page.evaluate(() => {
                window.announcements = [];
                const live = document.querySelector('[data-region="block_dockchat-dock"] [role="status"][data-region="announce"]');
                new MutationObserver(() => {
                    if (live.textContent.trim()) {
                        window.announcements.push(live.textContent.trim());
                    }
                }).observe(live, {childList: true, characterData: true, subtree: true});
            }).catch((e) => errors.push('no live region for arrivals: ' + e.message));

            // The log: each message says who wrote it, mine and theirs alike.
            const input = await openChat(page, ana);
            await online.send(ana, me, `aria from Ana (${size})`);
            const log = page.locator(`${winSel(ana)} [role="log"]`);
            await log.locator('.block_dockchat-msg-theirs').filter({hasText: `aria from Ana (${size})`}).waitFor({timeout: T});
            await input.fill(`aria from me (${size})`);
            await input.press('Enter');
            await log.locator('.block_dockchat-msg-mine:not(.is-pending)').filter({hasText: `aria from me (${size})`}).waitFor({timeout: T});
            const tree = await log.ariaSnapshot();
            assert.match(tree, new RegExp(`${ana.fullname}:[\\s\\S]{0,40}aria from Ana \\(${size}\\)`),
                `${size}: their message is announced with their name:\n${tree}`);
            assert.match(tree, new RegExp(`You:[\\s\\S]{0,40}aria from me \\(${size}\\)`),
                `${size}: mine is announced as mine:\n${tree}`);
            // Visually hidden: the bubble looks as before.
            const sender = log.locator('.block_dockchat-msg-theirs [data-region="sender"]').last();
            const box = await sender.boundingBox();
            assert.ok(box && box.width <= 1 && box.height <= 1, `${size}: the name is not shown (${JSON.stringify(box)})`);

            // Minimised: an arrival is announced once by the dock, with who wrote it.
            await page.evaluate((id) => window.dockchat.onIntent({type: 'minimise', peer: id}), ana.id);
            await page.locator(`${winSel(ana)}.is-minimised`).waitFor({state: 'attached', timeout: T});
            await online.send(ana, me, `while minimised (${size})`);
            await page.waitForFunction(() => (window.announcements || []).length > 0, null, {timeout: T}).catch(() => {});
            await page.waitForTimeout(700);
            assert.deepEqual(await page.evaluate(() => window.announcements), [`New message from ${ana.fullname}`],
                `${size}: one announcement of the arrival`);

            // The list's button says how many unread messages wait (its badge is part of its name).
            await online.send(ben, me, `unread for the list (${size})`);
            const row = page.locator(`.block_dockchat-user[data-userid="${ben.id}"] [data-action="open-chat"]`);
            await page.locator(`.block_dockchat-user[data-userid="${ben.id}"] [data-region="unread"]`).filter({hasText: /^1$/})
                .waitFor({state: 'attached', timeout: T});
            await page.getByRole('button', {name: `Chat with ${ben.fullname}, 1 unread message`, exact: true})
                .waitFor({state: 'attached', timeout: T});
            assert.equal(await row.getAttribute('aria-label'), `Chat with ${ben.fullname}, 1 unread message`);
            await shot(page, `${size}-aria-minimised-arrival.png`);
            await closeAll(page);
            await online.close();
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
            await others.close().catch(() => {});
        }
    });
}

/** How far the log is from its end (px). */
const fromEnd = (log) => log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);

for (const [size, options] of SIZES) {
    test(`${size}: reading older messages, a "new messages" pill says what arrived and leads there; the title's badge does not minimise`, {timeout: 120000}, async() => {
        const {me, mates} = await cast();
        const mate = mates[size === 'desktop' ? 6 : 7];
        const errors = [];
        const others = await env.browser().newContext();
        const ctx = await env.browser().newContext(options);
        try {
            const online = await presence(others, env.base(), [mate]);
            const page = await openAs(ctx, env.base(), me, errors);
            await closeAll(page);
            await waitOnline(page, mate);
            await openChat(page, mate);
            const win = page.locator(winSel(mate));
            const log = win.locator('[data-region="messages"]');
            for (let i = 1; i <= 25; i++) {
                await online.send(mate, me, `history line ${i} (${size})`);
            }
            await win.locator('.block_dockchat-msg-theirs').filter({hasText: `history line 25 (${size})`}).waitFor({timeout: T});
            const pill = win.locator('[data-region="newpill"]');
            assert.equal(await pill.isVisible(), false, 'no pill at the end of the log');

            // Up in the history, two messages arrive: the pill counts them, the reading position stays.
            const scrollUp = () => log.evaluate((el) => {
                el.scrollTop = Math.max(60, Math.floor((el.scrollHeight - el.clientHeight) / 2));
            });
            await scrollUp();
            await page.waitForTimeout(300);
            const top = await log.evaluate((el) => el.scrollTop);
            await online.send(mate, me, `arrived 1 (${size})`);
            await online.send(mate, me, `arrived 2 (${size})`);
            await win.locator('.block_dockchat-msg-theirs').filter({hasText: `arrived 2 (${size})`})
                .waitFor({state: 'attached', timeout: T});
            await pill.waitFor({state: 'visible', timeout: T}).catch(() => {});
            assert.ok(await pill.isVisible(), `${size}: a pill shows while scrolled up`);
            assert.match(await pill.textContent(), /^\s*2 new messages\s*↓\s*$/);
            assert.equal(await log.evaluate((el) => el.scrollTop), top, 'the reading position stays');
            assert.ok(await isUncovered(pill), `${size}: the pill can be clicked`);
            await shot(page, `${size}-new-messages-pill.png`);

            // The title's unread badge leads down there too, and the window stays open.
            const badge = win.locator('.block_dockchat-window-title [data-region="unread"]');
            await badge.waitFor({state: 'visible', timeout: T});
            await badge.click();
            await page.waitForTimeout(300);
            assert.equal(await win.evaluate((el) => el.classList.contains('is-minimised')), false,
                `${size}: clicking the title's badge does not minimise the window`);
            assert.ok(await fromEnd(log) < 50, `${size}: the badge scrolled to the newest message`);
            assert.equal(await pill.isVisible(), false, 'the pill went');

            // Up again, one more: "1 new message"; the pill scrolls down and goes.
            await scrollUp();
            await page.waitForTimeout(300);
            await online.send(mate, me, `arrived 3 (${size})`);
            await pill.filter({hasText: '1 new message'}).waitFor({state: 'visible', timeout: T});
            await pill.click();
            await page.waitForTimeout(300);
            assert.ok(await fromEnd(log) < 50, `${size}: the pill scrolled to the newest message`);
            assert.equal(await pill.isVisible(), false, 'the pill went');
            await closeAll(page);
            await online.close();
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
            await others.close().catch(() => {});
        }
    });
}

for (const [size, options] of SIZES) {
    test(`${size}: a text near the length limit shows a counter; one over it is refused with a reason, never cut`, {timeout: 90000}, async() => {
        const {me, mates} = await cast();
        const mate = mates[size === 'desktop' ? 0 : 1];
        const errors = [];
        const others = await env.browser().newContext();
        const ctx = await env.browser().newContext(options);
        try {
            const online = await presence(others, env.base(), [mate]);
            const page = await openAs(ctx, env.base(), me, errors);
            await closeAll(page);
            await waitOnline(page, mate);
            const input = await openChat(page, mate);
            const win = page.locator(winSel(mate));
            const max = await page.evaluate(() => window.dockchat.state.limits.text_max_chars);
            assert.equal(max, 4000, 'the demo\'s limit (welcome.limits.text_max_chars)');
            const counter = win.locator('[data-region="counter"]');

            // Far from the limit: no counter.
            await input.fill('short');
            assert.equal(await counter.isVisible(), false, 'no counter far from the limit');

            // A long text pasted: near the limit the counter says what is left.
            await input.fill('');
            await input.focus();
            await page.keyboard.insertText('a'.repeat(max - 10));
            await counter.waitFor({state: 'visible', timeout: T}).catch(() => {});
            assert.equal(await counter.textContent(), '10 characters left');
            await page.keyboard.insertText('b'.repeat(9));
            assert.equal(await counter.textContent(), '1 character left');

            // More pasted: nothing is cut; the counter says how many too many.
            await page.keyboard.insertText('c'.repeat(200));
            assert.equal((await input.inputValue()).length, max + 199, `${size}: the pasted text is all there`);
            assert.equal(await counter.textContent(), '199 characters too many');
            assert.equal(await input.getAttribute('aria-invalid'), 'true');
            await shot(page, `${size}-composer-over-limit.png`);

            // Sending is refused with the reason; the text stays for the user to shorten.
            const before = await win.locator('.block_dockchat-msg-mine').count();
            await input.press('Enter');
            const error = win.locator('[data-region="limit-error"]');
            await error.waitFor({state: 'visible', timeout: T});
            assert.equal(await error.getAttribute('role'), 'alert');
            assert.match(await error.textContent(), /too long to send/);
            assert.equal((await input.inputValue()).length, max + 199, 'the text is kept');
            await page.waitForTimeout(300);
            assert.equal(await win.locator('.block_dockchat-msg-mine').count(), before, 'nothing was sent');

            // Shortened to fit: the reason goes, and it is sent whole.
            await input.fill('d'.repeat(max));
            assert.equal(await error.isVisible(), false);
            assert.equal(await counter.textContent(), '0 characters left');
            await input.press('Enter');
            await win.locator('.block_dockchat-msg-mine:not(.is-pending)').filter({hasText: 'd'.repeat(max)}).waitFor({state: 'attached', timeout: T});
            assert.equal(await counter.isVisible(), false, 'the counter goes with the text');
            await closeAll(page);
            await online.close();
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
            await others.close().catch(() => {});
        }
    });
}

// The block's panel in a real browser against `dockchatd demo` (harness.mjs): the Chats tab lists the
// user's Moodle conversations (order, previews, unread), follows live messages and reads; the people
// search finds course-mates (never others) and starts a chat that works; the tabs work from the keyboard.
// Each screen size has its own users, so the runs do not see each other's conversations.
import {test, before, after} from 'node:test';
import {setup, demoUsers, openAs, presence, winSel, shot, assert, T, DESKTOP, PHONE} from './harness.mjs';

const env = setup('dockchatd-chats.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

/**
 * Store a message as Moodle's message drawer does.
 *
 * @param {object} from
 * @param {object} to
 * @param {string} text
 * @returns {Promise<number>} the message id
 */
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

/** The conversations of the Chats tab, as shown. */
const rows = (page) => page.locator('[data-region="conversations"] [data-region="conversation"]').evaluateAll((els) => els.map((el) => ({
    conv: Number(el.dataset.conv),
    name: el.querySelector('.block_dockchat-conv-name').textContent.trim(),
    preview: el.querySelector('.block_dockchat-conv-preview').textContent.replace(/\s+/g, ' ').trim(),
    unread: el.querySelector('.block_dockchat-badge') ? el.querySelector('.block_dockchat-badge').textContent.trim() : '',
    time: el.querySelector('time') ? el.querySelector('time').textContent.trim() : '',
    online: el.classList.contains('is-online'),
})));

const waitRows = (page, check, arg) => page.waitForFunction(([fn, value]) => {
    const list = [...document.querySelectorAll('[data-region="conversations"] [data-region="conversation"]')].map((el) => ({
        name: el.querySelector('.block_dockchat-conv-name').textContent.trim(),
        preview: el.querySelector('.block_dockchat-conv-preview').textContent.replace(/\s+/g, ' ').trim(),
        unread: el.querySelector('.block_dockchat-badge') ? el.querySelector('.block_dockchat-badge').textContent.trim() : '',
    }));
    return new Function('list', 'arg', 'return (' + fn + ')(list, arg)')(list, value);
}, [check.toString(), arg === undefined ? null : arg], {timeout: T});

/** The people frames a page sends, in order. */
const watchSearches = (page) => {
    const queries = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => {
        try {
            const frame = JSON.parse(f.payload);
            if (frame.type === 'people') {
                queries.push(frame.query);
            }
        } catch (e) {
            // Not JSON.
        }
    }));
    return queries;
};

// Who plays what at each size (demo seed, src/demo/mod.rs): me, two who wrote before, one who writes
// for the first time while the page is open, a course-mate to find, and a demo user sharing no course;
// `groups`: the seeded group conversations `me` is a member of (listed last: they have no messages).
const CASTS = {
    desktop: {me: 6, a: 7, b: 9, c: 3, find: 11, findBy: 'dub', stranger: 4, strangerBy: 'Wata', groups: ['PSY101 Study group']},
    phone: {me: 8, a: 4, b: 10, c: 11, find: 5, findBy: 'oka', stranger: 6, strangerBy: 'Ferr', groups: []},
};

test('desktop: a newcomer without conversations sees the Online tab, and Chats says what to do', {timeout: 90000}, async() => {
    // Runs first: nobody has written to anyone yet (the demo seeds no messages).
    const me = (await demoUsers(env.base())).byId(CASTS.phone.b);
    const errors = [];
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const page = await openAs(ctx, env.base(), me, errors, {tab: null});
        const onlineTab = page.locator('[role="tab"][data-tab="online"]');
        await page.waitForFunction(() => document.querySelector('[role="tab"][data-tab="online"]').getAttribute('aria-selected') === 'true',
            null, {timeout: T});
        await page.locator('[role="tab"][data-tab="chats"]').click();
        const empty = page.locator('[data-region="chats-empty"]');
        await empty.waitFor({state: 'visible', timeout: T});
        assert.equal(await empty.textContent(), 'No conversations yet. Find someone to message with the search above.');
        assert.equal(await onlineTab.getAttribute('aria-selected'), 'false');
        await shot(page, 'desktop-chats-empty.png');
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
    }
});

for (const [size, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    const cast = async() => {
        const {byId, mates} = await demoUsers(env.base());
        const c = Object.fromEntries(Object.entries(CASTS[size]).map(([k, v]) => [k, typeof v === 'number' ? byId(v) : v]));
        const mine = mates(c.me).map((u) => u.id);
        for (const k of ['a', 'b', 'c', 'find']) {
            assert.ok(mine.includes(c[k].id), `${c[k].fullname} shares a course with ${c.me.fullname}`);
        }
        assert.ok(!mine.includes(c.stranger.id), `${c.stranger.fullname} shares no course with ${c.me.fullname}`);
        assert.ok(c.stranger.fullname.includes(c.strangerBy) && c.find.fullname.toLowerCase().includes(c.findBy));
        return c;
    };

    test(`${size}: the Chats tab lists the conversations in order, follows new messages and reads live`, {timeout: 120000}, async() => {
        const c = await cast();
        const errors = [];
        const others = await env.browser().newContext();
        const ctx = await env.browser().newContext(options);
        try {
            await drawer(c.a, c.me, `Notes for the seminar, ${size}?`);
            await drawer(c.me, c.b, `See you   at the\nlibrary (${size})`);
            const page = await openAs(ctx, env.base(), c.me, errors, {tab: null});
            const chatsTab = page.locator('[role="tab"][data-tab="chats"]');
            await page.locator('[data-region="conversation"]').first().waitFor({timeout: T});
            assert.equal(await chatsTab.getAttribute('aria-selected'), 'true', 'Chats is shown: there are conversations');
            assert.equal(await page.locator('[data-region="online-panel"]').isHidden(), true);
            let list = await rows(page);
            const groups = CASTS[size].groups;
            assert.deepEqual(list.map((r) => [r.name, r.preview, r.unread]), [
                [c.b.fullname, `You: See you at the library (${size})`, ''],
                [c.a.fullname, `Notes for the seminar, ${size}?`, '1'],
            ].concat(groups.map((name) => [name, '', ''])), 'newest first; own preview as "You: …" on one line; unread counted');
            assert.ok(list.slice(0, 2).every((r) => r.time !== ''), 'each with a message shows a time');
            assert.equal(await chatsTab.locator('[data-region="chats-unread"]').textContent(), '1');
            await shot(page, `${size}-chats-list.png`);

            // A message from A (through the dock) moves A's conversation to the top and counts it.
            const online = await presence(others, env.base(), [c.a]);
            await page.locator(`[data-region="conversation"].is-online .block_dockchat-conv-name:text-is("${c.a.fullname}")`)
                .waitFor({timeout: T});
            await online.send(c.a, c.me, 'Are you coming?');
            await waitRows(page, (l) => l[0] && l[0].preview === 'Are you coming?' && l[0].unread === '2');
            list = await rows(page);
            assert.equal(list[0].name, c.a.fullname);
            assert.equal(list[0].online, true, 'online dot for a course-mate who is online');
            assert.equal(list.length, 2 + groups.length);
            // A first message from someone new (Moodle's drawer): the list fetches its first page again.
            await drawer(c.c, c.me, 'Welcome to the course');
            await waitRows(page, (l, n) => l.length === n && l[0].preview === 'Welcome to the course' && l[0].unread === '1',
                3 + groups.length);
            await shot(page, `${size}-chats-live.png`);

            // Opening A's conversation opens its window; reading it clears the count.
            await page.locator('[data-region="conversation"]').filter({hasText: c.a.fullname}).locator('a').click();
            await page.locator(`${winSel(c.a)} [data-region="input"]`).waitFor({state: 'visible', timeout: T});
            await page.locator(`${winSel(c.a)} [data-region="text"]`).filter({hasText: 'Are you coming?'}).waitFor({timeout: T});
            await waitRows(page, (l) => l.some((r) => r.preview === 'Are you coming?' && r.unread === ''));
            await online.close();
            await shot(page, `${size}-chats-read.png`);
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
            await others.close().catch(() => {});
        }
    });

    test(`${size}: the search finds a course-mate by part of the name, opens a chat that works; strangers are never found`, {timeout: 120000}, async() => {
        const c = await cast();
        const errors = [];
        const others = await env.browser().newContext();
        const ctx = await env.browser().newContext(options);
        try {
            const page = await ctx.newPage();
            const searches = watchSearches(page);
            page.on('pageerror', (e) => errors.push(e.message));
            await page.goto(`${env.base()}/?user=${c.me.id}`, {timeout: T});
            await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
            const input = page.locator('[data-region="search-input"]');
            const results = page.locator('[data-region="search-list"] [data-region="person"]');
            const status = page.locator('[data-region="search-status"]');

            // One character: nothing is asked.
            await input.pressSequentially(c.findBy.slice(0, 1));
            await page.waitForTimeout(700);
            assert.deepEqual(searches, [], 'no search for one character');
            // Typed on (quickly): one search, for the whole text.
            await input.pressSequentially(c.findBy.slice(1), {delay: 40});
            await results.first().waitFor({timeout: T});
            assert.deepEqual(searches, [c.findBy], 'debounced: one search');
            const found = await results.evaluateAll((els) => els.map((el) => Number(el.dataset.userid)));
            assert.ok(found.includes(c.find.id), `${c.find.fullname} found by "${c.findBy}"`);
            await shot(page, `${size}-search-results.png`);

            // Enter opens the chat with the first one found (online or not): the message reaches them.
            assert.equal(found[0], c.find.id);
            await input.press('Enter');
            const win = page.locator(winSel(c.find));
            await win.locator('[data-region="input"]').waitFor({state: 'visible', timeout: T});
            assert.equal((await win.locator('[data-region="name"]').textContent()).trim(), c.find.fullname);
            await win.locator('[data-region="input"]').fill(`Found you (${size})`);
            await win.locator('[data-region="input"]').press('Enter');
            await win.locator('[data-region="message"]:not(.is-pending) [data-region="text"]')
                .filter({hasText: `Found you (${size})`}).waitFor({timeout: T});
            // They come online later and answer: the chat works both ways.
            const them = await presence(others, env.base(), [c.find]);
            await them.send(c.find, c.me, `Hello from ${c.find.fullname}`);
            await win.locator('[data-region="text"]').filter({hasText: `Hello from ${c.find.fullname}`}).waitFor({timeout: T});
            // The new conversation is in the Chats list too (shown: the user has conversations), live.
            assert.equal(await page.locator('[role="tab"][data-tab="chats"]').getAttribute('aria-selected'), 'true');
            await waitRows(page, (l, want) => l[0] && l[0].name === want.name && l[0].preview === want.preview,
                {name: c.find.fullname, preview: `Hello from ${c.find.fullname}`});
            await them.close();

            // Escape clears the search. (A phone shows the conversation full-screen, over the page: its back
            // button leads to the list, full-screen too, with the search.)
            if (size === 'phone') {
                await win.locator('[data-action="back"]').click();
                await page.locator('[data-region="sheet"]').waitFor({state: 'visible', timeout: T});
            }
            await input.focus();
            await input.press('Escape');
            assert.equal(await input.inputValue(), '');
            await results.first().waitFor({state: 'detached', timeout: T});

            // A demo user who shares no course is not found, whatever is typed.
            await input.fill(c.strangerBy);
            await status.filter({hasText: 'No one found'}).waitFor({timeout: T});
            assert.equal(await results.count(), 0);
            assert.equal(searches.at(-1), c.strangerBy);
            await shot(page, `${size}-search-nobody.png`);
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
            await others.close().catch(() => {});
        }
    });

    test(`${size}: the tabs are keyboard operable (arrows, Home, End) and the choice is remembered`, {timeout: 90000}, async() => {
        const c = await cast();
        const errors = [];
        const ctx = await env.browser().newContext(options);
        try {
            const page = await openAs(ctx, env.base(), c.me, errors, {tab: null});
            const chats = page.locator('[role="tab"][data-tab="chats"]');
            const onlineTab = page.locator('[role="tab"][data-tab="online"]');
            await page.locator('[data-region="conversation"]').first().waitFor({timeout: T});
            assert.equal(await chats.getAttribute('aria-selected'), 'true');
            assert.equal(await page.locator('[role="tablist"] [role="tab"][tabindex="0"]').count(), 1, 'one tab stop');
            const controls = await chats.getAttribute('aria-controls');
            assert.equal(await page.locator(`#${controls}`).getAttribute('role'), 'tabpanel');
            await chats.focus();
            await page.keyboard.press('ArrowRight');
            assert.equal(await onlineTab.getAttribute('aria-selected'), 'true');
            assert.equal(await onlineTab.evaluate((el) => el === document.activeElement), true, 'focus moves with the selection');
            assert.equal(await page.locator('[data-region="online-panel"]').isVisible(), true);
            assert.equal(await page.locator('[data-region="chats-panel"]').isHidden(), true);
            // The selection is drawn by the next render (the People tab's first one fetches its template).
            const selected = (tab) => tab.evaluate((el) => new Promise((resolve, reject) => {
                const t0 = Date.now();
                const poll = () => (el.getAttribute('aria-selected') === 'true' ? resolve()
                    : Date.now() - t0 > 5000 ? reject(new Error('not selected: ' + el.getAttribute('data-tab'))) : setTimeout(poll, 20));
                poll();
            }));
            await page.keyboard.press('Home');
            await selected(chats);
            // Three tabs: Chats, Online, People.
            const peopleTab = page.locator('[role="tab"][data-tab="people"]');
            await page.keyboard.press('End');
            await selected(peopleTab);
            assert.equal(await page.locator('[data-region="people-panel"]').isVisible(), true);
            await page.keyboard.press('ArrowLeft');
            await selected(onlineTab);
            await page.keyboard.press('ArrowLeft');
            await selected(chats);
            await page.keyboard.press('ArrowLeft');
            await selected(peopleTab);
            await page.keyboard.press('ArrowRight');
            await selected(chats);
            await page.keyboard.press('ArrowRight');
            await selected(onlineTab);
            // Tab leaves the tablist for the panel's content.
            await page.keyboard.press('Tab');
            assert.notEqual(await page.evaluate(() => document.activeElement.getAttribute('role')), 'tab');
            await page.reload({timeout: T});
            await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
            await page.waitForTimeout(300);
            assert.equal(await onlineTab.getAttribute('aria-selected'), 'true', 'remembered after a reload');
            await shot(page, `${size}-tabs-online.png`);
            assert.deepEqual(errors, []);
        } finally {
            await ctx.close().catch(() => {});
        }
    });
}

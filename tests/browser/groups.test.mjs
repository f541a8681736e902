// Group conversations in the dock, in a real browser against `dockchatd demo` (harness.mjs): the demo
// seeds one course group with messaging (src/demo/mod.rs: "PSY101 Study group", Amara, Lucas, Sofia and
// Elena). One member opens it from the Chats list and writes; the others (raw sockets) receive it,
// type, read and answer, and the window shows who: "… is typing", "Seen by 2" with the names, the
// sender's name above their message. A message to the group while its window is closed opens it
// minimised. A member who wrote while the reader's page never saw them online is named by the history
// (PROTOCOL §5 `history` `people`); the header counts the members and who of them is online, live.
import {test, before, after} from 'node:test';
import {setup, demoUsers, openAs, presence, shot, assert, T, DESKTOP} from './harness.mjs';

const env = setup('dockchatd-groups.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

const GROUP = 'PSY101 Study group';

test('desktop: a three-member group window: send, receive with the sender\'s name, typing, Seen by 2', {timeout: 120000}, async() => {
    const {byId} = await demoUsers(env.base());
    const [amara, lucas, sofia] = [byId(5), byId(6), byId(7)];
    const errors = [];
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const others = await presence(ctx, env.base(), [lucas, sofia]);
        const page = await openAs(ctx, env.base(), amara, errors, {tab: 'chats'});

        // The group is in the Chats list, and opens a dock window (not Moodle's messaging page).
        const row = page.locator('[data-region="conversations"] [data-region="conversation"]').filter({hasText: GROUP});
        await row.waitFor({timeout: T});
        const conv = Number(await row.getAttribute('data-conv'));
        assert.ok(conv > 0);
        await row.locator('[data-action="open-chat"]').click({timeout: T});
        const win = page.locator(`[data-region="window"][data-peerid="c${conv}"]`);
        await win.waitFor({timeout: T});
        assert.equal(page.url().includes('/message/index.php'), false, 'the group opens in the dock');
        assert.equal((await win.locator('[data-region="name"]').textContent()).trim(), GROUP);
        // Its members, and how many of them are online: Amara, Lucas and Sofia.
        await win.locator('[data-region="presence-text"]').filter({hasText: /^\s*4 members, 3 online\s*$/}).waitFor({timeout: T});
        await win.locator('[data-region="empty"]').waitFor({timeout: T});

        // Sent with `conv`: both other members receive it.
        const input = win.locator('[data-region="input"]');
        await input.fill('Hello study group');
        await input.press('Enter');
        const mine = win.locator('.block_dockchat-msg-mine').filter({hasText: 'Hello study group'});
        await mine.waitFor({timeout: T});
        for (const u of [lucas, sofia]) {
            const f = await others.groupFrame(u, (x) => x.type === 'message' && x.message.text === 'Hello study group');
            assert.equal(f.message.conv, conv);
            assert.equal(f.message.to, 0);
            assert.equal(f.message.from, amara.id);
        }
        await page.waitForFunction((sel) => !document.querySelector(sel).classList.contains('is-pending'),
            `[data-peerid="c${conv}"] .block_dockchat-msg-mine`, {timeout: T});

        // Typing shows who: one, then two at once.
        await others.typingConv(sofia, conv);
        const typing = win.locator('[data-region="typing"]');
        await typing.filter({hasText: 'Sofia Rossi is typing…'}).waitFor({timeout: T});
        await others.typingConv(lucas, conv);
        await typing.filter({hasText: /^\s*Lucas Ferreira and 1 other are typing…\s*$/}).waitFor({timeout: T});

        // Both read it: "Seen by 2" under my message, their names on hover and for screen readers.
        const seen = win.locator('[data-region="seen"]');
        await others.readConv(lucas, conv);
        await seen.filter({hasText: 'Seen by 1'}).waitFor({timeout: T});
        await others.readConv(sofia, conv);
        await seen.filter({hasText: 'Seen by 2'}).waitFor({timeout: T});
        const title = await seen.getAttribute('title');
        assert.ok(title.includes('Lucas Ferreira') && title.includes('Sofia Rossi'), title);
        const described = await seen.getAttribute('aria-describedby');
        assert.ok((await page.locator('#' + described).textContent()).includes('Sofia Rossi'));
        assert.equal(await seen.getAttribute('tabindex'), '0', 'the names can be reached from the keyboard');
        await shot(page, 'groups-desktop-seen.png');

        // An answer shows who wrote it; the open, visible window marks it read (`read` with `conv`).
        await others.sendConv(lucas, conv, 'Hi Amara, see you at the library');
        const theirs = win.locator('.block_dockchat-msg-theirs').filter({hasText: 'see you at the library'});
        await theirs.waitFor({timeout: T});
        assert.equal((await theirs.locator('[data-region="author-name"]').textContent()).trim(), 'Lucas Ferreira');
        assert.ok(await theirs.locator('[data-region="author"]').isVisible(), 'the name shows above the message');
        await others.groupFrame(lucas, (x) => x.type === 'read' && x.reader === 5 && x.conv > 0);
        assert.equal(await seen.isHidden(), true, 'Seen belongs under my last message only');
        await shot(page, 'groups-desktop-answer.png');

        // Closed, then a new message to the group: its window comes back minimised, counting it.
        await win.locator('[data-action="close"]').click({timeout: T});
        await win.waitFor({state: 'detached', timeout: T});
        await others.sendConv(sofia, conv, 'Did anyone take notes?');
        await win.waitFor({timeout: T});
        await page.waitForFunction((sel) => document.querySelector(sel).classList.contains('is-minimised'),
            `[data-region="window"][data-peerid="c${conv}"]`, {timeout: T});
        await win.locator('[data-region="unread"]').filter({hasText: '1'}).waitFor({timeout: T});
        // The Chats list counts it too.
        await row.locator('.block_dockchat-badge').filter({hasText: '1'}).waitFor({timeout: T});

        // The window follows the user to the next page of this tab, with its name.
        await page.reload({timeout: T});
        await win.waitFor({timeout: T});
        await win.locator('[data-region="name"]').filter({hasText: GROUP}).waitFor({timeout: T});
        await others.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

test('desktop: an offline member\'s message shows their name and picture; the header counts members and who is online, live', {timeout: 120000}, async() => {
    const {byId} = await demoUsers(env.base());
    const [amara, lucas, elena] = [byId(5), byId(6), byId(9)];
    const errors = [];
    const first = await env.browser().newContext(DESKTOP);
    let conv = 0;
    try {
        // The group's conversation id, from Amara's Chats list.
        const page = await openAs(first, env.base(), amara, errors, {tab: 'chats'});
        const row = page.locator('[data-region="conversations"] [data-region="conversation"]').filter({hasText: GROUP});
        await row.waitFor({timeout: T});
        conv = Number(await row.getAttribute('data-conv'));
    } finally {
        await first.close();
    }
    // Elena writes to the group and leaves; Amara's next page never sees her online (the offline grace
    // is 10 s), so only the history can name her.
    const others = await env.browser().newContext();
    try {
        const elenaOnline = await presence(others, env.base(), [elena]);
        await elenaOnline.sendConv(elena, conv, 'Notes are in the shared folder');
        await elenaOnline.groupFrame(elena, (x) => x.type === 'message' && x.message.text === 'Notes are in the shared folder');
        await elenaOnline.close();
    } finally {
        await others.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 11000));

    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const page = await openAs(ctx, env.base(), amara, errors, {tab: 'chats'});
        const known = await page.evaluate(() => ({
            online: window.dockchat.state.online.map((p) => p.id),
            elena: !!window.dockchat.state.people[9],
        }));
        assert.deepEqual(known, {online: [], elena: false}, 'nobody else is online; Elena is unknown to the page');
        const row = page.locator('[data-region="conversations"] [data-region="conversation"]').filter({hasText: GROUP});
        await row.locator('[data-action="open-chat"]').click({timeout: T});
        const win = page.locator(`[data-region="window"][data-peerid="c${conv}"]`);
        const theirs = win.locator('.block_dockchat-msg-theirs').filter({hasText: 'Notes are in the shared folder'});
        await theirs.waitFor({timeout: T});
        await theirs.locator('[data-region="author-name"]').filter({hasText: 'Elena Petrova'}).waitFor({timeout: T});
        const avatar = await theirs.locator('[data-region="author-avatar"]').getAttribute('src');
        assert.ok(avatar && avatar.length > 0, 'her picture shows too');

        // The header: 4 members, Amara alone online; Lucas comes online, then goes (after the grace).
        const header = win.locator('[data-region="presence-text"]');
        await header.filter({hasText: /^\s*4 members, 1 online\s*$/}).waitFor({timeout: T});
        await shot(page, 'groups-offline-sender.png');
        const lucasCtx = await env.browser().newContext();
        try {
            await presence(lucasCtx, env.base(), [lucas]);
            await header.filter({hasText: /^\s*4 members, 2 online\s*$/}).waitFor({timeout: T});
            await shot(page, 'groups-members-online.png');
        } finally {
            await lucasCtx.close();
        }
        await header.filter({hasText: /^\s*4 members, 1 online\s*$/}).waitFor({timeout: 15000});
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

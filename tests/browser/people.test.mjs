// The block's People tab in a real browser against `dockchatd demo` (harness.mjs): the user's courses as
// foldable sections (src/demo/mod.rs: Amara takes "Applied Statistics" and "Introduction to
// Psychology"), each course's group conversation with its own picture and "N members, M online"
// (opening the group's window, whose header shows that picture), and its people the user may message: the teacher first with Moodle's
// role name, then who is online, then who is offline; a window opens onto anyone listed, online or not.
import {test, before, after} from 'node:test';
import {setup, demoUsers, openAs, presence, shot, assert, T, DESKTOP} from './harness.mjs';

const env = setup('dockchatd-people.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

test('desktop: courses with their groups and people, teachers first, online then offline', {timeout: 120000}, async() => {
    const {byId} = await demoUsers(env.base());
    const [amara, lucas, sofia] = [byId(5), byId(6), byId(7)];
    const errors = [];
    const ctx = await env.browser().newContext(DESKTOP);
    try {
        const others = await presence(ctx, env.base(), [lucas]);
        const page = await openAs(ctx, env.base(), amara, errors, {tab: 'people'});
        const roster = page.locator('[data-region="roster"]');
        const sections = roster.locator('[data-region="roster-course"]');
        await sections.nth(1).waitFor({timeout: T});
        const names = await sections.locator('.block_dockchat-course-name').allTextContents();
        assert.deepEqual(names.map((n) => n.trim()), ['Applied Statistics', 'Introduction to Psychology']);

        const psy = sections.filter({hasText: 'Introduction to Psychology'});
        const people = psy.locator('[data-region="person"]');
        await people.filter({hasText: 'Sofia Rossi'}).waitFor({timeout: T});
        // Margarida teaches it (offline): first, with the role Moodle names; Lucas is online; then the
        // offline by last name. Amara herself is not listed.
        const listed = (await people.locator('.block_dockchat-person-name').allTextContents()).map((n) => n.trim());
        assert.deepEqual(listed, ['Margarida Souza', 'Lucas Ferreira', 'Chloé Dubois', 'Elena Petrova', 'Sofia Rossi']);
        assert.equal((await people.nth(0).locator('[data-region="role"]').textContent()).trim(), 'Teacher');
        assert.equal((await people.nth(1).locator('[data-region="role"]').textContent()).trim(), '');
        assert.match(await people.nth(1).getAttribute('class'), /is-online/);
        assert.doesNotMatch(await people.nth(2).getAttribute('class'), /is-online/);

        // The course's group: its own picture (Moodle's pluginfile URL) and who of it is online.
        const group = psy.locator('[data-region="roster-group"]');
        await group.waitFor({timeout: T});
        assert.match(await group.locator('img').getAttribute('src'), /\/pluginfile\.php\/\d+\/group\/icon\/1\/f1\?rev=1$/);
        assert.equal(await group.locator('img').evaluate((img) => img.complete && img.naturalWidth > 0), true, 'the picture loads');
        await group.filter({hasText: '4 members, 2 online'}).waitFor({timeout: T});
        await shot(page, 'people-desktop.png');

        // Someone offline: the window opens all the same.
        await people.filter({hasText: 'Sofia Rossi'}).locator('[data-action="open-chat"]').click({timeout: T});
        await page.locator(`[data-region="window"][data-peerid="${sofia.id}"]`).waitFor({timeout: T});
        // The group opens its own window.
        const conv = Number(await group.getAttribute('data-conv'));
        await group.locator('[data-action="open-chat"]').click({timeout: T});
        const win = page.locator(`[data-region="window"][data-peerid="c${conv}"]`);
        await win.waitFor({timeout: T});
        assert.equal((await win.locator('[data-region="name"]').textContent()).trim(), 'PSY101 Study group');
        // Its header shows the group's own picture.
        await page.waitForFunction((sel) => {
            const el = document.querySelector(sel);
            return el && el.classList.contains('has-picture') && /\/group\/icon\/1\/f1\?rev=1/.test(el.style.backgroundImage);
        }, `[data-region="window"][data-peerid="c${conv}"] [data-region="initial"]`, {timeout: T});

        // Lucas goes offline: his entry follows (presence), without a refetch.
        await others.close();
        await page.waitForFunction(() => {
            const el = [...document.querySelectorAll('[data-region="roster"] [data-region="person"]')]
                .find((p) => p.textContent.includes('Lucas Ferreira'));
            return el && !el.classList.contains('is-online');
        }, null, {timeout: T});

        // A course folds and unfolds from its header, with the keyboard.
        const toggle = psy.locator('[data-action="toggle-course"]');
        await toggle.press('Enter');
        await page.waitForFunction(() => [...document.querySelectorAll('[data-action="toggle-course"]')]
            .some((b) => b.getAttribute('aria-expanded') === 'false'), null, {timeout: T});
        assert.equal(await psy.locator('[data-region="person"]').count(), 0);
        await psy.locator('[data-action="toggle-course"]').press('Enter');
        await psy.locator('[data-region="person"]').first().waitFor({timeout: T});
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

// Background alerts (issue 12 item 6) in a real browser against `dockchatd demo` (harness.mjs), and on the fixture
// Moodle page (./moodle-fixture.mjs) for the Moodle side of the preferences.
//
// A tab cannot be hidden from Playwright: an init script makes `document.hidden` / `visibilityState` follow
// `window.__setHidden(bool)`, which also fires `visibilitychange`, as the browser does. The sound is the page's
// real AudioContext, its oscillators counted (`__alerts.tones`, with the context's state at the time); the
// Notification class is wrapped to record what the page shows (`__alerts.notes`) and how often it asks for the
// permission (`__alerts.asks`), the real one being called underneath. Each test has its own users.
import {test, before, after} from 'node:test';
import {setup, demoUsers, openAs, presence, winSel, shot, assert, T, DESKTOP, PHONE} from './harness.mjs';
import {installMoodleFixture} from './moodle-fixture.mjs';

const env = setup('dockchatd-alerts.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

const SPIES = () => {
    window.__alerts = {tones: 0, states: [], notes: [], asks: 0};
    let hidden = false;
    Object.defineProperty(Document.prototype, 'hidden', {configurable: true, get: () => hidden});
    Object.defineProperty(Document.prototype, 'visibilityState', {configurable: true, get: () => (hidden ? 'hidden' : 'visible')});
    window.__setHidden = (value) => {
        hidden = value;
        document.dispatchEvent(new Event('visibilitychange'));
    };
    const Ctx = window.AudioContext;
    if (Ctx) {
        const createOscillator = Ctx.prototype.createOscillator;
        Ctx.prototype.createOscillator = function() {
            window.__alerts.tones++;
            window.__alerts.states.push(this.state);
            return createOscillator.call(this);
        };
    }
    const Real = window.Notification;
    class RecordingNotification {
        constructor(title, options) {
            this.title = title;
            this.options = options || {};
            window.__alerts.notes.push(this);
            try {
                this.real = new Real(title, options);
            } catch (e) {
                this.error = String(e);
            }
        }
        close() {
            this.closed = true;
            if (this.real) {
                this.real.close();
            }
        }
        static get permission() {
            return Real.permission;
        }
        static requestPermission(callback) {
            window.__alerts.asks++;
            return Real.requestPermission(callback);
        }
    }
    window.Notification = RecordingNotification;
};

const newContext = async(options) => {
    const ctx = await env.browser().newContext(options);
    await ctx.addInitScript(SPIES);
    return ctx;
};

const setHidden = (page, hidden) => page.evaluate((h) => window.__setHidden(h), hidden);
const alertsOf = (page) => page.evaluate(() => ({tones: window.__alerts.tones, states: window.__alerts.states.slice(),
    asks: window.__alerts.asks, notes: window.__alerts.notes.map((n) => ({title: n.title, body: n.options.body, tag: n.options.tag}))}));
const waitTitle = (page, title) => page.waitForFunction((t) => document.title === t, title, {timeout: T})
    .catch(async(e) => {
        throw new Error(`title is "${await page.title()}", not "${title}": ${e.message}`);
    });
/** Wait until the page holds a message (it arrived and was handled), then a little for a hidden tab's claim. */
const waitMessage = async(page, text) => {
    await page.waitForFunction((x) => Object.values(window.dockchat.state.convs).some((c) => c.messages.some((m) => m.text === x)),
        text, {timeout: T});
    await page.waitForTimeout(400);
};

const openSettings = async(page) => {
    const gear = page.locator('[data-action="toggle-settings"]');
    if (await gear.getAttribute('aria-expanded') !== 'true') {
        await gear.click({timeout: T});
    }
    await page.locator('[data-region="settings-menu"]').waitFor({state: 'visible', timeout: T});
};
const toggle = (page, name) => page.locator(`[data-action="alert-pref"][data-pref="${name}"]`);
/** Click a toggle and wait until it shows the preference changed (the box follows the state, not the click). */
const flip = async(page, name, on) => {
    await toggle(page, name).click({timeout: T});
    await page.waitForFunction(([n, v]) => document.querySelector(`[data-pref="${n}"]`).checked === v, [name, on], {timeout: T});
};

test('desktop: the title counts unread messages only while hidden, restored exactly; a muted conversation is left out', {timeout: 120000}, async() => {
    const users = await demoUsers(env.base());
    const me = users.byId(6);
    const [ana, bruno] = users.mates(me).slice(0, 2);
    const errors = [];
    const ctx = await newContext(DESKTOP);
    // Bruno's conversation is muted in Moodle: the server's Chats list says so (PROTOCOL §5 `muted`).
    await ctx.routeWebSocket(/\/ws$/, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage((m) => server.send(m));
        server.onMessage((m) => {
            const frame = JSON.parse(m);
            if (frame.type === 'conversations') {
                frame.items.forEach((c) => {
                    if (c.with && c.with.id === bruno.id) {
                        c.muted = true;
                    }
                });
                ws.send(JSON.stringify(frame));
                return;
            }
            ws.send(m);
        });
    });
    const mates = await presence(await env.browser().newContext(), env.base(), [ana, bruno]);
    try {
        const page = await openAs(ctx, env.base(), me, errors, {tab: 'chats'});
        const title = await page.title();
        assert.match(title, /dockchat demo/);
        // Both toggles on: a muted conversation must stay silent even so.
        await openSettings(page);
        await flip(page, 'sound', true);
        await ctx.grantPermissions(['notifications'], {origin: env.base()});
        await flip(page, 'desktop', true);
        await page.keyboard.press('Escape');

        await mates.send(ana, me, 'while you are away');
        await waitMessage(page, 'while you are away');
        assert.equal(await page.title(), title, 'a shown tab keeps its title');

        await setHidden(page, true);
        await waitTitle(page, '(1) ' + title);
        await mates.send(ana, me, 'second one');
        await waitTitle(page, '(2) ' + title);
        await waitMessage(page, 'second one');
        // Bruno writes for the first time: his conversation is new to the list, muted once the list is back.
        const before = await alertsOf(page);
        await mates.send(bruno, me, 'muted hello');
        await waitMessage(page, 'muted hello');
        await page.waitForFunction((id) => window.dockchat.state.panel.items.some((c) => c.with && c.with.id === id && c.muted),
            bruno.id, {timeout: T});
        await page.waitForTimeout(500);
        assert.equal(await page.title(), '(2) ' + title, 'a muted conversation is not counted');
        const after = await alertsOf(page);
        assert.equal(after.tones, before.tones, 'a muted conversation plays no sound');
        assert.equal(after.notes.length, before.notes.length, 'a muted conversation shows no notification');
        assert.ok(before.notes.length >= 1 && before.tones >= 2, 'Ana\'s messages alerted: ' + JSON.stringify(before));

        await setHidden(page, false);
        await waitTitle(page, title);

        // Hidden again, then the messages are read in another tab: the count drops to 0 and the title is back.
        await setHidden(page, true);
        await waitTitle(page, '(2) ' + title);
        const other = await openAs(ctx, env.base(), me, errors, {tab: 'chats'});
        await other.locator(`[data-region="conversations"] [data-action="open-chat"][data-window="${ana.id}"]`).click({timeout: T});
        await other.locator(winSel(ana) + ' [data-region="input"]').waitFor({timeout: T});
        await waitTitle(page, title);
        await other.close();
        await setHidden(page, false);
        assert.deepEqual(errors, []);
    } finally {
        await mates.close();
        await ctx.close();
    }
});

test('desktop: the sound plays only when on, at most once in a few seconds; the choice survives a reload', {timeout: 120000}, async() => {
    const users = await demoUsers(env.base());
    const me = users.byId(7);
    const [ana] = users.mates(me).filter((u) => u.id !== 6);
    const errors = [];
    const ctx = await newContext(DESKTOP);
    const mates = await presence(await env.browser().newContext(), env.base(), [ana]);
    try {
        let page = await openAs(ctx, env.base(), me, errors, {tab: 'chats'});
        await setHidden(page, true);
        await mates.send(ana, me, 'sound is off');
        await waitMessage(page, 'sound is off');
        assert.equal((await alertsOf(page)).tones, 0, 'no sound while the preference is off');
        await setHidden(page, false);

        // From the keyboard: the gear opens the menu on its first toggle, Space turns it on, Escape closes.
        await page.locator('[data-action="toggle-settings"]').focus();
        await page.keyboard.press('Enter');
        await page.locator('[data-region="settings-menu"]').waitFor({state: 'visible', timeout: T});
        assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-pref')), 'sound');
        await page.keyboard.press('Space');
        await page.waitForFunction(() => document.querySelector('[data-pref="sound"]').checked, null, {timeout: T});
        await shot(page, 'alerts-settings-desktop.png');
        await page.keyboard.press('Escape');
        await page.locator('[data-region="settings-menu"]').waitFor({state: 'hidden', timeout: T});
        assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-action')), 'toggle-settings');

        await setHidden(page, true);
        await mates.send(ana, me, 'sound is on');
        await waitMessage(page, 'sound is on');
        let seen = await alertsOf(page);
        assert.equal(seen.tones, 2, 'one chime (two tones)');
        assert.equal(seen.states[0], 'running', 'the toggle\'s click let the audio start');
        await mates.send(ana, me, 'right after');
        await waitMessage(page, 'right after');
        assert.equal((await alertsOf(page)).tones, 2, 'a burst chimes once');

        // The demo keeps the preference as Moodle would keep it for the user: after a reload it is still on.
        await page.close();
        page = await openAs(ctx, env.base(), me, errors, {tab: 'chats'});
        await openSettings(page);
        assert.equal(await toggle(page, 'sound').isChecked(), true);
        await page.keyboard.press('Escape');
        await setHidden(page, true);
        await mates.send(ana, me, 'after the reload');
        await waitMessage(page, 'after the reload');
        seen = await alertsOf(page);
        assert.equal(seen.tones, 2, 'the sound is still on');

        // Off again: silent.
        await setHidden(page, false);
        await openSettings(page);
        await flip(page, 'sound', false);
        await setHidden(page, true);
        await mates.send(ana, me, 'off again');
        await waitMessage(page, 'off again');
        assert.equal((await alertsOf(page)).tones, 2);
        assert.deepEqual(errors, []);
    } finally {
        await mates.close();
        await ctx.close();
    }
});

test('desktop: notifications only after the toggle\'s click and a granted permission, only while hidden; a click opens the chat', {timeout: 120000}, async() => {
    const users = await demoUsers(env.base());
    const me = users.byId(9);
    const [ana] = users.mates(me).filter((u) => ![6, 7].includes(u.id));
    const errors = [];
    const ctx = await newContext(DESKTOP);
    // The browser allows this site already: still nothing shows until the user turns the toggle on.
    await ctx.grantPermissions(['notifications'], {origin: env.base()});
    const mates = await presence(await env.browser().newContext(), env.base(), [ana]);
    try {
        let page = await openAs(ctx, env.base(), me, errors, {tab: 'chats'});
        await setHidden(page, true);
        await mates.send(ana, me, 'before any choice');
        await waitMessage(page, 'before any choice');
        let seen = await alertsOf(page);
        assert.equal(seen.asks, 0, 'the permission is never asked for on load');
        assert.equal(seen.notes.length, 0, 'no notification before the toggle');
        await setHidden(page, false);

        await openSettings(page);
        await toggle(page, 'desktop').click({timeout: T});
        await page.waitForFunction(() => document.querySelector('[data-pref="desktop"]').checked, null, {timeout: T});
        assert.equal((await alertsOf(page)).asks, 0, 'granted already: no prompt');
        await page.keyboard.press('Escape');

        await mates.send(ana, me, 'you can see me');
        await waitMessage(page, 'you can see me');
        assert.equal((await alertsOf(page)).notes.length, 0, 'no notification while the tab is shown');

        await setHidden(page, true);
        await mates.send(ana, me, 'look here\n  second line');
        await waitMessage(page, 'look here\n  second line');
        seen = await alertsOf(page);
        assert.equal(seen.notes.length, 1);
        assert.deepEqual(seen.notes[0], {title: ana.fullname, body: 'look here second line', tag: 'block_dockchat_' + ana.id});

        // The notification's click brings the tab forward and opens the conversation.
        await setHidden(page, false);
        await page.evaluate(() => window.__alerts.notes[0].onclick());
        await page.waitForFunction((sel) => {
            const w = document.querySelector(sel);
            return w && !w.classList.contains('is-minimised') && w.contains(document.activeElement);
        }, winSel(ana), {timeout: T});
        assert.equal(await page.evaluate(() => window.__alerts.notes[0].closed), true);

        // On after a reload too, and still nothing on load.
        await page.close();
        page = await openAs(ctx, env.base(), me, errors, {tab: 'chats'});
        await page.waitForTimeout(500);
        seen = await alertsOf(page);
        assert.equal(seen.asks, 0);
        assert.equal(seen.notes.length, 0);
        await openSettings(page);
        assert.equal(await toggle(page, 'desktop').isChecked(), true);
        await page.keyboard.press('Escape');
        await setHidden(page, true);
        await mates.send(ana, me, 'after the reload');
        await waitMessage(page, 'after the reload');
        assert.equal((await alertsOf(page)).notes.length, 1);
        assert.deepEqual(errors, []);
    } finally {
        await mates.close();
        await ctx.close();
    }
});

test('desktop: a permission the browser refuses leaves the toggle off and says why', {timeout: 60000}, async() => {
    const users = await demoUsers(env.base());
    const me = users.byId(10);
    const errors = [];
    const ctx = await newContext(DESKTOP);
    try {
        const page = await openAs(ctx, env.base(), me, errors, {tab: 'chats'});
        // Headless Chromium answers a permission prompt nobody granted with 'denied'.
        await openSettings(page);
        await toggle(page, 'desktop').click({timeout: T});
        await page.locator('[data-region="desktop-hint"]').waitFor({state: 'visible', timeout: T});
        assert.equal(await toggle(page, 'desktop').isChecked(), false);
        assert.equal((await alertsOf(page)).asks, 1);
        assert.match(await page.locator('[data-region="desktop-hint"]').textContent(), /blocks notifications/);
        assert.equal(await page.evaluate(() => localStorage.getItem('dockchat-demo-prefs-10')), null, 'nothing saved');
        await shot(page, 'alerts-desktop-blocked.png');
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

test('phone: the settings and the title count work at a phone\'s size', {timeout: 120000}, async() => {
    const users = await demoUsers(env.base());
    const me = users.byId(11);
    const [ana] = users.mates(me).filter((u) => ![6, 7, 9, 10].includes(u.id));
    const errors = [];
    const ctx = await newContext(PHONE);
    const mates = await presence(await env.browser().newContext(), env.base(), [ana]);
    try {
        const page = await openAs(ctx, env.base(), me, errors, {tab: 'chats'});
        const title = await page.title();
        const gear = page.locator('[data-action="toggle-settings"]');
        await gear.scrollIntoViewIfNeeded({timeout: T});
        await gear.tap({timeout: T});
        const menu = page.locator('[data-region="settings-menu"]');
        await menu.waitFor({state: 'visible', timeout: T});
        const box = await menu.boundingBox();
        assert.ok(box.x >= 0 && box.x + box.width <= 390, 'the menu fits the screen: ' + JSON.stringify(box));
        await toggle(page, 'sound').tap({timeout: T});
        await page.waitForFunction(() => document.querySelector('[data-pref="sound"]').checked, null, {timeout: T});
        await shot(page, 'alerts-settings-phone.png');
        // A tap elsewhere closes the menu.
        await page.locator('#page-content h1').tap({timeout: T});
        await menu.waitFor({state: 'hidden', timeout: T});

        await setHidden(page, true);
        await mates.send(ana, me, 'on the phone');
        await waitTitle(page, '(1) ' + title);
        await waitMessage(page, 'on the phone');
        assert.equal((await alertsOf(page)).tones, 2);
        await setHidden(page, false);
        await waitTitle(page, title);
        assert.deepEqual(errors, []);
    } finally {
        await mates.close();
        await ctx.close();
    }
});

test('fixture Moodle page: a toggle saves a Moodle user preference through core_user_update_user_preferences, the next page has it', {timeout: 120000}, async() => {
    const users = await demoUsers(env.base());
    const me = users.byId(12) || users.users[users.users.length - 1];
    const moodle = {preferences: {}, calls: []};
    const ctx = await newContext(DESKTOP);
    const errors = [];
    try {
        const url = await installMoodleFixture(ctx, env.base(), me.id, moodle);
        let page = await ctx.newPage();
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(url, {timeout: T});
        await page.locator('[data-region="block_dockchat-online"] [data-action="toggle-settings"]').waitFor({timeout: T});
        await page.waitForFunction(() => window.require && document.querySelector('.block_dockchat-dock'), null, {timeout: T});
        await openSettings(page);
        assert.equal(await toggle(page, 'sound').isChecked(), false);
        await flip(page, 'sound', true);
        const deadline = Date.now() + T;
        while (!moodle.calls.length && Date.now() < deadline) {
            await page.waitForTimeout(100);
        }
        assert.deepEqual(moodle.calls, [{methodname: 'core_user_update_user_preferences',
            args: {preferences: [{type: 'block_dockchat_sound', value: '1'}]}}]);
        assert.equal(moodle.preferences.block_dockchat_sound, '1');

        await page.close();
        page = await ctx.newPage();
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(url, {timeout: T});
        await page.locator('.block_dockchat-dock').waitFor({state: 'attached', timeout: T});
        await openSettings(page);
        await page.waitForFunction(() => document.querySelector('[data-pref="sound"]').checked, null, {timeout: T});
        assert.equal(await toggle(page, 'desktop').isChecked(), false);
        assert.equal((await alertsOf(page)).asks, 0);
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close();
    }
});

// One socket per browser for all the tabs of a user (issue 15 item 5), in headless Chromium against
// `dockchatd demo`: five tabs hold one WebSocket; a message sent from a tab without the socket goes out
// through the one that has it and is acknowledged in the tab that sent it; when the tab with the socket
// closes, another takes it over and resumes, so a message sent meanwhile arrives once; a browser without
// BroadcastChannel keeps a socket per tab, as before.
import {test, before, after} from 'node:test';
import {setup, demoUsers, openAs, presence, closeAll, winSel, shot, assert, T, DESKTOP} from './harness.mjs';

const env = setup('dockchatd-demo-tabs.log');
before(() => env.start(), {timeout: 25 * 60 * 1000});
after(() => env.stop());

const cast = async() => {
    const u = await demoUsers(env.base());
    const me = u.byId(5);
    return {me, mates: u.mates(me)};
};

/** Count the chat sockets the pages of a context open (every page, from its creation). */
const countSockets = (ctx) => {
    const opened = [];
    ctx.on('page', (page) => page.on('websocket', (ws) => {
        if (/\/ws$/.test(new URL(ws.url()).pathname)) {
            opened.push(ws.url());
        }
    }));
    return () => opened.length;
};

const role = (page) => page.evaluate(() => window.dockchat.transport.role);

/** Messages of a window whose text is exactly `text`, and whether each is still pending. */
const bubbles = (page, peer, text) => page.locator(`${winSel(peer)} .block_dockchat-msg`).evaluateAll((els, t) => els
    .filter((el) => el.querySelector('[data-region="text"]') && el.querySelector('[data-region="text"]').textContent === t)
    .map((el) => (el.classList.contains('is-pending') ? 'pending' : 'sent')), text);

/** Wait until every page shows `text` in the window onto `peer` exactly once, delivered. */
const shownOnce = async(pages, peer, text) => {
    for (const page of pages) {
        await page.waitForFunction(([sel, t]) => {
            const found = [...document.querySelectorAll(sel + ' .block_dockchat-msg')]
                .filter((el) => (el.querySelector('[data-region="text"]') || {}).textContent === t);
            return found.length === 1 && !found[0].classList.contains('is-pending');
        }, [winSel(peer), text], {timeout: T});
    }
    await pages[0].waitForTimeout(700);
    for (const page of pages) {
        assert.deepEqual(await bubbles(page, peer, text), ['sent'], `"${text}" once, delivered, in every tab`);
    }
};

const typeAndSend = async(page, peer, text) => {
    const input = page.locator(`${winSel(peer)} [data-region="input"]`);
    await input.waitFor({state: 'visible', timeout: T});
    await input.fill(text);
    await input.press('Enter');
};

test('five tabs hold one socket; a send from a tab without it is delivered and acknowledged in that tab', {timeout: 120000}, async() => {
    const {me, mates} = await cast();
    const mate = mates[0];
    const errors = [];
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(DESKTOP);
    const sockets = countSockets(ctx);
    try {
        const online = await presence(others, env.base(), [mate]);
        const tabs = [];
        for (let i = 0; i < 5; i++) {
            tabs.push(await openAs(ctx, env.base(), me, errors));
        }
        await tabs[0].waitForTimeout(1000);
        assert.equal(sockets(), 1, 'five tabs, one WebSocket');
        const roles = await Promise.all(tabs.map(role));
        assert.deepEqual(roles.slice().sort(), ['follower', 'follower', 'follower', 'follower', 'leader'], roles.join());
        await closeAll(tabs[0]);
        const follower = tabs[roles.lastIndexOf('follower')];
        // Every tab shows the window the follower opens, and its history (asked for through the leader).
        await follower.locator(`.block_dockchat-user[data-userid="${mate.id}"] button`).click();
        for (const tab of tabs) {
            await tab.locator(winSel(mate)).waitFor({state: 'attached', timeout: T});
        }
        const text = 'sent from a tab without the socket';
        await typeAndSend(follower, mate, text);
        await shownOnce(tabs, mate, text);
        const acked = await follower.evaluate(([id, t]) => {
            const m = window.dockchat.state.convs[id].messages.find((x) => x.text === t);
            return {id: m && m.id > 0, cid: m && m.cid !== '', pending: window.dockchat.transport.pending.length};
        }, [mate.id, text]);
        assert.deepEqual(acked, {id: true, cid: true, pending: 0}, 'acknowledged in the sending tab');
        // The other user got it and reads it: 'Seen' in the sending tab (a frame passed on by the leader).
        await online.read(mate, me);
        await follower.locator(`${winSel(mate)} [data-region="seen"]`).waitFor({state: 'visible', timeout: T});
        // A message to me reaches every tab once.
        await online.send(mate, me, 'to all five tabs');
        await shownOnce(tabs, mate, 'to all five tabs');
        assert.equal(sockets(), 1, 'still one WebSocket');
        await shot(follower, 'desktop-tabs-follower-sent.png');
        // A tab that loads again joins the socket: the welcome it gets is the leader's state, and its
        // history comes through the leader; no second socket, nothing doubled.
        await follower.reload({timeout: T});
        await follower.waitForFunction(() => window.dockchat && window.dockchat.transport.role === 'follower'
            && window.dockchat.state.welcomed, null, {timeout: T});
        await shownOnce([follower], mate, 'to all five tabs');
        await shownOnce([follower], mate, text);
        assert.equal(await follower.locator('.block_dockchat-user').count(), 1, 'the online list from the leader\'s welcome');
        assert.equal(sockets(), 1, 'a tab that loads again opens no socket');
        await closeAll(tabs[0]);
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

test('closing the tab with the socket: another takes it over and resumes; messages sent meanwhile arrive once', {timeout: 120000}, async() => {
    const {me, mates} = await cast();
    const mate = mates[1];
    const errors = [];
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(DESKTOP);
    const sockets = countSockets(ctx);
    // The hello of a new socket can be held back: the time between the leader's going and the new leader's
    // resume, made long enough to send messages in it.
    let holdHello = false;
    const heldHellos = [];
    await ctx.routeWebSocket(/\/ws/, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage((data) => {
            if (holdHello && JSON.parse(data).type === 'hello') {
                heldHellos.push(() => server.send(data));
            } else {
                server.send(data);
            }
        });
    });
    try {
        const online = await presence(others, env.base(), [mate]);
        const tabs = [];
        for (let i = 0; i < 3; i++) {
            tabs.push(await openAs(ctx, env.base(), me, errors));
        }
        await closeAll(tabs[0]);
        await tabs[0].evaluate((id) => window.dockchat.onIntent({type: 'open', peer: id}), mate.id);
        for (const tab of tabs) {
            await tab.locator(winSel(mate)).waitFor({state: 'attached', timeout: T});
        }
        await online.send(mate, me, 'before the leader goes');
        await shownOnce(tabs, mate, 'before the leader goes');
        const roles = await Promise.all(tabs.map(role));
        const leader = tabs[roles.indexOf('leader')];
        const rest = tabs.filter((t) => t !== leader);

        holdHello = true;
        await leader.close();
        const deadline = Date.now() + T;
        while (!heldHellos.length && Date.now() < deadline) {
            await rest[0].waitForTimeout(50);
        }
        assert.equal(heldHellos.length, 1, 'a remaining tab opened the socket');
        const newRoles = await Promise.all(rest.map(role));
        assert.deepEqual(newRoles.slice().sort(), ['follower', 'leader']);
        const follower = rest[newRoles.indexOf('follower')];
        // Meanwhile: the other user writes, and a tab without the socket sends.
        await online.send(mate, me, 'sent while no tab had the socket');
        await typeAndSend(follower, mate, 'queued while no tab had the socket');
        await follower.waitForTimeout(500);
        holdHello = false;
        heldHellos.splice(0).forEach((send) => send());

        await shownOnce(rest, mate, 'sent while no tab had the socket');
        await shownOnce(rest, mate, 'queued while no tab had the socket');
        await shownOnce(rest, mate, 'before the leader goes');
        assert.equal(sockets(), 2, 'one socket per leader');
        await shot(follower, 'desktop-tabs-after-takeover.png');
        await closeAll(rest[0]);
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

test('without BroadcastChannel each tab keeps a socket of its own, and the tabs stay in step', {timeout: 90000}, async() => {
    const {me, mates} = await cast();
    const mate = mates[2];
    const errors = [];
    const others = await env.browser().newContext();
    const ctx = await env.browser().newContext(DESKTOP);
    await ctx.addInitScript(() => {
        delete window.BroadcastChannel;
    });
    const sockets = countSockets(ctx);
    try {
        const online = await presence(others, env.base(), [mate]);
        const tabs = [await openAs(ctx, env.base(), me, errors), await openAs(ctx, env.base(), me, errors)];
        assert.equal(sockets(), 2, 'a socket per tab');
        assert.deepEqual(await Promise.all(tabs.map(role)), [undefined, undefined], 'the plain transport');
        await closeAll(tabs[0]);
        await tabs[0].evaluate((id) => window.dockchat.onIntent({type: 'open', peer: id}), mate.id);
        await tabs[1].locator(winSel(mate)).waitFor({state: 'attached', timeout: T});
        await typeAndSend(tabs[1], mate, 'from a tab with its own socket');
        await shownOnce(tabs, mate, 'from a tab with its own socket');
        await online.send(mate, me, 'to both sockets');
        await shownOnce(tabs, mate, 'to both sockets');
        await closeAll(tabs[0]);
        await online.close();
        assert.deepEqual(errors, []);
    } finally {
        await ctx.close().catch(() => {});
        await others.close().catch(() => {});
    }
});

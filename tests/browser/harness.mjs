// Shared set-up of the browser tests: one `dockchatd demo` (built with cargo, which embeds the client),
// Debian's chromium through playwright-core, and small helpers to drive demo users.
//
// `course-mates` online without a full page each: `presence()` opens one page of the demo's origin that
// holds raw WebSockets for several demo users (tokens from POST /demo/token, as the demo page gets them),
// and can send messages as any of them.
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const artifacts = join(root, 'artifacts');
// Cargo's target directory: CARGO_TARGET_DIR when set (as cargo itself takes it), else ./target.
const daemonPath = join(process.env.CARGO_TARGET_DIR || join(root, 'target'), 'debug', 'dockchatd');
/** Bound of every single wait (ms). */
export const T = 15000;

export const DESKTOP = {viewport: {width: 1366, height: 768}};
export const PHONE = {viewport: {width: 390, height: 844}, isMobile: true, hasTouch: true};

/**
 * Start the demo (or use DOCKCHAT_E2E_URL) and the browser.
 *
 * @param {string} logName file in artifacts/ for the daemon's log
 * @returns {{base: function(): string, browser: function(): object, start: function(): Promise, stop: function(): Promise}}
 */
export const setup = (logName) => {
    let daemon = null;
    let daemonLog = '';
    let base = process.env.DOCKCHAT_E2E_URL || '';
    let browser = null;

    const startDaemon = (listen = '127.0.0.1:0', build = true) => new Promise((resolve, reject) => {
        if (build && (!existsSync(daemonPath) || !process.env.DOCKCHAT_E2E_NO_BUILD)) {
            const build = spawnSync('cargo', ['build', '--bin', 'dockchatd'], {cwd: root, stdio: 'inherit', timeout: 20 * 60 * 1000});
            if (build.status !== 0) {
                reject(new Error('cargo build failed'));
                return;
            }
        }
        daemon = spawn(daemonPath, ['demo', '--listen', listen], {cwd: root, stdio: ['ignore', 'pipe', 'pipe']});
        const timer = setTimeout(() => reject(new Error('dockchatd demo did not print its URL within 30 s:\n' + daemonLog)), 30000);
        const from = daemonLog.length;
        const onData = (chunk) => {
            daemonLog += chunk.toString();
            const m = daemonLog.slice(from).match(/dockchat demo: open (http:\/\/[^\s/]+)\/?/);
            if (m) {
                clearTimeout(timer);
                resolve(m[1]);
            }
        };
        daemon.stdout.on('data', onData);
        daemon.stderr.on('data', (chunk) => {
            daemonLog += chunk.toString();
        });
        daemon.on('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`dockchatd exited with ${code}:\n${daemonLog}`));
        });
    });

    const stopDaemon = async() => {
        if (daemon && daemon.exitCode === null) {
            daemon.removeAllListeners('exit');
            const exited = new Promise((resolve) => daemon.once('exit', resolve));
            daemon.kill('SIGTERM');
            const timer = setTimeout(() => daemon.kill('SIGKILL'), 10000);
            await exited;
            clearTimeout(timer);
        }
    };

    return {
        base: () => base,
        browser: () => browser,
        /** @returns {string} what the daemon printed so far (stdout and stderr) */
        log: () => daemonLog,
        /**
         * Stop the demo and start it again on the same address: its temporary database starts empty,
         * as after a restart of `dockchatd demo` (or a database restored from an older backup).
         *
         * @returns {Promise}
         */
        async restart() {
            assert.ok(daemon, 'restart() needs the demo started by the harness, not DOCKCHAT_E2E_URL');
            await stopDaemon();
            base = await startDaemon(new URL(base).host, false);
        },
        async start() {
            mkdirSync(artifacts, {recursive: true});
            if (!base) {
                base = await startDaemon();
            }
            browser = await chromium.launch({
                executablePath: '/usr/bin/chromium',
                args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
                timeout: 30000,
            });
        },
        async stop() {
            if (browser) {
                await browser.close().catch(() => {});
            }
            await stopDaemon();
            if (daemonLog) {
                writeFileSync(join(artifacts, logName), daemonLog);
            }
        },
    };
};

/**
 * The demo's users and helpers over them.
 *
 * @param {string} base
 * @returns {Promise<{users: object[], mates: function(object): object[], byId: function(number): object}>}
 */
export const demoUsers = async(base) => {
    const users = await (await fetch(base + '/demo/users', {signal: AbortSignal.timeout(T)})).json();
    const byId = (id) => users.find((u) => u.id === id);
    const mates = (me) => users.filter((u) => u.id !== me.id && u.courses.some((c) => me.courses.some((d) => d.id === c.id)));
    return {users, byId, mates};
};

/**
 * Open the demo page as a user and wait for the welcome.
 *
 * The block opens on its Chats tab for a user with conversations; the tests of the online list choose
 * its Online tab first (the block remembers the choice in this browser context, across reloads).
 *
 * @param {object} context playwright BrowserContext
 * @param {string} base
 * @param {object} user
 * @param {string[]} errors collects page errors and dialogs
 * @param {{tab: (string|null)}} [options] tab: the block's tab to choose ('online' by default; null: as it opens)
 * @returns {Promise<object>} the page
 */
export const openAs = async(context, base, user, errors, {tab = 'online'} = {}) => {
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(`${user.fullname}: ${e.message}`));
    page.on('dialog', (d) => {
        errors.push(`${user.fullname}: dialog ${d.type()} ${d.message()}`);
        d.dismiss().catch(() => {});
    });
    await page.goto(`${base}/?user=${user.id}`, {timeout: T});
    await page.locator('.block_dockchat-count').filter({hasText: /\d/}).waitFor({timeout: T});
    if (tab) {
        await chooseTab(page, tab);
    }
    return page;
};

/**
 * Choose a tab of the block ('chats' or 'online'), from the keyboard (on a phone the block is below the
 * course, far off the screen). Chosen even when it is shown already, so the block remembers it
 * (a reload keeps it, when the default would have changed meanwhile).
 *
 * @param {object} page
 * @param {string} tab
 * @returns {Promise}
 */
export const chooseTab = async(page, tab) => {
    const sel = `[data-region="block_dockchat-online"] [role="tab"][data-tab="${tab}"]`;
    await page.locator(sel).press('Enter', {timeout: T});
    await page.waitForFunction((s) => document.querySelector(s).getAttribute('aria-selected') === 'true', sel, {timeout: T});
};

/**
 * Demo users online through raw sockets in one page of the demo's origin.
 *
 * @param {object} context
 * @param {string} base
 * @param {object[]} users
 * @returns {Promise<{send: function(object, object, string): Promise, read: function(object, object): Promise,
 *   sendConv: function(object, number, string): Promise, typingConv: function(object, number): Promise,
 *   readConv: function(object, number): Promise, groupFrame: function(object, function): Promise<object>,
 *   close: function(): Promise}>}
 */
export const presence = async(context, base, users) => {
    const page = await context.newPage();
    await page.goto(base + '/demo/users', {timeout: T});
    await page.evaluate(async(ids) => {
        window.socks = {};
        await Promise.all(ids.map(async(id) => {
            const r = await fetch('/demo/token', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({user: id})});
            const {token, wsurl} = await r.json();
            const ws = new WebSocket(wsurl);
            window.socks[id] = ws;
            window.last = window.last || {};
            window.last[id] = {};
            // Group conversations: the newest message of another member per conversation, and every
            // message and read frame of a group received.
            window.lastConv = window.lastConv || {};
            window.lastConv[id] = {};
            window.groupFrames = window.groupFrames || {};
            window.groupFrames[id] = [];
            await new Promise((resolve, reject) => {
                ws.onmessage = (e) => {
                    const f = JSON.parse(e.data);
                    if (f.type === 'welcome') {
                        resolve();
                    } else if (f.type === 'message' && f.message.to === 0) {
                        window.groupFrames[id].push(f);
                        if (f.message.from !== id) {
                            window.lastConv[id][f.message.conv] = f.message.id;
                        }
                    } else if (f.type === 'message' && f.message.from !== id) {
                        window.last[id][f.message.from] = f.message.id;
                    } else if ((f.type === 'read' || f.type === 'typing') && f.conv) {
                        window.groupFrames[id].push(f);
                    }
                };
                ws.onerror = () => reject(new Error('socket of ' + id));
                ws.onopen = () => ws.send(JSON.stringify({type: 'hello', v: 1, token}));
            });
        }));
    }, users.map((u) => u.id));
    return {
        send: (from, to, text) => page.evaluate(([f, t, x]) => {
            window.socks[f].send(JSON.stringify({type: 'send', to: t, cid: 'p' + Math.random().toString(36).slice(2), text: x}));
        }, [from.id, to.id, text]),
        /** `from` writes to a group conversation (Moodle's conversation id). */
        sendConv: (from, conv, text) => page.evaluate(([f, c, x]) => {
            window.socks[f].send(JSON.stringify({type: 'send', conv: c, cid: 'p' + Math.random().toString(36).slice(2), text: x}));
        }, [from.id, conv, text]),
        /** `from` is typing in a group conversation. */
        typingConv: (from, conv) => page.evaluate(([f, c]) => {
            window.socks[f].send(JSON.stringify({type: 'typing', conv: c}));
        }, [from.id, conv]),
        /** `user` reads a group conversation up to the newest message of another member (once one arrived). */
        readConv: async(user, conv) => {
            await page.waitForFunction(([u, c]) => !!window.lastConv[u][c], [user.id, conv], {timeout: T});
            await page.evaluate(([u, c]) => {
                window.socks[u].send(JSON.stringify({type: 'read', conv: c, upto: window.lastConv[u][c]}));
            }, [user.id, conv]);
        },
        /**
         * Wait until `user` has received a group conversation's frame that matches (`message` and `read`,
         * `typing` frames with `conv`).
         *
         * @param {object} user
         * @param {function(object): boolean} match runs in the page (no closures)
         * @returns {Promise<object>} the frame
         */
        groupFrame: async(user, match) => {
            const handle = await page.waitForFunction(([u, fn]) => window.groupFrames[u].find(new Function('f', 'return (' + fn + ')(f)')),
                [user.id, match.toString()], {timeout: T});
            return handle.jsonValue();
        },
        /** `user` reads everything `peer` sent them (once it has arrived). */
        read: async(user, peer) => {
            await page.waitForFunction(([u, p]) => !!window.last[u][p], [user.id, peer.id], {timeout: T});
            await page.evaluate(([u, p]) => {
                window.socks[u].send(JSON.stringify({type: 'read', with: p, upto: window.last[u][p]}));
            }, [user.id, peer.id]);
        },
        close: () => page.close(),
    };
};

/**
 * Close every window the user has (the demo keeps them between tests), from this page.
 *
 * @param {object} page
 * @returns {Promise}
 */
export const closeAll = async(page) => {
    await page.waitForTimeout(300);
    await page.evaluate(() => {
        const c = window.dockchat;
        c.state.windows.forEach((w) => c.onIntent({type: 'close', peer: w.peer}));
    });
    await page.locator('[data-region="window"]').first().waitFor({state: 'detached', timeout: T});
};

/** @returns {string} a locator string for a user's window */
export const winSel = (peer) => `[data-region="window"][data-peerid="${peer.id}"]`;

/**
 * Whether the centre of an element is the top-most thing there (nothing of the dock covers it).
 *
 * @param {object} locator
 * @returns {Promise<boolean>}
 */
export const isUncovered = (locator) => locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !!hit && (hit === el || el.contains(hit));
});

/**
 * Save a screenshot into artifacts/.
 *
 * @param {object} page
 * @param {string} name
 * @returns {Promise}
 */
export const shot = (page, name) => page.screenshot({path: join(artifacts, name), timeout: T});

export {assert};

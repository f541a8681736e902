// Unit tests of presence in the client (issue 12 item 4, PROTOCOL §5.2): a tab's activity (idle after 5 minutes
// without input, hidden with the document), the state's away and last seen, and the relative time strings.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createActivityMonitor, combineActivity, IDLE_MS} from '../../moodle-block/amd/src/activity.js';
import {initialState, reduce, presenceOf} from '../../moodle-block/amd/src/state.js';
import {lastSeenText, presenceText, makeStr} from '../../moodle-block/amd/src/strings.js';

const fakeView = () => {
    let now = 1_000_000;
    const timers = new Map();
    let seq = 0;
    const listeners = {};
    const docListeners = {};
    const view = {
        document: {
            visibilityState: 'visible',
            addEventListener: (t, fn) => (docListeners[t] = docListeners[t] || []).push(fn),
            removeEventListener: () => {},
        },
        addEventListener: (t, fn) => (listeners[t] = listeners[t] || []).push(fn),
        removeEventListener: () => {},
    };
    return {
        view,
        now: () => now,
        timers: {
            setTimeout: (fn, ms) => {
                timers.set(++seq, {at: now + ms, fn});
                return seq;
            },
            clearTimeout: (id) => timers.delete(id),
        },
        advance(ms) {
            const end = now + ms;
            for (;;) {
                const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((x, y) => x[1].at - y[1].at)[0];
                if (!due) {
                    break;
                }
                timers.delete(due[0]);
                now = due[1].at;
                due[1].fn();
            }
            now = end;
        },
        input: (type) => (listeners[type] || []).forEach((fn) => fn({type})),
        setVisibility(v) {
            view.document.visibilityState = v;
            (docListeners.visibilitychange || []).forEach((fn) => fn({}));
        },
    };
};

test('a tab is idle after 5 minutes without input, active again on input, hidden with the document', () => {
    const env = fakeView();
    const seen = [];
    const m = createActivityMonitor({view: env.view, timers: env.timers, now: env.now, onChange: (s) => seen.push(s)});
    assert.equal(m.state, 'active');
    env.advance(IDLE_MS - 1000);
    env.input('pointermove');
    env.advance(IDLE_MS - 1000);
    assert.deepEqual(seen, [], 'input pushes idleness back');
    env.advance(1000);
    assert.deepEqual(seen, ['idle']);
    env.input('keydown');
    assert.deepEqual(seen, ['idle', 'active']);
    env.setVisibility('hidden');
    env.input('wheel');
    assert.deepEqual(seen, ['idle', 'active', 'hidden'], 'input in a hidden tab does not make it active');
    env.advance(IDLE_MS * 3);
    assert.equal(m.state, 'hidden');
    env.setVisibility('visible');
    assert.deepEqual(seen, ['idle', 'active', 'hidden', 'active'], 'coming back to the tab counts as input');
    m.stop();
});

test('tabs together: active if one is, idle if one is, else hidden', () => {
    assert.equal(combineActivity(['hidden', 'idle', 'active']), 'active');
    assert.equal(combineActivity(['hidden', 'idle']), 'idle');
    assert.equal(combineActivity(['hidden', 'hidden']), 'hidden');
});

test('state: away keeps a course-mate listed with its status; offline remembers when they were last seen', () => {
    const ana = {id: 7, fullname: 'Ana Lima', avatar: 'a'};
    let s = reduce(initialState(9), {type: 'welcome', frame: {type: 'welcome', user: {id: 9, fullname: 'Me'},
        online: [Object.assign({status: 'online'}, ana)], windows: [{with: {id: 8, fullname: 'Bo', avatar: ''},
            state: 'open', status: 'offline', last_seen: 1000}]}});
    assert.deepEqual(presenceOf(s, 7), {status: 'online', lastSeen: 0});
    assert.deepEqual(presenceOf(s, 8), {status: 'offline', lastSeen: 1000}, 'from the welcome\'s window');
    s = reduce(s, {type: 'presence', user: ana, status: 'away'});
    assert.deepEqual(s.online.map((p) => [p.id, p.status]), [[7, 'away']]);
    assert.equal(presenceOf(s, 7).status, 'away');
    s = reduce(s, {type: 'presence', user: ana, status: 'offline', lastSeen: 2000});
    assert.deepEqual(s.online, []);
    assert.deepEqual(presenceOf(s, 7), {status: 'offline', lastSeen: 2000});
    s = reduce(s, {type: 'people', frame: {type: 'people', query: 'bo', items: [{id: 8, fullname: 'Bo', avatar: '',
        online: false, status: 'offline', last_seen: 3000}]}});
    assert.equal(presenceOf(s, 8).lastSeen, 3000, 'a search answer brings a newer last seen');
});

test('last seen in words, with plural forms', () => {
    const str = makeStr({lastseenjustnow: 'Last seen just now', lastseenminutesone: 'Last seen {$a} minute ago',
        lastseenminutesmany: 'Last seen {$a} minutes ago', lastseenhoursone: 'Last seen {$a} hour ago',
        lastseenhoursmany: 'Last seen {$a} hours ago', lastseendaysone: 'Last seen {$a} day ago',
        lastseendaysmany: 'Last seen {$a} days ago', online: 'Online', away: 'Away', offline: 'Offline'});
    const now = 1_000_000 * 1000;
    const at = (secs) => lastSeenText(str, 1_000_000 - secs, now);
    assert.equal(at(20), 'Last seen just now');
    assert.equal(at(-30), 'Last seen just now', 'a clock slightly behind the server\'s');
    assert.equal(at(60), 'Last seen 1 minute ago');
    assert.equal(at(5 * 60 + 59), 'Last seen 5 minutes ago');
    assert.equal(at(3600), 'Last seen 1 hour ago');
    assert.equal(at(3 * 3600), 'Last seen 3 hours ago');
    assert.equal(at(86400), 'Last seen 1 day ago');
    assert.equal(at(40 * 86400), 'Last seen 40 days ago');
    assert.equal(presenceText(str, {status: 'away', lastSeen: 0}, now), 'Away');
    assert.equal(presenceText(str, {status: 'offline', lastSeen: 0}, now), 'Offline', 'unknown: just offline');
    assert.equal(presenceText(str, {status: 'offline', lastSeen: 1_000_000 - 300}, now), 'Last seen 5 minutes ago');
});

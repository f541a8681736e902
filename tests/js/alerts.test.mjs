// Unit tests of the background alerts (moodle-block/amd/src/alerts.js) and of the controller's alert
// preferences (dock.js): the count the title shows, what a message calls for, muted conversations, the
// preferences' changes and their save, and the permission asked for only from the toggle.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {alertUnread, alertDecision, isMutedKey, titleWithCount, createAlerts} from '../../moodle-block/amd/src/alerts.js';
import {initialState, reduce} from '../../moodle-block/amd/src/state.js';
import {createController} from '../../moodle-block/amd/src/dock.js';

const ME = 9;
const ana = {id: 7, fullname: 'Ana Lima', avatar: 'a'};
const bruno = {id: 8, fullname: 'Bruno Barros', avatar: 'b'};

const flush = async() => {
    for (let i = 0; i < 10; i++) {
        await Promise.resolve();
    }
};

const list = (items) => ({type: 'conversations', frame: {offset: 0, total: items.length, more: false, items}});
const item = (conv, who, unread, muted) => ({conv, type: 'individual', with: who, name: who.fullname, members: 2,
    last: {id: conv * 10, conv, from: who.id, to: ME, text: 'x', time: 1}, unread, favourite: false, muted, online: true});
const message = (id, from, conv) => ({type: 'message', message: {id, conv, from, to: ME, text: 'hi ' + id, time: 1}, sender: from === ana.id ? ana : bruno});

const welcomed = () => reduce(initialState(ME), {type: 'welcome', frame: {user: {id: ME, fullname: 'Me'}, online: [], windows: [], cursor: 0}});

test('the title counts unread messages of the list without muted conversations, plus those the list lacks', () => {
    let s = reduce(welcomed(), list([item(101, ana, 2, false), item(102, bruno, 5, true)]));
    assert.equal(alertUnread(s), 2);
    // A message from someone the list does not hold yet counts from the page's conversation.
    s = reduce(s, {type: 'message', message: {id: 500, conv: 103, from: 4, to: ME, text: 'new', time: 2}, sender: {id: 4, fullname: 'Cid'}});
    assert.equal(alertUnread(s), 3);
    assert.equal(isMutedKey(s, bruno.id, 102), true);
    assert.equal(isMutedKey(s, ana.id), false);
    assert.equal(isMutedKey(s, 4, 103), null);
    assert.equal(titleWithCount('Course', 3), '(3) Course');
    assert.equal(titleWithCount('Course', 0), 'Course');
});

test('a message calls for a sound when it would not be seen, a notification only while hidden and allowed', () => {
    const on = {sound: true, desktop: true};
    assert.deepEqual(alertDecision(on, {hidden: true, open: true, muted: false, permission: 'granted'}), {sound: true, desktop: true});
    assert.deepEqual(alertDecision(on, {hidden: false, open: false, muted: false, permission: 'granted'}), {sound: true, desktop: false});
    assert.deepEqual(alertDecision(on, {hidden: false, open: true, muted: false, permission: 'granted'}), {sound: false, desktop: false});
    assert.deepEqual(alertDecision(on, {hidden: true, open: false, muted: false, permission: 'default'}), {sound: true, desktop: false});
    assert.deepEqual(alertDecision(on, {hidden: true, open: false, muted: true, permission: 'granted'}), {sound: false, desktop: false});
    assert.deepEqual(alertDecision({sound: false, desktop: false}, {hidden: true, open: false, muted: false, permission: 'granted'}),
        {sound: false, desktop: false});
});

/** A window stand-in: a document whose visibility the test sets, a recording AudioContext and Notification. */
const fakeView = () => {
    const listeners = {};
    const doc = {
        title: 'Course',
        hidden: false,
        visibilityState: 'visible',
        documentElement: {lang: 'en'},
        addEventListener: (t, fn) => (listeners[t] = listeners[t] || []).push(fn),
        removeEventListener: () => {},
    };
    const timers = [];
    const view = {
        document: doc,
        tones: 0,
        notes: [],
        focused: 0,
        focus() {
            this.focused++;
        },
        setTimeout: (fn) => timers.push(fn),
        runTimers: () => timers.splice(0).forEach((fn) => fn()),
        setHidden(h) {
            doc.hidden = h;
            doc.visibilityState = h ? 'hidden' : 'visible';
            (listeners.visibilitychange || []).forEach((fn) => fn());
        },
    };
    view.AudioContext = class {
        constructor() {
            this.state = 'running';
            this.currentTime = 0;
            this.destination = {};
        }
        createOscillator() {
            view.tones++;
            return {frequency: {}, connect() {}, start() {}, stop() {}};
        }
        createGain() {
            return {gain: {setValueAtTime() {}, exponentialRampToValueAtTime() {}}, connect() {}};
        }
    };
    view.Notification = class {
        constructor(title, options) {
            view.notes.push({title, options, note: this});
        }
        close() {}
    };
    view.Notification.permission = 'granted';
    return view;
};

const str = (key, a) => (a && typeof a === 'object' ? key + ':' + a.name + '/' + a.group : key);

test('the title shows the count only while hidden, and comes back exactly', () => {
    const view = fakeView();
    const alerts = createAlerts({view, str, userid: ME});
    let s = reduce(welcomed(), list([item(101, ana, 2, false)]));
    alerts.update(s);
    assert.equal(view.document.title, 'Course');
    view.setHidden(true);
    assert.equal(view.document.title, '(2) Course');
    s = reduce(s, message(1020, ana.id, 101));
    alerts.update(s);
    assert.equal(view.document.title, '(3) Course');
    view.setHidden(false);
    assert.equal(view.document.title, 'Course');
});

test('sound and notification follow the preferences; muted conversations and my own messages never alert', () => {
    const view = fakeView();
    let now = 0;
    const opened = [];
    const alerts = createAlerts({view, str, userid: ME, now: () => now, onOpen: (peer) => opened.push(peer)});
    let s = reduce(welcomed(), list([item(101, ana, 0, false), item(102, bruno, 0, true)]));
    alerts.update(s);
    view.setHidden(true);
    alerts.arrived(ana.id, message(1020, ana.id, 101).message, ana);
    view.runTimers();
    assert.equal(view.tones, 0, 'preferences off: silent');
    assert.equal(view.notes.length, 0);

    s = reduce(s, {type: 'alertPrefs', sound: true, desktop: true});
    alerts.update(s);
    alerts.arrived(ana.id, message(1021, ana.id, 101).message, ana);
    view.runTimers();
    assert.equal(view.tones, 2, 'one chime of two tones');
    assert.equal(view.notes.length, 1);
    assert.equal(view.notes[0].title, 'Ana Lima');
    assert.equal(view.notes[0].options.body, 'hi 1021');
    view.notes[0].note.onclick();
    assert.deepEqual(opened, [ana.id]);
    assert.equal(view.focused, 1);

    now = 1000;
    alerts.arrived(ana.id, message(1022, ana.id, 101).message, ana);
    view.runTimers();
    assert.equal(view.tones, 2, 'at most one sound per few seconds');
    assert.equal(view.notes.length, 2);

    now = 10000;
    alerts.arrived(bruno.id, message(1030, bruno.id, 102).message, bruno);
    alerts.arrived(ana.id, {id: 1031, conv: 101, from: ME, to: ana.id, text: 'mine', time: 1}, null);
    view.runTimers();
    assert.equal(view.tones, 2);
    assert.equal(view.notes.length, 2);
});

test('a message of a conversation the list lacks waits for the list to say whether it is muted', () => {
    const view = fakeView();
    const alerts = createAlerts({view, str, userid: ME});
    let s = reduce(welcomed(), list([item(101, ana, 0, false)]));
    s = reduce(s, {type: 'alertPrefs', sound: true, desktop: true});
    alerts.update(s);
    view.setHidden(true);
    alerts.arrived(bruno.id, message(1030, bruno.id, 102).message, bruno);
    assert.equal(view.notes.length, 0);
    s = reduce(s, list([item(102, bruno, 1, true), item(101, ana, 0, false)]));
    alerts.update(s);
    view.runTimers();
    assert.equal(view.notes.length, 0, 'muted: nothing');
    assert.equal(view.tones, 0);
});

test('only one tab alerts for a message: the tabs claim it in localStorage', () => {
    const data = new Map();
    const storage = {getItem: (k) => (data.has(k) ? data.get(k) : null), setItem: (k, v) => data.set(k, String(v))};
    const views = [fakeView(), fakeView()];
    const s = reduce(reduce(welcomed(), list([item(101, ana, 0, false)])), {type: 'alertPrefs', sound: false, desktop: true});
    views.forEach((view) => {
        const alerts = createAlerts({view, str, userid: ME, storage});
        alerts.update(s);
        view.setHidden(true);
        alerts.arrived(ana.id, message(1020, ana.id, 101).message, ana);
        view.runTimers();
    });
    assert.equal(views[0].notes.length + views[1].notes.length, 1);
});

const fakeTransport = () => ({
    on() {},
    send: () => true,
    sendMessage: () => {},
    start() {},
    stop() {},
});
const fakeRenderer = () => ({render() {}, whenIdle: () => Promise.resolve(), focusWindow() {}, isShowingLatest: () => true});

test('the controller takes the page\'s preferences, saves a change, puts it back when the save fails', async() => {
    const saved = [];
    let fail = false;
    const errors = [];
    const c = createController({transport: fakeTransport(), renderer: fakeRenderer(), userid: ME,
        prefs: {sound: true, desktop: false},
        savePref: async(name, value) => {
            saved.push([name, value]);
            if (fail) {
                throw new Error('offline');
            }
        },
        onError: (e) => errors.push(e.message)});
    c.start();
    assert.deepEqual(c.state.alerts, {sound: true, desktop: false, permission: 'default'});
    c.onIntent({type: 'alertPref', name: 'sound', value: false});
    assert.equal(c.state.alerts.sound, false);
    await flush();
    assert.deepEqual(saved, [['sound', false]]);
    fail = true;
    c.onIntent({type: 'alertPref', name: 'sound', value: true});
    assert.equal(c.state.alerts.sound, true);
    await flush();
    assert.equal(c.state.alerts.sound, false, 'put back');
    assert.deepEqual(errors, ['offline']);
});

test('desktop notifications: the permission is asked for from the toggle only, and the preference is on once granted', async() => {
    const asked = [];
    let answer = 'granted';
    const alerts = {
        update() {},
        arrived() {},
        unlockSound() {},
        permission: () => 'default',
        requestPermission: () => {
            asked.push(1);
            return Promise.resolve(answer);
        },
    };
    const saved = [];
    const c = createController({transport: fakeTransport(), renderer: fakeRenderer(), userid: ME, alerts,
        prefs: {sound: false, desktop: false}, savePref: async(name, value) => saved.push([name, value])});
    c.start();
    assert.equal(asked.length, 0, 'never on load');
    answer = 'denied';
    c.onIntent({type: 'alertPref', name: 'desktop', value: true});
    await flush();
    assert.equal(asked.length, 1);
    assert.deepEqual(c.state.alerts, {sound: false, desktop: false, permission: 'denied'});
    assert.deepEqual(saved, []);
    answer = 'granted';
    c.onIntent({type: 'alertPref', name: 'desktop', value: true});
    await flush();
    assert.deepEqual(c.state.alerts, {sound: false, desktop: true, permission: 'granted'});
    assert.deepEqual(saved, [['desktop', true]]);
});

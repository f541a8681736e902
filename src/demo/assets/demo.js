// The dockchatd demo page: a Moodle-like course page that runs the block's very own client modules
// (served from /client/), templates (/templates/), styles (/styles.css) and strings (/lang/<lang>.json, in
// the language chosen in the user menu).
// Only the glue differs from Moodle: tokens come from POST /demo/token, templates are rendered by the
// `mustache` package with core/templates' `{{#str}}` (./templates.js), and the visitor picks who they
// are (kept per tab in sessionStorage; `?user=<id>` in the URL wins, for tests). The alert preferences,
// Moodle user preferences on a Moodle site, are kept in this browser's localStorage, per demo user.
import {startDock} from '/client/dock.js';
import {makeStr} from '/client/strings.js';
import {FIRST_RENDER_TEMPLATES} from '/client/renderer.js';
import {readPageTemplates} from '/client/pagetemplates.js';
import {render} from './templates.js';

const STORAGE_KEY = 'dockchat-demo-user';

const byId = (id) => document.getElementById(id);

const fetchJson = async(url, init) => {
    const response = await fetch(url, init);
    if (!response.ok) {
        throw new Error(`${url}: HTTP ${response.status}`);
    }
    return response.json();
};

// The templates the page carries (the daemon writes them into it, as the block does on a Moodle page: issue 15
// item 2), so a cold cache fetches none of them; any other is fetched when first asked for.
const pageTemplates = readPageTemplates(document);
const templates = new Map();
const loadTemplate = (name) => {
    if (!templates.has(name) && pageTemplates.has(`block_dockchat/${name}`)) {
        templates.set(name, Promise.resolve(pageTemplates.get(`block_dockchat/${name}`)));
    }
    if (!templates.has(name)) {
        templates.set(name, fetch(`/templates/${encodeURIComponent(name)}.mustache`).then((r) => {
            if (!r.ok) {
                throw new Error(`template ${name}: HTTP ${r.status}`);
            }
            return r.text();
        }));
    }
    return templates.get(name);
};
// What the dock's first render needs (it may draw the previous page's dock at once: issue 15), asked for now
// and all at once instead of one template after the other as the render meets them (none when the page
// carries them).
['block'].concat(FIRST_RENDER_TEMPLATES).forEach((name) => loadTemplate(name).catch(() => {}));

const chosenUser = (users) => {
    const fromUrl = Number(new URLSearchParams(location.search).get('user'));
    if (fromUrl && users.some((u) => u.id === fromUrl)) {
        sessionStorage.setItem(STORAGE_KEY, String(fromUrl));
        return fromUrl;
    }
    const stored = Number(sessionStorage.getItem(STORAGE_KEY));
    return stored && users.some((u) => u.id === stored) ? stored : 0;
};

const showPicker = (users) => new Promise((resolve) => {
    const list = byId('demo-picker-list');
    list.replaceChildren();
    users.forEach((user) => {
        const li = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'picker-user';
        button.dataset.userid = String(user.id);
        const img = document.createElement('img');
        img.src = user.avatar;
        img.alt = '';
        img.width = 40;
        img.height = 40;
        const text = document.createElement('span');
        text.className = 'picker-text';
        const name = document.createElement('strong');
        name.textContent = user.fullname;
        const meta = document.createElement('small');
        meta.textContent = `${user.role === 'teacher' ? 'Teacher' : 'Student'} · ${(user.courses || []).map((c) => c.fullname).join(', ')}`;
        text.append(name, meta);
        button.append(img, text);
        button.addEventListener('click', () => {
            sessionStorage.setItem(STORAGE_KEY, String(user.id));
            byId('demo-picker').hidden = true;
            resolve(user.id);
        });
        li.append(button);
        list.append(li);
    });
    byId('demo-picker').hidden = false;
    const first = list.querySelector('button');
    if (first) {
        first.focus();
    }
});

/** The languages the block ships; the user menu switches between them. */
const LANGS = ['en', 'pt', 'es', 'fr', 'de'];
const LANG_KEY = 'dockchat-demo-lang';

/**
 * The language to show: `?lang=` in the address, else the one chosen in this tab, else English.
 *
 * @returns {string}
 */
const chosenLang = () => {
    const asked = new URL(location.href).searchParams.get('lang') || sessionStorage.getItem(LANG_KEY);
    return LANGS.includes(asked) ? asked : 'en';
};

const main = async() => {
    // Asked for together: the strings do not wait for the users.
    const stringsLoad = fetchJson(`/lang/${chosenLang()}.json`);
    stringsLoad.catch(() => {});
    const users = await fetchJson('/demo/users');
    let userid = chosenUser(users);
    if (!userid) {
        userid = await showPicker(users);
    }
    const me = users.find((u) => u.id === userid);
    document.body.dataset.userid = String(userid);
    const lang = chosenLang();
    const strings = await stringsLoad;
    document.documentElement.lang = lang;
    const langSelect = byId('demo-lang');
    langSelect.value = lang;
    langSelect.addEventListener('change', () => {
        sessionStorage.setItem(LANG_KEY, langSelect.value);
        const url = new URL(location.href);
        url.searchParams.set('lang', langSelect.value);
        location.href = url.toString();
    });

    // Page chrome: who am I, and the course I am in.
    byId('demo-username').textContent = me.fullname;
    byId('demo-useravatar').src = me.avatar;
    byId('demo-usermenu').hidden = false;
    byId('demo-switch').addEventListener('click', () => {
        sessionStorage.removeItem(STORAGE_KEY);
        const url = new URL(location.href);
        url.searchParams.delete('user');
        location.href = url.toString();
    });
    const course = (me.courses || [])[0];
    if (course) {
        byId('demo-coursetitle').textContent = course.fullname;
        byId('demo-coursename').textContent = course.fullname;
        document.title = `Course: ${course.fullname} | dockchat demo`;
    }
    if (strings.pluginname) {
        byId('demo-blocktitle').textContent = strings.pluginname;
    }

    const renderTemplate = async(name, context) => render(await loadTemplate(name), context, strings);

    // As the site's settings would have it: `?launcher=navbar|floating|off` (block_dockchat/launcher, the navbar
    // icon by default) and `?block=0` for a page without the block (the launcher is then the way to the list).
    const params = new URL(location.href).searchParams;
    const launcher = ['navbar', 'floating', 'off'].includes(params.get('launcher')) ? params.get('launcher') : 'navbar';
    const withBlock = params.get('block') !== '0';
    const fragment = async(name, context) => {
        const tpl = document.createElement('template');
        tpl.innerHTML = await renderTemplate(name, context);
        return tpl.content;
    };
    if (launcher === 'navbar') {
        // As block_dockchat_render_navbar_output puts it beside Moodle's messages and notifications.
        byId('demo-usermenu').prepend(await fragment('navlauncher', {}));
    }

    // The block's content, as Moodle renders it, then the shared client.
    const content = byId('demo-blockcontent');
    if (withBlock) {
        content.replaceChildren(await fragment('block', {uniqid: 'demo'}));
    } else {
        byId('demo-block').remove();
    }

    const getToken = () => fetchJson('/demo/token', {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({user: userid}),
    });

    // As Moodle's user preferences: read with the page, saved when a toggle changes.
    const prefsKey = `dockchat-demo-prefs-${userid}`;
    const readPrefs = () => {
        try {
            const saved = JSON.parse(localStorage.getItem(prefsKey) || '{}');
            return {sound: saved.sound === true, desktop: saved.desktop === true};
        } catch (e) {
            return {sound: false, desktop: false};
        }
    };
    const savePref = async(name, value) => {
        localStorage.setItem(prefsKey, JSON.stringify(Object.assign(readPrefs(), {[name]: value})));
    };

    // As Moodle's core_message_set_favourite_conversations (the demo plays Moodle).
    const setStar = async(conv, star) => {
        await fetchJson('/demo/favourite', {
            method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({user: userid, conv, star}),
        });
    };

    window.dockchat = startDock({
        getToken,
        renderTemplate,
        str: makeStr(strings),
        userid,
        lang,
        blockRoot: withBlock ? content.querySelector('[data-region="block_dockchat-online"]') : null,
        launcher,
        navLauncher: document.querySelector('[data-region="block_dockchat-navlauncher"]'),
        onError: (e) => console.error(e),
        prefs: readPrefs(),
        savePref,
        setStar,
    });
};

main().catch((e) => {
    console.error(e);
    const error = byId('demo-picker-error');
    error.textContent = `The demo could not start: ${e.message}`;
    error.hidden = false;
    byId('demo-picker').hidden = false;
});

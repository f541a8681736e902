<?php
// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

namespace block_dockchat\local;

/**
 * Decides where the chat dock appears and starts its JavaScript.
 *
 * Both the block (block_dockchat::get_content) and the footer hook (hook_callbacks) go
 * through here, so the AMD module block_dockchat/main is initialised at most once per page.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class dock {
    /** @var string[] Page layouts that never get the dock: bare, transient or pre-login pages. */
    private const EXCLUDED_LAYOUTS = ['embedded', 'popup', 'print', 'redirect', 'maintenance', 'secure', 'login'];

    /** @var string Launcher setting: an icon in the navbar (block_dockchat_render_navbar_output). */
    public const LAUNCHER_NAVBAR = 'navbar';
    /** @var string Launcher setting: a round button at the bottom right of the page (the dock's own). */
    public const LAUNCHER_FLOATING = 'floating';
    /** @var string Launcher setting: none, the block only. */
    public const LAUNCHER_OFF = 'off';

    /** @var \WeakMap|null Pages on which init has been queued. */
    private static ?\WeakMap $initialised = null;

    /** @var \WeakMap|null Pages that show the block (its list is in the page's HTML). */
    private static ?\WeakMap $blockshown = null;

    /** @var \WeakMap|null Pages whose first-render templates have been written into the page. */
    private static ?\WeakMap $templatessent = null;

    /**
     * The templates of the dock's first render (the client's FIRST_RENDER_TEMPLATES in amd/src/renderer.js; a
     * unit test keeps the two lists equal). They come with the page (templates_html), so a cold cache asks
     * core/templates for none of them before the dock is drawn (issue 15 item 2).
     *
     * @var string[]
     */
    public const FIRST_RENDER_TEMPLATES = ['dock', 'window', 'message', 'day', 'online_user', 'conversation', 'head'];

    /** @var string The data-region of the element that carries the templates (read by amd/src/pagetemplates.js). */
    public const TEMPLATES_REGION = 'block_dockchat-templates';

    /**
     * The strings the dock needs on every page (the client's STRING_KEYS in amd/src/strings.js; a
     * unit test keeps the two lists equal). They come with the page through strings_for_js, so
     * core/str finds them in M.str and the dock asks for none on a cold cache.
     *
     * @var string[]
     */
    public const STRING_KEYS = [
        'charsleftmany', 'charsleftone', 'charsovermany', 'charsoverone', 'close', 'closechatwith',
        'connected', 'connecting', 'connectionlost', 'disconnected', 'error:blocked', 'error:contacts_only',
        'error:conversation_disabled', 'error:internal', 'error:messaging_disabled', 'error:no_permission',
        'error:not_contactable', 'error:not_member', 'error:rate_limited', 'error:text_too_long',
        'error:unknown', 'error:unknown_user', 'loadingolder', 'messagelist', 'messagesender', 'minimise',
        'moreconversationsmany', 'moreconversationsone', 'newmessage', 'newmessagefrom', 'newmessagesmany',
        'newmessagesone', 'nobodyonline', 'offline', 'offlinereconnecting', 'online', 'onlinecount',
        'openchatwith', 'reconnectnow', 'restore', 'retry', 'seen', 'send', 'sending', 'sessionended',
        'today', 'toolongtosend', 'typeamessage', 'typing', 'unreadcountmany', 'unreadcountone', 'yesterday',
        'you', 'membercountmany', 'membercountone', 'membersonline', 'newmessagein', 'onlinemembersmany',
        'onlinemembersone', 'seenbymany', 'seenbynames', 'seenbyone',
        'typingothersmany', 'typingothersone', 'nobodyfound', 'searching', 'chats', 'desktopallow',
        'desktopblocked', 'notificationin', 'listelsewhere', 'showchatlist',
        'addtofavourites', 'blockuser', 'blockuserconfirm',
        'blockuserconfirmbutton', 'cancel', 'conversationactions', 'delete', 'deleteallconfirm', 'deleteconversation',
        'deleteforme', 'muteconversation', 'removefromfavourites', 'unblockuser', 'unmuteconversation',
        'youhaveblockeduser',
        'away', 'lastseendaysmany',
        'lastseendaysone', 'lastseenhoursmany', 'lastseenhoursone', 'lastseenjustnow', 'lastseenminutesmany',
        'lastseenminutesone',
        'role:coursecreator', 'role:editingteacher', 'role:frontpage',
        'role:guest', 'role:manager', 'role:student', 'role:teacher', 'role:user',
    ];

    /** @var string[] The alert preferences of the dock (lib.php block_dockchat_user_preferences), by client name. */
    public const ALERT_PREFERENCES = [
        'sound' => 'block_dockchat_sound',
        'desktop' => 'block_dockchat_desktop',
    ];

    /**
     * Whether the current user may use the chat in a context.
     *
     * @param \context $context Where the check happens (block or page context).
     * @return bool
     */
    public static function can_use(\context $context): bool {
        if (!isloggedin() || isguestuser() || !self::account_may_chat()) {
            return false;
        }
        return has_capability('block/dockchat:use', $context);
    }

    /**
     * Whether the current user gets the dock's launcher: may chat (can_use in the system context), the
     * site has messaging on and the user may send messages. All answered from what Moodle has loaded for
     * the page ($CFG, the access data cached in the session): no database query.
     *
     * @return bool
     */
    public static function may_launch(): bool {
        global $CFG;
        if (empty($CFG->messaging)) {
            return false;
        }
        $system = \core\context\system::instance();
        return self::can_use($system) && has_capability('moodle/site:sendmessage', $system);
    }

    /**
     * The launcher chosen by the administrator (setting block_dockchat/launcher; the navbar icon when unset,
     * as on a site upgraded before the setting existed).
     *
     * @return string One of the LAUNCHER_* constants.
     */
    public static function launcher_mode(): string {
        $mode = (string) get_config('block_dockchat', 'launcher');
        $known = [self::LAUNCHER_NAVBAR, self::LAUNCHER_FLOATING, self::LAUNCHER_OFF];
        return in_array($mode, $known, true) ? $mode : self::LAUNCHER_NAVBAR;
    }

    /**
     * The launcher this user gets on this page: the administrator's choice, or none when the user may not
     * chat (see may_launch()).
     *
     * @return string One of the LAUNCHER_* constants.
     */
    public static function launcher_for_user(): string {
        $mode = self::launcher_mode();
        if ($mode === self::LAUNCHER_OFF || !self::may_launch()) {
            return self::LAUNCHER_OFF;
        }
        return $mode;
    }

    /**
     * Whether the session's account may chat at all, whatever the context.
     *
     * Not while "logged in as" another user (an administrator would chat under the other
     * user's name), and not before a forced password change is done.
     *
     * @return bool
     */
    public static function account_may_chat(): bool {
        if (\core\session\manager::is_loggedinas()) {
            return false;
        }
        return !get_user_preferences('auth_forcepasswordchange', false);
    }

    /**
     * Whether a page may show the dock at all (whatever the user).
     *
     * @param \moodle_page $page The page.
     * @return bool
     */
    public static function page_allows_dock(\moodle_page $page): bool {
        if (during_initial_install() || (defined('AJAX_SCRIPT') && AJAX_SCRIPT)) {
            return false;
        }
        return !in_array($page->pagelayout, self::EXCLUDED_LAYOUTS, true);
    }

    /**
     * The public WebSocket URL of dockchatd.
     *
     * Configured in block_dockchat/wsurl; by default the reverse-proxy path /dockchat/ws on the
     * Moodle host (wss:// for an https:// site), as in the deployment guide.
     *
     * @return string
     */
    public static function wsurl(): string {
        $configured = trim((string) get_config('block_dockchat', 'wsurl'));
        return $configured !== '' ? $configured : self::default_wsurl();
    }

    /**
     * The WebSocket URL used when none is configured: /dockchat/ws on the Moodle host.
     *
     * @return string
     */
    public static function default_wsurl(): string {
        global $CFG;
        $base = rtrim($CFG->wwwroot, '/');
        if (str_starts_with($base, 'https://')) {
            return 'wss://' . substr($base, strlen('https://')) . '/dockchat/ws';
        }
        if (str_starts_with($base, 'http://')) {
            return 'ws://' . substr($base, strlen('http://')) . '/dockchat/ws';
        }
        return $base . '/dockchat/ws';
    }

    /**
     * The configuration given to block_dockchat/main init() (see CONTRACTS.md section 5).
     *
     * @param bool $blockregion Whether the caller is the block (informational: the dock may be queued by the
     *     header hook before the blocks are known; the client finds every block's list in the page itself).
     * @return array
     */
    public static function js_config(bool $blockregion): array {
        global $USER;
        $config = [
            'wsurl' => self::wsurl(),
            'userid' => (int) $USER->id,
            'blockregion' => $blockregion,
            'lang' => current_language(),
            'prefs' => self::alert_preferences(),
            // Where the list opens from on pages without the block (the navbar icon, a round button, none).
            'launcher' => self::launcher_for_user(),
        ];
        $now = time();
        $token = self::page_token($now);
        if ($token !== null) {
            // The first token comes with the page (issue 15): the dock connects without a web service
            // call. 'now' is the page's clock, so the browser judges the token's age without trusting
            // its own clock.
            $config['token'] = $token['token'];
            $config['tokenexp'] = $token['exp'];
            $config['now'] = $now;
        }
        return $config;
    }

    /**
     * The user's alert preferences for the client: the sound and the desktop notifications, off unless
     * chosen. Read from $USER->preference, which Moodle loads with the user (no query on a page).
     *
     * @return array{sound: bool, desktop: bool}
     */
    public static function alert_preferences(): array {
        $prefs = [];
        foreach (self::ALERT_PREFERENCES as $name => $preference) {
            $prefs[$name] = (bool) get_user_preferences($preference, false);
        }
        return $prefs;
    }

    /**
     * The token that comes with the page, when block_dockchat_get_token would give one now.
     *
     * The same checks as the web service (block/dockchat:use in the system context, no guest, no
     * "log in as"), all answered from Moodle's caches; null when the user may not have one or the
     * secret is not set (the browser then asks the web service, which reports the problem).
     *
     * @param int $now Unix seconds.
     * @return array{token: string, exp: int}|null
     */
    public static function page_token(int $now): ?array {
        global $USER;
        if (!isloggedin() || isguestuser() || !self::account_may_chat()
                || !has_capability('block/dockchat:use', \core\context\system::instance())) {
            return null;
        }
        try {
            return token_issuer::from_config()->issue_for_page((int) $USER->id, $now);
        } catch (\moodle_exception $e) {
            return null;
        }
    }

    /**
     * Queues the dock's JavaScript on a page, once.
     *
     * @param \moodle_page $page The page.
     * @param bool $blockregion Whether this page shows the block.
     * @return bool True if init was queued by this call, false if it was already queued.
     */
    public static function init_js(\moodle_page $page, bool $blockregion): bool {
        if (self::$initialised === null) {
            self::$initialised = new \WeakMap();
        }
        if ($blockregion) {
            // Even when the header hook queued the dock already: the page's list is then the block's.
            self::note_block($page);
        }
        if (isset(self::$initialised[$page])) {
            return false;
        }
        self::$initialised[$page] = true;
        $page->requires->strings_for_js(self::STRING_KEYS, 'block_dockchat');
        $page->requires->js_call_amd('block_dockchat/main', 'init', [self::js_config($blockregion)]);
        return true;
    }

    /**
     * Records that a page shows the block, so its list need not be drawn by the client (templates_html).
     *
     * @param \moodle_page $page The page.
     * @return void
     */
    public static function note_block(\moodle_page $page): void {
        if (self::$blockshown === null) {
            self::$blockshown = new \WeakMap();
        }
        self::$blockshown[$page] = true;
    }

    /**
     * The names of the templates the client draws first on this page: FIRST_RENDER_TEMPLATES, and the block's
     * own when the page has no block and a launcher opens the list (the client then renders the list itself).
     *
     * @param \moodle_page $page The page.
     * @return string[] Template names in block_dockchat.
     */
    public static function first_render_templates(\moodle_page $page): array {
        $names = self::FIRST_RENDER_TEMPLATES;
        if (!isset(self::$blockshown[$page]) && self::launcher_for_user() !== self::LAUNCHER_OFF) {
            $names[] = 'block';
        }
        return $names;
    }

    /**
     * The first-render templates of a page, read by Moodle's own loader (the theme's overrides included,
     * comments stripped, as core/templates would receive them), and the strings they use.
     *
     * Reads files and the string cache only: no database query.
     *
     * @param \moodle_page $page The page.
     * @param \core\output\mustache_template_source_loader|null $loader Moodle's loader (a stand-in in tests).
     * @return array{templates: array<string, string>, strings: array<string, string[]>} Sources by
     *     "component/name"; string keys by component.
     */
    public static function page_templates(
        \moodle_page $page,
        ?\core\output\mustache_template_source_loader $loader = null
    ): array {
        $loader = $loader ?? new \core\output\mustache_template_source_loader();
        $theme = $page->theme->name;
        $templates = [];
        $strings = [];
        foreach (self::first_render_templates($page) as $name) {
            $loaded = $loader->load_with_dependencies('block_dockchat', $name, $theme);
            foreach ($loaded['templates'] as $component => $sources) {
                foreach ($sources as $id => $source) {
                    $templates[$component . '/' . $id] = $source;
                }
            }
            foreach ($loaded['strings'] as $component => $values) {
                foreach (array_keys($values) as $key) {
                    $strings[$component][$key] = true;
                }
            }
        }
        // The loader lists the strings of {{#str}} only; {{#cleanstr}} takes its string the same way.
        foreach ($templates as $source) {
            preg_match_all('/{{#cleanstr}}\s*([\w:.-]+)\s*(?:,\s*(\w+))?/', $source, $matches, PREG_SET_ORDER);
            foreach ($matches as $match) {
                $component = !empty($match[2]) ? $match[2] : 'core';
                $strings[$component][$match[1]] = true;
            }
        }
        return [
            'templates' => $templates,
            'strings' => array_map('array_keys', $strings),
        ];
    }

    /**
     * The element that carries the first-render templates to the client, once per page on which the dock was
     * started; their strings are queued with the page's (M.str), so the templates render without a request.
     *
     * A script element of type application/json: data, not code: JSON_HEX_TAG writes every `<` and `>` as
     * `\u003C` / `\u003E`, so no `</script>` or `<!--` in a template can end or change the element; amd/src/
     * pagetemplates.js reads it with JSON.parse.
     *
     * Called before the footer's JavaScript is written (hook_callbacks::before_footer_html_generation).
     *
     * @param \moodle_page $page The page.
     * @param \core\output\mustache_template_source_loader|null $loader Moodle's loader (a stand-in in tests).
     * @return string HTML, empty when the dock is not on the page or the element was written already.
     */
    public static function templates_html(
        \moodle_page $page,
        ?\core\output\mustache_template_source_loader $loader = null
    ): string {
        if (!isset(self::$initialised[$page])) {
            return '';
        }
        if (self::$templatessent === null) {
            self::$templatessent = new \WeakMap();
        }
        if (isset(self::$templatessent[$page])) {
            return '';
        }
        self::$templatessent[$page] = true;
        try {
            $loaded = self::page_templates($page, $loader);
        } catch (\Throwable $e) {
            // Only an optimisation: without the element the client asks core/templates, as before.
            debugging('block_dockchat: first-render templates not sent with the page: ' . $e->getMessage(), DEBUG_DEVELOPER);
            return '';
        }
        foreach ($loaded['strings'] as $component => $keys) {
            $page->requires->strings_for_js($keys, $component);
        }
        $json = json_encode(['templates' => $loaded['templates']],
            JSON_HEX_TAG | JSON_HEX_AMP | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
        if ($json === false) {
            return '';
        }
        return \html_writer::tag('script', $json, ['type' => 'application/json', 'data-region' => self::TEMPLATES_REGION]);
    }

    /**
     * Forgets which pages were initialised (for unit tests).
     *
     * @return void
     */
    public static function reset(): void {
        self::$initialised = null;
        self::$blockshown = null;
        self::$templatessent = null;
    }
}

<?php
// This file is part of dockchat.
//
// Runs the launcher's server side (issue 12 item 7) outside Moodle, with the Moodle functions it calls
// stubbed: who gets a launcher (block_dockchat\local\dock::launcher_for_user: logged in, not a guest, not
// "logged in as", $CFG->messaging, block/dockchat:use and moodle/site:sendmessage in the system context),
// the setting's values (unset: the navbar icon), the navbar callback of lib.php
// (block_dockchat_render_navbar_output) and the footer hook (hook_callbacks) starting the dock once per page,
// and that none of it asks the database anything ($DB is a stand-in that records every call).
// Prints `ok - ...` / `not ok - ...`; exits 1 if any check failed.

namespace core {
    /** Stub of Moodle's context (\context is its alias). */
    abstract class context {
    }
    class_alias(context::class, 'context');
}

namespace core\context {
    /** Stub of Moodle's system context. */
    class system extends \core\context {
        /** @var int */
        public $id = 1;
        /** @var int */
        public $contextlevel = 10;
        /** @return self */
        public static function instance() {
            return new self();
        }
    }
}

namespace core\session {
    /** Stub of Moodle's session manager. */
    class manager {
        /** @var bool */
        public static $loggedinas = false;
        /** @return bool */
        public static function is_loggedinas() {
            return self::$loggedinas;
        }
    }
}

namespace core\hook\output {
    /** Stub of the header hook (the renderer that dispatched it). */
    class before_http_headers {
        /** @var object */
        public $renderer;
        /**
         * @param object $renderer
         */
        public function __construct($renderer) {
            $this->renderer = $renderer;
        }
    }

    /** Stub of the footer hook (the renderer that dispatched it, the HTML added). */
    class before_footer_html_generation {
        /** @var object */
        public $renderer;
        /** @var string */
        public $html = '';
        /**
         * @param object $renderer
         */
        public function __construct($renderer) {
            $this->renderer = $renderer;
        }
        /**
         * @param string|null $html
         */
        public function add_html($html) {
            $this->html .= (string) $html;
        }
    }
}

namespace block_dockchat\local {
    /** Stand-in of the token issuer: no secret here, so the page carries no token (dock::page_token). */
    class token_issuer {
        /** @return never */
        public static function from_config() {
            throw new \moodle_exception('nosecret');
        }
    }
}

namespace {
    define('MOODLE_INTERNAL', true);

    /** Stub. */
    class moodle_exception extends \Exception {
    }

    /** Stub of Moodle's html_writer (tag: attributes escaped, content as given). */
    class html_writer {
        /**
         * @param string $name
         * @param string $content
         * @param array $attributes
         * @return string
         */
        public static function tag($name, $content, $attributes = []) {
            $attrs = '';
            foreach ($attributes as $k => $v) {
                $attrs .= ' ' . $k . '="' . htmlspecialchars((string) $v, ENT_QUOTES) . '"';
            }
            return "<$name$attrs>$content</$name>";
        }
    }

    /** The database: any call is a query the page render must not make. */
    class dockchat_db_spy {
        /** @var string[] */
        public $calls = [];
        /**
         * @param string $name
         * @param array $args
         * @return false
         */
        public function __call($name, $args) {
            $this->calls[] = $name;
            return false;
        }
    }

    /** Stub of a page's requirements manager: records what the dock queues. */
    class dockchat_requires_spy {
        /** @var array */
        public $amd = [];
        /** @var int */
        public $strings = 0;
        /**
         * @param array $ids
         * @param string $component
         */
        public function strings_for_js($ids, $component) {
            $this->strings++;
        }
        /**
         * @param string $module
         * @param string $function
         * @param array $params
         */
        public function js_call_amd($module, $function, $params = []) {
            $this->amd[] = [$module, $function, $params];
        }
    }

    /** Stub of moodle_page (what the dock reads of it). */
    class moodle_page {
        /** @var string */
        public $pagelayout = 'course';
        /** @var dockchat_requires_spy */
        public $requires;
        /** @var \core\context\system */
        public $context;
        /** @var object */
        public $theme;
        /** Constructor. */
        public function __construct() {
            $this->requires = new dockchat_requires_spy();
            $this->context = \core\context\system::instance();
            $this->theme = (object) ['name' => 'boost'];
        }
    }

    /** Stub of Moodle's renderer_base (the navbar callback's argument). */
    class renderer_base {
        /** @var moodle_page */
        private $page;
        /** @var string[] */
        public $rendered = [];
        /**
         * @param moodle_page $page
         */
        public function __construct(moodle_page $page) {
            $this->page = $page;
        }
        /** @return moodle_page */
        public function get_page() {
            return $this->page;
        }
        /**
         * @param string $name
         * @param array $context
         * @return string
         */
        public function render_from_template($name, $context) {
            $this->rendered[] = $name;
            return '<button data-region="block_dockchat-navlauncher"></button>';
        }
    }

    $DB = new dockchat_db_spy();
    $CFG = (object) ['messaging' => 1, 'wwwroot' => 'https://moodle.example.edu'];
    $USER = (object) ['id' => 42];
    $state = ['loggedin' => true, 'guest' => false, 'caps' => ['block/dockchat:use' => true, 'moodle/site:sendmessage' => true],
        'config' => ['followeverywhere' => '0']];

    /** @return bool */
    function during_initial_install() {
        return false;
    }
    /** @return bool */
    function isloggedin() {
        return $GLOBALS['state']['loggedin'];
    }
    /** @return bool */
    function isguestuser() {
        return $GLOBALS['state']['guest'];
    }
    /**
     * @param string $capability
     * @param object $context
     * @return bool
     */
    function has_capability($capability, $context) {
        return !empty($GLOBALS['state']['caps'][$capability]);
    }
    /**
     * @param string $plugin
     * @param string $name
     * @return mixed
     */
    function get_config($plugin, $name) {
        return $GLOBALS['state']['config'][$name] ?? false;
    }
    /**
     * @param string $name
     * @param mixed $default
     * @return mixed
     */
    function get_user_preferences($name, $default = null) {
        return $default;
    }
    /** @return string */
    function current_language() {
        return 'en';
    }
    /**
     * Stub: Moodle's template loader is not here, so the footer's templates element is left out (dock::templates_html).
     *
     * @param string $message
     * @param int $level
     */
    function debugging($message, $level = 0) {
    }
    define('DEBUG_DEVELOPER', 32767);

    $root = dirname(__DIR__, 2) . '/moodle-block';
    require_once("$root/classes/local/dock.php");
    require_once("$root/classes/hook_callbacks.php");
    require_once("$root/lib.php");

    use block_dockchat\local\dock;

    $failed = 0;
    $check = function (bool $ok, string $what) use (&$failed): void {
        echo ($ok ? 'ok' : 'not ok') . " - launcher: $what\n";
        if (!$ok) {
            $failed++;
        }
    };
    $set = function (array $changes) use (&$state): void {
        $state = array_replace_recursive(['loggedin' => true, 'guest' => false,
            'caps' => ['block/dockchat:use' => true, 'moodle/site:sendmessage' => true],
            'config' => ['followeverywhere' => '0']], $changes);
        \core\session\manager::$loggedinas = false;
        $GLOBALS['CFG']->messaging = 1;
        dock::reset();
    };

    // The setting: the navbar icon unless the administrator chose otherwise (unset on an upgraded site).
    $set([]);
    $check(dock::launcher_mode() === 'navbar', 'unset setting means the navbar icon');
    foreach (['navbar', 'floating', 'off'] as $mode) {
        $set(['config' => ['launcher' => $mode]]);
        $check(dock::launcher_mode() === $mode, "setting '$mode' is kept");
    }
    $set(['config' => ['launcher' => '<script>']]);
    $check(dock::launcher_mode() === 'navbar', 'an unknown value falls back to the navbar icon');

    // Who gets it.
    $set(['config' => ['launcher' => 'floating']]);
    $check(dock::launcher_for_user() === 'floating', 'a user who may chat gets the chosen launcher');
    $cases = [
        'a visitor not logged in' => ['loggedin' => false],
        'a guest' => ['guest' => true],
        'a user without block/dockchat:use' => ['caps' => ['block/dockchat:use' => false]],
        'a user without moodle/site:sendmessage' => ['caps' => ['moodle/site:sendmessage' => false]],
    ];
    foreach ($cases as $who => $changes) {
        $set(array_replace_recursive(['config' => ['launcher' => 'floating']], $changes));
        $check(dock::launcher_for_user() === 'off', "no launcher for $who");
    }
    $set(['config' => ['launcher' => 'floating']]);
    $CFG->messaging = 0;
    $check(dock::launcher_for_user() === 'off', 'no launcher when messaging is off on the site');
    $set(['config' => ['launcher' => 'floating']]);
    \core\session\manager::$loggedinas = true;
    $check(dock::launcher_for_user() === 'off', 'no launcher while "logged in as" another user');

    // The navbar callback: the icon, and the dock queued once for the page.
    $set(['config' => ['launcher' => 'navbar']]);
    $page = new moodle_page();
    $renderer = new renderer_base($page);
    $html = block_dockchat_render_navbar_output($renderer);
    $check(str_contains($html, 'block_dockchat-navlauncher') && $renderer->rendered === ['block_dockchat/navlauncher'],
        'the navbar callback renders block_dockchat/navlauncher');
    $check(count($page->requires->amd) === 1 && $page->requires->amd[0][0] === 'block_dockchat/main'
        && $page->requires->amd[0][2][0]['launcher'] === 'navbar' && $page->requires->amd[0][2][0]['blockregion'] === false,
        'the navbar callback starts the dock with launcher navbar');
    \block_dockchat\hook_callbacks::before_footer_html_generation(new \core\hook\output\before_footer_html_generation($renderer));
    $check(count($page->requires->amd) === 1 && $page->requires->strings === 1, 'the footer hook then queues nothing more (one init per page)');

    // The header hook queues it first, before what the page renders; the navbar and the footer add nothing.
    $set(['config' => ['launcher' => 'navbar']]);
    $page = new moodle_page();
    $renderer = new renderer_base($page);
    \block_dockchat\hook_callbacks::before_http_headers(new \core\hook\output\before_http_headers($renderer));
    $check(count($page->requires->amd) === 1, 'the header hook queues the dock for a page with a launcher');
    $check(str_contains(block_dockchat_render_navbar_output($renderer), 'block_dockchat-navlauncher'),
        'the navbar icon still renders');
    \block_dockchat\hook_callbacks::before_footer_html_generation(new \core\hook\output\before_footer_html_generation($renderer));
    $check(count($page->requires->amd) === 1, 'one init for the page, queued by the header hook');
    $set(['config' => ['launcher' => 'off', 'followeverywhere' => '0']]);
    $page = new moodle_page();
    \block_dockchat\hook_callbacks::before_http_headers(new \core\hook\output\before_http_headers(new renderer_base($page)));
    $check(!$page->requires->amd, 'the header hook queues nothing when the dock is only where the block is');
    $set(['config' => ['launcher' => 'off', 'followeverywhere' => '1']]);
    $page = new moodle_page();
    \block_dockchat\hook_callbacks::before_http_headers(new \core\hook\output\before_http_headers(new renderer_base($page)));
    $check(count($page->requires->amd) === 1 && $page->requires->amd[0][2][0]['launcher'] === 'off',
        'the header hook queues the dock with followeverywhere, launcher off');

    $set(['config' => ['launcher' => 'floating']]);
    $page = new moodle_page();
    $check(block_dockchat_render_navbar_output(new renderer_base($page)) === '' && !$page->requires->amd,
        'no navbar icon with the round button');
    \block_dockchat\hook_callbacks::before_footer_html_generation(new \core\hook\output\before_footer_html_generation(new renderer_base($page)));
    $check(count($page->requires->amd) === 1 && $page->requires->amd[0][2][0]['launcher'] === 'floating',
        'the footer hook starts the dock for the round button, followeverywhere off');

    $set(['config' => ['launcher' => 'navbar'], 'caps' => ['moodle/site:sendmessage' => false]]);
    $page = new moodle_page();
    $check(block_dockchat_render_navbar_output(new renderer_base($page)) === '' && !$page->requires->amd,
        'no navbar icon for a user who may not send messages');
    \block_dockchat\hook_callbacks::before_footer_html_generation(new \core\hook\output\before_footer_html_generation(new renderer_base($page)));
    $check(!$page->requires->amd, 'nor a dock, with followeverywhere off');

    $set(['config' => ['launcher' => 'navbar']]);
    $page = new moodle_page();
    $page->pagelayout = 'popup';
    $check(block_dockchat_render_navbar_output(new renderer_base($page)) === '' && !$page->requires->amd,
        'no navbar icon on a popup page');

    $set(['config' => ['launcher' => 'off']]);
    $page = new moodle_page();
    $check(block_dockchat_render_navbar_output(new renderer_base($page)) === '', 'no navbar icon with the launcher off');
    \block_dockchat\hook_callbacks::before_footer_html_generation(new \core\hook\output\before_footer_html_generation(new renderer_base($page)));
    $check(!$page->requires->amd, 'no dock on a page without the block, launcher and followeverywhere off');

    $check($DB->calls === [], 'no database call on any of these page renders (' . implode(', ', $DB->calls) . ')');

    exit($failed ? 1 : 0);
}

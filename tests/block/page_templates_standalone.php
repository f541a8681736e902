<?php
// This file is part of dockchat.
//
// Runs the page's templates element (issue 15 item 2) outside Moodle, with the Moodle functions it calls stubbed
// and a stand-in of Moodle's template loader (\core\output\mustache_template_source_loader: the block's template
// files, comments stripped, the {{#str}} strings listed, as Moodle's does): the footer hook writes the dock's
// first-render templates once per page the dock is on, in a JSON data element no template text can end early
// (JSON_HEX_TAG), with the block's own template only where a launcher shows the list on a page without the
// block; the strings those templates use join the page's strings (strings_for_js); a loader that fails leaves
// the element out; and none of it asks the database anything.
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

namespace core\output {
    /** Stand-in of Moodle's template loader over the block's template files (what dock::page_templates calls). */
    class mustache_template_source_loader {
        /** @var string[] Templates loaded, "component/name@theme". */
        public $loaded = [];
        /** @var array<string, string> Sources that replace a file's (a theme override), by name. */
        public $overrides = [];
        /** @var bool Whether loading fails. */
        public $fail = false;
        /**
         * As Moodle's: the source without its comments, and the strings of its {{#str}} (by component).
         *
         * @param string $component
         * @param string $name
         * @param string $themename
         * @return array
         */
        public function load_with_dependencies($component, $name, $themename) {
            if ($this->fail) {
                throw new \moodle_exception('filenotfound');
            }
            $this->loaded[] = "$component/$name@$themename";
            $source = $this->overrides[$name] ?? file_get_contents(dirname(__DIR__, 2) . "/moodle-block/templates/$name.mustache");
            $source = preg_replace('/(?={{!)(.*)(}})/sU', '', $source);
            $strings = [];
            preg_match_all('/{{#str}}\s*([\w:.-]+)\s*,\s*(\w+)/', $source, $m, PREG_SET_ORDER);
            foreach ($m as $match) {
                $strings[$match[2]][$match[1]] = '[' . $match[1] . ']';
            }
            return ['templates' => [$component => [$name => $source]], 'strings' => $strings];
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
        /** @var array<string, array<string, bool>> Keys asked for, by component. */
        public $stringkeys = [];
        /**
         * @param array $ids
         * @param string $component
         */
        public function strings_for_js($ids, $component) {
            $this->strings++;
            foreach ($ids as $id) {
                $this->stringkeys[$component][$id] = true;
            }
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
    /** @var string[] What debugging() was told. */
    $debugged = [];
    /**
     * Stub: records the message.
     *
     * @param string $message
     * @param int $level
     */
    function debugging($message, $level = 0) {
        $GLOBALS['debugged'][] = $message;
    }
    define('DEBUG_DEVELOPER', 32767);

    $root = dirname(__DIR__, 2) . '/moodle-block';
    require_once("$root/classes/local/dock.php");
    require_once("$root/classes/hook_callbacks.php");

    use block_dockchat\local\dock;
    use block_dockchat\hook_callbacks;
    use core\hook\output\before_footer_html_generation;
    use core\hook\output\before_http_headers;

    $failed = 0;
    $check = function (bool $ok, string $what) use (&$failed): void {
        echo ($ok ? 'ok' : 'not ok') . " - page templates: $what\n";
        if (!$ok) {
            $failed++;
        }
    };
    $set = function (array $config) use (&$state): void {
        $state['config'] = $config;
        dock::reset();
    };
    // The element's JSON, or null when the HTML is not exactly one such element.
    $element = function (string $html): ?array {
        $open = '<script type="application/json" data-region="block_dockchat-templates">';
        if (!str_starts_with($html, $open) || !str_ends_with($html, '</script>')) {
            return null;
        }
        $json = substr($html, strlen($open), -strlen('</script>'));
        if (str_contains($json, '<') || str_contains($json, '>')) {
            return null;
        }
        $data = json_decode($json, true);
        return is_array($data) ? $data : null;
    };
    $names = fn(array $data) => array_keys($data['templates'] ?? []);
    $first = array_map(fn($n) => "block_dockchat/$n", dock::FIRST_RENDER_TEMPLATES);

    // The dock queued by the header hook (launcher navbar), a page without the block: the footer writes the first
    // render's templates and the block's own (the launcher's panel draws the list from it).
    $set(['launcher' => 'navbar', 'followeverywhere' => '0']);
    $page = new moodle_page();
    $renderer = new renderer_base($page);
    hook_callbacks::before_http_headers(new before_http_headers($renderer));
    $footer = new before_footer_html_generation($renderer);
    hook_callbacks::before_footer_html_generation($footer);
    $data = $element($footer->html);
    $check($data !== null, 'the footer hook adds one JSON data element, with no < or > inside');
    $check($data !== null && $names($data) === array_merge($first, ['block_dockchat/block']),
        'it carries dock::FIRST_RENDER_TEMPLATES and the block\'s template (' . implode(', ', $data ? $names($data) : []) . ')');
    $window = $data['templates']['block_dockchat/window'] ?? '';
    $check($window !== '' && !str_contains($window, '{{!') && $window === preg_replace('/(?={{!)(.*)(}})/sU', '',
        file_get_contents("$root/templates/window.mustache")), 'the sources are the loader\'s (comments stripped)');
    $keys = $page->requires->stringkeys['block_dockchat'] ?? [];
    $missing = array_filter(['dockregion', 'chatheads', 'backtochats', 'emptyconversation', 'dismiss', 'starred', 'previewyou',
        'searchpeople'], fn($k) => !isset($keys[$k]));
    $check(!$missing, 'the templates\' {{#str}} and {{#cleanstr}} strings join the page\'s strings (missing: '
        . implode(', ', $missing) . ')');
    $check(count(array_intersect(dock::STRING_KEYS, array_keys($keys))) === count(dock::STRING_KEYS), 'beside dock::STRING_KEYS');
    $again = new before_footer_html_generation($renderer);
    hook_callbacks::before_footer_html_generation($again);
    $check($again->html === '' && count($page->requires->amd) === 1, 'once per page, one init');

    // The block on the page (its list is in the HTML): no block template.
    $set(['launcher' => 'navbar', 'followeverywhere' => '0']);
    $page = new moodle_page();
    $renderer = new renderer_base($page);
    hook_callbacks::before_http_headers(new before_http_headers($renderer));
    dock::init_js($page, true);
    $footer = new before_footer_html_generation($renderer);
    hook_callbacks::before_footer_html_generation($footer);
    $data = $element($footer->html);
    $check($data !== null && $names($data) === $first, 'with the block on the page: the first render\'s templates only');

    // Launcher off, the block only (it starts the dock while the page renders).
    $set(['launcher' => 'off', 'followeverywhere' => '0']);
    $page = new moodle_page();
    $renderer = new renderer_base($page);
    hook_callbacks::before_http_headers(new before_http_headers($renderer));
    $check(!$page->requires->amd, 'launcher off: the header hook queues nothing');
    dock::init_js($page, true);
    $footer = new before_footer_html_generation($renderer);
    hook_callbacks::before_footer_html_generation($footer);
    $data = $element($footer->html);
    $check($data !== null && $names($data) === $first, 'the block\'s dock gets its templates from the footer hook too');

    // No dock on the page: nothing.
    $set(['launcher' => 'off', 'followeverywhere' => '0']);
    $page = new moodle_page();
    $footer = new before_footer_html_generation(new renderer_base($page));
    hook_callbacks::before_footer_html_generation($footer);
    $check($footer->html === '' && !$page->requires->amd, 'no dock, no element');

    // A template (a theme's override) that holds </script> and <!--: still one element, the text intact.
    $set(['launcher' => 'off', 'followeverywhere' => '1']);
    $page = new moodle_page();
    $loader = new \core\output\mustache_template_source_loader();
    $hostile = '<div>{{#str}}close, block_dockchat{{/str}}</script><script>alert(1)</script><!-- & --></div>';
    $loader->overrides['day'] = $hostile;
    dock::init_js($page, false);
    $html = dock::templates_html($page, $loader);
    $data = $element($html);
    $check($data !== null && substr_count($html, '</script>') === 1 && ($data['templates']['block_dockchat/day'] ?? '') === $hostile,
        'a template holding </script>, <!-- and & cannot end the element, and reads back as it was');
    $check(in_array('block_dockchat/day@boost', $loader->loaded, true), 'loaded for the page\'s theme');

    // The loader fails: no element, a developer debugging message, the dock still started.
    $set(['launcher' => 'off', 'followeverywhere' => '1']);
    $page = new moodle_page();
    $loader = new \core\output\mustache_template_source_loader();
    $loader->fail = true;
    dock::init_js($page, false);
    $debugged = [];
    $check(dock::templates_html($page, $loader) === '' && count($debugged) === 1 && count($page->requires->amd) === 1,
        'a loader that fails leaves the element out (the client then asks core/templates)');

    $check($DB->calls === [], 'no database call (' . implode(', ', $DB->calls) . ')');

    exit($failed ? 1 : 0);
}

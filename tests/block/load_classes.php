<?php
// This file is part of dockchat.
//
// Loads every class of block_dockchat against stand-ins of the Moodle classes and interfaces it
// extends or implements, declared with the signatures of Moodle 4.5/5.1 (read from Moodle's source:
// public/blocks/moodleblock.class.php, public/privacy/classes/local/request/core_user_data_provider.php,
// privacy/classes/local/request/core_userlist_provider.php, user_preference_provider.php, privacy/classes/local/metadata/provider.php,
// public/lib/external/classes/external_api.php, lib/classes/hook/output/before_footer_html_generation.php,
// public/lib/classes/task/scheduled_task.php and task_base.php).
// PHP checks method signature compatibility when a class is declared, which `php -l` does not:
// an incompatible override would be a fatal error on a real site.
// Prints `ok - ...` / `not ok - ...`; exits 1 if any failed.

namespace core_privacy\local\metadata {
    /** Stand-in. */
    class collection {
        /** @var array */
        public $items = [];
        /**
         * @param string $name
         * @param array $fields
         * @param string $summary
         * @return $this
         */
        public function add_database_table($name, array $fields, $summary = '') {
            $this->items[$name] = [$fields, $summary];
            return $this;
        }
        /**
         * @param string $name
         * @param array $fields
         * @param string $summary
         * @return $this
         */
        public function add_external_location_link($name, array $fields, $summary = '') {
            $this->items[$name] = [$fields, $summary];
            return $this;
        }
    }
    /** Stand-in. */
    interface provider {
        /**
         * @param collection $collection
         * @return collection
         */
        public static function get_metadata(collection $collection): collection;
    }
}

namespace core_privacy\local\request {
    /** Stand-in. */
    class contextlist {
    }
    /** Stand-in. */
    class approved_contextlist {
    }
    /** Stand-in. */
    class userlist {
    }
    /** Stand-in. */
    class approved_userlist {
    }
    /** Stand-in. */
    interface core_data_provider {
    }
    /** Stand-in. */
    interface core_user_data_provider extends core_data_provider {
        /**
         * @param int $userid
         * @return contextlist
         */
        public static function get_contexts_for_userid(int $userid): contextlist;
        /** @param approved_contextlist $contextlist */
        public static function export_user_data(approved_contextlist $contextlist);
        /** @param \context $context */
        public static function delete_data_for_all_users_in_context(\context $context);
        /** @param approved_contextlist $contextlist */
        public static function delete_data_for_user(approved_contextlist $contextlist);
    }
    /** Stand-in. */
    interface user_preference_provider extends core_data_provider {
        /** @param int $userid */
        public static function export_user_preferences(int $userid);
    }
    /** Stand-in. */
    interface core_userlist_provider {
        /** @param userlist $userlist */
        public static function get_users_in_context(userlist $userlist);
        /** @param approved_userlist $userlist */
        public static function delete_data_for_users(approved_userlist $userlist);
    }
}

namespace core_privacy\local\request\plugin {
    /** Stand-in. */
    interface provider extends \core_privacy\local\request\core_user_data_provider {
    }
}

namespace core_external {
    /** Stand-in. */
    class external_description {
    }
    /** Stand-in. */
    class external_value extends external_description {
        /**
         * @param string $type
         * @param string $desc
         */
        public function __construct($type, $desc = '') {
        }
    }
    /** Stand-in. */
    class external_single_structure extends external_description {
        /**
         * @param array $keys
         * @param string $desc
         */
        public function __construct(array $keys = [], $desc = '') {
        }
    }
    /** Stand-in. */
    class external_function_parameters extends external_single_structure {
    }
    /** Stand-in. */
    class external_api {
        /**
         * @param external_description $description
         * @param mixed $params
         * @return mixed
         */
        public static function validate_parameters(external_description $description, $params) {
            return $params;
        }
        /** @param \context $context */
        public static function validate_context($context) {
        }
    }
}

namespace core\task {
    /** Stand-in (public/lib/classes/task/task_base.php: untyped abstract methods). */
    abstract class task_base {
        /** @return string */
        abstract public function get_name();
        /** @return void */
        abstract public function execute();
    }
    /** Stand-in (public/lib/classes/task/scheduled_task.php). */
    abstract class scheduled_task extends task_base {
    }
}

namespace core\hook\output {
    /** Stand-in (final, as in Moodle). */
    final class before_footer_html_generation {
        /** @param \renderer_base $renderer */
        public function __construct(public readonly \renderer_base $renderer) {
        }
        /** @param string|null $output */
        public function add_html(?string $output): void {
        }
    }
    /** Stand-in (as in Moodle: lib/classes/hook/output/before_http_headers.php). */
    class before_http_headers {
        /** @param \renderer_base $renderer */
        public function __construct(public readonly \renderer_base $renderer) {
        }
    }
}

namespace {
    define('MOODLE_INTERNAL', true);
    define('PARAM_RAW', 'raw');
    define('PARAM_INT', 'int');

    /** Stand-in. */
    class context {
    }
    /** Stand-in. */
    class moodle_page {
    }
    /** Stand-in. */
    interface renderable {
    }
    /** Stand-in. */
    interface templatable {
        /** @param renderer_base $output */
        public function export_for_template(renderer_base $output);
    }
    /** Stand-in. */
    class renderer_base {
    }
    /** Stand-in. */
    class plugin_renderer_base extends renderer_base {
    }
    /** Stand-in (untyped methods, as in public/blocks/moodleblock.class.php). */
    class block_base {
        /** @var mixed */
        public $content = null;
        /** Stand-in. */
        public function init() {
        }
        /** @return mixed */
        public function get_content() {
            return null;
        }
        /** @return bool */
        public function has_config() {
            return false;
        }
        /** @return array */
        public function applicable_formats() {
            return [];
        }
        /** @return bool */
        public function instance_allow_multiple() {
            return false;
        }
    }
    /** Stand-in. */
    class admin_setting_configtext {
        /**
         * @param string $data
         * @return mixed
         */
        public function validate($data) {
            return true;
        }
    }
    /** Stand-in (in Moodle a configtext shown as a password field with a reveal toggle). */
    class admin_setting_configpasswordunmask extends admin_setting_configtext {
    }

    // The admin setting classes require Moodle's adminlib.php (which declares their parents): a stand-in.
    $CFG = (object) ['libdir' => sys_get_temp_dir() . '/dockchat-load-classes-' . getmypid()];
    @mkdir($CFG->libdir);
    file_put_contents($CFG->libdir . '/adminlib.php', "<?php\n");
    register_shutdown_function(function () use ($CFG) {
        @unlink($CFG->libdir . '/adminlib.php');
        @rmdir($CFG->libdir);
    });

    $failed = 0;
    $root = realpath(__DIR__ . '/../../moodle-block');
    spl_autoload_register(function (string $class) use ($root) {
        if (str_starts_with($class, 'block_dockchat\\')) {
            $file = $root . '/classes/' . str_replace('\\', '/', substr($class, strlen('block_dockchat\\'))) . '.php';
            if (is_file($file)) {
                require_once($file);
            }
        }
    });

    $files = new RecursiveIteratorIterator(new RecursiveDirectoryIterator("$root/classes", FilesystemIterator::SKIP_DOTS));
    $classes = [];
    foreach ($files as $file) {
        if (str_ends_with($file->getPathname(), '.php')) {
            $rel = substr($file->getPathname(), strlen("$root/classes/"), -4);
            $classes[] = 'block_dockchat\\' . str_replace('/', '\\', $rel);
        }
    }
    sort($classes);
    foreach ($classes as $class) {
        try {
            $ok = class_exists($class) || interface_exists($class);
            echo ($ok ? 'ok' : 'not ok') . " - class $class loads with Moodle-compatible signatures\n";
            $failed += $ok ? 0 : 1;
        } catch (\Throwable $e) {
            echo "not ok - class $class loads: " . $e->getMessage() . "\n";
            $failed++;
        }
    }
    try {
        require_once("$root/block_dockchat.php");
        $ok = class_exists('block_dockchat') && is_subclass_of('block_dockchat', 'block_base');
        echo ($ok ? 'ok' : 'not ok') . " - block_dockchat extends block_base compatibly\n";
        $failed += $ok ? 0 : 1;
    } catch (\Throwable $e) {
        echo 'not ok - block_dockchat loads: ' . $e->getMessage() . "\n";
        $failed++;
    }
    $checks = [
        'block_dockchat\\privacy\\provider implements the plugin and userlist providers' =>
            is_subclass_of('block_dockchat\\privacy\\provider', 'core_privacy\\local\\request\\plugin\\provider')
            && is_subclass_of('block_dockchat\\privacy\\provider', 'core_privacy\\local\\request\\core_userlist_provider')
            && is_subclass_of('block_dockchat\\privacy\\provider', 'core_privacy\\local\\metadata\\provider'),
        'block_dockchat\\external\\get_token extends core_external\\external_api' =>
            is_subclass_of('block_dockchat\\external\\get_token', 'core_external\\external_api'),
        'block_dockchat\\output\\main is renderable and templatable' =>
            is_subclass_of('block_dockchat\\output\\main', 'renderable') && is_subclass_of('block_dockchat\\output\\main', 'templatable'),
    ];
    foreach ($checks as $what => $ok) {
        echo ($ok ? 'ok' : 'not ok') . " - $what\n";
        $failed += $ok ? 0 : 1;
    }
    $m = new ReflectionMethod('block_dockchat\\hook_callbacks', 'before_footer_html_generation');
    $type = $m->getParameters()[0]->getType();
    $ok = $m->isStatic() && $m->isPublic() && $type && $type->getName() === 'core\\hook\\output\\before_footer_html_generation';
    echo ($ok ? 'ok' : 'not ok') . " - hook callback takes the before_footer_html_generation hook\n";
    $failed += $ok ? 0 : 1;
    $m = new ReflectionMethod('block_dockchat\\hook_callbacks', 'before_http_headers');
    $type = $m->getParameters()[0]->getType();
    $ok = $m->isStatic() && $m->isPublic() && $type && $type->getName() === 'core\\hook\\output\\before_http_headers';
    echo ($ok ? 'ok' : 'not ok') . " - hook callback takes the before_http_headers hook\n";
    $failed += $ok ? 0 : 1;
    exit($failed ? 1 : 0);
}

<?php
// This file is part of dockchat.
//
// Structural checks of the block_dockchat plugin that run without a Moodle site.
// Usage: php tests/block/check_plugin.php [repo root]
// Prints `ok - ...` / `not ok - ...` per check; exits 1 if any failed.

declare(strict_types=1);

$root = realpath($argv[1] ?? (__DIR__ . '/../..'));
$plugin = "$root/moodle-block";
$langroot = "$root/lang";
$component = 'block_dockchat';
$languages = ['en', 'pt', 'es', 'fr', 'de'];
$failed = 0;

/**
 * Records one check.
 *
 * @param bool $ok Passed?
 * @param string $what What was checked.
 */
function check(bool $ok, string $what): void {
    global $failed;
    echo ($ok ? 'ok - ' : 'not ok - ') . $what . "\n";
    if (!$ok) {
        $failed++;
    }
}

/**
 * Every file under a directory whose name matches a pattern (symlinks to directories not followed).
 *
 * @param string $dir Directory.
 * @param string $pattern Regex on the path.
 * @return string[]
 */
function files_under(string $dir, string $pattern): array {
    if (!is_dir($dir)) {
        return [];
    }
    $out = [];
    $it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($dir, FilesystemIterator::SKIP_DOTS));
    foreach ($it as $file) {
        $path = $file->getPathname();
        if (str_contains($path, '/node_modules/')) {
            continue;
        }
        if (preg_match($pattern, $path)) {
            $out[] = $path;
        }
    }
    sort($out);
    return $out;
}

/**
 * Loads a Moodle lang file.
 *
 * @param string $file Path.
 * @return array key => string
 */
function load_strings(string $file): array {
    $string = [];
    include $file;
    return $string;
}

/**
 * Relative path for messages.
 *
 * @param string $path Absolute path.
 * @return string
 */
function rel(string $path): string {
    global $root;
    return ltrim(substr($path, strlen($root)), '/');
}

if (!defined('MOODLE_INTERNAL')) {
    define('MOODLE_INTERNAL', true);
}

// 1. Layout.
check(is_link("$plugin/lang") && realpath("$plugin/lang") === realpath($langroot), 'moodle-block/lang is a symlink to ../lang');
foreach (['version.php', 'block_dockchat.php', 'settings.php', 'db/install.xml', 'db/install.php', 'db/upgrade.php',
        'db/access.php', 'db/services.php', 'db/hooks.php', 'classes/external/get_token.php',
        'classes/local/token_issuer.php', 'classes/hook_callbacks.php', 'classes/output/main.php',
        'classes/privacy/provider.php', 'templates/block.mustache', 'styles.css', 'pix/icon.svg'] as $required) {
    check(file_exists("$plugin/$required"), "moodle-block/$required exists");
}

// 2. Every PHP file: GPL header, @package, no closing tag, MOODLE_INTERNAL where Moodle expects it.
$phpfiles = array_merge(files_under($plugin, '/\.php$/'), files_under($langroot, '/\.php$/'));
$phpfiles = array_values(array_unique(array_map('realpath', $phpfiles)));
foreach ($phpfiles as $file) {
    $src = file_get_contents($file);
    $name = rel($file);
    check(str_starts_with($src, "<?php\n") && str_contains($src, 'GNU General Public License'), "$name has the GPL header");
    check((bool) preg_match('/@package\s+block_dockchat\b/', $src), "$name has @package block_dockchat");
    check(!preg_match('/\?>\s*$/', $src), "$name has no closing ?> tag");
    check(!preg_match('/<script\b/i', $src), "$name has no inline <script>");
    $needsinternal = preg_match('#/(version|settings|lib)\.php$#', $file) || preg_match('#/db/[^/]+\.php$#', $file)
        || preg_match('#/lang/[^/]+/[^/]+\.php$#', $file);
    if ($needsinternal) {
        check(str_contains($src, "defined('MOODLE_INTERNAL') || die();"), "$name has defined('MOODLE_INTERNAL') || die();");
    }
    if (str_contains($file, '/classes/')) {
        check((bool) preg_match('/^namespace block_dockchat(\\\\[a-z_\\\\]+)?;$/m', $src), "$name declares a block_dockchat namespace");
        $rel = substr($file, strlen(realpath("$plugin/classes")) + 1);
        $expected = 'block_dockchat\\' . str_replace(['/', '.php'], ['\\', ''], $rel);
        $short = basename($rel, '.php');
        preg_match('/^namespace ([^;]+);/m', $src, $m);
        $declared = ($m[1] ?? '') . '\\' . $short;
        check($declared === $expected && (bool) preg_match('/^(final |abstract )?(class|interface|trait|enum) ' . $short . '\b/m', $src),
            "$name declares $expected (autoload path)");
    }
}

// 3. version.php.
$versionfile = "$plugin/version.php";
if (file_exists($versionfile)) {
    foreach (['MATURITY_ALPHA' => 50, 'MATURITY_BETA' => 100, 'MATURITY_RC' => 150, 'MATURITY_STABLE' => 200] as $c => $v) {
        if (!defined($c)) {
            define($c, $v);
        }
    }
    $plugin_ = (function (string $f) {
        $plugin = new stdClass();
        include $f;
        return $plugin;
    })($versionfile);
    check(($plugin_->component ?? null) === $component, 'version.php: component is block_dockchat');
    check(isset($plugin_->version) && preg_match('/^20\d{8}$/', (string) $plugin_->version)
        && checkdate((int) substr((string) $plugin_->version, 4, 2), (int) substr((string) $plugin_->version, 6, 2),
            (int) substr((string) $plugin_->version, 0, 4)), 'version.php: version is YYYYMMDDXX');
    check(isset($plugin_->requires) && $plugin_->requires >= 2024100700, 'version.php: requires Moodle 4.5 (2024100700) or later');
    check(isset($plugin_->maturity) && in_array($plugin_->maturity, [50, 100, 150, 200], true), 'version.php: maturity is a MATURITY_* constant');
    check(!empty($plugin_->release) && is_string($plugin_->release), 'version.php: release is set');
    check(isset($plugin_->supported) && is_array($plugin_->supported) && count($plugin_->supported) === 2
        && $plugin_->supported[0] <= 405 && $plugin_->supported[1] >= 501, 'version.php: supported covers 4.5 to 5.1');
}

// 4. Lang files: every language has exactly the English keys, sorted, same placeholders.
$strings = [];
foreach ($languages as $lang) {
    $file = "$langroot/$lang/block_dockchat.php";
    check(file_exists($file), "lang/$lang/block_dockchat.php exists");
    if (!file_exists($file)) {
        continue;
    }
    $strings[$lang] = load_strings($file);
    $keys = array_keys($strings[$lang]);
    $sorted = $keys;
    sort($sorted, SORT_STRING);
    check($keys === $sorted, "lang/$lang: keys are sorted");
    preg_match_all('/^\$string\[\'([^\']+)\'\]/m', file_get_contents($file), $m);
    check(count($m[1]) === count(array_unique($m[1])), "lang/$lang: no key is defined twice");
    foreach ($strings[$lang] as $k => $v) {
        if (!is_string($v) || trim($v) === '') {
            check(false, "lang/$lang: $k is a non-empty string");
        }
    }
}
$en = $strings['en'] ?? [];
check(isset($en['pluginname']), 'lang/en: pluginname is defined');
foreach ($languages as $lang) {
    if ($lang === 'en' || !isset($strings[$lang])) {
        continue;
    }
    $missing = array_diff(array_keys($en), array_keys($strings[$lang]));
    $extra = array_diff(array_keys($strings[$lang]), array_keys($en));
    check(!$missing, "lang/$lang has every English key" . ($missing ? ' (missing: ' . implode(', ', $missing) . ')' : ''));
    check(!$extra, "lang/$lang has no key English lacks" . ($extra ? ' (extra: ' . implode(', ', $extra) . ')' : ''));
    $bad = [];
    foreach ($en as $k => $v) {
        if (!isset($strings[$lang][$k])) {
            continue;
        }
        preg_match_all('/\{\$a(->[a-z0-9_]+)?\}/', $v, $pe);
        preg_match_all('/\{\$a(->[a-z0-9_]+)?\}/', $strings[$lang][$k], $pt);
        $a = array_unique($pe[0]);
        $b = array_unique($pt[0]);
        sort($a);
        sort($b);
        if ($a !== $b) {
            $bad[] = $k;
        }
    }
    check(!$bad, "lang/$lang keeps the {\$a} placeholders of English" . ($bad ? ' (' . implode(', ', $bad) . ')' : ''));
}

// 5. Strings used in PHP, templates and JS exist in English.
$used = [];
foreach ($phpfiles as $file) {
    if (str_contains($file, '/lang/')) {
        continue;
    }
    $src = file_get_contents($file);
    // get_string('x', 'block_dockchat'), new lang_string('x', 'block_dockchat'), new moodle_exception('x', 'block_dockchat').
    preg_match_all("/(?:get_string|lang_string|exception|string_exists)\\(\\s*'([a-zA-Z0-9_:\\-]+)'\\s*,\\s*'block_dockchat'/", $src, $m);
    foreach ($m[1] as $k) {
        $used[$k][] = rel($file);
    }
    // Privacy metadata and other plain string identifiers.
    preg_match_all("/'(privacy:[a-zA-Z0-9_:]+)'/", $src, $m);
    foreach ($m[1] as $k) {
        $used[$k][] = rel($file);
    }
}
foreach (files_under("$plugin/templates", '/\.mustache$/') as $file) {
    $src = file_get_contents($file);
    check(!preg_match('/<script\b/i', $src), rel($file) . ' has no inline <script>');
    preg_match_all('/\{\{#(?:str|cleanstr)\}\}\s*([a-zA-Z0-9_:\-]+)\s*,\s*block_dockchat\b/', $src, $m);
    foreach ($m[1] as $k) {
        $used[$k][] = rel($file);
    }
}
$jsfiles = files_under("$plugin/amd/src", '/\.js$/');
foreach ($jsfiles as $file) {
    $src = file_get_contents($file);
    // The client's list of run-time strings (amd/src/strings.js: export const STRING_KEYS = [...]).
    if (preg_match_all('/STRING_KEYS\s*=\s*\[(.*?)\]/s', $src, $lists)) {
        foreach ($lists[1] as $list) {
            preg_match_all("/['\"]([a-zA-Z0-9_:\\-]+)['\"]/", $list, $m);
            foreach ($m[1] as $k) {
                $used[$k][] = rel($file);
            }
        }
    }
    // Direct calls: getString('x', 'block_dockchat'), {key: 'x', component: 'block_dockchat'}.
    preg_match_all("/['\"]([a-zA-Z0-9_:\\-]+)['\"]\\s*,\\s*['\"]block_dockchat['\"]/", $src, $m);
    foreach ($m[1] as $k) {
        $used[$k][] = rel($file);
    }
    preg_match_all("/key\\s*:\\s*['\"]([a-zA-Z0-9_:\\-]+)['\"]\\s*,\\s*component\\s*:\\s*['\"]block_dockchat['\"]/", $src, $m);
    foreach ($m[1] as $k) {
        $used[$k][] = rel($file);
    }
}
ksort($used);
$missingused = [];
foreach ($used as $k => $where) {
    if (!array_key_exists($k, $en)) {
        $missingused[] = "$k (" . implode(', ', array_unique($where)) . ')';
    }
}
check(count($used) > 0, 'found string usages in PHP, templates and JS (' . count($used) . ' keys)');
check(!$missingused, 'every string used in PHP, templates and JS exists in lang/en'
    . ($missingused ? ': missing ' . implode('; ', $missingused) : ''));

// 6. Capabilities have lang strings and sane definitions.
foreach (['CONTEXT_SYSTEM' => 10, 'CONTEXT_USER' => 30, 'CONTEXT_COURSE' => 50, 'CONTEXT_BLOCK' => 80,
        'CAP_ALLOW' => 1, 'RISK_SPAM' => 0x0008, 'RISK_XSS' => 0x0004, 'RISK_PERSONAL' => 0x0010] as $c => $v) {
    if (!defined($c)) {
        define($c, $v);
    }
}
$capabilities = (function (string $f) {
    $capabilities = [];
    include $f;
    return $capabilities;
})("$plugin/db/access.php");
foreach (['block/dockchat:addinstance', 'block/dockchat:myaddinstance', 'block/dockchat:use'] as $cap) {
    check(isset($capabilities[$cap]), "db/access.php defines $cap");
}
foreach ($capabilities as $cap => $def) {
    check(str_starts_with($cap, 'block/dockchat:'), "capability $cap is named block/dockchat:*");
    $key = substr($cap, strlen('block/'));
    check(isset($en[$key]), "capability $cap has the lang string $key");
    check(in_array($def['captype'] ?? '', ['read', 'write'], true) && isset($def['contextlevel']) && !empty($def['archetypes']),
        "capability $cap has captype, contextlevel and archetypes");
    check(!isset($def['archetypes']['guest']), "capability $cap is not given to guests");
}

// 7. External functions have classes with execute, execute_parameters and execute_returns.
$functions = (function (string $f) {
    $functions = [];
    include $f;
    return $functions;
})("$plugin/db/services.php");
check(isset($functions['block_dockchat_get_token']), 'db/services.php defines block_dockchat_get_token');
foreach ($functions as $name => $def) {
    check(str_starts_with($name, 'block_dockchat_'), "external function $name is named block_dockchat_*");
    $class = ltrim($def['classname'] ?? '', '\\');
    $path = "$plugin/classes/" . str_replace('\\', '/', substr($class, strlen('block_dockchat\\'))) . '.php';
    $exists = str_starts_with($class, 'block_dockchat\\') && file_exists($path);
    check($exists, "external function $name: class $class exists");
    if ($exists) {
        $src = file_get_contents($path);
        foreach (['execute', 'execute_parameters', 'execute_returns'] as $method) {
            check((bool) preg_match('/public static function ' . $method . '\s*\(/', $src), "external function $name: $class::$method()");
        }
        check(str_contains($src, 'validate_context(') && str_contains($src, 'require_capability('),
            "external function $name validates its context and requires a capability");
        check(str_contains($src, 'core_external\\external_api'), "external function $name uses core_external\\external_api");
    }
    check(!empty($def['ajax']) && empty($def['loginrequired']) === false, "external function $name is ajax with login required");
    check(!empty($def['description']) && in_array($def['type'] ?? '', ['read', 'write'], true), "external function $name has description and type");
}

// 8. Hook callbacks point at existing methods.
$callbacks = (function (string $f) {
    $callbacks = [];
    include $f;
    return $callbacks;
})("$plugin/db/hooks.php");
check(count($callbacks) > 0, 'db/hooks.php registers callbacks');
foreach ($callbacks as $cb) {
    $hook = ltrim((string) ($cb['hook'] ?? ''), '\\');
    check(in_array($hook, ['core\\hook\\output\\before_footer_html_generation', 'core\\hook\\output\\before_http_headers'], true),
        "hook $hook is the footer or the header hook");
    $callback = $cb['callback'] ?? null;
    [$class, $method] = is_array($callback) ? $callback : explode('::', (string) $callback);
    $class = ltrim($class, '\\');
    $path = "$plugin/classes/" . str_replace('\\', '/', substr($class, strlen('block_dockchat\\'))) . '.php';
    check(file_exists($path) && preg_match('/public static function ' . preg_quote($method, '/') . '\s*\(/', file_get_contents($path)) === 1,
        "hook callback $class::$method exists");
}

// 9. Settings use the plugin's config namespace.
$settings = file_get_contents("$plugin/settings.php");
foreach (['wsurl', 'secret', 'tokenlifetime', 'followeverywhere', 'launcher'] as $setting) {
    check(str_contains($settings, "'block_dockchat/$setting'"), "settings.php defines block_dockchat/$setting");
}

// 10. AMD: every amd/src module has its built amd/build/<name>.min.js, and the entry point exists.
check(file_exists("$plugin/amd/src/main.js"), 'amd/src/main.js (the entry point) exists');
foreach ($jsfiles as $file) {
    $name = basename($file, '.js');
    $build = "$plugin/amd/build/$name.min.js";
    check(file_exists($build), "amd/build/$name.min.js exists for amd/src/$name.js");
    if (file_exists($build)) {
        check(str_contains(file_get_contents($build), "block_dockchat/$name"), "amd/build/$name.min.js defines block_dockchat/$name");
    }
}
foreach (files_under("$plugin/amd/build", '/\.min\.js$/') as $build) {
    $name = basename($build, '.min.js');
    check(file_exists("$plugin/amd/src/$name.js"), "amd/build/$name.min.js has its source amd/src/$name.js");
}

// 11. PHP calls js_call_amd with block_dockchat/main init only; no inline JavaScript.
$jscalls = 0;
foreach ($phpfiles as $file) {
    $src = file_get_contents($file);
    if (preg_match_all("/js_call_amd\\(\\s*'([^']+)'\\s*,\\s*'([^']+)'/", $src, $m, PREG_SET_ORDER)) {
        foreach ($m as $call) {
            $jscalls++;
            check($call[1] === 'block_dockchat/main' && $call[2] === 'init', rel($file) . ' calls block_dockchat/main init');
        }
    }
    check(!preg_match('/->js_init_code\(|->js_amd_inline\(/', $src), rel($file) . ' adds no inline JavaScript');
}
check($jscalls >= 1, 'js_call_amd(block_dockchat/main, init) is called from PHP');

exit($failed ? 1 : 0);

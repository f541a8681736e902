<?php
// This file is part of dockchat.
//
// Runs block_dockchat\local\token_issuer outside Moodle, with the few Moodle functions it calls
// stubbed, and checks the tokens it mints against docs/PROTOCOL.md section 2.1 with an
// independent HS256 verification (hash_hmac). Uses Moodle's firebase/php-jwt if it can be found
// (DOCKCHAT_PHPJWT=/path/to/php-jwt/src), otherwise a minimal local HS256 encoder.
// Prints `ok - ...` / `not ok - ...`; exits 1 if any check failed.

namespace core\context {
    /** Stub of Moodle's system context. */
    class system {
        /** @var int */
        public $id = 1;
        /** @return self */
        public static function instance() {
            return new self();
        }
    }

    /** Stub of Moodle's course context. */
    class course {
        /** @var int */
        public $instanceid;
        /**
         * @param int $courseid
         * @param int $strictness
         * @return self
         */
        public static function instance($courseid, $strictness = 0) {
            $c = new self();
            $c->instanceid = (int) $courseid;
            return $c;
        }
    }
}

namespace Firebase\JWT {
    $phpjwt = getenv('DOCKCHAT_PHPJWT');
    if ($phpjwt && is_file("$phpjwt/JWT.php")) {
        foreach (['JWTExceptionWithPayloadInterface', 'ExpiredException', 'SignatureInvalidException',
                'BeforeValidException', 'Key', 'JWT'] as $f) {
            if (is_file("$phpjwt/$f.php")) {
                require_once("$phpjwt/$f.php");
            }
        }
    }
    if (!class_exists(JWT::class)) {
        /** Minimal HS256 encoder with the signature of firebase/php-jwt's JWT::encode (test only). */
        class JWT {
            /**
             * @param array $payload
             * @param string $key
             * @param string $alg
             * @return string
             */
            public static function encode(array $payload, $key, string $alg): string {
                if ($alg !== 'HS256') {
                    throw new \DomainException('Algorithm not supported');
                }
                $b64 = fn(string $s) => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
                $head = $b64(json_encode(['typ' => 'JWT', 'alg' => $alg]));
                $body = $b64(json_encode($payload, JSON_UNESCAPED_SLASHES));
                return "$head.$body." . $b64(hash_hmac('sha256', "$head.$body", $key, true));
            }
        }
    }
}

namespace {
    define('MOODLE_INTERNAL', true);
    define('IGNORE_MISSING', 0);

    /** Stub of Moodle's moodle_exception. */
    class moodle_exception extends \Exception {
        /** @var string */
        public $errorcode;
        /**
         * @param string $errorcode
         * @param string $module
         */
        public function __construct($errorcode, $module = '') {
            $this->errorcode = $errorcode;
            parent::__construct("$module/$errorcode");
        }
    }

    /** Stub of Moodle's coding_exception. */
    class coding_exception extends \Exception {
    }

    /** Stub of Moodle's context_helper. */
    class context_helper {
        /**
         * @param object $record
         * @return void
         */
        public static function preload_from_record($record) {
        }
    }

    /** Stub of Moodle's MUC: one array per definition. */
    class cache {
        /** @var array */
        public static $stores = [];
        /** @var string */
        private $name;
        /**
         * @param string $name
         */
        private function __construct($name) {
            $this->name = $name;
        }
        /**
         * @param string $component
         * @param string $area
         * @return cache
         */
        public static function make($component, $area) {
            return new self("$component/$area");
        }
        /**
         * @param mixed $key
         * @return mixed
         */
        public function get($key) {
            return self::$stores[$this->name][$key] ?? false;
        }
        /**
         * @param mixed $key
         * @param mixed $value
         * @return bool
         */
        public function set($key, $value) {
            self::$stores[$this->name][$key] = $value;
            return true;
        }
    }

    $GLOBALS['stubconfig'] = [];
    $GLOBALS['stubcaps'] = [];
    $GLOBALS['stubcourses'] = [];
    $GLOBALS['enrolcalls'] = 0;
    $CFG = (object) ['wwwroot' => 'https://moodle.example.edu'];

    /**
     * @param string $plugin
     * @param string $name
     * @return mixed
     */
    function get_config($plugin, $name) {
        return $GLOBALS['stubconfig'][$name] ?? false;
    }

    /**
     * @param string $cap
     * @param object $context
     * @param int $userid
     * @return bool
     */
    function has_capability($cap, $context, $userid) {
        $where = $context instanceof \core\context\course ? 'course' . $context->instanceid : 'system';
        return !empty($GLOBALS['stubcaps'][$userid][$where][$cap]);
    }

    /**
     * @param int $userid
     * @param bool $onlyactive
     * @param string $fields
     * @return array
     */
    function enrol_get_all_users_courses($userid, $onlyactive = false, $fields = null) {
        $GLOBALS['enrolcalls']++;
        $out = [];
        foreach ($GLOBALS['stubcourses'][$userid] ?? [] as $id) {
            $out[$id] = (object) ['id' => $id];
        }
        return $out;
    }

    require_once(__DIR__ . '/../../moodle-block/classes/local/token_issuer.php');

    use block_dockchat\local\token_issuer;

    $failed = 0;
    $passed = 0;

    /**
     * @param bool $ok
     * @param string $what
     */
    function check(bool $ok, string $what): void {
        global $failed, $passed;
        echo ($ok ? 'ok - ' : 'not ok - ') . "token: $what\n";
        $ok ? $passed++ : $failed++;
    }

    /**
     * Independent HS256 verification; returns [header, claims] or null if the signature is wrong.
     *
     * @param string $jwt
     * @param string $secret
     * @return array|null
     */
    function verify(string $jwt, string $secret): ?array {
        $parts = explode('.', $jwt);
        if (count($parts) !== 3) {
            return null;
        }
        $dec = fn(string $s) => base64_decode(strtr($s, '-_', '+/') . str_repeat('=', (4 - strlen($s) % 4) % 4), true);
        $sig = $dec($parts[2]);
        if ($sig === false || !hash_equals(hash_hmac('sha256', $parts[0] . '.' . $parts[1], $secret, true), $sig)) {
            return null;
        }
        return [json_decode($dec($parts[0]), true), json_decode($dec($parts[1]), true)];
    }

    $secret = str_repeat('s3cr3t-', 10);
    echo '# JWT encoder: ' . (getenv('DOCKCHAT_PHPJWT') ? 'firebase/php-jwt' : 'local HS256') . "\n";

    // Claims.
    $issuer = new token_issuer($secret, $CFG->wwwroot, 300);
    $caps = ['send' => true, 'readall' => false, 'anyuser' => false, 'anyusercourses' => ['12', 3]];
    $claims = $issuer->build_claims(42, 1763772000, $caps, 'abcdef0123456789');
    check($claims['iss'] === 'https://moodle.example.edu', 'iss is the site URL');
    check($claims['aud'] === 'dockchat', 'aud is dockchat');
    check($claims['sub'] === '42', 'sub is the user id as a decimal string');
    check($claims['iat'] === 1763772000 && $claims['exp'] === 1763772300, 'iat is now and exp is iat + lifetime');
    check($claims['sid'] === hash('sha256', 'abcdef0123456789'), 'sid is the sha256 hex of the session id');
    check($claims['caps'] === ['send' => true, 'readall' => false, 'anyuser' => false, 'anyusercourses' => [12, 3],
        'deleteown' => false, 'viewhidden' => false],
        'caps carries booleans and integer course ids');
    check(!array_key_exists('sid', $issuer->build_claims(42, 1, $caps, '')), 'sid is omitted without a session');
    $empty = $issuer->build_claims(7, 1, []);
    check($empty['caps'] === ['send' => false, 'readall' => false, 'anyuser' => false, 'anyusercourses' => [],
        'deleteown' => false, 'viewhidden' => false],
        'missing capability answers are false / []');

    // Lifetime bounds.
    check((new token_issuer($secret, 'x', 10))->get_lifetime() === 60, 'lifetime below 60 s is raised to 60 s');
    check((new token_issuer($secret, 'x', 99999))->get_lifetime() === 3600, 'lifetime above 3600 s is capped at 3600 s');
    check((new token_issuer($secret, 'x', 0))->get_lifetime() === 300, 'lifetime 0 falls back to 300 s');

    // Refusals.
    try {
        new token_issuer('short', 'x', 300);
        check(false, 'a short secret is refused');
    } catch (moodle_exception $e) {
        check($e->errorcode === 'error:secretmissing', 'a short secret is refused');
    }
    try {
        $issuer->build_claims(0, 1, []);
        check(false, 'user id 0 is refused');
    } catch (coding_exception $e) {
        check(true, 'user id 0 is refused');
    }

    // Signature.
    $jwt = $issuer->sign($claims);
    $verified = verify($jwt, $secret);
    check($verified !== null, 'the token verifies with HS256 and the shared secret');
    check(($verified[0]['alg'] ?? '') === 'HS256', 'header alg is HS256');
    check(($verified[1] ?? null) == $claims, 'the signed payload is exactly the claims');
    check(verify($jwt, $secret . 'x') === null, 'another secret does not verify the token');
    $parts = explode('.', $jwt);
    $forged = rtrim(strtr(base64_encode(json_encode(['sub' => '1'] + $claims)), '+/', '-_'), '=');
    check(verify("$parts[0].$forged.$parts[2]", $secret) === null, 'a token with a changed payload does not verify');

    // Capabilities from the role engine (stubbed).
    $GLOBALS['stubcaps'][5] = [
        'system' => ['moodle/site:sendmessage' => true, 'moodle/site:deleteownmessage' => true],
        'course7' => ['moodle/site:messageanyuser' => true],
        'course3' => ['moodle/site:messageanyuser' => true],
    ];
    $GLOBALS['stubcourses'][5] = [9, 7, 3];
    $c = token_issuer::capabilities(5);
    check($c === ['send' => true, 'readall' => false, 'anyuser' => false, 'anyusercourses' => [3, 7],
        'deleteown' => true, 'viewhidden' => false],
        'a teacher gets sorted anyusercourses of the courses where they have messageanyuser');
    $GLOBALS['stubcaps'][6] = ['system' => ['moodle/site:sendmessage' => true, 'moodle/site:readallmessages' => true,
        'moodle/site:messageanyuser' => true]];
    $GLOBALS['stubcourses'][6] = [1, 2];
    $before = $GLOBALS['enrolcalls'];
    $c = token_issuer::capabilities(6);
    check($c['anyuser'] && $c['readall'] && $c['anyusercourses'] === [] && $GLOBALS['enrolcalls'] === $before,
        'site-wide messageanyuser needs no per-course list');
    $c = token_issuer::capabilities(8);
    check($c === ['send' => false, 'readall' => false, 'anyuser' => false, 'anyusercourses' => [],
        'deleteown' => false, 'viewhidden' => false],
        'a user without sendmessage gets send = false');
    $GLOBALS['stubcaps'][10] = ['system' => ['moodle/user:viewhiddendetails' => true]];
    $GLOBALS['stubcourses'][10] = [];
    check(token_issuer::capabilities(10)['viewhidden'] === true,
        'viewhiddendetails in the system context gives viewhidden (last seen on a site that hides lastaccess)');

    // End to end through the site config.
    $GLOBALS['stubconfig'] = ['secret' => $secret, 'tokenlifetime' => '120'];
    $now = time();
    $issued = token_issuer::from_config()->issue(5, $now);
    $v = verify($issued['token'], $secret);
    check($v !== null && $v[1]['sub'] === '5' && $v[1]['exp'] === $now + 120 && $issued['exp'] === $now + 120,
        'from_config()->issue() mints a verifiable token with the configured lifetime');
    check($v !== null && $v[1]['caps']['anyusercourses'] === [3, 7] && $v[1]['caps']['send'] === true,
        'issued token carries the capability answers');
    // The page token: at most 300 s, capability answers from the last token (no enrol_get_all_users_courses).
    $GLOBALS['stubconfig'] = ['secret' => $secret, 'tokenlifetime' => '3600'];
    $calls = $GLOBALS['enrolcalls'];
    $page = token_issuer::from_config()->issue_for_page(5, $now + 1);
    $v = verify($page['token'], $secret);
    check($v !== null && $v[1]['exp'] === $now + 1 + token_issuer::PAGE_LIFETIME && $page['exp'] === $v[1]['exp'],
        'issue_for_page() lives PAGE_LIFETIME (300 s) even when the configured lifetime is longer');
    check($v !== null && $v[1]['caps']['anyusercourses'] === [3, 7] && $GLOBALS['enrolcalls'] === $calls,
        'issue_for_page() reuses the cached capability answers of the last token');
    $page = token_issuer::from_config()->issue_for_page(5, $now + 3600);
    check($GLOBALS['enrolcalls'] === $calls + 1, 'cached answers older than a token lifetime are computed again');
    $GLOBALS['stubconfig'] = ['secret' => ''];
    try {
        token_issuer::from_config();
        check(false, 'no secret configured: minting fails clearly');
    } catch (moodle_exception $e) {
        check(true, 'no secret configured: minting fails clearly');
    }

    echo "# token checks: $passed passed, $failed failed\n";
    exit($failed ? 1 : 0);
}

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

use Firebase\JWT\JWT;

/**
 * Mints the short-lived tokens that authenticate a browser to dockchatd.
 *
 * The token is a JWT signed with HS256 and the secret stored in config_plugins
 * (block_dockchat/secret). Its claims are specified in docs/PROTOCOL.md section 2.1:
 * iss (the site URL), aud ("dockchat"), sub (the user id as a string), iat, exp, sid and
 * caps, the answers of Moodle's role engine that dockchatd cannot compute itself.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class token_issuer {
    /** @var string The audience dockchatd expects. */
    public const AUDIENCE = 'dockchat';

    /** @var string The only signing algorithm dockchatd accepts. */
    public const ALGORITHM = 'HS256';

    /** @var int Default token lifetime in seconds. */
    public const DEFAULT_LIFETIME = 300;

    /** @var int Shortest allowed token lifetime in seconds. */
    public const MIN_LIFETIME = 60;

    /** @var int Longest allowed token lifetime in seconds (PROTOCOL.md: lifetime is minutes). */
    public const MAX_LIFETIME = 3600;

    /** @var int Longest lifetime of the token that comes with a page, in seconds (issue 15: as short-lived as a sesskey). */
    public const PAGE_LIFETIME = 300;

    /** @var int Shortest secret accepted for signing, in bytes. */
    public const MIN_SECRET_LENGTH = 32;

    /** @var string|null The session id unit tests mint tokens in (PHPUnit cannot start a PHP session). */
    private static ?string $testsessionid = null;

    /** @var string HMAC secret shared with dockchatd. */
    private string $secret;

    /** @var string Token issuer: the Moodle site URL. */
    private string $issuer;

    /** @var int Token lifetime in seconds. */
    private int $lifetime;

    /**
     * Creates an issuer.
     *
     * @param string $secret The HMAC secret shared with dockchatd.
     * @param string $issuer The site URL ($CFG->wwwroot).
     * @param int $lifetime Lifetime in seconds; clamped to [MIN_LIFETIME, MAX_LIFETIME].
     * @throws \moodle_exception When the secret is missing or too short.
     */
    public function __construct(string $secret, string $issuer, int $lifetime = self::DEFAULT_LIFETIME) {
        if (strlen($secret) < self::MIN_SECRET_LENGTH) {
            throw new \moodle_exception('error:secretmissing', 'block_dockchat');
        }
        $this->secret = $secret;
        $this->issuer = $issuer;
        $this->lifetime = self::clamp_lifetime($lifetime);
    }

    /**
     * Creates an issuer from the plugin settings of this site.
     *
     * @return self
     */
    public static function from_config(): self {
        global $CFG;
        $secret = (string) get_config('block_dockchat', 'secret');
        $lifetime = get_config('block_dockchat', 'tokenlifetime');
        $lifetime = ($lifetime === false || $lifetime === '') ? self::DEFAULT_LIFETIME : (int) $lifetime;
        return new self($secret, $CFG->wwwroot, $lifetime);
    }

    /**
     * Keeps a configured lifetime inside the range dockchatd accepts.
     *
     * @param int $lifetime Seconds.
     * @return int Seconds.
     */
    public static function clamp_lifetime(int $lifetime): int {
        if ($lifetime <= 0) {
            return self::DEFAULT_LIFETIME;
        }
        return max(self::MIN_LIFETIME, min(self::MAX_LIFETIME, $lifetime));
    }

    /**
     * The token lifetime of this issuer.
     *
     * @return int Seconds.
     */
    public function get_lifetime(): int {
        return $this->lifetime;
    }

    /**
     * Asks Moodle's role engine the questions dockchatd needs answered (PROTOCOL.md 2.1, caps).
     *
     * @param int $userid The user the token is for.
     * @return array{send: bool, readall: bool, anyuser: bool, anyusercourses: int[], deleteown: bool, viewhidden: bool}
     */
    public static function capabilities(int $userid): array {
        $system = \core\context\system::instance();
        $anyuser = has_capability('moodle/site:messageanyuser', $system, $userid);
        $courses = [];
        if (!$anyuser) {
            // The teacher override of core_message\api::can_contact_user(): messageanyuser in a shared course.
            foreach (enrol_get_all_users_courses($userid, true, 'id') as $course) {
                // The courses come with their context columns: no query per course.
                \context_helper::preload_from_record($course);
                $context = \core\context\course::instance($course->id, IGNORE_MISSING);
                if ($context && has_capability('moodle/site:messageanyuser', $context, $userid)) {
                    $courses[] = (int) $course->id;
                }
            }
            sort($courses);
        }
        return [
            'send' => has_capability('moodle/site:sendmessage', $system, $userid),
            'readall' => has_capability('moodle/site:readallmessages', $system, $userid),
            'anyuser' => $anyuser,
            'anyusercourses' => $courses,
            // core_message\api::can_delete_message() and can_delete_conversation() for one's own messages.
            'deleteown' => has_capability('moodle/site:deleteownmessage', $system, $userid),
            // May see last access even when $CFG->hiddenuserfields hides it (user_get_user_details()).
            'viewhidden' => has_capability('moodle/user:viewhiddendetails', $system, $userid),
        ];
    }

    /**
     * Builds the claims of a token. Pure: no database, no clock.
     *
     * @param int $userid Moodle user id (positive).
     * @param int $now Issue time, Unix seconds.
     * @param array $caps Capability answers, as returned by capabilities().
     * @param string $sessionid The Moodle session id, or '' when there is none.
     * @return array The claims.
     */
    public function build_claims(int $userid, int $now, array $caps, string $sessionid = ''): array {
        if ($userid <= 0) {
            throw new \coding_exception('A dockchat token needs a real user id.');
        }
        $claims = [
            'iss' => $this->issuer,
            'aud' => self::AUDIENCE,
            'sub' => (string) $userid,
            'iat' => $now,
            'exp' => $now + $this->lifetime,
        ];
        if ($sessionid !== '') {
            // Binds the socket to this browser's session: dockchatd closes it when the session ends.
            // Never used for identity (that is sub), and the cookie itself is never sent.
            $claims['sid'] = hash('sha256', $sessionid);
        }
        $claims['caps'] = [
            'send' => !empty($caps['send']),
            'readall' => !empty($caps['readall']),
            'anyuser' => !empty($caps['anyuser']),
            'anyusercourses' => array_values(array_map('intval', $caps['anyusercourses'] ?? [])),
            'deleteown' => !empty($caps['deleteown']),
            'viewhidden' => !empty($caps['viewhidden']),
        ];
        return $claims;
    }

    /**
     * Signs claims with the shared secret.
     *
     * @param array $claims The claims.
     * @return string The compact JWT.
     */
    public function sign(array $claims): string {
        return JWT::encode($claims, $this->secret, self::ALGORITHM);
    }

    /**
     * Mints a token for a user of this site, with the capability answers of now.
     *
     * The answers are also kept in the cache block_dockchat/caps, so that the token minted with the
     * next page (issue_for_page) needs no database query.
     *
     * @param int $userid The user.
     * @param int|null $now Issue time (defaults to time()).
     * @return array{token: string, exp: int}
     */
    public function issue(int $userid, ?int $now = null): array {
        $now = $now ?? time();
        $caps = self::capabilities($userid);
        self::remember_capabilities($userid, $caps, $now);
        return $this->mint($userid, $now, $caps, $this->lifetime);
    }

    /**
     * Mints the token that comes with a page, so the dock connects without a web service call.
     *
     * Lives at most PAGE_LIFETIME seconds (less if the configured lifetime is shorter) and carries
     * the same sid as any other token. The capability answers come from the cache block_dockchat/caps
     * when they are still current (see cached_capabilities()), so rendering the page costs no query;
     * otherwise they are computed as for issue() (enrol_get_all_users_courses() reads the user's
     * courses once, unless the user may message anyone site-wide) and cached.
     *
     * @param int $userid The user.
     * @param int|null $now Issue time (defaults to time()).
     * @return array{token: string, exp: int}
     */
    public function issue_for_page(int $userid, ?int $now = null): array {
        $now = $now ?? time();
        $caps = $this->cached_capabilities($userid, $now);
        if ($caps === null) {
            $caps = self::capabilities($userid);
            self::remember_capabilities($userid, $caps, $now);
        }
        return $this->mint($userid, $now, $caps, min($this->lifetime, self::PAGE_LIFETIME));
    }

    /**
     * Signs the claims of a token for the current session.
     *
     * @param int $userid The user.
     * @param int $now Issue time.
     * @param array $caps Capability answers.
     * @param int $lifetime Seconds.
     * @return array{token: string, exp: int}
     */
    private function mint(int $userid, int $now, array $caps, int $lifetime): array {
        $claims = $this->build_claims($userid, $now, $caps, self::$testsessionid ?? (string) session_id());
        $claims['exp'] = $now + $lifetime;
        return [
            'token' => $this->sign($claims),
            'exp' => $claims['exp'],
        ];
    }

    /**
     * Sets the session id tokens are minted in, for unit tests only.
     *
     * @param string|null $sessionid The id, or null for PHP's session_id().
     * @return void
     */
    public static function set_session_id_for_tests(?string $sessionid): void {
        if (!defined('PHPUNIT_TEST') || !PHPUNIT_TEST) {
            throw new \coding_exception('set_session_id_for_tests() is for unit tests only.');
        }
        self::$testsessionid = $sessionid;
    }

    /**
     * Capability answers computed by an earlier token of the user, if they are still current.
     *
     * Current means: computed less than one token lifetime ago (a token carries its answers that long
     * anyway), and, for the logged-in user, not before Moodle last loaded their access data
     * ($USER->access['time']: Moodle reloads it when a role assignment or enrolment of the user
     * changes, see mark_user_dirty()).
     *
     * @param int $userid The user.
     * @param int $now Unix seconds.
     * @return array|null The answers, or null when they must be computed again.
     */
    public function cached_capabilities(int $userid, int $now): ?array {
        global $USER;
        $entry = \cache::make('block_dockchat', 'caps')->get($userid);
        if (!is_array($entry) || !isset($entry['time'], $entry['caps']) || !is_array($entry['caps'])) {
            return null;
        }
        $time = (int) $entry['time'];
        if ($time > $now || $now - $time >= $this->lifetime) {
            return null;
        }
        if (isset($USER->id) && (int) $USER->id === $userid && isset($USER->access['time'])
                && $time < (int) $USER->access['time']) {
            return null;
        }
        return $entry['caps'];
    }

    /**
     * Keeps capability answers for the next page's token.
     *
     * @param int $userid The user.
     * @param array $caps The answers, as returned by capabilities().
     * @param int $now When they were computed, Unix seconds.
     * @return void
     */
    public static function remember_capabilities(int $userid, array $caps, int $now): void {
        \cache::make('block_dockchat', 'caps')->set($userid, ['time' => $now, 'caps' => $caps]);
    }
}

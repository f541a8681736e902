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

    /** @var int Shortest secret accepted for signing, in bytes. */
    public const MIN_SECRET_LENGTH = 32;

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
     * @return array{send: bool, readall: bool, anyuser: bool, anyusercourses: int[]}
     */
    public static function capabilities(int $userid): array {
        $system = \core\context\system::instance();
        $anyuser = has_capability('moodle/site:messageanyuser', $system, $userid);
        $courses = [];
        if (!$anyuser) {
            // The teacher override of core_message\api::can_contact_user(): messageanyuser in a shared course.
            foreach (enrol_get_all_users_courses($userid, true, 'id') as $course) {
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
     * @param int $userid The user.
     * @param int|null $now Issue time (defaults to time()).
     * @return array{token: string, exp: int}
     */
    public function issue(int $userid, ?int $now = null): array {
        $now = $now ?? time();
        $sessionid = (string) session_id();
        $claims = $this->build_claims($userid, $now, self::capabilities($userid), $sessionid);
        return [
            'token' => $this->sign($claims),
            'exp' => $claims['exp'],
        ];
    }
}

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

namespace block_dockchat;

use block_dockchat\local\token_issuer;
use Firebase\JWT\JWT;
use Firebase\JWT\Key;

/**
 * Tests of the dockchatd token issuer (claims of docs/PROTOCOL.md section 2.1).
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \block_dockchat\local\token_issuer
 */
final class token_issuer_test extends \advanced_testcase {
    /** @var string A secret for the tests. */
    private const SECRET = 'a-test-secret-that-is-long-enough-for-hs256-0123456789';

    /**
     * Decodes and verifies a token with Moodle's own JWT library.
     *
     * @param string $token The token.
     * @return \stdClass The claims.
     */
    private function decode(string $token): \stdClass {
        JWT::$leeway = 0;
        return JWT::decode($token, new Key(self::SECRET, 'HS256'));
    }

    /**
     * The install step generated a strong secret.
     */
    public function test_install_generated_a_secret(): void {
        $this->resetAfterTest();
        $secret = get_config('block_dockchat', 'secret');
        $this->assertIsString($secret);
        $this->assertGreaterThanOrEqual(64, strlen($secret));
    }

    /**
     * A student gets a token with the standard claims and no teacher override.
     */
    public function test_student_token_claims(): void {
        global $CFG;
        $this->resetAfterTest();
        set_config('secret', self::SECRET, 'block_dockchat');
        set_config('tokenlifetime', 300, 'block_dockchat');

        $course = $this->getDataGenerator()->create_course();
        $student = $this->getDataGenerator()->create_and_enrol($course, 'student');
        $this->setUser($student);

        $now = time();
        $issued = token_issuer::from_config()->issue((int) $student->id, $now);
        $claims = $this->decode($issued['token']);

        $this->assertSame($CFG->wwwroot, $claims->iss);
        $this->assertSame('dockchat', $claims->aud);
        $this->assertSame((string) $student->id, $claims->sub);
        $this->assertSame($now, $claims->iat);
        $this->assertSame($now + 300, $claims->exp);
        $this->assertSame($now + 300, $issued['exp']);
        $this->assertTrue($claims->caps->send);
        $this->assertFalse($claims->caps->readall);
        $this->assertFalse($claims->caps->anyuser);
        $this->assertSame([], $claims->caps->anyusercourses);
        // A student may not see hidden user fields (last access, when the site hides it).
        $this->assertFalse($claims->caps->viewhidden);
    }

    /**
     * A teacher may message anyone in the courses they teach (core_message's teacher override).
     */
    public function test_teacher_gets_anyusercourses(): void {
        $this->resetAfterTest();
        set_config('secret', self::SECRET, 'block_dockchat');

        $taught = $this->getDataGenerator()->create_course();
        $other = $this->getDataGenerator()->create_course();
        $teacher = $this->getDataGenerator()->create_and_enrol($taught, 'editingteacher');
        $this->getDataGenerator()->enrol_user($teacher->id, $other->id, 'student');

        $caps = token_issuer::capabilities((int) $teacher->id);
        $this->assertFalse($caps['anyuser']);
        $this->assertSame([(int) $taught->id], $caps['anyusercourses']);

        $claims = $this->decode(token_issuer::from_config()->issue((int) $teacher->id)['token']);
        $this->assertSame([(int) $taught->id], $claims->caps->anyusercourses);
    }

    /**
     * The site administrator may message anyone and read all messages.
     */
    public function test_admin_caps(): void {
        $this->resetAfterTest();
        $admin = get_admin();
        $caps = token_issuer::capabilities((int) $admin->id);
        $this->assertTrue($caps['send']);
        $this->assertTrue($caps['readall']);
        $this->assertTrue($caps['anyuser']);
        $this->assertSame([], $caps['anyusercourses']);
    }

    /**
     * Removing moodle/site:sendmessage shows in the token.
     */
    public function test_send_capability_prohibited(): void {
        $this->resetAfterTest();
        $user = $this->getDataGenerator()->create_user();
        $userrole = $this->getDataGenerator()->create_role();
        $this->getDataGenerator()->role_assign($userrole, $user->id, \core\context\system::instance()->id);
        assign_capability('moodle/site:sendmessage', CAP_PROHIBIT, $userrole, \core\context\system::instance()->id, true);

        $caps = token_issuer::capabilities((int) $user->id);
        $this->assertFalse($caps['send']);
    }

    /**
     * The lifetime setting is honoured within the bounds dockchatd accepts.
     */
    public function test_lifetime_is_clamped(): void {
        $this->resetAfterTest();
        set_config('secret', self::SECRET, 'block_dockchat');
        $user = $this->getDataGenerator()->create_user();

        set_config('tokenlifetime', 120, 'block_dockchat');
        $this->assertSame(120, token_issuer::from_config()->get_lifetime());
        set_config('tokenlifetime', 5, 'block_dockchat');
        $this->assertSame(token_issuer::MIN_LIFETIME, token_issuer::from_config()->get_lifetime());
        set_config('tokenlifetime', 86400, 'block_dockchat');
        $this->assertSame(token_issuer::MAX_LIFETIME, token_issuer::from_config()->get_lifetime());
        unset_config('tokenlifetime', 'block_dockchat');
        $this->assertSame(token_issuer::DEFAULT_LIFETIME, token_issuer::from_config()->get_lifetime());

        $now = time();
        set_config('tokenlifetime', 600, 'block_dockchat');
        $claims = $this->decode(token_issuer::from_config()->issue((int) $user->id, $now)['token']);
        $this->assertSame($now + 600, $claims->exp);
    }

    /**
     * Without a usable secret no token is minted.
     */
    public function test_missing_secret(): void {
        $this->resetAfterTest();
        set_config('secret', 'short', 'block_dockchat');
        $this->expectException(\moodle_exception::class);
        token_issuer::from_config();
    }

    /**
     * A token signed with another secret is refused by verification.
     */
    public function test_other_secret_does_not_verify(): void {
        $this->resetAfterTest();
        $user = $this->getDataGenerator()->create_user();
        $issuer = new token_issuer(str_repeat('x', 64), 'https://example.com', 300);
        $token = $issuer->issue((int) $user->id)['token'];
        $this->expectException(\Firebase\JWT\SignatureInvalidException::class);
        $this->decode($token);
    }

    /**
     * The session id is only carried hashed.
     */
    public function test_sid_is_hashed(): void {
        $this->resetAfterTest();
        $issuer = new token_issuer(self::SECRET, 'https://example.com', 300);
        $claims = $issuer->build_claims(3, 1000, [], 'the-session-id');
        $this->assertSame(hash('sha256', 'the-session-id'), $claims['sid']);
        $this->assertArrayNotHasKey('sid', $issuer->build_claims(3, 1000, [], ''));
    }
}

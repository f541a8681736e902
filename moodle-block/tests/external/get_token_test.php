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

namespace block_dockchat\external;

use core_external\external_api;
use Firebase\JWT\JWT;
use Firebase\JWT\Key;

/**
 * Tests of the external function block_dockchat_get_token.
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \block_dockchat\external\get_token
 */
final class get_token_test extends \advanced_testcase {
    /** @var string A secret for the tests. */
    private const SECRET = 'external-test-secret-0123456789-0123456789-0123456789';

    /**
     * Calls the function the way the AJAX layer does and cleans the result with its return description.
     *
     * @return array
     */
    private function call(): array {
        $result = get_token::execute();
        return external_api::clean_returnvalue(get_token::execute_returns(), $result);
    }

    /**
     * A logged-in user gets a token for themselves, its expiry and the WebSocket URL.
     */
    public function test_token_for_current_user(): void {
        global $CFG;
        $this->resetAfterTest();
        set_config('secret', self::SECRET, 'block_dockchat');
        set_config('wsurl', 'wss://chat.example.edu/ws', 'block_dockchat');
        $user = $this->getDataGenerator()->create_user();
        $this->setUser($user);

        $before = time();
        $result = $this->call();

        $this->assertSame('wss://chat.example.edu/ws', $result['wsurl']);
        $claims = JWT::decode($result['token'], new Key(self::SECRET, 'HS256'));
        $this->assertSame((string) $user->id, $claims->sub);
        $this->assertSame($CFG->wwwroot, $claims->iss);
        $this->assertSame('dockchat', $claims->aud);
        $this->assertSame($claims->exp, $result['exp']);
        $this->assertGreaterThanOrEqual($before + 300, $result['exp']);
    }

    /**
     * Without a configured URL the daemon is expected at /dockchat/ws on the Moodle host.
     */
    public function test_default_wsurl(): void {
        global $CFG;
        $this->resetAfterTest();
        set_config('secret', self::SECRET, 'block_dockchat');
        set_config('wsurl', '', 'block_dockchat');
        $this->setUser($this->getDataGenerator()->create_user());

        $result = $this->call();
        $expected = preg_replace('#^http#', 'ws', rtrim($CFG->wwwroot, '/')) . '/dockchat/ws';
        $this->assertSame($expected, $result['wsurl']);
    }

    /**
     * Guests never get a token.
     */
    public function test_guest_is_refused(): void {
        $this->resetAfterTest();
        set_config('secret', self::SECRET, 'block_dockchat');
        $this->setGuestUser();
        $this->expectException(\required_capability_exception::class);
        get_token::execute();
    }

    /**
     * Not logged in: no token.
     */
    public function test_not_logged_in_is_refused(): void {
        $this->resetAfterTest();
        set_config('secret', self::SECRET, 'block_dockchat');
        $this->setUser(0);
        $this->expectException(\moodle_exception::class);
        get_token::execute();
    }

    /**
     * Users whose role prohibits block/dockchat:use get no token.
     */
    public function test_capability_is_required(): void {
        $this->resetAfterTest();
        set_config('secret', self::SECRET, 'block_dockchat');
        $user = $this->getDataGenerator()->create_user();
        $syscontext = \core\context\system::instance();
        $roleid = $this->getDataGenerator()->create_role();
        assign_capability('block/dockchat:use', CAP_PROHIBIT, $roleid, $syscontext->id, true);
        $this->getDataGenerator()->role_assign($roleid, $user->id, $syscontext->id);
        $this->setUser($user);

        $this->expectException(\required_capability_exception::class);
        get_token::execute();
    }

    /**
     * The function is declared for AJAX with login required.
     */
    public function test_function_declaration(): void {
        $this->resetAfterTest();
        $info = external_api::external_function_info('block_dockchat_get_token');
        $this->assertTrue((bool) $info->allowed_from_ajax);
        $this->assertTrue((bool) $info->loginrequired);
        $this->assertSame(get_token::class, ltrim($info->classname, '\\'));
    }
}

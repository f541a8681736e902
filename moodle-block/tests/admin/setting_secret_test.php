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

namespace block_dockchat\admin;

/**
 * Tests of the token secret outside the settings form: the first install and the regenerate
 * action record the change in Moodle's config change log, masked like a password setting.
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \block_dockchat\admin\setting_secret
 */
final class setting_secret_test extends \advanced_testcase {
    /**
     * The config log rows of the secret, oldest first.
     *
     * @return \stdClass[]
     */
    private function log_rows(): array {
        global $DB;
        return array_values($DB->get_records('config_log', ['plugin' => 'block_dockchat', 'name' => 'secret'], 'id ASC'));
    }

    /**
     * The install step logged the generated secret, masked, as done during installation (user 0).
     */
    public function test_install_is_logged_masked(): void {
        $this->resetAfterTest();
        $rows = $this->log_rows();
        $this->assertNotEmpty($rows);
        $first = $rows[0];
        $this->assertSame(setting_secret::MASK, $first->value);
        $this->assertNull($first->oldvalue);
        $this->assertEquals(0, $first->userid);
    }

    /**
     * Regenerating logs the change, masked both ways, with the acting administrator; the secret
     * itself never reaches the log.
     */
    public function test_store_logs_the_change_masked(): void {
        global $DB, $USER;
        $this->resetAfterTest();
        $this->setAdminUser();
        $old = (string) get_config('block_dockchat', 'secret');
        $before = count($this->log_rows());
        $new = random_string(64);

        setting_secret::store($new);

        $this->assertSame($new, get_config('block_dockchat', 'secret'));
        $rows = $this->log_rows();
        $this->assertCount($before + 1, $rows);
        $last = end($rows);
        $this->assertSame(setting_secret::MASK, $last->value);
        $this->assertSame(setting_secret::MASK, $last->oldvalue);
        $this->assertEquals($USER->id, $last->userid);
        foreach ([$old, $new] as $secret) {
            $this->assertFalse($DB->record_exists_select('config_log',
                $DB->sql_compare_text('value') . ' = ? OR ' . $DB->sql_compare_text('oldvalue') . ' = ?',
                [$secret, $secret]));
        }
    }

    /**
     * Storing the same value again changes nothing and logs nothing, like the settings form.
     */
    public function test_store_same_value_is_not_logged(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $before = count($this->log_rows());
        setting_secret::store((string) get_config('block_dockchat', 'secret'));
        $this->assertCount($before, $this->log_rows());
    }
}

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

use block_dockchat\local\dock;

/**
 * Tests of the alerts' user preferences (issue 12): declared for the web services, handed to the
 * client with the page, exported by the privacy provider.
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \block_dockchat\local\dock::alert_preferences
 * @covers     ::block_dockchat_user_preferences
 */
final class alert_preferences_test extends \advanced_testcase {
    /**
     * Both preferences are declared as booleans the user may set for themselves only.
     *
     * @return void
     */
    public function test_preferences_are_declared(): void {
        global $CFG;
        require_once($CFG->dirroot . '/blocks/dockchat/lib.php');
        $this->resetAfterTest();

        $definitions = block_dockchat_user_preferences();
        $this->assertSame(array_values(dock::ALERT_PREFERENCES), array_keys($definitions));
        foreach ($definitions as $definition) {
            $this->assertSame(PARAM_BOOL, $definition['type']);
            $this->assertSame(NULL_NOT_ALLOWED, $definition['null']);
            $this->assertSame(0, $definition['default']);
        }

        $user = $this->getDataGenerator()->create_user();
        $other = $this->getDataGenerator()->create_user();
        $this->setUser($user);
        $this->assertSame(1, \core_user::clean_preference('1', 'block_dockchat_sound'));
        $this->assertTrue(\core_user::can_edit_preference('block_dockchat_desktop', $user));
        $this->assertFalse(\core_user::can_edit_preference('block_dockchat_desktop', $other));
    }

    /**
     * The web service the client calls stores the preference, and the next page hands it to the client.
     *
     * @return void
     */
    public function test_saved_preference_comes_with_the_next_page(): void {
        global $CFG;
        require_once($CFG->dirroot . '/user/externallib.php');
        $this->resetAfterTest();
        $user = $this->getDataGenerator()->create_user();
        $this->setUser($user);

        $this->assertSame(['sound' => false, 'desktop' => false], dock::js_config(false)['prefs']);

        \core_user_external::update_user_preferences(0, null, [['type' => 'block_dockchat_sound', 'value' => '1']]);
        $this->assertSame('1', get_user_preferences('block_dockchat_sound', null, $user->id));
        $this->assertSame(['sound' => true, 'desktop' => false], dock::alert_preferences());

        \core_user_external::update_user_preferences(0, null, [['type' => 'block_dockchat_sound', 'value' => '0']]);
        $this->assertSame(['sound' => false, 'desktop' => false], dock::alert_preferences());
    }

    /**
     * Reading the preferences for a page asks the database nothing: Moodle has them with the user.
     *
     * @return void
     */
    public function test_no_query_on_a_page(): void {
        global $DB;
        $this->resetAfterTest();
        $user = $this->getDataGenerator()->create_user();
        $this->setUser($user);
        set_user_preference('block_dockchat_desktop', 1);
        // Loaded once, as at login.
        dock::alert_preferences();

        $reads = $DB->perf_get_reads();
        $this->assertSame(['sound' => false, 'desktop' => true], dock::alert_preferences());
        $this->assertSame($reads, $DB->perf_get_reads());
    }

    /**
     * The privacy provider exports the preferences the user chose.
     *
     * @return void
     */
    public function test_privacy_export(): void {
        $this->resetAfterTest();
        $user = $this->getDataGenerator()->create_user();
        $this->setUser($user);
        set_user_preference('block_dockchat_sound', 1);

        \block_dockchat\privacy\provider::export_user_preferences((int) $user->id);
        $writer = \core_privacy\local\request\writer::with_context(\core\context\system::instance());
        $prefs = $writer->get_user_preferences('block_dockchat');
        $this->assertSame(get_string('yes'), $prefs->block_dockchat_sound->value);
        $this->assertFalse(isset($prefs->block_dockchat_desktop));
    }
}

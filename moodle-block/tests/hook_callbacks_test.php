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
use core\hook\output\before_footer_html_generation;

/**
 * Tests of the footer hook that puts the chat dock on every page.
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \block_dockchat\hook_callbacks
 * @covers     \block_dockchat\local\dock
 */
final class hook_callbacks_test extends \advanced_testcase {
    /**
     * Runs the hook on a fresh site page and returns the page's footer JavaScript.
     *
     * @return string
     */
    private function run_hook(): string {
        global $PAGE;
        dock::reset();
        $PAGE = new \moodle_page();
        $PAGE->set_context(\core\context\system::instance());
        $PAGE->set_url(new \moodle_url('/my/index.php'));
        $PAGE->set_pagelayout('mydashboard');
        hook_callbacks::before_footer_html_generation(new before_footer_html_generation($PAGE->get_renderer('core')));
        return $PAGE->requires->get_end_code();
    }

    /**
     * With followeverywhere on, a logged-in user gets the dock on any page, with the config of CONTRACTS 5.
     */
    public function test_dock_follows_user(): void {
        global $USER;
        $this->resetAfterTest();
        set_config('followeverywhere', 1, 'block_dockchat');
        set_config('wsurl', 'wss://chat.example.edu/ws', 'block_dockchat');
        $this->setUser($this->getDataGenerator()->create_user());

        $js = $this->run_hook();
        $this->assertStringContainsString('block_dockchat/main', $js);
        $this->assertMatchesRegularExpression('#wss:(\\\\/|/){2}chat\.example\.edu(\\\\/|/)ws#', $js);
        $this->assertStringContainsString('"userid":' . $USER->id, $js);
        $this->assertStringContainsString('"blockregion":false', $js);
    }

    /**
     * With followeverywhere off, nothing is added.
     */
    public function test_setting_off(): void {
        $this->resetAfterTest();
        set_config('followeverywhere', 0, 'block_dockchat');
        $this->setUser($this->getDataGenerator()->create_user());
        $this->assertStringNotContainsString('block_dockchat/main', $this->run_hook());
    }

    /**
     * Guests and visitors who are not logged in get no dock.
     */
    public function test_guest_and_anonymous(): void {
        $this->resetAfterTest();
        set_config('followeverywhere', 1, 'block_dockchat');
        $this->setGuestUser();
        $this->assertStringNotContainsString('block_dockchat/main', $this->run_hook());
        $this->setUser(0);
        $this->assertStringNotContainsString('block_dockchat/main', $this->run_hook());
    }

    /**
     * The dock is initialised once per page even if both the block and the hook ask.
     */
    public function test_init_once_per_page(): void {
        global $PAGE;
        $this->resetAfterTest();
        $this->setUser($this->getDataGenerator()->create_user());
        dock::reset();
        $PAGE = new \moodle_page();
        $PAGE->set_context(\core\context\system::instance());
        $PAGE->set_url(new \moodle_url('/my/index.php'));
        $this->assertTrue(dock::init_js($PAGE, true));
        $this->assertFalse(dock::init_js($PAGE, false));
        // One js_call_amd() names the module three times (M.util.js_pending, require, M.util.js_complete: see
        // page_requirements_manager::js_call_amd()); the require([...]) call is the one to count.
        $js = $PAGE->requires->get_end_code();
        $this->assertSame(1, substr_count($js, "require(['block_dockchat/main']"));
        $this->assertStringContainsString('"blockregion":true', $js);
        $this->assertStringNotContainsString('"blockregion":false', $js);
    }

    /**
     * The footer hook writes the dock's first-render templates into the page once, in a JSON data element no
     * template text can end, and their strings join the page's M.str (issue 15 item 2).
     */
    public function test_first_render_templates_come_with_the_page(): void {
        global $PAGE;
        $this->resetAfterTest();
        set_config('followeverywhere', 1, 'block_dockchat');
        set_config('launcher', 'off', 'block_dockchat');
        $this->setUser($this->getDataGenerator()->create_user());
        dock::reset();
        $PAGE = new \moodle_page();
        $PAGE->set_context(\core\context\system::instance());
        $PAGE->set_url(new \moodle_url('/my/index.php'));
        $PAGE->set_pagelayout('mydashboard');
        $hook = new before_footer_html_generation($PAGE->get_renderer('core'));
        hook_callbacks::before_footer_html_generation($hook);
        $html = $hook->get_output();

        $this->assertSame(1, preg_match('#^<(\w+) type="application/json" data-region="block_dockchat-templates">(.*)</\1>$#s',
            $html, $m));
        $this->assertSame('script', $m[1]);
        $this->assertStringNotContainsString('<', $m[2]);
        $data = json_decode($m[2], true);
        $expected = array_map(fn($name) => 'block_dockchat/' . $name, dock::FIRST_RENDER_TEMPLATES);
        $this->assertSame($expected, array_keys($data['templates']));
        $loader = new \core\output\mustache_template_source_loader();
        $this->assertSame($loader->load('block_dockchat', 'window', $PAGE->theme->name),
            $data['templates']['block_dockchat/window']);

        $js = $PAGE->requires->get_end_code();
        $this->assertStringContainsString('"dockregion"', $js, 'a string of the dock template joins M.str');
        $this->assertStringContainsString('"backtochats"', $js, 'a string of the window template joins M.str');

        $again = new before_footer_html_generation($PAGE->get_renderer('core'));
        hook_callbacks::before_footer_html_generation($again);
        $this->assertSame('', $again->get_output(), 'once per page');
    }
}

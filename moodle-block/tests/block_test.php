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
 * Tests of the block itself: who sees it and what it starts.
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \block_dockchat
 */
final class block_test extends \advanced_testcase {
    /**
     * Adds the block to a course page and returns it, loaded for the current user.
     *
     * @param \stdClass $course The course.
     * @return \block_base
     */
    private function block_on_course_page(\stdClass $course): \block_base {
        global $CFG, $PAGE;
        require_once($CFG->libdir . '/blocklib.php');

        dock::reset();
        $PAGE = new \moodle_page();
        $PAGE->set_course($course);
        $PAGE->set_url(new \moodle_url('/course/view.php', ['id' => $course->id]));
        $PAGE->set_pagelayout('course');

        /** @var \block_dockchat_generator $generator */
        $generator = $this->getDataGenerator()->get_plugin_generator('block_dockchat');
        $record = $generator->create_instance([
            'parentcontextid' => \core\context\course::instance($course->id)->id,
            'pagetypepattern' => '*',
        ]);
        // Loaded by the page's block manager, as a page does (with the visible and position fields it joins in).
        $PAGE->blocks->add_region($record->defaultregion);
        $PAGE->blocks->load_blocks();
        foreach ($PAGE->blocks->get_blocks_for_region($record->defaultregion) as $block) {
            if ((int) $block->instance->id === (int) $record->id) {
                return $block;
            }
        }
        $this->fail('The block instance is not on the page');
    }

    /**
     * A course member sees the online list container and the dock starts with the block region.
     */
    public function test_member_gets_content_and_dock(): void {
        global $PAGE;
        $this->resetAfterTest();
        $course = $this->getDataGenerator()->create_course();
        $student = $this->getDataGenerator()->create_and_enrol($course, 'student');
        $this->setUser($student);

        $block = $this->block_on_course_page($course);
        // As the page's block region renders it: get_content_for_output() calls get_content(), then
        // get_required_javascript(), where the dock starts (blocks/moodleblock.class.php formatted_contents()).
        $bc = $block->get_content_for_output($PAGE->get_renderer('core'));

        $this->assertNotNull($bc);
        $this->assertStringContainsString('data-region="block_dockchat-online"', $bc->content);
        $js = $PAGE->requires->get_end_code();
        $this->assertSame(1, self::amd_calls($js));
        $this->assertStringContainsString('"blockregion":true', $js);

        // Rendered a second time (another region asking, a re-render): still one init on the page.
        $block->get_content_for_output($PAGE->get_renderer('core'));
        $this->assertSame(1, self::amd_calls($PAGE->requires->get_end_code()));
    }

    /**
     * How many times block_dockchat/main is required in a page's footer JavaScript.
     *
     * One js_call_amd() writes the module name three times (M.util.js_pending, require, M.util.js_complete in
     * page_requirements_manager::js_call_amd()), so the require([...]) call is what is counted.
     *
     * @param string $js The page's end code.
     * @return int
     */
    private static function amd_calls(string $js): int {
        return substr_count($js, "require(['block_dockchat/main']");
    }

    /**
     * Guests get no content, so the block is not shown, and no dock.
     */
    public function test_guest_gets_nothing(): void {
        global $PAGE;
        $this->resetAfterTest();
        $course = $this->getDataGenerator()->create_course();
        $this->setGuestUser();

        $block = $this->block_on_course_page($course);
        $this->assertSame('', $block->get_content()->text);
        // Rendered as the page would: the block is empty, so not shown, and starts no dock.
        $this->assertNull($block->get_content_for_output($PAGE->get_renderer('core')));
        $this->assertStringNotContainsString('block_dockchat/main', $PAGE->requires->get_end_code());
    }

    /**
     * The block declares its settings, one instance per page and every page type.
     */
    public function test_block_declaration(): void {
        $this->resetAfterTest();
        $course = $this->getDataGenerator()->create_course();
        $this->setAdminUser();
        $block = $this->block_on_course_page($course);
        $this->assertTrue($block->has_config());
        $this->assertFalse($block->instance_allow_multiple());
        $this->assertSame(['all' => true], $block->applicable_formats());
    }
}

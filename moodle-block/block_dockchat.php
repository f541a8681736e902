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

/**
 * Block dockchat: online course-mates and chat windows docked at the bottom of the page.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

use block_dockchat\local\dock;
use block_dockchat\output\main;

/**
 * The block. Thin: the list is live data that the JavaScript client draws.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class block_dockchat extends block_base {
    /**
     * Sets the block title: what the block shows, the online course-mates.
     *
     * @return void
     */
    public function init() {
        $this->title = get_string('onlinelist', 'block_dockchat');
    }

    /**
     * Where the block can be added: any page (course, front page, Dashboard, activities).
     *
     * @return array
     */
    public function applicable_formats() {
        return ['all' => true];
    }

    /**
     * The block has site settings (settings.php).
     *
     * @return bool
     */
    public function has_config() {
        return true;
    }

    /**
     * One dock per page is enough.
     *
     * @return bool
     */
    public function instance_allow_multiple() {
        return false;
    }

    /**
     * Renders the container of the online list (the dock's JavaScript starts in
     * get_required_javascript(), which Moodle calls only for a block it actually shows).
     *
     * Guests, visitors who are not logged in and users without block/dockchat:use get no
     * content, so the block is not shown to them.
     *
     * @return stdClass
     */
    public function get_content() {
        if ($this->content !== null) {
            return $this->content;
        }
        $this->content = new stdClass();
        $this->content->text = '';
        $this->content->footer = '';

        if (empty($this->instance) || !dock::can_use($this->context)) {
            return $this->content;
        }

        $renderer = $this->page->get_renderer('block_dockchat');
        $this->content->text = $renderer->render(new main());

        return $this->content;
    }

    /**
     * Starts the dock's JavaScript for a block that is shown (a hidden instance starts nothing).
     *
     * @return void
     */
    public function get_required_javascript() {
        parent::get_required_javascript();
        if (!empty($this->instance) && dock::can_use($this->context)) {
            dock::init_js($this->page, true);
        }
    }
}

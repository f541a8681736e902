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
 * Hook callbacks of block_dockchat (registered in db/hooks.php).
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class hook_callbacks {
    /**
     * Puts the chat dock on every page when the admin setting followeverywhere is on, or when a launcher
     * (block_dockchat/launcher) is there to open its list from.
     *
     * Runs before the footer's JavaScript is finalised, so js_call_amd still reaches the page.
     * On pages that show the block (or the navbar launcher), the dock has already been started, and this
     * does nothing.
     *
     * @param before_footer_html_generation $hook The hook.
     * @return void
     */
    public static function before_footer_html_generation(before_footer_html_generation $hook): void {
        if (during_initial_install()) {
            return;
        }
        $follow = (bool) get_config('block_dockchat', 'followeverywhere');
        if (!$follow && dock::launcher_mode() === dock::LAUNCHER_OFF) {
            return;
        }
        // The page being rendered, as the renderer that dispatched the hook knows it.
        $page = $hook->renderer->get_page();
        if (!dock::page_allows_dock($page)) {
            return;
        }
        if (!dock::can_use($page->context)) {
            return;
        }
        if (!$follow && dock::launcher_for_user() === dock::LAUNCHER_OFF) {
            // Only the launcher would have brought the dock, and this user gets none.
            return;
        }
        dock::init_js($page, false);
    }
}

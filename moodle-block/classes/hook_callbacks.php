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
use core\hook\output\before_http_headers;

/**
 * Hook callbacks of block_dockchat (registered in db/hooks.php).
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class hook_callbacks {
    /**
     * Queues the dock's init as the page's output starts, on pages that get the dock whatever their blocks
     * (followeverywhere, or a launcher): it is then ahead of the inits queued while the page is rendered
     * (blocks, navigation, the footer's), so the dock's module is asked for first (issue 15 item 2).
     * The block (get_required_javascript) and the footer hook then find it queued and add nothing.
     *
     * @param before_http_headers $hook The hook.
     * @return void
     */
    public static function before_http_headers(before_http_headers $hook): void {
        self::start_on_every_page($hook->renderer->get_page());
    }

    /**
     * Puts the chat dock on every page when the admin setting followeverywhere is on, or when a launcher
     * (block_dockchat/launcher) is there to open its list from.
     *
     * Runs before the footer's JavaScript is finalised, so js_call_amd still reaches the page. Usually the
     * header hook (or the block) has queued the dock already, and this does nothing.
     *
     * Then, on every page the dock was started on (by whichever caller), adds the element that carries the
     * dock's first-render templates (dock::templates_html), so a cold cache makes no template request before
     * the dock is drawn (issue 15 item 2). Here all of the page's blocks are known, and the strings those
     * templates use can still join the page's M.str.
     *
     * @param before_footer_html_generation $hook The hook.
     * @return void
     */
    public static function before_footer_html_generation(before_footer_html_generation $hook): void {
        // The page being rendered, as the renderer that dispatched the hook knows it.
        $page = $hook->renderer->get_page();
        self::start_on_every_page($page);
        $hook->add_html(dock::templates_html($page));
    }

    /**
     * Starts the dock on a page when it belongs on every page for this user (once per page: dock::init_js).
     *
     * @param \moodle_page $page The page being rendered.
     * @return void
     */
    private static function start_on_every_page(\moodle_page $page): void {
        if (during_initial_install()) {
            return;
        }
        $follow = (bool) get_config('block_dockchat', 'followeverywhere');
        if (!$follow && dock::launcher_mode() === dock::LAUNCHER_OFF) {
            return;
        }
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

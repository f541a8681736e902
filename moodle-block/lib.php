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
 * Callbacks of block_dockchat that Moodle looks up by name.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

/**
 * The user preferences of the dock, so that its JavaScript may set them through the web services
 * core_user_update_user_preferences and core_user_set_user_preferences: the alerts' sound and desktop
 * notifications (issue 12), each off until the user turns it on, for the user themselves only.
 *
 * @return array[] preference name => definition
 */
function block_dockchat_user_preferences(): array {
    $definition = [
        'type' => PARAM_BOOL,
        'null' => NULL_NOT_ALLOWED,
        'default' => 0,
        'permissioncallback' => [core_user::class, 'is_current_user'],
    ];
    return [
        'block_dockchat_sound' => $definition,
        'block_dockchat_desktop' => $definition,
    ];
}

/**
 * The dock's launcher in the navbar, beside Moodle's messages and notifications (setting
 * block_dockchat/launcher = navbar): an icon button that opens the chat list on every page, for users who
 * may chat, so nobody has to find the block in the drawer. Its unread badge is filled by the dock's
 * JavaScript (from the previous page's snapshot, then the socket), so the page costs no query for it.
 *
 * Moodle 5.1 still calls this legacy callback from core_renderer::navbar_plugin_output(): it has no hook
 * for the navbar's icons (the primary_extend hook adds navigation nodes, not buttons with a badge).
 *
 * @param renderer_base $renderer The renderer of the page's navbar.
 * @return string HTML.
 */
function block_dockchat_render_navbar_output(renderer_base $renderer): string {
    if (during_initial_install() || \block_dockchat\local\dock::launcher_mode() !== \block_dockchat\local\dock::LAUNCHER_NAVBAR) {
        return '';
    }
    $page = $renderer->get_page();
    if (!\block_dockchat\local\dock::page_allows_dock($page)
            || \block_dockchat\local\dock::launcher_for_user() !== \block_dockchat\local\dock::LAUNCHER_NAVBAR) {
        return '';
    }
    // The button needs the dock on this page (a no-op when the block has queued it already).
    \block_dockchat\local\dock::init_js($page, false);
    return $renderer->render_from_template('block_dockchat/navlauncher', []);
}

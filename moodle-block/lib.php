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

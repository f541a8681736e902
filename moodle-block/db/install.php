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
 * Post-installation steps of block_dockchat.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

/**
 * Generates the secret that signs the tokens of dockchatd, unless one is already set.
 *
 * dockchatd reads it from config_plugins (plugin block_dockchat, name secret), so the
 * daemon only needs access to the database to be configured. The change is recorded, masked, in
 * Moodle's config change log, as for any password setting.
 *
 * @return bool
 */
function xmldb_block_dockchat_install() {
    if (strlen((string) get_config('block_dockchat', 'secret')) < 32) {
        \block_dockchat\admin\setting_secret::store(random_string(64));
    }
    return true;
}

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

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->libdir . '/adminlib.php');

/**
 * Admin setting for the public WebSocket URL of dockchatd: empty or a ws:// / wss:// URL.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class setting_wsurl extends \admin_setting_configtext {
    /**
     * Accepts an empty value (the default URL is used) or a ws:// or wss:// URL with a host.
     *
     * @param string $data The submitted value.
     * @return bool|string True if valid, otherwise the error message.
     */
    public function validate($data) {
        $data = trim((string) $data);
        if ($data === '') {
            return true;
        }
        $parts = parse_url($data);
        if ($parts === false || empty($parts['host']) || !in_array($parts['scheme'] ?? '', ['ws', 'wss'], true)
                || preg_match('/\s/', $data)) {
            return get_string('wsurl_invalid', 'block_dockchat');
        }
        return true;
    }
}

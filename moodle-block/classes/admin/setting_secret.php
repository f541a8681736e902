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

use block_dockchat\local\token_issuer;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->libdir . '/adminlib.php');

/**
 * Admin setting for the token secret shared with dockchatd.
 *
 * A password field with Moodle's "reveal" toggle, so the administrator can copy it into dockchatd's
 * configuration (dockchatd also reads it from config_plugins by itself), while the config change
 * log records it masked. It must stay long and unguessable.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class setting_secret extends \admin_setting_configpasswordunmask {
    /** @var string What Moodle writes to the config log in place of a password's value. */
    public const MASK = '********';

    /**
     * Stores a secret set outside the settings form (the first install, the regenerate action) and
     * records the change in Moodle's config change log, masked as the form records a password.
     *
     * @param string $secret The new secret.
     * @return void
     */
    public static function store(string $secret): void {
        $old = get_config('block_dockchat', 'secret');
        $old = ($old === false) ? null : (string) $old;
        if ($old === $secret) {
            return;
        }
        set_config('secret', $secret, 'block_dockchat');
        add_to_config_log(
            'secret',
            ($old === null || $old === '') ? $old : self::MASK,
            ($secret === '') ? '' : self::MASK,
            'block_dockchat'
        );
    }

    /**
     * Accepts printable ASCII without spaces, at least token_issuer::MIN_SECRET_LENGTH characters.
     *
     * @param string $data The submitted value.
     * @return bool|string True if valid, otherwise the error message.
     */
    public function validate($data) {
        $data = (string) $data;
        if (strlen($data) < token_issuer::MIN_SECRET_LENGTH || !preg_match('/^[\x21-\x7e]+$/', $data)) {
            return get_string('secret_invalid', 'block_dockchat', token_issuer::MIN_SECRET_LENGTH);
        }
        return true;
    }
}

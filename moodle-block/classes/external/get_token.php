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

namespace block_dockchat\external;

use block_dockchat\local\dock;
use block_dockchat\local\token_issuer;
use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_single_structure;
use core_external\external_value;

/**
 * External function block_dockchat_get_token: a fresh dockchatd token for the current user.
 *
 * Called through core/ajax (session cookie + sesskey) when the client connects, reconnects
 * and before its token expires.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_token extends external_api {
    /**
     * No parameters: the user comes from the session, never from the request.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([]);
    }

    /**
     * Mints a token for the logged-in user.
     *
     * @return array{token: string, exp: int, wsurl: string}
     */
    public static function execute(): array {
        global $USER;

        self::validate_parameters(self::execute_parameters(), []);
        $context = \core\context\system::instance();
        self::validate_context($context);
        require_capability('block/dockchat:use', $context);
        if (isguestuser() || !dock::account_may_chat()) {
            // Guests share one account and cannot be told apart; an administrator logged in as
            // someone else must not chat under their name.
            throw new \required_capability_exception($context, 'block/dockchat:use', 'nopermissions', '');
        }

        $issued = token_issuer::from_config()->issue((int) $USER->id);
        return [
            'token' => $issued['token'],
            'exp' => $issued['exp'],
            'wsurl' => dock::wsurl(),
        ];
    }

    /**
     * The token, its expiry and where to use it.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'token' => new external_value(PARAM_RAW, 'Signed token (JWT, HS256) for the hello frame of dockchatd'),
            'exp' => new external_value(PARAM_INT, 'Expiry of the token, Unix seconds'),
            'wsurl' => new external_value(PARAM_RAW, 'WebSocket URL of dockchatd'),
        ]);
    }
}

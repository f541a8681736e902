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
 * External functions of block_dockchat.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$functions = [
    'block_dockchat_get_token' => [
        'classname' => \block_dockchat\external\get_token::class,
        'description' => 'Returns a short-lived token that authenticates the current user to the dockchatd chat service.',
        'type' => 'read',
        'ajax' => true,
        'loginrequired' => true,
        // Minting a token only reads the session: do not hold the session lock while doing it.
        'readonlysession' => true,
        'capabilities' => 'block/dockchat:use',
    ],
];

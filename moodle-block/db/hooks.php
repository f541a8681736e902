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
 * Hook callbacks of block_dockchat.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$callbacks = [
    [
        // On pages that get the dock anyway (followeverywhere, or a launcher), its init is queued before the
        // page's other output, so it comes first among Moodle's queued AMD inits (issue 15 item 2).
        'hook' => \core\hook\output\before_http_headers::class,
        'callback' => \block_dockchat\hook_callbacks::class . '::before_http_headers',
    ],
    [
        // The docked chat windows follow the user on every page (admin setting followeverywhere).
        'hook' => \core\hook\output\before_footer_html_generation::class,
        'callback' => \block_dockchat\hook_callbacks::class . '::before_footer_html_generation',
    ],
];

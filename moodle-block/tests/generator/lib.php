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
 * Data generator of block_dockchat for PHPUnit and Behat.
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

/**
 * Creates dock chat block instances (the defaults of testing_block_generator suffice).
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class block_dockchat_generator extends testing_block_generator {
}

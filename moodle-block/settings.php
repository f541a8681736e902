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
 * Site settings of block_dockchat.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

if ($ADMIN->fulltree) {
    // Where browsers reach dockchatd.
    $settings->add(new \block_dockchat\admin\setting_wsurl(
        'block_dockchat/wsurl',
        new lang_string('wsurl', 'block_dockchat'),
        new lang_string('wsurl_desc', 'block_dockchat', \block_dockchat\local\dock::default_wsurl()),
        '',
        PARAM_RAW_TRIMMED,
        60
    ));

    // The token secret: generated at install, shown so dockchatd can be configured, regenerable.
    $regenerateurl = new moodle_url('/blocks/dockchat/regenerate.php');
    $settings->add(new \block_dockchat\admin\setting_secret(
        'block_dockchat/secret',
        new lang_string('secret', 'block_dockchat'),
        new lang_string('secret_desc', 'block_dockchat', $regenerateurl->out()),
        null // No default: install.php generates it, and installation must never overwrite it.
    ));

    $settings->add(new admin_setting_configtext(
        'block_dockchat/tokenlifetime',
        new lang_string('tokenlifetime', 'block_dockchat'),
        new lang_string('tokenlifetime_desc', 'block_dockchat'),
        \block_dockchat\local\token_issuer::DEFAULT_LIFETIME,
        '/^([6-9][0-9]|[1-9][0-9]{2}|[1-2][0-9]{3}|3[0-5][0-9]{2}|3600)$/',
        6
    ));

    // Notification policy of dock messages (docs/design/moodle-store.md §5.7): 0 = Moodle's, at once.
    $settings->add(new admin_setting_configduration(
        'block_dockchat/notifydelay',
        new lang_string('notifydelay', 'block_dockchat'),
        new lang_string('notifydelay_desc', 'block_dockchat'),
        \block_dockchat\local\queue\processor::DEFAULT_NOTIFY_DELAY,
        1
    ));

    $settings->add(new admin_setting_configcheckbox(
        'block_dockchat/followeverywhere',
        new lang_string('followeverywhere', 'block_dockchat'),
        new lang_string('followeverywhere_desc', 'block_dockchat'),
        1
    ));

    // Where the dock's list opens from on every page, without the block (issue 12 item 7). Saved through
    // Moodle's admin settings, so every change is in the config log.
    $settings->add(new admin_setting_configselect(
        'block_dockchat/launcher',
        new lang_string('launcher', 'block_dockchat'),
        new lang_string('launcher_desc', 'block_dockchat'),
        \block_dockchat\local\dock::LAUNCHER_NAVBAR,
        [
            \block_dockchat\local\dock::LAUNCHER_NAVBAR => new lang_string('launchernavbar', 'block_dockchat'),
            \block_dockchat\local\dock::LAUNCHER_FLOATING => new lang_string('launcherfloating', 'block_dockchat'),
            \block_dockchat\local\dock::LAUNCHER_OFF => new lang_string('launcheroff', 'block_dockchat'),
        ]
    ));
}

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
 * Regenerates the token secret shared with dockchatd (site administrators only).
 *
 * Every token signed with the old secret stops working. dockchatd picks the new secret up from the
 * database by itself (only a token_secret set in its own configuration must be changed by hand);
 * open pages fetch fresh tokens. The change is recorded, masked, in Moodle's config change log.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require(__DIR__ . '/../../config.php');

$confirm = optional_param('confirm', 0, PARAM_BOOL);

$context = \core\context\system::instance();
$url = new moodle_url('/blocks/dockchat/regenerate.php');
$settingsurl = new moodle_url('/admin/settings.php', ['section' => 'blocksettingdockchat']);

require_login(null, false);
require_capability('moodle/site:config', $context);

$PAGE->set_context($context);
$PAGE->set_url($url);
$PAGE->set_pagelayout('admin');
$PAGE->set_title(get_string('regeneratesecret', 'block_dockchat'));
$PAGE->set_heading(get_string('regeneratesecret', 'block_dockchat'));

if ($confirm) {
    require_sesskey();
    \block_dockchat\admin\setting_secret::store(random_string(64));
    redirect($settingsurl, get_string('secretregenerated', 'block_dockchat'), null,
        \core\output\notification::NOTIFY_SUCCESS);
}

echo $OUTPUT->header();
echo $OUTPUT->confirm(
    get_string('regeneratesecret_confirm', 'block_dockchat'),
    new moodle_url($url, ['confirm' => 1, 'sesskey' => sesskey()]),
    $settingsurl
);
echo $OUTPUT->footer();

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
 * Upgrade steps of block_dockchat.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

// Loaded by path: the class map cached before this release may not know the class yet.
require_once(__DIR__ . '/../classes/local/migration.php');

/**
 * Upgrades block_dockchat from an older version.
 *
 * From 2026120100 on, the chat is stored in Moodle's messaging tables (issue 10): the steps create
 * the block's new tables, move the history of the old ones (block_dockchat_conv, _msg, _read) into
 * Moodle's, and drop the old tables once they are empty. The migration itself lives in
 * \block_dockchat\local\migration, which cli/migrate.php also runs. Every upgrade also makes sure
 * the token secret exists, so a site that lost it (for example a copied config_plugins table) gets one.
 *
 * @param int $oldversion The version we are upgrading from.
 * @return bool
 */
function xmldb_block_dockchat_upgrade($oldversion) {
    global $DB;
    $dbman = $DB->get_manager();

    if ($oldversion < 2026120100) {
        // Create block_dockchat_sent, block_dockchat_job and block_dockchat_worker, as in install.xml.
        \block_dockchat\local\migration::create_new_tables();

        // Dockchat savepoint reached.
        upgrade_block_savepoint(true, 2026120100, 'dockchat');
    }

    if ($oldversion < 2026120101) {
        // Move the old messages into Moodle's messages table, 500 per transaction, in old-id order. An
        // interrupted upgrade resumes with the first message not yet moved.
        $migration = new \block_dockchat\local\migration();
        $total = \block_dockchat\local\migration::count_pending();
        $progress = null;
        if ($total > 0 && !CLI_SCRIPT) {
            $progress = new progress_bar('block_dockchat_migration', 500, true);
        }
        upgrade_set_timeout(600);
        $migration->run(null, function (int $done, int $total) use ($progress) {
            upgrade_set_timeout(600);
            if ($progress) {
                $progress->update($done, $total, get_string('migrationprogress', 'block_dockchat',
                    (object) ['done' => $done, 'total' => $total]));
            }
        });

        // Dockchat savepoint reached.
        upgrade_block_savepoint(true, 2026120101, 'dockchat');
    }

    if ($oldversion < 2026120102) {
        // The old conversations and read markers are no longer needed once their messages moved.
        \block_dockchat\local\migration::delete_leftovers();
        \block_dockchat\local\migration::purge_caches();
        // Message ids changed: clients drop the resume cursors they kept from the old id space.
        set_config('storeepoch', random_string(16), 'block_dockchat');

        // Dockchat savepoint reached.
        upgrade_block_savepoint(true, 2026120102, 'dockchat');
    }

    if ($oldversion < 2026120103) {
        // Drop block_dockchat_msg, _read and _conv, only when all are empty (else an upgrade_exception).
        \block_dockchat\local\migration::drop_old_tables(2026120103);

        // Dockchat savepoint reached.
        upgrade_block_savepoint(true, 2026120103, 'dockchat');
    }

    if ($oldversion < 2026120104) {
        // Every dock message inserts into block_dockchat_sent on the path of its ack: drop the two
        // indexes nothing needs there (the worker finds its claimed rows through state-timedue; merges
        // are rare). Fewer index entries per message on Moodle's compressed pages.
        $table = new xmldb_table('block_dockchat_sent');
        foreach (['claimtoken' => ['claimtoken'], 'conversationid' => ['conversationid']] as $name => $fields) {
            $index = new xmldb_index($name, XMLDB_INDEX_NOTUNIQUE, $fields);
            if ($dbman->index_exists($table, $index)) {
                $dbman->drop_index($table, $index);
            }
        }

        // Dockchat savepoint reached.
        upgrade_block_savepoint(true, 2026120104, 'dockchat');
    }

    if (strlen((string) get_config('block_dockchat', 'secret')) < 32) {
        set_config('secret', random_string(64), 'block_dockchat');
    }
    return true;
}

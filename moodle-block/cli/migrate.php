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
 * Moves the chat history of block_dockchat's old tables into Moodle's messaging tables from the
 * command line, the same migration the upgrade to 2026120100 runs.
 *
 * Large sites run it before the web upgrade, so the upgrade itself has little left to do.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

define('CLI_SCRIPT', true);

require(__DIR__ . '/../../../config.php');
require_once($CFG->libdir . '/clilib.php');
// Loaded by path: before the upgrade, Moodle's cached class map may not know the class yet.
require_once(__DIR__ . '/../classes/local/migration.php');

use block_dockchat\local\migration;

[$options, $unrecognised] = cli_get_params([
    'help' => false,
    'run' => false,
    'chunks' => 0,
    'discard-unmigratable' => false,
], [
    'h' => 'help',
]);

if ($unrecognised) {
    cli_error('Unknown option(s): ' . implode(', ', $unrecognised) . "\nSee --help.");
}

$help = <<<EOT
Moves the chat history of block_dockchat's old tables (block_dockchat_conv, block_dockchat_msg,
block_dockchat_read) into Moodle's messaging tables: each pair's messages go into the pair's Moodle
conversation (an existing one is reused), read markers become Moodle read actions. It is the
migration the block's upgrade to 2026120100 runs; on a large site, run it before the web upgrade.

Stop the old dockchatd first. Each chunk of 500 messages is one transaction; the script can be
stopped at any time and run again: it resumes with the first message not yet moved.

Without --run it only reports what is left.

Options:
--run                   Migrate.
--chunks=N              With --run: stop after N chunks of 500 messages (default: until done).
--discard-unmigratable  Delete the old messages that cannot be migrated (conversations of a user
                        with themselves, messages without a conversation), which otherwise keep
                        the upgrade from dropping the old tables. They are listed without --run.
-h, --help              Print this help.

Example:
\$ sudo -u www-data /usr/bin/php blocks/dockchat/cli/migrate.php --run

EOT;

if ($options['help']) {
    echo $help;
    exit(0);
}

/**
 * Prints what is left in the old tables.
 *
 * @return void
 */
function block_dockchat_cli_report(): void {
    $pending = migration::count_pending();
    $skipped = migration::count_unmigratable();
    cli_writeln("Messages left to migrate: $pending");
    cli_writeln("Conversations of a user with themselves: {$skipped->selfconversations} "
        . "({$skipped->selfmessages} messages, cannot be migrated)");
    cli_writeln("Messages without a conversation: {$skipped->orphanmessages} (cannot be migrated)");
    foreach (migration::old_rows() as $table => $count) {
        cli_writeln("Rows in $table: $count");
    }
}

if (!migration::old_tables_exist()) {
    cli_writeln('The old chat tables do not exist: nothing to migrate.');
    exit(0);
}

if ($options['discard-unmigratable']) {
    $deleted = migration::discard_unmigratable();
    cli_writeln("Deleted $deleted old message(s) that could not be migrated.");
}

if (!$options['run']) {
    block_dockchat_cli_report();
    if (!$options['discard-unmigratable']) {
        cli_writeln('Nothing was changed; use --run to migrate (see --help).');
    }
    exit(0);
}

$chunks = (int) $options['chunks'];
if ($chunks < 0) {
    cli_error('--chunks must be 0 or more.');
}

// The new tables may not exist yet when this runs before the upgrade.
migration::create_new_tables();

$migration = new migration();
$start = microtime(true);
$finished = $migration->run($chunks > 0 ? $chunks : null, function (int $done, int $total) use ($start) {
    $rate = $done / max(0.001, microtime(true) - $start);
    cli_writeln(sprintf('%d / %d messages (%.0f/s)', $done, $total, $rate));
});
$stats = $migration->get_stats();
migration::purge_caches();

cli_writeln("Migrated {$stats->messages} message(s) in {$stats->chunks} chunk(s): "
    . "{$stats->conversationscreated} conversation(s) created, {$stats->conversationsreused} reused, "
    . "{$stats->readactions} read action(s), {$stats->duplicatecids} client id(s) already in block_dockchat_sent.");
if ($finished) {
    migration::delete_leftovers();
    cli_writeln('Done. The upgrade drops the old tables once they are empty.');
}
block_dockchat_cli_report();
exit(0);

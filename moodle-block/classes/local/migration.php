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

namespace block_dockchat\local;

use core_message\api;
use core_message\helper;

/**
 * Moves the chat history of the block's old tables into Moodle's messaging tables (issue 10).
 *
 * Releases before 2026120100 stored the chat in block_dockchat_conv (one row per pair of users),
 * block_dockchat_msg (the messages) and block_dockchat_read (per user and pair, the newest message
 * read). dockchatd now writes Moodle's own `messages`, `message_conversations` and
 * `message_user_actions`, with the client message ids in block_dockchat_sent.
 *
 * The messages move in chunks, in global old-id order. Each chunk is one delegated transaction that
 * resolves the core individual conversation of every pair (an existing one is reused, which merges
 * the dock's history with what users wrote in Moodle's drawer), inserts the `messages` rows, their
 * block_dockchat_sent rows (state done: history runs no processors and fires no events), turns the
 * read markers into `message_user_actions` rows, and deletes the old rows it migrated. A message
 * therefore moves exactly once, and a run that stops anywhere resumes where it stopped.
 *
 * Used by db/upgrade.php and by cli/migrate.php (which large sites run before the web upgrade).
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class migration {
    /** @var int Old messages migrated per transaction. */
    public const CHUNK_SIZE = 500;

    /** @var int block_dockchat_sent.state of a message whose send path has nothing left to do. */
    public const SENT_STATE_DONE = 4;

    /** @var string[] The tables of releases before 2026120100, in the order they are dropped. */
    public const OLD_TABLES = ['block_dockchat_msg', 'block_dockchat_read', 'block_dockchat_conv'];

    /** @var int[] Old conversation id => id of its core conversation, for the chunks committed so far. */
    protected array $conversations = [];

    /** @var \stdClass What this object migrated so far (see {@see self::new_stats()}). */
    protected \stdClass $stats;

    /**
     * Starts a migration with empty counters.
     */
    public function __construct() {
        $this->stats = self::new_stats();
    }

    /**
     * Counters of a run.
     *
     * @return \stdClass chunks, messages, conversationscreated, conversationsreused, readactions, duplicatecids
     */
    protected static function new_stats(): \stdClass {
        return (object) [
            'chunks' => 0,
            'messages' => 0,
            'conversationscreated' => 0,
            'conversationsreused' => 0,
            'readactions' => 0,
            'duplicatecids' => 0,
        ];
    }

    /**
     * What this object has migrated so far.
     *
     * @return \stdClass See {@see self::new_stats()}.
     */
    public function get_stats(): \stdClass {
        return clone $this->stats;
    }

    /**
     * Whether any table of the old releases is still there.
     *
     * @return bool
     */
    public static function old_tables_exist(): bool {
        global $DB;
        $dbman = $DB->get_manager();
        foreach (self::OLD_TABLES as $name) {
            if ($dbman->table_exists($name)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the old message and conversation tables both exist, so there is something to migrate.
     *
     * @return bool
     */
    protected static function can_migrate(): bool {
        global $DB;
        $dbman = $DB->get_manager();
        return $dbman->table_exists('block_dockchat_msg') && $dbman->table_exists('block_dockchat_conv');
    }

    /**
     * Creates block_dockchat_sent, block_dockchat_job and block_dockchat_worker where they are missing,
     * exactly as db/install.xml defines them.
     *
     * @return void
     */
    public static function create_new_tables(): void {
        global $DB;
        $dbman = $DB->get_manager();

        // Define table block_dockchat_sent to be created.
        $table = new \xmldb_table('block_dockchat_sent');

        // Adding fields to table block_dockchat_sent.
        $table->add_field('id', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, XMLDB_SEQUENCE, null);
        $table->add_field('messageid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('conversationid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('useridfrom', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('clientmsgid', XMLDB_TYPE_CHAR, '64', null, XMLDB_NOTNULL, null, null);
        $table->add_field('timecreated', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('state', XMLDB_TYPE_INTEGER, '2', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('timedue', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('claimtoken', XMLDB_TYPE_CHAR, '32', null, null, null, null);
        $table->add_field('timeclaimed', XMLDB_TYPE_INTEGER, '10', null, null, null, null);
        $table->add_field('timestarted', XMLDB_TYPE_INTEGER, '10', null, null, null, null);
        $table->add_field('timedone', XMLDB_TYPE_INTEGER, '10', null, null, null, null);
        $table->add_field('attempts', XMLDB_TYPE_INTEGER, '4', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('error', XMLDB_TYPE_TEXT, null, null, null, null, null);

        // Adding keys to table block_dockchat_sent.
        $table->add_key('primary', XMLDB_KEY_PRIMARY, ['id']);

        // Adding indexes to table block_dockchat_sent.
        $table->add_index('useridfrom-clientmsgid', XMLDB_INDEX_UNIQUE, ['useridfrom', 'clientmsgid']);
        $table->add_index('messageid', XMLDB_INDEX_UNIQUE, ['messageid']);
        $table->add_index('state-timedue', XMLDB_INDEX_NOTUNIQUE, ['state', 'timedue']);

        // Conditionally launch create table for block_dockchat_sent.
        if (!$dbman->table_exists($table)) {
            $dbman->create_table($table);
        }

        // Define table block_dockchat_job to be created.
        $table = new \xmldb_table('block_dockchat_job');

        // Adding fields to table block_dockchat_job.
        $table->add_field('id', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, XMLDB_SEQUENCE, null);
        $table->add_field('kind', XMLDB_TYPE_INTEGER, '2', null, XMLDB_NOTNULL, null, null);
        $table->add_field('userid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('messageid', XMLDB_TYPE_INTEGER, '10', null, null, null, null);
        $table->add_field('itemid', XMLDB_TYPE_INTEGER, '10', null, null, null, null);
        $table->add_field('relateduserid', XMLDB_TYPE_INTEGER, '10', null, null, null, null);
        $table->add_field('convhash', XMLDB_TYPE_CHAR, '40', null, null, null, null);
        $table->add_field('timecreated', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('state', XMLDB_TYPE_INTEGER, '2', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('claimtoken', XMLDB_TYPE_CHAR, '32', null, null, null, null);
        $table->add_field('timeclaimed', XMLDB_TYPE_INTEGER, '10', null, null, null, null);
        $table->add_field('attempts', XMLDB_TYPE_INTEGER, '4', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('error', XMLDB_TYPE_TEXT, null, null, null, null, null);

        // Adding keys to table block_dockchat_job.
        $table->add_key('primary', XMLDB_KEY_PRIMARY, ['id']);

        // Adding indexes to table block_dockchat_job.
        $table->add_index('state-id', XMLDB_INDEX_NOTUNIQUE, ['state', 'id']);
        $table->add_index('claimtoken', XMLDB_INDEX_NOTUNIQUE, ['claimtoken']);

        // Conditionally launch create table for block_dockchat_job.
        if (!$dbman->table_exists($table)) {
            $dbman->create_table($table);
        }

        // Define table block_dockchat_worker to be created.
        $table = new \xmldb_table('block_dockchat_worker');

        // Adding fields to table block_dockchat_worker.
        $table->add_field('id', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, XMLDB_SEQUENCE, null);
        $table->add_field('hostname', XMLDB_TYPE_CHAR, '255', null, XMLDB_NOTNULL, null, null);
        $table->add_field('pid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('timestarted', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('timeseen', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('processed', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('lasterror', XMLDB_TYPE_TEXT, null, null, null, null, null);

        // Adding keys to table block_dockchat_worker.
        $table->add_key('primary', XMLDB_KEY_PRIMARY, ['id']);

        // Adding indexes to table block_dockchat_worker.
        $table->add_index('timeseen', XMLDB_INDEX_NOTUNIQUE, ['timeseen']);

        // Conditionally launch create table for block_dockchat_worker.
        if (!$dbman->table_exists($table)) {
            $dbman->create_table($table);
        }
    }

    /**
     * SQL of the old messages that can be migrated: those of a conversation of two distinct users.
     *
     * @return string FROM and WHERE clauses, aliases m (message) and c (conversation).
     */
    protected static function migratable_sql(): string {
        return "FROM {block_dockchat_msg} m
                JOIN {block_dockchat_conv} c ON c.id = m.convid
               WHERE c.userlow <> c.userhigh";
    }

    /**
     * How many old messages are left to migrate.
     *
     * @return int
     */
    public static function count_pending(): int {
        global $DB;
        if (!self::can_migrate()) {
            return 0;
        }
        return (int) $DB->count_records_sql('SELECT COUNT(1) ' . self::migratable_sql());
    }

    /**
     * What the migration cannot move: conversations of a user with themselves (the old daemon
     * refused them, so there should be none) and their messages, and messages whose conversation row
     * is missing. They stay in the old tables, which then are not dropped.
     *
     * @return \stdClass selfconversations, selfmessages, orphanmessages
     */
    public static function count_unmigratable(): \stdClass {
        global $DB;
        $result = (object) ['selfconversations' => 0, 'selfmessages' => 0, 'orphanmessages' => 0];
        $dbman = $DB->get_manager();
        if ($dbman->table_exists('block_dockchat_conv')) {
            $result->selfconversations = $DB->count_records_select('block_dockchat_conv', 'userlow = userhigh');
        }
        if (self::can_migrate()) {
            $result->selfmessages = (int) $DB->count_records_sql(
                "SELECT COUNT(1)
                   FROM {block_dockchat_msg} m
                   JOIN {block_dockchat_conv} c ON c.id = m.convid
                  WHERE c.userlow = c.userhigh");
            $result->orphanmessages = (int) $DB->count_records_sql(
                "SELECT COUNT(1)
                   FROM {block_dockchat_msg} m
              LEFT JOIN {block_dockchat_conv} c ON c.id = m.convid
                  WHERE c.id IS NULL");
        }
        return $result;
    }

    /**
     * Migrates old messages chunk by chunk until none is left (or $maxchunks chunks committed).
     *
     * @param int|null $maxchunks Stop after this many chunks (null: until done). A later run resumes.
     * @param callable|null $afterchunk Called after each committed chunk with (int $migratedsofar, int $total);
     *     the upgrade uses it to extend its timeout and move its progress bar.
     * @param int $chunksize Old messages per transaction.
     * @return bool True when no migratable message is left.
     */
    public function run(?int $maxchunks = null, ?callable $afterchunk = null, int $chunksize = self::CHUNK_SIZE): bool {
        if (!self::can_migrate()) {
            return true;
        }
        $total = self::count_pending();
        $done = 0;
        $chunks = 0;
        while ($maxchunks === null || $chunks < $maxchunks) {
            $moved = $this->migrate_chunk($chunksize);
            if ($moved === 0) {
                break;
            }
            $chunks++;
            $done += $moved;
            if ($afterchunk) {
                $afterchunk($done, max($total, $done));
            }
        }
        $finished = self::count_pending() === 0;
        if ($finished) {
            $skipped = self::count_unmigratable();
            if ($skipped->selfconversations || $skipped->orphanmessages) {
                debugging("block_dockchat migration: {$skipped->selfconversations} conversation(s) of a user with "
                    . "themselves ({$skipped->selfmessages} message(s)) and {$skipped->orphanmessages} message(s) "
                    . 'without a conversation cannot be migrated and stay in the old tables '
                    . '(see blocks/dockchat/cli/migrate.php --help)', DEBUG_DEVELOPER);
            }
        }
        return $finished;
    }

    /**
     * Migrates the next chunk of old messages, in old-id order, in one transaction.
     *
     * @param int $chunksize Old messages to migrate at most.
     * @return int How many old messages were migrated (0: none left).
     */
    public function migrate_chunk(int $chunksize = self::CHUNK_SIZE): int {
        global $DB;

        $rows = $DB->get_records_sql(
            'SELECT m.id, m.convid, m.useridfrom, m.clientmsgid, m.message, m.timecreated, c.userlow, c.userhigh '
                . self::migratable_sql() . ' ORDER BY m.id ASC',
            [], 0, max(1, $chunksize));
        if (!$rows) {
            return 0;
        }

        $stats = self::new_stats();
        $transaction = $DB->start_delegated_transaction();
        try {
            // (a) The core conversation of every pair of the chunk. Conversations created here only count once the
            // chunk commits: a rollback removes them, and the next run finds or creates them again by their hash.
            $conversations = [];
            foreach ($rows as $row) {
                $convid = (int) $row->convid;
                if (!isset($this->conversations[$convid]) && !isset($conversations[$convid])) {
                    $conversations[$convid] = $this->resolve_conversation((int) $row->userlow, (int) $row->userhigh, $stats);
                }
            }
            $map = $this->conversations + $conversations;

            // The read markers of those pairs, old message ids.
            [$insql, $params] = $DB->get_in_or_equal(array_unique(array_map(fn($r) => (int) $r->convid, $rows)),
                SQL_PARAMS_NAMED);
            $readers = [];
            foreach ($DB->get_records_select('block_dockchat_read', "convid $insql", $params, 'id ASC',
                    'id, convid, userid, lastreadid, timemodified') as $read) {
                $readers[(int) $read->convid][] = $read;
            }

            // (b) The messages rows and their block_dockchat_sent rows, in old-id order. The old table had the same
            // unique key as block_dockchat_sent, so a clash can only be with a row dockchatd wrote since: when the
            // chunk has any, every row is checked one by one, else the rows go in one batch.
            $clashes = $this->has_sent_clashes($rows);
            $sentrows = [];
            $newids = [];
            $marks = [];
            foreach ($rows as $row) {
                $conversationid = $map[(int) $row->convid];
                // Raw: insert_record() reads the table's columns first, and during an upgrade (caches disabled) that
                // is a query of the database's catalogue for every row, five times slower on PostgreSQL. The values
                // are already of the columns' types.
                $messageid = (int) $DB->insert_record_raw('messages', [
                    'useridfrom' => (int) $row->useridfrom,
                    'conversationid' => $conversationid,
                    'subject' => null,
                    'fullmessage' => $row->message,
                    'fullmessageformat' => 0,
                    'fullmessagehtml' => '',
                    'smallmessage' => $row->message,
                    'timecreated' => (int) $row->timecreated,
                    'fullmessagetrust' => 0,
                    'customdata' => null,
                ], true);
                $newids[] = $messageid;

                $sent = (object) [
                    'messageid' => $messageid,
                    'conversationid' => $conversationid,
                    'useridfrom' => (int) $row->useridfrom,
                    'clientmsgid' => $row->clientmsgid,
                    'timecreated' => (int) $row->timecreated,
                    'state' => self::SENT_STATE_DONE,
                    'timedue' => (int) $row->timecreated,
                ];
                if (!$clashes) {
                    $sentrows[] = $sent;
                } else if ($DB->record_exists_select('block_dockchat_sent', 'useridfrom = :useridfrom AND clientmsgid = :cid',
                        ['useridfrom' => $sent->useridfrom, 'cid' => $sent->clientmsgid])) {
                    // The database decides what clashes (MariaDB's collations ignore case). The message moves
                    // without its cid.
                    $stats->duplicatecids++;
                } else {
                    $DB->insert_record('block_dockchat_sent', $sent, false);
                }

                // (c) Read: by each member of the pair, other than the sender, whose marker is at or after it.
                foreach ($readers[(int) $row->convid] ?? [] as $read) {
                    $reader = (int) $read->userid;
                    if ($reader === (int) $row->useridfrom || (int) $row->id > (int) $read->lastreadid
                            || ($reader !== (int) $row->userlow && $reader !== (int) $row->userhigh)) {
                        continue;
                    }
                    $marks[$reader . ':' . $messageid] = (object) [
                        'userid' => $reader,
                        'messageid' => $messageid,
                        'action' => api::MESSAGE_ACTION_READ,
                        'timecreated' => (int) $read->timemodified,
                    ];
                }
            }

            if ($sentrows) {
                $DB->insert_records('block_dockchat_sent', $sentrows);
            }

            if ($marks) {
                // The messages are new, so no action should exist yet; never hit the unique index anyway.
                [$insql, $params] = $DB->get_in_or_equal($newids, SQL_PARAMS_NAMED);
                $params['action'] = api::MESSAGE_ACTION_READ;
                $existing = $DB->get_recordset_select('message_user_actions', "action = :action AND messageid $insql",
                    $params, '', 'id, userid, messageid');
                foreach ($existing as $action) {
                    unset($marks[(int) $action->userid . ':' . (int) $action->messageid]);
                }
                $existing->close();
                $DB->insert_records('message_user_actions', $marks);
                $stats->readactions += count($marks);
            }

            // (d) The migrated old rows go in the same transaction: exactly once.
            [$insql, $params] = $DB->get_in_or_equal(array_keys($rows), SQL_PARAMS_NAMED);
            $DB->delete_records_select('block_dockchat_msg', "id $insql", $params);

            $transaction->allow_commit();
        } catch (\Throwable $e) {
            // Nothing of the chunk stays, the conversations it created included; the exception goes on.
            $transaction->rollback($e);
        }

        $this->conversations = $map;
        $stats->chunks = 1;
        $stats->messages = count($rows);
        foreach ((array) $stats as $name => $value) {
            $this->stats->$name += $value;
        }
        return count($rows);
    }

    /**
     * Whether block_dockchat_sent already has a row with the sender and client id of any old message of a chunk.
     *
     * @param \stdClass[] $rows Old messages.
     * @return bool
     */
    protected function has_sent_clashes(array $rows): bool {
        global $DB;
        [$usersql, $params] = $DB->get_in_or_equal(array_unique(array_map(fn($r) => (int) $r->useridfrom, $rows)),
            SQL_PARAMS_NAMED, 'u');
        [$cidsql, $cidparams] = $DB->get_in_or_equal(array_unique(array_map(fn($r) => (string) $r->clientmsgid, $rows)),
            SQL_PARAMS_NAMED, 'c');
        return $DB->record_exists_select('block_dockchat_sent', "useridfrom $usersql AND clientmsgid $cidsql",
            $params + $cidparams);
    }

    /**
     * The core individual conversation of two users: the existing one (the lowest id, as dockchatd picks,
     * if Moodle ever made two), else a new one. Creating one needs only the ids, so it works for users
     * deleted since.
     *
     * @param int $low The smaller user id.
     * @param int $high The larger user id.
     * @param \stdClass $stats Counters to update.
     * @return int message_conversations.id
     */
    protected function resolve_conversation(int $low, int $high, \stdClass $stats): int {
        global $DB;
        $ids = $DB->get_fieldset_sql(
            'SELECT id FROM {message_conversations} WHERE type = :type AND convhash = :hash ORDER BY id ASC',
            ['type' => api::MESSAGE_CONVERSATION_TYPE_INDIVIDUAL, 'hash' => helper::get_conversation_hash([$low, $high])]);
        if ($ids) {
            $stats->conversationsreused++;
            return (int) reset($ids);
        }
        $stats->conversationscreated++;
        return (int) api::create_conversation(api::MESSAGE_CONVERSATION_TYPE_INDIVIDUAL, [$low, $high])->id;
    }

    /**
     * Deletes what the migration left behind and nobody needs: conversations without messages (and their read
     * markers), and read markers of conversations that no longer exist. Conversations still holding messages
     * that could not be migrated stay, with their markers.
     *
     * @return void
     */
    public static function delete_leftovers(): void {
        global $DB;
        $dbman = $DB->get_manager();
        if (!$dbman->table_exists('block_dockchat_conv')) {
            return;
        }
        $hasmsg = $dbman->table_exists('block_dockchat_msg');
        $hasread = $dbman->table_exists('block_dockchat_read');
        $transaction = $DB->start_delegated_transaction();
        if ($hasread) {
            $keep = $hasmsg ? 'AND EXISTS (SELECT 1 FROM {block_dockchat_msg} m WHERE m.convid = c.id)' : 'AND 1 = 0';
            $DB->delete_records_select('block_dockchat_read',
                "NOT EXISTS (SELECT 1 FROM {block_dockchat_conv} c WHERE c.id = {block_dockchat_read}.convid $keep)");
        }
        if ($hasmsg) {
            $DB->delete_records_select('block_dockchat_conv',
                'NOT EXISTS (SELECT 1 FROM {block_dockchat_msg} m WHERE m.convid = {block_dockchat_conv}.id)');
        } else {
            $DB->delete_records('block_dockchat_conv');
        }
        $transaction->allow_commit();
    }

    /**
     * Deletes, on an administrator's explicit request (cli/migrate.php --discard-unmigratable), the old
     * messages that cannot be migrated, with their conversations and read markers.
     *
     * @return int How many messages were deleted.
     */
    public static function discard_unmigratable(): int {
        global $DB;
        if (!self::can_migrate()) {
            return 0;
        }
        $skipped = self::count_unmigratable();
        $transaction = $DB->start_delegated_transaction();
        $DB->delete_records_select('block_dockchat_msg',
            'NOT EXISTS (SELECT 1 FROM {block_dockchat_conv} c
                          WHERE c.id = {block_dockchat_msg}.convid AND c.userlow <> c.userhigh)');
        $transaction->allow_commit();
        self::delete_leftovers();
        return $skipped->selfmessages + $skipped->orphanmessages;
    }

    /**
     * Purges Moodle's cache of the last message time per conversation: migrated messages were inserted
     * without going through Moodle's send path, which keeps it up to date.
     *
     * @return void
     */
    public static function purge_caches(): void {
        \cache_helper::purge_by_definition('core', 'message_time_last_message_between_users');
    }

    /**
     * Names and row counts of the old tables that still hold rows.
     *
     * @return int[] table name => rows
     */
    public static function old_rows(): array {
        global $DB;
        $dbman = $DB->get_manager();
        $rows = [];
        foreach (self::OLD_TABLES as $name) {
            if ($dbman->table_exists($name) && ($count = $DB->count_records($name))) {
                $rows[$name] = $count;
            }
        }
        return $rows;
    }

    /**
     * Drops the old tables, only when all of them are empty: nothing is ever lost silently.
     *
     * @param int $version The savepoint being run, for the exception.
     * @return void
     * @throws \upgrade_exception When any old table still holds rows.
     */
    public static function drop_old_tables(int $version): void {
        global $CFG, $DB;
        require_once($CFG->libdir . '/upgradelib.php');
        $left = self::old_rows();
        if ($left) {
            $what = implode(', ', array_map(fn($name, $count) => "$name: $count", array_keys($left), $left));
            $why = "The old chat tables still hold rows ($what). Nothing was dropped.";
            if ($pending = self::count_pending()) {
                $why .= " $pending message(s) are not migrated yet (was the old dockchatd still running?): run "
                    . 'blocks/dockchat/cli/migrate.php --run, then the upgrade again.';
            }
            $skipped = self::count_unmigratable();
            if ($skipped->selfmessages || $skipped->orphanmessages) {
                $why .= ' ' . ($skipped->selfmessages + $skipped->orphanmessages) . ' message(s) cannot be migrated '
                    . "({$skipped->selfmessages} of a user with themselves, {$skipped->orphanmessages} without a "
                    . 'conversation): blocks/dockchat/cli/migrate.php lists them, and deletes them only with '
                    . '--discard-unmigratable; then run the upgrade again.';
            }
            throw new \upgrade_exception('block_dockchat', $version, $why);
        }
        $dbman = $DB->get_manager();
        foreach (self::OLD_TABLES as $name) {
            $table = new \xmldb_table($name);
            if ($dbman->table_exists($table)) {
                $dbman->drop_table($table);
            }
        }
    }
}

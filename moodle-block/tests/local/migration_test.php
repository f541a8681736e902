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

/**
 * Tests of the migration of the block's old chat tables into Moodle's messaging tables.
 *
 * The old tables are not in install.xml any more: each test creates them as releases before
 * 2026120100 did, fills them as the old dockchatd did, and drops what is left afterwards.
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \block_dockchat\local\migration
 */
final class migration_test extends \advanced_testcase {
    /** @var int Old messages in the fixture: more than two chunks. */
    private const MESSAGES = 1200;

    /** @var \stdClass[] Users of the fixture: ana, bruno, carla, dora. */
    private array $users = [];

    /** @var int[] Old conversation ids by pair key ('ab', 'ac', 'bd', 'cd'). */
    private array $oldconvs = [];

    /** @var int The core conversation Ana and Carla already had in Moodle. */
    private int $coreac = 0;

    /** @var int[] Ids of the messages Ana and Carla wrote in Moodle before the migration. */
    private array $coremessages = [];

    /** @var \stdClass[] The old messages, by old id, with the pair key. */
    private array $old = [];

    /** @var \stdClass[] The old read markers. */
    private array $reads = [];

    /**
     * Drops the old tables if a test left them.
     */
    protected function tearDown(): void {
        global $DB;
        $dbman = $DB->get_manager();
        foreach (migration::OLD_TABLES as $name) {
            $table = new \xmldb_table($name);
            if ($dbman->table_exists($table)) {
                $dbman->drop_table($table);
            }
        }
        parent::tearDown();
    }

    /**
     * Creates block_dockchat_conv, _msg and _read as the install.xml of releases before 2026120100 did.
     */
    private function create_old_tables(): void {
        global $DB;
        $dbman = $DB->get_manager();

        $table = new \xmldb_table('block_dockchat_conv');
        $table->add_field('id', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, XMLDB_SEQUENCE, null);
        $table->add_field('userlow', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('userhigh', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('timecreated', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_key('primary', XMLDB_KEY_PRIMARY, ['id']);
        $table->add_index('userlow-userhigh', XMLDB_INDEX_UNIQUE, ['userlow', 'userhigh']);
        $table->add_index('userhigh', XMLDB_INDEX_NOTUNIQUE, ['userhigh']);
        $dbman->create_table($table);

        $table = new \xmldb_table('block_dockchat_msg');
        $table->add_field('id', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, XMLDB_SEQUENCE, null);
        $table->add_field('convid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('useridfrom', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('clientmsgid', XMLDB_TYPE_CHAR, '64', null, XMLDB_NOTNULL, null, null);
        $table->add_field('message', XMLDB_TYPE_TEXT, null, null, XMLDB_NOTNULL, null, null);
        $table->add_field('timecreated', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_key('primary', XMLDB_KEY_PRIMARY, ['id']);
        $table->add_index('useridfrom-clientmsgid', XMLDB_INDEX_UNIQUE, ['useridfrom', 'clientmsgid']);
        $table->add_index('convid-id', XMLDB_INDEX_NOTUNIQUE, ['convid', 'id']);
        $dbman->create_table($table);

        $table = new \xmldb_table('block_dockchat_read');
        $table->add_field('id', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, XMLDB_SEQUENCE, null);
        $table->add_field('convid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('userid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, null);
        $table->add_field('lastreadid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('timemodified', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_key('primary', XMLDB_KEY_PRIMARY, ['id']);
        $table->add_index('convid-userid', XMLDB_INDEX_UNIQUE, ['convid', 'userid']);
        $table->add_index('userid', XMLDB_INDEX_NOTUNIQUE, ['userid']);
        $dbman->create_table($table);
    }

    /**
     * Inserts a messages row as Moodle's drawer would have.
     *
     * @param int $convid Conversation.
     * @param int $from Sender.
     * @param string $text Text.
     * @param int $time Time.
     * @return int messages.id
     */
    private function core_message(int $convid, int $from, string $text, int $time): int {
        global $DB;
        return (int) $DB->insert_record('messages', (object) [
            'useridfrom' => $from, 'conversationid' => $convid, 'subject' => null, 'fullmessage' => $text,
            'fullmessageformat' => FORMAT_MOODLE, 'fullmessagehtml' => '', 'smallmessage' => $text,
            'timecreated' => $time, 'fullmessagetrust' => 0, 'customdata' => null,
        ]);
    }

    /**
     * The fixture: Ana-Bruno, Ana-Carla (who already have a Moodle conversation with messages and a
     * read row) and Bruno-Dora (Dora has been deleted since) share 1,200 old messages, interleaved; Carla
     * and Dora have an old conversation without messages. Read markers in the middle and at the end,
     * and one old client id that dockchatd already used again in block_dockchat_sent.
     */
    private function fixture(): void {
        global $DB;
        $this->create_old_tables();
        $gen = $this->getDataGenerator();
        foreach (['ana', 'bruno', 'carla', 'dora'] as $name) {
            $this->users[$name] = $gen->create_user(['firstname' => ucfirst($name)]);
        }
        $id = fn(string $name): int => (int) $this->users[$name]->id;
        $pairs = ['ab' => ['ana', 'bruno'], 'ac' => ['ana', 'carla'], 'bd' => ['bruno', 'dora'], 'cd' => ['carla', 'dora']];

        // Ana and Carla already talked in Moodle's drawer.
        $conv = api::create_conversation(api::MESSAGE_CONVERSATION_TYPE_INDIVIDUAL, [$id('carla'), $id('ana')]);
        $this->coreac = (int) $conv->id;
        $this->coremessages[] = $this->core_message($this->coreac, $id('carla'), 'Drawer hello', 1700000000);
        $this->coremessages[] = $this->core_message($this->coreac, $id('ana'), 'Drawer reply', 1700000100);
        $DB->insert_record('message_user_actions', (object) [
            'userid' => $id('ana'), 'messageid' => $this->coremessages[0], 'action' => api::MESSAGE_ACTION_READ,
            'timecreated' => 1700000050,
        ]);

        foreach ($pairs as $key => [$x, $y]) {
            $this->oldconvs[$key] = (int) $DB->insert_record('block_dockchat_conv', (object) [
                'userlow' => min($id($x), $id($y)), 'userhigh' => max($id($x), $id($y)), 'timecreated' => 1690000000,
            ]);
        }

        $keys = ['ab', 'ac', 'bd'];
        $time = 1690000000;
        for ($i = 0; $i < self::MESSAGES; $i++) {
            $key = $keys[($i * 7 + intdiv($i, 5)) % 3];
            [$x, $y] = $pairs[$key];
            $from = ($i % 3 === 0) ? $y : $x;
            // Two messages in the same second now and then: order must still follow the old ids.
            $time += ($i % 4 === 0) ? 0 : 13;
            $text = ($i % 50 === 0) ? "Línea $i <b>not html</b> & ünïcødé 🎉\nsecond line" : "message $i";
            $row = (object) [
                'convid' => $this->oldconvs[$key], 'useridfrom' => $id($from), 'clientmsgid' => "cid-$i",
                'message' => $text, 'timecreated' => $time,
            ];
            $row->id = (int) $DB->insert_record('block_dockchat_msg', $row);
            $row->pair = $key;
            $this->old[$row->id] = $row;
        }
        $ids = array_keys($this->old);
        $bypair = [];
        foreach ($this->old as $row) {
            $bypair[$row->pair][] = $row->id;
        }

        // Read markers: Ana read Ana-Bruno to the middle (in the second chunk), Bruno all of it; Carla read
        // Ana-Carla to its 100th message; Dora read nothing; Carla marked the empty Carla-Dora conversation.
        $marks = [
            ['ab', 'ana', $bypair['ab'][intdiv(count($bypair['ab']), 2)], 1695000000],
            ['ab', 'bruno', end($bypair['ab']), 1695000100],
            ['ac', 'carla', $bypair['ac'][99], 1695000200],
            ['cd', 'carla', 0, 1695000300],
        ];
        foreach ($marks as [$key, $reader, $upto, $when]) {
            $read = (object) ['convid' => $this->oldconvs[$key], 'userid' => $id($reader), 'lastreadid' => $upto,
                'timemodified' => $when];
            $read->id = (int) $DB->insert_record('block_dockchat_read', $read);
            $read->pair = $key;
            $this->reads[] = $read;
        }

        // dockchatd already stored a new message of Ana's with the client id of one of her old ones.
        $dup = null;
        foreach ($this->old as $row) {
            if ((int) $row->useridfrom === $id('ana') && $row->id > $ids[600]) {
                $dup = $row;
                break;
            }
        }
        $newmsg = $this->core_message($this->coreac, $id('ana'), 'New dock message', 1800000000);
        $this->coremessages[] = $newmsg;
        $DB->insert_record('block_dockchat_sent', (object) [
            'messageid' => $newmsg, 'conversationid' => $this->coreac, 'useridfrom' => $id('ana'),
            'clientmsgid' => $dup->clientmsgid, 'timecreated' => 1800000000, 'state' => 0, 'timedue' => 1800000000,
        ]);
        $this->old[$dup->id]->duplicate = true;

        // Dora left the site since.
        delete_user($this->users['dora']);
    }

    /**
     * The core conversation ids of the fixture's pairs after the migration, by pair key.
     *
     * @return int[]
     */
    private function core_conversations(): array {
        $id = fn(string $name): int => (int) $this->users[$name]->id;
        $result = [];
        foreach (['ab' => ['ana', 'bruno'], 'ac' => ['ana', 'carla'], 'bd' => ['bruno', 'dora']] as $key => [$x, $y]) {
            $result[$key] = (int) api::get_conversation_between_users([$id($x), $id($y)]);
        }
        return $result;
    }

    /**
     * Everything the migration must have produced, checked against the fixture.
     *
     * @param int $firstnewid Messages with this id or above are the migrated ones.
     */
    private function assert_migrated(int $firstnewid): void {
        global $DB;
        $convs = $this->core_conversations();
        $this->assertSame($this->coreac, $convs['ac'], 'the existing conversation is reused');
        $this->assertCount(3, array_unique(array_filter($convs)));
        foreach ($convs as $convid) {
            $this->assertSame(2, $DB->count_records('message_conversation_members', ['conversationid' => $convid]));
        }
        $this->assertSame(3, $DB->count_records('message_conversations', ['type' => 1]));

        // One messages row per old message, in old-id order, with the columns dockchatd writes.
        $new = array_values($DB->get_records_select('messages', 'id >= ?', [$firstnewid], 'id ASC'));
        $this->assertCount(self::MESSAGES, $new);
        $this->assertSame(count($this->coremessages) + self::MESSAGES, $DB->count_records('messages'));
        $map = [];
        $i = 0;
        foreach ($this->old as $oldid => $old) {
            $msg = $new[$i++];
            $this->assertSame((int) $old->useridfrom, (int) $msg->useridfrom);
            $this->assertSame($convs[$old->pair], (int) $msg->conversationid);
            $this->assertNull($msg->subject);
            $this->assertSame($old->message, $msg->fullmessage);
            $this->assertSame($old->message, $msg->smallmessage);
            $this->assertSame(0, (int) $msg->fullmessageformat);
            $this->assertSame('', (string) $msg->fullmessagehtml);
            $this->assertSame((int) $old->timecreated, (int) $msg->timecreated);
            $this->assertSame(0, (int) $msg->fullmessagetrust);
            $this->assertNull($msg->customdata);
            $map[$oldid] = (int) $msg->id;
        }

        // The sent map: one row per migrated message, done, except the one whose cid dockchatd reused.
        $sent = $DB->get_records_select('block_dockchat_sent', 'messageid >= ?', [$firstnewid], '', '*');
        $this->assertCount(self::MESSAGES - 1, $sent);
        $bymessage = [];
        foreach ($sent as $row) {
            $bymessage[(int) $row->messageid] = $row;
        }
        foreach ($this->old as $oldid => $old) {
            if (!empty($old->duplicate)) {
                $this->assertArrayNotHasKey($map[$oldid], $bymessage);
                continue;
            }
            $row = $bymessage[$map[$oldid]];
            $this->assertSame($old->clientmsgid, $row->clientmsgid);
            $this->assertSame((int) $old->useridfrom, (int) $row->useridfrom);
            $this->assertSame($convs[$old->pair], (int) $row->conversationid);
            $this->assertSame(migration::SENT_STATE_DONE, (int) $row->state);
            $this->assertSame((int) $old->timecreated, (int) $row->timecreated);
            $this->assertSame((int) $old->timecreated, (int) $row->timedue);
        }
        $this->assertSame(self::MESSAGES, $DB->count_records('block_dockchat_sent'));

        // Read actions: exactly the expected ones, plus the drawer's own row.
        $expected = [];
        foreach ($this->reads as $read) {
            foreach ($this->old as $oldid => $old) {
                if ($old->pair === $read->pair && $oldid <= (int) $read->lastreadid
                        && (int) $old->useridfrom !== (int) $read->userid) {
                    $expected[] = $read->userid . ':' . $map[$oldid] . ':' . $read->timemodified;
                }
            }
        }
        $this->assertGreaterThan(100, count($expected));
        $actual = [];
        foreach ($DB->get_records_select('message_user_actions', 'messageid >= ?', [$firstnewid]) as $mua) {
            $this->assertSame(api::MESSAGE_ACTION_READ, (int) $mua->action);
            $actual[] = $mua->userid . ':' . $mua->messageid . ':' . $mua->timecreated;
        }
        sort($expected);
        sort($actual);
        $this->assertSame($expected, $actual);
        $this->assertSame(count($expected) + 1, $DB->count_records('message_user_actions'));

        // Nothing left to migrate.
        $this->assertSame(0, migration::count_pending());
        $this->assertSame(0, $DB->count_records('block_dockchat_msg'));
    }

    /**
     * The whole migration, as the upgrade runs it: chunks, then leftovers, then the tables go.
     */
    public function test_migrates_everything(): void {
        global $DB;
        $this->resetAfterTest();
        // The migration's own transactions must be real ones (one is rolled back), and the old tables are DDL.
        $this->preventResetByRollback();
        $this->fixture();
        $firstnewid = (int) $DB->get_field_sql('SELECT MAX(id) FROM {messages}') + 1;
        $this->assertSame(self::MESSAGES, migration::count_pending());

        $calls = [];
        $migration = new migration();
        $this->assertTrue($migration->run(null, function (int $done, int $total) use (&$calls) {
            $calls[] = [$done, $total];
        }));
        $this->assertSame([[500, 1200], [1000, 1200], [1200, 1200]], $calls);
        $stats = $migration->get_stats();
        $this->assertSame(3, $stats->chunks);
        $this->assertSame(self::MESSAGES, $stats->messages);
        $this->assertSame(2, $stats->conversationscreated);
        $this->assertSame(1, $stats->conversationsreused);
        $this->assertSame(1, $stats->duplicatecids);
        $this->assertSame($DB->count_records('message_user_actions') - 1, $stats->readactions);

        $this->assert_migrated($firstnewid);

        // The read markers and conversations are still there until the leftovers go.
        $this->assertSame(4, $DB->count_records('block_dockchat_read'));
        migration::delete_leftovers();
        $this->assertSame([], migration::old_rows());
        migration::drop_old_tables(2026120103);
        $this->assertFalse(migration::old_tables_exist());
        // A second run has nothing to do.
        $this->assertTrue((new migration())->run());
    }

    /**
     * Moodle's own API shows the migrated history, merged with the drawer's, in time order.
     */
    public function test_core_api_returns_migrated_messages(): void {
        global $DB;
        $this->resetAfterTest();
        // The migration's own transactions must be real ones (one is rolled back), and the old tables are DDL.
        $this->preventResetByRollback();
        $this->fixture();
        (new migration())->run();
        migration::purge_caches();
        $convs = $this->core_conversations();
        $ana = (int) $this->users['ana']->id;

        foreach (['ab', 'ac'] as $key) {
            $result = api::get_conversation_messages($ana, $convs[$key], 0, 0, 'timecreated ASC, m.id ASC');
            $expected = array_filter($this->old, fn($old) => $old->pair === $key);
            $extra = ($key === 'ac') ? count($this->coremessages) : 0;
            $this->assertCount(count($expected) + $extra, $result['messages']);
            $lasttime = 0;
            $lastid = 0;
            foreach ($result['messages'] as $message) {
                $this->assertTrue((int) $message->timecreated > $lasttime
                    || ((int) $message->timecreated === $lasttime && (int) $message->id > $lastid));
                $lasttime = (int) $message->timecreated;
                $lastid = (int) $message->id;
            }
        }

        // The newest migrated message of Ana-Bruno, as the drawer shows it.
        $result = api::get_conversation_messages($ana, $convs['ab'], 0, 1, 'timecreated DESC, m.id DESC');
        $newest = array_filter($this->old, fn($old) => $old->pair === 'ab');
        $newest = end($newest);
        $this->assertSame((int) $newest->useridfrom, (int) $result['messages'][0]->useridfrom);
        $this->assertStringContainsString(s($newest->message), $result['messages'][0]->text);

        // Unread counts follow the read markers: Bruno read everything of Ana's.
        $this->assertSame(0, (int) $DB->count_records_sql(
            "SELECT COUNT(1) FROM {messages} m
          LEFT JOIN {message_user_actions} a ON a.messageid = m.id AND a.userid = :u AND a.action = 1
              WHERE m.conversationid = :c AND m.useridfrom <> :u2 AND a.id IS NULL",
            ['u' => $this->users['bruno']->id, 'u2' => $this->users['bruno']->id, 'c' => $convs['ab']]));
    }

    /**
     * A chunk that fails is rolled back whole; a run stopped after one chunk; a fresh run then gives the same result.
     */
    public function test_interrupted_run_resumes(): void {
        global $DB;
        $this->resetAfterTest();
        // The migration's own transactions must be real ones (one is rolled back), and the old tables are DDL.
        $this->preventResetByRollback();
        $this->fixture();
        $firstnewid = (int) $DB->get_field_sql('SELECT MAX(id) FROM {messages}') + 1;

        // The first chunk fails halfway, after creating a conversation: it leaves nothing behind.
        $before = [$DB->count_records('messages'), $DB->count_records('message_conversations'),
            $DB->count_records('block_dockchat_sent'), $DB->count_records('message_user_actions')];
        $failing = new class extends migration {
            /** @var int Conversations resolved so far. */
            public int $resolved = 0;

            /**
             * Fails on the second conversation the chunk has to resolve.
             *
             * @param int $low The smaller user id.
             * @param int $high The larger user id.
             * @param \stdClass $stats Counters.
             * @return int
             */
            protected function resolve_conversation(int $low, int $high, \stdClass $stats): int {
                if (++$this->resolved === 2) {
                    throw new \coding_exception('interrupted');
                }
                return parent::resolve_conversation($low, $high, $stats);
            }
        };
        try {
            $failing->run();
            $this->fail('The failing chunk should throw');
        } catch (\coding_exception $e) {
            $this->assertStringContainsString('interrupted', $e->getMessage());
        }
        $this->assertSame(2, $failing->resolved);
        $this->assertSame($before, [$DB->count_records('messages'), $DB->count_records('message_conversations'),
            $DB->count_records('block_dockchat_sent'), $DB->count_records('message_user_actions')]);
        $this->assertSame(self::MESSAGES, migration::count_pending());

        // One chunk, then the process "dies".
        $this->assertFalse((new migration())->run(1));
        $this->assertSame(self::MESSAGES - 500, migration::count_pending());
        $this->assertSame(500, $DB->count_records_select('messages', 'id >= ?', [$firstnewid]));

        // A new process finishes the job.
        $this->assertTrue((new migration())->run());
        $this->assert_migrated($firstnewid);
    }

    /**
     * Old rows the migration cannot move (a user with themselves, a message without a conversation) stay,
     * are reported, keep the tables from being dropped, and go only when discarded explicitly.
     */
    public function test_unmigratable_rows_block_the_drop(): void {
        global $DB;
        $this->resetAfterTest();
        // The migration's own transactions must be real ones (one is rolled back), and the old tables are DDL.
        $this->preventResetByRollback();
        $this->create_old_tables();
        $ana = $this->getDataGenerator()->create_user();
        $bruno = $this->getDataGenerator()->create_user();
        $self = $DB->insert_record('block_dockchat_conv', (object) ['userlow' => $ana->id, 'userhigh' => $ana->id]);
        $pair = $DB->insert_record('block_dockchat_conv', (object) ['userlow' => min($ana->id, $bruno->id),
            'userhigh' => max($ana->id, $bruno->id)]);
        foreach ([[$self, 'note to self'], [$pair, 'hello'], [$pair + 100, 'orphan'], [$pair, 'bye']] as $n => [$conv, $text]) {
            $DB->insert_record('block_dockchat_msg', (object) ['convid' => $conv, 'useridfrom' => $ana->id,
                'clientmsgid' => "c$n", 'message' => $text, 'timecreated' => 1700000000 + $n]);
        }
        $DB->insert_record('block_dockchat_read', (object) ['convid' => $self, 'userid' => $ana->id, 'lastreadid' => 1]);

        $this->assertSame(2, migration::count_pending());
        $migration = new migration();
        $this->assertTrue($migration->run());
        $this->assertDebuggingCalled();
        $this->assertSame(2, $migration->get_stats()->messages);
        $skipped = migration::count_unmigratable();
        $this->assertSame(1, $skipped->selfconversations);
        $this->assertSame(1, $skipped->selfmessages);
        $this->assertSame(1, $skipped->orphanmessages);
        $conv = api::get_conversation_between_users([$ana->id, $bruno->id]);
        $this->assertSame(['hello', 'bye'], array_values($DB->get_fieldset_select('messages', 'fullmessage',
            'conversationid = ? ORDER BY id', [$conv])));

        migration::delete_leftovers();
        // The self conversation and its marker stay with its message; the pair's conversation goes.
        $this->assertSame(['block_dockchat_msg' => 2, 'block_dockchat_read' => 1, 'block_dockchat_conv' => 1],
            migration::old_rows());
        try {
            migration::drop_old_tables(2026120103);
            $this->fail('The tables must not be dropped while they hold rows');
        } catch (\upgrade_exception $e) {
            $this->assertStringContainsString('block_dockchat_msg: 2', $e->debuginfo);
        }
        $this->assertTrue(migration::old_tables_exist());

        $this->assertSame(2, migration::discard_unmigratable());
        $this->assertSame([], migration::old_rows());
        migration::drop_old_tables(2026120103);
        $this->assertFalse(migration::old_tables_exist());
    }

    /**
     * Without the old tables (a fresh install of this release) every step is a no-op, and the new tables
     * can be created twice.
     */
    public function test_no_old_tables(): void {
        global $DB;
        $this->resetAfterTest();
        // The migration's own transactions must be real ones (one is rolled back), and the old tables are DDL.
        $this->preventResetByRollback();
        $this->assertFalse(migration::old_tables_exist());
        migration::create_new_tables();
        $dbman = $DB->get_manager();
        foreach (['block_dockchat_sent', 'block_dockchat_job', 'block_dockchat_worker'] as $name) {
            $this->assertTrue($dbman->table_exists($name));
        }
        $this->assertSame(0, migration::count_pending());
        $this->assertTrue((new migration())->run());
        migration::delete_leftovers();
        migration::drop_old_tables(2026120103);
        $this->assertFalse(migration::old_tables_exist());
    }
}

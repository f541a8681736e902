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

namespace block_dockchat\local\queue;

/**
 * Tests of the dock chat queue: what runs after dockchatd's insert (design docs/design/moodle-store.md §5).
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \block_dockchat\local\queue\processor
 * @covers     \block_dockchat\local\queue\dispatcher
 * @covers     \block_dockchat\local\queue\job_runner
 * @covers     \block_dockchat\local\queue\runner
 * @covers     \block_dockchat\task\process_queue
 */
final class processor_test extends \advanced_testcase {
    /** @var \block_dockchat_generator */
    protected $gen;

    /** @var \stdClass Sender. */
    protected $alice;

    /** @var \stdClass Recipient. */
    protected $bob;

    /**
     * Two users, the block's generator, no rollback reset (the manager must not see a transaction).
     */
    protected function setUp(): void {
        parent::setUp();
        $this->resetAfterTest();
        $this->preventResetByRollback();
        $this->gen = $this->getDataGenerator()->get_plugin_generator('block_dockchat');
        $this->alice = $this->getDataGenerator()->create_user(['firstname' => 'Alice', 'lastname' => 'Sender']);
        $this->bob = $this->getDataGenerator()->create_user(['firstname' => 'Bob', 'lastname' => 'Recipient']);
        set_config('notifydelay', 0, 'block_dockchat');
    }

    /**
     * State of a block_dockchat_sent row.
     *
     * @param \stdClass $message Message made by the generator.
     * @return int
     */
    protected function state(\stdClass $message): int {
        global $DB;
        return (int) $DB->get_field('block_dockchat_sent', 'state', ['id' => $message->sentid]);
    }

    /**
     * Events of a class among the captured ones.
     *
     * @param \core\event\base[] $events Captured events.
     * @param string $class Event class.
     * @return \core\event\base[]
     */
    protected function only(array $events, string $class): array {
        return array_values(array_filter($events, fn($e) => $e instanceof $class));
    }

    /**
     * The §5.1 fixture: a stale cache key hides a dock message from the drawer's poll until phase A.
     */
    public function test_phase_a_deletes_the_stale_cache_key(): void {
        global $CFG;
        require_once($CFG->dirroot . '/message/externallib.php');
        $this->setUser($this->bob);
        $t = time() - 10;
        $message = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'hello from the dock', $t);
        $cache = \cache::make('core', 'message_time_last_message_between_users');
        $cache->set(\core_message\helper::get_last_message_time_created_cache_key($message->conversationid), $t - 100);

        $before = \core_message_external::get_conversation_messages($this->bob->id, $message->conversationid, 0, 0, false, $t);
        $this->assertCount(0, $before['messages']);

        $this->assertSame(1, (new processor())->phase_a());
        $this->assertSame(processor::STATE_WAITING, $this->state($message));

        $after = \core_message_external::get_conversation_messages($this->bob->id, $message->conversationid, 0, 0, false, $t);
        $this->assertCount(1, $after['messages']);
        $this->assertEquals($message->id, $after['messages'][0]->id);
    }

    /**
     * Phase A sets timedue = timecreated + notifydelay.
     */
    public function test_phase_a_sets_timedue_from_the_delay(): void {
        global $DB;
        set_config('notifydelay', 45, 'block_dockchat');
        $t = time() - 5;
        $message = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'x', $t);
        (new processor())->phase_a();
        $this->assertEquals($t + 45, $DB->get_field('block_dockchat_sent', 'timedue', ['id' => $message->sentid]));
    }

    /**
     * One message: one message_sent event with Moodle's data, one email with Moodle's subject; the row is DONE.
     */
    public function test_message_sent_event_and_email(): void {
        $message = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'hi Bob', time() - 2);
        $emails = $this->redirectEmails();
        $events = $this->redirectEvents();

        $processor = new processor();
        $processor->phase_a();
        $this->assertSame(1, $processor->process_due());

        $sent = $this->only($events->get_events(), \core\event\message_sent::class);
        $this->assertCount(1, $sent);
        $this->assertEquals($message->id, $sent[0]->objectid);
        $this->assertEquals($this->alice->id, $sent[0]->userid);
        $this->assertEquals($this->bob->id, $sent[0]->relateduserid);
        $this->assertEquals(1, $sent[0]->other['courseid']);
        $this->assertEquals(\context_system::instance()->id, $sent[0]->contextid);

        $mails = $emails->get_messages();
        $this->assertCount(1, $mails);
        $this->assertSame($this->bob->email, $mails[0]->to);
        $this->assertStringContainsString(fullname($this->alice), $mails[0]->subject);
        $this->assertStringContainsString('hi Bob', $mails[0]->body);
        $this->assertSame(processor::STATE_DONE, $this->state($message));
    }

    /**
     * The event data is what api::send_message_to_conversation() builds.
     */
    public function test_eventdata_matches_moodle(): void {
        global $DB;
        $message = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'a <b>b</b>', time());
        $row = $DB->get_record('messages', ['id' => $message->id]);
        $conv = $DB->get_record('message_conversations', ['id' => $message->conversationid]);
        $eventdata = (new dispatcher())->eventdata(\core_user::get_user($this->alice->id), $conv, $row);
        $this->assertSame('moodle', $eventdata->component);
        $this->assertSame('instantmessage', $eventdata->name);
        $this->assertEquals(1, $eventdata->courseid);
        $this->assertEquals(0, $eventdata->notification);
        $this->assertEquals($this->alice->id, $eventdata->userfrom->id);
        $this->assertEquals($conv->id, $eventdata->convid);
        $this->assertSame('a <b>b</b>', $eventdata->fullmessage);
        $this->assertSame('', $eventdata->fullmessagehtml);
        $this->assertSame('a <b>b</b>', $eventdata->smallmessage);
        $this->assertEquals(0, $eventdata->fullmessageformat);
        $this->assertEquals($row->id, $eventdata->savedmessageid);
        $customdata = json_decode($eventdata->customdata, true);
        $this->assertSame(['actionbuttons', 'placeholders', 'notificationiconurl', 'courseid'], array_keys($customdata));
        $this->assertSame(get_string('send', 'message'), $customdata['actionbuttons']['send']);
        $this->assertSame(get_string('writeamessage', 'message'), $customdata['placeholders']['send']);
        $this->assertEquals(1, $customdata['courseid']);
    }

    /**
     * The recipient's preference "none" for private messages: no email, the event still fires.
     */
    public function test_user_preference_none_sends_no_email(): void {
        set_user_preference('message_provider_moodle_instantmessage_enabled', 'none', $this->bob);
        $message = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'quiet', time() - 2);
        $emails = $this->redirectEmails();
        $events = $this->redirectEvents();
        $processor = new processor();
        $processor->phase_a();
        $processor->process_due();
        $this->assertCount(0, $emails->get_messages());
        $this->assertCount(1, $this->only($events->get_events(), \core\event\message_sent::class));
        $this->assertSame(processor::STATE_DONE, $this->state($message));
    }

    /**
     * A muted conversation: the manager gives no processors, the event still fires.
     */
    public function test_muted_conversation_sends_no_email(): void {
        $first = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'first', time() - 3);
        \core_message\api::mute_conversation($this->bob->id, $first->conversationid);
        $emails = $this->redirectEmails();
        $events = $this->redirectEvents();
        $processor = new processor();
        $processor->phase_a();
        $processor->process_due();
        $this->assertCount(0, $emails->get_messages());
        $this->assertCount(1, $this->only($events->get_events(), \core\event\message_sent::class));
    }

    /**
     * A message to oneself: DONE in phase A, no event, no email (Moodle fires nothing for self conversations).
     */
    public function test_self_conversation_fires_nothing(): void {
        \core_message\api::get_self_conversation($this->alice->id);
        $message = $this->gen->create_dock_message($this->alice->id, $this->alice->id, 'note to self', time() - 2);
        $emails = $this->redirectEmails();
        $events = $this->redirectEvents();
        $processor = new processor();
        $processor->phase_a();
        $this->assertSame(processor::STATE_DONE, $this->state($message));
        $this->assertSame(0, $processor->process_due());
        $this->assertCount(0, $this->only($events->get_events(), \core\event\message_sent::class));
        $this->assertCount(0, $emails->get_messages());
    }

    /**
     * A processor that throws: that row is FAILED with the error, the next row is still sent.
     */
    public function test_exception_marks_failed_and_the_queue_moves_on(): void {
        global $DB;
        $carol = $this->getDataGenerator()->create_user();
        $bad = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'boom', time() - 5);
        $good = $this->gen->create_dock_message($carol->id, $this->bob->id, 'fine', time() - 4);
        $send = function (\core\message\message $eventdata, \stdClass $savemessage) use ($bad) {
            if ((int) $savemessage->id === (int) $bad->id) {
                throw new \moodle_exception('error', 'moodle', '', null, 'processor exploded');
            }
            return \core\message\manager::send_message_to_conversation($eventdata, $savemessage);
        };
        $emails = $this->redirectEmails();
        $processor = new processor(new dispatcher($send));
        $processor->phase_a();
        $this->assertSame(2, $processor->process_due());

        $this->assertSame(processor::STATE_FAILED, $this->state($bad));
        $this->assertStringContainsString('moodle_exception', $DB->get_field('block_dockchat_sent', 'error', ['id' => $bad->sentid]));
        $this->assertSame(processor::STATE_DONE, $this->state($good));
        $this->assertCount(1, $emails->get_messages());
        // Failed rows are never retried by themselves.
        $this->assertSame(0, $processor->process_due());
        $this->assertTrue(processor::requeue($bad->sentid));
        $this->assertSame(processor::STATE_WAITING, $this->state($bad));
    }

    /**
     * Two claimers get disjoint sets, and together every due row.
     */
    public function test_two_claimers_get_disjoint_sets(): void {
        global $DB;
        $ids = [];
        for ($i = 0; $i < 10; $i++) {
            $ids[] = $this->gen->create_dock_message($this->alice->id, $this->bob->id, "m$i", time() - 20 + $i)->sentid;
        }
        $first = new processor();
        $second = new processor();
        $first->phase_a();
        [$token1, $rows1] = $first->claim(null, 4);
        [$token2, $rows2] = $second->claim(null, 100);
        [$token3, $rows3] = $first->claim(null, 100);
        $this->assertNotSame($token1, $token2);
        $this->assertCount(4, $rows1);
        $this->assertCount(6, $rows2);
        $this->assertCount(0, $rows3);
        $this->assertSame([], array_intersect(array_keys($rows1), array_keys($rows2)));
        $all = array_merge(array_keys($rows1), array_keys($rows2));
        sort($all);
        $this->assertEquals($ids, $all);
        $this->assertEquals(10, $DB->count_records('block_dockchat_sent', ['state' => processor::STATE_CLAIMED]));

        // A claimer that lost its claim (swept, taken by another) dispatches nothing of it.
        $DB->set_field('block_dockchat_sent', 'claimtoken', 'someoneelse', ['claimtoken' => $token1]);
        $this->redirectEmails();
        $this->assertSame(0, $first->dispatch_claimed($token1, $rows1));
    }

    /**
     * The sweep: an abandoned claim goes back to WAITING, an abandoned dispatch becomes UNCERTAIN.
     */
    public function test_sweep_recovers_claims_and_reports_dispatches(): void {
        global $DB;
        $claimed = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'c', time() - 900);
        $started = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 's', time() - 900);
        $DB->update_record('block_dockchat_sent', (object) ['id' => $claimed->sentid, 'state' => processor::STATE_CLAIMED,
            'claimtoken' => 'dead', 'timeclaimed' => time() - processor::LEASE - 1]);
        $DB->update_record('block_dockchat_sent', (object) ['id' => $started->sentid, 'state' => processor::STATE_DISPATCHING,
            'claimtoken' => 'dead', 'timeclaimed' => time() - 900, 'timestarted' => time() - processor::LEASE - 1]);
        (new processor())->sweep();
        $this->assertSame(processor::STATE_WAITING, $this->state($claimed));
        $this->assertSame(processor::STATE_UNCERTAIN, $this->state($started));
    }

    /**
     * Policy: read within the delay → no email, but the message_sent event fires once.
     */
    public function test_policy_read_within_the_delay(): void {
        set_config('notifydelay', 60, 'block_dockchat');
        $message = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'seen quickly', time() - 120);
        $processor = new processor();
        $processor->phase_a();
        $this->gen->create_dock_read($this->bob->id, $message, time() - 100);
        $emails = $this->redirectEmails();
        $events = $this->redirectEvents();
        $this->assertSame(1, $processor->process_due());
        $this->assertCount(0, $emails->get_messages());
        $sent = $this->only($events->get_events(), \core\event\message_sent::class);
        $this->assertCount(1, $sent);
        $this->assertEquals($message->id, $sent[0]->objectid);
        $this->assertSame(processor::STATE_DONE, $this->state($message));
    }

    /**
     * Policy: unread → one email containing both messages (the second not due yet), one event per message.
     */
    public function test_policy_unread_gives_one_digest_email(): void {
        set_config('notifydelay', 60, 'block_dockchat');
        $one = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'first line', time() - 70);
        $two = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'second line', time() - 30);
        $processor = new processor();
        $processor->phase_a();
        $emails = $this->redirectEmails();
        $events = $this->redirectEvents();
        $this->assertSame(2, $processor->process_due());

        $mails = $emails->get_messages();
        $this->assertCount(1, $mails);
        $this->assertStringContainsString('first line', $mails[0]->body);
        $this->assertStringContainsString('second line', $mails[0]->body);
        $sent = $this->only($events->get_events(), \core\event\message_sent::class);
        $this->assertCount(2, $sent);
        $objectids = array_map(fn($e) => (int) $e->objectid, $sent);
        sort($objectids);
        $this->assertSame([(int) $one->id, (int) $two->id], $objectids);
        $this->assertSame(processor::STATE_DONE, $this->state($one));
        $this->assertSame(processor::STATE_DONE, $this->state($two));
    }

    /**
     * Policy: nothing is due before the delay.
     */
    public function test_policy_waits_for_the_delay(): void {
        set_config('notifydelay', 60, 'block_dockchat');
        $message = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'soon', time() - 5);
        $processor = new processor();
        $processor->phase_a();
        $emails = $this->redirectEmails();
        $this->assertSame(0, $processor->process_due());
        $this->assertSame(processor::STATE_WAITING, $this->state($message));
        $this->assertSame(1, $processor->process_due(time() + 60));
        $this->assertCount(1, $emails->get_messages());
    }

    /**
     * Setting 0: each message is notified on its own, at once, as Moodle does (even if read since).
     */
    public function test_delay_zero_is_moodles_behaviour(): void {
        $one = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'uno', time() - 2);
        $two = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'dos', time() - 1);
        $processor = new processor();
        $processor->phase_a();
        $this->gen->create_dock_read($this->bob->id, $one);
        $emails = $this->redirectEmails();
        $events = $this->redirectEvents();
        $this->assertSame(2, $processor->process_due());
        $mails = $emails->get_messages();
        $this->assertCount(2, $mails);
        $this->assertStringContainsString('uno', $mails[0]->body);
        $this->assertStringNotContainsString('dos', $mails[0]->body);
        $this->assertStringContainsString('dos', $mails[1]->body);
        $this->assertCount(2, $this->only($events->get_events(), \core\event\message_sent::class));
        $this->assertSame(processor::STATE_DONE, $this->state($two));
    }

    /**
     * Jobs: a read fires message_viewed as api::mark_message_as_read() does, a deletion fires message_deleted;
     * the job rows are gone.
     */
    public function test_jobs_fire_viewed_and_deleted_events(): void {
        global $DB;
        $message = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'read me', time() - 2);
        $read = $this->gen->create_dock_read($this->bob->id, $message);
        $deleted = $this->gen->create_dock_delete($this->bob->id, $message);
        $events = $this->redirectEvents();
        $this->assertSame(2, (new job_runner())->run());

        $viewed = $this->only($events->get_events(), \core\event\message_viewed::class);
        $this->assertCount(1, $viewed);
        $this->assertEquals($read->muaid, $viewed[0]->objectid);
        $this->assertEquals($this->bob->id, $viewed[0]->userid);
        $this->assertEquals($this->alice->id, $viewed[0]->relateduserid);
        $this->assertEquals($message->id, $viewed[0]->other['messageid']);
        $this->assertEquals(\context_user::instance($this->bob->id)->id, $viewed[0]->contextid);

        $gone = $this->only($events->get_events(), \core\event\message_deleted::class);
        $this->assertCount(1, $gone);
        $this->assertEquals($deleted->muaid, $gone[0]->objectid);
        $this->assertEquals($this->bob->id, $gone[0]->userid);
        $this->assertEquals($this->bob->id, $gone[0]->relateduserid);
        $this->assertEquals($message->id, $gone[0]->other['messageid']);

        $this->assertSame(0, $DB->count_records('block_dockchat_job'));
        $this->assertSame(0, (new job_runner())->run());
    }

    /**
     * Jobs of kinds 4 and 5: a block row dockchatd wrote fires message_user_blocked, one it deleted
     * message_user_unblocked, as api::block_user() / unblock_user() do (PROTOCOL.md §4.1).
     */
    public function test_jobs_fire_blocked_and_unblocked_events(): void {
        global $DB;
        $t = time() - 5;
        // As dockchatd writes them: the row and its job in one transaction.
        $rowid = $DB->insert_record('message_users_blocked',
            (object) ['userid' => $this->bob->id, 'blockeduserid' => $this->alice->id, 'timecreated' => $t]);
        foreach ([job_runner::KIND_BLOCKED, job_runner::KIND_UNBLOCKED] as $kind) {
            $DB->insert_record('block_dockchat_job', (object) ['kind' => $kind, 'userid' => $this->bob->id,
                'itemid' => $rowid, 'relateduserid' => $this->alice->id, 'timecreated' => $t, 'state' => 0,
                'attempts' => 0]);
        }
        $events = $this->redirectEvents();
        $this->assertSame(2, (new job_runner())->run());
        foreach ([\core\event\message_user_blocked::class, \core\event\message_user_unblocked::class] as $class) {
            $fired = $this->only($events->get_events(), $class);
            $this->assertCount(1, $fired);
            $this->assertEquals($rowid, $fired[0]->objectid);
            $this->assertEquals($this->bob->id, $fired[0]->userid);
            $this->assertEquals($this->alice->id, $fired[0]->relateduserid);
            $this->assertEquals(\context_user::instance($this->bob->id)->id, $fired[0]->contextid);
            $this->assertEquals($this->alice->id, $fired[0]->get_record_snapshot('message_users_blocked', $rowid)->blockeduserid);
        }
        $this->assertSame(0, $DB->count_records('block_dockchat_job'));
    }

    /**
     * Jobs of kind 3 (merges) are left untouched for now.
     */
    public function test_merge_jobs_are_left_alone(): void {
        global $DB;
        $id = $DB->insert_record('block_dockchat_job', (object) ['kind' => job_runner::KIND_MERGE, 'userid' => 0,
            'convhash' => sha1('1-2'), 'timecreated' => time(), 'state' => 0, 'attempts' => 0]);
        $this->assertSame(0, (new job_runner())->run());
        $this->assertEquals(0, $DB->get_field('block_dockchat_job', 'state', ['id' => $id]));
    }

    /**
     * The standard log gets the events of a dispatch and of a job at once, not when the (long-running) process
     * ends: logstore_standard buffers up to 50 events until its manager is disposed.
     */
    public function test_log_rows_are_written_at_once(): void {
        global $DB;
        // The standard store ignores events of a visitor who is not logged in (logguests off), as the worker is not.
        $this->setAdminUser();
        set_config('enabled_stores', 'logstore_standard', 'tool_log');
        set_config('buffersize', 50, 'logstore_standard');
        get_log_manager(true);
        $message = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'logged', time() - 2);
        $this->redirectEmails();
        $processor = new processor();
        $processor->phase_a();
        $this->assertSame(1, $processor->process_due());
        $this->assertEquals(1, $DB->count_records('logstore_standard_log',
            ['eventname' => '\\core\\event\\message_sent', 'objectid' => $message->id]));

        $read = $this->gen->create_dock_read($this->bob->id, $message);
        $this->assertSame(1, (new job_runner())->run());
        $this->assertEquals(1, $DB->count_records('logstore_standard_log',
            ['eventname' => '\\core\\event\\message_viewed', 'objectid' => $read->muaid]));
    }

    /**
     * The scheduled task makes one pass, instead of looping for 50 s, while a worker's heartbeat is fresh.
     */
    public function test_task_one_pass_beside_a_live_worker(): void {
        global $DB;
        $message = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'task', time() - 2);
        $this->assertFalse(\block_dockchat\task\process_queue::worker_alive());
        $DB->insert_record(runner::TABLE, (object) ['hostname' => 'elsewhere', 'pid' => 1, 'timestarted' => time() - 60,
            'timeseen' => time() - 2, 'processed' => 0]);
        $this->assertTrue(\block_dockchat\task\process_queue::worker_alive());
        $this->redirectEmails();
        $start = microtime(true);
        ob_start();
        (new \block_dockchat\task\process_queue())->execute();
        $output = ob_get_clean();
        $this->assertLessThan(10, microtime(true) - $start);
        $this->assertStringContainsString('one pass only', $output);
        $this->assertSame(processor::STATE_DONE, $this->state($message));
        // The live worker's row stays, the task's own is gone.
        $this->assertSame(1, $DB->count_records(runner::TABLE));
    }

    /**
     * The runner: one pass handles phase A, the due rows and the jobs, and leaves no heartbeat behind.
     */
    public function test_runner_once(): void {
        global $DB;
        $message = $this->gen->create_dock_message($this->alice->id, $this->bob->id, 'loop', time() - 2);
        $this->gen->create_dock_read($this->bob->id, $message);
        $this->redirectEmails();
        $runner = new runner();
        // Phase A (1) + the due row (1) + the job (1).
        $this->assertSame(3, $runner->run(10, 100, true));
        $this->assertSame(processor::STATE_DONE, $this->state($message));
        $this->assertSame(0, $DB->count_records('block_dockchat_job'));
        $this->assertSame(0, $DB->count_records('block_dockchat_worker'));
    }
}

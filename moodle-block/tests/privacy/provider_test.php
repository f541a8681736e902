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

namespace block_dockchat\privacy;

use core_privacy\local\metadata\collection;
use core_privacy\local\request\approved_contextlist;
use core_privacy\local\request\approved_userlist;
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;

/**
 * Tests of the privacy provider of block_dockchat.
 *
 * The messages live in Moodle's tables; the tests write them, and the block's rows beside them, the
 * way dockchatd does, and check that core_message's provider plus the block's leave nothing behind.
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \block_dockchat\privacy\provider
 */
final class provider_test extends \core_privacy\tests\provider_testcase {
    /** @var int Clock for inserted rows. */
    private int $clock = 1763772000;

    /** @var int Client message ids used so far. */
    private int $cids = 0;

    /**
     * Stores a message from one user to another as dockchatd does: the messages row in the pair's
     * conversation and the block_dockchat_sent row with the client id.
     *
     * @param int $from Sender.
     * @param int $to Recipient.
     * @param string $text Text.
     * @return int messages.id
     */
    private function message(int $from, int $to, string $text): int {
        global $DB;
        $conv = \core_message\api::create_conversation(\core_message\api::MESSAGE_CONVERSATION_TYPE_INDIVIDUAL,
            [$from, $to]);
        $time = $this->clock++;
        $id = (int) $DB->insert_record('messages', (object) [
            'useridfrom' => $from,
            'conversationid' => $conv->id,
            'subject' => null,
            'fullmessage' => $text,
            'fullmessageformat' => 0,
            'fullmessagehtml' => '',
            'smallmessage' => $text,
            'timecreated' => $time,
            'fullmessagetrust' => 0,
            'customdata' => null,
        ]);
        $DB->insert_record('block_dockchat_sent', (object) [
            'messageid' => $id,
            'conversationid' => $conv->id,
            'useridfrom' => $from,
            'clientmsgid' => 'c-' . (++$this->cids),
            'timecreated' => $time,
            'state' => 0,
            'timedue' => $time,
        ]);
        return $id;
    }

    /**
     * Marks a message read as a dock read does: the message_user_actions row and a job to fire the event.
     *
     * @param int $reader Reader.
     * @param int $messageid Message.
     */
    private function read(int $reader, int $messageid): void {
        global $DB;
        $from = (int) $DB->get_field('messages', 'useridfrom', ['id' => $messageid]);
        $muaid = $DB->insert_record('message_user_actions', (object) [
            'userid' => $reader, 'messageid' => $messageid, 'action' => 1, 'timecreated' => $this->clock,
        ]);
        $DB->insert_record('block_dockchat_job', (object) [
            'kind' => 1, 'userid' => $reader, 'messageid' => $messageid, 'itemid' => $muaid,
            'relateduserid' => $from, 'timecreated' => $this->clock, 'state' => 0, 'attempts' => 0,
        ]);
    }

    /**
     * Records a docked window.
     *
     * @param int $owner Owner.
     * @param int $peer The other user.
     * @param int $state 0 open, 1 minimised.
     */
    private function window(int $owner, int $peer, int $state): void {
        global $DB;
        $DB->insert_record('block_dockchat_window', (object) [
            'userid' => $owner,
            'peerid' => $peer,
            'state' => $state,
            'timemodified' => $this->clock,
        ]);
    }

    /**
     * Ana and Bruno chat from the dock, Ana has read Bruno's message; Carla writes to Bruno, who has a
     * window on her; Dora has nothing.
     *
     * @return \stdClass[] [ana, bruno, carla, dora]
     */
    private function scenario(): array {
        $gen = $this->getDataGenerator();
        $ana = $gen->create_user();
        $bruno = $gen->create_user();
        $carla = $gen->create_user();
        $dora = $gen->create_user();

        $this->message($ana->id, $bruno->id, 'Hi Bruno');
        $last = $this->message($bruno->id, $ana->id, 'Hi Ana <b>!</b>');
        $this->read($ana->id, $last);
        $this->window($ana->id, $bruno->id, 0);
        $this->window($bruno->id, $ana->id, 1);

        $this->message($carla->id, $bruno->id, 'Bruno, homework?');
        $this->window($bruno->id, $carla->id, 0);
        return [$ana, $bruno, $carla, $dora];
    }

    /**
     * Block rows naming a user or one of their messages.
     *
     * @param int $userid The user.
     * @return int
     */
    private function rows_about(int $userid): int {
        global $DB;
        $params = ['u1' => $userid, 'u2' => $userid];
        return $DB->count_records_select('block_dockchat_window', 'userid = :u1 OR peerid = :u2', $params)
            + $DB->count_records('block_dockchat_sent', ['useridfrom' => $userid])
            + $DB->count_records_select('block_dockchat_job', 'userid = :u1 OR relateduserid = :u2', $params)
            + $DB->count_records_sql(
                'SELECT COUNT(1) FROM {block_dockchat_sent} s LEFT JOIN {messages} m ON m.id = s.messageid
                  WHERE m.id IS NULL')
            + $DB->count_records_sql(
                'SELECT COUNT(1) FROM {block_dockchat_job} j LEFT JOIN {messages} m ON m.id = j.messageid
                  WHERE j.messageid IS NOT NULL AND m.id IS NULL');
    }

    /**
     * The metadata names the block's three tables, core_message and dockchatd, and no old table.
     */
    public function test_get_metadata(): void {
        $collection = provider::get_metadata(new collection('block_dockchat'));
        $names = array_map(fn($item) => $item->get_name(), $collection->get_collection());
        sort($names);
        $this->assertSame(['block_dockchat_job', 'block_dockchat_sent', 'block_dockchat_window', 'core_message',
            'dockchatd'], $names);
        foreach ($collection->get_collection() as $item) {
            $this->assertTrue(get_string_manager()->string_exists($item->get_summary(), 'block_dockchat'));
            foreach ($item->get_privacy_fields() as $field => $string) {
                $this->assertTrue(get_string_manager()->string_exists($string, 'block_dockchat'), $string);
            }
        }
    }

    /**
     * Users with block data have their user context; others have none.
     */
    public function test_get_contexts_for_userid(): void {
        $this->resetAfterTest();
        [$ana, $bruno, $carla, $dora] = $this->scenario();

        foreach ([$ana, $bruno, $carla] as $user) {
            $contextlist = provider::get_contexts_for_userid((int) $user->id);
            $this->assertSame([(int) \core\context\user::instance($user->id)->id],
                array_map('intval', $contextlist->get_contextids()));
        }
        $this->assertCount(0, provider::get_contexts_for_userid((int) $dora->id));
    }

    /**
     * In a user context, the user is listed if they have data.
     */
    public function test_get_users_in_context(): void {
        $this->resetAfterTest();
        [$ana, , , $dora] = $this->scenario();

        $userlist = new userlist(\core\context\user::instance($ana->id), 'block_dockchat');
        provider::get_users_in_context($userlist);
        $this->assertSame([(int) $ana->id], array_map('intval', $userlist->get_userids()));

        $userlist = new userlist(\core\context\user::instance($dora->id), 'block_dockchat');
        provider::get_users_in_context($userlist);
        $this->assertCount(0, $userlist);

        $userlist = new userlist(\core\context\system::instance(), 'block_dockchat');
        provider::get_users_in_context($userlist);
        $this->assertCount(0, $userlist);
    }

    /**
     * The export holds the client ids of the messages the user sent from the dock, and their windows.
     */
    public function test_export_user_data(): void {
        global $DB;
        $this->resetAfterTest();
        [$ana, $bruno] = $this->scenario();
        $context = \core\context\user::instance($ana->id);

        $this->export_context_data_for_user((int) $ana->id, $context, 'block_dockchat');
        $writer = writer::with_context($context);
        $this->assertTrue($writer->has_any_data());

        $root = get_string('pluginname', 'block_dockchat');
        $sent = $writer->get_data([$root, get_string('privacy:path:sent', 'block_dockchat')]);
        $this->assertCount(1, $sent->messages);
        $mine = $DB->get_record('messages', ['useridfrom' => $ana->id], '*', MUST_EXIST);
        $this->assertSame((int) $mine->id, $sent->messages[0]->messageid);
        $this->assertSame((int) $mine->conversationid, $sent->messages[0]->conversationid);
        $this->assertSame('c-1', $sent->messages[0]->clientmsgid);

        $windows = $writer->get_data([$root, get_string('privacy:path:windows', 'block_dockchat')]);
        $this->assertCount(1, $windows->windows);
        $this->assertEquals($bruno->id, $windows->windows[0]->otheruserid);
        $this->assertSame(get_string('privacy:window:open', 'block_dockchat'), $windows->windows[0]->state);
    }

    /**
     * Nothing is exported from another user's context.
     */
    public function test_export_ignores_other_contexts(): void {
        $this->resetAfterTest();
        [$ana, $bruno] = $this->scenario();
        $brunocontext = \core\context\user::instance($bruno->id);
        $contextlist = new approved_contextlist($ana, 'block_dockchat', [$brunocontext->id]);
        provider::export_user_data($contextlist);
        $this->assertFalse(writer::with_context($brunocontext)->has_any_data());
    }

    /**
     * Deleting a user with core_message's provider and the block's leaves no block row about the user or
     * their messages; the other users' rows stay.
     */
    public function test_delete_data_for_user_with_core(): void {
        global $DB;
        $this->resetAfterTest();
        [$ana, $bruno, $carla] = $this->scenario();
        $this->assertGreaterThan(0, $this->rows_about((int) $bruno->id));

        $contextlist = new approved_contextlist($bruno, 'block_dockchat', [\core\context\user::instance($bruno->id)->id]);
        \core_message\privacy\provider::delete_data_for_user(
            new approved_contextlist($bruno, 'core_message', [\core\context\user::instance($bruno->id)->id]));
        provider::delete_data_for_user($contextlist);

        $this->assertSame(0, $this->rows_about((int) $bruno->id));
        $this->assertFalse($DB->record_exists('messages', ['useridfrom' => $bruno->id]));
        // Ana's and Carla's sent messages and their cids stay.
        $this->assertSame(1, $DB->count_records('block_dockchat_sent', ['useridfrom' => $ana->id]));
        $this->assertSame(1, $DB->count_records('block_dockchat_sent', ['useridfrom' => $carla->id]));
        $this->assertCount(0, provider::get_contexts_for_userid((int) $bruno->id));
        $this->assertCount(1, provider::get_contexts_for_userid((int) $ana->id));
    }

    /**
     * The block's deletion alone also removes the jobs about the user's messages and the windows on them.
     */
    public function test_delete_data_for_user(): void {
        global $DB;
        $this->resetAfterTest();
        [$ana, $bruno] = $this->scenario();

        $contextlist = new approved_contextlist($bruno, 'block_dockchat', [\core\context\user::instance($bruno->id)->id]);
        provider::delete_data_for_user($contextlist);

        $this->assertFalse($DB->record_exists('block_dockchat_sent', ['useridfrom' => $bruno->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_window', ['userid' => $bruno->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_window', ['peerid' => $bruno->id]));
        // Ana's read of Bruno's message was a job about Bruno (the sender): gone.
        $this->assertSame(0, $DB->count_records('block_dockchat_job'));
        $this->assertTrue($DB->record_exists('block_dockchat_sent', ['useridfrom' => $ana->id]));
        // Messages are core_message's: the block's provider leaves them.
        $this->assertTrue($DB->record_exists('messages', ['useridfrom' => $bruno->id]));
    }

    /**
     * An approved list for another context deletes nothing.
     */
    public function test_delete_data_for_user_other_context(): void {
        global $DB;
        $this->resetAfterTest();
        [$ana, $bruno] = $this->scenario();
        $count = $DB->count_records('block_dockchat_sent') + $DB->count_records('block_dockchat_window');
        $contextlist = new approved_contextlist($ana, 'block_dockchat', [\core\context\user::instance($bruno->id)->id]);
        provider::delete_data_for_user($contextlist);
        $this->assertSame($count, $DB->count_records('block_dockchat_sent') + $DB->count_records('block_dockchat_window'));
    }

    /**
     * Deleting everything in a user context deletes that user's data only.
     */
    public function test_delete_data_for_all_users_in_context(): void {
        global $DB;
        $this->resetAfterTest();
        [$ana, $bruno, $carla] = $this->scenario();

        provider::delete_data_for_all_users_in_context(\core\context\user::instance($carla->id));
        $this->assertFalse($DB->record_exists('block_dockchat_sent', ['useridfrom' => $carla->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_window', ['peerid' => $carla->id]));
        $this->assertSame(2, $DB->count_records('block_dockchat_sent'));
        $this->assertSame(2, $DB->count_records('block_dockchat_window'));

        provider::delete_data_for_all_users_in_context(\core\context\system::instance());
        $this->assertSame(2, $DB->count_records('block_dockchat_sent'));
    }

    /**
     * Deleting a list of users in a user context deletes the context's user if listed.
     */
    public function test_delete_data_for_users(): void {
        global $DB;
        $this->resetAfterTest();
        [$ana, $bruno] = $this->scenario();
        $anacontext = \core\context\user::instance($ana->id);

        // Bruno is not the owner of Ana's context: nothing happens.
        provider::delete_data_for_users(new approved_userlist($anacontext, 'block_dockchat', [$bruno->id]));
        $this->assertTrue($DB->record_exists('block_dockchat_sent', ['useridfrom' => $ana->id]));

        provider::delete_data_for_users(new approved_userlist($anacontext, 'block_dockchat', [$ana->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_sent', ['useridfrom' => $ana->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_window', ['userid' => $ana->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_job', ['userid' => $ana->id]));
        $this->assertTrue($DB->record_exists('block_dockchat_sent', ['useridfrom' => $bruno->id]));
    }
}

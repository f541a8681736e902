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
 * The chat tables are written by dockchatd; the tests insert rows the way it does.
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

    /** @var array client message ids used so far, per sender. */
    private array $cids = [];

    /**
     * Finds or creates the conversation of two users, as dockchatd does.
     *
     * @param int $a One user.
     * @param int $b The other user.
     * @return int Conversation id.
     */
    private function conversation(int $a, int $b): int {
        global $DB;
        $low = min($a, $b);
        $high = max($a, $b);
        $id = $DB->get_field('block_dockchat_conv', 'id', ['userlow' => $low, 'userhigh' => $high]);
        if ($id) {
            return (int) $id;
        }
        return (int) $DB->insert_record('block_dockchat_conv',
            (object) ['userlow' => $low, 'userhigh' => $high, 'timecreated' => $this->clock]);
    }

    /**
     * Stores a message from one user to another.
     *
     * @param int $from Sender.
     * @param int $to Recipient.
     * @param string $text Text.
     * @return int Message id.
     */
    private function message(int $from, int $to, string $text): int {
        global $DB;
        $convid = $this->conversation($from, $to);
        $this->cids[$from] = ($this->cids[$from] ?? 0) + 1;
        return (int) $DB->insert_record('block_dockchat_msg', (object) [
            'convid' => $convid,
            'useridfrom' => $from,
            'clientmsgid' => 'c-' . $this->cids[$from],
            'message' => $text,
            'timecreated' => $this->clock++,
        ]);
    }

    /**
     * Marks a conversation read up to a message.
     *
     * @param int $reader Reader.
     * @param int $other The other user.
     * @param int $upto Message id.
     */
    private function read(int $reader, int $other, int $upto): void {
        global $DB;
        $DB->insert_record('block_dockchat_read', (object) [
            'convid' => $this->conversation($reader, $other),
            'userid' => $reader,
            'lastreadid' => $upto,
            'timemodified' => $this->clock,
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
     * Three users: Ana and Bruno chat; Bruno and Carla chat; Dora has nothing.
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
        $this->read($ana->id, $bruno->id, $last);
        $this->window($ana->id, $bruno->id, 0);
        $this->window($bruno->id, $ana->id, 1);

        $this->message($carla->id, $bruno->id, 'Bruno, homework?');
        $this->window($bruno->id, $carla->id, 0);
        return [$ana, $bruno, $carla, $dora];
    }

    /**
     * The metadata names the four tables and dockchatd.
     */
    public function test_get_metadata(): void {
        $collection = provider::get_metadata(new collection('block_dockchat'));
        $names = array_map(fn($item) => $item->get_name(), $collection->get_collection());
        sort($names);
        $this->assertSame(['block_dockchat_conv', 'block_dockchat_msg', 'block_dockchat_read', 'block_dockchat_window',
            'dockchatd'], $names);
    }

    /**
     * Users with chat data have their user context; others have none.
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
     * The export holds each conversation under the other user's id, with messages, read marks and windows.
     */
    public function test_export_user_data(): void {
        $this->resetAfterTest();
        [$ana, $bruno] = $this->scenario();
        $context = \core\context\user::instance($ana->id);

        $this->export_context_data_for_user((int) $ana->id, $context, 'block_dockchat');
        $writer = writer::with_context($context);
        $this->assertTrue($writer->has_any_data());

        $root = get_string('pluginname', 'block_dockchat');
        $data = $writer->get_data([$root, get_string('privacy:path:conversations', 'block_dockchat'), (string) $bruno->id]);
        $this->assertEquals($bruno->id, $data->otheruserid);
        $this->assertCount(2, $data->messages);
        $this->assertSame('Hi Bruno', $data->messages[0]->message);
        $this->assertEquals($ana->id, $data->messages[0]->author);
        $this->assertSame('Hi Ana <b>!</b>', $data->messages[1]->message);
        $this->assertEquals($bruno->id, $data->messages[1]->author);
        $this->assertEquals($data->messages[1]->id, $data->yourlastread);

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
     * Deleting a user removes what they sent, their read marks and windows, and conversations left empty;
     * what others sent stays.
     */
    public function test_delete_data_for_user(): void {
        global $DB;
        $this->resetAfterTest();
        [$ana, $bruno, $carla] = $this->scenario();

        $contextlist = new approved_contextlist($bruno, 'block_dockchat', [\core\context\user::instance($bruno->id)->id]);
        provider::delete_data_for_user($contextlist);

        $this->assertFalse($DB->record_exists('block_dockchat_msg', ['useridfrom' => $bruno->id]));
        $this->assertTrue($DB->record_exists('block_dockchat_msg', ['useridfrom' => $ana->id]));
        $this->assertTrue($DB->record_exists('block_dockchat_msg', ['useridfrom' => $carla->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_window', ['userid' => $bruno->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_window', ['peerid' => $bruno->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_read', ['userid' => $bruno->id]));
        // Ana's read mark stays: the conversation still holds her message.
        $this->assertTrue($DB->record_exists('block_dockchat_read', ['userid' => $ana->id]));
        $this->assertSame(2, $DB->count_records('block_dockchat_conv'));

        // Once Ana's data goes too, the empty Ana-Bruno conversation is removed.
        $contextlist = new approved_contextlist($ana, 'block_dockchat', [\core\context\user::instance($ana->id)->id]);
        provider::delete_data_for_user($contextlist);
        $this->assertSame(0, $DB->count_records('block_dockchat_msg', ['useridfrom' => $ana->id]));
        $this->assertSame(1, $DB->count_records('block_dockchat_conv'));
        $this->assertCount(0, provider::get_contexts_for_userid((int) $ana->id));
    }

    /**
     * An approved list for another context deletes nothing.
     */
    public function test_delete_data_for_user_other_context(): void {
        global $DB;
        $this->resetAfterTest();
        [$ana, $bruno] = $this->scenario();
        $count = $DB->count_records('block_dockchat_msg');
        $contextlist = new approved_contextlist($ana, 'block_dockchat', [\core\context\user::instance($bruno->id)->id]);
        provider::delete_data_for_user($contextlist);
        $this->assertSame($count, $DB->count_records('block_dockchat_msg'));
    }

    /**
     * Deleting everything in a user context deletes that user's data only.
     */
    public function test_delete_data_for_all_users_in_context(): void {
        global $DB;
        $this->resetAfterTest();
        [$ana, $bruno, $carla] = $this->scenario();

        provider::delete_data_for_all_users_in_context(\core\context\user::instance($carla->id));
        $this->assertFalse($DB->record_exists('block_dockchat_msg', ['useridfrom' => $carla->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_window', ['peerid' => $carla->id]));
        $this->assertSame(2, $DB->count_records('block_dockchat_msg'));
        // The Bruno-Carla conversation had only Carla's message: it is gone.
        $this->assertSame(1, $DB->count_records('block_dockchat_conv'));

        provider::delete_data_for_all_users_in_context(\core\context\system::instance());
        $this->assertSame(2, $DB->count_records('block_dockchat_msg'));
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
        $this->assertTrue($DB->record_exists('block_dockchat_msg', ['useridfrom' => $ana->id]));

        provider::delete_data_for_users(new approved_userlist($anacontext, 'block_dockchat', [$ana->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_msg', ['useridfrom' => $ana->id]));
        $this->assertFalse($DB->record_exists('block_dockchat_window', ['userid' => $ana->id]));
        $this->assertTrue($DB->record_exists('block_dockchat_msg', ['useridfrom' => $bruno->id]));
    }
}

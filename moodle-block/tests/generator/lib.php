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
 * Creates dock chat block instances (the defaults of testing_block_generator suffice), and writes rows the
 * way dockchatd writes them (docs/design/moodle-store.md §1.3, §2.3, §3.4; moodle-block/db/install.xml).
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class block_dockchat_generator extends testing_block_generator {
    /** @var int Client message ids handed out so far. */
    protected $cids = 0;

    /**
     * The individual conversation of two users as dockchatd finds or creates it: the lowest id of type 1 with
     * convhash sha1("low-high"), else a new one with the members [sender, recipient].
     *
     * @param int $from Sender.
     * @param int $to Recipient.
     * @param int $now The time.
     * @return int Conversation id.
     */
    public function dock_conversation(int $from, int $to, int $now): int {
        global $DB;
        $hash = sha1(min($from, $to) . '-' . max($from, $to));
        $ids = $DB->get_fieldset_select('message_conversations', 'id', 'convhash = :hash AND type = :type',
            ['hash' => $hash, 'type' => \core_message\api::MESSAGE_CONVERSATION_TYPE_INDIVIDUAL]);
        if ($ids) {
            return (int) min($ids);
        }
        $convid = (int) $DB->insert_record('message_conversations', (object) [
            'type' => \core_message\api::MESSAGE_CONVERSATION_TYPE_INDIVIDUAL, 'name' => null, 'convhash' => $hash,
            'component' => null, 'itemtype' => null, 'itemid' => null, 'contextid' => null, 'enabled' => 1,
            'timecreated' => $now, 'timemodified' => $now,
        ]);
        foreach ([$from, $to] as $userid) {
            $DB->insert_record('message_conversation_members',
                (object) ['conversationid' => $convid, 'userid' => $userid, 'timecreated' => $now]);
        }
        return $convid;
    }

    /**
     * A dock message as dockchatd stores it, in one transaction: the messages row (format 0, no HTML, no
     * subject, the text in fullmessage and smallmessage, Moodle's customdata), the conversation and members if
     * the pair had none, and a block_dockchat_sent row (state 0 NEW, timedue = timecreated).
     *
     * @param int $from Sender.
     * @param int $to Recipient (the sender for a message to oneself, in the existing self conversation).
     * @param string $text The text.
     * @param int|null $timecreated The time (default now).
     * @return stdClass The messages row, with ->sentid (block_dockchat_sent.id).
     */
    public function create_dock_message(int $from, int $to, string $text, ?int $timecreated = null): stdClass {
        global $DB;
        $now = $timecreated ?? time();
        $transaction = $DB->start_delegated_transaction();
        if ($from === $to) {
            $convid = (int) $DB->get_field('message_conversations', 'id',
                ['convhash' => sha1((string) $from), 'type' => \core_message\api::MESSAGE_CONVERSATION_TYPE_SELF],
                MUST_EXIST);
        } else {
            $convid = $this->dock_conversation($from, $to, $now);
        }
        $customdata = json_encode([
            'actionbuttons' => ['send' => 'Send'],
            'placeholders' => ['send' => 'Write a message...'],
            'notificationiconurl' => 'https://www.example.com/moodle/theme/image.php/boost/core/1/u/f1',
            'courseid' => 1,
        ]);
        $message = (object) [
            'useridfrom' => $from, 'conversationid' => $convid, 'subject' => null, 'fullmessage' => $text,
            'fullmessageformat' => 0, 'fullmessagehtml' => '', 'smallmessage' => $text, 'timecreated' => $now,
            'fullmessagetrust' => 0, 'customdata' => $customdata,
        ];
        $message->id = (int) $DB->insert_record('messages', $message);
        $this->cids++;
        $message->sentid = (int) $DB->insert_record('block_dockchat_sent', (object) [
            'messageid' => $message->id, 'conversationid' => $convid, 'useridfrom' => $from,
            'clientmsgid' => 'cid-' . $this->cids . '-' . random_string(8), 'timecreated' => $now, 'state' => 0,
            'timedue' => $now, 'attempts' => 0,
        ]);
        $transaction->allow_commit();
        return $message;
    }

    /**
     * A dock "read" as dockchatd writes it: the message_user_actions row (action 1) and a kind 1 job.
     *
     * @param int $reader The reader.
     * @param stdClass $message The messages row.
     * @param int|null $time The time (default now).
     * @return stdClass The job row, with ->muaid.
     */
    public function create_dock_read(int $reader, stdClass $message, ?int $time = null): stdClass {
        return $this->create_dock_action($reader, $message, \core_message\api::MESSAGE_ACTION_READ, 1, $time);
    }

    /**
     * A dock deletion for one user: the message_user_actions row (action 2) and a kind 2 job.
     *
     * @param int $userid The user who deletes it for themselves.
     * @param stdClass $message The messages row.
     * @param int|null $time The time (default now).
     * @return stdClass The job row, with ->muaid.
     */
    public function create_dock_delete(int $userid, stdClass $message, ?int $time = null): stdClass {
        return $this->create_dock_action($userid, $message, \core_message\api::MESSAGE_ACTION_DELETED, 2, $time);
    }

    /**
     * One message_user_actions row and its job, in one transaction.
     *
     * @param int $userid The user.
     * @param stdClass $message The messages row.
     * @param int $action message_user_actions.action.
     * @param int $kind block_dockchat_job.kind.
     * @param int|null $time The time.
     * @return stdClass The job row, with ->muaid.
     */
    protected function create_dock_action(int $userid, stdClass $message, int $action, int $kind, ?int $time): stdClass {
        global $DB;
        $now = $time ?? time();
        $transaction = $DB->start_delegated_transaction();
        $muaid = (int) $DB->insert_record('message_user_actions',
            (object) ['userid' => $userid, 'messageid' => $message->id, 'action' => $action, 'timecreated' => $now]);
        $job = (object) ['kind' => $kind, 'userid' => $userid, 'messageid' => $message->id, 'itemid' => $muaid,
            'relateduserid' => $message->useridfrom, 'convhash' => null, 'timecreated' => $now, 'state' => 0,
            'attempts' => 0];
        $job->id = (int) $DB->insert_record('block_dockchat_job', $job);
        $transaction->allow_commit();
        $job->muaid = $muaid;
        return $job;
    }
}

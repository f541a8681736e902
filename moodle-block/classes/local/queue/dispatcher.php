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
 * Runs Moodle's send path, after the insert, for messages dockchatd stored.
 *
 * For one message this is exactly what message_send() does after its insert_record: a call to
 * \core\message\manager::send_message_to_conversation() with the event data that
 * \core_message\api::send_message_to_conversation() builds. The manager picks the processors per recipient
 * (preferences, locked and forced outputs, muted conversations, emailstop), runs them and fires
 * message_sent; nothing of that is re-implemented here.
 *
 * The notification policy (block_dockchat/notifydelay, design docs/design/moodle-store.md §5.7) is applied
 * when the delay is not 0, for individual conversations: the messages one sender sent in a conversation
 * during the delay are handled together at due time. Those the recipient has read (or deleted) by then
 * only get their message_sent event; the others are notified once, by one manager call whose text is
 * all of them, and the rest of them get their message_sent event directly. Every message gets exactly one
 * message_sent event.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class dispatcher {
    /** @var callable fn(\core\message\message $eventdata, \stdClass $savemessage): mixed */
    protected $send;

    /** @var int Manager calls made (for tests and heartbeats). */
    public int $calls = 0;

    /**
     * Constructor.
     *
     * @param callable|null $send The manager call; tests pass a stand-in. Default:
     *     \core\message\manager::send_message_to_conversation.
     */
    public function __construct(?callable $send = null) {
        $this->send = $send ?? [\core\message\manager::class, 'send_message_to_conversation'];
    }

    /**
     * Resets the per-process cache of message processors (get_message_processors() keeps a static list), so
     * that an admin's changes to the outputs reach a long-running worker.
     *
     * @return void
     */
    public function refresh_processors(): void {
        get_message_processors(false, true, true);
    }

    /**
     * Dispatches the rows of one (conversation, sender) group, oldest first.
     *
     * @param \stdClass[] $rows block_dockchat_sent rows, ordered by id, all of the same conversation and sender.
     * @param int $delay The notification delay in seconds (0: each message on its own, as Moodle does).
     * @return void
     * @throws \moodle_exception When the sender no longer exists; anything the manager or a processor throws.
     */
    public function dispatch(array $rows, int $delay): void {
        global $DB;
        if (!$rows) {
            return;
        }
        $first = reset($rows);
        $conv = $DB->get_record('message_conversations', ['id' => $first->conversationid], 'id, type, name, contextid');
        if (!$conv || (int) $conv->type === \core_message\api::MESSAGE_CONVERSATION_TYPE_SELF) {
            // Deleted meanwhile (privacy, conversation deletion): nothing to notify. Self: Moodle fires nothing.
            return;
        }
        $ids = array_map(fn($r) => (int) $r->messageid, $rows);
        $messages = $DB->get_records_list('messages', 'id', $ids, 'id');
        if (!$messages) {
            return;
        }
        $sender = \core_user::get_user($first->useridfrom);
        if (!$sender) {
            throw new \moodle_exception('invaliduser');
        }

        if ($delay <= 0 || (int) $conv->type !== \core_message\api::MESSAGE_CONVERSATION_TYPE_INDIVIDUAL) {
            foreach ($messages as $message) {
                $this->call_manager($this->eventdata($sender, $conv, $message), $message);
            }
            return;
        }

        $recipient = $DB->get_field_select('message_conversation_members', 'userid',
            'conversationid = :conv AND userid <> :from', ['conv' => $conv->id, 'from' => $sender->id], IGNORE_MULTIPLE);
        if (!$recipient) {
            // No other member left: let the manager decide, as it would for a Moodle send.
            foreach ($messages as $message) {
                $this->call_manager($this->eventdata($sender, $conv, $message), $message);
            }
            return;
        }
        [$in, $params] = $DB->get_in_or_equal(array_keys($messages), SQL_PARAMS_NAMED, 'm');
        [$ain, $aparams] = $DB->get_in_or_equal([\core_message\api::MESSAGE_ACTION_READ,
            \core_message\api::MESSAGE_ACTION_DELETED], SQL_PARAMS_NAMED, 'a');
        $seen = array_flip(array_map('intval', $DB->get_fieldset_select('message_user_actions', 'messageid',
            "userid = :user AND messageid $in AND action $ain", ['user' => $recipient] + $params + $aparams)));

        $unread = array_filter($messages, fn($m) => !isset($seen[(int) $m->id]));
        $newest = $unread ? end($unread) : null;
        foreach ($messages as $message) {
            if ($newest === null || (int) $message->id !== (int) $newest->id) {
                $this->fire_sent_event((int) $sender->id, (int) $recipient, (int) $message->id);
            }
        }
        if ($newest !== null) {
            $eventdata = $this->eventdata($sender, $conv, $newest);
            if (count($unread) > 1) {
                $this->digest($eventdata, array_values($unread));
            }
            $this->call_manager($eventdata, $newest);
        }
    }

    /**
     * Builds the event data of one message exactly as \core_message\api::send_message_to_conversation() does,
     * from the stored messages row (its text is smallmessage, the raw text; its format fullmessageformat).
     *
     * @param \stdClass $sender The sender's full user record.
     * @param \stdClass $conv The conversation (id, type, name, contextid).
     * @param \stdClass $message The messages row.
     * @return \core\message\message
     */
    public function eventdata(\stdClass $sender, \stdClass $conv, \stdClass $message): \core\message\message {
        $text = (string) ($message->smallmessage ?? '');
        if ($text === '') {
            $text = (string) $message->fullmessage;
        }
        $format = (int) $message->fullmessageformat;

        $eventdata = new \core\message\message();
        $eventdata->courseid = 1;
        $eventdata->component = 'moodle';
        $eventdata->name = 'instantmessage';
        $eventdata->userfrom = $sender;
        $eventdata->convid = (int) $conv->id;
        if ($format == FORMAT_HTML) {
            $eventdata->fullmessagehtml = $text;
            $eventdata->fullmessage = html_to_text($text);
        } else {
            $eventdata->fullmessage = $text;
            $eventdata->fullmessagehtml = '';
        }
        $eventdata->fullmessageformat = $format;
        $eventdata->smallmessage = $text;
        // The message's own time: message_send's time() is when the row was inserted, which dockchatd did.
        $eventdata->timecreated = (int) $message->timecreated;
        $eventdata->notification = 0;
        $eventdata->customdata = $this->customdata($sender, $conv);
        $eventdata->savedmessageid = (int) $message->id;
        return $eventdata;
    }

    /**
     * The custom data of api::send_message_to_conversation(), with its strings in the sender's language (the
     * web send path runs in the sender's session).
     *
     * @param \stdClass $sender The sender's user record.
     * @param \stdClass $conv The conversation.
     * @return array
     */
    protected function customdata(\stdClass $sender, \stdClass $conv): array {
        global $PAGE;
        $previous = force_current_language((string) ($sender->lang ?? ''));
        try {
            $customdata = [
                'actionbuttons' => ['send' => get_string('send', 'message')],
                'placeholders' => ['send' => get_string('writeamessage', 'message')],
            ];
            $userpicture = new \user_picture($sender);
            $userpicture->size = 1;
            $pictureurl = $userpicture->get_url($PAGE)->out(false);
            if ((int) $conv->type === \core_message\api::MESSAGE_CONVERSATION_TYPE_GROUP) {
                // Moodle also adds the group's picture as notificationiconurl; dockchatd never writes to groups.
                $customdata['notificationsendericonurl'] = $pictureurl;
                $context = $conv->contextid ? \context::instance_by_id($conv->contextid) : \context_user::instance($sender->id);
                $customdata['conversationname'] = format_string($conv->name, true, ['context' => $context]);
            } else {
                $customdata['notificationiconurl'] = $pictureurl;
            }
        } finally {
            force_current_language($previous);
        }
        return $customdata;
    }

    /**
     * Turns the event data of the newest unread message into the digest of all unread ones: fullmessage (and
     * fullmessagehtml when any of them is HTML) holds every text, oldest first; smallmessage stays the newest.
     *
     * @param \core\message\message $eventdata The newest message's event data (changed).
     * @param \stdClass[] $unread The unread messages rows, oldest first.
     * @return void
     */
    protected function digest(\core\message\message $eventdata, array $unread): void {
        $plain = [];
        $html = [];
        $anyhtml = false;
        foreach ($unread as $message) {
            $text = (string) ($message->smallmessage ?? '');
            if ($text === '') {
                $text = (string) $message->fullmessage;
            }
            if ((int) $message->fullmessageformat == FORMAT_HTML) {
                $anyhtml = true;
                $plain[] = html_to_text($text);
                $html[] = $text;
            } else {
                $plain[] = $text;
                $html[] = nl2br(s($text));
            }
        }
        $eventdata->fullmessage = implode("\n\n", $plain);
        $eventdata->fullmessagehtml = $anyhtml ? implode('<br><br>', $html) : '';
    }

    /**
     * Calls the manager (processors and message_sent), never inside a transaction: inside one, the manager
     * would only buffer the work until a commit that never comes in this process.
     *
     * @param \core\message\message $eventdata Event data.
     * @param \stdClass $message The messages row.
     * @return void
     */
    protected function call_manager(\core\message\message $eventdata, \stdClass $message): void {
        global $DB;
        if ($DB->is_transaction_started()) {
            throw new \coding_exception('The dock chat queue dispatches outside transactions only');
        }
        $this->calls++;
        ($this->send)($eventdata, $message);
    }

    /**
     * Fires message_sent for a message that gets no processors (read before it was due, or part of a digest),
     * as \core\message\manager::trigger_message_events() fires it.
     *
     * @param int $from Sender.
     * @param int $to Recipient.
     * @param int $messageid messages.id.
     * @return void
     */
    public function fire_sent_event(int $from, int $to, int $messageid): void {
        \core\event\message_sent::create_from_ids($from, $to, $messageid, 1)->trigger();
    }
}

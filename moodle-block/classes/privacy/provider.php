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
use core_privacy\local\request\contextlist;
use core_privacy\local\request\transform;
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;

/**
 * Privacy API of block_dockchat: what the block stores about a user, its export and deletion.
 *
 * The messages themselves live in Moodle's messaging tables (messages, message_conversations,
 * message_user_actions), which dockchatd writes and core_message's own provider exports and deletes.
 * The block keeps beside them: the docked windows (block_dockchat_window), the client message id of
 * each message sent from the dock and the state of Moodle's send path for it (block_dockchat_sent),
 * and transient jobs that fire Moodle's events for reads and deletions done in the dock
 * (block_dockchat_job). Like core_message, all of it lives in the user's own context.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class provider implements
        \core_privacy\local\metadata\provider,
        \core_privacy\local\request\plugin\provider,
        \core_privacy\local\request\core_userlist_provider,
        \core_privacy\local\request\user_preference_provider {

    /** @var int Window state stored for a minimised window (0 = open). */
    private const WINDOW_MINIMISED = 1;

    /** @var string[] The alert preferences (lib.php block_dockchat_user_preferences) and what each is. */
    private const PREFERENCES = [
        'block_dockchat_sound' => 'privacy:metadata:preference:block_dockchat_sound',
        'block_dockchat_desktop' => 'privacy:metadata:preference:block_dockchat_desktop',
    ];

    /**
     * Describes the personal data stored and sent elsewhere.
     *
     * @param collection $collection The collection to add to.
     * @return collection
     */
    public static function get_metadata(collection $collection): collection {
        $collection->add_database_table('block_dockchat_window', [
            'userid' => 'privacy:metadata:block_dockchat_window:userid',
            'peerid' => 'privacy:metadata:block_dockchat_window:peerid',
            'state' => 'privacy:metadata:block_dockchat_window:state',
            'timemodified' => 'privacy:metadata:block_dockchat_window:timemodified',
        ], 'privacy:metadata:block_dockchat_window');

        $collection->add_database_table('block_dockchat_sent', [
            'useridfrom' => 'privacy:metadata:block_dockchat_sent:useridfrom',
            'clientmsgid' => 'privacy:metadata:block_dockchat_sent:clientmsgid',
            'messageid' => 'privacy:metadata:block_dockchat_sent:messageid',
            'conversationid' => 'privacy:metadata:block_dockchat_sent:conversationid',
            'timecreated' => 'privacy:metadata:block_dockchat_sent:timecreated',
            'state' => 'privacy:metadata:block_dockchat_sent:state',
        ], 'privacy:metadata:block_dockchat_sent');

        $collection->add_database_table('block_dockchat_job', [
            'userid' => 'privacy:metadata:block_dockchat_job:userid',
            'relateduserid' => 'privacy:metadata:block_dockchat_job:relateduserid',
            'messageid' => 'privacy:metadata:block_dockchat_job:messageid',
            'timecreated' => 'privacy:metadata:block_dockchat_job:timecreated',
        ], 'privacy:metadata:block_dockchat_job');

        foreach (self::PREFERENCES as $preference => $description) {
            $collection->add_user_preference($preference, $description);
        }

        $collection->add_subsystem_link('core_message', [], 'privacy:metadata:core_message');

        $collection->add_external_location_link('dockchatd', [
            'userid' => 'privacy:metadata:dockchatd:userid',
            'fullname' => 'privacy:metadata:dockchatd:fullname',
            'message' => 'privacy:metadata:dockchatd:message',
        ], 'privacy:metadata:dockchatd');

        return $collection;
    }

    /**
     * Whether any block row names a user.
     *
     * @param int $userid The user.
     * @return bool
     */
    protected static function user_has_data(int $userid): bool {
        global $DB;
        return $DB->record_exists_select('block_dockchat_window', 'userid = :u1 OR peerid = :u2',
                    ['u1' => $userid, 'u2' => $userid])
            || $DB->record_exists('block_dockchat_sent', ['useridfrom' => $userid])
            || $DB->record_exists_select('block_dockchat_job', 'userid = :u1 OR relateduserid = :u2',
                    ['u1' => $userid, 'u2' => $userid]);
    }

    /**
     * The contexts holding data of a user: the user's own context, if there is any data.
     *
     * @param int $userid The user.
     * @return contextlist
     */
    public static function get_contexts_for_userid(int $userid): contextlist {
        $contextlist = new contextlist();
        if (static::user_has_data($userid)) {
            $contextlist->add_user_context($userid);
        }
        return $contextlist;
    }

    /**
     * The users with data in a context: in a user context, that user if they have any data.
     *
     * @param userlist $userlist The list to fill.
     * @return void
     */
    public static function get_users_in_context(userlist $userlist) {
        $context = $userlist->get_context();
        if (!$context instanceof \core\context\user) {
            return;
        }
        if (static::user_has_data((int) $context->instanceid)) {
            $userlist->add_user((int) $context->instanceid);
        }
    }

    /**
     * The user context of the approved list's user, if the list contains it.
     *
     * @param approved_contextlist $contextlist The approved contexts.
     * @return \core\context\user|null
     */
    protected static function own_user_context(approved_contextlist $contextlist): ?\core\context\user {
        $userid = (int) $contextlist->get_user()->id;
        foreach ($contextlist->get_contexts() as $context) {
            if ($context instanceof \core\context\user && (int) $context->instanceid === $userid) {
                return $context;
            }
        }
        return null;
    }

    /**
     * Exports the user's docked windows and, for each message they sent from the dock, its client
     * message id. The messages are exported by core_message. Jobs are transient and not exported.
     *
     * @param approved_contextlist $contextlist The approved contexts.
     * @return void
     */
    public static function export_user_data(approved_contextlist $contextlist) {
        global $DB;

        $context = static::own_user_context($contextlist);
        if (!$context) {
            return;
        }
        $userid = (int) $contextlist->get_user()->id;
        $writer = writer::with_context($context);
        $root = get_string('pluginname', 'block_dockchat');

        $sent = [];
        $rs = $DB->get_recordset('block_dockchat_sent', ['useridfrom' => $userid], 'id ASC',
            'id, messageid, conversationid, clientmsgid, timecreated');
        foreach ($rs as $row) {
            $sent[] = (object) [
                'messageid' => (int) $row->messageid,
                'conversationid' => (int) $row->conversationid,
                'clientmsgid' => $row->clientmsgid,
                'timecreated' => transform::datetime($row->timecreated),
            ];
        }
        $rs->close();
        if ($sent) {
            $writer->export_data([$root, get_string('privacy:path:sent', 'block_dockchat')],
                (object) ['messages' => $sent]);
        }

        $windows = [];
        foreach ($DB->get_records('block_dockchat_window', ['userid' => $userid], 'id ASC') as $window) {
            $windows[] = (object) [
                'otheruserid' => transform::user((int) $window->peerid),
                'state' => ((int) $window->state === self::WINDOW_MINIMISED)
                    ? get_string('privacy:window:minimised', 'block_dockchat')
                    : get_string('privacy:window:open', 'block_dockchat'),
                'timemodified' => transform::datetime($window->timemodified),
            ];
        }
        if ($windows) {
            $writer->export_data([$root, get_string('privacy:path:windows', 'block_dockchat')],
                (object) ['windows' => $windows]);
        }
    }

    /**
     * Exports the user's alert preferences (sound, desktop notifications) when they chose one.
     *
     * @param int $userid The user.
     * @return void
     */
    public static function export_user_preferences(int $userid) {
        foreach (self::PREFERENCES as $preference => $description) {
            $value = get_user_preferences($preference, null, $userid);
            if ($value !== null) {
                writer::export_user_preference('block_dockchat', $preference, $value ? get_string('yes') : get_string('no'),
                    get_string($description, 'block_dockchat'));
            }
        }
    }

    /**
     * Deletes all block data of the user whose context this is.
     *
     * @param \context $context The context.
     * @return void
     */
    public static function delete_data_for_all_users_in_context(\context $context) {
        if ($context instanceof \core\context\user) {
            static::delete_user_data((int) $context->instanceid);
        }
    }

    /**
     * Deletes the block data of one user.
     *
     * @param approved_contextlist $contextlist The approved contexts.
     * @return void
     */
    public static function delete_data_for_user(approved_contextlist $contextlist) {
        if (static::own_user_context($contextlist)) {
            static::delete_user_data((int) $contextlist->get_user()->id);
        }
    }

    /**
     * Deletes the block data of several users in one context (only the context's own user counts).
     *
     * @param approved_userlist $userlist The approved users.
     * @return void
     */
    public static function delete_data_for_users(approved_userlist $userlist) {
        $context = $userlist->get_context();
        if (!$context instanceof \core\context\user) {
            return;
        }
        if (in_array((int) $context->instanceid, array_map('intval', $userlist->get_userids()), true)) {
            static::delete_user_data((int) $context->instanceid);
        }
    }

    /**
     * Deletes every block row that names a user or points at a message they sent: their windows and the
     * windows others had open on them, the client ids of the messages they sent (core_message deletes
     * those messages), and the jobs about them or their messages.
     *
     * @param int $userid The user.
     * @return void
     */
    protected static function delete_user_data(int $userid): void {
        global $DB;

        $transaction = $DB->start_delegated_transaction();
        $DB->delete_records_select('block_dockchat_window', 'userid = :u1 OR peerid = :u2',
            ['u1' => $userid, 'u2' => $userid]);
        $DB->delete_records_select('block_dockchat_job',
            'userid = :u1 OR relateduserid = :u2
             OR messageid IN (SELECT s.messageid FROM {block_dockchat_sent} s WHERE s.useridfrom = :u3)
             OR messageid IN (SELECT m.id FROM {messages} m WHERE m.useridfrom = :u4)',
            ['u1' => $userid, 'u2' => $userid, 'u3' => $userid, 'u4' => $userid]);
        $DB->delete_records('block_dockchat_sent', ['useridfrom' => $userid]);
        $transaction->allow_commit();
    }
}

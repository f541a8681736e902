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
 * Privacy API of block_dockchat: what the chat stores about a user, its export and deletion.
 *
 * Conversations are between two users and not tied to a course, so, like core_message, all of
 * a user's chat data lives in that user's own context.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class provider implements
        \core_privacy\local\metadata\provider,
        \core_privacy\local\request\plugin\provider,
        \core_privacy\local\request\core_userlist_provider {

    /** @var int Window state stored for a minimised window (0 = open). */
    private const WINDOW_MINIMISED = 1;

    /**
     * Describes the personal data stored and sent elsewhere.
     *
     * @param collection $collection The collection to add to.
     * @return collection
     */
    public static function get_metadata(collection $collection): collection {
        $collection->add_database_table('block_dockchat_conv', [
            'userlow' => 'privacy:metadata:block_dockchat_conv:userlow',
            'userhigh' => 'privacy:metadata:block_dockchat_conv:userhigh',
            'timecreated' => 'privacy:metadata:block_dockchat_conv:timecreated',
        ], 'privacy:metadata:block_dockchat_conv');

        $collection->add_database_table('block_dockchat_msg', [
            'useridfrom' => 'privacy:metadata:block_dockchat_msg:useridfrom',
            'message' => 'privacy:metadata:block_dockchat_msg:message',
            'timecreated' => 'privacy:metadata:block_dockchat_msg:timecreated',
        ], 'privacy:metadata:block_dockchat_msg');

        $collection->add_database_table('block_dockchat_read', [
            'userid' => 'privacy:metadata:block_dockchat_read:userid',
            'lastreadid' => 'privacy:metadata:block_dockchat_read:lastreadid',
            'timemodified' => 'privacy:metadata:block_dockchat_read:timemodified',
        ], 'privacy:metadata:block_dockchat_read');

        $collection->add_database_table('block_dockchat_window', [
            'userid' => 'privacy:metadata:block_dockchat_window:userid',
            'peerid' => 'privacy:metadata:block_dockchat_window:peerid',
            'state' => 'privacy:metadata:block_dockchat_window:state',
            'timemodified' => 'privacy:metadata:block_dockchat_window:timemodified',
        ], 'privacy:metadata:block_dockchat_window');

        $collection->add_external_location_link('dockchatd', [
            'userid' => 'privacy:metadata:dockchatd:userid',
            'fullname' => 'privacy:metadata:dockchatd:fullname',
            'message' => 'privacy:metadata:dockchatd:message',
        ], 'privacy:metadata:dockchatd');

        return $collection;
    }

    /**
     * Whether a user has any chat data.
     *
     * @param int $userid The user.
     * @return bool
     */
    protected static function user_has_data(int $userid): bool {
        global $DB;
        return $DB->record_exists_select('block_dockchat_conv', 'userlow = :u1 OR userhigh = :u2',
                    ['u1' => $userid, 'u2' => $userid])
            || $DB->record_exists('block_dockchat_msg', ['useridfrom' => $userid])
            || $DB->record_exists('block_dockchat_read', ['userid' => $userid])
            || $DB->record_exists('block_dockchat_window', ['userid' => $userid]);
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
     * Exports the user's conversations (with the other user's id, every message and the read
     * marks) and open chat windows.
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
        $convpath = get_string('privacy:path:conversations', 'block_dockchat');

        $conversations = $DB->get_records_select('block_dockchat_conv', 'userlow = :u1 OR userhigh = :u2',
            ['u1' => $userid, 'u2' => $userid], 'id ASC');
        foreach ($conversations as $conv) {
            $otherid = ((int) $conv->userlow === $userid) ? (int) $conv->userhigh : (int) $conv->userlow;
            $reads = $DB->get_records('block_dockchat_read', ['convid' => $conv->id], '', 'userid, lastreadid, timemodified');

            $messages = [];
            $rs = $DB->get_recordset('block_dockchat_msg', ['convid' => $conv->id], 'id ASC',
                'id, useridfrom, message, timecreated');
            foreach ($rs as $msg) {
                $messages[] = (object) [
                    'id' => (int) $msg->id,
                    'author' => transform::user((int) $msg->useridfrom),
                    'sentbyyou' => transform::yesno((int) $msg->useridfrom === $userid),
                    'message' => $msg->message,
                    'timecreated' => transform::datetime($msg->timecreated),
                ];
            }
            $rs->close();

            $data = (object) [
                'otheruserid' => transform::user($otherid),
                'timecreated' => transform::datetime($conv->timecreated),
                'messages' => $messages,
            ];
            if (isset($reads[$userid])) {
                $data->yourlastread = (int) $reads[$userid]->lastreadid;
                $data->yourlastreadtime = transform::datetime($reads[$userid]->timemodified);
            }
            if (isset($reads[$otherid])) {
                $data->theirlastread = (int) $reads[$otherid]->lastreadid;
            }
            $writer->export_data([$root, $convpath, (string) $otherid], $data);
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
     * Deletes all chat data of the user whose context this is.
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
     * Deletes the chat data of one user.
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
     * Deletes the chat data of several users in one context (only the context's own user counts).
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
     * Deletes what belongs to a user: the messages they sent, their read marks, their windows and
     * the windows others had open on them, and every conversation of theirs left without messages.
     * Messages the other user sent stay: they are that user's data.
     *
     * @param int $userid The user.
     * @return void
     */
    protected static function delete_user_data(int $userid): void {
        global $DB;

        $transaction = $DB->start_delegated_transaction();

        $convids = $DB->get_fieldset_select('block_dockchat_conv', 'id', 'userlow = :u1 OR userhigh = :u2',
            ['u1' => $userid, 'u2' => $userid]);

        $DB->delete_records('block_dockchat_msg', ['useridfrom' => $userid]);
        $DB->delete_records('block_dockchat_read', ['userid' => $userid]);
        $DB->delete_records_select('block_dockchat_window', 'userid = :u1 OR peerid = :u2',
            ['u1' => $userid, 'u2' => $userid]);

        foreach (array_chunk($convids, 500) as $chunk) {
            [$insql, $params] = $DB->get_in_or_equal($chunk, SQL_PARAMS_NAMED);
            $empty = $DB->get_fieldset_sql(
                "SELECT c.id
                   FROM {block_dockchat_conv} c
                  WHERE c.id $insql
                    AND NOT EXISTS (SELECT 1 FROM {block_dockchat_msg} m WHERE m.convid = c.id)",
                $params
            );
            if ($empty) {
                [$emptysql, $emptyparams] = $DB->get_in_or_equal($empty, SQL_PARAMS_NAMED);
                $DB->delete_records_select('block_dockchat_read', "convid $emptysql", $emptyparams);
                $DB->delete_records_select('block_dockchat_conv', "id $emptysql", $emptyparams);
            }
        }

        $transaction->allow_commit();
    }
}

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
 * Fires the Moodle events of what dockchatd wrote besides messages (block_dockchat_job, design §5.6).
 *
 * Kind 1: a message_user_actions read row dockchatd inserted → \core\event\message_viewed, as
 * \core_message\api::mark_message_as_read() fires it. Kind 2: a deleted-for-me row →
 * \core\event\message_deleted::create_from_ids(), as api::delete_message() fires it. A batch of jobs is
 * claimed, then its job rows are deleted and its events fired in one delegated transaction: observers
 * marked internal (the default; e.g. message_email's, which drops pending digest emails) commit with the
 * dequeue, external ones run after the commit, and every event fires exactly once. A batch that throws is
 * rolled back and its jobs are retried one by one; a job that throws alone is marked failed (state 6).
 *
 * Kinds 4 and 5: a message_users_blocked row dockchatd inserted or deleted (PROTOCOL.md §4.1) →
 * \core\event\message_user_blocked / message_user_unblocked, as \core_message\api::block_user() and
 * unblock_user() fire them (itemid is the row's id, relateduserid the blocked user).
 *
 * Kind 3 (merging duplicate conversations, design §2.3 step 6) is not implemented yet: such rows are left
 * untouched (state 0) and are counted by cli/queue.php --status.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class job_runner {
    /** @var string The job table. */
    public const TABLE = 'block_dockchat_job';

    /** @var int A message was read (message_viewed). */
    public const KIND_VIEWED = 1;
    /** @var int A message was deleted for a user (message_deleted). */
    public const KIND_DELETED = 2;
    /** @var int Duplicate conversations of one hash to merge. */
    public const KIND_MERGE = 3;
    /** @var int A user was blocked (message_user_blocked). */
    public const KIND_BLOCKED = 4;
    /** @var int A user was unblocked (message_user_unblocked). */
    public const KIND_UNBLOCKED = 5;

    /** @var int Waiting. */
    public const STATE_NEW = 0;
    /** @var int Claimed by a worker. */
    public const STATE_CLAIMED = 2;
    /** @var int Its event threw; not retried. */
    public const STATE_FAILED = 6;

    /** @var int Jobs per batch (and per transaction). */
    public const BATCH = 500;

    /**
     * Runs every waiting event job, batch after batch.
     *
     * @return int Jobs handled.
     */
    public function run(): int {
        $handled = 0;
        do {
            [$token, $jobs] = $this->claim();
            if (!$jobs) {
                break;
            }
            $handled += $this->fire($token, $jobs);
        } while (count($jobs) >= self::BATCH);
        return $handled;
    }

    /**
     * Claims waiting event jobs (kinds 1, 2, 4 and 5) with a fresh token.
     *
     * @return array [string token, \stdClass[] jobs by id]
     */
    public function claim(): array {
        global $DB;
        $kinds = [self::KIND_VIEWED, self::KIND_DELETED, self::KIND_BLOCKED, self::KIND_UNBLOCKED];
        [$kin, $kparams] = $DB->get_in_or_equal($kinds, SQL_PARAMS_NAMED, 'k');
        $ids = array_keys($DB->get_records_select(self::TABLE, "state = :new AND kind $kin",
            ['new' => self::STATE_NEW] + $kparams, 'id', 'id', 0, self::BATCH));
        if (!$ids) {
            return ['', []];
        }
        $token = random_string(32);
        [$in, $params] = $DB->get_in_or_equal($ids, SQL_PARAMS_NAMED, 'j');
        $DB->execute("UPDATE {" . self::TABLE . "}
                         SET state = :claimed, claimtoken = :token, timeclaimed = :now, attempts = attempts + 1
                       WHERE state = :new AND id $in",
            ['claimed' => self::STATE_CLAIMED, 'token' => $token, 'now' => time(), 'new' => self::STATE_NEW] + $params);
        return [$token, $DB->get_records(self::TABLE, ['claimtoken' => $token, 'state' => self::STATE_CLAIMED], 'id')];
    }

    /**
     * Deletes claimed jobs and fires their events, all in one transaction; on failure, one job at a time.
     *
     * @param string $token The claim token.
     * @param \stdClass[] $jobs Claimed jobs.
     * @return int Jobs handled (fired or failed).
     */
    public function fire(string $token, array $jobs): int {
        try {
            $this->fire_in_transaction($token, $jobs);
            // The log observer is external: it ran at the commit; its buffer is written now (processor::flush_log).
            processor::flush_log();
            return count($jobs);
        } catch (\Throwable $e) {
            // Rolled back: nothing of the batch happened. Find the culprit one job at a time.
            $handled = 0;
            foreach ($jobs as $job) {
                try {
                    $this->fire_in_transaction($token, [$job]);
                    processor::flush_log();
                } catch (\Throwable $e) {
                    $this->fail($token, $job, $e);
                }
                $handled++;
            }
            return $handled;
        }
    }

    /**
     * One delegated transaction: delete the job rows, fire their events.
     *
     * @param string $token The claim token.
     * @param \stdClass[] $jobs Claimed jobs.
     * @return void
     * @throws \Throwable Whatever an event or an internal observer throws (the transaction is rolled back).
     */
    protected function fire_in_transaction(string $token, array $jobs): void {
        global $DB;
        $transaction = $DB->start_delegated_transaction();
        try {
            [$in, $params] = $DB->get_in_or_equal(array_keys($jobs), SQL_PARAMS_NAMED, 'j');
            $DB->delete_records_select(self::TABLE, "claimtoken = :token AND state = :claimed AND id $in",
                ['token' => $token, 'claimed' => self::STATE_CLAIMED] + $params);
            foreach ($jobs as $job) {
                $this->event($job)->trigger();
            }
            $transaction->allow_commit();
        } catch (\Throwable $e) {
            $transaction->rollback($e);
        }
    }

    /**
     * The event of a job, built as Moodle builds it.
     *
     * @param \stdClass $job A kind 1, 2, 4 or 5 job.
     * @return \core\event\base
     */
    public function event(\stdClass $job): \core\event\base {
        if ((int) $job->kind === self::KIND_VIEWED) {
            // As api::mark_message_as_read(): the reader's user context, system if the user is gone.
            $context = \context_user::instance((int) $job->userid, IGNORE_MISSING);
            if ($context === false) {
                $context = \context_system::instance();
            }
            return \core\event\message_viewed::create([
                'objectid' => (int) $job->itemid,
                'userid' => (int) $job->userid,
                'context' => $context,
                'relateduserid' => (int) $job->relateduserid,
                'other' => ['messageid' => (int) $job->messageid],
            ]);
        }
        if ((int) $job->kind === self::KIND_DELETED) {
            // As api::delete_message() for a user's own deletion: that user is also the one deleting.
            return \core\event\message_deleted::create_from_ids((int) $job->userid, (int) $job->userid,
                (int) $job->messageid, (int) $job->itemid);
        }
        if ((int) $job->kind === self::KIND_BLOCKED || (int) $job->kind === self::KIND_UNBLOCKED) {
            // As api::block_user() / unblock_user(): the blocker's user context, the row as snapshot
            // (an unblocked row is gone: its snapshot carries the job's time).
            $row = (object) [
                'id' => (int) $job->itemid,
                'userid' => (int) $job->userid,
                'blockeduserid' => (int) $job->relateduserid,
                'timecreated' => (int) $job->timecreated,
            ];
            $params = [
                'objectid' => $row->id,
                'userid' => $row->userid,
                'relateduserid' => $row->blockeduserid,
                'context' => \context_user::instance($row->userid),
            ];
            $event = (int) $job->kind === self::KIND_BLOCKED
                ? \core\event\message_user_blocked::create($params)
                : \core\event\message_user_unblocked::create($params);
            $event->add_record_snapshot('message_users_blocked', $row);
            return $event;
        }
        throw new \coding_exception('Unknown dock chat job kind ' . $job->kind);
    }

    /**
     * Marks a job failed, with its error.
     *
     * @param string $token The claim token.
     * @param \stdClass $job The job.
     * @param \Throwable $e What it threw.
     * @return void
     */
    protected function fail(string $token, \stdClass $job, \Throwable $e): void {
        global $DB;
        $DB->execute("UPDATE {" . self::TABLE . "} SET state = :failed, error = :error
                       WHERE id = :id AND claimtoken = :token AND state = :claimed",
            ['failed' => self::STATE_FAILED, 'error' => \core_text::substr(get_class($e) . ': ' . $e->getMessage(), 0, 2000),
                'id' => $job->id, 'token' => $token, 'claimed' => self::STATE_CLAIMED]);
    }

    /**
     * Claims older than the lease go back to waiting (nothing of them happened: firing is transactional).
     *
     * @param int $limit Claims older than this time are released.
     * @return void
     */
    public function sweep(int $limit): void {
        global $DB;
        $DB->execute("UPDATE {" . self::TABLE . "} SET state = :new, claimtoken = NULL, timeclaimed = NULL
                       WHERE state = :claimed AND timeclaimed < :limit",
            ['new' => self::STATE_NEW, 'claimed' => self::STATE_CLAIMED, 'limit' => $limit]);
    }
}

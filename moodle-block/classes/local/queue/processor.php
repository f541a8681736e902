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
 * The queue of messages dockchatd stored: does for each what Moodle's send path does after its insert.
 *
 * dockchatd inserts a messages row and a block_dockchat_sent row (state NEW) in one transaction and acks
 * at once. This class, run by cli/worker.php and by the process_queue task (design docs/design/moodle-store.md
 * §5), then:
 * - phase A: deletes the conversation's key in core/message_time_last_message_between_users (so the drawer's
 *   and the app's polls see the message) and moves the row to WAITING with timedue = timecreated +
 *   notifydelay, or to DONE for a self conversation (Moodle fires nothing for those);
 * - claims the due rows (a claim token, portable on every database), marks them DISPATCHING with
 *   timestarted committed before any processor runs, and hands them to the {@see dispatcher}: processors
 *   and the message_sent event, through \core\message\manager;
 * - sweeps: a claim older than the lease goes back to WAITING; a dispatch older than the lease becomes
 *   UNCERTAIN and is never re-run (its email may or may not have left);
 * - runs the jobs (message_viewed, message_deleted events, merges) through {@see job_runner}.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class processor {
    /** @var string The queue table. */
    public const TABLE = 'block_dockchat_sent';

    /** @var int Written by dockchatd with the message. */
    public const STATE_NEW = 0;
    /** @var int Cache key deleted; waiting for timedue. */
    public const STATE_WAITING = 1;
    /** @var int Claimed by a worker (claimtoken, timeclaimed). */
    public const STATE_CLAIMED = 2;
    /** @var int Processors may be running (timestarted committed before). */
    public const STATE_DISPATCHING = 3;
    /** @var int Done (or nothing to do). */
    public const STATE_DONE = 4;
    /** @var int A worker died while dispatching: never re-run, reported. */
    public const STATE_UNCERTAIN = 5;
    /** @var int An exception was caught while dispatching: not retried, reported. */
    public const STATE_FAILED = 6;

    /** @var int Seconds after which a claim or a dispatch is considered abandoned. */
    public const LEASE = 300;
    /** @var int Rows per phase A batch. */
    public const PHASE_A_BATCH = 1000;
    /** @var int Due rows claimed per batch. */
    public const CLAIM_BATCH = 100;
    /** @var int Default notification delay (seconds). */
    public const DEFAULT_NOTIFY_DELAY = 60;

    /** @var dispatcher Runs Moodle's send path for claimed rows. */
    protected dispatcher $dispatcher;

    /** @var int Rows dispatched by this processor so far (the runner's item budget looks at it mid-pass). */
    public int $total = 0;

    /** @var job_runner Fires the events of read and delete jobs. */
    protected job_runner $jobs;

    /**
     * Constructor.
     *
     * @param dispatcher|null $dispatcher The dispatcher (tests pass one with a stand-in manager call).
     * @param job_runner|null $jobs The job runner.
     */
    public function __construct(?dispatcher $dispatcher = null, ?job_runner $jobs = null) {
        $this->dispatcher = $dispatcher ?? new dispatcher();
        $this->jobs = $jobs ?? new job_runner();
    }

    /**
     * The notification delay setting (block_dockchat/notifydelay), in seconds; 0 = notify at once.
     *
     * @return int
     */
    public static function notify_delay(): int {
        $value = get_config('block_dockchat', 'notifydelay');
        if ($value === false || $value === null || $value === '') {
            return self::DEFAULT_NOTIFY_DELAY;
        }
        return max(0, (int) $value);
    }

    /**
     * One pass over everything: phase A, the sweep, the due rows, the jobs.
     *
     * @param callable|null $shouldstop Asked between items; true stops the pass after the current item.
     * @return int Items handled (rows and jobs).
     */
    public function run_once(?callable $shouldstop = null): int {
        $done = $this->phase_a();
        $this->sweep();
        $done += $this->process_due(null, $shouldstop);
        if ($shouldstop && $shouldstop()) {
            return $done;
        }
        $done += $this->jobs->run();
        return $done;
    }

    /**
     * Phase A: cache keys deleted, NEW rows to WAITING (timedue = timecreated + delay) or DONE (self).
     *
     * Idempotent: running it twice, or in two workers at once, gives the same result.
     *
     * @return int Rows moved.
     */
    public function phase_a(): int {
        global $DB;
        $moved = 0;
        do {
            $rows = $DB->get_records(self::TABLE, ['state' => self::STATE_NEW], 'id', 'id, conversationid', 0,
                self::PHASE_A_BATCH);
            if (!$rows) {
                break;
            }
            $convids = array_values(array_unique(array_map(fn($r) => (int) $r->conversationid, $rows)));
            $keys = array_map(fn($id) => \core_message\helper::get_last_message_time_created_cache_key($id), $convids);
            \cache::make('core', 'message_time_last_message_between_users')->delete_many($keys);

            [$in, $params] = $DB->get_in_or_equal($convids, SQL_PARAMS_NAMED, 'c');
            $self = $DB->get_fieldset_select('message_conversations', 'id', "type = :type AND id $in",
                ['type' => \core_message\api::MESSAGE_CONVERSATION_TYPE_SELF] + $params);
            $self = array_flip(array_map('intval', $self));
            $selfids = [];
            $otherids = [];
            foreach ($rows as $row) {
                if (isset($self[(int) $row->conversationid])) {
                    $selfids[] = (int) $row->id;
                } else {
                    $otherids[] = (int) $row->id;
                }
            }
            $now = time();
            if ($otherids) {
                [$in, $params] = $DB->get_in_or_equal($otherids, SQL_PARAMS_NAMED, 'r');
                $DB->execute("UPDATE {" . self::TABLE . "}
                                 SET state = :waiting, timedue = timecreated + :delay
                               WHERE state = :new AND id $in",
                    ['waiting' => self::STATE_WAITING, 'delay' => self::notify_delay(), 'new' => self::STATE_NEW] + $params);
            }
            if ($selfids) {
                [$in, $params] = $DB->get_in_or_equal($selfids, SQL_PARAMS_NAMED, 'r');
                $DB->execute("UPDATE {" . self::TABLE . "}
                                 SET state = :done, timedone = :now
                               WHERE state = :new AND id $in",
                    ['done' => self::STATE_DONE, 'now' => $now, 'new' => self::STATE_NEW] + $params);
            }
            $moved += count($rows);
        } while (count($rows) === self::PHASE_A_BATCH);
        return $moved;
    }

    /**
     * Recovery sweep: abandoned claims back to WAITING, abandoned dispatches to UNCERTAIN; abandoned job
     * claims back to new.
     *
     * @param int|null $now The current time (tests).
     * @return void
     */
    public function sweep(?int $now = null): void {
        global $DB;
        $limit = ($now ?? time()) - self::LEASE;
        $DB->execute("UPDATE {" . self::TABLE . "}
                         SET state = :waiting, claimtoken = NULL, timeclaimed = NULL
                       WHERE state = :claimed AND timeclaimed < :limit",
            ['waiting' => self::STATE_WAITING, 'claimed' => self::STATE_CLAIMED, 'limit' => $limit]);
        $DB->execute("UPDATE {" . self::TABLE . "}
                         SET state = :uncertain
                       WHERE state = :dispatching AND timestarted < :limit",
            ['uncertain' => self::STATE_UNCERTAIN, 'dispatching' => self::STATE_DISPATCHING, 'limit' => $limit]);
        $this->jobs->sweep($limit);
    }

    /**
     * Claims due rows for this worker (design §5.5): select, update with a fresh token where still WAITING,
     * read back what the token won. Two claimers never win the same row.
     *
     * With a notification delay, the WAITING rows of the same conversation and sender as a due row are
     * claimed with it, due or not: they are notified together, once (design §5.7).
     *
     * @param int|null $now The current time (tests).
     * @param int $limit How many due rows to start from.
     * @return array [string token, \stdClass[] claimed rows by id, ordered by id]
     */
    public function claim(?int $now = null, int $limit = self::CLAIM_BATCH): array {
        global $DB;
        $now = $now ?? time();
        $due = $DB->get_records_select(self::TABLE, 'state = :waiting AND timedue <= :now',
            ['waiting' => self::STATE_WAITING, 'now' => $now], 'timedue, id', 'id, conversationid, useridfrom', 0, $limit);
        if (!$due) {
            return ['', []];
        }
        $ids = array_map('intval', array_keys($due));
        if (self::notify_delay() > 0) {
            $groups = [];
            foreach ($due as $row) {
                $groups[$row->conversationid . '-' . $row->useridfrom] = $row;
            }
            foreach ($groups as $row) {
                $more = $DB->get_fieldset_select(self::TABLE, 'id',
                    'state = :waiting AND conversationid = :conv AND useridfrom = :from',
                    ['waiting' => self::STATE_WAITING, 'conv' => $row->conversationid, 'from' => $row->useridfrom]);
                $ids = array_merge($ids, array_map('intval', $more));
            }
            $ids = array_values(array_unique($ids));
        }
        $token = random_string(32);
        foreach (array_chunk($ids, 500) as $chunk) {
            [$in, $params] = $DB->get_in_or_equal($chunk, SQL_PARAMS_NAMED, 'r');
            $DB->execute("UPDATE {" . self::TABLE . "}
                             SET state = :claimed, claimtoken = :token, timeclaimed = :now
                           WHERE state = :waiting AND id $in",
                ['claimed' => self::STATE_CLAIMED, 'token' => $token, 'now' => $now, 'waiting' => self::STATE_WAITING]
                    + $params);
        }
        $rows = $DB->get_records(self::TABLE, ['claimtoken' => $token, 'state' => self::STATE_CLAIMED], 'id');
        return [$token, $rows];
    }

    /**
     * Claims the due rows and dispatches them, batch after batch, until none is due.
     *
     * @param int|null $now The current time (tests).
     * @param callable|null $shouldstop Asked between groups; true stops after the current group (the rest of
     *     the claim is released at once).
     * @return int Rows handled.
     */
    public function process_due(?int $now = null, ?callable $shouldstop = null): int {
        $handled = 0;
        while (true) {
            [$token, $rows] = $this->claim($now);
            if (!$rows) {
                return $handled;
            }
            $this->pause_point('claimed');
            // Processors (and admins' changes to them) are re-read for every batch.
            $this->dispatcher->refresh_processors();
            $handled += $this->dispatch_claimed($token, $rows, $shouldstop);
            if ($shouldstop && $shouldstop()) {
                return $handled;
            }
        }
    }

    /**
     * Dispatches claimed rows, one (conversation, sender) group at a time.
     *
     * Every row of a group is marked DISPATCHING (timestarted committed) before anything external happens;
     * then the dispatcher runs; then the rows are DONE. Any \Throwable marks the group's rows FAILED with the
     * error, and the next group goes on.
     *
     * @param string $token The claim token.
     * @param \stdClass[] $rows The claimed rows.
     * @param callable|null $shouldstop Asked between groups.
     * @return int Rows handled.
     */
    public function dispatch_claimed(string $token, array $rows, ?callable $shouldstop = null): int {
        global $DB;
        // With a delay, one (conversation, sender) group is notified together; without, each message alone.
        $delay = self::notify_delay();
        $groups = [];
        foreach ($rows as $row) {
            $key = $delay > 0 ? $row->conversationid . '-' . $row->useridfrom : 'm' . $row->id;
            $groups[$key][(int) $row->id] = $row;
        }
        $handled = 0;
        foreach ($groups as $key => $group) {
            if ($shouldstop && $shouldstop()) {
                $this->release($token, $groups, $key);
                break;
            }
            $started = $this->start($token, array_keys($group));
            if (!$started) {
                continue;
            }
            $group = array_intersect_key($group, array_flip($started));
            $this->pause_point('started');
            try {
                $this->dispatcher->dispatch(array_values($group), $delay);
                // The standard log keeps up to 50 events in memory until the process ends: written now,
                // before DONE, a long-running worker neither delays them by minutes nor loses them to a kill.
                self::flush_log();
                $this->finish($token, $started, self::STATE_DONE, null);
                $this->pause_point('done');
            } catch (\Throwable $e) {
                $error = get_class($e) . ': ' . $e->getMessage();
                $this->finish($token, $started, self::STATE_FAILED, $error);
                if ($DB->is_transaction_started()) {
                    // A processor left a transaction open: nothing else can be trusted in this process.
                    throw $e;
                }
            }
            $handled += count($started);
            $this->total += count($started);
        }
        return $handled;
    }

    /**
     * Marks claimed rows DISPATCHING with timestarted, and returns the ids the token still holds.
     *
     * @param string $token The claim token.
     * @param int[] $ids Row ids.
     * @return int[] The ids now DISPATCHING under this token.
     */
    protected function start(string $token, array $ids): array {
        global $DB;
        [$in, $params] = $DB->get_in_or_equal($ids, SQL_PARAMS_NAMED, 'r');
        $DB->execute("UPDATE {" . self::TABLE . "}
                         SET state = :dispatching, timestarted = :now, attempts = attempts + 1
                       WHERE claimtoken = :token AND state = :claimed AND id $in",
            ['dispatching' => self::STATE_DISPATCHING, 'now' => time(), 'token' => $token,
                'claimed' => self::STATE_CLAIMED] + $params);
        return array_map('intval', $DB->get_fieldset_select(self::TABLE, 'id',
            "claimtoken = :token AND state = :dispatching AND id $in",
            ['token' => $token, 'dispatching' => self::STATE_DISPATCHING] + $params));
    }

    /**
     * Ends dispatched rows: DONE, or FAILED with the error.
     *
     * @param string $token The claim token.
     * @param int[] $ids Row ids.
     * @param int $state STATE_DONE or STATE_FAILED.
     * @param string|null $error The error (FAILED), or null.
     * @return void
     */
    protected function finish(string $token, array $ids, int $state, ?string $error): void {
        global $DB;
        [$in, $params] = $DB->get_in_or_equal($ids, SQL_PARAMS_NAMED, 'r');
        $DB->execute("UPDATE {" . self::TABLE . "}
                         SET state = :state, timedone = :now, error = :error
                       WHERE claimtoken = :token AND state = :dispatching AND id $in",
            ['state' => $state, 'now' => time(), 'error' => $error === null ? null : \core_text::substr($error, 0, 2000),
                'token' => $token, 'dispatching' => self::STATE_DISPATCHING] + $params);
    }

    /**
     * Gives back the groups of a claim not dispatched yet (a stop was asked), so another worker takes them.
     *
     * @param string $token The claim token.
     * @param array $groups Groups of rows by key.
     * @param string $from The first key not dispatched.
     * @return void
     */
    protected function release(string $token, array $groups, string $from): void {
        global $DB;
        $ids = [];
        $seen = false;
        foreach ($groups as $key => $group) {
            $seen = $seen || $key === $from;
            if ($seen) {
                $ids = array_merge($ids, array_keys($group));
            }
        }
        foreach (array_chunk($ids, 500) as $chunk) {
            [$in, $params] = $DB->get_in_or_equal($chunk, SQL_PARAMS_NAMED, 'r');
            $DB->execute("UPDATE {" . self::TABLE . "}
                             SET state = :waiting, claimtoken = NULL, timeclaimed = NULL
                           WHERE claimtoken = :token AND state = :claimed AND id $in",
                ['waiting' => self::STATE_WAITING, 'token' => $token, 'claimed' => self::STATE_CLAIMED] + $params);
        }
    }

    /**
     * Writes the events the log stores buffered (logstore_standard keeps up to its buffersize, 50 by default,
     * until the log manager is disposed at the end of the process). The next event sets the stores up again.
     *
     * @return void
     */
    public static function flush_log(): void {
        try {
            get_log_manager()->dispose();
        } catch (\Throwable $e) {
            // Logging must not decide the fate of a message whose processors already ran.
            debugging('block_dockchat: flushing the log failed: ' . $e->getMessage(), DEBUG_DEVELOPER);
        }
    }

    /**
     * Test hook (design §5.5): with BLOCK_DOCKCHAT_TEST_PAUSE_AT set to this point's name in the
     * environment, the worker sleeps here so that a test can kill it at this boundary.
     *
     * @param string $point 'claimed', 'started' or 'done'.
     * @return void
     */
    protected function pause_point(string $point): void {
        if (CLI_SCRIPT && getenv('BLOCK_DOCKCHAT_TEST_PAUSE_AT') === $point) {
            sleep(3600);
        }
    }

    /**
     * Puts FAILED or UNCERTAIN rows back to WAITING (admin action, cli/queue.php --requeue).
     *
     * @param int $id Row id.
     * @return bool Whether the row was requeued.
     */
    public static function requeue(int $id): bool {
        global $DB;
        $row = $DB->get_record(self::TABLE, ['id' => $id], 'id, state');
        if (!$row || !in_array((int) $row->state, [self::STATE_UNCERTAIN, self::STATE_FAILED], true)) {
            return false;
        }
        $DB->execute("UPDATE {" . self::TABLE . "}
                         SET state = :waiting, claimtoken = NULL, timeclaimed = NULL, timestarted = NULL,
                             timedone = NULL, timedue = :now
                       WHERE id = :id AND state = :state",
            ['waiting' => self::STATE_WAITING, 'now' => time(), 'id' => $id, 'state' => $row->state]);
        return true;
    }
}

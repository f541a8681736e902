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
 * The worker loop shared by cli/worker.php and the process_queue task: passes of the {@see processor} every
 * 250 ms, a heartbeat row in block_dockchat_worker every 5 s, and an end after a time or an item budget
 * (the service manager, or the next cron run, starts a fresh process: no leaks, no stale static caches).
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class runner {
    /** @var string The heartbeat table. */
    public const TABLE = 'block_dockchat_worker';

    /** @var int Microseconds between passes when the queue is idle. */
    public const INTERVAL_US = 250000;

    /** @var int Seconds between heartbeats. */
    public const HEARTBEAT = 5;

    /** @var int Heartbeat rows not seen for this long (seconds) are deleted by any worker. */
    public const STALE = 86400;

    /** @var processor The queue processor. */
    protected processor $processor;

    /** @var bool Set by a signal handler (or a test): stop after the current item. */
    public bool $stop = false;

    /** @var int|null Heartbeat row id. */
    protected ?int $heartbeatid = null;

    /** @var int Items handled so far. */
    public int $processed = 0;

    /** @var string|null The last error caught by the loop. */
    protected ?string $lasterror = null;

    /** @var \Closure|null Where progress lines go (the CLI prints them), or null. */
    protected ?\Closure $log;

    /**
     * Constructor.
     *
     * @param processor|null $processor The processor.
     * @param callable|null $log fn(string $line): void, or null for silence.
     */
    public function __construct(?processor $processor = null, ?callable $log = null) {
        $this->processor = $processor ?? new processor();
        $this->log = $log ? \Closure::fromCallable($log) : null;
    }

    /**
     * Runs passes until the time or the item budget is spent, a stop is asked, or (once) after one pass.
     *
     * @param int $maxseconds Stop starting passes after this long.
     * @param int $maxitems Stop after this many items.
     * @param bool $once One pass only.
     * @return int Items handled.
     */
    public function run(int $maxseconds, int $maxitems, bool $once = false): int {
        global $DB;
        $start = microtime(true);
        $this->beat();
        $lastbeat = time();
        // Asked between items too, so a long backlog cannot hold the process past its time or item budget.
        $shouldstop = fn() => $this->stop || $this->processed >= $maxitems || $this->processor->total >= $maxitems
            || microtime(true) - $start >= $maxseconds;
        try {
            while (true) {
                $n = 0;
                try {
                    $n = $this->processor->run_once(function () use ($shouldstop) {
                        return $shouldstop();
                    });
                } catch (\Throwable $e) {
                    // A database hiccup or a bug: recorded in the heartbeat, the loop goes on (or ends, once).
                    $this->lasterror = get_class($e) . ': ' . $e->getMessage();
                    $this->say('error: ' . $this->lasterror);
                    if ($DB->is_transaction_started()) {
                        // Leaving a transaction open would swallow every later write: start afresh.
                        $DB->force_transaction_rollback();
                    }
                }
                $this->processed += $n;
                if ($n) {
                    $this->say("handled $n");
                }
                if (time() - $lastbeat >= self::HEARTBEAT) {
                    $this->beat();
                    $lastbeat = time();
                }
                if ($once || $shouldstop() || microtime(true) - $start >= $maxseconds) {
                    break;
                }
                if (!$n) {
                    usleep(self::INTERVAL_US);
                }
            }
        } finally {
            $this->end();
        }
        return $this->processed;
    }

    /**
     * Writes (first time: inserts) this process's heartbeat row, and prunes rows long unseen.
     *
     * @return void
     */
    protected function beat(): void {
        global $DB;
        $now = time();
        try {
            if ($this->heartbeatid === null) {
                $this->heartbeatid = (int) $DB->insert_record(self::TABLE, (object) [
                    'hostname' => \core_text::substr((string) gethostname(), 0, 255),
                    'pid' => (int) getmypid(),
                    'timestarted' => $now,
                    'timeseen' => $now,
                    'processed' => 0,
                    'lasterror' => null,
                ]);
                $DB->delete_records_select(self::TABLE, 'timeseen < :stale', ['stale' => $now - self::STALE]);
            } else {
                $DB->update_record(self::TABLE, (object) [
                    'id' => $this->heartbeatid,
                    'timeseen' => $now,
                    'processed' => $this->processed,
                    'lasterror' => $this->lasterror === null ? null : \core_text::substr($this->lasterror, 0, 2000),
                ]);
            }
        } catch (\Throwable $e) {
            $this->say('heartbeat failed: ' . $e->getMessage());
        }
    }

    /**
     * Last heartbeat, then the row goes: a process that ended cleanly is no longer a worker.
     *
     * @return void
     */
    protected function end(): void {
        global $DB;
        if ($this->heartbeatid === null) {
            return;
        }
        try {
            $DB->delete_records(self::TABLE, ['id' => $this->heartbeatid]);
        } catch (\Throwable $e) {
            $this->say('heartbeat removal failed: ' . $e->getMessage());
        }
        $this->heartbeatid = null;
    }

    /**
     * Progress output.
     *
     * @param string $line The line.
     * @return void
     */
    protected function say(string $line): void {
        if ($this->log) {
            ($this->log)($line);
        }
    }
}

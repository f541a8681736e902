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

namespace block_dockchat\task;

/**
 * The fallback of cli/worker.php: runs the dock chat queue for at most 50 seconds every minute, so that
 * nothing is lost (only later) when the worker service does not run. When a worker's heartbeat is fresh,
 * it makes one pass only. Safe beside a running worker: rows are claimed, never taken twice.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class process_queue extends \core\task\scheduled_task {
    /** @var int Seconds the task runs the loop (it is scheduled every minute). */
    public const MAX_SECONDS = 50;

    /** @var int Items after which the task stops early. */
    public const MAX_ITEMS = 10000;

    /**
     * Task name shown to admins.
     *
     * @return string
     */
    public function get_name() {
        return get_string('task_process_queue', 'block_dockchat');
    }

    /**
     * Runs the queue loop.
     *
     * @return void
     */
    public function execute() {
        $runner = new \block_dockchat\local\queue\runner(null, function (string $line) {
            mtrace('block_dockchat queue: ' . $line);
        });
        if (self::worker_alive()) {
            // cli/worker.php runs: one pass (the sweep, anything it left) instead of holding a cron runner 50 s.
            mtrace('block_dockchat queue: a worker is running, one pass only');
            $done = $runner->run(self::MAX_SECONDS, self::MAX_ITEMS, true);
        } else {
            $done = $runner->run(self::MAX_SECONDS, self::MAX_ITEMS);
        }
        mtrace("block_dockchat queue: $done item(s) handled");
    }

    /**
     * Whether another process (cli/worker.php) wrote a heartbeat within the last three heartbeat periods.
     *
     * @return bool
     */
    public static function worker_alive(): bool {
        global $DB;
        return $DB->record_exists_select(\block_dockchat\local\queue\runner::TABLE, 'timeseen >= :fresh',
            ['fresh' => time() - 3 * \block_dockchat\local\queue\runner::HEARTBEAT]);
    }
}

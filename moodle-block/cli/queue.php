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
 * Admin view of the dock chat queue: backlog per state, worker heartbeats, requeue of failed rows.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

define('CLI_SCRIPT', true);

require(__DIR__ . '/../../../config.php');
require_once($CFG->libdir . '/clilib.php');

use block_dockchat\local\queue\processor;
use block_dockchat\local\queue\job_runner;
use block_dockchat\local\queue\runner;

[$options, $unrecognised] = cli_get_params(
    ['help' => false, 'status' => false, 'requeue' => null],
    ['h' => 'help', 's' => 'status']
);
if ($unrecognised) {
    cli_error(get_string('cliunknowoption', 'admin', implode("\n  ", $unrecognised)));
}
if ($options['help'] || (!$options['status'] && $options['requeue'] === null)) {
    cli_writeln(get_string('cli_queue_help', 'block_dockchat'));
    exit(0);
}

if ($options['requeue'] !== null) {
    $id = clean_param($options['requeue'], PARAM_INT);
    if ($id <= 0 || !processor::requeue($id)) {
        cli_error(get_string('cli_queue_notrequeued', 'block_dockchat', $id));
    }
    cli_writeln(get_string('cli_queue_requeued', 'block_dockchat', $id));
    exit(0);
}

$now = time();
$names = [
    processor::STATE_NEW => 'new', processor::STATE_WAITING => 'waiting', processor::STATE_CLAIMED => 'claimed',
    processor::STATE_DISPATCHING => 'dispatching', processor::STATE_DONE => 'done', processor::STATE_UNCERTAIN => 'uncertain',
    processor::STATE_FAILED => 'failed',
];
$counts = $DB->get_records_sql("SELECT state, COUNT(1) AS n, MIN(timecreated) AS oldest
                                  FROM {" . processor::TABLE . "} GROUP BY state");
cli_heading('block_dockchat_sent');
foreach ($names as $state => $name) {
    $n = isset($counts[$state]) ? (int) $counts[$state]->n : 0;
    $age = ($n && $state !== processor::STATE_DONE) ? ' (oldest ' . ($now - (int) $counts[$state]->oldest) . ' s)' : '';
    cli_writeln(sprintf('%d %-12s %d%s', $state, $name, $n, $age));
}
$problems = $DB->get_records_select(processor::TABLE, 'state = :uncertain OR state = :failed',
    ['uncertain' => processor::STATE_UNCERTAIN, 'failed' => processor::STATE_FAILED], 'id DESC',
    'id, messageid, state, timestarted, error', 0, 20);
foreach ($problems as $row) {
    $started = $row->timestarted ? ' started ' . userdate($row->timestarted, '%Y-%m-%d %H:%M:%S') : '';
    cli_writeln("  #$row->id message $row->messageid state $row->state ({$names[(int) $row->state]})$started " .
        ($row->error ?? ''));
}

cli_heading('block_dockchat_job');
$jobs = $DB->get_recordset_sql("SELECT kind, state, COUNT(1) AS n, MIN(timecreated) AS oldest
                                   FROM {" . job_runner::TABLE . "} GROUP BY kind, state ORDER BY kind, state");
$any = false;
foreach ($jobs as $job) {
    $any = true;
    cli_writeln("kind $job->kind state $job->state: $job->n (oldest " . ($now - (int) $job->oldest) . ' s)');
}
$jobs->close();
if (!$any) {
    cli_writeln('0');
}

cli_heading('block_dockchat_worker');
$workers = $DB->get_records(runner::TABLE, null, 'timeseen DESC');
$alive = 0;
foreach ($workers as $w) {
    // A row not seen for three heartbeats is a process that died without removing it (kill -9, crash).
    $stale = $now - $w->timeseen > 3 * runner::HEARTBEAT;
    $alive += $stale ? 0 : 1;
    cli_writeln(sprintf('%s pid %d: started %s, seen %d s ago, %d item(s)%s%s', $w->hostname, $w->pid,
        userdate($w->timestarted, '%Y-%m-%d %H:%M:%S'), $now - $w->timeseen, $w->processed,
        $w->lasterror ? ', last error: ' . $w->lasterror : '', $stale ? ' [gone]' : ''));
}
if (!$alive) {
    cli_writeln(get_string('cli_queue_noworker', 'block_dockchat'));
}
exit(0);

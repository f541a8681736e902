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
 * The dock chat queue worker: runs Moodle's send path (cache, processors, events) for what dockchatd stored.
 *
 * Run by deploy/dockchat-worker.service as the web server's user. It loops every 250 ms, writes a
 * heartbeat every 5 s, ends cleanly on SIGTERM or SIGINT after the current item, and ends by itself after
 * 10 minutes or 10,000 items (systemd starts a fresh one). The process_queue scheduled task does the same
 * work every minute when this worker does not run.
 *
 * The path to config.php is the same on Moodle 4.5 (blocks/dockchat/cli → config.php) and 5.1
 * (public/blocks/dockchat/cli → public/config.php, which loads the site's ../config.php).
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

define('CLI_SCRIPT', true);

require(__DIR__ . '/../../../config.php');
require_once($CFG->libdir . '/clilib.php');

[$options, $unrecognised] = cli_get_params(
    ['help' => false, 'once' => false, 'verbose' => false],
    ['h' => 'help', 'v' => 'verbose']
);
if ($unrecognised) {
    cli_error(get_string('cliunknowoption', 'admin', implode("\n  ", $unrecognised)));
}
if ($options['help']) {
    cli_writeln(get_string('cli_worker_help', 'block_dockchat'));
    exit(0);
}

$runner = new \block_dockchat\local\queue\runner(null, function (string $line) use ($options) {
    if ($options['verbose'] || str_starts_with($line, 'error') || str_starts_with($line, 'heartbeat')) {
        cli_writeln(date('c') . ' ' . $line);
    }
});

// Moodle's own handlers (core_shutdown_manager) end the process at once; ours ask the loop to stop after
// the current item instead, so no row is left half dispatched.
if (function_exists('pcntl_async_signals') && function_exists('pcntl_signal')) {
    pcntl_async_signals(true);
    $handler = function () use ($runner) {
        $runner->stop = true;
    };
    pcntl_signal(SIGTERM, $handler);
    pcntl_signal(SIGINT, $handler);
}

if (moodle_needs_upgrading()) {
    // The block's tables may not exist yet: wait for the upgrade instead of failing every 250 ms.
    cli_writeln(get_string('cli_worker_upgradepending', 'block_dockchat'));
    sleep(30);
    exit(1);
}

\core\cron::setup_user();
$done = $runner->run(600, 10000, (bool) $options['once']);
if ($options['verbose'] || $options['once']) {
    cli_writeln(get_string('cli_worker_done', 'block_dockchat', $done));
}
exit(0);

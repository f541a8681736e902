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

namespace block_dockchat\output;

use renderable;
use renderer_base;
use templatable;

/**
 * The content of the block: the container the client fills with online course-mates.
 *
 * The list itself is live data from dockchatd, drawn by the JavaScript client into
 * [data-region="block_dockchat-online"] of template block_dockchat/block.
 *
 * @package    block_dockchat
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class main implements renderable, templatable {
    /** @var string Unique id of this block's DOM region. */
    private string $uniqid;

    /**
     * Creates the renderable.
     *
     * @param string $uniqid Unique id for the DOM (defaults to a fresh one).
     */
    public function __construct(string $uniqid = '') {
        $this->uniqid = $uniqid !== '' ? $uniqid : \html_writer::random_id('block_dockchat');
    }

    /**
     * Exports the template context of block_dockchat/block.
     *
     * @param renderer_base $output The renderer.
     * @return array{uniqid: string, messageurl: string}
     */
    public function export_for_template(renderer_base $output): array {
        return [
            'uniqid' => $this->uniqid,
            // Group conversations and the personal space open in Moodle's messaging (index.php?convid=).
            'messageurl' => (new \moodle_url('/message/index.php'))->out(false),
        ];
    }
}

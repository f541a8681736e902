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

namespace block_dockchat;

use block_dockchat\local\dock;
use block_dockchat\local\token_issuer;
use core\hook\output\before_footer_html_generation;
use Firebase\JWT\JWT;
use Firebase\JWT\Key;

/**
 * Tests of the token that comes with the page (issue 15): claims, lifetime and database cost.
 *
 * @package    block_dockchat
 * @category   test
 * @copyright  2026 dockchat developers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 * @covers     \block_dockchat\local\dock
 * @covers     \block_dockchat\local\token_issuer
 */
final class page_token_test extends \advanced_testcase {
    /** @var string The session id the tests mint tokens in. */
    private const SESSIONID = 'dockchatpagetokentestsession0123';

    /**
     * Forgets the test session id.
     */
    protected function tearDown(): void {
        token_issuer::set_session_id_for_tests(null);
        parent::tearDown();
    }

    /**
     * A fresh site page, as the footer hook sees it.
     *
     * @return \moodle_page
     */
    private function new_page(): \moodle_page {
        global $PAGE;
        dock::reset();
        $PAGE = new \moodle_page();
        $PAGE->set_context(\core\context\system::instance());
        $PAGE->set_url(new \moodle_url('/my/index.php'));
        $PAGE->set_pagelayout('mydashboard');
        return $PAGE;
    }

    /**
     * Runs the footer hook on a fresh page (with or without the dock) and counts its queries.
     *
     * @param bool $dock Whether followeverywhere is on (the page gets the dock).
     * @return array{0: int, 1: string} Queries, the page's footer JavaScript.
     */
    private function render_footer(bool $dock): array {
        global $DB;
        set_config('followeverywhere', $dock ? 1 : 0, 'block_dockchat');
        get_config('block_dockchat'); // The plugin's config is in Moodle's config cache on any page.
        $page = $this->new_page();
        $before = $DB->perf_get_queries();
        hook_callbacks::before_footer_html_generation(new before_footer_html_generation($page->get_renderer('core')));
        $js = $page->requires->get_end_code();
        return [$DB->perf_get_queries() - $before, $js];
    }

    /**
     * The init config of the dock, as given to js_call_amd, from a page's footer JavaScript.
     *
     * @param string $js The footer JavaScript.
     * @return array The config.
     */
    private function init_config(string $js): array {
        $this->assertSame(1, preg_match("#require\\(\\['block_dockchat/main'\\], function\\(amd\\) \\{amd\\.init\\((\\{.*?\\})\\);#s",
            $js, $m), 'the dock is initialised on the page');
        $config = json_decode($m[1], true);
        $this->assertIsArray($config);
        return $config;
    }

    /**
     * A student enrolled in a course, logged in, in a known session, whose access data is loaded.
     *
     * @return \stdClass The user.
     */
    private function student(): \stdClass {
        $generator = $this->getDataGenerator();
        $course = $generator->create_course();
        $user = $generator->create_user();
        $generator->enrol_user($user->id, $course->id, 'student');
        $this->setUser($user);
        token_issuer::set_session_id_for_tests(self::SESSIONID);
        // What a Moodle page has done before its footer: the user's access data and preferences are
        // loaded, and the definition of their role is in Moodle's cache (warm after any page of a course).
        has_capability('moodle/site:config', \core\context\system::instance());
        has_capability('moodle/course:view', \core\context\course::instance($course->id));
        get_user_preferences();
        // And the page's own footer code (filters) was set up once in this request.
        $this->render_footer(false);
        return $user;
    }

    /**
     * The init config carries a token that verifies with the site's secret: sub, sid, exp within 300 s.
     */
    public function test_init_config_carries_a_valid_token(): void {
        $this->resetAfterTest();
        $user = $this->student();
        $start = time();
        [, $js] = $this->render_footer(true);
        $config = $this->init_config($js);

        $this->assertArrayHasKey('token', $config);
        JWT::$leeway = 0;
        $claims = JWT::decode($config['token'], new Key(get_config('block_dockchat', 'secret'), token_issuer::ALGORITHM));
        $this->assertSame((string) $user->id, $claims->sub);
        $this->assertSame(hash('sha256', self::SESSIONID), $claims->sid);
        $this->assertSame('dockchat', $claims->aud);
        $this->assertSame($config['tokenexp'], $claims->exp);
        $this->assertLessThanOrEqual(time() + token_issuer::PAGE_LIFETIME, $claims->exp);
        $this->assertGreaterThan(time(), $claims->exp);
        $this->assertLessThanOrEqual(token_issuer::PAGE_LIFETIME, $claims->exp - $claims->iat);
        $this->assertGreaterThanOrEqual($start, $config['now']);
        $this->assertSame($claims->iat, $config['now']);
        $this->assertFalse($claims->caps->anyuser);
        $this->assertTrue($claims->caps->send);
    }

    /**
     * The page token never outlives 300 s, whatever the configured lifetime; a shorter one is kept.
     */
    public function test_page_lifetime(): void {
        $this->resetAfterTest();
        $user = $this->student();
        set_config('tokenlifetime', 3600, 'block_dockchat');
        $issued = dock::page_token(1000000);
        $this->assertSame(1000000 + 300, $issued['exp']);
        set_config('tokenlifetime', 120, 'block_dockchat');
        $this->assertSame(1000000 + 120, dock::page_token(1000000)['exp']);
        // The web service still gives the configured lifetime.
        set_config('tokenlifetime', 3600, 'block_dockchat');
        $this->assertSame(1000000 + 3600, token_issuer::from_config()->issue((int) $user->id, 1000000)['exp']);
    }

    /**
     * No page token where the web service would refuse one; the dock then fetches it as before.
     */
    public function test_no_token_when_not_allowed(): void {
        $this->resetAfterTest();
        $this->student();
        unset_config('secret', 'block_dockchat');
        $this->assertNull(dock::page_token(time()), 'no secret');
        $this->assertArrayNotHasKey('token', dock::js_config(false));

        set_config('secret', str_repeat('s', 64), 'block_dockchat');
        $this->assertNotNull(dock::page_token(time()));
        $this->setGuestUser();
        $this->assertNull(dock::page_token(time()), 'guest');
        $this->setUser(null);
        $this->assertNull(dock::page_token(time()), 'not logged in');
    }

    /**
     * With the capability answers of the user's last token cached (the dock refreshes its token every
     * few minutes), the page with the dock and its token costs exactly the queries of the page without it.
     */
    public function test_page_token_adds_no_query(): void {
        $this->resetAfterTest();
        $user = $this->student();
        // The dock of the previous page fetched or refreshed a token.
        token_issuer::from_config()->issue((int) $user->id);

        [$without] = $this->render_footer(false);
        [$with, $js] = $this->render_footer(true);
        $this->assertArrayHasKey('token', $this->init_config($js));
        $this->assertSame($without, $with, 'the dock and its token add no query to the page');

        // Minting itself, measured alone.
        global $DB;
        $before = $DB->perf_get_queries();
        $config = dock::js_config(false);
        $this->assertSame(0, $DB->perf_get_queries() - $before);
        $this->assertArrayHasKey('token', $config);
    }

    /**
     * Without cached answers (first page of a session, or they are older than a token lifetime, or the
     * user's roles were reloaded since), a student's page token costs one query: their courses, read by
     * enrol_get_all_users_courses() for the course-level moodle/site:messageanyuser. The next page costs none.
     */
    public function test_cold_cache_costs_one_query_once(): void {
        global $DB, $USER;
        $this->resetAfterTest();
        $this->student();
        [$without] = $this->render_footer(false);
        [$with] = $this->render_footer(true);
        $this->assertSame($without + 1, $with, 'first page: the courses of the user');
        [$again] = $this->render_footer(true);
        $this->assertSame($without, $again, 'next page: none');

        // Roles reloaded after the answers were computed: computed again.
        $USER->access['time'] = time() + 1;
        $before = $DB->perf_get_queries();
        dock::js_config(false);
        $this->assertSame(1, $DB->perf_get_queries() - $before);
    }

    /**
     * Cached answers are used only while current: younger than a token lifetime, not older than the
     * user's access data.
     */
    public function test_cached_capabilities_expire(): void {
        global $USER;
        $this->resetAfterTest();
        $user = $this->student();
        $issuer = token_issuer::from_config();
        $caps = ['send' => true, 'readall' => false, 'anyuser' => false, 'anyusercourses' => [7]];
        $now = (int) $USER->access['time'] + 10;
        token_issuer::remember_capabilities((int) $user->id, $caps, $now);
        $this->assertSame($caps, $issuer->cached_capabilities((int) $user->id, $now + 1));
        $this->assertNull($issuer->cached_capabilities((int) $user->id, $now + $issuer->get_lifetime()));
        $this->assertNull($issuer->cached_capabilities((int) $user->id, $now - 1), 'from the future');
        $USER->access['time'] = $now + 1;
        $this->assertNull($issuer->cached_capabilities((int) $user->id, $now + 2), 'roles reloaded since');
    }

    /**
     * An administrator (moodle/site:messageanyuser site-wide) costs no query even with a cold cache.
     */
    public function test_admin_costs_no_query(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        token_issuer::set_session_id_for_tests(self::SESSIONID);
        has_capability('moodle/site:config', \core\context\system::instance());
        [$without] = $this->render_footer(false);
        [$with, $js] = $this->render_footer(true);
        $this->assertSame($without, $with);
        $this->assertArrayHasKey('token', $this->init_config($js));
    }
}

//! Presence (issue 2 §4, PROTOCOL §5): the online snapshot in `welcome`, `presence` online/offline
//! events across several tabs, and who counts as a course-mate (disabled enrolment instance, suspended
//! or expired or future enrolment, hidden course) — against real MariaDB and PostgreSQL.

mod common;

use common::users::*;
use common::*;
use std::time::Duration;

const QUIET: Duration = Duration::from_millis(1500);

async fn welcome_lists_online_course_mates_sorted(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let bob = ctx.client(BOB).await;
    let carol = ctx.client(CAROL).await;
    let teacher = ctx.client_with_token(&teacher_token(), None).await;
    let alice = ctx.client(ALICE).await;
    // Sorted by full name: Alice's mates Bruno Barros, Carla Costa, Tereza Silva.
    assert_eq!(
        alice.online_ids(),
        vec![BOB, CAROL, TEACHER],
        "{}",
        alice.welcome
    );
    for p in alice.welcome["online"].as_array().into_iter().flatten() {
        assert_eq!(p["status"], "online", "{p}");
        assert!(p["fullname"].is_string() && p["avatar"].is_string(), "{p}");
    }
    let names: Vec<&str> = alice.welcome["online"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["fullname"].as_str())
        .collect();
    assert_eq!(names, vec!["Bruno Barros", "Carla Costa", "Tereza Silva"]);
    for c in [bob, carol, teacher, alice] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(welcome_lists_online_course_mates_sorted);

async fn only_active_enrolments_in_visible_courses_make_course_mates(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    // Everyone here is an active account, but none shares an active enrolment with Alice.
    let mut outsiders = Vec::new();
    for (why, u) in [
        ("other course", DAVE),
        ("disabled enrolment instance", ERIN),
        ("suspended enrolment", FRANK),
        ("expired enrolment", GRACE),
        ("future enrolment", JUDY),
        ("hidden course only", HEIDI),
    ] {
        outsiders.push((why, ctx.client(u).await));
    }
    let mut bob = ctx.client(BOB).await;
    let mut alice = ctx.client(ALICE).await;
    assert_eq!(alice.online_ids(), vec![BOB], "{}", alice.welcome);
    let p = bob.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(ALICE), Some("online"))
    );
    assert_eq!(p["user"]["fullname"], "Alice Almeida");
    for (why, c) in outsiders.iter_mut() {
        assert!(!c.online_ids().contains(&ALICE), "{why}: {}", c.welcome);
        assert!(!c.online_ids().contains(&BOB), "{why}: {}", c.welcome);
        c.expect_none("presence", Duration::from_millis(300)).await;
    }
    alice
        .expect_none("presence", Duration::from_millis(500))
        .await;
    for (_, c) in outsiders {
        c.close().await;
    }
    bob.close().await;
    alice.close().await;
    ctx.finish().await;
}
db_test!(only_active_enrolments_in_visible_courses_make_course_mates);

async fn presence_across_tabs_goes_offline_after_last_tab(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut bob = ctx.client(BOB).await;
    let tab1 = ctx.client(ALICE).await;
    let p = bob.expect("presence").await;
    assert_eq!(p["user"]["id"], ALICE);
    assert_eq!(p["status"], "online");
    // A second tab is not a new arrival.
    let tab2 = ctx.client(ALICE).await;
    assert_eq!(tab2.online_ids(), vec![BOB]);
    bob.expect_none("presence", QUIET).await;
    // Closing one tab keeps Alice online.
    tab1.close().await;
    bob.expect_none("presence", QUIET).await;
    let leo = ctx.client(LEO).await;
    assert!(leo.online_ids().contains(&ALICE), "{}", leo.welcome);
    let p = bob.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(LEO), Some("online"))
    );
    // Closing the last tab sends offline once.
    tab2.close().await;
    let p = bob.expect("presence").await;
    assert_eq!(p["user"]["id"], ALICE);
    assert_eq!(p["status"], "offline");
    bob.expect_none("presence", QUIET).await;
    let kate = ctx.client(KATE).await;
    assert!(!kate.online_ids().contains(&ALICE), "{}", kate.welcome);
    for c in [bob, leo, kate] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(presence_across_tabs_goes_offline_after_last_tab);

async fn teacher_sees_students_of_every_course(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let alice = ctx.client(ALICE).await;
    let mut dave = ctx.client(DAVE).await;
    let teacher = ctx.client_with_token(&teacher_token(), None).await;
    let mut ids = teacher.online_ids();
    ids.sort();
    assert_eq!(ids, vec![ALICE, DAVE]);
    let p = dave.expect("presence").await;
    assert_eq!(p["user"]["id"], TEACHER);
    assert!(!dave.online_ids().contains(&ALICE));
    for c in [alice, dave, teacher] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(teacher_sees_students_of_every_course);

async fn abrupt_disconnect_also_goes_offline(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut bob = ctx.client(BOB).await;
    let alice = ctx.client(ALICE).await;
    bob.expect("presence").await;
    drop(alice); // TCP reset without a close handshake
    let p = bob.expect("presence").await;
    assert_eq!(p["user"]["id"], ALICE);
    assert_eq!(p["status"], "offline");
    bob.close().await;
    ctx.finish().await;
}
db_test!(abrupt_disconnect_also_goes_offline);

async fn enrolment_changes_make_and_break_course_mates(backend: Backend) {
    let ctx = Ctx::start(backend).await; // enrolment_refresh_secs = 2
    let mut alice = ctx.client(ALICE).await;
    let mut dave = ctx.client(DAVE).await;
    assert!(!dave.online_ids().contains(&ALICE));
    // Moodle enrols Dave in Algebra: both learn about each other at the next refresh.
    ctx.db
        .execp(&format!(
            "INSERT INTO {{p}}user_enrolments (status, enrolid, userid, timestart, timeend, modifierid, timecreated, timemodified) VALUES (0, 1, {DAVE}, 0, 2147483647, 2, {n}, {n})",
            n = now()
        ))
        .await;
    let p = alice.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(DAVE), Some("online"))
    );
    let p = dave.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(ALICE), Some("online"))
    );
    // The enrolment is suspended again: they stop seeing each other.
    ctx.db
        .execp(&format!(
            "UPDATE {{p}}user_enrolments SET status = 1 WHERE userid = {DAVE} AND enrolid = 1"
        ))
        .await;
    let p = alice.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(DAVE), Some("offline"))
    );
    let p = dave.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(ALICE), Some("offline"))
    );
    let a2 = ctx.client(ALICE).await;
    assert!(!a2.online_ids().contains(&DAVE), "{}", a2.welcome);
    for c in [alice, dave, a2] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(enrolment_changes_make_and_break_course_mates);

async fn presence_and_revalidation_past_one_batch(backend: Backend) {
    // 150 students: more than one batch (100) of the daemon's IN (...) queries.
    let db = TestDb::standard(backend).await;
    let n = now();
    let ids: Vec<i64> = (1001..=1150).collect();
    let mut users = Vec::new();
    let mut sessions = Vec::new();
    let mut enrolments = Vec::new();
    let mut contexts = Vec::new();
    for id in &ids {
        users.push(format!(
            "({id}, 'manual', 1, 0, 0, 1, 'student{id}', 'Student', '{:03}', 's{id}@example.com')",
            id - 1000
        ));
        sessions.push(format!(
            "(0, '{sid}', {id}, {c}, {m})",
            sid = session_id(*id),
            c = n - 600,
            m = n - 30
        ));
        enrolments.push(format!("(0, 1, {id}, 0, 2147483647, 2, {n}, {n})"));
        contexts.push(format!("({}, 30, {id}, '/1/{}', 2, 0)", 100 + id, 100 + id));
    }
    db.execp(&format!(
        "INSERT INTO {{p}}user (id, auth, confirmed, deleted, suspended, mnethostid, username, firstname, lastname, email) VALUES {}",
        users.join(", ")
    ))
    .await;
    db.execp(&format!(
        "INSERT INTO {{p}}sessions (state, sid, userid, timecreated, timemodified) VALUES {}",
        sessions.join(", ")
    ))
    .await;
    db.execp(&format!(
        "INSERT INTO {{p}}user_enrolments (status, enrolid, userid, timestart, timeend, modifierid, timecreated, timemodified) VALUES {}",
        enrolments.join(", ")
    ))
    .await;
    db.execp(&format!(
        "INSERT INTO {{p}}context (id, contextlevel, instanceid, path, depth, locked) VALUES {}",
        contexts.join(", ")
    ))
    .await;
    let ctx = Ctx::start_on(db, |c| c.limits.outbox_frames = 1024).await;
    let mut clients = Vec::new();
    for id in &ids {
        clients.push(ctx.client(*id).await);
    }
    // The last one sees the 149 others, sorted by full name ("Student 001" ... "Student 149").
    let last = clients.last().expect("clients");
    assert_eq!(last.online_ids(), ids[..149].to_vec());
    // Suspend one user in each batch: both are closed, the others stay.
    ctx.db
        .execp("UPDATE {p}user SET suspended = 1 WHERE id IN (1010, 1120)")
        .await;
    for idx in [9usize, 119] {
        let (code, reason) = clients[idx].expect_close().await;
        assert_eq!(code, 4003, "user {}: {reason}", ids[idx]);
    }
    let mut probe = clients.pop().expect("last client");
    probe
        .send(serde_json::json!({"type": "ping", "n": 1}))
        .await;
    assert_eq!(probe.expect("pong").await["n"], 1);
    let viewer = ctx.client(ALICE).await;
    let online = viewer.online_ids();
    assert_eq!(
        online.iter().filter(|id| **id > 1000).count(),
        148,
        "{online:?}"
    );
    assert!(!online.contains(&1010) && !online.contains(&1120));
    drop(clients);
    probe.close().await;
    viewer.close().await;
    ctx.finish().await;
}
db_test!(presence_and_revalidation_past_one_batch);

async fn a_page_navigation_never_shows_the_user_offline(backend: Backend) {
    let ctx = Ctx::start_with(backend, |c| c.presence.offline_grace_secs = 2).await;
    let mut bob = ctx.client(BOB).await;
    let alice = ctx.client(ALICE).await;
    let p = bob.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(ALICE), Some("online"))
    );
    // Ten page navigations: each closes Alice's socket and opens the next one at once.
    let mut tab = alice;
    for _ in 0..10 {
        tab.close().await;
        tab = ctx.client(ALICE).await;
        assert!(tab.online_ids().contains(&BOB), "{}", tab.welcome);
    }
    // Bob saw neither an offline nor a second online, and still lists her (a new tab of his too).
    bob.expect_none("presence", Duration::from_millis(2500))
        .await;
    let bob2 = ctx.client(BOB).await;
    assert!(bob2.online_ids().contains(&ALICE), "{}", bob2.welcome);
    // She really leaves: offline once, after the grace period, not before.
    tab.close().await;
    let left = std::time::Instant::now();
    let p = bob.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(ALICE), Some("offline"))
    );
    assert!(
        left.elapsed() >= Duration::from_millis(1900),
        "after {:?}",
        left.elapsed()
    );
    bob.expect_none("presence", QUIET).await;
    // Back later: online again.
    let again = ctx.client(ALICE).await;
    let p = bob.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(ALICE), Some("online"))
    );
    for c in [bob, bob2, again] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(a_page_navigation_never_shows_the_user_offline);

/// The next `presence` frame about `user`, whatever came before it; asserts its status.
async fn presence_about(c: &mut Client, user: i64, status: &str) -> serde_json::Value {
    loop {
        let p = c.expect("presence").await;
        if p["user"]["id"] == user {
            assert_eq!(p["status"], status, "{p}");
            return p;
        }
    }
}

async fn activity(c: &mut Client, state: &str) {
    c.send(serde_json::json!({"type": "activity", "state": state}))
        .await;
}

/// Away (PROTOCOL §5.2): away only when every socket is idle or hidden, online again as soon as one
/// is active; welcome says so; a socket may start hidden; a second active socket keeps the user online.
async fn away_when_every_socket_is_idle_or_hidden(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut bob = ctx.client(BOB).await;
    let mut tab1 = ctx.client(ALICE).await;
    presence_about(&mut bob, ALICE, "online").await;
    let mut tab2 = ctx.client(ALICE).await;
    // One tab idle, the other active: still online, nothing said.
    activity(&mut tab1, "idle").await;
    bob.expect_none("presence", QUIET).await;
    // Both idle or hidden: away, once.
    activity(&mut tab2, "hidden").await;
    presence_about(&mut bob, ALICE, "away").await;
    bob.expect_none("presence", QUIET).await;
    let carol = ctx.client(CAROL).await;
    let listed: Vec<_> = carol.welcome["online"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["id"] == ALICE)
        .map(|p| p["status"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(listed, vec!["away"], "{}", carol.welcome);
    // Input in one tab: online again.
    activity(&mut tab1, "active").await;
    presence_about(&mut bob, ALICE, "online").await;
    // The active tab goes: the one left is hidden, so away.
    tab1.close().await;
    presence_about(&mut bob, ALICE, "away").await;
    // A new socket that starts hidden changes nothing; one that starts active brings her online.
    let mut tab3 = Client::connect(&ctx.ws_url()).await;
    tab3.send(
        serde_json::json!({"type": "hello", "v": 1, "token": token(ALICE), "state": "hidden"}),
    )
    .await;
    tab3.expect("welcome").await;
    bob.expect_none("presence", QUIET).await;
    let tab4 = ctx.client(ALICE).await;
    presence_about(&mut bob, ALICE, "online").await;
    // Activity is not a heartbeat: past 10 in 10 s the socket is told to slow down.
    for _ in 0..10 {
        activity(&mut tab2, "hidden").await;
    }
    activity(&mut tab2, "active").await;
    let e = tab2.expect_error("rate_limited").await;
    assert_eq!(e["ref"], "activity", "{e}");
    // Everyone gone: offline.
    for c in [tab2, tab3, tab4] {
        c.close().await;
    }
    presence_about(&mut bob, ALICE, "offline").await;
    bob.close().await;
    carol.close().await;
    ctx.finish().await;
}
db_test!(away_when_every_socket_is_idle_or_hidden);

/// One person found by a `people` search.
async fn found(c: &mut Client, query: &str, user: i64) -> serde_json::Value {
    c.send(serde_json::json!({"type": "people", "query": query}))
        .await;
    let r = c.expect("people").await;
    r["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["id"] == user)
        .cloned()
        .unwrap_or_else(|| panic!("{user} not found by {query:?}: {r}"))
}

/// Last seen (PROTOCOL §5.2): from Moodle's `lastaccess` for someone the daemon never saw, from the
/// daemon's own record once their last socket left; none when Moodle never saw them either.
async fn last_seen_from_lastaccess_then_from_the_daemon(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let before = now() - 3600;
    ctx.db
        .execp(&format!(
            "UPDATE {{p}}user SET lastaccess = {before} WHERE id = {BOB}"
        ))
        .await;
    ctx.db
        .execp(&format!(
            "UPDATE {{p}}user SET lastaccess = 0 WHERE id = {CAROL}"
        ))
        .await;
    let mut alice = ctx.client(ALICE).await;
    let bob = found(&mut alice, "Bruno", BOB).await;
    assert_eq!(
        (
            bob["status"].as_str(),
            bob["online"].as_bool(),
            bob["last_seen"].as_i64()
        ),
        (Some("offline"), Some(false), Some(before)),
        "{bob}"
    );
    let carol = found(&mut alice, "Carla", CAROL).await;
    assert_eq!(carol["status"], "offline", "{carol}");
    assert!(carol.get("last_seen").is_none(), "never seen: {carol}");
    // A window onto Bob: the next welcome says when he was last seen.
    alice
        .send(serde_json::json!({"type": "window", "with": BOB, "state": "open"}))
        .await;
    alice.expect("window").await;
    let again = ctx.client(ALICE).await;
    let w = again.welcome["windows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|w| w["with"]["id"] == BOB)
        .cloned()
        .unwrap_or_else(|| panic!("no window onto Bob: {}", again.welcome));
    assert_eq!(
        (w["status"].as_str(), w["last_seen"].as_i64()),
        (Some("offline"), Some(before)),
        "{w}"
    );
    // Bob comes and goes: online or away entries carry no last_seen; the offline one says now.
    let start = now();
    let b = ctx.client(BOB).await;
    presence_about(&mut alice, BOB, "online").await;
    let online = found(&mut alice, "Bruno", BOB).await;
    assert_eq!(online["status"], "online", "{online}");
    assert!(online.get("last_seen").is_none(), "{online}");
    b.close().await;
    let p = presence_about(&mut alice, BOB, "offline").await;
    let seen = p["last_seen"].as_i64().unwrap_or(0);
    assert!(seen >= start, "{p}");
    let later = found(&mut alice, "Bruno", BOB).await;
    assert_eq!(later["last_seen"].as_i64(), Some(seen), "{later}");
    alice.close().await;
    again.close().await;
    ctx.finish().await;
}
db_test!(last_seen_from_lastaccess_then_from_the_daemon);

/// A site that hides `lastaccess` (`hiddenuserfields`) shows nobody's last seen, from Moodle or the
/// daemon, except to a viewer with `moodle/user:viewhiddendetails` (`caps.viewhidden`).
async fn hidden_lastaccess_is_not_leaked(backend: Backend) {
    let db = TestDb::standard(backend).await;
    db.execp(
        "INSERT INTO {p}config (name, value) VALUES ('hiddenuserfields', 'description,lastaccess,lastip')",
    )
    .await;
    let ctx = Ctx::start_on(db, |_| {}).await;
    let mut alice = ctx.client(ALICE).await;
    let mut viewer_claims = claims(TEACHER);
    viewer_claims["caps"]["viewhidden"] = serde_json::json!(true);
    let mut teacher = ctx
        .client_with_token(&sign(&viewer_claims, SECRET), None)
        .await;
    let bob = found(&mut alice, "Bruno", BOB).await;
    assert_eq!(bob["status"], "offline", "{bob}");
    assert!(bob.get("last_seen").is_none(), "hidden: {bob}");
    let seen = found(&mut teacher, "Bruno", BOB).await;
    assert!(seen["last_seen"].as_i64().is_some(), "{seen}");
    alice
        .send(serde_json::json!({"type": "window", "with": BOB, "state": "open"}))
        .await;
    alice.expect("window").await;
    let again = ctx.client(ALICE).await;
    assert!(
        !again.welcome.to_string().contains("last_seen"),
        "{}",
        again.welcome
    );
    // The daemon's own record is hidden the same way.
    let b = ctx.client(BOB).await;
    presence_about(&mut alice, BOB, "online").await;
    b.close().await;
    let p = presence_about(&mut alice, BOB, "offline").await;
    assert!(p.get("last_seen").is_none(), "hidden: {p}");
    presence_about(&mut teacher, BOB, "online").await;
    let p = presence_about(&mut teacher, BOB, "offline").await;
    assert!(p["last_seen"].as_i64().is_some(), "{p}");
    let bob = found(&mut alice, "Bruno", BOB).await;
    assert!(bob.get("last_seen").is_none(), "hidden: {bob}");
    for c in [alice, teacher, again] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(hidden_lastaccess_is_not_leaked);

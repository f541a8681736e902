//! The `people` search and the roster (PROTOCOL §4–§5): only people the searcher may message under
//! Moodle's rules come back — never a stranger, someone who blocked the searcher, someone who accepts
//! contacts only, or an inactive account — by name words, with the rate limit; the roster lists the
//! viewer's courses (never a hidden one or an inactive enrolment) and, per course, the people the
//! viewer may message, teachers first with Moodle's role names, online before offline, paged;
//! against real MariaDB and PostgreSQL.

mod common;

use common::users::*;
use common::*;
use serde_json::{json, Value};

async fn search(c: &mut Client, query: &str) -> Value {
    c.send(json!({"type": "people", "query": query})).await;
    c.expect_any(&["people", "error"]).await
}

fn ids(v: &Value) -> Vec<i64> {
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_i64())
        .collect()
}

async fn search_finds_only_people_one_may_message(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let _bob_online = ctx.client(BOB).await;
    let mut alice = ctx.client(ALICE).await;

    // A course-mate, by first name, by last name, by both, in any case; online marked.
    for q in ["Bruno", "barros", "bru bar", "BRUNO   Barros"] {
        let r = search(&mut alice, q).await;
        assert_eq!(r["type"], "people", "{r}");
        assert_eq!(ids(&r), [BOB], "{q}: {r}");
        assert_eq!(r["items"][0]["fullname"], "Bruno Barros");
        assert_eq!(r["items"][0]["online"], true);
    }
    assert_eq!(search(&mut alice, "  Carla ").await["query"], "Carla");
    // Sorted by last name: Barros, Costa, Lima, Silva among Alice's course-mates holding an "a".
    let r = search(&mut alice, "ar").await;
    let found = ids(&r);
    assert!(found.contains(&BOB) && found.contains(&CAROL), "{r}");
    // Not Alice herself, nor anyone she may not message: Dave shares no course, Kate accepts
    // contacts only, Samuel is suspended, Diana deleted, Uma unconfirmed, Nolan cannot log in.
    for (why, q) in [
        ("herself", "Almeida"),
        ("no shared course", "Davi"),
        ("contacts only", "Klein"),
        ("suspended", "Souza"),
        ("deleted", "Duarte"),
        ("unconfirmed", "Unger"),
        ("nologin", "Nunes"),
    ] {
        let r = search(&mut alice, q).await;
        assert_eq!(r["type"], "people", "{why}: {r}");
        assert_eq!(ids(&r), Vec::<i64>::new(), "{why}: {r}");
    }
    // The same name is found by someone allowed: Bob is Kate's contact; Carol has blocked Bob.
    let mut bob = ctx.client(BOB).await;
    assert_eq!(ids(&search(&mut bob, "Klein").await), [KATE]);
    assert_eq!(ids(&search(&mut bob, "Costa").await), Vec::<i64>::new());
    // LIKE's wildcards are plain characters.
    assert_eq!(ids(&search(&mut alice, "%%").await), Vec::<i64>::new());
    assert_eq!(ids(&search(&mut alice, "__").await), Vec::<i64>::new());
    // Too short is a bad frame.
    let r = search(&mut alice, " a ").await;
    assert_eq!(
        (r["type"].as_str(), r["code"].as_str()),
        (Some("error"), Some("bad_frame")),
        "{r}"
    );
    bob.close().await;
    alice.close().await;
    ctx.finish().await;
}
db_test!(search_finds_only_people_one_may_message);

async fn searches_are_rate_limited(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut answers = Vec::new();
    for i in 0..22 {
        answers.push(search(&mut alice, &format!("Bruno{i}")).await);
    }
    let limited: Vec<&Value> = answers.iter().filter(|a| a["type"] == "error").collect();
    assert_eq!(limited.len(), 2, "{answers:?}");
    assert!(limited
        .iter()
        .all(|e| e["code"] == "rate_limited" && e["ref"] == "people"));
    alice.close().await;
    ctx.finish().await;
}
db_test!(searches_are_rate_limited);

async fn members_page(c: &mut Client, course: i64, offset: u32, limit: u32) -> Value {
    c.send(json!({"type": "course_members", "course": course, "offset": offset, "limit": limit}))
        .await;
    c.expect_any(&["course_members", "error"]).await
}

async fn roster_lists_courses_and_only_messageable_course_mates(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    // Algebra renames the teacher role (role_names), as a course may.
    ctx.db
        .execp(&format!(
            "INSERT INTO {{p}}role_names (roleid, contextid, name) VALUES (3, {}, 'Professora')",
            10 + courses::ALGEBRA
        ))
        .await;
    let _bob_online = ctx.client(BOB).await;
    let mut alice = ctx.client(ALICE).await;

    // Alice's courses: Algebra only (Hidden is hidden; she is not in Biology).
    alice.send(json!({"type": "roster"})).await;
    let r = alice.expect("roster").await;
    let courses: Vec<i64> = r["courses"]
        .as_array()
        .expect("courses")
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .collect();
    assert_eq!(courses, [courses::ALGEBRA], "{r}");
    assert_eq!(r["courses"][0]["name"], "Algebra I");
    assert_eq!(r["courses"][0]["groups"], json!([]));

    // The teacher first (offline), then Bob (online), then the offline by last name. Never Alice
    // herself, Kate (contacts only), inactive accounts (Samuel, Diana, Uma, Nolan) or inactive
    // enrolments (Frank suspended, Graça ended, Judite not started, Erin's method disabled).
    let page = members_page(&mut alice, courses::ALGEBRA, 0, 50).await;
    assert_eq!(page["type"], "course_members", "{page}");
    assert_eq!(ids(&page), [TEACHER, BOB, CAROL, IVAN, LEO], "{page}");
    assert_eq!(
        (page["total"].as_i64(), page["more"].as_bool()),
        (Some(5), Some(false))
    );
    let items = page["items"].as_array().expect("items");
    assert_eq!(
        items[0]["role"],
        json!({"name": "Professora", "shortname": "editingteacher"})
    );
    assert_eq!(items[0]["fullname"], "Tereza Silva");
    assert_eq!(items[0]["online"], false);
    assert_eq!(
        (items[1]["online"].as_bool(), items[1]["role"].is_null()),
        (Some(true), true)
    );
    assert!(
        items[2..]
            .iter()
            .all(|p| p["online"] == false && p["role"].is_null()),
        "{page}"
    );

    // Paged: the same order, `more` while items are left.
    let p1 = members_page(&mut alice, courses::ALGEBRA, 0, 2).await;
    assert_eq!(
        (ids(&p1), p1["more"].as_bool()),
        (vec![TEACHER, BOB], Some(true))
    );
    let p3 = members_page(&mut alice, courses::ALGEBRA, 4, 2).await;
    assert_eq!(
        (ids(&p3), p3["more"].as_bool(), p3["offset"].as_i64()),
        (vec![LEO], Some(false), Some(4))
    );

    // A course that is not hers, hidden, or does not exist: one answer, nobody named.
    for course in [courses::BIOLOGY, courses::HIDDEN, 9999] {
        let e = members_page(&mut alice, course, 0, 10).await;
        assert_eq!(
            (e["type"].as_str(), e["code"].as_str(), e["ref"].as_str()),
            (
                Some("error"),
                Some("unknown_course"),
                Some("course_members")
            ),
            "{course}: {e}"
        );
    }
    // Out of range is a bad frame.
    let e = members_page(&mut alice, courses::ALGEBRA, 0, 101).await;
    assert_eq!(e["code"], "bad_frame", "{e}");

    // Bob's view of the same course: Carol blocked him; Kate accepts contacts only and he is hers.
    let mut bob = ctx.client(BOB).await;
    let page = members_page(&mut bob, courses::ALGEBRA, 0, 50).await;
    assert_eq!(ids(&page), [TEACHER, ALICE, IVAN, KATE, LEO], "{page}");

    // The teacher's roster of Biology: Dave; in Algebra she is the one not listed.
    let mut teacher = ctx.client(TEACHER).await;
    let page = members_page(&mut teacher, courses::BIOLOGY, 0, 50).await;
    assert_eq!(ids(&page), [DAVE], "{page}");
    teacher.close().await;
    bob.close().await;
    alice.close().await;
    ctx.finish().await;
}
db_test!(roster_lists_courses_and_only_messageable_course_mates);

async fn roster_follows_the_course_contact_setting(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    // $CFG->coursecontact lists the student role (5): every student is a course contact then, with
    // the role's own name when set.
    ctx.db
        .execp("INSERT INTO {p}config (name, value) VALUES ('coursecontact', '5')")
        .await;
    ctx.db
        .execp("UPDATE {p}role SET name = 'Aluno' WHERE id = 5")
        .await;
    let mut bob = ctx.client(BOB).await;
    let page = members_page(&mut bob, courses::ALGEBRA, 0, 50).await;
    let items = page["items"].as_array().expect("items");
    // The teacher is no course contact now: listed last, without a role.
    assert_eq!(ids(&page), [ALICE, IVAN, KATE, LEO, TEACHER], "{page}");
    assert!(
        items[..4]
            .iter()
            .all(|p| p["role"] == json!({"name": "Aluno", "shortname": "student"})),
        "{page}"
    );
    assert!(items[4]["role"].is_null());
    bob.close().await;
    ctx.finish().await;
}
db_test!(roster_follows_the_course_contact_setting);

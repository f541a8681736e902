//! The `people` search (PROTOCOL §4–§5): only people the searcher may message under Moodle's rules
//! come back — never a stranger, someone who blocked the searcher, someone who accepts contacts only,
//! or an inactive account — by name words, with the rate limit; against real MariaDB and PostgreSQL.

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

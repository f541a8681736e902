//! Delivery under database faults (issue 11, items 1, 2 and 6), on MariaDB and PostgreSQL: every
//! acknowledged message reaches every socket of both users exactly once, whatever the database's
//! collation does to cids, whether a COMMIT's answer is lost, or the database stops answering.
//! Faults come from a TCP proxy between the daemon and its database ([`common::proxy`]).

mod common;

use common::proxy::{Fault, Proxy};
use common::users::*;
use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// Starts the daemon on the standard fixture with its database behind a proxy.
async fn start_behind_proxy(backend: Backend) -> (Ctx, Proxy) {
    if let Ok(filter) = std::env::var("DOCKCHAT_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
    let db = TestDb::standard(backend).await;
    let (proxy, url) = Proxy::in_front_of(&db.url).await;
    let ctx = Ctx::start_on(db, |cfg| cfg.database_url = url).await;
    (ctx, proxy)
}

/// Reads `message` frames until `want` distinct ids arrived (bounded), failing on a repeat.
async fn collect_messages(c: &mut Client, want: usize) -> HashMap<i64, Value> {
    let mut got: HashMap<i64, Value> = HashMap::new();
    while got.len() < want {
        let m = c.expect("message").await;
        let id = m["message"]["id"].as_i64().expect("message id");
        assert!(
            got.insert(id, m.clone()).is_none(),
            "message {id} delivered twice"
        );
    }
    got
}

/// A cid that differs from an earlier one only in letter case is refused as `bad_cid` on every
/// database, and nothing is lost around it. On MariaDB (case-insensitive collation) such a pair
/// used to make the group commit's read-back fail: innocent senders of the same batch were acked
/// `dup` with no `message` to anyone.
async fn case_variants_of_a_cid_are_refused_and_lose_nothing(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let mut carol = ctx.client(CAROL).await;
    let mut leo = ctx.client(LEO).await;
    // Pipelined, so that the variants share group commits with the innocent sends.
    const N: usize = 30;
    for i in 0..N {
        let variant = if i % 2 == 0 { "dup-x" } else { "DUP-X" };
        alice
            .send(json!({"type": "send", "to": BOB, "cid": format!("{variant}{}", i / 2), "text": "variant"}))
            .await;
        carol
            .send(json!({"type": "send", "to": LEO, "cid": format!("c-{i}"), "text": format!("innocent {i}")}))
            .await;
    }
    let mut acked = 0;
    let mut refused = 0;
    while acked + refused < N {
        let f = alice.expect_any(&["ack", "error"]).await;
        if f["type"] == "ack" {
            assert!(
                f["cid"].as_str().is_some_and(|c| c.starts_with("dup-x")),
                "{f}"
            );
            assert_eq!(f["dup"], false, "{f}");
            acked += 1;
        } else {
            assert_eq!(f["code"], "bad_cid", "{f}");
            refused += 1;
        }
    }
    assert_eq!((acked, refused), (N / 2, N / 2));
    let mut carol_acks = 0;
    while carol_acks < N {
        let f = carol.expect_any(&["ack", "error"]).await;
        assert_eq!(f["type"], "ack", "innocent send refused: {f}");
        assert_eq!(f["dup"], false, "innocent send acked as a duplicate: {f}");
        carol_acks += 1;
    }
    let to_leo = collect_messages(&mut leo, N).await;
    assert_eq!(to_leo.len(), N);
    let to_bob = collect_messages(&mut bob, N / 2).await;
    assert!(to_bob.values().all(|m| m["message"]["text"] == "variant"));
    assert_eq!(ctx.db.count("messages").await, (N + N / 2) as i64);
    for c in [alice, bob, carol, leo] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(case_variants_of_a_cid_are_refused_and_lose_nothing);

/// The database commits, then the connection drops before its answer reaches the daemon. The
/// daemon finds out that the batch was stored and delivers it: one ack (not `dup`), one `message`
/// to every socket of both users; the retry is a `dup`, and resume replays it once.
async fn a_commit_whose_answer_is_lost_is_delivered_once(backend: Backend) {
    let (ctx, proxy) = start_behind_proxy(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let cursor = bob.welcome["cursor"].as_i64().unwrap_or(0);
    proxy.set(Fault::LoseCommitAnswer);
    alice
        .send(json!({"type": "send", "to": BOB, "cid": "lost-answer", "text": "stored after all"}))
        .await;
    proxy.wait_struck(WAIT).await;
    let ack = alice.expect_any(&["ack", "error"]).await;
    assert_eq!(
        ack["type"], "ack",
        "a stored message was reported as not stored: {ack}"
    );
    assert_eq!(ack["dup"], false, "{ack}");
    let id = ack["id"].as_i64().expect("id");
    let m = bob.expect("message").await;
    assert_eq!(m["message"]["id"], id);
    let own = alice.expect("message").await;
    assert_eq!(own["message"]["id"], id);
    assert_eq!(proxy.commits_lost(), 1);
    // The retry after a lost ack is answered from the store, and delivered no second time.
    let again = alice
        .send_message(BOB, "lost-answer", "stored after all")
        .await;
    assert_eq!(again["dup"], true);
    assert_eq!(again["id"], id);
    bob.expect_none("message", Duration::from_millis(500)).await;
    // Resume from before it replays it exactly once.
    let mut late = ctx.client_with_token(&token(BOB), Some(cursor)).await;
    let missed = late.expect("missed").await;
    let ids: Vec<i64> = missed["messages"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![id]);
    assert_eq!(ctx.db.count("messages").await, 1);
    // Writing goes on as before.
    let next = alice.send_message(BOB, "after", "next one").await;
    assert_eq!(next["dup"], false);
    assert!(next["id"].as_i64() > Some(id));
    for c in [alice, bob, late] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(a_commit_whose_answer_is_lost_is_delivered_once);

/// The COMMIT never reaches the database: the transaction is rolled back, the sender hears
/// `internal` (only once the daemon knows), and the retry is stored and delivered once.
async fn a_commit_that_never_arrives_is_refused_and_the_retry_delivered(backend: Backend) {
    let (ctx, proxy) = start_behind_proxy(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    proxy.set(Fault::LoseCommit);
    alice
        .send(json!({"type": "send", "to": BOB, "cid": "lost-commit", "text": "rolled back"}))
        .await;
    proxy.wait_struck(WAIT).await;
    let e = alice.expect_any(&["ack", "error"]).await;
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["code"], "internal");
    assert_eq!(e["ref"], "lost-commit");
    bob.expect_none("message", Duration::from_millis(300)).await;
    assert_eq!(ctx.db.count("messages").await, 0);
    let retry = alice.send_message(BOB, "lost-commit", "rolled back").await;
    assert_eq!(retry["dup"], false);
    let m = bob.expect("message").await;
    assert_eq!(m["message"]["id"], retry["id"]);
    bob.expect_none("message", Duration::from_millis(300)).await;
    for c in [alice, bob] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(a_commit_that_never_arrives_is_refused_and_the_retry_delivered);
/// The COMMIT reaches the database late, after the daemon stopped waiting for its answer. Looking
/// for the rows on another connection proves nothing while the first session may still commit, so
/// the daemon ends that session first: whatever the first answer, it is the truth — `internal` and
/// nothing stored (then the retry is stored and delivered once), or an ack delivered once.
async fn a_late_commit_is_settled_before_it_is_answered(backend: Backend) {
    let (ctx, proxy) = start_behind_proxy(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    proxy.set(Fault::DelayCommit);
    alice
        .send(json!({"type": "send", "to": BOB, "cid": "late-commit", "text": "late"}))
        .await;
    proxy.wait_struck(WAIT).await;
    let first = alice.expect_any(&["ack", "error"]).await;
    // Past the moment the held COMMIT is let through.
    tokio::time::sleep(common::proxy::COMMIT_DELAY).await;
    let stored = ctx.db.count("messages").await;
    if first["type"] == "error" {
        assert_eq!(first["code"], "internal", "{first}");
        assert_eq!(stored, 0, "answered internal, then stored: {first}");
        bob.expect_none("message", Duration::from_millis(300)).await;
        let retry = alice.send_message(BOB, "late-commit", "late").await;
        assert_eq!(retry["dup"], false, "{retry}");
        let m = bob.expect("message").await;
        assert_eq!(m["message"]["id"], retry["id"]);
    } else {
        assert_eq!(first["dup"], false, "{first}");
        assert_eq!(stored, 1);
        let m = bob.expect("message").await;
        assert_eq!(m["message"]["id"], first["id"]);
    }
    bob.expect_none("message", Duration::from_millis(300)).await;
    assert_eq!(ctx.db.count("messages").await, 1);
    for c in [alice, bob] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(a_late_commit_is_settled_before_it_is_answered);

/// Sends `n` messages at `per_sec` (well under the rate limit) and returns each answer's code
/// (`"ack"` or the error code), checking meanwhile that pings are answered.
async fn send_steadily(c: &mut Client, prefix: &str, n: usize, per_sec: u64) -> Vec<String> {
    let mut codes = Vec::new();
    for i in 0..n {
        c.send(
            json!({"type": "send", "to": BOB, "cid": format!("{prefix}-{i}"), "text": "steady"}),
        )
        .await;
        c.send(json!({"type": "ping", "n": i})).await;
        tokio::time::sleep(Duration::from_millis(1000 / per_sec)).await;
    }
    let mut pongs = 0;
    while codes.len() < n || pongs < n {
        let f = c.expect_any(&["ack", "error", "pong"]).await;
        match f["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("ack") => codes.push("ack".to_string()),
            _ => codes.push(f["code"].as_str().unwrap_or("?").to_string()),
        }
    }
    codes
}

/// A database that stops answering (frozen, then cut): sends are answered `internal` within the
/// writer's deadline instead of hanging, the socket keeps reading (pings answered), nobody is
/// rate-limited for sending at a legal pace, and once the database is back sends are stored again.
async fn a_database_outage_answers_sends_and_keeps_reading(backend: Backend) {
    let (ctx, proxy) = start_behind_proxy(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    // Before the outage: the pair's permission facts are cached, as in any ongoing conversation.
    alice.send_message(BOB, "warm-up", "hello").await;
    for fault in [Fault::Freeze, Fault::Cut] {
        proxy.set(fault);
        // The first send waits for the writer's deadline (5 s); the bound here is the harness's.
        alice
            .send(json!({"type": "send", "to": BOB, "cid": format!("first-{fault:?}").to_lowercase(), "text": "x"}))
            .await;
        let e = alice.expect_any(&["ack", "error"]).await;
        assert_eq!(e["code"], "internal", "{fault:?}: {e}");
        // Then, while the database is still away, steady sends are refused at once, not queued.
        let codes = send_steadily(&mut alice, &format!("{fault:?}").to_lowercase(), 20, 10).await;
        assert!(
            codes.iter().all(|c| c == "internal"),
            "{fault:?}: answers during the outage: {codes:?}"
        );
        proxy.set(Fault::None);
        // Back: a send goes through once the writer has seen the database again.
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut n = 0;
        loop {
            n += 1;
            let cid = format!("back-{fault:?}-{n}").to_lowercase();
            alice
                .send(json!({"type": "send", "to": BOB, "cid": cid, "text": "back"}))
                .await;
            let f = alice.expect_any(&["ack", "error"]).await;
            if f["type"] == "ack" {
                break;
            }
            assert_eq!(f["code"], "internal", "{f}");
            assert!(
                tokio::time::Instant::now() < deadline,
                "the writer never came back"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let codes = send_steadily(
            &mut alice,
            &format!("after-{fault:?}").to_lowercase(),
            20,
            10,
        )
        .await;
        assert!(
            codes.iter().all(|c| c == "ack"),
            "{fault:?}: answers after the outage: {codes:?}"
        );
    }
    // Bob got every acked message, once each, and nothing else.
    let stored = ctx.db.count("messages").await as usize;
    let got = collect_messages(&mut bob, stored).await;
    assert_eq!(got.len(), stored);
    bob.expect_none("message", Duration::from_millis(300)).await;
    for c in [alice, bob] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(a_database_outage_answers_sends_and_keeps_reading);

/// A request that waits for a database that froze keeps its socket unread for up to the request
/// deadline (5 s); the pings a client sends meanwhile at the full legal rate (20/s) are read
/// together afterwards and must all be answered: the server's backlog is not the client's abuse.
async fn a_stalled_request_does_not_charge_the_backlog_as_abuse(backend: Backend) {
    let (ctx, proxy) = start_behind_proxy(backend).await;
    let mut alice = ctx.client(ALICE).await;
    proxy.set(Fault::Freeze);
    alice.send(json!({"type": "history", "with": BOB})).await;
    const PINGS: i64 = 120;
    for n in 0..PINGS {
        alice.send(json!({"type": "ping", "n": n})).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut pongs = 0;
    let mut history_answered = false;
    while pongs < PINGS || !history_answered {
        let f = alice.expect_any(&["pong", "error", "history"]).await;
        match f["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") if f["ref"] == "history" => {
                assert_eq!(f["code"], "internal", "{f}");
                history_answered = true;
            }
            _ => panic!("unexpected answer while the database was frozen: {f}"),
        }
    }
    proxy.set(Fault::None);
    alice.close().await;
    ctx.finish().await;
}
db_test!(a_stalled_request_does_not_charge_the_backlog_as_abuse);

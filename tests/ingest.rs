//! Messages and reads that Moodle itself writes into its messaging tables (the drawer, the Moodle
//! app, web services) reach the dock live, exactly once, also when Moodle's insert commits after a
//! later id of the daemon's; resume stays exact over both sources — against real MariaDB and
//! PostgreSQL.

mod common;

use common::users::*;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Within this a message Moodle stored must be on the dock (issue 10: within 1 s).
const LIVE: Duration = Duration::from_secs(1);
const QUIET: Duration = Duration::from_millis(1200);

/// The ids of every `message` frame (and `missed` message) `c` gets within `wait`, with how often.
async fn message_ids(c: &mut Client, wait: Duration) -> BTreeMap<i64, usize> {
    let mut seen = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(frame) = c.next_within(left).await else {
            return seen;
        };
        let Frame::Json(v) = frame else {
            return seen;
        };
        let ids: Vec<i64> = match v["type"].as_str() {
            Some("message") => v["message"]["id"].as_i64().into_iter().collect(),
            Some("missed") => v["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["id"].as_i64())
                .collect(),
            _ => Vec::new(),
        };
        for id in ids {
            *seen.entry(id).or_default() += 1;
        }
    }
}

async fn a_drawer_message_reaches_every_open_dock_live(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob1 = ctx.client(BOB).await;
    let mut bob2 = ctx.client(BOB).await;
    let mut carol = ctx.client(CAROL).await;
    // Bob writes to Alice from Moodle's message drawer: Moodle's own send path stores it.
    let sent = Instant::now();
    let id = ctx
        .db
        .moodle_message(BOB, ALICE, "sent from the drawer <b>bold</b>", now())
        .await;
    for (who, c) in [
        ("alice", &mut alice),
        ("bob1", &mut bob1),
        ("bob2", &mut bob2),
    ] {
        let m = c.expect("message").await;
        assert!(
            sent.elapsed() < LIVE + Duration::from_millis(500),
            "{who}: {:?}",
            sent.elapsed()
        );
        let msg = &m["message"];
        assert_eq!(msg["id"], id, "{who}");
        assert_eq!(
            (msg["from"].as_i64(), msg["to"].as_i64()),
            (Some(BOB), Some(ALICE)),
            "{who}"
        );
        assert_eq!(msg["cid"], "", "{who}: no dockchat cid");
        assert_eq!(
            msg["text"], "sent from the drawer <b>bold</b>",
            "{who}: as text, never markup"
        );
        assert_eq!(m["sender"]["id"], BOB);
        assert!(m["sender"]["fullname"]
            .as_str()
            .is_some_and(|n| !n.is_empty()));
    }
    carol.expect_none("message", QUIET).await;
    // Exactly once: no second frame of it.
    let again = message_ids(&mut alice, QUIET).await;
    assert!(again.is_empty(), "delivered again: {again:?}");
    // The dock's own messages are not announced a second time by the poll.
    let ack = alice.send_message(BOB, "dock-1", "from the dock").await;
    let got = message_ids(&mut bob1, QUIET + QUIET).await;
    assert_eq!(got, BTreeMap::from([(ack["id"].as_i64().expect("id"), 1)]));
    // History has both, in order, the drawer's without cid.
    alice.send(json!({"type": "history", "with": BOB})).await;
    let h = alice.expect("history").await;
    let ms = h["messages"].as_array().expect("messages");
    assert_eq!(ms.len(), 2);
    assert_eq!(
        (ms[0]["id"].as_i64(), ms[0]["cid"].as_str()),
        (Some(id), Some(""))
    );
    assert_eq!(ms[1]["cid"], "dock-1");
    for c in [alice, bob1, bob2, carol] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(a_drawer_message_reaches_every_open_dock_live);

async fn an_insert_committing_after_a_later_id_is_delivered_and_resumed(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    ctx.db.moodle_conversation(BOB, ALICE).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    // A PHP request has allocated id N and not committed yet ...
    let open = ctx
        .db
        .open_moodle_insert(BOB, ALICE, "late from the app")
        .await;
    let n = open.id();
    // ... while the dock stores N+1 and delivers it.
    let ack = bob.send_message(ALICE, "after", "from the dock").await;
    let next = ack["id"].as_i64().expect("id");
    assert!(next > n, "{next} > {n}");
    assert_eq!(alice.expect("message").await["message"]["id"], next);
    assert_eq!(
        bob.expect("message").await["message"]["id"],
        next,
        "the sender's own tabs"
    );
    // Let the poll pass N+1 (N is now a skipped id it keeps looking for).
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Alice's laptop sleeps: she reconnects later with the highest id she has, N+1.
    alice.close().await;
    // N commits while she is away; Bob's open dock gets it live.
    open.commit().await;
    let m = bob.expect("message").await;
    assert_eq!(m["message"]["id"], n);
    assert_eq!(m["message"]["text"], "late from the app");
    // Her resume from N+1 still brings N, once; N+1 she may be sent again and drops by id.
    let mut back = ctx.client_with_token(&token(ALICE), Some(next)).await;
    let got = message_ids(&mut back, QUIET + QUIET).await;
    assert_eq!(got.get(&n), Some(&1), "{got:?}");
    assert!(got.get(&next).copied().unwrap_or(0) <= 1, "{got:?}");
    assert!(got.keys().all(|id| *id == n || *id == next), "{got:?}");
    bob.close().await;
    back.close().await;
    ctx.finish().await;
}
db_test!(an_insert_committing_after_a_later_id_is_delivered_and_resumed);

async fn a_rolled_back_insert_delays_nothing(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    ctx.db.moodle_conversation(BOB, ALICE).await;
    let mut alice = ctx.client(ALICE).await;
    let open = ctx.db.open_moodle_insert(BOB, ALICE, "never").await;
    let gone = open.id();
    // A later drawer message arrives live although the id below it never commits.
    let id = ctx
        .db
        .moodle_message(BOB, ALICE, "after the rollback", now())
        .await;
    assert_eq!(alice.expect("message").await["message"]["id"], id);
    open.rollback().await;
    let got = message_ids(&mut alice, QUIET).await;
    assert!(!got.contains_key(&gone), "{got:?}");
    alice.close().await;
    ctx.finish().await;
}
db_test!(a_rolled_back_insert_delays_nothing);

async fn reading_in_the_drawer_clears_the_dock_live(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let a1 = alice.send_message(BOB, "r1", "one").await["id"]
        .as_i64()
        .expect("id");
    let a2 = alice.send_message(BOB, "r2", "two").await["id"]
        .as_i64()
        .expect("id");
    // Bob opens the conversation in Moodle's drawer: api::mark_all_messages_as_read writes one
    // read row per message.
    let t = now();
    ctx.db
        .execp(&format!(
            "INSERT INTO {{p}}message_user_actions (userid, messageid, action, timecreated) \
             VALUES ({BOB}, {a1}, 1, {t}), ({BOB}, {a2}, 1, {t})"
        ))
        .await;
    for (who, c) in [("alice", &mut alice), ("bob", &mut bob)] {
        let r: Value = c.expect("read").await;
        assert_eq!(
            (r["reader"].as_i64(), r["with"].as_i64(), r["upto"].as_i64()),
            (Some(BOB), Some(ALICE), Some(a2)),
            "{who}: {r}"
        );
    }
    alice.expect_none("read", QUIET).await;
    // Bob's next dock sees nothing unread.
    let b2 = ctx.client(BOB).await;
    let w = b2.welcome["windows"]
        .as_array()
        .and_then(|ws| ws.iter().find(|w| w["with"]["id"] == ALICE).cloned())
        .expect("window");
    assert_eq!(w["unread"], 0);
    assert_eq!(w["read"]["mine"], a2);
    // A read in the dock is announced once, not again by the poll.
    let a3 = alice.send_message(BOB, "r3", "three").await["id"]
        .as_i64()
        .expect("id");
    bob.expect("message").await;
    bob.send(json!({"type": "read", "with": ALICE, "upto": a3}))
        .await;
    assert_eq!(alice.expect("read").await["upto"], a3);
    alice.expect_none("read", QUIET).await;
    for c in [alice, bob, b2] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(reading_in_the_drawer_clears_the_dock_live);

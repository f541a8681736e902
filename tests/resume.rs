//! Resume (PROTOCOL §5.1): `hello` with `since` delivers exactly the missed messages — those sent while
//! offline and those racing the reconnect — in id order, with no gaps and no duplicates; more than
//! `resume_max` is truncated — against real MariaDB and PostgreSQL.

mod common;

use common::users::*;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// Collects every message id delivered by `missed` and `message` frames until `want` ids were seen
/// (or nothing arrives for a while); asserts ascending order and no duplicates.
async fn collect_ids(c: &mut Client, want: usize) -> Vec<i64> {
    let mut got: Vec<i64> = Vec::new();
    let mut missed_done = false;
    while got.len() < want || !missed_done {
        let Some(frame) = c.next_within(WAIT).await else {
            break;
        };
        match frame {
            Frame::Json(v) if v["type"] == "missed" => {
                assert!(!missed_done, "missed after done: {v}");
                for m in v["messages"].as_array().into_iter().flatten() {
                    got.push(m["id"].as_i64().expect("id"));
                }
                if v["done"] == true {
                    missed_done = true;
                }
            }
            Frame::Json(v) if v["type"] == "message" => {
                assert!(
                    missed_done,
                    "live message before the missed backlog was done: {v}"
                );
                got.push(v["message"]["id"].as_i64().expect("id"));
            }
            Frame::Json(_) => {}
            Frame::Close(code, r) => panic!("closed {code} {r}"),
        }
    }
    let mut sorted = got.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        got, sorted,
        "ids not strictly ascending / duplicated: {got:?}"
    );
    got
}

async fn resume_delivers_exactly_what_was_missed(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let mut carol = ctx.client(CAROL).await;
    let first = bob.send_message(ALICE, "b1", "before").await;
    let seen = alice.expect("message").await["message"]["id"]
        .as_i64()
        .expect("id");
    assert_eq!(Some(seen), first["id"].as_i64());
    alice.close().await;

    // While Alice is offline: two conversations, plus one that is not hers.
    let mut expected = Vec::new();
    for i in 0..3 {
        expected.push(
            bob.send_message(ALICE, &format!("off-b{i}"), &format!("offline {i}"))
                .await["id"]
                .as_i64()
                .expect("id"),
        );
        expected.push(
            carol
                .send_message(ALICE, &format!("off-c{i}"), "from carol")
                .await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    carol.send_message(BOB, "not-alice", "private").await;

    let mut alice = ctx.client_with_token(&token(ALICE), Some(seen)).await;
    assert!(alice.welcome["cursor"].as_i64() >= expected.last().copied());
    let mut got = Vec::new();
    let mut texts: Vec<Value> = Vec::new();
    loop {
        let m = alice.expect("missed").await;
        for msg in m["messages"].as_array().into_iter().flatten() {
            got.push(msg["id"].as_i64().expect("id"));
            texts.push(msg.clone());
        }
        if m["done"] == true {
            assert_eq!(m["truncated"], false);
            assert_eq!(m["cursor"].as_i64(), expected.last().copied());
            break;
        }
    }
    assert_eq!(got, expected);
    assert_eq!(texts[0]["text"], "offline 0");
    assert_eq!(texts[0]["from"], BOB);
    assert_eq!(texts[0]["to"], ALICE);
    assert!(texts.iter().all(|m| m["cid"] != "not-alice"));

    // Nothing already seen comes back, and live messages continue.
    let live = bob.send_message(ALICE, "live", "back online").await;
    let m = alice.expect("message").await;
    assert_eq!(m["message"]["id"], live["id"]);

    // since = cursor: nothing missed.
    let cursor = live["id"].as_i64().expect("id");
    let mut a2 = ctx.client_with_token(&token(ALICE), Some(cursor)).await;
    let m = a2.expect("missed").await;
    assert_eq!(m["done"], true);
    assert!(
        m["messages"].as_array().is_some_and(|a| a.is_empty()),
        "{m}"
    );
    assert_eq!(m["cursor"], cursor);
    for c in [alice, a2, bob, carol] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(resume_delivers_exactly_what_was_missed);

async fn resume_racing_live_sends_has_no_gaps_or_duplicates(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut bob = ctx.client(BOB).await;
    let mut alice = ctx.client(ALICE).await;
    let first = bob.send_message(ALICE, "start", "start").await["id"]
        .as_i64()
        .expect("id");
    alice.expect("message").await;
    alice.close().await;
    for i in 0..10 {
        bob.send_message(ALICE, &format!("pre{i}"), "while offline")
            .await;
    }
    // Bob keeps sending while Alice reconnects.
    let url = ctx.ws_url();
    let sender = tokio::spawn(async move {
        let mut acked = Vec::new();
        for i in 0..30 {
            let a = bob
                .send_message(ALICE, &format!("race{i}"), &format!("race {i}"))
                .await;
            acked.push(a["id"].as_i64().expect("id"));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        bob.close().await;
        acked
    });
    // Carol writes to Alice at the same time, so two senders' inserts interleave.
    let mut carol = ctx.client(CAROL).await;
    let other = tokio::spawn(async move {
        let mut acked = Vec::new();
        for i in 0..30 {
            let a = carol
                .send_message(ALICE, &format!("carol{i}"), "also racing")
                .await;
            acked.push(a["id"].as_i64().expect("id"));
        }
        carol.close().await;
        acked
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut alice = Client::connect(&url).await;
    alice.hello(&token(ALICE), Some(first)).await;
    alice.expect("welcome").await;
    let mut acked_race = sender.await.expect("sender task");
    acked_race.extend(other.await.expect("second sender task"));
    let total = 10 + acked_race.len();
    let got = collect_ids(&mut alice, total).await;
    let expected: BTreeSet<i64> = ctx.db.message_ids_after(first).await.into_iter().collect();
    assert_eq!(expected.len(), total);
    assert_eq!(
        got.iter().copied().collect::<BTreeSet<i64>>(),
        expected,
        "gap or extra"
    );
    assert_eq!(got.len(), total, "duplicates: {got:?}");
    for id in acked_race {
        assert!(got.contains(&id));
    }
    alice.close().await;
    ctx.finish().await;
}
db_test!(resume_racing_live_sends_has_no_gaps_or_duplicates);

async fn resume_beyond_resume_max_is_truncated(backend: Backend) {
    let ctx = Ctx::start_with(backend, |c| c.limits.resume_max = 5).await;
    let mut bob = ctx.client(BOB).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(
            bob.send_message(ALICE, &format!("t{i}"), "many").await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    let mut alice = ctx.client_with_token(&token(ALICE), Some(0)).await;
    let mut got = Vec::new();
    loop {
        let m = alice.expect("missed").await;
        got.extend(
            m["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x["id"].as_i64()),
        );
        if m["done"] == true {
            assert_eq!(m["truncated"], true, "{m}");
            break;
        }
    }
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got, ids[..5].to_vec());
    alice.close().await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(resume_beyond_resume_max_is_truncated);

async fn large_backlog_arrives_in_chunks_of_200(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    // 450 messages already in Moodle's tables (e.g. sent while Alice's laptop slept).
    let t = now() - 3600;
    let conv = ctx.db.moodle_conversation(ALICE, BOB).await;
    let mut values = Vec::new();
    for i in 0..450 {
        values.push(format!(
            "({BOB}, {conv}, 'bulk message {i}', 0, '', 'bulk message {i}', {t}, 0)"
        ));
    }
    ctx.db
        .execp(&format!(
            "INSERT INTO {{p}}messages (useridfrom, conversationid, fullmessage, fullmessageformat, \
             fullmessagehtml, smallmessage, timecreated, fullmessagetrust) VALUES {}",
            values.join(", ")
        ))
        .await;
    let all = ctx.db.message_ids_after(0).await;
    assert_eq!(all.len(), 450);
    let mut alice = ctx.client_with_token(&token(ALICE), Some(all[49])).await;
    assert_eq!(alice.welcome["cursor"], all[449]);
    let mut sizes = Vec::new();
    let mut got: Vec<i64> = Vec::new();
    loop {
        let m = alice.expect("missed").await;
        let batch: Vec<i64> = m["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["id"].as_i64())
            .collect();
        assert!(batch.len() <= 200, "chunk of {}", batch.len());
        if !batch.is_empty() {
            sizes.push(batch.len());
        }
        got.extend(&batch);
        // The cursor is the newest id delivered so far.
        assert_eq!(m["cursor"].as_i64(), got.last().copied(), "{m}");
        if m["done"] == true {
            assert_eq!(m["truncated"], false);
            break;
        }
    }
    assert_eq!(sizes, vec![200, 200]);
    assert_eq!(got, all[50..].to_vec());
    alice.close().await;
    ctx.finish().await;
}
db_test!(large_backlog_arrives_in_chunks_of_200);

async fn since_beyond_the_newest_id_still_gets_live_messages(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut bob = ctx.client(BOB).await;
    let first = bob.send_message(ALICE, "s1", "before").await["id"]
        .as_i64()
        .expect("id");
    // A since above anything stored (a stale tab of another database, or a forged one) counts as the
    // user's cursor: nothing is replayed, and nothing later is dropped.
    let mut alice = ctx
        .client_with_token(&token(ALICE), Some(first + 1_000_000))
        .await;
    assert_eq!(alice.welcome["cursor"], first);
    let m = alice.expect("missed").await;
    assert_eq!(m["done"], true);
    assert_eq!(m["cursor"], first, "{m}");
    assert!(
        m["messages"].as_array().is_some_and(|a| a.is_empty()),
        "{m}"
    );
    let mut last = Value::Null;
    for i in 0..3 {
        let ack = bob
            .send_message(ALICE, &format!("s-live{i}"), "after the hello")
            .await;
        let got = alice.expect("message").await;
        assert_eq!(got["message"]["id"], ack["id"]);
        last = ack["id"].clone();
    }
    // A user with no message at all: the cursor is the site's newest message all the same.
    let mut leo = ctx.client_with_token(&token(LEO), Some(1_000_000)).await;
    assert_eq!(leo.welcome["cursor"], last);
    assert_eq!(leo.expect("missed").await["cursor"], last);
    let ack = bob.send_message(LEO, "s-leo", "first ever").await;
    assert_eq!(leo.expect("message").await["message"]["id"], ack["id"]);
    for c in [alice, bob, leo] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(since_beyond_the_newest_id_still_gets_live_messages);

//! Window actions (PROTOCOL §4.1): block/unblock, mute/unmute, star (relayed from Moodle's
//! favourite), delete for me and delete a conversation for me — the rows Moodle's `core_message\api`
//! writes, the worker's event jobs, and the frames every tab of the user gets; against real MariaDB
//! and PostgreSQL, and the store's writes on the demo's SQLite.

mod common;

use common::users::*;
use common::*;
use serde_json::{json, Value};

async fn history(c: &mut Client, with: i64) -> Value {
    history_at(c, with, "").await
}

async fn history_at(c: &mut Client, with: i64, at: &str) -> Value {
    c.send(json!({"type": "history", "with": with})).await;
    let h = c.expect_any(&["history", "error"]).await;
    assert_eq!(h["type"], "history", "{at}: {h}");
    h
}

fn ids(h: &Value) -> Vec<i64> {
    h["messages"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_i64()).collect())
        .unwrap_or_default()
}

async fn delete_for_me_hides_the_message_in_my_other_tab_and_keeps_it_for_the_other_person(
    backend: Backend,
) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let mut tab1 = ctx.client(ALICE).await;
    let mut tab2 = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let keep = tab1.send_message(BOB, "c-keep", "stays").await["id"]
        .as_i64()
        .expect("id");
    let gone = tab1.send_message(BOB, "c-gone", "oops").await["id"]
        .as_i64()
        .expect("id");
    let conv = db.moodle_conversation(ALICE, BOB).await;

    tab1.send(json!({"type": "delete", "id": gone})).await;
    for tab in [&mut tab1, &mut tab2] {
        let d = tab.expect("deleted").await;
        assert_eq!(
            (d["conv"].as_i64(), d["with"].as_i64(), d["upto"].as_i64()),
            (Some(conv), Some(BOB), Some(0))
        );
        assert_eq!(d["ids"], json!([gone]));
    }
    // Moodle's row (api::delete_message) and the worker's message_deleted job.
    assert_eq!(
        db.count(&format!(
            "message_user_actions WHERE userid = {ALICE} AND messageid = {gone} AND action = 2"
        ))
        .await,
        1
    );
    assert_eq!(
        db.count(&format!(
            "block_dockchat_job WHERE kind = 2 AND userid = {ALICE} AND messageid = {gone} AND relateduserid = {ALICE}"
        ))
        .await,
        1
    );
    // Gone for Alice (both tabs' next history), kept for Bob.
    assert_eq!(ids(&history(&mut tab2, BOB).await), vec![keep]);
    assert_eq!(ids(&history(&mut bob, ALICE).await), vec![keep, gone]);

    // Again: answered, nothing written twice.
    tab2.send(json!({"type": "delete", "id": gone})).await;
    assert_eq!(tab2.expect("deleted").await["ids"], json!([gone]));
    assert_eq!(
        db.count(&format!(
            "message_user_actions WHERE messageid = {gone} AND action = 2"
        ))
        .await,
        1
    );
    assert_eq!(db.count("block_dockchat_job WHERE kind = 2").await, 1);

    // A message of someone else's conversation, or none at all: one answer, nothing stored.
    let others = db.moodle_message(BOB, CAROL, "not hers", now()).await;
    tab1.send(json!({"type": "delete", "id": others})).await;
    assert_eq!(tab1.expect_error("not_member").await["ref"], "delete");
    tab1.send(json!({"type": "delete", "id": others + 1000}))
        .await;
    tab1.expect_error("not_member").await;
    assert_eq!(db.count("message_user_actions WHERE action = 2").await, 1);
    tab1.close().await;
    tab2.close().await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(delete_for_me_hides_the_message_in_my_other_tab_and_keeps_it_for_the_other_person);

async fn deleting_a_conversation_marks_every_message_of_it_for_me_only(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let mut alice = ctx.client(ALICE).await;
    let mut other_tab = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(
            alice
                .send_message(BOB, &format!("c-{i}"), &format!("m{i}"))
                .await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    let from_bob = bob.send_message(ALICE, "c-b", "from Bob").await["id"]
        .as_i64()
        .expect("id");
    sent.push(from_bob);
    // One already deleted for Alice: not written again (as delete_conversation_by_id's LEFT JOIN).
    alice.send(json!({"type": "delete", "id": sent[0]})).await;
    alice.expect("deleted").await;
    other_tab.expect("deleted").await;

    alice
        .send(json!({"type": "delete_conversation", "with": BOB}))
        .await;
    for tab in [&mut alice, &mut other_tab] {
        let d = tab.expect("deleted").await;
        assert_eq!(
            (d["upto"].as_i64(), d["ids"].clone()),
            (Some(from_bob), json!([]))
        );
    }
    assert_eq!(
        db.count(&format!(
            "message_user_actions WHERE userid = {ALICE} AND action = 2"
        ))
        .await,
        4
    );
    assert_eq!(
        db.count(&format!(
            "block_dockchat_job WHERE kind = 2 AND userid = {ALICE}"
        ))
        .await,
        4
    );
    // Each job names the deleter, the message and (relateduserid) the message's sender.
    assert_eq!(
        db.count(&format!(
            "block_dockchat_job WHERE kind = 2 AND messageid = {from_bob} AND relateduserid = {BOB}"
        ))
        .await,
        1
    );
    assert!(ids(&history(&mut alice, BOB).await).is_empty());
    assert_eq!(ids(&history(&mut bob, ALICE).await), sent);
    // The conversation stays; a later message is Alice's to see.
    let conv = db.moodle_conversation(ALICE, BOB).await;
    assert_eq!(
        db.count(&format!(
            "message_conversation_members WHERE conversationid = {conv}"
        ))
        .await,
        2
    );
    let later = bob.send_message(ALICE, "c-later", "again").await["id"]
        .as_i64()
        .expect("id");
    assert_eq!(ids(&history(&mut alice, BOB).await), vec![later]);

    // Nobody to delete with: no conversation with Dave, and not yourself.
    alice
        .send(json!({"type": "delete_conversation", "with": DAVE}))
        .await;
    alice.expect_error("not_member").await;
    alice
        .send(json!({"type": "delete_conversation", "with": ALICE}))
        .await;
    alice.expect_error("bad_recipient").await;
    alice.close().await;
    other_tab.close().await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(deleting_a_conversation_marks_every_message_of_it_for_me_only);

async fn deleting_needs_deleteownmessage(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let id = alice.send_message(BOB, "c-1", "hi").await["id"]
        .as_i64()
        .expect("id");
    let mut c = claims(ALICE);
    c["caps"]["deleteown"] = json!(false);
    let mut limited = ctx.client_with_token(&sign(&c, SECRET), None).await;
    limited.send(json!({"type": "delete", "id": id})).await;
    limited.expect_error("no_permission").await;
    limited
        .send(json!({"type": "delete_conversation", "with": BOB}))
        .await;
    limited.expect_error("no_permission").await;
    assert_eq!(
        ctx.db.count("message_user_actions WHERE action = 2").await,
        0
    );
    alice.close().await;
    limited.close().await;
    ctx.finish().await;
}
db_test!(deleting_needs_deleteownmessage);

async fn a_blocked_users_window_says_so_before_typing(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let mut alice = ctx.client(ALICE).await;
    let mut alice2 = ctx.client(ALICE).await;
    let mut leo = ctx.client(LEO).await;
    // Leo's window onto Alice is open (they have talked) and may send: the pair's facts are
    // cached now.
    leo.send_message(ALICE, "c-0", "hi Alice").await;
    let h = history_at(&mut leo, ALICE, "L1").await;
    assert_eq!(h["can_send"], json!({"ok": true}));
    assert_eq!(h["flags"]["blocked"], false);

    alice
        .send(json!({"type": "block", "user": LEO, "block": true}))
        .await;
    for tab in [&mut alice, &mut alice2] {
        let b = tab.expect("block").await;
        assert_eq!(
            (b["user"].as_i64(), b["blocked"].as_bool()),
            (Some(LEO), Some(true))
        );
    }
    // The blocked one is told to ask again, and the answer is fresh despite the cache.
    assert_eq!(leo.expect("can_send").await["with"].as_i64(), Some(ALICE));
    let h = history_at(&mut leo, ALICE, "L2").await;
    assert_eq!(h["can_send"], json!({"ok": false, "code": "blocked"}));
    leo.send(json!({"type": "send", "to": ALICE, "cid": "c-x", "text": "hello?"}))
        .await;
    leo.expect_error("blocked").await;
    // Moodle's row (api::block_user) and the worker's message_user_blocked job.
    let row = db
        .scalar(&format!(
            "SELECT id FROM {{p}}message_users_blocked WHERE userid = {ALICE} AND blockeduserid = {LEO}"
        ))
        .await
        .expect("block row");
    assert_eq!(
        db.count(&format!(
            "block_dockchat_job WHERE kind = 4 AND userid = {ALICE} AND itemid = {row} AND relateduserid = {LEO}"
        ))
        .await,
        1
    );
    // Alice's own window shows it; she may still write to Bob, as in Moodle.
    let h = history_at(&mut alice, LEO, "L3").await;
    assert_eq!(h["flags"]["blocked"], true);
    assert_eq!(h["can_send"], json!({"ok": true}));

    // Twice: one row, one job.
    alice
        .send(json!({"type": "block", "user": LEO, "block": true}))
        .await;
    alice.expect("block").await;
    assert_eq!(
        db.count(&format!("message_users_blocked WHERE userid = {ALICE}"))
            .await,
        1
    );
    assert_eq!(db.count("block_dockchat_job WHERE kind = 4").await, 1);

    alice
        .send(json!({"type": "block", "user": LEO, "block": false}))
        .await;
    assert_eq!(alice.expect("block").await["blocked"], false);
    // The other tab saw the repeated block, then the unblock.
    assert_eq!(alice2.expect("block").await["blocked"], true);
    assert_eq!(alice2.expect("block").await["blocked"], false);
    assert_eq!(leo.expect("can_send").await["with"].as_i64(), Some(ALICE));
    assert_eq!(
        history_at(&mut leo, ALICE, "L4").await["can_send"],
        json!({"ok": true})
    );
    assert_eq!(
        db.count(&format!("message_users_blocked WHERE userid = {ALICE}"))
            .await,
        0
    );
    assert_eq!(
        db.count(&format!(
            "block_dockchat_job WHERE kind = 5 AND userid = {ALICE} AND itemid = {row} AND relateduserid = {LEO}"
        ))
        .await,
        1
    );
    leo.send_message(ALICE, "c-y", "thanks").await;

    // Yourself, and someone you may not see (Dave shares no course, no conversation).
    alice
        .send(json!({"type": "block", "user": ALICE, "block": true}))
        .await;
    alice.expect_error("bad_recipient").await;
    alice
        .send(json!({"type": "block", "user": DAVE, "block": true}))
        .await;
    assert_eq!(alice.expect_error("unknown_user").await["ref"], "block");
    assert_eq!(
        db.count(&format!("message_users_blocked WHERE userid = {ALICE}"))
            .await,
        0
    );
    alice.close().await;
    alice2.close().await;
    leo.close().await;
    ctx.finish().await;
}
db_test!(a_blocked_users_window_says_so_before_typing);

async fn mute_and_star_follow_moodle_in_every_tab(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let mut alice = ctx.client(ALICE).await;
    let mut alice2 = ctx.client(ALICE).await;
    alice.send_message(BOB, "c-1", "hi").await;
    let conv = db.moodle_conversation(ALICE, BOB).await;
    let muted_rows = format!(
        "message_conversation_actions WHERE userid = {ALICE} AND conversationid = {conv} AND action = 1"
    );

    alice
        .send(json!({"type": "mute", "with": BOB, "mute": true}))
        .await;
    for tab in [&mut alice, &mut alice2] {
        let m = tab.expect("mute").await;
        assert_eq!(
            (m["conv"].as_i64(), m["with"].as_i64(), m["muted"].as_bool()),
            (Some(conv), Some(BOB), Some(true))
        );
    }
    alice
        .send(json!({"type": "mute", "conv": conv, "mute": true}))
        .await;
    alice.expect("mute").await;
    assert_eq!(db.count(&muted_rows).await, 1);
    assert_eq!(history(&mut alice2, BOB).await["flags"]["muted"], true);
    alice2.send(json!({"type": "conversations"})).await;
    let list = alice2.expect("conversations").await;
    assert_eq!(list["items"][0]["muted"], true);

    alice
        .send(json!({"type": "mute", "with": BOB, "mute": false}))
        .await;
    assert_eq!(alice.expect("mute").await["muted"], false);
    assert_eq!(db.count(&muted_rows).await, 0);

    // Star: Moodle's web service writes the favourite (played here as Moodle would), the daemon
    // relays what the table says; it never writes the table itself.
    alice.send(json!({"type": "star", "with": BOB})).await;
    assert_eq!(alice.expect("star").await["starred"], false);
    let t = now();
    db.execp(&format!(
        "INSERT INTO {{p}}favourite (component, itemtype, itemid, contextid, userid, timecreated, timemodified) \
         VALUES ('core_message', 'message_conversations', {conv}, 1, {ALICE}, {t}, {t})"
    ))
    .await;
    alice.send(json!({"type": "star", "conv": conv})).await;
    for tab in [&mut alice, &mut alice2] {
        let s = tab.expect_any(&["star"]).await;
        if s["starred"] == false {
            // alice2 also saw the first relay.
            let s = tab.expect("star").await;
            assert_eq!(
                (s["conv"].as_i64(), s["starred"].as_bool()),
                (Some(conv), Some(true))
            );
        } else {
            assert_eq!(
                (s["conv"].as_i64(), s["with"].as_i64()),
                (Some(conv), Some(BOB))
            );
        }
    }
    assert_eq!(db.count("favourite").await, 1);
    assert_eq!(history(&mut alice, BOB).await["flags"]["starred"], true);

    // Not hers: one answer for a stranger's conversation, a missing one, or no conversation yet.
    let others = db.moodle_conversation(BOB, CAROL).await;
    for frame in [
        json!({"type": "mute", "conv": others, "mute": true}),
        json!({"type": "star", "conv": others + 1000}),
        json!({"type": "mute", "with": DAVE, "mute": true}),
    ] {
        alice.send(frame).await;
        alice.expect_error("not_member").await;
    }
    alice.send(json!({"type": "mute", "with": BOB})).await;
    alice.expect_error("bad_frame").await;
    assert_eq!(db.count("message_conversation_actions").await, 0);
    alice.close().await;
    alice2.close().await;
    ctx.finish().await;
}
db_test!(mute_and_star_follow_moodle_in_every_tab);

async fn actions_are_rate_limited(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    alice.send_message(BOB, "c-1", "hi").await;
    for i in 0..30 {
        alice
            .send(json!({"type": "mute", "with": BOB, "mute": i % 2 == 0}))
            .await;
        alice.expect("mute").await;
    }
    alice.send(json!({"type": "star", "with": BOB})).await;
    assert_eq!(alice.expect_error("rate_limited").await["ref"], "star");
    alice.close().await;
    ctx.finish().await;
}
db_test!(actions_are_rate_limited);

/// The store's writes on the demo's SQLite: the same rows, once each.
#[tokio::test]
async fn the_actions_write_moodles_rows_on_sqlite() {
    let (store, dir) = common::sqlite_store("actions", 2).await;
    store
        .execute_script(&[
            "INSERT INTO mdl_message_conversations (type, convhash, enabled, timecreated, timemodified) VALUES (1, 'h', 1, 1, 1)",
            "INSERT INTO mdl_message_conversation_members (conversationid, userid, timecreated) VALUES (1, 4, 1), (1, 5, 1)",
            "INSERT INTO mdl_messages (useridfrom, conversationid, fullmessage, fullmessageformat, fullmessagehtml, smallmessage, timecreated, fullmessagetrust) \
             VALUES (4, 1, 'a', 0, '', 'a', 1, 0), (5, 1, 'b', 0, '', 'b', 2, 0), (4, 1, 'c', 0, '', 'c', 3, 0)",
        ])
        .await
        .expect("fixture");
    assert!(store.block_user(4, 5).await.expect("block"));
    assert!(!store.block_user(4, 5).await.expect("block again"));
    assert!(store.is_blocked(4, 5).await.expect("is_blocked"));
    assert!(store.unblock_user(4, 5).await.expect("unblock"));
    assert!(!store.unblock_user(4, 5).await.expect("unblock again"));
    assert!(!store.is_blocked(4, 5).await.expect("is_blocked"));
    assert!(store.set_muted(4, 1, true).await.expect("mute"));
    assert!(!store.set_muted(4, 1, true).await.expect("mute again"));
    assert_eq!(
        store.conversation_flags(4, 1).await.expect("flags"),
        (true, false)
    );
    assert!(store.set_muted(4, 1, false).await.expect("unmute"));
    assert_eq!(
        store
            .delete_messages(4, 1, Some(2), 2)
            .await
            .expect("delete"),
        vec![2]
    );
    assert_eq!(
        store
            .delete_messages(4, 1, None, 3)
            .await
            .expect("delete all"),
        vec![1, 3]
    );
    assert!(store
        .delete_messages(4, 1, None, 3)
        .await
        .expect("again")
        .is_empty());
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

//! Conversations (issue 2 §5, PROTOCOL §4–§5): send → ack → `message` on every tab of both users,
//! idempotent retries, history paging, read receipts, typing, window state, and who may message whom
//! (Moodle's rules, the teacher override) with nothing stored on refusal — against real MariaDB and
//! PostgreSQL.

mod common;

use common::users::*;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const QUIET: Duration = Duration::from_millis(1200);

fn ids(messages: &Value) -> Vec<i64> {
    messages
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_i64()).collect())
        .unwrap_or_default()
}

async fn send_is_acked_and_fans_out_to_every_tab(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut a1 = ctx.client(ALICE).await;
    let mut a2 = ctx.client(ALICE).await;
    let mut b1 = ctx.client(BOB).await;
    let mut b2 = ctx.client(BOB).await;
    let mut carol = ctx.client(CAROL).await;
    let text = "olá <b>Bruno</b> 👋";
    let ack = a1.send_message(BOB, "c-1", text).await;
    assert_eq!(ack["dup"], false);
    assert_eq!(ack["to"], BOB);
    let id = ack["id"].as_i64().expect("ack id");
    assert!(id > 0);
    assert!(
        (ack["time"].as_i64().unwrap_or(0) - now()).abs() < 5,
        "{ack}"
    );
    for (who, c) in [
        ("a1", &mut a1),
        ("a2", &mut a2),
        ("b1", &mut b1),
        ("b2", &mut b2),
    ] {
        let m = c.expect("message").await;
        let msg = &m["message"];
        assert_eq!(msg["id"], id, "{who}");
        assert_eq!(msg["from"], ALICE, "{who}");
        assert_eq!(msg["to"], BOB, "{who}");
        assert_eq!(msg["text"], text, "{who}");
        assert_eq!(msg["cid"], "c-1", "{who}");
        assert_eq!(msg["time"], ack["time"], "{who}");
        assert_eq!(m["sender"]["id"], ALICE, "{who}");
    }
    carol.expect_none("message", QUIET).await;
    // Stored once, as sent, in Moodle's tables, every column as Moodle's own send path fills a
    // drawer message (message_send with FORMAT_MOODLE).
    assert_eq!(ctx.db.count("messages").await, 1);
    assert_eq!(ctx.db.message_texts().await, vec![text.to_string()]);
    let conv = ack["conv"].as_i64().expect("conv");
    assert_eq!(
        ctx.db
            .count(&format!(
                "messages WHERE id = {id} AND useridfrom = {ALICE} AND conversationid = {conv} \
                 AND subject IS NULL AND fullmessageformat = 0 AND fullmessagehtml = '' \
                 AND fullmessagetrust = 0 AND timecreated = {}",
                ack["time"]
            ))
            .await,
        1
    );
    assert_eq!(
        ctx.db
            .text(&format!(
                "SELECT fullmessage FROM {{p}}messages WHERE id = {id}"
            ))
            .await
            .as_deref(),
        Some(text)
    );
    let customdata = ctx
        .db
        .text(&format!(
            "SELECT customdata FROM {{p}}messages WHERE id = {id}"
        ))
        .await
        .expect("customdata");
    assert!(
        customdata.starts_with(r#"{"actionbuttons":{"send":"Send"},"placeholders":{"send":"Write a message..."},"notificationiconurl":"http"#)
            && customdata.ends_with(r#","courseid":1}"#)
            && customdata.contains(r#":\/\/"#),
        "PHP json_encode style: {customdata}"
    );
    // The conversation as api::create_conversation makes it: individual, hash of the sorted ids,
    // enabled, the members sender first.
    let hash = dockchat::store::messaging::conversation_hash(ALICE, BOB);
    assert_eq!(
        ctx.db
            .count(&format!(
                "message_conversations WHERE id = {conv} AND type = 1 AND convhash = '{hash}' \
                 AND name IS NULL AND component IS NULL AND itemtype IS NULL AND itemid IS NULL \
                 AND contextid IS NULL AND enabled = 1 AND timemodified = timecreated"
            ))
            .await,
        1
    );
    assert_eq!(
        ctx.db
            .scalar(&format!(
                "SELECT userid FROM {{p}}message_conversation_members WHERE conversationid = {conv} ORDER BY id"
            ))
            .await,
        Some(ALICE)
    );
    assert_eq!(
        ctx.db
            .count(&format!(
                "message_conversation_members WHERE conversationid = {conv} AND userid = {BOB}"
            ))
            .await,
        1
    );
    // The block keeps the cid, and queues the rest of Moodle's send path for its PHP worker.
    assert_eq!(
        ctx.db
            .count(&format!(
                "block_dockchat_sent WHERE messageid = {id} AND conversationid = {conv} \
                 AND useridfrom = {ALICE} AND clientmsgid = 'c-1' AND state = 0"
            ))
            .await,
        1
    );
    // Bob answers in the same conversation: ids increase.
    let ack2 = b2.send_message(ALICE, "r-1", "oi!").await;
    assert!(ack2["id"].as_i64() > Some(id));
    assert_eq!(a2.expect("message").await["message"]["from"], BOB);
    assert_eq!(ctx.db.count("message_conversations").await, 1);
    for c in [a1, a2, b1, b2, carol] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(send_is_acked_and_fans_out_to_every_tab);

async fn retried_send_is_stored_once(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let first = alice.send_message(BOB, "same-cid_1", "hello once").await;
    bob.expect("message").await;
    let again = alice.send_message(BOB, "same-cid_1", "hello once").await;
    assert_eq!(again["dup"], true);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["time"], first["time"]);
    bob.expect_none("message", QUIET).await;
    // Even from another tab, after a reconnect.
    let mut alice2 = ctx.client(ALICE).await;
    let third = alice2.send_message(BOB, "same-cid_1", "hello once").await;
    assert_eq!(third["dup"], true);
    assert_eq!(third["id"], first["id"]);
    assert_eq!(ctx.db.count("messages").await, 1);
    // The same cid from another sender is a different message.
    let mut carol = ctx.client(CAROL).await;
    let other = carol.send_message(ALICE, "same-cid_1", "from carol").await;
    assert_eq!(other["dup"], false);
    assert_ne!(other["id"], first["id"]);
    assert_eq!(ctx.db.count("messages").await, 2);
    for c in [alice, alice2, bob, carol] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(retried_send_is_stored_once);

async fn history_pages_backwards(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let mut sent = Vec::new();
    for i in 0..7 {
        let (c, to) = if i % 2 == 0 {
            (&mut alice, BOB)
        } else {
            (&mut bob, ALICE)
        };
        let ack = c
            .send_message(to, &format!("h{i}"), &format!("message {i}"))
            .await;
        sent.push(ack["id"].as_i64().expect("id"));
    }
    // An unrelated conversation must not leak into the history.
    let mut carol = ctx.client(CAROL).await;
    carol.send_message(ALICE, "other", "not in alice-bob").await;

    alice
        .send(json!({"type": "history", "with": BOB, "limit": 3}))
        .await;
    let h = alice.expect("history").await;
    assert_eq!(h["with"]["id"], BOB);
    assert_eq!(ids(&h["messages"]), sent[4..].to_vec());
    assert_eq!(h["more"], true);
    assert_eq!(h["messages"][0]["text"], "message 4");

    alice
        .send(json!({"type": "history", "with": BOB, "limit": 3, "before": sent[4]}))
        .await;
    let h = alice.expect("history").await;
    assert_eq!(ids(&h["messages"]), sent[1..4].to_vec());
    assert_eq!(h["more"], true);

    alice
        .send(json!({"type": "history", "with": BOB, "limit": 3, "before": sent[1]}))
        .await;
    let h = alice.expect("history").await;
    assert_eq!(ids(&h["messages"]), vec![sent[0]]);
    assert_eq!(h["more"], false);

    // Default limit covers all seven; Bob sees the same conversation.
    bob.send(json!({"type": "history", "with": ALICE})).await;
    let h = bob.expect("history").await;
    assert_eq!(ids(&h["messages"]), sent);
    assert_eq!(h["more"], false);
    assert_eq!(h["with"]["id"], ALICE);

    // No conversation yet: empty.
    alice.send(json!({"type": "history", "with": LEO})).await;
    let h = alice.expect("history").await;
    assert_eq!(ids(&h["messages"]), Vec::<i64>::new());
    assert_eq!(h["more"], false);
    for c in [alice, bob, carol] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(history_pages_backwards);

async fn read_receipts_reach_both_users(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut b1 = ctx.client(BOB).await;
    let mut b2 = ctx.client(BOB).await;
    let m1 = alice.send_message(BOB, "r1", "one").await["id"]
        .as_i64()
        .expect("id");
    let m2 = alice.send_message(BOB, "r2", "two").await["id"]
        .as_i64()
        .expect("id");

    b1.send(json!({"type": "read", "with": ALICE, "upto": m1}))
        .await;
    for c in [&mut alice, &mut b1, &mut b2] {
        let r = c.expect("read").await;
        assert_eq!(
            (r["reader"].as_i64(), r["with"].as_i64(), r["upto"].as_i64()),
            (Some(BOB), Some(ALICE), Some(m1)),
            "{r}"
        );
    }
    // Not forward: nothing is sent.
    b1.send(json!({"type": "read", "with": ALICE, "upto": m1}))
        .await;
    alice.expect_none("read", QUIET).await;
    // Beyond the newest message: clamped to it.
    b2.send(json!({"type": "read", "with": ALICE, "upto": m2 + 1000}))
        .await;
    let r = alice.expect("read").await;
    assert_eq!(r["upto"], m2);
    // Moodle's read state: one read row per message of Alice's, and one message_viewed event
    // queued for the block's worker per row.
    assert_eq!(
        ctx.db
            .count(&format!(
                "message_user_actions WHERE userid = {BOB} AND action = 1 AND messageid IN ({m1}, {m2})"
            ))
            .await,
        2
    );
    assert_eq!(
        ctx.db
            .count(&format!(
                "block_dockchat_job WHERE kind = 1 AND userid = {BOB} AND relateduserid = {ALICE} AND state = 0"
            ))
            .await,
        2
    );
    // History and the next welcome carry the markers.
    alice.send(json!({"type": "history", "with": BOB})).await;
    let h = alice.expect("history").await;
    assert_eq!(h["read"]["theirs"], m2);
    assert_eq!(h["read"]["mine"], 0);
    let b3 = ctx.client(BOB).await;
    let w = b3.welcome["windows"]
        .as_array()
        .and_then(|ws| ws.iter().find(|w| w["with"]["id"] == ALICE).cloned())
        .expect("Bob has a window for Alice after receiving her message");
    assert_eq!(w["read"]["mine"], m2);
    assert_eq!(w["unread"], 0);
    assert_eq!(w["last"], m2);
    for c in [alice, b1, b2, b3] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(read_receipts_reach_both_users);

async fn typing_reaches_only_the_recipient(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut a2 = ctx.client(ALICE).await;
    let mut b1 = ctx.client(BOB).await;
    let mut b2 = ctx.client(BOB).await;
    alice.send(json!({"type": "typing", "to": BOB})).await;
    for c in [&mut b1, &mut b2] {
        assert_eq!(c.expect("typing").await["from"], ALICE);
    }
    a2.expect_none("typing", QUIET).await;
    alice
        .expect_none("typing", Duration::from_millis(100))
        .await;
    assert_eq!(ctx.db.count("messages").await, 0);
    for c in [alice, a2, b1, b2] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(typing_reaches_only_the_recipient);

fn window_for(welcome: &Value, peer: i64) -> Option<Value> {
    welcome["windows"]
        .as_array()
        .and_then(|ws| ws.iter().find(|w| w["with"]["id"] == peer).cloned())
}

async fn window_state_is_synced_and_restored(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut a1 = ctx.client(ALICE).await;
    let mut a2 = ctx.client(ALICE).await;
    assert!(a1.welcome["windows"]
        .as_array()
        .is_some_and(|w| w.is_empty()));
    a1.send(json!({"type": "window", "with": CAROL, "state": "open"}))
        .await;
    let w = a2.expect("window").await;
    assert_eq!(w["with"]["id"], CAROL);
    assert_eq!(w["state"], "open");
    a1.send(json!({"type": "window", "with": LEO, "state": "minimised"}))
        .await;
    assert_eq!(a2.expect("window").await["state"], "minimised");

    let a3 = ctx.client(ALICE).await;
    assert_eq!(
        window_for(&a3.welcome, CAROL).map(|w| w["state"].clone()),
        Some(json!("open"))
    );
    assert_eq!(
        window_for(&a3.welcome, LEO).map(|w| w["state"].clone()),
        Some(json!("minimised"))
    );
    assert_eq!(
        ctx.db
            .count(&format!("block_dockchat_window WHERE userid = {ALICE}"))
            .await,
        2
    );

    a2.send(json!({"type": "window", "with": CAROL, "state": "closed"}))
        .await;
    // "to every socket of the same user": a1 sees its own two changes, then a2's.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let w = a1.expect("window").await;
        seen.push((
            w["with"]["id"].as_i64(),
            w["state"].as_str().map(str::to_string),
        ));
    }
    assert_eq!(
        seen,
        vec![
            (Some(CAROL), Some("open".to_string())),
            (Some(LEO), Some("minimised".to_string())),
            (Some(CAROL), Some("closed".to_string())),
        ]
    );
    let a4 = ctx.client(ALICE).await;
    assert!(window_for(&a4.welcome, CAROL).is_none(), "{}", a4.welcome);
    assert!(window_for(&a4.welcome, LEO).is_some());
    // Other users are not told.
    let carol = ctx.client(CAROL).await;
    assert!(window_for(&carol.welcome, ALICE).is_none());
    for c in [a1, a2, a3, a4, carol] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(window_state_is_synced_and_restored);

async fn send_opens_windows_for_both_users(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    alice.send_message(LEO, "w1", "are you there?").await;
    // Leo was offline: on his next page load a minimised window shows the message.
    let leo = ctx.client(LEO).await;
    let w = window_for(&leo.welcome, ALICE).expect("window for Alice");
    assert_eq!(w["state"], "minimised");
    assert_eq!(w["unread"], 1);
    assert!(w["last"].as_i64().is_some_and(|l| l > 0));
    assert_eq!(leo.welcome["cursor"], w["last"]);
    let a2 = ctx.client(ALICE).await;
    let w = window_for(&a2.welcome, LEO).expect("sender's window");
    assert_eq!(w["state"], "open");
    for c in [alice, leo, a2] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(send_opens_windows_for_both_users);

/// Sends and expects the error `code` with `ref` = cid; nothing may be stored.
async fn refused(ctx: &Ctx, c: &mut Client, to: i64, cid: &str, code: &str) {
    let before = ctx.db.count("messages").await;
    c.send(json!({"type": "send", "to": to, "cid": cid, "text": "hello"}))
        .await;
    let e = c.expect("error").await;
    assert_eq!(e["code"], code, "send to {to}: {e}");
    assert_eq!(e["ref"], cid, "{e}");
    assert!(e["message"].is_string(), "{e}");
    assert_eq!(
        ctx.db.count("messages").await,
        before,
        "stored despite {code}"
    );
}

async fn moodle_messaging_rules_are_enforced(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    // No shared course.
    refused(&ctx, &mut alice, DAVE, "p1", "not_contactable").await;
    // Shared only through a disabled enrolment instance / suspended enrolment / hidden course.
    refused(&ctx, &mut alice, ERIN, "p2", "not_contactable").await;
    refused(&ctx, &mut alice, FRANK, "p3", "not_contactable").await;
    refused(&ctx, &mut alice, HEIDI, "p4", "not_contactable").await;
    // Kate accepts messages from contacts only: Alice is a course-mate but not a contact.
    refused(&ctx, &mut alice, KATE, "p5", "contacts_only").await;
    // Carol has blocked Bob.
    refused(&ctx, &mut bob, CAROL, "p6", "blocked").await;
    // Yourself, and accounts that are not active.
    refused(&ctx, &mut alice, ALICE, "p7", "bad_recipient").await;
    refused(&ctx, &mut alice, DELETED, "p8", "unknown_user").await;
    refused(&ctx, &mut alice, SUSPENDED, "p9", "unknown_user").await;
    refused(&ctx, &mut alice, 424242, "p10", "unknown_user").await;
    assert_eq!(ctx.db.count("messages").await, 0);
    assert_eq!(ctx.db.count("message_conversations").await, 0);
    // Allowed: contacts (Bob is Kate's contact), course-mates, and Carol may still write to Bob.
    bob.send_message(KATE, "ok1", "hi Kate").await;
    alice.send_message(CAROL, "ok2", "hi Carol").await;
    let mut carol = ctx.client(CAROL).await;
    carol.send_message(BOB, "ok3", "hi Bob").await;
    assert_eq!(ctx.db.count("messages").await, 3);
    for c in [alice, bob, carol] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(moodle_messaging_rules_are_enforced);

async fn teacher_override_and_capabilities(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    // The teacher has messageanyuser in Algebra: contacts-only Kate can be messaged.
    let mut teacher = ctx.client_with_token(&teacher_token(), None).await;
    let ack = teacher
        .send_message(KATE, "t1", "Please see me after class")
        .await;
    assert_eq!(ack["dup"], false);
    // The same teacher without the course capability is refused.
    let mut plain = ctx.client_with_token(&token(TEACHER), None).await;
    refused(&ctx, &mut plain, KATE, "t2", "contacts_only").await;
    // caps.anyuser (system messageanyuser) reaches anyone, even outside shared courses.
    let mut c = claims(ALICE);
    c["caps"]["anyuser"] = json!(true);
    let mut anyuser = ctx.client_with_token(&sign(&c, SECRET), None).await;
    anyuser.send_message(DAVE, "t3", "hello Dave").await;
    // caps.send false: no_permission.
    let mut c = claims(BOB);
    c["caps"]["send"] = json!(false);
    let mut mute = ctx.client_with_token(&sign(&c, SECRET), None).await;
    refused(&ctx, &mut mute, ALICE, "t4", "no_permission").await;
    // Missing caps means no permission to send either.
    let mut c = claims(BOB);
    c.as_object_mut().map(|o| o.remove("caps"));
    let mut nocaps = ctx.client_with_token(&sign(&c, SECRET), None).await;
    refused(&ctx, &mut nocaps, ALICE, "t5", "no_permission").await;
    assert_eq!(ctx.db.count("messages").await, 2);
    for c in [teacher, plain, anyuser, mute, nocaps] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(teacher_override_and_capabilities);

async fn site_messaging_switch_off_refuses_sends(backend: Backend) {
    let db = TestDb::standard(backend).await;
    db.execp("UPDATE {p}config SET value = '0' WHERE name = 'messaging'")
        .await;
    let ctx = Ctx::start_on(db, |_| {}).await;
    let mut alice = ctx.client(ALICE).await;
    refused(&ctx, &mut alice, BOB, "m1", "messaging_disabled").await;
    assert_eq!(ctx.db.count("messages").await, 0);
    alice.close().await;
    ctx.finish().await;
}
db_test!(site_messaging_switch_off_refuses_sends);

async fn messagingallusers_honours_site_privacy(backend: Backend) {
    let db = TestDb::standard(backend).await;
    db.execp("UPDATE {p}config SET value = '1' WHERE name = 'messagingallusers'")
        .await;
    db.execp(&format!(
        "INSERT INTO {{p}}user_preferences (userid, name, value) VALUES ({DAVE}, 'message_blocknoncontacts', '2')"
    ))
    .await;
    let ctx = Ctx::start_on(db, |_| {}).await;
    let mut alice = ctx.client(ALICE).await;
    // Dave shares no course with Alice but accepts messages from anyone on the site.
    alice.send_message(DAVE, "s1", "hi from Algebra").await;
    // Heidi has no preference: with messagingallusers the default is "site" too.
    alice.send_message(HEIDI, "s2", "hi Heidi").await;
    // Kate still accepts contacts only.
    refused(&ctx, &mut alice, KATE, "s3", "contacts_only").await;
    assert_eq!(ctx.db.count("messages").await, 2);
    alice.close().await;
    ctx.finish().await;
}
db_test!(messagingallusers_honours_site_privacy);

async fn blocks_are_overridden_only_by_course_capability(backend: Backend) {
    let db = TestDb::standard(backend).await;
    db.execp(&format!(
        "INSERT INTO {{p}}message_users_blocked (userid, blockeduserid, timecreated) VALUES ({CAROL}, {TEACHER}, {})",
        now()
    ))
    .await;
    let ctx = Ctx::start_on(db, |_| {}).await;
    // Without messageanyuser in a shared course, Carol's block holds.
    let mut plain = ctx.client_with_token(&token(TEACHER), None).await;
    refused(&ctx, &mut plain, CAROL, "b1", "blocked").await;
    // With it (Algebra), Moodle's override also overrides the block.
    let mut teacher = ctx.client_with_token(&teacher_token(), None).await;
    teacher
        .send_message(CAROL, "b2", "about your homework")
        .await;
    // readall (moodle/site:readallmessages) may message anyone.
    let mut c = claims(ALICE);
    c["caps"]["readall"] = json!(true);
    let mut manager = ctx.client_with_token(&sign(&c, SECRET), None).await;
    manager
        .send_message(DAVE, "b3", "hello from a manager")
        .await;
    assert_eq!(ctx.db.count("messages").await, 2);
    for c in [plain, teacher, manager] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(blocks_are_overridden_only_by_course_capability);

async fn enrolment_changes_reach_the_daemon(backend: Backend) {
    let ctx = Ctx::start(backend).await; // enrolment_refresh_secs = 2
    let mut alice = ctx.client(ALICE).await;
    refused(&ctx, &mut alice, DAVE, "e0", "not_contactable").await;
    // Dave is enrolled in Algebra: within a few refresh rounds Alice may write to him.
    ctx.db
        .execp(&format!(
            "INSERT INTO {{p}}user_enrolments (status, enrolid, userid, timestart, timeend, modifierid, timecreated, timemodified) VALUES (0, 1, {DAVE}, 0, 2147483647, 2, {n}, {n})",
            n = now()
        ))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let cid = format!("e{attempt}");
        alice
            .send(json!({"type": "send", "to": DAVE, "cid": cid, "text": "welcome to Algebra"}))
            .await;
        let reply = loop {
            let f = alice.expect_any(&["ack", "error"]).await;
            if f["cid"] == cid.as_str() || f["ref"] == cid.as_str() {
                break f;
            }
        };
        if reply["type"] == "ack" {
            break;
        }
        assert_eq!(reply["code"], "not_contactable", "{reply}");
        assert!(
            std::time::Instant::now() < deadline,
            "enrolment not picked up in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(ctx.db.count("messages").await, 1);
    alice.close().await;
    ctx.finish().await;
}
db_test!(enrolment_changes_reach_the_daemon);

async fn concurrent_retries_of_one_cid_store_one_message(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut tabs = Vec::new();
    for _ in 0..4 {
        tabs.push(ctx.client(ALICE).await);
    }
    let mut handles = Vec::new();
    for (i, mut tab) in tabs.into_iter().enumerate() {
        handles.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            for k in 0..5 {
                // Every tab sends the shared cid and a cid of its own, interleaved.
                acks.push(tab.send_message(BOB, "shared-cid", "only once").await);
                acks.push(tab.send_message(BOB, &format!("tab{i}-{k}"), "mine").await);
            }
            tab.close().await;
            acks
        }));
    }
    let mut acks = Vec::new();
    for h in handles {
        acks.extend(h.await.expect("tab task"));
    }
    let shared: Vec<&Value> = acks.iter().filter(|a| a["cid"] == "shared-cid").collect();
    let fresh: Vec<&&Value> = shared.iter().filter(|a| a["dup"] == false).collect();
    assert_eq!(fresh.len(), 1, "exactly one first ack: {shared:?}");
    assert!(shared.iter().all(|a| a["id"] == fresh[0]["id"]));
    assert_eq!(
        ctx.db
            .count("block_dockchat_sent WHERE clientmsgid = 'shared-cid'")
            .await,
        1
    );
    assert_eq!(ctx.db.count("messages").await, 1 + 4 * 5);
    // Server ids are unique.
    let mut own: Vec<i64> = acks
        .iter()
        .filter(|a| a["cid"] != "shared-cid")
        .filter_map(|a| a["id"].as_i64())
        .collect();
    own.sort();
    own.dedup();
    assert_eq!(own.len(), 20);
    ctx.finish().await;
}
db_test!(concurrent_retries_of_one_cid_store_one_message);

async fn unread_counts_in_welcome(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            alice.send_message(LEO, &format!("u{i}"), "ping").await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    let mut leo = ctx.client(LEO).await;
    let w = window_for(&leo.welcome, ALICE).expect("window");
    assert_eq!(w["unread"], 3);
    assert_eq!(w["last"], ids[2]);
    assert_eq!(w["read"]["mine"], 0);
    leo.send(json!({"type": "read", "with": ALICE, "upto": ids[1]}))
        .await;
    leo.expect("read").await;
    let leo2 = ctx.client(LEO).await;
    let w = window_for(&leo2.welcome, ALICE).expect("window");
    assert_eq!(w["unread"], 1);
    assert_eq!(w["read"]["mine"], ids[1]);
    // The sender's own messages are never unread for her.
    let a2 = ctx.client(ALICE).await;
    let w = window_for(&a2.welcome, LEO).expect("window");
    assert_eq!(w["unread"], 0);
    assert_eq!(w["read"]["theirs"], ids[1]);
    for c in [alice, leo, leo2, a2] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(unread_counts_in_welcome);

async fn daemon_works_with_a_non_default_prefix(backend: Backend) {
    let db = TestDb::with_schema(backend, "moo_", true).await;
    for s in fixture("moo_", now()) {
        db.exec(&s).await;
    }
    let ctx = Ctx::start_on(db, |_| {}).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    assert!(bob.online_ids().is_empty() || bob.online_ids() == vec![ALICE]);
    alice.send_message(BOB, "px", "prefixed").await;
    bob.expect("message").await;
    refused(&ctx, &mut alice, DAVE, "py", "not_contactable").await;
    assert_eq!(ctx.db.count("messages").await, 1);
    assert_eq!(ctx.db.prefix, "moo_");
    for c in [alice, bob] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(daemon_works_with_a_non_default_prefix);

async fn identity_comes_from_the_token_and_text_is_stored_verbatim(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    // A forged "from" field is ignored: the sender is the token's user.
    let evil = "Robert'); DROP TABLE mdl_messages;-- <script>alert(1)</script>";
    alice
        .send(json!({"type": "send", "from": CAROL, "to": BOB, "cid": "id-1", "text": evil}))
        .await;
    let ack = alice.expect("ack").await;
    let m = bob.expect("message").await;
    assert_eq!(m["message"]["from"], ALICE);
    assert_eq!(m["sender"]["id"], ALICE);
    assert_eq!(m["message"]["text"], evil);
    let id = ack["id"].as_i64().expect("id");
    assert_eq!(
        ctx.db
            .count(&format!(
                "messages WHERE id = {id} AND useridfrom = {ALICE}"
            ))
            .await,
        1
    );
    assert_eq!(ctx.db.message_texts().await, vec![evil.to_string()]);
    // Bob cannot read Alice and Kate's conversation by naming it from his socket (Kate is his
    // contact, so he may look her up).
    let mut kate = ctx.client(KATE).await;
    kate.send_message(ALICE, "private", "just for Alice").await;
    bob.send(json!({"type": "history", "with": KATE, "user": ALICE}))
        .await;
    let h = bob.expect("history").await;
    assert!(
        h["messages"].as_array().is_some_and(|a| a.is_empty()),
        "{h}"
    );
    for c in [alice, bob, kate] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(identity_comes_from_the_token_and_text_is_stored_verbatim);

async fn typing_is_throttled_per_pair(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    for _ in 0..5 {
        alice.send(json!({"type": "typing", "to": BOB})).await;
    }
    assert_eq!(bob.expect("typing").await["from"], ALICE);
    bob.expect_none("typing", Duration::from_millis(1000)).await;
    // Another pair is throttled separately.
    let mut carol = ctx.client(CAROL).await;
    carol.send(json!({"type": "typing", "to": BOB})).await;
    assert_eq!(bob.expect("typing").await["from"], CAROL);
    // After the interval, Alice's typing is forwarded again.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    alice.send(json!({"type": "typing", "to": BOB})).await;
    assert_eq!(bob.expect("typing").await["from"], ALICE);
    for c in [alice, bob, carol] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(typing_is_throttled_per_pair);

async fn send_pushes_window_frames_once(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut a1 = ctx.client(ALICE).await;
    let mut a2 = ctx.client(ALICE).await;
    let mut leo = ctx.client(LEO).await;
    a1.send_message(LEO, "wf1", "first").await;
    // The sender's tabs open the window; the recipient gets a minimised one.
    let w = a2.expect("window").await;
    assert_eq!(
        (w["with"]["id"].as_i64(), w["state"].as_str()),
        (Some(LEO), Some("open"))
    );
    let w = leo.expect("window").await;
    assert_eq!(
        (w["with"]["id"].as_i64(), w["state"].as_str()),
        (Some(ALICE), Some("minimised"))
    );
    leo.expect("message").await;
    // Already open / already there: no more window frames.
    a1.send_message(LEO, "wf2", "second").await;
    leo.expect("message").await;
    a2.expect("message").await;
    a2.expect_none("window", Duration::from_millis(800)).await;
    leo.expect_none("window", Duration::from_millis(200)).await;
    // A minimised window stays minimised when its owner sends.
    a1.send(json!({"type": "window", "with": LEO, "state": "minimised"}))
        .await;
    assert_eq!(a2.expect("window").await["state"], "minimised");
    a1.send_message(LEO, "wf3", "third").await;
    a2.expect_none("window", Duration::from_millis(800)).await;
    let a3 = ctx.client(ALICE).await;
    assert_eq!(
        window_for(&a3.welcome, LEO).map(|w| w["state"].clone()),
        Some(json!("minimised"))
    );
    for c in [a1, a2, a3, leo] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(send_pushes_window_frames_once);

/// Reads frames until `n` acks arrived; returns them in arrival order (panics after [`WAIT`] of
/// silence).
async fn collect_acks(c: &mut Client, n: usize) -> Vec<Value> {
    let mut acks = Vec::with_capacity(n);
    while acks.len() < n {
        match c.next().await {
            Frame::Json(v) if v["type"] == "ack" => acks.push(v),
            Frame::Json(v) if v["type"] == "error" => panic!("send refused: {v}"),
            Frame::Json(_) => {}
            Frame::Close(code, r) => panic!("closed ({code} {r}) after {} acks", acks.len()),
        }
    }
    acks
}

async fn pipelined_burst_is_stored_once_in_order(backend: Backend) {
    // Hundreds of sends in flight at once fill the writer's group commits: retries inside one batch,
    // retries of a message committed earlier, two senders interleaved.
    let ctx = Ctx::start_with(backend, |c| {
        c.limits.rate_per_sec = 100_000;
        c.limits.rate_burst = 100_000;
    })
    .await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let mut bob_tab = ctx.client(BOB).await;
    let old = alice.send_message(BOB, "old-1", "before the burst").await;
    bob_tab.expect("message").await;

    // Rounds of pipelined sends (a client that does not read for hundreds of frames is rightly
    // closed as too slow); Bob sends from his own task at the same time.
    const ROUND: usize = 60;
    const A: usize = 10 * ROUND;
    const B: usize = 200;
    let plan: Vec<(String, String)> = (0..A)
        .map(|i| {
            if i == 100 {
                ("old-1".to_string(), "before the burst".to_string())
            } else if i % 7 == 3 {
                (format!("burst-{}", i - 1), format!("n{}", i - 1))
            } else {
                (format!("burst-{i}"), format!("n{i}"))
            }
        })
        .collect();
    let distinct: std::collections::HashSet<&str> = plan.iter().map(|p| p.0.as_str()).collect();
    let expected_fresh = distinct.len() - 1; // all but old-1
    let bob_task = tokio::spawn(async move {
        let mut acks = Vec::with_capacity(B);
        for round in 0..B / 20 {
            for i in round * 20..(round + 1) * 20 {
                bob.send(
                    json!({"type": "send", "to": ALICE, "cid": format!("reply-{i}"), "text": "ok"}),
                )
                .await;
            }
            acks.extend(collect_acks(&mut bob, 20).await);
        }
        acks
    });
    let tab_task = tokio::spawn(async move {
        let mut seen = Vec::new();
        while seen.len() < expected_fresh + B {
            let m = bob_tab.expect("message").await;
            seen.push(m["message"]["id"].as_i64().expect("message id"));
        }
        bob_tab.expect_none("message", QUIET).await;
        seen
    });
    let mut sent_cids = Vec::with_capacity(A);
    let mut alice_acks = Vec::with_capacity(A);
    for round in 0..A / ROUND {
        for (cid, text) in &plan[round * ROUND..(round + 1) * ROUND] {
            alice
                .send(json!({"type": "send", "to": BOB, "cid": cid, "text": text}))
                .await;
            sent_cids.push(cid.clone());
        }
        alice_acks.extend(collect_acks(&mut alice, ROUND).await);
    }
    let bob_acks = bob_task.await.expect("bob's task");

    // Acks come back in the order of the sends, each naming its cid.
    let acked: Vec<&str> = alice_acks
        .iter()
        .filter_map(|a| a["cid"].as_str())
        .collect();
    assert_eq!(
        acked,
        sent_cids.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // First uses get fresh, increasing ids; every retry repeats the id of the original.
    let mut by_cid = std::collections::HashMap::new();
    by_cid.insert("old-1".to_string(), old["id"].as_i64().expect("old id"));
    let mut last = old["id"].as_i64().expect("old id");
    let mut fresh = 0;
    for a in &alice_acks {
        let cid = a["cid"].as_str().expect("cid").to_string();
        let id = a["id"].as_i64().expect("id");
        match by_cid.get(&cid) {
            Some(&first) => {
                assert_eq!(a["dup"], true, "retry of {cid}: {a}");
                assert_eq!(id, first, "retry of {cid} names the stored id");
            }
            None => {
                assert_eq!(a["dup"], false, "first send of {cid}: {a}");
                assert!(id > last, "ids increase in send order ({id} after {last})");
                last = id;
                fresh += 1;
                by_cid.insert(cid, id);
            }
        }
    }
    assert_eq!(fresh, expected_fresh);
    assert!(bob_acks.iter().all(|a| a["dup"] == false));
    assert_eq!(ctx.db.count("messages").await, (1 + fresh + B) as i64);
    // Bob's other tab gets every new message of both senders exactly once, in id order.
    let seen = tab_task.await.expect("tab's task");
    assert_eq!(seen.len(), fresh + B);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "in id order, no repeats"
    );
    ctx.finish().await;
}
db_test!(pipelined_burst_is_stored_once_in_order);

async fn batches_in_flight_answer_in_id_order_with_one_conversation_per_pair(backend: Backend) {
    // Four course-mates write to each other at once, pipelined: the writer keeps
    // several group commits in flight, the pairs' conversations are created among them, and every
    // socket must still see the ids of its acks and messages in increasing order (what a resume
    // from its cursor relies on), each pair must get ONE Moodle conversation, and nothing may be
    // lost or stored twice.
    let ctx = Ctx::start_with(backend, |c| {
        c.limits.rate_per_sec = 100_000;
        c.limits.rate_burst = 100_000;
    })
    .await;
    const USERS: [i64; 4] = [TEACHER, ALICE, BOB, LEO];
    const ROUNDS: usize = 6;
    const PER_PEER: usize = 5; // per round
    let per_user = ROUNDS * PER_PEER * (USERS.len() - 1);
    // Everyone is online before anyone sends (messages are pushed live only to open sockets).
    let mut clients = Vec::new();
    for me in USERS {
        clients.push((me, ctx.client(me).await));
    }
    let mut tasks = Vec::new();
    for (me, mut c) in clients {
        tasks.push(tokio::spawn(async move {
            // Every id-bearing frame in arrival order: (id, what).
            let mut ids: Vec<(i64, String)> = Vec::new();
            let mut received = 0;
            let mut acks = 0;
            for round in 0..ROUNDS {
                for peer in USERS.iter().filter(|&&p| p != me) {
                    for k in 0..PER_PEER {
                        let cid = format!("{me}-{peer}-{round}-{k}");
                        c.send(json!({"type": "send", "to": peer, "cid": cid, "text": cid}))
                            .await;
                    }
                }
                let want = (round + 1) * PER_PEER * (USERS.len() - 1);
                while acks < want {
                    match c.next().await {
                        Frame::Json(v) if v["type"] == "ack" => {
                            assert_eq!(v["dup"], false, "no retries were sent: {v}");
                            ids.push((v["id"].as_i64().expect("ack id"), format!("ack {v}")));
                            acks += 1;
                        }
                        Frame::Json(v) if v["type"] == "message" => {
                            let id = v["message"]["id"].as_i64().expect("message id");
                            // The sender's own messages come back to its socket too.
                            if v["message"]["from"] != me {
                                received += 1;
                            }
                            ids.push((id, format!("message {v}")));
                        }
                        Frame::Json(v) if v["type"] == "error" => panic!("send refused: {v}"),
                        Frame::Json(_) => {}
                        Frame::Close(code, r) => panic!("closed ({code} {r})"),
                    }
                }
            }
            while received < per_user {
                if let Frame::Json(v) = c.next().await {
                    if v["type"] == "message" && v["message"]["from"] != me {
                        received += 1;
                        let id = v["message"]["id"].as_i64().expect("message id");
                        ids.push((id, format!("message {v}")));
                    }
                }
            }
            c.close().await;
            ids
        }));
    }
    for t in tasks {
        let ids = t.await.expect("user task");
        // A message frame and its ack name the same id on the sender's socket; otherwise strictly
        // increasing.
        for w in ids.windows(2) {
            assert!(
                w[0].0 <= w[1].0,
                "ids out of order on one socket: {} then {}",
                w[0].1,
                w[1].1
            );
        }
    }
    let total = (USERS.len() * per_user) as i64;
    assert_eq!(ctx.db.count("messages").await, total);
    assert_eq!(ctx.db.count("block_dockchat_sent").await, total);
    // One Moodle conversation per pair, whether it existed before or a batch created it.
    for (i, a) in USERS.iter().enumerate() {
        for b in &USERS[i + 1..] {
            let hash = dockchat::store::messaging::conversation_hash(*a, *b);
            assert_eq!(
                ctx.db
                    .count(&format!("message_conversations WHERE convhash = '{hash}'"))
                    .await,
                1,
                "one conversation of {a} and {b}"
            );
        }
    }
    ctx.finish().await;
}
db_test!(batches_in_flight_answer_in_id_order_with_one_conversation_per_pair);

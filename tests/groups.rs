//! Group conversations in the dock (issue 13, PROTOCOL §4–§6): Moodle's course-group conversations
//! (`message_conversations.type = 2`, `component = 'core_group'`, `itemtype = 'groups'`), addressed
//! by `conv` — send to every member's tabs once, history, read and typing in a group, Moodle's rules
//! (membership, `caps.send`, `enabled`), membership changes within the refresh interval, resume
//! across group and 1:1 messages, messages Moodle stores in a group arriving live, and group history
//! naming its senders (online or not) and members; against real MariaDB and PostgreSQL.

mod common;

use common::users::*;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// How long a frame that must not come is waited for.
const QUIET: Duration = Duration::from_millis(800);

/// A course group's conversation as Moodle creates it, with its members.
async fn group_conversation(
    db: &TestDb,
    group: i64,
    name: &str,
    enabled: i64,
    members: &[i64],
) -> i64 {
    db.group_conversation(group, name, enabled, members).await
}

async fn add_member(db: &TestDb, conv: i64, user: i64) {
    db.execp(&format!(
        "INSERT INTO {{p}}message_conversation_members (conversationid, userid, timecreated) VALUES ({conv}, {user}, {})",
        now()
    ))
    .await;
}

async fn remove_member(db: &TestDb, conv: i64, user: i64) {
    db.execp(&format!(
        "DELETE FROM {{p}}message_conversation_members WHERE conversationid = {conv} AND userid = {user}"
    ))
    .await;
}

/// A message Moodle's send path stores in a conversation (`message_send` from the drawer).
async fn moodle_group_message(db: &TestDb, conv: i64, from: i64, text: &str) -> i64 {
    db.execp(&format!(
        "INSERT INTO {{p}}messages (useridfrom, conversationid, fullmessage, fullmessageformat, fullmessagehtml, \
         smallmessage, timecreated, fullmessagetrust) VALUES ({from}, {conv}, '{text}', 0, '', '{text}', {}, 0)",
        now()
    ))
    .await;
    db.scalar(&format!(
        "SELECT MAX(id) FROM {{p}}messages WHERE conversationid = {conv} AND useridfrom = {from}"
    ))
    .await
    .expect("message id")
}

/// Sends to a conversation and returns the ack (panics on an error for it).
async fn send_conv(c: &mut Client, conv: i64, cid: &str, text: &str) -> Value {
    c.send(json!({"type": "send", "conv": conv, "cid": cid, "text": text}))
        .await;
    let v = c.expect_any(&["ack", "error"]).await;
    assert_eq!(v["type"], "ack", "send {cid} to conv {conv}: {v}");
    assert_eq!(v["cid"], cid);
    v
}

/// Every `message` frame `c` gets within `wait`, as (id, frame).
async fn messages_within(c: &mut Client, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match c.next_within(left).await {
            Some(Frame::Json(v)) if v["type"] == "message" => out.push(v),
            Some(Frame::Json(_)) => continue,
            _ => return out,
        }
    }
}

async fn history_conv(c: &mut Client, conv: i64) -> Value {
    c.send(json!({"type": "history", "conv": conv})).await;
    c.expect_any(&["history", "error"]).await
}

async fn a_group_message_reaches_every_members_tabs_once(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let conv = group_conversation(db, 41, "Algebra group A", 1, &[ALICE, BOB, CAROL]).await;
    let mut alice1 = ctx.client(ALICE).await;
    let mut alice2 = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let mut carol = ctx.client(CAROL).await;
    // Leo is in the same course, not in the group.
    let mut leo = ctx.client(LEO).await;

    let ack = send_conv(&mut alice1, conv, "g-1", "hello group").await;
    assert_eq!(ack["conv"], conv);
    assert_eq!(ack["to"], 0, "a group message is to 0");
    assert_eq!(ack["dup"], false);
    let id = ack["id"].as_i64().expect("id");
    for (who, c) in [
        ("alice1", &mut alice1),
        ("alice2", &mut alice2),
        ("bob", &mut bob),
        ("carol", &mut carol),
    ] {
        let got = messages_within(c, QUIET).await;
        assert_eq!(got.len(), 1, "{who}: exactly one message frame: {got:?}");
        let m = &got[0]["message"];
        assert_eq!(m["id"], id, "{who}");
        assert_eq!(m["conv"], conv, "{who}");
        assert_eq!(
            (m["from"].as_i64(), m["to"].as_i64()),
            (Some(ALICE), Some(0)),
            "{who}"
        );
        assert_eq!(m["text"], "hello group", "{who}");
        assert_eq!(m["cid"], "g-1", "{who}");
        assert_eq!(got[0]["sender"]["id"], ALICE, "{who}");
    }
    leo.expect_none("message", QUIET).await;

    // Stored once, as Moodle's group path stores it: one messages row in the group's
    // conversation, one sent row, no conversation or window created.
    assert_eq!(
        db.count(&format!("messages WHERE conversationid = {conv}"))
            .await,
        1
    );
    assert_eq!(
        db.count(&format!("block_dockchat_sent WHERE messageid = {id}"))
            .await,
        1
    );
    assert_eq!(db.count("message_conversations").await, 1);
    assert_eq!(db.count("block_dockchat_window").await, 0);
    let customdata = db
        .text(&format!(
            "SELECT customdata FROM {{p}}messages WHERE id = {id}"
        ))
        .await
        .expect("customdata");
    assert_eq!(
        customdata,
        r#"{"actionbuttons":{"send":"Send"},"placeholders":{"send":"Write a message..."},"notificationsendericonurl":"http:\/\/moodle.test\/pluginfile.php\/104\/user\/icon\/boost\/f1?rev=912","notificationiconurl":"http:\/\/moodle.test\/theme\/image.php\/boost\/core\/1\/g\/g1","conversationname":"Algebra group A","courseid":1}"#
    );

    // A retry of the cid is not stored again.
    let again = send_conv(&mut alice1, conv, "g-1", "hello group").await;
    assert_eq!(
        (again["id"].as_i64(), again["dup"].as_bool()),
        (Some(id), Some(true))
    );
    bob.expect_none("message", QUIET).await;

    // History, exact, for every member.
    send_conv(&mut bob, conv, "g-2", "hi all").await;
    let h = history_conv(&mut carol, conv).await;
    assert_eq!(h["type"], "history", "{h}");
    assert_eq!(h["conv"], conv);
    assert!(h["with"].is_null(), "{h}");
    assert_eq!(h["more"], false);
    let ms = h["messages"].as_array().expect("messages");
    let got: Vec<(i64, i64, i64, &str)> = ms
        .iter()
        .map(|m| {
            (
                m["from"].as_i64().unwrap_or(-1),
                m["to"].as_i64().unwrap_or(-1),
                m["conv"].as_i64().unwrap_or(-1),
                m["text"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(ALICE, 0, conv, "hello group"), (BOB, 0, conv, "hi all")]
    );
    // Paging: before the newest, one older.
    let newest = ms[1]["id"].as_i64().expect("id");
    carol
        .send(json!({"type": "history", "conv": conv, "before": newest, "limit": 1}))
        .await;
    let h = carol.expect("history").await;
    assert_eq!(h["messages"].as_array().map(|a| a.len()), Some(1));
    assert_eq!(h["messages"][0]["id"], id);
    assert_eq!(h["more"], false);

    // The drawer's list follows: the group, its name and members, the dock's message as its last
    // (to 0), Bob's unread for Alice; nothing of it in Leo's list.
    alice1.send(json!({"type": "conversations"})).await;
    let list = alice1.expect("conversations").await;
    let items = list["items"].as_array().expect("items");
    let g = items
        .iter()
        .find(|i| i["conv"] == conv)
        .unwrap_or_else(|| panic!("the group is listed: {list}"));
    assert_eq!(g["type"], "group");
    assert_eq!(g["name"], "Algebra group A");
    assert!(g["with"].is_null());
    assert_eq!(g["members"], 3);
    assert_eq!(
        (g["last"]["id"].as_i64(), g["last"]["to"].as_i64()),
        (Some(newest), Some(0))
    );
    assert_eq!(g["unread"], 1);
    leo.send(json!({"type": "conversations"})).await;
    let list = leo.expect("conversations").await;
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["conv"] != conv),
        "{list}"
    );

    for c in [alice1, alice2, bob, carol, leo] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(a_group_message_reaches_every_members_tabs_once);

async fn a_non_member_learns_nothing_and_nothing_is_stored(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let conv = group_conversation(db, 41, "Algebra group A", 1, &[ALICE, BOB]).await;
    let disabled = group_conversation(db, 42, "Algebra group B", 0, &[ALICE, BOB]).await;
    let mut alice = ctx.client(ALICE).await;
    let mut leo = ctx.client(LEO).await;
    let before_messages = db.count("messages").await;
    // A conversation Leo is not in, a disabled one he is not in, and one that does not exist:
    // one and the same answer for each frame.
    for target in [conv, disabled, 999_999] {
        leo.send(json!({"type": "send", "conv": target, "cid": "x-1", "text": "let me in"}))
            .await;
        let e = leo.expect_error("not_member").await;
        assert_eq!(e["ref"], "x-1");
        assert_eq!(
            e["message"], "no such conversation, or you are not a member of it",
            "the same text whatever the conversation"
        );
        leo.send(json!({"type": "history", "conv": target})).await;
        assert_eq!(leo.expect_error("not_member").await["ref"], "history");
        leo.send(json!({"type": "read", "conv": target, "upto": 1_000_000}))
            .await;
        assert_eq!(leo.expect_error("not_member").await["ref"], "read");
        leo.send(json!({"type": "typing", "conv": target})).await;
        assert_eq!(leo.expect_error("not_member").await["ref"], "typing");
    }
    alice.expect_none("typing", QUIET).await;
    assert_eq!(db.count("messages").await, before_messages);
    assert_eq!(db.count("block_dockchat_sent").await, 0);
    assert_eq!(db.count("message_user_actions").await, 0);
    // Both and neither of `to` and `conv`: bad_frame.
    leo.send(json!({"type": "send", "to": ALICE, "conv": conv, "cid": "x-2", "text": "a"}))
        .await;
    leo.expect_error("bad_frame").await;
    leo.send(json!({"type": "history"})).await;
    leo.expect_error("bad_frame").await;
    alice.close().await;
    leo.close().await;
    ctx.finish().await;
}
db_test!(a_non_member_learns_nothing_and_nothing_is_stored);

async fn read_and_typing_in_a_group(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let conv = group_conversation(db, 41, "Algebra group A", 1, &[ALICE, BOB, CAROL]).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let mut carol = ctx.client(CAROL).await;
    let mut leo = ctx.client(LEO).await;
    let first = send_conv(&mut bob, conv, "b-1", "one").await["id"]
        .as_i64()
        .expect("id");
    let second = send_conv(&mut carol, conv, "c-1", "two").await["id"]
        .as_i64()
        .expect("id");
    let mine = send_conv(&mut alice, conv, "a-1", "mine").await["id"]
        .as_i64()
        .expect("id");

    // Alice reads everything: one read row per message of the others (not her own), one
    // message_viewed job each, and `read` with conv to every member.
    alice
        .send(json!({"type": "read", "conv": conv, "upto": mine + 100}))
        .await;
    for (who, c) in [
        ("alice", &mut alice),
        ("bob", &mut bob),
        ("carol", &mut carol),
    ] {
        let r = c.expect("read").await;
        assert_eq!(
            (r["reader"].as_i64(), r["conv"].as_i64(), r["upto"].as_i64()),
            (Some(ALICE), Some(conv), Some(mine)),
            "{who}: {r}"
        );
        assert!(r.get("with").is_none(), "{who}: no with in a group: {r}");
    }
    leo.expect_none("read", QUIET).await;
    assert_eq!(
        db.count(&format!(
            "message_user_actions WHERE userid = {ALICE} AND action = 1"
        ))
        .await,
        2
    );
    for id in [first, second] {
        assert_eq!(
            db.count(&format!(
                "message_user_actions WHERE userid = {ALICE} AND messageid = {id} AND action = 1"
            ))
            .await,
            1
        );
    }
    assert_eq!(
        db.count(&format!(
            "block_dockchat_job WHERE kind = 1 AND userid = {ALICE}"
        ))
        .await,
        2
    );
    // Nothing new to read: no frame, no row.
    alice
        .send(json!({"type": "read", "conv": conv, "upto": mine}))
        .await;
    bob.expect_none("read", QUIET).await;
    assert_eq!(db.count("message_user_actions").await, 2);
    // History shows the markers: Bob's newest read by another member is his message.
    let h = history_conv(&mut bob, conv).await;
    assert_eq!(h["read"]["theirs"], first, "{h}");
    assert_eq!(h["read"]["mine"], 0, "{h}");
    let h = history_conv(&mut alice, conv).await;
    assert_eq!(h["read"]["mine"], second, "{h}");

    // Typing: to the other members with from and conv; not to the typist, not to a non-member.
    carol.send(json!({"type": "typing", "conv": conv})).await;
    for (who, c) in [("alice", &mut alice), ("bob", &mut bob)] {
        let t = c.expect("typing").await;
        assert_eq!(
            (t["from"].as_i64(), t["conv"].as_i64()),
            (Some(CAROL), Some(conv)),
            "{who}: {t}"
        );
    }
    carol.expect_none("typing", QUIET).await;
    leo.expect_none("typing", Duration::from_millis(10)).await;
    // Throttled: a second one within 2 s is not forwarded.
    carol.send(json!({"type": "typing", "conv": conv})).await;
    alice.expect_none("typing", QUIET).await;
    for c in [alice, bob, carol, leo] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(read_and_typing_in_a_group);

async fn a_disabled_group_is_refused_to_its_members(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let conv = group_conversation(db, 42, "Algebra group B", 0, &[ALICE, BOB]).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    alice
        .send(json!({"type": "send", "conv": conv, "cid": "d-1", "text": "anyone?"}))
        .await;
    assert_eq!(
        alice.expect_error("conversation_disabled").await["ref"],
        "d-1"
    );
    alice.send(json!({"type": "history", "conv": conv})).await;
    alice.expect_error("conversation_disabled").await;
    alice.send(json!({"type": "typing", "conv": conv})).await;
    alice.expect_error("conversation_disabled").await;
    bob.expect_none("message", QUIET).await;
    assert_eq!(db.count("messages").await, 0);
    assert_eq!(db.count("block_dockchat_sent").await, 0);
    alice.close().await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(a_disabled_group_is_refused_to_its_members);

async fn membership_changes_in_moodle_take_effect_within_the_refresh_interval(backend: Backend) {
    const REFRESH: Duration = Duration::from_secs(1);
    let ctx = Ctx::start_with(backend, |c| {
        c.presence.enrolment_refresh_secs = REFRESH.as_secs()
    })
    .await;
    let db = &ctx.db;
    let conv = group_conversation(db, 41, "Algebra group A", 1, &[ALICE, BOB]).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let mut carol = ctx.client(CAROL).await;
    let first = send_conv(&mut alice, conv, "m-1", "before").await["id"].clone();
    assert_eq!(messages_within(&mut bob, QUIET).await.len(), 1);
    carol
        .expect_none("message", Duration::from_millis(10))
        .await;
    carol.send(json!({"type": "history", "conv": conv})).await;
    carol.expect_error("not_member").await;

    // In Moodle: Bob leaves the group, Carol joins it. Once the cached members (read before the
    // change) are older than the refresh interval, the daemon follows.
    remove_member(db, conv, BOB).await;
    add_member(db, conv, CAROL).await;
    tokio::time::sleep(REFRESH + Duration::from_millis(200)).await;

    let second = send_conv(&mut alice, conv, "m-2", "after").await["id"].clone();
    let got = messages_within(&mut carol, QUIET).await;
    assert_eq!(got.len(), 1, "the added member receives: {got:?}");
    assert_eq!(got[0]["message"]["id"], second);
    assert!(
        messages_within(&mut bob, QUIET).await.is_empty(),
        "the removed member stops receiving"
    );
    // The removed member cannot read the history any more, nor write; the added one can.
    bob.send(json!({"type": "history", "conv": conv})).await;
    bob.expect_error("not_member").await;
    bob.send(json!({"type": "send", "conv": conv, "cid": "b-1", "text": "still here?"}))
        .await;
    bob.expect_error("not_member").await;
    let h = history_conv(&mut carol, conv).await;
    let ids: Vec<Value> = h["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, vec![first, second]);
    // Moodle switches the group's messaging off: refused within the interval too.
    db.execp(&format!(
        "UPDATE {{p}}message_conversations SET enabled = 0 WHERE id = {conv}"
    ))
    .await;
    tokio::time::sleep(REFRESH + Duration::from_millis(200)).await;
    alice
        .send(json!({"type": "send", "conv": conv, "cid": "m-3", "text": "off?"}))
        .await;
    alice.expect_error("conversation_disabled").await;
    for c in [alice, bob, carol] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(membership_changes_in_moodle_take_effect_within_the_refresh_interval);

async fn resume_covers_group_and_individual_messages(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let conv = group_conversation(db, 41, "Algebra group A", 1, &[ALICE, BOB, CAROL]).await;
    // A group Alice is not in.
    let other = group_conversation(db, 43, "Algebra group C", 1, &[BOB, CAROL]).await;
    let alice = ctx.client(ALICE).await;
    let cursor = alice.welcome["cursor"].as_i64().expect("cursor");
    alice.close().await;
    let mut bob = ctx.client(BOB).await;
    let mut carol = ctx.client(CAROL).await;
    let g1 = send_conv(&mut bob, conv, "r-1", "group one").await["id"]
        .as_i64()
        .expect("id");
    let p1 = bob.send_message(ALICE, "r-2", "just you").await["id"]
        .as_i64()
        .expect("id");
    send_conv(&mut bob, other, "r-3", "not for alice").await;
    bob.send_message(LEO, "r-4", "not for alice either").await;
    let g2 = send_conv(&mut carol, conv, "r-5", "group two").await["id"]
        .as_i64()
        .expect("id");
    let g3 = moodle_group_message(db, conv, CAROL, "from the drawer").await;

    let mut alice = ctx.client_with_token(&token(ALICE), Some(cursor)).await;
    let mut got: Vec<(i64, i64, i64)> = Vec::new();
    loop {
        let m = alice.expect("missed").await;
        for msg in m["messages"].as_array().expect("messages") {
            got.push((
                msg["id"].as_i64().unwrap_or(-1),
                msg["conv"].as_i64().unwrap_or(-1),
                msg["to"].as_i64().unwrap_or(-1),
            ));
        }
        if m["done"] == true {
            break;
        }
    }
    let pair = db.moodle_conversation(ALICE, BOB).await;
    assert_eq!(
        got,
        vec![
            (g1, conv, 0),
            (p1, pair, ALICE),
            (g2, conv, 0),
            (g3, conv, 0)
        ]
    );
    for c in [alice, bob, carol] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(resume_covers_group_and_individual_messages);

async fn what_moodle_stores_in_a_group_reaches_its_members_live(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let conv = group_conversation(db, 41, "Algebra group A", 1, &[ALICE, BOB, CAROL]).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob1 = ctx.client(BOB).await;
    let mut bob2 = ctx.client(BOB).await;
    let mut carol = ctx.client(CAROL).await;
    let mut leo = ctx.client(LEO).await;
    // Carol writes in the group from Moodle's drawer (PHP's insert).
    let id = moodle_group_message(db, conv, CAROL, "from the drawer <b>x</b>").await;
    for (who, c) in [
        ("alice", &mut alice),
        ("bob1", &mut bob1),
        ("bob2", &mut bob2),
        ("carol", &mut carol),
    ] {
        let got = messages_within(c, Duration::from_millis(1500)).await;
        assert_eq!(got.len(), 1, "{who}: once: {got:?}");
        let m = &got[0]["message"];
        assert_eq!(
            (
                m["id"].as_i64(),
                m["conv"].as_i64(),
                m["from"].as_i64(),
                m["to"].as_i64()
            ),
            (Some(id), Some(conv), Some(CAROL), Some(0)),
            "{who}"
        );
        assert_eq!(m["cid"], "", "{who}");
        assert_eq!(m["text"], "from the drawer <b>x</b>", "{who}");
    }
    leo.expect_none("message", QUIET).await;
    // Bob reads it in the drawer: Moodle's read row reaches the members as `read` with conv.
    db.execp(&format!(
        "INSERT INTO {{p}}message_user_actions (userid, messageid, action, timecreated) VALUES ({BOB}, {id}, 1, {})",
        now()
    ))
    .await;
    for (who, c) in [
        ("alice", &mut alice),
        ("bob1", &mut bob1),
        ("carol", &mut carol),
    ] {
        let r = c.expect("read").await;
        assert_eq!(
            (r["reader"].as_i64(), r["conv"].as_i64(), r["upto"].as_i64()),
            (Some(BOB), Some(conv), Some(id)),
            "{who}: {r}"
        );
    }
    leo.expect_none("read", QUIET).await;
    for c in [alice, bob1, bob2, carol, leo] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(what_moodle_stores_in_a_group_reaches_its_members_live);

async fn conv_of_an_individual_conversation_is_the_one_to_one_request(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let pair = db.moodle_conversation(ALICE, BOB).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let mut leo = ctx.client(LEO).await;
    let ack = send_conv(&mut alice, pair, "i-1", "by conversation id").await;
    assert_eq!(
        (ack["to"].as_i64(), ack["conv"].as_i64()),
        (Some(BOB), Some(pair))
    );
    let m = bob.expect("message").await;
    assert_eq!(m["message"]["to"], BOB);
    let h = history_conv(&mut bob, pair).await;
    assert_eq!(h["with"]["id"], ALICE, "{h}");
    assert_eq!(h["messages"].as_array().map(|a| a.len()), Some(1));
    // Leo is not in it: the same not_member as for a group.
    leo.send(json!({"type": "history", "conv": pair})).await;
    leo.expect_error("not_member").await;
    for c in [alice, bob, leo] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(conv_of_an_individual_conversation_is_the_one_to_one_request);

async fn group_history_names_every_sender_and_the_members(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let conv = group_conversation(
        db,
        41,
        "Algebra group A",
        1,
        &[ALICE, BOB, CAROL, SUSPENDED],
    )
    .await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    // Carol never connects (offline); Samuel's account is suspended since he wrote. Both wrote
    // from Moodle's drawer.
    let from_carol = moodle_group_message(db, conv, CAROL, "carol offline").await;
    moodle_group_message(db, conv, SUSPENDED, "samuel before suspension").await;
    db.execp(&format!(
        "UPDATE {{p}}user SET suspended = 1 WHERE id = {SUSPENDED}"
    ))
    .await;
    send_conv(&mut alice, conv, "n-1", "alice online").await;

    let h = history_conv(&mut bob, conv).await;
    assert_eq!(h["type"], "history", "{h}");
    assert_eq!(h["messages"].as_array().map(|a| a.len()), Some(3), "{h}");
    assert_eq!(
        h["people"],
        json!([
            {"id": ALICE, "fullname": "Alice Almeida",
             "avatar": "http://moodle.test/pluginfile.php/104/user/icon/boost/f1?rev=912"},
            {"id": CAROL, "fullname": "Carla Costa",
             "avatar": "http://moodle.test/theme/image.php/boost/core/1/u/f1"},
            {"id": SUSPENDED, "fullname": "Samuel Souza",
             "avatar": "http://moodle.test/theme/image.php/boost/core/1/u/f1"},
        ]),
        "every sender of the page, online or not, by id"
    );
    assert_eq!(h["members"], json!([ALICE, BOB, CAROL, SUSPENDED]));

    // A page names only its own senders: Carol's message alone, Carol alone.
    bob.send(json!({"type": "history", "conv": conv, "before": from_carol + 1, "limit": 1}))
        .await;
    let h = bob.expect("history").await;
    assert_eq!(h["messages"][0]["id"], from_carol, "{h}");
    assert_eq!(
        h["people"]
            .as_array()
            .map(|p| p.iter().map(|x| x["id"].as_i64()).collect::<Vec<_>>()),
        Some(vec![Some(CAROL)]),
        "{h}"
    );
    // An empty page names nobody.
    bob.send(json!({"type": "history", "conv": conv, "before": 1}))
        .await;
    let h = bob.expect("history").await;
    assert_eq!(h["people"], json!([]), "{h}");

    // A 1:1 history carries neither field.
    alice.send_message(BOB, "p-1", "just us").await;
    bob.send(json!({"type": "history", "with": ALICE})).await;
    let h = bob.expect("history").await;
    assert_eq!(h["with"]["id"], ALICE, "{h}");
    assert!(
        h.get("people").is_none() && h.get("members").is_none(),
        "{h}"
    );
    for c in [alice, bob] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(group_history_names_every_sender_and_the_members);

/// A Moodle course group (`groups`) with `picture` (0: none).
async fn course_group(db: &TestDb, id: i64, course: i64, name: &str, picture: i64) {
    db.execp(&format!(
        "INSERT INTO {{p}}groups (id, courseid, idnumber, name, picture, timecreated, timemodified) \
         VALUES ({id}, {course}, '', '{name}', {picture}, {t}, {t})",
        t = now()
    ))
    .await;
}

async fn roster_lists_the_users_group_conversations_with_their_pictures(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let algebra_ctx = 10 + courses::ALGEBRA;
    course_group(&ctx.db, 40, courses::ALGEBRA, "Team A", 1764590000).await;
    course_group(&ctx.db, 41, courses::ALGEBRA, "Quiet", 0).await;
    course_group(&ctx.db, 42, courses::ALGEBRA, "Off", 0).await;
    course_group(&ctx.db, 43, courses::ALGEBRA, "Others", 0).await;
    course_group(&ctx.db, 44, courses::HIDDEN, "Hidden team", 0).await;
    let team = group_conversation(&ctx.db, 40, "Team A", 1, &[ALICE, BOB, CAROL]).await;
    let quiet = group_conversation(&ctx.db, 41, "Quiet", 1, &[ALICE]).await;
    // Messaging switched off, Alice not a member, a hidden course: never listed.
    group_conversation(&ctx.db, 42, "Off", 0, &[ALICE, BOB]).await;
    group_conversation(&ctx.db, 43, "Others", 1, &[BOB, CAROL]).await;
    group_conversation(&ctx.db, 44, "Hidden team", 1, &[ALICE, HEIDI]).await;
    let _bob = ctx.client(BOB).await;
    let mut alice = ctx.client(ALICE).await;

    alice.send(json!({"type": "roster"})).await;
    let r = alice.expect("roster").await;
    let picture =
        format!("{SITE_URL}/pluginfile.php/{algebra_ctx}/group/icon/40/f1?rev=1764590000");
    let default = format!("{SITE_URL}/theme/image.php/boost/core/1/g/g1");
    assert_eq!(
        r["courses"],
        json!([{"id": courses::ALGEBRA, "name": "Algebra I", "groups": [
            {"conv": quiet, "name": "Quiet", "image": default, "members": 1, "online": 1},
            {"conv": team, "name": "Team A", "image": picture, "members": 3, "online": 2},
        ]}]),
        "{r}"
    );
    // The window of the group shows the same picture, and so does the Chats list.
    let h = history_conv(&mut alice, team).await;
    assert_eq!(h["image"], picture, "{h}");
    alice.send(json!({"type": "conversations"})).await;
    let list = alice.expect("conversations").await;
    let item = list["items"]
        .as_array()
        .and_then(|i| i.iter().find(|c| c["conv"] == team))
        .cloned()
        .expect("team listed");
    assert_eq!(item["image"], picture, "{list}");
    alice.close().await;
    ctx.finish().await;
}
db_test!(roster_lists_the_users_group_conversations_with_their_pictures);

async fn members_are_pushed_live_when_moodle_changes_them(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    course_group(&ctx.db, 40, courses::ALGEBRA, "Team A", 0).await;
    let team = group_conversation(&ctx.db, 40, "Team A", 1, &[ALICE, BOB]).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let h = history_conv(&mut alice, team).await;
    assert_eq!(h["members"], json!([ALICE, BOB]), "{h}");

    // Carol added in Moodle: every member's tabs get the new members, without a history.
    add_member(&ctx.db, team, CAROL).await;
    let m = alice.expect("members").await;
    assert_eq!(
        m,
        json!({"type": "members", "conv": team, "members": [ALICE, BOB, CAROL]})
    );
    assert_eq!(
        bob.expect("members").await["members"],
        json!([ALICE, BOB, CAROL])
    );

    // Bob removed: Alice is told; Bob learns nothing more about the group.
    remove_member(&ctx.db, team, BOB).await;
    let m = alice.expect("members").await;
    assert_eq!(m["members"], json!([ALICE, CAROL]), "{m}");
    bob.expect_none("members", QUIET * 4).await;
    // Unchanged members push nothing.
    alice.expect_none("members", QUIET * 4).await;
    alice.close().await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(members_are_pushed_live_when_moodle_changes_them);

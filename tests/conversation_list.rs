//! The `conversations` list (PROTOCOL §4–§5): the user's Moodle conversations as the drawer lists
//! them — individual, group and self, starred first, then newest activity, the last message not
//! deleted for the user, unread counts, mute, online — paged; against real MariaDB and PostgreSQL.

mod common;

use common::users::*;
use common::*;
use serde_json::{json, Value};

/// A conversation of another type, as Moodle creates it (a course group's, or a user's own).
async fn moodle_conversation_of(
    db: &TestDb,
    kind: i64,
    name: &str,
    enabled: i64,
    members: &[i64],
) -> i64 {
    let t = now();
    let tag = format!("{name}-{kind}-{t}");
    db.execp(&format!(
        "INSERT INTO {{p}}message_conversations (type, name, convhash, enabled, timecreated, timemodified) \
         VALUES ({kind}, '{tag}', NULL, {enabled}, {t}, {t})"
    ))
    .await;
    let id = db
        .scalar(&format!(
            "SELECT id FROM {{p}}message_conversations WHERE name = '{tag}'"
        ))
        .await
        .expect("conversation id");
    db.execp(&format!(
        "UPDATE {{p}}message_conversations SET name = '{name}' WHERE id = {id}"
    ))
    .await;
    for m in members {
        db.execp(&format!(
            "INSERT INTO {{p}}message_conversation_members (conversationid, userid, timecreated) VALUES ({id}, {m}, {t})"
        ))
        .await;
    }
    id
}

async fn message_in(db: &TestDb, conv: i64, from: i64, text: &str, t: i64) -> i64 {
    db.execp(&format!(
        "INSERT INTO {{p}}messages (useridfrom, conversationid, fullmessage, fullmessageformat, fullmessagehtml, \
         smallmessage, timecreated, fullmessagetrust) VALUES ({from}, {conv}, '{text}', 0, '', '{text}', {t}, 0)"
    ))
    .await;
    db.scalar(&format!(
        "SELECT MAX(id) FROM {{p}}messages WHERE conversationid = {conv}"
    ))
    .await
    .expect("id")
}

async fn page(c: &mut Client, offset: u32, limit: u32) -> Value {
    c.send(json!({"type": "conversations", "offset": offset, "limit": limit}))
        .await;
    c.expect("conversations").await
}

async fn the_drawers_conversations_in_the_drawers_order(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let t = now() - 3600;
    // Alice ↔ Bob: two dock messages an hour ago, Bob's unread.
    let bob_conv = db.moodle_conversation(ALICE, BOB).await;
    message_in(db, bob_conv, ALICE, "hi Bob", t).await;
    let bob_last = message_in(db, bob_conv, BOB, "hi Alice", t + 1).await;
    // Alice ↔ Carol: the newest activity, from Alice; then muted.
    let carol_last = db
        .moodle_message(ALICE, CAROL, "newest of all", t + 100)
        .await;
    let carol_conv = db.moodle_conversation(ALICE, CAROL).await;
    db.execp(&format!(
        "INSERT INTO {{p}}message_conversation_actions (userid, conversationid, action, timecreated) VALUES ({ALICE}, {carol_conv}, 1, {t})"
    ))
    .await;
    // Alice ↔ Dave: the newest message was deleted for Alice; the one before is the preview.
    let dave_first = db.moodle_message(DAVE, ALICE, "before", t + 10).await;
    let dave_deleted = db
        .moodle_message(DAVE, ALICE, "deleted for me", t + 90)
        .await;
    db.execp(&format!(
        "INSERT INTO {{p}}message_user_actions (userid, messageid, action, timecreated) VALUES ({ALICE}, {dave_deleted}, 2, {t})"
    ))
    .await;
    // A course group's conversation, with a message of Carol's; a disabled one (not listed).
    let group = moodle_conversation_of(db, 2, "Algebra group A", 1, &[ALICE, BOB, CAROL]).await;
    message_in(db, group, CAROL, "group hello", t + 50).await;
    let off = moodle_conversation_of(db, 2, "Switched off", 0, &[ALICE, BOB]).await;
    message_in(db, off, BOB, "hidden", t + 200).await;
    // Alice's self conversation, starred (as Moodle stars it when it creates it), no messages.
    let own = moodle_conversation_of(db, 3, "", 1, &[ALICE]).await;
    db.execp(&format!(
        "INSERT INTO {{p}}favourite (component, itemtype, itemid, contextid, userid, timecreated, timemodified) \
         VALUES ('core_message', 'message_conversations', {own}, 1, {ALICE}, {t}, {t})"
    ))
    .await;
    // Somebody else's conversation.
    db.moodle_message(BOB, CAROL, "not for Alice", t + 300)
        .await;

    let _bob = ctx.client(BOB).await;
    let mut alice = ctx.client(ALICE).await;
    let p = page(&mut alice, 0, 20).await;
    assert_eq!(p["total"], 5, "{p}");
    assert_eq!(p["more"], false);
    let items = p["items"].as_array().expect("items");
    let convs: Vec<i64> = items.iter().filter_map(|i| i["conv"].as_i64()).collect();
    assert_eq!(
        convs,
        [own, carol_conv, group, dave_conv(db).await, bob_conv],
        "{p}"
    );

    let me = &items[0];
    assert_eq!(
        (me["type"].as_str(), me["favourite"].as_bool()),
        (Some("self"), Some(true))
    );
    assert_eq!(me["with"]["id"], ALICE);
    assert!(me["last"].is_null());

    let carol = &items[1];
    assert_eq!(carol["type"], "individual");
    assert_eq!(
        (carol["with"]["id"].as_i64(), carol["name"].as_str()),
        (Some(CAROL), Some("Carla Costa"))
    );
    assert_eq!(carol["last"]["id"], carol_last);
    assert_eq!(
        (carol["last"]["from"].as_i64(), carol["last"]["to"].as_i64()),
        (Some(ALICE), Some(CAROL))
    );
    assert_eq!(carol["last"]["cid"], "");
    assert_eq!(
        (carol["muted"].as_bool(), carol["unread"].as_i64()),
        (Some(true), Some(0))
    );
    assert_eq!(carol["online"], false);

    let dave = &items[3];
    assert_eq!(
        dave["last"]["id"], dave_first,
        "the deleted one is not the preview"
    );
    assert_eq!(dave["unread"], 1, "deleted messages do not count");

    let g = &items[2];
    assert_eq!(
        (g["type"].as_str(), g["name"].as_str()),
        (Some("group"), Some("Algebra group A"))
    );
    assert!(g["with"].is_null());
    assert_eq!(
        (g["members"].as_i64(), g["unread"].as_i64()),
        (Some(3), Some(1))
    );

    let bob = &items[4];
    assert_eq!(bob["last"]["id"], bob_last);
    assert_eq!(
        (bob["unread"].as_i64(), bob["online"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(bob["members"], 2);

    // Pages.
    let first = page(&mut alice, 0, 2).await;
    assert_eq!(
        (
            first["more"].as_bool(),
            first["items"].as_array().map(|a| a.len())
        ),
        (Some(true), Some(2))
    );
    let last = page(&mut alice, 4, 2).await;
    assert_eq!(last["more"], false);
    assert_eq!(last["items"][0]["conv"], bob_conv);
    assert_eq!(last["items"].as_array().map(|a| a.len()), Some(1));
    let beyond = page(&mut alice, 10, 2).await;
    assert_eq!(beyond["items"].as_array().map(|a| a.len()), Some(0));

    // A dock message moves its conversation ahead of the unstarred ones.
    let ack = alice.send_message(BOB, "l1", "back to Bob").await;
    let p = page(&mut alice, 0, 2).await;
    assert_eq!(p["items"][1]["conv"], bob_conv, "{p}");
    assert_eq!(p["items"][1]["last"]["id"], ack["id"]);
    assert_eq!(p["items"][1]["last"]["cid"], "l1");

    // Limits are checked.
    alice
        .send(json!({"type": "conversations", "limit": 51}))
        .await;
    alice.expect_error("bad_frame").await;
    alice
        .send(json!({"type": "conversations", "limit": 0}))
        .await;
    alice.expect_error("bad_frame").await;
    alice.close().await;
    ctx.finish().await;
}
db_test!(the_drawers_conversations_in_the_drawers_order);

async fn dave_conv(db: &TestDb) -> i64 {
    db.moodle_conversation(ALICE, DAVE).await
}

async fn a_newcomer_has_an_empty_list(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut leo = ctx.client(LEO).await;
    let p = page(&mut leo, 0, 20).await;
    assert_eq!(
        (p["total"].as_i64(), p["more"].as_bool()),
        (Some(0), Some(false))
    );
    assert_eq!(p["items"].as_array().map(|a| a.len()), Some(0));
    leo.close().await;
    ctx.finish().await;
}
db_test!(a_newcomer_has_an_empty_list);

/// The conversations of the first page, in order.
fn convs_of(p: &Value) -> Vec<i64> {
    p["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["conv"].as_i64()).collect())
        .unwrap_or_default()
}

/// The daemon keeps Alice's list between pages; what Moodle changes behind it shows on her next
/// page: a star and a new conversation at once, a message deleted for her at once (when on the
/// page), a message sent from the drawer within the ingest's poll; a delete in the dock at once.
async fn a_kept_list_follows_what_changes_in_moodle(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let db = &ctx.db;
    let t = now() - 3600;
    let bob = db.moodle_message(BOB, ALICE, "from Bob", t).await;
    let bob_conv = db.moodle_conversation(ALICE, BOB).await;
    db.moodle_message(CAROL, ALICE, "from Carol", t + 10).await;
    let carol_conv = db.moodle_conversation(ALICE, CAROL).await;
    let mut alice = ctx.client(ALICE).await;
    assert_eq!(
        convs_of(&page(&mut alice, 0, 20).await),
        [carol_conv, bob_conv]
    );

    // Starred in Moodle's drawer: first at once.
    db.execp(&format!(
        "INSERT INTO {{p}}favourite (component, itemtype, itemid, contextid, userid, timecreated, timemodified) \
         VALUES ('core_message', 'message_conversations', {bob_conv}, 1, {ALICE}, {t}, {t})"
    ))
    .await;
    let p = page(&mut alice, 0, 20).await;
    assert_eq!(convs_of(&p), [bob_conv, carol_conv], "{p}");
    assert_eq!(p["items"][0]["favourite"], true);
    db.execp(&format!(
        "DELETE FROM {{p}}favourite WHERE userid = {ALICE} AND itemid = {bob_conv}"
    ))
    .await;
    assert_eq!(
        convs_of(&page(&mut alice, 0, 20).await),
        [carol_conv, bob_conv]
    );

    // A conversation Moodle created (Dave wrote from the app): listed at once.
    db.moodle_message(DAVE, ALICE, "from Dave", t + 5).await;
    let dave_conv = db.moodle_conversation(ALICE, DAVE).await;
    let p = page(&mut alice, 0, 20).await;
    assert_eq!(convs_of(&p), [carol_conv, dave_conv, bob_conv], "{p}");
    assert_eq!(p["total"], 3);

    // Bob writes from the drawer now: his conversation goes first once the poll has seen it.
    let newest = db
        .moodle_message(BOB, ALICE, "from the drawer", t + 100)
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let p = loop {
        let p = page(&mut alice, 0, 20).await;
        if convs_of(&p).first() == Some(&bob_conv) || std::time::Instant::now() > deadline {
            break p;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(convs_of(&p), [bob_conv, carol_conv, dave_conv], "{p}");
    assert_eq!(p["items"][0]["last"]["id"], newest);

    // Alice deletes that message in the drawer: the preview and the order go back at once.
    db.execp(&format!(
        "INSERT INTO {{p}}message_user_actions (userid, messageid, action, timecreated) VALUES ({ALICE}, {newest}, 2, {t})"
    ))
    .await;
    let p = page(&mut alice, 0, 20).await;
    assert_eq!(convs_of(&p), [carol_conv, dave_conv, bob_conv], "{p}");
    assert_eq!(p["items"][2]["last"]["id"], bob);

    // And Carol's last message in the dock: her conversation has no message left for Alice.
    let carol_last = p["items"][0]["last"]["id"].as_i64().expect("id");
    alice
        .send(json!({"type": "delete", "id": carol_last}))
        .await;
    alice.expect("deleted").await;
    let p = page(&mut alice, 0, 20).await;
    assert_eq!(convs_of(&p), [dave_conv, bob_conv, carol_conv], "{p}");
    assert!(p["items"][2]["last"].is_null(), "{p}");
    alice.close().await;
    ctx.finish().await;
}
db_test!(a_kept_list_follows_what_changes_in_moodle);

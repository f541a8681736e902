//! What `history`, `window` and `welcome` reveal about other users (PROTOCOL §4–§6): a name and an
//! avatar only for users the requester may message (Moodle's rules, with the token's caps) or already
//! has a conversation with; anyone else gets exactly the answer of an id that does not exist, and
//! nothing is stored. And the cap on a user's stored windows — against real MariaDB and PostgreSQL.

mod common;

use common::users::*;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Most windows a user keeps (PROTOCOL §4, `window`).
const WINDOWS_MAX: usize = 20;

fn window_for(welcome: &Value, peer: i64) -> Option<Value> {
    welcome["windows"]
        .as_array()
        .and_then(|ws| ws.iter().find(|w| w["with"]["id"] == peer).cloned())
}

fn window_peers(welcome: &Value) -> Vec<i64> {
    welcome["windows"]
        .as_array()
        .map(|ws| ws.iter().filter_map(|w| w["with"]["id"].as_i64()).collect())
        .unwrap_or_default()
}

/// A token whose caps say the user may message anyone (an administrator's).
fn anyuser_token(user: i64) -> String {
    let mut c = claims(user);
    c["caps"]["anyuser"] = json!(true);
    sign(&c, SECRET)
}

/// The answers to `history`, `window` open and `window` minimised for `with`, in that order.
async fn probe(c: &mut Client, with: i64) -> Vec<Value> {
    let mut out = Vec::new();
    for frame in [
        json!({"type": "history", "with": with}),
        json!({"type": "window", "with": with, "state": "open"}),
        json!({"type": "window", "with": with, "state": "minimised"}),
    ] {
        c.send(frame).await;
        out.push(c.expect_any(&["error", "history", "window"]).await);
    }
    out
}

/// A conversation with one message from `from` to `to`, stored earlier (when the two could still
/// message each other), as Moodle stores it.
async fn earlier_conversation(db: &TestDb, from: i64, to: i64, text: &str) {
    db.moodle_message(from, to, text, now() - 3600).await;
}

async fn window_row(db: &TestDb, owner: i64, peer: i64) {
    db.execp(&format!(
        "INSERT INTO {{p}}block_dockchat_window (userid, peerid, state, timemodified) VALUES ({owner}, {peer}, 0, {})",
        now()
    ))
    .await;
}

async fn strangers_look_exactly_like_missing_ids(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let missing = probe(&mut alice, 999_999).await;
    for e in &missing {
        assert_eq!(e["type"], "error", "{e}");
        assert_eq!(e["code"], "unknown_user", "{e}");
    }
    // Dave (another course), the guest and the admin share no course with Alice; Kate accepts
    // contacts only; Carol has blocked Bob.
    for who in [DAVE, GUEST, ADMIN, KATE] {
        assert_eq!(probe(&mut alice, who).await, missing, "Alice probing {who}");
    }
    let mut bob = ctx.client(BOB).await;
    let missing_for_bob = probe(&mut bob, 999_999).await;
    assert_eq!(probe(&mut bob, CAROL).await, missing_for_bob);
    assert_eq!(ctx.db.count("block_dockchat_window").await, 0);
    assert_eq!(ctx.db.count("message_conversations").await, 0);
    let again = ctx.client(ALICE).await;
    assert_eq!(window_peers(&again.welcome), Vec::<i64>::new());

    // A course-mate, and a contact of a contacts-only user, still answer.
    let answers = probe(&mut alice, LEO).await;
    assert_eq!(answers[0]["type"], "history");
    assert_eq!(answers[0]["with"]["fullname"], "Leonardo Lima");
    assert_eq!(answers[1]["type"], "window");
    assert_eq!(answers[1]["with"]["fullname"], "Leonardo Lima");
    assert_eq!(answers[2]["state"], "minimised");
    let answers = probe(&mut bob, KATE).await;
    assert_eq!(answers[0]["with"]["fullname"], "Kátia Klein");
    // An administrator may message anyone (Moodle's messageanyuser), so may look anyone up.
    let mut admin = ctx.client_with_token(&anyuser_token(ADMIN), None).await;
    let answers = probe(&mut admin, DAVE).await;
    assert_eq!(answers[0]["with"]["fullname"], "Davi Dias");
    for c in [alice, bob, again, admin] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(strangers_look_exactly_like_missing_ids);

async fn an_earlier_conversation_stays_readable(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    // Carol wrote to Bob before she blocked him; Dave and Alice talked when they shared a course.
    let mut carol = ctx.client(CAROL).await;
    carol.send_message(BOB, "before-block", "hi Bruno").await;
    earlier_conversation(&ctx.db, DAVE, ALICE, "from the old course").await;

    let mut bob = ctx.client(BOB).await;
    let answers = probe(&mut bob, CAROL).await;
    assert_eq!(answers[0]["type"], "history", "{}", answers[0]);
    assert_eq!(answers[0]["with"]["fullname"], "Carla Costa");
    assert_eq!(answers[0]["messages"][0]["text"], "hi Bruno");
    assert_eq!(answers[1]["with"]["fullname"], "Carla Costa");
    // The window says so before Bob types (PROTOCOL CanSend), with the code a send would get.
    assert_eq!(
        answers[0]["can_send"],
        json!({"ok": false, "code": "blocked"}),
        "{}",
        answers[0]
    );
    // Carol may still write to Bob.
    carol.send(json!({"type": "history", "with": BOB})).await;
    assert_eq!(
        carol.expect("history").await["can_send"],
        json!({"ok": true})
    );
    // Sending stays refused.
    bob.send(json!({"type": "send", "to": CAROL, "cid": "no", "text": "x"}))
        .await;
    bob.expect_error("blocked").await;

    let mut alice = ctx.client(ALICE).await;
    let answers = probe(&mut alice, DAVE).await;
    assert_eq!(answers[0]["with"]["fullname"], "Davi Dias");
    assert_eq!(answers[0]["messages"][0]["text"], "from the old course");
    assert_eq!(
        answers[0]["can_send"],
        json!({"ok": false, "code": "not_contactable"}),
        "no shared course any more: {}",
        answers[0]
    );
    let again = ctx.client(ALICE).await;
    let w = window_for(&again.welcome, DAVE).unwrap_or_else(|| panic!("{}", again.welcome));
    assert_eq!(
        w["can_send"],
        json!({"ok": false, "code": "not_contactable"}),
        "{w}"
    );

    // An account suspended or deleted since: the conversation is still shown, as Moodle shows it.
    ctx.db
        .execp(&format!(
            "UPDATE {{p}}user SET suspended = 1 WHERE id = {DAVE}"
        ))
        .await;
    alice.send(json!({"type": "history", "with": DAVE})).await;
    let h = alice.expect_any(&["history", "error"]).await;
    assert_eq!(h["with"]["fullname"], "Davi Dias", "{h}");
    assert_eq!(h["messages"][0]["text"], "from the old course");
    let later = ctx.client(ALICE).await;
    assert!(
        window_for(&later.welcome, DAVE).is_some(),
        "{}",
        later.welcome
    );
    for c in [carol, bob, alice, again, later] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(an_earlier_conversation_stays_readable);

async fn welcome_hides_windows_onto_strangers(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    // Rows stored before lookups were checked: a stranger, a course-mate, a missing account.
    window_row(&ctx.db, ALICE, DAVE).await;
    window_row(&ctx.db, ALICE, LEO).await;
    window_row(&ctx.db, ALICE, 999_999).await;
    let mut alice = ctx.client(ALICE).await;
    assert_eq!(window_peers(&alice.welcome), vec![LEO], "{}", alice.welcome);
    assert!(
        !alice.welcome.to_string().contains("Davi"),
        "{}",
        alice.welcome
    );

    // Closing a window onto someone unavailable still works, and does not name them.
    let mut a2 = ctx.client(ALICE).await;
    alice
        .send(json!({"type": "window", "with": DAVE, "state": "closed"}))
        .await;
    for c in [&mut alice, &mut a2] {
        let w = c.expect_any(&["window", "error"]).await;
        assert_eq!(w["type"], "window", "{w}");
        assert_eq!(w["with"]["id"], DAVE);
        assert_eq!(w["state"], "closed");
        assert_eq!(w["with"]["fullname"], "", "{w}");
    }
    alice
        .send(json!({"type": "window", "with": 999_999, "state": "closed"}))
        .await;
    assert_eq!(alice.expect("window").await["with"]["id"], 999_999);
    assert_eq!(
        ctx.db
            .count(&format!("block_dockchat_window WHERE userid = {ALICE}"))
            .await,
        1
    );
    // A course-mate's window closes with their name, as before.
    alice
        .send(json!({"type": "window", "with": LEO, "state": "closed"}))
        .await;
    let w = alice.expect("window").await;
    assert_eq!(w["with"]["fullname"], "Leonardo Lima");
    for c in [alice, a2] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(welcome_hides_windows_onto_strangers);

/// Active accounts 1000.. (no course: only a sender who may message anyone reaches them).
async fn extra_users(db: &TestDb, n: i64) -> Vec<i64> {
    let t = now();
    let mut ids = Vec::new();
    for id in 1000..1000 + n {
        db.execp(&format!(
            "INSERT INTO {{p}}user (id, auth, confirmed, deleted, suspended, mnethostid, username, password, firstname, lastname, email, picture, timecreated, timemodified, lastaccess) \
             VALUES ({id}, 'manual', 1, 0, 0, 1, 'u{id}', 'x', 'User', '{id}', 'u{id}@example.com', 0, {t}, {t}, {t})"
        ))
        .await;
        ids.push(id);
    }
    ids
}

async fn stored_windows_are_capped(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let peers = extra_users(&ctx.db, WINDOWS_MAX as i64 + 3).await;
    let mut a1 = ctx.client_with_token(&anyuser_token(ALICE), None).await;
    let mut a2 = ctx.client_with_token(&anyuser_token(ALICE), None).await;
    for (i, &peer) in peers.iter().enumerate() {
        a1.send(json!({"type": "window", "with": peer, "state": "minimised"}))
            .await;
        for c in [&mut a1, &mut a2] {
            let w = c.expect_any(&["window", "error"]).await;
            assert_eq!(
                (w["with"]["id"].as_i64(), w["state"].as_str()),
                (Some(peer), Some("minimised")),
                "{w}"
            );
            if i >= WINDOWS_MAX {
                // The oldest window closes, and every tab is told.
                let w = c.expect_any(&["window", "error"]).await;
                assert_eq!(
                    (w["with"]["id"].as_i64(), w["state"].as_str()),
                    (Some(peers[i - WINDOWS_MAX]), Some("closed")),
                    "{w}"
                );
            }
        }
    }
    a2.expect_none("window", Duration::from_millis(300)).await;
    assert_eq!(
        ctx.db
            .count(&format!("block_dockchat_window WHERE userid = {ALICE}"))
            .await,
        WINDOWS_MAX as i64
    );
    let a3 = ctx.client_with_token(&anyuser_token(ALICE), None).await;
    assert_eq!(window_peers(&a3.welcome), peers[3..].to_vec());
    for c in [a1, a2, a3] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(stored_windows_are_capped);

/// Windows that sends open (a pair's first message opens the sender's window) count against the cap
/// too: someone who messages many people keeps the newest windows, and every tab is told of the
/// closed ones.
async fn windows_opened_by_sends_are_capped(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let peers = extra_users(&ctx.db, WINDOWS_MAX as i64 + 3).await;
    let mut a1 = ctx.client_with_token(&anyuser_token(ALICE), None).await;
    let mut a2 = ctx.client_with_token(&anyuser_token(ALICE), None).await;
    for (i, &peer) in peers.iter().enumerate() {
        a1.send(json!({"type": "send", "to": peer, "cid": format!("first-{i}"), "text": "hello"}))
            .await;
    }
    // Every tab hears of the three oldest windows closing (among the acks, open and message frames).
    for c in [&mut a1, &mut a2] {
        let mut closed = Vec::new();
        while closed.len() < 3 {
            let w = c.expect_any(&["window", "error"]).await;
            assert_eq!(w["type"], "window", "{w}");
            if w["state"] == "closed" {
                closed.push(w["with"]["id"].as_i64().expect("id"));
            }
        }
        closed.sort_unstable();
        assert_eq!(closed, peers[..3].to_vec());
    }
    assert_eq!(
        ctx.db
            .count(&format!("block_dockchat_window WHERE userid = {ALICE}"))
            .await,
        WINDOWS_MAX as i64
    );
    let a3 = ctx.client_with_token(&anyuser_token(ALICE), None).await;
    assert_eq!(window_peers(&a3.welcome), peers[3..].to_vec());
    for c in [a1, a2, a3] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(windows_opened_by_sends_are_capped);

async fn welcome_lists_at_most_the_cap(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    // More rows than the cap (stored before it existed): the welcome lists the newest.
    let peers = extra_users(&ctx.db, 2 * WINDOWS_MAX as i64 + 5).await;
    for &peer in &peers {
        window_row(&ctx.db, ALICE, peer).await;
    }
    let mut alice = ctx.client_with_token(&anyuser_token(ALICE), None).await;
    let newest = peers[peers.len() - WINDOWS_MAX..].to_vec();
    assert_eq!(window_peers(&alice.welcome), newest);
    // The next window trims the rows to the cap; tabs hear of at most the cap's worth of closes.
    alice
        .send(json!({"type": "window", "with": LEO, "state": "open"}))
        .await;
    let mut closed = Vec::new();
    while let Some(Frame::Json(w)) = alice.next_within(Duration::from_millis(500)).await {
        if w["state"] == "closed" {
            closed.push(w["with"]["id"].as_i64().expect("id"));
        }
    }
    assert_eq!(closed.len(), WINDOWS_MAX, "{closed:?}");
    assert_eq!(closed[0], newest[0], "newest first: {closed:?}");
    assert_eq!(
        ctx.db
            .count(&format!("block_dockchat_window WHERE userid = {ALICE}"))
            .await,
        WINDOWS_MAX as i64
    );
    let again = ctx.client_with_token(&anyuser_token(ALICE), None).await;
    let mut expected = newest[1..].to_vec();
    expected.push(LEO);
    assert_eq!(window_peers(&again.welcome), expected);
    for c in [alice, again] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(welcome_lists_at_most_the_cap);

/// The trimming at the storage layer on the demo's SQLite (the integration tests above cover
/// MariaDB and PostgreSQL).
#[tokio::test]
async fn stored_windows_are_capped_sqlite() {
    let (store, dir) = sqlite_store("window-cap", 2).await;
    let owner = ALICE;
    for peer in 100..100 + WINDOWS_MAX as i64 {
        let w = store.set_window(owner, peer, Some(1)).await.expect("open");
        assert!(w.changed && w.closed.is_empty(), "{w:?}");
    }
    // Changing a window's state adds no window.
    let w = store.set_window(owner, 100, Some(0)).await.expect("open");
    assert!(w.changed && w.closed.is_empty(), "{w:?}");
    let w = store
        .set_window(owner, 500, Some(0))
        .await
        .expect("one more");
    assert_eq!(w.closed, vec![100]);
    let w = store
        .set_window(owner, 501, Some(1))
        .await
        .expect("one more");
    assert_eq!(w.closed, vec![101]);
    let peers: Vec<i64> = store
        .windows(owner)
        .await
        .expect("windows")
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let mut expected: Vec<i64> = (102..100 + WINDOWS_MAX as i64).collect();
    expected.extend([500, 501]);
    assert_eq!(peers, expected);
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

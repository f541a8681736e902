//! Bad input (PROTOCOL §1, §6): every malformed frame gets an `error` with its stable code, nothing is
//! stored from it, and the socket survives — except the hard frame cap (1009) and abuse (4008) —
//! against real MariaDB and PostgreSQL.

mod common;

use common::users::*;
use common::*;
use serde_json::json;

/// Asserts that a `ping` still gets its `pong` (the socket survived).
async fn still_alive(c: &mut Client, n: i64) {
    c.send(json!({"type": "ping", "n": n})).await;
    assert_eq!(c.expect("pong").await["n"], n);
}

async fn malformed_frames_get_stable_codes(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let cases: Vec<(&str, String, &str)> = vec![
        ("not json", "{type: send".into(), "bad_json"),
        ("json array", "[1,2]".into(), "bad_json"),
        ("json string", "\"send\"".into(), "bad_json"),
        ("no type", json!({"to": BOB}).to_string(), "unknown_type"),
        (
            "unknown type",
            json!({"type": "explode"}).to_string(),
            "unknown_type",
        ),
        (
            "type not a string",
            json!({"type": 5}).to_string(),
            "unknown_type",
        ),
        (
            "send without to",
            json!({"type": "send", "cid": "a", "text": "x"}).to_string(),
            "bad_frame",
        ),
        (
            "to as string",
            json!({"type": "send", "to": "5", "cid": "a", "text": "x"}).to_string(),
            "bad_frame",
        ),
        (
            "text not a string",
            json!({"type": "send", "to": BOB, "cid": "a", "text": 5}).to_string(),
            "bad_frame",
        ),
        (
            "history limit 0",
            json!({"type": "history", "with": BOB, "limit": 0}).to_string(),
            "bad_frame",
        ),
        (
            "history limit 101",
            json!({"type": "history", "with": BOB, "limit": 101}).to_string(),
            "bad_frame",
        ),
        (
            "window bad state",
            json!({"type": "window", "with": BOB, "state": "maximised"}).to_string(),
            "bad_frame",
        ),
        (
            "read without upto",
            json!({"type": "read", "with": BOB}).to_string(),
            "bad_frame",
        ),
    ];
    for (i, (name, frame, code)) in cases.into_iter().enumerate() {
        alice.send_text(&frame).await;
        let e = alice.expect("error").await;
        assert_eq!(e["code"], code, "{name}: {e}");
        assert!(e["message"].is_string(), "{name}: {e}");
        still_alive(&mut alice, i as i64).await;
    }
    // Unknown fields are ignored.
    alice
        .send(json!({"type": "ping", "n": 99, "future": {"x": 1}}))
        .await;
    assert_eq!(alice.expect("pong").await["n"], 99);
    assert_eq!(ctx.db.count("messages").await, 0);
    assert_eq!(ctx.db.count("block_dockchat_window").await, 0);
    assert_eq!(ctx.db.count("message_user_actions").await, 0);
    alice.close().await;
    ctx.finish().await;
}
db_test!(malformed_frames_get_stable_codes);

async fn invalid_sends_store_nothing(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    let long_cid = "c".repeat(65);
    let too_long = "é".repeat(4001); // 4001 characters, 8002 bytes: fits the frame
    let just_right = "é".repeat(4000);
    let cases: Vec<(&str, &str, String, &str)> = vec![
        ("empty cid", "", "hi".into(), "bad_cid"),
        ("65-char cid", &long_cid, "hi".into(), "bad_cid"),
        ("cid with space", "a b", "hi".into(), "bad_cid"),
        ("cid with slash", "a/b", "hi".into(), "bad_cid"),
        ("empty text", "e1", String::new(), "text_empty"),
        ("whitespace text", "e2", " \n\t ".into(), "text_empty"),
        ("4001 chars", "e3", too_long, "text_too_long"),
    ];
    for (name, cid, text, code) in cases {
        alice
            .send(json!({"type": "send", "to": BOB, "cid": cid, "text": text}))
            .await;
        let e = alice.expect("error").await;
        assert_eq!(e["code"], code, "{name}: {e}");
        if !cid.is_empty() && code != "bad_cid" {
            assert_eq!(e["ref"], cid, "{name}: {e}");
        }
    }
    bob.expect_none("message", std::time::Duration::from_millis(800))
        .await;
    assert_eq!(ctx.db.count("messages").await, 0);
    assert_eq!(ctx.db.count("message_conversations").await, 0);
    // Exactly at the limit is fine; trailing whitespace is trimmed, not counted.
    let ack = alice
        .send_message(BOB, "max-64-chars_ok", &format!("{just_right}  \n"))
        .await;
    assert_eq!(ack["dup"], false);
    let m = bob.expect("message").await;
    assert_eq!(
        m["message"]["text"].as_str().map(|t| t.chars().count()),
        Some(4000)
    );
    let cid64 = "a".repeat(64);
    alice.send_message(BOB, &cid64, "64-char cid").await;
    assert_eq!(ctx.db.count("messages").await, 2);
    alice.close().await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(invalid_sends_store_nothing);

async fn binary_and_oversize_frames(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    alice.send_binary(vec![1, 2, 3]).await;
    alice.expect_error("binary_unsupported").await;
    still_alive(&mut alice, 1).await;
    // Over frame_max_bytes (16 KiB) but under the hard cap: error, ignored.
    let big = "x".repeat(20_000);
    alice
        .send(json!({"type": "send", "to": BOB, "cid": "big", "text": big}))
        .await;
    alice.expect_error("frame_too_large").await;
    still_alive(&mut alice, 2).await;
    assert_eq!(ctx.db.count("messages").await, 0);
    // Over the hard cap (4 × 16 KiB): closed with 1009.
    let huge = "y".repeat(70_000);
    alice
        .send_text(&json!({"type": "send", "to": BOB, "cid": "huge", "text": huge}).to_string())
        .await;
    let (code, _) = alice.expect_close().await;
    assert_eq!(code, 1009);
    assert_eq!(ctx.db.count("messages").await, 0);
    ctx.finish().await;
}
db_test!(binary_and_oversize_frames);

async fn flooding_is_rate_limited(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    for i in 0..120 {
        alice.send(json!({"type": "ping", "n": i})).await;
    }
    // Default 20/s with bursts of 40: at least one frame is refused, or the socket is closed as abusive.
    let mut limited = false;
    loop {
        match alice.next().await {
            Frame::Json(v) if v["type"] == "error" => {
                assert_eq!(v["code"], "rate_limited", "{v}");
                limited = true;
            }
            Frame::Json(v) if v["type"] == "pong" => {
                if v["n"] == 119 {
                    break;
                }
            }
            Frame::Json(_) => {}
            Frame::Close(code, reason) => {
                assert_eq!(code, 4008, "{reason}");
                limited = true;
                break;
            }
        }
        if limited {
            break;
        }
    }
    assert!(
        limited,
        "120 frames at once were neither rate limited nor closed"
    );
    ctx.finish().await;
}
db_test!(flooding_is_rate_limited);

async fn database_failure_is_internal_and_retry_is_safe(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    // Make the database refuse this one insert (a CHECK constraint stands in for a failing server).
    ctx.db
        .execp("ALTER TABLE {p}messages ADD CONSTRAINT dct_no_boom CHECK (smallmessage <> 'boom')")
        .await;
    // Carol's sends race the failing one: they may share its group commit, yet must all be stored.
    let mut carol = ctx.client(CAROL).await;
    let neighbour = tokio::spawn(async move {
        let mut ids = Vec::new();
        for i in 0..10 {
            ids.push(carol.send_message(LEO, &format!("n{i}"), "neighbour").await["id"].clone());
        }
        carol.close().await;
        ids
    });
    alice
        .send(json!({"type": "send", "to": BOB, "cid": "boom-1", "text": "boom"}))
        .await;
    let e = alice.expect_any(&["ack", "error"]).await;
    let neighbours = neighbour.await.expect("neighbour task");
    assert_eq!(neighbours.len(), 10);
    assert_eq!(ctx.db.count("messages").await, 10);
    ctx.db.execp("DELETE FROM {p}messages").await;
    ctx.db.execp("DELETE FROM {p}block_dockchat_sent").await;
    assert_eq!(e["type"], "error", "a failed insert was acknowledged: {e}");
    assert_eq!(e["code"], "internal", "{e}");
    assert_eq!(e["ref"], "boom-1", "{e}");
    bob.expect_none("message", std::time::Duration::from_millis(800))
        .await;
    assert_eq!(ctx.db.count("messages").await, 0);
    // The socket and the writer survive: other sends go through.
    let ok = alice.send_message(BOB, "fine-1", "fine").await;
    assert_eq!(ok["dup"], false);
    // Once the database is healthy again, the retry with the same cid is stored once.
    ctx.db
        .execp("ALTER TABLE {p}messages DROP CONSTRAINT dct_no_boom")
        .await;
    let retry = alice.send_message(BOB, "boom-1", "boom").await;
    assert_eq!(retry["dup"], false);
    let again = alice.send_message(BOB, "boom-1", "boom").await;
    assert_eq!(again["dup"], true);
    assert_eq!(ctx.db.count("messages").await, 2);
    alice.close().await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(database_failure_is_internal_and_retry_is_safe);

async fn yourself_and_unknown_users_are_refused_everywhere(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let frames = [
        ("history", json!({"type": "history", "with": ALICE})),
        ("read", json!({"type": "read", "with": ALICE, "upto": 1})),
        ("typing", json!({"type": "typing", "to": ALICE})),
        (
            "window",
            json!({"type": "window", "with": ALICE, "state": "open"}),
        ),
    ];
    for (ty, frame) in frames {
        alice.send(frame).await;
        let e = alice.expect_error("bad_recipient").await;
        assert_eq!(e["ref"], ty, "{e}");
    }
    for (ty, frame) in [
        ("history", json!({"type": "history", "with": 424242})),
        (
            "window",
            json!({"type": "window", "with": 424242, "state": "open"}),
        ),
        (
            "window",
            json!({"type": "window", "with": DELETED, "state": "minimised"}),
        ),
    ] {
        alice.send(frame).await;
        let e = alice.expect_error("unknown_user").await;
        assert_eq!(e["ref"], ty, "{e}");
    }
    assert_eq!(ctx.db.count("block_dockchat_window").await, 0);
    assert_eq!(ctx.db.count("message_user_actions").await, 0);
    still_alive(&mut alice, 9).await;
    alice.close().await;
    ctx.finish().await;
}
db_test!(yourself_and_unknown_users_are_refused_everywhere);

async fn text_limit_counts_unicode_characters(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    // 4000 emoji: 4000 characters, 16000 bytes, 8000 UTF-16 units — within the limit.
    let max = "😀".repeat(4000);
    alice.send_message(BOB, "emoji-max", &max).await;
    let m = bob.expect("message").await;
    assert_eq!(m["message"]["text"], max.as_str());
    assert_eq!(ctx.db.message_texts().await, vec![max.clone()]);
    // One more character is too long (the frame itself is still under 16 KiB).
    let over = "😀".repeat(4001);
    alice
        .send(json!({"type": "send", "to": BOB, "cid": "emoji-over", "text": over}))
        .await;
    alice.expect_error("text_too_long").await;
    assert_eq!(ctx.db.count("messages").await, 1);
    alice.close().await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(text_limit_counts_unicode_characters);

async fn nul_characters_never_become_an_endless_internal_error(backend: Backend) {
    // PostgreSQL cannot store U+0000 in text; MariaDB can. Either way the answer must be final:
    // an ack (and the same text on both sides), or a client error — never `internal`, which
    // tells the client to retry forever.
    let ctx = Ctx::start(backend).await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    alice
        .send(json!({"type": "send", "to": BOB, "cid": "nul-1", "text": "a\u{0}b"}))
        .await;
    let r = alice.expect_any(&["ack", "error"]).await;
    if r["type"] == "ack" {
        let m = bob.expect("message").await;
        let text = m["message"]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(ctx.db.message_texts().await, vec![text]);
    } else {
        assert_ne!(r["code"], "internal", "{r}");
        assert_eq!(ctx.db.count("messages").await, 0);
    }
    still_alive(&mut alice, 3).await;
    alice.close().await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(nul_characters_never_become_an_endless_internal_error);

async fn abusive_clients_are_closed_with_4008(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut abuser = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    // A client that sends nothing but garbage is cut off, not served forever.
    let mut code = None;
    for i in 0..500 {
        let sent = abuser.try_send_text(&format!("garbage {i}")).await;
        if !sent || i % 50 == 49 {
            if let Some(Frame::Close(c, _)) = abuser
                .next_within(std::time::Duration::from_millis(50))
                .await
            {
                code = Some(c);
                break;
            }
        }
    }
    let code = match code {
        Some(c) => c,
        None => abuser.expect_close().await.0,
    };
    assert_eq!(code, 4008);
    // Other users are unaffected.
    still_alive(&mut bob, 1).await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(abusive_clients_are_closed_with_4008);

/// A `type` whose 32nd byte falls inside a multi-byte character (the attack report's frame) is an
/// `unknown_type` error before and after `hello`; it used to panic the connection task.
async fn a_type_cut_inside_a_character_is_an_error(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let frame = r#"{"type":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaé"}"#;
    let mut anon = Client::connect(&ctx.ws_url()).await;
    anon.send_text(frame).await;
    let e = anon.expect_error("unknown_type").await;
    assert_eq!(e["ref"], "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "{e}");
    anon.hello(&token(ALICE), None).await;
    anon.expect("welcome").await;
    anon.send_text(frame).await;
    anon.expect_error("unknown_type").await;
    still_alive(&mut anon, 1).await;
    anon.close().await;
    ctx.finish().await;
}
db_test!(a_type_cut_inside_a_character_is_an_error);

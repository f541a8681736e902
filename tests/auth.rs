//! Authentication (PROTOCOL §1, §2, §7): Origin check, the HS256 token and every way a token is
//! refused, the Moodle account checks, live sessions, the `hello` deadline and token refresh —
//! against real MariaDB and PostgreSQL.

mod common;

use common::users::*;
use common::*;
use serde_json::json;
use std::time::Duration;

async fn valid_token_gets_welcome(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let c = ctx.client(ALICE).await;
    let w = &c.welcome;
    assert_eq!(w["v"], 1);
    assert_eq!(w["user"]["id"], ALICE);
    assert_eq!(w["user"]["fullname"], "Alice Almeida");
    assert!(
        w["user"]["avatar"]
            .as_str()
            .is_some_and(|a| a.starts_with(SITE_URL)),
        "{w}"
    );
    assert!(w["online"].is_array() && w["windows"].is_array(), "{w}");
    assert_eq!(w["cursor"], 0);
    assert!(w["token_exp"].as_i64().is_some_and(|e| e > now()));
    assert!(w["server_time"]
        .as_i64()
        .is_some_and(|t| (t - now()).abs() < 5));
    assert_eq!(w["limits"]["text_max_chars"], 4000);
    assert_eq!(w["limits"]["frame_max_bytes"], 16384);
    c.close().await;
    ctx.finish().await;
}
db_test!(valid_token_gets_welcome);

async fn forged_and_invalid_tokens_are_refused_with_4001(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let now = now();
    let mut cases: Vec<(&str, String)> = vec![
        ("alg none", token_alg_none(ALICE)),
        (
            "HS384",
            sign_alg(&claims(ALICE), SECRET, jsonwebtoken::Algorithm::HS384),
        ),
        ("RS256 header", token_header_rs256(ALICE)),
        (
            "wrong secret",
            sign(&claims(ALICE), "not-the-secret-not-the-secret-00"),
        ),
        ("garbage", "not.a.jwt".to_string()),
        ("empty", String::new()),
    ];
    let variants: Vec<(&str, serde_json::Value)> = vec![
        ("wrong iss", {
            let mut c = claims(ALICE);
            c["iss"] = json!("http://evil.test");
            c
        }),
        ("wrong aud", {
            let mut c = claims(ALICE);
            c["aud"] = json!("moodle");
            c
        }),
        ("sub not a number", {
            let mut c = claims(ALICE);
            c["sub"] = json!("alice");
            c
        }),
        ("sub zero", {
            let mut c = claims(ALICE);
            c["sub"] = json!("0");
            c
        }),
        ("sub negative", {
            let mut c = claims(ALICE);
            c["sub"] = json!("-4");
            c
        }),
        ("not yet valid", {
            let mut c = claims(ALICE);
            c["nbf"] = json!(now + 600);
            c["iat"] = json!(now + 600);
            c["exp"] = json!(now + 900);
            c
        }),
    ];
    for (name, c) in &variants {
        cases.push((name, sign(c, SECRET)));
    }
    for (name, token) in cases {
        let (code, reason) = refused_with(&ctx, &token).await;
        assert_eq!(code, 4001, "{name}: closed with {code} {reason:?}");
    }
    ctx.finish().await;
}
db_test!(forged_and_invalid_tokens_are_refused_with_4001);

async fn expired_token_is_refused(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut c = claims(ALICE);
    c["iat"] = json!(now() - 1000);
    c["exp"] = json!(now() - 200); // beyond the 60 s leeway
    let (code, reason) = refused_with(&ctx, &sign(&c, SECRET)).await;
    assert!(
        code == 4001 || code == 4002,
        "closed with {code} {reason:?}"
    );
    ctx.finish().await;
}
db_test!(expired_token_is_refused);

async fn unavailable_accounts_are_refused_with_4003(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    for (name, user) in [
        ("suspended", SUSPENDED),
        ("deleted", DELETED),
        ("unconfirmed", UNCONFIRMED),
        ("nologin", NOLOGIN),
        ("no such user", 9999),
    ] {
        let (code, reason) = refused_with(&ctx, &token(user)).await;
        assert_eq!(code, 4003, "{name}: closed with {code} {reason:?}");
    }
    ctx.finish().await;
}
db_test!(unavailable_accounts_are_refused_with_4003);

async fn user_without_live_session_is_refused_with_4004(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    // Ivan's only session is older than sessiontimeout.
    let (code, reason) = refused_with(&ctx, &token(IVAN)).await;
    assert_eq!(code, 4004, "closed with {code} {reason:?}");
    // A session in another state (e.g. being killed) does not count either.
    ctx.db
        .execp(&format!(
            "UPDATE {{p}}sessions SET timemodified = {}, state = 1 WHERE userid = {IVAN}",
            now()
        ))
        .await;
    let (code, _) = refused_with(&ctx, &token(IVAN)).await;
    assert_eq!(code, 4004);
    // Once Moodle refreshes the session, Ivan gets in.
    ctx.db
        .execp(&format!(
            "UPDATE {{p}}sessions SET state = 0 WHERE userid = {IVAN}"
        ))
        .await;
    let c = ctx.client(IVAN).await;
    assert_eq!(c.welcome["user"]["id"], IVAN);
    c.close().await;
    ctx.finish().await;
}
db_test!(user_without_live_session_is_refused_with_4004);

async fn check_sessions_off_accepts_users_without_session(backend: Backend) {
    let ctx = Ctx::start_with(backend, |c| c.auth.check_sessions = false).await;
    let c = ctx.client(IVAN).await;
    assert_eq!(c.welcome["user"]["id"], IVAN);
    // The account checks still apply.
    let (code, _) = refused_with(&ctx, &token(SUSPENDED)).await;
    assert_eq!(code, 4003);
    c.close().await;
    ctx.finish().await;
}
db_test!(check_sessions_off_accepts_users_without_session);

async fn origin_must_match_site_url(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let url = ctx.ws_url();
    assert_eq!(
        upgrade(&url, Some("http://evil.test")).await.err(),
        Some(403)
    );
    assert_eq!(
        upgrade(&url, Some("https://moodle.test")).await.err(),
        Some(403),
        "scheme differs"
    );
    assert_eq!(
        upgrade(&url, Some("http://moodle.test:8080")).await.err(),
        Some(403),
        "port differs"
    );
    assert_eq!(upgrade(&url, None).await.err(), Some(403), "no Origin");
    assert!(upgrade(&url, Some(SITE_URL)).await.is_ok());
    let other = format!("ws://{}/elsewhere", ctx.addr);
    assert_eq!(upgrade(&other, Some(SITE_URL)).await.err(), Some(404));
    ctx.finish().await;
}
db_test!(origin_must_match_site_url);

async fn hello_is_required_in_time(backend: Backend) {
    let ctx = Ctx::start(backend).await; // auth_timeout_secs = 3
    let mut c = Client::connect(&ctx.ws_url()).await;
    c.send(json!({"type": "ping", "n": 1})).await;
    let e = c.expect_error("not_authenticated").await;
    assert_eq!(e["ref"], "ping");
    let (code, _) = c.expect_close().await;
    assert_eq!(code, 4005);

    // A frame before hello does not close the socket: hello still works.
    let mut c = Client::connect(&ctx.ws_url()).await;
    c.send(json!({"type": "send", "to": BOB, "cid": "x1", "text": "hi"}))
        .await;
    c.expect_error("not_authenticated").await;
    c.hello(&token(ALICE), None).await;
    let w = c.expect("welcome").await;
    assert_eq!(w["user"]["id"], ALICE);
    // A second hello is refused, the socket stays usable.
    c.hello(&token(ALICE), None).await;
    c.expect_error("already_authenticated").await;
    c.send(json!({"type": "ping", "n": "still"})).await;
    assert_eq!(c.expect("pong").await["n"], "still");
    assert_eq!(ctx.db.count("messages").await, 0);
    c.close().await;
    ctx.finish().await;
}
db_test!(hello_is_required_in_time);

async fn token_refresh_over_the_socket(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut c = ctx.client(ALICE).await;
    let mut fresh = claims(ALICE);
    fresh["exp"] = json!(now() + 600);
    c.send(json!({"type": "token", "token": sign(&fresh, SECRET)}))
        .await;
    let ok = c.expect("token_ok").await;
    assert_eq!(ok["exp"], fresh["exp"]);

    c.send(json!({"type": "token", "token": token(BOB)})).await;
    c.expect_error("token_mismatch").await;
    c.send(json!({"type": "token", "token": token_alg_none(ALICE)}))
        .await;
    c.expect_error("token_invalid").await;
    // Still open and authenticated as Alice.
    c.send(json!({"type": "ping", "n": 7})).await;
    assert_eq!(c.expect("pong").await["n"], 7);
    c.close().await;
    ctx.finish().await;
}
db_test!(token_refresh_over_the_socket);

async fn connection_closes_4002_when_token_expires(backend: Backend) {
    let ctx = Ctx::start_with(backend, |c| c.auth.token_leeway_secs = 0).await;
    let mut cl = claims(ALICE);
    cl["exp"] = json!(now() + 2);
    let mut c = ctx.client_with_token(&sign(&cl, SECRET), None).await;
    let (code, reason) = c.expect_close().await;
    assert_eq!(code, 4002, "{reason}");
    ctx.finish().await;
}
db_test!(connection_closes_4002_when_token_expires);

async fn connection_caps_close_with_4029(backend: Backend) {
    let ctx = Ctx::start_with(backend, |c| {
        c.limits.max_connections_per_user = 2;
        c.limits.max_connections = 4;
    })
    .await;
    let a1 = ctx.client(ALICE).await;
    let a2 = ctx.client(ALICE).await;
    // Third tab of the same user.
    let (code, reason) = refused_with(&ctx, &token(ALICE)).await;
    assert_eq!(code, 4029, "{reason}");
    // Other users still fit under the server cap...
    let b1 = ctx.client(BOB).await;
    let c1 = ctx.client(CAROL).await;
    // ...until it is reached.
    let mut extra = Client::connect(&ctx.ws_url()).await;
    extra.hello(&token(LEO), None).await;
    let (code, reason) = extra.expect_close().await;
    assert_eq!(code, 4029, "{reason}");
    // A closed tab frees its slot.
    a2.close().await;
    let mut again = None;
    for _ in 0..20 {
        let mut c = Client::connect(&ctx.ws_url()).await;
        c.hello(&token(ALICE), None).await;
        match c.next().await {
            Frame::Json(v) if v["type"] == "welcome" => {
                again = Some(c);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let again = again.expect("slot freed after a tab closed");
    for c in [a1, b1, c1, again] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(connection_caps_close_with_4029);

async fn refreshed_token_extends_the_connection(backend: Backend) {
    let ctx = Ctx::start_with(backend, |c| c.auth.token_leeway_secs = 0).await;
    let mut short = claims(ALICE);
    short["exp"] = json!(now() + 2);
    let mut c = ctx.client_with_token(&sign(&short, SECRET), None).await;
    let mut long = claims(ALICE);
    long["exp"] = json!(now() + 600);
    c.send(json!({"type": "token", "token": sign(&long, SECRET)}))
        .await;
    c.expect("token_ok").await;
    // Well past the first token's expiry the socket is still open and authenticated.
    c.expect_none("error", Duration::from_secs(4)).await;
    c.send(json!({"type": "ping", "n": 5})).await;
    assert_eq!(c.expect("pong").await["n"], 5);
    c.close().await;
    ctx.finish().await;
}
db_test!(refreshed_token_extends_the_connection);

async fn session_timeout_comes_from_moodle_config(backend: Backend) {
    let db = TestDb::standard(backend).await;
    db.execp("UPDATE {p}config SET value = '120' WHERE name = 'sessiontimeout'")
        .await;
    db.execp(&format!(
        "UPDATE {{p}}sessions SET timemodified = {} WHERE userid = {ALICE}",
        now() - 300
    ))
    .await;
    let ctx = Ctx::start_on(db, |_| {}).await;
    // 300 s idle is live under Moodle's default 8 h, but not under this site's 120 s.
    let (code, reason) = refused_with(&ctx, &token(ALICE)).await;
    assert_eq!(code, 4004, "{reason}");
    let bob = ctx.client(BOB).await; // active 60 s ago
    bob.close().await;
    ctx.finish().await;
}
db_test!(session_timeout_comes_from_moodle_config);

async fn concurrent_hellos_each_get_their_own_answer(backend: Backend) {
    // Hellos arriving together are admitted in shared batches: accepted, unavailable and
    // session-less users mixed in one batch must each get their own answer, and the accepted ones
    // their own course-mates.
    let ctx = Ctx::start(backend).await;
    let cases = [
        (ALICE, 0u16),
        (BOB, 0),
        (SUSPENDED, 4003),
        (IVAN, 4004),
        (DELETED, 4003),
        (CAROL, 0),
        (9999, 4003),
        (ALICE, 0),
    ];
    let url = ctx.ws_url();
    let mut tasks = Vec::new();
    for round in 0..4 {
        for (user, expected) in cases {
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = Client::connect(&url).await;
                c.hello(&token(user), None).await;
                let outcome = loop {
                    match c.next().await {
                        Frame::Close(code, _) => break Err(code),
                        Frame::Json(v) if v["type"] == "welcome" => break Ok(v),
                        Frame::Json(_) => continue,
                    }
                };
                (round, user, expected, outcome, c)
            }));
        }
    }
    let mut open = Vec::new();
    for t in tasks {
        let (round, user, expected, outcome, c) = t.await.expect("hello task");
        match outcome {
            Ok(w) => {
                assert_eq!(expected, 0, "round {round}: user {user} was admitted");
                assert_eq!(w["user"]["id"], user, "the welcome names the token's user");
                open.push(c);
            }
            Err(code) => assert_eq!(
                code, expected,
                "round {round}: user {user} closed with {code}"
            ),
        }
    }
    assert_eq!(open.len(), 4 * 4);
    // Everybody admitted is registered with their courses: Alice sees Bob online.
    let mut alice = ctx.client(ALICE).await;
    assert!(alice.online_ids().contains(&BOB), "{:?}", alice.welcome);
    alice
        .expect_none("error", std::time::Duration::from_millis(200))
        .await;
    for c in open {
        c.close().await;
    }
    alice.close().await;
    ctx.finish().await;
}
db_test!(concurrent_hellos_each_get_their_own_answer);

/// Waits until `c` answers a ping: the socket is still open and authenticated.
async fn still_open(c: &mut Client, n: i64) {
    c.send(json!({"type": "ping", "n": n})).await;
    assert_eq!(c.expect("pong").await["n"], n, "socket {n} still open");
}

async fn a_logout_closes_only_that_browsers_sockets(backend: Backend) {
    // Alice is logged in on two browsers (two Moodle sessions), with two tabs in each.
    let ctx = Ctx::start(backend).await; // revalidate_interval_secs = 1
    let laptop = session_id(ALICE);
    let phone = "second-browser-of-alice";
    ctx.db.add_session(ALICE, phone).await;
    let mut laptop_tabs = Vec::new();
    let mut phone_tabs = Vec::new();
    for _ in 0..2 {
        laptop_tabs.push(
            ctx.client_with_token(&token_in_session(ALICE, &laptop), None)
                .await,
        );
        phone_tabs.push(
            ctx.client_with_token(&token_in_session(ALICE, phone), None)
                .await,
        );
    }
    // She logs out on the phone: Moodle deletes that session row only.
    ctx.db
        .execp(&format!("DELETE FROM {{p}}sessions WHERE sid = '{phone}'"))
        .await;
    for tab in phone_tabs.iter_mut() {
        let (code, reason) = tab.expect_close().await;
        assert_eq!(code, 4004, "the logged-out browser's tab: {reason}");
    }
    // Two more revalidation rounds: the laptop's tabs stay and still get messages.
    for tab in laptop_tabs.iter_mut() {
        tab.expect_none("error", Duration::from_millis(2200)).await;
    }
    for (n, tab) in laptop_tabs.iter_mut().enumerate() {
        still_open(tab, n as i64).await;
    }
    let mut bob = ctx.client(BOB).await;
    let ack = bob
        .send_message(ALICE, "after-logout", "still there?")
        .await;
    for tab in laptop_tabs.iter_mut() {
        let m = tab.expect("message").await;
        assert_eq!(m["message"]["id"], ack["id"]);
    }
    for tab in laptop_tabs {
        tab.close().await;
    }
    bob.close().await;
    ctx.finish().await;
}
db_test!(a_logout_closes_only_that_browsers_sockets);

async fn hello_must_name_a_live_session_of_the_user(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let without_sid = {
        let mut c = claims(ALICE);
        c.as_object_mut().expect("claims object").remove("sid");
        sign(&c, SECRET)
    };
    let raw_sid = {
        let mut c = claims(ALICE);
        c["sid"] = json!(session_id(ALICE)); // the cookie itself, not its sha256
        sign(&c, SECRET)
    };
    let cases = [
        (
            "Bob's session",
            token_in_session(ALICE, &session_id(BOB)),
            4004,
        ),
        (
            "no such session",
            token_in_session(ALICE, "never-existed"),
            4004,
        ),
        (
            "Ivan's expired session",
            token_in_session(IVAN, &session_id(IVAN)),
            4004,
        ),
        ("without sid", without_sid.clone(), 4004),
        ("sid not sha256 hex", raw_sid, 4001),
    ];
    for (name, token, expected) in cases {
        let (code, reason) = refused_with(&ctx, &token).await;
        assert_eq!(code, expected, "{name}: closed with {code} {reason:?}");
    }
    // Her own session gets in.
    let c = ctx
        .client_with_token(&token_in_session(ALICE, &session_id(ALICE)), None)
        .await;
    c.close().await;
    ctx.finish().await;

    // With check_sessions off no session is looked up: a token without sid is admitted.
    let ctx = Ctx::start_with(backend, |c| c.auth.check_sessions = false).await;
    let c = ctx.client_with_token(&without_sid, None).await;
    assert_eq!(c.welcome["user"]["id"], ALICE);
    c.close().await;
    ctx.finish().await;
}
db_test!(hello_must_name_a_live_session_of_the_user);

async fn token_refresh_must_keep_the_session(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let other = "second-browser-of-alice";
    ctx.db.add_session(ALICE, other).await;
    let mut c = ctx.client(ALICE).await; // bound to her fixture session
                                         // A token of her other (live) session would move the socket to it: refused.
    c.send(json!({"type": "token", "token": token_in_session(ALICE, other)}))
        .await;
    c.expect_error("token_mismatch").await;
    let mut no_sid = claims(ALICE);
    no_sid.as_object_mut().expect("claims object").remove("sid");
    c.send(json!({"type": "token", "token": sign(&no_sid, SECRET)}))
        .await;
    c.expect_error("token_mismatch").await;
    // The same session refreshes.
    c.send(json!({"type": "token", "token": token(ALICE)}))
        .await;
    c.expect("token_ok").await;
    // Still bound to the fixture session: deleting the other one leaves the socket open.
    ctx.db
        .execp(&format!("DELETE FROM {{p}}sessions WHERE sid = '{other}'"))
        .await;
    c.expect_none("error", Duration::from_millis(2200)).await;
    still_open(&mut c, 1).await;
    c.close().await;
    ctx.finish().await;
}
db_test!(token_refresh_must_keep_the_session);

async fn token_lifetime_is_at_most_an_hour(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let now = now();
    let with = |iat: Option<i64>, exp: i64| {
        let mut c = claims(ALICE);
        match iat {
            Some(t) => c["iat"] = json!(t),
            None => {
                c.as_object_mut().expect("claims object").remove("iat");
            }
        }
        c["exp"] = json!(exp);
        sign(&c, SECRET)
    };
    let refused = [
        ("ten years", with(Some(now), now + 10 * 365 * 86_400)),
        ("one hour and a second", with(Some(now), now + 3601)),
        ("no iat", with(None, now + 300)),
        // Ways around the lifetime maximum.
        (
            "iat backdated, two hours",
            with(Some(now - 3600), now + 3600),
        ),
        ("iat an hour ahead", with(Some(now + 3600), now + 7200)),
        ("iat beyond the leeway", with(Some(now + 600), now + 900)),
    ];
    for (name, token) in refused {
        let (code, reason) = refused_with(&ctx, &token).await;
        assert_eq!(code, 4001, "{name}: closed with {code} {reason:?}");
    }
    // Exactly one hour, and a clock 30 s ahead (within the leeway), are accepted.
    for token in [
        with(Some(now), now + 3600),
        with(Some(now + 30), now + 30 + 3600),
    ] {
        ctx.client_with_token(&token, None).await.close().await;
    }
    ctx.finish().await;
}
db_test!(token_lifetime_is_at_most_an_hour);

async fn sub_must_be_the_canonical_user_id(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    for sub in [
        json!("+4"),
        json!("004"),
        json!(" 4"),
        json!("4 "),
        json!("4.0"),
        json!("0x4"),
        json!(4),
        json!("99999999999999999999"),
    ] {
        let mut c = claims(ALICE);
        c["sub"] = sub.clone();
        let (code, reason) = refused_with(&ctx, &sign(&c, SECRET)).await;
        assert_eq!(code, 4001, "sub {sub}: closed with {code} {reason:?}");
    }
    ctx.finish().await;
}
db_test!(sub_must_be_the_canonical_user_id);

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
    assert_eq!(ctx.db.count("block_dockchat_msg").await, 0);
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

//! Property-based fuzzing of everything the daemon does with a client's text frame before any I/O:
//! `protocol::decode`, `valid_cid`, `normalise_text` and `clip`. No input may panic (a panic in the
//! connection task drops the socket without an error frame), and every answer keeps its contract.
//!
//! CI runs a fixed number of cases per strategy. A long local run takes a time budget instead:
//! `DOCKCHAT_FUZZ_SECS=3600 cargo test --release --test protocol_fuzz -- --nocapture` repeats every
//! strategy with fresh seeds until the time is up and prints how many inputs it tried.

use dockchat::protocol::{
    clip, decode, normalise_text, valid_cid, ClientFrame, ErrorCode, TextError, CID_MAX_LEN,
    CONVERSATIONS_MAX, COURSE_MEMBERS_MAX, PEOPLE_QUERY_MAX, PEOPLE_QUERY_MIN, REF_MAX_BYTES,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::time::{Duration, Instant};

/// The DEL control character, dropped from texts.
const DEL: char = '\u{7f}';

/// Cases per strategy and round.
const CASES: u32 = 2_000;

/// Strings with the characters that break byte-based code: multi-byte scalars, controls, quotes,
/// backslashes and JSON escapes.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,80}",
        "[a-zé😀\\\\\"\\u{0}-\\u{1f}\\u{7f}\\u{80}-\\u{10ffff}]{0,80}",
        "(\\\\u[0-9a-fA-F]{4}|\\\\[nrt\"/]|[a-z]){0,40}",
    ]
}

/// Any JSON value, nested a little.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)),
        tricky_string().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(tricky_string(), inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

const TYPES: &[&str] = &[
    "hello",
    "token",
    "send",
    "history",
    "read",
    "typing",
    "window",
    "conversations",
    "activity",
    "ping",
];
const FIELDS: &[&str] = &[
    "v", "token", "since", "to", "cid", "text", "with", "before", "limit", "upto", "state", "n",
    "conv",
];

/// Objects shaped like client frames: a known or random `type`, known field names with random
/// values, and random extra fields.
fn frame_object() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        prop::sample::select(TYPES).prop_map(serde_json::Value::from),
        tricky_string().prop_map(serde_json::Value::from),
        json_value(),
    ];
    let fields = prop::collection::vec((prop::sample::select(FIELDS), json_value()), 0..6);
    let extra = prop::collection::vec((tricky_string(), json_value()), 0..2);
    (kind, fields, extra).prop_map(|(kind, fields, extra)| {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), kind);
        for (k, v) in fields {
            m.insert(k.to_string(), v);
        }
        for (k, v) in extra {
            m.insert(k, v);
        }
        serde_json::Value::Object(m).to_string()
    })
}

/// Valid frames with bytes flipped, cut or inserted.
fn mutated_frame() -> impl Strategy<Value = String> {
    let valid = prop::sample::select(vec![
        r#"{"type":"hello","v":1,"token":"a.b.c","since":5}"#,
        r#"{"type":"send","to":7,"cid":"c-1","text":"olá 😀"}"#,
        r#"{"type":"send","conv":311,"cid":"c-2","text":"to the group"}"#,
        r#"{"type":"history","with":7,"before":100,"limit":20}"#,
        r#"{"type":"read","with":7,"upto":9}"#,
        r#"{"type":"window","with":7,"state":"minimised"}"#,
        r#"{"type":"conversations","offset":20,"limit":20}"#,
        r#"{"type":"people","query":"ana li"}"#,
        r#"{"type":"block","user":7,"block":true}"#,
        r#"{"type":"mute","conv":311,"mute":false}"#,
        r#"{"type":"star","with":7}"#,
        r#"{"type":"delete","id":1042}"#,
        r#"{"type":"delete_conversation","conv":311}"#,
        r#"{"type":"ping","n":{"a":[1,2]}}"#,
        r#"{"type":"activity","state":"hidden"}"#,
        r#"{"type":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaé"}"#,
    ]);
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..6);
    (valid, edits).prop_map(|(valid, edits)| {
        let mut bytes = valid.as_bytes().to_vec();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ => bytes.insert(i, byte),
            }
        }
        // A text frame is valid UTF-8 (tungstenite refuses others before they reach decode).
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// What must hold for any text frame.
fn check_frame(text: &str) -> Result<(), TestCaseError> {
    match decode(text) {
        Ok(frame) => check_decoded(&frame),
        Err((e, reference)) => {
            let code = e.code();
            prop_assert!(matches!(
                code,
                ErrorCode::BadJson | ErrorCode::UnknownType | ErrorCode::BadFrame
            ));
            if let Some(r) = reference {
                prop_assert!(r.len() <= REF_MAX_BYTES, "ref of {} bytes", r.len());
            }
            Ok(())
        }
    }
}

/// Exactly one of a user id and a conversation id, and it is positive.
fn check_target(user: Option<i64>, conv: Option<i64>) -> Result<(), TestCaseError> {
    match (user, conv) {
        (Some(id), None) | (None, Some(id)) => prop_assert!(id > 0),
        _ => prop_assert!(false, "both or neither of the user and conv"),
    }
    Ok(())
}

/// A decoded frame satisfies the validation PROTOCOL.md §4 promises.
fn check_decoded(frame: &ClientFrame) -> Result<(), TestCaseError> {
    match frame {
        ClientFrame::Send {
            to,
            conv,
            cid,
            text,
        } => {
            check_target(*to, *conv)?;
            // What the service does next with the fields must not panic either.
            let _ = valid_cid(cid);
            check_text(text)?;
        }
        ClientFrame::History {
            with,
            conv,
            before,
            limit,
        } => {
            check_target(*with, *conv)?;
            prop_assert!(before.is_none_or(|b| b > 0));
            prop_assert!(limit.is_none_or(|l| l > 0));
        }
        ClientFrame::Read { with, conv, upto } => {
            check_target(*with, *conv)?;
            prop_assert!(*upto >= 0);
        }
        ClientFrame::Typing { to, conv } => check_target(*to, *conv)?,
        ClientFrame::Window { with, .. } => prop_assert!(*with > 0),
        ClientFrame::Hello { since, .. } => prop_assert!(since.is_none_or(|s| s >= 0)),
        ClientFrame::People { query } => {
            let n = query.trim().chars().count();
            prop_assert!((PEOPLE_QUERY_MIN..=PEOPLE_QUERY_MAX).contains(&n));
        }
        ClientFrame::Conversations { limit, .. } => {
            prop_assert!(limit.is_none_or(|l| (1..=CONVERSATIONS_MAX).contains(&l)))
        }
        ClientFrame::Block { user, .. } => prop_assert!(*user > 0),
        ClientFrame::Mute { with, conv, .. }
        | ClientFrame::Star { with, conv }
        | ClientFrame::DeleteConversation { with, conv } => check_target(*with, *conv)?,
        ClientFrame::Delete { id } => prop_assert!(*id > 0),
        ClientFrame::CourseMembers { course, limit, .. } => {
            prop_assert!(*course > 0);
            prop_assert!(limit.is_none_or(|l| (1..=COURSE_MEMBERS_MAX).contains(&l)))
        }
        ClientFrame::Token { .. }
        | ClientFrame::Ping { .. }
        | ClientFrame::Activity { .. }
        | ClientFrame::Roster {} => {}
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), TestCaseError> {
    for max in [1usize, 4, 4000] {
        match normalise_text(text, max) {
            Ok(t) => {
                prop_assert!(!t.is_empty() && t.chars().count() <= max);
                prop_assert!(t
                    .chars()
                    .all(|c| c >= ' ' || c == '\t' || c == '\n' || c == '\r'));
                prop_assert!(!t.contains(DEL), "DEL kept");
                prop_assert_eq!(t.trim_end().len(), t.len());
            }
            Err(TextError::Empty) => prop_assert!(
                text.chars()
                    .all(|c| c.is_whitespace() || c < ' ' || c == DEL),
                "refused as empty"
            ),
            Err(TextError::TooLong) => prop_assert!(text.chars().count() > max),
        }
    }
    Ok(())
}

fn check_clip(s: &str, max: usize) -> Result<(), TestCaseError> {
    let c = clip(s, max);
    prop_assert!(c.len() <= max && s.starts_with(c));
    // The longest such prefix: one more character would not fit.
    if c.len() < s.len() {
        let next = s[c.len()..].chars().next().map_or(0, char::len_utf8);
        prop_assert!(c.len() + next > max);
    }
    Ok(())
}

fn check_cid(cid: &str) -> Result<(), TestCaseError> {
    let ok = valid_cid(cid);
    let expected = !cid.is_empty()
        && cid.len() <= CID_MAX_LEN
        && cid
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    prop_assert_eq!(ok, expected);
    Ok(())
}

/// Runs every strategy once with `cases` cases and seeds from `rng`; returns the inputs tried.
fn round(cases: u32, seed: [u8; 32]) -> u64 {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let runner = || {
        TestRunner::new_with_rng(
            config.clone(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
        )
    };
    if let Err(e) = runner().run(&tricky_string(), |s| check_frame(&s)) {
        panic!("any string: {e}");
    }
    if let Err(e) = runner().run(&frame_object(), |s| check_frame(&s)) {
        panic!("frame-shaped object: {e}");
    }
    if let Err(e) = runner().run(&mutated_frame(), |s| check_frame(&s)) {
        panic!("mutated frame: {e}");
    }
    if let Err(e) = runner().run(&(tricky_string(), 0usize..70), |(s, n)| check_clip(&s, n)) {
        panic!("clip: {e}");
    }
    if let Err(e) = runner().run(&tricky_string(), |s| {
        check_cid(&s)?;
        check_text(&s)
    }) {
        panic!("cid and text: {e}");
    }
    5 * cases as u64
}

#[test]
fn no_client_frame_panics_the_decoder() {
    let budget = std::env::var("DOCKCHAT_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let Some(secs) = budget else {
        round(CASES, [7; 32]);
        return;
    };
    let started = Instant::now();
    let (mut tried, mut rounds) = (0u64, 0u64);
    while started.elapsed() < Duration::from_secs(secs) {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&rounds.to_le_bytes());
        let nanos = started.elapsed().as_nanos() as u64;
        seed[8..16].copy_from_slice(&nanos.to_le_bytes());
        tried += round(CASES, seed);
        rounds += 1;
    }
    println!(
        "fuzzed {tried} inputs in {rounds} rounds over {:.0} s: 0 panics",
        started.elapsed().as_secs_f64()
    );
}

/// The frame from the attack report: a 32-byte cut inside `é` used to panic.
#[test]
fn unknown_type_ending_in_a_multibyte_character() {
    let (e, r) = decode(r#"{"type":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaé"}"#).unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnknownType);
    assert_eq!(r.as_deref(), Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

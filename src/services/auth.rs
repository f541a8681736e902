//! Authentication: who is on the other end of a socket (docs/PROTOCOL.md §2).
//!
//! Owns: verifying the block's HS256 token (algorithm, signature, exp/nbf with leeway, iat and the
//! lifetime maximum, iss, aud, canonical sub, sid, caps), the account check in Moodle's tables
//! (active, and the token's session live) and the batched re-validation of connected users; the
//! session binding: a socket belongs to the Moodle session whose id hashes to the token's `sid`
//! ([`SessionHash`], in [`Verified::sid`]), checked at `hello` and at every re-validation, so a
//! logout closes that browser's sockets whatever other sessions the user has (a token refresh must
//! carry the socket's `sid`: `connection` compares them); the shared secret (from the config or
//! `config_plugins`, re-read periodically so a regenerated secret takes effect). Admission is
//! batched ([`crate::store::batch`]): concurrent hellos queue their user ids, and up to four
//! batches of up to [`ADMIT_BATCH`] are looked up at once — account, live sessions and active
//! courses (for presence) with three `IN (...)` queries per 100 users instead of three queries per
//! hello, which is what lets a connect storm through.
//! Must not: trust anything else from the browser, log tokens or session ids, or touch sockets.
//! Failures are typed ([`AuthError`]) and map to close codes.

use crate::protocol::close;
use crate::store::batch::Batcher;
use crate::store::moodle::UserRow;
use crate::store::{now, Store, StoreError};
use jsonwebtoken::{decode, errors::ErrorKind, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

/// Where the block keeps the secret in `config_plugins`.
pub const SECRET_PLUGIN: &str = "block_dockchat";
pub const SECRET_NAME: &str = "secret";
/// Moodle's default `sessiontimeout` (8 h).
pub const DEFAULT_SESSION_TIMEOUT: i64 = 28_800;
/// Most hellos looked up together (ten padded `IN (...)` lists of the store). Large batches also
/// make a storm's presence cheaper: the users of one batch come online in one scheduler pass, so a
/// mate's socket gets their `presence` frames in one write.
pub const ADMIT_BATCH: usize = 10 * crate::store::BATCH;
/// Admission batches in flight at once (each uses one pool connection at a time).
const ADMIT_CONCURRENCY: usize = 4;
/// Hellos waiting for admission before new ones wait to be queued.
const ADMIT_QUEUE: usize = 16_384;
/// Longest token lifetime (`exp - iat`) accepted, in seconds: the block mints at most this.
pub const MAX_TOKEN_LIFETIME: i64 = 3600;

/// The sha256 of a Moodle session id (`sessions.sid`, the `MoodleSession` cookie): what the
/// token's `sid` carries (as lowercase hex) and what binds a socket to its browser's session. The
/// cookie itself never leaves Moodle's tables; only its hash is kept.
pub type SessionHash = [u8; 32];

/// The [`SessionHash`] of a Moodle session id.
pub fn session_hash(session_id: &str) -> SessionHash {
    Sha256::digest(session_id.as_bytes()).into()
}

/// The token `sid` claim for a Moodle session id, as the block writes it: `hash('sha256', $sid)`,
/// lowercase hex (for minters in this crate: the demo and the benchmark).
pub fn token_sid(session_id: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in session_hash(session_id) {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// Parses a token `sid`: exactly 64 lowercase hex digits.
fn parse_sid(hex: &str) -> Option<SessionHash> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let &[hi, lo] = pair else { return None };
        *o = digit(hi)? << 4 | digit(lo)?;
    }
    Some(out)
}

/// Parses `sub`: the user id exactly as PHP's `(string) $userid` writes it — decimal digits, no
/// sign, no leading zero, no space, positive, fitting in an i64.
fn parse_sub(sub: &str) -> Option<i64> {
    let canonical = sub.bytes().all(|b| b.is_ascii_digit()) && !sub.starts_with('0');
    canonical
        .then(|| sub.parse::<i64>().ok())
        .flatten()
        .filter(|id| *id > 0)
}

/// Why a connection is refused or closed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("token refused: {0}")]
    Token(&'static str),
    #[error("token expired")]
    Expired,
    #[error("account unavailable")]
    AccountUnavailable,
    #[error("no live Moodle session")]
    NoSession,
    #[error("no token secret configured")]
    NoSecret,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthError {
    /// The WebSocket close code for this refusal.
    pub fn close_code(&self) -> u16 {
        match self {
            AuthError::Token(_) | AuthError::Expired | AuthError::NoSecret => close::TOKEN_INVALID,
            AuthError::AccountUnavailable => close::ACCOUNT_UNAVAILABLE,
            AuthError::NoSession => close::SESSION_ENDED,
            AuthError::Store(_) => 1011,
        }
    }

    /// Short close reason (no secrets, no token).
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Token(r) => r,
            AuthError::Expired => "token_invalid: expired",
            AuthError::AccountUnavailable => "account unavailable",
            AuthError::NoSession => "Moodle session ended",
            AuthError::NoSecret => "token_invalid: no secret configured",
            AuthError::Store(_) => "internal error",
        }
    }
}

/// Capability answers carried by the token (computed by Moodle's role engine).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Caps {
    pub send: bool,
    pub readall: bool,
    pub anyuser: bool,
    pub anyusercourses: Vec<i64>,
    /// `moodle/site:deleteownmessage` (delete for me, PROTOCOL §4.1).
    pub deleteown: bool,
    /// `moodle/user:viewhiddendetails` (system context): sees `last_seen` even when the site hides
    /// `lastaccess`.
    pub viewhidden: bool,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    caps: Option<Caps>,
}

/// A verified token.
#[derive(Debug, Clone)]
pub struct Verified {
    pub user_id: i64,
    pub exp: i64,
    /// The Moodle session the token was minted in (`None`: the token has no `sid`).
    pub sid: Option<SessionHash>,
    pub caps: Arc<Caps>,
}

/// Verifies tokens with the current secret.
#[derive(Debug)]
pub struct TokenVerifier {
    key: RwLock<Option<(String, Arc<DecodingKey>)>>,
    validation: Validation,
    leeway: i64,
}

impl TokenVerifier {
    pub fn new(issuer: &str, audience: &str, leeway_secs: u64) -> Self {
        let mut v = Validation::new(Algorithm::HS256);
        v.algorithms = vec![Algorithm::HS256];
        v.leeway = leeway_secs;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.set_issuer(&[issuer]);
        v.set_audience(&[audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        TokenVerifier {
            key: RwLock::new(None),
            validation: v,
            leeway: i64::try_from(leeway_secs).unwrap_or(i64::MAX),
        }
    }

    /// Installs a secret; returns true when it differs from the previous one.
    pub fn set_secret(&self, secret: &str) -> bool {
        let Ok(mut g) = self.key.write() else {
            return false;
        };
        if g.as_ref().is_some_and(|(s, _)| s == secret) {
            return false;
        }
        *g = Some((
            secret.to_string(),
            Arc::new(DecodingKey::from_secret(secret.as_bytes())),
        ));
        true
    }

    pub fn has_secret(&self) -> bool {
        self.key.read().map(|g| g.is_some()).unwrap_or(false)
    }

    /// Checks signature, algorithm and claims.
    pub fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        let key = self
            .key
            .read()
            .ok()
            .and_then(|g| g.as_ref().map(|(_, k)| k.clone()))
            .ok_or(AuthError::NoSecret)?;
        if token.len() > 8192 {
            return Err(AuthError::Token("token_invalid: too long"));
        }
        let data = decode::<Claims>(token, &key, &self.validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::InvalidSignature => AuthError::Token("token_invalid: bad signature"),
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                AuthError::Token("token_invalid: algorithm not allowed")
            }
            ErrorKind::InvalidIssuer => AuthError::Token("token_invalid: wrong issuer"),
            ErrorKind::InvalidAudience => AuthError::Token("token_invalid: wrong audience"),
            ErrorKind::ImmatureSignature => AuthError::Token("token_invalid: not yet valid"),
            ErrorKind::MissingRequiredClaim(_) => AuthError::Token("token_invalid: missing claim"),
            _ => AuthError::Token("token_invalid: malformed"),
        })?;
        let c = data.claims;
        let user_id = parse_sub(&c.sub).ok_or(AuthError::Token("token_invalid: bad sub"))?;
        check_lifetime(c.iat, c.exp, now(), self.leeway)?;
        let sid = match c.sid.as_deref() {
            None => None,
            Some(hex) => Some(parse_sid(hex).ok_or(AuthError::Token("token_invalid: bad sid"))?),
        };
        Ok(Verified {
            user_id,
            exp: c.exp,
            sid,
            caps: Arc::new(c.caps.unwrap_or_default()),
        })
    }
}

/// `iat` is required and not in the future beyond the clock-skew `leeway`, and the lifetime
/// `exp - iat` is positive and at most [`MAX_TOKEN_LIFETIME`] (no leeway there: both come from the
/// minter's clock). Together they keep `exp` within `MAX_TOKEN_LIFETIME + leeway` of now.
fn check_lifetime(iat: Option<i64>, exp: i64, now: i64, leeway: i64) -> Result<(), AuthError> {
    let iat = iat.ok_or(AuthError::Token("token_invalid: missing claim"))?;
    if iat > now.saturating_add(leeway) {
        return Err(AuthError::Token("token_invalid: issued in the future"));
    }
    let lifetime = exp.saturating_sub(iat);
    if lifetime <= 0 || lifetime > MAX_TOKEN_LIFETIME {
        return Err(AuthError::Token(
            "token_invalid: lifetime not within 1..3600 s",
        ));
    }
    Ok(())
}

/// Token verification plus the account check against Moodle.
#[derive(Debug)]
pub struct Authenticator {
    pub verifier: TokenVerifier,
    store: Store,
    check_sessions: bool,
    fixed_secret: Option<String>,
    session_timeout: Arc<AtomicI64>,
    admit: Batcher<i64, Admission>,
}

/// What Moodle's tables say about a user who says `hello`.
#[derive(Debug, Clone, Default)]
struct Admission {
    /// The account, if active.
    user: Option<UserRow>,
    /// The user's live Moodle sessions (only looked up when sessions are checked).
    sessions: Vec<SessionHash>,
    /// Courses with an active enrolment (presence's course-mates).
    courses: Vec<i64>,
}

/// What the re-validation found about a connected user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The account is no longer usable: close every socket of the user with this code.
    Gone(u16),
    /// The account is fine and these are its live Moodle sessions: a socket bound to any other
    /// session is closed with 4004 (only when sessions are checked).
    Sessions(Vec<SessionHash>),
}

impl Authenticator {
    pub fn new(
        store: Store,
        site_url: &str,
        audience: &str,
        leeway: u64,
        check_sessions: bool,
        fixed_secret: Option<String>,
    ) -> Self {
        let verifier = TokenVerifier::new(site_url, audience, leeway);
        if let Some(s) = &fixed_secret {
            verifier.set_secret(s);
        }
        let session_timeout = Arc::new(AtomicI64::new(DEFAULT_SESSION_TIMEOUT));
        let admit = {
            let (store, timeout) = (store.clone(), session_timeout.clone());
            Batcher::spawn(
                "admission",
                ADMIT_BATCH,
                ADMIT_CONCURRENCY,
                ADMIT_QUEUE,
                move |ids: Vec<i64>| {
                    let store = store.clone();
                    let cutoff = check_sessions.then(|| now() - timeout.load(Ordering::Relaxed));
                    async move { admit_batch(&store, &ids, cutoff).await }
                },
            )
        };
        Authenticator {
            verifier,
            store,
            check_sessions,
            fixed_secret,
            session_timeout,
            admit,
        }
    }

    /// Re-reads what comes from Moodle's settings: the secret (unless fixed in the config) and
    /// `sessiontimeout`. Called at start and periodically.
    pub async fn reload_settings(&self) -> Result<(), StoreError> {
        if self.fixed_secret.is_none() {
            match self.store.plugin_config(SECRET_PLUGIN, SECRET_NAME).await? {
                Some(s) if !s.trim().is_empty() => {
                    if self.verifier.set_secret(s.trim()) {
                        tracing::info!("token secret loaded from config_plugins");
                    }
                }
                _ => tracing::warn!(
                    "no token secret: config_plugins block_dockchat/secret is empty and token_secret is not set"
                ),
            }
        }
        if let Some(v) = self.store.config_value("sessiontimeout").await? {
            if let Ok(t) = v.trim().parse::<i64>() {
                if t > 0 {
                    self.session_timeout.store(t, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }

    fn session_cutoff(&self) -> i64 {
        now() - self.session_timeout.load(Ordering::Relaxed)
    }

    /// Token, then account: the verified claims, the account and its active courses. When
    /// sessions are checked, the token's `sid` must name a live session of that user (a token
    /// without `sid` has no session to bind to and is refused like a logged-out one).
    pub async fn authenticate(
        &self,
        token: &str,
    ) -> Result<(Verified, UserRow, Vec<i64>), AuthError> {
        let v = self.verifier.verify(token)?;
        let a = self.admit.get(v.user_id).await?;
        let user = a.user.ok_or(AuthError::AccountUnavailable)?;
        if self.check_sessions && !v.sid.is_some_and(|sid| a.sessions.contains(&sid)) {
            return Err(AuthError::NoSession);
        }
        Ok((v, user, a.courses))
    }

    /// Re-checks connected users in batches: users whose account is gone, and (when sessions are
    /// checked) the live sessions of every other one. Users with nothing to act on are left out.
    pub async fn revalidate(&self, ids: &[i64]) -> Result<HashMap<i64, Standing>, StoreError> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let active = self.store.active_users(ids).await?;
        let mut live = if self.check_sessions {
            Some(live_sessions(&self.store, ids, self.session_cutoff()).await?)
        } else {
            None
        };
        for id in ids {
            if !active.contains_key(id) {
                out.insert(*id, Standing::Gone(close::ACCOUNT_UNAVAILABLE));
            } else if let Some(live) = live.as_mut() {
                let sessions = live.remove(id).unwrap_or_default();
                out.insert(*id, Standing::Sessions(sessions));
            }
        }
        Ok(out)
    }
}

/// The live Moodle sessions of `ids`, hashed at once (the session ids are cookies: not kept).
async fn live_sessions(
    store: &Store,
    ids: &[i64],
    cutoff: i64,
) -> Result<HashMap<i64, Vec<SessionHash>>, StoreError> {
    let rows = store.live_session_ids(ids, cutoff).await?;
    let mut out: HashMap<i64, Vec<SessionHash>> = HashMap::new();
    for (user, sid) in rows {
        out.entry(user).or_default().push(session_hash(&sid));
    }
    Ok(out)
}

/// Account, live session (when `session_cutoff` is given) and active courses of `ids`.
async fn admit_batch(
    store: &Store,
    ids: &[i64],
    session_cutoff: Option<i64>,
) -> Result<HashMap<i64, Admission>, StoreError> {
    let users = store.active_users(ids).await?;
    let active: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| users.contains_key(id))
        .collect();
    let mut sessions = match session_cutoff {
        Some(cutoff) if !active.is_empty() => live_sessions(store, &active, cutoff).await?,
        _ => HashMap::new(),
    };
    let mut courses = if active.is_empty() {
        HashMap::new()
    } else {
        store.active_courses(&active, now()).await?
    };
    Ok(users
        .into_iter()
        .map(|(id, user)| {
            let a = Admission {
                sessions: sessions.remove(&id).unwrap_or_default(),
                courses: courses.remove(&id).unwrap_or_default(),
                user: Some(user),
            };
            (id, a)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn verifier() -> TokenVerifier {
        let v = TokenVerifier::new("https://moodle.example.edu", "dockchat", 60);
        v.set_secret(SECRET);
        v
    }

    fn token(alg: Algorithm, claims: serde_json::Value, secret: &str) -> String {
        encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn claims() -> serde_json::Value {
        let t = now();
        json!({"iss":"https://moodle.example.edu","aud":"dockchat","sub":"42","iat":t,"exp":t+300,
               "caps":{"send":true,"anyusercourses":[3,4]}})
    }

    #[test]
    fn accepts_a_good_token() {
        let v = verifier()
            .verify(&token(Algorithm::HS256, claims(), SECRET))
            .unwrap();
        assert_eq!(v.user_id, 42);
        assert!(v.caps.send);
        assert!(!v.caps.readall);
        assert_eq!(v.caps.anyusercourses, vec![3, 4]);
    }

    #[test]
    fn refuses_bad_tokens() {
        let v = verifier();
        // Wrong secret.
        assert!(matches!(
            v.verify(&token(
                Algorithm::HS256,
                claims(),
                "another-secret-another-secret"
            )),
            Err(AuthError::Token(_))
        ));
        // Other HMAC algorithm with the right secret.
        assert!(matches!(
            v.verify(&token(Algorithm::HS512, claims(), SECRET)),
            Err(AuthError::Token(_))
        ));
        // alg none, unsigned.
        use base64_like::b64;
        let none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT"}"#),
            b64(claims().to_string().as_bytes())
        );
        assert!(matches!(v.verify(&none), Err(AuthError::Token(_))));
        // Expired beyond leeway.
        let mut c = claims();
        c["exp"] = json!(now() - 120);
        assert!(matches!(
            v.verify(&token(Algorithm::HS256, c, SECRET)),
            Err(AuthError::Expired)
        ));
        // Expired within leeway is accepted.
        let mut c = claims();
        c["iat"] = json!(now() - 310);
        c["exp"] = json!(now() - 10);
        assert!(v.verify(&token(Algorithm::HS256, c, SECRET)).is_ok());
        // Not yet valid.
        let mut c = claims();
        c["nbf"] = json!(now() + 600);
        assert!(v.verify(&token(Algorithm::HS256, c, SECRET)).is_err());
        // Wrong issuer / audience.
        let mut c = claims();
        c["iss"] = json!("https://evil.example");
        assert!(v.verify(&token(Algorithm::HS256, c, SECRET)).is_err());
        let mut c = claims();
        c["aud"] = json!("other");
        assert!(v.verify(&token(Algorithm::HS256, c, SECRET)).is_err());
        // Bad subjects.
        for sub in [json!("0"), json!("-4"), json!("abc"), json!(null)] {
            let mut c = claims();
            c["sub"] = sub;
            assert!(v.verify(&token(Algorithm::HS256, c, SECRET)).is_err());
        }
        // Missing exp.
        let mut c = claims();
        c.as_object_mut().unwrap().remove("exp");
        assert!(v.verify(&token(Algorithm::HS256, c, SECRET)).is_err());
        // Garbage.
        assert!(v.verify("not.a.token").is_err());
    }

    fn verify_with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Verified, AuthError> {
        let mut c = claims();
        edit(&mut c);
        verifier().verify(&token(Algorithm::HS256, c, SECRET))
    }

    #[test]
    fn lifetime_is_at_most_an_hour_and_iat_is_required() {
        let t = now();
        let lifetime = |iat: i64, exp: i64| {
            verify_with(|c| {
                c["iat"] = json!(iat);
                c["exp"] = json!(exp);
            })
        };
        assert!(lifetime(t, t + 3600).is_ok(), "exactly one hour");
        assert!(lifetime(t, t + 60).is_ok());
        assert!(
            lifetime(t + 50, t + 50 + 3600).is_ok(),
            "minter's clock 50 s ahead"
        );
        for (name, iat, exp) in [
            ("ten years", t, t + 10 * 365 * 86_400),
            ("an hour and a second", t, t + 3601),
            ("iat beyond the leeway", t + 120, t + 400),
            // Ways around the lifetime maximum.
            ("iat an hour ahead", t + 3600, t + 7200),
            ("iat backdated, two hours", t - 3600, t + 3600),
            ("exp before iat", t, t - 1),
            ("exp equal to iat", t, t),
        ] {
            assert!(
                matches!(lifetime(iat, exp), Err(AuthError::Token(_))),
                "{name}"
            );
        }
        let no_iat = verify_with(|c| {
            c.as_object_mut().unwrap().remove("iat");
        });
        assert!(matches!(no_iat, Err(AuthError::Token(_))));
        let text_iat = verify_with(|c| c["iat"] = json!("now"));
        assert!(matches!(text_iat, Err(AuthError::Token(_))));
    }

    #[test]
    fn sub_is_the_canonical_decimal_user_id() {
        for (sub, id) in [("42", 42), ("1", 1), ("9223372036854775807", i64::MAX)] {
            let v = verify_with(|c| c["sub"] = json!(sub)).unwrap();
            assert_eq!(v.user_id, id);
        }
        for sub in [
            json!("+42"),
            json!("042"),
            json!("0"),
            json!("-42"),
            json!(" 42"),
            json!("42 "),
            json!("42.0"),
            json!("4e1"),
            json!("0x2a"),
            json!("٤٢"),
            json!(""),
            json!("9223372036854775808"),
            json!(42),
            json!(null),
        ] {
            assert!(
                matches!(
                    verify_with(|c| c["sub"] = sub.clone()),
                    Err(AuthError::Token(_))
                ),
                "sub {sub}"
            );
        }
    }

    #[test]
    fn sid_is_the_sha256_hex_of_the_session_id() {
        // The vector of tests/block/token_issuer_standalone.php: hash('sha256', 'abcdef0123456789').
        let hex = "f445801e0cb899262c9b9e219836880d73ca2d1b0b9c15fb959c90eb121234e3";
        assert_eq!(token_sid("abcdef0123456789"), hex);
        let v = verify_with(|c| c["sid"] = json!(hex)).unwrap();
        assert_eq!(v.sid, Some(session_hash("abcdef0123456789")));
        assert_eq!(verify_with(|_| {}).unwrap().sid, None, "no sid claim");
        for sid in [
            json!(hex.to_uppercase()),
            json!(&hex[..63]),
            json!(format!("{hex}0")),
            json!("abcdef0123456789"),
            json!(format!("{}g", &hex[..63])),
        ] {
            assert!(
                matches!(
                    verify_with(|c| c["sid"] = sid.clone()),
                    Err(AuthError::Token(_))
                ),
                "sid {sid}"
            );
        }
        assert!(verify_with(|c| c["sid"] = json!(7)).is_err());
    }

    #[test]
    fn no_secret_refuses_everything() {
        let v = TokenVerifier::new("https://m", "dockchat", 0);
        assert!(matches!(v.verify("a.b.c"), Err(AuthError::NoSecret)));
    }

    #[test]
    fn close_codes() {
        assert_eq!(AuthError::Expired.close_code(), 4001);
        assert_eq!(AuthError::AccountUnavailable.close_code(), 4003);
        assert_eq!(AuthError::NoSession.close_code(), 4004);
    }

    mod base64_like {
        /// URL-safe base64 without padding (enough for a test token).
        pub fn b64(input: &[u8]) -> String {
            const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in input.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
                for i in 0..=chunk.len() {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }
}

//! Authentication: who is on the other end of a socket (docs/PROTOCOL.md §2).
//!
//! Owns: verifying the block's HS256 token (algorithm, signature, exp/nbf with leeway, iss, aud,
//! sub, caps), the account check in Moodle's tables (active, live session) and the batched
//! re-validation of connected users; the shared secret (from the config or `config_plugins`,
//! re-read periodically so a regenerated secret takes effect). Admission is batched
//! ([`crate::store::batch`]): concurrent hellos queue their user ids, and up to four batches of up
//! to [`ADMIT_BATCH`] are looked up at once — account, live session and active courses (for
//! presence) with three `IN (...)` queries per 100 users instead of three queries per hello, which
//! is what lets a connect storm through.
//! Must not: trust anything else from the browser, log tokens, or touch sockets. Failures are typed
//! ([`AuthError`]) and map to close codes.

use crate::protocol::close;
use crate::store::batch::Batcher;
use crate::store::moodle::UserRow;
use crate::store::{now, Store, StoreError};
use jsonwebtoken::{decode, errors::ErrorKind, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
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
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: serde_json::Value,
    exp: i64,
    #[serde(default)]
    caps: Option<Caps>,
}

/// A verified token.
#[derive(Debug, Clone)]
pub struct Verified {
    pub user_id: i64,
    pub exp: i64,
    pub caps: Arc<Caps>,
}

/// Verifies tokens with the current secret.
#[derive(Debug)]
pub struct TokenVerifier {
    key: RwLock<Option<(String, Arc<DecodingKey>)>>,
    validation: Validation,
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
        let user_id = match &c.sub {
            serde_json::Value::String(s) => s.parse::<i64>().ok(),
            serde_json::Value::Number(n) => n.as_i64(),
            _ => None,
        }
        .filter(|id| *id > 0)
        .ok_or(AuthError::Token("token_invalid: bad sub"))?;
        Ok(Verified {
            user_id,
            exp: c.exp,
            caps: Arc::new(c.caps.unwrap_or_default()),
        })
    }
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
    /// A live Moodle session exists (only looked up when sessions are checked).
    live: bool,
    /// Courses with an active enrolment (presence's course-mates).
    courses: Vec<i64>,
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

    /// Token, then account (active, with a live session when required): the verified claims, the
    /// account and its active courses.
    pub async fn authenticate(
        &self,
        token: &str,
    ) -> Result<(Verified, UserRow, Vec<i64>), AuthError> {
        let v = self.verifier.verify(token)?;
        let a = self.admit.get(v.user_id).await?;
        let user = a.user.ok_or(AuthError::AccountUnavailable)?;
        if self.check_sessions && !a.live {
            return Err(AuthError::NoSession);
        }
        Ok((v, user, a.courses))
    }

    /// Re-checks connected users in batches; returns those that must go, with the close code.
    pub async fn revalidate(&self, ids: &[i64]) -> Result<HashMap<i64, u16>, StoreError> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let active = self.store.active_users(ids).await?;
        let live = if self.check_sessions {
            Some(
                self.store
                    .users_with_live_session(ids, self.session_cutoff())
                    .await?,
            )
        } else {
            None
        };
        for id in ids {
            if !active.contains_key(id) {
                out.insert(*id, close::ACCOUNT_UNAVAILABLE);
            } else if live.as_ref().is_some_and(|l| !l.contains(id)) {
                out.insert(*id, close::SESSION_ENDED);
            }
        }
        Ok(out)
    }
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
    let live = match session_cutoff {
        Some(cutoff) if !active.is_empty() => {
            Some(store.users_with_live_session(&active, cutoff).await?)
        }
        _ => None,
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
                live: live.as_ref().is_some_and(|l| l.contains(&id)),
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

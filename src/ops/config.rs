//! Typed configuration: the TOML file, environment overrides, and validation.
//!
//! Owns: every configuration key (CONTRACTS §2) with its default, `DOCKCHAT_*` overrides and
//! `validate()`, which explains each mistake in one sentence.
//! Must not: open sockets or databases; other modules receive an already validated `Config`.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;

/// Default location of the configuration file.
pub const DEFAULT_PATH: &str = "/etc/dockchat/dockchatd.toml";

/// A configuration problem, worded for the sysadmin reading it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file is not valid TOML: {0}")]
    Parse(String),
    #[error("{0}")]
    Invalid(String),
}

/// The whole daemon configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: String,
    pub site_url: String,
    pub database_url: String,
    pub table_prefix: String,
    pub token_secret: Option<String>,
    pub db_pool_size: u32,
    /// Group commits of the message writer in flight at once (1: one at a time). At most half
    /// the pool is used for them.
    pub db_write_pipeline: usize,
    pub shutdown_timeout_secs: u64,
    pub avatar_theme: String,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub presence: PresenceConfig,
    pub cluster: ClusterConfig,
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub audience: String,
    pub check_sessions: bool,
    pub revalidate_interval_secs: u64,
    pub auth_timeout_secs: u64,
    pub token_leeway_secs: u64,
}

/// `[limits]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_connections: usize,
    pub max_connections_per_user: usize,
    pub frame_max_bytes: usize,
    pub text_max_chars: usize,
    pub history_max: u32,
    pub resume_max: usize,
    pub outbox_frames: usize,
    pub rate_per_sec: u32,
    pub rate_burst: u32,
    pub ping_interval_secs: u64,
}

/// `[cluster]`: several nodes behind one load balancer, over Redis.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// `redis://host:port/db` (or `rediss://`); empty: a single node, no Redis.
    pub redis_url: String,
    /// This node's name in the cluster; empty: host name, port and process id.
    pub node_id: String,
    /// Prefix of every Redis key and channel (several dockchat clusters may share one Redis).
    pub prefix: String,
}

impl ClusterConfig {
    /// Whether this node is part of a cluster.
    pub fn enabled(&self) -> bool {
        !self.redis_url.is_empty()
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            redis_url: String::new(),
            node_id: String::new(),
            prefix: "dockchat".into(),
        }
    }
}

/// `[presence]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PresenceConfig {
    pub enrolment_refresh_secs: u64,
    /// How long a user whose last tab closed still shows online (a page navigation reconnects
    /// within it, so course-mates see no offline/online flicker); 0 announces offline at once.
    pub offline_grace_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8765".into(),
            site_url: String::new(),
            database_url: String::new(),
            table_prefix: "mdl_".into(),
            token_secret: None,
            db_pool_size: 16,
            db_write_pipeline: 4,
            shutdown_timeout_secs: 10,
            avatar_theme: "boost".into(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            presence: PresenceConfig::default(),
            cluster: ClusterConfig::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            audience: "dockchat".into(),
            check_sessions: true,
            revalidate_interval_secs: 30,
            auth_timeout_secs: 10,
            token_leeway_secs: 60,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: 100_000,
            max_connections_per_user: 32,
            frame_max_bytes: 16_384,
            text_max_chars: 4000,
            history_max: 100,
            resume_max: 2000,
            outbox_frames: 256,
            rate_per_sec: 20,
            rate_burst: 40,
            ping_interval_secs: 30,
        }
    }
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig {
            enrolment_refresh_secs: 60,
            offline_grace_secs: 10,
        }
    }
}

impl Config {
    /// Parses TOML text (no environment overrides, no validation).
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))
    }

    /// Reads the file at `path` (a missing file is fine when it is the default path and the
    /// environment supplies the rest), then applies `DOCKCHAT_*` overrides.
    pub fn load(path: &Path, path_was_given: bool) -> Result<Config, ConfigError> {
        let mut config = match std::fs::read_to_string(path) {
            Ok(text) => Config::from_toml_str(&text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !path_was_given => {
                Config::default()
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    /// Applies the environment overrides through `get` (a seam for tests).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("DOCKCHAT_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("DOCKCHAT_SITE_URL") {
            self.site_url = v;
        }
        if let Some(v) = get("DOCKCHAT_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("DOCKCHAT_TABLE_PREFIX") {
            self.table_prefix = v;
        }
        if let Some(v) = get("DOCKCHAT_REDIS_URL") {
            self.cluster.redis_url = v;
        }
        if let Some(v) = get("DOCKCHAT_NODE_ID") {
            self.cluster.node_id = v;
        }
        if let Some(v) = get("DOCKCHAT_TOKEN_SECRET") {
            self.token_secret = if v.is_empty() { None } else { Some(v) };
        }
        if let Some(v) = get("DOCKCHAT_CHECK_SESSIONS") {
            self.auth.check_sessions = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "DOCKCHAT_CHECK_SESSIONS must be true or false, not {v:?}"
                    )))
                }
            };
        }
        Ok(())
    }

    /// Checks every value; the first problem is reported with the key to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.listen.parse::<SocketAddr>().is_err() {
            return bad(format!(
                "listen = {:?} is not an IP:port address (for example \"127.0.0.1:8765\")",
                self.listen
            ));
        }
        if self.site_url.is_empty() {
            return bad("site_url is required: the Moodle wwwroot, e.g. \"https://moodle.example.edu\" (or DOCKCHAT_SITE_URL)".into());
        }
        if site_origin(&self.site_url).is_none() {
            return bad(format!(
                "site_url = {:?} must start with http:// or https:// and name a host",
                self.site_url
            ));
        }
        if self.database_url.is_empty() {
            return bad("database_url is required, e.g. \"mysql://user:pass@127.0.0.1/moodle\" or \"postgres://user@127.0.0.1/moodle\" (or DOCKCHAT_DATABASE_URL)".into());
        }
        let scheme_ok = [
            "mysql://",
            "mariadb://",
            "postgres://",
            "postgresql://",
            "sqlite:",
        ]
        .iter()
        .any(|s| self.database_url.starts_with(s));
        if !scheme_ok {
            return bad(
                "database_url must start with mysql://, mariadb://, postgres:// or sqlite:".into(),
            );
        }
        if !self
            .table_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return bad(format!(
                "table_prefix = {:?} may only hold letters, digits and _",
                self.table_prefix
            ));
        }
        if let Some(s) = &self.token_secret {
            if s.len() < 16 {
                return bad("token_secret is too short (at least 16 characters); leave it out to use the block's secret from config_plugins".into());
            }
        }
        if self.db_pool_size == 0 {
            return bad("db_pool_size must be at least 1".into());
        }
        if !(1..=64).contains(&self.db_write_pipeline) {
            return bad("db_write_pipeline must be between 1 and 64".into());
        }
        if self.avatar_theme.is_empty()
            || !self
                .avatar_theme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return bad("avatar_theme must be a Moodle theme name such as \"boost\"".into());
        }
        let c = &self.cluster;
        if c.enabled()
            && !(c.redis_url.starts_with("redis://")
                || c.redis_url.starts_with("rediss://")
                || c.redis_url.starts_with("redis+unix://")
                || c.redis_url.starts_with("unix://"))
        {
            return bad("cluster.redis_url must start with redis://, rediss:// or unix:// (or leave it empty for a single node)".into());
        }
        let name_ok = |v: &str| {
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        };
        if !name_ok(&c.node_id) || c.node_id.len() > 100 {
            return bad(format!(
                "cluster.node_id = {:?} may only hold letters, digits, - _ . : (at most 100)",
                c.node_id
            ));
        }
        if c.prefix.is_empty() || !name_ok(&c.prefix) || c.prefix.len() > 100 {
            return bad(format!(
                "cluster.prefix = {:?} must be letters, digits, - _ . : (1 to 100)",
                c.prefix
            ));
        }
        if self.auth.audience.is_empty() {
            return bad("auth.audience must not be empty".into());
        }
        let l = &self.limits;
        let positive: [(&str, u64); 9] = [
            (
                "auth.revalidate_interval_secs",
                self.auth.revalidate_interval_secs,
            ),
            ("auth.auth_timeout_secs", self.auth.auth_timeout_secs),
            ("limits.max_connections", l.max_connections as u64),
            (
                "limits.max_connections_per_user",
                l.max_connections_per_user as u64,
            ),
            ("limits.outbox_frames", l.outbox_frames as u64),
            ("limits.rate_per_sec", l.rate_per_sec as u64),
            ("limits.ping_interval_secs", l.ping_interval_secs),
            (
                "presence.enrolment_refresh_secs",
                self.presence.enrolment_refresh_secs,
            ),
            ("limits.resume_max", l.resume_max as u64),
        ];
        for (name, v) in positive {
            if v == 0 {
                return bad(format!("{name} must be at least 1"));
            }
        }
        if l.frame_max_bytes < 1024 {
            return bad("limits.frame_max_bytes must be at least 1024".into());
        }
        if l.text_max_chars == 0 || l.text_max_chars > l.frame_max_bytes {
            return bad(
                "limits.text_max_chars must be at least 1 and fit in limits.frame_max_bytes".into(),
            );
        }
        if l.history_max == 0 || l.history_max > 1000 {
            return bad("limits.history_max must be between 1 and 1000".into());
        }
        if l.rate_burst < l.rate_per_sec {
            return bad("limits.rate_burst must be at least limits.rate_per_sec".into());
        }
        Ok(())
    }

    /// The only Origin allowed to open a WebSocket: `scheme://host[:port]` of `site_url`.
    pub fn allowed_origin(&self) -> String {
        site_origin(&self.site_url).unwrap_or_default()
    }

    /// `site_url` without a trailing slash (the token's `iss`).
    pub fn site_url_trimmed(&self) -> &str {
        self.site_url.trim_end_matches('/')
    }
}

/// `scheme://host[:port]` of a URL, lower-cased, default ports removed.
pub fn site_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?.to_ascii_lowercase();
    if authority.is_empty() {
        return None;
    }
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority
        .strip_suffix(default_port)
        .unwrap_or(&authority)
        .to_string();
    Some(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_example() {
        let c = Config::from_toml_str(
            r#"
listen = "127.0.0.1:0"
site_url = "https://moodle.example.edu/"
database_url = "mysql://u:p@127.0.0.1/moodle"
table_prefix = "m_"
[auth]
check_sessions = false
[limits]
text_max_chars = 100
[presence]
enrolment_refresh_secs = 5
"#,
        )
        .unwrap();
        assert_eq!(c.table_prefix, "m_");
        assert!(!c.auth.check_sessions);
        assert_eq!(c.auth.audience, "dockchat");
        assert_eq!(c.limits.text_max_chars, 100);
        assert_eq!(c.limits.frame_max_bytes, 16384);
        assert_eq!(c.presence.enrolment_refresh_secs, 5);
        c.validate().unwrap();
        assert_eq!(c.allowed_origin(), "https://moodle.example.edu");
        assert_eq!(c.site_url_trimmed(), "https://moodle.example.edu");
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        assert!(Config::from_toml_str("lisen = \"x\"").is_err());
        let mut c = Config::default();
        assert!(c.validate().is_err()); // no site_url
        c.site_url = "https://m.example".into();
        c.database_url = "redis://x".into();
        assert!(c.validate().is_err());
        c.database_url = "postgres://u@h/db".into();
        c.validate().unwrap();
        c.table_prefix = "mdl_; drop".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn env_overrides_win() {
        let mut c = Config::default();
        c.apply_env(|k| match k {
            "DOCKCHAT_LISTEN" => Some("0.0.0.0:9000".into()),
            "DOCKCHAT_CHECK_SESSIONS" => Some("false".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert!(!c.auth.check_sessions);
        assert!(c
            .apply_env(|k| (k == "DOCKCHAT_CHECK_SESSIONS").then(|| "maybe".into()))
            .is_err());
    }

    #[test]
    fn origins() {
        assert_eq!(
            site_origin("HTTPS://Moodle.Example.edu:443/moodle").as_deref(),
            Some("https://moodle.example.edu")
        );
        assert_eq!(
            site_origin("http://127.0.0.1:8765").as_deref(),
            Some("http://127.0.0.1:8765")
        );
        assert_eq!(site_origin("ftp://x"), None);
        assert_eq!(site_origin("https://"), None);
    }
}

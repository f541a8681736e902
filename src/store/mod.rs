//! Storage: the only module that speaks SQL.
//!
//! Owns: the connection pool (MariaDB/MySQL, PostgreSQL or the demo's SQLite, behind one enum with a
//! small dispatch macro instead of `sqlx::Any`), every SQL string (built once at start with the table
//! prefix; values are always bound), and decoding rows into plain Rust values.
//! Must not: know about sockets, frames or permissions. Moodle's core tables are read only
//! ([`moodle`]) except its messaging tables, written only through [`messaging`] as Moodle's own send
//! path fills them (and the drawer's blocks and mutes, [`actions`]); the block's tables are written
//! only through [`messaging`], [`actions`] and [`windows`]. The Moodle schema subset and
//! the XMLDB reader ([`moodle_schema`], [`xmldb`]) are shared with the tests and the demo.
//! [`batch`] turns concurrent per-user lookups of the services into batched ones.

pub mod actions;
pub mod batch;
pub mod groups;
pub mod health;
pub mod ingest;
pub mod listing;
pub mod messaging;
pub mod moodle;
pub mod moodle_schema;
pub mod roster;
pub mod seed;
pub mod windows;
pub mod xmldb;

use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::str::FromStr;
use std::time::Duration;
pub use xmldb::Dialect;

/// A storage failure. Each maps to the protocol's `internal` error: nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("unsupported database URL (use mysql://, mariadb://, postgres:// or sqlite:)")]
    UnsupportedUrl,
    #[error("block schema: {0}")]
    Schema(String),
    /// A lookup shared by several requests failed; each of them gets this copy of the error.
    #[error("batched lookup failed: {0}")]
    Batch(String),
    /// The database did not answer in time; nothing was stored.
    #[error("database timeout: {0}")]
    Timeout(&'static str),
    /// The database is known to be unreachable (a recent failure, not yet a successful probe):
    /// the request was not tried.
    #[error("the database is unreachable")]
    Unavailable,
    /// A COMMIT was sent and not answered: the batch may or may not be stored.
    #[error("the commit of {} sends was not answered", .0.stored.len())]
    CommitUnknown(Box<messaging::PendingCommit>),
}

impl StoreError {
    /// The database could not be reached or did not answer in time (connection lost or refused,
    /// pool exhausted, a deadline passed): every request would fail alike until it answers again.
    pub fn is_unreachable(&self) -> bool {
        match self {
            StoreError::Db(e) => matches!(
                e,
                sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::Protocol(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            ),
            StoreError::Timeout(_) | StoreError::Unavailable | StoreError::CommitUnknown(_) => true,
            StoreError::UnsupportedUrl | StoreError::Schema(_) | StoreError::Batch(_) => false,
        }
    }

    /// The database answered but the request failed (a refused statement, a value that does not
    /// decode, ...): another request, or a batch without the offending row, may succeed.
    pub fn is_refusal(&self) -> bool {
        !self.is_unreachable()
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The pool, one variant per backend.
#[derive(Clone, Debug)]
pub(crate) enum Db {
    MySql(MySqlPool),
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of the active backend. Each arm is compiled
/// for its own database type, so queries keep their static types without `sqlx::Any`.
macro_rules! dispatch {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::MySql($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
            $crate::store::Db::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use dispatch;

/// Batched `IN (...)` queries always carry this many placeholders (padded with -1, an id that never
/// exists), so their SQL is built once.
pub const BATCH: usize = 100;

/// The storage handle shared by every service (cheap to clone).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: Db,
    pub(crate) dialect: Dialect,
    pub(crate) sql: std::sync::Arc<Sql>,
    prefix: String,
    /// `INSERT ... RETURNING` is available (see [`SqlBuilder`]).
    pub(crate) returning: bool,
    /// Whether the database answers; shared by every clone.
    health: std::sync::Arc<health::Health>,
}

/// Every SQL statement, with the prefix applied and placeholders in the backend's syntax.
#[derive(Debug)]
pub(crate) struct Sql {
    pub moodle: moodle::MoodleSql,
    pub messaging: messaging::MessagingSql,
    pub windows: windows::WindowSql,
    pub ingest: ingest::IngestSql,
    pub listing: listing::ListingSql,
    pub groups: groups::GroupsSql,
    pub actions: actions::ActionsSql,
    pub roster: roster::RosterSql,
}

/// Builds statements for one backend: applies the prefix to `{p}` and turns `?` into `$n` for
/// PostgreSQL.
pub(crate) struct SqlBuilder {
    dialect: Dialect,
    prefix: String,
    /// The server understands `INSERT ... RETURNING` (always on PostgreSQL and SQLite; MariaDB from
    /// 10.5; never MySQL).
    returning: bool,
}

impl SqlBuilder {
    pub fn new(dialect: Dialect, prefix: &str) -> Self {
        SqlBuilder {
            dialect,
            prefix: prefix.to_string(),
            returning: dialect != Dialect::MySql,
        }
    }

    /// Declares whether a MySQL-dialect server is MariaDB ≥ 10.5 (`INSERT ... RETURNING`).
    pub fn with_returning(mut self, returning: bool) -> Self {
        if self.dialect == Dialect::MySql {
            self.returning = returning;
        }
        self
    }

    /// `template` uses `{p}` for the table prefix and `?` for placeholders.
    pub fn build(&self, template: &str) -> String {
        let with_prefix = template.replace("{p}", &self.prefix);
        if self.dialect != Dialect::Postgres {
            return with_prefix;
        }
        let mut out = String::with_capacity(with_prefix.len() + 16);
        let mut n = 0;
        for ch in with_prefix.chars() {
            if ch == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(ch);
            }
        }
        out
    }

    /// `INSERT ...` that yields the new id: `RETURNING id` where the backend supports it (the MySQL
    /// arm reads `last_insert_id` from the result instead).
    pub fn insert(&self, template: &str) -> String {
        let s = self.build(template);
        if self.dialect == Dialect::MySql {
            s
        } else {
            format!("{s} RETURNING id")
        }
    }

    /// `INSERT ...` that silently does nothing when a unique key already holds the row.
    pub fn insert_ignore(&self, template: &str) -> String {
        let s = self.build(template);
        match self.dialect {
            Dialect::MySql => s.replacen("INSERT INTO", "INSERT IGNORE INTO", 1),
            _ => format!("{s} ON CONFLICT DO NOTHING"),
        }
    }

    /// `?, ?, ... ` with [`BATCH`] placeholders, for `IN (...)`.
    pub fn batch_list() -> String {
        vec!["?"; BATCH].join(", ")
    }
}

/// Splits `ids` into [`BATCH`]-sized chunks padded with -1.
pub(crate) fn batches(ids: &[i64]) -> Vec<[i64; BATCH]> {
    ids.chunks(BATCH)
        .map(|c| {
            let mut a = [-1i64; BATCH];
            a[..c.len()].copy_from_slice(c);
            a
        })
        .collect()
}

/// `ids` in runs of at most [`messaging::WRITE_BATCH_MAX`], each with its
/// [`messaging::size_class`] and padded to that class's statement size.
pub(crate) fn size_classed(ids: &[i64]) -> impl Iterator<Item = (usize, Vec<i64>)> + '_ {
    ids.chunks(messaging::WRITE_BATCH_MAX).map(|chunk| {
        let class = messaging::size_class(chunk.len());
        (class, padded(chunk, class))
    })
}

/// `ids` padded with -1 (no row has it) to the `class`'s statement size.
pub(crate) fn padded(ids: &[i64], class: usize) -> Vec<i64> {
    (0..(1usize << class))
        .map(|i| ids.get(i).copied().unwrap_or(-1))
        .collect()
}

impl Store {
    /// Connects to `url` with at most `pool_size` connections and builds every statement.
    pub async fn connect(url: &str, prefix: &str, pool_size: u32) -> Result<Store> {
        let dialect = Dialect::from_url(url).ok_or(StoreError::UnsupportedUrl)?;
        // Under a connect storm, queueing for a connection beats refusing the hello.
        let acquire = Duration::from_secs(30);
        let db = match dialect {
            Dialect::MySql => {
                let url = match url.strip_prefix("mariadb://") {
                    Some(rest) => format!("mysql://{rest}"),
                    None => url.to_string(),
                };
                Db::MySql(
                    MySqlPoolOptions::new()
                        .max_connections(pool_size)
                        .acquire_timeout(acquire)
                        .connect(&url)
                        .await?,
                )
            }
            // No JIT for the daemon's sessions: its reads are short index walks, and PostgreSQL
            // compiles any statement whose estimated cost passes `jit_above_cost` (100,000 by
            // default; the conversation list of a user with some thousands of conversations
            // does), which costs hundreds of milliseconds to save a few.
            Dialect::Postgres => Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(pool_size)
                    .acquire_timeout(acquire)
                    .connect_with(PgConnectOptions::from_str(url)?.options([("jit", "off")]))
                    .await?,
            ),
            Dialect::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10));
                Db::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(pool_size.min(8))
                        .acquire_timeout(acquire)
                        .connect_with(opts)
                        .await?,
                )
            }
        };
        let returning = match &db {
            Db::MySql(pool) => {
                let version: String = sqlx::query_scalar("SELECT VERSION()")
                    .fetch_one(pool)
                    .await?;
                mariadb_has_returning(&version)
            }
            _ => true,
        };
        Ok(Store::from_db(db, dialect, prefix, returning))
    }

    fn from_db(db: Db, dialect: Dialect, prefix: &str, returning: bool) -> Store {
        Store::with_health(db, dialect, prefix, returning, Default::default())
    }

    fn with_health(
        db: Db,
        dialect: Dialect,
        prefix: &str,
        returning: bool,
        health: std::sync::Arc<health::Health>,
    ) -> Store {
        let b = SqlBuilder::new(dialect, prefix).with_returning(returning);
        let returning = b.returning;
        Store {
            db,
            dialect,
            returning,
            sql: std::sync::Arc::new(Sql {
                moodle: moodle::MoodleSql::new(&b),
                messaging: messaging::MessagingSql::new(&b),
                windows: windows::WindowSql::new(&b),
                ingest: ingest::IngestSql::new(&b),
                listing: listing::ListingSql::new(&b),
                groups: groups::GroupsSql::new(&b),
                actions: actions::ActionsSql::new(&b),
                roster: roster::RosterSql::new(&b),
            }),
            prefix: prefix.to_string(),
            health,
        }
    }

    /// The same pool, with the statements MySQL needs (no `INSERT ... RETURNING`): how the tests
    /// exercise MySQL's path on MariaDB. No effect on PostgreSQL and SQLite.
    pub fn without_returning(&self) -> Store {
        Store::with_health(
            self.db.clone(),
            self.dialect,
            &self.prefix,
            false,
            self.health.clone(),
        )
    }

    /// Whether batched inserts use `INSERT ... RETURNING` (false only on MySQL and MariaDB < 10.5).
    pub fn has_returning(&self) -> bool {
        self.returning
    }

    /// The backend kind.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The Moodle table prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A round trip to the database (health check).
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// A round trip on a connection of its own, outside the pool: whether the database answers,
    /// even while every pooled connection is busy (the health probe).
    pub async fn ping_direct(&self) -> Result<()> {
        use sqlx::{ConnectOptions, Connection};
        match &self.db {
            Db::MySql(pool) => {
                let mut conn = pool.connect_options().connect().await?;
                sqlx::query("SELECT 1").execute(&mut conn).await?;
                let _ = conn.close().await;
            }
            Db::Postgres(pool) => {
                let mut conn = pool.connect_options().connect().await?;
                sqlx::query("SELECT 1").execute(&mut conn).await?;
                let _ = conn.close().await;
            }
            // In-process: there is no server to lose.
            Db::Sqlite(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// The server's version string (for the start-up log line).
    pub async fn server_version(&self) -> Result<String> {
        let q = match self.dialect {
            Dialect::Sqlite => "SELECT sqlite_version()",
            _ => "SELECT VERSION()",
        };
        let v: String = dispatch!(self, pool => sqlx::query_scalar(q).fetch_one(pool).await?);
        Ok(v)
    }

    /// Runs DDL or seeding statements one by one (demo and tests).
    pub async fn execute_script<S: AsRef<str>>(&self, statements: &[S]) -> Result<()> {
        for s in statements {
            let s = s.as_ref();
            dispatch!(self, pool => {
                sqlx::raw_sql(s).execute(pool).await?;
            });
        }
        Ok(())
    }

    /// Closes the pool (waits for connections in use to be returned).
    pub async fn close(&self) {
        dispatch!(self, pool => pool.close().await)
    }
}

/// Whether a MySQL-protocol server's `VERSION()` names MariaDB 10.5 or later, which has
/// `INSERT ... RETURNING` (e.g. `10.11.19-MariaDB-0+deb12u1`; MySQL's versions never say MariaDB).
pub fn mariadb_has_returning(version: &str) -> bool {
    if !version.contains("MariaDB") {
        return false;
    }
    // Old MariaDB replication prefixed "5.5.5-" to the real version.
    let v = version.strip_prefix("5.5.5-").unwrap_or(version);
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor) >= (10, 5)
}

/// Current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_placeholders_per_dialect() {
        let pg = SqlBuilder::new(Dialect::Postgres, "m_");
        assert_eq!(
            pg.build("SELECT id FROM {p}user WHERE id = ? AND x <> ?"),
            "SELECT id FROM m_user WHERE id = $1 AND x <> $2"
        );
        assert_eq!(
            pg.insert("INSERT INTO {p}t (a) VALUES (?)"),
            "INSERT INTO m_t (a) VALUES ($1) RETURNING id"
        );
        let my = SqlBuilder::new(Dialect::MySql, "mdl_");
        assert_eq!(
            my.insert("INSERT INTO {p}t (a) VALUES (?)"),
            "INSERT INTO mdl_t (a) VALUES (?)"
        );
    }

    #[test]
    fn knows_which_servers_have_returning() {
        assert!(mariadb_has_returning("10.11.19-MariaDB-0+deb12u1"));
        assert!(mariadb_has_returning("11.4.2-MariaDB"));
        assert!(mariadb_has_returning("5.5.5-10.6.12-MariaDB-log"));
        assert!(!mariadb_has_returning("10.4.32-MariaDB"));
        assert!(!mariadb_has_returning("8.0.36"));
        assert!(!mariadb_has_returning("8.4.0-MySQL"));
    }

    #[test]
    fn pads_batches() {
        let ids: Vec<i64> = (1..=150).collect();
        let b = batches(&ids);
        assert_eq!(b.len(), 2);
        assert_eq!(b[1][49], 150);
        assert_eq!(b[1][50], -1);
    }
}

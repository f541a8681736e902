//! `dockchatd check`: diagnoses a configuration against the live Moodle database before going live.
//!
//! Each check yields one [`CheckItem`] (`ok`, `warn` or `FAIL`, with what is wrong and how to fix it):
//! the configured URLs, the connection (wrong password, unknown host or database, bad URL scheme), the
//! Moodle table prefix (listing the prefixes that look like Moodle's when it is wrong), every Moodle table
//! and column the daemon reads, every block table and column from `moodle-block/db/install.xml` (through
//! [`crate::store::xmldb`]), the database user's privileges (SELECT on Moodle's tables; a rolled-back
//! INSERT/UPDATE/DELETE on the block tables), the token secret, Moodle's site-wide `messaging` switch, the
//! block's queue, and conversations that share their hash (which Moodle's drawer may list twice).
//! [`CheckReport::ok`] is false when any item failed; `main.rs` prints the report and exits 1 then.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use sqlx::Connection;

use crate::store::xmldb::{self, Dialect};

/// What to check (mapped from the daemon's `Config` by `main.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    /// `mysql://`, `mariadb://`, `postgres://` or `sqlite://` URL of the Moodle database.
    pub database_url: String,
    /// Moodle's `$CFG->prefix` (default `mdl_`).
    pub table_prefix: String,
    /// Moodle's `$CFG->wwwroot`.
    pub site_url: String,
    /// A secret from the daemon's config; when `None`, it must be in `config_plugins`.
    pub token_secret: Option<String>,
    /// Whether the daemon requires a live Moodle session row.
    pub check_sessions: bool,
    /// `cluster.redis_url`; empty for a single node.
    pub redis_url: String,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but probably not what the administrator wants.
    Warn,
    /// dockchatd will not work until this is fixed.
    Fail,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        })
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckItem {
    /// Short name of what was checked (`database`, `table mdl_user`, `secret`...).
    pub name: String,
    /// The outcome.
    pub status: Status,
    /// The diagnosis (and, when not ok, the fix).
    pub detail: String,
}

impl CheckItem {
    fn new(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Self {
        CheckItem {
            name: name.into(),
            status,
            detail: detail.into(),
        }
    }
}

/// Every check that ran, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// The items, in the order they ran.
    pub items: Vec<CheckItem>,
}

impl CheckReport {
    /// True when no item failed (warnings are allowed).
    pub fn ok(&self) -> bool {
        self.items.iter().all(|i| i.status != Status::Fail)
    }

    /// The failed items.
    pub fn failures(&self) -> impl Iterator<Item = &CheckItem> {
        self.items.iter().filter(|i| i.status == Status::Fail)
    }

    fn push(&mut self, name: impl Into<String>, status: Status, detail: impl Into<String>) {
        self.items.push(CheckItem::new(name, status, detail));
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            writeln!(f, "{:<4}  {}: {}", item.status, item.name, item.detail)?;
        }
        let failed = self.failures().count();
        let warned = self
            .items
            .iter()
            .filter(|i| i.status == Status::Warn)
            .count();
        if failed == 0 {
            write!(
                f,
                "dockchatd check: all {} checks passed ({} warning(s))",
                self.items.len(),
                warned
            )
        } else {
            write!(
                f,
                "dockchatd check: {failed} of {} checks FAILED ({} warning(s))",
                self.items.len(),
                warned
            )
        }
    }
}

/// The Moodle core tables and columns dockchatd reads (CONTRACTS §1). All exist in Moodle 4.5 and 5.x.
pub const MOODLE_COLUMNS: &[(&str, &[&str])] = &[
    (
        "user",
        &[
            "id",
            "auth",
            "confirmed",
            "deleted",
            "suspended",
            "username",
            "firstname",
            "lastname",
            "firstnamephonetic",
            "lastnamephonetic",
            "middlename",
            "alternatename",
            "picture",
            "imagealt",
        ],
    ),
    (
        "sessions",
        &["id", "state", "sid", "userid", "timemodified"],
    ),
    ("config", &["id", "name", "value"]),
    ("config_plugins", &["id", "plugin", "name", "value"]),
    ("user_preferences", &["id", "userid", "name", "value"]),
    ("course", &["id", "fullname", "shortname", "visible"]),
    ("enrol", &["id", "enrol", "status", "courseid"]),
    (
        "user_enrolments",
        &["id", "status", "enrolid", "userid", "timestart", "timeend"],
    ),
    ("context", &["id", "contextlevel", "instanceid"]),
    ("message_contacts", &["id", "userid", "contactid"]),
    ("message_users_blocked", &["id", "userid", "blockeduserid"]),
    (
        "messages",
        &[
            "id",
            "useridfrom",
            "conversationid",
            "subject",
            "fullmessage",
            "fullmessageformat",
            "fullmessagehtml",
            "smallmessage",
            "timecreated",
            "fullmessagetrust",
            "customdata",
        ],
    ),
    (
        "message_conversations",
        &[
            "id",
            "type",
            "name",
            "convhash",
            "component",
            "itemtype",
            "itemid",
            "contextid",
            "enabled",
            "timecreated",
            "timemodified",
        ],
    ),
    (
        "message_conversation_members",
        &["id", "conversationid", "userid", "timecreated"],
    ),
    (
        "message_user_actions",
        &["id", "userid", "messageid", "action", "timecreated"],
    ),
    (
        "message_conversation_actions",
        &["id", "userid", "conversationid", "action"],
    ),
    (
        "favourite",
        &["id", "component", "itemtype", "itemid", "userid"],
    ),
];

/// Moodle's messaging tables, which dockchatd writes as Moodle's own send path does (the rest of
/// [`MOODLE_COLUMNS`] is only read), with the privileges it needs on each: it inserts messages,
/// conversations, their members and read rows, and deletes only a `messages` row it inserted in
/// the same transaction (a retried send found after its insert).
pub const MOODLE_WRITES: &[(&str, &str)] = &[
    ("messages", "SELECT, INSERT, DELETE"),
    ("message_conversations", "SELECT, INSERT"),
    ("message_conversation_members", "SELECT, INSERT"),
    ("message_user_actions", "SELECT, INSERT"),
];

/// The privileges dockchatd needs on a Moodle core table: `None` for read-only tables.
fn moodle_write_privileges(table: &str) -> Option<&'static str> {
    MOODLE_WRITES
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, p)| *p)
}

/// How long a connection attempt may take before it is reported as unanswered.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs every check and returns the report (never panics; every problem becomes an item).
pub async fn run(opts: &CheckOptions) -> CheckReport {
    let mut report = CheckReport::default();

    match check_site_url(&opts.site_url) {
        Ok(origin) => report.push(
            "site_url",
            Status::Ok,
            format!("{} (allowed WebSocket Origin {origin})", opts.site_url),
        ),
        Err((status, why)) => report.push("site_url", status, why),
    }

    if !valid_prefix(&opts.table_prefix) {
        report.push(
            "table_prefix",
            Status::Fail,
            format!(
                "\"{}\" is not a Moodle table prefix: use lowercase letters, digits and _ (Moodle's $CFG->prefix, usually mdl_)",
                opts.table_prefix
            ),
        );
        return report;
    }

    let Some(dialect) = Dialect::from_url(&opts.database_url) else {
        report.push(
            "database",
            Status::Fail,
            format!(
                "database_url \"{}\" has an unsupported scheme: use mysql:// or mariadb:// (MariaDB/MySQL), postgres:// (PostgreSQL) or sqlite:// (demo)",
                redact_url(&opts.database_url)
            ),
        );
        return report;
    };

    let mut db = match Db::connect(dialect, &opts.database_url).await {
        Ok(db) => {
            report.push(
                "database",
                Status::Ok,
                format!(
                    "connected to {} ({dialect})",
                    redact_url(&opts.database_url)
                ),
            );
            db
        }
        Err(e) => {
            report.push("database", Status::Fail, e);
            return report;
        }
    };

    if !opts.redis_url.is_empty() {
        check_redis(&opts.redis_url, &mut report).await;
    }

    let result = check_schema(&mut db, dialect, opts, &mut report).await;
    if let Err(e) = result {
        report.push(
            "database",
            Status::Fail,
            format!("query failed while checking: {e}"),
        );
    }
    // Bounded: a connection whose last query timed out may not answer its goodbye.
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, db.close()).await;
    report
}

/// Whether the cluster's Redis answers: without it the nodes still serve their own sockets, but
/// messages between nodes wait for the database poll and presence is not shared.
async fn check_redis(url: &str, report: &mut CheckReport) {
    let shown = redact_url(url);
    let ping = async {
        let client = redis::Client::open(url)?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, ping).await {
        Ok(Ok(_)) => report.push(
            "redis",
            Status::Ok,
            format!("{shown} answers (cluster mode)"),
        ),
        Ok(Err(e)) => report.push(
            "redis",
            Status::Fail,
            format!("{shown}: {e} (cluster.redis_url; leave it empty for a single node)"),
        ),
        Err(_) => report.push(
            "redis",
            Status::Fail,
            format!(
                "{shown} did not answer within {}s (cluster.redis_url)",
                CONNECT_TIMEOUT.as_secs()
            ),
        ),
    }
}

async fn check_schema(
    db: &mut Db,
    dialect: Dialect,
    opts: &CheckOptions,
    report: &mut CheckReport,
) -> Result<(), sqlx::Error> {
    let prefix = opts.table_prefix.as_str();
    let tables = db.tables().await?;
    let user_table = format!("{prefix}user");
    if !tables.contains(&user_table) {
        let found = moodle_prefixes(&tables);
        let hint = if found.is_empty() {
            "no table set in this database looks like Moodle's: is database_url pointing at the Moodle database?".to_string()
        } else {
            format!(
                "this database has Moodle tables with the prefix {}: set table_prefix to Moodle's $CFG->prefix",
                found
                    .iter()
                    .map(|p| format!("\"{p}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        report.push(
            "table_prefix",
            Status::Fail,
            format!("no table {user_table} with prefix \"{prefix}\"; {hint}"),
        );
        return Ok(());
    }
    report.push(
        "table_prefix",
        Status::Ok,
        format!("\"{prefix}\" ({user_table} found)"),
    );

    let columns = db.columns(dialect, &tables).await?;

    // Moodle core tables.
    for (table, needed) in MOODLE_COLUMNS {
        let full = format!("{prefix}{table}");
        let name = format!("table {full}");
        match columns.get(&full) {
            None => report.push(
                name,
                Status::Fail,
                "missing: this Moodle core table is needed by dockchatd (is this a complete Moodle 4.5+ database?)",
            ),
            Some(have) => {
                let missing = missing_columns(have, needed.iter().copied());
                if missing.is_empty() {
                    report.push(
                        name,
                        Status::Ok,
                        format!("{} columns used by dockchatd present", needed.len()),
                    );
                } else {
                    report.push(
                        name,
                        Status::Fail,
                        format!(
                            "missing column(s) {}: dockchatd needs Moodle 4.5 or later",
                            missing.join(", ")
                        ),
                    );
                }
            }
        }
    }

    // The block's tables before 2026120100 held the messages; its upgrade moves them into Moodle's
    // messaging tables and then drops them. Still there: the move has not finished, and the dock
    // would show none of those messages.
    let legacy: Vec<String> = [
        "block_dockchat_msg",
        "block_dockchat_conv",
        "block_dockchat_read",
    ]
    .iter()
    .map(|t| format!("{prefix}{t}"))
    .filter(|t| tables.contains(t))
    .collect();
    if !legacy.is_empty() {
        report.push(
            "block upgrade",
            Status::Fail,
            format!(
                "the block's earlier tables ({}) still exist: their messages have not been moved into Moodle's messaging tables yet; upgrade the block (Site administration > Notifications, or php blocks/dockchat/cli/migrate.php --run for a large site; docs/DEPLOY.md §9)",
                legacy.join(", ")
            ),
        );
    }

    // Block tables, from install.xml.
    match xmldb::block_schema() {
        Err(e) => report.push("block tables", Status::Fail, format!("embedded {e}")),
        Ok(schema) => {
            let block_tables = schema.tables();
            let missing_all = block_tables
                .iter()
                .all(|t| !columns.contains_key(&format!("{prefix}{}", t.name)));
            if missing_all {
                report.push(
                    "block tables",
                    Status::Fail,
                    format!(
                        "block_dockchat is not installed or not upgraded: none of its tables ({}) exist with prefix \"{prefix}\"; install the block in Moodle (copy it to blocks/dockchat, then Site administration > Notifications)",
                        block_tables
                            .iter()
                            .map(|t| format!("{prefix}{}", t.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            } else {
                for t in block_tables {
                    let full = format!("{prefix}{}", t.name);
                    let name = format!("table {full}");
                    match columns.get(&full) {
                        None => report.push(
                            name,
                            Status::Fail,
                            "missing: block_dockchat is not installed or not upgraded (run Site administration > Notifications)",
                        ),
                        Some(have) => {
                            let missing = missing_columns(have, t.field_names());
                            if missing.is_empty() {
                                report.push(
                                    name,
                                    Status::Ok,
                                    format!("{} columns of install.xml present", t.fields.len()),
                                );
                            } else {
                                report.push(
                                    name,
                                    Status::Fail,
                                    format!(
                                        "missing column(s) {}: block_dockchat is not installed or not upgraded (run Site administration > Notifications)",
                                        missing.join(", ")
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    check_privileges(db, dialect, opts, &columns, report).await;

    let config_plugins = format!("{prefix}config_plugins");
    let config = format!("{prefix}config");

    // Secret.
    match opts.token_secret.as_deref() {
        Some(s) if !s.is_empty() => {
            if s.len() < 16 {
                report.push(
                    "secret",
                    Status::Warn,
                    "token_secret from the config is shorter than 16 characters: use the block's generated secret",
                );
            } else {
                report.push(
                    "secret",
                    Status::Ok,
                    "token_secret is set in the config (config_plugins is not consulted)",
                );
            }
        }
        _ if !columns.contains_key(&config_plugins) => {}
        _ => {
            let value = db
                .value(
                    dialect,
                    &format!("SELECT value FROM {config_plugins} WHERE plugin = ? AND name = ?"),
                    &["block_dockchat", "secret"],
                )
                .await?;
            match value {
                None => report.push(
                    "secret",
                    Status::Fail,
                    format!(
                        "secret missing in {config_plugins} (plugin block_dockchat, name secret): install the block (it generates the secret) or set token_secret in the config"
                    ),
                ),
                Some(v) if v.trim().is_empty() => report.push(
                    "secret",
                    Status::Fail,
                    format!(
                        "the secret in {config_plugins} (block_dockchat/secret) is empty: regenerate it in the block's settings or set token_secret in the config"
                    ),
                ),
                Some(_) => report.push(
                    "secret",
                    Status::Ok,
                    format!("found in {config_plugins} (block_dockchat/secret)"),
                ),
            }
        }
    }

    // Site messaging switch.
    if columns.contains_key(&config) {
        let messaging = db
            .value(
                dialect,
                &format!("SELECT value FROM {config} WHERE name = ?"),
                &["messaging"],
            )
            .await?;
        match messaging.as_deref().map(str::trim) {
            Some("0") => report.push(
                "messaging",
                Status::Warn,
                "Moodle's site setting 'messaging' is off: every send will be refused with messaging_disabled (Site administration > General > Messaging)",
            ),
            Some(_) => report.push("messaging", Status::Ok, "enabled in Moodle"),
            None => report.push(
                "messaging",
                Status::Ok,
                "not set in Moodle's config (default: enabled)",
            ),
        }
    }

    let sent = format!("{prefix}block_dockchat_sent");
    let workers = format!("{prefix}block_dockchat_worker");
    let jobs = format!("{prefix}block_dockchat_job");
    if [&sent, &workers, &jobs]
        .iter()
        .all(|t| columns.contains_key(*t))
    {
        check_queue(db, prefix, report).await?;
    }

    if opts.check_sessions {
        report.push(
            "sessions",
            Status::Ok,
            format!(
                "check_sessions is on: each socket needs the live row of its own Moodle session in {prefix}sessions (set it off only if Moodle does not write that table)"
            ),
        );
    } else {
        report.push(
            "sessions",
            Status::Warn,
            "check_sessions is off: users who logged out of Moodle keep chatting until their token expires",
        );
    }

    // Last: it may leave the connection mid-query.
    let conversations = format!("{prefix}message_conversations");
    if columns
        .get(&conversations)
        .is_some_and(|c| c.contains("convhash") && c.contains("type"))
    {
        check_duplicate_conversations(db, &conversations, report).await;
    }
    Ok(())
}

/// A heartbeat older than this means no worker runs (it beats every 5 s).
const WORKER_SILENT_SECS: i64 = 30;
/// Queue rows older than this are late (the worker takes them within a second, the fallback task
/// within a minute).
const QUEUE_LATE_SECS: i64 = 120;

/// The block's PHP side, which does what Moodle's send path does after dockchatd's insert (cache,
/// events, notifications): is a worker running, and is the queue keeping up (docs/DEPLOY.md §6a)?
async fn check_queue(
    db: &mut Db,
    prefix: &str,
    report: &mut CheckReport,
) -> Result<(), sqlx::Error> {
    let now = crate::store::now();
    let late = now - QUEUE_LATE_SECS;
    let seen = db
        .ints(&format!(
            "SELECT MAX(timeseen) FROM {prefix}block_dockchat_worker"
        ))
        .await?;
    match seen.first().copied().flatten() {
        None => report.push(
            "worker",
            Status::Warn,
            "no queue worker has run yet: start dockchat-worker.service (docs/DEPLOY.md §6a); until then Moodle's cron runs the queue once a minute, if it runs",
        ),
        Some(t) if now - t > WORKER_SILENT_SECS => report.push(
            "worker",
            Status::Warn,
            format!(
                "the last worker heartbeat is {}s old: is dockchat-worker.service running? (systemctl status dockchat-worker); Moodle's cron still runs the queue once a minute",
                now - t
            ),
        ),
        Some(t) => report.push(
            "worker",
            Status::Ok,
            format!("a queue worker beat {}s ago", (now - t).max(0)),
        ),
    }
    let sent = format!("{prefix}block_dockchat_sent");
    let counts = db
        .ints(&format!(
            "SELECT \
             (SELECT COUNT(*) FROM {sent} WHERE state IN (0, 1, 2, 3)), \
             (SELECT COUNT(*) FROM {sent} WHERE state = 0 AND timecreated < {late}), \
             (SELECT COUNT(*) FROM {sent} WHERE state IN (1, 2) AND timedue < {late}), \
             (SELECT COUNT(*) FROM {sent} WHERE state = 5), \
             (SELECT COUNT(*) FROM {sent} WHERE state = 6), \
             (SELECT COUNT(*) FROM {prefix}block_dockchat_job WHERE state IN (0, 2) AND kind IN (1, 2, 4, 5) AND timecreated < {late}), \
             (SELECT COUNT(*) FROM {prefix}block_dockchat_job WHERE state = 6)"
        ))
        .await?;
    let n = |i: usize| counts.get(i).copied().flatten().unwrap_or(0);
    let (pending, new_late, due_late, uncertain, failed, jobs_late, jobs_failed) =
        (n(0), n(1), n(2), n(3), n(4), n(5), n(6));
    let problems: Vec<String> = [
        (
            new_late,
            format!("{new_late} message(s) waited over {QUEUE_LATE_SECS}s for Moodle's cache to be updated (the drawer and the app do not show them yet)"),
        ),
        (
            due_late,
            format!("{due_late} notification(s) are more than {QUEUE_LATE_SECS}s overdue"),
        ),
        (
            jobs_late,
            format!("{jobs_late} read/delete event(s) waited over {QUEUE_LATE_SECS}s"),
        ),
        (
            uncertain,
            format!("{uncertain} notification(s) may have been lost (a worker died while sending them)"),
        ),
        (
            failed + jobs_failed,
            format!("{} item(s) failed with an error", failed + jobs_failed),
        ),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(_, what)| what)
    .collect();
    if problems.is_empty() {
        report.push(
            "queue",
            Status::Ok,
            format!("{pending} message(s) in Moodle's send path, none late"),
        );
    } else {
        report.push(
            "queue",
            Status::Warn,
            format!(
                "{}; see `php blocks/dockchat/cli/queue.php --status` on the Moodle host",
                problems.join("; ")
            ),
        );
    }
    Ok(())
}

/// How long [`check_duplicate_conversations`] may take: the check runs before every start of the
/// service (`TimeoutStartSec=60s`), and what it reports is only ever a warning.
const DUPLICATES_TIMEOUT: Duration = Duration::from_secs(10);

/// Moodle's convhash index is not unique, so two writers that both miss a hash can each create its
/// conversation: Moodle's own send path for a pair and `api::get_self_conversation` for a user's
/// self conversation (neither takes a lock), or dockchatd nodes before the cross-node conversation
/// lock (docs/design/moodle-store.md §2.3). Counts the hashes held by more than one conversation,
/// pairs' and users' apart. Runs last on `db`: when it times out, the connection is left mid-query.
async fn check_duplicate_conversations(db: &mut Db, conversations: &str, report: &mut CheckReport) {
    // Grouped by the hash alone, which InnoDB reads from its index alone (a secondary index holds
    // the primary key): the type comes from each duplicate's first row. Only individual and self
    // conversations have a hash, and a pair's ("4-5") is never a user's ("6"). On MariaDB under 1 s
    // for a million conversations, against 13-17 s with the type in the grouping; 2-2.5 s on
    // PostgreSQL (docs/PERFORMANCE.md, 2026-12-03).
    let sql = format!(
        "SELECT COUNT(CASE WHEN c.type = 1 THEN 1 END), COUNT(CASE WHEN c.type = 3 THEN 1 END) FROM (\
         SELECT MIN(id) AS id FROM {conversations} WHERE convhash IS NOT NULL \
         GROUP BY convhash HAVING COUNT(*) > 1) d \
         JOIN {conversations} c ON c.id = d.id"
    );
    let counts = match tokio::time::timeout(DUPLICATES_TIMEOUT, db.ints(&sql)).await {
        Ok(Ok(counts)) => counts,
        Ok(Err(e)) => {
            report.push(
                "conversations",
                Status::Warn,
                format!("could not count the conversations that share a hash: {e}"),
            );
            return;
        }
        Err(_) => {
            report.push(
                "conversations",
                Status::Warn,
                format!(
                    "counting the conversations that share a hash took over {} s: not counted",
                    DUPLICATES_TIMEOUT.as_secs()
                ),
            );
            return;
        }
    };
    let n = |i: usize| counts.get(i).copied().flatten().unwrap_or(0);
    let (pairs, selves) = (n(0), n(1));
    if pairs == 0 && selves == 0 {
        report.push(
            "conversations",
            Status::Ok,
            "no pair of users has two individual conversations, and no user two self conversations",
        );
        return;
    }
    let mut what = Vec::new();
    if pairs > 0 {
        what.push(format!(
            "{pairs} pair(s) of users have more than one individual conversation (the dock reads them all and writes to the lowest id; Moodle's send path writes to one of them)"
        ));
    }
    if selves > 0 {
        what.push(format!(
            "{selves} user(s) have more than one self conversation"
        ));
    }
    report.push(
        "conversations",
        Status::Warn,
        format!(
            "{}: Moodle's drawer may list such a conversation twice; no message is lost, and dockchat does not merge them yet. List them (type 1: a pair, 3: a self conversation) with: SELECT convhash, MIN(type), COUNT(*), MIN(id), MAX(id) FROM {conversations} WHERE convhash IS NOT NULL GROUP BY convhash HAVING COUNT(*) > 1",
            what.join("; ")
        ),
    );
}

/// Whether `err` is the server refusing a statement for lack of privileges.
fn is_permission_error(err: &sqlx::Error) -> bool {
    let Some(db) = err.as_database_error() else {
        return false;
    };
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(my.number(), 1142 | 1143 | 1044 | 1227);
    }
    db.code().is_some_and(|c| c == "42501")
}

/// Verifies that the database user may read the Moodle tables (`SELECT ... WHERE 1 = 0`), insert into
/// Moodle's messaging tables and write the block tables (an INSERT, UPDATE and DELETE in a
/// transaction that is rolled back, so nothing stays).
async fn check_privileges(
    db: &mut Db,
    dialect: Dialect,
    opts: &CheckOptions,
    columns: &BTreeMap<String, BTreeSet<String>>,
    report: &mut CheckReport,
) {
    let prefix = opts.table_prefix.as_str();
    let user = user_of(&opts.database_url);
    // (statement, table, privilege) — only tables that exist with every column.
    let mut probes: Vec<(String, String, &'static str)> = Vec::new();
    for (table, needed) in MOODLE_COLUMNS {
        let full = format!("{prefix}{table}");
        if columns
            .get(&full)
            .is_some_and(|have| missing_columns(have, needed.iter().copied()).is_empty())
        {
            probes.push((
                format!("SELECT {} FROM {full} WHERE 1 = 0", needed.join(", ")),
                full,
                "SELECT",
            ));
        }
    }
    // Moodle's messaging tables: the rows dockchatd inserts (and, on messages, deletes).
    const TEXT_COLUMNS: &[&str] = &[
        "subject",
        "fullmessage",
        "fullmessagehtml",
        "smallmessage",
        "customdata",
        "name",
        "convhash",
        "component",
        "itemtype",
    ];
    for (table, privileges) in MOODLE_WRITES {
        let full = format!("{prefix}{table}");
        let Some(needed) = MOODLE_COLUMNS
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, c)| *c)
        else {
            continue;
        };
        if !columns
            .get(&full)
            .is_some_and(|have| missing_columns(have, needed.iter().copied()).is_empty())
        {
            continue;
        }
        let names: Vec<&str> = needed.iter().copied().filter(|c| *c != "id").collect();
        let values: Vec<&str> = names
            .iter()
            .map(|c| {
                if TEXT_COLUMNS.contains(c) {
                    "'dockchat-check'"
                } else {
                    "-1"
                }
            })
            .collect();
        probes.push((
            format!(
                "INSERT INTO {full} ({}) VALUES ({})",
                names.join(", "),
                values.join(", ")
            ),
            full.clone(),
            "INSERT",
        ));
        if privileges.contains("DELETE") {
            probes.push((format!("DELETE FROM {full} WHERE id = -1"), full, "DELETE"));
        }
    }
    if let Ok(schema) = xmldb::block_schema() {
        for t in schema.tables() {
            let full = format!("{prefix}{}", t.name);
            let complete = columns
                .get(&full)
                .is_some_and(|have| missing_columns(have, t.field_names()).is_empty());
            if !complete {
                continue;
            }
            let fields: Vec<&xmldb::Field> = t.fields.iter().filter(|f| !f.sequence).collect();
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            let values: Vec<&str> = fields
                .iter()
                .map(|f| match f.kind {
                    xmldb::FieldType::Char | xmldb::FieldType::Text => "'dockchat-check'",
                    _ => "-1",
                })
                .collect();
            let first = names.first().copied().unwrap_or("id");
            probes.push((
                format!("SELECT id FROM {full} WHERE 1 = 0"),
                full.clone(),
                "SELECT",
            ));
            probes.push((
                format!(
                    "INSERT INTO {full} ({}) VALUES ({})",
                    names.join(", "),
                    values.join(", ")
                ),
                full.clone(),
                "INSERT",
            ));
            probes.push((
                format!("UPDATE {full} SET {first} = {first} WHERE id = -1"),
                full.clone(),
                "UPDATE",
            ));
            probes.push((
                format!("DELETE FROM {full} WHERE id = -1"),
                full.clone(),
                "DELETE",
            ));
        }
    }
    if probes.is_empty() {
        return;
    }
    let stmts: Vec<String> = probes.iter().map(|p| p.0.clone()).collect();
    match db.in_rollback(&stmts).await {
        Ok(()) => report.push(
            "privileges",
            Status::Ok,
            format!(
                "\"{user}\" may read the Moodle tables and write Moodle's messaging tables and the block tables (checked with a rolled-back test write)"
            ),
        ),
        Err((i, e)) => {
            let (_, table, privilege) = &probes[i.min(probes.len() - 1)];
            if !is_permission_error(&e) {
                report.push(
                    "privileges",
                    Status::Fail,
                    format!("test {privilege} on {table} failed: {e}"),
                );
                return;
            }
            let who = match dialect {
                Dialect::Postgres => "as the owner of Moodle's tables",
                _ => "as root",
            };
            let fix = format!(
                "the GRANTs printed by `dockchatd grants --part privileges` (same --config), {who}"
            );
            report.push(
                "privileges",
                Status::Fail,
                format!(
                    "database user \"{user}\" may not {privilege} {table} ({}); run: {fix}",
                    e.as_database_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string())
                ),
            );
        }
    }
}

/// Which statements [`grants`] prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GrantPart {
    /// Both parts, the account first.
    #[default]
    All,
    /// Only the statement that creates the database account (MariaDB: needs `CREATE USER`;
    /// PostgreSQL: a superuser or a role with `CREATEROLE`).
    Account,
    /// Only the GRANTs (MariaDB: an account holding the privileges `WITH GRANT OPTION`, e.g. root;
    /// PostgreSQL: the owner of Moodle's database and tables, Moodle's `$CFG->dbuser`).
    Privileges,
}

/// What [`grants`] prints the statements for (mapped from the daemon's `Config` by `main.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantOptions {
    /// The daemon's `database_url`: its user, password and database name are used.
    pub database_url: String,
    /// Moodle's `$CFG->prefix`.
    pub table_prefix: String,
    /// MariaDB/MySQL only: the host part of the account (where dockchatd connects from, as the
    /// database server sees it). `None`: the URL's host when it is the loopback.
    pub from_host: Option<String>,
    /// Which statements.
    pub part: GrantPart,
}

/// The privileges dockchatd needs on each of the block's tables.
const BLOCK_PRIVILEGES: &str = "SELECT, INSERT, UPDATE, DELETE";

/// The SQL that gives `database_url`'s user exactly what dockchatd needs, for the configured
/// database and table prefix: `SELECT` on the columns of [`MOODLE_COLUMNS`] (nothing else of
/// Moodle's), the writes of [`MOODLE_WRITES`] on Moodle's messaging tables, read and write on the
/// block's tables of `install.xml` (and, on PostgreSQL, `USAGE` on
/// their id sequences). One statement per line, each part under a comment naming who runs it.
pub fn grants(opts: &GrantOptions) -> Result<String, String> {
    if !valid_prefix(&opts.table_prefix) {
        return Err(format!(
            "\"{}\" is not a Moodle table prefix (Moodle's $CFG->prefix, usually mdl_)",
            opts.table_prefix
        ));
    }
    let dialect = match Dialect::from_url(&opts.database_url) {
        Some(d @ (Dialect::MySql | Dialect::Postgres)) => d,
        _ => {
            return Err(format!(
                "database_url \"{}\" is not a MariaDB/MySQL or PostgreSQL URL: grants are printed only for those",
                redact_url(&opts.database_url)
            ))
        }
    };
    let url = url::Url::parse(&opts.database_url).map_err(|e| {
        format!(
            "database_url \"{}\" is not valid: {e}",
            redact_url(&opts.database_url)
        )
    })?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = decode(url.username());
    let password = url.password().map(decode);
    let database = decode(url.path().trim_start_matches('/'));
    if user.is_empty() || database.is_empty() {
        return Err(format!(
            "database_url \"{}\" must name the database user and Moodle's database (user@host/database)",
            redact_url(&opts.database_url)
        ));
    }
    let schema = xmldb::block_schema().map_err(|e| format!("embedded {e}"))?;
    let prefix = opts.table_prefix.as_str();
    let core: Vec<(String, String)> = MOODLE_COLUMNS
        .iter()
        .filter(|(t, _)| moodle_write_privileges(t).is_none())
        .map(|(t, cols)| (format!("{prefix}{t}"), cols.join(", ")))
        .collect();
    let messaging: Vec<(String, &str)> = MOODLE_WRITES
        .iter()
        .map(|(t, p)| (format!("{prefix}{t}"), *p))
        .collect();
    let block: Vec<String> = schema
        .tables()
        .iter()
        .map(|t| format!("{prefix}{}", t.name))
        .collect();
    let mut out = Vec::new();
    let header = format!(
        "-- dockchatd grants: database {database}, table prefix {prefix}, user {user} ({dialect})"
    );
    out.push(header);
    let (account, privileges) = match dialect {
        Dialect::MySql => {
            let host = match &opts.from_host {
                Some(h) => h.clone(),
                None => {
                    let h = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
                    let socket = url.query_pairs().any(|(k, _)| k == "socket");
                    match h {
                        // A Unix socket is `localhost` to MariaDB; TCP is the address itself.
                        _ if socket => "localhost".to_string(),
                        "127.0.0.1" | "::1" => h.to_string(),
                        "localhost" => {
                            return Err(
                                "database_url names localhost: dockchatd connects to it over TCP, which MariaDB sees as 127.0.0.1 or ::1, not as localhost; write 127.0.0.1 in database_url, or pass --from".to_string(),
                            )
                        }
                        _ => {
                            return Err(format!(
                                "the database is on {h}, not on this host: pass --from with the address dockchatd connects from, as the database server sees it"
                            ))
                        }
                    }
                }
            };
            let Some(password) = password else {
                return Err(format!(
                    "database_url \"{}\" has no password: put the password of the account to create in database_url (percent-encoded)",
                    redact_url(&opts.database_url)
                ));
            };
            let who = format!("{}@{}", my_string(&user), my_string(&host));
            let db = my_ident(&database);
            let account = vec![
                "-- 1. As root, or an account with the CREATE USER privilege:".to_string(),
                format!("CREATE USER {who} IDENTIFIED BY {};", my_string(&password)),
            ];
            let mut privileges = vec![format!(
                "-- 2. As root, or an account holding these privileges on {db} WITH GRANT OPTION:"
            )];
            for (table, cols) in &core {
                privileges.push(format!(
                    "GRANT SELECT ({cols}) ON {db}.{} TO {who};",
                    my_ident(table)
                ));
            }
            for (table, grant) in &messaging {
                privileges.push(format!(
                    "GRANT {grant} ON {db}.{} TO {who};",
                    my_ident(table)
                ));
            }
            for table in &block {
                privileges.push(format!(
                    "GRANT {BLOCK_PRIVILEGES} ON {db}.{} TO {who};",
                    my_ident(table)
                ));
            }
            (account, privileges)
        }
        _ => {
            let role = pg_ident(&user);
            let account = vec![
                "-- 1. As a superuser, or a role with CREATEROLE:".to_string(),
                match &password {
                    Some(p) => format!("CREATE ROLE {role} LOGIN PASSWORD {};", pg_string(p)),
                    None => format!("CREATE ROLE {role} LOGIN;"),
                },
            ];
            let mut privileges = vec![format!(
                "-- 2. Connected to {}, as the owner of Moodle's database and tables ($CFG->dbuser) or a superuser:",
                pg_ident(&database)
            )];
            privileges.push(format!(
                "GRANT CONNECT ON DATABASE {} TO {role};",
                pg_ident(&database)
            ));
            privileges.push(format!("GRANT USAGE ON SCHEMA public TO {role};"));
            for (table, cols) in &core {
                privileges.push(format!(
                    "GRANT SELECT ({cols}) ON {} TO {role};",
                    pg_ident(table)
                ));
            }
            for (table, grant) in &messaging {
                privileges.push(format!("GRANT {grant} ON {} TO {role};", pg_ident(table)));
            }
            for table in &block {
                privileges.push(format!(
                    "GRANT {BLOCK_PRIVILEGES} ON {} TO {role};",
                    pg_ident(table)
                ));
            }
            let written = messaging.iter().map(|(t, _)| t).chain(&block);
            for table in written {
                privileges.push(format!(
                    "GRANT USAGE ON SEQUENCE {} TO {role};",
                    pg_ident(&format!("{table}_id_seq"))
                ));
            }
            (account, privileges)
        }
    };
    if opts.part != GrantPart::Privileges {
        out.extend(account);
    }
    if opts.part != GrantPart::Account {
        out.extend(privileges);
    }
    out.push(String::new());
    Ok(out.join("\n"))
}

/// A MariaDB/MySQL string literal (quotes doubled, backslashes escaped).
fn my_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// A MariaDB/MySQL identifier in backquotes.
fn my_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// A PostgreSQL string literal (standard conforming: quotes doubled).
fn pg_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A PostgreSQL identifier, double-quoted.
fn pg_ident(s: &str) -> String {
    // Always quoted: a reserved-word list is never complete (`check`, `end`, `from`, ...), and
    // quoting keeps the name exactly as the URL or the prefix spells it.
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Checks that `site_url` is an absolute http(s) URL; returns its origin (`scheme://host[:port]`).
pub fn check_site_url(site_url: &str) -> Result<String, (Status, String)> {
    let fail = |why: &str| {
        Err((
            Status::Fail,
            format!(
                "\"{site_url}\" {why}: set site_url to Moodle's $CFG->wwwroot, e.g. https://moodle.example.edu"
            ),
        ))
    };
    if site_url.is_empty() {
        return fail("is empty");
    }
    if site_url.chars().any(char::is_whitespace) {
        return fail("contains whitespace");
    }
    let lower = site_url.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("https://") {
        r
    } else if let Some(r) = lower.strip_prefix("http://") {
        r
    } else {
        return fail("is not an absolute http:// or https:// URL");
    };
    if rest.contains(['?', '#']) {
        return fail("has a query or fragment");
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return fail("contains user info");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, rest)) => (h, rest.strip_prefix(':')),
            None => return fail("has an invalid IPv6 host"),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return fail("has an invalid port");
    }
    if host.is_empty() {
        return fail("has no host");
    }
    let scheme_len = site_url.len() - rest.len();
    let origin = format!("{}{}", &lower[..scheme_len], authority);
    if site_url.ends_with('/') {
        return Err((
            Status::Warn,
            format!(
                "\"{site_url}\" ends with '/': Moodle's $CFG->wwwroot has no trailing slash and the token issuer must match it exactly"
            ),
        ));
    }
    Ok(origin)
}

fn valid_prefix(p: &str) -> bool {
    p.len() <= 10
        && p.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Prefixes `p` for which both `<p>user` and `<p>config` exist: the Moodle installs in this database.
pub fn moodle_prefixes(tables: &[String]) -> Vec<String> {
    let set: BTreeSet<&str> = tables.iter().map(String::as_str).collect();
    let mut out: Vec<String> = set
        .iter()
        .filter_map(|t| t.strip_suffix("user"))
        .filter(|p| {
            set.contains(format!("{p}config").as_str())
                && set.contains(format!("{p}course").as_str())
        })
        .map(str::to_string)
        .collect();
    out.sort();
    out
}

/// The `needed` columns that are not in `have`.
pub fn missing_columns<'a>(
    have: &BTreeSet<String>,
    needed: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    needed.into_iter().filter(|c| !have.contains(*c)).collect()
}

/// `scheme://user:***@host/...`: the URL with its password hidden.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_string(),
    }
}

/// `host:port` (or the file, for SQLite) that the URL points at, for messages.
fn target_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .to_string()
}

fn database_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split_once('/')
        .map(|(_, p)| p.split('?').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

fn user_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map(|(u, _)| u.split(':').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// Turns a connection error into a diagnosis with the fix.
pub fn diagnose_connect_error(dialect: Dialect, url: &str, err: &sqlx::Error) -> String {
    let target = target_of(url);
    let database = database_of(url);
    let user = user_of(url);
    match err {
        sqlx::Error::Configuration(e) => {
            format!("database_url \"{}\" is not valid: {e}", redact_url(url))
        }
        sqlx::Error::Database(db) => {
            let mysql_number = db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(|e| e.number());
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let msg = db.message();
            match (dialect, mysql_number, code.as_str()) {
                (Dialect::MySql, Some(1045), _) | (Dialect::Postgres, _, "28P01") => format!(
                    "wrong password for database user \"{user}\" on {target} ({msg}): fix the password in database_url"
                ),
                (Dialect::Postgres, _, "28000") => format!(
                    "the server refused database user \"{user}\" on {target} ({msg}): check the user name and password in database_url and pg_hba.conf"
                ),
                (Dialect::MySql, Some(1049), _) | (Dialect::Postgres, _, "3D000") => format!(
                    "unknown database \"{database}\" on {target} ({msg}): put the name of Moodle's database ($CFG->dbname) in database_url"
                ),
                (Dialect::MySql, Some(1044), _) => format!(
                    "database user \"{user}\" may not use database \"{database}\" on {target} ({msg}): GRANT it SELECT on Moodle's tables and write access to the block's tables"
                ),
                (Dialect::Sqlite, _, "14") => format!(
                    "cannot open the SQLite database {target} ({msg}): check the path"
                ),
                _ => format!("the database on {target} refused the connection: {msg}"),
            }
        }
        sqlx::Error::Io(io) => {
            let text = io.to_string();
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                format!(
                    "connection refused by {target}: is the database server running and listening there? ({text})"
                )
            } else if text.contains("lookup")
                || text.contains("resolve")
                || text.contains("Name or service")
            {
                format!(
                    "unknown host in {target}: the name does not resolve ({text}); fix the host in database_url"
                )
            } else {
                format!("cannot reach {target}: {text}")
            }
        }
        sqlx::Error::Tls(e) => format!("TLS to {target} failed: {e}"),
        other => format!("cannot connect to {target}: {other}"),
    }
}

/// One connection of the dialect in use.
enum Db {
    My(sqlx::MySqlConnection),
    Pg(sqlx::PgConnection),
    Lite(sqlx::SqliteConnection),
}

impl Db {
    async fn connect(dialect: Dialect, url: &str) -> Result<Db, String> {
        let attempt = async {
            match dialect {
                Dialect::MySql => {
                    let url = match url.strip_prefix("mariadb://") {
                        Some(rest) => format!("mysql://{rest}"),
                        None => url.to_string(),
                    };
                    sqlx::MySqlConnection::connect(&url).await.map(Db::My)
                }
                Dialect::Postgres => sqlx::PgConnection::connect(url).await.map(Db::Pg),
                Dialect::Sqlite => sqlx::SqliteConnection::connect(url).await.map(Db::Lite),
            }
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
            Ok(Ok(db)) => Ok(db),
            Ok(Err(e)) => Err(diagnose_connect_error(dialect, url, &e)),
            Err(_) => Err(format!(
                "no answer from {} within {} s: is the host right and the port open?",
                target_of(url),
                CONNECT_TIMEOUT.as_secs()
            )),
        }
    }

    async fn close(self) {
        let _ = match self {
            Db::My(c) => c.close().await,
            Db::Pg(c) => c.close().await,
            Db::Lite(c) => c.close().await,
        };
    }

    /// Every table of the current database/schema.
    async fn tables(&mut self) -> Result<Vec<String>, sqlx::Error> {
        match self {
            Db::My(c) => {
                sqlx::query_scalar(
                    "SELECT CAST(table_name AS CHAR(255)) FROM information_schema.tables WHERE table_schema = DATABASE()",
                )
                .fetch_all(c)
                .await
            }
            Db::Pg(c) => {
                sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
                )
                .fetch_all(c)
                .await
            }
            Db::Lite(c) => {
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(c)
                    .await
            }
        }
    }

    /// Table → its columns, for every table of the current database/schema.
    async fn columns(
        &mut self,
        _dialect: Dialect,
        tables: &[String],
    ) -> Result<BTreeMap<String, BTreeSet<String>>, sqlx::Error> {
        let pairs: Vec<(String, String)> = match self {
            Db::My(c) => {
                sqlx::query_as(
                    "SELECT CAST(table_name AS CHAR(255)), CAST(column_name AS CHAR(255)) FROM information_schema.columns WHERE table_schema = DATABASE()",
                )
                .fetch_all(c)
                .await?
            }
            Db::Pg(c) => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = current_schema()",
                )
                .fetch_all(c)
                .await?
            }
            Db::Lite(c) => {
                let mut pairs = Vec::new();
                for t in tables {
                    let cols: Vec<String> =
                        sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
                            .bind(t)
                            .fetch_all(&mut *c)
                            .await?;
                    pairs.extend(cols.into_iter().map(|col| (t.clone(), col)));
                }
                pairs
            }
        };
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for t in tables {
            map.entry(t.clone()).or_default();
        }
        for (t, c) in pairs {
            map.entry(t).or_default().insert(c.to_ascii_lowercase());
        }
        Ok(map)
    }

    /// Runs `stmts` in one transaction that is always rolled back; on failure, the failing index.
    async fn in_rollback(&mut self, stmts: &[String]) -> Result<(), (usize, sqlx::Error)> {
        macro_rules! run {
            ($c:expr) => {{
                let mut tx = $c.begin().await.map_err(|e| (0usize, e))?;
                let mut failed = None;
                for (i, s) in stmts.iter().enumerate() {
                    if let Err(e) = sqlx::raw_sql(s.as_str()).execute(&mut *tx).await {
                        failed = Some((i, e));
                        break;
                    }
                }
                let _ = tx.rollback().await;
                match failed {
                    Some(f) => Err(f),
                    None => Ok(()),
                }
            }};
        }
        match self {
            Db::My(c) => run!(c),
            Db::Pg(c) => run!(c),
            Db::Lite(c) => run!(c),
        }
    }

    /// The columns of the first row of `sql` (no placeholders), as integers (NULL: `None`).
    async fn ints(&mut self, sql: &str) -> Result<Vec<Option<i64>>, sqlx::Error> {
        macro_rules! run {
            ($c:expr) => {{
                use sqlx::Row;
                let row = sqlx::query(sql).fetch_one($c).await?;
                (0..row.len())
                    .map(|i| row.try_get::<Option<i64>, _>(i))
                    .collect()
            }};
        }
        match self {
            Db::My(c) => run!(c),
            Db::Pg(c) => run!(c),
            Db::Lite(c) => run!(c),
        }
    }

    /// The first column of the first row of `sql` (written with `?` placeholders), as text.
    async fn value(
        &mut self,
        _dialect: Dialect,
        sql: &str,
        params: &[&str],
    ) -> Result<Option<String>, sqlx::Error> {
        match self {
            Db::My(c) => {
                let mut q = sqlx::query_scalar::<_, String>(sql);
                for p in params {
                    q = q.bind(*p);
                }
                q.fetch_optional(c).await
            }
            Db::Pg(c) => {
                let sql = numbered_placeholders(sql);
                let mut q = sqlx::query_scalar::<_, String>(&sql);
                for p in params {
                    q = q.bind(*p);
                }
                q.fetch_optional(c).await
            }
            Db::Lite(c) => {
                let mut q = sqlx::query_scalar::<_, String>(sql);
                for p in params {
                    q = q.bind(*p);
                }
                q.fetch_optional(c).await
            }
        }
    }
}

/// `?` → `$1`, `$2`... (PostgreSQL placeholders).
fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::moodle_schema;

    #[test]
    fn site_url_validation() {
        assert_eq!(
            check_site_url("https://moodle.example.edu").ok().as_deref(),
            Some("https://moodle.example.edu")
        );
        assert_eq!(
            check_site_url("http://Moodle.test:8080/sub/dir")
                .ok()
                .as_deref(),
            Some("http://moodle.test:8080")
        );
        for bad in [
            "",
            "moodle.example.edu",
            "ftp://x",
            "https://",
            "https://a b",
            "https://x/?q",
            "https://u@x",
        ] {
            let e = check_site_url(bad).expect_err(bad);
            assert_eq!(e.0, Status::Fail, "{bad}");
            assert!(e.1.contains("wwwroot"), "{}", e.1);
        }
        assert_eq!(
            check_site_url("https://x.test/").expect_err("slash").0,
            Status::Warn
        );
    }

    #[test]
    fn prefixes_that_look_like_moodle() {
        let t: Vec<String> = [
            "mdl_user",
            "mdl_config",
            "mdl_course",
            "m2_user",
            "m2_config",
            "m2_course",
            "other_user",
            "poweruser",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(moodle_prefixes(&t), vec!["m2_", "mdl_"]);
    }

    #[test]
    fn missing_columns_and_redaction() {
        let have: BTreeSet<String> = ["id", "userid"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            missing_columns(&have, ["id", "name", "userid", "value"]),
            vec!["name", "value"]
        );
        assert_eq!(
            redact_url("mysql://moodle:s3cret@db.local:3306/moodle"),
            "mysql://moodle:***@db.local:3306/moodle"
        );
        assert_eq!(redact_url("postgres://pg@h/db"), "postgres://pg@h/db");
        assert_eq!(target_of("mysql://u:p@h:3306/db?x=1"), "h:3306");
        assert_eq!(database_of("mysql://u:p@h:3306/db?x=1"), "db");
        assert_eq!(user_of("mysql://u:p@h:3306/db"), "u");
        assert_eq!(
            numbered_placeholders("a = ? AND b = ?"),
            "a = $1 AND b = $2"
        );
    }

    #[test]
    fn grants_follow_the_configured_names_and_refuse_guesses() {
        let g = |url: &str, prefix: &str, from: Option<&str>, part| {
            grants(&GrantOptions {
                database_url: url.into(),
                table_prefix: prefix.into(),
                from_host: from.map(str::to_string),
                part,
            })
        };
        let my = g(
            "mariadb://dc%40x:p%27w@127.0.0.1:3306/lms",
            "m_",
            None,
            GrantPart::All,
        )
        .expect("mariadb grants");
        assert!(
            my.contains("CREATE USER 'dc@x'@'127.0.0.1' IDENTIFIED BY 'p''w';"),
            "{my}"
        );
        assert!(
            my.contains("GRANT SELECT (id, userid, contactid) ON `lms`.`m_message_contacts` TO 'dc@x'@'127.0.0.1';"),
            "{my}"
        );
        assert!(
            my.contains("GRANT SELECT, INSERT, UPDATE, DELETE ON `lms`.`m_block_dockchat_window`"),
            "{my}"
        );
        assert!(!my.contains("mdl_") && !my.contains("moodle"), "{my}");
        // Every core table dockchatd only reads gets SELECT on its columns, and only those; the
        // messaging tables it writes, what it writes.
        assert_eq!(
            my.matches("GRANT SELECT (").count(),
            MOODLE_COLUMNS.len() - MOODLE_WRITES.len(),
            "{my}"
        );
        assert!(
            my.contains(
                "GRANT SELECT, INSERT, DELETE ON `lms`.`m_messages` TO 'dc@x'@'127.0.0.1';"
            ),
            "{my}"
        );
        assert!(
            my.contains(
                "GRANT SELECT, INSERT ON `lms`.`m_message_user_actions` TO 'dc@x'@'127.0.0.1';"
            ),
            "{my}"
        );
        assert!(
            my.contains("GRANT SELECT (id, userid, conversationid, action) ON `lms`.`m_message_conversation_actions`"),
            "read only: {my}"
        );
        // A remote database needs --from; MariaDB needs the password to create the account.
        let remote = "mysql://dc:pw@db.example:3306/lms";
        assert!(g(remote, "m_", None, GrantPart::All)
            .expect_err("remote")
            .contains("--from"));
        assert!(g(remote, "m_", Some("10.0.0.5"), GrantPart::Account)
            .expect("from")
            .contains("'dc'@'10.0.0.5'"));
        assert!(g("mysql://dc:pw@localhost/lms", "m_", None, GrantPart::All)
            .expect_err("localhost over TCP")
            .contains("127.0.0.1"));
        assert!(g(
            "mysql://dc:pw@localhost/lms?socket=/run/mysqld/mysqld.sock",
            "m_",
            None,
            GrantPart::Account
        )
        .expect("socket")
        .contains("'dc'@'localhost'"));
        assert!(g("mysql://dc@127.0.0.1/lms", "m_", None, GrantPart::All)
            .expect_err("no password")
            .contains("no password"));

        let pg = g(
            "postgres://user:pw@127.0.0.1/Lms",
            "mdl_",
            None,
            GrantPart::Privileges,
        )
        .expect("postgres grants");
        assert!(!pg.contains("CREATE ROLE"), "{pg}");
        assert!(
            pg.contains("GRANT CONNECT ON DATABASE \"Lms\" TO \"user\";"),
            "{pg}"
        );
        assert!(
            pg.contains("GRANT USAGE ON SEQUENCE \"mdl_block_dockchat_sent_id_seq\" TO \"user\";")
                && pg.contains("GRANT USAGE ON SEQUENCE \"mdl_messages_id_seq\" TO \"user\";")
                && pg.contains("GRANT SELECT, INSERT, DELETE ON \"mdl_messages\" TO \"user\";"),
            "{pg}"
        );
        let account = g(
            "postgres://dockchat@127.0.0.1/lms",
            "mdl_",
            None,
            GrantPart::Account,
        )
        .expect("account");
        assert!(
            account.contains("CREATE ROLE \"dockchat\" LOGIN;"),
            "{account}"
        );
        assert!(!account.contains("GRANT"), "{account}");
        assert!(g("sqlite://x.db", "mdl_", None, GrantPart::All).is_err());
        assert!(g("postgres://u@h/db", "Bad-", None, GrantPart::All).is_err());
    }

    #[test]
    fn report_display_and_ok() {
        let mut r = CheckReport::default();
        r.push("database", Status::Ok, "connected");
        r.push("messaging", Status::Warn, "off");
        assert!(r.ok());
        let text = r.to_string();
        assert!(text.contains("ok    database: connected"), "{text}");
        assert!(text.contains("warn  messaging: off"), "{text}");
        assert!(text.contains("all 2 checks passed"), "{text}");
        r.push("secret", Status::Fail, "missing");
        assert!(!r.ok());
        assert!(r.to_string().contains("FAIL  secret: missing"));
        assert!(r.to_string().contains("1 of 3 checks FAILED"));
    }

    fn temp_sqlite(name: &str) -> (std::path::PathBuf, String) {
        let path = std::env::temp_dir().join(format!(
            "dockchat-check-{name}-{}-{}.db",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        (path, url)
    }

    async fn build_sqlite(url: &str, block: bool, secret: Option<&str>) {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        for s in moodle_schema::statements(Dialect::Sqlite) {
            sqlx::query(s).execute(&mut c).await.expect("moodle schema");
        }
        if block {
            let schema = xmldb::block_schema().expect("install.xml");
            for s in schema.create_statements(Dialect::Sqlite, "mdl_") {
                sqlx::query(&s).execute(&mut c).await.expect("block schema");
            }
        }
        if let Some(s) = secret {
            sqlx::query("INSERT INTO mdl_config_plugins (plugin, name, value) VALUES ('block_dockchat', 'secret', ?)")
                .bind(s)
                .execute(&mut c)
                .await
                .expect("secret");
        }
        sqlx::query("INSERT INTO mdl_config (name, value) VALUES ('messaging', '0')")
            .execute(&mut c)
            .await
            .expect("config");
        c.close().await.expect("close");
    }

    fn opts(url: &str) -> CheckOptions {
        CheckOptions {
            database_url: url.to_string(),
            table_prefix: "mdl_".into(),
            site_url: "http://moodle.test".into(),
            token_secret: None,
            check_sessions: true,
            redis_url: String::new(),
        }
    }

    #[tokio::test]
    async fn healthy_sqlite_database_passes_with_messaging_warning() {
        let (path, url) = temp_sqlite("ok");
        build_sqlite(&url, true, Some("0123456789abcdef0123456789abcdef")).await;
        let report = run(&opts(&url)).await;
        let _ = std::fs::remove_file(&path);
        assert!(report.ok(), "{report}");
        let text = report.to_string();
        assert!(
            text.contains("ok    table mdl_block_dockchat_sent"),
            "{text}"
        );
        assert!(text.contains("ok    table mdl_messages"), "{text}");
        assert!(text.contains("ok    secret"), "{text}");
        assert!(text.contains("warn  messaging"), "{text}");
    }

    #[tokio::test]
    async fn missing_block_secret_and_prefix_fail_with_diagnosis() {
        let (path, url) = temp_sqlite("bad");
        build_sqlite(&url, false, None).await;
        let report = run(&opts(&url)).await;
        let text = report.to_string();
        assert!(!report.ok());
        assert!(
            text.contains("block_dockchat is not installed or not upgraded"),
            "{text}"
        );
        assert!(
            text.contains("FAIL  secret: secret missing in mdl_config_plugins"),
            "{text}"
        );

        let mut wrong = opts(&url);
        wrong.table_prefix = "moo_".into();
        let report = run(&wrong).await;
        let text = report.to_string();
        assert!(!report.ok());
        assert!(text.contains("no table moo_user"), "{text}");
        assert!(text.contains("\"mdl_\""), "{text}");

        let mut with_secret = opts(&url);
        with_secret.token_secret = Some("a-config-secret-of-32-characters".into());
        let text = run(&with_secret).await.to_string();
        assert!(text.contains("ok    secret: token_secret is set"), "{text}");
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn bad_scheme_and_missing_file_are_explained() {
        let report = run(&opts("oracle://x/y")).await;
        assert!(!report.ok());
        assert!(
            report.to_string().contains("unsupported scheme"),
            "{report}"
        );
        let report = run(&opts("sqlite:///nonexistent/dir/x.db")).await;
        assert!(!report.ok());
        assert!(report.to_string().contains("FAIL  database"), "{report}");
    }
}

//! The block's own tables (`block_dockchat_conv`, `_msg`, `_read`, `_window`, defined in
//! `moodle-block/db/install.xml`): conversations, messages, read markers and docked windows.
//!
//! Owns: every write the daemon makes, the batched, idempotent message insert used by the single
//! message writer (one transaction per batch), and trimming a user's windows to [`WINDOWS_MAX`] when
//! a `window` request adds one.
//! Must not: check permissions or push frames; callers do that before and after.

use super::{batches, dispatch, now, Dialect, Result, SqlBuilder, Store};
use sqlx::Row;
use std::collections::HashMap;

/// Window states as stored (`block_dockchat_window.state`); a closed window has no row.
pub const WINDOW_OPEN: i64 = 0;
pub const WINDOW_MINIMISED: i64 = 1;
/// Most windows a user keeps (a dock shows a handful side by side and the rest in its overflow
/// menu): [`Store::set_window`] closes the oldest beyond it, and `welcome` lists at most this many.
pub const WINDOWS_MAX: usize = 20;

/// What [`Store::set_window`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowWrite {
    /// The window's row was created, changed or deleted.
    pub changed: bool,
    /// Peers whose windows were closed to keep [`WINDOWS_MAX`], newest first (at most
    /// [`WINDOWS_MAX`] of them are named; older rows beyond the cap go without a name).
    pub closed: Vec<i64>,
}

/// A message row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgRow {
    pub id: i64,
    pub from: i64,
    pub to: i64,
    pub cid: String,
    pub text: String,
    pub time: i64,
}

/// What `welcome` needs of one user's rows: windows (peer, state) in the order they were opened,
/// and the newest message id of any of the user's conversations (0 if none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WelcomeRows {
    pub windows: Vec<(i64, i64)>,
    pub cursor: i64,
}

/// One send to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub from: i64,
    pub to: i64,
    pub cid: String,
    pub text: String,
    /// The caller knows the sender's / recipient's window row exists: skip creating it.
    pub windows_known: [bool; 2],
}

/// What storing one [`NewMessage`] did.
#[derive(Debug, Clone)]
pub struct Stored {
    pub message: MsgRow,
    /// The cid had been used before: this is the earlier message, nothing new was stored.
    pub dup: bool,
    /// The sender had no window for the recipient; an open one was created.
    pub opened_sender_window: bool,
    /// The recipient had no window for the sender; a minimised one was created.
    pub opened_recipient_window: bool,
}

#[derive(Debug)]
pub(crate) struct ChatSql {
    /// The server session of the current connection (none on SQLite).
    session_id: Option<String>,
    /// Counts sessions with a given id still on the server (none on SQLite).
    session_alive: Option<String>,
    conv_get: String,
    conv_insert: String,
    /// Indexed by [`size_class`]: batched lookups padded to a power of two, and multi-row inserts.
    conv_by_pairs: Vec<String>,
    msg_by_keys: Vec<String>,
    msg_insert_rows: Vec<String>,
    window_by_pairs: Vec<String>,
    window_get: String,
    window_insert: String,
    window_insert_ignore: String,
    window_update: String,
    window_delete: String,
    window_newest: String,
    window_delete_upto: String,
    windows_of: String,
    welcome_batch: String,
    history: String,
    missed: String,
    conv_last: String,
    reads_of_conv: String,
    read_update: String,
    read_exists: String,
    read_insert: String,
    unread: String,
}

impl ChatSql {
    pub fn new(b: &SqlBuilder) -> Self {
        let list = SqlBuilder::batch_list();
        ChatSql {
            session_id: match b.dialect {
                Dialect::MySql => Some("SELECT CAST(CONNECTION_ID() AS SIGNED)".into()),
                Dialect::Postgres => Some("SELECT CAST(pg_backend_pid() AS BIGINT)".into()),
                Dialect::Sqlite => None,
            },
            session_alive: match b.dialect {
                Dialect::MySql => Some(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?".into(),
                ),
                Dialect::Postgres => Some(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = CAST($1 AS INTEGER)".into(),
                ),
                Dialect::Sqlite => None,
            },
            conv_get: b.build("SELECT id FROM {p}block_dockchat_conv WHERE userlow = ? AND userhigh = ?"),
            conv_insert: b.insert(
                "INSERT INTO {p}block_dockchat_conv (userlow, userhigh, timecreated) VALUES (?, ?, ?)",
            ),
            conv_by_pairs: (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT id, userlow, userhigh FROM {{p}}block_dockchat_conv WHERE {}",
                        pair_terms("userlow", "userhigh", 1 << c)
                    ))
                })
                .collect(),
            msg_by_keys: (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT m.id, m.useridfrom, c.userlow, c.userhigh, m.clientmsgid, m.message, m.timecreated \
                         FROM {{p}}block_dockchat_msg m JOIN {{p}}block_dockchat_conv c ON c.id = m.convid \
                         WHERE {}",
                        pair_terms("m.useridfrom", "m.clientmsgid", 1 << c)
                    ))
                })
                .collect(),
            msg_insert_rows: (0..SIZE_CLASSES)
                .map(|c| {
                    let rows = vec!["(?, ?, ?, ?, ?)"; 1 << c].join(", ");
                    let s = b.insert_ignore(&format!(
                        "INSERT INTO {{p}}block_dockchat_msg (convid, useridfrom, clientmsgid, message, timecreated) \
                         VALUES {rows}"
                    ));
                    if b.dialect == Dialect::MySql && !b.returning {
                        // The caller checked for retries, so IGNORE would only hide real errors.
                        s.replacen("INSERT IGNORE INTO", "INSERT INTO", 1)
                    } else {
                        format!("{s} RETURNING id, useridfrom, clientmsgid")
                    }
                })
                .collect(),
            window_by_pairs: (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT id, userid, peerid FROM {{p}}block_dockchat_window WHERE {}",
                        pair_terms("userid", "peerid", 1 << c)
                    ))
                })
                .collect(),
            window_get: b.build(
                "SELECT state FROM {p}block_dockchat_window WHERE userid = ? AND peerid = ?",
            ),
            window_insert: b.build(
                "INSERT INTO {p}block_dockchat_window (userid, peerid, state, timemodified) VALUES (?, ?, ?, ?)",
            ),
            window_insert_ignore: b.insert_ignore(
                "INSERT INTO {p}block_dockchat_window (userid, peerid, state, timemodified) VALUES (?, ?, ?, ?)",
            ),
            window_update: b.build(
                "UPDATE {p}block_dockchat_window SET state = ?, timemodified = ? WHERE userid = ? AND peerid = ?",
            ),
            window_delete: b.build(
                "DELETE FROM {p}block_dockchat_window WHERE userid = ? AND peerid = ?",
            ),
            window_newest: b.build(
                "SELECT id, peerid FROM {p}block_dockchat_window WHERE userid = ? ORDER BY id DESC LIMIT ?",
            ),
            window_delete_upto: b.build(
                "DELETE FROM {p}block_dockchat_window WHERE userid = ? AND id <= ?",
            ),
            windows_of: b.build(
                "SELECT peerid, state FROM {p}block_dockchat_window WHERE userid = ? ORDER BY id",
            ),
            // The welcome's windows and cursors of a batch of users in one round trip: window rows
            // (ord = their id, so in the order they were opened), then one row per user who has
            // messages (ord 0, state -1) with the cursor.
            welcome_batch: b.build(&format!(
                "SELECT w.userid AS u, w.id AS ord, w.peerid AS a, w.state AS b \
                 FROM {{p}}block_dockchat_window w WHERE w.userid IN ({list}) \
                 UNION ALL \
                 SELECT x.u, 0, MAX(x.mid), -1 FROM ( \
                   SELECT c.userlow AS u, MAX(m.id) AS mid FROM {{p}}block_dockchat_conv c \
                   JOIN {{p}}block_dockchat_msg m ON m.convid = c.id WHERE c.userlow IN ({list}) GROUP BY c.userlow \
                   UNION ALL \
                   SELECT c.userhigh, MAX(m.id) FROM {{p}}block_dockchat_conv c \
                   JOIN {{p}}block_dockchat_msg m ON m.convid = c.id WHERE c.userhigh IN ({list}) GROUP BY c.userhigh \
                 ) x GROUP BY x.u \
                 ORDER BY 1, 2"
            )),
            history: b.build(
                "SELECT id, useridfrom, clientmsgid, message, timecreated FROM {p}block_dockchat_msg \
                 WHERE convid = ? AND id < ? ORDER BY id DESC LIMIT ?",
            ),
            missed: b.build(
                "SELECT m.id, m.useridfrom, c.userlow, c.userhigh, m.clientmsgid, m.message, m.timecreated \
                 FROM {p}block_dockchat_msg m JOIN {p}block_dockchat_conv c ON c.id = m.convid \
                 WHERE (c.userlow = ? OR c.userhigh = ?) AND m.id > ? ORDER BY m.id LIMIT ?",
            ),
            conv_last: b.build("SELECT MAX(id) FROM {p}block_dockchat_msg WHERE convid = ?"),
            reads_of_conv: b.build(
                "SELECT userid, lastreadid FROM {p}block_dockchat_read WHERE convid = ?",
            ),
            read_update: b.build(
                "UPDATE {p}block_dockchat_read SET lastreadid = ?, timemodified = ? \
                 WHERE convid = ? AND userid = ? AND lastreadid < ?",
            ),
            read_exists: b.build(
                "SELECT id FROM {p}block_dockchat_read WHERE convid = ? AND userid = ?",
            ),
            read_insert: b.build(
                "INSERT INTO {p}block_dockchat_read (convid, userid, lastreadid, timemodified) VALUES (?, ?, ?, ?)",
            ),
            unread: b.build(
                "SELECT COUNT(*) FROM {p}block_dockchat_msg WHERE convid = ? AND useridfrom <> ? AND id > ?",
            ),
        }
    }
}

fn pair(a: i64, b: i64) -> (i64, i64) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Decodes a row of `missed`/`msg_by_keys`: id, from, low, high, cid, text, time.
macro_rules! msg_with_pair {
    ($r:expr) => {{
        let r = $r;
        let from: i64 = r.try_get(1)?;
        let low: i64 = r.try_get(2)?;
        let high: i64 = r.try_get(3)?;
        MsgRow {
            id: r.try_get(0)?,
            from,
            to: if from == low { high } else { low },
            cid: r.try_get(4)?,
            text: r.try_get(5)?,
            time: r.try_get(6)?,
        }
    }};
}

/// Inserts and returns the new id: `RETURNING id` on PostgreSQL/SQLite, `last_insert_id` on MySQL.
macro_rules! insert_id {
    (MySql, $q:expr, $conn:expr) => {
        $q.execute($conn).await?.last_insert_id() as i64
    };
    (Other, $q:expr, $conn:expr) => {
        $q.fetch_one($conn).await?.try_get::<i64, _>(0)?
    };
}

/// Longest a batch may take from the pool acquire to its COMMIT: past it the batch is rolled back
/// and its senders are told nothing was stored (a healthy batch takes milliseconds).
pub const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Longest wait for the answer to a COMMIT; without one the outcome is unknown.
pub const COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Longest wait for a killed session to leave the server.
const END_SESSION_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A batch whose COMMIT was sent but not answered (the connection dropped or went quiet): stored
/// or not, only the database can say ([`Store::commit_outcome`]). Holds the answer the batch
/// would give if it was committed.
#[derive(Debug)]
pub struct PendingCommit {
    /// What [`Store::store_batch`] would have returned, in batch order.
    pub stored: Vec<Stored>,
    /// The server session (MySQL thread id, PostgreSQL backend pid) that sent the COMMIT; `None`
    /// on SQLite, which commits in-process.
    session: Option<i64>,
}

impl PendingCommit {
    fn new(stored: Vec<Stored>, session: Option<i64>) -> Self {
        PendingCommit { stored, session }
    }

    /// The rows the batch inserted (the answers that are not a retried cid's).
    fn fresh(&self) -> impl Iterator<Item = &MsgRow> {
        self.stored.iter().filter(|s| !s.dup).map(|s| &s.message)
    }
}

/// Most sends [`Store::store_batch`] takes at once; its batched statements are built for every power
/// of two up to this size, so each backend prepares at most a handful of statements per kind.
pub const WRITE_BATCH_MAX: usize = 256;
const SIZE_CLASSES: usize = WRITE_BATCH_MAX.trailing_zeros() as usize + 1;

/// Index of the smallest power of two holding `n` (n ≥ 1).
fn size_class(n: usize) -> usize {
    n.max(1).next_power_of_two().trailing_zeros() as usize
}

/// Splits `n` rows into runs whose lengths are powers of two, largest first (100 → 64, 32, 4): a
/// multi-row INSERT cannot be padded, so each run uses a prepared statement of exactly its size.
fn power_of_two_runs(mut n: usize) -> Vec<usize> {
    let mut runs = Vec::new();
    while n > 0 {
        let run = 1usize << (usize::BITS - 1 - n.leading_zeros());
        let run = run.min(WRITE_BATCH_MAX);
        runs.push(run);
        n -= run;
    }
    runs
}

/// `(a = ? AND b = ?) OR ...` repeated `n` times.
fn pair_terms(a: &str, b: &str, n: usize) -> String {
    vec![format!("({a} = ? AND {b} = ?)"); n].join(" OR ")
}

/// What a batch holds, worked out before touching the database: the distinct `(from, cid)` keys in
/// order of first appearance, and for each send the key it uses.
struct BatchPlan<'a> {
    keys: Vec<(i64, &'a str)>,
    key_of: Vec<usize>,
    first: Vec<bool>,
}

impl<'a> BatchPlan<'a> {
    fn new(batch: &'a [NewMessage]) -> Self {
        let mut index = std::collections::HashMap::with_capacity(batch.len());
        let mut plan = BatchPlan {
            keys: Vec::with_capacity(batch.len()),
            key_of: Vec::with_capacity(batch.len()),
            first: Vec::with_capacity(batch.len()),
        };
        for m in batch {
            let key = (m.from, m.cid.as_str());
            match index.get(&key) {
                Some(&k) => {
                    plan.key_of.push(k);
                    plan.first.push(false);
                }
                None => {
                    index.insert(key, plan.keys.len());
                    plan.key_of.push(plan.keys.len());
                    plan.first.push(true);
                    plan.keys.push(key);
                }
            }
        }
        plan
    }
}

/// Looks up stored messages by `(from, cid)` with the padded batched statement; fills `found`.
macro_rules! fetch_by_keys {
    ($sql:expr, $conn:expr, $keys:expr, $found:expr) => {{
        for chunk in $keys.chunks(WRITE_BATCH_MAX) {
            let class = size_class(chunk.len());
            let mut q = sqlx::query(&$sql.msg_by_keys[class]);
            for i in 0..(1usize << class) {
                // Padding: no user has id -1 and no cid is empty.
                let (from, cid) = chunk.get(i).copied().unwrap_or((-1, ""));
                q = q.bind(from).bind(cid);
            }
            for r in q.fetch_all(&mut *$conn).await? {
                let m = msg_with_pair!(&r);
                $found.insert((m.from, m.cid.clone()), m);
            }
        }
    }};
}

/// Fetches `(a, b) -> first column` rows for pairs with a padded batched statement.
macro_rules! fetch_by_pairs {
    ($stmts:expr, $conn:expr, $pairs:expr, $out:expr) => {{
        for chunk in $pairs.chunks(WRITE_BATCH_MAX) {
            let class = size_class(chunk.len());
            let mut q = sqlx::query(&$stmts[class]);
            for i in 0..(1usize << class) {
                let (a, b) = chunk.get(i).copied().unwrap_or((-1, -1));
                q = q.bind(a).bind(b);
            }
            for r in q.fetch_all(&mut *$conn).await? {
                let a: i64 = r.try_get(1)?;
                let b: i64 = r.try_get(2)?;
                $out.insert((a, b), r.try_get::<i64, _>(0)?);
            }
        }
    }};
}

/// Multi-row INSERT of the new messages (in order, so ids increase in batch order); returns
/// `(from, cid) -> id` of the rows it stored.
///
/// `Returning` (PostgreSQL, SQLite, MariaDB ≥ 10.5): `INSERT IGNORE` / `ON CONFLICT DO NOTHING` with
/// `RETURNING`, so a retried cid is simply not returned and no duplicate check is needed beforehand.
/// `ReadBack` (MySQL, which has no RETURNING): the caller checked for retries first; the rows are read
/// back by their unique key inside the same transaction.
macro_rules! insert_messages {
    ($stmts:expr, $conn:expr, $rows:expr, $t:expr, $returning:expr, $sql:expr) => {{
        let mut ids: std::collections::HashMap<(i64, String), i64> =
            std::collections::HashMap::with_capacity($rows.len());
        let mut at = 0;
        for run in power_of_two_runs($rows.len()) {
            let mut q = sqlx::query(&$stmts[size_class(run)]);
            for (conv, m) in &$rows[at..at + run] {
                q = q
                    .bind(*conv)
                    .bind(m.from)
                    .bind(&m.cid)
                    .bind(&m.text)
                    .bind($t);
            }
            if $returning {
                for r in q.fetch_all(&mut *$conn).await? {
                    let id: i64 = r.try_get(0)?;
                    let from: i64 = r.try_get(1)?;
                    let cid: String = r.try_get(2)?;
                    ids.insert((from, cid), id);
                }
            } else {
                q.execute(&mut *$conn).await?;
            }
            at += run;
        }
        if !$returning {
            let keys: Vec<(i64, &str)> = $rows
                .iter()
                .map(|(_, m)| (m.from, m.cid.as_str()))
                .collect();
            let mut found: std::collections::HashMap<(i64, String), MsgRow> =
                std::collections::HashMap::with_capacity(keys.len());
            fetch_by_keys!($sql, $conn, keys, found);
            ids.extend(found.into_iter().map(|(k, m)| (k, m.id)));
        }
        ids
    }};
}

/// The body of [`Store::store_batch`], compiled once per backend. Round trips per batch, whatever its
/// size: the conversation lookup, one INSERT per power-of-two run, the window lookup (only for windows
/// not known to exist), the commit; without RETURNING (MySQL) also a duplicate check before and a
/// read-back after the INSERT. Only a pair's first message, a window's first use or a retried cid
/// add statements.
macro_rules! store_batch_body {
    ($kind:ident, $begin:expr, $sql:expr, $batch:expr, $returning:expr) => {{
        let sql: &ChatSql = $sql;
        let batch: &[NewMessage] = $batch;
        let plan = BatchPlan::new(batch);
        let t = now();
        let started = std::time::Instant::now();
        // Everything up to the commit runs under one deadline (pool acquire included): a database
        // that does not answer fails the batch in seconds, and dropping the transaction rolls it
        // back, so a timeout here always means nothing was stored.
        let prepared = tokio::time::timeout(WRITE_TIMEOUT, async {
        let mut tx = $begin.await?;
        // Which server session holds the transaction: if its COMMIT goes unanswered, that session
        // is ended before the outcome is read (see `Store::commit_outcome`).
        let session: Option<i64> = match &sql.session_id {
            Some(q) => Some(sqlx::query_scalar::<_, i64>(q).fetch_one(&mut *tx).await?),
            None => None,
        };

        // Retried sends: cids stored by an earlier batch. With RETURNING the INSERT itself tells.
        let mut existing: std::collections::HashMap<(i64, String), MsgRow> =
            std::collections::HashMap::new();
        if !$returning {
            fetch_by_keys!(sql, tx, plan.keys, existing);
        }
        let t_dups = started.elapsed();

        // The sends that may store a new row: the first use of a key not known to be stored.
        let candidates: Vec<usize> = (0..batch.len())
            .filter(|&i| {
                plan.first[i] && !existing.contains_key(&(batch[i].from, batch[i].cid.clone()))
            })
            .collect();

        // Conversations, created for pairs that never talked.
        let mut pairs: Vec<(i64, i64)> = candidates
            .iter()
            .map(|&i| pair(batch[i].from, batch[i].to))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut convs: std::collections::HashMap<(i64, i64), i64> =
            std::collections::HashMap::with_capacity(pairs.len());
        fetch_by_pairs!(sql.conv_by_pairs, tx, pairs, convs);
        for p in &pairs {
            if !convs.contains_key(p) {
                let q = sqlx::query(&sql.conv_insert).bind(p.0).bind(p.1).bind(t);
                let id = insert_id!($kind, q, &mut *tx);
                convs.insert(*p, id);
            }
        }

        // The messages.
        let mut rows: Vec<(i64, &NewMessage)> = Vec::with_capacity(candidates.len());
        for &i in &candidates {
            let m = &batch[i];
            let conv = convs.get(&pair(m.from, m.to)).copied().ok_or_else(|| {
                super::StoreError::Schema("conversation row missing after insert".into())
            })?;
            rows.push((conv, m));
        }
        let t_convs = started.elapsed();
        let ids = insert_messages!(sql.msg_insert_rows, tx, rows, t, $returning, sql);
        if $returning && ids.len() < rows.len() {
            // Not inserted: the unique key already held the cid. Fetch what was stored then.
            let retried: Vec<(i64, &str)> = rows
                .iter()
                .filter(|(_, m)| !ids.contains_key(&(m.from, m.cid.clone())))
                .map(|(_, m)| (m.from, m.cid.as_str()))
                .collect();
            fetch_by_keys!(sql, tx, retried, existing);
        }
        let fresh: Vec<usize> = candidates
            .into_iter()
            .filter(|&i| ids.contains_key(&(batch[i].from, batch[i].cid.clone())))
            .collect();
        let t_insert = started.elapsed();

        // Windows: the sender's (open) and the recipient's (minimised), where the caller does not
        // know them to exist. The first send of the batch that needs one creates it.
        let mut wanted: Vec<(i64, i64, i64, usize, usize)> = Vec::new(); // owner, peer, state, send, side
        let mut seen = std::collections::HashSet::new();
        for &i in &fresh {
            let m = &batch[i];
            for (side, (owner, peer, state)) in
                [(m.from, m.to, WINDOW_OPEN), (m.to, m.from, WINDOW_MINIMISED)].into_iter().enumerate()
            {
                if !m.windows_known[side] && seen.insert((owner, peer)) {
                    wanted.push((owner, peer, state, i, side));
                }
            }
        }
        let mut opened = vec![[false, false]; batch.len()];
        if !wanted.is_empty() {
            let keys: Vec<(i64, i64)> = wanted.iter().map(|w| (w.0, w.1)).collect();
            let mut have: std::collections::HashMap<(i64, i64), i64> = std::collections::HashMap::new();
            fetch_by_pairs!(sql.window_by_pairs, tx, keys, have);
            for (owner, peer, state, i, side) in wanted {
                if have.contains_key(&(owner, peer)) {
                    continue;
                }
                // IGNORE: a `window` request of the same user may insert the row concurrently.
                let inserted = sqlx::query(&sql.window_insert_ignore)
                    .bind(owner)
                    .bind(peer)
                    .bind(state)
                    .bind(t)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                opened[i][side] = inserted > 0;
            }
        }
        let t_windows = started.elapsed();

        // The answer, in batch order, is worked out before the commit: once the commit is sent
        // nothing may fail any more, or a stored message would be reported as not stored.
        let mut stored_rows: Vec<Option<MsgRow>> = vec![None; plan.keys.len()];
        let mut out = Vec::with_capacity(batch.len());
        for (i, m) in batch.iter().enumerate() {
            let k = plan.key_of[i];
            if let Some(prev) = &stored_rows[k] {
                out.push(Stored {
                    message: prev.clone(),
                    dup: true,
                    opened_sender_window: false,
                    opened_recipient_window: false,
                });
                continue;
            }
            let (message, dup) = match existing.get(&(m.from, m.cid.clone())) {
                Some(row) => (row.clone(), true),
                None => {
                    let id = ids.get(&(m.from, m.cid.clone())).copied().ok_or_else(|| {
                        super::StoreError::Schema("inserted message not read back".into())
                    })?;
                    let row = MsgRow {
                        id,
                        from: m.from,
                        to: m.to,
                        cid: m.cid.clone(),
                        text: m.text.clone(),
                        time: t,
                    };
                    (row, false)
                }
            };
            stored_rows[k] = Some(message.clone());
            out.push(Stored {
                message,
                dup,
                opened_sender_window: opened[i][0],
                opened_recipient_window: opened[i][1],
            });
        }
        Ok::<_, super::StoreError>((tx, session, out, fresh.len(), t_dups, t_convs, t_insert, t_windows))
        })
        .await
        .map_err(|_| super::StoreError::Timeout("the batch did not reach its commit in time"))??;
        let (tx, session, out, fresh, t_dups, t_convs, t_insert, t_windows) = prepared;
        match tokio::time::timeout(COMMIT_TIMEOUT, tx.commit()).await {
            Ok(Ok(())) => {}
            // The server answered the COMMIT with an error: it rolled back.
            Ok(Err(sqlx::Error::Database(e))) => return Err(sqlx::Error::Database(e).into()),
            // The connection failed or went quiet after the COMMIT left: it may have committed.
            Ok(Err(_)) | Err(_) => {
                return Err(super::StoreError::CommitUnknown(Box::new(PendingCommit::new(out, session))))
            }
        }
        tracing::debug!(
            sends = batch.len(),
            fresh,
            dups_us = t_dups.as_micros() as u64,
            convs_us = (t_convs - t_dups).as_micros() as u64,
            insert_us = (t_insert - t_convs).as_micros() as u64,
            windows_us = (t_windows - t_insert).as_micros() as u64,
            commit_us = (started.elapsed() - t_windows).as_micros() as u64,
            "group commit"
        );

        Ok(out)
    }};
}

impl Store {
    /// Stores a batch of sends in ONE transaction, in order. A `(from, cid)` seen before returns the
    /// stored message with `dup = true`. Creates the conversation when needed, and the sender's
    /// (open) and recipient's (minimised) windows when they had none. Nothing is visible to anyone
    /// before the commit; an error means nothing of the batch was stored.
    pub async fn store_batch(&self, batch: &[NewMessage]) -> Result<Vec<Stored>> {
        let sql = &self.sql.chat;
        match &self.db {
            super::Db::MySql(pool) => {
                store_batch_body!(MySql, pool.begin(), sql, batch, self.returning)
            }
            super::Db::Postgres(pool) => store_batch_body!(Other, pool.begin(), sql, batch, true),
            // Take SQLite's write lock up front: a deferred transaction that reads first and writes
            // later fails at once with SQLITE_BUSY(_SNAPSHOT) when another connection wrote in
            // between, instead of waiting on the busy timeout.
            super::Db::Sqlite(pool) => {
                store_batch_body!(Other, pool.begin_with("BEGIN IMMEDIATE"), sql, batch, true)
            }
        }
    }

    /// Whether the batch behind an unanswered COMMIT was committed. Its new rows are looked up by
    /// `(from, cid)` with the ids the INSERT gave them (only this daemon's single writer stores
    /// these keys). Not finding them proves nothing while the session that sent the COMMIT lives:
    /// the COMMIT may still be on its way, queued or being flushed. So that session is ended first
    /// (`KILL` / `pg_terminate_backend`, then waited out), after which the outcome is final. Any
    /// row found means committed (a transaction commits whole; a row missing beside it was deleted
    /// since, by Moodle's privacy API say). A batch with no new row counts as committed: there was
    /// nothing to lose. Fails while the database is unreachable; the caller asks again.
    pub async fn commit_outcome(&self, pending: &PendingCommit) -> Result<bool> {
        if pending.fresh().next().is_none() || self.any_stored(pending).await? {
            return Ok(true);
        }
        let Some(session) = pending.session else {
            return Ok(false);
        };
        self.end_session(session).await?;
        self.any_stored(pending).await
    }

    /// Whether any new row of the pending batch is visible.
    async fn any_stored(&self, pending: &PendingCommit) -> Result<bool> {
        let sql = &self.sql.chat;
        let keys: Vec<(i64, &str)> = pending.fresh().map(|m| (m.from, m.cid.as_str())).collect();
        let mut found: HashMap<(i64, String), MsgRow> = HashMap::with_capacity(keys.len());
        dispatch!(self, pool => {
            let mut conn = pool.acquire().await?;
            fetch_by_keys!(sql, conn, keys, found);
        });
        Ok(pending.fresh().any(|m| {
            found
                .get(&(m.from, m.cid.clone()))
                .is_some_and(|f| f.id == m.id)
        }))
    }

    /// Ends a server session of this daemon's own user and waits until the server has let it go
    /// (its transaction then committed or rolled back for good). Bounded by [`END_SESSION_WAIT`].
    async fn end_session(&self, session: i64) -> Result<()> {
        let sql = &self.sql.chat;
        let started = std::time::Instant::now();
        match &self.db {
            super::Db::MySql(pool) => {
                // KILL takes no placeholder; the id is an integer the server gave us.
                match sqlx::raw_sql(&format!("KILL CONNECTION {session}"))
                    .execute(pool)
                    .await
                {
                    Ok(_) => {}
                    // ER_NO_SUCH_THREAD: it has ended already.
                    Err(sqlx::Error::Database(e)) if e.message().contains("Unknown thread") => {}
                    Err(e) => return Err(e.into()),
                }
            }
            super::Db::Postgres(pool) => {
                sqlx::query("SELECT pg_terminate_backend(CAST($1 AS INTEGER))")
                    .bind(session)
                    .execute(pool)
                    .await?;
            }
            super::Db::Sqlite(_) => return Ok(()),
        }
        let Some(alive) = &sql.session_alive else {
            return Ok(());
        };
        loop {
            let n: i64 = dispatch!(self, pool => sqlx::query_scalar(alive).bind(session).fetch_one(pool).await?);
            if n == 0 {
                tracing::info!(session, "the session of an unanswered commit has ended");
                return Ok(());
            }
            if started.elapsed() > END_SESSION_WAIT {
                return Err(super::StoreError::Timeout(
                    "the session of an unanswered commit did not end",
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The conversation id of a pair, if they ever talked.
    pub async fn conversation(&self, a: i64, b: i64) -> Result<Option<i64>> {
        let (low, high) = pair(a, b);
        let sql = &self.sql.chat.conv_get;
        dispatch!(self, pool => {
            match sqlx::query(sql).bind(low).bind(high).fetch_optional(pool).await? {
                Some(r) => Ok(Some(r.try_get::<i64, _>(0)?)),
                None => Ok(None),
            }
        })
    }

    /// Up to `limit` messages of a conversation older than `before`, newest first.
    pub async fn history(
        &self,
        conv: i64,
        me: i64,
        peer: i64,
        before: i64,
        limit: u32,
    ) -> Result<Vec<MsgRow>> {
        let sql = &self.sql.chat.history;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(conv).bind(before).bind(limit as i64).fetch_all(pool).await?;
            rows.iter().map(|r| {
                let from: i64 = r.try_get(1)?;
                Ok(MsgRow {
                    id: r.try_get(0)?,
                    from,
                    to: if from == me { peer } else { me },
                    cid: r.try_get(2)?,
                    text: r.try_get(3)?,
                    time: r.try_get(4)?,
                })
            }).collect()
        })
    }

    /// Messages of any of `user`'s conversations with id > `since`, ascending, at most `limit`.
    pub async fn messages_since(&self, user: i64, since: i64, limit: usize) -> Result<Vec<MsgRow>> {
        let sql = &self.sql.chat.missed;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(user).bind(user).bind(since).bind(limit as i64).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(msg_with_pair!(r))).collect()
        })
    }

    /// For each of `users`: its windows, (peer, state) in the order they were opened, and the newest
    /// message id of any of its conversations — what `welcome` needs, one query per [`super::BATCH`] users.
    /// Users with neither are left out (no windows, cursor 0).
    pub async fn welcome_states(&self, users: &[i64]) -> Result<HashMap<i64, WelcomeRows>> {
        let sql = &self.sql.chat.welcome_batch;
        // A user in two chunks would get its windows twice.
        let mut users = users.to_vec();
        users.sort_unstable();
        users.dedup();
        let mut out: HashMap<i64, WelcomeRows> = HashMap::new();
        for chunk in batches(&users) {
            dispatch!(self, pool => {
                let mut q = sqlx::query(sql);
                for _ in 0..3 {
                    for id in chunk {
                        q = q.bind(id);
                    }
                }
                for r in q.fetch_all(pool).await? {
                    let u: i64 = r.try_get(0)?;
                    let a: i64 = r.try_get(2)?;
                    let b: i64 = r.try_get(3)?;
                    let entry = out.entry(u).or_default();
                    if b < 0 {
                        entry.cursor = a;
                    } else {
                        entry.windows.push((a, b));
                    }
                }
            });
        }
        Ok(out)
    }

    /// The newest message id of a conversation (0 if none).
    pub async fn last_message(&self, conv: i64) -> Result<i64> {
        let sql = &self.sql.chat.conv_last;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(conv).fetch_one(pool).await?;
            Ok(r.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
        })
    }

    /// Read markers of a conversation: (mine, theirs).
    pub async fn read_markers(&self, conv: i64, me: i64) -> Result<(i64, i64)> {
        let sql = &self.sql.chat.reads_of_conv;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(conv).fetch_all(pool).await?;
            let (mut mine, mut theirs) = (0, 0);
            for r in rows {
                let u: i64 = r.try_get(0)?;
                let v: i64 = r.try_get(1)?;
                if u == me { mine = v } else { theirs = v }
            }
            Ok((mine, theirs))
        })
    }

    /// Moves `user`'s read marker forward to `upto`; returns whether it moved.
    pub async fn mark_read(&self, conv: i64, user: i64, upto: i64) -> Result<bool> {
        let sql = &self.sql.chat;
        let t = now();
        dispatch!(self, pool => {
            let moved = sqlx::query(&sql.read_update).bind(upto).bind(t).bind(conv).bind(user).bind(upto)
                .execute(pool).await?.rows_affected() > 0;
            if moved {
                return Ok(true);
            }
            let exists = sqlx::query(&sql.read_exists).bind(conv).bind(user).fetch_optional(pool).await?.is_some();
            if exists || upto <= 0 {
                return Ok(false);
            }
            match sqlx::query(&sql.read_insert).bind(conv).bind(user).bind(upto).bind(t).execute(pool).await {
                Ok(_) => Ok(true),
                // Another tab inserted the row first: retry as an update.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    Ok(sqlx::query(&sql.read_update).bind(upto).bind(t).bind(conv).bind(user).bind(upto)
                        .execute(pool).await?.rows_affected() > 0)
                }
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Messages from others in the conversation after `after`.
    pub async fn unread_count(&self, conv: i64, me: i64, after: i64) -> Result<i64> {
        let sql = &self.sql.chat.unread;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(conv).bind(me).bind(after).fetch_one(pool).await?;
            Ok(r.try_get::<i64, _>(0)?)
        })
    }

    /// `user`'s windows: (peer, state) in the order they were opened.
    pub async fn windows(&self, user: i64) -> Result<Vec<(i64, i64)>> {
        let sql = &self.sql.chat.windows_of;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(user).fetch_all(pool).await?;
            rows.iter().map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))).collect()
        })
    }

    /// Sets a window's state (`None` = closed: the row is deleted). A new row beyond [`WINDOWS_MAX`]
    /// closes the user's oldest windows.
    pub async fn set_window(
        &self,
        user: i64,
        peer: i64,
        state: Option<i64>,
    ) -> Result<WindowWrite> {
        let sql = &self.sql.chat;
        let t = now();
        let plain = |changed| WindowWrite {
            changed,
            closed: Vec::new(),
        };
        dispatch!(self, pool => {
            let Some(state) = state else {
                let n = sqlx::query(&sql.window_delete).bind(user).bind(peer).execute(pool).await?.rows_affected();
                return Ok(plain(n > 0));
            };
            let current = sqlx::query(&sql.window_get).bind(user).bind(peer).fetch_optional(pool).await?;
            if let Some(r) = current {
                let old: i64 = r.try_get(0)?;
                if old == state {
                    return Ok(plain(false));
                }
                sqlx::query(&sql.window_update).bind(state).bind(t).bind(user).bind(peer).execute(pool).await?;
                return Ok(plain(true));
            }
            match sqlx::query(&sql.window_insert).bind(user).bind(peer).bind(state).bind(t).execute(pool).await {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    // Another tab created it first: not a new window.
                    sqlx::query(&sql.window_update).bind(state).bind(t).bind(user).bind(peer).execute(pool).await?;
                    return Ok(plain(true));
                }
                Err(e) => return Err(e.into()),
            }
            Ok::<_, super::StoreError>(())
        })?;
        match self.trim_windows(user).await {
            Ok(closed) => Ok(WindowWrite {
                changed: true,
                closed,
            }),
            // The new window is stored, so this must not read as a failed request; the next
            // window opened trims again.
            Err(e) => {
                tracing::warn!(error = %e, "trimming a user's windows failed");
                Ok(plain(true))
            }
        }
    }

    /// Closes `user`'s oldest windows beyond [`WINDOWS_MAX`]; returns the peers whose windows
    /// closed, newest first (at most [`WINDOWS_MAX`] are named; older rows go without a name).
    pub async fn trim_windows(&self, user: i64) -> Result<Vec<i64>> {
        let sql = &self.sql.chat;
        dispatch!(self, pool => {
            // The newest rows, and as many older ones to name; whatever is older still goes.
            let rows = sqlx::query(&sql.window_newest).bind(user).bind(2 * WINDOWS_MAX as i64).fetch_all(pool).await?;
            let Some(newest_closed) = rows.get(WINDOWS_MAX) else {
                return Ok(Vec::new());
            };
            let upto: i64 = newest_closed.try_get(0)?;
            let closed = rows.iter().skip(WINDOWS_MAX).map(|r| r.try_get::<i64, _>(1)).collect::<Result<Vec<_>, _>>()?;
            sqlx::query(&sql.window_delete_upto).bind(user).bind(upto).execute(pool).await?;
            Ok(closed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(from: i64, cid: &str) -> NewMessage {
        NewMessage {
            from,
            to: 9,
            cid: cid.to_string(),
            text: "hi".to_string(),
            windows_known: [false, false],
        }
    }

    #[test]
    fn size_classes_cover_every_batch_size() {
        assert_eq!(size_class(1), 0);
        assert_eq!(size_class(2), 1);
        assert_eq!(size_class(3), 2);
        assert_eq!(size_class(WRITE_BATCH_MAX), SIZE_CLASSES - 1);
        for n in 1..=WRITE_BATCH_MAX {
            assert!(1 << size_class(n) >= n);
            assert!(size_class(n) < SIZE_CLASSES);
        }
    }

    #[test]
    fn runs_are_powers_of_two_summing_to_n() {
        assert_eq!(power_of_two_runs(100), vec![64, 32, 4]);
        assert_eq!(power_of_two_runs(1), vec![1]);
        assert!(power_of_two_runs(0).is_empty());
        for n in 1..=3 * WRITE_BATCH_MAX {
            let runs = power_of_two_runs(n);
            assert_eq!(runs.iter().sum::<usize>(), n);
            assert!(runs
                .iter()
                .all(|r| r.is_power_of_two() && *r <= WRITE_BATCH_MAX));
            assert!(
                runs.windows(2).all(|w| w[0] >= w[1]),
                "largest first: {runs:?}"
            );
        }
    }

    #[test]
    fn plan_finds_repeats_within_a_batch() {
        let batch = [send(1, "a"), send(2, "a"), send(1, "a"), send(1, "b")];
        let plan = BatchPlan::new(&batch);
        assert_eq!(plan.keys, vec![(1, "a"), (2, "a"), (1, "b")]);
        assert_eq!(plan.key_of, vec![0, 1, 0, 2]);
        assert_eq!(plan.first, vec![true, true, false, true]);
    }

    #[test]
    fn batched_statements_number_their_placeholders() {
        let b = SqlBuilder::new(Dialect::Postgres, "mdl_");
        let sql = ChatSql::new(&b);
        assert_eq!(sql.msg_insert_rows.len(), SIZE_CLASSES);
        let two = &sql.msg_insert_rows[1];
        assert!(two.contains("($6, $7, $8, $9, $10)"), "{two}");
        assert!(
            two.ends_with("RETURNING id, useridfrom, clientmsgid"),
            "{two}"
        );
        assert!(sql.conv_by_pairs[2].contains("(userlow = $7 AND userhigh = $8)"));
        let my = ChatSql::new(&SqlBuilder::new(Dialect::MySql, "mdl_"));
        assert!(!my.msg_insert_rows[0].contains("RETURNING"));
    }
}

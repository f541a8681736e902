//! The block's own tables (`block_dockchat_conv`, `_msg`, `_read`, `_window`, defined in
//! `moodle-block/db/install.xml`): conversations, messages, read markers and docked windows.
//!
//! Owns: every write the daemon makes, and the batched, idempotent message insert used by the single
//! message writer (one transaction per batch).
//! Must not: check permissions or push frames; callers do that before and after.

use super::{dispatch, now, Result, SqlBuilder, Store};
use sqlx::Row;

/// Window states as stored (`block_dockchat_window.state`); a closed window has no row.
pub const WINDOW_OPEN: i64 = 0;
pub const WINDOW_MINIMISED: i64 = 1;

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
    conv_get: String,
    conv_insert: String,
    msg_by_cid: String,
    msg_insert: String,
    window_get: String,
    window_insert: String,
    window_insert_ignore: String,
    window_update: String,
    window_delete: String,
    windows_of: String,
    history: String,
    missed: String,
    cursor: String,
    conv_last: String,
    reads_of_conv: String,
    read_update: String,
    read_exists: String,
    read_insert: String,
    unread: String,
}

impl ChatSql {
    pub fn new(b: &SqlBuilder) -> Self {
        ChatSql {
            conv_get: b.build("SELECT id FROM {p}block_dockchat_conv WHERE userlow = ? AND userhigh = ?"),
            conv_insert: b.insert(
                "INSERT INTO {p}block_dockchat_conv (userlow, userhigh, timecreated) VALUES (?, ?, ?)",
            ),
            msg_by_cid: b.build(
                "SELECT m.id, m.useridfrom, c.userlow, c.userhigh, m.clientmsgid, m.message, m.timecreated \
                 FROM {p}block_dockchat_msg m JOIN {p}block_dockchat_conv c ON c.id = m.convid \
                 WHERE m.useridfrom = ? AND m.clientmsgid = ?",
            ),
            msg_insert: b.insert(
                "INSERT INTO {p}block_dockchat_msg (convid, useridfrom, clientmsgid, message, timecreated) \
                 VALUES (?, ?, ?, ?, ?)",
            ),
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
            windows_of: b.build(
                "SELECT peerid, state FROM {p}block_dockchat_window WHERE userid = ? ORDER BY id",
            ),
            history: b.build(
                "SELECT id, useridfrom, clientmsgid, message, timecreated FROM {p}block_dockchat_msg \
                 WHERE convid = ? AND id < ? ORDER BY id DESC LIMIT ?",
            ),
            missed: b.build(
                "SELECT m.id, m.useridfrom, c.userlow, c.userhigh, m.clientmsgid, m.message, m.timecreated \
                 FROM {p}block_dockchat_msg m JOIN {p}block_dockchat_conv c ON c.id = m.convid \
                 WHERE (c.userlow = ? OR c.userhigh = ?) AND m.id > ? ORDER BY m.id LIMIT ?",
            ),
            cursor: b.build(
                "SELECT MAX(m.id) FROM {p}block_dockchat_msg m JOIN {p}block_dockchat_conv c ON c.id = m.convid \
                 WHERE c.userlow = ? OR c.userhigh = ?",
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

/// Decodes a row of `missed`/`msg_by_cid`: id, from, low, high, cid, text, time.
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

/// The body of [`Store::store_batch`], compiled once per backend.
macro_rules! store_batch_body {
    ($kind:ident, $pool:expr, $sql:expr, $batch:expr) => {{
        let sql = $sql;
        let mut tx = $pool.begin().await?;
        let mut out = Vec::with_capacity($batch.len());
        let t = now();
        for m in $batch {
            if let Some(r) = sqlx::query(&sql.msg_by_cid)
                .bind(m.from)
                .bind(&m.cid)
                .fetch_optional(&mut *tx)
                .await?
            {
                out.push(Stored {
                    message: msg_with_pair!(&r),
                    dup: true,
                    opened_sender_window: false,
                    opened_recipient_window: false,
                });
                continue;
            }
            let (low, high) = pair(m.from, m.to);
            let conv: i64 = match sqlx::query(&sql.conv_get)
                .bind(low)
                .bind(high)
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(r) => r.try_get(0)?,
                None => {
                    let q = sqlx::query(&sql.conv_insert).bind(low).bind(high).bind(t);
                    insert_id!($kind, q, &mut *tx)
                }
            };
            let q = sqlx::query(&sql.msg_insert)
                .bind(conv)
                .bind(m.from)
                .bind(&m.cid)
                .bind(&m.text)
                .bind(t);
            let id = insert_id!($kind, q, &mut *tx);
            let mut opened = [false, false];
            for (i, (owner, peer, state)) in [
                (m.from, m.to, WINDOW_OPEN),
                (m.to, m.from, WINDOW_MINIMISED),
            ]
            .into_iter()
            .enumerate()
            {
                if m.windows_known[i] {
                    continue;
                }
                let inserted = sqlx::query(&sql.window_insert_ignore)
                    .bind(owner)
                    .bind(peer)
                    .bind(state)
                    .bind(t)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if inserted > 0 {
                    opened[i] = true;
                }
            }
            out.push(Stored {
                message: MsgRow {
                    id,
                    from: m.from,
                    to: m.to,
                    cid: m.cid.clone(),
                    text: m.text.clone(),
                    time: t,
                },
                dup: false,
                opened_sender_window: opened[0],
                opened_recipient_window: opened[1],
            });
        }
        tx.commit().await?;
        out
    }};
}

impl Store {
    /// Stores a batch of sends in ONE transaction, in order. A `(from, cid)` seen before returns the
    /// stored message with `dup = true`. Creates the conversation when needed, and the sender's
    /// (open) and recipient's (minimised) windows when they had none. Nothing is visible to anyone
    /// before the commit; an error means nothing of the batch was stored.
    pub async fn store_batch(&self, batch: &[NewMessage]) -> Result<Vec<Stored>> {
        let sql = &self.sql.chat;
        let out = match &self.db {
            super::Db::MySql(pool) => store_batch_body!(MySql, pool, sql, batch),
            super::Db::Postgres(pool) => store_batch_body!(Other, pool, sql, batch),
            super::Db::Sqlite(pool) => store_batch_body!(Other, pool, sql, batch),
        };
        Ok(out)
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

    /// The newest message id of any of `user`'s conversations (0 if none).
    pub async fn cursor(&self, user: i64) -> Result<i64> {
        let sql = &self.sql.chat.cursor;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(user).bind(user).fetch_one(pool).await?;
            Ok(r.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
        })
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

    /// Sets a window's state (`None` = closed: the row is deleted). Returns whether anything changed.
    pub async fn set_window(&self, user: i64, peer: i64, state: Option<i64>) -> Result<bool> {
        let sql = &self.sql.chat;
        let t = now();
        dispatch!(self, pool => {
            let Some(state) = state else {
                let n = sqlx::query(&sql.window_delete).bind(user).bind(peer).execute(pool).await?.rows_affected();
                return Ok(n > 0);
            };
            let current = sqlx::query(&sql.window_get).bind(user).bind(peer).fetch_optional(pool).await?;
            match current {
                Some(r) => {
                    let old: i64 = r.try_get(0)?;
                    if old == state {
                        return Ok(false);
                    }
                    sqlx::query(&sql.window_update).bind(state).bind(t).bind(user).bind(peer).execute(pool).await?;
                    Ok(true)
                }
                None => {
                    match sqlx::query(&sql.window_insert).bind(user).bind(peer).bind(state).bind(t).execute(pool).await {
                        Ok(_) => Ok(true),
                        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                            sqlx::query(&sql.window_update).bind(state).bind(t).bind(user).bind(peer).execute(pool).await?;
                            Ok(true)
                        }
                        Err(e) => Err(e.into()),
                    }
                }
            }
        })
    }
}

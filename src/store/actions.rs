//! The drawer's per-user actions that are not about messages (docs/PROTOCOL.md §4.1): blocks
//! (`message_users_blocked`, as `core_message\api::block_user` / `unblock_user` write them) and mutes
//! (`message_conversation_actions` action 1, as `api::mute_conversation` / `unmute_conversation`), with
//! the block's `block_dockchat_job` rows through which its worker fires `message_user_blocked` /
//! `message_user_unblocked`; and reading (never writing: it belongs to `core_favourites`) a user's
//! star of a conversation in `favourite`.
//!
//! Owns: those statements, each write and its job in one transaction.
//! Must not: check permissions or push frames; callers do that before and after.

use super::{dispatch, now, Dialect, Result, SqlBuilder, Store};
use sqlx::Row;

/// `message_conversation_actions.action` of a muted conversation (`api::CONVERSATION_ACTION_MUTED`).
pub const CONVERSATION_MUTED: i64 = 1;
/// `block_dockchat_job.kind` of a block row the daemon wrote (`\core\event\message_user_blocked`).
pub const JOB_USER_BLOCKED: i64 = 4;
/// `block_dockchat_job.kind` of a block row the daemon deleted (`\core\event\message_user_unblocked`).
pub const JOB_USER_UNBLOCKED: i64 = 5;

/// The new row's id: `RETURNING id` on PostgreSQL, `last_insert_id` on MySQL; the error is kept so
/// the caller can tell a unique violation.
macro_rules! block_insert_id {
    (MySql, $q:expr, $conn:expr) => {
        $q.execute($conn).await.map(|d| d.last_insert_id() as i64)
    };
    (Other, $q:expr, $conn:expr) => {
        match $q.fetch_one($conn).await {
            Ok(r) => r.try_get::<i64, _>(0),
            Err(e) => Err(e),
        }
    };
}

#[derive(Debug)]
pub(crate) struct ActionsSql {
    block_find: String,
    block_insert: String,
    block_delete: String,
    job_insert: String,
    mute_insert: String,
    mute_delete: String,
    flags: String,
    starred: String,
}

impl ActionsSql {
    pub fn new(b: &SqlBuilder) -> Self {
        // MySQL needs a table to put a WHERE on a SELECT without one.
        let dual = if b.dialect == Dialect::MySql {
            " FROM DUAL"
        } else {
            ""
        };
        let star = "SELECT COUNT(*) FROM {p}favourite f WHERE f.component = 'core_message' \
                    AND f.itemtype = 'message_conversations' AND f.itemid = ? AND f.userid = ?";
        ActionsSql {
            block_find: b.build(
                "SELECT id, timecreated FROM {p}message_users_blocked WHERE userid = ? AND blockeduserid = ?",
            ),
            // As api::block_user; the unique key (userid, blockeduserid) keeps a concurrent second
            // block from writing a second row.
            block_insert: b.insert(
                "INSERT INTO {p}message_users_blocked (userid, blockeduserid, timecreated) VALUES (?, ?, ?)",
            ),
            block_delete: b.build("DELETE FROM {p}message_users_blocked WHERE id = ?"),
            job_insert: b.build(
                "INSERT INTO {p}block_dockchat_job (kind, userid, messageid, itemid, relateduserid, \
                 timecreated, state, attempts) VALUES (?, ?, NULL, ?, ?, ?, 0, 0)",
            ),
            // As api::mute_conversation, once (the external function checks is_conversation_muted).
            mute_insert: b.build(&format!(
                "INSERT INTO {{p}}message_conversation_actions (userid, conversationid, action, timecreated) \
                 SELECT ?, ?, {CONVERSATION_MUTED}, ?{dual} WHERE NOT EXISTS (SELECT 1 FROM {{p}}message_conversation_actions a \
                   WHERE a.userid = ? AND a.conversationid = ? AND a.action = {CONVERSATION_MUTED})"
            )),
            mute_delete: b.build(&format!(
                "DELETE FROM {{p}}message_conversation_actions WHERE userid = ? AND conversationid = ? \
                 AND action = {CONVERSATION_MUTED}"
            )),
            flags: b.build(&format!(
                "SELECT (SELECT COUNT(*) FROM {{p}}message_conversation_actions a WHERE a.conversationid = ? \
                   AND a.userid = ? AND a.action = {CONVERSATION_MUTED}), ({star})"
            )),
            starred: b.build(star),
        }
    }
}

impl Store {
    /// `userid` blocks `blocked` (`api::block_user`) unless already; returns whether a row was
    /// written (then a job for its event is queued in the same transaction).
    pub async fn block_user(&self, userid: i64, blocked: i64) -> Result<bool> {
        let sql = &self.sql.actions;
        let t = now();
        macro_rules! body {
            ($kind:ident, $pool:expr) => {{
                let mut tx = $pool.begin().await?;
                if sqlx::query(&sql.block_find)
                    .bind(userid)
                    .bind(blocked)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some()
                {
                    return Ok(false);
                }
                let q = sqlx::query(&sql.block_insert)
                    .bind(userid)
                    .bind(blocked)
                    .bind(t);
                let id = match block_insert_id!($kind, q, &mut *tx) {
                    Ok(id) => id,
                    // Blocked meanwhile by another request: that one queued the event.
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(false),
                    Err(e) => return Err(e.into()),
                };
                sqlx::query(&sql.job_insert)
                    .bind(JOB_USER_BLOCKED)
                    .bind(userid)
                    .bind(id)
                    .bind(blocked)
                    .bind(t)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }};
        }
        match &self.db {
            super::Db::MySql(pool) => body!(MySql, pool),
            super::Db::Postgres(pool) => body!(Other, pool),
            super::Db::Sqlite(pool) => {
                // The write lock up front (see `store_batch`).
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                if sqlx::query(&sql.block_find)
                    .bind(userid)
                    .bind(blocked)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some()
                {
                    return Ok(false);
                }
                let id: i64 = sqlx::query(&sql.block_insert)
                    .bind(userid)
                    .bind(blocked)
                    .bind(t)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                sqlx::query(&sql.job_insert)
                    .bind(JOB_USER_BLOCKED)
                    .bind(userid)
                    .bind(id)
                    .bind(blocked)
                    .bind(t)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }
        }
    }

    /// `userid` unblocks `blocked` (`api::unblock_user`); returns whether a row was deleted (then a
    /// job for its event is queued in the same transaction).
    pub async fn unblock_user(&self, userid: i64, blocked: i64) -> Result<bool> {
        let sql = &self.sql.actions;
        let t = now();
        macro_rules! body {
            ($tx:expr) => {{
                let mut tx = $tx;
                let Some(row) = sqlx::query(&sql.block_find)
                    .bind(userid)
                    .bind(blocked)
                    .fetch_optional(&mut *tx)
                    .await?
                else {
                    return Ok(false);
                };
                let id: i64 = row.try_get(0)?;
                let done = sqlx::query(&sql.block_delete)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                // Unblocked meanwhile by another request: that one queued the event.
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(&sql.job_insert)
                    .bind(JOB_USER_UNBLOCKED)
                    .bind(userid)
                    .bind(id)
                    .bind(blocked)
                    .bind(t)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }};
        }
        match &self.db {
            super::Db::MySql(pool) => body!(pool.begin().await?),
            super::Db::Postgres(pool) => body!(pool.begin().await?),
            super::Db::Sqlite(pool) => body!(pool.begin_with("BEGIN IMMEDIATE").await?),
        }
    }

    /// Mutes (`api::mute_conversation`, once) or unmutes (`unmute_conversation`) `conv` for
    /// `userid`; returns whether a row was written or deleted.
    pub async fn set_muted(&self, userid: i64, conv: i64, muted: bool) -> Result<bool> {
        let sql = &self.sql.actions;
        dispatch!(self, pool => {
            let done = if muted {
                sqlx::query(&sql.mute_insert).bind(userid).bind(conv).bind(now())
                    .bind(userid).bind(conv).execute(pool).await?
            } else {
                sqlx::query(&sql.mute_delete).bind(userid).bind(conv).execute(pool).await?
            };
            Ok(done.rows_affected() > 0)
        })
    }

    /// Whether `userid` muted `conv`, and whether they starred it (Moodle's favourite).
    pub async fn conversation_flags(&self, userid: i64, conv: i64) -> Result<(bool, bool)> {
        let sql = &self.sql.actions.flags;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(conv).bind(userid).bind(conv).bind(userid).fetch_one(pool).await?;
            Ok((r.try_get::<i64, _>(0)? > 0, r.try_get::<i64, _>(1)? > 0))
        })
    }

    /// Whether `userid` starred `conv` (a `core_message` favourite of it).
    pub async fn is_starred(&self, userid: i64, conv: i64) -> Result<bool> {
        let sql = &self.sql.actions.starred;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(conv).bind(userid).fetch_one(pool).await?;
            Ok(r.try_get::<i64, _>(0)? > 0)
        })
    }
}

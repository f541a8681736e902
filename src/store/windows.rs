//! The block's `block_dockchat_window` table (`moodle-block/db/install.xml`): the docked windows a
//! user has open or minimised, so they come back after a page load. Moodle has no place for them.
//!
//! Owns: window reads and writes, and trimming a user's windows to [`WINDOWS_MAX`] when one is
//! added. The message writer creates windows inside its batch with [`WindowSql`]'s statements.
//! Must not: check permissions or push frames; callers do that before and after.

use super::messaging::{pair_terms, WelcomeRows, SIZE_CLASSES};
use super::{batches, dispatch, now, Result, SqlBuilder, Store};
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

#[derive(Debug)]
pub(crate) struct WindowSql {
    /// `(userid, peerid)` of existing rows among padded pairs, indexed by the messaging size class.
    pub by_pairs: Vec<String>,
    pub insert_ignore: String,
    get: String,
    insert: String,
    update: String,
    delete: String,
    newest: String,
    delete_upto: String,
    of_user: String,
    of_users: String,
    over_cap: String,
}

impl WindowSql {
    pub fn new(b: &SqlBuilder) -> Self {
        let list = SqlBuilder::batch_list();
        WindowSql {
            by_pairs: (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT userid, peerid FROM {{p}}block_dockchat_window WHERE {}",
                        pair_terms("userid", "peerid", 1 << c)
                    ))
                })
                .collect(),
            insert_ignore: b.insert_ignore(
                "INSERT INTO {p}block_dockchat_window (userid, peerid, state, timemodified) VALUES (?, ?, ?, ?)",
            ),
            get: b.build(
                "SELECT state FROM {p}block_dockchat_window WHERE userid = ? AND peerid = ?",
            ),
            insert: b.build(
                "INSERT INTO {p}block_dockchat_window (userid, peerid, state, timemodified) VALUES (?, ?, ?, ?)",
            ),
            update: b.build(
                "UPDATE {p}block_dockchat_window SET state = ?, timemodified = ? WHERE userid = ? AND peerid = ?",
            ),
            delete: b.build("DELETE FROM {p}block_dockchat_window WHERE userid = ? AND peerid = ?"),
            newest: b.build(
                "SELECT id, peerid FROM {p}block_dockchat_window WHERE userid = ? ORDER BY id DESC LIMIT ?",
            ),
            delete_upto: b.build(
                "DELETE FROM {p}block_dockchat_window WHERE userid = ? AND id <= ?",
            ),
            of_user: b.build(
                "SELECT peerid, state FROM {p}block_dockchat_window WHERE userid = ? ORDER BY id",
            ),
            // The welcome's windows of a batch of users in one round trip, in the order each
            // user opened them.
            of_users: b.build(&format!(
                "SELECT userid, peerid, state FROM {{p}}block_dockchat_window WHERE userid IN ({list}) \
                 ORDER BY userid, id"
            )),
            over_cap: b.build(&format!(
                "SELECT userid FROM {{p}}block_dockchat_window WHERE userid IN ({list}) \
                 GROUP BY userid HAVING COUNT(*) > {WINDOWS_MAX}"
            )),
        }
    }
}

impl Store {
    /// For each of `users`: its windows, (peer, state) in the order they were opened — what
    /// `welcome` needs, one query per [`super::BATCH`] users. Users without windows are left out.
    pub async fn welcome_states(&self, users: &[i64]) -> Result<HashMap<i64, WelcomeRows>> {
        let sql = &self.sql.windows.of_users;
        // A user in two chunks would get its windows twice.
        let mut users = users.to_vec();
        users.sort_unstable();
        users.dedup();
        let mut out: HashMap<i64, WelcomeRows> = HashMap::new();
        for chunk in batches(&users) {
            dispatch!(self, pool => {
                let mut q = sqlx::query(sql);
                for id in chunk {
                    q = q.bind(id);
                }
                for r in q.fetch_all(pool).await? {
                    let u: i64 = r.try_get(0)?;
                    out.entry(u).or_default().windows.push((r.try_get(1)?, r.try_get(2)?));
                }
            });
        }
        Ok(out)
    }

    /// `user`'s windows: (peer, state) in the order they were opened.
    pub async fn windows(&self, user: i64) -> Result<Vec<(i64, i64)>> {
        let sql = &self.sql.windows.of_user;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(user).fetch_all(pool).await?;
            rows.iter().map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))).collect()
        })
    }

    /// Creates `user`'s window onto `peer` in `state` unless one exists; returns whether it did.
    pub async fn ensure_window(&self, user: i64, peer: i64, state: i64) -> Result<bool> {
        let sql = &self.sql.windows.insert_ignore;
        dispatch!(self, pool => {
            let n = sqlx::query(sql).bind(user).bind(peer).bind(state).bind(now()).execute(pool).await?.rows_affected();
            Ok(n > 0)
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
        let sql = &self.sql.windows;
        let t = now();
        let plain = |changed| WindowWrite {
            changed,
            closed: Vec::new(),
        };
        dispatch!(self, pool => {
            let Some(state) = state else {
                let n = sqlx::query(&sql.delete).bind(user).bind(peer).execute(pool).await?.rows_affected();
                return Ok(plain(n > 0));
            };
            let current = sqlx::query(&sql.get).bind(user).bind(peer).fetch_optional(pool).await?;
            if let Some(r) = current {
                let old: i64 = r.try_get(0)?;
                if old == state {
                    return Ok(plain(false));
                }
                sqlx::query(&sql.update).bind(state).bind(t).bind(user).bind(peer).execute(pool).await?;
                return Ok(plain(true));
            }
            match sqlx::query(&sql.insert).bind(user).bind(peer).bind(state).bind(t).execute(pool).await {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    // Another tab created it first: not a new window.
                    sqlx::query(&sql.update).bind(state).bind(t).bind(user).bind(peer).execute(pool).await?;
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

    /// Those of `users` with more than [`WINDOWS_MAX`] windows: one query per [`super::BATCH`]
    /// users, so a batch of first messages checks its owners at once and trims only those over.
    pub async fn over_window_cap(&self, users: &[i64]) -> Result<Vec<i64>> {
        let sql = &self.sql.windows.over_cap;
        let mut out = Vec::new();
        for chunk in batches(users) {
            dispatch!(self, pool => {
                let mut q = sqlx::query(sql);
                for id in chunk {
                    q = q.bind(id);
                }
                for r in q.fetch_all(pool).await? {
                    out.push(r.try_get::<i64, _>(0)?);
                }
            });
        }
        Ok(out)
    }

    /// Closes `user`'s oldest windows beyond [`WINDOWS_MAX`]; returns the peers whose windows
    /// closed, newest first (at most [`WINDOWS_MAX`] are named; older rows go without a name).
    pub async fn trim_windows(&self, user: i64) -> Result<Vec<i64>> {
        let sql = &self.sql.windows;
        dispatch!(self, pool => {
            // The newest rows, and as many older ones to name; whatever is older still goes.
            let rows = sqlx::query(&sql.newest).bind(user).bind(2 * WINDOWS_MAX as i64).fetch_all(pool).await?;
            let Some(newest_closed) = rows.get(WINDOWS_MAX) else {
                return Ok(Vec::new());
            };
            let upto: i64 = newest_closed.try_get(0)?;
            let closed = rows.iter().skip(WINDOWS_MAX).map(|r| r.try_get::<i64, _>(1)).collect::<Result<Vec<_>, _>>()?;
            sqlx::query(&sql.delete_upto).bind(user).bind(upto).execute(pool).await?;
            Ok(closed)
        })
    }
}

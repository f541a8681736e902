//! Reading what Moodle itself wrote into its messaging tables (the drawer, the Moodle app, web
//! services, the participants page): new `messages` ids by primary key, then the rows of those
//! this node's writer did not store and of ids that were skipped (an insert that allocated an id
//! and had not committed yet), and new read rows in `message_user_actions`, so the daemon can push
//! them live (design §7.2).
//!
//! Owns: the polling statements. Every statement is a primary-key range or point lookup, so an
//! idle poll is one index descent per table.
//! Must not: decide what is delivered to whom; the ingest service does.

use super::messaging::SIZE_CLASSES;
use super::{dispatch, size_classed, Dialect, Result, SqlBuilder, Store};
use sqlx::Row;

/// A `messages` row as the poll sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolledMessage {
    pub id: i64,
    /// The daemon stored it (it has a `block_dockchat_sent` row, written in the same transaction):
    /// the writer delivers those itself; text and recipient are not read for them.
    pub dock: bool,
    pub from: i64,
    pub conv: i64,
    /// `message_conversations.type` (1 individual, 2 group, 3 self).
    pub conv_type: i64,
    /// For an individual conversation, the member who is not the sender.
    pub to: Option<i64>,
    pub text: String,
    pub time: i64,
    /// The sender's client message id of a dock message, read only by [`Store::dock_messages_by_ids`].
    pub cid: String,
}

/// A new message as the poll's first statement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewId {
    pub id: i64,
    pub conv: i64,
    pub time: i64,
    /// Whether a dockchat node stored it (see [`PolledMessage::dock`]); `None` when the
    /// statement was not asked.
    pub dock: Option<bool>,
}

/// A read row (`message_user_actions`, action 1) as the poll sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolledRead {
    /// `message_user_actions.id`.
    pub id: i64,
    pub reader: i64,
    pub message: i64,
    /// The message's sender.
    pub from: i64,
    pub conv: i64,
    /// `message_conversations.type` (0 if the conversation row is gone).
    pub conv_type: i64,
}

/// The columns of a polled message (the sent row's id, or 0, says whether the daemon stored it); text
/// and recipient only for rows the daemon did not store. `o.userid + 0`: see the store's
/// `OTHER_MEMBER` (the member is found by the conversation's index).
const POLLED: &str = "m.id, COALESCE(s.id, 0), m.useridfrom, m.conversationid, c.type, \
     CASE WHEN s.id IS NULL THEN (SELECT MIN(o.userid + 0) FROM {p}message_conversation_members o \
       WHERE o.conversationid = m.conversationid AND o.userid <> m.useridfrom) END, \
     CASE WHEN s.id IS NULL THEN COALESCE(NULLIF(m.smallmessage, ''), m.fullmessage, '') ELSE '' END, \
     m.timecreated, ''";
/// [`POLLED`] with text, recipient and client message id for every row: what a cluster node needs
/// to deliver another node's message that its publication did not bring.
const POLLED_FULL: &str = "m.id, COALESCE(s.id, 0), m.useridfrom, m.conversationid, c.type, \
     (SELECT MIN(o.userid + 0) FROM {p}message_conversation_members o \
       WHERE o.conversationid = m.conversationid AND o.userid <> m.useridfrom), \
     COALESCE(NULLIF(m.smallmessage, ''), m.fullmessage, ''), m.timecreated, COALESCE(s.clientmsgid, '')";
/// [`POLLED`] with the recipient for every row, the daemon's included: in a cluster a node needs
/// to know whether a message another node stored is for someone connected to it.
const POLLED_RECIPIENT: &str = "m.id, COALESCE(s.id, 0), m.useridfrom, m.conversationid, c.type, \
     (SELECT MIN(o.userid + 0) FROM {p}message_conversation_members o \
       WHERE o.conversationid = m.conversationid AND o.userid <> m.useridfrom), \
     CASE WHEN s.id IS NULL THEN COALESCE(NULLIF(m.smallmessage, ''), m.fullmessage, '') ELSE '' END, \
     m.timecreated, ''";
const POLLED_FROM: &str = "FROM {p}messages m \
     LEFT JOIN {p}message_conversations c ON c.id = m.conversationid \
     LEFT JOIN {p}block_dockchat_sent s ON s.messageid = m.id";

#[derive(Debug)]
pub(crate) struct IngestSql {
    /// New messages after an id with their conversation and time only (a primary-key range, no
    /// join): a single node reads the rest of a row only when its writer did not store it.
    ids_after: String,
    /// The same with whether a dockchat node stored each (its sent row): a cluster node needs no
    /// more of another node's message than that.
    ids_after_sent: String,
    /// Indexed by [`super::messaging::size_class`]: point lookups of skipped ids, padded with -1.
    by_ids: Vec<String>,
    /// The same with [`POLLED_RECIPIENT`] (cluster nodes).
    recipient_by_ids: Vec<String>,
    /// Indexed by [`super::messaging::size_class`]: the type and members of conversations, padded
    /// with -1.
    members_by_convs: Vec<String>,
    /// The same with [`POLLED_FULL`].
    full_by_ids: Vec<String>,
    reads_after: String,
    newest_read: String,
}

impl IngestSql {
    pub fn new(b: &SqlBuilder) -> Self {
        let by_ids = |columns: &str| -> Vec<String> {
            (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT {columns} {POLLED_FROM} WHERE m.id IN ({}) ORDER BY m.id",
                        vec!["?"; 1 << c].join(", ")
                    ))
                })
                .collect()
        };
        IngestSql {
            ids_after: b.build(
                "SELECT id, conversationid, timecreated, NULL FROM {p}messages \
                 WHERE id > ? ORDER BY id LIMIT ?",
            ),
            // The sent row by a correlated lookup, not a join: PostgreSQL's generic plan for the
            // join is a merge join that walks the sent index from its first row on every poll
            // (14 ms at 80,000 rows, growing with the table), where this is one index probe per
            // new message (0.36 ms). See also `message_ids_after` on plan caching.
            ids_after_sent: b.build(
                "SELECT m.id, m.conversationid, m.timecreated, \
                 COALESCE((SELECT s.id FROM {p}block_dockchat_sent s WHERE s.messageid = m.id), 0) \
                 FROM {p}messages m WHERE m.id > ? ORDER BY m.id LIMIT ?",
            ),
            members_by_convs: (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT c.id, c.type, m.userid FROM {{p}}message_conversations c \
                         JOIN {{p}}message_conversation_members m ON m.conversationid = c.id \
                         WHERE c.id IN ({})",
                        vec!["?"; 1 << c].join(", ")
                    ))
                })
                .collect(),
            by_ids: by_ids(POLLED),
            recipient_by_ids: by_ids(POLLED_RECIPIENT),
            full_by_ids: by_ids(POLLED_FULL),
            reads_after: b.build(
                "SELECT a.id, a.userid, a.messageid, m.useridfrom, m.conversationid, c.type \
                 FROM {p}message_user_actions a JOIN {p}messages m ON m.id = a.messageid \
                 LEFT JOIN {p}message_conversations c ON c.id = m.conversationid \
                 WHERE a.id > ? AND a.action = 1 ORDER BY a.id LIMIT ?",
            ),
            newest_read: b.build("SELECT MAX(id) FROM {p}message_user_actions"),
        }
    }
}

/// Decodes a row of [`POLLED`].
fn polled<R: Row>(r: &R) -> Result<PolledMessage>
where
    usize: sqlx::ColumnIndex<R>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    // A message whose conversation row is gone (deleted by Moodle since) has no type: 0.
    let conv_type: Option<i64> = r.try_get(4)?;
    let dock: i64 = r.try_get(1)?;
    Ok(PolledMessage {
        id: r.try_get(0)?,
        dock: dock != 0,
        from: r.try_get(2)?,
        conv: r.try_get(3)?,
        conv_type: conv_type.unwrap_or(0),
        to: r.try_get(5)?,
        text: r.try_get(6)?,
        time: r.try_get(7)?,
        cid: r.try_get(8)?,
    })
}

impl Store {
    /// Up to `limit` messages above id `after`, ascending: id, conversation, time and, with
    /// `sent`, whether a dockchat node stored it (its sent row); never the text or the recipient.
    pub async fn message_ids_after(
        &self,
        after: i64,
        limit: usize,
        sent: bool,
    ) -> Result<Vec<NewId>> {
        let sql = &self.sql.ingest;
        let sql = if sent {
            &sql.ids_after_sent
        } else {
            &sql.ids_after
        };
        // PostgreSQL keeps a generic plan after a prepared statement's fifth run. Chosen while
        // `block_dockchat_sent` is small (a new install; statistics not refreshed, as where
        // autovacuum is off), it probes the sent table by a sequential scan per new message and
        // keeps doing so as the table grows: the cluster benchmark read 145 million sent rows in
        // 20 s, doubling the database's CPU per message. Unprepared, the statement is planned
        // at every poll with the table's current size (a fraction of a millisecond per poll).
        let replan = sent && self.dialect == Dialect::Postgres;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql)
                .persistent(!replan)
                .bind(after)
                .bind(limit as i64)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    let sent: Option<i64> = r.try_get(3)?;
                    Ok(NewId {
                        id: r.try_get(0)?,
                        conv: r.try_get(1)?,
                        time: r.try_get(2)?,
                        dock: sent.map(|s| s != 0),
                    })
                })
                .collect()
        })
    }

    /// The type and members of each of `convs` that exists, as (conversation, type, user) rows.
    pub async fn conversation_members(&self, convs: &[i64]) -> Result<Vec<(i64, i64, i64)>> {
        let sql = &self.sql.ingest.members_by_convs;
        let mut out = Vec::new();
        for (class, ids) in size_classed(convs) {
            dispatch!(self, pool => {
                let mut q = sqlx::query(&sql[class]);
                for id in ids {
                    q = q.bind(id);
                }
                for r in q.fetch_all(pool).await? {
                    out.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
                }
            });
        }
        Ok(out)
    }

    /// The messages among `ids` that exist now, ascending; with `recipient`, a dock message's
    /// recipient too (a cluster node needs it for another node's messages).
    pub async fn messages_by_ids(
        &self,
        ids: &[i64],
        recipient: bool,
    ) -> Result<Vec<PolledMessage>> {
        let sql = &self.sql.ingest;
        self.polled_by_ids(
            ids,
            if recipient {
                &sql.recipient_by_ids
            } else {
                &sql.by_ids
            },
        )
        .await
    }

    /// The messages among `ids` that exist now, ascending, each with its text, recipient and (for
    /// a dock message) client message id.
    pub async fn dock_messages_by_ids(&self, ids: &[i64]) -> Result<Vec<PolledMessage>> {
        self.polled_by_ids(ids, &self.sql.ingest.full_by_ids).await
    }

    /// The rows of `ids` read by one of the size-classed statements `by_class`.
    async fn polled_by_ids(&self, ids: &[i64], by_class: &[String]) -> Result<Vec<PolledMessage>> {
        let mut out = Vec::new();
        for (class, ids) in size_classed(ids) {
            dispatch!(self, pool => {
                let mut q = sqlx::query(&by_class[class]);
                for id in ids {
                    q = q.bind(id);
                }
                for r in q.fetch_all(pool).await? {
                    out.push(polled(&r)?);
                }
            });
        }
        Ok(out)
    }

    /// Up to `limit` read rows with id > `after`, ascending.
    pub async fn reads_after(&self, after: i64, limit: usize) -> Result<Vec<PolledRead>> {
        let sql = &self.sql.ingest.reads_after;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(after).bind(limit as i64).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(PolledRead {
                id: r.try_get(0)?,
                reader: r.try_get(1)?,
                message: r.try_get(2)?,
                from: r.try_get(3)?,
                conv: r.try_get(4)?,
                conv_type: r.try_get::<Option<i64>, _>(5)?.unwrap_or(0),
            })).collect()
        })
    }

    /// The newest `message_user_actions` id (0 if none).
    pub async fn newest_user_action(&self) -> Result<i64> {
        let sql = &self.sql.ingest.newest_read;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).fetch_one(pool).await?;
            Ok(r.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
        })
    }
}

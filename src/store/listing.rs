//! The user's list of Moodle conversations, as Moodle's message drawer lists them
//! (`core_message\api::get_conversations`): every conversation the user is a member of that is
//! enabled, with its newest message not deleted for the user, the user's star (`favourite`) and mute
//! (`message_conversation_actions`); then, for one page of it, the last messages, members and
//! unread counts.
//!
//! Owns: those reads. Must not: decide order or visibility; the conversations service does.

use super::messaging::{size_class, SIZE_CLASSES};
use super::{dispatch, padded, Result, SqlBuilder, Store};
use sqlx::Row;
use std::collections::HashMap;

/// Most conversations of one user read for the list (Moodle's drawer pages through the same set).
pub const LIST_MAX: i64 = 5000;

/// One conversation of the user, before paging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub conv: i64,
    /// `message_conversations.type`.
    pub kind: i64,
    /// `message_conversations.name` (a group's name; empty for the others).
    pub name: String,
    /// The newest message not deleted for the user: (id, time).
    pub last: Option<(i64, i64)>,
    pub muted: bool,
    pub favourite: bool,
}

/// What of a user's rows in Moodle's tables decides which conversations their list holds and how
/// it is starred and muted: for each of memberships (`message_conversation_members`), stars
/// (`favourite` of `core_message`) and mutes (`message_conversation_actions` 1), the rows' count and
/// highest id. Rows are only inserted and deleted (ids never reused), so any change changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListFingerprint {
    pub memberships: (i64, i64),
    pub stars: (i64, i64),
    pub mutes: (i64, i64),
}

/// The newest message of a listed conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastMessage {
    pub id: i64,
    pub from: i64,
    pub conv: i64,
    pub cid: String,
    pub text: String,
    pub time: i64,
    /// The user has deleted it (`message_user_actions` 2) since the list was read.
    pub deleted: bool,
}

/// What a page of the list needs besides [`Listed`].
#[derive(Debug, Clone, Default)]
pub struct PageDetails {
    pub last: HashMap<i64, LastMessage>,
    /// conversation → member ids.
    pub members: HashMap<i64, Vec<i64>>,
    /// conversation → messages from others the user has neither read nor deleted.
    pub unread: HashMap<i64, i64>,
}

#[derive(Debug)]
pub(crate) struct ListingSql {
    list: String,
    fingerprint: String,
    last: Vec<String>,
    members: Vec<String>,
    unread: Vec<String>,
}

fn list_of(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl ListingSql {
    pub fn new(b: &SqlBuilder) -> Self {
        ListingSql {
            // As get_conversations: the newest time among the messages not deleted for the user,
            // then the highest id at that time. Driven by the user's memberships: per
            // conversation, one backward step on Moodle's (conversationid, timecreated) index
            // (stopping at the first message the user did not delete, the user's deletions read
            // once) and one primary-key read for its time; the user's mutes and stars are read
            // once each by their userid indexes. The cost follows the user's conversations, not
            // their messages nor the site's conversations (the plan Moodle's own query gets reads
            // every message of every conversation of the user, and PostgreSQL misjudges its
            // grouped join as one row, joining 2,000 × 2,000 rows for a user with 2,000).
            list: b.build(&format!(
                "SELECT l.id, l.type, l.name, l.lastid, \
                 (SELECT m.timecreated FROM {{p}}messages m WHERE m.id = l.lastid), l.muted, l.favourite \
                 FROM ( \
                   SELECT mc.id, mc.type, COALESCE(mc.name, '') AS name, \
                   (SELECT m1.id FROM {{p}}messages m1 WHERE m1.conversationid = mc.id \
                     AND m1.id NOT IN (SELECT d.messageid FROM {{p}}message_user_actions d \
                       WHERE d.userid = ? AND d.action = 2) \
                     ORDER BY m1.timecreated DESC, m1.id DESC LIMIT 1) AS lastid, \
                   a.conversationid AS muted, f.itemid AS favourite \
                   FROM {{p}}message_conversation_members mcm \
                   JOIN {{p}}message_conversations mc ON mc.id = mcm.conversationid AND mc.enabled = 1 \
                   LEFT JOIN (SELECT ca.conversationid FROM {{p}}message_conversation_actions ca \
                     WHERE ca.userid = ? AND ca.action = 1 GROUP BY ca.conversationid) a \
                     ON a.conversationid = mc.id \
                   LEFT JOIN (SELECT fv.itemid FROM {{p}}favourite fv WHERE fv.userid = ? \
                     AND fv.component = 'core_message' AND fv.itemtype = 'message_conversations' \
                     GROUP BY fv.itemid) f ON f.itemid = mc.id \
                   WHERE mcm.userid = ? LIMIT {LIST_MAX} \
                 ) l"
            )),
            // Each by the table's userid index, counted and topped from the index alone.
            fingerprint: b.build(
                "SELECT 'm', COUNT(*), COALESCE(MAX(id), 0) FROM {p}message_conversation_members \
                 WHERE userid = ? \
                 UNION ALL SELECT 's', COUNT(*), COALESCE(MAX(id), 0) FROM {p}favourite \
                 WHERE userid = ? AND component = 'core_message' AND itemtype = 'message_conversations' \
                 UNION ALL SELECT 'a', COUNT(*), COALESCE(MAX(id), 0) FROM {p}message_conversation_actions \
                 WHERE userid = ? AND action = 1",
            ),
            last: (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT m.id, m.useridfrom, m.conversationid, COALESCE(s.clientmsgid, ''), \
                         COALESCE(NULLIF(m.smallmessage, ''), m.fullmessage, ''), m.timecreated, \
                         (SELECT COUNT(*) FROM {{p}}message_user_actions d \
                           WHERE d.userid = ? AND d.messageid = m.id AND d.action = 2) \
                         FROM {{p}}messages m LEFT JOIN {{p}}block_dockchat_sent s ON s.messageid = m.id \
                         WHERE m.id IN ({})",
                        list_of(1 << c)
                    ))
                })
                .collect(),
            members: (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT conversationid, userid FROM {{p}}message_conversation_members \
                         WHERE conversationid IN ({}) ORDER BY id",
                        list_of(1 << c)
                    ))
                })
                .collect(),
            unread: (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT m.conversationid, COUNT(*) FROM {{p}}messages m \
                         WHERE m.conversationid IN ({}) AND m.useridfrom <> ? \
                         AND NOT EXISTS (SELECT 1 FROM {{p}}message_user_actions a \
                           WHERE a.messageid = m.id AND a.userid = ? AND a.action IN (1, 2)) \
                         GROUP BY m.conversationid",
                        list_of(1 << c)
                    ))
                })
                .collect(),
        }
    }
}

impl Store {
    /// Every enabled conversation `user` is a member of (at most [`LIST_MAX`]), unordered.
    pub async fn conversation_list(&self, user: i64) -> Result<Vec<Listed>> {
        let sql = &self.sql.listing.list;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql)
                .bind(user).bind(user).bind(user).bind(user)
                .fetch_all(pool).await?;
            rows.iter().map(|r| {
                let id: Option<i64> = r.try_get(3)?;
                let time: Option<i64> = r.try_get(4)?;
                Ok(Listed {
                    conv: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    name: r.try_get(2)?,
                    last: id.zip(time),
                    muted: r.try_get::<Option<i64>, _>(5)?.is_some(),
                    favourite: r.try_get::<Option<i64>, _>(6)?.is_some(),
                })
            }).collect()
        })
    }

    /// `user`'s [`ListFingerprint`] now.
    pub async fn list_fingerprint(&self, user: i64) -> Result<ListFingerprint> {
        let sql = &self.sql.listing.fingerprint;
        let mut out = ListFingerprint::default();
        dispatch!(self, pool => {
            let rows = sqlx::query(sql)
                .bind(user).bind(user).bind(user)
                .fetch_all(pool).await?;
            for r in rows {
                let which: String = r.try_get(0)?;
                let got = (r.try_get::<i64, _>(1)?, r.try_get::<i64, _>(2)?);
                match which.as_str() {
                    "m" => out.memberships = got,
                    "s" => out.stars = got,
                    _ => out.mutes = got,
                }
            }
        });
        Ok(out)
    }

    /// The last messages (by id), members and `user`'s unread counts of one page of conversations
    /// (at most [`super::messaging::WRITE_BATCH_MAX`] of each), read concurrently.
    pub async fn conversation_page(
        &self,
        user: i64,
        convs: &[i64],
        last_ids: &[i64],
    ) -> Result<PageDetails> {
        let (last, members, unread) = tokio::try_join!(
            self.page_last(user, last_ids),
            self.page_members(convs),
            self.page_unread(user, convs)
        )?;
        Ok(PageDetails {
            last,
            members,
            unread,
        })
    }

    /// The messages `ids` (each conversation's newest), by conversation.
    async fn page_last(&self, user: i64, ids: &[i64]) -> Result<HashMap<i64, LastMessage>> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let class = size_class(ids.len());
        dispatch!(self, pool => {
            let mut q = sqlx::query(&self.sql.listing.last[class]).bind(user);
            for id in padded(ids, class) {
                q = q.bind(id);
            }
            for r in q.fetch_all(pool).await? {
                let m = LastMessage {
                    id: r.try_get(0)?,
                    from: r.try_get(1)?,
                    conv: r.try_get(2)?,
                    cid: r.try_get(3)?,
                    text: r.try_get(4)?,
                    time: r.try_get(5)?,
                    deleted: r.try_get::<i64, _>(6)? > 0,
                };
                out.insert(m.conv, m);
            }
        });
        Ok(out)
    }

    /// The members of `convs`, by conversation, in the order they joined.
    async fn page_members(&self, convs: &[i64]) -> Result<HashMap<i64, Vec<i64>>> {
        let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
        if convs.is_empty() {
            return Ok(out);
        }
        let class = size_class(convs.len());
        dispatch!(self, pool => {
            let mut q = sqlx::query(&self.sql.listing.members[class]);
            for id in padded(convs, class) {
                q = q.bind(id);
            }
            for r in q.fetch_all(pool).await? {
                let conv: i64 = r.try_get(0)?;
                let member: i64 = r.try_get(1)?;
                let list = out.entry(conv).or_default();
                if !list.contains(&member) {
                    list.push(member);
                }
            }
        });
        Ok(out)
    }

    /// `user`'s unread counts in `convs` (conversations without any are left out).
    async fn page_unread(&self, user: i64, convs: &[i64]) -> Result<HashMap<i64, i64>> {
        let mut out = HashMap::new();
        if convs.is_empty() {
            return Ok(out);
        }
        let class = size_class(convs.len());
        dispatch!(self, pool => {
            let mut q = sqlx::query(&self.sql.listing.unread[class]);
            for id in padded(convs, class) {
                q = q.bind(id);
            }
            for r in q.bind(user).bind(user).fetch_all(pool).await? {
                out.insert(r.try_get(0)?, r.try_get(1)?);
            }
        });
        Ok(out)
    }
}

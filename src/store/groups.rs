//! A Moodle conversation by id as the conversation-addressed requests need it
//! (docs/PROTOCOL.md §4): its type, `enabled`, name, whether it is a course group's
//! (`component = 'core_group'`, `itemtype = 'groups'`) with its group's picture (`groups`), and its
//! members (`message_conversation_members`).
//!
//! Owns: those two reads (one row by primary key with its group and course context, the members by
//! the conversation index).
//! Must not: decide who may do what with a conversation (the conversations service does), or cache.

use super::{dispatch, Result, SqlBuilder, Store};
use sqlx::Row;

/// A conversation and its members, as Moodle's tables hold them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRow {
    pub id: i64,
    /// `message_conversations.type` (1 individual, 2 group, 3 self).
    pub kind: i64,
    pub enabled: bool,
    /// `message_conversations.name` (empty if none).
    pub name: String,
    /// Linked to a course group (`component = 'core_group'`, `itemtype = 'groups'`).
    pub course_group: bool,
    /// Member user ids, ascending, each once.
    pub members: Vec<i64>,
    /// The course group's `groups.picture` (0: none), its id and its course's context id (0 when
    /// not a course group, or the group or context row is gone).
    pub picture: i64,
    pub groupid: i64,
    pub course_context: i64,
}

#[derive(Debug)]
pub(crate) struct GroupsSql {
    conversation: String,
    members: String,
}

impl GroupsSql {
    pub fn new(b: &SqlBuilder) -> Self {
        GroupsSql {
            // `+ 0 * id` and `THEN id`: BIGINTs on every backend (enabled is a SMALLINT on
            // PostgreSQL, a bare CASE of literals an INTEGER).
            // The group's picture as get_group_picture_url() needs it: groups.picture, the group id
            // and the context of the group's course.
            conversation: b.build(
                "SELECT c.type + 0 * c.id, c.enabled + 0 * c.id, COALESCE(c.name, ''), \
                 CASE WHEN c.component = 'core_group' AND c.itemtype = 'groups' THEN c.id ELSE 0 END, \
                 COALESCE(g.picture, 0), COALESCE(g.id, 0), COALESCE(x.id, 0) \
                 FROM {p}message_conversations c \
                 LEFT JOIN {p}groups g ON c.component = 'core_group' AND c.itemtype = 'groups' AND g.id = c.itemid \
                 LEFT JOIN {p}context x ON x.contextlevel = 50 AND x.instanceid = g.courseid \
                 WHERE c.id = ?",
            ),
            members: b.build(
                "SELECT userid FROM {p}message_conversation_members WHERE conversationid = ? ORDER BY userid",
            ),
        }
    }
}

impl Store {
    /// Conversation `id` with its members, or `None` if there is no such conversation.
    pub async fn conversation_row(&self, id: i64) -> Result<Option<ConversationRow>> {
        let sql = &self.sql.groups;
        dispatch!(self, pool => {
            let Some(r) = sqlx::query(&sql.conversation).bind(id).fetch_optional(pool).await? else {
                return Ok(None);
            };
            let mut members: Vec<i64> = sqlx::query(&sql.members).bind(id).fetch_all(pool).await?
                .iter()
                .map(|m| m.try_get::<i64, _>(0))
                .collect::<std::result::Result<_, _>>()?;
            // Moodle's table has no unique key on (conversation, user).
            members.dedup();
            Ok(Some(ConversationRow {
                id,
                kind: r.try_get(0)?,
                enabled: r.try_get::<i64, _>(1)? != 0,
                name: r.try_get(2)?,
                course_group: r.try_get::<i64, _>(3)? != 0,
                members,
                picture: r.try_get(4)?,
                groupid: r.try_get(5)?,
                course_context: r.try_get(6)?,
            }))
        })
    }
}

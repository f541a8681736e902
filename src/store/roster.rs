//! Read-only queries behind the People tab's roster (docs/PROTOCOL.md §5 Roster): the people of a
//! course with an active enrolment, the course's role assignments with their names as Moodle shows
//! them, the facts that decide who of them the viewer may message (in one query each, not one per
//! pair), and the viewer's group conversations with their groups.
//!
//! Owns: the SQL that reads `user_enrolments`/`enrol`/`course`/`user` for a course, `role_assignments`
//! with `role` and `role_names`, `message_users_blocked` and `message_contacts` of one user,
//! `user_preferences` (`message_blocknoncontacts`) of a course's people, and `message_conversation_members` with
//! `message_conversations` and `groups`.
//! Must not: decide who may be listed (the conversations service applies Moodle's rules), or cache.

use super::moodle::UserRow;
use super::{dispatch, Result, SqlBuilder, Store};
use sqlx::Row;

/// A role assignment in a course's context, with what `role_get_name` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseRole {
    pub userid: i64,
    pub roleid: i64,
    pub sortorder: i64,
    /// `role.name` (may be empty).
    pub name: String,
    pub shortname: String,
    pub archetype: String,
    /// The course's rename of the role (`role_names`), empty if none.
    pub alias: String,
}

/// A course group's conversation the user is a member of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConversation {
    pub conv: i64,
    pub groupid: i64,
    pub courseid: i64,
    /// `message_conversations.name` (the group's name, as Moodle keeps it).
    pub name: String,
}

#[derive(Debug)]
pub(crate) struct RosterSql {
    people: String,
    roles: String,
    blockers: String,
    contacts: String,
    groups: String,
}

impl RosterSql {
    pub fn new(b: &SqlBuilder) -> Self {
        RosterSql {
            // Course-mates by the rule presence uses (`active_courses`): an active enrolment within
            // its dates, in an enabled instance of a visible course; active accounts only.
            // With each one's `message_blocknoncontacts` (unique per user and name), so a course is
            // one query, not one per batch of ids.
            people: b.build(
                "SELECT DISTINCT u.id, u.firstname, u.lastname, u.picture, COALESCE(x.id, 0) AS ctxid, \
                 up.value AS pref \
                 FROM {p}user_enrolments ue \
                 JOIN {p}enrol e ON e.id = ue.enrolid \
                 JOIN {p}course c ON c.id = e.courseid \
                 JOIN {p}user u ON u.id = ue.userid \
                 LEFT JOIN {p}context x ON x.contextlevel = 30 AND x.instanceid = u.id \
                 LEFT JOIN {p}user_preferences up ON up.userid = u.id AND up.name = 'message_blocknoncontacts' \
                 WHERE e.courseid = ? AND ue.status = 0 AND e.status = 0 AND c.visible = 1 AND c.id <> 1 \
                 AND ue.timestart <= ? AND (ue.timeend = 0 OR ue.timeend > ?) \
                 AND u.deleted = 0 AND u.suspended = 0 AND u.confirmed = 1 AND u.auth <> 'nologin' \
                 AND u.username <> 'guest'",
            ),
            // core_course_category::preload_course_contacts: assignments in the course context
            // itself, with the course's rename of each role.
            roles: b.build(
                "SELECT ra.userid, r.id AS roleid, r.sortorder, r.name, r.shortname, r.archetype, \
                 COALESCE(rn.name, '') AS alias \
                 FROM {p}context cx \
                 JOIN {p}role_assignments ra ON ra.contextid = cx.id \
                 JOIN {p}role r ON r.id = ra.roleid \
                 LEFT JOIN {p}role_names rn ON rn.contextid = cx.id AND rn.roleid = r.id \
                 WHERE cx.contextlevel = 50 AND cx.instanceid = ? \
                 ORDER BY r.sortorder, ra.userid",
            ),
            blockers: b.build(
                "SELECT userid FROM {p}message_users_blocked WHERE blockeduserid = ?",
            ),
            contacts: b.build(
                "SELECT contactid FROM {p}message_contacts WHERE userid = ? \
                 UNION SELECT userid FROM {p}message_contacts WHERE contactid = ?",
            ),
            groups: b.build(
                "SELECT c.id, g.id AS groupid, g.courseid, COALESCE(c.name, '') AS name \
                 FROM {p}message_conversation_members m \
                 JOIN {p}message_conversations c ON c.id = m.conversationid \
                 JOIN {p}groups g ON g.id = c.itemid \
                 WHERE m.userid = ? AND c.type = 2 AND c.component = 'core_group' \
                 AND c.itemtype = 'groups' AND c.enabled = 1",
            ),
        }
    }
}

impl Store {
    /// The active accounts with an active enrolment in `course` at `now` (none if the course is
    /// hidden), in no particular order, each with their stored `message_blocknoncontacts` (None:
    /// never set).
    pub async fn course_people(
        &self,
        course: i64,
        now: i64,
    ) -> Result<Vec<(UserRow, Option<String>)>> {
        let sql = &self.sql.roster.people;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(course).bind(now).bind(now).fetch_all(pool).await?;
            rows.iter()
                .map(|r| Ok((super::moodle::user_row(r)?, r.try_get::<Option<String>, _>("pref")?)))
                .collect()
        })
    }

    /// Every role assignment in `course`'s context, by role sort order.
    pub async fn course_roles(&self, course: i64) -> Result<Vec<CourseRole>> {
        let sql = &self.sql.roster.roles;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(course).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    Ok(CourseRole {
                        userid: r.try_get("userid")?,
                        roleid: r.try_get("roleid")?,
                        sortorder: r.try_get("sortorder")?,
                        name: r.try_get::<Option<String>, _>("name")?.unwrap_or_default(),
                        shortname: r.try_get("shortname")?,
                        archetype: r.try_get::<Option<String>, _>("archetype")?.unwrap_or_default(),
                        alias: r.try_get("alias")?,
                    })
                })
                .collect()
        })
    }

    /// The users who have blocked `user`.
    pub async fn blockers_of(&self, user: i64) -> Result<Vec<i64>> {
        let sql = &self.sql.roster.blockers;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(user).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(r.try_get::<i64, _>(0)?)).collect()
        })
    }

    /// `user`'s contacts (stored once per pair, either direction).
    pub async fn contacts_of(&self, user: i64) -> Result<Vec<i64>> {
        let sql = &self.sql.roster.contacts;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(user).bind(user).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(r.try_get::<i64, _>(0)?)).collect()
        })
    }

    /// The enabled course-group conversations `user` is a member of, each once.
    pub async fn group_conversations_of(&self, user: i64) -> Result<Vec<GroupConversation>> {
        let sql = &self.sql.roster.groups;
        let mut out: Vec<GroupConversation> = dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(user).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    Ok(GroupConversation {
                        conv: r.try_get(0)?,
                        groupid: r.try_get("groupid")?,
                        courseid: r.try_get("courseid")?,
                        name: r.try_get("name")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        });
        // Moodle's members table has no unique key on (conversation, user).
        out.sort_unstable_by_key(|g| g.conv);
        out.dedup_by_key(|g| g.conv);
        Ok(out)
    }
}

//! Seeding a Moodle-shaped demo site (used only by `dockchatd demo`).
//!
//! Owns: the INSERTs that create the demo's users, courses, contexts, enrolments, role assignments,
//! course groups (name, picture) with their conversations,
//! live sessions and settings in Moodle's core tables, keeping the demo sessions alive (the demo
//! plays the part of Moodle, which bumps `sessions.timemodified` on every request), and a message
//! sent "from Moodle's drawer" (stored as Moodle's own send path stores it, so the demo shows one
//! arriving in the dock live), and a star set as Moodle's favourites web service sets it (the dock's
//! client calls Moodle for it; in the demo, the demo is Moodle).
//! Must not: run against a production site: the daemon never writes Moodle's core tables outside
//! the demo.

use super::{dispatch, now, Result, SqlBuilder, Store};

/// A demo account.
#[derive(Debug, Clone)]
pub struct SeedUser {
    pub id: i64,
    pub username: &'static str,
    pub firstname: &'static str,
    pub lastname: &'static str,
    pub lang: &'static str,
}

/// A demo course.
#[derive(Debug, Clone)]
pub struct SeedCourse {
    pub id: i64,
    pub shortname: &'static str,
    pub fullname: &'static str,
}

/// A user enrolled in a course with a role (3 = editingteacher, 5 = student, as in Moodle).
#[derive(Debug, Clone, Copy)]
pub struct SeedEnrolment {
    pub userid: i64,
    pub courseid: i64,
    pub roleid: i64,
}

/// A course group with messaging enabled: Moodle keeps its group conversation (type 2,
/// `core_group` / `groups`, in the course's context) with the group's members as members.
#[derive(Debug, Clone)]
pub struct SeedGroup {
    pub id: i64,
    pub courseid: i64,
    pub name: &'static str,
    pub members: &'static [i64],
    /// `groups.picture` (0: none; Moodle stores the upload's revision there).
    pub picture: i64,
}

/// Context id of a course in the demo site.
pub fn course_context(courseid: i64) -> i64 {
    10 + courseid
}

/// Context id of a user in the demo site.
pub fn user_context(userid: i64) -> i64 {
    100 + userid
}

/// The Moodle session id (`sessions.sid`) of a demo user's session.
pub fn demo_session_id(userid: i64) -> String {
    format!("demo-session-{userid}")
}

/// A value bound into a seeding statement.
enum V {
    I(i64),
    S(String),
}

impl From<i64> for V {
    fn from(v: i64) -> Self {
        V::I(v)
    }
}
impl From<&str> for V {
    fn from(v: &str) -> Self {
        V::S(v.to_string())
    }
}
impl From<String> for V {
    fn from(v: String) -> Self {
        V::S(v)
    }
}

macro_rules! vals {
    ($($v:expr),* $(,)?) => { vec![$(V::from($v)),*] };
}

impl Store {
    async fn exec(&self, template: &str, values: Vec<V>) -> Result<()> {
        let sql = SqlBuilder::new(self.dialect, self.prefix()).build(template);
        dispatch!(self, pool => {
            let mut q = sqlx::query(&sql);
            for v in values {
                q = match v {
                    V::I(i) => q.bind(i),
                    V::S(s) => q.bind(s),
                };
            }
            q.execute(pool).await?;
        });
        Ok(())
    }

    /// Whether a demo site already lives in this database (its secret exists).
    pub async fn demo_seeded(&self) -> bool {
        matches!(
            self.plugin_config("block_dockchat", "secret").await,
            Ok(Some(_))
        )
    }

    /// Creates the demo site. The tables must exist and be empty.
    pub async fn seed_demo(
        &self,
        users: &[SeedUser],
        courses: &[SeedCourse],
        enrolments: &[SeedEnrolment],
        groups: &[SeedGroup],
        secret: &str,
    ) -> Result<()> {
        let t = now();
        for (name, value) in [
            ("messaging", "1"),
            ("messagingallusers", "0"),
            ("sessiontimeout", "28800"),
            ("siteadmins", "2"),
        ] {
            self.exec(
                "INSERT INTO {p}config (name, value) VALUES (?, ?)",
                vals![name, value],
            )
            .await?;
        }
        self.exec(
            "INSERT INTO {p}config_plugins (plugin, name, value) VALUES (?, ?, ?)",
            vals!["block_dockchat", "secret", secret],
        )
        .await?;
        self.exec(
            "INSERT INTO {p}context (id, contextlevel, instanceid, path, depth) VALUES (?, ?, ?, ?, ?)",
            vals![1i64, 10i64, 0i64, "/1", 1i64],
        )
        .await?;
        for (id, short, name) in [
            (3i64, "editingteacher", "Teacher"),
            (5i64, "student", "Student"),
        ] {
            self.exec(
                "INSERT INTO {p}role (id, name, shortname, description, sortorder, archetype) VALUES (?, ?, ?, ?, ?, ?)",
                vals![id, name, short, "", id, short],
            )
            .await?;
        }
        self.exec(
            "INSERT INTO {p}course (id, category, fullname, shortname, format, visible, startdate, timecreated, timemodified) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vals![1i64, 0i64, "Mount Orange University", "MOU", "site", 1i64, 0i64, t, t],
        )
        .await?;
        for c in courses {
            self.exec(
                "INSERT INTO {p}course (id, category, fullname, shortname, format, visible, startdate, timecreated, timemodified) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vals![c.id, 1i64, c.fullname, c.shortname, "topics", 1i64, t - 86_400 * 30, t, t],
            )
            .await?;
            let ctx = course_context(c.id);
            self.exec(
                "INSERT INTO {p}context (id, contextlevel, instanceid, path, depth) VALUES (?, ?, ?, ?, ?)",
                vals![ctx, 50i64, c.id, format!("/1/{ctx}"), 2i64],
            )
            .await?;
            self.exec(
                "INSERT INTO {p}enrol (id, enrol, status, courseid, sortorder, roleid, timecreated, timemodified) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vals![c.id, "manual", 0i64, c.id, 0i64, 5i64, t, t],
            )
            .await?;
        }
        for u in users {
            self.exec(
                "INSERT INTO {p}user (id, auth, confirmed, mnethostid, username, firstname, lastname, email, picture, lang, timecreated, timemodified) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vals![
                    u.id,
                    "manual",
                    1i64,
                    1i64,
                    u.username,
                    u.firstname,
                    u.lastname,
                    format!("{}@example.edu", u.username),
                    1i64,
                    u.lang,
                    t,
                    t
                ],
            )
            .await?;
            let ctx = user_context(u.id);
            self.exec(
                "INSERT INTO {p}context (id, contextlevel, instanceid, path, depth) VALUES (?, ?, ?, ?, ?)",
                vals![ctx, 30i64, u.id, format!("/1/{ctx}"), 2i64],
            )
            .await?;
            self.exec(
                "INSERT INTO {p}sessions (state, sid, userid, timecreated, timemodified, firstip, lastip) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                vals![0i64, demo_session_id(u.id), u.id, t, t, "127.0.0.1", "127.0.0.1"],
            )
            .await?;
        }
        for e in enrolments {
            self.exec(
                "INSERT INTO {p}user_enrolments (status, enrolid, userid, timestart, timeend, modifierid, timecreated, timemodified) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vals![0i64, e.courseid, e.userid, 0i64, 0i64, 2i64, t, t],
            )
            .await?;
            self.exec(
                "INSERT INTO {p}role_assignments (roleid, contextid, userid, timemodified, modifierid) VALUES (?, ?, ?, ?, ?)",
                vals![e.roleid, course_context(e.courseid), e.userid, t, 2i64],
            )
            .await?;
        }
        for g in groups {
            self.exec(
                "INSERT INTO {p}groups (id, courseid, idnumber, name, picture, timecreated, timemodified) VALUES (?, ?, ?, ?, ?, ?, ?)",
                vals![g.id, g.courseid, "", g.name, g.picture, t, t],
            )
            .await?;
            // As `groups_create_group` does with messaging on (`\core_message\api::create_conversation`):
            // no hash, enabled, named after the group.
            self.exec(
                "INSERT INTO {p}message_conversations (type, name, convhash, component, itemtype, itemid, contextid, enabled, timecreated, timemodified) \
                 VALUES (2, ?, NULL, 'core_group', 'groups', ?, ?, 1, ?, ?)",
                vals![g.name, g.id, course_context(g.courseid), t, t],
            )
            .await?;
            let find = SqlBuilder::new(self.dialect, self.prefix()).build(
                "SELECT id FROM {p}message_conversations WHERE component = 'core_group' AND itemtype = 'groups' AND itemid = ?",
            );
            let conv: i64 = dispatch!(self, pool => sqlx::query_scalar(&find).bind(g.id).fetch_one(pool).await?);
            for &userid in g.members {
                self.exec(
                    "INSERT INTO {p}message_conversation_members (conversationid, userid, timecreated) VALUES (?, ?, ?)",
                    vals![conv, userid, t],
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Stores a message from `from` to `to` the way Moodle's drawer does (`message_send`): the
    /// pair's conversation found by its hash or created with both members, then the `messages` row,
    /// each statement committed on its own as PHP does. Returns the message id.
    pub async fn demo_drawer_message(&self, from: i64, to: i64, text: &str) -> Result<i64> {
        let hash = super::messaging::conversation_hash(from, to);
        let t = now();
        let find = SqlBuilder::new(self.dialect, self.prefix()).build(
            "SELECT id FROM {p}message_conversations WHERE convhash = ? AND type = 1 ORDER BY id LIMIT 1",
        );
        let existing: Option<i64> = dispatch!(self, pool => sqlx::query_scalar(&find).bind(&hash).fetch_optional(pool).await?);
        let conv = match existing {
            Some(id) => id,
            None => {
                self.exec(
                    "INSERT INTO {p}message_conversations (type, convhash, enabled, timecreated, timemodified) VALUES (1, ?, 1, ?, ?)",
                    vals![hash.as_str(), t, t],
                )
                .await?;
                let id: i64 = dispatch!(self, pool => sqlx::query_scalar(&find).bind(&hash).fetch_one(pool).await?);
                self.exec(
                    "INSERT INTO {p}message_conversation_members (conversationid, userid, timecreated) VALUES (?, ?, ?), (?, ?, ?)",
                    vals![id, from, t, id, to, t],
                )
                .await?;
                id
            }
        };
        self.exec(
            "INSERT INTO {p}messages (useridfrom, conversationid, subject, fullmessage, fullmessageformat, \
             fullmessagehtml, smallmessage, timecreated, fullmessagetrust, customdata) \
             VALUES (?, ?, NULL, ?, 0, '', ?, ?, 0, NULL)",
            vals![from, conv, text, text, t],
        )
        .await?;
        let last = SqlBuilder::new(self.dialect, self.prefix())
            .build("SELECT MAX(id) FROM {p}messages WHERE conversationid = ? AND useridfrom = ?");
        let id: i64 = dispatch!(self, pool => sqlx::query_scalar(&last).bind(conv).bind(from).fetch_one(pool).await?);
        Ok(id)
    }

    /// Stars or unstars conversation `conv` for `userid` as Moodle's web service
    /// `core_message_set_favourite_conversations` / `unset_...` does through core_favourites (the
    /// user's context, `component` core_message, `itemtype` message_conversations); only for a
    /// member, as `api::set_favourite_conversation` checks. Returns whether the user is a member.
    pub async fn demo_favourite(&self, userid: i64, conv: i64, star: bool) -> Result<bool> {
        let b = SqlBuilder::new(self.dialect, self.prefix());
        let member = b.build(
            "SELECT COUNT(*) FROM {p}message_conversation_members WHERE conversationid = ? AND userid = ?",
        );
        let n: i64 = dispatch!(self, pool => sqlx::query_scalar(&member).bind(conv).bind(userid).fetch_one(pool).await?);
        if n == 0 {
            return Ok(false);
        }
        self.exec(
            "DELETE FROM {p}favourite WHERE component = 'core_message' AND itemtype = 'message_conversations' \
             AND itemid = ? AND userid = ?",
            vals![conv, userid],
        )
        .await?;
        if star {
            let t = now();
            self.exec(
                "INSERT INTO {p}favourite (component, itemtype, itemid, contextid, userid, ordering, timecreated, timemodified) \
                 VALUES ('core_message', 'message_conversations', ?, ?, ?, NULL, ?, ?)",
                vals![conv, super::seed::user_context(userid), userid, t, t],
            )
            .await?;
        }
        Ok(true)
    }

    /// Keeps a demo user's session live, as Moodle does on each request.
    pub async fn touch_demo_session(&self, userid: i64) -> Result<()> {
        self.exec(
            "UPDATE {p}sessions SET timemodified = ? WHERE userid = ?",
            vals![now(), userid],
        )
        .await
    }
}

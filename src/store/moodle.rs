//! Read-only queries on Moodle's core tables: accounts, sessions, site settings, preferences,
//! enrolments, contacts and blocks, and the candidates of a people search.
//!
//! Owns: the SQL that reads `user` (accounts, and `lastaccess` for last seen), `sessions`, `config`, `config_plugins`, `user_preferences`,
//! `course`, `enrol`, `user_enrolments`, `context`, `message_contacts` and `message_users_blocked`.
//! Must not: write any of these tables (they belong to Moodle), or decide permissions (that is
//! `conversations`). Smallint columns (deleted, suspended, status, visible...) are only filtered in
//! SQL, never decoded, so PostgreSQL's int2 never meets an i64.

use super::{batches, dispatch, Result, SqlBuilder, Store};
use sqlx::Row;
use std::collections::HashMap;

/// A Moodle account as the daemon shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub firstname: String,
    pub lastname: String,
    pub picture: i64,
    /// The user's context id (level 30), 0 if missing.
    pub contextid: i64,
}

/// What `can_send_message` looks at for one sender and one recipient, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawPairFacts {
    /// The recipient blocked the sender.
    pub blocked: bool,
    /// The recipient's `message_blocknoncontacts`, if set.
    pub pref: Option<String>,
    pub contact: bool,
    /// Courses the two share (enrol_get_shared_courses), ascending.
    pub shared: Vec<i64>,
}

#[derive(Debug)]
pub(crate) struct MoodleSql {
    active_user: String,
    active_users: String,
    live_session: String,
    live_sessions: String,
    config: String,
    config_plugin: String,
    preference: String,
    blocked: String,
    contact: String,
    shared_courses: String,
    enrolments: String,
    course_names: String,
    account: String,
    accounts: String,
    search: String,
    search_pool: String,
    blocked_by_many: String,
    privacy_many: String,
    contacts_many: String,
    shared_many: String,
    last_access: String,
}

const USER_COLS: &str = "u.id, u.firstname, u.lastname, u.picture, COALESCE(x.id, 0) AS ctxid";
const USER_FROM: &str =
    "FROM {p}user u LEFT JOIN {p}context x ON x.contextlevel = 30 AND x.instanceid = u.id";
const USER_ACTIVE: &str =
    "u.deleted = 0 AND u.suspended = 0 AND u.confirmed = 1 AND u.auth <> 'nologin'";

impl MoodleSql {
    pub fn new(b: &SqlBuilder) -> Self {
        let list = SqlBuilder::batch_list();
        MoodleSql {
            active_user: b.build(&format!(
                "SELECT {USER_COLS} {USER_FROM} WHERE u.id = ? AND {USER_ACTIVE}"
            )),
            active_users: b.build(&format!(
                "SELECT {USER_COLS} {USER_FROM} WHERE u.id IN ({list}) AND {USER_ACTIVE}"
            )),
            live_session: b.build(
                "SELECT s.id FROM {p}sessions s WHERE s.userid = ? AND s.state = 0 AND s.timemodified > ? LIMIT 1",
            ),
            live_sessions: b.build(&format!(
                "SELECT s.userid, s.sid FROM {{p}}sessions s WHERE s.userid IN ({list}) AND s.state = 0 AND s.timemodified > ?"
            )),
            config: b.build("SELECT value FROM {p}config WHERE name = ?"),
            config_plugin: b.build("SELECT value FROM {p}config_plugins WHERE plugin = ? AND name = ?"),
            preference: b.build("SELECT value FROM {p}user_preferences WHERE userid = ? AND name = ?"),
            blocked: b.build(
                "SELECT id FROM {p}message_users_blocked WHERE userid = ? AND blockeduserid = ?",
            ),
            contact: b.build(
                "SELECT id FROM {p}message_contacts WHERE (userid = ? AND contactid = ?) OR (userid = ? AND contactid = ?)",
            ),
            // Moodle's enrol_get_shared_courses(): active enrolments in enabled instances of visible
            // courses (no time window).
            shared_courses: b.build(
                "SELECT DISTINCT e1.courseid FROM {p}user_enrolments ue1 \
                 JOIN {p}enrol e1 ON e1.id = ue1.enrolid \
                 JOIN {p}course c ON c.id = e1.courseid \
                 JOIN {p}enrol e2 ON e2.courseid = e1.courseid \
                 JOIN {p}user_enrolments ue2 ON ue2.enrolid = e2.id \
                 WHERE ue1.userid = ? AND ue2.userid = ? AND ue1.status = 0 AND e1.status = 0 \
                 AND ue2.status = 0 AND e2.status = 0 AND c.visible = 1 AND c.id <> 1",
            ),
            // Course-mates: active enrolment within its dates, enabled instance, visible course.
            enrolments: b.build(&format!(
                "SELECT DISTINCT ue.userid, e.courseid FROM {{p}}user_enrolments ue \
                 JOIN {{p}}enrol e ON e.id = ue.enrolid \
                 JOIN {{p}}course c ON c.id = e.courseid \
                 WHERE ue.userid IN ({list}) AND ue.status = 0 AND e.status = 0 AND c.visible = 1 \
                 AND c.id <> 1 AND ue.timestart <= ? AND (ue.timeend = 0 OR ue.timeend > ?)"
            )),
            course_names: b.build(&format!(
                "SELECT c.id, c.fullname FROM {{p}}course c WHERE c.id IN ({list})"
            )),
            account: b.build(&format!("SELECT {USER_COLS} {USER_FROM} WHERE u.id = ?")),
            accounts: b.build(&format!(
                "SELECT {USER_COLS} {USER_FROM} WHERE u.id IN ({list})"
            )),
            last_access: b.build(&format!(
                "SELECT u.id, u.lastaccess FROM {{p}}user u WHERE u.id IN ({list}) AND u.lastaccess > 0"
            )),
            // Candidates for a people search (the caller applies Moodle's messaging rules to each):
            // active accounts whose names hold every word, among the searcher's course-mates
            // (enrol_get_shared_courses' rule), contacts, everyone (a searcher who may message
            // anyone), or those who accept messages from the whole site (with messagingallusers).
            search: b.build(&format!(
                "SELECT {USER_COLS} {USER_FROM} WHERE {USER_ACTIVE} AND u.username <> 'guest' AND u.id <> ? \
                 AND (LOWER(u.firstname) LIKE ? ESCAPE '!' OR LOWER(u.lastname) LIKE ? ESCAPE '!') \
                 AND (LOWER(u.firstname) LIKE ? ESCAPE '!' OR LOWER(u.lastname) LIKE ? ESCAPE '!') \
                 AND (LOWER(u.firstname) LIKE ? ESCAPE '!' OR LOWER(u.lastname) LIKE ? ESCAPE '!') \
                 AND (? = 1 \
                   OR u.id IN (SELECT ue2.userid FROM {{p}}user_enrolments ue1 \
                     JOIN {{p}}enrol e1 ON e1.id = ue1.enrolid JOIN {{p}}course c ON c.id = e1.courseid \
                     JOIN {{p}}enrol e2 ON e2.courseid = e1.courseid JOIN {{p}}user_enrolments ue2 ON ue2.enrolid = e2.id \
                     WHERE ue1.userid = ? AND ue1.status = 0 AND e1.status = 0 AND ue2.status = 0 AND e2.status = 0 \
                     AND c.visible = 1 AND c.id <> 1) \
                   OR u.id IN (SELECT contactid FROM {{p}}message_contacts WHERE userid = ?) \
                   OR u.id IN (SELECT userid FROM {{p}}message_contacts WHERE contactid = ?) \
                   OR (? = 1 AND u.id IN (SELECT userid FROM {{p}}user_preferences \
                     WHERE name = 'message_blocknoncontacts' AND value = '2'))) \
                 ORDER BY u.lastname, u.firstname, u.id LIMIT ?"
            )),
            // The facts of `can_send_message` for one sender and a batch of recipients: who of
            // them blocked the sender, their privacy preference, who is a contact (stored once
            // per pair, either way), and the courses shared by enrol_get_shared_courses' rule.
            blocked_by_many: b.build(&format!(
                "SELECT userid FROM {{p}}message_users_blocked WHERE blockeduserid = ? AND userid IN ({list})"
            )),
            privacy_many: b.build(&format!(
                "SELECT userid, value FROM {{p}}user_preferences \
                 WHERE name = 'message_blocknoncontacts' AND userid IN ({list})"
            )),
            contacts_many: b.build(&format!(
                "SELECT contactid FROM {{p}}message_contacts WHERE userid = ? AND contactid IN ({list}) \
                 UNION SELECT userid FROM {{p}}message_contacts WHERE contactid = ? AND userid IN ({list})"
            )),
            shared_many: b.build(&format!(
                "SELECT DISTINCT ue2.userid, e1.courseid FROM {{p}}user_enrolments ue1 \
                 JOIN {{p}}enrol e1 ON e1.id = ue1.enrolid \
                 JOIN {{p}}course c ON c.id = e1.courseid \
                 JOIN {{p}}enrol e2 ON e2.courseid = e1.courseid \
                 JOIN {{p}}user_enrolments ue2 ON ue2.enrolid = e2.id \
                 WHERE ue1.userid = ? AND ue2.userid IN ({list}) AND ue1.status = 0 AND e1.status = 0 \
                 AND ue2.status = 0 AND e2.status = 0 AND c.visible = 1 AND c.id <> 1"
            )),
            // Everyone a search by the searcher may find when only course-mates and contacts can
            // be messaged: read from the searcher's side (their enrolments, the enrolments of those courses, their contacts), then each one's account by primary key, so the cost follows the searcher's courses rather than the site's users (`search` reads and lower-cases every account of the site), only the
            // columns a name match needs, in the order of a search's answer. The daemon keeps it
            // per searcher ([`Store::search_pool`]) and matches names itself.
            search_pool: b.build(
                "SELECT u.id, u.firstname, u.lastname FROM ( \
                   SELECT ue2.userid AS id FROM {p}user_enrolments ue1 \
                   JOIN {p}enrol e1 ON e1.id = ue1.enrolid JOIN {p}course c ON c.id = e1.courseid \
                   JOIN {p}enrol e2 ON e2.courseid = e1.courseid JOIN {p}user_enrolments ue2 ON ue2.enrolid = e2.id \
                   WHERE ue1.userid = ? AND ue1.status = 0 AND e1.status = 0 AND ue2.status = 0 AND e2.status = 0 \
                   AND c.visible = 1 AND c.id <> 1 \
                   UNION SELECT contactid AS id FROM {p}message_contacts WHERE userid = ? \
                   UNION SELECT userid AS id FROM {p}message_contacts WHERE contactid = ? \
                 ) cand JOIN {p}user u ON u.id = cand.id \
                 WHERE u.deleted = 0 AND u.suspended = 0 AND u.confirmed = 1 AND u.auth <> 'nologin' \
                 AND u.username <> 'guest' AND u.id <> ? \
                 ORDER BY u.lastname, u.firstname, u.id",
            ),
        }
    }
}

pub(crate) fn user_row<R: Row>(r: &R) -> Result<UserRow>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(UserRow {
        id: r.try_get("id")?,
        firstname: r.try_get("firstname")?,
        lastname: r.try_get("lastname")?,
        picture: r.try_get("picture")?,
        contextid: r.try_get("ctxid")?,
    })
}

impl Store {
    /// The account if it is active (exists, not deleted, not suspended, confirmed, not `nologin`).
    pub async fn active_user(&self, id: i64) -> Result<Option<UserRow>> {
        let sql = &self.sql.moodle.active_user;
        dispatch!(self, pool => {
            match sqlx::query(sql).bind(id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(user_row(&r)?)),
                None => Ok(None),
            }
        })
    }

    /// The active accounts among `ids`.
    pub async fn active_users(&self, ids: &[i64]) -> Result<HashMap<i64, UserRow>> {
        self.users_by_ids(&self.sql.moodle.active_users, ids).await
    }

    /// The users `sql` (an `IN` list of one batch of ids) finds among `ids`, by id.
    async fn users_by_ids(&self, sql: &str, ids: &[i64]) -> Result<HashMap<i64, UserRow>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in batches(ids) {
            dispatch!(self, pool => {
                let mut q = sqlx::query(sql);
                for id in chunk {
                    q = q.bind(id);
                }
                for r in q.fetch_all(pool).await? {
                    let u = user_row(&r)?;
                    out.insert(u.id, u);
                }
            });
        }
        Ok(out)
    }

    /// Whether the user has a live Moodle session (modified after `since`).
    pub async fn has_live_session(&self, userid: i64, since: i64) -> Result<bool> {
        let sql = &self.sql.moodle.live_session;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(userid).bind(since).fetch_optional(pool).await?;
            Ok(r.is_some())
        })
    }

    /// `(userid, sid)` of every live Moodle session (modified after `since`) of the users among
    /// `ids`. The sids are the users' session cookies: hash them and drop them, never log them.
    pub async fn live_session_ids(&self, ids: &[i64], since: i64) -> Result<Vec<(i64, String)>> {
        let sql = &self.sql.moodle.live_sessions;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in batches(ids) {
            dispatch!(self, pool => {
                let mut q = sqlx::query(sql);
                for id in chunk {
                    q = q.bind(id);
                }
                for r in q.bind(since).fetch_all(pool).await? {
                    out.push((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?));
                }
            });
        }
        Ok(out)
    }

    /// A core setting from `config`.
    pub async fn config_value(&self, name: &str) -> Result<Option<String>> {
        let sql = &self.sql.moodle.config;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(name).fetch_optional(pool).await?;
            Ok(match r { Some(r) => r.try_get::<Option<String>, _>(0)?, None => None })
        })
    }

    /// A plugin setting from `config_plugins`.
    pub async fn plugin_config(&self, plugin: &str, name: &str) -> Result<Option<String>> {
        let sql = &self.sql.moodle.config_plugin;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(plugin).bind(name).fetch_optional(pool).await?;
            Ok(match r { Some(r) => r.try_get::<Option<String>, _>(0)?, None => None })
        })
    }

    /// A user preference.
    pub async fn preference(&self, userid: i64, name: &str) -> Result<Option<String>> {
        let sql = &self.sql.moodle.preference;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(userid).bind(name).fetch_optional(pool).await?;
            Ok(match r { Some(r) => r.try_get::<Option<String>, _>(0)?, None => None })
        })
    }

    /// Whether `userid` has blocked `blocked`.
    pub async fn is_blocked(&self, userid: i64, blocked: i64) -> Result<bool> {
        let sql = &self.sql.moodle.blocked;
        dispatch!(self, pool => {
            Ok(sqlx::query(sql).bind(userid).bind(blocked).fetch_optional(pool).await?.is_some())
        })
    }

    /// Whether the two users are contacts (stored once per pair, either direction).
    pub async fn is_contact(&self, a: i64, b: i64) -> Result<bool> {
        let sql = &self.sql.moodle.contact;
        dispatch!(self, pool => {
            Ok(sqlx::query(sql).bind(a).bind(b).bind(b).bind(a).fetch_optional(pool).await?.is_some())
        })
    }

    /// Courses the two users share, by Moodle's `enrol_get_shared_courses` rule.
    pub async fn shared_courses(&self, a: i64, b: i64) -> Result<Vec<i64>> {
        let sql = &self.sql.moodle.shared_courses;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(a).bind(b).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(r.try_get::<i64, _>(0)?)).collect()
        })
    }

    /// Active course enrolments (within their dates, enabled instance, visible course) of `ids`.
    pub async fn active_courses(&self, ids: &[i64], now: i64) -> Result<HashMap<i64, Vec<i64>>> {
        let sql = &self.sql.moodle.enrolments;
        let mut out: HashMap<i64, Vec<i64>> = HashMap::with_capacity(ids.len());
        for id in ids {
            out.insert(*id, Vec::new());
        }
        for chunk in batches(ids) {
            dispatch!(self, pool => {
                let mut q = sqlx::query(sql);
                for id in chunk {
                    q = q.bind(id);
                }
                for r in q.bind(now).bind(now).fetch_all(pool).await? {
                    let u: i64 = r.try_get(0)?;
                    let c: i64 = r.try_get(1)?;
                    out.entry(u).or_default().push(c);
                }
            });
        }
        for v in out.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        Ok(out)
    }

    /// For `sender` and each of `recipients`: the facts [`Self::is_blocked`] (recipient blocked
    /// sender), [`Self::preference`] (`message_blocknoncontacts`), [`Self::is_contact`] and
    /// [`Self::shared_courses`] give one by one, in four queries per batch of recipients.
    pub async fn pair_facts_many(
        &self,
        sender: i64,
        recipients: &[i64],
    ) -> Result<HashMap<i64, RawPairFacts>> {
        let sql = &self.sql.moodle;
        let mut out: HashMap<i64, RawPairFacts> = recipients
            .iter()
            .map(|id| (*id, RawPairFacts::default()))
            .collect();
        for chunk in batches(recipients) {
            dispatch!(self, pool => {
                let mut q = sqlx::query(&sql.blocked_by_many).bind(sender);
                for id in chunk {
                    q = q.bind(id);
                }
                for r in q.fetch_all(pool).await? {
                    if let Some(f) = out.get_mut(&r.try_get::<i64, _>(0)?) {
                        f.blocked = true;
                    }
                }
                let mut q = sqlx::query(&sql.privacy_many);
                for id in chunk {
                    q = q.bind(id);
                }
                for r in q.fetch_all(pool).await? {
                    if let Some(f) = out.get_mut(&r.try_get::<i64, _>(0)?) {
                        f.pref = r.try_get::<Option<String>, _>(1)?;
                    }
                }
                let mut q = sqlx::query(&sql.contacts_many).bind(sender);
                for id in chunk {
                    q = q.bind(id);
                }
                q = q.bind(sender);
                for id in chunk {
                    q = q.bind(id);
                }
                for r in q.fetch_all(pool).await? {
                    if let Some(f) = out.get_mut(&r.try_get::<i64, _>(0)?) {
                        f.contact = true;
                    }
                }
                let mut q = sqlx::query(&sql.shared_many).bind(sender);
                for id in chunk {
                    q = q.bind(id);
                }
                for r in q.fetch_all(pool).await? {
                    if let Some(f) = out.get_mut(&r.try_get::<i64, _>(0)?) {
                        f.shared.push(r.try_get::<i64, _>(1)?);
                    }
                }
            });
        }
        for f in out.values_mut() {
            f.shared.sort_unstable();
            f.shared.dedup();
        }
        Ok(out)
    }

    /// Full names of courses (demo).
    /// Up to `limit` candidates of a people search by `searcher` for `words` (1–3 lower-case words,
    /// each found anywhere in the first or the last name), see
    /// [`MoodleSql`]'s `search`. `everyone`: the searcher may message anyone; `site_wide`: Moodle's
    /// `messagingallusers` is on. With neither, the daemon searches [`Self::search_pool`] instead.
    pub async fn search_people(
        &self,
        searcher: i64,
        words: &[String],
        everyone: bool,
        site_wide: bool,
        limit: usize,
    ) -> Result<Vec<UserRow>> {
        let sql = &self.sql.moodle.search;
        // Each word is a LIKE pattern, `!` escaping the pattern characters; missing words match all.
        let patterns: Vec<String> = (0..3)
            .map(|i| match words.get(i) {
                Some(w) => format!(
                    "%{}%",
                    w.replace('!', "!!").replace('%', "!%").replace('_', "!_")
                ),
                None => "%".to_string(),
            })
            .collect();
        dispatch!(self, pool => {
            let mut q = sqlx::query(sql).bind(searcher);
            for p in &patterns {
                q = q.bind(p).bind(p);
            }
            let rows = q
                .bind(i64::from(everyone))
                .bind(searcher)
                .bind(searcher)
                .bind(searcher)
                .bind(i64::from(site_wide))
                .bind(limit as i64)
                .fetch_all(pool)
                .await?;
            rows.iter().map(user_row).collect()
        })
    }

    /// Everyone `searcher` may find by name when only course-mates and contacts can be messaged
    /// (the candidates of [`Self::search_people`] before the names' condition): (id, first name,
    /// last name) of active accounts, by last name, first name, id.
    pub async fn search_pool(&self, searcher: i64) -> Result<Vec<(i64, String, String)>> {
        let sql = &self.sql.moodle.search_pool;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql)
                .bind(searcher)
                .bind(searcher)
                .bind(searcher)
                .bind(searcher)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?, r.try_get::<String, _>(2)?)))
                .collect()
        })
    }

    pub async fn course_names(&self, ids: &[i64]) -> Result<HashMap<i64, String>> {
        let sql = &self.sql.moodle.course_names;
        let mut out = HashMap::new();
        for chunk in batches(ids) {
            dispatch!(self, pool => {
                let mut q = sqlx::query(sql);
                for id in chunk {
                    q = q.bind(id);
                }
                for r in q.fetch_all(pool).await? {
                    out.insert(r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?);
                }
            });
        }
        Ok(out)
    }
}

impl Store {
    /// The account whether active or not (suspended, deleted...), if its row exists: for showing
    /// the peer of an existing conversation, as Moodle does.
    pub async fn account(&self, id: i64) -> Result<Option<UserRow>> {
        let sql = &self.sql.moodle.account;
        dispatch!(self, pool => {
            match sqlx::query(sql).bind(id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(user_row(&r)?)),
                None => Ok(None),
            }
        })
    }

    /// The accounts among `ids` whose rows exist, active or not (see [`Self::account`]): the
    /// senders of a page of group history, in one query per batch of ids.
    pub async fn accounts(&self, ids: &[i64]) -> Result<HashMap<i64, UserRow>> {
        self.users_by_ids(&self.sql.moodle.accounts, ids).await
    }

    /// Moodle's `user.lastaccess` of the users among `ids` who ever accessed the site.
    pub async fn last_access(&self, ids: &[i64]) -> Result<HashMap<i64, i64>> {
        let sql = &self.sql.moodle.last_access;
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in batches(ids) {
            dispatch!(self, pool => {
                let mut q = sqlx::query(sql);
                for id in chunk {
                    q = q.bind(id);
                }
                for r in q.fetch_all(pool).await? {
                    out.insert(r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?);
                }
            });
        }
        Ok(out)
    }
}

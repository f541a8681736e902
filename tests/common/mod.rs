//! Integration-test harness: a real database per test, a Moodle-shaped fixture, the daemon started
//! in-process, and real WebSocket clients.
//!
//! Every test runs twice through [`db_test!`], as `<name>_mariadb` (root@127.0.0.1:3306) and
//! `<name>_postgres` (postgres@127.0.0.1:5432). Each run creates its own uniquely named database
//! (`dct_<pid>_<n>_<nanos>`), loads the Moodle 5.1 subset schema and the block tables from install.xml,
//! inserts [`fixture`], starts `dockchat::app::start` on 127.0.0.1:0 and drops the database at the end.
//! Databases left behind by killed runs are dropped by the next run (their pid is gone). Every wait is
//! bounded ([`WAIT`]), and every test as a whole is bounded by [`TEST_TIMEOUT`].

#![allow(dead_code)]

pub mod proxy;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dockchat::store::moodle_schema;
use dockchat::store::xmldb::{self, Dialect};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sqlx::{mysql::MySqlPoolOptions, postgres::PgPoolOptions, MySqlPool, PgPool};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The Moodle site the daemon serves (token issuer and the only allowed Origin).
pub const SITE_URL: &str = "http://moodle.test";
/// The block's secret in `config_plugins` (block_dockchat/secret).
pub const SECRET: &str = "fixture-secret-4f1c2b8e9d7a6b5c4d3e2f1a0b9c8d7e";
/// Default Moodle table prefix.
pub const PREFIX: &str = "mdl_";
/// Longest wait for any single frame or event.
pub const WAIT: Duration = Duration::from_secs(8);
/// Upper bound for a whole test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Generates `<name>_mariadb` and `<name>_postgres` tests from `async fn <name>(backend: Backend)`.
///
/// ```ignore
/// async fn sends(backend: Backend) { let ctx = Ctx::start(backend).await; ... ctx.finish().await; }
/// db_test!(sends);
/// ```
#[macro_export]
macro_rules! db_test {
    ($name:ident) => {
        ::pastey::paste! {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn [<$name _mariadb>]() {
                common::bounded($name(common::Backend::MariaDb)).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn [<$name _postgres>]() {
                common::bounded($name(common::Backend::Postgres)).await
            }
        }
    };
}

tokio::task_local! {
    /// Databases created by the running test, dropped by [`bounded`] even when the test panics.
    static CREATED: std::cell::RefCell<Vec<(Backend, String)>>;
}

/// Runs a test body with the global time bound; afterwards (pass, panic or timeout) drops every
/// database the body created and did not destroy itself.
pub async fn bounded<F: std::future::Future<Output = ()>>(f: F) {
    use futures_util::FutureExt;
    let body = std::panic::AssertUnwindSafe(tokio::time::timeout(TEST_TIMEOUT, f)).catch_unwind();
    let (outcome, created) = CREATED
        .scope(std::cell::RefCell::new(Vec::new()), async {
            let outcome = body.await;
            (outcome, CREATED.with(|c| c.take()))
        })
        .await;
    for (backend, name) in created {
        let _ = admin_exec(backend, &drop_sql(backend, &name)).await;
    }
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!("test exceeded {TEST_TIMEOUT:?}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The two databases every test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// MariaDB on 127.0.0.1:3306, user root, no password.
    MariaDb,
    /// PostgreSQL on 127.0.0.1:5432, user postgres, trust auth.
    Postgres,
}

impl Backend {
    /// The XMLDB dialect.
    pub fn dialect(self) -> Dialect {
        match self {
            Backend::MariaDb => Dialect::MySql,
            Backend::Postgres => Dialect::Postgres,
        }
    }

    /// Server URL without a database.
    pub fn server_url(self) -> &'static str {
        match self {
            Backend::MariaDb => "mysql://root@127.0.0.1:3306",
            Backend::Postgres => "postgres://postgres@127.0.0.1:5432",
        }
    }

    /// URL of database `name`.
    pub fn url(self, name: &str) -> String {
        format!("{}/{name}", self.server_url())
    }
}

/// Current Unix time.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

enum Pool {
    My(MySqlPool),
    Pg(PgPool),
}

/// An insert whose transaction is still open ([`TestDb::open_moodle_insert`]).
pub enum OpenInsert {
    My(sqlx::Transaction<'static, sqlx::MySql>, i64),
    Pg(sqlx::Transaction<'static, sqlx::Postgres>, i64),
}

impl OpenInsert {
    /// The id the insert was given.
    pub fn id(&self) -> i64 {
        match self {
            OpenInsert::My(_, id) | OpenInsert::Pg(_, id) => *id,
        }
    }

    pub async fn commit(self) {
        match self {
            OpenInsert::My(tx, _) => tx.commit().await.expect("commit"),
            OpenInsert::Pg(tx, _) => tx.commit().await.expect("commit"),
        }
    }

    pub async fn rollback(self) {
        match self {
            OpenInsert::My(tx, _) => tx.rollback().await.expect("rollback"),
            OpenInsert::Pg(tx, _) => tx.rollback().await.expect("rollback"),
        }
    }
}

/// A fresh database of its own, dropped by [`TestDb::destroy`].
pub struct TestDb {
    /// Which server.
    pub backend: Backend,
    /// Database name.
    pub name: String,
    /// URL the daemon connects with.
    pub url: String,
    /// Table prefix of this database.
    pub prefix: String,
    pool: Pool,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);
static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

async fn admin_exec(backend: Backend, sql: &str) -> Result<(), sqlx::Error> {
    match backend {
        Backend::MariaDb => {
            let pool = MySqlPoolOptions::new()
                .max_connections(1)
                .connect(backend.server_url())
                .await?;
            sqlx::raw_sql(sql).execute(&pool).await?;
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect(&backend.url("postgres"))
                .await?;
            sqlx::raw_sql(sql).execute(&pool).await?;
            pool.close().await;
        }
    }
    Ok(())
}

/// Drops test databases whose creating process is gone (left behind by a killed run).
async fn drop_leftovers(backend: Backend) {
    let names: Vec<String> = match backend {
        Backend::MariaDb => {
            let Ok(pool) = MySqlPoolOptions::new()
                .max_connections(1)
                .connect(backend.server_url())
                .await
            else {
                return;
            };
            let names = sqlx::query_scalar(
                "SELECT CAST(schema_name AS CHAR(255)) FROM information_schema.schemata WHERE schema_name LIKE 'dct\\_%'",
            )
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
            pool.close().await;
            names
        }
        Backend::Postgres => {
            let Ok(pool) = PgPoolOptions::new()
                .max_connections(1)
                .connect(&backend.url("postgres"))
                .await
            else {
                return;
            };
            let names = sqlx::query_scalar(
                "SELECT datname::text FROM pg_database WHERE datname LIKE 'dct\\_%'",
            )
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
            pool.close().await;
            names
        }
    };
    for name in names {
        let pid = name.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = admin_exec(backend, &drop_sql(backend, &name)).await;
        }
    }
}

fn drop_sql(backend: Backend, name: &str) -> String {
    match backend {
        Backend::MariaDb => format!("DROP DATABASE IF EXISTS `{name}`"),
        Backend::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    }
}

impl TestDb {
    /// An empty database of its own (no tables).
    pub async fn empty(backend: Backend) -> TestDb {
        CLEANED
            .get_or_init(|| async {
                drop_leftovers(Backend::MariaDb).await;
                drop_leftovers(Backend::Postgres).await;
            })
            .await;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "dct_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let create = match backend {
            Backend::MariaDb => format!(
                "CREATE DATABASE `{name}` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            ),
            Backend::Postgres => {
                format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
            }
        };
        admin_exec(backend, &create)
            .await
            .unwrap_or_else(|e| panic!("create database {name} on {backend:?}: {e}"));
        let _ = CREATED.try_with(|c| c.borrow_mut().push((backend, name.clone())));
        let url = backend.url(&name);
        let pool = match backend {
            Backend::MariaDb => Pool::My(
                MySqlPoolOptions::new()
                    .max_connections(3)
                    .connect(&url)
                    .await
                    .expect("connect test db"),
            ),
            Backend::Postgres => Pool::Pg(
                PgPoolOptions::new()
                    .max_connections(3)
                    .connect(&url)
                    .await
                    .expect("connect test db"),
            ),
        };
        TestDb {
            backend,
            name,
            url,
            prefix: PREFIX.to_string(),
            pool,
        }
    }

    /// A database with the Moodle subset and the block tables (prefix `prefix`), without data.
    pub async fn with_schema(backend: Backend, prefix: &str, block_tables: bool) -> TestDb {
        let mut db = TestDb::empty(backend).await;
        db.prefix = prefix.to_string();
        for s in moodle_schema::with_prefix(backend.dialect(), prefix) {
            db.exec(&s).await;
        }
        if block_tables {
            let schema = xmldb::block_schema().expect("install.xml parses");
            for s in schema.create_statements(backend.dialect(), prefix) {
                db.exec(&s).await;
            }
        }
        db
    }

    /// The standard test database: schema, block tables and [`fixture`].
    pub async fn standard(backend: Backend) -> TestDb {
        let db = TestDb::with_schema(backend, PREFIX, true).await;
        for s in fixture(&db.prefix, now()) {
            db.exec(&s).await;
        }
        db
    }

    /// Runs one statement (panics with the statement on error).
    pub async fn exec(&self, sql: &str) {
        let r = match &self.pool {
            Pool::My(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
            Pool::Pg(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
        };
        if let Err(e) = r {
            panic!("{:?}: {e}\n{sql}", self.backend);
        }
    }

    /// `sql` with `{p}` replaced by the prefix, executed.
    pub async fn execp(&self, sql: &str) {
        self.exec(&sql.replace("{p}", &self.prefix)).await
    }

    /// The first column of the first row, as i64 (`SELECT COUNT(*) ...`, `SELECT id ...`).
    pub async fn scalar(&self, sql: &str) -> Option<i64> {
        let sql = sql.replace("{p}", &self.prefix);
        let r: Result<Option<i64>, sqlx::Error> = match &self.pool {
            Pool::My(p) => sqlx::query_scalar(&sql).fetch_optional(p).await,
            Pool::Pg(p) => sqlx::query_scalar(&sql).fetch_optional(p).await,
        };
        r.unwrap_or_else(|e| panic!("{:?}: {e}\n{sql}", self.backend))
    }

    /// Adds a live Moodle session `session_id` of `user` (a login in another browser).
    pub async fn add_session(&self, user: i64, session_id: &str) {
        let n = now();
        self.execp(&format!(
            "INSERT INTO {{p}}sessions (state, sid, userid, timecreated, timemodified, firstip, lastip) \
             VALUES (0, '{session_id}', {user}, {n}, {n}, '127.0.0.1', '127.0.0.1')"
        ))
        .await;
    }

    /// `SELECT COUNT(*) FROM {p}<from>` (e.g. `count("messages WHERE useridfrom = 4")`).
    pub async fn count(&self, from: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {{p}}{from}"))
            .await
            .unwrap_or(0)
    }

    /// The individual Moodle conversation of a pair, created as `api::create_conversation` does when
    /// missing (what the drawer's first message between them does).
    pub async fn moodle_conversation(&self, a: i64, b: i64) -> i64 {
        let hash = dockchat::store::messaging::conversation_hash(a, b);
        let find = format!(
            "SELECT id FROM {{p}}message_conversations WHERE convhash = '{hash}' AND type = 1 ORDER BY id LIMIT 1"
        );
        if let Some(id) = self.scalar(&find).await {
            return id;
        }
        let t = now();
        self.execp(&format!(
            "INSERT INTO {{p}}message_conversations (type, convhash, enabled, timecreated, timemodified) \
             VALUES (1, '{hash}', 1, {t}, {t})"
        ))
        .await;
        let id = self.scalar(&find).await.expect("conversation id");
        self.execp(&format!(
            "INSERT INTO {{p}}message_conversation_members (conversationid, userid, timecreated) \
             VALUES ({id}, {a}, {t}), ({id}, {b}, {t})"
        ))
        .await;
        id
    }

    /// A course group's conversation as Moodle creates it (`api::create_conversation` with
    /// component `core_group`, itemtype `groups`, itemid the group id), with its members.
    pub async fn group_conversation(
        &self,
        group: i64,
        name: &str,
        enabled: i64,
        members: &[i64],
    ) -> i64 {
        let t = now();
        self.execp(&format!(
            "INSERT INTO {{p}}message_conversations (type, name, convhash, component, itemtype, itemid, contextid, \
             enabled, timecreated, timemodified) VALUES (2, '{name}', NULL, 'core_group', 'groups', {group}, NULL, \
             {enabled}, {t}, {t})"
        ))
        .await;
        let id = self
            .scalar(&format!(
                "SELECT id FROM {{p}}message_conversations WHERE itemid = {group} AND type = 2"
            ))
            .await
            .expect("conversation id");
        for m in members {
            self.execp(&format!(
                "INSERT INTO {{p}}message_conversation_members (conversationid, userid, timecreated) VALUES ({id}, {m}, {t})"
            ))
            .await;
        }
        id
    }

    /// A message as Moodle's own send path stores it (the drawer, the app: no dockchat cid), from
    /// `from` to `to` at time `t`; returns its id. `text` must not hold a quote.
    pub async fn moodle_message(&self, from: i64, to: i64, text: &str, t: i64) -> i64 {
        let conv = self.moodle_conversation(from, to).await;
        self.execp(&format!(
            "INSERT INTO {{p}}messages (useridfrom, conversationid, subject, fullmessage, fullmessageformat, \
             fullmessagehtml, smallmessage, timecreated, fullmessagetrust, customdata) \
             VALUES ({from}, {conv}, NULL, '{text}', 0, '', '{text}', {t}, 0, NULL)"
        ))
        .await;
        self.scalar(&format!(
            "SELECT MAX(id) FROM {{p}}messages WHERE conversationid = {conv} AND useridfrom = {from}"
        ))
        .await
        .expect("message id")
    }

    /// Begins a Moodle-style message insert (the drawer's, from `from` to `to`) on a connection of
    /// its own and leaves it uncommitted: its id is allocated, the row invisible until
    /// [`OpenInsert::commit`]. The pair's conversation must exist.
    pub async fn open_moodle_insert(&self, from: i64, to: i64, text: &str) -> OpenInsert {
        let conv = self.moodle_conversation(from, to).await;
        let t = now();
        let sql = format!(
            "INSERT INTO {}messages (useridfrom, conversationid, fullmessage, fullmessageformat, \
             fullmessagehtml, smallmessage, timecreated, fullmessagetrust) \
             VALUES ({from}, {conv}, '{text}', 0, '', '{text}', {t}, 0)",
            self.prefix
        );
        match &self.pool {
            Pool::My(p) => {
                let mut tx = p.begin().await.expect("begin");
                let id = sqlx::query(&sql)
                    .execute(&mut *tx)
                    .await
                    .expect("insert")
                    .last_insert_id() as i64;
                OpenInsert::My(tx, id)
            }
            Pool::Pg(p) => {
                let mut tx = p.begin().await.expect("begin");
                let id: i64 = sqlx::query_scalar(&format!("{sql} RETURNING id"))
                    .fetch_one(&mut *tx)
                    .await
                    .expect("insert");
                OpenInsert::Pg(tx, id)
            }
        }
    }

    /// The text column of the first row of `sql` (`{p}` for the prefix); `None` for no row or NULL.
    pub async fn text(&self, sql: &str) -> Option<String> {
        let sql = sql.replace("{p}", &self.prefix);
        let r: Result<Option<Option<String>>, sqlx::Error> = match &self.pool {
            Pool::My(p) => sqlx::query_scalar(&sql).fetch_optional(p).await,
            Pool::Pg(p) => sqlx::query_scalar(&sql).fetch_optional(p).await,
        };
        r.expect("text query").flatten()
    }

    /// Texts of the stored messages, by id.
    pub async fn message_texts(&self) -> Vec<String> {
        let sql = format!(
            "SELECT smallmessage FROM {}messages ORDER BY id",
            self.prefix
        );
        let r: Result<Vec<String>, sqlx::Error> = match &self.pool {
            Pool::My(p) => sqlx::query_scalar(&sql).fetch_all(p).await,
            Pool::Pg(p) => sqlx::query_scalar(&sql).fetch_all(p).await,
        };
        r.expect("message texts")
    }

    /// Ids of the stored messages with id > `after`, ascending.
    pub async fn message_ids_after(&self, after: i64) -> Vec<i64> {
        let sql = format!(
            "SELECT id FROM {}messages WHERE id > {after} ORDER BY id",
            self.prefix
        );
        let r: Result<Vec<i64>, sqlx::Error> = match &self.pool {
            Pool::My(p) => sqlx::query_scalar(&sql).fetch_all(p).await,
            Pool::Pg(p) => sqlx::query_scalar(&sql).fetch_all(p).await,
        };
        r.expect("message ids")
    }

    /// Closes the pool and drops the database.
    pub async fn destroy(self) {
        match self.pool {
            Pool::My(p) => p.close().await,
            Pool::Pg(p) => p.close().await,
        }
        let _ = admin_exec(self.backend, &drop_sql(self.backend, &self.name)).await;
    }
}

/// Fixture user ids.
pub mod users {
    /// Moodle's guest account.
    pub const GUEST: i64 = 1;
    /// The first admin.
    pub const ADMIN: i64 = 2;
    /// Editing teacher in Algebra (2) and Biology (3).
    pub const TEACHER: i64 = 3;
    /// Students in Algebra.
    pub const ALICE: i64 = 4;
    pub const BOB: i64 = 5;
    pub const CAROL: i64 = 6;
    /// Only in Biology: not a course-mate of the Algebra students.
    pub const DAVE: i64 = 7;
    /// Algebra enrolment, account suspended.
    pub const SUSPENDED: i64 = 8;
    /// Algebra enrolment, account deleted.
    pub const DELETED: i64 = 9;
    /// Algebra enrolment, account not confirmed.
    pub const UNCONFIRMED: i64 = 10;
    /// Algebra enrolment, auth = nologin.
    pub const NOLOGIN: i64 = 11;
    /// Enrolled in Algebra through a disabled enrolment instance.
    pub const ERIN: i64 = 12;
    /// Suspended enrolment (user_enrolments.status = 1) in Algebra.
    pub const FRANK: i64 = 13;
    /// Algebra enrolment that ended yesterday.
    pub const GRACE: i64 = 14;
    /// Shares only the hidden course with Alice.
    pub const HEIDI: i64 = 15;
    /// Active Algebra student whose only Moodle session has expired.
    pub const IVAN: i64 = 16;
    /// Algebra enrolment that starts tomorrow.
    pub const JUDY: i64 = 17;
    /// Algebra student who accepts messages from contacts only; Bob is her contact.
    pub const KATE: i64 = 18;
    /// Algebra student with no data of interest (spare course-mate).
    pub const LEO: i64 = 19;
}

/// Fixture course ids.
pub mod courses {
    /// The site course (front page).
    pub const SITE: i64 = 1;
    /// Algebra: teacher, Alice, Bob, Carol, Kate, Leo and the special cases.
    pub const ALGEBRA: i64 = 2;
    /// Biology: teacher and Dave.
    pub const BIOLOGY: i64 = 3;
    /// Hidden course: Alice and Heidi.
    pub const HIDDEN: i64 = 4;
}

/// A fixture account: id, username, first name, last name, auth, confirmed, deleted, suspended.
type Person = (
    i64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i32,
    i32,
    i32,
);

/// The Moodle-shaped fixture (site config, users, courses, enrolments, contexts, roles, sessions,
/// preferences, contacts, blocks) as INSERT statements for tables with `prefix`.
pub fn fixture(prefix: &str, now: i64) -> Vec<String> {
    use users::*;
    let p = prefix;
    let mut s = Vec::new();
    // Site configuration.
    for (name, value) in [
        ("messaging", "1"),
        ("messagingallusers", "0"),
        ("sessiontimeout", "28800"),
        ("siteadmins", "2"),
        ("enrol_plugins_enabled", "manual,guest,self,cohort"),
    ] {
        s.push(format!(
            "INSERT INTO {p}config (name, value) VALUES ('{name}', '{value}')"
        ));
    }
    s.push(format!(
        "INSERT INTO {p}config_plugins (plugin, name, value) VALUES ('block_dockchat', 'secret', '{SECRET}'), ('block_dockchat', 'version', '2026112200'), ('enrol_manual', 'version', '2025100600')"
    ));
    // Users: (id, username, first, last, auth, confirmed, deleted, suspended).
    let people: &[Person] = &[
        (GUEST, "guest", "Guest user", " ", "manual", 1, 0, 0),
        (ADMIN, "admin", "Admin", "User", "manual", 1, 0, 0),
        (TEACHER, "tsilva", "Tereza", "Silva", "manual", 1, 0, 0),
        (ALICE, "alice", "Alice", "Almeida", "manual", 1, 0, 0),
        (BOB, "bob", "Bruno", "Barros", "manual", 1, 0, 0),
        (CAROL, "carol", "Carla", "Costa", "email", 1, 0, 0),
        (DAVE, "dave", "Davi", "Dias", "manual", 1, 0, 0),
        (SUSPENDED, "sam", "Samuel", "Souza", "manual", 1, 0, 1),
        (
            DELETED,
            "del@example.com.1763772000",
            "Diana",
            "Duarte",
            "manual",
            1,
            1,
            0,
        ),
        (UNCONFIRMED, "uma", "Uma", "Unger", "email", 0, 0, 0),
        (NOLOGIN, "nolan", "Nolan", "Nunes", "nologin", 1, 0, 0),
        (ERIN, "erin", "Erin", "Esteves", "manual", 1, 0, 0),
        (FRANK, "frank", "Frank", "Faria", "manual", 1, 0, 0),
        (GRACE, "grace", "Graça", "Gomes", "manual", 1, 0, 0),
        (HEIDI, "heidi", "Heidi", "Hoffmann", "manual", 1, 0, 0),
        (IVAN, "ivan", "Ivan", "Ivanov", "manual", 1, 0, 0),
        (JUDY, "judy", "Judite", "Jardim", "manual", 1, 0, 0),
        (KATE, "kate", "Kátia", "Klein", "manual", 1, 0, 0),
        (LEO, "leo", "Leonardo", "Lima", "manual", 1, 0, 0),
    ];
    for (id, username, first, last, auth, confirmed, deleted, suspended) in people {
        s.push(format!(
            "INSERT INTO {p}user (id, auth, confirmed, deleted, suspended, mnethostid, username, password, firstname, lastname, email, picture, timecreated, timemodified, lastaccess) \
             VALUES ({id}, '{auth}', {confirmed}, {deleted}, {suspended}, 1, '{username}', '$2y$10$x', '{first}', '{last}', '{username}@example.com', {pic}, {t}, {t}, {now})",
            pic = if *id == ALICE { 912 } else { 0 },
            t = now - 86400 * 30,
        ));
    }
    // Courses: site course, two visible courses, one hidden.
    for (id, category, full, short, format, visible) in [
        (
            courses::SITE,
            0,
            "Dockchat Test Site",
            "dockchat",
            "site",
            1,
        ),
        (courses::ALGEBRA, 1, "Algebra I", "ALG1", "topics", 1),
        (courses::BIOLOGY, 1, "Biology", "BIO", "weeks", 1),
        (courses::HIDDEN, 1, "Hidden Course", "HID", "topics", 0),
    ] {
        s.push(format!(
            "INSERT INTO {p}course (id, category, sortorder, fullname, shortname, format, visible, startdate, timecreated, timemodified, summary) \
             VALUES ({id}, {category}, {so}, '{full}', '{short}', '{format}', {visible}, {t}, {t}, {t}, '')",
            so = 10000 + id,
            t = now - 86400 * 60,
        ));
    }
    // Enrolment instances: (id, plugin, status, course, roleid).
    let instances = [
        (1, "manual", 0, courses::ALGEBRA, 5),
        (2, "self", 1, courses::ALGEBRA, 5),
        (3, "manual", 0, courses::BIOLOGY, 5),
        (4, "manual", 0, courses::HIDDEN, 5),
        (5, "guest", 1, courses::ALGEBRA, 0),
    ];
    for (id, plugin, status, course, role) in instances {
        s.push(format!(
            "INSERT INTO {p}enrol (id, enrol, status, courseid, sortorder, roleid, timecreated, timemodified) \
             VALUES ({id}, '{plugin}', {status}, {course}, {id}, {role}, {now}, {now})"
        ));
    }
    // User enrolments: (enrolid, userid, status, timestart, timeend).
    let forever = 2147483647_i64;
    let ue: Vec<(i64, i64, i32, i64, i64)> = vec![
        (1, TEACHER, 0, 0, forever),
        (1, ALICE, 0, 0, forever),
        (1, BOB, 0, now - 86400, forever),
        (1, CAROL, 0, 0, forever),
        (1, KATE, 0, 0, forever),
        (1, LEO, 0, 0, forever),
        (1, IVAN, 0, 0, forever),
        (1, SUSPENDED, 0, 0, forever),
        (1, DELETED, 0, 0, forever),
        (1, UNCONFIRMED, 0, 0, forever),
        (1, NOLOGIN, 0, 0, forever),
        (1, FRANK, 1, 0, forever),
        (1, GRACE, 0, now - 86400 * 90, now - 86400),
        (1, JUDY, 0, now + 86400, forever),
        (2, ERIN, 0, 0, forever),
        (3, TEACHER, 0, 0, forever),
        (3, DAVE, 0, 0, forever),
        (4, ALICE, 0, 0, forever),
        (4, HEIDI, 0, 0, forever),
    ];
    for (enrolid, userid, status, start, end) in ue {
        s.push(format!(
            "INSERT INTO {p}user_enrolments (status, enrolid, userid, timestart, timeend, modifierid, timecreated, timemodified) \
             VALUES ({status}, {enrolid}, {userid}, {start}, {end}, 2, {now}, {now})"
        ));
    }
    // Contexts: system (1), site course (2), courses (50 level), users (30 level: id 100 + user id).
    s.push(format!(
        "INSERT INTO {p}context (id, contextlevel, instanceid, path, depth, locked) VALUES (1, 10, 0, '/1', 1, 0), (2, 50, 1, '/1/2', 2, 0), (3, 40, 1, '/1/3', 2, 0)"
    ));
    for c in [courses::ALGEBRA, courses::BIOLOGY, courses::HIDDEN] {
        let id = 10 + c;
        s.push(format!(
            "INSERT INTO {p}context (id, contextlevel, instanceid, path, depth, locked) VALUES ({id}, 50, {c}, '/1/3/{id}', 3, 0)"
        ));
    }
    for (id, ..) in people {
        let ctx = 100 + id;
        s.push(format!(
            "INSERT INTO {p}context (id, contextlevel, instanceid, path, depth, locked) VALUES ({ctx}, 30, {id}, '/1/{ctx}', 2, 0)"
        ));
    }
    // Standard roles and assignments.
    for (id, short, archetype) in [
        (1, "manager", "manager"),
        (2, "coursecreator", "coursecreator"),
        (3, "editingteacher", "editingteacher"),
        (4, "teacher", "teacher"),
        (5, "student", "student"),
        (6, "guest", "guest"),
        (7, "user", "user"),
        (8, "frontpage", "frontpage"),
    ] {
        s.push(format!(
            "INSERT INTO {p}role (id, name, shortname, description, sortorder, archetype) VALUES ({id}, '', '{short}', '', {id}, '{archetype}')"
        ));
    }
    let mut ra = vec![
        (3, 10 + courses::ALGEBRA, TEACHER),
        (3, 10 + courses::BIOLOGY, TEACHER),
    ];
    for u in [ALICE, BOB, CAROL, KATE, LEO, IVAN, GRACE, JUDY, FRANK] {
        ra.push((5, 10 + courses::ALGEBRA, u));
    }
    ra.push((5, 10 + courses::BIOLOGY, DAVE));
    ra.push((5, 10 + courses::HIDDEN, ALICE));
    ra.push((5, 10 + courses::HIDDEN, HEIDI));
    for (role, ctx, user) in ra {
        s.push(format!(
            "INSERT INTO {p}role_assignments (roleid, contextid, userid, timemodified, modifierid, component, itemid, sortorder) VALUES ({role}, {ctx}, {user}, {now}, 2, '', 0, 0)"
        ));
    }
    // Sessions: a live one for everybody but Ivan (expired) and the guest; an anonymous one.
    for (id, ..) in people {
        if *id == GUEST {
            continue;
        }
        let modified = if *id == IVAN { now - 40_000 } else { now - 60 };
        s.push(format!(
            "INSERT INTO {p}sessions (state, sid, userid, sessdata, timecreated, timemodified, firstip, lastip) \
             VALUES (0, '{sid}', {id}, NULL, {c}, {modified}, '127.0.0.1', '127.0.0.1')",
            sid = session_id(*id),
            c = now - 3600,
        ));
    }
    s.push(format!(
        "INSERT INTO {p}sessions (state, sid, userid, timecreated, timemodified, firstip, lastip) VALUES (0, 'anon{now}', 0, {now}, {now}, '127.0.0.1', '127.0.0.1')"
    ));
    // Preferences, contacts, blocks.
    s.push(format!(
        "INSERT INTO {p}user_preferences (userid, name, value) VALUES ({KATE}, 'message_blocknoncontacts', '1'), ({ALICE}, 'message_blocknoncontacts', '0'), ({BOB}, 'email_bounce_count', '0')"
    ));
    s.push(format!(
        "INSERT INTO {p}message_contacts (userid, contactid, timecreated) VALUES ({KATE}, {BOB}, {now})"
    ));
    s.push(format!(
        "INSERT INTO {p}message_users_blocked (userid, blockeduserid, timecreated) VALUES ({CAROL}, {BOB}, {now})"
    ));
    s
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// Base64url without padding (JWT segments).
pub fn b64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Claims as the block mints them (PROTOCOL §2.1) for `user` in their fixture session
/// ([`session_id`]), valid for 300 s, `caps.send` true.
pub fn claims(user: i64) -> Value {
    let now = now();
    json!({
        "iss": SITE_URL,
        "aud": "dockchat",
        "sub": user.to_string(),
        "iat": now,
        "exp": now + 300,
        "sid": token_sid(&session_id(user)),
        "caps": {"send": true, "readall": false, "anyuser": false, "anyusercourses": [], "deleteown": true},
    })
}

/// The Moodle session id (`sessions.sid`, the `MoodleSession` cookie) of `user`'s fixture session.
pub fn session_id(user: i64) -> String {
    format!("fixture-session-{user}")
}

/// The token's `sid` for a Moodle session id, as the block computes it: `hash('sha256', $sid)`.
pub fn token_sid(session_id: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(session_id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A valid token for `user` minted in the Moodle session `session_id` (fixture secret).
pub fn token_in_session(user: i64, session_id: &str) -> String {
    let mut c = claims(user);
    c["sid"] = json!(token_sid(session_id));
    sign(&c, SECRET)
}

/// Signs `claims` with HS256 and `secret`.
pub fn sign(claims: &Value, secret: &str) -> String {
    sign_alg(claims, secret, jsonwebtoken::Algorithm::HS256)
}

/// Signs `claims` with an HMAC algorithm of choice.
pub fn sign_alg(claims: &Value, secret: &str, alg: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign token")
}

/// A valid token for `user` (fixture secret).
pub fn token(user: i64) -> String {
    sign(&claims(user), SECRET)
}

/// A token for the teacher, who has `messageanyuser` in Algebra and Biology.
pub fn teacher_token() -> String {
    let mut c = claims(users::TEACHER);
    c["caps"]["anyusercourses"] = json!([courses::ALGEBRA, courses::BIOLOGY]);
    sign(&c, SECRET)
}

/// An unsigned token (`alg: none`) with valid claims.
pub fn token_alg_none(user: i64) -> String {
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64url(claims(user).to_string().as_bytes());
    format!("{header}.{payload}.")
}

/// A token whose header claims RS256, with the HS256 signature of the fixture secret.
pub fn token_header_rs256(user: i64) -> String {
    let real = token(user);
    let mut parts = real.split('.');
    let (_, payload, sig) = (parts.next(), parts.next(), parts.next());
    let header = b64url(br#"{"alg":"RS256","typ":"JWT"}"#);
    format!("{header}.{}.{}", payload.unwrap_or(""), sig.unwrap_or(""))
}

// ---------------------------------------------------------------------------------------------
// Server

/// The daemon configuration used by tests: loopback port 0, fast revalidation.
pub fn config_toml(db: &TestDb) -> String {
    format!(
        r#"
listen = "127.0.0.1:0"
site_url = "{SITE_URL}"
database_url = "{url}"
table_prefix = "{prefix}"
db_pool_size = 4
shutdown_timeout_secs = 5

[auth]
revalidate_interval_secs = 1
auth_timeout_secs = 3

[presence]
enrolment_refresh_secs = 2
offline_grace_secs = 0
"#,
        url = db.url,
        prefix = db.prefix
    )
}

/// Parses [`config_toml`] into the daemon's `Config`.
pub fn config(db: &TestDb) -> dockchat::ops::config::Config {
    dockchat::ops::config::Config::from_toml_str(&config_toml(db)).expect("test config parses")
}

/// A test: its database and (once started) its daemon.
pub struct Ctx {
    /// The database.
    pub db: TestDb,
    server: Option<dockchat::app::RunningServer>,
    /// Where the daemon listens.
    pub addr: SocketAddr,
}

impl Ctx {
    /// Standard fixture, daemon with the default test config.
    pub async fn start(backend: Backend) -> Ctx {
        Ctx::start_with(backend, |_| {}).await
    }

    /// Standard fixture, daemon with `tweak` applied to the config.
    pub async fn start_with(
        backend: Backend,
        tweak: impl FnOnce(&mut dockchat::ops::config::Config),
    ) -> Ctx {
        let db = TestDb::standard(backend).await;
        Ctx::start_on(db, tweak).await
    }

    /// Starts the daemon on an already prepared database.
    pub async fn start_on(
        db: TestDb,
        tweak: impl FnOnce(&mut dockchat::ops::config::Config),
    ) -> Ctx {
        let mut cfg = config(&db);
        tweak(&mut cfg);
        let server = dockchat::app::start(cfg)
            .await
            .unwrap_or_else(|e| panic!("daemon start on {:?}: {e:#}", db.backend));
        let addr = server.local_addr();
        Ctx {
            db,
            server: Some(server),
            addr,
        }
    }

    /// `ws://addr/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A connected, authenticated client for `user` (asserts the `welcome`).
    pub async fn client(&self, user: i64) -> Client {
        self.client_with_token(&token(user), None).await
    }

    /// A connected client that sent `hello` with `token` (and `since`), after its `welcome`.
    pub async fn client_with_token(&self, token: &str, since: Option<i64>) -> Client {
        let mut c = Client::connect(&self.ws_url()).await;
        c.hello(token, since).await;
        let welcome = c.expect("welcome").await;
        c.welcome = welcome;
        c
    }

    /// Starts the daemon's graceful shutdown (1012 to clients) in a task of its own, so the test can
    /// act while it runs; await the handle to see it finish.
    pub fn begin_shutdown(&mut self) -> tokio::task::JoinHandle<()> {
        let server = self.server.take().expect("the daemon is running");
        tokio::spawn(async move {
            tokio::time::timeout(Duration::from_secs(20), server.shutdown())
                .await
                .expect("shutdown within 20 s")
                .expect("shutdown ok");
        })
    }

    /// Graceful shutdown of the daemon (1012 to clients), if it still runs.
    pub async fn shutdown(&mut self) {
        if self.server.is_some() {
            self.begin_shutdown().await.expect("shutdown");
        }
    }

    /// Stops the daemon and drops the database.
    pub async fn finish(mut self) {
        self.shutdown().await;
        let db = self.db;
        db.destroy().await;
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket client

/// What a client received.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A JSON text frame.
    Json(Value),
    /// A close frame (code, reason), or the connection ending without one (code 1006).
    Close(u16, String),
}

/// A raw WebSocket upgrade; returns the HTTP status on refusal.
pub async fn upgrade(
    url: &str,
    origin: Option<&str>,
) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, u16> {
    let mut req = url.into_client_request().expect("request");
    if let Some(o) = origin {
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(o).expect("origin header"));
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req)).await {
        Err(_) => panic!("WebSocket upgrade to {url} timed out"),
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp))) => Err(resp.status().as_u16()),
        Ok(Err(e)) => panic!("WebSocket upgrade to {url}: {e}"),
    }
}

/// A real WebSocket client speaking the protocol.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The `welcome` frame (after `hello`).
    pub welcome: Value,
    closed: Option<(u16, String)>,
}

impl Client {
    /// Opens `/ws` with the site's Origin (not yet authenticated).
    pub async fn connect(url: &str) -> Client {
        let ws = upgrade(url, Some(SITE_URL))
            .await
            .unwrap_or_else(|s| panic!("upgrade refused with HTTP {s}"));
        Client {
            ws,
            welcome: Value::Null,
            closed: None,
        }
    }

    /// Like [`Client::connect`], over a socket with a tiny receive buffer (a slow or frozen reader).
    pub async fn connect_small_buffer(url: &str, addr: SocketAddr) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let stream = tokio::time::timeout(WAIT, socket.connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let mut req = url.into_client_request().expect("request");
        req.headers_mut()
            .insert("Origin", HeaderValue::from_static(SITE_URL));
        let (ws, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream)),
        )
        .await
        .expect("upgrade in time")
        .expect("upgrade");
        Client {
            ws,
            welcome: Value::Null,
            closed: None,
        }
    }

    /// Sends `hello`.
    pub async fn hello(&mut self, token: &str, since: Option<i64>) {
        let mut h = json!({"type": "hello", "v": 1, "token": token});
        if let Some(s) = since {
            h["since"] = json!(s);
        }
        self.send(h).await;
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, s: &str) {
        self.ws
            .send(Message::text(s.to_string()))
            .await
            .expect("send text frame");
    }

    /// Sends a raw text frame; false if the connection is already gone.
    pub async fn try_send_text(&mut self, s: &str) -> bool {
        self.ws.send(Message::text(s.to_string())).await.is_ok()
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, b: Vec<u8>) {
        self.ws
            .send(Message::binary(b))
            .await
            .expect("send binary frame");
    }

    /// The next frame within `wait`, or `None` on timeout.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Frame> {
        if let Some(c) = &self.closed {
            return Some(Frame::Close(c.0, c.1.clone()));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(m) => m,
            };
            let frame = match msg {
                None | Some(Err(_)) => Frame::Close(1006, String::new()),
                Some(Ok(Message::Text(t))) => Frame::Json(
                    serde_json::from_str(t.as_str())
                        .unwrap_or_else(|e| panic!("server sent non-JSON text {t:?}: {e}")),
                ),
                Some(Ok(Message::Close(c))) => match c {
                    Some(cf) => Frame::Close(u16::from(cf.code), cf.reason.to_string()),
                    None => Frame::Close(1005, String::new()),
                },
                Some(Ok(Message::Binary(_))) => panic!("server sent a binary frame"),
                Some(Ok(_)) => continue, // ping/pong
            };
            if let Frame::Close(code, reason) = &frame {
                self.closed = Some((*code, reason.clone()));
            }
            return Some(frame);
        }
    }

    /// The next frame (panics after [`WAIT`]).
    pub async fn next(&mut self) -> Frame {
        match self.next_within(WAIT).await {
            Some(f) => f,
            None => panic!("no frame within {WAIT:?}"),
        }
    }

    /// The next frame of type `ty`, skipping frames of other types (panics on close or after [`WAIT`]).
    pub async fn expect(&mut self, ty: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                None => panic!("no {ty:?} frame within {WAIT:?}"),
                Some(Frame::Close(code, reason)) => {
                    panic!("socket closed ({code} {reason:?}) while waiting for {ty:?}")
                }
                Some(Frame::Json(v)) if v["type"] == ty => return v,
                Some(Frame::Json(_)) => continue,
            }
        }
    }

    /// The next frame whose type is one of `types` (panics on close or after [`WAIT`]).
    pub async fn expect_any(&mut self, types: &[&str]) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                None => panic!("no {types:?} frame within {WAIT:?}"),
                Some(Frame::Close(code, reason)) => {
                    panic!("socket closed ({code} {reason:?}) while waiting for {types:?}")
                }
                Some(Frame::Json(v)) if types.iter().any(|t| v["type"] == *t) => return v,
                Some(Frame::Json(_)) => continue,
            }
        }
    }

    /// The next `error` frame; asserts its code.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let e = self.expect("error").await;
        assert_eq!(e["code"], code, "unexpected error frame {e}");
        e
    }

    /// Asserts that no frame of type `ty` arrives within `wait` (other frames are skipped).
    pub async fn expect_none(&mut self, ty: &str, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.next_within(left).await {
                None => return,
                Some(Frame::Json(v)) if v["type"] == ty => panic!("unexpected {ty:?} frame: {v}"),
                Some(Frame::Close(..)) => return,
                Some(Frame::Json(_)) => continue,
            }
        }
    }

    /// Waits for the close frame (skipping others); returns (code, reason).
    pub async fn expect_close(&mut self) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                None => panic!("socket not closed within {WAIT:?}"),
                Some(Frame::Close(code, reason)) => return (code, reason),
                Some(Frame::Json(_)) => continue,
            }
        }
    }

    /// Sends a `send` frame and returns its `ack`.
    pub async fn send_message(&mut self, to: i64, cid: &str, text: &str) -> Value {
        self.send(json!({"type": "send", "to": to, "cid": cid, "text": text}))
            .await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(Frame::Json(v)) if v["type"] == "ack" && v["cid"] == cid => return v,
                Some(Frame::Json(v)) if v["type"] == "error" && v["ref"] == cid => {
                    panic!("send {cid} refused: {v}")
                }
                Some(Frame::Json(_)) => continue,
                Some(Frame::Close(code, r)) => panic!("closed ({code} {r}) waiting for ack {cid}"),
                None => panic!("no ack for {cid} within {WAIT:?}"),
            }
        }
    }

    /// Closes the socket normally.
    pub async fn close(mut self) {
        let _ = self
            .ws
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await;
        // Drain until the server answers the close (bounded).
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }

    /// User ids in the `online` list of the welcome.
    pub fn online_ids(&self) -> Vec<i64> {
        self.welcome["online"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p["id"].as_i64()).collect())
            .unwrap_or_default()
    }
}

/// Connects and sends `hello` with `token`; returns the close (code, reason) the server answers with.
pub async fn refused_with(ctx: &Ctx, token: &str) -> (u16, String) {
    let mut c = Client::connect(&ctx.ws_url()).await;
    c.hello(token, None).await;
    loop {
        match c.next().await {
            Frame::Close(code, reason) => return (code, reason),
            Frame::Json(v) if v["type"] == "welcome" => {
                panic!("token was accepted: {v}")
            }
            Frame::Json(_) => continue,
        }
    }
}

/// A fresh SQLite database file (the demo's backend) with the Moodle subset and the block tables,
/// in a temporary directory named after `tag`; returns the store and the directory to remove.
pub async fn sqlite_store(tag: &str, pool: u32) -> (dockchat::store::Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("dockchat-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("chat.sqlite").display());
    let store = dockchat::store::Store::connect(&url, PREFIX, pool)
        .await
        .expect("open SQLite");
    store
        .execute_script(&moodle_schema::statements(Dialect::Sqlite))
        .await
        .expect("Moodle tables");
    let block = xmldb::block_schema().expect("install.xml");
    store
        .execute_script(&block.create_statements(Dialect::Sqlite, PREFIX))
        .await
        .expect("block tables");
    (store, dir)
}

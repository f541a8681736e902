//! Database preparation for a benchmark run: a fresh database holding the Moodle subset schema (Moodle
//! 5.1's own tables, which hold every message since issue 10) and the block tables, a generated site (users, courses, contexts, enrolments, live sessions, config and the
//! block secret) inserted in batched multi-row statements, and HS256 token minting (PROTOCOL §2.1).
//! Two scenarios add their own rows on top ([`Extra`]): `convlist` one user's conversations,
//! `search` a large site with its own enrolments and names.

use std::fmt::Write as _;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use dockchat::store::xmldb::Dialect;
use serde::Serialize;
use sqlx::{Connection, MySqlConnection, PgConnection};

/// Id of the first generated user; user `k` (0-based) has id `FIRST_USER + k`.
pub const FIRST_USER: u64 = 1001;
/// Id of the first generated course (course 1 is Moodle's front page).
pub const FIRST_COURSE: u64 = 2;
/// Moodle's default student role id.
const STUDENT_ROLE: u64 = 5;
/// Rows per multi-row INSERT.
const BATCH: usize = 1000;
/// The site URL the daemon is configured with (token `iss`, allowed `Origin`). Never resolved.
pub const SITE_URL: &str = "http://moodle.bench.invalid";

/// Which database server backs the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DbKind {
    /// MariaDB/MySQL at 127.0.0.1:3306 (root, no password).
    Mariadb,
    /// PostgreSQL at 127.0.0.1:5432 (postgres, trust).
    Postgres,
}

impl DbKind {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            DbKind::Mariadb => "mariadb",
            DbKind::Postgres => "postgres",
        }
    }

    fn dialect(self) -> Dialect {
        match self {
            DbKind::Mariadb => Dialect::MySql,
            DbKind::Postgres => Dialect::Postgres,
        }
    }

    /// The administrative URL used to create and drop the benchmark database.
    pub fn default_admin_url(self) -> &'static str {
        match self {
            DbKind::Mariadb => "mysql://root@127.0.0.1:3306/mysql",
            DbKind::Postgres => "postgres://postgres@127.0.0.1:5432/postgres",
        }
    }

    /// The URL of database `name` on the same server as `admin_url`.
    fn database_url(self, admin_url: &str, name: &str) -> Result<String> {
        let scheme_end = admin_url
            .find("://")
            .context("database URL without scheme")?
            + 3;
        let base = match admin_url[scheme_end..].find('/') {
            Some(slash) => &admin_url[..scheme_end + slash],
            None => admin_url,
        };
        Ok(format!("{base}/{name}"))
    }
}

/// What a scenario adds to the generated site.
#[derive(Clone, Debug, Default)]
pub enum Extra {
    /// Nothing: the section (and cross) courses of [`layout`].
    #[default]
    None,
    /// User 0's conversations with the others (see [`crate::convlist`]).
    Conversations(crate::convlist::Spec),
    /// A large site: its own courses, enrolments, names and privacy settings replace the section
    /// courses (see [`crate::search`]).
    Site(crate::search::Spec),
}

/// The shape of the generated site.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Number of generated users.
    pub users: usize,
    /// Users per "section" course: user `k` is enrolled in section `k / course_size` and, when
    /// `cross` is set, also in cross course `k % sections` (so each user has about `2 × course_size`
    /// course-mates, like a student with two courses).
    pub course_size: usize,
    /// Whether to add the second ("cross") enrolment.
    pub cross: bool,
    /// When non-zero, the first `big_course` users are enrolled in ONE course only (the `course`
    /// scenario) instead of the section courses.
    pub big_course: usize,
    /// When non-zero, users are also split into course groups of this many consecutive users (the
    /// last group may be smaller), each with the group conversation Moodle creates for a group
    /// with messaging enabled (see [`group_conversation_id`]).
    pub group_members: usize,
    /// Rows a scenario adds.
    pub extra: Extra,
}

/// Id of the group conversation of group `g` (0-based): the bench inserts them with explicit ids,
/// 1, 2, … (the users' self conversations follow them).
pub fn group_conversation_id(g: usize) -> u64 {
    1 + g as u64
}

/// A prepared database.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// URL the daemon connects with.
    pub url: String,
    /// The block secret stored in `config_plugins`.
    pub secret: String,
    /// Seconds spent preparing.
    pub setup_secs: f64,
}

/// One connection to the benchmark database, either kind.
pub enum Conn {
    My(MySqlConnection),
    Pg(PgConnection),
}

impl Conn {
    pub async fn open(kind: DbKind, url: &str) -> Result<Conn> {
        Ok(match kind {
            DbKind::Mariadb => Conn::My(
                MySqlConnection::connect(url)
                    .await
                    .with_context(|| format!("connecting to {url}"))?,
            ),
            DbKind::Postgres => Conn::Pg(
                PgConnection::connect(url)
                    .await
                    .with_context(|| format!("connecting to {url}"))?,
            ),
        })
    }

    /// Which database this is.
    pub fn kind(&self) -> DbKind {
        match self {
            Conn::My(_) => DbKind::Mariadb,
            Conn::Pg(_) => DbKind::Postgres,
        }
    }

    /// Runs one or more statements.
    pub async fn exec(&mut self, sql: &str) -> Result<()> {
        let shown: String = sql.chars().take(160).collect();
        match self {
            Conn::My(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
            Conn::Pg(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
        }
        .with_context(|| format!("executing: {shown}"))
    }

    pub async fn close(self) {
        let _ = match self {
            Conn::My(c) => c.close().await,
            Conn::Pg(c) => c.close().await,
        };
    }
}

/// Now as Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 32 random bytes as hex, from the kernel.
pub fn random_secret() -> Result<String> {
    use std::io::Read;
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("reading /dev/urandom")?;
    Ok(buf.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}

/// Drops and recreates database `name`, creates the schema and inserts the dataset.
pub async fn prepare(
    kind: DbKind,
    admin_url: &str,
    name: &str,
    data: &Dataset,
) -> Result<Prepared> {
    let started = Instant::now();
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("database name must be [A-Za-z0-9_]: {name}");
    }
    let mut admin = Conn::open(kind, admin_url).await?;
    match kind {
        DbKind::Mariadb => {
            admin
                .exec(&format!("DROP DATABASE IF EXISTS `{name}`"))
                .await?;
            admin
                .exec(&format!(
                    "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                ))
                .await?;
        }
        DbKind::Postgres => {
            admin
                .exec(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await?;
            admin.exec(&format!("CREATE DATABASE \"{name}\"")).await?;
        }
    }
    admin.close().await;

    let url = kind.database_url(admin_url, name)?;
    let mut db = Conn::open(kind, &url).await?;
    for stmt in dockchat::store::moodle_schema::statements(kind.dialect()) {
        db.exec(stmt).await?;
    }
    let block =
        dockchat::store::xmldb::block_schema().context("parsing the block's install.xml")?;
    for stmt in block.create_statements(kind.dialect(), "mdl_") {
        db.exec(&stmt).await?;
    }
    let secret = random_secret()?;
    // One transaction: a commit (and its log flush) per batch would dominate the setup time.
    db.exec("BEGIN").await?;
    insert_site(&mut db, data, &secret).await?;
    db.exec("COMMIT").await?;
    analyze(&mut db, kind).await?;
    db.close().await;
    Ok(Prepared {
        url,
        secret,
        setup_secs: started.elapsed().as_secs_f64(),
    })
}

/// Drops database `name` (best effort, at the end of a run).
pub async fn drop_database(kind: DbKind, admin_url: &str, name: &str) -> Result<()> {
    let mut admin = Conn::open(kind, admin_url).await?;
    let sql = match kind {
        DbKind::Mariadb => format!("DROP DATABASE IF EXISTS `{name}`"),
        DbKind::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    };
    admin.exec(&sql).await?;
    admin.close().await;
    Ok(())
}

/// Server-wide statement and commit counters (MariaDB: `Questions`, `Com_commit`,
/// `Innodb_os_log_fsyncs`; PostgreSQL: committed transactions). They count every client of the
/// server, so other activity on the machine shows up too.
pub async fn db_counters(kind: DbKind, admin_url: &str) -> Option<Vec<(String, u64)>> {
    let mut conn = Conn::open(kind, admin_url).await.ok()?;
    let out = match &mut conn {
        Conn::My(c) => {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SHOW GLOBAL STATUS WHERE Variable_name IN \
                 ('Questions', 'Com_commit', 'Innodb_os_log_fsyncs')",
            )
            .fetch_all(&mut *c)
            .await
            .ok()?;
            rows.into_iter()
                .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.parse().ok()?)))
                .collect()
        }
        Conn::Pg(c) => {
            let (commits,): (i64,) = sqlx::query_as(
                "SELECT COALESCE(SUM(xact_commit), 0)::bigint FROM pg_stat_database",
            )
            .fetch_one(&mut *c)
            .await
            .ok()?;
            vec![("xact_commit".to_string(), commits as u64)]
        }
    };
    conn.close().await;
    Some(out)
}

/// What a run left in the benchmark database's tables.
pub struct StoredCounts {
    /// Rows of Moodle's `messages`.
    pub messages: u64,
    /// Rows of the block's `block_dockchat_sent`.
    pub sent_rows: u64,
    /// Pairs with more than one individual conversation (Moodle's convhash index is not unique:
    /// two writers that both missed a new pair's conversation would each create one).
    pub conversation_duplicates: u64,
}

/// What the daemon (or the drawer scenario) stored in the benchmark database `url`, read after a
/// run.
pub async fn stored_counts(kind: DbKind, url: &str) -> Result<StoredCounts> {
    let mut conn = Conn::open(kind, url).await?;
    let mut out = [0u64; 3];
    let queries = [
        "SELECT COUNT(*) FROM mdl_messages",
        "SELECT COUNT(*) FROM mdl_block_dockchat_sent",
        "SELECT COUNT(*) FROM (SELECT convhash FROM mdl_message_conversations WHERE type = 1 \
         GROUP BY convhash HAVING COUNT(*) > 1) twins",
    ];
    for (slot, sql) in out.iter_mut().zip(queries) {
        let n: i64 = match &mut conn {
            Conn::My(c) => sqlx::query_scalar(sql).fetch_one(&mut *c).await,
            Conn::Pg(c) => sqlx::query_scalar(sql).fetch_one(&mut *c).await,
        }
        .with_context(|| format!("counting: {sql}"))?;
        *slot = n.max(0) as u64;
    }
    conn.close().await;
    Ok(StoredCounts {
        messages: out[0],
        sent_rows: out[1],
        conversation_duplicates: out[2],
    })
}

/// Accumulates rows and flushes them as multi-row INSERTs of `BATCH` rows.
pub struct Inserter<'a> {
    db: &'a mut Conn,
    head: String,
    rows: Vec<String>,
}

impl<'a> Inserter<'a> {
    /// An inserter into `mdl_<table>` (`columns` comma-separated, as each row's values are).
    pub fn new(db: &'a mut Conn, table: &str, columns: &str) -> Self {
        Inserter {
            db,
            head: format!("INSERT INTO mdl_{table} ({columns}) VALUES "),
            rows: Vec::with_capacity(BATCH),
        }
    }

    /// Adds one row (its values, comma-separated SQL literals).
    pub async fn row(&mut self, values: String) -> Result<()> {
        self.rows.push(values);
        if self.rows.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Inserts the rows still held.
    pub async fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut sql = String::with_capacity(self.head.len() + self.rows.len() * 96);
        sql.push_str(&self.head);
        for (i, r) in self.rows.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            sql.push_str(r);
            sql.push(')');
        }
        self.rows.clear();
        self.db.exec(&sql).await
    }
}

const FIRST_NAMES: [&str; 16] = [
    "Ana", "Bruno", "Carla", "Diego", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kaori",
    "Luis", "Marta", "Nadia", "Omar", "Paula",
];
const LAST_NAMES: [&str; 16] = [
    "Lima", "Souza", "Martin", "Keller", "Novak", "Haddad", "Berg", "Rossi", "Costa", "Weber",
    "Tanaka", "Garcia", "Silva", "Dubois", "Ali", "Moreau",
];

/// Course ids and each user's enrolments for a dataset.
pub struct Layout {
    /// Every generated course id.
    pub courses: Vec<u64>,
    /// For user `k`: the course ids they are enrolled in.
    pub enrolments: Vec<Vec<u64>>,
}

impl Layout {
    /// The context id of generated user `k` (level 30; they follow the course contexts).
    pub fn user_context(&self, k: usize) -> u64 {
        100 + self.courses.iter().copied().max().unwrap_or(1) + 1 + k as u64
    }
}

/// The context id of course `c` (level 50).
pub fn course_context(c: u64) -> u64 {
    100 + c
}

/// A small deterministic generator (SplitMix64): the same dataset and the same requests on every
/// run and both databases.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `pct` percent.
    pub fn pct(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    /// Shuffles `v` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// Computes which courses exist and who is enrolled where.
pub fn layout(data: &Dataset) -> Layout {
    if let Extra::Site(spec) = &data.extra {
        return crate::search::layout(spec);
    }
    // Even, so that the pair (2i, 2i + 1) always shares its section course.
    let size = data.course_size.max(2).next_multiple_of(2);
    let big = data.big_course.min(data.users);
    let rest = data.users - big;
    let sections = rest.div_ceil(size) as u64;
    let mut courses = Vec::new();
    let mut next = FIRST_COURSE;
    let big_id = if big > 0 {
        next += 1;
        Some(next - 1)
    } else {
        None
    };
    if let Some(id) = big_id {
        courses.push(id);
    }
    let first_section = next;
    courses.extend(first_section..first_section + sections);
    let first_cross = first_section + sections;
    if data.cross && sections > 1 {
        courses.extend(first_cross..first_cross + sections);
    }
    let mut enrolments = Vec::with_capacity(data.users);
    for k in 0..data.users {
        if k < big {
            enrolments.push(vec![big_id.unwrap_or(FIRST_COURSE)]);
            continue;
        }
        let r = (k - big) as u64;
        let mut list = vec![first_section + r / size as u64];
        if data.cross && sections > 1 {
            list.push(first_cross + r % sections);
        }
        enrolments.push(list);
    }
    Layout {
        courses,
        enrolments,
    }
}

async fn insert_site(db: &mut Conn, data: &Dataset, secret: &str) -> Result<()> {
    let now = unix_now();
    let lay = layout(data);

    db.exec("DELETE FROM mdl_config").await?;
    let mut ins = Inserter::new(db, "config", "name, value");
    for (n, v) in [
        ("messaging", "1"),
        ("messagingallusers", "0"),
        ("sessiontimeout", "28800"),
        ("siteadmins", "2"),
    ] {
        ins.row(format!("'{n}', '{v}'")).await?;
    }
    ins.flush().await?;

    let mut ins = Inserter::new(db, "config_plugins", "plugin, name, value");
    ins.row(format!("'block_dockchat', 'secret', '{secret}'"))
        .await?;
    ins.row("'block_dockchat', 'version', '2026112200'".into())
        .await?;
    ins.flush().await?;

    let mut ins = Inserter::new(
        db,
        "role",
        "id, name, shortname, description, sortorder, archetype",
    );
    for (id, short) in [
        (1, "manager"),
        (3, "editingteacher"),
        (4, "teacher"),
        (5, "student"),
    ] {
        ins.row(format!("{id}, '', '{short}', '', {id}, '{short}'"))
            .await?;
    }
    ins.flush().await?;

    // Users: guest (1), admin (2), then the generated ones.
    let cols =
        "id, auth, confirmed, deleted, suspended, mnethostid, username, password, firstname, \
                lastname, email, lang, timezone, picture, timecreated, timemodified, lastaccess";
    let mut ins = Inserter::new(db, "user", cols);
    ins.row(format!(
        "1, 'manual', 1, 0, 0, 1, 'guest', '', 'Guest user', ' ', 'root@localhost', 'en', '99', 0, {now}, {now}, 0"
    ))
    .await?;
    ins.row(format!(
        "2, 'manual', 1, 0, 0, 1, 'admin', '', 'Admin', 'User', 'admin@bench.invalid', 'en', '99', 0, {now}, {now}, 0"
    ))
    .await?;
    for k in 0..data.users {
        let id = FIRST_USER + k as u64;
        let (first, last, lastaccess) = match &data.extra {
            Extra::Site(_) => {
                let (f, l) = crate::search::name(k);
                // Everyone came by within the last 30 days.
                (
                    f.to_string(),
                    l.to_string(),
                    now - (k as u64 * 7919) % (30 * 86_400),
                )
            }
            _ => (
                FIRST_NAMES[k % 16].to_string(),
                format!("{} {id}", LAST_NAMES[(k / 16) % 16]),
                0,
            ),
        };
        ins.row(format!(
            "{id}, 'manual', 1, 0, 0, 1, 'u{id}', '', '{first}', '{last}', 'u{id}@bench.invalid', 'en', '99', 0, {now}, {now}, {lastaccess}"
        ))
        .await?;
    }
    ins.flush().await?;

    // Courses: the front page and the generated ones.
    let mut ins = Inserter::new(
        db,
        "course",
        "id, category, fullname, shortname, format, visible, startdate, timecreated, timemodified",
    );
    ins.row(format!(
        "1, 0, 'Bench site', 'bench', 'site', 1, 0, {now}, {now}"
    ))
    .await?;
    for &c in &lay.courses {
        ins.row(format!(
            "{c}, 1, 'Bench course {c}', 'BC{c}', 'topics', 1, {now}, {now}, {now}"
        ))
        .await?;
    }
    ins.flush().await?;

    // Contexts: system (1), courses (100 + course id), users (after the courses).
    let course_ctx = course_context;
    let mut ins = Inserter::new(
        db,
        "context",
        "id, contextlevel, instanceid, path, depth, locked",
    );
    ins.row("1, 10, 0, '/1', 1, 0".into()).await?;
    for &c in &lay.courses {
        let ctx = course_ctx(c);
        ins.row(format!("{ctx}, 50, {c}, '/1/{ctx}', 2, 0")).await?;
    }
    for k in 0..data.users {
        let ctx = lay.user_context(k);
        let id = FIRST_USER + k as u64;
        ins.row(format!("{ctx}, 30, {id}, '/1/{ctx}', 2, 0"))
            .await?;
    }
    ins.flush().await?;

    // One enabled manual enrolment instance per course (enrol id = course id).
    let mut ins = Inserter::new(
        db,
        "enrol",
        "id, enrol, status, courseid, sortorder, roleid, timecreated, timemodified",
    );
    for &c in &lay.courses {
        ins.row(format!(
            "{c}, 'manual', 0, {c}, 0, {STUDENT_ROLE}, {now}, {now}"
        ))
        .await?;
    }
    ins.flush().await?;

    let mut ins = Inserter::new(
        db,
        "user_enrolments",
        "status, enrolid, userid, timestart, timeend, modifierid, timecreated, timemodified",
    );
    for (k, list) in lay.enrolments.iter().enumerate() {
        let id = FIRST_USER + k as u64;
        for c in list {
            ins.row(format!("0, {c}, {id}, 0, 0, 2, {now}, {now}"))
                .await?;
        }
    }
    ins.flush().await?;

    let mut ins = Inserter::new(
        db,
        "role_assignments",
        "roleid, contextid, userid, timemodified, modifierid, component, itemid, sortorder",
    );
    for (k, list) in lay.enrolments.iter().enumerate() {
        let id = FIRST_USER + k as u64;
        for &c in list {
            ins.row(format!(
                "{STUDENT_ROLE}, {}, {id}, {now}, 2, '', 0, 0",
                course_ctx(c)
            ))
            .await?;
        }
    }
    ins.flush().await?;

    // One live web session per user (on the large site: per user who connects).
    let mut ins = Inserter::new(
        db,
        "sessions",
        "state, sid, userid, timecreated, timemodified, firstip, lastip",
    );
    let sessions = match &data.extra {
        Extra::Site(spec) => spec.viewers.min(data.users),
        _ => data.users,
    };
    for k in 0..sessions {
        let id = FIRST_USER + k as u64;
        ins.row(format!(
            "0, '{}', {id}, {now}, {now}, '127.0.0.1', '127.0.0.1'",
            session_id(id)
        ))
        .await?;
    }
    ins.flush().await?;

    let groups = insert_groups(db, data, &lay, &course_ctx, now).await?;
    match &data.extra {
        Extra::None => insert_self_conversations(db, data, &lay, groups, now).await,
        Extra::Conversations(spec) => crate::convlist::seed(db, spec, &lay).await,
        Extra::Site(spec) => crate::search::seed(db, spec, &lay).await,
    }
}

/// The course groups' conversations as Moodle's `groups_create_group` makes them with
/// `enablemessaging` on (`api::create_conversation` of type GROUP): type 2, the group's name,
/// no convhash, `core_group`/`groups`/group id, the course context, enabled; one member row per
/// group member, as `groups_add_member` adds them.
async fn insert_groups(
    db: &mut Conn,
    data: &Dataset,
    lay: &Layout,
    course_ctx: &dyn Fn(u64) -> u64,
    now: u64,
) -> Result<usize> {
    let size = data.group_members;
    if size == 0 || data.users == 0 {
        return Ok(0);
    }
    let groups = data.users.div_ceil(size);
    let mut ins = Inserter::new(
        db,
        "message_conversations",
        "id, type, name, convhash, component, itemtype, itemid, contextid, enabled, timecreated, \
         timemodified",
    );
    for g in 0..groups {
        let id = group_conversation_id(g);
        // The group id is synthetic (no groups table in the subset schema); the context is the
        // course of the group's first member.
        let ctx = lay
            .enrolments
            .get(g * size)
            .and_then(|e| e.first())
            .map(|&c| course_ctx(c).to_string())
            .unwrap_or_else(|| "NULL".into());
        ins.row(format!(
            "{id}, 2, 'Bench group {id}', NULL, 'core_group', 'groups', {id}, {ctx}, 1, {now}, {now}"
        ))
        .await?;
    }
    ins.flush().await?;
    insert_members(db, data.users, now, |k| group_conversation_id(k / size)).await?;
    Ok(groups)
}

/// One `message_conversation_members` row for each of the first `users` users, in the
/// conversation `conv_of` gives them.
async fn insert_members(
    db: &mut Conn,
    users: usize,
    now: u64,
    conv_of: impl Fn(usize) -> u64,
) -> Result<()> {
    let mut ins = Inserter::new(
        db,
        "message_conversation_members",
        "conversationid, userid, timecreated",
    );
    for k in 0..users {
        let uid = FIRST_USER + k as u64;
        ins.row(format!("{}, {uid}, {now}", conv_of(k))).await?;
    }
    ins.flush().await
}

/// Every user's self conversation, as Moodle's `user_create_user` makes it for each new user
/// (`api::create_conversation` of type SELF, then starred): type 3, convhash sha1 of the user
/// id, enabled; its one member row; the star in `favourite`, in the user's context. The ids
/// follow the `groups` group conversations. Besides being what every Moodle site holds, these
/// rows give the conversation tables real statistics at setup, as a site's have: a table
/// analysed while empty plans its lookups as if it stayed so (the convlist and search scenarios
/// seed conversations of their own).
async fn insert_self_conversations(
    db: &mut Conn,
    data: &Dataset,
    lay: &Layout,
    groups: usize,
    now: u64,
) -> Result<()> {
    let conv_id = |k: usize| (groups + 1 + k) as u64;
    let mut ins = Inserter::new(
        db,
        "message_conversations",
        "id, type, name, convhash, component, itemtype, itemid, contextid, enabled, timecreated, \
         timemodified",
    );
    for k in 0..data.users {
        let uid = FIRST_USER + k as u64;
        ins.row(format!(
            "{}, 3, NULL, '{}', NULL, NULL, NULL, NULL, 1, {now}, {now}",
            conv_id(k),
            sha1_hex(&uid.to_string())
        ))
        .await?;
    }
    ins.flush().await?;
    insert_members(db, data.users, now, conv_id).await?;
    let mut ins = Inserter::new(
        db,
        "favourite",
        "component, itemtype, itemid, contextid, userid, ordering, timecreated, timemodified",
    );
    for k in 0..data.users {
        let uid = FIRST_USER + k as u64;
        ins.row(format!(
            "'core_message', 'message_conversations', {}, {}, {uid}, NULL, {now}, {now}",
            conv_id(k),
            lay.user_context(k)
        ))
        .await?;
    }
    ins.flush().await
}

/// The lowercase hex SHA-1 of `s`, as PHP's `sha1()` (Moodle's conversation hashes).
pub fn sha1_hex(s: &str) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(s.as_bytes())
        .iter()
        .fold(String::with_capacity(40), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Fresh statistics, so the planner sees the real table sizes; on PostgreSQL also moves the id
/// sequences past the explicitly inserted ids.
async fn analyze(db: &mut Conn, kind: DbKind) -> Result<()> {
    if kind == DbKind::Postgres {
        // (setval with a NULL maximum, an empty table, changes nothing.)
        for table in [
            "user",
            "course",
            "context",
            "enrol",
            "role",
            "message_conversations",
            "messages",
            "groups",
        ] {
            db.exec(&format!(
                "SELECT setval(pg_get_serial_sequence('mdl_{table}', 'id'), \
                 (SELECT MAX(id) FROM mdl_{table}))"
            ))
            .await?;
        }
        db.exec("ANALYZE").await?;
    } else {
        db.exec(
            "ANALYZE TABLE mdl_user, mdl_user_enrolments, mdl_enrol, mdl_course, mdl_sessions, \
             mdl_context, mdl_message_conversations, mdl_message_conversation_members, mdl_messages, \
             mdl_message_user_actions, mdl_message_conversation_actions, mdl_favourite, mdl_groups, \
             mdl_role_assignments, mdl_user_preferences, mdl_message_contacts, mdl_message_users_blocked",
        )
        .await?;
    }
    Ok(())
}

/// The Moodle session id (`sessions.sid`) of a benchmark user's session.
fn session_id(uid: u64) -> String {
    format!("benchsession{uid:0>12}")
}

#[derive(Serialize)]
struct Caps {
    send: bool,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: String,
    iat: u64,
    exp: u64,
    sid: String,
    caps: Caps,
}

/// Mints HS256 tokens like the block does (PROTOCOL §2.1), valid for an hour.
pub struct Minter {
    key: jsonwebtoken::EncodingKey,
    header: jsonwebtoken::Header,
}

impl Minter {
    /// A minter for `secret`.
    pub fn new(secret: &str) -> Minter {
        Minter {
            key: jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
            header: jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        }
    }

    /// A token for user `uid`.
    pub fn token(&self, uid: u64) -> Result<String> {
        let now = unix_now();
        let claims = Claims {
            iss: SITE_URL,
            aud: "dockchat",
            sub: uid.to_string(),
            iat: now,
            exp: now + 3600,
            sid: dockchat::services::auth::token_sid(&session_id(uid)),
            caps: Caps { send: true },
        };
        jsonwebtoken::encode(&self.header, &claims, &self.key).context("minting a token")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_pairs_share_a_course() {
        let lay = layout(&Dataset {
            users: 100,
            course_size: 40,
            cross: true,
            big_course: 0,
            group_members: 0,
            extra: Extra::None,
        });
        for k in (0..100).step_by(2) {
            let a = &lay.enrolments[k];
            let b = &lay.enrolments[k + 1];
            assert!(a.iter().any(|c| b.contains(c)), "pair {k} shares no course");
        }
        assert_eq!(lay.courses.len(), 6);
    }

    #[test]
    fn layout_big_course_holds_everyone() {
        let lay = layout(&Dataset {
            users: 1001,
            course_size: 40,
            cross: false,
            big_course: 1001,
            group_members: 0,
            extra: Extra::None,
        });
        assert_eq!(lay.courses, vec![2]);
        assert!(lay.enrolments.iter().all(|e| e == &vec![2]));
    }

    #[test]
    fn database_url_replaces_the_path() {
        let url = DbKind::Mariadb
            .database_url("mysql://root@127.0.0.1:3306/mysql", "dockchat_bench")
            .unwrap();
        assert_eq!(url, "mysql://root@127.0.0.1:3306/dockchat_bench");
    }
}

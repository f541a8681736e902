//! `dockchatd check` (CONTRACTS §2, §7) against real MariaDB and PostgreSQL: a healthy Moodle database
//! passes; a wrong password or user, an unknown database, a wrong table prefix, missing block tables or
//! columns, missing write privileges and a missing secret each FAIL with the right diagnosis — both
//! through the library (`dockchat::ops::check::run`) and through the real binary with a temporary config.
//! `dockchatd grants` prints statements that, run as printed by the least-privileged roles of
//! docs/DEPLOY.md, give a database user all that `dockchatd check` and the daemon need, and no more.

mod common;

use common::*;
use dockchat::ops::check::{self, CheckOptions};
use std::process::Command;

fn opts(url: &str, prefix: &str) -> CheckOptions {
    CheckOptions {
        database_url: url.to_string(),
        table_prefix: prefix.to_string(),
        site_url: SITE_URL.to_string(),
        token_secret: None,
        check_sessions: true,
        redis_url: String::new(),
    }
}

/// Runs `dockchatd check --config <tmp>` with `database_url` and `table_prefix`; returns (success, output).
fn run_binary(database_url: &str, prefix: &str, name: &str) -> (bool, String) {
    let (ok, stdout, stderr) = run_command(&["check"], database_url, prefix, name);
    (ok, format!("{stdout}{stderr}"))
}

/// Runs `dockchatd <args> --config <tmp>` with `database_url` and `table_prefix`; returns
/// (success, stdout, stderr).
fn run_command(
    args: &[&str],
    database_url: &str,
    prefix: &str,
    name: &str,
) -> (bool, String, String) {
    // Unique per call: the _mariadb and _postgres runs of a test share its name and run at once.
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "dockchat-check-{}-{name}-{run}-{}",
        std::process::id(),
        now()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("dockchatd.toml");
    std::fs::write(
        &path,
        format!(
            "site_url = \"{SITE_URL}\"\ndatabase_url = \"{database_url}\"\ntable_prefix = \"{prefix}\"\n"
        ),
    )
    .expect("write config");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dockchatd"));
    cmd.args(args).arg("--config").arg(&path);
    for var in [
        "DOCKCHAT_DATABASE_URL",
        "DOCKCHAT_TABLE_PREFIX",
        "DOCKCHAT_SITE_URL",
        "DOCKCHAT_TOKEN_SECRET",
        "DOCKCHAT_CHECK_SESSIONS",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().expect("run dockchatd");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn run_both(url: &str, prefix: &str, name: &str) -> (bool, String, bool, String) {
    let report = check::run(&opts(url, prefix)).await;
    let (url2, prefix2, name2) = (url.to_string(), prefix.to_string(), name.to_string());
    let (bin_ok, bin_text) =
        tokio::task::spawn_blocking(move || run_binary(&url2, &prefix2, &name2))
            .await
            .expect("binary task");
    (report.ok(), report.to_string(), bin_ok, bin_text)
}

async fn healthy_database_passes(backend: Backend) {
    let db = TestDb::standard(backend).await;
    let (ok, text, bin_ok, bin_text) = run_both(&db.url, PREFIX, "healthy").await;
    assert!(ok, "{text}");
    assert!(
        text.contains("ok    table mdl_block_dockchat_sent"),
        "{text}"
    );
    assert!(text.contains("ok    table mdl_messages"), "{text}");
    assert!(text.contains("ok    secret"), "{text}");
    assert!(text.contains("ok    privileges"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    assert!(
        bin_ok,
        "dockchatd check failed on a healthy database:\n{bin_text}"
    );
    if backend == Backend::MariaDb {
        // The mariadb:// spelling is accepted too.
        let url = db.url.replacen("mysql://", "mariadb://", 1);
        let report = check::run(&opts(&url, PREFIX)).await;
        assert!(report.ok(), "{report}");
    }
    db.destroy().await;
}
db_test!(healthy_database_passes);

async fn non_default_prefix_passes(backend: Backend) {
    let db = TestDb::with_schema(backend, "moo_", true).await;
    for s in fixture("moo_", now()) {
        db.exec(&s).await;
    }
    let (ok, text, bin_ok, bin_text) = run_both(&db.url, "moo_", "prefix").await;
    assert!(ok, "{text}");
    assert!(bin_ok, "{bin_text}");
    db.destroy().await;
}
db_test!(non_default_prefix_passes);

async fn wrong_credentials_are_diagnosed(backend: Backend) {
    let (url, expect) = match backend {
        Backend::MariaDb => (
            "mysql://root:wrong-password@127.0.0.1:3306/mysql".to_string(),
            "wrong password",
        ),
        // PostgreSQL here trusts 127.0.0.1, so an unknown role is the credential error.
        Backend::Postgres => (
            "postgres://nosuchuser:pw@127.0.0.1:5432/postgres".to_string(),
            "refused database user \"nosuchuser\"",
        ),
    };
    let (ok, text, bin_ok, bin_text) = run_both(&url, PREFIX, "password").await;
    assert!(!ok, "{text}");
    assert!(
        text.contains("FAIL  database") && text.contains(expect),
        "{text}"
    );
    assert!(!text.contains("wrong-password"), "password leaked: {text}");
    assert!(!bin_ok, "{bin_text}");
    assert!(bin_text.contains(expect), "{bin_text}");
}
db_test!(wrong_credentials_are_diagnosed);

async fn unknown_database_and_host_are_diagnosed(backend: Backend) {
    let url = backend.url("dct_does_not_exist");
    let (ok, text, bin_ok, bin_text) = run_both(&url, PREFIX, "nodb").await;
    assert!(!ok && !bin_ok);
    assert!(
        text.contains("unknown database \"dct_does_not_exist\""),
        "{text}"
    );
    assert!(bin_text.contains("unknown database"), "{bin_text}");

    let scheme = backend.server_url().split("://").next().unwrap_or_default();
    let url = format!("{scheme}://root@db.invalid:3306/moodle");
    let report = check::run(&opts(&url, PREFIX)).await;
    assert!(!report.ok());
    let text = report.to_string();
    assert!(text.contains("FAIL  database"), "{text}");
    assert!(text.contains("db.invalid"), "{text}");

    let (ok, text, bin_ok, _) = run_both("redis://127.0.0.1/0", PREFIX, "scheme").await;
    assert!(!ok && !bin_ok);
    assert!(text.contains("unsupported scheme"), "{text}");
}
db_test!(unknown_database_and_host_are_diagnosed);

async fn wrong_prefix_lists_moodle_prefixes(backend: Backend) {
    let db = TestDb::standard(backend).await;
    let (ok, text, bin_ok, bin_text) = run_both(&db.url, "m2_", "wrongprefix").await;
    assert!(!ok, "{text}");
    assert!(text.contains("no table m2_user"), "{text}");
    assert!(text.contains("\"mdl_\""), "should suggest mdl_: {text}");
    assert!(!bin_ok, "{bin_text}");
    assert!(bin_text.contains("m2_user"), "{bin_text}");
    db.destroy().await;
}
db_test!(wrong_prefix_lists_moodle_prefixes);

async fn missing_block_tables_or_columns_fail(backend: Backend) {
    let db = TestDb::with_schema(backend, PREFIX, false).await;
    for s in fixture(PREFIX, now()) {
        db.exec(&s).await;
    }
    let (ok, text, bin_ok, bin_text) = run_both(&db.url, PREFIX, "noblock").await;
    assert!(!ok, "{text}");
    assert!(
        text.contains("block_dockchat is not installed or not upgraded"),
        "{text}"
    );
    assert!(!bin_ok);
    assert!(
        bin_text.contains("block_dockchat is not installed or not upgraded"),
        "{bin_text}"
    );
    db.destroy().await;

    // An old block version: one column missing.
    let db = TestDb::standard(backend).await;
    db.execp("ALTER TABLE {p}block_dockchat_sent DROP COLUMN timedue")
        .await;
    let report = check::run(&opts(&db.url, PREFIX)).await;
    assert!(!report.ok());
    let text = report.to_string();
    assert!(
        text.contains("FAIL  table mdl_block_dockchat_sent: missing column(s) timedue"),
        "{text}"
    );
    db.destroy().await;
}
db_test!(missing_block_tables_or_columns_fail);

async fn missing_or_empty_secret_fails_unless_configured(backend: Backend) {
    let db = TestDb::standard(backend).await;
    db.execp("DELETE FROM {p}config_plugins WHERE plugin = 'block_dockchat' AND name = 'secret'")
        .await;
    let (ok, text, bin_ok, bin_text) = run_both(&db.url, PREFIX, "nosecret").await;
    assert!(!ok, "{text}");
    assert!(
        text.contains("FAIL  secret: secret missing in mdl_config_plugins"),
        "{text}"
    );
    assert!(!bin_ok);
    assert!(bin_text.contains("secret"), "{bin_text}");

    let mut o = opts(&db.url, PREFIX);
    o.token_secret = Some("a-secret-from-the-daemon-config".into());
    let report = check::run(&o).await;
    assert!(report.ok(), "{report}");

    db.execp("INSERT INTO {p}config_plugins (plugin, name, value) VALUES ('block_dockchat', 'secret', '')")
        .await;
    let report = check::run(&opts(&db.url, PREFIX)).await;
    assert!(!report.ok());
    assert!(report.to_string().contains("is empty"), "{report}");
    db.destroy().await;
}
db_test!(missing_or_empty_secret_fails_unless_configured);

async fn messaging_disabled_is_a_warning(backend: Backend) {
    let db = TestDb::standard(backend).await;
    db.execp("UPDATE {p}config SET value = '0' WHERE name = 'messaging'")
        .await;
    let report = check::run(&opts(&db.url, PREFIX)).await;
    assert!(report.ok(), "{report}");
    assert!(report.to_string().contains("warn  messaging"), "{report}");
    db.destroy().await;
}
db_test!(messaging_disabled_is_a_warning);

/// A database user with SELECT on everything but no write access to the block tables yet.
async fn restricted_user(db: &TestDb) -> (String, String) {
    let user = format!("dct_ro_{}", std::process::id());
    match db.backend {
        Backend::MariaDb => {
            for host in ["localhost", "127.0.0.1", "%"] {
                db.exec(&format!(
                    "CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY 'ro-pass'"
                ))
                .await;
                db.exec(&format!(
                    "GRANT SELECT ON `{}`.* TO '{user}'@'{host}'",
                    db.name
                ))
                .await;
            }
            let url = format!("mysql://{user}:ro-pass@127.0.0.1:3306/{}", db.name);
            (user, url)
        }
        Backend::Postgres => {
            db.exec(&format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{user}') THEN CREATE ROLE {user} LOGIN; END IF; END $$"
            ))
            .await;
            db.exec(&format!(
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}"
            ))
            .await;
            let url = format!("postgres://{user}@127.0.0.1:5432/{}", db.name);
            (user, url)
        }
    }
}

async fn missing_write_privileges_on_block_tables_fail(backend: Backend) {
    let db = TestDb::standard(backend).await;
    let (user, url) = restricted_user(&db).await;
    let (ok, text, bin_ok, bin_text) = run_both(&url, PREFIX, "readonly").await;
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!(
            "FAIL  privileges: database user \"{user}\" may not INSERT mdl_messages"
        )),
        "{text}"
    );
    assert!(
        text.contains("`dockchatd grants --part privileges`"),
        "{text}"
    );
    assert!(!bin_ok);
    assert!(bin_text.contains("may not INSERT"), "{bin_text}");
    // Grant what the daemon needs: check passes, and the probe left no rows behind.
    let block = [
        "block_dockchat_sent",
        "block_dockchat_job",
        "block_dockchat_worker",
        "block_dockchat_window",
    ];
    let writes: Vec<(&str, &str)> = check::MOODLE_WRITES
        .iter()
        .copied()
        .chain(block.iter().map(|t| (*t, "SELECT, INSERT, UPDATE, DELETE")))
        .collect();
    for (t, privileges) in &writes {
        match backend {
            Backend::MariaDb => {
                for host in ["localhost", "127.0.0.1", "%"] {
                    db.exec(&format!(
                        "GRANT {privileges} ON `{}`.`mdl_{t}` TO '{user}'@'{host}'",
                        db.name
                    ))
                    .await;
                }
            }
            Backend::Postgres => {
                db.exec(&format!("GRANT {privileges} ON mdl_{t} TO {user}"))
                    .await;
                db.exec(&format!("GRANT USAGE ON SEQUENCE mdl_{t}_id_seq TO {user}"))
                    .await;
            }
        }
    }
    let tables: Vec<&str> = writes.iter().map(|(t, _)| *t).collect();
    let report = check::run(&opts(&url, PREFIX)).await;
    assert!(report.ok(), "{report}");
    assert!(report.to_string().contains("ok    privileges"), "{report}");
    for t in tables {
        assert_eq!(db.count(t).await, 0, "check left a row in {t}");
    }
    db.destroy().await;
    let cleanup = match backend {
        Backend::MariaDb => {
            format!("DROP USER IF EXISTS '{user}'@'localhost', '{user}'@'127.0.0.1', '{user}'@'%'")
        }
        Backend::Postgres => format!("DROP ROLE IF EXISTS {user}"),
    };
    let admin = TestDb::empty(backend).await;
    admin.exec(&cleanup).await;
    admin.destroy().await;
}
db_test!(missing_write_privileges_on_block_tables_fail);

/// Feeds `sql` to the database's own command-line client (`mysql` or `psql`, as an administrator
/// would) as `user`/`password`, connected to `database` (PostgreSQL; MariaDB's statements name
/// it); returns (success, output).
async fn client_runs(
    backend: Backend,
    user: &str,
    password: &str,
    database: &str,
    sql: &str,
) -> (bool, String) {
    let (program, args, env): (&str, Vec<String>, Vec<(&str, String)>) = match backend {
        Backend::MariaDb => (
            "mysql",
            vec![
                "-h".into(),
                "127.0.0.1".into(),
                "-P".into(),
                "3306".into(),
                "-u".into(),
                user.into(),
            ],
            vec![("MYSQL_PWD", password.to_string())],
        ),
        Backend::Postgres => (
            "psql",
            vec![
                "-X".into(),
                "-q".into(),
                "-v".into(),
                "ON_ERROR_STOP=1".into(),
                "-h".into(),
                "127.0.0.1".into(),
                "-p".into(),
                "5432".into(),
                "-U".into(),
                user.into(),
                "-d".into(),
                database.into(),
            ],
            vec![("PGPASSWORD", password.to_string())],
        ),
    };
    let sql = sql.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new(program)
            .args(&args)
            .envs(env)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(sql.as_bytes())
                .expect("write SQL to the client");
        }
        let out = child.wait_with_output().expect("client output");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    })
    .await
    .expect("client task")
}

/// Whether `sql`, run as the limited user, is refused for lack of privileges.
async fn refused(backend: Backend, url: &str, sql: &str) -> bool {
    use sqlx::Connection;
    let err = match backend {
        Backend::MariaDb => {
            let mut c = sqlx::MySqlConnection::connect(url).await.expect("connect");
            sqlx::raw_sql(sql).execute(&mut c).await.err()
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::raw_sql(sql).execute(&mut c).await.err()
        }
    };
    let Some(err) = err else { return false };
    let Some(db) = err.as_database_error() else {
        return false;
    };
    match backend {
        // 1142: command denied for the table; 1143: for the column.
        Backend::MariaDb => db
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|e| matches!(e.number(), 1142 | 1143)),
        Backend::Postgres => db.code().is_some_and(|c| c == "42501"),
    }
}

/// The grants that `dockchatd grants` prints, run exactly as printed by the least-privileged roles
/// docs/DEPLOY.md names, for a database not called `moodle` and the prefix `dc2_`: the account part
/// by an account that may only create accounts (MariaDB `CREATE USER`, PostgreSQL `CREATEROLE`), the
/// GRANTs by an account holding the privileges WITH GRANT OPTION (MariaDB) or by the owner of the
/// database and its tables (PostgreSQL). Then `dockchatd check` passes as the new user, the daemon
/// serves a conversation with it, and a write to a core table or a read of a column dockchatd does
/// not use is refused.
async fn printed_grants_are_all_the_daemon_needs(backend: Backend) {
    let prefix = "dc2_";
    let mut db = TestDb::with_schema(backend, prefix, true).await;
    for s in fixture(prefix, now()) {
        db.exec(&s).await;
    }
    let tag = format!("{}_{}", std::process::id(), now() % 100_000);
    let (creator, granter, user) = (
        format!("dct_cr_{tag}"),
        format!("dct_gr_{tag}"),
        format!("dct_dc_{tag}"),
    );
    // The password is "it's a \ long p@ss": quotes, a backslash and an @ to escape and decode.
    let encoded = "it%27s%20a%20%5C%20long%20p%40ss";
    let admin_password = "admin-pass";
    match backend {
        Backend::MariaDb => {
            for (who, grant) in [
                (&creator, "GRANT CREATE USER ON *.*".to_string()),
                (
                    &granter,
                    format!("GRANT SELECT, INSERT, UPDATE, DELETE ON `{}`.*", db.name),
                ),
            ] {
                db.exec(&format!(
                    "CREATE USER '{who}'@'127.0.0.1' IDENTIFIED BY '{admin_password}'"
                ))
                .await;
                let option = if *who == granter {
                    " WITH GRANT OPTION"
                } else {
                    ""
                };
                db.exec(&format!("{grant} TO '{who}'@'127.0.0.1'{option}"))
                    .await;
            }
        }
        Backend::Postgres => {
            db.exec(&format!(
                "CREATE ROLE {creator} LOGIN CREATEROLE PASSWORD '{admin_password}'"
            ))
            .await;
            // Moodle's database user: owns the database and every table (and so their sequences).
            db.exec(&format!(
                "CREATE ROLE {granter} LOGIN PASSWORD '{admin_password}'"
            ))
            .await;
            db.exec(&format!(
                "ALTER DATABASE \"{}\" OWNER TO {granter}",
                db.name
            ))
            .await;
            db.exec(&format!(
                "DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP EXECUTE format('ALTER TABLE %I OWNER TO {granter}', t); END LOOP; END $$"
            ))
            .await;
        }
    }
    let host = backend
        .server_url()
        .split_once("@")
        .map(|(_, h)| h)
        .unwrap_or_default();
    let scheme = backend.server_url().split("://").next().unwrap_or_default();
    let url = format!("{scheme}://{user}:{encoded}@{host}/{}", db.name);

    // Before the grants, the user does not exist: check fails.
    let (ok, text) = run_binary(&url, prefix, "grants-before");
    assert!(!ok, "{text}");

    let (ok, account, err) = run_command(
        &["grants", "--part", "account"],
        &url,
        prefix,
        "grants-account",
    );
    assert!(ok, "dockchatd grants --part account failed: {err}");
    let (ok, privileges, err) = run_command(
        &["grants", "--part", "privileges"],
        &url,
        prefix,
        "grants-privileges",
    );
    assert!(ok, "dockchatd grants --part privileges failed: {err}");
    let (ok, all, _) = run_command(&["grants"], &url, prefix, "grants-all");
    assert!(ok);
    let (_, privileges_body) = privileges.split_once('\n').expect("a header line");
    assert_eq!(
        all,
        format!("{account}{privileges_body}"),
        "the full output is the account part, then the GRANTs"
    );
    assert!(!privileges.contains("moodle"), "{privileges}");
    assert!(
        privileges.contains(&format!("{prefix}block_dockchat_sent")),
        "{privileges}"
    );
    assert!(!privileges.contains("mdl_"), "{privileges}");

    let (ok, out) = client_runs(backend, &creator, admin_password, &db.name, &account).await;
    assert!(
        ok,
        "the account part, run by {creator}, failed:\n{account}\n{out}"
    );
    let (ok, out) = client_runs(backend, &granter, admin_password, &db.name, &privileges).await;
    assert!(
        ok,
        "the GRANTs, run by {granter}, failed:\n{privileges}\n{out}"
    );

    // check passes as the new user, through the library and the binary.
    let (ok, text, bin_ok, bin_text) = run_both(&url, prefix, "grants-after").await;
    assert!(ok, "{text}");
    assert!(text.contains("ok    privileges"), "{text}");
    assert!(bin_ok, "{bin_text}");

    // Moodle's tables stay read-only, and unused columns unreadable.
    for sql in [
        format!("UPDATE {prefix}user SET firstname = 'x' WHERE id = 4"),
        format!("INSERT INTO {prefix}config (name, value) VALUES ('dockchat', 'x')"),
        format!("DELETE FROM {prefix}sessions"),
        format!("SELECT password FROM {prefix}user"),
        format!("SELECT email FROM {prefix}user"),
    ] {
        assert!(refused(backend, &url, &sql).await, "not refused: {sql}");
    }

    // The daemon works with exactly these grants: send, read receipt, window state.
    db.url = url.clone();
    let ctx = Ctx::start_on(db, |_| {}).await;
    let mut alice = ctx.client(common::users::ALICE).await;
    let mut alice2 = ctx.client(common::users::ALICE).await;
    let mut bob = ctx.client(common::users::BOB).await;
    let ack = alice
        .send_message(common::users::BOB, "g-1", "with least privilege")
        .await;
    let id = ack["id"].as_i64().expect("ack id");
    bob.expect("message").await;
    bob.send(serde_json::json!({"type": "read", "with": common::users::ALICE, "upto": id}))
        .await;
    alice.expect("read").await;
    for state in ["open", "minimised", "closed"] {
        alice
            .send(serde_json::json!({"type": "window", "with": common::users::BOB, "state": state}))
            .await;
        assert_eq!(alice2.expect("window").await["state"], state);
    }
    assert_eq!(ctx.db.count("messages").await, 1);
    alice.close().await;
    alice2.close().await;
    bob.close().await;
    ctx.finish().await;

    let admin = TestDb::empty(backend).await;
    let cleanup = match backend {
        Backend::MariaDb => format!(
            "DROP USER IF EXISTS '{creator}'@'127.0.0.1', '{granter}'@'127.0.0.1', '{user}'@'127.0.0.1'"
        ),
        Backend::Postgres => format!("DROP ROLE IF EXISTS {user}, {granter}, {creator}"),
    };
    admin.exec(&cleanup).await;
    admin.destroy().await;
}
db_test!(printed_grants_are_all_the_daemon_needs);

async fn queue_worker_and_backlog_are_reported(backend: Backend) {
    let db = TestDb::standard(backend).await;
    // A fresh install: no worker has run, nothing is queued.
    let text = check::run(&opts(&db.url, PREFIX)).await.to_string();
    assert!(
        text.contains("warn  worker: no queue worker has run yet"),
        "{text}"
    );
    assert!(text.contains("ok    queue: 0 message(s)"), "{text}");
    // A worker beating now; one message waiting for it since long, one whose dispatch a dead
    // worker left uncertain, one failed.
    let t = now();
    db.execp(&format!(
        "INSERT INTO {{p}}block_dockchat_worker (hostname, pid, timestarted, timeseen, processed) VALUES ('h', 1, {t}, {t}, 0)"
    ))
    .await;
    for (message, state, created) in [
        (1, 0, t - 600),
        (2, 5, t - 60),
        (3, 6, t - 60),
        (4, 4, t - 60),
    ] {
        db.execp(&format!(
            "INSERT INTO {{p}}block_dockchat_sent (messageid, conversationid, useridfrom, clientmsgid, timecreated, state, timedue, attempts) \
             VALUES ({message}, 1, {}, 'q{message}', {created}, {state}, {created}, 0)",
            common::users::ALICE
        ))
        .await;
    }
    let report = check::run(&opts(&db.url, PREFIX)).await;
    assert!(report.ok(), "warnings only: {report}");
    let text = report.to_string();
    assert!(text.contains("ok    worker: a queue worker beat"), "{text}");
    assert!(
        text.contains("warn  queue: 1 message(s) waited over 120s for Moodle's cache")
            && text.contains("1 notification(s) may have been lost")
            && text.contains("1 item(s) failed"),
        "{text}"
    );
    // The heartbeat stops.
    db.execp(&format!(
        "UPDATE {{p}}block_dockchat_worker SET timeseen = {}",
        t - 300
    ))
    .await;
    let text = check::run(&opts(&db.url, PREFIX)).await.to_string();
    assert!(
        text.contains("warn  worker: the last worker heartbeat is") && text.contains("s old"),
        "{text}"
    );
    db.destroy().await;
}
db_test!(queue_worker_and_backlog_are_reported);

async fn the_block_tables_of_before_the_move_fail_the_check(backend: Backend) {
    let db = TestDb::standard(backend).await;
    db.execp("CREATE TABLE {p}block_dockchat_msg (id BIGINT NOT NULL, PRIMARY KEY (id))")
        .await;
    let report = check::run(&opts(&db.url, PREFIX)).await;
    assert!(!report.ok(), "{report}");
    assert!(
        report.to_string().contains(
            "FAIL  block upgrade: the block's earlier tables (mdl_block_dockchat_msg) still exist"
        ),
        "{report}"
    );
    db.destroy().await;
}
db_test!(the_block_tables_of_before_the_move_fail_the_check);

async fn conversations_sharing_a_hash_are_reported(backend: Backend) {
    let db = TestDb::standard(backend).await;
    // One pair's conversation, and two group conversations (whose hash is NULL): nothing shared.
    db.moodle_conversation(users::ALICE, users::BOB).await;
    db.group_conversation(11, "g1", 1, &[users::ALICE, users::BOB])
        .await;
    db.group_conversation(12, "g2", 1, &[users::ALICE, users::BOB])
        .await;
    let text = check::run(&opts(&db.url, PREFIX)).await.to_string();
    assert!(
        text.contains("ok    conversations: no pair of users has two individual conversations, and no user two self"),
        "{text}"
    );
    // What writers that all missed the hash leave: a second and a third conversation of the pair
    // (one pair, however many copies), and a user's second self conversation.
    let t = now();
    let pair = dockchat::store::messaging::conversation_hash(users::ALICE, users::BOB);
    // A self conversation's hash is sha1 of the user's id alone (`helper::get_conversation_hash`).
    let own = {
        use sha1::Digest;
        format!("{:x}", sha1::Sha1::digest(users::CAROL.to_string()))
    };
    for (kind, hash) in [(1, &pair), (1, &pair), (3, &own), (3, &own)] {
        db.execp(&format!(
            "INSERT INTO {{p}}message_conversations (type, convhash, enabled, timecreated, timemodified) \
             VALUES ({kind}, '{hash}', 1, {t}, {t})"
        ))
        .await;
    }
    let report = check::run(&opts(&db.url, PREFIX)).await;
    assert!(report.ok(), "a warning, not a failure: {report}");
    let text = report.to_string();
    assert!(
        text.contains(
            "warn  conversations: 1 pair(s) of users have more than one individual conversation"
        ) && text.contains("; 1 user(s) have more than one self conversation:"),
        "{text}"
    );
    assert!(text.contains("HAVING COUNT(*) > 1"), "{text}");
    db.destroy().await;
}
db_test!(conversations_sharing_a_hash_are_reported);

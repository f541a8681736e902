//! The Moodle-shaped subset of Moodle's core schema that dockchatd reads.
//!
//! Moodle owns these tables; the daemon reads them, and writes only the messaging ones (as Moodle's own
//! send path fills them). The demo (SQLite) and the integration tests
//! (MariaDB and PostgreSQL) need the same tables, so they are embedded here exactly as a Moodle 5.1
//! install creates them (copied from the real dumps: columns, types, defaults, indexes): `user`,
//! `sessions`, `config`, `config_plugins`, `user_preferences`, `course`, `enrol`, `user_enrolments`,
//! `context`, `role`, `role_assignments`, `role_names` (course-level role renames), `groups` (a course
//! group's name and picture), `message_contacts`, `message_users_blocked`, and the messaging
//! tables dockchatd writes (`messages`, `message_conversations`, `message_conversation_members`,
//! `message_conversation_actions`, `message_user_actions`), and `favourite` (Moodle's stars), all with
//! the default prefix `mdl_`. The SQLite file is a faithful translation (same columns, defaults, index names).
//!
//! [`statements`] splits the embedded SQL into single statements (each can be executed on its own, which
//! is what sqlx needs); [`with_prefix`] rewrites the `mdl_` prefix to test a site with another prefix.

use crate::store::xmldb::Dialect;

/// MariaDB/MySQL DDL, from the mariadb-dump of Moodle 5.1.
pub const MARIADB_SQL: &str = include_str!("mariadb.sql");
/// PostgreSQL DDL, from the pg_dump of Moodle 5.1.
pub const POSTGRES_SQL: &str = include_str!("postgres.sql");
/// SQLite DDL, translated from the MariaDB dump.
pub const SQLITE_SQL: &str = include_str!("sqlite.sql");

/// The prefix used by the embedded SQL.
pub const DEFAULT_PREFIX: &str = "mdl_";

/// Names of the tables (without prefix) the embedded schema creates.
pub const TABLES: &[&str] = &[
    "user",
    "sessions",
    "config",
    "config_plugins",
    "user_preferences",
    "course",
    "enrol",
    "user_enrolments",
    "context",
    "role",
    "role_assignments",
    "message_contacts",
    "message_users_blocked",
    "messages",
    "message_conversations",
    "message_conversation_members",
    "message_conversation_actions",
    "message_user_actions",
    "favourite",
    "groups",
    "role_names",
];

/// The embedded SQL script for `dialect`.
pub fn sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::MySql => MARIADB_SQL,
        Dialect::Postgres => POSTGRES_SQL,
        Dialect::Sqlite => SQLITE_SQL,
    }
}

/// The schema for `dialect` as single statements, in order, without the trailing `;`.
pub fn statements(dialect: Dialect) -> Vec<&'static str> {
    split_statements(sql(dialect), dialect == Dialect::MySql)
}

/// Like [`statements`], with the `mdl_` prefix of every table, index and sequence replaced by `prefix`.
pub fn with_prefix(dialect: Dialect, prefix: &str) -> Vec<String> {
    statements(dialect)
        .into_iter()
        .map(|s| replace_prefix(s, prefix))
        .collect()
}

/// Replaces `mdl_` where it starts an identifier (not inside a longer word) with `prefix`.
fn replace_prefix(stmt: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(stmt.len() + 64);
    let mut rest = stmt;
    let mut prev: Option<char> = None;
    while let Some(pos) = rest.find(DEFAULT_PREFIX) {
        let before = rest[..pos].chars().next_back().or(prev);
        out.push_str(&rest[..pos]);
        let starts_word = !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(if starts_word { prefix } else { DEFAULT_PREFIX });
        prev = Some('_');
        rest = &rest[pos + DEFAULT_PREFIX.len()..];
    }
    out.push_str(rest);
    out
}

/// Splits an SQL script on `;` outside string literals, quoted identifiers and `--` comments.
///
/// Leading comments and whitespace are not part of a statement; empty statements are dropped.
/// `backslash_escapes` is MySQL's default string syntax (`\'` inside a literal).
pub fn split_statements(script: &str, backslash_escapes: bool) -> Vec<&str> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Normal,
        Quoted(u8),
        LineComment,
    }
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut state = State::Normal;
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match state {
            State::LineComment => {
                if b == b'\n' {
                    state = State::Normal;
                }
            }
            State::Quoted(q) => {
                if backslash_escapes && q == b'\'' && b == b'\\' {
                    i += 1;
                } else if b == q {
                    if bytes.get(i + 1) == Some(&q) {
                        i += 1;
                    } else {
                        state = State::Normal;
                    }
                }
            }
            State::Normal => {
                if b == b'-' && bytes.get(i + 1) == Some(&b'-') {
                    state = State::LineComment;
                    i += 1;
                } else if b == b';' {
                    if let Some(s) = start.take() {
                        let stmt = script[s..i].trim_end();
                        if !stmt.is_empty() {
                            out.push(stmt);
                        }
                    }
                } else if !b.is_ascii_whitespace() {
                    if start.is_none() {
                        start = Some(i);
                    }
                    if b == b'\'' || b == b'"' || b == b'`' {
                        state = State::Quoted(b);
                    }
                }
            }
        }
        i += 1;
    }
    if let Some(s) = start {
        let stmt = script[s..].trim_end();
        if !stmt.is_empty() {
            out.push(stmt);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created_tables(dialect: Dialect) -> Vec<String> {
        statements(dialect)
            .iter()
            .filter_map(|s| s.strip_prefix("CREATE TABLE "))
            .map(|s| {
                s.split(|c: char| c.is_whitespace() || c == '(')
                    .next()
                    .unwrap_or("")
                    .trim_matches('`')
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn every_dialect_creates_the_same_tables() {
        let mut expected: Vec<String> = TABLES.iter().map(|t| format!("mdl_{t}")).collect();
        expected.sort();
        for d in [Dialect::MySql, Dialect::Postgres, Dialect::Sqlite] {
            let mut got = created_tables(d);
            got.sort();
            assert_eq!(got, expected, "{d:?}");
        }
    }

    #[test]
    fn statements_have_no_terminator_or_leading_comment() {
        for d in [Dialect::MySql, Dialect::Postgres, Dialect::Sqlite] {
            for s in statements(d) {
                assert!(!s.ends_with(';'), "{s}");
                assert!(!s.starts_with("--"), "{s}");
                assert!(
                    s.starts_with("CREATE") || s.starts_with("ALTER") || s.starts_with("COMMENT"),
                    "{s}"
                );
            }
        }
    }

    #[test]
    fn same_indexes_in_every_dialect() {
        // Every MariaDB index name appears in the PostgreSQL and SQLite scripts.
        for s in statements(Dialect::MySql) {
            for line in s.lines() {
                let line = line.trim();
                let Some(rest) = line
                    .strip_prefix("UNIQUE KEY `")
                    .or_else(|| line.strip_prefix("KEY `"))
                else {
                    continue;
                };
                let name = rest.split('`').next().unwrap_or_default();
                assert!(POSTGRES_SQL.contains(&format!("INDEX {name} ")), "{name}");
                assert!(SQLITE_SQL.contains(&format!("INDEX {name} ")), "{name}");
            }
        }
    }

    #[test]
    fn splitter_respects_quotes_and_comments() {
        let s = "-- a; comment\nCREATE TABLE a (x TEXT DEFAULT 'a;b');\n\n-- c\nCOMMENT ON TABLE a IS 'it''s; ok';";
        assert_eq!(
            split_statements(s, false),
            vec![
                "CREATE TABLE a (x TEXT DEFAULT 'a;b')",
                "COMMENT ON TABLE a IS 'it''s; ok'"
            ]
        );
        let m = "CREATE TABLE `b` (x TEXT) COMMENT='don\\'t; split';\nSELECT 1";
        assert_eq!(
            split_statements(m, true),
            vec![
                "CREATE TABLE `b` (x TEXT) COMMENT='don\\'t; split'",
                "SELECT 1"
            ]
        );
    }

    #[test]
    fn prefix_rewrite_only_touches_identifiers() {
        let stmts = with_prefix(Dialect::Postgres, "moo_");
        assert!(stmts.iter().all(|s| !s.contains("mdl_")));
        assert!(stmts
            .iter()
            .any(|s| s.starts_with("CREATE TABLE moo_user ")));
        assert!(stmts
            .iter()
            .any(|s| s.contains("moo_user_enrolments_id_seq")));
        assert_eq!(replace_prefix("xmdl_a mdl_b", "p_"), "xmdl_a p_b");
        let my = with_prefix(Dialect::MySql, "x_");
        assert!(my.iter().any(|s| s.starts_with("CREATE TABLE `x_user` (")));
        assert!(my.iter().any(|s| s.contains("`x_user_mneuse_uix`")));
    }
}

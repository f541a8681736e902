//! Moodle XMLDB: reads the block's `db/install.xml` and turns it into DDL for each supported database.
//!
//! `moodle-block/db/install.xml` is the single source of truth for the chat tables. Moodle creates them
//! from it when the block is installed; the demo backend and the integration tests create them with
//! [`Schema::create_statements`], using Moodle's own type mapping and index naming so the result matches
//! what Moodle would have created; `dockchatd check` compares a live database with [`Schema::tables`].

use std::collections::HashSet;
use std::fmt;

/// The database families dockchatd speaks (also the daemon's backend kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// MariaDB or MySQL.
    MySql,
    /// PostgreSQL.
    Postgres,
    /// SQLite (the embedded demo database).
    Sqlite,
}

impl Dialect {
    /// The dialect of a database URL by its scheme (`mysql://`, `mariadb://`, `postgres://`,
    /// `postgresql://`, `sqlite:`), or `None` for any other scheme.
    pub fn from_url(url: &str) -> Option<Dialect> {
        let scheme = url.split(':').next()?.to_ascii_lowercase();
        match scheme.as_str() {
            "mysql" | "mariadb" => Some(Dialect::MySql),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "sqlite" => Some(Dialect::Sqlite),
            _ => None,
        }
    }

    /// A human name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::MySql => "MariaDB/MySQL",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Sqlite => "SQLite",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an XMLDB document was refused.
#[derive(Debug, thiserror::Error)]
pub enum XmldbError {
    /// The text is not well-formed XML.
    #[error("install.xml is not well-formed XML: {0}")]
    Xml(#[from] roxmltree::Error),
    /// Well-formed XML that is not valid XMLDB.
    #[error("invalid XMLDB at {at}: {message}")]
    Invalid {
        /// Where: `TABLE foo`, `TABLE foo / FIELD bar`, ...
        at: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(at: impl Into<String>, message: impl Into<String>) -> XmldbError {
    XmldbError::Invalid {
        at: at.into(),
        message: message.into(),
    }
}

/// XMLDB field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `int`: an integer of LENGTH decimal digits.
    Int,
    /// `number`: a fixed-point decimal (LENGTH, DECIMALS).
    Number,
    /// `float`: a floating-point number.
    Float,
    /// `char`: a string of at most LENGTH characters.
    Char,
    /// `text`: a long string.
    Text,
    /// `binary`: a blob.
    Binary,
}

impl FieldType {
    fn parse(s: &str) -> Option<FieldType> {
        Some(match s {
            "int" => FieldType::Int,
            "number" => FieldType::Number,
            "float" => FieldType::Float,
            "char" => FieldType::Char,
            "text" => FieldType::Text,
            "binary" => FieldType::Binary,
            _ => return None,
        })
    }
}

/// One `<FIELD>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// XMLDB type.
    pub kind: FieldType,
    /// LENGTH (digits or characters), when given.
    pub length: Option<u32>,
    /// DECIMALS, when given.
    pub decimals: Option<u32>,
    /// NOTNULL="true".
    pub not_null: bool,
    /// SEQUENCE="true": the auto-increment id.
    pub sequence: bool,
    /// DEFAULT, when given.
    pub default: Option<String>,
    /// COMMENT.
    pub comment: Option<String>,
}

/// XMLDB key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// The primary key.
    Primary,
    /// A unique key (Moodle creates a unique index).
    Unique,
    /// A foreign key (not enforced by Moodle; it creates an index).
    Foreign,
    /// A unique foreign key (Moodle creates a unique index).
    ForeignUnique,
}

/// One `<KEY>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Key name (as written in install.xml).
    pub name: String,
    /// Key type.
    pub kind: KeyType,
    /// Fields, in order.
    pub fields: Vec<String>,
    /// REFTABLE for foreign keys.
    pub reftable: Option<String>,
}

/// One `<INDEX>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Index name (as written in install.xml; the database name is generated like Moodle does).
    pub name: String,
    /// UNIQUE="true".
    pub unique: bool,
    /// Fields, in order.
    pub fields: Vec<String>,
}

/// One `<TABLE>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Table name without prefix.
    pub name: String,
    /// COMMENT.
    pub comment: Option<String>,
    /// Fields, in order.
    pub fields: Vec<Field>,
    /// Keys.
    pub keys: Vec<Key>,
    /// Indexes.
    pub indexes: Vec<Index>,
}

impl Table {
    /// The column names, in order.
    pub fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A parsed XMLDB document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// The XMLDB PATH attribute (`blocks/dockchat/db`).
    pub path: String,
    /// The XMLDB VERSION attribute.
    pub version: String,
    tables: Vec<Table>,
}

/// The block's own tables, from the `moodle-block/db/install.xml` embedded at build time.
pub const BLOCK_INSTALL_XML: &str = include_str!("../../moodle-block/db/install.xml");

/// Parses the embedded `moodle-block/db/install.xml`.
pub fn block_schema() -> Result<Schema, XmldbError> {
    parse(BLOCK_INSTALL_XML)
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 53
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn bool_attr(node: roxmltree::Node<'_, '_>, attr: &str, at: &str) -> Result<bool, XmldbError> {
    match node.attribute(attr) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(invalid(
            at,
            format!("{attr}=\"{other}\" must be \"true\" or \"false\""),
        )),
    }
}

fn u32_attr(
    node: roxmltree::Node<'_, '_>,
    attr: &str,
    at: &str,
) -> Result<Option<u32>, XmldbError> {
    node.attribute(attr)
        .map(|v| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| invalid(at, format!("{attr}=\"{v}\" is not a number")))
        })
        .transpose()
}

fn field_list(
    node: roxmltree::Node<'_, '_>,
    at: &str,
    table: &Table,
) -> Result<Vec<String>, XmldbError> {
    let raw = node
        .attribute("FIELDS")
        .ok_or_else(|| invalid(at, "missing FIELDS"))?;
    let fields: Vec<String> = raw.split(',').map(|f| f.trim().to_string()).collect();
    for f in &fields {
        if table.field(f).is_none() {
            return Err(invalid(at, format!("FIELDS names unknown field \"{f}\"")));
        }
    }
    Ok(fields)
}

fn children<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    tag: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.has_tag_name(tag))
}

/// Parses an XMLDB document and checks it the way Moodle's XMLDB editor would: known types, lengths where
/// needed, exactly one primary key, keys and indexes naming existing fields, no duplicate names.
pub fn parse(xml: &str) -> Result<Schema, XmldbError> {
    let doc = roxmltree::Document::parse(xml)?;
    let root = doc.root_element();
    if !root.has_tag_name("XMLDB") {
        return Err(invalid(
            "document",
            format!(
                "root element is <{}>, expected <XMLDB>",
                root.tag_name().name()
            ),
        ));
    }
    let tables_node = children(root, "TABLES")
        .next()
        .ok_or_else(|| invalid("XMLDB", "no <TABLES> element"))?;
    let mut tables = Vec::new();
    let mut table_names = HashSet::new();
    for tnode in children(tables_node, "TABLE") {
        let name = tnode
            .attribute("NAME")
            .ok_or_else(|| invalid("TABLE", "missing NAME"))?
            .to_string();
        let at = format!("TABLE {name}");
        if !valid_name(&name) {
            return Err(invalid(
                &at,
                "NAME must be lowercase letters, digits and _, at most 53 characters",
            ));
        }
        if !table_names.insert(name.clone()) {
            return Err(invalid(&at, "duplicate table"));
        }
        let mut table = Table {
            name,
            comment: tnode.attribute("COMMENT").map(str::to_string),
            fields: Vec::new(),
            keys: Vec::new(),
            indexes: Vec::new(),
        };
        let fields_node = children(tnode, "FIELDS")
            .next()
            .ok_or_else(|| invalid(&at, "no <FIELDS>"))?;
        for fnode in children(fields_node, "FIELD") {
            let fname = fnode
                .attribute("NAME")
                .ok_or_else(|| invalid(&at, "FIELD without NAME"))?
                .to_string();
            let fat = format!("{at} / FIELD {fname}");
            if !valid_name(&fname) {
                return Err(invalid(
                    &fat,
                    "NAME must be lowercase letters, digits and _",
                ));
            }
            if table.field(&fname).is_some() {
                return Err(invalid(&fat, "duplicate field"));
            }
            let type_attr = fnode
                .attribute("TYPE")
                .ok_or_else(|| invalid(&fat, "missing TYPE"))?;
            let kind = FieldType::parse(type_attr)
                .ok_or_else(|| invalid(&fat, format!("unknown TYPE \"{type_attr}\"")))?;
            let length = u32_attr(fnode, "LENGTH", &fat)?;
            let decimals = u32_attr(fnode, "DECIMALS", &fat)?;
            match (kind, length) {
                (FieldType::Int | FieldType::Char | FieldType::Number, None) => {
                    return Err(invalid(&fat, format!("TYPE \"{type_attr}\" needs LENGTH")))
                }
                (FieldType::Int, Some(l)) if !(1..=20).contains(&l) => {
                    return Err(invalid(&fat, "int LENGTH must be 1..20"))
                }
                (FieldType::Char, Some(l)) if !(1..=1333).contains(&l) => {
                    return Err(invalid(&fat, "char LENGTH must be 1..1333"))
                }
                _ => {}
            }
            let sequence = bool_attr(fnode, "SEQUENCE", &fat)?;
            if sequence && kind != FieldType::Int {
                return Err(invalid(&fat, "SEQUENCE=\"true\" needs TYPE=\"int\""));
            }
            let default = fnode.attribute("DEFAULT").map(str::to_string);
            if let (Some(d), FieldType::Int) = (&default, kind) {
                if d.parse::<i64>().is_err() {
                    return Err(invalid(&fat, format!("DEFAULT \"{d}\" is not an integer")));
                }
            }
            table.fields.push(Field {
                name: fname,
                kind,
                length,
                decimals,
                not_null: bool_attr(fnode, "NOTNULL", &fat)?,
                sequence,
                default,
                comment: fnode.attribute("COMMENT").map(str::to_string),
            });
        }
        if table.fields.is_empty() {
            return Err(invalid(&at, "no fields"));
        }
        if let Some(knode) = children(tnode, "KEYS").next() {
            for k in children(knode, "KEY") {
                let kname = k
                    .attribute("NAME")
                    .ok_or_else(|| invalid(&at, "KEY without NAME"))?
                    .to_string();
                let kat = format!("{at} / KEY {kname}");
                let kind = match k.attribute("TYPE") {
                    Some("primary") => KeyType::Primary,
                    Some("unique") => KeyType::Unique,
                    Some("foreign") => KeyType::Foreign,
                    Some("foreign-unique") => KeyType::ForeignUnique,
                    Some(other) => return Err(invalid(&kat, format!("unknown TYPE \"{other}\""))),
                    None => return Err(invalid(&kat, "missing TYPE")),
                };
                let fields = field_list(k, &kat, &table)?;
                let reftable = k.attribute("REFTABLE").map(str::to_string);
                if matches!(kind, KeyType::Foreign | KeyType::ForeignUnique) && reftable.is_none() {
                    return Err(invalid(&kat, "foreign key without REFTABLE"));
                }
                table.keys.push(Key {
                    name: kname,
                    kind,
                    fields,
                    reftable,
                });
            }
        }
        let primaries: Vec<&Key> = table
            .keys
            .iter()
            .filter(|k| k.kind == KeyType::Primary)
            .collect();
        match primaries.as_slice() {
            [pk] => {
                if pk.fields.len() != 1 || table.field(&pk.fields[0]).is_none_or(|f| !f.sequence) {
                    return Err(invalid(
                        &at,
                        "the primary key must be the single SEQUENCE field (id)",
                    ));
                }
            }
            [] => return Err(invalid(&at, "no primary key")),
            _ => return Err(invalid(&at, "more than one primary key")),
        }
        if let Some(inode) = children(tnode, "INDEXES").next() {
            for i in children(inode, "INDEX") {
                let iname = i
                    .attribute("NAME")
                    .ok_or_else(|| invalid(&at, "INDEX without NAME"))?
                    .to_string();
                let iat = format!("{at} / INDEX {iname}");
                let unique = bool_attr(i, "UNIQUE", &iat)?;
                if i.attribute("UNIQUE").is_none() {
                    return Err(invalid(&iat, "missing UNIQUE"));
                }
                let fields = field_list(i, &iat, &table)?;
                table.indexes.push(Index {
                    name: iname,
                    unique,
                    fields,
                });
            }
        }
        tables.push(table);
    }
    if tables.is_empty() {
        return Err(invalid("TABLES", "no <TABLE> elements"));
    }
    Ok(Schema {
        path: root.attribute("PATH").unwrap_or_default().to_string(),
        version: root.attribute("VERSION").unwrap_or_default().to_string(),
        tables,
    })
}

/// Moodle's abbreviation of a table name: the first 4 characters of each `_`-separated part.
fn abbrev_table(name: &str) -> String {
    name.split('_').map(|p| &p[..p.len().min(4)]).collect()
}

/// Moodle's abbreviation of a field list: the first 3 characters of each part of each field.
fn abbrev_fields(fields: &[String]) -> String {
    fields
        .iter()
        .flat_map(|f| f.split('_'))
        .map(|p| &p[..p.len().min(3)])
        .collect()
}

/// A generated index.
struct IndexDef<'a> {
    table: &'a Table,
    name: String,
    unique: bool,
    fields: &'a [String],
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Schema {
    /// The tables, in install.xml order.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// The table called `name` (without prefix).
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// `CREATE TABLE` and `CREATE [UNIQUE] INDEX` statements (without `;`) for `dialect`, every name
    /// prefixed with `prefix`. Types follow Moodle's XMLDB generators (int → BIGINT for LENGTH 10, char →
    /// VARCHAR(n), text → LONGTEXT/TEXT), ids auto-increment, and index names follow Moodle's pattern
    /// `<prefix><table abbrev>_<field abbrevs>_ix|_uix`, made unique.
    pub fn create_statements(&self, dialect: Dialect, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut used_names: HashSet<String> = HashSet::new();
        for table in &self.tables {
            out.extend(self.table_statements(table, dialect, prefix, &mut used_names));
        }
        out
    }

    fn table_statements(
        &self,
        table: &Table,
        dialect: Dialect,
        prefix: &str,
        used: &mut HashSet<String>,
    ) -> Vec<String> {
        let full = format!("{prefix}{}", table.name);
        let q = |s: &str| match dialect {
            Dialect::MySql => format!("`{s}`"),
            _ => format!("\"{s}\""),
        };
        let mut cols: Vec<String> = table
            .fields
            .iter()
            .map(|f| format!("    {} {}", q(&f.name), column_sql(f, dialect)))
            .collect();
        let pk_name = unique_name(used, prefix, table, &[String::from("id")], "pk");
        match dialect {
            Dialect::MySql => cols.push(format!("    PRIMARY KEY ({})", q("id"))),
            Dialect::Postgres => cols.push(format!(
                "    CONSTRAINT {} PRIMARY KEY ({})",
                q(&pk_name),
                q("id")
            )),
            Dialect::Sqlite => {}
        }
        let mut create = format!("CREATE TABLE {} (\n{}\n)", q(&full), cols.join(",\n"));
        if dialect == Dialect::MySql {
            // As Moodle creates tables on MariaDB/MySQL with InnoDB's Barracuda format (every table
            // of a Moodle 5.1 site, the block's included, is COMPRESSED).
            create.push_str(
                " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci ROW_FORMAT=COMPRESSED",
            );
            if let Some(c) = &table.comment {
                create.push_str(&format!(" COMMENT={}", quote_str(c)));
            }
        }
        let mut stmts = vec![create];
        if let (Dialect::Postgres, Some(c)) = (dialect, &table.comment) {
            stmts.push(format!("COMMENT ON TABLE {} IS {}", q(&full), quote_str(c)));
        }
        // Indexes: unique and foreign keys become indexes (as in Moodle), then the declared indexes.
        let mut defs: Vec<IndexDef<'_>> = Vec::new();
        let mut seen_fields: Vec<&[String]> = Vec::new();
        for k in &table.keys {
            let unique = match k.kind {
                KeyType::Primary => continue,
                KeyType::Unique | KeyType::ForeignUnique => true,
                KeyType::Foreign => false,
            };
            if !seen_fields.contains(&k.fields.as_slice()) {
                seen_fields.push(&k.fields);
                let suffix = if unique { "uix" } else { "ix" };
                defs.push(IndexDef {
                    table,
                    name: unique_name(used, prefix, table, &k.fields, suffix),
                    unique,
                    fields: &k.fields,
                });
            }
        }
        for i in &table.indexes {
            if !seen_fields.contains(&i.fields.as_slice()) {
                seen_fields.push(&i.fields);
                let suffix = if i.unique { "uix" } else { "ix" };
                defs.push(IndexDef {
                    table,
                    name: unique_name(used, prefix, table, &i.fields, suffix),
                    unique: i.unique,
                    fields: &i.fields,
                });
            }
        }
        for d in defs {
            let cols: Vec<String> = d.fields.iter().map(|f| q(f)).collect();
            stmts.push(format!(
                "CREATE {}INDEX {} ON {} ({})",
                if d.unique { "UNIQUE " } else { "" },
                q(&d.name),
                q(&format!("{prefix}{}", d.table.name)),
                cols.join(", ")
            ));
        }
        stmts
    }
}

/// Moodle-style object name, unique among `used`, at most 63 characters.
fn unique_name(
    used: &mut HashSet<String>,
    prefix: &str,
    table: &Table,
    fields: &[String],
    suffix: &str,
) -> String {
    let mut base = format!(
        "{prefix}{}_{}",
        abbrev_table(&table.name),
        abbrev_fields(fields)
    );
    base.truncate(63 - suffix.len() - 4);
    let mut candidate = format!("{base}_{suffix}");
    let mut n = 2;
    while used.contains(&candidate) {
        candidate = format!("{base}{n}_{suffix}");
        n += 1;
    }
    used.insert(candidate.clone());
    candidate
}

fn column_sql(f: &Field, dialect: Dialect) -> String {
    let len = f.length.unwrap_or(10);
    let mut sql = match (f.kind, dialect) {
        (FieldType::Int, Dialect::Sqlite) => "INTEGER".to_string(),
        (FieldType::Int, Dialect::MySql) => {
            let t = match len {
                0..=2 => "TINYINT",
                3..=4 => "SMALLINT",
                5..=6 => "MEDIUMINT",
                7..=9 => "INT",
                _ => "BIGINT",
            };
            format!("{t}({len})")
        }
        (FieldType::Int, Dialect::Postgres) => match len {
            0..=4 => "SMALLINT",
            5..=9 => "INTEGER",
            _ => "BIGINT",
        }
        .to_string(),
        (FieldType::Number, Dialect::MySql) => {
            format!("DECIMAL({len},{})", f.decimals.unwrap_or(0))
        }
        (FieldType::Number, _) => format!("NUMERIC({len},{})", f.decimals.unwrap_or(0)),
        (FieldType::Float, Dialect::MySql) => "DOUBLE".to_string(),
        (FieldType::Float, Dialect::Postgres) => "DOUBLE PRECISION".to_string(),
        (FieldType::Float, Dialect::Sqlite) => "REAL".to_string(),
        (FieldType::Char, _) => format!("VARCHAR({len})"),
        (FieldType::Text, Dialect::MySql) => "LONGTEXT".to_string(),
        (FieldType::Text, _) => "TEXT".to_string(),
        (FieldType::Binary, Dialect::MySql) => "LONGBLOB".to_string(),
        (FieldType::Binary, Dialect::Postgres) => "BYTEA".to_string(),
        (FieldType::Binary, Dialect::Sqlite) => "BLOB".to_string(),
    };
    if f.sequence {
        match dialect {
            Dialect::MySql => sql.push_str(" NOT NULL AUTO_INCREMENT"),
            Dialect::Postgres => sql = "BIGSERIAL".to_string(),
            Dialect::Sqlite => sql = "INTEGER PRIMARY KEY AUTOINCREMENT".to_string(),
        }
        return sql;
    }
    if f.not_null {
        sql.push_str(" NOT NULL");
    }
    // Moodle never gives text/binary columns a default.
    if let Some(d) = &f.default {
        match f.kind {
            FieldType::Int | FieldType::Number | FieldType::Float => {
                sql.push_str(&format!(" DEFAULT {d}"))
            }
            FieldType::Char => sql.push_str(&format!(" DEFAULT {}", quote_str(d))),
            FieldType::Text | FieldType::Binary => {}
        }
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_block_install_xml() {
        let s = block_schema().expect("install.xml parses");
        assert_eq!(s.path, "blocks/dockchat/db");
        let names: Vec<&str> = s.tables().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "block_dockchat_sent",
                "block_dockchat_job",
                "block_dockchat_worker",
                "block_dockchat_window"
            ]
        );
        let sent = s.table("block_dockchat_sent").expect("sent table");
        assert_eq!(
            &sent.field_names()[..6],
            [
                "id",
                "messageid",
                "conversationid",
                "useridfrom",
                "clientmsgid",
                "timecreated"
            ]
        );
        let cid = sent.field("clientmsgid").expect("clientmsgid");
        assert_eq!(
            (cid.kind, cid.length, cid.not_null),
            (FieldType::Char, Some(64), true)
        );
        let token = sent.field("claimtoken").expect("claimtoken");
        assert!(!token.not_null);
        assert!(sent.field("id").is_some_and(|f| f.sequence));
        assert!(sent
            .indexes
            .iter()
            .any(|i| i.unique && i.fields == ["useridfrom", "clientmsgid"]));
        assert!(sent
            .indexes
            .iter()
            .any(|i| i.unique && i.fields == ["messageid"]));
    }

    #[test]
    fn mysql_ddl_follows_moodle() {
        let s = block_schema().expect("parses");
        let ddl = s.create_statements(Dialect::MySql, "mdl_").join(";\n");
        assert!(
            ddl.contains("CREATE TABLE `mdl_block_dockchat_sent` ("),
            "{ddl}"
        );
        assert!(ddl.contains("ROW_FORMAT=COMPRESSED"), "{ddl}");
        assert!(ddl.contains("`id` BIGINT(10) NOT NULL AUTO_INCREMENT"));
        assert!(ddl.contains("`clientmsgid` VARCHAR(64) NOT NULL"));
        assert!(ddl.contains("`error` LONGTEXT"), "{ddl}");
        assert!(ddl.contains("`timecreated` BIGINT(10) NOT NULL DEFAULT 0"));
        assert!(
            ddl.contains("`state` TINYINT(2) NOT NULL DEFAULT 0"),
            "{ddl}"
        );
        assert!(
            ddl.contains(
                "CREATE UNIQUE INDEX `mdl_blocdocksent_usecli_uix` ON `mdl_block_dockchat_sent` (`useridfrom`, `clientmsgid`)"
            ),
            "{ddl}"
        );
        assert!(
            ddl.contains("CREATE INDEX `mdl_blocdocksent_statim_ix`"),
            "{ddl}"
        );
    }

    #[test]
    fn postgres_and_sqlite_ddl() {
        let s = block_schema().expect("parses");
        let pg = s.create_statements(Dialect::Postgres, "p_").join(";\n");
        assert!(pg.contains("\"id\" BIGSERIAL"));
        assert!(
            pg.contains("CONSTRAINT \"p_blocdocksent_id_pk\" PRIMARY KEY (\"id\")"),
            "{pg}"
        );
        assert!(pg.contains("\"error\" TEXT"), "{pg}");
        assert!(pg.contains("\"messageid\" BIGINT NOT NULL"));
        assert!(pg.contains("COMMENT ON TABLE \"p_block_dockchat_sent\""));
        assert!(!pg.contains("mdl_"));
        let lite = s.create_statements(Dialect::Sqlite, "mdl_").join(";\n");
        assert!(lite.contains("\"id\" INTEGER PRIMARY KEY AUTOINCREMENT"));
        assert!(!lite.contains("PRIMARY KEY (\"id\")"));
    }

    #[test]
    fn index_names_are_unique_and_short() {
        let s = block_schema().expect("parses");
        let long = "a_very_long_prefix_for_testing_";
        let stmts = s.create_statements(Dialect::Postgres, long);
        let mut names = HashSet::new();
        for st in stmts.iter().filter(|s| s.contains("INDEX")) {
            let name = st.split('"').nth(1).expect("quoted name");
            assert!(name.len() <= 63, "{name}");
            assert!(names.insert(name.to_string()), "duplicate {name}");
        }
        assert!(names.len() >= 7);
    }

    #[test]
    fn abbreviations_match_moodle() {
        assert_eq!(abbrev_table("message_users_blocked"), "messuserbloc");
        assert_eq!(abbrev_table("user_enrolments"), "userenro");
        assert_eq!(
            abbrev_fields(&["mnethostid".into(), "username".into()]),
            "mneuse"
        );
    }

    fn err(xml: &str) -> String {
        parse(xml).expect_err("must be refused").to_string()
    }

    const OK_TABLE: &str = r#"<TABLE NAME="t"><FIELDS><FIELD NAME="id" TYPE="int" LENGTH="10" NOTNULL="true" SEQUENCE="true"/></FIELDS><KEYS><KEY NAME="primary" TYPE="primary" FIELDS="id"/></KEYS></TABLE>"#;

    #[test]
    fn minimal_document_parses() {
        let s = parse(&format!("<XMLDB><TABLES>{OK_TABLE}</TABLES></XMLDB>")).expect("ok");
        assert_eq!(s.tables().len(), 1);
    }

    #[test]
    fn rejects_malformed_xmldb_clearly() {
        assert!(err("<XMLDB><TABLES>").contains("not well-formed XML"));
        assert!(err("<XML/>").contains("expected <XMLDB>"));
        assert!(err("<XMLDB/>").contains("no <TABLES>"));
        assert!(err("<XMLDB><TABLES/></XMLDB>").contains("no <TABLE>"));
        let bad_type = r#"<XMLDB><TABLES><TABLE NAME="t"><FIELDS><FIELD NAME="id" TYPE="integer" LENGTH="10"/></FIELDS></TABLE></TABLES></XMLDB>"#;
        let e = err(bad_type);
        assert!(
            e.contains("TABLE t / FIELD id") && e.contains("unknown TYPE \"integer\""),
            "{e}"
        );
        let no_len = r#"<XMLDB><TABLES><TABLE NAME="t"><FIELDS><FIELD NAME="id" TYPE="char"/></FIELDS></TABLE></TABLES></XMLDB>"#;
        assert!(err(no_len).contains("needs LENGTH"));
        let no_pk = r#"<XMLDB><TABLES><TABLE NAME="t"><FIELDS><FIELD NAME="id" TYPE="int" LENGTH="10" SEQUENCE="true"/></FIELDS></TABLE></TABLES></XMLDB>"#;
        assert!(err(no_pk).contains("no primary key"));
        let bad_index = format!(
            "<XMLDB><TABLES>{}</TABLES></XMLDB>",
            OK_TABLE.replace(
                "</KEYS>",
                r#"</KEYS><INDEXES><INDEX NAME="x" UNIQUE="false" FIELDS="nope"/></INDEXES>"#
            )
        );
        assert!(err(&bad_index).contains("unknown field \"nope\""));
        let dup = format!("<XMLDB><TABLES>{OK_TABLE}{OK_TABLE}</TABLES></XMLDB>");
        assert!(err(&dup).contains("duplicate table"));
        let bad_bool = OK_TABLE.replace("NOTNULL=\"true\"", "NOTNULL=\"yes\"");
        assert!(err(&format!("<XMLDB><TABLES>{bad_bool}</TABLES></XMLDB>")).contains("NOTNULL"));
    }

    #[test]
    fn dialect_from_url() {
        assert_eq!(Dialect::from_url("mysql://r@h/db"), Some(Dialect::MySql));
        assert_eq!(Dialect::from_url("mariadb://r@h/db"), Some(Dialect::MySql));
        assert_eq!(
            Dialect::from_url("postgres://h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(
            Dialect::from_url("postgresql://h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(Dialect::from_url("sqlite::memory:"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("http://x"), None);
    }
}

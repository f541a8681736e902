//! Moodle's messaging tables as the store of every message: `messages`, `message_conversations`,
//! `message_conversation_members` and `message_user_actions`, written exactly as Moodle's own send
//! path (`message_send`, `core_message\api`) fills them, beside the block's `block_dockchat_sent`
//! (the sender's client message id of each dock message, and the queue of what Moodle's PHP still
//! has to do for it: cache, event, processors) and `block_dockchat_job` (events for dock reads and
//! deletions).
//! See docs/design/moodle-store.md for the Moodle source behind each column.
//!
//! Owns: the batched, idempotent message insert used by the single message writer (one transaction
//! per batch, conversations found or created by `convhash`, one per pair even with writers on
//! several nodes), settling an unanswered COMMIT, history,
//! resume, read state, deletion for one user (`api::delete_message`, `delete_conversation_by_id`) and
//! unread counts by Moodle's definitions.
//! Must not: check permissions or push frames; callers do that before and after.

use super::windows::{WINDOW_MINIMISED, WINDOW_OPEN};
use super::{dispatch, now, Dialect, Result, SqlBuilder, Store};
use sha1::{Digest, Sha1};
use sqlx::Row;
use std::collections::HashMap;

/// `message_conversations.type` of a conversation between two users (`api::MESSAGE_CONVERSATION_TYPE_INDIVIDUAL`).
pub const CONVERSATION_INDIVIDUAL: i64 = 1;
/// `message_conversations.type` of a course group's conversation (`MESSAGE_CONVERSATION_TYPE_GROUP`).
pub const CONVERSATION_GROUP: i64 = 2;
/// `message_conversations.type` of a user's conversation with themselves (`MESSAGE_CONVERSATION_TYPE_SELF`).
pub const CONVERSATION_SELF: i64 = 3;
/// `message_user_actions.action` of a read message (`api::MESSAGE_ACTION_READ`).
pub const ACTION_READ: i64 = 1;
/// `message_user_actions.action` of a message deleted for that user (`api::MESSAGE_ACTION_DELETED`).
pub const ACTION_DELETED: i64 = 2;
/// `block_dockchat_job.kind` of a read row whose `\core\event\message_viewed` the block fires.
pub const JOB_MESSAGE_VIEWED: i64 = 1;
/// `block_dockchat_job.kind` of a deleted-for-me row whose `\core\event\message_deleted` the block fires.
pub const JOB_MESSAGE_DELETED: i64 = 2;

/// `helper::get_conversation_hash([a, b])`: sha1 of the two ids sorted numerically, joined by `-`.
pub fn conversation_hash(a: i64, b: i64) -> String {
    use std::io::Write;
    let (low, high) = pair(a, b);
    // Two i64s and a dash fit in 41 bytes: no allocation for the digest's input.
    let mut input = [0u8; 48];
    let mut w = &mut input[..];
    let _ = write!(w, "{low}-{high}");
    let len = 48 - w.len();
    hex(&Sha1::digest(input.get(..len).unwrap_or_default()))
}

/// Lower-case hex, by table (once per send: `write!` per byte cost more than the sha1 itself).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Moodle's strings in a message's `customdata` (`get_string('send', 'message')` and
/// `get_string('writeamessage', 'message')` in English; the block's worker rebuilds customdata in
/// the recipient's terms for the processors, so these only show in Moodle's legacy web service and
/// privacy export).
/// They need no escaping, so the start of every `customdata` up to the sender's picture is written
/// as it stands.
const CUSTOMDATA_HEAD: &str = concat!(
    "{\"actionbuttons\":{\"send\":\"Send\"},",
    "\"placeholders\":{\"send\":\"Write a message...\"},"
);

/// The `customdata` Moodle's send path stores with a private message
/// (`api::send_message_to_conversation`, encoded by `\core\message\message::set_customdata`):
/// `json_encode` at its default flags, so `/` is written `\/` and every non-ASCII character as a
/// `\uXXXX` escape, keys in Moodle's order, `courseid` last.
pub fn message_customdata(sender_icon: &str) -> String {
    let mut out = String::with_capacity(160 + sender_icon.len());
    out.push_str(CUSTOMDATA_HEAD);
    out.push_str("\"notificationiconurl\":");
    push_php_json_string(&mut out, sender_icon);
    out.push_str(",\"courseid\":1}");
    out
}

/// The `customdata` of a message to a course group's conversation, as
/// `api::send_message_to_conversation` builds it for `MESSAGE_CONVERSATION_TYPE_GROUP`: the sender's
/// picture as `notificationsendericonurl`, the group's image as `notificationiconurl` (left out when
/// there is none), the conversation's name as `conversationname`, then `courseid`.
pub fn group_customdata(sender_icon: &str, group_icon: &str, name: &str) -> String {
    let mut out = String::with_capacity(200 + sender_icon.len() + group_icon.len() + name.len());
    out.push_str(CUSTOMDATA_HEAD);
    out.push_str("\"notificationsendericonurl\":");
    push_php_json_string(&mut out, sender_icon);
    if !group_icon.is_empty() {
        out.push_str(",\"notificationiconurl\":");
        push_php_json_string(&mut out, group_icon);
    }
    out.push_str(",\"conversationname\":");
    push_php_json_string(&mut out, name);
    out.push_str(",\"courseid\":1}");
    out
}

/// A JSON string literal as PHP's `json_encode` writes it by default.
#[cfg(test)]
fn php_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_php_json_string(&mut out, s);
    out
}

/// Appends `s` as a JSON string literal the way PHP's `json_encode` writes it by default; runs of
/// printable ASCII other than `"`, `\\` and `/` are copied as they are.
fn push_php_json_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    let plain = |c: char| matches!(c, ' '..='~') && !matches!(c, '"' | '\\' | '/');
    let mut rest = s;
    while !rest.is_empty() {
        let run = rest.find(|c: char| !plain(c)).unwrap_or(rest.len());
        out.push_str(rest.get(..run).unwrap_or_default());
        rest = rest.get(run..).unwrap_or_default();
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        rest = chars.as_str();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// A message row, as the dock sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgRow {
    /// `messages.id`.
    pub id: i64,
    pub from: i64,
    pub to: i64,
    /// `messages.conversationid`.
    pub conv: i64,
    /// The sender's client message id; empty for a message that did not come through dockchat.
    pub cid: String,
    /// `smallmessage` (what Moodle's lists show), or `fullmessage` when that is empty.
    pub text: String,
    pub time: i64,
}

/// What `welcome` needs of one user's rows: windows (peer, state) in the order they were opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WelcomeRows {
    pub windows: Vec<(i64, i64)>,
}

/// One send to store.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub from: i64,
    pub to: i64,
    pub cid: String,
    pub text: String,
    /// The sender's picture URL (size f1), for `customdata.notificationiconurl`.
    pub icon: String,
    /// The caller knows the sender's / recipient's window row exists: skip creating it.
    pub windows_known: [bool; 2],
    /// A send to a group conversation (`to` is then 0): stored into that conversation, no
    /// conversation or windows are created.
    pub group: Option<GroupTarget>,
}

/// The group conversation a [`NewMessage`] goes to, with what its `customdata` names.
#[derive(Debug, Clone)]
pub struct GroupTarget {
    /// `message_conversations.id`.
    pub conv: i64,
    /// The conversation's name (`conversationname`).
    pub name: String,
    /// The group's image URL (`notificationiconurl`); empty for none.
    pub icon: String,
}

/// What storing one [`NewMessage`] did.
#[derive(Debug, Clone)]
pub struct Stored {
    pub message: MsgRow,
    /// The cid had been used before: this is the earlier message, nothing new was stored.
    pub dup: bool,
    /// The pair's conversation is disabled in Moodle (`enabled = 0`): nothing was stored, and
    /// `message` holds only the send (id 0).
    pub disabled: bool,
    /// The sender had no window for the recipient; an open one was created.
    pub opened_sender_window: bool,
    /// The recipient had no window for the sender; a minimised one was created.
    pub opened_recipient_window: bool,
}

/// The conversations of a pair: `convhash` of type individual (Moodle's index on convhash is not
/// unique, so a race in Moodle can leave two; reads cover all of them, writes use the lowest id).
/// `type + 0`: the type is checked, never searched by Moodle's index on it. Every pair's
/// conversation has type 1, yet PostgreSQL walked that index for the writer's batch lookup
/// (every conversation on each call) where it had no statistics of type 1 rows.
const PAIR_CONVS: &str =
    "SELECT id FROM {p}message_conversations WHERE convhash = ? AND type + 0 = 1";
/// The text the dock shows (Moodle's lists read smallmessage the same way).
const TEXT: &str = "COALESCE(NULLIF(m.smallmessage, ''), m.fullmessage, '')";
/// The other member of a message's conversation (none for a self conversation). `userid + 0`:
/// found by the conversation's index, never by a walk of Moodle's userid index for the minimum
/// (PostgreSQL's plan with no statistics on the table read 1,600 member rows per lookup).
const OTHER_MEMBER: &str = "(SELECT MIN(o.userid + 0) FROM {p}message_conversation_members o \
     WHERE o.conversationid = m.conversationid AND o.userid <> m.useridfrom)";
/// Only one conversation, by id (a group's), where [`PAIR_CONVS`] selects a pair's.
const ONE_CONV: &str = "?";

/// How the writers of several nodes take turns creating conversations. Each node's writer runs a
/// batch with a pair not known to have a conversation alone, but two nodes may both find a new
/// pair's hash missing and both create it (Moodle's index on convhash is not unique). A writer
/// that found hashes missing takes the lock, then looks them up again: held by the transaction to
/// its COMMIT or ROLLBACK (nothing stays held when a batch fails or times out), it lets a writer
/// see the conversations another one created, committed, before it. The write transactions are
/// READ COMMITTED, as Moodle's own are, so that second lookup sees them.
#[derive(Debug)]
enum ConvLock {
    /// SQLite: the demo's single node; its write transaction is exclusive anyway.
    None,
    /// PostgreSQL: one transaction-level advisory lock per missing hash, taken in key order (no
    /// deadlock between writers). The parameter is a JSON array of [`advisory_key`]s.
    Advisory(String),
    /// MySQL: the row lock of the block's `version` in `config_plugins` (`FOR UPDATE`, a read:
    /// only the block's upgrade writes that row, and Moodle's reads of it take no lock). InnoDB has
    /// no transaction-level named lock (`GET_LOCK` belongs to the session and outlives a failed
    /// batch on its pooled connection), and a locking read of the missing hashes would not do
    /// either: under READ COMMITTED it locks no gap, and under REPEATABLE READ two writers' gap
    /// locks deadlock as both insert. One lock for all hashes: only batches with a new pair take it.
    Row(String),
}

impl ConvLock {
    fn new(b: &SqlBuilder) -> Self {
        match b.dialect {
            Dialect::Sqlite => ConvLock::None,
            // `FROM` a function, per element in array order: each lock is taken in turn. The
            // keys have their top bit set, which Moodle's advisory locks on the bigint key (a
            // session row's id) never do.
            Dialect::Postgres => ConvLock::Advisory(b.build(
                "SELECT COUNT(*) FROM json_array_elements_text(CAST(? AS JSON)) AS k(v), \
                 LATERAL pg_advisory_xact_lock(CAST(k.v AS BIGINT)) AS l",
            )),
            Dialect::MySql => ConvLock::Row(b.build(
                "SELECT id FROM {p}config_plugins WHERE plugin = 'block_dockchat' AND name = 'version' FOR UPDATE",
            )),
        }
    }
}

/// The advisory lock key of a conversation hash: its first 64 bits (the hash is sha1 hex), the top
/// bit set.
fn advisory_key(convhash: &str) -> i64 {
    let bits = convhash
        .get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    (bits | 1 << 63) as i64
}

#[derive(Debug)]
pub(crate) struct MessagingSql {
    /// The server session of the current connection (none on SQLite).
    session_id: Option<String>,
    /// Counts sessions with a given id still on the server (none on SQLite).
    session_alive: Option<String>,
    conv_get: String,
    conv_insert: String,
    members_insert: String,
    /// Indexed by [`size_class`]: batched lookups padded to a power of two, and multi-row inserts.
    conv_by_hashes: Vec<String>,
    /// The same lookup once [`ConvLock`] is held (without the session row).
    conv_by_hashes_current: Vec<String>,
    conv_lock: ConvLock,
    /// Padded lookups of conversations by id, with `enabled` (group sends).
    conv_by_ids: Vec<String>,
    msg_by_keys: Vec<String>,
    msg_insert_rows: Vec<String>,
    msg_delete: String,
    sent_insert_rows: Vec<String>,
    /// One statement for any number of rows, where the server reads a JSON array and returns
    /// ids (PostgreSQL, MariaDB): the rows' values travel as one parameter, so a batch of any
    /// size is one round trip per table, not one per power-of-two run ([`JsonRows`]).
    msg_insert_json: Option<String>,
    sent_insert_json: Option<String>,
    /// The same for the conversations a batch creates, their members and the dock windows its
    /// sends open: a batch of pairs that never talked costs three statements, not three per pair.
    conv_insert_json: Option<String>,
    members_insert_json: Option<String>,
    window_insert_json: Option<String>,
    history_latest: String,
    history_bound: String,
    history_before: String,
    missed: String,
    max_id: String,
    pair_last: String,
    read_markers: String,
    unread: String,
    to_mark: String,
    /// The same reads for one conversation by id (a group's).
    conv_history_latest: String,
    conv_history_bound: String,
    conv_history_before: String,
    conv_last: String,
    conv_read_markers: String,
    conv_to_mark: String,
    read_insert_rows: Vec<String>,
    job_insert_rows: Vec<String>,
    /// What `api::delete_message` / `delete_conversation_by_id` mark deleted: messages of one
    /// conversation in an id range not deleted for the user yet.
    to_delete: String,
    delete_insert_rows: Vec<String>,
    delete_job_rows: Vec<String>,
    message_conv: String,
}

impl MessagingSql {
    pub fn new(b: &SqlBuilder) -> Self {
        let returning = |s: String, cols: &str| {
            if b.dialect == Dialect::MySql && !b.returning {
                // The caller checked for retries, so IGNORE would only hide real errors.
                s.replacen("INSERT IGNORE INTO", "INSERT INTO", 1)
            } else {
                format!("{s} RETURNING {cols}")
            }
        };
        let pair_convs = PAIR_CONVS;
        // A conversation filter: the pair's conversations, or one by id.
        let history_latest = |convs: &str| {
            b.build(&format!(
                "SELECT m.id, m.useridfrom, m.conversationid, COALESCE(s.clientmsgid, ''), {TEXT}, m.timecreated \
                 FROM {{p}}messages m LEFT JOIN {{p}}block_dockchat_sent s ON s.messageid = m.id \
                 WHERE m.conversationid IN ({convs}) AND NOT EXISTS (SELECT 1 FROM {{p}}message_user_actions d \
                   WHERE d.messageid = m.id AND d.userid = ? AND d.action = 2) \
                 ORDER BY m.timecreated DESC, m.id DESC LIMIT ?"
            ))
        };
        // Where a page before message `before` starts: that message, or the nearest older id.
        let history_bound = |convs: &str| {
            b.build(&format!(
                "SELECT m.timecreated, m.id FROM {{p}}messages m \
                 WHERE m.conversationid IN ({convs}) AND m.id <= ? ORDER BY m.id DESC LIMIT 1"
            ))
        };
        let history_before = |convs: &str| {
            b.build(&format!(
                "SELECT m.id, m.useridfrom, m.conversationid, COALESCE(s.clientmsgid, ''), {TEXT}, m.timecreated \
                 FROM {{p}}messages m LEFT JOIN {{p}}block_dockchat_sent s ON s.messageid = m.id \
                 WHERE m.conversationid IN ({convs}) AND NOT EXISTS (SELECT 1 FROM {{p}}message_user_actions d \
                   WHERE d.messageid = m.id AND d.userid = ? AND d.action = 2) \
                   AND (m.timecreated < ? OR (m.timecreated = ? AND m.id < ?)) \
                 ORDER BY m.timecreated DESC, m.id DESC LIMIT ?"
            ))
        };
        let last = |convs: &str| {
            b.build(&format!(
                "SELECT MAX(id) FROM {{p}}messages WHERE conversationid IN ({convs})"
            ))
        };
        // What `api::mark_all_messages_as_read` selects (deleted-for-me included, as in Moodle).
        let to_mark = |convs: &str| {
            b.build(&format!(
                "SELECT m.id, m.useridfrom FROM {{p}}messages m WHERE m.conversationid IN ({convs}) \
                 AND m.id <= ? AND m.useridfrom <> ? AND NOT EXISTS (SELECT 1 FROM {{p}}message_user_actions a \
                   WHERE a.messageid = m.id AND a.userid = ? AND a.action = 1) ORDER BY m.id"
            ))
        };
        // `message_user_actions` rows of one action, and the worker's jobs of one kind for them.
        let action_rows = |action: i64| -> Vec<String> {
            (0..SIZE_CLASSES)
                .map(|c| {
                    let rows = vec![format!("(?, ?, {action}, ?)"); 1 << c].join(", ");
                    let s = b.insert_ignore(&format!(
                        "INSERT INTO {{p}}message_user_actions (userid, messageid, action, timecreated) VALUES {rows}"
                    ));
                    if b.returning {
                        format!("{s} RETURNING id, messageid")
                    } else {
                        // One row at a time (class 0 only), its id from last_insert_id.
                        s.replacen("INSERT IGNORE INTO", "INSERT INTO", 1)
                    }
                })
                .collect()
        };
        let job_rows = |kind: i64| -> Vec<String> {
            (0..SIZE_CLASSES)
                .map(|c| {
                    let rows = vec![format!("({kind}, ?, ?, ?, ?, ?, 0, 0)"); 1 << c].join(", ");
                    b.build(&format!(
                        "INSERT INTO {{p}}block_dockchat_job (kind, userid, messageid, itemid, relateduserid, \
                         timecreated, state, attempts) VALUES {rows}"
                    ))
                })
                .collect()
        };
        MessagingSql {
            session_id: match b.dialect {
                Dialect::MySql => Some("SELECT CAST(CONNECTION_ID() AS SIGNED)".into()),
                Dialect::Postgres => Some("SELECT CAST(pg_backend_pid() AS BIGINT)".into()),
                Dialect::Sqlite => None,
            },
            session_alive: match b.dialect {
                Dialect::MySql => Some(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?".into(),
                ),
                Dialect::Postgres => Some(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = CAST($1 AS INTEGER)".into(),
                ),
                Dialect::Sqlite => None,
            },
            conv_get: b.build(&format!("{pair_convs} ORDER BY id")),
            // As `api::create_conversation` inserts an individual conversation.
            conv_insert: b.insert(
                "INSERT INTO {p}message_conversations \
                 (type, name, convhash, component, itemtype, itemid, contextid, enabled, timecreated, timemodified) \
                 VALUES (1, NULL, ?, NULL, NULL, NULL, NULL, 1, ?, ?)",
            ),
            members_insert: b.build(
                "INSERT INTO {p}message_conversation_members (conversationid, userid, timecreated) \
                 VALUES (?, ?, ?), (?, ?, ?)",
            ),
            // `enabled + 0 * id`: a BIGINT on every backend (enabled is a SMALLINT on PostgreSQL).
            // `type + 0`: as in [`PAIR_CONVS`], convhash's index is the only one to search.
            // The batch's first statement also reads the server session (a row with an empty
            // hash), which saves a round trip per batch.
            conv_by_hashes: (0..SIZE_CLASSES)
                .map(|c| {
                    let session = match b.dialect {
                        Dialect::MySql => "SELECT CAST(CONNECTION_ID() AS SIGNED), '', 0 UNION ALL ",
                        Dialect::Postgres => {
                            "SELECT CAST(pg_backend_pid() AS BIGINT), CAST('' AS VARCHAR(40)), CAST(0 AS BIGINT) UNION ALL "
                        }
                        Dialect::Sqlite => "",
                    };
                    b.build(&format!(
                        "{session}SELECT id, convhash, enabled + 0 * id FROM {{p}}message_conversations \
                         WHERE type + 0 = 1 AND convhash IN ({}) ORDER BY 1",
                        vec!["?"; 1 << c].join(", ")
                    ))
                })
                .collect(),
            conv_by_hashes_current: (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT id, convhash, enabled + 0 * id FROM {{p}}message_conversations \
                         WHERE type + 0 = 1 AND convhash IN ({}) ORDER BY 1",
                        vec!["?"; 1 << c].join(", ")
                    ))
                })
                .collect(),
            conv_lock: ConvLock::new(b),
            conv_by_ids: (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT id, enabled + 0 * id FROM {{p}}message_conversations WHERE id IN ({})",
                        vec!["?"; 1 << c].join(", ")
                    ))
                })
                .collect(),
            msg_by_keys: (0..SIZE_CLASSES)
                .map(|c| {
                    b.build(&format!(
                        "SELECT m.id, m.useridfrom, m.conversationid, s.clientmsgid, {TEXT}, m.timecreated, {OTHER_MEMBER}, c.type \
                         FROM {{p}}block_dockchat_sent s JOIN {{p}}messages m ON m.id = s.messageid \
                         LEFT JOIN {{p}}message_conversations c ON c.id = m.conversationid WHERE {}",
                        pair_terms("s.useridfrom", "s.clientmsgid", 1 << c)
                    ))
                })
                .collect(),
            // As `message_send` fills a private message from the drawer (FORMAT_MOODLE).
            msg_insert_rows: (0..SIZE_CLASSES)
                .map(|c| {
                    let rows = vec!["(?, ?, NULL, ?, 0, '', ?, ?, 0, ?)"; 1 << c].join(", ");
                    let s = b.build(&format!(
                        "INSERT INTO {{p}}messages (useridfrom, conversationid, subject, fullmessage, \
                         fullmessageformat, fullmessagehtml, smallmessage, timecreated, fullmessagetrust, customdata) \
                         VALUES {rows}"
                    ));
                    if b.returning {
                        format!("{s} RETURNING id")
                    } else {
                        s
                    }
                })
                .collect(),
            // Not on MariaDB: InnoDB cannot know how many rows an INSERT ... SELECT brings, so
            // it takes auto-increment values in doubling chunks and loses the rest (13 rows use
            // ids 1-13 and the next insert gets 16); the ingest would take each lost id for an
            // insert not committed yet. A multi-row VALUES insert takes exactly its rows' ids.
            msg_insert_json: if b.dialect == Dialect::MySql {
                None
            } else {
                json_rows(b, MSG_JSON_INSERT)
            },
            sent_insert_json: json_rows(b, SENT_JSON_INSERT),
            conv_insert_json: json_rows(b, CONV_JSON_INSERT),
            members_insert_json: json_rows(b, MEMBERS_JSON_INSERT),
            window_insert_json: json_rows(b, WINDOW_JSON_INSERT),
            msg_delete: b.build("DELETE FROM {p}messages WHERE id = ?"),
            sent_insert_rows: (0..SIZE_CLASSES)
                .map(|c| {
                    let rows = vec!["(?, ?, ?, ?, ?, 0, ?, 0)"; 1 << c].join(", ");
                    returning(
                        b.insert_ignore(&format!(
                            "INSERT INTO {{p}}block_dockchat_sent (messageid, conversationid, useridfrom, \
                             clientmsgid, timecreated, state, timedue, attempts) VALUES {rows}"
                        )),
                        "messageid",
                    )
                })
                .collect(),
            history_latest: history_latest(pair_convs),
            history_bound: history_bound(pair_convs),
            history_before: history_before(pair_convs),
            conv_history_latest: history_latest(ONE_CONV),
            conv_history_bound: history_bound(ONE_CONV),
            conv_history_before: history_before(ONE_CONV),
            conv_last: last(ONE_CONV),
            conv_to_mark: to_mark(ONE_CONV),
            // In a group: the newest message of the others I have read, and the newest of mine
            // any other member has read.
            conv_read_markers: b.build(
                "SELECT \
                 (SELECT MAX(m.id) FROM {p}messages m JOIN {p}message_user_actions a \
                    ON a.messageid = m.id AND a.userid = ? AND a.action = 1 \
                  WHERE m.conversationid = ? AND m.useridfrom <> ?), \
                 (SELECT MAX(m.id) FROM {p}messages m JOIN {p}message_user_actions a \
                    ON a.messageid = m.id AND a.userid <> ? AND a.action = 1 \
                  WHERE m.conversationid = ? AND m.useridfrom = ?)",
            ),
            missed: b.build(&format!(
                "SELECT m.id, m.useridfrom, m.conversationid, COALESCE(s.clientmsgid, ''), {TEXT}, m.timecreated, {OTHER_MEMBER}, c.type \
                 FROM {{p}}messages m \
                 JOIN {{p}}message_conversation_members me ON me.conversationid = m.conversationid AND me.userid = ? \
                 JOIN {{p}}message_conversations c ON c.id = m.conversationid AND c.type IN (1, 2) \
                 LEFT JOIN {{p}}block_dockchat_sent s ON s.messageid = m.id \
                 WHERE m.id > ? AND NOT EXISTS (SELECT 1 FROM {{p}}message_user_actions d \
                   WHERE d.messageid = m.id AND d.userid = ? AND d.action = 2) \
                 ORDER BY m.id LIMIT ?"
            )),
            max_id: b.build("SELECT MAX(id) FROM {p}messages"),
            pair_last: last(pair_convs),
            // Moodle keeps read state per message: a user's marker is the newest message of the
            // other one they have a read row for.
            read_markers: b.build(&format!(
                "SELECT \
                 (SELECT MAX(m.id) FROM {{p}}messages m JOIN {{p}}message_user_actions a \
                    ON a.messageid = m.id AND a.userid = ? AND a.action = 1 \
                  WHERE m.conversationid IN ({pair_convs}) AND m.useridfrom <> ?), \
                 (SELECT MAX(m.id) FROM {{p}}messages m JOIN {{p}}message_user_actions a \
                    ON a.messageid = m.id AND a.userid = ? AND a.action = 1 \
                  WHERE m.conversationid IN ({pair_convs}) AND m.useridfrom <> ?)"
            )),
            // `api::get_conversations`' unreadcount: from the other, with neither a read nor a
            // deleted row of mine.
            unread: b.build(&format!(
                "SELECT COUNT(*) FROM {{p}}messages m WHERE m.conversationid IN ({pair_convs}) AND m.useridfrom <> ? \
                 AND NOT EXISTS (SELECT 1 FROM {{p}}message_user_actions a \
                   WHERE a.messageid = m.id AND a.userid = ? AND a.action IN (1, 2))"
            )),
            to_mark: to_mark(pair_convs),
            to_delete: b.build(
                "SELECT m.id, m.useridfrom FROM {p}messages m WHERE m.conversationid = ? \
                 AND m.id >= ? AND m.id <= ? AND NOT EXISTS (SELECT 1 FROM {p}message_user_actions a \
                   WHERE a.messageid = m.id AND a.userid = ? AND a.action = 2) ORDER BY m.id",
            ),
            delete_insert_rows: action_rows(ACTION_DELETED),
            delete_job_rows: job_rows(JOB_MESSAGE_DELETED),
            message_conv: b.build("SELECT conversationid FROM {p}messages WHERE id = ?"),
            read_insert_rows: action_rows(ACTION_READ),
            job_insert_rows: job_rows(JOB_MESSAGE_VIEWED),
        }
    }
}

/// The new `messages` rows from a JSON array of `[useridfrom, conversationid, text, customdata]`,
/// inserted in array order (the ordinality), filled as `message_send` fills them (see
/// `msg_insert_rows`). Parameters: `timecreated`, then the array.
const MSG_JSON_INSERT: (&str, &[JsonCol]) = (
    "INSERT INTO {p}messages (useridfrom, conversationid, subject, fullmessage, \
     fullmessageformat, fullmessagehtml, smallmessage, timecreated, fullmessagetrust, customdata) \
     SELECT r.a, r.b, NULL, r.t, 0, '', r.t, {time}, 0, r.d FROM {rows} ORDER BY r.o RETURNING id",
    &[("a", false), ("b", false), ("t", true), ("d", true)],
);
/// The batch's `block_dockchat_sent` rows from `[messageid, conversationid, useridfrom, cid]`;
/// a cid stored before is skipped (and not returned). Parameters: timecreated, timedue, the array.
const SENT_JSON_INSERT: (&str, &[JsonCol]) = (
    "INSERT {ignore}INTO {p}block_dockchat_sent (messageid, conversationid, \
     useridfrom, clientmsgid, timecreated, state, timedue, attempts) \
     SELECT r.a, r.b, r.c, r.t, {time}, 0, {time}, 0 FROM {rows} ORDER BY r.o {conflict}RETURNING messageid",
    &[("a", false), ("b", false), ("c", false), ("t", true)],
);
/// Individual conversations from `[convhash]`, as `api::create_conversation` fills them (see
/// `conv_insert`). Parameters: timecreated, timemodified, the array.
const CONV_JSON_INSERT: (&str, &[JsonCol]) = (
    "INSERT INTO {p}message_conversations \
     (type, name, convhash, component, itemtype, itemid, contextid, enabled, timecreated, timemodified) \
     SELECT 1, NULL, r.t, NULL, NULL, NULL, NULL, 1, {time}, {time} FROM {rows} ORDER BY r.o \
     RETURNING id, convhash",
    &[("t", true)],
);
/// Their members from `[conversationid, userid]`, sender then recipient as Moodle adds them.
/// Parameters: timecreated, the array.
const MEMBERS_JSON_INSERT: (&str, &[JsonCol]) = (
    "INSERT INTO {p}message_conversation_members (conversationid, userid, timecreated) \
     SELECT r.a, r.b, {time} FROM {rows} ORDER BY r.o RETURNING id",
    &[("a", false), ("b", false)],
);
/// Dock windows from `[userid, peerid, state]`; a window that exists already (a concurrent
/// `window` request) is skipped and not returned. Parameters: timemodified, the array.
const WINDOW_JSON_INSERT: (&str, &[JsonCol]) = (
    "INSERT {ignore}INTO {p}block_dockchat_window (userid, peerid, state, timemodified) \
     SELECT r.a, r.b, r.c, {time} FROM {rows} ORDER BY r.o {conflict}RETURNING userid, peerid",
    &[("a", false), ("b", false), ("c", false)],
);
/// A column of a JSON row: its name and whether it is text (else a BIGINT), by array position.
type JsonCol = (&'static str, bool);

/// [`MSG_JSON_INSERT`] or [`SENT_JSON_INSERT`] for the builder's server; `None` where there is no
/// RETURNING (MySQL) or the batch size does not cost round trips (SQLite, in process).
fn json_rows(b: &SqlBuilder, (template, cols): (&str, &[JsonCol])) -> Option<String> {
    let (rows, time, ignore, conflict) = match b.dialect {
        // ERROR ON ERROR: a value that does not fit fails the batch, never becomes a NULL.
        Dialect::MySql if b.returning => {
            let cols: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(i, (name, text))| {
                    let ty = if *text {
                        "LONGTEXT CHARACTER SET utf8mb4"
                    } else {
                        "BIGINT"
                    };
                    format!("{name} {ty} PATH '$[{i}]' ERROR ON EMPTY ERROR ON ERROR")
                })
                .collect();
            (
                format!(
                    "JSON_TABLE(?, '$[*]' COLUMNS (o FOR ORDINALITY, {})) AS r",
                    cols.join(", ")
                ),
                "?",
                "IGNORE ",
                "",
            )
        }
        Dialect::Postgres => {
            let cols: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(i, (name, text))| {
                    if *text {
                        format!("e->>{i} AS {name}")
                    } else {
                        format!("CAST(e->>{i} AS BIGINT) AS {name}")
                    }
                })
                .collect();
            (
                format!(
                    "(SELECT {}, o FROM json_array_elements(CAST(? AS JSON)) WITH ORDINALITY AS x(e, o)) r",
                    cols.join(", ")
                ),
                "CAST(? AS BIGINT)",
                "",
                "ON CONFLICT DO NOTHING ",
            )
        }
        _ => return None,
    };
    // Placeholders are bound in text order: the time(s) come before the array.
    Some(
        b.build(
            &template
                .replace("{ignore}", ignore)
                .replace("{conflict}", conflict)
                .replace("{time}", time)
                .replace("{rows}", &rows),
        ),
    )
}

/// A batch's rows as the JSON array [`json_rows`] statements read.
fn json_array<T: serde::Serialize>(rows: &[T]) -> Result<String> {
    serde_json::to_string(rows)
        .map_err(|e| super::StoreError::Schema(format!("a batch's rows could not be encoded: {e}")))
}

fn pair(a: i64, b: i64) -> (i64, i64) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Decodes a row of `missed`/`msg_by_keys`: id, from, conv, cid, text, time, other member,
/// conversation type, as seen by `viewer` (`None`: by the sender). A group's message is to 0.
fn msg_row<R: Row>(r: &R, viewer: Option<i64>) -> Result<Option<MsgRow>>
where
    usize: sqlx::ColumnIndex<R>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let from: i64 = r.try_get(1)?;
    let other: Option<i64> = r.try_get(6)?;
    let kind: Option<i64> = r.try_get(7)?;
    let to = match viewer {
        _ if kind == Some(CONVERSATION_GROUP) => 0,
        Some(v) if v != from => v,
        _ => match other {
            Some(o) => o,
            // The recipient's member row is gone (Moodle's privacy API deletes it): the message
            // can no longer be addressed to anyone.
            None => return Ok(None),
        },
    };
    Ok(Some(MsgRow {
        id: r.try_get(0)?,
        from,
        to,
        conv: r.try_get(2)?,
        cid: r.try_get(3)?,
        text: r.try_get(4)?,
        time: r.try_get(5)?,
    }))
}

/// Which conversation a read marks in: a pair's (by Moodle's hash) or one by id.
#[derive(Clone, Copy)]
enum ConvKey<'a> {
    Pair(&'a str),
    Conv(i64),
}

/// Inserts and returns the new id: `RETURNING id` on PostgreSQL/SQLite, `last_insert_id` on MySQL.
macro_rules! insert_id {
    (MySql, $q:expr, $conn:expr) => {
        $q.execute($conn).await?.last_insert_id() as i64
    };
    (Other, $q:expr, $conn:expr) => {
        $q.fetch_one($conn).await?.try_get::<i64, _>(0)?
    };
}

/// The id of a single-row INSERT without RETURNING: only MySQL takes that path.
macro_rules! last_insert_id {
    (MySql, $done:expr) => {
        $done.last_insert_id() as i64
    };
    // Never reached: PostgreSQL and SQLite always return ids with RETURNING.
    (Other, $done:expr) => {{
        let _ = $done;
        0i64
    }};
}

/// Longest a batch may take from the pool acquire to its COMMIT: past it the batch is rolled back
/// and its senders are told nothing was stored (a healthy batch takes milliseconds).
pub const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Longest wait for the answer to a COMMIT; without one the outcome is unknown.
pub const COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Longest wait for a killed session to leave the server.
const END_SESSION_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A batch whose COMMIT was sent but not answered (the connection dropped or went quiet): stored
/// or not, only the database can say ([`Store::commit_outcome`]). Holds the answer the batch
/// would give if it was committed.
#[derive(Debug)]
pub struct PendingCommit {
    /// What [`Store::store_batch`] would have returned, in batch order.
    pub stored: Vec<Stored>,
    /// The server session (MySQL thread id, PostgreSQL backend pid) that sent the COMMIT; `None`
    /// on SQLite, which commits in-process.
    session: Option<i64>,
}

impl PendingCommit {
    fn new(stored: Vec<Stored>, session: Option<i64>) -> Self {
        PendingCommit { stored, session }
    }

    /// The rows the batch inserted (the answers that are not a retried cid's or a refusal).
    fn fresh(&self) -> impl Iterator<Item = &MsgRow> {
        self.stored
            .iter()
            .filter(|s| !s.dup && !s.disabled)
            .map(|s| &s.message)
    }
}

/// Most sends [`Store::store_batch`] takes at once; its batched statements are built for every power
/// of two up to this size, so each backend prepares at most a handful of statements per kind.
pub const WRITE_BATCH_MAX: usize = 256;
pub(crate) const SIZE_CLASSES: usize = WRITE_BATCH_MAX.trailing_zeros() as usize + 1;

/// Index of the smallest power of two holding `n` (n ≥ 1).
pub(crate) fn size_class(n: usize) -> usize {
    n.max(1).next_power_of_two().trailing_zeros() as usize
}

/// Splits `n` rows into runs whose lengths are powers of two, largest first (100 → 64, 32, 4): a
/// multi-row INSERT cannot be padded, so each run uses a prepared statement of exactly its size.
fn power_of_two_runs(mut n: usize) -> Vec<usize> {
    let mut runs = Vec::new();
    while n > 0 {
        let run = 1usize << (usize::BITS - 1 - n.leading_zeros());
        let run = run.min(WRITE_BATCH_MAX);
        runs.push(run);
        n -= run;
    }
    runs
}

/// `(a = ? AND b = ?) OR ...` repeated `n` times.
pub(crate) fn pair_terms(a: &str, b: &str, n: usize) -> String {
    vec![format!("({a} = ? AND {b} = ?)"); n].join(" OR ")
}

/// What a batch holds, worked out before touching the database: the distinct `(from, cid)` keys in
/// order of first appearance, and for each send the key it uses.
struct BatchPlan<'a> {
    keys: Vec<(i64, &'a str)>,
    key_of: Vec<usize>,
    first: Vec<bool>,
}

impl<'a> BatchPlan<'a> {
    fn new(batch: &'a [NewMessage]) -> Self {
        let mut index = HashMap::with_capacity(batch.len());
        let mut plan = BatchPlan {
            keys: Vec::with_capacity(batch.len()),
            key_of: Vec::with_capacity(batch.len()),
            first: Vec::with_capacity(batch.len()),
        };
        for m in batch {
            let key = (m.from, m.cid.as_str());
            match index.get(&key) {
                Some(&k) => {
                    plan.key_of.push(k);
                    plan.first.push(false);
                }
                None => {
                    index.insert(key, plan.keys.len());
                    plan.key_of.push(plan.keys.len());
                    plan.first.push(true);
                    plan.keys.push(key);
                }
            }
        }
        plan
    }
}

/// Looks up stored dock messages by `(from, cid)` with the padded batched statement; fills `found`.
macro_rules! fetch_by_keys {
    ($sql:expr, $conn:expr, $keys:expr, $found:expr) => {{
        for chunk in $keys.chunks(WRITE_BATCH_MAX) {
            let class = size_class(chunk.len());
            let mut q = sqlx::query(&$sql.msg_by_keys[class]);
            for i in 0..(1usize << class) {
                // Padding: no user has id -1 and no cid is empty.
                let (from, cid) = chunk.get(i).copied().unwrap_or((-1, ""));
                q = q.bind(from).bind(cid);
            }
            for r in q.fetch_all(&mut *$conn).await? {
                if let Some(m) = msg_row(&r, None)? {
                    $found.insert((m.from, m.cid.clone()), m);
                }
            }
        }
    }};
}

/// The canonical (lowest id) individual conversation of each hash, with its `enabled`; and, with
/// `conv_by_hashes`, the server session, into `$session` (MySQL, PostgreSQL).
macro_rules! fetch_convs {
    ($stmts:expr, $conn:expr, $hashes:expr, $out:expr, $session:expr) => {{
        let stmts: &[String] = $stmts;
        for chunk in $hashes.chunks(WRITE_BATCH_MAX) {
            let class = size_class(chunk.len());
            let mut q = sqlx::query(&stmts[class]);
            for i in 0..(1usize << class) {
                // Padding: a convhash is 40 hex digits, never empty.
                q = q.bind(chunk.get(i).copied().unwrap_or(""));
            }
            for r in q.fetch_all(&mut *$conn).await? {
                let id: i64 = r.try_get(0)?;
                let hash: String = r.try_get(1)?;
                let enabled: i64 = r.try_get(2)?;
                if hash.is_empty() {
                    $session = Some(id);
                    continue;
                }
                // Ordered by id: the first row of a hash is the canonical one.
                $out.entry(hash).or_insert((id, enabled != 0));
            }
        }
    }};
}

/// The ids an `INSERT ... RETURNING id` gave its rows, ascending (a statement's rows take
/// increasing ids in the order they are listed).
macro_rules! returned_ids {
    ($q:expr, $conn:expr) => {{
        let mut got = $q
            .fetch_all(&mut *$conn)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        got.sort_unstable();
        got
    }};
}

/// Multi-row INSERT of the new `messages` rows, in batch order; returns their ids in that order.
/// With RETURNING the ids come back with the rows (sorted: a statement's rows take increasing ids
/// in the order they are listed, on every backend); without (MySQL) each row is inserted alone and
/// its id read from `last_insert_id`, since MySQL's interleaved auto-increment mode does not promise
/// consecutive ids to a multi-row INSERT.
macro_rules! insert_messages {
    ($kind:ident, $sql:expr, $conn:expr, $rows:expr, $t:expr, $returning:expr) => {{
        let mut ids: Vec<i64> = Vec::with_capacity($rows.len());
        if let (true, Some(stmt)) = ($returning && !$rows.is_empty(), &$sql.msg_insert_json) {
            let array: Vec<(i64, i64, &str, &str)> = $rows
                .iter()
                .map(|(conv, m, customdata)| (m.from, *conv, m.text.as_str(), customdata.as_str()))
                .collect();
            let q = sqlx::query(stmt).bind($t).bind(json_array(&array)?);
            ids.extend(returned_ids!(q, $conn));
        } else if $returning {
            let mut at = 0;
            for run in power_of_two_runs($rows.len()) {
                let mut q = sqlx::query(&$sql.msg_insert_rows[size_class(run)]);
                for (conv, m, customdata) in &$rows[at..at + run] {
                    q = q
                        .bind(m.from)
                        .bind(*conv)
                        .bind(&m.text)
                        .bind(&m.text)
                        .bind($t)
                        .bind(customdata);
                }
                ids.extend(returned_ids!(q, $conn));
                at += run;
            }
        } else {
            for (conv, m, customdata) in &$rows {
                let q = sqlx::query(&$sql.msg_insert_rows[0])
                    .bind(m.from)
                    .bind(*conv)
                    .bind(&m.text)
                    .bind(&m.text)
                    .bind($t)
                    .bind(customdata);
                ids.push(insert_id!($kind, q, &mut *$conn));
            }
        }
        if ids.len() != $rows.len() {
            return Err(super::StoreError::Schema(
                "the messages insert returned fewer ids than rows".into(),
            ));
        }
        ids
    }};
}

/// The body of [`Store::store_batch`], compiled once per backend. Round trips per batch, whatever its
/// size: the conversation lookup, one INSERT per power-of-two run into `messages` and into
/// `block_dockchat_sent`, the window lookup (only for windows not known to exist), the commit;
/// without RETURNING (MySQL) also a duplicate check before, and one INSERT per message. Only a
/// pair's first message, a window's first use or a retried cid add statements.
macro_rules! store_batch_body {
    ($kind:ident, $open:path, $begin:expr, $sql:expr, $wsql:expr, $batch:expr, $returning:expr, $turn:expr) => {{
        let mut turn: IdTurn = $turn;
        let sql: &MessagingSql = $sql;
        let batch: &[NewMessage] = $batch;
        let plan = BatchPlan::new(batch);
        let t = now();
        let started = std::time::Instant::now();
        // Everything up to the commit runs under one deadline (pool acquire included): a database
        // that does not answer fails the batch in seconds, and dropping the transaction rolls it
        // back, so a timeout here always means nothing was stored.
        let prepared = tokio::time::timeout(WRITE_TIMEOUT, async {
        let mut tx = $begin.await?;
        let t_begin = started.elapsed();
        // Which server session holds the transaction: if its COMMIT goes unanswered, that session
        // is ended before the outcome is read (see `Store::commit_outcome`). Read with the
        // conversations below, or on its own when the batch has no pair to look up.
        let mut session: Option<i64> = None;

        // Retried sends: cids stored by an earlier batch. With RETURNING the sent insert tells.
        let mut existing: HashMap<(i64, String), MsgRow> = HashMap::new();
        if !$returning {
            fetch_by_keys!(sql, tx, plan.keys, existing);
        }
        let t_dups = started.elapsed();

        // The sends that may store a new row: the first use of a key not known to be stored.
        let candidates: Vec<usize> = (0..batch.len())
            .filter(|&i| {
                // No key to build when nothing was found (always so with RETURNING).
                plan.first[i]
                    && (existing.is_empty()
                        || !existing.contains_key(&(batch[i].from, batch[i].cid.clone())))
            })
            .collect();

        // Conversations, found by Moodle's hash, created for pairs that never talked (as
        // `api::create_conversation` does: the row, then the members [sender, recipient]).
        // Each pair send's hash, computed once (sha1).
        let mut pair_hash: Vec<Option<String>> = vec![None; batch.len()];
        for &i in &candidates {
            if batch[i].group.is_none() {
                pair_hash[i] = Some(conversation_hash(batch[i].from, batch[i].to));
            }
        }
        let mut hashes: Vec<&str> = pair_hash.iter().flatten().map(String::as_str).collect();
        hashes.sort_unstable();
        hashes.dedup();
        let mut convs: HashMap<String, (i64, bool)> = HashMap::with_capacity(hashes.len());
        fetch_convs!(&sql.conv_by_hashes, tx, hashes, convs, session);
        if session.is_none() && !candidates.is_empty() {
            if let Some(q) = &sql.session_id {
                session = Some(sqlx::query_scalar::<_, i64>(q).fetch_one(&mut *tx).await?);
            }
        }
        // Group conversations exist (Moodle creates them with the group): only `enabled` is read,
        // inside the transaction as for a pair's.
        let mut group_ids: Vec<i64> = candidates
            .iter()
            .filter_map(|&i| batch[i].group.as_ref().map(|g| g.conv))
            .collect();
        group_ids.sort_unstable();
        group_ids.dedup();
        let mut group_enabled: HashMap<i64, bool> = HashMap::with_capacity(group_ids.len());
        for chunk in group_ids.chunks(WRITE_BATCH_MAX) {
            let class = size_class(chunk.len());
            let mut q = sqlx::query(&sql.conv_by_ids[class]);
            for i in 0..(1usize << class) {
                q = q.bind(chunk.get(i).copied().unwrap_or(-1));
            }
            for r in q.fetch_all(&mut *tx).await? {
                group_enabled.insert(r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)? != 0);
            }
        }
        // Pairs with no conversation yet: another node's writer may be creating the same ones
        // now. With the lock held, they are looked up again (see [`ConvLock`]).
        let unknown: Vec<&str> = hashes.iter().copied().filter(|h| !convs.contains_key(*h)).collect();
        if !unknown.is_empty() && !matches!(sql.conv_lock, ConvLock::None) {
            // A batch before this one (on this node) may need the same lock: it takes it before
            // its INSERT, which this one would otherwise wait for holding the lock, a wait no
            // database sees. (A new pair's batch runs alone; a pair whose conversation was
            // deleted since the writer last saw it may not.)
            if let Some(before) = turn.after.take() {
                let _ = before.await;
            }
            let locked = match &sql.conv_lock {
                ConvLock::None => false,
                ConvLock::Advisory(stmt) => {
                    let mut keys: Vec<i64> = unknown.iter().map(|h| advisory_key(h)).collect();
                    keys.sort_unstable();
                    keys.dedup();
                    sqlx::query(stmt).bind(json_array(&keys)?).execute(&mut *tx).await?;
                    true
                }
                ConvLock::Row(stmt) => match sqlx::query(stmt).fetch_all(&mut *tx).await {
                    Ok(rows) => !rows.is_empty(),
                    // Refused (MySQL 8.0.22+ wants UPDATE, DELETE or LOCK TABLES beside SELECT
                    // for a locking read; MariaDB does not): a failed statement leaves MySQL's
                    // transaction open, and the batch goes on as a single node's would.
                    Err(sqlx::Error::Database(e)) => {
                        tracing::warn!(error = %e, "the conversation lock was refused");
                        false
                    }
                    Err(e) => return Err(e.into()),
                },
            };
            if !locked {
                tracing::warn!(
                    pairs = unknown.len(),
                    "creating conversations without the lock across nodes (a pair may get two if another node creates it at the same moment)"
                );
            }
            fetch_convs!(&sql.conv_by_hashes_current, tx, unknown, convs, session);
        }
        if let (true, Some(conv_stmt), Some(members_stmt)) =
            ($returning, &sql.conv_insert_json, &sql.members_insert_json)
        {
            // Each new pair once, in the order of its first send.
            let mut new_pairs: Vec<(&str, i64, i64)> = Vec::new();
            let mut named = std::collections::HashSet::new();
            for &i in &candidates {
                if let Some(hash) = &pair_hash[i] {
                    if !convs.contains_key(hash) && named.insert(hash.as_str()) {
                        new_pairs.push((hash.as_str(), batch[i].from, batch[i].to));
                    }
                }
            }
            if !new_pairs.is_empty() {
                let hashes: Vec<(&str,)> = new_pairs.iter().map(|p| (p.0,)).collect();
                let q = sqlx::query(conv_stmt).bind(t).bind(t).bind(json_array(&hashes)?);
                let mut created: HashMap<String, i64> = HashMap::with_capacity(new_pairs.len());
                for r in q.fetch_all(&mut *tx).await? {
                    created.insert(r.try_get::<String, _>(1)?, r.try_get::<i64, _>(0)?);
                }
                let mut members: Vec<(i64, i64)> = Vec::with_capacity(2 * new_pairs.len());
                for (hash, from, to) in &new_pairs {
                    let id = created.get(*hash).copied().ok_or_else(|| {
                        super::StoreError::Schema("a created conversation was not returned".into())
                    })?;
                    members.push((id, *from));
                    members.push((id, *to));
                    convs.insert(hash.to_string(), (id, true));
                }
                sqlx::query(members_stmt)
                    .bind(t)
                    .bind(json_array(&members)?)
                    .fetch_all(&mut *tx)
                    .await?;
            }
        }
        for &i in &candidates {
            let m = &batch[i];
            let Some(hash) = &pair_hash[i] else {
                continue;
            };
            if convs.contains_key(hash) {
                continue;
            }
            let q = sqlx::query(&sql.conv_insert).bind(hash).bind(t).bind(t);
            let id = insert_id!($kind, q, &mut *tx);
            sqlx::query(&sql.members_insert)
                .bind(id).bind(m.from).bind(t)
                .bind(id).bind(m.to).bind(t)
                .execute(&mut *tx)
                .await?;
            convs.insert(hash.clone(), (id, true));
        }

        // The messages, except into disabled conversations.
        let mut disabled = vec![false; batch.len()];
        let mut rows: Vec<(i64, &NewMessage, String)> = Vec::with_capacity(candidates.len());
        let mut written: Vec<usize> = Vec::with_capacity(candidates.len());
        for &i in &candidates {
            let m = &batch[i];
            if let Some(g) = &m.group {
                // A group conversation deleted in Moodle since the check stores nothing either.
                if !group_enabled.get(&g.conv).copied().unwrap_or(false) {
                    disabled[i] = true;
                    continue;
                }
                rows.push((g.conv, m, group_customdata(&m.icon, &g.icon, &g.name)));
                written.push(i);
                continue;
            }
            let conv_row = pair_hash[i].as_ref().and_then(|h| convs.get(h));
            let (conv, enabled) = conv_row.copied().ok_or_else(|| {
                super::StoreError::Schema("conversation row missing after insert".into())
            })?;
            if !enabled {
                disabled[i] = true;
                continue;
            }
            rows.push((conv, m, message_customdata(&m.icon)));
            written.push(i);
        }
        let t_convs = started.elapsed();
        // Ids are allocated by this INSERT: it waits for the batch before it to have run its own,
        // so the ids of batches in flight follow the order they were started in.
        if let Some(before) = turn.after.take() {
            // A batch that failed before its INSERT lets the next one go (the sender dropped).
            let _ = before.await;
        }
        let ids = insert_messages!($kind, sql, tx, rows, t, $returning);
        if let Some(next) = turn.then.take() {
            let _ = next.send(());
        }

        // Their cids. A cid stored by an earlier batch is not inserted again: its new messages
        // row goes (it was never visible to anyone) and the earlier message is the answer.
        let mut kept: std::collections::HashSet<i64> = std::collections::HashSet::with_capacity(ids.len());
        let mut at = 0;
        if let (true, Some(stmt)) = ($returning && !rows.is_empty(), &sql.sent_insert_json) {
            let array: Vec<(i64, i64, i64, &str)> = rows
                .iter()
                .zip(&ids)
                .map(|((conv, m, _), id)| (*id, *conv, m.from, m.cid.as_str()))
                .collect();
            let q = sqlx::query(stmt).bind(t).bind(t).bind(json_array(&array)?);
            for r in q.fetch_all(&mut *tx).await? {
                kept.insert(r.try_get::<i64, _>(0)?);
            }
            at = rows.len();
        }
        for run in power_of_two_runs(rows.len() - at) {
            let mut q = sqlx::query(&sql.sent_insert_rows[size_class(run)]);
            for ((conv, m, _), id) in rows[at..at + run].iter().zip(&ids[at..at + run]) {
                q = q.bind(*id).bind(*conv).bind(m.from).bind(&m.cid).bind(t).bind(t);
            }
            if $returning {
                for r in q.fetch_all(&mut *tx).await? {
                    kept.insert(r.try_get::<i64, _>(0)?);
                }
            } else {
                q.execute(&mut *tx).await?;
                kept.extend(&ids[at..at + run]);
            }
            at += run;
        }
        let mut new_ids: HashMap<(i64, String), i64> = HashMap::with_capacity(ids.len());
        let mut retried: Vec<(i64, &str)> = Vec::new();
        for ((_, m, _), id) in rows.iter().zip(&ids) {
            if kept.contains(id) {
                new_ids.insert((m.from, m.cid.clone()), *id);
            } else {
                sqlx::query(&sql.msg_delete).bind(*id).execute(&mut *tx).await?;
                retried.push((m.from, m.cid.as_str()));
            }
        }
        if !retried.is_empty() {
            fetch_by_keys!(sql, tx, retried, existing);
        }
        let fresh: Vec<usize> = written
            .into_iter()
            .filter(|&i| new_ids.contains_key(&(batch[i].from, batch[i].cid.clone())))
            .collect();
        let t_insert = started.elapsed();

        // Windows: the sender's (open) and the recipient's (minimised), where the caller does not
        // know them to exist. The first send of the batch that needs one creates it.
        let mut wanted: Vec<(i64, i64, i64, usize, usize)> = Vec::new(); // owner, peer, state, send, side
        let mut seen = std::collections::HashSet::new();
        for &i in &fresh {
            let m = &batch[i];
            // Dock windows are onto users: a group send opens none.
            if m.group.is_some() {
                continue;
            }
            for (side, (owner, peer, state)) in
                [(m.from, m.to, WINDOW_OPEN), (m.to, m.from, WINDOW_MINIMISED)].into_iter().enumerate()
            {
                if !m.windows_known[side] && seen.insert((owner, peer)) {
                    wanted.push((owner, peer, state, i, side));
                }
            }
        }
        let mut opened = vec![[false, false]; batch.len()];
        if !wanted.is_empty() {
            let wsql: &super::windows::WindowSql = $wsql;
            let keys: Vec<(i64, i64)> = wanted.iter().map(|w| (w.0, w.1)).collect();
            let mut have: std::collections::HashSet<(i64, i64)> = std::collections::HashSet::new();
            for chunk in keys.chunks(WRITE_BATCH_MAX) {
                let class = size_class(chunk.len());
                let mut q = sqlx::query(&wsql.by_pairs[class]);
                for i in 0..(1usize << class) {
                    let (a, b) = chunk.get(i).copied().unwrap_or((-1, -1));
                    q = q.bind(a).bind(b);
                }
                for r in q.fetch_all(&mut *tx).await? {
                    have.insert((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?));
                }
            }
            if let (true, Some(stmt)) = ($returning, &sql.window_insert_json) {
                let missing: Vec<(i64, i64, i64)> = wanted
                    .iter()
                    .filter(|w| !have.contains(&(w.0, w.1)))
                    .map(|w| (w.0, w.1, w.2))
                    .collect();
                if !missing.is_empty() {
                    let q = sqlx::query(stmt).bind(t).bind(json_array(&missing)?);
                    let mut inserted = std::collections::HashSet::with_capacity(missing.len());
                    for r in q.fetch_all(&mut *tx).await? {
                        inserted.insert((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?));
                    }
                    for &(owner, peer, _, i, side) in &wanted {
                        opened[i][side] = inserted.contains(&(owner, peer));
                    }
                }
                // Every wanted window is settled: none is left for the one-by-one path below.
                wanted.clear();
            }
            for (owner, peer, state, i, side) in wanted {
                if have.contains(&(owner, peer)) {
                    continue;
                }
                // IGNORE: a `window` request of the same user may insert the row concurrently.
                let inserted = sqlx::query(&wsql.insert_ignore)
                    .bind(owner)
                    .bind(peer)
                    .bind(state)
                    .bind(t)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                opened[i][side] = inserted > 0;
            }
        }
        let t_windows = started.elapsed();

        // The answer, in batch order, is worked out before the commit: once the commit is sent
        // nothing may fail any more, or a stored message would be reported as not stored.
        let mut stored_rows: Vec<Option<(MsgRow, bool)>> = vec![None; plan.keys.len()];
        let mut out = Vec::with_capacity(batch.len());
        for (i, m) in batch.iter().enumerate() {
            let k = plan.key_of[i];
            if let Some((prev, was_disabled)) = &stored_rows[k] {
                out.push(Stored {
                    message: prev.clone(),
                    dup: !*was_disabled,
                    disabled: *was_disabled,
                    opened_sender_window: false,
                    opened_recipient_window: false,
                });
                continue;
            }
            let (message, dup) = if disabled[i] {
                let send = MsgRow { id: 0, from: m.from, to: m.to, conv: 0, cid: m.cid.clone(), text: String::new(), time: t };
                (send, false)
            } else {
                match existing.get(&(m.from, m.cid.clone())) {
                    Some(row) => (row.clone(), true),
                    None => {
                        let id = new_ids.get(&(m.from, m.cid.clone())).copied().ok_or_else(|| {
                            super::StoreError::Schema("inserted message not read back".into())
                        })?;
                        let conv = match (&m.group, &pair_hash[i]) {
                            (Some(g), _) => g.conv,
                            (None, Some(h)) => convs.get(h).map(|c| c.0).unwrap_or(0),
                            (None, None) => 0,
                        };
                        let row = MsgRow {
                            id,
                            from: m.from,
                            to: m.to,
                            conv,
                            cid: m.cid.clone(),
                            text: m.text.clone(),
                            time: t,
                        };
                        (row, false)
                    }
                }
            };
            stored_rows[k] = Some((message.clone(), disabled[i]));
            out.push(Stored {
                message,
                dup,
                disabled: disabled[i],
                opened_sender_window: opened[i][0],
                opened_recipient_window: opened[i][1],
            });
        }
        let phases = PreparePhases { begin: t_begin, dups: t_dups, convs: t_convs, insert: t_insert, windows: t_windows };
        Ok::<_, super::StoreError>(PreparedBatch {
            tx: $open(tx),
            session,
            out,
            fresh: fresh.len(),
            started,
            phases,
        })
        })
        .await
        .map_err(|_| super::StoreError::Timeout("the batch did not reach its commit in time"))??;
        Ok(prepared)
    }};
}

/// Marks read, in one transaction, every message of the other user up to `upto` that `reader` has
/// no read row for, as `api::mark_message_as_read` does (one `message_user_actions` row per message),
/// and queues one `message_viewed` event per new row for the block. Evaluates to the new read rows'
/// ids.
macro_rules! mark_read_body {
    ($kind:ident, $begin:expr, $rows_sql:expr, $jobs_sql:expr, $select:expr, $reader:expr, $returning:expr) => {{
        let rows_sql: &[String] = $rows_sql;
        let jobs_sql: &[String] = $jobs_sql;
        let t = now();
        let mut tx = $begin.await?;
        let rows = $select.fetch_all(&mut *tx).await?;
        let mut senders: HashMap<i64, i64> = HashMap::with_capacity(rows.len());
        let mut order: Vec<i64> = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get(0)?;
            senders.insert(id, r.try_get(1)?);
            order.push(id);
        }
        // (read row id, message id) of the rows this call inserted. A row Moodle (the drawer, another
        // tab) inserted meanwhile is skipped; Moodle fires its own event for it.
        let mut marked: Vec<(i64, i64)> = Vec::with_capacity(order.len());
        if $returning {
            for chunk in order.chunks(WRITE_BATCH_MAX) {
                let mut at = 0;
                for run in power_of_two_runs(chunk.len()) {
                    let mut q = sqlx::query(&rows_sql[size_class(run)]);
                    for id in &chunk[at..at + run] {
                        q = q.bind($reader).bind(*id).bind(t);
                    }
                    for r in q.fetch_all(&mut *tx).await? {
                        marked.push((r.try_get(0)?, r.try_get(1)?));
                    }
                    at += run;
                }
            }
        } else {
            for id in &order {
                let q = sqlx::query(&rows_sql[0]).bind($reader).bind(*id).bind(t);
                match q.execute(&mut *tx).await {
                    Ok(done) => marked.push((last_insert_id!($kind, done), *id)),
                    // InnoDB rolls back only the failed statement.
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        for chunk in marked.chunks(WRITE_BATCH_MAX) {
            let mut at = 0;
            for run in power_of_two_runs(chunk.len()) {
                let mut q = sqlx::query(&jobs_sql[size_class(run)]);
                for (mua, message) in &chunk[at..at + run] {
                    let from = senders.get(message).copied().unwrap_or(0);
                    q = q.bind($reader).bind(*message).bind(*mua).bind(from).bind(t);
                }
                q.execute(&mut *tx).await?;
                at += run;
            }
        }
        tx.commit().await?;
        marked
    }};
}

/// A group commit slower than this is logged at `warn` with its phases (pool wait, each
/// statement group, the COMMIT itself), so a stall names where it was spent.
pub const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_millis(100);

/// An open write transaction of one of the backends.
enum OpenTx {
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// When each phase of a batch before its COMMIT ended, from the batch's start.
#[derive(Clone, Copy, Debug)]
struct PreparePhases {
    begin: std::time::Duration,
    dups: std::time::Duration,
    convs: std::time::Duration,
    insert: std::time::Duration,
    windows: std::time::Duration,
}

/// Where a batch's id allocation (its `messages` INSERT) comes among batches prepared at the same
/// time: after `after` fires (the batch before it has allocated its ids, or failed), and then it
/// fires `then` for the next one. Default: no turn to wait for (nothing else in flight).
#[derive(Debug, Default)]
pub struct IdTurn {
    pub after: Option<tokio::sync::oneshot::Receiver<()>>,
    pub then: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A batch whose rows are written in an open transaction, not committed: its message ids are
/// allocated (above every id of the batches whose turn came before, see [`IdTurn`]) and nothing of
/// it is visible to anyone yet. Dropping it rolls the batch back.
pub struct PreparedBatch {
    tx: OpenTx,
    session: Option<i64>,
    out: Vec<Stored>,
    fresh: usize,
    started: std::time::Instant,
    phases: PreparePhases,
}

impl std::fmt::Debug for PreparedBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedBatch")
            .field("sends", &self.out.len())
            .field("fresh", &self.fresh)
            .finish_non_exhaustive()
    }
}

impl PreparedBatch {
    /// Commits the batch; evaluates to its answer, in batch order. A COMMIT the server refused
    /// rolled everything back (an error); one that went unanswered is
    /// [`super::StoreError::CommitUnknown`], holding the answer to give if it was stored.
    pub async fn commit(self) -> Result<Vec<Stored>> {
        let PreparedBatch {
            tx,
            session,
            out,
            fresh,
            started,
            phases,
            ..
        } = self;
        let committed = match tx {
            OpenTx::MySql(tx) => tokio::time::timeout(COMMIT_TIMEOUT, tx.commit()).await,
            OpenTx::Postgres(tx) => tokio::time::timeout(COMMIT_TIMEOUT, tx.commit()).await,
            OpenTx::Sqlite(tx) => tokio::time::timeout(COMMIT_TIMEOUT, tx.commit()).await,
        };
        match committed {
            Ok(Ok(())) => {}
            // The server answered the COMMIT with an error: it rolled back.
            Ok(Err(sqlx::Error::Database(e))) => return Err(sqlx::Error::Database(e).into()),
            // The connection failed or went quiet after the COMMIT left: it may have committed.
            Ok(Err(_)) | Err(_) => {
                return Err(super::StoreError::CommitUnknown(Box::new(
                    PendingCommit::new(out, session),
                )))
            }
        }
        let total = started.elapsed();
        let us = |d: std::time::Duration| d.as_micros() as u64;
        let p = phases;
        macro_rules! phases_event {
            ($level:ident, $what:literal) => {
                tracing::$level!(
                    sends = out.len(),
                    fresh,
                    pool_wait_us = us(p.begin),
                    dups_us = us(p.dups - p.begin),
                    convs_us = us(p.convs - p.dups),
                    insert_us = us(p.insert - p.convs),
                    windows_us = us(p.windows - p.insert),
                    commit_us = us(total - p.windows),
                    total_us = us(total),
                    $what
                )
            };
        }
        if total >= SLOW_COMMIT {
            phases_event!(warn, "slow group commit");
        } else {
            phases_event!(debug, "group commit");
        }
        Ok(out)
    }
}

impl Store {
    /// Writes a batch of sends in ONE open transaction, in order, up to its COMMIT (see
    /// [`Store::store_batch`] for what is written); the caller commits it with
    /// [`PreparedBatch::commit`]. An error means nothing of the batch was stored.
    pub async fn prepare_batch(&self, batch: &[NewMessage], turn: IdTurn) -> Result<PreparedBatch> {
        let sql = &self.sql.messaging;
        let wsql = &self.sql.windows;
        match &self.db {
            // READ COMMITTED, as Moodle's transactions are: the lookup after the conversation lock
            // must see what other writers committed, and MariaDB 11.6+ (innodb_snapshot_isolation)
            // fails a REPEATABLE READ transaction whose locking read meets a row newer than its
            // snapshot.
            super::Db::MySql(pool) => {
                store_batch_body!(
                    MySql,
                    OpenTx::MySql,
                    pool.begin_with(
                        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION"
                    ),
                    sql,
                    wsql,
                    batch,
                    self.returning,
                    turn
                )
            }
            // READ COMMITTED whatever the server's default (as Moodle begins its transactions):
            // the lookup after the conversation lock must see what other writers committed.
            super::Db::Postgres(pool) => {
                store_batch_body!(
                    Other,
                    OpenTx::Postgres,
                    pool.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED"),
                    sql,
                    wsql,
                    batch,
                    true,
                    turn
                )
            }
            // Take SQLite's write lock up front: a deferred transaction that reads first and writes
            // later fails at once with SQLITE_BUSY(_SNAPSHOT) when another connection wrote in
            // between, instead of waiting on the busy timeout.
            super::Db::Sqlite(pool) => {
                store_batch_body!(
                    Other,
                    OpenTx::Sqlite,
                    pool.begin_with("BEGIN IMMEDIATE"),
                    sql,
                    wsql,
                    batch,
                    true,
                    turn
                )
            }
        }
    }

    /// Stores a batch of sends in ONE transaction, in order. A `(from, cid)` seen before returns the
    /// stored message with `dup = true`. Finds or creates the pair's Moodle conversation, and the
    /// sender's (open) and recipient's (minimised) windows when they had none. A send into a
    /// conversation Moodle disabled stores nothing (`disabled`). Nothing is visible to anyone before
    /// the commit; an error means nothing of the batch was stored.
    pub async fn store_batch(&self, batch: &[NewMessage]) -> Result<Vec<Stored>> {
        self.prepare_batch(batch, IdTurn::default())
            .await?
            .commit()
            .await
    }

    /// Whether the batch behind an unanswered COMMIT was committed. Its new rows are looked up by
    /// `(from, cid)` with the ids the INSERT gave them (only this daemon's single writer stores
    /// these keys). Not finding them proves nothing while the session that sent the COMMIT lives:
    /// the COMMIT may still be on its way, queued or being flushed. So that session is ended first
    /// (`KILL` / `pg_terminate_backend`, then waited out), after which the outcome is final. Any
    /// row found means committed (a transaction commits whole; a row missing beside it was deleted
    /// since, by Moodle's privacy API say). A batch with no new row counts as committed: there was
    /// nothing to lose. Fails while the database is unreachable; the caller asks again.
    pub async fn commit_outcome(&self, pending: &PendingCommit) -> Result<bool> {
        if pending.fresh().next().is_none() || self.any_stored(pending).await? {
            return Ok(true);
        }
        let Some(session) = pending.session else {
            return Ok(false);
        };
        self.end_session(session).await?;
        self.any_stored(pending).await
    }

    /// Whether any new row of the pending batch is visible.
    async fn any_stored(&self, pending: &PendingCommit) -> Result<bool> {
        let sql = &self.sql.messaging;
        let keys: Vec<(i64, &str)> = pending.fresh().map(|m| (m.from, m.cid.as_str())).collect();
        let mut found: HashMap<(i64, String), MsgRow> = HashMap::with_capacity(keys.len());
        dispatch!(self, pool => {
            let mut conn = pool.acquire().await?;
            fetch_by_keys!(sql, conn, keys, found);
        });
        Ok(pending.fresh().any(|m| {
            found
                .get(&(m.from, m.cid.clone()))
                .is_some_and(|f| f.id == m.id)
        }))
    }

    /// Ends a server session of this daemon's own user and waits until the server has let it go
    /// (its transaction then committed or rolled back for good). Bounded by [`END_SESSION_WAIT`].
    async fn end_session(&self, session: i64) -> Result<()> {
        let sql = &self.sql.messaging;
        let started = std::time::Instant::now();
        match &self.db {
            super::Db::MySql(pool) => {
                // KILL takes no placeholder; the id is an integer the server gave us.
                match sqlx::raw_sql(&format!("KILL CONNECTION {session}"))
                    .execute(pool)
                    .await
                {
                    Ok(_) => {}
                    // ER_NO_SUCH_THREAD: it has ended already.
                    Err(sqlx::Error::Database(e)) if e.message().contains("Unknown thread") => {}
                    Err(e) => return Err(e.into()),
                }
            }
            super::Db::Postgres(pool) => {
                sqlx::query("SELECT pg_terminate_backend(CAST($1 AS INTEGER))")
                    .bind(session)
                    .execute(pool)
                    .await?;
            }
            super::Db::Sqlite(_) => return Ok(()),
        }
        let Some(alive) = &sql.session_alive else {
            return Ok(());
        };
        loop {
            let n: i64 = dispatch!(self, pool => sqlx::query_scalar(alive).bind(session).fetch_one(pool).await?);
            if n == 0 {
                tracing::info!(session, "the session of an unanswered commit has ended");
                return Ok(());
            }
            if started.elapsed() > END_SESSION_WAIT {
                return Err(super::StoreError::Timeout(
                    "the session of an unanswered commit did not end",
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The Moodle conversation of a pair (the lowest id of its hash), if they have one.
    pub async fn conversation(&self, a: i64, b: i64) -> Result<Option<i64>> {
        let sql = &self.sql.messaging.conv_get;
        let hash = conversation_hash(a, b);
        dispatch!(self, pool => {
            match sqlx::query(sql).bind(&hash).fetch_optional(pool).await? {
                Some(r) => Ok(Some(r.try_get::<i64, _>(0)?)),
                None => Ok(None),
            }
        })
    }

    /// Up to `limit` messages between `me` and `peer` older than message `before` (`None`: the
    /// newest), newest first, in the drawer's order (time, then id), without those `me` deleted.
    pub async fn history(
        &self,
        me: i64,
        peer: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<MsgRow>> {
        let sql = &self.sql.messaging;
        let hash = conversation_hash(me, peer);
        let to_row = |from: i64, id: i64, conv: i64, cid: String, text: String, time: i64| MsgRow {
            id,
            from,
            to: if from == me { peer } else { me },
            conv,
            cid,
            text,
            time,
        };
        dispatch!(self, pool => {
            let rows = match before {
                None => sqlx::query(&sql.history_latest).bind(&hash).bind(me).bind(limit as i64).fetch_all(pool).await?,
                Some(before) => {
                    let Some(bound) = sqlx::query(&sql.history_bound).bind(&hash).bind(before).fetch_optional(pool).await? else {
                        return Ok(Vec::new());
                    };
                    let t: i64 = bound.try_get(0)?;
                    let id: i64 = bound.try_get(1)?;
                    // `before` itself is left out; a `before` that is no message starts at the
                    // nearest older one, included.
                    let upto = if id == before { id } else { id + 1 };
                    sqlx::query(&sql.history_before).bind(&hash).bind(me).bind(t).bind(t).bind(upto)
                        .bind(limit as i64).fetch_all(pool).await?
                }
            };
            rows.iter().map(|r| {
                Ok(to_row(r.try_get(1)?, r.try_get(0)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?))
            }).collect()
        })
    }

    /// Messages of any of `user`'s individual conversations with id > `since`, ascending, at most
    /// `limit`, without those `user` deleted.
    pub async fn messages_since(&self, user: i64, since: i64, limit: usize) -> Result<Vec<MsgRow>> {
        let sql = &self.sql.messaging.missed;
        dispatch!(self, pool => {
            let rows = sqlx::query(sql).bind(user).bind(since).bind(user).bind(limit as i64).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                if let Some(m) = msg_row(r, Some(user))? {
                    out.push(m);
                }
            }
            Ok(out)
        })
    }

    /// The newest message id of the whole site (0 if none): every message of a user up to it is
    /// in their history, so it is the `welcome`'s resume cursor.
    pub async fn newest_message(&self) -> Result<i64> {
        let sql = &self.sql.messaging.max_id;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).fetch_one(pool).await?;
            Ok(r.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
        })
    }

    /// The newest message id between two users (0 if none).
    pub async fn last_message(&self, a: i64, b: i64) -> Result<i64> {
        let sql = &self.sql.messaging.pair_last;
        let hash = conversation_hash(a, b);
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(&hash).fetch_one(pool).await?;
            Ok(r.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
        })
    }

    /// Read markers between `me` and `peer`: (mine, theirs), each the newest message of the other
    /// one that has a read row of the reader (0 if none).
    pub async fn read_markers(&self, me: i64, peer: i64) -> Result<(i64, i64)> {
        let sql = &self.sql.messaging.read_markers;
        let hash = conversation_hash(me, peer);
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(me).bind(&hash).bind(me).bind(peer).bind(&hash).bind(peer)
                .fetch_one(pool).await?;
            Ok((
                r.try_get::<Option<i64>, _>(0)?.unwrap_or(0),
                r.try_get::<Option<i64>, _>(1)?.unwrap_or(0),
            ))
        })
    }

    /// Marks every message `peer` sent `reader` up to `upto` read (see [`mark_read_body`]); returns
    /// the ids of the read rows written (none: everything was read already).
    pub async fn mark_read(&self, reader: i64, peer: i64, upto: i64) -> Result<Vec<i64>> {
        let hash = conversation_hash(reader, peer);
        let to_mark = &self.sql.messaging.to_mark;
        self.mark_read_in(to_mark, ConvKey::Pair(&hash), reader, upto)
            .await
    }

    /// Marks every message of the other members of conversation `conv` up to `upto` read for
    /// `reader`, as `api::mark_all_messages_as_read` does; returns the ids of the read rows written.
    pub async fn mark_read_conv(&self, reader: i64, conv: i64, upto: i64) -> Result<Vec<i64>> {
        let to_mark = &self.sql.messaging.conv_to_mark;
        self.mark_read_in(to_mark, ConvKey::Conv(conv), reader, upto)
            .await
    }

    /// [`mark_read_body`] with the conversation selected by `to_mark` bound to `key`.
    async fn mark_read_in(
        &self,
        to_mark: &str,
        key: ConvKey<'_>,
        reader: i64,
        upto: i64,
    ) -> Result<Vec<i64>> {
        let sql = &self.sql.messaging;
        let (rows, jobs) = (&sql.read_insert_rows[..], &sql.job_insert_rows[..]);
        macro_rules! select {
            () => {
                match key {
                    ConvKey::Pair(hash) => sqlx::query(to_mark).bind(hash),
                    ConvKey::Conv(id) => sqlx::query(to_mark).bind(id),
                }
                .bind(upto)
                .bind(reader)
                .bind(reader)
            };
        }
        let marked: Vec<(i64, i64)> = match &self.db {
            super::Db::MySql(pool) => {
                mark_read_body!(
                    MySql,
                    pool.begin(),
                    rows,
                    jobs,
                    select!(),
                    reader,
                    self.returning
                )
            }
            super::Db::Postgres(pool) => {
                mark_read_body!(Other, pool.begin(), rows, jobs, select!(), reader, true)
            }
            super::Db::Sqlite(pool) => mark_read_body!(
                Other,
                pool.begin_with("BEGIN IMMEDIATE"),
                rows,
                jobs,
                select!(),
                reader,
                true
            ),
        };
        Ok(marked.into_iter().map(|(mua, _)| mua).collect())
    }

    /// Deletes messages of conversation `conv` for `user`, as `api::delete_message` (`one`: that
    /// message) or `api::delete_conversation_by_id` (`None`: every message up to `upto`) do: one
    /// `message_user_actions` row with action 2 per message not deleted for the user yet, and a
    /// `block_dockchat_job` (kind 2) per row for the worker's `message_deleted`. Returns the ids of
    /// the messages deleted now.
    pub async fn delete_messages(
        &self,
        user: i64,
        conv: i64,
        one: Option<i64>,
        upto: i64,
    ) -> Result<Vec<i64>> {
        let sql = &self.sql.messaging;
        let (rows, jobs) = (&sql.delete_insert_rows[..], &sql.delete_job_rows[..]);
        // A message id, or the conversation's newest id as a bound: one statement for both.
        let (first, last) = match one {
            Some(id) => (id, id),
            None => (0, upto),
        };
        macro_rules! select {
            () => {
                sqlx::query(&sql.to_delete)
                    .bind(conv)
                    .bind(first)
                    .bind(last)
                    .bind(user)
            };
        }
        let marked: Vec<(i64, i64)> = match &self.db {
            super::Db::MySql(pool) => {
                mark_read_body!(
                    MySql,
                    pool.begin(),
                    rows,
                    jobs,
                    select!(),
                    user,
                    self.returning
                )
            }
            super::Db::Postgres(pool) => {
                mark_read_body!(Other, pool.begin(), rows, jobs, select!(), user, true)
            }
            super::Db::Sqlite(pool) => mark_read_body!(
                Other,
                pool.begin_with("BEGIN IMMEDIATE"),
                rows,
                jobs,
                select!(),
                user,
                true
            ),
        };
        let mut ids: Vec<i64> = marked.into_iter().map(|(_, message)| message).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// The conversation of message `id`, if it exists.
    pub async fn message_conversation(&self, id: i64) -> Result<Option<i64>> {
        let sql = &self.sql.messaging.message_conv;
        dispatch!(self, pool => {
            Ok(match sqlx::query(sql).bind(id).fetch_optional(pool).await? {
                Some(r) => Some(r.try_get::<i64, _>(0)?),
                None => None,
            })
        })
    }

    /// Up to `limit` messages of conversation `conv` older than message `before` (`None`: the
    /// newest), newest first, in the drawer's order, without those `me` deleted; a group's
    /// messages are to 0.
    pub async fn conv_history(
        &self,
        me: i64,
        conv: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<MsgRow>> {
        let sql = &self.sql.messaging;
        dispatch!(self, pool => {
            let rows = match before {
                None => sqlx::query(&sql.conv_history_latest).bind(conv).bind(me).bind(limit as i64).fetch_all(pool).await?,
                Some(before) => {
                    let Some(bound) = sqlx::query(&sql.conv_history_bound).bind(conv).bind(before).fetch_optional(pool).await? else {
                        return Ok(Vec::new());
                    };
                    let t: i64 = bound.try_get(0)?;
                    let id: i64 = bound.try_get(1)?;
                    let upto = if id == before { id } else { id + 1 };
                    sqlx::query(&sql.conv_history_before).bind(conv).bind(me).bind(t).bind(t).bind(upto)
                        .bind(limit as i64).fetch_all(pool).await?
                }
            };
            rows.iter().map(|r| {
                Ok(MsgRow {
                    id: r.try_get(0)?,
                    from: r.try_get(1)?,
                    to: 0,
                    conv: r.try_get(2)?,
                    cid: r.try_get(3)?,
                    text: r.try_get(4)?,
                    time: r.try_get(5)?,
                })
            }).collect()
        })
    }

    /// The newest message id of conversation `conv` (0 if none).
    pub async fn conv_last_message(&self, conv: i64) -> Result<i64> {
        let sql = &self.sql.messaging.conv_last;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(conv).fetch_one(pool).await?;
            Ok(r.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
        })
    }

    /// Read markers of `me` in group conversation `conv`: (the newest message of the others `me`
    /// read, the newest of `me`'s that another member read), 0 if none.
    pub async fn conv_read_markers(&self, me: i64, conv: i64) -> Result<(i64, i64)> {
        let sql = &self.sql.messaging.conv_read_markers;
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(me).bind(conv).bind(me).bind(me).bind(conv).bind(me)
                .fetch_one(pool).await?;
            Ok((
                r.try_get::<Option<i64>, _>(0)?.unwrap_or(0),
                r.try_get::<Option<i64>, _>(1)?.unwrap_or(0),
            ))
        })
    }

    /// Messages from `peer` to `me` that `me` has neither read nor deleted (Moodle's unread count).
    pub async fn unread_count(&self, me: i64, peer: i64) -> Result<i64> {
        let sql = &self.sql.messaging.unread;
        let hash = conversation_hash(me, peer);
        dispatch!(self, pool => {
            let r = sqlx::query(sql).bind(&hash).bind(me).bind(me).fetch_one(pool).await?;
            Ok(r.try_get::<i64, _>(0)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(from: i64, cid: &str) -> NewMessage {
        NewMessage {
            from,
            to: 9,
            cid: cid.to_string(),
            text: "hi".to_string(),
            icon: String::new(),
            windows_known: [false, false],
            group: None,
        }
    }

    #[test]
    fn conversation_hash_is_moodles() {
        // sha1("4-5") and helper::get_conversation_hash([10, 9]) = sha1("9-10") (sorted as
        // numbers: as text "10" would sort first).
        assert_eq!(
            conversation_hash(4, 5),
            "20d6fad3553351dd3bb27c5c6335bf3de9d41add"
        );
        assert_eq!(conversation_hash(5, 4), conversation_hash(4, 5));
        assert_eq!(
            conversation_hash(10, 9),
            "7e40b2b49ff0e86cf35353765a3e7d58ee2a1a65"
        );
    }

    #[test]
    fn customdata_is_encoded_like_php_json_encode() {
        let c = message_customdata("https://m.example/pluginfile.php/5/user/icon/boost/f1?rev=3");
        assert_eq!(
            c,
            r#"{"actionbuttons":{"send":"Send"},"placeholders":{"send":"Write a message..."},"notificationiconurl":"https:\/\/m.example\/pluginfile.php\/5\/user\/icon\/boost\/f1?rev=3","courseid":1}"#
        );
        assert_eq!(php_json_string("é😀\"\n"), r#""\u00e9\ud83d\ude00\"\n""#);
        assert_eq!(
            php_json_string("a/b\\c\u{7f}\u{1}d"),
            r#""a\/b\\c\u007f\u0001d""#
        );
        assert_eq!(php_json_string(""), r#""""#);
        let parsed: serde_json::Value = serde_json::from_str(&c).expect("valid JSON");
        assert_eq!(parsed["courseid"], 1);
    }

    #[test]
    fn size_classes_cover_every_batch_size() {
        assert_eq!(size_class(1), 0);
        assert_eq!(size_class(2), 1);
        assert_eq!(size_class(3), 2);
        assert_eq!(size_class(WRITE_BATCH_MAX), SIZE_CLASSES - 1);
        for n in 1..=WRITE_BATCH_MAX {
            assert!(1 << size_class(n) >= n);
            assert!(size_class(n) < SIZE_CLASSES);
        }
    }

    #[test]
    fn runs_are_powers_of_two_summing_to_n() {
        assert_eq!(power_of_two_runs(100), vec![64, 32, 4]);
        assert_eq!(power_of_two_runs(1), vec![1]);
        assert!(power_of_two_runs(0).is_empty());
        for n in 1..=3 * WRITE_BATCH_MAX {
            let runs = power_of_two_runs(n);
            assert_eq!(runs.iter().sum::<usize>(), n);
            assert!(runs
                .iter()
                .all(|r| r.is_power_of_two() && *r <= WRITE_BATCH_MAX));
            assert!(
                runs.windows(2).all(|w| w[0] >= w[1]),
                "largest first: {runs:?}"
            );
        }
    }

    #[test]
    fn plan_finds_repeats_within_a_batch() {
        let batch = [send(1, "a"), send(2, "a"), send(1, "a"), send(1, "b")];
        let plan = BatchPlan::new(&batch);
        assert_eq!(plan.keys, vec![(1, "a"), (2, "a"), (1, "b")]);
        assert_eq!(plan.key_of, vec![0, 1, 0, 2]);
        assert_eq!(plan.first, vec![true, true, false, true]);
    }

    #[test]
    fn batched_statements_number_their_placeholders() {
        let b = SqlBuilder::new(Dialect::Postgres, "mdl_");
        let sql = MessagingSql::new(&b);
        assert_eq!(sql.msg_insert_rows.len(), SIZE_CLASSES);
        let two = &sql.msg_insert_rows[1];
        assert!(
            two.contains("($7, $8, NULL, $9, 0, '', $10, $11, 0, $12)"),
            "{two}"
        );
        assert!(two.ends_with("RETURNING id"), "{two}");
        assert!(sql.sent_insert_rows[0].ends_with("ON CONFLICT DO NOTHING RETURNING messageid"));
        assert!(sql.conv_by_hashes[2].contains("IN ($1, $2, $3, $4)"));
        let my = MessagingSql::new(&SqlBuilder::new(Dialect::MySql, "mdl_"));
        assert!(!my.msg_insert_rows[0].contains("RETURNING"));
        assert!(my.sent_insert_rows[0].starts_with("INSERT INTO"));
    }
}

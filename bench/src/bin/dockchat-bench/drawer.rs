//! `drawer`: messages written by Moodle itself (the drawer, the app) reaching the dock live.
//!
//! P pairs of users are online in the dock (2 × P sockets) while the bench writes private messages
//! straight into the database exactly as Moodle's `message_send` does: the individual conversation
//! found by `convhash` = sha1("low-high") (`api::get_conversation_between_users`) or created with its
//! two members (`api::create_conversation`), then one `messages` row; every statement autocommitted,
//! one row per statement, on a pool of connections standing for PHP workers. Messages are issued at a
//! fixed total rate (message `j` at `start + j / rate`, pair `j % P`, the direction alternating), and
//! a pair's messages are written one after the other, as one user's browser sends them.
//!
//! Each text carries its sequence number (`[dw<seq>] ...`). The latency origin is the moment the
//! `messages` INSERT returned (its commit), the end is the recipient's socket reading the `message`
//! frame the daemon's poller pushed. After the run a drain period waits for stragglers; then every
//! committed message not received by its recipient counts as missing, and a second copy at the
//! recipient as a duplicate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::Value;
use sqlx::mysql::MySqlPoolOptions;
use sqlx::postgres::PgPoolOptions;
use sqlx::{MySqlPool, PgPool};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Ws};
use crate::harness::Harness;
use crate::procs::CpuMark;
use crate::report::{self, ms, round};
use crate::setup::{unix_now, DbKind, FIRST_USER};

/// Parameters of a drawer run.
#[derive(Clone, Debug)]
pub struct Params {
    /// Pairs of users online in the dock.
    pub pairs: usize,
    /// Messages written per second (all pairs together).
    pub rate: u64,
    /// Seconds during which messages are written.
    pub duration: f64,
    /// Seconds to wait after the last insert for deliveries still under way.
    pub drain: f64,
    /// Database connections writing (PHP workers).
    pub writers: u32,
    /// Source addresses to spread the sockets over.
    pub src_ips: usize,
}

/// The chat line each message carries after its tag.
const TEXT: &str = "Hi! Did you finish the exercise for tomorrow's class?";
/// The tag in front of the sequence number.
const TAG: &str = "[dw";

/// The text of message `seq`.
fn message_text(seq: u64) -> String {
    format!("{TAG}{seq}] {TEXT}")
}

/// The sequence number carried by a text made by [`message_text`].
fn parse_seq(text: &str) -> Option<u64> {
    let rest = text.strip_prefix(TAG)?;
    let end = rest.find(']')?;
    rest[..end].parse().ok()
}

/// Sender and recipient (user ids) of message `seq`.
fn route(seq: u64, pairs: usize) -> (u64, u64) {
    let pairs = pairs.max(1) as u64;
    let pair = seq % pairs;
    let a = FIRST_USER + 2 * pair;
    let b = a + 1;
    if (seq / pairs) % 2 == 0 {
        (a, b)
    } else {
        (b, a)
    }
}

/// What happened to one issued message on the writing side.
#[derive(Clone, Copy, Default)]
struct Written {
    /// When the `messages` INSERT was issued (ns on the bench clock).
    started_ns: u64,
    /// When it returned, i.e. committed.
    committed_ns: u64,
}

/// A message frame read by a socket.
#[derive(Clone, Copy)]
struct Received {
    seq: u64,
    at_ns: u64,
    /// The socket's user is the recipient (not the sender's own copy).
    at_recipient: bool,
    /// The socket's user is neither the sender nor the recipient of `seq`.
    misrouted: bool,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// Recipient copies seen so far (drain progress).
    recipient_copies: AtomicU64,
    errors: AtomicU64,
    closed: AtomicU64,
    insert_failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Shared {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.note(what);
    }

    fn note(&self, what: String) {
        if let Ok(mut g) = self.first_error.lock() {
            if g.is_none() {
                *g = Some(what);
            }
        }
    }
}

/// The writing connections, as Moodle's PHP workers hold them.
#[derive(Clone)]
enum Writers {
    My(MySqlPool),
    Pg(PgPool),
}

impl Writers {
    async fn connect(kind: DbKind, url: &str, size: u32) -> Result<Writers> {
        let size = size.max(1);
        Ok(match kind {
            DbKind::Mariadb => Writers::My(
                MySqlPoolOptions::new()
                    .max_connections(size)
                    .min_connections(size)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await
                    .with_context(|| format!("connecting the drawer's writers to {url}"))?,
            ),
            DbKind::Postgres => Writers::Pg(
                PgPoolOptions::new()
                    .max_connections(size)
                    .min_connections(size)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await
                    .with_context(|| format!("connecting the drawer's writers to {url}"))?,
            ),
        })
    }

    /// `message_send` for a private message from `from` to `to`: the conversation by hash (created
    /// with its members when the pair never talked), then the `messages` row. Every statement
    /// autocommits. Returns the `messages` INSERT's start and return times.
    async fn send(&self, from: u64, to: u64, text: &str) -> Result<Written> {
        let hash = dockchat::store::messaging::conversation_hash(from as i64, to as i64);
        let (from, to) = (from as i64, to as i64);
        let t = unix_now() as i64;
        match self {
            Writers::My(pool) => {
                let mut c = pool.acquire().await.context("acquiring a writer")?;
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM mdl_message_conversations WHERE type = 1 AND convhash = ?",
                )
                .bind(&hash)
                .fetch_optional(&mut *c)
                .await
                .context("looking up the conversation by convhash")?;
                let conv = match found {
                    Some(id) => id,
                    None => {
                        let done = sqlx::query(
                            "INSERT INTO mdl_message_conversations (type, name, convhash, component, \
                             itemtype, itemid, contextid, enabled, timecreated, timemodified) \
                             VALUES (1, NULL, ?, NULL, NULL, NULL, NULL, 1, ?, ?)",
                        )
                        .bind(&hash)
                        .bind(t)
                        .bind(t)
                        .execute(&mut *c)
                        .await
                        .context("creating the conversation")?;
                        let id = done.last_insert_id() as i64;
                        for user in [from, to] {
                            sqlx::query(
                                "INSERT INTO mdl_message_conversation_members \
                                 (conversationid, userid, timecreated) VALUES (?, ?, ?)",
                            )
                            .bind(id)
                            .bind(user)
                            .bind(t)
                            .execute(&mut *c)
                            .await
                            .context("adding a conversation member")?;
                        }
                        id
                    }
                };
                let started_ns = client::now_ns();
                sqlx::query(
                    "INSERT INTO mdl_messages (useridfrom, conversationid, subject, fullmessage, \
                     fullmessageformat, fullmessagehtml, smallmessage, timecreated, fullmessagetrust, \
                     customdata) VALUES (?, ?, NULL, ?, 0, '', ?, ?, 0, NULL)",
                )
                .bind(from)
                .bind(conv)
                .bind(text)
                .bind(text)
                .bind(t)
                .execute(&mut *c)
                .await
                .context("inserting the messages row")?;
                Ok(Written {
                    started_ns,
                    committed_ns: client::now_ns(),
                })
            }
            Writers::Pg(pool) => {
                let mut c = pool.acquire().await.context("acquiring a writer")?;
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM mdl_message_conversations WHERE type = 1 AND convhash = $1",
                )
                .bind(&hash)
                .fetch_optional(&mut *c)
                .await
                .context("looking up the conversation by convhash")?;
                let conv = match found {
                    Some(id) => id,
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO mdl_message_conversations (type, name, convhash, component, \
                             itemtype, itemid, contextid, enabled, timecreated, timemodified) \
                             VALUES (1, NULL, $1, NULL, NULL, NULL, NULL, 1, $2, $3) RETURNING id",
                        )
                        .bind(&hash)
                        .bind(t)
                        .bind(t)
                        .fetch_one(&mut *c)
                        .await
                        .context("creating the conversation")?;
                        for user in [from, to] {
                            sqlx::query(
                                "INSERT INTO mdl_message_conversation_members \
                                 (conversationid, userid, timecreated) VALUES ($1, $2, $3) RETURNING id",
                            )
                            .bind(id)
                            .bind(user)
                            .bind(t)
                            .execute(&mut *c)
                            .await
                            .context("adding a conversation member")?;
                        }
                        id
                    }
                };
                let started_ns = client::now_ns();
                sqlx::query(
                    "INSERT INTO mdl_messages (useridfrom, conversationid, subject, fullmessage, \
                     fullmessageformat, fullmessagehtml, smallmessage, timecreated, fullmessagetrust, \
                     customdata) VALUES ($1, $2, NULL, $3, 0, '', $4, $5, 0, NULL) RETURNING id",
                )
                .bind(from)
                .bind(conv)
                .bind(text)
                .bind(text)
                .bind(t)
                .execute(&mut *c)
                .await
                .context("inserting the messages row")?;
                Ok(Written {
                    started_ns,
                    committed_ns: client::now_ns(),
                })
            }
        }
    }

    async fn close(self) {
        match self {
            Writers::My(p) => p.close().await,
            Writers::Pg(p) => p.close().await,
        }
    }
}

/// Runs one drawer measurement against `h` (dockchatd with a prepared database).
pub async fn run(h: &Harness, kind: DbKind, p: &Params) -> Result<Vec<(String, Value)>> {
    let url = match &h.prepared {
        Some(prep) => prep.url.clone(),
        None => bail!("drawer needs dockchatd and its database"),
    };
    if p.rate == 0 {
        bail!("drawer needs a rate above 0 (--rate)");
    }
    let n = p.pairs * 2;
    let ks: Vec<usize> = (0..n).collect();
    let connect_started = Instant::now();
    let opened = h.open_many(&ks, 256, p.src_ips).await?;
    let mut streams = Vec::with_capacity(n);
    let mut sinks = Vec::with_capacity(n);
    let mut failed = 0usize;
    let mut first_failure = None;
    for r in opened {
        match r {
            Ok(ws) => {
                let (sink, stream) = ws.split();
                sinks.push(sink);
                streams.push(stream);
            }
            Err(e) => {
                failed += 1;
                first_failure.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {n} connections failed: {}; server log: {}",
            first_failure.unwrap_or_default(),
            h.log_tail()
        );
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();

    let writers = Writers::connect(kind, &url, p.writers).await?;
    let shared = Arc::new(Shared::default());
    let (finish_tx, finish_rx) = watch::channel(false);
    let mut readers = Vec::with_capacity(n);
    for (k, stream) in streams.into_iter().enumerate() {
        readers.push(tokio::spawn(reader(
            stream,
            FIRST_USER + k as u64,
            p.pairs,
            shared.clone(),
            finish_rx.clone(),
        )));
    }

    // One lock per pair: a user's browser sends its messages one after the other.
    let pair_locks: Arc<Vec<tokio::sync::Mutex<()>>> =
        Arc::new((0..p.pairs).map(|_| tokio::sync::Mutex::new(())).collect());
    let total = (p.rate as f64 * p.duration).round().max(1.0) as u64;
    let written: Arc<Mutex<Vec<Option<Written>>>> =
        Arc::new(Mutex::new(vec![None; total as usize]));
    let period = Duration::from_secs_f64(1.0 / p.rate as f64);
    let start = Instant::now() + Duration::from_millis(200);
    tokio::time::sleep_until(start).await;
    let cpu0 = CpuMark::now(&h.pids(), h.db_kind());
    let mut tasks = Vec::with_capacity(total as usize);
    for seq in 0..total {
        tokio::time::sleep_until(start + period.mul_f64(seq as f64)).await;
        let (from, to) = route(seq, p.pairs);
        let writers = writers.clone();
        let locks = pair_locks.clone();
        let written = written.clone();
        let shared = shared.clone();
        let pair = (seq % p.pairs.max(1) as u64) as usize;
        tasks.push(tokio::spawn(async move {
            let _turn = locks[pair].lock().await;
            match writers.send(from, to, &message_text(seq)).await {
                Ok(w) => {
                    if let Ok(mut g) = written.lock() {
                        g[seq as usize] = Some(w);
                    }
                }
                Err(e) => {
                    shared.insert_failed.fetch_add(1, Ordering::Relaxed);
                    shared.note(format!("insert of message {seq}: {e:#}"));
                }
            }
        }));
    }
    for t in tasks {
        t.await.context("insert task panicked")?;
    }
    let write_secs = start.elapsed().as_secs_f64();
    let cpu1 = CpuMark::now(&h.pids(), h.db_kind());
    writers.close().await;

    // Drain: until every committed message reached its recipient, or the drain period is over.
    let committed = written
        .lock()
        .map(|g| g.iter().filter(|w| w.is_some()).count() as u64)
        .unwrap_or(0);
    let drain_started = Instant::now();
    let drain_deadline = drain_started + Duration::from_secs_f64(p.drain);
    while Instant::now() < drain_deadline
        && shared.recipient_copies.load(Ordering::Relaxed) < committed
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained_s = drain_started.elapsed().as_secs_f64();
    let _ = finish_tx.send(true);
    let mut back = Vec::with_capacity(readers.len());
    for r in readers {
        if let Ok(s) = r.await {
            back.push(s);
        }
    }
    for mut s in sinks {
        let _ = tokio::time::timeout(Duration::from_millis(200), s.close()).await;
    }
    drop(back);

    // Match receipts against writes.
    let written = written.lock().map(|g| g.clone()).unwrap_or_default();
    let received = shared
        .received
        .lock()
        .map(|g| g.clone())
        .unwrap_or_default();
    let mut at_recipient: HashMap<u64, u64> = HashMap::with_capacity(received.len());
    let mut sender_copies = 0u64;
    let mut misrouted = 0u64;
    let mut unknown = 0u64;
    let mut before_commit = 0u64;
    let mut lat = report::histogram();
    let mut from_start = report::histogram();
    for r in &received {
        if r.misrouted {
            misrouted += 1;
            continue;
        }
        let Some(Some(w)) = written.get(r.seq as usize) else {
            unknown += 1;
            continue;
        };
        if !r.at_recipient {
            sender_copies += 1;
            continue;
        }
        let copies = at_recipient.entry(r.seq).or_insert(0);
        *copies += 1;
        if *copies > 1 {
            continue;
        }
        if r.at_ns < w.committed_ns {
            before_commit += 1;
        }
        lat.saturating_record((r.at_ns.saturating_sub(w.committed_ns) / 1000).max(1));
        from_start.saturating_record((r.at_ns.saturating_sub(w.started_ns) / 1000).max(1));
    }
    let delivered = at_recipient.len() as u64;
    let duplicates: u64 = at_recipient.values().map(|c| c - 1).sum();
    let missing = committed.saturating_sub(delivered);
    let mut insert = report::histogram();
    for w in written.iter().flatten() {
        insert.saturating_record((w.committed_ns.saturating_sub(w.started_ns) / 1000).max(1));
    }

    let (srv_cpu, gen_cpu, db_cpu) = cpu0.since(&cpu1);
    let mut out: Vec<(String, Value)> = vec![
        ("target".into(), h.target.name().into()),
        ("sockets".into(), (n as u64).into()),
        ("writers".into(), p.writers.into()),
        ("connect_s".into(), round(connect_secs, 3).into()),
        ("write_s".into(), round(write_secs, 3).into()),
        ("issued".into(), total.into()),
        ("inserted".into(), committed.into()),
        (
            "insert_failed".into(),
            shared.insert_failed.load(Ordering::Relaxed).into(),
        ),
        (
            "inserted_per_s".into(),
            round(committed as f64 / write_secs.max(1e-9), 1).into(),
        ),
        ("delivered".into(), delivered.into()),
        (
            "delivered_per_s".into(),
            round(delivered as f64 / write_secs.max(1e-9), 1).into(),
        ),
        ("duplicates".into(), duplicates.into()),
        ("missing".into(), missing.into()),
        ("misrouted".into(), misrouted.into()),
        ("unknown_received".into(), unknown.into()),
        ("sender_copies".into(), sender_copies.into()),
        ("received_before_commit".into(), before_commit.into()),
        ("drain_s".into(), round(drained_s, 3).into()),
    ];
    out.extend(percentiles("latency_", &lat));
    out.extend(percentiles("from_insert_start_", &from_start));
    out.extend(percentiles("insert_", &insert));
    out.push(("server_cpu_pct".into(), round(srv_cpu, 1).into()));
    out.push(("loadgen_cpu_pct".into(), round(gen_cpu, 1).into()));
    out.push(("db_cpu_pct".into(), round(db_cpu, 1).into()));
    out.push((
        "errors".into(),
        shared.errors.load(Ordering::Relaxed).into(),
    ));
    out.push((
        "closed_by_server".into(),
        shared.closed.load(Ordering::Relaxed).into(),
    ));
    if let Some(e) = shared.first_error.lock().ok().and_then(|g| g.clone()) {
        out.push(("first_error".into(), e.into()));
    }
    Ok(out)
}

/// p50/p90/p99/p999/max in milliseconds (the poll interval makes p90 worth showing here).
fn percentiles(prefix: &str, h: &Histogram<u64>) -> Vec<(String, Value)> {
    if h.is_empty() {
        return vec![(format!("{prefix}samples"), Value::from(0u64))];
    }
    let mut v = vec![(format!("{prefix}samples"), Value::from(h.len()))];
    for (name, q) in [("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p999", 0.999)] {
        v.push((
            format!("{prefix}{name}_ms"),
            Value::from(ms(h.value_at_quantile(q))),
        ));
    }
    v.push((format!("{prefix}max_ms"), Value::from(ms(h.max()))));
    v
}

/// Reads server frames until the socket ends or `finish` is raised, noting every drawer message.
async fn reader(
    mut stream: SplitStream<Ws>,
    me: u64,
    pairs: usize,
    shared: Arc<Shared>,
    mut finish: watch::Receiver<bool>,
) -> SplitStream<Ws> {
    loop {
        let next = tokio::select! {
            biased;
            _ = finish.changed() => break,
            n = stream.next() => n,
        };
        let text = match next {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(c))) => {
                shared.closed.fetch_add(1, Ordering::Relaxed);
                shared.error(format!("server closed the socket: {c:?}"));
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                shared.error(format!("socket error: {e}"));
                break;
            }
            None => break,
        };
        let at_ns = client::now_ns();
        match client::frame_type(&text) {
            Some("message") => {
                let Some(seq) = client::str_field(&text, "text").and_then(parse_seq) else {
                    continue;
                };
                let (from, to) = route(seq, pairs);
                let at_recipient = me == to;
                if at_recipient {
                    shared.recipient_copies.fetch_add(1, Ordering::Relaxed);
                }
                if let Ok(mut g) = shared.received.lock() {
                    g.push(Received {
                        seq,
                        at_ns,
                        at_recipient,
                        misrouted: me != from && me != to,
                    });
                }
            }
            Some("error") => shared.error(text.as_str().to_owned()),
            _ => {}
        }
    }
    stream
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_carries_its_sequence() {
        assert_eq!(parse_seq(&message_text(0)), Some(0));
        assert_eq!(parse_seq(&message_text(123_456)), Some(123_456));
        assert_eq!(parse_seq(TEXT), None);
    }

    #[test]
    fn routes_alternate_within_a_pair() {
        assert_eq!(route(0, 3), (FIRST_USER, FIRST_USER + 1));
        assert_eq!(route(2, 3), (FIRST_USER + 4, FIRST_USER + 5));
        assert_eq!(route(3, 3), (FIRST_USER + 1, FIRST_USER));
        assert_eq!(route(6, 3), (FIRST_USER, FIRST_USER + 1));
    }
}

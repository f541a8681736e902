//! `ceiling`: what the database server itself can absorb on this machine, with no daemon and no
//! socket — the store's counterpart of the bare forwarder.
//!
//! The forwarder tells a slower machine's network and scheduler apart from a slower daemon; this
//! scenario does the same for the database. On the tables the bench creates as Moodle does
//! (MariaDB `ROW_FORMAT=COMPRESSED`, Moodle's indexes), it runs two phases flat out, each for the
//! measured duration, with `writers` concurrent writers (default: the daemon's default pipeline
//! of 4 batches in flight) committing batches of `batch` sends:
//!
//! 1. `store`: the daemon's own write path, [`dockchat::store::Store::store_batch`] — the very
//!    statements the writer runs for a group commit (the pair's conversation, the `messages` rows
//!    as `message_send` fills them, their `block_dockchat_sent` rows, the COMMIT), minus the id
//!    turn that keeps the daemon's ids in send order. No ack, no delivery, no poll.
//! 2. `messages_only`: multi-row INSERTs of `messages` rows alone, as Moodle's send path fills
//!    them, then COMMIT: the least any writer of Moodle's messaging table must do per message.
//!
//! Each phase reports rows per second and the database's CPU per row. If the database cannot
//! store N rows per second here with no daemon at all, no daemon can persist N messages per second
//! on this machine. Every row is counted back from the tables afterwards.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use sqlx::mysql::MySqlPoolOptions;
use sqlx::postgres::PgPoolOptions;
use tokio::time::Instant;

use dockchat::store::messaging::NewMessage;
use dockchat::store::Store;

use crate::procs::CpuMark;
use crate::report::round;
use crate::setup::{unix_now, DbKind, Prepared, FIRST_USER, SITE_URL};

/// Parameters of a ceiling run.
#[derive(Clone, Debug)]
pub struct Params {
    /// Pairs of users whose conversations the rows go to.
    pub pairs: usize,
    /// Concurrent writers (transactions in flight).
    pub writers: usize,
    /// Sends per transaction (the daemon's full group commit is 256).
    pub batch: usize,
    /// Seconds measured per phase.
    pub duration: f64,
}

/// The chat line every row carries (the `pairs` scenario's).
const TEXT: &str = "Hi! Did you finish the exercise for tomorrow's class?";

/// What one phase measured.
struct Phase {
    rows: u64,
    commits: u64,
    secs: f64,
    db_pct: f64,
    bench_pct: f64,
    commit_ms: Vec<f64>,
}

impl Phase {
    fn fields(&self, name: &str) -> Vec<(String, Value)> {
        let per_s = self.rows as f64 / self.secs.max(1e-9);
        let us = |pct: f64| {
            if self.rows == 0 {
                0.0
            } else {
                pct / 100.0 * self.secs / self.rows as f64 * 1e6
            }
        };
        let mut ms = self.commit_ms.clone();
        ms.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| {
            ms.get(((ms.len() as f64 * q) as usize).min(ms.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0.0)
        };
        vec![
            (format!("{name}_rows_per_s"), round(per_s, 0).into()),
            (format!("{name}_commits"), self.commits.into()),
            (format!("{name}_commit_p50_ms"), round(at(0.5), 2).into()),
            (format!("{name}_commit_p99_ms"), round(at(0.99), 2).into()),
            (format!("{name}_db_cpu_pct"), round(self.db_pct, 1).into()),
            (
                format!("{name}_db_cpu_us_per_row"),
                round(us(self.db_pct), 1).into(),
            ),
            (
                format!("{name}_bench_cpu_us_per_row"),
                round(us(self.bench_pct), 1).into(),
            ),
        ]
    }
}

/// The `i`-th send of the run: pair `i % pairs`, the direction alternating.
fn send(i: u64, pairs: usize, windows_known: bool) -> NewMessage {
    let pair = i % pairs as u64;
    let (a, b) = (FIRST_USER + 2 * pair, FIRST_USER + 2 * pair + 1);
    let (from, to) = if (i / pairs as u64) % 2 == 0 {
        (a, b)
    } else {
        (b, a)
    };
    NewMessage {
        from: from as i64,
        to: to as i64,
        cid: format!("ceil-{i}"),
        text: TEXT.to_string(),
        icon: format!("{SITE_URL}/theme/image.php/boost/core/1/u/f1"),
        windows_known: [windows_known; 2],
        group: None,
    }
}

/// Runs both phases against `prepared`.
pub async fn run(kind: DbKind, prepared: &Prepared, p: &Params) -> Result<Vec<(String, Value)>> {
    if p.pairs == 0 || p.writers == 0 || p.batch == 0 {
        bail!("ceiling needs at least one pair, one writer and a batch of one");
    }
    let store = Arc::new(
        Store::connect(&prepared.url, "mdl_", p.writers as u32 + 1)
            .await
            .context("connecting the store")?,
    );

    // Every pair's first message, in batches: conversations, members and windows exist before the
    // measured phases, as after the `pairs` scenario's warm-up.
    let next = Arc::new(AtomicU64::new(0));
    let firsts: Vec<NewMessage> = (0..p.pairs as u64)
        .map(|i| send(i, p.pairs, false))
        .collect();
    for chunk in firsts.chunks(p.batch) {
        check(
            store
                .store_batch(chunk)
                .await
                .context("storing first messages")?,
        )?;
    }
    next.store(p.pairs as u64, Ordering::Relaxed);

    let store_phase = {
        let store = Arc::clone(&store);
        let next = Arc::clone(&next);
        let (pairs, batch) = (p.pairs, p.batch);
        measure(kind, p, move || {
            let store = Arc::clone(&store);
            let next = Arc::clone(&next);
            async move {
                let first = next.fetch_add(batch as u64, Ordering::Relaxed);
                let sends: Vec<NewMessage> = (first..first + batch as u64)
                    .map(|i| send(i, pairs, true))
                    .collect();
                check(store.store_batch(&sends).await?)?;
                Ok(batch as u64)
            }
        })
        .await?
    };
    let stored_by_store = next.load(Ordering::Relaxed);
    drop(store);

    let raw = RawWriter::connect(kind, &prepared.url, p.writers as u32).await?;
    let conversations = raw.conversations().await?;
    if conversations.len() != p.pairs {
        bail!(
            "expected {} conversations after the first messages, found {}",
            p.pairs,
            conversations.len()
        );
    }
    let raw = Arc::new((raw, conversations));
    let raw_rows = Arc::new(AtomicU64::new(0));
    let raw_phase = {
        let raw = Arc::clone(&raw);
        let raw_rows = Arc::clone(&raw_rows);
        let batch = p.batch;
        measure(kind, p, move || {
            let raw = Arc::clone(&raw);
            let raw_rows = Arc::clone(&raw_rows);
            async move {
                let first = raw_rows.fetch_add(batch as u64, Ordering::Relaxed);
                raw.0.insert_messages(&raw.1, first, batch).await?;
                Ok(batch as u64)
            }
        })
        .await?
    };

    // Every row the phases counted is in the tables (rows of a batch cut off by the end of a
    // phase were not counted, but were committed: at most `writers` batches per phase).
    let (messages, sent) = raw.0.counts().await?;
    let counted = p.pairs as u64 + store_phase.rows + raw_phase.rows;
    let slack = (2 * p.writers * p.batch) as u64;
    if messages < counted || messages > counted + slack {
        bail!("the tables hold {messages} messages, the phases counted {counted}");
    }
    if sent < p.pairs as u64 + store_phase.rows || sent > stored_by_store {
        bail!("the tables hold {sent} sent rows for {stored_by_store} sends of the store phase");
    }
    raw.0.close().await;

    let mut out = vec![
        ("writers".to_string(), (p.writers as u64).into()),
        ("batch".to_string(), (p.batch as u64).into()),
        ("pairs".to_string(), (p.pairs as u64).into()),
        ("stored_messages".to_string(), messages.into()),
        ("stored_sent_rows".to_string(), sent.into()),
    ];
    out.extend(store_phase.fields("store"));
    out.extend(raw_phase.fields("messages_only"));
    Ok(out)
}

/// Fails on a send the store did not write as a new row (a disabled conversation or a dup: the
/// bench's cids are unique and its conversations enabled, so either is a bench error).
fn check(stored: Vec<dockchat::store::messaging::Stored>) -> Result<()> {
    if let Some(s) = stored.iter().find(|s| s.dup || s.disabled) {
        bail!("a send was not stored as a new row: {:?}", s.message);
    }
    Ok(())
}

/// Runs `writers` loops of `one` (a committed batch, returning its rows) for the measured duration.
async fn measure<F, Fut>(kind: DbKind, p: &Params, one: F) -> Result<Phase>
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = Result<u64>> + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let local = tokio::task::LocalSet::new();
    let mut handles = Vec::new();
    let start = CpuMark::now(&[], Some(kind));
    let t0 = Instant::now();
    for _ in 0..p.writers {
        let stop = Arc::clone(&stop);
        let one = one.clone();
        handles.push(local.spawn_local(async move {
            let (mut rows, mut commits, mut ms) = (0u64, 0u64, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let n = one().await?;
                // A batch that ends after the stop is not counted: the window is exact.
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                rows += n;
                commits += 1;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
            anyhow::Ok((rows, commits, ms))
        }));
    }
    let duration = Duration::from_secs_f64(p.duration);
    let (end, results) = local
        .run_until(async {
            tokio::time::sleep(duration).await;
            stop.store(true, Ordering::Relaxed);
            let end = CpuMark::now(&[], Some(kind));
            let secs = t0.elapsed().as_secs_f64();
            let mut results = Vec::new();
            for h in handles {
                results.push(h.await.context("a writer panicked")?);
            }
            anyhow::Ok(((end, secs), results))
        })
        .await?;
    let (end, secs) = end;
    let mut phase = Phase {
        rows: 0,
        commits: 0,
        secs,
        db_pct: 0.0,
        bench_pct: 0.0,
        commit_ms: Vec::new(),
    };
    for r in results {
        let (rows, commits, ms) = r?;
        phase.rows += rows;
        phase.commits += commits;
        phase.commit_ms.extend(ms);
    }
    let (_, bench, db) = start.since(&end);
    phase.db_pct = db;
    phase.bench_pct = bench;
    Ok(phase)
}

/// Plain multi-row INSERTs into `messages`, outside the daemon's store.
enum RawWriter {
    My(sqlx::MySqlPool),
    Pg(sqlx::PgPool),
}

impl RawWriter {
    async fn connect(kind: DbKind, url: &str, size: u32) -> Result<RawWriter> {
        Ok(match kind {
            DbKind::Mariadb => RawWriter::My(
                MySqlPoolOptions::new()
                    .max_connections(size)
                    .connect(url)
                    .await?,
            ),
            DbKind::Postgres => RawWriter::Pg(
                PgPoolOptions::new()
                    .max_connections(size)
                    .connect(url)
                    .await?,
            ),
        })
    }

    /// The individual conversations, each with its two members (lower id first).
    async fn conversations(&self) -> Result<Vec<(i64, i64, i64)>> {
        let sql = "SELECT c.id, MIN(m.userid), MAX(m.userid) FROM mdl_message_conversations c \
                   JOIN mdl_message_conversation_members m ON m.conversationid = c.id \
                   WHERE c.type = 1 GROUP BY c.id ORDER BY c.id";
        Ok(match self {
            RawWriter::My(p) => sqlx::query_as(sql).fetch_all(p).await?,
            RawWriter::Pg(p) => sqlx::query_as(sql).fetch_all(p).await?,
        })
    }

    /// One transaction of `n` `messages` rows, filled as `message_send` fills them for a dock
    /// message (text in `fullmessage` and `smallmessage`, format 0, the customdata).
    async fn insert_messages(&self, convs: &[(i64, i64, i64)], first: u64, n: usize) -> Result<()> {
        let customdata = dockchat::store::messaging::message_customdata(&format!(
            "{SITE_URL}/theme/image.php/boost/core/1/u/f1"
        ));
        let rows: Vec<(i64, i64)> = (first..first + n as u64)
            .map(|i| {
                let (conv, lo, hi) = convs[(i % convs.len() as u64) as usize];
                let turn = (i / convs.len() as u64) % 2;
                (if turn == 0 { lo } else { hi }, conv)
            })
            .collect();
        self.insert_rows(&rows, &customdata, unix_now() as i64)
            .await
    }

    async fn insert_rows(&self, rows: &[(i64, i64)], customdata: &str, now: i64) -> Result<()> {
        let my = matches!(self, RawWriter::My(_));
        let mut sql = String::from(
            "INSERT INTO mdl_messages (useridfrom, conversationid, subject, fullmessage, \
             fullmessageformat, fullmessagehtml, smallmessage, timecreated, fullmessagetrust, \
             customdata) VALUES ",
        );
        let mut k = 0;
        for i in 0..rows.len() {
            if i > 0 {
                sql.push(',');
            }
            let mut ph = || {
                k += 1;
                if my {
                    "?".to_string()
                } else {
                    format!("${k}")
                }
            };
            let (a, b, c, d, e) = (ph(), ph(), ph(), ph(), ph());
            let f = ph();
            sql.push_str(&format!("({a},{b},NULL,{c},0,'',{d},{e},0,{f})"));
        }
        macro_rules! bind_all {
            ($pool:expr) => {{
                let mut q = sqlx::query(&sql);
                for (from, conv) in rows {
                    q = q
                        .bind(*from)
                        .bind(*conv)
                        .bind(TEXT)
                        .bind(TEXT)
                        .bind(now)
                        .bind(customdata);
                }
                let mut tx = $pool.begin().await?;
                q.execute(&mut *tx).await?;
                tx.commit().await?;
            }};
        }
        match self {
            RawWriter::My(p) => bind_all!(p),
            RawWriter::Pg(p) => bind_all!(p),
        }
        Ok(())
    }

    /// Rows in `messages` and `block_dockchat_sent`.
    async fn counts(&self) -> Result<(u64, u64)> {
        const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM mdl_messages), \
                              (SELECT COUNT(*) FROM mdl_block_dockchat_sent)";
        let (m, s): (i64, i64) = match self {
            RawWriter::My(p) => sqlx::query_as(COUNTS).fetch_one(p).await?,
            RawWriter::Pg(p) => sqlx::query_as(COUNTS).fetch_one(p).await?,
        };
        Ok((m as u64, s as u64))
    }

    async fn close(&self) {
        match self {
            RawWriter::My(p) => p.close().await,
            RawWriter::Pg(p) => p.close().await,
        }
    }
}

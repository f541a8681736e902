//! `pairs` and `typing`: P pairs of users, each socket talking to its partner.
//!
//! `pairs` sends `send` frames (persisted by the daemon; it acks after commit) either at a fixed total
//! rate (intended send times are the latency origin, so a stalled server cannot hide its own delay) or
//! flat out with a window of unacked sends per socket; it reports delivered messages per second (frames
//! `message` received by the partner during the measured window) and send → partner latency.
//!
//! `typing` sends batches of `typing` frames, each batch followed by a `ping`; the `pong` proves the
//! daemon processed the batch (frames of one socket are handled in order), so processed typing events
//! per second are counted without relying on forwarding (the daemon forwards at most one per 2 s per
//! pair by design).
//!
//! After a `pairs` run against dockchatd the stored rows are counted: every acked send must be a row of
//! Moodle's `messages` with its `block_dockchat_sent` row (issue 10: the daemon stores into Moodle's
//! own tables).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::Value;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Ws};
use crate::harness::Harness;
use crate::procs::CpuMark;
use crate::report::{self, round};
use crate::setup::{self, FIRST_USER};

/// What each socket sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Persisted 1:1 messages.
    Messages,
    /// Non-persisted typing events.
    Typing,
}

/// Parameters of a pairs/typing run.
#[derive(Clone, Debug)]
pub struct Params {
    /// Number of pairs (2 × sockets).
    pub pairs: usize,
    /// Total send rate in frames per second; 0 = flat out.
    pub rate: u64,
    /// Seconds of warm-up before measuring.
    pub warmup: f64,
    /// Seconds measured.
    pub duration: f64,
    /// Flat out: unacked sends per socket (messages) or outstanding batches (typing).
    pub window: usize,
    /// Typing frames per batch.
    pub batch: usize,
    /// Source addresses to spread over.
    pub src_ips: usize,
}

/// The sentence every benchmark message carries (a typical short chat line).
const TEXT: &str = "Hi! Did you finish the exercise for tomorrow's class?";

#[derive(Default)]
struct Shared {
    measuring: AtomicBool,
    delivered: AtomicU64,
    acked: AtomicU64,
    processed: AtomicU64,
    typing_in: AtomicU64,
    errors: AtomicU64,
    closed: AtomicU64,
    first_error: Mutex<Option<String>>,
    hist: Mutex<Option<Histogram<u64>>>,
}

impl Shared {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut g) = self.first_error.lock() {
            if g.is_none() {
                *g = Some(what);
            }
        }
    }
}

/// Per socket: frames that expect an answer (sends or pings) and answers received.
#[derive(Default)]
struct Outstanding {
    asked: AtomicU64,
    answered: AtomicU64,
}

/// Runs one pairs/typing measurement against `h` and returns its figures.
pub async fn run(h: &Harness, p: &Params, mode: Mode) -> Result<Vec<(String, Value)>> {
    let n = p.pairs * 2;
    let ks: Vec<usize> = (0..n).collect();
    let connect_started = Instant::now();
    let opened = h.open_many(&ks, 256, p.src_ips).await?;
    let mut sockets = Vec::with_capacity(n);
    let mut failed = 0usize;
    let mut first_failure = None;
    for r in opened {
        match r {
            Ok(ws) => sockets.push(ws),
            Err(e) => {
                failed += 1;
                first_failure.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {n} connections failed against {}: {}; server log: {}",
            h.target.name(),
            first_failure.unwrap_or_default(),
            h.log_tail()
        );
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();

    let shared = Arc::new(Shared {
        hist: Mutex::new(Some(report::histogram())),
        ..Shared::default()
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let (finish_tx, finish_rx) = watch::channel(false);
    let start = Instant::now() + Duration::from_millis(100);
    let period = (p.rate > 0).then(|| Duration::from_secs_f64(n as f64 / p.rate as f64));
    let mut writers = Vec::with_capacity(n);
    let mut readers = Vec::with_capacity(n);
    let mut counters = Vec::with_capacity(n);
    for (k, ws) in sockets.into_iter().enumerate() {
        let (sink, stream) = ws.split();
        let me = FIRST_USER + k as u64;
        let peer = FIRST_USER + (k ^ 1) as u64;
        let permits = Arc::new(Semaphore::new(p.window.max(1)));
        let out = Arc::new(Outstanding::default());
        counters.push(out.clone());
        readers.push(tokio::spawn(reader(
            stream,
            ReaderArgs {
                me,
                mode,
                batch: p.batch as u64,
            },
            permits.clone(),
            out.clone(),
            shared.clone(),
            finish_rx.clone(),
        )));
        // Fixed rate: socket k sends at start + offset + j × period, offsets spread evenly.
        let offset = period
            .map(|per| per.mul_f64(k as f64 / n as f64))
            .unwrap_or_default();
        writers.push(tokio::spawn(writer(
            sink,
            WriterArgs {
                me,
                peer,
                mode,
                batch: p.batch,
                start: start + offset,
                period,
            },
            permits,
            out,
            stop_rx.clone(),
        )));
    }

    // Warm up, then measure.
    tokio::time::sleep_until(start + Duration::from_secs_f64(p.warmup)).await;
    let db0 = h.db_counters().await;
    let commits0 = crate::commits::scrape(&h.node_addrs()).await;
    let cpu0 = CpuMark::now(&h.pids(), h.db_kind());
    let d0 = shared.delivered.load(Ordering::Relaxed);
    let a0 = shared.acked.load(Ordering::Relaxed);
    let p0 = shared.processed.load(Ordering::Relaxed);
    let t0 = Instant::now();
    shared.measuring.store(true, Ordering::Release);
    tokio::time::sleep(Duration::from_secs_f64(p.duration)).await;
    shared.measuring.store(false, Ordering::Release);
    let secs = t0.elapsed().as_secs_f64();
    let d1 = shared.delivered.load(Ordering::Relaxed);
    let a1 = shared.acked.load(Ordering::Relaxed);
    let p1 = shared.processed.load(Ordering::Relaxed);
    let cpu1 = CpuMark::now(&h.pids(), h.db_kind());
    let commits1 = crate::commits::scrape(&h.node_addrs()).await;
    let db1 = h.db_counters().await;
    let _ = stop_tx.send(true);

    // Writers stop at once; answers still in flight get up to 10 s to arrive.
    let mut sinks = Vec::with_capacity(writers.len());
    for w in writers {
        if let Ok(Some(sink)) = w.await {
            sinks.push(sink);
        }
    }
    let drain_deadline = Instant::now() + Duration::from_secs(10);
    let mut unanswered = 0;
    while Instant::now() < drain_deadline {
        unanswered = counters
            .iter()
            .map(|c| {
                c.asked
                    .load(Ordering::Relaxed)
                    .saturating_sub(c.answered.load(Ordering::Relaxed))
            })
            .sum::<u64>();
        if unanswered == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = finish_tx.send(true);
    let mut streams = Vec::with_capacity(readers.len());
    for r in readers {
        if let Ok(s) = r.await {
            streams.push(s);
        }
    }
    for mut s in sinks {
        let _ = tokio::time::timeout(Duration::from_millis(200), s.close()).await;
    }
    drop(streams);

    // What reached Moodle's tables: every acked send must be a `messages` row with its sent row.
    let stored = match (&h.prepared, h.db_kind(), mode) {
        (Some(prep), Some(kind), Mode::Messages) => Some(
            setup::stored_counts(kind, &prep.url)
                .await
                .context("counting the stored messages")?,
        ),
        _ => None,
    };

    let (srv_cpu, gen_cpu, db_cpu) = cpu0.since(&cpu1);
    let mut out: Vec<(String, Value)> = vec![
        ("target".into(), h.target.name().into()),
        ("sockets".into(), (n as u64).into()),
        ("connect_s".into(), round(connect_secs, 3).into()),
        ("measured_s".into(), round(secs, 3).into()),
    ];
    match mode {
        Mode::Messages => {
            out.push((
                "delivered_per_s".into(),
                round((d1 - d0) as f64 / secs, 0).into(),
            ));
            out.push((
                "acked_per_s".into(),
                round((a1 - a0) as f64 / secs, 0).into(),
            ));
            let hist = shared
                .hist
                .lock()
                .ok()
                .and_then(|mut g| g.take())
                .unwrap_or_else(report::histogram);
            out.extend(report::latency_fields("latency_", &hist));
            if let Some(setup::StoredCounts {
                messages,
                sent_rows: sent,
                conversation_duplicates,
            }) = stored
            {
                let acked = shared.acked.load(Ordering::Relaxed);
                out.push(("acked_total".into(), acked.into()));
                out.push(("stored_messages".into(), messages.into()));
                out.push(("stored_sent_rows".into(), sent.into()));
                out.push((
                    "acked_not_stored".into(),
                    acked.saturating_sub(messages.min(sent)).into(),
                ));
                out.push((
                    "messages_without_sent_row".into(),
                    messages.abs_diff(sent).into(),
                ));
                out.push((
                    "conversation_duplicates".into(),
                    conversation_duplicates.into(),
                ));
            }
            // CPU per delivered message, of the server (every node) and of the database.
            let delivered = (d1 - d0).max(1) as f64;
            let per_msg = |pct: f64| round(pct / 100.0 * secs * 1e6 / delivered, 1);
            out.push(("server_cpu_us_per_msg".into(), per_msg(srv_cpu).into()));
            if h.db_kind().is_some() {
                out.push(("db_cpu_us_per_msg".into(), per_msg(db_cpu).into()));
            }
            if let (Some(before), Some(after)) = (&commits0, &commits1) {
                out.extend(crate::commits::fields(before, after, &h.log_path()));
            }
            // Database work per delivered message over the measured window.
            if let (Some(before), Some(after)) = (db0, db1) {
                let msgs = (d1 - d0).max(1) as f64;
                for ((name, b), (_, a)) in before.iter().zip(after.iter()) {
                    let per = a.saturating_sub(*b) as f64 / msgs;
                    out.push((format!("db_{name}_per_msg"), round(per, 2).into()));
                }
            }
        }
        Mode::Typing => {
            out.push((
                "typing_processed_per_s".into(),
                round((p1 - p0) as f64 / secs, 0).into(),
            ));
            out.push((
                "typing_forwarded".into(),
                shared.typing_in.load(Ordering::Relaxed).into(),
            ));
        }
    }
    out.push(("server_cpu_pct".into(), round(srv_cpu, 1).into()));
    out.push(("loadgen_cpu_pct".into(), round(gen_cpu, 1).into()));
    if h.db_kind().is_some() {
        out.push(("db_cpu_pct".into(), round(db_cpu, 1).into()));
    }
    out.push(("unanswered_at_end".into(), unanswered.into()));
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

struct WriterArgs {
    me: u64,
    peer: u64,
    mode: Mode,
    batch: usize,
    start: Instant,
    period: Option<Duration>,
}

type Sink = SplitSink<Ws, Message>;
type Stream = SplitStream<Ws>;

/// Waits for a free window slot, or `None` once the run stops.
async fn slot(permits: &Arc<Semaphore>, stop: &mut watch::Receiver<bool>) -> Option<()> {
    if *stop.borrow() {
        return None;
    }
    tokio::select! {
        biased;
        _ = stop.changed() => None,
        p = permits.clone().acquire_owned() => {
            p.ok()?.forget();
            Some(())
        }
    }
}

/// Sends until the run stops; returns the sink so the socket can be closed politely.
async fn writer(
    mut sink: Sink,
    a: WriterArgs,
    permits: Arc<Semaphore>,
    out: Arc<Outstanding>,
    mut stop: watch::Receiver<bool>,
) -> Option<Sink> {
    let mut seq: u64 = 0;
    tokio::select! {
        _ = tokio::time::sleep_until(a.start) => {}
        _ = stop.changed() => return Some(sink),
    }
    let typing = format!(r#"{{"type":"typing","to":{}}}"#, a.peer);
    loop {
        if *stop.borrow() {
            return Some(sink);
        }
        match (a.mode, a.period) {
            (Mode::Messages, Some(period)) => {
                // Fixed rate: send everything due, stamped with its intended time.
                let now = Instant::now();
                let mut sent_any = false;
                loop {
                    let intended = a.start + period.mul_f64(seq as f64);
                    if intended > now {
                        break;
                    }
                    let ns = intended
                        .into_std()
                        .saturating_duration_since(client::epoch())
                        .as_nanos() as u64;
                    let frame = send_frame(a.me, a.peer, seq, ns);
                    if sink.feed(Message::text(frame)).await.is_err() {
                        return None;
                    }
                    out.asked.fetch_add(1, Ordering::Relaxed);
                    seq += 1;
                    sent_any = true;
                }
                if sent_any && sink.flush().await.is_err() {
                    return None;
                }
                let next = a.start + period.mul_f64(seq as f64);
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {}
                    _ = stop.changed() => return Some(sink),
                }
            }
            (Mode::Messages, None) => {
                // Flat out: one send per free window slot, flushed together.
                slot(&permits, &mut stop).await?;
                let mut n = 1;
                while let Ok(p) = permits.try_acquire() {
                    p.forget();
                    n += 1;
                }
                for _ in 0..n {
                    let frame = send_frame(a.me, a.peer, seq, client::now_ns());
                    if sink.feed(Message::text(frame)).await.is_err() {
                        return None;
                    }
                    out.asked.fetch_add(1, Ordering::Relaxed);
                    seq += 1;
                }
                if sink.flush().await.is_err() {
                    return None;
                }
            }
            (Mode::Typing, _) => {
                if slot(&permits, &mut stop).await.is_none() {
                    return Some(sink);
                }
                for _ in 0..a.batch {
                    if sink.feed(Message::text(typing.clone())).await.is_err() {
                        return None;
                    }
                }
                let ping = format!(r#"{{"type":"ping","n":{seq}}}"#);
                seq += 1;
                if sink.feed(Message::text(ping)).await.is_err() || sink.flush().await.is_err() {
                    return None;
                }
                out.asked.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn send_frame(me: u64, peer: u64, seq: u64, ns: u64) -> String {
    let cid = client::make_cid(me, seq, ns);
    format!(r#"{{"type":"send","to":{peer},"cid":"{cid}","text":"{TEXT}"}}"#)
}

struct ReaderArgs {
    me: u64,
    mode: Mode,
    batch: u64,
}

/// Reads server frames until the socket ends or `finish` is raised.
async fn reader(
    mut stream: Stream,
    a: ReaderArgs,
    permits: Arc<Semaphore>,
    out: Arc<Outstanding>,
    shared: Arc<Shared>,
    mut finish: watch::Receiver<bool>,
) -> Stream {
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
        let measuring = shared.measuring.load(Ordering::Relaxed);
        match client::frame_type(&text) {
            Some("message") => {
                let Some((from, _seq, ns)) =
                    client::str_field(&text, "cid").and_then(client::parse_cid)
                else {
                    continue;
                };
                if from == a.me {
                    continue; // our own message, echoed to every socket of the sender
                }
                if measuring {
                    shared.delivered.fetch_add(1, Ordering::Relaxed);
                    let lat_us = client::now_ns().saturating_sub(ns) / 1000;
                    if let Ok(mut g) = shared.hist.lock() {
                        if let Some(h) = g.as_mut() {
                            h.saturating_record(lat_us.max(1));
                        }
                    }
                }
            }
            Some("ack") => {
                shared.acked.fetch_add(1, Ordering::Relaxed);
                out.answered.fetch_add(1, Ordering::Relaxed);
                permits.add_permits(1);
            }
            Some("pong") => {
                if measuring {
                    shared.processed.fetch_add(a.batch, Ordering::Relaxed);
                }
                out.answered.fetch_add(1, Ordering::Relaxed);
                permits.add_permits(1);
            }
            Some("typing") => {
                shared.typing_in.fetch_add(1, Ordering::Relaxed);
            }
            Some("error") => {
                shared.error(text.as_str().to_owned());
                // A refused send gets no ack: count it answered and give its window slot back.
                let refused_send =
                    client::str_field(&text, "ref").is_some_and(|r| r.starts_with('m'));
                if a.mode == Mode::Messages && refused_send {
                    out.answered.fetch_add(1, Ordering::Relaxed);
                    permits.add_permits(1);
                }
            }
            _ => {}
        }
    }
    stream
}

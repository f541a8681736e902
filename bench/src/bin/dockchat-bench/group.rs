//! `group`: G course groups of M members each (issue 13), every member online, messages sent to the
//! groups' conversations (`send` with `conv`, docs/PROTOCOL.md §4) at a fixed total rate.
//!
//! Message `j` is due at `start + j / rate`, to group `j mod G`, from that group's member
//! `(j / G) mod M`: the groups take turns and within a group the senders go round-robin. The due time
//! is the latency origin (carried in the cid), so neither a late load generator nor a stalled server
//! can hide a delay. Every other member must read the `message` frame exactly once (the sender's own
//! copy is counted apart). Reported: p50/p99/p999 of send → LAST member's receipt per message (also
//! from the moment the send was actually written) and of send → receipt per frame, for the messages
//! due in the measured window; `message` frames delivered
//! per second and the daemon's CPU µs per delivered frame over that window; and failures: missing
//! deliveries, duplicates, frames at non-members, refused sends, acked sends not stored.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Ws};
use crate::harness::Harness;
use crate::procs::CpuMark;
use crate::report::{self, round};
use crate::setup::{self, group_conversation_id, FIRST_USER};

/// Parameters of a group run.
#[derive(Clone, Debug)]
pub struct Params {
    /// Number of groups (G).
    pub groups: usize,
    /// Members per group (M), all online.
    pub members: usize,
    /// Group messages per second, all groups together.
    pub rate: u64,
    /// Seconds of sending before the measured window.
    pub warmup: f64,
    /// Seconds measured.
    pub duration: f64,
    /// Seconds to wait after the last send for deliveries still under way.
    pub drain: f64,
    /// Source addresses to spread the sockets over.
    pub src_ips: usize,
}

/// The chat line every group message carries.
const TEXT: &str = "Has everyone read chapter 3 before Thursday's group work?";

/// Where message `j` goes and who sends it: (group, sender's socket index).
fn route(j: u64, groups: usize, members: usize) -> (usize, usize) {
    let g = (j % groups as u64) as usize;
    let member = ((j / groups as u64) % members as u64) as usize;
    (g, g * members + member)
}

/// What one sent message has collected so far.
#[derive(Clone, Copy, Default)]
struct Track {
    /// Due time (ns on the bench clock): the latency origin.
    due_ns: u64,
    /// When the load generator actually wrote the send (late when it was not scheduled in time).
    written_ns: u64,
    /// Distinct other members that read it.
    receivers: u32,
    /// The latest of their receipts.
    last_ns: u64,
    /// The sender's own copy arrived.
    echoed: bool,
    /// The sender got its ack.
    acked: bool,
}

#[derive(Default)]
struct Shared {
    /// Raised for the measured window (receipts then count towards frames per second).
    measuring: AtomicBool,
    /// `message` frames read during the measured window (the senders' copies included).
    frames_in_window: AtomicU64,
    tracks: Mutex<HashMap<u64, Track>>,
    /// Send → receipt at each other member, for messages due in the measured window (µs).
    per_frame: Mutex<Option<Histogram<u64>>>,
    /// How late the load generator wrote each send after its due time (µs).
    send_lag: Mutex<Option<Histogram<u64>>>,
    /// Other members' receipts still expected (drain progress).
    outstanding: AtomicU64,
    sent: AtomicU64,
    acked: AtomicU64,
    duplicates: AtomicU64,
    misrouted: AtomicU64,
    unknown: AtomicU64,
    errors: AtomicU64,
    closed: AtomicU64,
    first_error: Mutex<Option<String>>,
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

    fn record(slot: &Mutex<Option<Histogram<u64>>>, us: u64) {
        if let Ok(mut g) = slot.lock() {
            if let Some(h) = g.as_mut() {
                h.saturating_record(us.max(1));
            }
        }
    }

    fn take(slot: &Mutex<Option<Histogram<u64>>>) -> Histogram<u64> {
        slot.lock()
            .ok()
            .and_then(|mut g| g.take())
            .unwrap_or_else(report::histogram)
    }
}

/// The measured window, as due times on the bench clock.
#[derive(Clone, Copy)]
struct Window {
    from_ns: u64,
    until_ns: u64,
}

impl Window {
    fn holds(&self, due_ns: u64) -> bool {
        (self.from_ns..self.until_ns).contains(&due_ns)
    }
}

fn bench_ns(at: Instant) -> u64 {
    at.into_std()
        .saturating_duration_since(client::epoch())
        .as_nanos() as u64
}

/// Runs one group measurement against `h` (dockchatd with a database prepared with
/// `group_members = p.members`).
pub async fn run(h: &Harness, p: &Params) -> Result<Vec<(String, Value)>> {
    if p.groups == 0 || p.members < 2 {
        bail!("group needs --groups ≥ 1 and --members ≥ 2");
    }
    if p.rate == 0 {
        bail!("group needs a rate above 0 (--rate)");
    }
    let n = p.groups * p.members;
    let ks: Vec<usize> = (0..n).collect();
    let connect_started = Instant::now();
    let opened = h.open_many(&ks, 256, p.src_ips).await?;
    let mut sockets = Vec::with_capacity(n);
    let mut first_failure = None;
    for r in opened {
        match r {
            Ok(ws) => sockets.push(ws),
            Err(e) => {
                first_failure.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    if sockets.len() < n {
        bail!(
            "{} of {n} connections failed: {}; server log: {}",
            n - sockets.len(),
            first_failure.unwrap_or_default(),
            h.log_tail()
        );
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    // Let the presence fan-out of the connect (every member is a course-mate) settle first.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let shared = Arc::new(Shared {
        per_frame: Mutex::new(Some(report::histogram())),
        send_lag: Mutex::new(Some(report::histogram())),
        ..Shared::default()
    });
    let start = Instant::now() + Duration::from_millis(100);
    let measure_from = start + Duration::from_secs_f64(p.warmup);
    let measure_until = measure_from + Duration::from_secs_f64(p.duration);
    let window = Window {
        from_ns: bench_ns(measure_from),
        until_ns: bench_ns(measure_until),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let (finish_tx, finish_rx) = watch::channel(false);
    let mut writers = Vec::with_capacity(n);
    let mut readers = Vec::with_capacity(n);
    for (k, ws) in sockets.into_iter().enumerate() {
        let (sink, stream) = ws.split();
        let g = k / p.members;
        readers.push(tokio::spawn(reader(
            stream,
            ReaderArgs {
                me: FIRST_USER + k as u64,
                group: g,
                groups: p.groups,
                members: p.members,
                window,
            },
            shared.clone(),
            finish_rx.clone(),
        )));
        writers.push(tokio::spawn(writer(
            sink,
            WriterArgs {
                me: FIRST_USER + k as u64,
                conv: group_conversation_id(g),
                first: (g + p.groups * (k % p.members)) as u64,
                every: n as u64,
                rate: p.rate as f64,
                start,
                until: measure_until,
                expect: (p.members - 1) as u64,
            },
            shared.clone(),
            stop_rx.clone(),
        )));
    }

    tokio::time::sleep_until(measure_from).await;
    let db0 = h.db_counters().await;
    let cpu0 = CpuMark::now(&h.pids(), h.db_kind());
    let t0 = Instant::now();
    shared.measuring.store(true, Ordering::Release);
    tokio::time::sleep_until(measure_until).await;
    shared.measuring.store(false, Ordering::Release);
    let secs = t0.elapsed().as_secs_f64();
    let cpu1 = CpuMark::now(&h.pids(), h.db_kind());
    let db1 = h.db_counters().await;
    let frames = shared.frames_in_window.load(Ordering::Relaxed);
    let _ = stop_tx.send(true);

    let mut sinks = Vec::with_capacity(writers.len());
    for w in writers {
        if let Ok(Some(sink)) = w.await {
            sinks.push(sink);
        }
    }
    // Drain: until every other member read every sent message, or the drain period is over.
    let drain_started = Instant::now();
    let drain_deadline = drain_started + Duration::from_secs_f64(p.drain);
    while Instant::now() < drain_deadline && shared.outstanding.load(Ordering::Relaxed) > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained_s = drain_started.elapsed().as_secs_f64();
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

    // Per message: complete (every other member read it) or missing some deliveries.
    let tracks = shared.tracks.lock().map(|g| g.clone()).unwrap_or_default();
    let expect = (p.members - 1) as u64;
    let mut per_message = report::histogram();
    let mut per_message_from_write = report::histogram();
    let (mut missing, mut incomplete, mut echo_missing, mut unacked, mut measured) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    for t in tracks.values() {
        let got = u64::from(t.receivers);
        missing += expect.saturating_sub(got);
        echo_missing += u64::from(!t.echoed);
        unacked += u64::from(!t.acked);
        if got < expect {
            incomplete += 1;
        } else if window.holds(t.due_ns) {
            measured += 1;
            per_message.saturating_record((t.last_ns.saturating_sub(t.due_ns) / 1000).max(1));
            per_message_from_write
                .saturating_record((t.last_ns.saturating_sub(t.written_ns) / 1000).max(1));
        }
    }

    let stored = match (&h.prepared, h.db_kind()) {
        (Some(prep), Some(kind)) => Some(
            setup::stored_counts(kind, &prep.url)
                .await
                .context("counting the stored messages")?,
        ),
        _ => None,
    };

    let (srv_cpu, gen_cpu, db_cpu) = cpu0.since(&cpu1);
    let server_cpu_us = srv_cpu / 100.0 * secs * 1e6;
    let sent = shared.sent.load(Ordering::Relaxed);
    let acked = shared.acked.load(Ordering::Relaxed);
    let mut out: Vec<(String, Value)> = vec![
        ("target".into(), h.target.name().into()),
        ("sockets".into(), (n as u64).into()),
        ("connect_s".into(), round(connect_secs, 3).into()),
        ("measured_s".into(), round(secs, 3).into()),
        ("sent".into(), sent.into()),
        ("acked_total".into(), acked.into()),
        (
            "group_msgs_per_s".into(),
            round(measured as f64 / secs.max(1e-9), 1).into(),
        ),
        (
            "delivered_per_s".into(),
            round(frames as f64 / secs.max(1e-9), 0).into(),
        ),
        (
            "server_cpu_us_per_frame".into(),
            round(server_cpu_us / frames.max(1) as f64, 2).into(),
        ),
    ];
    out.extend(report::latency_fields("last_member_", &per_message));
    // The same from the moment the send was written: without the load generator's own lateness
    // before the send (its lateness in reading the receipts remains in both).
    out.extend(report::latency_fields(
        "last_member_from_write_",
        &per_message_from_write,
    ));
    out.extend(report::latency_fields(
        "per_frame_",
        &Shared::take(&shared.per_frame),
    ));
    out.extend(report::latency_fields(
        "send_lag_",
        &Shared::take(&shared.send_lag),
    ));
    out.push(("server_cpu_pct".into(), round(srv_cpu, 1).into()));
    out.push(("loadgen_cpu_pct".into(), round(gen_cpu, 1).into()));
    if h.db_kind().is_some() {
        out.push(("db_cpu_pct".into(), round(db_cpu, 1).into()));
    }
    if let (Some(before), Some(after)) = (db0, db1) {
        let msgs = measured.max(1) as f64;
        for ((name, b), (_, a)) in before.iter().zip(after.iter()) {
            let per = a.saturating_sub(*b) as f64 / msgs;
            out.push((format!("db_{name}_per_msg"), round(per, 2).into()));
        }
    }
    out.push(("drain_s".into(), round(drained_s, 3).into()));
    out.push(("incomplete_messages".into(), incomplete.into()));
    out.push(("deliveries_missing".into(), missing.into()));
    out.push(("sender_copies_missing".into(), echo_missing.into()));
    out.push(("acks_missing".into(), unacked.into()));
    out.push((
        "duplicates".into(),
        shared.duplicates.load(Ordering::Relaxed).into(),
    ));
    out.push((
        "misrouted".into(),
        shared.misrouted.load(Ordering::Relaxed).into(),
    ));
    out.push((
        "unknown_received".into(),
        shared.unknown.load(Ordering::Relaxed).into(),
    ));
    if let Some(setup::StoredCounts {
        messages,
        sent_rows,
        conversation_duplicates,
    }) = stored
    {
        out.push(("stored_messages".into(), messages.into()));
        out.push(("stored_sent_rows".into(), sent_rows.into()));
        out.push((
            "acked_not_stored".into(),
            acked.saturating_sub(messages.min(sent_rows)).into(),
        ));
        out.push((
            "messages_without_sent_row".into(),
            messages.abs_diff(sent_rows).into(),
        ));
        out.push((
            "conversation_duplicates".into(),
            conversation_duplicates.into(),
        ));
    }
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
    conv: u64,
    /// This socket's first message number.
    first: u64,
    /// Message numbers between two of this socket's sends (G × M).
    every: u64,
    rate: f64,
    start: Instant,
    /// No message due at or after this is sent.
    until: Instant,
    /// Other members expected to read each message.
    expect: u64,
}

type Sink = SplitSink<Ws, Message>;

/// Sends this socket's share of the schedule until the window closes or the run stops.
async fn writer(
    mut sink: Sink,
    a: WriterArgs,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> Option<Sink> {
    let mut j = a.first;
    loop {
        let due = a.start + Duration::from_secs_f64(j as f64 / a.rate);
        if due >= a.until {
            return Some(sink);
        }
        tokio::select! {
            _ = tokio::time::sleep_until(due) => {}
            _ = stop.changed() => return Some(sink),
        }
        let due_ns = bench_ns(due);
        let written_ns = client::now_ns();
        if let Ok(mut g) = shared.tracks.lock() {
            let t = g.entry(j).or_default();
            t.due_ns = due_ns;
            t.written_ns = written_ns;
        }
        shared.outstanding.fetch_add(a.expect, Ordering::Relaxed);
        shared.sent.fetch_add(1, Ordering::Relaxed);
        let cid = client::make_cid(a.me, j, due_ns);
        let frame = format!(
            r#"{{"type":"send","conv":{},"cid":"{cid}","text":"{TEXT}"}}"#,
            a.conv
        );
        Shared::record(&shared.send_lag, written_ns.saturating_sub(due_ns) / 1000);
        if sink.send(Message::text(frame)).await.is_err() {
            shared.error(format!("send of message {j} failed: socket gone"));
            return None;
        }
        j += a.every;
    }
}

struct ReaderArgs {
    me: u64,
    group: usize,
    groups: usize,
    members: usize,
    window: Window,
}

/// Reads server frames until the socket ends or `finish` is raised, noting every group message.
async fn reader(
    mut stream: SplitStream<Ws>,
    a: ReaderArgs,
    shared: Arc<Shared>,
    mut finish: watch::Receiver<bool>,
) -> SplitStream<Ws> {
    let mut seen: HashSet<u64> = HashSet::new();
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
                if shared.measuring.load(Ordering::Relaxed) {
                    shared.frames_in_window.fetch_add(1, Ordering::Relaxed);
                }
                let Some((from, j, due_ns)) =
                    client::str_field(&text, "cid").and_then(client::parse_cid)
                else {
                    shared.unknown.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let (g, sender) = route(j, a.groups, a.members);
                if from != FIRST_USER + sender as u64
                    || client::u64_field(&text, "conv") != Some(group_conversation_id(g))
                {
                    shared.unknown.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if g != a.group {
                    shared.misrouted.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if !seen.insert(j) {
                    shared.duplicates.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let mine = from == a.me;
                if let Ok(mut tracks) = shared.tracks.lock() {
                    let t = tracks.entry(j).or_default();
                    if mine {
                        t.echoed = true;
                    } else {
                        t.receivers += 1;
                        t.last_ns = t.last_ns.max(at_ns);
                    }
                }
                if !mine {
                    shared.outstanding.fetch_sub(1, Ordering::Relaxed);
                    if a.window.holds(due_ns) {
                        Shared::record(&shared.per_frame, at_ns.saturating_sub(due_ns) / 1000);
                    }
                }
            }
            Some("ack") => {
                shared.acked.fetch_add(1, Ordering::Relaxed);
                if let Some((_, j, _)) = client::str_field(&text, "cid").and_then(client::parse_cid)
                {
                    if let Ok(mut tracks) = shared.tracks.lock() {
                        tracks.entry(j).or_default().acked = true;
                    }
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
    fn senders_take_turns() {
        // 3 groups of 4: the groups alternate, each group's members in turn.
        assert_eq!(route(0, 3, 4), (0, 0));
        assert_eq!(route(1, 3, 4), (1, 4));
        assert_eq!(route(2, 3, 4), (2, 8));
        assert_eq!(route(3, 3, 4), (0, 1));
        assert_eq!(route(12, 3, 4), (0, 0));
        // Socket k's own numbers: first = g + G × member, then every G × M.
        for k in 0..12usize {
            let first = (k / 4 + 3 * (k % 4)) as u64;
            assert_eq!(route(first, 3, 4).1, k);
            assert_eq!(route(first + 12, 3, 4).1, k);
        }
    }

    #[test]
    fn window_is_half_open() {
        let w = Window {
            from_ns: 10,
            until_ns: 20,
        };
        assert!(w.holds(10) && w.holds(19));
        assert!(!w.holds(9) && !w.holds(20));
    }
}

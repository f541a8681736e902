//! `course`: one course whose N members (1,000 by default) are all online. One more member joins
//! (connects and says `hello`) and later leaves (closes the socket), repeatedly; every online member
//! must receive the `presence` change. Reports the fan-out time: from the joiner's `hello` (or close)
//! until the LAST member has read the presence frame, measured on the load generator's clock.
//! Between the two, the joiner's tab goes hidden (`activity`) and comes back: the `away` fan-out and
//! the `online` one after it are timed the same way (from the `activity` frame), PROTOCOL §5.2.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client;
use crate::harness::Harness;
use crate::procs::CpuMark;
use crate::report::{self, round};
use crate::setup::FIRST_USER;

/// Arrival bookkeeping of the current join or leave.
#[derive(Default)]
struct Probe {
    joiner: AtomicU64,
    online: AtomicU64,
    offline: AtomicU64,
    online_first_ns: AtomicU64,
    online_last_ns: AtomicU64,
    offline_first_ns: AtomicU64,
    offline_last_ns: AtomicU64,
    away: AtomicU64,
    away_last_ns: AtomicU64,
    presence_total: AtomicU64,
}

impl Probe {
    fn arrive(&self, online: bool) {
        let now = client::now_ns();
        let (count, first, last) = if online {
            (&self.online, &self.online_first_ns, &self.online_last_ns)
        } else {
            (&self.offline, &self.offline_first_ns, &self.offline_last_ns)
        };
        if count.fetch_add(1, Ordering::AcqRel) == 0 {
            first.store(now, Ordering::Release);
        }
        last.store(now, Ordering::Release);
    }

    fn arrive_away(&self) {
        self.away.fetch_add(1, Ordering::AcqRel);
        self.away_last_ns.store(client::now_ns(), Ordering::Release);
    }

    /// Forgets the online arrivals (before the joiner comes back from away).
    fn reset_online(&self) {
        self.online.store(0, Ordering::Release);
        self.online_last_ns.store(0, Ordering::Release);
    }

    fn reset(&self) {
        for a in [
            &self.away,
            &self.away_last_ns,
            &self.online,
            &self.offline,
            &self.online_first_ns,
            &self.online_last_ns,
            &self.offline_first_ns,
            &self.offline_last_ns,
        ] {
            a.store(0, Ordering::Release);
        }
    }
}

/// Waits until `counter` reaches `target` or `limit` passes; returns whether it did.
async fn wait_for(counter: &AtomicU64, target: u64, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while counter.load(Ordering::Acquire) < target {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    true
}

/// Runs the scenario: `members` online members, `iterations` join/leave cycles.
pub async fn run(
    h: &Harness,
    members: usize,
    iterations: usize,
    src_ips: usize,
) -> Result<Vec<(String, Value)>> {
    let probe = Arc::new(Probe::default());
    let joiner_k = members; // the dataset holds members + 1 users, all in the one course
    let joiner_uid = FIRST_USER + joiner_k as u64;
    probe.joiner.store(joiner_uid, Ordering::Release);

    let ks: Vec<usize> = (0..members).collect();
    let opened = h.open_many(&ks, 64, src_ips).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::with_capacity(members);
    let mut failed = 0;
    let mut first_failure = None;
    for r in opened {
        let mut ws = match r {
            Ok(ws) => ws,
            Err(e) => {
                failed += 1;
                first_failure.get_or_insert_with(|| format!("{e:#}"));
                continue;
            }
        };
        let probe = probe.clone();
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    _ = stop.changed() => break,
                    m = ws.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            if client::frame_type(&t) != Some("presence") {
                                continue;
                            }
                            probe.presence_total.fetch_add(1, Ordering::Relaxed);
                            let joiner = probe.joiner.load(Ordering::Acquire);
                            if client::u64_field(&t, "id") == Some(joiner) {
                                match client::str_field(&t, "status") {
                                    Some("online") => probe.arrive(true),
                                    Some("offline") => probe.arrive(false),
                                    Some("away") => probe.arrive_away(),
                                    _ => {}
                                }
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                }
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
        }));
    }
    if failed > 0 {
        bail!(
            "{failed} of {members} members could not connect: {}; server log: {}",
            first_failure.unwrap_or_default(),
            h.log_tail()
        );
    }
    let online_members = tasks.len() as u64;

    // Let the presence of the members' own arrival settle: quiet for 1 s (at most 60 s).
    let settle_deadline = Instant::now() + Duration::from_secs(60);
    let mut last_total = u64::MAX;
    while Instant::now() < settle_deadline {
        let total = probe.presence_total.load(Ordering::Relaxed);
        if total == last_total {
            break;
        }
        last_total = total;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let warmup_presence = probe.presence_total.load(Ordering::Relaxed);

    let mut join_hist = report::histogram();
    let mut join_first = report::histogram();
    let mut leave_hist = report::histogram();
    let mut away_hist = report::histogram();
    let mut back_hist = report::histogram();
    let mut incomplete_away = 0u64;
    let mut incomplete_join = 0u64;
    let mut incomplete_leave = 0u64;
    let addr = h.addr();
    let cpu0 = CpuMark::now(&h.pids(), h.db_kind());
    for i in 0..iterations {
        probe.reset();
        let mut ws = client::connect(addr, Some(client::source_ip(i, src_ips))).await?;
        let hello = h.hello(joiner_k)?;
        let t_join = client::now_ns();
        client::authenticate(&mut ws, hello, Duration::from_secs(30)).await?;
        if wait_for(&probe.online, online_members, Duration::from_secs(10)).await {
            let last = probe.online_last_ns.load(Ordering::Acquire);
            let first = probe.online_first_ns.load(Ordering::Acquire);
            join_hist.saturating_record((last.saturating_sub(t_join) / 1000).max(1));
            join_first.saturating_record((first.saturating_sub(t_join) / 1000).max(1));
        } else {
            incomplete_join += 1;
        }
        // Drain whatever the joiner received; its tab goes hidden (away), then comes back (online).
        tokio::time::sleep(Duration::from_millis(100)).await;
        let activity =
            |state: &str| Message::text(format!(r#"{{"type":"activity","state":"{state}"}}"#));
        let t_away = client::now_ns();
        ws.send(activity("hidden")).await?;
        if wait_for(&probe.away, online_members, Duration::from_secs(10)).await {
            let last = probe.away_last_ns.load(Ordering::Acquire);
            away_hist.saturating_record((last.saturating_sub(t_away) / 1000).max(1));
        } else {
            incomplete_away += 1;
        }
        probe.reset_online();
        let t_back = client::now_ns();
        ws.send(activity("active")).await?;
        if wait_for(&probe.online, online_members, Duration::from_secs(10)).await {
            let last = probe.online_last_ns.load(Ordering::Acquire);
            back_hist.saturating_record((last.saturating_sub(t_back) / 1000).max(1));
        } else {
            incomplete_away += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t_leave = client::now_ns();
        let _ = ws.send(Message::Close(None)).await;
        drop(ws);
        if wait_for(&probe.offline, online_members, Duration::from_secs(15)).await {
            let last = probe.offline_last_ns.load(Ordering::Acquire);
            leave_hist.saturating_record((last.saturating_sub(t_leave) / 1000).max(1));
        } else {
            incomplete_leave += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cpu1 = CpuMark::now(&h.pids(), h.db_kind());
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let (srv_cpu, gen_cpu, _) = cpu0.since(&cpu1);
    let mut out: Vec<(String, Value)> = vec![
        ("target".into(), h.target.name().into()),
        ("members_online".into(), online_members.into()),
        ("iterations".into(), (iterations as u64).into()),
        ("warmup_presence_frames".into(), warmup_presence.into()),
    ];
    out.extend(report::latency_fields("join_fanout_", &join_hist));
    out.extend(
        report::latency_fields("join_first_", &join_first)
            .into_iter()
            .filter(|(k, _)| k.ends_with("p50_ms")),
    );
    out.extend(report::latency_fields("leave_fanout_", &leave_hist));
    out.extend(report::latency_fields("away_fanout_", &away_hist));
    out.extend(report::latency_fields("back_fanout_", &back_hist));
    out.push(("incomplete_joins".into(), incomplete_join.into()));
    out.push(("incomplete_aways".into(), incomplete_away.into()));
    out.push(("incomplete_leaves".into(), incomplete_leave.into()));
    out.push(("server_cpu_pct".into(), round(srv_cpu, 1).into()));
    out.push(("loadgen_cpu_pct".into(), round(gen_cpu, 1).into()));
    Ok(out)
}

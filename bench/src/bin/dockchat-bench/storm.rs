//! `storm`: N users connect at the same moment (TCP connect, upgrade, `hello` with token check,
//! account and session check, enrolments, presence fan-out to their online course-mates). Reports the
//! time from the start until the last `welcome`, and each connection's start → welcome distribution.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client;
use crate::harness::Harness;
use crate::procs::CpuMark;
use crate::report::{self, round};

/// Runs the storm with `n` users.
pub async fn run(h: &Harness, n: usize, src_ips: usize) -> Result<Vec<(String, Value)>> {
    // Tokens are minted before the clock starts: minting is the block's job, not the daemon's.
    let mut hellos = Vec::with_capacity(n);
    for k in 0..n {
        hellos.push(h.hello(k)?);
    }
    let addr = h.addr();
    let hist = Arc::new(Mutex::new(report::histogram()));
    let presence = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let failures = Arc::new(AtomicU64::new(0));
    let (release_tx, release_rx) = watch::channel(false);
    let cpu0 = CpuMark::now(&h.pids(), h.db_kind());
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for (i, hello) in hellos.into_iter().enumerate() {
        let hist = hist.clone();
        let presence = presence.clone();
        let first_error = first_error.clone();
        let failures = failures.clone();
        let mut release = release_rx.clone();
        let src = client::source_ip(i, src_ips);
        tasks.push(tokio::spawn(async move {
            let opened = client::open(addr, Some(src), hello, Duration::from_secs(60)).await;
            let mut ws = match opened {
                Ok(ws) => ws,
                Err(e) => {
                    failures.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut g) = first_error.lock() {
                        g.get_or_insert_with(|| format!("{e:#}"));
                    }
                    return None;
                }
            };
            let took = start.elapsed();
            if let Ok(mut g) = hist.lock() {
                g.saturating_record((took.as_micros() as u64).max(1));
            }
            // Keep the socket open and read the presence of course-mates arriving after us.
            loop {
                tokio::select! {
                    biased;
                    _ = release.changed() => break,
                    m = ws.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            if client::frame_type(&t) == Some("presence") {
                                presence.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                }
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
            Some(took)
        }));
    }
    // Wait until every connection has its welcome (or failed): poll the histogram count.
    let deadline = start + Duration::from_secs(120);
    loop {
        let welcomed = hist.lock().map(|g| g.len()).unwrap_or(0);
        let failed = failures.load(Ordering::Relaxed);
        if welcomed + failed >= n as u64 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all_secs = start.elapsed().as_secs_f64();
    let cpu1 = CpuMark::now(&h.pids(), h.db_kind());
    // Let in-flight presence settle briefly, then close everything.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = release_tx.send(true);
    let mut welcomed = 0u64;
    let mut last = Duration::ZERO;
    for t in tasks {
        if let Ok(Some(took)) = t.await {
            welcomed += 1;
            last = last.max(took);
        }
    }
    let hist = hist
        .lock()
        .map(|g| g.clone())
        .unwrap_or_else(|_| report::histogram());
    let (srv_cpu, gen_cpu, db_cpu) = cpu0.since(&cpu1);
    let mut out: Vec<(String, Value)> = vec![
        ("target".into(), h.target.name().into()),
        ("users".into(), (n as u64).into()),
        ("welcomed".into(), welcomed.into()),
        ("failed".into(), (n as u64 - welcomed).into()),
        ("all_welcomed_s".into(), round(last.as_secs_f64(), 3).into()),
        ("waited_s".into(), round(all_secs, 3).into()),
    ];
    out.extend(report::latency_fields("welcome_", &hist));
    out.push((
        "presence_frames".into(),
        presence.load(Ordering::Relaxed).into(),
    ));
    out.push(("server_cpu_pct".into(), round(srv_cpu, 1).into()));
    out.push(("loadgen_cpu_pct".into(), round(gen_cpu, 1).into()));
    out.push(("db_cpu_pct".into(), round(db_cpu, 1).into()));
    if let Some(e) = first_error.lock().ok().and_then(|g| g.clone()) {
        out.push(("first_error".into(), e.into()));
    }
    Ok(out)
}

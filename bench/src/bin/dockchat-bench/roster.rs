//! `roster`: the People tab's frames (docs/PROTOCOL.md §5 Roster) on a course of N members (500 by
//! default), N/10 of them online. One member asks, in bursts, for the first `course_members` page of
//! the course (50 people, teachers first, online then offline, each judged by Moodle's messaging
//! rules) and for `roster` (their courses with their groups). The daemon keeps a course's people for
//! at most `presence.enrolment_refresh_secs`, set to 1 s here: the first request of each burst (after
//! a 1.2 s pause) reads the course from the database ("cold"), the rest of the burst is served from
//! the cache ("warm"). Latency is the round trip on the loopback, from the request's send to the
//! answer's read: the server's time plus well under a millisecond.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Ws};
use crate::harness::Harness;
use crate::procs::CpuMark;
use crate::report::{self, round};
use crate::setup::FIRST_COURSE;

/// Parameters of a roster run.
#[derive(Clone, Debug)]
pub struct Params {
    /// Members of the course (the viewer included).
    pub members: usize,
    /// Bursts (each: a pause past the cache's lifetime, then `burst` page requests and a `roster`).
    pub bursts: usize,
    /// Page requests per burst.
    pub burst: usize,
    /// Source addresses to spread the sockets over.
    pub src_ips: usize,
}

/// Sends `frame` and waits for the answer of type `answer` (other frames skipped); returns the
/// round trip in microseconds and the answer's text.
async fn ask(ws: &mut Ws, frame: &str, answer: &str) -> Result<(u64, String)> {
    let t0 = Instant::now();
    ws.send(Message::text(frame.to_string())).await?;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .with_context(|| format!("no {answer} within 10 s"))?;
        match next {
            Some(Ok(Message::Text(t))) => match client::frame_type(&t) {
                Some(ty) if ty == answer => {
                    let us = (t0.elapsed().as_micros() as u64).max(1);
                    return Ok((us, t.as_str().to_owned()));
                }
                Some("error") => bail!("{frame} refused: {}", t.as_str()),
                _ => continue,
            },
            Some(Ok(_)) => continue,
            other => bail!("socket ended while waiting for {answer}: {other:?}"),
        }
    }
}

/// Runs the scenario.
pub async fn run(h: &Harness, p: &Params) -> Result<Vec<(String, Value)>> {
    let course = FIRST_COURSE;
    // Members 1..=N/10 online (their presence frames are read and dropped), member 0 asks.
    let online: Vec<usize> = (1..=(p.members / 10).max(1)).collect();
    let opened = h.open_many(&online, 64, p.src_ips).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for r in opened {
        let mut ws = r.context("an online member could not connect")?;
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    _ = stop.changed() => break,
                    m = ws.next() => if !matches!(m, Some(Ok(_))) { break },
                }
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
        }));
    }
    let mut viewer =
        client::open(h.addr_for(0), None, h.hello(0)?, Duration::from_secs(30)).await?;
    let page = format!(r#"{{"type":"course_members","course":{course},"offset":0,"limit":50}}"#);
    let roster = r#"{"type":"roster"}"#;

    // What the page holds, once: its size and the course's total.
    let (_, first) = ask(&mut viewer, &page, "course_members").await?;
    let v: Value = serde_json::from_str(&first)?;
    let listed = v["items"].as_array().map_or(0, |a| a.len()) as u64;
    let total = v["total"].as_u64().unwrap_or(0);

    let mut cold = report::histogram();
    let mut warm = report::histogram();
    let mut roster_hist = report::histogram();
    let cpu0 = CpuMark::now(&h.pids(), h.db_kind());
    for _ in 0..p.bursts {
        // Past the cache's lifetime (1 s).
        tokio::time::sleep(Duration::from_millis(1200)).await;
        for i in 0..p.burst {
            let (us, _) = ask(&mut viewer, &page, "course_members").await?;
            if i == 0 {
                cold.saturating_record(us);
            } else {
                warm.saturating_record(us);
            }
        }
        let (us, _) = ask(&mut viewer, roster, "roster").await?;
        roster_hist.saturating_record(us);
    }
    let cpu1 = CpuMark::now(&h.pids(), h.db_kind());
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let _ = viewer.close(None).await;
    let (srv_cpu, gen_cpu, _) = cpu0.since(&cpu1);
    let mut out: Vec<(String, Value)> = vec![
        ("target".into(), h.target.name().into()),
        ("course_members_total".into(), total.into()),
        ("page_items".into(), listed.into()),
        ("online_members".into(), (online.len() as u64).into()),
        ("bursts".into(), (p.bursts as u64).into()),
    ];
    out.extend(report::latency_fields("page_cold_", &cold));
    out.extend(report::latency_fields("page_warm_", &warm));
    out.extend(report::latency_fields("roster_", &roster_hist));
    out.push(("server_cpu_pct".into(), round(srv_cpu, 1).into()));
    out.push(("loadgen_cpu_pct".into(), round(gen_cpu, 1).into()));
    Ok(out)
}

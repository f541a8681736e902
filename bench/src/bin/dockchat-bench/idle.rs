//! `idle`: hold N authenticated connections and measure what they cost the server.
//!
//! The connections are spread over several worker processes (re-executions of this binary with the
//! hidden `idle-worker` scenario, each holding at most `--per-worker` sockets: a process here may
//! open at most 20,000 descriptors) and over several 127.0.0.x source addresses. The parent reads the
//! server's VmRSS before any connection and after all are held and settled, and reports RSS per held
//! connection. Workers talk to the parent over stdin/stdout (one JSON line each way per step) and exit
//! when their stdin closes, so they never outlive the run.
//!
//! With `--failover` (a cluster, `--nodes` 2 or more) every connection is opened on the first node and
//! the workers know the others: once all are held the first node is killed with SIGKILL, each socket
//! reconnects to another node after the delay a browser waits (0.5 to 1 s, as the client's first
//! backoff step) and the run reports how long until every user was welcomed again.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Target};
use crate::harness::Harness;
use crate::procs;
use crate::report::round;
use crate::setup::{Minter, FIRST_USER};

/// What a worker needs to know.
pub struct WorkerSpec {
    /// Server address.
    pub addr: SocketAddr,
    /// Server kind.
    pub target: Target,
    /// Block secret for minting tokens (daemon only).
    pub secret: Option<String>,
    /// First generated user index (0-based) of this worker.
    pub first: usize,
    /// How many users this worker connects.
    pub count: usize,
    /// Number of 127.0.0.x source addresses.
    pub src_ips: usize,
    /// Where a socket reconnects when its server goes (user k to `fallback[k mod len]`); empty:
    /// it does not.
    pub fallback: Vec<SocketAddr>,
}

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Worker {
    fn spawn(spec: &WorkerSpec) -> Result<Worker> {
        let me = std::env::current_exe().context("locating the bench executable")?;
        let mut cmd = Command::new(me);
        cmd.arg("idle-worker")
            .args(["--worker-addr", &spec.addr.to_string()])
            .args(["--worker-first", &spec.first.to_string()])
            .args(["--n", &spec.count.to_string()])
            .args(["--src-ips", &spec.src_ips.to_string()])
            .args(["--target", spec.target.name()])
            .args(
                spec.fallback
                    .iter()
                    .flat_map(|a| ["--worker-fallback".to_string(), a.to_string()]),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(s) = &spec.secret {
            // Passed through the environment, not argv, so it does not show in `ps`.
            cmd.env("DOCKCHAT_BENCH_SECRET", s);
        }
        let mut child = cmd.spawn().context("starting an idle worker")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("worker stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Worker {
            child,
            stdin,
            lines: rx,
        })
    }

    fn read(&self, timeout: Duration) -> Result<Value> {
        let line = self
            .lines
            .recv_timeout(timeout)
            .context("idle worker did not answer")?;
        serde_json::from_str(&line).with_context(|| format!("bad worker line: {line}"))
    }

    fn ask(&mut self, what: &str, timeout: Duration) -> Result<Value> {
        let stdin = self.stdin.as_mut().context("worker stdin closed")?;
        writeln!(stdin, "{what}").context("writing to a worker")?;
        stdin.flush().ok();
        self.read(timeout)
    }

    fn finish(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the scenario against `h` with `n` connections, at most `per_worker` per process.
pub async fn run(
    h: &mut Harness,
    n: usize,
    per_worker: usize,
    src_ips: usize,
    failover: bool,
) -> Result<Vec<(String, Value)>> {
    if failover && h.nodes() < 2 {
        bail!("--failover needs a cluster: --nodes 2 or more");
    }
    let per_worker = per_worker.clamp(1, 9000);
    let pids = h.pids();
    let nodes = pids.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss = |pids: &[u32]| -> Result<Vec<u64>> {
        pids.iter()
            .map(|p| procs::rss_kib(*p).context("reading the server's VmRSS"))
            .collect()
    };
    let rss_before = rss(&pids)?;
    // At least one worker per node; worker w connects to node w mod nodes.
    let workers_n = n.div_ceil(per_worker).max(nodes).max(1);
    let per_worker = n.div_ceil(workers_n);
    let started = Instant::now();
    let mut workers = Vec::with_capacity(workers_n);
    for w in 0..workers_n {
        let first = w * per_worker;
        let count = per_worker.min(n.saturating_sub(first));
        let (addr, fallback) = if failover {
            (h.addr(), (1..h.nodes()).map(|i| h.addr_for(i)).collect())
        } else {
            (h.addr_for(w), Vec::new())
        };
        workers.push(Worker::spawn(&WorkerSpec {
            addr,
            target: h.target,
            secret: h.secret().map(str::to_owned),
            first,
            count,
            src_ips,
            fallback,
        })?);
    }
    let mut held = 0u64;
    let mut failed = 0u64;
    let mut first_error = None;
    for w in &workers {
        // A blocking wait is fine here: nothing else runs in this process meanwhile.
        let v = w.read(Duration::from_secs(600))?;
        held += v["held"].as_u64().unwrap_or(0);
        failed += v["failed"].as_u64().unwrap_or(0);
        if first_error.is_none() {
            first_error = v["first_error"].as_str().map(str::to_owned);
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    // Let presence fan-out and allocator activity settle before reading RSS.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = rss(&pids)?;
    let mut alive = 0u64;
    let mut alive_per_node = vec![0u64; nodes];
    for (i, w) in workers.iter_mut().enumerate() {
        let v = w.ask("count", Duration::from_secs(30))?;
        let a = v["alive"].as_u64().unwrap_or(0);
        alive += a;
        // With --failover every worker started on the first node.
        alive_per_node[if failover { 0 } else { i % nodes }] += a;
    }
    let mut failover_fields = Vec::new();
    if failover {
        // SIGKILL: no goodbye, the sockets just end, as when a host dies.
        h.server.kill();
        let killed = Instant::now();
        let bound = Duration::from_secs(180);
        let mut reconnected = 0u64;
        while killed.elapsed() < bound {
            tokio::time::sleep(Duration::from_millis(250)).await;
            reconnected = 0;
            for w in &mut workers {
                let v = w.ask("count", Duration::from_secs(30))?;
                reconnected += v["reconnected"].as_u64().unwrap_or(0);
            }
            if reconnected >= alive {
                break;
            }
        }
        let took = killed.elapsed().as_secs_f64();
        failover_fields = vec![
            ("failover_users".to_string(), alive.into()),
            ("failover_reconnected".to_string(), reconnected.into()),
            (
                "failover_missing".to_string(),
                alive.saturating_sub(reconnected).into(),
            ),
            ("failover_all_welcomed_s".to_string(), round(took, 2).into()),
        ];
    }
    for w in workers {
        w.finish();
    }
    let per_conn_kib = |after: u64, before: u64, conns: u64| {
        if conns > 0 {
            round(after.saturating_sub(before) as f64 / conns as f64, 2)
        } else {
            0.0
        }
    };
    let (sum_after, sum_before): (u64, u64) = (rss_after.iter().sum(), rss_before.iter().sum());
    let mut out: Vec<(String, Value)> = vec![
        ("target".into(), h.target.name().into()),
        ("requested".into(), (n as u64).into()),
        ("held".into(), alive.into()),
        ("welcomed".into(), held.into()),
        ("failed".into(), failed.into()),
        ("workers".into(), (workers_n as u64).into()),
        ("connect_s".into(), round(connect_secs, 2).into()),
        ("rss_before_kib".into(), sum_before.into()),
        ("rss_after_kib".into(), sum_after.into()),
        (
            "rss_per_conn_kib".into(),
            per_conn_kib(sum_after, sum_before, alive).into(),
        ),
    ];
    if nodes > 1 {
        let per_node: Vec<Value> = (0..nodes)
            .map(|i| {
                serde_json::json!({
                    "held": alive_per_node[i],
                    "rss_kib": rss_after[i],
                    "rss_per_conn_kib": per_conn_kib(rss_after[i], rss_before[i], alive_per_node[i]),
                })
            })
            .collect();
        out.push(("per_node".into(), Value::Array(per_node)));
    }
    out.extend(failover_fields);
    if let Some(e) = first_error {
        out.push(("first_error".into(), e.into()));
    }
    Ok(out)
}

/// The worker side: connect `spec.count` users, report, then hold until stdin closes.
pub async fn worker(spec: WorkerSpec) -> Result<()> {
    let minter = spec.secret.as_deref().map(Minter::new);
    let alive = Arc::new(AtomicU64::new(0));
    let reconnected = Arc::new(AtomicU64::new(0));
    let fallback = Arc::new(spec.fallback.clone());
    let failed = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let sem = Arc::new(Semaphore::new(128));
    let mut handles = Vec::with_capacity(spec.count);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    for i in 0..spec.count {
        let k = spec.first + i;
        let uid = FIRST_USER + k as u64;
        let token = match &minter {
            Some(m) => m.token(uid)?,
            None => String::new(),
        };
        let hello = client::hello_frame(spec.target, uid, &token);
        let src = client::source_ip(k, spec.src_ips);
        let (sem, alive, failed, first_error, ready) = (
            sem.clone(),
            alive.clone(),
            failed.clone(),
            first_error.clone(),
            ready_tx.clone(),
        );
        let (reconnected, fallback, hello_again) =
            (reconnected.clone(), fallback.clone(), hello.clone());
        let addr = spec.addr;
        handles.push(tokio::spawn(async move {
            let permit = sem.acquire_owned().await;
            let opened = client::open(addr, Some(src), hello, Duration::from_secs(60)).await;
            drop(permit);
            let mut ws = match opened {
                Ok(ws) => ws,
                Err(e) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut g) = first_error.lock() {
                        g.get_or_insert_with(|| format!("{e:#}"));
                    }
                    let _ = ready.send(false);
                    return;
                }
            };
            alive.fetch_add(1, Ordering::Relaxed);
            let _ = ready.send(true);
            // Hold: read (presence, server pings answered by tungstenite) until the socket ends.
            hold(&mut ws).await;
            alive.fetch_sub(1, Ordering::Relaxed);
            if fallback.is_empty() {
                return;
            }
            // The server went: reconnect elsewhere as a browser would, after its first backoff
            // step (0.5 to 1 s, spread by user), then again with a doubling delay.
            let to = fallback[k % fallback.len()];
            let mut delay = Duration::from_millis(500 + (k as u64 * 7919) % 500);
            loop {
                tokio::time::sleep(delay).await;
                match client::open(to, Some(src), hello_again.clone(), Duration::from_secs(60))
                    .await
                {
                    Ok(mut ws) => {
                        alive.fetch_add(1, Ordering::Relaxed);
                        reconnected.fetch_add(1, Ordering::Relaxed);
                        hold(&mut ws).await;
                        alive.fetch_sub(1, Ordering::Relaxed);
                        return;
                    }
                    Err(_) => delay = (delay * 2).min(Duration::from_secs(30)),
                }
            }
        }));
    }
    drop(ready_tx);
    let mut welcomed = 0u64;
    let mut done = 0usize;
    while done < spec.count {
        match ready_rx.recv().await {
            Some(ok) => {
                done += 1;
                if ok {
                    welcomed += 1;
                }
            }
            None => break,
        }
    }
    let first = first_error.lock().ok().and_then(|g| g.clone());
    println!(
        "{}",
        json!({"held": welcomed, "failed": failed.load(Ordering::Relaxed), "first_error": first})
    );
    // Answer "count" lines until stdin closes (the parent is done or gone).
    let (line_tx, mut line_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines().map_while(|l| l.ok()) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = line_rx.recv().await {
        if line.trim() == "count" {
            println!(
                "{}",
                json!({"alive": alive.load(Ordering::Relaxed), "reconnected": reconnected.load(Ordering::Relaxed)})
            );
        }
    }
    for h in handles {
        h.abort();
    }
    Ok(())
}

/// Reads a held socket until it ends.
async fn hold(ws: &mut client::Ws) {
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            Some(Ok(_)) => {}
        }
    }
}

/// Checks the per-process socket budget before starting.
pub fn check_budget(count: usize) -> Result<()> {
    if count > 9000 {
        bail!("an idle worker holds at most 9000 sockets (asked {count})");
    }
    Ok(())
}

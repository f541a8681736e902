//! Processes around a run: CPU pinning (load generator on core 0, server on core 1 via `taskset`),
//! spawning `dockchatd serve` or `dockchat-forwarder` and waiting for its `... listening on ADDR` line,
//! graceful stop, and /proc readings (VmRSS, CPU ticks of the server and of the database server).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::setup::DbKind;

/// Pins the current process (and every thread and child it creates later) to core 0 when the
/// machine has at least two cores and `taskset` exists. Returns whether it pinned.
pub fn pin_self(enabled: bool) -> bool {
    if !enabled || cores() < 2 {
        return false;
    }
    Command::new("taskset")
        .args(["-p", "-c", "0", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Online cores.
pub fn cores() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| {
            let mut n = 0;
            for part in s.trim().split(',') {
                let mut it = part.split('-');
                let a: usize = it.next()?.parse().ok()?;
                let b: usize = it.next().map(|b| b.parse().ok()).unwrap_or(Some(a))?;
                n += b - a + 1;
            }
            Some(n)
        })
        .unwrap_or(1)
}

/// The path of a sibling binary of this executable (e.g. `target/release/dockchatd`).
pub fn sibling(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe().context("locating the bench executable")?;
    let dir = me.parent().context("bench executable has no directory")?;
    Ok(dir.join(name))
}

/// A server under test.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its pid (the same as taskset's: taskset execs the program).
    pub pid: u32,
    /// Whether it was pinned to core 1.
    pub pinned: bool,
    /// Killed on purpose by the scenario ([`Server::kill`]), not crashed.
    pub killed: bool,
    label: &'static str,
}

impl Server {
    /// Starts `program args...` (pinned to core 1 if `pin`), with stderr to `log`, and waits up to
    /// 30 s for the stdout line `<prefix> ADDR`.
    pub fn start(
        label: &'static str,
        program: &Path,
        args: &[String],
        envs: &[(&str, String)],
        log: &Path,
        prefix: &str,
        pin: bool,
    ) -> Result<Server> {
        if !program.exists() {
            bail!(
                "{} not found: build it first (cargo build --release --bins)",
                program.display()
            );
        }
        let pinned = pin && cores() >= 2 && which("taskset");
        let mut cmd = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", "1"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let logfile = std::fs::File::create(log).context("creating the server log")?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(logfile));
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            // Keep reading so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "{label} did not print '{prefix} ADDR' within 30 s; log: {}",
                    tail(log)
                );
            }
            match rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) => {
                    if let Some(rest) = line.trim().strip_prefix(prefix) {
                        let addr: SocketAddr = rest
                            .trim()
                            .parse()
                            .with_context(|| format!("bad address in '{line}'"))?;
                        return Ok(Server {
                            child,
                            addr,
                            pid,
                            pinned,
                            killed: false,
                            label,
                        });
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        bail!("{label} exited early ({status}); log: {}", tail(log));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().ok();
                    bail!("{label} exited early ({status:?}); log: {}", tail(log));
                }
            }
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL now (a host dying), and reaps it.
    pub fn kill(&mut self) {
        self.killed = true;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, wait up to 15 s, then SIGKILL.
    pub fn stop(mut self) -> Result<()> {
        if !self.alive() {
            return Ok(());
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "{} did not stop within 15 s of SIGTERM; killing",
            self.label
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.alive() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// The last lines of a log file, for error messages.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(8);
    lines[from..].join(" | ")
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// utime + stime of `pid` in clock ticks (USER_HZ, 100 per second on Linux).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Summed CPU ticks of the database server's processes (`mariadbd`/`mysqld` or `postgres`).
pub fn db_ticks(kind: DbKind) -> u64 {
    let names: &[&str] = match kind {
        DbKind::Mariadb => &["mariadbd", "mysqld"],
        DbKind::Postgres => &["postgres"],
    };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut total = 0;
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if names.contains(&comm.trim()) {
            total += cpu_ticks(pid).unwrap_or(0);
        }
    }
    total
}

/// CPU use over a window, in percent of one core, from tick readings.
pub fn cpu_pct(before: u64, after: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    (after.saturating_sub(before)) as f64 / 100.0 / secs * 100.0
}

/// CPU tick readings of the server, this process and the database at one moment.
#[derive(Clone, Copy)]
pub struct CpuMark {
    at: Instant,
    server: u64,
    me: u64,
    db: u64,
}

impl CpuMark {
    /// Reads the counters now (the server's summed over its processes: the nodes of a cluster).
    pub fn now(server_pids: &[u32], kind: Option<DbKind>) -> CpuMark {
        CpuMark {
            at: Instant::now(),
            server: server_pids.iter().map(|p| cpu_ticks(*p).unwrap_or(0)).sum(),
            me: cpu_ticks(std::process::id()).unwrap_or(0),
            db: kind.map(db_ticks).unwrap_or(0),
        }
    }

    /// Percent of one core used by (server, load generator, database) since `self`.
    pub fn since(&self, later: &CpuMark) -> (f64, f64, f64) {
        let secs = later.at.duration_since(self.at).as_secs_f64();
        (
            cpu_pct(self.server, later.server, secs),
            cpu_pct(self.me, later.me, secs),
            cpu_pct(self.db, later.db, secs),
        )
    }
}

//! Process-wide counters, rendered at `/metrics` in Prometheus' text format.
//!
//! Owns: a few relaxed atomic counters and gauges (connections, messages, errors, auth failures),
//! and fixed-bucket histograms of the message writer's group commits (size, latency, batches in
//! flight), which the benchmark reads to report them.
//! Must not: block, allocate on the hot path, or hold labels with user data.

use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonic counter or a gauge.
#[derive(Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Self {
        Counter(AtomicU64::new(0))
    }
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Default for Counter {
    fn default() -> Self {
        Counter::new()
    }
}

/// A histogram over fixed upper bounds, rendered cumulatively as Prometheus expects. Observing is
/// two relaxed atomic adds.
#[derive(Debug)]
pub struct Histogram<const N: usize> {
    /// Upper bounds, ascending; a value above the last counts only in `+Inf`.
    bounds: [f64; N],
    /// Observations per bucket (not cumulative), the last one past every bound.
    counts: [AtomicU64; N],
    over: AtomicU64,
    count: AtomicU64,
    /// The sum of observations, in millionths (microseconds for seconds).
    sum_micros: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    pub const fn new(bounds: [f64; N]) -> Self {
        Histogram {
            bounds,
            counts: [const { AtomicU64::new(0) }; N],
            over: AtomicU64::new(0),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, v: f64) {
        match self.bounds.iter().position(|b| v <= *b) {
            Some(i) => self.counts[i].fetch_add(1, Ordering::Relaxed),
            None => self.over.fetch_add(1, Ordering::Relaxed),
        };
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((v * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        use std::fmt::Write;
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} histogram\n");
        let mut cumulative = 0;
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            cumulative += c.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
        }
        cumulative += self.over.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {}", self.count.load(Ordering::Relaxed));
    }
}

/// Sends per group commit.
pub static COMMIT_SENDS: Histogram<9> =
    Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]);
/// Seconds from a group commit's first statement to its COMMIT's answer.
pub static COMMIT_SECONDS: Histogram<14> = Histogram::new([
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
]);
/// Batches in flight (this one included) when a group commit was prepared.
pub static COMMITS_IN_FLIGHT: Histogram<4> = Histogram::new([1.0, 2.0, 3.0, 4.0]);
/// Group commits slower than `store::messaging::SLOW_COMMIT` (logged with their phases).
pub static SLOW_COMMITS: Counter = Counter::new();

pub static CONNECTIONS_TOTAL: Counter = Counter::new();
pub static CONNECTIONS_OPEN: Counter = Counter::new();
pub static AUTHENTICATED_OPEN: Counter = Counter::new();
pub static AUTH_FAILURES: Counter = Counter::new();
pub static MESSAGES: Counter = Counter::new();
pub static FRAMES_IN: Counter = Counter::new();
pub static ERRORS_SENT: Counter = Counter::new();
pub static SLOW_CLOSES: Counter = Counter::new();

/// The Prometheus text exposition.
pub fn render() -> String {
    let rows: [(&str, &str, &str, &Counter); 9] = [
        (
            "dockchat_connections_total",
            "counter",
            "WebSocket connections accepted",
            &CONNECTIONS_TOTAL,
        ),
        (
            "dockchat_connections_open",
            "gauge",
            "WebSocket connections open",
            &CONNECTIONS_OPEN,
        ),
        (
            "dockchat_authenticated_open",
            "gauge",
            "Authenticated connections open",
            &AUTHENTICATED_OPEN,
        ),
        (
            "dockchat_auth_failures_total",
            "counter",
            "Connections refused at hello",
            &AUTH_FAILURES,
        ),
        (
            "dockchat_messages_total",
            "counter",
            "Chat messages stored",
            &MESSAGES,
        ),
        (
            "dockchat_frames_in_total",
            "counter",
            "Client frames received",
            &FRAMES_IN,
        ),
        (
            "dockchat_errors_sent_total",
            "counter",
            "Error frames sent",
            &ERRORS_SENT,
        ),
        (
            "dockchat_slow_closes_total",
            "counter",
            "Connections closed with 4009 (outbox overflow, or frames not taken within the write deadline)",
            &SLOW_CLOSES,
        ),
        (
            "dockchat_slow_commits_total",
            "counter",
            "Group commits slower than 100 ms (logged at warn with their phases)",
            &SLOW_COMMITS,
        ),
    ];
    let mut out = String::with_capacity(1024);
    for (name, kind, help, c) in rows {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n",
            c.get()
        ));
    }
    COMMIT_SENDS.render(
        &mut out,
        "dockchat_group_commit_sends",
        "Sends per group commit",
    );
    COMMIT_SECONDS.render(
        &mut out,
        "dockchat_group_commit_seconds",
        "Group commit latency, first statement to the COMMIT's answer",
    );
    COMMITS_IN_FLIGHT.render(
        &mut out,
        "dockchat_group_commits_in_flight",
        "Group commits in flight (this one included) when one was prepared",
    );
    out
}

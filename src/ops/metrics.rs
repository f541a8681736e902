//! Process-wide counters, rendered at `/metrics` in Prometheus' text format.
//!
//! Owns: a few relaxed atomic counters and gauges (connections, messages, errors, auth failures).
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
    let rows: [(&str, &str, &str, &Counter); 8] = [
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
    ];
    let mut out = String::with_capacity(1024);
    for (name, kind, help, c) in rows {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n",
            c.get()
        ));
    }
    out
}

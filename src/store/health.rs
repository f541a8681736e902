//! Whether the database answers: a flag shared by every clone of a [`Store`], set by a failure that
//! says the database is unreachable (connection lost, pool timeout, a deadline passed) and cleared
//! by a probe that runs twice a second until a `SELECT 1` answers.
//!
//! Owns: the flag and its single probe task. While the flag is set, requests that need the
//! database are answered at once ([`StoreError::Unavailable`]) instead of each waiting out its own
//! deadline, so a connection task never stalls on an outage and the writer refuses sends within a
//! probe's time.
//! Must not: decide anything about a request beyond "do not try now".

use super::{Store, StoreError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// How often a database marked unreachable is probed.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);
/// Longest a probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The shared state: `true` while the database is taken to be unreachable.
#[derive(Debug)]
pub struct Health {
    down: watch::Sender<bool>,
    probing: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            down: watch::Sender::new(false),
            probing: AtomicBool::new(false),
        }
    }
}

impl Store {
    /// The database is taken to be unreachable: don't try it now.
    pub fn is_down(&self) -> bool {
        *self.health.down.borrow()
    }

    /// `Err(Unavailable)` while the database is taken to be unreachable.
    pub fn check_up(&self) -> Result<(), StoreError> {
        if self.is_down() {
            Err(StoreError::Unavailable)
        } else {
            Ok(())
        }
    }

    /// Takes note of a failure: one that says the database is unreachable marks it so (see
    /// [`StoreError::is_unreachable`]; a refused statement says the database is there).
    pub fn report(&self, e: &StoreError) {
        if e.is_unreachable() && !matches!(e, StoreError::Unavailable) {
            self.mark_down();
        }
    }

    /// Marks the database unreachable and starts the probe if none runs.
    pub fn mark_down(&self) {
        if !self.health.down.send_replace(true) {
            tracing::warn!("the database does not answer; requests are refused until it does");
        }
        if self.health.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(Ok(())) = tokio::time::timeout(PROBE_TIMEOUT, store.ping()).await {
                    // Probing off first: a failure reported after this starts a new probe, so
                    // the flag can be wrong only towards "up", never stuck "down".
                    store.health.probing.store(false, Ordering::Release);
                    store.health.down.send_replace(false);
                    tracing::info!("the database answers again");
                    return;
                }
                tokio::time::sleep(PROBE_EVERY).await;
            }
        });
    }

    /// Takes note that the database answered (a caller's own query succeeded): requests are
    /// tried again without waiting for the probe.
    pub fn mark_up(&self) {
        if self.health.down.send_replace(false) {
            tracing::info!("the database answers again");
        }
    }

    /// Waits until the database is taken to answer again, at most `wait`; returns whether it does.
    pub async fn wait_up(&self, wait: Duration) -> bool {
        let mut rx = self.health.down.subscribe();
        let up = tokio::time::timeout(wait, rx.wait_for(|down| !*down)).await;
        matches!(up, Ok(Ok(_)))
    }
}

//! Whether the database answers, shared by every clone of a [`Store`]: up, suspect (a request
//! failed for want of it: lost connection, pool timeout, a deadline passed) or down (a probe
//! confirmed it). A failure only raises suspicion; a probe on a connection of its own, outside the
//! pool (an overloaded pool is not an outage), decides: if it answers the database is up again at
//! once, else it is down and the probe repeats twice a second until it answers.
//!
//! Owns: the state and its single probe task. While the database is down, requests that need it
//! are answered at once ([`StoreError::Unavailable`]) instead of each waiting out its own deadline,
//! so a connection task never stalls on an outage and the writer refuses sends within a probe's
//! time.
//! Must not: decide anything about a request beyond "do not try now".

use super::{Store, StoreError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// How often a database found down is probed again.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);
/// Longest a probe (connect and `SELECT 1`) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What is known of the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Up,
    /// A request failed for want of the database; a probe is deciding.
    Suspect,
    /// The probe found no database; requests are refused until one answers.
    Down,
}

/// The shared state and whether its probe runs.
#[derive(Debug)]
pub struct Health {
    state: watch::Sender<State>,
    probing: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            state: watch::Sender::new(State::Up),
            probing: AtomicBool::new(false),
        }
    }
}

impl Store {
    /// What is known of the database now.
    pub fn health(&self) -> State {
        *self.health.state.borrow()
    }

    /// `Err(Unavailable)` while the database is known to be down.
    pub fn check_up(&self) -> Result<(), StoreError> {
        if self.health() == State::Down {
            Err(StoreError::Unavailable)
        } else {
            Ok(())
        }
    }

    /// Takes note of a failure: one that says the database may be unreachable (see
    /// [`StoreError::is_unreachable`]) starts the probe; a refused statement says it is there.
    pub fn report(&self, e: &StoreError) {
        if e.is_unreachable() && !matches!(e, StoreError::Unavailable) {
            self.suspect();
        }
    }

    /// Starts the probe, unless one runs: the database is up if a connection of its own answers
    /// within [`PROBE_TIMEOUT`], else down until one does.
    pub fn suspect(&self) {
        self.health.state.send_if_modified(|s| {
            let was_up = *s == State::Up;
            if was_up {
                *s = State::Suspect;
            }
            was_up
        });
        if self.health.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                let answered = matches!(
                    tokio::time::timeout(PROBE_TIMEOUT, store.ping_direct()).await,
                    Ok(Ok(()))
                );
                if answered {
                    // Probing off first: a failure reported after this starts a new probe, so
                    // the state can be wrong only towards "up", never stuck "down".
                    store.health.probing.store(false, Ordering::Release);
                    if store.health.state.send_replace(State::Up) == State::Down {
                        tracing::info!("the database answers again");
                    }
                    return;
                }
                if store.health.state.send_replace(State::Down) != State::Down {
                    tracing::warn!(
                        "the database does not answer; requests are refused until it does"
                    );
                }
                tokio::time::sleep(PROBE_EVERY).await;
            }
        });
    }

    /// Takes note that the database answered (a caller's own query succeeded).
    pub fn mark_up(&self) {
        if self.health.state.send_replace(State::Up) == State::Down {
            tracing::info!("the database answers again");
        }
    }

    /// Waits, at most `wait`, for the probe's verdict and then for the database to be up; returns
    /// whether it is up.
    pub async fn wait_up(&self, wait: Duration) -> bool {
        let mut rx = self.health.state.subscribe();
        let up = tokio::time::timeout(wait, rx.wait_for(|s| *s == State::Up)).await;
        matches!(up, Ok(Ok(_)))
    }
}

//! Exactly-once delivery of dock messages on one node of a cluster, whichever way they arrive.
//!
//! A message another node stored reaches this node's sockets by that node's publication (fast) or,
//! when the publication was lost (a network blip, Redis restarting), by this node's own poll of
//! Moodle's tables (a bounded delay later): the ledger lets the first of the two deliver and the
//! other drop it. It also keeps the ids this node learnt in the last [`SETTLE`], because ids from
//! several nodes arrive out of id order: a resume starts below them (PROTOCOL §5.1; clients drop
//! repeats by id).
//! Owns: the ids delivered here and not yet seen by the poll, the ids the poll delivered, the recent
//! ids. Both maps are emptied as the poll catches up, so they hold what is in flight, not history.
//! Must not: deliver anything itself, or be used on a single node (where the writer alone delivers
//! dock messages, in id order).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long after a dock message shows up in the poll this node waits for its publication before
/// delivering it from the database itself: the fallback's added latency.
pub const PUBLICATION_GRACE: Duration = Duration::from_millis(500);
/// How long an id counts as recent for the resume floor: well above a publication's delay and the
/// poll's fallback.
pub const SETTLE: Duration = Duration::from_secs(5);
/// An entry neither side matched in this long (a rolled-back id; a poll far behind) is forgotten.
const FORGET: Duration = Duration::from_secs(120);

#[derive(Debug, Default)]
struct State {
    /// Delivered by this node's writer or from a publication; not seen by the poll yet.
    delivered: HashMap<i64, Instant>,
    /// Delivered by the poll because no publication came within the grace.
    polled: HashMap<i64, Instant>,
    /// Ids learnt lately, in arrival order, as a sliding-window minimum: each entry's id is above
    /// the one before it (an id that arrives below earlier ones replaces them), so the front is the
    /// lowest id of the window once expired entries are popped. O(1) per id, at any rate.
    recent: VecDeque<(i64, Instant)>,
}

impl State {
    fn learnt(&mut self, id: i64, now: Instant) {
        while self.recent.back().is_some_and(|(last, _)| *last >= id) {
            self.recent.pop_back();
        }
        self.recent.push_back((id, now));
    }

    fn expire_recent(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|(_, at)| now.duration_since(*at) >= SETTLE)
        {
            self.recent.pop_front();
        }
    }
}

/// The ledger of one node (shared by its writer, its poll and its cluster subscriber).
#[derive(Debug, Default)]
pub struct Ledger {
    state: Mutex<State>,
}

/// What the poll should do with a dock message it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Delivered already (by the writer here or a publication): nothing to do.
    Delivered,
    /// Not yet: wait [`PUBLICATION_GRACE`] for its publication, then ask [`Ledger::overdue`].
    Wait,
}

impl Ledger {
    pub fn new() -> Self {
        Ledger::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The maps hold plain ids; a panic elsewhere leaves them consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This node's writer committed `id` and delivers it now.
    pub fn stored_here(&self, id: i64) {
        let now = Instant::now();
        let mut s = self.state();
        s.delivered.insert(id, now);
        s.learnt(id, now);
    }

    /// Another node's publication of `id` arrived: whether to deliver it (false when the poll
    /// delivered it already). A large fan-out may come in several publications, each for other
    /// users: each of them is delivered.
    pub fn published(&self, id: i64) -> bool {
        let now = Instant::now();
        let mut s = self.state();
        if s.polled.contains_key(&id) {
            return false;
        }
        s.learnt(id, now);
        s.delivered.insert(id, now);
        true
    }

    /// The poll found dock message `id`.
    pub fn found(&self, id: i64) -> Found {
        let now = Instant::now();
        let mut s = self.state();
        s.learnt(id, now);
        if s.delivered.remove(&id).is_some() {
            Found::Delivered
        } else {
            Found::Wait
        }
    }

    /// The poll found a message that did not come through any dockchat node (only for the resume
    /// floor).
    pub fn found_foreign(&self, id: i64) {
        self.state().learnt(id, Instant::now());
    }

    /// The grace of a dock message the poll found is over: whether the poll delivers it now (false
    /// when its publication came meanwhile).
    pub fn overdue(&self, id: i64) -> bool {
        let now = Instant::now();
        let mut s = self.state();
        if s.delivered.remove(&id).is_some() {
            return false;
        }
        s.polled.insert(id, now);
        true
    }

    /// The lowest id learnt within [`SETTLE`]: a resume from a cursor at or above it starts below
    /// it. Also forgets what is older.
    pub fn floor(&self) -> Option<i64> {
        let mut s = self.state();
        s.expire_recent(Instant::now());
        s.recent.front().map(|(id, _)| *id)
    }

    /// Forgets entries neither side matched in [`FORGET`].
    pub fn prune(&self) {
        let now = Instant::now();
        let mut s = self.state();
        s.delivered.retain(|_, at| now.duration_since(*at) < FORGET);
        s.polled.retain(|_, at| now.duration_since(*at) < FORGET);
        s.expire_recent(now);
    }

    /// Entries held (delivered-not-polled, polled), for tests and metrics.
    pub fn sizes(&self) -> (usize, usize) {
        let s = self.state();
        (s.delivered.len(), s.polled.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_of_publication_and_poll_delivers() {
        let l = Ledger::new();
        // Publication first: the poll finds it delivered.
        assert!(l.published(10));
        assert_eq!(l.found(10), Found::Delivered);
        // A fan-out in two publications (other users in each): both delivered.
        assert!(l.published(11));
        assert!(l.published(11));
        // Poll first, publication within the grace: the publication delivers.
        assert_eq!(l.found(12), Found::Wait);
        assert!(l.published(12));
        assert!(!l.overdue(12));
        // Poll first, no publication: the poll delivers, a late publication is dropped.
        assert_eq!(l.found(13), Found::Wait);
        assert!(l.overdue(13));
        assert!(!l.published(13));
        // The writer's own: the poll skips it.
        l.stored_here(14);
        assert_eq!(l.found(14), Found::Delivered);
        // 11 waits for the poll; 13 stays marked as the poll's (another part of its fan-out
        // would be dropped too) until it is forgotten.
        assert_eq!(l.sizes(), (1, 1));
        assert_eq!(l.found(11), Found::Delivered);
        assert_eq!(l.sizes(), (0, 1));
        assert_eq!(l.floor(), Some(10));
    }

    #[test]
    fn the_floor_is_the_lowest_recent_id_and_stays_small() {
        let l = Ledger::new();
        for id in 100..10_100 {
            l.stored_here(id);
        }
        assert_eq!(l.floor(), Some(100));
        // Ascending ids keep one entry each; an id below them all leaves only itself.
        l.published(50);
        assert_eq!(l.floor(), Some(50));
        assert_eq!(l.state().recent.len(), 1);
        l.found_foreign(70);
        assert_eq!(l.floor(), Some(50));
    }
}

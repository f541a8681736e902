//! Exactly-once delivery of dock messages on one node of a cluster, whichever way they arrive.
//!
//! A message another node stored reaches this node's sockets by that node's publication (fast) or,
//! when the publication was lost (a network blip, Redis restarting), by this node's own poll of
//! Moodle's tables (a bounded delay later): the ledger lets the first of the two deliver and the
//! other drop it. It also keeps the ids this node learnt in the last [`SETTLE`], because ids from
//! several nodes arrive out of id order: a resume starts below them (PROTOCOL §5.1; clients drop
//! repeats by id).
//! Owns: the ids delivered here and not yet seen by the poll, the ids the poll delivered, the recent
//! ids. Both maps are emptied as the poll catches up, so they hold what is in flight, not history;
//! what neither side matches (a rolled-back id, a poll that keeps failing) is forgotten after
//! [`FORGET`] by whichever call comes next, so they are bounded by time, not by traffic.
//! Must not: deliver anything itself, or be used on a single node (where the writer alone delivers
//! dock messages, in id order).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long after a dock message shows up in the poll this node waits for its publication before
/// delivering it from the database itself: the fallback's added latency.
pub const PUBLICATION_GRACE: Duration = Duration::from_millis(500);
/// How long an id counts as recent for the resume floor: well above a publication's delay and the
/// poll's fallback, and above the time a browser takes to notice a dead node (its socket's ping
/// timeout) and resume on another.
pub const SETTLE: Duration = Duration::from_secs(60);
/// An entry neither side matched in this long (a rolled-back id; a poll far behind) is forgotten.
const FORGET: Duration = Duration::from_secs(120);
/// The ledger forgets old entries by itself at most this often, whichever call comes (so the maps
/// stay bounded by time even while this node's poll fails and never asks it to).
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// Who a dock message was delivered to on this node before the poll found it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    /// This node's writer stored it and delivered it to every recipient's sockets here.
    All,
    /// Publications delivered it to these users (a fan-out may come in several publications, and
    /// one may be lost).
    Users(Vec<i64>),
}

#[derive(Debug, Default)]
struct State {
    /// Delivered by this node's writer or from publications; not seen by the poll yet.
    delivered: HashMap<i64, (Instant, Got)>,
    /// The users the poll delivered to because no publication brought it to them in time.
    polled: HashMap<i64, (Instant, Vec<i64>)>,
    /// Ids learnt lately, in arrival order, as a sliding-window minimum: each entry's id is above
    /// the one before it (an id that arrives below earlier ones replaces them), so the front is the
    /// lowest id of the window once expired entries are popped. O(1) per id, at any rate.
    recent: VecDeque<(i64, Instant)>,
    /// When old entries were last forgotten.
    pruned_at: Option<Instant>,
}

impl State {
    fn learnt(&mut self, id: i64, now: Instant) {
        while self.recent.back().is_some_and(|(last, _)| *last >= id) {
            self.recent.pop_back();
        }
        self.recent.push_back((id, now));
    }

    /// Forgets entries neither side matched in [`FORGET`] and ids older than [`SETTLE`], at most
    /// once per [`PRUNE_EVERY`] (each pass walks both maps).
    fn prune(&mut self, now: Instant) {
        if self
            .pruned_at
            .is_some_and(|at| now.saturating_duration_since(at) < PRUNE_EVERY)
        {
            return;
        }
        self.pruned_at = Some(now);
        self.delivered
            .retain(|_, (at, _)| now.saturating_duration_since(*at) < FORGET);
        self.polled
            .retain(|_, (at, _)| now.saturating_duration_since(*at) < FORGET);
        self.expire_recent(now);
    }

    fn expire_recent(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= SETTLE)
        {
            self.recent.pop_front();
        }
    }
}

/// The ledger of one node (shared by its writer, its poll and its cluster subscriber).
#[derive(Debug, Default)]
pub struct Ledger {
    state: Mutex<State>,
    /// Tests move the ledger's clock forward instead of sleeping.
    #[cfg(test)]
    skew: Mutex<Duration>,
}

/// What the poll should do with a dock message it found whose recipients include users connected
/// here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// This node's writer delivered it: nothing to do.
    Delivered,
    /// Wait [`PUBLICATION_GRACE`] for its publications, then ask [`Ledger::overdue`] who is left.
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

    /// The ledger's clock.
    fn now(&self) -> Instant {
        #[cfg(test)]
        {
            Instant::now() + *self.skew.lock().unwrap_or_else(|e| e.into_inner())
        }
        #[cfg(not(test))]
        {
            Instant::now()
        }
    }

    /// This node's writer committed `id` and delivers it now.
    pub fn stored_here(&self, id: i64) {
        let now = self.now();
        let mut s = self.state();
        s.prune(now);
        s.delivered.insert(id, (now, Got::All));
        s.learnt(id, now);
    }

    /// A publication of `id` for `users` arrived: the users to deliver it to (those the poll has
    /// not delivered it to already).
    pub fn published(&self, id: i64, users: &[i64]) -> Vec<i64> {
        let now = self.now();
        let mut s = self.state();
        s.prune(now);
        s.learnt(id, now);
        if let Some((_, done)) = s.polled.get(&id) {
            return users
                .iter()
                .copied()
                .filter(|u| !done.contains(u))
                .collect();
        }
        match s.delivered.entry(id) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                if let Got::Users(got) = &mut e.get_mut().1 {
                    got.extend_from_slice(users);
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((now, Got::Users(users.to_vec())));
            }
        }
        users.to_vec()
    }

    /// The poll found dock message `id`, whose recipients connected to this node are `here`:
    /// delivered when this node's writer stored it, when nobody it is for is here (it is then
    /// only learnt for the resume floor), or when publications have brought it to everyone here;
    /// otherwise the poll waits for the rest of its publications.
    pub fn found(&self, id: i64, here: &[i64]) -> Found {
        let now = self.now();
        let mut s = self.state();
        s.prune(now);
        s.learnt(id, now);
        let done = here.is_empty()
            || match s.delivered.get(&id) {
                Some((_, Got::All)) => true,
                Some((_, Got::Users(got))) => here.iter().all(|u| got.contains(u)),
                None => false,
            };
        if done {
            s.delivered.remove(&id);
            return Found::Delivered;
        }
        Found::Wait
    }

    /// The poll found `id` and it is one this node's writer stored and delivered: forgets it and
    /// says so (the poll then needs nothing else of the row). Anything else is left as it was.
    pub fn take_own(&self, id: i64) -> bool {
        let now = self.now();
        let mut s = self.state();
        s.prune(now);
        if !matches!(s.delivered.get(&id), Some((_, Got::All))) {
            return false;
        }
        s.delivered.remove(&id);
        s.learnt(id, now);
        true
    }

    /// The poll found a message that did not come through any dockchat node (only for the resume
    /// floor).
    pub fn found_foreign(&self, id: i64) {
        let now = self.now();
        let mut s = self.state();
        s.prune(now);
        s.learnt(id, now);
    }

    /// The grace of a dock message the poll found is over: of its recipients connected here
    /// (`here`), those no publication brought it to, whom the poll delivers it to now.
    pub fn overdue(&self, id: i64, here: &[i64]) -> Vec<i64> {
        let now = self.now();
        let mut s = self.state();
        s.prune(now);
        let left: Vec<i64> = match s.delivered.remove(&id) {
            Some((_, Got::All)) => Vec::new(),
            Some((_, Got::Users(got))) => {
                here.iter().copied().filter(|u| !got.contains(u)).collect()
            }
            None => here.to_vec(),
        };
        if !left.is_empty() {
            s.polled.insert(id, (now, left.clone()));
        }
        left
    }

    /// The lowest id learnt within [`SETTLE`]: a resume from a cursor at or above it starts below
    /// it. Also forgets what is older.
    pub fn floor(&self) -> Option<i64> {
        let now = self.now();
        let mut s = self.state();
        s.expire_recent(now);
        s.recent.front().map(|(id, _)| *id)
    }

    /// Forgets entries neither side matched in [`FORGET`] (at most once per [`PRUNE_EVERY`]; every
    /// other call does so too, so this is only needed when nothing else comes).
    pub fn prune(&self) {
        let now = self.now();
        self.state().prune(now);
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
    fn only_what_the_writer_stored_here_is_taken_as_its_own() {
        let l = Ledger::new();
        l.stored_here(7);
        assert_eq!(l.published(8, &[1]), vec![1]);
        assert!(l.take_own(7));
        // Taken once: the entry is gone, as after `found`.
        assert!(!l.take_own(7));
        // A publication's message is not this node's: the poll must read its row.
        assert!(!l.take_own(8));
        assert!(!l.take_own(9));
        assert_eq!(l.sizes(), (1, 0));
        assert_eq!(l.floor(), Some(7));
    }

    #[test]
    fn each_recipient_gets_it_once_by_publication_or_by_poll() {
        let l = Ledger::new();
        // Publication first, to everyone here: nothing for the poll (not even a wait).
        assert_eq!(l.published(10, &[1, 2]), vec![1, 2]);
        assert_eq!(l.found(10, &[1, 2]), Found::Delivered);
        // A fan-out in two publications, the second lost: the poll delivers to the rest only.
        assert_eq!(l.published(11, &[1]), vec![1]);
        assert_eq!(l.found(11, &[1, 3]), Found::Wait);
        assert_eq!(l.overdue(11, &[1, 3]), vec![3]);
        // A late publication delivers only to whom the poll did not.
        assert_eq!(l.published(11, &[3, 4]), vec![4]);
        // Poll first, no publication: the poll delivers to everyone here.
        assert_eq!(l.found(12, &[5]), Found::Wait);
        assert_eq!(l.overdue(12, &[5]), vec![5]);
        // The writer's own: nothing for the poll.
        l.stored_here(13);
        assert_eq!(l.found(13, &[1]), Found::Delivered);
        // Nobody here: nothing is kept.
        assert_eq!(l.published(14, &[6]), vec![6]);
        assert_eq!(l.found(14, &[]), Found::Delivered);
        assert_eq!(
            l.sizes(),
            (0, 2),
            "what the poll delivered, for late publications"
        );
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
        l.published(50, &[1]);
        assert_eq!(l.floor(), Some(50));
        assert_eq!(l.state().recent.len(), 1);
        l.found_foreign(70);
        assert_eq!(l.floor(), Some(50));
    }

    impl Ledger {
        /// Moves this ledger's clock forward.
        fn advance(&self, by: Duration) {
            *self.skew.lock().unwrap() += by;
        }
    }

    #[test]
    fn unmatched_entries_are_forgotten_after_their_time() {
        let l = Ledger::new();
        // Delivered here (by the writer, by a publication) but never found by the poll (rolled
        // back, deleted before the poll came, a poll that failed).
        l.stored_here(1);
        l.published(2, &[7]);
        // Found by the poll and delivered from the database; its publication never comes.
        assert_eq!(l.found(3, &[7]), Found::Wait);
        assert_eq!(l.overdue(3, &[7]), vec![7]);
        assert_eq!(l.sizes(), (2, 1));
        // Just short of FORGET: still held (a late publication is still recognised).
        l.advance(FORGET - Duration::from_millis(10));
        l.prune();
        assert_eq!(l.sizes(), (2, 1));
        assert!(l.published(3, &[7]).is_empty(), "no second delivery");
        // Past it (and a pass later than the last): gone, whichever call comes next (here a poll
        // of an unrelated id).
        l.advance(PRUNE_EVERY);
        assert_eq!(l.found(4, &[]), Found::Delivered);
        assert_eq!(l.sizes(), (0, 0));
        // The ids learnt for the resume floor go after SETTLE (3 was learnt again by its late
        // publication a second ago, 4 just now).
        assert_eq!(l.floor(), Some(3));
        l.advance(SETTLE);
        assert_eq!(l.floor(), None);
    }

    #[test]
    fn the_maps_stay_bounded_under_a_stream_the_poll_never_matches() {
        let l = Ledger::new();
        // Ten minutes at 100 ids a second (a tick of 10 ms): half of them delivered here and never
        // found by the poll (its rounds fail), half found and delivered from the database with
        // their publications lost. Nothing calls prune(): the ledger's own calls keep it bounded.
        let tick = Duration::from_millis(10);
        let per_sec = 100;
        let bound = per_sec * (FORGET + PRUNE_EVERY + tick).as_secs() as usize;
        let mut most = (0, 0);
        let mut recent_most = 0;
        for id in 0..(per_sec as i64 * 600) {
            if id % 2 == 0 {
                l.published(id, &[1, 2]);
            } else {
                assert_eq!(l.found(id, &[3]), Found::Wait);
                assert_eq!(l.overdue(id, &[3]), vec![3]);
            }
            let (d, p) = l.sizes();
            most = (most.0.max(d), most.1.max(p));
            recent_most = recent_most.max(l.state().recent.len());
            l.advance(tick);
        }
        assert!(
            most.0 <= bound / 2 + 1,
            "delivered held {} > {bound}/2",
            most.0
        );
        assert!(
            most.1 <= bound / 2 + 1,
            "polled held {} > {bound}/2",
            most.1
        );
        // The resume floor's ids (ascending: one entry each) are held for SETTLE only.
        let recent_bound = per_sec * (SETTLE + PRUNE_EVERY + tick).as_secs() as usize;
        assert!(
            recent_most <= recent_bound,
            "recent held {recent_most} > {recent_bound}"
        );
        // Held is what came in the last FORGET, not what came in ten minutes.
        let (d, p) = l.sizes();
        assert!(d >= per_sec / 2 * 119 && p >= per_sec / 2 * 119, "{d} {p}");
        // The stream stops: after FORGET everything is gone.
        l.advance(FORGET + PRUNE_EVERY);
        l.prune();
        assert_eq!(l.sizes(), (0, 0));
    }
}

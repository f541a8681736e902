//! Each online user's conversation list, kept between pages so a page costs a few small reads, not
//! the walk over every conversation of the user that its order needs (one index step per
//! conversation: 20 ms of database time for a user with 2,000).
//!
//! Owns: the per-user lists ([`Listed`], unordered, as the store read them), the newest message seen
//! per conversation since ([`ListCache::note_message`]), and when a list may still be used.
//! A list is used only while:
//! - it is younger than [`LIST_TTL`];
//! - the user's memberships, stars and mutes in Moodle's tables are as they were when it was read
//!   (a [`ListFingerprint`] read on every page: a join, a leave, a new conversation, a star or mute
//!   from Moodle's drawer or from another node all change it);
//! - the user deleted nothing here since (the dock's deletes forget the list, [`ListCache::forget`]),
//!   and the page's last messages all still stand (the conversations service checks them and
//!   forgets the list otherwise: a delete in the drawer or by another node).
//!
//! New messages do not invalidate a list: the writer and the ingest note every message they see
//! (each committed, Moodle's included) and a page merges the ones noted since the list was read.
//! Must not: read the database or decide the order; the conversations service does.

use crate::services::FastMap as DashMap;
use crate::store::listing::{ListFingerprint, Listed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a list is used at most. What the fingerprint and the page checks do not see (a message
/// deleted for the user in Moodle's drawer or by another node, when it is not on the page asked for;
/// a group conversation Moodle disabled or renamed) is right again within it.
pub const LIST_TTL: Duration = Duration::from_secs(300);

/// Most users whose list is kept at once (each at most [`crate::store::listing::LIST_MAX`]
/// conversations); beyond it, lists are read for the page and not kept.
const LISTS_MAX: usize = 20_000;

/// How often expired lists and notes are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// A list of a user with no socket here is kept this long after its last use: a navigation closes
/// the page's socket and the next page opens another, and asks for the list again.
const GONE_GRACE: Duration = Duration::from_secs(60);

/// One user's list as read.
struct Kept {
    /// When the read began: messages noted from then on may be missing from it.
    read_at: Instant,
    fingerprint: ListFingerprint,
    items: Arc<Vec<Listed>>,
    /// When a page last used it.
    used: Instant,
}

/// The newest message noted in a conversation: (time, id), and when it was noted.
#[derive(Clone, Copy)]
struct Note {
    last: (i64, i64),
    at: Instant,
}

/// The cache (see the module).
pub struct ListCache {
    lists: DashMap<i64, Kept>,
    notes: DashMap<i64, Note>,
    last_sweep: std::sync::Mutex<Instant>,
}

impl Default for ListCache {
    fn default() -> Self {
        ListCache {
            lists: DashMap::default(),
            notes: DashMap::default(),
            last_sweep: std::sync::Mutex::new(Instant::now()),
        }
    }
}

impl std::fmt::Debug for ListCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListCache")
            .field("lists", &self.lists.len())
            .field("notes", &self.notes.len())
            .finish()
    }
}

impl ListCache {
    /// `user`'s kept list with the messages noted since it was read, if it may still be used with
    /// `fingerprint` (read just now).
    pub fn get(&self, user: i64, fingerprint: &ListFingerprint) -> Option<Vec<Listed>> {
        let (read_at, items) = {
            let mut kept = self.lists.get_mut(&user)?;
            if kept.read_at.elapsed() >= LIST_TTL || kept.fingerprint != *fingerprint {
                drop(kept);
                self.lists.remove(&user);
                return None;
            }
            kept.used = Instant::now();
            (kept.read_at, kept.items.clone())
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter() {
            let mut item = item.clone();
            if let Some(note) = self.notes.get(&item.conv) {
                // A note from before the read is in the read already (its message committed before
                // the note was made); one from the same instant or later may not be.
                if note.at >= read_at && item.last.is_none_or(|(id, t)| note.last > (t, id)) {
                    item.last = Some((note.last.1, note.last.0));
                }
            }
            out.push(item);
        }
        Some(out)
    }

    /// Keeps `items`, read from `read_at` on with `fingerprint` (read before them).
    pub fn put(
        &self,
        user: i64,
        read_at: Instant,
        fingerprint: ListFingerprint,
        items: Vec<Listed>,
    ) {
        if self.lists.len() >= LISTS_MAX && !self.lists.contains_key(&user) {
            return;
        }
        self.lists.insert(
            user,
            Kept {
                read_at,
                fingerprint,
                items: Arc::new(items),
                used: Instant::now(),
            },
        );
    }

    /// Forgets `user`'s list (they deleted a message or a conversation, or a page found one of its
    /// last messages gone).
    pub fn forget(&self, user: i64) {
        self.lists.remove(&user);
    }

    /// A message `id` at `time` was committed in conversation `conv`.
    pub fn note_message(&self, conv: i64, id: i64, time: i64) {
        let now = Instant::now();
        let mut note = self.notes.entry(conv).or_insert(Note {
            last: (time, id),
            at: now,
        });
        // An older message noted late changes no conversation's newest.
        if (time, id) > note.last {
            *note = Note {
                last: (time, id),
                at: now,
            };
        }
    }

    /// Drops what can no longer be used, at most every [`SWEEP_EVERY`]: expired lists, lists of
    /// users for whom `here` says no (no socket here) unused for [`GONE_GRACE`], and notes older
    /// than every list (a note older than a list's read is in that list already).
    pub fn sweep(&self, here: impl Fn(i64) -> bool) {
        {
            let Ok(mut last) = self.last_sweep.lock() else {
                return;
            };
            if last.elapsed() < SWEEP_EVERY {
                return;
            }
            *last = Instant::now();
        }
        self.lists.retain(|user, kept| {
            kept.read_at.elapsed() < LIST_TTL && (kept.used.elapsed() < GONE_GRACE || here(*user))
        });
        let oldest = self.lists.iter().map(|k| k.read_at).min();
        match oldest {
            Some(oldest) => self.notes.retain(|_, n| n.at >= oldest),
            None => self.notes.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(conv: i64, last: Option<(i64, i64)>) -> Listed {
        Listed {
            conv,
            kind: 1,
            name: String::new(),
            last,
            muted: false,
            favourite: false,
        }
    }

    fn fp(n: i64) -> ListFingerprint {
        ListFingerprint {
            memberships: (n, n),
            stars: (0, 0),
            mutes: (0, 0),
        }
    }

    #[test]
    fn messages_noted_after_the_read_are_merged_older_ones_are_not() {
        let cache = ListCache::default();
        cache.note_message(1, 50, 500);
        let read_at = Instant::now();
        cache.put(
            7,
            read_at,
            fp(2),
            vec![listed(1, Some((40, 400))), listed(2, None)],
        );
        // Noted before the read: the read has it (or the user deleted it); not merged.
        let got = cache.get(7, &fp(2)).unwrap_or_default();
        assert_eq!(got[0].last, Some((40, 400)));
        cache.note_message(2, 60, 600);
        cache.note_message(1, 70, 700);
        let got = cache.get(7, &fp(2)).unwrap_or_default();
        assert_eq!(got[0].last, Some((70, 700)));
        assert_eq!(got[1].last, Some((60, 600)));
        // An older message noted late leaves the newest.
        cache.note_message(1, 65, 650);
        let got = cache.get(7, &fp(2)).unwrap_or_default();
        assert_eq!(got[0].last, Some((70, 700)));
    }

    #[test]
    fn a_changed_fingerprint_or_a_forget_drops_the_list() {
        let cache = ListCache::default();
        cache.put(7, Instant::now(), fp(2), vec![listed(1, None)]);
        assert!(cache.get(7, &fp(2)).is_some());
        assert!(cache.get(7, &fp(3)).is_none());
        assert!(
            cache.get(7, &fp(2)).is_none(),
            "dropped, not kept for later"
        );
        cache.put(7, Instant::now(), fp(2), vec![listed(1, None)]);
        cache.forget(7);
        assert!(cache.get(7, &fp(2)).is_none());
    }

    #[test]
    fn the_sweep_drops_lists_of_users_gone_and_notes_older_than_every_list() {
        let cache = ListCache::default();
        *cache.last_sweep.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now() - SWEEP_EVERY;
        cache.note_message(1, 1, 1);
        cache.put(7, Instant::now(), fp(1), vec![listed(1, None)]);
        cache.put(8, Instant::now(), fp(1), vec![listed(1, None)]);
        cache.put(9, Instant::now(), fp(1), vec![listed(1, None)]);
        for user in [7, 8] {
            if let Some(mut kept) = cache.lists.get_mut(&user) {
                kept.used = Instant::now() - GONE_GRACE;
            }
        }
        cache.sweep(|u| u == 8);
        assert!(
            cache.get(9, &fp(1)).is_some(),
            "used just now: kept though gone"
        );
        assert!(cache.get(7, &fp(1)).is_none());
        assert!(cache.get(8, &fp(1)).is_some());
        assert_eq!(cache.notes.len(), 0);
    }
}

//! The `people` search's candidates when only course-mates and contacts may be messaged (the
//! usual case, PROTOCOL §5): per searcher, everyone they may find by name, kept as long as a
//! pair's facts ([`PAIR_TTL`](super::PAIR_TTL) at most), so a search matches names in memory
//! instead of reading every course-mate's enrolment and account again.
//!
//! Owns: the per-searcher pools and the name match (case and accents folded).
//! Must not: write SQL, or decide who may be messaged (the caller judges each match fresh, by the
//! rule of a send).

use super::{Conversations, Result};
use std::sync::Arc;
use std::time::Instant;
use unicode_normalization::UnicodeNormalization;

/// Searchers whose pools are kept at once (each holds its course-mates' names: ~50 bytes a person).
const POOLS_MAX: usize = 2_000;

/// One findable person: their id and their names folded, first and last joined by a newline
/// (a query word never holds one, so a word is in the joined string only if it is in one name).
#[derive(Debug)]
struct Findable {
    id: i64,
    names: Box<str>,
}

/// A searcher's findable people, read at `at`, in the answer's order.
#[derive(Debug)]
pub(super) struct SearchPool {
    people: Vec<Findable>,
    at: Instant,
}

impl SearchPool {
    pub(super) fn fresh(&self, ttl: std::time::Duration) -> bool {
        self.at.elapsed() < ttl
    }

    /// The first `limit` ids whose names hold every (folded) word.
    fn matching(&self, words: &[String], limit: usize) -> Vec<i64> {
        self.people
            .iter()
            .filter(|p| words.iter().all(|w| p.names.contains(w.as_str())))
            .take(limit)
            .map(|p| p.id)
            .collect()
    }
}

/// `s` lower-cased without its accents (a name or a query word): as a case- and
/// accent-insensitive collation compares, so "jose" finds "José" on either database.
pub(super) fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Conversations {
    /// Up to `limit` ids of people `me` may find whose names hold every folded word, in the
    /// answer's order, from `me`'s pool (read again once older than a pair's facts).
    pub(super) async fn pool_matches(
        &self,
        me: i64,
        words: &[String],
        limit: usize,
    ) -> Result<Vec<i64>> {
        if let Some(p) = self.search_pools.get(&me) {
            if p.fresh(self.pair_ttl) {
                return Ok(p.matching(words, limit));
            }
        }
        let people = self
            .store
            .search_pool(me)
            .await?
            .into_iter()
            .map(|(id, first, last)| Findable {
                id,
                names: format!("{}\n{}", fold(&first), fold(&last)).into_boxed_str(),
            })
            .collect();
        let pool = Arc::new(SearchPool {
            people,
            at: Instant::now(),
        });
        if self.search_pools.len() >= POOLS_MAX {
            self.expire_search_pools();
        }
        if self.search_pools.len() < POOLS_MAX {
            self.search_pools.insert(me, pool.clone());
        }
        Ok(pool.matching(words, limit))
    }

    /// Drops the pools older than a pair's facts.
    pub(super) fn expire_search_pools(&self) {
        self.search_pools.retain(|_, p| p.fresh(self.pair_ttl));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_and_accents() {
        assert_eq!(fold("José GRAÇA"), "jose graca");
        assert_eq!(fold("Ærø"), "ærø");
    }

    #[test]
    fn every_word_must_be_in_a_name() {
        let pool = SearchPool {
            people: [(1, "bruno\nbarros"), (2, "carla\ncosta"), (3, "ana\nlima")]
                .into_iter()
                .map(|(id, n)| Findable {
                    id,
                    names: n.into(),
                })
                .collect(),
            at: Instant::now(),
        };
        let w = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(pool.matching(&w(&["ar"]), 10), [1, 2]);
        assert_eq!(pool.matching(&w(&["bru", "bar"]), 10), [1]);
        assert_eq!(pool.matching(&w(&["a"]), 2), [1, 2]);
        // Not across the first and the last name.
        assert_eq!(pool.matching(&w(&["nob"]), 10), Vec::<i64>::new());
        assert_eq!(pool.matching(&w(&["%"]), 10), Vec::<i64>::new());
    }
}

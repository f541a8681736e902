//! The services a connection dispatches to, with the user id fixed at authentication: who is on the
//! other end ([`auth`]), who is online and who are their course-mates ([`presence`]), and
//! everything about messages ([`conversations`], with the single message writer), and what Moodle
//! itself wrote into its messaging tables ([`ingest`]). They speak to
//! the database only through `store`, and to sockets only through outboxes.

pub mod auth;
pub mod conversations;
pub mod ingest;
pub mod ledger;
pub mod presence;

/// The concurrent maps the per-message path reads (registry, pair facts, windows, conversations):
/// keyed by ids, hashed with foldhash (randomly seeded per process) instead of SipHash, which was
/// 4-5 % of the daemon's instructions at 400 msgs/s.
pub(crate) type FastMap<K, V> = dashmap::DashMap<K, V, foldhash::fast::RandomState>;

//! dockchat: realtime docked chat for Moodle — the library behind the `dockchatd` daemon.
//!
//! # Module map (data flows one way, top to bottom)
//!
//! ```text
//! app                 composition root: builds everything, background tasks, graceful shutdown
//!  └ ws/              the WebSocket side
//!     ├ server        listener: accept + caps, HTTP routing, Origin check, upgrade; extra routes
//!     │               plug in through `server::ExtraRoutes` (the demo's page)
//!     ├ connection    one task per socket: hello/auth, read loop, outbox writes, timers
//!     └ coalesce      the socket's stream: writes gathered until a flush, the write deadline, the
//!                     inbound frame budget
//!  └ cluster/         several nodes as one over Redis (optional): publications of frames for
//!                     other nodes' sockets, replicated presence, node heartbeats, probes of
//!                     the node's own subscription
//!        ├ protocol   wire types and error/close codes (no I/O)
//!        └ services/
//!           ├ auth           token verification + account and session checks in Moodle's tables
//!           ├ presence       who is online, course-mates, presence events (dashmap)
//!           ├ conversations  send/history/read/typing/windows; the single message writer
//!           ├ ingest         delivers what Moodle itself wrote (a poll of its tables)
//!           └ ledger         in a cluster: exactly-once delivery by publication or by poll
//!              └ store/      the only SQL: Moodle core tables (read-only) and the block's tables;
//!                            store::batch answers concurrent per-user lookups in batches;
//!                            store::health knows whether the database answers (probe, fail fast)
//! outbox              the queue between the services and a socket: bounded in frames and bytes,
//!                     publishers never block (a leaf: services push, connections drain)
//! ops/                config (typed TOML + env), metrics (/metrics counters), systemd (sd_notify,
//!                     socket activation), check (`dockchatd check`)
//! demo/               `dockchatd demo`: embedded SQLite Moodle-shaped site + demo page; a composition
//!                     root above `app` (it runs the daemon with its routes plugged in)
//! ```
//!
//! # One message's path
//!
//! A `send` frame arrives on a socket; `connection` decodes it with `protocol` and calls
//! `conversations::send` with the user id fixed at authentication (never one from the frame). The
//! service validates the cid and text, authorises the pair with Moodle's rules (cached facts from
//! `store::moodle`), and queues the send for the single writer. The writer stores a batch of sends
//! in one transaction (`store::chat`, idempotent on sender + cid), commits, then pushes the `ack` to
//! the sending socket's outbox and one shared, pre-serialised `message` frame to every socket of
//! both users through `presence`. Each connection task drains its outbox to its socket; a full
//! outbox closes that socket with 4009 and the client resumes from its last id. Every answer is
//! worked out before the COMMIT; a COMMIT whose answer is lost is settled by asking the database
//! what it stored before anything newer is written, so an acked message is always delivered.

pub mod app;
pub mod cluster;
pub mod demo;
pub mod ops;
pub mod outbox;
pub mod protocol;
pub mod services;
pub mod store;
pub mod ws;

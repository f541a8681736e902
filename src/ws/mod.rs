//! The WebSocket side of the daemon: the listener and HTTP routing ([`server`]), one task per socket
//! ([`connection`]) draining its `outbox`, and the socket's stream ([`coalesce`]: write gathering,
//! the write deadline, the inbound frame budget). Nothing here runs SQL or decides permissions:
//! that is `services` and `store`.

pub mod coalesce;
pub mod connection;
pub mod server;

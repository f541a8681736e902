//! Several dockchatd nodes behind one load balancer, as one server, over Redis (design §10).
//!
//! The database stays the only store of messages; Redis only carries what one node pushes to
//! sockets held by another ([`node`]: frames already serialised, presence, read rows) and which
//! nodes are alive. A message is committed before any node announces it, and a node that missed a
//! publication still delivers it once, from its poll of the database
//! ([`crate::services::ledger`]).
//! Must not: be needed by a single node (without `cluster.redis_url` nothing here runs).

pub mod node;
pub mod wire;

pub use node::{default_node_id, Cluster, ClusterTasks};

//! One node's side of the cluster: what it publishes, what it hears, and how it tells which other
//! nodes are alive.
//!
//! Owns: the publisher (everything [`Peers`] hands over, queued without waiting and sent in
//! pipelined batches: frames for one node and one frame merged into one publication), the
//! subscriber (this node's channel and the cluster-wide one; on every (re)connect it rewrites this
//! node's presence snapshot, says hello and re-reads the other nodes' snapshots), the heartbeat
//! (a sorted set of nodes scored by Redis's clock; a node silent for [`DEAD_AFTER`] is gone and its
//! users offline everywhere), the subscription's probe (every [`PROBE_EVERY`] the node publishes a
//! probe on its own channel; one Redis took but the subscription did not deliver within
//! [`PROBE_TIMEOUT`] means the subscription is dead though its connection looks up, e.g. a
//! partition without a reset: it is dropped and rebuilt) and the up/degraded state `/healthz` and
//! `/metrics` report.
//! Must not: hold up a socket or the writer (a full queue drops publications: the database poll
//! delivers what they carried), or decide presence itself (the registry does, on every node).

use crate::cluster::wire::{self, Header, Names, Snapshot};
use crate::outbox::Outgoing;
use crate::protocol::Person;
use crate::services::conversations::Conversations;
use crate::services::ledger::Ledger;
use crate::services::presence::{NodeId, Peers, Registry};
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// How often a node beats.
pub const BEAT_EVERY: Duration = Duration::from_secs(2);
/// A node whose last beat is older than this is gone (its users go offline on every node): well
/// within the 30 s the product promises, and five missed beats.
pub const DEAD_AFTER: Duration = Duration::from_secs(10);
/// Bound of one Redis round trip or connection attempt.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// Publications queued at most; beyond it they are dropped (and counted).
const QUEUE: usize = 100_000;
/// Most queued items sent in one pipeline.
const BATCH: usize = 2048;
/// Presence snapshots expire unless their node keeps beating.
const SNAPSHOT_TTL: Duration = Duration::from_secs(60);
/// How often a node probes its own subscription.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// A probe Redis took that the subscription has not delivered in this long: the subscription is
/// dead (however alive its connection looks) and is rebuilt.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the subscriber looks at its probes.
const PROBE_CHECK: Duration = Duration::from_millis(250);

/// Why a Redis step failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the subscription ended")]
    Closed,
    #[error("the subscription did not deliver this node's probe within {0:?}")]
    Silent(Duration),
}

type Result<T> = std::result::Result<T, ClusterError>;

async fn bounded<T>(f: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T> {
    match tokio::time::timeout(REDIS_TIMEOUT, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(ClusterError::Timeout(REDIS_TIMEOUT)),
    }
}

/// What the publisher sends.
enum Out {
    Frame {
        node: NodeId,
        user: i64,
        item: Outgoing,
    },
    Online {
        person: Arc<Person>,
        courses: Arc<[i64]>,
        away: bool,
    },
    Offline {
        user: i64,
        at: i64,
    },
    Reads(Vec<i64>),
    /// Pairs whose cached facts every node drops (a block changed).
    Pairs(Vec<(i64, i64)>),
    /// Windows (owner, peer) closed here, which every node forgets it knew.
    Windows(Vec<(i64, i64)>),
    /// Every node forgets every window it knew (an earlier [`Out::Windows`] was lost).
    AllWindows,
    /// This node's presence snapshot rewritten from the registry, then a hello: ordered with the
    /// presence updates queued before and after it.
    Rewrite,
}

impl Out {
    fn is_presence(&self) -> bool {
        matches!(
            self,
            Out::Online { .. } | Out::Offline { .. } | Out::Rewrite
        )
    }

    fn is_windows(&self) -> bool {
        matches!(self, Out::Windows(_) | Out::AllWindows)
    }
}

/// Why the subscription was last lost (what `/healthz` says while it is down).
const LOST_UNREACHABLE: u8 = 0;
const LOST_SILENT: u8 = 1;

/// The cluster as this node sees it (shared by the registry, as its [`Peers`], and the tasks).
pub struct Cluster {
    me: NodeId,
    names: Names,
    client: redis::Client,
    registry: Arc<Registry>,
    convs: Arc<Conversations>,
    ledger: Arc<Ledger>,
    out: mpsc::Sender<Out>,
    /// Subscribed (and this node's presence rewritten since).
    subscribed: AtomicBool,
    /// The last publication went through.
    publishing: AtomicBool,
    /// Publications dropped (queue full, or Redis away).
    dropped: AtomicU64,
    /// A presence update was lost: the snapshot must be rewritten (next beat).
    presence_dirty: AtomicBool,
    /// An announcement of closed windows was lost: every node must forget every window (next
    /// beat).
    windows_dirty: AtomicBool,
    /// The last probe's number (unique across this node's subscriptions).
    probe_seq: AtomicU64,
    /// Subscriptions dropped because they did not deliver a probe in time.
    silent: AtomicU64,
    /// Why the subscription was last lost ([`LOST_UNREACHABLE`], [`LOST_SILENT`]).
    lost: std::sync::atomic::AtomicU8,

    /// Other nodes not in the set of beating nodes, since when (gone after [`DEAD_AFTER`]).
    missing: Mutex<HashMap<NodeId, Instant>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("me", &self.me).finish()
    }
}

/// The running cluster tasks of a node.
pub struct ClusterTasks {
    pub cluster: Arc<Cluster>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl ClusterTasks {
    /// Says goodbye (the other nodes drop this node's users after their grace period) and stops.
    pub async fn leave(self) {
        self.cluster.leave().await;
        for t in self.tasks {
            t.abort();
        }
    }
}

/// The node name used when the configuration gives none: host, listening port and process id.
pub fn default_node_id(port: u16) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "dockchatd".into());
    format!("{host}:{port}:{}", std::process::id())
}

impl Cluster {
    /// Joins the cluster at `url` as `node_id`: the registry hands this node's presence and the
    /// frames for other nodes' sockets over from now on; the tasks connect (and reconnect) by
    /// themselves, so a Redis that is away at start only delays cross-node delivery.
    pub fn start(
        url: &str,
        prefix: &str,
        node_id: &str,
        registry: Arc<Registry>,
        convs: Arc<Conversations>,
        ledger: Arc<Ledger>,
    ) -> Result<ClusterTasks> {
        let client = redis::Client::open(url)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let cluster = Arc::new(Cluster {
            me: Arc::from(node_id),
            names: Names::new(prefix),
            client,
            registry: registry.clone(),
            convs,
            ledger,
            out: tx,
            subscribed: AtomicBool::new(false),
            publishing: AtomicBool::new(true),
            dropped: AtomicU64::new(0),
            presence_dirty: AtomicBool::new(false),
            windows_dirty: AtomicBool::new(false),
            probe_seq: AtomicU64::new(0),
            silent: AtomicU64::new(0),
            lost: std::sync::atomic::AtomicU8::new(LOST_UNREACHABLE),

            missing: Mutex::new(HashMap::new()),
        });
        registry.set_peers(cluster.clone());
        let tasks = vec![
            tokio::spawn(cluster.clone().publish_loop(rx)),
            tokio::spawn(cluster.clone().subscribe_loop()),
            tokio::spawn(cluster.clone().beat_loop()),
        ];
        tracing::info!(node = %node_id, "joining the cluster");
        Ok(ClusterTasks { cluster, tasks })
    }

    /// Whether Redis is reachable (cross-node delivery live); false: degraded, the database poll
    /// carries messages between nodes.
    pub fn is_up(&self) -> bool {
        self.subscribed.load(Ordering::Relaxed) && self.publishing.load(Ordering::Relaxed)
    }

    /// Publications dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Subscriptions dropped and rebuilt so far because they stopped delivering (a probe not heard
    /// back within [`PROBE_TIMEOUT`]).
    pub fn silent_subscriptions(&self) -> u64 {
        self.silent.load(Ordering::Relaxed)
    }

    /// While degraded, why (`None` while up).
    pub fn degraded_reason(&self) -> Option<&'static str> {
        if self.is_up() {
            None
        } else if !self.subscribed.load(Ordering::Relaxed)
            && self.lost.load(Ordering::Relaxed) == LOST_SILENT
        {
            Some("Redis subscription stopped delivering; resubscribing")
        } else {
            Some("Redis unreachable")
        }
    }

    /// Records one side's state and logs a change of the whole.
    fn set(&self, flag: &AtomicBool, on: bool) {
        let before = self.is_up();
        flag.store(on, Ordering::Relaxed);
        let up = self.is_up();
        if before != up {
            if up {
                tracing::info!("cluster: Redis reachable; cross-node delivery is live");
            } else {
                tracing::warn!("cluster: Redis unreachable; degraded (messages between nodes go through the database)");
            }
        }
    }

    fn queue(&self, item: Out) {
        let (presence, windows) = (item.is_presence(), item.is_windows());
        if self.out.try_send(item).is_err() {
            self.lost(1, presence, windows);
        }
    }

    /// `items` publications were dropped: what they carried that the database poll does not
    /// (presence, closed windows) is made good on the next beat.
    fn lost(&self, items: u64, presence: bool, windows: bool) {
        self.dropped.fetch_add(items, Ordering::Relaxed);
        if presence {
            self.presence_dirty.store(true, Ordering::Relaxed);
        }
        if windows {
            self.windows_dirty.store(true, Ordering::Relaxed);
        }
    }

    async fn connect(&self) -> Result<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT));
        bounded(
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
    }

    /// Sends queued publications in pipelined batches, in queue order per channel.
    async fn publish_loop(self: Arc<Self>, mut rx: mpsc::Receiver<Out>) {
        let mut conn: Option<MultiplexedConnection> = None;
        let mut retry_at = Instant::now();
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            match rx.recv().await {
                Some(first) => batch.push(first),
                None => return,
            }
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            let (pipe, count) = self.pipeline(&batch);
            let items = batch.len() as u64;
            let presence = batch.iter().any(Out::is_presence);
            let windows = batch.iter().any(Out::is_windows);
            let rewrite = batch.iter().any(|o| matches!(o, Out::Rewrite));
            batch.clear();
            if conn.is_none() && Instant::now() >= retry_at {
                match self.connect().await {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        tracing::debug!(error = %e, "cluster: publisher cannot connect");
                        retry_at = Instant::now() + Duration::from_millis(500);
                    }
                }
            }
            let Some(c) = conn.as_mut() else {
                self.lost(items, presence, windows);
                continue;
            };
            if count == 0 {
                continue;
            }
            if let Err(e) = bounded(pipe.query_async::<()>(c)).await {
                tracing::warn!(error = %e, publications = count, "cluster: publishing failed; the database poll delivers their messages");
                self.lost(items, presence, windows);
                conn = None;
                self.set(&self.publishing, false);
            } else {
                if rewrite {
                    self.presence_dirty.store(false, Ordering::Relaxed);
                }
                self.set(&self.publishing, true);
            }
        }
    }

    /// One pipeline for a batch; consecutive frames for one node that are the same frame become
    /// one publication naming all their users.
    fn pipeline(&self, batch: &[Out]) -> (redis::Pipeline, usize) {
        let mut pipe = redis::pipe();
        let mut count = 0;
        // Per node: the frame being gathered and its users.
        let mut open: Vec<(NodeId, &Outgoing, Vec<i64>)> = Vec::new();
        let flush = |pipe: &mut redis::Pipeline,
                     count: &mut usize,
                     (node, item, to): (NodeId, &Outgoing, Vec<i64>)| {
            let (header, text) = match item {
                Outgoing::Frame(f) => (
                    Header::Frame {
                        to,
                        id: None,
                        close: None,
                    },
                    f.as_str(),
                ),
                Outgoing::Message { id, frame } => (
                    Header::Frame {
                        to,
                        id: Some(*id),
                        close: None,
                    },
                    frame.as_str(),
                ),
                Outgoing::Close(code, _) => (
                    Header::Frame {
                        to,
                        id: None,
                        close: Some(*code),
                    },
                    "",
                ),
            };
            pipe.cmd("PUBLISH")
                .arg(self.names.node_channel(&node))
                .arg(wire::encode(&header, text))
                .ignore();
            *count += 1;
        };
        for item in batch {
            match item {
                Out::Frame { node, user, item } => {
                    match open.iter().position(|(n, _, _)| n == node) {
                        Some(i) if same(open[i].1, item) => open[i].2.push(*user),
                        Some(i) => {
                            let done =
                                std::mem::replace(&mut open[i], (node.clone(), item, vec![*user]));
                            flush(&mut pipe, &mut count, done);
                        }
                        None => open.push((node.clone(), item, vec![*user])),
                    }
                }
                Out::Online {
                    person,
                    courses,
                    away,
                } => {
                    let snap = Snapshot {
                        person: (**person).clone(),
                        courses: courses.to_vec(),
                        away: *away,
                    };
                    pipe.cmd("HSET")
                        .arg(self.names.presence_key(&self.me))
                        .arg(person.id)
                        .arg(serde_json::to_string(&snap).unwrap_or_default())
                        .ignore();
                    let h = Header::Online {
                        node: self.me.to_string(),
                        person: snap.person,
                        courses: snap.courses,
                        away: snap.away,
                    };
                    pipe.cmd("PUBLISH")
                        .arg(self.names.all_channel())
                        .arg(wire::encode(&h, ""))
                        .ignore();
                    count += 1;
                }
                Out::Offline { user, at } => {
                    pipe.cmd("HDEL")
                        .arg(self.names.presence_key(&self.me))
                        .arg(*user)
                        .ignore();
                    let h = Header::Offline {
                        node: self.me.to_string(),
                        user: *user,
                        at: Some(*at),
                    };
                    pipe.cmd("PUBLISH")
                        .arg(self.names.all_channel())
                        .arg(wire::encode(&h, ""))
                        .ignore();
                    count += 1;
                }
                Out::Rewrite => {
                    let key = self.names.presence_key(&self.me);
                    pipe.cmd("DEL").arg(&key).ignore();
                    for (person, courses, away) in self.registry.local_users() {
                        let snap = Snapshot {
                            person: (*person).clone(),
                            courses: courses.to_vec(),
                            away,
                        };
                        pipe.cmd("HSET")
                            .arg(&key)
                            .arg(person.id)
                            .arg(serde_json::to_string(&snap).unwrap_or_default())
                            .ignore();
                    }
                    pipe.cmd("PEXPIRE")
                        .arg(&key)
                        .arg(SNAPSHOT_TTL.as_millis() as u64)
                        .ignore();
                    let hello = Header::Hello {
                        node: self.me.to_string(),
                    };
                    pipe.cmd("PUBLISH")
                        .arg(self.names.all_channel())
                        .arg(wire::encode(&hello, ""))
                        .ignore();
                    count += 1;
                }
                Out::Reads(ids) => {
                    let h = Header::Reads { ids: ids.clone() };
                    pipe.cmd("PUBLISH")
                        .arg(self.names.all_channel())
                        .arg(wire::encode(&h, ""))
                        .ignore();
                    count += 1;
                }
                Out::Pairs(pairs) => {
                    let h = Header::Pairs {
                        pairs: pairs.clone(),
                    };
                    pipe.cmd("PUBLISH")
                        .arg(self.names.all_channel())
                        .arg(wire::encode(&h, ""))
                        .ignore();
                    count += 1;
                }
                Out::Windows(_) | Out::AllWindows => {
                    let h = match item {
                        Out::Windows(closed) => Header::Windows {
                            closed: closed.clone(),
                            all: false,
                        },
                        _ => Header::Windows {
                            closed: Vec::new(),
                            all: true,
                        },
                    };
                    pipe.cmd("PUBLISH")
                        .arg(self.names.all_channel())
                        .arg(wire::encode(&h, ""))
                        .ignore();
                    count += 1;
                }
            }
        }
        for done in open {
            flush(&mut pipe, &mut count, done);
        }
        (pipe, count)
    }

    /// Subscribes, and again after every loss, with a growing pause (at most 2 s).
    async fn subscribe_loop(self: Arc<Self>) {
        let mut pause = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            let e = match self.subscription().await {
                Ok(never) => match never {},
                Err(e) => e,
            };
            let silent = matches!(e, ClusterError::Silent(_));
            if silent {
                self.silent.fetch_add(1, Ordering::Relaxed);
                // Told apart from an unreachable Redis: the connection looked up, and the other
                // nodes and the publisher may still reach Redis.
                tracing::warn!(error = %e, "cluster: subscription stopped delivering; degraded, resubscribing");
            } else {
                tracing::warn!(error = %e, "cluster: subscription lost; reconnecting");
            }
            self.lost.store(
                if silent {
                    LOST_SILENT
                } else {
                    LOST_UNREACHABLE
                },
                Ordering::Relaxed,
            );
            self.set(&self.subscribed, false);
            if started.elapsed() > Duration::from_secs(10) {
                pause = Duration::from_millis(100);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// One subscription: subscribe first (nothing published from now on is missed), then rewrite
    /// this node's snapshot, beat, say hello and read the other nodes' snapshots; then hear, and
    /// probe: returns (an error) when the subscription ends, or a probe Redis took is not heard
    /// back within [`PROBE_TIMEOUT`], or Redis does not take one.
    async fn subscription(&self) -> Result<std::convert::Infallible> {
        let mut pubsub = bounded(self.client.get_async_pubsub()).await?;
        bounded(pubsub.subscribe(self.names.node_channel(&self.me))).await?;
        bounded(pubsub.subscribe(self.names.all_channel())).await?;
        let mut conn = self.connect().await?;
        self.beat(&mut conn).await?;
        self.queue(Out::Rewrite);
        for node in self.live_nodes(&mut conn).await? {
            if node != self.me {
                self.read_snapshot(&mut conn, &node).await?;
            }
        }
        // Closes announced while this node was not subscribed were missed.
        self.convs.forget_all_windows();
        // Redis answers again: the publisher's next failure (if any) says otherwise.
        self.publishing.store(true, Ordering::Relaxed);
        self.set(&self.subscribed, true);
        let mut messages = pubsub.on_message();
        let mut check = tokio::time::interval(PROBE_CHECK);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Probes Redis took (or failed to take), as their publishing tasks report them.
        let (took_tx, mut took_rx) = mpsc::channel::<(u64, Result<Instant>)>(8);
        // The highest probe heard on this subscription.
        let mut heard = 0;
        // The oldest probe Redis took that this subscription has not delivered yet.
        let mut waiting: Option<Instant> = None;
        let mut waiting_for = 0;
        let mut last_probe: Option<Instant> = None;
        loop {
            tokio::select! {
                // Publications first: a probe queued behind them is not overdue.
                biased;
                msg = messages.next() => {
                    let Some(msg) = msg else {
                        return Err(ClusterError::Closed);
                    };
                    match wire::decode(msg.get_payload_bytes()) {
                        Ok((Header::Probe { n }, _)) => {
                            heard = heard.max(n);
                            if waiting_for <= heard {
                                waiting = None;
                            }
                        }
                        Ok((header, body)) => self.hear(header, body, &mut conn).await,
                        Err(e) => {
                            tracing::warn!(error = %e, "cluster: unreadable publication ignored")
                        }
                    }
                }
                Some((n, took)) = took_rx.recv() => {
                    let at = took?;
                    if n > heard && waiting.is_none() {
                        waiting = Some(at);
                        waiting_for = n;
                    }
                }
                _ = check.tick() => {
                    if waiting.is_some_and(|at| at.elapsed() >= PROBE_TIMEOUT) {
                        return Err(ClusterError::Silent(PROBE_TIMEOUT));
                    }
                    if last_probe.is_none_or(|at| at.elapsed() >= PROBE_EVERY) {
                        last_probe = Some(Instant::now());
                        self.probe(conn.clone(), took_tx.clone());
                    }
                }
            }
        }
    }

    /// Publishes the next probe on this node's own channel (off the subscriber's path) and reports
    /// when Redis took it.
    fn probe(&self, mut conn: MultiplexedConnection, took: mpsc::Sender<(u64, Result<Instant>)>) {
        let n = self.probe_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(self.names.node_channel(&self.me))
            .arg(wire::encode(&Header::Probe { n }, ""));
        tokio::spawn(async move {
            let result = bounded(cmd.query_async::<u64>(&mut conn))
                .await
                .map(|_| Instant::now());
            // The subscription that asked may be gone already.
            let _ = took.try_send((n, result));
        });
    }

    /// Replaces what this node knows of `node`'s users with its snapshot.
    async fn read_snapshot(&self, conn: &mut MultiplexedConnection, node: &NodeId) -> Result<()> {
        let entries: HashMap<i64, String> = bounded(
            redis::cmd("HGETALL")
                .arg(self.names.presence_key(node))
                .query_async(conn),
        )
        .await?;
        let mut listed = Vec::with_capacity(entries.len());
        for (user, json) in entries {
            match serde_json::from_str::<Snapshot>(&json) {
                Ok(s) if s.person.id == user => {
                    listed.push(user);
                    self.registry
                        .remote_online(node, s.person, s.courses, s.away);
                }
                _ => {
                    tracing::warn!(node = %node, user, "cluster: unreadable presence entry ignored")
                }
            }
        }
        listed.sort_unstable();
        for user in self.registry.users_on(node) {
            if listed.binary_search(&user).is_err() {
                self.registry.remote_offline(node, user, None);
            }
        }
        Ok(())
    }

    /// Acts on one publication.
    async fn hear(&self, header: Header, body: &str, conn: &mut MultiplexedConnection) {
        match header {
            Header::Frame { to, id, close } => {
                let item = match (close, id) {
                    (Some(code), _) => Outgoing::Close(code, wire::close_reason(code)),
                    (None, Some(id)) => {
                        let users = self.ledger.published(id, &to);
                        let item = Outgoing::Message {
                            id,
                            frame: Utf8Bytes::from(body.to_string()),
                        };
                        for user in users {
                            self.registry.send_local(user, &item);
                        }
                        return;
                    }
                    (None, None) => Outgoing::Frame(Utf8Bytes::from(body.to_string())),
                };
                for user in to {
                    self.registry.send_local(user, &item);
                }
            }
            Header::Online {
                node,
                person,
                courses,
                away,
            } => {
                if *node != *self.me {
                    self.forget_missing(&node);
                    self.registry
                        .remote_online(&Arc::from(node.as_str()), person, courses, away);
                }
            }
            Header::Offline { node, user, at } => {
                if *node != *self.me {
                    self.registry
                        .remote_offline(&Arc::from(node.as_str()), user, at);
                }
            }
            Header::Reads { ids } => self.convs.add_own_reads(&ids),
            Header::Pairs { pairs } => self.convs.forget_pairs(&pairs),
            Header::Windows { closed, all } => {
                if all {
                    self.convs.forget_all_windows();
                } else {
                    self.convs.forget_windows(&closed);
                }
            }
            // Another subscription's probe (this one's are taken in `subscription`).
            Header::Probe { .. } => {}
            Header::Hello { node } => {
                if *node != *self.me {
                    let node: NodeId = Arc::from(node.as_str());
                    self.forget_missing(&node);
                    if let Err(e) = self.read_snapshot(conn, &node).await {
                        tracing::warn!(error = %e, node = %node, "cluster: reading a node's presence failed");
                    }
                }
            }
            Header::Gone { node } => {
                if *node != *self.me {
                    self.registry.remote_node_gone(&Arc::from(node.as_str()));
                }
            }
            Header::Bye { node } => {
                if *node != *self.me {
                    // Its users reconnect to other nodes (or to it, restarted) within the grace
                    // period; only those who do not are offline then.
                    self.registry.remote_departed(&Arc::from(node.as_str()));
                }
            }
        }
    }

    fn forget_missing(&self, node: &str) {
        self.missing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(node);
    }

    /// Beats every [`BEAT_EVERY`]; after a beat, nodes silent for [`DEAD_AFTER`] are gone.
    async fn beat_loop(self: Arc<Self>) {
        let mut conn: Option<MultiplexedConnection> = None;
        let mut tick = tokio::time::interval(BEAT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if conn.is_none() {
                conn = self.connect().await.ok();
            }
            let Some(c) = conn.as_mut() else {
                continue;
            };
            let result = async {
                let missing = self.beat(c).await?;
                if self.subscribed.load(Ordering::Relaxed) {
                    if missing {
                        // The others buried this node during a silence of its beats while its
                        // subscription stayed up: they must read its snapshot again.
                        tracing::warn!("cluster: this node had been taken for gone; rejoining");
                        self.queue(Out::Rewrite);
                    } else if self.presence_dirty.swap(false, Ordering::Relaxed) {
                        // A presence update was lost on the way: the snapshot says it all.
                        self.queue(Out::Rewrite);
                    }
                    if self.windows_dirty.swap(false, Ordering::Relaxed) {
                        // Closes were not announced: the others forget every window they knew.
                        self.queue(Out::AllWindows);
                    }
                }
                self.bury_silent(c).await
            }
            .await;
            if let Err(e) = result {
                tracing::debug!(error = %e, "cluster: heartbeat failed");
                conn = None;
            }
        }
    }

    /// Redis's clock in ms (one clock for every node).
    async fn redis_now(conn: &mut MultiplexedConnection) -> Result<u64> {
        let (secs, micros): (u64, u64) = bounded(redis::cmd("TIME").query_async(conn)).await?;
        Ok(secs * 1000 + micros / 1000)
    }

    /// Beats; returns whether this node was missing from the set of nodes (new, or buried by the
    /// others after a silence).
    async fn beat(&self, conn: &mut MultiplexedConnection) -> Result<bool> {
        let now = Self::redis_now(conn).await?;
        let mut pipe = redis::pipe();
        pipe.cmd("ZADD")
            .arg(self.names.nodes_key())
            .arg(now)
            .arg(&*self.me);
        pipe.cmd("PEXPIRE")
            .arg(self.names.presence_key(&self.me))
            .arg(SNAPSHOT_TTL.as_millis() as u64)
            .ignore();
        let (added,): (u64,) = bounded(pipe.query_async(conn)).await?;
        Ok(added > 0)
    }

    /// Nodes that beat within [`DEAD_AFTER`].
    async fn live_nodes(&self, conn: &mut MultiplexedConnection) -> Result<Vec<NodeId>> {
        let now = Self::redis_now(conn).await?;
        let since = now.saturating_sub(DEAD_AFTER.as_millis() as u64);
        let nodes: Vec<String> = bounded(
            redis::cmd("ZRANGEBYSCORE")
                .arg(self.names.nodes_key())
                .arg(since)
                .arg("+inf")
                .query_async(conn),
        )
        .await?;
        Ok(nodes.iter().map(|n| Arc::from(n.as_str())).collect())
    }

    /// Removes nodes that stopped beating, with their snapshots, and takes their users offline
    /// here; a node this one knows of that is not in the set (Redis restarted, or another node
    /// buried it) is given [`DEAD_AFTER`] to come back.
    async fn bury_silent(&self, conn: &mut MultiplexedConnection) -> Result<()> {
        let now = Self::redis_now(conn).await?;
        let until = now.saturating_sub(DEAD_AFTER.as_millis() as u64);
        let silent: Vec<String> = bounded(
            redis::cmd("ZRANGEBYSCORE")
                .arg(self.names.nodes_key())
                .arg("-inf")
                .arg(format!("({until}"))
                .query_async(conn),
        )
        .await?;
        for node in &silent {
            if **node == *self.me {
                continue;
            }
            tracing::warn!(node = %node, "cluster: node stopped beating; its users are offline");
            let mut pipe = redis::pipe();
            pipe.cmd("ZREM")
                .arg(self.names.nodes_key())
                .arg(node)
                .ignore();
            pipe.cmd("DEL").arg(self.names.presence_key(node)).ignore();
            // The other nodes no longer see it among the silent ones: tell them now, or they
            // would wait another DEAD_AFTER for it to count as missing.
            let gone = Header::Gone { node: node.clone() };
            pipe.cmd("PUBLISH")
                .arg(self.names.all_channel())
                .arg(wire::encode(&gone, ""))
                .ignore();
            bounded(pipe.query_async::<()>(conn)).await?;
            self.registry.remote_node_gone(&Arc::from(node.as_str()));
        }
        let live = self.live_nodes(conn).await?;
        let gone: Vec<NodeId> = {
            let mut missing = self.missing.lock().unwrap_or_else(|e| e.into_inner());
            let known = self.registry.remote_nodes();
            missing.retain(|n, _| known.contains(n) && !live.contains(n));
            for n in known {
                if !live.contains(&n) {
                    missing.entry(n).or_insert_with(Instant::now);
                }
            }
            let gone: Vec<NodeId> = missing
                .iter()
                .filter(|(_, since)| since.elapsed() >= DEAD_AFTER)
                .map(|(n, _)| n.clone())
                .collect();
            for n in &gone {
                missing.remove(n);
            }
            gone
        };
        for node in gone {
            tracing::warn!(node = %node, "cluster: node missing from the cluster; its users are offline");
            self.registry.remote_node_gone(&node);
        }
        Ok(())
    }

    /// Tells the other nodes this one is leaving and removes its traces.
    async fn leave(&self) {
        // What the last sockets' departures and the writer's last batch queued goes first.
        let drained = Instant::now() + Duration::from_secs(1);
        while self.out.capacity() < self.out.max_capacity() && Instant::now() < drained {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let Ok(mut conn) = self.connect().await else {
            return;
        };
        let bye = wire::encode(
            &Header::Bye {
                node: self.me.to_string(),
            },
            "",
        );
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM")
            .arg(self.names.nodes_key())
            .arg(&*self.me)
            .ignore();
        pipe.cmd("DEL")
            .arg(self.names.presence_key(&self.me))
            .ignore();
        pipe.cmd("PUBLISH")
            .arg(self.names.all_channel())
            .arg(bye)
            .ignore();
        if let Err(e) = bounded(pipe.query_async::<()>(&mut conn)).await {
            tracing::warn!(error = %e, "cluster: could not say goodbye");
        }
    }
}

/// Whether two queued items are the same frame (one serialisation shared by its recipients).
fn same(a: &Outgoing, b: &Outgoing) -> bool {
    match (a, b) {
        (Outgoing::Frame(x), Outgoing::Frame(y)) => same_text(x, y),
        (Outgoing::Message { id: i, frame: x }, Outgoing::Message { id: j, frame: y }) => {
            i == j && same_text(x, y)
        }
        (Outgoing::Close(c, _), Outgoing::Close(d, _)) => c == d,
        _ => false,
    }
}

fn same_text(x: &Utf8Bytes, y: &Utf8Bytes) -> bool {
    x.as_str().as_ptr() == y.as_str().as_ptr() && x.len() == y.len()
}

impl Peers for Cluster {
    fn forward(&self, nodes: &[NodeId], user: i64, item: &Outgoing) {
        for node in nodes {
            self.queue(Out::Frame {
                node: node.clone(),
                user,
                item: item.clone(),
            });
        }
    }

    fn local_online(&self, person: &Arc<Person>, courses: &Arc<[i64]>, away: bool) {
        self.queue(Out::Online {
            person: person.clone(),
            courses: courses.clone(),
            away,
        });
    }

    fn local_offline(&self, user: i64, left_at: i64) {
        self.queue(Out::Offline { user, at: left_at });
    }

    fn own_reads(&self, ids: &[i64]) {
        self.queue(Out::Reads(ids.to_vec()));
    }

    fn pairs_changed(&self, pairs: &[(i64, i64)]) {
        self.queue(Out::Pairs(pairs.to_vec()));
    }

    fn windows_closed(&self, windows: &[(i64, i64)]) {
        self.queue(Out::Windows(windows.to_vec()));
    }
}

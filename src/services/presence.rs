//! Presence: the concurrent registry of who is online, on which sockets, and who their course-mates
//! are.
//!
//! Owns: user → live connections (one outbox handle per tab, with the Moodle session it is bound to
//! and when it was registered, so a re-validation closes exactly the sockets of an ended session),
//! user → active courses (cached, refreshed in batches by `app`), course → online users, and the
//! presence events: a user's first connection
//! tells their online course-mates `online`, the last one going away tells them `offline` once the
//! user has stayed away for the offline grace period (a page navigation closes the socket and opens
//! a new one within it, so others see no flicker), and an enrolment change that makes or breaks a
//! course-mate pair tells both sides. Each event frame is
//! serialised once and shared by every recipient (an offline frame twice at most: with and without
//! `last_seen`, which the site may hide from some viewers).
//! Away: every socket reports its browser's activity; a user whose sockets (on every node) are all
//! idle or hidden is `away`, `online` again as soon as one is active; course-mates are told each
//! change the same way as online/offline, and each node publishes its own sockets' verdict.
//! Last seen: when a user goes offline the time their last socket left is kept (in memory), for
//! `last_seen` (the rest, Moodle's `lastaccess`, is the services' to read).
//! In a cluster, the users online on other nodes are here too (with their courses and the nodes
//! holding their sockets, as [`Peers`] reports them): presence is computed on each node from this
//! replicated state and told to its own sockets only, and [`Registry::send_user`] hands what is
//! for a user's sockets on other nodes to [`Peers::forward`].
//! Must not: query the database, or await while holding a map guard. Lock order is always
//! `users` shard → `courses` shard, never the reverse.

use crate::outbox::{OutboxTx, Outgoing};
use crate::protocol::{Person, ServerFrame, Status};
use crate::services::auth::SessionHash;
use crate::services::FastMap as DashMap;
use crate::store::moodle::UserRow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Builds a [`Person`] from a Moodle account, with Moodle's avatar URLs.
#[derive(Debug, Clone)]
pub struct Avatars {
    site: String,
    theme: String,
}

impl Avatars {
    pub fn new(site_url: &str, theme: &str) -> Self {
        Avatars {
            site: site_url.trim_end_matches('/').to_string(),
            theme: theme.to_string(),
        }
    }

    /// The image Moodle shows for a course group's conversation without a picture of its own
    /// (`image_url('g/g1')`, as `api::get_linked_conversation_extra_fields` falls back to).
    pub fn group_image(&self) -> String {
        format!("{}/theme/image.php/{}/core/1/g/g1", self.site, self.theme)
    }

    /// A course group's picture: Moodle's `get_group_picture_url($group, $courseid, true)` (the
    /// messaging drawer's size, f1) when the group has one (`groups.picture` ≠ 0), else
    /// [`Self::group_image`].
    pub fn group_picture(&self, picture: i64, groupid: i64, course_context: i64) -> String {
        if picture != 0 && groupid > 0 && course_context > 0 {
            format!(
                "{}/pluginfile.php/{}/group/icon/{}/f1?rev={}",
                self.site, course_context, groupid, picture
            )
        } else {
            self.group_image()
        }
    }

    /// `fullname` = firstname + " " + lastname; avatar = the user's f1 icon, or the theme's default.
    pub fn person(&self, u: &UserRow) -> Person {
        let avatar = if u.picture > 0 && u.contextid > 0 {
            format!(
                "{}/pluginfile.php/{}/user/icon/{}/f1?rev={}",
                self.site, u.contextid, self.theme, u.picture
            )
        } else {
            format!("{}/theme/image.php/{}/core/1/u/f1", self.site, self.theme)
        };
        Person {
            id: u.id,
            fullname: format!("{} {}", u.firstname, u.lastname).trim().to_string(),
            avatar,
        }
    }
}

/// The name of a dockchatd node in a cluster.
pub type NodeId = Arc<str>;

/// The other nodes of a cluster, as the registry needs them. Every call is made without waiting
/// (implementations queue the work), possibly while a map guard is held.
pub trait Peers: Send + Sync {
    /// Hands `item`, for `user`'s sockets, to the `nodes` holding some.
    fn forward(&self, nodes: &[NodeId], user: i64, item: &Outgoing);
    /// `user` now has a socket on this node, or their courses changed, or whether all their
    /// sockets here are idle or hidden (`away`) changed: tell the other nodes.
    fn local_online(&self, person: &Arc<Person>, courses: &Arc<[i64]>, away: bool);
    /// `user`'s last socket on this node went (after the grace period); it left at `left_at`.
    fn local_offline(&self, user: i64, left_at: i64);
    /// Read rows the daemon wrote and announced itself (their polls must not announce them again).
    fn own_reads(&self, ids: &[i64]);
    /// A block between these users changed: every node drops its cached facts of the pairs
    /// (published ahead of the frames queued after it).
    fn pairs_changed(&self, pairs: &[(i64, i64)]);
    /// These dock windows (owner, peer) were closed (their rows deleted): every node forgets it
    /// knew them to exist, so its next send between the two opens them again.
    fn windows_closed(&self, windows: &[(i64, i64)]);
}

struct UserEntry {
    person: Arc<Person>,
    courses: Arc<[i64]>,
    conns: Vec<Conn>,
    /// Set when the last connection went: the offline announced at the end of the grace period
    /// unless a connection comes back first (the value tells that departure from a later one).
    leaving: Option<u64>,
    /// Other nodes holding sockets of the user (cluster only).
    remote: Vec<NodeId>,
    /// Set when the user's last node said goodbye (a restart): still online for the grace period,
    /// in which they reconnect somewhere (the value tells that departure from a later one).
    remote_leaving: Option<u64>,
    /// Nodes of `remote` whose sockets of the user are all idle or hidden.
    remote_away: Vec<NodeId>,
    /// What course-mates were last told: `Online` or `Away`.
    shown: Status,
    /// What the other nodes were last told of this node's sockets (all idle or hidden).
    published_away: bool,
    /// When the user last lost their last socket (here or, as told, elsewhere), Unix seconds.
    left_at: i64,
    /// The user may see `last_seen` even when the site hides `lastaccess` (as a viewer).
    viewhidden: bool,
}

impl UserEntry {
    fn new(person: Person) -> Self {
        UserEntry {
            person: Arc::new(person),
            courses: Arc::from(Vec::new()),
            conns: Vec::new(),
            leaving: None,
            remote: Vec::new(),
            remote_leaving: None,
            remote_away: Vec::new(),
            shown: Status::Online,
            published_away: false,
            left_at: 0,
            viewhidden: false,
        }
    }

    /// This node holds sockets of the user and every one is idle or hidden.
    fn local_away(&self) -> bool {
        !self.conns.is_empty() && !self.conns.iter().any(|c| c.active)
    }

    /// Online when a socket anywhere is active, away when every socket is idle or hidden; with no
    /// socket at all (a grace period) what course-mates were told.
    fn status(&self) -> Status {
        let remote_active = self.remote.iter().any(|n| !self.remote_away.contains(n));
        if self.conns.iter().any(|c| c.active) || remote_active {
            Status::Online
        } else if self.conns.is_empty() && self.remote.is_empty() {
            self.shown
        } else {
            Status::Away
        }
    }

    /// Whether this node holds (or, in the grace period, still counts) a socket of the user.
    fn here(&self) -> bool {
        !self.conns.is_empty() || self.leaving.is_some()
    }

    /// Whether the user is online anywhere in the cluster.
    fn online(&self) -> bool {
        self.here() || !self.remote.is_empty() || self.remote_leaving.is_some()
    }
}

/// One registered socket.
struct Conn {
    id: u64,
    tx: OutboxTx,
    /// The Moodle session the socket is bound to (its token's `sid`).
    session: Option<SessionHash>,
    /// [`Registry::mark`] when it was registered.
    registered: u64,
    /// Its browser reports a visible tab with recent input.
    active: bool,
}

/// A socket to register (see [`Registry::register_conn`]).
pub struct NewConn {
    pub id: u64,
    /// The Moodle session it is bound to (its token's `sid`).
    pub session: Option<SessionHash>,
    /// Its first activity state (`hello`'s `state`).
    pub active: bool,
    /// Its token's `caps.viewhidden`.
    pub viewhidden: bool,
    pub tx: OutboxTx,
}

/// A user gone offline: who, their courses, and when they left.
type Gone = (Arc<Person>, Arc<[i64]>, i64);

/// Why a connection cannot be registered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PresenceError {
    #[error("too many connections for this user")]
    TooManyForUser,
}

/// The registry (shared by every connection and service).
pub struct Registry {
    users: DashMap<i64, UserEntry>,
    courses: DashMap<i64, HashSet<i64>>,
    max_per_user: usize,
    /// Registrations so far: orders registrations against a re-validation's snapshot.
    registrations: AtomicU64,
    /// How long a user whose last socket closed still counts as online.
    offline_grace: Duration,
    /// The other nodes, when this one is part of a cluster.
    peers: OnceLock<Arc<dyn Peers>>,
    /// When each user who went offline left (Unix seconds): the daemon's own `last_seen`.
    seen: DashMap<i64, i64>,
    /// The site hides `lastaccess` (`hiddenuserfields`): `last_seen` only for `viewhidden` viewers.
    lastaccess_hidden: AtomicBool,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("users", &self.users.len())
            .finish()
    }
}

fn presence_frame(p: &Person, status: Status, last_seen: Option<i64>) -> Utf8Bytes {
    Utf8Bytes::from(
        ServerFrame::Presence {
            user: p,
            status,
            last_seen,
        }
        .to_json(),
    )
}

impl Registry {
    /// A registry without an offline grace period (see [`Registry::with_offline_grace`]).
    pub fn new(max_per_user: usize) -> Self {
        Registry {
            users: DashMap::default(),
            courses: DashMap::default(),
            max_per_user,
            registrations: AtomicU64::new(0),
            offline_grace: Duration::ZERO,
            peers: OnceLock::new(),
            seen: DashMap::default(),
            lastaccess_hidden: AtomicBool::new(false),
        }
    }

    /// Whether the site hides `lastaccess` (Moodle's `hiddenuserfields`).
    pub fn set_lastaccess_hidden(&self, hidden: bool) {
        self.lastaccess_hidden.store(hidden, Ordering::Relaxed);
    }

    /// Whether a viewer with (or without) `caps.viewhidden` may see `last_seen`.
    pub fn may_see_last_seen(&self, viewhidden: bool) -> bool {
        viewhidden || !self.lastaccess_hidden.load(Ordering::Relaxed)
    }

    /// When `user` last left, as this node saw it (only for users who went offline).
    pub fn left_at(&self, user: i64) -> Option<i64> {
        self.seen.get(&user).map(|t| *t)
    }

    /// `user`'s presence as course-mates see it.
    pub fn status(&self, user: i64) -> Status {
        match self.users.get(&user) {
            Some(e) if e.online() => e.shown,
            _ => Status::Offline,
        }
    }

    /// Joins a cluster: from now on the other nodes hear of this node's users, and frames for
    /// sockets on other nodes go to `peers`. Set once, before the first connection.
    pub fn set_peers(&self, peers: Arc<dyn Peers>) {
        let _ = self.peers.set(peers);
    }

    /// The other nodes, in a cluster.
    pub fn peers(&self) -> Option<&Arc<dyn Peers>> {
        self.peers.get()
    }

    /// The offline grace period.
    pub fn offline_grace(&self) -> Duration {
        self.offline_grace
    }

    /// A user whose last socket closes stays online for `grace`; a reconnect within it cancels
    /// the offline.
    pub fn with_offline_grace(mut self, grace: Duration) -> Self {
        self.offline_grace = grace;
        self
    }

    /// Registers an active connection bound to the Moodle session `session` (see
    /// [`Registry::register_conn`]).
    pub fn register(
        &self,
        person: Person,
        courses: Vec<i64>,
        conn_id: u64,
        session: Option<SessionHash>,
        tx: OutboxTx,
    ) -> Result<bool, PresenceError> {
        let conn = NewConn {
            id: conn_id,
            session,
            active: true,
            viewhidden: false,
            tx,
        };
        self.register_conn(person, courses, conn)
    }

    /// Registers a connection. The user's first connection adds them to their courses and tells
    /// their online course-mates (online or away, by its activity). Returns whether this was the
    /// first connection.
    pub fn register_conn(
        &self,
        person: Person,
        courses: Vec<i64>,
        conn: NewConn,
    ) -> Result<bool, PresenceError> {
        let user = person.id;
        let first;
        let announce;
        let mut tell_peers = None;
        let mut refresh_courses: Option<Vec<i64>> = None;
        {
            let mut entry = self
                .users
                .entry(user)
                .or_insert_with(|| UserEntry::new(person.clone()));
            if entry.conns.len() >= self.max_per_user {
                return Err(PresenceError::TooManyForUser);
            }
            // Back within the grace period: the others never saw the user go.
            let returning = entry.conns.is_empty() && entry.leaving.take().is_some();
            let first_here = entry.conns.is_empty() && !returning;
            // Online on another node already: nobody is told, the courses are refreshed.
            first = first_here && entry.remote.is_empty() && entry.remote_leaving.is_none();
            entry.remote_leaving = None;
            if first {
                entry.person = Arc::new(person);
                entry.courses = Arc::from(courses);
                for c in entry.courses.iter() {
                    self.courses.entry(*c).or_default().insert(user);
                }
            } else {
                if *entry.person != person {
                    entry.person = Arc::new(person);
                }
                if returning || first_here {
                    refresh_courses = Some(courses);
                }
            }
            let registered = self.registrations.fetch_add(1, Ordering::SeqCst) + 1;
            entry.viewhidden = conn.viewhidden;
            entry.conns.push(Conn {
                id: conn.id,
                tx: conn.tx,
                session: conn.session,
                registered,
                active: conn.active,
            });
            if first {
                entry.shown = entry.status();
            }
            announce = first.then(|| (entry.person.clone(), entry.shown));
            if first_here {
                entry.published_away = entry.local_away();
                tell_peers = Some((
                    entry.person.clone(),
                    entry.courses.clone(),
                    entry.published_away,
                ));
            }
        }
        if let Some((p, status)) = announce {
            let frame = Outgoing::Frame(presence_frame(&p, status, None));
            for m in self.mates(user) {
                self.send_local(m, &frame);
            }
        }
        if let Some(mut courses) = refresh_courses {
            // Enrolments may have changed while the user was away (or as the other node saw them).
            if tell_peers.is_some() {
                // The other nodes hear the courses below, once.
                courses.sort_unstable();
                courses.dedup();
                self.change_courses(user, courses);
            } else {
                self.update_courses(user, courses);
            }
        }
        if let (Some((person, courses, away)), Some(peers)) = (tell_peers, self.peers.get()) {
            // The courses as they are now (the refresh above may have changed them).
            let courses = self.courses_of(user).unwrap_or(courses);
            peers.local_online(&person, &courses, away);
        }
        if !first {
            // An active socket of a user who was away (or an idle one back from a navigation).
            self.settle(user);
        }
        Ok(first)
    }

    /// The socket `conn_id` of `user` reports its browser's activity.
    pub fn set_activity(&self, user: i64, conn_id: u64, active: bool) {
        {
            let Some(mut e) = self.users.get_mut(&user) else {
                return;
            };
            match e.conns.iter_mut().find(|c| c.id == conn_id) {
                Some(c) if c.active != active => c.active = active,
                _ => return,
            }
        }
        self.settle(user);
    }

    /// After a change of `user`'s sockets (here or on other nodes): tells course-mates on this
    /// node when their status (online/away) changed, and the other nodes when this node's
    /// verdict (all its sockets idle or hidden) changed.
    fn settle(&self, user: i64) {
        let mut tell_mates = None;
        let mut tell_peers = None;
        {
            let Some(mut e) = self.users.get_mut(&user) else {
                return;
            };
            if e.online() {
                let status = e.status();
                if status != e.shown {
                    e.shown = status;
                    tell_mates = Some((e.person.clone(), status));
                }
            }
            let away = e.local_away();
            if !e.conns.is_empty() && away != e.published_away {
                e.published_away = away;
                tell_peers = Some((e.person.clone(), e.courses.clone(), away));
            }
        }
        if let Some((person, status)) = tell_mates {
            let frame = Outgoing::Frame(presence_frame(&person, status, None));
            for m in self.mates(user) {
                self.send_local(m, &frame);
            }
        }
        if let (Some((person, courses, away)), Some(peers)) = (tell_peers, self.peers.get()) {
            peers.local_online(&person, &courses, away);
        }
    }

    /// Removes a connection. When it was the user's last, their course-mates are told `offline`
    /// after the grace period, unless a connection of the user comes back first. Returns whether
    /// it was the last.
    pub fn unregister(self: &Arc<Self>, user: i64, conn_id: u64) -> bool {
        if self.offline_grace.is_zero() {
            if let Some(mut e) = self.users.get_mut(&user) {
                e.left_at = crate::store::now();
            }
            let gone = self.remove_if_idle(user, conn_id, None);
            if !gone {
                self.settle(user);
            }
            return gone;
        }
        let departure = self.registrations.fetch_add(1, Ordering::SeqCst) + 1;
        let last = match self.users.get_mut(&user) {
            Some(mut e) => {
                e.conns.retain(|c| c.id != conn_id);
                if e.conns.is_empty() && e.leaving.is_none() {
                    e.leaving = Some(departure);
                    e.left_at = crate::store::now();
                    true
                } else {
                    false
                }
            }
            None => false,
        };
        // The sockets left may all be idle (away), or the other nodes' now decide.
        self.settle(user);
        if !last {
            return false;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                let registry = Arc::clone(self);
                let grace = self.offline_grace;
                rt.spawn(async move {
                    tokio::time::sleep(grace).await;
                    registry.remove_if_idle(user, conn_id, Some(departure));
                });
            }
            // No runtime left (the process is ending): say it now.
            Err(_) => {
                self.remove_if_idle(user, conn_id, Some(departure));
            }
        }
        true
    }

    /// Drops `conn_id` and, if no connection of `user` is left (and, for `departure`, the user has
    /// not come back since), the user: leaves their courses and tells the course-mates. Returns
    /// whether the user went offline.
    fn remove_if_idle(&self, user: i64, conn_id: u64, departure: Option<u64>) -> bool {
        let mut gone: Option<Gone> = None;
        let mut left_here = None;
        let removed = self.users.remove_if_mut(&user, |_, e| {
            e.conns.retain(|c| c.id != conn_id);
            if !e.conns.is_empty() || (departure.is_some() && e.leaving != departure) {
                return false;
            }
            e.leaving = None;
            left_here = Some(e.left_at);
            if !e.remote.is_empty() {
                // Still online on another node: the entry stays, nobody is told.
                return false;
            }
            gone = Some(self.forget(user, e));
            true
        });
        if let (Some(left_at), Some(peers)) = (left_here, self.peers.get()) {
            peers.local_offline(user, left_at);
        }
        let Some(gone) = gone.filter(|_| removed.is_some()) else {
            return false;
        };
        self.announce_offline(&gone);
        true
    }

    /// The user of `e` is offline everywhere: leaves their courses and keeps when they left.
    fn forget(&self, user: i64, e: &UserEntry) -> Gone {
        for c in e.courses.iter() {
            self.leave_course(*c, user);
        }
        let left_at = if e.left_at > 0 {
            e.left_at
        } else {
            crate::store::now()
        };
        self.seen.insert(user, left_at);
        (e.person.clone(), e.courses.clone(), left_at)
    }

    /// Tells `person`'s online course-mates on this node that they went offline (with when, to
    /// those who may see it).
    fn announce_offline(&self, (person, courses, left_at): &Gone) {
        let with = Outgoing::Frame(presence_frame(person, Status::Offline, Some(*left_at)));
        let hidden = self.lastaccess_hidden.load(Ordering::Relaxed);
        let without =
            hidden.then(|| Outgoing::Frame(presence_frame(person, Status::Offline, None)));
        for m in self.online_in(courses, person.id) {
            let Some(e) = self.users.get(&m) else {
                continue;
            };
            let frame = match &without {
                Some(f) if !e.viewhidden => f,
                _ => &with,
            };
            for c in &e.conns {
                c.tx.push(frame.clone());
            }
        }
    }

    /// `node` holds sockets of `person` (again), in these courses; `away`: every one of them is
    /// idle or hidden.
    pub fn remote_online(&self, node: &NodeId, person: Person, mut courses: Vec<i64>, away: bool) {
        courses.sort_unstable();
        courses.dedup();
        let user = person.id;
        let announce;
        let mut refresh: Option<Vec<i64>> = None;
        {
            let mut entry = self
                .users
                .entry(user)
                .or_insert_with(|| UserEntry::new(person.clone()));
            let was_online = entry.online();
            entry.remote_leaving = None;
            if !entry.remote.iter().any(|n| n == node) {
                entry.remote.push(node.clone());
            }
            let listed = entry.remote_away.iter().position(|n| n == node);
            match (away, listed) {
                (true, None) => entry.remote_away.push(node.clone()),
                (false, Some(at)) => {
                    entry.remote_away.swap_remove(at);
                }
                _ => {}
            }
            if !was_online {
                entry.person = Arc::new(person);
                entry.courses = Arc::from(courses);
                for c in entry.courses.iter() {
                    self.courses.entry(*c).or_default().insert(user);
                }
                entry.shown = entry.status();
                announce = Some((entry.person.clone(), entry.shown));
            } else {
                announce = None;
                if *entry.person != person {
                    entry.person = Arc::new(person);
                }
                // A user with sockets here has their courses refreshed here.
                if !entry.here() && *entry.courses != *courses {
                    refresh = Some(courses);
                }
            }
        }
        match announce {
            Some((p, status)) => {
                let frame = Outgoing::Frame(presence_frame(&p, status, None));
                for m in self.mates(user) {
                    self.send_local(m, &frame);
                }
            }
            None => self.settle(user),
        }
        if let Some(courses) = refresh {
            self.change_courses(user, courses);
        }
    }

    /// `node` holds no socket of `user` any more; the last left at `left_at` (if it said).
    pub fn remote_offline(&self, node: &NodeId, user: i64, left_at: Option<i64>) {
        let mut gone: Option<Gone> = None;
        let removed = self.users.remove_if_mut(&user, |_, e| {
            e.remote.retain(|n| n != node);
            e.remote_away.retain(|n| n != node);
            if e.online() {
                return false;
            }
            e.left_at = left_at.unwrap_or_else(crate::store::now);
            gone = Some(self.forget(user, e));
            true
        });
        match gone.filter(|_| removed.is_some()) {
            Some(gone) => self.announce_offline(&gone),
            // Still online elsewhere: perhaps away now.
            None => self.settle(user),
        }
    }

    /// `node` is going away cleanly (a restart or a shutdown): its users stay online for the grace
    /// period, in which they reconnect to some node; those who do not are offline then.
    pub fn remote_departed(self: &Arc<Self>, node: &NodeId) {
        if self.offline_grace.is_zero() {
            return self.remote_node_gone(node);
        }
        let token = self.registrations.fetch_add(1, Ordering::SeqCst) + 1;
        let mut pending = Vec::new();
        let now = crate::store::now();
        for user in self.users_on(node) {
            let still_online = match self.users.get_mut(&user) {
                Some(mut e) => {
                    e.remote.retain(|n| n != node);
                    e.remote_away.retain(|n| n != node);
                    if !e.online() {
                        e.remote_leaving = Some(token);
                        e.left_at = now;
                        pending.push(user);
                    }
                    e.online()
                }
                None => false,
            };
            if still_online {
                self.settle(user);
            }
        }
        if pending.is_empty() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let registry = Arc::clone(self);
        let grace = self.offline_grace;
        rt.spawn(async move {
            tokio::time::sleep(grace).await;
            for user in pending {
                registry.expire_remote_leaving(user, token);
            }
        });
    }

    /// The end of [`Registry::remote_departed`]'s grace for `user`: offline unless they came back.
    fn expire_remote_leaving(&self, user: i64, token: u64) {
        let mut gone: Option<Gone> = None;
        let removed = self.users.remove_if_mut(&user, |_, e| {
            if e.remote_leaving != Some(token) {
                return false;
            }
            e.remote_leaving = None;
            if e.online() {
                return false;
            }
            gone = Some(self.forget(user, e));
            true
        });
        if let Some(gone) = gone.filter(|_| removed.is_some()) {
            self.announce_offline(&gone);
        }
    }

    /// The users `node` holds sockets of, as this node knows them.
    pub fn users_on(&self, node: &NodeId) -> Vec<i64> {
        self.users
            .iter()
            .filter(|e| e.remote.iter().any(|n| n == node))
            .map(|e| *e.key())
            .collect()
    }

    /// Every other node this node knows to hold sockets.
    pub fn remote_nodes(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = Vec::new();
        for e in self.users.iter() {
            for n in &e.remote {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        }
        out
    }

    /// `node` is gone (it said so, or stopped beating): its users are offline unless another node
    /// or this one holds a socket of theirs.
    pub fn remote_node_gone(&self, node: &NodeId) {
        for user in self.users_on(node) {
            self.remote_offline(node, user, None);
        }
    }

    /// The users with a socket on this node (or in its grace period), with their courses and
    /// whether all their sockets here are idle or hidden.
    pub fn local_users(&self) -> Vec<(Arc<Person>, Arc<[i64]>, bool)> {
        self.users
            .iter()
            .filter(|e| e.here())
            .map(|e| (e.person.clone(), e.courses.clone(), e.published_away))
            .collect()
    }

    fn leave_course(&self, course: i64, user: i64) {
        self.courses.remove_if_mut(&course, |_, set| {
            set.remove(&user);
            set.is_empty()
        });
    }

    /// Online users in any of `courses`, except `user`.
    fn online_in(&self, courses: &[i64], user: i64) -> Vec<i64> {
        let mut out = HashSet::new();
        for c in courses {
            if let Some(set) = self.courses.get(c) {
                out.extend(set.iter().copied().filter(|u| *u != user));
            }
        }
        out.into_iter().collect()
    }

    /// `user`'s online course-mates (ids).
    pub fn mates(&self, user: i64) -> Vec<i64> {
        let courses = match self.users.get(&user) {
            Some(e) => e.courses.clone(),
            None => return Vec::new(),
        };
        self.online_in(&courses, user)
    }

    /// `user`'s online course-mates with their status (online or away), sorted by full name.
    pub fn online_mates(&self, user: i64) -> Vec<(Arc<Person>, Status)> {
        let mut out: Vec<(Arc<Person>, Status)> = self
            .mates(user)
            .into_iter()
            .filter_map(|m| self.users.get(&m).map(|e| (e.person.clone(), e.shown)))
            .collect();
        // Lower-case each name once, not on every comparison (a storm sorts thousands of lists).
        out.sort_by_cached_key(|(p, _)| (p.fullname.to_lowercase(), p.id));
        out
    }

    /// Whether both users are online course-mates right now (cached enrolments).
    pub fn are_mates(&self, a: i64, b: i64) -> bool {
        let (Some(ca), Some(cb)) = (self.courses_of(a), self.courses_of(b)) else {
            return false;
        };
        ca.iter().any(|c| cb.binary_search(c).is_ok())
    }

    /// The cached active courses of an online user (sorted).
    pub fn courses_of(&self, user: i64) -> Option<Arc<[i64]>> {
        self.users.get(&user).map(|e| e.courses.clone())
    }

    /// Whether `user` has a socket on this node.
    pub fn is_here(&self, user: i64) -> bool {
        self.users.get(&user).is_some_and(|e| !e.conns.is_empty())
    }

    /// The person of an online user.
    pub fn person(&self, user: i64) -> Option<Arc<Person>> {
        self.users.get(&user).map(|e| e.person.clone())
    }

    /// Pushes `item` to every connection of `user`, on this node and (in a cluster) on the others;
    /// returns how many connections of this node accepted it.
    pub fn send_user(&self, user: i64, item: &Outgoing) -> usize {
        let Some(e) = self.users.get(&user) else {
            return 0;
        };
        let accepted = e.conns.iter().filter(|c| c.tx.push(item.clone())).count();
        if !e.remote.is_empty() {
            if let Some(peers) = self.peers.get() {
                peers.forward(&e.remote, user, item);
            }
        }
        accepted
    }

    /// Pushes `item` to `user`'s connections on this node only (what every node works out for
    /// itself: presence, what its own poll of the database found, what another node forwarded).
    pub fn send_local(&self, user: i64, item: &Outgoing) -> usize {
        match self.users.get(&user) {
            Some(e) => e.conns.iter().filter(|c| c.tx.push(item.clone())).count(),
            None => 0,
        }
    }

    /// Asks every connection of `user` on this node to close (each node re-validates its own).
    pub fn close_user(&self, user: i64, code: u16, reason: &'static str) {
        self.send_local(user, &Outgoing::Close(code, reason));
    }

    /// The registrations so far. A re-validation takes it before reading the sessions, and acts
    /// only on connections registered up to it: a later one was admitted on fresher rows.
    pub fn mark(&self) -> u64 {
        self.registrations.load(Ordering::SeqCst)
    }

    /// Asks `user`'s connections registered up to `mark` and bound to none of the `live` sessions
    /// to close; returns how many were asked.
    pub fn close_unbound(
        &self,
        user: i64,
        live: &[SessionHash],
        mark: u64,
        code: u16,
        reason: &'static str,
    ) -> usize {
        let Some(e) = self.users.get(&user) else {
            return 0;
        };
        let close = Outgoing::Close(code, reason);
        e.conns
            .iter()
            .filter(|c| c.registered <= mark && !c.session.is_some_and(|s| live.contains(&s)))
            .filter(|c| c.tx.push(close.clone()))
            .count()
    }

    /// Every user with a connection on this node (each node re-validates its own).
    pub fn online_users(&self) -> Vec<i64> {
        self.users
            .iter()
            .filter(|e| !e.conns.is_empty())
            .map(|e| *e.key())
            .collect()
    }

    /// Number of users with a connection on this node, and of connections.
    pub fn counts(&self) -> (usize, usize) {
        let mut conns = 0;
        let mut users = 0;
        for e in self.users.iter() {
            if !e.conns.is_empty() {
                users += 1;
                conns += e.conns.len();
            }
        }
        (users, conns)
    }

    /// Replaces `user`'s cached courses after an enrolment refresh, and tells both sides of every
    /// course-mate pair that appeared or disappeared (and, in a cluster, the other nodes).
    pub fn update_courses(&self, user: i64, mut courses: Vec<i64>) {
        courses.sort_unstable();
        courses.dedup();
        if let Some((person, courses)) = self.change_courses(user, courses) {
            if let Some(peers) = self.peers.get() {
                let away = self.users.get(&user).is_some_and(|e| e.published_away);
                peers.local_online(&person, &courses, away);
            }
        }
    }

    /// [`Registry::update_courses`] on this node only; returns the person and the new courses
    /// when they changed.
    fn change_courses(&self, user: i64, courses: Vec<i64>) -> Option<(Arc<Person>, Arc<[i64]>)> {
        let before: HashSet<i64> = self.mates(user).into_iter().collect();
        let person;
        let new_courses;
        {
            let mut e = self.users.get_mut(&user)?;
            if *e.courses == *courses {
                return None;
            }
            let old = e.courses.clone();
            for c in old.iter() {
                if courses.binary_search(c).is_err() {
                    self.leave_course(*c, user);
                }
            }
            for c in &courses {
                if old.binary_search(c).is_err() {
                    self.courses.entry(*c).or_default().insert(user);
                }
            }
            e.courses = Arc::from(courses);
            person = e.person.clone();
            new_courses = e.courses.clone();
        }
        let after: HashSet<i64> = self.mates(user).into_iter().collect();
        let me_on = Outgoing::Frame(presence_frame(&person, self.status(user), None));
        let me_off = Outgoing::Frame(presence_frame(&person, Status::Offline, None));
        for m in after.difference(&before) {
            self.send_local(*m, &me_on);
            if let Some(p) = self.person(*m) {
                let status = self.status(*m);
                self.send_local(user, &Outgoing::Frame(presence_frame(&p, status, None)));
            }
        }
        for m in before.difference(&after) {
            self.send_local(*m, &me_off);
            if let Some(p) = self.person(*m) {
                let frame = presence_frame(&p, Status::Offline, None);
                self.send_local(user, &Outgoing::Frame(frame));
            }
        }
        Some((person, new_courses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::outbox;

    fn person(id: i64, name: &str) -> Person {
        Person {
            id,
            fullname: name.into(),
            avatar: String::new(),
        }
    }

    fn drain(rx: &mut crate::outbox::OutboxRx) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(item) = rx.try_recv() {
            if let Outgoing::Frame(f) = item {
                out.push(f.to_string());
            }
        }
        out
    }

    #[test]
    fn presence_on_first_and_last_connection() {
        let r = Arc::new(Registry::new(4));
        let (ta, mut ra) = outbox(16);
        let (tb1, mut rb1) = outbox(16);
        let (tb2, _rb2) = outbox(16);
        let (tc, mut rc) = outbox(16);
        assert!(r.register(person(1, "Ana"), vec![10], 1, None, ta).unwrap());
        assert!(r
            .register(person(2, "Bo"), vec![10, 11], 2, None, tb1)
            .unwrap());
        assert!(!r
            .register(person(2, "Bo"), vec![10, 11], 3, None, tb2)
            .unwrap());
        assert!(r.register(person(3, "Cy"), vec![12], 4, None, tc).unwrap());
        // Ana heard of Bo once (first tab only); Cy shares no course.
        let a = drain(&mut ra);
        assert_eq!(a.len(), 1);
        assert!(a[0].contains("\"online\"") && a[0].contains("\"Bo\""));
        assert!(drain(&mut rc).is_empty());
        assert!(drain(&mut rb1).is_empty());
        assert_eq!(
            r.online_mates(1)
                .iter()
                .map(|(p, _)| p.id)
                .collect::<Vec<_>>(),
            vec![2]
        );
        assert!(r.are_mates(1, 2));
        assert!(!r.are_mates(1, 3));
        // Closing one of Bo's tabs says nothing; the last one says offline.
        assert!(!r.unregister(2, 2));
        assert!(drain(&mut ra).is_empty());
        assert!(r.unregister(2, 3));
        let a = drain(&mut ra);
        assert_eq!(a.len(), 1);
        assert!(a[0].contains("offline"));
        assert!(r.online_mates(1).is_empty());
    }

    fn statuses(rx: &mut crate::outbox::OutboxRx) -> Vec<String> {
        drain(rx)
            .iter()
            .filter_map(|f| serde_json::from_str::<serde_json::Value>(f).ok())
            .filter_map(|v| v["status"].as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn away_needs_every_socket_here_and_on_other_nodes_idle() {
        let r = Arc::new(Registry::new(4));
        let (ta, mut ra) = outbox(16);
        let (tb, _rb) = outbox(16);
        r.register(person(1, "Ana"), vec![10], 1, None, ta).unwrap();
        r.register(person(2, "Bo"), vec![10], 2, None, tb).unwrap();
        assert_eq!(statuses(&mut ra), vec!["online"]);
        // Bo also holds an active socket on node b: idle here is not away.
        let b: NodeId = Arc::from("b");
        r.remote_online(&b, person(2, "Bo"), vec![10], false);
        r.set_activity(2, 2, false);
        assert!(statuses(&mut ra).is_empty());
        assert_eq!(r.status(2), Status::Online);
        // Node b says its sockets of Bo went idle too: away.
        r.remote_online(&b, person(2, "Bo"), vec![10], true);
        assert_eq!(statuses(&mut ra), vec!["away"]);
        assert_eq!(r.online_mates(1)[0].1, Status::Away);
        // Node b loses its socket: still away (the one here is idle); activity here: online.
        r.remote_offline(&b, 2, Some(5));
        assert!(statuses(&mut ra).is_empty());
        r.set_activity(2, 2, true);
        assert_eq!(statuses(&mut ra), vec!["online"]);
        // Gone everywhere: offline, and the registry remembers when.
        assert!(r.unregister(2, 2));
        assert_eq!(statuses(&mut ra), vec!["offline"]);
        assert!(r.left_at(2).is_some_and(|t| t > 0));
        assert_eq!(r.status(2), Status::Offline);
    }

    #[test]
    fn per_user_cap() {
        let r = Arc::new(Registry::new(1));
        let (t1, _r1) = outbox(4);
        let (t2, _r2) = outbox(4);
        r.register(person(1, "A"), vec![], 1, None, t1).unwrap();
        assert_eq!(
            r.register(person(1, "A"), vec![], 2, None, t2),
            Err(PresenceError::TooManyForUser)
        );
    }

    #[test]
    fn enrolment_changes_make_and_break_pairs() {
        let r = Arc::new(Registry::new(4));
        let (ta, mut ra) = outbox(16);
        let (tb, mut rb) = outbox(16);
        r.register(person(1, "Ana"), vec![10], 1, None, ta).unwrap();
        r.register(person(2, "Bo"), vec![11], 2, None, tb).unwrap();
        assert!(drain(&mut ra).is_empty());
        r.update_courses(2, vec![10, 11]);
        assert!(drain(&mut ra)[0].contains("online"));
        assert!(drain(&mut rb)[0].contains("\"Ana\""));
        r.update_courses(2, vec![11]);
        assert!(drain(&mut ra)[0].contains("offline"));
        assert!(drain(&mut rb)[0].contains("offline"));
    }

    fn closes(rx: &mut crate::outbox::OutboxRx) -> Vec<u16> {
        let mut out = Vec::new();
        while let Some(item) = rx.try_recv() {
            if let Outgoing::Close(code, _) = item {
                out.push(code);
            }
        }
        out
    }

    #[test]
    fn close_unbound_closes_only_sockets_of_ended_sessions_registered_before_the_mark() {
        let r = Arc::new(Registry::new(8));
        let (laptop, phone, new) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        let (t1, mut r1) = outbox(4);
        let (t2, mut r2) = outbox(4);
        let (t3, mut r3) = outbox(4);
        let (t4, mut r4) = outbox(4);
        r.register(person(1, "Ana"), vec![], 1, Some(laptop), t1)
            .unwrap();
        r.register(person(1, "Ana"), vec![], 2, Some(phone), t2)
            .unwrap();
        r.register(person(1, "Ana"), vec![], 3, None, t3).unwrap();
        let mark = r.mark();
        // Admitted after the re-validation read the sessions: not judged by that read.
        r.register(person(1, "Ana"), vec![], 4, Some(new), t4)
            .unwrap();
        assert_eq!(r.close_unbound(1, &[laptop], mark, 4004, "ended"), 2);
        assert!(closes(&mut r1).is_empty());
        assert_eq!(closes(&mut r2), vec![4004]);
        assert_eq!(closes(&mut r3), vec![4004], "a socket bound to no session");
        assert!(closes(&mut r4).is_empty());
        assert_eq!(
            r.close_unbound(2, &[], mark, 4004, "ended"),
            0,
            "not online"
        );
    }

    #[test]
    fn avatar_urls() {
        let a = Avatars::new("https://m.example/", "boost");
        let mut u = UserRow {
            id: 7,
            firstname: "Ana".into(),
            lastname: "Lima".into(),
            picture: 912,
            contextid: 31,
        };
        let p = a.person(&u);
        assert_eq!(p.fullname, "Ana Lima");
        assert_eq!(
            p.avatar,
            "https://m.example/pluginfile.php/31/user/icon/boost/f1?rev=912"
        );
        u.picture = 0;
        assert_eq!(
            a.person(&u).avatar,
            "https://m.example/theme/image.php/boost/core/1/u/f1"
        );
    }
}

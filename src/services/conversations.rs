//! Conversations: send, history, read markers, typing, docked windows and the list of the user's
//! Moodle conversations (docs/PROTOCOL.md §4–§6).
//!
//! Owns: validating and authorising each request with Moodle's messaging rules
//! (`core_message\api::can_send_message`, cached per pair for at most [`PAIR_TTL`] and never longer than
//! the enrolment refresh interval), the site's messaging
//! switches, the typing throttle, and queueing sends for the message writer ([`writer`]: group
//! commits, several in flight, each send acked and its one shared, pre-serialised `message` frame
//! fanned out to every connection of both users only after its commit, in id order).
//! The `welcome`'s windows of concurrent hellos are read together
//! ([`crate::store::batch`]), one query per 100 users.
//! Lookups (`history`, `window`, the `welcome`'s windows) answer only for a peer one may message or
//! already has a conversation with, anyone else is `unknown_user`; a user keeps at most
//! [`WINDOWS_MAX`] windows.
//! Conversation-addressed requests (`conv`) follow `api::can_send_message_to_conversation`:
//! membership (anyone else gets `not_member`, whether the conversation exists or not), `caps.send`,
//! `enabled`. A conversation's members are cached ([`ConvInfo`], as long as a pair's facts), so a
//! group message is serialised once and pushed to every member's sockets without a query per member.
//! Must not: read or write sockets (it pushes into outboxes through `presence`), or write SQL.

mod actions;
mod listcache;

use crate::outbox::{OutboxTx, Outgoing};
use crate::protocol::{
    CanSend, ConversationInfo, ConversationType, ErrorCode, Message, Person, ReadMarkers,
    ServerFrame, Status, Target, WindowInfo, WindowState,
};
use crate::services::auth::Caps;
use crate::services::ledger::Ledger;
use crate::services::presence::{Avatars, Registry};
use crate::services::FastMap as DashMap;
use crate::store::batch::Batcher;
use crate::store::listing::Listed;
use crate::store::messaging::{
    GroupTarget, MsgRow, NewMessage, WelcomeRows, CONVERSATION_GROUP, CONVERSATION_INDIVIDUAL,
    CONVERSATION_SELF,
};
use crate::store::windows::{WINDOWS_MAX, WINDOW_MINIMISED, WINDOW_OPEN};
use crate::store::{Store, StoreError};
use listcache::ListCache;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use writer::{writer_loop, Recipient, WriteReq, Writer, WriterCmd};

mod writer;

mod roster;

mod search;

/// The longest a pair's permission facts are trusted (shorter when enrolments refresh faster).
pub const PAIR_TTL: Duration = Duration::from_secs(60);
/// At most one `typing` per pair is forwarded in this interval.
pub const TYPING_INTERVAL: Duration = Duration::from_secs(2);
/// Longest a request (history, read, window, typing, the checks of a send) may wait for the
/// database; the socket is not read meanwhile.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Most sends stored in one transaction.
pub const GROUP_MAX: usize = crate::store::messaging::WRITE_BATCH_MAX;
/// Capacity of the writer's queue: about half a second of the writer's throughput. A send that
/// finds it full waits for room, within its request's deadline.
pub const WRITER_QUEUE: usize = 16_384;
/// Most text bytes queued for the writer (16,384 sends of 4,000 four-byte characters would be
/// 256 MiB); a send past it is answered `internal` at once.
pub const WRITER_QUEUE_BYTES: usize = 32 * 1024 * 1024;
/// Longest a send may wait in the writer's queue; then it is answered `internal` unwritten.
pub const QUEUE_DEADLINE: Duration = Duration::from_secs(5);
/// Attempts to settle an unanswered commit that the database answers with an error (not an
/// outage: those are waited out) before its senders are told `internal`.
const SETTLE_REFUSALS_MAX: u32 = 20;
/// Most welcomes whose windows and cursors are read together (padded `IN (...)` lists of the store).
const WELCOME_BATCH: usize = 10 * crate::store::BATCH;
/// Welcome batches in flight at once.
const WELCOME_CONCURRENCY: usize = 4;
/// Welcomes waiting for their batch before new ones wait to be queued.
const WELCOME_QUEUE: usize = 16_384;

/// A refused or failed request.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("refused: {}", .0.as_str())]
    Refused(ErrorCode),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the message writer has stopped")]
    WriterGone,
    #[error("the message writer's queue is full")]
    WriterBusy,
}

impl ServiceError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::Refused(c) => *c,
            ServiceError::Store(_) | ServiceError::WriterGone | ServiceError::WriterBusy => {
                ErrorCode::Internal
            }
        }
    }
}

type Result<T> = std::result::Result<T, ServiceError>;

fn refuse<T>(c: ErrorCode) -> Result<T> {
    Err(ServiceError::Refused(c))
}

/// What Moodle's tables say about a (sender, recipient) pair.
#[derive(Debug, Clone)]
struct PairFacts {
    blocked: bool,
    /// The recipient's `message_blocknoncontacts`, already normalised (see [`effective_pref`]).
    pref: i64,
    contact: bool,
    shared: Vec<i64>,
    at: Instant,
}

/// The recipient's privacy preference as Moodle applies it: unset → 2 with `messagingallusers`,
/// else 0; a stored 2 counts as 0 when `messagingallusers` is off.
pub fn effective_pref(stored: Option<&str>, messagingallusers: bool) -> i64 {
    let v = stored.and_then(|s| s.trim().parse::<i64>().ok());
    match v {
        None => {
            if messagingallusers {
                2
            } else {
                0
            }
        }
        Some(2) if !messagingallusers => 0,
        Some(v) => v,
    }
}

/// Moodle's `can_send_message` given the facts and the sender's capabilities.
fn decide(caps: &Caps, f: &PairFacts) -> std::result::Result<(), ErrorCode> {
    if !caps.send {
        return Err(ErrorCode::NoPermission);
    }
    if caps.readall || caps.anyuser {
        return Ok(());
    }
    let base = if f.blocked {
        Err(ErrorCode::Blocked)
    } else if f.pref == 2 || f.contact || (f.pref == 0 && !f.shared.is_empty()) {
        Ok(())
    } else if f.pref == 1 {
        // One answer per actual reason: a course-mate who takes contacts only is not told
        // "no shared course".
        Err(ErrorCode::ContactsOnly)
    } else {
        Err(ErrorCode::NotContactable)
    };
    // Teacher override: messageanyuser in the context of a shared course (also beats a block).
    if base.is_err() && f.shared.iter().any(|c| caps.anyusercourses.contains(c)) {
        return Ok(());
    }
    base
}

/// A Moodle conversation with its members, as read at `at` (trusted for the pair TTL: membership
/// changes in Moodle take effect within it).
#[derive(Debug)]
pub struct ConvInfo {
    pub id: i64,
    /// `message_conversations.type`; 0 for a conversation that does not exist.
    pub kind: i64,
    pub enabled: bool,
    pub name: String,
    /// The group's image for `customdata` (empty unless linked to a course group).
    pub icon: String,
    /// Member ids, ascending.
    pub members: Vec<i64>,
    at: Instant,
}

impl ConvInfo {
    pub fn is_member(&self, user: i64) -> bool {
        self.members.binary_search(&user).is_ok()
    }

    /// Pushes `item` to every socket of every member (but `except`): one registry lookup per
    /// member, the frame shared.
    pub fn push(&self, registry: &Registry, item: &Outgoing, except: Option<i64>) {
        for &m in &self.members {
            if Some(m) != except {
                registry.send_user(m, item);
            }
        }
    }

    /// [`ConvInfo::push`] to the members' sockets on this node only.
    pub fn push_local(&self, registry: &Registry, item: &Outgoing) {
        for &m in &self.members {
            registry.send_local(m, item);
        }
    }
}

/// What a `conv` names for a member.
enum Resolved {
    /// An individual conversation: the request is the 1:1 one with its other member.
    Pair(i64),
    /// A group conversation.
    Group(Arc<ConvInfo>),
}

/// The conversation service.
pub struct Conversations {
    store: Store,
    registry: Arc<Registry>,
    avatars: Avatars,
    text_max_chars: usize,
    history_max: u32,
    pair_ttl: Duration,
    messaging: AtomicBool,
    messagingallusers: AtomicBool,
    pairs: DashMap<(i64, i64), PairFacts>,
    /// Last forwarded typing per (sender, recipient), or (sender, -conversation) in a group.
    typing: DashMap<(i64, i64), Instant>,
    /// Conversations by id with their members (see [`ConvInfo`]).
    conv_infos: DashMap<i64, Arc<ConvInfo>>,
    windows_known: Arc<WindowCache>,
    writer: mpsc::Sender<WriterCmd>,
    /// Text bytes the writer's queue may still take.
    queue_bytes: Arc<tokio::sync::Semaphore>,
    /// Concurrent welcomes read their windows together (a connect storm would otherwise cost one
    /// query per hello).
    welcomes: Batcher<i64, WelcomeRows>,
    /// Every message id up to here is resolved (committed or known never to be): the ingest's
    /// safe watermark. A resume replays from no later than it, since Moodle's inserts may commit
    /// out of id order. `i64::MAX` while no ingest runs.
    resolved_upto: std::sync::atomic::AtomicI64,
    /// Read rows this daemon wrote and announced, until the ingest has passed them.
    own_reads: DashMap<i64, Instant>,
    /// On a single node: messages this node's writer stored and delivered, until the ingest's
    /// poll has passed them (in a cluster the [`Ledger`] keeps them).
    own_messages: Arc<OwnMessages>,
    /// Per user: when the current search window began, and the searches in it.
    searches: DashMap<i64, (Instant, u32)>,
    /// Per user: when the current window-action budget began, and the actions in it (§4.1).
    actions: DashMap<i64, (Instant, u32)>,
    /// In a cluster: which dock messages this node has delivered (see [`Ledger`]).
    ledger: Option<Arc<Ledger>>,
    /// Course rosters by course id (see [`roster`]).
    rosters: DashMap<i64, Arc<roster::CourseRoster>>,
    /// Online users' conversation lists between pages.
    lists: Arc<ListCache>,
    /// Per searcher: the people their searches may find (see [`search`]).
    search_pools: DashMap<i64, Arc<search::SearchPool>>,
}

/// Message ids the writer stored, with when (see `Conversations::own_messages`).
type OwnMessages = DashMap<i64, Instant>;

/// (owner, peer) pairs whose window row is known to exist, so a send skips re-creating it. Entries
/// expire (rows may also be deleted outside the daemon, e.g. by the privacy API) and are dropped when
/// the owner closes the window (or a trim closes it), on every node of a cluster
/// ([`forget_windows`]).
type WindowCache = DashMap<(i64, i64), Instant>;

/// Windows (owner, peer) were closed here: this node and, in a cluster, every other one forget they
/// knew them to exist (the next send between the two recreates them and tells the owner).
fn forget_windows(cache: &WindowCache, registry: &Registry, closed: &[(i64, i64)]) {
    if closed.is_empty() {
        return;
    }
    for key in closed {
        cache.remove(key);
    }
    if let Some(peers) = registry.peers() {
        peers.windows_closed(closed);
    }
}

/// A user may search for people at most [`SEARCHES_PER_WINDOW`] times per [`SEARCH_WINDOW`].
const SEARCH_WINDOW: Duration = Duration::from_secs(5);
const SEARCHES_PER_WINDOW: u32 = 20;
/// Candidates a search reads before Moodle's rules keep at most `PEOPLE_MAX` of them.
const SEARCH_CANDIDATES: usize = 60;

/// How long a read row or message the daemon wrote is remembered for the ingest.
const OWN_ROW_TTL: Duration = Duration::from_secs(120);

/// How long a known window row is trusted.
const WINDOW_KNOWN_TTL: Duration = Duration::from_secs(300);

fn window_known(cache: &WindowCache, owner: i64, peer: i64) -> bool {
    cache
        .get(&(owner, peer))
        .is_some_and(|t| t.elapsed() < WINDOW_KNOWN_TTL)
}

impl std::fmt::Debug for Conversations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversations").finish_non_exhaustive()
    }
}

/// Handle of the running message writer.
pub struct WriterTask {
    handle: tokio::task::JoinHandle<()>,
}

impl WriterTask {
    /// Waits until every queued send is committed and answered.
    pub async fn join(self) {
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "message writer ended abnormally");
        }
    }
}

/// The service's settings, from the daemon's configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Longest message text, in characters (`limits.text_max_chars`).
    pub text_max_chars: usize,
    /// Most messages a `history` page holds (`limits.history_max`).
    pub history_max: u32,
    /// How often enrolments are read again (`presence.enrolment_refresh_secs`): no permission
    /// fact is trusted longer.
    pub enrolment_refresh: Duration,
    /// Group commits in flight at once (`db_write_pipeline`, within half the pool).
    pub write_pipeline: usize,
}

impl Conversations {
    /// Builds the service and spawns its message writer.
    pub fn start(
        store: Store,
        registry: Arc<Registry>,
        avatars: Avatars,
        settings: Settings,
        ledger: Option<Arc<Ledger>>,
    ) -> (Arc<Conversations>, WriterTask) {
        let Settings {
            text_max_chars,
            history_max,
            enrolment_refresh,
            write_pipeline,
        } = settings;
        let (tx, rx) = mpsc::channel(WRITER_QUEUE);
        let windows_known = Arc::new(WindowCache::default());
        let lists = Arc::new(ListCache::default());
        let own_messages = Arc::new(OwnMessages::default());
        let svc = Arc::new(Conversations {
            store: store.clone(),
            registry: registry.clone(),
            avatars,
            text_max_chars,
            history_max,
            pair_ttl: enrolment_refresh.min(PAIR_TTL),
            messaging: AtomicBool::new(true),
            messagingallusers: AtomicBool::new(false),
            pairs: DashMap::default(),
            typing: DashMap::default(),
            conv_infos: DashMap::default(),
            windows_known: windows_known.clone(),
            writer: tx,
            queue_bytes: Arc::new(tokio::sync::Semaphore::new(WRITER_QUEUE_BYTES)),
            welcomes: {
                let store = store.clone();
                Batcher::spawn(
                    "welcome",
                    WELCOME_BATCH,
                    WELCOME_CONCURRENCY,
                    WELCOME_QUEUE,
                    move |ids: Vec<i64>| {
                        let store = store.clone();
                        async move { store.welcome_states(&ids).await }
                    },
                )
            },
            resolved_upto: std::sync::atomic::AtomicI64::new(i64::MAX),
            own_reads: DashMap::default(),
            own_messages: own_messages.clone(),
            searches: DashMap::default(),
            actions: DashMap::default(),
            ledger: ledger.clone(),
            rosters: DashMap::default(),
            lists: lists.clone(),
            search_pools: DashMap::default(),
        });
        let writer = Writer {
            store: store.clone(),
            registry,
            windows_known,
            ledger,
            lists,
            own_messages,
        };
        let handle = tokio::spawn(writer_loop(store, writer, rx, write_pipeline));
        (svc, WriterTask { handle })
    }

    /// Runs one request under [`REQUEST_TIMEOUT`]; a timeout or a failure that says the database
    /// is unreachable marks it so, and the requests after it are answered at once until it answers
    /// again ([`crate::store::health`]). A send cut off by the deadline stored nothing (queueing for
    /// the writer is its last step, and does not wait); a `read` or `window` cut off after its
    /// write answers `internal` though the write stands, and its retry is idempotent.
    pub async fn bounded<T>(
        &self,
        request: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
            Ok(Err(ServiceError::Store(e))) => {
                self.store.report(&e);
                Err(ServiceError::Store(e))
            }
            Ok(done) => done,
            Err(_) => {
                self.store.suspect();
                Err(ServiceError::Store(StoreError::Timeout(
                    "the request did not get its answer from the database in time",
                )))
            }
        }
    }

    /// Asks the writer to finish what is queued and stop.
    pub async fn stop_writer(&self) {
        let _ = self.writer.send(WriterCmd::Stop).await;
    }

    /// Re-reads `messaging`, `messagingallusers` and `hiddenuserfields` from Moodle's config;
    /// forgets stale caches.
    pub async fn refresh_site_settings(&self) -> std::result::Result<(), StoreError> {
        let on = |v: Option<String>, default: bool| {
            v.map(|s| s.trim() != "0" && !s.trim().is_empty())
                .unwrap_or(default)
        };
        let m = on(self.store.config_value("messaging").await?, true);
        let all = on(self.store.config_value("messagingallusers").await?, false);
        // Moodle's profile and message drawer hide `lastaccess` when this list names it.
        let hidden = self.store.config_value("hiddenuserfields").await?;
        let lastaccess_hidden = hidden
            .as_deref()
            .unwrap_or("")
            .split(',')
            .any(|f| f.trim() == "lastaccess");
        self.registry.set_lastaccess_hidden(lastaccess_hidden);
        self.messaging.store(m, Ordering::Relaxed);
        self.messagingallusers.store(all, Ordering::Relaxed);
        let now = Instant::now();
        self.pairs
            .retain(|_, f| now.duration_since(f.at) < self.pair_ttl);
        self.typing
            .retain(|_, t| now.duration_since(*t) < TYPING_INTERVAL * 5);
        self.conv_infos
            .retain(|_, c| now.duration_since(c.at) < self.pair_ttl);
        self.windows_known
            .retain(|_, t| now.duration_since(*t) < WINDOW_KNOWN_TTL);
        self.actions
            .retain(|_, (t, _)| now.duration_since(*t) < actions::ACTION_WINDOW);
        self.expire_rosters();
        self.expire_search_pools();
        Ok(())
    }

    /// The Person of any active user (online users come from the registry).
    pub async fn person(&self, id: i64) -> Result<Arc<Person>> {
        if let Some(p) = self.registry.person(id) {
            return Ok(p);
        }
        match self.store.active_user(id).await? {
            Some(u) => Ok(Arc::new(self.avatars.person(&u))),
            None => refuse(ErrorCode::UnknownUser),
        }
    }

    /// `with` as `me` may see them (name and avatar): someone `me` may message (Moodle's rules, as
    /// [`Self::authorise`] decides them) or already has a conversation with — then even a suspended or
    /// deleted account, as Moodle still shows such conversations. Anyone else is refused with
    /// `unknown_user`, exactly like an id that does not exist. `talked` is whether the two have a
    /// conversation, when the caller already knows (`None`: looked up only if needed).
    async fn visible_peer(
        &self,
        me: i64,
        caps: &Caps,
        with: i64,
        talked: Option<bool>,
    ) -> Result<Arc<Person>> {
        if talked != Some(true) {
            // Tried first: its facts are cached, a conversation lookup is not.
            match self.authorise(me, caps, with).await {
                Ok(p) => return Ok(p),
                Err(ServiceError::Refused(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let talked = match talked {
            Some(t) => t,
            None => self.store.conversation(me, with).await?.is_some(),
        };
        if !talked {
            return refuse(ErrorCode::UnknownUser);
        }
        if let Some(p) = self.registry.person(with) {
            return Ok(p);
        }
        match self.store.account(with).await? {
            Some(u) => Ok(Arc::new(self.avatars.person(&u))),
            None => refuse(ErrorCode::UnknownUser),
        }
    }

    async fn facts(&self, sender: i64, recipient: i64) -> Result<PairFacts> {
        if let Some(f) = self.pairs.get(&(sender, recipient)) {
            if f.at.elapsed() < self.pair_ttl {
                return Ok(f.clone());
            }
        }
        let allusers = self.messagingallusers.load(Ordering::Relaxed);
        let blocked = self.store.is_blocked(recipient, sender).await?;
        let pref = effective_pref(
            self.store
                .preference(recipient, "message_blocknoncontacts")
                .await?
                .as_deref(),
            allusers,
        );
        let contact = self.store.is_contact(sender, recipient).await?;
        let shared = self.store.shared_courses(sender, recipient).await?;
        let f = PairFacts {
            blocked,
            pref,
            contact,
            shared,
            at: Instant::now(),
        };
        self.pairs.insert((sender, recipient), f.clone());
        Ok(f)
    }

    /// [`Self::facts`] for `sender` and many recipients: the cached ones as they are, the others
    /// read in one batch (and cached).
    async fn facts_many(&self, sender: i64, recipients: &[i64]) -> Result<HashMap<i64, PairFacts>> {
        let mut out = HashMap::with_capacity(recipients.len());
        let mut missing = Vec::new();
        for &r in recipients {
            match self.pairs.get(&(sender, r)) {
                Some(f) if f.at.elapsed() < self.pair_ttl => {
                    out.insert(r, f.clone());
                }
                _ => missing.push(r),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let allusers = self.messagingallusers.load(Ordering::Relaxed);
        let now = Instant::now();
        for (r, raw) in self.store.pair_facts_many(sender, &missing).await? {
            let f = PairFacts {
                blocked: raw.blocked,
                pref: effective_pref(raw.pref.as_deref(), allusers),
                contact: raw.contact,
                shared: raw.shared,
                at: now,
            };
            self.pairs.insert((sender, r), f.clone());
            out.insert(r, f);
        }
        Ok(out)
    }

    /// May `me` (with `caps`) message `to`? Returns the recipient's Person.
    pub async fn authorise(&self, me: i64, caps: &Caps, to: i64) -> Result<Arc<Person>> {
        if !self.messaging.load(Ordering::Relaxed) {
            return refuse(ErrorCode::MessagingDisabled);
        }
        if to == me {
            return refuse(ErrorCode::BadRecipient);
        }
        self.store.check_up()?;
        let person = self.person(to).await?;
        if !caps.send {
            return refuse(ErrorCode::NoPermission);
        }
        if caps.readall || caps.anyuser {
            return Ok(person);
        }
        let f = self.facts(me, to).await?;
        decide(caps, &f).map_err(ServiceError::Refused)?;
        Ok(person)
    }

    /// Conversation `conv` with its members, from the cache while fresh ([`ConvInfo`]). A
    /// conversation that does not exist is cached too, as one without members.
    pub async fn conversation_info(&self, conv: i64) -> Result<Arc<ConvInfo>> {
        if let Some(c) = self.conv_infos.get(&conv) {
            if c.at.elapsed() < self.pair_ttl {
                return Ok(c.clone());
            }
        }
        self.store.check_up()?;
        let info = Arc::new(match self.store.conversation_row(conv).await? {
            Some(r) => ConvInfo {
                id: conv,
                kind: r.kind,
                enabled: r.enabled,
                icon: if r.course_group {
                    self.avatars
                        .group_picture(r.picture, r.groupid, r.course_context)
                } else {
                    String::new()
                },
                name: r.name,
                members: r.members,
                at: Instant::now(),
            },
            None => ConvInfo {
                id: conv,
                kind: 0,
                enabled: false,
                name: String::new(),
                icon: String::new(),
                members: Vec::new(),
                at: Instant::now(),
            },
        });
        self.conv_infos.insert(conv, info.clone());
        Ok(info)
    }

    /// What `conv` is for `me`: refused with `not_member` unless `me` is a member (the same answer
    /// for a conversation that does not exist), `bad_recipient` for `me`'s self conversation.
    async fn resolve(&self, me: i64, conv: i64) -> Result<Resolved> {
        let info = self.conversation_info(conv).await?;
        if !info.is_member(me) {
            return refuse(ErrorCode::NotMember);
        }
        match info.kind {
            CONVERSATION_GROUP => Ok(Resolved::Group(info)),
            CONVERSATION_INDIVIDUAL => match info.members.iter().find(|m| **m != me) {
                Some(other) => Ok(Resolved::Pair(*other)),
                // The other member's row is gone (Moodle's privacy API): nobody to talk to.
                None => refuse(ErrorCode::NotMember),
            },
            CONVERSATION_SELF => refuse(ErrorCode::BadRecipient),
            _ => refuse(ErrorCode::NotMember),
        }
    }

    /// A member's group conversation, refused when disabled in Moodle (stricter than Moodle).
    fn enabled_group(info: Arc<ConvInfo>) -> Result<Arc<ConvInfo>> {
        if info.enabled {
            Ok(info)
        } else {
            refuse(ErrorCode::ConversationDisabled)
        }
    }

    /// Validates, authorises and queues a send to a user or a conversation (see [`Self::send_to_user`],
    /// [`Self::send_to_group`]).
    pub async fn send(
        &self,
        me: &Arc<Person>,
        caps: &Caps,
        target: Target,
        cid: &str,
        text: &str,
        ack_to: &OutboxTx,
    ) -> Result<()> {
        match target {
            Target::User(to) => self.send_to_user(me, caps, to, cid, text, ack_to).await,
            Target::Conv(conv) => match self.resolve(me.id, conv).await? {
                Resolved::Pair(to) => self.send_to_user(me, caps, to, cid, text, ack_to).await,
                Resolved::Group(info) => {
                    self.send_to_group(me, caps, info, cid, text, ack_to).await
                }
            },
        }
    }

    /// Checks a send's cid and text; the text as stored.
    fn checked_text<'t>(&self, cid: &str, text: &'t str) -> Result<std::borrow::Cow<'t, str>> {
        if !crate::protocol::valid_cid(cid) {
            return refuse(ErrorCode::BadCid);
        }
        crate::protocol::normalise_text(text, self.text_max_chars).map_err(|e| {
            ServiceError::Refused(match e {
                crate::protocol::TextError::Empty => ErrorCode::TextEmpty,
                crate::protocol::TextError::TooLong => ErrorCode::TextTooLong,
            })
        })
    }

    /// Queues `req` for the writer, `text_len` bytes counted against [`WRITER_QUEUE_BYTES`].
    async fn queue(
        &self,
        make: impl FnOnce(tokio::sync::OwnedSemaphorePermit) -> WriteReq,
        text_len: usize,
    ) -> Result<()> {
        let bytes = u32::try_from(text_len).map_err(|_| ServiceError::WriterBusy)?;
        let permit = self
            .queue_bytes
            .clone()
            .try_acquire_many_owned(bytes)
            .map_err(|_| ServiceError::WriterBusy)?;
        let req = make(permit);
        // A full queue means a busy writer, not a lost database (while the database is away the
        // writer answers its queue at once): wait for room, which throttles a sender that outruns
        // the writer, within the request's deadline (`bounded`); the rate credit covers the wait.
        self.writer
            .send(WriterCmd::Send(Box::new(req)))
            .await
            .map_err(|_| ServiceError::WriterGone)
    }

    /// A send to a group conversation `me` is a member of (`api::can_send_message_to_conversation`:
    /// `caps.send`, and the dock's own rule that the conversation is enabled). The `message` frame
    /// reaches every connection of every member.
    async fn send_to_group(
        &self,
        me: &Arc<Person>,
        caps: &Caps,
        info: Arc<ConvInfo>,
        cid: &str,
        text: &str,
        ack_to: &OutboxTx,
    ) -> Result<()> {
        let text = self.checked_text(cid, text)?;
        if !self.messaging.load(Ordering::Relaxed) {
            return refuse(ErrorCode::MessagingDisabled);
        }
        if !caps.send {
            return refuse(ErrorCode::NoPermission);
        }
        let info = Self::enabled_group(info)?;
        let len = text.len();
        self.queue(
            |permit| WriteReq {
                msg: NewMessage {
                    from: me.id,
                    to: 0,
                    cid: cid.to_string(),
                    text: text.into_owned(),
                    icon: me.avatar.clone(),
                    windows_known: [true, true],
                    group: Some(GroupTarget {
                        conv: info.id,
                        name: info.name.clone(),
                        icon: info.icon.clone(),
                    }),
                },
                sender: me.clone(),
                recipient: Recipient::Group(info),
                ack_to: ack_to.clone(),
                queued: Instant::now(),
                _bytes: permit,
            },
            len,
        )
        .await
    }

    /// Validates, authorises and queues a send to a user. The ack (or an `internal` error) reaches
    /// `ack_to` after the commit; the `message` frame reaches every connection of both users.
    async fn send_to_user(
        &self,
        me: &Arc<Person>,
        caps: &Caps,
        to: i64,
        cid: &str,
        text: &str,
        ack_to: &OutboxTx,
    ) -> Result<()> {
        if !crate::protocol::valid_cid(cid) {
            return refuse(ErrorCode::BadCid);
        }
        let text = crate::protocol::normalise_text(text, self.text_max_chars).map_err(|e| {
            ServiceError::Refused(match e {
                crate::protocol::TextError::Empty => ErrorCode::TextEmpty,
                crate::protocol::TextError::TooLong => ErrorCode::TextTooLong,
            })
        })?;
        let recipient = self.authorise(me.id, caps, to).await?;
        let len = text.len();
        self.queue(
            |permit| WriteReq {
                msg: NewMessage {
                    from: me.id,
                    to,
                    cid: cid.to_string(),
                    text: text.into_owned(),
                    icon: me.avatar.clone(),
                    windows_known: [false, false],
                    group: None,
                },
                sender: me.clone(),
                recipient: Recipient::User(recipient),
                ack_to: ack_to.clone(),
                queued: Instant::now(),
                _bytes: permit,
            },
            len,
        )
        .await
    }

    /// A page of history of a conversation named by user or by id, as a ready `history` frame.
    pub async fn history(
        &self,
        me: i64,
        caps: &Caps,
        target: Target,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<String> {
        match target {
            Target::User(with) => self.history_with(me, caps, with, before, limit).await,
            Target::Conv(conv) => match self.resolve(me, conv).await? {
                Resolved::Pair(with) => self.history_with(me, caps, with, before, limit).await,
                Resolved::Group(info) => {
                    let info = Self::enabled_group(info)?;
                    let limit = self.history_limit(limit)?;
                    let mut rows = self
                        .store
                        .conv_history(me, info.id, before, limit + 1)
                        .await?;
                    let more = rows.len() > limit as usize;
                    rows.truncate(limit as usize);
                    rows.reverse();
                    let (mine, theirs) = self.store.conv_read_markers(me, info.id).await?;
                    let messages: Vec<Message> = rows.into_iter().map(to_message).collect();
                    let people = self.senders(&messages).await?;
                    // A member of an enabled group may write unless the site or their role says no.
                    let can_send = if !self.messaging.load(Ordering::Relaxed) {
                        CanSend::refused(ErrorCode::MessagingDisabled)
                    } else if !caps.send {
                        CanSend::refused(ErrorCode::NoPermission)
                    } else {
                        CanSend::YES
                    };
                    let flags = match before {
                        None => Some(self.flags(me, info.id, 0).await?),
                        Some(_) => None,
                    };
                    Ok(ServerFrame::History {
                        with: None,
                        conv: Some(info.id),
                        messages: &messages,
                        more,
                        read: ReadMarkers { mine, theirs },
                        can_send,
                        people: Some(&people),
                        members: Some(&info.members),
                        flags,
                        image: Some(&info.icon),
                    }
                    .to_json())
                }
            },
        }
    }

    /// A history request's page size, checked.
    fn history_limit(&self, limit: Option<u32>) -> Result<u32> {
        let limit = limit.unwrap_or(crate::protocol::HISTORY_DEFAULT.min(self.history_max));
        if limit == 0 || limit > self.history_max {
            return refuse(ErrorCode::BadFrame);
        }
        Ok(limit)
    }

    /// A page of history with `with`, as a ready `history` frame (only for a peer `me` may see, see
    /// `visible_peer`).
    async fn history_with(
        &self,
        me: i64,
        caps: &Caps,
        with: i64,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<String> {
        if with == me {
            return refuse(ErrorCode::BadRecipient);
        }
        let limit = self.history_limit(limit)?;
        self.store.check_up()?;
        let conv = self.store.conversation(me, with).await?;
        let (peer, can_send) = self
            .peer_and_can_send(me, caps, with, conv.is_some())
            .await?;
        let (messages, more, read) = match conv {
            None => (Vec::new(), false, ReadMarkers::default()),
            Some(_) => {
                let mut rows = self.store.history(me, with, before, limit + 1).await?;
                let more = rows.len() > limit as usize;
                rows.truncate(limit as usize);
                rows.reverse();
                let (mine, theirs) = self.store.read_markers(me, with).await?;
                (
                    rows.into_iter().map(to_message).collect::<Vec<_>>(),
                    more,
                    ReadMarkers { mine, theirs },
                )
            }
        };
        let flags = match before {
            None => Some(self.flags(me, conv.unwrap_or(0), with).await?),
            Some(_) => None,
        };
        Ok(ServerFrame::History {
            with: Some(&peer),
            conv: None,
            messages: &messages,
            more,
            read,
            can_send,
            people: None,
            members: None,
            flags,
            image: None,
        }
        .to_json())
    }

    /// The distinct senders of a page of group history, ascending id, so a member sees who wrote
    /// each message whether the writer is online or not: online ones from the registry, the others
    /// (also suspended or deleted accounts, as Moodle names them) read in one query. The caller has
    /// checked that the requester is a member: every message, hence every sender, is theirs to see.
    async fn senders(&self, messages: &[Message]) -> Result<Vec<Person>> {
        let mut ids: Vec<i64> = messages.iter().map(|m| m.from).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut people = Vec::with_capacity(ids.len());
        let mut offline = Vec::new();
        for id in ids {
            match self.registry.person(id) {
                Some(p) => people.push((*p).clone()),
                None => offline.push(id),
            }
        }
        if !offline.is_empty() {
            let rows = self.store.accounts(&offline).await?;
            people.extend(rows.values().map(|u| self.avatars.person(u)));
            people.sort_unstable_by_key(|p| p.id);
        }
        Ok(people)
    }

    /// `with` as `visible_peer` shows them, and whether `me` may send to them now (the same
    /// judgement as a send's; a refusal other than Moodle's rules, a database error, leaves the
    /// answer to the send itself).
    async fn peer_and_can_send(
        &self,
        me: i64,
        caps: &Caps,
        with: i64,
        talked: bool,
    ) -> Result<(Arc<Person>, CanSend)> {
        match self.authorise(me, caps, with).await {
            Ok(p) => Ok((p, CanSend::YES)),
            Err(ServiceError::Refused(code)) => {
                let p = self.visible_peer(me, caps, with, Some(talked)).await?;
                Ok((p, CanSend::refused(code)))
            }
            Err(e) => Err(e),
        }
    }

    /// Marks read up to `upto` in a conversation named by user or by id.
    pub async fn read(&self, me: i64, target: Target, upto: i64) -> Result<()> {
        let info = match target {
            Target::User(with) => return self.read_with(me, with, upto).await,
            Target::Conv(conv) => match self.resolve(me, conv).await? {
                Resolved::Pair(with) => return self.read_with(me, with, upto).await,
                Resolved::Group(info) => Self::enabled_group(info)?,
            },
        };
        let last = self.store.conv_last_message(info.id).await?;
        let upto = upto.min(last);
        if upto <= 0 {
            return Ok(());
        }
        let marked = self.store.mark_read_conv(me, info.id, upto).await?;
        if !marked.is_empty() {
            self.note_own_reads(&marked);
            let frame = Outgoing::Frame(Utf8Bytes::from(
                ServerFrame::Read {
                    reader: me,
                    with: None,
                    conv: Some(info.id),
                    upto,
                }
                .to_json(),
            ));
            info.push(&self.registry, &frame, None);
        }
        Ok(())
    }

    /// Moves `me`'s read marker in the conversation with `with` (clamped to its newest message);
    /// tells every connection of both users when it moved.
    async fn read_with(&self, me: i64, with: i64, upto: i64) -> Result<()> {
        if with == me {
            return refuse(ErrorCode::BadRecipient);
        }
        self.store.check_up()?;
        if self.store.conversation(me, with).await?.is_none() {
            return Ok(());
        }
        let last = self.store.last_message(me, with).await?;
        let upto = upto.min(last);
        if upto <= 0 {
            return Ok(());
        }
        let marked = self.store.mark_read(me, with, upto).await?;
        if !marked.is_empty() {
            self.note_own_reads(&marked);
            let frame = Outgoing::Frame(Utf8Bytes::from(
                ServerFrame::Read {
                    reader: me,
                    with: Some(with),
                    conv: None,
                    upto,
                }
                .to_json(),
            ));
            self.registry.send_user(me, &frame);
            self.registry.send_user(with, &frame);
        }
        Ok(())
    }

    /// Forwards a typing notice to a user or to the other members of a conversation (throttled per
    /// sender and recipient or conversation; not stored).
    pub async fn typing(&self, me: i64, caps: &Caps, target: Target) -> Result<()> {
        let info = match target {
            Target::User(to) => return self.typing_to(me, caps, to).await,
            Target::Conv(conv) => match self.resolve(me, conv).await? {
                Resolved::Pair(to) => return self.typing_to(me, caps, to).await,
                Resolved::Group(info) => info,
            },
        };
        if !self.messaging.load(Ordering::Relaxed) {
            return refuse(ErrorCode::MessagingDisabled);
        }
        if !caps.send {
            return refuse(ErrorCode::NoPermission);
        }
        let info = Self::enabled_group(info)?;
        // Conversation ids and user ids are both positive: the negated id keys a group.
        let key = (me, -info.id);
        let now = Instant::now();
        if let Some(t) = self.typing.get(&key) {
            if now.duration_since(*t) < TYPING_INTERVAL {
                return Ok(());
            }
        }
        self.typing.insert(key, now);
        let frame = Outgoing::Frame(Utf8Bytes::from(
            ServerFrame::Typing {
                from: me,
                conv: Some(info.id),
            }
            .to_json(),
        ));
        info.push(&self.registry, &frame, Some(me));
        Ok(())
    }

    /// Forwards a typing notice to `to` (throttled per pair; not stored).
    async fn typing_to(&self, me: i64, caps: &Caps, to: i64) -> Result<()> {
        let now = Instant::now();
        if let Some(t) = self.typing.get(&(me, to)) {
            if now.duration_since(*t) < TYPING_INTERVAL {
                return Ok(());
            }
        }
        match self.authorise(me, caps, to).await {
            Ok(_) => {}
            // Typing is best-effort and never stored: under load, drop it rather than answer
            // `internal`.
            Err(ServiceError::Store(_)) => return Ok(()),
            Err(e) => return Err(e),
        }
        self.typing.insert((me, to), now);
        let frame = Outgoing::Frame(Utf8Bytes::from(
            ServerFrame::Typing {
                from: me,
                conv: None,
            }
            .to_json(),
        ));
        self.registry.send_user(to, &frame);
        Ok(())
    }

    /// Opens, minimises or closes `me`'s window for `with`; every connection of `me` follows. Only a
    /// peer `me` may see gets a window (`visible_peer`); any window may be closed. A user keeps
    /// at most [`WINDOWS_MAX`] windows: opening one more closes the oldest, and the tabs are told.
    pub async fn window(&self, me: i64, caps: &Caps, with: i64, state: WindowState) -> Result<()> {
        if with == me {
            return refuse(ErrorCode::BadRecipient);
        }
        let stored = match state {
            WindowState::Open => Some(WINDOW_OPEN),
            WindowState::Minimised => Some(WINDOW_MINIMISED),
            WindowState::Closed => None,
        };
        self.store.check_up()?;
        let shown = match stored {
            Some(_) => Some(self.visible_peer(me, caps, with, None).await?),
            None => None,
        };
        // Forget before writing: a send racing with this close must not trust a stale entry.
        self.windows_known.remove(&(me, with));
        let write = self.store.set_window(me, with, stored).await?;
        // The rows are gone: the other nodes forget them too (after the write, so a send there
        // that hears of it recreates the window).
        let mut gone: Vec<(i64, i64)> = write.closed.iter().map(|c| (me, *c)).collect();
        if stored.is_none() && write.changed {
            gone.push((me, with));
        }
        forget_windows(&self.windows_known, &self.registry, &gone);
        if stored.is_some() {
            self.windows_known.insert((me, with), Instant::now());
        }
        if write.changed {
            let peer = match shown {
                Some(p) => p,
                None => self.window_peer(me, caps, with).await,
            };
            self.push_window(me, &peer, state);
        }
        for closed in write.closed {
            let peer = self.window_peer(me, caps, closed).await;
            self.push_window(me, &peer, WindowState::Closed);
        }
        Ok(())
    }

    /// A message from `peer` reached `owner` from elsewhere in Moodle: like a dock message, it
    /// opens a minimised window for it (so it is there on the next page too) unless one exists;
    /// `owner`'s tabs are told, and the oldest windows beyond [`WINDOWS_MAX`] close.
    pub async fn incoming_window(&self, owner: i64, peer: &Arc<Person>) {
        if window_known(&self.windows_known, owner, peer.id) {
            return;
        }
        match self
            .store
            .ensure_window(owner, peer.id, WINDOW_MINIMISED)
            .await
        {
            Ok(created) => {
                self.windows_known.insert((owner, peer.id), Instant::now());
                if !created {
                    return;
                }
                self.push_window(owner, peer, WindowState::Minimised);
                match self.store.trim_windows(owner).await {
                    Ok(closed) => {
                        let gone: Vec<(i64, i64)> = closed.iter().map(|id| (owner, *id)).collect();
                        forget_windows(&self.windows_known, &self.registry, &gone);
                        for id in closed {
                            self.push_window(owner, &Person::id_only(id), WindowState::Closed);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "trimming a user's windows failed"),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "opening the window of an incoming message failed")
            }
        }
    }

    /// The Person a `window` frame about `with` carries: as `visible_peer` shows them, else
    /// only the id (closing a window onto someone `me` may not see still works, and tells nothing).
    /// Called after the write, so it cannot fail: a failed lookup also gives only the id.
    async fn window_peer(&self, me: i64, caps: &Caps, with: i64) -> Arc<Person> {
        match self.visible_peer(me, caps, with, None).await {
            Ok(p) => p,
            Err(e) => {
                if let ServiceError::Store(e) = &e {
                    tracing::warn!(error = %e, "looking up a closed window's peer failed");
                }
                Arc::new(Person::id_only(with))
            }
        }
    }

    fn push_window(&self, me: i64, peer: &Person, state: WindowState) {
        let frame = Outgoing::Frame(Utf8Bytes::from(
            ServerFrame::Window { with: peer, state }.to_json(),
        ));
        self.registry.send_user(me, &frame);
    }

    /// The windows listed in `welcome` and the user's cursor: the newest [`WINDOWS_MAX`] windows,
    /// without those onto peers `me` may no longer see (`visible_peer`; their rows stay, the
    /// peer may become reachable again).
    pub async fn welcome_state(&self, me: i64, caps: &Caps) -> Result<(Vec<WindowInfo>, i64)> {
        let mut out = Vec::new();
        let WelcomeRows { windows } = self.welcomes.get(me).await?;
        let peers: Vec<i64> = windows.iter().map(|(peer, _)| *peer).collect();
        let presence = self.presence_of(&peers, caps.viewhidden).await?;
        let cursor = self.store.newest_message().await?;
        // Rows beyond the cap (stored by sends, or before it existed) are not listed.
        let older = windows.len().saturating_sub(WINDOWS_MAX);
        for (peer, state) in windows.into_iter().skip(older) {
            let conv = self.store.conversation(me, peer).await?;
            let (person, can_send) =
                match self.peer_and_can_send(me, caps, peer, conv.is_some()).await {
                    Ok(p) => p,
                    Err(ServiceError::Refused(_)) => continue,
                    Err(e) => return Err(e),
                };
            let (read, unread, last) = match conv {
                Some(_) => {
                    let (mine, theirs) = self.store.read_markers(me, peer).await?;
                    (
                        ReadMarkers { mine, theirs },
                        self.store.unread_count(me, peer).await?,
                        self.store.last_message(me, peer).await?,
                    )
                }
                None => (ReadMarkers::default(), 0, 0),
            };
            out.push(WindowInfo {
                with: (*person).clone(),
                state: if state == WINDOW_MINIMISED {
                    WindowState::Minimised
                } else {
                    WindowState::Open
                },
                unread,
                read,
                last,
                can_send,
                status: presence.get(&peer).map_or(Status::Offline, |p| p.0),
                last_seen: presence.get(&peer).and_then(|p| p.1),
            });
        }
        Ok((out, cursor))
    }

    /// The presence of each of `ids` and, for those offline, when they were last seen as a viewer
    /// with (or without) `caps.viewhidden` may know it (PROTOCOL §5.2): the later of the daemon's
    /// record and Moodle's `lastaccess` (one query for the lot).
    pub async fn presence_of(
        &self,
        ids: &[i64],
        viewhidden: bool,
    ) -> Result<HashMap<i64, (Status, Option<i64>)>> {
        let mut out: HashMap<i64, (Status, Option<i64>)> = ids
            .iter()
            .map(|id| (*id, (self.registry.status(*id), None)))
            .collect();
        if !self.registry.may_see_last_seen(viewhidden) {
            return Ok(out);
        }
        let offline: Vec<i64> = out
            .iter()
            .filter(|(_, p)| p.0 == Status::Offline)
            .map(|(id, _)| *id)
            .collect();
        if offline.is_empty() {
            return Ok(out);
        }
        let moodle = self.store.last_access(&offline).await?;
        for id in offline {
            let seen = self.registry.left_at(id).max(moodle.get(&id).copied());
            if let Some(p) = out.get_mut(&id) {
                p.1 = seen;
            }
        }
        Ok(out)
    }

    /// A page of `me`'s Moodle conversations, as a ready `conversations` frame: starred first, then
    /// by newest activity (conversations without messages last), as Moodle's drawer lists them.
    pub async fn conversations(
        &self,
        me: &Arc<Person>,
        viewhidden: bool,
        offset: u32,
        limit: u32,
    ) -> Result<String> {
        self.store.check_up()?;
        let (mut all, kept) = self.listed(me.id).await?;
        all.sort_by(|a, b| {
            b.favourite
                .cmp(&a.favourite)
                .then_with(|| b.last.is_some().cmp(&a.last.is_some()))
                .then_with(|| {
                    // Newest activity: the last message's time, then its id.
                    let key = |c: &Listed| c.last.map(|(id, t)| (t, id));
                    key(b).cmp(&key(a))
                })
                .then_with(|| b.conv.cmp(&a.conv))
        });
        let total = all.len();
        let page: Vec<_> = all
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect();
        let more = offset as usize + page.len() < total;
        let convs: Vec<i64> = page.iter().map(|c| c.conv).collect();
        let last_ids: Vec<i64> = page.iter().filter_map(|c| c.last.map(|l| l.0)).collect();
        let details = self
            .store
            .conversation_page(me.id, &convs, &last_ids)
            .await?;
        let stale = page.iter().any(|c| {
            c.last.is_some_and(|(id, _)| {
                !details
                    .last
                    .get(&c.conv)
                    .is_some_and(|m| m.id == id && !m.deleted)
            })
        });
        if stale && kept {
            // A last message of the kept list is gone or deleted for the user (in Moodle's drawer,
            // by another node): the list is read again.
            self.lists.forget(me.id);
            return Box::pin(self.conversations(me, viewhidden, offset, limit)).await;
        }
        let others: Vec<i64> = page
            .iter()
            .filter(|c| c.kind != CONVERSATION_GROUP && c.kind != CONVERSATION_SELF)
            .filter_map(|c| {
                let members = details.members.get(&c.conv)?;
                members.iter().copied().find(|m| *m != me.id)
            })
            .collect();
        let (presence, people) = tokio::try_join!(
            self.presence_of(&others, viewhidden),
            self.listed_people(&others)
        )?;
        let mut items = Vec::with_capacity(page.len());
        for c in page {
            let members = details.members.get(&c.conv).cloned().unwrap_or_default();
            let kind = match c.kind {
                CONVERSATION_GROUP => ConversationType::Group,
                CONVERSATION_SELF => ConversationType::SelfConversation,
                _ => ConversationType::Individual,
            };
            let other = members.iter().copied().find(|m| *m != me.id);
            let with: Option<Arc<Person>> = match kind {
                ConversationType::Group => None,
                ConversationType::SelfConversation => Some(me.clone()),
                ConversationType::Individual => match other {
                    Some(o) => Some(match people.get(&o) {
                        Some(p) => p.clone(),
                        None => Arc::new(Person::id_only(o)),
                    }),
                    // The other member's row is gone (deleted by Moodle's privacy API): Moodle's
                    // drawer leaves such a conversation out too.
                    None => continue,
                },
            };
            let last = details.last.get(&c.conv).map(|m| Message {
                id: m.id,
                conv: m.conv,
                from: m.from,
                to: match kind {
                    ConversationType::Individual => {
                        if m.from == me.id {
                            other.unwrap_or(me.id)
                        } else {
                            me.id
                        }
                    }
                    ConversationType::SelfConversation => me.id,
                    ConversationType::Group => 0,
                },
                text: m.text.clone(),
                time: m.time,
                cid: m.cid.clone(),
            });
            let name = match (&kind, &with) {
                (ConversationType::Group, _) => c.name.clone(),
                (_, Some(p)) => p.fullname.clone(),
                (_, None) => String::new(),
            };
            let seen = match kind {
                ConversationType::Individual => other.and_then(|o| presence.get(&o)).copied(),
                _ => None,
            };
            let online = seen.is_some_and(|s| s.0 != Status::Offline);
            let image = match kind {
                ConversationType::Group => Some(self.conversation_info(c.conv).await?.icon.clone()),
                _ => None,
            };
            items.push(ConversationInfo {
                image,
                conv: c.conv,
                kind,
                with: with.map(|p| (*p).clone()),
                name,
                members: members.len() as i64,
                last,
                unread: details.unread.get(&c.conv).copied().unwrap_or(0),
                favourite: c.favourite,
                muted: c.muted,
                online,
                status: seen.map(|s| s.0),
                last_seen: seen.and_then(|s| s.1),
            });
        }
        Ok(ServerFrame::Conversations {
            items: &items,
            offset,
            total,
            more,
        }
        .to_json())
    }

    /// `user`'s conversations, unordered, and whether they came from the kept list
    /// ([`ListCache`]); a list read from the database is kept.
    async fn listed(&self, user: i64) -> Result<(Vec<Listed>, bool)> {
        let fingerprint = self.store.list_fingerprint(user).await?;
        if let Some(items) = self.lists.get(user, &fingerprint) {
            return Ok((items, true));
        }
        let read_at = Instant::now();
        let items = self.store.conversation_list(user).await?;
        if self.registry.is_here(user) {
            self.lists.put(user, read_at, fingerprint, items.clone());
        }
        Ok((items, false))
    }

    /// People `me` may message whose names hold every word of `query`, as a ready `people` frame
    /// (see PROTOCOL §5). The database only narrows the candidates; each is then judged by the same
    /// rules as a send ([`Self::authorise`]), so no one else's name can come back.
    pub async fn people(&self, me: i64, caps: &Caps, query: &str) -> Result<String> {
        {
            let now = Instant::now();
            let mut slot = self.searches.entry(me).or_insert((now, 0));
            if now.duration_since(slot.0) >= SEARCH_WINDOW {
                *slot = (now, 0);
            }
            slot.1 += 1;
            if slot.1 > SEARCHES_PER_WINDOW {
                return refuse(ErrorCode::RateLimited);
            }
        }
        let query = query.trim();
        let words: Vec<String> = query
            .split_whitespace()
            .take(crate::protocol::PEOPLE_WORDS_MAX)
            .map(str::to_lowercase)
            .collect();
        let mut found: Vec<Arc<Person>> = Vec::new();
        if self.messaging.load(Ordering::Relaxed) && caps.send {
            self.store.check_up()?;
            let everyone = caps.readall || caps.anyuser;
            let site_wide = self.messagingallusers.load(Ordering::Relaxed);
            let candidates = if everyone || site_wide {
                self.store
                    .search_people(me, &words, everyone, site_wide, SEARCH_CANDIDATES)
                    .await?
            } else {
                // Only course-mates and contacts: names matched over the searcher's kept pool,
                // then the matches' accounts read fresh (an account suspended since is dropped).
                let folded: Vec<String> = words.iter().map(|w| search::fold(w)).collect();
                let ids = self.pool_matches(me, &folded, SEARCH_CANDIDATES).await?;
                let mut accounts = self.store.active_users(&ids).await?;
                ids.iter().filter_map(|id| accounts.remove(id)).collect()
            };
            // The same judgement as a send's ([`Self::authorise`]): the candidates are active
            // accounts other than `me` already; their messaging facts are read in one batch.
            let ids: Vec<i64> = candidates.iter().map(|u| u.id).collect();
            let facts = if everyone {
                HashMap::new()
            } else {
                self.facts_many(me, &ids).await?
            };
            for u in candidates {
                if u.id == me {
                    continue;
                }
                if !everyone {
                    match facts.get(&u.id) {
                        Some(f) if decide(caps, f).is_ok() => {}
                        _ => continue,
                    }
                }
                let p = match self.registry.person(u.id) {
                    Some(p) => p,
                    None => Arc::new(self.avatars.person(&u)),
                };
                found.push(p);
                if found.len() == crate::protocol::PEOPLE_MAX {
                    break;
                }
            }
        }
        let ids: Vec<i64> = found.iter().map(|p| p.id).collect();
        let presence = self.presence_of(&ids, caps.viewhidden).await?;
        let items = found
            .iter()
            .map(|p| {
                let (status, last_seen) = presence
                    .get(&p.id)
                    .copied()
                    .unwrap_or((Status::Offline, None));
                crate::protocol::FoundPerson {
                    person: p,
                    online: status != Status::Offline,
                    status,
                    last_seen,
                }
            })
            .collect();
        Ok(ServerFrame::People { query, items }.to_json())
    }

    /// Members of the user's conversations, as the list shows them: Moodle shows the other member
    /// of a conversation whatever their account's state, so does the list (the caller names by id
    /// only someone whose account row is gone). Those online come from the registry, the others
    /// from one read of their accounts.
    async fn listed_people(&self, ids: &[i64]) -> Result<HashMap<i64, Arc<Person>>> {
        let mut out = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for &id in ids {
            match self.registry.person(id) {
                Some(p) => {
                    out.insert(id, p);
                }
                None => missing.push(id),
            }
        }
        if !missing.is_empty() {
            for (id, u) in self.store.accounts(&missing).await? {
                out.insert(id, Arc::new(self.avatars.person(&u)));
            }
        }
        Ok(out)
    }

    /// Records the ingest's safe watermark (see `resolved_upto`).
    pub fn set_resolved_upto(&self, id: i64) {
        self.resolved_upto.store(id, Ordering::Relaxed);
    }

    /// Read rows this daemon wrote and announces itself: the ingest (this node's, and in a
    /// cluster every node's) sees them too and must not announce them again.
    fn note_own_reads(&self, ids: &[i64]) {
        self.add_own_reads(ids);
        if let Some(peers) = self.registry.peers() {
            peers.own_reads(ids);
        }
    }

    /// Read rows another node of the cluster wrote and announced.
    pub fn add_own_reads(&self, ids: &[i64]) {
        let now = Instant::now();
        for id in ids {
            self.own_reads.insert(*id, now);
        }
    }

    /// Whether this node's writer stored (and delivered) message `id` itself; forgets it. The
    /// poll then reads nothing more of that row.
    pub fn take_own_message(&self, id: i64) -> bool {
        match &self.ledger {
            Some(ledger) => ledger.take_own(id),
            None => self.own_messages.remove(&id).is_some(),
        }
    }

    /// Whether the daemon wrote (and announced) read row `id` itself; forgets it.
    pub fn take_own_read(&self, id: i64) -> bool {
        self.own_reads.remove(&id).is_some()
    }

    /// Another node of the cluster closed these windows (owner, peer): forget they exist here.
    pub fn forget_windows(&self, closed: &[(i64, i64)]) {
        for key in closed {
            self.windows_known.remove(key);
        }
    }

    /// Forgets every window this node knew to exist: it may have missed another node's closes
    /// (its subscription was down, or a node's announcement of them was lost).
    pub fn forget_all_windows(&self) {
        self.windows_known.clear();
    }

    /// Forgets own read rows and messages older than [`OWN_ROW_TTL`] that no poll asked about, and the
    /// conversation lists that can no longer be used.
    pub fn expire_caches(&self) {
        self.own_reads.retain(|_, at| at.elapsed() < OWN_ROW_TTL);
        // One the poll found before the writer recorded it is never taken.
        self.own_messages.retain(|_, at| at.elapsed() < OWN_ROW_TTL);
        self.lists.sweep(|user| self.registry.is_here(user));
    }

    /// A message was committed (the ingest's poll found it): the conversation lists kept here
    /// count it from now on.
    pub fn note_message(&self, conv: i64, id: i64, time: i64) {
        self.lists.note_message(conv, id, time);
    }

    /// Where a resume from `since` starts: at `since`, or earlier where ids above the safe
    /// watermark may still fill in (the client drops what it already has by id).
    pub fn resume_from(&self, since: i64) -> i64 {
        let from = since.min(self.resolved_upto.load(Ordering::Relaxed));
        // In a cluster, ids from several nodes arrive out of id order: start below the recent ones.
        match self.ledger.as_ref().and_then(|l| l.floor()) {
            Some(floor) => from.min(floor - 1),
            None => from,
        }
    }

    /// The cluster's delivery ledger, when this node is part of one.
    pub fn ledger(&self) -> Option<&Arc<Ledger>> {
        self.ledger.as_ref()
    }

    /// Messages of `me`'s conversations after `since`, ascending, at most `limit`.
    pub async fn missed(&self, me: i64, since: i64, limit: usize) -> Result<Vec<Message>> {
        Ok(self
            .store
            .messages_since(me, since, limit)
            .await?
            .into_iter()
            .map(to_message)
            .collect())
    }
}

fn to_message(m: MsgRow) -> Message {
    Message {
        id: m.id,
        conv: m.conv,
        from: m.from,
        to: m.to,
        text: m.text,
        time: m.time,
        cid: m.cid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(send: bool) -> Caps {
        Caps {
            send,
            ..Caps::default()
        }
    }

    fn facts(blocked: bool, pref: i64, contact: bool, shared: &[i64]) -> PairFacts {
        PairFacts {
            blocked,
            pref,
            contact,
            shared: shared.to_vec(),
            at: Instant::now(),
        }
    }

    #[test]
    fn needs_sendmessage() {
        assert_eq!(
            decide(&caps(false), &facts(false, 2, true, &[5])),
            Err(ErrorCode::NoPermission)
        );
    }

    #[test]
    fn course_members_by_default() {
        assert_eq!(decide(&caps(true), &facts(false, 0, false, &[5])), Ok(()));
        assert_eq!(
            decide(&caps(true), &facts(false, 0, false, &[])),
            Err(ErrorCode::NotContactable)
        );
    }

    #[test]
    fn contacts_only_and_site() {
        // A course-mate who takes contacts only is told so, not "no shared course".
        assert_eq!(
            decide(&caps(true), &facts(false, 1, false, &[5])),
            Err(ErrorCode::ContactsOnly)
        );
        assert_eq!(decide(&caps(true), &facts(false, 1, true, &[])), Ok(()));
        assert_eq!(decide(&caps(true), &facts(false, 2, false, &[])), Ok(()));
    }

    #[test]
    fn blocks_and_overrides() {
        assert_eq!(
            decide(&caps(true), &facts(true, 2, true, &[5])),
            Err(ErrorCode::Blocked)
        );
        let mut teacher = caps(true);
        teacher.anyusercourses = vec![5];
        assert_eq!(decide(&teacher, &facts(true, 1, false, &[5])), Ok(()));
        assert_eq!(
            decide(&teacher, &facts(true, 1, false, &[6])),
            Err(ErrorCode::Blocked)
        );
        let mut anyuser = caps(true);
        anyuser.anyuser = true;
        assert_eq!(decide(&anyuser, &facts(true, 1, false, &[])), Ok(()));
        let mut readall = caps(true);
        readall.readall = true;
        assert_eq!(decide(&readall, &facts(true, 1, false, &[])), Ok(()));
    }

    #[test]
    fn preference_normalisation() {
        assert_eq!(effective_pref(None, false), 0);
        assert_eq!(effective_pref(None, true), 2);
        assert_eq!(effective_pref(Some("2"), false), 0);
        assert_eq!(effective_pref(Some("2"), true), 2);
        assert_eq!(effective_pref(Some("1"), false), 1);
        assert_eq!(effective_pref(Some("junk"), false), 0);
    }
}

//! The conversation service's message writer: sends queued by [`super::Conversations`] are stored
//! in group commits ([`crate::store::messaging`]), and only after its commit each send is acked and
//! its `message` frame fanned out, in id order.
//!
//! Owns: batching (up to [`GROUP_MAX`] sends per transaction), the pipeline of batches in flight
//! (up to [`PIPELINE_DEPTH`]: one batch is prepared — rows written, ids allocated — while the ones
//! before it commit, so throughput follows the database's capacity rather than one commit's
//! round trip), answering in id order, and what the writer does when the database fails (refuse,
//! wait for it, settle an unanswered COMMIT).
//! Ids stay in order because batches are prepared one after another (each batch's inserts run
//! after the previous batch's have returned, and ids come from one sequence), and answers go out
//! in the order batches were prepared, whatever order their commits finish in: a client never
//! holds an id while a lower one of the dock's own is still uncommitted, so a resume from its
//! cursor misses nothing (PROTOCOL §5.1).
//! Must not: check permissions (the service did, before queueing) or write SQL.

use super::{
    to_message, window_known, ConvInfo, WindowCache, GROUP_MAX, QUEUE_DEADLINE, SETTLE_REFUSALS_MAX,
};
use crate::ops::metrics;
use crate::outbox::{OutboxTx, Outgoing};
use crate::protocol::{error_json, ErrorCode, Person, ServerFrame, WindowState};
use crate::services::ledger::Ledger;
use crate::services::presence::Registry;
use crate::store::health::{PROBE_EVERY, PROBE_TIMEOUT};
use crate::store::messaging::{NewMessage, PendingCommit, PreparedBatch, Stored, SLOW_COMMIT};
use crate::store::{Store, StoreError};
use futures_util::stream::{FuturesOrdered, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Most batches in flight at once (prepared and committing, the one being prepared included).
/// Each holds a pooled connection while in flight. SQLite has one writer at a time: there the
/// writer keeps one batch in flight.
pub const PIPELINE_DEPTH: usize = 4;

/// Who a queued send goes to.
pub(super) enum Recipient {
    User(Arc<Person>),
    Group(Arc<ConvInfo>),
}

pub(super) struct WriteReq {
    pub(super) msg: NewMessage,
    pub(super) sender: Arc<Person>,
    pub(super) recipient: Recipient,
    pub(super) ack_to: OutboxTx,
    /// When it was queued: a send older than [`QUEUE_DEADLINE`] when the writer reaches it is
    /// answered `internal` unwritten.
    pub(super) queued: Instant,
    /// The text's bytes of [`WRITER_QUEUE_BYTES`], given back when the send is dropped, however
    /// it ends (answered, refused, or never queued).
    pub(super) _bytes: tokio::sync::OwnedSemaphorePermit,
}

pub(super) enum WriterCmd {
    Send(Box<WriteReq>),
    Stop,
}

/// What the writer knows of the database. (Sends stay in the boxes they were queued in.)
#[allow(clippy::vec_box)]
enum WriterState {
    /// Batches are written.
    Up,
    /// The last batch failed for want of a database: sends are answered `internal` at once until
    /// the store's probe finds it again ([`crate::store::health`]).
    Down,
    /// A batch's COMMIT was not answered. Until the database says whether it was stored, nothing
    /// newer is written and sends are answered `internal`; then the batch is delivered exactly as
    /// if the COMMIT had been answered, or its senders are told nothing was stored. The batches
    /// that were in flight behind it wait with their commits' outcomes, and are answered after it.
    Unsettled(Unsettled),
}

/// A batch behind an unanswered COMMIT, and what came after it.
#[allow(clippy::vec_box)]
struct Unsettled {
    batch: Vec<Box<WriteReq>>,
    pending: Box<PendingCommit>,
    /// Lookups of the outcome the database answered with an error.
    refusals: u32,
    /// The batches that were in flight behind it, with their commits' outcomes, in order.
    followers: VecDeque<Landed>,
}

/// A batch whose commit has returned, with its outcome.
#[allow(clippy::vec_box)]
struct Landed {
    batch: Vec<Box<WriteReq>>,
    outcome: Result<Vec<Stored>, StoreError>,
    /// It created conversations (see [`PreparedBatch::created_conversations`]).
    barrier: bool,
}

/// A batch's commit on its way; resolves to the batch with its outcome.
type Flight = Pin<Box<dyn Future<Output = Landed> + Send>>;
/// A batch being prepared; resolves to its open transaction (the batch waits beside it).
type Preparing = Pin<Box<dyn Future<Output = Result<PreparedBatch, StoreError>> + Send>>;

/// The single message writer: group commits, several in flight, then acks and fan-out in id
/// order. It never blocks the queue on an unreachable database: past the first failed batch (at
/// most [`crate::store::messaging::WRITE_TIMEOUT`]) every send is answered within a probe's time.
pub(super) async fn writer_loop(store: Store, writer: Writer, mut rx: mpsc::Receiver<WriterCmd>) {
    let depth = match store.dialect() {
        crate::store::Dialect::Sqlite => 1,
        _ => PIPELINE_DEPTH,
    };
    let mut state = WriterState::Up;
    let mut stopping = false;
    loop {
        state = match state {
            WriterState::Up => {
                if stopping {
                    break;
                }
                writer.pipeline(&store, &mut rx, &mut stopping, depth).await
            }
            WriterState::Down => {
                match refuse_while(&mut rx, &mut stopping, store.wait_up(PROBE_EVERY)).await {
                    true => {
                        tracing::info!("writing resumes");
                        WriterState::Up
                    }
                    false if stopping => break,
                    false => WriterState::Down,
                }
            }
            WriterState::Unsettled(mut u) => {
                let settle = async {
                    match tokio::time::timeout(PROBE_TIMEOUT, store.commit_outcome(&u.pending))
                        .await
                    {
                        Ok(r) => r,
                        Err(_) => Err(StoreError::Timeout("settling an unanswered commit")),
                    }
                };
                let settled = refuse_while(&mut rx, &mut stopping, settle).await;
                if matches!(&settled, Err(e) if e.is_refusal()) {
                    u.refusals += 1;
                }
                let settled = match settled {
                    Ok(stored) => {
                        store.mark_up();
                        Some(stored)
                    }
                    Err(e) if u.refusals >= SETTLE_REFUSALS_MAX => {
                        // Not an outage: the database answers, and keeps failing the lookup.
                        // Waiting would refuse every send of the site; the senders are told
                        // `internal`, and a retry finds the message if it was stored after all.
                        tracing::error!(error = %e, count = u.batch.len(), "an unanswered commit could not be settled; its senders are told internal");
                        Some(false)
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "an unanswered commit is not settled yet");
                        None
                    }
                };
                match settled {
                    Some(true) => {
                        tracing::warn!(
                            count = u.batch.len(),
                            "an unanswered commit was stored; delivering it now"
                        );
                        let stored = u.pending.stored.into_iter().map(Ok).collect();
                        writer.answer(&u.batch, stored);
                        writer.land_all(&store, u.followers)
                    }
                    Some(false) => {
                        tracing::warn!(
                            count = u.batch.len(),
                            "an unanswered commit was not stored"
                        );
                        refuse_all(&u.batch);
                        writer.land_all(&store, u.followers)
                    }
                    // Still unknown at shutdown: the senders get no answer and retry with the same
                    // cids after reconnecting; the next start finds whatever was stored.
                    None if stopping => break,
                    None => {
                        refuse_while(&mut rx, &mut stopping, tokio::time::sleep(PROBE_EVERY)).await;
                        WriterState::Unsettled(u)
                    }
                }
            }
        };
    }
    tracing::debug!("message writer stopped");
}

/// Records a group commit's size and latency (prepare to the COMMIT's answer) for `/metrics`.
fn observe_commit(sends: usize, since: Instant) {
    let took = since.elapsed();
    metrics::COMMIT_SENDS.observe(sends as f64);
    metrics::COMMIT_SECONDS.observe(took.as_secs_f64());
    if took >= SLOW_COMMIT {
        metrics::SLOW_COMMITS.inc();
    }
}

/// The `(sender, cid)` keys of a batch.
fn keys(batch: &[Box<WriteReq>]) -> impl Iterator<Item = (i64, &str)> {
    batch.iter().map(|r| (r.msg.from, r.msg.cid.as_str()))
}

/// Waits for the next send, then takes what else is queued, up to [`GROUP_MAX`]. `None` when the
/// writer should stop and nothing is left.
async fn next_batch(
    rx: &mut mpsc::Receiver<WriterCmd>,
    stopping: &mut bool,
) -> Option<Vec<Box<WriteReq>>> {
    let mut batch: Vec<Box<WriteReq>> = Vec::new();
    match rx.recv().await {
        Some(WriterCmd::Send(r)) => batch.push(r),
        Some(WriterCmd::Stop) | None => return None,
    }
    while batch.len() < GROUP_MAX {
        match rx.try_recv() {
            Ok(WriterCmd::Send(r)) => batch.push(r),
            Ok(WriterCmd::Stop) => {
                *stopping = true;
                break;
            }
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Runs `work` while answering every send that arrives meanwhile with `internal` (nothing of it is
/// stored), so senders are never left waiting on a database that does not answer.
async fn refuse_while<F: std::future::Future>(
    rx: &mut mpsc::Receiver<WriterCmd>,
    stopping: &mut bool,
    work: F,
) -> F::Output {
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            cmd = rx.recv(), if !*stopping => match cmd {
                Some(WriterCmd::Send(r)) => refuse_all(std::slice::from_ref(&r)),
                Some(WriterCmd::Stop) | None => *stopping = true,
            },
        }
    }
}

/// Tells each sender that nothing of its send was stored.
fn refuse_all(batch: &[Box<WriteReq>]) {
    for req in batch {
        let f = error_json(ErrorCode::Internal, &req.msg.cid);
        req.ack_to.push(Outgoing::Frame(Utf8Bytes::from(f)));
    }
}

/// The writer's view of the rest of the daemon: who to push frames to, and which windows exist.
pub(super) struct Writer {
    pub(super) store: Store,
    pub(super) registry: Arc<Registry>,
    pub(super) windows_known: Arc<WindowCache>,
    pub(super) ledger: Option<Arc<Ledger>>,
}

/// Awaits `f` if there is one; never resolves otherwise (a `select!` branch guard keeps it off).
async fn poll_opt<F: Future + Unpin>(f: &mut Option<F>) -> F::Output {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

impl Writer {
    /// Writes batches, up to `depth` in flight, until the database fails or the writer stops;
    /// returns the state the database was found in. A batch is prepared only after the one
    /// before it (so its ids are higher), and answered only after every batch before it.
    async fn pipeline(
        &self,
        store: &Store,
        rx: &mut mpsc::Receiver<WriterCmd>,
        stopping: &mut bool,
        depth: usize,
    ) -> WriterState {
        let mut flights: FuturesOrdered<Flight> = FuturesOrdered::new();
        // The `(sender, cid)` of every send in flight: a retried cid waits for its first send's
        // commit, since a later transaction cannot see the first row before then.
        let mut in_flight: HashMap<(i64, String), u32> = HashMap::new();
        // Batches in flight that created conversations: until they commit, a later batch would
        // not find those conversations and create them again.
        let mut barriers = 0usize;
        let mut preparing: Option<Preparing> = None;
        let mut preparing_batch: Vec<Box<WriteReq>> = Vec::new();
        let mut preparing_since = Instant::now();
        let mut held: Option<Vec<Box<WriteReq>>> = None;
        loop {
            if preparing.is_none() && barriers == 0 {
                if let Some(batch) = held.take() {
                    if keys(&batch).any(|(f, c)| in_flight.contains_key(&(f, c.to_string()))) {
                        held = Some(batch);
                    } else {
                        preparing = Some(self.prepare(store, &batch));
                        preparing_since = Instant::now();
                        metrics::COMMITS_IN_FLIGHT.observe((flights.len() + 1) as f64);
                        preparing_batch = batch;
                    }
                }
            }
            let busy = flights.len() + usize::from(preparing.is_some());
            if *stopping && busy == 0 && held.is_none() {
                return WriterState::Up;
            }
            let can_take = !*stopping && held.is_none() && busy < depth && barriers == 0;
            tokio::select! {
                landed = flights.next(), if !flights.is_empty() => {
                    let Some(landed) = landed else { continue };
                    for (from, cid) in keys(&landed.batch) {
                        let key = (from, cid.to_string());
                        if let Some(n) = in_flight.get_mut(&key) {
                            *n -= 1;
                            if *n == 0 {
                                in_flight.remove(&key);
                            }
                        }
                    }
                    barriers -= usize::from(landed.barrier);
                    if let WriterState::Unsettled(mut u) = self.land_all(store, VecDeque::from([landed])) {
                        // Nothing newer is written until it is settled: what was not in flight
                        // yet stored nothing and is refused; what was is answered after it.
                        if preparing.take().is_some() {
                            refuse_all(&preparing_batch);
                        }
                        if let Some(batch) = held.take() {
                            refuse_all(&batch);
                        }
                        while let Some(l) = flights.next().await {
                            u.followers.push_back(l);
                        }
                        return WriterState::Unsettled(u);
                    }
                }
                prepared = poll_opt(&mut preparing), if preparing.is_some() => {
                    preparing = None;
                    let batch = std::mem::take(&mut preparing_batch);
                    match prepared {
                        Ok(p) => {
                            let barrier = p.created_conversations;
                            barriers += usize::from(barrier);
                            for (from, cid) in keys(&batch) {
                                *in_flight.entry((from, cid.to_string())).or_default() += 1;
                            }
                            let since = preparing_since;
                            flights.push_back(Box::pin(async move {
                                let outcome = p.commit().await;
                                observe_commit(batch.len(), since);
                                Landed { batch, outcome, barrier }
                            }));
                        }
                        Err(e) => {
                            // Nothing of it was stored. What is in flight is answered first.
                            let mut rest = VecDeque::new();
                            while let Some(l) = flights.next().await {
                                rest.push_back(l);
                            }
                            if let Some(held) = held.take() {
                                refuse_all(&held);
                            }
                            return match self.land_all(store, rest) {
                                // The database refused a statement: one bad row must not fail
                                // its neighbours (and a conflict with a batch that was in flight
                                // is gone now): the batch is written again alone.
                                WriterState::Up if e.is_refusal() => {
                                    tracing::warn!(error = %e, count = batch.len(), "preparing a group commit failed; writing it again alone");
                                    self.write(store, batch).await
                                }
                                WriterState::Up => {
                                    tracing::error!(error = %e, count = batch.len(), "storing messages failed; nothing of the batch was stored");
                                    refuse_all(&batch);
                                    store.report(&e);
                                    WriterState::Down
                                }
                                other => {
                                    refuse_all(&batch);
                                    other
                                }
                            };
                        }
                    }
                }
                batch = next_batch(rx, stopping), if can_take => match batch {
                    Some(batch) => held = self.fresh_only(batch),
                    None => *stopping = true,
                },
                else => return WriterState::Up,
            }
        }
    }

    /// Starts preparing `batch` (rows written, ids allocated, not committed).
    #[allow(clippy::vec_box)]
    fn prepare(&self, store: &Store, batch: &[Box<WriteReq>]) -> Preparing {
        let msgs = self.messages(batch);
        let store = store.clone();
        Box::pin(async move { store.prepare_batch(&msgs).await })
    }

    /// The batch's messages as the store takes them, with the windows this node knows exist.
    #[allow(clippy::vec_box)]
    fn messages(&self, batch: &[Box<WriteReq>]) -> Vec<NewMessage> {
        batch
            .iter()
            .map(|r| {
                let mut m = r.msg.clone();
                m.windows_known = [
                    window_known(&self.windows_known, m.from, m.to),
                    window_known(&self.windows_known, m.to, m.from),
                ];
                m
            })
            .collect()
    }

    /// Sends that waited too long behind slow batches are answered `internal` (their senders
    /// have been kept waiting enough, and nothing of them is stored yet); the rest, if any.
    #[allow(clippy::vec_box)]
    fn fresh_only(&self, batch: Vec<Box<WriteReq>>) -> Option<Vec<Box<WriteReq>>> {
        let (batch, stale): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|r| r.queued.elapsed() < QUEUE_DEADLINE);
        if !stale.is_empty() {
            tracing::warn!(
                count = stale.len(),
                "sends waited past the queue deadline; answered internal"
            );
            refuse_all(&stale);
        }
        (!batch.is_empty()).then_some(batch)
    }

    /// Answers landed batches in order, up to the first whose COMMIT went unanswered: that one,
    /// with the rest behind it, is to be settled first.
    fn land_all(&self, store: &Store, mut landed: VecDeque<Landed>) -> WriterState {
        while let Some(l) = landed.pop_front() {
            match l.outcome {
                Ok(stored) => self.answer(&l.batch, stored.into_iter().map(Ok).collect()),
                Err(StoreError::CommitUnknown(pending)) => {
                    tracing::error!(
                        count = l.batch.len(),
                        "a commit was not answered; asking the database what it stored"
                    );
                    store.suspect();
                    return WriterState::Unsettled(Unsettled {
                        batch: l.batch,
                        pending,
                        refusals: 0,
                        followers: landed,
                    });
                }
                // The server answered the COMMIT with an error: it rolled back.
                Err(e) => {
                    tracing::error!(error = %e, count = l.batch.len(), "a group commit was refused; nothing of the batch was stored");
                    refuse_all(&l.batch);
                }
            }
        }
        WriterState::Up
    }

    /// Stores one batch on its own (prepare and commit, nothing else in flight) and answers it;
    /// returns the state the database was found in.
    #[allow(clippy::vec_box)]
    async fn write(&self, store: &Store, batch: Vec<Box<WriteReq>>) -> WriterState {
        let Some(batch) = self.fresh_only(batch) else {
            return WriterState::Up;
        };
        let msgs = self.messages(&batch);
        match store.store_batch(&msgs).await {
            Ok(stored) => {
                self.answer(&batch, stored.into_iter().map(Ok).collect());
                WriterState::Up
            }
            Err(StoreError::CommitUnknown(pending)) => {
                tracing::error!(
                    count = batch.len(),
                    "a commit was not answered; asking the database what it stored"
                );
                store.suspect();
                WriterState::Unsettled(Unsettled {
                    batch,
                    pending,
                    refusals: 0,
                    followers: VecDeque::new(),
                })
            }
            // The database refused one of the statements: one bad row must not fail its
            // neighbours, so store them one by one.
            Err(e) if e.is_refusal() && batch.len() > 1 => {
                tracing::warn!(error = %e, count = batch.len(), "group commit failed; retrying each send alone");
                let mut each = Vec::with_capacity(batch.len());
                for (i, m) in msgs.iter().enumerate() {
                    match store.store_batch(std::slice::from_ref(m)).await {
                        Ok(mut v) => each.push(
                            v.pop()
                                .ok_or(StoreError::Schema("a stored send had no answer".into())),
                        ),
                        Err(StoreError::CommitUnknown(pending)) => {
                            store.suspect();
                            // Settle this one before anything after it is written.
                            let mut rest = batch;
                            let tail = rest.split_off(i + 1);
                            let this = rest.pop();
                            self.answer(&rest, each);
                            refuse_all(&tail);
                            return match this {
                                Some(req) => WriterState::Unsettled(Unsettled {
                                    batch: vec![req],
                                    pending,
                                    refusals: 0,
                                    followers: VecDeque::new(),
                                }),
                                None => WriterState::Up,
                            };
                        }
                        Err(e) if e.is_refusal() => each.push(Err(e)),
                        Err(e) => {
                            // The database went away in the middle: answer the rest at once.
                            tracing::error!(error = %e, "storing messages failed; the database is unreachable");
                            store.report(&e);
                            let tail = batch.get(i..).unwrap_or_default();
                            refuse_all(tail);
                            let head = batch.get(..i).unwrap_or_default();
                            self.answer(head, each);
                            return WriterState::Down;
                        }
                    }
                }
                self.answer(&batch, each);
                WriterState::Up
            }
            Err(e) => {
                tracing::error!(error = %e, count = batch.len(), "storing messages failed; nothing of the batch was stored");
                refuse_all(&batch);
                store.report(&e);
                if e.is_refusal() {
                    WriterState::Up
                } else {
                    WriterState::Down
                }
            }
        }
    }

    /// Acks each send of a stored batch (or says it failed), then fans the new messages out in
    /// batch order (= id order).
    fn answer(
        &self,
        batch: &[Box<WriteReq>],
        stored: Vec<std::result::Result<Stored, StoreError>>,
    ) {
        let registry = &self.registry;
        crate::ops::metrics::MESSAGES.add(
            stored
                .iter()
                .flatten()
                .filter(|s| !s.dup && !s.disabled)
                .count() as u64,
        );
        let mut window_owners: Vec<i64> = Vec::new();
        for (req, s) in batch.iter().zip(stored) {
            let s = match s {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "storing a message failed; nothing was stored");
                    refuse_all(std::slice::from_ref(req));
                    continue;
                }
            };
            let m = &s.message;
            if s.disabled {
                let f = error_json(ErrorCode::ConversationDisabled, &m.cid);
                req.ack_to.push(Outgoing::Frame(Utf8Bytes::from(f)));
                continue;
            }
            if !s.dup && matches!(req.recipient, Recipient::User(_)) {
                let now = Instant::now();
                self.windows_known.insert((m.from, m.to), now);
                self.windows_known.insert((m.to, m.from), now);
            }
            let ack = ServerFrame::Ack {
                cid: &m.cid,
                id: m.id,
                conv: m.conv,
                time: m.time,
                to: m.to,
                dup: s.dup,
            }
            .to_json();
            req.ack_to.push(Outgoing::Frame(Utf8Bytes::from(ack)));
            if s.dup {
                continue;
            }
            if let Some(ledger) = &self.ledger {
                ledger.stored_here(m.id);
            }
            let recipient = match &req.recipient {
                Recipient::User(p) => p,
                Recipient::Group(info) => {
                    // Serialised once, pushed to every member's sockets (the sender's too).
                    let message = to_message(s.message.clone());
                    let frame = Utf8Bytes::from(
                        ServerFrame::Message {
                            message: &message,
                            sender: &req.sender,
                        }
                        .to_json(),
                    );
                    info.push(registry, &Outgoing::Message { id: m.id, frame }, None);
                    continue;
                }
            };
            if s.opened_sender_window {
                window_owners.push(m.from);
                let f = ServerFrame::Window {
                    with: recipient,
                    state: WindowState::Open,
                }
                .to_json();
                registry.send_user(m.from, &Outgoing::Frame(Utf8Bytes::from(f)));
            }
            if s.opened_recipient_window {
                window_owners.push(m.to);
                let f = ServerFrame::Window {
                    with: &req.sender,
                    state: WindowState::Minimised,
                }
                .to_json();
                registry.send_user(m.to, &Outgoing::Frame(Utf8Bytes::from(f)));
            }
            let message = to_message(s.message.clone());
            let frame = Utf8Bytes::from(
                ServerFrame::Message {
                    message: &message,
                    sender: &req.sender,
                }
                .to_json(),
            );
            let item = Outgoing::Message { id: m.id, frame };
            registry.send_user(m.from, &item);
            registry.send_user(m.to, &item);
        }
        self.trim_windows_later(window_owners);
    }

    /// Windows a send opened count against [`WINDOWS_MAX`] like any other: the owners' oldest
    /// beyond it are closed, and their tabs told, in a task of its own (off the writer's path; a
    /// pair's first message is the only send that opens windows).
    fn trim_windows_later(&self, mut owners: Vec<i64>) {
        if owners.is_empty() {
            return;
        }
        owners.sort_unstable();
        owners.dedup();
        let store = self.store.clone();
        let registry = self.registry.clone();
        let known = self.windows_known.clone();
        tokio::spawn(async move {
            for owner in owners {
                let closed = match store.trim_windows(owner).await {
                    Ok(closed) => closed,
                    Err(e) => {
                        // The next window opened trims again.
                        tracing::warn!(error = %e, "trimming a user's windows failed");
                        continue;
                    }
                };
                for peer in closed {
                    known.remove(&(owner, peer));
                    // A closing window needs only the id; the name only if it is at hand.
                    let person = registry
                        .person(peer)
                        .unwrap_or_else(|| Arc::new(Person::id_only(peer)));
                    let f = ServerFrame::Window {
                        with: &person,
                        state: WindowState::Closed,
                    }
                    .to_json();
                    registry.send_user(owner, &Outgoing::Frame(Utf8Bytes::from(f)));
                }
            }
        });
    }
}

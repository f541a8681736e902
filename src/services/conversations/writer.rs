//! The conversation service's message writer: sends queued by [`super::Conversations`] are stored
//! in group commits ([`crate::store::messaging`]), and only after its commit each send is acked and
//! its `message` frame fanned out, in id order.
//!
//! Owns: batching (up to [`GROUP_MAX`] sends per transaction); batches in flight at once (up to
//! `db_write_pipeline`, default 4, each on a pooled connection of its own, so throughput follows the
//! database's capacity rather than one transaction's round trips); the order of answers; and what
//! the writer does when the database fails (refuse, wait for it, settle an unanswered COMMIT).
//! Order: batches run concurrently except for their id allocation — each batch's `messages`
//! INSERT waits for the one started before it ([`IdTurn`]) — and their answers go out in the order
//! they were started, whatever order their commits finish in ([`Reorder`]). So ids follow the
//! order of sends, one sender's acks and messages come in the order they were sent, and a client
//! never holds an id while a lower one of the dock's is still uncommitted (a resume from its
//! cursor misses nothing, PROTOCOL §5.1). A batch with a pair not known to have a conversation runs
//! alone (two would each create it; between nodes the store's conversation lock keeps them apart);
//! a retried cid waits for its first send's commit.
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
use crate::store::messaging::{IdTurn, NewMessage, PendingCommit, Stored, SLOW_COMMIT};
use crate::store::{Store, StoreError};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;

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

/// A batch behind an unanswered COMMIT, and the others that went unanswered with it.
#[allow(clippy::vec_box)]
struct Unsettled {
    /// Its place in the [`Reorder`] (its ids stay unresolved there until it is settled).
    seq: u64,
    batch: Vec<Box<WriteReq>>,
    pending: Box<PendingCommit>,
    /// Lookups of the outcome the database answered with an error.
    refusals: u32,
    /// More batches whose COMMIT went unanswered at the same time, to settle after it.
    rest: VecDeque<(u64, Vec<Box<WriteReq>>, Box<PendingCommit>)>,
}

/// A send's answer, waiting for its turn.
type Answer = (Box<WriteReq>, Stored);

/// Puts the answers of batches that prepare and commit concurrently back into the order the
/// batches were started in, which is also their ids' order (each batch allocates its ids after the
/// one before it, [`IdTurn`]): a batch's answers go out once every batch started before it has
/// landed or failed. So a socket's cursor never passes an id of the dock's that is still to come
/// (PROTOCOL §5.1), and one sender's acks and messages come in the order they were sent.
struct Reorder<T = Answer> {
    /// The last batch number given.
    next_seq: u64,
    /// Batches in flight.
    in_flight: std::collections::BTreeSet<u64>,
    /// Answers of landed batches, by (batch, position).
    ready: std::collections::BTreeMap<(u64, usize), T>,
}

impl<T> Default for Reorder<T> {
    fn default() -> Self {
        Reorder {
            next_seq: 0,
            in_flight: std::collections::BTreeSet::new(),
            ready: std::collections::BTreeMap::new(),
        }
    }
}

impl<T> Reorder<T> {
    /// A batch starts; returns its number.
    fn start(&mut self) -> u64 {
        self.next_seq += 1;
        self.in_flight.insert(self.next_seq);
        self.next_seq
    }

    /// Batch `seq` holds nothing (any more): it failed, or it landed.
    fn resolve(&mut self, seq: u64) {
        self.in_flight.remove(&seq);
    }

    /// Batch `seq` committed with these answers, in batch order.
    fn landed_all(&mut self, seq: u64, answers: impl IntoIterator<Item = T>) {
        self.resolve(seq);
        for (i, answer) in answers.into_iter().enumerate() {
            self.ready.insert((seq, i), answer);
        }
    }

    /// The answers whose turn has come, in order.
    fn take(&mut self) -> Vec<T> {
        let below = self.in_flight.first().copied().unwrap_or(u64::MAX);
        let later = self.ready.split_off(&(below, 0));
        std::mem::replace(&mut self.ready, later)
            .into_values()
            .collect()
    }

    fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

impl Reorder<Answer> {
    /// Batch `seq` committed with these answers.
    #[allow(clippy::vec_box)]
    fn landed(&mut self, seq: u64, batch: Vec<Box<WriteReq>>, stored: Vec<Stored>) {
        self.landed_all(seq, batch.into_iter().zip(stored));
    }
}

/// What a batch in flight came to.
#[allow(clippy::vec_box)]
enum Event {
    /// Preparing failed: nothing of it was stored.
    NotPrepared(u64, Vec<Box<WriteReq>>, StoreError),
    /// Its COMMIT returned (or went unanswered).
    Landed(u64, Vec<Box<WriteReq>>, Result<Vec<Stored>, StoreError>),
}

/// A batch in flight, from its first statement to its COMMIT's answer.
type Flight = Pin<Box<dyn Future<Output = Event> + Send>>;

/// Sends queued before a batch starts beside batches already in flight (see [`Writer::pipeline`]).
const PIPELINE_MIN_BATCH: usize = 64;
/// How soon a writer with batches in flight looks at its queue again.
const RECHECK: std::time::Duration = std::time::Duration::from_millis(1);

/// Most pairs remembered to have a conversation (see [`Writer::pipeline`]); then it starts over.
const KNOWN_PAIRS_MAX: usize = 200_000;

/// The single message writer: group commits, up to `depth` in flight (each holds a pooled
/// connection; SQLite has one writer at a time, so there it is one), then acks and fan-out in id
/// order. It never blocks the queue on an unreachable database: past the first failed batch (at
/// most [`crate::store::messaging::WRITE_TIMEOUT`]) every send is answered within a probe's time.
pub(super) async fn writer_loop(
    store: Store,
    writer: Writer,
    mut rx: mpsc::Receiver<WriterCmd>,
    depth: usize,
) {
    let depth = match store.dialect() {
        crate::store::Dialect::Sqlite => 1,
        _ => depth.max(1),
    };
    let mut state = WriterState::Up;
    let mut stopping = false;
    let mut reorder = Reorder::default();
    let mut known_pairs = std::collections::HashSet::new();
    loop {
        state = match state {
            WriterState::Up => {
                if stopping {
                    break;
                }
                writer
                    .pipeline(
                        &store,
                        &mut rx,
                        &mut stopping,
                        depth,
                        &mut reorder,
                        &mut known_pairs,
                    )
                    .await
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
                        let Unsettled {
                            seq,
                            batch,
                            pending,
                            rest,
                            ..
                        } = u;
                        reorder.landed(seq, batch, pending.stored);
                        writer.deliver(reorder.take());
                        next_unsettled(rest)
                    }
                    Some(false) => {
                        tracing::warn!(
                            count = u.batch.len(),
                            "an unanswered commit was not stored"
                        );
                        reorder.resolve(u.seq);
                        refuse_all(&u.batch);
                        writer.deliver(reorder.take());
                        next_unsettled(u.rest)
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

/// The next batch to settle, if another COMMIT went unanswered with the last one.
#[allow(clippy::type_complexity, clippy::vec_box)]
fn next_unsettled(
    mut rest: VecDeque<(u64, Vec<Box<WriteReq>>, Box<PendingCommit>)>,
) -> WriterState {
    match rest.pop_front() {
        Some((seq, batch, pending)) => WriterState::Unsettled(Unsettled {
            seq,
            batch,
            pending,
            refusals: 0,
            rest,
        }),
        None => WriterState::Up,
    }
}

/// A pair of users, smaller id first.
fn pair(a: i64, b: i64) -> (i64, i64) {
    (a.min(b), a.max(b))
}

/// Forgets the `(sender, cid)` keys of a batch that is no longer in flight.
#[allow(clippy::vec_box)]
fn release_keys(in_flight: &mut HashMap<(i64, u64), u32>, batch: &[Box<WriteReq>]) {
    for key in keys(batch) {
        if let Some(n) = in_flight.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                in_flight.remove(&key);
            }
        }
    }
}

/// The `(sender, cid)` keys of a batch, the cid hashed (no allocation per send; a collision only
/// makes a send wait for another's commit).
fn keys(batch: &[Box<WriteReq>]) -> impl Iterator<Item = (i64, u64)> + '_ {
    batch.iter().map(|r| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        r.msg.cid.hash(&mut h);
        (r.msg.from, h.finish())
    })
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
    /// Told each stored message, so kept conversation lists order by it at once.
    pub(super) lists: Arc<super::ListCache>,
    /// On a single node, told each stored message: the ingest's poll skips its row.
    pub(super) own_messages: Arc<super::OwnMessages>,
}

impl Writer {
    /// Writes batches, up to `depth` in flight at once (each prepares and commits on its own
    /// connection, concurrently), answering in id order ([`Reorder`]), until the database fails or
    /// the writer stops; returns the state the database was found in.
    ///
    /// Two kinds of batch wait for others: one holding a `(sender, cid)` that is in flight (a later
    /// transaction cannot see the first row before its commit), and one holding a pair not known
    /// to have a conversation yet, which runs alone (two batches would each miss the other's
    /// uncommitted conversation and create the pair's conversation twice).
    async fn pipeline(
        &self,
        store: &Store,
        rx: &mut mpsc::Receiver<WriterCmd>,
        stopping: &mut bool,
        depth: usize,
        reorder: &mut Reorder,
        known_pairs: &mut std::collections::HashSet<(i64, i64)>,
    ) -> WriterState {
        let mut flights: FuturesUnordered<Flight> = FuturesUnordered::new();
        let mut in_flight: HashMap<(i64, u64), u32> = HashMap::new();
        // A batch with a new pair is in flight: nothing starts beside it.
        let mut alone = false;
        let mut held: Option<Vec<Box<WriteReq>>> = None;
        // The turn of the last batch started: the next one allocates its ids after it.
        let mut last_turn: Option<oneshot::Receiver<()>> = None;
        // A batch that failed to prepare, and an unanswered COMMIT: nothing new starts until what
        // is in flight has landed; then they are dealt with.
        let mut not_prepared: Vec<(Vec<Box<WriteReq>>, StoreError)> = Vec::new();
        let mut unanswered: VecDeque<(u64, Vec<Box<WriteReq>>, Box<PendingCommit>)> =
            VecDeque::new();
        loop {
            let draining = !not_prepared.is_empty() || !unanswered.is_empty();
            if !draining && !alone {
                if let Some(batch) = held.take() {
                    let new_pair = batch.iter().any(|r| match r.recipient {
                        Recipient::User(_) => !known_pairs.contains(&pair(r.msg.from, r.msg.to)),
                        Recipient::Group(_) => false,
                    });
                    let conflict = keys(&batch).any(|k| in_flight.contains_key(&k));
                    if conflict || (new_pair && !flights.is_empty()) {
                        held = Some(batch);
                    } else {
                        alone = new_pair;
                        for key in keys(&batch) {
                            *in_flight.entry(key).or_default() += 1;
                        }
                        let seq = reorder.start();
                        metrics::COMMITS_IN_FLIGHT.observe((flights.len() + 1) as f64);
                        let (then, next) = oneshot::channel();
                        let turn = IdTurn {
                            after: last_turn.replace(next),
                            then: Some(then),
                        };
                        flights.push(self.flight(store, seq, batch, turn));
                    }
                }
            }
            if flights.is_empty() {
                if let Some((seq, batch, pending)) = unanswered.pop_front() {
                    for (batch, _) in not_prepared.drain(..) {
                        refuse_all(&batch);
                    }
                    if let Some(batch) = held.take() {
                        refuse_all(&batch);
                    }
                    // What landed below it has gone out; the rest waits for its settling.
                    self.deliver(reorder.take());
                    return WriterState::Unsettled(Unsettled {
                        seq,
                        batch,
                        pending,
                        refusals: 0,
                        rest: unanswered,
                    });
                }
                if !not_prepared.is_empty() {
                    self.deliver(reorder.take());
                    for (batch, e) in std::mem::take(&mut not_prepared) {
                        // The database refused a statement: one bad row must not fail its
                        // neighbours (and a conflict with a batch in flight is gone now): the
                        // batch is written again, alone.
                        let state = if e.is_refusal() {
                            tracing::warn!(error = %e, count = batch.len(), "preparing a group commit failed; writing it again alone");
                            self.write(store, batch).await
                        } else {
                            tracing::error!(error = %e, count = batch.len(), "storing messages failed; nothing of the batch was stored");
                            refuse_all(&batch);
                            store.report(&e);
                            WriterState::Down
                        };
                        if !matches!(state, WriterState::Up) {
                            if let Some(batch) = held.take() {
                                refuse_all(&batch);
                            }
                            return state;
                        }
                    }
                    continue;
                }
                if *stopping && held.is_none() {
                    return WriterState::Up;
                }
            }
            // A batch beside others only when enough is queued: under moderate load one batch at
            // a time collects what arrives during its commit (fewer, fuller commits cost the
            // database less per message); a backlog is what concurrency is for.
            let free =
                !*stopping && !draining && !alone && held.is_none() && reorder.in_flight() < depth;
            let worth = flights.is_empty() || rx.len() >= PIPELINE_MIN_BATCH;
            let can_take = free && worth;
            // The backlog is not watched by the channel: look again shortly.
            let recheck = free && !worth && !rx.is_empty();
            tokio::select! {
                event = flights.next(), if !flights.is_empty() => {
                    let Some(event) = event else { continue };
                    match &event {
                        Event::NotPrepared(_, batch, _) | Event::Landed(_, batch, _) => {
                            release_keys(&mut in_flight, batch);
                        }
                    }
                    // A batch that ran alone was the only one in flight.
                    alone = false;
                    match event {
                        Event::NotPrepared(seq, batch, e) => {
                            // It holds no ids; written again once the others have landed, its
                            // sends get ids (and answers) after theirs.
                            reorder.resolve(seq);
                            not_prepared.push((batch, e));
                        }
                        Event::Landed(seq, batch, Ok(stored)) => {
                            if known_pairs.len() > KNOWN_PAIRS_MAX {
                                known_pairs.clear();
                            }
                            // Pairs only (a group message's `to` is 0).
                            for s in stored.iter().filter(|s| s.message.conv > 0 && s.message.to > 0) {
                                known_pairs.insert(pair(s.message.from, s.message.to));
                            }
                            reorder.landed(seq, batch, stored);
                            self.deliver(reorder.take());
                        }
                        Event::Landed(seq, batch, Err(StoreError::CommitUnknown(pending))) => {
                            tracing::error!(
                                count = batch.len(),
                                "a commit was not answered; asking the database what it stored"
                            );
                            store.suspect();
                            // Its ids stay unresolved: nothing above them goes out until it is
                            // settled, and nothing new starts.
                            unanswered.push_back((seq, batch, pending));
                        }
                        // The server answered the COMMIT with an error: it rolled back.
                        Event::Landed(seq, batch, Err(e)) => {
                            tracing::error!(error = %e, count = batch.len(), "a group commit was refused; nothing of the batch was stored");
                            reorder.resolve(seq);
                            refuse_all(&batch);
                            self.deliver(reorder.take());
                        }
                    }
                }
                batch = next_batch(rx, stopping), if can_take => match batch {
                    Some(batch) => held = self.fresh_only(batch),
                    None => *stopping = true,
                },
                _ = tokio::time::sleep(RECHECK), if recheck => {}
                else => return WriterState::Up,
            }
        }
    }

    /// Prepares and commits `batch` on a connection of its own.
    #[allow(clippy::vec_box)]
    fn flight(
        &self,
        store: &Store,
        seq: u64,
        mut batch: Vec<Box<WriteReq>>,
        turn: IdTurn,
    ) -> Flight {
        // The sends' messages move to the store for the statements and come back after them
        // (a copy of each text, cid and picture URL per send cost more than the move).
        let msgs: Vec<NewMessage> = batch
            .iter_mut()
            .map(|r| {
                let mut m = std::mem::take(&mut r.msg);
                m.windows_known = self.windows_of(&m);
                m
            })
            .collect();
        let store = store.clone();
        Box::pin(async move {
            let since = Instant::now();
            let prepared = store.prepare_batch(&msgs, turn).await;
            for (r, m) in batch.iter_mut().zip(msgs) {
                r.msg = m;
            }
            let prepared = match prepared {
                Ok(p) => p,
                Err(e) => return Event::NotPrepared(seq, batch, e),
            };
            let outcome = prepared.commit().await;
            observe_commit(batch.len(), since);
            Event::Landed(seq, batch, outcome)
        })
    }

    /// Answers sends whose turn has come (in the order given).
    fn deliver(&self, answers: Vec<Answer>) {
        if answers.is_empty() {
            return;
        }
        let (reqs, stored): (Vec<_>, Vec<_>) = answers.into_iter().unzip();
        self.answer(&reqs, stored.into_iter().map(Ok).collect());
    }

    /// The batch's messages as the store takes them, with the windows this node knows exist.
    #[allow(clippy::vec_box)]
    fn messages(&self, batch: &[Box<WriteReq>]) -> Vec<NewMessage> {
        batch
            .iter()
            .map(|r| {
                let mut m = r.msg.clone();
                m.windows_known = self.windows_of(&m);
                m
            })
            .collect()
    }

    /// Whether this node knows the sender's and the recipient's windows of `m` exist.
    fn windows_of(&self, m: &NewMessage) -> [bool; 2] {
        [
            window_known(&self.windows_known, m.from, m.to),
            window_known(&self.windows_known, m.to, m.from),
        ]
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
                    seq: 0,
                    rest: VecDeque::new(),
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
                                    seq: 0,
                                    rest: VecDeque::new(),
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
        let committed_at = Instant::now();
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
            self.lists.note_message(m.conv, m.id, m.time);
            match &self.ledger {
                Some(ledger) => ledger.stored_here(m.id),
                None => {
                    self.own_messages.insert(m.id, committed_at);
                }
            }
            let recipient = match &req.recipient {
                Recipient::User(p) => p,
                Recipient::Group(info) => {
                    // Serialised once, pushed to every member's sockets (the sender's too).
                    let id = m.id;
                    let message = to_message(s.message);
                    let frame = Utf8Bytes::from(
                        ServerFrame::Message {
                            message: &message,
                            sender: &req.sender,
                        }
                        .to_json(),
                    );
                    info.push(registry, &Outgoing::Message { id, frame }, None);
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
            let (id, from, to) = (m.id, m.from, m.to);
            let message = to_message(s.message);
            let frame = Utf8Bytes::from(
                ServerFrame::Message {
                    message: &message,
                    sender: &req.sender,
                }
                .to_json(),
            );
            let item = Outgoing::Message { id, frame };
            registry.send_user(from, &item);
            registry.send_user(to, &item);
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
            // Most owners are under the cap: one query names those that are not.
            let owners = match store.over_window_cap(&owners).await {
                Ok(over) => over,
                Err(e) => {
                    tracing::warn!(error = %e, "counting users' windows failed");
                    owners
                }
            };
            for owner in owners {
                let closed = match store.trim_windows(owner).await {
                    Ok(closed) => closed,
                    Err(e) => {
                        // The next window opened trims again.
                        tracing::warn!(error = %e, "trimming a user's windows failed");
                        continue;
                    }
                };
                let gone: Vec<(i64, i64)> = closed.iter().map(|peer| (owner, *peer)).collect();
                super::forget_windows(&known, &registry, &gone);
                for peer in closed {
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

#[cfg(test)]
mod tests {
    use super::Reorder;

    #[test]
    fn answers_go_out_in_the_order_batches_started_whatever_order_they_land_in() {
        let mut r: Reorder<&str> = Reorder::default();
        let a = r.start();
        let b = r.start();
        // B committed first: it waits for A.
        r.landed_all(b, ["b1", "b2"]);
        assert!(r.take().is_empty());
        let c = r.start();
        r.landed_all(a, ["a1"]);
        assert_eq!(r.take(), ["a1", "b1", "b2"]);
        // C is still in flight; D after it waits, until C fails (it holds nothing).
        let d = r.start();
        r.landed_all(d, ["d1"]);
        assert!(r.take().is_empty());
        r.resolve(c);
        assert_eq!(r.take(), ["d1"]);
        assert_eq!(r.in_flight(), 0);
    }
}

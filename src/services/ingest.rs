//! Live delivery of what Moodle itself wrote: messages sent from the drawer, the Moodle app, web
//! services or the participants page, and messages read in the drawer, reach every open dock of
//! their users within a poll interval (design §7); in a group conversation, of every member (the
//! members as the conversations service caches them).
//!
//! Owns: the poll loop over `messages` and `message_user_actions` by primary key, the ids that
//! were skipped because their insert had not committed yet (Moodle's id sequences allocate before
//! commit, so a PHP insert can commit after the daemon's later id), and the safe watermark a resume
//! starts from ([`Conversations::set_resolved_upto`]).
//! In a cluster it is also the fallback for what the other nodes stored: a dock message whose
//! publication has not reached this node [`PUBLICATION_GRACE`] after the poll found it is
//! delivered from here ([`crate::services::ledger::Ledger`] decides which of the two goes).
//! Must not: deliver what this node's writer stored (it has delivered it at commit); write.

use crate::outbox::Outgoing;
use crate::protocol::{Message, Person, ServerFrame};
use crate::services::conversations::Conversations;
use crate::services::ledger::{Found, PUBLICATION_GRACE};
use crate::services::presence::Registry;
use crate::store::ingest::{NewId, PolledMessage, PolledRead};
use crate::store::messaging::{CONVERSATION_GROUP, CONVERSATION_INDIVIDUAL, CONVERSATION_SELF};
use crate::store::Store;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A read row is announced only once it has been seen this long: the daemon records the read rows it
/// wrote (and announced) itself just after their commit, and in a cluster another node's come by
/// publication, so a poll landing in between must not take them for Moodle's.
const READ_HOLD: Duration = Duration::from_millis(200);
/// Most rows one poll statement reads; a full page is followed at once by the next.
const PAGE: usize = 1000;
/// A skipped id is looked for this long; an insert that stays uncommitted longer (or was rolled
/// back) is given up.
pub const GAP_TIMEOUT: Duration = Duration::from_secs(60);
/// Most skipped ids tracked at once (a jump beyond it, e.g. an id sequence moved by hand, keeps
/// only the newest).
const GAPS_MAX: usize = 10_000;
/// A message delivered after a higher id was already visible keeps the resume floor below it this
/// long, so a client that was away when it arrived gets it on its resume.
pub const LATE_KEPT: Duration = Duration::from_secs(300);

/// Conversations whose members the poll keeps (each a few ids); past it, it starts again.
const MEMBERS_MAX: usize = 100_000;

/// What the poll does with one new message (see `Ingest::fate`).
enum Fate {
    /// This node's writer stored and delivered it.
    Own,
    /// Its row is not needed; these are its recipients connected here.
    Known(Vec<i64>),
    /// Its row is read and delivered.
    Read,
}

/// The poller's state.
pub struct Ingest {
    store: Store,
    registry: Arc<Registry>,
    convs: Arc<Conversations>,
    every: Duration,
    /// The highest message id seen.
    high: i64,
    /// The highest read row id seen.
    high_read: i64,
    /// Ids below `high` not seen yet, with when they were first missed.
    gaps: BTreeMap<i64, Instant>,
    /// Messages delivered after a higher id was visible, with when.
    late: VecDeque<(i64, Instant)>,
    /// In a cluster: dock messages of other nodes found by the poll whose publication has not come
    /// yet, with when they were found (in id order).
    awaiting: VecDeque<(i64, Instant)>,
    /// Read rows found but not yet announced (see [`READ_HOLD`]), in id order.
    held_reads: VecDeque<(PolledRead, Instant)>,
    /// The members of individual and self conversations (they never change); `None` for a
    /// conversation whose members may change or that was not found: its messages are read.
    members: HashMap<i64, Option<Vec<i64>>>,
}

impl Ingest {
    /// A poller that starts at the newest rows now (what is already stored is history, not news).
    pub async fn start(
        store: Store,
        registry: Arc<Registry>,
        convs: Arc<Conversations>,
        every: Duration,
    ) -> crate::store::Result<Ingest> {
        let high = store.newest_message().await?;
        let high_read = store.newest_user_action().await?;
        Ok(Ingest {
            store,
            registry,
            convs,
            every,
            high,
            high_read,
            gaps: BTreeMap::new(),
            late: VecDeque::new(),
            awaiting: VecDeque::new(),
            held_reads: VecDeque::new(),
            members: HashMap::new(),
        })
    }

    /// Polls forever; a failed poll is retried at the next tick.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.poll().await {
                self.store.report(&e);
                tracing::warn!(error = %e, "polling Moodle's messaging tables failed");
            }
        }
    }

    /// One round: new messages, skipped ids that appeared, new read rows.
    pub async fn poll(&mut self) -> crate::store::Result<()> {
        let now = Instant::now();
        let cluster = self.convs.ledger().is_some();
        loop {
            // The new messages' ids first (in a cluster with their sent rows): most are this
            // node's writer's, delivered at its commit, and another node's dock message only
            // needs who it is for here. Only the rest of the rows are read, by id.
            let page = self
                .store
                .message_ids_after(self.high, PAGE, cluster)
                .await?;
            let own: Vec<bool> = page
                .iter()
                .map(|n| self.convs.take_own_message(n.id))
                .collect();
            if cluster {
                let others_dock: Vec<i64> = page
                    .iter()
                    .zip(&own)
                    .filter(|(n, own)| n.dock == Some(true) && !**own)
                    .map(|(n, _)| n.conv)
                    .collect();
                self.learn_members(&others_dock).await?;
            }
            let fates: Vec<Fate> = page
                .iter()
                .zip(&own)
                .map(|(n, &own)| self.fate(n, own))
                .collect();
            let read: Vec<i64> = page
                .iter()
                .zip(&fates)
                .filter(|(_, f)| matches!(f, Fate::Read))
                .map(|(n, _)| n.id)
                .collect();
            let rows = if read.is_empty() {
                Vec::new()
            } else {
                self.store.messages_by_ids(&read, cluster).await?
            };
            // Ids a dockchat node stored (this node's, another's, or read as such): a foreign
            // message below one of them is late.
            let newest_dock = page
                .iter()
                .zip(&fates)
                .filter(|(_, f)| !matches!(f, Fate::Read))
                .map(|(n, _)| n.id)
                .chain(rows.iter().filter(|r| r.dock).map(|r| r.id))
                .max();
            let mut rows = rows.into_iter().peekable();
            for (n, fate) in page.iter().zip(fates) {
                let first_missing = (self.high + 1).max(n.id - GAPS_MAX as i64);
                for missing in first_missing..n.id {
                    self.gaps.insert(missing, now);
                }
                self.high = n.id;
                match fate {
                    Fate::Own => {}
                    Fate::Known(here) => self.deliver_known(n, &here),
                    Fate::Read => {
                        // Absent: deleted between the two statements.
                        let Some(r) = rows.next_if(|r| r.id == n.id) else {
                            continue;
                        };
                        if !r.dock && newest_dock.is_some_and(|d| d > r.id) {
                            self.late.push_back((r.id, now));
                        }
                        self.deliver(&r).await;
                    }
                }
            }
            if page.len() < PAGE {
                break;
            }
        }
        if !self.gaps.is_empty() {
            // A skipped id the writer has stored since needs no lookup either.
            self.gaps.retain(|id, _| !self.convs.take_own_message(*id));
        }
        if !self.gaps.is_empty() {
            let ids: Vec<i64> = self.gaps.keys().copied().take(PAGE).collect();
            for r in self.store.messages_by_ids(&ids, cluster).await? {
                self.gaps.remove(&r.id);
                if !r.dock {
                    self.late.push_back((r.id, now));
                }
                self.deliver(&r).await;
            }
            self.gaps
                .retain(|_, first| now.duration_since(*first) < GAP_TIMEOUT);
            while self.gaps.len() > GAPS_MAX {
                self.gaps.pop_first();
            }
        }
        while self
            .late
            .front()
            .is_some_and(|(_, at)| now.duration_since(*at) >= LATE_KEPT)
        {
            self.late.pop_front();
        }
        self.deliver_overdue(now).await?;
        let floor = self
            .gaps
            .keys()
            .next()
            .copied()
            .into_iter()
            .chain(self.late.iter().map(|(id, _)| *id))
            .min();
        self.convs
            .set_resolved_upto(floor.map_or(i64::MAX, |id| id - 1));
        self.reads().await
    }

    /// What the poll does with a new message: nothing (this node's writer delivered it), what
    /// it can do from the ids statement alone, or read its row.
    fn fate(&self, n: &NewId, own: bool) -> Fate {
        if own {
            return Fate::Own;
        }
        // Not known to be another node's dock message: a message Moodle stored (always read:
        // it is pushed here, and its recipient's dock window opens even when they are
        // offline), or on a single node one this node's writer recorded just after the poll saw
        // it (its row says so).
        if n.dock != Some(true) {
            return Fate::Read;
        }
        match self.members.get(&n.conv) {
            Some(Some(members)) => Fate::Known(
                members
                    .iter()
                    .copied()
                    .filter(|u| self.registry.is_here(*u))
                    .collect(),
            ),
            _ => Fate::Read,
        }
    }

    /// [`Ingest::deliver`] for another node's dock message whose row is not needed: the ledger
    /// checks its publications against its recipients here.
    fn deliver_known(&mut self, n: &NewId, here: &[i64]) {
        self.convs.note_message(n.conv, n.id, n.time);
        let Some(ledger) = self.convs.ledger().cloned() else {
            return;
        };
        if ledger.found(n.id, here) == Found::Wait {
            self.awaiting.push_back((n.id, Instant::now()));
        }
    }

    /// Reads the members of the conversations `convs` not known yet: an individual
    /// conversation's members never change, so they are kept (a self conversation's as nobody);
    /// any other is marked to be read.
    async fn learn_members(&mut self, convs: &[i64]) -> crate::store::Result<()> {
        let mut unknown: Vec<i64> = convs
            .iter()
            .copied()
            .filter(|c| !self.members.contains_key(c))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort_unstable();
        unknown.dedup();
        if self.members.len() + unknown.len() > MEMBERS_MAX {
            self.members.clear();
        }
        let mut found: HashMap<i64, (i64, Vec<i64>)> = HashMap::new();
        for (conv, kind, user) in self.store.conversation_members(&unknown).await? {
            found.entry(conv).or_insert((kind, Vec::new())).1.push(user);
        }
        for conv in unknown {
            let fixed = match found.remove(&conv) {
                Some((CONVERSATION_INDIVIDUAL, members)) => Some(members),
                // A note to oneself is pushed to nobody (as `recipients_here` says).
                Some((CONVERSATION_SELF, _)) => Some(Vec::new()),
                _ => None,
            };
            self.members.insert(conv, fixed);
        }
        Ok(())
    }

    /// Pushes a message Moodle stored to every socket of both users of its conversation. It goes
    /// out as a plain frame, not one the resume de-duplication may drop: it can be below ids a
    /// resumed socket has been sent (clients drop repeats by id).
    async fn deliver(&mut self, r: &PolledMessage) {
        self.convs.note_message(r.conv, r.id, r.time);
        if let Some(ledger) = self.convs.ledger().cloned() {
            if !r.dock {
                ledger.found_foreign(r.id);
            } else {
                let here = self.recipients_here(r).await;
                if ledger.found(r.id, &here) == Found::Wait {
                    self.awaiting.push_back((r.id, Instant::now()));
                }
            }
        }
        if r.dock {
            return;
        }
        self.deliver_foreign(r).await;
    }

    /// In a cluster: delivers the dock messages of other nodes whose publication did not come
    /// within [`PUBLICATION_GRACE`] of the poll finding them, as their own node did (the sender's
    /// client message id included).
    async fn deliver_overdue(&mut self, now: Instant) -> crate::store::Result<()> {
        let Some(ledger) = self.convs.ledger().cloned() else {
            return Ok(());
        };
        ledger.prune();
        let mut due = Vec::new();
        while let Some(&(id, found)) = self.awaiting.front() {
            if now.duration_since(found) < PUBLICATION_GRACE || due.len() >= PAGE {
                break;
            }
            self.awaiting.pop_front();
            due.push(id);
        }
        if due.is_empty() {
            return Ok(());
        }
        let mut fell_back = 0usize;
        for r in self.store.dock_messages_by_ids(&due).await? {
            let here = self.recipients_here(&r).await;
            let left = ledger.overdue(r.id, &here);
            if left.is_empty() {
                continue;
            }
            fell_back += 1;
            let frame = self.message_frame(&r).await;
            for user in left {
                self.registry.send_local(user, &frame);
            }
        }
        if fell_back > 0 {
            tracing::info!(
                count = fell_back,
                "messages of other nodes delivered from the database (their publications did not arrive)"
            );
        }
        Ok(())
    }

    /// The recipients of a message (sender included, for their other tabs) with a socket on this
    /// node.
    async fn recipients_here(&self, r: &PolledMessage) -> Vec<i64> {
        let members: Vec<i64> = match r.conv_type {
            CONVERSATION_INDIVIDUAL => std::iter::once(r.from).chain(r.to).collect(),
            CONVERSATION_GROUP => match self.convs.conversation_info(r.conv).await {
                Ok(info) => info.members.clone(),
                Err(_) => Vec::new(),
            },
            _ => Vec::new(),
        };
        members
            .into_iter()
            .filter(|u| self.registry.is_here(*u))
            .collect()
    }

    /// The `message` frame of a polled message, as its node's writer built it (a group's is to 0).
    async fn message_frame(&self, r: &PolledMessage) -> Outgoing {
        let sender = self.sender(r.from).await;
        let to = if r.conv_type == CONVERSATION_GROUP {
            0
        } else {
            r.to.unwrap_or(0)
        };
        let message = Message {
            id: r.id,
            conv: r.conv,
            from: r.from,
            to,
            text: r.text.clone(),
            time: r.time,
            cid: r.cid.clone(),
        };
        Outgoing::Frame(Utf8Bytes::from(
            ServerFrame::Message {
                message: &message,
                sender: &sender,
            }
            .to_json(),
        ))
    }

    /// Delivers a message no dockchat node stored (Moodle's drawer, app, web services) to this
    /// node's sockets of its users; a 1:1 one opens a minimised window for its recipient.
    async fn deliver_foreign(&self, r: &PolledMessage) {
        match r.conv_type {
            CONVERSATION_GROUP => {
                let info = match self.convs.conversation_info(r.conv).await {
                    Ok(info) => info,
                    Err(e) => {
                        // Still in history and in a resume.
                        tracing::warn!(error = %e, conv = r.conv, "the members of a group message could not be read; not pushed live");
                        return;
                    }
                };
                let frame = self.message_frame(r).await;
                info.push_local(&self.registry, &frame);
            }
            CONVERSATION_INDIVIDUAL => {
                let Some(to) = r.to else {
                    return;
                };
                let frame = self.message_frame(r).await;
                self.registry.send_local(r.from, &frame);
                self.registry.send_local(to, &frame);
                let sender = self.sender(r.from).await;
                self.convs.incoming_window(to, &sender).await;
            }
            _ => {}
        }
    }

    async fn sender(&self, from: i64) -> Arc<Person> {
        match self.convs.person(from).await {
            Ok(p) => p,
            Err(_) => Arc::new(Person::id_only(from)),
        }
    }

    /// Read rows Moodle (or the daemon) wrote: one `read` frame per reader and conversation, with
    /// the newest message read, to both users.
    async fn reads(&mut self) -> crate::store::Result<()> {
        let now = Instant::now();
        loop {
            let rows = self.store.reads_after(self.high_read, PAGE).await?;
            for r in &rows {
                self.high_read = self.high_read.max(r.id);
                self.held_reads.push_back((*r, now));
            }
            if rows.len() < PAGE {
                break;
            }
        }
        let mut due = Vec::new();
        while let Some((r, seen)) = self.held_reads.front() {
            if now.duration_since(*seen) < READ_HOLD {
                break;
            }
            due.push(*r);
            self.held_reads.pop_front();
        }
        self.announce_reads(&due).await;
        self.convs.expire_caches();
        Ok(())
    }

    /// One `read` frame per reader and conversation of `rows`, with the newest message read, to
    /// both users (to every member in a group); rows the daemon announced itself are skipped.
    async fn announce_reads(&self, rows: &[PolledRead]) {
        let mut upto: HashMap<(i64, i64), i64> = HashMap::new();
        // (reader, conversation) → newest message read, in groups.
        let mut group_upto: HashMap<(i64, i64), i64> = HashMap::new();
        for r in rows {
            if self.convs.take_own_read(r.id) || r.reader == r.from {
                continue;
            }
            let e = match r.conv_type {
                CONVERSATION_INDIVIDUAL => upto.entry((r.reader, r.from)).or_insert(0),
                CONVERSATION_GROUP => group_upto.entry((r.reader, r.conv)).or_insert(0),
                _ => continue,
            };
            *e = (*e).max(r.message);
        }
        for ((reader, with), upto) in upto {
            let frame = Outgoing::Frame(Utf8Bytes::from(
                ServerFrame::Read {
                    reader,
                    with: Some(with),
                    conv: None,
                    upto,
                }
                .to_json(),
            ));
            self.registry.send_local(reader, &frame);
            self.registry.send_local(with, &frame);
        }
        for ((reader, conv), upto) in group_upto {
            let info = match self.convs.conversation_info(conv).await {
                Ok(info) => info,
                Err(e) => {
                    tracing::warn!(error = %e, conv, "the members of a group read could not be read; not pushed live");
                    continue;
                }
            };
            let frame = Outgoing::Frame(Utf8Bytes::from(
                ServerFrame::Read {
                    reader,
                    with: None,
                    conv: Some(conv),
                    upto,
                }
                .to_json(),
            ));
            info.push_local(&self.registry, &frame);
        }
    }
}

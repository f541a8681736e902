//! One task per WebSocket: the authentication handshake, then the read loop.
//!
//! Owns: the socket after the upgrade. A single task `select!`s over socket reads, the connection's
//! outbox, the ping timer, the token-expiry timer and the shutdown signal (no second task, no big
//! buffers: an idle connection must stay small). It decodes frames with `protocol`, enforces frame
//! size, the per-connection rate limit and the abuse budget, dispatches to the services with the
//! user id fixed at authentication, writes `error` frames with stable codes, and resumes exactly as
//! docs/PROTOCOL.md §5.1 says (register for live pushes, send `missed`, then drain the queued live
//! frames skipping ids already sent). It also turns every way the socket can fail into its close
//! (docs/PROTOCOL.md §7): protocol violations 1002, invalid UTF-8 1007, frame floods 4008, a peer
//! that does not take its frames 4009 (the stream's write deadline, [`crate::ws::coalesce`]), and
//! answers a client's close with the same code; every close is bounded in time.
//! Must not: run SQL, decide permissions, or log tokens or message bodies.

use crate::ops::metrics;
use crate::outbox::{outbox, OutboxRx, OutboxTx, Outgoing};
use crate::protocol::{
    close, decode, error_json, valid_cid, ClientFrame, ErrorCode, OnlinePerson, Person,
    ServerFrame, Target, WelcomeLimits, MISSED_CHUNK, PROTOCOL_VERSION,
};
use crate::services::auth::{AuthError, Authenticator, Caps, SessionHash};
use crate::services::conversations::{Conversations, ServiceError};
use crate::services::presence::{Avatars, NewConn, Registry};
use crate::store::{now, Store, StoreError};
use crate::ws::coalesce::Refusal;
use futures_util::stream::FusedStream;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument;

/// Everything a connection needs, built once by `app`.
pub struct Shared {
    pub auth: Arc<Authenticator>,
    pub registry: Arc<Registry>,
    pub convs: Arc<Conversations>,
    pub store: Store,
    pub avatars: Avatars,
    pub limits: crate::ops::config::LimitsConfig,
    pub auth_timeout: Duration,
    pub token_leeway: u64,
    next_id: AtomicU64,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        auth: Arc<Authenticator>,
        registry: Arc<Registry>,
        convs: Arc<Conversations>,
        store: Store,
        avatars: Avatars,
        limits: crate::ops::config::LimitsConfig,
        auth_timeout: Duration,
        token_leeway: u64,
    ) -> Self {
        Shared {
            auth,
            registry,
            convs,
            store,
            avatars,
            limits,
            auth_timeout,
            token_leeway,
            next_id: AtomicU64::new(1),
        }
    }
}

/// Errors in a row an abusive client may cause before it is closed with 4008: the budget refills at
/// one per second.
const ABUSE_BUDGET: f64 = 20.0;
/// Longest wait for the database during a hello (account check, then the welcome's rows): the
/// client gives up on a `welcome` after 15 s and reconnects, so a hung query must not keep the task.
const HELLO_DB_LIMIT: Duration = Duration::from_secs(30);
/// Outbox items written per flush.
const WRITE_BATCH: usize = 64;
/// Longest wait for our close frame to go out, then (separately) for the client's answer; a socket
/// that cannot take it in time is dropped.
const CLOSE_BOUND: Duration = Duration::from_secs(1);
/// Most bytes read and dropped after closing a socket whose read side failed (see `close_socket`).
const CLOSE_DRAIN_MAX: usize = 64 * 1024;

/// A token bucket: `burst` tokens, refilled at `rate` per second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64) -> Self {
        TokenBucket {
            tokens: burst,
            rate,
            burst,
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    pub fn take_at(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        // A credit above the burst (see `credit`) is kept until spent; refills stop at the burst.
        if self.tokens < self.burst {
            self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub fn take(&mut self) -> bool {
        self.take_at(Instant::now())
    }

    /// Gives back the tokens a client at the full rate could have earned while the server did not
    /// read it for `stalled` (beyond the burst, at most 10 s worth). Short stalls (under
    /// 100 ms) are ordinary request handling and earn nothing.
    pub fn credit(&mut self, stalled: Duration) {
        if stalled < Duration::from_millis(100) {
            return;
        }
        let cap = self.burst + self.rate * MAX_CREDIT.as_secs_f64();
        self.tokens = (self.tokens + stalled.as_secs_f64() * self.rate).min(cap);
    }
}

/// `activity` frames a socket may send: 10 per 10 s (a client sends one per state change).
const ACTIVITY_PER_SEC: f64 = 1.0;
const ACTIVITY_BURST: f64 = 10.0;

/// Most stalled time a rate bucket credits: a request's own deadline plus a margin.
const MAX_CREDIT: Duration = Duration::from_secs(10);

/// Why the loop ended.
enum End {
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// The client sent a close frame: answer it with the same code, then drop the socket.
    PeerClosed,
    /// The peer went away or the socket failed: just drop it.
    Gone,
}

/// How a failed read or write of the WebSocket ends the connection.
fn socket_end(e: &tungstenite::Error) -> End {
    use tungstenite::error::ProtocolError;
    use tungstenite::Error as E;
    match e {
        E::Capacity(_) => End::Close(close::TOO_BIG, "frame too large"),
        E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => End::Gone,
        E::Protocol(_) => End::Close(u16::from(CloseCode::Protocol), "protocol error"),
        E::Utf8(_) => End::Close(u16::from(CloseCode::Invalid), "invalid UTF-8"),
        // One of our own frames did not fit beside the pongs the peer never read.
        E::WriteBufferFull(_) => End::Close(close::TOO_SLOW, "too slow"),
        E::Io(io) => match crate::ws::coalesce::refusal(io) {
            Some(Refusal::WriteStalled) => End::Close(close::TOO_SLOW, "too slow"),
            Some(Refusal::TooManyFrames) => End::Close(close::ABUSIVE, "too many frames"),
            None => End::Gone,
        },
        _ => End::Gone,
    }
}

type Ws<S> = WebSocketStream<S>;

/// Frames larger than this are written as a fragmented message (continuation frames). tungstenite
/// keeps its write buffer at the capacity of the largest frame it ever formatted, so small fragments
/// keep an idle connection from holding the size of its largest message (e.g. a `welcome` with many
/// mates). The fragments still leave in one write: [`crate::ws::coalesce`] gathers them until the flush.
const FRAGMENT: usize = 512;

/// Queues one text message, fragmenting it when it is large.
async fn feed_text<S>(ws: &mut Ws<S>, text: Utf8Bytes) -> Result<(), End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if text.len() <= FRAGMENT {
        return ws
            .feed(WsMessage::Text(text))
            .await
            .map_err(|e| socket_end(&e));
    }
    let bytes = bytes::Bytes::from(text);
    let mut start = 0;
    let mut first = true;
    while start < bytes.len() {
        let end = (start + FRAGMENT).min(bytes.len());
        let opcode = if first {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let frame = Frame::message(bytes.slice(start..end), opcode, end == bytes.len());
        ws.feed(WsMessage::Frame(frame))
            .await
            .map_err(|e| socket_end(&e))?;
        first = false;
        start = end;
    }
    Ok(())
}

async fn send_text<S>(ws: &mut Ws<S>, text: impl Into<Utf8Bytes>) -> Result<(), End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    feed_text(ws, text.into()).await?;
    ws.flush().await.map_err(|e| socket_end(&e))
}

async fn send_error<S>(ws: &mut Ws<S>, code: ErrorCode, reference: &str) -> Result<(), End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    metrics::ERRORS_SENT.inc();
    send_text(ws, error_json(code, reference)).await
}

/// Sends our close frame and waits (bounded) for the client's answer; a socket that cannot take the
/// close frame within [`CLOSE_BOUND`] is dropped.
async fn close_socket<S>(ws: &mut Ws<S>, code: u16, reason: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    };
    if !matches!(
        tokio::time::timeout(CLOSE_BOUND, ws.close(Some(frame))).await,
        Ok(Ok(()))
    ) {
        return;
    }
    if ws.is_terminated() {
        // The read side failed (a protocol violation, a frame flood) and tungstenite reads no more,
        // but the client may still be sending: dropping the socket with unread bytes would reset it
        // and lose the close frame. Half-close, and drop what it sends until it closes too (bounded).
        let _ = tokio::time::timeout(CLOSE_BOUND, async {
            let stream = ws.get_mut();
            if stream.shutdown().await.is_err() {
                return;
            }
            let mut scratch = vec![0u8; 4096];
            let mut left = CLOSE_DRAIN_MAX;
            while left > 0 {
                match stream.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        })
        .await;
        return;
    }
    // Let the client answer the close (bounded), so it sees a clean close with our code.
    let _ = tokio::time::timeout(CLOSE_BOUND, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// Sends the answer tungstenite queued to the client's close frame (the same code), bounded.
async fn answer_close<S>(ws: &mut Ws<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(CLOSE_BOUND, async {
        // tungstenite hands the answer to the stream, then reports the connection closed without
        // flushing the stream: flush it here.
        let _ = ws.flush().await;
        let _ = ws.get_mut().flush().await;
    })
    .await;
}

fn shutting_down(rx: &watch::Receiver<bool>) -> bool {
    *rx.borrow()
}

/// Serves one upgraded WebSocket until it ends.
pub fn serve<S>(
    ws: Ws<S>,
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn_id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("conn", conn_id, %peer, user_id = tracing::field::Empty);
    metrics::CONNECTIONS_TOTAL.inc();
    metrics::CONNECTIONS_OPEN.inc();
    // Boxed here, not inside an `async fn`: the socket moves straight into the box, so no dead
    // copy of it stays in the caller's state for the connection's lifetime.
    let conn = Box::pin(run(ws, conn_id, shared, shutdown)).instrument(span);
    async move {
        conn.await;
        metrics::CONNECTIONS_OPEN.dec();
    }
}

/// Closes a socket right after the upgrade (server over capacity).
pub async fn refuse<S>(mut ws: Ws<S>, code: u16, reason: &'static str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    close_socket(&mut ws, code, reason).await;
}

struct Session {
    person: Arc<Person>,
    caps: Arc<Caps>,
    exp: i64,
    /// The Moodle session the socket is bound to (a refresh must keep it).
    sid: Option<SessionHash>,
    conn_id: u64,
    /// `activity` frames: 10 per 10 s (PROTOCOL §4).
    activity: TokenBucket,
}

/// Removes the connection from the registry however the task ends.
struct Registration {
    registry: Arc<Registry>,
    user: i64,
    conn_id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.unregister(self.user, self.conn_id);
        metrics::AUTHENTICATED_OPEN.dec();
    }
}

async fn run<S>(
    mut ws: Ws<S>,
    conn_id: u64,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // The handshake's state is large (welcome, resume, database futures): box it so that it is freed
    // once done, and the long-lived task only holds the read loop's small state.
    let end = match Box::pin(handshake(&mut ws, conn_id, &shared, &mut shutdown)).await {
        Ok(Some((session, tx, rx, reg, replayed))) => {
            let r = authenticated(&mut ws, &shared, &mut shutdown, session, tx, rx, replayed).await;
            drop(reg);
            r
        }
        Ok(None) => End::Gone,
        Err(end) => end,
    };
    match end {
        End::Close(code, reason) => {
            tracing::debug!(code, reason, "closing");
            if code == close::TOO_SLOW {
                metrics::SLOW_CLOSES.inc();
            }
            // Boxed: the close's state is only allocated while it runs.
            Box::pin(close_socket(&mut ws, code, reason)).await;
        }
        End::PeerClosed => {
            tracing::debug!("closed by the client");
            Box::pin(answer_close(&mut ws)).await;
        }
        End::Gone => tracing::debug!("connection gone"),
    }
}

type Handshake = (Session, OutboxTx, OutboxRx, Registration, Replayed);

/// Waits for `hello`, authenticates, registers, sends `welcome` and `missed`.
async fn handshake<S>(
    ws: &mut Ws<S>,
    conn_id: u64,
    shared: &Shared,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<Option<Handshake>, End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = sleep_until(Instant::now() + shared.auth_timeout);
    tokio::pin!(deadline);
    let mut bucket = TokenBucket::new(
        shared.limits.rate_per_sec as f64,
        shared.limits.rate_burst as f64,
    );
    let mut abuse = TokenBucket::new(1.0, ABUSE_BUDGET);
    let frame_max = shared.limits.frame_max_bytes;
    if shutting_down(shutdown) {
        return Err(End::Close(close::RESTART, "service restart"));
    }
    let (token, since, activity) = loop {
        let msg = tokio::select! {
            _ = &mut deadline => return Err(End::Close(close::AUTH_TIMEOUT, "no hello in time")),
            _ = shutdown.changed() => return Err(End::Close(close::RESTART, "service restart")),
            m = ws.next() => m,
        };
        let text = match msg {
            None => return Ok(None),
            Some(Err(e)) => return Err(socket_end(&e)),
            Some(Ok(WsMessage::Text(t))) => t,
            Some(Ok(WsMessage::Binary(_))) => {
                strike(&mut abuse)?;
                send_error(ws, ErrorCode::BinaryUnsupported, "").await?;
                continue;
            }
            Some(Ok(WsMessage::Close(_))) => return Err(End::PeerClosed),
            Some(Ok(_)) => continue,
        };
        metrics::FRAMES_IN.inc();
        if !bucket.take() {
            strike(&mut abuse)?;
            send_error(
                ws,
                ErrorCode::RateLimited,
                &unprocessed_ref(&text, frame_max),
            )
            .await?;
            continue;
        }
        if text.len() > frame_max {
            strike(&mut abuse)?;
            send_error(ws, ErrorCode::FrameTooLarge, "").await?;
            continue;
        }
        match decode(&text) {
            Ok(ClientFrame::Hello {
                v,
                token,
                since,
                state,
            }) => {
                if v != PROTOCOL_VERSION {
                    strike(&mut abuse)?;
                    send_error(ws, ErrorCode::BadFrame, "hello").await?;
                    continue;
                }
                break (token, since, state.unwrap_or_default());
            }
            Ok(other) => {
                strike(&mut abuse)?;
                send_error(ws, ErrorCode::NotAuthenticated, other.type_name()).await?;
            }
            Err((e, r)) => {
                strike(&mut abuse)?;
                send_error(ws, e.code(), r.as_deref().unwrap_or("")).await?;
            }
        }
    };

    let checked = tokio::time::timeout(HELLO_DB_LIMIT, shared.auth.authenticate(&token)).await;
    let checked = checked.unwrap_or_else(|_| {
        Err(AuthError::Store(StoreError::Batch(
            "the account check took too long".into(),
        )))
    });
    let (verified, user, courses) = match checked {
        Ok(ok) => ok,
        Err(e) => {
            metrics::AUTH_FAILURES.inc();
            if let AuthError::Store(err) = &e {
                tracing::error!(error = %err, "account check failed");
                send_error(ws, ErrorCode::Internal, "hello").await?;
            } else {
                tracing::info!(reason = e.reason(), "authentication refused");
            }
            return Err(End::Close(e.close_code(), e.reason()));
        }
    };
    let uid = verified.user_id;
    tracing::Span::current().record("user_id", uid);
    let person = shared.avatars.person(&user);
    let (tx, rx) = outbox(shared.limits.outbox_frames);
    // 1. Register for live pushes first, so nothing committed from now on is missed.
    let conn = NewConn {
        id: conn_id,
        session: verified.sid,
        active: activity.is_active(),
        viewhidden: verified.caps.viewhidden,
        tx: tx.clone(),
    };
    if shared
        .registry
        .register_conn(person.clone(), courses, conn)
        .is_err()
    {
        return Err(End::Close(close::TOO_MANY, "too many connections"));
    }
    metrics::AUTHENTICATED_OPEN.inc();
    let reg = Registration {
        registry: shared.registry.clone(),
        user: uid,
        conn_id,
    };
    let person = shared
        .registry
        .person(uid)
        .unwrap_or_else(|| Arc::new(person));
    tracing::info!("authenticated");

    let state = match tokio::time::timeout(
        HELLO_DB_LIMIT,
        shared.convs.welcome_state(uid, &verified.caps),
    )
    .await
    {
        Ok(loaded) => loaded.map_err(|e| e.to_string()),
        Err(_) => Err("took too long".to_string()),
    };
    let (windows, cursor) = match state {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "loading the welcome state failed");
            send_error(ws, ErrorCode::Internal, "hello").await?;
            return Err(End::Close(1011, "internal error"));
        }
    };
    let mates = shared.registry.online_mates(uid);
    let welcome = ServerFrame::Welcome {
        v: PROTOCOL_VERSION,
        user: &person,
        online: mates
            .iter()
            .map(|(p, status)| OnlinePerson {
                person: p,
                status: *status,
            })
            .collect(),
        windows: &windows,
        cursor,
        token_exp: verified.exp,
        server_time: now(),
        limits: WelcomeLimits {
            text_max_chars: shared.convs_text_max(),
            frame_max_bytes: shared.limits.frame_max_bytes,
            history_max: shared.limits.history_max,
        },
    }
    .to_json();
    send_text(ws, welcome).await?;

    // 2. Everything after `since`, in chunks, bounded by resume_max. A `since` above the cursor
    // counts as the cursor: kept, it would drop every live message up to it.
    let mut replayed = Replayed::default();
    if let Some(since) = since.map(|s| s.min(cursor)) {
        // Moodle's own inserts can commit out of id order: start at the ingest's safe watermark
        // when `since` is above it (what the client has already, it drops by id).
        let mut cur = shared.convs.resume_from(since);
        let mut sent = 0usize;
        loop {
            let want = MISSED_CHUNK.min(shared.limits.resume_max - sent);
            let batch = match shared.convs.missed(uid, cur, want).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "loading missed messages failed");
                    send_error(ws, ErrorCode::Internal, "hello").await?;
                    return Err(End::Close(1011, "internal error"));
                }
            };
            sent += batch.len();
            replayed.ids.extend(batch.iter().map(|m| m.id));
            if let Some(last) = batch.last() {
                cur = last.id;
            }
            let full = batch.len() == want;
            let at_cap = sent >= shared.limits.resume_max;
            let (done, truncated) = if !full {
                (true, Some(false))
            } else if at_cap {
                let more = match shared.convs.missed(uid, cur, 1).await {
                    Ok(m) => !m.is_empty(),
                    Err(_) => true,
                };
                (true, Some(more))
            } else {
                (false, None)
            };
            let frame = ServerFrame::Missed {
                messages: &batch,
                // Replayed messages below `since` do not move the client's cursor back.
                cursor: cur.max(since),
                done,
                truncated,
            }
            .to_json();
            send_text(ws, frame).await?;
            if done {
                break;
            }
        }
        replayed.ids.sort_unstable();
    }
    let session = Session {
        person,
        caps: verified.caps,
        exp: verified.exp,
        sid: verified.sid,
        conn_id,
        activity: TokenBucket::new(ACTIVITY_PER_SEC, ACTIVITY_BURST),
    };
    Ok(Some((session, tx, rx, reg, replayed)))
}

impl Shared {
    fn convs_text_max(&self) -> usize {
        self.limits.text_max_chars
    }

    fn expiry_instant(&self, exp: i64) -> Instant {
        let left = exp + self.token_leeway as i64 - now();
        Instant::now() + Duration::from_secs(left.max(0) as u64)
    }
}

/// The `ref` of an error refusing a frame before it was processed (rate limit): the `cid` of a
/// `send`, otherwise the frame's type, as for the errors of processed frames. The frame is decoded
/// (it is at most `frame_max` bytes; larger ones get no ref) but not dispatched.
fn unprocessed_ref(text: &str, frame_max: usize) -> String {
    if text.len() > frame_max {
        return String::new();
    }
    match decode(text) {
        Ok(ClientFrame::Send { cid, .. }) if valid_cid(&cid) => cid,
        Ok(frame) => frame.type_name().to_string(),
        Err((_, r)) => r.unwrap_or_default(),
    }
}

fn strike(abuse: &mut TokenBucket) -> Result<(), End> {
    if abuse.take() {
        Ok(())
    } else {
        Err(End::Close(close::ABUSIVE, "too many bad frames"))
    }
}

/// The ids a resume sent in `missed` (ascending): a live `message` frame of one of them is not sent
/// again. Only those ids: in a cluster a live message below the last replayed id can still be new
/// (nodes commit concurrently). Dropped at the first live message above them all (from then on live
/// frames are newer than the replay; a late repeat is one the client drops by id).
#[derive(Debug, Default)]
struct Replayed {
    ids: Vec<i64>,
}

impl Replayed {
    /// Whether live message `id` was replayed already.
    fn has(&mut self, id: i64) -> bool {
        match self.ids.last() {
            None => false,
            Some(last) if id > *last => {
                self.ids = Vec::new();
                false
            }
            Some(_) => self.ids.binary_search(&id).is_ok(),
        }
    }
}

/// Writes one outbox item; returns false if it was a close request (handled by the caller).
async fn write_item<S>(ws: &mut Ws<S>, item: Outgoing, replayed: &mut Replayed) -> Result<(), End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match item {
        Outgoing::Frame(f) => feed_text(ws, f).await,
        Outgoing::Message { id, frame } => {
            if replayed.has(id) {
                return Ok(());
            }
            feed_text(ws, frame).await
        }
        Outgoing::Close(code, reason) => Err(End::Close(code, reason)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn authenticated<S>(
    ws: &mut Ws<S>,
    shared: &Shared,
    shutdown: &mut watch::Receiver<bool>,
    mut session: Session,
    tx: OutboxTx,
    mut rx: OutboxRx,
    mut replayed: Replayed,
) -> End
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let uid = session.person.id;
    let ping_every = Duration::from_secs(shared.limits.ping_interval_secs);
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    let mut last_seen = Instant::now();
    let expiry = sleep_until(shared.expiry_instant(session.exp));
    tokio::pin!(expiry);
    let mut bucket = TokenBucket::new(
        shared.limits.rate_per_sec as f64,
        shared.limits.rate_burst as f64,
    );
    let mut abuse = TokenBucket::new(1.0, ABUSE_BUDGET);
    let frame_max = shared.limits.frame_max_bytes;

    loop {
        tokio::select! {
            biased;
            _ = shutdown.changed() => {
                // Deliver what is already queued (acks of committed sends included), then close.
                while let Some(item) = rx.try_recv() {
                    if let Outgoing::Close(..) = item {
                        continue;
                    }
                    if write_item(ws, item, &mut replayed).await.is_err() {
                        return End::Gone;
                    }
                }
                let _ = ws.flush().await;
                return End::Close(close::RESTART, "service restart");
            }
            item = rx.recv() => {
                let Some(item) = item else {
                    if rx.overflowed() {
                        return End::Close(close::TOO_SLOW, "too slow");
                    }
                    return End::Gone;
                };
                if let Err(e) = write_item(ws, item, &mut replayed).await { return e; }
                for _ in 1..WRITE_BATCH {
                    match rx.try_recv() {
                        Some(item) => if let Err(e) = write_item(ws, item, &mut replayed).await { return e; },
                        None => break,
                    }
                }
                if rx.overflowed() {
                    return End::Close(close::TOO_SLOW, "too slow");
                }
                if let Err(e) = ws.flush().await { return socket_end(&e); }
            }
            msg = ws.next() => {
                last_seen = Instant::now();
                let text = match msg {
                    None => return End::Gone,
                    Some(Err(e)) => return socket_end(&e),
                    Some(Ok(WsMessage::Text(t))) => t,
                    Some(Ok(WsMessage::Binary(_))) => {
                        if let Err(e) = strike(&mut abuse) { return e; }
                        if let Err(e) = send_error(ws, ErrorCode::BinaryUnsupported, "").await { return e; }
                        continue;
                    }
                    Some(Ok(WsMessage::Close(_))) => return End::PeerClosed,
                    Some(Ok(_)) => continue,
                };
                metrics::FRAMES_IN.inc();
                if !bucket.take() {
                    if let Err(e) = strike(&mut abuse) { return e; }
                    let reference = unprocessed_ref(&text, frame_max);
                    if let Err(e) = send_error(ws, ErrorCode::RateLimited, &reference).await { return e; }
                    continue;
                }
                if text.len() > frame_max {
                    if let Err(e) = strike(&mut abuse) { return e; }
                    if let Err(e) = send_error(ws, ErrorCode::FrameTooLarge, "").await { return e; }
                    continue;
                }
                let frame = match decode(&text) {
                    Ok(f) => f,
                    Err((e, r)) => {
                        if let Err(e) = strike(&mut abuse) { return e; }
                        if let Err(e) = send_error(ws, e.code(), r.as_deref().unwrap_or("")).await { return e; }
                        continue;
                    }
                };
                // Boxed: request handling (database futures) is heap-allocated only while it runs.
                let started = Instant::now();
                let result = Box::pin(dispatch(ws, shared, &mut session, &tx, frame)).await;
                // Frames the client sent while this request kept the socket unread arrive as one
                // burst: they are the server's backlog, not the client's abuse.
                bucket.credit(started.elapsed());
                match result {
                    Ok(Some(new_exp)) => expiry.as_mut().reset(shared.expiry_instant(new_exp)),
                    Ok(None) => {}
                    Err(e) => return e,
                }
            }
            _ = ping.tick() => {
                if last_seen.elapsed() > ping_every * 2 {
                    tracing::debug!(user_id = uid, "peer silent for two ping intervals");
                    return End::Gone;
                }
                if let Err(e) = ws.send(WsMessage::Ping(Default::default())).await { return socket_end(&e); }
            }
            _ = &mut expiry => return End::Close(close::TOKEN_EXPIRED, "token expired"),
        }
    }
}

/// Handles one decoded frame. Returns the new token expiry after a successful refresh.
async fn dispatch<S>(
    ws: &mut Ws<S>,
    shared: &Shared,
    session: &mut Session,
    tx: &OutboxTx,
    frame: ClientFrame,
) -> Result<Option<i64>, End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let uid = session.person.id;
    let convs = &shared.convs;
    match frame {
        ClientFrame::Hello { .. } => {
            send_error(ws, ErrorCode::AlreadyAuthenticated, "hello").await?
        }
        ClientFrame::Token { token } => match shared.auth.verifier.verify(&token) {
            // Same user and same Moodle session, or the socket's session binding could be swapped.
            Ok(v) if v.user_id == uid && v.sid == session.sid => {
                session.caps = v.caps;
                session.exp = v.exp;
                send_text(ws, ServerFrame::TokenOk { exp: v.exp }.to_json()).await?;
                return Ok(Some(v.exp));
            }
            Ok(_) => send_error(ws, ErrorCode::TokenMismatch, "token").await?,
            Err(_) => send_error(ws, ErrorCode::TokenInvalid, "token").await?,
        },
        ClientFrame::Send {
            to,
            conv,
            cid,
            text,
        } => {
            // `decode` let through only frames naming exactly one of them.
            let Some(target) = Target::of(to, conv) else {
                return send_error(ws, ErrorCode::BadFrame, "send")
                    .await
                    .map(|_| None);
            };
            let sent =
                convs.bounded(convs.send(&session.person, &session.caps, target, &cid, &text, tx));
            if let Err(e) = sent.await {
                log_service_error(&e);
                let reference = if crate::protocol::valid_cid(&cid) {
                    cid.as_str()
                } else {
                    "send"
                };
                send_error(ws, e.code(), reference).await?;
            }
        }
        ClientFrame::History {
            with,
            conv,
            before,
            limit,
        } => {
            let Some(target) = Target::of(with, conv) else {
                return send_error(ws, ErrorCode::BadFrame, "history")
                    .await
                    .map(|_| None);
            };
            match convs
                .bounded(convs.history(uid, &session.caps, target, before, limit))
                .await
            {
                Ok(json) => send_text(ws, json).await?,
                Err(e) => {
                    log_service_error(&e);
                    send_error(ws, e.code(), "history").await?
                }
            }
        }
        ClientFrame::Conversations { offset, limit } => {
            let limit = limit.unwrap_or(crate::protocol::CONVERSATIONS_DEFAULT);
            match convs
                .bounded(convs.conversations(
                    &session.person,
                    session.caps.viewhidden,
                    offset.unwrap_or(0),
                    limit,
                ))
                .await
            {
                Ok(json) => send_text(ws, json).await?,
                Err(e) => {
                    log_service_error(&e);
                    send_error(ws, e.code(), "conversations").await?
                }
            }
        }
        ClientFrame::People { query } => {
            match convs
                .bounded(convs.people(uid, &session.caps, &query))
                .await
            {
                Ok(json) => send_text(ws, json).await?,
                Err(e) => {
                    log_service_error(&e);
                    send_error(ws, e.code(), "people").await?
                }
            }
        }
        ClientFrame::Block { user, block } => {
            let done = convs.bounded(convs.block(uid, &session.caps, user, block));
            if let Err(e) = done.await {
                log_service_error(&e);
                send_error(ws, e.code(), "block").await?
            }
        }
        ClientFrame::Mute { with, conv, mute } => {
            let Some(target) = Target::of(with, conv) else {
                return send_error(ws, ErrorCode::BadFrame, "mute")
                    .await
                    .map(|_| None);
            };
            if let Err(e) = convs.bounded(convs.mute(uid, target, mute)).await {
                log_service_error(&e);
                send_error(ws, e.code(), "mute").await?
            }
        }
        ClientFrame::Star { with, conv } => {
            let Some(target) = Target::of(with, conv) else {
                return send_error(ws, ErrorCode::BadFrame, "star")
                    .await
                    .map(|_| None);
            };
            if let Err(e) = convs.bounded(convs.star(uid, target)).await {
                log_service_error(&e);
                send_error(ws, e.code(), "star").await?
            }
        }
        ClientFrame::Delete { id } => {
            let done = convs.bounded(convs.delete_message(uid, &session.caps, id));
            if let Err(e) = done.await {
                log_service_error(&e);
                send_error(ws, e.code(), "delete").await?
            }
        }
        ClientFrame::DeleteConversation { with, conv } => {
            let Some(target) = Target::of(with, conv) else {
                return send_error(ws, ErrorCode::BadFrame, "delete_conversation")
                    .await
                    .map(|_| None);
            };
            let done = convs.bounded(convs.delete_conversation(uid, &session.caps, target));
            if let Err(e) = done.await {
                log_service_error(&e);
                send_error(ws, e.code(), "delete_conversation").await?
            }
        }
        ClientFrame::Roster {} => match convs.bounded(convs.roster(uid)).await {
            Ok(json) => send_text(ws, json).await?,
            Err(e) => {
                log_service_error(&e);
                send_error(ws, e.code(), "roster").await?
            }
        },
        ClientFrame::CourseMembers {
            course,
            offset,
            limit,
        } => {
            match convs
                .bounded(convs.course_members(uid, &session.caps, course, offset, limit))
                .await
            {
                Ok(json) => send_text(ws, json).await?,
                Err(e) => {
                    log_service_error(&e);
                    send_error(ws, e.code(), "course_members").await?
                }
            }
        }
        ClientFrame::Read { with, conv, upto } => {
            let Some(target) = Target::of(with, conv) else {
                return send_error(ws, ErrorCode::BadFrame, "read")
                    .await
                    .map(|_| None);
            };
            if let Err(e) = convs.bounded(convs.read(uid, target, upto)).await {
                log_service_error(&e);
                send_error(ws, e.code(), "read").await?;
            }
        }
        ClientFrame::Typing { to, conv } => {
            let Some(target) = Target::of(to, conv) else {
                return send_error(ws, ErrorCode::BadFrame, "typing")
                    .await
                    .map(|_| None);
            };
            match convs
                .bounded(convs.typing(uid, &session.caps, target))
                .await
            {
                // Typing is best-effort: a database that does not answer drops it silently.
                Ok(()) | Err(ServiceError::Store(_)) => {}
                Err(e) => {
                    log_service_error(&e);
                    send_error(ws, e.code(), "typing").await?;
                }
            }
        }
        ClientFrame::Window { with, state } => {
            if let Err(e) = convs
                .bounded(convs.window(uid, &session.caps, with, state))
                .await
            {
                log_service_error(&e);
                send_error(ws, e.code(), "window").await?;
            }
        }
        ClientFrame::Activity { state } => {
            if session.activity.take() {
                shared
                    .registry
                    .set_activity(uid, session.conn_id, state.is_active());
            } else {
                send_error(ws, ErrorCode::RateLimited, "activity").await?;
            }
        }
        ClientFrame::Ping { n } => {
            let n = n.unwrap_or(serde_json::Value::Null);
            send_text(ws, ServerFrame::Pong { n: &n }.to_json()).await?;
        }
    }
    Ok(None)
}

fn log_service_error(e: &ServiceError) {
    if let ServiceError::Store(StoreError::Unavailable) = e {
        // Logged once when the database was marked unreachable, not once per request.
        tracing::debug!("request refused: the database is unreachable");
    } else if e.code() == ErrorCode::Internal {
        tracing::error!(error = %e, "request failed");
    } else {
        tracing::debug!(code = e.code().as_str(), "request refused");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_replayed_ids_are_not_sent_again() {
        let mut r = Replayed {
            ids: vec![10, 12, 15],
        };
        assert!(r.has(12));
        // Below the last replayed id but not replayed (another node committed it later): sent.
        assert!(!r.has(11));
        assert!(r.has(15));
        // Above them all: sent, and the list is dropped.
        assert!(!r.has(16));
        assert!(r.ids.is_empty());
        assert!(
            !r.has(12),
            "a late repeat now goes out (the client drops it by id)"
        );
    }

    #[test]
    fn a_stall_is_credited_not_charged() {
        let start = Instant::now();
        let mut b = TokenBucket::new(20.0, 40.0);
        b.last = start;
        // The server did not read for 5 s: a client at the full rate sent 100 frames meanwhile,
        // on top of its burst; all of them pass, and no more.
        b.credit(Duration::from_secs(5));
        for _ in 0..140 {
            assert!(b.take_at(start));
        }
        assert!(!b.take_at(start));
        // Ordinary handling times earn nothing; the credit is capped.
        let mut c = TokenBucket::new(20.0, 40.0);
        c.last = start;
        c.credit(Duration::from_millis(50));
        for _ in 0..40 {
            assert!(c.take_at(start));
        }
        assert!(!c.take_at(start));
        let mut d = TokenBucket::new(20.0, 40.0);
        d.last = start;
        d.credit(Duration::from_secs(3600));
        let passed = (0..10_000).filter(|_| d.take_at(start)).count();
        assert_eq!(passed, 40 + 200);
    }

    #[test]
    fn bucket_allows_burst_then_rate() {
        let start = Instant::now();
        let mut b = TokenBucket::new(20.0, 40.0);
        b.last = start;
        for _ in 0..40 {
            assert!(b.take_at(start));
        }
        assert!(!b.take_at(start));
        // 100 ms later: two more tokens.
        let later = start + Duration::from_millis(100);
        assert!(b.take_at(later));
        assert!(b.take_at(later));
        assert!(!b.take_at(later));
        // Refill is capped at the burst.
        let much_later = later + Duration::from_secs(3600);
        for _ in 0..40 {
            assert!(b.take_at(much_later));
        }
        assert!(!b.take_at(much_later));
    }
}

#[cfg(test)]
mod size_tests {
    fn size_of_return<A, F: FnOnce(A) -> Fut, Fut>(_: &F) -> usize {
        std::mem::size_of::<Fut>()
    }

    /// An idle connection's task holds only the read loop's state (the handshake and request
    /// handling are boxed while they run), so it stays small.
    #[tokio::test]
    async fn idle_task_state_stays_small() {
        let (a, _b) = tokio::io::duplex(64);
        let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            a,
            tokio_tungstenite::tungstenite::protocol::Role::Server,
            None,
        )
        .await;
        let (_tx, rx) = tokio::sync::watch::channel(false);
        // Never called: only the type of the future it would return is measured.
        let f = move |shared: std::sync::Arc<super::Shared>| super::run(ws, 1, shared, rx);
        let size = size_of_return(&f);
        assert!(size < 2560, "connection task state grew to {size} bytes");
    }
}

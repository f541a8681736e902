//! The listener: accepts TCP connections, speaks just enough HTTP/1.1 (hyper) to route them, and
//! upgrades `/ws` to a WebSocket handed to `connection`.
//!
//! Owns: the accept loop with a connection cap (a semaphore permit taken at the upgrade moves into
//! each WebSocket task; over the cap the socket is upgraded and closed with 4029), the separate
//! bound on connections that have not sent a request yet (they cannot hold the cap: past
//! `max_connections` of them the oldest is closed), back-off on accept errors, the Origin check
//! (cross-site WebSocket hijacking is refused with 403 before the upgrade), refusing upgrade
//! requests that carry a body (400), the WebSocket settings (small read buffer, small write buffer
//! bound, hard message cap of 4 × `frame_max_bytes`) and stream limits (write deadline, inbound
//! frame budget: [`crate::ws::coalesce`]), `/healthz`, `/metrics`, the extra routes plugged in (the demo's, in demo mode), and
//! stopping to accept on shutdown.
//! Must not: parse protocol frames or touch the database beyond the health check.

use crate::ops::config::LimitsConfig;
use crate::protocol::close;
use crate::store::Store;
use crate::ws::coalesce::{Coalesce, StreamLimits};
use crate::ws::connection::{self, Shared};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

/// HTTP response body type used by every route.
pub type Body = Full<Bytes>;

/// Routes the composition root plugs into the listener (the demo's page and token endpoint in demo
/// mode): asked for any request the daemon's own routes do not answer. The server owns this
/// interface, so it never depends on what plugs into it.
pub trait ExtraRoutes: Send + Sync {
    /// Answers one request.
    fn handle(
        &self,
        req: Request<Incoming>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send + '_>>;

    /// `Origin`s accepted besides the site's (e.g. the demo's own address under another loopback
    /// name), as `site_origin` normalises them.
    fn extra_origins(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What the listener needs.
pub struct ServerState {
    pub shared: Arc<Shared>,
    pub store: Store,
    /// The accepted `Origin`s: the site's, then any the extra routes add.
    pub origins: Vec<String>,
    pub ws_config: WebSocketConfig,
    /// Routes beyond the daemon's own, if any.
    pub extra: Option<Arc<dyn ExtraRoutes>>,
    pub max_connections: usize,
    /// Flips to true when WebSockets must close (after the message writer has drained).
    pub close_sockets: watch::Receiver<bool>,
    /// This node's cluster, when it is part of one (its state is in `/healthz` and `/metrics`).
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
}

/// A clone is held by every connection task; when all are dropped, every connection has ended.
pub type Tracker = mpsc::Sender<()>;

/// Bytes tungstenite may hold of frames it could not hand to [`Coalesce`] yet. The connection
/// waits for each of its frames to be taken before writing the next (at most 516 bytes: server
/// frames are fragmented at 512), so only tungstenite's automatic pongs can pile up here; past this
/// bound it keeps just the latest (RFC 6455 §5.5.3 allows answering only the most recent ping), and
/// a frame of the connection's own that does not fit closes the socket with 4009.
pub const WS_WRITE_BUFFER_MAX: usize = 2048;

/// Longest time the bytes pending for a peer (at most [`crate::ws::coalesce::HIGH_WATER`] and a frame)
/// may wait for it to read them; then the socket is closed with 4009.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// WebSocket settings for a given frame limit: a small read buffer (512 B; idle sockets stay small,
/// larger frames grow it as needed), no write buffering (that is [`Coalesce`]'s job) with at most
/// [`WS_WRITE_BUFFER_MAX`] bytes held, and a hard cap of 4 × `frame_max_bytes` per message (beyond
/// it the socket is closed with 1009).
pub fn ws_config(frame_max_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(0)
        .max_write_buffer_size(WS_WRITE_BUFFER_MAX)
        .max_message_size(Some(frame_max_bytes * 4))
        .max_frame_size(Some(frame_max_bytes * 4))
}

/// The stream limits of every socket: the write deadline, and a budget of incoming WebSocket frames
/// of any kind (data, continuation, control) of 4 × the message rate + 16 per second, bursts of 4 ×
/// the message burst + 64. A client sends one frame per message (a fragmenting one a few) and a pong
/// per ping, so only a flood of frames that never make a message — empty continuations, pings —
/// reaches it.
pub fn stream_limits(limits: &LimitsConfig) -> StreamLimits {
    StreamLimits {
        write_timeout: WRITE_TIMEOUT,
        frames_per_sec: 4.0 * limits.rate_per_sec as f32 + 16.0,
        frames_burst: 4.0 * limits.rate_burst as f32 + 64.0,
    }
}

/// A plain response.
pub fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// How long an HTTP connection that has sent no request yet when the shutdown begins may still send
/// it and be answered before it is closed gracefully.
const ACCEPTED_GRACE: Duration = Duration::from_millis(500);

/// Longest wait for a request's headers, the first one included (hyper closes the connection then).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// One accepted connection while it has not sent a request.
#[derive(Debug, Default)]
struct Fresh {
    /// A request arrived (see the shutdown branch of `serve_http`).
    requested: AtomicBool,
    /// No longer counted as waiting: it sent a request, ended, or was pushed out.
    left: AtomicBool,
    /// Signalled when it is pushed out.
    evict: Notify,
}

/// The connections that have not sent a request yet, oldest first. They do not hold the WebSocket
/// cap; at most `cap` of them wait at once, and a new one pushes out the oldest, so idle sockets
/// cannot keep anyone out (hyper also closes each after [`HEADER_READ_TIMEOUT`]).
#[derive(Debug)]
struct Waiting {
    queue: Mutex<VecDeque<Arc<Fresh>>>,
    count: AtomicUsize,
    cap: usize,
}

impl Waiting {
    fn new(cap: usize) -> Self {
        Waiting {
            queue: Mutex::new(VecDeque::new()),
            count: AtomicUsize::new(0),
            cap: cap.max(1),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Fresh>>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection; pushes out the oldest waiting one if there are too many.
    fn arrive(&self) -> Arc<Fresh> {
        let fresh = Arc::new(Fresh::default());
        let mut q = self.queue();
        q.push_back(fresh.clone());
        self.count.fetch_add(1, Ordering::AcqRel);
        while self.count.load(Ordering::Acquire) > self.cap {
            let Some(oldest) = q.pop_front() else { break };
            if self.leave(&oldest) {
                oldest.evict.notify_one();
            }
        }
        while q.front().is_some_and(|f| f.left.load(Ordering::Acquire)) {
            q.pop_front();
        }
        // Entries that left behind a waiting one stay queued until it goes; sweep them now and then.
        if q.len() > 2 * self.count.load(Ordering::Acquire) + 64 {
            q.retain(|f| !f.left.load(Ordering::Acquire));
        }
        fresh
    }

    /// Stops counting `fresh`; true if this call did (it was still waiting).
    fn leave(&self, fresh: &Fresh) -> bool {
        let first = !fresh.left.swap(true, Ordering::AcqRel);
        if first {
            self.count.fetch_sub(1, Ordering::AcqRel);
        }
        first
    }
}

/// Accepts until `shutdown` flips. Holds `tracker` until it returns.
pub async fn run(
    listener: TcpListener,
    state: Arc<ServerState>,
    mut shutdown: watch::Receiver<bool>,
    tracker: Tracker,
) {
    let permits = Arc::new(Semaphore::new(state.max_connections));
    let waiting = Arc::new(Waiting::new(state.max_connections));
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                backoff = Duration::from_millis(5);
                a
            }
            Err(e) => {
                // EMFILE and friends: wait and retry rather than spin.
                tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let fresh = waiting.arrive();
        let conn = Conn {
            peer,
            state: state.clone(),
            permits: permits.clone(),
            tracker: tracker.clone(),
        };
        let sd = shutdown.clone();
        tokio::spawn(serve_http(stream, conn, waiting.clone(), fresh, sd));
    }
    tracing::info!("stopped accepting connections");
}

/// What every request of one HTTP connection needs.
#[derive(Clone)]
struct Conn {
    peer: SocketAddr,
    state: Arc<ServerState>,
    /// The WebSocket cap: a permit is taken at the upgrade.
    permits: Arc<Semaphore>,
    tracker: Tracker,
}

async fn serve_http(
    stream: TcpStream,
    conn: Conn,
    waiting: Arc<Waiting>,
    fresh: Arc<Fresh>,
    mut shutdown: watch::Receiver<bool>,
) {
    let peer = conn.peer;
    let svc = {
        let conn = conn.clone();
        let fresh = fresh.clone();
        let waiting = waiting.clone();
        service_fn(move |req| {
            if !fresh.requested.swap(true, Ordering::Relaxed) {
                waiting.leave(&fresh);
            }
            let conn = conn.clone();
            async move { Ok::<_, Infallible>(one_request_per_connection(route(req, conn).await)) }
        })
    };
    let http = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        // Kept on for the upgrade's sake (without it hyper answers the 101 with `Connection:
        // close`); every other answer ends its connection itself, see `one_request_per_connection`.
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc)
        .with_upgrades();
    tokio::pin!(http);
    tokio::select! {
        r = http.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, %peer, "http connection ended with an error");
            }
        }
        // Only sent while it has had no request (see `Waiting::arrive`).
        _ = fresh.evict.notified() => {
            tracing::debug!(%peer, "idle connection pushed out by newer ones");
        }
        _ = shutdown.changed() => {
            // A connection accepted just before the shutdown may not have sent its request yet, and
            // hyper's graceful shutdown closes such an idle connection unanswered; the next daemon only
            // gets what is still queued on the listening socket. So a connection that has had no
            // request yet may finish on its own first; one that has is closed gracefully at once.
            let unasked = !fresh.requested.load(Ordering::Relaxed);
            let finished =
                unasked && tokio::time::timeout(ACCEPTED_GRACE, http.as_mut()).await.is_ok();
            if !finished {
                http.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(Duration::from_secs(2), http.as_mut()).await;
            }
        }
    }
    waiting.leave(&fresh);
    drop(conn);
}

async fn route(mut req: Request<Incoming>, conn: Conn) -> Response<Body> {
    let path = req.uri().path().to_string();
    let state = &conn.state;
    match (req.method(), path.as_str()) {
        (&Method::GET, "/ws") => upgrade(&mut req, &conn),
        (&Method::GET, "/healthz") => match state.store.ping().await {
            // Still serving its own sockets and storing: 200, but say so.
            Ok(()) if state.cluster.as_ref().is_some_and(|c| !c.is_up()) => respond(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                format!(
                    "degraded: {}; messages between nodes go through the database\n",
                    state
                        .cluster
                        .as_ref()
                        .and_then(|c| c.degraded_reason())
                        .unwrap_or("Redis unreachable")
                ),
            ),
            Ok(()) => respond(StatusCode::OK, "text/plain; charset=utf-8", "ok\n"),
            Err(e) => {
                tracing::warn!(error = %e, "health check: database unavailable");
                respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain; charset=utf-8",
                    "database unavailable\n",
                )
            }
        },
        (&Method::GET, "/metrics") => {
            let (users, _) = state.shared.registry.counts();
            let mut body = crate::ops::metrics::render();
            body.push_str(&format!(
                "# HELP dockchat_users_online Users with at least one authenticated connection\n# TYPE dockchat_users_online gauge\ndockchat_users_online {users}\n"
            ));
            if let Some(c) = &state.cluster {
                body.push_str(&format!(
                    "# HELP dockchat_cluster_up 1 while Redis is reachable, 0 when degraded (messages between nodes go through the database)\n# TYPE dockchat_cluster_up gauge\ndockchat_cluster_up {}\n# HELP dockchat_cluster_dropped_total Publications to other nodes dropped (Redis away or queue full)\n# TYPE dockchat_cluster_dropped_total counter\ndockchat_cluster_dropped_total {}\n# HELP dockchat_cluster_silent_total Subscriptions rebuilt because they stopped delivering (the node's own probe did not come back in time)\n# TYPE dockchat_cluster_silent_total counter\ndockchat_cluster_silent_total {}\n",
                    u8::from(c.is_up()),
                    c.dropped(),
                    c.silent_subscriptions()
                ));
            }
            respond(StatusCode::OK, "text/plain; version=0.0.4", body)
        }
        _ => match &state.extra {
            Some(extra) => extra.handle(req).await,
            None => respond(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "not found\n",
            ),
        },
    }
}

/// Ends the connection after any answer but the upgrade: the daemon serves only `/ws`, `/healthz`
/// and `/metrics`, and a kept-alive connection would hold a socket outside every cap (the
/// idle-connection rule counts a connection only until its first request).
fn one_request_per_connection<B>(mut response: Response<B>) -> Response<B> {
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn header_has(req: &Request<Incoming>, name: header::HeaderName, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|v| {
        v.to_str()
            .map(|s| s.split(',').any(|p| p.trim().eq_ignore_ascii_case(token)))
            .unwrap_or(false)
    })
}

/// Whether the request announces a body (`Transfer-Encoding`, or a `Content-Length` other than 0).
fn has_body(req: &Request<Incoming>) -> bool {
    let h = req.headers();
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get_all(header::CONTENT_LENGTH)
            .iter()
            .any(|v| v.as_bytes() != b"0")
}

fn upgrade(req: &mut Request<Incoming>, conn: &Conn) -> Response<Body> {
    let peer = conn.peer;
    let state = &conn.state;
    let sent = req
        .headers()
        .get(header::ORIGIN)
        .map(|o| String::from_utf8_lossy(o.as_bytes()).into_owned());
    let origin_ok = sent
        .as_deref()
        .and_then(|o| crate::ops::config::site_origin(o.trim()))
        .is_some_and(|o| state.origins.contains(&o));
    if !origin_ok {
        // Both named, so a site_url that does not match the browser's address is plain to see.
        tracing::info!(
            %peer,
            origin = ?crate::protocol::clip(sent.as_deref().unwrap_or("(none)"), 200),
            expected = ?state.origins,
            "websocket refused: origin not allowed"
        );
        return respond(
            StatusCode::FORBIDDEN,
            "text/plain; charset=utf-8",
            "origin not allowed\n",
        );
    }
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let version_ok = req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let (Some(key), true, true, true) = (
        key,
        version_ok,
        header_has(req, header::UPGRADE, "websocket"),
        header_has(req, header::CONNECTION, "upgrade"),
    ) else {
        return respond(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            "websocket upgrade expected\n",
        );
    };
    // An upgrade request has no body; one that announces one (request smuggling through a proxy
    // that reads it differently) is refused rather than have its body taken for WebSocket frames.
    if has_body(req) {
        tracing::info!(%peer, "websocket refused: the upgrade request has a body");
        return respond(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            "an upgrade request has no body\n",
        );
    }
    let on_upgrade = hyper::upgrade::on(req);
    // The WebSocket cap is taken here, not at accept: sockets that never get this far hold none.
    let permit = conn.permits.clone().try_acquire_owned().ok();
    let config = state.ws_config;
    let limits = stream_limits(&state.shared.limits);
    let shutdown = state.close_sockets.clone();
    let shared = state.shared.clone();
    let tracker = conn.tracker.clone();
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, %peer, "upgrade failed");
                return;
            }
        };
        // Use the bare TCP stream when possible (no extra boxing), and let go of hyper's read
        // buffer now: only the bytes already read past the request (usually none) are kept.
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                let mut tcp = Coalesce::new(parts.io.into_inner(), limits);
                let leftover = (!parts.read_buf.is_empty()).then(|| parts.read_buf.to_vec());
                drop(parts.read_buf);
                let ws = match leftover {
                    None => WebSocketStream::from_raw_socket(tcp, Role::Server, Some(config)).await,
                    Some(part) => {
                        if tcp.count_read_ahead(&part).is_err() {
                            tracing::debug!(%peer, "too many frames with the upgrade request");
                            return;
                        }
                        WebSocketStream::from_partially_read(tcp, part, Role::Server, Some(config))
                            .await
                    }
                };
                // A task of its own for the WebSocket's lifetime: this task's state (hyper's upgrade
                // future and everything captured for it, ≈1 KB) is freed instead of sitting under
                // every idle connection.
                let conn = run_ws(ws, peer, shared, permit, shutdown);
                tokio::spawn(async move {
                    conn.await;
                    drop(tracker);
                });
            }
            Err(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    Coalesce::new(TokioIo::new(upgraded), limits),
                    Role::Server,
                    Some(config),
                )
                .await;
                run_ws(ws, peer, shared, permit, shutdown).await;
                drop(tracker);
            }
        }
    });
    let mut r = respond(StatusCode::SWITCHING_PROTOCOLS, "text/plain", Bytes::new());
    r.headers_mut().remove(header::CONTENT_TYPE);
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

/// The connection's whole life as one boxed future that owns the socket and nothing else of the
/// upgrade (an idle connection's memory is mostly this allocation).
fn run_ws<S>(
    ws: WebSocketStream<S>,
    peer: SocketAddr,
    shared: Arc<Shared>,
    permit: Option<OwnedSemaphorePermit>,
    shutdown: watch::Receiver<bool>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    match permit {
        Some(permit) => {
            let conn = connection::serve(ws, peer, shared, shutdown);
            Box::pin(async move {
                conn.await;
                drop(permit);
            })
        }
        None => {
            tracing::warn!(%peer, "connection refused: server at max_connections");
            Box::pin(connection::refuse(ws, close::TOO_MANY, "server full"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::Message;

    #[test]
    fn idle_connections_past_the_cap_push_out_the_oldest() {
        let waiting = Waiting::new(2);
        let a = waiting.arrive();
        let b = waiting.arrive();
        let c = waiting.arrive();
        assert!(a.left.load(Ordering::Acquire), "the oldest was pushed out");
        assert_eq!(waiting.count.load(Ordering::Acquire), 2);
        // b sends a request: it no longer waits, so the next arrival pushes out no one...
        assert!(waiting.leave(&b));
        assert!(!waiting.leave(&b), "counted once");
        let d = waiting.arrive();
        assert!(!c.left.load(Ordering::Acquire));
        // ...and the one after pushes out c, the oldest still waiting (b is skipped).
        let _e = waiting.arrive();
        assert!(c.left.load(Ordering::Acquire));
        assert!(!d.left.load(Ordering::Acquire));
        assert_eq!(waiting.count.load(Ordering::Acquire), 2);
        // Connections that moved on do not pile up in the queue.
        for _ in 0..1000 {
            let f = waiting.arrive();
            waiting.leave(&f);
        }
        assert!(waiting.queue().len() <= 2 * 2 + 64 + 1);
    }

    /// A masked ping frame from a client.
    fn client_ping(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x89, 0x80 | payload.len() as u8, 9, 8, 7, 6];
        f.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ [9, 8, 7, 6][i % 4]),
        );
        f
    }

    /// A client that sends pings and never reads: what the daemon holds for it — everything the
    /// client can read once it finally does, the pipe's buffer included — stays under the bound
    /// (pipe + Coalesce's high-water mark + tungstenite's write buffer + one pending pong), however
    /// many pings it sent. (Before: every pong was kept, up to 16 MiB.)
    #[tokio::test]
    async fn pongs_for_a_client_that_never_reads_stay_bounded() {
        const PIPE: usize = 8 * 1024;
        const PINGS: usize = 20_000;
        let (server_io, client_io) = tokio::io::duplex(PIPE);
        // Neither the deadline nor the frame budget may end it: only the byte bound is measured.
        let limits = StreamLimits {
            write_timeout: Duration::from_secs(3600),
            frames_per_sec: 1e9,
            frames_burst: 1e9,
        };
        let mut ws = WebSocketStream::from_raw_socket(
            Coalesce::new(server_io, limits),
            Role::Server,
            Some(ws_config(16 * 1024)),
        )
        .await;
        let (mut client_rd, mut client_wr) = tokio::io::split(client_io);
        let writer = tokio::spawn(async move {
            let ping = client_ping(&[b'p'; 125]);
            for _ in 0..PINGS {
                client_wr.write_all(&ping).await.expect("ping");
            }
            client_wr
        });
        for _ in 0..PINGS {
            match ws.next().await {
                Some(Ok(Message::Ping(_))) => {}
                other => panic!("expected a ping, got {other:?}"),
            }
        }
        let _client_wr = writer.await.expect("writer");
        // Now the client reads everything the daemon still has for it.
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            client_rd.read_to_end(&mut all).await.expect("read");
            all.len()
        });
        ws.flush().await.expect("flush");
        drop(ws);
        let received = reader.await.expect("reader");
        let bound = PIPE + crate::ws::coalesce::HIGH_WATER + WS_WRITE_BUFFER_MAX + 127;
        assert!(
            received <= bound,
            "{received} bytes of pongs were held for a client that never read (bound {bound})"
        );
        assert!(received > PIPE, "the pipe was never full: {received} bytes");
    }
}

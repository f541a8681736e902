//! The listener: accepts TCP connections, speaks just enough HTTP/1.1 (hyper) to route them, and
//! upgrades `/ws` to a WebSocket handed to `connection`.
//!
//! Owns: the accept loop with a connection cap (a semaphore permit moves into each WebSocket task;
//! over the cap the socket is upgraded and closed with 4029), back-off on accept errors, the Origin
//! check (cross-site WebSocket hijacking is refused with 403 before the upgrade), the WebSocket
//! settings (small read buffer, hard message cap of 4 × `frame_max_bytes`), `/healthz`, `/metrics`,
//! the demo routes in demo mode, and stopping to accept on shutdown.
//! Must not: parse protocol frames or touch the database beyond the health check.

use crate::connection::{self, Shared};
use crate::demo::Demo;
use crate::protocol::close;
use crate::store::Store;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

/// HTTP response body type used by every route.
pub type Body = Full<Bytes>;

/// What the listener needs.
pub struct ServerState {
    pub shared: Arc<Shared>,
    pub store: Store,
    /// The only accepted `Origin`.
    pub origin: String,
    pub ws_config: WebSocketConfig,
    pub demo: Option<Arc<Demo>>,
    pub max_connections: usize,
    /// Flips to true when WebSockets must close (after the message writer has drained).
    pub close_sockets: watch::Receiver<bool>,
}

/// A clone is held by every connection task; when all are dropped, every connection has ended.
pub type Tracker = mpsc::Sender<()>;

/// WebSocket settings for a given frame limit: a small read buffer (2 KiB; idle sockets stay small,
/// larger frames grow it as needed) and a
/// hard cap of 4 × `frame_max_bytes` per message (beyond it the socket is closed with 1009).
pub fn ws_config(frame_max_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(0)
        .max_write_buffer_size(16 * 1024 * 1024)
        .max_message_size(Some(frame_max_bytes * 4))
        .max_frame_size(Some(frame_max_bytes * 4))
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

/// Accepts until `shutdown` flips. Holds `tracker` until it returns.
pub async fn run(
    listener: TcpListener,
    state: Arc<ServerState>,
    mut shutdown: watch::Receiver<bool>,
    tracker: Tracker,
) {
    let permits = Arc::new(Semaphore::new(state.max_connections));
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
        let permit = permits.clone().try_acquire_owned().ok();
        let state = state.clone();
        let sd = shutdown.clone();
        let tr = tracker.clone();
        tokio::spawn(async move {
            serve_http(stream, peer, state, permit, sd, tr).await;
        });
    }
    tracing::info!("stopped accepting connections");
}

async fn serve_http(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<ServerState>,
    permit: Option<OwnedSemaphorePermit>,
    mut shutdown: watch::Receiver<bool>,
    tracker: Tracker,
) {
    let permit = Arc::new(Mutex::new(permit));
    // Whether a request has arrived on this connection (see the shutdown branch below).
    let requested = Arc::new(AtomicBool::new(false));
    let svc = {
        let state = state.clone();
        let shutdown = shutdown.clone();
        let tracker = tracker.clone();
        let requested = requested.clone();
        service_fn(move |req| {
            requested.store(true, Ordering::Relaxed);
            let state = state.clone();
            let permit = permit.clone();
            let shutdown = shutdown.clone();
            let tracker = tracker.clone();
            async move { Ok::<_, Infallible>(route(req, peer, state, permit, shutdown, tracker).await) }
        })
    };
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, %peer, "http connection ended with an error");
            }
        }
        _ = shutdown.changed() => {
            // A connection accepted just before the shutdown may not have sent its request yet, and
            // hyper's graceful shutdown closes such an idle connection unanswered; the next daemon only
            // gets what is still queued on the listening socket. So a connection that has had no
            // request yet may finish on its own first; one that has is closed gracefully at once.
            let fresh = !requested.load(Ordering::Relaxed);
            let finished = fresh && tokio::time::timeout(ACCEPTED_GRACE, conn.as_mut()).await.is_ok();
            if !finished {
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(Duration::from_secs(2), conn.as_mut()).await;
            }
        }
    }
    drop(tracker);
}

async fn route(
    mut req: Request<Incoming>,
    peer: SocketAddr,
    state: Arc<ServerState>,
    permit: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
    shutdown: watch::Receiver<bool>,
    tracker: Tracker,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    match (req.method(), path.as_str()) {
        (&Method::GET, "/ws") => {
            let close_sockets = state.close_sockets.clone();
            drop(shutdown);
            upgrade(&mut req, peer, state, permit, close_sockets, tracker)
        }
        (&Method::GET, "/healthz") => match state.store.ping().await {
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
            let mut body = crate::metrics::render();
            body.push_str(&format!(
                "# HELP dockchat_users_online Users with at least one authenticated connection\n# TYPE dockchat_users_online gauge\ndockchat_users_online {users}\n"
            ));
            respond(StatusCode::OK, "text/plain; version=0.0.4", body)
        }
        _ => match &state.demo {
            Some(demo) => demo.handle(req).await,
            None => respond(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "not found\n",
            ),
        },
    }
}

fn header_has(req: &Request<Incoming>, name: header::HeaderName, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|v| {
        v.to_str()
            .map(|s| s.split(',').any(|p| p.trim().eq_ignore_ascii_case(token)))
            .unwrap_or(false)
    })
}

fn upgrade(
    req: &mut Request<Incoming>,
    peer: SocketAddr,
    state: Arc<ServerState>,
    permit: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
    shutdown: watch::Receiver<bool>,
    tracker: Tracker,
) -> Response<Body> {
    let origin_ok = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .and_then(|o| crate::config::site_origin(o.trim()))
        .is_some_and(|o| o == state.origin);
    if !origin_ok {
        tracing::info!(%peer, "websocket refused: origin not allowed");
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
    let on_upgrade = hyper::upgrade::on(req);
    let permit = permit.lock().ok().and_then(|mut p| p.take());
    let config = state.ws_config;
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, %peer, "upgrade failed");
                return;
            }
        };
        let shared = state.shared.clone();
        // Use the bare TCP stream when possible (no extra boxing), and let go of hyper's read
        // buffer now: only the bytes already read past the request (usually none) are kept.
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                let tcp = crate::coalesce::Coalesce::new(parts.io.into_inner());
                let leftover = (!parts.read_buf.is_empty()).then(|| parts.read_buf.to_vec());
                drop(parts.read_buf);
                let ws = match leftover {
                    None => WebSocketStream::from_raw_socket(tcp, Role::Server, Some(config)).await,
                    Some(part) => {
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
                    crate::coalesce::Coalesce::new(TokioIo::new(upgraded)),
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

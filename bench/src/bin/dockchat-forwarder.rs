//! `dockchat-forwarder`: the baseline `dockchat-bench` compares dockchatd with. A minimal
//! tokio-tungstenite WebSocket forwarder with no authentication and no database: a client says which
//! user it is (`{"type":"hello","user":7}`), and frames go straight to the peer's socket. It speaks just
//! enough of docs/PROTOCOL.md's frame shapes for the bench's `pairs` and `typing` scenarios:
//!
//! - `hello` {`user`} → `welcome` {`v`, `user`: {`id`}, `online`: [], `windows`: [], `cursor`: 0}
//! - `send` {`to`, `cid`, `text`} → `ack` to the sender, `message` to the sender's and the peer's
//!   sockets (as dockchatd does), ids from an in-memory counter
//! - `typing` {`to`} → `typing` {`from`} to the peer, at most one per 2 s per pair (dockchatd's rule)
//! - `ping` {`n`} → `pong` {`n`}
//!
//! Each outgoing frame is serialised once and shared by every recipient; each socket has a bounded
//! outbox drained by its own writer task. Usage: `dockchat-forwarder [--listen 127.0.0.1:0]`; prints
//! `dockchat-forwarder listening on ADDR` when ready; stops on SIGINT/SIGTERM.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use dashmap::DashMap;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Frames queued per socket before the sender is considered too slow and dropped.
const OUTBOX: usize = 256;
/// Minimum time between two forwarded `typing` frames of one pair.
const TYPING_EVERY: Duration = Duration::from_secs(2);

type Outbox = mpsc::Sender<Utf8Bytes>;

struct Hub {
    sockets: DashMap<u64, Outbox>,
    next_id: AtomicU64,
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default)]
    user: Option<u64>,
    #[serde(default)]
    to: Option<u64>,
    #[serde(default, borrow)]
    cid: Option<&'a str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    n: Option<serde_json::Value>,
}

fn main() -> Result<()> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().context("default address")?;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => {
                listen = args
                    .next()
                    .context("--listen needs an address")?
                    .parse()
                    .context("--listen: not an ip:port")?
            }
            "-h" | "--help" => {
                println!("usage: dockchat-forwarder [--listen 127.0.0.1:0]");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other} (try --help)"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(serve(listen))
}

async fn serve(listen: SocketAddr) -> Result<()> {
    let sock = match listen {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .context("socket")?;
    sock.set_reuseaddr(true).context("SO_REUSEADDR")?;
    sock.bind(listen)
        .with_context(|| format!("bind {listen}"))?;
    let listener: TcpListener = sock.listen(4096).context("listen")?;
    println!(
        "dockchat-forwarder listening on {}",
        listener.local_addr().context("local_addr")?
    );
    let hub = Arc::new(Hub {
        sockets: DashMap::new(),
        next_id: AtomicU64::new(1),
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("SIGTERM handler")?;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let hub = hub.clone();
                tokio::spawn(async move {
                    let _ = connection(stream, hub).await;
                });
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

async fn connection(stream: TcpStream, hub: Arc<Hub>) -> Result<()> {
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(16 * 1024)
        .max_message_size(Some(64 * 1024));
    let ws = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await?;
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(OUTBOX);
    let writer = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            if sink.feed(Message::Text(first)).await.is_err() {
                return;
            }
            // Batch whatever else is queued into one flush.
            while let Ok(more) = rx.try_recv() {
                if sink.feed(Message::Text(more)).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let mut me: Option<u64> = None;
    let mut typing_last: HashMap<u64, Instant> = HashMap::new();
    while let Some(msg) = source.next().await {
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
            continue;
        };
        match (frame.kind, me) {
            ("hello", None) => {
                let Some(uid) = frame.user else { continue };
                me = Some(uid);
                hub.sockets.insert(uid, tx.clone());
                let welcome = format!(
                    r#"{{"type":"welcome","v":1,"user":{{"id":{uid}}},"online":[],"windows":[],"cursor":0,"server_time":{}}}"#,
                    unix_now()
                );
                if tx.send(welcome.into()).await.is_err() {
                    break;
                }
            }
            ("send", Some(uid)) => {
                let (Some(to), Some(cid), Some(text)) = (frame.to, frame.cid, frame.text) else {
                    continue;
                };
                let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
                let time = unix_now();
                let cid = json_str(cid);
                let ack = format!(
                    r#"{{"type":"ack","cid":{cid},"id":{id},"time":{time},"to":{to},"dup":false}}"#
                );
                let message: Utf8Bytes = format!(
                    r#"{{"type":"message","message":{{"id":{id},"from":{uid},"to":{to},"text":{},"time":{time},"cid":{cid}}},"sender":{{"id":{uid}}}}}"#,
                    json_str(&text)
                )
                .into();
                if tx.send(ack.into()).await.is_err() || tx.send(message.clone()).await.is_err() {
                    break;
                }
                deliver(&hub, to, message).await;
            }
            ("typing", Some(uid)) => {
                let Some(to) = frame.to else { continue };
                let now = Instant::now();
                let due = typing_last
                    .get(&to)
                    .is_none_or(|last| now.duration_since(*last) >= TYPING_EVERY);
                if due {
                    typing_last.insert(to, now);
                    deliver(
                        &hub,
                        to,
                        format!(r#"{{"type":"typing","from":{uid}}}"#).into(),
                    )
                    .await;
                }
            }
            ("ping", _) => {
                let n = frame.n.unwrap_or(serde_json::Value::Null);
                if tx
                    .send(format!(r#"{{"type":"pong","n":{n}}}"#).into())
                    .await
                    .is_err()
                {
                    break;
                }
            }
            _ => {}
        }
    }
    if let Some(uid) = me {
        hub.sockets.remove_if(&uid, |_, s| s.same_channel(&tx));
    }
    drop(tx);
    let _ = writer.await;
    Ok(())
}

/// Queues `frame` for `to`'s socket, if connected; a full outbox drops the frame (too slow).
async fn deliver(hub: &Hub, to: u64, frame: Utf8Bytes) {
    let peer = hub.sockets.get(&to).map(|s| s.clone());
    if let Some(peer) = peer {
        let _ = peer.try_send(frame);
    }
}

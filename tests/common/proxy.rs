//! A TCP proxy between the daemon and its database, for injecting faults a real network and a real
//! server produce: connections cut, a database that stops answering, a COMMIT whose answer is lost.
//!
//! The proxy forwards bytes as they come. Its [`Fault`] applies to connections open at the time and
//! to new ones; [`Proxy::set`] changes it. Detection of a COMMIT is by its text in the client's bytes
//! (sqlx sends `COMMIT` as a plain query on both MySQL and PostgreSQL), so tests must not send
//! message texts containing the word "COMMIT". In front of Redis, a subscriber's connection is told by the
//! `SUBSCRIBE` its client sends (so texts must not contain "SUBSCRIBE" either).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    None,
    /// Close every connection at once, and new ones as soon as they are accepted (a server that is
    /// down or a refused port).
    Cut,
    /// Keep connections open but forward nothing either way (a frozen server or a partition).
    Freeze,
    /// [`Fault::Freeze`] for the connections whose client has sent a Redis `SUBSCRIBE` (from the
    /// next chunk on), everything else forwarded: a subscription that silently stops delivering
    /// while its node still reaches Redis otherwise.
    FreezeSubscriptions,
    /// Forward the next COMMIT, wait for the server's answer, then drop both sides without passing
    /// the answer on; then back to [`Fault::None`]. The transaction is committed, but its client
    /// cannot know.
    LoseCommitAnswer,
    /// Drop both sides when the next COMMIT arrives, without forwarding it; then back to
    /// [`Fault::None`]. The server rolls the transaction back.
    LoseCommit,
    /// Hold the next COMMIT for [`COMMIT_DELAY`], then forward it; then back to [`Fault::None`]
    /// (a slow disk, a short freeze, a partition that heals: the COMMIT arrives late).
    DelayCommit,
}

/// How long [`Fault::DelayCommit`] holds the COMMIT: longer than the daemon waits for its answer.
pub const COMMIT_DELAY: Duration = Duration::from_secs(8);

/// A running proxy; stops when dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    fault: watch::Sender<Fault>,
    commits_lost: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        if let Ok(conns) = self.conns.lock() {
            for c in conns.iter() {
                c.abort();
            }
        }
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (fault, watch) = watch::channel(Fault::None);
        let fault_for_conns = fault.clone();
        let commits_lost = Arc::new(AtomicU64::new(0));
        let lost = commits_lost.clone();
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let conns_for_task = conns.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let f = *watch.borrow();
                if f == Fault::Cut {
                    drop(client);
                    continue;
                }
                let watch = watch.clone();
                let setter = fault_for_conns.clone();
                let lost = lost.clone();
                let handle = tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(target).await {
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        pipe(client, server, watch, setter, lost).await;
                    }
                });
                if let Ok(mut c) = conns_for_task.lock() {
                    c.retain(|h| !h.is_finished());
                    c.push(handle);
                }
            }
        });
        Proxy {
            addr,
            fault,
            commits_lost,
            task,
            conns,
        }
    }

    /// Starts a proxy in front of a database URL's server; returns it with the URL rewritten to
    /// go through it.
    pub async fn in_front_of(url: &str) -> (Proxy, String) {
        let (scheme, rest) = url.split_once("://").expect("scheme");
        let (auth, after) = match rest.split_once('@') {
            Some((a, r)) => (format!("{a}@"), r),
            None => (String::new(), rest),
        };
        let (hostport, path) = after.split_once('/').expect("database path");
        let target: SocketAddr = hostport.parse().expect("host:port of the database");
        let proxy = Proxy::start(target).await;
        let url = format!("{scheme}://{auth}{}/{path}", proxy.addr);
        (proxy, url)
    }

    /// Changes the fault; takes effect on open connections at once.
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// The fault in force (a one-shot fault reads [`Fault::None`] once it has struck).
    pub fn fault(&self) -> Fault {
        *self.fault.borrow()
    }

    /// COMMITs whose answer (or that itself) the proxy dropped.
    pub fn commits_lost(&self) -> u64 {
        self.commits_lost.load(Ordering::SeqCst)
    }

    /// Waits until a one-shot fault has struck (bounded).
    pub async fn wait_struck(&self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while self.fault() != Fault::None {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the proxy's {:?} never struck",
                self.fault()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A `COMMIT` statement in the client's bytes: the word, not the start of `COMMITTED` (the
/// writer begins its transactions `... ISOLATION LEVEL READ COMMITTED`).
fn commits(chunk: &[u8]) -> bool {
    chunk
        .windows(7)
        .any(|w| &w[..6] == b"COMMIT" && !w[6].is_ascii_alphabetic())
        || chunk.ends_with(b"COMMIT")
}

/// Forwards both ways until either side closes or a fault ends the connection.
async fn pipe(
    client: TcpStream,
    server: TcpStream,
    mut fault: watch::Receiver<Fault>,
    setter: watch::Sender<Fault>,
    lost: Arc<AtomicU64>,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let mut up = vec![0u8; 64 * 1024];
    let mut down = vec![0u8; 64 * 1024];
    // Set once a COMMIT went up under LoseCommitAnswer: the next answer from the server is dropped
    // together with the connection.
    let mut swallow_answer = false;
    // The client has sent a Redis SUBSCRIBE on this connection.
    let mut subscriber = false;
    loop {
        let current = *fault.borrow();
        match current {
            Fault::Cut => return,
            Fault::FreezeSubscriptions if !subscriber => {}
            Fault::Freeze | Fault::FreezeSubscriptions => {
                // Hold both sockets, forward nothing, until the fault changes.
                if fault.changed().await.is_err() {
                    return;
                }
                continue;
            }
            _ => {}
        }
        tokio::select! {
            changed = fault.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            n = cr.read(&mut up) => {
                let Ok(n) = n else { return };
                if n == 0 {
                    return;
                }
                let chunk = &up[..n];
                subscriber |= contains(chunk, b"SUBSCRIBE");
                if commits(chunk) {
                    // Copied out: a borrow held across `send_replace` would deadlock the watch.
                    let now = *fault.borrow();
                    match now {
                        Fault::LoseCommit => {
                            lost.fetch_add(1, Ordering::SeqCst);
                            setter.send_replace(Fault::None);
                            return;
                        }
                        Fault::LoseCommitAnswer => swallow_answer = true,
                        Fault::DelayCommit => {
                            lost.fetch_add(1, Ordering::SeqCst);
                            setter.send_replace(Fault::None);
                            tokio::time::sleep(COMMIT_DELAY).await;
                        }
                        _ => {}
                    }
                }
                if sw.write_all(chunk).await.is_err() {
                    return;
                }
            }
            n = sr.read(&mut down) => {
                let Ok(n) = n else { return };
                if n == 0 {
                    return;
                }
                if swallow_answer {
                    // The server has answered the COMMIT: it is durable. Its client never hears.
                    lost.fetch_add(1, Ordering::SeqCst);
                    setter.send_replace(Fault::None);
                    return;
                }
                if cw.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

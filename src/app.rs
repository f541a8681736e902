//! Composition root: builds every part from the config, runs the background tasks and orders the
//! graceful shutdown.
//!
//! Owns: [`start`] (store → authenticator → registry → conversations and their writer → listener,
//! inherited from systemd when socket-activated), the periodic re-validation of connected accounts
//! and of each socket's Moodle session, the re-reading of Moodle settings, the batched enrolment
//! refresh, the poll of Moodle's messaging tables for what Moodle itself wrote, systemd
//! notifications, and
//! [`RunningServer::shutdown`]: stop accepting → the message writer drained (every queued send
//! committed and acknowledged) → every socket flushes its queue and closes with 1012 → exit within
//! `shutdown_timeout_secs`.
//! Must not: contain protocol or SQL logic; no other module builds its own dependencies.

use crate::ops::config::Config;
use crate::services::auth::{Authenticator, Standing};
use crate::services::conversations::{Conversations, WriterTask};
use crate::services::ingest::Ingest;
use crate::services::presence::{Avatars, Registry};
use crate::store::{now, Store};
use crate::ws::connection::Shared;
use crate::ws::server::ExtraRoutes;
use crate::ws::server::{self, ServerState};
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// A started daemon.
pub struct RunningServer {
    addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    close_sockets_tx: watch::Sender<bool>,
    server_task: JoinHandle<()>,
    conns_done: mpsc::Receiver<()>,
    writer: WriterTask,
    convs: Arc<Conversations>,
    registry: Arc<Registry>,
    background: Vec<JoinHandle<()>>,
    store: Store,
    cluster: Option<crate::cluster::ClusterTasks>,
    timeout: Duration,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Starts the production daemon (binds `config.listen`, port 0 allowed).
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    start_with(config, None).await
}

/// Starts the daemon, with `extra` routes plugged in (the demo's) when given.
pub async fn start_with(
    config: Config,
    extra: Option<Arc<dyn ExtraRoutes>>,
) -> anyhow::Result<RunningServer> {
    start_inner(config, extra, None).await
}

/// Starts the daemon on `listener` when given (already bound, non-blocking), else on the socket
/// inherited from systemd, else on `config.listen`.
pub async fn start_inner(
    config: Config,
    extra: Option<Arc<dyn ExtraRoutes>>,
    listener: Option<std::net::TcpListener>,
) -> anyhow::Result<RunningServer> {
    config.validate().context("invalid configuration")?;
    let store = Store::connect(
        &config.database_url,
        &config.table_prefix,
        config.db_pool_size,
    )
    .await
    .with_context(|| {
        format!(
            "cannot connect to the database ({}); run `dockchatd check` for a diagnosis",
            crate::store::Dialect::from_url(&config.database_url)
                .map(|d| d.name())
                .unwrap_or("?")
        )
    })?;
    match store.server_version().await {
        Ok(v) => tracing::info!(dialect = %store.dialect(), version = %v, "database connected"),
        Err(e) => tracing::warn!(error = %e, "database connected, version unknown"),
    }
    let auth = Arc::new(Authenticator::new(
        store.clone(),
        config.site_url_trimmed(),
        &config.auth.audience,
        config.auth.token_leeway_secs,
        config.auth.check_sessions,
        config.token_secret.clone(),
    ));
    auth.reload_settings()
        .await
        .context("reading Moodle settings (config, config_plugins); is table_prefix right? run `dockchatd check`")?;
    if !auth.verifier.has_secret() {
        tracing::warn!(
            "no token secret yet: every hello will be refused until the block's secret exists"
        );
    }
    let avatars = Avatars::new(config.site_url_trimmed(), &config.avatar_theme);
    let registry = Arc::new(
        Registry::new(config.limits.max_connections_per_user)
            .with_offline_grace(Duration::from_secs(config.presence.offline_grace_secs)),
    );
    let (convs, writer) = Conversations::start(
        store.clone(),
        registry.clone(),
        avatars.clone(),
        crate::services::conversations::Settings {
            text_max_chars: config.limits.text_max_chars,
            history_max: config.limits.history_max,
            enrolment_refresh: Duration::from_secs(config.presence.enrolment_refresh_secs),
            // The rest of the pool stays for everything else (hellos, history, reads).
            write_pipeline: config
                .db_write_pipeline
                .min((config.db_pool_size as usize / 2).max(1)),
        },
        config
            .cluster
            .enabled()
            .then(|| Arc::new(crate::services::ledger::Ledger::new())),
    );
    convs
        .refresh_site_settings()
        .await
        .context("reading Moodle's messaging settings")?;
    let shared = Arc::new(Shared::new(
        auth.clone(),
        registry.clone(),
        convs.clone(),
        store.clone(),
        avatars,
        config.limits.clone(),
        Duration::from_secs(config.auth.auth_timeout_secs),
        config.auth.token_leeway_secs,
    ));

    let inherited = match listener {
        Some(l) => Some(l),
        None => crate::ops::systemd::inherited_listener().context("socket activation")?,
    };
    let listener = match inherited {
        Some(std_listener) => {
            TcpListener::from_std(std_listener).context("adopting the inherited socket")?
        }
        None => listen(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?,
    };
    let addr = listener.local_addr().context("listener address")?;
    let cluster = match (config.cluster.enabled(), convs.ledger()) {
        (true, Some(ledger)) => {
            let node = if config.cluster.node_id.is_empty() {
                crate::cluster::default_node_id(addr.port())
            } else {
                config.cluster.node_id.clone()
            };
            Some(
                crate::cluster::Cluster::start(
                    &config.cluster.redis_url,
                    &config.cluster.prefix,
                    &node,
                    registry.clone(),
                    convs.clone(),
                    ledger.clone(),
                )
                .context("cluster.redis_url")?,
            )
        }
        _ => None,
    };

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (close_sockets_tx, close_sockets_rx) = watch::channel(false);
    let (tracker, conns_done) = mpsc::channel::<()>(1);
    let state = Arc::new(ServerState {
        shared,
        store: store.clone(),
        origins: std::iter::once(config.allowed_origin())
            .chain(extra.iter().flat_map(|e| e.extra_origins()))
            .collect(),
        ws_config: server::ws_config(config.limits.frame_max_bytes),
        extra,
        max_connections: config.limits.max_connections,
        close_sockets: close_sockets_rx,
        cluster: cluster.as_ref().map(|c| c.cluster.clone()),
    });
    let server_task = tokio::spawn(server::run(listener, state, shutdown_rx, tracker));

    let background = vec![
        tokio::spawn(revalidation_loop(
            auth,
            convs.clone(),
            registry.clone(),
            Duration::from_secs(config.auth.revalidate_interval_secs),
        )),
        tokio::spawn(enrolment_loop(
            store.clone(),
            registry.clone(),
            convs.clone(),
            Duration::from_secs(config.presence.enrolment_refresh_secs),
        )),
        tokio::spawn(ingest_loop(store.clone(), registry.clone(), convs.clone())),
    ];
    tracing::info!(%addr, "listening");
    Ok(RunningServer {
        addr,
        shutdown_tx,
        close_sockets_tx,
        server_task,
        conns_done,
        writer,
        convs,
        registry,
        background,
        store,
        cluster,
        timeout: Duration::from_secs(config.shutdown_timeout_secs),
    })
}

/// How often Moodle's messaging tables are polled for what Moodle itself wrote (a quarter of the
/// 1 s within which a drawer message must reach the dock).
const INGEST_EVERY: Duration = Duration::from_millis(250);

/// Delivers what Moodle itself writes into its messaging tables (see [`Ingest`]); waits for the
/// database to answer before the first poll.
async fn ingest_loop(store: Store, registry: Arc<Registry>, convs: Arc<Conversations>) {
    loop {
        match Ingest::start(store.clone(), registry.clone(), convs.clone(), INGEST_EVERY).await {
            Ok(ingest) => return ingest.run().await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot start polling Moodle's messaging tables yet");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Re-checks every connected account in batches (account usable; each socket's Moodle session still
/// live); also re-reads the secret and site settings.
async fn revalidation_loop(
    auth: Arc<Authenticator>,
    convs: Arc<Conversations>,
    registry: Arc<Registry>,
    every: Duration,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = auth.reload_settings().await {
            tracing::warn!(error = %e, "re-reading Moodle settings failed");
        }
        if let Err(e) = convs.refresh_site_settings().await {
            tracing::warn!(error = %e, "re-reading messaging settings failed");
        }
        // Sockets registered after this were admitted on rows newer than the ones read below.
        let mark = registry.mark();
        let ids = registry.online_users();
        match auth.revalidate(&ids).await {
            Ok(standings) => {
                for (id, standing) in standings {
                    match standing {
                        Standing::Gone(code) => {
                            tracing::info!(
                                user_id = id,
                                code,
                                "account no longer valid; disconnecting"
                            );
                            registry.close_user(id, code, "account unavailable");
                        }
                        Standing::Sessions(live) => {
                            let closed = registry.close_unbound(
                                id,
                                &live,
                                mark,
                                crate::protocol::close::SESSION_ENDED,
                                "Moodle session ended",
                            );
                            if closed > 0 {
                                tracing::info!(
                                    user_id = id,
                                    sockets = closed,
                                    "Moodle session ended; disconnecting"
                                );
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "re-validation failed; will retry"),
        }
    }
}

/// Refreshes the cached enrolments of every online user in batches, then the members of the group
/// conversations this node holds (pushing `members` where they changed).
async fn enrolment_loop(
    store: Store,
    registry: Arc<Registry>,
    convs: Arc<Conversations>,
    every: Duration,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ids = registry.online_users();
        if ids.is_empty() {
            continue;
        }
        match store.active_courses(&ids, now()).await {
            Ok(map) => {
                for (id, courses) in map {
                    registry.update_courses(id, courses);
                }
            }
            Err(e) => tracing::warn!(error = %e, "enrolment refresh failed; will retry"),
        }
        if let Err(e) = convs.refresh_groups().await {
            tracing::warn!(error = %e, "group members refresh failed; will retry");
        }
    }
}

impl RunningServer {
    /// The address the daemon listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// This node's view of the cluster, when it is part of one.
    pub fn cluster(&self) -> Option<&Arc<crate::cluster::Cluster>> {
        self.cluster.as_ref().map(|c| &c.cluster)
    }

    /// `(online users, authenticated connections)`, for status lines.
    pub fn counts(&self) -> (usize, usize) {
        self.registry.counts()
    }

    /// Graceful shutdown, all within `shutdown_timeout_secs`: stop accepting; let the message writer
    /// commit and answer every queued send; then every socket writes what is queued for it (acks
    /// included) and closes with 1012; finally release the database.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let RunningServer {
            shutdown_tx,
            close_sockets_tx,
            server_task,
            mut conns_done,
            writer,
            convs,
            background,
            store,
            cluster,
            timeout,
            ..
        } = self;
        let deadline = tokio::time::Instant::now() + timeout;
        let _ = shutdown_tx.send(true);
        let _ = tokio::time::timeout_at(deadline, server_task).await;
        convs.stop_writer().await;
        if tokio::time::timeout_at(deadline, writer.join())
            .await
            .is_err()
        {
            tracing::error!("the message writer did not finish in time");
        }
        let _ = close_sockets_tx.send(true);
        if tokio::time::timeout_at(deadline, conns_done.recv())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close in time");
        }
        for b in background {
            b.abort();
        }
        if let Some(cluster) = cluster {
            let _ = tokio::time::timeout_at(deadline, cluster.leave()).await;
        }
        let _ = tokio::time::timeout_at(deadline, store.close()).await;
        tracing::info!("shut down");
        Ok(())
    }
}

/// How `run` prints its ready line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serve,
    Demo,
}

/// Runs until SIGTERM/SIGINT: start, print the ready line, tell systemd, keep a status line
/// current, then shut down gracefully.
pub async fn run(
    config: Config,
    mode: Mode,
    extra: Option<Arc<dyn ExtraRoutes>>,
) -> anyhow::Result<()> {
    run_with_listener(config, mode, extra, None).await
}

/// [`run`] on an already bound listener.
pub async fn run_with_listener(
    config: Config,
    mode: Mode,
    extra: Option<Arc<dyn ExtraRoutes>>,
    listener: Option<std::net::TcpListener>,
) -> anyhow::Result<()> {
    let server = start_inner(config, extra, listener).await?;
    let addr = server.local_addr();
    match mode {
        Mode::Serve => println!("dockchatd listening on {addr}"),
        Mode::Demo => println!("dockchat demo: open http://{addr}/"),
    }
    crate::ops::systemd::notify_ready();
    crate::ops::systemd::notify_status(&format!("listening on {addr}"));
    let watchdog = crate::ops::systemd::spawn_watchdog();
    let registry = server.registry.clone();
    let status = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tick.tick().await;
            let (users, conns) = registry.counts();
            crate::ops::systemd::notify_status(&format!(
                "listening on {addr}: {users} users online, {conns} connections"
            ));
        }
    });
    wait_for_signal().await?;
    tracing::info!("stopping");
    crate::ops::systemd::notify_stopping();
    crate::ops::systemd::notify_status("stopping: closing connections and flushing messages");
    status.abort();
    let result = server.shutdown().await;
    if let Some(w) = watchdog {
        w.abort();
    }
    result
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

/// Pending connections the kernel queues before `accept` (capped by `net.core.somaxconn`), as the
/// socket unit's `Backlog=`. A restart makes every open tab reconnect at once: with the 128 of
/// `std`'s `listen`, the queue overflowed and the kernel dropped SYNs, which clients only resend
/// after a second.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` (host:port) with [`LISTEN_BACKLOG`]. `SO_REUSEADDR` as `std` sets it on Unix, so a
/// restart can rebind while old connections are in TIME_WAIT.
async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(a).and_then(|()| socket.listen(LISTEN_BACKLOG)) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the address resolves to nothing",
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More simultaneous connections than `std`'s backlog of 128 complete their handshake while the
    /// daemon is not accepting (busy): with a short queue the kernel drops the extra SYNs and those
    /// clients hang until they give up.
    #[tokio::test]
    async fn the_listen_queue_holds_a_reconnect_wave() {
        let listener = listen("127.0.0.1:0").await.expect("listen");
        let addr = listener.local_addr().expect("address");
        // The kernel caps the queue at net.core.somaxconn (4096 on current kernels, 128 on old ones).
        let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4096);
        let n = 400.min(somaxconn);
        let connects: Vec<_> = (0..n)
            .map(|_| {
                tokio::spawn(tokio::time::timeout(
                    Duration::from_secs(5),
                    tokio::net::TcpStream::connect(addr),
                ))
            })
            .collect();
        let mut open = Vec::new();
        for c in connects {
            let stream = c
                .await
                .expect("task")
                .expect("connected without waiting for accept")
                .expect("connect");
            open.push(stream);
        }
        assert_eq!(open.len(), n);
        drop(listener);
    }
}

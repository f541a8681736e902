//! A server under test with everything a scenario needs around it: for `dockchatd`, a freshly prepared
//! database, the generated config file and a token minter; for the forwarder, just the process. Also
//! opens many authenticated connections at once with bounded concurrency.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::Semaphore;

use crate::client::{self, Target, Ws};
use crate::procs::{self, Server};
use crate::setup::{self, Dataset, DbKind, Minter, Prepared, FIRST_USER, SITE_URL};
use crate::Opts;

/// A running server under test.
pub struct Harness {
    /// The server process (the first node of a cluster).
    pub server: Server,
    /// The other nodes of a cluster (`--nodes`), sharing the database and a Redis.
    pub others: Vec<Server>,
    /// What kind of server it is.
    pub target: Target,
    /// The prepared database (daemon only).
    pub prepared: Option<Prepared>,
    minter: Option<Minter>,
    /// Scratch directory holding the config and the server log.
    pub dir: PathBuf,
    db: DbKind,
    admin_url: String,
}

impl Harness {
    /// Prepares the database for `data`, writes the config and starts `dockchatd serve` on core 1
    /// (`opts.nodes` of them, as one cluster over `opts.redis_url`, all on core 1: the same CPU
    /// as one node).
    pub async fn dockchatd(opts: &Opts, data: &Dataset) -> Result<Harness> {
        let dir = scratch_dir("dockchatd")?;
        let prepared = setup::prepare(opts.db, &opts.db_admin_url, &opts.db_name, data)
            .await
            .context("preparing the benchmark database")?;
        let mut servers = Vec::with_capacity(opts.nodes);
        let cluster_prefix = format!("dockchat-bench-{}", client::now_ns());
        for i in 0..opts.nodes.max(1) {
            let mut config = daemon_config(&prepared.url, opts.pool, opts.write_pipeline);
            if let Some(secs) = opts.enrolment_refresh_secs {
                config.push_str(&format!("\n[presence]\nenrolment_refresh_secs = {secs}\n"));
            }
            if opts.nodes > 1 {
                config.push_str(&format!(
                    "\n[cluster]\nredis_url = \"{}\"\nprefix = \"{cluster_prefix}\"\nnode_id = \"bench-{i}\"\n",
                    opts.redis_url
                ));
            }
            let (conf, log) = if i == 0 {
                ("dockchatd.toml".to_string(), "dockchatd.log".to_string())
            } else {
                (format!("dockchatd-{i}.toml"), format!("dockchatd-{i}.log"))
            };
            let path = dir.join(conf);
            std::fs::write(&path, config).context("writing the daemon config")?;
            servers.push(Server::start(
                "dockchatd",
                &opts.daemon,
                &[
                    "serve".into(),
                    "--config".into(),
                    path.display().to_string(),
                ],
                &[("DOCKCHAT_LOG", opts.daemon_log.clone())],
                &dir.join(log),
                "dockchatd listening on",
                opts.pin,
            )?);
        }
        if opts.nodes > 1 {
            // Every node must have joined (subscribed, beating) before users arrive.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let server = servers.remove(0);
        let minter = Minter::new(&prepared.secret);
        Ok(Harness {
            server,
            others: servers,
            target: Target::Dockchatd,
            prepared: Some(prepared),
            minter: Some(minter),
            dir,
            db: opts.db,
            admin_url: opts.db_admin_url.clone(),
        })
    }

    /// Starts the minimal forwarder on core 1.
    pub fn forwarder(opts: &Opts) -> Result<Harness> {
        let dir = scratch_dir("forwarder")?;
        let server = Server::start(
            "dockchat-forwarder",
            &opts.forwarder,
            &["--listen".into(), "127.0.0.1:0".into()],
            &[],
            &dir.join("forwarder.log"),
            "dockchat-forwarder listening on",
            opts.pin,
        )?;
        Ok(Harness {
            server,
            others: Vec::new(),
            target: Target::Forwarder,
            prepared: None,
            minter: None,
            dir,
            db: opts.db,
            admin_url: opts.db_admin_url.clone(),
        })
    }

    /// Where the server listens (the first node of a cluster).
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Where user `k` connects: node `k mod nodes` (the two users of a pair, `k` and `k ^ 1`,
    /// are then always on different nodes).
    pub fn addr_for(&self, k: usize) -> SocketAddr {
        match k % self.nodes() {
            0 => self.server.addr,
            i => self.others[i - 1].addr,
        }
    }

    /// Every node's address.
    pub fn node_addrs(&self) -> Vec<SocketAddr> {
        std::iter::once(self.server.addr)
            .chain(self.others.iter().map(|s| s.addr))
            .collect()
    }

    /// The first node's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(match self.target {
            Target::Dockchatd => "dockchatd.log",
            Target::Forwarder => "forwarder.log",
        })
    }

    /// Number of server processes.
    pub fn nodes(&self) -> usize {
        1 + self.others.len()
    }

    /// Every server process's pid (CPU is summed over them).
    pub fn pids(&self) -> Vec<u32> {
        std::iter::once(self.server.pid)
            .chain(self.others.iter().map(|s| s.pid))
            .collect()
    }

    /// The database whose CPU use is attributed to this run (none for the forwarder).
    pub fn db_kind(&self) -> Option<DbKind> {
        self.prepared.as_ref().map(|_| self.db)
    }

    /// The URL of the prepared database (daemon only).
    pub fn db_url(&self) -> Result<String> {
        self.prepared
            .as_ref()
            .map(|p| p.url.clone())
            .context("no database was prepared (not a daemon run)")
    }

    /// Database server counters now (daemon only; see [`setup::db_counters`]).
    pub async fn db_counters(&self) -> Option<Vec<(String, u64)>> {
        let kind = self.db_kind()?;
        setup::db_counters(kind, &self.admin_url).await
    }

    /// The block secret (daemon only).
    pub fn secret(&self) -> Option<&str> {
        self.prepared.as_ref().map(|p| p.secret.as_str())
    }

    /// The `hello` frame for generated user `k` (0-based).
    pub fn hello(&self, k: usize) -> Result<String> {
        let uid = FIRST_USER + k as u64;
        let token = match &self.minter {
            Some(m) => m.token(uid)?,
            None => String::new(),
        };
        Ok(client::hello_frame(self.target, uid, &token))
    }

    /// Opens authenticated connections for users `ks`, at most `parallel` handshakes at a time,
    /// spreading them over `src_ips` source addresses. Returns one result per user, in order.
    pub async fn open_many(
        &self,
        ks: &[usize],
        parallel: usize,
        src_ips: usize,
    ) -> Result<Vec<Result<Ws>>> {
        let sem = Arc::new(Semaphore::new(parallel.max(1)));
        let mut handles = Vec::with_capacity(ks.len());
        for (i, &k) in ks.iter().enumerate() {
            let addr = self.addr_for(k);
            let hello = self.hello(k)?;
            let sem = sem.clone();
            let src = client::source_ip(i, src_ips);
            handles.push(tokio::spawn(async move {
                let _permit = sem.acquire_owned().await?;
                client::open(addr, Some(src), hello, Duration::from_secs(30)).await
            }));
        }
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await.context("connection task panicked")?);
        }
        Ok(out)
    }

    /// Stops the server and removes the scratch directory (kept if asked or if the server failed).
    pub fn finish(self, keep: bool) -> Result<()> {
        let dir = self.dir.clone();
        let mut server = self.server;
        let mut crashed = !server.alive() && !server.killed;
        for mut other in self.others {
            crashed |= !other.alive();
            other.stop()?;
        }
        server.stop()?;
        if crashed {
            eprintln!(
                "server had exited during the run; its log is in {}",
                dir.display()
            );
        } else if keep {
            eprintln!("server config and log kept in {}", dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Ok(())
    }

    /// The tail of the server log (for diagnostics).
    pub fn log_tail(&self) -> String {
        let name = match self.target {
            Target::Dockchatd => "dockchatd.log",
            Target::Forwarder => "forwarder.log",
        };
        procs::tail(&self.dir.join(name))
    }
}

fn scratch_dir(what: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "dockchat-bench-{}-{what}-{}",
        std::process::id(),
        client::now_ns()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// The daemon config of a run. Per-socket rate limits are raised because one benchmark socket
/// stands for many users' traffic; everything else keeps the documented defaults.
pub fn daemon_config(
    database_url: &str,
    pool: Option<u32>,
    write_pipeline: Option<usize>,
) -> String {
    let mut s = String::new();
    s.push_str("# written by dockchat-bench\n");
    s.push_str("listen = \"127.0.0.1:0\"\n");
    s.push_str(&format!("site_url = \"{SITE_URL}\"\n"));
    s.push_str(&format!("database_url = \"{database_url}\"\n"));
    s.push_str("table_prefix = \"mdl_\"\n");
    if let Some(p) = pool {
        s.push_str(&format!("db_pool_size = {p}\n"));
    }
    if let Some(w) = write_pipeline {
        s.push_str(&format!("db_write_pipeline = {w}\n"));
    }
    s.push_str("\n[limits]\n");
    s.push_str("rate_per_sec = 1000000\n");
    s.push_str("rate_burst = 1000000\n");
    s
}

//! The real `dockchatd serve` binary (CONTRACTS §2) against real MariaDB and PostgreSQL: it reads the
//! TOML file, lets `DOCKCHAT_*` variables override it, prints exactly one `dockchatd listening on
//! <ip:port>` line, serves authenticated WebSocket clients, and on SIGTERM closes them with 1012, keeps
//! every acknowledged message and exits 0. A config it cannot use makes it exit non-zero with a reason.

mod common;

use common::users::*;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dockchatd");

/// A running `dockchatd serve`, killed if the test fails.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn spawn(config: &str, env: &[(&str, &str)], dir: &std::path::Path) -> Daemon {
        let path = dir.join("dockchatd.toml");
        std::fs::write(&path, config).expect("write config");
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .env("DOCKCHAT_LOG", "warn");
        for var in [
            "DOCKCHAT_LISTEN",
            "DOCKCHAT_SITE_URL",
            "DOCKCHAT_DATABASE_URL",
            "DOCKCHAT_TABLE_PREFIX",
            "DOCKCHAT_TOKEN_SECRET",
            "DOCKCHAT_CHECK_SESSIONS",
            "NOTIFY_SOCKET",
            "LISTEN_FDS",
            "LISTEN_PID",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn dockchatd serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon { child, lines }
    }

    /// The address from the `dockchatd listening on` line.
    fn listening(&self) -> std::net::SocketAddr {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(60))
            .expect("dockchatd printed its listening line within 60 s");
        let addr = line
            .strip_prefix("dockchatd listening on ")
            .unwrap_or_else(|| panic!("unexpected first stdout line {line:?}"));
        addr.trim().parse().expect("ip:port")
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s;
            }
            assert!(
                start.elapsed() < limit,
                "dockchatd did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dockchat-serve-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

async fn serve_binary_serves_and_stops_gracefully(backend: Backend) {
    let db = TestDb::standard(backend).await;
    let dir = temp_dir("ok");
    // The file names another database; the environment wins.
    let config = format!(
        "listen = \"127.0.0.1:0\"\nsite_url = \"{SITE_URL}\"\ndatabase_url = \"{}\"\n\n[auth]\nrevalidate_interval_secs = 1\n",
        backend.url("dct_wrong_database")
    );
    let mut daemon = Daemon::spawn(&config, &[("DOCKCHAT_DATABASE_URL", &db.url)], &dir);
    let addr = daemon.listening();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    let url = format!("ws://{addr}/ws");

    let mut alice = Client::connect(&url).await;
    alice.hello(&token(ALICE), None).await;
    alice.welcome = alice.expect("welcome").await;
    let mut bob = Client::connect(&url).await;
    bob.hello(&token(BOB), None).await;
    bob.welcome = bob.expect("welcome").await;
    assert_eq!(bob.online_ids(), vec![ALICE]);
    let mut acked = Vec::new();
    for i in 0..5 {
        acked.push(
            alice
                .send_message(BOB, &format!("bin{i}"), "through the binary")
                .await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    daemon.sigterm();
    assert_eq!(alice.expect_close().await.0, 1012);
    assert_eq!(bob.expect_close().await.0, 1012);
    let status = tokio::task::spawn_blocking(move || {
        let s = daemon.wait_exit(Duration::from_secs(15));
        drop(daemon);
        s
    })
    .await
    .expect("wait task");
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(db.message_ids_after(0).await, acked);
    let _ = std::fs::remove_dir_all(&dir);
    db.destroy().await;
}
db_test!(serve_binary_serves_and_stops_gracefully);

async fn serve_binary_refuses_an_unusable_config(backend: Backend) {
    let dir = temp_dir("bad");
    // No site_url: a config error, explained, non-zero exit.
    let config = format!(
        "listen = \"127.0.0.1:0\"\ndatabase_url = \"{}\"\n",
        backend.url("postgres")
    );
    let mut daemon = Daemon::spawn(&config, &[], &dir);
    let status = tokio::task::spawn_blocking(move || {
        let s = daemon.wait_exit(Duration::from_secs(30));
        let lines: Vec<String> = daemon.lines.try_iter().collect();
        (s, lines)
    })
    .await
    .expect("wait task");
    assert!(!status.0.success(), "serve without site_url exited 0");
    assert!(
        !status
            .1
            .iter()
            .any(|l| l.starts_with("dockchatd listening on")),
        "{:?}",
        status.1
    );
    let _ = std::fs::remove_dir_all(&dir);
}
db_test!(serve_binary_refuses_an_unusable_config);

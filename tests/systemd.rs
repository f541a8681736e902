//! systemd integration of the real `dockchatd` binary, run as systemd would run it.
//!
//! - sd_notify: `dockchatd demo` with `NOTIFY_SOCKET` pointing at a Unix datagram socket bound here
//!   sends READY=1 once it listens, STATUS=, WATCHDOG=1 at half of `WATCHDOG_USEC`, STOPPING=1 on
//!   SIGTERM, and exits 0 within the shutdown timeout.
//! - Socket activation: under `systemd-socket-activate` (Debian's systemd package) the daemon
//!   serves HTTP and WebSocket on the inherited socket, and names that address in its URL line.
//! - Graceful restart: a logged-in WebSocket client receives close code 1012 on SIGTERM.
//! - The shipped example config parses with every option uncommented, and its documented values
//!   are the daemon's real defaults.
//!
//! Everything runs on 127.0.0.1 and every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_dockchatd");
/// Start-up of a debug build with an embedded SQLite site can take a while on a loaded CI box.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// `shutdown_timeout_secs` defaults to 10; allow a margin for a loaded machine.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// A daemon child process that is killed if the test ends early.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Daemon {
    /// Starts `cmd` with the systemd variables cleared, then `vars` set.
    fn spawn(mut cmd: Command, vars: &[(&str, &str)]) -> Daemon {
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null())
            .env("DOCKCHAT_LOG", "warn")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDS")
            .env_remove("LISTEN_FDNAMES");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start dockchatd");
        let stdout = child.stdout.take().expect("stdout is piped");
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

    /// Waits for the demo's `dockchat demo: open http://<addr>/` line and returns the address.
    fn demo_addr(&self) -> SocketAddr {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .expect("dockchatd demo printed no 'dockchat demo: open http://...' line in time");
            if let Some(rest) = line.strip_prefix("dockchat demo: open http://") {
                let addr = rest.trim_end_matches('/');
                return addr
                    .parse()
                    .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"));
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn sigterm(&self) {
        // The shell's built-in kill: no dependency on procps being installed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", self.pid())])
            .status()
            .expect("run sh -c kill");
        assert!(status.success(), "kill -TERM failed");
    }

    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "dockchatd did not exit within {limit:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A private directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("dockchat-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Notifications received on the test's NOTIFY_SOCKET, one `KEY=VALUE` per entry, with arrival time.
struct NotifyLog {
    rx: mpsc::Receiver<(Instant, String)>,
    seen: Vec<(Instant, String)>,
}

impl NotifyLog {
    fn listen(sock: UnixDatagram) -> NotifyLog {
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("set read timeout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            loop {
                match sock.recv(&mut buf) {
                    Ok(n) => {
                        let now = Instant::now();
                        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                        for line in text.lines().filter(|l| !l.is_empty()) {
                            if tx.send((now, line.to_string())).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::TimedOut =>
                    {
                        // Keep listening until the test drops the receiver.
                        if tx.send((Instant::now(), String::new())).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
        NotifyLog {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits until a notification equal to `want` arrives; returns its arrival time.
    fn wait_for(&mut self, want: &str, limit: Duration) -> Instant {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok((at, line)) = self.rx.recv_timeout(Duration::from_millis(250)) {
                if line.is_empty() {
                    continue;
                }
                self.seen.push((at, line.clone()));
                if line == want {
                    return at;
                }
            }
        }
        panic!(
            "no {want} within {limit:?}; received: {:?}",
            self.seen.iter().map(|(_, l)| l).collect::<Vec<_>>()
        );
    }

    /// Collects notifications until `want` has been seen `count` times since `since`, or `limit`.
    fn collect_until(&mut self, want: &str, count: usize, since: Instant, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline && self.count_since(want, since) < count {
            if let Ok((at, line)) = self.rx.recv_timeout(Duration::from_millis(100)) {
                if !line.is_empty() {
                    self.seen.push((at, line));
                }
            }
        }
    }

    fn count_since(&self, want: &str, since: Instant) -> usize {
        self.seen
            .iter()
            .filter(|(at, l)| *at >= since && l == want)
            .count()
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

fn connect_with_retry(addr: SocketAddr, limit: Duration) -> TcpStream {
    let deadline = Instant::now() + limit;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(s) => return s,
            Err(e) => {
                assert!(Instant::now() < deadline, "{addr} does not accept TCP: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// A minimal HTTP/1.1 request (Connection: close); returns (status, body).
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = connect_with_retry(addr, Duration::from_secs(10));
    // Generous: under systemd-socket-activate the first request is what starts the daemon.
    s.set_read_timeout(Some(START_TIMEOUT))
        .expect("read timeout");
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {text:?}"));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(size.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            return out;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
}

async fn ws_connect(
    addr: SocketAddr,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut req = format!("ws://{addr}/ws")
        .into_client_request()
        .expect("request");
    req.headers_mut().insert(
        "Origin",
        HeaderValue::from_str(&format!("http://{addr}")).expect("origin header"),
    );
    let (ws, resp) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .expect("WebSocket handshake timed out")
    .expect("WebSocket handshake");
    assert_eq!(resp.status().as_u16(), 101);
    ws
}

/// (a) READY=1 once listening, STATUS=, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM,
/// exit 0 within the shutdown timeout.
#[test]
fn sd_notify_ready_watchdog_stopping() {
    let dir = TempDir::new("notify");
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind notify socket");
    let mut notes = NotifyLog::listen(sock);

    let mut cmd = Command::new(BIN);
    cmd.args(["demo", "--listen", "127.0.0.1:0"]);
    // WATCHDOG_PID deliberately unset: systemd sets it, but sd_watchdog_enabled(3) also accepts
    // its absence.
    let mut daemon = Daemon::spawn(
        cmd,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().expect("utf-8 path")),
            ("WATCHDOG_USEC", "2000000"),
        ],
    );

    let ready_at = notes.wait_for("READY=1", START_TIMEOUT);
    let addr = daemon.demo_addr();
    // READY=1 promises a listening socket.
    drop(connect_with_retry(addr, Duration::from_millis(500)));
    let (status, body) = http(addr, "GET", "/healthz", None);
    assert_eq!(status, 200, "GET /healthz after READY=1: {body}");

    // WATCHDOG_USEC=2 s: a ping every second, so two arrive within ~2 s; allow a loaded machine
    // far more before calling them missing (this checks periodic pings, not their timing).
    notes.collect_until("WATCHDOG=1", 2, ready_at, Duration::from_secs(10));
    let pings = notes.count_since("WATCHDOG=1", ready_at);
    assert!(
        pings >= 2,
        "expected periodic WATCHDOG=1 (at least 2 within 10 s), got {pings}: {:?}",
        notes.seen
    );
    assert!(
        notes.seen.iter().any(|(_, l)| l.starts_with("STATUS=")),
        "no STATUS= line: {:?}",
        notes.seen
    );

    daemon.sigterm();
    notes.wait_for("STOPPING=1", Duration::from_secs(5));
    let status = daemon.wait_exit(EXIT_TIMEOUT);
    assert!(
        status.success(),
        "dockchatd exited with {status} after SIGTERM"
    );
}

/// (b) Under `systemd-socket-activate` the daemon serves on the inherited socket.
#[test]
fn socket_activation_serves_on_inherited_socket() {
    let activate = [
        "/usr/bin/systemd-socket-activate",
        "/bin/systemd-socket-activate",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("systemd-socket-activate not found: apt-get install systemd");
    let port = free_port();
    // A different --listen address proves the daemon does not bind its own socket.
    let decoy = free_port();
    let mut cmd = Command::new(activate);
    cmd.args(["-l", &format!("127.0.0.1:{port}"), BIN, "demo", "--listen"])
        .arg(format!("127.0.0.1:{decoy}"));
    let mut daemon = Daemon::spawn(cmd, &[]);

    // systemd-socket-activate (like a .socket unit) starts the program on the first connection;
    // the kernel queues it meanwhile, so this request must be answered by the new daemon.
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let (status, body) = http(addr, "GET", "/healthz", None);
    assert_eq!(status, 200, "GET /healthz on the inherited socket: {body}");

    // The demo must announce (and use as its site URL / allowed Origin) the inherited address.
    assert_eq!(
        daemon.demo_addr(),
        addr,
        "the URL line must name the inherited socket"
    );
    assert!(
        TcpStream::connect_timeout(
            &format!("127.0.0.1:{decoy}").parse().expect("addr"),
            Duration::from_millis(500)
        )
        .is_err(),
        "the daemon bound --listen although it was given a socket"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut ws = ws_connect(addr).await;
        ws.close(None).await.ok();
    });

    daemon.sigterm();
    let status = daemon.wait_exit(EXIT_TIMEOUT);
    assert!(status.success(), "exit status {status} after SIGTERM");
}

/// (c) SIGTERM tells every connected client to come back: close code 1012 (service restart).
#[test]
fn sigterm_closes_clients_with_1012() {
    let mut cmd = Command::new(BIN);
    cmd.args(["demo", "--listen", "127.0.0.1:0"]);
    let mut daemon = Daemon::spawn(cmd, &[]);
    let addr = daemon.demo_addr();

    // Log in as the first demo user, like the demo page does.
    let (status, users) = http(addr, "GET", "/demo/users", None);
    assert_eq!(status, 200, "GET /demo/users: {users}");
    let users: serde_json::Value = serde_json::from_str(&users).expect("users JSON");
    let user = users[0]["id"].as_i64().expect("a demo user with an id");
    let (status, tok) = http(
        addr,
        "POST",
        "/demo/token",
        Some(&format!("{{\"user\":{user}}}")),
    );
    assert_eq!(status, 200, "POST /demo/token: {tok}");
    let tok: serde_json::Value = serde_json::from_str(&tok).expect("token JSON");
    let token = tok["token"].as_str().expect("token").to_string();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut ws = ws_connect(addr).await;
        let hello = serde_json::json!({"type": "hello", "v": 1, "token": token, "since": 0});
        ws.send(Message::Text(hello.to_string().into()))
            .await
            .expect("send hello");
        // Wait for the welcome, so the socket is a fully registered session.
        let welcome = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(msg) = ws.next().await {
                if let Message::Text(t) = msg.expect("frame") {
                    let v: serde_json::Value = serde_json::from_str(&t).expect("JSON frame");
                    if v["type"] == "welcome" {
                        return v;
                    }
                    assert_ne!(v["type"], "error", "hello refused: {v}");
                }
            }
            panic!("socket closed before welcome");
        })
        .await
        .expect("no welcome within 10 s");
        assert_eq!(welcome["user"]["id"].as_i64(), Some(user));

        daemon.sigterm();
        let code = tokio::time::timeout(Duration::from_secs(15), async {
            while let Some(msg) = ws.next().await {
                match msg {
                    Ok(Message::Close(frame)) => return frame.map(|f| f.code),
                    Ok(_) => continue,
                    Err(e) => panic!("socket failed without a close frame: {e}"),
                }
            }
            None
        })
        .await
        .expect("no close frame within 15 s of SIGTERM");
        assert_eq!(code, Some(CloseCode::Restart), "close code must be 1012");
    });

    let status = daemon.wait_exit(EXIT_TIMEOUT);
    assert!(status.success(), "exit status {status} after SIGTERM");
}

/// The shipped example config with every commented option switched on parses, validates and
/// equals the daemon's defaults: the documented defaults are the real ones.
#[test]
fn example_config_documents_the_real_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/dockchatd.toml.example");
    let text = std::fs::read_to_string(&path).expect("read deploy/dockchatd.toml.example");

    let shipped =
        dockchat::ops::config::Config::from_toml_str(&text).expect("example parses as shipped");
    shipped.validate().expect("example validates as shipped");

    // Uncomment `#key = value` lines, first occurrence per table; token_secret's default is
    // "unset" (read from the database), so it stays commented.
    let mut seen = std::collections::HashSet::new();
    let mut table = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            table = t.to_string();
        }
        let bare = line.strip_prefix('#').unwrap_or(line);
        let key = bare
            .split_once(" = ")
            .map(|(k, _)| k)
            .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        match key {
            Some(k) if k != "token_secret" && seen.insert(format!("{table}.{k}")) => out.push(bare),
            Some(_) => {}
            None => out.push(line),
        }
    }
    let full_text = out.join("\n");
    let full = dockchat::ops::config::Config::from_toml_str(&full_text)
        .unwrap_or_else(|e| panic!("example with every option uncommented: {e:?}\n{full_text}"));
    full.validate().expect("uncommented example validates");

    let minimal = format!(
        "site_url = {:?}\ndatabase_url = {:?}\n",
        shipped.site_url, shipped.database_url
    );
    let defaults = dockchat::ops::config::Config::from_toml_str(&minimal).expect("minimal config");
    assert_eq!(
        format!("{full:?}"),
        format!("{defaults:?}"),
        "a value documented in deploy/dockchatd.toml.example differs from the daemon's default"
    );
}

//! systemd integration: readiness/stopping/status notifications, the watchdog
//! heartbeat and socket activation.
//!
//! This module owns every interaction with the service manager and nothing
//! else. It talks the `sd_notify(3)` datagram protocol through the `sd-notify`
//! crate and reads the `sd_listen_fds(3)` environment; it never binds, accepts
//! or serves anything itself. The server calls it at fixed points:
//!
//! 1. [`inherited_listener`] before binding: under `dockchatd.socket` (or
//!    `systemd-socket-activate`) the first passed descriptor (fd 3) is the
//!    listening socket, so the daemon can be restarted while the kernel keeps
//!    queueing new connections: a restart refuses none.
//! 2. [`notify_ready`] once the listener accepts, [`notify_status`] for the
//!    one-line state shown by `systemctl status`, and [`spawn_watchdog`] to
//!    ping `WATCHDOG=1` at half of `WATCHDOG_USEC` (`WatchdogSec=` in the unit).
//! 3. [`notify_stopping`] as soon as SIGTERM/SIGINT starts the graceful drain.
//!
//! Off systemd (no `NOTIFY_SOCKET`, no `WATCHDOG_USEC`, no `LISTEN_PID`)
//! every function is a no-op, so `dockchatd demo` in a terminal behaves the
//! same as under a supervisor. Notification failures are logged and never fatal:
//! a daemon that serves users must not die because its supervisor's socket
//! went away.

use std::env;
use std::io;
use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;
use std::process;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::task::JoinHandle;

/// Set once the socket-activated descriptor has been turned into a listener.
static LISTENER_TAKEN: AtomicBool = AtomicBool::new(false);

/// Tells the service manager that start-up is finished and the listener
/// accepts connections (`READY=1`). With `Type=notify`, systemd keeps
/// dependent units and `systemctl start` waiting until this arrives.
pub fn notify_ready() {
    notify(&[NotifyState::Ready]);
}

/// Sets the free-form status line shown by `systemctl status dockchatd`
/// (`STATUS=...`). Newlines would split the datagram into bogus assignments,
/// so they are folded into spaces.
pub fn notify_status(status: &str) {
    let line = one_line(status);
    notify(&[NotifyState::Status(&line)]);
}

/// Tells the service manager that a graceful stop has begun (`STOPPING=1`),
/// so it shows the unit as "deactivating" while connections drain.
pub fn notify_stopping() {
    notify(&[NotifyState::Stopping]);
}

/// Starts the watchdog heartbeat when the service manager asked for one.
///
/// systemd sets `WATCHDOG_USEC` from `WatchdogSec=`; if no `WATCHDOG=1`
/// arrives within that time the unit is killed and restarted
/// (`Restart=on-failure`). The heartbeat runs on the Tokio runtime, so a
/// runtime that stops scheduling tasks stops the pings too, which is exactly
/// the hang the watchdog exists to catch. It pings at half the interval, as
/// `sd_watchdog_enabled(3)` recommends.
///
/// Returns `None` when no watchdog applies (`WATCHDOG_USEC` unset or invalid,
/// or `WATCHDOG_PID` names another process) or when called outside a Tokio
/// runtime. Abort the handle (or let the runtime end) to stop the pings.
pub fn spawn_watchdog() -> Option<JoinHandle<()>> {
    let usec = env::var("WATCHDOG_USEC").ok();
    let pid = env::var("WATCHDOG_PID").ok();
    let period = watchdog_period(usec.as_deref(), pid.as_deref(), process::id())?;
    let runtime = match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::warn!(error = %err, "watchdog requested but no Tokio runtime is running");
            return None;
        }
    };
    tracing::debug!(
        period_ms = period.as_millis() as u64,
        "systemd watchdog enabled"
    );
    Some(runtime.spawn(async move {
        let mut ticker = tokio::time::interval(period);
        // After a stall, ping once and carry on at the normal pace rather
        // than bursting the missed pings.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            notify(&[NotifyState::Watchdog]);
        }
    }))
}

/// Returns the listening socket passed by socket activation, if any.
///
/// Follows `sd_listen_fds(3)`: only when `LISTEN_PID` is this process and
/// `LISTEN_FDS` is at least 1 is descriptor 3 taken over (and marked
/// close-on-exec, so no child process inherits it). The socket is checked to
/// be a TCP socket and switched to non-blocking mode, ready for
/// `tokio::net::TcpListener::from_std`.
///
/// The descriptor can be owned once: later calls in the same process return
/// `Ok(None)`. The environment is left as it is: unsetting variables while
/// the runtime's threads may read the environment is a data race, and
/// `LISTEN_PID` already tells any child that the descriptors are not its own.
///
/// Returns `Ok(None)` when the process was not socket-activated, and an error
/// when the environment is malformed or descriptor 3 is not a TCP socket
/// (e.g. `ListenStream=` pointing at a Unix path).
pub fn inherited_listener() -> io::Result<Option<TcpListener>> {
    let mut fds = sd_notify::listen_fds_with_names(false)?.map(|(fd, _name)| fd);
    let Some(first) = fds.next() else {
        return Ok(None);
    };
    if LISTENER_TAKEN.swap(true, Ordering::SeqCst) {
        return Ok(None);
    }
    let extra = fds.count();
    if extra > 0 {
        tracing::warn!(
            extra,
            "socket activation passed more than one descriptor; only the first (fd 3) is used"
        );
    }
    // SAFETY: `listen_fds_with_names` returned this descriptor because
    // LISTEN_PID names this process and LISTEN_FDS covers it: by the
    // socket-activation protocol it is open and handed to us to own. Nothing
    // else in the process uses fd 3 under that protocol, and LISTENER_TAKEN
    // makes this the only place that ever takes ownership of it.
    let owned = unsafe { OwnedFd::from_raw_fd(first) };
    listener_from_fd(owned).map(Some)
}

/// Turns an inherited descriptor into a non-blocking std `TcpListener`,
/// rejecting anything that is not an IPv4/IPv6 socket.
fn listener_from_fd(fd: OwnedFd) -> io::Result<TcpListener> {
    let listener = TcpListener::from(fd);
    // getsockname fails with ENOTSOCK for a non-socket and std rejects
    // non-inet address families, so this doubles as a type check.
    let addr = listener.local_addr().map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("inherited fd 3 is not a TCP listening socket: {err}"),
        )
    })?;
    listener.set_nonblocking(true)?;
    tracing::info!(%addr, "using the listening socket passed by systemd");
    Ok(listener)
}

/// Decides the watchdog ping period from `WATCHDOG_USEC`/`WATCHDOG_PID`.
///
/// Like `sd_watchdog_enabled(3)`: the watchdog applies when the interval is a
/// positive integer and `WATCHDOG_PID` is unset or equals `own_pid`.
fn watchdog_period(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Some(pid) = pid {
        let pid: u32 = pid.trim().parse().ok()?;
        if pid != own_pid {
            return None;
        }
    }
    // Half the interval, but never a busy loop for absurdly small values.
    Some(Duration::from_micros(usec / 2).max(Duration::from_millis(1)))
}

/// Sends one notification datagram, logging (never propagating) failures.
fn notify(states: &[NotifyState<'_>]) {
    if let Err(err) = try_notify(states) {
        tracing::warn!(error = %err, "sd_notify failed");
    }
}

/// Sends the states to `$NOTIFY_SOCKET`. `Ok(false)` when not supervised.
///
/// Filesystem sockets go through `sd_notify::notify`; Linux abstract sockets
/// (`@name`, used by some managers and by `systemd-run --user` setups) are
/// not handled by that crate, so they are sent here with the same wire format.
fn try_notify(states: &[NotifyState<'_>]) -> io::Result<bool> {
    let Some(target) = env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    match target.as_bytes().strip_prefix(b"@") {
        Some(name) => send_abstract(name, states)?,
        None => sd_notify::notify(false, states)?,
    }
    Ok(true)
}

/// Sends the states to the abstract Unix socket `name` (without the `@`).
fn send_abstract(name: &[u8], states: &[NotifyState<'_>]) -> io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    let sock = UnixDatagram::unbound()?;
    sock.connect_addr(&addr)?;
    let msg = message(states);
    let sent = sock.send(msg.as_bytes())?;
    if sent != msg.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "short write on the notify socket",
        ));
    }
    Ok(())
}

/// The `sd_notify` wire format: one `KEY=VALUE` per line.
fn message(states: &[NotifyState<'_>]) -> String {
    states.iter().map(|s| format!("{s}\n")).collect()
}

/// Folds line breaks so a status never spans several assignments.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect()
}

/// True when `NOTIFY_SOCKET` is set, i.e. a service manager listens.
/// Handy for log lines; the notify functions do not need it.
pub fn is_supervised() -> bool {
    env::var_os("NOTIFY_SOCKET").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::os::linux::net::SocketAddrExt;

    #[test]
    fn watchdog_applies_when_pid_unset_or_ours() {
        assert_eq!(
            watchdog_period(Some("2000000"), None, 42),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            watchdog_period(Some("30000000"), Some("42"), 42),
            Some(Duration::from_secs(15))
        );
    }

    #[test]
    fn watchdog_ignored_for_other_pid_or_bad_values() {
        assert_eq!(watchdog_period(Some("2000000"), Some("7"), 42), None);
        assert_eq!(watchdog_period(Some("2000000"), Some("x"), 42), None);
        assert_eq!(watchdog_period(None, None, 42), None);
        assert_eq!(watchdog_period(Some("0"), None, 42), None);
        assert_eq!(watchdog_period(Some("soon"), None, 42), None);
        assert_eq!(watchdog_period(Some("-5"), None, 42), None);
    }

    #[test]
    fn watchdog_period_has_a_floor() {
        assert_eq!(
            watchdog_period(Some("1"), None, 42),
            Some(Duration::from_millis(1))
        );
    }

    #[test]
    fn message_is_one_assignment_per_line() {
        let msg = message(&[NotifyState::Ready, NotifyState::Status("serving 3 users")]);
        assert_eq!(msg, "READY=1\nSTATUS=serving 3 users\n");
        assert_eq!(message(&[NotifyState::Stopping]), "STOPPING=1\n");
        assert_eq!(message(&[NotifyState::Watchdog]), "WATCHDOG=1\n");
    }

    #[test]
    fn status_is_folded_to_one_line() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }

    #[test]
    fn abstract_notify_socket_receives_datagram() {
        let name = format!("dockchat-test-{}", process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            .expect("abstract address");
        let server = UnixDatagram::bind_addr(&addr).expect("bind abstract socket");
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        send_abstract(name.as_bytes(), &[NotifyState::Ready]).expect("send");
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"READY=1\n");
    }

    #[test]
    fn not_socket_activated_without_listen_pid() {
        // The test harness is not socket-activated: LISTEN_PID is absent.
        if env::var_os("LISTEN_PID").is_none() {
            assert!(inherited_listener().expect("no error").is_none());
        }
    }

    #[test]
    fn inherited_fd_becomes_nonblocking_listener() {
        let original = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = original.local_addr().expect("addr");
        let fd = OwnedFd::from(original);
        let listener = listener_from_fd(fd).expect("listener");
        assert_eq!(listener.local_addr().expect("addr"), addr);
        // Non-blocking: accept with nobody connecting returns WouldBlock.
        let err = listener.accept().expect_err("no pending connection");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        // And it still serves a real connection.
        let mut client = TcpStream::connect(addr).expect("connect");
        client.write_all(b"ping").expect("write");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let (mut conn, _) = loop {
            match listener.accept() {
                Ok(pair) => break pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(std::time::Instant::now() < deadline, "accept timed out");
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        conn.set_nonblocking(false).expect("blocking");
        conn.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).expect("read");
        assert_eq!(&buf, b"ping");
    }

    #[test]
    fn non_tcp_fd_is_rejected() {
        let (a, _b) = UnixDatagram::pair().expect("pair");
        let err = listener_from_fd(OwnedFd::from(a)).expect_err("unix socket is not TCP");
        assert!(err.to_string().contains("not a TCP listening socket"));
    }

    #[tokio::test]
    async fn no_watchdog_task_off_systemd() {
        if env::var_os("WATCHDOG_USEC").is_none() {
            assert!(spawn_watchdog().is_none());
        }
    }
}

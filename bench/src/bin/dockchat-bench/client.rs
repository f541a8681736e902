//! The load generator's WebSocket client: connect from a chosen 127.0.0.x source address (bound before
//! connect, so many sockets never exhaust one address's ephemeral ports), upgrade with the site's
//! `Origin`, authenticate (`hello` → `welcome`) and cheap field extraction from server frames without a
//! full JSON parse on the hot path.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::setup::SITE_URL;

/// A client WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// The process-wide time origin for latency stamps carried inside frames.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since [`epoch`].
pub fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// What the server is and how a client introduces itself to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The real daemon: `hello` carries a token.
    Dockchatd,
    /// The minimal forwarder: `hello` carries the user id.
    Forwarder,
}

impl Target {
    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Target::Dockchatd => "dockchatd",
            Target::Forwarder => "forwarder",
        }
    }
}

/// The `hello` frame for `uid` (`token` is used for the daemon only).
pub fn hello_frame(target: Target, uid: u64, token: &str) -> String {
    match target {
        Target::Dockchatd => format!(r#"{{"type":"hello","v":1,"token":"{token}"}}"#),
        Target::Forwarder => format!(r#"{{"type":"hello","v":1,"user":{uid}}}"#),
    }
}

/// The `n`-th source address: 127.0.0.2, 127.0.0.3, … cycling over `count` addresses.
pub fn source_ip(n: usize, count: usize) -> Ipv4Addr {
    let count = count.clamp(1, 250);
    Ipv4Addr::new(127, 0, 0, 2 + (n % count) as u8)
}

/// Client socket settings: small buffers, like a browser tab's modest needs.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(16 * 1024)
        .max_message_size(Some(16 << 20))
}

/// TCP connect from `src` (if given) and upgrade to a WebSocket on `/ws`.
pub async fn connect(addr: SocketAddr, src: Option<Ipv4Addr>) -> Result<Ws> {
    let sock = TcpSocket::new_v4().context("socket()")?;
    if let Some(ip) = src {
        sock.bind(SocketAddr::new(ip.into(), 0))
            .with_context(|| format!("bind({ip})"))?;
    }
    let stream = sock
        .connect(addr)
        .await
        .with_context(|| format!("connect({addr})"))?;
    stream.set_nodelay(true).context("TCP_NODELAY")?;
    let mut req = format!("ws://{addr}/ws")
        .into_client_request()
        .context("building the upgrade request")?;
    req.headers_mut()
        .insert("Origin", SITE_URL.parse().context("Origin header value")?);
    let (ws, _resp) = tokio_tungstenite::client_async_with_config(req, stream, Some(ws_config()))
        .await
        .context("WebSocket upgrade")?;
    Ok(ws)
}

/// Sends `hello` and waits (up to `timeout`) for `welcome`; returns the welcome frame's text.
pub async fn authenticate(ws: &mut Ws, hello: String, timeout: Duration) -> Result<String> {
    ws.send(Message::text(hello))
        .await
        .context("sending hello")?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| anyhow!("no welcome within {timeout:?}"))?;
        match next {
            Some(Ok(Message::Text(t))) => match frame_type(&t) {
                Some("welcome") => return Ok(t.as_str().to_owned()),
                Some("error") => bail!("hello refused: {}", t.as_str()),
                _ => continue,
            },
            Some(Ok(Message::Close(c))) => bail!("closed before welcome: {c:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => bail!("socket error before welcome: {e}"),
            None => bail!("socket ended before welcome"),
        }
    }
}

/// Connect, upgrade and authenticate in one step.
pub async fn open(
    addr: SocketAddr,
    src: Option<Ipv4Addr>,
    hello: String,
    timeout: Duration,
) -> Result<Ws> {
    let fut = async {
        let mut ws = connect(addr, src).await?;
        authenticate(&mut ws, hello, timeout).await?;
        Ok::<Ws, anyhow::Error>(ws)
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| anyhow!("connect + hello took longer than {timeout:?}"))?
}

/// Sends `frame` and waits (up to 10 s) for the first frame whose type is `answer` or `error`
/// (other frames, such as presence, are skipped); returns the round trip in microseconds, whether
/// the answer was an `error`, and the answer's text.
pub async fn ask(ws: &mut Ws, frame: &str, answer: &str) -> Result<(u64, bool, String)> {
    let t0 = tokio::time::Instant::now();
    ws.send(Message::text(frame.to_string())).await?;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| anyhow!("no {answer} within 10 s"))?;
        match next {
            Some(Ok(Message::Text(t))) => match frame_type(&t) {
                Some(ty) if ty == answer || ty == "error" => {
                    let us = (t0.elapsed().as_micros() as u64).max(1);
                    return Ok((us, ty == "error", t.as_str().to_owned()));
                }
                _ => continue,
            },
            Some(Ok(_)) => continue,
            other => bail!("socket ended while waiting for {answer}: {other:?}"),
        }
    }
}

/// Position just after `"key":` (optional whitespace after the colon skipped).
fn value_start(text: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(pos) = text[from..].find(key) {
        let at = from + pos;
        let after = at + key.len();
        let bytes = text.as_bytes();
        // The key must be a whole JSON key: preceded by a quote and followed by a quote.
        if at > 0 && bytes[at - 1] == b'"' && bytes.get(after) == Some(&b'"') {
            let mut i = after + 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if bytes.get(i) == Some(&b':') {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                return Some(i);
            }
        }
        from = after;
    }
    None
}

/// The first string value of `"key"` in a JSON text (no escapes expected: types, cids, statuses).
pub fn str_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = value_start(text, key)?;
    let rest = text.get(start..)?.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(&rest[..end])
}

/// The first unsigned integer value of `"key"` in a JSON text.
pub fn u64_field(text: &str, key: &str) -> Option<u64> {
    let start = value_start(text, key)?;
    let digits: &str = &text[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// The frame's `type`.
pub fn frame_type(text: &str) -> Option<&str> {
    str_field(text, "type")
}

/// A send's client id carrying the sender's user id, a sequence number and the send time stamp:
/// `m<uid>_<seq>_<ns>` (fits PROTOCOL's 1–64 characters of `A-Za-z0-9_-`).
pub fn make_cid(uid: u64, seq: u64, ns: u64) -> String {
    format!("m{uid}_{seq}_{ns}")
}

/// Parses a cid made by [`make_cid`] into (sender uid, seq, send time ns).
pub fn parse_cid(cid: &str) -> Option<(u64, u64, u64)> {
    let mut it = cid.strip_prefix('m')?.split('_');
    let uid = it.next()?.parse().ok()?;
    let seq = it.next()?.parse().ok()?;
    let ns = it.next()?.parse().ok()?;
    Some((uid, seq, ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_fields() {
        let f = r#"{"type":"message","message":{"id":1043,"from":9,"to":7,"text":"hi \"type\": x","time":1,"cid":"m9_3_55"},"sender":{"id":9}}"#;
        assert_eq!(frame_type(f), Some("message"));
        assert_eq!(str_field(f, "cid"), Some("m9_3_55"));
        assert_eq!(u64_field(f, "from"), Some(9));
        assert_eq!(u64_field(f, "id"), Some(1043));
        let spaced = r#"{ "type" : "pong", "n": 12 }"#;
        assert_eq!(frame_type(spaced), Some("pong"));
        assert_eq!(u64_field(spaced, "n"), Some(12));
        assert_eq!(frame_type(r#"{"typed":"x"}"#), None);
    }

    #[test]
    fn cid_round_trip() {
        let cid = make_cid(1001, 42, 123_456_789);
        assert!(cid.len() <= 64);
        assert!(cid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        assert_eq!(parse_cid(&cid), Some((1001, 42, 123_456_789)));
    }

    #[test]
    fn source_ips_cycle() {
        assert_eq!(source_ip(0, 4), Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(source_ip(5, 4), Ipv4Addr::new(127, 0, 0, 3));
    }
}

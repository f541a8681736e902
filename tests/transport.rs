//! The socket layer under attack (PROTOCOL §1, §6, §7; issue 11): ping floods from clients that never
//! read, a reader that stops, floods of empty continuation frames, idle sockets that never send a
//! request, protocol and UTF-8 violations, client closes, upgrade requests with a body, and the `ref`
//! of `rate_limited` — against real MariaDB and PostgreSQL, over raw TCP where a well-behaved
//! WebSocket client cannot misbehave enough.

mod common;

use common::users::*;
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WsFrame;
use tokio_tungstenite::tungstenite::Message;

const OP_CONTINUE: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;

/// A client frame, masked as RFC 6455 requires (`masked = false` only to break that rule).
fn client_frame(opcode: u8, fin: bool, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A WebSocket spoken byte by byte over TCP.
struct RawWs {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl RawWs {
    /// Upgrades `/ws` by hand; `rcvbuf` shrinks the client's receive buffer (a reader that stalls soon).
    async fn connect(addr: SocketAddr, rcvbuf: Option<u32>) -> RawWs {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(size) = rcvbuf {
            socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
        }
        let mut tcp = tokio::time::timeout(WAIT, socket.connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        tcp.write_all(upgrade_request("").as_bytes())
            .await
            .expect("write request");
        let (head, rest) = read_head(&mut tcp).await;
        assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
        RawWs { tcp, buf: rest }
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).await.expect("write frame");
    }

    async fn send_json(&mut self, v: &Value) {
        let frame = client_frame(OP_TEXT, true, v.to_string().as_bytes(), true);
        self.send_raw(&frame).await;
    }

    /// The next whole server frame (opcode, payload), `None` when the connection ends first.
    async fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout(WAIT, self.tcp.read(&mut chunk)).await {
                Err(_) => panic!("no frame within {WAIT:?}"),
                Ok(Ok(0)) | Ok(Err(_)) => return None,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads until a text frame of type `ty`.
    async fn expect(&mut self, ty: &str) -> Value {
        loop {
            match self.next_frame().await {
                Some((OP_TEXT, payload)) => {
                    let v: Value = serde_json::from_slice(&payload).expect("JSON text frame");
                    if v["type"] == ty {
                        return v;
                    }
                }
                Some((OP_CLOSE, payload)) => {
                    panic!("closed ({:?}) waiting for {ty}", close_code(&payload))
                }
                Some(_) => {}
                None => panic!("connection ended waiting for {ty}"),
            }
        }
    }

    /// Reads until the server's close frame; its code (`None` if the connection ended without one).
    async fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.next_frame().await {
                Some((OP_CLOSE, payload)) => return close_code(&payload),
                Some(_) => {}
                None => return None,
            }
        }
    }
}

fn close_code(payload: &[u8]) -> Option<u16> {
    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
}

/// One unmasked, unfragmented server frame from the front of `buf`, and the bytes it used.
fn parse_server_frame(buf: &[u8]) -> Option<((u8, Vec<u8>), usize)> {
    if buf.len() < 2 {
        return None;
    }
    let opcode = buf[0] & 0x0F;
    let (len, start) = match buf[1] & 0x7F {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
        127 if buf.len() >= 10 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(b) as usize, 10)
        }
        126 | 127 => return None,
        n => (n as usize, 2),
    };
    if buf.len() < start + len {
        return None;
    }
    Some(((opcode, buf[start..start + len].to_vec()), start + len))
}

/// A valid upgrade request for `/ws` with the site's Origin, plus `extra` header lines.
fn upgrade_request(extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: moodle.test\r\nOrigin: {SITE_URL}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Reads an HTTP response head; returns it and whatever followed it.
async fn read_head(tcp: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return (head, buf[end + 4..].to_vec());
        }
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(WAIT, tcp.read(&mut chunk))
            .await
            .expect("response in time")
            .expect("read response");
        assert!(n > 0, "connection closed before a response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Writes pings (125-byte payloads) and never reads, until the daemon cuts the connection; returns
/// the bytes written. Panics if `limit` bytes went through or a write stalls for [`WAIT`]: the
/// daemon kept reading (and answering) pings it could not deliver, or stopped reading without
/// closing.
async fn flood_pings_until_cut(ws: &mut RawWs, limit: usize) -> usize {
    let one = client_frame(OP_PING, true, &[b'p'; 125], true);
    let batch: Vec<u8> = one.iter().copied().cycle().take(one.len() * 256).collect();
    let mut written = 0;
    while written < limit {
        match tokio::time::timeout(WAIT, ws.tcp.write_all(&batch)).await {
            Err(_) => panic!("the daemon stopped reading pings without closing the socket"),
            Ok(Err(_)) => return written,
            Ok(Ok(())) => written += batch.len(),
        }
    }
    panic!("{written} bytes of pings were accepted from a client that never reads");
}

/// Item 3: unauthenticated and authenticated sockets that flood pings and never read their pongs are
/// cut off long before their pongs could pile up (16 MiB each before the fix), and the authenticated
/// ones are unregistered.
async fn ping_floods_that_never_read_are_cut_off(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut bob = ctx.client(BOB).await;
    let mut floods = Vec::new();
    for i in 0..12 {
        let mut ws = RawWs::connect(ctx.addr, Some(4096)).await;
        if i % 2 == 1 {
            ws.send_json(&json!({"type": "hello", "v": 1, "token": token(ALICE)}))
                .await;
            ws.expect("welcome").await;
        }
        floods.push(ws);
    }
    let p = bob.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(ALICE), Some("online"))
    );
    let limit = 8 << 20;
    let handles: Vec<_> = floods
        .into_iter()
        .map(|mut ws| tokio::spawn(async move { flood_pings_until_cut(&mut ws, limit).await }))
        .collect();
    for h in handles {
        let written = h.await.expect("flood task");
        assert!(written < limit);
    }
    let p = bob.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(ALICE), Some("offline"))
    );
    // The daemon is fine.
    bob.send(json!({"type": "ping", "n": 1})).await;
    bob.expect("pong").await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(ping_floods_that_never_read_are_cut_off);

/// Item 5: a tab that stops reading while messages are pushed to it is closed and unregistered
/// within a bounded time (the write deadline), although nothing it sends wakes its connection.
async fn a_reader_that_stops_is_closed_and_unregistered(backend: Backend) {
    let ctx = Ctx::start_with(backend, |c| {
        c.limits.rate_per_sec = 1000;
        c.limits.rate_burst = 1000;
    })
    .await;
    let mut alice = ctx.client(ALICE).await;
    let mut bob = Client::connect_small_buffer(&ctx.ws_url(), ctx.addr).await;
    bob.hello(&token(BOB), None).await;
    bob.welcome = bob.expect("welcome").await;
    let p = alice.expect("presence").await;
    assert_eq!(
        (p["user"]["id"].as_i64(), p["status"].as_str()),
        (Some(BOB), Some("online"))
    );
    // Bob's tab freezes; Alice writes to him until his socket cannot take more: 6 MiB, past the
    // kernel's send buffer (up to net.ipv4.tcp_wmem's 4 MiB) and the daemon's own bounds.
    let text = "😀".repeat(3900);
    for i in 0..400 {
        alice.send_message(BOB, &format!("stuck{i}"), &text).await;
    }
    // Write deadline (10 s) + the close frame's short bound; the wait is bounded, not a measurement.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let offline = loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match alice.next_within(left).await {
            None => break false,
            Some(Frame::Json(v)) if v["type"] == "presence" && v["user"]["id"] == BOB => {
                assert_eq!(v["status"], "offline", "{v}");
                break true;
            }
            Some(Frame::Json(_)) => {}
            Some(Frame::Close(code, reason)) => panic!("Alice closed ({code} {reason})"),
        }
    };
    assert!(
        offline,
        "a reader that stopped is still online for its mates"
    );
    // Whatever Bob still gets ends with 4009, or the socket was dropped after the close's bound.
    let (code, _) = bob.expect_close().await;
    assert!(code == 4009 || code == 1006, "closed with {code}");
    alice.close().await;
    ctx.finish().await;
}
db_test!(a_reader_that_stops_is_closed_and_unregistered);

/// Item 9: `rate_limited` names the refused frame — the `cid` of a `send`, otherwise the type —
/// before `hello` and after it.
async fn rate_limited_errors_carry_the_ref(backend: Backend) {
    let ctx = Ctx::start_with(backend, |c| {
        c.limits.rate_per_sec = 1;
        c.limits.rate_burst = 1;
    })
    .await;
    // Before hello: the first frame gets not_authenticated, the next ones rate_limited.
    let mut early = Client::connect(&ctx.ws_url()).await;
    for i in 0..5 {
        early
            .send(json!({"type": "send", "to": BOB, "cid": format!("early-{i}"), "text": "x"}))
            .await;
    }
    early.send(json!({"type": "typing", "to": BOB})).await;
    let mut refs = Vec::new();
    while refs.len() < 5 {
        let e = early.expect("error").await;
        if e["code"] == "rate_limited" {
            refs.push(e["ref"].as_str().unwrap_or_default().to_string());
        }
    }
    assert_eq!(refs, ["early-1", "early-2", "early-3", "early-4", "typing"]);
    // Authenticated: the first send is acked, the next ones are refused by cid.
    let mut alice = ctx.client(ALICE).await;
    for i in 0..4 {
        alice
            .send(json!({"type": "send", "to": BOB, "cid": format!("late-{i}"), "text": "x"}))
            .await;
    }
    alice.send(json!({"type": "ping", "n": 1})).await;
    alice
        .send(json!({"type": "send", "to": BOB, "cid": "not a cid!", "text": "x"}))
        .await;
    let ack = alice.expect("ack").await;
    assert_eq!(ack["cid"], "late-0");
    let mut refs = Vec::new();
    while refs.len() < 5 {
        let e = alice.expect("error").await;
        assert_eq!(e["code"], "rate_limited", "{e}");
        refs.push(e["ref"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(refs, ["late-1", "late-2", "late-3", "ping", "send"]);
    assert_eq!(ctx.db.count("messages").await, 1);
    alice.close().await;
    ctx.finish().await;
}
db_test!(rate_limited_errors_carry_the_ref);

/// A WebSocket client without the harness's conveniences, authenticated as Alice if asked.
async fn plain_ws(ctx: &Ctx, authenticated: bool) -> Ws {
    let mut ws = upgrade(&ctx.ws_url(), Some(SITE_URL))
        .await
        .unwrap_or_else(|s| panic!("upgrade refused with HTTP {s}"));
    if authenticated {
        let hello = json!({"type": "hello", "v": 1, "token": token(ALICE)});
        ws.send(Message::text(hello.to_string()))
            .await
            .expect("hello");
        loop {
            match tokio::time::timeout(WAIT, ws.next())
                .await
                .expect("welcome in time")
            {
                Some(Ok(Message::Text(t))) if t.as_str().contains("\"welcome\"") => break,
                Some(Ok(_)) => {}
                other => panic!("no welcome: {other:?}"),
            }
        }
    }
    ws
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The code of the server's close frame (1006 if the connection ended without one).
async fn close_code_of(ws: &mut Ws) -> u16 {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(Some(f)))) => return u16::from(f.code),
            Some(Ok(Message::Close(None))) => return 1005,
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return 1006,
        }
    }
}

/// Item 10a: a message that never ends (empty continuation frames without end) is cut off with 4008,
/// and so is a flood of control frames; before `hello` and after it.
async fn frame_floods_are_closed_4008(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    for authenticated in [false, true] {
        for control in [false, true] {
            let mut ws = plain_ws(&ctx, authenticated).await;
            if !control {
                let start = WsFrame::message(b"{".to_vec(), OpCode::Data(Data::Text), false);
                ws.feed(Message::Frame(start))
                    .await
                    .expect("first fragment");
            }
            // Far more frames than a client could need, sent in well under a second.
            let mut cut = false;
            for i in 0..5000 {
                let m = if control {
                    Message::Ping(Vec::new().into())
                } else {
                    Message::Frame(WsFrame::message(
                        Vec::new(),
                        OpCode::Data(Data::Continue),
                        false,
                    ))
                };
                if ws.feed(m).await.is_err() || (i % 500 == 499 && ws.flush().await.is_err()) {
                    cut = true;
                    break;
                }
            }
            let _ = ws.flush().await;
            let code = close_code_of(&mut ws).await;
            assert_eq!(
                code, 4008,
                "control={control} authenticated={authenticated} cut={cut}"
            );
        }
    }
    // Other clients are unaffected.
    let mut bob = ctx.client(BOB).await;
    bob.send(json!({"type": "ping", "n": 1})).await;
    bob.expect("pong").await;
    bob.close().await;
    ctx.finish().await;
}
db_test!(frame_floods_are_closed_4008);

/// Item 10b: sockets that never send an HTTP request cannot hold the connection cap: a WebSocket
/// still gets in, and the oldest idle socket is closed when too many of them wait.
async fn idle_sockets_do_not_hold_the_connection_cap(backend: Backend) {
    let ctx = Ctx::start_with(backend, |c| c.limits.max_connections = 3).await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        let s = tokio::time::timeout(WAIT, TcpStream::connect(ctx.addr))
            .await
            .expect("connect in time")
            .expect("connect");
        idle.push(s);
    }
    let mut alice = ctx.client(ALICE).await;
    let mut bob = ctx.client(BOB).await;
    // The first idle socket was pushed out by the later ones (without an answer).
    let mut b = [0u8; 16];
    let n = tokio::time::timeout(WAIT, idle[0].read(&mut b))
        .await
        .expect("the oldest idle socket is closed in time");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    // The WebSocket cap itself still holds.
    let mut carol = ctx.client(CAROL).await;
    let (code, reason) = refused_with(&ctx, &token(LEO)).await;
    assert_eq!(code, 4029, "{reason}");
    for c in [&mut alice, &mut bob, &mut carol] {
        c.send(json!({"type": "ping", "n": 1})).await;
        c.expect("pong").await;
    }
    for c in [alice, bob, carol] {
        c.close().await;
    }
    ctx.finish().await;
}
db_test!(idle_sockets_do_not_hold_the_connection_cap);

/// Item 10c: protocol violations get close 1002, invalid UTF-8 in a text frame 1007, and a client's
/// close frame is answered with the same code — before `hello` and after it.
async fn violations_and_closes_get_close_frames(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let hello = json!({"type": "hello", "v": 1, "token": token(ALICE)});
    let cases: [(&str, Vec<u8>, u16); 5] = [
        (
            "unmasked frame",
            client_frame(OP_TEXT, true, b"{}", false),
            1002,
        ),
        (
            "continuation without a start",
            client_frame(OP_CONTINUE, true, b"x", true),
            1002,
        ),
        ("reserved opcode", client_frame(0x3, true, b"x", true), 1002),
        (
            "invalid UTF-8",
            client_frame(OP_TEXT, true, &[b'{', 0xC3, 0x28, b'}'], true),
            1007,
        ),
        (
            "client close 4321",
            client_frame(OP_CLOSE, true, &[0x10, 0xE1, b'b', b'y', b'e'], true),
            4321,
        ),
    ];
    for authenticated in [false, true] {
        for (what, bytes, want) in &cases {
            let mut ws = RawWs::connect(ctx.addr, None).await;
            if authenticated {
                ws.send_json(&hello).await;
                ws.expect("welcome").await;
            }
            ws.send_raw(bytes).await;
            let code = ws.close_code().await;
            assert_eq!(code, Some(*want), "{what} (authenticated: {authenticated})");
        }
    }
    // A fragmented text message whose UTF-8 breaks in a continuation frame.
    let mut ws = RawWs::connect(ctx.addr, None).await;
    ws.send_raw(&client_frame(OP_TEXT, false, b"{\"a\":\"", true))
        .await;
    ws.send_raw(&client_frame(OP_CONTINUE, true, &[0xFF, b'"', b'}'], true))
        .await;
    assert_eq!(ws.close_code().await, Some(1007));
    ctx.finish().await;
}
db_test!(violations_and_closes_get_close_frames);

/// Item 10d: an upgrade request that carries a body (`Content-Length`, `Transfer-Encoding`, or both)
/// is refused with 400.
async fn upgrades_with_a_body_are_refused(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let cases = [
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\n",
        "Content-Length: 5\r\n",
    ];
    for extra in cases {
        let mut tcp = TcpStream::connect(ctx.addr).await.expect("connect");
        let body = if extra.contains("chunked") {
            "5\r\nhello\r\n0\r\n\r\n"
        } else {
            "hello"
        };
        let request = format!("{}{body}", upgrade_request(extra));
        tcp.write_all(request.as_bytes()).await.expect("write");
        let (head, _) = read_head(&mut tcp).await;
        assert!(
            head.starts_with("HTTP/1.1 400"),
            "{extra:?} answered {head}"
        );
    }
    // Without a body (or with an empty one) the upgrade still works.
    for extra in ["", "Content-Length: 0\r\n"] {
        let mut tcp = TcpStream::connect(ctx.addr).await.expect("connect");
        tcp.write_all(upgrade_request(extra).as_bytes())
            .await
            .expect("write");
        let (head, _) = read_head(&mut tcp).await;
        assert!(
            head.starts_with("HTTP/1.1 101"),
            "{extra:?} answered {head}"
        );
    }
    ctx.finish().await;
}
db_test!(upgrades_with_a_body_are_refused);

/// A plain HTTP request (here `/healthz`) is answered with `Connection: close` and the connection
/// ends: a client that kept it alive would hold a socket that no cap counts (the idle-connection
/// rule counts a connection only until its first request).
async fn http_connections_end_after_one_request(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let mut tcp = TcpStream::connect(ctx.addr).await.expect("connect");
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: dockchat\r\n\r\n")
        .await
        .expect("request");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer)).await;
    assert!(
        matches!(read, Ok(Ok(_))),
        "the connection was kept open after its answer"
    );
    let text = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(text.contains("connection: close"), "{text}");
    ctx.finish().await;
}
db_test!(http_connections_end_after_one_request);

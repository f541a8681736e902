//! The stream every WebSocket is built on (a leaf module under `server`): write coalescing with a
//! write deadline, and the inbound frame budget.
//!
//! Owns: [`Coalesce`]. tungstenite writes each frame to its stream as soon as it is formatted (write
//! buffer size 0, so its own buffer stays one frame small); on a bare TCP stream that is one
//! `send(2)` per frame, and the storm profile showed half the daemon's CPU in the kernel's send path.
//! `Coalesce` gathers the frames written between two flushes and hands them to the kernel in one
//! write; the connection flushes after each batch of outbox items. The buffer exists only while
//! frames are pending: it is freed after each flush, so idle connections hold none. Pending bytes
//! that the peer does not take within the write deadline fail the stream with
//! [`Refusal::WriteStalled`] (the connection closes with 4009), so a peer that stops reading cannot
//! hold a task in a write. On the read side it follows the frame headers in the incoming bytes
//! (tungstenite assembles fragments and answers pings without showing them) and fails the stream
//! with [`Refusal::TooManyFrames`] when the peer sends frames of any kind — data, continuation or
//! control — faster than its budget (the connection closes with 4008).
//! Must not: interpret bytes beyond frame headers, or hold more than [`HIGH_WATER`] before pushing
//! back on the writer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Past this many pending bytes a write first drains to the socket (back-pressure on slow readers).
pub const HIGH_WATER: usize = 64 * 1024;

/// Bytes the buffer starts with when a flush's first frame is written (it is freed at the flush).
const FIRST_BUFFER: usize = 1024;

/// Why the stream gave up; carried inside the `io::Error` that tungstenite passes on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("the peer did not take the pending bytes within the write deadline")]
    WriteStalled,
    #[error("the peer sent frames faster than its budget")]
    TooManyFrames,
}

/// The [`Refusal`] inside an I/O error of this stream, if it is one.
pub fn refusal(e: &io::Error) -> Option<&Refusal> {
    e.get_ref()?.downcast_ref::<Refusal>()
}

/// Limits of one stream (the same for every connection).
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// Longest time pending bytes (at most [`HIGH_WATER`] and a frame) may wait for the peer.
    pub write_timeout: Duration,
    /// Incoming frames per second, refilled continuously...
    pub frames_per_sec: f32,
    /// ...up to this many at once.
    pub frames_burst: f32,
}

/// A stream whose writes are gathered until `flush`, with a write deadline and an inbound frame budget.
#[derive(Debug)]
pub struct Coalesce<S> {
    inner: S,
    buf: Vec<u8>,
    /// Bytes of `buf` already written to `inner`.
    sent: usize,
    /// Runs while a drain waits for the peer (allocated only then).
    stall: Option<Pin<Box<Sleep>>>,
    /// `StreamLimits::write_timeout` in milliseconds (4 bytes instead of a `Duration`'s 16).
    write_timeout_ms: u32,
    frames: FrameMeter,
}

impl<S> Coalesce<S> {
    pub fn new(inner: S, limits: StreamLimits) -> Self {
        Coalesce {
            inner,
            buf: Vec::new(),
            sent: 0,
            stall: None,
            write_timeout_ms: u32::try_from(limits.write_timeout.as_millis()).unwrap_or(u32::MAX),
            frames: FrameMeter::new(limits.frames_per_sec, limits.frames_burst),
        }
    }

    /// Bytes written but not yet handed to the socket.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.sent
    }

    /// Counts bytes that were read from the socket before this stream existed (the part of the first
    /// WebSocket frames that arrived with the HTTP request), so frame headers stay in step.
    pub fn count_read_ahead(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        self.frames.observe(bytes, Instant::now())
    }

    /// The socket itself, bypassing coalescing and the frame budget (to drain it after a refusal).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: AsyncWrite + Unpin> Coalesce<S> {
    /// Writes out everything pending, then lets the buffer go.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.buf.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.buf[self.sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.sent += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return self.poll_stall(cx),
            }
        }
        self.buf = Vec::new();
        self.sent = 0;
        self.stall = None;
        Poll::Ready(Ok(()))
    }

    /// The peer is not taking bytes: wait, but not past the write deadline.
    fn poll_stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let timeout = Duration::from_millis(u64::from(self.write_timeout_ms));
        let stall = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(stall.as_mut().poll(cx));
        // Disarmed: a last attempt (the close frame) gets a deadline of its own.
        self.stall = None;
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            Refusal::WriteStalled,
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Coalesce<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let new = buf.filled().get(before..).unwrap_or_default();
        if !new.is_empty() {
            if let Err(refusal) = this.frames.observe(new, Instant::now()) {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, refusal)));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Coalesce<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending() + data.len() > HIGH_WATER {
            ready!(this.poll_drain(cx))?;
            if data.len() > HIGH_WATER {
                // Nothing to gather with: write it straight through (under the same deadline).
                return match Pin::new(&mut this.inner).poll_write(cx, data) {
                    Poll::Pending => match this.poll_stall(cx) {
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        _ => Poll::Pending,
                    },
                    ready => {
                        this.stall = None;
                        ready
                    }
                };
            }
        }
        if this.buf.capacity() == 0 {
            // The first frame since the last flush: room for the few that usually follow it (an
            // ack and its message), so they do not grow the buffer one by one.
            this.buf.reserve(data.len().max(FIRST_BUFFER));
        }
        this.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// Follows WebSocket frame headers through the incoming bytes and charges each frame to a token
/// bucket. Small and allocation-free: it keeps the header being read and the payload left to skip.
#[derive(Debug)]
struct FrameMeter {
    /// Header bytes of the frame being read (at most 14: 2, extended length, mask key).
    head: [u8; 14],
    head_len: u8,
    /// Payload bytes of the current frame still to pass.
    skip: u64,
    tokens: f32,
    rate: f32,
    burst: f32,
    last: Instant,
    /// Refused once: the connection is closing, and what the peer still sends is only drained.
    refused: bool,
}

/// Header length given its second byte (mask bit and 7-bit length).
fn header_len(second: u8) -> usize {
    let extended = match second & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    2 + extended + mask
}

impl FrameMeter {
    fn new(rate: f32, burst: f32) -> Self {
        FrameMeter {
            head: [0; 14],
            head_len: 0,
            skip: 0,
            tokens: burst,
            rate,
            burst,
            last: Instant::now(),
            refused: false,
        }
    }

    fn observe(&mut self, mut data: &[u8], now: Instant) -> Result<(), Refusal> {
        if self.refused {
            return Ok(());
        }
        let dt = now.saturating_duration_since(self.last).as_secs_f32();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        loop {
            let have = usize::from(self.head_len);
            if have >= 2 && have == header_len(self.head[1]) {
                self.skip = self.payload_len();
                self.head_len = 0;
                if self.tokens < 1.0 {
                    self.refused = true;
                    return Err(Refusal::TooManyFrames);
                }
                self.tokens -= 1.0;
                continue;
            }
            if data.is_empty() {
                return Ok(());
            }
            if self.skip > 0 {
                let n = usize::try_from(self.skip).map_or(data.len(), |s| s.min(data.len()));
                self.skip -= n as u64;
                data = data.get(n..).unwrap_or_default();
                continue;
            }
            let want = if have < 2 {
                2
            } else {
                header_len(self.head[1])
            };
            let take = (want - have).min(data.len());
            if let (Some(dst), Some(src)) = (self.head.get_mut(have..have + take), data.get(..take))
            {
                dst.copy_from_slice(src);
            }
            self.head_len += take as u8;
            data = data.get(take..).unwrap_or_default();
        }
    }

    fn payload_len(&self) -> u64 {
        let h = &self.head;
        match h[1] & 0x7F {
            126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
            127 => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
            n => u64::from(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const TEST_LIMITS: StreamLimits = StreamLimits {
        write_timeout: Duration::from_secs(60),
        frames_per_sec: 10.0,
        frames_burst: 20.0,
    };

    #[tokio::test]
    async fn gathers_until_flush_and_frees_the_buffer() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut c = Coalesce::new(a, TEST_LIMITS);
        c.write_all(b"hello ").await.expect("write");
        c.write_all(b"world").await.expect("write");
        assert_eq!(c.pending(), 11);
        let mut probe = [0u8; 16];
        let nothing =
            tokio::time::timeout(std::time::Duration::from_millis(50), b.read(&mut probe)).await;
        assert!(nothing.is_err(), "nothing reaches the peer before flush");
        c.flush().await.expect("flush");
        assert_eq!(c.pending(), 0);
        assert_eq!(c.buf.capacity(), 0, "idle connections hold no buffer");
        let mut got = [0u8; 11];
        b.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"hello world");
    }

    #[tokio::test]
    async fn large_and_slow_writes_push_back() {
        // A 16 KiB pipe that nobody reads: past the high-water mark writes must wait, not grow.
        let (a, mut b) = tokio::io::duplex(16 * 1024);
        let mut c = Coalesce::new(a, TEST_LIMITS);
        let chunk = vec![7u8; 8 * 1024];
        let mut written = 0;
        let stalled = tokio::time::timeout(std::time::Duration::from_millis(200), async {
            loop {
                c.write_all(&chunk).await.expect("write");
                written += chunk.len();
            }
        })
        .await;
        assert!(stalled.is_err());
        assert!(c.pending() <= HIGH_WATER, "pending {}", c.pending());
        assert!(written <= HIGH_WATER + 16 * 1024 + chunk.len());
        // The reader catches up: everything arrives, in order.
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            b.read_to_end(&mut all).await.expect("read");
            all
        });
        c.flush().await.expect("flush");
        c.shutdown().await.expect("shutdown");
        drop(c);
        let all = reader.await.expect("reader");
        assert_eq!(all.len(), written);
        assert!(all.iter().all(|&x| x == 7));
    }

    /// A client frame header (masked or not) followed by `len` payload bytes.
    fn frame(len: usize, masked: bool) -> Vec<u8> {
        let mask = if masked { 0x80 } else { 0 };
        let mut f = vec![0x82];
        match len {
            n if n < 126 => f.push(mask | n as u8),
            n if n <= 0xFFFF => {
                f.push(mask | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(mask | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            f.extend_from_slice(&[1, 2, 3, 4]);
        }
        f.extend(std::iter::repeat_n(0x55, len));
        f
    }

    /// Every connection carries this stream: its idle state stays small (no buffer, no timer).
    #[test]
    fn the_stream_stays_small() {
        let size = std::mem::size_of::<Coalesce<tokio::net::TcpStream>>();
        assert!(size <= 144, "Coalesce<TcpStream> grew to {size} bytes");
    }

    #[test]
    fn the_frame_meter_follows_headers_across_any_split() {
        let frames = [
            frame(0, true),
            frame(125, true),
            frame(126, true),
            frame(70_000, true),
            frame(3, false),
            frame(0, true),
        ];
        let bytes: Vec<u8> = frames.concat();
        for chunk in [1, 2, 3, 7, 13, 4096, bytes.len()] {
            let t = Instant::now();
            let mut meter = FrameMeter::new(0.0, 100.0);
            meter.last = t;
            for part in bytes.chunks(chunk) {
                meter.observe(part, t).expect("within budget");
            }
            assert_eq!(
                meter.tokens,
                100.0 - frames.len() as f32,
                "chunks of {chunk}"
            );
            assert_eq!((meter.head_len, meter.skip), (0, 0), "chunks of {chunk}");
        }
    }

    #[test]
    fn the_frame_meter_refuses_past_its_budget_and_refills() {
        let t = Instant::now();
        let mut meter = FrameMeter::new(10.0, 3.0);
        meter.last = t;
        let empty = frame(0, true);
        for _ in 0..3 {
            meter.observe(&empty, t).expect("burst");
        }
        assert_eq!(meter.observe(&empty, t), Err(Refusal::TooManyFrames));
        // Once refused, the rest is only drained (the connection is closing).
        assert_eq!(meter.observe(&empty, t), Ok(()));
        // 100 ms later: one more frame.
        let later = t + Duration::from_millis(100);
        let mut meter = FrameMeter::new(10.0, 3.0);
        meter.last = t;
        meter.tokens = 0.0;
        meter.observe(&empty, later).expect("refilled");
        assert_eq!(meter.observe(&empty, later), Err(Refusal::TooManyFrames));
    }

    #[tokio::test]
    async fn an_empty_continuation_flood_is_refused_on_read() {
        let (mut a, b) = tokio::io::duplex(1 << 16);
        let mut c = Coalesce::new(b, TEST_LIMITS);
        let flood: Vec<u8> = std::iter::repeat_n([0x00u8, 0x80, 1, 2, 3, 4], 100)
            .flatten()
            .collect();
        a.write_all(&flood).await.expect("write");
        let mut sink = vec![0u8; flood.len()];
        let err = c.read_exact(&mut sink).await.expect_err("refused");
        assert_eq!(refusal(&err), Some(&Refusal::TooManyFrames));
    }

    #[tokio::test]
    async fn a_write_the_peer_never_takes_fails_at_the_deadline() {
        // Nobody reads the other end: the drain waits for the deadline, then fails.
        let limits = StreamLimits {
            write_timeout: Duration::from_millis(300),
            ..TEST_LIMITS
        };
        let (a, _b) = tokio::io::duplex(1024);
        let mut c = Coalesce::new(a, limits);
        c.write_all(&[1u8; 8 * 1024]).await.expect("gathered");
        let early =
            tokio::time::timeout(limits.write_timeout - Duration::from_millis(50), c.flush()).await;
        assert!(early.is_err(), "still waiting before the deadline");
        let err = c.flush().await.expect_err("past the deadline");
        assert_eq!(refusal(&err), Some(&Refusal::WriteStalled));
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}

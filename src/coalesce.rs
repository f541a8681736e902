//! Socket write coalescing (a leaf module under `server`).
//!
//! Owns: [`Coalesce`], the stream every WebSocket is built on. tungstenite writes each frame to its
//! stream as soon as it is formatted (write buffer size 0, so its own buffer stays one frame small);
//! on a bare TCP stream that is one `send(2)` per frame, and the storm profile showed half the
//! daemon's CPU in the kernel's send path. `Coalesce` gathers the frames written between two
//! flushes and hands them to the kernel in one write; the connection flushes after each batch of
//! outbox items. The buffer exists only while frames are pending: it is freed after each flush, so
//! idle connections hold none.
//! Must not: interpret bytes, or hold more than [`HIGH_WATER`] before pushing back on the writer.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Past this many pending bytes a write first drains to the socket (back-pressure on slow readers).
pub const HIGH_WATER: usize = 64 * 1024;

/// A stream whose writes are gathered until `flush`.
#[derive(Debug)]
pub struct Coalesce<S> {
    inner: S,
    buf: Vec<u8>,
    /// Bytes of `buf` already written to `inner`.
    sent: usize,
}

impl<S> Coalesce<S> {
    pub fn new(inner: S) -> Self {
        Coalesce {
            inner,
            buf: Vec::new(),
            sent: 0,
        }
    }

    /// Bytes written but not yet handed to the socket.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.sent
    }
}

impl<S: AsyncWrite + Unpin> Coalesce<S> {
    /// Writes out everything pending, then lets the buffer go.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.buf.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.buf[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.buf = Vec::new();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Coalesce<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
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
                // Nothing to gather with: write it straight through.
                return Pin::new(&mut this.inner).poll_write(cx, data);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn gathers_until_flush_and_frees_the_buffer() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut c = Coalesce::new(a);
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
        let mut c = Coalesce::new(a);
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
}

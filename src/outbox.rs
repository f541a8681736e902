//! The bounded outbound queue of one connection and its slow-consumer policy (a leaf module).
//!
//! Owns: [`Outgoing`] (what can be pushed to a socket: shared pre-serialised frames, message frames
//! tagged with their id for resume de-duplication, and close requests) and [`OutboxTx`], the handle
//! publishers hold. A push never blocks: when the queue is full the connection is marked overflowed
//! and closes itself with 4009 (the client reconnects and resumes, so nothing acknowledged is lost).
//! Must not: know about users, the database or the socket itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// One item for a connection to write.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A pre-serialised text frame, shared (cheap clone) between recipients.
    Frame(Utf8Bytes),
    /// A `message` frame; `id` lets a resuming connection drop what `missed` already carried.
    Message { id: i64, frame: Utf8Bytes },
    /// Close the socket with this code and reason.
    Close(u16, &'static str),
}

/// The publisher side of a connection's queue.
#[derive(Debug, Clone)]
pub struct OutboxTx {
    tx: mpsc::Sender<Outgoing>,
    overflow: Arc<AtomicBool>,
}

/// The connection side.
#[derive(Debug)]
pub struct OutboxRx {
    pub rx: mpsc::Receiver<Outgoing>,
    overflow: Arc<AtomicBool>,
}

/// A queue of at most `capacity` items.
pub fn outbox(capacity: usize) -> (OutboxTx, OutboxRx) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let overflow = Arc::new(AtomicBool::new(false));
    (
        OutboxTx {
            tx,
            overflow: overflow.clone(),
        },
        OutboxRx { rx, overflow },
    )
}

impl OutboxTx {
    /// Queues `item` without waiting. Returns false when the connection is gone or overflowed (it
    /// will close itself with 4009).
    pub fn push(&self, item: Outgoing) -> bool {
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflow.store(true, Ordering::Relaxed);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Whether both handles point to the same queue.
    pub fn same(&self, other: &OutboxTx) -> bool {
        self.tx.same_channel(&other.tx)
    }
}

impl OutboxRx {
    /// Whether a publisher found the queue full.
    pub fn overflowed(&self) -> bool {
        self.overflow.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queue_marks_overflow_without_blocking() {
        let (tx, mut rx) = outbox(2);
        assert!(tx.push(Outgoing::Frame("a".into())));
        assert!(tx.push(Outgoing::Frame("b".into())));
        assert!(!rx.overflowed());
        assert!(!tx.push(Outgoing::Frame("c".into())));
        assert!(rx.overflowed());
        assert!(matches!(rx.rx.try_recv(), Ok(Outgoing::Frame(_))));
    }

    #[test]
    fn closed_queue_refuses() {
        let (tx, rx) = outbox(2);
        drop(rx);
        assert!(!tx.push(Outgoing::Close(1000, "")));
    }
}

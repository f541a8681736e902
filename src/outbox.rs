//! The bounded outbound queue of one connection and its slow-consumer policy (a leaf module).
//!
//! Owns: [`Outgoing`] (what can be pushed to a socket: shared pre-serialised frames, message frames
//! tagged with their id for resume de-duplication, and close requests) and [`OutboxTx`], the handle
//! publishers hold. The queue is bounded in frames and in bytes ([`OUTBOX_BYTES`]). A push never
//! blocks: when the queue is full the connection is marked overflowed and closes itself with 4009
//! (the client reconnects and resumes, so nothing acknowledged is lost).
//! Must not: know about users, the database or the socket itself.
//!
//! Why not `tokio::sync::mpsc`: a bounded channel allocates its shared state and a first block of 32
//! slots up front, ≈3 KB per connection that an idle socket never uses (valgrind massif, 1,000 idle
//! connections). This queue is a `VecDeque` that allocates on the first push and gives its memory
//! back when drained, plus a `Notify`: ≈120 bytes while idle.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;
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

impl Outgoing {
    /// Bytes of frame text this item holds.
    fn bytes(&self) -> usize {
        match self {
            Outgoing::Frame(f) | Outgoing::Message { frame: f, .. } => f.len(),
            Outgoing::Close(..) => 0,
        }
    }
}

/// A drained queue keeps at most this many slots allocated.
const IDLE_SLOTS: usize = 4;

/// Most bytes of frames queued for one socket (whatever `outbox_frames` allows): a socket that falls
/// this far behind is closed with 4009. Far above a burst of the largest frames a reading client
/// gets (a `message` frame of 4,000 four-byte characters is ≈ 16 KiB).
pub const OUTBOX_BYTES: usize = 1 << 20;

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Outgoing>,
    /// Sum of `Outgoing::bytes` over `items`.
    bytes: usize,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    capacity: usize,
    notify: Notify,
    overflow: AtomicBool,
    receiver_gone: AtomicBool,
    senders: AtomicUsize,
}

impl Shared {
    /// The queue, even if a thread panicked while holding the lock (its items are still valid).
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The publisher side of a connection's queue.
#[derive(Debug)]
pub struct OutboxTx {
    shared: Arc<Shared>,
}

/// The connection side.
#[derive(Debug)]
pub struct OutboxRx {
    shared: Arc<Shared>,
}

/// A queue of at most `capacity` items and [`OUTBOX_BYTES`] bytes.
pub fn outbox(capacity: usize) -> (OutboxTx, OutboxRx) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        capacity: capacity.max(1),
        notify: Notify::new(),
        overflow: AtomicBool::new(false),
        receiver_gone: AtomicBool::new(false),
        senders: AtomicUsize::new(1),
    });
    (
        OutboxTx {
            shared: shared.clone(),
        },
        OutboxRx { shared },
    )
}

impl OutboxTx {
    /// Queues `item` without waiting. Returns false when the connection is gone or overflowed (it
    /// will close itself with 4009).
    pub fn push(&self, item: Outgoing) -> bool {
        let s = &self.shared;
        if s.receiver_gone.load(Ordering::Acquire) {
            return false;
        }
        let was_empty = {
            let mut q = s.queue();
            let bytes = item.bytes();
            if q.items.len() >= s.capacity || (q.bytes > 0 && q.bytes + bytes > OUTBOX_BYTES) {
                s.overflow.store(true, Ordering::Relaxed);
                drop(q);
                // Wake the connection so it notices the overflow and closes.
                s.notify.notify_one();
                return false;
            }
            q.items.push_back(item);
            q.bytes += bytes;
            q.items.len() == 1
        };
        // The receiver only waits after finding the queue empty (under the same lock), so it needs
        // a wake-up only for the push that ends an empty spell: one per batch, not one per frame.
        if was_empty {
            s.notify.notify_one();
        }
        true
    }

    /// Whether both handles point to the same queue.
    pub fn same(&self, other: &OutboxTx) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Clone for OutboxTx {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        OutboxTx {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for OutboxTx {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last publisher is gone: a waiting `recv` must see it.
            self.shared.notify.notify_one();
        }
    }
}

impl OutboxRx {
    /// Whether a publisher found the queue full.
    pub fn overflowed(&self) -> bool {
        self.shared.overflow.load(Ordering::Relaxed)
    }

    /// The next queued item, if any.
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        let mut q = self.shared.queue();
        let item = q.items.pop_front();
        if let Some(item) = &item {
            q.bytes = q.bytes.saturating_sub(item.bytes());
        }
        if q.items.is_empty() && q.items.capacity() > IDLE_SLOTS {
            // After a burst, give the memory back: idle connections are most of them.
            q.items.shrink_to(IDLE_SLOTS);
        }
        item
    }

    /// Waits for the next item; `None` once every publisher is gone and the queue is empty, or
    /// when the queue overflowed (the caller checks [`OutboxRx::overflowed`]). Cancel-safe: an item
    /// is only taken out of the queue by the call that returns it.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        loop {
            if let Some(item) = self.try_recv() {
                return Some(item);
            }
            if self.overflowed() || self.shared.senders.load(Ordering::Acquire) == 0 {
                return None;
            }
            // `notify_one` stores a permit when nobody waits, so a push between the check above
            // and this await is not missed.
            self.shared.notify.notified().await;
        }
    }
}

impl Drop for OutboxRx {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
        // Queued frames are shared with other recipients: release this queue's references now.
        let mut q = self.shared.queue();
        q.items.clear();
        q.bytes = 0;
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
        assert!(matches!(rx.try_recv(), Some(Outgoing::Frame(_))));
    }

    #[test]
    fn closed_queue_refuses() {
        let (tx, rx) = outbox(2);
        drop(rx);
        assert!(!tx.push(Outgoing::Close(1000, "")));
    }

    #[test]
    fn same_queue_and_clones() {
        let (tx, _rx) = outbox(2);
        let other = tx.clone();
        assert!(tx.same(&other));
        let (third, _rx3) = outbox(2);
        assert!(!tx.same(&third));
    }

    #[test]
    fn drained_queue_gives_memory_back() {
        let (tx, mut rx) = outbox(256);
        for i in 0..200 {
            assert!(tx.push(Outgoing::Close(i, "")));
        }
        while rx.try_recv().is_some() {}
        assert!(rx.shared.queue().items.capacity() <= IDLE_SLOTS);
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_too() {
        let (tx, mut rx) = outbox(10_000);
        let frame: Utf8Bytes = "x".repeat(100 * 1024).into();
        let mut queued = 0;
        while tx.push(Outgoing::Frame(frame.clone())) {
            queued += 1;
        }
        assert!(rx.overflowed());
        assert_eq!(queued, OUTBOX_BYTES / frame.len());
        // Taking items out gives their bytes back.
        assert!(rx.try_recv().is_some());
        assert_eq!(rx.shared.queue().bytes, (queued - 1) * frame.len());
        while rx.try_recv().is_some() {}
        assert_eq!(rx.shared.queue().bytes, 0);
    }

    #[test]
    fn one_frame_larger_than_the_byte_bound_still_fits_an_empty_queue() {
        let (tx, rx) = outbox(4);
        assert!(tx.push(Outgoing::Frame("y".repeat(OUTBOX_BYTES + 1).into())));
        assert!(!tx.push(Outgoing::Frame("z".into())));
        assert!(rx.overflowed());
    }

    #[tokio::test]
    async fn recv_waits_for_a_push_and_ends_when_publishers_are_gone() {
        let (tx, mut rx) = outbox(4);
        let tx2 = tx.clone();
        let waiter = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(item) = rx.recv().await {
                if let Outgoing::Close(code, _) = item {
                    got.push(code);
                }
            }
            got
        });
        tokio::task::yield_now().await;
        assert!(tx.push(Outgoing::Close(1, "")));
        assert!(tx2.push(Outgoing::Close(2, "")));
        drop(tx);
        drop(tx2);
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("recv ends")
            .expect("task");
        assert_eq!(got, vec![1, 2]);
    }

    #[tokio::test]
    async fn overflow_wakes_the_receiver() {
        let (tx, mut rx) = outbox(1);
        assert!(tx.push(Outgoing::Close(1, "")));
        assert!(rx.recv().await.is_some());
        assert!(tx.push(Outgoing::Close(2, "")));
        assert!(!tx.push(Outgoing::Close(3, "")));
        // The queued item is still delivered; then recv reports the end.
        assert!(rx.recv().await.is_some());
        assert!(rx.recv().await.is_none());
        assert!(rx.overflowed());
    }
}

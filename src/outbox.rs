//! The bounded outbound queue of one connection and its slow-consumer policy (a leaf module).
//!
//! Owns: [`Outgoing`] (what can be pushed to a socket: shared pre-serialised frames, message frames
//! tagged with their id for resume de-duplication, and close requests) and [`OutboxTx`], the handle
//! publishers hold. A push never blocks: when the queue is full the connection is marked overflowed
//! and closes itself with 4009 (the client reconnects and resumes, so nothing acknowledged is lost).
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

/// A drained queue keeps at most this many slots allocated.
const IDLE_SLOTS: usize = 4;

#[derive(Debug)]
struct Shared {
    queue: Mutex<VecDeque<Outgoing>>,
    capacity: usize,
    notify: Notify,
    overflow: AtomicBool,
    receiver_gone: AtomicBool,
    senders: AtomicUsize,
}

impl Shared {
    /// The queue, even if a thread panicked while holding the lock (its items are still valid).
    fn queue(&self) -> MutexGuard<'_, VecDeque<Outgoing>> {
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

/// A queue of at most `capacity` items.
pub fn outbox(capacity: usize) -> (OutboxTx, OutboxRx) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(VecDeque::new()),
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
            if q.len() >= s.capacity {
                s.overflow.store(true, Ordering::Relaxed);
                drop(q);
                // Wake the connection so it notices the overflow and closes.
                s.notify.notify_one();
                return false;
            }
            q.push_back(item);
            q.len() == 1
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
        let item = q.pop_front();
        if q.is_empty() && q.capacity() > IDLE_SLOTS {
            // After a burst, give the memory back: idle connections are most of them.
            q.shrink_to(IDLE_SLOTS);
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
        self.shared.queue().clear();
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
        assert!(rx.shared.queue().capacity() <= IDLE_SLOTS);
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

//! Request batching for per-user lookups: callers ask for one key and wait; a background task takes
//! every request that is queued (up to a maximum) and answers them all from one lookup of the set.
//!
//! Owns: the queue, the batch-size and concurrency limits, and fanning one result (or one error) out
//! to every waiter. It is quiet-friendly — a lone request becomes a batch of one at once, with no
//! timer — and storm-friendly: while batches are in flight, new requests gather into the next one.
//! Must not: know what it looks up; the lookup function is given at [`Batcher::spawn`].

use super::StoreError;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Semaphore};

type Reply<V> = oneshot::Sender<Result<V, StoreError>>;

/// A handle for queueing lookups; cheap to clone.
pub struct Batcher<K, V> {
    queue: mpsc::Sender<(K, Reply<V>)>,
    name: &'static str,
}

impl<K, V> Clone for Batcher<K, V> {
    fn clone(&self) -> Self {
        Batcher {
            queue: self.queue.clone(),
            name: self.name,
        }
    }
}

impl<K, V> std::fmt::Debug for Batcher<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").field("name", &self.name).finish()
    }
}

impl<K, V> Batcher<K, V>
where
    K: Copy + Eq + Hash + Ord + Send + 'static,
    V: Clone + Default + Send + 'static,
{
    /// Starts the batching task. `lookup` gets the distinct keys of a batch (sorted) and returns what
    /// it found; a key it leaves out gets `V::default()`. At most `max` keys per batch, at most
    /// `concurrency` batches at once, at most `queue` requests waiting before callers wait to queue.
    pub fn spawn<F, Fut>(
        name: &'static str,
        max: usize,
        concurrency: usize,
        queue: usize,
        lookup: F,
    ) -> Self
    where
        F: Fn(Vec<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<HashMap<K, V>, StoreError>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(queue.max(1));
        tokio::spawn(run(rx, max.max(1), concurrency.max(1), Arc::new(lookup)));
        Batcher { queue: tx, name }
    }

    /// Queues `key` and waits for its batch's answer.
    pub async fn get(&self, key: K) -> Result<V, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Batch(format!("{} lookup gave no answer", self.name));
        self.queue.send((key, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run<K, V, F, Fut>(
    mut rx: mpsc::Receiver<(K, Reply<V>)>,
    max: usize,
    concurrency: usize,
    lookup: Arc<F>,
) where
    K: Copy + Eq + Hash + Ord + Send + 'static,
    V: Clone + Default + Send + 'static,
    F: Fn(Vec<K>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<HashMap<K, V>, StoreError>> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency));
    loop {
        // Wait for a free slot first, so requests arriving meanwhile gather into the next batch.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < max {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let lookup = lookup.clone();
        tokio::spawn(async move {
            let mut keys: Vec<K> = batch.iter().map(|(k, _)| *k).collect();
            keys.sort_unstable();
            keys.dedup();
            match lookup(keys).await {
                Ok(found) => {
                    for (k, reply) in batch {
                        let _ = reply.send(Ok(found.get(&k).cloned().unwrap_or_default()));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for (_, reply) in batch {
                        let _ = reply.send(Err(StoreError::Batch(msg.clone())));
                    }
                }
            }
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    #[tokio::test]
    async fn concurrent_requests_share_batches_and_get_their_own_answer() {
        // Every lookup's keys, and the most lookups running at once.
        let seen: Arc<Mutex<Vec<Vec<i64>>>> = Arc::default();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let b: Batcher<i64, i64> = {
            let (seen, running, peak) = (seen.clone(), running.clone(), peak.clone());
            Batcher::spawn("test", 50, 2, 1000, move |keys: Vec<i64>| {
                seen.lock().expect("lock").push(keys.clone());
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let running = running.clone();
                async move {
                    tokio::task::yield_now().await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    // Odd keys are "not found" and get the default.
                    Ok(keys
                        .into_iter()
                        .filter(|k| k % 2 == 0)
                        .map(|k| (k, k * 10))
                        .collect())
                }
            })
        };
        let waits: Vec<_> = (0..200i64)
            .map(|k| {
                let b = b.clone();
                tokio::spawn(async move { (k, b.get(k % 100).await) })
            })
            .collect();
        for w in waits {
            let (k, got) = w.await.expect("task");
            let k = k % 100;
            assert_eq!(got.expect("answer"), if k % 2 == 0 { k * 10 } else { 0 });
        }
        let seen = seen.lock().expect("lock").clone();
        // 200 requests, at most 50 per batch: at least 4 lookups, and a handful rather than 200.
        assert!((4..=12).contains(&seen.len()), "{} lookups", seen.len());
        for keys in &seen {
            assert!(
                !keys.is_empty() && keys.len() <= 50,
                "batch of {}",
                keys.len()
            );
            assert!(
                keys.windows(2).all(|w| w[0] < w[1]),
                "keys sorted and distinct: {keys:?}"
            );
        }
        assert!(
            peak.load(Ordering::SeqCst) <= 2,
            "at most 2 lookups at once"
        );
    }

    #[tokio::test]
    async fn a_failed_lookup_fails_every_waiter_of_its_batch() {
        let b: Batcher<i64, i64> = Batcher::spawn("test", 10, 2, 100, |_keys: Vec<i64>| async {
            Err(StoreError::Batch("database down".into()))
        });
        let waits: Vec<_> = (0..5i64)
            .map(|k| {
                let b = b.clone();
                tokio::spawn(async move { b.get(k).await })
            })
            .collect();
        for w in waits {
            let err = w.await.expect("task").expect_err("must fail");
            assert!(err.to_string().contains("database down"), "{err}");
        }
    }
}

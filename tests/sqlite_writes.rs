//! The demo's embedded SQLite under concurrent writers: the message writer's group commit and the
//! connections' single-statement writes (windows, read markers) must wait for each other, never fail
//! with "database is locked" (a deferred transaction that reads first cannot wait for the lock).

mod common;

use dockchat::store::messaging::NewMessage;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commits_and_window_writes_wait_for_each_other() {
    let (store, dir) = common::sqlite_store("sqlite", 4).await;

    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut stored = 0;
            for round in 0..40 {
                let batch: Vec<NewMessage> = (0..16)
                    .map(|i| NewMessage {
                        from: 2 + (i % 4),
                        to: 10 + (i % 3),
                        cid: format!("r{round}-{i}"),
                        text: format!("message {round}.{i}"),
                        icon: String::new(),
                        windows_known: [false, false],
                        group: None,
                    })
                    .collect();
                let out = store.store_batch(&batch).await.expect("group commit");
                stored += out.iter().filter(|s| !s.dup).count();
                tokio::task::yield_now().await;
            }
            stored
        })
    };
    let others = {
        let store = store.clone();
        tokio::spawn(async move {
            for k in 0..200i64 {
                let state = if k % 3 == 0 { None } else { Some(k % 2) };
                store
                    .set_window(2 + (k % 4), 10 + (k % 3), state)
                    .await
                    .expect("window write");
                if store
                    .conversation(2, 10)
                    .await
                    .expect("conversation")
                    .is_some()
                {
                    store.mark_read(10, 2, k + 1).await.expect("read marker");
                }
            }
        })
    };
    let stored = tokio::time::timeout(Duration::from_secs(120), writer)
        .await
        .expect("bounded")
        .expect("writer task");
    tokio::time::timeout(Duration::from_secs(120), others)
        .await
        .expect("bounded")
        .expect("window task");
    assert_eq!(stored, 40 * 16);
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

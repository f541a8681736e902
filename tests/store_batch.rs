//! The message writer's group commit at the storage layer, on every path it has: MariaDB with
//! `INSERT IGNORE ... RETURNING`, MySQL's path without RETURNING (duplicate check first, read-back by
//! key after; run on MariaDB), PostgreSQL's `ON CONFLICT DO NOTHING RETURNING`, and SQLite (the
//! demo); and the batched read of the welcome's rows on each.

mod common;

use common::users::*;
use common::*;
use dockchat::store::chat::{NewMessage, Stored};
use dockchat::store::Store;

fn send(from: i64, to: i64, cid: &str) -> NewMessage {
    NewMessage {
        from,
        to,
        cid: cid.to_string(),
        text: format!("text of {cid}"),
        windows_known: [false, false],
    }
}

/// Two batches with retries of earlier and of same-batch cids; checks dup flags, ids and windows.
async fn exercise(store: &Store) {
    let first: Vec<NewMessage> = (1..=5)
        .map(|i| send(ALICE, BOB, &format!("c{i}")))
        .collect();
    let out = store.store_batch(&first).await.expect("first batch");
    assert!(out.iter().all(|s| !s.dup));
    let ids: Vec<i64> = out.iter().map(|s| s.message.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids follow the batch: {ids:?}"
    );
    assert!(out[0].opened_sender_window && out[0].opened_recipient_window);
    assert!(out[1..]
        .iter()
        .all(|s| !s.opened_sender_window && !s.opened_recipient_window));

    let second = vec![
        send(ALICE, BOB, "c3"),
        send(ALICE, BOB, "c6"),
        send(ALICE, BOB, "c6"),
        send(ALICE, BOB, "c1"),
        send(BOB, ALICE, "c1"), // the same cid from another sender is another message
        send(ALICE, CAROL, "c7"),
    ];
    let out2: Vec<Stored> = store.store_batch(&second).await.expect("second batch");
    let dups: Vec<bool> = out2.iter().map(|s| s.dup).collect();
    assert_eq!(dups, [true, false, true, true, false, false]);
    assert_eq!(out2[0].message.id, ids[2], "a retry names the stored id");
    assert_eq!(out2[0].message.text, "text of c3");
    assert_eq!(out2[3].message.id, ids[0]);
    assert_eq!(
        out2[2].message.id, out2[1].message.id,
        "a retry within the batch"
    );
    assert!(out2[1].message.id > ids[4]);
    assert!(out2[4].message.id > out2[1].message.id);
    assert!(out2[5].message.id > out2[4].message.id);
    assert_eq!((out2[4].message.from, out2[4].message.to), (BOB, ALICE));
    // Alice ↔ Carol is a new conversation with new windows; Bob → Alice reuses both windows.
    assert!(out2[5].opened_sender_window && out2[5].opened_recipient_window);
    assert!(!out2[4].opened_sender_window && !out2[4].opened_recipient_window);

    assert!(store
        .conversation(ALICE, CAROL)
        .await
        .expect("conv")
        .is_some());
    let stored = store.messages_since(ALICE, 0, 100).await.expect("messages");
    assert_eq!(stored.len(), 5 + 1 + 1 + 1);
    assert_eq!(
        store.windows(CAROL).await.expect("windows"),
        vec![(ALICE, 1)],
        "the recipient's window starts minimised"
    );

    // The welcome's rows of several users in one batched read: windows in the order they were
    // opened, and the newest message id of any of the user's conversations.
    // Two users who talk, in the second padded IN list (ids sort after the first 100).
    let far = store
        .store_batch(&[send(1120, 1121, "far")])
        .await
        .expect("far batch");
    let mut users: Vec<i64> = vec![ALICE, BOB, CAROL, DAVE];
    users.extend(1000..1150);
    let welcome = store.welcome_states(&users).await.expect("welcome states");
    assert_eq!(welcome[&1120].windows, vec![(1121, 0)]);
    assert_eq!(welcome[&1121].windows, vec![(1120, 1)]);
    assert_eq!(welcome[&1120].cursor, far[0].message.id);
    assert_eq!(welcome[&1121].cursor, far[0].message.id);
    let alice = &welcome[&ALICE];
    assert_eq!(alice.windows, vec![(BOB, 0), (CAROL, 0)]);
    assert_eq!(alice.cursor, out2[5].message.id);
    assert_eq!(welcome[&BOB].windows, vec![(ALICE, 1)]);
    assert_eq!(
        welcome[&BOB].cursor, out2[4].message.id,
        "Bob's cursor ignores Alice ↔ Carol"
    );
    assert_eq!(welcome[&CAROL].windows, vec![(ALICE, 1)]);
    assert_eq!(welcome[&CAROL].cursor, out2[5].message.id);
    assert!(
        !welcome.contains_key(&DAVE) && welcome.len() == 5,
        "users with neither windows nor messages are left out"
    );
}

async fn group_commit_paths(backend: Backend) {
    let db = TestDb::standard(backend).await;
    let store = Store::connect(&db.url, PREFIX, 2).await.expect("connect");
    assert!(
        store.has_returning(),
        "MariaDB 10.5+ and PostgreSQL have RETURNING"
    );
    exercise(&store).await;
    store.close().await;
    if backend == Backend::MariaDb {
        // MySQL's path, on a database of its own.
        let db2 = TestDb::standard(backend).await;
        let store = Store::connect(&db2.url, PREFIX, 2)
            .await
            .expect("connect")
            .without_returning();
        assert!(!store.has_returning());
        exercise(&store).await;
        store.close().await;
        db2.destroy().await;
    }
    db.destroy().await;
}
db_test!(group_commit_paths);

#[tokio::test]
async fn group_commit_paths_sqlite() {
    let (store, dir) = sqlite_store("batch", 2).await;
    assert!(store.has_returning(), "SQLite has RETURNING");
    exercise(&store).await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

//! The message writer's group commit at the storage layer, on every path it has: MariaDB with
//! `INSERT IGNORE ... RETURNING`, MySQL's path without RETURNING (duplicate check first, one insert
//! per message; run on MariaDB), PostgreSQL's `ON CONFLICT DO NOTHING RETURNING`, and SQLite (the
//! demo); the batched read of the welcome's rows on each; and Moodle's rules on its messaging tables
//! (duplicate conversations, disabled ones, read rows, deleted-for-me, messages Moodle stored).

mod common;

use common::users::*;
use common::*;
use dockchat::store::messaging::{conversation_hash, NewMessage, Stored};
use dockchat::store::Store;

fn send(from: i64, to: i64, cid: &str) -> NewMessage {
    NewMessage {
        from,
        to,
        cid: cid.to_string(),
        text: format!("text of {cid}"),
        icon: "https://moodle.test/theme/image.php/boost/core/1/u/f1".to_string(),
        windows_known: [false, false],
        group: None,
    }
}

/// Two batches with retries of earlier and of same-batch cids; checks dup flags, ids and windows.
async fn exercise(store: &Store) {
    let first: Vec<NewMessage> = (1..=13)
        .map(|i| {
            send(
                ALICE,
                BOB,
                &format!("{}{i}", if i <= 5 { "c" } else { "f" }),
            )
        })
        .collect();
    let out = store.store_batch(&first).await.expect("first batch");
    assert!(out.iter().all(|s| !s.dup));
    let ids: Vec<i64> = out.iter().map(|s| s.message.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids follow the batch: {ids:?}"
    );
    // Moodle's ids stay dense: the batch's rows take consecutive ids and the next insert the one
    // after them (InnoDB loses values after an INSERT ... SELECT of 13 rows; the ingest would take
    // each lost id for an insert not committed yet).
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive ids: {ids:?}"
    );
    let next = store
        .store_batch(&[send(ALICE, BOB, "after")])
        .await
        .expect("the next batch");
    assert_eq!(next[0].message.id, ids[12] + 1, "no id lost after a batch");
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
    assert_eq!(stored.len(), 13 + 1 + 1 + 1 + 1);
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
    let alice = &welcome[&ALICE];
    assert_eq!(alice.windows, vec![(BOB, 0), (CAROL, 0)]);
    assert_eq!(welcome[&BOB].windows, vec![(ALICE, 1)]);
    assert_eq!(welcome[&CAROL].windows, vec![(ALICE, 1)]);
    assert_eq!(
        store.newest_message().await.expect("newest"),
        far[0].message.id,
        "the welcome's cursor is the site's newest message"
    );
    assert!(
        !welcome.contains_key(&DAVE) && welcome.len() == 5,
        "users without windows are left out"
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
    moodle_rules(&db, &store).await;
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
        moodle_rules(&db2, &store).await;
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

/// Moodle's rules on its own tables, where Moodle and the daemon both write.
async fn moodle_rules(db: &TestDb, store: &Store) {
    // A conversation Moodle stored (the drawer's first message between Carol and Leo): the
    // daemon's next message goes into it, and its messages are part of the history, without cid.
    let t0 = now() - 60;
    let first = db.moodle_message(LEO, CAROL, "from the drawer", t0).await;
    let conv = db.moodle_conversation(CAROL, LEO).await;
    let out = store
        .store_batch(&[send(CAROL, LEO, "d1")])
        .await
        .expect("send");
    assert_eq!(
        out[0].message.conv, conv,
        "Moodle's conversation of the pair is reused"
    );
    assert_eq!(
        db.count(&format!(
            "message_conversations WHERE convhash = '{}'",
            conversation_hash(CAROL, LEO)
        ))
        .await,
        1
    );
    let h = store.history(CAROL, LEO, None, 10).await.expect("history");
    assert_eq!(h.len(), 2);
    assert_eq!(
        (h[1].id, h[1].cid.as_str(), h[1].text.as_str()),
        (first, "", "from the drawer")
    );
    assert_eq!((h[0].cid.as_str(), h[0].from, h[0].to), ("d1", CAROL, LEO));

    // Moodle's convhash index is not unique: a second conversation of the same pair (two PHP
    // requests raced) takes no new messages, yet its messages are read with the rest.
    let hash = conversation_hash(CAROL, LEO);
    db.execp(&format!(
        "INSERT INTO {{p}}message_conversations (type, convhash, enabled, timecreated) VALUES (1, '{hash}', 1, {t0})"
    ))
    .await;
    let twin = db
        .scalar(&format!(
            "SELECT MAX(id) FROM {{p}}message_conversations WHERE convhash = '{hash}'"
        ))
        .await
        .expect("twin");
    assert!(twin > conv);
    db.execp(&format!(
        "INSERT INTO {{p}}messages (useridfrom, conversationid, fullmessage, fullmessageformat, fullmessagehtml, \
         smallmessage, timecreated, fullmessagetrust) VALUES ({LEO}, {twin}, 'twin', 0, '', 'twin', {}, 0)",
        t0 + 1
    ))
    .await;
    let out = store
        .store_batch(&[send(CAROL, LEO, "d2")])
        .await
        .expect("send");
    assert_eq!(out[0].message.conv, conv, "writes go to the lowest id");
    assert_eq!(
        store.conversation(LEO, CAROL).await.expect("conv"),
        Some(conv)
    );
    let h = store.history(LEO, CAROL, None, 10).await.expect("history");
    let texts: Vec<&str> = h.iter().rev().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        ["from the drawer", "twin", "text of d1", "text of d2"],
        "drawer order: time, then id"
    );

    // Paging: older than the second newest.
    let older = store
        .history(LEO, CAROL, Some(h[1].id), 10)
        .await
        .expect("page");
    assert_eq!(
        older.iter().map(|m| m.id).collect::<Vec<_>>(),
        [h[2].id, h[3].id]
    );

    // Read state by Moodle's definitions: Leo reads Carol's messages up to d1 (one read row per
    // message); the unread count is what the drawer counts.
    assert_eq!(store.unread_count(LEO, CAROL).await.expect("unread"), 2);
    assert_eq!(
        store
            .mark_read(LEO, CAROL, h[1].id)
            .await
            .expect("read")
            .len(),
        1
    );
    assert!(
        store
            .mark_read(LEO, CAROL, h[1].id)
            .await
            .expect("read again")
            .is_empty(),
        "nothing new to mark"
    );
    assert_eq!(store.unread_count(LEO, CAROL).await.expect("unread"), 1);
    assert_eq!(
        store.read_markers(LEO, CAROL).await.expect("markers"),
        (h[1].id, 0)
    );
    assert_eq!(
        store.read_markers(CAROL, LEO).await.expect("markers"),
        (0, h[1].id)
    );
    assert_eq!(
        db.count(&format!(
            "message_user_actions WHERE userid = {LEO} AND action = 1"
        ))
        .await,
        1
    );
    assert_eq!(
        db.count(&format!(
            "block_dockchat_job j WHERE j.kind = 1 AND j.userid = {LEO} AND j.messageid = {} AND j.relateduserid = {CAROL} \
             AND j.itemid = (SELECT a.id FROM {{p}}message_user_actions a WHERE a.userid = {LEO} AND a.messageid = {})",
            h[1].id, h[1].id
        ))
        .await,
        1,
        "one message_viewed job per read row, naming it"
    );
    // A read row Moodle wrote meanwhile (the drawer marked d2) is not written twice.
    db.execp(&format!(
        "INSERT INTO {{p}}message_user_actions (userid, messageid, action, timecreated) VALUES ({LEO}, {}, 1, {t0})",
        h[0].id
    ))
    .await;
    assert!(store
        .mark_read(LEO, CAROL, h[0].id)
        .await
        .expect("read")
        .is_empty());
    assert_eq!(store.unread_count(LEO, CAROL).await.expect("unread"), 0);

    // Deleted for me (Moodle's action 2): gone from my history and resume, not from Leo's.
    db.execp(&format!(
        "INSERT INTO {{p}}message_user_actions (userid, messageid, action, timecreated) VALUES ({CAROL}, {first}, 2, {t0})"
    ))
    .await;
    let mine = store.history(CAROL, LEO, None, 10).await.expect("history");
    assert!(mine.iter().all(|m| m.id != first));
    assert_eq!(mine.len(), 3);
    assert!(store
        .messages_since(CAROL, 0, 1000)
        .await
        .expect("since")
        .iter()
        .all(|m| m.id != first));
    assert!(store
        .messages_since(LEO, 0, 1000)
        .await
        .expect("since")
        .iter()
        .any(|m| m.id == first && m.to == CAROL));

    // A conversation Moodle disabled takes nothing.
    db.execp(&format!(
        "UPDATE {{p}}message_conversations SET enabled = 0 WHERE id = {conv}"
    ))
    .await;
    let before = db.count("messages").await;
    let out = store
        .store_batch(&[send(CAROL, LEO, "d3"), send(ALICE, BOB, "d4")])
        .await
        .expect("send");
    assert!(out[0].disabled && !out[0].dup && out[0].message.id == 0);
    assert!(!out[1].disabled && !out[1].dup, "its neighbour is stored");
    assert_eq!(db.count("messages").await, before + 1);
    assert_eq!(
        db.count("block_dockchat_sent WHERE clientmsgid = 'd3'")
            .await,
        0
    );
    db.execp(&format!(
        "UPDATE {{p}}message_conversations SET enabled = 1 WHERE id = {conv}"
    ))
    .await;
}

/// Two nodes' writers (two stores, each with a pool of its own) store the first sends of the same
/// new pairs at the same moment, one from each side: each pair ends with one conversation, its two
/// members, and both messages in it. Without a lock across writers most pairs got two.
async fn racing_writers_create_one_conversation_per_pair(backend: Backend) {
    let db = TestDb::standard(backend).await;
    if backend == Backend::Postgres {
        // A site whose server defaults to REPEATABLE READ: the writer's transactions are still
        // READ COMMITTED, or the lookup after the lock would miss the other writer's commit.
        db.exec(&format!(
            "ALTER DATABASE {} SET default_transaction_isolation TO 'repeatable read'",
            db.name
        ))
        .await;
    }
    race_new_pairs(&db, true).await;
    db.destroy().await;
    if backend == Backend::MariaDb {
        // MySQL's path: a conversation and its members inserted one by one.
        let db2 = TestDb::standard(backend).await;
        race_new_pairs(&db2, false).await;
        db2.destroy().await;
    }
}
db_test!(racing_writers_create_one_conversation_per_pair);

async fn race_new_pairs(db: &TestDb, returning: bool) {
    const ROUNDS: i64 = 12;
    const PAIRS: i64 = 16;
    let connect = || async {
        let store = Store::connect(&db.url, PREFIX, 2).await.expect("connect");
        if returning {
            store
        } else {
            store.without_returning()
        }
    };
    let (node_a, node_b) = (connect().await, connect().await);
    // Users no fixture pair uses (the store checks no permission; the service did).
    let user = |round: i64, pair: i64, side: i64| 10_000 + round * 1_000 + pair * 2 + side;
    for round in 0..ROUNDS {
        let forth: Vec<NewMessage> = (0..PAIRS)
            .map(|p| {
                send(
                    user(round, p, 0),
                    user(round, p, 1),
                    &format!("r{round}p{p}a"),
                )
            })
            .collect();
        // The other side in reverse order: each writer meets the other's pairs last.
        let back: Vec<NewMessage> = (0..PAIRS)
            .rev()
            .map(|p| {
                send(
                    user(round, p, 1),
                    user(round, p, 0),
                    &format!("r{round}p{p}b"),
                )
            })
            .collect();
        let (a, b) = tokio::join!(node_a.store_batch(&forth), node_b.store_batch(&back));
        let (a, b) = (a.expect("node a's batch"), b.expect("node b's batch"));
        for p in 0..PAIRS as usize {
            let (mine, theirs) = (&a[p], &b[PAIRS as usize - 1 - p]);
            assert!(!mine.dup && !theirs.dup && mine.message.id > 0 && theirs.message.id > 0);
            assert_eq!(
                mine.message.conv, theirs.message.conv,
                "round {round}, pair {p}: both sends in one conversation"
            );
        }
    }
    let first = user(0, 0, 0);
    let twins = db
        .scalar(&format!(
            "SELECT COUNT(*) FROM (SELECT convhash FROM {{p}}message_conversations \
             WHERE type = 1 AND id IN (SELECT conversationid FROM {{p}}message_conversation_members WHERE userid >= {first}) \
             GROUP BY convhash HAVING COUNT(*) > 1) t"
        ))
        .await;
    assert_eq!(twins, Some(0), "no pair has two conversations");
    let pairs = ROUNDS * PAIRS;
    assert_eq!(
        db.count(&format!(
            "message_conversation_members WHERE userid >= {first}"
        ))
        .await,
        2 * pairs,
        "two members per conversation"
    );
    assert_eq!(
        db.count(&format!("messages WHERE useridfrom >= {first}"))
            .await,
        2 * pairs
    );
    // Each pair's hash is Moodle's, and the conversation holds both of its messages.
    for round in [0, ROUNDS - 1] {
        let (x, y) = (user(round, 3, 0), user(round, 3, 1));
        let conv = node_a.conversation(x, y).await.expect("lookup");
        let conv = conv.expect("the pair has a conversation");
        assert_eq!(
            db.count(&format!("messages WHERE conversationid = {conv}"))
                .await,
            2
        );
    }
    node_a.close().await;
    node_b.close().await;
}

/// The wait the lock makes, step by step: node A's writer has created a new pair's conversation and
/// not committed; node B's writer, sending the other way, waits for it and then writes into it.
/// And a batch that fails holding the lock leaves nothing held: the next one goes straight through.
async fn a_writer_waits_for_the_conversation_another_is_creating(backend: Backend) {
    use dockchat::store::messaging::IdTurn;
    use std::time::Duration;
    let db = TestDb::standard(backend).await;
    let node_a = Store::connect(&db.url, PREFIX, 2).await.expect("connect");
    let node_b = Store::connect(&db.url, PREFIX, 2).await.expect("connect");
    let (x, y) = (30_001, 30_002);

    let open = node_a
        .prepare_batch(&[send(x, y, "from-a")], IdTurn::default())
        .await
        .expect("node a prepares");
    let other_way = [send(y, x, "from-b")];
    let mut b = Box::pin(node_b.store_batch(&other_way));
    assert!(
        tokio::time::timeout(Duration::from_millis(400), &mut b)
            .await
            .is_err(),
        "node b waits while node a's conversation is uncommitted"
    );
    let a = open.commit().await.expect("node a commits");
    let b = tokio::time::timeout(Duration::from_secs(10), b)
        .await
        .expect("node b goes on once node a committed")
        .expect("node b's batch");
    assert!(a[0].message.conv > 0);
    assert_eq!(
        b[0].message.conv, a[0].message.conv,
        "node a's conversation"
    );
    assert_eq!(
        db.count(&format!(
            "message_conversations WHERE convhash = '{}'",
            conversation_hash(x, y)
        ))
        .await,
        1
    );

    // A batch that fails after taking the lock (its members insert is refused) rolls back whole,
    // the lock with it.
    db.execp(
        "ALTER TABLE {p}message_conversation_members \
         ADD CONSTRAINT dockchat_test_refuse CHECK (userid <> 39999)",
    )
    .await;
    let failed = node_a.store_batch(&[send(30_003, 39_999, "refused")]).await;
    assert!(failed.is_err(), "the batch fails: {failed:?}");
    assert_eq!(db.count("messages WHERE useridfrom = 30003").await, 0);
    assert_eq!(db.count("message_conversations WHERE type = 1").await, 1);
    let next = [send(30_004, 30_005, "next")];
    let out = tokio::time::timeout(Duration::from_secs(10), node_b.store_batch(&next))
        .await
        .expect("nothing left holding the lock")
        .expect("the next new pair is stored");
    assert!(out[0].message.id > 0 && out[0].message.conv > 0);
    node_a.close().await;
    node_b.close().await;
    db.destroy().await;
}
db_test!(a_writer_waits_for_the_conversation_another_is_creating);

//! ALTER TABLE through the real server: it rewrites no block and keeps pruning, it waits
//! for writes in flight and loses none of them, it survives a crash right after it, and
//! statements prepared before it are planned again (or refused if their result changed).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{copy_in, count, explain_analyze, pruning, sqlstate, TestServer};

/// Paths of every block file under the data directory, relative to it.
fn block_files(data_dir: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.insert(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut files = BTreeSet::new();
    walk(&data_dir.join("tables"), data_dir, &mut files);
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn alter_rewrites_no_block_and_keeps_pruning() {
    let mut server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE events (id bigint NOT NULL, payload text, code int)")
        .await
        .unwrap();
    let rows = 600_000;
    let data: String = (0..rows)
        .map(|i| format!("{i}\tpayload {i}\t{}\n", i % 7))
        .collect();
    copy_in(&client, "COPY events FROM STDIN", &data)
        .await
        .unwrap();
    assert!(server.stop()); // every row in blocks
    server.restart();
    let client = server.client().await;
    let before = block_files(server.data_dir());
    assert!(!before.is_empty());

    client
        .batch_execute(
            "ALTER TABLE events ADD COLUMN flag int DEFAULT 0, RENAME COLUMN payload TO body; \
             ALTER TABLE events ALTER COLUMN code TYPE bigint, DROP COLUMN flag; \
             ALTER TABLE events ADD COLUMN flag int DEFAULT 1",
        )
        .await
        .unwrap();
    assert_eq!(
        block_files(server.data_dir()),
        before,
        "ALTER TABLE with no rows in the memtable writes and deletes no block"
    );

    // A point filter still prunes row groups by statistics.
    let plan = explain_analyze(&client, "SELECT body FROM events WHERE id = 424242").await;
    let (groups, matched) = pruning(&plan, "row_groups_pruned_statistics");
    assert!(groups >= 4, "{groups} row groups:\n{plan}");
    assert_eq!(matched, 1, "{plan}");
    let row = client
        .query_one("SELECT body, code, flag FROM events WHERE id = 424242", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "payload 424242");
    assert_eq!(row.get::<_, i64>(1), 424242 % 7);
    assert_eq!(row.get::<_, i32>(2), 1);

    // A filter on the added column folds to a constant in blocks that predate it, so
    // none of their row groups is read.
    let plan = explain_analyze(&client, "SELECT count(*) FROM events WHERE flag = 2").await;
    let (_, matched) = pruning(&plan, "row_groups_pruned_statistics");
    assert_eq!(matched, 0, "{plan}");
    let flagged = client
        .query_one("SELECT count(*) FROM events WHERE flag = 1", &[])
        .await
        .unwrap();
    assert_eq!(flagged.get::<_, i64>(0), rows as i64);

    // Block statistics know nothing of the added column's default, and are never taken
    // as answers: aggregates over it read the rows.
    let row = client
        .query_one(
            "SELECT count(flag), min(flag), max(flag), min(code), max(code) FROM events",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), rows as i64);
    assert_eq!((row.get::<_, i32>(1), row.get::<_, i32>(2)), (1, 1));
    assert_eq!((row.get::<_, i64>(3), row.get::<_, i64>(4)), (0, 6));
}

#[tokio::test(flavor = "multi_thread")]
async fn alter_under_concurrent_inserts_loses_no_acknowledged_row() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int NOT NULL, v int)")
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..3 {
        let client = server.client().await;
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut id = writer * 1_000_000;
            while !stop.load(Ordering::Relaxed) {
                id += 1;
                // Unnamed statements: each is planned against the table as it is now.
                match client
                    .execute("INSERT INTO t (id, v) VALUES ($1, 1)", &[&id])
                    .await
                {
                    Ok(1) => acknowledged.push(id),
                    Ok(n) => panic!("INSERT reported {n} rows"),
                    // Planned just before an ALTER and run just after: retried.
                    Err(err) if sqlstate(&err, "insert") == "40001" => {}
                    Err(err) => panic!("insert {id} failed: {:?}", err.as_db_error()),
                }
            }
            acknowledged
        }));
    }
    let alters = [
        "ALTER TABLE t ADD COLUMN a int DEFAULT 7",
        "ALTER TABLE t ALTER COLUMN v TYPE bigint",
        "ALTER TABLE t RENAME COLUMN a TO b",
        "ALTER TABLE t ADD COLUMN c text DEFAULT 'c', DROP COLUMN b",
        "ALTER TABLE t ALTER COLUMN c SET NOT NULL",
        "ALTER TABLE t ALTER COLUMN v SET DEFAULT 3",
    ];
    for alter in alters {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        client.batch_execute(alter).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = BTreeSet::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    assert!(acknowledged.len() > 10, "the writers made progress");

    let rows = client.query("SELECT id, v, c FROM t", &[]).await.unwrap();
    let stored: BTreeSet<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(rows.len(), stored.len(), "no row stored twice");
    assert_eq!(stored, acknowledged, "exactly the acknowledged rows");
    assert!(rows
        .iter()
        .all(|r| r.get::<_, i64>(1) == 1 && r.get::<_, String>(2) == "c"));
}

#[tokio::test(flavor = "multi_thread")]
async fn alter_survives_a_crash_right_after_it() {
    let mut server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE t (id int, gone text, n smallint); \
             INSERT INTO t VALUES (1, 'x', 1), (2, 'y', 2)",
        )
        .await
        .unwrap();
    let before: String = client
        .query_one("SELECT now()::text", &[])
        .await
        .unwrap()
        .get(0);
    client
        .batch_execute(
            "ALTER TABLE t DROP COLUMN gone, ADD COLUMN added text DEFAULT 'old row', \
             ALTER COLUMN n TYPE bigint; \
             INSERT INTO t VALUES (3, 40000, 'new row')",
        )
        .await
        .unwrap();
    drop(client);
    server.kill();
    server.restart();
    let client = server.client().await;

    let rows = client
        .query("SELECT id, n, added FROM t ORDER BY id", &[])
        .await
        .unwrap();
    let got: Vec<(i32, i64, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 1, "old row".into()),
            (2, 2, "old row".into()),
            (3, 40000, "new row".into())
        ]
    );
    let err = client.query("SELECT gone FROM t", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err, "dropped column"), "42703");
    // The schema before the ALTER is still what AS OF reads.
    let old = client
        .query(
            &format!("SELECT gone FROM t AS OF TIMESTAMP '{before}' ORDER BY id"),
            &[],
        )
        .await
        .unwrap();
    let gone: Vec<String> = old.iter().map(|r| r.get(0)).collect();
    assert_eq!(gone, vec!["x", "y"]);
    assert_eq!(count(&client, "t").await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn statements_prepared_before_an_alter_are_planned_again() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'a')")
        .await
        .unwrap();
    let all = client.prepare("SELECT * FROM t ORDER BY id").await.unwrap();
    let ids = client
        .prepare("SELECT id FROM t ORDER BY id")
        .await
        .unwrap();
    let insert = client
        .prepare("INSERT INTO t (id, v) VALUES ($1, 'b')")
        .await
        .unwrap();

    client
        .batch_execute("ALTER TABLE t ADD COLUMN extra int DEFAULT 9")
        .await
        .unwrap();
    // The rows of `SELECT *` now have another column: PostgreSQL refuses the same way.
    let err = client.query(&all, &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err, "stale SELECT *"), "0A000");
    let message = err
        .as_db_error()
        .map(|e| e.message().to_string())
        .unwrap_or_default();
    assert!(
        message.contains("cached plan must not change result type"),
        "{message}"
    );
    // Statements whose result did not change run against the new definition.
    assert_eq!(client.execute(&insert, &[&2i32]).await.unwrap(), 1);
    let rows = client.query(&ids, &[]).await.unwrap();
    let got: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(got, vec![1, 2]);
    let extra: Vec<i32> = client
        .query("SELECT extra FROM t ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        extra,
        vec![9, 9],
        "the prepared INSERT filled the new column's default"
    );
}

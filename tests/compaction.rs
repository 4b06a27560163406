//! Compaction through the real server: it merges small blocks without losing a row,
//! while other sessions write; time travel to before it reads what it read before; the
//! result survives a crash right after it; and the background task does it unasked.

mod common;

use common::{count, TestServer};

async fn blocks(client: &tokio_postgres::Client, table: &str) -> (i64, i64) {
    let row = client
        .query_one(
            &format!("SELECT count(*), coalesce(sum(rows), 0) FROM grizzly_blocks('{table}')"),
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread")]
async fn compaction_keeps_every_row_and_the_history() {
    let mut server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int NOT NULL, v text)")
        .await
        .unwrap();
    // Twelve small blocks: each ALTER TABLE writes the memtable to one.
    for block in 0..12 {
        let values: Vec<String> = (0..100)
            .map(|i| format!("({}, 'row {}')", block * 100 + i, block * 100 + i))
            .collect();
        client
            .batch_execute(&format!(
                "INSERT INTO t VALUES {}; ALTER TABLE t SET (retention = '7 days')",
                values.join(", ")
            ))
            .await
            .unwrap();
    }
    assert_eq!(blocks(&client, "t").await, (12, 1200));
    let before: String = client
        .query_one("SELECT now()::text", &[])
        .await
        .unwrap()
        .get(0);

    // Another session inserts while the compaction runs; none of its rows may be lost.
    let writer = {
        let client = server.client().await;
        tokio::spawn(async move {
            for i in 0..200 {
                client
                    .execute("INSERT INTO t VALUES ($1, 'concurrent')", &[&(10_000 + i)])
                    .await
                    .unwrap();
            }
        })
    };
    let report: String = client
        .query_one("SELECT grizzly_compact('t')", &[])
        .await
        .unwrap()
        .get(0);
    writer.await.unwrap();
    assert!(report.starts_with("merged 12 blocks"), "{report}");
    assert_eq!(blocks(&client, "t").await, (1, 1200));
    assert_eq!(count(&client, "t").await, 1400);
    let sum: i64 = client
        .query_one("SELECT sum(id)::bigint FROM t WHERE v LIKE 'row %'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sum, (0..1200).sum::<i64>());

    // Before the compaction, the table read exactly the twelve blocks' rows.
    let as_of = format!("SELECT count(*), sum(id)::bigint FROM t AS OF TIMESTAMP '{before}'");
    let past = client.query_one(&as_of, &[]).await.unwrap();
    assert_eq!(
        (past.get::<_, i64>(0), past.get::<_, i64>(1)),
        (1200, (0..1200).sum::<i64>())
    );

    // A crash right after: the compacted block is what the table has, the old ones are
    // still there for time travel, and no row is lost or doubled.
    drop(client);
    server.kill();
    server.restart();
    let client = server.client().await;
    assert_eq!(blocks(&client, "t").await, (1, 1200));
    assert_eq!(count(&client, "t").await, 1400);
    let past = client.query_one(&as_of, &[]).await.unwrap();
    assert_eq!(
        (past.get::<_, i64>(0), past.get::<_, i64>(1)),
        (1200, (0..1200).sum::<i64>())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_background_task_compacts_tables_with_many_small_blocks() {
    let server = TestServer::start_with(&["--compact-min-blocks", "4"]);
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int)")
        .await
        .unwrap();
    for i in 0..5 {
        client
            .batch_execute(&format!(
                "INSERT INTO t VALUES ({i}); ALTER TABLE t SET (retention = '7 days')"
            ))
            .await
            .unwrap();
    }
    // The task looks every 10 seconds.
    let mut seen = blocks(&client, "t").await;
    for _ in 0..60 {
        if seen.0 == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        seen = blocks(&client, "t").await;
    }
    assert_eq!(seen, (1, 5), "five small blocks compacted into one");
    assert_eq!(count(&client, "t").await, 5);
}

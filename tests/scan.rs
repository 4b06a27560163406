//! Scans read storage well: a point filter on a sorted column reads a small part of a
//! large table (row-group statistics and the page index prune), and rows still in the
//! memtable are read together with rows in blocks.

mod common;

use common::{copy_in, explain_analyze, pruning, TestServer};

#[tokio::test(flavor = "multi_thread")]
async fn point_filter_prunes_row_groups_and_pages() {
    let mut server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE events (id bigint NOT NULL, payload text)")
        .await
        .unwrap();
    let rows = 600_000;
    let data: String = (0..rows)
        .map(|i| format!("{i}\tpayload number {i}\n"))
        .collect();
    assert_eq!(
        copy_in(&client, "COPY events FROM STDIN", &data)
            .await
            .unwrap(),
        rows
    );
    // A clean restart flushes any memtable, so every row is in Parquet blocks.
    assert!(server.stop());
    server.restart();
    let client = server.client().await;

    let plan = explain_analyze(&client, "SELECT payload FROM events WHERE id = 424242").await;
    let (groups, matched_groups) = pruning(&plan, "row_groups_pruned_statistics");
    assert!(groups >= 4, "600k rows make several row groups: {groups}");
    assert_eq!(
        matched_groups, 1,
        "statistics keep only the row group holding id 424242"
    );
    let (pages, matched_pages) = pruning(&plan, "page_index_pages_pruned");
    assert!(
        matched_pages < pages,
        "the page index prunes pages inside the row group"
    );

    let row = client
        .query_one("SELECT payload FROM events WHERE id = 424242", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "payload number 424242");
}

#[tokio::test(flavor = "multi_thread")]
async fn scans_union_blocks_and_memtable() {
    let mut server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int, v text)")
        .await
        .unwrap();
    client
        .batch_execute("INSERT INTO t VALUES (1, 'in a block'), (2, 'in a block')")
        .await
        .unwrap();
    assert!(server.stop()); // flushes to a block
    server.restart();
    let client = server.client().await;
    client
        .batch_execute("INSERT INTO t VALUES (3, 'in the memtable')")
        .await
        .unwrap();
    let rows = client
        .query("SELECT id, v FROM t WHERE id >= 2 ORDER BY id", &[])
        .await
        .unwrap();
    let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![(2, "in a block".into()), (3, "in the memtable".into())]
    );
    let limited = client.query("SELECT id FROM t LIMIT 2", &[]).await.unwrap();
    assert_eq!(limited.len(), 2);
}

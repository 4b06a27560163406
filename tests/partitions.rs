//! Partitioned tables through the real server: a bulk write lands in one block per
//! partition, scans skip the partitions their filters rule out (EXPLAIN says how many),
//! and the answers match the unpartitioned table's, also after a crash.

mod common;

use common::TestServer;

async fn explain(client: &tokio_postgres::Client, sql: &str) -> String {
    let rows = client.query(&format!("EXPLAIN {sql}"), &[]).await.unwrap();
    rows.iter()
        .map(|r| r.get::<_, String>(1))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn one_i64(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn scans_skip_the_partitions_their_filters_rule_out() {
    let mut server = TestServer::start();
    let client = server.client().await;
    // 40 days, a row every 2 s: 1,728,000 rows, written by one bulk INSERT (past the
    // spill size, so straight to blocks), and the same rows unpartitioned.
    let rows = "SELECT to_timestamp(1767225600 + value * 2), 'host-' || (value % 50), \
                value * 0.5 FROM generate_series(0, 1727999)";
    client
        .batch_execute(&format!(
            "CREATE TABLE m (ts timestamptz NOT NULL, host text, v double precision) \
               WITH (partition_by = 'day(ts)'); \
             CREATE TABLE h (ts timestamptz NOT NULL, host text, v double precision) \
               WITH (partition_by = 'hash(host, 8)'); \
             CREATE TABLE flat (ts timestamptz NOT NULL, host text, v double precision); \
             INSERT INTO m {rows}; INSERT INTO h {rows}; INSERT INTO flat {rows}"
        ))
        .await
        .unwrap();
    assert_eq!(
        one_i64(&client, "SELECT count(*) FROM grizzly_partitions('m')").await,
        40
    );
    assert_eq!(
        one_i64(&client, "SELECT count(*) FROM grizzly_partitions('h')").await,
        8
    );
    let one_per_partition = "SELECT count(*) FROM (SELECT partition FROM grizzly_blocks('m') \
                             GROUP BY partition HAVING count(*) > 1) AS t";
    assert_eq!(one_i64(&client, one_per_partition).await, 0);

    let day = "WHERE ts >= '2026-01-05' AND ts < '2026-01-06'";
    let plan = explain(&client, &format!("SELECT count(*) FROM m {day}")).await;
    assert!(
        plan.contains("GrizzlyPartitions: partitions=1 of 40 (39 skipped), blocks=1 of 40"),
        "{plan}"
    );
    // An expression that implies a range of the column prunes as well.
    let truncated = "WHERE date_trunc('day', ts) = '2026-01-05 00:00:00+00'";
    let plan = explain(&client, &format!("SELECT count(*) FROM m {truncated}")).await;
    assert!(plan.contains("partitions=1 of 40 (39 skipped)"), "{plan}");
    let plan = explain(&client, "SELECT count(*) FROM h WHERE host = 'host-7'").await;
    assert!(plan.contains("partitions=1 of 8 (7 skipped)"), "{plan}");
    let plan = explain(&client, "SELECT count(*) FROM m WHERE host = 'host-7'").await;
    assert!(plan.contains("partitions=40 of 40 (0 skipped)"), "{plan}");

    let same = |table: &str, filter: &str| {
        format!("SELECT count(*), sum(v)::bigint FROM {table} {filter}")
    };
    for filter in [
        day,
        truncated,
        "WHERE date_trunc('month', ts) = '2026-02-01 00:00:00+00'",
        "WHERE date_trunc('hour', ts) = '2026-01-07 13:00:00+00'",
        "WHERE ts BETWEEN '2026-01-10 23:00:00+00' AND '2026-01-12 01:00:00+00'",
        "WHERE ts IN ('2026-01-03 00:00:00+00', '2026-02-01 12:00:02+00')",
        "WHERE host = 'host-7'",
        "WHERE host IN ('host-1', 'host-49') AND ts < '2026-01-20'",
        "",
    ] {
        let expected = client.query_one(&same("flat", filter), &[]).await.unwrap();
        let expected: (i64, i64) = (expected.get(0), expected.get(1));
        for table in ["m", "h"] {
            let got = client.query_one(&same(table, filter), &[]).await.unwrap();
            assert_eq!((got.get(0), got.get(1)), expected, "{table} {filter}");
        }
    }

    // After a crash: the same partitions, the same answers.
    drop(client);
    server.kill();
    server.restart();
    let client = server.client().await;
    assert_eq!(
        one_i64(&client, "SELECT count(*) FROM grizzly_partitions('m')").await,
        40
    );
    assert_eq!(
        one_i64(&client, &format!("SELECT count(*) FROM m {day}")).await,
        43_200
    );
}

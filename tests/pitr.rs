//! Point-in-time recovery and time travel against a recorded history: many commits
//! (inserts, flushes by clean restarts, a drop and re-create with another schema, a
//! second table, rows left only in the WAL by a kill), the contents of every table
//! recorded after each; then, for every recorded time, `grizzly restore` builds a new
//! data directory that must hold exactly those contents, and `AS OF` on the source must
//! show them too. The source data directory must not change.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{simple_rows, TestServer};
use tokio_postgres::Client;

/// Every table's rows (as text, sorted), by table name.
type Contents = BTreeMap<String, Vec<Vec<Option<String>>>>;

async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    let mut rows = simple_rows(&client.simple_query(sql).await.unwrap());
    rows.sort();
    rows
}

async fn contents(client: &Client, tables: &[&str]) -> Contents {
    let mut out = Contents::new();
    for table in tables {
        out.insert(
            table.to_string(),
            rows(client, &format!("SELECT * FROM {table}")).await,
        );
    }
    out
}

async fn now(client: &Client) -> String {
    rows(client, "SELECT now()").await[0][0].clone().unwrap()
}

/// Names and sizes of every file under `dir`, to check it did not change.
fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let size = std::fs::metadata(&path).unwrap().len();
                out.push((path.display().to_string(), size));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_to_every_recorded_time_matches_what_was_committed() {
    let mut server = TestServer::start();
    let mut client = server.client().await;
    let mut history: Vec<(String, Contents)> = Vec::new();
    let mut tables: Vec<&str> = vec!["a"];
    client
        .batch_execute("CREATE TABLE a (id int, v text)")
        .await
        .unwrap();
    history.push((now(&client).await, contents(&client, &tables).await));
    for i in 0..36 {
        match i {
            12 => {
                client
                    .batch_execute("DROP TABLE a; CREATE TABLE a (id bigint, w text, extra int)")
                    .await
                    .unwrap();
            }
            20 => {
                client
                    .batch_execute("CREATE TABLE b (k int); INSERT INTO b VALUES (1), (2)")
                    .await
                    .unwrap();
                tables.push("b");
            }
            _ if i % 9 == 8 => {
                // A clean restart flushes every memtable into a block.
                server.restart_clean();
                client = server.client().await;
            }
            _ if i > 12 => {
                let sql = format!(
                    "INSERT INTO a VALUES ({i}, 'w{i}', {}), ({i}, NULL, 0)",
                    i * 2
                );
                client.batch_execute(&sql).await.unwrap();
            }
            _ => {
                let sql = format!("INSERT INTO a VALUES ({i}, 'v{i}')");
                client.batch_execute(&sql).await.unwrap();
            }
        }
        if i == 28 {
            client
                .batch_execute("INSERT INTO b VALUES (3)")
                .await
                .unwrap();
        }
        history.push((now(&client).await, contents(&client, &tables).await));
    }
    // The last commits stay only in the WAL: no shutdown flush.
    server.kill();
    let source = server.data_dir().to_path_buf();
    let before = listing(&source);

    let scratch = tempfile::tempdir().unwrap();
    for (index, (time, expected)) in history.iter().enumerate() {
        let target = scratch.path().join(format!("restored-{index}"));
        let output = Command::new(env!("CARGO_BIN_EXE_grizzly"))
            .args(["restore", "--data-dir"])
            .arg(&target)
            .arg("--from")
            .arg(&source)
            .args(["--to-time", time])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "restore to {time} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let restored = TestServer::open(&target);
        let client = restored.client().await;
        for (table, rows) in expected {
            let got = self::rows(&client, &format!("SELECT * FROM {table}")).await;
            assert_eq!(
                &got, rows,
                "table {table} restored to {time} (commit {index})"
            );
        }
        if !expected.contains_key("b") {
            let err = client.simple_query("SELECT * FROM b").await.unwrap_err();
            assert_eq!(
                err.as_db_error().map(|e| e.code().code()),
                Some("42P01"),
                "b did not exist at {time}"
            );
        }
    }
    assert_eq!(
        listing(&source),
        before,
        "restore changed the source directory"
    );

    // The same history through AS OF on the source, after WAL recovery.
    server.start_again();
    let client = server.client().await;
    for (index, (time, expected)) in history.iter().enumerate() {
        for (table, rows) in expected {
            let sql = format!("SELECT * FROM {table} AS OF TIMESTAMP '{time}'");
            let got = self::rows(&client, &sql).await;
            assert_eq!(&got, rows, "{table} as of {time} (commit {index})");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_refuses_a_non_empty_target_and_bad_times() {
    let mut server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (x int)")
        .await
        .unwrap();
    server.stop();
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join("something"), b"x").unwrap();
    let run = |target: &Path, time: &str| {
        Command::new(env!("CARGO_BIN_EXE_grizzly"))
            .args(["restore", "--data-dir"])
            .arg(target)
            .arg("--from")
            .arg(server.data_dir())
            .args(["--to-time", time])
            .output()
            .unwrap()
    };
    let output = run(scratch.path(), "2030-01-01 00:00:00+00");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not empty"));
    let output = run(&scratch.path().join("new"), "not a time");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid timestamp"));
}

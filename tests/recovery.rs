//! Durability across restarts: what was written before a clean shutdown is all there after
//! it, and recovery's treatment of a damaged WAL: a torn tail is cut away, corruption before
//! valid records refuses to start, and a dropped table's rows never return after a crash.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use common::{copy_in, count, expect_simple_error, TestServer};
use rust_decimal::Decimal;
use tokio_postgres::types::Type;
use tokio_postgres::Client;

// ---------------------------------------------------------------------------------------
// Durability across a clean restart
// ---------------------------------------------------------------------------------------

fn parquet_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| {
            if p.is_dir() {
                parquet_files(&p)
            } else {
                usize::from(p.extension().is_some_and(|e| e == "parquet"))
            }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn data_survives_a_clean_restart() {
    let mut server = TestServer::start();
    {
        let client = server.client().await;
        client
            .batch_execute(
                "CREATE TABLE people (id int NOT NULL, name varchar(10), born date, score numeric(6,2));
                 CREATE TABLE events (at timestamp, kind text, payload bytea);
                 CREATE TABLE dropped (x int);
                 INSERT INTO people VALUES (1, 'ann', '1990-01-02', 12.5), (2, 'bob', NULL, NULL);
                 INSERT INTO people VALUES (3, 'cy', '2000-12-31', -1.25);
                 INSERT INTO events VALUES ('2024-01-01 00:00:00', 'start', '\\x00ff');
                 DROP TABLE dropped;",
            )
            .await
            .unwrap();
        let n = copy_in(
            &client,
            "COPY events FROM STDIN CSV",
            "2024-01-02 03:04:05,copy,\n",
        )
        .await
        .unwrap();
        assert_eq!(n, 1);
    }
    assert!(
        server.stop(),
        "SIGTERM should end the server with a clean exit"
    );
    // A clean shutdown flushes the memtables to Parquet blocks.
    assert!(
        parquet_files(&server.data_dir().join("tables")) >= 2,
        "blocks after shutdown"
    );

    server.restart();
    {
        let client = server.client().await;
        check_people_and_events(&client).await;
        expect_simple_error(&client, "SELECT * FROM dropped", "42P01").await;
        // The table definitions survived too: types, NOT NULL, varchar length.
        let stmt = client.prepare("SELECT * FROM people").await.unwrap();
        let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
        assert_eq!(
            types,
            vec![Type::INT4, Type::VARCHAR, Type::DATE, Type::NUMERIC]
        );
        expect_simple_error(&client, "INSERT INTO people (name) VALUES ('x')", "23502").await;
        expect_simple_error(
            &client,
            "INSERT INTO people (id, name) VALUES (9, 'much too long')",
            "22001",
        )
        .await;
        expect_simple_error(&client, "CREATE TABLE people (x int)", "42P07").await;

        // Write more after the restart: these live in the WAL only when we crash next.
        client
            .batch_execute("INSERT INTO people VALUES (4, 'dee', NULL, 4)")
            .await
            .unwrap();
    }
    // Crash now: the flushed rows and the WAL rows must each appear exactly once.
    server.restart();
    {
        let client = server.client().await;
        let ids: Vec<i32> = client
            .query("SELECT id FROM people ORDER BY id", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(ids, vec![1, 2, 3, 4]);
    }
    assert!(server.stop(), "second clean stop");
    server.restart();
    let client = server.client().await;
    assert_eq!(count(&client, "people").await, 4);
    assert_eq!(count(&client, "events").await, 2);
}

async fn check_people_and_events(client: &Client) {
    let rows = client
        .query("SELECT id, name, born, score FROM people ORDER BY id", &[])
        .await
        .unwrap();
    type Person = (i32, Option<String>, Option<NaiveDate>, Option<Decimal>);
    let got: Vec<Person> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                1,
                Some("ann".into()),
                NaiveDate::from_ymd_opt(1990, 1, 2),
                Some("12.5".parse().unwrap())
            ),
            (2, Some("bob".into()), None, None),
            (
                3,
                Some("cy".into()),
                NaiveDate::from_ymd_opt(2000, 12, 31),
                Some("-1.25".parse().unwrap())
            ),
        ]
    );
    let rows = client
        .query("SELECT at, kind, payload FROM events ORDER BY at", &[])
        .await
        .unwrap();
    let got: Vec<(NaiveDateTime, String, Option<Vec<u8>>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let at = |d: u32, h: u32, m: u32, s: u32| {
        NaiveDate::from_ymd_opt(2024, 1, d)
            .unwrap()
            .and_hms_opt(h, m, s)
            .unwrap()
    };
    assert_eq!(
        got,
        vec![
            (at(1, 0, 0, 0), "start".into(), Some(vec![0x00, 0xff])),
            (at(2, 3, 4, 5), "copy".into(), None),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Recovery from a damaged WAL
// ---------------------------------------------------------------------------------------

/// WAL segments of a data directory, oldest first.
fn wal_segments(data_dir: &Path) -> Vec<PathBuf> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(data_dir.join("wal"))
        .expect("the data directory has a wal/ directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    segments.sort();
    segments
}

/// Where the records of a WAL segment end: segments are preallocated, so zeros follow.
/// Walks the length fields of the record format (`src/storage/wal.rs`).
fn records_end(bytes: &[u8]) -> usize {
    let mut offset = 0;
    while let Some(len) = bytes.get(offset..offset + 4) {
        let len = u32::from_le_bytes(len.try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        offset += 8 + len;
    }
    offset
}

/// Tears the last record of `segment` as a crash mid-append does: its last 12 bytes
/// (inside its Arrow IPC body, which ends in non-zero bytes) never reached the disk.
/// With `keep_length` they read as the preallocated zeros, otherwise the file ends there.
fn tear_last_record(segment: &Path, keep_length: bool) {
    let mut bytes = std::fs::read(segment).unwrap();
    let end = records_end(&bytes);
    if keep_length {
        bytes[end - 12..end].fill(0);
    } else {
        bytes.truncate(end - 12);
    }
    std::fs::write(segment, &bytes).unwrap();
}

/// Runs the binary on `data_dir` and waits for it to exit (killing it if it is still
/// running after a generous bound, which counts as "it started"). Returns (exited
/// successfully, stderr).
fn run_binary_until_exit(data_dir: &Path) -> (Option<bool>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_grizzly"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--log")
        .arg("warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start grizzly");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut status = None;
    for _ in 0..600 {
        if let Some(s) = child.try_wait().expect("wait for grizzly") {
            status = Some(s.success());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    (status, reader.join().expect("stderr reader"))
}

/// Starts a server, writes `commits` single-row INSERTs (one WAL record each) into
/// `t(id)`, and SIGKILLs it. Returns the server (stopped) and the segment holding them.
async fn server_with_wal_records(commits: i32) -> (TestServer, PathBuf) {
    let mut server = TestServer::start();
    {
        let client = server.client().await;
        client
            .batch_execute("CREATE TABLE t (id int)")
            .await
            .unwrap();
        for id in 1..=commits {
            client
                .execute("INSERT INTO t VALUES ($1)", &[&id])
                .await
                .unwrap();
        }
    }
    server.kill();
    let segments: Vec<PathBuf> = wal_segments(server.data_dir())
        .into_iter()
        .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
        .collect();
    assert_eq!(segments.len(), 1, "one non-empty WAL segment: {segments:?}");
    (server, segments[0].clone())
}

/// Length of the WAL record at `offset` (header included), from its length field.
fn record_len(bytes: &[u8], offset: usize) -> usize {
    8 + u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_refuses_corruption_before_valid_records() {
    let (server, segment) = server_with_wal_records(5).await;
    let mut bytes = std::fs::read(&segment).unwrap();
    let first = record_len(&bytes, 0);
    assert!(
        first < bytes.len(),
        "the segment holds more than one record"
    );
    // Flip a byte in the middle of the first record's payload.
    bytes[8 + (first - 8) / 2] ^= 0x5a;
    std::fs::write(&segment, &bytes).unwrap();

    let (status, stderr) = run_binary_until_exit(server.data_dir());
    assert_eq!(
        status,
        Some(false),
        "grizzly must refuse to start; stderr:\n{stderr}"
    );
    let file_name = segment.file_name().unwrap().to_str().unwrap();
    assert!(
        stderr.contains(file_name),
        "stderr should name {file_name}:\n{stderr}"
    );
    assert!(
        stderr.contains("offset"),
        "stderr should name the offset:\n{stderr}"
    );
    assert!(
        stderr.contains("offset 0"),
        "the damaged record is at offset 0:\n{stderr}"
    );
    // Refusing must not have "repaired" the segment by truncating it.
    assert_eq!(
        std::fs::read(&segment).unwrap(),
        bytes,
        "the segment is left untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_refuses_corruption_in_a_later_record_too() {
    let (server, segment) = server_with_wal_records(5).await;
    let mut bytes = std::fs::read(&segment).unwrap();
    let first = record_len(&bytes, 0);
    let second = record_len(&bytes, first);
    // Damage the second record's CRC field: records 3..5 follow it.
    bytes[first + 5] ^= 0x01;
    assert!(first + second < bytes.len());
    std::fs::write(&segment, &bytes).unwrap();

    let (status, stderr) = run_binary_until_exit(server.data_dir());
    assert_eq!(
        status,
        Some(false),
        "grizzly must refuse to start; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("offset {first}")),
        "stderr should name offset {first}:\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_truncates_a_torn_tail() {
    let (mut server, segment) = server_with_wal_records(5).await;
    tear_last_record(&segment, true);

    server.restart();
    let client = server.client().await;
    let ids: Vec<i32> = client
        .query("SELECT id FROM t ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4], "all but the torn last commit");

    // The log continues after the cut: new commits survive another crash.
    client
        .execute("INSERT INTO t VALUES (6)", &[])
        .await
        .unwrap();
    drop(client);
    server.restart();
    let client = server.client().await;
    let ids: Vec<i32> = client
        .query("SELECT id FROM t ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 6]);
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_accepts_zeros_after_the_last_record() {
    // A file system may extend a file with zeros before the data reaches it.
    let (mut server, segment) = server_with_wal_records(3).await;
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(&[0u8; 4096]);
    std::fs::write(&segment, &bytes).unwrap();

    server.restart();
    let client = server.client().await;
    assert_eq!(count(&client, "t").await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_refuses_a_torn_record_in_an_older_segment() {
    // Recovery cuts a torn tail before it starts a new segment, so a short record at the
    // end of any segment but the last is damage, not a crash.
    let (mut server, first_segment) = server_with_wal_records(3).await;
    server.restart(); // a new segment starts at LSN 4
    {
        let client = server.client().await;
        client
            .execute("INSERT INTO t VALUES (4)", &[])
            .await
            .unwrap();
    }
    server.kill();
    assert!(wal_segments(server.data_dir()).len() >= 2);
    tear_last_record(&first_segment, false);

    let (status, stderr) = run_binary_until_exit(server.data_dir());
    assert_eq!(
        status,
        Some(false),
        "grizzly must refuse to start; stderr:\n{stderr}"
    );
    let file_name = first_segment.file_name().unwrap().to_str().unwrap();
    assert!(
        stderr.contains(file_name),
        "stderr should name {file_name}:\n{stderr}"
    );
    assert!(
        stderr.contains("offset"),
        "stderr should name the offset:\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_of_a_dropped_table_never_return_after_a_crash() {
    let mut server = TestServer::start();
    {
        let client = server.client().await;
        client
            .batch_execute(
                "CREATE TABLE t (id int);
                 INSERT INTO t VALUES (1), (2), (3);
                 DROP TABLE t;
                 CREATE TABLE t (id int);
                 INSERT INTO t VALUES (10);",
            )
            .await
            .unwrap();
    }
    server.restart(); // SIGKILL: the WAL still holds the dropped table's rows
    {
        let client = server.client().await;
        let ids: Vec<i32> = client
            .query("SELECT id FROM t ORDER BY id", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(ids, vec![10]);
        // Drop everything and create a new table after the restart: it must not inherit
        // the WAL records of a table that had its id before.
        client
            .batch_execute("DROP TABLE t; CREATE TABLE u (id int); INSERT INTO u VALUES (100)")
            .await
            .unwrap();
    }
    server.restart();
    let client = server.client().await;
    let ids: Vec<i32> = client
        .query("SELECT id FROM u ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec![100]);
    expect_simple_error(&client, "SELECT * FROM t", "42P01").await;
}

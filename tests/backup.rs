//! Backups through the real server, to a real S3 server on loopback (s3s with its
//! file-system backend, run in this test process) and to a local directory; restores
//! with the real `grizzly restore`, compared table by table with the source.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{walk, TestServer};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio_postgres::Client;

const ACCESS_KEY: &str = "grizzly-test";
const SECRET_KEY: &str = "s3cr3t-never-shown";
const BUCKET: &str = "backups";

/// An S3 server on 127.0.0.1 storing objects as files under `root/<bucket>/<key>`.
struct S3 {
    addr: SocketAddr,
    root: tempfile::TempDir,
}

impl S3 {
    async fn start() -> S3 {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap(); // the bucket
        let mut service = S3ServiceBuilder::new(s3s_fs::FileSystem::new(root.path()).unwrap());
        service.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = service.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let http = Builder::new(TokioExecutor::new());
            while let Ok((socket, _)) = listener.accept().await {
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });
        S3 { addr, root }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where the object `key` under `prefix` is stored.
    fn object(&self, prefix: &str, key: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(prefix).join(key)
    }

    /// The server's flags and environment to reach this store with `secret`.
    fn server(&self, secret: &str) -> TestServer {
        let endpoint = self.endpoint();
        TestServer::start_with_env(
            &["--compact-min-blocks", "0", "--s3-endpoint", &endpoint],
            &[
                ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
                ("AWS_SECRET_ACCESS_KEY", secret),
            ],
        )
    }
}

/// `grizzly restore` with the test store's credentials; its exit status and output.
fn restore(s3: Option<&S3>, args: &[&str]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grizzly"));
    command.arg("restore").args(args);
    if let Some(s3) = s3 {
        command
            .args(["--s3-endpoint", &s3.endpoint()])
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    }
    let output = command.output().expect("run grizzly restore");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// What one backup returned.
#[derive(Debug)]
struct Backup {
    id: String,
    bytes_uploaded: i64,
    blocks_uploaded: i64,
    blocks_present: i64,
    wal_segments: i64,
}

async fn backup(client: &Client, url: &str) -> Backup {
    let row = client
        .query_one(
            &format!(
                "SELECT backup_id, bytes_uploaded, blocks_uploaded, blocks_present, \
                 wal_segments FROM grizzly_backup('{url}')"
            ),
            &[],
        )
        .await
        .unwrap();
    Backup {
        id: row.get(0),
        bytes_uploaded: row.get(1),
        blocks_uploaded: row.get(2),
        blocks_present: row.get(3),
        wal_segments: row.get(4),
    }
}

/// Row count and an order-independent hash of every row, per table (each given with
/// its row as text).
async fn fingerprint(client: &Client, tables: &[(&str, &str)]) -> Vec<(i64, String)> {
    let mut prints = Vec::new();
    for (table, row_text) in tables {
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*), coalesce(md5(string_agg(r, ',' ORDER BY r)), '') \
                     FROM (SELECT {row_text} AS r FROM {table}) x"
                ),
                &[],
            )
            .await
            .unwrap();
        prints.push((row.get(0), row.get(1)));
    }
    prints
}

/// Tables with rows in blocks (each ALTER TABLE writes the memtable to one) and in the
/// WAL only, one of them partitioned.
async fn fill(client: &Client) {
    client
        .batch_execute(
            "CREATE TABLE t (id int, v text); \
             CREATE TABLE m (ts timestamptz, host text, x double precision) \
                 WITH (partition_by = 'day(ts)')",
        )
        .await
        .unwrap();
    for block in 0..4 {
        client
            .batch_execute(&format!(
                "INSERT INTO t SELECT value, 'row ' || value FROM generate_series({}, {}); \
                 INSERT INTO m SELECT to_timestamp(1761955200 + value * 3600), \
                     'h' || (value % 3), value * 0.5 FROM generate_series({}, {}); \
                 ALTER TABLE t SET (retention = '7 days'); ALTER TABLE m SET (retention = '7 days')",
                block * 1000,
                block * 1000 + 999,
                block * 50,
                block * 50 + 49
            ))
            .await
            .unwrap();
    }
    client
        .batch_execute("INSERT INTO t VALUES (-1, 'only in the WAL'), (-2, NULL)")
        .await
        .unwrap();
}

const TABLES: [(&str, &str); 2] = [
    ("t", "id::text || '|' || coalesce(v, '~')"),
    ("m", "ts::text || '|' || host || '|' || x::text"),
];

#[tokio::test(flavor = "multi_thread")]
async fn full_incremental_unchanged_and_point_in_time_restores_from_s3() {
    let s3 = S3::start().await;
    let server = s3.server(SECRET_KEY);
    let (client, mut notices) = server.client_with_notices().await;
    fill(&client).await;
    // One block over 16 MB, which goes up in parts (S3 multipart upload).
    client
        .batch_execute(
            "CREATE TABLE big (id bigint, note text); \
             INSERT INTO big SELECT value, md5(value::text) || md5((value + 1)::text) \
             FROM generate_series(1, 500000)",
        )
        .await
        .unwrap();
    let big_bytes: i64 = client
        .query_one("SELECT max(bytes) FROM grizzly_blocks('big')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(big_bytes > 16 << 20, "{big_bytes} bytes");
    let url = "s3://backups/db1";
    let mut all_blocks = 0;
    for table in ["t", "m", "big"] {
        all_blocks += common::blocks(&client, table).await.0;
    }

    // Full.
    let first = backup(&client, url).await;
    assert_eq!(first.blocks_uploaded, all_blocks, "{first:?}");
    assert_eq!(first.blocks_present, 0, "{first:?}");
    assert!(
        first.wal_segments >= 1,
        "the unflushed rows' segment: {first:?}"
    );
    let notice = notices.recv().await.expect("a progress notice");
    assert!(
        notice.starts_with(&format!("backup {}: uploading", first.id)),
        "{notice}"
    );
    let at_first = fingerprint(&client, &TABLES).await;
    let big = [("big", "id::text || note")];
    let big_at_first = fingerprint(&client, &big).await;

    // Unchanged: no block goes up again, only the log's few new bytes.
    let unchanged = backup(&client, url).await;
    assert_eq!(
        (unchanged.blocks_uploaded, unchanged.blocks_present),
        (0, all_blocks),
        "{unchanged:?}"
    );
    assert!(
        unchanged.bytes_uploaded * 10 < first.bytes_uploaded,
        "{unchanged:?} after {first:?}"
    );
    assert_eq!(
        unchanged.wal_segments, 0,
        "no new commits, no new WAL bytes"
    );

    // Incremental: one new block, and a commit between two points in time.
    client
        .batch_execute("INSERT INTO t VALUES (5000, 'after the first backup')")
        .await
        .unwrap();
    let middle: String = client
        .query_one("SELECT now()::text", &[])
        .await
        .unwrap()
        .get(0);
    let at_middle = fingerprint(&client, &TABLES).await;
    client
        .batch_execute(
            "INSERT INTO t SELECT value, 'late' FROM generate_series(6000, 6999); \
             ALTER TABLE t SET (retention = '8 days')",
        )
        .await
        .unwrap();
    let third = backup(&client, url).await;
    assert_eq!(
        (third.blocks_uploaded, third.blocks_present),
        (1, all_blocks),
        "{third:?}"
    );
    assert!(
        third.wal_segments >= 1,
        "the log since the last backup: {third:?}"
    );
    let at_third = fingerprint(&client, &TABLES).await;
    assert_ne!(at_third, at_first);

    let listed = client
        .query(
            &format!(
                "SELECT backup_id, earliest_time <= latest_time FROM grizzly_backups('{url}') \
                 ORDER BY latest_time"
            ),
            &[],
        )
        .await
        .unwrap();
    let ids: Vec<String> = listed.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        ids,
        vec![first.id.clone(), unchanged.id.clone(), third.id.clone()]
    );
    assert!(listed.iter().all(|r| r.get::<_, bool>(1)));

    // Restores: the latest, a chosen backup, and a time between two commits.
    let scratch = tempfile::tempdir().unwrap();
    for (name, args, expected) in [
        ("latest", vec![], &at_third),
        ("first", vec!["--backup", first.id.as_str()], &at_first),
        ("middle", vec!["--to-time", middle.as_str()], &at_middle),
    ] {
        let dir = scratch.path().join(name);
        let dir_text = dir.display().to_string();
        let mut all = vec!["--from", url, "--data-dir", dir_text.as_str()];
        all.extend(args);
        let (ok, output) = restore(Some(&s3), &all);
        assert!(ok, "restore {name}: {output}");
        let restored = TestServer::open(&dir);
        let restored_client = restored.client().await;
        assert_eq!(
            &fingerprint(&restored_client, &TABLES).await,
            expected,
            "restore {name}: {output}"
        );
        assert_eq!(fingerprint(&restored_client, &big).await, big_at_first);
    }
}

/// A backup killed or cancelled mid-upload leaves no backup behind, the earlier one
/// stays restorable, and the next backup completes it; a damaged or missing object
/// makes restore fail, naming it.
#[tokio::test(flavor = "multi_thread")]
async fn interrupted_backups_and_damaged_objects() {
    let s3 = S3::start().await;
    let mut server = s3.server(SECRET_KEY);
    let client = server.client().await;
    fill(&client).await;
    let url = "s3://backups/db2";
    let first = backup(&client, url).await;
    let at_first = fingerprint(&client, &TABLES).await;
    // Enough new blocks that uploading them takes a while.
    for block in 0..24 {
        client
            .batch_execute(&format!(
                "INSERT INTO t SELECT value, repeat('x', 200) FROM generate_series({}, {}); \
                 ALTER TABLE t SET (retention = '7 days')",
                100_000 + block * 20_000,
                100_000 + block * 20_000 + 19_999
            ))
            .await
            .unwrap();
    }

    // Cancelled with PostgreSQL's cancel request once it has started uploading.
    let (backing_up, mut notices) = server.client_with_notices().await;
    let cancel = backing_up.cancel_token();
    let sql = format!("SELECT * FROM grizzly_backup('{url}')");
    let running = tokio::spawn(async move { backing_up.query(&sql, &[]).await });
    let notice = notices.recv().await.expect("the backup starts");
    assert!(notice.contains("uploading"), "{notice}");
    cancel.cancel_query(tokio_postgres::NoTls).await.unwrap();
    let err = running.await.unwrap().expect_err("cancelled");
    assert_eq!(common::sqlstate(&err, "cancelled backup"), "57014");

    // Killed the same way.
    let (backing_up, mut notices) = server.client_with_notices().await;
    let sql = format!("SELECT * FROM grizzly_backup('{url}')");
    let running = tokio::spawn(async move { backing_up.query(&sql, &[]).await });
    let notice = notices.recv().await.expect("the backup starts");
    assert!(notice.contains("uploading"), "{notice}");
    server.kill();
    assert!(running.await.unwrap().is_err());
    server.start_again();
    let client = server.client().await;

    let listed: Vec<String> = client
        .query(
            &format!("SELECT backup_id FROM grizzly_backups('{url}')"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        listed,
        vec![first.id.clone()],
        "no trace of the interrupted backups"
    );
    let scratch = tempfile::tempdir().unwrap();
    let earlier = scratch.path().join("earlier");
    let (ok, output) = restore(
        Some(&s3),
        &["--from", url, "--data-dir", &earlier.display().to_string()],
    );
    assert!(ok, "{output}");
    let restored = TestServer::open(&earlier);
    assert_eq!(
        fingerprint(&restored.client().await, &TABLES).await,
        at_first
    );
    drop(restored);

    let next = backup(&client, url).await;
    assert!(next.blocks_present > 0, "{next:?}");
    let now = fingerprint(&client, &TABLES).await;
    let complete = scratch.path().join("complete");
    let (ok, output) = restore(
        Some(&s3),
        &["--from", url, "--data-dir", &complete.display().to_string()],
    );
    assert!(ok, "{output}");
    let restored = TestServer::open(&complete);
    assert_eq!(fingerprint(&restored.client().await, &TABLES).await, now);
    drop(restored);

    // Damage one block of the latest backup, then remove another.
    let descriptor: serde_json::Value = serde_json::from_slice(
        &std::fs::read(s3.object("db2", &format!("backups/{}.json", next.id))).unwrap(),
    )
    .unwrap();
    let keys: Vec<String> = descriptor["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_string())
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    let damaged = s3.object("db2", &keys[0]);
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[100] ^= 0x40;
    std::fs::write(&damaged, bytes).unwrap();
    let target = scratch.path().join("damaged").display().to_string();
    let (ok, output) = restore(Some(&s3), &["--from", url, "--data-dir", &target]);
    assert!(!ok);
    assert!(
        output.contains(&keys[0]) && output.contains("damaged"),
        "{output}"
    );
    std::fs::remove_file(s3.object("db2", &keys[1])).unwrap();
    let target = scratch.path().join("missing").display().to_string();
    let (ok, output) = restore(
        Some(&s3),
        &["--from", url, "--backup", &next.id, "--data-dir", &target],
    );
    assert!(!ok);
    assert!(
        (output.contains(&keys[1]) && output.contains("missing"))
            || (output.contains(&keys[0]) && output.contains("damaged")),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_and_bad_locations_are_clear_errors() {
    let s3 = S3::start().await;
    let server = s3.server("not-the-secret");
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int)")
        .await
        .unwrap();
    let err = client
        .query("SELECT * FROM grizzly_backup('s3://backups/db3')", &[])
        .await
        .expect_err("refused");
    let db = err.as_db_error().expect("an ErrorResponse");
    assert_eq!(db.code().code(), "58030");
    assert!(
        db.message().contains("AWS_ACCESS_KEY_ID"),
        "{}",
        db.message()
    );
    assert!(!db.message().contains("not-the-secret"), "{}", db.message());

    for (url, code) in [
        ("ftp://nowhere/x", "22023"),
        ("file://relative/path", "22023"),
    ] {
        let err = client
            .query(&format!("SELECT * FROM grizzly_backup('{url}')"), &[])
            .await
            .expect_err("bad location");
        assert_eq!(common::sqlstate(&err, url), code);
    }

    // Without credentials at all, the message says what to set.
    let plain = TestServer::start();
    let client = plain.client().await;
    let err = client
        .query("SELECT * FROM grizzly_backup('s3://backups/db3')", &[])
        .await
        .expect_err("no credentials");
    assert!(
        err.as_db_error()
            .unwrap()
            .message()
            .contains("AWS_SECRET_ACCESS_KEY"),
        "{err:?}"
    );
}

/// `file:///path` works the same way, without S3.
#[tokio::test(flavor = "multi_thread")]
async fn backup_to_a_directory_and_restore() {
    let server = TestServer::start();
    let client = server.client().await;
    fill(&client).await;
    let target = tempfile::tempdir().unwrap();
    let url = format!("file://{}", target.path().join("db").display());
    let first = backup(&client, &url).await;
    assert!(first.blocks_uploaded > 0);
    let expected = fingerprint(&client, &TABLES).await;
    let dir = target.path().join("restored");
    let (ok, output) = restore(
        None,
        &["--from", &url, "--data-dir", &dir.display().to_string()],
    );
    assert!(ok, "{output}");
    let restored = TestServer::open(&dir);
    assert_eq!(
        fingerprint(&restored.client().await, &TABLES).await,
        expected
    );
    assert!(Path::new(&dir).join("manifest").is_dir());
}

/// Figures for docs/performance.md, not a check:
/// `cargo test --release --test backup backup_figures -- --ignored --nocapture`.
/// Backup throughput to the loopback S3 server against a plain upload of the same files
/// to it (four at a time, as the backup does), and the bytes an incremental backup
/// uploads after 1% more rows.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn backup_figures() {
    use futures::StreamExt;
    use object_store::ObjectStoreExt;

    let s3 = S3::start().await;
    let server = s3.server(SECRET_KEY);
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE f (id bigint, k int, price numeric(12, 2), note text); \
             INSERT INTO f SELECT value, value % 1000, value * 0.01, md5(value::text) \
             FROM generate_series(1, 3000000)",
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let full = backup(&client, "s3://backups/figures").await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "full backup: {:.1} MB in {seconds:.2} s = {:.1} MB/s ({} blocks)",
        full.bytes_uploaded as f64 / 1e6,
        full.bytes_uploaded as f64 / 1e6 / seconds,
        full.blocks_uploaded
    );

    // The same files, uploaded plainly to the same server.
    let files: Vec<PathBuf> = walk(server.data_dir())
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("tuner"))
        .collect();
    let store = std::sync::Arc::new(
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(s3.endpoint())
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET_KEY)
            .with_bucket_name(BUCKET)
            .build()
            .unwrap(),
    );
    let started = std::time::Instant::now();
    let bytes: u64 = futures::stream::iter(files.into_iter().enumerate())
        .map(|(i, path)| {
            let store = store.clone();
            async move {
                let data = tokio::fs::read(&path).await.unwrap();
                let len = data.len() as u64;
                store
                    .put(&format!("plain/{i}").into(), data.into())
                    .await
                    .unwrap();
                len
            }
        })
        .buffer_unordered(4)
        .fold(0, |sum, len| async move { sum + len })
        .await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "plain upload: {:.1} MB in {seconds:.2} s = {:.1} MB/s",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / seconds
    );

    client
        .batch_execute(
            "INSERT INTO f SELECT value, value % 1000, value * 0.01, md5(value::text) \
             FROM generate_series(3000001, 3030000)",
        )
        .await
        .unwrap();
    let incremental = backup(&client, "s3://backups/figures").await;
    println!(
        "after 1% more rows: {:.2} MB uploaded ({:.2}% of the full backup), {} blocks \
         uploaded, {} present",
        incremental.bytes_uploaded as f64 / 1e6,
        100.0 * incremental.bytes_uploaded as f64 / full.bytes_uploaded as f64,
        incremental.blocks_uploaded,
        incremental.blocks_present
    );
}

//! End-to-end tests of the server over real sockets: each test starts the real `grizzly`
//! binary on 127.0.0.1:0 with its own temporary data directory and talks to it with
//! tokio-postgres, as an application would.
//!
//! What they pin down, in the order of the file:
//! - startup: the ParameterStatus values drivers read, `version()`, `SHOW`;
//! - the extended protocol: named statements reused, parameter types given and inferred,
//!   binary parameters and results for every column type, NULLs, RowDescription OIDs;
//! - portals fetched in chunks (Execute with max_rows, PortalSuspended);
//! - COPY FROM STDIN: text and CSV options, errors naming the line, atomicity, a large
//!   COPY, a COPY the client aborts;
//! - SQLSTATEs of common errors, in both protocols, with the connection usable after;
//! - durability across a clean restart, and recovery's treatment of a damaged WAL: a torn
//!   tail is cut away, corruption before valid records refuses to start.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use common::TestServer;
use futures::{pin_mut, SinkExt};
use rust_decimal::Decimal;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, SimpleQueryMessage};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The SQLSTATE of a server error; panics (naming `what`) if the error is not one.
fn sqlstate(err: &tokio_postgres::Error, what: &str) -> String {
    match err.as_db_error() {
        Some(db) => db.code().code().to_string(),
        None => panic!("{what}: expected an ErrorResponse, got {err:?}"),
    }
}

/// Runs `sql` in the simple protocol, expecting an error with `code`.
async fn expect_simple_error(client: &Client, sql: &str, code: &str) {
    let err = client
        .batch_execute(sql)
        .await
        .expect_err(&format!("{sql:?} should fail with {code}"));
    assert_eq!(
        sqlstate(&err, sql),
        code,
        "simple protocol {sql:?}: {err:?}"
    );
}

/// The connection still answers, in both protocols.
async fn assert_usable(client: &Client) {
    let rows = client
        .query("SELECT 'alive'", &[])
        .await
        .expect("extended query after error");
    assert_eq!(rows[0].get::<_, String>(0), "alive");
    let messages = client
        .simple_query("SELECT 2")
        .await
        .expect("simple query after error");
    assert_eq!(simple_rows(&messages), vec![vec![Some("2".to_string())]]);
}

async fn count(client: &Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e:?}"))
        .get(0)
}

/// The rows of a simple-protocol response, as text.
fn simple_rows(messages: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// Sends `data` through a COPY … FROM STDIN and returns the command tag's row count.
async fn copy_in(client: &Client, sql: &str, data: &str) -> Result<u64, tokio_postgres::Error> {
    let sink = client.copy_in::<_, Bytes>(sql).await?;
    pin_mut!(sink);
    sink.send(Bytes::copy_from_slice(data.as_bytes())).await?;
    sink.finish().await
}

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

// ---------------------------------------------------------------------------------------
// 1. Startup
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn startup_reports_postgres_16_parameters() {
    let server = TestServer::start();
    let (client, connection) =
        tokio_postgres::connect(&server.connection_string(), tokio_postgres::NoTls)
            .await
            .expect("connect");
    // ParameterStatus messages arrive during startup; the connection keeps them.
    for (name, expected) in [
        ("server_version", "16.6"),
        ("server_encoding", "UTF8"),
        ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"),
        ("TimeZone", "UTC"),
        ("integer_datetimes", "on"),
        ("standard_conforming_strings", "on"),
    ] {
        assert_eq!(
            connection.parameter(name),
            Some(expected),
            "ParameterStatus {name}"
        );
    }
    tokio::spawn(async move {
        let _ = connection.await;
    });

    let version: String = client
        .query_one("SELECT version()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        version.starts_with("PostgreSQL 16."),
        "version() = {version:?}"
    );
    assert!(version.contains("Grizzly"), "version() = {version:?}");

    // SHOW agrees with what startup announced, in both protocols.
    for (name, expected) in [
        ("server_version", "16.6"),
        ("server_version_num", "160006"),
        ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"),
        ("TimeZone", "UTC"),
        ("standard_conforming_strings", "on"),
    ] {
        let row = client
            .query_one(&format!("SHOW {name}"), &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), expected, "extended SHOW {name}");
        let messages = client.simple_query(&format!("SHOW {name}")).await.unwrap();
        assert_eq!(
            simple_rows(&messages),
            vec![vec![Some(expected.to_string())]],
            "simple SHOW {name}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 2. Extended protocol
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn named_prepared_statements_are_reused() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE kv (id int NOT NULL, name text)")
        .await
        .unwrap();

    let insert = client
        .prepare("INSERT INTO kv (id, name) VALUES ($1, $2)")
        .await
        .unwrap();
    let select = client
        .prepare("SELECT name FROM kv WHERE id = $1")
        .await
        .unwrap();
    for i in 0..200i32 {
        let inserted = client
            .execute(&insert, &[&i, &format!("name-{i}")])
            .await
            .unwrap();
        assert_eq!(inserted, 1, "INSERT command tag for row {i}");
    }
    // Executed again and again (Bind/Execute only, no new Parse).
    for i in (0..200i32).rev() {
        let rows = client.query(&select, &[&i]).await.unwrap();
        assert_eq!(rows.len(), 1, "row {i}");
        assert_eq!(rows[0].get::<_, String>(0), format!("name-{i}"));
    }
    assert!(client.query(&select, &[&1000i32]).await.unwrap().is_empty());
    assert_eq!(count(&client, "kv").await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn parameter_types_given_by_the_client() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE t (id int, big bigint, name text);
             INSERT INTO t VALUES (1, 10, 'one'), (2, 20, 'two'), (3, 30, 'three')",
        )
        .await
        .unwrap();

    let stmt = client
        .prepare_typed(
            "SELECT name FROM t WHERE big > $1 AND name <> $2 ORDER BY id",
            &[Type::INT8, Type::TEXT],
        )
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[Type::INT8, Type::TEXT]);
    let rows = client.query(&stmt, &[&15i64, &"three"]).await.unwrap();
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(names, vec!["two"]);

    // A parameter typed by the client as INT4 compared with a bigint column.
    let stmt = client
        .prepare_typed("SELECT count(*) FROM t WHERE big >= $1", &[Type::INT4])
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[Type::INT4]);
    let n: i64 = client.query_one(&stmt, &[&20i32]).await.unwrap().get(0);
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn parameter_types_inferred_by_the_server() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE t (id int, big bigint, small smallint, name text, flag boolean, \
             price numeric(10,2), day date, at timestamp)",
        )
        .await
        .unwrap();

    let stmt = client
        .prepare("SELECT * FROM t WHERE id = $1")
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[Type::INT4]);

    let stmt = client
        .prepare("SELECT id FROM t WHERE big = $1 AND name = $2 AND flag = $3")
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[Type::INT8, Type::TEXT, Type::BOOL]);

    let stmt = client
        .prepare("INSERT INTO t (id, big, small, name, flag, price, day, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .await
        .unwrap();
    assert_eq!(
        stmt.params(),
        &[
            Type::INT4,
            Type::INT8,
            Type::INT2,
            Type::TEXT,
            Type::BOOL,
            Type::NUMERIC,
            Type::DATE,
            Type::TIMESTAMP
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn inferred_parameter_type_of_a_varchar_column_is_varchar() {
    // PostgreSQL types a parameter assigned to a varchar column as that column's type,
    // varchar (OID 1043).
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int, v varchar(20))")
        .await
        .unwrap();
    let stmt = client
        .prepare("INSERT INTO t (id, v) VALUES ($1, $2)")
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[Type::INT4, Type::VARCHAR]);
}

const ALL_TYPES_DDL: &str = "CREATE TABLE all_types (
    i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, n numeric(12,3),
    t text, v varchar(20), b boolean, d date, ts timestamp, tz timestamptz, by bytea)";

const ALL_TYPES: [Type; 13] = [
    Type::INT2,
    Type::INT4,
    Type::INT8,
    Type::FLOAT4,
    Type::FLOAT8,
    Type::NUMERIC,
    Type::TEXT,
    Type::VARCHAR,
    Type::BOOL,
    Type::DATE,
    Type::TIMESTAMP,
    Type::TIMESTAMPTZ,
    Type::BYTEA,
];

/// One row of `all_types` as Rust values.
#[derive(Debug, Clone, PartialEq)]
struct AllTypes {
    i2: Option<i16>,
    i4: Option<i32>,
    i8: Option<i64>,
    f4: Option<f32>,
    f8: Option<f64>,
    n: Option<Decimal>,
    t: Option<String>,
    v: Option<String>,
    b: Option<bool>,
    d: Option<NaiveDate>,
    ts: Option<NaiveDateTime>,
    tz: Option<DateTime<Utc>>,
    by: Option<Vec<u8>>,
}

impl AllTypes {
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.i2, &self.i4, &self.i8, &self.f4, &self.f8, &self.n, &self.t, &self.v, &self.b,
            &self.d, &self.ts, &self.tz, &self.by,
        ]
    }

    fn from_row(row: &tokio_postgres::Row) -> AllTypes {
        AllTypes {
            i2: row.get("i2"),
            i4: row.get("i4"),
            i8: row.get("i8"),
            f4: row.get("f4"),
            f8: row.get("f8"),
            n: row.get("n"),
            t: row.get("t"),
            v: row.get("v"),
            b: row.get("b"),
            d: row.get("d"),
            ts: row.get("ts"),
            tz: row.get("tz"),
            by: row.get("by"),
        }
    }

    fn nulls() -> AllTypes {
        AllTypes {
            i2: None,
            i4: None,
            i8: None,
            f4: None,
            f8: None,
            n: None,
            t: None,
            v: None,
            b: None,
            d: None,
            ts: None,
            tz: None,
            by: None,
        }
    }
}

fn sample_rows() -> Vec<AllTypes> {
    let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let at = day.and_hms_micro_opt(13, 14, 15, 123_456).unwrap();
    vec![
        AllTypes {
            i2: Some(-12345),
            i4: Some(2_000_000_001),
            i8: Some(-9_000_000_000_000_000_001),
            f4: Some(1.5),
            f8: Some(std::f64::consts::PI),
            n: Some("12345.678".parse().unwrap()),
            t: Some("héllo, wörld ✓ 'quoted' \\ tab\there".into()),
            v: Some("varchar value".into()),
            b: Some(true),
            d: Some(day),
            ts: Some(at),
            tz: Some(at.and_utc()),
            by: Some(vec![0, 1, 2, 0xff, b'\\', b'\'', 0x80]),
        },
        AllTypes {
            i2: Some(i16::MIN),
            i4: Some(i32::MIN),
            i8: Some(i64::MAX),
            f4: Some(-0.25),
            f8: Some(-1e300),
            n: Some("-0.001".parse().unwrap()),
            t: Some(String::new()),
            v: Some(String::new()),
            b: Some(false),
            d: Some(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()),
            ts: Some(
                NaiveDate::from_ymd_opt(1999, 12, 31)
                    .unwrap()
                    .and_hms_opt(23, 59, 59)
                    .unwrap(),
            ),
            tz: Some(DateTime::from_timestamp(0, 0).unwrap()),
            by: Some(Vec::new()),
        },
        AllTypes::nulls(),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_parameters_and_results_round_trip_every_type() {
    let server = TestServer::start();
    let client = server.client().await;
    client.batch_execute(ALL_TYPES_DDL).await.unwrap();

    let insert = client
        .prepare_typed(
            "INSERT INTO all_types VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &ALL_TYPES,
        )
        .await
        .unwrap();
    let rows = sample_rows();
    for (i, row) in rows.iter().enumerate() {
        let n = client
            .execute(&insert, &row.params())
            .await
            .unwrap_or_else(|e| {
                panic!("insert sample row {i}: {e:?}");
            });
        assert_eq!(n, 1);
    }

    // tokio-postgres asks for every result column in binary.
    let select = client
        .prepare("SELECT * FROM all_types ORDER BY i2 NULLS LAST")
        .await
        .unwrap();
    let types: Vec<Type> = select.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(types, ALL_TYPES, "RowDescription types of all_types");
    let got: Vec<AllTypes> = client
        .query(&select, &[])
        .await
        .unwrap()
        .iter()
        .map(AllTypes::from_row)
        .collect();
    // ORDER BY i2: i16::MIN first, then -12345, then the NULL row.
    let expected = vec![rows[1].clone(), rows[0].clone(), rows[2].clone()];
    assert_eq!(got, expected);

    // Binary parameters in a WHERE clause find the row again, NULL params match nothing.
    let by_all = client
        .prepare_typed(
            "SELECT count(*) FROM all_types WHERE i2 = $1 AND i4 = $2 AND i8 = $3 AND f4 = $4 \
             AND f8 = $5 AND n = $6 AND t = $7 AND v = $8 AND b = $9 AND d = $10 AND ts = $11 \
             AND tz = $12 AND by = $13",
            &ALL_TYPES,
        )
        .await
        .unwrap();
    for (i, row) in rows.iter().take(2).enumerate() {
        let n: i64 = client
            .query_one(&by_all, &row.params())
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "sample row {i} found by binary parameters");
    }
    let n: i64 = client
        .query_one(&by_all, &AllTypes::nulls().params())
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "= NULL matches no row");
    let nulls: i64 = client
        .query_one(
            "SELECT count(*) FROM all_types WHERE i4 IS NULL AND t IS NULL AND by IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(nulls, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_results_are_formatted_as_postgres_does() {
    let server = TestServer::start();
    let client = server.client().await;
    client.batch_execute(ALL_TYPES_DDL).await.unwrap();
    client
        .batch_execute(
            "INSERT INTO all_types VALUES (-12345, 2000000001, -9000000000000000001, 1.5, \
             3.141592653589793, 12345.678, 'héllo', 'vc', true, '2024-02-29', \
             '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123456+00', '\\x0001ff'), \
             (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL)",
        )
        .await
        .unwrap();
    let messages = client
        .simple_query("SELECT * FROM all_types ORDER BY b DESC")
        .await
        .unwrap();
    let text = |s: &str| Some(s.to_string());
    assert_eq!(
        simple_rows(&messages),
        vec![
            vec![
                text("-12345"),
                text("2000000001"),
                text("-9000000000000000001"),
                text("1.5"),
                text("3.141592653589793"),
                text("12345.678"),
                text("héllo"),
                text("vc"),
                text("t"),
                text("2024-02-29"),
                text("2024-02-29 13:14:15.123456"),
                text("2024-02-29 13:14:15.123456+00"),
                text("\\x0001ff"),
            ],
            vec![
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                text("f"),
                None,
                None,
                None,
                None,
            ],
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn row_description_reports_postgres_type_oids() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int, name varchar(10), price numeric(10,2), note text)")
        .await
        .unwrap();
    let cases: [(&str, &[Type]); 7] = [
        ("SELECT count(*) FROM t", &[Type::INT8]),
        ("SELECT name FROM t", &[Type::VARCHAR]),
        ("SELECT price FROM t", &[Type::NUMERIC]),
        ("SELECT id, note FROM t", &[Type::INT4, Type::TEXT]),
        ("SELECT sum(id) FROM t", &[Type::INT8]),
        (
            "SELECT 1::int2, 1.5::float8, true",
            &[Type::INT2, Type::FLOAT8, Type::BOOL],
        ),
        (
            "SELECT 'a'::text, DATE '2024-01-01'",
            &[Type::TEXT, Type::DATE],
        ),
    ];
    for (sql, expected) in cases {
        let stmt = client
            .prepare(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
        assert_eq!(types, expected, "RowDescription of {sql:?}");
    }
    // Column names are PostgreSQL's.
    let stmt = client
        .prepare("SELECT count(*), id, sum(id) FROM t GROUP BY id")
        .await
        .unwrap();
    let names: Vec<&str> = stmt.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, vec!["count", "id", "sum"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn integer_literals_are_int4_and_arithmetic_keeps_postgres_types() {
    // PostgreSQL types an integer literal that fits as int4, int4 + int4 as int4, a
    // decimal literal as numeric.
    let server = TestServer::start();
    let client = server.client().await;
    let cases: [(&str, Type); 4] = [
        ("SELECT 1", Type::INT4),
        ("SELECT 1 + 1", Type::INT4),
        ("SELECT 3000000000", Type::INT8),
        ("SELECT 1.5", Type::NUMERIC),
    ];
    let mut wrong = Vec::new();
    for (sql, expected) in cases {
        let stmt = client.prepare(sql).await.unwrap();
        let got = stmt.columns()[0].type_();
        if got != &expected {
            wrong.push(format!("{sql:?}: {got}, expected {expected}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "RowDescription types:\n{}",
        wrong.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// 3. Portals with max_rows
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn portal_is_fetched_in_chunks() {
    let server = TestServer::start();
    let mut client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int)")
        .await
        .unwrap();
    let values: Vec<String> = (0..25).map(|i| format!("({i})")).collect();
    client
        .batch_execute(&format!("INSERT INTO t VALUES {}", values.join(", ")))
        .await
        .unwrap();

    let transaction = client.transaction().await.unwrap();
    let stmt = transaction
        .prepare("SELECT id FROM t WHERE id >= $1 ORDER BY id")
        .await
        .unwrap();
    let portal = transaction.bind(&stmt, &[&0i32]).await.unwrap();
    let mut fetched = Vec::new();
    let mut chunk_sizes = Vec::new();
    for _ in 0..10 {
        let rows = transaction.query_portal(&portal, 10).await.unwrap();
        chunk_sizes.push(rows.len());
        if rows.is_empty() {
            break;
        }
        fetched.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
    }
    assert_eq!(chunk_sizes, vec![10, 10, 5, 0]);
    assert_eq!(fetched, (0..25).collect::<Vec<i32>>());

    // Two portals interleaved on one connection keep their own positions.
    let a = transaction.bind(&stmt, &[&0i32]).await.unwrap();
    let b = transaction.bind(&stmt, &[&20i32]).await.unwrap();
    let first_a = transaction.query_portal(&a, 3).await.unwrap();
    let first_b = transaction.query_portal(&b, 3).await.unwrap();
    let rest_a = transaction.query_portal(&a, 0).await.unwrap();
    let rest_b = transaction.query_portal(&b, 0).await.unwrap();
    let ids =
        |rows: &[tokio_postgres::Row]| rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>();
    assert_eq!(ids(&first_a), vec![0, 1, 2]);
    assert_eq!(ids(&first_b), vec![20, 21, 22]);
    assert_eq!(ids(&rest_a), (3..25).collect::<Vec<i32>>());
    assert_eq!(ids(&rest_b), vec![23, 24]);
    transaction.commit().await.unwrap();
    assert_usable(&client).await;
}

// ---------------------------------------------------------------------------------------
// 4./5. COPY FROM STDIN
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn copy_text_and_csv_with_options() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int NOT NULL, name text, score float8)")
        .await
        .unwrap();

    // Text format: tab separated, \N is NULL, backslash escapes.
    let n = copy_in(
        &client,
        "COPY t FROM STDIN",
        "1\tone\t1.5\n2\t\\N\t\\N\n3\ttab\\there\t-2\n",
    )
    .await
    .unwrap();
    assert_eq!(n, 3, "COPY command tag");

    // A column list: the missing column is NULL.
    let n = copy_in(&client, "COPY t (name, id) FROM STDIN", "four\t4\n")
        .await
        .unwrap();
    assert_eq!(n, 1);

    // CSV with HEADER, DELIMITER, NULL and quoting.
    let n = copy_in(
        &client,
        "COPY t FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', NULL 'NA')",
        "id;name;score\n5;five;5\n6;NA;NA\n7;\"semi;colon \"\"quoted\"\"\";7.25\n8;\"\";0\n",
    )
    .await
    .unwrap();
    assert_eq!(n, 4);

    // Legacy option syntax.
    let n = copy_in(&client, "COPY t FROM STDIN CSV", "9,nine,9\n")
        .await
        .unwrap();
    assert_eq!(n, 1);

    let rows = client
        .query("SELECT id, name, score FROM t ORDER BY id", &[])
        .await
        .unwrap();
    let got: Vec<(i32, Option<String>, Option<f64>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        got,
        vec![
            (1, s("one"), Some(1.5)),
            (2, None, None),
            (3, s("tab\there"), Some(-2.0)),
            (4, s("four"), None),
            (5, s("five"), Some(5.0)),
            (6, None, None),
            (7, s("semi;colon \"quoted\""), Some(7.25)),
            (8, s(""), Some(0.0)),
            (9, s("nine"), Some(9.0)),
        ]
    );
}

/// The line a COPY error names, in its message or its CONTEXT (PostgreSQL puts it in
/// CONTEXT: `COPY t, line 2`).
fn names_line(err: &tokio_postgres::Error, line: u64) -> bool {
    let db = err.as_db_error().expect("a server error");
    let needle = format!("line {line}");
    db.message().contains(&needle) || db.where_().is_some_and(|w| w.contains(&needle))
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_copy_fails_atomically_and_names_the_line() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int, name text)")
        .await
        .unwrap();

    // Missing column on line 2.
    let err = copy_in(&client, "COPY t FROM STDIN", "10\tten\n11\n12\ttwelve\n")
        .await
        .expect_err("a line with too few columns");
    assert_eq!(sqlstate(&err, "missing column"), "22P04", "{err:?}");
    assert!(names_line(&err, 2), "error should name line 2: {err:?}");
    assert_eq!(
        count(&client, "t").await,
        0,
        "nothing of the failed COPY is visible"
    );
    assert_usable(&client).await;

    // Extra column on line 3, after rows that were fine.
    let err = copy_in(
        &client,
        "COPY t FROM STDIN",
        "1\ta\n2\tb\n3\tc\textra\n4\td\n",
    )
    .await
    .expect_err("a line with too many columns");
    assert_eq!(sqlstate(&err, "extra column"), "22P04", "{err:?}");
    assert!(names_line(&err, 3), "error should name line 3: {err:?}");

    // Unterminated CSV quote.
    let err = copy_in(&client, "COPY t FROM STDIN CSV", "1,a\n2,\"open\n")
        .await
        .expect_err("an unterminated quote");
    assert_eq!(sqlstate(&err, "unterminated quote"), "22P04", "{err:?}");

    // A bad value (not a structural problem) is 22P02, and names the line too.
    let err = copy_in(&client, "COPY t FROM STDIN", "1\ta\nxyz\tb\n")
        .await
        .expect_err("a non-integer id");
    assert_eq!(sqlstate(&err, "bad integer"), "22P02", "{err:?}");
    assert!(names_line(&err, 2), "error should name line 2: {err:?}");

    // The error after many batches' worth of good rows still commits nothing.
    let mut data = String::new();
    for i in 0..20_000 {
        data.push_str(&format!("{i}\trow\n"));
    }
    data.push_str("oops\n");
    let err = copy_in(&client, "COPY t FROM STDIN", &data)
        .await
        .expect_err("bad last line");
    assert_eq!(sqlstate(&err, "bad last line"), "22P04", "{err:?}");
    assert!(
        names_line(&err, 20_001),
        "error should name line 20001: {err:?}"
    );

    assert_eq!(
        count(&client, "t").await,
        0,
        "no failed COPY left rows behind"
    );
    assert_usable(&client).await;
    // And COPY works again on the same connection.
    assert_eq!(
        copy_in(&client, "COPY t FROM STDIN", "1\tok\n")
            .await
            .unwrap(),
        1
    );
    assert_eq!(count(&client, "t").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn large_copy_commits_atomically() {
    const ROWS: u64 = 1_500_000;
    const ROWS_PER_CHUNK: u64 = 5_000;
    let server = TestServer::start();
    let client = server.client().await;
    let observer = server.client().await;
    client
        .batch_execute("CREATE TABLE big (id bigint NOT NULL, name text, part int)")
        .await
        .unwrap();

    let sink = client
        .copy_in::<_, Bytes>("COPY big FROM STDIN")
        .await
        .unwrap();
    pin_mut!(sink);
    let mut next = 0u64;
    while next < ROWS {
        let mut chunk = String::with_capacity(ROWS_PER_CHUNK as usize * 24);
        for id in next..(next + ROWS_PER_CHUNK).min(ROWS) {
            chunk.push_str(&format!("{id}\tname-{id}\t{}\n", id % 7));
        }
        next = (next + ROWS_PER_CHUNK).min(ROWS);
        sink.send(Bytes::from(chunk)).await.unwrap();
        if next == ROWS / 2 {
            // Halfway: the data sent so far is not visible to anyone.
            sink.flush().await.unwrap();
            assert_eq!(
                count(&observer, "big").await,
                0,
                "a COPY in progress is invisible"
            );
        }
    }
    let n = sink.finish().await.unwrap();
    assert_eq!(n, ROWS, "COPY command tag");

    let row = observer
        .query_one(
            "SELECT count(*), count(DISTINCT id), sum(id), min(id), max(id) FROM big",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), ROWS as i64);
    assert_eq!(row.get::<_, i64>(1), ROWS as i64);
    let sum: Decimal = row
        .try_get::<_, Decimal>(2)
        .or_else(|_| row.try_get::<_, i64>(2).map(Decimal::from))
        .unwrap();
    assert_eq!(sum, Decimal::from(ROWS * (ROWS - 1) / 2));
    assert_eq!(row.get::<_, i64>(3), 0);
    assert_eq!(row.get::<_, i64>(4), ROWS as i64 - 1);
    let sample: String = observer
        .query_one("SELECT name FROM big WHERE id = 1234567", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sample, "name-1234567");
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_aborted_by_the_client_leaves_no_rows() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id bigint, name text)")
        .await
        .unwrap();

    // Small: a few rows, then the sink is dropped (tokio-postgres sends CopyFail).
    {
        let sink = client
            .copy_in::<_, Bytes>("COPY t FROM STDIN")
            .await
            .unwrap();
        pin_mut!(sink);
        sink.send(Bytes::from_static(b"1\tone\n2\ttwo\n"))
            .await
            .unwrap();
        sink.flush().await.unwrap();
    }
    assert_usable(&client).await;
    assert_eq!(
        count(&client, "t").await,
        0,
        "an aborted COPY commits nothing"
    );

    // Large: many batches' worth of rows before the abort.
    {
        let sink = client
            .copy_in::<_, Bytes>("COPY t FROM STDIN")
            .await
            .unwrap();
        pin_mut!(sink);
        for start in (0..300_000u64).step_by(10_000) {
            let mut chunk = String::new();
            for id in start..start + 10_000 {
                chunk.push_str(&format!("{id}\tx\n"));
            }
            sink.send(Bytes::from(chunk)).await.unwrap();
        }
        sink.flush().await.unwrap();
    }
    assert_usable(&client).await;
    assert_eq!(
        count(&client, "t").await,
        0,
        "an aborted large COPY commits nothing"
    );

    // A COPY afterwards works and is the only thing visible.
    assert_eq!(
        copy_in(&client, "COPY t FROM STDIN", "7\tseven\n")
            .await
            .unwrap(),
        1
    );
    assert_eq!(count(&client, "t").await, 1);
}

// ---------------------------------------------------------------------------------------
// 6. SQLSTATEs
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn errors_carry_postgres_sqlstates_and_leave_the_connection_usable() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int NOT NULL, name text)")
        .await
        .unwrap();

    let cases = [
        ("SELEC 1", "42601"),
        ("SELECT * FROM no_such_table", "42P01"),
        ("SELECT no_such_column FROM t", "42703"),
        ("CREATE TABLE t (x int)", "42P07"),
        ("INSERT INTO t (id) VALUES ('abc')", "22P02"),
        ("INSERT INTO t (id) VALUES (true)", "42804"),
        ("INSERT INTO t (id, name) VALUES (NULL, 'x')", "23502"),
        ("INSERT INTO t (name) VALUES ('no id')", "23502"),
        ("INSERT INTO t VALUES (1, 'a'), (NULL, 'b')", "23502"),
        ("INSERT INTO t SELECT NULL, 'c'", "23502"),
    ];
    // Every case runs, in both protocols, before the test reports what went wrong.
    let mut wrong = Vec::new();
    for (sql, code) in cases {
        for (protocol, result) in [
            ("simple", client.batch_execute(sql).await.map(|_| ())),
            ("extended", client.query(sql, &[]).await.map(|_| ())),
        ] {
            match result {
                Ok(()) => wrong.push(format!("{protocol} {sql:?}: succeeded, expected {code}")),
                Err(err) => match err.as_db_error() {
                    Some(db) if db.code().code() == code => {}
                    Some(db) => wrong.push(format!(
                        "{protocol} {sql:?}: {} {:?}, expected {code}",
                        db.code().code(),
                        db.message()
                    )),
                    None => wrong.push(format!("{protocol} {sql:?}: {err:?}, expected {code}")),
                },
            }
            assert_usable(&client).await;
        }
    }
    assert!(wrong.is_empty(), "wrong SQLSTATEs:\n{}", wrong.join("\n"));

    // Malformed COPY.
    let err = copy_in(&client, "COPY t FROM STDIN", "1\ta\tb\n")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err, "malformed COPY"), "22P04");
    assert_usable(&client).await;

    // No failed statement wrote anything.
    assert_eq!(count(&client, "t").await, 0);

    // A multi-statement simple query stops at its first error: later ones do not run.
    expect_simple_error(
        &client,
        "INSERT INTO t VALUES (1, 'a'); SELECT * FROM no_such_table; INSERT INTO t VALUES (2, 'b')",
        "42P01",
    )
    .await;
    let ids: Vec<i32> = client
        .query("SELECT id FROM t ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec![1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn insert_without_column_list_may_omit_trailing_columns() {
    // PostgreSQL: with no column list, N values fill the first N columns; the rest get
    // their defaults (NULL here).
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int NOT NULL, name text, score float8)")
        .await
        .unwrap();
    client
        .batch_execute("INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    client
        .batch_execute("INSERT INTO t VALUES (2, 'two')")
        .await
        .unwrap();
    let rows = client
        .query("SELECT id, name, score FROM t ORDER BY id", &[])
        .await
        .unwrap();
    let got: Vec<(i32, Option<String>, Option<f64>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(got, vec![(1, None, None), (2, Some("two".into()), None)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_in_a_bound_parameter_are_reported_at_execute() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int NOT NULL, name varchar(3))")
        .await
        .unwrap();
    let insert = client
        .prepare_typed(
            "INSERT INTO t VALUES ($1, $2)",
            &[Type::INT4, Type::VARCHAR],
        )
        .await
        .unwrap();
    let err = client
        .execute(&insert, &[&None::<i32>, &"ok"])
        .await
        .expect_err("NULL into NOT NULL");
    assert_eq!(sqlstate(&err, "NULL param"), "23502");
    let err = client
        .execute(&insert, &[&1i32, &"toolong"])
        .await
        .expect_err("value too long for varchar(3)");
    assert_eq!(sqlstate(&err, "long varchar"), "22001");
    // The statement is still usable after its failures.
    assert_eq!(client.execute(&insert, &[&1i32, &"abc"]).await.unwrap(), 1);
    assert_eq!(count(&client, "t").await, 1);
}

// ---------------------------------------------------------------------------------------
// 7. Durability across a clean restart
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
// 8. Recovery from a damaged WAL
// ---------------------------------------------------------------------------------------

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
    let len = std::fs::metadata(&segment).unwrap().len();
    // Cut the last few bytes off the last record, as a crash mid-append would.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(len - 3).unwrap();
    drop(file);

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
    let len = std::fs::metadata(&first_segment).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&first_segment)
        .unwrap();
    file.set_len(len - 3).unwrap();
    drop(file);

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

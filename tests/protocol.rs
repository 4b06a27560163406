//! The PostgreSQL wire protocol as drivers see it: the ParameterStatus values sent at startup,
//! the extended protocol (named statements, parameter types given and inferred, binary and text
//! results for every column type, RowDescription OIDs, portals fetched in chunks), and the
//! SQLSTATEs of common errors in both protocols, with the connection usable afterwards.

mod common;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use common::{
    assert_usable, copy_in, count, expect_simple_error, simple_rows, sqlstate, TestServer,
};
use rust_decimal::Decimal;
use tokio_postgres::types::{ToSql, Type};

// ---------------------------------------------------------------------------------------
// Startup
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
// Extended protocol
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
async fn parameters_without_context_take_their_parse_type() {
    let server = TestServer::start();
    let client = server.client().await;

    // Nothing in `SELECT $1` types the parameter: the type Parse names is its type, for
    // the parameter and for the result column, in both directions of binary format.
    let stmt = client
        .prepare_typed("SELECT $1 AS v", &[Type::INT4])
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[Type::INT4]);
    assert_eq!(stmt.columns()[0].type_(), &Type::INT4);
    let v: i32 = client.query_one(&stmt, &[&7i32]).await.unwrap().get(0);
    assert_eq!(v, 7);
    let stmt = client
        .prepare_typed("SELECT $1 + $2", &[Type::INT2, Type::INT2])
        .await
        .unwrap();
    assert_eq!(stmt.columns()[0].type_(), &Type::INT2);
    let v: i16 = client
        .query_one(&stmt, &[&2i16, &3i16])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 5);

    // Two unknown parameters around an operator are text, as PostgreSQL resolves them;
    // an unknown beside a typed one takes its type.
    let stmt = client.prepare("SELECT $1 || $2").await.unwrap();
    assert_eq!(stmt.params(), &[Type::TEXT, Type::TEXT]);
    let v: String = client.query_one(&stmt, &[&"x", &"y"]).await.unwrap().get(0);
    assert_eq!(v, "xy");
    let stmt = client
        .prepare_typed("SELECT $1 * $2", &[Type::INT8])
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[Type::INT8, Type::INT8]);
    let v: i64 = client
        .query_one(&stmt, &[&6i64, &7i64])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 42);
}

#[tokio::test(flavor = "multi_thread")]
async fn result_columns_name_the_table_and_column_they_come_from() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE t (id int, name text); CREATE TABLE u (a int, b text);
             INSERT INTO t VALUES (1, 'x'); INSERT INTO u VALUES (1, 'y')",
        )
        .await
        .unwrap();
    let oid = |table: &str| {
        let client = &client;
        let sql = format!("SELECT oid FROM pg_class WHERE relname = '{table}'");
        async move { client.query_one(&sql, &[]).await.unwrap().get::<_, i32>(0) as u32 }
    };
    let (t, u) = (oid("t").await, oid("u").await);
    // (table OID, column number) per result column, as PostgreSQL 15 reports them.
    let sources = |sql: &'static str| {
        let client = &client;
        async move {
            let stmt = client.prepare(sql).await.unwrap();
            let columns = stmt.columns().iter();
            columns
                .map(|c| (c.table_oid().unwrap_or(0), c.column_id().unwrap_or(0)))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(sources("SELECT * FROM t").await, [(t, 1), (t, 2)]);
    assert_eq!(
        sources("SELECT name AS n, id + 1, id::int, max(id) OVER () FROM t").await,
        [(t, 2), (0, 0), (t, 1), (0, 0)]
    );
    assert_eq!(
        sources("SELECT u.b, t.id FROM t JOIN u ON t.id = u.a WHERE t.id > 0 ORDER BY 1").await,
        [(u, 2), (t, 1)]
    );
    assert_eq!(
        sources("SELECT id, count(*) FROM (SELECT id FROM t) s GROUP BY id").await,
        [(t, 1), (0, 0)]
    );
    assert_eq!(
        sources("SELECT id FROM t UNION SELECT a FROM u").await,
        [(0, 0)]
    );
    assert_eq!(sources("SELECT 1 AS one").await, [(0, 0)]);
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
// Portals with max_rows
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

#[tokio::test(flavor = "multi_thread")]
async fn execute_streams_rows_before_the_query_finishes() {
    // Rows reach the client as the query produces them, as in PostgreSQL: a query that
    // fails partway delivers its earlier rows and then the error. (A server that collects
    // a portal's rows before sending would deliver the error alone, and would hold a
    // whole result set in memory.)
    let server = TestServer::start();
    let client = server.client().await;
    let statement = client
        .prepare("SELECT 10 / (i - 50000) FROM generate_series(1, 100000) AS t(i)")
        .await
        .unwrap();
    let rows = client
        .query_raw(&statement, std::iter::empty::<i32>())
        .await;
    let mut received = 0;
    let error = match rows {
        Err(err) => err,
        Ok(rows) => {
            let mut rows = std::pin::pin!(rows);
            loop {
                match futures::StreamExt::next(&mut rows).await {
                    Some(Ok(_)) => received += 1,
                    Some(Err(err)) => break err,
                    None => panic!("the division by zero at row 50000 must fail the query"),
                }
            }
        }
    };
    assert_eq!(sqlstate(&error, "division by zero at row 50000"), "22012");
    assert!(
        received > 0 && received < 99999,
        "{received} rows before the error; expected the batches without row 50000"
    );
    assert_usable(&client).await;
}

// ---------------------------------------------------------------------------------------
// SQLSTATEs
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
// Raw protocol: Flush without Sync (asyncpg's pattern)
// ---------------------------------------------------------------------------------------

/// Writes one frontend message: type byte, length, body.
fn message(out: &mut Vec<u8>, kind: u8, body: &[u8]) {
    out.push(kind);
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
}

/// Reads backend messages until one of type `until`; returns their type bytes.
fn read_until(stream: &mut std::net::TcpStream, until: u8) -> Vec<u8> {
    use std::io::Read;
    let mut kinds = Vec::new();
    loop {
        let mut header = [0u8; 5];
        stream
            .read_exact(&mut header)
            .expect("a backend message before the timeout");
        let len = u32::from_be_bytes(header[1..5].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len - 4];
        stream.read_exact(&mut body).unwrap();
        kinds.push(header[0]);
        if header[0] == until {
            return kinds;
        }
    }
}

/// Parse/Bind/Execute answers are held until Sync or Flush; a Flush must deliver them
/// without a Sync, or a client that waits for ParseComplete before sending Sync hangs.
#[test]
fn flush_without_sync_delivers_pending_responses() {
    use std::io::Write;
    let server = TestServer::start();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();

    let mut startup = Vec::new();
    startup.extend_from_slice(&196608u32.to_be_bytes());
    startup.extend_from_slice(b"user\0test\0database\0grizzly\0\0");
    let mut out = ((startup.len() + 4) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&startup);
    stream.write_all(&out).unwrap();
    read_until(&mut stream, b'Z');

    let mut out = Vec::new();
    message(&mut out, b'P', b"\0SELECT 41 + 1\0\0\0");
    message(&mut out, b'H', b"");
    stream.write_all(&out).unwrap();
    assert_eq!(
        read_until(&mut stream, b'1'),
        vec![b'1'],
        "ParseComplete on Flush"
    );

    let mut out = Vec::new();
    message(&mut out, b'B', b"\0\0\0\0\0\0\0\0");
    message(&mut out, b'E', b"\0\0\0\0\0");
    message(&mut out, b'H', b"");
    stream.write_all(&out).unwrap();
    assert_eq!(
        read_until(&mut stream, b'C'),
        vec![b'2', b'D', b'C'],
        "BindComplete, DataRow, CommandComplete on Flush"
    );

    let mut out = Vec::new();
    message(&mut out, b'S', b"");
    stream.write_all(&out).unwrap();
    assert_eq!(read_until(&mut stream, b'Z'), vec![b'Z']);
}

/// Statements parsed from the same text are planned once per session and reused; a
/// table dropped and created again with other columns must be planned anew.
#[tokio::test(flavor = "multi_thread")]
async fn reused_plans_follow_table_changes() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (a int); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    for _ in 0..3 {
        let rows = client.query("SELECT * FROM t", &[]).await.unwrap();
        assert_eq!(rows[0].columns().len(), 1);
        client
            .execute("INSERT INTO t VALUES ($1)", &[&2i32])
            .await
            .unwrap();
    }
    client
        .batch_execute("DROP TABLE t; CREATE TABLE t (a int, b text)")
        .await
        .unwrap();
    let err = client
        .execute("INSERT INTO t VALUES ($1)", &[&2i32])
        .await
        .map(|_| ());
    assert!(
        err.is_ok(),
        "INSERT with fewer values than columns: {err:?}"
    );
    let rows = client.query("SELECT * FROM t", &[]).await.unwrap();
    assert_eq!(rows.len(), 1, "only the row inserted after the re-create");
    assert_eq!(rows[0].columns().len(), 2, "the new table's columns");
}

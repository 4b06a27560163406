//! COPY FROM STDIN over the wire: text and CSV with their options, a malformed row that fails
//! the whole COPY and names its line, a large COPY committed atomically, and a COPY the client
//! aborts, which leaves no rows.

mod common;

use bytes::Bytes;
use common::{assert_usable, copy_in, count, sqlstate, TestServer};
use futures::{pin_mut, SinkExt};
use rust_decimal::Decimal;

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

    // Legacy option syntax, as psql's `\copy ... csv header` sends it.
    let n = copy_in(&client, "COPY t FROM STDIN CSV", "9,nine,9\n")
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = copy_in(
        &client,
        "COPY t FROM STDIN WITH CSV HEADER QUOTE '|'",
        "id,name,score\n10,|ten, quoted|,10\n",
    )
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
            (10, s("ten, quoted"), Some(10.0)),
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

/// Values are read as PostgreSQL reads them: numerics rounded half away from zero to the
/// column's scale, integers and dates with surrounding spaces or other spellings, and
/// out-of-range values refused with 22003 naming the line.
#[tokio::test(flavor = "multi_thread")]
async fn copy_values_follow_postgresql_input_rules() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE v (i int, n numeric(5,2), d date, b bigint)")
        .await
        .unwrap();
    let n = copy_in(
        &client,
        "COPY v FROM STDIN WITH (FORMAT csv)",
        "1,1.005,1999-01-08, 7 \n-2,-1.005,1999-1-8,-9223372036854775808\n3,\"2.5e1\",,\n",
    )
    .await
    .unwrap();
    assert_eq!(n, 3);
    let rows = client
        .query("SELECT i, n::text, d::text, b FROM v ORDER BY i", &[])
        .await
        .unwrap();
    let got: Vec<(i32, String, Option<String>, Option<i64>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                -2,
                "-1.01".into(),
                Some("1999-01-08".into()),
                Some(i64::MIN)
            ),
            (1, "1.01".into(), Some("1999-01-08".into()), Some(7)),
            (3, "25.00".into(), None, None),
        ]
    );

    for (data, line, what) in [
        (
            "1,1,2000-01-01,1\n2147483648,1,2000-01-01,1\n",
            2,
            "integer overflow",
        ),
        (
            "1,999.995,2000-01-01,1\n",
            1,
            "numeric rounding past its precision",
        ),
    ] {
        let err = copy_in(&client, "COPY v FROM STDIN WITH (FORMAT csv)", data)
            .await
            .expect_err(what);
        assert_eq!(sqlstate(&err, what), "22003", "{err:?}");
        assert!(
            names_line(&err, line),
            "{what} should name line {line}: {err:?}"
        );
    }
    let err = copy_in(&client, "COPY v FROM STDIN", "1\t1\tnot a date\t1\n")
        .await
        .expect_err("a bad date");
    assert_eq!(sqlstate(&err, "bad date"), "22P02", "{err:?}");
    assert_eq!(count(&client, "v").await, 3, "failed COPYs add nothing");
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

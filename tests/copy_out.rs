//! COPY … TO STDOUT over the wire: a table or a query, in text, CSV and binary, round-trips
//! through COPY FROM; an error or a cancel in the middle of a copy ends it with an error and
//! leaves the session usable.

mod common;

use bytes::{Buf, Bytes, BytesMut};
use common::{assert_usable, copy_in, sqlstate, TestServer};
use futures::{pin_mut, StreamExt, TryStreamExt};
use tokio_postgres::Client;

async fn copy_out(client: &Client, sql: &str) -> Result<Vec<u8>, tokio_postgres::Error> {
    let stream = client.copy_out(sql).await?;
    pin_mut!(stream);
    let mut out = BytesMut::new();
    while let Some(chunk) = stream.try_next().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out.to_vec())
}

async fn copy_out_text(client: &Client, sql: &str) -> String {
    String::from_utf8(copy_out(client, sql).await.unwrap()).unwrap()
}

async fn table_with_awkward_values(client: &Client) {
    client
        .batch_execute(
            "CREATE TABLE t (id int NOT NULL, name text, amount numeric(10,2), day date, \
             at timestamptz, ok boolean, raw bytea);
             INSERT INTO t VALUES
               (1, 'plain', 1.50, '2024-01-02', '2024-01-02 03:04:05.5+00', true, '\\x0102'),
               (2, NULL, NULL, NULL, NULL, NULL, NULL),
               (3, 'tab\there, \"quoted\"', -0.01, '1900-03-15', '2024-06-30 23:59:59+00', false, ''),
               (4, 'back\\slash and
newline', 0, '2000-01-01', '1999-12-31 00:00:00+00', true, '\\xff'),
               (5, '', 7, '2024-02-29', '2024-02-29 12:00:00+00', false, '\\x00')",
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_to_in_text_and_csv_matches_postgresql() {
    let server = TestServer::start();
    let client = server.client().await;
    table_with_awkward_values(&client).await;

    let text = copy_out_text(&client, "COPY (SELECT * FROM t ORDER BY id) TO STDOUT").await;
    assert_eq!(
        text,
        "1\tplain\t1.50\t2024-01-02\t2024-01-02 03:04:05.5+00\tt\t\\\\x0102\n\
         2\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n\
         3\ttab\\there, \"quoted\"\t-0.01\t1900-03-15\t2024-06-30 23:59:59+00\tf\t\\\\x\n\
         4\tback\\\\slash and\\nnewline\t0.00\t2000-01-01\t1999-12-31 00:00:00+00\tt\t\\\\xff\n\
         5\t\t7.00\t2024-02-29\t2024-02-29 12:00:00+00\tf\t\\\\x00\n"
    );

    let csv = copy_out_text(
        &client,
        "COPY (SELECT id, name, amount FROM t ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)",
    )
    .await;
    assert_eq!(
        csv,
        "id,name,amount\n\
         1,plain,1.50\n\
         2,,\n\
         3,\"tab\there, \"\"quoted\"\"\",-0.01\n\
         4,\"back\\slash and\nnewline\",0.00\n\
         5,\"\",7.00\n"
    );

    // A table with a column list, and the legacy option syntax psql's \copy sends.
    let some = copy_out_text(&client, "COPY t (name, id) TO STDOUT WITH CSV").await;
    let mut lines: Vec<&str> = some.lines().collect();
    lines.sort();
    assert_eq!(lines.first(), Some(&"\"\",5"));
    assert_eq!(
        lines.len(),
        6,
        "a quoted line break makes one more line: {some:?}"
    );

    let semicolons = copy_out_text(
        &client,
        "COPY (SELECT id, name FROM t WHERE id IN (1, 2, 5) ORDER BY id) TO STDOUT \
         WITH (FORMAT csv, DELIMITER ';', NULL 'NA')",
    )
    .await;
    assert_eq!(semicolons, "1;plain\n2;NA\n5;\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_to_round_trips_through_copy_from() {
    let server = TestServer::start();
    let client = server.client().await;
    table_with_awkward_values(&client).await;
    let columns = "id int NOT NULL, name text, amount numeric(10,2), day date, at timestamptz, \
                   ok boolean, raw bytea";
    client
        .batch_execute(&format!(
            "CREATE TABLE text_copy ({columns}); CREATE TABLE csv_copy ({columns})"
        ))
        .await
        .unwrap();
    for (table, options) in [("text_copy", ""), ("csv_copy", " WITH (FORMAT csv)")] {
        let data = copy_out_text(&client, &format!("COPY t TO STDOUT{options}")).await;
        let n = copy_in(&client, &format!("COPY {table} FROM STDIN{options}"), &data)
            .await
            .unwrap();
        assert_eq!(n, 5);
        let differ = client
            .query_one(
                &format!("SELECT count(*) FROM (SELECT * FROM t EXCEPT SELECT * FROM {table}) d"),
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(differ, 0, "{table} holds what t holds");
        let nulls = client
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE name IS NULL"),
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(nulls, 1, "NULL and the empty string stay apart in {table}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_to_in_binary_follows_the_postgresql_layout() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE b (id bigint, name text, x double precision);
             INSERT INTO b VALUES (1, 'one', 0.5), (2, NULL, -1)",
        )
        .await
        .unwrap();
    let data = copy_out(
        &client,
        "COPY (SELECT * FROM b ORDER BY id) TO STDOUT (FORMAT binary)",
    )
    .await
    .unwrap();
    let mut data = Bytes::from(data);
    assert_eq!(&data[..11], b"PGCOPY\n\xff\r\n\0");
    data.advance(11);
    assert_eq!(data.get_i32(), 0, "flags");
    assert_eq!(data.get_i32(), 0, "header extension");
    let mut rows = Vec::new();
    loop {
        let fields = data.get_i16();
        if fields == -1 {
            break;
        }
        assert_eq!(fields, 3);
        let id = {
            assert_eq!(data.get_i32(), 8);
            data.get_i64()
        };
        let name = match data.get_i32() {
            -1 => None,
            len => Some(String::from_utf8(data.split_to(len as usize).to_vec()).unwrap()),
        };
        assert_eq!(data.get_i32(), 8);
        let x = data.get_f64();
        rows.push((id, name, x));
    }
    assert!(data.is_empty(), "nothing after the trailer");
    assert_eq!(
        rows,
        vec![(1, Some("one".to_string()), 0.5), (2, None, -1.0)]
    );

    // An empty result is a header and a trailer, and COPY 0.
    let empty = copy_out(
        &client,
        "COPY (SELECT * FROM b WHERE id > 9) TO STDOUT (FORMAT binary)",
    )
    .await
    .unwrap();
    assert_eq!(empty.len(), 19 + 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_to_errors_and_cancels_leave_the_session_usable() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int, s text); INSERT INTO t VALUES (1, 'a'), (0, 'b')")
        .await
        .unwrap();

    let missing = copy_out(&client, "COPY nope TO STDOUT").await.unwrap_err();
    assert_eq!(sqlstate(&missing, "a missing table"), "42P01");
    let file = copy_out(&client, "COPY t TO '/tmp/x'").await.unwrap_err();
    assert_eq!(sqlstate(&file, "a server-side file"), "0A000");
    // An error the query hits while rows are being copied.
    let failing = copy_out(&client, "COPY (SELECT 10 / id FROM t) TO STDOUT")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&failing, "division by zero mid-copy"), "22012");
    assert_usable(&client).await;

    // A copy stopped by statement_timeout while it streams.
    client
        .batch_execute("SET statement_timeout = '300ms'")
        .await
        .unwrap();
    let stream = client
        .copy_out("COPY (SELECT * FROM generate_series(1, 2000000000)) TO STDOUT")
        .await;
    let err = match stream {
        Err(err) => err,
        Ok(stream) => {
            pin_mut!(stream);
            loop {
                match stream.next().await {
                    Some(Ok(_)) => continue,
                    Some(Err(err)) => break err,
                    None => panic!("a two-billion-row copy finished within its timeout"),
                }
            }
        }
    };
    assert_eq!(sqlstate(&err, "a copy over its statement_timeout"), "57014");
    client
        .batch_execute("SET statement_timeout = 0")
        .await
        .unwrap();
    assert_usable(&client).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_copy_round_trips_every_type() {
    let server = TestServer::start();
    let client = server.client().await;
    table_with_awkward_values(&client).await;
    client
        .batch_execute(
            "CREATE TABLE b (id int NOT NULL, name text, amount numeric(10,2), day date, \
             at timestamptz, ok boolean, raw bytea)",
        )
        .await
        .unwrap();
    let data = copy_out(&client, "COPY t TO STDOUT (FORMAT binary)")
        .await
        .unwrap();
    let sink = client
        .copy_in("COPY b FROM STDIN (FORMAT binary)")
        .await
        .unwrap();
    futures::pin_mut!(sink);
    futures::SinkExt::send(&mut sink, Bytes::from(data.clone()))
        .await
        .unwrap();
    assert_eq!(sink.finish().await.unwrap(), 5);
    let differ: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT * FROM t EXCEPT SELECT * FROM b) d",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(differ, 0);

    // Data cut before its end marker commits nothing.
    let sink = client
        .copy_in("COPY b FROM STDIN (FORMAT binary)")
        .await
        .unwrap();
    futures::pin_mut!(sink);
    futures::SinkExt::send(&mut sink, Bytes::from(data[..data.len() - 2].to_vec()))
        .await
        .unwrap();
    let err = sink.finish().await.unwrap_err();
    assert_eq!(
        sqlstate(&err, "binary data without its end marker"),
        "22P04"
    );
    assert_usable(&client).await;
    let rows: i64 = client
        .query_one("SELECT count(*) FROM b", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 5);
}

//! Time travel through the extended protocol: a `$n` parameter as the AS OF time (typed
//! timestamptz, bound per execution, next to ordinary parameters), and a prepared
//! statement whose time is `now()`, which must be evaluated at each execution, not at
//! Parse.

mod common;

use chrono::{DateTime, Utc};
use common::TestServer;
use tokio_postgres::types::Type;

#[tokio::test(flavor = "multi_thread")]
async fn as_of_parameters_are_bound_at_each_execution() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t (id int, v text)")
        .await
        .unwrap();
    let mut times: Vec<DateTime<Utc>> = Vec::new();
    for i in 1..=5 {
        client
            .execute("INSERT INTO t VALUES ($1, 'x')", &[&i])
            .await
            .unwrap();
        times.push(client.query_one("SELECT now()", &[]).await.unwrap().get(0));
    }

    let at = client
        .prepare("SELECT count(*) FROM t AS OF TIMESTAMP $1 WHERE id > $2")
        .await
        .unwrap();
    assert_eq!(at.params(), &[Type::TIMESTAMPTZ, Type::INT4]);
    for (index, time) in times.iter().enumerate() {
        let count: i64 = client.query_one(&at, &[time, &0i32]).await.unwrap().get(0);
        assert_eq!(count, index as i64 + 1, "rows as of commit {}", index + 1);
        let count: i64 = client.query_one(&at, &[time, &2i32]).await.unwrap().get(0);
        assert_eq!(count, (index as i64 - 1).max(0), "rows with id > 2");
    }

    // SQL:2011 spelling, and a NULL time is an error naming AS OF.
    let sql2011 = client
        .prepare("SELECT max(id) FROM t FOR SYSTEM_TIME AS OF $1")
        .await
        .unwrap();
    let max: i32 = client
        .query_one(&sql2011, &[&times[1]])
        .await
        .unwrap()
        .get(0);
    assert_eq!(max, 2);
    let none: Option<DateTime<Utc>> = None;
    let err = client.query_one(&sql2011, &[&none]).await.unwrap_err();
    let err = err.as_db_error().expect("a server error");
    assert_eq!(err.code().code(), "22023");
    assert!(
        err.message().contains("AS OF needs a timestamp"),
        "{}",
        err.message()
    );

    // `$0` is no parameter: an error, and the session goes on.
    let err = client
        .simple_query("SELECT count(*) FROM t AS OF TIMESTAMP $0")
        .await
        .unwrap_err();
    assert!(
        err.as_db_error().is_some(),
        "a server error, not a lost connection: {err}"
    );
    common::assert_usable(&client).await;

    // `now()` in a prepared statement is the time of each execution.
    let now = client
        .prepare("SELECT count(*) FROM t AS OF TIMESTAMP now()")
        .await
        .unwrap();
    let before: i64 = client.query_one(&now, &[]).await.unwrap().get(0);
    client
        .execute("INSERT INTO t VALUES (6, 'y')", &[])
        .await
        .unwrap();
    let after: i64 = client.query_one(&now, &[]).await.unwrap().get(0);
    assert_eq!((before, after), (5, 6));

    // A parameter time at which the table had other columns than those described at
    // Prepare is refused rather than sent under the wrong description.
    client
        .batch_execute("DROP TABLE t; CREATE TABLE t (id text)")
        .await
        .unwrap();
    let rows = client
        .prepare("SELECT * FROM t AS OF TIMESTAMP $1")
        .await
        .unwrap();
    let err = client.query(&rows, &[&times[0]]).await.unwrap_err();
    assert_eq!(err.as_db_error().map(|e| e.code().code()), Some("22023"));
    let literal = format!(
        "SELECT * FROM t AS OF TIMESTAMP '{}'",
        times[0].to_rfc3339()
    );
    let old = client.simple_query(&literal).await.unwrap();
    assert_eq!(
        common::simple_rows(&old),
        vec![vec![Some("1".to_string()), Some("x".to_string())]]
    );
}

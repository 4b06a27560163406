//! pg_catalog across restarts: clients keep OIDs (JDBC caches them, tools store them), so a
//! table's OID must not change when the server restarts or other tables come and go.

mod common;

use common::TestServer;
use tokio_postgres::Client;

async fn oids(client: &Client) -> Vec<(String, u32)> {
    client
        .query(
            "SELECT c.relname, c.oid FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' ORDER BY c.relname",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get::<_, i32>(1) as u32))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn table_oids_survive_restarts_and_other_tables() {
    let mut server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE zebra (id int); CREATE TABLE apple (id int); \
             CREATE TABLE mango (id int); DROP TABLE mango",
        )
        .await
        .unwrap();
    let before = oids(&client).await;
    assert_eq!(before.len(), 2, "{before:?}");
    drop(client);

    server.restart();
    let client = server.client().await;
    assert_eq!(oids(&client).await, before, "OIDs after a restart");

    // A new table sorting between the two, after a dropped one: the others keep theirs,
    // and the new one gets an OID no table had.
    client
        .batch_execute("CREATE TABLE banana (id int)")
        .await
        .unwrap();
    let after = oids(&client).await;
    for (name, oid) in &before {
        assert!(
            after.contains(&(name.clone(), *oid)),
            "{name} kept {oid}: {after:?}"
        );
    }
    let banana = after.iter().find(|(n, _)| n == "banana").unwrap().1;
    assert!(before.iter().all(|(_, oid)| banana > *oid), "{after:?}");

    // Two sessions agree, whatever each read first.
    let other = server.client().await;
    other
        .query("SELECT * FROM pg_catalog.pg_attribute", &[])
        .await
        .unwrap();
    assert_eq!(oids(&other).await, after);
}

/// Catalog queries are rewritten to run on DataFusion; a user's statement sent in the
/// same query string is not: it answers exactly as when sent alone.
#[tokio::test(flavor = "multi_thread")]
async fn rewrites_of_catalog_queries_leave_user_statements_alone() {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE t1 (a int); CREATE TABLE t2 (a int, b int); INSERT INTO t1 VALUES (1); INSERT INTO t2 VALUES (1, 10), (1, 20)")
        .await
        .unwrap();
    // A scalar subquery with two rows: the catalog rewrite would take its max.
    let user = "SELECT (SELECT b FROM t2 WHERE t2.a = t1.a) AS v FROM t1";
    let alone = client
        .simple_query(user)
        .await
        .map(|m| common::simple_rows(&m))
        .map_err(|e| e.to_string());
    let together = client
        .simple_query(&format!(
            "SELECT relname FROM pg_catalog.pg_class WHERE false; {user}"
        ))
        .await
        .map(|m| common::simple_rows(&m))
        .map_err(|e| e.to_string());
    assert_eq!(together, alone);
}

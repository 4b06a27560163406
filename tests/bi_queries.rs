//! The catalog queries BI tools send (Metabase, Grafana, DBeaver, Superset, Tableau;
//! collected with their sources in `integration/bi_queries/`), replayed against the real
//! server: each must run, except the few listed in `KNOWN_GAPS` with the reason, which
//! must still fail (so a fixed one is noticed and taken off the list). Each query also
//! runs on PostgreSQL 15 without error (see the folder's README).

mod common;

use common::TestServer;

/// (tool, query number in its file from 1, why it fails on Grizzly).
const KNOWN_GAPS: &[(&str, usize, &str)] = &[];

/// The queries of one file: each follows a `-- <tool>: …` line.
fn queries(tool: &str, text: &str) -> Vec<String> {
    let marker = format!("-- {tool}:");
    let mut queries: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with(&marker) {
            queries.push(String::new());
        } else if let Some(query) = queries.last_mut() {
            query.push_str(line);
            query.push('\n');
        }
    }
    queries.retain(|q| !q.trim().is_empty());
    queries
}

/// The queries of `integration/bi_queries/<tool>.sql`.
fn tool_queries(tool: &str) -> Vec<String> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/bi_queries");
    let text = std::fs::read_to_string(folder.join(format!("{tool}.sql"))).unwrap();
    queries(tool, &text)
}

/// A server with the table the queries were written for.
async fn server_with_bi_orders() -> (TestServer, tokio_postgres::Client) {
    let server = TestServer::start();
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE bi_orders (id bigint NOT NULL, customer varchar(20), \
             amount numeric(10,2) DEFAULT 0, placed date, at timestamptz)",
        )
        .await
        .unwrap();
    (server, client)
}

#[tokio::test(flavor = "multi_thread")]
async fn bi_tool_catalog_queries_run() {
    let (_server, client) = server_with_bi_orders().await;
    let mut problems = Vec::new();
    let mut ran = 0;
    for tool in ["metabase", "grafana", "dbeaver", "superset", "tableau"] {
        let queries = tool_queries(tool);
        assert!(queries.len() >= 5, "{tool}: only {} queries", queries.len());
        for (i, query) in queries.iter().enumerate() {
            let number = i + 1;
            let gap = KNOWN_GAPS
                .iter()
                .find(|(t, n, _)| *t == tool && *n == number);
            let result = client.simple_query(query).await;
            ran += 1;
            match (result, gap) {
                (Ok(_), None) | (Err(_), Some(_)) => {}
                (Err(err), None) => {
                    problems.push(format!("{tool} #{number} failed: {err}\n{query}"))
                }
                (Ok(_), Some((_, _, why))) => problems.push(format!(
                    "{tool} #{number} now runs (it was a known gap: {why}); take it off KNOWN_GAPS"
                )),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {ran} queries:\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// Grafana lists tables on the search path unqualified and reads their columns through
/// a subquery over `current_setting('search_path')`: PostgreSQL's answers, not empty
/// ones.
#[tokio::test(flavor = "multi_thread")]
async fn grafana_sees_the_tables_on_the_search_path() {
    let (_server, client) = server_with_bi_orders().await;
    let queries = tool_queries("grafana");
    let rows = |messages: Vec<tokio_postgres::SimpleQueryMessage>| -> Vec<Vec<String>> {
        common::simple_rows(&messages)
            .into_iter()
            .map(|row| row.into_iter().map(|v| v.unwrap_or_default()).collect())
            .collect()
    };
    let tables = rows(client.simple_query(&queries[4]).await.unwrap());
    assert_eq!(tables, vec![vec!["bi_orders".to_string()]]);
    let columns = rows(client.simple_query(&queries[5]).await.unwrap());
    assert_eq!(
        columns,
        [
            ["id", "bigint"],
            ["customer", "character varying"],
            ["amount", "numeric"],
            ["placed", "date"],
            ["at", "timestamp with time zone"],
        ]
        .map(|r| r.map(String::from).to_vec())
        .to_vec()
    );
}

//! Starting the real `grizzly` binary for end-to-end tests: on 127.0.0.1:0, with a
//! temporary data directory, reached over real sockets with tokio-postgres.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use futures::{pin_mut, SinkExt};
use tokio_postgres::{Client, SimpleQueryMessage};

pub struct TestServer {
    child: Option<Child>,
    pub port: u16,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// Tests see the blocks they make: background compaction is off unless a test turns it
/// on (`start_with`).
const DEFAULT_ARGS: [&str; 2] = ["--compact-min-blocks", "0"];

impl TestServer {
    /// Starts a server on a fresh, empty data directory.
    pub fn start() -> TestServer {
        TestServer::start_with(&DEFAULT_ARGS)
    }

    /// Starts a server on a fresh, empty data directory with these command-line flags.
    pub fn start_with(args: &[&str]) -> TestServer {
        TestServer::start_with_env(args, &[])
    }

    /// Starts a server on a fresh, empty data directory with these flags and
    /// environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> TestServer {
        let temp = tempfile::tempdir().expect("temporary directory");
        let data_dir = temp.path().join("data");
        let mut server = TestServer {
            child: None,
            port: 0,
            data_dir,
            _temp: Some(temp),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        server.spawn();
        server
    }

    /// Starts a server on an existing data directory, which the caller keeps.
    pub fn open(data_dir: &Path) -> TestServer {
        let mut server = TestServer {
            child: None,
            port: 0,
            data_dir: data_dir.to_path_buf(),
            _temp: None,
            args: DEFAULT_ARGS.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
        };
        server.spawn();
        server
    }

    /// Stops the server cleanly (flushing memtables to blocks) and starts it again.
    pub fn restart_clean(&mut self) {
        assert!(self.stop(), "grizzly exits cleanly on SIGTERM");
        self.spawn();
    }

    /// Starts the server again after `kill` or `stop`.
    pub fn start_again(&mut self) {
        self.spawn();
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn spawn(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_grizzly"))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--log")
            .arg("warn")
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start grizzly");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let address = line
            .split_whitespace()
            .nth(3)
            .unwrap_or_else(|| panic!("unexpected first line from grizzly: {line:?}"));
        self.port = address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        self.child = Some(child);
    }

    pub fn connection_string(&self) -> String {
        format!("host=127.0.0.1 port={} user=test dbname=grizzly", self.port)
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.connection_string(), tokio_postgres::NoTls)
                .await
                .expect("connect to grizzly");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// A client whose server NOTICE messages arrive on the returned channel.
    pub async fn client_with_notices(
        &self,
    ) -> (
        tokio_postgres::Client,
        tokio::sync::mpsc::UnboundedReceiver<String>,
    ) {
        let (client, mut connection) =
            tokio_postgres::connect(&self.connection_string(), tokio_postgres::NoTls)
                .await
                .expect("connect to grizzly");
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(Ok(message)) = futures::StreamExt::next(&mut messages).await {
                if let tokio_postgres::AsyncMessage::Notice(notice) = message {
                    let _ = sender.send(notice.message().to_string());
                }
            }
        });
        (client, receiver)
    }

    /// SIGKILL: no shutdown, no flush; what survives is what was made durable.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// Starts the server again on the same data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------
// Helpers shared by the protocol, COPY and recovery tests
// ---------------------------------------------------------------------------------------

/// The SQLSTATE of a server error; panics (naming `what`) if the error is not one.
pub fn sqlstate(err: &tokio_postgres::Error, what: &str) -> String {
    match err.as_db_error() {
        Some(db) => db.code().code().to_string(),
        None => panic!("{what}: expected an ErrorResponse, got {err:?}"),
    }
}

/// Runs `sql` in the simple protocol, expecting an error with `code`.
pub async fn expect_simple_error(client: &Client, sql: &str, code: &str) {
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
pub async fn assert_usable(client: &Client) {
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

pub async fn count(client: &Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e:?}"))
        .get(0)
}

/// The rows of a simple-protocol response, as text.
pub fn simple_rows(messages: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
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
pub async fn copy_in(client: &Client, sql: &str, data: &str) -> Result<u64, tokio_postgres::Error> {
    let sink = client.copy_in::<_, Bytes>(sql).await?;
    pin_mut!(sink);
    sink.send(Bytes::copy_from_slice(data.as_bytes())).await?;
    sink.finish().await
}

/// A table's block count and the rows in its blocks (`grizzly_blocks`).
pub async fn blocks(client: &Client, table: &str) -> (i64, i64) {
    let row = client
        .query_one(
            &format!(
                "SELECT count(*), coalesce(sum(rows), 0)::bigint FROM grizzly_blocks('{table}')"
            ),
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// Every file under `dir`, recursively.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The plan text of `EXPLAIN ANALYZE <sql>`, with its run-time metrics.
pub async fn explain_analyze(client: &Client, sql: &str) -> String {
    client
        .simple_query(&format!("EXPLAIN ANALYZE {sql}"))
        .await
        .unwrap()
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(1).map(str::to_string),
            _ => None,
        })
        .collect()
}

/// The metric `name=N total → M matched` from EXPLAIN ANALYZE output, as (N, M).
pub fn pruning(plan: &str, name: &str) -> (u64, u64) {
    let start = plan
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("no {name} in plan:\n{plan}"));
    let numbers: Vec<u64> = plan[start + name.len() + 1..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(2)
        .map(|s| s.parse().unwrap())
        .collect();
    (numbers[0], numbers[1])
}

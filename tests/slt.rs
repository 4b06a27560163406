//! The SQL specification: every `sql/**/*.slt` file (sqllogictest format) runs against a fresh
//! Grizzly over real sockets, twice — once over the simple query protocol and once over the
//! extended protocol (Parse/Bind/Describe/Execute/Sync, binary results) — and both must print
//! exactly what PostgreSQL would.
//!
//! - Simple: values are the text the server sent.
//! - Extended: values arrive in binary; [`render`] decodes each by its column type and prints it
//!   the way PostgreSQL's text output would (session TimeZone assumed to be UTC).
//!
//! In both, NULL prints as `NULL` and the empty string as `(empty)`. Errors read
//! `<SQLSTATE>: <message>`, so `statement error 42P01: relation "t" does not exist` checks the code
//! and the message, and `statement error does not exist` just the message. Records may be limited
//! to one protocol with `onlyif simple` / `onlyif extended`.
//!
//! A `statement ok` of the form `\set name <query>` stores the query's one value in a variable
//! that records after `control substitution on` read as `${name}` (see [`capture`]).
//!
//! Every record of every file runs even after a failure, and the test fails at the end listing
//! all of them. `GRIZZLY_SLT_FILTER=joins cargo test --test slt` runs the files whose path
//! contains `joins`.

mod common;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use rust_decimal::Decimal;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Record, Runner};
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Client, Row, SimpleQueryMessage};

use common::TestServer;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Protocol {
    Simple,
    Extended,
}

impl Protocol {
    fn label(self) -> &'static str {
        match self {
            Protocol::Simple => "simple",
            Protocol::Extended => "extended",
        }
    }
}

/// One session, speaking one protocol.
struct Session {
    client: Client,
    protocol: Protocol,
}

/// A failed statement: the server's SQLSTATE and message, or what went wrong client-side.
#[derive(Debug)]
struct SqlError(String);

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SqlError {}

impl From<tokio_postgres::Error> for SqlError {
    fn from(err: tokio_postgres::Error) -> Self {
        match err.as_db_error() {
            Some(db) => SqlError(format!("{}: {}", db.code().code(), db.message())),
            None => {
                let cause = std::error::Error::source(&err)
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                SqlError(format!("client error: {err}{cause}"))
            }
        }
    }
}

type Output = DBOutput<DefaultColumnType>;

#[async_trait]
impl AsyncDB for Session {
    type Error = SqlError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<Output, SqlError> {
        match self.protocol {
            Protocol::Simple => self.run_simple(sql).await,
            Protocol::Extended => self.run_extended(sql).await,
        }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        self.protocol.label()
    }
}

impl Session {
    async fn run_simple(&self, sql: &str) -> Result<Output, SqlError> {
        let (mut columns, mut rows, mut count) = (None, Vec::new(), 0);
        for message in self.client.simple_query(sql).await? {
            match message {
                SimpleQueryMessage::RowDescription(description) => {
                    columns = Some(description.len())
                }
                SimpleQueryMessage::Row(row) => rows.push(
                    (0..row.len())
                        .map(|i| show(row.get(i).map(str::to_owned)))
                        .collect(),
                ),
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        Ok(match columns {
            Some(n) => DBOutput::Rows {
                types: vec![DefaultColumnType::Any; n],
                rows,
            },
            None => DBOutput::StatementComplete(count),
        })
    }

    async fn run_extended(&self, sql: &str) -> Result<Output, SqlError> {
        let statement = self.client.prepare(sql).await?;
        if statement.columns().is_empty() {
            return Ok(DBOutput::StatementComplete(
                self.client.execute(&statement, &[]).await?,
            ));
        }
        let types = vec![DefaultColumnType::Any; statement.columns().len()];
        let rows = self.client.query(&statement, &[]).await?;
        let rows = rows.iter().map(render_row).collect::<Result<_, _>>()?;
        Ok(DBOutput::Rows { types, rows })
    }
}

/// NULL and the empty string, made visible.
fn show(value: Option<String>) -> String {
    match value {
        None => "NULL".into(),
        Some(v) if v.is_empty() => "(empty)".into(),
        Some(v) => v,
    }
}

fn render_row(row: &Row) -> Result<Vec<String>, SqlError> {
    (0..row.len()).map(|i| render(row, i).map(show)).collect()
}

/// One binary value printed as PostgreSQL's text output function would print it.
fn render(row: &Row, i: usize) -> Result<Option<String>, SqlError> {
    fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<Option<T>, SqlError> {
        Ok(row.try_get::<_, Option<T>>(i)?)
    }
    let ty = row.columns()[i].type_().clone();
    Ok(match ty {
        Type::BOOL => get::<bool>(row, i)?.map(|b| if b { "t" } else { "f" }.to_string()),
        Type::INT2 => get::<i16>(row, i)?.map(|v| v.to_string()),
        Type::INT4 => get::<i32>(row, i)?.map(|v| v.to_string()),
        Type::INT8 => get::<i64>(row, i)?.map(|v| v.to_string()),
        Type::FLOAT4 => get::<f32>(row, i)?.map(|v| float(v.to_string(), format!("{v:e}"), 6)),
        Type::FLOAT8 => get::<f64>(row, i)?.map(|v| float(v.to_string(), format!("{v:e}"), 15)),
        Type::NUMERIC => get::<Decimal>(row, i)?.map(|v| v.to_string()),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => get::<String>(row, i)?,
        Type::BYTEA => get::<Vec<u8>>(row, i)?.map(|bytes| {
            bytes
                .iter()
                .fold("\\x".to_string(), |hex, b| hex + &format!("{b:02x}"))
        }),
        Type::DATE => get::<NaiveDate>(row, i)?.map(|d| d.format("%Y-%m-%d").to_string()),
        Type::TIME => {
            get::<NaiveTime>(row, i)?.map(|t| t.format("%H:%M:%S").to_string() + &micros(t))
        }
        Type::TIMESTAMP => get::<NaiveDateTime>(row, i)?.map(timestamp),
        Type::TIMESTAMPTZ => {
            get::<DateTime<Utc>>(row, i)?.map(|t| timestamp(t.naive_utc()) + "+00")
        }
        other => return Err(SqlError(format!("the harness cannot print type {other}"))),
    })
}

fn timestamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string() + &micros(t.time())
}

/// `.123`, or nothing when the fraction is zero: PostgreSQL drops trailing zeros.
fn micros(t: NaiveTime) -> String {
    match t.nanosecond() / 1000 {
        0 => String::new(),
        us => format!(".{us:06}").trim_end_matches('0').to_string(),
    }
}

/// Rust's shortest round-trip digits, switched to exponent form (`1e+20`, `1.5e-07`) when the
/// decimal exponent is below -4 or at least `max_exp` (15 for float8, 6 for float4), as
/// PostgreSQL's float output does.
fn float(display: String, scientific: String, max_exp: i32) -> String {
    match display.as_str() {
        "NaN" => return display,
        "inf" => return "Infinity".into(),
        "-inf" => return "-Infinity".into(),
        _ => {}
    }
    let (mantissa, exponent) = scientific.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("integer exponent");
    if (-4..max_exp).contains(&exponent) {
        return display;
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// Every `.slt` file under `sql/`, sorted, restricted by `GRIZZLY_SLT_FILTER` if set.
fn slt_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read sql directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "slt") {
                files.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let filter = std::env::var("GRIZZLY_SLT_FILTER").unwrap_or_default();
    files.retain(|f| f.to_string_lossy().contains(&filter));
    files
}

/// Runs one file against a fresh server; returns every failed record.
async fn run_file(path: &Path, protocol: Protocol) -> Vec<String> {
    let server = TestServer::start();
    let connect = || async {
        let client = server.client().await;
        Ok::<_, SqlError>(Session { client, protocol })
    };
    let mut runner = Runner::new(connect);
    runner.add_label(protocol.label());
    runner.with_column_validator(|actual, expected| actual.len() == expected.len());
    let records = match sqllogictest::parse_file::<DefaultColumnType>(path) {
        Ok(records) => records,
        Err(err) => return vec![format!("cannot parse: {err}")],
    };
    let mut failures = Vec::new();
    for record in records {
        if let Record::Halt { .. } = record {
            break;
        }
        if let Some((name, sql)) = capture(&record) {
            match capture_value(&server, &sql).await {
                Ok(value) => runner.set_var(name, value),
                Err(err) => failures.push(format!("\\set {name}: {err}")),
            }
            continue;
        }
        if let Err(err) = runner.run_async(record).await {
            failures.push(err.to_string());
        }
    }
    failures
}

/// `statement ok` records of the form `\set name <query>` capture the query's single value
/// (as text, over a separate connection) into the variable `name`, which later records use
/// as `${name}` after `control substitution on`. Time-travel files use this to remember
/// the time of a commit.
fn capture(record: &Record<DefaultColumnType>) -> Option<(String, String)> {
    let Record::Statement { sql, .. } = record else {
        return None;
    };
    let rest = sql.trim_start().strip_prefix("\\set ")?;
    let (name, query) = rest.trim_start().split_once(char::is_whitespace)?;
    Some((name.to_string(), query.trim().to_string()))
}

async fn capture_value(server: &TestServer, sql: &str) -> Result<String, String> {
    let client = server.client().await;
    let messages = client.simple_query(sql).await.map_err(|e| e.to_string())?;
    let rows: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .collect();
    match rows.as_slice() {
        [row] if row.len() == 1 => row
            .get(0)
            .map(str::to_string)
            .ok_or_else(|| "the value is NULL".to_string()),
        _ => Err(format!(
            "expected one row of one value, got {} rows",
            rows.len()
        )),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sqllogictests() {
    let files = slt_files();
    assert!(
        !files.is_empty(),
        "no .slt files matched GRIZZLY_SLT_FILTER"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut passed, mut report) = (0, Vec::new());
    for path in &files {
        let name = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        let mut ok = true;
        for protocol in [Protocol::Simple, Protocol::Extended] {
            let failures = run_file(path, protocol).await;
            println!(
                "{name} [{}]: {}",
                protocol.label(),
                if failures.is_empty() { "ok" } else { "FAILED" }
            );
            ok &= failures.is_empty();
            report.extend(
                failures
                    .into_iter()
                    .map(|f| format!("{name} [{}]: {f}", protocol.label())),
            );
        }
        passed += ok as usize;
    }
    println!("{passed} of {} files passed in both protocols", files.len());
    assert!(
        report.is_empty(),
        "{} failure(s):\n\n{}",
        report.len(),
        report.join("\n")
    );
}

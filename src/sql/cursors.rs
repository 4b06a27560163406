//! Cursors: `DECLARE name CURSOR FOR query`, `FETCH`, `CLOSE`. psycopg2's named cursors
//! (and anyone reading a large result a page at a time) use them.
//!
//! A cursor holds its query's running stream and a batch it has begun; FETCH reads the
//! next rows from them, so a cursor never holds more than a batch in memory. Cursors only
//! move forward (PostgreSQL's NO SCROLL): FETCH BACKWARD, PRIOR, FIRST, ABSOLUTE and the
//! like are refused. As in PostgreSQL a cursor lives until CLOSE, and one without
//! `WITH HOLD` only until its transaction block ends (and may only be declared in one).

use std::collections::HashMap;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::sql::sqlparser::ast::{FetchDirection, Value, ValueWithSpan};
use futures::StreamExt;

use crate::error::{Error, Result};

pub struct Cursor {
    pub schema: SchemaRef,
    stream: SendableRecordBatchStream,
    /// The rest of a batch a FETCH took only the start of.
    pending: Option<RecordBatch>,
    /// `WITH HOLD`: the cursor outlives its transaction block.
    hold: bool,
}

impl Cursor {
    pub fn new(schema: SchemaRef, stream: SendableRecordBatchStream, hold: bool) -> Cursor {
        Cursor {
            schema,
            stream,
            pending: None,
            hold,
        }
    }

    /// The next `limit` rows (all that remain for `None`).
    pub async fn fetch(&mut self, limit: Option<usize>) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        let mut wanted = limit.unwrap_or(usize::MAX);
        while wanted > 0 {
            let batch = match self.pending.take() {
                Some(batch) => batch,
                None => match self.stream.next().await {
                    Some(batch) => batch?,
                    None => break,
                },
            };
            if batch.num_rows() > wanted {
                self.pending = Some(batch.slice(wanted, batch.num_rows() - wanted));
                batches.push(batch.slice(0, wanted));
                break;
            }
            wanted -= batch.num_rows();
            batches.push(batch);
        }
        Ok(batches)
    }
}

/// A session's open cursors, by name.
#[derive(Default)]
pub struct Cursors(HashMap<String, Cursor>);

impl Cursors {
    pub fn open(&mut self, name: String, cursor: Cursor) -> Result<()> {
        if self.0.contains_key(&name) {
            return Err(Error::DuplicateCursor(format!(
                "cursor \"{name}\" already exists"
            )));
        }
        self.0.insert(name, cursor);
        Ok(())
    }

    pub fn schema(&self, name: &str) -> Option<SchemaRef> {
        self.0.get(name).map(|cursor| cursor.schema.clone())
    }

    /// Takes the cursor out while it is read (FETCH awaits its query); `put_back`
    /// returns it.
    pub fn take(&mut self, name: &str) -> Result<Cursor> {
        self.0.remove(name).ok_or_else(|| not_found(name))
    }

    pub fn put_back(&mut self, name: String, cursor: Cursor) {
        self.0.insert(name, cursor);
    }

    pub fn close(&mut self, name: &str) -> Result<()> {
        self.0.remove(name).map(drop).ok_or_else(|| not_found(name))
    }

    pub fn close_all(&mut self) {
        self.0.clear();
    }

    /// At the end of a transaction block: cursors without `WITH HOLD` close.
    pub fn end_transaction(&mut self) {
        self.0.retain(|_, cursor| cursor.hold);
    }
}

fn not_found(name: &str) -> Error {
    Error::InvalidCursor(format!("cursor \"{name}\" does not exist"))
}

/// How many rows a FETCH reads (`None`: all that remain), for the forward directions.
pub fn fetch_count(direction: &FetchDirection) -> Result<Option<usize>> {
    let count = |limit: &ValueWithSpan| match &limit.value {
        Value::Number(n, _) => n.parse::<i64>().ok(),
        _ => None,
    };
    let rows = match direction {
        FetchDirection::Next | FetchDirection::Forward { limit: None } => 1,
        FetchDirection::All | FetchDirection::ForwardAll => return Ok(None),
        FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => {
            match count(limit) {
                Some(n) if n > 0 => n,
                Some(n) if n < 0 => return Err(backward()),
                _ => {
                    return Err(Error::Unsupported(format!(
                        "FETCH {limit} is not supported; fetch a positive number of rows"
                    )))
                }
            }
        }
        _ => return Err(backward()),
    };
    Ok(Some(rows as usize))
}

fn backward() -> Error {
    Error::NotInPrerequisiteState(
        "cursor can only scan forward: Grizzly's cursors are NO SCROLL; fetch forward, or \
         declare a new cursor to read again"
            .into(),
    )
}

//! The memtable: rows committed through the WAL but not yet flushed to a Parquet block.
//!
//! One per table. Entries are kept in LSN order, each a record batch in the table's
//! physical schema plus the hidden commit-timestamp column. Scans read a snapshot of the
//! entries (cheap: batches are reference counted). A flush copies the entries up to an
//! LSN into a block and, once the manifest has committed the block, removes them; until
//! then scans keep seeing them here, so rows are never invisible nor visible twice.

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::SchemaRef;

use crate::error::Result;

#[derive(Debug, Clone)]
pub struct MemEntry {
    pub lsn: u64,
    pub commit_ts: i64,
    pub rows: RecordBatch,
}

#[derive(Debug, Default)]
pub struct Memtable {
    entries: Vec<MemEntry>,
    bytes: usize,
    oldest: Option<Instant>,
}

impl Memtable {
    /// Adds one commit's rows (physical schema, without the timestamp column).
    pub fn insert(
        &mut self,
        lsn: u64,
        commit_ts: i64,
        rows: &RecordBatch,
        schema_with_ts: &SchemaRef,
    ) -> Result<()> {
        let ts = Arc::new(Int64Array::from_value(commit_ts, rows.num_rows()));
        let mut columns = rows.columns().to_vec();
        columns.push(ts);
        let rows = RecordBatch::try_new(schema_with_ts.clone(), columns)?;
        self.bytes += rows.get_array_memory_size();
        self.oldest.get_or_insert_with(Instant::now);
        self.entries.push(MemEntry {
            lsn,
            commit_ts,
            rows,
        });
        Ok(())
    }

    /// Rows of every entry, in commit order.
    pub fn snapshot(&self) -> Vec<RecordBatch> {
        self.entries.iter().map(|e| e.rows.clone()).collect()
    }

    /// The entries a flush would write now.
    pub fn entries(&self) -> &[MemEntry] {
        &self.entries
    }

    /// Removes entries with LSN <= `lsn` (they are in a committed block now).
    pub fn remove_up_to(&mut self, lsn: u64) {
        self.entries.retain(|e| e.lsn > lsn);
        self.bytes = self
            .entries
            .iter()
            .map(|e| e.rows.get_array_memory_size())
            .sum();
        if self.entries.is_empty() {
            self.oldest = None;
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// When the oldest entry still here was added.
    pub fn oldest(&self) -> Option<Instant> {
        self.oldest
    }

    /// The lowest LSN still only in the WAL, if any.
    pub fn first_lsn(&self) -> Option<u64> {
        self.entries.first().map(|e| e.lsn)
    }
}

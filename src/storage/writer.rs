//! `TableWriter`: the one way rows get into a table (INSERT, INSERT…SELECT, COPY).
//!
//! Rows arrive as record batches in the table's user schema. The writer checks them
//! against the table's constraints (NOT NULL, varchar length), renames their columns to
//! the stable physical names, and buffers them. A write that stays small commits through
//! the WAL as one record. A write that grows past `Config::bulk_spill_bytes` streams its
//! rows into staged Parquet blocks instead, so its memory stays bounded however large it
//! is, and commits by adding all its blocks in one manifest version. Either way one
//! writer is one atomic commit: a crash before `commit` leaves nothing visible (staged
//! blocks are orphans that recovery deletes).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::compute::concat_batches;
use arrow::datatypes::DataType;

use super::block::{BlockSet, MAX_BLOCK_ROWS};
use super::codec::Purpose;
use super::database::{Database, WriteLock};
use super::manifest::BlockMeta;
use crate::catalog::{ColumnType, TableDef};
use crate::error::{Error, Result};

pub struct TableWriter {
    db: Arc<Database>,
    def: TableDef,
    /// Keeps ALTER TABLE of this table out until the write commits or is dropped.
    _lock: WriteLock,
    buffered: Vec<RecordBatch>,
    buffered_bytes: usize,
    /// The staged blocks being written, one per partition.
    block: Option<BlockSet>,
    staged: Vec<BlockMeta>,
    rows: u64,
}

impl TableWriter {
    /// Starts a write of rows shaped by `def`. Fails with 40001 if the table has been
    /// altered since `def` was read (the statement was planned against an older schema).
    pub async fn begin(db: Arc<Database>, def: TableDef) -> Result<TableWriter> {
        let lock = db.lock_for_write(def.id).await;
        match db.schema_version(def.id) {
            Some(current) if current == def.schema_version => {}
            Some(_) => {
                return Err(Error::SerializationFailure(format!(
                    "table \"{}\" was altered while this statement was being planned; \
                     run it again",
                    def.name
                )))
            }
            None => {
                return Err(Error::UndefinedTable(format!(
                    "relation \"{}\" was dropped while this statement was being planned",
                    def.name
                )))
            }
        }
        Ok(TableWriter {
            db,
            def,
            _lock: lock,
            buffered: Vec::new(),
            buffered_bytes: 0,
            block: None,
            staged: Vec::new(),
            rows: 0,
        })
    }

    pub fn def(&self) -> &TableDef {
        &self.def
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Checks and buffers rows given as one array per table column, in table order.
    pub fn push(&mut self, columns: &[ArrayRef]) -> Result<()> {
        if columns.first().is_none_or(|c| c.is_empty()) {
            return Ok(());
        }
        let physical = self.check(columns)?;
        self.rows += physical.num_rows() as u64;
        self.buffered_bytes += physical.get_array_memory_size();
        self.buffered.push(physical);
        if self.buffered_bytes >= self.db.config().bulk_spill_bytes || self.block.is_some() {
            self.spill()?;
        }
        Ok(())
    }

    /// Makes everything pushed durable and visible as one commit; returns the row count.
    pub async fn commit(mut self) -> Result<u64> {
        let rows = self.rows;
        if self.block.is_none() && self.staged.is_empty() {
            if self.buffered.is_empty() {
                return Ok(0);
            }
            let batch = concat_batches(&self.def.physical_schema(), &self.buffered)?;
            self.buffered.clear();
            self.db.commit_rows(self.def.id, batch).await?;
            return Ok(rows);
        }
        let result = tokio::task::block_in_place(|| {
            self.spill()?;
            if let Some(blocks) = self.block.take() {
                self.staged.extend(blocks.finish()?);
            }
            self.db
                .commit_blocks(self.def.id, std::mem::take(&mut self.staged))
        });
        result?;
        Ok(rows)
    }

    /// Moves buffered rows into the current staged block.
    fn spill(&mut self) -> Result<()> {
        tokio::task::block_in_place(|| {
            for batch in std::mem::take(&mut self.buffered) {
                let blocks = self.block.get_or_insert_with(|| {
                    let schema = self.def.physical_schema();
                    let codec = self.db.tuner().choose(&self.def, Purpose::NewData);
                    BlockSet::new(self.db.paths(), &self.def, &schema, codec)
                });
                blocks.write(&batch)?;
                self.staged.extend(blocks.finish_full(MAX_BLOCK_ROWS)?);
            }
            self.buffered_bytes = 0;
            Ok(())
        })
    }

    /// Validates constraints and returns the batch under the physical schema.
    fn check(&self, arrays: &[ArrayRef]) -> Result<RecordBatch> {
        if arrays.len() != self.def.columns.len() {
            return Err(Error::Internal(format!(
                "insert into \"{}\" got {} columns, expected {}",
                self.def.name,
                arrays.len(),
                self.def.columns.len()
            )));
        }
        let schema = self.def.physical_schema();
        let mut columns = Vec::with_capacity(arrays.len());
        for ((column, array), field) in self.def.columns.iter().zip(arrays).zip(schema.fields()) {
            if column.not_null && array.null_count() > 0 {
                return Err(Error::NotNullViolation(format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    column.name, self.def.name
                )));
            }
            let array = if array.data_type() == field.data_type() {
                array.clone()
            } else {
                arrow::compute::cast(array, field.data_type()).map_err(|e| {
                    Error::InvalidValue(format!(
                        "invalid value for column \"{}\": {e}",
                        column.name
                    ))
                })?
            };
            if let ColumnType::Varchar { max_len: Some(max) } = column.column_type {
                check_length(&array, max)?;
            }
            columns.push(array);
        }
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

impl Drop for TableWriter {
    fn drop(&mut self) {
        // Not committed: delete what was staged. (Committed writers have emptied these.)
        if let Some(blocks) = self.block.take() {
            blocks.abort();
        }
        for block in self.staged.drain(..) {
            let _ = std::fs::remove_file(self.db.paths().resolve(&block.path));
        }
    }
}

fn check_length(array: &ArrayRef, max: u32) -> Result<()> {
    if array.data_type() != &DataType::Utf8 {
        return Ok(());
    }
    let strings = array
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("Utf8 is a StringArray");
    for value in strings.iter().flatten() {
        if value.len() > max as usize && value.chars().count() > max as usize {
            return Err(Error::StringTooLong(format!(
                "value too long for type character varying({max})"
            )));
        }
    }
    Ok(())
}

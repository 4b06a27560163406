//! Compaction: merging a table's small blocks into well-sized ones.
//!
//! Many small commits leave many small blocks, and a scan pays for every block it opens
//! (a file, a footer, a page index). Compaction reads a table's small blocks, oldest
//! first, and writes their rows into blocks of about the target size, encoded with the
//! tuner's codec (`codec.rs`) and, if the table declares `sort_by`, sorted by that key
//! (so row-group and page statistics prune well on it); one manifest version then
//! replaces the old blocks with the new ones (`Action::ReplaceBlocks`). Each row keeps
//! its commit timestamp in the hidden column.
//!
//! - Readers see the old blocks or the new, never a mix: a snapshot is a list of blocks
//!   taken under one lock, and the old files stay until the table's retention has
//!   passed (retired, then forgotten by `prune_history`), so time travel to before the
//!   compaction reads them as before, and so does a query that started before it.
//! - Nothing is locked while blocks are written. Writers go on adding blocks and rows;
//!   an ALTER TABLE meanwhile is harmless, since the new blocks are read through the
//!   current definition like any older block. The commit checks that every block it
//!   replaces is still the table's; if not (a DROP, another compaction), the new blocks
//!   are deleted and nothing changes.
//! - A crash before the commit leaves files no manifest version names, which the next
//!   start deletes; after the commit, the compaction is done.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch};
use arrow::compute::{
    concat_batches, lexsort_to_indices, take_record_batch, SortColumn, SortOptions,
};
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::block::{BlockWriter, MAX_BLOCK_ROWS};
use super::clock::now_micros;
use super::codec::Purpose;
use super::database::Database;
use super::manifest::{Action, BlockMeta};
use crate::catalog::column::COMMIT_TS_COLUMN;
use crate::catalog::TableDef;
use crate::error::{Error, Result};

/// What one compaction did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Compaction {
    pub blocks_before: usize,
    pub blocks_after: usize,
    /// Blocks merged away and blocks written in their place.
    pub merged: usize,
    pub written: usize,
    pub rows: u64,
    pub bytes_merged: u64,
    pub bytes_written: u64,
    /// The codec of the blocks written, and why.
    pub codec: String,
}

impl std::fmt::Display for Compaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.merged == 0 {
            return write!(
                f,
                "nothing to compact: {} blocks, none of them small enough to merge",
                self.blocks_before
            );
        }
        write!(
            f,
            "merged {} blocks ({} bytes) into {} ({} bytes, {}), {} rows; {} blocks before, {} after",
            self.merged,
            self.bytes_merged,
            self.written,
            self.bytes_written,
            self.codec,
            self.rows,
            self.blocks_before,
            self.blocks_after
        )
    }
}

impl Database {
    /// Whether the table has enough small blocks for the background task to compact it.
    pub fn needs_compaction(&self, table_id: u64) -> bool {
        let state = self.state.read();
        let Some(table) = state.manifest.tables.get(&table_id) else {
            return false;
        };
        let small = table.blocks.iter().filter(|b| self.is_small(b)).count();
        small >= self.config.compact_min_blocks
    }

    /// Compacts the table called `name` now, telling `progress` after each new block.
    pub fn compact_table(&self, name: &str, progress: &dyn Fn(&str)) -> Result<Compaction> {
        let def = self
            .table(name)
            .ok_or_else(|| Error::UndefinedTable(format!("relation \"{name}\" does not exist")))?;
        self.compact(def.id, progress)
    }

    /// Merges the table's small blocks, oldest first, into blocks of about the target
    /// size; tells `progress` after each new block; returns what it did.
    pub fn compact(&self, table_id: u64, progress: &dyn Fn(&str)) -> Result<Compaction> {
        let _one_at_a_time = self.compaction_lock.lock();
        let (def, blocks) = {
            let state = self.state.read();
            let table =
                state.manifest.tables.get(&table_id).ok_or_else(|| {
                    Error::UndefinedTable(format!("table {table_id} was dropped"))
                })?;
            (table.def.clone(), table.blocks.clone())
        };
        let mut report = Compaction {
            blocks_before: blocks.len(),
            blocks_after: blocks.len(),
            ..Default::default()
        };
        let groups = self.merge_groups(&blocks);
        let mut added: Vec<BlockMeta> = Vec::new();
        for (done, group) in groups.iter().enumerate() {
            match self.merge(&def, group) {
                Ok((block, codec)) => {
                    progress(&format!(
                        "compacting \"{}\": block {} of {} written ({} blocks, {} rows merged)",
                        def.name,
                        done + 1,
                        groups.len(),
                        group.len(),
                        block.rows
                    ));
                    report.codec = codec;
                    added.push(block);
                }
                Err(err) => {
                    self.delete_block_files(&added);
                    return Err(err);
                }
            }
        }
        if added.is_empty() {
            return Ok(report);
        }
        let removed: Vec<String> = groups.iter().flatten().map(|b| b.id.clone()).collect();
        let mut manifest = self.manifest.lock();
        let still_there = manifest.state().tables.get(&table_id).is_some_and(|table| {
            removed
                .iter()
                .all(|id| table.blocks.iter().any(|b| &b.id == id))
        });
        if !still_there {
            drop(manifest);
            self.delete_block_files(&added);
            return Err(Error::SerializationFailure(format!(
                "table \"{}\" changed while it was being compacted; run the compaction again",
                def.name
            )));
        }
        report.merged = removed.len();
        report.written = added.len();
        report.rows = added.iter().map(|b| b.rows).sum();
        report.bytes_merged = groups.iter().flatten().map(|b| b.bytes).sum();
        report.bytes_written = added.iter().map(|b| b.bytes).sum();
        report.blocks_after = report.blocks_before - report.merged + report.written;
        let action = Action::ReplaceBlocks {
            table_id,
            removed,
            added,
        };
        manifest.commit(self.clock.next(), vec![action])?;
        self.publish(&manifest, |_| {});
        tracing::info!("compacted table \"{}\": {report}", def.name);
        Ok(report)
    }

    fn is_small(&self, block: &BlockMeta) -> bool {
        block.bytes < self.config.compact_target_bytes / 2 && block.rows < MAX_BLOCK_ROWS / 2
    }

    /// The small blocks in groups to merge, each group about the target size; groups of
    /// one block are left out (merging them would only re-encode them).
    fn merge_groups(&self, blocks: &[BlockMeta]) -> Vec<Vec<BlockMeta>> {
        let mut small: Vec<&BlockMeta> = blocks.iter().filter(|b| self.is_small(b)).collect();
        small.sort_by_key(|b| (b.partition.clone(), b.min_commit_ts));
        let mut groups: Vec<Vec<BlockMeta>> = Vec::new();
        let mut current: Vec<BlockMeta> = Vec::new();
        let (mut bytes, mut rows) = (0, 0);
        for block in small {
            let full = bytes + block.bytes > self.config.compact_target_bytes
                || rows + block.rows > MAX_BLOCK_ROWS;
            let other_partition = current
                .first()
                .is_some_and(|b| b.partition != block.partition);
            if full || other_partition {
                groups.push(std::mem::take(&mut current));
                (bytes, rows) = (0, 0);
            }
            bytes += block.bytes;
            rows += block.rows;
            current.push(block.clone());
        }
        groups.push(current);
        groups.retain(|group| group.len() > 1);
        groups
    }

    /// Writes the rows of `group` (under `def`, each with its commit timestamp, sorted by
    /// the table's sort key if it has one) to one new block; returns it and its codec's
    /// description.
    fn merge(&self, def: &TableDef, group: &[BlockMeta]) -> Result<(BlockMeta, String)> {
        let schema = def.physical_schema_with_ts();
        let purpose = Purpose::Compaction {
            cold_after_micros: self.config.cold_after.as_micros() as i64,
            now_micros: now_micros(),
        };
        let partition = &group[0].partition;
        let codec = self.tuner().choose_for_partition(def, partition, purpose);
        let mut writer = BlockWriter::create(&self.paths, def.id, partition, &schema, &codec)?;
        let written = if def.sort_by.is_empty() {
            self.read_group(def, group, &schema, &mut |batch| writer.write(&batch))
        } else {
            // A group is at most MAX_BLOCK_ROWS rows, so sorting it in memory is bounded.
            let mut batches = Vec::new();
            self.read_group(def, group, &schema, &mut |batch| {
                batches.push(batch);
                Ok(())
            })
            .and_then(|()| sorted(def, &schema, &batches))
            .and_then(|rows| writer.write(&rows))
        };
        if let Err(err) = written {
            writer.abort();
            return Err(err);
        }
        let mut block = writer.finish()?;
        block.has_commit_ts_column = true;
        block.min_commit_ts = group.iter().map(|b| b.min_commit_ts).min().unwrap_or(0);
        block.max_commit_ts = group.iter().map(|b| b.max_commit_ts).max().unwrap_or(0);
        block.sorted_by = def.sort_by.clone();
        Ok((block, format!("{}: {}", codec.codec, codec.reason)))
    }

    /// Reads the blocks of `group` and hands their rows to `each` in `schema`: `def`'s
    /// physical columns and each row's commit timestamp.
    fn read_group(
        &self,
        def: &TableDef,
        group: &[BlockMeta],
        schema: &SchemaRef,
        each: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        for block in group {
            let path = self.paths.resolve(&block.path);
            let file =
                std::fs::File::open(&path).map_err(|e| Error::io_context(e, path.display()))?;
            let corrupt = |e: parquet::errors::ParquetError| {
                Error::Corruption(format!("block {} cannot be read: {e}", path.display()))
            };
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(corrupt)?
                .build()
                .map_err(corrupt)?;
            for batch in reader {
                let batch = batch?;
                let rows = def.conform(&batch)?;
                let commit_ts: ArrayRef = match batch.column_by_name(COMMIT_TS_COLUMN) {
                    Some(column) => column.clone(),
                    None => Arc::new(Int64Array::from_value(
                        block.min_commit_ts,
                        batch.num_rows(),
                    )),
                };
                let mut columns = rows.columns().to_vec();
                columns.push(commit_ts);
                each(RecordBatch::try_new(schema.clone(), columns)?)?;
            }
        }
        Ok(())
    }
}

/// `batches` (in `schema`) as one batch sorted by `def`'s sort key, ascending, nulls last.
fn sorted(def: &TableDef, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<RecordBatch> {
    let rows = concat_batches(schema, batches)?;
    let key: Vec<SortColumn> = def
        .sort_by
        .iter()
        .filter_map(|id| def.column_by_id(*id))
        .filter_map(|column| rows.column_by_name(&column.physical_name()))
        .map(|values| SortColumn {
            values: values.clone(),
            options: Some(SortOptions {
                descending: false,
                nulls_first: false,
            }),
        })
        .collect();
    let order = lexsort_to_indices(&key, None)?;
    Ok(take_record_batch(&rows, &order)?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use arrow::array::Int32Array;

    use super::*;
    use crate::catalog::column::int_table;
    use crate::config::Config;

    /// Compaction's old blocks stay on disk, and readable as of before it, until the
    /// table's retention has passed; then they are forgotten and deleted, also after a
    /// restart.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replaced_blocks_are_kept_for_retention_then_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path());
        config.retention = Duration::from_millis(800);
        let db = Database::open(config.clone()).unwrap();
        db.create_table(int_table("t"), false).unwrap();
        let t = db.table("t").unwrap();
        for i in 0..3 {
            let rows = Int32Array::from(vec![i, i + 10]);
            let batch = RecordBatch::try_new(t.physical_schema(), vec![Arc::new(rows)]).unwrap();
            db.commit_rows(t.id, batch).await.unwrap();
            db.flush(true).await.unwrap();
        }
        let before = db.clock.last();
        let old: Vec<_> = db.snapshot(t.id).unwrap().blocks;
        assert_eq!(old.len(), 3);

        let done = db.compact(t.id, &|_| {}).unwrap();
        assert_eq!((done.merged, done.written, done.rows), (3, 1, 6));
        assert_eq!(db.snapshot(t.id).unwrap().blocks.len(), 1);
        assert_eq!(db.snapshot_at("t", before).unwrap().blocks, old);
        db.prune_history().unwrap();
        for block in &old {
            assert!(
                db.paths().resolve(&block.path).exists(),
                "kept within retention"
            );
        }

        // A restart does not take the retired blocks for orphans.
        db.shutdown().await.unwrap();
        drop(db);
        let db = Database::open(config.clone()).unwrap();
        for block in &old {
            assert!(
                db.paths().resolve(&block.path).exists(),
                "kept across a restart"
            );
        }

        std::thread::sleep(Duration::from_millis(1_000));
        db.prune_history().unwrap();
        for block in &old {
            assert!(
                !db.paths().resolve(&block.path).exists(),
                "deleted past retention"
            );
        }
        assert!(db.manifest.lock().state().retired.is_empty());
        assert_eq!(db.snapshot(t.id).unwrap().blocks.len(), 1);
    }
}

//! Writing immutable Parquet blocks.
//!
//! A block is written to `<name>.parquet.tmp`, fsynced, renamed to its final name, and
//! its directory fsynced, all before any manifest version refers to it; after that it is
//! never modified. Reading blocks is DataFusion's Parquet reader's job (`table/scan.rs`).
//!
//! Blocks are written for analytic reads: row groups of at most `ROW_GROUP_ROWS` rows,
//! column and page statistics (so DataFusion can prune row groups and pages with the
//! page index), compressed with the codec the caller chose (`codec.rs`: the table's
//! option, or the tuner's choice).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::codec::Choice;
use super::manifest::BlockMeta;
use super::paths::{self, Paths, DEFAULT_PARTITION};
use crate::catalog::partition::Partitioning;
use crate::catalog::TableDef;
use crate::error::{Error, Result};

/// Rows per Parquet row group: small enough that statistics prune point lookups well,
/// large enough for efficient scans.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;
/// No block holds more rows than this: bulk writes and compaction start a new one.
pub const MAX_BLOCK_ROWS: u64 = 4 * 1024 * 1024;
/// Rows per data page, the unit the page index prunes.
const PAGE_ROWS: usize = 8 * 1024;
/// A column chunk whose dictionary outgrows this falls back to plain encoding. Parquet's
/// default (1 MiB) holds a whole row group of distinct 8-byte keys, so key and price
/// columns were dictionary-encoded at a cost on every write and read for no saving;
/// low-cardinality columns (flags, modes, dates) still fit easily.
const DICTIONARY_PAGE_BYTES: usize = 128 * 1024;

/// Streams record batches into one new block.
pub struct BlockWriter {
    id: String,
    relative: String,
    path: PathBuf,
    tmp: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
    codec: String,
    partition: String,
}

impl BlockWriter {
    pub fn create(
        paths: &Paths,
        table_id: u64,
        partition: &str,
        schema: &SchemaRef,
        codec: &Choice,
    ) -> Result<BlockWriter> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let relative = Paths::block_relative(table_id, partition, &id);
        let path = paths.resolve(&relative);
        let dir = path
            .parent()
            .expect("block path has a directory")
            .to_path_buf();
        paths::create_dir_durable(&dir)?;
        let tmp = path.with_extension("parquet.tmp");
        let file = File::create(&tmp).map_err(|e| Error::io_context(e, tmp.display()))?;
        let props = WriterProperties::builder()
            .set_compression(codec.parquet())
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_data_page_row_count_limit(PAGE_ROWS)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_dictionary_page_size_limit(DICTIONARY_PAGE_BYTES)
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        Ok(BlockWriter {
            id,
            relative,
            path,
            tmp,
            writer,
            rows: 0,
            codec: codec.codec.to_string(),
            partition: partition.to_string(),
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch)?;
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes buffered in memory for the row group being built.
    pub fn in_progress_bytes(&self) -> usize {
        self.writer.in_progress_size()
    }

    /// Finishes the file and makes it durable under its final name. The returned meta has
    /// no commit timestamps yet; the caller fills them in.
    pub fn finish(mut self) -> Result<BlockMeta> {
        self.writer.flush()?; // the last row group, so the sum below counts it
        let uncompressed_bytes = self
            .writer
            .flushed_row_groups()
            .iter()
            .map(|group| group.total_byte_size() as u64)
            .sum();
        let file = self.writer.into_inner()?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        drop(file);
        std::fs::rename(&self.tmp, &self.path)
            .map_err(|e| Error::io_context(e, self.path.display()))?;
        paths::sync_dir(self.path.parent().expect("block path has a directory"))?;
        Ok(BlockMeta {
            id: self.id,
            path: self.relative,
            partition: self.partition,
            rows: self.rows,
            bytes,
            min_commit_ts: 0,
            max_commit_ts: 0,
            has_commit_ts_column: false,
            codec: self.codec,
            uncompressed_bytes,
            sorted_by: Vec::new(),
        })
    }

    /// Abandons the block, deleting its temporary file.
    pub fn abort(self) {
        let tmp = self.tmp.clone();
        drop(self.writer);
        let _ = std::fs::remove_file(tmp);
    }
}

/// Writes rows of one table into blocks, one per partition (`catalog/partition.rs`; all
/// rows of an unpartitioned table go to partition `all`), so no block mixes partitions.
pub struct BlockSet {
    paths: Paths,
    table_id: u64,
    partitioning: Option<Partitioning>,
    schema: SchemaRef,
    codec: Choice,
    open: BTreeMap<String, BlockWriter>,
}

impl BlockSet {
    pub fn new(paths: &Paths, def: &TableDef, schema: &SchemaRef, codec: Choice) -> BlockSet {
        BlockSet {
            paths: paths.clone(),
            table_id: def.id,
            partitioning: def.partitioning.clone(),
            schema: schema.clone(),
            codec,
            open: BTreeMap::new(),
        }
    }

    /// Writes `batch` (in `schema`) to the blocks of the partitions its rows belong to.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let parts = match &self.partitioning {
            Some(partitioning) => partitioning.split(batch)?,
            None => BTreeMap::from([(DEFAULT_PARTITION.to_string(), batch.clone())]),
        };
        for (partition, rows) in parts {
            if !self.open.contains_key(&partition) {
                let writer = BlockWriter::create(
                    &self.paths,
                    self.table_id,
                    &partition,
                    &self.schema,
                    &self.codec,
                )?;
                self.open.insert(partition.clone(), writer);
            }
            self.open
                .get_mut(&partition)
                .expect("opened above")
                .write(&rows)?;
        }
        Ok(())
    }

    /// Finishes the blocks holding at least `rows` rows, so no block grows past it.
    pub fn finish_full(&mut self, rows: u64) -> Result<Vec<BlockMeta>> {
        let full: Vec<String> = self
            .open
            .iter()
            .filter(|(_, writer)| writer.rows() >= rows)
            .map(|(partition, _)| partition.clone())
            .collect();
        full.into_iter()
            .map(|partition| self.open.remove(&partition).expect("listed").finish())
            .collect()
    }

    /// Finishes every block; blocks that got no rows are not written.
    pub fn finish(mut self) -> Result<Vec<BlockMeta>> {
        std::mem::take(&mut self.open)
            .into_values()
            .map(BlockWriter::finish)
            .collect()
    }

    /// Abandons the blocks not finished yet, deleting their temporary files.
    pub fn abort(mut self) {
        for writer in std::mem::take(&mut self.open).into_values() {
            writer.abort();
        }
    }
}

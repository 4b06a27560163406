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

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

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
///
/// The Parquet encoding, the costliest step of every large write, runs on a thread of its
/// own, so the caller prepares the next rows (converting a COPY, running the query of an
/// INSERT … SELECT, reading a memtable to flush) while the last ones are encoded; at most `QUEUED_BATCHES` batches
/// wait for it, so memory stays bounded. Dropping a set without `finish` abandons its
/// blocks, deleting their temporary files.
pub struct BlockSet {
    partitioning: Option<Partitioning>,
    /// Rows sent to each partition's open block.
    rows: BTreeMap<String, u64>,
    /// None once the encoder has stopped.
    commands: Option<SyncSender<Command>>,
    encoder: Option<JoinHandle<Result<()>>>,
}

/// Batches that may wait for the encoder.
const QUEUED_BATCHES: usize = 2;

enum Command {
    Write {
        partition: String,
        rows: RecordBatch,
    },
    /// Finish these partitions' blocks and send them back.
    Finish {
        partitions: Vec<String>,
        reply: SyncSender<Vec<BlockMeta>>,
    },
}

impl BlockSet {
    pub fn new(paths: &Paths, def: &TableDef, schema: &SchemaRef, codec: Choice) -> BlockSet {
        let (commands, received) = sync_channel(QUEUED_BATCHES);
        let encoder = Encoder {
            paths: paths.clone(),
            table_id: def.id,
            schema: schema.clone(),
            codec,
            open: BTreeMap::new(),
        };
        let encoder = std::thread::Builder::new()
            .name(format!("encode-{}", def.id))
            .spawn(move || encoder.run(received))
            .expect("the OS starts a thread");
        BlockSet {
            partitioning: def.partitioning.clone(),
            rows: BTreeMap::new(),
            commands: Some(commands),
            encoder: Some(encoder),
        }
    }

    /// Writes `batch` (in the set's schema) to the blocks of the partitions its rows
    /// belong to.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let parts = match &self.partitioning {
            Some(partitioning) => partitioning.split(batch)?,
            None => BTreeMap::from([(DEFAULT_PARTITION.to_string(), batch.clone())]),
        };
        for (partition, rows) in parts {
            *self.rows.entry(partition.clone()).or_default() += rows.num_rows() as u64;
            self.send(Command::Write { partition, rows })?;
        }
        Ok(())
    }

    /// Finishes the blocks holding at least `rows` rows, so no block grows past it.
    pub fn finish_full(&mut self, rows: u64) -> Result<Vec<BlockMeta>> {
        let full: Vec<String> = self
            .rows
            .iter()
            .filter(|(_, written)| **written >= rows)
            .map(|(partition, _)| partition.clone())
            .collect();
        if full.is_empty() {
            return Ok(Vec::new());
        }
        self.finish_partitions(full)
    }

    /// Finishes every block; blocks that got no rows are not written.
    pub fn finish(mut self) -> Result<Vec<BlockMeta>> {
        let all = self.rows.keys().cloned().collect();
        let blocks = self.finish_partitions(all)?;
        self.commands = None;
        self.stopped()?;
        Ok(blocks)
    }

    /// Abandons the blocks not finished yet, deleting their temporary files.
    pub fn abort(self) {
        drop(self);
    }

    fn finish_partitions(&mut self, partitions: Vec<String>) -> Result<Vec<BlockMeta>> {
        for partition in &partitions {
            self.rows.remove(partition);
        }
        let (reply, blocks) = sync_channel(1);
        self.send(Command::Finish { partitions, reply })?;
        match blocks.recv() {
            Ok(blocks) => Ok(blocks),
            Err(_) => Err(self.stopped().err().unwrap_or_else(stopped_early)),
        }
    }

    fn send(&mut self, command: Command) -> Result<()> {
        let sent = self
            .commands
            .as_ref()
            .is_some_and(|commands| commands.send(command).is_ok());
        if sent {
            return Ok(());
        }
        // The encoder stopped on an error, which is the one to report.
        Err(self.stopped().err().unwrap_or_else(stopped_early))
    }

    /// Waits for the encoder to end (it ends once `commands` is gone or it fails) and
    /// returns how it ended.
    fn stopped(&mut self) -> Result<()> {
        self.commands = None;
        match self.encoder.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(err))) => Err(err),
            Some(Err(_)) => Err(Error::Internal("the block encoder panicked".into())),
        }
    }
}

impl Drop for BlockSet {
    fn drop(&mut self) {
        let _ = self.stopped();
    }
}

fn stopped_early() -> Error {
    Error::Internal("the block encoder stopped early".into())
}

/// The encoding thread's side of a `BlockSet`: one open block per partition.
struct Encoder {
    paths: Paths,
    table_id: u64,
    schema: SchemaRef,
    codec: Choice,
    open: BTreeMap<String, BlockWriter>,
}

impl Encoder {
    /// Runs the commands until the set closes the channel or one fails; then abandons
    /// the blocks still open.
    fn run(mut self, commands: Receiver<Command>) -> Result<()> {
        let result = commands
            .iter()
            .try_for_each(|command| self.execute(command));
        for writer in std::mem::take(&mut self.open).into_values() {
            writer.abort();
        }
        result
    }

    fn execute(&mut self, command: Command) -> Result<()> {
        match command {
            Command::Write { partition, rows } => {
                let writer = match self.open.entry(partition) {
                    Entry::Occupied(open) => open.into_mut(),
                    Entry::Vacant(vacant) => {
                        let writer = BlockWriter::create(
                            &self.paths,
                            self.table_id,
                            vacant.key(),
                            &self.schema,
                            &self.codec,
                        )?;
                        vacant.insert(writer)
                    }
                };
                writer.write(&rows)
            }
            Command::Finish { partitions, reply } => {
                let blocks = partitions
                    .iter()
                    .filter_map(|partition| self.open.remove(partition))
                    .map(BlockWriter::finish)
                    .collect::<Result<Vec<_>>>()?;
                // The set waits for the reply, unless it has been dropped meanwhile.
                let _ = reply.send(blocks);
                Ok(())
            }
        }
    }
}

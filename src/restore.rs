//! Point-in-time recovery: `grizzly restore --data-dir NEW --from SRC --to-time T` builds
//! a new data directory whose state is exactly SRC's state at commit time T. SRC is only
//! read (it may belong to a running server: blocks and manifest files never change once
//! written).
//!
//! NEW receives:
//! - SRC's manifest history up to the last version at or before T (DDL included), copied
//!   file for file, so time travel in NEW reaches back as far as SRC's did;
//! - every block those versions refer to (hard links where the file system allows,
//!   copies otherwise);
//! - per table, one block holding the rows committed at or before T that SRC's blocks
//!   at T did not hold: rows flushed after T (from SRC's later flush blocks, filtered by
//!   commit time) and rows still only in SRC's WAL. Each keeps its commit timestamp. One
//!   manifest version adds these blocks, as a flush would.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::compute::kernels::cmp::lt_eq;
use arrow::datatypes::SchemaRef;
use indicatif::{ProgressBar, ProgressStyle};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::catalog::column::COMMIT_TS_COLUMN;
use crate::catalog::TableDef;
use crate::error::{Error, Result};
use crate::storage::block::BlockSet;
use crate::storage::codec::{self, Purpose, Usage};
use crate::storage::history::{format_ts, later_flushes};
use crate::storage::manifest::{Action, BlockMeta, Manifest, ManifestState};
use crate::storage::paths::{self, Paths};
use crate::storage::wal;

/// What a restore did.
#[derive(Debug, Default, PartialEq)]
pub struct Restored {
    pub manifest_version: u64,
    pub tables: usize,
    pub blocks_copied: usize,
    pub rows_recovered: u64,
}

/// Restores `from` as of commit time `ts` (microseconds since the epoch) into `to`,
/// which must not exist or be empty.
pub fn restore(from: &Path, to: &Path, ts: i64) -> Result<Restored> {
    let source =
        Paths::new(std::fs::canonicalize(from).map_err(|e| Error::io_context(e, from.display()))?);
    if !source.manifest_dir().is_dir() {
        return Err(Error::InvalidInput(format!(
            "{} is not a Grizzly data directory (it has no manifest/)",
            from.display()
        )));
    }
    if to.exists() && std::fs::read_dir(to)?.next().is_some() {
        return Err(Error::InvalidInput(format!(
            "{} is not empty; restore into a new directory",
            to.display()
        )));
    }
    let manifest = Manifest::open_read_only(&source)?;
    let Some(state) = manifest.state_at(ts)? else {
        let oldest = manifest.history().first().map_or(ts, |v| v.commit_ts);
        return Err(Error::InvalidInput(format!(
            "{} keeps history from {} on; restore to that time or later",
            from.display(),
            format_ts(oldest)
        )));
    };
    std::fs::create_dir_all(to).map_err(|e| Error::io_context(e, to.display()))?;
    let target = Paths::new(std::fs::canonicalize(to)?);
    paths::create_dir_durable(&target.manifest_dir())?;

    let mut restored = Restored {
        manifest_version: state.version,
        tables: state.tables.len(),
        ..Default::default()
    };
    copy_history(&source, &target, &manifest, state.version)?;
    restored.blocks_copied = copy_blocks(&source, &target, &state)?;

    let unflushed = unflushed_rows(&source, &manifest, &state, ts)?;
    let mut actions = Vec::new();
    for table in state.tables.values() {
        let table_id = table.def.id;
        let later = later_flushes(&manifest, state.version, table_id, ts);
        let wal_rows = unflushed.get(&table_id).map(Vec::as_slice).unwrap_or(&[]);
        let blocks = write_recovered(&source, &target, &table.def, &later.blocks, wal_rows, ts)?;
        if blocks.is_empty() {
            continue;
        }
        restored.rows_recovered += blocks.iter().map(|b| b.rows).sum::<u64>();
        let lsn = wal_rows
            .iter()
            .map(|(lsn, _)| *lsn)
            .max()
            .unwrap_or(0)
            .max(later.lsn);
        for block in blocks {
            actions.push(Action::AddBlock { table_id, block });
        }
        actions.push(Action::Flushed { table_id, lsn });
    }
    if !actions.is_empty() {
        let mut restored_manifest = Manifest::open(&target, 100)?;
        restored_manifest.commit(state.commit_ts.max(ts) + 1, actions)?;
        restored.manifest_version += 1;
    }
    paths::sync_dir(target.root())?;
    Ok(restored)
}

/// Copies the manifest versions and checkpoints up to `version`.
fn copy_history(source: &Paths, target: &Paths, manifest: &Manifest, version: u64) -> Result<()> {
    for kept in manifest.history().iter().filter(|v| v.version <= version) {
        let from = source.manifest_version(kept.version);
        paths::write_atomic(
            &target.manifest_version(kept.version),
            &std::fs::read(&from)?,
        )?;
        let checkpoint = source.manifest_checkpoint(kept.version);
        if checkpoint.exists() {
            let bytes = std::fs::read(&checkpoint)?;
            paths::write_atomic(&target.manifest_checkpoint(kept.version), &bytes)?;
        }
    }
    Ok(())
}

/// Links or copies every block of the state's live and dropped tables.
fn copy_blocks(source: &Paths, target: &Paths, state: &ManifestState) -> Result<usize> {
    let blocks: Vec<&BlockMeta> = state
        .tables
        .values()
        .chain(state.dropped.values())
        .flat_map(|t| t.blocks.iter())
        .collect();
    let progress = progress_bar(blocks.len() as u64, "copying blocks");
    for block in &blocks {
        let from = source.resolve(&block.path);
        if !from.exists() {
            if state.dropped.values().any(|t| t.blocks.contains(block)) {
                progress.inc(1);
                continue; // dropped before T and forgotten since: past retention
            }
            return Err(Error::InvalidInput(format!(
                "block {} is gone: its table was dropped after the restore time and its history deleted past retention; restore to a later time",
                from.display()
            )));
        }
        let to = target.resolve(&block.path);
        let dir = to.parent().expect("block path has a directory");
        paths::create_dir_durable(dir)?;
        if std::fs::hard_link(&from, &to).is_err() {
            let tmp = to.with_extension("parquet.tmp");
            std::fs::copy(&from, &tmp).map_err(|e| Error::io_context(e, from.display()))?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &to)?;
        }
        paths::sync_dir(dir)?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(blocks.len())
}

/// Rows still only in the source's WAL that were committed at or before `ts`, by
/// table: (LSN, rows in the physical schema).
fn unflushed_rows(
    source: &Paths,
    manifest: &Manifest,
    state: &ManifestState,
    ts: i64,
) -> Result<BTreeMap<u64, Vec<(u64, RecordBatch)>>> {
    let now = manifest.state();
    let mut rows: BTreeMap<u64, Vec<(u64, RecordBatch)>> = BTreeMap::new();
    let progress = progress_bar(0, "reading the WAL");
    wal::read(source, |record| {
        progress.inc(1);
        let flushed = now
            .tables
            .get(&record.table_id)
            .or_else(|| now.dropped.get(&record.table_id))
            .map_or(u64::MAX, |t| t.flushed_lsn);
        if record.commit_ts <= ts
            && record.lsn > flushed
            && state.tables.contains_key(&record.table_id)
        {
            let with_ts = with_commit_ts(&record.rows, record.commit_ts)?;
            rows.entry(record.table_id)
                .or_default()
                .push((record.lsn, with_ts));
        }
        Ok(())
    })?;
    progress.finish_and_clear();
    Ok(rows)
}

fn with_commit_ts(rows: &RecordBatch, commit_ts: i64) -> Result<RecordBatch> {
    let mut fields: Vec<_> = rows.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(arrow::datatypes::Field::new(
        COMMIT_TS_COLUMN,
        arrow::datatypes::DataType::Int64,
        false,
    )));
    let mut columns = rows.columns().to_vec();
    columns.push(Arc::new(Int64Array::from_value(commit_ts, rows.num_rows())));
    Ok(RecordBatch::try_new(
        Arc::new(arrow::datatypes::Schema::new(fields)),
        columns,
    )?)
}

/// Writes blocks of `def` (one per partition) with the rows of `later` blocks committed
/// at or before `ts` and the WAL rows; returns them (none if there are no rows).
fn write_recovered(
    source: &Paths,
    target: &Paths,
    def: &TableDef,
    later: &[BlockMeta],
    wal_rows: &[(u64, RecordBatch)],
    ts: i64,
) -> Result<Vec<BlockMeta>> {
    if later.is_empty() && wal_rows.is_empty() {
        return Ok(Vec::new());
    }
    let schema = def.physical_schema_with_ts();
    let codec = codec::choose(def.compression, &Usage::default(), Purpose::NewData);
    let mut writer = BlockSet::new(target, def, &schema, codec);
    let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
    let mut write = |batch: RecordBatch| -> Result<()> {
        let batch = conform(&batch, &schema)?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let commit_ts = batch
            .column(schema.fields().len() - 1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("commit timestamps are int64");
        min_ts = min_ts.min(arrow::compute::min(commit_ts).unwrap_or(i64::MAX));
        max_ts = max_ts.max(arrow::compute::max(commit_ts).unwrap_or(i64::MIN));
        writer.write(&batch)
    };
    for block in later {
        let path = source.resolve(&block.path);
        let file = std::fs::File::open(&path).map_err(|e| Error::io_context(e, path.display()))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
        for batch in reader {
            let batch = batch?;
            let commit_ts = batch.column_by_name(COMMIT_TS_COLUMN).ok_or_else(|| {
                Error::Corruption(format!("block {} has no commit timestamps", path.display()))
            })?;
            let keep = lt_eq(commit_ts, &Int64Array::new_scalar(ts))?;
            write(filter_record_batch(&batch, &keep)?)?;
        }
    }
    for (_, rows) in wal_rows {
        write(rows.clone())?;
    }
    let mut blocks = writer.finish()?;
    for block in &mut blocks {
        // The range of all of them: what time travel needs to know of one flush.
        block.has_commit_ts_column = true;
        block.min_commit_ts = min_ts;
        block.max_commit_ts = max_ts;
    }
    Ok(blocks)
}

/// `batch`'s columns arranged as `schema` names them (a column the batch lacks is NULL).
fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(column) => column.clone(),
            None => arrow::array::new_null_array(field.data_type(), batch.num_rows()),
        })
        .collect();
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// A progress bar on a terminal; hidden otherwise (indicatif draws only to a TTY).
fn progress_bar(len: u64, message: &'static str) -> ProgressBar {
    let bar = if len == 0 {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::new(len)
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    bar
}

/// Parses a restore target time: anything PostgreSQL accepts as a timestamptz literal
/// in the common forms (`2026-11-24 10:00:00.123456+00`, a time without an offset is
/// UTC) or RFC 3339 (`2026-11-24T10:00:00Z`).
pub fn parse_time(text: &str) -> Result<i64> {
    use arrow::array::{StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, TimeUnit};
    let invalid = || {
        Error::InvalidValue(format!(
            "invalid timestamp \"{text}\"; write e.g. 2026-11-24 10:00:00.123456+00 or 2026-11-24T10:00:00Z"
        ))
    };
    let trimmed = text.trim();
    // PostgreSQL allows an offset of hours only (`+00`, `-05`), which Arrow does not.
    let normalized = match trimmed.len().checked_sub(3).map(|i| trimmed.split_at(i)) {
        Some((head, tail))
            if (tail.starts_with('+') || tail.starts_with('-'))
                && tail[1..].chars().all(|c| c.is_ascii_digit())
                && head.contains(':') =>
        {
            format!("{head}{tail}:00")
        }
        _ => trimmed.to_string(),
    };
    let array = StringArray::from(vec![normalized.as_str()]);
    let cast = arrow::compute::cast(
        &array,
        &DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
    )
    .map_err(|_| invalid())?;
    let cast = cast
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .ok_or_else(invalid)?;
    if cast.is_null(0) {
        return Err(invalid());
    }
    Ok(cast.value(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_postgresql_and_rfc3339_times() {
        let expected = 1_795_514_400_123_456; // 2026-11-24 10:00:00.123456 UTC
        for text in [
            "2026-11-24 10:00:00.123456+00",
            "2026-11-24 10:00:00.123456+00:00",
            "2026-11-24T10:00:00.123456Z",
            "2026-11-24 11:00:00.123456+01",
            "2026-11-24 10:00:00.123456",
        ] {
            assert_eq!(parse_time(text).unwrap(), expected, "{text}");
        }
        assert!(parse_time("yesterday-ish").is_err());
    }
}

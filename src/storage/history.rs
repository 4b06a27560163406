//! Time travel: a table as it was at a moment, and the list of its versions.
//!
//! The rows committed at or before T are found in three places:
//! - the blocks the manifest listed at T (every row in them was committed by then);
//! - rows that were still in the WAL at T and have since been flushed: the blocks of the
//!   flushes after T whose rows begin at or before T, read with
//!   `_grizzly_commit_ts <= T` (flushes write rows in commit order, so the first flush
//!   whose rows all come after T ends the search);
//! - rows still in the memtable, committed at or before T.
//!
//! The schema is the table's definition at T. A table dropped after T is found the same
//! way: dropping flushes its memtable into the version that drops it.

use std::collections::{BTreeMap, HashSet};

use arrow::array::{Array, Int64Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::clock::now_micros;
use super::database::{Database, TableSnapshot};
use super::manifest::{Action, BlockMeta, Manifest};
use crate::catalog::TableDef;
use crate::error::{Error, Result};

/// One version of a table, as `grizzly_history` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub commit_ts: i64,
    pub operation: &'static str,
    pub rows_added: u64,
    pub schema_version: u64,
}

impl Database {
    /// The table called `name` as of commit timestamp `ts` (microseconds since the epoch).
    pub fn snapshot_at(&self, name: &str, ts: i64) -> Result<TableSnapshot> {
        let manifest = self.manifest.lock();
        if ts >= self.clock.last() {
            // Every commit so far is at or before `ts`: the current state.
            drop(manifest);
            let def = self.table(name).ok_or_else(|| {
                Error::UndefinedTable(format!("relation \"{name}\" does not exist"))
            })?;
            return self.snapshot(def.id).ok_or_else(|| {
                Error::UndefinedTable(format!("relation \"{name}\" does not exist"))
            });
        }
        // Retention is checked first, by the table now called `name` (or the default).
        let retention = match self.table(name) {
            Some(def) => self.retention_micros(&def),
            None => self.config.retention.as_micros() as i64,
        };
        let oldest = now_micros() - retention;
        if ts < oldest {
            return Err(Error::InvalidInput(format!(
                "\"{name}\" can be read as of {} at the earliest: its history is kept for {}",
                format_ts(oldest),
                format_duration(retention)
            )));
        }
        let Some(state) = manifest.state_at(ts)? else {
            let oldest = manifest.history().first().map_or(ts, |v| v.commit_ts);
            return Err(Error::InvalidInput(format!(
                "the history before {} is no longer kept; read \"{name}\" as of that time or later",
                format_ts(oldest)
            )));
        };
        let Some(table) = state.table_by_name(name) else {
            return Err(Error::UndefinedTable(format!(
                "relation \"{name}\" did not exist at {}",
                format_ts(ts)
            )));
        };
        // A table dropped since may have had a shorter retention than the default.
        let retention = self.retention_micros(&table.def);
        if ts < now_micros() - retention {
            return Err(Error::InvalidInput(format!(
                "\"{name}\" as of {} is past its retention of {}: it was dropped and its history deleted",
                format_ts(ts),
                format_duration(retention)
            )));
        }
        let table_id = table.def.id;
        let later = later_flushes(&manifest, state.version, table_id, ts);
        let memtable = if later.past_ts {
            Vec::new()
        } else {
            let live = self.state.read();
            live.memtables
                .get(&table_id)
                .map(|m| {
                    m.entries()
                        .iter()
                        .filter(|e| e.lsn > table.flushed_lsn && e.commit_ts <= ts)
                        .map(|e| e.rows.clone())
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(TableSnapshot {
            root: self.paths.root().to_path_buf(),
            def: table.def.clone(),
            blocks: table.blocks.clone(),
            memtable,
            later_blocks: later.blocks,
            as_of: Some(ts),
        })
    }

    /// Deletes history older than every table's retention: manifest versions no
    /// readable time needs, tables dropped before the horizon (and their blocks), and
    /// archived WAL segments. Called by the background loop.
    pub fn prune_history(&self) -> Result<()> {
        let Ok(_no_backup) = self.pruning.try_lock() else {
            return Ok(()); // a backup is reading these files; next time
        };
        let longest = {
            let state = self.state.read();
            state
                .manifest
                .tables
                .values()
                .chain(state.manifest.dropped.values())
                .map(|t| self.retention_micros(&t.def))
                .max()
                .unwrap_or(0)
                .max(self.config.retention.as_micros() as i64)
        };
        let horizon = now_micros() - longest;
        let mut manifest = self.manifest.lock();
        let state = manifest.state();
        let forgotten: Vec<(u64, Vec<BlockMeta>)> = state
            .dropped
            .values()
            .filter(|t| {
                t.dropped_ts
                    .is_some_and(|d| d < now_micros() - self.retention_micros(&t.def))
            })
            .map(|t| (t.def.id, t.blocks.clone()))
            .collect();
        // Blocks compaction replaced, once no readable time can need them.
        let mut retired: BTreeMap<u64, Vec<BlockMeta>> = BTreeMap::new();
        for r in &state.retired {
            let def = state
                .tables
                .get(&r.table_id)
                .or(state.dropped.get(&r.table_id));
            let retention = def.map_or(longest, |t| self.retention_micros(&t.def));
            if r.retired_ts < now_micros() - retention {
                retired.entry(r.table_id).or_default().push(r.block.clone());
            }
        }
        if !forgotten.is_empty() || !retired.is_empty() {
            let tables = forgotten.iter().map(|(table_id, _)| Action::ForgetTable {
                table_id: *table_id,
            });
            let blocks = retired
                .iter()
                .map(|(table_id, blocks)| Action::ForgetBlocks {
                    table_id: *table_id,
                    ids: blocks.iter().map(|b| b.id.clone()).collect(),
                });
            manifest.commit(self.clock.next(), tables.chain(blocks).collect())?;
            self.state.write().manifest = manifest.state().clone();
            for (table_id, _) in &forgotten {
                self.tuner().forget(*table_id);
            }
            let blocks = forgotten.iter().flat_map(|(_, blocks)| blocks);
            self.delete_block_files(blocks.chain(retired.values().flatten()));
        }
        manifest.prune_before(horizon)?;
        drop(manifest);
        self.wal.prune_archive(horizon)
    }

    /// How long `def`'s history stays readable, in microseconds.
    pub fn retention_micros(&self, def: &TableDef) -> i64 {
        def.retention_micros
            .unwrap_or(self.config.retention.as_micros() as i64)
    }

    /// Every version of every table that has been called `name` and whose history is
    /// still kept, oldest first: creation, each commit that added rows, and drop.
    pub fn table_history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let manifest = self.manifest.lock();
        let mut ids = HashSet::new();
        // Tables forgotten past retention have no blocks left to count rows in.
        let forgotten: HashSet<u64> = manifest
            .history()
            .iter()
            .flat_map(|v| v.actions.iter())
            .filter_map(|a| match a {
                Action::ForgetTable { table_id } => Some(*table_id),
                _ => None,
            })
            .collect();
        let mut schema_versions: BTreeMap<u64, u64> = BTreeMap::new();
        let mut entries = Vec::new();
        for version in manifest.history() {
            let flushed: HashSet<u64> = version
                .actions
                .iter()
                .filter_map(|a| match a {
                    Action::Flushed { table_id, .. } => Some(*table_id),
                    _ => None,
                })
                .collect();
            let mut bulk_rows: BTreeMap<u64, u64> = BTreeMap::new();
            for action in &version.actions {
                match action {
                    Action::CreateTable { table } if table.name == name => {
                        ids.insert(table.id);
                        schema_versions.insert(table.id, 1);
                        entries.push(HistoryEntry {
                            commit_ts: version.commit_ts,
                            operation: "CREATE TABLE",
                            rows_added: 0,
                            schema_version: 1,
                        });
                    }
                    // Also a table renamed to this name: its history from then on.
                    Action::AlterTable { table }
                        if ids.contains(&table.id) || table.name == name =>
                    {
                        ids.insert(table.id);
                        schema_versions.insert(table.id, table.schema_version);
                        entries.push(HistoryEntry {
                            commit_ts: version.commit_ts,
                            operation: "ALTER TABLE",
                            rows_added: 0,
                            schema_version: table.schema_version,
                        });
                    }
                    Action::ReplaceBlocks { table_id, .. } if ids.contains(table_id) => {
                        entries.push(HistoryEntry {
                            commit_ts: version.commit_ts,
                            operation: "COMPACT",
                            rows_added: 0,
                            schema_version: schema_versions[table_id],
                        });
                    }
                    Action::AddBlock { table_id, block }
                        if ids.contains(table_id) && !forgotten.contains(table_id) =>
                    {
                        let schema_version = schema_versions[table_id];
                        // A block compacted away and forgotten past retention can
                        // still be named by the oldest version kept.
                        if flushed.contains(table_id) && self.paths().resolve(&block.path).exists()
                        {
                            for (commit_ts, rows) in block_commits(self, block)? {
                                entries.push(HistoryEntry {
                                    commit_ts,
                                    operation: "INSERT",
                                    rows_added: rows,
                                    schema_version,
                                });
                            }
                        } else {
                            *bulk_rows.entry(*table_id).or_default() += block.rows;
                        }
                    }
                    _ => {}
                }
            }
            for (table_id, rows) in bulk_rows {
                entries.push(HistoryEntry {
                    commit_ts: version.commit_ts,
                    operation: "INSERT",
                    rows_added: rows,
                    schema_version: schema_versions[&table_id],
                });
            }
            for action in &version.actions {
                if let Action::DropTable { table_id } = action {
                    if ids.remove(table_id) {
                        entries.push(HistoryEntry {
                            commit_ts: version.commit_ts,
                            operation: "DROP TABLE",
                            rows_added: 0,
                            schema_version: schema_versions[table_id],
                        });
                    }
                }
            }
        }
        let live = self.state.read();
        for table_id in &ids {
            if let Some(memtable) = live.memtables.get(table_id) {
                for entry in memtable.entries() {
                    entries.push(HistoryEntry {
                        commit_ts: entry.commit_ts,
                        operation: "INSERT",
                        rows_added: entry.rows.num_rows() as u64,
                        schema_version: schema_versions[table_id],
                    });
                }
            }
        }
        if entries.is_empty() {
            return Err(Error::UndefinedTable(format!(
                "relation \"{name}\" does not exist and has no history"
            )));
        }
        entries.sort_by_key(|e| e.commit_ts);
        Ok(entries)
    }
}

/// Rows of a table committed at or before a time but flushed after it.
pub struct LaterFlushes {
    /// Blocks flushed after the time that hold some rows committed at or before it.
    pub blocks: Vec<BlockMeta>,
    /// The highest LSN those flushes cover.
    pub lsn: u64,
    /// A flush after the time holds rows committed after it, so no row still unflushed
    /// can have been committed at or before it.
    pub past_ts: bool,
}

/// Searches the flushes of `table_id` after manifest version `after` for rows
/// committed at or before `ts`. Flushes write rows in commit order, so the search ends
/// at the first flush holding a row committed after `ts`.
pub fn later_flushes(manifest: &Manifest, after: u64, table_id: u64, ts: i64) -> LaterFlushes {
    let mut later = LaterFlushes {
        blocks: Vec::new(),
        lsn: 0,
        past_ts: false,
    };
    for version in manifest.versions_after(after) {
        let Some(lsn) = version.actions.iter().find_map(|a| match a {
            Action::Flushed { table_id: id, lsn } if *id == table_id => Some(*lsn),
            _ => None,
        }) else {
            continue;
        };
        for action in &version.actions {
            if let Action::AddBlock {
                table_id: id,
                block,
            } = action
            {
                if *id == table_id && block.min_commit_ts <= ts {
                    later.blocks.push(block.clone());
                    later.lsn = later.lsn.max(lsn);
                }
                later.past_ts |= *id == table_id && block.max_commit_ts > ts;
            }
        }
        if later.past_ts {
            break;
        }
    }
    later
}

/// The commits inside a flushed block: (commit timestamp, rows), read from its
/// commit-timestamp column alone.
fn block_commits(db: &Database, block: &BlockMeta) -> Result<Vec<(i64, u64)>> {
    let path = db.paths().resolve(&block.path);
    let file = std::fs::File::open(&path).map_err(|e| Error::io_context(e, path.display()))?;
    let corrupt = |e: parquet::errors::ParquetError| {
        Error::Corruption(format!("block {} cannot be read: {e}", path.display()))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(corrupt)?;
    let last = builder.parquet_schema().num_columns() - 1;
    let mask = ProjectionMask::leaves(builder.parquet_schema(), [last]);
    let reader = builder.with_projection(mask).build().map_err(corrupt)?;
    let mut commits: Vec<(i64, u64)> = Vec::new();
    for batch in reader {
        let batch = batch?;
        let ts = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| {
                Error::Corruption(format!("block {} has no commit timestamps", path.display()))
            })?;
        for i in 0..ts.len() {
            match commits.last_mut() {
                Some((t, n)) if *t == ts.value(i) => *n += 1,
                _ => commits.push((ts.value(i), 1)),
            }
        }
    }
    Ok(commits)
}

/// A commit timestamp as PostgreSQL prints a timestamptz in UTC.
pub fn format_ts(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string())
        .unwrap_or_else(|| micros.to_string())
}

fn format_duration(micros: i64) -> String {
    let seconds = micros / 1_000_000;
    match seconds {
        s if s % 86_400 == 0 => format!("{} day(s)", s / 86_400),
        s if s % 3_600 == 0 => format!("{} hour(s)", s / 3_600),
        s if s % 60 == 0 => format!("{} minute(s)", s / 60),
        s => format!("{s} second(s)"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use arrow::array::{Int32Array, RecordBatch};

    use super::*;
    use crate::catalog::column::int_table;
    use crate::config::Config;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn history_past_retention_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path());
        config.retention = Duration::from_millis(500);
        config.manifest_checkpoint_every = 2;
        let db = Database::open(config).unwrap();
        db.create_table(int_table("t"), false).unwrap();
        let t = db.table("t").unwrap();
        let rows = RecordBatch::try_new(
            t.physical_schema(),
            vec![Arc::new(Int32Array::from(vec![1, 2]))],
        )
        .unwrap();
        db.commit_rows(t.id, rows).await.unwrap();
        let before_drop = db.clock.last();
        db.drop_table("t", false).unwrap();
        let block = db.manifest.lock().state().dropped[&t.id].blocks[0].clone();
        let block_path = db.paths().resolve(&block.path);
        assert!(
            block_path.exists(),
            "dropping flushed the rows into a block"
        );
        assert_eq!(db.snapshot_at("t", before_drop).unwrap().blocks.len(), 0);
        for name in ["u", "v", "w"] {
            db.create_table(int_table(name), false).unwrap();
        }

        std::thread::sleep(Duration::from_millis(700));
        db.prune_history().unwrap();
        assert!(!block_path.exists(), "the dropped table's block is deleted");
        assert!(db.manifest.lock().state().dropped.is_empty());
        assert!(
            !db.paths().manifest_version(1).exists(),
            "versions before the newest checkpoint at the horizon are deleted"
        );
        let err = db.snapshot_at("u", before_drop).unwrap_err().to_string();
        assert!(err.contains("at the earliest"), "{err}");
        assert!(db.snapshot_at("u", db.clock.last()).is_ok());
        db.shutdown().await.unwrap();
        let reopened = Database::open({
            let mut config = Config::new(dir.path());
            config.retention = Duration::from_millis(500);
            config
        })
        .unwrap();
        assert!(reopened.table("w").is_some());
        reopened.shutdown().await.unwrap();
    }
}

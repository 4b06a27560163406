//! The database: the manifest, the WAL and the memtables of one data directory, and the
//! operations that keep them consistent (commit, flush, recovery, create/drop table).
//!
//! Two ways to commit rows, both atomic and both on the one timeline:
//! - `commit_rows`: small writes go through the WAL (group commit) into the memtable.
//! - `commit_blocks`: large writes (see `writer.rs`) have already written durable staged
//!   blocks; one manifest version adds them all at once.
//!
//! Locks are taken in one order: `manifest` before `state`. `state` is what scans read: a
//! copy of the current manifest state plus the memtables, swapped under its write lock
//! so a scan sees either the rows in the memtable or the block holding them, never both.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use parking_lot::{Mutex, RwLock};

use super::block::BlockSet;
use super::clock::Clock;
use super::codec::{Purpose, Tuner};
use super::manifest::{Action, BlockMeta, Manifest, ManifestState};
use super::memtable::{MemEntry, Memtable};
use super::paths::Paths;
use super::wal::{self, Committed, Wal};
use crate::catalog::TableDef;
use crate::config::Config;
use crate::error::{Error, Result};

/// What a scan reads: the table's definition, its blocks and its unflushed rows, all as
/// of one instant.
#[derive(Debug, Clone)]
pub struct TableSnapshot {
    /// The data directory, which block paths are relative to.
    pub root: std::path::PathBuf,
    pub def: TableDef,
    pub blocks: Vec<BlockMeta>,
    /// Memtable rows in the physical schema plus the commit-timestamp column.
    pub memtable: Vec<RecordBatch>,
    /// For a snapshot of the past: blocks flushed after `as_of` that also hold rows
    /// committed at or before it; only rows with `_grizzly_commit_ts <= as_of` count.
    pub later_blocks: Vec<BlockMeta>,
    /// The commit timestamp the snapshot is as of, if not the present.
    pub as_of: Option<i64>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) manifest: ManifestState,
    pub(super) memtables: HashMap<u64, Memtable>,
}

pub struct Database {
    pub(super) config: Config,
    pub(super) paths: Paths,
    pub(super) clock: Arc<Clock>,
    pub(super) manifest: Mutex<Manifest>,
    pub(super) state: Arc<RwLock<State>>,
    pub(super) wal: Wal,
    /// One flush at a time.
    flush_lock: tokio::sync::Mutex<()>,
    /// Per table, between writes and ALTER TABLE: a write holds it shared from the start
    /// of its statement to its commit, ALTER exclusively (as PostgreSQL's table locks).
    table_locks: Mutex<HashMap<u64, Arc<tokio::sync::RwLock<()>>>>,
    /// Counts CREATE, ALTER and DROP TABLE, so plans made before one can be remade.
    ddl_epoch: std::sync::atomic::AtomicU64,
    /// Each table's reads and writes, from which `auto` compression picks codecs.
    tuner: Tuner,
    /// One compaction at a time.
    pub(super) compaction_lock: Mutex<()>,
    /// Held by a backup: `prune_history` deletes nothing meanwhile.
    pub(super) pruning: tokio::sync::Mutex<()>,
}

/// Held by a write to a table from its start to its commit; keeps ALTER TABLE out.
pub type WriteLock = tokio::sync::OwnedRwLockReadGuard<()>;
/// Held by ALTER TABLE; no write to the table is in flight while it is held.
pub type AlterLock = tokio::sync::OwnedRwLockWriteGuard<()>;

impl Database {
    /// Opens (or creates) the data directory and recovers: loads the manifest, replays the
    /// WAL past each table's flushed LSN into memtables, and deletes block files that no
    /// manifest version refers to (left by a crash before their commit).
    pub fn open(config: Config) -> Result<Arc<Database>> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| Error::io_context(e, config.data_dir.display()))?;
        let root = std::fs::canonicalize(&config.data_dir)?;
        let paths = Paths::new(root);
        let manifest = Manifest::open(&paths, config.manifest_checkpoint_every)?;
        let clock = Arc::new(Clock::new(manifest.state().commit_ts));

        let mut state = State {
            manifest: manifest.state().clone(),
            memtables: HashMap::new(),
        };
        let mut replayed = 0u64;
        let end = wal::replay(&paths, |record| {
            let Some(table) = state.manifest.tables.get(&record.table_id) else {
                return Ok(()); // the table was dropped after this commit
            };
            if record.lsn <= table.flushed_lsn {
                return Ok(()); // already in a block
            }
            let schema = table.def.physical_schema_with_ts();
            let rows = table.def.conform(&record.rows)?;
            state.memtables.entry(record.table_id).or_default().insert(
                record.lsn,
                record.commit_ts,
                &rows,
                &schema,
            )?;
            replayed += 1;
            Ok(())
        })?;
        clock.observe(end.last_commit_ts);
        let flushed_max = state
            .manifest
            .tables
            .values()
            .map(|t| t.flushed_lsn)
            .max()
            .unwrap_or(0);
        let next_lsn = end.next_lsn.max(flushed_max + 1);
        if replayed > 0 {
            tracing::info!("recovered {replayed} commits from the WAL");
        }
        remove_orphan_blocks(&paths, &manifest)?;

        let state = Arc::new(RwLock::new(state));
        let apply_state = state.clone();
        let apply: wal::ApplyFn = Box::new(move |records| {
            let mut state = apply_state.write();
            let State {
                manifest,
                memtables,
            } = &mut *state;
            for record in records {
                // A table dropped while its commit was queued simply loses the rows.
                if let Some(table) = manifest.tables.get(&record.table_id) {
                    let schema = table.def.physical_schema_with_ts();
                    let memtable = memtables.entry(record.table_id).or_default();
                    if let Err(err) =
                        memtable.insert(record.lsn, record.commit_ts, &record.rows, &schema)
                    {
                        tracing::error!("applying WAL record {} failed: {err}", record.lsn);
                    }
                }
            }
        });
        let tuner = Tuner::open(paths.root().join("tuner.json"));
        let wal = Wal::start(
            &paths,
            config.wal_segment_bytes,
            next_lsn,
            clock.clone(),
            apply,
        )?;
        Ok(Arc::new(Database {
            config,
            paths,
            clock,
            manifest: Mutex::new(manifest),
            state,
            wal,
            flush_lock: tokio::sync::Mutex::new(()),
            table_locks: Mutex::new(HashMap::new()),
            ddl_epoch: Default::default(),
            tuner,
            compaction_lock: Mutex::new(()),
            pruning: tokio::sync::Mutex::new(()),
        }))
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn tuner(&self) -> &Tuner {
        &self.tuner
    }

    /// Deletes the files of blocks no manifest version needs any more.
    pub(super) fn delete_block_files<'a>(&self, blocks: impl IntoIterator<Item = &'a BlockMeta>) {
        for block in blocks {
            let path = self.paths.resolve(&block.path);
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!("cannot delete block {}: {err}", path.display());
            }
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn table(&self, name: &str) -> Option<TableDef> {
        self.state
            .read()
            .manifest
            .table_by_name(name)
            .map(|t| t.def.clone())
    }

    pub fn table_by_id(&self, table_id: u64) -> Option<TableDef> {
        self.state
            .read()
            .manifest
            .tables
            .get(&table_id)
            .map(|t| t.def.clone())
    }

    /// The table's schema version (1 at CREATE, one more per ALTER), if it exists.
    pub fn schema_version(&self, table_id: u64) -> Option<u64> {
        let state = self.state.read();
        Some(state.manifest.tables.get(&table_id)?.def.schema_version)
    }

    /// The manifest version: it changes whenever a table is created, dropped or given
    /// new blocks, so a plan made at one version may be reused while it stays the same.
    pub fn manifest_version(&self) -> u64 {
        self.state.read().manifest.version
    }

    /// Every table's definition.
    pub fn tables(&self) -> Vec<TableDef> {
        self.state
            .read()
            .manifest
            .tables
            .values()
            .map(|t| t.def.clone())
            .collect()
    }

    pub fn table_names(&self) -> Vec<String> {
        self.state
            .read()
            .manifest
            .tables
            .values()
            .map(|t| t.def.name.clone())
            .collect()
    }

    pub fn snapshot(&self, table_id: u64) -> Option<TableSnapshot> {
        let state = self.state.read();
        let table = state.manifest.tables.get(&table_id)?;
        let memtable = state
            .memtables
            .get(&table_id)
            .map(|m| m.snapshot())
            .unwrap_or_default();
        Some(TableSnapshot {
            root: self.paths.root().to_path_buf(),
            def: table.def.clone(),
            blocks: table.blocks.clone(),
            memtable,
            later_blocks: Vec::new(),
            as_of: None,
        })
    }

    /// Creates a table; `def.id` is assigned here. Returns false if a table of that name
    /// exists and `if_not_exists` is set.
    pub fn create_table(&self, mut def: TableDef, if_not_exists: bool) -> Result<bool> {
        let mut manifest = self.manifest.lock();
        if manifest.state().table_by_name(&def.name).is_some() {
            if if_not_exists {
                return Ok(false);
            }
            return Err(Error::DuplicateTable(format!(
                "relation \"{}\" already exists",
                def.name
            )));
        }
        def.id = manifest.state().next_table_id;
        manifest.commit(self.clock.next(), vec![Action::CreateTable { table: def }])?;
        self.publish_ddl(&manifest, |_| {});
        Ok(true)
    }

    /// Drops a table. Its blocks stay on disk and its memtable rows are flushed into a
    /// block committed by the same manifest version, so time travel can still read the
    /// table as it was before the drop. Returns false if it did not exist and `if_exists`.
    pub fn drop_table(&self, name: &str, if_exists: bool) -> Result<bool> {
        let mut manifest = self.manifest.lock();
        let Some(table) = manifest.state().table_by_name(name) else {
            if if_exists {
                return Ok(false);
            }
            return Err(Error::UndefinedTable(format!(
                "table \"{name}\" does not exist"
            )));
        };
        let def = table.def.clone();
        let drop = Action::DropTable { table_id: def.id };
        self.commit_with_memtable(&mut manifest, &def, drop)?;
        Ok(true)
    }

    fn table_lock(&self, table_id: u64) -> Arc<tokio::sync::RwLock<()>> {
        self.table_locks.lock().entry(table_id).or_default().clone()
    }

    /// Waits until no ALTER TABLE of the table runs, and keeps one from starting.
    pub async fn lock_for_write(&self, table_id: u64) -> WriteLock {
        self.table_lock(table_id).read_owned().await
    }

    /// Waits until no write to the table is in flight, and keeps new ones waiting.
    pub async fn lock_for_alter(&self, table_id: u64) -> AlterLock {
        self.table_lock(table_id).write_owned().await
    }

    /// Replaces a table's definition (ALTER TABLE); the caller holds its `AlterLock`.
    /// The memtable's rows are flushed into a block under the old definition by the same
    /// manifest version, so the memtable only ever holds rows of the current definition.
    /// No block is rewritten: scans read blocks of older definitions through the current
    /// one (`table::scan`).
    pub async fn alter_table(&self, def: TableDef) -> Result<()> {
        let _flushing = self.flush_lock.lock().await;
        let table_id = def.id;
        let mut manifest = self.manifest.lock();
        let Some(table) = manifest.state().tables.get(&table_id) else {
            return Err(Error::UndefinedTable(format!(
                "relation \"{}\" does not exist",
                def.name
            )));
        };
        let old = table.def.clone();
        if old.name != def.name && manifest.state().table_by_name(&def.name).is_some() {
            return Err(Error::DuplicateTable(format!(
                "relation \"{}\" already exists",
                def.name
            )));
        }
        let alter = Action::AlterTable { table: def };
        tokio::task::block_in_place(|| self.commit_with_memtable(&mut manifest, &old, alter))
    }

    /// Commits `change` to the table `def` together with a flush of its memtable (written
    /// under `def`), and empties the memtable: DROP and ALTER TABLE keep the rows that
    /// were committed before them in the version that makes the change.
    fn commit_with_memtable(
        &self,
        manifest: &mut Manifest,
        def: &TableDef,
        change: Action,
    ) -> Result<()> {
        let table_id = def.id;
        let entries = self
            .state
            .read()
            .memtables
            .get(&table_id)
            .map(|m| m.entries().to_vec())
            .unwrap_or_default();
        let mut actions = Vec::new();
        let mut written = Vec::new();
        if let Some((blocks, lsn)) = self.write_blocks(def, &entries)? {
            for block in blocks {
                written.push(self.paths.resolve(&block.path));
                self.tuner.note_partition_write(table_id, &block.partition);
                actions.push(Action::AddBlock { table_id, block });
            }
            actions.push(Action::Flushed { table_id, lsn });
        }
        actions.push(change);
        if let Err(err) = manifest.commit(self.clock.next(), actions) {
            for path in written {
                let _ = std::fs::remove_file(path);
            }
            return Err(err);
        }
        self.publish_ddl(manifest, |state| {
            state.memtables.remove(&table_id);
        });
        Ok(())
    }

    /// Commits `rows` (in the table's physical schema) through the WAL.
    pub async fn commit_rows(&self, table_id: u64, rows: RecordBatch) -> Result<Committed> {
        if !self.state.read().manifest.tables.contains_key(&table_id) {
            return Err(Error::UndefinedTable(format!(
                "table {table_id} was dropped"
            )));
        }
        let committed = self.wal.commit(table_id, rows).await?;
        self.tuner.note_write(table_id);
        Ok(committed)
    }

    /// Commits durable staged blocks in one manifest version; returns the commit timestamp.
    pub fn commit_blocks(&self, table_id: u64, mut blocks: Vec<BlockMeta>) -> Result<i64> {
        let mut manifest = self.manifest.lock();
        if !manifest.state().tables.contains_key(&table_id) {
            return Err(Error::UndefinedTable(format!(
                "table {table_id} was dropped"
            )));
        }
        let commit_ts = self.clock.next();
        let partitions: Vec<String> = blocks.iter().map(|b| b.partition.clone()).collect();
        let actions: Vec<Action> = blocks
            .drain(..)
            .map(|mut block| {
                block.min_commit_ts = commit_ts;
                block.max_commit_ts = commit_ts;
                Action::AddBlock { table_id, block }
            })
            .collect();
        manifest.commit(commit_ts, actions)?;
        self.publish(&manifest, |_| {});
        self.tuner.note_write(table_id);
        for partition in partitions {
            self.tuner.note_partition_write(table_id, &partition);
        }
        Ok(commit_ts)
    }

    /// How many times a table has been created, altered or dropped since start-up.
    pub fn ddl_epoch(&self) -> u64 {
        self.ddl_epoch.load(std::sync::atomic::Ordering::Acquire)
    }

    fn publish_ddl(&self, manifest: &Manifest, also: impl FnOnce(&mut State)) {
        self.publish(manifest, also);
        self.ddl_epoch
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Copies the manifest's new state into `state`, together with `also`, atomically.
    pub(super) fn publish(&self, manifest: &Manifest, also: impl FnOnce(&mut State)) {
        let mut state = self.state.write();
        state.manifest = manifest.state().clone();
        also(&mut state);
    }

    /// Flushes every memtable over its size or age limit (or every non-empty one if
    /// `all`), then releases WAL segments no memtable needs.
    pub async fn flush(&self, all: bool) -> Result<()> {
        let _guard = self.flush_lock.lock().await;
        let due: Vec<u64> = {
            let state = self.state.read();
            state
                .memtables
                .iter()
                .filter(|(_, m)| {
                    !m.is_empty()
                        && (all
                            || m.bytes() >= self.config.memtable_flush_bytes
                            || m.oldest()
                                .is_some_and(|t| t.elapsed() >= self.config.memtable_flush_age))
                })
                .map(|(id, _)| *id)
                .collect()
        };
        for table_id in due {
            tokio::task::block_in_place(|| self.flush_table(table_id))?;
        }
        let min_needed = {
            let state = self.state.read();
            state
                .memtables
                .values()
                .filter_map(|m| m.first_lsn())
                .min()
                .unwrap_or(u64::MAX)
        };
        self.wal.release(min_needed)
    }

    fn flush_table(&self, table_id: u64) -> Result<()> {
        let (def, entries) = {
            let state = self.state.read();
            let (Some(table), Some(memtable)) = (
                state.manifest.tables.get(&table_id),
                state.memtables.get(&table_id),
            ) else {
                return Ok(());
            };
            (table.def.clone(), memtable.entries().to_vec())
        };
        let Some((blocks, flushed_lsn)) = self.write_blocks(&def, &entries)? else {
            return Ok(());
        };
        let paths: Vec<_> = blocks.iter().map(|b| self.paths.resolve(&b.path)).collect();
        let remove = || {
            for path in &paths {
                let _ = std::fs::remove_file(path);
            }
        };

        let mut manifest = self.manifest.lock();
        if !manifest.state().tables.contains_key(&table_id) {
            drop(manifest);
            remove(); // dropped meanwhile
            return Ok(());
        }
        let partitions: Vec<String> = blocks.iter().map(|b| b.partition.clone()).collect();
        let mut actions: Vec<Action> = blocks
            .into_iter()
            .map(|block| Action::AddBlock { table_id, block })
            .collect();
        actions.push(Action::Flushed {
            table_id,
            lsn: flushed_lsn,
        });
        if let Err(err) = manifest.commit(self.clock.next(), actions) {
            drop(manifest);
            remove();
            return Err(err);
        }
        self.publish(&manifest, |state| {
            if let Some(memtable) = state.memtables.get_mut(&table_id) {
                memtable.remove_up_to(flushed_lsn);
            }
        });
        for partition in partitions {
            self.tuner.note_partition_write(table_id, &partition);
        }
        tracing::debug!(
            "flushed {} rows of table {} to a block",
            entries.len(),
            def.name
        );
        Ok(())
    }

    /// Writes memtable `entries` of `def` to durable blocks, one per partition (with each
    /// row's commit timestamp); returns them and the last LSN they hold, or None if there
    /// are no entries. Each block records the commit range of the whole flush.
    fn write_blocks(
        &self,
        def: &TableDef,
        entries: &[MemEntry],
    ) -> Result<Option<(Vec<BlockMeta>, u64)>> {
        let Some(last) = entries.last() else {
            return Ok(None);
        };
        let codec = self.tuner.choose(def, Purpose::NewData);
        let schema = def.physical_schema_with_ts();
        let mut writer = BlockSet::new(&self.paths, def, &schema, codec);
        for entry in entries {
            if let Err(err) = writer.write(&entry.rows) {
                writer.abort();
                return Err(err);
            }
        }
        let mut blocks = writer.finish()?;
        let min_commit_ts = entries.iter().map(|e| e.commit_ts).min().unwrap_or(0);
        let max_commit_ts = entries.iter().map(|e| e.commit_ts).max().unwrap_or(0);
        for block in &mut blocks {
            block.has_commit_ts_column = true;
            block.min_commit_ts = min_commit_ts;
            block.max_commit_ts = max_commit_ts;
        }
        Ok(Some((blocks, last.lsn)))
    }

    /// Flushes everything and stops the WAL. Nothing is lost if this is never called:
    /// recovery replays the WAL instead.
    pub async fn shutdown(&self) -> Result<()> {
        let result = self.flush(true).await;
        self.wal.shutdown();
        if let Err(err) = self.tuner.save() {
            tracing::warn!("saving the compression tuner's counts failed: {err}");
        }
        result
    }
}

/// Deletes `.parquet` and `.tmp` files under `tables/` that no manifest version names.
fn remove_orphan_blocks(paths: &Paths, manifest: &Manifest) -> Result<()> {
    let known = manifest.known_block_paths();
    let tables = paths.tables_dir();
    let Ok(table_dirs) = std::fs::read_dir(&tables) else {
        return Ok(());
    };
    for table_dir in table_dirs {
        let table_dir = table_dir?.path();
        let Ok(partitions) = std::fs::read_dir(&table_dir) else {
            continue;
        };
        for partition in partitions {
            let partition = partition?.path();
            let Ok(files) = std::fs::read_dir(&partition) else {
                continue;
            };
            for file in files {
                let file = file?.path();
                let relative = file
                    .strip_prefix(paths.root())
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if !known.contains(&relative) {
                    tracing::info!("removing block never committed: {}", file.display());
                    std::fs::remove_file(&file)?;
                }
            }
        }
    }
    Ok(())
}

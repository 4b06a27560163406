//! The manifest: the log of every change to the database's tables, and the state it
//! replays to.
//!
//! Each commit writes one version file, `manifest/{version:020}.json`, holding
//! `{ "version", "commit_ts", "actions": [...] }`. Actions are create/alter/drop table,
//! add block and "flushed" (a table's WAL records up to an LSN now live in blocks). The state
//! at any version is the log replayed up to it; every `checkpoint_every` versions the
//! whole state is also written as `{version:020}.checkpoint` so that opening does not
//! replay from the beginning. Files are written atomically (temporary file, fsync,
//! rename, fsync of the directory) and never rewritten, so every file present is whole
//! and the current version is simply the highest-numbered one.
//!
//! Invariants: versions are dense (1, 2, 3, ...) and their commit timestamps strictly
//! increase; a block is referenced only after its file is durable; dropped tables keep
//! their blocks in `ManifestState::dropped` (their files stay until retention allows
//! deleting them, which time travel relies on).
//!
//! Not here: choosing what to flush (`Database`), writing blocks (`block.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;

use serde::{Deserialize, Serialize};

use super::paths::{self, Paths};
use crate::catalog::TableDef;
use crate::error::{Error, Result};
use crate::{errcorrupt, errinternal};

/// One immutable Parquet block of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockMeta {
    pub id: String,
    /// Path relative to the data directory (`Paths::block_relative`).
    pub path: String,
    pub partition: String,
    pub rows: u64,
    pub bytes: u64,
    /// Range of commit timestamps of the rows inside.
    pub min_commit_ts: i64,
    pub max_commit_ts: i64,
    /// Blocks flushed from the memtable store each row's commit timestamp in the hidden
    /// column; blocks written by one bulk commit do not (all rows share `min_commit_ts`).
    pub has_commit_ts_column: bool,
    /// The block's codec, as a table's `compression` option names it (`lz4`, `zstd(3)`,
    /// `none`); blocks written before the tuner existed are LZ4.
    #[serde(default = "lz4")]
    pub codec: String,
    /// The size of its column data before compression (0 where not recorded).
    #[serde(default)]
    pub uncompressed_bytes: u64,
    /// The columns, by id, its rows are sorted by (compaction under a `sort_by` key);
    /// empty when unsorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sorted_by: Vec<u32>,
}

fn lz4() -> String {
    "lz4".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    CreateTable {
        table: TableDef,
    },
    DropTable {
        table_id: u64,
    },
    AddBlock {
        table_id: u64,
        block: BlockMeta,
    },
    /// The table's WAL records with LSN <= `lsn` are all in blocks now.
    Flushed {
        table_id: u64,
        lsn: u64,
    },
    /// A table dropped before the retention horizon is forgotten: its blocks are deleted.
    ForgetTable {
        table_id: u64,
    },
    /// ALTER TABLE: the table's definition from now on (same id; columns keep their ids).
    AlterTable {
        table: TableDef,
    },
    /// Compaction: the blocks `removed` (by id) hold the same rows as the blocks `added`.
    /// The removed blocks are retired, not deleted: time travel still reads them.
    ReplaceBlocks {
        table_id: u64,
        removed: Vec<String>,
        added: Vec<BlockMeta>,
    },
    /// Retired blocks past their table's retention are forgotten: their files are deleted.
    ForgetBlocks {
        table_id: u64,
        ids: Vec<String>,
    },
}

/// A block replaced by compaction, kept while time travel may still read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetiredBlock {
    pub table_id: u64,
    pub block: BlockMeta,
    pub retired_ts: i64,
}

/// One version of the manifest log, as stored in its file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    pub version: u64,
    pub commit_ts: i64,
    pub actions: Vec<Action>,
}

/// A live (or dropped) table as of a manifest version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableState {
    pub def: TableDef,
    pub created_ts: i64,
    pub blocks: Vec<BlockMeta>,
    pub flushed_lsn: u64,
    pub dropped_ts: Option<i64>,
}

/// The replayed state; also the content of a checkpoint file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManifestState {
    pub version: u64,
    pub commit_ts: i64,
    pub next_table_id: u64,
    pub tables: BTreeMap<u64, TableState>,
    pub dropped: BTreeMap<u64, TableState>,
    #[serde(default)]
    pub retired: Vec<RetiredBlock>,
}

impl ManifestState {
    /// Every block some kept version refers to: the tables' blocks, dropped tables'
    /// blocks and blocks compaction retired, all on disk until retention has passed.
    pub fn known_blocks(&self) -> impl Iterator<Item = &BlockMeta> {
        self.tables
            .values()
            .chain(self.dropped.values())
            .flat_map(|t| t.blocks.iter())
            .chain(self.retired.iter().map(|r| &r.block))
    }

    /// The state of a new data directory, before its first version.
    pub fn empty() -> ManifestState {
        ManifestState {
            next_table_id: 1,
            ..Default::default()
        }
    }

    pub fn table_by_name(&self, name: &str) -> Option<&TableState> {
        self.tables.values().find(|t| t.def.name == name)
    }

    fn apply(&mut self, version: &Version) -> Result<()> {
        let ts = version.commit_ts;
        for action in &version.actions {
            match action {
                Action::CreateTable { table } => {
                    self.next_table_id = self.next_table_id.max(table.id + 1);
                    let state = TableState {
                        def: table.clone(),
                        created_ts: ts,
                        blocks: Vec::new(),
                        flushed_lsn: 0,
                        dropped_ts: None,
                    };
                    self.tables.insert(table.id, state);
                }
                Action::DropTable { table_id } => {
                    let mut table = self
                        .tables
                        .remove(table_id)
                        .ok_or_else(|| errinternal!("manifest drops unknown table {table_id}"))?;
                    table.dropped_ts = Some(ts);
                    self.dropped.insert(*table_id, table);
                }
                Action::AddBlock { table_id, block } => {
                    self.table_mut(*table_id)?.blocks.push(block.clone());
                }
                Action::Flushed { table_id, lsn } => {
                    let table = self.table_mut(*table_id)?;
                    table.flushed_lsn = table.flushed_lsn.max(*lsn);
                }
                Action::ForgetTable { table_id } => {
                    self.dropped.remove(table_id);
                }
                Action::AlterTable { table } => {
                    self.table_mut(table.id)?.def = table.clone();
                }
                Action::ReplaceBlocks {
                    table_id,
                    removed,
                    added,
                } => {
                    let table = self.table_mut(*table_id)?;
                    let mut retired = Vec::with_capacity(removed.len());
                    for id in removed {
                        let position = table.blocks.iter().position(|b| &b.id == id);
                        let position = position.ok_or_else(|| {
                            errinternal!(
                                "compaction replaces unknown block {id} of table {table_id}"
                            )
                        })?;
                        retired.push(RetiredBlock {
                            table_id: *table_id,
                            block: table.blocks.remove(position),
                            retired_ts: ts,
                        });
                    }
                    table.blocks.extend(added.iter().cloned());
                    self.retired.extend(retired);
                }
                Action::ForgetBlocks { table_id, ids } => {
                    self.retired
                        .retain(|r| r.table_id != *table_id || !ids.contains(&r.block.id));
                }
            }
        }
        self.version = version.version;
        self.commit_ts = ts;
        Ok(())
    }

    fn table_mut(&mut self, table_id: u64) -> Result<&mut TableState> {
        self.tables
            .get_mut(&table_id)
            .ok_or_else(|| errinternal!("manifest action for unknown table {table_id}"))
    }
}

/// The manifest log of one data directory. Callers serialize commits (the `Database`
/// holds it behind a lock).
#[derive(Debug)]
pub struct Manifest {
    paths: Paths,
    checkpoint_every: u64,
    state: ManifestState,
    /// Every version file on disk, in order: the history time travel replays.
    history: Vec<Arc<Version>>,
    /// Versions that have a checkpoint file.
    checkpoints: BTreeSet<u64>,
    /// The last state `state_at` rebuilt, by version.
    replayed: Mutex<Option<Arc<ManifestState>>>,
}

impl Manifest {
    /// Opens the manifest: loads the newest checkpoint and replays the versions after it.
    pub fn open(paths: &Paths, checkpoint_every: u64) -> Result<Manifest> {
        paths::create_dir_durable(&paths.manifest_dir())?;
        Manifest::load(paths, checkpoint_every, true)
    }

    /// Opens another data directory's manifest to read it, changing nothing on disk.
    pub fn open_read_only(paths: &Paths) -> Result<Manifest> {
        Manifest::load(paths, 0, false)
    }

    fn load(paths: &Paths, checkpoint_every: u64, writable: bool) -> Result<Manifest> {
        let dir = paths.manifest_dir();
        let mut versions = Vec::new();
        let mut checkpoints = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io_context(e, dir.display()))? {
            let path = entry?.path();
            if let Some(v) = paths::numbered_file(&path, "json") {
                versions.push(v);
            } else if let Some(v) = paths::numbered_file(&path, "checkpoint") {
                checkpoints.push(v);
            } else if writable && path.extension().is_some_and(|e| e == "tmp") {
                // A write that crashed before its rename; it was never part of the log.
                std::fs::remove_file(&path)?;
            }
        }
        versions.sort();
        let checkpoints: BTreeSet<u64> = checkpoints.into_iter().collect();
        let mut state = match checkpoints.iter().next_back() {
            Some(&v) => read_json::<ManifestState>(&paths.manifest_checkpoint(v))?,
            None => ManifestState::empty(),
        };
        let after = state.version;
        let mut history: Vec<Arc<Version>> = Vec::with_capacity(versions.len());
        for v in versions {
            if let Some(previous) = history.last() {
                if v != previous.version + 1 {
                    return Err(errcorrupt!(
                        "manifest version {} is missing (found {v}) in {}",
                        previous.version + 1,
                        dir.display()
                    ));
                }
            }
            let version: Version = read_json(&paths.manifest_version(v))?;
            if v > after {
                if v != state.version + 1 {
                    return Err(errcorrupt!(
                        "manifest version {} is missing (found {v}) in {}",
                        state.version + 1,
                        dir.display()
                    ));
                }
                state.apply(&version)?;
            }
            history.push(Arc::new(version));
        }
        Ok(Manifest {
            paths: paths.clone(),
            checkpoint_every,
            state,
            history,
            checkpoints,
            replayed: Mutex::new(None),
        })
    }

    /// The state as of `ts`: every version committed at or before it applied. `None`
    /// when `ts` is before the oldest history still kept (see `oldest_ts`).
    pub fn state_at(&self, ts: i64) -> Result<Option<Arc<ManifestState>>> {
        let count = self.history.partition_point(|v| v.commit_ts <= ts);
        let first = self.history.first().map_or(1, |v| v.version);
        if count == 0 {
            // Before the first version kept: the empty database if that is version 1.
            return Ok((first == 1).then(|| Arc::new(ManifestState::empty())));
        }
        let target = self.history[count - 1].version;
        if target == self.state.version {
            return Ok(Some(Arc::new(self.state.clone())));
        }
        if let Some(state) = self.replayed.lock().as_ref() {
            if state.version == target {
                return Ok(Some(state.clone()));
            }
        }
        let base = self
            .checkpoints
            .range(first.saturating_sub(1)..=target)
            .next_back()
            .copied();
        let mut state = match base {
            Some(v) => read_json::<ManifestState>(&self.paths.manifest_checkpoint(v))?,
            None if first == 1 => ManifestState::empty(),
            None => return Ok(None),
        };
        for version in &self.history[(state.version + 1 - first) as usize..count] {
            state.apply(version)?;
        }
        let state = Arc::new(state);
        *self.replayed.lock() = Some(state.clone());
        Ok(Some(state))
    }

    /// Deletes the history no time at or after `horizon` needs: versions and checkpoints
    /// older than the newest checkpoint committed at or before `horizon` (which stays, as
    /// the base that later states replay from). Returns how many files were deleted.
    pub fn prune_before(&mut self, horizon: i64) -> Result<usize> {
        let commit_ts = |version: u64| {
            let first = self.history.first().map_or(1, |v| v.version);
            version
                .checked_sub(first)
                .and_then(|i| self.history.get(i as usize))
                .map(|v| v.commit_ts)
        };
        let Some(base) = self
            .checkpoints
            .iter()
            .rev()
            .find(|&&c| commit_ts(c).is_some_and(|ts| ts <= horizon))
            .copied()
        else {
            return Ok(0);
        };
        let mut deleted = 0;
        while self.history.first().is_some_and(|v| v.version < base) {
            let version = self.history.remove(0).version;
            remove_if_present(&self.paths.manifest_version(version))?;
            deleted += 1;
        }
        while let Some(&checkpoint) = self.checkpoints.first().filter(|&&c| c < base) {
            self.checkpoints.remove(&checkpoint);
            remove_if_present(&self.paths.manifest_checkpoint(checkpoint))?;
            deleted += 1;
        }
        if deleted > 0 {
            paths::sync_dir(&self.paths.manifest_dir())?;
            *self.replayed.lock() = None;
        }
        Ok(deleted)
    }

    /// The versions committed after version `after`, oldest first.
    pub fn versions_after(&self, after: u64) -> &[Arc<Version>] {
        let start = self.history.partition_point(|v| v.version <= after);
        &self.history[start..]
    }

    /// Every version still kept, oldest first.
    pub fn history(&self) -> &[Arc<Version>] {
        &self.history
    }

    pub fn state(&self) -> &ManifestState {
        &self.state
    }

    /// Durably appends a version with `actions` at `commit_ts`, then applies it.
    pub fn commit(&mut self, commit_ts: i64, actions: Vec<Action>) -> Result<()> {
        let version = Version {
            version: self.state.version + 1,
            commit_ts,
            actions,
        };
        let mut next = self.state.clone();
        next.apply(&version)?;
        let bytes = serde_json::to_vec_pretty(&version)?;
        paths::write_atomic(&self.paths.manifest_version(version.version), &bytes)?;
        self.state = next;
        self.history.push(Arc::new(version));
        if self.checkpoint_every > 0 && self.state.version.is_multiple_of(self.checkpoint_every) {
            let bytes = serde_json::to_vec(&self.state)?;
            paths::write_atomic(&self.paths.manifest_checkpoint(self.state.version), &bytes)?;
            self.checkpoints.insert(self.state.version);
        }
        Ok(())
    }

    /// Paths of every block the manifest refers to, live, dropped or retired.
    pub fn known_block_paths(&self) -> std::collections::HashSet<String> {
        self.state.known_blocks().map(|b| b.path.clone()).collect()
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io_context(e, path.display()))
        }
        _ => Ok(()),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io_context(e, path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| errcorrupt!("manifest file {} cannot be read: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ColumnDef, ColumnType};

    fn table(id: u64, name: &str) -> TableDef {
        let column = ColumnDef {
            id: 1,
            name: "a".into(),
            column_type: ColumnType::Integer,
            not_null: false,
            default: None,
            missing: None,
        };
        TableDef {
            id,
            name: name.into(),
            columns: vec![column],
            next_column_id: 2,
            retention_micros: None,
            schema_version: 1,
            compression: Default::default(),
            partitioning: None,
            sort_by: Vec::new(),
        }
    }

    #[test]
    fn replays_versions_after_the_latest_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let mut manifest = Manifest::open(&paths, 2).unwrap();
        manifest
            .commit(
                10,
                vec![Action::CreateTable {
                    table: table(1, "t"),
                }],
            )
            .unwrap();
        manifest
            .commit(
                11,
                vec![Action::Flushed {
                    table_id: 1,
                    lsn: 5,
                }],
            )
            .unwrap();
        manifest
            .commit(
                12,
                vec![Action::CreateTable {
                    table: table(2, "u"),
                }],
            )
            .unwrap();
        manifest
            .commit(13, vec![Action::DropTable { table_id: 1 }])
            .unwrap();
        let expected = manifest.state().clone();
        assert!(paths.manifest_checkpoint(2).exists());

        let reopened = Manifest::open(&paths, 2).unwrap();
        assert_eq!(reopened.state(), &expected);
        assert_eq!(reopened.state().version, 4);
        assert!(reopened.state().table_by_name("t").is_none());
        assert_eq!(reopened.state().dropped[&1].dropped_ts, Some(13));
        assert_eq!(reopened.state().next_table_id, 3);
    }

    #[test]
    fn state_at_replays_history_from_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let mut manifest = Manifest::open(&paths, 2).unwrap();
        let t = Action::CreateTable {
            table: table(1, "t"),
        };
        let u = Action::CreateTable {
            table: table(2, "u"),
        };
        manifest.commit(10, vec![t]).unwrap();
        manifest
            .commit(
                20,
                vec![Action::Flushed {
                    table_id: 1,
                    lsn: 5,
                }],
            )
            .unwrap();
        manifest.commit(30, vec![u]).unwrap();
        manifest
            .commit(40, vec![Action::DropTable { table_id: 1 }])
            .unwrap();
        for manifest in [manifest, Manifest::open(&paths, 2).unwrap()] {
            let at = |ts| manifest.state_at(ts).unwrap().unwrap();
            assert!(at(9).tables.is_empty());
            assert_eq!(at(10).version, 1);
            assert_eq!(at(25).tables[&1].flushed_lsn, 5);
            assert_eq!(at(35).tables.len(), 2);
            assert!(at(40).table_by_name("t").is_none());
            assert_eq!(at(40).dropped[&1].dropped_ts, Some(40));
            assert_eq!(manifest.versions_after(2).len(), 2);
        }
    }

    #[test]
    fn a_failed_action_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let mut manifest = Manifest::open(&paths, 100).unwrap();
        assert!(manifest
            .commit(1, vec![Action::DropTable { table_id: 9 }])
            .is_err());
        assert_eq!(manifest.state().version, 0);
        assert!(!paths.manifest_version(1).exists());
    }
}

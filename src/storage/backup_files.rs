//! The files a backup copies (`backup/`): everything a restore needs to rebuild this data
//! directory as of any time from its oldest kept manifest version to a WAL sync point.
//!
//! - Every manifest version and checkpoint in `manifest/`.
//! - Every block any kept version refers to: the tables' blocks, dropped tables' blocks
//!   and blocks compaction retired, all still on disk within retention.
//! - The WAL segments in `wal/` up to the sync point, the last one only up to it. Rows
//!   flushed since are also in blocks the manifest lists, so the archive is not needed.
//!
//! Blocks and manifest files never change once written, and neither do a segment's
//! records before a sync point. So each block's and manifest file's key names its
//! content, and a backup uploads only the keys its target lacks; a segment goes up in
//! pieces, each backup adding the bytes since the last (`backup/take.rs`).
//! While a backup runs, `prune_history` deletes nothing (`pause_pruning`), so every
//! listed file can still be read.

use std::path::PathBuf;

use super::database::Database;
use super::wal::{self, SyncPoint};
use crate::error::{Error, Result};

/// One file a backup copies.
#[derive(Debug, Clone)]
pub struct BackupFile {
    /// Where to read it: the first of these that exists (a WAL segment may move to the
    /// archive while the backup runs).
    pub paths: Vec<PathBuf>,
    /// Its key in the backup, relative to the backup's prefix; for a WAL segment, its
    /// local name (`wal/<first lsn>.wal`), which the backup divides into pieces.
    pub key: String,
    /// Where in the file to start copying, and how many bytes.
    pub offset: u64,
    pub bytes: u64,
    pub kind: FileKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Block,
    Manifest,
    Wal,
}

/// What one backup copies, and the times a restore from it can reach.
#[derive(Debug)]
pub struct BackupSet {
    /// Every commit before this is in the backup, none after: the latest restore time.
    pub commit_ts: i64,
    /// The oldest manifest version's time: the earliest restore time.
    pub earliest_ts: i64,
    pub files: Vec<BackupFile>,
}

impl Database {
    /// Keeps `prune_history` from deleting anything until the guard is dropped; also
    /// makes backups of this database take turns.
    pub async fn pause_pruning(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.pruning.lock().await
    }

    /// The files of a backup as of now: a WAL sync point, then the manifest and blocks
    /// as they are after it (later versions do no harm: a restore reads the state at
    /// its time, and takes rows flushed after it from the blocks of later flushes).
    pub async fn backup_set(&self) -> Result<BackupSet> {
        let point = self.wal.sync_point().await?;
        let mut files = Vec::new();
        let earliest_ts = {
            let manifest = self.manifest.lock();
            let dir = self.paths.manifest_dir();
            let entries =
                std::fs::read_dir(&dir).map_err(|e| Error::io_context(e, dir.display()))?;
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().to_string();
                if name.ends_with(".json") || name.ends_with(".checkpoint") {
                    files.push(BackupFile {
                        offset: 0,
                        bytes: entry.metadata()?.len(),
                        paths: vec![entry.path()],
                        key: format!("manifest/{name}"),
                        kind: FileKind::Manifest,
                    });
                }
            }
            for block in manifest.state().known_blocks() {
                files.push(BackupFile {
                    paths: vec![self.paths.resolve(&block.path)],
                    key: block.path.clone(),
                    offset: 0,
                    bytes: block.bytes,
                    kind: FileKind::Block,
                });
            }
            manifest
                .history()
                .first()
                .map_or(point.commit_ts, |v| v.commit_ts)
        };
        files.extend(self.wal_files(&point)?);
        Ok(BackupSet {
            commit_ts: point.commit_ts,
            earliest_ts,
            files,
        })
    }

    /// The WAL segments up to the sync point.
    fn wal_files(&self, point: &SyncPoint) -> Result<Vec<BackupFile>> {
        let mut files = Vec::new();
        for (first_lsn, path) in wal::list_segments(&self.paths.wal_dir())? {
            if first_lsn > point.segment {
                continue;
            }
            let bytes = match first_lsn == point.segment {
                true => point.offset,
                false => std::fs::metadata(&path)
                    .map_err(|e| Error::io_context(e, path.display()))?
                    .len(),
            };
            let name = path.file_name().expect("a segment has a name").to_owned();
            files.push(BackupFile {
                key: format!("wal/{}", name.to_string_lossy()),
                paths: vec![path, self.paths.wal_archive_dir().join(name)],
                offset: 0,
                bytes,
                kind: FileKind::Wal,
            });
        }
        Ok(files)
    }
}

//! Typed paths inside the data directory, so that no file name is built twice.
//!
//! ```text
//! <data_dir>/
//!   wal/{first_lsn:020}.wal
//!   wal/archive/{first_lsn:020}.wal      flushed segments kept for retention
//!   manifest/{version:020}.json          one version of the manifest log
//!   manifest/{version:020}.checkpoint    the whole state as of that version
//!   tables/<table_id>/<partition>/<block_id>.parquet
//! ```

use std::path::{Path, PathBuf};

/// The partition directory of an unpartitioned table (partitioning comes later).
pub const DEFAULT_PARTITION: &str = "all";

#[derive(Debug, Clone)]
pub struct Paths {
    root: PathBuf,
}

impl Paths {
    pub fn new(root: impl Into<PathBuf>) -> Paths {
        Paths { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn wal_dir(&self) -> PathBuf {
        self.root.join("wal")
    }

    /// Segments no memtable needs, kept for retention (and backups).
    pub fn wal_archive_dir(&self) -> PathBuf {
        self.wal_dir().join("archive")
    }

    pub fn wal_segment(&self, first_lsn: u64) -> PathBuf {
        self.wal_dir().join(format!("{first_lsn:020}.wal"))
    }

    pub fn manifest_dir(&self) -> PathBuf {
        self.root.join("manifest")
    }

    pub fn manifest_version(&self, version: u64) -> PathBuf {
        self.manifest_dir().join(format!("{version:020}.json"))
    }

    pub fn manifest_checkpoint(&self, version: u64) -> PathBuf {
        self.manifest_dir()
            .join(format!("{version:020}.checkpoint"))
    }

    pub fn tables_dir(&self) -> PathBuf {
        self.root.join("tables")
    }

    /// A block's path relative to the data directory, as the manifest records it.
    pub fn block_relative(table_id: u64, partition: &str, block_id: &str) -> String {
        format!("tables/{table_id}/{partition}/{block_id}.parquet")
    }

    pub fn resolve(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }
}

/// Parses the number in a `{n:020}.ext` file name, if the name has that shape.
pub fn numbered_file(path: &Path, ext: &str) -> Option<u64> {
    if path.extension()? != ext {
        return None;
    }
    path.file_stem()?.to_str()?.parse().ok()
}

/// Writes `bytes` to `path` atomically and durably: a temporary file is written and
/// fsynced, renamed over `path`, and the directory is fsynced so the rename survives
/// power loss.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(path.parent().expect("a file has a parent directory"))
}

/// Makes a directory's entries (creations, renames) durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Creates `dir` and its parents, syncing each new entry's parent so that it survives
/// power loss.
pub fn create_dir_durable(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_durable(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

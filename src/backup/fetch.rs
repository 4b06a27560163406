//! Restoring from a backup: `grizzly restore --from s3://bucket/prefix [--backup ID]
//! [--to-time T] --data-dir NEW`.
//!
//! The backup's objects are downloaded into a staging directory next to NEW, laid out
//! as a data directory, each checked against the size and CRC32C its descriptor
//! records (a missing or damaged object fails the restore, naming it). Then the
//! point-in-time restore (`crate::restore`) builds NEW from the staging directory as
//! of T, which defaults to the backup's commit time, and the staging directory is
//! removed.

use std::path::{Path, PathBuf};

use futures::{stream, StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};

use super::{wal_piece, Descriptor, Location, Object};
use crate::error::{Error, Result};
use crate::restore::Restored;
use crate::storage::history::format_ts;

const PARALLEL_DOWNLOADS: usize = 4;

/// Which backup to restore and to what time.
#[derive(Debug, Default, Clone)]
pub struct Choice {
    pub backup: Option<String>,
    pub to_time: Option<i64>,
}

/// What a restore from a backup did.
#[derive(Debug)]
pub struct Fetched {
    pub backup: String,
    pub ts: i64,
    pub bytes_downloaded: u64,
    pub restored: Restored,
}

/// Restores a backup at `location` into the new data directory `data_dir`.
pub async fn restore(location: &Location, choice: &Choice, data_dir: &Path) -> Result<Fetched> {
    if data_dir.exists() && std::fs::read_dir(data_dir)?.next().is_some() {
        return Err(Error::InvalidInput(format!(
            "{} is not empty; restore into a new directory",
            data_dir.display()
        )));
    }
    let backups = super::list(location).await?;
    let backup = choose(&backups, choice, &location.url)?;
    let ts = choice.to_time.unwrap_or(backup.commit_ts);
    let staging = staging_dir(data_dir);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io_context(e, staging.display()))?;
    }
    let downloaded = download(location, backup, &staging).await;
    let result = match downloaded {
        Ok(bytes) => {
            let (from, to) = (staging.clone(), data_dir.to_path_buf());
            tokio::task::spawn_blocking(move || crate::restore::restore(&from, &to, ts))
                .await
                .map_err(|e| Error::Internal(format!("restore failed: {e}")))?
                .map(|restored| Fetched {
                    backup: backup.id.clone(),
                    ts,
                    bytes_downloaded: bytes,
                    restored,
                })
        }
        Err(err) => Err(err),
    };
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// The backup asked for, or the one that reaches the time asked for, or the latest.
fn choose<'a>(backups: &'a [Descriptor], choice: &Choice, url: &str) -> Result<&'a Descriptor> {
    let reaches = |b: &Descriptor, ts: i64| b.earliest_ts <= ts && ts <= b.commit_ts;
    let ranges = || {
        backups
            .iter()
            .map(|b| {
                format!(
                    "{} ({} to {})",
                    b.id,
                    format_ts(b.earliest_ts),
                    format_ts(b.commit_ts)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let backup = match (&choice.backup, choice.to_time) {
        (Some(id), _) => backups.iter().find(|b| &b.id == id).ok_or_else(|| {
            Error::InvalidInput(format!(
                "no backup \"{id}\" at {url}; its backups: {}",
                ranges()
            ))
        })?,
        (None, Some(ts)) => backups.iter().find(|b| reaches(b, ts)).ok_or_else(|| {
            Error::InvalidInput(format!(
                "no backup at {url} reaches {}; its backups reach: {}",
                format_ts(ts),
                ranges()
            ))
        })?,
        (None, None) => backups
            .last()
            .ok_or_else(|| Error::InvalidInput(format!("there are no backups at {url}")))?,
    };
    if let Some(ts) = choice.to_time {
        if !reaches(backup, ts) {
            return Err(Error::InvalidInput(format!(
                "backup {} reaches from {} to {}, not {}",
                backup.id,
                format_ts(backup.earliest_ts),
                format_ts(backup.commit_ts),
                format_ts(ts)
            )));
        }
    }
    Ok(backup)
}

/// `.<name>.download` next to the data directory: the same file system, so the restore
/// links blocks rather than copying them.
fn staging_dir(data_dir: &Path) -> PathBuf {
    let name = data_dir
        .file_name()
        .map_or("data".into(), |n| n.to_string_lossy().to_string());
    data_dir.with_file_name(format!(".{name}.download"))
}

/// Downloads and checks every object of `backup` into `staging`, then joins the pieces
/// of each WAL segment; returns the bytes.
async fn download(location: &Location, backup: &Descriptor, staging: &Path) -> Result<u64> {
    let total: u64 = backup.objects.iter().map(|o| o.bytes).sum();
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("downloading {bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(backup.id.clone());
    let result = stream::iter(&backup.objects)
        .map(|object| fetch_one(location, object, staging, &bar))
        .buffer_unordered(PARALLEL_DOWNLOADS)
        .try_fold(0u64, |sum, bytes| async move { Ok(sum + bytes) })
        .await;
    bar.finish_and_clear();
    let bytes = result?;
    join_wal_pieces(backup, staging)?;
    Ok(bytes)
}

/// Writes each WAL segment (`wal/<first lsn>.wal`) from its downloaded pieces, which
/// must cover it from its first byte without a gap.
fn join_wal_pieces(backup: &Descriptor, staging: &Path) -> Result<()> {
    let mut segments: std::collections::BTreeMap<String, Vec<(u64, u64, &str)>> =
        Default::default();
    for object in &backup.objects {
        if let Some((segment, start, end)) = wal_piece(&object.key) {
            segments
                .entry(segment)
                .or_default()
                .push((start, end, &object.key));
        }
    }
    for (segment, mut pieces) in segments {
        pieces.sort();
        let mut joined = Vec::new();
        for (start, end, key) in pieces {
            if start != joined.len() as u64 {
                return Err(Error::Corruption(format!(
                    "backup {} does not hold bytes {}..{start} of WAL segment {segment}",
                    backup.id,
                    joined.len()
                )));
            }
            let piece = staging.join(key);
            joined
                .extend(std::fs::read(&piece).map_err(|e| Error::io_context(e, piece.display()))?);
            std::fs::remove_file(&piece)?;
            debug_assert_eq!(joined.len() as u64, end);
        }
        let path = staging.join(&segment);
        std::fs::write(&path, joined).map_err(|e| Error::io_context(e, path.display()))?;
    }
    Ok(())
}

async fn fetch_one(
    location: &Location,
    object: &Object,
    staging: &Path,
    bar: &ProgressBar,
) -> Result<u64> {
    let bytes = location.get_if_present(&object.key).await?.ok_or_else(|| {
        Error::Corruption(format!(
            "backup object \"{}\" is missing from {}: this backup cannot be restored",
            object.key, location.url
        ))
    })?;
    let crc = crc32c::crc32c(&bytes);
    if bytes.len() as u64 != object.bytes || crc != object.crc32c {
        return Err(Error::Corruption(format!(
            "backup object \"{}\" at {} is damaged: {} bytes with CRC32C {crc:08x}, the \
             backup recorded {} bytes with CRC32C {:08x}",
            object.key,
            location.url,
            bytes.len(),
            object.bytes,
            object.crc32c
        )));
    }
    let path = staging.join(&object.key);
    let dir = path.parent().expect("an object has a directory");
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| Error::io_context(e, dir.display()))?;
    tokio::fs::write(&path, &bytes)
        .await
        .map_err(|e| Error::io_context(e, path.display()))?;
    bar.inc(object.bytes);
    Ok(object.bytes)
}

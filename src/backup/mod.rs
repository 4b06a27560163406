//! Incremental backups to object stores, and restores from them.
//!
//! A backup location (`location.rs`: `s3://bucket/prefix` or `file:///path`) holds:
//!
//! ```text
//! tables/<table_id>/<partition>/<block_id>.parquet   blocks, shared by every backup
//! manifest/{version:020}.json | .checkpoint          manifest log, shared
//! wal/{first_lsn:020}.{start}-{end}.wal              bytes start..end of a WAL segment
//! backups/<id>.json                                  one per backup: its objects
//! ```
//!
//! Every object's key names its content (`storage/backup_files.rs`), so a backup
//! (`take.rs`) uploads only the keys the location lacks, and no object is ever
//! overwritten. A WAL segment still being written goes up in pieces: each backup
//! uploads the bytes written since the pieces already there. A backup exists once its descriptor (`backups/<id>.json`, written last)
//! does: an interrupted backup leaves objects that no descriptor names, which the next
//! backup finds present and reuses, and every earlier backup stays whole. The
//! descriptor lists each object's size and CRC32C, so a restore (`fetch.rs`) detects a
//! missing or damaged object and names it.

pub mod fetch;
pub mod location;
pub mod take;

use serde::{Deserialize, Serialize};

pub use location::{Location, StoreConfig};

use crate::error::{Error, Result};

const DESCRIPTORS: &str = "backups";

/// A backup's descriptor: what it holds and the times a restore from it can reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    pub id: String,
    /// Every commit before this time is in the backup, none after: the latest time a
    /// restore reaches (microseconds since the epoch).
    pub commit_ts: i64,
    /// The earliest time a restore reaches: the oldest manifest version it holds.
    pub earliest_ts: i64,
    pub objects: Vec<Object>,
    /// The Grizzly version that took it.
    pub version: String,
}

/// One object of a backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object {
    pub key: String,
    pub bytes: u64,
    pub crc32c: u32,
}

/// A backup's id: its commit time, so ids sort in time order.
pub fn backup_id(commit_ts: i64) -> String {
    chrono::DateTime::from_timestamp_micros(commit_ts)
        .map(|t| t.format("%Y%m%dT%H%M%S%.6fZ").to_string())
        .unwrap_or_else(|| commit_ts.to_string())
}

/// The key of bytes `start..end` of the WAL segment whose local name is `segment`
/// (`wal/<first lsn>.wal`).
fn wal_piece_key(segment: &str, start: u64, end: u64) -> String {
    let stem = segment.strip_suffix(".wal").unwrap_or(segment);
    format!("{stem}.{start}-{end}.wal")
}

/// A WAL piece's segment (its local name) and byte range, from its key.
fn wal_piece(key: &str) -> Option<(String, u64, u64)> {
    let name = key.strip_prefix("wal/")?.strip_suffix(".wal")?;
    let (first_lsn, range) = name.split_once('.')?;
    let (start, end) = range.split_once('-')?;
    Some((
        format!("wal/{first_lsn}.wal"),
        start.parse().ok()?,
        end.parse().ok()?,
    ))
}

fn descriptor_key(id: &str) -> String {
    format!("{DESCRIPTORS}/{id}.json")
}

/// The backups at `location`, oldest first.
pub async fn list(location: &Location) -> Result<Vec<Descriptor>> {
    let mut backups = Vec::new();
    for (key, _) in location.list(DESCRIPTORS).await? {
        if !key.ends_with(".json") {
            continue;
        }
        let bytes = location.get(&key).await?;
        let descriptor: Descriptor = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Corruption(format!(
                "backup descriptor \"{key}\" at {} cannot be read: {e}",
                location.url
            ))
        })?;
        backups.push(descriptor);
    }
    backups.sort_by_key(|b| b.commit_ts);
    Ok(backups)
}

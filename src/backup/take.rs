//! Taking a backup while writes go on: a WAL sync point fixes the backup's commit time
//! (`Database::backup_set`), the files it needs are compared with what the location
//! already holds, the missing ones are uploaded a few at a time, and the descriptor is
//! written last. Pruning is paused meanwhile, so every listed file stays readable.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::{stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{backup_id, descriptor_key, wal_piece, wal_piece_key, Descriptor, Location, Object};
use crate::error::{Error, Result};
use crate::storage::backup_files::{BackupFile, FileKind};
use crate::storage::Database;

/// Objects uploaded at once.
const PARALLEL_UPLOADS: usize = 4;
/// Files larger than this go up in parts of this size (S3 wants parts of 5 MiB or more).
const PART_BYTES: u64 = 16 << 20;

/// What a backup did, as `grizzly_backup` returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub id: String,
    pub commit_ts: i64,
    pub bytes_uploaded: u64,
    pub blocks_uploaded: u64,
    pub blocks_present: u64,
    pub wal_segments: u64,
    pub duration: Duration,
}

/// Backs `db` up to `location`, telling `progress` how it goes.
pub async fn take(
    db: &Database,
    location: &Location,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Report> {
    let started = Instant::now();
    let _no_pruning = db.pause_pruning().await;
    let set = db.backup_set().await?;
    let id = backup_id(set.commit_ts);
    let present: HashMap<String, u64> = location.list("").await?.into_iter().collect();
    // The checksums earlier backups recorded, so files already uploaded are not read.
    let known: HashMap<String, Object> = super::list(location)
        .await?
        .into_iter()
        .flat_map(|backup| backup.objects)
        .map(|object| (object.key.clone(), object))
        .collect();

    let mut report = Report {
        id: id.clone(),
        commit_ts: set.commit_ts,
        bytes_uploaded: 0,
        blocks_uploaded: 0,
        blocks_present: 0,
        wal_segments: 0,
        duration: Duration::ZERO,
    };
    let mut objects = Vec::with_capacity(set.files.len());
    let mut uploads = Vec::new();
    let mut files = Vec::with_capacity(set.files.len());
    for file in set.files {
        match file.kind {
            FileKind::Wal => {
                let (pieces, rest) = wal_pieces(&file, &known, &present);
                objects.extend(pieces);
                files.extend(rest);
            }
            _ => files.push(file),
        }
    }
    for file in files {
        if present.get(&file.key) != Some(&file.bytes) {
            uploads.push(file);
            continue;
        }
        let object = match known.get(&file.key) {
            Some(object) if object.bytes == file.bytes => object.clone(),
            // Uploaded by a backup that was interrupted before its descriptor.
            _ => Object {
                key: file.key.clone(),
                bytes: file.bytes,
                crc32c: checksum(&file).await?,
            },
        };
        if file.kind == FileKind::Block {
            report.blocks_present += 1;
        }
        objects.push(object);
    }

    let total: u64 = uploads.iter().map(|f| f.bytes).sum();
    progress(&format!(
        "backup {id}: uploading {} files ({}), {} already at {}",
        uploads.len(),
        megabytes(total),
        objects.len(),
        location.url
    ));
    let count = uploads.len();
    let mut done = 0;
    let mut next_report = 0.1;
    let mut uploaded = stream::iter(uploads)
        .map(|file| upload(location, file))
        .buffer_unordered(PARALLEL_UPLOADS);
    while let Some(result) = uploaded.next().await {
        let (object, kind) = result?;
        report.bytes_uploaded += object.bytes;
        match kind {
            FileKind::Block => report.blocks_uploaded += 1,
            FileKind::Wal => report.wal_segments += 1,
            FileKind::Manifest => {}
        }
        objects.push(object);
        done += 1;
        let fraction = report.bytes_uploaded as f64 / total.max(1) as f64;
        if fraction >= next_report && done < count {
            progress(&format!(
                "backup {id}: {done} of {count} files uploaded ({} of {})",
                megabytes(report.bytes_uploaded),
                megabytes(total)
            ));
            next_report = (fraction * 10.0).floor() / 10.0 + 0.1;
        }
    }
    drop(uploaded);

    objects.sort_by(|a, b| a.key.cmp(&b.key));
    let descriptor = Descriptor {
        id: id.clone(),
        commit_ts: set.commit_ts,
        earliest_ts: set.earliest_ts,
        objects,
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let json = serde_json::to_vec_pretty(&descriptor)
        .map_err(|e| Error::Internal(format!("backup descriptor: {e}")))?;
    location.put(&descriptor_key(&id), json.into()).await?;
    report.duration = started.elapsed();
    Ok(report)
}

/// The pieces of a WAL segment that earlier backups uploaded and that cover its first
/// bytes, in order, and the piece with the bytes after them, if any.
fn wal_pieces(
    segment: &BackupFile,
    known: &HashMap<String, Object>,
    present: &HashMap<String, u64>,
) -> (Vec<Object>, Option<BackupFile>) {
    let mut pieces: Vec<(u64, u64, &Object)> = known
        .values()
        .filter(|object| present.get(&object.key) == Some(&object.bytes))
        .filter_map(|object| {
            let (name, start, end) = wal_piece(&object.key)?;
            (name == segment.key && end <= segment.bytes).then_some((start, end, object))
        })
        .collect();
    // From each start, the longest piece first.
    pieces.sort_by_key(|(start, end, _)| (*start, std::cmp::Reverse(*end)));
    let mut chain = Vec::new();
    let mut covered = 0;
    for (start, end, object) in pieces {
        if start == covered && end > covered {
            chain.push(object.clone());
            covered = end;
        }
    }
    let rest = (covered < segment.bytes).then(|| BackupFile {
        paths: segment.paths.clone(),
        key: wal_piece_key(&segment.key, covered, segment.bytes),
        offset: covered,
        bytes: segment.bytes - covered,
        kind: FileKind::Wal,
    });
    (chain, rest)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Opens the file where it is now (a WAL segment may have moved to the archive), at
/// the offset to copy from.
async fn open(file: &BackupFile) -> Result<tokio::fs::File> {
    for path in &file.paths {
        match tokio::fs::File::open(path).await {
            Ok(mut opened) => {
                opened
                    .seek(std::io::SeekFrom::Start(file.offset))
                    .await
                    .map_err(|e| Error::io_context(e, path.display()))?;
                return Ok(opened);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io_context(e, path.display())),
        }
    }
    Err(Error::Internal(format!(
        "{} disappeared during the backup",
        file.paths[0].display()
    )))
}

/// Reads `len` bytes of `source` from `offset`.
async fn read_part(source: &mut tokio::fs::File, file: &BackupFile, len: u64) -> Result<Vec<u8>> {
    let mut part = vec![0; len as usize];
    source
        .read_exact(&mut part)
        .await
        .map_err(|e| Error::io_context(e, file.paths[0].display()))?;
    Ok(part)
}

/// The CRC32C of the bytes of the file to copy.
async fn checksum(file: &BackupFile) -> Result<u32> {
    let mut source = open(file).await?;
    let mut crc = 0;
    let mut left = file.bytes;
    while left > 0 {
        let len = left.min(PART_BYTES);
        crc = crc32c::crc32c_append(crc, &read_part(&mut source, file, len).await?);
        left -= len;
    }
    Ok(crc)
}

/// Uploads the bytes of the file to copy under its key.
async fn upload(location: &Location, file: BackupFile) -> Result<(Object, FileKind)> {
    let mut source = open(&file).await?;
    let crc = if file.bytes <= PART_BYTES {
        let bytes = read_part(&mut source, &file, file.bytes).await?;
        let crc = crc32c::crc32c(&bytes);
        location.put(&file.key, bytes.into()).await?;
        crc
    } else {
        let mut parts = location
            .upload_in_parts(&file.key, PART_BYTES as usize)
            .await?;
        let mut crc = 0;
        let sent: Result<()> = async {
            let mut left = file.bytes;
            while left > 0 {
                let len = left.min(PART_BYTES);
                let part = read_part(&mut source, &file, len).await?;
                crc = crc32c::crc32c_append(crc, &part);
                parts.put(part.into()).await?;
                left -= len;
            }
            Ok(())
        }
        .await;
        match sent {
            Ok(()) => parts.finish().await?,
            Err(err) => {
                parts.abort().await;
                return Err(err);
            }
        }
        crc
    };
    let object = Object {
        key: file.key,
        bytes: file.bytes,
        crc32c: crc,
    };
    Ok((object, file.kind))
}

//! Write-ahead log: every commit that goes through the memtable is appended here and
//! fsynced before it is acknowledged.
//!
//! Commits are queued to one committer thread that writes every commit waiting at that
//! moment and then fsyncs once for all of them (group commit): concurrent writers share
//! the cost of an fsync instead of paying one each. The thread assigns LSNs and commit
//! timestamps in the order it writes, so LSN order and timestamp order agree, and it
//! applies each commit to the memtable (through `apply`) before acknowledging it.
//!
//! Segments are files named by the LSN of their first record (`paths::wal_segment`).
//! Record format, repeated until the end of a segment:
//! 1. Length of the payload, little-endian u32 [4 bytes].
//! 2. CRC32C of the payload, little-endian u32 [4 bytes].
//! 3. Payload [length bytes]:
//!    - LSN, u64 LE [8 bytes]: sequence number of the record, from 1, never reused.
//!    - Commit timestamp, i64 LE [8 bytes]: microseconds since the Unix epoch.
//!    - Kind, u8 [1 byte]: 1 = rows inserted into a table.
//!    - Table id, u64 LE [8 bytes].
//!    - Rows: one Arrow IPC stream holding one record batch, LZ4-frame compressed
//!      when it holds 16 KiB or more (smaller ones are not worth the CPU).
//!
//! Segments grow in zero-filled steps of `PREALLOCATE_BYTES` ahead of the records, so
//! most fsyncs find the file's size and blocks unchanged and flush only the data (no
//! file-system journal commit): a segment is its records followed by zeros.
//!
//! Invariant: a record is valid only if its length and CRC32C match. Replay stops at the
//! first invalid record. If only zeros follow it, that is the end of the segment's
//! records; if it is the last record of the last segment (a write torn by a crash) it is
//! truncated away; anywhere else it is corruption, and recovery refuses to start, naming
//! the file and the offset.
//!
//! Not here: the memtable (`memtable.rs`) and the decision of when to release segments
//! (`Database::flush`), which calls `Wal::release` once rows are in Parquet blocks.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow::ipc::CompressionType;
use parking_lot::Mutex;

use super::clock::Clock;
use super::paths::{self, Paths};
use crate::error::{Error, Result};
use crate::{errcorrupt, errinternal};

const HEADER_LEN: usize = 8;
const PAYLOAD_FIXED_LEN: usize = 8 + 8 + 1 + 8;
const KIND_INSERT: u8 = 1;
/// No record is larger than this; a longer length field is corruption (or a torn write).
const MAX_RECORD_LEN: u32 = 1 << 30;
/// How far ahead of the records a segment is zero-filled. One fsync in this many bytes
/// of log pays for the file's growth; measured on this machine's disk, an fdatasync
/// that grows the file costs 154 us against 113 us for one that does not.
const PREALLOCATE_BYTES: u64 = 1 << 20;

/// One committed write, as written to and replayed from the log.
#[derive(Debug, Clone)]
pub struct WalRecord {
    pub lsn: u64,
    pub commit_ts: i64,
    pub table_id: u64,
    pub rows: RecordBatch,
}

/// What a commit learns once it is durable.
#[derive(Debug, Clone, Copy)]
pub struct Committed {
    pub lsn: u64,
    pub commit_ts: i64,
}

/// Called by the committer thread with each group of durable records, in LSN order,
/// before they are acknowledged.
pub type ApplyFn = Box<dyn Fn(&[WalRecord]) + Send>;

enum Request {
    Commit(CommitRequest),
    /// Asks where the log ends: answered once every commit queued before it is durable.
    SyncPoint(tokio::sync::oneshot::Sender<Result<SyncPoint>>),
}

struct CommitRequest {
    table_id: u64,
    rows: RecordBatch,
    body: Vec<u8>,
    reply: tokio::sync::oneshot::Sender<Result<Committed>>,
}

/// A point in the log (`Wal::sync_point`): every commit with a timestamp below
/// `commit_ts` is durable in the segments up to `segment`, whose records before it end at
/// byte `offset`; every later commit has a later timestamp. A backup copies the log up
/// to here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncPoint {
    pub commit_ts: i64,
    /// The first LSN of the segment, which names it.
    pub segment: u64,
    pub offset: u64,
}

/// The write side of the log: a handle to the committer thread plus the segment list.
pub struct Wal {
    sender: Mutex<Option<mpsc::Sender<Request>>>,
    /// Number of fsyncs so far; fewer than commits when commits share them.
    fsyncs: Arc<std::sync::atomic::AtomicU64>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    segments: Arc<Mutex<BTreeMap<u64, PathBuf>>>,
    paths: Paths,
}

impl Wal {
    /// Starts the committer thread, writing a new segment that begins at `next_lsn`.
    /// Call after `replay`, which tells the next LSN.
    pub fn start(
        paths: &Paths,
        segment_bytes: u64,
        next_lsn: u64,
        clock: Arc<Clock>,
        apply: ApplyFn,
    ) -> Result<Wal> {
        let mut segments = BTreeMap::new();
        for (first_lsn, path) in list_segments(&paths.wal_dir())? {
            segments.insert(first_lsn, path);
        }
        let segments = Arc::new(Mutex::new(segments));
        let fsyncs = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut committer = Committer {
            fsyncs: fsyncs.clone(),
            paths: paths.clone(),
            segment_bytes,
            next_lsn,
            clock,
            apply,
            file: None,
            segment: next_lsn,
            file_len: 0,
            allocated_len: 0,
            segments: segments.clone(),
            broken: None,
        };
        committer.open_segment()?;
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("grizzly-wal".into())
            .spawn(move || committer.run(receiver))?;
        Ok(Wal {
            sender: Mutex::new(Some(sender)),
            fsyncs,
            thread: Mutex::new(Some(thread)),
            segments,
            paths: paths.clone(),
        })
    }

    /// Appends `rows` for `table_id`, waits until they are fsynced and applied, and
    /// returns their LSN and commit timestamp.
    pub async fn commit(&self, table_id: u64, rows: RecordBatch) -> Result<Committed> {
        let body = encode_batch(&rows)?;
        let (reply, receiver) = tokio::sync::oneshot::channel();
        let request = Request::Commit(CommitRequest {
            table_id,
            rows,
            body,
            reply,
        });
        self.send(request)?;
        receiver
            .await
            .map_err(|_| errinternal!("the WAL committer thread has stopped"))?
    }

    /// Where the log ends now, once everything committed before is durable.
    pub async fn sync_point(&self) -> Result<SyncPoint> {
        let (reply, receiver) = tokio::sync::oneshot::channel();
        self.send(Request::SyncPoint(reply))?;
        receiver
            .await
            .map_err(|_| errinternal!("the WAL committer thread has stopped"))?
    }

    fn send(&self, request: Request) -> Result<()> {
        self.sender
            .lock()
            .as_ref()
            .ok_or_else(|| errinternal!("the WAL is shut down"))?
            .send(request)
            .map_err(|_| errinternal!("the WAL committer thread has stopped"))
    }

    /// Moves segments all of whose records have LSN below `min_needed_lsn` (flushed to
    /// blocks) to `wal/archive/`, where they stay while retention needs them (see
    /// `prune_archive`). The newest segment always stays.
    pub fn release(&self, min_needed_lsn: u64) -> Result<()> {
        let mut segments = self.segments.lock();
        let firsts: Vec<u64> = segments.keys().copied().collect();
        for pair in firsts.windows(2) {
            let (first, next_first) = (pair[0], pair[1]);
            if next_first <= min_needed_lsn {
                if let Some(path) = segments.remove(&first) {
                    let archive = self.paths.wal_archive_dir();
                    paths::create_dir_durable(&archive)?;
                    let file_name = path.file_name().expect("a segment has a file name");
                    std::fs::rename(&path, archive.join(file_name))
                        .map_err(|e| Error::io_context(e, path.display()))?;
                    paths::sync_dir(&archive)?;
                    paths::sync_dir(&self.paths.wal_dir())?;
                }
            }
        }
        Ok(())
    }

    /// Deletes archived segments last written before `horizon` (microseconds since the
    /// epoch): every record in them is older than any readable time.
    pub fn prune_archive(&self, horizon: i64) -> Result<()> {
        for (_, path) in list_segments(&self.paths.wal_archive_dir())? {
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .map_err(|e| Error::io_context(e, path.display()))?;
            let micros = modified
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as i64);
            if micros < horizon {
                std::fs::remove_file(&path).map_err(|e| Error::io_context(e, path.display()))?;
            }
        }
        Ok(())
    }

    /// How many fsyncs the log has done.
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops accepting commits and waits for queued ones to finish.
    pub fn shutdown(&self) {
        self.sender.lock().take();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Committer {
    fsyncs: Arc<std::sync::atomic::AtomicU64>,
    paths: Paths,
    segment_bytes: u64,
    next_lsn: u64,
    clock: Arc<Clock>,
    apply: ApplyFn,
    file: Option<File>,
    /// The first LSN of the open segment, which names it.
    segment: u64,
    /// Bytes of records in the open segment.
    file_len: u64,
    /// Bytes of the open segment on disk: its records plus zeros.
    allocated_len: u64,
    segments: Arc<Mutex<BTreeMap<u64, PathBuf>>>,
    /// Set after a failed write or fsync: the file's state is unknown, so every later
    /// commit fails rather than risk acknowledging something that is not durable.
    broken: Option<String>,
}

impl Committer {
    fn run(mut self, receiver: mpsc::Receiver<Request>) {
        while let Ok(first) = receiver.recv() {
            let mut group = vec![first];
            while group.len() < 4096 {
                match receiver.try_recv() {
                    Ok(request) => group.push(request),
                    Err(_) => break,
                }
            }
            self.commit_group(group);
        }
    }

    fn commit_group(&mut self, group: Vec<Request>) {
        if let Some(reason) = &self.broken {
            let reason = format!("WAL unusable after: {reason}");
            fail_all(group, &reason);
            return;
        }
        // Rotate before assigning LSNs: a segment is named by the first LSN it holds.
        if self.file_len >= self.segment_bytes {
            if let Err(err) = self.open_segment() {
                fail_all(group, &format!("cannot start a WAL segment: {err}"));
                return;
            }
        }
        let mut buffer = Vec::new();
        let mut records = Vec::with_capacity(group.len());
        let mut replies = Vec::with_capacity(group.len());
        let mut sync_points = Vec::new();
        for request in group {
            let request = match request {
                Request::Commit(request) => request,
                Request::SyncPoint(reply) => {
                    let point = SyncPoint {
                        commit_ts: self.clock.next(),
                        segment: self.segment,
                        offset: self.file_len + buffer.len() as u64,
                    };
                    sync_points.push((reply, point));
                    continue;
                }
            };
            let lsn = self.next_lsn;
            self.next_lsn += 1;
            let commit_ts = self.clock.next();
            encode_record(&mut buffer, lsn, commit_ts, request.table_id, &request.body);
            records.push(WalRecord {
                lsn,
                commit_ts,
                table_id: request.table_id,
                rows: request.rows,
            });
            replies.push((request.reply, Committed { lsn, commit_ts }));
        }
        if let Err(err) = self.write_durably(&buffer) {
            let reason = err.to_string();
            tracing::error!("WAL write failed, refusing further commits: {reason}");
            self.broken = Some(reason.clone());
            for (reply, _) in replies {
                let _ = reply.send(Err(errinternal!("WAL write failed: {reason}")));
            }
            for (reply, _) in sync_points {
                let _ = reply.send(Err(errinternal!("WAL write failed: {reason}")));
            }
            return;
        }
        (self.apply)(&records);
        for (reply, committed) in replies {
            let _ = reply.send(Ok(committed));
        }
        for (reply, point) in sync_points {
            let _ = reply.send(Ok(point));
        }
    }

    fn write_durably(&mut self, buffer: &[u8]) -> Result<()> {
        if buffer.is_empty() {
            return Ok(()); // a group of sync points only: everything before is durable
        }
        let file = self.file.as_ref().expect("a segment is open");
        let end = self.file_len + buffer.len() as u64;
        if end > self.allocated_len {
            let target = end + PREALLOCATE_BYTES;
            let zeros = vec![0u8; (target - self.allocated_len) as usize];
            file.write_all_at(&zeros, self.allocated_len)?;
            self.allocated_len = target;
        }
        file.write_all_at(buffer, self.file_len)?;
        file.sync_data()?;
        self.fsyncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.file_len += buffer.len() as u64;
        Ok(())
    }

    fn open_segment(&mut self) -> Result<()> {
        let dir = self.paths.wal_dir();
        paths::create_dir_durable(&dir)?;
        let path = self.paths.wal_segment(self.next_lsn);
        // A segment with this name can only exist without valid records (else replay
        // would have advanced next_lsn past it), so it is safe to truncate.
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| Error::io_context(e, path.display()))?;
        file.sync_all()?;
        paths::sync_dir(&dir)?;
        self.segments.lock().insert(self.next_lsn, path);
        self.segment = self.next_lsn;
        self.file = Some(file);
        self.file_len = 0;
        self.allocated_len = 0;
        Ok(())
    }
}

fn fail_all(group: Vec<Request>, reason: &str) {
    for request in group {
        match request {
            Request::Commit(commit) => {
                let _ = commit.reply.send(Err(errinternal!("{reason}")));
            }
            Request::SyncPoint(reply) => {
                let _ = reply.send(Err(errinternal!("{reason}")));
            }
        }
    }
}

fn encode_record(out: &mut Vec<u8>, lsn: u64, commit_ts: i64, table_id: u64, body: &[u8]) {
    let mut payload = Vec::with_capacity(PAYLOAD_FIXED_LEN + body.len());
    payload.extend_from_slice(&lsn.to_le_bytes());
    payload.extend_from_slice(&commit_ts.to_le_bytes());
    payload.push(KIND_INSERT);
    payload.extend_from_slice(&table_id.to_le_bytes());
    payload.extend_from_slice(body);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
}

/// Batches smaller than this are written uncompressed: LZ4 frames cost more CPU than the
/// bytes they save on the single-row commits of row-at-a-time clients. The IPC message
/// says whether it is compressed, so replay reads both.
const COMPRESS_BATCH_BYTES: usize = 16 * 1024;

fn encode_batch(rows: &RecordBatch) -> Result<Vec<u8>> {
    let compression = (rows.get_array_memory_size() >= COMPRESS_BATCH_BYTES)
        .then_some(CompressionType::LZ4_FRAME);
    let options = IpcWriteOptions::default().try_with_compression(compression)?;
    let mut writer = StreamWriter::try_new_with_options(Vec::new(), &rows.schema(), options)?;
    writer.write(rows)?;
    Ok(writer.into_inner()?)
}

fn decode_batch(body: &[u8]) -> Result<RecordBatch> {
    let mut reader = StreamReader::try_new(body, None)?;
    match reader.next() {
        Some(batch) => Ok(batch?),
        None => Err(errinternal!("WAL record holds no record batch")),
    }
}

/// Lists WAL segments in LSN order (none if `dir` does not exist).
pub(super) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(segments),
        Err(e) => return Err(Error::io_context(e, dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        if let Some(first_lsn) = paths::numbered_file(&path, "wal") {
            segments.push((first_lsn, path));
        }
    }
    segments.sort();
    Ok(segments)
}

/// What replay found: the next LSN to assign and the last commit timestamp seen.
#[derive(Debug, Default)]
pub struct ReplayEnd {
    pub next_lsn: u64,
    pub last_commit_ts: i64,
}

/// Reads every valid record, oldest first, calling `visit` for each. Truncates a torn
/// tail of the last segment; fails with `Error::Corruption` (naming file and offset) on
/// an invalid record anywhere else.
pub fn replay(paths: &Paths, visit: impl FnMut(WalRecord) -> Result<()>) -> Result<ReplayEnd> {
    read_segments(paths, true, visit)
}

/// Reads every valid record like `replay`, but changes nothing: a torn tail just ends
/// the reading. For reading another data directory (point-in-time restore).
pub fn read(paths: &Paths, visit: impl FnMut(WalRecord) -> Result<()>) -> Result<ReplayEnd> {
    read_segments(paths, false, visit)
}

fn read_segments(
    paths: &Paths,
    truncate_torn_tail: bool,
    mut visit: impl FnMut(WalRecord) -> Result<()>,
) -> Result<ReplayEnd> {
    let segments = list_segments(&paths.wal_dir())?;
    let mut end = ReplayEnd {
        next_lsn: 1,
        last_commit_ts: 0,
    };
    for (index, (first_lsn, path)) in segments.iter().enumerate() {
        let is_last = index + 1 == segments.len();
        end.next_lsn = end.next_lsn.max(*first_lsn);
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| Error::io_context(e, path.display()))?;
        let mut offset = 0usize;
        while offset < bytes.len() {
            match parse_record(&bytes[offset..]) {
                Some((record_len, lsn, commit_ts, table_id, body)) => {
                    let rows = decode_batch(body).map_err(|e| {
                        errcorrupt!("WAL segment {} offset {offset}: {e}", path.display())
                    })?;
                    end.next_lsn = lsn + 1;
                    end.last_commit_ts = end.last_commit_ts.max(commit_ts);
                    visit(WalRecord {
                        lsn,
                        commit_ts,
                        table_id,
                        rows,
                    })?;
                    offset += record_len;
                }
                None if bytes[offset..].iter().all(|b| *b == 0) => break,
                None if is_last && is_torn_tail(&bytes[offset..]) && !truncate_torn_tail => break,
                None if is_last && is_torn_tail(&bytes[offset..]) => {
                    tracing::warn!(
                        "truncating torn WAL tail of {} at offset {offset} ({} bytes)",
                        path.display(),
                        bytes.len() - offset
                    );
                    let file = OpenOptions::new().write(true).open(path)?;
                    file.set_len(offset as u64)?;
                    file.sync_all()?;
                    break;
                }
                None => {
                    return Err(errcorrupt!(
                        "WAL segment {} is corrupt at offset {offset}: invalid record \
                         (bad length or CRC32C) followed by more data; refusing to start. \
                         Restore the data directory from a backup or move the damaged \
                         segment away to accept the loss of its records",
                        path.display()
                    ));
                }
            }
        }
    }
    Ok(end)
}

/// Parses one record at the start of `bytes`: (total length, lsn, ts, table id, body).
fn parse_record(bytes: &[u8]) -> Option<(usize, u64, i64, u64, &[u8])> {
    if bytes.len() < HEADER_LEN {
        return None;
    }
    let len = u32::from_le_bytes(bytes[0..4].try_into().ok()?);
    let crc = u32::from_le_bytes(bytes[4..8].try_into().ok()?);
    if (len as usize) < PAYLOAD_FIXED_LEN || len > MAX_RECORD_LEN {
        return None;
    }
    let payload = bytes.get(HEADER_LEN..HEADER_LEN + len as usize)?;
    if crc32c::crc32c(payload) != crc || payload[16] != KIND_INSERT {
        return None;
    }
    let lsn = u64::from_le_bytes(payload[0..8].try_into().ok()?);
    let commit_ts = i64::from_le_bytes(payload[8..16].try_into().ok()?);
    let table_id = u64::from_le_bytes(payload[17..25].try_into().ok()?);
    Some((
        HEADER_LEN + len as usize,
        lsn,
        commit_ts,
        table_id,
        &payload[PAYLOAD_FIXED_LEN..],
    ))
}

/// A torn tail is what a crash mid-append leaves: one record cut short by the end of the
/// file or by the zeros preallocated after it, or a record whose bytes did not all reach
/// the disk, followed by nothing but zeros.
fn is_torn_tail(rest: &[u8]) -> bool {
    if rest.len() < HEADER_LEN {
        return true;
    }
    let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
    match rest.get(HEADER_LEN + len..) {
        Some(after) => after.iter().all(|b| *b == 0),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(values: &[i64]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("c1", DataType::Int64, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values.to_vec()))]).unwrap()
    }

    fn start(paths: &Paths, next_lsn: u64) -> (Wal, Arc<Mutex<Vec<u64>>>) {
        let applied = Arc::new(Mutex::new(Vec::new()));
        let sink = applied.clone();
        let wal = Wal::start(
            paths,
            1 << 20,
            next_lsn,
            Arc::new(Clock::new(0)),
            Box::new(move |records| sink.lock().extend(records.iter().map(|r| r.lsn))),
        )
        .unwrap();
        (wal, applied)
    }

    fn replay_all(paths: &Paths) -> Result<(Vec<WalRecord>, ReplayEnd)> {
        let mut records = Vec::new();
        let end = replay(paths, |r| {
            records.push(r);
            Ok(())
        })?;
        Ok((records, end))
    }

    #[tokio::test]
    async fn commits_replay_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let (wal, applied) = start(&paths, 1);
        let a = wal.commit(7, batch(&[1, 2])).await.unwrap();
        let b = wal.commit(7, batch(&[3])).await.unwrap();
        assert!(b.lsn > a.lsn && b.commit_ts > a.commit_ts);
        assert_eq!(*applied.lock(), vec![1, 2]);
        wal.shutdown();

        let (records, end) = replay_all(&paths).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].rows, batch(&[3]));
        assert_eq!(end.next_lsn, 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_commits_share_fsyncs() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let (wal, applied) = start(&paths, 1);
        let wal = Arc::new(wal);
        let commits = 200;
        let tasks: Vec<_> = (0..commits)
            .map(|i| {
                let wal = wal.clone();
                tokio::spawn(async move { wal.commit(1, batch(&[i])).await.unwrap() })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(applied.lock().len(), commits as usize);
        // An fsync takes far longer than queueing a commit, so commits waiting while one
        // fsync runs are written and synced together by the next.
        assert!(
            wal.fsyncs() < commits as u64,
            "{} fsyncs for {commits} commits",
            wal.fsyncs()
        );
        wal.shutdown();
        let (records, _) = replay_all(&paths).unwrap();
        assert_eq!(records.len(), commits as usize);
    }

    #[tokio::test]
    async fn torn_tail_is_truncated_and_middle_corruption_refused() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let (wal, _) = start(&paths, 1);
        wal.commit(1, batch(&[1])).await.unwrap();
        wal.commit(1, batch(&[2])).await.unwrap();
        wal.shutdown();
        let segment = paths.wal_segment(1);
        let full = std::fs::read(&segment).unwrap();
        let first_len = parse_record(&full).unwrap().0;
        let records_len = first_len + parse_record(&full[first_len..]).unwrap().0;
        assert!(
            full.len() > records_len && full[records_len..].iter().all(|b| *b == 0),
            "the segment is preallocated with zeros after its records"
        );

        // Cut the last record short, in a file that ends there and in one whose
        // preallocated zeros follow: replay keeps the first and truncates the rest.
        for cut in [
            &full[..records_len - 12],
            &[&full[..records_len - 12], &[0; 64][..]].concat(),
        ] {
            std::fs::write(&segment, cut).unwrap();
            let (records, end) = replay_all(&paths).unwrap();
            assert_eq!(records.len(), 1);
            assert_eq!(end.next_lsn, 2);
            assert_eq!(
                std::fs::metadata(&segment).unwrap().len() as usize,
                first_len
            );
        }

        // A record torn in its middle (a sector that never reached the disk) with only
        // zeros after it is a torn tail too.
        let mut torn = full.clone();
        torn[first_len + HEADER_LEN + 4] ^= 0xff;
        std::fs::write(&segment, &torn).unwrap();
        assert_eq!(replay_all(&paths).unwrap().0.len(), 1);

        // Flip a byte inside the first record with a valid record after it: corruption.
        let mut bad = full.clone();
        bad[HEADER_LEN + 2] ^= 0xff;
        std::fs::write(&segment, &bad).unwrap();
        let err = replay_all(&paths).unwrap_err();
        assert!(matches!(err, Error::Corruption(_)), "{err}");
        assert!(err.to_string().contains("offset 0"), "{err}");
    }

    #[tokio::test]
    async fn release_archives_only_flushed_segments() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let applied = Arc::new(Mutex::new(Vec::new()));
        let sink = applied.clone();
        // Tiny segments: every commit starts a new one.
        let wal = Wal::start(
            &paths,
            1,
            1,
            Arc::new(Clock::new(0)),
            Box::new(move |r| sink.lock().extend(r.iter().map(|r| r.lsn))),
        )
        .unwrap();
        for i in 0..4 {
            wal.commit(1, batch(&[i])).await.unwrap();
        }
        wal.release(3).unwrap();
        wal.shutdown();
        let (records, _) = replay_all(&paths).unwrap();
        let lsns: Vec<u64> = records.iter().map(|r| r.lsn).collect();
        assert_eq!(lsns, vec![3, 4]);
        let archived: Vec<u64> = list_segments(&paths.wal_archive_dir())
            .unwrap()
            .into_iter()
            .map(|(first, _)| first)
            .collect();
        assert_eq!(archived, vec![1, 2], "released segments are archived");

        // Archived segments older than the horizon are deleted, newer ones kept.
        let wal = Wal::start(&paths, 1, 5, Arc::new(Clock::new(0)), Box::new(|_| {})).unwrap();
        wal.prune_archive(crate::storage::clock::now_micros() - 3_600_000_000)
            .unwrap();
        assert_eq!(list_segments(&paths.wal_archive_dir()).unwrap().len(), 2);
        wal.prune_archive(crate::storage::clock::now_micros() + 1_000_000)
            .unwrap();
        assert!(list_segments(&paths.wal_archive_dir()).unwrap().is_empty());
        wal.shutdown();
    }
}

/// Figures for choosing the WAL's codec (not a check): IPC encode and decode time and
/// bytes per record for no compression, LZ4 frames and ZSTD, on lineitem-like rows.
/// `cargo test --release --lib wal_codec_figures -- --ignored --nocapture`
#[cfg(test)]
mod codec_figures {
    use std::time::Instant;

    use arrow::array::{ArrayRef, Date32Array, Decimal128Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn lineitem_like(rows: usize) -> RecordBatch {
        let modes = ["AIR", "MAIL", "SHIP", "TRUCK", "RAIL", "FOB", "REG AIR"];
        let words = [
            "carefully",
            "final",
            "deposits",
            "sleep",
            "furiously",
            "ironic",
            "packages",
        ];
        let comment = |i: usize| {
            (0..4)
                .map(|k| words[(i * 7 + k * 3) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("c1", DataType::Int64, false),
            Field::new("c2", DataType::Decimal128(15, 2), false),
            Field::new("c3", DataType::Decimal128(15, 2), false),
            Field::new("c4", DataType::Date32, false),
            Field::new("c5", DataType::Utf8, false),
            Field::new("c6", DataType::Utf8, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(
                (0..rows).map(|i| (i / 4) as i64),
            )),
            Arc::new(
                Decimal128Array::from_iter_values((0..rows).map(|i| (i % 50 * 100) as i128))
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
            ),
            Arc::new(
                Decimal128Array::from_iter_values(
                    (0..rows).map(|i| (i * 7919 % 10_000_000) as i128),
                )
                .with_precision_and_scale(15, 2)
                .unwrap(),
            ),
            Arc::new(Date32Array::from_iter_values(
                (0..rows).map(|i| 8_000 + (i % 2_500) as i32),
            )),
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| modes[i % modes.len()]),
            )),
            Arc::new(StringArray::from_iter_values((0..rows).map(comment))),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    fn encode(rows: &RecordBatch, compression: Option<CompressionType>) -> Vec<u8> {
        let options = IpcWriteOptions::default()
            .try_with_compression(compression)
            .unwrap();
        let mut writer =
            StreamWriter::try_new_with_options(Vec::new(), &rows.schema(), options).unwrap();
        writer.write(rows).unwrap();
        writer.into_inner().unwrap()
    }

    #[test]
    #[ignore]
    fn wal_codec_figures() {
        println!(
            "{:>7} {:>6} {:>10} {:>11} {:>11}",
            "rows", "codec", "bytes", "encode µs", "decode µs"
        );
        for rows in [1, 100, 10_000, 100_000] {
            let batch = lineitem_like(rows);
            let runs = (200_000 / rows).clamp(5, 2_000);
            for (name, codec) in [
                ("none", None),
                ("lz4", Some(CompressionType::LZ4_FRAME)),
                ("zstd", Some(CompressionType::ZSTD)),
            ] {
                let mut bytes = Vec::new();
                let start = Instant::now();
                for _ in 0..runs {
                    bytes = encode(&batch, codec);
                }
                let encode_us = start.elapsed().as_secs_f64() * 1e6 / runs as f64;
                let start = Instant::now();
                for _ in 0..runs {
                    decode_batch(&bytes).unwrap();
                }
                let decode_us = start.elapsed().as_secs_f64() * 1e6 / runs as f64;
                println!(
                    "{rows:>7} {name:>6} {:>10} {encode_us:>11.1} {decode_us:>11.1}",
                    bytes.len()
                );
            }
        }
    }
}

//! Block compression: a table's `compression` option, and the tuner that picks the codec
//! of each new block when the option is `auto`.
//!
//! LZ4 decompresses fastest, so it suits data that is read much more than it is written;
//! ZSTD writes smaller files at more CPU, so it suits data that is mostly written, and
//! data nobody reads any more. The tuner counts each table's reads (scans planned) and
//! writes (commits) and decides from them when a block is written: by a flush, a bulk
//! write or compaction. The counts survive restarts in `tuner.json` (saved by the
//! background loop; a crash loses at most the counts since the last save).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use parquet::basic::{Compression as ParquetCodec, ZstdLevel};
use serde::{Deserialize, Serialize};

use super::clock::now_micros;
use crate::catalog::TableDef;
use crate::error::{Error, Result};

/// Decisions need this many reads and writes of a table; below it, LZ4.
const MIN_SAMPLE: u64 = 10;
/// A table with more than this many writes per read is write-heavy.
const WRITE_HEAVY_RATIO: u64 = 4;
/// ZSTD level for write-heavy data: most of ZSTD's saving at a fraction of its top cost.
const WRITE_HEAVY_LEVEL: i32 = 3;
/// ZSTD level for cold data, rewritten by compaction: smaller, written once, rarely read.
const COLD_LEVEL: i32 = 9;

/// A table's `compression` option (`WITH (compression = 'zstd(6)')`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Compression {
    /// The tuner decides, block by block.
    #[default]
    Auto,
    Lz4,
    /// ZSTD at a level from 1 to 22.
    Zstd(i32),
    None,
}

impl Compression {
    pub fn parse(text: &str) -> Result<Compression> {
        let text = text.trim().to_ascii_lowercase();
        let invalid = || {
            Error::InvalidInput(format!(
                "invalid value for compression: \"{text}\"; use auto, lz4, zstd, zstd(1) to \
                 zstd(22) or none"
            ))
        };
        match text.as_str() {
            "auto" => Ok(Compression::Auto),
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::Zstd(WRITE_HEAVY_LEVEL)),
            "none" => Ok(Compression::None),
            other => {
                let level = other
                    .strip_prefix("zstd(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .and_then(|level| level.trim().parse::<i32>().ok())
                    .ok_or_else(invalid)?;
                if (1..=22).contains(&level) {
                    Ok(Compression::Zstd(level))
                } else {
                    Err(invalid())
                }
            }
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compression::Auto => f.write_str("auto"),
            Compression::Lz4 => f.write_str("lz4"),
            Compression::Zstd(level) => write!(f, "zstd({level})"),
            Compression::None => f.write_str("none"),
        }
    }
}

impl TryFrom<String> for Compression {
    type Error = Error;

    fn try_from(text: String) -> Result<Compression> {
        Compression::parse(&text)
    }
}

impl From<Compression> for String {
    fn from(compression: Compression) -> String {
        compression.to_string()
    }
}

/// How a table has been used, as the tuner counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Scans planned.
    pub reads: u64,
    /// Commits (INSERT, COPY, INSERT … SELECT).
    pub writes: u64,
    /// When the table was last read and last written (microseconds since the epoch),
    /// 0 if never.
    pub last_read_micros: i64,
    #[serde(default)]
    pub last_write_micros: i64,
}

/// Why a block is being written: new data, or old data rewritten by compaction (which
/// may find it cold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    NewData,
    Compaction {
        cold_after_micros: i64,
        now_micros: i64,
    },
}

/// A codec decision: what to write a block with, and why, in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub codec: Compression,
    pub reason: String,
}

impl Choice {
    pub fn parquet(&self) -> ParquetCodec {
        match self.codec {
            Compression::Lz4 | Compression::Auto => ParquetCodec::LZ4_RAW,
            Compression::Zstd(level) => ParquetCodec::ZSTD(
                ZstdLevel::try_new(level).expect("levels are checked when parsed"),
            ),
            Compression::None => ParquetCodec::UNCOMPRESSED,
        }
    }
}

/// The codec for a block of a table whose option is `setting` and usage `usage`.
pub fn choose(setting: Compression, usage: &Usage, purpose: Purpose) -> Choice {
    if setting != Compression::Auto {
        return Choice {
            codec: setting,
            reason: format!("compression = '{setting}'"),
        };
    }
    let counts = format!("{} reads, {} writes", usage.reads, usage.writes);
    if let Some(idle) = idle_past_cold(usage, purpose) {
        return Choice {
            codec: Compression::Zstd(COLD_LEVEL),
            reason: format!("auto: cold, neither read nor written for {idle}"),
        };
    }
    if usage.reads + usage.writes < MIN_SAMPLE {
        return Choice {
            codec: Compression::Lz4,
            reason: format!("auto: too few reads and writes to judge ({counts}), lz4 by default"),
        };
    }
    if usage.writes > WRITE_HEAVY_RATIO * usage.reads {
        return Choice {
            codec: Compression::Zstd(WRITE_HEAVY_LEVEL),
            reason: format!("auto: write-heavy ({counts})"),
        };
    }
    Choice {
        codec: Compression::Lz4,
        reason: format!("auto: read-heavy ({counts})"),
    }
}

/// For compaction: how long data with `usage` has been idle, in words, if that is longer
/// than makes it cold.
fn idle_past_cold(usage: &Usage, purpose: Purpose) -> Option<String> {
    let Purpose::Compaction {
        cold_after_micros,
        now_micros,
    } = purpose
    else {
        return None;
    };
    let idle = now_micros - usage.last_read_micros.max(usage.last_write_micros);
    (idle > cold_after_micros).then(|| hours_text(idle))
}

fn hours_text(micros: i64) -> String {
    let hours = micros / 3_600_000_000;
    if hours >= 48 {
        format!("{} days", hours / 24)
    } else {
        format!("{hours} hours")
    }
}

/// The tuner: each table's usage, counted as it happens and saved now and then.
pub struct Tuner {
    path: PathBuf,
    usage: Mutex<UsageFile>,
    dirty: AtomicBool,
}

impl Tuner {
    /// The tuner with the counts saved at `path` (none if there is no file yet).
    pub fn open(path: PathBuf) -> Tuner {
        let usage = Mutex::new(UsageFile::load(&path));
        Tuner {
            path,
            usage,
            dirty: AtomicBool::new(false),
        }
    }

    pub fn note_read(&self, table_id: u64) {
        let mut file = self.usage.lock();
        let usage = file.tables.entry(table_id).or_default();
        usage.reads += 1;
        usage.last_read_micros = now_micros();
        self.dirty.store(true, Ordering::Relaxed);
    }

    pub fn note_write(&self, table_id: u64) {
        let mut file = self.usage.lock();
        let usage = file.tables.entry(table_id).or_default();
        usage.writes += 1;
        usage.last_write_micros = now_micros();
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Counts one read of each partition a scan of the table kept.
    pub fn note_partition_reads(&self, table_id: u64, partitions: &[String]) {
        let mut file = self.usage.lock();
        let now = now_micros();
        for partition in partitions {
            let usage = file
                .partitions
                .entry(partition_key(table_id, partition))
                .or_default();
            usage.reads += 1;
            usage.last_read_micros = now;
        }
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Counts a block written into a partition of the table (a flush or a bulk write).
    pub fn note_partition_write(&self, table_id: u64, partition: &str) {
        let mut file = self.usage.lock();
        let usage = file
            .partitions
            .entry(partition_key(table_id, partition))
            .or_default();
        usage.writes += 1;
        usage.last_write_micros = now_micros();
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// A partition's counts, if anything was counted for it.
    pub fn partition_usage(&self, table_id: u64, partition: &str) -> Option<Usage> {
        let key = partition_key(table_id, partition);
        self.usage.lock().partitions.get(&key).copied()
    }

    /// The codec for a block compaction writes into `partition` of `def`: a partition
    /// neither read nor written for `cold_after` is cold even if the table is busy
    /// (yesterday's partition of a time series); otherwise as `choose`.
    pub fn choose_for_partition(
        &self,
        def: &TableDef,
        partition: &str,
        purpose: Purpose,
    ) -> Choice {
        let usage = self.partition_usage(def.id, partition);
        let idle = usage.and_then(|usage| idle_past_cold(&usage, purpose));
        match (def.compression, idle) {
            (Compression::Auto, Some(idle)) => Choice {
                codec: Compression::Zstd(COLD_LEVEL),
                reason: format!(
                    "auto: partition {partition} cold, neither read nor written for {idle}"
                ),
            },
            _ => self.choose(def, purpose),
        }
    }

    pub fn usage(&self, table_id: u64) -> Usage {
        self.usage
            .lock()
            .tables
            .get(&table_id)
            .copied()
            .unwrap_or_default()
    }

    /// The codec for a new block of `def`.
    pub fn choose(&self, def: &TableDef, purpose: Purpose) -> Choice {
        choose(def.compression, &self.usage(def.id), purpose)
    }

    /// Stops counting a table that is gone for good.
    pub fn forget(&self, table_id: u64) {
        let mut file = self.usage.lock();
        let prefix = partition_key(table_id, "");
        file.partitions.retain(|key, _| !key.starts_with(&prefix));
        if file.tables.remove(&table_id).is_some() {
            self.dirty.store(true, Ordering::Relaxed);
        }
    }

    /// Saves the counts if they changed since the last save.
    pub fn save(&self) -> Result<()> {
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        let bytes =
            serde_json::to_vec(&*self.usage.lock()).map_err(|e| Error::Internal(e.to_string()))?;
        let result = write_atomically(&self.path, &bytes);
        if result.is_err() {
            self.dirty.store(true, Ordering::Relaxed);
        }
        result
    }
}

/// The tuner's counts by table id, as saved in `tuner.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct UsageFile {
    tables: HashMap<u64, Usage>,
    /// By `{table_id}/{partition}`: reads of scans that kept the partition, writes of
    /// blocks into it.
    #[serde(default)]
    partitions: HashMap<String, Usage>,
}

fn partition_key(table_id: u64, partition: &str) -> String {
    format!("{table_id}/{partition}")
}

impl UsageFile {
    /// The saved counts, or none if the file is missing or unreadable (counts are advice,
    /// not data: a damaged file is logged and started afresh).
    pub fn load(path: &Path) -> UsageFile {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("ignoring unreadable {}: {e}", path.display());
                UsageFile::default()
            }),
            Err(_) => UsageFile::default(),
        }
    }
}

/// Replaces the file at `path` with `bytes`: written to a temporary file, fsynced, renamed.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io_context(e, tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io_context(e, path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_print_back() {
        for text in ["auto", "lz4", "zstd(3)", "zstd(22)", "none"] {
            assert_eq!(Compression::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Compression::parse("ZSTD").unwrap(), Compression::Zstd(3));
        for bad in ["zstd(0)", "zstd(23)", "gzip", "zstd(x)", ""] {
            assert!(Compression::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn a_partition_idle_for_long_is_cold_in_a_busy_table() {
        let dir = tempfile::tempdir().unwrap();
        let tuner = Tuner::open(dir.path().join("tuner.json"));
        let def = crate::catalog::column::int_table("t");
        for _ in 0..50 {
            tuner.note_read(def.id);
        }
        tuner.note_partition_write(def.id, "2026-01-01");
        tuner.note_partition_reads(def.id, &["2026-01-02".to_string()]);
        let day = 86_400_000_000;
        let compaction = |later| Purpose::Compaction {
            cold_after_micros: day,
            now_micros: now_micros() + later,
        };
        let choice = tuner.choose_for_partition(&def, "2026-01-01", compaction(2 * day));
        assert_eq!(
            choice.codec,
            Compression::Zstd(COLD_LEVEL),
            "{}",
            choice.reason
        );
        assert!(
            choice.reason.contains("partition 2026-01-01 cold"),
            "{}",
            choice.reason
        );
        let recent = tuner.choose_for_partition(&def, "2026-01-02", compaction(0));
        assert_eq!(recent.codec, Compression::Lz4, "{}", recent.reason);
        // Saved and read back.
        tuner.save().unwrap();
        let again = Tuner::open(dir.path().join("tuner.json"));
        assert_eq!(
            again.partition_usage(def.id, "2026-01-02").unwrap().reads,
            1
        );
        again.forget(def.id);
        assert!(again.partition_usage(def.id, "2026-01-02").is_none());
    }

    #[test]
    fn auto_follows_reads_and_writes() {
        let new = |reads, writes| Usage {
            reads,
            writes,
            last_read_micros: 1_000,
            last_write_micros: 500,
        };
        let data = Purpose::NewData;
        assert_eq!(
            choose(Compression::Auto, &new(1, 2), data).codec,
            Compression::Lz4
        );
        assert_eq!(
            choose(Compression::Auto, &new(50, 10), data).codec,
            Compression::Lz4
        );
        assert_eq!(
            choose(Compression::Auto, &new(2, 50), data).codec,
            Compression::Zstd(WRITE_HEAVY_LEVEL)
        );
        assert_eq!(
            choose(Compression::Zstd(7), &new(50, 1), data).codec,
            Compression::Zstd(7)
        );
        let day = 86_400_000_000;
        let compaction = |now| Purpose::Compaction {
            cold_after_micros: day,
            now_micros: now,
        };
        assert_eq!(
            choose(Compression::Auto, &new(50, 10), compaction(1_000 + 2 * day)).codec,
            Compression::Zstd(COLD_LEVEL)
        );
        assert_eq!(
            choose(Compression::Auto, &new(50, 10), compaction(2_000)).codec,
            Compression::Lz4
        );
    }
}

//! Server configuration: where the data lives, where to listen, and storage limits.

use std::path::PathBuf;
use std::time::Duration;

/// Everything a `Database` and the server need to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Root of the data directory (`wal/`, `manifest/`, `tables/`).
    pub data_dir: PathBuf,
    /// A table's memtable is flushed to a Parquet block once it holds this many bytes.
    pub memtable_flush_bytes: usize,
    /// ... or once its oldest row is this old.
    pub memtable_flush_age: Duration,
    /// A write (INSERT…SELECT, COPY) buffering more than this many bytes spills to
    /// staged Parquet blocks instead of the WAL, so its memory stays bounded and its rows
    /// are encoded once (through the WAL they are encoded again by the flush).
    pub bulk_spill_bytes: usize,
    /// A WAL segment is closed and a new one started past this size.
    pub wal_segment_bytes: u64,
    /// A manifest checkpoint is written every this many versions.
    pub manifest_checkpoint_every: u64,
    /// How long history stays readable (time travel, point-in-time recovery) unless a
    /// table sets its own retention.
    pub retention: Duration,
    /// Compaction merges blocks smaller than half this into blocks of about this size.
    pub compact_target_bytes: u64,
    /// The background task compacts a table once it has this many small blocks.
    pub compact_min_blocks: usize,
    /// Data neither read nor written for this long is cold: `auto` compression gives it
    /// ZSTD when compaction rewrites it.
    pub cold_after: Duration,
    /// How to reach S3-compatible backup stores (beyond the AWS environment variables).
    pub store: crate::backup::StoreConfig,
    /// Who may connect, how, and how many.
    pub access: Access,
}

/// Authentication, TLS and connection limits.
#[derive(Debug, Clone)]
pub struct Access {
    /// The method of the built-in rules (`--auth`), when no rules file is given.
    pub method: crate::auth::Method,
    /// A rules file in pg_hba.conf's format (`auth/hba.rs`).
    pub hba_file: Option<PathBuf>,
    /// The bootstrap superuser, created at start if missing.
    pub superuser: String,
    /// Its password (from GRIZZLY_PASSWORD), set at start when given.
    pub password: Option<String>,
    /// PEM files of the server's certificate chain and private key: TLS is offered.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Refuse connections that do not use TLS.
    pub require_tls: bool,
    /// Connections beyond this many are refused with 53300.
    pub max_connections: usize,
    /// A connection that runs no statement for this long is closed (None: never),
    /// unless its session sets `idle_session_timeout`.
    pub idle_timeout: Option<Duration>,
}

impl Default for Access {
    fn default() -> Access {
        Access {
            method: crate::auth::Method::Trust,
            hba_file: None,
            superuser: "grizzly".into(),
            password: None,
            tls: None,
            require_tls: false,
            max_connections: 100,
            idle_timeout: None,
        }
    }
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            memtable_flush_bytes: 64 << 20,
            memtable_flush_age: Duration::from_secs(60),
            bulk_spill_bytes: 8 << 20,
            wal_segment_bytes: 64 << 20,
            manifest_checkpoint_every: 100,
            retention: Duration::from_secs(7 * 24 * 3600),
            compact_target_bytes: 128 << 20,
            compact_min_blocks: 8,
            cold_after: Duration::from_secs(24 * 3600),
            store: Default::default(),
            access: Access::default(),
        }
    }
}

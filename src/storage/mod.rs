//! Storage: the WAL, memtables, immutable Parquet blocks and the manifest log, tied
//! together by `Database`. Read `database.rs` first, then `wal.rs` and `manifest.rs`.

pub mod backup_files;
pub mod block;
pub mod clock;
pub mod codec;
pub mod compaction;
pub mod database;
pub mod history;
pub mod manifest;
pub mod memtable;
pub mod paths;
pub mod wal;
pub mod writer;

pub use database::{Database, TableSnapshot};
pub use writer::TableWriter;

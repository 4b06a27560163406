//! Grizzly: an analytical database that speaks the PostgreSQL wire protocol.
//!
//! The data flow, outside in: `wire` (pgwire handlers; `auth` decides who may connect) →
//! `sql` (a session routes each
//! statement; DataFusion plans queries) → `catalog` and `table` (DataFusion's view of
//! Grizzly tables) → `storage` (WAL, memtable, Parquet blocks, manifest).
//! docs/architecture.md walks through it.

pub mod auth;
pub mod backup;
pub mod catalog;
pub mod config;
pub mod error;
pub mod restore;
pub mod server;
pub mod sql;
pub mod storage;
pub mod table;
pub mod wire;

/// The PostgreSQL version Grizzly reports; drivers parse it.
pub const PG_SERVER_VERSION: &str = "16.6";
pub const PG_SERVER_VERSION_NUM: &str = "160006";

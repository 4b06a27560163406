//! The catalog: table and column definitions, and the DataFusion catalog and schema
//! providers that expose the manifest's tables to SQL. Read `column.rs` for types and
//! stable column ids, `provider.rs` for how DataFusion finds tables, `pg_catalog.rs` and
//! `information_schema.rs` for what clients read about them.

mod catalog_table;
pub mod column;
mod information_schema;
pub mod partition;
pub mod pg_catalog;
mod pg_functions;
mod pg_vectors;
pub mod provider;

pub use column::{ColumnDef, ColumnType, TableDef};

//! Column definitions as the manifest stores them, and their Arrow types.
//!
//! Columns have stable ids: a block stores each column under the name `c{id}`, never the
//! user's name, so renaming a column or dropping one and re-adding the name later changes
//! only the manifest, and a dropped column's data can never reappear under a new name.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

/// Name of the hidden column that holds each row's commit timestamp in blocks flushed
/// from the memtable (see ARCHITECTURE.md, rule 1).
pub const COMMIT_TS_COLUMN: &str = "_grizzly_commit_ts";

/// Field metadata key carrying the PostgreSQL type name, so `varchar` columns are
/// described as varchar on the wire although Arrow calls both `Utf8`.
pub const PG_TYPE_METADATA: &str = "grizzly.pg_type";

/// The SQL types a column can have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ColumnType {
    SmallInt,
    Integer,
    BigInt,
    Real,
    Double,
    /// numeric(p, s). A bare `numeric` is stored as numeric(38, 10).
    Numeric {
        precision: u8,
        scale: i8,
    },
    Text,
    Varchar {
        max_len: Option<u32>,
    },
    Boolean,
    Date,
    Timestamp,
    TimestampTz,
    Bytea,
}

impl ColumnType {
    pub fn to_arrow(&self) -> DataType {
        match self {
            ColumnType::SmallInt => DataType::Int16,
            ColumnType::Integer => DataType::Int32,
            ColumnType::BigInt => DataType::Int64,
            ColumnType::Real => DataType::Float32,
            ColumnType::Double => DataType::Float64,
            ColumnType::Numeric { precision, scale } => DataType::Decimal128(*precision, *scale),
            ColumnType::Text | ColumnType::Varchar { .. } => DataType::Utf8,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            ColumnType::TimestampTz => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
            }
            ColumnType::Bytea => DataType::Binary,
        }
    }

    /// The type's name as PostgreSQL prints it.
    pub fn sql_name(&self) -> String {
        match self {
            ColumnType::SmallInt => "smallint".into(),
            ColumnType::Integer => "integer".into(),
            ColumnType::BigInt => "bigint".into(),
            ColumnType::Real => "real".into(),
            ColumnType::Double => "double precision".into(),
            ColumnType::Numeric { precision, scale } => format!("numeric({precision},{scale})"),
            ColumnType::Text => "text".into(),
            ColumnType::Varchar { max_len: Some(n) } => format!("character varying({n})"),
            ColumnType::Varchar { max_len: None } => "character varying".into(),
            ColumnType::Boolean => "boolean".into(),
            ColumnType::Date => "date".into(),
            ColumnType::Timestamp => "timestamp without time zone".into(),
            ColumnType::TimestampTz => "timestamp with time zone".into(),
            ColumnType::Bytea => "bytea".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    /// Stable id, unique within the table forever (never reused after a drop).
    pub id: u32,
    pub name: String,
    #[serde(flatten)]
    pub column_type: ColumnType,
    pub not_null: bool,
    /// The DEFAULT expression as SQL text, if any.
    pub default: Option<String>,
}

impl ColumnDef {
    /// The column's name inside blocks and memtable batches.
    pub fn physical_name(&self) -> String {
        format!("c{}", self.id)
    }

    fn field(&self, name: String) -> Field {
        let metadata = [(PG_TYPE_METADATA.to_string(), self.column_type.sql_name())].into();
        // Always nullable for DataFusion: NOT NULL is enforced by the TableWriter, which
        // reports violations as SQLSTATE 23502 (Arrow would fail with a generic error).
        Field::new(name, self.column_type.to_arrow(), true).with_metadata(metadata)
    }
}

/// A table's definition: what `CREATE TABLE` said, with ids assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub id: u64,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub next_column_id: u32,
    /// How long the table's history stays readable, if not the database's default
    /// (`CREATE TABLE ... WITH (retention = '1 day')`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_micros: Option<i64>,
}

impl TableDef {
    /// The schema users see: columns under their SQL names.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| c.field(c.name.clone()))
                .collect::<Vec<_>>(),
        ))
    }

    /// The schema of blocks and memtable batches: columns under their stable ids.
    pub fn physical_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| c.field(c.physical_name()))
                .collect::<Vec<_>>(),
        ))
    }

    /// The physical schema plus the hidden commit-timestamp column.
    pub fn physical_schema_with_ts(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .physical_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new(COMMIT_TS_COLUMN, DataType::Int64, false));
        Arc::new(Schema::new(fields))
    }

    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
}

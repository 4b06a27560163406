//! Column definitions as the manifest stores them, and their Arrow types.
//!
//! Columns have stable ids: a block stores each column under the name `c{id}`, never the
//! user's name, so renaming a column or dropping one and re-adding the name later changes
//! only the manifest, and a dropped column's data can never reappear under a new name.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::ScalarValue;
use serde::{Deserialize, Serialize};

use super::partition::Partitioning;
use crate::storage::codec::Compression;

/// Name of the hidden column that holds each row's commit timestamp in blocks flushed
/// from the memtable (see ARCHITECTURE.md, rule 1).
pub const COMMIT_TS_COLUMN: &str = "_grizzly_commit_ts";

/// Field metadata key carrying the PostgreSQL type name, so `varchar` columns are
/// described as varchar on the wire although Arrow calls both `Utf8`.
pub const PG_TYPE_METADATA: &str = "grizzly.pg_type";

/// Field metadata keys naming the table (its OID) and column (its attnum) a result
/// column is taken from, set on described schemas by `sql::sources`.
pub const TABLE_OID_METADATA: &str = "grizzly.table_oid";
pub const ATTNUM_METADATA: &str = "grizzly.attnum";

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

    /// The type queries see: strings as Utf8View, which the Parquet reader decodes into
    /// directly and DataFusion compares, hashes and groups faster (short strings are held
    /// inline). Blocks, the WAL and the memtable keep `to_arrow`'s Utf8, so the on-disk
    /// format does not depend on it.
    pub fn query_type(&self) -> DataType {
        match self {
            ColumnType::Text | ColumnType::Varchar { .. } => DataType::Utf8View,
            other => other.to_arrow(),
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
    /// What rows written before the column existed read: `ALTER TABLE ... ADD COLUMN`'s
    /// default, evaluated once when the column was added, as text that Arrow casts to
    /// the column's type (see `missing_value`). None reads NULL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

impl ColumnDef {
    /// The column's name inside blocks and memtable batches.
    pub fn physical_name(&self) -> String {
        format!("c{}", self.id)
    }

    /// Parses a `missing` text back into a value of the column's type.
    pub fn missing_value(&self, text: &str) -> crate::error::Result<ScalarValue> {
        let value = ScalarValue::Utf8(Some(text.to_string()));
        Ok(value.cast_to(&self.column_type.to_arrow())?)
    }

    fn field(&self, name: String, data_type: DataType) -> Field {
        let metadata = [(PG_TYPE_METADATA.to_string(), self.column_type.sql_name())].into();
        // NOT NULL columns are non-nullable for DataFusion, which plans with it (`NOT IN`
        // without null-aware anti joins, for one). Writes are checked by the TableWriter,
        // which reports violations as SQLSTATE 23502; the sink takes every column as
        // nullable so that Arrow does not fail them first with a generic error.
        Field::new(name, data_type, !self.not_null).with_metadata(metadata)
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
    /// 1 at CREATE TABLE, one more for each ALTER TABLE.
    #[serde(default = "first_schema_version")]
    pub schema_version: u64,
    /// The codec of new blocks (`WITH (compression = ...)`).
    #[serde(default, skip_serializing_if = "is_auto")]
    pub compression: Compression,
    /// How rows are divided into partitions (`WITH (partition_by = ...)`), if at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioning: Option<Partitioning>,
    /// The columns, by id, compaction sorts a block's rows by (`WITH (sort_by = 'a, b')`),
    /// ascending with nulls last; empty for none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort_by: Vec<u32>,
}

fn is_auto(compression: &Compression) -> bool {
    *compression == Compression::Auto
}

fn first_schema_version() -> u64 {
    1
}

impl TableDef {
    /// The schema users see: columns under their SQL names, in their query types.
    pub fn schema(&self) -> SchemaRef {
        let fields = self
            .columns
            .iter()
            .map(|c| c.field(c.name.clone(), c.column_type.query_type()));
        Arc::new(Schema::new(fields.collect::<Vec<_>>()))
    }

    /// The schema of blocks and memtable batches: columns under their stable ids, in
    /// their storage types.
    pub fn physical_schema(&self) -> SchemaRef {
        let fields = self
            .columns
            .iter()
            .map(|c| c.field(c.physical_name(), c.column_type.to_arrow()));
        Arc::new(Schema::new(fields.collect::<Vec<_>>()))
    }

    /// What a scan reads blocks and memtable batches as: physical names, query types.
    pub fn scan_schema(&self) -> SchemaRef {
        let fields = self
            .columns
            .iter()
            .map(|c| c.field(c.physical_name(), c.column_type.query_type()));
        Arc::new(Schema::new(fields.collect::<Vec<_>>()))
    }

    /// The physical schema plus the hidden commit-timestamp column.
    pub fn physical_schema_with_ts(&self) -> SchemaRef {
        with_commit_ts(&self.physical_schema())
    }

    /// The scan schema plus the hidden commit-timestamp column.
    pub fn scan_schema_with_ts(&self) -> SchemaRef {
        with_commit_ts(&self.scan_schema())
    }

    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_by_id(&self, id: u32) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.id == id)
    }

    /// Sets the sort key from a `sort_by` option's text: column names separated by commas
    /// (empty for none).
    pub fn set_sort_by(&mut self, text: &str) -> crate::error::Result<()> {
        let mut ids = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let column = self.column(&name.to_lowercase()).ok_or_else(|| {
                crate::error::Error::UndefinedColumn(format!(
                    "column \"{name}\" named in sort_by does not exist; sort_by takes column \
                     names separated by commas, such as 'host, ts'"
                ))
            })?;
            if ids.contains(&column.id) {
                return Err(crate::error::Error::InvalidInput(format!(
                    "column \"{}\" appears twice in sort_by",
                    column.name
                )));
            }
            ids.push(column.id);
        }
        self.sort_by = ids;
        Ok(())
    }

    /// The sort key's column names, as `sort_by` takes them; empty for none. Columns
    /// dropped since are left out.
    /// The options set with `WITH (...)` or `ALTER TABLE ... SET (...)`, as `name=value`
    /// (what pg_class.reloptions lists and psql's `\d+` prints).
    pub fn options(&self) -> Vec<String> {
        let mut options = Vec::new();
        if self.compression != Compression::Auto {
            options.push(format!("compression={}", self.compression));
        }
        if let Some(partitioning) = &self.partitioning {
            options.push(format!("partition_by={}", partitioning.describe(self)));
        }
        if !self.sort_by.is_empty() {
            options.push(format!("sort_by={}", self.sort_names(&self.sort_by)));
        }
        if let Some(micros) = self.retention_micros {
            let seconds = micros / 1_000_000;
            let retention = match seconds {
                s if s % 86_400 == 0 => format!("{} days", s / 86_400),
                s if s % 3_600 == 0 => format!("{} hours", s / 3_600),
                s => format!("{s} seconds"),
            };
            options.push(format!("retention={retention}"));
        }
        options
    }

    pub fn sort_names(&self, ids: &[u32]) -> String {
        let names: Vec<&str> = ids
            .iter()
            .filter_map(|id| self.column_by_id(*id))
            .map(|c| c.name.as_str())
            .collect();
        names.join(", ")
    }

    /// Rows in the physical schema of an older definition of this table, in this one's:
    /// columns matched by physical name, widened where the type has changed, and filled
    /// with their `missing` value (or NULL) where the rows predate them.
    pub fn conform(&self, rows: &RecordBatch) -> crate::error::Result<RecordBatch> {
        let schema = self.physical_schema();
        if rows.schema().fields() == schema.fields() {
            return Ok(rows.clone().with_schema(schema)?);
        }
        let mut columns = Vec::with_capacity(self.columns.len());
        for (column, field) in self.columns.iter().zip(schema.fields()) {
            let array = match rows.column_by_name(field.name()) {
                Some(array) => arrow::compute::cast(array, field.data_type())?,
                None => {
                    let value = match &column.missing {
                        Some(text) => column.missing_value(text)?,
                        None => ScalarValue::try_from(field.data_type())?,
                    };
                    value.to_array_of_size(rows.num_rows())?
                }
            };
            columns.push(array);
        }
        Ok(RecordBatch::try_new(schema, columns)?)
    }

    /// The values that blocks written before a column existed read for it, by physical
    /// column name, in the column's query type; columns that read NULL there are left out.
    pub fn missing_values(&self) -> crate::error::Result<HashMap<String, ScalarValue>> {
        let mut values = HashMap::new();
        for column in &self.columns {
            if let Some(text) = &column.missing {
                let value = column.missing_value(text)?;
                let value = value.cast_to(&column.column_type.query_type())?;
                values.insert(column.physical_name(), value);
            }
        }
        Ok(values)
    }
}

fn with_commit_ts(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(COMMIT_TS_COLUMN, DataType::Int64, false));
    Arc::new(Schema::new(fields))
}

/// The text form of `value` that `ColumnDef::missing_value` reads back exactly.
pub fn missing_text(value: &ScalarValue) -> crate::error::Result<Option<String>> {
    if value.is_null() {
        return Ok(None);
    }
    let array = value.to_array()?;
    let text = arrow::util::display::array_value_to_string(&array, 0)?;
    Ok(Some(text))
}

/// A table with one nullable integer column `x`, for storage tests.
#[cfg(test)]
pub fn int_table(name: &str) -> TableDef {
    TableDef {
        id: 0,
        name: name.into(),
        columns: vec![ColumnDef {
            id: 1,
            name: "x".into(),
            column_type: ColumnType::Integer,
            not_null: false,
            default: None,
            missing: None,
        }],
        next_column_id: 2,
        retention_micros: None,
        schema_version: 1,
        compression: Compression::Auto,
        partitioning: None,
        sort_by: Vec::new(),
    }
}

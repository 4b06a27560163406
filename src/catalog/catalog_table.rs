//! Catalog tables built from the manifest when a query reads them, for pg_catalog
//! (`pg_catalog.rs`) and information_schema (`information_schema.rs`): each is a schema
//! and a function from the database's current state to rows, so a prepared query sees
//! the tables as they are when it runs, not when it was planned.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use parking_lot::Mutex;

use super::TableDef;
use crate::auth::Roles;
use crate::sql::settings::Settings;
use crate::storage::Database;

/// What the catalog tables are built from when a query reads them.
#[derive(Clone)]
pub struct Catalog {
    pub db: Arc<Database>,
    pub roles: Arc<Roles>,
    pub database: String,
    pub settings: Arc<Mutex<Settings>>,
}

impl Catalog {
    /// Grizzly's tables, in name order.
    pub fn tables(&self) -> Vec<TableDef> {
        let mut tables = self.db.tables();
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        tables
    }

    /// The name of the role with this OID; every object is owned by OID 10, the
    /// bootstrap superuser.
    pub fn role_name(&self, oid: u32) -> Option<String> {
        self.roles.name_of(oid)
    }

    /// The table's rows now: in its blocks and not yet flushed.
    pub fn rows(&self, def: &TableDef) -> Option<u64> {
        let snapshot = self.db.snapshot(def.id)?;
        let flushed: u64 = snapshot.blocks.iter().map(|b| b.rows).sum();
        let unflushed: usize = snapshot.memtable.iter().map(|b| b.num_rows()).sum();
        Some(flushed + unflushed as u64)
    }
}

/// One catalog row: values by column name; a column left out gets its type's zero value
/// (0, false, '') if the column is NOT NULL, else NULL.
pub type Row = Vec<(&'static str, ScalarValue)>;

pub fn int(v: i32) -> ScalarValue {
    ScalarValue::Int32(Some(v))
}

pub fn int16(v: i16) -> ScalarValue {
    ScalarValue::Int16(Some(v))
}

pub fn text(v: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(v.into()))
}

/// A text[] value, NULL when empty, as PostgreSQL keeps reloptions.
pub fn text_list(items: Vec<String>) -> ScalarValue {
    if items.is_empty() {
        let item = Arc::new(Field::new("item", DataType::Utf8, true));
        return ScalarValue::try_from(DataType::List(item)).unwrap_or(ScalarValue::Null);
    }
    let items: Vec<ScalarValue> = items.into_iter().map(text).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Utf8))
}

pub fn boolean(v: bool) -> ScalarValue {
    ScalarValue::Boolean(Some(v))
}

/// A catalog table built by `rows` at execution, so a prepared query sees the tables as
/// they are when it runs.
#[derive(Clone)]
struct CatalogTable {
    schema: SchemaRef,
    catalog: Catalog,
    rows: Rows,
}

/// What a catalog table holds, given the database's state.
pub type Rows = fn(&Catalog) -> Vec<Row>;

/// A table of `schema` whose rows `rows` builds each time a query reads it.
pub fn table(schema: SchemaRef, catalog: Catalog, rows: Rows) -> Result<Arc<dyn TableProvider>> {
    let table = CatalogTable {
        schema: schema.clone(),
        catalog,
        rows,
    };
    Ok(Arc::new(StreamingTable::try_new(
        schema,
        vec![Arc::new(table)],
    )?))
}

impl std::fmt::Debug for CatalogTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CatalogTable")
    }
}

impl PartitionStream for CatalogTable {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let batch = batch(&self.schema, (self.rows)(&self.catalog));
        Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures::stream::once(async move { batch }),
        ))
    }
}

fn batch(schema: &SchemaRef, rows: Vec<Row>) -> Result<RecordBatch> {
    let rows: Vec<HashMap<&str, ScalarValue>> =
        rows.into_iter().map(|r| r.into_iter().collect()).collect();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let absent = if field.is_nullable() {
            ScalarValue::try_from(field.data_type())?
        } else {
            zero(field.data_type())?
        };
        let values = rows.iter().map(|row| match row.get(field.name().as_str()) {
            Some(value) => value.cast_to(field.data_type()),
            None => Ok(absent.clone()),
        });
        let values = values.collect::<Result<Vec<_>>>()?;
        columns.push(if values.is_empty() {
            datafusion::arrow::array::new_empty_array(field.data_type())
        } else {
            ScalarValue::iter_to_array(values)?
        });
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// The value a NOT NULL catalog column has when a row says nothing about it.
fn zero(data_type: &DataType) -> Result<ScalarValue> {
    Ok(match data_type {
        DataType::Utf8 => text(""),
        DataType::Boolean => boolean(false),
        DataType::List(_) => ScalarValue::try_from(data_type)?,
        other => ScalarValue::new_zero(other)?,
    })
}

//! pg_index and pg_constraint with their key columns as arrays.
//!
//! datafusion-pg-catalog keeps PostgreSQL's `int2vector`, `oidvector` and `int2[]`
//! columns (`pg_index.indkey`, `pg_constraint.conkey`, …) as text (`"1 2"`, `"{1,2}"`),
//! so client queries that `unnest(indkey)`, index it or compare with `= ANY(conkey)`
//! (SQLAlchemy's, Metabase's, DBeaver's key and index reflection) fail to plan. Here
//! those columns become lists of integers, parsed once per process from the library's
//! rows. Grizzly itself has no indexes or constraints, so the rows are PostgreSQL's own
//! catalog indexes and constraints.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, AsArray, Int32Builder, ListBuilder, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{MemTable, TableProvider};
use datafusion::error::Result;

/// (table, column, whether its items are int2 rather than oid).
const VECTOR_COLUMNS: &[(&str, &str, bool)] = &[
    ("pg_index", "indkey", true),
    ("pg_index", "indoption", true),
    ("pg_index", "indcollation", false),
    ("pg_index", "indclass", false),
    ("pg_constraint", "conkey", true),
    ("pg_constraint", "confkey", true),
    ("pg_constraint", "confdelsetcols", true),
    ("pg_constraint", "conpfeqop", false),
    ("pg_constraint", "conppeqop", false),
    ("pg_constraint", "conffeqop", false),
    ("pg_constraint", "conexclop", false),
];

/// Each table by name, or why it did not convert.
type Converted = Vec<(&'static str, Result<Arc<MemTable>>)>;

static TABLES: LazyLock<Converted> = LazyLock::new(|| {
    let tables = super::pg_catalog::static_tables();
    vec![
        ("pg_index", convert("pg_index", tables.pg_index.data())),
        (
            "pg_constraint",
            convert("pg_constraint", tables.pg_constraint.data()),
        ),
    ]
});

/// The converted table, if `name` is one of them.
pub fn table(name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
    match TABLES.iter().find(|(table, _)| *table == name) {
        None => Ok(None),
        Some((_, Ok(table))) => Ok(Some(table.clone())),
        Some((_, Err(e))) => Err(datafusion::error::DataFusionError::Internal(format!(
            "pg_catalog.{name} does not convert: {e}"
        ))),
    }
}

fn convert(table: &str, batches: &[RecordBatch]) -> Result<Arc<MemTable>> {
    let Some(first) = batches.first() else {
        return Err(datafusion::error::DataFusionError::Internal(format!(
            "no rows for {table}"
        )));
    };
    let vector = |name: &str| {
        VECTOR_COLUMNS
            .iter()
            .find(|(t, c, _)| *t == table && *c == name)
            .map(|(_, _, int2)| *int2)
    };
    let fields: Vec<Field> = first
        .schema()
        .fields()
        .iter()
        .map(|field| match vector(field.name()) {
            Some(int2) => {
                let item = if int2 {
                    DataType::Int16
                } else {
                    DataType::Int32
                };
                let item = Arc::new(Field::new("item", item, true));
                Field::new(field.name(), DataType::List(item), true)
            }
            None => field.as_ref().clone(),
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let mut converted = Vec::with_capacity(batches.len());
    for batch in batches {
        let columns = batch
            .columns()
            .iter()
            .zip(batch.schema().fields())
            .map(|(column, field)| match vector(field.name()) {
                Some(int2) => parse_vectors(column, int2),
                None => Ok(column.clone()),
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        converted.push(RecordBatch::try_new(schema.clone(), columns)?);
    }
    Ok(Arc::new(MemTable::try_new(schema, vec![converted])?))
}

/// `"1 2"` (a vector) or `"{1,2}"` (an array) as a list of int2 or oid; NULL stays NULL.
fn parse_vectors(column: &ArrayRef, int2: bool) -> Result<ArrayRef> {
    let mut builder = ListBuilder::new(Int32Builder::new());
    for text in column.as_string::<i32>().iter() {
        let Some(text) = text else {
            builder.append_null();
            continue;
        };
        let items = text
            .trim_matches(|c| c == '{' || c == '}')
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter_map(|item| item.parse::<i32>().ok());
        builder.values().extend(items.map(Some));
        builder.append(true);
    }
    let lists: ArrayRef = Arc::new(builder.finish());
    if !int2 {
        return Ok(lists);
    }
    let item = Arc::new(Field::new("item", DataType::Int16, true));
    Ok(datafusion::arrow::compute::cast(
        &lists,
        &DataType::List(item),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Array;

    #[test]
    fn key_columns_read_as_integer_lists() {
        let vectors = parse_vectors(
            &(Arc::new(datafusion::arrow::array::StringArray::from(vec![
                Some("1 2"),
                Some("{3,4}"),
                None,
                Some(""),
            ])) as ArrayRef),
            true,
        )
        .unwrap();
        let list = vectors.as_list::<i32>();
        assert_eq!(
            list.value(0)
                .as_primitive::<datafusion::arrow::datatypes::Int16Type>()
                .values(),
            &[1, 2]
        );
        assert_eq!(list.value(1).len(), 2);
        assert!(list.is_null(2));
        assert_eq!(list.value(3).len(), 0);
        assert!(table("pg_index").unwrap().is_some());
        assert!(table("pg_constraint").unwrap().is_some());
    }
}

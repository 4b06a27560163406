//! What storage looks like, in SQL: `grizzly_blocks('t')` lists a table's blocks,
//! `grizzly_partitions('t')` its partitions, and `grizzly_tuner` shows what the
//! compression tuner decides for each table and why.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::TimestampMicrosecondArray;
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::ScalarValue;
use datafusion::datasource::{MemTable, TableProvider};
use datafusion::error::Result as DFResult;
use datafusion::logical_expr::Expr;

use super::time_travel::timestamptz;
use crate::error::Error;
use crate::storage::codec::Purpose;
use crate::storage::paths::DEFAULT_PARTITION;
use crate::storage::{Database, TableSnapshot};
use crate::table::footer_statistics;

/// The name `grizzly_tuner` is found under (when no table has it).
pub const TUNER_VIEW: &str = "grizzly_tuner";

/// The one string argument of a table function such as `grizzly_blocks('t')`.
pub fn table_name_argument(function: &str, args: &TableFunctionArgs) -> DFResult<String> {
    match args.exprs() {
        [Expr::Literal(ScalarValue::Utf8(Some(name)), _)] => Ok(name.clone()),
        _ => Err(Error::InvalidInput(format!(
            "{function} takes one argument, the table's name as a string: {function}('t')"
        ))
        .into()),
    }
}

fn current_snapshot(db: &Database, name: &str) -> DFResult<TableSnapshot> {
    db.table(name)
        .and_then(|def| db.snapshot(def.id))
        .ok_or_else(|| Error::UndefinedTable(format!("relation \"{name}\" does not exist")).into())
}

/// `grizzly_blocks('t')`: one row per block of the table as it is now, with its codec and
/// the columns its rows are sorted by (NULL if unsorted).
pub struct BlocksFunction {
    db: Arc<Database>,
}

impl std::fmt::Debug for BlocksFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlocksFunction")
    }
}

impl BlocksFunction {
    pub fn new(db: Arc<Database>) -> BlocksFunction {
        BlocksFunction { db }
    }
}

impl TableFunctionImpl for BlocksFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let name = table_name_argument("grizzly_blocks", &args)?;
        let snapshot = current_snapshot(&self.db, &name)?;
        let blocks = &snapshot.blocks;
        let schema = Arc::new(Schema::new(vec![
            Field::new("block", DataType::Utf8, false),
            Field::new("partition", DataType::Utf8, false),
            Field::new("rows", DataType::Int64, false),
            Field::new("bytes", DataType::Int64, false),
            Field::new("codec", DataType::Utf8, false),
            Field::new("compression_ratio", DataType::Float64, true),
            Field::new("min_commit_ts", timestamptz(), false),
            Field::new("max_commit_ts", timestamptz(), false),
            Field::new("sort_key", DataType::Utf8, true),
        ]));
        let ratio = |uncompressed: u64, bytes: u64| {
            (uncompressed > 0 && bytes > 0).then(|| uncompressed as f64 / bytes as f64)
        };
        let timestamps = |values: Vec<i64>| {
            Arc::new(TimestampMicrosecondArray::from(values).with_timezone("+00:00")) as ArrayRef
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(blocks.iter().map(|b| &b.id))),
            Arc::new(StringArray::from_iter_values(
                blocks.iter().map(|b| &b.partition),
            )),
            Arc::new(Int64Array::from_iter_values(
                blocks.iter().map(|b| b.rows as i64),
            )),
            Arc::new(Int64Array::from_iter_values(
                blocks.iter().map(|b| b.bytes as i64),
            )),
            Arc::new(StringArray::from_iter_values(
                blocks.iter().map(|b| &b.codec),
            )),
            Arc::new(Float64Array::from_iter(
                blocks.iter().map(|b| ratio(b.uncompressed_bytes, b.bytes)),
            )),
            timestamps(blocks.iter().map(|b| b.min_commit_ts).collect()),
            timestamps(blocks.iter().map(|b| b.max_commit_ts).collect()),
            Arc::new(StringArray::from_iter(blocks.iter().map(|b| {
                (!b.sorted_by.is_empty()).then(|| snapshot.def.sort_names(&b.sorted_by))
            }))),
        ];
        memory_table(schema, columns)
    }
}

/// `grizzly_partitions('t')`: one row per partition of the table as it is now: its rows
/// (unflushed ones included), blocks, bytes, the least and greatest partition key in its
/// blocks (from their Parquet footers), and the tuner's counts of scans that read it and
/// blocks written into it.
pub struct PartitionsFunction {
    db: Arc<Database>,
}

impl std::fmt::Debug for PartitionsFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartitionsFunction")
    }
}

impl PartitionsFunction {
    pub fn new(db: Arc<Database>) -> PartitionsFunction {
        PartitionsFunction { db }
    }
}

#[derive(Default)]
struct PartitionRow {
    rows: i64,
    blocks: i64,
    bytes: i64,
    min: Option<ScalarValue>,
    max: Option<ScalarValue>,
}

impl TableFunctionImpl for PartitionsFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let name = table_name_argument("grizzly_partitions", &args)?;
        let snapshot = current_snapshot(&self.db, &name)?;
        let def = &snapshot.def;
        let key = def
            .partitioning
            .as_ref()
            .and_then(|p| def.columns.iter().position(|c| c.id == p.column_id()));
        let schema = def.scan_schema();
        let mut partitions: BTreeMap<String, PartitionRow> = BTreeMap::new();
        for block in &snapshot.blocks {
            let row = partitions.entry(block.partition.clone()).or_default();
            row.rows += block.rows as i64;
            row.blocks += 1;
            row.bytes += block.bytes as i64;
            let range = key.and_then(|index| {
                let statistics = footer_statistics(&snapshot, &block.path, &schema)?;
                let column = &statistics.column_statistics[index];
                Some((
                    column.min_value.get_value()?.clone(),
                    column.max_value.get_value()?.clone(),
                ))
            });
            if let Some((min, max)) = range {
                if row.min.as_ref().is_none_or(|m| min < *m) {
                    row.min = Some(min);
                }
                if row.max.as_ref().is_none_or(|m| max > *m) {
                    row.max = Some(max);
                }
            }
        }
        for batch in &snapshot.memtable {
            let keys = match &def.partitioning {
                Some(p) => p.keys(p.key_column(batch)?)?,
                None => vec![DEFAULT_PARTITION.to_string(); batch.num_rows()],
            };
            for key in keys {
                partitions.entry(key).or_default().rows += 1;
            }
        }
        let text = |value: &Option<ScalarValue>| value.as_ref().map(|v| v.to_string());
        let schema = Arc::new(Schema::new(vec![
            Field::new("partition", DataType::Utf8, false),
            Field::new("rows", DataType::Int64, false),
            Field::new("blocks", DataType::Int64, false),
            Field::new("bytes", DataType::Int64, false),
            Field::new("min_key", DataType::Utf8, true),
            Field::new("max_key", DataType::Utf8, true),
            Field::new("reads", DataType::Int64, false),
            Field::new("writes", DataType::Int64, false),
        ]));
        let usage: Vec<_> = partitions
            .keys()
            .map(|p| {
                self.db
                    .tuner()
                    .partition_usage(def.id, p)
                    .unwrap_or_default()
            })
            .collect();
        let rows: Vec<&PartitionRow> = partitions.values().collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(partitions.keys())),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.rows))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.blocks))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.bytes))),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| text(&r.min)))),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| text(&r.max)))),
            Arc::new(Int64Array::from_iter_values(
                usage.iter().map(|u| u.reads as i64),
            )),
            Arc::new(Int64Array::from_iter_values(
                usage.iter().map(|u| u.writes as i64),
            )),
        ];
        memory_table(schema, columns)
    }
}

/// The `grizzly_tuner` view: per table, its compression option, the reads and writes
/// counted, and the codec the tuner gives its new blocks now, with the reason.
pub fn tuner_view(db: &Database) -> DFResult<Arc<dyn TableProvider>> {
    let mut names = db.table_names();
    names.sort();
    let defs: Vec<_> = names.iter().filter_map(|name| db.table(name)).collect();
    let usage: Vec<_> = defs.iter().map(|def| db.tuner().usage(def.id)).collect();
    let choices: Vec<_> = defs
        .iter()
        .map(|def| db.tuner().choose(def, Purpose::NewData))
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("table_name", DataType::Utf8, false),
        Field::new("compression", DataType::Utf8, false),
        Field::new("reads", DataType::Int64, false),
        Field::new("writes", DataType::Int64, false),
        Field::new("last_read", timestamptz(), true),
        Field::new("last_write", timestamptz(), true),
        Field::new("codec", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
    ]));
    let when = |micros: i64| (micros > 0).then_some(micros);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(defs.iter().map(|d| &d.name))),
        Arc::new(StringArray::from_iter_values(
            defs.iter().map(|d| d.compression.to_string()),
        )),
        Arc::new(Int64Array::from_iter_values(
            usage.iter().map(|u| u.reads as i64),
        )),
        Arc::new(Int64Array::from_iter_values(
            usage.iter().map(|u| u.writes as i64),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter(usage.iter().map(|u| when(u.last_read_micros)))
                .with_timezone("+00:00"),
        ),
        Arc::new(
            TimestampMicrosecondArray::from_iter(usage.iter().map(|u| when(u.last_write_micros)))
                .with_timezone("+00:00"),
        ),
        Arc::new(StringArray::from_iter_values(
            choices.iter().map(|c| c.codec.to_string()),
        )),
        Arc::new(StringArray::from_iter_values(
            choices.iter().map(|c| &c.reason),
        )),
    ];
    memory_table(schema, columns)
}

fn memory_table(schema: SchemaRef, columns: Vec<ArrayRef>) -> DFResult<Arc<dyn TableProvider>> {
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

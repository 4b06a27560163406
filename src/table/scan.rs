//! Planning a scan of one table snapshot.
//!
//! Blocks and memtable batches store columns under their stable physical names (`c{id}`),
//! so the scan is planned in physical names and a final projection renames the columns
//! to what the user calls them:
//!
//! ```text
//! ProjectionExec (c1 AS id, c2 AS name, ...)
//!   UnionExec
//!     DataSourceExec: Parquet blocks, with projection, predicate (row-group statistics
//!                     and page-index pruning) and limit pushed down
//!     DataSourceExec: memtable batches
//! ```
//!
//! Blocks written under older definitions of the table are read through the current
//! one (`evolution.rs`). Columns are read in their query types (`TableDef::scan_schema`):
//! strings as Utf8View, decoded so by the Parquet reader and cast so from the memtable.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::ScalarValue;
use datafusion::common::{Column, ColumnStatistics, DFSchema, Statistics};
use datafusion::config::TableParquetOptions;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::Operator;
use datafusion::parquet::file::metadata::ParquetMetaDataReader;
use datafusion::physical_expr::expressions::Column as PhysicalColumn;
use datafusion::physical_expr::expressions::{BinaryExpr, Literal};
use datafusion::physical_expr::projection::ProjectionExpr;
use datafusion::physical_expr::{create_physical_expr, PhysicalExpr};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::ExecutionPlan;
use parking_lot::Mutex;

use super::evolution::MissingColumns;
use super::partitions::{self, PartitionsExec};
use crate::catalog::column::COMMIT_TS_COLUMN;
use crate::catalog::TableDef;

use crate::storage::manifest::BlockMeta;
use crate::storage::TableSnapshot;

/// Plans the scan; `read_partitions` gets the partitions of a partitioned table that the
/// scan kept (for the compression tuner's per-partition counts).
pub fn plan_scan(
    state: &dyn Session,
    snapshot: &TableSnapshot,
    projection: Option<&Vec<usize>>,
    filters: &[Expr],
    limit: Option<usize>,
    read_partitions: &mut Vec<String>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let Some(partitioning) = &snapshot.def.partitioning else {
        let predicate = physical_predicate(state, snapshot, filters);
        return plan_blocks_scan(state, snapshot, projection, predicate.as_ref(), limit);
    };
    // Only the blocks of partitions the filters allow (`partitions.rs`). The ranges the
    // filters imply hold for every row that can match, so row groups prune by them too.
    let mut pruning_filters = filters.to_vec();
    pruning_filters.extend(partitions::implied_ranges(
        &snapshot.def,
        partitioning,
        filters,
    ));
    let predicate = physical_predicate(state, snapshot, &pruning_filters);
    let schema = snapshot.def.scan_schema();
    let prune = |blocks: &[BlockMeta]| {
        partitions::prune(
            &snapshot.def,
            partitioning,
            blocks,
            predicate.as_ref(),
            &schema,
        )
    };
    let current = prune(&snapshot.blocks);
    let later = prune(&snapshot.later_blocks);
    let summary = current.summary();
    read_partitions.extend(current.kept.iter().cloned());
    let pruned = TableSnapshot {
        blocks: current.blocks,
        later_blocks: later.blocks,
        ..snapshot.clone()
    };
    let scan = plan_blocks_scan(state, &pruned, projection, predicate.as_ref(), limit)?;
    Ok(Arc::new(PartitionsExec::new(scan, summary)))
}

/// The scan of a snapshot's blocks, later blocks and memtable rows; `predicate` (over the
/// scan schema) prunes the blocks' row groups and pages.
fn plan_blocks_scan(
    state: &dyn Session,
    snapshot: &TableSnapshot,
    projection: Option<&Vec<usize>>,
    predicate: Option<&Arc<dyn PhysicalExpr>>,
    limit: Option<usize>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let def = &snapshot.def;
    let scan_schema = def.scan_schema();
    let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();

    if !snapshot.blocks.is_empty() {
        let parquet_options = TableParquetOptions {
            global: state.config_options().execution.parquet.clone(),
            ..Default::default()
        };
        let mut source = ParquetSource::new(scan_schema.clone())
            .with_table_parquet_options(parquet_options)
            .with_enable_page_index(true);
        if let Some(predicate) = predicate {
            source = source.with_predicate(predicate.clone());
        }
        let files: Vec<PartitionedFile> = snapshot
            .blocks
            .iter()
            .map(|block| block_file(snapshot, &block.path, block.bytes))
            .collect::<Result<_>>()?;
        let groups = split_groups(files, state.config_options().execution.target_partitions);
        let config =
            FileScanConfigBuilder::new(ObjectStoreUrl::local_filesystem(), Arc::new(source))
                .with_file_groups(groups)
                .with_statistics(block_statistics(snapshot, &scan_schema))
                .with_projection_indices(projection.cloned())?
                .with_limit(limit)
                .with_expr_adapter(Some(missing_columns(def)?))
                .build();
        inputs.push(DataSourceExec::from_data_source(config));
    }

    if let (false, Some(as_of)) = (snapshot.later_blocks.is_empty(), snapshot.as_of) {
        inputs.push(later_blocks_scan(snapshot, as_of, projection, predicate)?);
    }

    if !snapshot.memtable.is_empty() || inputs.is_empty() {
        // Memtable batches carry the hidden commit-timestamp column last; drop it.
        let user_columns: Vec<usize> = (0..def.columns.len()).collect();
        let batches = snapshot
            .memtable
            .iter()
            .map(|b| in_scan_types(&b.project(&user_columns)?, &scan_schema))
            .collect::<Result<Vec<_>>>()?;
        let mut source =
            MemorySourceConfig::try_new(&[batches], scan_schema.clone(), projection.cloned())?;
        source = source.with_limit(limit);
        inputs.push(DataSourceExec::from_data_source(source));
    }

    let input = UnionExec::try_new(inputs)?;
    let input_schema = input.schema();
    let renames: Vec<ProjectionExpr> = projection
        .cloned()
        .unwrap_or_else(|| (0..def.columns.len()).collect())
        .iter()
        .enumerate()
        .map(|(position, &index)| ProjectionExpr {
            expr: Arc::new(PhysicalColumn::new(
                input_schema.field(position).name(),
                position,
            )),
            alias: def.columns[index].name.clone(),
        })
        .collect();
    Ok(Arc::new(ProjectionExec::try_new(renames, input)?))
}

/// Blocks flushed after a time-travel snapshot's moment, holding rows from both sides of
/// it: scanned with the commit-timestamp column, filtered to `commit_ts <= as_of`, and
/// projected to the same columns as the other inputs of the union.
fn later_blocks_scan(
    snapshot: &TableSnapshot,
    as_of: i64,
    projection: Option<&Vec<usize>>,
    predicate: Option<&Arc<dyn PhysicalExpr>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let def = &snapshot.def;
    let schema = def.scan_schema_with_ts();
    let ts_index = def.columns.len();
    let columns: Vec<usize> = projection
        .cloned()
        .unwrap_or_else(|| (0..def.columns.len()).collect());
    let mut read = columns.clone();
    read.push(ts_index);
    let mut source = ParquetSource::new(schema.clone()).with_enable_page_index(true);
    if let Some(predicate) = predicate {
        source = source.with_predicate(predicate.clone());
    }
    let files: Vec<PartitionedFile> = snapshot
        .later_blocks
        .iter()
        .map(|block| block_file(snapshot, &block.path, block.bytes))
        .collect::<Result<_>>()?;
    let config = FileScanConfigBuilder::new(ObjectStoreUrl::local_filesystem(), Arc::new(source))
        .with_file_groups(vec![FileGroup::new(files)])
        .with_projection_indices(Some(read))?
        .with_expr_adapter(Some(missing_columns(def)?))
        .build();
    let scan = DataSourceExec::from_data_source(config);
    let ts_position = columns.len();
    let committed_by = Arc::new(BinaryExpr::new(
        Arc::new(PhysicalColumn::new(COMMIT_TS_COLUMN, ts_position)),
        Operator::LtEq,
        Arc::new(Literal::new(ScalarValue::Int64(Some(as_of)))),
    ));
    let filtered = Arc::new(FilterExec::try_new(committed_by, scan)?);
    let keep: Vec<ProjectionExpr> = columns
        .iter()
        .enumerate()
        .map(|(position, &index)| ProjectionExpr {
            expr: Arc::new(PhysicalColumn::new(
                &def.columns[index].physical_name(),
                position,
            )),
            alias: def.columns[index].physical_name(),
        })
        .collect();
    Ok(Arc::new(ProjectionExec::try_new(keep, filtered)?))
}

/// A memtable batch (storage types) in the scan's types: strings become views of the
/// same bytes.
fn in_scan_types(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(array, field)| cast(array, field.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Reads blocks written before some of `def`'s columns existed (see `evolution.rs`).
fn missing_columns(def: &TableDef) -> Result<Arc<MissingColumns>> {
    Ok(Arc::new(MissingColumns::new(def.missing_values()?)))
}

/// The blocks' statistics for join and aggregate planning: exact row counts from the
/// manifest, and per-column min, max, null count and in-memory size from each block's
/// Parquet footer (read once per block and definition, then cached). Column statistics
/// are only estimates (`Inexact`): a block may predate a column (its footer knows nothing
/// of the default) or hold it in a narrower type, and nothing may answer a query from
/// them. With them DataFusion sees, for example, that a filtered aggregate is smaller
/// than a three-way join and builds the hash table on it (TPC-H Q18). The table's size
/// is left for DataFusion to add up from the columns a scan reads, as it does for
/// Parquet files: the on-disk size of every column made a few selected columns look too
/// big to build a hash table from on one partition (TPC-H Q16, Q19).
fn block_statistics(snapshot: &TableSnapshot, schema: &SchemaRef) -> Statistics {
    let per_block: Vec<Statistics> = snapshot
        .blocks
        .iter()
        .map(|block| {
            footer_statistics(snapshot, &block.path, schema)
                .unwrap_or_else(|| Statistics::new_unknown(schema))
        })
        .collect();
    let mut statistics = Statistics::try_merge_iter(per_block.iter(), schema)
        .map(Statistics::to_inexact)
        .unwrap_or_else(|_| Statistics::new_unknown(schema));
    let rows: u64 = snapshot.blocks.iter().map(|b| b.rows).sum();
    statistics.num_rows = Precision::Exact(rows as usize);
    statistics
}

/// Footers whose statistics are kept (a few hundred bytes each).
const MAX_CACHED_STATISTICS: usize = 100_000;

/// Column statistics of one block under `schema`, by block path and the schema version
/// they were computed for. Blocks are immutable, so entries never go stale; the cache is
/// emptied when full, which bounds it as blocks come and go.
pub fn footer_statistics(
    snapshot: &TableSnapshot,
    path: &str,
    schema: &SchemaRef,
) -> Option<Statistics> {
    type Cache = Mutex<HashMap<(String, u64), Statistics>>;
    static CACHE: LazyLock<Cache> = LazyLock::new(Default::default);
    let key = (path.to_string(), snapshot.def.schema_version);
    if let Some(statistics) = CACHE.lock().get(&key) {
        return Some(statistics.clone());
    }
    let file = std::fs::File::open(snapshot.root.join(path)).ok()?;
    let metadata = ParquetMetaDataReader::new().parse_and_finish(&file).ok()?;
    let mut statistics =
        DFParquetMetadata::statistics_from_parquet_metadata(&metadata, schema).ok()?;
    let stored = metadata.file_metadata().schema_descr();
    for (column, field) in statistics.column_statistics.iter_mut().zip(schema.fields()) {
        // A column the block predates reads a default the footer does not know.
        if !stored.columns().iter().any(|c| c.name() == field.name()) {
            *column = ColumnStatistics::new_unknown();
        }
    }
    let mut cache = CACHE.lock();
    if cache.len() >= MAX_CACHED_STATISTICS {
        cache.clear(); // entries of blocks compacted or dropped long ago go too
    }
    cache.insert(key, statistics.clone());
    Some(statistics)
}

/// A block as the local file system object store addresses it.
fn block_file(snapshot: &TableSnapshot, relative: &str, size: u64) -> Result<PartitionedFile> {
    let absolute = snapshot.root.join(relative);
    let location = object_store::path::Path::from_absolute_path(&absolute)
        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
    Ok(PartitionedFile::new_from_meta(object_store::ObjectMeta {
        location,
        last_modified: chrono::DateTime::<chrono::Utc>::MIN_UTC,
        size,
        e_tag: None,
        version: None,
    }))
}

/// Turns the pushed-down filters into one predicate over physical column names, for
/// Parquet pruning. Filters that cannot be converted are left to the FilterExec above.
fn physical_predicate(
    state: &dyn Session,
    snapshot: &TableSnapshot,
    filters: &[Expr],
) -> Option<Arc<dyn PhysicalExpr>> {
    let def = &snapshot.def;
    let renamed: Vec<Expr> = filters
        .iter()
        .filter_map(|filter| {
            filter
                .clone()
                .transform(|expr| match expr {
                    Expr::Column(column) => match def.column(&column.name) {
                        Some(c) => Ok(Transformed::yes(Expr::Column(Column::new_unqualified(
                            c.physical_name(),
                        )))),
                        None => Ok(Transformed::no(Expr::Column(column))),
                    },
                    other => Ok(Transformed::no(other)),
                })
                .ok()
                .map(|t| t.data)
        })
        .collect();
    let predicate = conjunction(renamed)?;
    let schema = DFSchema::try_from(def.scan_schema()).ok()?;
    create_physical_expr(
        &predicate,
        &schema,
        state.execution_props(),
        &Default::default(),
    )
    .ok()
}

/// Spreads files over up to `partitions` groups so several cores scan in parallel.
fn split_groups(files: Vec<PartitionedFile>, partitions: usize) -> Vec<FileGroup> {
    let partitions = partitions.max(1).min(files.len().max(1));
    let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); partitions];
    for (i, file) in files.into_iter().enumerate() {
        groups[i % partitions].push(file);
    }
    groups
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(FileGroup::new)
        .collect()
}

//! Partition pruning: a scan of a partitioned table keeps only the blocks of partitions
//! the query's filters allow, before any file is opened.
//!
//! Each partition is a "container" for DataFusion's `PruningPredicate`, the same logic
//! that prunes Parquet row groups by their statistics: a time partition reports its
//! range as the partition column's min and max, so ranges, equalities, BETWEEN and IN
//! lists on the column prune; a hash partition answers which literal values can be in
//! it (`contained`), so equalities and IN lists prune. A filter on an expression that
//! implies a range of the column, `date_trunc('day', ts) = <time>`, adds that range
//! (`implied_ranges`). Partitions whose key is NULL
//! report nothing and are always kept (conservative). What survives goes on to row-group
//! and page pruning as before, and EXPLAIN shows the count as `GrizzlyPartitions`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray};
use arrow::datatypes::{DataType, SchemaRef};
use chrono::{Datelike, Timelike};
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Column, ScalarValue, Statistics};
use datafusion::config::ConfigOptions;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::filter_pushdown::{FilterDescription, FilterPushdownPhase};
use datafusion::physical_plan::{
    ChildStats, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, StatisticsArgs,
};

use crate::catalog::partition::{hash_scalar, Partitioning};
use crate::catalog::TableDef;
use crate::storage::manifest::BlockMeta;

/// What partition pruning kept of a table's blocks.
pub struct Pruned {
    pub blocks: Vec<BlockMeta>,
    pub partitions: usize,
    /// The partitions kept, by name.
    pub kept: Vec<String>,
    pub blocks_total: usize,
}

impl Pruned {
    pub fn summary(&self) -> String {
        format!(
            "partitions={} of {} ({} skipped), blocks={} of {} ({} skipped)",
            self.kept.len(),
            self.partitions,
            self.partitions - self.kept.len(),
            self.blocks.len(),
            self.blocks_total,
            self.blocks_total - self.blocks.len()
        )
    }
}

/// The blocks of the partitions `predicate` (over `schema`, the scan schema) may match.
pub fn prune(
    def: &TableDef,
    partitioning: &Partitioning,
    blocks: &[BlockMeta],
    predicate: Option<&Arc<dyn PhysicalExpr>>,
    schema: &SchemaRef,
) -> Pruned {
    let mut by_partition: BTreeMap<&str, Vec<&BlockMeta>> = BTreeMap::new();
    for block in blocks {
        by_partition
            .entry(&block.partition)
            .or_default()
            .push(block);
    }
    let names: Vec<&str> = by_partition.keys().copied().collect();
    let keep = predicate
        .and_then(|predicate| {
            let pruning = PruningPredicateBuilder::new()
                .with_file_schema(schema.clone())
                .try_build(predicate.clone())
                .ok()?;
            let column = def
                .columns
                .iter()
                .find(|c| c.id == partitioning.column_id())?;
            let statistics = PartitionStatistics {
                partitioning,
                names: &names,
                column: column.physical_name(),
                data_type: column.column_type.query_type(),
            };
            pruning.prune(&statistics).ok()
        })
        .unwrap_or_else(|| vec![true; names.len()]);
    let kept: Vec<BlockMeta> = names
        .iter()
        .zip(&keep)
        .filter(|(_, keep)| **keep)
        .flat_map(|(name, _)| by_partition[name].iter().map(|b| (*b).clone()))
        .collect();
    Pruned {
        blocks: kept,
        partitions: names.len(),
        kept: names
            .iter()
            .zip(&keep)
            .filter(|(_, keep)| **keep)
            .map(|(name, _)| name.to_string())
            .collect(),
        blocks_total: blocks.len(),
    }
}

/// For each filter `date_trunc(unit, col) = <constant>` on the time partition column,
/// the range it implies, `col >= start AND col < start + unit` (a superset of the rows
/// that can match, so pruning by it is safe), for pruning only.
pub fn implied_ranges(def: &TableDef, partitioning: &Partitioning, filters: &[Expr]) -> Vec<Expr> {
    let Partitioning::Time { .. } = partitioning else {
        return Vec::new();
    };
    let Some(column) = def
        .columns
        .iter()
        .find(|c| c.id == partitioning.column_id())
    else {
        return Vec::new();
    };
    let mut implied = Vec::new();
    for filter in filters {
        let Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) = filter
        else {
            continue;
        };
        let (call, value) = match (left.as_ref(), right.as_ref()) {
            (Expr::ScalarFunction(call), Expr::Literal(value, _))
            | (Expr::Literal(value, _), Expr::ScalarFunction(call)) => (call, value),
            _ => continue,
        };
        let [Expr::Literal(unit, _), Expr::Column(truncated)] = call.args.as_slice() else {
            continue;
        };
        if call.func.name() != "date_trunc" || truncated.name != column.name {
            continue;
        }
        let (Some(unit), ScalarValue::TimestampMicrosecond(Some(micros), zone)) =
            (unit.try_as_str().flatten(), value)
        else {
            continue;
        };
        let Some((start, end)) = truncated_range(*micros, unit) else {
            continue;
        };
        let bound = |m: i64| {
            Expr::Literal(
                ScalarValue::TimestampMicrosecond(Some(m), zone.clone()),
                None,
            )
        };
        let col = Expr::Column(truncated.clone());
        implied.push(col.clone().gt_eq(bound(start)).and(col.lt(bound(end))));
    }
    implied
}

/// The range `[trunc(micros), trunc(micros) + unit)` for a date_trunc unit, UTC.
fn truncated_range(micros: i64, unit: &str) -> Option<(i64, i64)> {
    let time = chrono::DateTime::from_timestamp_micros(micros)?.naive_utc();
    let day = time.date();
    let (start, end) = match unit.to_ascii_lowercase().as_str() {
        "hour" => {
            let start = day.and_hms_opt(time.hour(), 0, 0)?;
            (start, start + chrono::Duration::hours(1))
        }
        "day" => {
            let start = day.and_hms_opt(0, 0, 0)?;
            (start, start + chrono::Duration::days(1))
        }
        "month" => {
            let start = day.with_day(1)?.and_hms_opt(0, 0, 0)?;
            (start, start.checked_add_months(chrono::Months::new(1))?)
        }
        "year" => {
            let start = day.with_day(1)?.with_month(1)?.and_hms_opt(0, 0, 0)?;
            (start, start.checked_add_months(chrono::Months::new(12))?)
        }
        _ => return None,
    };
    Some((
        start.and_utc().timestamp_micros(),
        end.and_utc().timestamp_micros(),
    ))
}

/// Partitions as pruning containers.
struct PartitionStatistics<'a> {
    partitioning: &'a Partitioning,
    names: &'a [&'a str],
    /// The partition column's physical name and scan type.
    column: String,
    data_type: DataType,
}

impl PartitionStatistics<'_> {
    /// The time range's first or last value in the column's type, per partition.
    fn bound(&self, column: &Column, last: bool) -> Option<ArrayRef> {
        if column.name != self.column || !matches!(self.partitioning, Partitioning::Time { .. }) {
            return None;
        }
        let values: Vec<ScalarValue> = self
            .names
            .iter()
            .map(|name| {
                let range = self.partitioning.time_range(name);
                let micros = range.map(|(start, end)| if last { end - 1 } else { start });
                time_scalar(micros, &self.data_type)
            })
            .collect();
        ScalarValue::iter_to_array(values).ok()
    }
}

/// Microseconds since the epoch as a value of a timestamp or date column.
fn time_scalar(micros: Option<i64>, data_type: &DataType) -> ScalarValue {
    match data_type {
        DataType::Timestamp(_, zone) => ScalarValue::TimestampMicrosecond(micros, zone.clone()),
        DataType::Date32 => {
            ScalarValue::Date32(micros.map(|m| m.div_euclid(86_400_000_000) as i32))
        }
        _ => ScalarValue::Null,
    }
}

impl PruningStatistics for PartitionStatistics<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bound(column, false)
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bound(column, true)
    }

    fn num_containers(&self) -> usize {
        self.names.len()
    }

    fn null_counts(&self, _column: &Column) -> Option<ArrayRef> {
        None
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        None
    }

    fn contained(&self, column: &Column, values: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        let Partitioning::Hash { buckets, .. } = self.partitioning else {
            return None;
        };
        if column.name != self.column {
            return None;
        }
        let hashed: Option<Vec<u64>> = values
            .iter()
            .map(|v| hash_scalar(v).map(|h| h % *buckets as u64))
            .collect();
        let hashed = hashed?; // a NULL or unhashable literal: no conclusion
        Some(
            self.names
                .iter()
                .map(|name| match Partitioning::bucket(name) {
                    Some(bucket) if !hashed.contains(&bucket) => Some(false),
                    _ => None,
                })
                .collect(),
        )
    }
}

/// Shows in EXPLAIN how many partitions and blocks a scan of a partitioned table kept;
/// otherwise passes its input through unchanged.
#[derive(Debug)]
pub struct PartitionsExec {
    input: Arc<dyn ExecutionPlan>,
    summary: String,
}

impl PartitionsExec {
    pub fn new(input: Arc<dyn ExecutionPlan>, summary: String) -> PartitionsExec {
        PartitionsExec { input, summary }
    }
}

impl DisplayAs for PartitionsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrizzlyPartitions: {}", self.summary)
    }
}

impl ExecutionPlan for PartitionsExec {
    fn name(&self) -> &str {
        "GrizzlyPartitions"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(PartitionsExec::new(
            children[0].clone(),
            self.summary.clone(),
        )))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(input_stats[0].clone())
    }

    fn gather_filters_for_pushdown(
        &self,
        _phase: FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> Result<FilterDescription> {
        FilterDescription::from_children(parent_filters, &self.children())
    }
}
